//! The Prometheus text exposition format, version 0.0.4.
//!
//! Output is byte-identical to client_golang's `expfmt` for the same
//! families: HELP escapes `\` and newline, label values also `"`; numbers
//! are Go's shortest `'g'` formatting (`1e+06`, `1.5e-05`, `+Inf`, `NaN`);
//! histogram lines come as `_bucket` (with `le`, ending in `+Inf`), `_sum`,
//! `_count`; summary lines as quantiles, `_sum`, `_count`.

use crate::desc::{is_valid_label_name, is_valid_metric_name};
use crate::encoding::escape;
use crate::encoding::format::{
    write_count, write_escaped_help, write_escaped_label_value, write_float, write_i64, FLOAT_MAX,
    I64_MAX,
};
use crate::encoding::negotiate::Escaping;
use crate::encoding::room::{Out, Room};
use crate::error::EncodeError;
use std::sync::Arc;

use crate::desc::MetricType;
use crate::encoding::Families;
use crate::registry::LabelTexts;
use crate::snapshot::{HistogramValue, LabelPair, Metric, MetricFamily, Value};

/// The `Content-Type` of this format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Appends the text exposition of `families` to `out`.
///
/// Families without series are skipped. Reuse `out` across scrapes (after
/// `clear()`) to keep its capacity.
///
/// # Errors
///
/// [`EncodeError`] if a family or label name is invalid or a series' value
/// does not match its family's type; what was written before stays in
/// `out`.
///
/// # Examples
///
/// ```
/// use promclient::{Gauge, Registry};
///
/// let registry = Registry::new();
/// let g = Gauge::new("temperature_celsius", "Temperature, with \\ and\nnewline.")?;
/// registry.register(g.clone())?;
/// g.set(1_500_000.0);
/// let mut out = Vec::new();
/// promclient::encoding::text::encode(&registry.gather()?, &mut out)?;
/// assert_eq!(
///     String::from_utf8(out)?,
///     "# HELP temperature_celsius Temperature, with \\\\ and\\nnewline.\n\
///      ## TYPE temperature_celsius gauge\n\
///      temperature_celsius 1.5e+06\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode<F: Families + ?Sized>(families: &F, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    encode_escaped(families, out, Escaping::Underscores)
}

/// As [`encode`], with names outside the legacy character set written as
/// `escaping` says: under [`Escaping::AllowUtf8`] quoted
/// (`{"my.metric",code="200"} 1`, `# HELP "my.metric" ...`), otherwise
/// rewritten into the legacy set (`my_metric`, `my_dot_metric`,
/// `U__my_2e_metric`). Families whose names are all legacy are the same in
/// every scheme.
///
/// # Errors
///
/// As [`encode`]; an empty name is always invalid.
///
/// # Examples
///
/// ```
/// use promclient::encoding::negotiate::Escaping;
/// use promclient::encoding::text;
/// use promclient::{Counter, NameValidation, Opts, Registry};
///
/// let registry = Registry::with_name_validation(NameValidation::Utf8);
/// let opts = Opts::new("jobs.done_total", "Jobs.").name_validation(NameValidation::Utf8);
/// registry.register(Counter::with_opts(opts)?)?;
/// let snapshot = registry.gather()?;
///
/// let mut out = Vec::new();
/// text::encode_escaped(&snapshot, &mut out, Escaping::AllowUtf8)?;
/// assert!(out.ends_with(b"\n{\"jobs.done_total\"} 0\n"));
/// out.clear();
/// text::encode_escaped(&snapshot, &mut out, Escaping::Dots)?;
/// assert!(out.ends_with(b"\njobs_dot_done__total 0\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode_escaped<F: Families + ?Sized>(
    families: &F,
    out: &mut Vec<u8>,
    escaping: Escaping,
) -> Result<(), EncodeError> {
    let mut scratch = Scratch::default();
    let all = families.families();
    for (p, family) in all.iter().enumerate() {
        let (header, texts) = (families.header_text(p), families.label_texts(p));
        escape::with_escaping(family, escaping, out, |f, as_is, utf8, out| {
            let (header, texts) = if as_is { (header, texts) } else { (None, None) };
            encode_family(f, header, texts, out, &mut scratch, utf8)
        })?;
    }
    Ok(())
}

/// Writes one family. Its names must be legacy, or with `utf8` anything
/// but empty (the family name quoted, see `escape`).
fn encode_family(
    family: &MetricFamily,
    header: Option<&[u8]>,
    texts: Option<LabelTexts<'_>>,
    out: &mut Vec<u8>,
    scratch: &mut Scratch,
    utf8: bool,
) -> Result<(), EncodeError> {
    if family.metrics.is_empty() {
        return Ok(());
    }
    let name = &*family.name;
    match header {
        // Rendered by a gather, from a validated descriptor.
        Some(h) => out.extend_from_slice(h),
        None => {
            let valid = is_valid_metric_name(name) || (utf8 && escape::is_quoted(name));
            if !valid {
                return Err(EncodeError::InvalidName {
                    name: name.to_string(),
                });
            }
            write_header(out, family);
        }
    }
    if let (Some(texts), MetricType::Counter | MetricType::Gauge | MetricType::Untyped) =
        (texts, family.metric_type)
    {
        return single_line_family(out, name, family, texts);
    }
    let cached = |i| texts.and_then(|t| t.get(i));
    let Scratch {
        labels: rendered,
        prefix,
        num,
        le,
    } = scratch;
    let mut prev: Option<&Metric> = None;
    for (i, m) in family.metrics.iter().enumerate() {
        let text = cached(i);
        if text.is_none() && i % TOUCH_CHUNK == 0 {
            let chunk = &family.metrics[i..family.metrics.len().min(i + TOUCH_CHUNK)];
            touch(chunk);
        }
        if m.value.metric_type() != family.metric_type {
            return Err(EncodeError::TypeMismatch {
                metric: name.to_string(),
            });
        }
        // Label text rendered by a gather comes from validated descriptors.
        if text.is_none() {
            check_label_names(m, prev, utf8)?;
        }
        prev = Some(m);
        let ts = m.timestamp_ms;
        // One-line series write their labels straight out; the others
        // repeat them, so render them once when no text is cached.
        match &m.value {
            Value::Counter(c) => single(out, name, text, &m.labels, c.value, ts, utf8),
            Value::Gauge(v) | Value::Untyped(v) => {
                single(out, name, text, &m.labels, *v, ts, utf8);
            }
            Value::Summary(s) => {
                let labels = label_block(text, &m.labels, rendered, utf8);
                for q in &s.quantiles {
                    num.clear();
                    write_float(num, q.quantile);
                    let extra = Some((&b"quantile=\""[..], &num[..]));
                    line(out, name, "", labels, extra, Num::Float(q.value), ts);
                }
                sum_and_count(out, name, labels, s.sample_sum, s.sample_count, ts);
            }
            Value::Histogram(h) => {
                histogram(
                    out,
                    name,
                    label_block(text, &m.labels, rendered, utf8),
                    ts,
                    h,
                    le,
                    prefix,
                );
            }
        }
    }
    Ok(())
}

/// The series of a counter, gauge or untyped family with their label text
/// cached: one line each, in a loop of its own, with one reservation for
/// [`LINES_PER_ROOM`] lines. Never inlined: as a function of its own its
/// loop keeps its values in registers (inlined into `encode_family`, it
/// cost the scrape bench's encode 44k instructions more).
#[inline(never)]
fn single_line_family(
    out: &mut Vec<u8>,
    name: &str,
    family: &MetricFamily,
    texts: LabelTexts<'_>,
) -> Result<(), EncodeError> {
    let ty = family.metric_type;
    let mut blocks = texts.closed();
    for (c, chunk) in family.metrics.chunks(LINES_PER_ROOM).enumerate() {
        let text = texts.span(c * LINES_PER_ROOM, chunk.len());
        let mut r = Room::new(out, text + chunk.len() * (name.len() + 1 + TAIL_MAX));
        for m in chunk {
            let value = match (&m.value, ty) {
                (Value::Counter(c), MetricType::Counter) => c.value,
                (Value::Gauge(v), MetricType::Gauge) | (Value::Untyped(v), MetricType::Untyped) => {
                    *v
                }
                _ => {
                    return Err(EncodeError::TypeMismatch {
                        metric: name.to_string(),
                    })
                }
            };
            // `{labels} ` or ` `: what follows the name up to the value.
            let block = blocks.next().unwrap_or(b" ");
            r.put(name.as_bytes());
            r.put(block);
            value_tail(&mut r, Num::Float(value), m.timestamp_ms);
        }
    }
    Ok(())
}

/// Lines of a counter, gauge or untyped family written into one
/// reservation: enough to save the per-line bookkeeping, few enough that
/// the worst case reserved for them (a value and a timestamp of the
/// longest form each) stays small.
const LINES_PER_ROOM: usize = 64;

/// Series touched ahead of writing them.
const TOUCH_CHUNK: usize = 16;

/// Loads what writing `metrics` will read when their label text is not
/// cached (label values, histogram buckets) in one tight loop. The series
/// are scattered in memory; these loads do not depend on each other, so
/// the CPU overlaps their cache misses instead of taking them one at a time
/// while it formats. With cached text, what is read is laid out in order
/// and the loop only cost time (alternating runs: encode 538 against
/// 550 us without and with it).
#[inline]
fn touch(metrics: &[Metric]) {
    let mut acc = 0u8;
    for m in metrics {
        for l in &m.labels {
            acc ^= l.value.as_bytes().first().copied().unwrap_or(0);
        }
        if let Value::Histogram(h) = &m.value {
            acc ^= h.buckets.first().map_or(0, |b| b.cumulative_count as u8);
        }
    }
    std::hint::black_box(acc);
}

/// Instruments validate label names, hand-built snapshots may not: check
/// each name, skipping those shared (same pointer) with the previous series.
/// With `utf8`, any name but the empty one is valid.
#[inline]
pub(super) fn check_label_names(
    m: &Metric,
    prev: Option<&Metric>,
    utf8: bool,
) -> Result<(), EncodeError> {
    for (j, l) in m.labels.iter().enumerate() {
        let known = prev
            .and_then(|p| p.labels.get(j))
            .is_some_and(|p| Arc::ptr_eq(&p.name, &l.name));
        if known {
            continue;
        }
        let valid = if utf8 {
            !l.name.is_empty()
        } else {
            is_valid_label_name(&l.name)
        };
        if !valid {
            return Err(EncodeError::InvalidName {
                name: l.name.to_string(),
            });
        }
    }
    Ok(())
}

/// The cached label text, or the labels rendered into `rendered` (names
/// outside the legacy set quoted, with `utf8`).
pub(super) fn label_block<'r>(
    text: Option<&'r [u8]>,
    labels: &[LabelPair],
    rendered: &'r mut Vec<u8>,
    utf8: bool,
) -> &'r [u8] {
    match text {
        Some(t) => t,
        None => {
            rendered.clear();
            if utf8 {
                escape::write_labels_quoting(rendered, labels);
            } else {
                write_labels_open(rendered, labels);
            }
            rendered
        }
    }
}

/// A counter, gauge or untyped series: one line, with the cached label
/// text or else the label pairs.
#[inline]
fn single(
    out: &mut Vec<u8>,
    name: &str,
    text: Option<&[u8]>,
    labels: &[LabelPair],
    value: f64,
    ts: Option<i64>,
    utf8: bool,
) {
    match text {
        Some(t) => cached_line(out, name, t, value, ts),
        None if utf8 => {
            let mut block = Vec::new();
            escape::write_labels_quoting(&mut block, labels);
            let mut r = Room::new(out, head_len(name, "", &block, None) + TAIL_MAX);
            head(&mut r, name, "", &block, None);
            tail(&mut r, Num::Float(value), ts);
        }
        None => {
            out.extend_from_slice(name.as_bytes());
            if !labels.is_empty() {
                write_labels_open(out, labels);
                out.push(b'}');
            }
            tail(&mut Room::new(out, TAIL_MAX), Num::Float(value), ts);
        }
    }
}

/// A one-line series with its label text cached (`{a="x"` without the
/// closing brace, or empty). Always inlined: called from the loop over a
/// counter family's series, the text encode of the scrape bench's
/// registry took 4.82M instructions against 4.72M inlined (callgrind).
#[inline(always)]
fn cached_line(out: &mut Vec<u8>, name: &str, text: &[u8], value: f64, ts: Option<i64>) {
    let mut r = Room::new(out, name.len() + text.len() + 1 + TAIL_MAX);
    r.put(name.as_bytes());
    if !text.is_empty() {
        r.put(text);
        r.byte(b'}');
    }
    tail(&mut r, Num::Float(value), ts);
}

fn histogram(
    out: &mut Vec<u8>,
    name: &str,
    labels: &[u8],
    ts: Option<i64>,
    h: &HistogramValue,
    le: &mut LeCache,
    prefix: &mut Vec<u8>,
) {
    le.load(h, write_float);
    // Every bucket line starts with `name_bucket{labels,le="`: build it once.
    bucket_prefix(prefix, name, labels);
    let inf = h
        .buckets
        .last()
        .is_none_or(|b| b.upper_bound != f64::INFINITY);
    // All bucket lines in one reservation: each is the prefix, the bound
    // with its closing `"} `, the count, maybe a timestamp, a newline; and
    // what a window writes past a line's end.
    let lines = h.buckets.len() + usize::from(inf);
    let prefix_len = prefix.len();
    let mut r = Room::new(
        out,
        lines * (prefix_len + le.longest.max(INF_LE.len()) + FLOAT_MAX + 1 + I64_MAX + 1)
            + PREFIX_WINDOW,
    );
    // The prefix zero-padded to a window, if it fits one: each line then
    // copies it with fixed moves.
    prefix.resize(prefix_len.max(PREFIX_WINDOW), 0);
    match prefix.first_chunk::<PREFIX_WINDOW>() {
        Some(window) if prefix_len <= PREFIX_WINDOW && le.longest <= LE_WINDOW => {
            for (b, (le, le_len)) in h.buckets.iter().zip(le.windows()) {
                r.window(window, prefix_len);
                r.window(le, *le_len);
                bucket_tail(&mut r, b.cumulative_count, ts);
            }
        }
        _ => {
            for (b, le) in h.buckets.iter().zip(le.entries()) {
                r.put(&prefix[..prefix_len]);
                r.put(le);
                bucket_tail(&mut r, b.cumulative_count, ts);
            }
        }
    }
    if inf {
        r.put(&prefix[..prefix_len]);
        r.put(INF_LE);
        bucket_tail(&mut r, h.sample_count, ts);
    }
    drop(r);
    sum_and_count(out, name, labels, h.sample_sum, h.sample_count, ts);
}

/// Bucket line prefixes up to this long are copied as a window.
const PREFIX_WINDOW: usize = 64;

/// The rest of a `_bucket` line after its `le` (which comes with its
/// closing `"} `).
#[inline(always)]
fn bucket_tail(r: &mut Room<'_>, count: u64, ts: Option<i64>) {
    write_count(r, count);
    if let Some(ts) = ts {
        r.byte(b' ');
        write_i64(r, ts);
    }
    r.byte(b'\n');
}

/// The `_sum` and `_count` lines of a histogram or summary series.
fn sum_and_count(
    out: &mut Vec<u8>,
    name: &str,
    labels: &[u8],
    sum: f64,
    count: u64,
    ts: Option<i64>,
) {
    if escape::is_quoted(name) {
        line(out, name, "_sum", labels, None, Num::Float(sum), ts);
        line(out, name, "_count", labels, None, Num::Count(count), ts);
        return;
    }
    // Both lines in one reservation, each `name_suffix{labels} value`.
    let head = name.len() + "_count".len() + labels.len() + 1;
    let mut r = Room::new(out, 2 * (head + TAIL_MAX));
    for (suffix, value) in [("_sum", Num::Float(sum)), ("_count", Num::Count(count))] {
        r.put(name.as_bytes());
        r.put(suffix.as_bytes());
        if !labels.is_empty() {
            r.put(labels);
            r.byte(b'}');
        }
        tail(&mut r, value, ts);
    }
}

enum Num {
    Float(f64),
    Count(u64),
}

/// One line from a pre-rendered label block (`{a="x",b="y"` without the
/// closing brace, or empty) and an optional extra label, given as its
/// `name="` and its already formatted value.
#[inline]
fn line(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    labels: &[u8],
    extra: Option<(&[u8], &[u8])>,
    value: Num,
    ts: Option<i64>,
) {
    let mut r = Room::new(out, head_len(name, suffix, labels, extra) + TAIL_MAX);
    head(&mut r, name, suffix, labels, extra);
    tail(&mut r, value, ts);
}

/// The most bytes [`head`] writes for these pieces.
#[inline]
pub(super) fn head_len(
    name: &str,
    suffix: &str,
    labels: &[u8],
    extra: Option<(&[u8], &[u8])>,
) -> usize {
    let extra_len = extra.map_or(0, |(key, text)| key.len() + text.len() + 3);
    // A quoted name adds `{`, `"` and `}`.
    name.len() + suffix.len() + labels.len() + 1 + extra_len + 3
}

/// The start of a sample line, shared by the text formats: the name, its
/// suffix, and the label block closed with the extra label (`name="` and
/// its formatted value), if any.
#[inline]
pub(super) fn head(
    r: &mut Room<'_>,
    name: &str,
    suffix: &str,
    labels: &[u8],
    extra: Option<(&[u8], &[u8])>,
) {
    if escape::is_quoted(name) {
        return head_quoted(r, name, suffix, labels, extra);
    }
    r.put(name.as_bytes());
    r.put(suffix.as_bytes());
    match extra {
        None if labels.is_empty() => {}
        None => {
            r.put(labels);
            r.byte(b'}');
        }
        Some((key, text)) => {
            if labels.is_empty() {
                r.byte(b'{');
            } else {
                r.put(labels);
                r.byte(b',');
            }
            r.put(key);
            r.put(text);
            r.put(b"\"}");
        }
    }
}

/// [`head`] for a quoted name: `{"name_suffix",labels,extra}`.
#[cold]
fn head_quoted(
    r: &mut Room<'_>,
    name: &str,
    suffix: &str,
    labels: &[u8],
    extra: Option<(&[u8], &[u8])>,
) {
    r.byte(b'{');
    r.put(name.as_bytes());
    r.put(suffix.as_bytes());
    r.byte(b'"');
    if let Some(rest) = labels.get(1..) {
        r.byte(b',');
        r.put(rest);
    }
    if let Some((key, text)) = extra {
        r.byte(b',');
        r.put(key);
        r.put(text);
        r.byte(b'"');
    }
    r.byte(b'}');
}

/// The start every `_bucket` line of a series shares: `name_bucket{labels,le="`
/// (for a quoted name `{"name_bucket",labels,le="`).
pub(super) fn bucket_prefix(prefix: &mut Vec<u8>, name: &str, labels: &[u8]) {
    prefix.clear();
    if escape::is_quoted(name) {
        prefix.push(b'{');
        prefix.extend_from_slice(name.as_bytes());
        prefix.extend_from_slice(b"_bucket\"");
        if let Some(rest) = labels.get(1..) {
            prefix.push(b',');
            prefix.extend_from_slice(rest);
        }
        prefix.push(b',');
    } else {
        prefix.extend_from_slice(name.as_bytes());
        prefix.extend_from_slice(b"_bucket");
        if labels.is_empty() {
            prefix.push(b'{');
        } else {
            prefix.extend_from_slice(labels);
            prefix.push(b',');
        }
    }
    prefix.extend_from_slice(b"le=\"");
}

/// Writes a name after `# HELP ` or `# TYPE `: a quoted name gets its
/// closing quote.
pub(super) fn write_header_name(out: &mut Vec<u8>, name: &[u8]) {
    out.extend_from_slice(name);
    if name.first() == Some(&b'"') {
        out.push(b'"');
    }
}

/// The most bytes [`tail`] writes.
const TAIL_MAX: usize = 1 + FLOAT_MAX + 1 + I64_MAX + 1;

/// The end of every sample line: ` value`, then ` timestamp` if any, then
/// the newline.
#[inline(always)]
fn tail(r: &mut Room<'_>, value: Num, ts: Option<i64>) {
    r.byte(b' ');
    value_tail(r, value, ts);
}

/// [`tail`] after its space: the value, maybe a timestamp, the newline.
#[inline(always)]
fn value_tail(r: &mut Room<'_>, value: Num, ts: Option<i64>) {
    match value {
        Num::Float(v) => write_float(r, v),
        Num::Count(n) => write_count(r, n),
    }
    if let Some(ts) = ts {
        r.byte(b' ');
        write_i64(r, ts);
    }
    r.byte(b'\n');
}

/// The escaped help text inside `header`, a family's `# HELP` and `# TYPE`
/// lines as [`write_header`] wrote them.
pub(super) fn escaped_help<'h>(header: &'h [u8], family: &MetricFamily) -> Option<&'h [u8]> {
    let name = family.name.len();
    let type_line = b"\n# TYPE ".len() + name + 1 + family.metric_type.as_str().len() + 1;
    header.get(b"# HELP ".len() + name + 1..header.len().checked_sub(type_line)?)
}

/// Writes a family's `# HELP` and `# TYPE` lines.
pub(crate) fn write_header(out: &mut Vec<u8>, family: &MetricFamily) {
    let name = family.name.as_bytes();
    out.extend_from_slice(b"# HELP ");
    write_header_name(out, name);
    out.push(b' ');
    write_escaped_help(out, &family.help);
    out.extend_from_slice(b"\n# TYPE ");
    write_header_name(out, name);
    out.push(b' ');
    out.extend_from_slice(family.metric_type.as_str().as_bytes());
    out.push(b'\n');
}

/// Writes `{a="x",b="y"` (no closing brace); nothing for no labels.
#[inline]
pub(crate) fn write_labels_open(out: &mut Vec<u8>, labels: &[LabelPair]) {
    let mut sep = b'{';
    for l in labels {
        out.push(sep);
        sep = b',';
        out.extend_from_slice(l.name.as_bytes());
        out.extend_from_slice(b"=\"");
        write_escaped_label_value(out, &l.value);
        out.push(b'"');
    }
}

/// Buffers reused across the series of one `encode` call (of either
/// text format).
#[derive(Default)]
pub(super) struct Scratch {
    /// The current series' rendered label block.
    pub(super) labels: Vec<u8>,
    /// The current histogram series' bucket line prefix.
    pub(super) prefix: Vec<u8>,
    /// One formatted number (a quantile).
    pub(super) num: Vec<u8>,
    pub(super) le: LeCache,
}

/// Formatted `le` values of the last bucket layout seen: series of one
/// histogram family share their bounds, so each is formatted once.
#[derive(Default)]
pub(super) struct LeCache {
    bounds: Vec<u64>,
    /// Each bound formatted and followed by `"} `, back to back.
    text: Vec<u8>,
    ends: Vec<usize>,
    /// Each entry again, zero-padded to a window, and its length.
    windows: Vec<([u8; LE_WINDOW], usize)>,
    /// The longest entry.
    pub(super) longest: usize,
}

/// Bytes of an `le` window (see [`LeCache::windows`]): any bound the
/// text format writes, closed with `"} `, fits.
pub(super) const LE_WINDOW: usize = 32;
const _: () = assert!(FLOAT_MAX + 3 <= LE_WINDOW);

/// The `+Inf` bucket's bound as [`LeCache`] keeps bounds.
pub(super) const INF_LE: &[u8] = b"+Inf\"} ";

impl LeCache {
    /// Formats `h`'s bounds with `float`, unless they are the ones
    /// formatted last (each encoder keeps its own cache, so `float` is the
    /// same on every call).
    pub(super) fn load(&mut self, h: &HistogramValue, float: fn(&mut Vec<u8>, f64)) {
        let same = self.bounds.len() == h.buckets.len()
            && self
                .bounds
                .iter()
                .zip(&h.buckets)
                .all(|(a, b)| *a == b.upper_bound.to_bits());
        if same {
            return;
        }
        self.bounds.clear();
        self.text.clear();
        self.ends.clear();
        self.windows.clear();
        self.longest = 0;
        // One allocation each for a new layout, not one per doubling.
        let n = h.buckets.len();
        self.bounds.reserve(n);
        self.ends.reserve(n);
        self.text.reserve(n * (FLOAT_MAX + 3));
        self.windows.reserve(n);
        for b in &h.buckets {
            self.bounds.push(b.upper_bound.to_bits());
            let start = self.text.len();
            float(&mut self.text, b.upper_bound);
            self.text.extend_from_slice(b"\"} ");
            self.ends.push(self.text.len());
            let entry = &self.text[start..];
            self.longest = self.longest.max(entry.len());
            let mut window = [0; LE_WINDOW];
            let n = entry.len().min(LE_WINDOW);
            window[..n].copy_from_slice(&entry[..n]);
            self.windows.push((window, n));
        }
    }

    /// The entries in order, each zero-padded to a window, with its length.
    /// Only whole while [`LeCache::longest`] is at most [`LE_WINDOW`]
    /// (a longer entry is cut short).
    pub(super) fn windows(&self) -> &[([u8; LE_WINDOW], usize)] {
        &self.windows
    }

    /// The entries in order, as [`LeCache::get`] gives them.
    pub(super) fn entries(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let e = self.text.get(start..end).unwrap_or(&[]);
            start = end;
            e
        })
    }

    pub(super) fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}
