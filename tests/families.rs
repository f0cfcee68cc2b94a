//! Labeled families: child lookup and identity, typed label errors, any
//! UTF-8 label values, removal, and a model test against a `HashMap`.

use std::collections::HashMap;

use promclient::{
    CounterVec, GaugeVec, HistogramVec, LabelError, Metric, Opts, Registry, Snapshot, Value,
};
use proptest::prelude::*;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn labels_of(m: &Metric) -> Vec<(&str, &str)> {
    m.labels.iter().map(|l| (&*l.name, &*l.value)).collect()
}

fn counter_value(m: &Metric) -> f64 {
    match &m.value {
        Value::Counter(c) => c.value,
        other => panic!("not a counter: {other:?}"),
    }
}

/// `(label values, value)` of every series of `name`, in gather order.
fn series(snapshot: &Snapshot, name: &str) -> Vec<(Vec<String>, f64)> {
    snapshot.family(name).map_or_else(Vec::new, |f| {
        f.metrics
            .iter()
            .map(|m| {
                (
                    m.labels.iter().map(|l| l.value.to_string()).collect(),
                    counter_value(m),
                )
            })
            .collect()
    })
}

#[test]
fn equal_values_share_a_child_and_distinct_values_do_not() -> TestResult {
    let f = CounterVec::new("requests_total", "Requests.", ["method", "code"])?;
    let a = f.with_label_values(["GET", "200"]);
    let b = f.with_label_values(["GET", "200"]);
    a.inc();
    b.inc_by(2);
    assert_eq!(a.value(), 3.0);
    assert_eq!(f.with_label_values(["GET", "200"]).value(), 3.0);

    // Values that would collide if joined naively stay distinct.
    let pairs = [
        ["GET", "500"],
        ["POST", "200"],
        ["GE", "T200"],
        ["GET200", ""],
        ["", "GET200"],
        ["GET\u{0}", "200"],
        ["get", "200"],
    ];
    for (i, p) in pairs.iter().enumerate() {
        f.with_label_values(*p).inc_by(10 + i as u64);
    }
    assert_eq!(f.len(), 1 + pairs.len());
    assert_eq!(a.value(), 3.0);
    for (i, p) in pairs.iter().enumerate() {
        assert_eq!(f.with_label_values(*p).value(), (10 + i) as f64, "{p:?}");
    }
    assert!(!f.is_empty());

    // Gauges and histograms behave the same.
    let g = GaugeVec::new("g", "G.", ["k"])?;
    g.with_label_values(["x"]).set(4.0);
    g.with_label_values(["x"]).add(1.0);
    assert_eq!(g.with_label_values(["x"]).value(), 5.0);
    assert_eq!(g.with_label_values(["y"]).value(), 0.0);
    let h = HistogramVec::new("h", "H.", ["k"], &[1.0])?;
    h.with_label_values(["x"]).observe(0.5);
    h.with_label_values(["x"]).observe(2.0);
    assert_eq!(h.with_label_values(["x"]).sample_count(), 2);
    assert_eq!(h.with_label_values(["y"]).sample_count(), 0);
    assert_eq!(h.with_label_values(["x"]).buckets(), [1.0]);
    Ok(())
}

#[test]
fn families_with_no_labels_have_one_child() -> TestResult {
    let f = CounterVec::<0>::new("c_total", "C.", [])?;
    f.with_label_values([]).inc();
    f.with_label_values([]).inc();
    assert_eq!(f.len(), 1);
    assert_eq!(f.try_with_label_values(&[])?.value(), 2.0);
    assert!(f.try_with_label_values(&["x"]).is_err());
    Ok(())
}

#[test]
fn wrong_number_of_values_is_a_cardinality_error() -> TestResult {
    let f = CounterVec::new("requests_total", "Requests.", ["method", "code"])?;
    for values in [&[][..], &["GET"], &["GET", "200", "extra"]] {
        match f.try_with_label_values(values) {
            Err(LabelError::Cardinality {
                metric,
                expected,
                got,
            }) => {
                assert_eq!(metric, "requests_total");
                assert_eq!(expected, 2);
                assert_eq!(got, values.len());
            }
            other => panic!("{values:?}: expected Cardinality, got {other:?}"),
        }
    }
    assert_eq!(f.len(), 0, "failed lookups create nothing");
    let c = f.try_with_label_values(&["GET", "200"])?;
    c.inc();
    assert_eq!(f.with_label_values(["GET", "200"]).value(), 1.0);
    Ok(())
}

#[test]
fn with_labels_accepts_any_order_and_refuses_unknown_or_missing() -> TestResult {
    let f = CounterVec::new("requests_total", "Requests.", ["method", "code"])?;
    f.with_labels(&[("code", "200"), ("method", "GET")])?.inc();
    f.with_labels(&[("method", "GET"), ("code", "200")])?.inc();
    assert_eq!(f.with_label_values(["GET", "200"]).value(), 2.0);
    assert_eq!(f.len(), 1);

    assert_eq!(
        f.with_labels(&[("method", "GET"), ("status", "200")])
            .unwrap_err(),
        LabelError::UnknownLabel {
            metric: "requests_total".into(),
            label: "status".into()
        }
    );
    assert_eq!(
        f.with_labels(&[("method", "GET"), ("method", "PUT")])
            .unwrap_err(),
        LabelError::MissingLabel {
            metric: "requests_total".into(),
            label: "code".into()
        }
    );
    assert!(matches!(
        f.with_labels(&[("method", "GET")]),
        Err(LabelError::Cardinality {
            expected: 2,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        f.with_labels(&[("method", "GET"), ("code", "1"), ("x", "y")]),
        Err(LabelError::Cardinality { got: 3, .. })
    ));
    // Const labels are not variable labels.
    let with_const =
        CounterVec::with_opts(Opts::new("c_total", "C.").const_label("env", "prod"), ["k"])?;
    assert!(matches!(
        with_const.with_labels(&[("env", "prod")]),
        Err(LabelError::UnknownLabel { ref label, .. }) if label == "env"
    ));
    assert_eq!(f.len(), 1);
    assert_eq!(with_const.len(), 0);
    for e in [
        f.with_labels(&[("x", "1"), ("code", "2")]).unwrap_err(),
        f.try_with_label_values(&[]).unwrap_err(),
    ] {
        let msg = e.to_string();
        assert!(
            msg.starts_with(|c: char| c.is_lowercase()) && !msg.ends_with('.'),
            "{msg}"
        );
    }
    Ok(())
}

#[test]
fn any_utf8_label_values_round_trip_into_the_snapshot() -> TestResult {
    let registry = Registry::new();
    let f = CounterVec::new("odd_total", "Odd values.", ["v"])?;
    registry.register(f.clone())?;
    let values = [
        "",
        " ",
        "🦀 crab",
        "say \"hi\"",
        "back\\slash",
        "trailing\\",
        "new\nline",
        "\r\t\u{0}\u{7f}",
        "ünï\u{200b}cödé",
        "\u{10FFFF}",
        "{a=\"b\"}",
        "\\n not a newline",
    ];
    for (i, v) in values.iter().enumerate() {
        f.with_label_values([v]).inc_by(i as u64 + 1);
    }
    let s = registry.gather()?;
    let fam = s.family("odd_total").expect("gathered");
    let mut want: Vec<(&str, f64)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, (i + 1) as f64))
        .collect();
    want.sort_by(|a, b| a.0.cmp(b.0));
    let got: Vec<(&str, f64)> = fam
        .metrics
        .iter()
        .map(|m| {
            assert_eq!(m.labels.len(), 1);
            assert_eq!(&*m.labels[0].name, "v");
            (&*m.labels[0].value, counter_value(m))
        })
        .collect();
    assert_eq!(got, want);
    Ok(())
}

#[test]
fn removal_by_values_labels_and_partial_match() -> TestResult {
    let registry = Registry::new();
    let f = CounterVec::new("requests_total", "Requests.", ["method", "code"])?;
    registry.register(f.clone())?;
    for (m, c) in [
        ("GET", "200"),
        ("GET", "500"),
        ("PUT", "200"),
        ("PUT", "500"),
        ("DELETE", "200"),
    ] {
        f.with_label_values([m, c]).inc();
    }
    let removed = f.with_label_values(["GET", "500"]);
    assert!(f.remove_label_values(["GET", "500"]));
    assert!(!f.remove_label_values(["GET", "500"]), "already gone");
    assert!(!f.remove_label_values(["500", "GET"]), "order matters");
    assert_eq!(f.len(), 4);

    // The removed child's handle still works but is not gathered.
    removed.inc();
    assert_eq!(removed.value(), 2.0);
    let s = registry.gather()?;
    assert!(!series(&s, "requests_total")
        .iter()
        .any(|(l, _)| l == &["500", "GET"]));
    // Looking it up again gives a fresh child.
    assert_eq!(f.with_label_values(["GET", "500"]).value(), 0.0);
    assert!(f.remove_label_values(["GET", "500"]));

    assert_eq!(f.remove(&[("code", "200"), ("method", "PUT")]), Ok(true));
    assert_eq!(f.remove(&[("code", "200"), ("method", "PUT")]), Ok(false));
    assert!(matches!(
        f.remove(&[("code", "200"), ("verb", "PUT")]),
        Err(LabelError::UnknownLabel { .. })
    ));
    assert!(matches!(
        f.remove(&[("code", "200")]),
        Err(LabelError::Cardinality { .. })
    ));
    assert_eq!(f.len(), 3); // GET/200, PUT/500, DELETE/200

    assert_eq!(
        f.remove_partial_match(&[("status", "200")]),
        0,
        "unknown label"
    );
    assert_eq!(
        f.remove_partial_match(&[("code", "200"), ("status", "x")]),
        0,
        "any unknown label matches nothing"
    );
    assert_eq!(f.remove_partial_match(&[("code", "404")]), 0);
    assert_eq!(f.len(), 3);
    assert_eq!(
        f.remove_partial_match(&[("code", "200"), ("method", "GET")]),
        1
    );
    assert_eq!(f.remove_partial_match(&[("code", "200")]), 1);
    let s = registry.gather()?;
    assert_eq!(
        series(&s, "requests_total"),
        [(vec!["500".to_string(), "PUT".to_string()], 1.0)]
    );

    let kept = f.with_label_values(["PUT", "500"]);
    f.clear();
    assert!(f.is_empty());
    assert!(registry.gather()?.family("requests_total").is_none());
    kept.inc();
    assert_eq!(kept.value(), 2.0);
    assert!(registry.gather()?.family("requests_total").is_none());
    f.with_label_values(["PUT", "500"]).inc();
    assert_eq!(
        series(&registry.gather()?, "requests_total"),
        [(vec!["500".to_string(), "PUT".to_string()], 1.0)]
    );
    Ok(())
}

#[test]
fn removed_histogram_children_are_not_gathered() -> TestResult {
    let registry = Registry::new();
    let h = HistogramVec::new("h", "H.", ["k"], &[1.0])?;
    registry.register(h.clone())?;
    let a = h.with_label_values(["a"]);
    a.observe(0.5);
    h.with_label_values(["b"]).observe(2.0);
    assert!(h.remove_label_values(["a"]));
    a.observe(0.5);
    let s = registry.gather()?;
    let fam = s.family("h").unwrap();
    assert_eq!(fam.metrics.len(), 1);
    assert_eq!(labels_of(&fam.metrics[0]), [("k", "b")]);
    let Value::Histogram(v) = &fam.metrics[0].value else {
        panic!("not a histogram")
    };
    assert_eq!((v.sample_count, v.sample_sum), (1, 2.0));
    assert_eq!(a.sample_count(), 2);
    Ok(())
}

// ---------------------------------------------------------------------------
// Model test

/// Label values for the model test: few enough to collide often, tricky
/// enough to catch escaping or hashing that confuses them.
/// Short values, and values around the 16 bytes a lookup packs whole: two
/// long ones share their first 16 bytes and their length.
const ALPHABET: [&str; 12] = [
    "",
    "a",
    "ab",
    "a\"b",
    "\\",
    "\n",
    "🦀",
    "abcdefgh",
    "0123456789abcde",
    "0123456789abcdef",
    "0123456789abcdef-x",
    "0123456789abcdef-y",
];

#[derive(Debug, Clone)]
enum Op {
    /// Look up (or create) `(a, b)` and add `n`.
    Inc(usize, usize, u64),
    /// Remove `(a, b)`.
    Remove(usize, usize),
    /// Remove every child whose first label is `a`.
    RemovePartial(usize),
    /// Remove every child whose second label is `b`, by name.
    RemovePartialSecond(usize),
    /// Remove by `(name, value)` pairs, in reverse order.
    RemoveByName(usize, usize),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    let v = 0..ALPHABET.len();
    prop_oneof![
        8 => (v.clone(), v.clone(), 0..5u64).prop_map(|(a, b, n)| Op::Inc(a, b, n)),
        3 => (v.clone(), v.clone()).prop_map(|(a, b)| Op::Remove(a, b)),
        2 => v.clone().prop_map(Op::RemovePartial),
        1 => v.clone().prop_map(Op::RemovePartialSecond),
        2 => (v.clone(), v).prop_map(|(a, b)| Op::RemoveByName(a, b)),
        1 => Just(Op::Clear),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn counter_vec_matches_hashmap_model(ops in prop::collection::vec(op(), 0..80)) {
        let registry = Registry::new();
        let f = CounterVec::new("model_total", "Model.", ["first", "second"]).unwrap();
        registry.register(f.clone()).unwrap();
        let mut model: HashMap<(String, String), u64> = HashMap::new();
        let key = |a: usize, b: usize| (ALPHABET[a].to_string(), ALPHABET[b].to_string());

        for op in &ops {
            match *op {
                Op::Inc(a, b, n) => {
                    f.with_label_values([ALPHABET[a], ALPHABET[b]]).inc_by(n);
                    *model.entry(key(a, b)).or_default() += n;
                }
                Op::Remove(a, b) => {
                    let existed = model.remove(&key(a, b)).is_some();
                    prop_assert_eq!(f.remove_label_values([ALPHABET[a], ALPHABET[b]]), existed);
                }
                Op::RemovePartial(a) => {
                    let before = model.len();
                    model.retain(|(x, _), _| x != ALPHABET[a]);
                    let n = f.remove_partial_match(&[("first", ALPHABET[a])]);
                    prop_assert_eq!(n, before - model.len());
                }
                Op::RemovePartialSecond(b) => {
                    let before = model.len();
                    model.retain(|(_, y), _| y != ALPHABET[b]);
                    let n = f.remove_partial_match(&[("second", ALPHABET[b])]);
                    prop_assert_eq!(n, before - model.len());
                }
                Op::RemoveByName(a, b) => {
                    let existed = model.remove(&key(a, b)).is_some();
                    let r = f.remove(&[("second", ALPHABET[b]), ("first", ALPHABET[a])]);
                    prop_assert_eq!(r, Ok(existed));
                }
                Op::Clear => {
                    model.clear();
                    f.clear();
                }
            }
            prop_assert_eq!(f.len(), model.len());
        }

        let mut want: Vec<(Vec<String>, f64)> = model
            .iter()
            .map(|((a, b), n)| (vec![a.clone(), b.clone()], *n as f64))
            .collect();
        want.sort_by(|x, y| x.0.cmp(&y.0));
        let snapshot = registry.gather().unwrap();
        let got = series(&snapshot, "model_total");
        prop_assert_eq!(&got, &want);
        if let Some(fam) = snapshot.family("model_total") {
            for m in &fam.metrics {
                let names: Vec<&str> = m.labels.iter().map(|l| &*l.name).collect();
                prop_assert_eq!(names, ["first", "second"]);
            }
        }
        // Existing children are found again with their values.
        for ((a, b), n) in &model {
            prop_assert_eq!(f.with_label_values([a, b]).value(), *n as f64);
        }
        prop_assert_eq!(f.len(), model.len());
    }
}
