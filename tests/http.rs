//! `/metrics` over real HTTP: a hyper server (and an axum app) on
//! `127.0.0.1:0`, a hyper client, every answer checked byte for byte
//! against the encoders.

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt as _, Empty};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use promclient::encoding::{openmetrics, protobuf, text};
use promclient::http::{ErrorHandling, MetricsHandler, MetricsHandlerBuilder};
use promclient::{
    Counter, CounterVec, FnCollector, GatherError, Gatherer, Gauge, HistogramVec, NameValidation,
    Opts, Registry, Snapshot, Value,
};
use tokio::net::{TcpListener, TcpStream};

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(20);

/// Serves `handler` for every path on a fresh port until the test ends.
async fn serve(handler: MetricsHandler) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let h = handler.clone();
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), h)
                    .await;
            });
        }
    });
    addr
}

#[derive(Debug)]
struct Fetched {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

/// One request on a new connection with hyper's client.
async fn fetch(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Fetched {
    let go = async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(target)
            .header("host", addr.to_string());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = sender
            .send_request(req.body(Empty::<Bytes>::new()).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        Fetched {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes().to_vec(),
        }
    };
    tokio::time::timeout(BOUND, go)
        .await
        .expect("the request finished in time")
}

async fn get(addr: SocketAddr, accept: &str) -> Fetched {
    fetch(addr, "GET", "/metrics", &[("accept", accept)]).await
}

/// A registry with a counter family, a gauge and a histogram, values fixed.
fn demo_registry() -> Registry {
    let registry = Registry::new();
    let jobs = CounterVec::new("demo_jobs_total", "Jobs.", ["queue"]).unwrap();
    let depth = Gauge::new("demo_queue_depth", "Depth.").unwrap();
    let took = HistogramVec::new("demo_seconds", "Time.", ["queue"], &[0.1, 1.0]).unwrap();
    registry.register(jobs.clone()).unwrap();
    registry.register(depth.clone()).unwrap();
    registry.register(took.clone()).unwrap();
    jobs.with_label_values(["a"]).inc_by(3);
    jobs.with_label_values(["b \"quoted\""]).inc();
    depth.set(7.5);
    took.with_label_values(["a"]).observe(0.25);
    registry
}

fn encoded(registry: &Registry, format: &str) -> Vec<u8> {
    let snap = registry.gather().unwrap();
    let mut out = Vec::new();
    match format {
        "text" => text::encode(&snap, &mut out).unwrap(),
        "om" => openmetrics::encode(&snap, &mut out).unwrap(),
        "pb" => protobuf::encode(&snap, &mut out).unwrap(),
        _ => unreachable!(),
    }
    out
}

const PROM2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROM2_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROM3: &str = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
const PROM3_TEXT: &str = "text/plain;version=1.0.0;escaping=allow-utf-8,*/*;q=0.1";
const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scraper_gets_the_format_it_asks_for_byte_for_byte() {
    let registry = demo_registry();
    let addr = serve(MetricsHandler::new(registry.clone())).await;
    let om = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    let pb = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
    let t4 = "text/plain; version=0.0.4; charset=utf-8";
    let t1 = "text/plain; version=1.0.0; charset=utf-8";
    for (who, accept, content_type, format) in [
        (
            "Prometheus 2",
            PROM2,
            format!("{om}; escaping=underscores"),
            "om",
        ),
        (
            "Prometheus 2 native",
            PROM2_NATIVE,
            format!("{pb}; escaping=underscores"),
            "pb",
        ),
        (
            "Prometheus 3",
            PROM3,
            format!("{om}; escaping=allow-utf-8"),
            "om",
        ),
        (
            "Prometheus 3 text",
            PROM3_TEXT,
            format!("{t1}; escaping=allow-utf-8"),
            "text",
        ),
        ("curl", "*/*", format!("{t4}; escaping=underscores"), "text"),
        (
            "browser",
            BROWSER,
            format!("{t4}; escaping=underscores"),
            "text",
        ),
        (
            "no accept",
            "",
            format!("{t4}; escaping=underscores"),
            "text",
        ),
    ] {
        let r = if accept.is_empty() {
            fetch(addr, "GET", "/metrics", &[]).await
        } else {
            get(addr, accept).await
        };
        assert_eq!(r.status, 200, "{who}");
        assert_eq!(r.header("content-type"), Some(&*content_type), "{who}");
        assert_eq!(r.header("content-encoding"), None, "{who}");
        assert_eq!(r.body, encoded(&registry, format), "{who}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_names_are_quoted_for_prometheus_3_and_escaped_for_the_others() {
    let registry = Registry::with_name_validation(NameValidation::Utf8);
    let opts = Opts::new("jobs.done_total", "J.").name_validation(NameValidation::Utf8);
    let c = Counter::with_opts(opts).unwrap();
    c.inc();
    registry.register(c).unwrap();
    let addr = serve(MetricsHandler::new(registry.clone())).await;
    for (accept, escaping, tail) in [
        (
            PROM3,
            "allow-utf-8",
            "# TYPE \"jobs.done\" counter\n{\"jobs.done_total\"} 1.0\n# EOF\n",
        ),
        (
            PROM2,
            "underscores",
            "# TYPE jobs_done counter\njobs_done_total 1.0\n# EOF\n",
        ),
        (
            "application/openmetrics-text;version=1.0.0;escaping=dots",
            "dots",
            "# TYPE jobs_dot_done_ counter\njobs_dot_done__total 1.0\n# EOF\n",
        ),
        (
            "text/plain;version=1.0.0;escaping=values",
            "values",
            "# TYPE U__jobs_2e_done__total counter\nU__jobs_2e_done__total 1\n",
        ),
        (
            PROM3_TEXT,
            "allow-utf-8",
            "# TYPE \"jobs.done_total\" counter\n{\"jobs.done_total\"} 1\n",
        ),
    ] {
        let r = get(addr, accept).await;
        assert_eq!(r.status, 200);
        let ct = r.header("content-type").unwrap();
        assert!(ct.ends_with(&format!("; escaping={escaping}")), "{ct}");
        assert!(r.text().ends_with(tail), "{accept}: {}", r.text());
    }
    // Protobuf carries the names as they are under allow-utf-8.
    let r = get(
        addr,
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8",
    )
    .await;
    let mut want = Vec::new();
    protobuf::encode_escaped(
        &registry.gather().unwrap(),
        &mut want,
        promclient::encoding::negotiate::Escaping::AllowUtf8,
    )
    .unwrap();
    assert_eq!(r.body, want);
    assert!(r.body.windows(15).any(|w| w == b"jobs.done_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_only_when_the_scraper_accepts_it() {
    let registry = demo_registry();
    let addr = serve(MetricsHandler::new(registry.clone())).await;
    let plain = encoded(&registry, "om");
    for (accept_encoding, gzipped) in [
        ("gzip", true),
        ("gzip, deflate, br", true),
        ("identity", false),
        ("gzip;q=0", false),
        ("br", false),
    ] {
        let r = fetch(
            addr,
            "GET",
            "/metrics",
            &[("accept", PROM2), ("accept-encoding", accept_encoding)],
        )
        .await;
        assert_eq!(r.status, 200);
        if gzipped {
            assert_eq!(
                r.header("content-encoding"),
                Some("gzip"),
                "{accept_encoding}"
            );
            let mut unzipped = Vec::new();
            flate2::read::GzDecoder::new(&r.body[..])
                .read_to_end(&mut unzipped)
                .unwrap();
            assert_eq!(unzipped, plain);
            assert!(r.body.len() < plain.len() / 2, "{} bytes", r.body.len());
        } else {
            assert_eq!(r.header("content-encoding"), None, "{accept_encoding}");
            assert_eq!(r.body, plain);
        }
    }

    let off = serve(
        MetricsHandler::builder(registry.clone())
            .compression(false)
            .build()
            .unwrap(),
    )
    .await;
    let r = fetch(off, "GET", "/metrics", &[("accept-encoding", "gzip")]).await;
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, encoded(&registry, "text"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn name_filter_keeps_only_the_named_families() {
    let registry = demo_registry();
    let addr = serve(MetricsHandler::new(registry.clone())).await;
    let r = fetch(
        addr,
        "GET",
        "/metrics?name[]=demo_jobs_total&name%5B%5D=demo_seconds&name[]=nope",
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let snap = registry.gather().unwrap();
    let picked: Vec<_> = snap
        .families()
        .iter()
        .filter(|f| &*f.name != "demo_queue_depth")
        .cloned()
        .collect();
    assert_eq!(picked.len(), 2);
    let mut want = Vec::new();
    text::encode(&picked, &mut want).unwrap();
    assert_eq!(r.text(), std::str::from_utf8(&want).unwrap());

    // A name that matches nothing leaves an empty (but valid) answer.
    let r = fetch(addr, "GET", "/metrics?name[]=nope", &[("accept", PROM2)]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "# EOF\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_gets_the_headers_of_get_and_other_methods_get_405() {
    let registry = demo_registry();
    let addr = serve(MetricsHandler::new(registry.clone())).await;
    let g = get(addr, PROM2_NATIVE).await;
    let h = fetch(addr, "HEAD", "/metrics", &[("accept", PROM2_NATIVE)]).await;
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    assert_eq!(h.header("content-type"), g.header("content-type"));
    assert_eq!(h.header("content-length"), Some(&*g.body.len().to_string()));

    for method in ["POST", "PUT", "DELETE"] {
        let r = fetch(addr, method, "/metrics", &[]).await;
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"));
        assert_eq!(r.text(), "Method Not Allowed\n");
    }
}

/// Blocks every gather until released, counting gathers.
struct Gate {
    registry: Registry,
    open: AtomicBool,
    gathers: AtomicUsize,
}

impl Gate {
    fn new(registry: Registry) -> Arc<Self> {
        Arc::new(Self {
            registry,
            open: AtomicBool::new(false),
            gathers: AtomicUsize::new(0),
        })
    }

    fn release(&self) {
        self.open.store(true, Ordering::Release);
    }
}

impl Gatherer for Gate {
    fn gather_into(&self, snapshot: &mut Snapshot) -> Result<(), GatherError> {
        self.gathers.fetch_add(1, Ordering::Relaxed);
        let deadline = std::time::Instant::now() + BOUND;
        while !self.open.load(Ordering::Acquire) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.registry.gather_into(snapshot)
    }
}

/// The demo registry behind a [`Gate`], a registry for the handler's own
/// metrics, and a handler builder over both.
fn gated() -> (Registry, Registry, Arc<Gate>, MetricsHandlerBuilder) {
    let app = demo_registry();
    let own = Registry::new();
    let gate = Gate::new(app.clone());
    let builder = MetricsHandler::builder(gate.clone()).instrument(&own);
    (app, own, gate, builder)
}

/// The value of an unlabeled or labeled series in a fresh gather.
fn value(registry: &Registry, name: &str, label: Option<(&str, &str)>) -> f64 {
    let snap = registry.gather().unwrap();
    let fam = snap.family(name).unwrap_or_else(|| panic!("no {name}"));
    let m = fam
        .metrics
        .iter()
        .find(|m| match label {
            None => m.labels.is_empty(),
            Some((k, v)) => m.labels.iter().any(|l| &*l.name == k && &*l.value == v),
        })
        .unwrap_or_else(|| panic!("no series {label:?} in {name}"));
    match &m.value {
        Value::Counter(c) => c.value,
        Value::Gauge(g) => *g,
        v => panic!("{v:?}"),
    }
}

/// `promhttp_metric_handler_errors_total` by cause: gathering, encoding.
fn handler_errors(own: &Registry) -> (f64, f64) {
    let errors = |cause| {
        value(
            own,
            "promhttp_metric_handler_errors_total",
            Some(("cause", cause)),
        )
    };
    (errors("gathering"), errors("encoding"))
}

/// Waits (bounded) until `f` holds.
async fn until(what: &str, f: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + BOUND;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_beyond_the_in_flight_limit_get_503() {
    let (app, own, gate, builder) = gated();
    let handler = builder.max_requests_in_flight(1).build().unwrap();
    let addr = serve(handler).await;

    let first = tokio::spawn(async move { get(addr, "*/*").await });
    until("the first scrape is gathering", || {
        gate.gathers.load(Ordering::Relaxed) == 1
    })
    .await;
    let second = get(addr, "*/*").await;
    assert_eq!(second.status, 503);
    assert_eq!(
        second.text(),
        "Limit of concurrent requests reached (1), try again later.\n"
    );
    assert_eq!(
        second.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    gate.release();
    let first = first.await.unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(first.body, encoded(&app, "text"));
    // The slot is free again.
    assert_eq!(get(addr, "*/*").await.status, 200);

    let code = |c| {
        value(
            &own,
            "promhttp_metric_handler_requests_total",
            Some(("code", c)),
        )
    };
    assert_eq!((code("200"), code("503"), code("500")), (2.0, 1.0, 0.0));
    assert_eq!(
        value(&own, "promhttp_metric_handler_requests_in_flight", None),
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_scrape_times_out_with_503_and_keeps_its_slot_until_its_gather_ends() {
    let (app, own, gate, builder) = gated();
    let handler = builder
        .timeout(Duration::from_millis(250))
        .max_requests_in_flight(1)
        .build()
        .unwrap();
    let addr = serve(handler).await;
    // The gate stays closed until released below: this is answered while
    // the gather is held.
    let r = get(addr, "*/*").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "Exceeded configured timeout of 250ms.\n");
    assert_eq!(gate.gathers.load(Ordering::Relaxed), 1);
    // The timed-out scrape is answered and counted, but its gather still
    // holds the only slot, as in promhttp.
    let busy = get(addr, "*/*").await;
    assert_eq!(busy.status, 503);
    assert!(
        busy.text().starts_with("Limit of concurrent requests"),
        "{}",
        busy.text()
    );
    let code = |c| {
        value(
            &own,
            "promhttp_metric_handler_requests_total",
            Some(("code", c)),
        )
    };
    assert_eq!(code("503"), 2.0);
    assert_eq!(
        value(&own, "promhttp_metric_handler_requests_in_flight", None),
        0.0
    );
    gate.release();
    // The slot comes back when the gather ends.
    let deadline = std::time::Instant::now() + BOUND;
    let r = loop {
        let r = get(addr, "*/*").await;
        if r.status == 200 || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(r.status, 200);
    assert_eq!(r.body, encoded(&app, "text"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_whose_client_went_away_is_still_counted_and_frees_its_slot() {
    let (_, own, gate, builder) = gated();
    let handler = builder.max_requests_in_flight(1).build().unwrap();
    let req = Request::get("/metrics").body(()).unwrap();
    let scrape = tokio::spawn(handler.serve(&req));
    until("the scrape is gathering", || {
        gate.gathers.load(Ordering::Relaxed) == 1
    })
    .await;
    scrape.abort();
    assert!(scrape.await.unwrap_err().is_cancelled());
    // Its gather goes on and holds the slot; the scrape is in flight.
    assert_eq!(
        value(&own, "promhttp_metric_handler_requests_in_flight", None),
        1.0
    );
    assert_eq!(handler.serve(&req).await.status(), 503);
    gate.release();
    let own2 = own.clone();
    until("the cancelled scrape is counted", move || {
        value(
            &own2,
            "promhttp_metric_handler_requests_total",
            Some(("code", "200")),
        ) == 1.0
    })
    .await;
    assert_eq!(
        value(&own, "promhttp_metric_handler_requests_in_flight", None),
        0.0
    );
    assert_eq!(handler.serve(&req).await.status(), 200);
}

#[test]
fn instrumenting_registers_all_three_metrics_or_none() {
    let registry = Registry::new();
    // Something else under the in-flight gauge's name.
    let squatter = Counter::new("promhttp_metric_handler_requests_in_flight", "Not it.").unwrap();
    registry.register(squatter).unwrap();
    let err = MetricsHandler::builder(Registry::new())
        .instrument(&registry)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, promclient::RegisterError::Inconsistent { .. }),
        "{err:?}"
    );
    let names: Vec<String> = registry
        .gather()
        .unwrap()
        .families()
        .iter()
        .map(|f| f.name.to_string())
        .collect();
    assert_eq!(names, ["promhttp_metric_handler_requests_in_flight"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scrapes_share_one_gather() {
    let app = demo_registry();
    let own = Registry::new();
    let gate = Gate::new(app.clone());
    let addr = serve(
        MetricsHandler::builder(gate.clone())
            .instrument(&own)
            .build()
            .unwrap(),
    )
    .await;
    let scrapes: Vec<_> = (0..3)
        .map(|i| {
            let accept = [PROM2, PROM2_NATIVE, "*/*"][i];
            tokio::spawn(async move { get(addr, accept).await })
        })
        .collect();
    let own2 = own.clone();
    until("three scrapes in flight", move || {
        value(&own2, "promhttp_metric_handler_requests_in_flight", None) == 3.0
    })
    .await;
    // Let the two later scrapes reach the running gather, then open it
    // (the coalescer's own test waits for them exactly).
    tokio::time::sleep(Duration::from_secs(1)).await;
    gate.release();
    let mut bodies = Vec::new();
    for s in scrapes {
        let r = s.await.unwrap();
        assert_eq!(r.status, 200);
        bodies.push(r.body);
    }
    assert_eq!(gate.gathers.load(Ordering::Relaxed), 1);
    assert_eq!(bodies[0], encoded(&app, "om"));
    assert_eq!(bodies[1], encoded(&app, "pb"));
    assert_eq!(bodies[2], encoded(&app, "text"));
    // Later scrapes gather again.
    get(addr, "*/*").await;
    assert_eq!(gate.gathers.load(Ordering::Relaxed), 2);
}

/// A handler over `registry` with `mode`, served, and the registry of its
/// own metrics.
async fn serve_instrumented(registry: &Registry, mode: ErrorHandling) -> (SocketAddr, Registry) {
    let own = Registry::new();
    let handler = MetricsHandler::builder(registry.clone())
        .error_handling(mode)
        .instrument(&own)
        .build()
        .unwrap();
    (serve(handler).await, own)
}

/// A registry whose one collector fails, beside a healthy counter.
fn failing_registry() -> Registry {
    let registry = Registry::new();
    let ok = Counter::new("ok_total", "Fine.").unwrap();
    ok.inc();
    registry.register(ok).unwrap();
    registry
        .register(FnCollector::new(Vec::new(), |sink| {
            sink.error("the database is down");
        }))
        .unwrap();
    registry
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gather_errors_are_500_by_default_and_skipped_on_request() {
    let registry = failing_registry();
    let (strict, own) = serve_instrumented(&registry, ErrorHandling::HttpError).await;
    let r = fetch(strict, "GET", "/metrics", &[("accept-encoding", "gzip")]).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(
        r.text(),
        "An error has occurred while serving metrics:\n\n\
         1 error(s) occurred during gathering\n\
         * collector failed: the database is down\n"
    );
    assert_eq!(handler_errors(&own), (1.0, 0.0));
    assert_eq!(
        value(
            &own,
            "promhttp_metric_handler_requests_total",
            Some(("code", "500"))
        ),
        1.0
    );

    let (lenient, own) = serve_instrumented(&registry, ErrorHandling::Continue).await;
    let r = get(lenient, "*/*").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "# HELP ok_total Fine.\n# TYPE ok_total counter\nok_total 1\n"
    );
    assert_eq!(handler_errors(&own), (1.0, 0.0));

    // Nothing gathered at all: still a 500.
    let broken = Registry::new();
    broken
        .register(FnCollector::new(Vec::new(), |sink| sink.error("down")))
        .unwrap();
    let r = get(
        serve(
            MetricsHandler::builder(broken)
                .error_handling(ErrorHandling::Continue)
                .build()
                .unwrap(),
        )
        .await,
        "*/*",
    )
    .await;
    assert_eq!(r.status, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetrics_name_clashes_are_500_or_leave_the_later_family_out_and_counters_give_way() {
    // Fine in the text format, one sample name twice in OpenMetrics.
    let registry = Registry::new();
    let lat = HistogramVec::new("lat", "Latency.", ["k"], &[1.0]).unwrap();
    let count = Gauge::new("lat_created", "Gauged.").unwrap();
    let other = Gauge::new("zeta", "Last.").unwrap();
    registry.register(lat.clone()).unwrap();
    registry.register(count.clone()).unwrap();
    registry.register(other.clone()).unwrap();
    lat.with_label_values(["x"]).observe(0.5);
    let (strict, own) = serve_instrumented(&registry, ErrorHandling::HttpError).await;
    let r = get(strict, PROM2).await;
    assert_eq!(r.status, 500);
    assert!(
        r.text().contains("same OpenMetrics sample name"),
        "{}",
        r.text()
    );
    assert_eq!(
        value(
            &own,
            "promhttp_metric_handler_errors_total",
            Some(("cause", "encoding"))
        ),
        1.0
    );
    assert_eq!(get(strict, "*/*").await.status, 200);

    let lenient = serve(
        MetricsHandler::builder(registry.clone())
            .error_handling(ErrorHandling::Continue)
            .build()
            .unwrap(),
    )
    .await;
    let r = get(lenient, PROM2).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "# HELP lat Latency.\n# TYPE lat histogram\n\
         lat_bucket{k=\"x\",le=\"1.0\"} 1\nlat_bucket{k=\"x\",le=\"+Inf\"} 1\n\
         lat_sum{k=\"x\"} 0.5\nlat_count{k=\"x\"} 1\n\
         # HELP zeta Last.\n# TYPE zeta gauge\nzeta 0.0\n# EOF\n"
    );

    // A counter `jobs_total` beside a gauge `jobs` is served either way,
    // the counter as `unknown`.
    let both = Registry::new();
    both.register(Counter::new("jobs_total", "Counted.").unwrap())
        .unwrap();
    both.register(Gauge::new("jobs", "Gauged.").unwrap())
        .unwrap();
    let r = get(serve(MetricsHandler::new(both)).await, PROM2).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "# HELP jobs Gauged.\n# TYPE jobs gauge\njobs 0.0\n\
         # HELP jobs_total Counted.\n# TYPE jobs_total unknown\njobs_total 0.0\n# EOF\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instrumentation_reports_the_scrape_in_flight_and_the_start_time_header() {
    let registry = demo_registry();
    let handler = MetricsHandler::builder(registry.clone())
        .instrument(&registry)
        .process_start_time(std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .build()
        .unwrap();
    // A second handler instrumented in the same registry shares the metrics.
    let again = MetricsHandler::builder(registry.clone())
        .instrument(&registry)
        .build()
        .unwrap();
    let addr = serve(handler).await;
    let addr2 = serve(again).await;
    get(addr, "*/*").await;
    get(addr2, "*/*").await;
    let r = get(addr, "*/*").await;
    assert_eq!(r.header("process-start-time-unix"), Some("1700000000"));
    let t = r.text();
    for line in [
        "promhttp_metric_handler_requests_in_flight 1\n",
        "promhttp_metric_handler_requests_total{code=\"200\"} 2\n",
        "promhttp_metric_handler_requests_total{code=\"500\"} 0\n",
        "promhttp_metric_handler_requests_total{code=\"503\"} 0\n",
        "promhttp_metric_handler_errors_total{cause=\"encoding\"} 0\n",
        "promhttp_metric_handler_errors_total{cause=\"gathering\"} 0\n",
        "# HELP promhttp_metric_handler_requests_total Total number of scrapes by HTTP status code.\n",
    ] {
        assert!(t.contains(line), "missing {line:?} in\n{t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_axum_app_serves_the_handler_as_a_route_service_and_as_a_handler() {
    let registry = demo_registry();
    let handler = MetricsHandler::new(registry.clone());
    let h2 = handler.clone();
    let app = axum::Router::new()
        .route_service("/metrics", handler)
        .route(
            "/other",
            axum::routing::get(move |req: axum::extract::Request| h2.serve(&req)),
        )
        .route("/hello", axum::routing::get(|| async { "hi" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    for path in ["/metrics", "/other"] {
        let r = fetch(addr, "GET", path, &[("accept", PROM2_NATIVE)]).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, encoded(&registry, "pb"), "{path}");
    }
    assert_eq!(fetch(addr, "GET", "/hello", &[]).await.text(), "hi");
    assert_eq!(fetch(addr, "POST", "/metrics", &[]).await.status, 405);
}

#[test]
fn the_synchronous_handler_answers_without_a_runtime() {
    let registry = demo_registry();
    let handler = MetricsHandler::new(registry.clone());
    let req = Request::get("/metrics?name[]=demo_queue_depth")
        .header("accept", PROM2)
        .body(())
        .unwrap();
    let r = handler.handle(&req);
    assert_eq!(r.status(), 200);
    assert_eq!(
        std::str::from_utf8(r.body()).unwrap(),
        "# HELP demo_queue_depth Depth.\n# TYPE demo_queue_depth gauge\ndemo_queue_depth 7.5\n# EOF\n"
    );
    // `serve` polled outside a runtime does the work inline.
    let r = block_on(handler.serve(&req));
    assert_eq!(r.status(), 200);
    let body = block_on(r.into_body().collect()).unwrap().to_bytes();
    assert!(body.ends_with(b"demo_queue_depth 7.5\n# EOF\n"));
}

/// Polls a future to completion on this thread (no runtime).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
