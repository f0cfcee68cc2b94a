//! Choosing the exposition format from a scraper's `Accept` header, as
//! client_golang's `promhttp` does with OpenMetrics enabled
//! (prometheus/common `expfmt.NegotiateIncludingOpenMetrics`).
//!
//! Clauses are taken by decreasing `q` (ties: specific types before
//! wildcards, then header order); the first that names a format this
//! crate serves decides. Nothing acceptable, no header, `*/*` or a
//! browser's `text/html` get the text format 0.0.4. The `escaping`
//! parameter of the clauses read up to the deciding one (the last valid
//! one wins) says how names outside the legacy character set are written;
//! it is echoed in the `Content-Type`, `underscores` when none was given.
//!
//! Two deliberate differences from `expfmt`, both per RFC 9110: media
//! types and parameter names match case-insensitively, and a clause with
//! `q=0` is never chosen.

use std::fmt;

/// An exposition format a scraper can be answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Prometheus text, `text/plain; version=0.0.4`.
    Text,
    /// Prometheus text, `text/plain; version=1.0.0` (what Prometheus 3
    /// asks for): the same exposition, which may quote UTF-8 names when
    /// the escaping is `allow-utf-8`.
    TextV1,
    /// OpenMetrics text, `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
    /// `application/openmetrics-text; version=0.0.1`, the pre-1.0 name of
    /// the same exposition, which client_golang also answers.
    OpenMetricsV0_0_1,
    /// Length-delimited protobuf `io.prometheus.client.MetricFamily`
    /// messages.
    Protobuf,
}

impl Format {
    /// Every format, in the order client_golang prefers them when one
    /// `Accept` clause could name several.
    /// [`negotiate`] offers them all.
    pub const ALL: [Format; 5] = [
        Format::OpenMetrics,
        Format::OpenMetricsV0_0_1,
        Format::Protobuf,
        Format::TextV1,
        Format::Text,
    ];

    /// The media type and its parameters as a clause must name them
    /// (`charset` is never required).
    fn target(
        self,
    ) -> (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    ) {
        match self {
            Self::Text => ("text", "plain", &[("version", "0.0.4")]),
            Self::TextV1 => ("text", "plain", &[("version", "1.0.0")]),
            Self::OpenMetrics => ("application", "openmetrics-text", &[("version", "1.0.0")]),
            Self::OpenMetricsV0_0_1 => ("application", "openmetrics-text", &[("version", "0.0.1")]),
            Self::Protobuf => (
                "application",
                "vnd.google.protobuf",
                &[
                    ("proto", "io.prometheus.client.MetricFamily"),
                    ("encoding", "delimited"),
                ],
            ),
        }
    }
}

/// How names outside the legacy character set are written: the
/// `escaping` parameter of `Accept` and `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Escaping {
    /// `allow-utf-8`: names are written as they are, quoted where the
    /// format needs it (`{"my.metric"}`).
    AllowUtf8,
    /// `underscores`, the default: every invalid character becomes `_`.
    #[default]
    Underscores,
    /// `dots`: `.` becomes `_dot_`, `_` becomes `__`, anything else
    /// invalid `__`.
    Dots,
    /// `values`: names that need it get a `U__` prefix and each invalid
    /// character its code point in hex between underscores.
    Values,
}

impl Escaping {
    /// The parameter value: `allow-utf-8`, `underscores`, `dots` or
    /// `values`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AllowUtf8 => "allow-utf-8",
            Self::Underscores => "underscores",
            Self::Dots => "dots",
            Self::Values => "values",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "allow-utf-8" => Self::AllowUtf8,
            "underscores" => Self::Underscores,
            "dots" => Self::Dots,
            "values" => Self::Values,
            _ => return None,
        })
    }
}

impl fmt::Display for Escaping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of a negotiation: a format and an escaping scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Negotiated {
    /// The format to answer in.
    pub format: Format,
    /// How to write names outside the legacy character set.
    pub escaping: Escaping,
}

/// Every `Content-Type`, by format and then escaping, in the order of
/// [`Format::ALL`] and [`Escaping`]'s variants.
macro_rules! content_types {
    ($($base:expr),*) => {
        [$([
            concat!($base, "; escaping=allow-utf-8"),
            concat!($base, "; escaping=underscores"),
            concat!($base, "; escaping=dots"),
            concat!($base, "; escaping=values"),
        ]),*]
    };
}

const CONTENT_TYPES: [[&str; 4]; 5] = content_types!(
    "application/openmetrics-text; version=1.0.0; charset=utf-8",
    "application/openmetrics-text; version=0.0.1; charset=utf-8",
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
    "text/plain; version=1.0.0; charset=utf-8",
    "text/plain; version=0.0.4; charset=utf-8"
);

impl Negotiated {
    /// The `Content-Type` of the answer, with the escaping echoed:
    /// `text/plain; version=0.0.4; charset=utf-8; escaping=underscores`.
    #[must_use]
    pub fn content_type(&self) -> &'static str {
        let f = Format::ALL
            .iter()
            .position(|&f| f == self.format)
            .unwrap_or(Format::ALL.len() - 1);
        let e = match self.escaping {
            Escaping::AllowUtf8 => 0,
            Escaping::Underscores => 1,
            Escaping::Dots => 2,
            Escaping::Values => 3,
        };
        CONTENT_TYPES[f][e]
    }
}

/// Picks the format and escaping for an `Accept` header value (several
/// `Accept` headers joined with `,`), among all of [`Format::ALL`], as
/// promhttp does with OpenMetrics enabled.
///
/// # Examples
///
/// ```
/// use promclient::encoding::negotiate::{negotiate, Escaping, Format};
///
/// // Prometheus 3.
/// let n = negotiate(
///     "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,\
///      application/openmetrics-text;version=0.0.1;q=0.4,\
///      text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,\
///      text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
/// );
/// assert_eq!((n.format, n.escaping), (Format::OpenMetrics, Escaping::AllowUtf8));
/// assert_eq!(
///     n.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
/// );
///
/// // curl.
/// assert_eq!(negotiate("*/*").format, Format::Text);
/// ```
#[must_use]
pub fn negotiate(accept: &str) -> Negotiated {
    negotiate_among(accept, &Format::ALL)
}

/// As [`negotiate`], among the `offered` formats only (in the order to
/// prefer when one clause names several). Without a match the answer is
/// the text format 0.0.4 if offered, else the first offered format, else
/// text 0.0.4 anyway.
#[must_use]
pub fn negotiate_among(accept: &str, offered: &[Format]) -> Negotiated {
    let mut clauses: Vec<Clause<'_>> = accept.split(',').filter_map(Clause::parse).collect();
    // Stable: equal clauses keep their header order.
    clauses.sort_by(|a, b| {
        b.q.total_cmp(&a.q)
            .then((a.typ == "*").cmp(&(b.typ == "*")))
            .then((a.sub == "*").cmp(&(b.sub == "*")))
    });
    let mut escaping = Escaping::default();
    for c in clauses.iter().filter(|c| c.q > 0.0) {
        if let Some(e) = c.param("escaping").and_then(Escaping::parse) {
            escaping = e;
        }
        if let Some(&format) = offered.iter().find(|&&f| c.matches(f)) {
            return Negotiated { format, escaping };
        }
    }
    let format = if offered.is_empty() || offered.contains(&Format::Text) {
        Format::Text
    } else {
        offered[0]
    };
    Negotiated { format, escaping }
}

/// One media range of an `Accept` header, borrowed from it.
struct Clause<'a> {
    typ: &'a str,
    sub: &'a str,
    params: Vec<(&'a str, &'a str)>,
    q: f32,
}

impl<'a> Clause<'a> {
    fn parse(s: &'a str) -> Option<Self> {
        let mut parts = s.split(';');
        let range = parts.next()?.trim();
        let (typ, sub) = match range.split_once('/') {
            Some((t, s)) => (t.trim(), s.trim()),
            None if range == "*" => ("*", "*"),
            None => return None,
        };
        if typ.is_empty() || sub.is_empty() {
            return None;
        }
        let mut q = 1.0;
        let mut params = Vec::new();
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim().trim_matches('"'));
            if k.eq_ignore_ascii_case("q") {
                // Unparsable weights count as 0, as in client_golang.
                q = v.parse().unwrap_or(0.0);
            } else {
                params.push((k, v));
            }
        }
        Some(Self {
            typ,
            sub,
            params,
            q,
        })
    }

    fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }

    /// Whether this clause names `format`: the type and subtype match
    /// (or are `*`), and so does each parameter the format requires; a
    /// missing version means 0.0.4 for `text/plain` and 0.0.1 for
    /// OpenMetrics.
    fn matches(&self, format: Format) -> bool {
        let (typ, sub, required) = format.target();
        let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        if !(self.typ == "*" || is(self.typ, typ)) || !(self.sub == "*" || is(self.sub, sub)) {
            return false;
        }
        let default_version = if is(self.typ, "text") && is(self.sub, "plain") {
            Some("0.0.4")
        } else if is(self.typ, "application") && is(self.sub, "openmetrics-text") {
            Some("0.0.1")
        } else {
            None
        };
        required.iter().all(|&(k, want)| {
            let got = match self.param(k) {
                None if k == "version" => default_version,
                got => got,
            };
            got == Some(want)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_and_escaping_has_its_content_type() {
        for f in Format::ALL {
            for e in [
                Escaping::AllowUtf8,
                Escaping::Underscores,
                Escaping::Dots,
                Escaping::Values,
            ] {
                let ct = Negotiated {
                    format: f,
                    escaping: e,
                }
                .content_type();
                assert!(ct.ends_with(&format!("; escaping={e}")), "{ct}");
                let (typ, sub, params) = f.target();
                assert!(ct.starts_with(&format!("{typ}/{sub}; ")), "{ct}");
                for (k, v) in params {
                    assert!(ct.contains(&format!("{k}={v}")), "{ct}");
                }
            }
        }
    }
}
