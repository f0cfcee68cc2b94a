//! Helpers shared by the benches (a module, not a bench target).

// Each bench uses only some of these.
#![allow(dead_code)]

use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::Criterion;

pub mod scrape_registry;

/// Runs `op` `iters` times on this thread and on a second one, started
/// together at a barrier, and returns this thread's wall time. Each thread
/// gets its own state from `make(thread index)`.
pub fn two_threads<S: Send>(
    iters: u64,
    make: impl Fn(usize) -> S,
    op: impl Fn(&mut S) + Sync,
) -> Duration {
    let barrier = Barrier::new(2);
    let mut mine = make(0);
    let mut theirs = make(1);
    thread::scope(|s| {
        let (barrier, op) = (&barrier, &op);
        s.spawn(move || {
            barrier.wait();
            for _ in 0..iters {
                op(&mut theirs);
            }
        });
        barrier.wait();
        let start = Instant::now();
        for _ in 0..iters {
            op(&mut mine);
        }
        start.elapsed()
    })
}

/// The measurement settings every bench uses: 1 s warm-up, 3 s measured.
pub fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}
