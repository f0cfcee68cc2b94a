//! The `measured` 0.0.25 contender, for the workloads it has an idiomatic
//! form of. String label values known at startup go through a
//! `lasso::RodeoReader` set (`fixed_with`), `measured`'s documented path
//! for them: the labeled workloads look the values up there.

use measured::metric::histogram::Thresholds;
use measured::{Counter, CounterVec, Histogram, LabelGroup};

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
