//! The one error type of the core crate.

use std::path::PathBuf;

/// Result with [`CoreError`] as the default error.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Everything that can go wrong in core: each variant names the value or path involved.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A tenant id that does not follow the rules of [`crate::TenantId`].
    #[error("invalid tenant id {value:?}: {reason}")]
    InvalidTenant { value: String, reason: &'static str },

    /// A warehouse key that would escape the warehouse root or is otherwise malformed.
    #[error("invalid warehouse key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },

    /// A transform manifest that cannot be read back.
    #[error("transform manifest {key} is unreadable: {detail}")]
    Manifest { key: String, detail: String },

    /// A warehouse URL this build cannot open.
    #[error("unsupported warehouse {url:?}: {reason}")]
    UnsupportedWarehouse { url: String, reason: String },

    /// An HDFS operation that failed (after the client's own retries).
    #[error("HDFS: {action} {url}: {message}")]
    Hdfs {
        action: &'static str,
        url: String,
        message: String,
    },

    /// The tenants registry could not be read or written.
    #[error("tenants registry: {0}")]
    Registry(String),

    /// An I/O failure on a concrete path.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl CoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| CoreError::Io {
            action,
            path,
            source,
        }
    }
}
