//! The workloads, each written once per contender.

use std::hint::black_box;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;
use prometheus_client::metrics::histogram::Histogram as PcHistogram;

use crate::{alternate, live_bytes, measured_peer, two_threads, Contender, Plan, Row};

/// The peers, in table order.
pub const PEERS: [&str; 4] = ["prometheus", "prometheus-client", "metrics", "measured"];
/// Ours first, then [`PEERS`]: the order of the workloads that run all of
/// them as a fixed list.
const CONTENDERS: [&str; 5] = [
    "promclient",
    "prometheus",
    "prometheus-client",
    "metrics",
    "measured",
];

/// A workload: runs its contenders, returns its rows.
type Workload = fn(Plan) -> Vec<Row>;

/// Every workload but the process collector's, in table order.
pub const WORKLOADS: [(&str, Workload); 7] = [
    ("counter_inc", counter_inc),
    ("counter_inc_contended", counter_inc_contended),
    ("labeled_counter", labeled_counter),
    ("labeled_counter_2threads", labeled_counter_2threads),
    ("histogram_observe", histogram_observe),
    ("encode_text", encode_text),
    ("high_cardinality_insert", high_cardinality_insert),
];

/// client_golang's default buckets, which every contender uses.
const BUCKETS: [f64; 11] = promclient::DEFAULT_BUCKETS;

/// The label values of the labeled workloads: 6 x 3 combinations.
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];
const CODES: [&str; 3] = ["200", "404", "500"];

/// The `i`-th combination.
#[inline(always)]
fn combo(i: u64) -> (&'static str, &'static str) {
    let i = (i % 18) as usize;
    (METHODS[i % 6], CODES[i / 6])
}

/// An observation spread over the default buckets.
#[inline(always)]
fn sample(i: u64) -> f64 {
    (i % 100) as f64 * 0.013
}

fn row(workload: &str, unit: &'static str, cs: &[Contender<'_>], slots: Vec<Vec<f64>>) -> Row {
    Row::timed(workload, unit, cs.iter().map(|c| c.name), slots, 1.0)
}

/// Our contender in a scrape workload: each operation gathers into the
/// kept snapshot and writes text into the kept buffer.
pub fn scrape_ours<'a>(
    registry: &'a promclient::Registry,
    snapshot: &'a mut promclient::Snapshot,
    out: &'a mut Vec<u8>,
) -> Contender<'a> {
    Contender::new("promclient", move |n| {
        for _ in 0..n {
            registry.gather_into(snapshot).expect("gather");
            out.clear();
            promclient::encoding::text::encode(snapshot, out).expect("encode");
        }
    })
}

/// The `prometheus` contender in a scrape workload: each operation
/// gathers and writes text into the kept buffer.
pub fn scrape_prometheus<'a>(
    registry: &'a prometheus::Registry,
    encoder: &'a prometheus::TextEncoder,
    out: &'a mut Vec<u8>,
) -> Contender<'a> {
    Contender::new("prometheus", move |n| {
        for _ in 0..n {
            let families = registry.gather();
            out.clear();
            prometheus::Encoder::encode(encoder, &families, out).expect("encode");
        }
    })
}

fn recorder() -> PrometheusRecorder {
    PrometheusBuilder::new()
        .set_buckets(&BUCKETS)
        .expect("buckets")
        .build_recorder()
}

fn counter_inc(plan: Plan) -> Vec<Row> {
    let ours = promclient::Counter::new("c_total", "C.").expect("counter");
    let prom = prometheus::IntCounter::new("c_total", "C.").expect("counter");
    let pc = PcCounter::<u64>::default();
    let rec = recorder();
    let m = metrics::with_local_recorder(&rec, || metrics::counter!("c_total"));
    let me = measured_peer::counter();
    let mut cs = [
        Contender::new("promclient", |n| {
            (0..n).for_each(|_| black_box(&ours).inc())
        }),
        Contender::new("prometheus", |n| {
            (0..n).for_each(|_| black_box(&prom).inc())
        }),
        Contender::new("prometheus-client", |n| {
            (0..n).for_each(|_| {
                black_box(black_box(&pc).inc());
            })
        }),
        Contender::new("metrics", |n| {
            (0..n).for_each(|_| black_box(&m).increment(1))
        }),
        Contender::new("measured", |n| (0..n).for_each(|_| black_box(&me).inc())),
    ];
    let r = alternate(plan, 2_000_000, &mut cs);
    vec![row("counter_inc", "ns", &cs, r)]
}

fn counter_inc_contended(plan: Plan) -> Vec<Row> {
    let ours = promclient::Counter::new("c_total", "C.").expect("counter");
    let sharded = promclient::ShardedCounter::new("c_total", "C.").expect("counter");
    let peers = (
        prometheus::IntCounter::new("c_total", "C.").expect("counter"),
        PcCounter::<u64>::default(),
        recorder(),
        measured_peer::counter(),
    );
    // Ours with `Counter`, then with `ShardedCounter`, against the same
    // peers' shared counters.
    vec![
        contended_row(plan, "counter_inc_contended", &|| ours.inc(), &peers),
        contended_row(
            plan,
            "counter_inc_contended_sharded",
            &|| sharded.inc(),
            &peers,
        ),
    ]
}

/// Two threads incrementing one counter: ours by `inc`, and the peers'.
fn contended_row(
    plan: Plan,
    workload: &str,
    inc: &(impl Fn() + Sync),
    (prom, pc, rec, me): &(
        prometheus::IntCounter,
        PcCounter<u64>,
        PrometheusRecorder,
        measured::Counter,
    ),
) -> Row {
    let m = metrics::with_local_recorder(rec, || metrics::counter!("c_total"));
    let mut cs = [
        Contender::new("promclient", |n| {
            two_threads(n, &|_, n| (0..n).for_each(|_| black_box(inc)()));
        }),
        Contender::new("prometheus", |n| {
            two_threads(n, &|_, n| (0..n).for_each(|_| black_box(prom).inc()));
        }),
        Contender::new("prometheus-client", |n| {
            two_threads(n, &|_, n| {
                (0..n).for_each(|_| {
                    black_box(black_box(pc).inc());
                })
            });
        }),
        Contender::new("metrics", |n| {
            two_threads(n, &|_, n| (0..n).for_each(|_| black_box(&m).increment(1)));
        }),
        Contender::new("measured", |n| {
            two_threads(n, &|_, n| (0..n).for_each(|_| black_box(me).inc()));
        }),
    ];
    let r = alternate(plan, 500_000, &mut cs);
    row(workload, "ns", &cs, r)
}

/// The four families of the labeled workloads.
struct Labeled {
    ours: promclient::CounterVec<2>,
    prom: prometheus::IntCounterVec,
    pc: PcFamily<[(&'static str, &'static str); 2], PcCounter>,
    rec: PrometheusRecorder,
    me: measured::CounterVec<measured_peer::RequestSet>,
}

impl Labeled {
    fn new() -> Self {
        Self {
            ours: promclient::CounterVec::new("req_total", "R.", ["method", "code"])
                .expect("family"),
            prom: prometheus::IntCounterVec::new(
                prometheus::Opts::new("req_total", "R."),
                &["method", "code"],
            )
            .expect("family"),
            pc: PcFamily::default(),
            rec: recorder(),
            me: measured_peer::requests(&METHODS, &CODES),
        }
    }

    fn measured(&self, from: u64, n: u64) {
        for i in from..from + n {
            let (m, c) = combo(i);
            self.me.inc(measured_peer::Request {
                method: black_box(m),
                code: black_box(c),
            });
        }
    }

    fn ours(&self, from: u64, n: u64) {
        for i in from..from + n {
            let (m, c) = combo(i);
            self.ours
                .with_label_values([black_box(m), black_box(c)])
                .inc();
        }
    }

    fn prom(&self, from: u64, n: u64) {
        for i in from..from + n {
            let (m, c) = combo(i);
            self.prom
                .with_label_values(&[black_box(m), black_box(c)])
                .inc();
        }
    }

    fn pc(&self, from: u64, n: u64) {
        for i in from..from + n {
            let (m, c) = combo(i);
            self.pc
                .get_or_create(&[("method", black_box(m)), ("code", black_box(c))])
                .inc();
        }
    }

    fn metrics(&self, from: u64, n: u64) {
        metrics::with_local_recorder(&self.rec, || {
            for i in from..from + n {
                let (m, c) = combo(i);
                metrics::counter!("req_total", "method" => black_box(m), "code" => black_box(c))
                    .increment(1);
            }
        });
    }
}

fn labeled_counter(plan: Plan) -> Vec<Row> {
    let l = Labeled::new();
    let mut cs = [
        Contender::new("promclient", |n| l.ours(0, n)),
        Contender::new("prometheus", |n| l.prom(0, n)),
        Contender::new("prometheus-client", |n| l.pc(0, n)),
        Contender::new("metrics", |n| l.metrics(0, n)),
        Contender::new("measured", |n| l.measured(0, n)),
    ];
    let r = alternate(plan, 200_000, &mut cs);
    vec![row("labeled_counter", "ns", &cs, r)]
}

fn labeled_counter_2threads(plan: Plan) -> Vec<Row> {
    let l = Labeled::new();
    // The second thread starts elsewhere in the combinations.
    let mut cs = [
        Contender::new("promclient", |n| {
            two_threads(n, &|t, n| l.ours(t as u64 * 7, n))
        }),
        Contender::new("prometheus", |n| {
            two_threads(n, &|t, n| l.prom(t as u64 * 7, n))
        }),
        Contender::new("prometheus-client", |n| {
            two_threads(n, &|t, n| l.pc(t as u64 * 7, n));
        }),
        Contender::new("metrics", |n| {
            two_threads(n, &|t, n| l.metrics(t as u64 * 7, n))
        }),
        Contender::new("measured", |n| {
            two_threads(n, &|t, n| l.measured(t as u64 * 7, n));
        }),
    ];
    let r = alternate(plan, 100_000, &mut cs);
    vec![row("labeled_counter_2threads", "ns", &cs, r)]
}

fn histogram_observe(plan: Plan) -> Vec<Row> {
    let ours = promclient::Histogram::new("h", "H.", &BUCKETS).expect("histogram");
    let prom = prometheus::Histogram::with_opts(prometheus::HistogramOpts::new("h", "H."))
        .expect("histogram");
    let pc = PcHistogram::new(BUCKETS.iter().copied());
    let rec = recorder();
    let m = metrics::with_local_recorder(&rec, || metrics::histogram!("h"));
    let me = measured_peer::histogram(BUCKETS);
    let mut rows = Vec::new();
    {
        let mut cs = [
            Contender::new("promclient", |n| {
                (0..n).for_each(|i| ours.observe(sample(i)))
            }),
            Contender::new("prometheus", |n| {
                (0..n).for_each(|i| prom.observe(sample(i)))
            }),
            Contender::new("prometheus-client", |n| {
                (0..n).for_each(|i| pc.observe(sample(i)))
            }),
            Contender::new("metrics", |n| (0..n).for_each(|i| m.record(sample(i)))),
            Contender::new("measured", |n| (0..n).for_each(|i| me.observe(sample(i)))),
        ];
        let r = alternate(plan, 1_000_000, &mut cs);
        rows.push(row("histogram_observe", "ns", &cs, r));
    }
    let mut cs = [
        Contender::new("promclient", |n| {
            two_threads(n, &|_, n| (0..n).for_each(|i| ours.observe(sample(i))));
        }),
        Contender::new("prometheus", |n| {
            two_threads(n, &|_, n| (0..n).for_each(|i| prom.observe(sample(i))));
        }),
        Contender::new("prometheus-client", |n| {
            two_threads(n, &|_, n| (0..n).for_each(|i| pc.observe(sample(i))));
        }),
        Contender::new("metrics", |n| {
            two_threads(n, &|_, n| (0..n).for_each(|i| m.record(sample(i))));
        }),
        Contender::new("measured", |n| {
            two_threads(n, &|_, n| (0..n).for_each(|i| me.observe(sample(i))));
        }),
    ];
    let r = alternate(plan, 250_000, &mut cs);
    rows.push(row("histogram_observe_2threads", "ns", &cs, r));
    rows
}

/// 1,000 counter families of 10 series and 100 histogram families of 10
/// series, the same values in each contender.
fn encode_text(plan: Plan) -> Vec<Row> {
    let values: Vec<String> = (0..10).map(|i| format!("value_{i}")).collect();

    let ours = promclient::Registry::new();
    let prom = prometheus::Registry::new();
    let mut pc = prometheus_client::registry::Registry::default();
    let rec = recorder();
    for f in 0..1000 {
        let name = format!("family_{f}_total");
        let o = promclient::CounterVec::new(&name, "A counter family.", ["label"]).expect("family");
        let p = prometheus::IntCounterVec::new(
            prometheus::Opts::new(name.clone(), "A counter family."),
            &["label"],
        )
        .expect("family");
        let c = PcFamily::<[(&'static str, String); 1], PcCounter>::default();
        for (i, v) in values.iter().enumerate() {
            let n = (f * 10 + i) as u64;
            o.with_label_values([v.as_str()]).inc_by(n);
            p.with_label_values(&[v.as_str()]).inc_by(n);
            c.get_or_create(&[("label", v.clone())]).inc_by(n);
            metrics::with_local_recorder(&rec, || {
                metrics::counter!(name.clone(), "label" => v.clone()).increment(n);
            });
        }
        ours.register(o).expect("register");
        prom.register(Box::new(p)).expect("register");
        // prometheus-client appends `_total` to counters itself.
        pc.register(format!("family_{f}"), "A counter family.", c);
    }
    for f in 0..100 {
        let name = format!("histogram_{f}_seconds");
        let o = promclient::HistogramVec::new(&name, "A histogram family.", ["label"], &BUCKETS)
            .expect("family");
        let p = prometheus::HistogramVec::new(
            prometheus::HistogramOpts::new(name.clone(), "A histogram family."),
            &["label"],
        )
        .expect("family");
        let c = PcFamily::<[(&'static str, String); 1], PcHistogram, _>::new_with_constructor(
            (|| PcHistogram::new(BUCKETS.iter().copied())) as fn() -> PcHistogram,
        );
        for (i, v) in values.iter().enumerate() {
            for k in 0..5 {
                let x = sample((f * 10 + i + k) as u64);
                o.with_label_values([v.as_str()]).observe(x);
                p.with_label_values(&[v.as_str()]).observe(x);
                c.get_or_create(&[("label", v.clone())]).observe(x);
                metrics::with_local_recorder(&rec, || {
                    metrics::histogram!(name.clone(), "label" => v.clone()).record(x);
                });
            }
        }
        ours.register(o).expect("register");
        prom.register(Box::new(p)).expect("register");
        pc.register(name.clone(), "A histogram family.", c);
    }
    let handle = rec.handle();
    let mut me = measured_peer::Scrape::new();
    for f in 0..1000 {
        me.add_counter(&format!("family_{f}_total"), &values, |i| {
            (f * 10 + i) as u64
        });
    }
    for f in 0..100 {
        me.add_histogram(&format!("histogram_{f}_seconds"), &values, BUCKETS, |i| {
            (0..5).map(|k| sample((f * 10 + i + k) as u64)).collect()
        });
    }
    let mut me_len = 0;

    let mut snapshot = promclient::Snapshot::new();
    let mut ours_buf = Vec::new();
    let mut prom_buf = Vec::new();
    let mut pc_buf = String::new();
    let mut m_buf = Vec::new();
    let encoder = prometheus::TextEncoder::new();
    let mut cs = [
        scrape_ours(&ours, &mut snapshot, &mut ours_buf),
        scrape_prometheus(&prom, &encoder, &mut prom_buf),
        Contender::new("prometheus-client", |n| {
            for _ in 0..n {
                pc_buf.clear();
                prometheus_client::encoding::text::encode(&mut pc_buf, &pc).expect("encode");
            }
        }),
        Contender::new("metrics", |n| {
            for _ in 0..n {
                m_buf.clear();
                handle.render_to_write(&mut m_buf).expect("render");
            }
        }),
        Contender::new("measured", |n| {
            for _ in 0..n {
                me_len = me.encode("A counter family.", "A histogram family.");
            }
        }),
    ];
    let r = alternate(plan, 5, &mut cs);
    drop(cs);
    eprintln!(
        "  encode_text output bytes: promclient {}, prometheus {}, prometheus-client {}, metrics {}, measured {}",
        ours_buf.len(),
        prom_buf.len(),
        pc_buf.len(),
        m_buf.len(),
        me_len
    );
    vec![Row::timed("encode_text", "us", CONTENDERS, r, 1e3)]
}

const NEW_SERIES: usize = 100_000;

/// 100,000 new label sets into one family: the time for all of them
/// (fresh family each time), and the heap each series keeps.
fn high_cardinality_insert(plan: Plan) -> Vec<Row> {
    let values: Vec<String> = (0..NEW_SERIES).map(|i| format!("user-{i:08}")).collect();
    let ours = || {
        let f = promclient::CounterVec::new("hc_total", "H.", ["id"]).expect("family");
        for v in &values {
            f.with_label_values([v.as_str()]).inc();
        }
        f
    };
    let prom = || {
        let f = prometheus::IntCounterVec::new(prometheus::Opts::new("hc_total", "H."), &["id"])
            .expect("family");
        for v in &values {
            f.with_label_values(&[v.as_str()]).inc();
        }
        f
    };
    let pc = || {
        let f = PcFamily::<[(&'static str, String); 1], PcCounter>::default();
        for v in &values {
            f.get_or_create(&[("id", v.clone())]).inc();
        }
        f
    };
    let m = || {
        let rec = recorder();
        metrics::with_local_recorder(&rec, || {
            for v in &values {
                metrics::counter!("hc_total", "id" => v.clone()).increment(1);
            }
        });
        rec
    };
    // Retained bytes first, one contender at a time.
    fn retained<T>(build: impl Fn() -> T) -> f64 {
        let before = live_bytes();
        let kept = build();
        let bytes = live_bytes() - before;
        drop(kept);
        bytes as f64 / NEW_SERIES as f64
    }
    let me = || measured_peer::high_cardinality(&values);
    let bytes = [
        retained(ours),
        retained(prom),
        retained(pc),
        retained(m),
        retained(me),
    ];
    // Alternating as `alternate` does, with the drop of each family (all
    // its series freed) left out of the time.
    fn timed<T>(build: &impl Fn() -> T) -> f64 {
        let t = std::time::Instant::now();
        let kept = black_box(build());
        let ns = t.elapsed().as_nanos() as f64;
        drop(kept);
        ns
    }
    let slots = plan.slots.min(11);
    let mut samples: [Vec<f64>; 5] = Default::default();
    for slot in 0..=slots {
        for k in 0..5 {
            let i = (k + slot) % 5;
            let ns = match i {
                0 => timed(&ours),
                1 => timed(&prom),
                2 => timed(&pc),
                3 => timed(&m),
                _ => timed(&me),
            };
            // The first round warms up.
            if slot > 0 {
                samples[i].push(ns);
            }
        }
    }
    vec![
        Row::timed(
            "high_cardinality_insert",
            "ms",
            CONTENDERS,
            samples.into(),
            1e6,
        ),
        Row {
            workload: "high_cardinality_retained".into(),
            unit: "B/series",
            figures: CONTENDERS.into_iter().zip(bytes).collect(),
            slots: Vec::new(),
        },
    ]
}
