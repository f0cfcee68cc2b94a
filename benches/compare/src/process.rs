//! `process_collect`: one scrape (gather and text encode into a reused
//! buffer) of a registry holding only the process collector, at 100 and at
//! as many open descriptors as the hard limit allows. Ours runs with the
//! network metrics off (no peer reads `net/netstat`). The peers with a
//! process collector: `prometheus` (its `process` feature) and `measured`
//! (the `measured-process` crate, which gathers and encodes in one call).

use std::fs::File;

use crate::peers::{scrape_ours, scrape_prometheus};
use crate::{alternate, Contender, Plan, Row};

/// Raises the soft limit on open files to the hard one; returns it.
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable `rlimit` for the call to fill.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(got, 0, "getrlimit");
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid `rlimit`, read by the call.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(set, 0, "setrlimit");
    lim.rlim_cur
}

/// The open descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

pub fn process_collect(plan: Plan) -> Vec<Row> {
    let limit = raise_fd_limit();
    let ours = promclient::Registry::new();
    ours.register(
        promclient::process::ProcessCollector::builder()
            .network(false)
            .build()
            .expect("process collector"),
    )
    .expect("register");
    let prom = prometheus::Registry::new();
    prom.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))
    .expect("register");
    let me = crate::measured_peer::Process::new();
    let mut snapshot = promclient::Snapshot::new();
    let (mut ours_buf, mut prom_buf) = (Vec::new(), Vec::new());
    let mut me_enc = measured::text::BufferedTextEncoder::new();
    let encoder = prometheus::TextEncoder::new();

    let mut rows = Vec::new();
    let mut held: Vec<File> = Vec::new();
    // Leave room for the collectors' own files and the runtime's.
    let most = limit.saturating_sub(200) as usize;
    for target in [100, most] {
        for _ in open_fds()..target {
            held.push(File::open("/dev/null").expect("open /dev/null"));
        }
        let fds = open_fds();
        let mut cs = [
            scrape_ours(&ours, &mut snapshot, &mut ours_buf),
            scrape_prometheus(&prom, &encoder, &mut prom_buf),
            Contender::new("measured", |n| {
                for _ in 0..n {
                    std::hint::black_box(crate::measured_peer::process_scrape(&me, &mut me_enc));
                }
            }),
        ];
        let r = alternate(plan, 50, &mut cs);
        rows.push(Row::timed(
            format!("process_collect_{fds}fds"),
            "us",
            ["promclient", "prometheus", "measured"],
            r,
            1e3,
        ));
    }
    rows
}
