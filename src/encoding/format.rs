//! Number formatting and string escaping shared by the text encoders.
//!
//! Everything here appends to a caller-owned [`Out`] (a `Vec<u8>`, or a
//! [`Room`](super::room::Room) reserved for a line) and allocates nothing
//! else: these run once per sample on the hot path of every scrape.
//!
//! Floats follow client_golang's `writeFloat` (prometheus/common `expfmt`):
//! `0` for both zeros, `+Inf`, `-Inf`, `NaN`, and otherwise Go's
//! `strconv.AppendFloat(f, 'g', -1, 64)`, whose rule is spelled out on
//! [`write_float`].

use super::room::Out;

/// Appends `v` exactly as client_golang's text format 0.0.4 writes a sample
/// value.
///
/// That is Go's `strconv.FormatFloat(v, 'g', -1, 64)` (Go `strconv/ftoa.go`,
/// `formatDigits`), with client_golang's special cases: both zeros are `0`,
/// infinities are `+Inf` / `-Inf`, every NaN is `NaN`.
///
/// Go's rule for `'g'` with shortest precision: take the shortest digits
/// `d1 d2 .. dn` that parse back to `v` and the decimal exponent
/// `x` of `d1` (so `v = d1.d2..dn * 10^x`). If `x < -4 || x >= 6` write
/// `%e`: `d1`, then `.d2..dn` if `n > 1`, then `e`, the exponent's sign and
/// at least two exponent digits (`1e+06`, `1.5e-05`, `5e-324`). Otherwise
/// write plain decimal without an exponent and without trailing zeros
/// (`100000`, `0.0001`, `12345.678`).
///
/// Always inlined, as is [`write_count`]: left to the compiler, both were
/// calls on the scrape bench's registry (a counter line, a bucket line),
/// and its text encode took 4.99M instructions against 4.88M inlined
/// (callgrind).
#[inline(always)]
pub(crate) fn write_float(out: &mut impl Out, v: f64) {
    // Integral values below 1e6 print as plain integers in Go's %g, and they
    // are most of what counters and bucket counts hold; `== 0.0` also folds
    // -0.0 into `0` as client_golang does. NaN fails the comparison.
    if v.abs() < 1e6 {
        // Exact: |v| < 1e6 fits i64, and the round trip says whether v has
        // a fractional part (a truncating convert, cheaper than `trunc`).
        let i = v as i64;
        if i as f64 == v {
            if i < 0 {
                out.byte(b'-');
            }
            write_small(out, i.unsigned_abs());
            return;
        }
    }
    write_float_other(out, v);
}

/// Appends `v` as client_golang's OpenMetrics encoder does: as
/// [`write_float`], plus `.0` when that has neither a `.` nor an `e`, which
/// is exactly the whole numbers below 1e6 (`1.0`, `0.0` for both zeros,
/// `100000.0`; but `1e+06`, `0.5`, `+Inf`, `NaN`).
///
/// Always inlined: called, the OpenMetrics encode of the scrape bench's
/// registry took 5.82M instructions (callgrind) and 1.16x the text
/// encode's time (median of 100 alternating slots); inlined, 5.77M and
/// 1.12x.
#[inline(always)]
pub(crate) fn write_float_om(out: &mut impl Out, v: f64) {
    if v.abs() < 1e6 {
        let i = v as i64;
        if i as f64 == v {
            if i < 0 {
                out.byte(b'-');
            }
            // At most six digits: `.0` fits in the same word.
            let (digits, len) = small_word(i.unsigned_abs());
            let point_zero = u64::from(u16::from_le_bytes(*b".0")) << (8 * len);
            out.word((digits | point_zero).to_le_bytes(), len + 2);
            return;
        }
    }
    write_float_other(out, v);
}

/// The most bytes [`write_float_om`] writes.
pub(crate) const FLOAT_OM_MAX: usize = FLOAT_MAX + 2;

/// Appends `n` in decimal, as OpenMetrics writes counts (never in
/// exponent form, unlike the text format's [`write_count`]). Always
/// inlined: called, it cost the OpenMetrics encode of the scrape bench's
/// registry 6.36M instructions against 6.28M (callgrind).
#[inline(always)]
pub(crate) fn write_u64(out: &mut impl Out, n: u64) {
    if n < 1_000_000 {
        write_small(out, n);
    } else {
        out.put(itoa::Buffer::new().format(n).as_bytes());
    }
}

/// [`write_float`] for everything but small whole numbers.
///
/// Formats into a buffer of its own and appends that with one `put`: a
/// line writer's [`Room`](super::room::Room) then never has its address
/// taken by a call, so the compiler keeps its fields in registers for the
/// whole line instead of in memory. With [`write_i64`] inlined for the
/// same reason, the text encode of the scrape bench's registry took 4.62M
/// instructions, against 4.72M when both took the room (callgrind).
#[inline(always)]
fn write_float_other(out: &mut impl Out, v: f64) {
    out.put(float_other(v).as_bytes());
}

/// The text [`write_float_other`] appends.
#[inline(never)]
fn float_other(v: f64) -> Text {
    let mut text = Text::default();
    float_other_into(&mut text, v);
    text
}

/// Up to [`FLOAT_MAX`] bytes of formatted number, on the stack.
#[derive(Default)]
struct Text {
    /// `FLOAT_MAX` plus the 8 bytes an [`Out::word`] may store past the
    /// end of what it keeps.
    buf: [u8; FLOAT_MAX + 8],
    len: usize,
}

impl Text {
    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

/// Writes past [`FLOAT_MAX`] bytes are a bug in this module; they panic
/// (slice bounds) rather than truncate.
impl Out for Text {
    #[inline]
    fn put(&mut self, s: &[u8]) {
        self.buf[self.len..self.len + s.len()].copy_from_slice(s);
        self.len += s.len();
    }

    #[inline]
    fn byte(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    #[inline]
    fn word(&mut self, word: [u8; 8], n: usize) {
        self.buf[self.len..self.len + 8].copy_from_slice(&word);
        self.len += n.min(8);
    }
}

/// [`write_float_other`]'s formatting, into any [`Out`].
#[inline(always)]
fn float_other_into(out: &mut impl Out, v: f64) {
    if v.is_nan() {
        out.put(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.put(if v > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }

    // Whole numbers below 2^53 (byte counts, large counters): the shortest
    // round-trip digits are the integer's own, trailing zeros dropped, as
    // doubles there are at most 1 apart. Spares the float printer.
    if v.abs() < 9_007_199_254_740_992.0 {
        let i = v as i64;
        if i as f64 == v {
            write_whole_exponent(out, i);
            return;
        }
    }

    // What an unlimited resource limit reports (2^64, from u64::MAX).
    if v == UNLIMITED {
        out.put(b"1.8446744073709552e+19");
        return;
    }

    let few = Digits::few_decimals(v.abs());
    let mut ryu_buf = ryu::Buffer::new();
    let d = match few {
        Some(d) => d,
        // Not whole, so ryu writes `1234.5` or `0.000123`: its shortest
        // digits without an exponent from 1e-5 up to 1e16, and Go's `%g`
        // also goes without one from 1e-4 up to 1e6. In that range the two
        // agree byte for byte, sign included, and the digits need not be
        // read back (a sum of seconds or bytes is usually here).
        None if (1e-4..1e6).contains(&v.abs()) => {
            out.put(ryu_buf.format_finite(v).as_bytes());
            return;
        }
        None => Digits::shortest(v.abs(), &mut ryu_buf),
    };
    let digits = d.as_slice();
    // Longest output (`FLOAT_MAX` bytes): sign, 17 digits, '.', 'e',
    // exponent sign, 3 digits.
    if v.is_sign_negative() {
        out.byte(b'-');
    }

    let exp = d.dp - 1;
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        out.put(first);
        if !rest.is_empty() {
            out.byte(b'.');
            out.put(rest);
        }
        out.byte(b'e');
        out.byte(if exp < 0 { b'-' } else { b'+' });
        let e = exp.unsigned_abs();
        if e >= 100 {
            out.byte(b'0' + (e / 100) as u8);
        }
        out.byte(b'0' + (e / 10 % 10) as u8);
        out.byte(b'0' + (e % 10) as u8);
    } else if d.dp > 0 {
        // 1 <= dp <= 6: the integer part has dp digits, zero-padded.
        let dp = d.dp as usize;
        if digits.len() <= dp {
            out.put(digits);
            out.put(&b"000000"[..dp - digits.len()]);
        } else {
            let (int, frac) = digits.split_at(dp);
            out.put(int);
            out.byte(b'.');
            out.put(frac);
        }
    } else {
        // -3 <= dp <= 0: `0.` then -dp zeros, then the digits.
        out.put(b"0.");
        out.put(&b"000"[..d.dp.unsigned_abs() as usize]);
        out.put(digits);
    }
}

/// The most bytes [`write_float`] and [`write_count`] write.
pub(crate) const FLOAT_MAX: usize = 24;

/// The most bytes [`write_i64`] writes.
pub(crate) const I64_MAX: usize = 20;

/// Appends a whole `i` with `1e6 <= |i| < 2^53` in Go's `%e` shape:
/// `-1.234e+06`.
fn write_whole_exponent(out: &mut impl Out, i: i64) {
    let mut buf = itoa::Buffer::new();
    let all = buf.format(i.unsigned_abs()).as_bytes();
    let digits = &all[..all.iter().rposition(|&d| d != b'0').map_or(1, |p| p + 1)];
    let exp = all.len() - 1;
    debug_assert!((6..16).contains(&exp));
    if i < 0 {
        out.byte(b'-');
    }
    out.byte(digits[0]);
    if digits.len() > 1 {
        out.byte(b'.');
        out.put(&digits[1..]);
    }
    out.put(b"e+");
    out.byte(b'0' + (exp / 10) as u8);
    out.byte(b'0' + (exp % 10) as u8);
}

/// Appends a count as client_golang writes it: converted to a float and
/// formatted as [`write_float`] does, which for counts below 1e6 is the
/// plain integer.
#[inline(always)]
pub(crate) fn write_count(out: &mut impl Out, n: u64) {
    if n < 1_000_000 {
        write_small(out, n);
    } else {
        write_float_other(out, n as f64);
    }
}

/// Two-digit pairs `00` to `99`.
const PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends `n < 1_000_000` in decimal without a branch on its size: the six
/// zero-padded digits are built in one word from three digit pairs, the
/// leading zeros shifted out, and the word appended whole. Numbers of
/// mixed widths (counts, bucket counts) would mispredict a loop or a
/// length switch.
#[inline(always)]
fn write_small(out: &mut impl Out, n: u64) {
    let (word, len) = small_word(n);
    out.word(word.to_le_bytes(), len);
}

/// `n < 1_000_000` in decimal as [`write_small`] writes it: the digits in
/// the low bytes of a word (first digit lowest), and their count.
#[inline(always)]
fn small_word(n: u64) -> (u64, usize) {
    debug_assert!(n < 1_000_000);
    // Callers checked the bound, some on a float the compiler cannot
    // carry over: the clamp proves the table indices below in range (one
    // compare, where three bounds checks stood).
    let n = (n as u32).min(999_999);
    let hi = n / 10_000;
    let rest = n - hi * 10_000;
    let mid = rest / 100;
    let lo = rest - mid * 100;
    let pair = |p: u32| {
        let i = p as usize * 2;
        u64::from(u16::from_le_bytes([PAIRS[i], PAIRS[i + 1]]))
    };
    // Little-endian: the first character in the lowest byte.
    let padded = pair(hi) | pair(mid) << 16 | pair(lo) << 32;
    let len = 1
        + usize::from(n >= 10)
        + usize::from(n >= 100)
        + usize::from(n >= 1_000)
        + usize::from(n >= 10_000)
        + usize::from(n >= 100_000);
    (padded >> (8 * (6 - len)), len)
}

/// Appends `v` in decimal (timestamps; whole floats below 1e6). Always
/// inlined: see [`write_float_other`].
#[inline(always)]
pub(crate) fn write_i64(out: &mut impl Out, v: i64) {
    out.put(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends `s` escaped for a text format 0.0.4 `# HELP` line: `\` becomes
/// `\\` and a newline becomes `\n`; nothing else changes.
pub(crate) fn write_escaped_help(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, false);
}

/// Appends `s` escaped for a quoted label value in text format 0.0.4: `\`
/// becomes `\\`, `"` becomes `\"` and a newline becomes `\n`.
pub(crate) fn write_escaped_label_value(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, true);
}

/// Copies runs of bytes that need no escape in one go. Working on bytes is
/// sound for UTF-8: the escaped characters are ASCII and never occur inside a
/// multi-byte sequence.
#[inline]
fn write_escaped(out: &mut Vec<u8>, s: &str, quote: bool) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quote => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Inverse of [`write_escaped_help`] and [`write_escaped_label_value`]:
/// resolves `\\`, `\"` and `\n`; any other escape, or a trailing lone
/// backslash, gives `None`.
#[cfg(test)]
pub(crate) fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            'n' => out.push('\n'),
            _ => return None,
        }
    }
    Some(out)
}

/// Shortest round-trip decimal digits of a positive finite float, in Go's
/// `decimalSlice` shape: the value is `0.d1d2..dn * 10^dp`, no leading or
/// trailing zeros in the digits.
struct Digits {
    buf: [u8; 17],
    nd: usize,
    dp: i32,
}

/// `u64::MAX as f64`: what limits report for `unlimited`.
const UNLIMITED: f64 = 18_446_744_073_709_551_616.0;

/// Exact powers of ten for [`Digits::few_decimals`]: up to nine decimals,
/// which covers clock-tick seconds and most configured values.
const POW10: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

impl Digits {
    /// The shortest digits of a positive finite non-whole `abs` that has at
    /// most `k` decimals, `k` the most (up to nine) that keep `abs * 10^k`
    /// below 2^50 (CPU seconds in clock ticks, start times, most configured
    /// values), without ryu; `None` for anything else, after one division.
    ///
    /// Below 2^50, `abs * 10^k` is within 1/16 of its exact value, and the
    /// decimals that parse back to `abs` span at most 1/4 of a unit at that
    /// scale: so at most one integer `m` has `m * 10^-k` parse back to
    /// `abs`, it is `abs * 10^k` rounded, and the division (exact operands,
    /// correctly rounded, as a parser rounds) says whether it does. Any
    /// shorter decimal with `j < k` decimals is that same `m` with
    /// `k - j` trailing zeros, so `m`'s digits without their trailing zeros
    /// are the shortest (a whole number is never `abs`).
    #[inline]
    fn few_decimals(abs: f64) -> Option<Self> {
        const LIMIT: f64 = (1u64 << 50) as f64;
        let mut k = POW10.len() - 1;
        let mut scaled = abs * POW10[k];
        while scaled >= LIMIT {
            k = k.checked_sub(1).filter(|&k| k > 0)?;
            scaled = abs * POW10[k];
        }
        let m = (scaled + 0.5) as u64;
        if m as f64 / POW10[k] != abs {
            return None;
        }
        let mut buf = itoa::Buffer::new();
        let all = buf.format(m).as_bytes();
        let digits = &all[..all.iter().rposition(|&d| d != b'0').map_or(0, |p| p + 1)];
        let mut d = Digits {
            buf: [b'0'; 17],
            nd: digits.len(),
            dp: all.len() as i32 - k as i32,
        };
        d.buf.get_mut(..digits.len())?.copy_from_slice(digits);
        Some(d)
    }

    /// Reads ryu's shortest output back into digits and a decimal point
    /// position. Ryu writes one of `1234.5`, `12340000.0`, `0.0001234`,
    /// `1e16` or `1.234e-7`: at most 17 significant digits, with at most
    /// 16 integer digits or 5 leading zeros when there is no exponent.
    /// The digit runs before and after the point are copied whole, then
    /// the zeros at either end dropped (a loop over every character took
    /// 253 instructions per number, this 176, callgrind).
    fn shortest(abs: f64, ryu_buf: &mut ryu::Buffer) -> Self {
        let s = ryu_buf.format_finite(abs).as_bytes();
        let (mantissa, exp10) = match s.iter().position(|&b| b == b'e') {
            Some(e) => (&s[..e], parse_exponent(&s[e + 1..])),
            None => (s, 0),
        };
        let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
            Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
            None => (mantissa, &[][..]),
        };
        let mut all = [b'0'; 40];
        let n = int.len() + frac.len();
        if let Some((i, f)) = all.get_mut(..n).map(|a| a.split_at_mut(int.len())) {
            i.copy_from_slice(int);
            f.copy_from_slice(frac);
        }
        let all = all.get(..n).unwrap_or(&[]);
        let leading = all.iter().take_while(|&&b| b == b'0').count();
        let end = all
            .iter()
            .rposition(|&b| b != b'0')
            .map_or(leading, |p| p + 1);
        let digits = all.get(leading..end).unwrap_or(&[]);
        let mut d = Digits {
            buf: [b'0'; 17],
            nd: digits.len().min(17),
            dp: int.len() as i32 - leading as i32 + exp10,
        };
        if let (Some(dst), Some(src)) = (d.buf.get_mut(..d.nd), digits.get(..d.nd)) {
            dst.copy_from_slice(src);
        }
        d
    }

    fn as_slice(&self) -> &[u8] {
        self.buf.get(..self.nd).unwrap_or(&[])
    }
}

/// Parses ryu's exponent: an optional `-` and at most three digits.
fn parse_exponent(s: &[u8]) -> i32 {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let mut e: i32 = 0;
    for &b in digits {
        e = e
            .saturating_mul(10)
            .saturating_add(i32::from(b.wrapping_sub(b'0')));
    }
    if neg {
        -e
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::room::Room;
    use proptest::prelude::*;

    fn float(v: f64) -> String {
        let mut out = Vec::new();
        write_float(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    fn help(s: &str) -> String {
        let mut out = Vec::new();
        write_escaped_help(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    fn label(s: &str) -> String {
        let mut out = Vec::new();
        write_escaped_label_value(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    /// Shortest digits that parse back to `abs`, nearest to it, ties to
    /// even, as `d.ddde[-]x`, computed with std instead of ryu. std's `{:e}`
    /// gives the shortest length but breaks exact ties upwards (it prints
    /// 1125337595855645.25 as `...453e15`), whereas Go's `ryuFtoaShortest`
    /// (`strconv/ftoaryu.go`) rounds a trimmed `5` up only when the kept
    /// digit is odd; std's fixed-precision `{:.*e}` rounds ties to even, so
    /// use it at the shortest length whenever it still round-trips.
    fn shortest_sci(abs: f64) -> String {
        let short = format!("{abs:e}");
        let n = short
            .split_once('e')
            .unwrap()
            .0
            .bytes()
            .filter(u8::is_ascii_digit)
            .count();
        let exact = format!("{:.*e}", n - 1, abs);
        if exact.parse::<f64>().unwrap() == abs {
            exact
        } else {
            short
        }
    }

    /// Go's `FormatFloat(v, 'g', -1, 64)` transcribed line by line from
    /// `strconv/ftoa.go` (`formatDigits`, `fmtE`, `fmtF`), fed with digits
    /// from [`shortest_sci`] rather than ryu, plus
    /// client_golang's special cases. Slow and allocating on purpose.
    fn go_reference(v: f64) -> String {
        if v.is_nan() {
            return "NaN".into();
        }
        if v.is_infinite() {
            return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
        }
        if v == 0.0 {
            return "0".into();
        }
        let neg = v < 0.0;
        let sci = shortest_sci(v.abs());
        let (mant, exp) = sci.split_once('e').unwrap();
        let d: Vec<u8> = mant.bytes().filter(|b| *b != b'.').collect();
        let nd = d.len() as i32;
        let dp = exp.parse::<i32>().unwrap() + 1;

        let mut dst = String::new();
        if neg {
            dst.push('-');
        }
        // shortest, 'g': prec = digs.nd; eprec = 6.
        let mut prec = nd;
        let eprec = 6;
        let exp = dp - 1;
        if exp < -4 || exp >= eprec {
            if prec > nd {
                prec = nd;
            }
            // fmtE(dst, neg, digs, prec-1, 'e')
            let prec = prec - 1;
            dst.push(d[0] as char);
            if prec > 0 {
                dst.push('.');
                let mut i = 1;
                let m = nd.min(prec + 1);
                if i < m {
                    for &c in &d[i as usize..m as usize] {
                        dst.push(c as char);
                    }
                    i = m;
                }
                while i <= prec {
                    dst.push('0');
                    i += 1;
                }
            }
            dst.push('e');
            let mut exp = exp;
            if exp < 0 {
                dst.push('-');
                exp = -exp;
            } else {
                dst.push('+');
            }
            if exp < 10 {
                dst.push('0');
                dst.push((b'0' + exp as u8) as char);
            } else if exp < 100 {
                dst.push((b'0' + (exp / 10) as u8) as char);
                dst.push((b'0' + (exp % 10) as u8) as char);
            } else {
                dst.push((b'0' + (exp / 100) as u8) as char);
                dst.push((b'0' + (exp / 10 % 10) as u8) as char);
                dst.push((b'0' + (exp % 10) as u8) as char);
            }
            return dst;
        }
        if prec > dp {
            prec = nd;
        }
        // fmtF(dst, neg, digs, max(prec-digs.dp, 0))
        let prec = (prec - dp).max(0);
        if dp > 0 {
            let mut m = nd.min(dp);
            for &c in &d[..m as usize] {
                dst.push(c as char);
            }
            while m < dp {
                dst.push('0');
                m += 1;
            }
        } else {
            dst.push('0');
        }
        if prec > 0 {
            dst.push('.');
            for i in 0..prec {
                let j = dp + i;
                let ch = if 0 <= j && j < nd {
                    d[j as usize]
                } else {
                    b'0'
                };
                dst.push(ch as char);
            }
        }
        dst
    }

    /// Decimal exponent of the first significant digit, from [`shortest_sci`].
    fn decimal_exponent(v: f64) -> i32 {
        shortest_sci(v.abs())
            .split_once('e')
            .unwrap()
            .1
            .parse()
            .unwrap()
    }

    /// `-?` then `d+(.d+)?` or `d(.d+)?e[+-]dd+`, no trailing fractional
    /// zeros, no superfluous leading zeros. Returns whether it was `%e`.
    fn check_shape(s: &str) -> Result<bool, String> {
        let body = s.strip_prefix('-').unwrap_or(s);
        let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let check_mantissa = |m: &str, sci: bool| -> Result<(), String> {
            let (int, frac) = match m.split_once('.') {
                Some((i, f)) => (i, Some(f)),
                None => (m, None),
            };
            if !all_digits(int) {
                return Err(format!("bad integer part in {s:?}"));
            }
            if sci && (int.len() != 1 || int == "0") {
                return Err(format!("bad %e leading digit in {s:?}"));
            }
            if !sci && int.len() > 1 && int.starts_with('0') {
                return Err(format!("leading zero in {s:?}"));
            }
            if let Some(f) = frac {
                if !all_digits(f) || f.ends_with('0') {
                    return Err(format!("bad fraction in {s:?}"));
                }
            }
            Ok(())
        };
        match body.split_once('e') {
            Some((m, e)) => {
                check_mantissa(m, true)?;
                let digits = e
                    .strip_prefix('+')
                    .or_else(|| e.strip_prefix('-'))
                    .ok_or_else(|| format!("unsigned exponent in {s:?}"))?;
                if !all_digits(digits) || digits.len() < 2 || digits.len() > 3 {
                    return Err(format!("bad exponent in {s:?}"));
                }
                if digits.len() == 3 && digits.starts_with('0') {
                    return Err(format!("padded 3-digit exponent in {s:?}"));
                }
                Ok(true)
            }
            None => {
                check_mantissa(body, false)?;
                Ok(false)
            }
        }
    }

    #[test]
    fn float_golden() {
        // Each expectation follows Go's formatDigits: %e iff the decimal
        // exponent x of the first shortest digit has x < -4 || x >= 6.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (0.1, "0.1"),
            (0.5, "0.5"),
            (2.5, "2.5"),
            (-2.5, "-2.5"),
            (12.0, "12"),
            (100.0, "100"),
            (0.005, "0.005"),
            (12345.678, "12345.678"),
            (123456.0, "123456"),
            (999999.0, "999999"),
            (1e6 - 1.0, "999999"),
            (-999999.0, "-999999"),
            (100000.0, "100000"),
            (1e5, "100000"),
            (100000.5, "100000.5"),
            (123456.7, "123456.7"),
            (999999.9, "999999.9"),
            (999999.99999, "999999.99999"),
            (1e6, "1e+06"),
            (-1e6, "-1e+06"),
            (1234567.0, "1.234567e+06"),
            (1234567.5, "1.2345675e+06"),
            (123456789.0, "1.23456789e+08"),
            (123456789012.0, "1.23456789012e+11"),
            (1e15, "1e+15"),
            (1e16, "1e+16"),
            (9007199254740992.0, "9.007199254740992e+15"),
            (9007199254740991.0, "9.007199254740991e+15"),
            (-9007199254740991.0, "-9.007199254740991e+15"),
            (4503599627370497.0, "4.503599627370497e+15"),
            (1_000_001.0, "1.000001e+06"),
            (-2_625_536.0, "-2.625536e+06"),
            (3_500_000_000.0, "3.5e+09"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (1e23, "1e+23"),
            (1.5e99, "1.5e+99"),
            (1e100, "1e+100"),
            (-1e100, "-1e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN, "-1.7976931348623157e+308"),
            (0.0001, "0.0001"),
            (1.0e-4, "0.0001"),
            (-0.0001, "-0.0001"),
            (0.000123, "0.000123"),
            (0.00015, "0.00015"),
            (0.00012345678901234567, "0.00012345678901234567"),
            (9.999999e-5, "9.999999e-05"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (-1e-7, "-1e-07"),
            (1.2345e-10, "1.2345e-10"),
            (0.1 + 0.2, "0.30000000000000004"),
            (3.0000000000000004, "3.0000000000000004"),
            // Exactly halfway between two 17-digit candidates: ties to even.
            (-(1_125_337_595_855_645.0 + 0.25), "-1.1253375958556452e+15"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            // Subnormals: the largest, a middle one, the two smallest.
            (
                f64::from_bits(0x000F_FFFF_FFFF_FFFF),
                "2.225073858507201e-308",
            ),
            (1e-310, "1e-310"),
            (f64::from_bits(2), "1e-323"),
            (5e-324, "5e-324"),
            (-5e-324, "-5e-324"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
            (-f64::NAN, "NaN"),
        ];
        for &(v, want) in cases {
            assert_eq!(float(v), want, "value {v:e} (bits {:#x})", v.to_bits());
            assert_eq!(go_reference(v), want, "reference for {v:e}");
        }
    }

    #[test]
    fn float_appends() {
        let mut out = b"x ".to_vec();
        write_float(&mut out, 1.5e-5);
        out.push(b' ');
        write_float(&mut out, 7.0);
        assert_eq!(out, b"x 1.5e-05 7");
    }

    #[test]
    fn counts_and_whole_floats_below_a_million_are_plain_decimal() {
        // Every value the two-digits-at-a-time path writes, and both
        // outputs (`Vec` and `Room`) against Rust's own formatting.
        let mut out = Vec::new();
        let mut want = String::new();
        for n in (0..1_000_000u64).chain([1_000_000, 1_234_567]) {
            out.clear();
            write_count(&mut out, n);
            let mut room = Vec::new();
            write_count(&mut Room::new(&mut room, FLOAT_MAX), n);
            want.clear();
            if n < 1_000_000 {
                use std::fmt::Write;
                write!(want, "{n}").unwrap();
            } else {
                want.push_str(if n == 1_000_000 {
                    "1e+06"
                } else {
                    "1.234567e+06"
                });
            }
            assert_eq!(out, want.as_bytes(), "{n}");
            assert_eq!(room, want.as_bytes(), "{n} through a room");
            if n % 997 == 0 {
                out.clear();
                write_float(&mut out, -(n as f64));
                let neg = if n == 0 {
                    "0".to_string()
                } else {
                    format!("-{want}")
                };
                assert_eq!(out, neg.as_bytes(), "-{n}");
            }
        }
    }

    #[test]
    fn escape_golden() {
        let cases: &[(&str, &str, &str)] = &[
            // (input, help, label value)
            ("", "", ""),
            ("plain text", "plain text", "plain text"),
            ("a\\b", "a\\\\b", "a\\\\b"),
            ("say \"hi\"", "say \"hi\"", "say \\\"hi\\\""),
            ("line1\nline2", "line1\\nline2", "line1\\nline2"),
            ("literal \\n", "literal \\\\n", "literal \\\\n"),
            ("\\", "\\\\", "\\\\"),
            ("\"", "\"", "\\\""),
            ("\n", "\\n", "\\n"),
            ("\r\t", "\r\t", "\r\t"),
            ("ünï 🦀", "ünï 🦀", "ünï 🦀"),
            ("ü\n🦀\"\\", "ü\\n🦀\"\\\\", "ü\\n🦀\\\"\\\\"),
        ];
        for &(input, want_help, want_label) in cases {
            assert_eq!(help(input), want_help, "help {input:?}");
            assert_eq!(label(input), want_label, "label {input:?}");
        }
    }

    #[test]
    fn unescape_golden() {
        assert_eq!(unescape("a\\\\b\\\"c\\nd").as_deref(), Some("a\\b\"c\nd"));
        assert_eq!(unescape("").as_deref(), Some(""));
        assert_eq!(unescape("ünï 🦀").as_deref(), Some("ünï 🦀"));
        assert_eq!(unescape("\\t"), None);
        assert_eq!(unescape("trailing\\"), None);
        assert_eq!(unescape("\\ü"), None);
    }

    fn finite_f64() -> impl Strategy<Value = f64> {
        use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
        prop_oneof![
            POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO,
            // Short decimals cluster around the %e/%f switch.
            (1u64..10_000_000, -12i32..25, any::<bool>()).prop_map(|(m, e, neg)| {
                let v: f64 = format!("{m}e{e}").parse().unwrap();
                if neg {
                    -v
                } else {
                    v
                }
            }),
            (-2_000_000i64..2_000_000).prop_map(|i| i as f64),
            // Mostly 17 digits, across both ends of the range where ryu's
            // own output is written (1e-4 up to 1e6), and a few ulps
            // around each end.
            (-2e6f64..2e6),
            (-2e6f64..2e6).prop_map(|v| v / 1e4),
            (1e-5f64..2e-4, any::<bool>()).prop_map(|(v, neg)| if neg { -v } else { v }),
            (prop_oneof![Just(1e-4f64), Just(1e6f64)], -8i64..8)
                .prop_map(|(v, ulps)| f64::from_bits(v.to_bits().wrapping_add_signed(ulps))),
            // In [2^50, 2^51) the spacing is 0.25, so `n.25` and `n.75` sit
            // exactly halfway between two 17-digit decimals: ties to even.
            (1u64 << 50..1u64 << 51, any::<bool>())
                .prop_map(|(i, up)| i as f64 + if up { 0.75 } else { 0.25 }),
        ]
    }

    /// Values with at most twelve decimals, so few_decimals takes some
    /// and ryu the rest, around the 2^50 bound too.
    fn few_decimal_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            (1u64..1 << 50, 1i32..13).prop_map(|(m, k)| format!("{m}e-{k}").parse().unwrap()),
            (1u64..100_000, 1i32..10).prop_map(|(m, k)| format!("{m}e-{k}").parse().unwrap()),
            ((1u64 << 49)..(1 << 51), 1i32..4)
                .prop_map(|(m, k)| format!("{m}e-{k}").parse().unwrap()),
            // A few units in the last place off a short decimal: not it.
            (1u64..1 << 40, 1i32..10, -3i64..4).prop_map(|(m, k, ulps)| {
                let v: f64 = format!("{m}e-{k}").parse().unwrap();
                f64::from_bits(v.to_bits().wrapping_add_signed(ulps))
            }),
        ]
    }

    #[test]
    fn few_decimals_golden() {
        for (v, want) in [
            (0.53, "0.53"),
            (0.05, "0.05"),
            (1e-9, "1e-09"),
            (1.5e-5, "1.5e-05"),
            (1_795_292_124.14, "1.79529212414e+09"),
            (123_456.7, "123456.7"),
            (0.1 + 0.2, "0.30000000000000004"),
            (UNLIMITED, "1.8446744073709552e+19"),
            (-UNLIMITED, "-1.8446744073709552e+19"),
        ] {
            assert_eq!(float(v), want);
            assert_eq!(go_reference(v), want);
        }
        for v in [0.53, 0.05, 1e-9, 1_795_292_124.14, 123_456.7] {
            assert!(Digits::few_decimals(v).is_some(), "{v}");
        }
        assert!(Digits::few_decimals(0.1 + 0.2).is_none());
        assert!(Digits::few_decimals(1e-10).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn few_decimals_agree_with_ryu(v in few_decimal_f64()) {
            // Whole values take an earlier path.
            if let Some(d) = Digits::few_decimals(v).filter(|_| v.fract() != 0.0) {
                let r = Digits::shortest(v, &mut ryu::Buffer::new());
                prop_assert_eq!((d.as_slice(), d.dp), (r.as_slice(), r.dp), "{:e}", v);
            }
            prop_assert_eq!(float(v), go_reference(v));
            prop_assert_eq!(float(-v), go_reference(-v));
        }

        #[test]
        fn float_round_trips(v in finite_f64()) {
            let s = float(v);
            let back: f64 = s.parse().unwrap();
            let want = if v == 0.0 { 0.0f64 } else { v };
            prop_assert_eq!(back.to_bits(), want.to_bits(), "{} -> {}", v, s);
        }

        #[test]
        fn float_matches_go_rule(v in finite_f64()) {
            let s = float(v);
            let sci = check_shape(&s).map_err(TestCaseError::fail)?;
            if v != 0.0 {
                let x = decimal_exponent(v);
                prop_assert_eq!(sci, !(-4..6).contains(&x), "{} -> {} (x = {})", v, s, x);
            } else {
                prop_assert_eq!(s.as_str(), "0");
            }
            prop_assert_eq!(s, go_reference(v));
        }

        #[test]
        fn whole_floats_match_go(i in -(1i64 << 53) + 1..(1i64 << 53)) {
            prop_assert_eq!(float(i as f64), go_reference(i as f64));
        }

        #[test]
        fn float_any_bits(bits in any::<u64>()) {
            // Never panics, and NaN/Inf payloads and signs collapse.
            let v = f64::from_bits(bits);
            let s = float(v);
            if v.is_nan() {
                prop_assert_eq!(s.as_str(), "NaN");
            } else {
                prop_assert_eq!(s, go_reference(v));
            }
        }

        #[test]
        fn escapes_round_trip(s in any::<String>()) {
            let h = help(&s);
            prop_assert!(!h.contains('\n'));
            prop_assert_eq!(unescape(&h), Some(s.clone()));

            let l = label(&s);
            prop_assert!(!l.contains('\n'));
            // Every `"` must be preceded by an odd run of backslashes.
            let bytes = l.as_bytes();
            for (i, &b) in bytes.iter().enumerate() {
                if b == b'"' {
                    let run = bytes[..i].iter().rev().take_while(|&&c| c == b'\\').count();
                    prop_assert!(run % 2 == 1, "unescaped quote in {:?}", l);
                }
            }
            prop_assert_eq!(unescape(&l), Some(s.clone()));
        }

        #[test]
        fn escapes_special_heavy(s in "[a\\\\\"\nü🦀]{0,40}") {
            prop_assert_eq!(unescape(&help(&s)), Some(s.clone()));
            prop_assert_eq!(unescape(&label(&s)), Some(s.clone()));
        }
    }
}
