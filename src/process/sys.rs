//! The process collector's `unsafe` calls, Linux only:
//!
//! - `times(2)`: the calling process's user and system CPU time in clock
//!   ticks, the numbers `<pid>/stat` prints as utime and stime, at a tenth
//!   of the cost;
//! - `mmap(2)` and `madvise(MADV_WIPEONFORK)`: a page the kernel zeroes in
//!   every child a fork creates, where [`own_pid`] caches the pid, so a
//!   scrape needs no `getpid` system call.
#![allow(unsafe_code)]

use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

/// utime + stime of the calling process (all its threads), in clock ticks.
pub(super) fn own_cpu_ticks() -> u64 {
    let mut t = libc::tms {
        tms_utime: 0,
        tms_stime: 0,
        tms_cutime: 0,
        tms_cstime: 0,
    };
    // SAFETY: `times` writes one `tms` through the pointer, which points to
    // a live, properly aligned `tms` owned by this frame. It cannot fail
    // with a valid pointer.
    unsafe { libc::times(&mut t) };
    (t.tms_utime as u64).saturating_add(t.tms_stime as u64)
}

/// The page holding the cached pid (0: not known yet), once mapped and
/// marked wipe-on-fork; null before, or for good if that failed.
static PID_PAGE: AtomicPtr<AtomicU32> = AtomicPtr::new(ptr::null_mut());
/// Mapping or marking the page failed (a kernel before 4.14): every call
/// asks the kernel.
static NO_PID_PAGE: AtomicBool = AtomicBool::new(false);

/// This process's pid, as `getpid` returns it, without a system call once
/// known.
///
/// The pid is cached in a page marked `MADV_WIPEONFORK`, which the kernel
/// hands to every child of a fork zero-filled, whatever made the fork
/// (`fork`, `clone` without `CLONE_VM`, with or without `pthread_atfork`
/// handlers), so a child never reports its parent's pid. (A
/// `pthread_atfork` handler would not do: glibc skips handlers registered
/// while another thread is inside `fork`.) Without the page (kernels
/// before 4.14), every call asks the kernel.
#[inline]
pub(in crate::process) fn own_pid() -> u32 {
    let page = PID_PAGE.load(Ordering::Acquire);
    if !page.is_null() {
        // SAFETY: a non-null `PID_PAGE` points to the start of a mapped,
        // readable and writable page, aligned for an `AtomicU32`, that is
        // never unmapped (see `pid_page`).
        let cached = unsafe { &*page }.load(Ordering::Relaxed);
        if cached != 0 {
            return cached;
        }
    }
    own_pid_uncached(page)
}

#[cold]
fn own_pid_uncached(page: *mut AtomicU32) -> u32 {
    let pid = std::process::id();
    let page = if page.is_null() { pid_page() } else { page };
    if !page.is_null() {
        // SAFETY: as in `own_pid`. (A pid is never 0, which means "not
        // known".)
        unsafe { &*page }.store(pid, Ordering::Relaxed);
    }
    pid
}

/// Maps and marks the wipe-on-fork page and publishes it; null if that
/// fails. The page is marked before it is published and before a pid is
/// stored in it, so a fork at any point of this leaves the child either
/// no page or a zeroed one.
fn pid_page() -> *mut AtomicU32 {
    if NO_PID_PAGE.load(Ordering::Relaxed) {
        return ptr::null_mut();
    }
    let len = rustix::param::page_size();
    // SAFETY: an anonymous private mapping at an address the kernel picks
    // touches no existing memory; the result is checked below.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        NO_PID_PAGE.store(true, Ordering::Relaxed);
        return ptr::null_mut();
    }
    // SAFETY: `p` is the page just mapped, `len` bytes long, owned here.
    let marked = unsafe { libc::madvise(p, len, libc::MADV_WIPEONFORK) } == 0;
    let page = p.cast::<AtomicU32>();
    let won = marked
        && PID_PAGE
            .compare_exchange(ptr::null_mut(), page, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
    if won {
        return page;
    }
    // SAFETY: the page was never published, so nothing else refers to it.
    unsafe { libc::munmap(p, len) };
    if !marked {
        NO_PID_PAGE.store(true, Ordering::Relaxed);
    }
    PID_PAGE.load(Ordering::Acquire)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pid in the wipe-on-fork page, which must exist.
    fn cached_pid() -> u32 {
        let page = PID_PAGE.load(Ordering::Acquire);
        assert!(
            !page.is_null(),
            "no wipe-on-fork page (kernel before 4.14?)"
        );
        // SAFETY: as in `own_pid`.
        unsafe { &*page }.load(Ordering::Relaxed)
    }

    #[test]
    fn own_pid_is_getpid_and_cached() {
        assert_eq!(own_pid(), std::process::id());
        assert_eq!(own_pid(), std::process::id());
        assert_eq!(cached_pid(), std::process::id());
    }

    #[test]
    fn forked_child_reports_its_own_pid() {
        let parent = own_pid();
        assert_eq!(parent, std::process::id());
        assert_eq!(cached_pid(), parent, "pid not cached");
        // SAFETY: until it exits, the child only calls async-signal-safe
        // functions: atomic loads and stores on the existing page,
        // `getpid` and `_exit`.
        let child = unsafe { libc::fork() };
        if child == 0 {
            // SAFETY: `getpid` has no preconditions.
            let real = unsafe { libc::getpid() } as u32;
            let ok = own_pid() == real && own_pid() == real && real != parent;
            // SAFETY: `_exit` ends the child without running the parent's
            // destructors or the test harness.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        assert!(child > 0, "fork failed");
        let mut status = 0;
        // SAFETY: `status` is a live `c_int` owned by this frame.
        let waited = unsafe { libc::waitpid(child, &mut status, 0) };
        assert_eq!(waited, child);
        assert!(libc::WIFEXITED(status), "child status {status}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "the child saw its parent's pid"
        );
        assert_eq!(own_pid(), parent);
    }
}
