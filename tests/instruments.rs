//! Instruments: counters, gauges, histograms, bucket helpers and timers,
//! alone and under concurrent use.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use promclient::{
    exponential_buckets, exponential_buckets_range, linear_buckets, BucketError, Counter,
    DescError, Gauge, Histogram, HistogramValue, HistogramVec, MetricType, Opts, Registry,
    Snapshot, Value, ValueError, DEFAULT_BUCKETS,
};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// `(upper bound, cumulative count)` of every bucket.
fn buckets(h: &HistogramValue) -> Vec<(f64, u64)> {
    h.buckets
        .iter()
        .map(|b| (b.upper_bound, b.cumulative_count))
        .collect()
}

// ---------------------------------------------------------------------------
// Counter

#[test]
fn counter_integer_and_float_paths_combine_exactly() -> TestResult {
    let c = Counter::new("c_total", "C.")?;
    assert_eq!(c.value(), 0.0);
    c.add(0.5)?;
    c.add(0.5)?;
    c.inc();
    assert_eq!(c.value(), 2.0);
    c.inc_by(40);
    c.add(3.0)?; // whole: integer path
    c.add(0.25)?;
    assert_eq!(c.value(), 45.25);
    c.add(0.0)?;
    c.add(-0.0)?;
    assert_eq!(c.value(), 45.25);
    // Clones share the value.
    let clone = c.clone();
    clone.inc();
    assert_eq!(c.value(), 46.25);
    Ok(())
}

#[test]
fn counter_refuses_negative_and_nan_increments() -> TestResult {
    let c = Counter::new("c_total", "C.")?;
    c.inc_by(2);
    c.add(0.5)?;
    assert_eq!(c.add(-1.0), Err(ValueError::NegativeIncrement(-1.0)));
    assert_eq!(c.add(-0.5), Err(ValueError::NegativeIncrement(-0.5)));
    assert_eq!(
        c.add(f64::NEG_INFINITY),
        Err(ValueError::NegativeIncrement(f64::NEG_INFINITY))
    );
    assert_eq!(c.add(f64::NAN), Err(ValueError::NaN));
    assert_eq!(c.add(-f64::NAN), Err(ValueError::NaN));
    assert_eq!(c.value(), 2.5, "refused increments leave the value alone");
    // Errors are displayable and lowercase.
    let msg = ValueError::NegativeIncrement(-1.0).to_string();
    assert!(msg.starts_with(|ch: char| ch.is_lowercase()), "{msg}");
    assert!(!msg.ends_with('.'));
    Ok(())
}

#[test]
fn counter_accepts_infinity() -> TestResult {
    let c = Counter::new("c_total", "C.")?;
    c.inc();
    c.add(f64::INFINITY)?;
    assert_eq!(c.value(), f64::INFINITY);
    c.inc();
    c.add(1.5)?;
    assert_eq!(c.value(), f64::INFINITY);
    Ok(())
}

#[test]
fn counter_never_decreases_on_huge_whole_increments() -> TestResult {
    // 2^64 is a whole float but not a u64: it must not wrap the integer part.
    let two_pow_64 = 18_446_744_073_709_551_616.0;
    let c = Counter::new("c_total", "C.")?;
    c.inc_by(5);
    c.add(two_pow_64)?;
    assert!(c.value() >= two_pow_64, "value {} went down", c.value());
    c.add(1e300)?;
    assert!(c.value() >= 1e300);

    // The largest whole float below 2^64 fits the integer path exactly.
    let big = 18_446_744_073_709_549_568.0; // 2^64 - 2048
    let d = Counter::new("d_total", "D.")?;
    d.add(big)?;
    assert_eq!(d.value(), big);
    Ok(())
}

#[test]
fn counter_is_exact_under_concurrent_increments() -> TestResult {
    const THREADS: usize = 4;
    const ROUNDS: u64 = 50_000;
    let c = Counter::new("c_total", "C.")?;
    let done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(THREADS + 1));
    let reader = {
        let (c, done, start) = (c.clone(), done.clone(), start.clone());
        thread::spawn(move || {
            start.wait();
            let mut last = 0.0;
            let mut reads = 0u64;
            while !done.load(Ordering::Relaxed) {
                let v = c.value();
                // Every increment is a multiple of 0.5 and sums stay far below
                // 2^52, so every value read is exact and never goes back.
                assert!(v >= last, "{v} < {last}");
                assert_eq!((v * 2.0).fract(), 0.0, "{v}");
                last = v;
                reads += 1;
            }
            reads
        })
    };
    let writers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (c, start) = (c.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for _ in 0..ROUNDS {
                    c.inc();
                    c.inc_by(3);
                    c.add(0.5).expect("valid");
                    c.add(2.0).expect("valid");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer panicked");
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.join().expect("reader panicked") > 0);
    assert_eq!(c.value(), (THREADS as u64 * ROUNDS) as f64 * 6.5);
    Ok(())
}

// ---------------------------------------------------------------------------
// Gauge

#[test]
fn gauge_set_inc_dec_add_sub() -> TestResult {
    let g = Gauge::new("g", "G.")?;
    assert_eq!(g.value(), 0.0);
    g.inc();
    g.inc();
    g.dec();
    assert_eq!(g.value(), 1.0);
    g.add(2.5);
    g.sub(0.25);
    assert_eq!(g.value(), 3.25);
    g.add(-10.0);
    assert_eq!(g.value(), -6.75);
    g.set(42.0);
    assert_eq!(g.value(), 42.0);
    g.set(f64::NAN);
    assert!(g.value().is_nan());
    g.set(f64::NEG_INFINITY);
    assert_eq!(g.value(), f64::NEG_INFINITY);
    g.set(-0.0);
    assert!(g.value() == 0.0 && g.value().is_sign_negative());
    Ok(())
}

#[test]
fn gauge_set_to_current_time() -> TestResult {
    let g = Gauge::new("last_run_seconds", "Unix time of the last run.")?;
    let before = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    g.set_to_current_time();
    let after = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    let v = g.value();
    assert!(
        v >= before - 2.0 && v <= after + 2.0,
        "{v} not within [{before}, {after}] (with 2 s slack)"
    );
    assert!(v < 1e11, "seconds, not milliseconds: {v}");
    Ok(())
}

#[test]
fn gauge_is_exact_under_concurrent_adds() -> TestResult {
    let g = Gauge::new("g", "G.")?;
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let g = g.clone();
            thread::spawn(move || {
                for _ in 0..20_000 {
                    if i % 2 == 0 {
                        g.inc();
                        g.add(0.5);
                    } else {
                        g.dec();
                        g.sub(0.25);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread panicked");
    }
    assert_eq!(g.value(), 2.0 * 20_000.0 * (1.5 - 1.25));
    Ok(())
}

// ---------------------------------------------------------------------------
// Histogram

#[test]
fn histogram_buckets_are_le_inclusive() -> TestResult {
    let h = Histogram::new("h", "H.", &[1.0, 2.0, 5.0])?;
    assert_eq!(h.buckets(), [1.0, 2.0, 5.0]);
    for v in [-10.0, 0.5, 1.0] {
        h.observe(v); // le=1
    }
    for v in [1.000_000_1, 2.0] {
        h.observe(v); // le=2
    }
    h.observe(5.0); // le=5
    for v in [5.000_001, 1e9, f64::INFINITY] {
        h.observe(v); // +Inf only
    }
    let s = h.snapshot();
    assert_eq!(buckets(&s), [(1.0, 3), (2.0, 5), (5.0, 6)]);
    assert_eq!(s.sample_count, 9);
    assert_eq!(h.sample_count(), 9);
    assert_eq!(s.sample_sum, f64::INFINITY);
    assert!(s.created.is_some());
    assert!(s.native.is_none());

    let g = Histogram::new("g", "G.", &[1.0, 2.0, 5.0])?;
    for v in [-10.0, 0.5, 1.0, 1.5, 2.0, 5.0, 6.0] {
        g.observe(v);
    }
    let s = g.snapshot();
    assert_eq!(buckets(&s), [(1.0, 3), (2.0, 5), (5.0, 6)]);
    assert_eq!((s.sample_count, s.sample_sum), (7, 6.0));
    // Snapshots do not reset anything.
    assert_eq!(g.snapshot(), s);
    Ok(())
}

#[test]
fn histogram_with_many_buckets_places_like_a_linear_scan() -> TestResult {
    // More than 32 bounds takes another search path; both must agree.
    let bounds = linear_buckets(-5.0, 0.5, 100)?;
    let h = Histogram::new("many", "Many.", &bounds)?;
    let mut want = vec![0u64; bounds.len()];
    let mut values = Vec::new();
    for b in &bounds {
        values.extend([*b, b - 0.25, b + 1e-9]);
    }
    values.extend([-1e9, 1e9, f64::MIN, f64::MAX]);
    for &v in &values {
        h.observe(v);
        if let Some(i) = bounds.iter().position(|&ub| v <= ub) {
            want[i] += 1;
        }
    }
    let mut acc = 0;
    let want: Vec<(f64, u64)> = bounds
        .iter()
        .zip(&want)
        .map(|(&b, &n)| {
            acc += n;
            (b, acc)
        })
        .collect();
    let s = h.snapshot();
    assert_eq!(buckets(&s), want);
    assert_eq!(s.sample_count, values.len() as u64);
    Ok(())
}

#[test]
fn histogram_nan_goes_to_inf_bucket_only() -> TestResult {
    let h = Histogram::new("h", "H.", &[1.0, 2.0])?;
    h.observe(f64::NAN);
    let s = h.snapshot();
    assert_eq!(buckets(&s), [(1.0, 0), (2.0, 0)]);
    assert_eq!(s.sample_count, 1);
    assert!(s.sample_sum.is_nan());
    h.observe(0.5);
    let s = h.snapshot();
    assert_eq!(buckets(&s), [(1.0, 1), (2.0, 1)]);
    assert_eq!(s.sample_count, 2);
    assert!(s.sample_sum.is_nan(), "NaN sticks, as in client_golang");
    Ok(())
}

#[test]
fn histogram_without_bounds_has_only_inf() -> TestResult {
    let h = Histogram::new("h", "H.", &[])?;
    h.observe(3.0);
    let s = h.snapshot();
    assert!(s.buckets.is_empty());
    assert_eq!((s.sample_count, s.sample_sum), (1, 3.0));
    let only_inf = Histogram::new("i", "I.", &[f64::INFINITY])?;
    assert!(only_inf.buckets().is_empty());
    Ok(())
}

#[test]
fn bucket_helpers_values() -> TestResult {
    assert_eq!(linear_buckets(1.0, 2.0, 3)?, [1.0, 3.0, 5.0]);
    assert_eq!(linear_buckets(-1.0, 0.5, 4)?, [-1.0, -0.5, 0.0, 0.5]);
    assert_eq!(linear_buckets(0.0, 10.0, 1)?, [0.0]);
    assert_eq!(exponential_buckets(1.0, 2.0, 4)?, [1.0, 2.0, 4.0, 8.0]);
    assert_eq!(
        exponential_buckets(100.0, 10.0, 3)?,
        [100.0, 1000.0, 10000.0]
    );
    assert_eq!(exponential_buckets(0.5, 1.5, 1)?, [0.5]);

    let r = exponential_buckets_range(1.0, 100.0, 3)?;
    assert_eq!(r.len(), 3);
    assert_eq!(r[0], 1.0);
    for (got, want) in r.iter().zip([1.0, 10.0, 100.0]) {
        assert!((got - want).abs() <= want * 1e-12, "{got} vs {want}");
    }
    let r = exponential_buckets_range(0.001, 10.0, 5)?;
    for (got, want) in r.iter().zip([0.001, 0.01, 0.1, 1.0, 10.0]) {
        assert!((got - want).abs() <= want * 1e-12, "{got} vs {want}");
    }
    assert_eq!(exponential_buckets_range(2.0, 3.0, 1)?, [2.0]);

    // Every helper's output is a valid layout.
    for b in [
        linear_buckets(-1.0, 0.5, 4)?,
        exponential_buckets(1.0, 2.0, 10)?,
        exponential_buckets_range(0.001, 10.0, 20)?,
        DEFAULT_BUCKETS.to_vec(),
    ] {
        let h = Histogram::new("h", "H.", &b)?;
        assert_eq!(h.buckets(), &b[..]);
    }
    Ok(())
}

#[test]
fn bucket_helpers_refuse_bad_arguments() {
    assert_eq!(linear_buckets(0.0, 1.0, 0), Err(BucketError::ZeroCount));
    assert!(matches!(
        linear_buckets(0.0, 0.0, 3),
        Err(BucketError::InvalidArgument { value, .. }) if value == 0.0
    ));
    assert!(matches!(
        linear_buckets(0.0, -1.0, 3),
        Err(BucketError::InvalidArgument { value, .. }) if value == -1.0
    ));
    assert!(matches!(
        linear_buckets(0.0, f64::NAN, 3),
        Err(BucketError::InvalidArgument { value, .. }) if value.is_nan()
    ));

    assert_eq!(
        exponential_buckets(1.0, 2.0, 0),
        Err(BucketError::ZeroCount)
    );
    for (start, factor) in [(0.0, 2.0), (-1.0, 2.0), (f64::NAN, 2.0)] {
        assert!(
            matches!(
                exponential_buckets(start, factor, 3),
                Err(BucketError::InvalidArgument { what, .. }) if what.contains("start")
            ),
            "start {start}"
        );
    }
    for factor in [1.0, 0.5, -2.0, f64::NAN] {
        assert!(
            matches!(
                exponential_buckets(1.0, factor, 3),
                Err(BucketError::InvalidArgument { what, .. }) if what.contains("factor")
            ),
            "factor {factor}"
        );
    }

    assert_eq!(
        exponential_buckets_range(1.0, 10.0, 0),
        Err(BucketError::ZeroCount)
    );
    for (min, max) in [
        (0.0, 10.0),
        (-1.0, 10.0),
        (10.0, 10.0),
        (10.0, 1.0),
        (1.0, f64::INFINITY),
        (1.0, f64::NAN),
        (f64::NAN, 10.0),
    ] {
        assert!(
            matches!(
                exponential_buckets_range(min, max, 3),
                Err(BucketError::InvalidArgument { .. })
            ),
            "min {min} max {max}"
        );
    }
    // Errors display in lowercase without a trailing period.
    for e in [
        BucketError::ZeroCount,
        linear_buckets(0.0, 0.0, 1).unwrap_err(),
    ] {
        let msg = e.to_string();
        assert!(msg.starts_with(|c: char| c.is_lowercase()) && !msg.ends_with('.'));
    }
}

#[test]
fn invalid_bucket_layouts_are_typed_errors() {
    let cases: &[(&[f64], BucketError)] = &[
        (
            &[1.0, 1.0],
            BucketError::NotIncreasing {
                index: 1,
                previous: 1.0,
                bound: 1.0,
            },
        ),
        (
            &[1.0, 3.0, 2.0],
            BucketError::NotIncreasing {
                index: 2,
                previous: 3.0,
                bound: 2.0,
            },
        ),
        (
            &[1.0, f64::INFINITY, 2.0],
            BucketError::NotIncreasing {
                index: 2,
                previous: f64::INFINITY,
                bound: 2.0,
            },
        ),
    ];
    for (b, want) in cases {
        assert_eq!(
            Histogram::new("h", "H.", b).unwrap_err(),
            DescError::InvalidBuckets(want.clone()),
            "{b:?}"
        );
        assert_eq!(
            HistogramVec::new("h", "H.", ["k"], b).unwrap_err(),
            DescError::InvalidBuckets(want.clone()),
            "{b:?}"
        );
    }
    for (b, index) in [
        (&[f64::NAN][..], 0),
        (&[1.0, f64::NAN], 1),
        (&[f64::NAN, 1.0], 0),
    ] {
        match Histogram::new("h", "H.", b) {
            Err(DescError::InvalidBuckets(BucketError::NaN { index: i })) => assert_eq!(i, index),
            other => panic!("{b:?}: expected NaN at {index}, got {other:?}"),
        }
    }
    // Error sources chain to the bucket error.
    let e = Histogram::new("h", "H.", &[2.0, 1.0]).unwrap_err();
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn histograms_refuse_le_labels() -> TestResult {
    let want = DescError::ForbiddenLabelName {
        metric: "h".into(),
        label: "le".into(),
    };
    assert_eq!(
        Histogram::with_opts(Opts::new("h", "H.").const_label("le", "1"), &[1.0]).unwrap_err(),
        want
    );
    assert_eq!(
        HistogramVec::new("h", "H.", ["le"], &[1.0]).unwrap_err(),
        want
    );
    assert_eq!(
        HistogramVec::with_opts(Opts::new("h", "H.").const_label("le", "x"), ["a"], &[1.0])
            .unwrap_err(),
        want
    );
    // Other instruments may use `le`; histograms may use `quantile`.
    Counter::with_opts(Opts::new("c_total", "C.").const_label("le", "1"))?;
    HistogramVec::new("h", "H.", ["quantile"], &[1.0])?;
    Ok(())
}

#[test]
fn instruments_refuse_invalid_names_with_typed_errors() {
    assert_eq!(
        Counter::new("2xx_total", "C.").unwrap_err(),
        DescError::InvalidMetricName {
            name: "2xx_total".into()
        }
    );
    assert!(matches!(
        Gauge::new("", "G."),
        Err(DescError::InvalidMetricName { .. })
    ));
    assert!(matches!(
        Histogram::new("a-b", "H.", &[1.0]),
        Err(DescError::InvalidMetricName { .. })
    ));
    assert!(matches!(
        Gauge::with_opts(Opts::new("g", "G.").const_label("bad-label", "x")),
        Err(DescError::InvalidLabelName { ref label, .. }) if label == "bad-label"
    ));
    assert!(matches!(
        Gauge::with_opts(Opts::new("g", "G.").const_label("__name__", "x")),
        Err(DescError::ReservedLabelName { ref label, .. }) if label == "__name__"
    ));
    assert!(matches!(
        Counter::with_opts(Opts::new("g", "G.").const_label("a", "x").const_label("a", "y")),
        Err(DescError::DuplicateLabelName { ref label, .. }) if label == "a"
    ));
    assert!(matches!(
        Gauge::with_opts(Opts::new("g", "G.").namespace("9ns")),
        Err(DescError::InvalidMetricName { ref name }) if name == "9ns_g"
    ));
}

#[test]
fn timer_observes_elapsed_seconds() -> TestResult {
    let h = Histogram::new("h", "H.", &[0.000_1, 10.0])?;
    let t = h.start_timer();
    thread::sleep(Duration::from_millis(2));
    let secs = t.observe_duration();
    assert!(secs >= 0.002, "{secs}");
    let s = h.snapshot();
    assert_eq!(s.sample_count, 1);
    assert_eq!(
        s.sample_sum, secs,
        "the returned duration is what was observed"
    );
    assert_eq!(buckets(&s)[0], (0.000_1, 0));

    {
        let _t = h.start_timer();
        thread::sleep(Duration::from_millis(1));
    }
    let s = h.snapshot();
    assert_eq!(s.sample_count, 2);
    assert!(s.sample_sum >= secs + 0.001);
    Ok(())
}

#[test]
fn timer_stop_and_discard_observes_nothing() -> TestResult {
    let h = Histogram::new("h", "H.", &[1.0])?;
    let t = h.start_timer();
    thread::sleep(Duration::from_millis(1));
    let secs = t.stop_and_discard();
    assert!(secs >= 0.001, "{secs}");
    let s = h.snapshot();
    assert_eq!((s.sample_count, s.sample_sum), (0, 0.0));
    assert_eq!(h.sample_count(), 0);
    Ok(())
}

/// Checks one snapshot of the concurrency test: observations are 1.0 (into
/// `le=1`) or 2.0 (into `le=2`), so the bucket counts say exactly what the
/// sum and count must be.
fn check_consistent(h: &HistogramValue, last_count: &mut u64) {
    assert_eq!(h.buckets.len(), 2);
    let c1 = h.buckets[0].cumulative_count;
    let c2 = h.buckets[1].cumulative_count;
    assert!(c1 <= c2, "cumulative counts decrease: {c1} > {c2}");
    assert!(c2 <= h.sample_count, "{c2} > count {}", h.sample_count);
    assert_eq!(h.sample_count, c2, "nothing was observed above 2");
    let want_sum = c1 as f64 + 2.0 * (c2 - c1) as f64;
    assert_eq!(h.sample_sum, want_sum, "buckets {c1}/{c2}");
    assert!(h.sample_count >= *last_count, "count went back");
    *last_count = h.sample_count;
}

#[test]
fn histogram_snapshots_are_consistent_under_concurrent_observes() -> TestResult {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 200_000;
    let registry = Registry::new();
    let h = Histogram::new("h", "H.", &[1.0, 2.0])?;
    registry.register(h.clone())?;
    let done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(THREADS as usize + 1));

    let reader = {
        let (h, registry, done, start) = (h.clone(), registry.clone(), done.clone(), start.clone());
        thread::spawn(move || {
            let mut reused = Snapshot::new();
            let mut last_count = 0;
            let (mut snapshots, mut intermediate) = (0u64, 0u64);
            start.wait();
            loop {
                // Read `done` first so one more pair of snapshots follows the
                // last observation.
                let finished = done.load(Ordering::Acquire);
                let direct = h.snapshot();
                check_consistent(&direct, &mut last_count);
                registry.gather_into(&mut reused).expect("no errors");
                let fam = reused.family("h").expect("gathered");
                let Value::Histogram(via_registry) = &fam.metrics[0].value else {
                    panic!("not a histogram");
                };
                check_consistent(via_registry, &mut last_count);
                snapshots += 2;
                if (1..THREADS * ROUNDS).contains(&direct.sample_count) {
                    intermediate += 1;
                }
                if finished {
                    return (snapshots, intermediate, via_registry.clone());
                }
            }
        })
    };
    let writers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (h, start) = (h.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for i in 0..ROUNDS {
                    // Thread-dependent mix of the two values.
                    h.observe(if (i + t) % 3 == 0 { 2.0 } else { 1.0 });
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer panicked");
    }
    done.store(true, Ordering::Release);
    let (snapshots, intermediate, last) = reader.join().expect("reader panicked");
    assert!(snapshots > 2);
    assert!(
        intermediate > 0,
        "no snapshot was taken while observations were in flight"
    );

    let twos: u64 = (0..THREADS)
        .map(|t| (0..ROUNDS).filter(|i| (i + t) % 3 == 0).count() as u64)
        .sum();
    let total = THREADS * ROUNDS;
    let want_sum = (total - twos) as f64 + 2.0 * twos as f64;
    for s in [h.snapshot(), *last] {
        assert_eq!(buckets(&s), [(1.0, total - twos), (2.0, total)]);
        assert_eq!((s.sample_count, s.sample_sum), (total, want_sum));
    }
    assert_eq!(h.sample_count(), total);
    Ok(())
}

#[test]
fn instrument_types_are_reported_in_descs() -> TestResult {
    assert_eq!(
        Counter::new("c_total", "C.")?.desc().metric_type(),
        MetricType::Counter
    );
    assert_eq!(
        Gauge::new("g", "G.")?.desc().metric_type(),
        MetricType::Gauge
    );
    let h = Histogram::with_opts(
        Opts::new("seconds", "H.")
            .namespace("ns")
            .subsystem("sub")
            .const_label("b", "2")
            .const_label("a", "1"),
        &[1.0],
    )?;
    assert_eq!(h.desc().metric_type(), MetricType::Histogram);
    assert_eq!(h.desc().fq_name(), "ns_sub_seconds");
    let consts: Vec<(&str, &str)> = h
        .desc()
        .const_labels()
        .iter()
        .map(|l| (&*l.name, &*l.value))
        .collect();
    assert_eq!(consts, [("a", "1"), ("b", "2")]);
    Ok(())
}

#[test]
fn a_sharded_counter_counts_exactly_under_contention_and_reports_as_a_counter() {
    use promclient::ShardedCounter;

    let sharded = ShardedCounter::new("hot_total", "Hot.").unwrap();
    let plain = promclient::Counter::new("hot_total", "Hot.").unwrap();
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 100_000;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (sharded, plain) = (&sharded, &plain);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    sharded.inc();
                    sharded.inc_by(t + i % 3);
                    sharded.add(0.5).unwrap();
                    plain.inc();
                    plain.inc_by(t + i % 3);
                    plain.add(0.5).unwrap();
                }
            });
        }
    });
    let per_thread = |t: u64| ROUNDS + (0..ROUNDS).map(|i| t + i % 3).sum::<u64>();
    let ints: u64 = (0..THREADS).map(per_thread).sum();
    let want = ints as f64 + 0.5 * (THREADS * ROUNDS) as f64;
    assert_eq!(sharded.value(), want);
    assert_eq!(plain.value(), want);
    // Refused increments leave the value alone.
    assert_eq!(
        sharded.add(-1.0),
        Err(promclient::ValueError::NegativeIncrement(-1.0))
    );
    assert_eq!(sharded.add(f64::NAN), Err(promclient::ValueError::NaN));
    assert_eq!(sharded.value(), want);

    // Exposed exactly as a `Counter` with the same value.
    let text = |c: &dyn Fn(&Registry)| {
        let registry = Registry::new();
        c(&registry);
        let mut out = Vec::new();
        promclient::encoding::text::encode(&registry.gather().unwrap(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let a = text(&|r| r.register(sharded.clone()).unwrap());
    let b = text(&|r| r.register(plain.clone()).unwrap());
    assert_eq!(a, b);
    // 1,399,996 whole increments and 400,000 halves.
    assert_eq!(want, 1_599_996.0);
    assert!(a.ends_with("\nhot_total 1.599996e+06\n"), "{a}");
}
