//! The label values of a lookup, packed once into words that both hash
//! and identify them.
//!
//! A value of up to 16 bytes is held whole: its length plus its bytes,
//! zero-padded to two words, so two such values are equal exactly when
//! their packed forms are. The series keeps the same bytes as its label
//! value ([`StoredKey`]), and a lookup compares a few words there. A
//! longer value packs only its first 16 bytes; a match on the packed form
//! is confirmed by comparing the bytes. Either way identity is decided by
//! the real values, never by the hash alone.

use super::series::Labels;

/// Values of at most this many bytes are packed whole.
pub(crate) const SHORT: usize = 16;

const K2: u64 = 0x1319_8a2e_0370_7344;
/// Spreads the per-position keys.
const K_POS: u64 = 0x9e37_79b9_7f4a_7c15;

/// Packed label values: per value its first [`SHORT`] bytes, zero-padded,
/// as two little-endian words, and its length (saturated at `SHORT + 1`:
/// any longer value means "compare the bytes too").
#[derive(Clone, Copy)]
pub(crate) struct Key<const N: usize> {
    words: [[u64; 2]; N],
    lens: [u8; N],
}

/// A [`Key`] as a series keeps it, in its label area: the words as bytes
/// (so a short value's bytes are its label value), then the lengths.
#[repr(C)]
pub(crate) struct StoredKey<const N: usize> {
    bytes: [[u8; SHORT]; N],
    lens: [u8; N],
}

impl<const N: usize> StoredKey<N> {
    /// Value `i`'s first [`SHORT`] bytes, zero-padded, as a big-endian
    /// number: where two values' prefixes differ, the numbers order them
    /// as their bytes do (a value that ends where the other goes on has a
    /// zero there, below any byte but zero).
    #[inline]
    pub(crate) fn prefix(&self, i: usize) -> u128 {
        u128::from_be_bytes(self.bytes[i])
    }
}

impl<const N: usize> Key<N> {
    /// Equality with a stored key, compared word by word in registers.
    #[inline(always)]
    fn same(&self, stored: &StoredKey<N>) -> bool {
        let mut diff = 0u64;
        for i in 0..N {
            let w = u128::from_le_bytes(stored.bytes[i]);
            diff |= (self.words[i][0] ^ w as u64) | (self.words[i][1] ^ (w >> 64) as u64);
        }
        diff == 0 && self.lens == stored.lens
    }
}

/// A family's hash keys, one pair per label position, drawn once: a
/// lookup folds each value with its position's pair as it is (an operand
/// from memory), with no key arithmetic and no constant held in a
/// register.
pub(crate) struct Seeds<const N: usize> {
    keys: [[u64; 2]; N],
}

impl<const N: usize> Seeds<N> {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            keys: std::array::from_fn(|i| [seed.wrapping_add((i as u64).wrapping_mul(K_POS)), K2]),
        }
    }
}

/// A key built from borrowed values, with what a lookup needs besides.
pub(crate) struct Lookup<const N: usize> {
    pub(crate) key: Key<N>,
    pub(crate) hash: u64,
    /// Some value is longer than [`SHORT`]: a packed match must be
    /// confirmed against the stored bytes.
    pub(crate) long: bool,
}

impl<const N: usize> Lookup<N> {
    /// The lookup for `values`.
    #[inline(always)]
    pub(crate) fn new(seeds: &Seeds<N>, values: &[&str; N]) -> Self {
        match Self::new_short(seeds, values) {
            Some(short) => short,
            None => Self::new_long(seeds, values),
        }
    }

    /// The lookup for `values` if none is longer than [`SHORT`], the
    /// common case: a path with no saturation and no tail to hash, whose
    /// key alone decides a match (`long` is false).
    #[inline(always)]
    pub(crate) fn new_short(seeds: &Seeds<N>, values: &[&str; N]) -> Option<Self> {
        let mut words = [[0u64; 2]; N];
        let mut lens = [0u8; N];
        let mut hash = 0u64;
        for i in 0..N {
            let b = values[i].as_bytes();
            let w = pack_short(b)?;
            words[i] = w;
            lens[i] = b.len() as u8;
            hash ^= mix(seeds.keys[i], i, w, b.len());
        }
        Some(Self {
            key: Key { words, lens },
            hash,
            long: false,
        })
    }

    /// [`Lookup::new`] when some value is longer than [`SHORT`] (also right
    /// when none is): a long value's tail goes into the hash, and its
    /// packed prefix alone into the key.
    #[cold]
    #[inline(never)]
    pub(crate) fn new_long(seeds: &Seeds<N>, values: &[&str; N]) -> Self {
        let mut words = [[0u64; 2]; N];
        let mut lens = [0u8; N];
        let mut hash = 0u64;
        let mut long = false;
        for i in 0..N {
            let b = values[i].as_bytes();
            let w = pack(&b[..b.len().min(SHORT)]);
            words[i] = w;
            lens[i] = b.len().min(SHORT + 1) as u8;
            let mut h = mix(seeds.keys[i], i, w, b.len());
            if b.len() > SHORT {
                long = true;
                h = hash_tail(h, &b[SHORT..]);
            }
            hash ^= h;
        }
        Self {
            key: Key { words, lens },
            hash,
            long,
        }
    }

    /// Whether a stored child with `key` has exactly these values, when
    /// `long` is false.
    #[inline(always)]
    pub(crate) fn matches_short(&self, key: &StoredKey<N>) -> bool {
        debug_assert!(!self.long);
        self.key.same(key)
    }

    /// Whether a stored child with label values `stored` has exactly the
    /// values `given` of this lookup.
    #[inline(always)]
    pub(crate) fn matches(&self, stored: Labels<'_>, given: &[&str; N]) -> bool {
        self.key.same(stored.key::<N>()) && (!self.long || eq_long(stored, given))
    }
}

/// The hash of the value at position `i`, packed as `w`, of `len` bytes,
/// with that position's keys `k`. Each value is mixed on its own (one
/// multiply, with keys that differ per position) and the results combined
/// with a rotation, so the multiplies of different values run in
/// parallel: the hash is on the critical path of every lookup.
#[inline(always)]
fn mix(k: [u64; 2], i: usize, w: [u64; 2], len: usize) -> u64 {
    folded_multiply(w[0] ^ k[0], w[1] ^ k[1] ^ (len as u64)).rotate_left((i as u32 * 23) % 64)
}

/// The bytes of values whose packed forms are equal (so lengths are
/// equal); only reached when some value is long.
#[cold]
fn eq_long(stored: Labels<'_>, given: &[&str]) -> bool {
    stored.len() == given.len() && stored.iter().zip(given).all(|(a, b)| a == *b)
}

/// A value of up to 16 bytes zero-padded to 16, as two little-endian
/// words: its bytes, exactly (with its length, which the key keeps apart,
/// they identify it).
#[inline(always)]
fn pack(b: &[u8]) -> [u64; 2] {
    debug_assert!(b.len() <= SHORT);
    pack_short(b).unwrap_or_default()
}

/// [`pack`] for a value of up to [`SHORT`] bytes; `None` for a longer one.
/// Lengths 1 to 3 take their first, middle and last byte; 4 to 8 two
/// overlapping 4-byte reads, the first and the last four bytes, the last
/// shifted down past the bytes the first holds; 9 to 16 the same with
/// 8-byte reads (so no shift is by a whole word). Each range is one
/// unsigned compare, shortest values first: most label values are short,
/// and a lookup packs every value.
#[inline(always)]
fn pack_short(b: &[u8]) -> Option<[u64; 2]> {
    let n = b.len();
    if n.wrapping_sub(1) < 3 {
        // Without a branch on which: the middle and the last byte at their
        // places (for one or two bytes they fall on bytes already set,
        // with the same value).
        let (mid, last) = (n >> 1, n - 1);
        let w =
            u64::from(b[0]) | (u64::from(b[mid]) << (8 * mid)) | (u64::from(b[last]) << (8 * last));
        Some([w, 0])
    } else if n.wrapping_sub(4) <= 4 {
        let first = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let last = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
        // Bytes 4.. of the value are the top `n - 4` bytes of `last`.
        let rest = u64::from(last) >> (8 * (8 - n));
        Some([u64::from(first) | (rest << 32), 0])
    } else if n.wrapping_sub(9) <= SHORT - 9 {
        let mut first = [0u8; 8];
        let mut last = [0u8; 8];
        first.copy_from_slice(&b[..8]);
        last.copy_from_slice(&b[n - 8..]);
        // Bytes 8.. of the value are the top `n - 8` bytes of `last`.
        let rest = u64::from_le_bytes(last) >> (8 * (16 - n));
        Some([u64::from_le_bytes(first), rest])
    } else if n == 0 {
        Some([0, 0])
    } else {
        None
    }
}

/// A value's packed form as a key holds it: its first [`SHORT`] bytes,
/// zero-padded, and its length saturated at `SHORT + 1`.
pub(crate) fn packed(v: &str) -> ([u64; 2], u8) {
    let b = v.as_bytes();
    (pack(&b[..b.len().min(SHORT)]), b.len().min(SHORT + 1) as u8)
}

/// Mixes the bytes past the packed prefix of a long value into `acc`.
#[cold]
fn hash_tail(mut acc: u64, mut rest: &[u8]) -> u64 {
    const K3: u64 = 0xa409_3822_299f_31d0;
    while !rest.is_empty() {
        let n = rest.len().min(SHORT);
        let w = pack(&rest[..n]);
        acc = folded_multiply(w[0] ^ acc, w[1] ^ K3 ^ (n as u64));
        rest = &rest[n..];
    }
    acc
}

#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desc::{Desc, MetricType};
    use crate::family::series::{NewLabels, Series};

    fn lookup<const N: usize>(v: [&str; N]) -> Lookup<N> {
        Lookup::new(&Seeds::new(7), &v)
    }

    /// A series holding `v`, as a family of one label stores it.
    fn stored(v: &str) -> Series<()> {
        let find = lookup([v]);
        let desc = Desc::new(MetricType::Gauge, "g", "h", &["a"], &[]).unwrap();
        let labels = NewLabels {
            hash: find.hash,
            values: &[v],
        };
        Series::labeled(desc, (), &labels)
    }

    /// Every length from 0 to 16: the packed words are the value's bytes,
    /// zero-padded, which the series hands out as the label value.
    #[test]
    fn short_values_pack_to_their_zero_padded_bytes() {
        for n in 0..=SHORT {
            let v: String = (0..n).map(|i| char::from(b'A' + i as u8)).collect();
            let k = lookup([v.as_str()]).key;
            let mut bytes = [0u8; SHORT];
            bytes[..n].copy_from_slice(v.as_bytes());
            assert_eq!(
                u128::from(k.words[0][0]) | (u128::from(k.words[0][1]) << 64),
                u128::from_le_bytes(bytes),
                "{v:?}"
            );
            assert_eq!(usize::from(k.lens[0]), n);
            assert_eq!(stored(&v).labels().get(0), v);
        }
    }

    /// Every length from 0 to 20, with each byte position flipped in turn:
    /// packed keys are equal exactly when the values are.
    #[test]
    fn packed_keys_identify_short_values() {
        let base: Vec<String> = (0..=20)
            .map(|n| (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect())
            .collect();
        for a in &base {
            for b in &base {
                let x = lookup([a.as_str()]);
                let y = stored(b);
                if a.len() <= SHORT || b.len() <= SHORT {
                    assert_eq!(x.key.same(y.labels().key::<1>()), a == b, "{a:?} {b:?}");
                }
                assert_eq!(x.matches(y.labels(), &[a.as_str()]), a == b, "{a:?} {b:?}");
            }
            for i in 0..a.len() {
                let mut c = a.clone().into_bytes();
                c[i] ^= 1;
                let c = String::from_utf8(c).unwrap();
                let (x, y) = (lookup([a.as_str()]), lookup([c.as_str()]));
                if a.len() <= SHORT {
                    assert!(!x.key.same(stored(&c).labels().key::<1>()), "{a:?} at {i}");
                } else {
                    // Long values: the packed prefix may match; the bytes
                    // decide.
                    assert!(
                        !x.matches(stored(&c).labels(), &[a.as_str()]),
                        "{a:?} at {i}"
                    );
                }
                assert_ne!(x.hash, y.hash, "{a:?} at {i}");
            }
        }
    }

    #[test]
    fn hash_separates_value_boundaries() {
        assert_ne!(lookup(["ab", "c"]).hash, lookup(["a", "bc"]).hash);
        assert_ne!(lookup(["", "x"]).hash, lookup(["x", ""]).hash);
        assert_ne!(lookup(["a", ""]).hash, lookup(["a\0", ""]).hash);
        let long = "a long label value over sixteen bytes";
        assert_eq!(lookup([long]).hash, lookup([long]).hash);
        assert!(lookup([long]).long);
        assert!(!lookup(["sixteen bytes!!!"]).long);
    }

    #[test]
    fn long_values_are_confirmed_byte_by_byte() {
        let a = "0123456789abcdef-tail-one";
        let b = "0123456789abcdef-tail-two";
        let x = lookup([a]);
        // Same length and prefix: the packed keys agree.
        assert!(x.key.same(stored(b).labels().key::<1>()));
        assert!(!x.matches(stored(b).labels(), &[a]));
        assert!(x.matches(stored(a).labels(), &[a]));
    }
}
