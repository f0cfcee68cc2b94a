//! Snapshot to generated `io.prometheus.client` messages, every field set
//! as client_golang sets it (proto2 optionals present even when zero).

use std::time::SystemTime;

use protobuf::well_known_types::timestamp::Timestamp;
use protobuf::{EnumOrUnknown, MessageField};

use super::model;
use super::timestamp_parts;
use crate::desc::MetricType;
use crate::encoding::Families;
use crate::snapshot::{
    Bucket, BucketSpan, CounterValue, Exemplar, HistogramValue, LabelPair, Metric, MetricFamily,
    SummaryValue, Value,
};

/// The families with series as generated protobuf messages: what
/// [`encode`](super::encode) writes, as structs.
///
/// ```
/// use promclient::{Gauge, Registry};
/// use promclient::encoding::protobuf::{model, to_model};
///
/// let registry = Registry::new();
/// let g = Gauge::new("queue_depth", "Jobs waiting.")?;
/// registry.register(g.clone())?;
/// g.set(7.0);
/// let messages = to_model(&registry.gather()?);
/// assert_eq!(messages[0].name(), "queue_depth");
/// assert_eq!(messages[0].type_(), model::MetricType::GAUGE);
/// assert_eq!(messages[0].metric[0].gauge.value(), 7.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn to_model<F: Families + ?Sized>(families: &F) -> Vec<model::MetricFamily> {
    families
        .families()
        .iter()
        .filter(|f| !f.metrics.is_empty())
        .map(model::MetricFamily::from)
        .collect()
}

impl From<&MetricFamily> for model::MetricFamily {
    fn from(f: &MetricFamily) -> Self {
        Self {
            name: Some(f.name.to_string()),
            help: Some(f.help.to_string()),
            type_: Some(EnumOrUnknown::new(metric_type(f.metric_type))),
            metric: f.metrics.iter().map(model::Metric::from).collect(),
            unit: f.unit.as_deref().map(str::to_owned),
            ..Self::default()
        }
    }
}

impl From<&Metric> for model::Metric {
    fn from(m: &Metric) -> Self {
        let mut out = Self {
            label: labels(&m.labels),
            timestamp_ms: m.timestamp_ms,
            ..Self::default()
        };
        match &m.value {
            Value::Counter(c) => out.counter = MessageField::some(counter(c)),
            Value::Gauge(v) => {
                out.gauge = MessageField::some(model::Gauge {
                    value: Some(*v),
                    ..Default::default()
                });
            }
            Value::Untyped(v) => {
                out.untyped = MessageField::some(model::Untyped {
                    value: Some(*v),
                    ..Default::default()
                });
            }
            Value::Summary(s) => out.summary = MessageField::some(summary(s)),
            Value::Histogram(h) => out.histogram = MessageField::some(histogram(h)),
        }
        out
    }
}

fn metric_type(t: MetricType) -> model::MetricType {
    match t {
        MetricType::Counter => model::MetricType::COUNTER,
        MetricType::Gauge => model::MetricType::GAUGE,
        MetricType::Summary => model::MetricType::SUMMARY,
        MetricType::Untyped => model::MetricType::UNTYPED,
        MetricType::Histogram => model::MetricType::HISTOGRAM,
    }
}

fn labels(labels: &[LabelPair]) -> Vec<model::LabelPair> {
    labels
        .iter()
        .map(|l| model::LabelPair {
            name: Some(l.name.to_string()),
            value: Some(l.value.to_string()),
            ..Default::default()
        })
        .collect()
}

fn timestamp(t: Option<SystemTime>) -> MessageField<Timestamp> {
    t.map_or_else(MessageField::none, |t| {
        let (seconds, nanos) = timestamp_parts(t);
        MessageField::some(Timestamp {
            seconds,
            // Below 10^9, so it fits.
            nanos: i32::try_from(nanos).unwrap_or(i32::MAX),
            ..Default::default()
        })
    })
}

fn exemplar(e: Option<&Exemplar>) -> MessageField<model::Exemplar> {
    e.map_or_else(MessageField::none, |e| {
        MessageField::some(model::Exemplar {
            label: labels(&e.labels),
            value: Some(e.value),
            timestamp: timestamp(e.timestamp),
            ..Default::default()
        })
    })
}

fn counter(c: &CounterValue) -> model::Counter {
    model::Counter {
        value: Some(c.value),
        exemplar: exemplar(c.exemplar.as_deref()),
        created_timestamp: timestamp(c.created),
        ..Default::default()
    }
}

fn summary(s: &SummaryValue) -> model::Summary {
    model::Summary {
        sample_count: Some(s.sample_count),
        sample_sum: Some(s.sample_sum),
        quantile: s
            .quantiles
            .iter()
            .map(|q| model::Quantile {
                quantile: Some(q.quantile),
                value: Some(q.value),
                ..Default::default()
            })
            .collect(),
        created_timestamp: timestamp(s.created),
        ..Default::default()
    }
}

fn histogram(h: &HistogramValue) -> model::Histogram {
    let mut out = model::Histogram {
        sample_count: Some(h.sample_count),
        sample_sum: Some(h.sample_sum),
        bucket: h.buckets.iter().map(bucket).collect(),
        created_timestamp: timestamp(h.created),
        ..Default::default()
    };
    if let Some(n) = h.native.as_deref() {
        out.schema = Some(n.schema);
        out.zero_threshold = Some(n.zero_threshold);
        out.zero_count = Some(n.zero_count);
        out.negative_span = spans(&n.negative_spans);
        out.negative_delta.clone_from(&n.negative_deltas);
        out.positive_span = spans(&n.positive_spans);
        if super::needs_marker_span(n) {
            out.positive_span = spans(&[super::MARKER_SPAN]);
        }
        out.positive_delta.clone_from(&n.positive_deltas);
        out.exemplars = n
            .exemplars
            .iter()
            .filter_map(|e| exemplar(Some(e)).into_option())
            .collect();
    }
    out
}

fn bucket(b: &Bucket) -> model::Bucket {
    model::Bucket {
        cumulative_count: Some(b.cumulative_count),
        upper_bound: Some(b.upper_bound),
        exemplar: exemplar(b.exemplar.as_deref()),
        ..Default::default()
    }
}

fn spans(spans: &[BucketSpan]) -> Vec<model::BucketSpan> {
    spans
        .iter()
        .map(|s| model::BucketSpan {
            offset: Some(s.offset),
            length: Some(s.length),
            ..Default::default()
        })
        .collect()
}
