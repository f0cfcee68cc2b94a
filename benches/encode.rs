//! Encoding one gathered snapshot of the scrape registry in each
//! exposition format: the share of a scrape that depends on the format.
//!
//! The registry is the gather bench's (`benches/common/scrape_registry.rs`):
//! 10,000 counter series in 1,000 families and 1,000 histogram series with
//! the default buckets in 100 families. The snapshot is gathered twice,
//! around one protobuf encode, as a server's later scrapes find it; each
//! iteration clears and refills one reused buffer.
//!
//! - `encode/text/1`: text format 0.0.4.
//! - `encode/openmetrics/1`: OpenMetrics 1.0 text. Target from the issue:
//!   within 1.2x of `encode/text/1`.
//! - `encode/protobuf/1`: length-delimited protobuf messages. Target: within
//!   1.2x of `encode/text/1`.
//!
//! - `encode/{text,openmetrics,protobuf}_plain/1`: the same families as a
//!   plain `Vec<MetricFamily>`, without the text a gather renders ahead
//!   (hand-built families, `name[]`-filtered scrapes).
//!
//! Throughput is in bytes of output, which differs per format; the sizes
//! are printed to stderr once.
//!
//! Run with `cargo bench --bench encode`.

use std::hint::black_box;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use promclient::encoding::{openmetrics, protobuf, text};
use promclient::{EncodeError, MetricFamily, Snapshot};

mod common;
use common::scrape_registry::registry;

type Encoder = fn(&Snapshot, &mut Vec<u8>) -> Result<(), EncodeError>;
type PlainEncoder = fn(&[MetricFamily], &mut Vec<u8>) -> Result<(), EncodeError>;

fn encode(c: &mut Criterion) {
    // As a server's scrapes see it: a snapshot gathered again after a
    // protobuf encode, which renders the series' protobuf label fields.
    let registry = registry();
    let mut snapshot = registry.gather().expect("gather");
    protobuf::encode(&snapshot, &mut Vec::new()).expect("encode");
    registry.gather_into(&mut snapshot).expect("gather");
    let formats: [(&str, Encoder); 3] = [
        ("text", |s, out| text::encode(s, out)),
        ("openmetrics", |s, out| openmetrics::encode(s, out)),
        ("protobuf", |s, out| protobuf::encode(s, out)),
    ];
    let mut group = c.benchmark_group("encode");
    group.sampling_mode(SamplingMode::Flat);
    for (name, encoder) in formats {
        let mut buf = Vec::new();
        encoder(&snapshot, &mut buf).expect("encode");
        let bytes = buf.len();
        eprintln!("encode/{name}: {bytes} bytes");
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(BenchmarkId::new(name, 1), |b| {
            b.iter(|| {
                buf.clear();
                encoder(&snapshot, &mut buf).expect("encode");
                black_box(buf.len())
            });
        });
        assert_eq!(buf.len(), bytes, "output unchanged while measuring");
    }
    // The same families without the snapshot's rendered text: what
    // hand-built families, `name[]`-filtered scrapes and other encoders'
    // input get. Names are checked as they are written.
    let plain = snapshot.families().to_vec();
    let formats: [(&str, PlainEncoder); 3] = [
        ("text_plain", |f, out| text::encode(f, out)),
        ("openmetrics_plain", |f, out| openmetrics::encode(f, out)),
        ("protobuf_plain", |f, out| protobuf::encode(f, out)),
    ];
    for (name, encoder) in formats {
        let mut buf = Vec::new();
        encoder(&plain, &mut buf).expect("encode");
        group.throughput(Throughput::Bytes(buf.len() as u64));
        group.bench_function(BenchmarkId::new(name, 1), |b| {
            b.iter(|| {
                buf.clear();
                encoder(&plain, &mut buf).expect("encode");
                black_box(buf.len())
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = encode
}
criterion_main!(benches);
