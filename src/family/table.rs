//! The children of a family: an open-addressing hash table whose lookups
//! take no lock, no reference count, no allocation and no atomic
//! read-modify-write.
//!
//! Writers (insert, remove, clear) are serialised by a mutex. Readers load
//! the current slot array and probe it with atomic loads. A slot holds
//! null (free: ends a probe), a tombstone (removed: probing goes on) or a
//! node; a node is published with a release store and never changes until
//! it is retired. Retired nodes and replaced slot arrays are freed through
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
use std::ops::Deref;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::epoch;

pub(crate) use epoch::{pin, Guard};

/// The value of a slot whose node was removed: not a valid node address
/// (nodes are aligned to 8), never dereferenced.
const TOMBSTONE: usize = 1;

/// A child with its hash and its key (the packed label values), kept in
/// the node so a probe compares values without going through the child.
struct Node<K, M> {
    hash: u64,
    key: K,
    child: M,
}

struct Slots<K, M> {
    mask: usize,
    slots: Box<[AtomicPtr<Node<K, M>>]>,
}

impl<K, M> Slots<K, M> {
    fn with_capacity(cap: usize) -> Self {
        debug_assert!(cap.is_power_of_two());
        Self {
            mask: cap - 1,
            slots: (0..cap).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
        }
    }
}

fn tombstone<K, M>() -> *mut Node<K, M> {
    ptr::without_provenance_mut(TOMBSTONE)
}

fn is_node<K, M>(p: *mut Node<K, M>) -> bool {
    !p.is_null() && p.addr() != TOMBSTONE
}

/// A slot holding a node, the node's pointer and the node.
type LiveSlot<'g, K, M> = (&'g AtomicPtr<Node<K, M>>, *mut Node<K, M>, &'g Node<K, M>);

/// Counts kept by the writer, to decide when to grow or clean up.
struct Occupancy {
    live: usize,
    tombstones: usize,
}

pub(crate) struct Table<K, M> {
    current: AtomicPtr<Slots<K, M>>,
    writer: Mutex<Occupancy>,
    /// Bumped by every insert and removal, so a sorted copy of the
    /// children can tell it is stale.
    version: AtomicU64,
}

// Send + 'static: retired nodes are dropped by whichever thread frees the
// epoch's garbage, at some later time.
impl<K: Send + 'static, M: Send + 'static> Table<K, M> {
    pub(crate) fn new() -> Self {
        Self {
            current: AtomicPtr::new(Box::into_raw(Box::new(Slots::with_capacity(8)))),
            writer: Mutex::new(Occupancy {
                live: 0,
                tombstones: 0,
            }),
            version: AtomicU64::new(0),
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
    /// finds or creates (a child of this table, from
    /// [`Table::get_or_insert`] under the guard it is given), as a
    /// [`Child`] that keeps it alive while borrowed.
    ///
    /// `miss` is the rare path: the caller keeps it out of line, so what
    /// `eq` borrows can stay in registers on the common one.
    #[inline(always)]
    pub(crate) fn child<'a>(
        &'a self,
        hash: u64,
        eq: impl Fn(&K, &M) -> bool,
        miss: impl FnOnce(&Guard) -> *const M,
    ) -> Child<'a, M> {
        let guard = pin();
        let child: *const M = match self.get(hash, eq, &guard) {
            Some(found) => found,
            None => miss(&guard),
        };
        Child {
            child,
            _guard: guard,
            _family: PhantomData,
        }
    }

    fn slots<'g>(&'g self, _guard: &'g Guard) -> &'g Slots<K, M> {
        // Acquire: pairs with the Release store that published the array.
        let s = self.current.load(Ordering::Acquire);
        // SAFETY: `current` is never null (set in `new`, replaced only by
        // non-null arrays), and a replaced array is retired through the
        // epoch, so it stays valid while `_guard` is pinned.
        unsafe { &*s }
    }

    /// Finds the child with `hash` for which `eq` holds.
    #[inline(always)]
    pub(crate) fn get<'g>(
        &'g self,
        hash: u64,
        eq: impl Fn(&K, &M) -> bool,
        guard: &'g Guard,
    ) -> Option<&'g M> {
        let (_, node) = Self::find(self.slots(guard), hash, eq)?;
        Some(&node.child)
    }

    /// Probes `slots` for the node with `hash` for which `eq` holds: its
    /// slot index and the node. `slots` was reached under a pinned guard
    /// that outlives the borrow.
    #[inline(always)]
    fn find(
        slots: &Slots<K, M>,
        hash: u64,
        eq: impl Fn(&K, &M) -> bool,
    ) -> Option<(usize, &Node<K, M>)> {
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
            if p.is_null() {
                return None;
            }
            if p.addr() != TOMBSTONE {
                // SAFETY: `slots` was loaded under a pinned guard, so it was
                // the current array at some point after the pin; every node
                // it links was therefore unlinked from the current array,
                // and retired, only after the pin, and the epoch keeps it
                // until the guard unpins. (A removed node may stay linked in
                // older arrays; those were retired after the pin too.)
                let node = unsafe { &*p };
                if node.hash == hash && eq(&node.key, &node.child) {
                    return Some((i, node));
                }
            }
            if left == 0 {
                return None;
            }
            left -= 1;
            i = (i + 1) & mask;
        }
    }

    /// Every slot of `slots` that holds a node, with the node's pointer
    /// and the node. `slots` was reached under a guard that outlives the
    /// borrow.
    fn live(slots: &Slots<K, M>) -> impl Iterator<Item = LiveSlot<'_, K, M>> {
        slots.slots.iter().filter_map(|slot| {
            // Acquire: pairs with the Release store that published the node.
            let p = slot.load(Ordering::Acquire);
            if !is_node(p) {
                return None;
            }
            // SAFETY: as in `find`: `slots` was reached under a guard, so
            // its nodes are valid while the guard is pinned.
            Some((slot, p, unsafe { &*p }))
        })
    }

    /// Returns the child with `hash` and `eq`, inserting `make()` if there
    /// is none; the flag says whether it was inserted.
    #[cold]
    pub(crate) fn get_or_insert<'g>(
        &'g self,
        hash: u64,
        eq: impl Fn(&K, &M) -> bool,
        make: impl FnOnce() -> (K, M),
        guard: &'g Guard,
    ) -> (&'g M, bool) {
        let mut occ = self.writer.lock();
        if let Some(found) = self.get(hash, &eq, guard) {
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
        }
        // Build before touching the counts: a panic in `make` then leaves
        // the table as it was.
        let (key, child) = make();
        let node = Box::into_raw(Box::new(Node { hash, key, child }));
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
        // Release: readers that load the node see it fully built.
        slots.slots[i].store(node, Ordering::Release);
        occ.live += 1;
        self.bump();
        // SAFETY: just stored; freed only through the epoch, after `guard`.
        (unsafe { &(*node).child }, true)
    }

    /// Copies the live nodes into a fresh array of `cap` slots and retires
    /// the old array (not the nodes, which move over). Writer lock held.
    fn rebuild(&self, cap: usize, guard: &Guard) {
        let old = self.slots(guard);
        let fresh = Slots::with_capacity(cap);
        for (_, p, node) in Self::live(old) {
            let mut i = node.hash as usize & fresh.mask;
            while !fresh.slots[i].load(Ordering::Relaxed).is_null() {
                i = (i + 1) & fresh.mask;
            }
            fresh.slots[i].store(p, Ordering::Relaxed);
        }
        // Release: readers of the new array see its slots filled.
        let old = self
            .current
            .swap(Box::into_raw(Box::new(fresh)), Ordering::AcqRel);
        // SAFETY: the old array is unlinked; readers pinned before this may
        // still probe it, which the epoch waits for. Dropping it frees only
        // the slot array, not the nodes, which the new array holds.
        unsafe { epoch::retire(old) };
    }

    /// Removes the child with `hash` for which `eq` holds; whether there was
    /// one.
    pub(crate) fn remove_one(&self, hash: u64, eq: impl Fn(&K, &M) -> bool, guard: &Guard) -> bool {
        let mut occ = self.writer.lock();
        let slots = self.slots(guard);
        let Some((i, node)) = Self::find(slots, hash, eq) else {
            return false;
        };
        slots.slots[i].store(tombstone(), Ordering::Release);
        // SAFETY: as in `remove_where`.
        unsafe { epoch::retire(ptr::from_ref(node).cast_mut()) };
        occ.live -= 1;
        occ.tombstones += 1;
        self.bump();
        true
    }

    /// Removes every child for which `remove` holds; how many.
    pub(crate) fn remove_where(&self, remove: impl Fn(&K, &M) -> bool, guard: &Guard) -> usize {
        let mut occ = self.writer.lock();
        let slots = self.slots(guard);
        let mut removed = 0;
        for (slot, p, node) in Self::live(slots) {
            if remove(&node.key, &node.child) {
                slot.store(tombstone(), Ordering::Release);
                // SAFETY: unlinked above, under the writer lock (so once);
                // readers that found it before are pinned, and the epoch
                // waits for them.
                unsafe { epoch::retire(p) };
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
            unsafe { epoch::retire(p) };
        }
        let _ = guard;
        // SAFETY: as in `rebuild`.
        unsafe { epoch::retire(old) };
        *occ = Occupancy {
            live: 0,
            tombstones: 0,
        };
        self.bump();
    }

    /// Calls `f` with every child as of one state of the table and
    /// returns that state's version. Takes the writer lock: a lock-free
    /// pass can meet a child removed and re-created meanwhile twice (when
    /// its probe chain wraps), and `collect` promises unique series.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&M), guard: &Guard) -> u64 {
        let _occ = self.writer.lock();
        for (_, _, node) in Self::live(self.slots(guard)) {
            f(&node.child);
        }
        self.version.load(Ordering::Relaxed)
    }

    pub(crate) fn len(&self) -> usize {
        self.writer.lock().live
    }
}

impl<K, M> Drop for Table<K, M> {
    fn drop(&mut self) {
        let slots = *self.current.get_mut();
        // SAFETY: `&mut self`: no reader or writer can hold a reference into
        // the table, and every guard that could was dropped before. The
        // current array and the nodes it links are owned by the table
        // (retired ones are not linked from it); each is freed once.
        unsafe {
            for slot in (*slots).slots.iter() {
                let p = slot.load(Ordering::Relaxed);
                if is_node(p) {
                    drop(Box::from_raw(p));
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
    child: *const M,
    _guard: Guard,
    _family: PhantomData<&'a M>,
}

impl<M> Deref for Child<'_, M> {
    type Target = M;

    #[inline]
    fn deref(&self) -> &M {
        // SAFETY: `child` points into a node of the table found while
        // `_guard` was pinned; a node is only freed through the epoch after
        // every guard pinned before its removal is dropped, and `_guard`
        // lives as long as `self`. The table itself outlives `'a`.
        unsafe { &*self.child }
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

    #[test]
    fn insert_get_remove_grow_and_sweep() {
        let t: Table<u32, u32> = Table::new();
        let g = pin();
        for k in 0..1000u32 {
            let (v, new) = t.get_or_insert(u64::from(k % 7), |v, _| *v == k, || (k, k), &g);
            assert!(new);
            assert_eq!(*v, k);
        }
        assert_eq!(t.len(), 1000);
        for k in 0..1000u32 {
            assert_eq!(t.get(u64::from(k % 7), |v, _| *v == k, &g), Some(&k));
        }
        assert_eq!(t.remove_where(|v, _| v % 2 == 0, &g), 500);
        for k in 0..1000u32 {
            assert_eq!(
                t.get(u64::from(k % 7), |v, _| *v == k, &g).is_some(),
                k % 2 == 1
            );
        }
        // Churn through tombstones: the table must not fill up.
        for round in 0..50u32 {
            let k = 10_000 + round;
            t.get_or_insert(u64::from(k), |v, _| *v == k, || (k, k), &g);
            assert!(t.remove_one(u64::from(k), |v, _| *v == k, &g));
            assert!(!t.remove_one(u64::from(k), |v, _| *v == k, &g));
        }
        assert_eq!(t.len(), 500);
        t.clear(&g);
        assert_eq!(t.len(), 0);
        assert!(t.get(1, |v, _| *v == 1, &g).is_none());
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
            let t: Table<u64, Tracked> = Table::new();
            let g = pin();
            for k in 0..100u64 {
                t.get_or_insert(k, |_, _| false, || (k, Tracked(drops.clone())), &g);
            }
            t.remove_where(|k, _| *k < 10, &g);
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
        let t: Arc<Table<u64, u64>> = Arc::new(Table::new());
        let g = pin();
        for k in 0..64u64 {
            t.get_or_insert(k, |v, _| *v == k, || (k, k), &g);
        }
        drop(g);
        std::thread::scope(|s| {
            for _ in 0..2 {
                let t = t.clone();
                s.spawn(move || {
                    for i in 0..200_000u64 {
                        let k = i % 64;
                        let g = pin();
                        // Keys below 64 are never removed: always found.
                        assert_eq!(t.get(k, |v, _| *v == k, &g), Some(&k));
                    }
                });
            }
            let t = t.clone();
            s.spawn(move || {
                for i in 0..20_000u64 {
                    let k = 1_000 + i % 500;
                    let g = pin();
                    t.get_or_insert(k, |v, _| *v == k, || (k, k), &g);
                    if i % 3 == 0 {
                        t.remove_one(k, |v, _| *v == k, &g);
                    }
                }
            });
        });
    }
}
