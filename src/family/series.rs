//! One series in one allocation: a thin, reference-counted block holding
//! its descriptor, creation time and atomic state and, for a child of a
//! family, its hash and its label values, inline.
//!
//! A child of a `CounterVec` with one short label value is one 72-byte
//! block; as an `Arc` of a struct with a boxed slice of `Arc<str>` values,
//! plus the table node that pointed at it, it took 173 bytes in four
//! allocations. The table links the block itself, so a lookup follows one
//! pointer from the slot to the hash, the key and the value.
//!
//! # Layout
//!
//! [`Header`], the instrument's state first: what lookups read (hash, key)
//! sits at the far end of the block from what increments write. With the
//! state after the hash, two threads looking up and incrementing the same
//! 18 children took 1.1x to 1.5x as long as with the separate node, since
//! a lookup's read of the key pulled the line the other core was writing;
//! state first measured 0.97x to 1.05x (alternating in one process,
//! 60-80 slots of 10^6 operations per thread).
//!
//! Then the label area, at `size_of::<Header<C>>()`:
//!
//! - the number of values `n`, a `u32`;
//! - each value's first [`SHORT`] bytes, zero-padded: a value of at most
//!   `SHORT` bytes is there whole;
//! - each value's length, a byte saturated at `SHORT + 1` (together with
//!   the bytes before, the `StoredKey` a lookup compares);
//! - for each value longer than `SHORT`, in order: its length (8 bytes,
//!   little-endian) and all its bytes.
//!
//! Everything in the area is read byte-wise or unaligned.
#![allow(unsafe_code)]

use std::alloc::{self, Layout};
use std::marker::PhantomData;
use std::mem::{self, ManuallyDrop};
use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::sync::atomic::{self, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use super::key::{packed, StoredKey, SHORT};
use super::table::Linked;
use super::FamilyMember;
use crate::desc::Desc;

/// The fixed part of a series.
#[repr(C)]
pub struct Header<C> {
    pub(crate) core: C,
    refs: AtomicUsize,
    pub(crate) desc: Desc,
    /// Nanoseconds since the Unix epoch (a `SystemTime` takes 16 bytes).
    created_ns: u64,
    /// The family's hash of the label values (0 for a series outside
    /// any family).
    hash: u64,
}

/// An owned handle to a series: cloning adds a reference, dropping the
/// last frees it. What `Counter`, `Gauge` and `Histogram` wrap. (Public
/// only to appear in the sealed [`FamilyMember`]'s hidden methods.)
pub struct Series<C> {
    ptr: NonNull<Header<C>>,
    _owns: PhantomData<Header<C>>,
}

// SAFETY: a series is shared between handles like an `Arc<Header<C>>`:
// the count is atomic, and the header and label area are never written
// after construction except through `C`'s own (atomic) methods.
unsafe impl<C: Send + Sync> Send for Series<C> {}
// SAFETY: as for `Send`.
unsafe impl<C: Send + Sync> Sync for Series<C> {}

/// The label values of a new child, and the family's hash of them.
pub(crate) struct NewLabels<'a> {
    pub(crate) hash: u64,
    pub(crate) values: &'a [&'a str],
}

// The header owns a `Desc`, shared between threads with the block.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<Desc>();
};

/// Bytes of the area before the long values: count, prefixes, lengths.
fn fixed_area(n: usize) -> usize {
    4 + (SHORT + 1) * n
}

impl<C> Series<C> {
    /// A series outside any family: no label values.
    pub(crate) fn new(desc: Desc, core: C) -> Self {
        Self::build(desc, core, 0, &[])
    }

    /// A child of a family.
    pub(crate) fn labeled(desc: Desc, core: C, labels: &NewLabels<'_>) -> Self {
        Self::build(desc, core, labels.hash, labels.values)
    }

    fn layout(area: usize) -> Layout {
        let head = Layout::new::<Header<C>>();
        // Only a label value near `isize::MAX` bytes long, which could not
        // exist in memory beside it, overflows.
        Layout::from_size_align(head.size() + area, head.align())
            .expect("series size fits isize")
            .pad_to_align()
    }

    /// Everything written into the area is derived here from `values`,
    /// so the area always matches what `Drop` and `Labels` read back.
    fn build(desc: Desc, core: C, hash: u64, values: &[&str]) -> Self {
        let n = values.len();
        let long: usize = values
            .iter()
            .filter(|v| v.len() > SHORT)
            .map(|v| 8 + v.len())
            .sum();
        let area = fixed_area(n) + long;
        let layout = Self::layout(area);
        let created_ns = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        // SAFETY: `layout` has a non-zero size (the header's refcount).
        let block = unsafe { alloc::alloc(layout) };
        let Some(block) = NonNull::new(block) else {
            alloc::handle_alloc_error(layout)
        };
        let head = block.cast::<Header<C>>();
        // SAFETY: `block` is a fresh allocation of `layout`, which holds a
        // `Header<C>` at 0 (same alignment) and `area` bytes after it; the
        // writes below stay inside, and the area starts past the header's
        // own bytes (its size, padding included).
        unsafe {
            head.as_ptr().write(Header {
                refs: AtomicUsize::new(1),
                desc,
                created_ns,
                hash,
                core,
            });
            let mut at = block.as_ptr().add(mem::size_of::<Header<C>>());
            // `n` fits: a family has at most `u32::MAX` labels (checked when
            // it is built), and other series have none.
            let count = (n as u32).to_le_bytes();
            ptr::copy_nonoverlapping(count.as_ptr(), at, 4);
            at = at.add(4);
            for v in values {
                let (w, _) = packed(v);
                ptr::copy_nonoverlapping(w[0].to_le_bytes().as_ptr(), at, 8);
                ptr::copy_nonoverlapping(w[1].to_le_bytes().as_ptr(), at.add(8), 8);
                at = at.add(SHORT);
            }
            for v in values {
                at.write(packed(v).1);
                at = at.add(1);
            }
            for v in values.iter().filter(|v| v.len() > SHORT) {
                ptr::copy_nonoverlapping((v.len() as u64).to_le_bytes().as_ptr(), at, 8);
                ptr::copy_nonoverlapping(v.as_ptr(), at.add(8), v.len());
                at = at.add(8 + v.len());
            }
        }
        Self {
            ptr: head,
            _owns: PhantomData,
        }
    }

    fn area(&self) -> *const u8 {
        // SAFETY: the area follows the header in the same allocation
        // (`build`).
        unsafe {
            self.ptr
                .as_ptr()
                .cast::<u8>()
                .add(mem::size_of::<Header<C>>())
        }
    }

    /// The label values.
    #[inline]
    pub(crate) fn labels(&self) -> Labels<'_> {
        Labels {
            area: self.area(),
            _series: PhantomData,
        }
    }

    /// When the series was created.
    pub(crate) fn created(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(self.created_ns)
    }

    /// The block, keeping this handle's reference (for the family table).
    pub(crate) fn into_raw(self) -> NonNull<u8> {
        ManuallyDrop::new(self).ptr.cast()
    }

    /// The handle given up by [`Series::into_raw`].
    ///
    /// # Safety
    ///
    /// `p` comes from `Series::<C>::into_raw` and its reference is taken
    /// back once (or the result is never dropped).
    pub(crate) unsafe fn from_raw(p: NonNull<u8>) -> Self {
        Self {
            ptr: p.cast(),
            _owns: PhantomData,
        }
    }
}

impl<C> std::fmt::Debug for Series<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series")
            .field("name", &self.desc.fq_name())
            .field("labels", &self.labels())
            .finish_non_exhaustive()
    }
}

impl<C> std::fmt::Debug for Header<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Header")
            .field("name", &self.desc.fq_name())
            .finish_non_exhaustive()
    }
}

impl<C> Deref for Series<C> {
    type Target = Header<C>;

    #[inline]
    fn deref(&self) -> &Header<C> {
        // SAFETY: the block lives while this handle holds its reference.
        unsafe { self.ptr.as_ref() }
    }
}

impl<C> Clone for Series<C> {
    #[inline]
    fn clone(&self) -> Self {
        // Relaxed: as `Arc::clone`; a new reference needs no ordering with
        // the holder's other memory.
        let old = self.refs.fetch_add(1, Ordering::Relaxed);
        if old > isize::MAX as usize {
            // As `Arc`: that many handles means leaked ones; wrapping the
            // count would free a live block.
            std::process::abort();
        }
        Self {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<C> Drop for Series<C> {
    fn drop(&mut self) {
        // Release, then Acquire below: as `Arc`, every use through another
        // handle happens before the free.
        if self.refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        atomic::fence(Ordering::Acquire);
        let layout = Self::layout(self.labels().area_len());
        // SAFETY: this was the last reference: no other handle can reach
        // the block. The header is dropped once, then the block is freed
        // with the layout it was allocated with (`build` computed the same
        // area length).
        unsafe {
            ptr::drop_in_place(self.ptr.as_ptr());
            alloc::dealloc(self.ptr.as_ptr().cast(), layout);
        }
    }
}

// SAFETY: a member's raw form is its series block (`Series::into_raw`):
// non-null, aligned to at least 8 (`Header<C>` holds an `AtomicUsize` and
// `u64`s), valid while referenced; a handle made by `from_raw` reads through it like any
// other.
unsafe impl<M: FamilyMember> Linked for M {
    #[inline(always)]
    fn hash(&self) -> u64 {
        self.series().hash
    }

    #[inline(always)]
    fn into_raw(self) -> NonNull<u8> {
        self.into_series().into_raw()
    }

    #[inline(always)]
    unsafe fn from_raw(p: NonNull<u8>) -> Self {
        // SAFETY: the caller's: `p` came from `into_raw` of an `M`, whose
        // series has `M::Core`.
        M::from_series(unsafe { Series::from_raw(p) })
    }
}

/// The label values of a series, borrowed.
#[derive(Clone, Copy)]
pub struct Labels<'a> {
    area: *const u8,
    _series: PhantomData<&'a ()>,
}

impl<'a> Labels<'a> {
    /// How many values.
    #[inline]
    pub(crate) fn len(self) -> usize {
        // SAFETY: the area starts with the count (`build`).
        let n = unsafe { self.area.cast::<[u8; 4]>().read() };
        u32::from_le_bytes(n) as usize
    }

    /// The packed key, for a family of `N` labels.
    #[inline(always)]
    pub(crate) fn key<const N: usize>(self) -> &'a StoredKey<N> {
        debug_assert_eq!(self.len(), N);
        // SAFETY: a child of a family of `N` labels has `N` values, so the
        // area holds `N` prefixes and then `N` lengths after the count:
        // `StoredKey<N>` exactly (`repr(C)`, alignment 1).
        unsafe { &*self.area.add(4).cast::<StoredKey<N>>() }
    }

    fn lens(self) -> &'a [u8] {
        let n = self.len();
        // SAFETY: `n` lengths follow the `n` prefixes (`build`).
        unsafe { std::slice::from_raw_parts(self.area.add(4 + SHORT * n), n) }
    }

    /// Value `i`.
    #[inline]
    pub(crate) fn get(self, i: usize) -> &'a str {
        let lens = self.lens();
        let len = usize::from(lens[i]);
        let bytes = if len <= SHORT {
            // SAFETY: value `i` is whole in its prefix (`build`).
            unsafe { std::slice::from_raw_parts(self.area.add(4 + SHORT * i), len) }
        } else {
            self.long(i)
        };
        // SAFETY: the bytes were copied from a `&str`, whole (`build`).
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    #[cold]
    fn long(self, i: usize) -> &'a [u8] {
        let lens = self.lens();
        let mut at = fixed_area(lens.len());
        for (j, &len) in lens.iter().enumerate() {
            if usize::from(len) <= SHORT {
                continue;
            }
            let full = self.tail_len(at);
            if j == i {
                // SAFETY: the value's bytes follow its length (`build`).
                return unsafe { std::slice::from_raw_parts(self.area.add(at + 8), full) };
            }
            at += 8 + full;
        }
        unreachable!("value {i} is long, so it has a tail");
    }

    fn tail_len(self, at: usize) -> usize {
        // SAFETY: `at` is where `build` wrote a long value's length.
        let len = unsafe { self.area.add(at).cast::<[u8; 8]>().read() };
        u64::from_le_bytes(len) as usize
    }

    /// The values, in label order.
    pub(crate) fn iter(self) -> impl Iterator<Item = &'a str> {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Bytes of the whole area, as `build` allocated it.
    fn area_len(self) -> usize {
        let lens = self.lens();
        let mut at = fixed_area(lens.len());
        for &len in lens {
            if usize::from(len) > SHORT {
                at += 8 + self.tail_len(at);
            }
        }
        at
    }
}

impl std::fmt::Debug for Labels<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desc::MetricType;
    use crate::family::key::{Lookup, Seeds};

    fn series(values: &[&str; 3]) -> Series<u64> {
        let desc = Desc::new(MetricType::Gauge, "g", "h", &["a", "b", "c"], &[]).unwrap();
        let find = Lookup::new(&Seeds::new(1), values);
        let labels = NewLabels {
            hash: find.hash,
            values,
        };
        Series::labeled(desc, 7, &labels)
    }

    #[test]
    fn values_round_trip_at_every_length() {
        let long = "x".repeat(300);
        for n in 0..=40 {
            let v: String = (0..n).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
            let values = [v.as_str(), long.as_str(), "é"];
            let s = series(&values);
            let labels = s.labels();
            assert_eq!(labels.len(), 3);
            assert_eq!(labels.iter().collect::<Vec<_>>(), values);
            assert_eq!(s.core, 7);
            assert_eq!(s.hash, Lookup::new(&Seeds::new(1), &values).hash);
            let twin = s.clone();
            drop(s);
            assert_eq!(twin.labels().get(1), long);
        }
    }

    /// The size the bench's figures rest on: a counter child with one
    /// short value is 72 bytes.
    #[test]
    fn a_counter_child_with_one_short_value_is_72_bytes() {
        let area = fixed_area(1);
        assert_eq!(
            Series::<crate::counter::CounterCore>::layout(area).size(),
            72
        );
    }

    #[test]
    fn the_last_handle_drops_the_state_once() {
        use std::sync::Arc;
        let state = Arc::new(());
        let s = Series::new(
            Desc::new(MetricType::Gauge, "g", "h", &[], &[]).unwrap(),
            state.clone(),
        );
        let raw = s.clone().into_raw();
        assert_eq!(Arc::strong_count(&state), 2);
        drop(s);
        assert_eq!(Arc::strong_count(&state), 2);
        // SAFETY: from `into_raw` just above, taken back once.
        drop(unsafe { Series::<Arc<()>>::from_raw(raw) });
        assert_eq!(Arc::strong_count(&state), 1);
        assert!(Series::new(
            Desc::new(MetricType::Gauge, "g", "h", &[], &[]).unwrap(),
            ()
        )
        .labels()
        .iter()
        .next()
        .is_none());
    }
}
