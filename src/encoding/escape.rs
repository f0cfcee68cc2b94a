//! Names outside the legacy character set, written as the scraper's
//! `escaping` asks (prometheus/common `EscapeMetricFamily`): quoted as they
//! are under `allow-utf-8`, rewritten into the legacy set otherwise.
//!
//! Families whose names are all legacy are written unchanged in every
//! scheme (as in client_golang, even `dots` leaves a legacy name alone).
//! The others are copied with their names rewritten, or, under
//! `allow-utf-8`, with their name turned into a *quoted name*: a `"`
//! followed by the name escaped as a label value, without the closing
//! quote. No legacy name starts with `"`, so the text writers recognise a
//! quoted name by its first byte and write `{"my.metric_bucket",le="1"}`
//! where a legacy name gives `my_metric_bucket{le="1"}`.

use std::sync::Arc;

use crate::desc::{is_valid_label_name, is_valid_metric_name};
use crate::encoding::format::write_escaped_label_value;
use crate::encoding::negotiate::Escaping;
use crate::error::EncodeError;
use crate::snapshot::{LabelPair, Metric, MetricFamily, Value};

/// Writes `family` with `write`, first as it is, requiring legacy names
/// (`write(family, as_is: true, utf8: false, out)`: the caller may use
/// text a gather rendered for it). If a name turns out not to be legacy
/// (an [`EncodeError::InvalidName`] for a name that is not empty), what
/// was written of the family is undone and the family is written again as
/// `escaping` exposes it ([`escaped_family`]), quoted names allowed under
/// `allow-utf-8`.
///
/// Legacy families, nearly all of them, thus pay nothing for escaping:
/// the writers check names as they go anyway.
pub(crate) fn with_escaping(
    family: &MetricFamily,
    escaping: Escaping,
    out: &mut Vec<u8>,
    mut write: impl FnMut(&MetricFamily, bool, bool, &mut Vec<u8>) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = out.len();
    match write(family, true, false, out) {
        Err(EncodeError::InvalidName { name }) if !name.is_empty() => {
            out.truncate(start);
            let escaped = escaped_family(family, escaping);
            let utf8 = escaping == Escaping::AllowUtf8;
            write(&escaped, false, utf8, out).map_err(|e| blame(e, &family.name))
        }
        r => r,
    }
}

/// An error about an escaped family, naming the family as it was given.
pub(crate) fn blame(e: EncodeError, name: &str) -> EncodeError {
    match e {
        EncodeError::TypeMismatch { .. } => EncodeError::TypeMismatch {
            metric: name.to_owned(),
        },
        EncodeError::InvalidHistogram { .. } => EncodeError::InvalidHistogram {
            metric: name.to_owned(),
        },
        EncodeError::InvalidSummary { .. } => EncodeError::InvalidSummary {
            metric: name.to_owned(),
        },
        e => e,
    }
}

/// Whether every label name of `m` is legacy, skipping names shared (the
/// same `Arc`) with `prev`, the family's previous series, whose names
/// were legacy.
pub(crate) fn labels_legacy(m: &Metric, prev: Option<&Metric>) -> bool {
    m.labels.iter().enumerate().all(|(j, l)| {
        prev.and_then(|p| p.labels.get(j))
            .is_some_and(|p| Arc::ptr_eq(&p.name, &l.name))
            || is_valid_label_name(&l.name)
    })
}

/// Writes `{a="x",b="y"` (no closing brace) as
/// [`write_labels_open`](crate::encoding::text::write_labels_open) does,
/// quoting names outside the legacy set: `{"my.label"="x"`.
pub(crate) fn write_labels_quoting(out: &mut Vec<u8>, labels: &[LabelPair]) {
    let mut sep = b'{';
    for l in labels {
        out.push(sep);
        sep = b',';
        if is_valid_label_name(&l.name) {
            out.extend_from_slice(l.name.as_bytes());
        } else {
            out.push(b'"');
            write_escaped_label_value(out, &l.name);
            out.push(b'"');
        }
        out.extend_from_slice(b"=\"");
        write_escaped_label_value(out, &l.value);
        out.push(b'"');
    }
}

/// Whether `name` is a quoted name (see the module docs).
#[inline]
pub(crate) fn is_quoted(name: &str) -> bool {
    name.as_bytes().first() == Some(&b'"')
}

/// The family as `escaping` exposes it, for a family that is not all
/// legacy: under `allow-utf-8` its name quoted (label names are quoted
/// where they are written); otherwise every name outside the legacy set
/// rewritten.
pub(crate) fn escaped_family(family: &MetricFamily, escaping: Escaping) -> MetricFamily {
    let name: Arc<str> = if is_valid_metric_name(&family.name) {
        family.name.clone()
    } else if escaping == Escaping::AllowUtf8 {
        let mut q = vec![b'"'];
        write_escaped_label_value(&mut q, &family.name);
        // Escaping keeps valid UTF-8 valid.
        Arc::from(String::from_utf8_lossy(&q).as_ref())
    } else {
        Arc::from(escape_name(&family.name, escaping, false))
    };
    let mut metrics = family.metrics.clone();
    if escaping != Escaping::AllowUtf8 {
        for m in &mut metrics {
            escape_labels(&mut m.labels, escaping);
            // Exemplars' label names too, which prometheus/common leaves
            // alone (and then fails to write).
            match &mut m.value {
                Value::Counter(c) => {
                    if let Some(e) = &mut c.exemplar {
                        escape_labels(&mut e.labels, escaping);
                    }
                }
                Value::Histogram(h) => {
                    for e in h.buckets.iter_mut().filter_map(|b| b.exemplar.as_mut()) {
                        escape_labels(&mut e.labels, escaping);
                    }
                    if let Some(n) = &mut h.native {
                        for e in &mut n.exemplars {
                            escape_labels(&mut e.labels, escaping);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    MetricFamily {
        name,
        help: family.help.clone(),
        metric_type: family.metric_type,
        unit: family.unit.clone(),
        metrics,
    }
}

/// Rewrites the label names outside the legacy set.
fn escape_labels(labels: &mut [LabelPair], escaping: Escaping) {
    if labels.iter().all(|l| is_valid_label_name(&l.name)) {
        return;
    }
    for l in labels {
        if !is_valid_label_name(&l.name) {
            l.name = Arc::from(escape_name(&l.name, escaping, true));
        }
    }
}

/// Whether `c`, at char index `i`, is legacy: letters, `_`, digits after
/// the first character, and `:` in metric names.
fn legacy_char(c: char, i: usize, label: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (!label && c == ':') || (i > 0 && c.is_ascii_digit())
}

/// `name` rewritten into the legacy set by `escaping` (prometheus/common's
/// `EscapeName`; for label names `:` counts as invalid too, as label names
/// never allow it). `allow-utf-8` leaves it unchanged.
pub(crate) fn escape_name(name: &str, escaping: Escaping, label: bool) -> String {
    let legacy = if label {
        is_valid_label_name(name)
    } else {
        is_valid_metric_name(name)
    };
    let mut out = String::with_capacity(name.len() + 8);
    if name.is_empty() {
        // Stays invalid in every scheme.
        return out;
    }
    match escaping {
        Escaping::AllowUtf8 => out.push_str(name),
        Escaping::Underscores if legacy => out.push_str(name),
        Escaping::Underscores => {
            for (i, c) in name.chars().enumerate() {
                out.push(if legacy_char(c, i, label) { c } else { '_' });
            }
        }
        Escaping::Dots => {
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    '.' => out.push_str("_dot_"),
                    c if legacy_char(c, i, label) => out.push(c),
                    _ => out.push_str("__"),
                }
            }
        }
        Escaping::Values if legacy => out.push_str(name),
        Escaping::Values => {
            out.push_str("U__");
            for (i, c) in name.chars().enumerate() {
                match c {
                    '_' => out.push_str("__"),
                    c if legacy_char(c, i, label) => out.push(c),
                    c => {
                        use std::fmt::Write as _;
                        let _ = write!(out, "_{:x}_", u32::from(c));
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_escape_as_prometheus_common_escapes_them() {
        use Escaping::*;
        for (name, scheme, want) in [
            ("my.metric", Underscores, "my_metric"),
            ("my.metric", Dots, "my_dot_metric"),
            ("my.metric", Values, "U__my_2e_metric"),
            ("my.metric", AllowUtf8, "my.metric"),
            ("my_metric.x", Dots, "my__metric_dot_x"),
            ("my_metric.x", Values, "U__my__metric_2e_x"),
            ("2xx", Underscores, "_xx"),
            ("2xx", Values, "U___32_xx"),
            ("2xx", Dots, "__xx"),
            ("", Values, ""),
            ("température", Underscores, "temp_rature"),
            ("température", Values, "U__temp_e9_rature"),
            ("température", Dots, "temp__rature"),
            ("🦀", Values, "U___1f980_"),
            ("legacy_name", Underscores, "legacy_name"),
            ("legacy_name", Values, "legacy_name"),
            // `dots` rewrites underscores even in legacy names (callers
            // only pass it names that need escaping).
            ("legacy_name", Dots, "legacy__name"),
            ("a:b", Underscores, "a:b"),
        ] {
            assert_eq!(escape_name(name, scheme, false), want, "{name} {scheme}");
        }
        assert_eq!(escape_name("a:b", Escaping::Underscores, true), "a_b");
        assert_eq!(escape_name("a.b", Escaping::Dots, true), "a_dot_b");
    }

    #[test]
    fn escaped_names_are_legacy() {
        for name in ["my.metric", "2xx", "température", "🦀", "a b\"c", "_", "é"] {
            for scheme in [Escaping::Underscores, Escaping::Dots, Escaping::Values] {
                let m = escape_name(name, scheme, false);
                assert!(is_valid_metric_name(&m), "{name} {scheme}: {m}");
                let l = escape_name(name, scheme, true);
                assert!(is_valid_label_name(&l), "{name} {scheme}: {l}");
            }
        }
    }
}
