//! The process collector allocates nothing per file descriptor: a collect
//! over a 100,000-entry fd directory (the `getdents64` fallback, on a
//! synthetic root) allocates no more than one over 10 entries, and a
//! steady-state gather allocates nothing at all. This file holds a single
//! test so nothing else runs in this binary while it measures.
#![cfg(all(target_os = "linux", feature = "process"))]

use promclient::process::ProcessCollector;
use promclient::{Registry, Snapshot};

#[path = "common/alloc.rs"]
mod alloc;
use alloc::{measure, Allocs};
#[path = "common/proc_tree.rs"]
mod proc_tree;
use proc_tree::{ProcTree, ProcValues};

#[test]
fn collect_allocations_do_not_grow_with_open_fds() {
    let tree = ProcTree::new();
    // Pids of equal width: paths built on the first collect are as long.
    const FEW: (u32, usize) = (1010, 10);
    const MANY: (u32, usize) = (1020, 100_000);
    for (pid, fds) in [FEW, MANY] {
        tree.write_process(pid, &ProcValues::default(), fds);
    }

    let mut per_size = Vec::new();
    for (pid, fds) in [FEW, MANY] {
        let registry = Registry::new();
        let collector = ProcessCollector::builder()
            .pid(pid)
            .proc_root(tree.root())
            .report_errors(true)
            .build()
            .unwrap();
        registry.register(collector).unwrap();
        let mut snapshot = Snapshot::new();
        let (r, first) = measure(|| registry.gather_into(&mut snapshot));
        r.expect("first gather");
        let open = snapshot.family("process_open_fds").unwrap().metrics[0]
            .value
            .clone();
        assert_eq!(open, promclient::Value::Gauge(fds as f64));
        let (r, steady) = measure(|| registry.gather_into(&mut snapshot));
        r.expect("steady gather");
        per_size.push((pid, first, steady));
    }
    let (_, first_10, steady_10) = per_size[0];
    let (_, first_100k, steady_100k) = per_size[1];
    eprintln!("allocations (first, steady): 10 fds {first_10:?} {steady_10:?}; 100,000 fds {first_100k:?} {steady_100k:?}");
    assert!(
        first_100k.count <= first_10.count && first_100k.bytes <= first_10.bytes,
        "first collect: {first_100k:?} at 100,000 fds against {first_10:?} at 10"
    );
    assert_eq!(steady_10, Allocs { count: 0, bytes: 0 });
    assert_eq!(steady_100k, Allocs { count: 0, bytes: 0 });
}
