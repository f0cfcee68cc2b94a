//! Exposition formats: how a [`Snapshot`](crate::Snapshot) is written for a
//! scraper.
//!
//! - [`text`]: the Prometheus text format 0.0.4, byte-identical to
//!   client_golang's output for the same families.

mod format;
pub mod text;
