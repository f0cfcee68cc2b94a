//! The process collector against synthetic proc roots with known contents
//! and against this very process.
#![cfg(all(target_os = "linux", feature = "process"))]

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use promclient::encoding::text::encode;
use promclient::process::{ProcessCollector, ProcessCollectorBuilder};
use promclient::{CollectError, Collector, ProcessError, Registry, Snapshot, Value};

#[path = "common/proc_tree.rs"]
mod proc_tree;
use proc_tree::{ProcTree, ProcValues};

/// Tests here open and close files, which `process_open_fds` counts: run
/// them one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn ticks() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

fn page_size() -> f64 {
    rustix::param::page_size() as f64
}

/// A collector of `pid` under the synthetic `tree`, reporting errors.
fn on_tree(tree: &ProcTree, pid: u32) -> ProcessCollectorBuilder {
    ProcessCollector::builder()
        .pid(pid)
        .proc_root(tree.root())
        .report_errors(true)
}

/// Every single-series family of a snapshot, by name.
fn values(snapshot: &Snapshot) -> BTreeMap<String, f64> {
    snapshot
        .iter()
        .map(|f| {
            assert_eq!(f.metrics.len(), 1, "{}", f.name);
            let v = match &f.metrics[0].value {
                Value::Counter(c) => c.value,
                Value::Gauge(g) => *g,
                other => panic!("{}: unexpected value {other:?}", f.name),
            };
            (f.name.to_string(), v)
        })
        .collect()
}

fn gather(collector: ProcessCollector) -> Result<Snapshot, promclient::GatherError> {
    let registry = Registry::new();
    registry.register(collector).expect("register");
    registry.gather()
}

/// The process errors of a failed gather.
fn process_errors(err: &promclient::GatherError) -> Vec<&ProcessError> {
    err.errors()
        .iter()
        .map(|e| match e {
            CollectError::Failed(e) => e
                .downcast_ref::<ProcessError>()
                .unwrap_or_else(|| panic!("not a ProcessError: {e}")),
            other => panic!("unexpected error {other}"),
        })
        .collect()
}

fn expected(v: &ProcValues, fds: usize) -> BTreeMap<String, f64> {
    let limit = |l: Option<u64>| l.map_or(u64::MAX as f64, |n| n as f64);
    [
        (
            "process_cpu_seconds_total",
            (v.utime + v.stime) as f64 / ticks(),
        ),
        ("process_open_fds", fds as f64),
        ("process_max_fds", limit(v.max_open_files)),
        ("process_virtual_memory_bytes", v.vsize as f64),
        (
            "process_virtual_memory_max_bytes",
            limit(v.max_address_space),
        ),
        (
            "process_resident_memory_bytes",
            v.rss_pages as f64 * page_size(),
        ),
        (
            "process_start_time_seconds",
            v.boot_time as f64 + v.start_ticks as f64 / ticks(),
        ),
        ("process_threads", v.threads as f64),
        ("process_network_receive_bytes_total", v.in_octets as f64),
        ("process_network_transmit_bytes_total", v.out_octets as f64),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

#[test]
fn synthetic_root_yields_exactly_the_files_values() {
    let _s = serial();
    let tree = ProcTree::new();
    let v = ProcValues::default();
    tree.write_process(4242, &v, 37);
    let collector = on_tree(&tree, 4242).build().unwrap();
    let snapshot = gather(collector).expect("no errors");
    assert_eq!(values(&snapshot), expected(&v, 37));

    let mut text = Vec::new();
    encode(&snapshot, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    // client_golang's help texts and types, and its rendering of
    // `unlimited` (2^64 as a float).
    for line in [
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\n",
        "# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\nprocess_open_fds 37\n",
        "# HELP process_max_fds Maximum number of open file descriptors.\n# TYPE process_max_fds gauge\nprocess_max_fds 1.048576e+06\n",
        "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes 1.23456789e+08\n",
        "# HELP process_virtual_memory_max_bytes Maximum amount of virtual memory available in bytes.\n# TYPE process_virtual_memory_max_bytes gauge\nprocess_virtual_memory_max_bytes 1.8446744073709552e+19\n",
        "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\n",
        "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\n",
        "# HELP process_threads Number of OS threads in the process.\n# TYPE process_threads gauge\nprocess_threads 7\n",
        "# HELP process_network_receive_bytes_total Number of bytes received by the process over the network.\n# TYPE process_network_receive_bytes_total counter\nprocess_network_receive_bytes_total 9.87654321e+08\n",
        "# HELP process_network_transmit_bytes_total Number of bytes sent by the process over the network.\n# TYPE process_network_transmit_bytes_total counter\nprocess_network_transmit_bytes_total 123456\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn values_follow_the_files_between_gathers() {
    let _s = serial();
    let tree = ProcTree::new();
    let mut v = ProcValues::default();
    tree.write_process(7, &v, 3);
    let registry = Registry::new();
    let collector = on_tree(&tree, 7).build().unwrap();
    registry.register(collector).unwrap();
    let mut snapshot = Snapshot::new();
    registry.gather_into(&mut snapshot).unwrap();
    assert_eq!(values(&snapshot), expected(&v, 3));

    // The files are rewritten in place: the held descriptors see it.
    v.utime += 500;
    v.threads = 9;
    v.in_octets += 1;
    v.max_open_files = None;
    tree.write_process(7, &v, 11);
    registry.gather_into(&mut snapshot).unwrap();
    let mut want = expected(&v, 11);
    // The start time is read once per process.
    want.insert(
        "process_start_time_seconds".into(),
        expected(&ProcValues::default(), 0)["process_start_time_seconds"],
    );
    assert_eq!(values(&snapshot), want);
}

#[test]
fn namespace_prefixes_names_and_network_can_be_off() {
    let _s = serial();
    let tree = ProcTree::new();
    let v = ProcValues::default();
    tree.write_process(11, &v, 2);
    let collector = on_tree(&tree, 11)
        .namespace("host")
        .network(false)
        .build()
        .unwrap();
    let described: Vec<String> = collector
        .describe()
        .iter()
        .map(|d| d.fq_name().to_string())
        .collect();
    let snapshot = gather(collector).expect("no errors");
    let want: BTreeMap<String, f64> = expected(&v, 2)
        .into_iter()
        .filter(|(k, _)| !k.starts_with("process_network_"))
        .map(|(k, v)| (format!("host_{k}"), v))
        .collect();
    assert_eq!(values(&snapshot), want);
    let mut described_sorted = described.clone();
    described_sorted.sort();
    assert_eq!(described_sorted, want.keys().cloned().collect::<Vec<_>>());

    assert!(matches!(
        ProcessCollector::builder().namespace("bad-ns").build(),
        Err(promclient::DescError::InvalidMetricName { .. })
    ));
}

#[test]
fn a_new_pid_reopens_the_files() {
    let _s = serial();
    let tree = ProcTree::new();
    let a = ProcValues::default();
    let b = ProcValues {
        utime: 1,
        stime: 2,
        threads: 3,
        start_ticks: 99_000,
        vsize: 4096,
        rss_pages: 1,
        max_open_files: Some(64),
        max_address_space: Some(1 << 40),
        in_octets: 5,
        out_octets: 6,
        ..a
    };
    tree.write_process(100, &a, 5);
    tree.write_process(200, &b, 9);
    let pid = Arc::new(AtomicU32::new(100));
    let current = pid.clone();
    let registry = Registry::new();
    registry
        .register(
            ProcessCollector::builder()
                .pid_fn(move || Ok(current.load(Ordering::Relaxed)))
                .proc_root(tree.root())
                .report_errors(true)
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(values(&registry.gather().unwrap()), expected(&a, 5));
    pid.store(200, Ordering::Relaxed);
    assert_eq!(values(&registry.gather().unwrap()), expected(&b, 9));
    pid.store(100, Ordering::Relaxed);
    assert_eq!(values(&registry.gather().unwrap()), expected(&a, 5));
}

#[test]
fn pid_file_names_the_process() {
    let _s = serial();
    let tree = ProcTree::new();
    let v = ProcValues::default();
    tree.write_process(321, &v, 4);
    let pid_file = tree.root().join("app.pid");
    std::fs::write(&pid_file, "321\n").unwrap();
    let collector = || {
        ProcessCollector::builder()
            .pid_file(&pid_file)
            .proc_root(tree.root())
            .report_errors(true)
            .build()
            .unwrap()
    };
    assert_eq!(values(&gather(collector()).unwrap()), expected(&v, 4));

    std::fs::write(&pid_file, "not a pid").unwrap();
    let err = gather(collector()).unwrap_err();
    assert!(err.partial().is_empty());
    let errors = process_errors(&err);
    assert_eq!(errors.len(), 1);
    assert!(
        matches!(errors[0], ProcessError::Pid(e) if e.kind() == std::io::ErrorKind::InvalidData),
        "{:?}",
        errors[0]
    );

    let err = gather(
        ProcessCollector::builder()
            .pid_fn(|| Err(std::io::Error::other("no service running")))
            .report_errors(true)
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert_eq!(
        err.errors()[0].to_string(),
        "collector failed: no pid to report on: no service running"
    );
}

#[test]
fn a_missing_process_is_a_typed_error_or_skipped() {
    let _s = serial();
    let tree = ProcTree::new();
    tree.write_process(1, &ProcValues::default(), 1);
    let err = gather(on_tree(&tree, 999_999).build().unwrap()).unwrap_err();
    let errors = process_errors(&err);
    assert_eq!(errors.len(), 1, "{errors:?}");
    match errors[0] {
        ProcessError::Read { path, source } => {
            assert_eq!(*path, tree.root().join("999999"));
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }

    // Skipped by default, as client_golang: no error, no process metrics.
    let snapshot = gather(
        ProcessCollector::builder()
            .pid(999_999)
            .proc_root(tree.root())
            .build()
            .unwrap(),
    )
    .expect("errors are skipped");
    assert!(snapshot.is_empty());
}

#[test]
fn malformed_files_lose_only_their_own_metrics() {
    let _s = serial();
    let tree = ProcTree::new();
    let v = ProcValues::default();
    tree.write_process(5, &v, 6);
    let dir = tree.pid_dir(5);
    std::fs::write(dir.join("stat"), "5 (truncated) S 1 2 3\n").unwrap();
    std::fs::write(dir.join("net/netstat"), "TcpExt: A B\nTcpExt: 1 2\n").unwrap();
    std::fs::remove_file(dir.join("limits")).unwrap();
    let err = gather(on_tree(&tree, 5).build().unwrap()).unwrap_err();
    let mut errors: Vec<String> = process_errors(&err)
        .iter()
        .map(|e| match e {
            ProcessError::Malformed { path, what } => {
                format!(
                    "malformed {} {what}",
                    path.strip_prefix(tree.root()).unwrap().display()
                )
            }
            ProcessError::Read { path, source } => format!(
                "read {} {:?}",
                path.strip_prefix(tree.root()).unwrap().display(),
                source.kind()
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        [
            "malformed 5/net/netstat no IpExt lines",
            "malformed 5/stat utime (field 14)",
            "read 5/limits NotFound",
        ]
    );
    // What could be read is still reported.
    let got = values(err.partial());
    assert_eq!(got.keys().collect::<Vec<_>>(), ["process_open_fds"]);
    assert_eq!(got["process_open_fds"], 6.0);
}

#[test]
fn a_root_that_is_not_a_proc_tree_gives_errors_not_panics() {
    let _s = serial();
    let empty = tempfile::tempdir().unwrap();
    let err = gather(
        ProcessCollector::builder()
            .proc_root(empty.path())
            .report_errors(true)
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert!(matches!(
        process_errors(&err)[..],
        [ProcessError::Read { .. }]
    ));

    // A pid directory with nothing in it: every file fails on its own.
    std::fs::create_dir(empty.path().join("3")).unwrap();
    std::fs::write(empty.path().join("stat"), "no boot time here\n").unwrap();
    let err = gather(
        ProcessCollector::builder()
            .pid(3)
            .proc_root(empty.path())
            .report_errors(true)
            .build()
            .unwrap(),
    )
    .unwrap_err();
    assert_eq!(process_errors(&err).len(), 4, "{:?}", err.errors());
    assert!(err.partial().is_empty());
}

#[test]
fn open_fds_counts_real_descriptors_exactly() {
    let _s = serial();
    let collector = ProcessCollector::builder()
        .report_errors(true)
        .build()
        .unwrap();
    let registry = Registry::new();
    registry.register(collector).unwrap();
    let open_fds = || values(&registry.gather().expect("gather"))["process_open_fds"];
    let before = open_fds();
    const K: usize = 57;
    let files: Vec<File> = (0..K).map(|_| File::open("/dev/null").unwrap()).collect();
    assert_eq!(open_fds(), before + K as f64);
    drop(files);
    assert_eq!(open_fds(), before);
}

#[test]
fn own_process_matches_the_procfs_crate_and_getrlimit() {
    let _s = serial();
    let collector = ProcessCollector::builder()
        .report_errors(true)
        .build()
        .unwrap();
    let fds = collector.open_fds().unwrap();
    let me = procfs::process::Process::myself().unwrap();
    let cpu = || {
        let st = me.stat().unwrap();
        (st.utime + st.stime) as f64 / ticks()
    };
    // Some CPU time to measure.
    let mut x = 0u64;
    while cpu() < 0.02 {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
    }
    let cpu_before = cpu();
    let got = values(&gather(collector).expect("gather"));
    let cpu_after = cpu();
    let stat = me.stat().unwrap();
    let boot = procfs::boot_time_secs().unwrap() as f64;
    assert_eq!(
        got["process_start_time_seconds"],
        boot + stat.starttime as f64 / ticks()
    );
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    assert_eq!(
        got["process_max_fds"],
        soft.map_or(u64::MAX as f64, |n| n as f64)
    );
    assert!(got["process_threads"] >= 1.0);
    assert!(got["process_resident_memory_bytes"] > 0.0);
    assert!(got["process_virtual_memory_bytes"] >= got["process_resident_memory_bytes"]);
    let cpu_got = got["process_cpu_seconds_total"];
    assert!(
        cpu_before <= cpu_got && cpu_got <= cpu_after,
        "{cpu_before} <= {cpu_got} <= {cpu_after}"
    );
    assert!(fds >= 3, "{fds}");
    // This process's network namespace has a netstat: both counters exist.
    assert!(got.contains_key("process_network_receive_bytes_total"));
    assert!(got.contains_key("process_network_transmit_bytes_total"));
}

#[test]
fn a_process_that_exits_is_reported_then_skipped() {
    let _s = serial();
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    let registry = Registry::new();
    registry
        .register(
            ProcessCollector::builder()
                .pid(child.id())
                .report_errors(true)
                .build()
                .unwrap(),
        )
        .unwrap();
    let mut snapshot = Snapshot::new();
    registry.gather_into(&mut snapshot).expect("child alive");
    let alive = values(&snapshot);
    assert_eq!(alive["process_threads"], 1.0);
    assert!(alive["process_open_fds"] >= 3.0);

    child.kill().unwrap();
    child.wait().unwrap();
    // The held files of the reaped process fail; reopening finds no such
    // pid: typed errors, no panic, no stale values.
    let err = registry.gather_into(&mut snapshot).unwrap_err();
    assert!(!process_errors(&err).is_empty());
    assert!(snapshot.is_empty(), "stale values: {:?}", values(&snapshot));
}

#[test]
fn collector_is_opt_in() {
    let registry = Registry::new();
    assert!(registry.gather().unwrap().is_empty());
    let _ = ProcessCollector::default();
}
