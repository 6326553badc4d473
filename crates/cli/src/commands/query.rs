//! `examlake query FILE.sql --tenant T`: an analyst's own SQL over one tenant's tables.

use anyhow::Result;
use examlake_core::storage;
use examlake_reports::query::{run_query, QueryOutput};

use crate::cli::{QueryArgs, QueryFormat};
use crate::exit::UsageError;

pub fn query(args: &QueryArgs) -> Result<()> {
    let sql = std::fs::read_to_string(&args.file).map_err(|e| {
        UsageError(format!(
            "cannot read query file {}: {e}",
            args.file.display()
        ))
    })?;
    let format = match args.format {
        QueryFormat::Table => QueryOutput::Table,
        QueryFormat::Csv => QueryOutput::Csv,
        QueryFormat::Json => QueryOutput::Json,
        QueryFormat::Parquet => QueryOutput::Parquet,
    };
    if format == QueryOutput::Parquet && args.out.is_none() {
        return Err(UsageError("--format parquet needs --out FILE".to_string()).into());
    }
    let store = storage::open(&args.warehouse.warehouse)?;
    let name = args.file.display().to_string();
    let bytes = run_query(store.as_ref(), &args.tenant, &name, &sql, format)?;
    match &args.out {
        Some(path) => std::fs::write(path, &bytes)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?,
        None => {
            use std::io::Write;
            if let Err(e) = std::io::stdout().lock().write_all(&bytes) {
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e.into());
                }
            }
        }
    }
    Ok(())
}
