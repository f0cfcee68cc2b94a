//! [`Counter`]: a value that only goes up.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::collector::{Collector, MetricSink};
use crate::desc::{Desc, MetricType, Opts};
use crate::error::{DescError, ValueError};
use crate::family::{FamilyMember, Series};
use crate::snapshot::{CounterValue, Value};

/// The atomic state: integer increments and float increments kept apart,
/// so the common integer case is one `fetch_add` (client_golang's split).
#[derive(Debug, Default)]
pub struct CounterCore {
    int: AtomicU64,
    float_bits: AtomicU64,
}

impl CounterCore {
    fn value(&self) -> f64 {
        // Relaxed: a reader wants some recent value, not an ordering with
        // other memory.
        let int = self.int.load(Ordering::Relaxed);
        let float = f64::from_bits(self.float_bits.load(Ordering::Relaxed));
        int as f64 + float
    }
}

/// A monotonically increasing counter. Cheap to clone; clones share the
/// value.
///
/// # Examples
///
/// ```
/// use promclient::Counter;
///
/// let jobs = Counter::new("jobs_total", "Jobs processed.")?;
/// jobs.inc();
/// jobs.inc_by(2);
/// jobs.add(0.5)?;
/// assert_eq!(jobs.value(), 3.5);
/// assert!(jobs.add(-1.0).is_err());
/// assert_eq!(jobs.value(), 3.5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Counter(Series<CounterCore>);

impl Counter {
    /// An unlabeled counter.
    ///
    /// # Errors
    ///
    /// [`DescError`] if the name is invalid.
    pub fn new(name: &str, help: &str) -> Result<Self, DescError> {
        Self::with_opts(Opts::new(name, help))
    }

    /// An unlabeled counter from [`Opts`].
    ///
    /// # Errors
    ///
    /// [`DescError`] if a name or const label is invalid.
    pub fn with_opts(opts: Opts) -> Result<Self, DescError> {
        let desc = Desc::from_opts(MetricType::Counter, &opts, &[])?;
        Ok(Self(Series::new(desc, CounterCore::default())))
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        // Relaxed: the count is independent of any other memory.
        self.0.core.int.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`: one atomic add.
    #[inline]
    pub fn inc_by(&self, n: u64) {
        // Relaxed: as in `inc`.
        self.0.core.int.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `v`. Whole numbers take the integer path; others add to a
    /// float with a compare-and-swap loop.
    ///
    /// # Errors
    ///
    /// [`ValueError`] if `v` is negative or NaN; the counter is unchanged.
    #[inline]
    pub fn add(&self, v: f64) -> Result<(), ValueError> {
        add_to(v, |n| self.inc_by(n), &self.0.core.float_bits)
    }

    /// The current value.
    #[must_use]
    pub fn value(&self) -> f64 {
        self.0.core.value()
    }

    /// The descriptor.
    #[must_use]
    pub fn desc(&self) -> &Desc {
        &self.0.desc
    }
}

impl fmt::Debug for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counter")
            .field("name", &self.0.desc.fq_name())
            .field("labels", &self.0.labels())
            .field("value", &self.value())
            .finish()
    }
}

impl Collector for Counter {
    fn describe(&self) -> Vec<Desc> {
        vec![self.0.desc.clone()]
    }

    fn collect(&self, out: &mut MetricSink<'_>) {
        if let Some(slot) = out.series(&self.0.desc, self.0.labels(), None) {
            self.write_value(slot);
        }
    }
}

impl FamilyMember for Counter {
    type Config = ();
    const TYPE: MetricType = MetricType::Counter;

    type Core = CounterCore;

    fn new_core((): &()) -> CounterCore {
        CounterCore::default()
    }

    crate::family::series_accessors!();

    fn update_value(&self, slot: &mut Value) {
        match slot {
            Value::Counter(c) => c.value = self.value(),
            other => self.write_value(other),
        }
    }

    fn write_value(&self, slot: &mut Value) {
        write_counter(slot, self.value(), self.0.created());
    }

    fn touch_value(&self) -> u64 {
        self.0.core.int.load(Ordering::Relaxed)
    }
}

/// Adds `v` to a counter: a whole value through `inc_by`, anything else
/// into `float_bits` (the bits of an `f64`).
///
/// # Errors
///
/// [`ValueError`] if `v` is negative or NaN; nothing is added.
#[inline]
pub(crate) fn add_to(
    v: f64,
    inc_by: impl FnOnce(u64),
    float_bits: &AtomicU64,
) -> Result<(), ValueError> {
    if v.is_nan() {
        return Err(ValueError::NaN);
    }
    if v < 0.0 {
        return Err(ValueError::NegativeIncrement(v));
    }
    // `as` saturates; the round trip tells whether v is a whole u64
    // (2^64 itself would saturate to 2^64 - 1 and compare equal).
    let n = v as u64;
    if n as f64 == v && v < 18_446_744_073_709_551_616.0 {
        inc_by(n);
        return Ok(());
    }
    // Relaxed: only this cell's own value matters.
    let mut old = float_bits.load(Ordering::Relaxed);
    loop {
        let new = (f64::from_bits(old) + v).to_bits();
        match float_bits.compare_exchange_weak(old, new, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return Ok(()),
            Err(cur) => old = cur,
        }
    }
}

/// Writes a counter's value and created time into a snapshot slot.
pub(crate) fn write_counter(slot: &mut Value, value: f64, created: SystemTime) {
    match slot {
        Value::Counter(c) => {
            c.value = value;
            c.created = Some(created);
        }
        other => {
            *other = Value::Counter(CounterValue {
                value,
                created: Some(created),
                exemplar: None,
            });
        }
    }
}
