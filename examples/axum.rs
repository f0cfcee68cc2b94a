//! An axum app with a `/metrics` route and a middleware that counts every
//! request the app serves:
//!
//! ```sh
//! cargo run --example axum --features axum -- 127.0.0.1:3000
//! curl -s localhost:3000/hello; curl -s localhost:3000/metrics
//! ```
//!
//! The bound address is printed on the first line of stdout (port 0 picks
//! a free one).

use std::net::SocketAddr;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use promclient::http::MetricsHandler;
use promclient::{CounterVec, HistogramVec, Registry, DEFAULT_BUCKETS};

/// The middleware's metrics.
#[derive(Clone)]
struct HttpMetrics {
    requests: CounterVec<3>,
    duration: HistogramVec<2>,
}

/// Counts and times every request by method, matched route and status.
async fn track(State(m): State<HttpMetrics>, req: Request, next: Next) -> Response {
    // Clients choose the method: anything unusual is one series, not one
    // per made-up method.
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    // The route pattern, not the raw path: `/users/{id}` is one series,
    // not one per user.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let timer = m.duration.with_label_values([method, &route]).start_timer();
    let response = next.run(req).await;
    drop(timer);
    m.requests
        .with_label_values([method, &route, response.status().as_str()])
        .inc();
    response
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:3000")
        .parse()?;

    let registry = Registry::new();
    let m = HttpMetrics {
        requests: CounterVec::new(
            "http_requests_total",
            "HTTP requests served, by method, route and status code.",
            ["method", "route", "code"],
        )?,
        duration: HistogramVec::new(
            "http_request_duration_seconds",
            "Time taken to serve HTTP requests, by method and route.",
            ["method", "route"],
            &DEFAULT_BUCKETS,
        )?,
    };
    registry.register(m.requests.clone())?;
    registry.register(m.duration.clone())?;

    let metrics = MetricsHandler::builder(registry.clone())
        .instrument(&registry)
        .build()?;
    let app = Router::new()
        .route("/hello", get(|| async { "hello\n" }))
        .route("/users/{id}", get(|| async { "a user\n" }))
        .route_service("/metrics", metrics)
        .layer(middleware::from_fn_with_state(m, track));

    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}/metrics", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
