//! Labeled families of instruments: client_golang's `CounterVec`,
//! `GaugeVec` and `HistogramVec`.
//!
//! A family maps label values to children. Children are found by their
//! real values (the hash only picks the bucket), a lookup of an existing
//! child borrows the given `&str`s and allocates nothing, and what a lookup
//! returns is a cheap handle, never a lock guard.

use std::cmp::Ordering;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::collector::{Collector, MetricSink};
use crate::desc::{Desc, LabelSlot, MetricType, Opts};
use crate::error::{DescError, LabelError};
use crate::snapshot::{LabelPair, Value};

use key::{Lookup, Seeds};
pub(crate) use series::{Labels, NewLabels, Series};
pub use table::Child;
use table::Table;

mod epoch;
mod key;
mod series;
mod table;

mod sealed {
    pub trait Sealed {}
}

/// An instrument that can be a child of a [`Family`]: [`Counter`],
/// [`Gauge`] and [`Histogram`]. Sealed.
///
/// [`Counter`]: crate::Counter
/// [`Gauge`]: crate::Gauge
/// [`Histogram`]: crate::Histogram
pub trait FamilyMember: Clone + Collector + sealed::Sealed {
    /// What every child is built from (bucket bounds for histograms).
    #[doc(hidden)]
    type Config: Send + Sync + 'static;

    #[doc(hidden)]
    const TYPE: MetricType;

    /// The atomic state of one child.
    #[doc(hidden)]
    type Core: Send + Sync + 'static;

    #[doc(hidden)]
    fn new_core(config: &Self::Config) -> Self::Core;

    #[doc(hidden)]
    fn from_series(series: Series<Self::Core>) -> Self;

    #[doc(hidden)]
    fn series(&self) -> &Series<Self::Core>;

    #[doc(hidden)]
    fn into_series(self) -> Series<Self::Core>;

    /// The child's label values.
    #[doc(hidden)]
    #[inline(always)]
    fn labels(&self) -> Labels<'_> {
        self.series().labels()
    }

    #[doc(hidden)]
    fn write_value(&self, slot: &mut Value);

    /// [`FamilyMember::write_value`] into a slot this same child filled at
    /// the last gather: what never changes (a creation time) is left as it
    /// is, and not loaded from the child.
    #[doc(hidden)]
    fn update_value(&self, slot: &mut Value) {
        self.write_value(slot);
    }

    /// Loads the word [`FamilyMember::update_value`] reads first, for
    /// [`touch_values`].
    #[doc(hidden)]
    fn touch_value(&self) -> u64 {
        0
    }
}

/// A [`FamilyMember`]'s accessors of the `Series<Self::Core>` it wraps as
/// its only field.
macro_rules! series_accessors {
    () => {
        fn from_series(series: $crate::family::Series<Self::Core>) -> Self {
            Self(series)
        }

        fn series(&self) -> &$crate::family::Series<Self::Core> {
            &self.0
        }

        fn into_series(self) -> $crate::family::Series<Self::Core> {
            self.0
        }
    };
}
pub(crate) use series_accessors;

impl sealed::Sealed for crate::Counter {}
impl sealed::Sealed for crate::Gauge {}
impl sealed::Sealed for crate::Histogram {}

/// A labeled family of `M` with `N` variable labels (client_golang's
/// `*Vec`). Cheap to clone; clones share the children.
///
/// Use the aliases [`CounterVec`], [`GaugeVec`] and [`HistogramVec`]. The
/// number of labels is part of the type, so a lookup with the wrong number
/// of values does not compile; [`Family::try_with_label_values`] and
/// [`Family::with_labels`] take runtime-sized input and return a typed
/// error instead.
///
/// # Examples
///
/// ```
/// use promclient::{CounterVec, Registry};
///
/// let registry = Registry::new();
/// let requests = CounterVec::new("http_requests_total", "Requests served.", ["method", "code"])?;
/// registry.register(requests.clone())?;
///
/// requests.with_label_values(["GET", "200"]).inc();
/// // Hoist the lookup out of hot loops: clone the child into an owned
/// // handle, which stays valid (and can move to other threads).
/// let post_ok: promclient::Counter = requests.with_label_values(["POST", "201"]).clone();
/// for _ in 0..3 {
///     post_ok.inc();
/// }
/// assert_eq!(requests.with_label_values(["POST", "201"]).value(), 3.0);
/// assert_eq!(requests.len(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Family<M: FamilyMember, const N: usize> {
    inner: Arc<FamilyInner<M, N>>,
}

/// A family of [`Counter`](crate::Counter)s.
pub type CounterVec<const N: usize> = Family<crate::Counter, N>;
/// A family of [`Gauge`](crate::Gauge)s.
pub type GaugeVec<const N: usize> = Family<crate::Gauge, N>;
/// A family of [`Histogram`](crate::Histogram)s.
pub type HistogramVec<const N: usize> = Family<crate::Histogram, N>;

struct FamilyInner<M: FamilyMember, const N: usize> {
    desc: Desc,
    config: M::Config,
    seeds: Seeds<N>,
    /// Unique among all families ever made in the process: with the
    /// version of `sorted`, it tells gather which children a run holds.
    id: u64,
    table: Table<M>,
    /// The children sorted as gather sorts series, rebuilt on collect when
    /// the table changed, so gather never sorts an unchanged family.
    sorted: Mutex<Sorted<M>>,
}

struct Sorted<M> {
    children: Vec<M>,
    version: u64,
    /// Sort keys, kept for the next change: see [`sort_children`].
    keys: Vec<(u128, u32)>,
}

impl<M: FamilyMember, const N: usize> Clone for Family<M, N> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<M: FamilyMember, const N: usize> fmt::Debug for Family<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("desc", &self.inner.desc)
            .field("len", &self.len())
            .finish()
    }
}

impl<M: FamilyMember<Config = ()>, const N: usize> Family<M, N> {
    /// A counter or gauge family with the given variable label names.
    ///
    /// # Errors
    ///
    /// [`DescError`] if the name or a label name is invalid.
    pub fn new(name: &str, help: &str, labels: [&str; N]) -> Result<Self, DescError> {
        Self::with_opts(Opts::new(name, help), labels)
    }

    /// A counter or gauge family from [`Opts`].
    ///
    /// # Errors
    ///
    /// As [`Family::new`].
    pub fn with_opts(opts: Opts, labels: [&str; N]) -> Result<Self, DescError> {
        Ok(Self::from_desc(
            Desc::from_opts(M::TYPE, &opts, &labels)?,
            (),
        ))
    }
}

impl<const N: usize> Family<crate::Histogram, N> {
    /// A histogram family with the given variable label names and bucket
    /// upper bounds ([`DEFAULT_BUCKETS`](crate::DEFAULT_BUCKETS), or built
    /// with [`linear_buckets`](crate::linear_buckets) and friends).
    ///
    /// # Errors
    ///
    /// [`DescError`] if a name is invalid, a label is `le`, or the buckets
    /// are not strictly increasing.
    pub fn new(
        name: &str,
        help: &str,
        labels: [&str; N],
        buckets: &[f64],
    ) -> Result<Self, DescError> {
        Self::with_opts(Opts::new(name, help), labels, buckets)
    }

    /// A histogram family from [`Opts`].
    ///
    /// # Errors
    ///
    /// As [`Family::new`].
    pub fn with_opts(opts: Opts, labels: [&str; N], buckets: &[f64]) -> Result<Self, DescError> {
        let bounds = crate::histogram::validate_buckets(buckets)?;
        Ok(Self::from_desc(
            Desc::from_opts(MetricType::Histogram, &opts, &labels)?,
            bounds,
        ))
    }
}

impl<M: FamilyMember, const N: usize> Family<M, N> {
    fn from_desc(desc: Desc, config: M::Config) -> Self {
        // A series keeps its label count in a `u32`.
        const { assert!(N <= u32::MAX as usize, "too many labels") };
        debug_assert_eq!(desc.variable_labels().len(), N);
        Self {
            inner: Arc::new(FamilyInner {
                desc,
                config,
                seeds: Seeds::new(random_seed()),
                id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                table: Table::new(),
                sorted: Mutex::new(Sorted {
                    children: Vec::new(),
                    version: u64::MAX,
                    keys: Vec::new(),
                }),
            }),
        }
    }

    /// The family's descriptor.
    #[must_use]
    pub fn desc(&self) -> &Desc {
        &self.inner.desc
    }

    /// The child with these label values, created on first use.
    ///
    /// Finding an existing child takes no lock, no reference count and no
    /// allocation. The [`Child`] dereferences to the handle
    /// (`family.with_label_values([..]).inc()`); `.clone()` it to keep an
    /// owned handle, e.g. out of a hot loop. Do not store a `Child`: while
    /// one lives, removed children are not freed.
    #[inline]
    pub fn with_label_values(&self, values: [&str; N]) -> Child<'_, M> {
        self.get_or_create(&values)
    }

    /// As [`Family::with_label_values`] for a runtime number of values.
    ///
    /// # Errors
    ///
    /// [`LabelError::Cardinality`] if `values.len()` is not `N`.
    pub fn try_with_label_values(&self, values: &[&str]) -> Result<Child<'_, M>, LabelError> {
        match <&[&str; N]>::try_from(values) {
            Ok(values) => Ok(self.get_or_create(values)),
            Err(_) => Err(self.cardinality_error(values.len())),
        }
    }

    /// The child with these `(name, value)` labels, in any order.
    ///
    /// # Errors
    ///
    /// [`LabelError`] if a name is not a variable label of the family, is
    /// missing, or is given twice.
    pub fn with_labels(&self, labels: &[(&str, &str)]) -> Result<Child<'_, M>, LabelError> {
        let values = self.positional(labels)?;
        Ok(self.get_or_create(&values))
    }

    /// Removes the child with these label values; whether it existed.
    ///
    /// Handles to it stay usable but are no longer reported.
    pub fn remove_label_values(&self, values: [&str; N]) -> bool {
        let find = Lookup::new(&self.inner.seeds, &values);
        let guard = table::pin();
        self.inner
            .table
            .remove_one(find.hash, |m| find.matches(m.labels(), &values), &guard)
    }

    /// Removes the child with these `(name, value)` labels; whether it
    /// existed.
    ///
    /// # Errors
    ///
    /// As [`Family::with_labels`].
    pub fn remove(&self, labels: &[(&str, &str)]) -> Result<bool, LabelError> {
        let values = self.positional(labels)?;
        Ok(self.remove_label_values(values))
    }

    /// Removes every child whose labels include all of `labels`; how many.
    /// A name that is not a variable label matches nothing.
    pub fn remove_partial_match(&self, labels: &[(&str, &str)]) -> usize {
        let vars = self.inner.desc.variable_labels();
        let mut wanted = Vec::with_capacity(labels.len());
        for (name, value) in labels {
            match vars.iter().position(|v| **v == **name) {
                Some(i) => wanted.push((i, *value)),
                None => return 0,
            }
        }
        let guard = table::pin();
        self.inner.table.remove_where(
            |m| {
                let k = m.labels();
                wanted.iter().all(|&(i, v)| k.get(i) == v)
            },
            &guard,
        )
    }

    /// Removes every child.
    pub fn clear(&self) {
        self.inner.table.clear(&table::pin());
    }

    /// The number of children.
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.table.len()
    }

    /// Whether the family has no children.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline(always)]
    fn get_or_create(&self, values: &[&str; N]) -> Child<'_, M> {
        let guard = table::pin();
        let Some(find) = Lookup::new_short(&self.inner.seeds, values) else {
            return self.get_or_create_long(values, guard);
        };
        self.inner.table.child(
            guard,
            find.hash,
            |m| find.matches_short(m.labels().key::<N>()),
            || self.insert(values),
        )
    }

    /// [`Family::get_or_create`] when some value is long: a match on the
    /// packed key is confirmed by the bytes.
    #[cold]
    #[inline(never)]
    fn get_or_create_long(&self, values: &[&str; N], guard: table::Guard) -> Child<'_, M> {
        // Straight to the long path: `new_short` already refused these.
        let find = Lookup::new_long(&self.inner.seeds, values);
        self.inner.table.child(
            guard,
            find.hash,
            |m| find.matches(m.labels(), values),
            || self.insert(values),
        )
    }

    /// The child with these values, created if no other thread made it
    /// first: the out-of-line half of [`Family::get_or_create`], called
    /// pinned. Its own pin nests in the caller's, which keeps the child
    /// valid after this one ends (see `Table::child`).
    #[cold]
    #[inline(never)]
    fn insert(&self, values: &[&str; N]) -> NonNull<u8> {
        let guard = &table::pin();
        let inner = &*self.inner;
        let find = Lookup::new(&inner.seeds, values);
        let (child, _) = inner.table.get_or_insert(
            find.hash,
            |m| find.matches(m.labels(), values),
            || {
                let labels = NewLabels {
                    hash: find.hash,
                    values,
                };
                M::from_series(Series::labeled(
                    inner.desc.clone(),
                    M::new_core(&inner.config),
                    &labels,
                ))
            },
            guard,
        );
        child
    }

    fn positional<'v>(&self, labels: &[(&str, &'v str)]) -> Result<[&'v str; N], LabelError> {
        let desc = &self.inner.desc;
        let metric = || desc.fq_name().to_string();
        if labels.len() != N {
            return Err(self.cardinality_error(labels.len()));
        }
        let mut values = [""; N];
        let mut seen = [false; N];
        for (name, value) in labels {
            let Some(i) = desc.variable_labels().iter().position(|v| **v == **name) else {
                return Err(LabelError::UnknownLabel {
                    metric: metric(),
                    label: (*name).to_string(),
                });
            };
            values[i] = value;
            seen[i] = true;
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(LabelError::MissingLabel {
                metric: metric(),
                label: desc.variable_labels()[i].to_string(),
            });
        }
        Ok(values)
    }

    #[cold]
    fn cardinality_error(&self, got: usize) -> LabelError {
        LabelError::Cardinality {
            metric: self.inner.desc.fq_name().to_string(),
            expected: N,
            got,
        }
    }
}

impl<M: FamilyMember, const N: usize> Collector for Family<M, N> {
    fn describe(&self) -> Vec<Desc> {
        vec![self.inner.desc.clone()]
    }

    fn collect(&self, out: &mut MetricSink<'_>) {
        // Free removed children no reader can reach any more (a no-op when
        // nothing was removed).
        epoch::collect();
        let inner = &*self.inner;
        let mut sorted = inner.sorted.lock();
        if sorted.version != inner.table.version() {
            let Sorted { children, keys, .. } = &mut *sorted;
            children.clear();
            // The copy and its version come from one state of the table.
            let version = inner
                .table
                .for_each(|m| children.push(m.clone()), &table::pin());
            sort_children::<M, N>(children, inner.desc.label_order(), keys);
            sorted.version = version;
        }
        // Children are unique and sorted as gather sorts series; the run's
        // key tells gather whether their labels are already in place.
        let children = &sorted.children;
        let key = (inner.id, sorted.version, children.len());
        let Some(mut run) = out.run(&inner.desc, key) else {
            return;
        };
        debug_assert_eq!(run.len(), children.len());
        if run.labels_current() {
            // The common case: only values changed since the last gather.
            for (c, chunk) in children.chunks(TOUCH_CHUNK).enumerate() {
                let base = c * TOUCH_CHUNK;
                touch_values(chunk);
                for (i, child) in chunk.iter().enumerate() {
                    child.update_value(run.value(base + i));
                }
            }
        } else {
            for (c, chunk) in children.chunks(TOUCH_CHUNK).enumerate() {
                let base = c * TOUCH_CHUNK;
                touch(chunk, |i| run.labels(base + i));
                for (i, child) in chunk.iter().enumerate() {
                    run.set_labels(base + i, &inner.desc, child.labels());
                    child.write_value(run.value(base + i));
                }
            }
        }
    }
}

/// Family ids: one counter for the process, so no two families (even one
/// dropped and a new one at the same address) share an id.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Children touched ahead of collecting them.
const TOUCH_CHUNK: usize = 16;

/// Loads each child (its label values are in the same block) and the labels of its slot in
/// one tight loop before a run's labels are written: children and label
/// vectors are scattered in memory, and independent loads let the CPU
/// overlap their cache misses. (When the labels are in place already,
/// [`touch_values`] loads just the values.)
#[inline]
fn touch<'a, M: FamilyMember>(children: &[M], slot: impl Fn(usize) -> &'a [LabelPair]) {
    let mut acc = 0usize;
    for (i, c) in children.iter().enumerate() {
        acc ^= c.labels().len();
        acc ^= slot(i).first().map_or(0, |l| l.value.len());
    }
    std::hint::black_box(acc);
}

/// Loads each child's value in one tight loop before the values are
/// copied: children are scattered in memory (each a cache miss once a
/// scrape's output has evicted them), and with nothing between the loads
/// the CPU keeps all of them in flight, where the copy loop's stores and
/// branches let it overlap only a few. Alternating against the loop
/// without it, gather of the 11,000-series bench registry took 5-8% less
/// (25th percentiles, three runs of 40-80 slots).
#[inline]
fn touch_values<M: FamilyMember>(children: &[M]) {
    let mut acc = 0u64;
    for c in children {
        acc ^= c.touch_value();
    }
    std::hint::black_box(acc);
}

/// Sorts `children` as gather sorts series ([`cmp_values`]), by the
/// prefix of the first value compared first: sorting `(prefix, index)`
/// pairs reads no child, and only children whose prefixes tie are then
/// compared value by value. With the full comparison alone, re-sorting a
/// changed 10,000-child family took 15.7M instructions, most of them
/// following children to their values.
fn sort_children<M: FamilyMember, const N: usize>(
    children: &mut [M],
    order: &[LabelSlot],
    keys: &mut Vec<(u128, u32)>,
) {
    let Some(first) = order.iter().find_map(|slot| match *slot {
        LabelSlot::Variable(i) => Some(i),
        LabelSlot::Const(_) => None,
    }) else {
        // No variable label: at most one child.
        return;
    };
    if u32::try_from(children.len()).is_err() {
        children.sort_unstable_by(|a, b| cmp_values(order, a.labels(), b.labels()));
        return;
    }
    keys.clear();
    keys.extend(
        children
            .iter()
            .enumerate()
            .map(|(i, c)| (c.labels().key::<N>().prefix(first), i as u32)),
    );
    keys.sort_unstable();
    // Put child `keys[j].1` at `j`, cycle by cycle, marking the places
    // filled.
    const DONE: u32 = u32::MAX;
    for start in 0..keys.len() {
        let mut j = start;
        while keys[j].1 != DONE {
            let from = keys[j].1 as usize;
            keys[j].1 = DONE;
            if from == start {
                break;
            }
            children.swap(j, from);
            j = from;
        }
    }
    // Runs of equal prefixes: the values decide.
    let mut at = 0;
    while at < keys.len() {
        let run = keys[at..].partition_point(|k| k.0 == keys[at].0);
        if run > 1 {
            children[at..at + run]
                .sort_unstable_by(|a, b| cmp_values(order, a.labels(), b.labels()));
        }
        at += run;
    }
}

/// Orders children as gather orders series: by label values taken in the
/// order of the label names (const labels are equal within a family), so
/// the registry finds them sorted and does not sort again.
fn cmp_values(order: &[LabelSlot], a: Labels<'_>, b: Labels<'_>) -> Ordering {
    order
        .iter()
        .filter_map(|slot| match *slot {
            LabelSlot::Variable(i) => Some(a.get(i).cmp(b.get(i))),
            LabelSlot::Const(_) => None,
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(0);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Children that share a hash (forced here) stay apart, whether their
    /// values are short (packed whole) or long (same packed prefix and
    /// length, different bytes).
    #[test]
    fn colliding_hashes_never_merge_children() {
        let fam = crate::CounterVec::new("c_total", "h", ["a"]).unwrap();
        let table = &fam.inner.table;
        let child = |v: &'static str| {
            let values = [v];
            let find = Lookup::new(&key::Seeds::new(0), &values);
            let desc = fam.desc().clone();
            let eq = |m: &crate::Counter| find.matches(m.labels(), &values);
            table.child(table::pin(), 42, eq, || {
                let make = move || {
                    let labels = NewLabels {
                        hash: 42,
                        values: &values,
                    };
                    crate::Counter::from_series(Series::labeled(desc, Default::default(), &labels))
                };
                table.get_or_insert(42, eq, make, &table::pin()).0
            })
        };
        let long_a = "0123456789abcdef-tail-one";
        let long_b = "0123456789abcdef-tail-two";
        child("x").inc();
        child(long_a).inc_by(2);
        assert_eq!(child("y").value(), 0.0);
        assert_eq!(child(long_b).value(), 0.0);
        assert_eq!(child("x").value(), 1.0);
        assert_eq!(child(long_a).value(), 2.0);
        assert_eq!(fam.len(), 4);
    }

    /// Prefix-first sorting gives exactly the order of comparing values,
    /// with ties on the first value's prefix (equal values, values equal
    /// in their first 16 bytes, a value and the same with a NUL after it),
    /// a const label ordered first, and the second value deciding.
    #[test]
    fn children_sort_by_prefix_as_by_values() {
        let opts = Opts::new("s_total", "h").const_label("a_const", "x");
        let fam = CounterVec::<2>::with_opts(opts, ["z", "b"]).unwrap();
        let firsts = [
            "",
            "a",
            "a\0",
            "ab",
            "0123456789abcdef",
            "0123456789abcdef0",
            "0123456789abcdef-long-tail",
            "0123456789abcdef-long-tail-2",
            "é",
            "\u{10ffff}",
        ];
        let mut state = 7u64;
        for round in 0..400 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let z = firsts[(state >> 33) as usize % firsts.len()];
            let b = format!("{}", (state >> 20) % 17);
            let b = if round % 5 == 0 { "" } else { b.as_str() };
            fam.with_label_values([z, b]).inc();
        }
        let mut children = Vec::new();
        fam.inner
            .table
            .for_each(|m| children.push(m.clone()), &table::pin());
        let order = fam.desc().label_order();
        let mut want = children.clone();
        want.sort_by(|a, b| cmp_values(order, a.labels(), b.labels()));
        let mut keys = Vec::new();
        sort_children::<crate::Counter, 2>(&mut children, order, &mut keys);
        let names = |v: &[crate::Counter]| -> Vec<Vec<String>> {
            v.iter()
                .map(|c| c.labels().iter().map(str::to_string).collect())
                .collect()
        };
        assert_eq!(names(&children), names(&want));
        assert!(children.len() > 50, "{}", children.len());
    }
}
