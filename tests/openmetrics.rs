//! OpenMetrics 1.0 golden tests: the full output, byte for byte, against
//! what client_golang (prometheus/common `expfmt.MetricFamilyToOpenMetrics`,
//! with `WithCreatedLines` where `_created` lines are asked for) writes for
//! the same families, and the documented places where it writes something
//! valid instead.
//!
//! The expectations follow `expfmt/openmetrics_create.go`:
//!
//! - `# HELP` escapes `\`, newline and `"`; `# HELP` and `# TYPE` name a
//!   counter without `_total`; a counter without `_total` is `unknown`, as
//!   is every untyped family;
//! - floats are Go's shortest `'g'` plus `.0` when that has neither `.` nor
//!   `e` (`1.0`, `0.0`, `le="10.0"`, but `1e+06`); counts are plain
//!   integers, never in exponent form;
//! - timestamps and `_created` values are seconds since the epoch, as
//!   floats;
//! - exemplars follow the value as ` # {labels} value [timestamp]`;
//! - the exposition ends with `# EOF`.
//!
//! `tests/interop.rs` feeds the same kinds of families to the Python
//! client's strict OpenMetrics parser.

use std::time::{Duration, SystemTime};

use promclient::encoding::negotiate::Escaping;
use promclient::encoding::openmetrics::{encode, encode_with, Options, CONTENT_TYPE};
use promclient::{
    CounterValue, CounterVec, EncodeError, Exemplar, Gauge, HistogramVec, LabelPair, MetricFamily,
    MetricType, Quantile, Registry, SummaryValue, Value,
};

#[path = "common/families.rs"]
mod families;
use families::{counter, family, gauge_family, histogram, histogram_value, metric, summary};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn om(families: &[MetricFamily]) -> String {
    om_with(families, Options::new())
}

fn om_with(families: &[MetricFamily], options: Options) -> String {
    let mut out = Vec::new();
    encode_with(families, &mut out, options).expect("encodes");
    String::from_utf8(out).expect("UTF-8")
}

fn om_err(families: &[MetricFamily]) -> EncodeError {
    let mut out = Vec::new();
    encode(families, &mut out).expect_err("refused")
}

fn exemplar(labels: &[(&str, &str)], value: f64, at: Option<SystemTime>) -> Option<Box<Exemplar>> {
    Some(Box::new(Exemplar {
        labels: labels.iter().map(|(n, v)| LabelPair::new(*n, *v)).collect(),
        value,
        timestamp: at,
    }))
}

fn epoch_plus(secs: u64, nanos: u32) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
}

#[test]
fn content_type_is_openmetrics_1_0_0() {
    assert_eq!(
        CONTENT_TYPE,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
}

#[test]
fn counters_drop_total_in_metadata_and_write_floats_with_a_point() {
    let mut with_ts = metric(
        &[("labelname", "val2"), ("basename", "basevalue")],
        counter(1.0),
    );
    with_ts.timestamp_ms = Some(1_234_567_890);
    let f = family(
        "name_total",
        "two-line\n doc  str\\ing \"quoted\"",
        MetricType::Counter,
        vec![
            metric(
                &[("labelname", "val1"), ("basename", "basevalue")],
                counter(42.0),
            ),
            with_ts,
            metric(&[("labelname", "val3")], counter(1e6)),
        ],
    );
    assert_eq!(
        om(&[f]),
        "# HELP name two-line\\n doc  str\\\\ing \\\"quoted\\\"\n\
         # TYPE name counter\n\
         name_total{labelname=\"val1\",basename=\"basevalue\"} 42.0\n\
         name_total{labelname=\"val2\",basename=\"basevalue\"} 1.0 1.23456789e+06\n\
         name_total{labelname=\"val3\"} 1e+06\n\
         # EOF\n"
    );
}

#[test]
fn a_counter_without_total_or_with_a_value_openmetrics_refuses_is_unknown() {
    let plain = family(
        "requests",
        "No suffix.",
        MetricType::Counter,
        vec![metric(&[], counter(3.0))],
    );
    assert_eq!(
        om(&[plain]),
        "# HELP requests No suffix.\n# TYPE requests unknown\nrequests 3.0\n# EOF\n"
    );
    for bad in [f64::NAN, -1.0] {
        let mut c = CounterValue {
            value: bad,
            ..CounterValue::default()
        };
        c.exemplar = exemplar(&[("trace_id", "x")], 1.0, None);
        c.created = Some(epoch_plus(1, 0));
        let f = family(
            "odd_total",
            "Hand-built.",
            MetricType::Counter,
            vec![
                metric(&[("a", "1")], counter(1.0)),
                metric(&[("a", "2")], Value::Counter(c)),
            ],
        );
        let want = format!(
            "# HELP odd_total Hand-built.\n# TYPE odd_total unknown\n\
             odd_total{{a=\"1\"}} 1.0\nodd_total{{a=\"2\"}} {}\n# EOF\n",
            if bad.is_nan() { "NaN" } else { "-1.0" }
        );
        // No exemplar and no `_created` on an unknown.
        assert_eq!(om_with(&[f], Options::new().created(true)), want);
    }
}

#[test]
fn gauges_and_untyped() {
    let g = family(
        "gauge_name",
        "gauge\ndoc\nstr\"ing",
        MetricType::Gauge,
        vec![
            metric(
                &[
                    ("name_1", "val with\nnew line"),
                    ("name_2", "val with \\backslash and \"quotes\""),
                ],
                Value::Gauge(f64::INFINITY),
            ),
            metric(
                &[("name_1", "Björn"), ("name_2", "佖佥")],
                Value::Gauge(3.14e42),
            ),
            metric(&[("name_1", "z")], Value::Gauge(-0.0)),
        ],
    );
    let u = family(
        "untyped_name",
        "",
        MetricType::Untyped,
        vec![
            metric(&[], Value::Untyped(f64::NEG_INFINITY)),
            metric(&[("name_1", "value 1")], Value::Untyped(-1.23e-45)),
        ],
    );
    assert_eq!(
        om(&[g, u]),
        r#"# HELP gauge_name gauge\ndoc\nstr\"ing
# TYPE gauge_name gauge
gauge_name{name_1="val with\nnew line",name_2="val with \\backslash and \"quotes\""} +Inf
gauge_name{name_1="Björn",name_2="佖佥"} 3.14e+42
gauge_name{name_1="z"} 0.0
# HELP untyped_name 
# TYPE untyped_name unknown
untyped_name -Inf
untyped_name{name_1="value 1"} -1.23e-45
# EOF
"#
    );
}

#[test]
fn histograms_write_bounds_as_floats_and_counts_as_integers() {
    let want = r#"# HELP request_duration_microseconds The response latency.
# TYPE request_duration_microseconds histogram
request_duration_microseconds_bucket{le="100.0"} 123
request_duration_microseconds_bucket{le="120.0"} 412
request_duration_microseconds_bucket{le="144.0"} 592
request_duration_microseconds_bucket{le="172.8"} 1524
request_duration_microseconds_bucket{le="+Inf"} 2693
request_duration_microseconds_sum 1.7560473e+06
request_duration_microseconds_count 2693
# EOF
"#;
    let finite = [(100.0, 123), (120.0, 412), (144.0, 592), (172.8, 1524)];
    let mut with_inf = finite.to_vec();
    with_inf.push((f64::INFINITY, 2693));
    for buckets in [&finite[..], &with_inf[..]] {
        let f = family(
            "request_duration_microseconds",
            "The response latency.",
            MetricType::Histogram,
            vec![metric(&[], histogram(2693, 1_756_047.3, buckets))],
        );
        assert_eq!(om(&[f]), want, "buckets {buckets:?}");
    }

    // Big counts stay integers; labels come before `le`.
    let f = family(
        "big",
        "Big.",
        MetricType::Histogram,
        vec![metric(
            &[("code", "200")],
            histogram(12_345_678, 0.5, &[(1.0, 1_234_567)]),
        )],
    );
    assert_eq!(
        om(&[f]),
        "# HELP big Big.\n# TYPE big histogram\n\
         big_bucket{code=\"200\",le=\"1.0\"} 1234567\n\
         big_bucket{code=\"200\",le=\"+Inf\"} 12345678\n\
         big_sum{code=\"200\"} 0.5\n\
         big_count{code=\"200\"} 12345678\n# EOF\n"
    );
}

#[test]
fn histograms_that_are_not_counter_like_leave_out_sum_and_count() {
    let negative_bound = metric(&[("k", "a")], histogram(2, 3.0, &[(-1.0, 1), (5.0, 2)]));
    let negative_sum = metric(&[("k", "b")], histogram(1, -0.5, &[(1.0, 1)]));
    let nan_sum = metric(&[("k", "c")], histogram(1, f64::NAN, &[(1.0, 1)]));
    let f = family(
        "temperature_celsius",
        "Temperatures.",
        MetricType::Histogram,
        vec![negative_bound, negative_sum, nan_sum],
    );
    assert_eq!(
        om(&[f]),
        "# HELP temperature_celsius Temperatures.\n# TYPE temperature_celsius histogram\n\
         temperature_celsius_bucket{k=\"a\",le=\"-1.0\"} 1\n\
         temperature_celsius_bucket{k=\"a\",le=\"5.0\"} 2\n\
         temperature_celsius_bucket{k=\"a\",le=\"+Inf\"} 2\n\
         temperature_celsius_bucket{k=\"b\",le=\"1.0\"} 1\n\
         temperature_celsius_bucket{k=\"b\",le=\"+Inf\"} 1\n\
         temperature_celsius_bucket{k=\"c\",le=\"1.0\"} 1\n\
         temperature_celsius_bucket{k=\"c\",le=\"+Inf\"} 1\n# EOF\n"
    );
}

#[test]
fn histograms_openmetrics_cannot_express_are_errors() {
    for (what, h) in [
        (
            "bounds out of order",
            histogram(2, 1.0, &[(2.0, 1), (1.0, 2)]),
        ),
        (
            "counts decreasing",
            histogram(2, 1.0, &[(1.0, 2), (2.0, 1)]),
        ),
        ("NaN bound", histogram(2, 1.0, &[(f64::NAN, 1)])),
        ("count below buckets", histogram(1, 1.0, &[(1.0, 2)])),
        (
            "+Inf bucket not the count",
            histogram(3, 1.0, &[(1.0, 1), (f64::INFINITY, 2)]),
        ),
    ] {
        let f = family("h", "H.", MetricType::Histogram, vec![metric(&[], h)]);
        assert_eq!(
            om_err(&[f]),
            EncodeError::InvalidHistogram { metric: "h".into() },
            "{what}"
        );
    }
}

#[test]
fn summaries() {
    let f = family(
        "summary_name",
        "summary docstring",
        MetricType::Summary,
        vec![
            metric(
                &[],
                summary(42, 3.4567, &[(0.5, 1.23), (0.9, 0.2342354), (1.0, 0.0)]),
            ),
            metric(
                &[("name_1", "value 1")],
                summary(
                    4711,
                    -2010.1971,
                    &[(0.5, 1.0), (0.9, -3.0), (0.99, f64::NAN)],
                ),
            ),
        ],
    );
    assert_eq!(
        om(&[f]),
        r#"# HELP summary_name summary docstring
# TYPE summary_name summary
summary_name{quantile="0.5"} 1.23
summary_name{quantile="0.9"} 0.2342354
summary_name{quantile="1.0"} 0.0
summary_name_sum 3.4567
summary_name_count 42
summary_name{name_1="value 1",quantile="0.5"} 1.0
summary_name{name_1="value 1",quantile="0.99"} NaN
summary_name_count{name_1="value 1"} 4711
# EOF
"#
    );
    for quantiles in [&[(1.5, 1.0)][..], &[(-0.1, 1.0)], &[(f64::NAN, 1.0)]] {
        let f = family(
            "s",
            "S.",
            MetricType::Summary,
            vec![metric(&[], summary(1, 1.0, quantiles))],
        );
        assert_eq!(
            om_err(&[f]),
            EncodeError::InvalidSummary { metric: "s".into() },
            "{quantiles:?}"
        );
    }
}

#[test]
fn created_lines_follow_each_series_when_asked_for() {
    let t = epoch_plus(1_700_000_000, 500_000_000);
    let mut c = CounterValue {
        value: 5.0,
        ..CounterValue::default()
    };
    c.created = Some(t);
    let mut h = histogram_value(1, 0.25, &[(1.0, 1)]);
    h.created = Some(t);
    let s = SummaryValue {
        sample_count: 1,
        sample_sum: 2.0,
        quantiles: vec![Quantile {
            quantile: 0.5,
            value: 2.0,
        }],
        created: Some(t),
    };
    let families = [
        family(
            "c_total",
            "C.",
            MetricType::Counter,
            vec![metric(&[("a", "x")], Value::Counter(c.clone()))],
        ),
        family(
            "h_seconds",
            "H.",
            MetricType::Histogram,
            vec![metric(&[], Value::Histogram(Box::new(h.clone())))],
        ),
        family(
            "s",
            "S.",
            MetricType::Summary,
            vec![metric(&[], Value::Summary(Box::new(s.clone())))],
        ),
    ];
    assert_eq!(
        om_with(&families, Options::new().created(true)),
        "# HELP c C.\n# TYPE c counter\n\
         c_total{a=\"x\"} 5.0\nc_created{a=\"x\"} 1.7000000005e+09\n\
         # HELP h_seconds H.\n# TYPE h_seconds histogram\n\
         h_seconds_bucket{le=\"1.0\"} 1\nh_seconds_bucket{le=\"+Inf\"} 1\n\
         h_seconds_sum 0.25\nh_seconds_count 1\nh_seconds_created 1.7000000005e+09\n\
         # HELP s S.\n# TYPE s summary\n\
         s{quantile=\"0.5\"} 2.0\ns_sum 2.0\ns_count 1\ns_created 1.7000000005e+09\n\
         # EOF\n"
    );
    // Off by default.
    assert!(!om(&families).contains("_created"));
}

#[test]
fn exemplars_on_counters_and_buckets() {
    let mut c = CounterValue {
        value: 3.0,
        ..CounterValue::default()
    };
    c.exemplar = exemplar(
        &[("trace_id", "abc1")],
        1.0,
        Some(epoch_plus(1_600_000_000, 0)),
    );
    let mut h = histogram_value(3, 2.5, &[(0.5, 1), (1.0, 2)]);
    h.buckets[1].exemplar = exemplar(&[("trace_id", "def")], 0.75, None);
    // Left out: no labels, labels over the 128-character limit, a quote.
    h.buckets[0].exemplar = exemplar(&[], 0.25, None);
    let long = "x".repeat(121); // 129 characters with the name
    let mut c2 = c.clone();
    c2.exemplar = exemplar(&[("trace_id", &long)], 1.0, None);
    let mut c3 = c.clone();
    c3.exemplar = exemplar(&[("trace_id", "a\"b")], 1.0, None);
    let families = [
        family(
            "hits_total",
            "Hits.",
            MetricType::Counter,
            vec![
                metric(&[("a", "1")], Value::Counter(c)),
                metric(&[("a", "2")], Value::Counter(c2)),
                metric(&[("a", "3")], Value::Counter(c3)),
            ],
        ),
        family(
            "latency_seconds",
            "Latency.",
            MetricType::Histogram,
            vec![metric(&[], Value::Histogram(Box::new(h)))],
        ),
    ];
    assert_eq!(
        om(&families),
        "# HELP hits Hits.\n# TYPE hits counter\n\
         hits_total{a=\"1\"} 3.0 # {trace_id=\"abc1\"} 1.0 1.6e+09\n\
         hits_total{a=\"2\"} 3.0\n\
         hits_total{a=\"3\"} 3.0\n\
         # HELP latency_seconds Latency.\n# TYPE latency_seconds histogram\n\
         latency_seconds_bucket{le=\"0.5\"} 1\n\
         latency_seconds_bucket{le=\"1.0\"} 2 # {trace_id=\"def\"} 0.75\n\
         latency_seconds_bucket{le=\"+Inf\"} 3\n\
         latency_seconds_sum 2.5\nlatency_seconds_count 3\n# EOF\n"
    );
    // Exactly at the limit is kept.
    let at_limit = CounterValue {
        exemplar: exemplar(&[("trace_id", &"x".repeat(120))], 1.0, None),
        ..CounterValue::default()
    };
    let f = family(
        "hits_total",
        "Hits.",
        MetricType::Counter,
        vec![metric(&[], Value::Counter(at_limit))],
    );
    assert!(om(&[f]).contains(&format!(
        "hits_total 0.0 # {{trace_id=\"{}\"}} 1.0\n",
        "x".repeat(120)
    )));
}

#[test]
fn unit_lines_only_for_names_ending_in_their_unit() {
    let mut seconds = gauge_family("request_seconds", "R.", 1.5);
    seconds.unit = Some("seconds".into());
    let mut bytes = family(
        "read_bytes_total",
        "B.",
        MetricType::Counter,
        vec![metric(&[], counter(2.0))],
    );
    bytes.unit = Some("bytes".into());
    let mut mismatch = gauge_family("size", "S.", 1.0);
    mismatch.unit = Some("bytes".into());
    assert_eq!(
        om(&[bytes, seconds, mismatch]),
        "# HELP read_bytes B.\n# TYPE read_bytes counter\n# UNIT read_bytes bytes\n\
         read_bytes_total 2.0\n\
         # HELP request_seconds R.\n# TYPE request_seconds gauge\n# UNIT request_seconds seconds\n\
         request_seconds 1.5\n\
         # HELP size S.\n# TYPE size gauge\nsize 1.0\n# EOF\n"
    );
}

#[test]
fn families_exposing_the_same_name_are_refused_before_writing() {
    let g = |name: &str| gauge_family(name, "G.", 1.0);
    let c = family(
        "a_total",
        "C.",
        MetricType::Counter,
        vec![metric(&[], counter(1.0))],
    );
    let h = family(
        "lat",
        "H.",
        MetricType::Histogram,
        vec![metric(&[], histogram(1, 1.0, &[(1.0, 1)]))],
    );
    let clash = |families: &[MetricFamily], first: &str, second: &str| {
        let mut out = b"kept".to_vec();
        let err = encode(families, &mut out).expect_err("clash");
        assert_eq!(
            err,
            EncodeError::NameClash {
                first: first.into(),
                second: second.into()
            }
        );
        assert_eq!(out, b"kept", "nothing written");
    };
    // Sorted, as a gather returns them, and not sorted.
    clash(&[c.clone(), g("a_created")], "a_total", "a_created");
    clash(&[g("a_created"), c.clone()], "a_total", "a_created");
    clash(&[h.clone(), g("lat_count")], "lat", "lat_count");
    clash(&[g("lat_bucket"), g("b"), h.clone()], "lat", "lat_bucket");
    // Fine: other suffixes, empty families, and a gauge `a_total` beside a
    // gauge `a` (only counters own `_total`).
    let mut empty = g("a");
    empty.metrics.clear();
    om(&[c.clone(), empty]);
    om(&[g("a"), g("a_total"), g("a_totals"), h, g("lat_counts")]);
    om(&[c, g("a_bucket")]);
}

#[test]
fn a_counter_named_like_another_family_is_unknown_under_its_full_name() {
    let g = gauge_family("a", "G.", 1.0);
    let mut with_exemplar = metric(&[("x", "1")], counter(2.0));
    if let Value::Counter(v) = &mut with_exemplar.value {
        v.exemplar = exemplar(&[("trace", "t")], 1.0, None);
        v.created = Some(epoch_plus(1, 0));
    }
    let c = family("a_total", "C.", MetricType::Counter, vec![with_exemplar]);
    let want = "# HELP a G.\n# TYPE a gauge\na 1.0\n\
                # HELP a_total C.\n# TYPE a_total unknown\na_total{x=\"1\"} 2.0\n# EOF\n";
    let created = Options::new().created(true);
    assert_eq!(om_with(&[g.clone(), c.clone()], created), want);
    // Not sorted, as hand-built families may come.
    let unsorted = om_with(&[c.clone(), g.clone()], created);
    assert_eq!(
        unsorted,
        "# HELP a_total C.\n# TYPE a_total unknown\na_total{x=\"1\"} 2.0\n\
         # HELP a G.\n# TYPE a gauge\na 1.0\n# EOF\n"
    );
    // Two counters whose OpenMetrics names meet: `a` (no `_total`) is
    // unknown already, `a_total` follows it.
    let c2 = family(
        "a",
        "C2.",
        MetricType::Counter,
        vec![metric(&[], counter(1.0))],
    );
    assert!(om(&[c2, c.clone()]).contains("# TYPE a_total unknown\n"));
    // Alone, the counter is a counter.
    assert!(om(&[c]).contains("# TYPE a counter\n"));
}

#[test]
fn invalid_names_and_type_mismatches_are_errors() {
    let empty = gauge_family("", "B.", 1.0);
    assert_eq!(
        om_err(&[empty]),
        EncodeError::InvalidName {
            name: String::new()
        }
    );
    let empty_label = family(
        "g",
        "G.",
        MetricType::Gauge,
        vec![metric(&[("", "x")], Value::Gauge(1.0))],
    );
    assert_eq!(
        om_err(&[empty_label]),
        EncodeError::InvalidName {
            name: String::new()
        }
    );
    let mismatch = family(
        "g",
        "G.",
        MetricType::Gauge,
        vec![metric(&[], counter(1.0))],
    );
    assert_eq!(
        om_err(&[mismatch]),
        EncodeError::TypeMismatch { metric: "g".into() }
    );
}

#[test]
fn names_outside_the_legacy_set_are_escaped_or_quoted() {
    let mut c = metric(&[("http.method", "GET")], counter(3.0));
    if let Value::Counter(v) = &mut c.value {
        v.created = Some(epoch_plus(1_700_000_000, 0));
    }
    let mut f = family(
        "req.latency_seconds_total",
        "R.",
        MetricType::Counter,
        vec![c],
    );
    f.unit = Some("seconds_total".into());
    let g = gauge_family("2xx", "B.", 1.0);
    // The default escapes with underscores.
    assert_eq!(
        om(&[f.clone(), g.clone()]),
        "# HELP req_latency_seconds R.\n# TYPE req_latency_seconds counter\n\
         req_latency_seconds_total{http_method=\"GET\"} 3.0\n\
         # HELP _xx B.\n# TYPE _xx gauge\n_xx 1.0\n# EOF\n"
    );
    assert_eq!(
        om_with(&[f.clone()], Options::new().escaping(Escaping::Values)),
        // `__total` ends with `_total`: the metadata name keeps one `_`.
        "# HELP U__req_2e_latency__seconds_ R.\n# TYPE U__req_2e_latency__seconds_ counter\n\
         U__req_2e_latency__seconds__total{U__http_2e_method=\"GET\"} 3.0\n# EOF\n"
    );
    assert_eq!(
        om_with(
            &[f, g],
            Options::new().escaping(Escaping::AllowUtf8).created(true)
        ),
        "# HELP \"req.latency_seconds\" R.\n# TYPE \"req.latency_seconds\" counter\n\
         {\"req.latency_seconds_total\",\"http.method\"=\"GET\"} 3.0\n\
         {\"req.latency_seconds_created\",\"http.method\"=\"GET\"} 1.7e+09\n\
         # HELP \"2xx\" B.\n# TYPE \"2xx\" gauge\n{\"2xx\"} 1.0\n# EOF\n"
    );
    // A unit is announced for a quoted name as for any other.
    let mut u = gauge_family("disk.used_bytes", "D.", 2.0);
    u.unit = Some("bytes".into());
    assert_eq!(
        om_with(&[u], Options::new().escaping(Escaping::AllowUtf8)),
        "# HELP \"disk.used_bytes\" D.\n# TYPE \"disk.used_bytes\" gauge\n\
         # UNIT \"disk.used_bytes\" bytes\n{\"disk.used_bytes\"} 2.0\n# EOF\n"
    );
}

#[test]
fn escaped_names_are_checked_for_clashes_and_errors_name_the_family_as_given() {
    let g = |name: &str| gauge_family(name, "G.", 1.0);
    let mut out = b"kept".to_vec();
    // `a.b` becomes `a_b` under underscores: two families `a_b`.
    let err = encode(&[g("a.b"), g("a_b")], &mut out).unwrap_err();
    assert_eq!(
        err,
        EncodeError::NameClash {
            first: "a.b".into(),
            second: "a_b".into()
        }
    );
    assert_eq!(out, b"kept");
    // Quoted, they are two names.
    let quoted = om_with(
        &[g("a.b"), g("a_b")],
        Options::new().escaping(Escaping::AllowUtf8),
    );
    assert!(
        quoted.contains("{\"a.b\"} 1.0\n") && quoted.contains("\na_b 1.0\n"),
        "{quoted}"
    );
    // An empty name stays invalid, quoted or not.
    for escaping in [Escaping::AllowUtf8, Escaping::Underscores] {
        let mut out = Vec::new();
        let err = encode_with(&[g("")], &mut out, Options::new().escaping(escaping)).unwrap_err();
        assert_eq!(
            err,
            EncodeError::InvalidName {
                name: String::new()
            },
            "{escaping}"
        );
    }
    // Errors found after escaping name the family as it was given.
    let bad = family(
        "h.x",
        "H.",
        MetricType::Histogram,
        vec![metric(&[], histogram(1, 1.0, &[(2.0, 1), (1.0, 1)]))],
    );
    for escaping in [Escaping::AllowUtf8, Escaping::Values] {
        let mut out = Vec::new();
        let err = encode_with(
            std::slice::from_ref(&bad),
            &mut out,
            Options::new().escaping(escaping),
        )
        .unwrap_err();
        assert_eq!(
            err,
            EncodeError::InvalidHistogram {
                metric: "h.x".into()
            },
            "{escaping}"
        );
    }
}

#[test]
fn exemplar_label_names_are_quoted_or_escaped_and_quoted_summaries_are_whole() {
    let mut c = metric(&[], counter(1.0));
    if let Value::Counter(v) = &mut c.value {
        v.exemplar = exemplar(&[("trace.id", "abc")], 1.0, None);
    }
    let f = family("jobs_total", "J.", MetricType::Counter, vec![c]);
    let quoted = om_with(
        std::slice::from_ref(&f),
        Options::new().escaping(Escaping::AllowUtf8),
    );
    assert!(
        quoted.contains("\njobs_total 1.0 # {\"trace.id\"=\"abc\"} 1.0\n"),
        "{quoted}"
    );
    let escaped = om(&[f]);
    assert!(
        escaped.contains("\njobs_total 1.0 # {trace_id=\"abc\"} 1.0\n"),
        "{escaped}"
    );

    let s = family(
        "rpc.seconds",
        "S.",
        MetricType::Summary,
        vec![metric(&[("m", "x")], summary(2, 3.0, &[(0.5, 1.0)]))],
    );
    assert_eq!(
        om_with(&[s], Options::new().escaping(Escaping::AllowUtf8)),
        "# HELP \"rpc.seconds\" S.\n# TYPE \"rpc.seconds\" summary\n\
         {\"rpc.seconds\",m=\"x\",quantile=\"0.5\"} 1.0\n\
         {\"rpc.seconds_sum\",m=\"x\"} 3.0\n{\"rpc.seconds_count\",m=\"x\"} 2\n# EOF\n"
    );
}

#[test]
fn a_gathered_registry_encodes_like_its_families() -> TestResult {
    let registry = Registry::new();
    let requests = CounterVec::new("http_requests_total", "Requests.", ["code", "method"])?;
    let latency = HistogramVec::new(
        "http_request_duration_seconds",
        "Latency.",
        ["method"],
        &[0.1, 1.0, 10.0],
    )?;
    let temp = Gauge::new("temperature_celsius", "Temperature.")?;
    registry.register(requests.clone())?;
    registry.register(latency.clone())?;
    registry.register(temp.clone())?;
    requests.with_label_values(["200", "GET"]).inc_by(7);
    requests.with_label_values(["500", "POST"]).inc();
    latency.with_label_values(["GET"]).observe(0.5);
    latency.with_label_values(["GET"]).observe(20.0);
    temp.set(-4.5);

    let want = "# HELP http_request_duration_seconds Latency.\n\
                # TYPE http_request_duration_seconds histogram\n\
                http_request_duration_seconds_bucket{method=\"GET\",le=\"0.1\"} 0\n\
                http_request_duration_seconds_bucket{method=\"GET\",le=\"1.0\"} 1\n\
                http_request_duration_seconds_bucket{method=\"GET\",le=\"10.0\"} 1\n\
                http_request_duration_seconds_bucket{method=\"GET\",le=\"+Inf\"} 2\n\
                http_request_duration_seconds_sum{method=\"GET\"} 20.5\n\
                http_request_duration_seconds_count{method=\"GET\"} 2\n\
                # HELP http_requests Requests.\n\
                # TYPE http_requests counter\n\
                http_requests_total{code=\"200\",method=\"GET\"} 7.0\n\
                http_requests_total{code=\"500\",method=\"POST\"} 1.0\n\
                # HELP temperature_celsius Temperature.\n\
                # TYPE temperature_celsius gauge\n\
                temperature_celsius -4.5\n\
                # EOF\n";
    let mut snapshot = registry.gather()?;
    for _ in 0..2 {
        // The snapshot's cached label text, twice (the second gather
        // reuses it), and the plain families.
        let mut out = Vec::new();
        encode(&snapshot, &mut out)?;
        assert_eq!(String::from_utf8(out)?, want);
        registry.gather_into(&mut snapshot)?;
    }
    assert_eq!(om(&snapshot.into_families()), want);
    Ok(())
}

#[test]
fn encode_appends_after_existing_content() -> TestResult {
    let mut out = b"before\n".to_vec();
    encode(&Vec::<MetricFamily>::new(), &mut out)?;
    assert_eq!(out, b"before\n# EOF\n");
    Ok(())
}
