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
    running: bool,
    /// Bumped when a gather finishes: a waiter waits for the round it saw
    /// running to end.
    round: u64,
    last: Option<Arc<Gathered>>,
}

impl Coalescer {
    /// The result of a gather that started no earlier than this call
    /// began waiting: the running one if there is one, else a new one.
    pub(super) fn gather(&self, gatherer: &dyn Gatherer) -> Arc<Gathered> {
        let mut state = self.state.lock();
        if state.running {
            let round = state.round;
            while state.round == round {
                self.finished.wait(&mut state);
            }
            if let Some(last) = &state.last {
                return last.clone();
            }
            // Unreachable: a finished round always leaves its result.
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
mod tests {
    use super::*;
    use crate::{Counter, Registry};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Barrier;
    use std::time::Duration;

    /// Counts its gathers and holds each one until released.
    struct Slow {
        registry: Registry,
        gathers: AtomicUsize,
        hold: Duration,
    }

    impl Gatherer for Slow {
        fn gather_into(&self, snapshot: &mut Snapshot) -> Result<(), GatherError> {
            self.gathers.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(self.hold);
            self.registry.gather_into(snapshot)
        }
    }

    #[test]
    fn concurrent_scrapes_share_one_gather_and_later_ones_gather_again() {
        let registry = Registry::new();
        let c = Counter::new("c_total", "c").unwrap();
        registry.register(c.clone()).unwrap();
        c.inc_by(3);
        let slow = Slow {
            registry,
            gathers: AtomicUsize::new(0),
            hold: Duration::from_millis(300),
        };
        let co = Coalescer::default();
        let start = Barrier::new(4);
        let results: Vec<Arc<Gathered>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        start.wait();
                        co.gather(&slow)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        // The first gather holds 300 ms; the other three arrive while it
        // runs (they start together) and wait for it.
        assert_eq!(slow.gathers.load(Ordering::Relaxed), 1);
        for r in &results {
            assert!(Arc::ptr_eq(r, &results[0]));
            assert!(r.error.is_none());
            assert_eq!(r.snapshot.families().len(), 1);
        }
        drop(results);
        // Nothing reads the last snapshot any more: the next gather is a
        // new one, into the same memory.
        c.inc();
        let again = co.gather(&slow);
        assert_eq!(slow.gathers.load(Ordering::Relaxed), 2);
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
