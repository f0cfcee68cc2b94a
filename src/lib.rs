//! promclient (work in progress)
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod collector;
mod counter;
mod desc;
pub mod encoding;
mod error;
mod family;
mod gauge;
pub mod histogram;
mod registry;
mod snapshot;

pub use collector::{Collector, ConstMetric, FnCollector, MetricSink, ValueFn};
pub use counter::Counter;
pub use desc::{is_valid_label_name, is_valid_metric_name, Desc, MetricType, Opts};
pub use error::{
    AlreadyRegisteredError, BucketError, CollectError, ConstMetricError, DescError, EncodeError,
    GatherError, LabelError, RegisterError, ValueError,
};
pub use family::{CounterVec, Family, FamilyMember, GaugeVec, HistogramVec};
pub use gauge::Gauge;
pub use histogram::{
    exponential_buckets, exponential_buckets_range, linear_buckets, Histogram, HistogramTimer,
    DEFAULT_BUCKETS,
};
pub use registry::{Registry, WrappedRegistry};
pub use snapshot::{
    Bucket, BucketSpan, CounterValue, Exemplar, HistogramValue, LabelPair, Metric, MetricFamily,
    NativeHistogram, Quantile, Snapshot, SummaryValue, Value,
};
