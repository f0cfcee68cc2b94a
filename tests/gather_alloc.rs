//! Allocation counts of the steady-state hot paths: gather into a reused
//! snapshot, lookups of existing children, instrument updates, and text
//! encoding into a reused buffer.
//!
//! A counting global allocator counts per thread, so only what the measured
//! closure does on this thread is counted. This file holds a single test so
//! nothing else runs in this binary while it measures.

use promclient::encoding::text::encode;
use promclient::{
    Counter, CounterVec, Gauge, GaugeVec, Histogram, HistogramVec, LabelPair, Metric, MetricFamily,
    MetricType, Quantile, Registry, Snapshot, SummaryValue, Value, ValueFn, DEFAULT_BUCKETS,
};

#[path = "common/alloc.rs"]
mod alloc;
use alloc::{measure, Allocs};

/// A registry of `scale` x (1,000 counter series in 100 families, 100
/// histogram series, 50 labeled gauges) plus 10 plain gauges, a counter
/// and a wrapped family, and handles to update them all.
struct Setup {
    registry: Registry,
    counters: Vec<CounterVec<1>>,
    counter_keys: Vec<String>,
    histograms: HistogramVec<2>,
    histogram_keys: Vec<(String, String)>,
    gauges: Vec<Gauge>,
    gauge_vec: GaugeVec<1>,
    wrapped: CounterVec<1>,
    plain: Counter,
    single: Histogram,
}

fn setup(scale: usize) -> Setup {
    let registry = Registry::new();
    let counter_keys: Vec<String> = (0..10 * scale).map(|i| format!("value-{i}")).collect();
    let counters: Vec<CounterVec<1>> = (0..100)
        .map(|f| {
            let c = CounterVec::new(&format!("counter_{f:03}_total"), "A counter.", ["key"])
                .expect("valid");
            registry.register(c.clone()).expect("registers");
            for k in &counter_keys {
                c.with_label_values([k]).inc();
            }
            c
        })
        .collect();
    let histograms = HistogramVec::new(
        "request_seconds",
        "Latency.",
        ["route", "code"],
        &DEFAULT_BUCKETS,
    )
    .expect("valid");
    registry.register(histograms.clone()).expect("registers");
    let histogram_keys: Vec<(String, String)> = (0..100 * scale)
        .map(|i| (format!("/route/{i}"), ["200", "500"][i % 2].to_string()))
        .collect();
    for (r, c) in &histogram_keys {
        histograms.with_label_values([r, c]).observe(0.1);
    }
    let gauges: Vec<Gauge> = (0..10)
        .map(|i| {
            let g = Gauge::new(&format!("gauge_{i}"), "A gauge.").expect("valid");
            registry.register(g.clone()).expect("registers");
            g
        })
        .collect();
    let gauge_vec = GaugeVec::new("queue_length", "Queue length.", ["queue"]).expect("valid");
    registry.register(gauge_vec.clone()).expect("registers");
    for i in 0..50 * scale {
        gauge_vec
            .with_label_values([&format!("q{i}")])
            .set(i as f64);
    }
    let wrapped = CounterVec::new("wrapped_total", "Wrapped.", ["k"]).expect("valid");
    registry
        .wrap("sub_", &[("pool", "main")])
        .expect("valid wrap")
        .register(wrapped.clone())
        .expect("registers");
    wrapped.with_label_values(["a"]).inc();
    let plain = Counter::new("plain_total", "Plain.").expect("valid");
    registry.register(plain.clone()).expect("registers");
    let single = Histogram::new("single_seconds", "Single.", &[0.5, 1.0]).expect("valid");
    registry.register(single.clone()).expect("registers");
    registry
        .register(ValueFn::gauge("answer", "Answer.", || 42.0).expect("valid"))
        .expect("registers");
    Setup {
        registry,
        counters,
        counter_keys,
        histograms,
        histogram_keys,
        gauges,
        gauge_vec,
        wrapped,
        plain,
        single,
    }
}

fn series_count(snapshot: &Snapshot) -> usize {
    snapshot.iter().map(|f| f.metrics.len()).sum()
}

fn counter_value(snapshot: &Snapshot, family: &str, index: usize) -> f64 {
    match &snapshot.family(family).expect("gathered").metrics[index].value {
        Value::Counter(c) => c.value,
        other => panic!("not a counter: {other:?}"),
    }
}

/// Summary families built by hand (summaries only come from const metrics,
/// which allocate when built, so they are encoded but not gathered here).
fn summary_families(series: usize) -> Vec<MetricFamily> {
    let metrics = (0..series)
        .map(|i| Metric {
            labels: vec![LabelPair::new("shard", i.to_string())].into(),
            value: Value::Summary(Box::new(SummaryValue {
                sample_count: 10,
                sample_sum: 2.5,
                quantiles: [0.5, 0.9, 0.99]
                    .iter()
                    .map(|&q| Quantile {
                        quantile: q,
                        value: q * 2.0,
                    })
                    .collect(),
                created: None,
            })),
            timestamp_ms: None,
        })
        .collect();
    vec![MetricFamily {
        name: "rpc_seconds".into(),
        help: "RPC latency.".into(),
        metric_type: MetricType::Summary,
        unit: None,
        metrics,
    }]
}

/// Allocations of one `encode` into a reused buffer that is already large
/// enough.
fn encode_allocs(families: &[MetricFamily]) -> Allocs {
    let mut out = Vec::new();
    encode(families, &mut out).expect("encodes");
    // Twice the size: whatever encode reserves ahead stays within capacity.
    out.reserve(out.len());
    out.clear();
    let cap = out.capacity();
    let (r, allocs) = measure(|| encode(families, &mut out));
    r.expect("encodes");
    assert_eq!(out.capacity(), cap, "the output buffer did not grow");
    allocs
}

#[test]
fn steady_state_hot_paths_do_not_allocate() {
    let s = setup(1);
    let mut snapshot = Snapshot::new();
    s.registry.gather_into(&mut snapshot).expect("gathers");
    s.registry.gather_into(&mut snapshot).expect("gathers");
    let series = series_count(&snapshot);
    assert_eq!(series, 1_000 + 100 + 10 + 50 + 1 + 1 + 1 + 1);
    assert_eq!(counter_value(&snapshot, "counter_000_total", 0), 1.0);

    // Updating through held handles allocates nothing.
    let ((), updates) = measure(|| {
        for c in &s.counters {
            c.with_label_values([&s.counter_keys[3]]).inc_by(2);
        }
        for (i, g) in s.gauges.iter().enumerate() {
            g.set(i as f64 * 1.5);
        }
        s.plain.inc();
        s.single.observe(0.75);
        s.wrapped.with_label_values(["a"]).inc();
    });
    assert_eq!(updates, Allocs { count: 0, bytes: 0 }, "updates");

    // Lookups of existing children allocate nothing.
    let (child, lookup) = measure(|| s.counters[42].with_label_values([&s.counter_keys[7]]));
    assert_eq!(lookup, Allocs { count: 0, bytes: 0 }, "counter lookup");
    child.inc();
    let (hist, lookup) = measure(|| {
        let (r, c) = &s.histogram_keys[17];
        s.histograms.with_label_values([r, c])
    });
    assert_eq!(lookup, Allocs { count: 0, bytes: 0 }, "histogram lookup");
    hist.observe(3.0);
    let (gauge, lookup) = measure(|| s.gauge_vec.with_label_values(["q7"]));
    assert_eq!(lookup, Allocs { count: 0, bytes: 0 }, "gauge lookup");
    gauge.add(0.5);
    let (r, lookup) = measure(|| s.counters[0].try_with_label_values(&[&s.counter_keys[0]]));
    assert_eq!(lookup, Allocs { count: 0, bytes: 0 }, "try lookup");
    r.expect("one value").inc();
    let (r, lookup) = measure(|| {
        s.histograms
            .with_labels(&[("code", "500"), ("route", "/route/1")])
    });
    assert_eq!(lookup, Allocs { count: 0, bytes: 0 }, "lookup by name");
    r.expect("existing labels").observe(0.01);

    // The measured gather: values changed, nothing allocated.
    let (r, gather) = measure(|| s.registry.gather_into(&mut snapshot));
    r.expect("gathers");
    assert_eq!(gather, Allocs { count: 0, bytes: 0 }, "gather_into");
    // The gather did see the updates.
    assert_eq!(counter_value(&snapshot, "counter_000_total", 3), 3.0);
    assert_eq!(counter_value(&snapshot, "counter_042_total", 7), 2.0);
    assert_eq!(counter_value(&snapshot, "counter_042_total", 3), 3.0);
    assert_eq!(counter_value(&snapshot, "sub_wrapped_total", 0), 2.0);
    assert_eq!(counter_value(&snapshot, "plain_total", 0), 1.0);
    assert_eq!(series_count(&snapshot), series);
    assert_eq!(snapshot, s.registry.gather().expect("gathers"));

    // Again, ten times larger: still nothing per series.
    let big = setup(10);
    let mut big_snapshot = Snapshot::new();
    big.registry
        .gather_into(&mut big_snapshot)
        .expect("gathers");
    big.registry
        .gather_into(&mut big_snapshot)
        .expect("gathers");
    big.counters[5]
        .with_label_values([&big.counter_keys[55]])
        .inc();
    let (r, gather) = measure(|| big.registry.gather_into(&mut big_snapshot));
    r.expect("gathers");
    assert_eq!(gather, Allocs { count: 0, bytes: 0 }, "gather_into x10");
    assert_eq!(series_count(&big_snapshot), 10_000 + 1_000 + 10 + 500 + 4);

    // Encoding into a reused buffer: whatever it allocates must not depend
    // on the number of series.
    let small = encode_allocs(&snapshot);
    let large = encode_allocs(&big_snapshot);
    eprintln!("encode allocations per call: {small:?} for {series} series, {large:?} for 10x");
    assert_eq!(
        small.count, large.count,
        "encode allocations grow with series"
    );
    assert_eq!(small.bytes, large.bytes, "encode bytes grow with series");
    // The per-call scratch that formats `le` values once per bucket layout
    // and pads them and a series' bucket line prefix for fixed-size copies
    // (11 allocations, 1,194 bytes in all with the default buckets, each
    // buffer reserved once). Far below one per family (this snapshot has
    // over a hundred).
    assert!(small.count <= 11, "{small:?}");
    let small = encode_allocs(&summary_families(100));
    let large = encode_allocs(&summary_families(1_000));
    eprintln!("encode allocations per call with summaries: {small:?} / {large:?}");
    assert_eq!(small, large, "summary encode allocations grow with series");
    // Gauges and counters alone need no scratch memory at all.
    let scalar_only: Vec<MetricFamily> = snapshot
        .iter()
        .filter(|f| matches!(f.metric_type, MetricType::Counter | MetricType::Gauge))
        .cloned()
        .collect();
    assert_eq!(
        encode_allocs(&scalar_only),
        Allocs { count: 0, bytes: 0 },
        "counter and gauge encode"
    );
}
