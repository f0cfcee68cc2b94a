//! Registry behaviour: registration checks, wrapping, and what gather
//! returns (ordering, dropped families, errors with partial results, and
//! reuse of a snapshot across gathers).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use promclient::{
    CollectError, Collector, ConstMetric, ConstMetricError, Counter, CounterVec, Desc, DescError,
    FnCollector, GatherError, Gauge, GaugeVec, Histogram, HistogramVec, Metric, MetricFamily,
    MetricType, Opts, RegisterError, Registry, Snapshot, Value,
};
use proptest::prelude::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A registration attempt, for tables of cases.
type Registration = Box<dyn Fn(&Registry) -> Result<(), RegisterError>>;

/// Registers (`true`) or unregisters (`false`) one collector; whether that
/// succeeded.
type Toggle = Arc<dyn Fn(&Registry, bool) -> bool>;

fn family_names(families: &[MetricFamily]) -> Vec<&str> {
    families.iter().map(|f| &*f.name).collect()
}

fn labels_of(m: &Metric) -> Vec<(&str, &str)> {
    m.labels.iter().map(|l| (&*l.name, &*l.value)).collect()
}

fn scalar(m: &Metric) -> f64 {
    match &m.value {
        Value::Counter(c) => c.value,
        Value::Gauge(v) | Value::Untyped(v) => *v,
        other => panic!("not a scalar value: {other:?}"),
    }
}

fn gather_err(registry: &Registry) -> GatherError {
    match registry.gather() {
        Ok(s) => panic!(
            "gather succeeded, expected an error; got {:?}",
            family_names(&s)
        ),
        Err(e) => e,
    }
}

fn gauge_desc(name: &str, help: &str, labels: &[&str]) -> Desc {
    Desc::new(MetricType::Gauge, name, help, labels, &[]).expect("valid desc")
}

// ---------------------------------------------------------------------------
// Registration

#[test]
fn register_gather_unregister() -> TestResult {
    let registry = Registry::new();
    let c = Counter::new("jobs_total", "Jobs done.")?;
    registry.register(c.clone())?;
    c.inc_by(7);

    let s = registry.gather()?;
    assert_eq!(family_names(&s), ["jobs_total"]);
    let fam = s.family("jobs_total").expect("gathered");
    assert_eq!(&*fam.help, "Jobs done.");
    assert_eq!(fam.metric_type, MetricType::Counter);
    assert_eq!(fam.metrics.len(), 1);
    assert!(fam.metrics[0].labels.is_empty());
    assert_eq!(scalar(&fam.metrics[0]), 7.0);

    assert!(registry.unregister(&c));
    assert!(registry.gather()?.is_empty());
    assert!(!registry.unregister(&c), "second unregister finds nothing");
    // Unregistered instruments keep working, they are just not gathered.
    c.inc();
    assert_eq!(c.value(), 8.0);
    Ok(())
}

#[test]
fn duplicate_counter_registration_hands_back_the_first() -> TestResult {
    let registry = Registry::new();
    let first = Counter::new("jobs_total", "Jobs done.")?;
    registry.register(first.clone())?;
    first.inc_by(3);

    let second = Counter::new("jobs_total", "Jobs done.")?;
    let err = registry
        .register(second.clone())
        .expect_err("duplicate must be refused");
    let RegisterError::AlreadyRegistered(e) = err else {
        panic!("expected AlreadyRegistered, got {err:?}");
    };
    assert!(e.existing_as::<Gauge>().is_none());
    assert!(e.existing_as::<CounterVec<1>>().is_none());
    let existing = e.existing_as::<Counter>().expect("a Counter");
    assert_eq!(existing.value(), 3.0);
    existing.inc();
    assert_eq!(first.value(), 4.0, "the handle shares state with the first");
    assert_eq!(second.value(), 0.0);

    // Only the first is gathered.
    second.inc_by(100);
    let s = registry.gather()?;
    assert_eq!(s.family("jobs_total").unwrap().metrics.len(), 1);
    assert_eq!(scalar(&s.family("jobs_total").unwrap().metrics[0]), 4.0);
    Ok(())
}

#[test]
fn duplicate_family_registration_hands_back_the_first() -> TestResult {
    let registry = Registry::new();
    let first = CounterVec::new("http_requests_total", "Requests.", ["method", "code"])?;
    registry.register(first.clone())?;
    first.with_label_values(["GET", "200"]).inc();

    let second = CounterVec::new("http_requests_total", "Requests.", ["method", "code"])?;
    let err = registry.register(second).expect_err("duplicate");
    let RegisterError::AlreadyRegistered(e) = err else {
        panic!("expected AlreadyRegistered, got {err:?}");
    };
    assert!(e.existing_as::<Counter>().is_none());
    assert!(e.existing_as::<CounterVec<1>>().is_none());
    let existing = e.existing_as::<CounterVec<2>>().expect("a CounterVec<2>");
    assert_eq!(existing.len(), 1);
    existing.with_label_values(["GET", "200"]).inc();
    existing.with_label_values(["PUT", "500"]).inc();
    assert_eq!(first.with_label_values(["GET", "200"]).value(), 2.0);
    assert_eq!(first.len(), 2);
    Ok(())
}

#[test]
fn same_name_with_different_help_type_or_labels_is_inconsistent() -> TestResult {
    let registry = Registry::new();
    let original = Counter::with_opts(Opts::new("x_total", "Help.").const_label("a", "1"))?;
    registry.register(original.clone())?;
    original.inc();

    let cases: Vec<(Registration, &str)> = vec![
        (
            Box::new(|r: &Registry| {
                r.register(Counter::with_opts(
                    Opts::new("x_total", "Other help.").const_label("a", "2"),
                )?)
            }),
            "help",
        ),
        (
            Box::new(|r: &Registry| {
                r.register(Gauge::with_opts(
                    Opts::new("x_total", "Help.").const_label("a", "2"),
                )?)
            }),
            "type",
        ),
        (
            // A variable label where the original has none.
            Box::new(|r: &Registry| {
                r.register(CounterVec::with_opts(
                    Opts::new("x_total", "Help.").const_label("a", "2"),
                    ["b"],
                )?)
            }),
            "label names",
        ),
        (
            // Another const label name (the values do not matter).
            Box::new(|r: &Registry| {
                r.register(Counter::with_opts(
                    Opts::new("x_total", "Help.").const_label("b", "1"),
                )?)
            }),
            "label names",
        ),
        (
            // Same identity, but other help: still inconsistent, not a duplicate.
            Box::new(|r: &Registry| {
                r.register(Counter::with_opts(
                    Opts::new("x_total", "Other.").const_label("a", "1"),
                )?)
            }),
            "help",
        ),
    ];
    for (register, want) in cases {
        match register(&registry) {
            Err(RegisterError::Inconsistent { metric, differs }) => {
                assert_eq!(metric, "x_total");
                assert_eq!(differs, want);
            }
            other => panic!("expected Inconsistent({want}), got {other:?}"),
        }
    }
    // Nothing of the refused collectors was registered.
    let s = registry.gather()?;
    let fam = s.family("x_total").unwrap();
    assert_eq!(fam.metrics.len(), 1);
    assert_eq!(labels_of(&fam.metrics[0]), [("a", "1")]);
    Ok(())
}

#[test]
fn inconsistent_descs_within_one_collector_are_refused() -> TestResult {
    let registry = Registry::new();
    let a = Desc::new(MetricType::Gauge, "g", "One.", &[], &[("k", "1")])?;
    let b = Desc::new(MetricType::Gauge, "g", "Two.", &[], &[("k", "2")])?;
    let err = registry
        .register(FnCollector::new(vec![a, b], |_| {}))
        .expect_err("help differs within the collector");
    assert!(
        matches!(err, RegisterError::Inconsistent { ref metric, differs: "help" } if metric == "g"),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn shared_desc_from_another_collector_is_a_duplicate_desc() -> TestResult {
    let registry = Registry::new();
    let counter = Counter::with_opts(Opts::new("x_total", "Help.").const_label("a", "1"))?;
    registry.register(counter)?;

    // Same name and const label values, plus another descriptor: the set
    // differs, so it is not "already registered" but a conflict.
    let shared = Desc::new(MetricType::Counter, "x_total", "Help.", &[], &[("a", "1")])?;
    let other = gauge_desc("y", "Y.", &[]);
    let err = registry
        .register(FnCollector::new(
            vec![shared.clone(), other.clone()],
            |_| {},
        ))
        .expect_err("shares a desc");
    match err {
        RegisterError::DuplicateDesc { metric } => assert_eq!(metric, "x_total"),
        other => panic!("expected DuplicateDesc, got {other:?}"),
    }
    // The refused collector left nothing behind: `y` can still be registered
    // with another help.
    registry.register(Gauge::new("y", "Another Y.")?)?;

    // A collector owning two descs; registering one of them alone is a
    // DuplicateDesc too.
    let d1 = gauge_desc("pair_one", "1.", &[]);
    let d2 = gauge_desc("pair_two", "2.", &[]);
    registry.register(FnCollector::new(vec![d1, d2.clone()], |_| {}))?;
    match registry.register(FnCollector::new(vec![d2], |_| {})) {
        Err(RegisterError::DuplicateDesc { metric }) => assert_eq!(metric, "pair_two"),
        other => panic!("expected DuplicateDesc, got {other:?}"),
    }
    Ok(())
}

#[test]
fn same_descs_from_another_collector_type_is_already_registered() -> TestResult {
    // As client_golang: the identity is the set of descriptor identities.
    let registry = Registry::new();
    let g = Gauge::new("temp", "Temperature.")?;
    registry.register(g)?;
    let desc = gauge_desc("temp", "Temperature.", &[]);
    match registry.register(FnCollector::new(vec![desc], |_| {})) {
        Err(RegisterError::AlreadyRegistered(e)) => {
            assert!(e.existing_as::<Gauge>().is_some());
        }
        other => panic!("expected AlreadyRegistered, got {other:?}"),
    }
    Ok(())
}

#[test]
fn same_name_with_other_const_label_values_is_allowed() -> TestResult {
    let registry = Registry::new();
    let b = Counter::with_opts(Opts::new("x_total", "Help.").const_label("shard", "b"))?;
    let a = Counter::with_opts(Opts::new("x_total", "Help.").const_label("shard", "a"))?;
    registry.register(b.clone())?;
    registry.register(a.clone())?;
    b.inc_by(2);
    a.inc();

    let s = registry.gather()?;
    assert_eq!(family_names(&s), ["x_total"]);
    let fam = s.family("x_total").unwrap();
    let got: Vec<_> = fam
        .metrics
        .iter()
        .map(|m| (labels_of(m), scalar(m)))
        .collect();
    assert_eq!(
        got,
        [(vec![("shard", "a")], 1.0), (vec![("shard", "b")], 2.0)]
    );

    assert!(registry.unregister(&a));
    let s = registry.gather()?;
    assert_eq!(s.family("x_total").unwrap().metrics.len(), 1);
    Ok(())
}

#[test]
fn unchecked_collectors_are_accepted_but_cannot_be_unregistered() -> TestResult {
    let registry = Registry::new();
    let desc = gauge_desc("free_form", "Anything.", &["k"]);
    let d = desc.clone();
    let make = move |value: &'static str| {
        let d = d.clone();
        FnCollector::new(vec![], move |out| {
            out.push(&ConstMetric::gauge(&d, 1.0, &[value]).expect("valid"));
        })
    };
    registry.register(make("one"))?;
    registry.register(make("two"))?;
    let unchecked = make("three");
    assert!(!registry.unregister(&unchecked));
    registry.register(unchecked)?;

    let s = registry.gather()?;
    let values: Vec<_> = s
        .family("free_form")
        .unwrap()
        .metrics
        .iter()
        .map(labels_of)
        .collect();
    assert_eq!(
        values,
        [vec![("k", "one")], vec![("k", "three")], vec![("k", "two")]]
    );
    Ok(())
}

#[test]
fn reregister_after_unregister_and_change_help() -> TestResult {
    let registry = Registry::new();
    let old = Gauge::new("queue_length", "Old help.")?;
    registry.register(old.clone())?;
    assert!(matches!(
        registry.register(Gauge::new("queue_length", "New help.")?),
        Err(RegisterError::Inconsistent {
            differs: "help",
            ..
        })
    ));
    assert!(registry.unregister(&old));
    let new = Gauge::new("queue_length", "New help.")?;
    new.set(5.0);
    registry.register(new.clone())?;
    let s = registry.gather()?;
    let fam = s.family("queue_length").unwrap();
    assert_eq!(&*fam.help, "New help.");
    assert_eq!(scalar(&fam.metrics[0]), 5.0);
    // The type can change too once the name is free.
    assert!(registry.unregister(&new));
    registry.register(Counter::new("queue_length", "Now a counter.")?)?;
    assert_eq!(
        registry
            .gather()?
            .family("queue_length")
            .unwrap()
            .metric_type,
        MetricType::Counter
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Wrapping

#[test]
fn wrap_prefixes_names_and_merges_labels_sorted() -> TestResult {
    let registry = Registry::new();
    let app = registry.wrap("app_", &[("zone", "eu"), ("instance", "i-1")])?;
    let requests = CounterVec::with_opts(
        Opts::new("requests_total", "Requests.").const_label("job", "api"),
        ["method"],
    )?;
    app.register(requests.clone())?;
    requests.with_label_values(["GET"]).inc_by(4);

    let s = registry.gather()?;
    assert_eq!(family_names(&s), ["app_requests_total"]);
    let fam = s.family("app_requests_total").unwrap();
    assert_eq!(&*fam.help, "Requests.");
    assert_eq!(
        labels_of(&fam.metrics[0]),
        [
            ("instance", "i-1"),
            ("job", "api"),
            ("method", "GET"),
            ("zone", "eu")
        ]
    );
    assert_eq!(scalar(&fam.metrics[0]), 4.0);

    // Duplicates are detected on the wrapped names.
    let again = CounterVec::with_opts(
        Opts::new("requests_total", "Requests.").const_label("job", "api"),
        ["method"],
    )?;
    match app.register(again) {
        Err(RegisterError::AlreadyRegistered(e)) => {
            let existing = e
                .existing_as::<CounterVec<1>>()
                .expect("the original family");
            existing.with_label_values(["GET"]).inc();
            assert_eq!(requests.with_label_values(["GET"]).value(), 5.0);
        }
        other => panic!("expected AlreadyRegistered, got {other:?}"),
    }
    // The unwrapped name is free in the registry itself.
    registry.register(Counter::new("requests_total", "Unwrapped.")?)?;

    // Unregister goes through the wrapper, not around it.
    assert!(!registry.unregister(&requests));
    assert!(app.unregister(&requests));
    assert!(!app.unregister(&requests));
    assert_eq!(family_names(&registry.gather()?), ["requests_total"]);
    Ok(())
}

#[test]
fn nested_wrap_puts_the_prefix_nearest_the_registry_first() -> TestResult {
    let registry = Registry::new();
    let inner = registry.wrap("db_", &[("pool", "main")])?;
    let outer = inner.wrap("app_", &[("az", "1")])?;
    let g = Gauge::with_opts(Opts::new("connections", "Open connections.").const_label("m", "x"))?;
    outer.register(g.clone())?;
    g.set(3.0);
    let h = Histogram::new("latency_seconds", "Latency.", &[0.5])?;
    outer.register(h.clone())?;
    h.observe(0.25);

    let s = registry.gather()?;
    assert_eq!(
        family_names(&s),
        ["db_app_connections", "db_app_latency_seconds"]
    );
    let fam = s.family("db_app_connections").unwrap();
    assert_eq!(
        labels_of(&fam.metrics[0]),
        [("az", "1"), ("m", "x"), ("pool", "main")]
    );
    assert_eq!(scalar(&fam.metrics[0]), 3.0);
    let fam = s.family("db_app_latency_seconds").unwrap();
    assert_eq!(labels_of(&fam.metrics[0]), [("az", "1"), ("pool", "main")]);
    let Value::Histogram(hv) = &fam.metrics[0].value else {
        panic!("not a histogram")
    };
    assert_eq!((hv.sample_count, hv.sample_sum), (1, 0.25));

    assert!(outer.unregister(&g));
    assert!(!inner.unregister(&h), "registered through the outer view");
    assert!(outer.unregister(&h));
    assert!(registry.gather()?.is_empty());
    Ok(())
}

#[test]
fn wrap_applies_to_unchecked_collectors() -> TestResult {
    let registry = Registry::new();
    let wrapped = registry.wrap("p_", &[("zone", "eu")])?;
    let d = gauge_desc("g", "G.", &["k"]);
    wrapped.register(FnCollector::new(vec![], move |out| {
        out.push(&ConstMetric::gauge(&d, 2.0, &["b"]).unwrap());
        out.push(&ConstMetric::gauge(&d, 1.0, &["a"]).unwrap());
    }))?;
    let s = registry.gather()?;
    assert_eq!(family_names(&s), ["p_g"]);
    let got: Vec<_> = s
        .family("p_g")
        .unwrap()
        .metrics
        .iter()
        .map(|m| (labels_of(m), scalar(m)))
        .collect();
    assert_eq!(
        got,
        [
            (vec![("k", "a"), ("zone", "eu")], 1.0),
            (vec![("k", "b"), ("zone", "eu")], 2.0)
        ]
    );
    Ok(())
}

#[test]
fn wrap_refuses_bad_prefixes_and_labels() -> TestResult {
    let registry = Registry::new();
    assert_eq!(
        registry.wrap("1app_", &[]).unwrap_err(),
        DescError::InvalidMetricName {
            name: "1app_".into()
        }
    );
    assert!(matches!(
        registry.wrap("app-", &[]),
        Err(DescError::InvalidMetricName { .. })
    ));
    assert!(matches!(
        registry.wrap("", &[("bad-label", "x")]),
        Err(DescError::InvalidLabelName { ref label, .. }) if label == "bad-label"
    ));
    assert!(matches!(
        registry.wrap("", &[("__reserved", "x")]),
        Err(DescError::ReservedLabelName { ref label, .. }) if label == "__reserved"
    ));
    assert!(matches!(
        registry.wrap("ok_", &[])?.wrap("2_", &[]),
        Err(DescError::InvalidMetricName { .. })
    ));
    // An empty prefix and no labels is a valid (identity) view.
    let same = registry.wrap("", &[])?;
    same.register(Gauge::new("plain", "Plain.")?)?;
    assert_eq!(family_names(&registry.gather()?), ["plain"]);

    // Labels that clash with the collector's own, or are forbidden for its
    // type, are refused at registration with a typed error.
    let zoned = registry.wrap("", &[("zone", "eu"), ("le", "1")])?;
    match zoned.register(CounterVec::new("c_total", "C.", ["zone"])?) {
        Err(RegisterError::Desc(DescError::DuplicateLabelName { label, .. })) => {
            assert_eq!(label, "zone");
        }
        other => panic!("expected DuplicateLabelName, got {other:?}"),
    }
    match zoned.register(Histogram::new("h", "H.", &[1.0])?) {
        Err(RegisterError::Desc(DescError::ForbiddenLabelName { label, .. })) => {
            assert_eq!(label, "le");
        }
        other => panic!("expected ForbiddenLabelName, got {other:?}"),
    }
    let twice = registry.wrap("", &[("k", "1")])?.wrap("", &[("k", "2")])?;
    assert!(matches!(
        twice.register(Gauge::new("g", "G.")?),
        Err(RegisterError::Desc(DescError::DuplicateLabelName { .. }))
    ));
    assert_eq!(family_names(&registry.gather()?), ["plain"]);
    Ok(())
}

// ---------------------------------------------------------------------------
// Gather

#[test]
fn gather_sorts_families_by_name_and_series_by_label_values() -> TestResult {
    let registry = Registry::new();
    let z = gauge_desc("zeta", "Z.", &["x", "y"]);
    let a = gauge_desc("alpha", "A.", &["x", "y"]);
    let m = gauge_desc("mid", "M.", &[]);
    let (z2, a2, m2) = (z.clone(), a.clone(), m.clone());
    registry.register(FnCollector::new(vec![z, a, m], move |out| {
        let pairs = [
            ("b", "b"),
            ("b", "a"),
            ("aa", ""),
            ("a", "z"),
            ("", "q"),
            ("é", "1"),
            ("B", "0"),
        ];
        for (i, (x, y)) in pairs.iter().enumerate() {
            out.push(&ConstMetric::gauge(&z2, i as f64, &[x, y]).unwrap());
        }
        out.push(&ConstMetric::gauge(&m2, 1.0, &[]).unwrap());
        for (i, (x, y)) in pairs.iter().rev().enumerate() {
            out.push(&ConstMetric::gauge(&a2, i as f64, &[x, y]).unwrap());
        }
    }))?;
    // A second collector adding to the sort.
    registry.register(Counter::new("beta_total", "B.")?)?;

    let s = registry.gather()?;
    assert_eq!(family_names(&s), ["alpha", "beta_total", "mid", "zeta"]);
    let want: Vec<Vec<(&str, &str)>> = [
        ("", "q"),
        ("B", "0"),
        ("a", "z"),
        ("aa", ""),
        ("b", "a"),
        ("b", "b"),
        ("é", "1"),
    ]
    .iter()
    .map(|&(x, y)| vec![("x", x), ("y", y)])
    .collect();
    for name in ["alpha", "zeta"] {
        let got: Vec<_> = s
            .family(name)
            .unwrap()
            .metrics
            .iter()
            .map(labels_of)
            .collect();
        assert_eq!(got, want, "{name}");
    }
    // Values travel with their series through the sort.
    let zeta = s.family("zeta").unwrap();
    assert_eq!(scalar(&zeta.metrics[0]), 4.0); // ("", "q") was pushed 5th
    assert_eq!(scalar(&zeta.metrics[6]), 5.0); // ("é", "1") was pushed 6th
    Ok(())
}

#[test]
fn empty_families_are_dropped() -> TestResult {
    let registry = Registry::new();
    let vec = CounterVec::new("requests_total", "Requests.", ["code"])?;
    let hist = HistogramVec::new("latency_seconds", "Latency.", ["code"], &[1.0])?;
    registry.register(vec.clone())?;
    registry.register(hist.clone())?;
    registry.register(Gauge::new("up", "Up.")?)?;
    assert_eq!(family_names(&registry.gather()?), ["up"]);

    vec.with_label_values(["200"]).inc();
    assert_eq!(family_names(&registry.gather()?), ["requests_total", "up"]);
    hist.with_label_values(["200"]).observe(0.5);
    vec.clear();
    assert_eq!(family_names(&registry.gather()?), ["latency_seconds", "up"]);
    Ok(())
}

#[test]
fn panicking_collector_is_dropped_and_others_survive() -> TestResult {
    let registry = Registry::new();
    let ok = Counter::new("a_total", "A.")?;
    ok.inc();
    registry.register(ok.clone())?;
    let shared = gauge_desc("shared", "Shared.", &["who"]);
    let only = gauge_desc("only_panicker", "Only.", &[]);
    let s1 = shared.clone();
    registry.register(FnCollector::new(vec![], move |out| {
        out.push(&ConstMetric::gauge(&s1, 1.0, &["good"]).unwrap());
    }))?;
    let (s2, o2) = (shared.clone(), only.clone());
    let armed = Arc::new(AtomicBool::new(true));
    let armed2 = armed.clone();
    registry.register(FnCollector::new(vec![], move |out| {
        out.push(&ConstMetric::gauge(&s2, 2.0, &["panicker"]).unwrap());
        out.push(&ConstMetric::gauge(&o2, 3.0, &[]).unwrap());
        if armed2.load(Ordering::Relaxed) {
            panic!("boom in collector");
        }
    }))?;
    registry.register(Gauge::new("z_after", "After.")?)?;

    let err = gather_err(&registry);
    assert_eq!(err.errors().len(), 1, "{err}");
    match &err.errors()[0] {
        CollectError::Panicked { message } => assert_eq!(message, "boom in collector"),
        other => panic!("expected Panicked, got {other:?}"),
    }
    let partial = err.partial();
    assert_eq!(family_names(partial), ["a_total", "shared", "z_after"]);
    let shared_fam = partial.family("shared").unwrap();
    assert_eq!(shared_fam.metrics.len(), 1);
    assert_eq!(labels_of(&shared_fam.metrics[0]), [("who", "good")]);

    // gather_into leaves the same partial result in the caller's snapshot,
    // and GatherError::partial is then empty.
    let mut snap = Snapshot::new();
    let err2 = registry.gather_into(&mut snap).expect_err("still panics");
    assert!(err2.partial().is_empty());
    assert_eq!(&*snap, &**partial);

    // Once the collector behaves, the same snapshot holds its output again.
    armed.store(false, Ordering::Relaxed);
    registry.gather_into(&mut snap)?;
    assert_eq!(
        family_names(&snap),
        ["a_total", "only_panicker", "shared", "z_after"]
    );
    assert_eq!(snap, registry.gather()?);
    Ok(())
}

#[test]
fn panicking_collector_does_not_shape_families_it_touched() -> TestResult {
    // The panicking collector runs first and reports `x` as a gauge with its
    // own help; its output is dropped, so it must not decide the type or help
    // of `x` for the collectors after it.
    let registry = Registry::new();
    let as_gauge = gauge_desc("x", "Panicker's help.", &[]);
    registry.register(FnCollector::new(vec![], move |out| {
        out.push(&ConstMetric::gauge(&as_gauge, 1.0, &[]).unwrap());
        panic!("after pushing x");
    }))?;
    let c = Counter::new("x", "Counter help.")?;
    c.inc();
    registry.register(c)?;

    let err = gather_err(&registry);
    assert_eq!(err.errors().len(), 1, "{err}");
    assert!(matches!(
        &err.errors()[0],
        CollectError::Panicked { message } if message == "after pushing x"
    ));
    let fam = err.partial().family("x").expect("the counter's family");
    assert_eq!(fam.metric_type, MetricType::Counter);
    assert_eq!(&*fam.help, "Counter help.");
    assert_eq!(scalar(&fam.metrics[0]), 1.0);
    Ok(())
}

#[test]
fn sink_error_is_reported_and_other_metrics_are_kept() -> TestResult {
    let registry = Registry::new();
    let d = gauge_desc("disk_free_bytes", "Free bytes.", &["dev"]);
    let d2 = d.clone();
    registry.register(FnCollector::new(vec![d], move |out| {
        out.push(&ConstMetric::gauge(&d2, 10.0, &["sda"]).unwrap());
        out.error("cannot read sdb");
        out.push(&ConstMetric::gauge(&d2, 30.0, &["sdc"]).unwrap());
        // A const metric refused at construction is reported as well.
        match ConstMetric::gauge(&d2, 1.0, &[]) {
            Ok(m) => out.push(&m),
            Err(e) => out.error(e),
        }
    }))?;
    let err = gather_err(&registry);
    assert_eq!(err.errors().len(), 2);
    match &err.errors()[0] {
        CollectError::Failed(e) => assert_eq!(e.to_string(), "cannot read sdb"),
        other => panic!("expected Failed, got {other:?}"),
    }
    match &err.errors()[1] {
        CollectError::Failed(e) => {
            let e = e
                .downcast_ref::<promclient::ConstMetricError>()
                .expect("the ConstMetricError itself");
            assert!(matches!(
                e,
                promclient::ConstMetricError::Labels(promclient::LabelError::Cardinality {
                    expected: 1,
                    got: 0,
                    ..
                })
            ));
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    let fam = err.partial().family("disk_free_bytes").unwrap();
    let got: Vec<_> = fam
        .metrics
        .iter()
        .map(|m| (labels_of(m), scalar(m)))
        .collect();
    assert_eq!(
        got,
        [(vec![("dev", "sda")], 10.0), (vec![("dev", "sdc")], 30.0)]
    );
    Ok(())
}

#[test]
fn duplicate_series_keeps_the_first() -> TestResult {
    let registry = Registry::new();
    let d = gauge_desc("temp", "Temperature.", &["dev"]);
    let d2 = d.clone();
    registry.register(FnCollector::new(vec![], move |out| {
        out.push(&ConstMetric::gauge(&d2, 1.0, &["sda"]).unwrap());
        out.push(&ConstMetric::gauge(&d2, 5.0, &["sdb"]).unwrap());
        out.push(&ConstMetric::gauge(&d2, 2.0, &["sda"]).unwrap());
    }))?;
    // The same series from a second, unchecked collector.
    let d3 = d.clone();
    registry.register(FnCollector::new(vec![], move |out| {
        out.push(&ConstMetric::gauge(&d3, 3.0, &["sdb"]).unwrap());
    }))?;
    let err = gather_err(&registry);
    let dups: Vec<(&str, &str)> = err
        .errors()
        .iter()
        .map(|e| match e {
            CollectError::DuplicateSeries { metric, labels } => (metric.as_str(), labels.as_str()),
            other => panic!("expected DuplicateSeries, got {other:?}"),
        })
        .collect();
    assert_eq!(dups, [("temp", "dev=\"sda\""), ("temp", "dev=\"sdb\"")]);
    let fam = err.partial().family("temp").unwrap();
    let got: Vec<_> = fam
        .metrics
        .iter()
        .map(|m| (labels_of(m), scalar(m)))
        .collect();
    assert_eq!(
        got,
        [(vec![("dev", "sda")], 1.0), (vec![("dev", "sdb")], 5.0)]
    );
    Ok(())
}

#[test]
fn a_timestamp_does_not_make_a_series_distinct() -> TestResult {
    let registry = Registry::new();
    let d = gauge_desc("temp", "Temperature.", &["dev"]);
    registry.register(FnCollector::new(vec![], move |out| {
        out.push(
            &ConstMetric::gauge(&d, 1.0, &["sda"])
                .unwrap()
                .with_timestamp_ms(2_000),
        );
        out.push(
            &ConstMetric::gauge(&d, 2.0, &["sda"])
                .unwrap()
                .with_timestamp_ms(1_000),
        );
    }))?;
    let err = gather_err(&registry);
    assert!(
        matches!(err.errors(), [CollectError::DuplicateSeries { metric, .. }] if metric == "temp"),
        "{:?}",
        err.errors()
    );
    let fam = err.partial().family("temp").unwrap();
    assert_eq!(fam.metrics.len(), 1);
    // Sorted by timestamp among equal labels, the earlier one is kept.
    assert_eq!(fam.metrics[0].timestamp_ms, Some(1_000));
    assert_eq!(scalar(&fam.metrics[0]), 2.0);
    Ok(())
}

#[test]
fn unchecked_collectors_disagreeing_on_help_or_type_are_inconsistent() -> TestResult {
    let registry = Registry::new();
    let first = gauge_desc("thing", "First help.", &["k"]);
    let other_help = gauge_desc("thing", "Second help.", &["k"]);
    let other_type = Desc::new(MetricType::Counter, "thing", "First help.", &["k"], &[])?;
    registry.register(FnCollector::new(vec![], move |out| {
        out.push(&ConstMetric::gauge(&first, 1.0, &["a"]).unwrap());
    }))?;
    registry.register(FnCollector::new(vec![], move |out| {
        out.push(&ConstMetric::gauge(&other_help, 2.0, &["b"]).unwrap());
    }))?;
    registry.register(FnCollector::new(vec![], move |out| {
        out.push(&ConstMetric::counter(&other_type, 3.0, &["c"]).unwrap());
    }))?;
    let err = gather_err(&registry);
    let got: Vec<(&str, &str)> = err
        .errors()
        .iter()
        .map(|e| match e {
            CollectError::Inconsistent { metric, differs } => (metric.as_str(), *differs),
            other => panic!("expected Inconsistent, got {other:?}"),
        })
        .collect();
    assert_eq!(got, [("thing", "help"), ("thing", "type")]);
    let fam = err.partial().family("thing").unwrap();
    assert_eq!(&*fam.help, "First help.");
    assert_eq!(fam.metric_type, MetricType::Gauge);
    assert_eq!(fam.metrics.len(), 1);
    assert_eq!(labels_of(&fam.metrics[0]), [("k", "a")]);
    Ok(())
}

#[test]
fn name_colliding_with_histogram_series_is_dropped() -> TestResult {
    let registry = Registry::new();
    // Registered first, so the check cannot rely on order.
    let count = Gauge::new("foo_count", "Not the histogram's count.")?;
    registry.register(count)?;
    let h = Histogram::new("foo", "A histogram.", &[1.0])?;
    registry.register(h.clone())?;
    h.observe(0.5);
    registry.register(Gauge::new("foo_other", "Fine.")?)?;

    let err = gather_err(&registry);
    assert_eq!(err.errors().len(), 1);
    match &err.errors()[0] {
        CollectError::NameCollision { metric, with } => {
            assert_eq!(metric, "foo_count");
            assert_eq!(with, "foo");
        }
        other => panic!("expected NameCollision, got {other:?}"),
    }
    assert_eq!(family_names(err.partial()), ["foo", "foo_other"]);

    // A summary owns `_sum` and `_count`, not `_bucket`.
    let registry = Registry::new();
    let sd = Desc::new(MetricType::Summary, "rpc", "RPCs.", &[], &[])?;
    let sd2 = sd.clone();
    registry.register(FnCollector::new(vec![sd], move |out| {
        out.push(&ConstMetric::summary(&sd2, 2, 3.0, &[(0.5, 1.0)], &[]).unwrap());
    }))?;
    registry.register(Gauge::new("rpc_sum", "Clash.")?)?;
    registry.register(Gauge::new("rpc_bucket", "No clash for summaries.")?)?;
    let err = gather_err(&registry);
    assert_eq!(err.errors().len(), 1);
    assert!(matches!(
        &err.errors()[0],
        CollectError::NameCollision { metric, with } if metric == "rpc_sum" && with == "rpc"
    ));
    assert_eq!(family_names(err.partial()), ["rpc", "rpc_bucket"]);
    Ok(())
}

#[test]
fn collisions_are_reported_by_family_then_by_suffix() -> TestResult {
    let registry = Registry::new();
    for name in ["a", "b"] {
        let h = Histogram::new(name, "A histogram.", &[1.0])?;
        h.observe(0.5);
        registry.register(h)?;
    }
    for name in ["b_count", "a_sum", "a_bucket", "b_bucket"] {
        registry.register(Gauge::new(name, "Collides.")?)?;
    }
    let mut reused = Snapshot::new();
    // The first gather finds the families; the second reuses what it found.
    for _ in 0..2 {
        let err = registry.gather_into(&mut reused).unwrap_err();
        let got: Vec<_> = err
            .errors()
            .iter()
            .map(|e| match e {
                CollectError::NameCollision { metric, with } => (metric.as_str(), with.as_str()),
                other => panic!("expected NameCollision, got {other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                ("a_bucket", "a"),
                ("a_sum", "a"),
                ("b_bucket", "b"),
                ("b_count", "b")
            ]
        );
        assert_eq!(family_names(&reused), ["a", "b"]);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Snapshot reuse

fn assert_reuse_matches_fresh(registry: &Registry, reused: &mut Snapshot) {
    let reused_result = registry.gather_into(reused);
    let (fresh, fresh_errors) = match registry.gather() {
        Ok(s) => (s, Vec::new()),
        Err(e) => {
            let msgs: Vec<String> = e.errors().iter().map(ToString::to_string).collect();
            (e.into_partial(), msgs)
        }
    };
    let reused_errors: Vec<String> = match reused_result {
        Ok(()) => Vec::new(),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    };
    assert_eq!(reused_errors, fresh_errors);
    assert_eq!(
        family_names(reused),
        family_names(&fresh),
        "family sets differ"
    );
    assert_eq!(&**reused, &*fresh);
    // The label text a snapshot caches for encoding is never stale: the
    // reused snapshot's text equals that of its plain families (no cache)
    // and that of the fresh snapshot.
    let text = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    };
    let cached = text(&|o| promclient::encoding::text::encode(&*reused, o).unwrap());
    let plain = text(&|o| promclient::encoding::text::encode(reused.families(), o).unwrap());
    let fresh_text = text(&|o| promclient::encoding::text::encode(&fresh, o).unwrap());
    assert_eq!(cached, plain, "cached label text is stale");
    assert_eq!(cached, fresh_text);
    for fam in reused.iter() {
        assert_eq!(
            reused.family(&fam.name),
            Some(fam),
            "lookup of {}",
            fam.name
        );
    }
}

#[test]
fn reused_snapshot_tracks_changing_family_sets() -> TestResult {
    let registry = Registry::new();
    let mut reused = Snapshot::new();
    let b = CounterVec::new("b_total", "B.", ["k"])?;
    let d = GaugeVec::new("d", "D.", ["k"])?;
    let h = Histogram::new("h", "H.", &[1.0, 2.0])?;
    registry.register(b.clone())?;
    registry.register(d.clone())?;
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert!(reused.is_empty());

    b.with_label_values(["x"]).inc();
    assert_reuse_matches_fresh(&registry, &mut reused);
    d.with_label_values(["y"]).set(2.0);
    d.with_label_values(["a"]).set(1.0);
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert_eq!(family_names(&reused), ["b_total", "d"]);

    // A family goes empty, then one sorting before it appears.
    b.clear();
    assert_reuse_matches_fresh(&registry, &mut reused);
    registry.register(Gauge::new("a_first", "A.")?)?;
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert_eq!(family_names(&reused), ["a_first", "d"]);

    // The empty family comes back; another one appears at the end.
    b.with_label_values(["z"]).inc_by(3);
    registry.register(h.clone())?;
    h.observe(1.5);
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert_eq!(family_names(&reused), ["a_first", "b_total", "d", "h"]);

    // Everything goes away but one, and comes back in one step.
    b.clear();
    d.clear();
    assert!(registry.unregister(&h));
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert_eq!(family_names(&reused), ["a_first"]);
    // Twice empty: the spare families are dropped; the result must not care.
    assert_reuse_matches_fresh(&registry, &mut reused);
    b.with_label_values(["q"]).inc();
    d.with_label_values(["q"]).set(7.0);
    registry.register(h.clone())?;
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert_eq!(family_names(&reused), ["a_first", "b_total", "d", "h"]);

    // A collision appears and disappears.
    let collide = Gauge::new("h_count", "Collides.")?;
    registry.register(collide.clone())?;
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert_eq!(family_names(&reused), ["a_first", "b_total", "d", "h"]);
    assert!(registry.unregister(&h));
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert_eq!(
        family_names(&reused),
        ["a_first", "b_total", "d", "h_count"]
    );
    registry.register(h.clone())?;
    assert!(registry.unregister(&collide));
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert_eq!(family_names(&reused), ["a_first", "b_total", "d", "h"]);

    // Series counts shrink and grow within a family.
    for k in ["m", "c", "x", "a"] {
        d.with_label_values([k]).set(1.0);
    }
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert!(d.remove_label_values(["c"]));
    assert!(d.remove_label_values(["q"]));
    assert_reuse_matches_fresh(&registry, &mut reused);
    assert_eq!(reused.family("d").unwrap().metrics.len(), 3);
    Ok(())
}

#[test]
fn one_snapshot_alternating_between_registries_matches_fresh_gathers() -> TestResult {
    // Same family name and label name in both, different children: the
    // snapshot must never keep one registry's labels for the other's.
    let (r1, r2) = (Registry::new(), Registry::new());
    let (f1, f2) = (
        CounterVec::new("x_total", "X.", ["k"])?,
        CounterVec::new("x_total", "X.", ["k"])?,
    );
    r1.register(f1.clone())?;
    r2.register(f2.clone())?;
    for k in ["a", "b"] {
        f1.with_label_values([k]).inc();
    }
    for k in ["c", "d"] {
        f2.with_label_values([k]).inc_by(5);
    }
    let mut reused = Snapshot::new();
    for _ in 0..3 {
        assert_reuse_matches_fresh(&r1, &mut reused);
        assert_eq!(labels_of(&reused[0].metrics[0]), [("k", "a")]);
        assert_reuse_matches_fresh(&r2, &mut reused);
        assert_eq!(labels_of(&reused[0].metrics[0]), [("k", "c")]);
    }
    Ok(())
}

#[test]
fn a_family_reported_twice_by_one_collector_is_deduplicated() -> TestResult {
    // A collector that reports a family's children twice (and a const
    // metric after them) in one call: gather must not trust the family's
    // sorted order across the two reports.
    let registry = Registry::new();
    let fam = CounterVec::new("dup_total", "Dup.", ["k"])?;
    for k in ["b", "a"] {
        fam.with_label_values([k]).inc();
    }
    let desc = fam.desc().clone();
    let inner = fam.clone();
    registry.register(FnCollector::new(vec![], move |out| {
        inner.collect(out);
        inner.collect(out);
        out.push(&ConstMetric::counter(&desc, 9.0, &["0"]).unwrap());
    }))?;
    let mut reused = Snapshot::new();
    for _ in 0..3 {
        let err = registry.gather_into(&mut reused).unwrap_err();
        let dups = err
            .errors()
            .iter()
            .filter(|e| matches!(e, CollectError::DuplicateSeries { .. }))
            .count();
        assert_eq!(dups, 2, "{:?}", err.errors());
        let got: Vec<_> = reused[0].metrics.iter().map(labels_of).collect();
        assert_eq!(got, [[("k", "0")], [("k", "a")], [("k", "b")]]);
    }
    Ok(())
}

/// One step of the snapshot-reuse model test.
#[derive(Debug, Clone)]
enum Step {
    /// Increment child `k` of counter family `f`.
    Inc(usize, usize),
    /// Remove child `k` of counter family `f`.
    Remove(usize, usize),
    /// Clear counter family `f`.
    Clear(usize),
    /// Register or unregister collector `i` of the toggled set.
    Toggle(usize),
    /// Make the unchecked collector report `n` series of name `i`.
    Unchecked(usize, usize),
    /// Arm or disarm the panicking collector.
    Panic(bool),
    /// Gather and compare.
    Gather,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, 0..4usize).prop_map(|(f, k)| Step::Inc(f, k)),
        2 => (0..3usize, 0..4usize).prop_map(|(f, k)| Step::Remove(f, k)),
        1 => (0..3usize).prop_map(Step::Clear),
        2 => (0..4usize).prop_map(Step::Toggle),
        2 => (0..4usize, 0..3usize).prop_map(|(i, n)| Step::Unchecked(i, n)),
        1 => any::<bool>().prop_map(Step::Panic),
        4 => Just(Step::Gather),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any sequence of changes between gathers: a snapshot reused with
    /// `gather_into` always equals a fresh `gather()`, errors included.
    #[test]
    fn reused_snapshot_equals_fresh_gather(steps in prop::collection::vec(step(), 1..60)) {
        let registry = Registry::new();
        let names = ["m_total", "a_total", "z_total"];
        let fams: Vec<CounterVec<1>> = names
            .iter()
            .map(|n| CounterVec::new(n, "Counter family.", ["k"]).unwrap())
            .collect();
        // The last family goes through a wrapping registry: its labels
        // gain a const label and its name a prefix on every gather.
        let wrapped = registry.wrap("w_", &[("env", "x")]).unwrap();
        for (i, f) in fams.iter().enumerate() {
            if i == 2 {
                wrapped.register(f.clone()).unwrap();
            } else {
                registry.register(f.clone()).unwrap();
            }
        }
        let keys = ["", "b", "a\"\n", "🦀"];

        // Toggled collectors: a histogram, a gauge colliding with it, and
        // two gauges sorting first and last.
        let hist = Histogram::new("m", "Histogram.", &[1.0]).unwrap();
        hist.observe(0.5);
        let toggled: Vec<Toggle> = {
            let h = hist.clone();
            let g1 = Gauge::new("m_count", "Collides.").unwrap();
            let g2 = Gauge::new("A_first", "First.").unwrap();
            let g3 = Gauge::new("zz", "Last.").unwrap();
            vec![
                Arc::new(move |r: &Registry, on: bool| if on { r.register(h.clone()).is_ok() } else { r.unregister(&h) }),
                Arc::new(move |r: &Registry, on: bool| if on { r.register(g1.clone()).is_ok() } else { r.unregister(&g1) }),
                Arc::new(move |r: &Registry, on: bool| if on { r.register(g2.clone()).is_ok() } else { r.unregister(&g2) }),
                Arc::new(move |r: &Registry, on: bool| if on { r.register(g3.clone()).is_ok() } else { r.unregister(&g3) }),
            ]
        };
        let mut on = [false; 4];

        // The unchecked collector: `count` series of one of four names.
        let unchecked_name = Arc::new(AtomicUsize::new(0));
        let unchecked_count = Arc::new(AtomicUsize::new(0));
        // `m` as a counter: the histogram's family under another type.
        let descs: Vec<Desc> = ["a_total", "n", "m_sum", "m"]
            .iter()
            .map(|n| Desc::new(MetricType::Counter, n, "Counter family.", &["k"], &[]).unwrap())
            .collect();
        {
            let (name, count) = (unchecked_name.clone(), unchecked_count.clone());
            registry.register(FnCollector::new(vec![], move |out| {
                let d = &descs[name.load(Ordering::Relaxed)];
                for i in (0..count.load(Ordering::Relaxed)).rev() {
                    let v = ["u0", "u1", "u2"][i];
                    out.push(&ConstMetric::counter(d, i as f64, &[v]).unwrap());
                }
            })).unwrap();
        }
        let armed = Arc::new(AtomicBool::new(false));
        {
            let armed = armed.clone();
            let d = Desc::new(MetricType::Gauge, "p", "Panicky.", &[], &[]).unwrap();
            registry.register(FnCollector::new(vec![], move |out| {
                out.push(&ConstMetric::gauge(&d, 1.0, &[]).unwrap());
                if armed.load(Ordering::Relaxed) {
                    panic!("armed");
                }
            })).unwrap();
        }

        let mut reused = Snapshot::new();
        for s in steps {
            match s {
                Step::Inc(f, k) => fams[f].with_label_values([keys[k]]).inc(),
                Step::Remove(f, k) => {
                    fams[f].remove_label_values([keys[k]]);
                }
                Step::Clear(f) => fams[f].clear(),
                Step::Toggle(i) => {
                    let want = !on[i];
                    prop_assert!(toggled[i](&registry, want));
                    on[i] = want;
                }
                Step::Unchecked(i, n) => {
                    unchecked_name.store(i, Ordering::Relaxed);
                    unchecked_count.store(n, Ordering::Relaxed);
                }
                Step::Panic(p) => armed.store(p, Ordering::Relaxed),
                Step::Gather => assert_reuse_matches_fresh(&registry, &mut reused),
            }
        }
        assert_reuse_matches_fresh(&registry, &mut reused);
    }
}

// ---------------------------------------------------------------------------
// Concurrency

#[test]
fn concurrent_gathers_while_children_are_created_and_incremented() -> TestResult {
    const WORKERS: usize = 4;
    const ROUNDS: usize = 20_000;
    const KEYS: usize = 50;

    let registry = Registry::new();
    let family = CounterVec::new("work_total", "Work.", ["worker", "key"])?;
    let plain = Counter::new("plain_total", "Plain.")?;
    registry.register(family.clone())?;
    registry.register(plain.clone())?;
    let done = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(WORKERS + 2));

    let gatherers: Vec<_> = (0..2)
        .map(|g| {
            let (registry, done, start) = (registry.clone(), done.clone(), start.clone());
            thread::spawn(move || -> usize {
                let mut reused = Snapshot::new();
                let mut last_total = 0.0;
                let mut gathers = 0;
                start.wait();
                while !done.load(Ordering::Relaxed) {
                    if g == 0 {
                        registry.gather_into(&mut reused).expect("no errors");
                    } else {
                        reused = registry.gather().expect("no errors");
                    }
                    gathers += 1;
                    if let Some(fam) = reused.family("work_total") {
                        // Series stay sorted and unique under concurrent inserts.
                        for w in fam.metrics.windows(2) {
                            assert!(labels_of(&w[0]) < labels_of(&w[1]));
                        }
                        let total: f64 = fam.metrics.iter().map(scalar).sum();
                        assert!(total >= last_total, "{total} < {last_total}");
                        last_total = total;
                    }
                }
                gathers
            })
        })
        .collect();

    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (family, plain, start) = (family.clone(), plain.clone(), start.clone());
            thread::spawn(move || {
                let worker = w.to_string();
                start.wait();
                for i in 0..ROUNDS {
                    let key = (i % KEYS).to_string();
                    family.with_label_values([&worker, &key]).inc();
                    plain.inc();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker panicked");
    }
    done.store(true, Ordering::Relaxed);
    for g in gatherers {
        assert!(g.join().expect("gatherer panicked") > 0);
    }

    let s = registry.gather()?;
    let fam = s.family("work_total").unwrap();
    assert_eq!(fam.metrics.len(), WORKERS * KEYS);
    let mut per_series = BTreeMap::new();
    for m in &fam.metrics {
        per_series.insert(labels_of(m), scalar(m));
    }
    for w in 0..WORKERS {
        for k in 0..KEYS {
            let (w, k) = (w.to_string(), k.to_string());
            let got = per_series[&vec![("key", k.as_str()), ("worker", w.as_str())]];
            assert_eq!(got, (ROUNDS / KEYS) as f64);
        }
    }
    assert_eq!(
        scalar(&s.family("plain_total").unwrap().metrics[0]),
        (WORKERS * ROUNDS) as f64
    );
    Ok(())
}

#[test]
fn const_histograms_refuse_buckets_that_do_not_add_up() {
    let desc = Desc::new(MetricType::Histogram, "h_seconds", "H.", &[], &[]).expect("valid desc");
    let reason = |buckets: &[(f64, u64)]| match ConstMetric::histogram(&desc, 5, 1.0, buckets, &[])
    {
        Err(ConstMetricError::InvalidBuckets { metric, reason }) => {
            assert_eq!(metric, "h_seconds");
            reason
        }
        other => panic!("{buckets:?}: {other:?}"),
    };
    assert_eq!(
        reason(&[(2.0, 1), (1.0, 2)]),
        "upper bounds must be strictly increasing"
    );
    assert_eq!(
        reason(&[(1.0, 2), (2.0, 1)]),
        "cumulative counts must not decrease"
    );
    assert_eq!(
        reason(&[(1.0, 6)]),
        "a bucket count exceeds the total count or a bound is NaN"
    );
    assert_eq!(
        reason(&[(1.0, 1), (f64::INFINITY, 4)]),
        "the +Inf bucket must hold the total count"
    );
    for fine in [&[][..], &[(1.0, 1)], &[(1.0, 1), (f64::INFINITY, 5)]] {
        ConstMetric::histogram(&desc, 5, 1.0, fine, &[]).expect("consistent");
    }
}

#[test]
fn const_summaries_refuse_quantiles_outside_zero_to_one() {
    let desc = Desc::new(MetricType::Summary, "s_seconds", "S.", &[], &[]).expect("valid desc");
    for q in [-0.1, 1.5, f64::NAN] {
        match ConstMetric::summary(&desc, 1, 1.0, &[(0.5, 1.0), (q, 2.0)], &[]) {
            Err(ConstMetricError::InvalidQuantile { metric, quantile }) => {
                assert_eq!(metric, "s_seconds");
                assert!(quantile.to_bits() == q.to_bits(), "{quantile} for {q}");
            }
            other => panic!("{q}: {other:?}"),
        }
    }
    // Negative values are fine: a summary of temperatures.
    ConstMetric::summary(&desc, 2, -3.0, &[(0.0, -2.0), (1.0, -1.0)], &[]).expect("valid");
}
