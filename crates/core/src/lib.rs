//! examlake core: what every stage agrees on.
//!
//! - [`tenant`]: the validated [`TenantId`] that every path and topic name is built from.
//! - [`event`]: the lenient serde model of one attempt event (see `shared/data.md` for its traps).
//! - [`schema`]: column names of the raw and curated tables.
//! - [`layout`]: the only code that knows the warehouse directory scheme.
//! - [`table_files`]: which files make up each curated table (read from the transform manifest).
//! - [`storage`]: the storage seam ([`Storage`]) and its local-filesystem implementation;
//!   [`hdfs`] is the HDFS one (hdfs-native).
//!
//! This crate must not depend on polars, rdkafka, plotters or clap, so that every stage
//! can use it without paying for the others.

pub mod error;
pub mod event;
pub mod fingerprint;
pub mod hdfs;
pub mod interner;
pub mod layout;
pub mod process;
pub mod registry;
pub mod schema;
pub mod storage;
pub mod table_files;
pub mod tenant;

pub use error::{CoreError, Result};
pub use storage::Storage;
pub use tenant::TenantId;
