//! Metric descriptors: name, help, type, const labels and variable label
//! names, validated once at construction.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::DescError;
use crate::snapshot::LabelPair;

/// The type of a metric family, as in the Prometheus data model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetricType {
    /// A monotonically increasing value.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Observations counted into buckets, with their sum and count.
    Histogram,
    /// Observations summarised as quantiles, with their sum and count.
    Summary,
    /// A value of unknown type.
    Untyped,
}

impl MetricType {
    /// The name used in `# TYPE` lines of the text format.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
            Self::Untyped => "untyped",
        }
    }
}

impl fmt::Display for MetricType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether `name` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
///
/// # Examples
///
/// ```
/// assert!(promclient::is_valid_metric_name("http_requests_total"));
/// assert!(!promclient::is_valid_metric_name("2xx"));
/// ```
#[must_use]
pub const fn is_valid_metric_name(name: &str) -> bool {
    is_legacy_name(name, true)
}

/// Whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
///
/// Names starting with `__` match this but are still refused by
/// [`Desc::new`] as reserved.
///
/// # Examples
///
/// ```
/// assert!(promclient::is_valid_label_name("method"));
/// assert!(!promclient::is_valid_label_name("a-b"));
/// ```
#[must_use]
pub const fn is_valid_label_name(name: &str) -> bool {
    is_legacy_name(name, false)
}

/// The legacy Prometheus name charset; metric names also allow `:`.
const fn is_legacy_name(name: &str, colon: bool) -> bool {
    let b = name.as_bytes();
    if b.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = c.is_ascii_alphabetic()
            || c == b'_'
            || (colon && c == b':')
            || (i > 0 && c.is_ascii_digit());
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Which metric and label names a descriptor accepts.
///
/// Prometheus 3 stores any UTF-8 name; Prometheus 2 and most tools expect
/// the legacy character set. A UTF-8 name needs both its descriptor
/// ([`Opts::name_validation`]) and its registry
/// ([`Registry::with_name_validation`](crate::Registry::with_name_validation))
/// to allow it. Scrapers that ask for `escaping=allow-utf-8` get such
/// names quoted (`{"my.metric"}`); the others get them escaped into the
/// legacy set (`my_metric` by default), as client_golang does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum NameValidation {
    /// Metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
    /// `[a-zA-Z_][a-zA-Z0-9_]*` (the default).
    #[default]
    Legacy,
    /// Any non-empty UTF-8 metric and label names (label names starting
    /// with `__` stay reserved).
    Utf8,
}

/// Where a label of the merged, name-sorted label list comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LabelSlot {
    Const(usize),
    Variable(usize),
}

struct DescInner {
    fq_name: Arc<str>,
    help: Arc<str>,
    kind: MetricType,
    const_labels: Box<[LabelPair]>,
    variable_labels: Box<[Arc<str>]>,
    label_order: Box<[LabelSlot]>,
    validation: NameValidation,
    /// Whether every name is in the legacy character set.
    legacy: bool,
    /// Where the family of this name was in the last snapshot gathered: a
    /// hint checked before use, saving a hash lookup per descriptor.
    slot_hint: AtomicUsize,
}

/// Describes a metric: fully-qualified name, help, type, const labels and
/// variable label names. Cheap to clone.
///
/// Every instrument carries one; custom [`Collector`](crate::Collector)s
/// create theirs once and report metrics against them. The registry uses
/// descriptors to refuse inconsistent registrations.
///
/// # Examples
///
/// ```
/// use promclient::{Desc, MetricType};
///
/// let desc = Desc::new(MetricType::Gauge, "queue_length", "Jobs waiting.", &["queue"], &[("shard", "a")])?;
/// assert_eq!(desc.fq_name(), "queue_length");
/// assert_eq!(desc.variable_labels().len(), 1);
/// # Ok::<(), promclient::DescError>(())
/// ```
#[derive(Clone)]
pub struct Desc(Arc<DescInner>);

impl Desc {
    /// Validates and builds a descriptor.
    ///
    /// Const labels may come in any order; they are sorted by name.
    ///
    /// # Errors
    ///
    /// [`DescError`] if the metric name or a label name is invalid, a label
    /// name is reserved (`__` prefix), repeated, or forbidden for the type
    /// (`le` for histograms, `quantile` for summaries).
    pub fn new(
        kind: MetricType,
        fq_name: &str,
        help: &str,
        variable_labels: &[&str],
        const_labels: &[(&str, &str)],
    ) -> Result<Self, DescError> {
        let consts: Vec<LabelPair> = const_labels
            .iter()
            .map(|(n, v)| LabelPair::new(*n, *v))
            .collect();
        let vars: Vec<Arc<str>> = variable_labels.iter().map(|l| Arc::from(*l)).collect();
        Self::build(
            kind,
            Arc::from(fq_name),
            Arc::from(help),
            vars,
            consts,
            NameValidation::Legacy,
        )
    }

    pub(crate) fn build(
        kind: MetricType,
        fq_name: Arc<str>,
        help: Arc<str>,
        variable_labels: Vec<Arc<str>>,
        mut const_labels: Vec<LabelPair>,
        validation: NameValidation,
    ) -> Result<Self, DescError> {
        let utf8 = validation == NameValidation::Utf8;
        let mut legacy = is_valid_metric_name(&fq_name);
        let valid = legacy || (utf8 && !fq_name.is_empty());
        if !valid {
            return Err(DescError::InvalidMetricName {
                name: fq_name.to_string(),
            });
        }
        let mut check = |label: &str| -> Result<(), DescError> {
            let err = |mk: fn(String, String) -> DescError| {
                Err(mk(fq_name.to_string(), label.to_string()))
            };
            let legacy_label = is_valid_label_name(label);
            legacy &= legacy_label;
            let valid = legacy_label || (utf8 && !label.is_empty());
            if !valid {
                return err(|metric, label| DescError::InvalidLabelName { metric, label });
            }
            if label.starts_with("__") {
                return err(|metric, label| DescError::ReservedLabelName { metric, label });
            }
            let forbidden = match kind {
                MetricType::Histogram => label == "le",
                MetricType::Summary => label == "quantile",
                _ => false,
            };
            if forbidden {
                return err(|metric, label| DescError::ForbiddenLabelName { metric, label });
            }
            Ok(())
        };
        for pair in &const_labels {
            check(&pair.name)?;
        }
        for label in &variable_labels {
            check(label)?;
        }
        const_labels.sort_by(|a, b| a.name.cmp(&b.name));
        let mut order: Vec<LabelSlot> = (0..const_labels.len())
            .map(LabelSlot::Const)
            .chain((0..variable_labels.len()).map(LabelSlot::Variable))
            .collect();
        let name_of = |slot: &LabelSlot| -> &str {
            match *slot {
                LabelSlot::Const(i) => &const_labels[i].name,
                LabelSlot::Variable(i) => &variable_labels[i],
            }
        };
        order.sort_by(|a, b| name_of(a).cmp(name_of(b)));
        if let Some(w) = order.windows(2).find(|w| name_of(&w[0]) == name_of(&w[1])) {
            return Err(DescError::DuplicateLabelName {
                metric: fq_name.to_string(),
                label: name_of(&w[0]).to_string(),
            });
        }
        Ok(Self(Arc::new(DescInner {
            fq_name,
            help,
            kind,
            const_labels: const_labels.into_boxed_slice(),
            variable_labels: variable_labels.into_boxed_slice(),
            label_order: order.into_boxed_slice(),
            validation,
            legacy,
            slot_hint: AtomicUsize::new(usize::MAX),
        })))
    }

    /// Builds the descriptor for `opts`.
    ///
    /// # Errors
    ///
    /// As [`Desc::new`].
    pub fn from_opts(
        kind: MetricType,
        opts: &Opts,
        variable_labels: &[&str],
    ) -> Result<Self, DescError> {
        let consts = opts
            .const_labels
            .iter()
            .map(|(n, v)| LabelPair::new(n.as_str(), v.as_str()))
            .collect();
        let vars = variable_labels.iter().map(|l| Arc::from(*l)).collect();
        Self::build(
            kind,
            Arc::from(opts.fq_name()),
            Arc::from(opts.help.as_str()),
            vars,
            consts,
            opts.validation,
        )
    }

    /// Which names this descriptor was validated for.
    #[must_use]
    pub fn name_validation(&self) -> NameValidation {
        self.0.validation
    }

    /// Whether the metric name and every label name are in the legacy
    /// character set (always so under [`NameValidation::Legacy`]).
    #[must_use]
    pub fn has_legacy_names(&self) -> bool {
        self.0.legacy
    }

    /// The fully-qualified metric name.
    #[must_use]
    pub fn fq_name(&self) -> &str {
        &self.0.fq_name
    }

    /// The help text, exactly as given.
    #[must_use]
    pub fn help(&self) -> &str {
        &self.0.help
    }

    /// The metric type.
    #[must_use]
    pub fn metric_type(&self) -> MetricType {
        self.0.kind
    }

    /// The const labels, sorted by name.
    #[must_use]
    pub fn const_labels(&self) -> &[LabelPair] {
        &self.0.const_labels
    }

    /// The variable label names, in the order their values are given.
    #[must_use]
    pub fn variable_labels(&self) -> &[Arc<str>] {
        &self.0.variable_labels
    }

    pub(crate) fn name_arc(&self) -> &Arc<str> {
        &self.0.fq_name
    }

    pub(crate) fn help_arc(&self) -> &Arc<str> {
        &self.0.help
    }

    pub(crate) fn label_order(&self) -> &[LabelSlot] {
        &self.0.label_order
    }

    pub(crate) fn slot_hint(&self) -> usize {
        // Relaxed: a hint, verified by the reader before use.
        self.0.slot_hint.load(Ordering::Relaxed)
    }

    pub(crate) fn set_slot_hint(&self, slot: usize) {
        // Relaxed: as in `slot_hint`.
        self.0.slot_hint.store(slot, Ordering::Relaxed);
    }

    pub(crate) fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Same name and same const label values: the identity the registry
    /// refuses to see twice.
    pub(crate) fn same_identity(&self, other: &Self) -> bool {
        self.fq_name() == other.fq_name() && self.const_labels() == other.const_labels()
    }

    /// All label names, sorted: the dimension that must agree between
    /// descriptors of one name.
    pub(crate) fn label_names_sorted(&self) -> impl Iterator<Item = &str> + '_ {
        self.label_order().iter().map(move |slot| match *slot {
            LabelSlot::Const(i) => &*self.0.const_labels[i].name,
            LabelSlot::Variable(i) => &*self.0.variable_labels[i],
        })
    }

    /// This descriptor with `prefix` before its name and `labels` added to
    /// its const labels.
    pub(crate) fn wrapped(&self, prefix: &str, labels: &[LabelPair]) -> Result<Self, DescError> {
        let name: Arc<str> = if prefix.is_empty() {
            self.0.fq_name.clone()
        } else {
            Arc::from(format!("{prefix}{}", self.0.fq_name))
        };
        let mut consts = self.0.const_labels.to_vec();
        consts.extend_from_slice(labels);
        Self::build(
            self.0.kind,
            name,
            self.0.help.clone(),
            self.0.variable_labels.to_vec(),
            consts,
            self.0.validation,
        )
    }
}

impl fmt::Debug for Desc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Desc")
            .field("fq_name", &self.fq_name())
            .field("help", &self.help())
            .field("type", &self.metric_type())
            .field("const_labels", &self.const_labels())
            .field("variable_labels", &self.variable_labels())
            .finish()
    }
}

impl PartialEq for Desc {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other)
            || (self.same_identity(other)
                && self.help() == other.help()
                && self.metric_type() == other.metric_type()
                && self.variable_labels() == other.variable_labels())
    }
}

/// The common options of every instrument: name parts, help and const
/// labels, as client_golang's `Opts`.
///
/// The fully-qualified name is `namespace_subsystem_name`, skipping empty
/// parts.
///
/// # Examples
///
/// ```
/// use promclient::{Counter, Opts};
///
/// let opts = Opts::new("requests_total", "Requests served.")
///     .namespace("shop")
///     .subsystem("http")
///     .const_label("region", "eu");
/// let c = Counter::with_opts(opts)?;
/// assert_eq!(c.desc().fq_name(), "shop_http_requests_total");
/// # Ok::<(), promclient::DescError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Opts {
    namespace: String,
    subsystem: String,
    name: String,
    help: String,
    const_labels: Vec<(String, String)>,
    validation: NameValidation,
}

impl Opts {
    /// Options with a name and help text.
    #[must_use]
    pub fn new(name: impl Into<String>, help: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            help: help.into(),
            ..Self::default()
        }
    }

    /// Sets the namespace, the first part of the name.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the subsystem, the middle part of the name.
    #[must_use]
    pub fn subsystem(mut self, subsystem: impl Into<String>) -> Self {
        self.subsystem = subsystem.into();
        self
    }

    /// Adds a const label, carried by every series of the metric.
    #[must_use]
    pub fn const_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.const_labels.push((name.into(), value.into()));
        self
    }

    /// Which names to accept: [`NameValidation::Legacy`] by default;
    /// [`NameValidation::Utf8`] for any UTF-8 metric and label names (the
    /// registry must allow them too).
    ///
    /// # Examples
    ///
    /// ```
    /// use promclient::{Counter, NameValidation, Opts};
    ///
    /// assert!(Counter::with_opts(Opts::new("jobs.done_total", "Jobs.")).is_err());
    /// let opts = Opts::new("jobs.done_total", "Jobs.").name_validation(NameValidation::Utf8);
    /// assert_eq!(Counter::with_opts(opts)?.desc().fq_name(), "jobs.done_total");
    /// # Ok::<(), promclient::DescError>(())
    /// ```
    #[must_use]
    pub fn name_validation(mut self, validation: NameValidation) -> Self {
        self.validation = validation;
        self
    }

    /// The fully-qualified name these options give.
    #[must_use]
    pub fn fq_name(&self) -> String {
        let mut out = String::with_capacity(
            self.namespace.len() + self.subsystem.len() + self.name.len() + 2,
        );
        for part in [&self.namespace, &self.subsystem, &self.name] {
            if part.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push('_');
            }
            out.push_str(part);
        }
        out
    }
}

impl From<(&str, &str)> for Opts {
    fn from((name, help): (&str, &str)) -> Self {
        Self::new(name, help)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_order_merges_const_and_variable_sorted() {
        let d = Desc::new(
            MetricType::Counter,
            "m",
            "h",
            &["zeta", "alpha"],
            &[("mid", "1"), ("beta", "2")],
        )
        .unwrap();
        let names: Vec<&str> = d.label_names_sorted().collect();
        assert_eq!(names, ["alpha", "beta", "mid", "zeta"]);
        assert_eq!(d.label_order()[0], LabelSlot::Variable(1));
        assert_eq!(d.label_order()[1], LabelSlot::Const(0));
    }

    #[test]
    fn duplicate_between_const_and_variable_is_refused() {
        let e = Desc::new(MetricType::Gauge, "m", "h", &["a"], &[("a", "x")]).unwrap_err();
        assert_eq!(
            e,
            DescError::DuplicateLabelName {
                metric: "m".into(),
                label: "a".into()
            }
        );
    }

    #[test]
    fn fq_name_skips_empty_parts() {
        assert_eq!(Opts::new("n", "").fq_name(), "n");
        assert_eq!(Opts::new("n", "").subsystem("s").fq_name(), "s_n");
        assert_eq!(Opts::new("n", "").namespace("ns").fq_name(), "ns_n");
    }
}
