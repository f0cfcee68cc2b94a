//! Appending one line of output with one capacity check.
//!
//! `Vec::extend_from_slice` and `Vec::push` check the capacity and store
//! the length on every call, and copy through a call to `memcpy`. A line of
//! exposition is five to eight such pieces (name, labels, value, newline),
//! most of them a few bytes long, and an encoder writes tens of thousands
//! of lines per scrape. [`Room`] reserves a line's worst case once and
//! then copies short pieces with a few unaligned word moves; the length is
//! stored once, when the room is dropped.
//!
//! The `unsafe` here is writing into a `Vec`'s spare capacity. Soundness
//! does not rest on callers: every write checks that it fits in what was
//! reserved (one predictable branch) and panics if a caller's bound was
//! wrong, which is a bug in this crate, never reachable from input.
#![allow(unsafe_code)]

use std::ptr;

/// Where formatting functions append: a `Vec<u8>` or a [`Room`].
pub(crate) trait Out {
    /// Appends `s`.
    fn put(&mut self, s: &[u8]);
    /// Appends one byte.
    fn byte(&mut self, b: u8);
    /// Appends the first `n <= 8` bytes of `word`.
    fn word(&mut self, word: [u8; 8], n: usize);
}

impl Out for Vec<u8> {
    #[inline]
    fn put(&mut self, s: &[u8]) {
        self.extend_from_slice(s);
    }

    #[inline]
    fn byte(&mut self, b: u8) {
        self.push(b);
    }

    #[inline]
    fn word(&mut self, word: [u8; 8], n: usize) {
        self.extend_from_slice(&word[..n]);
    }
}

/// Reserved spare capacity at the end of a `Vec<u8>`, filled front to back;
/// what was written becomes part of the vector when the room is dropped.
pub(crate) struct Room<'a> {
    vec: &'a mut Vec<u8>,
    /// Start of the spare capacity.
    at: *mut u8,
    /// Bytes written so far.
    len: usize,
    /// Bytes reserved.
    cap: usize,
}

impl<'a> Room<'a> {
    /// Reserves at least `n` bytes after `vec`'s contents.
    #[inline]
    pub(crate) fn new(vec: &'a mut Vec<u8>, n: usize) -> Self {
        vec.reserve(n);
        let spare = vec.spare_capacity_mut();
        let cap = spare.len();
        let at = spare.as_mut_ptr().cast::<u8>();
        Room {
            vec,
            at,
            len: 0,
            cap,
        }
    }

    /// Appends the first `n` bytes of `window` by copying all `N` (moves of
    /// a fixed size, no branch on `n`) and keeping `n`, as [`Out::word`]
    /// does: needs `N` bytes of room, not `n`.
    #[inline(always)]
    pub(crate) fn window<const N: usize>(&mut self, window: &[u8; N], n: usize) {
        assert!(
            n <= N && N <= self.cap - self.len,
            "encoder reserved too little"
        );
        // SAFETY: `len + N <= cap`, so the `N` bytes at `at + len` are in
        // the spare capacity (see `put`); `window` is `N` readable bytes
        // that cannot overlap it (see `put`).
        unsafe { copy_short_fixed(window, self.at.add(self.len)) };
        self.len += n;
    }
}

impl Out for Room<'_> {
    #[inline]
    fn put(&mut self, s: &[u8]) {
        let n = s.len();
        assert!(n <= self.cap - self.len, "encoder reserved too little");
        // SAFETY: `at + len .. at + len + n` lies in the vector's spare
        // capacity (checked just above: `len + n <= cap`, and `cap` bytes
        // were spare when the room was made; the vector is borrowed
        // mutably for the room's life, so nothing else reallocates it).
        // `s` cannot overlap it: spare capacity is not reachable through
        // any shared reference.
        unsafe { copy_short(s.as_ptr(), self.at.add(self.len), n) };
        self.len += n;
    }

    #[inline]
    fn byte(&mut self, b: u8) {
        assert!(self.len < self.cap, "encoder reserved too little");
        // SAFETY: `len < cap`, so `at + len` is in the spare capacity (see
        // `put`).
        unsafe { self.at.add(self.len).write(b) };
        self.len += 1;
    }

    /// Stores all 8 bytes (one move, whatever `n`) and keeps `n`: the rest
    /// lies beyond the length and is overwritten or never read. Needs 8
    /// bytes of room, not `n`.
    #[inline]
    fn word(&mut self, word: [u8; 8], n: usize) {
        assert!(
            n <= 8 && 8 <= self.cap - self.len,
            "encoder reserved too little"
        );
        // SAFETY: `len + 8 <= cap`, so the 8 bytes at `at + len` are in the
        // spare capacity (see `put`); an unaligned store.
        unsafe {
            self.at
                .add(self.len)
                .cast::<[u8; 8]>()
                .write_unaligned(word)
        };
        self.len += n;
    }
}

impl Drop for Room<'_> {
    #[inline]
    fn drop(&mut self) {
        let new_len = self.vec.len() + self.len;
        // SAFETY: `len <= cap` bytes directly after the contents were
        // written by `put` and `byte`, so they are initialised, and
        // `new_len` is within the capacity reserved in `new`.
        unsafe { self.vec.set_len(new_len) };
    }
}

/// Copies all of `src` to `dst` in moves of a fixed size.
///
/// # Safety
///
/// `dst` must be valid for `N` writes and not overlap `src`.
#[inline(always)]
unsafe fn copy_short_fixed<const N: usize>(src: &[u8; N], dst: *mut u8) {
    // SAFETY: `src` is `N` readable bytes; the caller guarantees the rest.
    unsafe { dst.cast::<[u8; N]>().write_unaligned(*src) };
}

/// Copies `n` bytes from `src` to `dst`. Short copies, the common case
/// here, take two possibly overlapping unaligned moves instead of a call.
///
/// # Safety
///
/// `src` must be valid for `n` reads and `dst` for `n` writes, and the two
/// ranges must not overlap.
#[inline(always)]
unsafe fn copy_short(src: *const u8, dst: *mut u8, n: usize) {
    // SAFETY (all blocks): each branch reads only `src[0..n]` and writes
    // only `dst[0..n]` (the second move of a pair ends exactly at `n`),
    // which the caller guarantees are valid and disjoint; unaligned
    // accesses are used throughout.
    unsafe {
        if n >= 16 {
            if n <= 32 {
                let a = src.cast::<u128>().read_unaligned();
                let b = src.add(n - 16).cast::<u128>().read_unaligned();
                dst.cast::<u128>().write_unaligned(a);
                dst.add(n - 16).cast::<u128>().write_unaligned(b);
            } else if n <= 64 {
                // A name with its label block: the first 32 and the last
                // 32 bytes.
                let a = src.cast::<u128>().read_unaligned();
                let b = src.add(16).cast::<u128>().read_unaligned();
                let c = src.add(n - 32).cast::<u128>().read_unaligned();
                let d = src.add(n - 16).cast::<u128>().read_unaligned();
                dst.cast::<u128>().write_unaligned(a);
                dst.add(16).cast::<u128>().write_unaligned(b);
                dst.add(n - 32).cast::<u128>().write_unaligned(c);
                dst.add(n - 16).cast::<u128>().write_unaligned(d);
            } else {
                ptr::copy_nonoverlapping(src, dst, n);
            }
        } else if n >= 8 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let a = src.cast::<u32>().read_unaligned();
            let b = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            // 1 to 3 bytes: first, middle and last (some coincide).
            dst.write(src.read());
            dst.add(n / 2).write(src.add(n / 2).read());
            dst.add(n - 1).write(src.add(n - 1).read());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_appends_every_length_after_existing_contents() {
        let src: Vec<u8> = (0..100).collect();
        for n in 0..=src.len() {
            let mut v = b"head".to_vec();
            {
                let mut r = Room::new(&mut v, n + 2);
                r.byte(b'<');
                r.put(&src[..n]);
                r.byte(b'>');
            }
            let mut want = b"head<".to_vec();
            want.extend_from_slice(&src[..n]);
            want.push(b'>');
            assert_eq!(v, want, "length {n}");
        }
    }

    #[test]
    fn a_window_appends_its_first_n_bytes() {
        let window: [u8; 16] = std::array::from_fn(|i| b'a' + i as u8);
        for n in 0..=16 {
            let mut v = b"head".to_vec();
            {
                let mut r = Room::new(&mut v, 16 + 1);
                r.window(&window, n);
                r.byte(b'.');
            }
            let mut want = b"head".to_vec();
            want.extend_from_slice(&window[..n]);
            want.push(b'.');
            assert_eq!(v, want, "n = {n}");
        }
    }

    #[test]
    #[should_panic(expected = "reserved too little")]
    fn a_window_needs_room_for_all_of_it() {
        let mut v = Vec::new();
        let mut r = Room::new(&mut v, 4);
        let cap = r.cap;
        r.put(&vec![b'x'; cap - 3]);
        r.window(&[b'y'; 4], 1);
    }

    #[test]
    fn an_unused_room_leaves_the_vector_unchanged() {
        let mut v = b"abc".to_vec();
        drop(Room::new(&mut v, 100));
        assert_eq!(v, b"abc");
        assert!(v.capacity() >= 103);
    }

    #[test]
    #[should_panic(expected = "reserved too little")]
    fn writing_past_the_reservation_panics_instead_of_overflowing() {
        let mut v = Vec::new();
        let mut r = Room::new(&mut v, 4);
        let cap = r.cap;
        r.put(&vec![b'x'; cap + 1]);
    }
}
