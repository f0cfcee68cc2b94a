//! What a gather returns: metric families mirroring the
//! `io.prometheus.client` protobuf model field for field, as plain owned
//! data.
//!
//! Label names and values are `Arc<str>`. Names and const labels are
//! shared with the descriptors; a family child keeps its label values
//! inline in its own block, and a snapshot makes its `Arc<str>` of a value
//! only when the series in that slot changed since the last gather into
//! it, so a steady-state gather copies no label bytes.

use std::ops::Deref;
use std::sync::Arc;
use std::time::SystemTime;

use crate::desc::MetricType;
use crate::registry::GatherState;

/// One label: a name and a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelPair {
    /// The label name.
    pub name: Arc<str>,
    /// The label value: any UTF-8.
    pub value: Arc<str>,
}

impl LabelPair {
    /// A label pair.
    #[must_use]
    pub fn new(name: impl Into<Arc<str>>, value: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// All series of one metric name.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// The metric name.
    pub name: Arc<str>,
    /// The help text.
    pub help: Arc<str>,
    /// The metric type; every series' [`Value`] matches it.
    pub metric_type: MetricType,
    /// The unit (OpenMetrics), if declared.
    pub unit: Option<Arc<str>>,
    /// The series, sorted by label values.
    pub metrics: Vec<Metric>,
}

/// One series: its labels and its value.
///
/// Exactly one 64-byte cache line (checked by a test): gather writes and
/// encode reads thousands of them per scrape, one line each.
#[derive(Debug, Clone, PartialEq)]
#[repr(align(64))]
pub struct Metric {
    /// Labels sorted by name, const and variable labels merged.
    pub labels: Box<[LabelPair]>,
    /// The value.
    pub value: Value,
    /// An explicit timestamp in milliseconds since the Unix epoch; almost
    /// always `None` (the scraper stamps the scrape time).
    pub timestamp_ms: Option<i64>,
}

/// The value of one series, by metric type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// A counter.
    Counter(CounterValue),
    /// A gauge.
    Gauge(f64),
    /// An untyped value.
    Untyped(f64),
    /// A histogram (boxed, as summaries: a series' [`Metric`] then fits
    /// one cache line, which gather and encode walk by the thousand).
    Histogram(Box<HistogramValue>),
    /// A summary.
    Summary(Box<SummaryValue>),
}

impl Value {
    /// The metric type this value belongs to.
    #[must_use]
    pub fn metric_type(&self) -> MetricType {
        match self {
            Self::Counter(_) => MetricType::Counter,
            Self::Gauge(_) => MetricType::Gauge,
            Self::Untyped(_) => MetricType::Untyped,
            Self::Histogram(_) => MetricType::Histogram,
            Self::Summary(_) => MetricType::Summary,
        }
    }
}

/// A counter's value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CounterValue {
    /// The count.
    pub value: f64,
    /// When the counter was created, if known.
    pub created: Option<SystemTime>,
    /// An exemplar, if one was recorded (boxed: rare, and kept out of the
    /// way of the values gather and encode walk).
    pub exemplar: Option<Box<Exemplar>>,
}

/// A histogram's value: classic buckets and, when present, a native
/// (sparse) histogram.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistogramValue {
    /// Number of observations.
    pub sample_count: u64,
    /// Sum of observations.
    pub sample_sum: f64,
    /// Classic buckets, cumulative, by increasing upper bound. The `+Inf`
    /// bucket may be left out; its count is [`HistogramValue::sample_count`].
    pub buckets: Vec<Bucket>,
    /// When the histogram was created, if known.
    pub created: Option<SystemTime>,
    /// The native histogram part, if this histogram has one.
    pub native: Option<Box<NativeHistogram>>,
}

/// A classic histogram bucket.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bucket {
    /// Observations less than or equal to `upper_bound`.
    pub cumulative_count: u64,
    /// The inclusive upper bound.
    pub upper_bound: f64,
    /// An exemplar, if one was recorded for this bucket (boxed, as in
    /// [`CounterValue::exemplar`]).
    pub exemplar: Option<Box<Exemplar>>,
}

/// The sparse buckets of a native histogram, as in the protobuf model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NativeHistogram {
    /// Resolution: buckets grow by a factor of `2^(2^-schema)`.
    pub schema: i32,
    /// Observations with an absolute value at most this go to the zero
    /// bucket.
    pub zero_threshold: f64,
    /// Observations in the zero bucket.
    pub zero_count: u64,
    /// Spans of populated negative buckets.
    pub negative_spans: Vec<BucketSpan>,
    /// Counts of negative buckets, each as a delta to the previous one.
    pub negative_deltas: Vec<i64>,
    /// Spans of populated positive buckets.
    pub positive_spans: Vec<BucketSpan>,
    /// Counts of positive buckets, each as a delta to the previous one.
    pub positive_deltas: Vec<i64>,
    /// Exemplars of the native histogram.
    pub exemplars: Vec<Exemplar>,
}

/// A run of consecutive native-histogram buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BucketSpan {
    /// Gap to the previous span, or the starting index for the first.
    pub offset: i32,
    /// Number of consecutive buckets.
    pub length: u32,
}

/// A summary's value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SummaryValue {
    /// Number of observations.
    pub sample_count: u64,
    /// Sum of observations.
    pub sample_sum: f64,
    /// Quantiles, by increasing rank.
    pub quantiles: Vec<Quantile>,
    /// When the summary was created, if known.
    pub created: Option<SystemTime>,
}

/// One quantile of a summary.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Quantile {
    /// The rank, in `[0, 1]`.
    pub quantile: f64,
    /// The value at that rank.
    pub value: f64,
}

/// An exemplar: an observation with labels (typically a trace id).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exemplar {
    /// The exemplar's labels.
    pub labels: Vec<LabelPair>,
    /// The observed value.
    pub value: f64,
    /// When it was observed, if known.
    pub timestamp: Option<SystemTime>,
}

/// The result of a gather: metric families sorted by name, without empty
/// families. Dereferences to `[MetricFamily]`.
///
/// Keep one and pass it to [`Registry::gather_into`] again to reuse its
/// memory: in steady state a gather into it allocates nothing per series.
///
/// [`Registry::gather_into`]: crate::Registry::gather_into
#[derive(Debug, Default)]
pub struct Snapshot {
    /// All families: the first `visible` are the result, sorted by name;
    /// the rest are empty and kept for reuse.
    pub(crate) families: Vec<MetricFamily>,
    pub(crate) visible: usize,
    pub(crate) state: GatherState,
}

impl Snapshot {
    /// An empty snapshot; allocates nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The families, sorted by name.
    #[must_use]
    pub fn families(&self) -> &[MetricFamily] {
        &self.families[..self.visible]
    }

    /// The family named `name`, if gathered.
    #[must_use]
    pub fn family(&self, name: &str) -> Option<&MetricFamily> {
        let fams = self.families();
        fams.binary_search_by(|f| (*f.name).cmp(name))
            .ok()
            .map(|i| &fams[i])
    }

    /// Takes the families out, dropping the memory kept for reuse.
    #[must_use]
    pub fn into_families(mut self) -> Vec<MetricFamily> {
        self.families.truncate(self.visible);
        self.families
    }
}

impl Deref for Snapshot {
    type Target = [MetricFamily];

    fn deref(&self) -> &[MetricFamily] {
        self.families()
    }
}

impl PartialEq for Snapshot {
    fn eq(&self, other: &Self) -> bool {
        self.families() == other.families()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series' slot is one cache line: more would make gather and encode
    /// touch two lines per series (rare parts of values are boxed for it).
    #[test]
    fn a_metric_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Metric>(), 64);
        assert_eq!(std::mem::align_of::<Metric>(), 64);
        assert!(std::mem::size_of::<Value>() <= 32);
    }
}
