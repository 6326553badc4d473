//! Ingest from a file (NDJSON or a JSON array, optionally gzip-compressed).
//!
//! Records are landed in batches; each batch covers a position range and is written as a
//! quarantine file (if any record was refused) and then a raw file for the same range. The raw
//! file is written last and always, so "the highest landed raw position" is a complete resume
//! point: a re-run skips everything up to it and lands nothing twice.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use examlake_core::{layout, Storage, TenantId};
use flate2::read::MultiGzDecoder;

use crate::batch_writer::{BatchWriter, LandJob, LandOutcome};
use crate::error::{IngestError, Result};
use crate::raw_batch::{RawBatch, Retry};
use crate::records::Records;
use crate::validate::check_record;

/// What to ingest and where.
#[derive(Debug, Clone)]
pub struct FileIngestConfig {
    /// The tenant the file belongs to (never read from the payload).
    pub tenant: TenantId,
    /// An NDJSON file or a JSON array file; gzip is detected from its magic bytes.
    pub input: PathBuf,
    /// Records per raw file.
    pub batch_records: usize,
    /// Records longer than this are quarantined.
    pub max_record_bytes: usize,
}

/// Counts of one ingest run: `read == landed + quarantined + skipped`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestSummary {
    pub source: String,
    pub read: u64,
    pub landed: u64,
    pub quarantined: u64,
    /// Already landed by an earlier run of the same input (resumed past).
    pub skipped: u64,
    pub raw_files: u64,
    pub quarantine_files: u64,
}

/// Land every record of `config.input` in `store` under the tenant's root.
/// `progress` receives the input bytes consumed so far.
pub fn run_file(
    config: &FileIngestConfig,
    store: &Arc<dyn Storage>,
    progress: &dyn Fn(u64),
) -> Result<IngestSummary> {
    let source = source_name(&config.input)?;
    let slug = layout::slug(&source);
    let resume_after = landed_up_to(store.as_ref(), &config.tenant, &slug)?;
    let (mut records, consumed) = open_records(&config.input)?;

    let mut summary = IngestSummary {
        source: source.clone(),
        ..IngestSummary::default()
    };
    let mut batches = Batches::new(config.tenant.clone(), source.clone(), slug);
    let mut writer = BatchWriter::spawn(store.clone(), Retry::STORAGE, 1);
    let mut batch_first = None;
    let mut last_position = 0;
    while let Some(record) = records
        .next_record()
        .map_err(|e| read_error(config, last_position, e))?
    {
        summary.read += 1;
        last_position = record.position;
        if record.position <= resume_after {
            summary.skipped += 1;
            continue;
        }
        batch_first.get_or_insert(record.position);
        let verdict = match record.framing_error {
            Some(reason) => Err(reason),
            None => check_record(&record.bytes, config.max_record_bytes),
        };
        match verdict {
            Ok(()) => batches.landed.push(record.position, &record.bytes, None),
            Err(reason) => batches
                .refused
                .push(record.position, &record.bytes, Some(reason)),
        }
        if batches.landed.len() >= config.batch_records || batches.n_bytes() >= MAX_BATCH_BYTES {
            let first = batch_first.take().unwrap_or(record.position);
            let job = batches.take(first, record.position);
            let landed_now = writer.submit(job, store.as_ref());
            for outcome in landed_now.into_iter().chain(writer.finished()) {
                batches.count(outcome, &mut summary)?;
            }
            progress(consumed.get());
        }
    }
    if let Some(first) = batch_first {
        let job = batches.take(first, last_position);
        if let Some(outcome) = writer.submit(job, store.as_ref()) {
            batches.count(outcome, &mut summary)?;
        }
    }
    for outcome in writer.wait_all() {
        batches.count(outcome, &mut summary)?;
    }
    progress(consumed.get());
    Ok(summary)
}

/// The batch being filled from one input, and a landed batch's buffers kept for reuse.
struct Batches {
    slug: String,
    landed: RawBatch,
    refused: RawBatch,
    spare: Option<RawBatch>,
}

impl Batches {
    fn new(tenant: TenantId, source: String, slug: String) -> Self {
        Batches {
            landed: RawBatch::new(tenant.clone(), source.clone(), 0, false),
            refused: RawBatch::new(tenant, source, 0, true),
            slug,
            spare: None,
        }
    }

    fn n_bytes(&self) -> usize {
        self.landed.n_bytes() + self.refused.n_bytes()
    }

    /// The filled batch as a job for positions `first..=last`; empty batches take its place.
    fn take(&mut self, first: i64, last: i64) -> LandJob {
        LandJob {
            slug: self.slug.clone(),
            first,
            last,
            landed: self.landed.take_filled(self.spare.take()),
            refused: self.refused.take_filled(None),
        }
    }

    /// Add a landed job to the summary and keep its buffers; a failed one is the run's error.
    fn count(&mut self, outcome: LandOutcome, summary: &mut IngestSummary) -> Result<()> {
        let files = outcome.result?;
        let job = outcome.job;
        summary.quarantined += job.refused.len() as u64;
        summary.landed += job.landed.len() as u64;
        summary.quarantine_files += u64::from(files.quarantine_file);
        summary.raw_files += 1;
        self.spare = Some(job.landed);
        Ok(())
    }
}

/// Open an NDJSON or JSON-array file (gzip detected) as a stream of records, with a counter of
/// the input bytes consumed so far (for progress by file size).
pub(crate) fn open_records(path: &Path) -> Result<(Records<Box<dyn BufRead>>, SharedCount)> {
    let counter = ByteCounter::open(path)?;
    let consumed = counter.consumed.clone();
    let reader = decoder(counter, path)?;
    let records = Records::detect(reader).map_err(|source| IngestError::ReadInput {
        path: path.to_path_buf(),
        position: 0,
        source,
    })?;
    Ok((records, consumed))
}

/// A batch is also cut at this many payload bytes, bounding memory.
const MAX_BATCH_BYTES: usize = 256 * 1024 * 1024;

/// The highest position already landed from this source, from the raw file names themselves.
fn landed_up_to(store: &dyn Storage, tenant: &TenantId, slug: &str) -> Result<i64> {
    let prefix = format!("{slug}-");
    let last = store
        .list(&layout::raw_dir(tenant))?
        .iter()
        .filter_map(|key| {
            key.file_name()
                .strip_prefix(&prefix)?
                .strip_suffix(".parquet")
                .map(str::to_string)
        })
        .filter_map(|range| range.rsplit('-').next()?.parse::<i64>().ok())
        .max();
    Ok(last.unwrap_or(0))
}

/// `file:<name>#<fingerprint>`: the name plus a fingerprint of the content's head and size, so two
/// different files with the same name are different sources, and a re-run of one file is not.
fn source_name(path: &Path) -> Result<String> {
    let open_error = |source| IngestError::OpenInput {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(open_error)?;
    let size = file.metadata().map_err(open_error)?.len();
    let mut head = vec![0u8; 64 * 1024];
    let n = read_up_to(&mut file, &mut head).map_err(open_error)?;
    let fingerprint =
        examlake_core::fingerprint::fnv1a64(head[..n].iter().copied().chain(size.to_le_bytes()));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    Ok(format!("file:{name}#{:08x}", fingerprint as u32))
}

fn read_up_to(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn decoder(counter: ByteCounter, path: &Path) -> Result<Box<dyn BufRead>> {
    let mut buffered = BufReader::with_capacity(1 << 20, counter);
    let magic = buffered
        .fill_buf()
        .map_err(|source| IngestError::OpenInput {
            path: path.to_path_buf(),
            source,
        })?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            MultiGzDecoder::new(buffered),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

fn read_error(config: &FileIngestConfig, position: i64, source: std::io::Error) -> IngestError {
    IngestError::ReadInput {
        path: config.input.clone(),
        position,
        source,
    }
}

/// Counts the bytes read from the input file, for progress by file size.
struct ByteCounter {
    file: File,
    consumed: SharedCount,
}

#[derive(Clone, Default)]
pub(crate) struct SharedCount(Arc<std::sync::atomic::AtomicU64>);

impl SharedCount {
    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl ByteCounter {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| IngestError::OpenInput {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ByteCounter {
            file,
            consumed: SharedCount::default(),
        })
    }
}

impl Read for ByteCounter {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read(buf)?;
        self.consumed
            .0
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}
