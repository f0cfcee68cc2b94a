//! Typed errors, one type per failure domain.
//!
//! Every error here is `#[non_exhaustive]`, implements [`std::error::Error`]
//! and displays in lowercase without a trailing period.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use crate::collector::Collector;
use crate::desc::MetricType;
use crate::snapshot::Snapshot;

/// A metric name, label name, help or bucket layout was refused when a
/// [`Desc`](crate::Desc) or an instrument was built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DescError {
    /// The metric name does not match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    InvalidMetricName {
        /// The refused name.
        name: String,
    },
    /// The label name does not match `[a-zA-Z_][a-zA-Z0-9_]*`.
    InvalidLabelName {
        /// The metric the label belongs to.
        metric: String,
        /// The refused label name.
        label: String,
    },
    /// Label names starting with `__` are reserved for Prometheus' own use.
    ReservedLabelName {
        /// The metric the label belongs to.
        metric: String,
        /// The refused label name.
        label: String,
    },
    /// The label name is used by the metric type itself (`le` for
    /// histograms, `quantile` for summaries).
    ForbiddenLabelName {
        /// The metric the label belongs to.
        metric: String,
        /// The refused label name.
        label: String,
    },
    /// The same label name appears twice among const and variable labels.
    DuplicateLabelName {
        /// The metric the label belongs to.
        metric: String,
        /// The repeated label name.
        label: String,
    },
    /// The histogram bucket layout is invalid.
    InvalidBuckets(BucketError),
}

impl fmt::Display for DescError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidMetricName { name } => write!(f, "{name:?} is not a valid metric name"),
            Self::InvalidLabelName { metric, label } => {
                write!(
                    f,
                    "{label:?} is not a valid label name for metric {metric:?}"
                )
            }
            Self::ReservedLabelName { metric, label } => {
                write!(
                    f,
                    "label name {label:?} of metric {metric:?} is reserved (starts with \"__\")"
                )
            }
            Self::ForbiddenLabelName { metric, label } => {
                write!(
                    f,
                    "label name {label:?} is not allowed for metric {metric:?} of this type"
                )
            }
            Self::DuplicateLabelName { metric, label } => {
                write!(f, "duplicate label name {label:?} for metric {metric:?}")
            }
            Self::InvalidBuckets(e) => write!(f, "invalid buckets: {e}"),
        }
    }
}

impl Error for DescError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::InvalidBuckets(e) => Some(e),
            _ => None,
        }
    }
}

impl From<BucketError> for DescError {
    fn from(e: BucketError) -> Self {
        Self::InvalidBuckets(e)
    }
}

/// A histogram bucket layout or bucket helper argument was refused.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BucketError {
    /// Bucket upper bounds must be strictly increasing.
    NotIncreasing {
        /// Index of the offending bound.
        index: usize,
        /// The bound before it.
        previous: f64,
        /// The offending bound.
        bound: f64,
    },
    /// A bucket upper bound is NaN.
    NaN {
        /// Index of the offending bound.
        index: usize,
    },
    /// A bucket helper was asked for zero buckets.
    ZeroCount,
    /// A bucket helper argument is out of range.
    InvalidArgument {
        /// Which argument, and what it must be.
        what: &'static str,
        /// The refused value.
        value: f64,
    },
}

impl fmt::Display for BucketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotIncreasing { index, previous, bound } => write!(
                f,
                "bucket bounds must be strictly increasing, but bound {index} ({bound}) follows {previous}"
            ),
            Self::NaN { index } => write!(f, "bucket bound {index} is NaN"),
            Self::ZeroCount => write!(f, "bucket count must be at least 1"),
            Self::InvalidArgument { what, value } => write!(f, "{what}, got {value}"),
        }
    }
}

impl Error for BucketError {}

/// Label values did not fit a labeled family or const metric.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LabelError {
    /// The number of label values differs from the number of label names.
    Cardinality {
        /// The metric name.
        metric: String,
        /// The number of variable labels the metric has.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A label name given by name is not one of the metric's variable labels.
    UnknownLabel {
        /// The metric name.
        metric: String,
        /// The unknown label name.
        label: String,
    },
    /// A variable label was not given a value.
    MissingLabel {
        /// The metric name.
        metric: String,
        /// The label without a value.
        label: String,
    },
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cardinality {
                metric,
                expected,
                got,
            } => write!(
                f,
                "metric {metric:?} has {expected} variable labels but {got} values were given"
            ),
            Self::UnknownLabel { metric, label } => {
                write!(f, "metric {metric:?} has no variable label {label:?}")
            }
            Self::MissingLabel { metric, label } => {
                write!(f, "no value given for label {label:?} of metric {metric:?}")
            }
        }
    }
}

impl Error for LabelError {}

/// A value was refused by an instrument; the instrument is unchanged.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum ValueError {
    /// Counters only go up: the increment was negative.
    NegativeIncrement(f64),
    /// The increment was NaN.
    NaN,
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NegativeIncrement(v) => write!(f, "counter cannot decrease (increment {v})"),
            Self::NaN => write!(f, "increment is NaN"),
        }
    }
}

impl Error for ValueError {}

/// A const metric could not be built from its descriptor and values.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConstMetricError {
    /// The descriptor declares another metric type.
    TypeMismatch {
        /// The metric name.
        metric: String,
        /// The type of the descriptor.
        desc: MetricType,
        /// The type of the value given.
        value: MetricType,
    },
    /// The label values do not fit the descriptor.
    Labels(LabelError),
    /// The histogram buckets are invalid (bounds not increasing, or
    /// cumulative counts decreasing or above the total count).
    InvalidBuckets {
        /// The metric name.
        metric: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A summary quantile is outside `[0, 1]` or NaN.
    InvalidQuantile {
        /// The metric name.
        metric: String,
        /// The refused quantile.
        quantile: f64,
    },
}

impl fmt::Display for ConstMetricError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TypeMismatch {
                metric,
                desc,
                value,
            } => write!(
                f,
                "metric {metric:?} is described as {desc} but a {value} value was given"
            ),
            Self::Labels(e) => e.fmt(f),
            Self::InvalidBuckets { metric, reason } => {
                write!(f, "invalid buckets for metric {metric:?}: {reason}")
            }
            Self::InvalidQuantile { metric, quantile } => {
                write!(
                    f,
                    "quantile {quantile} of metric {metric:?} is not within [0, 1]"
                )
            }
        }
    }
}

impl Error for ConstMetricError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Labels(e) => Some(e),
            _ => None,
        }
    }
}

impl From<LabelError> for ConstMetricError {
    fn from(e: LabelError) -> Self {
        Self::Labels(e)
    }
}

/// A collector could not be registered. Nothing was registered.
#[derive(Debug)]
#[non_exhaustive]
pub enum RegisterError {
    /// The very same collector (same descriptors) is registered already.
    AlreadyRegistered(AlreadyRegisteredError),
    /// Another collector already registered a descriptor with the same name
    /// and const label values.
    DuplicateDesc {
        /// The metric name.
        metric: String,
    },
    /// A descriptor with the same name but a different help, type or set of
    /// label names is registered.
    Inconsistent {
        /// The metric name.
        metric: String,
        /// What differs: `"help"`, `"type"` or `"label names"`.
        differs: &'static str,
    },
    /// The registry's wrapper could not apply its prefix or labels.
    Desc(DescError),
    /// A descriptor has a name outside the legacy character set and the
    /// registry allows legacy names only (see
    /// [`Registry::with_name_validation`](crate::Registry::with_name_validation)).
    Utf8Names {
        /// The metric name.
        metric: String,
    },
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyRegistered(e) => e.fmt(f),
            Self::DuplicateDesc { metric } => write!(
                f,
                "a descriptor with name {metric:?} and the same const label values is already registered"
            ),
            Self::Inconsistent { metric, differs } => write!(
                f,
                "a descriptor named {metric:?} with different {differs} is already registered"
            ),
            Self::Desc(e) => e.fmt(f),
            Self::Utf8Names { metric } => write!(
                f,
                "metric {metric:?} has UTF-8 names and the registry allows legacy names only"
            ),
        }
    }
}

impl Error for RegisterError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::AlreadyRegistered(e) => Some(e),
            Self::Desc(e) => Some(e),
            _ => None,
        }
    }
}

impl From<DescError> for RegisterError {
    fn from(e: DescError) -> Self {
        Self::Desc(e)
    }
}

/// The collector, or one equal to it, is registered already; this carries
/// the registered one so callers can use it instead.
///
/// # Examples
///
/// ```
/// use promclient::{Counter, Registry, RegisterError};
///
/// let registry = Registry::new();
/// let first = Counter::new("jobs_total", "Jobs done.")?;
/// registry.register(first.clone())?;
/// first.inc();
///
/// let second = Counter::new("jobs_total", "Jobs done.")?;
/// let jobs = match registry.register(second.clone()) {
///     Ok(()) => second,
///     Err(RegisterError::AlreadyRegistered(e)) => e.existing_as::<Counter>().unwrap(),
///     Err(e) => return Err(e.into()),
/// };
/// assert_eq!(jobs.value(), 1.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct AlreadyRegisteredError {
    pub(crate) existing: Arc<dyn Collector>,
    pub(crate) original: Arc<dyn std::any::Any + Send + Sync>,
    pub(crate) metric: String,
}

impl AlreadyRegisteredError {
    /// The collector that is registered.
    #[must_use]
    pub fn existing(&self) -> &Arc<dyn Collector> {
        &self.existing
    }

    /// The registered collector as its concrete type, if it is a `C`
    /// (instruments and families are cheap handles, so this is a clone of
    /// the registered handle).
    #[must_use]
    pub fn existing_as<C: Collector + Clone>(&self) -> Option<C> {
        self.original.downcast_ref::<C>().cloned()
    }
}

impl fmt::Debug for AlreadyRegisteredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlreadyRegisteredError")
            .field("metric", &self.metric)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AlreadyRegisteredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a collector for metric {:?} is already registered",
            self.metric
        )
    }
}

impl Error for AlreadyRegisteredError {}

/// One problem found while gathering. The rest of the gather went on.
#[derive(Debug)]
#[non_exhaustive]
pub enum CollectError {
    /// A collector panicked; what it had collected in that call was dropped.
    Panicked {
        /// The panic message, if it was a string.
        message: String,
    },
    /// A collector reported a failure through
    /// [`MetricSink::error`](crate::MetricSink::error).
    Failed(Box<dyn Error + Send + Sync>),
    /// The same series (name and label set) was collected twice; the later
    /// one was dropped.
    DuplicateSeries {
        /// The metric name.
        metric: String,
        /// The label pairs, as `name="value"` text.
        labels: String,
    },
    /// A series disagrees with earlier series of the same name in help or
    /// type; it was dropped.
    Inconsistent {
        /// The metric name.
        metric: String,
        /// What differs: `"help"` or `"type"`.
        differs: &'static str,
    },
    /// A family's name collides with a histogram's or summary's generated
    /// series (`_bucket`, `_count`, `_sum`); the family was dropped.
    NameCollision {
        /// The dropped family.
        metric: String,
        /// The histogram or summary it collides with.
        with: String,
    },
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Panicked { message } => write!(f, "collector panicked: {message}"),
            Self::Failed(e) => write!(f, "collector failed: {e}"),
            Self::DuplicateSeries { metric, labels } => write!(
                f,
                "series {metric}{{{labels}}} was collected before with the same name and label values"
            ),
            Self::Inconsistent { metric, differs } => write!(
                f,
                "series of metric {metric:?} were collected with different {differs}"
            ),
            Self::NameCollision { metric, with } => write!(
                f,
                "metric {metric:?} collides with the series of histogram or summary {with:?}"
            ),
        }
    }
}

impl Error for CollectError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Failed(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// Gathering found problems. The families that could be gathered are
/// still there: in [`GatherError::partial`] after [`Registry::gather`], and
/// in the caller's snapshot after [`Registry::gather_into`].
///
/// [`Registry::gather`]: crate::Registry::gather
/// [`Registry::gather_into`]: crate::Registry::gather_into
#[derive(Debug)]
#[non_exhaustive]
pub struct GatherError {
    pub(crate) errors: Vec<CollectError>,
    pub(crate) partial: Box<Snapshot>,
}

impl GatherError {
    /// Every problem found, in the order found.
    #[must_use]
    pub fn errors(&self) -> &[CollectError] {
        &self.errors
    }

    /// What could be gathered (empty after
    /// [`Registry::gather_into`](crate::Registry::gather_into), which leaves
    /// it in the caller's snapshot).
    #[must_use]
    pub fn partial(&self) -> &Snapshot {
        &self.partial
    }

    /// Takes the partial snapshot out.
    #[must_use]
    pub fn into_partial(self) -> Snapshot {
        *self.partial
    }
}

impl fmt::Display for GatherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} error(s) occurred during gathering",
            self.errors.len()
        )?;
        for e in &self.errors {
            write!(f, "\n* {e}")?;
        }
        Ok(())
    }
}

impl Error for GatherError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.errors.first().map(|e| e as &(dyn Error + 'static))
    }
}

/// A snapshot could not be encoded: it holds something the format cannot
/// express. Output written before the problem stays in the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A series' value does not match its family's type.
    TypeMismatch {
        /// The family name.
        metric: String,
    },
    /// A family or label name is not valid in this format.
    InvalidName {
        /// The refused name.
        name: String,
    },
    /// A histogram's buckets are not in increasing order of their bounds
    /// and counts, a bound is NaN, or the counts exceed or miss the
    /// sample count (OpenMetrics checks what the text format assumes).
    InvalidHistogram {
        /// The family name.
        metric: String,
    },
    /// A summary has a quantile outside `[0, 1]` (or NaN), which
    /// OpenMetrics does not allow.
    InvalidSummary {
        /// The family name.
        metric: String,
    },
    /// Two families would expose the same sample name in OpenMetrics: a
    /// counter `a_total` (OpenMetrics name `a`) beside a gauge `a`, or a
    /// family beside one named like its samples (a gauge `a_count` beside
    /// a histogram `a`).
    NameClash {
        /// The family whose name the other's starts with.
        first: String,
        /// The other family.
        second: String,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TypeMismatch { metric } => {
                write!(
                    f,
                    "a series of family {metric:?} does not match the family's type"
                )
            }
            Self::InvalidName { name } => write!(f, "{name:?} is not a valid name in this format"),
            Self::InvalidHistogram { metric } => write!(
                f,
                "a histogram of family {metric:?} has buckets out of order, a NaN bound, or counts that do not add up"
            ),
            Self::InvalidSummary { metric } => write!(
                f,
                "a summary of family {metric:?} has a quantile outside [0, 1]"
            ),
            Self::NameClash { first, second } => write!(
                f,
                "families {first:?} and {second:?} would expose the same OpenMetrics sample name"
            ),
        }
    }
}

impl Error for EncodeError {}

/// A read of the process collector failed; reported in gather's errors
/// (as [`CollectError::Failed`]) when
/// [`report_errors`](crate::process::ProcessCollectorBuilder::report_errors)
/// is on. The metrics that could be read are still reported.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProcessError {
    /// The pid function or pid file gave no pid.
    Pid(std::io::Error),
    /// A proc file or directory could not be opened or read: the process
    /// does not exist (any more), or the root is not a proc tree.
    Read {
        /// What was read.
        path: std::path::PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// A proc file did not hold what it should.
    Malformed {
        /// What was read.
        path: std::path::PathBuf,
        /// What was missing or wrong.
        what: &'static str,
    },
    /// This platform has no process metrics.
    Unsupported,
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pid(e) => write!(f, "no pid to report on: {e}"),
            Self::Read { path, source } => write!(f, "reading {}: {source}", path.display()),
            Self::Malformed { path, what } => write!(f, "malformed {}: {what}", path.display()),
            Self::Unsupported => f.write_str("process metrics are not supported on this platform"),
        }
    }
}

impl Error for ProcessError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Pid(e) | Self::Read { source: e, .. } => Some(e),
            Self::Malformed { .. } | Self::Unsupported => None,
        }
    }
}
