//! The `measured` 0.0.25 contender, on every workload. String label
//! values known at startup go through a `lasso::RodeoReader` set
//! (`fixed_with`), `measured`'s documented path for them: the labeled and
//! encode workloads look the values up there. Values not known up front
//! (the high-cardinality workload) are interned in a `lasso::ThreadedRodeo`
//! (`dynamic_with`). The process rows use `measured-process` 0.0.25.

use measured::metric::group::Encoding;
use measured::metric::histogram::Thresholds;
use measured::metric::name::MetricName;
use measured::metric::MetricFamilyEncoding;
use measured::text::BufferedTextEncoder;
use measured::{Counter, CounterVec, Histogram, HistogramVec, LabelGroup, MetricGroup};

#[derive(LabelGroup)]
#[label(set = RequestSet)]
pub struct Request<'a> {
    #[label(fixed_with = lasso::RodeoReader)]
    pub method: &'a str,
    #[label(fixed_with = lasso::RodeoReader)]
    pub code: &'a str,
}

pub fn counter() -> Counter {
    Counter::new()
}

/// A counter family over the labeled workloads' 6 x 3 values.
pub fn requests(methods: &[&str], codes: &[&str]) -> CounterVec<RequestSet> {
    let methods = lasso::Rodeo::from_iter(methods.iter().copied()).into_reader();
    let codes = lasso::Rodeo::from_iter(codes.iter().copied()).into_reader();
    CounterVec::with_label_set(RequestSet::new(methods, codes))
}

pub fn histogram(buckets: [f64; 11]) -> Histogram<11> {
    Histogram::with_metadata(Thresholds::with_buckets(buckets))
}

/// One label, `label`, over values known at startup (the encode workload).
#[derive(LabelGroup)]
#[label(set = ValueSet)]
pub struct Value<'a> {
    #[label(fixed_with = lasso::RodeoReader)]
    pub label: &'a str,
}

/// One label, `id`, over values not known up front (the high-cardinality
/// workload): interned on demand in a `lasso::ThreadedRodeo`.
#[derive(LabelGroup)]
#[label(set = IdSet)]
pub struct Id<'a> {
    #[label(dynamic_with = lasso::ThreadedRodeo, default)]
    pub id: &'a str,
}

fn value_set(values: &[String]) -> ValueSet {
    ValueSet::new(lasso::Rodeo::from_iter(values.iter().map(String::as_str)).into_reader())
}

/// The encode workload's registry: `measured` has none, so its families
/// sit in a list with their names, each written with its HELP and TYPE
/// lines into one `BufferedTextEncoder`, kept across scrapes as its docs
/// advise.
pub struct Scrape {
    counters: Vec<(&'static MetricName, CounterVec<ValueSet>)>,
    histograms: Vec<(&'static MetricName, HistogramVec<ValueSet, 11>)>,
    enc: BufferedTextEncoder,
}

impl Scrape {
    pub fn new() -> Self {
        Self {
            counters: Vec::new(),
            histograms: Vec::new(),
            enc: BufferedTextEncoder::new(),
        }
    }

    /// A counter family over `values`, value `i` incremented by `by(i)`.
    pub fn add_counter(&mut self, name: &str, values: &[String], by: impl Fn(usize) -> u64) {
        let fam = CounterVec::with_label_set(value_set(values));
        for (i, v) in values.iter().enumerate() {
            fam.inc_by(Value { label: v }, by(i));
        }
        self.counters.push((leak_name(name), fam));
    }

    /// A histogram family over `values`, value `i` observing `samples(i)`.
    pub fn add_histogram(
        &mut self,
        name: &str,
        values: &[String],
        buckets: [f64; 11],
        samples: impl Fn(usize) -> Vec<f64>,
    ) {
        let fam = HistogramVec::with_label_set_and_metadata(
            value_set(values),
            Thresholds::with_buckets(buckets),
        );
        for (i, v) in values.iter().enumerate() {
            for x in samples(i) {
                fam.observe(Value { label: v }, x);
            }
        }
        self.histograms.push((leak_name(name), fam));
    }

    /// One scrape: every family into the encoder; the text's length.
    pub fn encode(&mut self, help_counter: &str, help_histogram: &str) -> usize {
        for (name, fam) in &self.counters {
            let _ = self.enc.write_help(*name, help_counter);
            let _ = fam.collect_family_into(*name, &mut self.enc);
        }
        for (name, fam) in &self.histograms {
            let _ = self.enc.write_help(*name, help_histogram);
            let _ = fam.collect_family_into(*name, &mut self.enc);
        }
        self.enc.finish().len()
    }
}

/// Metric names are `&'static` in `measured`: the bench's 1,100 are leaked.
fn leak_name(name: &str) -> &'static MetricName {
    MetricName::from_str(Box::leak(name.to_owned().into_boxed_str()))
}

/// A fresh family with `values` inserted, one increment each.
pub fn high_cardinality(values: &[String]) -> CounterVec<IdSet> {
    let fam = CounterVec::with_label_set(IdSet::default());
    for v in values {
        fam.inc(Id { id: v });
    }
    fam
}

/// `measured-process` 0.0.25 under the `process` namespace, as its docs
/// show it.
#[derive(MetricGroup)]
#[metric(new())]
pub struct Process {
    #[metric(namespace = "process")]
    #[metric(init = measured_process::ProcessCollector::for_self())]
    process: measured_process::ProcessCollector,
}

/// One scrape of [`Process`] into a kept encoder; the text's length.
pub fn process_scrape(p: &Process, enc: &mut BufferedTextEncoder) -> usize {
    let _ = p.collect_group_into(enc);
    enc.finish().len()
}
