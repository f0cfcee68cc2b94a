//! The protobuf exposition, decoded with the message types the `protobuf`
//! crate generates from `proto/metrics.proto`: every field of the snapshot
//! comes back, and the bytes are exactly what the crate's own serializer
//! writes for the same messages.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use protobuf::{CodedInputStream, Message};

use promclient::encoding::negotiate::Escaping;
use promclient::encoding::protobuf::{encode, encode_escaped, model, to_model, CONTENT_TYPE};
use promclient::{
    Bucket, BucketSpan, CounterValue, CounterVec, EncodeError, Exemplar, Gauge, HistogramValue,
    HistogramVec, LabelPair, Metric, MetricFamily, MetricType, NativeHistogram, Quantile, Registry,
    SummaryValue, Value, ValueFn,
};

#[path = "common/families.rs"]
mod families;
use families::{counter, family, histogram, metric, summary};

/// Splits a length-delimited stream into its messages.
fn decode(bytes: &[u8]) -> Vec<model::MetricFamily> {
    let mut input = CodedInputStream::from_bytes(bytes);
    let mut out = Vec::new();
    while !input.eof().expect("stream readable") {
        out.push(
            input
                .read_message()
                .expect("a length-delimited MetricFamily"),
        );
    }
    out
}

/// What the `protobuf` crate writes for the converted messages.
fn crate_bytes(families: &[MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in to_model(families) {
        m.write_length_delimited_to_vec(&mut out)
            .expect("serializes");
    }
    out
}

fn encoded(families: &[MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    encode(families, &mut out).expect("encodes");
    out
}

fn same_f64(got: f64, want: f64, what: &str) {
    assert_eq!(got.to_bits(), want.to_bits(), "{what}: {got} != {want}");
}

fn assert_timestamp(
    got: &protobuf::MessageField<protobuf::well_known_types::timestamp::Timestamp>,
    want: Option<SystemTime>,
    what: &str,
) {
    match want {
        None => assert!(got.is_none(), "{what}: unexpected timestamp"),
        Some(t) => {
            let ts = got
                .as_ref()
                .unwrap_or_else(|| panic!("{what}: timestamp missing"));
            let back = if ts.seconds >= 0 {
                UNIX_EPOCH + Duration::new(ts.seconds.unsigned_abs(), ts.nanos as u32)
            } else {
                UNIX_EPOCH - Duration::from_secs(ts.seconds.unsigned_abs())
                    + Duration::from_nanos(ts.nanos as u64)
            };
            assert!(
                (0..1_000_000_000).contains(&ts.nanos),
                "{what}: nanos {}",
                ts.nanos
            );
            assert_eq!(back, t, "{what}");
        }
    }
}

fn assert_labels(got: &[model::LabelPair], want: &[LabelPair], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: label count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.name.as_deref(), Some(&*w.name), "{what}");
        assert_eq!(g.value.as_deref(), Some(&*w.value), "{what}");
    }
}

fn assert_exemplar(got: &model::Exemplar, want: &Exemplar, what: &str) {
    assert_labels(&got.label, &want.labels, what);
    same_f64(got.value.expect("exemplar value"), want.value, what);
    assert_timestamp(&got.timestamp, want.timestamp, what);
}

fn assert_opt_exemplar(
    got: &protobuf::MessageField<model::Exemplar>,
    want: Option<&Exemplar>,
    what: &str,
) {
    match want {
        None => assert!(got.is_none(), "{what}: unexpected exemplar"),
        Some(w) => assert_exemplar(got.as_ref().expect("exemplar present"), w, what),
    }
}

fn assert_spans(got: &[model::BucketSpan], want: &[BucketSpan], what: &str) {
    let got: Vec<_> = got.iter().map(|s| (s.offset, s.length)).collect();
    let want: Vec<_> = want
        .iter()
        .map(|s| (Some(s.offset), Some(s.length)))
        .collect();
    assert_eq!(got, want, "{what}");
}

fn assert_histogram(got: &model::Histogram, want: &HistogramValue, what: &str) {
    assert_eq!(got.sample_count, Some(want.sample_count), "{what}: count");
    same_f64(got.sample_sum.expect("sum present"), want.sample_sum, what);
    assert_eq!(got.sample_count_float, None, "{what}");
    assert_eq!(got.bucket.len(), want.buckets.len(), "{what}: buckets");
    for (g, w) in got.bucket.iter().zip(&want.buckets) {
        assert_eq!(g.cumulative_count, Some(w.cumulative_count), "{what}");
        same_f64(g.upper_bound.expect("bound"), w.upper_bound, what);
        assert_eq!(g.cumulative_count_float, None, "{what}");
        assert_opt_exemplar(&g.exemplar, w.exemplar.as_deref(), what);
    }
    assert_timestamp(&got.created_timestamp, want.created, what);
    match want.native.as_deref() {
        None => {
            assert_eq!(
                (got.schema, got.zero_threshold, got.zero_count),
                (None, None, None),
                "{what}"
            );
            assert!(
                got.positive_span.is_empty() && got.negative_span.is_empty(),
                "{what}"
            );
            assert!(
                got.positive_delta.is_empty() && got.negative_delta.is_empty(),
                "{what}"
            );
            assert!(got.exemplars.is_empty(), "{what}");
        }
        Some(n) => {
            assert_eq!(got.schema, Some(n.schema), "{what}");
            same_f64(
                got.zero_threshold.expect("zero threshold"),
                n.zero_threshold,
                what,
            );
            assert_eq!(got.zero_count, Some(n.zero_count), "{what}");
            assert_spans(&got.negative_span, &n.negative_spans, what);
            // No spans, zero threshold or zero count: client_golang's
            // empty span marks it native.
            let marker = [BucketSpan {
                offset: 0,
                length: 0,
            }];
            let bare = n.positive_spans.is_empty()
                && n.negative_spans.is_empty()
                && n.zero_threshold == 0.0
                && n.zero_count == 0;
            let positive = if bare {
                &marker[..]
            } else {
                &n.positive_spans[..]
            };
            assert_spans(&got.positive_span, positive, what);
            assert_eq!(got.negative_delta, n.negative_deltas, "{what}");
            assert_eq!(got.positive_delta, n.positive_deltas, "{what}");
            assert_eq!(got.exemplars.len(), n.exemplars.len(), "{what}");
            for (g, w) in got.exemplars.iter().zip(&n.exemplars) {
                assert_exemplar(g, w, what);
            }
        }
    }
    assert!(
        got.negative_count.is_empty() && got.positive_count.is_empty(),
        "{what}"
    );
    assert_eq!(got.zero_count_float, None, "{what}");
}

fn assert_summary(got: &model::Summary, want: &SummaryValue, what: &str) {
    assert_eq!(got.sample_count, Some(want.sample_count), "{what}");
    same_f64(got.sample_sum.expect("sum present"), want.sample_sum, what);
    assert_eq!(got.quantile.len(), want.quantiles.len(), "{what}");
    for (g, w) in got.quantile.iter().zip(&want.quantiles) {
        same_f64(g.quantile.expect("rank"), w.quantile, what);
        same_f64(g.value.expect("value"), w.value, what);
    }
    assert_timestamp(&got.created_timestamp, want.created, what);
}

fn assert_metric(got: &model::Metric, want: &Metric, what: &str) {
    assert_labels(&got.label, &want.labels, what);
    assert_eq!(got.timestamp_ms, want.timestamp_ms, "{what}: timestamp");
    let present = [
        got.gauge.is_some(),
        got.counter.is_some(),
        got.summary.is_some(),
        got.untyped.is_some(),
        got.histogram.is_some(),
    ];
    assert_eq!(
        present.iter().filter(|p| **p).count(),
        1,
        "{what}: one value"
    );
    match &want.value {
        Value::Gauge(v) => same_f64(got.gauge.value.expect("gauge value"), *v, what),
        Value::Untyped(v) => same_f64(got.untyped.value.expect("untyped value"), *v, what),
        Value::Counter(c) => {
            let g = got.counter.as_ref().expect("counter");
            same_f64(g.value.expect("counter value"), c.value, what);
            assert_opt_exemplar(&g.exemplar, c.exemplar.as_deref(), what);
            assert_timestamp(&g.created_timestamp, c.created, what);
        }
        Value::Summary(s) => assert_summary(got.summary.as_ref().expect("summary"), s, what),
        Value::Histogram(h) => {
            assert_histogram(got.histogram.as_ref().expect("histogram"), h, what);
        }
        other => panic!("{what}: unexpected value {other:?}"),
    }
}

/// Every field of every family with series, compared with what was decoded.
fn assert_decodes_to(bytes: &[u8], want: &[MetricFamily]) {
    let got = decode(bytes);
    let want: Vec<_> = want.iter().filter(|f| !f.metrics.is_empty()).collect();
    assert_eq!(got.len(), want.len(), "family count");
    for (g, w) in got.iter().zip(want) {
        let what = &*w.name;
        assert_eq!(g.name.as_deref(), Some(what));
        assert_eq!(g.help.as_deref(), Some(&*w.help), "{what}");
        let t = match w.metric_type {
            MetricType::Counter => model::MetricType::COUNTER,
            MetricType::Gauge => model::MetricType::GAUGE,
            MetricType::Summary => model::MetricType::SUMMARY,
            MetricType::Untyped => model::MetricType::UNTYPED,
            MetricType::Histogram => model::MetricType::HISTOGRAM,
            other => panic!("unexpected type {other:?}"),
        };
        assert_eq!(g.type_.map(|t| t.enum_value()), Some(Ok(t)), "{what}");
        assert_eq!(g.unit.as_deref(), w.unit.as_deref(), "{what}");
        assert_eq!(g.metric.len(), w.metrics.len(), "{what}");
        for (i, (gm, wm)) in g.metric.iter().zip(&w.metrics).enumerate() {
            assert_metric(gm, wm, &format!("{what} series {i}"));
        }
        assert!(
            g.special_fields.unknown_fields().iter().next().is_none(),
            "{what}: unknown fields"
        );
    }
}

fn at(secs: i64, nanos: u32) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs.unsigned_abs(), nanos)
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + Duration::from_nanos(nanos.into())
    }
}

fn exemplar(labels: &[(&str, &str)], value: f64, timestamp: Option<SystemTime>) -> Exemplar {
    Exemplar {
        labels: labels.iter().map(|(n, v)| LabelPair::new(*n, *v)).collect(),
        value,
        timestamp,
    }
}

/// Families using every field the model has a place for.
fn every_field() -> Vec<MetricFamily> {
    let mut c = metric(
        &[("code", "200"), ("method", "GET")],
        Value::Counter(CounterValue {
            value: 1027.5,
            created: Some(at(1_700_000_000, 123_456_789)),
            exemplar: Some(Box::new(exemplar(
                &[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")],
                0.25,
                Some(at(1_700_000_100, 5)),
            ))),
        }),
    );
    c.timestamp_ms = Some(1_700_000_123_456);
    let mut old = metric(&[("code", "500"), ("method", "GET")], counter(0.0));
    old.timestamp_ms = Some(-5);
    let mut requests = family(
        "http_requests_total",
        "Requests.",
        MetricType::Counter,
        vec![c, old],
    );
    requests.unit = None;

    let mut temp = family(
        "room_temperature_celsius",
        "",
        MetricType::Gauge,
        vec![
            metric(&[("room", "kitchen")], Value::Gauge(-21.5)),
            metric(&[("room", "ünï 🦀 \"q\"\n")], Value::Gauge(f64::NAN)),
            metric(
                &[("room", &"x".repeat(300))],
                Value::Gauge(f64::NEG_INFINITY),
            ),
        ],
    );
    temp.unit = Some("celsius".into());

    let native = NativeHistogram {
        schema: -3,
        zero_threshold: 2.938735877055719e-39,
        zero_count: 4,
        negative_spans: vec![BucketSpan {
            offset: -2,
            length: 1,
        }],
        negative_deltas: vec![3],
        positive_spans: vec![
            BucketSpan {
                offset: 0,
                length: 2,
            },
            BucketSpan {
                offset: 5,
                length: 1,
            },
        ],
        positive_deltas: vec![1, -1, 600],
        exemplars: vec![
            exemplar(&[("trace_id", "a")], 1.5, Some(at(-1, 250_000_000))),
            exemplar(&[], -0.5, None),
        ],
    };
    let latency = HistogramValue {
        sample_count: 612,
        sample_sum: 8_000.125,
        buckets: vec![
            Bucket {
                upper_bound: -1.0,
                cumulative_count: 3,
                exemplar: Some(Box::new(exemplar(&[("id", "x")], -2.0, None))),
            },
            Bucket {
                upper_bound: 0.0,
                cumulative_count: 7,
                exemplar: None,
            },
            Bucket {
                upper_bound: 1e300,
                cumulative_count: 612,
                exemplar: None,
            },
        ],
        created: Some(UNIX_EPOCH),
        native: Some(Box::new(native)),
    };
    let latency = family(
        "rpc_duration_seconds",
        "RPC latency.",
        MetricType::Histogram,
        vec![
            metric(&[("service", "a")], Value::Histogram(Box::new(latency))),
            metric(
                &[("service", "b")],
                histogram(0, 0.0, &[(0.1, 0), (f64::INFINITY, 0)]),
            ),
        ],
    );

    let mut s = SummaryValue {
        sample_count: u64::MAX,
        sample_sum: 1e-300,
        quantiles: vec![
            Quantile {
                quantile: 0.5,
                value: 3.0,
            },
            Quantile {
                quantile: 0.99,
                value: f64::NAN,
            },
        ],
        created: Some(at(-86_400 * 365, 999_999_999)),
    };
    let summaries = family(
        "rpc_size_bytes",
        "Sizes.",
        MetricType::Summary,
        vec![
            metric(&[], Value::Summary(Box::new(s.clone()))),
            {
                s.created = None;
                s.quantiles.clear();
                metric(&[("x", "")], Value::Summary(Box::new(s)))
            },
            metric(&[("y", "1")], summary(2, 3.0, &[(0.0, 1.0), (1.0, 2.0)])),
        ],
    );
    let untyped = family(
        "some_thing",
        "Untyped.",
        MetricType::Untyped,
        vec![metric(&[], Value::Untyped(f64::MAX))],
    );
    let empty = family("no_series", "Dropped.", MetricType::Gauge, vec![]);
    vec![requests, empty, temp, latency, summaries, untyped]
}

#[test]
fn content_type_is_promhttps() {
    assert_eq!(
        CONTENT_TYPE,
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    );
}

#[test]
fn every_field_decodes_back() {
    let families = every_field();
    let bytes = encoded(&families);
    assert_decodes_to(&bytes, &families);
}

#[test]
fn bytes_are_the_protobuf_crates() {
    let families = every_field();
    assert_eq!(encoded(&families), crate_bytes(&families));
}

/// Little-endian bytes of a double field's value.
fn le(v: f64) -> [u8; 8] {
    v.to_le_bytes()
}

/// A counter with an exemplar and a created time, a histogram with a
/// timestamp, a native part that needs client_golang's marker span and a
/// created time, a summary with a created time: worked out by hand from
/// the field numbers, independently of the `.proto` the other tests decode
/// with.
#[test]
fn created_exemplar_native_and_summary_fields_byte_for_byte() {
    let counter = family(
        "c_total",
        "",
        MetricType::Counter,
        vec![metric(
            &[],
            Value::Counter(CounterValue {
                value: 1.0,
                created: Some(at(1, 2)),
                exemplar: Some(Box::new(exemplar(&[("t", "x")], 2.0, None))),
            }),
        )],
    );
    let mut h = metric(
        &[],
        Value::Histogram(Box::new(HistogramValue {
            sample_count: 1,
            sample_sum: 0.5,
            buckets: vec![Bucket {
                cumulative_count: 1,
                upper_bound: 1.0,
                exemplar: None,
            }],
            created: Some(at(3, 0)),
            native: Some(Box::default()),
        })),
    );
    h.timestamp_ms = Some(5);
    let histogram = family("h", "", MetricType::Histogram, vec![h]);
    let summary = family(
        "s",
        "",
        MetricType::Summary,
        vec![metric(
            &[("a", "b")],
            Value::Summary(Box::new(SummaryValue {
                sample_count: 2,
                sample_sum: 1.0,
                quantiles: vec![Quantile {
                    quantile: 0.5,
                    value: 1.0,
                }],
                created: Some(at(0, 5)),
            })),
        )],
    );

    let mut want = vec![0x33, 0x0a, 0x07];
    want.extend(b"c_total");
    want.extend([0x12, 0x00, 0x18, 0x00]); // help "", type COUNTER
    want.extend([0x22, 0x24, 0x1a, 0x22]); // metric (36), counter (34)
    want.push(0x09);
    want.extend(le(1.0)); // value
    want.extend([
        0x12, 0x11, 0x0a, 0x06, 0x0a, 0x01, b't', 0x12, 0x01, b'x', 0x11,
    ]);
    want.extend(le(2.0)); // exemplar {label t=x, value 2}
    want.extend([0x1a, 0x04, 0x08, 0x01, 0x10, 0x02]); // created {1 s, 2 ns}

    want.extend([0x3c, 0x0a, 0x01, b'h', 0x12, 0x00, 0x18, 0x04]); // type HISTOGRAM
    want.extend([0x22, 0x33, 0x30, 0x05, 0x3a, 0x2f]); // metric, timestamp_ms 5, histogram (47)
    want.extend([0x08, 0x01, 0x11]);
    want.extend(le(0.5)); // count, sum
    want.extend([0x1a, 0x0b, 0x08, 0x01, 0x11]);
    want.extend(le(1.0)); // bucket {1, le 1}
    want.extend([0x28, 0x00, 0x31]);
    want.extend(le(0.0)); // schema 0, zero threshold 0
    want.extend([0x38, 0x00]); // zero count 0
    want.extend([0x62, 0x04, 0x08, 0x00, 0x10, 0x00]); // positive span {0, 0}
    want.extend([0x7a, 0x02, 0x08, 0x03]); // created {3 s}

    want.extend([0x36, 0x0a, 0x01, b's', 0x12, 0x00, 0x18, 0x02]); // type SUMMARY
    want.extend([0x22, 0x2d, 0x0a, 0x06, 0x0a, 0x01, b'a', 0x12, 0x01, b'b']); // label a=b
    want.extend([0x22, 0x23, 0x08, 0x02, 0x11]);
    want.extend(le(1.0)); // summary (35): count 2, sum 1
    want.extend([0x1a, 0x12, 0x09]);
    want.extend(le(0.5));
    want.push(0x11);
    want.extend(le(1.0)); // quantile {0.5, 1}
    want.extend([0x22, 0x02, 0x10, 0x05]); // created {5 ns}

    let families = [counter, histogram, summary];
    assert_eq!(encoded(&families), want);
    assert_eq!(crate_bytes(&families), want, "the .proto agrees");
}

/// A family longer than 2^28 bytes takes a five-byte length prefix; the
/// last field of its last series is a short varint.
#[test]
fn a_huge_family_is_written_whole() {
    let value = "v".repeat(1 << 28);
    let mut m = metric(&[("big", &value)], Value::Gauge(1.0));
    m.timestamp_ms = Some(200);
    let families = [family("g", "", MetricType::Gauge, vec![m])];
    let mut out = Vec::new();
    encode(&families, &mut out).unwrap();
    // Name 3, help 2, type 2; the series' key and five-byte length 6, its
    // label field 2^28 + 17, gauge 11, timestamp 3.
    let body = (1 << 28) + 44;
    assert_eq!(out.len(), 5 + body);
    assert_eq!(out[..5], [0xac, 0x80, 0x80, 0x80, 0x01]); // (1 << 28) + 44
    assert_eq!(out[out.len() - 3..], [0x30, 0xc8, 0x01]); // timestamp_ms 200
}

/// A gauge `g` with help `h` and the value 1: worked out by hand from the
/// field numbers, as client_golang writes it.
#[test]
fn a_small_family_byte_for_byte() {
    let families = [family(
        "g",
        "h",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(1.0))],
    )];
    assert_eq!(
        encoded(&families),
        [
            0x15, // message length 21
            0x0a, 0x01, b'g', // name
            0x12, 0x01, b'h', // help
            0x18, 0x01, // type GAUGE
            0x22, 0x0b, // metric, 11 bytes
            0x12, 0x09, // gauge, 9 bytes
            0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // value 1.0
        ]
    );
}

#[test]
fn a_gathered_registry_decodes_back() {
    let registry = Registry::new();
    let requests = CounterVec::new("http_requests_total", "Requests.", ["code", "method"]).unwrap();
    let latency =
        HistogramVec::new("latency_seconds", "Latency.", ["op"], &[0.1, 0.5, 1.0]).unwrap();
    let temp = Gauge::new("temp_celsius", "Temperature.").unwrap();
    let thing = ValueFn::untyped("a_thing", "Untyped.", || 3.0).unwrap();
    registry.register(requests.clone()).unwrap();
    registry.register(latency.clone()).unwrap();
    registry.register(temp.clone()).unwrap();
    registry.register(thing).unwrap();
    requests.with_label_values(["200", "GET"]).inc_by(5);
    requests.with_label_values(["500", "POST"]).inc();
    latency.with_label_values(["read"]).observe(0.25);
    latency.with_label_values(["read"]).observe(7.0);
    temp.set(-3.5);

    let snapshot = registry.gather().unwrap();
    let mut bytes = Vec::new();
    encode(&snapshot, &mut bytes).unwrap();
    assert_decodes_to(&bytes, snapshot.families());
    assert_eq!(bytes, crate_bytes(snapshot.families()));

    // Spot checks on what a scraper reads, independent of the snapshot.
    let decoded = decode(&bytes);
    let names: Vec<_> = decoded.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        [
            "a_thing",
            "http_requests_total",
            "latency_seconds",
            "temp_celsius"
        ]
    );
    let h = &decoded[2].metric[0].histogram;
    assert_eq!(h.sample_count(), 2);
    assert_eq!(h.sample_sum(), 7.25);
    let buckets: Vec<_> = h
        .bucket
        .iter()
        .map(|b| (b.upper_bound(), b.cumulative_count()))
        .collect();
    assert_eq!(
        buckets,
        [(0.1, 0), (0.5, 1), (1.0, 1)],
        "no +Inf bucket, as client_golang"
    );
    assert!(
        h.created_timestamp.is_some(),
        "instruments know when they were created"
    );
    let c = &decoded[1].metric[0];
    assert_eq!(c.label[0].value(), "200");
    assert_eq!(c.counter.value(), 5.0);

    // Gathered again into the same snapshot, now with the fields rendered:
    // nothing changed, so the same bytes, appended to the reused buffer.
    let mut snapshot = snapshot;
    registry.gather_into(&mut snapshot).unwrap();
    let before = bytes.len();
    encode(&snapshot, &mut bytes).unwrap();
    assert_eq!(bytes[before..], bytes[..before]);
}

/// From the second gather after a protobuf encode on, a snapshot keeps
/// each series' label and created fields rendered. What changes between
/// gathers (new and removed children, a child re-created under the same
/// labels, a const metric's created time) must still come out exactly.
#[test]
fn later_gathers_reuse_rendered_fields_and_stay_exact() {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;

    let registry = Registry::new();
    let requests = CounterVec::new("http_requests_total", "Requests.", ["code"]).unwrap();
    let latency = HistogramVec::new("latency_seconds", "Latency.", ["op"], &[0.1, 1.0]).unwrap();
    registry.register(requests.clone()).unwrap();
    registry.register(latency.clone()).unwrap();
    let started = Arc::new(AtomicU64::new(1_600_000_000));
    let desc =
        promclient::Desc::new(MetricType::Counter, "jobs_total", "Jobs.", &["queue"], &[]).unwrap();
    let seen = started.clone();
    // One metric reused, so its labels are the same strings every gather
    // and stay rendered; only its created time moves.
    let base = promclient::ConstMetric::counter(&desc, 4.0, &["default"]).unwrap();
    let sizes =
        promclient::Desc::new(MetricType::Summary, "job_bytes", "Sizes.", &["queue"], &[]).unwrap();
    let sizes_base =
        promclient::ConstMetric::summary(&sizes, 3, 9.0, &[(0.5, 2.0)], &["default"]).unwrap();
    registry
        .register(promclient::FnCollector::new(
            vec![desc, sizes],
            move |sink| {
                let created = UNIX_EPOCH + Duration::from_secs(seen.load(Relaxed));
                sink.push(&base.clone().with_created(created));
                sink.push(&sizes_base.clone().with_created(created));
            },
        ))
        .unwrap();
    requests.with_label_values(["200"]).inc();
    latency.with_label_values(["read"]).observe(0.5);

    let mut snapshot = promclient::Snapshot::new();
    let mut bytes = Vec::new();
    for round in 0..6 {
        match round {
            2 => {
                requests.with_label_values(["500"]).inc_by(3);
                latency.with_label_values(["write"]).observe(0.05);
            }
            3 => {
                // Same labels, a new child: a new created time.
                assert!(requests.remove_label_values(["200"]));
                std::thread::sleep(Duration::from_millis(2));
                requests.with_label_values(["200"]).inc_by(9);
            }
            4 => started.store(1_700_000_000, Relaxed),
            _ => {}
        }
        registry.gather_into(&mut snapshot).unwrap();
        bytes.clear();
        encode(&snapshot, &mut bytes).unwrap();
        assert_decodes_to(&bytes, snapshot.families());
        assert_eq!(bytes, crate_bytes(snapshot.families()), "round {round}");
    }
    let decoded = decode(&bytes);
    let series = |name: &str| &decoded.iter().find(|f| f.name() == name).unwrap().metric[0];
    let jobs = &series("jobs_total").counter;
    let sizes = &series("job_bytes").summary;
    assert_eq!(jobs.created_timestamp.seconds, 1_700_000_000);
    assert_eq!(sizes.created_timestamp.seconds, 1_700_000_000);
}

#[test]
fn empty_names_in_hand_built_families_are_refused() {
    let bad_family = [family(
        "",
        "",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(1.0))],
    )];
    let mut out = b"kept".to_vec();
    let err = encode(&bad_family, &mut out).unwrap_err();
    assert_eq!(
        err,
        EncodeError::InvalidName {
            name: String::new()
        }
    );
    assert_eq!(out, b"kept");

    let bad_label = [
        family(
            "ok",
            "",
            MetricType::Gauge,
            vec![metric(&[], Value::Gauge(1.0))],
        ),
        family(
            "ok2",
            "",
            MetricType::Gauge,
            vec![metric(&[("", "x")], Value::Gauge(1.0))],
        ),
    ];
    for escaping in [Escaping::AllowUtf8, Escaping::Underscores] {
        let mut out = Vec::new();
        let err = encode_escaped(&bad_label, &mut out, escaping).unwrap_err();
        assert_eq!(
            err,
            EncodeError::InvalidName {
                name: String::new()
            }
        );
        assert_eq!(
            out,
            encoded(&bad_label[..1]),
            "the valid family before stays, the bad one is not started"
        );
    }
}

#[test]
fn names_outside_the_legacy_set_are_escaped_or_sent_as_they_are() {
    let f = [family(
        "req.count",
        "R.",
        MetricType::Gauge,
        vec![metric(
            &[("http.method", "GET"), ("ok", "1")],
            Value::Gauge(1.0),
        )],
    )];
    for (escaping, name, label) in [
        (Escaping::AllowUtf8, "req.count", "http.method"),
        (Escaping::Underscores, "req_count", "http_method"),
        (Escaping::Dots, "req_dot_count", "http_dot_method"),
        (Escaping::Values, "U__req_2e_count", "U__http_2e_method"),
    ] {
        let mut out = Vec::new();
        encode_escaped(&f, &mut out, escaping).expect("encodes");
        let got = decode(&out);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name(), name, "{escaping}");
        let labels: Vec<(&str, &str)> = got[0].metric[0]
            .label
            .iter()
            .map(|l| (l.name(), l.value()))
            .collect();
        assert_eq!(labels, [(label, "GET"), ("ok", "1")], "{escaping}");
    }
    // `encode` escapes with underscores.
    let mut plain = Vec::new();
    encode(&f, &mut plain).unwrap();
    let mut underscores = Vec::new();
    encode_escaped(&f, &mut underscores, Escaping::Underscores).unwrap();
    assert_eq!(plain, underscores);
}

#[test]
fn a_value_of_the_wrong_type_is_refused() {
    let families = [family(
        "x",
        "",
        MetricType::Gauge,
        vec![metric(&[], counter(1.0))],
    )];
    let mut out = Vec::new();
    assert_eq!(
        encode(&families, &mut out).unwrap_err(),
        EncodeError::TypeMismatch { metric: "x".into() }
    );
    assert!(out.is_empty());
}

// --- random families -------------------------------------------------------

fn any_time() -> impl Strategy<Value = Option<SystemTime>> {
    proptest::option::of(
        (-4_000_000_000i64..4_000_000_000, 0u32..1_000_000_000).prop_map(|(s, n)| at(s, n)),
    )
}

fn any_labels() -> impl Strategy<Value = Vec<LabelPair>> {
    proptest::collection::btree_map("l[a-z0-9_]{0,6}", ".{0,40}", 0..4)
        .prop_map(|m| m.into_iter().map(|(n, v)| LabelPair::new(n, v)).collect())
}

fn any_exemplar() -> impl Strategy<Value = Exemplar> {
    (any_labels(), any::<f64>(), any_time()).prop_map(|(labels, value, timestamp)| Exemplar {
        labels,
        value,
        timestamp,
    })
}

fn any_spans() -> impl Strategy<Value = Vec<BucketSpan>> {
    proptest::collection::vec(
        (any::<i32>(), any::<u32>()).prop_map(|(offset, length)| BucketSpan { offset, length }),
        0..3,
    )
}

fn any_native() -> impl Strategy<Value = NativeHistogram> {
    (
        any::<i32>(),
        any::<f64>(),
        any::<u64>(),
        any_spans(),
        proptest::collection::vec(any::<i64>(), 0..4),
        any_spans(),
        proptest::collection::vec(any::<i64>(), 0..4),
        proptest::collection::vec(any_exemplar(), 0..2),
    )
        .prop_map(
            |(schema, zero_threshold, zero_count, ns, nd, ps, pd, exemplars)| NativeHistogram {
                schema,
                zero_threshold,
                zero_count,
                negative_spans: ns,
                negative_deltas: nd,
                positive_spans: ps,
                positive_deltas: pd,
                exemplars,
            },
        )
}

fn any_value(t: MetricType) -> BoxedStrategy<Value> {
    match t {
        MetricType::Gauge => any::<f64>().prop_map(Value::Gauge).boxed(),
        MetricType::Untyped => any::<f64>().prop_map(Value::Untyped).boxed(),
        MetricType::Counter => (
            any::<f64>(),
            any_time(),
            proptest::option::of(any_exemplar()),
        )
            .prop_map(|(value, created, e)| {
                Value::Counter(CounterValue {
                    value,
                    created,
                    exemplar: e.map(Box::new),
                })
            })
            .boxed(),
        MetricType::Summary => (
            any::<u64>(),
            any::<f64>(),
            proptest::collection::vec((any::<f64>(), any::<f64>()), 0..4),
            any_time(),
        )
            .prop_map(|(sample_count, sample_sum, qs, created)| {
                Value::Summary(Box::new(SummaryValue {
                    sample_count,
                    sample_sum,
                    quantiles: qs
                        .into_iter()
                        .map(|(quantile, value)| Quantile { quantile, value })
                        .collect(),
                    created,
                }))
            })
            .boxed(),
        _ => (
            any::<u64>(),
            any::<f64>(),
            proptest::collection::vec(
                (
                    any::<u64>(),
                    any::<f64>(),
                    proptest::option::of(any_exemplar()),
                ),
                0..5,
            ),
            any_time(),
            proptest::option::of(any_native()),
        )
            .prop_map(|(sample_count, sample_sum, bs, created, native)| {
                Value::Histogram(Box::new(HistogramValue {
                    sample_count,
                    sample_sum,
                    buckets: bs
                        .into_iter()
                        .map(|(cumulative_count, upper_bound, e)| Bucket {
                            cumulative_count,
                            upper_bound,
                            exemplar: e.map(Box::new),
                        })
                        .collect(),
                    created,
                    native: native.map(Box::new),
                }))
            })
            .boxed(),
    }
}

fn any_family() -> impl Strategy<Value = MetricFamily> {
    let types = prop_oneof![
        Just(MetricType::Counter),
        Just(MetricType::Gauge),
        Just(MetricType::Untyped),
        Just(MetricType::Summary),
        Just(MetricType::Histogram),
    ];
    (
        types,
        "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}",
        ".{0,200}",
        proptest::option::of("[a-z]{1,8}"),
    )
        .prop_flat_map(|(t, name, help, unit)| {
            let series = (
                any_labels(),
                any_value(t),
                proptest::option::of(any::<i64>()),
            )
                .prop_map(|(labels, value, timestamp_ms)| Metric {
                    labels: labels.into(),
                    value,
                    timestamp_ms,
                });
            proptest::collection::vec(series, 0..4).prop_map(move |metrics| MetricFamily {
                name: name.as_str().into(),
                help: help.as_str().into(),
                metric_type: t,
                unit: unit.as_deref().map(Into::into),
                metrics,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the snapshot holds decodes back field for field, in the
    /// bytes the protobuf crate itself writes.
    #[test]
    fn random_families_round_trip(families in proptest::collection::vec(any_family(), 0..4)) {
        let bytes = encoded(&families);
        assert_decodes_to(&bytes, &families);
        prop_assert_eq!(bytes, crate_bytes(&families));
    }
}
