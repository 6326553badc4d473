//! A batch of received records, encoded as one raw (or quarantine) Parquet file.
//!
//! The raw format is the contract between ingest (from files or Kafka) and the transform:
//! columns `core::schema::raw::*`, the payload as the exact bytes received.

use std::io::Cursor;

use chrono::{DateTime, Utc};
use examlake_core::schema::raw;
use examlake_core::{layout, Storage, TenantId};
use polars::prelude::*;

use crate::error::{IngestError, Result};

/// Records received together from one source partition, in position order.
#[derive(Debug, Clone)]
pub struct RawBatch {
    pub tenant: TenantId,
    pub source: String,
    pub partition: i32,
    pub received_at: DateTime<Utc>,
    pub positions: Vec<i64>,
    pub payloads: Vec<Vec<u8>>,
    /// Present for quarantine batches: why each record was refused.
    pub reasons: Option<Vec<String>>,
    pub n_bytes: usize,
}

impl RawBatch {
    pub fn new(tenant: TenantId, source: String, partition: i32, quarantine: bool) -> Self {
        RawBatch {
            tenant,
            source,
            partition,
            received_at: Utc::now(),
            positions: Vec::new(),
            payloads: Vec::new(),
            reasons: quarantine.then(Vec::new),
            n_bytes: 0,
        }
    }

    pub fn push(&mut self, position: i64, payload: Vec<u8>, reason: Option<String>) {
        if self.positions.is_empty() {
            self.received_at = Utc::now();
        }
        self.n_bytes += payload.len();
        self.positions.push(position);
        self.payloads.push(payload);
        if let (Some(reasons), Some(reason)) = (self.reasons.as_mut(), reason) {
            reasons.push(reason);
        }
    }

    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Forget the records (after they were written).
    pub fn clear(&mut self) {
        self.positions.clear();
        self.payloads.clear();
        if let Some(reasons) = self.reasons.as_mut() {
            reasons.clear();
        }
        self.n_bytes = 0;
    }

    /// The batch as a DataFrame in the raw schema.
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let n = self.len();
        let received_us = self.received_at.timestamp_micros();
        let payloads: Vec<&[u8]> = self.payloads.iter().map(Vec::as_slice).collect();
        let mut columns = vec![
            Column::new(raw::TENANT.into(), vec![self.tenant.as_str(); n]),
            Column::new(raw::SOURCE.into(), vec![self.source.as_str(); n]),
            Column::new(raw::PARTITION.into(), vec![self.partition; n]),
            Column::new(raw::POSITION.into(), self.positions.clone()),
            Column::new(raw::RECEIVED_AT.into(), vec![received_us; n]).cast(
                &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
            )?,
            Column::new(raw::PAYLOAD.into(), payloads),
        ];
        if let Some(reasons) = &self.reasons {
            columns.push(Column::new(raw::REASON.into(), reasons.clone()));
        }
        DataFrame::new(n, columns)
    }

    /// The batch encoded as a Parquet file compressed with zstd level 1: payloads are JSON text
    /// that compresses well even at the fastest level, and compression at the default level was
    /// a third of the Kafka landing time (profiled).
    pub fn to_parquet(&self) -> PolarsResult<Vec<u8>> {
        let mut df = self.to_frame()?;
        let mut bytes = Cursor::new(Vec::new());
        ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Zstd(
                polars::polars_utils::compression::ZstdLevel::try_new(1).ok(),
            ))
            .finish(&mut df)?;
        Ok(bytes.into_inner())
    }
}

/// Which files [`land_batch`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LandedFiles {
    pub quarantine_file: bool,
}

/// Storage failures are retried with exponential backoff (0.25 s doubling to 10 s, about 65 s
/// in all: long enough for an HDFS NameNode restart) before the error is returned.
const LAND_ATTEMPTS: u32 = 12;

/// Land one batch covering positions `first..=last` of a source: its quarantine file first (if
/// any record was refused), then its raw file, always, even when empty. The raw file is written
/// last, so its name is a complete resume point. Each write is atomic and names are
/// deterministic, so a retry after a failure half-way rewrites the same files.
pub(crate) fn land_batch(
    store: &dyn Storage,
    slug: &str,
    first: i64,
    last: i64,
    landed: &RawBatch,
    refused: &RawBatch,
) -> Result<LandedFiles> {
    let mut delay = std::time::Duration::from_millis(250);
    let mut attempt = 1;
    loop {
        match land_batch_once(store, slug, first, last, landed, refused) {
            Err(IngestError::Storage(error)) if attempt < LAND_ATTEMPTS => {
                tracing::warn!(message = "landing failed; retrying", source = %landed.source, first, last, attempt, retry_in_ms = delay.as_millis() as u64, %error);
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_secs(10));
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

fn land_batch_once(
    store: &dyn Storage,
    slug: &str,
    first: i64,
    last: i64,
    landed: &RawBatch,
    refused: &RawBatch,
) -> Result<LandedFiles> {
    let date = Utc::now().date_naive();
    let quarantine_file = !refused.is_empty();
    if quarantine_file {
        let key = layout::ingest_quarantine_file(&refused.tenant, date, slug, first, last);
        write_batch(store, &key, refused)?;
    }
    let key = layout::raw_file(&landed.tenant, date, slug, first, last);
    write_batch(store, &key, landed)?;
    tracing::debug!(message = "landed batch", key = %key, first, last);
    Ok(LandedFiles { quarantine_file })
}

fn write_batch(store: &dyn Storage, key: &layout::Key, batch: &RawBatch) -> Result<()> {
    let bytes = batch
        .to_parquet()
        .map_err(|source| IngestError::EncodeParquet {
            key: key.to_string(),
            source,
        })?;
    store.write_atomic(key, &bytes)?;
    Ok(())
}
