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
    /// Every payload, back to back: one growing buffer instead of one allocation per record.
    payload_bytes: Vec<u8>,
    /// Where each payload ends in `payload_bytes`.
    payload_ends: Vec<usize>,
    /// Present for quarantine batches: why each record was refused.
    pub reasons: Option<Vec<String>>,
}

impl RawBatch {
    pub fn new(tenant: TenantId, source: String, partition: i32, quarantine: bool) -> Self {
        RawBatch {
            tenant,
            source,
            partition,
            received_at: Utc::now(),
            positions: Vec::new(),
            payload_bytes: Vec::new(),
            payload_ends: Vec::new(),
            reasons: quarantine.then(Vec::new),
        }
    }

    /// The filled batch, leaving in its place an empty one of the same source and kind, sized
    /// like it. Its buffers come from `spare` (a landed batch) when given, so the next batch
    /// does not fault in fresh memory.
    pub fn take_filled(&mut self, spare: Option<RawBatch>) -> RawBatch {
        let quarantine = self.reasons.is_some();
        let (tenant, source) = (self.tenant.clone(), self.source.clone());
        let mut empty = match spare {
            Some(mut spare) => {
                spare.clear();
                spare.tenant = tenant;
                spare.source = source;
                spare.partition = self.partition;
                spare.reasons = quarantine.then(|| spare.reasons.take().unwrap_or_default());
                spare
            }
            None => RawBatch::new(tenant, source, self.partition, quarantine),
        };
        empty.reserve_like(self.len(), self.n_bytes());
        std::mem::replace(self, empty)
    }

    /// Make room for a batch like one of `records` records and `bytes` payload bytes, plus a
    /// quarter (sized from the batch before, so the buffers need not grow by doubling into
    /// fresh memory while they fill).
    fn reserve_like(&mut self, records: usize, bytes: usize) {
        reserve_total(&mut self.positions, records);
        reserve_total(&mut self.payload_ends, records);
        reserve_total(&mut self.payload_bytes, bytes);
    }

    pub fn push(&mut self, position: i64, payload: &[u8], reason: Option<String>) {
        if self.positions.is_empty() {
            self.received_at = Utc::now();
        }
        self.positions.push(position);
        self.payload_bytes.extend_from_slice(payload);
        self.payload_ends.push(self.payload_bytes.len());
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

    /// The payload bytes held.
    pub fn n_bytes(&self) -> usize {
        self.payload_bytes.len()
    }

    /// The payloads, in push order.
    pub fn payloads(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.payload_ends.iter().copied());
        starts
            .zip(&self.payload_ends)
            .map(|(start, &end)| &self.payload_bytes[start..end])
    }

    /// Forget the records (after they were written).
    pub fn clear(&mut self) {
        self.positions.clear();
        self.payload_bytes.clear();
        self.payload_ends.clear();
        if let Some(reasons) = self.reasons.as_mut() {
            reasons.clear();
        }
    }

    /// The batch as a DataFrame in the raw schema.
    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        self.rows_frame(0..self.len())
    }

    /// Rows `rows` of the batch as a DataFrame in the raw schema (the payloads copied).
    fn rows_frame(&self, rows: std::ops::Range<usize>) -> PolarsResult<DataFrame> {
        let n = rows.len();
        let received_us = self.received_at.timestamp_micros();
        let payloads: Vec<&[u8]> = self.payloads().skip(rows.start).take(n).collect();
        let mut columns = vec![
            Column::new(raw::TENANT.into(), vec![self.tenant.as_str(); n]),
            Column::new(raw::SOURCE.into(), vec![self.source.as_str(); n]),
            Column::new(raw::PARTITION.into(), vec![self.partition; n]),
            Column::new(raw::POSITION.into(), self.positions[rows.clone()].to_vec()),
            Column::new(raw::RECEIVED_AT.into(), vec![received_us; n]).cast(
                &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
            )?,
            Column::new(raw::PAYLOAD.into(), payloads),
        ];
        if let Some(reasons) = &self.reasons {
            columns.push(Column::new(raw::REASON.into(), reasons[rows].to_vec()));
        }
        DataFrame::new(n, columns)
    }

    /// The batch encoded as a Parquet file compressed with zstd level 1: payloads are JSON text
    /// that compresses well even at the fastest level, and compression at the default level was
    /// a third of the Kafka landing time (profiled). Measured on 1M attempts landed from Kafka:
    /// zstd-1 wrote 380 MB in 14.3 s, LZ4 973 MB in 15.1 s, uncompressed 2.5 GB in 18.6 s (the
    /// bytes written cost more than the compression saves).
    ///
    /// The rows are copied into frames and written a row group of [`ROW_GROUP_BYTES`] payload
    /// bytes at a time, so encoding holds a copy of one row group, not of the whole batch.
    pub fn to_parquet(&self) -> PolarsResult<Vec<u8>> {
        self.to_parquet_in_groups(ROW_GROUP_BYTES)
    }

    /// [`RawBatch::to_parquet`] with row groups of `group_bytes` payload bytes (the last row of
    /// a group is the one that reaches it).
    fn to_parquet_in_groups(&self, group_bytes: usize) -> PolarsResult<Vec<u8>> {
        let mut bytes = Cursor::new(Vec::new());
        let mut group = self.rows_frame(0..self.row_group_end(0, group_bytes))?;
        let mut writer = ParquetWriter::new(&mut bytes)
            .with_compression(ParquetCompression::Zstd(
                polars::polars_utils::compression::ZstdLevel::try_new(1).ok(),
            ))
            .batched(group.schema())?;
        let mut written = 0;
        loop {
            writer.write_batch(&group)?;
            written += group.height();
            if written >= self.len() {
                break;
            }
            group = self.rows_frame(written..self.row_group_end(written, group_bytes))?;
        }
        writer.finish()?;
        Ok(bytes.into_inner())
    }

    /// The end of the row group starting at row `start`: the row that reaches `group_bytes` of
    /// payloads is its last, or the batch's last row is.
    fn row_group_end(&self, start: usize, group_bytes: usize) -> usize {
        let before = start.checked_sub(1).map_or(0, |i| self.payload_ends[i]);
        let limit = before + group_bytes;
        let past = self.payload_ends[start..].partition_point(|&end| end < limit);
        (start + past + 1).min(self.len())
    }
}

/// Payload bytes per row group of a raw file: encoding copies one row group at a time.
const ROW_GROUP_BYTES: usize = 16 * 1024 * 1024;

/// Capacity for at least `total` items: a vector with less gets room for a quarter more, so a
/// reused buffer is replaced only when a batch outgrows it by that much. An empty vector gets a
/// new allocation rather than a reallocation, which would copy its whole old capacity.
fn reserve_total<T>(items: &mut Vec<T>, total: usize) {
    if items.capacity() >= total {
        return;
    }
    let wanted = total + total / 4;
    if items.is_empty() {
        *items = Vec::with_capacity(wanted);
    } else {
        items.reserve(wanted - items.len());
    }
}

/// Which files [`land_batch`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LandedFiles {
    pub quarantine_file: bool,
}

/// How often and how patiently a failed landing write is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retry {
    pub attempts: u32,
    pub first_delay: std::time::Duration,
}

impl Retry {
    /// Storage failures are retried with exponential backoff (0.25 s doubling to 10 s, about
    /// 65 s in all: long enough for an HDFS NameNode restart) before the error is returned.
    pub const STORAGE: Retry = Retry {
        attempts: 12,
        first_delay: std::time::Duration::from_millis(250),
    };

    /// Fail on the first error (tests).
    #[cfg(test)]
    pub const NEVER: Retry = Retry {
        attempts: 1,
        first_delay: std::time::Duration::ZERO,
    };
}

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
    retry: Retry,
) -> Result<LandedFiles> {
    retrying(retry, &landed.source, first, last, || {
        let files = batch_files(slug, first, last, landed, refused)?;
        for (key, bytes) in &files.files {
            store.write_atomic(key, bytes)?;
        }
        tracing::debug!(message = "landed batch", key = %files.raw_key(), first, last);
        Ok(files.landed())
    })
}

/// A batch's files, encoded, in the order they must appear: the quarantine file (if any record
/// was refused), then the raw file.
pub(crate) struct BatchFiles {
    pub files: Vec<(layout::Key, examlake_core::storage::Bytes)>,
}

impl BatchFiles {
    pub fn landed(&self) -> LandedFiles {
        LandedFiles {
            quarantine_file: self.files.len() > 1,
        }
    }

    pub fn raw_key(&self) -> String {
        self.files
            .last()
            .map(|(key, _)| key.to_string())
            .unwrap_or_default()
    }
}

/// Encode the files of the batch covering positions `first..=last` (see [`land_batch`]).
pub(crate) fn batch_files(
    slug: &str,
    first: i64,
    last: i64,
    landed: &RawBatch,
    refused: &RawBatch,
) -> Result<BatchFiles> {
    let date = Utc::now().date_naive();
    let mut files = Vec::with_capacity(2);
    if !refused.is_empty() {
        let key = layout::ingest_quarantine_file(&refused.tenant, date, slug, first, last);
        let bytes = encoded(&key, refused)?;
        files.push((key, bytes.into()));
    }
    let key = layout::raw_file(&landed.tenant, date, slug, first, last);
    let bytes = encoded(&key, landed)?;
    files.push((key, bytes.into()));
    Ok(BatchFiles { files })
}

/// Run `once` again while it fails on storage, up to `retry.attempts` times in all, waiting
/// twice as long each time (at most 10 s).
pub(crate) fn retrying<T>(
    retry: Retry,
    source: &str,
    first: i64,
    last: i64,
    mut once: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut delay = retry.first_delay;
    let mut attempt = 1;
    loop {
        match once() {
            Err(IngestError::Storage(error)) if attempt < retry.attempts => {
                tracing::warn!(message = "landing failed; retrying", source, first, last, attempt, retry_in_ms = delay.as_millis() as u64, %error);
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_secs(10));
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

fn encoded(key: &layout::Key, batch: &RawBatch) -> Result<Vec<u8>> {
    batch
        .to_parquet()
        .map_err(|source| IngestError::EncodeParquet {
            key: key.to_string(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_of(payloads: &[&str], quarantine: bool) -> RawBatch {
        let tenant = TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        let mut batch = RawBatch::new(tenant, "file:t".into(), 0, quarantine);
        for (position, payload) in (1..).zip(payloads) {
            let reason = quarantine.then(|| format!("reason {position}"));
            batch.push(position, payload.as_bytes(), reason);
        }
        batch
    }

    /// The file read back, and its number of row groups.
    fn read_back(bytes: Vec<u8>) -> (DataFrame, usize) {
        let mut reader = ParquetReader::new(Cursor::new(bytes));
        let groups = reader
            .get_metadata()
            .map(|m| m.row_groups.len())
            .unwrap_or_else(|e| panic!("{e}"));
        (reader.finish().unwrap_or_else(|e| panic!("{e}")), groups)
    }

    #[test]
    fn a_file_written_in_row_groups_holds_every_row_in_order() {
        let payloads: Vec<String> = (0..50).map(|i| format!(r#"{{"n":{i}}}"#)).collect();
        let payloads: Vec<&str> = payloads.iter().map(String::as_str).collect();
        for quarantine in [false, true] {
            let batch = batch_of(&payloads, quarantine);
            let whole = batch.to_frame().unwrap_or_else(|e| panic!("{e}"));
            // About 8 bytes a payload: 40 bytes make groups of 5 rows.
            let grouped = batch
                .to_parquet_in_groups(40)
                .unwrap_or_else(|e| panic!("{e}"));
            let (frame, groups) = read_back(grouped);
            assert!(frame.equals(&whole), "{frame} != {whole}");
            assert!(groups >= 8, "{groups} row groups");
            let (frame, groups) = read_back(batch.to_parquet().unwrap_or_else(|e| panic!("{e}")));
            assert!(frame.equals(&whole));
            assert_eq!(groups, 1);
        }
    }

    #[test]
    fn row_groups_end_at_the_row_that_reaches_the_size() {
        let batch = batch_of(&["aaaa", "bb", "cccccc", "d"], false);
        assert_eq!(batch.row_group_end(0, 5), 2); // 4 + 2 bytes reach 5
        assert_eq!(batch.row_group_end(0, 4), 1); // the first row alone
        assert_eq!(batch.row_group_end(2, 1), 3); // a row larger than a group is a group
        assert_eq!(batch.row_group_end(2, 100), 4); // the batch's end
        let empty = batch_of(&[], false);
        assert_eq!(empty.row_group_end(0, 5), 0);
        let (frame, _) = read_back(empty.to_parquet().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(frame.height(), 0);
        assert_eq!(frame.width(), 6);
    }
}
