//! A synthetic proc root in a temporary directory: `stat` (boot time) and
//! `<pid>/{stat,limits,net/netstat,fd/}` with known contents, in the
//! layout and syntax of a real Linux procfs. Shared by the process tests
//! and `benches/process.rs`.

use std::fs;
use std::path::{Path, PathBuf};

/// The values a tree's files hold; `None` limits are `unlimited`.
#[derive(Debug, Clone, Copy)]
pub struct ProcValues {
    pub boot_time: u64,
    pub utime: u64,
    pub stime: u64,
    pub threads: u64,
    pub start_ticks: u64,
    pub vsize: u64,
    pub rss_pages: u64,
    pub max_open_files: Option<u64>,
    pub max_address_space: Option<u64>,
    pub in_octets: u64,
    pub out_octets: u64,
}

impl Default for ProcValues {
    fn default() -> Self {
        Self {
            boot_time: 1_700_000_000,
            utime: 1234,
            stime: 567,
            threads: 7,
            start_ticks: 4_200,
            vsize: 123_456_789,
            rss_pages: 2_500,
            max_open_files: Some(1_048_576),
            max_address_space: None,
            in_octets: 987_654_321,
            out_octets: 123_456,
        }
    }
}

/// A proc root; removed when dropped.
pub struct ProcTree {
    dir: tempfile::TempDir,
}

impl ProcTree {
    /// An empty root, on tmpfs (`/dev/shm`) when there is one: creating
    /// many fd entries there is fast.
    pub fn new() -> Self {
        let shm = Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("promclient-proc-")
                .tempdir_in(shm)
        } else {
            tempfile::Builder::new()
                .prefix("promclient-proc-")
                .tempdir()
        }
        .expect("temporary directory");
        Self { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid_dir(&self, pid: u32) -> PathBuf {
        self.root().join(pid.to_string())
    }

    /// Writes every file of process `pid` (and the root's `stat`) from
    /// `v`, with `fds` entries in its `fd` directory.
    pub fn write_process(&self, pid: u32, v: &ProcValues, fds: usize) {
        fs::write(
            self.root().join("stat"),
            format!(
                "cpu  10 0 20 30 0 0 0 0 0 0\ncpu0 10 0 20 30 0 0 0 0 0 0\nintr 0\nctxt 99\nbtime {}\nprocesses 42\n",
                v.boot_time
            ),
        )
        .expect("write stat");
        let dir = self.pid_dir(pid);
        fs::create_dir_all(dir.join("net")).expect("pid dir");
        // A command name with spaces and parentheses, as a process may have.
        fs::write(
            dir.join("stat"),
            format!(
                "{pid} (odd (name) x) S 1 {pid} {pid} 0 -1 4194560 300 0 0 0 {} {} 0 0 20 0 {} 0 {} {} {} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
                v.utime, v.stime, v.threads, v.start_ticks, v.vsize, v.rss_pages
            ),
        )
        .expect("write pid stat");
        let limit = |l: Option<u64>| l.map_or_else(|| "unlimited".to_string(), |n| n.to_string());
        fs::write(
            dir.join("limits"),
            format!(
                "Limit                     Soft Limit           Hard Limit           Units     \n\
                 Max cpu time              unlimited            unlimited            seconds   \n\
                 Max file size             unlimited            unlimited            bytes     \n\
                 Max open files            {:<21}1048576              files     \n\
                 Max address space         {:<21}unlimited            bytes     \n\
                 Max locked memory         8388608              8388608              bytes     \n",
                limit(v.max_open_files),
                limit(v.max_address_space),
            ),
        )
        .expect("write limits");
        fs::write(
            dir.join("net/netstat"),
            format!(
                "TcpExt: SyncookiesSent SyncookiesRecv\nTcpExt: 0 0\n\
                 IpExt: InNoRoutes InTruncatedPkts InMcastPkts OutMcastPkts InBcastPkts OutBcastPkts InOctets OutOctets InMcastOctets\n\
                 IpExt: 0 0 5 6 0 0 {} {} 77\n\
                 MPTcpExt: MPCapableSYNRX\nMPTcpExt: 0\n",
                v.in_octets, v.out_octets
            ),
        )
        .expect("write netstat");
        self.set_fds(pid, fds);
    }

    /// Makes the `fd` directory of `pid` hold exactly `n` entries named
    /// `0` to `n - 1`, symlinks as in a real procfs.
    pub fn set_fds(&self, pid: u32, n: usize) {
        let fd = self.pid_dir(pid).join("fd");
        fs::create_dir_all(&fd).expect("fd dir");
        let mut have = fs::read_dir(&fd).expect("list fd dir").count();
        while have > n {
            have -= 1;
            fs::remove_file(fd.join(have.to_string())).expect("remove fd entry");
        }
        for i in have..n {
            std::os::unix::fs::symlink("/dev/null", fd.join(i.to_string())).expect("fd entry");
        }
    }
}
