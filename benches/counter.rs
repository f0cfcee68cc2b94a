//! Counter increments through a cached handle.
//!
//! - `counter/inc/1`: one thread calls [`Counter::inc`] on a handle created
//!   before the loop. Target from the issue: at most 4.5 ns per `inc`.
//! - `counter/inc/2`: two threads increment the same counter; reported time
//!   is per `inc` of the measured thread, both threads running the same
//!   number of increments from a common start. No target: it shows what
//!   sharing one cache line between cores costs.
//!
//! Run with `cargo bench --bench counter`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use promclient::Counter;

mod common;
use common::two_threads;

fn counter(c: &mut Criterion) {
    let counter = Counter::new("bench_total", "Bench counter.").expect("valid name");
    let mut group = c.benchmark_group("counter");

    group.bench_function(BenchmarkId::new("inc", 1), |b| {
        let handle = black_box(&counter);
        b.iter(|| handle.inc());
    });

    group.bench_function(BenchmarkId::new("inc", 2), |b| {
        b.iter_custom(|iters| two_threads(iters, |_| counter.clone(), |h| black_box(&*h).inc()));
    });

    group.finish();
    black_box(counter.value());
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = counter
}
criterion_main!(benches);
