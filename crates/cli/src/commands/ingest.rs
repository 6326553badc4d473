//! `examlake ingest --from-file`

use anyhow::Result;
use examlake_core::storage;
use examlake_ingest::{run_file, FileIngestConfig, IngestSummary};

use crate::cli::IngestArgs;
use crate::exit::UsageError;
use crate::progress;

pub fn ingest(args: &IngestArgs, quiet: bool) -> Result<()> {
    let summary = ingest_file(
        &args.from_file,
        &args.tenant,
        &args.warehouse.warehouse,
        args.batch_records,
        args.max_record_bytes,
        quiet,
    )?;
    print_summary(&summary, &args.tenant);
    Ok(())
}

pub fn ingest_file(
    input: &std::path::Path,
    tenant: &examlake_core::TenantId,
    warehouse: &str,
    batch_records: usize,
    max_record_bytes: usize,
    quiet: bool,
) -> Result<IngestSummary> {
    if !input.is_file() {
        return Err(UsageError(format!("input file {} does not exist", input.display())).into());
    }
    if batch_records == 0 {
        return Err(UsageError("--batch-records must be at least 1".to_string()).into());
    }
    let store = storage::open(warehouse)?;
    let size = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
    let bar = progress::bar(size, &format!("ingesting {}", input.display()), true, quiet);
    let config = FileIngestConfig {
        tenant: tenant.clone(),
        input: input.to_path_buf(),
        batch_records,
        max_record_bytes,
    };
    let summary = run_file(&config, &store, &|done| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(summary)
}

pub fn print_summary(summary: &IngestSummary, tenant: &examlake_core::TenantId) {
    println!(
        "ingest {tenant} from {}: read {}, landed {}, quarantined {}{}",
        summary.source,
        summary.read,
        summary.landed,
        summary.quarantined,
        if summary.skipped > 0 {
            format!(", skipped {} already landed", summary.skipped)
        } else {
            String::new()
        }
    );
}
