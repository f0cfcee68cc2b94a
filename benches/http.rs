//! One whole scrape over loopback: a hyper client asks a hyper server
//! running [`MetricsHandler`] for `/metrics`, on a kept-alive connection as
//! Prometheus does, and reads the whole body.
//!
//! The registry is the gather bench's (`benches/common/scrape_registry.rs`):
//! 10,000 counter series in 1,000 families and 1,000 histogram series with
//! the default buckets in 100 families, about 1.5 MB of text.
//!
//! - `http/scrape/openmetrics`, `http/scrape/openmetrics_gzip`: what
//!   Prometheus 2 asks for by default, without and with `Accept-Encoding:
//!   gzip`. Target from the issue: a gzip scrape under 10 ms.
//! - `http/scrape/protobuf_gzip`: what Prometheus asks for with native
//!   histograms on.
//! - `http/scrape/text_gzip`: text format 0.0.4.
//!
//! Each scrape gathers, encodes, compresses (gzip level 1, the handler's
//! default) and moves the body through hyper on both sides; the sizes on
//! the wire are printed to stderr once.
//!
//! Run with `cargo bench --features hyper --bench http`.
//!
//! Last run (2-core VM, 2026-11-21; criterion median):
//!
//! | scrape | bytes on the wire | median |
//! |---|---|---|
//! | `openmetrics` | 1,503,410 | 2.64 ms |
//! | `openmetrics_gzip` | 135,272 | 4.74 ms |
//! | `protobuf_gzip` | 90,944 | 4.40 ms |
//! | `text_gzip` | 133,106 | 3.89 ms |

use std::net::SocketAddr;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use promclient::http::MetricsHandler;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

mod common;
use common::scrape_registry::registry;

const PROM2: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const PROM2_NATIVE: &str = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

async fn server(handler: MetricsHandler) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let h = handler.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), h)
                    .await;
            });
        }
    });
    addr
}

async fn connect(addr: SocketAddr) -> SendRequest<Empty<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    sender
}

/// One scrape; the size of the body on the wire.
async fn scrape(sender: &mut SendRequest<Empty<Bytes>>, accept: &str, gzip: bool) -> usize {
    let mut req = hyper::Request::get("/metrics")
        .header("host", "127.0.0.1")
        .header("accept", accept);
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    sender.ready().await.expect("connection ready");
    let resp = sender
        .send_request(req.body(Empty::new()).expect("request"))
        .await
        .expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().contains_key("content-encoding"), gzip);
    resp.into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .len()
}

fn http(c: &mut Criterion) {
    let rt = Runtime::new().expect("runtime");
    let handler = MetricsHandler::new(registry());
    let addr = rt.block_on(server(handler));
    let mut sender = rt.block_on(connect(addr));
    let mut group = c.benchmark_group("http/scrape");
    group.sampling_mode(SamplingMode::Flat);
    for (name, accept, gzip) in [
        ("openmetrics", PROM2, false),
        ("openmetrics_gzip", PROM2, true),
        ("protobuf_gzip", PROM2_NATIVE, true),
        ("text_gzip", "*/*", true),
    ] {
        let bytes = rt.block_on(scrape(&mut sender, accept, gzip));
        eprintln!("http/scrape/{name}: {bytes} bytes on the wire");
        group.bench_function(BenchmarkId::new(name, 1), |b| {
            b.iter(|| rt.block_on(scrape(&mut sender, accept, gzip)));
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = http
}
criterion_main!(benches);
