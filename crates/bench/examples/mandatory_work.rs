//! The least per-record work any design of examlake must do, timed one step at a time on one
//! thread: ingest's check of each line (one JSON object, valid UTF-8), landing the lines as raw
//! zstd Parquet (what `RawBatch` writes), reading that raw file back, and parsing every payload
//! into a typed attempt (`parse_attempt`). Building and writing the tables is left out, so the
//! sum is a lower bound: on C cores, examlake's ingest + transform cannot take less wall time than
//! the sum divided by C. A second sum replaces the raw Parquet by bare zstd level 1 (compressing
//! and decompressing the same bytes, no Parquet around them): the least that landing the lines
//! compressed and reading them back can cost. The benchmark's speed targets are compared against
//! both.
//!
//! Run with `POLARS_MAX_THREADS=1` (so reading the raw file back stays on this thread) on an
//! otherwise idle machine; `bench/compare_transform.sh` runs it after the side-by-side table:
//! `POLARS_MAX_THREADS=1 $CARGO_TARGET_DIR/release/examples/mandatory_work bench-data/attempts-1000000.ndjson`

use std::io::{BufRead, BufReader, Cursor};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use examlake_core::schema::raw;
use examlake_core::TenantId;
use examlake_ingest::{check_record, RawBatch, DEFAULT_MAX_RECORD_BYTES};
use examlake_transform::parse::parse_attempt;
use examlake_transform::DataQualityRules;
use polars::prelude::*;

/// Lines per block: one raw file of a file ingest.
const BLOCK_LINES: usize = 25_000;

/// The bytes compressed at once by the bare zstd steps: a Parquet page.
const PAGE_BYTES: usize = 1 << 20;

/// Time spent in each step, summed over the blocks.
#[derive(Default)]
struct Steps {
    read: Duration,
    check: Duration,
    land: Duration,
    read_back: Duration,
    parse: Duration,
    bare_compress: Duration,
    bare_decompress: Duration,
}

/// A block of lines, back to back in one buffer.
#[derive(Default)]
struct Block {
    bytes: Vec<u8>,
    /// Where each line ends in `bytes`.
    ends: Vec<usize>,
}

impl Block {
    fn lines(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.bytes[start..end])
    }
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: POLARS_MAX_THREADS=1 mandatory_work FILE.ndjson");
        return ExitCode::from(2);
    };
    if std::env::var("POLARS_MAX_THREADS").as_deref() != Ok("1") {
        eprintln!("error: set POLARS_MAX_THREADS=1, so that every step runs on one thread");
        return ExitCode::from(2);
    }
    match measure(&path) {
        Ok((steps, lines, bytes)) => {
            print_steps(&steps, lines, bytes);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {path}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Run every step over the file, a block of lines at a time: (times, lines, bytes).
fn measure(path: &str) -> Result<(Steps, usize, usize), String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader = BufReader::with_capacity(128 << 10, file);
    let tenant = TenantId::parse("bench").map_err(|e| e.to_string())?;
    let rules = DataQualityRules::standard();
    let (mut steps, mut lines, mut bytes) = (Steps::default(), 0, 0);
    let mut block = Block::default();
    let mut batch = RawBatch::new(tenant, "file:bench".to_string(), 0, false);
    loop {
        let started = Instant::now();
        read_block(&mut reader, lines, &mut block).map_err(|e| e.to_string())?;
        steps.read += started.elapsed();
        if block.ends.is_empty() {
            return Ok((steps, lines, bytes));
        }
        bytes += block.bytes.len();
        lines += block.ends.len();
        run_block(&block, &mut batch, &rules, &mut steps)?;
    }
}

/// The next block of lines (without their line ends); empty at the end of the file.
/// The buffers of `block` are reused, as ingest reuses its batches' (fresh memory faults in).
fn read_block(
    reader: &mut impl BufRead,
    lines_before: usize,
    block: &mut Block,
) -> std::io::Result<()> {
    block.bytes.clear();
    block.ends.clear();
    while block.ends.len() < BLOCK_LINES {
        let start = block.bytes.len();
        if reader.read_until(b'\n', &mut block.bytes)? == 0 {
            break;
        }
        if block.bytes.last() == Some(&b'\n') {
            block.bytes.pop();
        }
        if block.bytes.len() == start {
            let at = lines_before + block.ends.len() + 1;
            return Err(std::io::Error::other(format!("line {at} is empty")));
        }
        block.ends.push(block.bytes.len());
    }
    Ok(())
}

/// Check, land (into `batch`, reused), read back and parse one block, adding each step's time to `steps`.
fn run_block(
    block: &Block,
    batch: &mut RawBatch,
    rules: &DataQualityRules,
    steps: &mut Steps,
) -> Result<(), String> {
    let started = Instant::now();
    let refused = block
        .lines()
        .filter(|line| check_record(line, DEFAULT_MAX_RECORD_BYTES).is_err())
        .count();
    steps.check += started.elapsed();

    let started = Instant::now();
    batch.clear();
    for (position, line) in (1..).zip(block.lines()) {
        batch.push(position, line, None);
    }
    let raw = batch.to_parquet().map_err(|e| e.to_string())?;
    steps.land += started.elapsed();

    let started = Instant::now();
    let df = ParquetReader::new(Cursor::new(raw))
        .finish()
        .map_err(|e| e.to_string())?;
    let payloads = df
        .column(raw::PAYLOAD)
        .and_then(|c| c.binary().cloned())
        .map_err(|e| e.to_string())?;
    steps.read_back += started.elapsed();

    let started = Instant::now();
    let unusable = payloads
        .iter()
        .map(|payload| parse_attempt(payload.unwrap_or_default(), rules))
        .filter(Result::is_err)
        .count();
    steps.parse += started.elapsed();
    if refused > block.ends.len() || unusable > block.ends.len() {
        return Err("more refusals than lines".to_string());
    }

    // In pages of 1 MiB, as Parquet compresses, into reused buffers.
    let started = Instant::now();
    let mut compressor = zstd::bulk::Compressor::new(1).map_err(|e| e.to_string())?;
    let compressed = block
        .bytes
        .chunks(PAGE_BYTES)
        .map(|page| compressor.compress(page))
        .collect::<std::io::Result<Vec<Vec<u8>>>>()
        .map_err(|e| e.to_string())?;
    steps.bare_compress += started.elapsed();
    let started = Instant::now();
    let mut decompressor = zstd::bulk::Decompressor::new().map_err(|e| e.to_string())?;
    let mut page = Vec::with_capacity(PAGE_BYTES);
    let mut restored = 0;
    for compressed_page in &compressed {
        restored += decompressor
            .decompress_to_buffer(compressed_page, &mut page)
            .map_err(|e| e.to_string())?;
    }
    steps.bare_decompress += started.elapsed();
    if restored != block.bytes.len() {
        return Err("zstd did not give the block back".to_string());
    }
    Ok(())
}

fn print_steps(steps: &Steps, lines: usize, bytes: usize) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // MB as `du -m` counts them (MiB), as the benchmark script does.
    let mb = bytes as f64 / (1024.0 * 1024.0);
    let row = |name: &str, took: Duration| {
        let s = took.as_secs_f64();
        println!("  {name:<36} {s:>7.2} s  {:>7.1} MB/s", mb / s.max(1e-9));
        s
    };
    println!("{lines} lines, {mb:.0} MB, each step on one thread:");
    let read = row("read the lines", steps.read);
    let check = row("check each line (ingest)", steps.check);
    let land = row("land raw zstd Parquet (ingest)", steps.land);
    let read_back = row("read raw back (transform)", steps.read_back);
    let parse = row("parse every payload (transform)", steps.parse);
    let compress = row("bare zstd-1 compress (least landing)", steps.bare_compress);
    let decompress = row(
        "bare zstd decompress (least reading)",
        steps.bare_decompress,
    );
    let sum = |name: &str, total: f64| {
        println!(
            "{name}: {total:.2} s on one thread, at least {:.2} s of wall time on {cores} cores, before any table is built or written",
            total / cores as f64
        );
    };
    sum("examlake's steps", read + check + land + read_back + parse);
    sum(
        "with bare zstd",
        read + check + compress + decompress + parse,
    );
}
