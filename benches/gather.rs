//! Gathering a large registry and encoding it in the text format: the cost
//! of one scrape.
//!
//! The registry holds 11,000 series: 1,000 `CounterVec<1>` families with 10
//! label values each (10,000 counters), and 100 `HistogramVec<1>` families
//! with 10 label values each (1,000 histograms with the default buckets,
//! three observations each). The snapshot and the output buffer are reused
//! across iterations, as a scrape handler would.
//!
//! - `gather/encode_text/1`: [`Registry::gather_into`] then
//!   [`encode`](promclient::encoding::text::encode). Target from the issue:
//!   at most 0.8 ms per gather and encode.
//! - `gather/gather_only/1`: just the gather.
//! - `gather/encode_only/1`: just the encoding of a gathered snapshot.
//!
//! Throughput is reported in bytes of text output; the byte count is also
//! printed to stderr once.
//!
//! Run with `cargo bench --bench gather`.

use std::hint::black_box;

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use promclient::encoding::text::encode;
use promclient::Snapshot;

mod common;
use common::scrape_registry::{registry, COUNTER_FAMILIES, HISTOGRAM_FAMILIES, VALUES_PER_FAMILY};

fn gather(c: &mut Criterion) {
    let registry = registry();
    let mut snapshot = Snapshot::new();
    let mut buf = Vec::new();
    registry.gather_into(&mut snapshot).expect("gather");
    encode(&snapshot, &mut buf).expect("encode");
    let series: usize = snapshot.iter().map(|f| f.metrics.len()).sum();
    assert_eq!(
        series,
        (COUNTER_FAMILIES + HISTOGRAM_FAMILIES) * VALUES_PER_FAMILY
    );
    let bytes = buf.len();
    eprintln!(
        "gather: {} families, {series} series, {bytes} bytes of text output",
        snapshot.len()
    );

    let mut group = c.benchmark_group("gather");
    group.throughput(Throughput::Bytes(bytes as u64));
    // Milliseconds per iteration: equal-sized samples fit the time budget.
    group.sampling_mode(SamplingMode::Flat);

    group.bench_function(BenchmarkId::new("encode_text", 1), |b| {
        b.iter(|| {
            registry.gather_into(&mut snapshot).expect("gather");
            buf.clear();
            encode(&snapshot, &mut buf).expect("encode");
            black_box(buf.len())
        });
    });

    group.bench_function(BenchmarkId::new("gather_only", 1), |b| {
        b.iter(|| {
            registry.gather_into(&mut snapshot).expect("gather");
            black_box(snapshot.len())
        });
    });

    group.bench_function(BenchmarkId::new("encode_only", 1), |b| {
        b.iter(|| {
            buf.clear();
            encode(&snapshot, &mut buf).expect("encode");
            black_box(buf.len())
        });
    });

    group.finish();
    assert_eq!(buf.len(), bytes, "output unchanged while measuring");
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = gather
}
criterion_main!(benches);
