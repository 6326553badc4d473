//! examlake ingest: land attempt events, unchanged, as raw Parquet in a tenant's warehouse root.
//!
//! Every record read becomes exactly one row: landed in `raw/` (tenant, source, partition,
//! position, received time, the original bytes), or quarantined in `quarantine/ingest/` with
//! the same columns plus its reason. Nothing is dropped: read = landed + quarantined.
//!
//! Files are landed in batches named after their position range, and a re-run resumes after the
//! last landed batch, so landing the same input twice lands it once.
//!
//! This crate must not depend on `transform` or `reports`.

mod batch_writer;
mod error;
pub mod file;
pub mod kafka;
mod raw_batch;
mod records;
mod validate;

pub use error::{IngestError, Result};
pub use file::{run_file, FileIngestConfig, IngestSummary};
pub use raw_batch::RawBatch;
pub use validate::{check_record, DEFAULT_MAX_RECORD_BYTES};
