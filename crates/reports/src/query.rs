//! Ad-hoc SQL over one tenant's tables, for analysts and data engineers.
//!
//! The query sees exactly the tenant's tables: `assessments`, `questions`, `options`, `exams`,
//! `question_counts` and `option_counts`.
//! Table functions that read files (`read_parquet`, `read_csv`, ...) are refused, so a query
//! cannot reach data outside the tenant's tables by path.

use std::io::Cursor;

use examlake_core::{Storage, TenantId};
use polars::prelude::*;

use crate::error::{ReportsError, Result};
use crate::tables::TenantTables;

/// How to encode the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryOutput {
    Table,
    Csv,
    Json,
    Parquet,
}

/// Table functions that would read outside the registered tables.
const FILE_FUNCTIONS: [&str; 4] = ["read_parquet", "read_csv", "read_json", "read_ipc"];

/// Run `sql` over the tenant's tables and encode the result.
pub fn run_query(
    store: &dyn Storage,
    tenant: &TenantId,
    name: &str,
    sql: &str,
    output: QueryOutput,
) -> Result<Vec<u8>> {
    let lowered = sql.to_lowercase();
    if let Some(function) = FILE_FUNCTIONS.iter().find(|f| lowered.contains(*f)) {
        return Err(ReportsError::Query {
            query: name.to_string(),
            source: PolarsError::ComputeError(
                format!("{function} is not allowed: queries see only the tenant's tables").into(),
            ),
        });
    }
    let tables = TenantTables::load(store, tenant)?;
    let mut df = tables.query(name, sql)?;
    let encode_error = |source| ReportsError::Query {
        query: name.to_string(),
        source,
    };
    Ok(match output {
        QueryOutput::Table => format!("{df}\n").into_bytes(),
        QueryOutput::Csv => crate::report::frame_to_csv(&df).into_bytes(),
        QueryOutput::Json => (serde_json::to_string_pretty(&crate::report::frame_to_json(&df))
            .unwrap_or_default()
            + "\n")
            .into_bytes(),
        QueryOutput::Parquet => {
            let mut bytes = Cursor::new(Vec::new());
            ParquetWriter::new(&mut bytes)
                .finish(&mut df)
                .map_err(encode_error)?;
            bytes.into_inner()
        }
    })
}
