//! examlake transform: a tenant's raw Parquet in, clean analytic tables out.
//!
//! [`run`] reads every raw file of one tenant ([`scan`]), parses each payload with the lenient
//! event model into typed columns with an explicit schema ([`parse`], [`frames`]), applies the
//! data-quality rules as Polars lazy pipelines ([`tables`]), and writes `assessments`,
//! `questions`, `exams`, the transform quarantine and a data-quality summary ([`sink`]).
//! Each run rebuilds the tables from all raw data, so re-running is idempotent.
//!
//! This crate must not depend on `ingest` or `reports`, and never reads Kafka.

mod config;
pub mod data_quality;
mod error;
pub mod frames;
pub mod parse;
mod run;
pub mod scan;
mod sink;
pub mod tables;

pub use config::{DataQualityRules, TransformConfig};
pub use data_quality::{Status, Thresholds};
pub use error::{Result, TransformError};
pub use run::{run, DataQualitySummary};
