//! [`ShardedCounter`]: a counter for the few hot paths that many threads
//! increment at once.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::collector::{Collector, MetricSink};
use crate::counter::{add_to, write_counter};
use crate::desc::{Desc, MetricType, Opts};
use crate::error::{DescError, ValueError};
use crate::family::Series;

/// A counter whose increments go to one of several cache-line-sized
/// cells, picked per thread, instead of one shared word.
///
/// A [`Counter`](crate::Counter) increment is one atomic add on a word all
/// threads share: when several threads increment it at once, the cache
/// line moves between their cores on every add. Here each thread adds to
/// its own cell (threads are spread over the cells as they first
/// increment), so threads on different cores do not contend; a gather
/// sums the cells. It reports exactly what a `Counter` would: the same
/// metric type, value and created time.
///
/// The price is memory: 128 bytes per cell, four cells per CPU (at least
/// 8, at most 64), so 1 to 8 KiB per counter. Use it for the few
/// counters hot code increments from many threads; use `Counter`
/// everywhere else, and in labeled families.
///
/// # Examples
///
/// ```
/// use promclient::{Registry, ShardedCounter};
///
/// let registry = Registry::new();
/// let requests = ShardedCounter::new("requests_total", "Requests served.")?;
/// registry.register(requests.clone())?;
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| (0..1000).for_each(|_| requests.inc()));
///     }
/// });
/// assert_eq!(requests.value(), 4000.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct ShardedCounter(Series<Shards>);

/// One cell, alone on its cache lines (128 bytes: adjacent-line
/// prefetchers pull lines in pairs).
#[repr(align(128))]
#[derive(Default)]
struct Shard(AtomicU64);

struct Shards {
    cells: Box<[Shard]>,
    /// `cells.len() - 1`; the length is a power of two.
    mask: usize,
    /// Non-integer additions, rare: one shared cell.
    float_bits: AtomicU64,
}

impl Shards {
    fn new() -> Self {
        let n = shard_count();
        Self {
            cells: (0..n).map(|_| Shard::default()).collect(),
            mask: n - 1,
            float_bits: AtomicU64::new(0),
        }
    }

    fn value(&self) -> f64 {
        // Relaxed: a reader wants some recent sum, not an ordering with
        // other memory. Cells are read one by one, so a sum may count an
        // increment made after an earlier cell was read, never one twice.
        let int = self
            .cells
            .iter()
            .fold(0u64, |s, c| s.wrapping_add(c.0.load(Ordering::Relaxed)));
        int as f64 + f64::from_bits(self.float_bits.load(Ordering::Relaxed))
    }
}

/// Four cells per CPU, a power of two from 8 to 64: threads are assigned
/// cells round-robin, and more cells than cores keeps two busy threads
/// from sharing one when threads come and go.
fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        (cpus * 4).next_power_of_two().clamp(8, 64)
    })
}

/// This thread's cell number (before masking), assigned on its first
/// increment of any sharded counter.
#[inline]
fn shard_index() -> usize {
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    INDEX.with(|i| {
        let v = i.get();
        if v != usize::MAX {
            return v;
        }
        // Relaxed: a distinct number is all that is needed.
        let v = NEXT.fetch_add(1, Ordering::Relaxed) & (usize::MAX >> 1);
        i.set(v);
        v
    })
}

impl ShardedCounter {
    /// An unlabeled sharded counter.
    ///
    /// # Errors
    ///
    /// [`DescError`] if the name is invalid.
    pub fn new(name: &str, help: &str) -> Result<Self, DescError> {
        Self::with_opts(Opts::new(name, help))
    }

    /// A sharded counter from [`Opts`].
    ///
    /// # Errors
    ///
    /// [`DescError`] if a name is invalid.
    pub fn with_opts(opts: Opts) -> Result<Self, DescError> {
        let desc = Desc::from_opts(MetricType::Counter, &opts, &[])?;
        Ok(Self(Series::new(desc, Shards::new())))
    }

    /// Adds 1: one atomic add on this thread's cell.
    #[inline]
    pub fn inc(&self) {
        self.inc_by(1);
    }

    /// Adds `n`.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        let s = &self.0.core;
        // Relaxed: the count is independent of any other memory.
        s.cells[shard_index() & s.mask]
            .0
            .fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `v`, as [`Counter::add`](crate::Counter::add): whole values go
    /// to this thread's cell, others to one shared cell.
    ///
    /// # Errors
    ///
    /// [`ValueError`] if `v` is negative or NaN; nothing is added.
    pub fn add(&self, v: f64) -> Result<(), ValueError> {
        add_to(v, |n| self.inc_by(n), &self.0.core.float_bits)
    }

    /// The current value: the sum of the cells.
    #[must_use]
    pub fn value(&self) -> f64 {
        self.0.core.value()
    }

    /// The descriptor.
    #[must_use]
    pub fn desc(&self) -> &Desc {
        &self.0.desc
    }
}

impl fmt::Debug for ShardedCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedCounter")
            .field("name", &self.0.desc.fq_name())
            .field("cells", &self.0.core.cells.len())
            .field("value", &self.value())
            .finish()
    }
}

impl Collector for ShardedCounter {
    fn describe(&self) -> Vec<Desc> {
        vec![self.0.desc.clone()]
    }

    fn collect(&self, out: &mut MetricSink<'_>) {
        if let Some(slot) = out.series(&self.0.desc, self.0.labels(), None) {
            write_counter(slot, self.value(), self.0.created());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_a_power_of_two_and_each_on_its_own_lines() {
        let n = shard_count();
        assert!(n.is_power_of_two() && (8..=64).contains(&n), "{n}");
        assert_eq!(std::mem::align_of::<Shard>(), 128);
        assert_eq!(std::mem::size_of::<Shard>(), 128);
    }

    #[test]
    fn threads_spread_over_the_cells() {
        let c = ShardedCounter::new("c_total", "C.").unwrap();
        let cells = |c: &ShardedCounter| -> Vec<u64> {
            c.0.core
                .cells
                .iter()
                .map(|s| s.0.load(Ordering::Relaxed))
                .collect()
        };
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| c.inc());
            }
        });
        // Two threads that start one after the other take two cells.
        let used = cells(&c).iter().filter(|&&v| v > 0).count();
        assert_eq!(used, 2, "{:?}", cells(&c));
    }
}
