//! Exposition formats: how gathered metrics are written for a scraper.
//!
//! - [`text`]: the Prometheus text format 0.0.4, byte-identical to
//!   client_golang's output for the same families.
//! - [`openmetrics`]: OpenMetrics 1.0 text, as client_golang writes it
//!   where that is valid OpenMetrics.
//! - [`protobuf`]: length-delimited `io.prometheus.client.MetricFamily`
//!   messages, client_golang's bytes for the same families.
//! - [`negotiate`]: which format (and name escaping) a scraper's `Accept`
//!   header asks for.
//!
//! Encoders take anything that is [`Families`]: a [`Snapshot`] (fastest:
//! it carries each series' label text, rendered when the labels last
//! changed), or plain `[MetricFamily]` / `Vec<MetricFamily>`.

use crate::registry::{LabelTexts, ProtobufTexts};
use crate::snapshot::{MetricFamily, Snapshot};

pub(crate) mod escape;
mod format;
pub mod negotiate;
pub mod openmetrics;
pub mod protobuf;
mod room;
pub mod text;

mod sealed {
    pub trait Sealed {}
}

/// Metric families an encoder can write: [`Snapshot`], `[MetricFamily]`,
/// `[MetricFamily; N]`, `Vec<MetricFamily>`, and references to them.
/// Sealed.
pub trait Families: sealed::Sealed {
    /// The families, in the order they are written.
    fn families(&self) -> &[MetricFamily];

    /// The rendered label blocks of a family's series, if cached
    /// (snapshots only).
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn label_texts(&self, _family: usize) -> Option<LabelTexts<'_>> {
        None
    }

    /// The `family`-th family's `# HELP` and `# TYPE` lines in the text
    /// format, if rendered ahead.
    #[doc(hidden)]
    fn header_text(&self, _family: usize) -> Option<&[u8]> {
        None
    }

    /// The `family`-th family's OpenMetrics `# HELP`, `# TYPE` and
    /// `# UNIT` lines for the type its name implies, if rendered ahead.
    #[doc(hidden)]
    fn header_text_om(&self, _family: usize) -> Option<&[u8]> {
        None
    }

    /// The label and created-timestamp fields of a family's series in
    /// protobuf, if rendered ahead (snapshots, once a protobuf encode
    /// asked for them).
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn protobuf_texts(&self, _family: usize) -> Option<ProtobufTexts<'_>> {
        None
    }
}

impl sealed::Sealed for Snapshot {}
impl Families for Snapshot {
    fn families(&self) -> &[MetricFamily] {
        Snapshot::families(self)
    }

    #[allow(private_interfaces)]
    fn label_texts(&self, family: usize) -> Option<LabelTexts<'_>> {
        Snapshot::label_texts(self, family)
    }

    fn header_text(&self, family: usize) -> Option<&[u8]> {
        Snapshot::header_text(self, family)
    }

    fn header_text_om(&self, family: usize) -> Option<&[u8]> {
        Snapshot::header_text_om(self, family)
    }

    #[allow(private_interfaces)]
    fn protobuf_texts(&self, family: usize) -> Option<ProtobufTexts<'_>> {
        Snapshot::protobuf_texts(self, family)
    }
}

impl sealed::Sealed for [MetricFamily] {}
impl Families for [MetricFamily] {
    fn families(&self) -> &[MetricFamily] {
        self
    }
}

impl<const N: usize> sealed::Sealed for [MetricFamily; N] {}
impl<const N: usize> Families for [MetricFamily; N] {
    fn families(&self) -> &[MetricFamily] {
        self
    }
}

impl sealed::Sealed for Vec<MetricFamily> {}
impl Families for Vec<MetricFamily> {
    fn families(&self) -> &[MetricFamily] {
        self
    }
}

impl<T: Families + ?Sized> sealed::Sealed for &T {}
impl<T: Families + ?Sized> Families for &T {
    fn families(&self) -> &[MetricFamily] {
        (**self).families()
    }

    #[allow(private_interfaces)]
    fn label_texts(&self, family: usize) -> Option<LabelTexts<'_>> {
        (**self).label_texts(family)
    }

    fn header_text(&self, family: usize) -> Option<&[u8]> {
        (**self).header_text(family)
    }

    fn header_text_om(&self, family: usize) -> Option<&[u8]> {
        (**self).header_text_om(family)
    }

    #[allow(private_interfaces)]
    fn protobuf_texts(&self, family: usize) -> Option<ProtobufTexts<'_>> {
        (**self).protobuf_texts(family)
    }
}
