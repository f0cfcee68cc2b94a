//! The children of a family: an open-addressing hash table whose lookups
//! take no lock, no reference count, no allocation and no atomic
//! read-modify-write.
//!
//! Writers (insert, remove, clear) are serialised by a mutex. Readers load
//! the current slot array and probe it with atomic loads. A slot holds
//! null (free: ends a probe), a tombstone (removed: probing goes on) or a
//! child: the raw form of one reference to the child's series, which holds
//! its hash and packed key ([`super::series`]), so a probe follows one
//! pointer per slot. A child is published with a release store and never
//! changes until it is retired. Retired children (their reference is
//! dropped) and replaced slot arrays are freed through
//! the crate's epoch-based reclamation ([`super::epoch`]), so a reader
//! pinned before a removal can finish with what it found; a pin writes
//! only the reading thread's own record, with no fence on Linux.
//!
//! Why `unsafe` (STYLE rule 11): measured with `cargo bench --bench family`
//! on the 2-core dev machine, a `parking_lot::RwLock<hashbrown::HashTable>`
//! returning `Arc` clones took 23 ns per lookup + inc on 1 thread and
//! 118 ns on 2 (a lock word and a reference count shared by both threads);
//! `papaya` (safe API, guard-bound references) took 29 ns on 1 thread.
//! This table with `crossbeam-epoch` took about 18-20 ns and 35-58 ns;
//! with the crate's own epoch, see the bench's doc comment. All `unsafe`
//! of the crate's families is in this file and `epoch.rs`.
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::epoch;

pub(crate) use epoch::{pin, Guard};

/// The value of a slot whose child was removed: not a valid child address
/// (children are aligned to 8), never dereferenced.
const TOMBSTONE: usize = 1;

/// What a table links: a handle that gives up one reference as a raw
/// pointer and takes it back, and knows its hash.
///
/// # Safety
///
/// `into_raw` returns a non-null pointer aligned to at least 2, valid
/// until the reference it carries is taken back by `from_raw`; a handle
/// made by `from_raw` and never dropped (kept in `ManuallyDrop`) reads it
/// without taking its reference.
pub(crate) unsafe trait Linked: Send + Sync + 'static {
    /// The hash the table places the child by.
    fn hash(&self) -> u64;

    /// This handle's reference, as a pointer.
    fn into_raw(self) -> NonNull<u8>;

    /// The handle given up by `into_raw`.
    ///
    /// # Safety
    ///
    /// `p` comes from `into_raw` of the same type and is still referenced.
    unsafe fn from_raw(p: NonNull<u8>) -> Self;
}

/// A child linked in the table, borrowed without taking a reference: its
/// pointer came from a slot read under a guard that outlives `'g`.
pub(crate) struct Ref<'g, M> {
    child: ManuallyDrop<M>,
    _guard: PhantomData<&'g M>,
}

impl<M> Deref for Ref<'_, M> {
    type Target = M;

    #[inline(always)]
    fn deref(&self) -> &M {
        &self.child
    }
}

impl<M: Linked> Ref<'_, M> {
    /// # Safety
    ///
    /// `p` is a child linked in a slot array reached under a guard that
    /// outlives `'g`: the epoch keeps its reference until the guard unpins.
    #[inline(always)]
    unsafe fn new(p: NonNull<u8>) -> Self {
        Self {
            // SAFETY: the caller's; never dropped, so the reference stays
            // the table's.
            child: ManuallyDrop::new(unsafe { M::from_raw(p) }),
            _guard: PhantomData,
        }
    }
}

struct Slots {
    mask: usize,
    slots: Box<[AtomicPtr<u8>]>,
}

impl Slots {
    fn with_capacity(cap: usize) -> Self {
        debug_assert!(cap.is_power_of_two());
        Self {
            mask: cap - 1,
            slots: (0..cap).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
        }
    }
}

fn tombstone() -> *mut u8 {
    ptr::without_provenance_mut(TOMBSTONE)
}

fn is_node(p: *mut u8) -> bool {
    !p.is_null() && p.addr() != TOMBSTONE
}

/// A slot holding a child, the child's pointer and the child.
type LiveSlot<'g, M> = (&'g AtomicPtr<u8>, NonNull<u8>, Ref<'g, M>);

/// Drops the reference a retired child's slot held.
///
/// # Safety
///
/// `p` comes from `M::into_raw`, its reference unlinked from every table.
unsafe fn release<M: Linked>(p: *mut ()) {
    if let Some(p) = NonNull::new(p.cast::<u8>()) {
        // SAFETY: the caller's.
        drop(unsafe { M::from_raw(p) });
    }
}

/// Retires the reference of a child just unlinked from its slot.
///
/// # Safety
///
/// `p` was linked in a slot that now holds something else, and no other
/// slot of any array made from now on links it: retired once.
unsafe fn retire_child<M: Linked>(p: NonNull<u8>) {
    // SAFETY: the caller's; `release::<M>` takes the reference back.
    unsafe { epoch::retire_raw(p.as_ptr().cast(), release::<M>) };
}

/// Counts kept by the writer, to decide when to grow or clean up.
struct Occupancy {
    live: usize,
    tombstones: usize,
    /// Inserts left that try to free what the last growth or clear
    /// retired (see [`SWEEPS`]).
    sweeps: u8,
}

/// Inserts after a growth or a clear that try to free the slot array (and
/// children) it retired: an insert is pinned, so the first one after can
/// advance the epoch once, the second frees. Without them a growing family
/// keeps every replaced array (as much again as the current one) until a
/// gather. Not every insert: a try that finds readers in the way is a
/// `membarrier`, which churning families would pay on each insert.
const SWEEPS: u8 = 3;

pub(crate) struct Table<M: Linked> {
    current: AtomicPtr<Slots>,
    writer: Mutex<Occupancy>,
    /// Bumped by every insert and removal, so a sorted copy of the
    /// children can tell it is stale.
    version: AtomicU64,
    _children: PhantomData<M>,
}

// Send + 'static (from `Linked`): retired children are dropped by whichever
// thread frees the epoch's garbage, at some later time.
impl<M: Linked> Table<M> {
    pub(crate) fn new() -> Self {
        Self {
            current: AtomicPtr::new(Box::into_raw(Box::new(Slots::with_capacity(8)))),
            writer: Mutex::new(Occupancy {
                live: 0,
                tombstones: 0,
                sweeps: 0,
            }),
            version: AtomicU64::new(0),
            _children: PhantomData,
        }
    }

    /// Changes with every insert and removal.
    pub(crate) fn version(&self) -> u64 {
        // Acquire: a reader that sees a version then iterates sees at least
        // the children of that version.
        self.version.load(Ordering::Acquire)
    }

    fn bump(&self) {
        // Release: pairs with `version`; called with the writer lock held.
        self.version.fetch_add(1, Ordering::Release);
    }

    /// The child with `hash` for which `eq` holds, or else the one `miss`
    /// finds or creates, as a [`Child`] that keeps it alive while borrowed.
    ///
    /// `miss` runs on this thread while `guard` is pinned, and returns a
    /// child of this table from [`Table::get_or_insert`] under a pin of
    /// its own, taken while `guard`'s is live: the child was reached after
    /// `guard` pinned, so it stays valid while `guard` lives. (That pin
    /// nests in `guard`'s; in a thread-local destructor, where pins take a
    /// record each, it has its own.) So `guard` is not handed to `miss`: a
    /// reference to it would keep it in memory, a store on every lookup.
    /// `miss` is the rare path: the caller keeps it out of line, so what
    /// `eq` borrows can stay in registers on the common one.
    #[inline(always)]
    pub(crate) fn child<'a>(
        &'a self,
        guard: Guard,
        hash: u64,
        eq: impl Fn(&M) -> bool,
        miss: impl FnOnce() -> NonNull<u8>,
    ) -> Child<'a, M> {
        let p = match Self::find(self.slots(&guard), hash, eq) {
            Some((_, p)) => p,
            None => miss(),
        };
        Child {
            // SAFETY: `p` is linked in the table (found under `guard`, or
            // by `miss` under a pin nested in it), and `guard` moves into
            // the `Child`, whose borrow of it ends before the guard unpins.
            child: unsafe { Ref::new(p) },
            _guard: guard,
            _family: PhantomData,
        }
    }

    fn slots<'g>(&'g self, _guard: &'g Guard) -> &'g Slots {
        // Acquire: pairs with the Release store that published the array.
        let s = self.current.load(Ordering::Acquire);
        // SAFETY: `current` is never null (set in `new`, replaced only by
        // non-null arrays), and a replaced array is retired through the
        // epoch, so it stays valid while `_guard` is pinned.
        unsafe { &*s }
    }

    /// Finds the child with `hash` for which `eq` holds.
    #[cfg(test)]
    pub(crate) fn get<'g>(
        &'g self,
        hash: u64,
        eq: impl Fn(&M) -> bool,
        guard: &'g Guard,
    ) -> Option<Ref<'g, M>> {
        let (_, p) = Self::find(self.slots(guard), hash, eq)?;
        // SAFETY: found in the array reached under `guard`.
        Some(unsafe { Ref::new(p) })
    }

    /// Probes `slots` for the child with `hash` for which `eq` holds: its
    /// slot index and pointer. `slots` was reached under a pinned guard
    /// that outlives the use of the pointer.
    #[inline(always)]
    fn find(slots: &Slots, hash: u64, eq: impl Fn(&M) -> bool) -> Option<(usize, NonNull<u8>)> {
        let mask = slots.mask;
        let mut i = hash as usize & mask;
        // At most every slot once: a probe ends at a free slot, and some
        // slot is always free, but a reader does not rely on it.
        let mut left = mask;
        loop {
            // SAFETY: `i` is masked by `mask`, and `slots.slots` has
            // `mask + 1` entries (`with_capacity`; never resized).
            let slot = unsafe { slots.slots.get_unchecked(i) };
            // Acquire: pairs with the Release store that published the node.
            let p = slot.load(Ordering::Acquire);
            // Null: a free slot ends the probe.
            let nn = NonNull::new(p)?;
            if p.addr() != TOMBSTONE {
                // SAFETY: `slots` was loaded under a pinned guard, so it was
                // the current array at some point after the pin; every child
                // it links was therefore unlinked from the current array,
                // and retired, only after the pin, and the epoch keeps its
                // reference until the guard unpins. (A removed child may
                // stay linked in older arrays; those were retired after the
                // pin too.)
                let child: Ref<'_, M> = unsafe { Ref::new(nn) };
                if child.hash() == hash && eq(&child) {
                    return Some((i, nn));
                }
            }
            if left == 0 {
                return None;
            }
            left -= 1;
            i = (i + 1) & mask;
        }
    }

    /// Every slot of `slots` that holds a child, with the child's pointer
    /// and the child. `slots` was reached under a guard that outlives the
    /// borrow.
    fn live(slots: &Slots) -> impl Iterator<Item = LiveSlot<'_, M>> {
        slots.slots.iter().filter_map(|slot| {
            // Acquire: pairs with the Release store that published the child.
            let p = slot.load(Ordering::Acquire);
            if !is_node(p) {
                return None;
            }
            let p = NonNull::new(p)?;
            // SAFETY: as in `find`: `slots` was reached under a guard, so
            // its children are valid while the guard is pinned.
            Some((slot, p, unsafe { Ref::new(p) }))
        })
    }

    /// Returns the child with `hash` and `eq`, inserting `make()` (whose
    /// hash must be `hash`) if there is none, as a pointer linked in the
    /// table while `guard` lives; the flag says whether it was inserted.
    #[cold]
    pub(crate) fn get_or_insert(
        &self,
        hash: u64,
        eq: impl Fn(&M) -> bool,
        make: impl FnOnce() -> M,
        guard: &Guard,
    ) -> (NonNull<u8>, bool) {
        let mut occ = self.writer.lock();
        if occ.sweeps > 0 {
            occ.sweeps -= 1;
            epoch::collect();
        }
        if let Some((_, found)) = Self::find(self.slots(guard), hash, &eq) {
            return (found, false);
        }
        let cap = self.slots(guard).slots.len();
        if (occ.live + occ.tombstones + 1) * 4 > cap * 3 {
            // Grow when mostly live, else just sweep the tombstones out.
            let new_cap = if (occ.live + 1) * 2 > cap {
                cap * 2
            } else {
                cap
            };
            self.rebuild(new_cap, guard);
            occ.tombstones = 0;
            occ.sweeps = SWEEPS;
        }
        // Build before touching the counts: a panic in `make` then leaves
        // the table as it was.
        let child = make();
        debug_assert_eq!(child.hash(), hash);
        let raw = child.into_raw();
        let slots = self.slots(guard);
        let mut i = hash as usize & slots.mask;
        loop {
            let p = slots.slots[i].load(Ordering::Relaxed);
            if !is_node(p) {
                if !p.is_null() {
                    occ.tombstones -= 1;
                }
                break;
            }
            i = (i + 1) & slots.mask;
        }
        // Release: readers that load the child see it fully built.
        slots.slots[i].store(raw.as_ptr(), Ordering::Release);
        occ.live += 1;
        self.bump();
        // Just linked; unlinked only under the lock, and then retired
        // through the epoch, after `guard`.
        (raw, true)
    }

    /// Copies the live children into a fresh array of `cap` slots and
    /// retires the old array (not the children, which move over). Writer
    /// lock held.
    fn rebuild(&self, cap: usize, guard: &Guard) {
        let old = self.slots(guard);
        let fresh = Slots::with_capacity(cap);
        for (_, p, child) in Self::live(old) {
            let mut i = child.hash() as usize & fresh.mask;
            while !fresh.slots[i].load(Ordering::Relaxed).is_null() {
                i = (i + 1) & fresh.mask;
            }
            fresh.slots[i].store(p.as_ptr(), Ordering::Relaxed);
        }
        // Release: readers of the new array see its slots filled.
        let old = self
            .current
            .swap(Box::into_raw(Box::new(fresh)), Ordering::AcqRel);
        // SAFETY: the old array is unlinked; readers pinned before this may
        // still probe it, which the epoch waits for. Dropping it frees only
        // the slot array, not the children, which the new array holds.
        unsafe { epoch::retire(old) };
    }

    /// Removes the child with `hash` for which `eq` holds; whether there was
    /// one.
    pub(crate) fn remove_one(&self, hash: u64, eq: impl Fn(&M) -> bool, guard: &Guard) -> bool {
        let mut occ = self.writer.lock();
        let slots = self.slots(guard);
        let Some((i, p)) = Self::find(slots, hash, eq) else {
            return false;
        };
        slots.slots[i].store(tombstone(), Ordering::Release);
        // SAFETY: as in `remove_where`.
        unsafe { retire_child::<M>(p) };
        occ.live -= 1;
        occ.tombstones += 1;
        self.bump();
        true
    }

    /// Removes every child for which `remove` holds; how many.
    pub(crate) fn remove_where(&self, remove: impl Fn(&M) -> bool, guard: &Guard) -> usize {
        let mut occ = self.writer.lock();
        let slots = self.slots(guard);
        let mut removed = 0;
        for (slot, p, child) in Self::live(slots) {
            if remove(&child) {
                slot.store(tombstone(), Ordering::Release);
                // SAFETY: unlinked above, under the writer lock (so once);
                // readers that found it before are pinned, and the epoch
                // waits for them.
                unsafe { retire_child::<M>(p) };
                removed += 1;
            }
        }
        occ.live -= removed;
        occ.tombstones += removed;
        if removed > 0 {
            self.bump();
        }
        removed
    }

    /// Removes every child.
    pub(crate) fn clear(&self, guard: &Guard) {
        let mut occ = self.writer.lock();
        let old = self.current.swap(
            Box::into_raw(Box::new(Slots::with_capacity(8))),
            Ordering::AcqRel,
        );
        // SAFETY: `old` was the current array until the swap; the epoch
        // keeps it while `guard` is pinned.
        let old_ref = unsafe { &*old };
        for (_, p, _) in Self::live(old_ref) {
            // SAFETY: the whole array is unlinked; the epoch waits for
            // readers pinned before.
            unsafe { retire_child::<M>(p) };
        }
        let _ = guard;
        // SAFETY: as in `rebuild`.
        unsafe { epoch::retire(old) };
        *occ = Occupancy {
            live: 0,
            tombstones: 0,
            sweeps: SWEEPS,
        };
        self.bump();
    }

    /// Calls `f` with every child as of one state of the table and
    /// returns that state's version. Takes the writer lock: a lock-free
    /// pass can meet a child removed and re-created meanwhile twice (when
    /// its probe chain wraps), and `collect` promises unique series.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&M), guard: &Guard) -> u64 {
        let _occ = self.writer.lock();
        for (_, _, child) in Self::live(self.slots(guard)) {
            f(&child);
        }
        self.version.load(Ordering::Relaxed)
    }

    pub(crate) fn len(&self) -> usize {
        self.writer.lock().live
    }
}

impl<M: Linked> Drop for Table<M> {
    fn drop(&mut self) {
        let slots = *self.current.get_mut();
        // SAFETY: `&mut self`: no reader or writer can hold a reference into
        // the table, and every guard that could was dropped before. The
        // current array and the references it links are owned by the table
        // (retired ones are not linked from it); each is dropped once.
        unsafe {
            for slot in (*slots).slots.iter() {
                let p = slot.load(Ordering::Relaxed);
                if is_node(p) {
                    release::<M>(p.cast());
                }
            }
            drop(Box::from_raw(slots));
        }
    }
}

/// A child of a [`Family`](super::Family), found or created by a lookup:
/// dereferences to the instrument handle `M` (so `family.with_label_values(..).inc()`
/// works), and `.clone()` gives an owned handle to keep.
///
/// It borrows the family and holds an epoch pin, not a lock: nothing waits
/// for it, but while any `Child` lives, no removed child of any family is
/// freed. Use it and drop it, as in `family.with_label_values(..).inc()`;
/// never store or `mem::forget` one: clone the handle instead. It is not
/// `Send`, so it cannot be held across an `.await` in a `Send` future.
pub struct Child<'a, M> {
    /// Declared before the guard: it reads the child, which the guard
    /// keeps alive.
    child: Ref<'a, M>,
    _guard: Guard,
    _family: PhantomData<&'a M>,
}

impl<M> Deref for Child<'_, M> {
    type Target = M;

    #[inline]
    fn deref(&self) -> &M {
        &self.child
    }
}

impl<M: std::fmt::Debug> std::fmt::Debug for Child<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering as O};
    use std::sync::Arc;

    /// A child for the tests: a hash and a payload, boxed.
    struct Item<T>(Box<(u64, T)>);

    // SAFETY: a `Box` pointer is non-null, aligned to 8 and valid until
    // taken back.
    unsafe impl<T: Send + Sync + 'static> Linked for Item<T> {
        fn hash(&self) -> u64 {
            self.0 .0
        }

        fn into_raw(self) -> NonNull<u8> {
            NonNull::from(Box::leak(self.0)).cast()
        }

        unsafe fn from_raw(p: NonNull<u8>) -> Self {
            // SAFETY: from `into_raw`: a leaked box of this type.
            Self(unsafe { Box::from_raw(p.cast().as_ptr()) })
        }
    }

    fn item<T>(hash: u64, v: T) -> Item<T> {
        Item(Box::new((hash, v)))
    }

    fn is(k: u32) -> impl Fn(&Item<u32>) -> bool {
        move |m| m.0 .1 == k
    }

    #[test]
    fn insert_get_remove_grow_and_sweep() {
        let t: Table<Item<u32>> = Table::new();
        let g = pin();
        for k in 0..1000u32 {
            let h = u64::from(k % 7);
            let (p, new) = t.get_or_insert(h, is(k), || item(h, k), &g);
            assert!(new);
            // SAFETY: just linked, under `g`.
            assert_eq!(unsafe { Ref::<Item<u32>>::new(p) }.0 .1, k);
        }
        assert_eq!(t.len(), 1000);
        for k in 0..1000u32 {
            assert_eq!(t.get(u64::from(k % 7), is(k), &g).map(|m| m.0 .1), Some(k));
        }
        assert_eq!(t.remove_where(|m| m.0 .1 % 2 == 0, &g), 500);
        for k in 0..1000u32 {
            assert_eq!(t.get(u64::from(k % 7), is(k), &g).is_some(), k % 2 == 1);
        }
        // Churn through tombstones: the table must not fill up.
        for round in 0..50u32 {
            let k = 10_000 + round;
            t.get_or_insert(u64::from(k), is(k), || item(u64::from(k), k), &g);
            assert!(t.remove_one(u64::from(k), is(k), &g));
            assert!(!t.remove_one(u64::from(k), is(k), &g));
        }
        assert_eq!(t.len(), 500);
        t.clear(&g);
        assert_eq!(t.len(), 0);
        assert!(t.get(1, is(1), &g).is_none());
    }

    #[test]
    fn every_child_is_dropped_exactly_once() {
        struct Tracked(Arc<AtomicUsize>);
        impl Drop for Tracked {
            fn drop(&mut self) {
                self.0.fetch_add(1, O::Relaxed);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        {
            let t: Table<Item<Tracked>> = Table::new();
            let g = pin();
            for k in 0..100u64 {
                t.get_or_insert(k, |_| false, || item(k, Tracked(drops.clone())), &g);
            }
            t.remove_where(|m| m.0 .0 < 10, &g);
            drop(g);
        }
        // Removed ones go through the epoch; other tests of this binary
        // may hold it back for a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while drops.load(O::Relaxed) < 100 && std::time::Instant::now() < deadline {
            epoch::collect();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(drops.load(O::Relaxed), 100);
    }

    #[test]
    fn readers_race_writers_without_losing_live_children() {
        let t: Arc<Table<Item<u32>>> = Arc::new(Table::new());
        let g = pin();
        for k in 0..64u32 {
            t.get_or_insert(u64::from(k), is(k), || item(u64::from(k), k), &g);
        }
        drop(g);
        std::thread::scope(|s| {
            for _ in 0..2 {
                let t = t.clone();
                s.spawn(move || {
                    for i in 0..200_000u32 {
                        let k = i % 64;
                        let g = pin();
                        // Keys below 64 are never removed: always found.
                        assert_eq!(t.get(u64::from(k), is(k), &g).map(|m| m.0 .1), Some(k));
                    }
                });
            }
            let t = t.clone();
            s.spawn(move || {
                for i in 0..20_000u32 {
                    let k = 1_000 + i % 500;
                    let g = pin();
                    t.get_or_insert(u64::from(k), is(k), || item(u64::from(k), k), &g);
                    if i % 3 == 0 {
                        t.remove_one(u64::from(k), is(k), &g);
                    }
                }
            });
        });
    }
}
