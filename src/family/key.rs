//! The label values of a lookup, packed once into words that both hash
//! and identify them.
//!
//! A value of up to 16 bytes is held whole: its length plus two words that
//! cover every byte, so two such values are equal exactly when their
//! packed forms are. A lookup then compares a few words kept in the table
//! node, never following the stored `Arc<str>`s. A longer value packs only
//! a prefix; a match on the packed form is confirmed by comparing the
//! bytes. Either way identity is decided by the real values, never by the
//! hash alone.

use std::sync::Arc;

/// Values of at most this many bytes are packed whole.
const SHORT: usize = 16;

const K2: u64 = 0x1319_8a2e_0370_7344;
/// Spreads the per-position keys.
const K_POS: u64 = 0x9e37_79b9_7f4a_7c15;

/// Packed label values: per value two words and a length (saturated at
/// `SHORT + 1`: any longer value means "compare the bytes too").
#[derive(Clone, Copy)]
pub(crate) struct Key<const N: usize> {
    words: [[u64; 2]; N],
    lens: [u8; N],
}

impl<const N: usize> Key<N> {
    /// Equality, compared word by word in registers (the derived one
    /// compares memory, which makes a lookup store its key first).
    #[inline(always)]
    fn same(&self, other: &Self) -> bool {
        let mut diff = 0u64;
        for i in 0..N {
            diff |= (self.words[i][0] ^ other.words[i][0]) | (self.words[i][1] ^ other.words[i][1]);
        }
        diff == 0 && self.lens == other.lens
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
    pub(crate) fn new(seed: u64, values: &[&str; N]) -> Self {
        match Self::new_short(seed, values) {
            Some(short) => short,
            None => Self::new_long(seed, values),
        }
    }

    /// The lookup for `values` if none is longer than [`SHORT`], the
    /// common case: a path with no saturation and no tail to hash, whose
    /// key alone decides a match (`long` is false).
    #[inline(always)]
    pub(crate) fn new_short(seed: u64, values: &[&str; N]) -> Option<Self> {
        let mut words = [[0u64; 2]; N];
        let mut lens = [0u8; N];
        let mut hash = 0u64;
        for i in 0..N {
            let b = values[i].as_bytes();
            if b.len() > SHORT {
                return None;
            }
            let w = pack(b);
            words[i] = w;
            lens[i] = b.len() as u8;
            hash ^= mix(seed, i, w, b.len());
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
    pub(crate) fn new_long(seed: u64, values: &[&str; N]) -> Self {
        let mut words = [[0u64; 2]; N];
        let mut lens = [0u8; N];
        let mut hash = 0u64;
        let mut long = false;
        for i in 0..N {
            let b = values[i].as_bytes();
            let w = pack(&b[..b.len().min(SHORT)]);
            words[i] = w;
            lens[i] = b.len().min(SHORT + 1) as u8;
            let mut h = mix(seed, i, w, b.len());
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
    pub(crate) fn matches_short(&self, key: &Key<N>) -> bool {
        debug_assert!(!self.long);
        key.same(&self.key)
    }

    /// Whether a stored child with `key` and label values `stored` has
    /// exactly these values.
    #[inline(always)]
    pub(crate) fn matches(&self, key: &Key<N>, stored: &[Arc<str>], given: &[&str; N]) -> bool {
        key.same(&self.key) && (!self.long || eq_long(stored, given))
    }
}

/// The hash of the value at position `i`, packed as `w`, of `len` bytes.
/// Each value is mixed on its own (one multiply, with keys that differ per
/// position) and the results combined with a rotation, so the multiplies
/// of different values run in parallel: the hash is on the critical path
/// of every lookup.
#[inline(always)]
fn mix(seed: u64, i: usize, w: [u64; 2], len: usize) -> u64 {
    let k = seed.wrapping_add((i as u64).wrapping_mul(K_POS));
    folded_multiply(w[0] ^ k, w[1] ^ K2 ^ (len as u64)).rotate_left((i as u32 * 23) % 64)
}

/// The bytes of values whose packed forms are equal (so lengths are
/// equal); only reached when some value is long.
#[cold]
fn eq_long(stored: &[Arc<str>], given: &[&str]) -> bool {
    stored.len() == given.len() && stored.iter().zip(given).all(|(a, b)| **a == **b)
}

/// Two words holding every byte of a value of up to 16 bytes (with its
/// length, which the key keeps apart, they identify it). Lengths 8 to 16
/// take two overlapping 8-byte reads, the first and the last eight bytes;
/// 4 to 7 two overlapping 4-byte reads; shorter ones take their bytes.
#[inline(always)]
fn pack(b: &[u8]) -> [u64; 2] {
    debug_assert!(b.len() <= SHORT);
    if let (Some(first), Some(last)) = (b.first_chunk::<8>(), b.last_chunk::<8>()) {
        [u64::from_le_bytes(*first), u64::from_le_bytes(*last)]
    } else if let (Some(first), Some(last)) = (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        [
            u64::from(u32::from_le_bytes(*first)) | (u64::from(u32::from_le_bytes(*last)) << 32),
            0,
        ]
    } else if let (Some(&first), Some(&last)) = (b.first(), b.last()) {
        [
            u64::from(first) | (u64::from(b[b.len() >> 1]) << 8) | (u64::from(last) << 16),
            0,
        ]
    } else {
        [0, 0]
    }
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

    fn lookup<const N: usize>(v: [&str; N]) -> Lookup<N> {
        Lookup::new(7, &v)
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
                let (x, y) = (lookup([a.as_str()]), lookup([b.as_str()]));
                if a.len() <= SHORT || b.len() <= SHORT {
                    assert_eq!(x.key.same(&y.key), a == b, "{a:?} {b:?}");
                }
            }
            for i in 0..a.len() {
                let mut c = a.clone().into_bytes();
                c[i] ^= 1;
                let c = String::from_utf8(c).unwrap();
                let (x, y) = (lookup([a.as_str()]), lookup([c.as_str()]));
                if a.len() <= SHORT {
                    assert!(!x.key.same(&y.key), "{a:?} at {i}");
                } else {
                    // Long values: the packed prefix may match; the bytes
                    // decide.
                    let stored: [Arc<str>; 1] = [Arc::from(c.as_str())];
                    assert!(!x.matches(&y.key, &stored, &[a.as_str()]), "{a:?} at {i}");
                }
                assert_ne!(x.hash, y.hash, "{a:?} at {i}");
            }
        }
    }

    #[test]
    fn hash_separates_value_boundaries() {
        assert_ne!(lookup(["ab", "c"]).hash, lookup(["a", "bc"]).hash);
        assert_ne!(lookup(["", "x"]).hash, lookup(["x", ""]).hash);
        assert!(!lookup(["ab", "c"]).key.same(&lookup(["a", "bc"]).key));
        let long = "a long label value over sixteen bytes";
        assert_eq!(lookup([long]).hash, lookup([long]).hash);
        assert!(lookup([long]).long);
        assert!(!lookup(["sixteen bytes!!!"]).long);
    }

    #[test]
    fn long_values_are_confirmed_byte_by_byte() {
        let a = "0123456789abcdef-tail-one";
        let b = "0123456789abcdef-tail-two";
        let (x, y) = (lookup([a]), lookup([b]));
        let stored_b: [Arc<str>; 1] = [Arc::from(b)];
        let stored_a: [Arc<str>; 1] = [Arc::from(a)];
        // Same length and prefix: the packed keys agree.
        assert!(x.key.same(&y.key));
        assert!(!x.matches(&y.key, &stored_b, &[a]));
        assert!(x.matches(&x.key, &stored_a, &[a]));
    }
}
