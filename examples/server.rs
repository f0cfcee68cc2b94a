//! A hyper server that serves `/metrics` on 127.0.0.1:9898 (or the address
//! given as the first argument; port 0 picks a free one):
//!
//! ```sh
//! cargo run --example server --features hyper
//! curl -s localhost:9898/metrics
//! ```
//!
//! A background task updates a few demo metrics (a counter family, a gauge
//! and a histogram) every 100 ms; the process collector and the handler's
//! own `promhttp_metric_handler_*` metrics are registered too. The bound
//! address is printed on the first line of stdout; stderr says which
//! format scrapers are answered in whenever it changes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service as _};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use promclient::http::MetricsHandler;
use promclient::{CounterVec, Gauge, HistogramVec, Registry, DEFAULT_BUCKETS};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:9898")
        .parse()?;

    let registry = Registry::new();
    let jobs = CounterVec::new("demo_jobs_total", "Jobs processed.", ["queue", "outcome"])?;
    let depth = Gauge::new("demo_queue_depth", "Jobs waiting in the queue.")?;
    let duration = HistogramVec::new(
        "demo_job_duration_seconds",
        "Time taken to process a job.",
        ["queue"],
        &DEFAULT_BUCKETS,
    )?;
    registry.register(jobs.clone())?;
    registry.register(depth.clone())?;
    registry.register(duration.clone())?;
    #[cfg(feature = "process")]
    registry.register(promclient::process::ProcessCollector::new())?;

    let metrics = MetricsHandler::builder(registry.clone())
        .instrument(&registry)
        .timeout(Duration::from_secs(10))
        .build()?;

    // The demo workload: a deterministic stream of jobs, so a scrape always
    // finds every series.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        for n in 0u64.. {
            tick.tick().await;
            for (i, queue) in ["emails", "reports"].into_iter().enumerate() {
                let outcome = if (n + i as u64) % 10 == 0 {
                    "failed"
                } else {
                    "done"
                };
                jobs.with_label_values([queue, outcome]).inc();
                // Between 1 ms and about 2 s, spread over the buckets.
                let seconds = 0.001 * 1.7f64.powi(((n * 7 + i as u64 * 3) % 15) as i32);
                duration.with_label_values([queue]).observe(seconds);
            }
            depth.set(((n % 40) as f64 - 20.0).abs());
        }
    });

    let listener = TcpListener::bind(addr).await?;
    println!("listening on http://{}/metrics", listener.local_addr()?);

    // Says on stderr which format scrapers get, each time it changes.
    let last_format = Arc::new(Mutex::new(None));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors, say: wait, then accept again.
                eprintln!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let metrics = metrics.clone();
        let last_format = last_format.clone();
        tokio::spawn(async move {
            let route = service_fn(move |req: Request<hyper::body::Incoming>| {
                let metrics = metrics.clone();
                let last_format = last_format.clone();
                async move {
                    if req.uri().path() != "/metrics" {
                        return Ok::<_, Infallible>(not_found());
                    }
                    let response = metrics.call(req).await?;
                    let format = response.headers().get("content-type").cloned();
                    let mut last = last_format.lock().unwrap_or_else(|e| e.into_inner());
                    if *last != format {
                        if let Some(f) = format.as_ref().and_then(|f| f.to_str().ok()) {
                            eprintln!("serving /metrics as {f}");
                        }
                        *last = format;
                    }
                    Ok(response)
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), route)
                .await
            {
                eprintln!("connection error: {e}");
            }
        });
    }
}

fn not_found() -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(
        b"Not Found: metrics are at /metrics\n",
    )));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}
