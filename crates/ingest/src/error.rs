//! The one error type of the ingest crate.

use std::path::PathBuf;

use examlake_core::CoreError;

/// Result with [`IngestError`] as the default error.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;

/// What went wrong while ingesting, with the input or warehouse location involved.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("opening input {path}: {source}")]
    OpenInput {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("reading input {path} after record {position}: {source}")]
    ReadInput {
        path: PathBuf,
        position: i64,
        source: std::io::Error,
    },

    #[error("encoding raw Parquet for {key}: {source}")]
    EncodeParquet {
        key: String,
        source: polars::error::PolarsError,
    },

    #[error("kafka: {action} ({target}): {source}")]
    Kafka {
        action: &'static str,
        /// The brokers, topic or topic/partition involved.
        target: String,
        source: rdkafka::error::KafkaError,
    },

    #[error("kafka: {0}")]
    KafkaProtocol(String),

    #[error(transparent)]
    Storage(#[from] CoreError),

    #[error("positions {first}..={last} of {slug} not landed (they are read again next run): an earlier batch failed: {earlier}")]
    NotLanded {
        slug: String,
        first: i64,
        last: i64,
        earlier: String,
    },
}

impl IngestError {
    pub(crate) fn kafka(
        action: &'static str,
        target: impl Into<String>,
    ) -> impl FnOnce(rdkafka::error::KafkaError) -> Self {
        let target = target.into();
        move |source| IngestError::Kafka {
            action,
            target,
            source,
        }
    }
}
