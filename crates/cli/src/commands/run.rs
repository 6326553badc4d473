//! `examlake run`: ingest a file, transform, write every report.

use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::Utc;
use examlake_core::{storage, TenantId};
use examlake_ingest::DEFAULT_MAX_RECORD_BYTES;
use examlake_reports::{run as run_reports, ReportRunConfig, ReportRunOutput};
use examlake_transform::TransformConfig;

use super::{ingest, transform};
use crate::cli::RunArgs;

pub fn run(args: &RunArgs, quiet: bool) -> Result<()> {
    let output = run_pipeline(
        &args.input,
        &args.tenant,
        &args.warehouse.warehouse,
        &args.reports,
        quiet,
    )?;
    if let Some(dir) = &output.dir {
        println!(
            "reports for {}: {} files in {}",
            args.tenant,
            output.files.len(),
            dir.display()
        );
    }
    Ok(())
}

/// The three stages for one tenant and one input file.
pub fn run_pipeline(
    input: &Path,
    tenant: &TenantId,
    warehouse: &str,
    reports: &Path,
    quiet: bool,
) -> Result<ReportRunOutput> {
    let landed = ingest::ingest_file(
        input,
        tenant,
        warehouse,
        100_000,
        DEFAULT_MAX_RECORD_BYTES,
        quiet,
    )?;
    ingest::print_summary(&landed, tenant);
    let store = storage::open(warehouse)?;
    let summary =
        transform::transform_tenant(store.as_ref(), TransformConfig::new(tenant.clone()), quiet)?;
    transform::print_summary(&summary);
    let today = Utc::now().date_naive();
    let config = ReportRunConfig::all(tenant.clone(), PathBuf::from(reports), today);
    Ok(run_reports(&config, store.as_ref())?)
}
