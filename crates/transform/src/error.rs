//! The one error type of the transform crate.

use examlake_core::CoreError;

/// Result with [`TransformError`] as the default error.
pub type Result<T, E = TransformError> = std::result::Result<T, E>;

/// What went wrong in the transform, naming the file or table involved.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("reading raw file {key}: {source}")]
    ReadRaw {
        key: String,
        source: polars::error::PolarsError,
    },

    #[error("reading table file {key}: {source}")]
    ReadTable {
        key: String,
        source: polars::error::PolarsError,
    },

    #[error("transform manifest {key} is unreadable: {detail} (remove it to rebuild every table from raw)")]
    Manifest { key: String, detail: String },

    #[error("cannot rebuild tenant {tenant} from raw: {count} raw files it transformed earlier were retired by retention (e.g. {example}); the tables still hold their attempts, so keep applying new files incrementally instead")]
    RetiredRaw {
        tenant: String,
        count: usize,
        example: String,
    },

    #[error("tenant {tenant} is being transformed by another run ({holder}; lock {key}): wait for it to end, or pass --break-lock if that run is known to be gone")]
    Locked {
        tenant: String,
        key: String,
        holder: String,
    },

    #[error("raw file {key} does not have the raw schema: {detail}")]
    RawSchema { key: String, detail: String },

    #[error("building table {table}: {source}")]
    Build {
        table: &'static str,
        source: polars::error::PolarsError,
    },

    #[error("writing {key}: {source}")]
    Write {
        key: String,
        source: polars::error::PolarsError,
    },

    /// The keen_id index's scratch file (the message names it).
    #[error("keen_id index: {0}")]
    KeyIndex(std::io::Error),

    #[error("encoding the data-quality summary: {0}")]
    Summary(#[from] serde_json::Error),

    #[error(transparent)]
    Storage(#[from] CoreError),
}

/// Attach the table name to a Polars error.
pub(crate) fn building(
    table: &'static str,
) -> impl FnOnce(polars::error::PolarsError) -> TransformError {
    move |source| TransformError::Build { table, source }
}
