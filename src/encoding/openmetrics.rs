//! The OpenMetrics 1.0 text format.
//!
//! Output follows client_golang's OpenMetrics encoder (prometheus/common
//! `expfmt`) for the same families: `# HELP` (escaping `\`, newline and
//! `"`) and `# TYPE` name a counter without its `_total` suffix, untyped
//! families are `unknown`, numbers are Go's shortest `'g'` with `.0` added
//! to whole numbers (`1.0`, `le="10.0"`, but `1e+06`), timestamps are in
//! seconds, and the exposition ends with `# EOF`.
//!
//! Where client_golang would write something a strict OpenMetrics parser
//! refuses, this encoder writes a valid equivalent instead, and every such
//! rule is listed on [`encode`]. The exposition is checked against the
//! official Python client's strict parser.

use std::time::SystemTime;

use crate::desc::{is_valid_label_name, is_valid_metric_name, MetricType};
use crate::encoding::escape;
use crate::encoding::format::{write_escaped_label_value, write_float_om, write_u64, FLOAT_OM_MAX};
use crate::encoding::negotiate::Escaping;
use crate::encoding::room::{Out, Room};
use crate::encoding::text::{
    bucket_prefix, check_label_names, escaped_help, head, head_len, label_block, write_header_name,
    LeCache, Scratch,
};
use crate::encoding::Families;
use crate::error::EncodeError;
use crate::registry::LabelTexts;
use crate::snapshot::{
    Exemplar, HistogramValue, LabelPair, Metric, MetricFamily, SummaryValue, Value,
};

/// The `Content-Type` of this format.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The most characters of exemplar label names and values OpenMetrics
/// allows; exemplars with more are left out.
pub const EXEMPLAR_LABELS_MAX: usize = 128;

/// What the OpenMetrics encoder writes beyond the samples.
///
/// # Examples
///
/// ```
/// use promclient::encoding::openmetrics::{encode_with, Options};
/// use promclient::{Counter, Registry};
///
/// let registry = Registry::new();
/// registry.register(Counter::new("jobs_total", "Jobs run.")?)?;
/// let mut out = Vec::new();
/// encode_with(&registry.gather()?, &mut out, Options::new().created(true))?;
/// let text = String::from_utf8(out)?;
/// assert!(text.contains("\njobs_total 0.0\njobs_created 1."));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    created: bool,
    escaping: Escaping,
}

impl Options {
    /// The defaults, as client_golang's: no `_created` lines, names outside
    /// the legacy character set escaped with underscores.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            created: false,
            escaping: Escaping::Underscores,
        }
    }

    /// How names outside the legacy character set are written: quoted
    /// under [`Escaping::AllowUtf8`] (`{"my.metric_total"} 1.0`), else
    /// rewritten as
    /// [`text::encode_escaped`](crate::encoding::text::encode_escaped)
    /// describes. Families whose names are all legacy are the same in
    /// every scheme.
    #[must_use]
    pub const fn escaping(mut self, escaping: Escaping) -> Self {
        self.escaping = escaping;
        self
    }

    /// Whether counters, histograms and summaries that know when they were
    /// created get a `_created` line (client_golang's
    /// `EnableOpenMetricsTextCreatedSamples`). Off by default: Prometheus
    /// ingests each as a series of its own.
    #[must_use]
    pub const fn created(mut self, on: bool) -> Self {
        self.created = on;
        self
    }
}

/// Appends the OpenMetrics exposition of `families` to `out`, ending with
/// `# EOF`, with the default [`Options`].
///
/// Families without series are skipped. Reuse `out` across scrapes (after
/// `clear()`) to keep its capacity.
///
/// What client_golang would write invalidly, and what is written instead:
///
/// - a counter whose name lacks `_total`, or with a negative or NaN value
///   (a hand-built one: [`Counter`](crate::Counter) refuses both), is
///   typed `unknown` under its full name, as client_golang does for the
///   first, and so loses its exemplars and `_created` lines;
/// - a histogram series with a negative bucket bound, or with a negative or
///   NaN sum, leaves out `_sum` and `_count` (OpenMetrics keeps them
///   counter-like; the `+Inf` bucket still carries the count); a summary
///   series with a negative or NaN sum leaves out `_sum`, and its quantile
///   lines with a negative value are left out;
/// - an exemplar without labels, whose label names and values are longer
///   than [`EXEMPLAR_LABELS_MAX`] characters, or with a `"` in a label
///   value (which the Python client's parser misreads even escaped), is
///   left out;
/// - a counter `a_total` beside a family named `a` (a gauge, say: the
///   registry allows both, OpenMetrics cannot name both `a`) is typed
///   `unknown` under its full name, as if it lacked `_total`;
/// - `# UNIT` is written when the family has a unit and its name ends with
///   `_` and the unit (client_golang writes none unless asked, and then
///   renames series); series are never renamed;
/// - a `_created` line carries its series' timestamp, if the series has
///   one, as the series' other lines do (OpenMetrics parsers refuse a
///   series whose lines mix timestamps and none).
///
/// # Errors
///
/// [`EncodeError`] if a family or label name is invalid, a series' value
/// does not match its family's type, a histogram's buckets are out of
/// order or NaN, a summary has a quantile outside `[0, 1]`, or two
/// families would expose the same OpenMetrics sample name (a gauge
/// `a_count` and a histogram `a`). What was written before the problem stays in `out`;
/// name clashes are found before anything is written.
///
/// # Examples
///
/// ```
/// use promclient::{CounterVec, Registry};
///
/// let registry = Registry::new();
/// let requests = CounterVec::new("http_requests_total", "Requests \"served\".", ["code"])?;
/// registry.register(requests.clone())?;
/// requests.with_label_values(["200"]).inc_by(3);
/// let mut out = Vec::new();
/// promclient::encoding::openmetrics::encode(&registry.gather()?, &mut out)?;
/// assert_eq!(
///     String::from_utf8(out)?,
///     "# HELP http_requests Requests \\\"served\\\".\n\
///      ## TYPE http_requests counter\n\
///      http_requests_total{code=\"200\"} 3.0\n\
///      ## EOF\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode<F: Families + ?Sized>(families: &F, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    encode_with(families, out, Options::new())
}

/// As [`encode`], with [`Options`].
///
/// # Errors
///
/// As [`encode`].
pub fn encode_with<F: Families + ?Sized>(
    families: &F,
    out: &mut Vec<u8>,
    options: Options,
) -> Result<(), EncodeError> {
    let all = families.families();
    let demoted = check_clashes(families, options.escaping)?;
    let mut scratch = Scratch::default();
    for (p, family) in all.iter().enumerate() {
        // A header rendered by a gather means validated names.
        let headers = (families.header_text(p), families.header_text_om(p));
        let texts = families.label_texts(p);
        let demoted = demoted.contains(&p);
        escape::with_escaping(family, options.escaping, out, |family, as_is, utf8, out| {
            let family = Family { family, demoted };
            let (headers, texts) = if as_is {
                (headers, texts)
            } else {
                ((None, None), None)
            };
            encode_family(family, headers, texts, options, utf8, out, &mut scratch)
        })?;
    }
    out.extend_from_slice(b"# EOF\n");
    Ok(())
}

/// How a family is exposed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Unknown,
    Histogram,
    Summary,
}

impl Kind {
    /// The kind a family's type and name imply, whatever its values.
    fn usual(family: &MetricFamily) -> Self {
        match family.metric_type {
            MetricType::Counter if family.name.ends_with("_total") => Self::Counter,
            MetricType::Counter | MetricType::Untyped => Self::Unknown,
            MetricType::Gauge => Self::Gauge,
            MetricType::Histogram => Self::Histogram,
            MetricType::Summary => Self::Summary,
        }
    }

    /// How a family is exposed: as [`Kind::usual`], unless a counter holds
    /// a value OpenMetrics refuses for counters.
    fn of(family: &MetricFamily) -> Self {
        Self::named(family, &family.name)
    }

    /// As [`Kind::of`], for the family written under `name`.
    fn named(family: &MetricFamily, name: &str) -> Self {
        match family.metric_type {
            MetricType::Counter => {
                let countable = family.metrics.iter().all(|m| match &m.value {
                    Value::Counter(c) => c.value >= 0.0,
                    _ => true,
                });
                if countable && name.ends_with("_total") {
                    Self::Counter
                } else {
                    Self::Unknown
                }
            }
            MetricType::Gauge => Self::Gauge,
            MetricType::Untyped => Self::Unknown,
            MetricType::Histogram => Self::Histogram,
            MetricType::Summary => Self::Summary,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Unknown => "unknown",
            Self::Histogram => "histogram",
            Self::Summary => "summary",
        }
    }

    /// What this kind's samples add to the family's OpenMetrics name.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Self::Counter => &["_total", "_created"],
            Self::Gauge | Self::Unknown => &[""],
            Self::Histogram => &["_bucket", "_count", "_sum", "_created"],
            Self::Summary => &["", "_count", "_sum", "_created"],
        }
    }
}

/// The family's name in `# HELP`, `# TYPE` and `# UNIT`: a counter's
/// without `_total`.
fn om_name(family: &MetricFamily, kind: Kind) -> &str {
    om_name_of(&family.name, kind)
}

fn om_name_of(name: &str, kind: Kind) -> &str {
    match kind {
        Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    }
}

/// Refuses families that would expose the same sample name, which
/// OpenMetrics parsers reject: the name of one is another's plus one of
/// its suffixes (a gauge `a_count` beside a histogram `a`), or two share
/// one name (a counter `a_total` beside a gauge `a`).
///
/// Such a name starts with the other family's, so in name order the two
/// are neighbours up to the families between them that share that
/// prefix: each family is compared with the run of later families whose
/// names start with its own OpenMetrics name. Input not in name order is
/// sorted by an index first.
///
/// A counter `a_total` beside a family named `a` is not refused: the
/// counter is exposed as `unknown` under its full name, which no other
/// family's samples use. Returns the indexes of the counters demoted so.
///
/// Names are compared as `escaping` writes them: two names may meet once
/// escaped (`a.b` and `a_b` under `underscores`).
fn check_clashes<F: Families + ?Sized>(
    families: &F,
    escaping: Escaping,
) -> Result<Vec<usize>, EncodeError> {
    let all = families.families();
    // Escaping rewrites only names outside the legacy set (a gather
    // renders headers for legacy families only), and quoting makes no
    // name equal to another.
    let rewritten = escaping != Escaping::AllowUtf8
        && all
            .iter()
            .enumerate()
            .any(|(p, f)| families.header_text(p).is_none() && !is_valid_metric_name(&f.name));
    let escaped: Vec<String> = if rewritten {
        all.iter()
            .map(|f| {
                if is_valid_metric_name(&f.name) {
                    f.name.to_string()
                } else {
                    escape::escape_name(&f.name, escaping, false)
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let names = |i: usize| -> &str {
        if rewritten {
            &escaped[i]
        } else {
            &all[i].name
        }
    };
    let mut demoted = Vec::new();
    find_clashes(all, &names, &mut demoted, true)?;
    if !demoted.is_empty() {
        // The demoted counters' new names clash with nothing else.
        find_clashes(all, &names, &mut demoted, false)?;
    }
    Ok(demoted)
}

/// [`check_clashes`] for the families `all` written under `names`.
fn find_clashes<'n>(
    all: &[MetricFamily],
    names: &impl Fn(usize) -> &'n str,
    demoted: &mut Vec<usize>,
    may_demote: bool,
) -> Result<(), EncodeError> {
    let sorted = (1..all.len()).all(|i| names(i - 1) <= names(i));
    let order: Vec<usize> = if sorted {
        Vec::new()
    } else {
        let mut o: Vec<usize> = (0..all.len()).collect();
        o.sort_by(|&a, &b| names(a).cmp(names(b)));
        o
    };
    let index = |i: usize| if sorted { i } else { order[i] };
    let at = |i: usize| &all[index(i)];
    let name = |i: usize| names(index(i));
    let kind = |i: usize, demoted: &[usize]| {
        if demoted.contains(&index(i)) {
            Kind::Unknown
        } else {
            Kind::named(at(i), name(i))
        }
    };
    'families: for i in 0..all.len() {
        let a = at(i);
        if a.metrics.is_empty() {
            continue;
        }
        // The common case, cheaply: no neighbour starts with the shortest
        // name `a` may have, so nothing shares a prefix with it.
        let shortest = match a.metric_type {
            MetricType::Counter => name(i).strip_suffix("_total").unwrap_or(name(i)),
            _ => name(i),
        };
        let alone = (i == 0 || !name(i - 1).starts_with(shortest))
            && (i + 1 == all.len() || !name(i + 1).starts_with(shortest));
        if alone {
            continue;
        }
        let a_kind = kind(i, demoted);
        let a_name = om_name_of(name(i), a_kind);
        // A counter's OpenMetrics name is shorter than its name: families
        // between the two sort before it.
        let mut first = i;
        while first > 0 && name(first - 1).starts_with(a_name) {
            first -= 1;
        }
        let mut j = first;
        while j < all.len() && name(j).starts_with(a_name) {
            let b = at(j);
            let b_kind = kind(j, demoted);
            let b_name = om_name_of(name(j), b_kind);
            j += 1;
            if std::ptr::eq(a, b) || b.metrics.is_empty() {
                continue;
            }
            let same = a_name == b_name;
            let clash = same
                || b_name
                    .strip_prefix(a_name)
                    .is_some_and(|rest| a_kind.suffixes().contains(&rest));
            if !clash {
                continue;
            }
            if may_demote && same && a_kind == Kind::Counter {
                demoted.push(index(i));
                continue 'families;
            }
            if may_demote && same && b_kind == Kind::Counter {
                demoted.push(index(j - 1));
                continue;
            }
            return Err(EncodeError::NameClash {
                first: a.name.to_string(),
                second: b.name.to_string(),
            });
        }
    }
    Ok(())
}

/// A family to write, and whether it is a counter demoted to `unknown`
/// for a name clash.
#[derive(Clone, Copy)]
struct Family<'a> {
    family: &'a MetricFamily,
    demoted: bool,
}

fn encode_family(
    Family { family, demoted }: Family<'_>,
    (text_header, om_header): (Option<&[u8]>, Option<&[u8]>),
    texts: Option<LabelTexts<'_>>,
    options: Options,
    utf8: bool,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
) -> Result<(), EncodeError> {
    if family.metrics.is_empty() {
        return Ok(());
    }
    let validated = text_header.is_some();
    let name = &*family.name;
    let valid = validated || is_valid_metric_name(name) || (utf8 && escape::is_quoted(name));
    if !valid {
        return Err(EncodeError::InvalidName {
            name: name.to_string(),
        });
    }
    let kind = if demoted {
        Kind::Unknown
    } else {
        Kind::of(family)
    };
    match om_header {
        Some(h) if kind == Kind::usual(family) => out.extend_from_slice(h),
        _ => write_header(out, family, kind, text_header),
    }
    let texts = if validated { texts } else { None };
    if let (Some(texts), Kind::Counter | Kind::Gauge | Kind::Unknown) = (texts, kind) {
        return single_line_family(out, family, kind, texts, options);
    }
    let Scratch {
        labels: rendered,
        prefix,
        num,
        le,
    } = scratch;
    let mut prev: Option<&Metric> = None;
    for (i, m) in family.metrics.iter().enumerate() {
        if m.value.metric_type() != family.metric_type {
            return Err(EncodeError::TypeMismatch {
                metric: name.to_string(),
            });
        }
        let text = texts.and_then(|t| t.get(i));
        if text.is_none() {
            check_label_names(m, prev, utf8)?;
        }
        prev = Some(m);
        let labels = label_block(text, &m.labels, rendered, utf8);
        let ts = m.timestamp_ms;
        match &m.value {
            Value::Counter(c) if kind == Kind::Counter => {
                let ex = match c.exemplar.as_deref() {
                    None => None,
                    e => exemplar(e, validated, utf8)?,
                };
                sample(out, name, "", labels, None, Num::Float(c.value), ts, ex);
                if let Some(t) = c.created.filter(|_| options.created) {
                    created(out, om_name(family, kind), labels, t, ts);
                }
            }
            Value::Counter(c) => sample(out, name, "", labels, None, Num::Float(c.value), ts, None),
            Value::Gauge(v) | Value::Untyped(v) => {
                sample(out, name, "", labels, None, Num::Float(*v), ts, None);
            }
            Value::Histogram(h) => {
                let bufs = (&mut *prefix, &mut *le);
                histogram(out, name, labels, ts, h, (validated, utf8), options, bufs)?;
            }
            Value::Summary(s) => summary(out, name, labels, ts, s, options, num)?,
        }
    }
    Ok(())
}

/// The series of a counter, gauge or unknown family with their label text
/// cached: one line each, in a loop of its own.
fn single_line_family(
    out: &mut Vec<u8>,
    family: &MetricFamily,
    kind: Kind,
    texts: LabelTexts<'_>,
    options: Options,
) -> Result<(), EncodeError> {
    let name = &*family.name;
    for (i, m) in family.metrics.iter().enumerate() {
        let (value, counter) = match (&m.value, family.metric_type) {
            (Value::Counter(c), MetricType::Counter) => (c.value, Some(c)),
            (Value::Gauge(v), MetricType::Gauge) | (Value::Untyped(v), MetricType::Untyped) => {
                (*v, None)
            }
            _ => {
                return Err(EncodeError::TypeMismatch {
                    metric: name.to_string(),
                })
            }
        };
        let labels = texts.get(i).unwrap_or_default();
        let counter = counter.filter(|_| kind == Kind::Counter);
        let ex = match counter.and_then(|c| c.exemplar.as_deref()) {
            None => None,
            e => exemplar(e, true, false)?,
        };
        if ex.is_none() {
            // The common line, written in place.
            let mut r = Room::new(out, name.len() + labels.len() + 1 + TAIL_MAX);
            r.put(name.as_bytes());
            if !labels.is_empty() {
                r.put(labels);
                r.byte(b'}');
            }
            tail(&mut r, Num::Float(value), m.timestamp_ms);
            r.byte(b'\n');
        } else {
            sample(
                out,
                name,
                "",
                labels,
                None,
                Num::Float(value),
                m.timestamp_ms,
                ex,
            );
        }
        if let Some(t) = counter.and_then(|c| c.created).filter(|_| options.created) {
            created(out, om_name(family, kind), labels, t, m.timestamp_ms);
        }
    }
    Ok(())
}

/// Writes the OpenMetrics `# HELP`, `# TYPE` and maybe `# UNIT` lines of
/// `family` for the type its name implies: what a gather caches.
pub(crate) fn write_usual_header(out: &mut Vec<u8>, family: &MetricFamily) {
    write_header(out, family, Kind::usual(family), None);
}

/// Writes `# HELP`, `# TYPE` and maybe `# UNIT`. The help comes escaped
/// from the text header a gather rendered when it holds no `"`, the one
/// character OpenMetrics escapes and the text format does not.
fn write_header(out: &mut Vec<u8>, family: &MetricFamily, kind: Kind, text_header: Option<&[u8]>) {
    let name = om_name(family, kind).as_bytes();
    let typ = kind.as_str().as_bytes();
    let cached = text_header
        .and_then(|h| escaped_help(h, family))
        .filter(|_| !family.help.as_bytes().contains(&b'"'));
    match cached {
        Some(help) => {
            // Cached text headers are legacy: no quoted name here.
            let mut r = Room::new(out, 2 * name.len() + help.len() + typ.len() + 18);
            r.put(b"# HELP ");
            r.put(name);
            r.byte(b' ');
            r.put(help);
            r.put(b"\n# TYPE ");
            r.put(name);
            r.byte(b' ');
            r.put(typ);
            r.byte(b'\n');
        }
        None => {
            out.extend_from_slice(b"# HELP ");
            write_header_name(out, name);
            out.push(b' ');
            write_escaped_label_value(out, &family.help);
            out.extend_from_slice(b"\n# TYPE ");
            write_header_name(out, name);
            out.push(b' ');
            out.extend_from_slice(typ);
            out.push(b'\n');
        }
    }
    let unit = family.unit.as_deref().filter(|u| {
        !u.is_empty()
            && name.len() > u.len()
            && name.ends_with(u.as_bytes())
            && name[name.len() - u.len() - 1] == b'_'
    });
    if let Some(unit) = unit {
        out.extend_from_slice(b"# UNIT ");
        write_header_name(out, name);
        out.push(b' ');
        write_escaped_label_value(out, unit);
        out.push(b'\n');
    }
}

#[allow(clippy::too_many_arguments)]
fn histogram(
    out: &mut Vec<u8>,
    name: &str,
    labels: &[u8],
    ts: Option<i64>,
    h: &HistogramValue,
    (validated, utf8): (bool, bool),
    options: Options,
    (prefix, le): (&mut Vec<u8>, &mut LeCache),
) -> Result<(), EncodeError> {
    let invalid = || EncodeError::InvalidHistogram {
        metric: name.to_string(),
    };
    let add_inf = h
        .buckets
        .last()
        .is_none_or(|b| b.upper_bound != f64::INFINITY);
    // OpenMetrics parsers check what client_golang's encoder assumes: bounds
    // increasing (NaN fails every comparison), counts not decreasing, the
    // `+Inf` bucket the count. A gather's histograms come from instruments
    // and const metrics that hold to it.
    if !validated {
        let mut ordered = h.buckets.first().is_none_or(|b| !b.upper_bound.is_nan());
        for w in h.buckets.windows(2) {
            ordered &= w[0].upper_bound < w[1].upper_bound;
            ordered &= w[0].cumulative_count <= w[1].cumulative_count;
        }
        ordered &= match h.buckets.last() {
            Some(b) if add_inf => b.cumulative_count <= h.sample_count,
            Some(b) => b.cumulative_count == h.sample_count,
            None => true,
        };
        if !ordered {
            return Err(invalid());
        }
    }
    // Bounds increase: any negative one is the first.
    let negative = h.buckets.first().is_some_and(|b| b.upper_bound < 0.0);
    let with_exemplars = h.buckets.iter().any(|b| b.exemplar.is_some());
    le.load(h, write_float_om);
    bucket_prefix(prefix, name, labels);
    if with_exemplars {
        for (i, b) in h.buckets.iter().enumerate() {
            let ex = exemplar(b.exemplar.as_deref(), validated, utf8)?;
            bucket_line(out, prefix, le.get(i), b.cumulative_count, ts, ex);
        }
        if add_inf {
            bucket_line(out, prefix, INF_LE, h.sample_count, ts, None);
        }
    } else {
        // All bucket lines in one reservation.
        let each = prefix.len() + le.longest.max(INF_LE.len()) + TAIL_MAX;
        let mut r = Room::new(out, (h.buckets.len() + usize::from(add_inf)) * each);
        for (i, b) in h.buckets.iter().enumerate() {
            r.put(prefix);
            r.put(le.get(i));
            value_and_time(&mut r, Num::Count(b.cumulative_count), ts);
            r.byte(b'\n');
        }
        if add_inf {
            r.put(prefix);
            r.put(INF_LE);
            value_and_time(&mut r, Num::Count(h.sample_count), ts);
            r.byte(b'\n');
        }
    }
    if h.sample_sum >= 0.0 && !negative {
        sum_and_count(out, name, labels, h.sample_sum, h.sample_count, ts);
    }
    if let Some(t) = h.created.filter(|_| options.created) {
        created(out, name, labels, t, ts);
    }
    Ok(())
}

/// The `+Inf` bucket's bound as the `le` cache keeps bounds.
const INF_LE: &[u8] = b"+Inf\"} ";

fn bucket_line(
    out: &mut Vec<u8>,
    prefix: &[u8],
    le: &[u8],
    count: u64,
    ts: Option<i64>,
    ex: Option<&Exemplar>,
) {
    let mut r = Room::new(out, prefix.len() + le.len() + TAIL_MAX);
    r.put(prefix);
    r.put(le);
    value_and_time(&mut r, Num::Count(count), ts);
    match ex {
        None => r.byte(b'\n'),
        Some(e) => {
            drop(r);
            write_exemplar(out, e);
        }
    }
}

fn summary(
    out: &mut Vec<u8>,
    name: &str,
    labels: &[u8],
    ts: Option<i64>,
    s: &SummaryValue,
    options: Options,
    num: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    for q in &s.quantiles {
        if !(0.0..=1.0).contains(&q.quantile) {
            return Err(EncodeError::InvalidSummary {
                metric: name.to_string(),
            });
        }
        if q.value < 0.0 {
            continue;
        }
        num.clear();
        write_float_om(num, q.quantile);
        let extra = Some((&b"quantile=\""[..], &num[..]));
        sample(out, name, "", labels, extra, Num::Float(q.value), ts, None);
    }
    // Unlike a histogram's, a summary's count may stand without its sum.
    if s.sample_sum >= 0.0 {
        sample(
            out,
            name,
            "_sum",
            labels,
            None,
            Num::Float(s.sample_sum),
            ts,
            None,
        );
    }
    sample(
        out,
        name,
        "_count",
        labels,
        None,
        Num::Count(s.sample_count),
        ts,
        None,
    );
    if let Some(t) = s.created.filter(|_| options.created) {
        created(out, name, labels, t, ts);
    }
    Ok(())
}

fn sum_and_count(
    out: &mut Vec<u8>,
    name: &str,
    labels: &[u8],
    sum: f64,
    count: u64,
    ts: Option<i64>,
) {
    sample(out, name, "_sum", labels, None, Num::Float(sum), ts, None);
    sample(
        out,
        name,
        "_count",
        labels,
        None,
        Num::Count(count),
        ts,
        None,
    );
}

/// A `_created` line: the creation time in seconds since the epoch.
fn created(out: &mut Vec<u8>, stem: &str, labels: &[u8], t: SystemTime, ts: Option<i64>) {
    sample(
        out,
        stem,
        "_created",
        labels,
        None,
        Num::Float(seconds(t)),
        ts,
        None,
    );
}

/// Seconds since the Unix epoch as client_golang computes them: whole
/// nanoseconds divided by 1e9.
fn seconds(t: SystemTime) -> f64 {
    let nanos = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as f64,
        Err(e) => -(e.duration().as_nanos() as f64),
    };
    nanos / 1e9
}

/// The exemplar to write, if any: one with labels within the size limit.
/// With `utf8`, label names outside the legacy set are fine (and quoted),
/// the empty one is not.
fn exemplar(
    e: Option<&Exemplar>,
    validated: bool,
    utf8: bool,
) -> Result<Option<&Exemplar>, EncodeError> {
    let Some(e) = e.filter(|e| !e.labels.is_empty()) else {
        return Ok(None);
    };
    if !validated {
        let invalid = |l: &&LabelPair| {
            if utf8 {
                l.name.is_empty()
            } else {
                !is_valid_label_name(&l.name)
            }
        };
        if let Some(l) = e.labels.iter().find(invalid) {
            return Err(EncodeError::InvalidName {
                name: l.name.to_string(),
            });
        }
    }
    let chars: usize = e
        .labels
        .iter()
        .map(|l| l.name.chars().count() + l.value.chars().count())
        .sum();
    // The Python client's parser reads an exemplar's `\"` as the end of
    // the value, so it refuses those values even escaped.
    let quoted = e.labels.iter().any(|l| l.value.contains('"'));
    Ok((chars <= EXEMPLAR_LABELS_MAX && !quoted).then_some(e))
}

enum Num {
    Float(f64),
    Count(u64),
}

/// The most bytes [`tail`] writes, with the newline.
const TAIL_MAX: usize = 1 + FLOAT_OM_MAX + 1 + FLOAT_OM_MAX + 1;

/// One sample line: the name, its suffix, the label block with an optional
/// extra label (`name="` and its formatted value), the value, the
/// timestamp, the exemplar.
#[allow(clippy::too_many_arguments)]
fn sample(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    labels: &[u8],
    extra: Option<(&[u8], &[u8])>,
    value: Num,
    ts: Option<i64>,
    ex: Option<&Exemplar>,
) {
    let mut r = Room::new(out, head_len(name, suffix, labels, extra) + TAIL_MAX);
    head(&mut r, name, suffix, labels, extra);
    tail(&mut r, value, ts);
    match ex {
        None => r.byte(b'\n'),
        Some(e) => {
            drop(r);
            write_exemplar(out, e);
        }
    }
}

/// ` value`, then ` timestamp` in seconds if any; no newline.
#[inline(always)]
fn tail(r: &mut Room<'_>, value: Num, ts: Option<i64>) {
    r.byte(b' ');
    value_and_time(r, value, ts);
}

/// As [`tail`] without the leading space, which a cached `le` text ends
/// with.
#[inline(always)]
fn value_and_time(r: &mut Room<'_>, value: Num, ts: Option<i64>) {
    match value {
        Num::Float(v) => write_float_om(r, v),
        Num::Count(n) => write_u64(r, n),
    }
    if let Some(ts) = ts {
        r.byte(b' ');
        write_float_om(r, ts as f64 / 1000.0);
    }
}

/// Ends a line with its exemplar and the newline.
#[cold]
fn write_exemplar(out: &mut Vec<u8>, e: &Exemplar) {
    {
        out.extend_from_slice(b" # ");
        escape::write_labels_quoting(out, &e.labels);
        out.push(b'}');
        out.push(b' ');
        write_float_om(out, e.value);
        if let Some(t) = e.timestamp {
            out.push(b' ');
            write_float_om(out, seconds(t));
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn om(v: f64) -> String {
        let mut out = Vec::new();
        write_float_om(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_get_a_point_zero_only_when_go_would_print_neither_point_nor_exponent() {
        for (v, want) in [
            (0.0, "0.0"),
            (-0.0, "0.0"),
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (42.0, "42.0"),
            (999_999.0, "999999.0"),
            (1e6, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (0.5, "0.5"),
            (1.5e-5, "1.5e-05"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(om(v), want, "{v}");
        }
    }

    #[test]
    fn seconds_are_nanoseconds_over_a_billion_on_both_sides_of_the_epoch() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 500_000_000);
        assert_eq!(seconds(t), 1_700_000_000.5);
        let before = SystemTime::UNIX_EPOCH - std::time::Duration::from_millis(1500);
        assert_eq!(seconds(before), -1.5);
    }
}
