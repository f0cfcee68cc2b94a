//! Interop tests: our expositions fed to real external parsers, and a real
//! Prometheus server scraping `examples/server.rs`.
//!
//! Two independent consumers check the text:
//!
//! - `promtool check metrics` (from the Prometheus server distribution, Go's
//!   `expfmt` parser plus `promlint`): the text must parse and be lint-clean.
//! - `prometheus_client.parser.text_string_to_metric_families` (the official
//!   Python client): the text must parse, and for hand-written input the parsed
//!   families, help, unescaped label values and values must be exactly the
//!   expected ones (values compared bit for bit, NaN with `is_nan`).
//!
//! Environment variables:
//!
//! - `PROMCLIENT_INTEROP`: `require` makes a missing tool a test failure (CI
//!   sets this). Unset, empty or `auto`: a test whose tool is missing prints a
//!   notice to stderr and passes. Any other value is an error.
//! - `PROMCLIENT_PROMTOOL`: the promtool to run (default: `promtool` on PATH).
//! - `PROMCLIENT_PROMETHEUS`: the Prometheus server to run (default:
//!   `prometheus` on PATH); it scrapes `examples/server.rs` (feature
//!   `hyper`) in the `prometheus_scrapes_*` tests.
//! - `PROMCLIENT_PYTHON`: the Python interpreter that has `prometheus_client`
//!   installed (default: `python3` on PATH). `.ci/run` points it at a venv.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

/// Hand-written exposition in exactly the shape client_golang produces
/// (format 0.0.4: families sorted by name, label pairs sorted by name, series
/// sorted by label values, Go's shortest `'g'` floats). [`tricky_registry_text`]
/// must produce it byte for byte; `tricky_expected()` is what a parser must
/// read from it.
const TRICKY_TEXT: &str = r##"# HELP tricky_request_duration_seconds Request latency in seconds.
# TYPE tricky_request_duration_seconds histogram
tricky_request_duration_seconds_bucket{handler="/api",le="0.005"} 0
tricky_request_duration_seconds_bucket{handler="/api",le="0.01"} 1
tricky_request_duration_seconds_bucket{handler="/api",le="0.025"} 1
tricky_request_duration_seconds_bucket{handler="/api",le="0.05"} 2
tricky_request_duration_seconds_bucket{handler="/api",le="0.1"} 2
tricky_request_duration_seconds_bucket{handler="/api",le="0.25"} 3
tricky_request_duration_seconds_bucket{handler="/api",le="0.5"} 3
tricky_request_duration_seconds_bucket{handler="/api",le="1"} 4
tricky_request_duration_seconds_bucket{handler="/api",le="2.5"} 4
tricky_request_duration_seconds_bucket{handler="/api",le="5"} 5
tricky_request_duration_seconds_bucket{handler="/api",le="10"} 5
tricky_request_duration_seconds_bucket{handler="/api",le="+Inf"} 6
tricky_request_duration_seconds_sum{handler="/api"} 17.625
tricky_request_duration_seconds_count{handler="/api"} 6
# HELP tricky_requests_total Requests served. Path label is "raw": a backslash \\ and a newline \n end here.
# TYPE tricky_requests_total counter
tricky_requests_total{method="GET",path="/a\"quoted\""} 1e+06
tricky_requests_total{method="GET",path="C:\\dir\\"} 42
tricky_requests_total{method="POST",path="line1\nline2"} 0
tricky_requests_total{method="PUT",path="ünï 🦀"} 1.5e-05
# HELP tricky_temperature_celsius Temperature with odd values; ünï 🦀 in help too.
# TYPE tricky_temperature_celsius gauge
tricky_temperature_celsius{sensor="a"} +Inf
tricky_temperature_celsius{sensor="b"} -Inf
tricky_temperature_celsius{sensor="c"} NaN
tricky_temperature_celsius{sensor="d"} -0.25
tricky_temperature_celsius{sensor="e"} 1.7976931348623157e+308
tricky_temperature_celsius{sensor="f"} 5e-324
# HELP tricky_untyped_thing An untyped metric.
# TYPE tricky_untyped_thing untyped
tricky_untyped_thing 7
"##;

/// What `prometheus_client` must parse out of [`TRICKY_TEXT`]. Note the
/// Python parser's conventions: a counter family is named without `_total`
/// (its samples keep it), and `untyped` is reported as `unknown`.
fn tricky_expected() -> Vec<PyFamily> {
    let h = "tricky_request_duration_seconds";
    let bucket = |le: &str, v: f64| {
        sample(
            &format!("{h}_bucket"),
            &[("handler", "/api"), ("le", le)],
            v,
        )
    };
    let req = "tricky_requests_total";
    let temp = "tricky_temperature_celsius";
    vec![
        family(
            h,
            "histogram",
            "Request latency in seconds.",
            vec![
                bucket("0.005", 0.0),
                bucket("0.01", 1.0),
                bucket("0.025", 1.0),
                bucket("0.05", 2.0),
                bucket("0.1", 2.0),
                bucket("0.25", 3.0),
                bucket("0.5", 3.0),
                bucket("1", 4.0),
                bucket("2.5", 4.0),
                bucket("5", 5.0),
                bucket("10", 5.0),
                bucket("+Inf", 6.0),
                sample(&format!("{h}_sum"), &[("handler", "/api")], 17.625),
                sample(&format!("{h}_count"), &[("handler", "/api")], 6.0),
            ],
        ),
        family(
            "tricky_requests",
            "counter",
            "Requests served. Path label is \"raw\": a backslash \\ and a newline \n end here.",
            vec![
                sample(req, &[("method", "GET"), ("path", "/a\"quoted\"")], 1e6),
                sample(req, &[("method", "GET"), ("path", "C:\\dir\\")], 42.0),
                sample(req, &[("method", "POST"), ("path", "line1\nline2")], 0.0),
                sample(req, &[("method", "PUT"), ("path", "ünï 🦀")], 1.5e-5),
            ],
        ),
        family(
            temp,
            "gauge",
            "Temperature with odd values; ünï 🦀 in help too.",
            vec![
                sample(temp, &[("sensor", "a")], f64::INFINITY),
                sample(temp, &[("sensor", "b")], f64::NEG_INFINITY),
                sample(temp, &[("sensor", "c")], f64::NAN),
                sample(temp, &[("sensor", "d")], -0.25),
                sample(temp, &[("sensor", "e")], f64::MAX),
                sample(temp, &[("sensor", "f")], 5e-324),
            ],
        ),
        family(
            "tricky_untyped_thing",
            "unknown",
            "An untyped metric.",
            vec![sample("tricky_untyped_thing", &[], 7.0)],
        ),
    ]
}

/// The registry behind [`TRICKY_TEXT`], built with the library's API.
fn tricky_registry() -> promclient::Registry {
    use promclient::{CounterVec, GaugeVec, HistogramVec, Registry, ValueFn, DEFAULT_BUCKETS};

    let registry = Registry::new();
    let latency = HistogramVec::new(
        "tricky_request_duration_seconds",
        "Request latency in seconds.",
        ["handler"],
        &DEFAULT_BUCKETS,
    )
    .unwrap();
    // Binary fractions, so the sum is exact: 17.625.
    for v in [0.0078125, 0.03125, 0.125, 0.75, 4.0, 12.7109375] {
        latency.with_label_values(["/api"]).observe(v);
    }
    let requests = CounterVec::new(
        "tricky_requests_total",
        "Requests served. Path label is \"raw\": a backslash \\ and a newline \n end here.",
        ["method", "path"],
    )
    .unwrap();
    requests
        .with_label_values(["GET", "/a\"quoted\""])
        .inc_by(1_000_000);
    requests.with_label_values(["GET", "C:\\dir\\"]).inc_by(42);
    requests.with_label_values(["POST", "line1\nline2"]);
    requests
        .with_label_values(["PUT", "ünï 🦀"])
        .add(1.5e-5)
        .unwrap();
    let temps = GaugeVec::new(
        "tricky_temperature_celsius",
        "Temperature with odd values; ünï 🦀 in help too.",
        ["sensor"],
    )
    .unwrap();
    for (sensor, v) in [
        ("a", f64::INFINITY),
        ("b", f64::NEG_INFINITY),
        ("c", f64::NAN),
        ("d", -0.25),
        ("e", f64::MAX),
        ("f", 5e-324),
    ] {
        temps.with_label_values([sensor]).set(v);
    }
    let untyped = ValueFn::untyped("tricky_untyped_thing", "An untyped metric.", || 7.0).unwrap();
    // Registered out of name order: gather sorts.
    registry.register(untyped).unwrap();
    registry.register(temps).unwrap();
    registry.register(requests).unwrap();
    registry.register(latency).unwrap();
    registry
}

/// The text exposition of [`tricky_registry`].
fn tricky_registry_text() -> String {
    let mut out = Vec::new();
    promclient::encoding::text::encode(&tricky_registry().gather().unwrap(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn library_output_matches_client_golang_shape() {
    assert_eq!(tricky_registry_text(), TRICKY_TEXT);
}

#[test]
fn tricky_text_round_trips_through_python() {
    let test = "tricky_text_round_trips_through_python";
    if !tools_available(test, &[Tool::Promtool, Tool::Python]) {
        return;
    }
    let text = tricky_registry_text();
    promtool_check(&text);
    let families = python_parse(&text);
    assert_matches_type_lines(&text, &families);
    assert_families_eq(&families, &tricky_expected(), &text);
}

#[test]
fn example_output_passes_promtool_and_python_parser() {
    let test = "example_output_passes_promtool_and_python_parser";
    if !tools_available(test, &[Tool::Promtool, Tool::Python]) {
        return;
    }
    let text = run_example("basic");
    assert!(
        !text.trim().is_empty(),
        "example `basic` printed nothing on stdout"
    );
    promtool_check(&text);
    let families = python_parse(&text);
    assert!(
        !families.is_empty(),
        "python parsed no metric family from example `basic` output:\n{text}"
    );
    assert_matches_type_lines(&text, &families);
}

/// [`tricky_expected`] as the OpenMetrics parser reads [`tricky_registry`]'s
/// OpenMetrics exposition: the same samples, with `le` bounds written as
/// OpenMetrics floats (`1.0` where the text format has `1`).
fn tricky_expected_openmetrics() -> Vec<PyFamily> {
    let mut families = tricky_expected();
    for f in &mut families {
        for s in &mut f.samples {
            for (k, v) in &mut s.labels {
                if k == "le" && !v.contains(['.', 'e', 'I']) {
                    v.push_str(".0");
                }
            }
        }
    }
    families
}

#[test]
fn openmetrics_output_parses_strictly_in_python() {
    let test = "openmetrics_output_parses_strictly_in_python";
    if !tools_available(test, &[Tool::Python]) {
        return;
    }
    let snapshot = tricky_registry().gather().unwrap();
    let mut out = Vec::new();
    promclient::encoding::openmetrics::encode(&snapshot, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let families = python_parse_openmetrics(&text);
    assert_matches_type_lines(&text, &families);
    assert_families_eq(&families, &tricky_expected_openmetrics(), &text);

    // With `_created` lines: one more sample per counter and histogram
    // series, each a creation time in seconds within this test's run.
    let mut out = Vec::new();
    let options = promclient::encoding::openmetrics::Options::new().created(true);
    promclient::encoding::openmetrics::encode_with(&snapshot, &mut out, options).unwrap();
    let text = String::from_utf8(out).unwrap();
    let families = python_parse_openmetrics(&text);
    assert_matches_type_lines(&text, &families);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let created: Vec<&PySample> = families
        .iter()
        .flat_map(|f| &f.samples)
        .filter(|s| s.name.ends_with("_created"))
        .collect();
    assert_eq!(
        created.len(),
        4 + 1,
        "four counter series, one histogram series\n{text}"
    );
    for s in created {
        assert!(
            (now - 600.0..=now).contains(&s.value),
            "{s:?} is not a recent time\n{text}"
        );
    }
}

/// Every place where the OpenMetrics encoder writes something other than
/// client_golang would (see `promclient::encoding::openmetrics::encode`),
/// plus exemplars, timestamps, units and summaries: the strict parser must
/// accept all of it.
#[test]
fn openmetrics_edge_cases_parse_strictly_in_python() {
    use promclient::{
        Bucket, CounterValue, Exemplar, HistogramValue, LabelPair, Metric, MetricFamily,
        MetricType, Quantile, SummaryValue, Value,
    };
    use std::time::Duration;

    let test = "openmetrics_edge_cases_parse_strictly_in_python";
    if !tools_available(test, &[Tool::Python]) {
        return;
    }
    let at = SystemTime::UNIX_EPOCH + Duration::new(1_700_000_000, 123_000_000);
    let pair = |k: &str, v: &str| LabelPair::new(k, v);
    let series = |labels: Vec<LabelPair>, value: Value, ts: Option<i64>| Metric {
        labels: labels.into_boxed_slice(),
        value,
        timestamp_ms: ts,
    };
    let family =
        |name: &str, t: MetricType, unit: Option<&str>, metrics: Vec<Metric>| MetricFamily {
            name: name.into(),
            help: "Help with \"quotes\", a \\ and a\nnewline.".into(),
            metric_type: t,
            unit: unit.map(Into::into),
            metrics,
        };
    let ex = |v: f64| {
        Some(Box::new(Exemplar {
            labels: vec![pair("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")],
            value: v,
            timestamp: Some(at),
        }))
    };
    let counter = |v: f64, exemplar| {
        Value::Counter(CounterValue {
            value: v,
            created: Some(at),
            exemplar,
        })
    };
    let bucket = |le: f64, n: u64, exemplar| Bucket {
        upper_bound: le,
        cumulative_count: n,
        exemplar,
    };
    let histogram = |sum: f64, buckets: Vec<Bucket>, count: u64| {
        Value::Histogram(Box::new(HistogramValue {
            sample_count: count,
            sample_sum: sum,
            buckets,
            created: Some(at),
            native: None,
        }))
    };
    let summary = |sum: f64| {
        Value::Summary(Box::new(SummaryValue {
            sample_count: 3,
            sample_sum: sum,
            quantiles: vec![
                Quantile {
                    quantile: 0.0,
                    value: 0.5,
                },
                Quantile {
                    quantile: 0.5,
                    value: f64::NAN,
                },
                Quantile {
                    quantile: 0.9,
                    value: -4.0,
                },
                Quantile {
                    quantile: 1.0,
                    value: 1e6,
                },
            ],
            created: Some(at),
        }))
    };
    let families = vec![
        family(
            "edge_bytes_total",
            MetricType::Counter,
            Some("bytes"),
            vec![
                series(vec![pair("a", "1")], counter(1e21, ex(0.5)), None),
                series(
                    vec![pair("a", "2")],
                    counter(0.0, None),
                    Some(1_700_000_000_123),
                ),
                // Left out: a quote in an exemplar's label value.
                series(
                    vec![pair("a", "3")],
                    counter(
                        4.0,
                        Some(Box::new(Exemplar {
                            labels: vec![pair("trace_id", "x\"y")],
                            value: 1.0,
                            timestamp: None,
                        })),
                    ),
                    None,
                ),
            ],
        ),
        // Typed `unknown`: no `_total`, and a NaN value.
        family(
            "edge_no_suffix",
            MetricType::Counter,
            None,
            vec![series(vec![], counter(2.0, ex(1.0)), None)],
        ),
        family(
            "edge_nan_total",
            MetricType::Counter,
            None,
            vec![series(vec![], counter(f64::NAN, ex(1.0)), None)],
        ),
        family(
            "edge_gauge_seconds",
            MetricType::Gauge,
            Some("seconds"),
            vec![series(
                vec![pair("k", "\"\\\n🦀")],
                Value::Gauge(-0.0),
                Some(-1500),
            )],
        ),
        family(
            "edge_histogram",
            MetricType::Histogram,
            None,
            vec![
                // Counter-like: sum and count.
                series(
                    vec![pair("k", "a")],
                    histogram(3.5, vec![bucket(0.5, 1, ex(0.25)), bucket(1e6, 2, None)], 3),
                    Some(1_700_000_000_000),
                ),
                // Negative bound, negative sum, NaN sum: no sum or count.
                series(
                    vec![pair("k", "b")],
                    histogram(1.0, vec![bucket(-1.0, 1, None), bucket(0.0, 1, None)], 1),
                    None,
                ),
                series(
                    vec![pair("k", "c")],
                    histogram(-2.0, vec![bucket(1.0, 1, None)], 1),
                    None,
                ),
                series(
                    vec![pair("k", "d")],
                    histogram(f64::NAN, vec![bucket(f64::INFINITY, 4, ex(7.0))], 4),
                    None,
                ),
            ],
        ),
        family(
            "edge_summary",
            MetricType::Summary,
            None,
            vec![
                series(vec![pair("k", "a")], summary(10.0), Some(1_000)),
                series(vec![pair("k", "b")], summary(-10.0), None),
            ],
        ),
        family(
            "edge_untyped",
            MetricType::Untyped,
            None,
            vec![series(vec![], Value::Untyped(f64::NEG_INFINITY), None)],
        ),
    ];
    for created in [false, true] {
        let mut out = Vec::new();
        let options = promclient::encoding::openmetrics::Options::new().created(created);
        promclient::encoding::openmetrics::encode_with(&families, &mut out, options).unwrap();
        let text = String::from_utf8(out).unwrap();
        for want in [
            "# UNIT edge_bytes bytes\n",
            "# UNIT edge_gauge_seconds seconds\n",
            "# TYPE edge_no_suffix unknown\n",
            "# TYPE edge_nan_total unknown\n",
            "edge_histogram_bucket{k=\"a\",le=\"0.5\"} 1 1.7e+09 # {trace_id=",
        ] {
            assert!(text.contains(want), "{want:?} missing in\n{text}");
        }
        let parsed = python_parse_openmetrics(&text);
        assert_matches_type_lines(&text, &parsed);
        let names: Vec<&str> = parsed.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "edge_bytes",
                "edge_no_suffix",
                "edge_nan_total",
                "edge_gauge_seconds",
                "edge_histogram",
                "edge_summary",
                "edge_untyped"
            ],
            "{text}"
        );
    }
}

#[test]
fn a_counter_beside_a_family_of_its_openmetrics_name_parses_strictly_in_python() {
    use promclient::{Counter, Gauge, Registry};

    let test = "a_counter_beside_a_family_of_its_openmetrics_name_parses_strictly_in_python";
    if !tools_available(test, &[Tool::Python]) {
        return;
    }
    let registry = Registry::new();
    let c = Counter::new("jobs_total", "Counted.").unwrap();
    c.inc_by(4);
    registry.register(c).unwrap();
    registry
        .register(Gauge::new("jobs", "Gauged.").unwrap())
        .unwrap();
    let mut om = Vec::new();
    promclient::encoding::openmetrics::encode(&registry.gather().unwrap(), &mut om).unwrap();
    let om = String::from_utf8(om).unwrap();
    let families = python_parse_openmetrics(&om);
    let got: Vec<(&str, &str, f64)> = families
        .iter()
        .map(|f| (&*f.name, &*f.typ, f.samples[0].value))
        .collect();
    assert_eq!(
        got,
        [("jobs", "gauge", 0.0), ("jobs_total", "unknown", 4.0)],
        "{om}"
    );
}

#[test]
fn utf8_names_parse_quoted_in_python_and_escaped_in_promtool() {
    use promclient::encoding::negotiate::Escaping;
    use promclient::encoding::{openmetrics, text};
    use promclient::{CounterVec, HistogramVec, NameValidation, Opts, Registry};

    let test = "utf8_names_parse_quoted_in_python_and_escaped_in_promtool";
    if !tools_available(test, &[Tool::Promtool, Tool::Python]) {
        return;
    }
    let utf8 = |name: &str, help: &str| Opts::new(name, help).name_validation(NameValidation::Utf8);
    let registry = Registry::with_name_validation(NameValidation::Utf8);
    let jobs = CounterVec::with_opts(utf8("jobs.done_total", "Jobs."), ["queue.name"]).unwrap();
    let took =
        HistogramVec::with_opts(utf8("job.time_seconds", "Time."), ["k\"q"], &[0.5]).unwrap();
    registry.register(jobs.clone()).unwrap();
    registry.register(took.clone()).unwrap();
    jobs.with_label_values(["mail"]).inc_by(2);
    took.with_label_values(["v"]).observe(0.25);
    let snapshot = registry.gather().unwrap();

    let mut om = Vec::new();
    let options = openmetrics::Options::new().escaping(Escaping::AllowUtf8);
    openmetrics::encode_with(&snapshot, &mut om, options).unwrap();
    let om = String::from_utf8(om).unwrap();
    let families = python_parse_openmetrics(&om);
    let names: Vec<(&str, &str)> = families.iter().map(|f| (&*f.name, &*f.typ)).collect();
    assert_eq!(
        names,
        [("job.time_seconds", "histogram"), ("jobs.done", "counter")],
        "{om}"
    );
    let counter = &families[1].samples[0];
    assert_eq!(counter.name, "jobs.done_total");
    assert_eq!(
        counter.labels,
        [("queue.name".to_owned(), "mail".to_owned())]
    );
    assert_eq!(counter.value.to_bits(), 2f64.to_bits());
    let bucket = &families[0].samples[0];
    assert_eq!(bucket.name, "job.time_seconds_bucket");
    assert_eq!(
        bucket.labels,
        [
            ("k\"q".to_owned(), "v".to_owned()),
            ("le".to_owned(), "0.5".to_owned())
        ]
    );

    let mut quoted = Vec::new();
    text::encode_escaped(&snapshot, &mut quoted, Escaping::AllowUtf8).unwrap();
    let quoted = String::from_utf8(quoted).unwrap();
    let families = python_parse(&quoted);
    assert_eq!(families.len(), 2, "{quoted}");
    assert_eq!(families[0].samples[0].name, "job.time_seconds_bucket");

    // Escaped, the same snapshot is legacy text promtool accepts.
    for escaping in [Escaping::Underscores, Escaping::Dots, Escaping::Values] {
        let mut escaped = Vec::new();
        text::encode_escaped(&snapshot, &mut escaped, escaping).unwrap();
        promtool_check(&String::from_utf8(escaped).unwrap());
    }
}

// ---------------------------------------------------------------------------
// A real Prometheus scraping the example server.

#[cfg(feature = "hyper")]
#[test]
fn prometheus_scrapes_the_example_server_as_openmetrics() {
    let test = "prometheus_scrapes_the_example_server_as_openmetrics";
    if !tools_available(test, &[Tool::Prometheus, Tool::Promtool, Tool::Python]) {
        return;
    }
    let server = scrape::ExampleServer::start();
    // What a scraper reads from the server is clean for promtool and the
    // strict OpenMetrics parser.
    let text = scrape::http_get(&server.addr, "/metrics", "text/plain;version=0.0.4");
    promtool_check(&text);
    let om = scrape::http_get(
        &server.addr,
        "/metrics",
        "application/openmetrics-text;version=1.0.0",
    );
    let families = python_parse_openmetrics(&om);
    for name in ["demo_jobs", "demo_queue_depth", "demo_job_duration_seconds"] {
        assert!(
            families.iter().any(|f| f.name == name),
            "python did not find {name} in\n{om}"
        );
    }
    scrape::run_prometheus(&server, false);
    server.assert_served_as("application/openmetrics-text; version=1.0.0");
}

#[cfg(feature = "hyper")]
#[test]
fn prometheus_with_native_histograms_scrapes_the_example_server_as_protobuf() {
    let test = "prometheus_with_native_histograms_scrapes_the_example_server_as_protobuf";
    if !tools_available(test, &[Tool::Prometheus]) {
        return;
    }
    let server = scrape::ExampleServer::start();
    scrape::run_prometheus(&server, true);
    server.assert_served_as(
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
    );
}

#[cfg(not(feature = "hyper"))]
#[test]
fn prometheus_scrapes_need_the_hyper_feature() {
    let why = "the example server needs `--features hyper` (or `--all-features`)";
    match tool_mode() {
        ToolMode::Require => panic!("interop: {why} (PROMCLIENT_INTEROP=require)"),
        ToolMode::SkipIfMissing => {
            let _ = writeln!(
                std::io::stderr(),
                "interop: skipping the Prometheus scrape tests: {why}"
            );
        }
    }
}

#[cfg(feature = "hyper")]
mod scrape {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use super::{built_example, Tool};

    /// How long Prometheus scrapes before the checks.
    const SCRAPING: Duration = Duration::from_secs(10);
    /// The bound on every wait.
    const BOUND: Duration = Duration::from_secs(60);

    /// A child process killed (by its PID) and reaped when dropped.
    struct Killed(Child);

    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// `examples/server.rs` on a free port, its stderr collected.
    pub(super) struct ExampleServer {
        pub(super) addr: String,
        stderr: Arc<Mutex<String>>,
        _child: Killed,
    }

    impl ExampleServer {
        pub(super) fn start() -> Self {
            let bin = server_binary();
            let child = Command::new(&bin)
                .arg("127.0.0.1:0")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut child = Killed(child);
            let stdout = child.0.stdout.take().expect("piped stdout");
            let stderr = child.0.stderr.take().expect("piped stderr");
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut first = String::new();
                let _ = BufReader::new(stdout).read_line(&mut first);
                let _ = tx.send(first);
            });
            let log = Arc::new(Mutex::new(String::new()));
            let sink = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let mut log = sink.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
            });
            let first = rx
                .recv_timeout(BOUND)
                .expect("the example server printed its address in time");
            let addr = first
                .trim()
                .strip_prefix("listening on http://")
                .and_then(|a| a.strip_suffix("/metrics"))
                .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
                .to_owned();
            Self {
                addr,
                stderr: log,
                _child: child,
            }
        }

        /// The server said it answered a scrape in `content_type`.
        pub(super) fn assert_served_as(&self, content_type: &str) {
            let log = self.stderr.lock().unwrap().clone();
            assert!(
                log.lines()
                    .any(|l| l.starts_with(&format!("serving /metrics as {content_type};"))),
                "the server never answered in {content_type}; its stderr:\n{log}"
            );
        }
    }

    fn server_binary() -> PathBuf {
        if let Some(bin) = built_example("server") {
            return bin;
        }
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--example",
                "server",
                "--features",
                "hyper",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .status()
            .expect("cargo build --example server");
        assert!(status.success(), "cargo build --example server: {status}");
        built_example("server").expect("the example server was just built")
    }

    /// GET `path` over HTTP/1.0 with `accept`; the body of a 200.
    pub(super) fn http_get(addr: &str, path: &str, accept: &str) -> String {
        let (status, body) = http_get_status(addr, path, accept)
            .unwrap_or_else(|e| panic!("GET http://{addr}{path}: {e}"));
        assert_eq!(status, 200, "GET http://{addr}{path}: {body}");
        body
    }

    fn http_get_status(addr: &str, path: &str, accept: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.set_write_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
        )?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok((status, body.to_owned()))
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    }

    /// Runs Prometheus scraping `server` every second for [`SCRAPING`],
    /// then checks through its HTTP API that the target is up without a
    /// scrape error and that the demo series arrived.
    pub(super) fn run_prometheus(server: &ExampleServer, native_histograms: bool) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: demo\n    static_configs:\n      - targets: ['{}']\n",
                server.addr
            ),
        )
        .unwrap();
        let web = format!("127.0.0.1:{}", free_port());
        let mut cmd = Command::new(Tool::Prometheus.command());
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if native_histograms {
            cmd.arg("--enable-feature=native-histograms");
        }
        let mut prometheus = Killed(cmd.spawn().expect("prometheus starts"));
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = prometheus.0.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let fail = |what: &str| -> ! {
            panic!("{what}\n--- prometheus stderr ---\n{}", log.lock().unwrap())
        };

        let start = Instant::now();
        loop {
            if let Ok((200, _)) = http_get_status(&web, "/-/ready", "*/*") {
                break;
            }
            if start.elapsed() > BOUND {
                fail("prometheus did not become ready");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let ready = Instant::now();
        std::thread::sleep(SCRAPING);

        // The target is up and its last scrape had no error.
        let targets = api(&web, "/api/v1/targets?state=active");
        let active = targets["data"]["activeTargets"]
            .as_array()
            .unwrap_or_else(|| fail(&format!("no activeTargets in {targets}")));
        if active.len() != 1 {
            fail(&format!("expected one target: {targets}"));
        }
        let t = &active[0];
        if t["health"] != "up" || t["lastError"] != "" {
            fail(&format!("the target is not healthy: {t}"));
        }

        // The demo series arrived, with the values the server computes.
        let scalar = |q: &str| -> f64 {
            let r = api(&web, &format!("/api/v1/query?query={}", percent(q)));
            let v = &r["data"]["result"][0]["value"][1];
            v.as_str()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| fail(&format!("no value for {q}: {r}")))
        };
        let checks: [(&str, f64); 6] = [
            ("up{job=\"demo\"}", 1.0),
            // 2 queues x {done, failed}.
            ("count(demo_jobs_total)", 4.0),
            ("count(demo_queue_depth)", 1.0),
            // 2 queues x (11 default buckets + +Inf).
            ("count(demo_job_duration_seconds_bucket)", 24.0),
            ("count(demo_job_duration_seconds_count)", 2.0),
            ("count(process_open_fds)", 1.0),
        ];
        for (q, want) in checks {
            let got = scalar(q);
            if got != want {
                fail(&format!("{q} = {got}, want {want}"));
            }
        }
        // Several scrapes were answered, none with an error.
        let ok = scalar("max(promhttp_metric_handler_requests_total{code=\"200\"})");
        if ok < 3.0 {
            fail(&format!(
                "only {ok} successful scrapes in {:?}",
                ready.elapsed()
            ));
        }
        // Every sample of the last scrape was stored as a series.
        let samples = scalar("scrape_samples_scraped{job=\"demo\"}");
        let series = scalar("count({job=\"demo\",__name__!~\"up|scrape_.+\"})");
        if samples != series || samples < 39.0 {
            fail(&format!(
                "{samples} samples scraped, {series} series stored"
            ));
        }
        if let Some(status) = prometheus_exit(&mut prometheus) {
            fail(&format!("prometheus exited early: {status}"));
        }
    }

    /// `Some(status)` if Prometheus already exited.
    fn prometheus_exit(p: &mut Killed) -> Option<std::process::ExitStatus> {
        p.0.try_wait().ok().flatten()
    }

    fn api(web: &str, path: &str) -> serde_json::Value {
        let body = http_get(web, path, "application/json");
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("bad JSON from {path}: {e}\n{body}"));
        assert_eq!(v["status"], "success", "{path}: {v}");
        v
    }

    /// Percent-encodes a PromQL query for a URL.
    fn percent(q: &str) -> String {
        q.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Tool discovery and skip/require policy.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToolMode {
    /// `PROMCLIENT_INTEROP=require`: a missing tool fails the test.
    Require,
    /// Default: a missing tool skips the test with a notice on stderr.
    SkipIfMissing,
}

fn tool_mode() -> ToolMode {
    match std::env::var("PROMCLIENT_INTEROP") {
        Ok(v) if v == "require" => ToolMode::Require,
        Ok(v) if v.is_empty() || v == "auto" => ToolMode::SkipIfMissing,
        Err(std::env::VarError::NotPresent) => ToolMode::SkipIfMissing,
        Ok(v) => panic!("PROMCLIENT_INTEROP={v:?}: expected `require`, `auto` or unset"),
        Err(e) => panic!("PROMCLIENT_INTEROP: {e}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Promtool,
    Python,
    // Used by the scrape tests, which need the `hyper` feature.
    #[cfg_attr(not(feature = "hyper"), allow(dead_code))]
    Prometheus,
}

impl Tool {
    fn label(self) -> &'static str {
        match self {
            Tool::Promtool => "promtool",
            Tool::Python => "python prometheus_client",
            Tool::Prometheus => "prometheus (server)",
        }
    }

    fn command(self) -> OsString {
        match self {
            Tool::Promtool => env_or("PROMCLIENT_PROMTOOL", "promtool"),
            Tool::Python => env_or("PROMCLIENT_PYTHON", "python3"),
            Tool::Prometheus => env_or("PROMCLIENT_PROMETHEUS", "prometheus"),
        }
    }

    /// `Ok` if the tool runs, else why not. Probed once per test binary.
    fn probe(self) -> &'static Result<(), String> {
        static PROMTOOL: OnceLock<Result<(), String>> = OnceLock::new();
        static PYTHON: OnceLock<Result<(), String>> = OnceLock::new();
        static PROMETHEUS: OnceLock<Result<(), String>> = OnceLock::new();
        let (cell, args): (_, &[&str]) = match self {
            Tool::Promtool => (&PROMTOOL, &["--version"]),
            Tool::Python => (&PYTHON, &["-c", "import prometheus_client.parser"]),
            Tool::Prometheus => (&PROMETHEUS, &["--version"]),
        };
        cell.get_or_init(|| {
            let cmd = self.command();
            match Command::new(&cmd).args(args).stdin(Stdio::null()).output() {
                Err(e) => Err(format!("{} not found ({cmd:?}: {e})", self.label())),
                Ok(out) if !out.status.success() => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    // The last line says it (e.g. `ModuleNotFoundError: ...`).
                    let last = stderr.lines().rfind(|l| !l.trim().is_empty());
                    Err(format!(
                        "{} not usable ({cmd:?} {args:?}: {}: {})",
                        self.label(),
                        out.status,
                        last.unwrap_or("no stderr").trim()
                    ))
                }
                Ok(_) => Ok(()),
            }
        })
    }
}

fn env_or(var: &str, default: &str) -> OsString {
    match std::env::var_os(var) {
        Some(v) if !v.is_empty() => v,
        _ => OsString::from(default),
    }
}

/// True if every tool is usable. Otherwise panics (`require` mode) or prints
/// a skip notice and returns false: the caller returns early and passes.
fn tools_available(test: &str, tools: &[Tool]) -> bool {
    let mode = tool_mode();
    for &tool in tools {
        if let Err(why) = tool.probe() {
            match mode {
                ToolMode::Require => {
                    panic!("interop: {test}: {why} (PROMCLIENT_INTEROP=require)")
                }
                ToolMode::SkipIfMissing => {
                    // Straight to the stderr handle: libtest captures
                    // `eprintln!` of passing tests, and this must be seen.
                    let _ = writeln!(
                        std::io::stderr(),
                        "interop: skipping {test}: {why} \
                         (set PROMCLIENT_INTEROP=require to fail instead)"
                    );
                    return false;
                }
            }
        }
    }
    true
}

/// Runs `cmd` with `input` on stdin (written from a thread, so a chatty child
/// can't deadlock us) and collects its output.
fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {desc}: {e}"));
    let mut stdin = child.stdin.take().expect("child stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {desc}: {e}"));
    // A child that exits without reading all its input gives EPIPE here; its
    // exit status and output are what matter, so that error is not fatal.
    let _ = writer.join().expect("stdin writer thread panicked");
    out
}

// ---------------------------------------------------------------------------
// promtool

/// Fails unless `promtool check metrics` accepts `text` with no finding.
///
/// promtool (2.42 seen here) reports on stderr and by exit status:
/// clean input exits 0 and prints nothing; lint findings (e.g. a counter
/// without `_total`, missing HELP, camelCase, non-base units) print one line
/// each, `<metric> <problem>`, and exit 3; parse errors print
/// `error while linting: ...` and exit 1. We require exit 0 *and* empty
/// stdout and stderr, so a future promtool that warns without failing is
/// caught too.
fn promtool_check(text: &str) {
    let mut cmd = Command::new(Tool::Promtool.command());
    cmd.args(["check", "metrics"]);
    let out = run_with_stdin(cmd, text);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || !stdout.trim().is_empty() || !stderr.trim().is_empty() {
        panic!(
            "promtool check metrics rejected the exposition ({}):\n\
             --- promtool stdout ---\n{stdout}\n--- promtool stderr ---\n{stderr}\n\
             --- input ---\n{}",
            out.status,
            numbered(text)
        );
    }
}

// ---------------------------------------------------------------------------
// Python prometheus_client

/// Parses stdin with prometheus_client and prints one `F` line per family and
/// one `S` line per sample. Every string is hex of its UTF-8 bytes, values are
/// the IEEE-754 bits of `float(value)` (plus the hex of `repr(value)` for
/// messages), labels are sorted by name. `END` marks complete output.
const PY_SCRIPT: &str = r#"
import struct, sys
if sys.argv[1:] == ["openmetrics"]:
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families

def h(s):
    return s.encode("utf-8").hex()

text = sys.stdin.buffer.read().decode("utf-8")
out = []
for fam in text_string_to_metric_families(text):
    out.append("F\t%s\t%s\t%s" % (h(fam.name), h(fam.type), h(fam.documentation)))
    for s in fam.samples:
        labels = ",".join("%s=%s" % (h(k), h(v)) for k, v in sorted(s.labels.items()))
        bits = struct.unpack("<Q", struct.pack("<d", float(s.value)))[0]
        out.append("S\t%s\t%s\t%016x\t%s\t%s" % (
            h(s.name), labels, bits, h(repr(s.value)), h(repr(s.timestamp))))
out.append("END")
sys.stdout.write("".join(line + "\n" for line in out))
"#;

#[derive(Debug, Clone)]
struct PyFamily {
    name: String,
    typ: String,
    help: String,
    samples: Vec<PySample>,
}

#[derive(Debug, Clone)]
struct PySample {
    name: String,
    /// Sorted by label name.
    labels: Vec<(String, String)>,
    value: f64,
    /// Python's `repr` of the parsed value (`int` or `float`), for messages.
    value_repr: String,
    /// Python's `repr` of the parsed timestamp (`None` for our output).
    timestamp_repr: String,
}

fn family(name: &str, typ: &str, help: &str, samples: Vec<PySample>) -> PyFamily {
    PyFamily {
        name: name.into(),
        typ: typ.into(),
        help: help.into(),
        samples,
    }
}

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> PySample {
    let mut labels: Vec<(String, String)> = labels
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    labels.sort();
    PySample {
        name: name.into(),
        labels,
        value,
        value_repr: String::new(),
        timestamp_repr: "None".into(),
    }
}

/// Parses `text` (format 0.0.4) with the Python client. Any Python error
/// fails the test, showing the input and the traceback.
fn python_parse(text: &str) -> Vec<PyFamily> {
    python_parse_with(text, "text")
}

/// Parses `text` with the Python client's strict OpenMetrics parser.
fn python_parse_openmetrics(text: &str) -> Vec<PyFamily> {
    python_parse_with(text, "openmetrics")
}

fn python_parse_with(text: &str, parser: &str) -> Vec<PyFamily> {
    let mut cmd = Command::new(Tool::Python.command());
    cmd.args(["-c", PY_SCRIPT, parser])
        .env("PYTHONIOENCODING", "utf-8");
    let out = run_with_stdin(cmd, text);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        panic!(
            "python prometheus_client failed to parse the exposition ({}):\n\
             --- python stderr ---\n{stderr}\n--- input ---\n{}",
            out.status,
            numbered(text)
        );
    }
    decode_python_output(&stdout)
        .unwrap_or_else(|e| panic!("bad output from the python helper: {e}\n{stdout}\n{stderr}"))
}

fn decode_python_output(out: &str) -> Result<Vec<PyFamily>, String> {
    let mut families: Vec<PyFamily> = Vec::new();
    let mut ended = false;
    for line in out.lines() {
        if ended {
            return Err(format!("line after END: {line:?}"));
        }
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["END"] => ended = true,
            ["F", name, typ, help] => families.push(PyFamily {
                name: unhex(name)?,
                typ: unhex(typ)?,
                help: unhex(help)?,
                samples: Vec::new(),
            }),
            ["S", name, labels, bits, value_repr, ts_repr] => {
                let mut parsed = Vec::new();
                for pair in labels.split(',').filter(|p| !p.is_empty()) {
                    let (k, v) = pair
                        .split_once('=')
                        .ok_or_else(|| format!("bad label pair {pair:?}"))?;
                    parsed.push((unhex(k)?, unhex(v)?));
                }
                let bits =
                    u64::from_str_radix(bits, 16).map_err(|e| format!("bits {bits:?}: {e}"))?;
                let sample = PySample {
                    name: unhex(name)?,
                    labels: parsed,
                    value: f64::from_bits(bits),
                    value_repr: unhex(value_repr)?,
                    timestamp_repr: unhex(ts_repr)?,
                };
                families
                    .last_mut()
                    .ok_or("sample before any family")?
                    .samples
                    .push(sample);
            }
            _ => return Err(format!("unexpected line {line:?}")),
        }
    }
    if !ended {
        return Err("missing END line (truncated output)".into());
    }
    Ok(families)
}

fn unhex(s: &str) -> Result<String, String> {
    if s.len() % 2 != 0 {
        return Err(format!("odd-length hex {s:?}"));
    }
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("bad hex {s:?}"))
        })
        .collect::<Result<Vec<u8>, String>>()?;
    String::from_utf8(bytes).map_err(|e| format!("hex {s:?} is not UTF-8: {e}"))
}

// ---------------------------------------------------------------------------
// Assertions

/// The Python parser is lax: a sample whose name doesn't belong to the current
/// family silently becomes a new untyped family. Guard against that by
/// requiring one parsed family per `# TYPE` line, in order, with the matching
/// name and type, and one parsed sample per sample line.
fn assert_matches_type_lines(text: &str, families: &[PyFamily]) {
    let declared: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|rest| {
            let (name, typ) = rest.split_once(' ').unwrap_or((rest, ""));
            // prometheus_client's naming conventions for parsed families.
            let py_name = match typ {
                "counter" => name.strip_suffix("_total").unwrap_or(name),
                _ => name,
            };
            let py_typ = if typ == "untyped" { "unknown" } else { typ };
            (py_name.to_owned(), py_typ.to_owned())
        })
        .collect();
    let parsed: Vec<(String, String)> = families
        .iter()
        .map(|f| (f.name.clone(), f.typ.clone()))
        .collect();
    assert_eq!(
        parsed,
        declared,
        "python's families (left) differ from the # TYPE lines (right) in:\n{}",
        numbered(text)
    );
    let sample_lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .count();
    let samples: usize = families.iter().map(|f| f.samples.len()).sum();
    assert_eq!(
        samples,
        sample_lines,
        "python parsed {samples} samples from {sample_lines} sample lines in:\n{}",
        numbered(text)
    );
}

fn assert_families_eq(actual: &[PyFamily], expected: &[PyFamily], text: &str) {
    let ctx = || format!("--- input ---\n{}", numbered(text));
    assert_eq!(
        actual.iter().map(|f| &f.name).collect::<Vec<_>>(),
        expected.iter().map(|f| &f.name).collect::<Vec<_>>(),
        "family names\n{}",
        ctx()
    );
    for (a, e) in actual.iter().zip(expected) {
        assert_eq!(a.typ, e.typ, "type of family {}\n{}", e.name, ctx());
        assert_eq!(a.help, e.help, "help of family {}\n{}", e.name, ctx());
        assert_eq!(
            a.samples.len(),
            e.samples.len(),
            "sample count of family {}: {:#?}\n{}",
            e.name,
            a.samples,
            ctx()
        );
        for (i, (sa, se)) in a.samples.iter().zip(&e.samples).enumerate() {
            let what = format!("family {} sample #{i} ({sa:?})", e.name);
            assert_eq!(sa.name, se.name, "name of {what}\n{}", ctx());
            assert_eq!(sa.labels, se.labels, "labels of {what}\n{}", ctx());
            assert_eq!(
                sa.timestamp_repr,
                se.timestamp_repr,
                "timestamp of {what}\n{}",
                ctx()
            );
            if se.value.is_nan() {
                assert!(sa.value.is_nan(), "{what}: expected NaN\n{}", ctx());
            } else {
                assert_eq!(
                    sa.value.to_bits(),
                    se.value.to_bits(),
                    "{what}: value {} (python repr {}) is not bit-identical to expected {:?}\n{}",
                    sa.value,
                    sa.value_repr,
                    se.value,
                    ctx()
                );
            }
        }
    }
}

/// `text` with line numbers, for failure messages (parsers report lines).
fn numbered(text: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| format!("{:>4} | {l}\n", i + 1))
        .collect()
}

// ---------------------------------------------------------------------------
// Running the example

/// Stdout of `examples/<name>.rs`. Uses the binary cargo built next to this
/// test (`<target>/<profile>/examples/<name>`) when it is newer than the
/// sources, else falls back to `cargo run --quiet --example <name>`.
fn run_example(name: &str) -> String {
    let out = match built_example(name) {
        Some(bin) => Command::new(&bin)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display())),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "interop: example binary `{name}` missing or stale; using cargo run"
            );
            Command::new(env!("CARGO"))
                .args(["run", "--quiet", "--example", name])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("cannot run cargo run --example {name}: {e}"))
        }
    };
    assert!(
        out.status.success(),
        "example `{name}` failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap_or_else(|e| panic!("example `{name}` printed invalid UTF-8: {e}"))
}

fn built_example(name: &str) -> Option<PathBuf> {
    // This test runs as <target>/<profile>/deps/interop-<hash>.
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let bin = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let built = std::fs::metadata(&bin).ok()?.modified().ok()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut newest_source = SystemTime::UNIX_EPOCH;
    for p in [
        root.join("Cargo.toml"),
        root.join("Cargo.lock"),
        root.join("src"),
        root.join("examples").join(format!("{name}.rs")),
    ] {
        newest_mtime(&p, &mut newest_source);
    }
    (built >= newest_source).then_some(bin)
}

fn newest_mtime(path: &Path, newest: &mut SystemTime) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if let Ok(m) = meta.modified() {
        *newest = (*newest).max(m);
    }
    if meta.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries.flatten() {
                newest_mtime(&entry.path(), newest);
            }
        }
    }
}
