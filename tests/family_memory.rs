//! Heap kept by a family's children, and all of it given back: a child is
//! one block holding its state and label values, counted by reference, so
//! this checks the sizes and that every path frees each block once.
//!
//! A counting global allocator tracks live bytes on this thread; this file
//! holds a single test so nothing else runs in this binary while it
//! measures.

use promclient::{CounterVec, HistogramVec, Registry, DEFAULT_BUCKETS};

#[path = "common/alloc.rs"]
mod alloc;
use alloc::live_bytes;

const SERIES: usize = 100_000;

#[test]
fn children_are_compact_and_freed_on_every_path() {
    let values: Vec<String> = (0..SERIES).map(|i| format!("user-{i:08}")).collect();
    let long: Vec<String> = (0..1000)
        .map(|i| format!("a label value well over sixteen bytes, number {i}"))
        .collect();

    // Warm-up: the epoch's per-thread record and its garbage list are
    // allocated once and kept (the list keeps its capacity), so they are
    // made here, before counting, by the same work as measured below.
    churn(&values, &long);

    // Growth: 100,000 children with one short value each. The block is 72
    // bytes (state, descriptor, creation time, hash, the value inline);
    // the slot array at its load factor adds 8 to 21 bytes, and arrays
    // replaced by growth are freed by later inserts.
    let before = live_bytes();
    let family = CounterVec::new("hc_total", "H.", ["id"]).unwrap();
    for v in &values {
        family.with_label_values([v.as_str()]).inc();
    }
    let per_series = (live_bytes() - before) as f64 / SERIES as f64;
    assert!(
        per_series <= 100.0,
        "{per_series:.1} bytes retained per series"
    );
    assert!(per_series >= 72.0, "{per_series:.1}: not counted?");

    // A handle outlives its family; the family's drop frees the rest.
    let kept = family.with_label_values([values[7].as_str()]).clone();
    drop(family);
    kept.inc();
    assert_eq!(kept.value(), 2.0);
    drop(kept);
    assert_eq!(live_bytes(), before, "dropping the family leaked");

    // Long values, removals, clears and gathers: everything comes back.
    churn(&values, &long);
    assert_eq!(live_bytes(), before, "removed or cleared children leaked");
}

/// Children with long values in two families, some removed one by one,
/// one by partial match, the rest cleared, with gathers between.
fn churn(values: &[String], long: &[String]) {
    let registry = Registry::new();
    let family = CounterVec::new("mixed_total", "M.", ["id", "path"]).unwrap();
    let histograms = HistogramVec::new("h_seconds", "H.", ["id"], &DEFAULT_BUCKETS).unwrap();
    registry.register(family.clone()).unwrap();
    registry.register(histograms.clone()).unwrap();
    for (i, l) in long.iter().enumerate() {
        family.with_label_values([values[i].as_str(), l]).inc();
        histograms.with_label_values([l]).observe(0.5);
    }
    let snapshot = registry.gather().unwrap();
    let text = format!("{:?}", snapshot.family("mixed_total").unwrap().metrics[3]);
    assert!(text.contains(long[3].as_str()), "{text}");
    for l in &long[..500] {
        assert!(histograms.remove_label_values([l]));
    }
    assert_eq!(
        family.remove_partial_match(&[("path", long[0].as_str())]),
        1
    );
    histograms.clear();
    // Removed children are freed through the epoch: a gather collects.
    drop(snapshot);
    drop(registry.gather().unwrap());
    drop(registry);
    drop(family);
    drop(histograms);
}
