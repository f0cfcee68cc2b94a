//! Histogram observations through a cached handle, with the default
//! buckets ([`promclient::DEFAULT_BUCKETS`], 11 bounds plus `+Inf`).
//!
//! Observed values cycle through a small precomputed array that lands in
//! every bucket, so the bucket search is not always the shortest one.
//!
//! - `histogram/observe/1`: one thread. Target from the issue: at most
//!   8 ns per `observe`.
//! - `histogram/observe/2`: two threads observing into the same histogram;
//!   reported time is per `observe` of the measured thread. No target: it
//!   shows what sharing the histogram's cells between cores costs.
//!
//! Run with `cargo bench --bench histogram`.
//!
//! An `observe` is three locked instructions (the started count, the
//! sum's compare-and-swap, the bucket), as client_golang's is four. On the
//! 2-core dev VM (2026-11-21) it is bimodal over time: about 7.5-8 ns in
//! quiet phases and 11-13 ns in slow ones (criterion gave 11.8 ns in a
//! slow phase), and the same three bare atomics written out by hand
//! measure 7.4-7.7 ns when quiet. A 16-byte compare-and-swap merging the
//! count and the sum measured slower (8.7-9.4 ns) than the three.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use promclient::{Histogram, DEFAULT_BUCKETS};

mod common;
use common::two_threads;

/// One value per bucket (each just under its bound, the last above every
/// bound), as request latencies in seconds.
const VALUES: [f64; 12] = [
    0.004, 0.009, 0.02, 0.04, 0.09, 0.2, 0.4, 0.9, 2.0, 4.0, 9.0, 20.0,
];

/// A cursor over `values`: stepping is an add and a compare.
struct Cycle<'a> {
    values: &'a [f64],
    i: usize,
}

impl<'a> Cycle<'a> {
    fn new(values: &'a [f64], start: usize) -> Self {
        Self {
            values,
            i: start % values.len(),
        }
    }

    #[inline]
    fn next(&mut self) -> f64 {
        let v = self.values[self.i];
        self.i += 1;
        if self.i == self.values.len() {
            self.i = 0;
        }
        v
    }
}

fn histogram(c: &mut Criterion) {
    let histogram = Histogram::new("bench_seconds", "Bench latency.", &DEFAULT_BUCKETS)
        .expect("valid name and buckets");
    // Hidden from the optimizer so the bucket search is not folded away.
    let values = black_box(&VALUES[..]);

    let mut group = c.benchmark_group("histogram");

    group.bench_function(BenchmarkId::new("observe", 1), |b| {
        let handle = black_box(&histogram);
        let mut cycle = Cycle::new(values, 0);
        b.iter(|| handle.observe(cycle.next()));
    });

    group.bench_function(BenchmarkId::new("observe", 2), |b| {
        b.iter_custom(|iters| {
            two_threads(
                iters,
                |t| (histogram.clone(), Cycle::new(values, t * values.len() / 2)),
                |(h, cycle)| h.observe(cycle.next()),
            )
        });
    });

    group.finish();

    // Sanity: the measured calls really observed.
    assert!(histogram.sample_count() > 0);
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = histogram
}
criterion_main!(benches);
