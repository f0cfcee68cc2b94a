//! [`Gauge`]: a value that goes up and down.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::collector::{Collector, MetricSink};
use crate::desc::{Desc, MetricType, Opts};
use crate::error::DescError;
use crate::family::{FamilyMember, Series};
use crate::snapshot::Value;

/// A value that can go up and down. Cheap to clone; clones share the value.
///
/// # Examples
///
/// ```
/// use promclient::Gauge;
///
/// let in_flight = Gauge::new("requests_in_flight", "Requests being served.")?;
/// in_flight.inc();
/// in_flight.add(2.5);
/// in_flight.dec();
/// assert_eq!(in_flight.value(), 2.5);
/// in_flight.set(-1.0);
/// assert_eq!(in_flight.value(), -1.0);
/// # Ok::<(), promclient::DescError>(())
/// ```
#[derive(Clone)]
pub struct Gauge(Series<AtomicU64>);

impl Gauge {
    /// An unlabeled gauge.
    ///
    /// # Errors
    ///
    /// [`DescError`] if the name is invalid.
    pub fn new(name: &str, help: &str) -> Result<Self, DescError> {
        Self::with_opts(Opts::new(name, help))
    }

    /// An unlabeled gauge from [`Opts`].
    ///
    /// # Errors
    ///
    /// [`DescError`] if a name or const label is invalid.
    pub fn with_opts(opts: Opts) -> Result<Self, DescError> {
        let desc = Desc::from_opts(MetricType::Gauge, &opts, &[])?;
        Ok(Self(Series::new(desc, AtomicU64::new(0))))
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: f64) {
        // Relaxed: the value is independent of any other memory.
        self.0.core.store(v.to_bits(), Ordering::Relaxed);
    }

    /// Adds `v` (which may be negative).
    #[inline]
    pub fn add(&self, v: f64) {
        let cell = &self.0.core;
        // Relaxed: only this cell's own value matters.
        let mut old = cell.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(old) + v).to_bits();
            match cell.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return,
                Err(cur) => old = cur,
            }
        }
    }

    /// Subtracts `v`.
    #[inline]
    pub fn sub(&self, v: f64) {
        self.add(-v);
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.add(1.0);
    }

    /// Subtracts one.
    #[inline]
    pub fn dec(&self) {
        self.add(-1.0);
    }

    /// Sets the value to the current Unix time in seconds.
    pub fn set_to_current_time(&self) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        self.set(now);
    }

    /// The current value.
    #[must_use]
    pub fn value(&self) -> f64 {
        // Relaxed: any recent value will do.
        f64::from_bits(self.0.core.load(Ordering::Relaxed))
    }

    /// The descriptor.
    #[must_use]
    pub fn desc(&self) -> &Desc {
        &self.0.desc
    }
}

impl fmt::Debug for Gauge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gauge")
            .field("name", &self.0.desc.fq_name())
            .field("labels", &self.0.labels())
            .field("value", &self.value())
            .finish()
    }
}

impl Collector for Gauge {
    fn describe(&self) -> Vec<Desc> {
        vec![self.0.desc.clone()]
    }

    fn collect(&self, out: &mut MetricSink<'_>) {
        if let Some(slot) = out.series(&self.0.desc, self.0.labels(), None) {
            self.write_value(slot);
        }
    }
}

impl FamilyMember for Gauge {
    type Config = ();
    const TYPE: MetricType = MetricType::Gauge;

    type Core = AtomicU64;

    fn new_core((): &()) -> AtomicU64 {
        AtomicU64::new(0)
    }

    crate::family::series_accessors!();

    fn write_value(&self, slot: &mut Value) {
        *slot = Value::Gauge(self.value());
    }

    fn touch_value(&self) -> u64 {
        self.0.core.load(Ordering::Relaxed)
    }
}
