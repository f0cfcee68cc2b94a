//! The process collector: client_golang's `process_*` metrics, cheap at a
//! million open file descriptors.
//!
//! Opt-in: nothing registers it for you. It reports, on Linux:
//!
//! | metric | type | from |
//! |---|---|---|
//! | `process_cpu_seconds_total` | counter | `<pid>/stat` utime + stime over the clock tick |
//! | `process_open_fds` | gauge | `<pid>/fd`, counted without listing it |
//! | `process_max_fds` | gauge | `<pid>/limits`, soft limit of open files |
//! | `process_virtual_memory_bytes` | gauge | `<pid>/stat` vsize |
//! | `process_virtual_memory_max_bytes` | gauge | `<pid>/limits`, soft limit of address space |
//! | `process_resident_memory_bytes` | gauge | `<pid>/stat` rss times the page size |
//! | `process_start_time_seconds` | gauge | boot time (`stat`) + `<pid>/stat` starttime |
//! | `process_threads` | gauge | `<pid>/stat` num_threads |
//! | `process_network_receive_bytes_total` | counter | `<pid>/net/netstat` `IpExt` InOctets |
//! | `process_network_transmit_bytes_total` | counter | `<pid>/net/netstat` `IpExt` OutOctets |
//!
//! For the collecting process itself (the default) the same numbers come
//! from cheaper sources, as the kernel printing `stat` and `limits` is most
//! of a scrape's cost: `times` for utime + stime, `statm` for the memory
//! (its resident count is the exact sum of the kernel's per-CPU counters,
//! where `stat` may lag by a few dozen pages), the link count of `task`
//! for the threads, `getrlimit` for the limits; `stat` is read once, for
//! the start time.
//!
//! Names, types and help texts are client_golang's (`process_threads` is
//! ours); an unlimited limit is reported as client_golang reports it,
//! 2^64 (`1.8446744073709552e+19`). On other platforms the collector
//! compiles, describes the same metrics and reports none of them.
//!
//! # What it costs
//!
//! The collector keeps the process's proc directory and the files it
//! reads open (at most five descriptors, counted in `process_open_fds`)
//! and re-reads them in place, into buffers reused across gathers. The
//! open descriptors are counted with one `fstat` of the `fd` directory,
//! whose size is the count on Linux 6.2 and later when the root is a real
//! procfs. On older kernels and other file systems it falls back to
//! `getdents64` into a reused buffer, counting entries: time grows with the
//! number of descriptors, memory and allocations do not.
//! Nothing is ever allocated per descriptor. The own pid is cached in a
//! page the kernel zeroes in forked children (`MADV_WIPEONFORK`), so a
//! scrape makes no `getpid` call and a child never reports its parent.
//! A scrape without network metrics takes about 1.5 us beyond the system
//! calls it makes; `benches/process.rs` has the figures.
//!
//! The network metrics cost what the kernel takes to print `net/netstat`
//! (tens of microseconds); switch them off with
//! [`ProcessCollectorBuilder::network`] when that matters.

// Elsewhere than Linux the readings' vocabulary has no reader.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use crate::collector::{Collector, MetricSink};
use crate::desc::{Desc, MetricType, Opts};
use crate::error::{DescError, ProcessError};
use crate::snapshot::{CounterValue, Value};

#[cfg(target_os = "linux")]
#[path = "linux.rs"]
mod platform;
#[cfg(not(target_os = "linux"))]
#[path = "other.rs"]
mod platform;

/// Where the pid to report on comes from.
enum PidSource {
    Own,
    Fixed(u32),
    File(PathBuf),
    Fn(Box<dyn Fn() -> io::Result<u32> + Send + Sync>),
}

impl fmt::Debug for PidSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Own => f.write_str("Own"),
            Self::Fixed(pid) => f.debug_tuple("Fixed").field(pid).finish(),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Fn(_) => f.write_str("Fn(..)"),
        }
    }
}

impl PidSource {
    /// Inlined for the own process (a cached pid) and a fixed one; the
    /// others call out.
    #[inline]
    fn pid(&self) -> Result<u32, ProcessError> {
        match self {
            Self::Own => Ok(platform::own_pid()),
            Self::Fixed(pid) => Ok(*pid),
            _ => self.pid_call(),
        }
    }

    #[inline(never)]
    fn pid_call(&self) -> Result<u32, ProcessError> {
        match self {
            Self::File(path) => read_pid_file(path).map_err(ProcessError::Pid),
            Self::Fn(f) => f().map_err(ProcessError::Pid),
            Self::Own | Self::Fixed(_) => self.pid(),
        }
    }
}

/// Reads a pid file (decimal, surrounding whitespace allowed) into a
/// stack buffer.
fn read_pid_file(path: &Path) -> io::Result<u32> {
    let mut buf = [0u8; 32];
    let mut file = File::open(path)?;
    let mut len = 0;
    loop {
        let n = file.read(&mut buf[len..])?;
        if n == 0 {
            break;
        }
        len += n;
        if len == buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "pid file too long",
            ));
        }
    }
    std::str::from_utf8(&buf[..len])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "pid file holds no pid"))
}

/// The metrics of the collector, as indices into [`Descs`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Which {
    CpuSeconds,
    OpenFds,
    MaxFds,
    VirtualBytes,
    VirtualMaxBytes,
    ResidentBytes,
    StartTime,
    Threads,
    NetReceive,
    NetTransmit,
}

/// Name, help and type of each metric, in [`Which`] order.
const METRICS: [(&str, &str, MetricType); 10] = [
    (
        "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        MetricType::Counter,
    ),
    (
        "process_open_fds",
        "Number of open file descriptors.",
        MetricType::Gauge,
    ),
    (
        "process_max_fds",
        "Maximum number of open file descriptors.",
        MetricType::Gauge,
    ),
    (
        "process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        MetricType::Gauge,
    ),
    (
        "process_virtual_memory_max_bytes",
        "Maximum amount of virtual memory available in bytes.",
        MetricType::Gauge,
    ),
    (
        "process_resident_memory_bytes",
        "Resident memory size in bytes.",
        MetricType::Gauge,
    ),
    (
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        MetricType::Gauge,
    ),
    (
        "process_threads",
        "Number of OS threads in the process.",
        MetricType::Gauge,
    ),
    (
        "process_network_receive_bytes_total",
        "Number of bytes received by the process over the network.",
        MetricType::Counter,
    ),
    (
        "process_network_transmit_bytes_total",
        "Number of bytes sent by the process over the network.",
        MetricType::Counter,
    ),
];

/// Which proc file a failure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `<root>/<pid>`
    PidDir,
    /// `<root>/<pid>/stat`
    Stat,
    /// `<root>/<pid>/statm`
    Statm,
    /// `<root>/<pid>/task`
    TaskDir,
    /// `<root>/<pid>/limits`
    Limits,
    /// `<root>/<pid>/fd`
    FdDir,
    /// `<root>/<pid>/net/netstat`
    Netstat,
    /// `<root>/stat`
    SystemStat,
}

impl Source {
    fn path(self, root: &Path, pid: u32) -> PathBuf {
        let pid_dir = || root.join(pid.to_string());
        match self {
            Self::PidDir => pid_dir(),
            Self::Stat => pid_dir().join("stat"),
            Self::Statm => pid_dir().join("statm"),
            Self::TaskDir => pid_dir().join("task"),
            Self::Limits => pid_dir().join("limits"),
            Self::FdDir => pid_dir().join("fd"),
            Self::Netstat => pid_dir().join("net/netstat"),
            Self::SystemStat => root.join("stat"),
        }
    }
}

/// A failed read, cheap to make: the path is built only when the failure
/// is reported.
#[derive(Debug)]
pub(crate) enum Failure {
    Io(Source, io::Error),
    Malformed(Source, &'static str),
    /// The platform has no process metrics.
    #[cfg_attr(target_os = "linux", allow(dead_code))]
    Unsupported,
}

impl Failure {
    fn into_error(self, root: &Path, pid: u32) -> ProcessError {
        match self {
            Self::Io(s, source) => ProcessError::Read {
                path: s.path(root, pid),
                source,
            },
            Self::Malformed(s, what) => ProcessError::Malformed {
                path: s.path(root, pid),
                what,
            },
            Self::Unsupported => ProcessError::Unsupported,
        }
    }
}

/// Where a platform's reading goes: values into the sink, failures into
/// gather's errors when the collector reports them.
pub(crate) struct Emit<'c, 's, 'a> {
    collector: &'c ProcessCollector,
    out: &'s mut MetricSink<'a>,
    pid: u32,
}

impl Emit<'_, '_, '_> {
    pub(crate) fn value(&mut self, which: Which, v: f64) {
        let desc = &self.collector.descs[which as usize];
        if let Some(slot) = self.out.series(desc, crate::collector::NO_LABELS, None) {
            *slot = match desc.metric_type() {
                MetricType::Counter => Value::Counter(CounterValue {
                    value: v,
                    created: None,
                    exemplar: None,
                }),
                _ => Value::Gauge(v),
            };
        }
    }

    pub(crate) fn fail(&mut self, failure: Failure) {
        if self.collector.report_errors {
            self.out
                .error(failure.into_error(&self.collector.root, self.pid));
        }
    }
}

/// The opt-in collector of the process's CPU, memory, file descriptors,
/// threads, start time and network traffic, under client_golang's names.
///
/// See the [module docs](self) for the metrics and what they cost.
///
/// # Examples
///
/// ```
/// use promclient::{process::ProcessCollector, Registry};
///
/// let registry = Registry::new();
/// registry.register(ProcessCollector::new())?;
/// let snapshot = registry.gather()?;
/// # #[cfg(target_os = "linux")]
/// assert!(snapshot.family("process_open_fds").is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Another process, under a namespace, with read errors reported:
///
/// ```
/// use promclient::process::ProcessCollector;
///
/// let collector = ProcessCollector::builder()
///     .pid(1)
///     .namespace("host")
///     .proc_root("/proc")
///     .network(false)
///     .report_errors(true)
///     .build()?;
/// # Ok::<(), promclient::DescError>(())
/// ```
pub struct ProcessCollector {
    descs: Box<[Desc]>,
    pid: PidSource,
    root: PathBuf,
    network: bool,
    report_errors: bool,
    state: Mutex<platform::State>,
}

impl fmt::Debug for ProcessCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessCollector")
            .field("pid", &self.pid)
            .field("root", &self.root)
            .field("network", &self.network)
            .field("report_errors", &self.report_errors)
            .finish_non_exhaustive()
    }
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessCollector {
    /// A collector of this process, under `/proc`, with the network
    /// metrics, skipping what cannot be read (client_golang's defaults).
    #[must_use]
    pub fn new() -> Self {
        Self::builder()
            .build()
            .expect("the fixed names without a namespace are valid")
    }

    /// Options: the pid, a namespace, the proc root, network metrics,
    /// error reporting.
    pub fn builder() -> ProcessCollectorBuilder {
        ProcessCollectorBuilder {
            pid: PidSource::Own,
            namespace: String::new(),
            root: PathBuf::from("/proc"),
            network: true,
            report_errors: false,
        }
    }

    /// The number of file descriptors the process has open now, counted as
    /// gather counts them (`process_open_fds`).
    ///
    /// # Errors
    ///
    /// [`ProcessError`] if the pid cannot be determined or its `fd`
    /// directory cannot be read, and [`ProcessError::Unsupported`] on
    /// platforms other than Linux.
    pub fn open_fds(&self) -> Result<u64, ProcessError> {
        let pid = self.pid.pid()?;
        self.state
            .lock()
            .open_fds(&self.root, pid)
            .map_err(|f| f.into_error(&self.root, pid))
    }
}

impl Collector for ProcessCollector {
    fn describe(&self) -> Vec<Desc> {
        self.descs.to_vec()
    }

    fn collect(&self, out: &mut MetricSink<'_>) {
        let pid = match self.pid.pid() {
            Ok(pid) => pid,
            Err(e) => {
                if self.report_errors {
                    out.error(e);
                }
                return;
            }
        };
        let mut state = self.state.lock();
        let mut emit = Emit {
            collector: self,
            out,
            pid,
        };
        state.collect(&self.root, pid, self.network, &mut emit);
    }
}

/// Options of a [`ProcessCollector`], from [`ProcessCollector::builder`].
#[derive(Debug)]
#[must_use = "call build() to get the collector"]
pub struct ProcessCollectorBuilder {
    pid: PidSource,
    namespace: String,
    root: PathBuf,
    network: bool,
    report_errors: bool,
}

impl ProcessCollectorBuilder {
    /// Reports on this pid instead of the own process.
    pub fn pid(mut self, pid: u32) -> Self {
        self.pid = PidSource::Fixed(pid);
        self
    }

    /// Reports on the pid `f` returns, called on every gather
    /// (client_golang's `PidFn`). An error is reported (if errors are) and
    /// that gather has no process metrics.
    pub fn pid_fn(mut self, f: impl Fn() -> io::Result<u32> + Send + Sync + 'static) -> Self {
        self.pid = PidSource::Fn(Box::new(f));
        self
    }

    /// Reports on the pid written in this file, read on every gather
    /// (client_golang's `NewPidFileFn`).
    pub fn pid_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pid = PidSource::File(path.into());
        self
    }

    /// Prefixes every metric name with `namespace_`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Reads `<root>/<pid>/...` instead of `/proc/<pid>/...`: a host's
    /// procfs mounted into a container, or a test tree.
    pub fn proc_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// Whether to report the network metrics (on by default, as
    /// client_golang).
    pub fn network(mut self, on: bool) -> Self {
        self.network = on;
        self
    }

    /// Whether a proc file that cannot be read or parsed is reported in
    /// gather's errors (off by default, as client_golang: what cannot be
    /// read is skipped). Either way the metrics that could be read are
    /// reported.
    pub fn report_errors(mut self, on: bool) -> Self {
        self.report_errors = on;
        self
    }

    /// The collector.
    ///
    /// # Errors
    ///
    /// [`DescError`] if the namespace makes an invalid metric name.
    pub fn build(self) -> Result<ProcessCollector, DescError> {
        let count = if self.network {
            METRICS.len()
        } else {
            Which::NetReceive as usize
        };
        let descs = METRICS[..count]
            .iter()
            .map(|&(name, help, ty)| {
                Desc::from_opts(ty, &Opts::new(name, help).namespace(&*self.namespace), &[])
            })
            .collect::<Result<Box<[Desc]>, _>>()?;
        Ok(ProcessCollector {
            descs,
            pid: self.pid,
            root: self.root,
            network: self.network,
            report_errors: self.report_errors,
            state: Mutex::new(platform::State::new()),
        })
    }
}
