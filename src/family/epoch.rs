//! Epoch-based reclamation for the family tables, with a read side that
//! writes only the reading thread's own record: no atomic
//! read-modify-write, no shared cache line and, on Linux, no fence.
//!
//! # The scheme
//!
//! Each thread owns a [`Record`] whose `state` is 0 while it is not pinned
//! and `2 * epoch + 1` while it is, `epoch` being the global epoch it read
//! when it pinned. An unlinked object is *retired* with the global epoch
//! `t` read after unlinking it; it is freed once the global epoch reaches
//! `t + 2`. The epoch advances from `g` to `g + 1` only when no record is
//! seen pinned at an epoch other than `g`. Retiring, advancing and freeing
//! happen under one lock; all epoch writes are made under it.
//!
//! Why that is safe, for an object `x` retired at `t`, freed at `t + 2`: the
//! advance from `t + 1` to `t + 2` found every visibly pinned reader at
//! `t + 1`. Such a reader read the epoch `t + 1` (Acquire), which was
//! stored (Release) by an advance made after `x` was unlinked (the lock
//! orders them), so the reader cannot reach `x`. A reader whose pin the
//! scan did not see is covered by the fence pair below: it pinned after the
//! scanner's fence, so its loads see `x` unlinked.
//!
//! # The fence pair
//!
//! A reader stores its state and then loads table slots; the scanner
//! unlinks, then reads every state. Without a fence on both sides, the
//! reader's store could still sit in its store buffer while it loads a
//! slot the scanner has already unlinked and is about to free. The usual
//! fix is a full fence in every pin (a locked instruction, several
//! nanoseconds). On Linux the scanner instead calls
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which runs a full memory
//! barrier on every CPU currently running a thread of this process (and a
//! context switch is one for the others), so the reader needs only a
//! compiler fence: the kernel puts the barrier into the reader's
//! instruction stream at some point, and either that point precedes the
//! reader's state store (then its later slot loads see the unlink), or it
//! follows it (then the store is visible to the scan). This is the
//! asymmetric fence of userspace RCU and of Folly's `rcu`. Where
//! membarrier is missing (other systems, old kernels, seccomp, valgrind),
//! both sides use a sequentially consistent fence.
//!
//! A pin stores its state with Release, so a scanner that reads it also
//! sees every earlier pin of that thread ended.
//!
//! The `cfg(promclient_loom)` build models the fence pair with sequentially
//! consistent fences (loom has no membarrier); the `loom_model` tests at
//! the end of this file check the protocol under the interleavings loom
//! explores: `RUSTFLAGS="--cfg promclient_loom" cargo test --release --lib
//! --target-dir target/loom loom_model` (`.ci/run` runs it).
#![allow(unsafe_code)]

use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;

use crate::sync::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Mutex, Ordering,
};

/// A thread's announcement to scanners. Records are never freed: a
/// thread's record goes back to a free pool when the thread ends.
///
/// Each record has its own cache lines (128 bytes: a line and the one its
/// pair is prefetched with): every pin and unpin writes `state`, and two
/// threads' records in one line made lookups on two threads pull that line
/// back and forth on every call.
#[repr(align(128))]
struct Record {
    /// 0 when not pinned, else `2 * epoch + 1`. Written only by the owner.
    state: AtomicU64,
    /// While pinned, the number of the owner's guards beyond the first,
    /// plus [`RELEASE_ON_UNPIN`] if the record goes back to the pool when
    /// its last pin ends (its thread has ended, or it was claimed for one
    /// pin). One word, so an unpin tests one value. Atomic only to be
    /// shareable: only the owner reads or writes it (plain loads and
    /// stores).
    extra: AtomicUsize,
    /// Claimed by a thread.
    in_use: AtomicBool,
    /// The next record of the push-only list.
    next: AtomicPtr<Record>,
}

/// The flag of [`Record::extra`]; the count is in the bits below it.
const RELEASE_ON_UNPIN: usize = 1 << (usize::BITS - 1);

/// An object retired at `epoch`, with the function that frees it.
struct Deferred {
    ptr: *mut (),
    free: unsafe fn(*mut ()),
    epoch: u64,
}

// SAFETY: `ptr` comes from `retire` (which requires `T: Send`) or
// `retire_raw` (whose caller promises `free` is sound from any thread):
// freeing it on another thread is allowed, and nothing else refers to it.
unsafe impl Send for Deferred {}

struct Garbage {
    items: Vec<Deferred>,
    /// A retire tries to free when `items` reaches this: [`COLLECT_AT`],
    /// or twice what a failed try left, so readers that keep the epoch
    /// from advancing do not cost a membarrier per retire.
    collect_at: usize,
}

struct Global {
    epoch: AtomicU64,
    records: AtomicPtr<Record>,
    garbage: Mutex<Garbage>,
    /// Items in `garbage`, readable without the lock.
    pending: AtomicUsize,
    /// `FENCE_*`: how the two sides fence.
    fence: AtomicU8,
}

const FENCE_UNKNOWN: u8 = 0;
const FENCE_ASYMMETRIC: u8 = 1;
const FENCE_FULL: u8 = 2;

/// Retired objects kept before a retire tries to free some.
const COLLECT_AT: usize = 64;

/// The initial global state, for the `static` and for loom's lazy one
/// (loom's atomics have no `const` constructors).
macro_rules! initial_global {
    () => {
        Global {
            epoch: AtomicU64::new(0),
            records: AtomicPtr::new(ptr::null_mut()),
            garbage: Mutex::new(Garbage {
                items: Vec::new(),
                collect_at: COLLECT_AT,
            }),
            pending: AtomicUsize::new(0),
            fence: AtomicU8::new(FENCE_UNKNOWN),
        }
    };
}

#[cfg(not(promclient_loom))]
static GLOBAL: Global = initial_global!();

#[cfg(promclient_loom)]
loom::lazy_static! {
    static ref GLOBAL: Global = initial_global!();
}

/// Gives the thread's record back when the thread ends. A separate
/// thread-local from [`RECORD`], so that `RECORD` needs no destructor and
/// reading it is one load, with no check of a destructor's state.
struct Owner;

impl Drop for Owner {
    fn drop(&mut self) {
        if let Ok(Some(rec)) = RECORD.try_with(Cell::take) {
            // Relaxed: only this thread writes `state` and `extra`.
            if rec.state.load(Ordering::Relaxed) == 0 {
                release(rec);
            } else {
                // A guard outlives the thread-local (held by another
                // thread-local's destructor): its unpin gives the record
                // back.
                let extra = rec.extra.load(Ordering::Relaxed);
                rec.extra.store(extra | RELEASE_ON_UNPIN, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(not(promclient_loom))]
thread_local! {
    /// The thread's record, claimed at its first pin.
    static RECORD: Cell<Option<&'static Record>> = const { Cell::new(None) };
    static OWNER: Owner = const { Owner };
}

#[cfg(promclient_loom)]
loom::thread_local! {
    static RECORD: Cell<Option<&'static Record>> = Cell::new(None);
    static OWNER: Owner = Owner;
}

/// A pinned epoch: while it lives, nothing retired after it was taken is
/// freed. Not `Send`: it belongs to the thread's record.
pub(crate) struct Guard {
    record: &'static Record,
    _not_send: PhantomData<*const ()>,
}

/// Pins the current thread.
#[inline]
pub(crate) fn pin() -> Guard {
    // `RECORD` has no destructor, so outside loom this is one load.
    let record = match RECORD.try_with(Cell::get) {
        Ok(Some(rec)) => rec,
        _ => claim_for_thread(),
    };
    // Relaxed: only this thread writes its `state` and `extra`.
    //
    // The common case, no guard live, loads `state` only to branch on it
    // and stores a value that does not depend on it: back-to-back pins
    // form no chain of store-to-load forwarding (a nesting counter
    // incremented and decremented by every pin cost about 5 ns per lookup).
    if record.state.load(Ordering::Relaxed) == 0 {
        // Acquire: pairs with the Release store of an advance, so this
        // pin sees everything unlinked before it (see the module docs).
        let epoch = GLOBAL.epoch.load(Ordering::Acquire);
        // Release (a plain store on x86): a scanner that reads this state
        // also sees this thread's earlier pins ended. With Relaxed, the
        // loom model found a scanner that passed over an earlier pin's
        // unpin, read this state, and freed what that pin still read.
        record.state.store(2 * epoch + 1, Ordering::Release);
        light_fence();
    } else {
        let extra = record.extra.load(Ordering::Relaxed);
        record.extra.store(extra + 1, Ordering::Relaxed);
    }
    Guard {
        record,
        _not_send: PhantomData,
    }
}

/// A record for this thread's first pin, kept in [`RECORD`]; or, once the
/// thread's destructors have run [`Owner`]'s, a record for this pin only.
#[cold]
#[inline(never)]
fn claim_for_thread() -> &'static Record {
    let rec = claim();
    // Touching `OWNER` registers its destructor; it fails once that ran.
    let kept = OWNER.try_with(|_| ()).is_ok() && RECORD.try_with(|r| r.set(Some(rec))).is_ok();
    if !kept {
        // Relaxed: only this thread uses the record now.
        rec.extra.store(RELEASE_ON_UNPIN, Ordering::Relaxed);
    }
    rec
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        let rec = self.record;
        // Whichever guard goes last unpins: guards may drop in any order.
        let extra = rec.extra.load(Ordering::Relaxed);
        if extra == 0 {
            // Release: every load made while pinned happens before a
            // scanner that reads this 0 frees anything.
            rec.state.store(0, Ordering::Release);
        } else {
            unpin_rare(rec, extra);
        }
    }
}

/// An unpin with other guards of the thread still live, or of a record
/// that goes back to the pool.
#[cold]
#[inline(never)]
fn unpin_rare(rec: &Record, extra: usize) {
    if extra & !RELEASE_ON_UNPIN > 0 {
        // Relaxed: as in `pin`.
        rec.extra.store(extra - 1, Ordering::Relaxed);
    } else {
        // Release: as in `Guard::drop`.
        rec.state.store(0, Ordering::Release);
        release(rec);
    }
}

/// Retires `ptr`, a `Box<T>` already unlinked from every shared place:
/// it is dropped once no pin that could have reached it remains.
///
/// # Safety
///
/// `ptr` comes from `Box::into_raw`, is no longer reachable by readers
/// that pin from now on, and is retired once.
pub(crate) unsafe fn retire<T: Send + 'static>(ptr: *mut T) {
    unsafe fn free<T>(p: *mut ()) {
        // SAFETY: `p` is the `Box<T>` pointer given to `retire`, freed
        // once, when no reader can hold it.
        drop(unsafe { Box::from_raw(p.cast::<T>()) });
    }
    // SAFETY: the caller's; `free::<T>` frees a `Box<T>` once.
    unsafe { retire_raw(ptr.cast(), free::<T>) };
}

/// Retires `ptr`, to be passed to `free` once no pin that could have
/// reached it remains.
///
/// # Safety
///
/// `ptr` is no longer reachable by readers that pin from now on, is
/// retired once, and `free(ptr)` is sound then, from any thread.
pub(crate) unsafe fn retire_raw(ptr: *mut (), free: unsafe fn(*mut ())) {
    let mut garbage = GLOBAL.garbage.lock();
    // Read under the lock, after the caller's unlink: see the module docs.
    let epoch = GLOBAL.epoch.load(Ordering::Relaxed);
    garbage.items.push(Deferred { ptr, free, epoch });
    GLOBAL.pending.store(garbage.items.len(), Ordering::Relaxed);
    if garbage.items.len() >= garbage.collect_at {
        let ready = advance_and_take(&mut garbage);
        drop(garbage);
        free_all(ready);
    }
}

/// Frees what can be freed now. Cheap when nothing is retired.
pub(crate) fn collect() {
    if GLOBAL.pending.load(Ordering::Relaxed) == 0 {
        return;
    }
    let mut garbage = GLOBAL.garbage.lock();
    let ready = advance_and_take(&mut garbage);
    drop(garbage);
    free_all(ready);
}

/// Advances the epoch as far as the pinned readers allow (at most twice)
/// and takes the items that became free. Garbage lock held.
fn advance_and_take(garbage: &mut Garbage) -> Vec<Deferred> {
    for _ in 0..2 {
        if !try_advance() {
            break;
        }
    }
    let now = GLOBAL.epoch.load(Ordering::Relaxed);
    let mut ready = Vec::new();
    let mut i = 0;
    while i < garbage.items.len() {
        if garbage.items[i].epoch + 2 <= now {
            ready.push(garbage.items.swap_remove(i));
        } else {
            i += 1;
        }
    }
    GLOBAL.pending.store(garbage.items.len(), Ordering::Relaxed);
    garbage.collect_at = COLLECT_AT.max(2 * garbage.items.len());
    ready
}

/// Advances the global epoch by one if every pinned reader is at the
/// current one. Garbage lock held.
fn try_advance() -> bool {
    let now = GLOBAL.epoch.load(Ordering::Relaxed);
    if !heavy_fence() {
        return false;
    }
    let mut p = GLOBAL.records.load(Ordering::Acquire);
    // SAFETY: records are leaked, never freed, and published fully built
    // (Release in `claim`, Acquire above and on `next`).
    while let Some(rec) = unsafe { p.as_ref() } {
        // Acquire: pairs with the Release store of unpin.
        let state = rec.state.load(Ordering::Acquire);
        if state != 0 && state != 2 * now + 1 {
            return false;
        }
        p = rec.next.load(Ordering::Acquire);
    }
    // Release: a reader that pins at the new epoch sees everything
    // unlinked before this advance.
    GLOBAL.epoch.store(now + 1, Ordering::Release);
    true
}

fn free_all(ready: Vec<Deferred>) {
    for d in ready {
        // SAFETY: `d` was retired at least two epochs ago: no reader can
        // still hold it (module docs), and it is taken out of the list
        // once.
        unsafe { (d.free)(d.ptr) };
    }
}

/// A free record, or a new one.
fn claim() -> &'static Record {
    init_fence();
    let mut p = GLOBAL.records.load(Ordering::Acquire);
    // SAFETY: as in `try_advance`.
    while let Some(rec) = unsafe { p.as_ref() } {
        if !rec.in_use.load(Ordering::Relaxed)
            && rec
                .in_use
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
        {
            rec.extra.store(0, Ordering::Relaxed);
            return rec;
        }
        p = rec.next.load(Ordering::Acquire);
    }
    let rec: &'static Record = Box::leak(Box::new(Record {
        state: AtomicU64::new(0),
        extra: AtomicUsize::new(0),
        in_use: AtomicBool::new(true),
        next: AtomicPtr::new(ptr::null_mut()),
    }));
    let new = ptr::from_ref(rec).cast_mut();
    let mut head = GLOBAL.records.load(Ordering::Relaxed);
    loop {
        rec.next.store(head, Ordering::Relaxed);
        // Release: scanners that load the new head see the record built.
        match GLOBAL
            .records
            .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
        {
            Ok(_) => return rec,
            Err(h) => head = h,
        }
    }
}

/// Gives a record back to the pool; its owner no longer pins with it.
fn release(rec: &Record) {
    rec.extra.store(0, Ordering::Relaxed);
    // Release: the next owner's Acquire claim sees this owner done.
    rec.in_use.store(false, Ordering::Release);
}

/// The reader's half of the fence pair.
#[inline]
fn light_fence() {
    if GLOBAL.fence.load(Ordering::Relaxed) == FENCE_ASYMMETRIC {
        crate::sync::compiler_fence(Ordering::SeqCst);
    } else {
        fence(Ordering::SeqCst);
    }
}

/// The scanner's half; false if it could not be made (nothing may then
/// be freed).
fn heavy_fence() -> bool {
    if GLOBAL.fence.load(Ordering::Relaxed) == FENCE_ASYMMETRIC {
        membarrier::expedited()
    } else {
        fence(Ordering::SeqCst);
        true
    }
}

/// Decides once, before any pin, how the two sides fence.
fn init_fence() {
    if GLOBAL.fence.load(Ordering::Acquire) != FENCE_UNKNOWN {
        return;
    }
    let _one = GLOBAL.garbage.lock();
    if GLOBAL.fence.load(Ordering::Relaxed) == FENCE_UNKNOWN {
        let mode = if membarrier::register() {
            FENCE_ASYMMETRIC
        } else {
            FENCE_FULL
        };
        // Release: pairs with the Acquire above; every pin happens after
        // its thread's `claim`, so after this store.
        GLOBAL.fence.store(mode, Ordering::Release);
    }
}

#[cfg(all(target_os = "linux", not(promclient_loom)))]
mod membarrier {
    const CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
    const CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

    fn call(cmd: libc::c_long) -> bool {
        loop {
            // SAFETY: `membarrier(cmd, flags = 0, cpu_id = 0)` takes no
            // pointers; an unknown command or a kernel without the call
            // returns an error.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_membarrier,
                    cmd,
                    0 as libc::c_long,
                    0 as libc::c_long,
                )
            };
            if r == 0 {
                return true;
            }
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return false;
            }
        }
    }

    /// Registers the process for expedited private barriers.
    pub(super) fn register() -> bool {
        call(CMD_REGISTER_PRIVATE_EXPEDITED)
    }

    /// A full barrier on every CPU running a thread of this process.
    pub(super) fn expedited() -> bool {
        call(CMD_PRIVATE_EXPEDITED)
    }
}

#[cfg(any(not(target_os = "linux"), promclient_loom))]
mod membarrier {
    pub(super) fn register() -> bool {
        false
    }

    pub(super) fn expedited() -> bool {
        false
    }
}

#[cfg(all(test, not(promclient_loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Counts its drops.
    struct Tracked(Arc<StdAtomicUsize>);

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn retire_tracked(drops: &Arc<StdAtomicUsize>) {
        let p = Box::into_raw(Box::new(Tracked(drops.clone())));
        // SAFETY: a fresh box, never shared, retired once.
        unsafe { retire(p) };
    }

    /// Collects until `drops` reaches `want`: other tests of this binary
    /// pin on their threads and may hold the epoch back for a moment.
    fn collect_until(drops: &StdAtomicUsize, want: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while drops.load(Ordering::Relaxed) < want && Instant::now() < deadline {
            collect();
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(drops.load(Ordering::Relaxed), want);
    }

    /// Every pin writes its record: two threads' records on one cache line
    /// would pull it back and forth between their cores.
    #[test]
    fn records_of_two_threads_share_no_cache_line() {
        let here = pin();
        let there = std::thread::spawn(|| ptr::from_ref(pin().record).addr())
            .join()
            .unwrap();
        let here = ptr::from_ref(here.record).addr();
        assert_ne!(here, there);
        assert_eq!(here % 128, 0, "{here:#x}");
        assert_eq!(there % 128, 0, "{there:#x}");
    }

    #[test]
    fn retired_objects_outlive_the_guards_pinned_before() {
        let drops = Arc::new(StdAtomicUsize::new(0));
        let a = pin();
        let b = pin();
        retire_tracked(&drops);
        // Guards drop in any order: the first one gone leaves the thread
        // pinned.
        drop(a);
        for _ in 0..10 {
            collect();
        }
        assert_eq!(drops.load(Ordering::Relaxed), 0, "freed under a live guard");
        drop(b);
        collect_until(&drops, 1);
    }

    #[test]
    fn a_guard_on_another_thread_holds_reclamation_back() {
        let drops = Arc::new(StdAtomicUsize::new(0));
        let (pinned_tx, pinned_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        std::thread::scope(|s| {
            // Owned by this closure: a failed assertion drops it while
            // unwinding, which releases the other thread.
            let go_tx = go_tx;
            s.spawn(move || {
                let g = pin();
                pinned_tx.send(()).unwrap();
                let _ = go_rx.recv();
                drop(g);
            });
            pinned_rx.recv().unwrap();
            retire_tracked(&drops);
            for _ in 0..10 {
                collect();
            }
            assert_eq!(drops.load(Ordering::Relaxed), 0, "freed under a live guard");
            go_tx.send(()).unwrap();
        });
        collect_until(&drops, 1);
    }

    /// Records ever made (the list only grows).
    fn record_count() -> usize {
        let mut n = 0;
        let mut p = GLOBAL.records.load(Ordering::Acquire);
        // SAFETY: records are never freed.
        while let Some(rec) = unsafe { p.as_ref() } {
            n += 1;
            p = rec.next.load(Ordering::Acquire);
        }
        n
    }

    #[test]
    fn ended_threads_give_their_records_back() {
        for _ in 0..3 {
            std::thread::spawn(|| drop(pin())).join().unwrap();
        }
        let before = record_count();
        for _ in 0..50 {
            std::thread::spawn(|| drop(pin())).join().unwrap();
        }
        // Other tests may add a few records of their own meanwhile; 50
        // sequential threads must not add 50.
        let after = record_count();
        assert!(after < before + 10, "{before} -> {after}");
    }

    /// A guard held by another thread-local while the thread's record is
    /// given back, and pins made from thread-local destructors after that,
    /// whichever destructor runs first: every record still goes back.
    #[test]
    fn pins_from_thread_local_destructors_give_their_records_back() {
        struct Holder(Cell<Option<Guard>>);
        impl Drop for Holder {
            fn drop(&mut self) {
                drop(self.0.take());
                drop(pin());
            }
        }
        thread_local! {
            static HOLDER: Holder = const { Holder(Cell::new(None)) };
        }
        let run = |holder_first: bool| {
            std::thread::spawn(move || {
                if holder_first {
                    HOLDER.with(|_| ());
                }
                let guard = pin();
                HOLDER.with(|h| h.0.set(Some(guard)));
            })
            .join()
            .unwrap();
        };
        run(true);
        run(false);
        let before = record_count();
        for i in 0..50 {
            run(i % 2 == 0);
        }
        let after = record_count();
        assert!(after < before + 10, "{before} -> {after}");
    }

    #[test]
    fn many_retires_from_many_threads_are_all_freed_once() {
        let drops = Arc::new(StdAtomicUsize::new(0));
        std::thread::scope(|s| {
            for _ in 0..4 {
                let drops = drops.clone();
                s.spawn(move || {
                    for i in 0..1_000 {
                        let _g = pin();
                        retire_tracked(&drops);
                        if i % 100 == 0 {
                            collect();
                        }
                    }
                });
            }
        });
        collect_until(&drops, 4_000);
    }
}

/// The model check: `RUSTFLAGS="--cfg promclient_loom" cargo test --release --lib
/// loom_model`. Both sides fence with `fence(SeqCst)` under loom (the
/// fallback pair); the membarrier pair replaces exactly those two fences.
/// A freed object writes its cell, so loom reports any read of it that
/// the protocol does not order before the free.
#[cfg(all(test, promclient_loom))]
mod loom_model {
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;

    struct Obj(UnsafeCell<u64>);

    impl Drop for Obj {
        fn drop(&mut self) {
            // SAFETY: the model checks that no reader accesses it now.
            self.0.with_mut(|v| unsafe { *v = 0 });
        }
    }

    fn obj(v: u64) -> *mut Obj {
        Box::into_raw(Box::new(Obj(UnsafeCell::new(v))))
    }

    /// Pins, reads the object in `slot` if any, unpins.
    fn read(slot: &AtomicPtr<Obj>) {
        let _g = pin();
        let p = slot.load(Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: what the model checks.
            let v = unsafe { (*p).0.with(|v| *v) };
            assert!(v == 1 || v == 2, "read a freed object");
        }
    }

    fn builder() -> loom::model::Builder {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(3);
        b
    }

    #[test]
    fn loom_model_reader_against_unlink_retire_collect() {
        builder().check(|| {
            let slot = Arc::new(AtomicPtr::new(obj(1)));
            let reader = {
                let slot = slot.clone();
                loom::thread::spawn(move || read(&slot))
            };
            let old = slot.swap(ptr::null_mut(), Ordering::AcqRel);
            // SAFETY: unlinked above, retired once.
            unsafe { retire(old) };
            collect();
            collect();
            reader.join().unwrap();
        });
    }

    #[test]
    fn loom_model_two_reads_against_two_replacements() {
        builder().check(|| {
            let slot = Arc::new(AtomicPtr::new(obj(1)));
            let reader = {
                let slot = slot.clone();
                loom::thread::spawn(move || {
                    read(&slot);
                    read(&slot);
                })
            };
            let first = slot.swap(obj(2), Ordering::AcqRel);
            // SAFETY: unlinked above, retired once.
            unsafe { retire(first) };
            collect();
            let second = slot.swap(ptr::null_mut(), Ordering::AcqRel);
            // SAFETY: as above.
            unsafe { retire(second) };
            collect();
            reader.join().unwrap();
        });
    }
}
