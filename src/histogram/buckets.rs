//! Bucket bounds, and which bucket an observation falls in.
//!
//! The bucket of `v` is the number of bounds below it, i.e. those `v` does
//! not fit under (`!(v <= bound)`, so NaN lands in `+Inf`, as in
//! client_golang). Comparing `v` with every bound costs a compare per
//! bound; with the eleven default bounds that was about half of an
//! observe, and the lookup below made observe about 15% faster.
//!
//! Most bucket layouts are spread out (exponential, or a few hand-picked
//! latencies), so the index instead maps `v` to a *cell* of the float
//! line: the order-preserving integer image of `v` shifted right (see
//! [`order_key`]). The shift is the largest that leaves no two bounds in
//! one cell, so a cell holds at most one bound, and a table gives the
//! number of bounds below each cell's start and the cell's bound. The
//! bucket is that number, plus one if `v` is above the cell's bound: one
//! table load and one compare, whatever the number of bounds. Layouts
//! that would need more than [`MAX_CELLS`] cells, or have a `-0.0` bound,
//! fall back to comparing with every bound (up to 32) or a binary search.

use std::sync::Arc;

/// The largest cell table built, 16 bytes a cell.
const MAX_CELLS: usize = 128;

/// Bucket upper bounds, without the implicit `+Inf`, and an index from a
/// value to its bucket. Cheap to clone: a histogram holds its own copy, so
/// that finding the bucket loads the fields inline and then one cell.
#[derive(Clone)]
pub struct Buckets {
    bounds: Arc<[f64]>,
    cells: Option<Cells>,
}

/// The cell table of [`Buckets`].
#[derive(Clone)]
struct Cells {
    /// The cell of `v` is `(order_key(v) >> shift) - base`, clamped to
    /// the table: from the first bound's cell to the last bound's. At
    /// least 1, so the subtraction cannot overflow.
    shift: u32,
    base: i64,
    table: Arc<[Cell]>,
}

#[derive(Clone, Copy)]
struct Cell {
    /// The number of bounds below the cell's start.
    below: u64,
    /// The bound in the cell, or `+Inf` if it holds none.
    bound: f64,
}

impl std::fmt::Debug for Buckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.bounds().fmt(f)
    }
}

/// The image of `v` in an integer order that agrees with `<` on floats
/// other than NaN, except that `-0.0` sorts before `+0.0`: positive floats
/// keep their bits, negative ones flip all but the sign.
#[inline(always)]
fn order_key(v: f64) -> i64 {
    // Reinterpreting the bits (`as`) is the point here.
    let bits = v.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

impl Buckets {
    /// The index of these bounds, which must be strictly increasing and
    /// not NaN (checked by `validate_buckets`).
    pub(crate) fn new(bounds: &[f64]) -> Self {
        Self {
            bounds: Arc::from(bounds),
            cells: Cells::new(bounds),
        }
    }

    /// The upper bounds, without the implicit `+Inf`.
    pub(crate) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// The number of bounds, without the implicit `+Inf`.
    pub(crate) fn len(&self) -> usize {
        self.bounds.len()
    }

    /// The bucket `v` falls in: the number of bounds below it; NaN falls in
    /// the last, `+Inf`.
    #[inline(always)]
    pub(crate) fn index(&self, v: f64) -> usize {
        match &self.cells {
            Some(cells) => {
                let cell = cells.cell(v);
                let i = cell.below as usize + usize::from(v > cell.bound);
                if v.is_nan() {
                    self.len()
                } else {
                    i
                }
            }
            None => self.compare_all(v),
        }
    }

    /// [`Buckets::index`] without a cell table.
    #[inline]
    fn compare_all(&self, v: f64) -> usize {
        let b = self.bounds();
        if b.len() <= 32 {
            // Branchless: all bounds minus those v fits under.
            b.len() - b.iter().map(|&ub| usize::from(v <= ub)).sum::<usize>()
        } else {
            search(b, v)
        }
    }

    /// Whether the index uses a cell table (for tests).
    #[cfg(test)]
    fn has_cells(&self) -> bool {
        self.cells.is_some()
    }
}

/// [`Buckets::compare_all`] for many bounds: a binary search, out of line.
#[inline(never)]
fn search(bounds: &[f64], v: f64) -> usize {
    bounds.partition_point(|&ub| v > ub || v.is_nan())
}

impl Cells {
    fn new(bounds: &[f64]) -> Option<Self> {
        let (&first, &last) = (bounds.first()?, bounds.last()?);
        // `-0.0` and `+0.0` are equal but have different keys, so a `-0.0`
        // bound could sit in a cell below a `+0.0` value it is not below.
        if bounds.iter().any(|b| b.to_bits() == (-0.0f64).to_bits()) {
            return None;
        }
        // The coarsest shift that leaves every bound in a cell of its own.
        let shift = (1..64u32).rev().find(|&s| {
            bounds
                .windows(2)
                .all(|w| order_key(w[0]) >> s != order_key(w[1]) >> s)
        })?;
        let base = order_key(first) >> shift;
        // Values above the last bound's cell are clamped into it, and are
        // above its bound.
        let cells = usize::try_from((order_key(last) >> shift) - base + 1).ok()?;
        if cells > MAX_CELLS {
            return None;
        }
        let mut table = vec![
            Cell {
                below: 0,
                bound: f64::INFINITY
            };
            cells
        ];
        for (i, &b) in bounds.iter().enumerate() {
            let c = usize::try_from((order_key(b) >> shift) - base).ok()?;
            table[c].bound = b;
            for later in &mut table[c + 1..] {
                later.below = i as u64 + 1;
            }
        }
        Some(Self {
            shift,
            base,
            table: table.into(),
        })
    }

    /// The cell of `v` (any cell for NaN).
    #[inline(always)]
    fn cell(&self, v: f64) -> Cell {
        let last = self.table.len() - 1;
        // No overflow: with `shift >= 1` both terms are within ±2^62.
        let c = ((order_key(v) >> self.shift) - self.base).clamp(0, last as i64);
        self.table[c as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// client_golang's definition (`sort.SearchFloat64s`): the first
    /// bound at or above `v`; none for NaN.
    fn reference(bounds: &[f64], v: f64) -> usize {
        bounds.iter().position(|&b| b >= v).unwrap_or(bounds.len())
    }

    /// Every bound, its neighbours, the specials and `extra`.
    fn probes(bounds: &[f64], extra: &[f64]) -> Vec<f64> {
        let mut p = vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for &b in bounds {
            p.extend([b, up(b), down(b), b * 0.5, b * 2.0, -b]);
        }
        p.extend_from_slice(extra);
        p
    }

    /// The next float above `v` (`f64::next_up` needs Rust 1.86).
    fn up(v: f64) -> f64 {
        match v {
            _ if v.is_nan() || v == f64::INFINITY => v,
            0.0 => f64::from_bits(1),
            _ if v > 0.0 => f64::from_bits(v.to_bits() + 1),
            _ => f64::from_bits(v.to_bits() - 1),
        }
    }

    fn down(v: f64) -> f64 {
        -up(-v)
    }

    fn check(bounds: &[f64], extra: &[f64]) {
        let buckets = Buckets::new(bounds);
        for v in probes(bounds, extra) {
            assert_eq!(
                buckets.index(v),
                reference(bounds, v),
                "{v:e} in {bounds:?}"
            );
        }
    }

    #[test]
    fn layouts_that_get_a_cell_table() {
        let layouts: Vec<Vec<f64>> = vec![
            crate::DEFAULT_BUCKETS.to_vec(),
            crate::exponential_buckets(0.0001, 1.5, 30).unwrap(),
            crate::exponential_buckets(1.0, 2.0, 60).unwrap(),
            crate::linear_buckets(1.0, 1.0, 10).unwrap(),
            vec![0.0],
            vec![0.0, 1.0],
            vec![-1.0, 0.0, 1.0],
            vec![f64::NEG_INFINITY, 0.5],
            vec![f64::MIN, f64::MAX],
            vec![-1e300, -1e-300, 1e-300, 1e300],
        ];
        for bounds in layouts {
            assert!(Buckets::new(&bounds).has_cells(), "{bounds:?}");
            check(&bounds, &[]);
        }
    }

    #[test]
    fn layouts_without_a_table_compare() {
        let layouts: Vec<Vec<f64>> = vec![
            vec![],
            vec![-0.0],
            vec![-1.0, -0.0, 1.0],
            // Adjacent floats: no cell holds just one.
            vec![1.0, up(1.0)],
            vec![f64::from_bits(1), f64::from_bits(2), f64::from_bits(3)],
            // Around zero the float line has every tiny exponent's cells.
            crate::linear_buckets(-5.0, 1.0, 11).unwrap(),
            // Dense: factor 1.1 over 8 octaves needs about 130 cells.
            crate::exponential_buckets(0.001, 1.1, 60).unwrap(),
            // Dense: 37 bounds in one octave, 100 in all.
            crate::linear_buckets(1.0, 1.0, 100).unwrap(),
            crate::linear_buckets(0.0, 1.0, 300).unwrap(),
        ];
        for bounds in layouts {
            assert!(!Buckets::new(&bounds).has_cells(), "{bounds:?}");
            check(&bounds, &[]);
        }
    }

    fn sorted_bounds() -> impl Strategy<Value = Vec<f64>> {
        let any_float = prop_oneof![
            proptest::num::f64::NORMAL
                | proptest::num::f64::SUBNORMAL
                | proptest::num::f64::ZERO
                | proptest::num::f64::POSITIVE
                | proptest::num::f64::NEGATIVE,
            (-1000i32..1000).prop_map(|i| f64::from(i) / 8.0),
        ];
        proptest::collection::vec(any_float, 0..40).prop_map(|mut v| {
            v.retain(|x| !x.is_nan());
            v.sort_by(f64::total_cmp);
            v.dedup_by(|a, b| a == b);
            // A trailing `+Inf` is dropped by validation.
            v.retain(|x| *x != f64::INFINITY);
            v
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn index_is_the_number_of_bounds_below(
            bounds in sorted_bounds(),
            values in proptest::collection::vec(proptest::num::f64::ANY, 0..64),
        ) {
            let buckets = Buckets::new(&bounds);
            for v in probes(&bounds, &values) {
                prop_assert_eq!(buckets.index(v), reference(&bounds, v), "{:e} in {:?}", v, bounds);
            }
        }
    }
}
