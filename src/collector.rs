//! The [`Collector`] trait, the [`MetricSink`] collectors report into, const
//! metrics for state computed at collect time, and closure collectors.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::desc::{Desc, LabelSlot, MetricType};
use crate::error::{CollectError, ConstMetricError, LabelError};
use crate::family::Labels;
use crate::registry::{RunKey, WrapTable};
use crate::snapshot::{
    Bucket, CounterValue, HistogramValue, LabelPair, Metric, Quantile, Snapshot, SummaryValue,
    Value,
};

/// Anything that can report metrics to a [`Registry`](crate::Registry).
///
/// Every instrument and family is a collector; so are the process and
/// runtime collectors, and your own types that report foreign state.
///
/// # Concurrency
///
/// `describe` and `collect` may be called from any thread, concurrently
/// with each other and with the instruments' own methods. `collect` must
/// not block for long: scrapes wait for it.
///
/// # Examples
///
/// A collector that reports the length of a queue it does not own:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use promclient::{Collector, ConstMetric, Desc, MetricSink, MetricType, Registry};
///
/// struct QueueCollector {
///     queue: Arc<Mutex<Vec<u32>>>,
///     desc: Desc,
/// }
///
/// impl Collector for QueueCollector {
///     fn describe(&self) -> Vec<Desc> {
///         vec![self.desc.clone()]
///     }
///     fn collect(&self, out: &mut MetricSink<'_>) {
///         let len = self.queue.lock().unwrap().len() as f64;
///         match ConstMetric::gauge(&self.desc, len, &[]) {
///             Ok(m) => out.push(&m),
///             Err(e) => out.error(e),
///         }
///     }
/// }
///
/// let queue = Arc::new(Mutex::new(vec![1, 2, 3]));
/// let desc = Desc::new(MetricType::Gauge, "queue_length", "Jobs waiting.", &[], &[])?;
/// let registry = Registry::new();
/// registry.register(QueueCollector { queue, desc })?;
/// let snapshot = registry.gather()?;
/// assert_eq!(snapshot.family("queue_length").unwrap().metrics.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Collector: Any + Send + Sync {
    /// The descriptors of every metric this collector may report.
    ///
    /// The registry checks them at registration. A collector that returns
    /// none is *unchecked*: it may report anything, and the registry only
    /// checks its output at gather time.
    fn describe(&self) -> Vec<Desc>;

    /// Reports the current value of every metric into `out`.
    fn collect(&self, out: &mut MetricSink<'_>);
}

/// Where a [`Collector`] reports its metrics during a gather.
///
/// Custom collectors push [`ConstMetric`]s and report failures with
/// [`MetricSink::error`]; instruments use a faster internal path.
pub struct MetricSink<'a> {
    pub(crate) snap: &'a mut Snapshot,
    pub(crate) errors: &'a mut Vec<CollectError>,
    pub(crate) wrap: Option<&'a WrapTable<'a>>,
}

impl fmt::Debug for MetricSink<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricSink")
            .field("errors", &self.errors.len())
            .finish_non_exhaustive()
    }
}

impl MetricSink<'_> {
    /// Reports one const metric.
    pub fn push(&mut self, metric: &ConstMetric) {
        if let Some(v) = self.series(&metric.desc, &*metric.label_values, metric.timestamp_ms) {
            v.clone_from(&metric.value);
        }
    }

    /// Reports a failure; the gather goes on and returns it among its
    /// errors. Metrics pushed before and after are kept.
    pub fn error(&mut self, err: impl Into<Box<dyn Error + Send + Sync>>) {
        self.errors.push(CollectError::Failed(err.into()));
    }

    /// Runs `f` with a sink that rewrites every descriptor through `wrap`.
    pub(crate) fn with_wrap(&mut self, wrap: &WrapTable<'_>, f: impl FnOnce(&mut MetricSink<'_>)) {
        let mut inner = MetricSink {
            snap: self.snap,
            errors: self.errors,
            wrap: Some(wrap),
        };
        f(&mut inner);
    }

    /// Starts a series of `desc` with the given variable label values and
    /// returns its value slot to fill, or `None` if the series was dropped
    /// (an error was recorded).
    ///
    /// `values` must have one value per variable label of `desc`.
    pub(crate) fn series(
        &mut self,
        desc: &Desc,
        values: impl LabelValues,
        timestamp_ms: Option<i64>,
    ) -> Option<&mut Value> {
        debug_assert_eq!(values.len(), desc.variable_labels().len());
        let wrapped;
        let desc = match self.wrap {
            None => desc,
            Some(w) => match w.map(desc) {
                Ok(d) => {
                    wrapped = d;
                    &wrapped
                }
                Err(e) => {
                    self.errors.push(CollectError::Failed(Box::new(e)));
                    return None;
                }
            },
        };
        let (family, metric) = self
            .snap
            .state
            .slot(&mut self.snap.families, desc, self.errors)?;
        if fill_labels(&mut metric.labels, desc, values) {
            self.snap.state.labels_changed(family);
        }
        metric.timestamp_ms = timestamp_ms;
        Some(&mut metric.value)
    }

    /// Reserves one slot per child of a family: `key` says which children
    /// (see [`RunKey`]), in the order gather sorts series, unique. `None`
    /// (with an error recorded) if the series are dropped.
    pub(crate) fn run(&mut self, desc: &Desc, key: RunKey) -> Option<Run<'_>> {
        let n = key.2;
        let (wrapped, key) = match self.wrap {
            None => (None, Some(key)),
            // A wrapping registry builds new label names each gather: the
            // labels are written every time, and the run is not keyed.
            Some(w) => match w.map(desc) {
                Ok(d) => (Some(d), None),
                Err(e) => {
                    self.errors.push(CollectError::Failed(Box::new(e)));
                    return None;
                }
            },
        };
        let (metrics, labels_current, stale) = self.snap.state.run(
            &mut self.snap.families,
            wrapped.as_ref().unwrap_or(desc),
            n,
            key,
            self.errors,
        )?;
        Some(Run {
            metrics,
            labels_current,
            stale,
            wrapped,
        })
    }
}

/// Consecutive series slots of one descriptor, reserved together for a
/// family's sorted children: see [`MetricSink::run`].
pub(crate) struct Run<'s> {
    metrics: &'s mut [Metric],
    /// The slots hold the children's labels from the last gather.
    labels_current: bool,
    /// The family's rendered label text is out of date.
    stale: &'s mut bool,
    /// The descriptor rewritten by a wrapping registry, if any.
    wrapped: Option<Desc>,
}

impl Run<'_> {
    /// The slots, one per child, in order.
    pub(crate) fn len(&self) -> usize {
        self.metrics.len()
    }

    /// Whether slot `i`'s labels are already those of the child.
    #[inline]
    pub(crate) fn labels_current(&self) -> bool {
        self.labels_current
    }

    /// Slot `i`'s labels, when not [current](Run::labels_current): the
    /// labels of `desc` (as given to [`MetricSink::run`]) with `values`.
    #[inline]
    pub(crate) fn set_labels(&mut self, i: usize, desc: &Desc, values: Labels<'_>) {
        let desc = self.wrapped.as_ref().unwrap_or(desc);
        let m = &mut self.metrics[i];
        if fill_labels(&mut m.labels, desc, values) {
            *self.stale = true;
        }
        m.timestamp_ms = None;
    }

    /// Slot `i`'s labels, to read ahead of [`Run::set_labels`].
    #[inline]
    pub(crate) fn labels(&self, i: usize) -> &[LabelPair] {
        &self.metrics[i].labels
    }

    /// Slot `i`'s value.
    #[inline]
    pub(crate) fn value(&mut self, i: usize) -> &mut Value {
        &mut self.metrics[i].value
    }
}

/// The variable label values of a series, by position: kept as
/// `Arc<str>` (const metrics), or inline in an instrument's series, which
/// a snapshot copies into an `Arc<str>` of its own when its slot held
/// another value.
pub(crate) trait LabelValues: Copy {
    /// How many values.
    fn len(&self) -> usize;

    /// Value `i`.
    fn get(&self, i: usize) -> &str;

    /// Value `i` as an `Arc<str>` to share, if it is kept as one.
    fn shared(&self, i: usize) -> Option<&Arc<str>>;
}

/// No variable label values.
pub(crate) const NO_LABELS: &[Arc<str>] = &[];

impl LabelValues for &[Arc<str>] {
    #[inline]
    fn len(&self) -> usize {
        <[Arc<str>]>::len(self)
    }

    #[inline]
    fn get(&self, i: usize) -> &str {
        &self[i]
    }

    #[inline]
    fn shared(&self, i: usize) -> Option<&Arc<str>> {
        Some(&self[i])
    }
}

impl LabelValues for Labels<'_> {
    #[inline]
    fn len(&self) -> usize {
        Labels::len(*self)
    }

    #[inline]
    fn get(&self, i: usize) -> &str {
        Labels::get(*self, i)
    }

    #[inline]
    fn shared(&self, _: usize) -> Option<&Arc<str>> {
        None
    }
}

/// Writes the merged, name-sorted labels of `desc` with `values` into
/// `labels`, leaving pairs that are already the same untouched; whether
/// anything changed.
fn fill_labels(labels: &mut Box<[LabelPair]>, desc: &Desc, values: impl LabelValues) -> bool {
    let order = desc.label_order();
    let value = |i: usize| {
        values
            .shared(i)
            .cloned()
            .unwrap_or_else(|| Arc::from(values.get(i)))
    };
    if labels.len() != order.len() {
        *labels = order
            .iter()
            .map(|slot| match *slot {
                LabelSlot::Const(i) => desc.const_labels()[i].clone(),
                LabelSlot::Variable(i) => LabelPair {
                    name: desc.variable_labels()[i].clone(),
                    value: value(i),
                },
            })
            .collect();
        return true;
    }
    let mut changed = false;
    for (p, slot) in labels.iter_mut().zip(order) {
        match *slot {
            LabelSlot::Const(i) => {
                let c = &desc.const_labels()[i];
                changed |= share(&mut p.name, &c.name);
                changed |= share(&mut p.value, &c.value);
            }
            LabelSlot::Variable(i) => {
                changed |= share(&mut p.name, &desc.variable_labels()[i]);
                let same = match values.shared(i) {
                    Some(v) => Arc::ptr_eq(&p.value, v) || *p.value == **v,
                    None => *p.value == *values.get(i),
                };
                if !same {
                    p.value = value(i);
                    changed = true;
                }
            }
        }
    }
    changed
}

/// Points `dst` at `src` unless it already does; whether it changed.
#[inline]
fn share(dst: &mut Arc<str>, src: &Arc<str>) -> bool {
    if Arc::ptr_eq(dst, src) {
        return false;
    }
    *dst = src.clone();
    true
}

/// A metric whose value is known only at collect time, for custom
/// collectors (client_golang's `MustNewConstMetric` family, without the
/// panics).
///
/// # Examples
///
/// ```
/// use promclient::{ConstMetric, Desc, MetricType};
///
/// let desc = Desc::new(MetricType::Counter, "disk_reads_total", "Reads.", &["device"], &[])?;
/// let m = ConstMetric::counter(&desc, 42.0, &["sda"])?;
/// assert!(ConstMetric::counter(&desc, 42.0, &[]).is_err()); // wrong label count
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConstMetric {
    desc: Desc,
    label_values: Box<[Arc<str>]>,
    value: Value,
    timestamp_ms: Option<i64>,
}

impl ConstMetric {
    fn build(desc: &Desc, value: Value, label_values: &[&str]) -> Result<Self, ConstMetricError> {
        let expected = desc.variable_labels().len();
        if label_values.len() != expected {
            return Err(LabelError::Cardinality {
                metric: desc.fq_name().to_string(),
                expected,
                got: label_values.len(),
            }
            .into());
        }
        if value.metric_type() != desc.metric_type() {
            return Err(ConstMetricError::TypeMismatch {
                metric: desc.fq_name().to_string(),
                desc: desc.metric_type(),
                value: value.metric_type(),
            });
        }
        Ok(Self {
            desc: desc.clone(),
            label_values: label_values.iter().map(|v| Arc::from(*v)).collect(),
            value,
            timestamp_ms: None,
        })
    }

    /// A counter value.
    ///
    /// # Errors
    ///
    /// [`ConstMetricError`] if `desc` is not a counter's or the number of
    /// label values is wrong.
    pub fn counter(
        desc: &Desc,
        value: f64,
        label_values: &[&str],
    ) -> Result<Self, ConstMetricError> {
        Self::build(
            desc,
            Value::Counter(CounterValue {
                value,
                ..CounterValue::default()
            }),
            label_values,
        )
    }

    /// A gauge value.
    ///
    /// # Errors
    ///
    /// As [`ConstMetric::counter`].
    pub fn gauge(desc: &Desc, value: f64, label_values: &[&str]) -> Result<Self, ConstMetricError> {
        Self::build(desc, Value::Gauge(value), label_values)
    }

    /// An untyped value.
    ///
    /// # Errors
    ///
    /// As [`ConstMetric::counter`].
    pub fn untyped(
        desc: &Desc,
        value: f64,
        label_values: &[&str],
    ) -> Result<Self, ConstMetricError> {
        Self::build(desc, Value::Untyped(value), label_values)
    }

    /// A histogram from its count, sum and `(upper bound, cumulative count)`
    /// buckets. A `+Inf` bucket may be given or left out.
    ///
    /// # Errors
    ///
    /// [`ConstMetricError`] as for [`ConstMetric::counter`], and if bounds
    /// are not strictly increasing, counts decrease, a count exceeds
    /// `count`, or a `+Inf` bucket does not hold `count`.
    pub fn histogram(
        desc: &Desc,
        count: u64,
        sum: f64,
        buckets: &[(f64, u64)],
        label_values: &[&str],
    ) -> Result<Self, ConstMetricError> {
        let bad = |reason| ConstMetricError::InvalidBuckets {
            metric: desc.fq_name().to_string(),
            reason,
        };
        for w in buckets.windows(2) {
            if w[0].0.partial_cmp(&w[1].0) != Some(std::cmp::Ordering::Less) {
                return Err(bad("upper bounds must be strictly increasing"));
            }
            if w[0].1 > w[1].1 {
                return Err(bad("cumulative counts must not decrease"));
            }
        }
        if buckets.iter().any(|b| b.1 > count || b.0.is_nan()) {
            return Err(bad(
                "a bucket count exceeds the total count or a bound is NaN",
            ));
        }
        if buckets
            .last()
            .is_some_and(|b| b.0 == f64::INFINITY && b.1 != count)
        {
            return Err(bad("the +Inf bucket must hold the total count"));
        }
        let value = HistogramValue {
            sample_count: count,
            sample_sum: sum,
            buckets: buckets
                .iter()
                .map(|&(upper_bound, cumulative_count)| Bucket {
                    upper_bound,
                    cumulative_count,
                    exemplar: None,
                })
                .collect(),
            ..HistogramValue::default()
        };
        Self::build(desc, Value::Histogram(Box::new(value)), label_values)
    }

    /// A summary from its count, sum and `(quantile, value)` pairs.
    ///
    /// # Errors
    ///
    /// As [`ConstMetric::counter`], and
    /// [`ConstMetricError::InvalidQuantile`] for a quantile outside
    /// `[0, 1]` or NaN.
    pub fn summary(
        desc: &Desc,
        count: u64,
        sum: f64,
        quantiles: &[(f64, f64)],
        label_values: &[&str],
    ) -> Result<Self, ConstMetricError> {
        if let Some(&(quantile, _)) = quantiles.iter().find(|(q, _)| !(0.0..=1.0).contains(q)) {
            return Err(ConstMetricError::InvalidQuantile {
                metric: desc.fq_name().to_string(),
                quantile,
            });
        }
        let value = SummaryValue {
            sample_count: count,
            sample_sum: sum,
            quantiles: quantiles
                .iter()
                .map(|&(quantile, value)| Quantile { quantile, value })
                .collect(),
            created: None,
        };
        Self::build(desc, Value::Summary(Box::new(value)), label_values)
    }

    /// The same metric with an explicit timestamp (milliseconds since the
    /// Unix epoch). Rarely right: Prometheus stamps scrapes itself.
    #[must_use]
    pub fn with_timestamp_ms(mut self, timestamp_ms: i64) -> Self {
        self.timestamp_ms = Some(timestamp_ms);
        self
    }

    /// The same metric with the time its counting started (client_golang's
    /// `NewConstMetricWithCreatedTimestamp` and friends): exposed as
    /// OpenMetrics `_created` lines and the protobuf `created_timestamp`,
    /// from which Prometheus can tell a reset. Counters, histograms and
    /// summaries have one; a gauge or untyped metric is returned unchanged.
    #[must_use]
    pub fn with_created(mut self, created: SystemTime) -> Self {
        match &mut self.value {
            Value::Counter(c) => c.created = Some(created),
            Value::Histogram(h) => h.created = Some(created),
            Value::Summary(s) => s.created = Some(created),
            _ => {}
        }
        self
    }

    /// The descriptor.
    #[must_use]
    pub fn desc(&self) -> &Desc {
        &self.desc
    }

    /// The value.
    #[must_use]
    pub fn value(&self) -> &Value {
        &self.value
    }
}

type CollectFn = dyn Fn(&mut MetricSink<'_>) + Send + Sync;

/// A collector made of a list of descriptors and a closure.
///
/// # Examples
///
/// ```
/// use promclient::{ConstMetric, Desc, FnCollector, MetricType, Registry};
///
/// let desc = Desc::new(MetricType::Gauge, "answer", "The answer.", &[], &[])?;
/// let d = desc.clone();
/// let collector = FnCollector::new(vec![desc], move |out| {
///     out.push(&ConstMetric::gauge(&d, 42.0, &[]).expect("desc is a gauge's, no labels"));
/// });
/// let registry = Registry::new();
/// registry.register(collector)?;
/// let mut text = Vec::new();
/// promclient::encoding::text::encode(&registry.gather()?, &mut text)?;
/// assert_eq!(String::from_utf8(text)?, "# HELP answer The answer.\n# TYPE answer gauge\nanswer 42\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FnCollector {
    descs: Vec<Desc>,
    f: Box<CollectFn>,
}

impl FnCollector {
    /// A collector reporting through `f`; pass no descriptors for an
    /// unchecked collector.
    pub fn new(descs: Vec<Desc>, f: impl Fn(&mut MetricSink<'_>) + Send + Sync + 'static) -> Self {
        Self {
            descs,
            f: Box::new(f),
        }
    }
}

impl fmt::Debug for FnCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnCollector")
            .field("descs", &self.descs)
            .finish_non_exhaustive()
    }
}

impl Collector for FnCollector {
    fn describe(&self) -> Vec<Desc> {
        self.descs.clone()
    }

    fn collect(&self, out: &mut MetricSink<'_>) {
        (self.f)(out);
    }
}

/// A gauge or counter whose value comes from a function at collect time
/// (client_golang's `GaugeFunc` / `CounterFunc`).
///
/// # Examples
///
/// ```
/// use promclient::{Registry, ValueFn};
///
/// let registry = Registry::new();
/// registry.register(ValueFn::gauge("cores", "Logical CPUs.", || 2.0)?)?;
/// assert_eq!(registry.gather()?.family("cores").unwrap().metrics.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ValueFn {
    desc: Desc,
    f: Box<dyn Fn() -> f64 + Send + Sync>,
}

impl ValueFn {
    fn build(
        kind: MetricType,
        name: &str,
        help: &str,
        f: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Result<Self, crate::DescError> {
        Ok(Self {
            desc: Desc::new(kind, name, help, &[], &[])?,
            f: Box::new(f),
        })
    }

    /// A gauge whose value is `f()` at every collect.
    ///
    /// # Errors
    ///
    /// [`DescError`](crate::DescError) if the name is invalid.
    pub fn gauge(
        name: &str,
        help: &str,
        f: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Result<Self, crate::DescError> {
        Self::build(MetricType::Gauge, name, help, f)
    }

    /// A counter whose value is `f()` at every collect; `f` must never
    /// return less than it did before.
    ///
    /// # Errors
    ///
    /// [`DescError`](crate::DescError) if the name is invalid.
    pub fn counter(
        name: &str,
        help: &str,
        f: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Result<Self, crate::DescError> {
        Self::build(MetricType::Counter, name, help, f)
    }

    /// An untyped metric whose value is `f()` at every collect.
    ///
    /// # Errors
    ///
    /// [`DescError`](crate::DescError) if the name is invalid.
    pub fn untyped(
        name: &str,
        help: &str,
        f: impl Fn() -> f64 + Send + Sync + 'static,
    ) -> Result<Self, crate::DescError> {
        Self::build(MetricType::Untyped, name, help, f)
    }
}

impl fmt::Debug for ValueFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueFn")
            .field("desc", &self.desc)
            .finish_non_exhaustive()
    }
}

impl Collector for ValueFn {
    fn describe(&self) -> Vec<Desc> {
        vec![self.desc.clone()]
    }

    fn collect(&self, out: &mut MetricSink<'_>) {
        let v = (self.f)();
        if let Some(slot) = out.series(&self.desc, NO_LABELS, None) {
            *slot = match self.desc.metric_type() {
                MetricType::Counter => Value::Counter(CounterValue {
                    value: v,
                    ..CounterValue::default()
                }),
                MetricType::Gauge => Value::Gauge(v),
                _ => Value::Untyped(v),
            };
        }
    }
}
