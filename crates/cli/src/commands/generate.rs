//! `examlake generate`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use examlake_core::TenantId;
use examlake_synth::{generate as synth, Format, GenerateConfig};
use flate2::write::GzEncoder;

use crate::cli::{GenerateArgs, GenerateFormat};
use crate::exit::UsageError;
use crate::progress;

pub fn generate(args: &GenerateArgs, quiet: bool) -> Result<()> {
    if !(0.0..=1.0).contains(&args.counts_mismatch_rate) {
        return Err(UsageError(format!(
            "--counts-mismatch-rate {} is not between 0 and 1",
            args.counts_mismatch_rate
        ))
        .into());
    }
    let format = match args.format {
        GenerateFormat::Ndjson => Format::Ndjson,
        GenerateFormat::Json => Format::JsonArray,
    };
    for tenant in &args.tenants {
        let path = output_path(&args.out, tenant, args.tenants.len(), format)?;
        let config = GenerateConfig {
            tenant: tenant.clone(),
            attempts: args.attempts,
            seed: args.seed,
            format,
            counts_mismatch_rate: args.counts_mismatch_rate,
        };
        let bar = progress::bar(args.attempts, &format!("generating {tenant}"), false, quiet);
        let mut out = open(&path)?;
        let summary = synth(&config, &mut out, |done| bar.set_position(done))
            .with_context(|| format!("writing {}", path.display()))?;
        out.finish()
            .with_context(|| format!("writing {}", path.display()))?;
        bar.finish_and_clear();
        println!(
            "{}: {} attempts for tenant {tenant} ({} test records, {} repeated deliveries of which {} differ, {} with mismatched counts, {:.1} MB uncompressed)",
            path.display(),
            summary.attempts,
            summary.test_records,
            summary.duplicate_copies,
            summary.differing_copies,
            summary.counts_mismatches,
            summary.bytes as f64 / 1e6
        );
    }
    Ok(())
}

fn output_path(out: &Path, tenant: &TenantId, n_tenants: usize, format: Format) -> Result<PathBuf> {
    if n_tenants == 1 && !out.is_dir() {
        return Ok(out.to_path_buf());
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating output directory {}", out.display()))?;
    let extension = if format == Format::Ndjson {
        "ndjson"
    } else {
        "json"
    };
    Ok(out.join(format!("{tenant}.{extension}")))
}

/// A buffered file writer, gzip-compressed when the name ends in `.gz`.
enum Output {
    Plain(BufWriter<File>),
    Gzip(Box<GzEncoder<BufWriter<File>>>),
}

fn open(path: &Path) -> Result<Output> {
    let file = File::create(path)
        .map_err(|e| UsageError(format!("cannot create {}: {e}", path.display())))?;
    let writer = BufWriter::with_capacity(1 << 20, file);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Output::Gzip(Box::new(GzEncoder::new(
            writer,
            flate2::Compression::best(),
        )))
    } else {
        Output::Plain(writer)
    })
}

impl Output {
    fn finish(self) -> std::io::Result<()> {
        match self {
            Output::Plain(mut w) => w.flush(),
            Output::Gzip(gz) => gz.finish()?.flush(),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Plain(w) => w.write(buf),
            Output::Gzip(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Plain(w) => w.flush(),
            Output::Gzip(w) => w.flush(),
        }
    }
}
