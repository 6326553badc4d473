//! Writing frames to the warehouse as Parquet, atomically.

use std::io::Cursor;

use examlake_core::layout::Key;
use examlake_core::Storage;
use polars::prelude::*;

use crate::error::{Result, TransformError};

/// Encode `df` as zstd Parquet and write it under `key` (temporary name, then rename).
pub fn write_parquet(store: &dyn Storage, key: &Key, df: &mut DataFrame) -> Result<()> {
    let mut bytes = Cursor::new(Vec::new());
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)
        .map_err(|source| TransformError::Write {
            key: key.to_string(),
            source,
        })?;
    store.write_atomic(key, &bytes.into_inner())?;
    Ok(())
}
