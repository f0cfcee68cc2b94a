//! Linux: procfs files held open and re-read in place, descriptors counted
//! with one `fstat` or, failing that, `getdents64` into a reused buffer.
//!
//! All system calls go through `rustix`'s safe wrappers, except `times`
//! and the wipe-on-fork page of the cached pid (`sys.rs`, the collector's
//! `unsafe` calls): this file has no `unsafe`.

use std::io;
use std::mem::MaybeUninit;
use std::path::Path;

use rustix::fd::OwnedFd;
use rustix::fs::{self as rfs, Mode, OFlags, RawDir, SeekFrom};
use rustix::process::{getrlimit, Resource};

use super::{Emit, Failure, Source, Which};

#[path = "sys.rs"]
mod sys;

pub(in crate::process) use sys::own_pid;

/// Largest proc file read; a longer one is malformed.
const MAX_FILE: usize = 1 << 20;
/// First size of the read buffer: every file read fits in it on today's
/// kernels (`net/netstat` is the longest, about 4 KiB).
const FIRST_BUF: usize = 8 * 1024;
/// `getdents64` buffer, in bytes: about 2,000 entries of a fd directory per
/// call.
const DENTS_BUF: usize = 64 * 1024;
/// What Go's procfs reports for `unlimited`, and so client_golang: 2^64 - 1
/// (printed as `1.8446744073709552e+19`).
const UNLIMITED: f64 = u64::MAX as f64;

/// The collector's reusable state: constants of the machine, the open
/// files of one process, and buffers.
pub(super) struct State {
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`): fixed for the
    /// machine, read once.
    ticks: f64,
    /// Bytes per page, read once.
    page_size: f64,
    /// Boot time in seconds since the epoch, read once from `<root>/stat`.
    boot_time: Option<f64>,
    open: Option<Handles>,
    /// File contents, reused across reads and gathers.
    buf: Vec<u8>,
    /// Directory entries, allocated on the first fallback count.
    dents: Vec<MaybeUninit<u8>>,
    /// Where the `IpExt` lines of `net/netstat` were last found.
    netstat: NetstatLayout,
}

/// The open proc files of one process. Each is opened on first use and
/// re-read from offset 0 on every gather.
struct Handles {
    pid: u32,
    /// Whether `<root>/<pid>` is this very process: its usage then comes
    /// from `times`, `statm` and `task`, its limits from `getrlimit`.
    own: bool,
    /// `<root>/<pid>`: the others are opened relative to it, so they all
    /// belong to the process it names.
    dir: OwnedFd,
    stat: Option<OwnedFd>,
    /// Own process only: `statm` and the `task` directory.
    statm: Option<OwnedFd>,
    task: Option<OwnedFd>,
    limits: Option<OwnedFd>,
    netstat: Option<OwnedFd>,
    fds: Option<FdDir>,
    /// The process's start time in seconds since the epoch: fixed for the
    /// process, computed once.
    start_time: Option<f64>,
}

struct FdDir {
    fd: OwnedFd,
    /// On a real procfs (checked with `fstatfs`), the directory's size is
    /// the number of entries on Linux 6.2 and later, and 0 before. On
    /// other file systems it means something else and is never used.
    procfs: bool,
}

impl State {
    pub(super) fn new() -> Self {
        Self {
            ticks: rustix::param::clock_ticks_per_second() as f64,
            page_size: rustix::param::page_size() as f64,
            boot_time: None,
            open: None,
            buf: Vec::new(),
            dents: Vec::new(),
            netstat: NetstatLayout::default(),
        }
    }

    pub(super) fn collect(
        &mut self,
        root: &Path,
        pid: u32,
        network: bool,
        emit: &mut Emit<'_, '_, '_>,
    ) {
        if let Err(f) = self.ensure_open(root, pid) {
            emit.fail(f);
            return;
        }
        let own = self.open.as_ref().is_some_and(|h| h.own);
        if own {
            self.own_usage(root, pid, emit);
        } else if !self.stat_file(root, pid, emit) {
            // The process is gone: its other files fail alike.
            return;
        }
        let limits = if own {
            // The same numbers as `<pid>/limits`, without the kernel
            // printing the file (most of a scrape's cost otherwise).
            Ok(Limits {
                open_files: soft(Resource::Nofile),
                address_space: soft(Resource::As),
            })
        } else {
            self.read_parsed(root, pid, Source::Limits, parse_limits)
        };
        match limits {
            Ok(l) => {
                emit.value(Which::MaxFds, l.open_files);
                emit.value(Which::VirtualMaxBytes, l.address_space);
            }
            Err(f) => emit.fail(f),
        }
        if network {
            let mut layout = std::mem::take(&mut self.netstat);
            let net = self.read_parsed(root, pid, Source::Netstat, |b| {
                parse_netstat(b, &mut layout)
            });
            self.netstat = layout;
            match net {
                Ok((rx, tx)) => {
                    emit.value(Which::NetReceive, rx);
                    emit.value(Which::NetTransmit, tx);
                }
                Err(f) => emit.fail(f),
            }
        }
        // Last, so the count includes the files just opened.
        match self.open_fds(root, pid) {
            Ok(n) => emit.value(Which::OpenFds, n as f64),
            Err(f) => emit.fail(f),
        }
    }

    /// CPU, memory, threads and start time from `<pid>/stat`; false if
    /// the process is gone.
    fn stat_file(&mut self, root: &Path, pid: u32, emit: &mut Emit<'_, '_, '_>) -> bool {
        // A failure here means the process is gone (or the pid now names
        // another one), and everything is reopened.
        match self.read_parsed(root, pid, Source::Stat, parse_stat) {
            Ok(st) => {
                emit.value(Which::CpuSeconds, (st.utime + st.stime) as f64 / self.ticks);
                emit.value(Which::VirtualBytes, st.vsize as f64);
                emit.value(Which::ResidentBytes, st.rss as f64 * self.page_size);
                emit.value(Which::Threads, st.threads as f64);
                match self.start_time(root, st.start_ticks) {
                    Ok(t) => emit.value(Which::StartTime, t),
                    Err(f) => emit.fail(f),
                }
                true
            }
            Err(f) => {
                emit.fail(f);
                self.open.is_some()
            }
        }
    }

    /// The same numbers as [`State::stat_file`] for the collecting process
    /// itself, from cheaper sources than the kernel printing 52 fields of
    /// `stat`: `times` (utime + stime in clock ticks), `statm` (the same
    /// vsize; resident pages summed over the per-CPU counters, where `stat`
    /// reads them unsummed and can lag by a few dozen pages) and the link
    /// count of `task` (two plus the threads). `stat` is read once, for the
    /// start time.
    fn own_usage(&mut self, root: &Path, pid: u32, emit: &mut Emit<'_, '_, '_>) {
        emit.value(Which::CpuSeconds, sys::own_cpu_ticks() as f64 / self.ticks);
        match self.read_parsed(root, pid, Source::Statm, parse_statm) {
            Ok((size, resident)) => {
                emit.value(Which::VirtualBytes, size as f64 * self.page_size);
                emit.value(Which::ResidentBytes, resident as f64 * self.page_size);
            }
            Err(f) => emit.fail(f),
        }
        match self.own_threads() {
            Ok(n) => emit.value(Which::Threads, n as f64),
            Err(f) => emit.fail(f),
        }
        let cached = self.open.as_ref().and_then(|h| h.start_time);
        let start = match cached {
            Some(t) => Ok(t),
            None => self
                .read_parsed(root, pid, Source::Stat, parse_stat)
                .and_then(|st| {
                    // Read once: let the descriptor go.
                    if let Some(h) = self.open.as_mut() {
                        h.stat = None;
                    }
                    self.start_time(root, st.start_ticks)
                }),
        };
        match start {
            Ok(t) => emit.value(Which::StartTime, t),
            Err(f) => emit.fail(f),
        }
    }

    /// The number of threads of the own process: the link count of its
    /// `task` directory is two plus the number of threads.
    fn own_threads(&mut self) -> Result<u64, Failure> {
        let io = |e: io::Error| Failure::Io(Source::TaskDir, e);
        let Some(h) = self.open.as_mut() else {
            return Err(io(io::ErrorKind::NotFound.into()));
        };
        let task = match &h.task {
            Some(fd) => fd,
            None => h
                .task
                .insert(open_at(&h.dir, relative(Source::TaskDir), OFlags::DIRECTORY).map_err(io)?),
        };
        let links = rfs::fstat(task).map_err(|e| io(e.into()))?.st_nlink;
        match (links as u64).checked_sub(2) {
            Some(n) if n > 0 => Ok(n),
            _ => Err(Failure::Malformed(Source::TaskDir, "link count below 3")),
        }
    }

    /// The descriptor count. The common case (files open for `pid`, a
    /// procfs that gives the count as the directory's size) is inlined
    /// around the one `fstat`, the rest called: alternating with a bare
    /// `fstat` in one process, `ProcessCollector::open_fds` took 1.41x its
    /// time through the general path's calls, 1.31x to 1.36x so.
    #[inline]
    pub(super) fn open_fds(&mut self, root: &Path, pid: u32) -> Result<u64, Failure> {
        if let Some(Handles {
            pid: open_pid,
            fds: Some(FdDir { fd, procfs: true }),
            ..
        }) = &self.open
        {
            if *open_pid == pid {
                match rfs::fstat(fd) {
                    Ok(st) if st.st_size > 0 => return Ok(st.st_size as u64),
                    // A kernel before 6.2: read the entries, with no
                    // second `fstat`.
                    Ok(_) => {
                        if let Ok(n) = count_entries(fd, dents_buf(&mut self.dents)) {
                            return Ok(n);
                        }
                    }
                    Err(_) => {}
                }
            }
        }
        self.ensure_open(root, pid)?;
        self.count_fds(root, pid)
    }

    /// Opens `<root>/<pid>` unless it is open for `pid` already.
    fn ensure_open(&mut self, root: &Path, pid: u32) -> Result<(), Failure> {
        if self.open.as_ref().is_some_and(|h| h.pid == pid) {
            return Ok(());
        }
        // Close the old process's files before opening the new ones.
        self.open = None;
        let path = Source::PidDir.path(root, pid);
        let dir = rfs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Failure::Io(Source::PidDir, e.into()))?;
        // `<root>/self` is the same directory when the root is the procfs
        // of this process's pid namespace and the pid is this process.
        let own = rfs::stat(root.join("self"))
            .ok()
            .zip(rfs::fstat(&dir).ok())
            .is_some_and(|(me, it)| me.st_dev == it.st_dev && me.st_ino == it.st_ino);
        self.open = Some(Handles {
            pid,
            own,
            dir,
            stat: None,
            statm: None,
            task: None,
            limits: None,
            netstat: None,
            fds: None,
            start_time: None,
        });
        Ok(())
    }

    /// Reads one of the process's files as [`State::read`] does and parses
    /// it; a parse failure is reported against the file.
    fn read_parsed<T>(
        &mut self,
        root: &Path,
        pid: u32,
        source: Source,
        parse: impl FnOnce(&[u8]) -> Result<T, &'static str>,
    ) -> Result<T, Failure> {
        let n = self.read(root, pid, source)?;
        parse(&self.buf[..n]).map_err(|what| Failure::Malformed(source, what))
    }

    /// Reads the whole of one of the process's files into `self.buf`;
    /// its length. A failed read is retried once on a freshly opened file
    /// (for `stat`, with every file of the process reopened).
    fn read(&mut self, root: &Path, pid: u32, source: Source) -> Result<usize, Failure> {
        let mut retried = false;
        loop {
            let h = match self.open.as_mut() {
                Some(h) => h,
                None => {
                    self.ensure_open(root, pid)?;
                    continue;
                }
            };
            let slot = match source {
                Source::Stat => &mut h.stat,
                Source::Statm => &mut h.statm,
                Source::Limits => &mut h.limits,
                _ => &mut h.netstat,
            };
            let result = match slot {
                Some(fd) => read_whole(fd, &mut self.buf),
                None => open_at(&h.dir, relative(source), OFlags::empty()).and_then(|fd| {
                    let fd = slot.insert(fd);
                    read_whole(fd, &mut self.buf)
                }),
            };
            match result {
                Ok(n) => return Ok(n),
                Err(_) if !retried && source == Source::Stat => {
                    retried = true;
                    self.open = None;
                }
                Err(e) => {
                    // Reopened on the next try.
                    *slot = None;
                    if retried {
                        return Err(Failure::Io(source, e));
                    }
                    retried = true;
                }
            }
        }
    }

    /// Counts the entries of `<root>/<pid>/fd` other than `.` and `..`,
    /// retrying once with every file of the process reopened.
    fn count_fds(&mut self, root: &Path, pid: u32) -> Result<u64, Failure> {
        match self.count_fds_once() {
            Ok(n) => Ok(n),
            Err(_) => {
                self.open = None;
                self.ensure_open(root, pid)?;
                self.count_fds_once()
                    .map_err(|e| Failure::Io(Source::FdDir, e))
            }
        }
    }

    fn count_fds_once(&mut self) -> io::Result<u64> {
        let Some(h) = self.open.as_mut() else {
            return Err(io::ErrorKind::NotFound.into());
        };
        let dir = match &mut h.fds {
            Some(d) => d,
            None => {
                let fd = open_at(&h.dir, "fd", OFlags::DIRECTORY)?;
                let procfs = rfs::fstatfs(&fd)?.f_type == rfs::PROC_SUPER_MAGIC;
                h.fds.insert(FdDir { fd, procfs })
            }
        };
        if dir.procfs {
            let size = rfs::fstat(&dir.fd)?.st_size;
            if size > 0 {
                return Ok(size as u64);
            }
        }
        count_entries(&dir.fd, dents_buf(&mut self.dents))
    }

    /// The process's start time, computed once per process.
    fn start_time(&mut self, root: &Path, start_ticks: u64) -> Result<f64, Failure> {
        if let Some(t) = self.open.as_ref().and_then(|h| h.start_time) {
            return Ok(t);
        }
        let boot = match self.boot_time {
            Some(b) => b,
            None => {
                let b = self.read_boot_time(root)?;
                self.boot_time = Some(b);
                b
            }
        };
        let t = boot + start_ticks as f64 / self.ticks;
        if let Some(h) = self.open.as_mut() {
            h.start_time = Some(t);
        }
        Ok(t)
    }

    fn read_boot_time(&mut self, root: &Path) -> Result<f64, Failure> {
        let io = |e: io::Error| Failure::Io(Source::SystemStat, e);
        let fd = rfs::open(
            root.join("stat"),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io(e.into()))?;
        let n = read_whole(&fd, &mut self.buf).map_err(io)?;
        parse_boot_time(&self.buf[..n]).map_err(|what| Failure::Malformed(Source::SystemStat, what))
    }
}

/// The path of `source` relative to `<root>/<pid>`.
fn relative(source: Source) -> &'static str {
    match source {
        Source::Stat => "stat",
        Source::Statm => "statm",
        Source::TaskDir => "task",
        Source::Limits => "limits",
        Source::FdDir => "fd",
        Source::Netstat => "net/netstat",
        Source::PidDir | Source::SystemStat => ".",
    }
}

fn open_at(dir: &OwnedFd, path: &str, extra: OFlags) -> io::Result<OwnedFd> {
    Ok(rfs::openat(
        dir,
        path,
        OFlags::RDONLY | OFlags::CLOEXEC | extra,
        Mode::empty(),
    )?)
}

/// Reads a whole file from offset 0 into `buf` (grown up to [`MAX_FILE`]);
/// its length.
///
/// A short read ends the file: proc files give their whole content to a
/// read with room for it, regular files stop short only at their end, and
/// stopping there saves a second system call per file.
/// The `getdents64` buffer, allocated at its first use.
fn dents_buf(dents: &mut Vec<MaybeUninit<u8>>) -> &mut [MaybeUninit<u8>] {
    if dents.is_empty() {
        dents.resize(DENTS_BUF, MaybeUninit::uninit());
    }
    dents
}

fn read_whole(fd: &OwnedFd, buf: &mut Vec<u8>) -> io::Result<usize> {
    if buf.len() < FIRST_BUF {
        buf.resize(FIRST_BUF, 0);
    }
    let mut len = 0;
    loop {
        if len == buf.len() {
            if buf.len() >= MAX_FILE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "proc file larger than 1 MiB",
                ));
            }
            buf.resize(buf.len() * 2, 0);
        }
        let want = buf.len() - len;
        match rustix::io::pread(fd, &mut buf[len..], len as u64) {
            Ok(0) => return Ok(len),
            Ok(n) => {
                len += n;
                if n < want {
                    return Ok(len);
                }
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Counts the entries of the directory `fd` other than `.` and `..`, with
/// `getdents64` into `buf`: no allocation, whatever the count.
pub(super) fn count_entries(fd: &OwnedFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<u64> {
    rfs::seek(fd, SeekFrom::Start(0))?;
    let mut dir = RawDir::new(fd, buf);
    let mut n = 0;
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            n += 1;
        }
    }
    Ok(n)
}

/// The fields of `<pid>/stat` the collector reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    utime: u64,
    stime: u64,
    threads: u64,
    start_ticks: u64,
    vsize: u64,
    rss: i64,
}

/// Parses `<pid>/stat`. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`.
fn parse_stat(b: &[u8]) -> Result<Stat, &'static str> {
    let close = b
        .iter()
        .rposition(|&c| c == b')')
        .ok_or("no ')' after the command name")?;
    // Field 3 (state) is index 0 here.
    let mut fields = b[close + 1..]
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    let mut next_u64 = |skip: usize, what: &'static str| -> Result<u64, &'static str> {
        fields.nth(skip).and_then(parse_u64).ok_or(what)
    };
    let utime = next_u64(11, "utime (field 14)")?;
    let stime = next_u64(0, "stime (field 15)")?;
    let threads = next_u64(4, "num_threads (field 20)")?;
    let start_ticks = next_u64(1, "starttime (field 22)")?;
    let vsize = next_u64(0, "vsize (field 23)")?;
    let rss = fields
        .next()
        .and_then(|f| std::str::from_utf8(f).ok()?.parse::<i64>().ok())
        .ok_or("rss (field 24)")?;
    Ok(Stat {
        utime,
        stime,
        threads,
        start_ticks,
        vsize,
        rss,
    })
}

/// Total and resident pages, the first two fields of `<pid>/statm`.
fn parse_statm(b: &[u8]) -> Result<(u64, u64), &'static str> {
    let mut fields = words(b.trim_ascii_end());
    let size = fields.next().and_then(parse_u64).ok_or("size (field 1)")?;
    let resident = fields
        .next()
        .and_then(parse_u64)
        .ok_or("resident (field 2)")?;
    Ok((size, resident))
}

/// The soft limits of `<pid>/limits` the collector reports.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Limits {
    open_files: f64,
    address_space: f64,
}

fn parse_limits(b: &[u8]) -> Result<Limits, &'static str> {
    let mut open_files = None;
    let mut address_space = None;
    for line in b.split(|&c| c == b'\n') {
        if let Some(rest) = line.strip_prefix(b"Max open files") {
            open_files = Some(soft_limit(rest).ok_or("soft limit of Max open files")?);
        } else if let Some(rest) = line.strip_prefix(b"Max address space") {
            address_space = Some(soft_limit(rest).ok_or("soft limit of Max address space")?);
        }
    }
    Ok(Limits {
        open_files: open_files.ok_or("no Max open files line")?,
        address_space: address_space.ok_or("no Max address space line")?,
    })
}

/// This process's soft limit of `resource`, as `<pid>/limits` shows it.
fn soft(resource: Resource) -> f64 {
    getrlimit(resource).current.map_or(UNLIMITED, |n| n as f64)
}

/// The first column after a limit's name: a number or `unlimited`.
fn soft_limit(rest: &[u8]) -> Option<f64> {
    let soft = rest
        .split(u8::is_ascii_whitespace)
        .find(|f| !f.is_empty())?;
    if soft == b"unlimited" {
        Some(UNLIMITED)
    } else {
        parse_u64(soft).map(|v| v as f64)
    }
}

/// Where the `IpExt` lines of `net/netstat` were found, and what their
/// names line said, so the next parse can skip the search and the names.
#[derive(Default)]
pub(super) struct NetstatLayout {
    /// Offset of the names line (`IpExt: InNoRoutes ...`).
    at: usize,
    /// The names line after the tag, as last parsed; empty before.
    names: Vec<u8>,
    /// Word positions of `InOctets` and `OutOctets` in that line.
    columns: (usize, usize),
}

/// `InOctets` and `OutOctets` of the `IpExt` lines of `<pid>/net/netstat`:
/// a line of names and a line of values, both starting `IpExt:`.
///
/// The file is 4 KiB and its names do not change while the system runs;
/// only the values before the `IpExt` lines grow. `layout` keeps where the
/// names line started and what it said: when it is found there again,
/// unchanged, the values line is walked only up to the two columns
/// wanted (a parse took about 4,900 instructions walking every word of
/// both lines, now about 1,100). A values line shorter than those columns,
/// or without its newline, is malformed; values past them are not looked
/// at. A failed parse forgets the layout.
fn parse_netstat(b: &[u8], layout: &mut NetstatLayout) -> Result<(f64, f64), &'static str> {
    let parsed = parse_netstat_with(b, layout);
    if parsed.is_err() {
        // Search afresh next time.
        *layout = NetstatLayout::default();
    }
    parsed
}

fn parse_netstat_with(b: &[u8], layout: &mut NetstatLayout) -> Result<(f64, f64), &'static str> {
    const TAG: &[u8] = b"IpExt:";
    let starts_line = |i: usize| i == 0 || b.get(i - 1) == Some(&b'\n');
    // The kept place counts only with the kept names there: the values
    // line starts with the tag too.
    let names_at = |at: usize| {
        let names = &layout.names;
        !names.is_empty()
            && starts_line(at)
            && b.get(at..).is_some_and(|r| {
                r.strip_prefix(TAG)
                    .is_some_and(|r| r.starts_with(names) && r.get(names.len()) == Some(&b'\n'))
            })
    };
    let at = if names_at(layout.at) {
        layout.at
    } else {
        let at = b
            .windows(TAG.len())
            .enumerate()
            .find(|&(i, w)| w == TAG && starts_line(i))
            .map(|(i, _)| i)
            .ok_or("no IpExt lines")?;
        if !names_at(at) {
            let rest = &b[at + TAG.len()..];
            let names = &rest[..rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())];
            let column = |want: &[u8]| names_position(names, want);
            layout.columns = (
                column(b"InOctets").ok_or("no IpExt InOctets")?,
                column(b"OutOctets").ok_or("no IpExt OutOctets")?,
            );
            layout.names.clear();
            layout.names.extend_from_slice(names);
        }
        at
    };
    layout.at = at;
    let values = b[at + TAG.len()..]
        .get(layout.names.len()..)
        .and_then(|r| r.strip_prefix(b"\n"))
        .and_then(|r| r.strip_prefix(TAG))
        .ok_or("IpExt names without values")?;
    // A line cut short would cut the last number short too.
    let end = values
        .iter()
        .position(|&c| c == b'\n')
        .ok_or("IpExt values without a line end")?;
    let (rx_col, tx_col) = layout.columns;
    let mut rx = None;
    let mut tx = None;
    for (i, word) in words(&values[..end])
        .enumerate()
        .take(rx_col.max(tx_col) + 1)
    {
        if i == rx_col {
            rx = Some(parse_u64(word).ok_or("IpExt InOctets")? as f64);
        }
        if i == tx_col {
            tx = Some(parse_u64(word).ok_or("IpExt OutOctets")? as f64);
        }
    }
    match (rx, tx) {
        (Some(rx), Some(tx)) => Ok((rx, tx)),
        _ => Err("fewer IpExt values than names"),
    }
}

/// The position of `want` among the words of `names`.
fn names_position(names: &[u8], want: &[u8]) -> Option<usize> {
    words(names).position(|w| w == want)
}

/// The space-separated words of a line.
fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|&c| c == b' ')
        .map(<[u8]>::trim_ascii)
        .filter(|w| !w.is_empty())
}

/// `btime` of `<root>/stat`: boot time in seconds since the epoch.
fn parse_boot_time(b: &[u8]) -> Result<f64, &'static str> {
    b.split(|&c| c == b'\n')
        .find_map(|l| l.strip_prefix(b"btime "))
        .and_then(|v| parse_u64(v.trim_ascii()))
        .map(|v| v as f64)
        .ok_or("no btime line")
}

/// A decimal `u64`: digits only, at least one, no overflow.
fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u64, |n, &c| {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests that open files, which the fd count test counts.
    static FILES: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = b"42 (a) b (c)) R 1 42 42 0 -1 4194304 95 0 0 0 1500 250 0 0 20 0 12 0 98765 5689344 211 18446744073709551615 1 1\n";
        assert_eq!(
            parse_stat(line),
            Ok(Stat {
                utime: 1500,
                stime: 250,
                threads: 12,
                start_ticks: 98765,
                vsize: 5_689_344,
                rss: 211,
            })
        );
        assert_eq!(
            parse_stat(b"42 no parens"),
            Err("no ')' after the command name")
        );
        assert_eq!(
            parse_stat(b"42 (x) R 1 2 3 4 5 6 7 8 9 10 x 12"),
            Err("utime (field 14)")
        );
    }

    #[test]
    fn limits_take_the_soft_column_and_unlimited_is_two_to_the_64() {
        let text =
            b"Limit                     Soft Limit           Hard Limit           Units     \n\
            Max open files            1024                 524288               files     \n\
            Max address space         unlimited            unlimited            bytes     \n";
        assert_eq!(
            parse_limits(text),
            Ok(Limits {
                open_files: 1024.0,
                address_space: 18_446_744_073_709_551_615.0,
            })
        );
        assert_eq!(
            parse_limits(b"Max open files            lots    lots\n"),
            Err("soft limit of Max open files")
        );
        assert_eq!(
            parse_limits(b"Max open files  1  1  files\n"),
            Err("no Max address space line")
        );
    }

    /// Reads `f` until two readings in a row agree: the values move while
    /// other tests run, and a pair read back to back then agrees.
    fn settled<T: PartialEq + std::fmt::Debug>(f: impl Fn() -> (T, T)) -> (T, T) {
        let mut last = f();
        for _ in 0..50 {
            if last.0 == last.1 {
                return last;
            }
            last = f();
        }
        last
    }

    #[test]
    fn own_usage_sources_agree_with_stat() {
        let open = |p: &str| rfs::open(p, OFlags::RDONLY, Mode::empty()).unwrap();
        let (stat, statm) = (open("/proc/self/stat"), open("/proc/self/statm"));
        let task = rfs::open(
            "/proc/self/task",
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        let read_stat = || {
            let mut buf = Vec::new();
            let n = read_whole(&stat, &mut buf).unwrap();
            parse_stat(&buf[..n]).unwrap()
        };
        let read_statm = || {
            let mut buf = Vec::new();
            let n = read_whole(&statm, &mut buf).unwrap();
            parse_statm(&buf[..n]).unwrap()
        };
        let barrier = std::sync::Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    barrier.wait();
                    barrier.wait();
                });
            }
            barrier.wait();
            let threads = settled(|| {
                let links = rfs::fstat(&task).unwrap().st_nlink as u64;
                (links - 2, read_stat().threads)
            });
            assert_eq!(threads.0, threads.1);
            assert!(threads.0 >= 4, "{threads:?}");
            barrier.wait();
        });
        let cpu = settled(|| {
            let st = read_stat();
            (sys::own_cpu_ticks(), st.utime + st.stime)
        });
        assert_eq!(cpu.0, cpu.1);
        let page = rustix::param::page_size() as u64;
        let (vsize, rss) = settled(|| {
            let st = read_stat();
            let (size, resident) = read_statm();
            ((size * page, st.vsize), (resident, st.rss as u64))
        });
        assert_eq!(vsize.0, vsize.1);
        // `statm` sums the per-CPU page counters; `stat` reads them without
        // the sum, so its rss can lag by a few batches of pages.
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
        assert!(
            rss.0.abs_diff(rss.1) <= 256 * cpus,
            "statm resident {} against stat rss {}",
            rss.0,
            rss.1
        );
        assert_eq!(parse_statm(b"5 3 1 1 0 2 0\n"), Ok((5, 3)));
        assert_eq!(parse_statm(b"5\n"), Err("resident (field 2)"));
    }

    #[test]
    fn own_limits_file_and_getrlimit_agree() {
        let fd = rfs::open("/proc/self/limits", OFlags::RDONLY, Mode::empty()).unwrap();
        let mut buf = Vec::new();
        let n = read_whole(&fd, &mut buf).unwrap();
        assert_eq!(
            parse_limits(&buf[..n]),
            Ok(Limits {
                open_files: soft(Resource::Nofile),
                address_space: soft(Resource::As),
            })
        );
    }

    #[test]
    fn netstat_values_are_matched_to_their_names() {
        let fresh = NetstatLayout::default;
        let text = b"IpExt: InNoRoutes OutOctets InOctets\nIpExt: 1 22 333\n";
        assert_eq!(parse_netstat(text, &mut fresh()), Ok((333.0, 22.0)));
        // A stale position is searched anew.
        let mut layout = NetstatLayout { at: 5, ..fresh() };
        assert_eq!(parse_netstat(text, &mut layout), Ok((333.0, 22.0)));
        assert_eq!(layout.at, 0);
        // Only a line that starts with `IpExt:` counts.
        let text = b"Other: XIpExt: InOctets OutOctets\nOther: 1 2\nIpExt: InOctets OutOctets\nIpExt: 7 8\n";
        assert_eq!(parse_netstat(text, &mut layout), Ok((7.0, 8.0)));
        assert_eq!(layout.at, 45);
        assert_eq!(layout.columns, (0, 1));
        assert_eq!(parse_netstat(text, &mut layout), Ok((7.0, 8.0)));
        // The lines before grew: found again, with the names unchanged.
        let text = b"Other: XIpExt: InOctets OutOctets\nOther: 100 2000\nIpExt: InOctets OutOctets\nIpExt: 70 80\n";
        assert_eq!(parse_netstat(text, &mut layout), Ok((70.0, 80.0)));
        assert_eq!(layout.at, 50);
        // Same place, other names (another kernel's order): parsed anew.
        let text = b"Other: XIpExt: InOctets OutOctets\nOther: 100 2000\nIpExt: OutOctets InOctets\nIpExt: 70 80\n";
        assert_eq!(parse_netstat(text, &mut layout), Ok((80.0, 70.0)));
        assert_eq!(layout.columns, (1, 0));
        // A names line that only starts like the cached one.
        let text = b"IpExt: OutOctets InOctets X\nIpExt: 5 6 7\n";
        let mut layout = NetstatLayout {
            names: b" OutOctets InOctets".to_vec(),
            columns: (1, 0),
            ..fresh()
        };
        assert_eq!(parse_netstat(text, &mut layout), Ok((6.0, 5.0)));
        assert_eq!(layout.names, b" OutOctets InOctets X");
        assert_eq!(
            parse_netstat(b"IpExt: InOctets OutOctets\nIpExt: 5\n", &mut fresh()),
            Err("fewer IpExt values than names")
        );
        assert_eq!(
            parse_netstat(b"IpExt: InOctets OutOctets\n", &mut fresh()),
            Err("IpExt names without values")
        );
        assert_eq!(
            parse_netstat(b"IpExt: InOctets OutOctets", &mut fresh()),
            Err("IpExt names without values")
        );
        assert_eq!(
            parse_netstat(b"IpExt: InOctets\nIpExt: 5\n", &mut fresh()),
            Err("no IpExt OutOctets")
        );
        assert_eq!(
            parse_netstat(b"IpExt: InOctets OutOctets\nIpExt: 5 x\n", &mut fresh()),
            Err("IpExt OutOctets")
        );
        assert_eq!(
            parse_netstat(b"TcpExt: A\nTcpExt: 1\n", &mut fresh()),
            Err("no IpExt lines")
        );
        // Cut inside the last number wanted: an error, not a smaller count.
        assert_eq!(
            parse_netstat(b"IpExt: InOctets OutOctets\nIpExt: 5 67", &mut fresh()),
            Err("IpExt values without a line end")
        );
        // A kept place that now holds the values line is not trusted.
        let text = b"IpExt: InOctets OutOctets\nIpExt: 5 6\n";
        let mut layout = fresh();
        assert_eq!(parse_netstat(text, &mut layout), Ok((5.0, 6.0)));
        layout.at = 26;
        assert_eq!(parse_netstat(text, &mut layout), Ok((5.0, 6.0)));
        assert_eq!(layout.at, 0);
        // A failed parse forgets the layout.
        let mut layout = fresh();
        assert!(parse_netstat(
            b"IpExt: 5 6\nIpExt: InOctets OutOctets\nIpExt: 5 6\n",
            &mut layout
        )
        .is_err());
        assert!(layout.names.is_empty());
    }

    #[test]
    fn u64_parsing_takes_digits_only() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"+1"), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b" 1"), None);
    }

    #[test]
    fn boot_time_comes_from_btime() {
        assert_eq!(
            parse_boot_time(b"cpu 1 2 3\nbtime 1700000000\nprocesses 5\n"),
            Ok(1_700_000_000.0)
        );
        assert_eq!(parse_boot_time(b"cpu 1 2 3\n"), Err("no btime line"));
    }

    #[test]
    fn files_longer_than_the_first_buffer_are_read_whole() {
        let _files = FILES.lock();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let content: Vec<u8> = (0..3 * FIRST_BUF + 17).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let fd = rfs::open(&path, OFlags::RDONLY, Mode::empty()).unwrap();
        let mut buf = Vec::new();
        for _ in 0..2 {
            let n = read_whole(&fd, &mut buf).unwrap();
            assert_eq!(&buf[..n], &content[..]);
        }
    }

    #[test]
    fn fast_count_and_fallback_agree_on_the_real_fd_directory() {
        let _files = FILES.lock();
        let dir = rfs::open(
            "/proc/self/fd",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .unwrap();
        assert_eq!(rfs::fstatfs(&dir).unwrap().f_type, rfs::PROC_SUPER_MAGIC);
        let mut buf = vec![MaybeUninit::uninit(); DENTS_BUF];
        let extra: Vec<std::fs::File> = (0..500)
            .map(|_| std::fs::File::open("/dev/null").unwrap())
            .collect();
        let listed = count_entries(&dir, &mut buf).unwrap();
        let fast = rfs::fstat(&dir).unwrap().st_size as u64;
        assert!(listed > extra.len() as u64, "{listed}");
        // Linux < 6.2 reports 0: the collector then always lists.
        if fast != 0 {
            assert_eq!(fast, listed);
        }
        drop(extra);
        let listed_after = count_entries(&dir, &mut buf).unwrap();
        assert_eq!(listed_after + 500, listed);
        let fast_after = rfs::fstat(&dir).unwrap().st_size as u64;
        if fast_after != 0 {
            assert_eq!(fast_after, listed_after);
        }
    }
}
