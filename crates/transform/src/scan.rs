//! Reading a tenant's raw files back from storage.

use std::io::Cursor;

use examlake_core::layout::{self, Key};
use examlake_core::schema::raw;
use examlake_core::{Storage, TenantId};
use polars::prelude::*;

use crate::error::{Result, TransformError};

/// All raw files of `tenant`, in key order.
pub fn raw_files(store: &dyn Storage, tenant: &TenantId) -> Result<Vec<Key>> {
    Ok(store
        .list(&layout::raw_dir(tenant))?
        .into_iter()
        .filter(|k| k.as_str().ends_with(".parquet"))
        .collect())
}

/// One raw file as a DataFrame, checked to have the raw schema.
pub fn read_raw(store: &dyn Storage, key: &Key) -> Result<DataFrame> {
    let bytes = store.read(key)?;
    let df = ParquetReader::new(Cursor::new(bytes))
        .finish()
        .map_err(|source| TransformError::ReadRaw {
            key: key.to_string(),
            source,
        })?;
    for (name, dtype) in [
        (raw::SOURCE, DataType::String),
        (raw::PARTITION, DataType::Int32),
        (raw::POSITION, DataType::Int64),
        (raw::PAYLOAD, DataType::Binary),
    ] {
        match df.schema().get(name) {
            Some(found) if *found == dtype => {}
            found => {
                return Err(TransformError::RawSchema {
                    key: key.to_string(),
                    detail: format!("column {name} should be {dtype}, found {found:?}"),
                })
            }
        }
    }
    Ok(df)
}
