//! Text format 0.0.4 golden tests: the full output, byte for byte, against
//! what client_golang (prometheus/common `expfmt.MetricFamilyToText`)
//! writes for the same families.
//!
//! The expectations follow `expfmt/text_create.go`:
//!
//! - `# HELP name <help>` with only `\` and newline escaped (client_golang's
//!   registry always sets the help, so an empty help gives `# HELP name `
//!   with a trailing space), then `# TYPE name <type>`;
//! - label values escape `\`, `"` and newline; labels are written in the
//!   order the series holds them, and `le` / `quantile` come last;
//! - every number, including bucket counts, `_count` and `le` / `quantile`
//!   values, goes through `writeFloat`: `1`, `0` (for both zeros), `-1`,
//!   `NaN`, `+Inf`, `-Inf`, else `strconv.AppendFloat(f, 'g', -1, 64)`;
//!   so a count of 1234567 is written `1.234567e+06`;
//! - a histogram gets a `le="+Inf"` bucket (with the sample count) unless
//!   its last bucket is `+Inf`, then `_sum`, then `_count`;
//! - a timestamp is appended as integer milliseconds (`writeInt`).
//!
//! The first test reproduces scenarios of prometheus/common's own
//! `TestCreate` (`expfmt/text_create_test.go`) verbatim.

use std::sync::Arc;

use promclient::encoding::negotiate::Escaping;
use promclient::encoding::text::{encode, encode_escaped, CONTENT_TYPE};
use promclient::{
    ConstMetric, Counter, CounterVec, Desc, EncodeError, FnCollector, Gauge, GaugeVec, Histogram,
    HistogramVec, LabelPair, Metric, MetricFamily, MetricType, Opts, Registry, Value,
};

#[path = "common/families.rs"]
mod families;
use families::{counter, family, histogram, metric, summary};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn text(families: &[MetricFamily]) -> String {
    let mut out = Vec::new();
    encode(families, &mut out).expect("encodes");
    String::from_utf8(out).expect("UTF-8")
}

fn registry_text(registry: &Registry) -> String {
    text(&registry.gather().expect("gathers"))
}

#[test]
fn content_type_is_text_0_0_4() {
    assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
}

#[test]
fn client_golang_create_scenarios() {
    // Scenario 0: counter, NaN, timestamp, labels in the given order.
    let mut with_ts = metric(
        &[("labelname", "val2"), ("basename", "basevalue")],
        counter(0.23),
    );
    with_ts.timestamp_ms = Some(1_234_567_890);
    let s0 = family(
        "name",
        "two-line\n doc  str\\ing",
        MetricType::Counter,
        vec![
            metric(
                &[("labelname", "val1"), ("basename", "basevalue")],
                counter(f64::NAN),
            ),
            with_ts,
        ],
    );
    assert_eq!(
        text(&[s0]),
        "# HELP name two-line\\n doc  str\\\\ing\n\
         # TYPE name counter\n\
         name{labelname=\"val1\",basename=\"basevalue\"} NaN\n\
         name{labelname=\"val2\",basename=\"basevalue\"} 0.23 1234567890\n"
    );

    // Scenario 1: gauge, escaping, +Inf, multi-byte label values.
    let s1 = family(
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
        ],
    );
    assert_eq!(
        text(&[s1]),
        r#"# HELP gauge_name gauge\ndoc\nstr"ing
# TYPE gauge_name gauge
gauge_name{name_1="val with\nnew line",name_2="val with \\backslash and \"quotes\""} +Inf
gauge_name{name_1="Björn",name_2="佖佥"} 3.14e+42
"#
    );

    // Scenario 3 without its nil help (our families always carry one).
    let s3 = family(
        "untyped_name",
        "",
        MetricType::Untyped,
        vec![
            metric(&[], Value::Untyped(f64::NEG_INFINITY)),
            metric(&[("name_1", "value 1")], Value::Untyped(-1.23e-45)),
        ],
    );
    assert_eq!(
        text(&[s3]),
        "# HELP untyped_name \n\
         # TYPE untyped_name untyped\n\
         untyped_name -Inf\n\
         untyped_name{name_1=\"value 1\"} -1.23e-45\n"
    );

    // Scenario 4: summary.
    let s4 = family(
        "summary_name",
        "summary docstring",
        MetricType::Summary,
        vec![
            metric(
                &[],
                summary(42, -3.4567, &[(0.5, -1.23), (0.9, 0.2342354), (0.99, 0.0)]),
            ),
            metric(
                &[("name_1", "value 1"), ("name_2", "value 2")],
                summary(4711, 2010.1971, &[(0.5, 1.0), (0.9, 2.0), (0.99, 3.0)]),
            ),
        ],
    );
    assert_eq!(
        text(&[s4]),
        r#"# HELP summary_name summary docstring
# TYPE summary_name summary
summary_name{quantile="0.5"} -1.23
summary_name{quantile="0.9"} 0.2342354
summary_name{quantile="0.99"} 0
summary_name_sum -3.4567
summary_name_count 42
summary_name{name_1="value 1",name_2="value 2",quantile="0.5"} 1
summary_name{name_1="value 1",name_2="value 2",quantile="0.9"} 2
summary_name{name_1="value 1",name_2="value 2",quantile="0.99"} 3
summary_name_sum{name_1="value 1",name_2="value 2"} 2010.1971
summary_name_count{name_1="value 1",name_2="value 2"} 4711
"#
    );

    // Scenarios 5 and 6: histogram with and without the +Inf bucket give the
    // same text.
    let want = r#"# HELP request_duration_microseconds The response latency.
# TYPE request_duration_microseconds histogram
request_duration_microseconds_bucket{le="100"} 123
request_duration_microseconds_bucket{le="120"} 412
request_duration_microseconds_bucket{le="144"} 592
request_duration_microseconds_bucket{le="172.8"} 1524
request_duration_microseconds_bucket{le="+Inf"} 2693
request_duration_microseconds_sum 1.7560473e+06
request_duration_microseconds_count 2693
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
        assert_eq!(text(&[f]), want, "buckets {buckets:?}");
    }
}

#[test]
fn help_and_label_value_escaping() {
    let f = family(
        "escapes",
        "Backslash \\ newline \n quote \" tab \t crab 🦀 literal \\n end\\",
        MetricType::Gauge,
        vec![
            metric(&[("v", "")], Value::Gauge(1.0)),
            metric(&[("v", "\\")], Value::Gauge(2.0)),
            metric(&[("v", "\"")], Value::Gauge(3.0)),
            metric(&[("v", "\n")], Value::Gauge(4.0)),
            metric(&[("v", "a\\\"b\"\n\\n")], Value::Gauge(5.0)),
            metric(&[("v", "tab\tcr\r{x=\"y\"},")], Value::Gauge(6.0)),
            metric(&[("v", "ünï 🦀 佖")], Value::Gauge(7.0)),
        ],
    );
    assert_eq!(
        text(&[f]),
        "# HELP escapes Backslash \\\\ newline \\n quote \" tab \t crab 🦀 literal \\\\n end\\\\\n\
         # TYPE escapes gauge\n\
         escapes{v=\"\"} 1\n\
         escapes{v=\"\\\\\"} 2\n\
         escapes{v=\"\\\"\"} 3\n\
         escapes{v=\"\\n\"} 4\n\
         escapes{v=\"a\\\\\\\"b\\\"\\n\\\\n\"} 5\n\
         escapes{v=\"tab\tcr\r{x=\\\"y\\\"},\"} 6\n\
         escapes{v=\"ünï 🦀 佖\"} 7\n"
    );
}

#[test]
fn empty_help_keeps_the_trailing_space() -> TestResult {
    let registry = Registry::new();
    let c = Counter::new("no_help_total", "")?;
    registry.register(c.clone())?;
    c.inc();
    assert_eq!(
        registry_text(&registry),
        "# HELP no_help_total \n# TYPE no_help_total counter\nno_help_total 1\n"
    );
    Ok(())
}

#[test]
fn number_formatting_golden() {
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.0, "-1"),
        (0.1, "0.1"),
        (0.23, "0.23"),
        (2.5, "2.5"),
        (100_000.0, "100000"),
        (999_999.0, "999999"),
        (123_456.7, "123456.7"),
        (1e6, "1e+06"),
        (-1e6, "-1e+06"),
        (1_234_567.0, "1.234567e+06"),
        (1_756_047.3, "1.7560473e+06"),
        (1e21, "1e+21"),
        (3.14e42, "3.14e+42"),
        (0.0001, "0.0001"),
        (0.00015, "0.00015"),
        (1e-5, "1e-05"),
        (1.5e-5, "1.5e-05"),
        (-1.23e-45, "-1.23e-45"),
        (0.1 + 0.2, "0.30000000000000004"),
        (9_007_199_254_740_992.0, "9.007199254740992e+15"),
        (f64::MAX, "1.7976931348623157e+308"),
        (5e-324, "5e-324"),
        (f64::INFINITY, "+Inf"),
        (f64::NEG_INFINITY, "-Inf"),
        (f64::NAN, "NaN"),
    ];
    let metrics = cases
        .iter()
        .enumerate()
        .map(|(i, &(v, _))| metric(&[("i", &format!("{i:02}"))], Value::Gauge(v)))
        .collect();
    let mut want = String::from("# HELP numbers Numbers.\n# TYPE numbers gauge\n");
    for (i, (_, s)) in cases.iter().enumerate() {
        want.push_str(&format!("numbers{{i=\"{i:02}\"}} {s}\n"));
    }
    assert_eq!(
        text(&[family("numbers", "Numbers.", MetricType::Gauge, metrics)]),
        want
    );
}

#[test]
fn timestamps_are_integer_milliseconds() {
    let mut metrics = Vec::new();
    for (i, ts) in [0i64, 1_700_000_000_123, -5, i64::MAX, i64::MIN]
        .into_iter()
        .enumerate()
    {
        let mut m = metric(&[("i", &i.to_string())], Value::Untyped(1.5));
        m.timestamp_ms = Some(ts);
        metrics.push(m);
    }
    let mut h = metric(&[], histogram(3, 4.5, &[(1.0, 1)]));
    h.timestamp_ms = Some(42);
    assert_eq!(
        text(&[
            family("ts", "T.", MetricType::Untyped, metrics),
            family("ts_hist", "H.", MetricType::Histogram, vec![h]),
        ]),
        "# HELP ts T.\n\
         # TYPE ts untyped\n\
         ts{i=\"0\"} 1.5 0\n\
         ts{i=\"1\"} 1.5 1700000000123\n\
         ts{i=\"2\"} 1.5 -5\n\
         ts{i=\"3\"} 1.5 9223372036854775807\n\
         ts{i=\"4\"} 1.5 -9223372036854775808\n\
         # HELP ts_hist H.\n\
         # TYPE ts_hist histogram\n\
         ts_hist_bucket{le=\"1\"} 1 42\n\
         ts_hist_bucket{le=\"+Inf\"} 3 42\n\
         ts_hist_sum 4.5 42\n\
         ts_hist_count 3 42\n"
    );
}

#[test]
fn histogram_counts_and_bounds_use_the_float_formatter() {
    let f = family(
        "big",
        "Big counts.",
        MetricType::Histogram,
        vec![
            metric(
                &[("a", "1"), ("zone", "z")],
                histogram(
                    1_234_567,
                    2.5e7,
                    &[
                        (-1.0, 0),
                        (1e-5, 1),
                        (0.005, 999_999),
                        (2.5, 1_000_000),
                        (1e6, 1_234_567),
                    ],
                ),
            ),
            metric(&[("a", "2"), ("zone", "z")], histogram(0, 0.0, &[])),
        ],
    );
    assert_eq!(
        text(&[f]),
        r#"# HELP big Big counts.
# TYPE big histogram
big_bucket{a="1",zone="z",le="-1"} 0
big_bucket{a="1",zone="z",le="1e-05"} 1
big_bucket{a="1",zone="z",le="0.005"} 999999
big_bucket{a="1",zone="z",le="2.5"} 1e+06
big_bucket{a="1",zone="z",le="1e+06"} 1.234567e+06
big_bucket{a="1",zone="z",le="+Inf"} 1.234567e+06
big_sum{a="1",zone="z"} 2.5e+07
big_count{a="1",zone="z"} 1.234567e+06
big_bucket{a="2",zone="z",le="+Inf"} 0
big_sum{a="2",zone="z"} 0
big_count{a="2",zone="z"} 0
"#
    );
}

#[test]
fn histogram_series_with_different_bounds_in_one_family() {
    // Each series' own bounds are used, even when they differ within a family.
    let f = family(
        "mixed",
        "M.",
        MetricType::Histogram,
        vec![
            metric(&[("k", "a")], histogram(2, 3.0, &[(1.0, 1), (2.0, 2)])),
            metric(&[("k", "b")], histogram(2, 3.0, &[(0.5, 0), (2.0, 2)])),
            metric(&[("k", "c")], histogram(2, 3.0, &[(1.0, 1), (2.0, 2)])),
        ],
    );
    assert_eq!(
        text(&[f]),
        r#"# HELP mixed M.
# TYPE mixed histogram
mixed_bucket{k="a",le="1"} 1
mixed_bucket{k="a",le="2"} 2
mixed_bucket{k="a",le="+Inf"} 2
mixed_sum{k="a"} 3
mixed_count{k="a"} 2
mixed_bucket{k="b",le="0.5"} 0
mixed_bucket{k="b",le="2"} 2
mixed_bucket{k="b",le="+Inf"} 2
mixed_sum{k="b"} 3
mixed_count{k="b"} 2
mixed_bucket{k="c",le="1"} 1
mixed_bucket{k="c",le="2"} 2
mixed_bucket{k="c",le="+Inf"} 2
mixed_sum{k="c"} 3
mixed_count{k="c"} 2
"#
    );
}

#[test]
fn summary_quantiles_use_the_float_formatter() {
    let f = family(
        "rpc_seconds",
        "RPC latency.",
        MetricType::Summary,
        vec![metric(
            &[("service", "a")],
            summary(
                1_000_000,
                f64::NAN,
                &[
                    (0.0, 0.001),
                    (0.5, 1e-5),
                    (0.999, 2e6),
                    (1.0, f64::INFINITY),
                ],
            ),
        )],
    );
    assert_eq!(
        text(&[f]),
        r#"# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{service="a",quantile="0"} 0.001
rpc_seconds{service="a",quantile="0.5"} 1e-05
rpc_seconds{service="a",quantile="0.999"} 2e+06
rpc_seconds{service="a",quantile="1"} +Inf
rpc_seconds_sum{service="a"} NaN
rpc_seconds_count{service="a"} 1e+06
"#
    );
}

#[test]
fn instruments_through_the_registry() -> TestResult {
    let registry = Registry::new();
    let requests = CounterVec::with_opts(
        Opts::new("requests_total", "Requests served.")
            .namespace("shop")
            .const_label("zone", "eu-1")
            .const_label("app", "web"),
        ["method", "code"],
    )?;
    let latency = HistogramVec::with_opts(
        Opts::new("latency_seconds", "Latency.").const_label("app", "web"),
        ["route"],
        &[0.1, 0.5, 1.0],
    )?;
    let temp = GaugeVec::new(
        "temperature_celsius",
        "Temp with \"quotes\" \\ and\nlines.",
        ["room"],
    )?;
    let up = Gauge::new("up", "Up.")?;
    let plain = Histogram::new("plain_seconds", "Plain.", &[1.0, f64::INFINITY])?;
    registry.register(requests.clone())?;
    registry.register(latency.clone())?;
    registry.register(temp.clone())?;
    registry.register(up.clone())?;
    registry.register(plain.clone())?;

    requests
        .with_label_values(["POST", "201"])
        .inc_by(1_000_000);
    requests.with_label_values(["GET", "200"]).inc();
    requests.with_label_values(["GET", "200"]).add(0.5)?;
    requests.with_label_values(["GET", "500"]);
    let route = latency.with_label_values(["/a\"b"]);
    for v in [0.05, 0.1, 0.25, 2.0] {
        route.observe(v);
    }
    temp.with_label_values(["kitchen\n2"]).set(-0.0);
    temp.with_label_values(["attic"]).set(1.5e-5);
    up.set(1.0);
    plain.observe(0.5);
    plain.observe(1.5);

    assert_eq!(
        registry_text(&registry),
        r#"# HELP latency_seconds Latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{app="web",route="/a\"b",le="0.1"} 2
latency_seconds_bucket{app="web",route="/a\"b",le="0.5"} 3
latency_seconds_bucket{app="web",route="/a\"b",le="1"} 3
latency_seconds_bucket{app="web",route="/a\"b",le="+Inf"} 4
latency_seconds_sum{app="web",route="/a\"b"} 2.4
latency_seconds_count{app="web",route="/a\"b"} 4
# HELP plain_seconds Plain.
# TYPE plain_seconds histogram
plain_seconds_bucket{le="1"} 1
plain_seconds_bucket{le="+Inf"} 2
plain_seconds_sum 2
plain_seconds_count 2
# HELP shop_requests_total Requests served.
# TYPE shop_requests_total counter
shop_requests_total{app="web",code="200",method="GET",zone="eu-1"} 1.5
shop_requests_total{app="web",code="201",method="POST",zone="eu-1"} 1e+06
shop_requests_total{app="web",code="500",method="GET",zone="eu-1"} 0
# HELP temperature_celsius Temp with "quotes" \\ and\nlines.
# TYPE temperature_celsius gauge
temperature_celsius{room="attic"} 1.5e-05
temperature_celsius{room="kitchen\n2"} 0
# HELP up Up.
# TYPE up gauge
up 1
"#
    );
    Ok(())
}

#[test]
fn const_metrics_through_the_registry() -> TestResult {
    let registry = Registry::new();
    let d = Desc::new(
        MetricType::Summary,
        "rpc_seconds",
        "RPCs.",
        &["method"],
        &[("svc", "x")],
    )?;
    let u = Desc::new(MetricType::Untyped, "legacy", "Legacy.", &[], &[])?;
    let (d2, u2) = (d.clone(), u.clone());
    registry.register(FnCollector::new(vec![d, u], move |out| {
        out.push(&ConstMetric::summary(&d2, 3, 1.5, &[(0.5, 0.25), (0.9, 1.0)], &["get"]).unwrap());
        out.push(
            &ConstMetric::untyped(&u2, 7.0, &[])
                .unwrap()
                .with_timestamp_ms(1000),
        );
    }))?;
    assert_eq!(
        registry_text(&registry),
        r#"# HELP legacy Legacy.
# TYPE legacy untyped
legacy 7 1000
# HELP rpc_seconds RPCs.
# TYPE rpc_seconds summary
rpc_seconds{method="get",svc="x",quantile="0.5"} 0.25
rpc_seconds{method="get",svc="x",quantile="0.9"} 1
rpc_seconds_sum{method="get",svc="x"} 1.5
rpc_seconds_count{method="get",svc="x"} 3
"#
    );
    Ok(())
}

#[test]
fn encode_appends_and_skips_empty_families() {
    let families = [
        family("empty", "Nothing.", MetricType::Counter, vec![]),
        family(
            "one",
            "One.",
            MetricType::Gauge,
            vec![metric(&[], Value::Gauge(1.0))],
        ),
    ];
    let mut out = b"prefix\n".to_vec();
    encode(&families, &mut out).expect("encodes");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "prefix\n# HELP one One.\n# TYPE one gauge\none 1\n"
    );
    let mut out = Vec::new();
    encode(&[], &mut out).expect("encodes");
    assert!(out.is_empty());
}

#[test]
fn type_mismatch_is_an_error() {
    let good = family(
        "a_good",
        "Good.",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(1.0))],
    );
    let good_text = "# HELP a_good Good.\n# TYPE a_good gauge\na_good 1\n";
    let mismatches = [
        family(
            "bad",
            "Bad.",
            MetricType::Counter,
            vec![metric(&[], counter(1.0)), metric(&[], Value::Gauge(2.0))],
        ),
        family(
            "bad",
            "Bad.",
            MetricType::Gauge,
            vec![metric(&[], Value::Untyped(1.0))],
        ),
        family(
            "bad",
            "Bad.",
            MetricType::Summary,
            vec![metric(&[], histogram(1, 1.0, &[]))],
        ),
        family(
            "bad",
            "Bad.",
            MetricType::Histogram,
            vec![metric(&[], summary(1, 1.0, &[]))],
        ),
    ];
    for bad in mismatches {
        let mut out = Vec::new();
        let err = encode(&[good.clone(), bad.clone()], &mut out).unwrap_err();
        assert_eq!(
            err,
            EncodeError::TypeMismatch {
                metric: "bad".into()
            },
            "{bad:?}"
        );
        let written = String::from_utf8(out).unwrap();
        assert!(written.starts_with(good_text), "{written:?}");
    }
}

#[test]
fn empty_names_are_errors() {
    let f = family(
        "",
        "H.",
        MetricType::Gauge,
        vec![metric(&[], Value::Gauge(1.0))],
    );
    for escaping in [Escaping::AllowUtf8, Escaping::Underscores, Escaping::Dots] {
        let mut out = Vec::new();
        assert_eq!(
            encode_escaped(std::slice::from_ref(&f), &mut out, escaping),
            Err(EncodeError::InvalidName {
                name: String::new()
            }),
            "{escaping}"
        );
        assert!(out.is_empty());
    }
    let f = family(
        "ok",
        "H.",
        MetricType::Gauge,
        vec![
            metric(&[("fine", "x")], Value::Gauge(1.0)),
            metric(&[("fine", "y"), ("", "v")], Value::Gauge(2.0)),
        ],
    );
    let mut out = Vec::new();
    for escaping in [Escaping::AllowUtf8, Escaping::Underscores, Escaping::Values] {
        out.clear();
        assert_eq!(
            encode_escaped(std::slice::from_ref(&f), &mut out, escaping),
            Err(EncodeError::InvalidName {
                name: String::new()
            }),
            "{escaping}"
        );
        let written = String::from_utf8(out.clone()).unwrap();
        assert!(!written.contains("fine=\"y\""), "{written:?}");
    }
}

#[test]
fn names_outside_the_legacy_set_are_escaped_or_quoted() {
    let g = |name: &str, labels: &[(&str, &str)]| {
        family(
            name,
            "H.",
            MetricType::Gauge,
            vec![metric(labels, Value::Gauge(1.0))],
        )
    };
    let out = |f: MetricFamily, escaping| {
        let mut out = Vec::new();
        encode_escaped(&[f], &mut out, escaping).expect("encodes");
        String::from_utf8(out).unwrap()
    };
    // `encode` escapes with underscores, the scrapers' default.
    assert_eq!(
        text(&[g("bad-name", &[])]),
        "# HELP bad_name H.\n# TYPE bad_name gauge\nbad_name 1\n"
    );
    for (name, underscores, dots, values) in [
        ("1abc", "_abc", "__abc", "U___31_abc"),
        (
            "with space",
            "with_space",
            "with__space",
            "U__with_20_space",
        ),
        ("ünï", "_n_", "__n__", "U___fc_n_ef_"),
        ("a.b_c", "a_b_c", "a_dot_b__c", "U__a_2e_b__c"),
    ] {
        for (escaping, want) in [
            (Escaping::Underscores, underscores),
            (Escaping::Dots, dots),
            (Escaping::Values, values),
        ] {
            assert_eq!(
                out(g(name, &[]), escaping),
                format!("# HELP {want} H.\n# TYPE {want} gauge\n{want} 1\n"),
                "{name:?} {escaping}"
            );
        }
        let quoted = name.replace('"', "\\\"");
        assert_eq!(
            out(g(name, &[]), Escaping::AllowUtf8),
            format!("# HELP \"{quoted}\" H.\n# TYPE \"{quoted}\" gauge\n{{\"{quoted}\"}} 1\n"),
            "{name:?}"
        );
    }
    // Label names likewise; a legacy family name stays unquoted.
    for (label, underscores) in [
        ("bad-label", "bad_label"),
        ("1abc", "_abc"),
        ("a:b", "a_b"),
        ("ü", "_"),
    ] {
        assert_eq!(
            out(g("ok", &[(label, "v")]), Escaping::Underscores),
            format!("# HELP ok H.\n# TYPE ok gauge\nok{{{underscores}=\"v\"}} 1\n"),
            "{label:?}"
        );
        assert_eq!(
            out(g("ok", &[("fine", "x"), (label, "v")]), Escaping::AllowUtf8),
            format!("# HELP ok H.\n# TYPE ok gauge\nok{{fine=\"x\",\"{label}\"=\"v\"}} 1\n"),
            "{label:?}"
        );
    }
    // A quoted name with labels, a quote in it, and the histogram lines.
    let h = family(
        "lat.\"s\"",
        "H.",
        MetricType::Histogram,
        vec![metric(&[("m.x", "GET")], histogram(2, 0.5, &[(0.1, 1)]))],
    );
    assert_eq!(
        out(h, Escaping::AllowUtf8),
        "# HELP \"lat.\\\"s\\\"\" H.\n# TYPE \"lat.\\\"s\\\"\" histogram\n\
         {\"lat.\\\"s\\\"_bucket\",\"m.x\"=\"GET\",le=\"0.1\"} 1\n\
         {\"lat.\\\"s\\\"_bucket\",\"m.x\"=\"GET\",le=\"+Inf\"} 2\n\
         {\"lat.\\\"s\\\"_sum\",\"m.x\"=\"GET\"} 0.5\n\
         {\"lat.\\\"s\\\"_count\",\"m.x\"=\"GET\"} 2\n"
    );
    // Valid unusual names pass through.
    let f = family(
        ":colon_name:",
        "H.",
        MetricType::Gauge,
        vec![metric(&[("_under", "x")], Value::Gauge(1.0))],
    );
    assert_eq!(
        text(&[f]),
        "# HELP :colon_name: H.\n# TYPE :colon_name: gauge\n:colon_name:{_under=\"x\"} 1\n"
    );
}

#[test]
fn shared_label_arcs_are_written_like_owned_ones() {
    // Label strings are shared `Arc<str>`s; sharing must not change output.
    let name: Arc<str> = Arc::from("k");
    let value: Arc<str> = Arc::from("v\"");
    let pair = LabelPair {
        name: name.clone(),
        value: value.clone(),
    };
    let f = family(
        "shared",
        "S.",
        MetricType::Counter,
        vec![
            Metric {
                labels: vec![pair.clone()].into(),
                value: counter(1.0),
                timestamp_ms: None,
            },
            Metric {
                labels: vec![pair].into(),
                value: counter(2.0),
                timestamp_ms: None,
            },
        ],
    );
    assert_eq!(
        text(&[f]),
        "# HELP shared S.\n# TYPE shared counter\nshared{k=\"v\\\"\"} 1\nshared{k=\"v\\\"\"} 2\n"
    );
}

#[test]
fn reused_snapshot_headers_follow_help_and_type_changes() -> TestResult {
    let registry = Registry::new();
    let mut snapshot = promclient::Snapshot::new();
    let as_text = |snapshot: &promclient::Snapshot| {
        let mut cached = Vec::new();
        encode(snapshot, &mut cached).expect("encodes");
        // The same families without the snapshot's rendered text.
        let mut plain = Vec::new();
        encode(snapshot.families(), &mut plain).expect("encodes");
        assert_eq!(
            String::from_utf8_lossy(&cached),
            String::from_utf8_lossy(&plain)
        );
        String::from_utf8(cached).unwrap()
    };

    let first = Counter::new("jobs_total", "Jobs \\ done.\nAll of them.")?;
    first.inc();
    registry.register(first.clone())?;
    registry.gather_into(&mut snapshot)?;
    assert_eq!(
        as_text(&snapshot),
        "# HELP jobs_total Jobs \\\\ done.\\nAll of them.\n# TYPE jobs_total counter\njobs_total 1\n"
    );

    // Same name, other help and type: the reused snapshot re-renders.
    assert!(registry.unregister(&first));
    let second = Gauge::new("jobs_total", "Jobs now.")?;
    second.set(3.0);
    registry.register(second)?;
    registry.gather_into(&mut snapshot)?;
    assert_eq!(
        as_text(&snapshot),
        "# HELP jobs_total Jobs now.\n# TYPE jobs_total gauge\njobs_total 3\n"
    );
    Ok(())
}

#[test]
fn long_names_and_label_values_are_written_whole() -> TestResult {
    // Pieces of every size class the line writer copies differently
    // (up to 3, 7, 15, 32, 64 bytes and longer), cached or not.
    let registry = Registry::new();
    let mut want = String::new();
    for len in [1usize, 5, 12, 20, 40, 70, 130] {
        let name = format!("n{}", "x".repeat(len));
        let value = "v".repeat(len);
        let fam = CounterVec::new(&name, "H.", ["k"])?;
        fam.with_label_values([value.as_str()]).inc_by(len as u64);
        let hist = HistogramVec::new(&format!("{name}_h"), "H.", ["k"], &[1.0])?;
        hist.with_label_values([value.as_str()]).observe(0.5);
        registry.register(fam)?;
        registry.register(hist)?;
        want.push_str(&format!(
            "# HELP {name} H.\n# TYPE {name} counter\n{name}{{k=\"{value}\"}} {len}\n"
        ));
        want.push_str(&format!(
            "# HELP {name}_h H.\n# TYPE {name}_h histogram\n\
             {name}_h_bucket{{k=\"{value}\",le=\"1\"}} 1\n\
             {name}_h_bucket{{k=\"{value}\",le=\"+Inf\"}} 1\n\
             {name}_h_sum{{k=\"{value}\"}} 0.5\n\
             {name}_h_count{{k=\"{value}\"}} 1\n"
        ));
    }
    let snapshot = registry.gather()?;
    // Families sort by name: build the expectation in that order.
    let mut blocks: Vec<&str> = want.split("# HELP ").filter(|b| !b.is_empty()).collect();
    blocks.sort_unstable();
    let want: String = blocks.iter().map(|b| format!("# HELP {b}")).collect();
    let mut cached = Vec::new();
    encode(&snapshot, &mut cached)?;
    assert_eq!(String::from_utf8(cached)?, want);
    assert_eq!(text(snapshot.families()), want);
    Ok(())
}

#[test]
fn families_of_many_series_are_written_whole() -> TestResult {
    // More series than one reservation of the line writer covers, with
    // label values from empty to long, and a family without labels: the
    // text rendered by the gather and the plain families give the same
    // output, which is the expected one.
    let registry = Registry::new();
    let counters = CounterVec::new("many_total", "H.", ["k"])?;
    let gauges = GaugeVec::new("many_gauge", "H.", ["k"])?;
    let plain = Counter::new("plain_total", "H.")?;
    registry.register(counters.clone())?;
    registry.register(gauges.clone())?;
    registry.register(plain.clone())?;
    plain.inc_by(3);
    let mut series: Vec<String> = (0..300)
        .map(|i| "v".repeat(i % 97) + &i.to_string())
        .collect();
    for (i, v) in series.iter().enumerate() {
        counters.with_label_values([v.as_str()]).inc_by(i as u64);
        gauges.with_label_values([v.as_str()]).set(i as f64 + 0.5);
    }
    series.sort_unstable();
    let index = |v: &str| v.trim_start_matches('v').parse::<usize>();
    let mut want = String::from("# HELP many_gauge H.\n# TYPE many_gauge gauge\n");
    for v in &series {
        want.push_str(&format!("many_gauge{{k=\"{v}\"}} {}.5\n", index(v)?));
    }
    want.push_str("# HELP many_total H.\n# TYPE many_total counter\n");
    for v in &series {
        want.push_str(&format!("many_total{{k=\"{v}\"}} {}\n", index(v)?));
    }
    want.push_str("# HELP plain_total H.\n# TYPE plain_total counter\nplain_total 3\n");
    let snapshot = registry.gather()?;
    let mut cached = Vec::new();
    encode(&snapshot, &mut cached)?;
    assert_eq!(String::from_utf8(cached)?, want);
    assert_eq!(text(snapshot.families()), want);
    Ok(())
}
