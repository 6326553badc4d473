//! `examlake query FILE.sql --tenant T`: an analyst's own SQL over one tenant's tables.

use anyhow::Result;
use examlake_core::storage;
use examlake_reports::query::{run_query, QueryOutput};

use crate::cli::{QueryArgs, QueryFormat};
use crate::exit::UsageError;

/// Whether failing SQL was reaching outside the tenant: a file-reading function, a `tenant=`
/// directory, a path, or another registered tenant's name.
fn reaches_outside(sql: &str, others: &[examlake_core::TenantId]) -> bool {
    let lowered = sql.to_lowercase();
    ["read_", "scan_", "tenant=", "/"]
        .iter()
        .any(|p| lowered.contains(p))
        || lowered
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .any(|word| others.iter().any(|t| t.as_str() == word))
}

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
    let token_file = args.token.token_file.as_deref();
    let what = format!("query {name} on tenant {}", args.tenant);
    crate::access::authorize(store.as_ref(), &args.tenant, token_file, &what)?;
    let bytes = match run_query(store.as_ref(), &args.tenant, &name, &sql, format) {
        Ok(bytes) => bytes,
        // With tokens in force, a query that fails by reaching outside the tenant's tables is a
        // refused attempt: audited, exit 6. Nothing of the other tenant was read.
        Err(error)
            if crate::access::gated(store.as_ref())?
                && reaches_outside(
                    &sql,
                    &crate::access::other_tenants(store.as_ref(), &args.tenant)?,
                ) =>
        {
            let reason = format!("the query reaches outside tenant {}: {error}", args.tenant);
            return Err(crate::access::refuse(
                store.as_ref(),
                &args.tenant,
                token_file,
                &what,
                &reason,
            ));
        }
        Err(error) => return Err(error.into()),
    };
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
