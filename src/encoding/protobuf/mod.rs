//! The Prometheus protobuf exposition: a stream of length-delimited
//! `io.prometheus.client.MetricFamily` messages, what Prometheus asks for
//! first when it ingests native histograms or created timestamps.
//!
//! [`encode`] walks the snapshot and writes the wire format directly, with
//! no message structs in between: each series' size is computed, then its
//! bytes written in one reserved stretch of the output. Fields come in
//! field-number order and proto2 fields are present exactly when
//! client_golang sets them, as Go's protobuf writes its messages.
//!
//! With the `protobuf` feature, [`model`] has the message types generated
//! from `proto/metrics.proto` by the `protobuf` crate (3.x), and
//! [`to_model`] / `From<&MetricFamily>` convert a snapshot into them:
//! for decoding a scrape, pushing messages elsewhere, or inspecting them.
//! The tests check that serializing the converted messages gives exactly
//! [`encode`]'s bytes.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::desc::{is_valid_metric_name, MetricType};
use crate::encoding::escape;
use crate::encoding::negotiate::Escaping;
use crate::encoding::room::{Out, Room};
use crate::encoding::text::check_label_names;
use crate::encoding::Families;
use crate::error::EncodeError;
use crate::registry::ProtobufTexts;
use crate::snapshot::{
    Bucket, BucketSpan, CounterValue, Exemplar, HistogramValue, LabelPair, Metric, MetricFamily,
    NativeHistogram, SummaryValue, Value,
};

#[cfg(feature = "protobuf")]
mod convert;
#[cfg(feature = "protobuf")]
pub mod model;

#[cfg(feature = "protobuf")]
pub use convert::to_model;

/// The `Content-Type` of this format.
pub const CONTENT_TYPE: &str =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

/// Appends `families` to `out` as length-delimited
/// `io.prometheus.client.MetricFamily` messages.
///
/// Families without series are skipped. Every field the snapshot holds is
/// written: labels, values, explicit timestamps, units, created timestamps,
/// exemplars and native-histogram spans. A histogram's implicit `+Inf`
/// bucket is not written (the format's `sample_count` is its count), as
/// client_golang does; nor is a native histogram written without a span
/// (with no zero threshold and no zero count it gets client_golang's empty
/// positive span, so that Prometheus still reads it as native). Reuse `out` across scrapes (after `clear()`) to
/// keep its capacity.
///
/// # Errors
///
/// [`EncodeError::InvalidName`] for a family or label name a gather would
/// have refused, and [`EncodeError::TypeMismatch`] for a series whose value
/// does not match its family's type (both only possible in hand-built
/// families). What was written before stays in `out`; the family that
/// failed is not started.
///
/// # Examples
///
/// ```
/// use promclient::{Counter, Registry};
///
/// let registry = Registry::new();
/// let c = Counter::new("jobs_total", "Jobs done.")?;
/// registry.register(c.clone())?;
/// c.inc_by(3);
/// let mut out = Vec::new();
/// promclient::encoding::protobuf::encode(&registry.gather()?, &mut out)?;
/// // One length-prefixed message: name, help, type COUNTER (0), then the
/// // series (its counter: the double 3.0 and the created timestamp).
/// assert_eq!(out[0] as usize, out.len() - 1);
/// assert_eq!(&out[1..13], b"\x0a\x0ajobs_total");
/// assert_eq!(&out[13..25], b"\x12\x0aJobs done.");
/// assert_eq!(&out[25..27], b"\x18\x00");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode<F: Families + ?Sized>(families: &F, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    encode_escaped(families, out, Escaping::Underscores)
}

/// As [`encode`], with names outside the legacy character set written as
/// `escaping` says: as they are under [`Escaping::AllowUtf8`], otherwise
/// rewritten into the legacy set (see
/// [`text::encode_escaped`](crate::encoding::text::encode_escaped)).
///
/// # Errors
///
/// As [`encode`]; an empty name is always invalid.
pub fn encode_escaped<F: Families + ?Sized>(
    families: &F,
    out: &mut Vec<u8>,
    escaping: Escaping,
) -> Result<(), EncodeError> {
    // Each series' message length, computed before the family's length
    // prefix can be written, kept until the series is.
    let mut sizes = Vec::new();
    for (p, family) in families.families().iter().enumerate() {
        if family.metrics.is_empty() {
            continue;
        }
        // A header rendered by a gather means validated, legacy names.
        let validated = families.header_text(p).is_some();
        let check = if validated {
            Check::Validated
        } else {
            Check::Names { utf8: false }
        };
        let rendered = families.protobuf_texts(p);
        let body = match family_len(family, check, rendered, &mut sizes) {
            Ok(body) => body,
            // A name outside the legacy set (nothing is written yet).
            Err(EncodeError::InvalidName { name }) if !name.is_empty() => {
                write_escaped(family, escaping, &mut sizes, out)?;
                continue;
            }
            Err(e) => return Err(e),
        };
        // `Room::word` stores whole words: slack for the last one.
        out.reserve(VARINT_MAX + body + WORD_SLACK);
        varint(out, body as u64);
        write_family(out, family, &sizes);
    }
    Ok(())
}

/// Writes a family with names outside the legacy set: as they are under
/// `allow-utf-8`, escaped otherwise.
#[cold]
fn write_escaped(
    family: &MetricFamily,
    escaping: Escaping,
    sizes: &mut Vec<Sizes<'_>>,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let utf8 = escaping == Escaping::AllowUtf8;
    let original = family;
    let escaped;
    let family = if utf8 {
        family
    } else {
        escaped = escape::escaped_family(family, escaping);
        &escaped
    };
    let body = family_len(family, Check::Names { utf8 }, None, sizes)
        .map_err(|e| escape::blame(e, &original.name))?;
    out.reserve(VARINT_MAX + body + WORD_SLACK);
    varint(out, body as u64);
    write_family(out, family, sizes);
    Ok(())
}

/// Which names of a family still need checking.
#[derive(Clone, Copy)]
enum Check {
    /// A gather validated them.
    Validated,
    /// All; legacy, or with `utf8` any but the empty name.
    Names { utf8: bool },
}

/// The longest varint: a `u64` in groups of seven bits.
const VARINT_MAX: usize = 10;

/// Spare bytes a whole-word store may need past the last byte written.
const WORD_SLACK: usize = 7;

/// Wire types.
const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;

/// The one-byte key of a field numbered below 16.
const fn key(field: u8, wire: u8) -> u8 {
    (field << 3) | wire
}

/// The key of `Histogram.exemplars`, field 16: `(16 << 3) | LEN`, 130,
/// as a two-byte varint.
const NATIVE_EXEMPLARS_KEY: [u8; 2] = [0x82, 0x01];

/// The `MetricType` enum's numbers.
const fn type_number(t: MetricType) -> u8 {
    match t {
        MetricType::Counter => 0,
        MetricType::Gauge => 1,
        MetricType::Summary => 2,
        MetricType::Untyped => 3,
        MetricType::Histogram => 4,
    }
}

// --- sizes: each mirrors the writer of the same name below ---------------

/// Bytes of a varint.
#[inline]
const fn varint_len(v: u64) -> usize {
    // One byte per started group of seven bits; at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Bytes of a length-delimited field with a one-byte key and `n` bytes of
/// content.
#[inline]
const fn len_field(n: usize) -> usize {
    1 + varint_len(n as u64) + n
}

/// Bytes of a varint field with a one-byte key.
#[inline]
const fn varint_field(v: u64) -> usize {
    1 + varint_len(v)
}

/// Bytes of a double field with a one-byte key.
const DOUBLE_FIELD: usize = 9;

/// Checks a family's series and computes the length of its message, each
/// series' sizes pushed to `sizes` (cleared first).
///
/// `rendered` are the series' label and created-timestamp fields as a
/// gather rendered them, if it did. With them the label strings (small
/// allocations all over the heap, a cache miss each) are not read at all,
/// and neither are created times converted and written field by field.
fn family_len<'a>(
    family: &MetricFamily,
    check: Check,
    rendered: Option<ProtobufTexts<'a>>,
    sizes: &mut Vec<Sizes<'a>>,
) -> Result<usize, EncodeError> {
    let (validated, utf8) = match check {
        Check::Validated => (true, false),
        Check::Names { utf8 } => (false, utf8),
    };
    let valid_name = || {
        if utf8 {
            !family.name.is_empty()
        } else {
            is_valid_metric_name(&family.name)
        }
    };
    if !validated && !valid_name() {
        return Err(EncodeError::InvalidName {
            name: family.name.to_string(),
        });
    }
    sizes.clear();
    let mut n = len_field(family.name.len()) + len_field(family.help.len()) + 2;
    n += family.unit.as_ref().map_or(0, |u| len_field(u.len()));
    let mut prev = None;
    for (i, m) in family.metrics.iter().enumerate() {
        if m.value.metric_type() != family.metric_type {
            return Err(EncodeError::TypeMismatch {
                metric: family.name.to_string(),
            });
        }
        if !validated {
            check_label_names(m, prev, utf8)?;
        }
        prev = Some(m);
        let s = sizes_of(m, rendered.and_then(|t| t.get(i)));
        sizes.push(s);
        n += len_field(s.metric);
    }
    Ok(n)
}

#[inline]
fn labels_len(labels: &[LabelPair]) -> usize {
    labels
        .iter()
        .map(|l| len_field(len_field(l.name.len()) + len_field(l.value.len())))
        .sum()
}

/// What the size pass learns about a series for its writer.
#[derive(Clone, Copy)]
struct Sizes<'a> {
    /// The `Metric` message.
    metric: usize,
    /// Its label fields, if rendered by a gather.
    labels: Option<&'a [u8]>,
    /// Its value's message (`Counter`, `Gauge`, ...).
    value: usize,
    /// The value's created-timestamp field.
    created: Created<'a>,
}

/// A value's created-timestamp field.
#[derive(Clone, Copy)]
enum Created<'a> {
    Absent,
    /// The whole field, key included, as a gather rendered it.
    Rendered(&'a [u8]),
    /// The time, converted here.
    Parts(Ts),
}

impl Created<'_> {
    #[inline]
    fn field_len(self) -> usize {
        match self {
            Self::Absent => 0,
            Self::Rendered(bytes) => bytes.len(),
            Self::Parts(t) => len_field(timestamp_len(t)),
        }
    }
}

/// A value's created time and the field number that carries it.
#[inline]
fn created_of(v: &Value) -> Option<(u8, SystemTime)> {
    let (field, created) = match v {
        Value::Counter(c) => (3, c.created),
        Value::Summary(s) => (4, s.created),
        Value::Histogram(h) => (15, h.created),
        Value::Gauge(_) | Value::Untyped(_) => return None,
    };
    created.map(|t| (field, t))
}

/// A series' sizes; `rendered` is its label fields, the time its created
/// field was rendered from and that field, if a gather rendered them.
#[inline]
fn sizes_of<'a>(
    m: &Metric,
    rendered: Option<(&'a [u8], Option<SystemTime>, &'a [u8])>,
) -> Sizes<'a> {
    let labels = rendered.map(|r| r.0);
    let created = match created_of(&m.value) {
        None => Created::Absent,
        Some((field, t)) => match rendered {
            // Rendered from this very time, for this type of value.
            Some((_, Some(at), bytes)) if at == t && bytes.first() == Some(&key(field, LEN)) => {
                Created::Rendered(bytes)
            }
            _ => Created::Parts(timestamp_parts(t)),
        },
    };
    let created_len = created.field_len();
    let value = match &m.value {
        Value::Gauge(_) | Value::Untyped(_) => DOUBLE_FIELD,
        Value::Counter(c) => counter_len(c, created_len),
        Value::Summary(s) => summary_len(s, created_len),
        Value::Histogram(h) => histogram_len(h, created_len),
    };
    let ts = m.timestamp_ms.map_or(0, |t| varint_field(t as u64));
    let label_len = labels.map_or_else(|| labels_len(&m.labels), <[u8]>::len);
    Sizes {
        metric: label_len + len_field(value) + ts,
        labels,
        value,
        created,
    }
}

/// The length of a `Counter` whose created field takes `created` bytes.
#[inline]
fn counter_len(c: &CounterValue, created: usize) -> usize {
    DOUBLE_FIELD
        + c.exemplar
            .as_ref()
            .map_or(0, |e| len_field(exemplar_len(e)))
        + created
}

fn summary_len(s: &SummaryValue, created: usize) -> usize {
    // A quantile is two double fields.
    varint_field(s.sample_count)
        + DOUBLE_FIELD
        + s.quantiles.len() * len_field(2 * DOUBLE_FIELD)
        + created
}

fn histogram_len(h: &HistogramValue, created: usize) -> usize {
    let buckets: usize = h.buckets.iter().map(|b| len_field(bucket_len(b))).sum();
    let native = h.native.as_deref().map_or(0, native_len);
    varint_field(h.sample_count) + DOUBLE_FIELD + buckets + native + created
}

#[inline]
fn bucket_len(b: &Bucket) -> usize {
    varint_field(b.cumulative_count)
        + DOUBLE_FIELD
        + b.exemplar
            .as_ref()
            .map_or(0, |e| len_field(exemplar_len(e)))
}

fn native_len(n: &NativeHistogram) -> usize {
    let spans =
        |spans: &[BucketSpan]| -> usize { spans.iter().map(|s| len_field(span_len(s))).sum() };
    let deltas =
        |deltas: &[i64]| -> usize { deltas.iter().map(|&d| varint_field(zigzag64(d))).sum() };
    let exemplars: usize = n
        .exemplars
        .iter()
        .map(|e| NATIVE_EXEMPLARS_KEY.len() + varint_len(exemplar_len(e) as u64) + exemplar_len(e))
        .sum();
    let marker = if needs_marker_span(n) {
        len_field(span_len(&MARKER_SPAN))
    } else {
        0
    };
    varint_field(zigzag32(n.schema))
        + DOUBLE_FIELD
        + varint_field(n.zero_count)
        + spans(&n.negative_spans)
        + deltas(&n.negative_deltas)
        + spans(&n.positive_spans)
        + marker
        + deltas(&n.positive_deltas)
        + exemplars
}

/// The positive span client_golang adds to a native histogram with no
/// spans, no zero threshold and no zero count: without one, Prometheus
/// takes it for a classic histogram.
const MARKER_SPAN: BucketSpan = BucketSpan {
    offset: 0,
    length: 0,
};

/// Whether `n` would not be recognised as native without [`MARKER_SPAN`].
pub(crate) fn needs_marker_span(n: &NativeHistogram) -> bool {
    n.positive_spans.is_empty()
        && n.negative_spans.is_empty()
        && n.zero_threshold == 0.0
        && n.zero_count == 0
}

fn span_len(s: &BucketSpan) -> usize {
    varint_field(zigzag32(s.offset)) + varint_field(u64::from(s.length))
}

fn exemplar_len(e: &Exemplar) -> usize {
    let ts = e.timestamp.map(timestamp_parts);
    labels_len(&e.labels) + DOUBLE_FIELD + ts.map_or(0, |t| len_field(timestamp_len(t)))
}

/// Seconds and nanoseconds of a `google.protobuf.Timestamp`.
type Ts = (i64, u32);

/// A `google.protobuf.Timestamp`: proto3, so zero fields are left out.
#[inline]
fn timestamp_len((seconds, nanos): Ts) -> usize {
    let s = if seconds == 0 {
        0
    } else {
        varint_field(seconds as u64)
    };
    let n = if nanos == 0 {
        0
    } else {
        varint_field(u64::from(nanos))
    };
    s + n
}

/// Seconds and non-negative nanoseconds since the Unix epoch, as
/// `google.protobuf.Timestamp` holds them (before the epoch: seconds
/// rounded down, nanoseconds counting forward from there).
pub(crate) fn timestamp_parts(t: SystemTime) -> Ts {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(before) => {
            let d = before.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => (-secs, 0),
                n => (-secs - 1, 1_000_000_000 - n),
            }
        }
    }
}

#[inline]
const fn zigzag32(v: i32) -> u64 {
    ((v << 1) ^ (v >> 31)) as u32 as u64
}

#[inline]
const fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

// --- writers ---------------------------------------------------------------

#[inline(always)]
fn varint<O: Out>(o: &mut O, v: u64) {
    if v < 0x80 {
        o.byte(v as u8);
    } else if v < 1 << 56 {
        // Up to eight bytes: assembled in a register, stored at once.
        let (mut word, mut x, mut n) = (0u64, v, 0);
        while x >= 0x80 {
            word |= ((x & 0x7f) | 0x80) << (8 * n);
            x >>= 7;
            n += 1;
        }
        word |= x << (8 * n);
        o.word(word.to_le_bytes(), n + 1);
    } else {
        let mut x = v;
        while x >= 0x80 {
            o.byte(x as u8 | 0x80);
            x >>= 7;
        }
        o.byte(x as u8);
    }
}

#[inline]
fn double<O: Out>(o: &mut O, field: u8, v: f64) {
    o.byte(key(field, I64));
    o.word(v.to_bits().to_le_bytes(), 8);
}

#[inline]
fn bytes_field<O: Out>(o: &mut O, field: u8, s: &[u8]) {
    o.byte(key(field, LEN));
    varint(o, s.len() as u64);
    o.put(s);
}

/// The key and length prefix of a nested message of `n` bytes.
#[inline]
fn nested<O: Out>(o: &mut O, field: u8, n: usize) {
    o.byte(key(field, LEN));
    varint(o, n as u64);
}

fn write_family(out: &mut Vec<u8>, family: &MetricFamily, sizes: &[Sizes<'_>]) {
    bytes_field(out, 1, family.name.as_bytes());
    bytes_field(out, 2, family.help.as_bytes());
    out.extend_from_slice(&[key(3, VARINT), type_number(family.metric_type)]);
    for (m, s) in family.metrics.iter().zip(sizes) {
        // Within the family's reservation: `Room` checks every write
        // against the spare capacity, and debug builds check that the
        // series came out at the size computed for it.
        let n = s.metric;
        let before = out.len();
        {
            let mut room = Room::new(out, 1 + varint_len(n as u64) + n + WORD_SLACK);
            nested(&mut room, 4, n);
            match s.labels {
                Some(rendered) => room.put(rendered),
                None => write_labels(&mut room, &m.labels),
            }
            write_metric(&mut room, m, s);
        }
        debug_assert_eq!(out.len() - before, 1 + varint_len(n as u64) + n);
    }
    if let Some(unit) = &family.unit {
        bytes_field(out, 5, unit.as_bytes());
    }
}

/// Writes `labels` as `Metric.label` (or `Exemplar.label`) fields.
#[inline]
pub(crate) fn write_labels<O: Out>(o: &mut O, labels: &[LabelPair]) {
    for l in labels {
        let (name, value) = (l.name.as_bytes(), l.value.as_bytes());
        nested(o, 1, len_field(name.len()) + len_field(value.len()));
        bytes_field(o, 1, name);
        bytes_field(o, 2, value);
    }
}

/// A series after its labels.
#[inline]
fn write_metric<O: Out>(o: &mut O, m: &Metric, sizes: &Sizes<'_>) {
    let Sizes { value, created, .. } = *sizes;
    match &m.value {
        Value::Gauge(v) => {
            nested(o, 2, DOUBLE_FIELD);
            double(o, 1, *v);
        }
        Value::Counter(c) => {
            nested(o, 3, value);
            double(o, 1, c.value);
            if let Some(e) = &c.exemplar {
                nested(o, 2, exemplar_len(e));
                write_exemplar(o, e);
            }
            write_created(o, 3, created);
        }
        Value::Summary(s) => {
            nested(o, 4, value);
            write_summary(o, s, created);
        }
        Value::Untyped(v) => {
            nested(o, 5, DOUBLE_FIELD);
            double(o, 1, *v);
        }
        Value::Histogram(_) => {}
    }
    if let Some(t) = m.timestamp_ms {
        o.byte(key(6, VARINT));
        varint(o, t as u64);
    }
    if let Value::Histogram(h) = &m.value {
        nested(o, 7, value);
        write_histogram(o, h, created);
    }
}

fn write_summary<O: Out>(o: &mut O, s: &SummaryValue, created: Created<'_>) {
    o.byte(key(1, VARINT));
    varint(o, s.sample_count);
    double(o, 2, s.sample_sum);
    for q in &s.quantiles {
        nested(o, 3, 2 * DOUBLE_FIELD);
        double(o, 1, q.quantile);
        double(o, 2, q.value);
    }
    write_created(o, 4, created);
}

fn write_histogram<O: Out>(o: &mut O, h: &HistogramValue, created: Created<'_>) {
    o.byte(key(1, VARINT));
    varint(o, h.sample_count);
    double(o, 2, h.sample_sum);
    for b in &h.buckets {
        nested(o, 3, bucket_len(b));
        o.byte(key(1, VARINT));
        varint(o, b.cumulative_count);
        double(o, 2, b.upper_bound);
        if let Some(e) = &b.exemplar {
            nested(o, 3, exemplar_len(e));
            write_exemplar(o, e);
        }
    }
    if let Some(n) = h.native.as_deref() {
        write_native(o, n);
    }
    write_created(o, 15, created);
    if let Some(n) = h.native.as_deref() {
        for e in &n.exemplars {
            o.put(&NATIVE_EXEMPLARS_KEY);
            varint(o, exemplar_len(e) as u64);
            write_exemplar(o, e);
        }
    }
}

/// The native part up to its spans and deltas (fields 5 to 14); its
/// exemplars (16) come after the created timestamp (15).
fn write_native<O: Out>(o: &mut O, n: &NativeHistogram) {
    o.byte(key(5, VARINT));
    varint(o, zigzag32(n.schema));
    double(o, 6, n.zero_threshold);
    o.byte(key(7, VARINT));
    varint(o, n.zero_count);
    write_spans(o, 9, &n.negative_spans);
    write_deltas(o, 10, &n.negative_deltas);
    write_spans(o, 12, &n.positive_spans);
    if needs_marker_span(n) {
        write_spans(o, 12, &[MARKER_SPAN]);
    }
    write_deltas(o, 13, &n.positive_deltas);
}

fn write_spans<O: Out>(o: &mut O, field: u8, spans: &[BucketSpan]) {
    for s in spans {
        nested(o, field, span_len(s));
        o.byte(key(1, VARINT));
        varint(o, zigzag32(s.offset));
        o.byte(key(2, VARINT));
        varint(o, u64::from(s.length));
    }
}

fn write_deltas<O: Out>(o: &mut O, field: u8, deltas: &[i64]) {
    for &d in deltas {
        o.byte(key(field, VARINT));
        varint(o, zigzag64(d));
    }
}

fn write_exemplar<O: Out>(o: &mut O, e: &Exemplar) {
    write_labels(o, &e.labels);
    double(o, 2, e.value);
    if let Some(t) = e.timestamp {
        write_created(o, 3, Created::Parts(timestamp_parts(t)));
    }
}

#[inline]
fn write_created<O: Out>(o: &mut O, field: u8, created: Created<'_>) {
    match created {
        Created::Absent => {}
        Created::Rendered(bytes) => o.put(bytes),
        Created::Parts(t) => {
            nested(o, field, timestamp_len(t));
            write_timestamp(o, t);
        }
    }
}

/// Writes the created-timestamp field of `v` (if it has one) as
/// [`encode`] would, for a gather to keep; returns the time written.
pub(crate) fn write_created_field(out: &mut Vec<u8>, v: &Value) -> Option<SystemTime> {
    let (field, t) = created_of(v)?;
    write_created(out, field, Created::Parts(timestamp_parts(t)));
    Some(t)
}

#[inline]
fn write_timestamp<O: Out>(o: &mut O, (seconds, nanos): Ts) {
    if seconds != 0 {
        o.byte(key(1, VARINT));
        varint(o, seconds as u64);
    }
    if nanos != 0 {
        o.byte(key(2, VARINT));
        varint(o, u64::from(nanos));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths() {
        for (v, n) in [
            (0u64, 1),
            (1, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::from(u32::MAX), 5),
            (u64::MAX, 10),
        ] {
            assert_eq!(varint_len(v), n, "{v}");
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(out.len(), n, "{v}");
        }
    }

    #[test]
    fn zigzag_maps_small_magnitudes_to_small_numbers() {
        assert_eq!(zigzag32(0), 0);
        assert_eq!(zigzag32(-1), 1);
        assert_eq!(zigzag32(1), 2);
        assert_eq!(zigzag32(i32::MIN), u64::from(u32::MAX));
        assert_eq!(zigzag64(-2), 3);
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
    }

    #[test]
    fn timestamps_before_the_epoch_count_nanos_forward() {
        use std::time::Duration;
        let t = UNIX_EPOCH - Duration::new(1, 250_000_000);
        assert_eq!(timestamp_parts(t), (-2, 750_000_000));
        assert_eq!(
            timestamp_parts(UNIX_EPOCH - Duration::from_secs(3)),
            (-3, 0)
        );
        assert_eq!(timestamp_parts(UNIX_EPOCH + Duration::new(5, 7)), (5, 7));
    }
}
