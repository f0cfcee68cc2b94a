//! The lock-free state behind a [`Histogram`](super::Histogram).
//!
//! An observation is one locked instruction in the common case. The cells
//! form shards, each a few cache lines holding a lock word, the sum and
//! one count per bucket. An observer takes a shard's lock with one
//! compare-and-swap, and never waits for it: holding the lock, it adds to
//! the sum and the bucket with plain loads and stores, then releases it
//! with a plain store. If the lock is taken, the observer records this
//! observation in the spill instead.
//!
//! A histogram starts with one shard, which every thread uses. The first
//! time two observers collide on it, the histogram grows one shard per
//! CPU (a power of two, 2 to 8), and from then on each thread uses its
//! home shard: a slot handed out round-robin when the thread first
//! observes, modulo the shard count. A thread that finds its home shard
//! taken by another observer moves home to the next shard. A collector
//! takes each shard's lock in turn while it reads it; an observer that
//! meets a collector just spills.
//!
//! The spill is client_golang's hot/cold scheme, so it never waits either:
//! a started count picks the hot half, the sum is a compare-and-swap, and
//! the bucket increment marks the observation complete; a collector flips
//! the halves, waits for observations started on the now-cold half to
//! finish, reads it and folds it into the new hot half. It costs three
//! locked instructions, which is why it is only the fallback.
//!
//! A snapshot is consistent: the spill's snapshot is, and each shard is
//! read under its lock, so every observation is counted in the sum, its
//! bucket and the count together or not at all. One collector at a time
//! reads the spill (the `collect` mutex), which keeps its protocol simple;
//! until a spill exists, collectors only take the shards' locks, and a
//! gather of many histograms saves the mutex's two locked instructions
//! in each (1,000 histograms: 100 -> 87 us, median of 100 alternating
//! slots).
//!
//! Why shards and not three atomics as client_golang: an observe was
//! three locked instructions (the started count, the sum, the bucket),
//! 7.5 ns on the dev VM when quiet; one shard's lock makes it one.

use std::cell::Cell;
use std::marker::PhantomData;

use super::Buckets;
use crate::snapshot::{Bucket, Exemplar};
use crate::sync::{backoff, AtomicPtr, AtomicU64, Mutex, Ordering};

/// Cell indices within a shard.
const LOCK: usize = 0;
const SUM: usize = 1;
/// The first bucket count; the last is `+Inf`.
const FIRST: usize = 2;

/// Values of a shard's lock word.
const FREE: u64 = 0;
const OBSERVER: u64 = 1;
const COLLECTOR: u64 = 2;

/// Set in [`Spill::hot`] when the second half is hot; the other 63 bits
/// count observations started.
const HOT_BIT: u64 = 1 << 63;

/// Lock-free histogram state: the bucket bounds, the shards and the spill.
pub struct HistogramCore {
    pub(super) buckets: Buckets,
    /// The shard all threads use until two observers collide on it.
    first: Box<[Line]>,
    /// [`shard_count`] shards of `first.len()` lines each, back to back,
    /// once observers collided on `first`.
    more: Lazy<Box<[Line]>>,
    /// Observations whose shard was taken; allocated at first use.
    spill: Lazy<Spill>,
    /// One collector at a time reads the spill.
    collect: Mutex<()>,
}

impl std::fmt::Debug for HistogramCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistogramCore")
            .field("buckets", &self.buckets)
            .finish_non_exhaustive()
    }
}

impl HistogramCore {
    pub(super) fn new(buckets: Buckets) -> Self {
        let lines = (FIRST + buckets.len() + 1).div_ceil(8);
        let core = Self {
            buckets,
            first: lines_of(lines),
            more: Lazy::new(),
            spill: Lazy::new(),
            collect: Mutex::new(()),
        };
        // Loom tracks the creation of its atomics: making the spill here,
        // before the model's threads start, orders it before every use.
        #[cfg(promclient_loom)]
        core.spill();
        core
    }

    #[cold]
    fn spill(&self) -> &Spill {
        self.spill
            .get_or_init(|| Spill::new(self.buckets.len() + 2))
    }

    /// The shards in use: `first` alone, or the grown ones.
    fn shards(&self) -> impl Iterator<Item = Shard<'_>> {
        let per = self.first.len();
        let grown = self.more.get().map(|m| m.chunks(per)).into_iter().flatten();
        std::iter::once(&self.first[..]).chain(grown).map(Shard)
    }

    /// The shard this thread observes into.
    #[inline(always)]
    fn shard(&self) -> Shard<'_> {
        match self.more.get() {
            None => Shard(&self.first),
            Some(more) => {
                let per = self.first.len();
                // The shard count is a power of two: the mask is the modulo.
                let s = home_slot() & (more.len() / per - 1);
                Shard(&more[s * per..][..per])
            }
        }
    }

    /// Always inlined: called, it measured 6.8 ns against 5.9 ns inlined
    /// (`ho` harness, alternating slots, minimum of 100), as the compiler
    /// judged it too big to inline on its own.
    #[inline(always)]
    pub(super) fn observe(&self, v: f64) {
        let i = self.buckets.index(v);
        let shard = self.shard();
        match shard.try_lock(OBSERVER) {
            Ok(()) => {
                // Relaxed: only the lock holder touches these cells; the
                // lock's Acquire and Release order them for the next one.
                let sum = shard.cell(SUM);
                sum.store(
                    (f64::from_bits(sum.load(Ordering::Relaxed)) + v).to_bits(),
                    Ordering::Relaxed,
                );
                let count = shard.cell(FIRST + i);
                count.store(count.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                shard.unlock();
            }
            Err(holder) => self.observe_busy(v, i, holder),
        }
    }

    /// The shard was taken: by another observer, grow the shards or move
    /// home; either way, spill this observation.
    #[cold]
    #[inline(never)]
    fn observe_busy(&self, v: f64, i: usize, holder: u64) {
        if holder == OBSERVER {
            if self.more.get().is_some() {
                move_home();
            } else {
                self.grow();
            }
        }
        self.spill().observe(v, i);
    }

    /// Allocates the per-CPU shards. Not under loom: its model covers the
    /// first shard and the spill, and more shards would only multiply the
    /// interleavings it explores.
    fn grow(&self) {
        #[cfg(not(promclient_loom))]
        self.more
            .get_or_init(|| lines_of(self.first.len() * shard_count()));
    }

    /// Takes a consistent snapshot into `out`, one entry per finite bound
    /// in order: sets each entry's cumulative count and bound and clears
    /// its exemplar. Returns `(count, sum)`; the count is the `+Inf`
    /// bucket's.
    ///
    /// The first shard sets the entries, in the pass that reads it: no
    /// zeroing first and no second pass to accumulate. Writing the value of
    /// a histogram with the default buckets took 571 instructions with
    /// those passes and 320 without (callgrind). Further shards and the
    /// spill add their own running sums: cumulative counts add up as the
    /// counts do.
    pub(super) fn snapshot(&self, out: &mut [Bucket]) -> (u64, f64) {
        // The mutex guards the spill's protocol only: shards are read under
        // their own locks, so without a spill a collector need not take it.
        // A spill made after this check holds observations that complete
        // after this snapshot began; the next one reads them.
        let spill = self.spill.get();
        let _one_collector = spill.map(|_| self.collect.lock());
        let bounds = self.buckets.bounds();
        debug_assert_eq!(out.len(), bounds.len());
        let first = Shard(&self.first);
        first.lock();
        // Relaxed: under the lock (see `observe`).
        let cells = first.counts(bounds.len() + 1);
        let mut acc = 0;
        for ((b, c), &bound) in out.iter_mut().zip(cells).zip(bounds) {
            acc += c.load(Ordering::Relaxed);
            b.cumulative_count = acc;
            b.upper_bound = bound;
            if b.exemplar.is_some() {
                clear(&mut b.exemplar);
            }
        }
        let mut count = acc + cells[bounds.len()].load(Ordering::Relaxed);
        let mut sum = f64::from_bits(first.cell(SUM).load(Ordering::Relaxed));
        first.unlock();
        if let Some(more) = self.more.get() {
            for lines in more.chunks_exact(self.first.len()) {
                let shard = Shard(lines);
                shard.lock();
                let mut add = running_sum(out);
                for (i, c) in shard.counts(bounds.len() + 1).iter().enumerate() {
                    let n = c.load(Ordering::Relaxed);
                    count += n;
                    add(i, n);
                }
                sum += f64::from_bits(shard.cell(SUM).load(Ordering::Relaxed));
                shard.unlock();
            }
        }
        if let Some(spill) = spill {
            let (c, s) = spill.snapshot(&mut running_sum(out));
            count += c;
            sum += s;
        }
        (count, sum)
    }

    /// Observations so far, without locking: exact when no observation is
    /// in flight.
    pub(super) fn count(&self) -> u64 {
        let buckets = self.buckets.len() + 1;
        // Relaxed: an approximate recent count.
        let sharded: u64 = self
            .shards()
            .flat_map(|s| s.counts(buckets).iter().map(|c| c.load(Ordering::Relaxed)))
            .sum();
        let spilled = self
            .spill
            .get()
            .map_or(0, |s| s.hot.load(Ordering::Relaxed) & !HOT_BIT);
        sharded + spilled
    }
}

/// How many shards a histogram spreads over: about one per CPU, a power of
/// two from 2 to 8. More would cost memory in every histogram for little:
/// threads that collide move on to another shard.
#[cfg(not(promclient_loom))]
fn shard_count() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .next_power_of_two()
            .clamp(2, 8)
    })
}

thread_local! {
    /// This thread's home shard, in every histogram (modulo the shard
    /// count); `usize::MAX` until its first observation.
    static HOME: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// Hands out home slots round-robin, so that threads which start together
/// start on different shards.
static NEXT_HOME: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[inline]
fn home_slot() -> usize {
    match HOME.try_with(Cell::get) {
        Ok(slot) if slot != usize::MAX => slot,
        _ => first_home(),
    }
}

#[cold]
fn first_home() -> usize {
    // Relaxed: any distinct-enough number will do.
    let slot = NEXT_HOME.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & (usize::MAX >> 1);
    let _ = HOME.try_with(|h| h.set(slot));
    slot
}

#[cold]
fn move_home() {
    // A thread that so far only used the first shard has no home yet: give
    // it the next round-robin one rather than moving it from "none" to 0,
    // where every such thread would pile up.
    let _ = HOME.try_with(|h| match h.get() {
        usize::MAX => h.set(first_home()),
        slot => h.set(slot.wrapping_add(1) & (usize::MAX >> 1)),
    });
}

/// A cache line of cells: shards never share one.
#[repr(C, align(64))]
struct Line([AtomicU64; 8]);

// `cells` relies on it: no padding inside or after a line's cells (loom's
// atomics are bigger than 8 bytes, but a multiple of 8, so eight fill
// whole cache lines there too).
const _: () = assert!(std::mem::size_of::<Line>() == 8 * std::mem::size_of::<AtomicU64>());

/// The cells of `lines`, in order, as one slice: indexing a cell is then
/// one bounds check instead of two plus the split into line and lane,
/// which cost a snapshot 89 instructions over 14 cells (callgrind; an
/// iterator flattening the lines cost more).
#[allow(unsafe_code)]
fn cells(lines: &[Line]) -> &[AtomicU64] {
    // SAFETY: a `Line` is exactly its eight `AtomicU64` cells (`repr(C)`
    // puts them at offset 0, the assertion above rules out padding after
    // them, and an array has none between elements), so
    // `lines` is `8 * lines.len()` initialised, contiguous cells, aligned
    // for `AtomicU64` since a line is aligned more strictly. The slice
    // borrows `lines` for the same lifetime; atomics are shared through
    // `&` anyway.
    unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<AtomicU64>(), lines.len() * 8) }
}

fn lines_of(n: usize) -> Box<[Line]> {
    (0..n)
        .map(|_| Line(std::array::from_fn(|_| AtomicU64::new(0))))
        .collect()
}

/// One shard's lines: cells [`LOCK`], [`SUM`], then a count per bucket
/// from [`FIRST`], `+Inf` last.
#[derive(Clone, Copy)]
struct Shard<'a>(&'a [Line]);

impl<'a> Shard<'a> {
    #[inline]
    fn cell(self, k: usize) -> &'a AtomicU64 {
        &cells(self.0)[k]
    }

    /// The `buckets` count cells, in order.
    fn counts(self, buckets: usize) -> &'a [AtomicU64] {
        &cells(self.0)[FIRST..][..buckets]
    }

    /// One attempt, no waiting; on failure, who holds the lock.
    #[inline]
    fn try_lock(self, who: u64) -> Result<(), u64> {
        // Acquire: pairs with the Release unlock of the last holder, so its
        // writes to the cells are visible to this one.
        self.cell(LOCK)
            .compare_exchange(FREE, who, Ordering::Acquire, Ordering::Relaxed)
            .map(drop)
    }

    /// Waits for the lock; only collectors do, and observers hold it for
    /// a few instructions.
    fn lock(self) {
        let mut spins = 0;
        while self.try_lock(COLLECTOR).is_err() {
            backoff(&mut spins);
        }
    }

    #[inline]
    fn unlock(self) {
        // Release: publishes the holder's writes to the next holder.
        self.cell(LOCK).store(FREE, Ordering::Release);
    }
}

/// A value built at first use by whichever thread needs it, without
/// waiting: racing builders each build one, one of them is published and
/// the others drop theirs. (`OnceLock` makes the others wait for the
/// first, which would let an `observe` block.) Only for values that are
/// `Send + Sync`: one thread builds what others read and another drops.
struct Lazy<T: Send + Sync> {
    ptr: AtomicPtr<T>,
    _owns: PhantomData<Box<T>>,
}

#[allow(unsafe_code)]
impl<T: Send + Sync> Lazy<T> {
    fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(std::ptr::null_mut()),
            _owns: PhantomData,
        }
    }

    #[inline]
    fn get(&self) -> Option<&T> {
        // Acquire: pairs with the publishing compare-and-swap, so the
        // value's construction is visible.
        let p = self.ptr.load(Ordering::Acquire);
        // SAFETY: non-null only once it points to a value leaked from a
        // `Box` by `get_or_init`, freed only by `drop`, which takes `&mut
        // self` and so outlives every `&T` handed out.
        unsafe { p.as_ref() }
    }

    #[cold]
    fn get_or_init(&self, make: impl FnOnce() -> T) -> &T {
        if let Some(v) = self.get() {
            return v;
        }
        let new = Box::into_raw(Box::new(make()));
        // AcqRel: Release publishes the new value; Acquire, on failure,
        // sees the winner's.
        match self.ptr.compare_exchange(
            std::ptr::null_mut(),
            new,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: just published; valid until `drop` (see `get`).
            Ok(_) => unsafe { &*new },
            Err(winner) => {
                // SAFETY: `new` came from `Box::into_raw` above and was
                // never published, so this is its only owner.
                drop(unsafe { Box::from_raw(new) });
                // SAFETY: the winner's published value (see `get`).
                unsafe { &*winner }
            }
        }
    }
}

#[allow(unsafe_code)]
impl<T: Send + Sync> Drop for Lazy<T> {
    fn drop(&mut self) {
        let p = self.ptr.swap(std::ptr::null_mut(), Ordering::Acquire);
        if !p.is_null() {
            // SAFETY: published by `get_or_init` from `Box::into_raw`, and
            // unreachable from now on: `&mut self` means no `&T` is alive.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

/// client_golang's hot/cold histogram, for observations whose shard was
/// busy.
///
/// `cells` holds two halves of `stride = bounds + 2` cells each: the sum's
/// bits, then one non-cumulative count per bucket, the last for `+Inf`.
struct Spill {
    hot: AtomicU64,
    cells: Box<[AtomicU64]>,
}

impl Spill {
    fn new(stride: usize) -> Self {
        Self {
            hot: AtomicU64::new(0),
            cells: (0..2 * stride).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn stride(&self) -> usize {
        self.cells.len() / 2
    }

    fn observe(&self, v: f64, i: usize) {
        // Acquire: pairs with the collector's flip, so the zeroing of the
        // half we are about to write is visible to us.
        let seq = self.hot.fetch_add(1, Ordering::Acquire);
        let stride = self.stride();
        let half = &self.cells[(seq >> 63) as usize * stride..][..stride];
        // Relaxed: the sum is published by the Release bucket increment.
        add_float(&half[0], v);
        // Release: the collector sees this observation complete (bucket
        // counts add up to the started count) only after the sum includes it.
        half[1 + i].fetch_add(1, Ordering::Release);
    }

    /// Passes each bucket's count in the cold half to `add(index, count)`,
    /// in order (`+Inf` last), and returns `(count, sum)` of the
    /// observations there; the caller holds the collect mutex.
    fn snapshot(&self, add: &mut impl FnMut(usize, u64)) -> (u64, f64) {
        let stride = self.stride();
        // AcqRel: Release publishes the zeroing of the cold half (done at
        // the end of the previous collect) to observers that switch to it.
        let seq = self.hot.fetch_add(HOT_BIT, Ordering::AcqRel);
        let started = seq & !HOT_BIT;
        let cold_idx = (seq >> 63) as usize;
        let cold = &self.cells[cold_idx * stride..][..stride];
        let hot = &self.cells[(1 - cold_idx) * stride..][..stride];
        // Wait for observations that picked the cold half to finish. They
        // are lock-free and finish in a few steps unless descheduled, so
        // this only spins while one is mid-flight.
        let mut spins = 0;
        loop {
            // Acquire: pairs with the observers' Release bucket increments.
            let done: u64 = cold[1..].iter().map(|c| c.load(Ordering::Acquire)).sum();
            if done == started {
                break;
            }
            backoff(&mut spins);
        }
        // No observer writes the cold half any more: plain loads and stores
        // suffice (Relaxed: ordered after the Acquire loads above, and for
        // the next collector by the collect mutex), and zero cells, the
        // common case, cost no write at all.
        let sum_bits = cold[0].load(Ordering::Relaxed);
        let sum = f64::from_bits(sum_bits);
        if sum_bits != 0 {
            cold[0].store(0, Ordering::Relaxed);
        }
        for (i, c) in cold[1..].iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            add(i, n);
            if n > 0 {
                c.store(0, Ordering::Relaxed);
                hot[1 + i].fetch_add(n, Ordering::Relaxed);
            }
        }
        if sum_bits != 0 {
            // Relaxed: the collector that next reads it is ordered after
            // this one by the collect mutex.
            add_float(&hot[0], sum);
        }
        (started, sum)
    }
}

/// Drops a reused snapshot entry's exemplar (histograms record none): out
/// of line, so the loop that reads a shard keeps its values in registers.
#[cold]
#[inline(never)]
fn clear(exemplar: &mut Option<Box<Exemplar>>) {
    *exemplar = None;
}

/// Adds the counts it is given as `(index, count)`, in bucket order
/// (`+Inf` last), to the cumulative counts in `out`: it keeps their running
/// sum.
fn running_sum(out: &mut [Bucket]) -> impl FnMut(usize, u64) + '_ {
    let mut acc = 0;
    move |i, n| {
        acc += n;
        if let Some(b) = out.get_mut(i) {
            b.cumulative_count += acc;
        }
    }
}

/// Adds `v` to the float whose bits `cell` holds, with a relaxed
/// compare-and-swap loop: callers order it by other means.
fn add_float(cell: &AtomicU64, v: f64) {
    let mut old = cell.load(Ordering::Relaxed);
    loop {
        let new = (f64::from_bits(old) + v).to_bits();
        match cell.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break,
            Err(cur) => old = cur,
        }
    }
}

/// Count and sum of a snapshot, and the counts per bucket (not
/// cumulative, `+Inf` last), after checking the snapshot's bounds.
#[cfg(test)]
fn snap(core: &HistogramCore) -> (u64, f64, Vec<u64>) {
    let mut out = vec![Bucket::default(); core.buckets.len()];
    let (count, sum) = core.snapshot(&mut out);
    let bounds: Vec<f64> = out.iter().map(|b| b.upper_bound).collect();
    assert_eq!(bounds, core.buckets.bounds());
    let mut counts = Vec::new();
    let mut below = 0;
    for cumulative in out.iter().map(|b| b.cumulative_count).chain([count]) {
        counts.push(
            cumulative
                .checked_sub(below)
                .expect("cumulative counts never fall"),
        );
        below = cumulative;
    }
    (count, sum, counts)
}

#[cfg(all(test, not(promclient_loom)))]
mod tests {
    use super::*;

    #[test]
    fn bucket_index_has_le_semantics() {
        let core = HistogramCore::new(Buckets::new(&[1.0, 2.0, 5.0]));
        assert_eq!(core.buckets.index(0.5), 0);
        assert_eq!(core.buckets.index(1.0), 0);
        assert_eq!(core.buckets.index(1.5), 1);
        assert_eq!(core.buckets.index(5.0), 2);
        assert_eq!(core.buckets.index(5.1), 3);
        assert_eq!(core.buckets.index(f64::NAN), 3);
        let many: Vec<f64> = (0..100).map(f64::from).collect();
        let big = HistogramCore::new(Buckets::new(&many));
        assert_eq!(big.buckets.index(-1.0), 0);
        assert_eq!(big.buckets.index(0.0), 0);
        assert_eq!(big.buckets.index(0.5), 1);
        assert_eq!(big.buckets.index(99.0), 99);
        assert_eq!(big.buckets.index(99.5), 100);
        assert_eq!(big.buckets.index(f64::NAN), 100);
    }

    #[test]
    fn one_thread_uses_one_shard_and_no_spill() {
        let core = HistogramCore::new(Buckets::new(&[1.0, 2.0]));
        for v in [0.5, 1.5, 9.0] {
            core.observe(v);
        }
        assert!(core.more.get().is_none());
        assert!(core.spill.get().is_none());
        assert_eq!(snap(&core), (3, 11.0, vec![1, 1, 1]));
    }

    #[test]
    fn observations_meeting_a_collector_spill_and_still_add_up() {
        let core = HistogramCore::new(Buckets::new(&[1.0]));
        let first = Shard(&core.first);
        for round in 1..=5u64 {
            core.observe(0.5);
            // As if a collector were reading the shard.
            assert_eq!(first.try_lock(COLLECTOR), Ok(()));
            core.observe(3.0);
            first.unlock();
            assert_eq!(
                snap(&core),
                (2 * round, 3.5 * round as f64, vec![round, round])
            );
            assert_eq!(core.count(), 2 * round);
        }
        assert!(core.spill.get().is_some(), "the spill was used");
        assert!(core.more.get().is_none(), "a collector is no collision");
    }

    /// Two collectors against three observers, the spill made halfway
    /// through: collectors take the collect mutex only once it exists, and
    /// every snapshot still adds up.
    #[test]
    fn two_collectors_add_up_before_and_after_the_spill_appears() {
        const OBSERVERS: u64 = 3;
        const ROUNDS: u64 = 100_000;
        let core = HistogramCore::new(Buckets::new(&[1.0, 2.0]));
        let done = std::sync::atomic::AtomicBool::new(false);
        let collect = || {
            let (mut last, mut snapshots) = (0, 0u64);
            loop {
                let finished = done.load(Ordering::Acquire);
                let (count, sum, counts) = snap(&core);
                assert_eq!(counts[2], 0, "nothing was observed above 2");
                assert_eq!(count, counts[0] + counts[1], "{counts:?}");
                assert_eq!(sum, (counts[0] + 2 * counts[1]) as f64, "{counts:?}");
                assert!(count >= last, "count went back: {count} < {last}");
                last = count;
                snapshots += 1;
                if finished {
                    return snapshots;
                }
            }
        };
        std::thread::scope(|s| {
            let collectors = [s.spawn(collect), s.spawn(collect)];
            let observers: Vec<_> = (0..OBSERVERS)
                .map(|t| {
                    let core = &core;
                    s.spawn(move || {
                        for i in 0..ROUNDS {
                            if t == 0 && i == ROUNDS / 2 {
                                core.spill();
                            }
                            core.observe(if (i + t) % 3 == 0 { 2.0 } else { 1.0 });
                        }
                    })
                })
                .collect();
            for o in observers {
                o.join().expect("observer panicked");
            }
            done.store(true, Ordering::Release);
            for c in collectors {
                assert!(c.join().expect("collector panicked") > 1);
            }
        });
        assert!(core.spill.get().is_some());
        let twos: u64 = (0..OBSERVERS)
            .map(|t| (0..ROUNDS).filter(|i| (i + t) % 3 == 0).count() as u64)
            .sum();
        let total = OBSERVERS * ROUNDS;
        let want = (total, (total + twos) as f64, vec![total - twos, twos, 0]);
        assert_eq!(snap(&core), want);
    }

    #[test]
    fn a_collision_grows_shards_and_a_thread_that_meets_another_moves_home() {
        let core = HistogramCore::new(Buckets::new(&[1.0]));
        core.observe(0.5);
        // As if another observer held the shard.
        let first = Shard(&core.first);
        assert_eq!(first.try_lock(OBSERVER), Ok(()));
        core.observe(0.5);
        first.unlock();
        let more = core.more.get().expect("grown");
        assert_eq!(more.len(), core.first.len() * shard_count());
        assert_eq!(core.shards().count(), 1 + shard_count());

        // Now the thread observes into its home shard.
        core.observe(3.0);
        let home = core.shard();
        assert_eq!(home.cell(FIRST + 1).load(Ordering::Relaxed), 1);
        // Taken by another observer: spill, and move home.
        assert_eq!(home.try_lock(OBSERVER), Ok(()));
        core.observe(3.0);
        home.unlock();
        let moved = core.shard();
        assert!(!std::ptr::eq(moved.0, home.0), "moved home");
        core.observe(3.0);
        assert_eq!(moved.cell(FIRST + 1).load(Ordering::Relaxed), 1);
        assert_eq!(snap(&core), (5, 10.0, vec![2, 3]));
        assert_eq!(core.count(), 5);
    }

    #[test]
    fn racing_lazy_builders_publish_one_value_and_drop_the_others() {
        use std::sync::atomic::AtomicUsize as Count;
        struct Counted<'a>(&'a Count, usize);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let dropped = Count::new(0);
        let built = Count::new(0);
        let lazy = Lazy::new();
        let start = std::sync::Barrier::new(4);
        let seen: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|t| {
                    let (lazy, start, built, dropped) = (&lazy, &start, &built, &dropped);
                    s.spawn(move || {
                        lazy.get_or_init(|| {
                            built.fetch_add(1, Ordering::Relaxed);
                            // All four are building before any publishes.
                            start.wait();
                            Counted(dropped, t)
                        })
                        .1
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(seen.iter().all(|&t| t == seen[0]), "one value: {seen:?}");
        assert_eq!(built.load(Ordering::Relaxed), 4);
        assert_eq!(dropped.load(Ordering::Relaxed), 3, "the losers' values");
        assert_eq!(lazy.get().map(|c| c.1), Some(seen[0]));
        drop(lazy);
        assert_eq!(dropped.load(Ordering::Relaxed), 4, "the winner's value");
    }

    #[test]
    fn shards_do_not_share_cache_lines() {
        assert_eq!(std::mem::align_of::<Line>(), 64);
        assert_eq!(std::mem::size_of::<Line>(), 64);
        // Lock, sum, 11 bounds and +Inf: 14 cells, two lines.
        let core = HistogramCore::new(Buckets::new(&[0.0; 11]));
        assert_eq!(core.first.len(), 2);
        // Nine bounds: 12 cells, still two lines; six: 9 cells.
        assert_eq!(HistogramCore::new(Buckets::new(&[0.0; 6])).first.len(), 2);
        assert_eq!(HistogramCore::new(Buckets::new(&[0.0; 5])).first.len(), 1);
    }
}

/// The model check, with the epoch's: `RUSTFLAGS="--cfg promclient_loom" cargo test
/// --release --lib loom_model`. Under loom the shards never grow: the
/// observers contend for the first shard and spill when it is taken, so
/// both paths meet the collector.
#[cfg(all(test, promclient_loom))]
mod loom_model {
    use super::*;
    use loom::sync::Arc;

    fn check(core: &HistogramCore, observed: &[f64]) {
        let (count, sum, counts) = snap(core);
        assert_eq!(
            count,
            counts.iter().sum::<u64>(),
            "count is the +Inf bucket"
        );
        // Each value has its own bucket and bit: the sum names exactly the
        // observations counted.
        let mut want = 0.0;
        for (i, &v) in observed.iter().enumerate() {
            if counts[i] == 1 {
                want += v;
            } else {
                assert_eq!(counts[i], 0);
            }
        }
        assert_eq!(sum, want, "sum of exactly the observations counted");
    }

    #[test]
    fn loom_model_histogram_observers_against_a_collector() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(3);
        b.check(|| {
            let values = [0.5, 2.0, 8.0];
            let core = Arc::new(HistogramCore::new(Buckets::new(&[1.0, 4.0])));
            let observers: Vec<_> = [0usize, 1]
                .into_iter()
                .map(|t| {
                    let core = core.clone();
                    loom::thread::spawn(move || core.observe(values[t]))
                })
                .collect();
            check(&core, &values);
            core.observe(values[2]);
            for o in observers {
                o.join().unwrap();
            }
            assert_eq!(snap(&core), (3, 10.5, vec![1, 1, 1]));
        });
    }
}
