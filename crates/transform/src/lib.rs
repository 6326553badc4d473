//! examlake transform: a tenant's raw Parquet in, clean analytic tables out.
//!
//! [`run`] reads every raw file of one tenant ([`scan`]), parses each payload with the lenient
//! event model into typed columns with an explicit schema ([`parse`], [`frames`]), applies the
//! data-quality rules as Polars lazy pipelines ([`tables`]), and writes `assessments`,
//! `questions`, `options`, `exams`, the transform quarantine and a data-quality summary ([`sink`]).
//! Runs are incremental ([`manifest`]): only raw files no earlier run read are parsed, in bounded
//! batches ([`batch`]); re-running with nothing new is a no-op, and results equal a full rebuild.
//!
//! This crate must not depend on `ingest` or `reports`, and never reads Kafka.

mod batch;
mod compaction;
mod config;
pub mod data_quality;
mod error;
mod event_view;
pub mod frames;
mod key_index;
pub mod lock;
pub mod manifest;
pub mod parse;
mod part_map;
mod run;
pub mod scan;
mod sink;
mod spill_file;
mod stages;
pub mod tables;
mod threads;

pub use config::{
    DataQualityRules, TransformConfig, DEFAULT_BATCH_RECORDS, DEFAULT_INDEX_MEMORY_ATTEMPTS,
    DEFAULT_RECENT_PART_ATTEMPTS,
};
pub use data_quality::{Status, Thresholds};
pub use error::{Result, TransformError};
pub use run::{run, DataQualitySummary, RawInput, RunStats};
