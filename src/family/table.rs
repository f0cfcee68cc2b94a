//! The children of a family: an open-addressing hash table whose lookups
//! take no lock, no reference count and no allocation.
//!
//! Writers (insert, remove, clear) are serialised by a mutex. Readers load
//! the current slot array and probe it with atomic loads. A slot holds
//! null (free: ends a probe), a tombstone (removed: probing goes on) or a
//! node; a node is published with a release store and never changes until
//! it is retired. Retired nodes and replaced slot arrays are freed through
//! epoch-based reclamation (`crossbeam-epoch`), so a reader pinned before a
//! removal can finish with what it found. The crate has its own epoch
//! collector; a pin writes only this thread's epoch slot (one locked
//! instruction), and every 128th pin also collects garbage.
//!
//! Why `unsafe` (STYLE rule 11): measured with `cargo bench --bench family`
//! on the 2-core dev machine, a `parking_lot::RwLock<hashbrown::HashTable>`
//! returning `Arc` clones took 23 ns per lookup + inc on 1 thread and
//! 118 ns on 2 (a lock word and a reference count shared by both threads);
//! `papaya` (safe API, guard-bound references) took 29 ns on 1 thread.
//! This table takes about 18 ns and 35-58 ns. All `unsafe` of the crate's
//! families is in this file.
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::LazyLock;

use crossbeam_epoch::{self as epoch, Atomic, Collector, Guard, LocalHandle, Owned, Shared};
use parking_lot::Mutex;

/// The crate's own epoch collector. A [`Child`] held for long delays only
/// the reclamation of removed children, never that of other crates using
/// crossbeam's default collector.
static COLLECTOR: LazyLock<Collector> = LazyLock::new(Collector::new);

thread_local! {
    static HANDLE: LocalHandle = COLLECTOR.register();
}

/// Pins the current thread in the crate's epoch.
#[inline]
pub(crate) fn pin() -> Guard {
    // During thread teardown the thread-local may be gone: register anew.
    HANDLE
        .try_with(LocalHandle::pin)
        .unwrap_or_else(|_| COLLECTOR.register().pin())
}

/// Tag of a slot whose node was removed.
const TOMBSTONE: usize = 1;

/// A child with its hash and its key (the label values), kept in the
/// node so a probe compares values without going through the child.
struct Node<K, M> {
    hash: u64,
    key: K,
    child: M,
}

struct Slots<K, M> {
    mask: usize,
    slots: Box<[Atomic<Node<K, M>>]>,
}

impl<K, M> Slots<K, M> {
    fn with_capacity(cap: usize) -> Self {
        debug_assert!(cap.is_power_of_two());
        Self {
            mask: cap - 1,
            slots: (0..cap).map(|_| Atomic::null()).collect(),
        }
    }
}

/// A slot holding a node, the node's pointer and the node.
type LiveSlot<'g, K, M> = (
    &'g Atomic<Node<K, M>>,
    Shared<'g, Node<K, M>>,
    &'g Node<K, M>,
);

/// Counts kept by the writer, to decide when to grow or clean up.
struct Occupancy {
    live: usize,
    tombstones: usize,
}

pub(crate) struct Table<K, M> {
    current: Atomic<Slots<K, M>>,
    writer: Mutex<Occupancy>,
    /// Bumped by every insert and removal, so a sorted copy of the
    /// children can tell it is stale.
    version: AtomicU64,
}

// Send + 'static: retired nodes are dropped by whichever thread collects
// the epoch's garbage, at some later time.
impl<K: Send + 'static, M: Send + 'static> Table<K, M> {
    pub(crate) fn new() -> Self {
        Self {
            current: Atomic::new(Slots::with_capacity(8)),
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

    /// The child with `hash` for which `eq` holds, created by `make` if
    /// there is none, as a [`Child`] that keeps it alive while borrowed.
    #[inline]
    pub(crate) fn child<'a>(
        &'a self,
        hash: u64,
        eq: impl Fn(&K) -> bool,
        make: impl FnOnce() -> (K, M),
    ) -> Child<'a, M> {
        let guard = pin();
        let child: *const M = match self.get(hash, &eq, &guard) {
            Some(found) => found,
            None => self.get_or_insert(hash, &eq, make, &guard).0,
        };
        Child {
            child,
            _guard: guard,
            _family: PhantomData,
        }
    }

    fn slots<'g>(&'g self, guard: &'g Guard) -> &'g Slots<K, M> {
        // Acquire: pairs with the Release store that published the array.
        let s = self.current.load(Ordering::Acquire, guard);
        // SAFETY: `current` is never null (set in `new`, replaced only by
        // non-null arrays), and a replaced array is retired through the
        // epoch, so it stays valid while `guard` is pinned.
        unsafe { s.deref() }
    }

    /// Finds the child with `hash` for which `eq` holds.
    #[inline]
    pub(crate) fn get<'g>(
        &'g self,
        hash: u64,
        eq: impl Fn(&K) -> bool,
        guard: &'g Guard,
    ) -> Option<&'g M> {
        let (_, node) = Self::find(self.slots(guard), hash, eq, guard)?;
        // SAFETY: `find` returns only non-null nodes reached under `guard`,
        // valid while it is pinned (see `find`); `&'g self` keeps the table,
        // whose `Drop` frees nodes at once, alive as long.
        Some(unsafe { &node.deref().child })
    }

    /// Probes `slots` for the node with `hash` for which `eq` holds: its
    /// slot index and pointer.
    #[inline]
    fn find<'g>(
        slots: &Slots<K, M>,
        hash: u64,
        eq: impl Fn(&K) -> bool,
        guard: &'g Guard,
    ) -> Option<(usize, Shared<'g, Node<K, M>>)> {
        let mut i = hash as usize & slots.mask;
        for _ in 0..slots.slots.len() {
            // Acquire: pairs with the Release store that published the node.
            let p = slots.slots[i].load(Ordering::Acquire, guard);
            if p.tag() != TOMBSTONE {
                // SAFETY: `slots` was loaded under `guard`, so it was the
                // current array at some point after the pin; every node it
                // links was therefore unlinked from the current array, and
                // retired, only after the pin, and the epoch keeps it until
                // `guard` unpins. (A removed node may stay linked in older
                // arrays; those were retired after the pin too.)
                match unsafe { p.as_ref() } {
                    None => return None,
                    Some(node) if node.hash == hash && eq(&node.key) => return Some((i, p)),
                    Some(_) => {}
                }
            }
            i = (i + 1) & slots.mask;
        }
        None
    }

    /// Every slot of `slots` that holds a node, with the node's pointer
    /// and the node.
    fn live<'g>(
        slots: &'g Slots<K, M>,
        guard: &'g Guard,
    ) -> impl Iterator<Item = LiveSlot<'g, K, M>> {
        slots.slots.iter().filter_map(move |slot| {
            // Acquire: pairs with the Release store that published the node.
            let p = slot.load(Ordering::Acquire, guard);
            if p.tag() == TOMBSTONE {
                return None;
            }
            // SAFETY: as in `find`: `slots` was reached under `guard`, so
            // its nodes are valid while `guard` is pinned.
            let node = unsafe { p.as_ref() }?;
            Some((slot, p, node))
        })
    }

    /// Returns the child with `hash` and `eq`, inserting `make()` if there
    /// is none; the flag says whether it was inserted.
    #[cold]
    pub(crate) fn get_or_insert<'g>(
        &'g self,
        hash: u64,
        eq: impl Fn(&K) -> bool,
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
        let node = Owned::new(Node { hash, key, child }).into_shared(guard);
        let slots = self.slots(guard);
        let mut i = hash as usize & slots.mask;
        loop {
            let p = slots.slots[i].load(Ordering::Relaxed, guard);
            if p.is_null() {
                if p.tag() == TOMBSTONE {
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
        // SAFETY: just stored; retired only through the epoch.
        (unsafe { &node.deref().child }, true)
    }

    /// Copies the live nodes into a fresh array of `cap` slots and retires
    /// the old array (not the nodes, which move over). Writer lock held.
    fn rebuild(&self, cap: usize, guard: &Guard) {
        let old = self.current.load(Ordering::Acquire, guard);
        // SAFETY: as in `slots`.
        let old_ref = unsafe { old.deref() };
        let fresh = Slots::with_capacity(cap);
        for (_, p, node) in Self::live(old_ref, guard) {
            let mut i = node.hash as usize & fresh.mask;
            while !fresh.slots[i].load(Ordering::Relaxed, guard).is_null() {
                i = (i + 1) & fresh.mask;
            }
            fresh.slots[i].store(p, Ordering::Relaxed);
        }
        // Release: readers of the new array see its slots filled.
        self.current.store(Owned::new(fresh), Ordering::Release);
        // SAFETY: the old array is unlinked; readers pinned before this may
        // still probe it, which the epoch waits for. Dropping it frees only
        // the slot array, not the nodes, which the new array holds.
        unsafe { guard.defer_destroy(old) };
    }

    /// Removes the child with `hash` for which `eq` holds; whether there was
    /// one.
    pub(crate) fn remove_one(&self, hash: u64, eq: impl Fn(&K) -> bool, guard: &Guard) -> bool {
        let mut occ = self.writer.lock();
        let slots = self.slots(guard);
        let Some((i, node)) = Self::find(slots, hash, eq, guard) else {
            return false;
        };
        slots.slots[i].store(Shared::null().with_tag(TOMBSTONE), Ordering::Release);
        // SAFETY: as in `remove_where`.
        unsafe { guard.defer_destroy(node) };
        occ.live -= 1;
        occ.tombstones += 1;
        self.bump();
        true
    }

    /// Removes every child for which `remove` holds; how many.
    pub(crate) fn remove_where(&self, remove: impl Fn(&K) -> bool, guard: &Guard) -> usize {
        let mut occ = self.writer.lock();
        let slots = self.slots(guard);
        let mut removed = 0;
        for (slot, p, node) in Self::live(slots, guard) {
            if remove(&node.key) {
                slot.store(Shared::null().with_tag(TOMBSTONE), Ordering::Release);
                // SAFETY: unlinked above; readers that found it before are
                // pinned, and the epoch waits for them.
                unsafe { guard.defer_destroy(p) };
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
        let old = self
            .current
            .swap(Owned::new(Slots::with_capacity(8)), Ordering::AcqRel, guard);
        // SAFETY: as in `rebuild`.
        let old_ref = unsafe { old.deref() };
        for (_, p, _) in Self::live(old_ref, guard) {
            // SAFETY: the whole array is unlinked; the epoch waits for
            // readers pinned before.
            unsafe { guard.defer_destroy(p) };
        }
        // SAFETY: as in `rebuild`.
        unsafe { guard.defer_destroy(old) };
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
        for (_, _, node) in Self::live(self.slots(guard), guard) {
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
        // SAFETY: `&mut self`: no reader or writer can hold a reference into
        // the table, and every guard that could was dropped before.
        unsafe {
            let guard = epoch::unprotected();
            let slots = self.current.load(Ordering::Relaxed, guard);
            for slot in slots.deref().slots.iter() {
                let p = slot.load(Ordering::Relaxed, guard);
                if p.tag() != TOMBSTONE && !p.is_null() {
                    drop(p.into_owned());
                }
            }
            drop(slots.into_owned());
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
            let (v, new) = t.get_or_insert(u64::from(k % 7), |v| *v == k, || (k, k), &g);
            assert!(new);
            assert_eq!(*v, k);
        }
        assert_eq!(t.len(), 1000);
        for k in 0..1000u32 {
            assert_eq!(t.get(u64::from(k % 7), |v| *v == k, &g), Some(&k));
        }
        assert_eq!(t.remove_where(|v| v % 2 == 0, &g), 500);
        for k in 0..1000u32 {
            assert_eq!(
                t.get(u64::from(k % 7), |v| *v == k, &g).is_some(),
                k % 2 == 1
            );
        }
        // Churn through tombstones: the table must not fill up.
        for round in 0..50u32 {
            let k = 10_000 + round;
            t.get_or_insert(u64::from(k), |v| *v == k, || (k, k), &g);
            assert!(t.remove_one(u64::from(k), |v| *v == k, &g));
            assert!(!t.remove_one(u64::from(k), |v| *v == k, &g));
        }
        assert_eq!(t.len(), 500);
        t.clear(&g);
        assert_eq!(t.len(), 0);
        assert!(t.get(1, |v| *v == 1, &g).is_none());
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
                t.get_or_insert(k, |_| false, || (k, Tracked(drops.clone())), &g);
            }
            t.remove_where(|k| *k < 10, &g);
            drop(g);
        }
        // Removed ones go through the epoch: flush it.
        for _ in 0..256 {
            pin().flush();
        }
        assert_eq!(drops.load(O::Relaxed), 100);
    }

    #[test]
    fn readers_race_writers_without_losing_live_children() {
        let t: Arc<Table<u64, u64>> = Arc::new(Table::new());
        let g = pin();
        for k in 0..64u64 {
            t.get_or_insert(k, |v| *v == k, || (k, k), &g);
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
                        assert_eq!(t.get(k, |v| *v == k, &g), Some(&k));
                    }
                });
            }
            let t = t.clone();
            s.spawn(move || {
                for i in 0..20_000u64 {
                    let k = 1_000 + i % 500;
                    let g = pin();
                    t.get_or_insert(k, |v| *v == k, || (k, k), &g);
                    if i % 3 == 0 {
                        t.remove_one(k, |v| *v == k, &g);
                    }
                }
            });
        });
    }
}
