//! The Prometheus text exposition format, version 0.0.4.
//!
//! Output is byte-identical to client_golang's `expfmt` for the same
//! families: HELP escapes `\` and newline, label values also `"`; numbers
//! are Go's shortest `'g'` formatting (`1e+06`, `1.5e-05`, `+Inf`, `NaN`);
//! histogram lines come as `_bucket` (with `le`, ending in `+Inf`), `_sum`,
//! `_count`; summary lines as quantiles, `_sum`, `_count`.

use crate::desc::{is_valid_label_name, is_valid_metric_name};
use crate::encoding::format::{
    write_escaped_help, write_escaped_label_value, write_float, write_i64,
};
use crate::error::EncodeError;
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
pub fn encode(families: &[MetricFamily], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut le = LeCache::default();
    for family in families {
        encode_family(family, out, &mut le)?;
    }
    Ok(())
}

fn encode_family(
    family: &MetricFamily,
    out: &mut Vec<u8>,
    le: &mut LeCache,
) -> Result<(), EncodeError> {
    if family.metrics.is_empty() {
        return Ok(());
    }
    let name = &*family.name;
    if !is_valid_metric_name(name) {
        return Err(EncodeError::InvalidName {
            name: name.to_string(),
        });
    }
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    write_escaped_help(out, &family.help);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    out.extend_from_slice(family.metric_type.as_str().as_bytes());
    out.push(b'\n');
    for m in &family.metrics {
        if m.value.metric_type() != family.metric_type {
            return Err(EncodeError::TypeMismatch {
                metric: name.to_string(),
            });
        }
        // Instruments validate label names; hand-built snapshots may not.
        if let Some(l) = m.labels.iter().find(|l| !is_valid_label_name(&l.name)) {
            return Err(EncodeError::InvalidName {
                name: l.name.to_string(),
            });
        }
        match &m.value {
            Value::Counter(c) => sample(out, name, "", m, None, c.value),
            Value::Gauge(v) | Value::Untyped(v) => sample(out, name, "", m, None, *v),
            Value::Summary(s) => {
                for q in &s.quantiles {
                    le.quantile.clear();
                    write_float(&mut le.quantile, q.quantile);
                    sample(out, name, "", m, Some(("quantile", &le.quantile)), q.value);
                }
                sample(out, name, "_sum", m, None, s.sample_sum);
                sample(out, name, "_count", m, None, s.sample_count as f64);
            }
            Value::Histogram(h) => histogram(out, name, m, h, le),
        }
    }
    Ok(())
}

fn histogram(out: &mut Vec<u8>, name: &str, m: &Metric, h: &HistogramValue, le: &mut LeCache) {
    le.load(h);
    for (i, b) in h.buckets.iter().enumerate() {
        sample(
            out,
            name,
            "_bucket",
            m,
            Some(("le", le.get(i))),
            b.cumulative_count as f64,
        );
    }
    if h.buckets
        .last()
        .is_none_or(|b| b.upper_bound != f64::INFINITY)
    {
        sample(
            out,
            name,
            "_bucket",
            m,
            Some(("le", b"+Inf")),
            h.sample_count as f64,
        );
    }
    sample(out, name, "_sum", m, None, h.sample_sum);
    sample(out, name, "_count", m, None, h.sample_count as f64);
}

/// One line: `name suffix {labels[,extra]} value [timestamp]`.
#[inline]
fn sample(
    out: &mut Vec<u8>,
    name: &str,
    suffix: &str,
    m: &Metric,
    extra: Option<(&str, &[u8])>,
    value: f64,
) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(suffix.as_bytes());
    labels(out, &m.labels, extra);
    out.push(b' ');
    write_float(out, value);
    if let Some(ts) = m.timestamp_ms {
        out.push(b' ');
        write_i64(out, ts);
    }
    out.push(b'\n');
}

#[inline]
fn labels(out: &mut Vec<u8>, labels: &[LabelPair], extra: Option<(&str, &[u8])>) {
    if labels.is_empty() && extra.is_none() {
        return;
    }
    let mut sep = b'{';
    for l in labels {
        out.push(sep);
        sep = b',';
        out.extend_from_slice(l.name.as_bytes());
        out.extend_from_slice(b"=\"");
        write_escaped_label_value(out, &l.value);
        out.push(b'"');
    }
    if let Some((name, value)) = extra {
        out.push(sep);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"=\"");
        out.extend_from_slice(value);
        out.push(b'"');
    }
    out.push(b'}');
}

/// Formatted `le` values of the last bucket layout seen: series of one
/// histogram family share their bounds, so each is formatted once.
#[derive(Default)]
struct LeCache {
    bounds: Vec<u64>,
    text: Vec<u8>,
    ends: Vec<usize>,
    /// Scratch for one formatted `quantile` value, reused for every
    /// summary line so quantiles cost no allocation per line.
    quantile: Vec<u8>,
}

impl LeCache {
    fn load(&mut self, h: &HistogramValue) {
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
        for b in &h.buckets {
            self.bounds.push(b.upper_bound.to_bits());
            write_float(&mut self.text, b.upper_bound);
            self.ends.push(self.text.len());
        }
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}
