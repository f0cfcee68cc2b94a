//! The registry every scrape bench uses: 1,000 `CounterVec<1>` families
//! with 10 label values each (10,000 counters) and 100 `HistogramVec<1>`
//! families with 10 label values each (1,000 histograms with the default
//! buckets, three observations each).

use promclient::{CounterVec, HistogramVec, Registry, DEFAULT_BUCKETS};

pub const COUNTER_FAMILIES: usize = 1_000;
pub const HISTOGRAM_FAMILIES: usize = 100;
pub const VALUES_PER_FAMILY: usize = 10;

/// The registry of the gather and encode benches.
pub fn registry() -> Registry {
    let registry = Registry::new();
    let values: Vec<String> = (0..VALUES_PER_FAMILY)
        .map(|i| format!("value_{i}"))
        .collect();
    for f in 0..COUNTER_FAMILIES {
        let family = CounterVec::new(
            &format!("bench_counter_{f:04}_total"),
            "A counter family for the gather bench.",
            ["path"],
        )
        .expect("valid names");
        for (i, v) in values.iter().enumerate() {
            family
                .with_label_values([v.as_str()])
                .inc_by((f * 31 + i) as u64);
        }
        registry.register(family).expect("unique names");
    }
    for f in 0..HISTOGRAM_FAMILIES {
        let family = HistogramVec::new(
            &format!("bench_histogram_{f:03}_seconds"),
            "A histogram family for the gather bench.",
            ["handler"],
            &DEFAULT_BUCKETS,
        )
        .expect("valid names and buckets");
        for (i, v) in values.iter().enumerate() {
            let h = family.with_label_values([v.as_str()]);
            for k in 0..3 {
                h.observe(0.003 * (1 + f + i + k) as f64);
            }
        }
        registry.register(family).expect("unique names");
    }
    registry
}
