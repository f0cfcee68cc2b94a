//! Metric and label names outside the legacy character set: allowed only
//! where both the descriptor and the registry opt in, and written as the
//! scraper's escaping asks in every format.

use promclient::encoding::negotiate::Escaping;
use promclient::encoding::{openmetrics, protobuf, text};
use promclient::{
    Counter, CounterVec, DescError, Gauge, HistogramVec, NameValidation, Opts, RegisterError,
    Registry, Snapshot,
};

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn utf8(name: &str, help: &str) -> Opts {
    Opts::new(name, help).name_validation(NameValidation::Utf8)
}

#[test]
fn utf8_names_need_the_descriptor_and_the_registry_to_allow_them() -> TestResult {
    assert!(matches!(
        Counter::new("jobs.done_total", "J."),
        Err(DescError::InvalidMetricName { .. })
    ));
    assert!(matches!(
        CounterVec::new("jobs_total", "J.", ["queue.name"]),
        Err(DescError::InvalidLabelName { .. })
    ));
    let c = Counter::with_opts(utf8("jobs.done_total", "J."))?;
    assert_eq!(c.desc().name_validation(), NameValidation::Utf8);
    assert!(!c.desc().has_legacy_names());
    // A legacy registry refuses it, with nothing registered.
    let legacy = Registry::new();
    match legacy.register(c.clone()) {
        Err(RegisterError::Utf8Names { metric }) => assert_eq!(metric, "jobs.done_total"),
        other => panic!("{other:?}"),
    }
    assert!(legacy.gather()?.families().is_empty());
    // Legacy names under UTF-8 validation are fine anywhere.
    let plain = Counter::with_opts(utf8("plain_total", "P."))?;
    assert!(plain.desc().has_legacy_names());
    legacy.register(plain)?;

    let registry = Registry::with_name_validation(NameValidation::Utf8);
    registry.register(c.clone())?;
    // Still refused under UTF-8: empty and reserved label names, `le` on
    // histograms.
    for (labels, what) in [([""], "empty"), (["__x.y"], "reserved")] {
        let r = CounterVec::with_opts(utf8("x.y_total", "X."), labels);
        assert!(r.is_err(), "{what}: {r:?}");
    }
    assert!(Counter::with_opts(utf8("", "E.")).is_err());
    assert!(HistogramVec::with_opts(utf8("h.x", "H."), ["le"], &[1.0]).is_err());
    Ok(())
}

/// A registry with a UTF-8 counter family, a UTF-8 histogram, and a
/// legacy gauge beside them.
fn registry() -> TestResult<Registry> {
    let registry = Registry::with_name_validation(NameValidation::Utf8);
    let jobs = CounterVec::with_opts(utf8("jobs.done_total", "Jobs \"done\"."), ["queue.name"])?;
    let took = HistogramVec::with_opts(utf8("job.seconds", "Time."), ["ok"], &[0.5])?;
    let depth = Gauge::new("queue_depth", "Depth.")?;
    registry.register(jobs.clone())?;
    registry.register(took.clone())?;
    registry.register(depth.clone())?;
    jobs.with_label_values(["mail"]).inc_by(2);
    took.with_label_values(["yes"]).observe(0.25);
    depth.set(3.0);
    Ok(registry)
}

fn all_formats(snapshot: &Snapshot, escaping: Escaping) -> [Vec<u8>; 3] {
    let mut t = Vec::new();
    text::encode_escaped(snapshot, &mut t, escaping).unwrap();
    let mut o = Vec::new();
    openmetrics::encode_with(
        snapshot,
        &mut o,
        openmetrics::Options::new().escaping(escaping),
    )
    .unwrap();
    let mut p = Vec::new();
    protobuf::encode_escaped(snapshot, &mut p, escaping).unwrap();
    [t, o, p]
}

#[test]
fn gathered_utf8_names_are_quoted_or_escaped_in_every_format() -> TestResult {
    let registry = registry()?;
    let mut snapshot = registry.gather()?;
    // Encoded once as protobuf, then gathered again: what a server's
    // later scrapes find, with everything a gather renders ahead.
    protobuf::encode(&snapshot, &mut Vec::new())?;
    registry.gather_into(&mut snapshot)?;
    let families = snapshot.families().to_vec();
    for escaping in [
        Escaping::AllowUtf8,
        Escaping::Underscores,
        Escaping::Dots,
        Escaping::Values,
    ] {
        // The snapshot's rendered text never stands in for escaped names:
        // the same as the plain families.
        let cached = all_formats(&snapshot, escaping);
        let mut t = Vec::new();
        text::encode_escaped(&families, &mut t, escaping)?;
        assert_eq!(cached[0], t, "{escaping}");
        let text = String::from_utf8(t)?;
        // The legacy gauge is the same in every scheme.
        assert!(
            text.ends_with("# HELP queue_depth Depth.\n# TYPE queue_depth gauge\nqueue_depth 3\n"),
            "{escaping}: {text}"
        );
        let want = match escaping {
            Escaping::AllowUtf8 => "{\"jobs.done_total\",\"queue.name\"=\"mail\"} 2\n",
            Escaping::Underscores => "\njobs_done_total{queue_name=\"mail\"} 2\n",
            Escaping::Dots => "\njobs_dot_done__total{queue_dot_name=\"mail\"} 2\n",
            _ => "\nU__jobs_2e_done__total{U__queue_2e_name=\"mail\"} 2\n",
        };
        assert!(text.contains(want), "{escaping}: {text}");
    }
    let [text, om, _] = all_formats(&snapshot, Escaping::AllowUtf8);
    assert_eq!(
        String::from_utf8(text)?,
        "# HELP \"job.seconds\" Time.\n# TYPE \"job.seconds\" histogram\n\
         {\"job.seconds_bucket\",ok=\"yes\",le=\"0.5\"} 1\n\
         {\"job.seconds_bucket\",ok=\"yes\",le=\"+Inf\"} 1\n\
         {\"job.seconds_sum\",ok=\"yes\"} 0.25\n\
         {\"job.seconds_count\",ok=\"yes\"} 1\n\
         # HELP \"jobs.done_total\" Jobs \"done\".\n# TYPE \"jobs.done_total\" counter\n\
         {\"jobs.done_total\",\"queue.name\"=\"mail\"} 2\n\
         # HELP queue_depth Depth.\n# TYPE queue_depth gauge\nqueue_depth 3\n"
    );
    let om = String::from_utf8(om)?;
    assert!(
        om.contains(
            "# HELP \"jobs.done\" Jobs \\\"done\\\".\n# TYPE \"jobs.done\" counter\n\
             {\"jobs.done_total\",\"queue.name\"=\"mail\"} 2.0\n"
        ),
        "{om}"
    );
    Ok(())
}
