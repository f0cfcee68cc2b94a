//! What a scrape asks for, read from its request: compression, the
//! `name[]` filter; and Go's duration text for the timeout message.

use std::fmt::Write as _;
use std::time::Duration;

/// Whether gzip wins the `Accept-Encoding` values (several headers joined
/// with `,`) among promhttp's offers, `identity` then `gzip`: the offer
/// named (or matched by `*`) with the highest `q` wins, `identity` on a
/// tie, and nothing is compressed when the best `q` is 0 or nothing names
/// an offer.
pub(super) fn wants_gzip(accept_encoding: &str) -> bool {
    let mut best: Option<(&str, f32)> = None;
    for offer in ["identity", "gzip"] {
        for clause in accept_encoding.split(',') {
            let mut parts = clause.split(';');
            let coding = parts.next().unwrap_or("").trim();
            if coding.is_empty() {
                continue;
            }
            let mut q = Some(1.0f32);
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    if k.trim().eq_ignore_ascii_case("q") {
                        // A weight outside [0, 1] drops the clause, as
                        // gddo's parser does.
                        q = v.trim().parse().ok().filter(|q| (0.0..=1.0).contains(q));
                    }
                }
            }
            let Some(q) = q else {
                continue;
            };
            let named = coding == "*" || coding.eq_ignore_ascii_case(offer);
            if named && best.is_none_or(|(_, b)| q > b) {
                best = Some((offer, q));
            }
        }
    }
    matches!(best, Some(("gzip", q)) if q > 0.0)
}

/// The values of every `name[]` parameter of a query string (decoded as a
/// form: `%XX` escapes, `+` for space), or `None` without any. Pairs with
/// a malformed escape are skipped, as Go's `URL.Query` does.
pub(super) fn name_filter(query: Option<&str>) -> Option<Vec<String>> {
    let mut names: Option<Vec<String>> = None;
    for pair in query?.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if let (Some(k), Some(v)) = (form_decode(k), form_decode(v)) {
            if k == "name[]" {
                names.get_or_insert_with(Vec::new).push(v);
            }
        }
    }
    names
}

fn form_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let hi = hex(*b.get(i + 1)?)?;
                let lo = hex(*b.get(i + 2)?)?;
                // Two hex digits: at most 255.
                out.push(u8::try_from(hi * 16 + lo).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
/// `d` as Go's `time.Duration.String` writes it (`1.5s`, `250ms`,
/// `1m30s`, `2h0m0s`), for the timeout message promhttp sends.
pub(super) fn go_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    let mut s = String::new();
    if ns == 0 {
        return "0s".to_owned();
    }
    if ns < 1_000 {
        let _ = write!(s, "{ns}ns");
    } else if ns < 1_000_000 {
        fraction(&mut s, ns, 1_000);
        s.push_str("µs");
    } else if ns < 1_000_000_000 {
        fraction(&mut s, ns, 1_000_000);
        s.push_str("ms");
    } else {
        let secs = ns / 1_000_000_000;
        let (h, m) = (secs / 3600, secs / 60 % 60);
        if h > 0 {
            let _ = write!(s, "{h}h{m}m");
        } else if m > 0 {
            let _ = write!(s, "{m}m");
        }
        fraction(&mut s, ns % 60_000_000_000, 1_000_000_000);
        s.push('s');
    }
    s
}

#[cfg_attr(not(feature = "tokio"), allow(dead_code))]
/// `n / unit` with its decimal fraction, trailing zeros dropped.
fn fraction(s: &mut String, n: u128, unit: u128) {
    let _ = write!(s, "{}", n / unit);
    let rem = n % unit;
    if rem != 0 {
        let digits = unit.ilog10() as usize;
        let frac = format!("{rem:0digits$}");
        let _ = write!(s, ".{}", frac.trim_end_matches('0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_chosen_as_promhttp_negotiates_it() {
        // As gddo's `NegotiateContentEncoding` with the offers identity and
        // gzip, except that codings match case-insensitively (RFC 9110).
        for (header, gzip) in [
            ("gzip", true),
            ("gzip, deflate, br, zstd", true), // browsers
            ("GZIP", true),
            ("identity", false),
            ("", false),
            ("*", false), // identity is offered first and ties win
            ("gzip;q=0", false),
            ("gzip;q=0.5, identity", false),
            ("gzip, identity;q=0.5", true),
            ("deflate", false),
            ("br;q=1.0, gzip;q=0.8, *;q=0.1", true),
            ("gzip, identity;q=NaN", true),
            ("gzip;q=2", false),
            ("gzip;q=-1", false),
            ("gzip;q=x", false),
        ] {
            assert_eq!(wants_gzip(header), gzip, "{header:?}");
        }
    }

    #[test]
    fn name_filters_are_decoded_like_go_url_query() {
        assert_eq!(name_filter(None), None);
        assert_eq!(name_filter(Some("")), None);
        assert_eq!(name_filter(Some("debug=1")), None);
        assert_eq!(
            name_filter(Some("name[]=a_total&x=1&name%5B%5D=b%3Ac&name[]=")),
            Some(vec!["a_total".to_owned(), "b:c".to_owned(), String::new()])
        );
        assert_eq!(
            name_filter(Some("name[]=bad%zz&name[]=ok+x")),
            Some(vec!["ok x".to_owned()])
        );
        assert_eq!(name_filter(Some("name[]=%")), None);
    }

    #[test]
    fn durations_read_as_go_prints_them() {
        for (d, go) in [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(15), "15ns"),
            (Duration::from_micros(1), "1µs"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_micros(2_500), "2.5ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_millis(90_250), "1m30.25s"),
            (Duration::from_secs(7_200), "2h0m0s"),
            (Duration::from_secs(3_723), "1h2m3s"),
        ] {
            assert_eq!(go_duration(d), go, "{d:?}");
        }
    }
}
