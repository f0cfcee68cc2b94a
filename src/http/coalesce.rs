//! One gather for every scrape that arrives while a gather runs.
//!
//! Two Prometheus servers of an HA pair scrape at the same moment; without
//! this, each scrape runs every collector. A scrape that finds a gather
//! running waits for it and serves its snapshot; a scrape that finds none
//! starts one. The snapshot of the last gather is kept and gathered into
//! again once no scrape still reads it, so steady-state scrapes reuse its
//! memory (see [`Registry::gather_into`](crate::Registry::gather_into)).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use crate::error::{CollectError, GatherError};
use crate::registry::{panic_message, Gatherer};
use crate::snapshot::Snapshot;

/// What one gather produced: the snapshot (partial if it failed) and the
/// error, if any.
#[derive(Debug)]
pub(super) struct Gathered {
    pub(super) snapshot: Snapshot,
    pub(super) error: Option<GatherError>,
}

#[derive(Debug, Default)]
pub(super) struct Coalescer {
    state: Mutex<State>,
    finished: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// A gather is running. While it does, `last` is empty (the gather
    /// took its memory); when it ends, `last` holds its result.
    running: bool,
    /// Scrapes waiting for the running gather.
    waiting: usize,
    /// Bumped when a gather finishes: a waiter waits for the round it saw
    /// running to end.
    round: u64,
    last: Option<Arc<Gathered>>,
}

impl Coalescer {
    /// The result of the gather running when this is called, or of a new
    /// one if none is.
    pub(super) fn gather(&self, gatherer: &dyn Gatherer) -> Arc<Gathered> {
        let mut state = self.state.lock();
        if state.running {
            state.waiting += 1;
            let mut round = state.round;
            let last = loop {
                self.finished.wait(&mut state);
                if state.round == round {
                    continue; // Woken spuriously.
                }
                if let Some(last) = &state.last {
                    break last.clone();
                }
                // Another gather started before this waiter got the lock
                // back and took the result's memory: wait for that one.
                round = state.round;
            };
            state.waiting -= 1;
            return last;
        }
        state.running = true;
        // Reuse the last snapshot's memory unless a scrape still reads it.
        let mut snapshot = match state.last.take().map(Arc::try_unwrap) {
            Some(Ok(last)) => last.snapshot,
            _ => Snapshot::new(),
        };
        drop(state);

        // Whatever happens, the round ends and waiters wake up.
        let mut round = Round {
            coalescer: self,
            result: None,
        };
        let error = match catch_unwind(AssertUnwindSafe(|| gatherer.gather_into(&mut snapshot))) {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(payload) => {
                // A gatherer other than `Registry` panicked; its snapshot
                // may be half written.
                snapshot = Snapshot::new();
                Some(GatherError {
                    errors: vec![CollectError::Panicked {
                        message: panic_message(payload.as_ref()),
                    }],
                    partial: Box::default(),
                })
            }
        };
        let gathered = Arc::new(Gathered { snapshot, error });
        round.result = Some(gathered.clone());
        gathered
    }
}

/// Ends a gather round when dropped, also if the gather unwinds past it.
struct Round<'a> {
    coalescer: &'a Coalescer,
    result: Option<Arc<Gathered>>,
}

impl Drop for Round<'_> {
    fn drop(&mut self) {
        let mut state = self.coalescer.state.lock();
        state.running = false;
        state.round = state.round.wrapping_add(1);
        state.last = Some(self.result.take().unwrap_or_else(|| {
            Arc::new(Gathered {
                snapshot: Snapshot::new(),
                error: Some(GatherError {
                    errors: vec![CollectError::Panicked {
                        message: "the gather was interrupted".to_owned(),
                    }],
                    partial: Box::default(),
                }),
            })
        }));
        drop(state);
        self.coalescer.finished.notify_all();
    }
}

#[cfg(test)]
impl Coalescer {
    /// Scrapes waiting for the running gather.
    pub(super) fn waiting(&self) -> usize {
        self.state.lock().waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counter, Registry};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    /// Counts its gathers (and how many run at once); the first one
    /// waits until `open` is set.
    struct Slow {
        registry: Registry,
        gathers: AtomicUsize,
        running: AtomicUsize,
        most_at_once: AtomicUsize,
        open: AtomicBool,
    }

    impl Slow {
        fn new(registry: Registry) -> Self {
            Self {
                registry,
                gathers: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                most_at_once: AtomicUsize::new(0),
                open: AtomicBool::new(false),
            }
        }
    }

    impl Gatherer for Slow {
        fn gather_into(&self, snapshot: &mut Snapshot) -> Result<(), GatherError> {
            self.gathers.fetch_add(1, Ordering::Relaxed);
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_at_once.fetch_max(now, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(20);
            while !self.open.load(Ordering::Acquire) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            let r = self.registry.gather_into(snapshot);
            self.running.fetch_sub(1, Ordering::SeqCst);
            r
        }
    }

    #[test]
    fn concurrent_scrapes_share_one_gather_and_later_ones_gather_again() {
        let registry = Registry::new();
        let c = Counter::new("c_total", "c").unwrap();
        registry.register(c.clone()).unwrap();
        c.inc_by(3);
        let slow = Slow::new(registry);
        let co = Coalescer::default();
        let results: Vec<Arc<Gathered>> = std::thread::scope(|s| {
            let first = s.spawn(|| co.gather(&slow));
            while slow.gathers.load(Ordering::Relaxed) == 0 {
                std::thread::yield_now();
            }
            let rest: Vec<_> = (0..3).map(|_| s.spawn(|| co.gather(&slow))).collect();
            // All three wait for the running gather before it may end.
            let deadline = Instant::now() + Duration::from_secs(20);
            while co.waiting() < 3 && Instant::now() < deadline {
                std::thread::yield_now();
            }
            assert_eq!(co.waiting(), 3);
            slow.open.store(true, Ordering::Release);
            let mut all = vec![first.join().unwrap()];
            all.extend(rest.into_iter().map(|h| h.join().unwrap()));
            all
        });
        assert_eq!(slow.gathers.load(Ordering::Relaxed), 1);
        assert_eq!(co.waiting(), 0);
        for r in &results {
            assert!(Arc::ptr_eq(r, &results[0]));
            assert!(r.error.is_none());
            assert_eq!(r.snapshot.families().len(), 1);
        }
        let memory = results[0].snapshot.families().as_ptr();
        drop(results);
        // Nothing reads the last snapshot any more: the next gather is a
        // new one, into the same memory.
        c.inc();
        let again = co.gather(&slow);
        assert_eq!(slow.gathers.load(Ordering::Relaxed), 2);
        assert_eq!(again.snapshot.families().as_ptr(), memory);
        // While a scrape still reads it, the next gather gets new memory.
        let held = again.clone();
        let third = co.gather(&slow);
        assert_ne!(
            third.snapshot.families().as_ptr(),
            held.snapshot.families().as_ptr()
        );
        match &again.snapshot.families()[0].metrics[0].value {
            crate::Value::Counter(v) => assert_eq!(v.value, 4.0),
            v => panic!("not a counter: {v:?}"),
        }
    }

    struct Panics;
    impl Gatherer for Panics {
        fn gather_into(&self, _: &mut Snapshot) -> Result<(), GatherError> {
            panic!("boom")
        }
    }

    #[test]
    fn gathers_never_overlap_under_contention() {
        let registry = Registry::new();
        registry
            .register(Counter::new("c_total", "c").unwrap())
            .unwrap();
        let slow = Slow::new(registry);
        slow.open.store(true, Ordering::Release);
        let co = Coalescer::default();
        let results = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..2000 {
                        let r = co.gather(&slow);
                        assert_eq!(r.snapshot.families().len(), 1);
                        results.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(results.load(Ordering::Relaxed), 16_000);
        assert_eq!(slow.most_at_once.load(Ordering::SeqCst), 1);
        assert_eq!(co.waiting(), 0);
    }

    #[test]
    fn a_panicking_gatherer_is_an_error_and_the_next_gather_runs() {
        let co = Coalescer::default();
        let r = co.gather(&Panics);
        let e = r.error.as_ref().expect("an error");
        assert!(e.to_string().contains("boom"), "{e}");
        let registry = Registry::new();
        let r2 = co.gather(&registry);
        assert!(r2.error.is_none());
    }
}
