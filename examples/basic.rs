//! Builds a small registry (a few instruments and the process collector),
//! records a few values and prints its text exposition (format 0.0.4) to
//! stdout.
//!
//! Run with `cargo run --example basic`.

use promclient::{CounterVec, Gauge, HistogramVec, Registry, DEFAULT_BUCKETS};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = Registry::new();

    let requests = CounterVec::new(
        "http_requests_total",
        "Requests served, by method and status code.",
        ["method", "code"],
    )?;
    let in_flight = Gauge::new(
        "http_requests_in_flight",
        "Requests being served right now.",
    )?;
    let latency = HistogramVec::new(
        "http_request_duration_seconds",
        "Time to serve a request, in seconds.",
        ["method"],
        &DEFAULT_BUCKETS,
    )?;
    registry.register(requests.clone())?;
    registry.register(in_flight.clone())?;
    registry.register(latency.clone())?;
    // Opt-in, like everything in a registry: this process's CPU, memory,
    // file descriptors, threads and network traffic.
    registry.register(promclient::process::ProcessCollector::new())?;

    // A few requests' worth of instrumentation.
    for (method, code, seconds) in [
        ("GET", "200", 0.012),
        ("GET", "200", 0.27),
        ("POST", "201", 0.043),
        ("GET", "404", 1.5e-5),
    ] {
        in_flight.inc();
        requests.with_label_values([method, code]).inc();
        latency.with_label_values([method]).observe(seconds);
        in_flight.dec();
    }
    in_flight.set(3.0);

    let snapshot = registry.gather()?;
    let mut out = Vec::new();
    promclient::encoding::text::encode(&snapshot, &mut out)?;
    print!("{}", String::from_utf8(out)?);
    Ok(())
}
