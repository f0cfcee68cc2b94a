//! Prometheus instrumentation for Rust services: the analogue of Go's
//! client_golang, without its global state and without its panics.
//!
//! # A first example
//!
//! ```
//! use promclient::{CounterVec, Registry};
//!
//! // There is no global default registry: make one and register what you
//! // want reported. Nothing is collected that nobody asked for.
//! let registry = Registry::new();
//! let requests = CounterVec::new("http_requests_total", "Requests served.", ["method", "code"])?;
//! registry.register(requests.clone())?;
//!
//! requests.with_label_values(["GET", "200"]).inc();
//!
//! let families = registry.gather()?; // the snapshot
//! let mut out = Vec::new();
//! promclient::encoding::text::encode(&families, &mut out)?;
//! assert!(String::from_utf8(out)?.ends_with("http_requests_total{code=\"200\",method=\"GET\"} 1\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Metrics
//!
//! - [`Counter`] only goes up: [`Counter::inc`] and [`Counter::inc_by`] are
//!   one relaxed atomic add; [`Counter::add`] takes a float and refuses
//!   negative or NaN increments with a [`ValueError`]. A
//!   [`ShardedCounter`] is the same counter for the few hot paths many
//!   threads increment at once: each thread adds to a cache line of its
//!   own.
//! - [`Gauge`] goes up and down: set, inc, dec, add, sub, set to the
//!   current time.
//! - [`Histogram`] counts observations into classic buckets
//!   ([`DEFAULT_BUCKETS`], [`linear_buckets`], [`exponential_buckets`],
//!   [`exponential_buckets_range`]). [`Histogram::observe`] is lock-free,
//!   and every snapshot is consistent: `_count` equals the `+Inf` bucket
//!   and `_sum` is the sum of exactly the observations counted.
//!   [`Histogram::start_timer`] observes elapsed seconds.
//!
//! Every instrument is a cheap handle (clones share the value) and carries
//! its [`Desc`]: name, help, type, const labels ([`Opts`]).
//!
//! # Labeled families
//!
//! [`CounterVec`], [`GaugeVec`] and [`HistogramVec`] (client_golang's
//! `*Vec`) hold one child per combination of label values. The number of
//! labels is part of the type, so `with_label_values` with the wrong number
//! of values does not compile; runtime-sized lookups
//! ([`Family::try_with_label_values`], [`Family::with_labels`]) return a
//! [`LabelError`]. Children are keyed by their real values (the hash only
//! picks a bucket) and any UTF-8 value is accepted. Finding an existing
//! child takes no lock, no reference count and no allocation: a lookup
//! returns a [`Child`], which dereferences to the instrument handle and
//! pins an epoch, never a lock, so nothing can deadlock on it. Use it and
//! drop it; `.clone()` it to keep an owned handle, for instance out of a
//! hot loop.
//!
//! ```
//! use promclient::GaugeVec;
//!
//! let temps = GaugeVec::new("room_temperature_celsius", "Temperature.", ["room"])?;
//! temps.with_label_values(["kitchen"]).set(21.5);
//! temps.with_labels(&[("room", "attic")])?.set(17.0);
//! assert_eq!(temps.remove_partial_match(&[("room", "attic")]), 1);
//! assert_eq!(temps.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Custom collectors
//!
//! Implement [`Collector`] to report state you compute at scrape time:
//! describe your [`Desc`]s, then push [`ConstMetric`]s (counter, gauge,
//! untyped, histogram, summary) into the [`MetricSink`]. A failure goes to
//! [`MetricSink::error`] and the scrape carries on. For small cases,
//! [`FnCollector`] takes a closure and [`ValueFn`] reports one value from a
//! function (client_golang's `GaugeFunc`).
//!
//! # The registry
//!
//! [`Registry::register`] validates descriptors: a second registration of
//! the same collector returns [`RegisterError::AlreadyRegistered`], which
//! carries the registered collector ([`AlreadyRegisteredError::existing_as`])
//! so you can use it instead; the same name with another help, type or set
//! of label names is refused. Collectors that describe nothing are
//! *unchecked* and allowed. [`Registry::wrap`] gives a view that prefixes
//! names and adds const labels to everything registered through it.
//!
//! [`Registry::gather`] returns a [`Snapshot`]: families sorted by name,
//! series sorted by label values, empty families left out. It mirrors the
//! `io.prometheus.client` model field for field ([`MetricFamily`],
//! [`Metric`], [`Value`], ...), so tests can inspect values without parsing
//! text. A collector that panics or fails costs its own series, never the
//! scrape: the error lists what went wrong and carries the rest.
//! [`Registry::gather_into`] reuses a snapshot's memory, so a steady-state
//! gather allocates nothing per series.
//!
//! # Exposition
//!
//! [`encoding::text`] writes the text format 0.0.4, byte-identical to
//! client_golang's output for the same families, and
//! [`encoding::openmetrics`] OpenMetrics 1.0 text as client_golang writes
//! it where that is valid OpenMetrics. [`encoding::negotiate`] picks the
//! format a scraper's `Accept` header asks for, as client_golang's
//! `promhttp` does.
//!
//! # The process collector
//!
//! [`process::ProcessCollector`] reports client_golang's `process_*`
//! metrics (CPU time, memory, open and maximum file descriptors, start
//! time, network bytes) plus `process_threads`. It is opt-in, like every
//! collector here: register it if you want it. It keeps the process's proc
//! files open and counts open descriptors with one `fstat` (Linux 6.2 and
//! later) or by reading the `fd` directory into a reused buffer, so a
//! scrape costs microseconds and allocates nothing, at ten descriptors or a
//! million. Its builder points it at another pid (fixed, from a function or
//! a pid file) or another proc root (a host's procfs mounted in a
//! container), and chooses whether read errors are reported or skipped.
//!
//! ```
//! use promclient::{process::ProcessCollector, Registry};
//!
//! let registry = Registry::new();
//! registry.register(ProcessCollector::builder().network(false).build()?)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Serving `/metrics`
//!
//! [`http::MetricsHandler`] is client_golang's `promhttp.HandlerFor`: it
//! negotiates the format (protobuf, OpenMetrics, text) and gzip from the
//! scraper's request, gathers once for scrapes that arrive together, and
//! takes promhttp's options (error handling, scrapes in flight, timeout,
//! self-instrumentation, the `name[]` filter). `examples/server.rs` serves
//! it with hyper, `examples/axum.rs` from an axum app.
//!
//! # Errors and panics
//!
//! Bad names, bad label counts, bad buckets and negative counter increments
//! are typed errors ([`DescError`], [`LabelError`], [`BucketError`],
//! [`ValueError`], [`RegisterError`], [`GatherError`], [`EncodeError`],
//! [`ProcessError`]),
//! never panics. A panicking collector is caught during gather (unless the
//! binary is built with `panic = "abort"`).
//!
//! # Features
//!
//! - `process` (default): the [`process`] module. On Linux it reads procfs
//!   through `rustix`; on other platforms the collector compiles and
//!   reports nothing.
//! - `protobuf`: [`encoding::protobuf::model`], the `io.prometheus.client`
//!   message types generated by the `protobuf` crate (3.x), and
//!   [`encoding::protobuf::to_model`]. The protobuf *encoder* needs no
//!   feature: it writes the wire format itself.
//!
//! - `http`: the [`http`] module's [`http::MetricsHandler`], which serves
//!   `/metrics` on `http` request and response types (gzip through
//!   `flate2`).
//! - `tokio`: [`http::MetricsHandler::serve`], the async entry point that
//!   gathers on tokio's blocking pool and applies the timeout.
//! - `hyper`: the handler is a hyper 1.x `Service`.
//! - `axum`: the handler is a `tower_service::Service`, mounted with axum's
//!   `Router::route_service`.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
// `unsafe` lives in `family/table.rs`, `family/epoch.rs`,
// `encoding/room.rs`, `process/sys.rs` and `histogram/state.rs`, each
// block with a SAFETY note.
#![deny(unsafe_code)]

mod collector;
mod counter;
mod desc;
pub mod encoding;
mod error;
mod family;
mod gauge;
mod histogram;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "process")]
pub mod process;
mod registry;
mod sharded;
mod snapshot;
mod sync;

pub use collector::{Collector, ConstMetric, FnCollector, MetricSink, ValueFn};
pub use counter::Counter;
pub use desc::{is_valid_label_name, is_valid_metric_name, Desc, MetricType, NameValidation, Opts};
pub use encoding::Families;
pub use error::{
    AlreadyRegisteredError, BucketError, CollectError, ConstMetricError, DescError, EncodeError,
    GatherError, LabelError, ProcessError, RegisterError, ValueError,
};
pub use family::{Child, CounterVec, Family, FamilyMember, GaugeVec, HistogramVec};
pub use gauge::Gauge;
pub use histogram::{
    exponential_buckets, exponential_buckets_range, linear_buckets, Histogram, HistogramTimer,
    DEFAULT_BUCKETS,
};
pub use registry::{Gatherer, Registry, WrappedRegistry};
pub use sharded::ShardedCounter;
pub use snapshot::{
    Bucket, BucketSpan, CounterValue, Exemplar, HistogramValue, LabelPair, Metric, MetricFamily,
    NativeHistogram, Quantile, Snapshot, SummaryValue, Value,
};

/// The README's examples, compiled and run as doctests (they serve with
/// hyper and axum, so only with those features).
#[cfg(all(doctest, feature = "hyper", feature = "axum"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
