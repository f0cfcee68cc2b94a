//! promclient against the Rust Prometheus clients users would otherwise
//! pick, on the same workloads, in one run:
//!
//! ```sh
//! cargo run --release --manifest-path benches/compare/Cargo.toml
//! cargo run --release --manifest-path benches/compare/Cargo.toml -- labeled   # workloads whose name contains `labeled`
//! cargo run --release --manifest-path benches/compare/Cargo.toml -- --quick   # fewer, shorter slots
//! ```
//!
//! The contenders of a workload take turns in short slots (the order
//! rotating every slot), and each one's figure is the median of its
//! slots: on a 2-core VM whose speed swings by 1.7x within minutes (3x for
//! two threads), that compares them under the same conditions, which
//! separate criterion runs cannot. The table gives each contender's median
//! and the ratio ours / best peer (the peer with the lowest median), then
//! that ratio slot by slot: its first quartile, median and third quartile.
//! Within a slot the contenders ran back to back, so the per-slot ratios
//! show how far the run's noise moves the ratio; where ours and the best
//! peer run the same instructions (`counter_inc`), that spread straddles
//! 1.0.
//!
//! Peers: `prometheus` 0.14, `prometheus-client` 0.25,
//! `metrics` 0.24 with `metrics-exporter-prometheus` 0.18, `measured`
//! 0.0.25 (with `measured-process` 0.0.25 for the process rows). Each is used
//! the way its documentation shows for the job: cached handles for the
//! unlabeled workloads, the crate's own lookup by label values for the
//! labeled one.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Barrier;
use std::time::Instant;

mod measured_peer;
mod peers;
mod process;

// ---------------------------------------------------------------------------
// Heap accounting: bytes live, for retained bytes per series.

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counter is bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` above with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract, passed on as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Bytes allocated and not freed, process-wide.
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

// ---------------------------------------------------------------------------
// Alternating slots.

/// How long the run is: slots per workload, and a scale on iterations.
#[derive(Clone, Copy)]
pub struct Plan {
    pub slots: usize,
    pub scale: u64,
}

/// One contender of a workload: runs the operation `n` times.
pub struct Contender<'a> {
    pub name: &'static str,
    pub run: Box<dyn FnMut(u64) + 'a>,
}

impl<'a> Contender<'a> {
    pub fn new(name: &'static str, run: impl FnMut(u64) + 'a) -> Self {
        Self {
            name,
            run: Box::new(run),
        }
    }
}

/// Nanoseconds per operation of each contender in each of `plan.slots`
/// slots of `iters` operations, the contenders taking turns.
pub fn alternate(plan: Plan, iters: u64, contenders: &mut [Contender<'_>]) -> Vec<Vec<f64>> {
    let iters = iters * plan.scale;
    let mut samples = vec![Vec::with_capacity(plan.slots); contenders.len()];
    // One slot each to warm up, not counted.
    for c in contenders.iter_mut() {
        (c.run)(iters);
    }
    for slot in 0..plan.slots {
        for k in 0..contenders.len() {
            let i = (k + slot) % contenders.len();
            let t = Instant::now();
            (contenders[i].run)(iters);
            samples[i].push(t.elapsed().as_nanos() as f64 / iters as f64);
        }
    }
    samples
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 1, 2)
}

/// The sample `num / den` of the way up `v` sorted: 1/2 the median, 1/4
/// and 3/4 the quartiles (equally far from either end).
fn quantile(v: &[f64], num: usize, den: usize) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() * num / den]
}

/// Runs `op(thread, n)` on two threads started together; returns when
/// both are done.
pub fn two_threads(n: u64, op: &(impl Fn(usize, u64) + Sync)) {
    let start = Barrier::new(2);
    std::thread::scope(|s| {
        let other = s.spawn(|| {
            start.wait();
            op(1, n);
        });
        start.wait();
        op(0, n);
        other.join().expect("worker thread");
    });
}

// ---------------------------------------------------------------------------
// The table.

pub struct Row {
    pub workload: String,
    pub unit: &'static str,
    pub figures: Vec<(&'static str, f64)>,
    /// Each contender's slot samples, in the order of `figures`; empty
    /// for a row whose figures are not timed in slots.
    pub slots: Vec<Vec<f64>>,
}

impl Row {
    /// A row of contenders timed in alternating slots (nanoseconds, as
    /// [`alternate`] returns them): each figure is the median of the
    /// contender's slots, divided by `per` to give `unit`.
    pub fn timed(
        workload: impl Into<String>,
        unit: &'static str,
        names: impl IntoIterator<Item = &'static str>,
        slots: Vec<Vec<f64>>,
        per: f64,
    ) -> Row {
        Row {
            workload: workload.into(),
            unit,
            figures: names
                .into_iter()
                .zip(&slots)
                .map(|(name, s)| (name, median(s) / per))
                .collect(),
            slots,
        }
    }

    /// Ours against the best peer slot by slot: the quartiles and the
    /// median of the per-slot ratios. Contenders ran side by side within
    /// a slot, so these ratios are paired; their spread is the run's noise
    /// on the ratio, which one ratio of medians does not show.
    fn paired(&self, peers: &[&str]) -> Option<[f64; 3]> {
        let at = |name: &str| self.figures.iter().position(|(n, _)| *n == name);
        let ours = at("promclient")?;
        let best = peers
            .iter()
            .filter_map(|p| at(p))
            .min_by(|&a, &b| self.figures[a].1.total_cmp(&self.figures[b].1))?;
        let (o, b) = (self.slots.get(ours)?, self.slots.get(best)?);
        if o.is_empty() || o.len() != b.len() {
            return None;
        }
        let r: Vec<f64> = o.iter().zip(b).map(|(o, b)| o / b).collect();
        Some([quantile(&r, 1, 4), median(&r), quantile(&r, 3, 4)])
    }
}

fn print_table(rows: &[Row], peers: &[&str]) {
    let mut header = format!("{:<36} {:>10}", "workload", "ours");
    for p in peers {
        header.push_str(&format!(" {:>18}", p));
    }
    header.push_str(&format!(
        " {:>12} {:>19}",
        "ours / best", "per slot p25-med-p75"
    ));
    println!("{header}");
    println!("{}", "-".repeat(header.len()));
    for r in rows {
        let ours = r
            .figures
            .iter()
            .find(|(n, _)| *n == "promclient")
            .map(|f| f.1);
        let mut line = format!(
            "{:<36} {:>10}",
            format!("{} ({})", r.workload, r.unit),
            ours.map_or("-".into(), fmt)
        );
        let mut best: Option<f64> = None;
        for p in peers {
            let v = r.figures.iter().find(|(n, _)| n == p).map(|f| f.1);
            if let Some(v) = v {
                best = Some(best.map_or(v, |b: f64| b.min(v)));
            }
            line.push_str(&format!(" {:>18}", v.map_or("-".into(), fmt)));
        }
        let ratio = match (ours, best) {
            (Some(o), Some(b)) if b > 0.0 => format!("{:.2}x", o / b),
            _ => "-".into(),
        };
        let paired = r.paired(peers).map_or("-".into(), |[lo, mid, hi]| {
            format!("{lo:.2}-{mid:.2}-{hi:.2}")
        });
        line.push_str(&format!(" {:>12} {:>19}", ratio, paired));
        println!("{line}");
    }
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let filter: Option<&str> = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(String::as_str);
    let plan = if quick {
        Plan { slots: 5, scale: 1 }
    } else {
        Plan {
            slots: 31,
            scale: 4,
        }
    };
    let wanted = |name: &str| filter.is_none_or(|f| name.contains(f));
    let mut rows = Vec::new();
    for (name, workload) in peers::WORKLOADS {
        if wanted(name) {
            eprintln!("running {name}...");
            rows.extend(workload(plan));
        }
    }
    if wanted("process_collect") {
        eprintln!("running process_collect...");
        rows.extend(process::process_collect(plan));
    }
    println!();
    print_table(&rows, &peers::PEERS);
    black_box(&rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_ratios_are_taken_slot_by_slot_against_the_peer_with_the_lowest_median() {
        let row = Row::timed(
            "w",
            "ns",
            ["promclient", "a", "b"],
            vec![
                vec![10.0, 20.0, 30.0, 40.0, 50.0],
                // Median 9: the best peer, though its slots are not each
                // the lowest.
                vec![8.0, 9.0, 100.0, 5.0, 50.0],
                vec![11.0, 21.0, 31.0, 41.0, 51.0],
            ],
            1.0,
        );
        let figures: Vec<f64> = row.figures.iter().map(|f| f.1).collect();
        assert_eq!(figures, [30.0, 9.0, 31.0]);
        // Ours / a per slot: 1.25, 2.22, 0.3, 8, 1; sorted 0.3, 1, 1.25,
        // 2.22, 8: quartiles at 5/4 = 1 and 15/4 = 3.
        let [lo, mid, hi] = row.paired(&["a", "b"]).expect("paired");
        assert_eq!([lo, mid, hi], [1.0, 1.25, 20.0 / 9.0]);
        // Ours alone: no peer.
        assert_eq!(row.paired(&["c"]), None);
    }

    #[test]
    fn rows_without_slots_have_no_paired_ratio() {
        let row = Row {
            workload: "bytes".into(),
            unit: "B",
            figures: vec![("promclient", 90.0), ("a", 100.0)],
            slots: Vec::new(),
        };
        assert_eq!(row.paired(&["a"]), None);
    }
}
