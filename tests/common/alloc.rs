//! A counting global allocator for the allocation tests: counts per
//! thread, so only what the measured closure does on this thread is
//! counted. Include it (`mod common;`) only in a test binary that holds a
//! single test, so nothing else runs while it measures.

// Each test binary uses part of this.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct CountingAlloc;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn live(delta: i64) {
    let _ = LIVE.try_with(|c| c.set(c.get() + delta));
}

fn record(bytes: usize) {
    // `try_with`: allocations during thread teardown are not counted.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
    let _ = BYTES.try_with(|c| c.set(c.get() + bytes as u64));
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counters are const-initialised thread-locals without
// destructors, so touching them never allocates or re-enters the allocator.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        live(layout.size() as i64);
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        live(layout.size() as i64);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        live(new_size as i64 - layout.size() as i64);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live(-(layout.size() as i64));
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocations and bytes requested on this thread while `f` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allocs {
    pub count: u64,
    pub bytes: u64,
}

pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Allocs) {
    let (c0, b0) = (ALLOCS.with(Cell::get), BYTES.with(Cell::get));
    let r = f();
    let (c1, b1) = (ALLOCS.with(Cell::get), BYTES.with(Cell::get));
    (
        r,
        Allocs {
            count: c1 - c0,
            bytes: b1 - b0,
        },
    )
}

/// Bytes allocated and not freed by this thread so far.
pub fn live_bytes() -> i64 {
    LIVE.with(Cell::get)
}
