//! Looking a child up by label values and incrementing it, without hoisting
//! the lookup: what `family.with_label_values([m, c]).inc()` in a request
//! handler costs.
//!
//! A `CounterVec<2>` with labels `method` and `code` holds 18 children (6
//! methods x 3 codes), all created before measuring; each iteration looks
//! up the next combination in turn and increments it.
//!
//! - `family/lookup_inc/1`: one thread. Target from the issue: at most
//!   15 ns per lookup and `inc`.
//! - `family/lookup_only/1`: the same lookups without the `inc`. The
//!   `inc` is a locked instruction, a full barrier on x86: with it, one
//!   iteration cannot overlap the next, so `lookup_inc` is the latency of
//!   the whole chain (value bytes, hash, slot, child's block, atomic add)
//!   while `lookup_only` shows what the lookup costs when surrounding code
//!   can overlap it.
//! - `family/lookup_inc/2`: two threads on the same family, each cycling
//!   through the combinations from a different starting point; reported
//!   time is per operation of the measured thread. No target: it shows the
//!   cost of sharing the children's counters between cores (a lookup
//!   itself writes only the thread's own epoch record).
//!
//! Run with `cargo bench --bench family`.
//!
//! Last measured on the 2-core dev VM (2026-11-22, night), after the
//! lookup pins before packing its key, reads per-position hash keys from
//! the family and tests length ranges shortest first: `lookup_inc/1`
//! 14.2 ns, `lookup_only/1` 13.4 ns, `lookup_inc/2` 41.5 ns; a second
//! sitting, in a slower phase of the VM (`histogram/observe/1` 8.65 ns
//! against 6.9 ns earlier), read 15.9, 14.8 and 45.5 ns. A lookup +
//! `inc` of the comparison's workload executes about 138 instructions
//! with its loop, against 154 before (callgrind, averaged over 400
//! families, whose random seeds decide how many probes collide).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use promclient::CounterVec;

mod common;
use common::two_threads;

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];
const CODES: [&str; 3] = ["200", "404", "500"];

/// A cursor over the label combinations: stepping is an add and a compare.
struct Cycle<'a> {
    combos: &'a [[&'a str; 2]],
    i: usize,
}

impl<'a> Cycle<'a> {
    fn new(combos: &'a [[&'a str; 2]], start: usize) -> Self {
        Self {
            combos,
            i: start % combos.len(),
        }
    }

    #[inline]
    fn next(&mut self) -> [&'a str; 2] {
        let v = self.combos[self.i];
        self.i += 1;
        if self.i == self.combos.len() {
            self.i = 0;
        }
        v
    }
}

fn family(c: &mut Criterion) {
    let family = CounterVec::new(
        "bench_requests_total",
        "Bench requests.",
        ["method", "code"],
    )
    .expect("valid names");
    let combos: Vec<[&str; 2]> = METHODS
        .iter()
        .flat_map(|&m| CODES.iter().map(move |&c| [m, c]))
        .collect();
    for &values in &combos {
        family.with_label_values(values);
    }
    assert_eq!(family.len(), combos.len());
    let combos = black_box(&combos[..]);

    let mut group = c.benchmark_group("family");

    group.bench_function(BenchmarkId::new("lookup_inc", 1), |b| {
        let mut cycle = Cycle::new(combos, 0);
        b.iter(|| family.with_label_values(cycle.next()).inc());
    });

    group.bench_function(BenchmarkId::new("lookup_only", 1), |b| {
        let mut cycle = Cycle::new(combos, 0);
        b.iter(|| {
            black_box(&*family.with_label_values(cycle.next()));
        });
    });

    group.bench_function(BenchmarkId::new("lookup_inc", 2), |b| {
        b.iter_custom(|iters| {
            two_threads(
                iters,
                |t| (family.clone(), Cycle::new(combos, t * combos.len() / 2)),
                |(family, cycle)| family.with_label_values(cycle.next()).inc(),
            )
        });
    });

    group.finish();
    assert_eq!(
        family.len(),
        combos.len(),
        "no child created while measuring"
    );
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = family
}
criterion_main!(benches);
