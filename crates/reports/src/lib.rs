//! examlake reports: the canned reports that answer the customers' business questions.
//!
//! Each report runs an analyst-editable SQL file from `queries/` with Polars SQL over one
//! tenant's curated tables ([`tables`]), then adds what SQL cannot say plainly (ties, intervals,
//! flags) in Rust ([`reports`]). Output: a table printed as text, CSV, JSON or Markdown
//! ([`report`]), and per run a directory with a chart as PNG and SVG, CSV, JSON and a Markdown
//! summary per report ([`render`]).
//!
//! Reports read curated tables only, never raw data, and only the requested tenant's.
//! This crate must not depend on `ingest` or `transform`.

pub mod charts;
mod error;
pub mod html;
pub mod queries;
pub mod query;
pub mod render;
pub mod report;
pub mod reports;
mod run;
pub mod stats;
pub mod tables;

pub use error::{ReportsError, Result};
pub use report::{Format, Report};
pub use reports::{ReportName, ReportParams};
pub use run::{run, ReportRunConfig, ReportRunOutput};
