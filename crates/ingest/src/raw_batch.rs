//! A batch of received records, encoded as one raw (or quarantine) Parquet file.
//!
//! The raw format is the contract between ingest (from files or Kafka) and the transform:
//! columns `core::schema::raw::*`, the payload as the exact bytes received.

use std::io::Cursor;

use chrono::{DateTime, Utc};
use examlake_core::schema::raw;
use examlake_core::TenantId;
use polars::prelude::*;

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

    /// The batch encoded as a zstd-compressed Parquet file.
    pub fn to_parquet(&self) -> PolarsResult<Vec<u8>> {
        let mut df = self.to_frame()?;
        let mut bytes = Cursor::new(Vec::new());
        ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)?;
        Ok(bytes.into_inner())
    }
}
