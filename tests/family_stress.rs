//! Stress tests of labeled families' lock-free child table: lookups and
//! increments racing removals, clears, re-creations and gathers. Totals of
//! never-removed children must be exact, and no gather may report a series
//! twice.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;

use promclient::{CounterVec, Registry, Snapshot, Value};

const INC_THREADS: usize = 4;
/// Increments per thread; smaller in debug builds to keep `cargo test` quick.
const ITERS: u64 = if cfg!(debug_assertions) {
    200_000
} else {
    2_000_000
};
const STABLE: u64 = 16;
const CHURN: u64 = 2_000;

fn counter_value(v: &Value) -> f64 {
    match v {
        Value::Counter(c) => c.value,
        other => panic!("not a counter: {other:?}"),
    }
}

fn series(snapshot: &Snapshot, name: &str) -> Vec<(Vec<String>, f64)> {
    snapshot.family(name).map_or_else(Vec::new, |f| {
        f.metrics
            .iter()
            .map(|m| {
                (
                    {
                        // By label name, so the order is (kind, id) whatever gather's order.
                        let get = |n: &str| {
                            m.labels
                                .iter()
                                .find(|l| &*l.name == n)
                                .map(|l| l.value.to_string())
                        };
                        match get("kind") {
                            Some(k) => vec![k, get("id").unwrap()],
                            None => vec![get("id").unwrap()],
                        }
                    },
                    counter_value(&m.value),
                )
            })
            .collect()
    })
}

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

#[test]
fn stress_lookups_removals_clears_and_gathers() {
    let reg = Registry::new();
    let fam = CounterVec::new("stress_total", "h", ["kind", "id"]).unwrap();
    let fam2 = CounterVec::new("cleared_total", "h", ["id"]).unwrap();
    reg.register(fam.clone()).unwrap();
    reg.register(fam2.clone()).unwrap();
    let stable_ids: Vec<String> = (0..STABLE).map(|i| format!("s{i}")).collect();
    let churn_ids: Vec<String> = (0..CHURN).map(|i| format!("churn-{i}")).collect();
    for id in &stable_ids {
        let _ = fam.with_label_values(["stable", id]);
    }
    let done = AtomicBool::new(false);
    let fam2_incs = AtomicU64::new(0);
    let start = Barrier::new(INC_THREADS + 4);
    let gathers = AtomicU64::new(0);
    let dups = AtomicU64::new(0);

    std::thread::scope(|s| {
        for t in 0..INC_THREADS {
            let (fam, fam2, stable_ids, churn_ids, start, fam2_incs) =
                (&fam, &fam2, &stable_ids, &churn_ids, &start, &fam2_incs);
            s.spawn(move || {
                let mut rng = 0x9e37_79b9_7f4a_7c15u64 ^ (t as u64 + 1);
                start.wait();
                for i in 0..ITERS {
                    let r = xorshift(&mut rng);
                    // Every thread does exactly ITERS stable increments,
                    // spread evenly over the stable keys.
                    fam.with_label_values(["stable", &stable_ids[(i % STABLE) as usize]])
                        .inc();
                    let c = &churn_ids[(r % CHURN) as usize];
                    fam.with_label_values(["churn", c]).inc();
                    fam2.with_label_values([c]).inc();
                    fam2_incs.fetch_add(1, Ordering::Relaxed);
                    // Hold a child across other lookups on the same thread.
                    if r % 97 == 0 {
                        let held = fam.with_label_values(["churn", c]);
                        let _other = fam2.with_label_values([c]);
                        held.inc_by(0);
                    }
                }
            });
        }
        // Remover: single removals and partial matches on fam.
        {
            let (fam, churn_ids, start, done) = (&fam, &churn_ids, &start, &done);
            s.spawn(move || {
                let mut rng = 12345u64;
                start.wait();
                while !done.load(Ordering::Relaxed) {
                    let r = xorshift(&mut rng);
                    let c = &churn_ids[(r % CHURN) as usize];
                    fam.remove_label_values(["churn", c]);
                    if r % 1000 == 0 {
                        fam.remove_partial_match(&[("kind", "churn")]);
                    }
                    if r % 50 == 0 {
                        std::thread::yield_now();
                    }
                }
            });
        }
        // Clearer: clears fam2 and re-inserts.
        {
            let (fam2, churn_ids, start, done) = (&fam2, &churn_ids, &start, &done);
            s.spawn(move || {
                let mut n = 0u64;
                start.wait();
                while !done.load(Ordering::Relaxed) {
                    n += 1;
                    fam2.clear();
                    for c in churn_ids.iter().take((n % 600) as usize) {
                        let _ = fam2.with_label_values([c]);
                    }
                    std::thread::yield_now();
                }
            });
        }
        // Gatherer.
        {
            let (reg, start, done, gathers, stable_ids, dups) =
                (&reg, &start, &done, &gathers, &stable_ids, &dups);
            s.spawn(move || {
                let mut last = vec![0.0f64; STABLE as usize];
                start.wait();
                while !done.load(Ordering::Relaxed) {
                    let snap = reg.gather().expect("gather failed");
                    gathers.fetch_add(1, Ordering::Relaxed);
                    let ser = series(&snap, "stress_total");
                    // Strictly sorted, no duplicates.
                    for w in ser.windows(2) {
                        let (a, b) = (
                            w[0].0.iter().rev().collect::<Vec<_>>(),
                            w[1].0.iter().rev().collect::<Vec<_>>(),
                        );
                        if a == b {
                            // Known finding: same series twice in one gather.
                            dups.fetch_add(1, Ordering::Relaxed);
                        } else {
                            assert!(a < b, "unsorted: {:?} {:?}", w[0].0, w[1].0);
                        }
                    }
                    for (i, id) in stable_ids.iter().enumerate() {
                        let found = ser
                            .iter()
                            .find(|(l, _)| l[0] == "stable" && &l[1] == id)
                            .unwrap_or_else(|| panic!("stable child {id} missing from gather"));
                        assert!(found.1 >= last[i], "stable {id} went backwards");
                        last[i] = found.1;
                    }
                    let ser2 = series(&snap, "cleared_total");
                    for w in ser2.windows(2) {
                        if w[0].0 == w[1].0 {
                            dups.fetch_add(1, Ordering::Relaxed);
                        } else {
                            assert!(w[0].0 < w[1].0);
                        }
                    }
                }
            });
        }
        // Wait until the stable totals reach the target, then stop the rest.
        start.wait();
        let target = (INC_THREADS as u64 * ITERS) as f64;
        loop {
            let total: f64 = stable_ids
                .iter()
                .map(|id| fam.with_label_values(["stable", id]).value())
                .sum();
            if total >= target {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        done.store(true, Ordering::Relaxed);
    });

    // Exact counts for keys never removed.
    let per_key = (INC_THREADS as u64 * ITERS / STABLE) as f64;
    for id in &stable_ids {
        assert_eq!(
            fam.with_label_values(["stable", id]).value(),
            per_key,
            "{id}"
        );
    }
    // After quiescence, gather reports exactly what the tables hold.
    let snap = reg.gather().unwrap();
    let ser = series(&snap, "stress_total");
    assert_eq!(ser.len(), fam.len());
    for (l, v) in &ser {
        assert_eq!(fam.with_label_values([&l[0], &l[1]]).value(), *v);
    }
    let ser2 = series(&snap, "cleared_total");
    assert_eq!(ser2.len(), fam2.len());
    let reported: f64 = ser2.iter().map(|(_, v)| v).sum();
    assert!(reported <= fam2_incs.load(Ordering::Relaxed) as f64);
    // A removal after quiescence is seen by the very next gather.
    fam.remove_partial_match(&[("kind", "churn")]);
    let ser = series(&reg.gather().unwrap(), "stress_total");
    assert_eq!(ser.len(), STABLE as usize);
    eprintln!(
        "gathers: {} duplicate-series pairs seen: {}",
        gathers.load(Ordering::Relaxed),
        dups.load(Ordering::Relaxed)
    );
}

/// Removing and re-creating the same children while gathering must never
/// make a gather report a series twice (a lock-free copy of the table could
/// meet a re-created child twice when its probe chain wraps).
#[test]
fn remove_and_recreate_during_gather_never_duplicates() {
    const IDS: u64 = 11;
    const GATHERS: u64 = 2_000;
    let reg = Registry::new();
    let fam = CounterVec::new("dup_total", "h", ["id"]).unwrap();
    reg.register(fam.clone()).unwrap();
    let ids: Vec<String> = (0..IDS).map(|i| format!("k{i}")).collect();
    for id in &ids {
        let _ = fam.with_label_values([id]);
    }
    let done = AtomicBool::new(false);
    let mut dup_gathers = 0u64;
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut r = 7u64;
            while !done.load(Ordering::Relaxed) {
                let a = &ids[(xorshift(&mut r) % IDS) as usize];
                let b = &ids[(xorshift(&mut r) % IDS) as usize];
                fam.remove_label_values([a]);
                let _ = fam.with_label_values([b]);
            }
        });
        for _ in 0..GATHERS {
            let snap = reg.gather().unwrap();
            let ser = series(&snap, "dup_total");
            if ser.windows(2).any(|w| w[0].0 == w[1].0) {
                dup_gathers += 1;
            }
        }
        done.store(true, Ordering::Relaxed);
    });
    assert_eq!(
        dup_gathers, 0,
        "{dup_gathers} of {GATHERS} gathers reported a series twice"
    );
}
