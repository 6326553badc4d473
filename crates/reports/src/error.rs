//! The one error type of the reports crate.

use examlake_core::CoreError;

/// Result with [`ReportsError`] as the default error.
pub type Result<T, E = ReportsError> = std::result::Result<T, E>;

/// What went wrong producing a report, naming the report, query, table or file.
#[derive(Debug, thiserror::Error)]
pub enum ReportsError {
    #[error("table {table} of tenant {tenant} does not exist in {warehouse}: run `examlake transform` first")]
    MissingTable {
        table: &'static str,
        tenant: String,
        warehouse: String,
    },

    #[error("reading table {key}: {source}")]
    ReadTable {
        key: String,
        source: polars::error::PolarsError,
    },

    #[error("running query {query}: {source}")]
    Query {
        query: String,
        source: polars::error::PolarsError,
    },

    #[error("query {query} must return column {column}: {detail}")]
    QueryShape {
        query: String,
        column: &'static str,
        detail: String,
    },

    #[error("reading query file {path}: {source}")]
    ReadQuery {
        path: String,
        source: std::io::Error,
    },

    #[error("drawing chart {path}: {detail}")]
    Chart { path: String, detail: String },

    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },

    #[error(transparent)]
    Storage(#[from] CoreError),
}
