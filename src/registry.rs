//! [`Registry`]: register and unregister collectors, and gather them into a
//! [`Snapshot`]. There is no global default registry.

use std::any::Any;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::RwLock;

use crate::collector::{Collector, MetricSink};
use crate::desc::{is_valid_label_name, is_valid_metric_name, Desc, MetricType, NameValidation};
use crate::encoding::escape;
use crate::encoding::text::{write_header, write_labels_open};
use crate::encoding::{openmetrics, protobuf};
use crate::error::{AlreadyRegisteredError, CollectError, DescError, GatherError, RegisterError};
use crate::snapshot::{LabelPair, Metric, MetricFamily, Snapshot, Value};

/// A set of collectors to gather together.
///
/// Cheap to clone: clones share the collectors. Create one with
/// [`Registry::new`] and register what you want reported; nothing is
/// registered implicitly.
///
/// # Examples
///
/// ```
/// use promclient::{CounterVec, Registry};
///
/// let registry = Registry::new();
/// let requests = CounterVec::new("http_requests_total", "Requests served.", ["method", "code"])?;
/// registry.register(requests.clone())?;
/// requests.with_label_values(["GET", "200"]).inc();
///
/// let families = registry.gather()?;
/// let mut out = Vec::new();
/// promclient::encoding::text::encode(&families, &mut out)?;
/// assert_eq!(
///     String::from_utf8(out)?,
///     "# HELP http_requests_total Requests served.\n\
///      ## TYPE http_requests_total counter\n\
///      http_requests_total{code=\"200\",method=\"GET\"} 1\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<RwLock<Registered>>,
}

#[derive(Default)]
struct Registered {
    entries: Vec<Entry>,
    /// What gather iterates, in registration order: copied on write when a
    /// gather still holds it, so a gather holds no lock while collectors
    /// run.
    collectors: Arc<Vec<Arc<dyn Collector>>>,
    /// Which entry registered each descriptor identity.
    ids: HashMap<DescKey, u64>,
    next_id: u64,
    /// Per metric name: what every descriptor of that name must agree on,
    /// and how many registered descriptors use it.
    names: HashMap<Arc<str>, NameInfo>,
    /// Whether descriptors with UTF-8 names are accepted.
    validation: NameValidation,
}

struct Entry {
    id: u64,
    collector: Arc<dyn Collector>,
    original: Arc<dyn Any + Send + Sync>,
    descs: Vec<Desc>,
}

/// What the registry refuses to see twice: a name and const label values
/// (const label names are fixed per name by the consistency check).
#[derive(PartialEq, Eq, Hash)]
struct DescKey {
    name: Arc<str>,
    const_values: Vec<Arc<str>>,
}

impl DescKey {
    fn of(d: &Desc) -> Self {
        Self {
            name: d.name_arc().clone(),
            const_values: d.const_labels().iter().map(|l| l.value.clone()).collect(),
        }
    }
}

struct NameInfo {
    help: Arc<str>,
    kind: MetricType,
    label_names: Vec<String>,
    count: usize,
}

/// Something a `/metrics` handler can gather from (client_golang's
/// `Gatherer`): a [`Registry`], or a type of yours that does work of its
/// own first (refreshes state its collectors read, picks one of several
/// registries) and then gathers a registry.
///
/// There is no merging of several registries into one snapshot yet: an
/// implementation fills `snapshot` with one [`Registry::gather_into`].
///
/// Implementations may be called from several threads at once (several
/// handlers can share one). A handler runs one gather at a time and shares
/// its result with the scrapes that arrive meanwhile.
pub trait Gatherer: Send + Sync + 'static {
    /// Gathers into `snapshot`, as [`Registry::gather_into`]: what could be
    /// gathered is left in `snapshot` also when this fails. The handler
    /// passes the previous gather's snapshot when no scrape still reads it,
    /// so that its memory is reused.
    ///
    /// # Errors
    ///
    /// [`GatherError`] listing what went wrong.
    fn gather_into(&self, snapshot: &mut Snapshot) -> Result<(), GatherError>;
}

impl Gatherer for Registry {
    fn gather_into(&self, snapshot: &mut Snapshot) -> Result<(), GatherError> {
        Registry::gather_into(self, snapshot)
    }
}

impl<G: Gatherer + ?Sized> Gatherer for Arc<G> {
    fn gather_into(&self, snapshot: &mut Snapshot) -> Result<(), GatherError> {
        (**self).gather_into(snapshot)
    }
}

impl<G: Gatherer + ?Sized> Gatherer for Box<G> {
    fn gather_into(&self, snapshot: &mut Snapshot) -> Result<(), GatherError> {
        (**self).gather_into(snapshot)
    }
}

impl fmt::Debug for dyn Gatherer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Gatherer")
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.inner.read();
        f.debug_struct("Registry")
            .field("collectors", &r.entries.len())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty registry that accepts the names `validation` allows:
    /// with [`NameValidation::Utf8`] it registers descriptors with UTF-8
    /// names (built with [`Opts::name_validation`](crate::Opts::name_validation)); [`Registry::new`]
    /// refuses them.
    ///
    /// Scrapers that ask for `escaping=allow-utf-8` (Prometheus 3) get
    /// those names quoted; the others get them escaped into the legacy
    /// character set.
    ///
    /// The check is on descriptors: an unchecked collector (one that
    /// describes nothing) can still report UTF-8 names into any registry,
    /// and they are exposed the same way. [`Registry::wrap`] takes a
    /// legacy prefix and legacy label names in either mode.
    ///
    /// # Examples
    ///
    /// ```
    /// use promclient::{Gauge, NameValidation, Opts, Registry};
    ///
    /// let opts = Opts::new("room.temperature", "Celsius.").name_validation(NameValidation::Utf8);
    /// let gauge = Gauge::with_opts(opts)?;
    /// assert!(Registry::new().register(gauge.clone()).is_err());
    /// Registry::with_name_validation(NameValidation::Utf8).register(gauge)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_name_validation(validation: NameValidation) -> Self {
        let registry = Self::default();
        registry.inner.write().validation = validation;
        registry
    }

    /// Registers a collector.
    ///
    /// # Errors
    ///
    /// - [`RegisterError::AlreadyRegistered`] if a collector with exactly
    ///   the same descriptors is registered; it carries that collector.
    /// - [`RegisterError::DuplicateDesc`] if another collector registered a
    ///   descriptor with the same name and const label values.
    /// - [`RegisterError::Inconsistent`] if a descriptor of the same name
    ///   has another help, type or set of label names.
    ///
    /// A collector that describes nothing is unchecked and always accepted.
    pub fn register<C: Collector>(&self, collector: C) -> Result<(), RegisterError> {
        let c = Arc::new(collector);
        let descs = c.describe();
        self.register_entry(c.clone(), c, &descs)
    }

    /// Unregisters the collector registered with the same descriptors as
    /// `collector`; whether one was found. Unchecked collectors cannot be
    /// found this way.
    pub fn unregister(&self, collector: &dyn Collector) -> bool {
        self.unregister_descs(&collector.describe())
    }

    /// A view of this registry that prefixes the names and adds `labels` to
    /// every metric registered through it (client_golang's
    /// `WrapRegistererWithPrefix` and `WrapRegistererWith`).
    ///
    /// # Errors
    ///
    /// [`DescError`] if the prefix does not make valid names or a label
    /// name is invalid or repeated.
    ///
    /// # Examples
    ///
    /// ```
    /// use promclient::{Counter, Registry};
    ///
    /// let registry = Registry::new();
    /// let db = registry.wrap("db_", &[("pool", "main")])?;
    /// db.register(Counter::new("queries_total", "Queries run.")?)?;
    /// let snapshot = registry.gather()?;
    /// let family = snapshot.family("db_queries_total").unwrap();
    /// assert_eq!(&*family.metrics[0].labels[0].value, "main");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn wrap(
        &self,
        prefix: &str,
        labels: &[(&str, &str)],
    ) -> Result<WrappedRegistry, DescError> {
        let wrap = Wrap::new(prefix, labels)?;
        Ok(WrappedRegistry {
            registry: self.clone(),
            wrap: Arc::new(wrap),
        })
    }

    fn register_entry(
        &self,
        collector: Arc<dyn Collector>,
        original: Arc<dyn Any + Send + Sync>,
        described: &[Desc],
    ) -> Result<(), RegisterError> {
        let mut descs: Vec<Desc> = Vec::with_capacity(described.len());
        for d in described {
            if !descs.iter().any(|x| x.same_identity(d)) {
                descs.push(d.clone());
            }
        }
        let mut reg = self.inner.write();
        if reg.validation == NameValidation::Legacy {
            if let Some(d) = descs.iter().find(|d| !d.has_legacy_names()) {
                return Err(RegisterError::Utf8Names {
                    metric: d.fq_name().to_string(),
                });
            }
        }
        // Consistency per name, against the registry and within the new set.
        for (i, d) in descs.iter().enumerate() {
            let labels: Vec<String> = d.label_names_sorted().map(str::to_owned).collect();
            let check =
                |help: &str, kind: MetricType, names: &[String]| -> Result<(), RegisterError> {
                    let differs = if kind != d.metric_type() {
                        "type"
                    } else if help != d.help() {
                        "help"
                    } else if names != labels.as_slice() {
                        "label names"
                    } else {
                        return Ok(());
                    };
                    Err(RegisterError::Inconsistent {
                        metric: d.fq_name().to_string(),
                        differs,
                    })
                };
            if let Some(info) = reg.names.get(d.fq_name()) {
                check(&info.help, info.kind, &info.label_names)?;
            }
            for earlier in descs[..i].iter().filter(|e| e.fq_name() == d.fq_name()) {
                let names: Vec<String> = earlier.label_names_sorted().map(str::to_owned).collect();
                check(earlier.help(), earlier.metric_type(), &names)?;
            }
        }
        // Duplicates: all of them from one collector with the same set means
        // "already registered"; anything else is a conflict.
        let keys: Vec<DescKey> = descs.iter().map(DescKey::of).collect();
        let owners: Vec<u64> = keys
            .iter()
            .filter_map(|k| reg.ids.get(k).copied())
            .collect();
        if let Some(&first) = owners.first() {
            let same_owner = owners.iter().all(|&o| o == first);
            let e = reg.entries.iter().find(|e| e.id == first);
            if let Some(e) = e
                .filter(|e| same_owner && owners.len() == keys.len() && e.descs.len() == keys.len())
            {
                return Err(RegisterError::AlreadyRegistered(AlreadyRegisteredError {
                    existing: e.collector.clone(),
                    original: e.original.clone(),
                    metric: descs[0].fq_name().to_string(),
                }));
            }
            let dup = keys.iter().find(|k| reg.ids.contains_key(*k));
            return Err(RegisterError::DuplicateDesc {
                metric: dup.map_or(String::new(), |k| k.name.to_string()),
            });
        }
        for d in &descs {
            reg.names
                .entry(d.name_arc().clone())
                .or_insert_with(|| NameInfo {
                    help: d.help_arc().clone(),
                    kind: d.metric_type(),
                    label_names: d.label_names_sorted().map(str::to_owned).collect(),
                    count: 0,
                })
                .count += 1;
        }
        let id = reg.next_id;
        reg.next_id += 1;
        for k in keys {
            reg.ids.insert(k, id);
        }
        Arc::make_mut(&mut reg.collectors).push(collector.clone());
        reg.entries.push(Entry {
            id,
            collector,
            original,
            descs,
        });
        Ok(())
    }

    fn unregister_descs(&self, descs: &[Desc]) -> bool {
        let mut reg = self.inner.write();
        let keys: Vec<DescKey> = descs.iter().map(DescKey::of).collect();
        let Some(&id) = keys.first().and_then(|k| reg.ids.get(k)) else {
            return false;
        };
        let Some(i) = reg.entries.iter().position(|e| e.id == id) else {
            return false;
        };
        // The very same set of descriptors, all registered by that entry.
        let same_set = keys.iter().all(|k| reg.ids.get(k) == Some(&id))
            && reg.entries[i]
                .descs
                .iter()
                .all(|x| descs.iter().any(|d| x.same_identity(d)));
        if !same_set {
            return false;
        }
        let entry = reg.entries.remove(i);
        for d in &entry.descs {
            reg.ids.remove(&DescKey::of(d));
            if let Some(info) = reg.names.get_mut(d.fq_name()) {
                info.count -= 1;
                if info.count == 0 {
                    reg.names.remove(d.fq_name());
                }
            }
        }
        Arc::make_mut(&mut reg.collectors).remove(i);
        true
    }

    /// Gathers every registered collector into a new [`Snapshot`].
    ///
    /// # Errors
    ///
    /// [`GatherError`] listing every problem (a collector that panicked or
    /// reported failure, duplicate or inconsistent series); it carries the
    /// families that could be gathered in [`GatherError::partial`].
    pub fn gather(&self) -> Result<Snapshot, GatherError> {
        let mut snapshot = Snapshot::new();
        match self.gather_into(&mut snapshot) {
            Ok(()) => Ok(snapshot),
            Err(mut e) => {
                *e.partial = snapshot;
                Err(e)
            }
        }
    }

    /// Gathers into `snapshot`, reusing its memory: once a snapshot has
    /// seen a registry's series, gathering them again allocates nothing per
    /// series.
    ///
    /// Families are sorted by name, series by label values, and empty
    /// families are left out. A collector that panics loses what it
    /// collected in that call; the others are still gathered.
    ///
    /// # Errors
    ///
    /// As [`Registry::gather`]; what could be gathered is left in
    /// `snapshot`.
    pub fn gather_into(&self, snapshot: &mut Snapshot) -> Result<(), GatherError> {
        let collectors = self.inner.read().collectors.clone();
        let mut errors = Vec::new();
        snapshot.state.begin();
        for c in collectors.iter() {
            snapshot.state.begin_collector();
            let mut sink = MetricSink {
                snap: snapshot,
                errors: &mut errors,
                wrap: None,
            };
            let result = catch_unwind(AssertUnwindSafe(|| c.collect(&mut sink)));
            if let Err(payload) = result {
                snapshot.state.rollback_collector();
                errors.push(CollectError::Panicked {
                    message: panic_message(payload.as_ref()),
                });
            }
        }
        snapshot.finish(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(GatherError {
                errors,
                partial: Box::default(),
            })
        }
    }
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

/// A prefix and labels applied to every descriptor of a wrapped collector.
pub(crate) struct Wrap {
    prefix: String,
    labels: Vec<LabelPair>,
}

impl Wrap {
    fn new(prefix: &str, labels: &[(&str, &str)]) -> Result<Self, DescError> {
        if !prefix.is_empty() && !is_valid_metric_name(prefix) {
            return Err(DescError::InvalidMetricName {
                name: prefix.to_string(),
            });
        }
        for (name, _) in labels {
            let (metric, label) = (prefix.to_string(), (*name).to_string());
            if !is_valid_label_name(name) {
                return Err(DescError::InvalidLabelName { metric, label });
            }
            if name.starts_with("__") {
                return Err(DescError::ReservedLabelName { metric, label });
            }
        }
        Ok(Self {
            prefix: prefix.to_string(),
            labels: labels.iter().map(|(n, v)| LabelPair::new(*n, *v)).collect(),
        })
    }

    fn combine(&self, inner: &Self) -> Self {
        let mut labels = inner.labels.clone();
        labels.extend(self.labels.iter().cloned());
        Self {
            // As client_golang: the wrapper nearest the registry comes first.
            prefix: format!("{}{}", inner.prefix, self.prefix),
            labels,
        }
    }

    /// `desc` with the prefix and labels applied (a new descriptor).
    pub(crate) fn map(&self, desc: &Desc) -> Result<Desc, DescError> {
        desc.wrapped(&self.prefix, &self.labels)
    }
}

struct WrappingCollector {
    inner: Arc<dyn Collector>,
    wrap: Arc<Wrap>,
    /// Original descriptor to wrapped descriptor, built at registration.
    table: Vec<(Desc, Desc)>,
}

impl Collector for WrappingCollector {
    fn describe(&self) -> Vec<Desc> {
        self.table.iter().map(|(_, w)| w.clone()).collect()
    }

    fn collect(&self, out: &mut MetricSink<'_>) {
        let table = WrapTable {
            wrap: &self.wrap,
            table: &self.table,
        };
        out.with_wrap(&table, |out| self.inner.collect(out));
    }
}

/// What a sink consults to rewrite descriptors under a wrapper.
pub(crate) struct WrapTable<'a> {
    wrap: &'a Wrap,
    table: &'a [(Desc, Desc)],
}

impl WrapTable<'_> {
    /// The wrapped descriptor of `desc`, from the table built at
    /// registration, or built now for a descriptor not described then.
    pub(crate) fn map(&self, desc: &Desc) -> Result<Desc, DescError> {
        match self.table.iter().find(|(o, _)| o.ptr_eq(desc)) {
            Some((_, w)) => Ok(w.clone()),
            None => self.wrap.map(desc),
        }
    }
}

/// A view of a [`Registry`] that adds a name prefix and const labels to
/// everything registered through it. See [`Registry::wrap`].
#[derive(Clone)]
pub struct WrappedRegistry {
    registry: Registry,
    wrap: Arc<Wrap>,
}

impl fmt::Debug for WrappedRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedRegistry")
            .field("prefix", &self.wrap.prefix)
            .field("labels", &self.wrap.labels)
            .finish_non_exhaustive()
    }
}

impl WrappedRegistry {
    /// Registers `collector` with the prefix and labels applied.
    ///
    /// # Errors
    ///
    /// As [`Registry::register`], and [`RegisterError::Desc`] if a wrapped
    /// descriptor is invalid (a label added twice, say).
    pub fn register<C: Collector>(&self, collector: C) -> Result<(), RegisterError> {
        let original = Arc::new(collector);
        let mut table = Vec::new();
        for d in original.describe() {
            let w = self.wrap.map(&d)?;
            table.push((d, w));
        }
        let descs: Vec<Desc> = table.iter().map(|(_, w)| w.clone()).collect();
        let wrapping = WrappingCollector {
            inner: original.clone(),
            wrap: self.wrap.clone(),
            table,
        };
        self.registry
            .register_entry(Arc::new(wrapping), original, &descs)
    }

    /// Unregisters a collector registered through this view; whether one
    /// was found.
    pub fn unregister(&self, collector: &dyn Collector) -> bool {
        let descs: Result<Vec<Desc>, _> = collector
            .describe()
            .iter()
            .map(|d| self.wrap.map(d))
            .collect();
        descs.is_ok_and(|d| self.registry.unregister_descs(&d))
    }

    /// A further view that adds its labels and its prefix, placed after
    /// this view's prefix: `registry.wrap("db_")?.wrap("app_")?` registers
    /// `x` as `db_app_x`, as nested client_golang wrappers do (the wrapper
    /// nearest the registry comes first).
    ///
    /// # Errors
    ///
    /// As [`Registry::wrap`].
    pub fn wrap(&self, prefix: &str, labels: &[(&str, &str)]) -> Result<Self, DescError> {
        let outer = Wrap::new(prefix, labels)?;
        Ok(Self {
            registry: self.registry.clone(),
            wrap: Arc::new(outer.combine(&self.wrap)),
        })
    }
}

/// Per-family bookkeeping of one gather, parallel to `Snapshot::families`.
#[derive(Debug, Default, Clone, Copy)]
struct Book {
    /// Series written so far in this gather.
    fill: usize,
    /// The gather that last touched the family.
    gather: u64,
    /// The collector call that last touched the family.
    collector: u64,
    /// Collector calls that reported series of the family in this gather.
    sources: u32,
    /// Whether series may be out of order or repeated: pushed one by one, or
    /// a run that did not start the family.
    unsorted: bool,
    /// The run that started the family in this gather, if a family's
    /// children filled it: see [`RunKey`].
    run: Option<RunKey>,
    /// The run that alone filled the family in the last gather, whose
    /// series (and so their labels) are still in place.
    prev_run: Option<RunKey>,
}

impl Book {
    /// The family's first series of gather `gather`.
    #[inline]
    fn start(&mut self, gather: u64) {
        self.gather = gather;
        self.fill = 0;
        self.sources = 0;
        self.unsorted = false;
    }
}

/// Which children filled a run of series: a family's id, the version of
/// its sorted children, and their number. Children and their label values
/// never change within a version, so the same key in two gathers means the
/// same labels in the same order.
pub(crate) type RunKey = (u64, u64, usize);

/// The names a histogram owns besides its own, in the order collisions
/// with them are checked (a summary owns the last two).
const OWNED_SUFFIXES: [&str; 3] = ["_bucket", "_count", "_sum"];

/// The reusable state behind [`Snapshot`]: name index and bookkeeping.
#[derive(Default)]
pub(crate) struct GatherState {
    index: HashMap<Arc<str>, usize>,
    book: Vec<Book>,
    gather: u64,
    collector: u64,
    /// `(family, fill before)` for families the current collector touched.
    touched: Vec<(usize, usize)>,
    layout_dirty: bool,
    /// `(p, q, suffix)`: family `q` is named as family `p` plus
    /// [`OWNED_SUFFIXES`]`[suffix]`, a name that `p` owns if it is a
    /// histogram or summary. Found from the names in `index` alone (a
    /// family's type may change from one gather to the next), sorted as
    /// the checks run, and found again only after `index` changed.
    suffixed: Vec<(usize, usize, usize)>,
    suffixed_stale: bool,
    /// Per family, parallel to `Snapshot::families`: its series' label
    /// blocks rendered as the text formats write them, so encoding copies
    /// them instead of escaping label values on every scrape.
    texts: Vec<LabelText>,
    /// A protobuf encode asked for the label fields: render them from the
    /// next gather on (a snapshot never encoded as protobuf skips them).
    protobuf_wanted: AtomicBool,
}

/// The rendered label blocks of one family's series, back to back, each
/// closed as a sample line continues after the name (`{a="x",b="y"} `, or
/// a space for no labels; see [`LabelTexts`]).
#[derive(Default)]
struct LabelText {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// A series' labels changed since the last rendering.
    stale: bool,
    /// The family's `# HELP` and `# TYPE` lines.
    header: Vec<u8>,
    /// The same in OpenMetrics, for the type its name implies.
    om_header: Vec<u8>,
    /// The name, help and type `header` was rendered from.
    header_of: Option<(Arc<str>, Arc<str>, MetricType)>,
    /// Per series, its labels as protobuf `Metric.label` fields and its
    /// value's created-timestamp field, back to back; rendered with `bytes`
    /// once a protobuf encode asked for them.
    protobuf: Vec<u8>,
    protobuf_ends: Vec<usize>,
    protobuf_series: Vec<ProtobufSeries>,
    /// The family's name is outside the legacy set (as of `header_of`),
    /// or a series' label name is (as of the last label rendering): the
    /// encoders then escape or quote the family, and nothing rendered here
    /// is handed out.
    utf8_name: bool,
    utf8_labels: bool,
}

impl fmt::Debug for GatherState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GatherState")
            .field("families", &self.index.len())
            .finish_non_exhaustive()
    }
}

impl GatherState {
    fn begin(&mut self) {
        self.gather += 1;
    }

    fn begin_collector(&mut self) {
        self.collector += 1;
        self.touched.clear();
    }

    fn rollback_collector(&mut self) {
        for &(p, fill) in &self.touched {
            let b = &mut self.book[p];
            b.fill = fill;
            b.run = None;
            if fill == 0 {
                // Nothing of the family survives from this gather: let the
                // next collector set its help and type afresh.
                b.gather = 0;
            }
        }
        self.touched.clear();
    }

    /// The family of `desc`, counting the current collector call among its
    /// sources; `None` (with an error recorded) if the descriptor disagrees
    /// with the family.
    ///
    /// The common case is inline: the descriptor's slot hint names a family
    /// whose name is the descriptor's own `Arc` (both alive, so the same
    /// string), with the same help and type. Nothing is cloned: a cached
    /// `Desc` clone of the last descriptor cost two locked reference-count
    /// operations per family, every gather.
    #[inline]
    fn enter(
        &mut self,
        families: &mut Vec<MetricFamily>,
        desc: &Desc,
        errors: &mut Vec<CollectError>,
    ) -> Option<usize> {
        let hint = desc.slot_hint();
        let known = families.get(hint).is_some_and(|fam| {
            Arc::ptr_eq(&fam.name, desc.name_arc())
                && Arc::ptr_eq(&fam.help, desc.help_arc())
                && fam.metric_type == desc.metric_type()
        });
        let p = match self.book.get_mut(hint) {
            Some(b) if known => {
                if b.gather != self.gather {
                    b.start(self.gather);
                }
                hint
            }
            _ => self.family_for(families, desc, errors)?,
        };
        let b = &mut self.book[p];
        if b.collector != self.collector {
            b.collector = self.collector;
            b.sources += 1;
            self.touched.push((p, b.fill));
        }
        Some(p)
    }

    /// The next series slot of the family of `desc`, for a series reported
    /// on its own (a const metric), or `None` (with an error recorded) if
    /// the descriptor disagrees with the family.
    pub(crate) fn slot<'f>(
        &mut self,
        families: &'f mut Vec<MetricFamily>,
        desc: &Desc,
        errors: &mut Vec<CollectError>,
    ) -> Option<(usize, &'f mut Metric)> {
        let p = self.enter(families, desc, errors)?;
        let b = &mut self.book[p];
        // Series pushed one by one carry no promise of order.
        b.unsorted = true;
        let i = b.fill;
        b.fill += 1;
        let metrics = &mut families[p].metrics;
        if i == metrics.len() {
            metrics.push(empty_metric());
        }
        Some((p, &mut metrics[i]))
    }

    /// The next `n` series slots of the family of `desc`, for a family's
    /// sorted, unique children identified by `key` (`None`: not known to
    /// be the same as last time, as under a wrapping registry).
    /// Also returns whether the slots already hold those children's labels
    /// from the last gather, and the family's label-text staleness flag.
    /// `None` (with an error recorded) if the descriptor disagrees with
    /// the family.
    pub(crate) fn run<'f>(
        &'f mut self,
        families: &'f mut Vec<MetricFamily>,
        desc: &Desc,
        n: usize,
        key: Option<RunKey>,
        errors: &mut Vec<CollectError>,
    ) -> Option<(&'f mut [Metric], bool, &'f mut bool)> {
        let p = self.enter(families, desc, errors)?;
        let b = &mut self.book[p];
        let start = b.fill;
        // Children are sorted and unique among themselves, not against
        // series already written to the family in this gather.
        b.unsorted |= start != 0;
        let current = start == 0 && key.is_some() && b.prev_run == key;
        b.run = if start == 0 { key } else { None };
        b.fill += n;
        let metrics = &mut families[p].metrics;
        if metrics.len() < start + n {
            metrics.resize_with(start + n, empty_metric);
        }
        Some((
            &mut metrics[start..start + n],
            current,
            &mut self.texts[p].stale,
        ))
    }

    /// Marks the rendered labels of family `p` out of date.
    pub(crate) fn labels_changed(&mut self, p: usize) {
        self.texts[p].stale = true;
    }

    /// Fills `suffixed` from the names in `index`: a lookup only for names
    /// that end in one of the suffixes, none for the others.
    #[cold]
    fn find_suffixed(&mut self) {
        self.suffixed.clear();
        for (name, &q) in &self.index {
            for (suffix, s) in OWNED_SUFFIXES.iter().enumerate() {
                if let Some(&p) = name.strip_suffix(s).and_then(|base| self.index.get(base)) {
                    self.suffixed.push((p, q, suffix));
                }
            }
        }
        // The order of the families, then of the suffixes: collisions are
        // reported in that order.
        self.suffixed
            .sort_unstable_by_key(|&(p, _, suffix)| (p, suffix));
        self.suffixed_stale = false;
    }

    #[cold]
    fn family_for(
        &mut self,
        families: &mut Vec<MetricFamily>,
        desc: &Desc,
        errors: &mut Vec<CollectError>,
    ) -> Option<usize> {
        let hint = desc.slot_hint();
        let p = if families
            .get(hint)
            .is_some_and(|f| Arc::ptr_eq(&f.name, desc.name_arc()) || *f.name == *desc.fq_name())
        {
            hint
        } else {
            let p = match self.index.get(desc.fq_name()) {
                Some(&p) => p,
                None => {
                    let p = families.len();
                    families.push(MetricFamily {
                        name: desc.name_arc().clone(),
                        help: desc.help_arc().clone(),
                        metric_type: desc.metric_type(),
                        unit: None,
                        metrics: Vec::new(),
                    });
                    self.book.push(Book::default());
                    self.texts.push(LabelText {
                        stale: true,
                        ..LabelText::default()
                    });
                    self.index.insert(desc.name_arc().clone(), p);
                    self.suffixed_stale = true;
                    self.layout_dirty = true;
                    p
                }
            };
            desc.set_slot_hint(p);
            p
        };
        let fam = &mut families[p];
        let b = &mut self.book[p];
        if b.gather != self.gather {
            b.start(self.gather);
            if !Arc::ptr_eq(&fam.help, desc.help_arc()) {
                fam.help = desc.help_arc().clone();
            }
            fam.metric_type = desc.metric_type();
        } else {
            let differs = if fam.metric_type != desc.metric_type() {
                "type"
            } else if !Arc::ptr_eq(&fam.help, desc.help_arc()) && *fam.help != *desc.help() {
                "help"
            } else {
                return Some(p);
            };
            errors.push(CollectError::Inconsistent {
                metric: desc.fq_name().to_string(),
                differs,
            });
            return None;
        }
        Some(p)
    }
}

impl Snapshot {
    /// Ends a gather: truncates, sorts and checks series, drops empty and
    /// colliding families, and keeps families sorted by name.
    fn finish(&mut self, errors: &mut Vec<CollectError>) {
        let st = &mut self.state;
        let mut visible = 0;
        for (p, fam) in self.families.iter_mut().enumerate() {
            let b = &st.book[p];
            let n = if b.gather == st.gather { b.fill } else { 0 };
            fam.metrics.truncate(n);
            // One collector call that promised sorted, unique series (a
            // family's children) needs no check.
            if n > 1 && (b.sources != 1 || b.unsorted) && sort_and_dedup(fam, errors) {
                st.texts[p].stale = true;
            }
            let was_visible = p < self.visible;
            if was_visible == fam.metrics.is_empty() {
                st.layout_dirty = true;
            }
            visible += usize::from(!fam.metrics.is_empty());
        }
        // Histograms and summaries own `<name>_bucket`, `_count` and `_sum`.
        // (Runs are re-keyed after this, as a collision empties a family.)
        if st.suffixed_stale {
            st.find_suffixed();
        }
        for &(p, q, suffix) in &st.suffixed {
            let owns = match self.families[p].metric_type {
                MetricType::Histogram => true,
                MetricType::Summary => OWNED_SUFFIXES[suffix] != "_bucket",
                _ => false,
            };
            if owns && !self.families[p].metrics.is_empty() && !self.families[q].metrics.is_empty()
            {
                errors.push(CollectError::NameCollision {
                    metric: self.families[q].name.to_string(),
                    with: self.families[p].name.to_string(),
                });
                self.families[q].metrics.clear();
                visible -= 1;
                st.layout_dirty = true;
            }
        }
        for (b, fam) in st.book.iter_mut().zip(&self.families) {
            // A run's series survive to the next gather as they are if it
            // alone filled the family: no other series, no sort.
            b.prev_run = b.run.take().filter(|r| {
                b.gather == st.gather && b.sources == 1 && !b.unsorted && fam.metrics.len() == r.2
            });
        }
        if st.layout_dirty {
            // Keep families that were visible before as spares; drop those
            // empty twice in a row.
            let old_visible = self.visible;
            let mut p = 0;
            self.families.retain(|f| {
                let keep = !f.metrics.is_empty() || p < old_visible;
                p += 1;
                keep
            });
            self.families
                .sort_by(|a, b| match (a.metrics.is_empty(), b.metrics.is_empty()) {
                    (false, true) => Ordering::Less,
                    (true, false) => Ordering::Greater,
                    _ => a.name.cmp(&b.name),
                });
            st.index.clear();
            for (p, f) in self.families.iter().enumerate() {
                st.index.insert(f.name.clone(), p);
            }
            st.suffixed_stale = true;
            st.book.clear();
            st.book.resize(self.families.len(), Book::default());
            st.texts.clear();
            st.texts.resize_with(self.families.len(), || LabelText {
                stale: true,
                ..LabelText::default()
            });
            st.layout_dirty = false;
        }
        self.visible = visible;
        let wants_protobuf = st.protobuf_wanted.load(Relaxed);
        for (fam, t) in self.families[..visible].iter().zip(st.texts.iter_mut()) {
            let current = t.header_of.as_ref().is_some_and(|(name, help, ty)| {
                Arc::ptr_eq(name, &fam.name)
                    && Arc::ptr_eq(help, &fam.help)
                    && *ty == fam.metric_type
            });
            if !current {
                t.utf8_name = !is_valid_metric_name(&fam.name);
                t.header.clear();
                write_header(&mut t.header, fam);
                t.om_header.clear();
                openmetrics::write_usual_header(&mut t.om_header, fam);
                t.header_of = Some((fam.name.clone(), fam.help.clone(), fam.metric_type));
            }
            let n = fam.metrics.len();
            if t.stale || t.ends.len() != n || (wants_protobuf && t.protobuf_series.len() != n) {
                t.bytes.clear();
                t.ends.clear();
                t.utf8_labels = false;
                let mut prev = None;
                for m in &fam.metrics {
                    write_labels_open(&mut t.bytes, &m.labels);
                    if !m.labels.is_empty() {
                        t.bytes.push(b'}');
                    }
                    t.bytes.push(b' ');
                    t.ends.push(t.bytes.len());
                    t.utf8_labels |= !escape::labels_legacy(m, prev);
                    prev = Some(m);
                }
                t.protobuf.clear();
                t.protobuf_ends.clear();
                t.protobuf_series.clear();
                if wants_protobuf {
                    for m in &fam.metrics {
                        let start = t.protobuf.len();
                        protobuf::write_labels(&mut t.protobuf, &m.labels);
                        let labels_len = t.protobuf.len() - start;
                        let created = protobuf::write_created_field(&mut t.protobuf, &m.value);
                        t.protobuf_ends.push(t.protobuf.len());
                        t.protobuf_series.push(ProtobufSeries {
                            labels_len,
                            created,
                        });
                    }
                }
                t.stale = false;
            }
        }
    }

    /// The rendered `# HELP` and `# TYPE` lines of the `family`-th
    /// family.
    pub(crate) fn header_text(&self, family: usize) -> Option<&[u8]> {
        self.families().get(family)?;
        let t = self.state.texts.get(family)?;
        if t.utf8_name || t.utf8_labels {
            return None;
        }
        t.header_of.as_ref().map(|_| &t.header[..])
    }

    /// The `family`-th family's OpenMetrics header, for the type its name
    /// implies.
    pub(crate) fn header_text_om(&self, family: usize) -> Option<&[u8]> {
        self.families().get(family)?;
        let t = self.state.texts.get(family)?;
        if t.utf8_name || t.utf8_labels {
            return None;
        }
        t.header_of.as_ref().map(|_| &t.om_header[..])
    }

    /// The rendered label blocks of the `family`-th family's series, if up
    /// to date.
    pub(crate) fn label_texts(&self, family: usize) -> Option<LabelTexts<'_>> {
        let fam = self.families().get(family)?;
        let t = self.state.texts.get(family)?;
        if t.stale || t.ends.len() != fam.metrics.len() || t.utf8_name || t.utf8_labels {
            return None;
        }
        Some(LabelTexts {
            bytes: &t.bytes,
            ends: &t.ends,
        })
    }

    /// The `family`-th family's series' protobuf label and created
    /// fields, if rendered and up to date; if not, asks the next gathers to
    /// render them.
    pub(crate) fn protobuf_texts(&self, family: usize) -> Option<ProtobufTexts<'_>> {
        let fam = self.families().get(family)?;
        let t = self.state.texts.get(family)?;
        if t.utf8_name || t.utf8_labels {
            return None;
        }
        if t.stale || t.protobuf_series.len() != fam.metrics.len() {
            self.state.protobuf_wanted.store(true, Relaxed);
            return None;
        }
        Some(ProtobufTexts {
            chunks: Chunks {
                bytes: &t.protobuf,
                ends: &t.protobuf_ends,
            },
            series: &t.protobuf_series,
        })
    }
}

/// How one series' rendered protobuf fields in `LabelText::protobuf`
/// divide.
#[derive(Clone, Copy)]
pub(crate) struct ProtobufSeries {
    /// Bytes of label fields; the created field follows.
    labels_len: usize,
    /// The created time the created field was rendered from: a value may
    /// carry another one in the next gather (a const metric's, for one)
    /// without its labels changing.
    created: Option<SystemTime>,
}

/// One family's rendered protobuf fields: per series, a chunk of label
/// fields then the created field.
#[derive(Clone, Copy)]
pub(crate) struct ProtobufTexts<'a> {
    chunks: Chunks<'a>,
    series: &'a [ProtobufSeries],
}

impl<'a> ProtobufTexts<'a> {
    /// Series `i`'s label fields, and its created-timestamp field with the
    /// time it was rendered from.
    #[inline]
    pub(crate) fn get(self, i: usize) -> Option<(&'a [u8], Option<SystemTime>, &'a [u8])> {
        let s = self.series.get(i)?;
        let chunk = self.chunks.get(i)?;
        let (labels, created) = chunk.split_at_checked(s.labels_len)?;
        Some((labels, s.created, created))
    }
}

/// Byte strings back to back: string `i` is `bytes[ends[i - 1]..ends[i]]`.
#[derive(Clone, Copy)]
struct Chunks<'a> {
    bytes: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Chunks<'a> {
    /// String `i`.
    #[inline]
    fn get(self, i: usize) -> Option<&'a [u8]> {
        let start = match i.checked_sub(1) {
            None => 0,
            Some(prev) => *self.ends.get(prev)?,
        };
        self.bytes.get(start..*self.ends.get(i)?)
    }
}

/// One family's rendered label blocks, each closed as a sample line
/// continues after its name: `{a="x",b="y"} `, or ` ` for no labels.
#[derive(Clone, Copy)]
pub(crate) struct LabelTexts<'a> {
    bytes: &'a [u8],
    ends: &'a [usize],
}

impl<'a> LabelTexts<'a> {
    /// Series `i`'s label block, open: `{a="x",b="y"` without the closing
    /// brace and space, empty for no labels.
    #[inline]
    pub(crate) fn get(self, i: usize) -> Option<&'a [u8]> {
        Some(open(Chunks::from(self).get(i)?))
    }

    /// The closed blocks in order (`{a="x"} `, or ` `).
    #[inline]
    pub(crate) fn closed(self) -> impl Iterator<Item = &'a [u8]> {
        let (mut rest, mut start) = (self.bytes, 0);
        self.ends.iter().map(move |&end| {
            // Ends only grow and stay within the bytes: rendered so.
            let (block, after) = rest.split_at(end - start);
            (rest, start) = (after, end);
            block
        })
    }

    /// The bytes of series `from .. from + n`'s closed blocks together.
    #[inline]
    pub(crate) fn span(self, from: usize, n: usize) -> usize {
        let at = |i: usize| {
            i.checked_sub(1)
                .map_or(0, |i| self.ends.get(i).copied().unwrap_or(0))
        };
        at(from + n).saturating_sub(at(from))
    }
}

impl<'a> From<LabelTexts<'a>> for Chunks<'a> {
    fn from(t: LabelTexts<'a>) -> Self {
        Chunks {
            bytes: t.bytes,
            ends: t.ends,
        }
    }
}

/// A closed label block opened: without its `} `, or empty for ` `.
#[inline]
fn open(closed: &[u8]) -> &[u8] {
    closed
        .get(..closed.len().saturating_sub(2))
        .unwrap_or_default()
}

fn empty_metric() -> Metric {
    Metric {
        labels: Box::default(),
        value: Value::Untyped(0.0),
        timestamp_ms: None,
    }
}

/// Orders series by label values (then names, then timestamp) and drops
/// later series with the same labels: a timestamp does not make a series
/// distinct, as in client_golang. Whether the series moved.
fn sort_and_dedup(fam: &mut MetricFamily, errors: &mut Vec<CollectError>) -> bool {
    let ms = &mut fam.metrics;
    let mut sorted = true;
    let mut dup = false;
    for w in ms.windows(2) {
        match cmp_labels(&w[0], &w[1]) {
            Ordering::Less => {}
            Ordering::Equal => {
                dup = true;
                sorted &= w[0].timestamp_ms <= w[1].timestamp_ms;
            }
            Ordering::Greater => sorted = false,
        }
        if !sorted {
            break;
        }
    }
    if !sorted {
        ms.sort_by(|a, b| cmp_labels(a, b).then_with(|| a.timestamp_ms.cmp(&b.timestamp_ms)));
        dup = ms
            .windows(2)
            .any(|w| cmp_labels(&w[0], &w[1]) == Ordering::Equal);
    }
    if dup {
        let name = fam.name.clone();
        ms.dedup_by(|later, earlier| {
            let same = cmp_labels(earlier, later) == Ordering::Equal;
            if same {
                let labels = later
                    .labels
                    .iter()
                    .map(|l| format!("{}={:?}", l.name, &*l.value))
                    .collect::<Vec<_>>()
                    .join(",");
                errors.push(CollectError::DuplicateSeries {
                    metric: name.to_string(),
                    labels,
                });
            }
            same
        });
    }
    !sorted || dup
}

/// Label values in order, then label names.
fn cmp_labels(a: &Metric, b: &Metric) -> Ordering {
    a.labels
        .iter()
        .map(|l| &*l.value)
        .cmp(b.labels.iter().map(|l| &*l.value))
        .then_with(|| {
            a.labels
                .iter()
                .map(|l| &*l.name)
                .cmp(b.labels.iter().map(|l| &*l.name))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector::{ConstMetric, FnCollector};

    /// Descriptors that share their name's `Arc` but not their help or
    /// type (the public constructors share a name only with the same help
    /// and type): the slot hint must not pass them as the same family.
    #[test]
    fn a_shared_name_with_other_help_or_type_is_inconsistent() {
        let name: Arc<str> = Arc::from("thing");
        let help: Arc<str> = Arc::from("First help.");
        let desc = |kind, help: &Arc<str>| {
            Desc::build(
                kind,
                name.clone(),
                help.clone(),
                Vec::new(),
                Vec::new(),
                NameValidation::Legacy,
            )
            .unwrap()
        };
        let first = desc(MetricType::Gauge, &help);
        let other_help = desc(MetricType::Gauge, &Arc::from("Second help."));
        let other_type = desc(MetricType::Counter, &help);
        let registry = Registry::new();
        for (d, v) in [(first, 1.0), (other_help, 2.0), (other_type, 3.0)] {
            registry
                .register(FnCollector::new(vec![], move |out| {
                    let m = match d.metric_type() {
                        MetricType::Counter => ConstMetric::counter(&d, v, &[]),
                        _ => ConstMetric::gauge(&d, v, &[]),
                    };
                    out.push(&m.unwrap());
                }))
                .unwrap();
        }
        // Twice: the second gather finds the hint set by the first.
        for _ in 0..2 {
            let err = registry.gather().unwrap_err();
            let got: Vec<&str> = err
                .errors()
                .iter()
                .map(|e| match e {
                    CollectError::Inconsistent { differs, .. } => *differs,
                    other => panic!("expected Inconsistent, got {other:?}"),
                })
                .collect();
            assert_eq!(got, ["help", "type"]);
            let fam = err.partial().family("thing").unwrap();
            assert_eq!(&*fam.help, "First help.");
            assert_eq!(fam.metrics.len(), 1);
        }
    }
}
