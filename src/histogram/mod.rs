//! [`Histogram`] with classic buckets, bucket helpers and a timer.
//!
//! `observe` is lock-free and never waits. Every snapshot is consistent:
//! `_count` equals the `+Inf` bucket and `_sum` is the sum of exactly the
//! observations counted, even while other threads observe. How: the
//! `state` module.

use std::fmt;
use std::time::Instant;

use crate::collector::{Collector, MetricSink};
use crate::desc::{Desc, MetricType, Opts};
use crate::error::{BucketError, DescError};
use crate::family::{FamilyMember, Series};
use crate::snapshot::{Bucket, HistogramValue, Value};

mod buckets;
mod state;
pub(crate) use self::buckets::Buckets;
pub(crate) use self::state::HistogramCore;

/// client_golang's default buckets, tailored to request latencies in
/// seconds.
pub const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// `count` buckets, the first at `start`, each `width` above the last.
///
/// # Errors
///
/// [`BucketError`] if `count` is zero or `width` is not positive.
///
/// # Examples
///
/// ```
/// assert_eq!(promclient::linear_buckets(1.0, 2.0, 3)?, [1.0, 3.0, 5.0]);
/// # Ok::<(), promclient::BucketError>(())
/// ```
pub fn linear_buckets(start: f64, width: f64, count: usize) -> Result<Vec<f64>, BucketError> {
    if count == 0 {
        return Err(BucketError::ZeroCount);
    }
    if width.is_nan() || width <= 0.0 {
        return Err(BucketError::InvalidArgument {
            what: "width must be positive",
            value: width,
        });
    }
    Ok((0..count).map(|i| start + width * i as f64).collect())
}

/// `count` buckets, the first at `start`, each `factor` times the last.
///
/// # Errors
///
/// [`BucketError`] if `count` is zero, `start` is not positive or
/// `factor` is not above 1.
///
/// # Examples
///
/// ```
/// assert_eq!(promclient::exponential_buckets(1.0, 2.0, 4)?, [1.0, 2.0, 4.0, 8.0]);
/// # Ok::<(), promclient::BucketError>(())
/// ```
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Result<Vec<f64>, BucketError> {
    if count == 0 {
        return Err(BucketError::ZeroCount);
    }
    if start.is_nan() || start <= 0.0 {
        return Err(BucketError::InvalidArgument {
            what: "start must be positive",
            value: start,
        });
    }
    if factor.is_nan() || factor <= 1.0 {
        return Err(BucketError::InvalidArgument {
            what: "factor must be greater than 1",
            value: factor,
        });
    }
    let mut out = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        out.push(b);
        b *= factor;
    }
    Ok(out)
}

/// `count` exponentially spaced buckets from `min` to `max` inclusive.
///
/// # Errors
///
/// [`BucketError`] if `count` is zero, `min` is not positive or `max` is
/// not above `min` (with more than one bucket).
///
/// # Examples
///
/// ```
/// let b = promclient::exponential_buckets_range(1.0, 100.0, 3)?;
/// assert_eq!(b.len(), 3);
/// assert!((b[1] - 10.0).abs() < 1e-9 && (b[2] - 100.0).abs() < 1e-9);
/// # Ok::<(), promclient::BucketError>(())
/// ```
pub fn exponential_buckets_range(
    min: f64,
    max: f64,
    count: usize,
) -> Result<Vec<f64>, BucketError> {
    if count == 0 {
        return Err(BucketError::ZeroCount);
    }
    if min.is_nan() || min <= 0.0 {
        return Err(BucketError::InvalidArgument {
            what: "min must be positive",
            value: min,
        });
    }
    if count == 1 {
        return Ok(vec![min]);
    }
    if max.is_nan() || max <= min || max.is_infinite() {
        return Err(BucketError::InvalidArgument {
            what: "max must be finite and greater than min",
            value: max,
        });
    }
    let factor = (max / min).powf(1.0 / (count - 1) as f64);
    exponential_buckets(min, factor, count)
}

/// Checks bucket bounds and drops a trailing `+Inf` (it is implicit).
pub(crate) fn validate_buckets(buckets: &[f64]) -> Result<Buckets, BucketError> {
    let mut bounds = buckets;
    if let Some(&last) = bounds.last() {
        if last == f64::INFINITY {
            bounds = &bounds[..bounds.len() - 1];
        }
    }
    for (index, &bound) in bounds.iter().enumerate() {
        if bound.is_nan() {
            return Err(BucketError::NaN { index });
        }
        if index > 0 && bounds[index - 1] >= bound {
            return Err(BucketError::NotIncreasing {
                index,
                previous: bounds[index - 1],
                bound,
            });
        }
    }
    Ok(Buckets::new(bounds))
}

/// A histogram with classic buckets. Cheap to clone; clones share state.
///
/// An [`observe`](Histogram::observe) never waits, and is one locked
/// instruction unless it meets another thread on the same cache line. A
/// histogram starts with one cache-line-aligned shard of its counts (two
/// cache lines with the default buckets); the first time two threads
/// observe into it at the same instant, it grows about one shard per CPU
/// (the CPU count rounded up to a power of two, at least 2 and at most 8),
/// so that threads on different cores stop sharing cache lines.
///
/// # Examples
///
/// ```
/// use promclient::{Histogram, DEFAULT_BUCKETS};
///
/// let latency = Histogram::new("request_seconds", "Request latency.", &DEFAULT_BUCKETS)?;
/// latency.observe(0.042);
/// {
///     let _timer = latency.start_timer(); // observes the elapsed seconds on drop
/// }
/// assert_eq!(latency.sample_count(), 2);
/// # Ok::<(), promclient::DescError>(())
/// ```
#[derive(Clone)]
pub struct Histogram(Series<HistogramCore>);

impl Histogram {
    /// An unlabeled histogram with these bucket upper bounds (a trailing
    /// `+Inf` is implicit and may be left out).
    ///
    /// # Errors
    ///
    /// [`DescError`] if the name is invalid or the bounds are not strictly
    /// increasing.
    pub fn new(name: &str, help: &str, buckets: &[f64]) -> Result<Self, DescError> {
        Self::with_opts(Opts::new(name, help), buckets)
    }

    /// An unlabeled histogram from [`Opts`].
    ///
    /// # Errors
    ///
    /// As [`Histogram::new`], and if a const label is `le` or invalid.
    pub fn with_opts(opts: Opts, buckets: &[f64]) -> Result<Self, DescError> {
        let bounds = validate_buckets(buckets)?;
        let desc = Desc::from_opts(MetricType::Histogram, &opts, &[])?;
        Ok(Self(Series::new(desc, HistogramCore::new(bounds))))
    }

    /// Records one observation. Lock-free: it never waits for another
    /// thread.
    #[inline]
    pub fn observe(&self, v: f64) {
        self.0.core.observe(v);
    }

    /// A timer that observes the seconds elapsed until it is dropped or
    /// stopped.
    #[must_use = "the timer observes when dropped; dropping it at once observes ~0"]
    pub fn start_timer(&self) -> HistogramTimer {
        HistogramTimer {
            histogram: Some(self.clone()),
            start: Instant::now(),
        }
    }

    /// The upper bounds of the buckets, without the implicit `+Inf`.
    #[must_use]
    pub fn buckets(&self) -> &[f64] {
        self.0.core.buckets.bounds()
    }

    /// The number of observations so far.
    #[must_use]
    pub fn sample_count(&self) -> u64 {
        self.0.core.count()
    }

    /// A consistent snapshot of the histogram.
    #[must_use]
    pub fn snapshot(&self) -> HistogramValue {
        let mut slot = Value::Untyped(0.0);
        self.write_value(&mut slot);
        match slot {
            Value::Histogram(h) => *h,
            _ => HistogramValue::default(),
        }
    }

    /// The descriptor.
    #[must_use]
    pub fn desc(&self) -> &Desc {
        &self.0.desc
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("name", &self.0.desc.fq_name())
            .field("labels", &self.0.labels())
            .field("buckets", &self.buckets())
            .finish_non_exhaustive()
    }
}

impl Collector for Histogram {
    fn describe(&self) -> Vec<Desc> {
        vec![self.0.desc.clone()]
    }

    fn collect(&self, out: &mut MetricSink<'_>) {
        if let Some(slot) = out.series(&self.0.desc, self.0.labels(), None) {
            self.write_value(slot);
        }
    }
}

impl FamilyMember for Histogram {
    type Config = Buckets;
    const TYPE: MetricType = MetricType::Histogram;

    type Core = HistogramCore;

    fn new_core(buckets: &Buckets) -> HistogramCore {
        HistogramCore::new(buckets.clone())
    }

    crate::family::series_accessors!();

    fn write_value(&self, slot: &mut Value) {
        let core = &self.0.core;
        if !matches!(slot, Value::Histogram(_)) {
            *slot = Value::Histogram(Box::default());
        }
        let Value::Histogram(h) = slot else { return };
        // Reuse the bucket vector: the snapshot writes every entry.
        h.buckets.resize_with(core.buckets.len(), Bucket::default);
        let (count, sum) = core.snapshot(&mut h.buckets);
        h.sample_count = count;
        h.sample_sum = sum;
        h.created = Some(self.0.created());
        h.native = None;
    }
}

/// Observes the seconds elapsed since [`Histogram::start_timer`] into the
/// histogram when dropped, unless stopped first.
#[derive(Debug)]
pub struct HistogramTimer {
    histogram: Option<Histogram>,
    start: Instant,
}

impl HistogramTimer {
    /// Observes now and returns the elapsed seconds.
    pub fn observe_duration(mut self) -> f64 {
        self.finish(true)
    }

    /// Stops without observing; returns the elapsed seconds.
    pub fn stop_and_discard(mut self) -> f64 {
        self.finish(false)
    }

    fn finish(&mut self, record: bool) -> f64 {
        let secs = self.start.elapsed().as_secs_f64();
        if let Some(h) = self.histogram.take() {
            if record {
                h.observe(secs);
            }
        }
        secs
    }
}

impl Drop for HistogramTimer {
    fn drop(&mut self) {
        self.finish(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Exemplar;

    #[test]
    fn validate_drops_trailing_inf_and_refuses_disorder() {
        assert_eq!(
            validate_buckets(&[1.0, f64::INFINITY]).unwrap().bounds(),
            &[1.0]
        );
        assert_eq!(validate_buckets(&[]).unwrap().bounds(), &[] as &[f64]);
        assert!(matches!(
            validate_buckets(&[1.0, 1.0]),
            Err(BucketError::NotIncreasing { index: 1, .. })
        ));
        assert!(matches!(
            validate_buckets(&[f64::NAN]),
            Err(BucketError::NaN { index: 0 })
        ));
    }

    /// A gather reuses snapshot slots: whatever a slot held (another
    /// series' buckets, exemplars, a native part), the value written into
    /// it is exactly this histogram's.
    #[test]
    fn a_reused_slot_is_overwritten_whole() {
        let h = Histogram::new("h", "H.", &[1.0, 2.0, 5.0]).unwrap();
        for v in [0.5, 1.5, 1.7, 9.0] {
            h.observe(v);
        }
        let exemplar = || {
            Some(Box::new(Exemplar {
                labels: vec![],
                value: 3.0,
                timestamp: None,
            }))
        };
        for len in [0, 2, 3, 5] {
            let stale = HistogramValue {
                sample_count: 99,
                sample_sum: -1.0,
                buckets: (0..len)
                    .map(|i| Bucket {
                        cumulative_count: 7,
                        upper_bound: f64::from(i) + 0.25,
                        exemplar: exemplar(),
                    })
                    .collect(),
                created: None,
                native: Some(Box::default()),
            };
            let mut slot = Value::Histogram(Box::new(stale));
            h.write_value(&mut slot);
            let Value::Histogram(got) = slot else {
                panic!("not a histogram: {slot:?}")
            };
            let bucket = |upper_bound, cumulative_count| Bucket {
                cumulative_count,
                upper_bound,
                exemplar: None,
            };
            assert_eq!(
                *got,
                HistogramValue {
                    sample_count: 4,
                    sample_sum: 12.7,
                    buckets: vec![bucket(1.0, 1), bucket(2.0, 3), bucket(5.0, 3)],
                    created: Some(h.0.created()),
                    native: None,
                },
                "slot with {len} buckets"
            );
        }
    }
}
