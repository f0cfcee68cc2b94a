//! Builders of hand-made snapshot families for the encoder tests.

#![allow(dead_code)]

use promclient::{
    Bucket, CounterValue, HistogramValue, LabelPair, Metric, MetricFamily, MetricType, Quantile,
    SummaryValue, Value,
};

pub fn family(
    name: &str,
    help: &str,
    metric_type: MetricType,
    metrics: Vec<Metric>,
) -> MetricFamily {
    MetricFamily {
        name: name.into(),
        help: help.into(),
        metric_type,
        unit: None,
        metrics,
    }
}

/// A gauge family with one unlabeled series.
pub fn gauge_family(name: &str, help: &str, v: f64) -> MetricFamily {
    family(
        name,
        help,
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(v))],
    )
}

pub fn metric(labels: &[(&str, &str)], value: Value) -> Metric {
    Metric {
        labels: labels.iter().map(|(n, v)| LabelPair::new(*n, *v)).collect(),
        value,
        timestamp_ms: None,
    }
}

pub fn counter(v: f64) -> Value {
    Value::Counter(CounterValue {
        value: v,
        ..CounterValue::default()
    })
}

pub fn histogram_value(count: u64, sum: f64, buckets: &[(f64, u64)]) -> HistogramValue {
    HistogramValue {
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
    }
}

pub fn histogram(count: u64, sum: f64, buckets: &[(f64, u64)]) -> Value {
    Value::Histogram(Box::new(histogram_value(count, sum, buckets)))
}

pub fn summary(count: u64, sum: f64, quantiles: &[(f64, f64)]) -> Value {
    Value::Summary(Box::new(SummaryValue {
        sample_count: count,
        sample_sum: sum,
        quantiles: quantiles
            .iter()
            .map(|&(quantile, value)| Quantile { quantile, value })
            .collect(),
        created: None,
    }))
}
