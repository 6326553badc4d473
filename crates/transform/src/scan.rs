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

/// A table file (a part, or a quarantine part), optionally only some columns.
pub fn read_table_file(
    store: &dyn Storage,
    key: &Key,
    columns: Option<&[&str]>,
) -> Result<DataFrame> {
    let bytes = store.read(key)?;
    let reader = ParquetReader::new(Cursor::new(bytes));
    let reader = match columns {
        Some(names) => reader.with_columns(Some(names.iter().map(|c| c.to_string()).collect())),
        None => reader,
    };
    reader.finish().map_err(|source| TransformError::ReadTable {
        key: key.to_string(),
        source,
    })
}

/// The raw payload at each lineage, read back from the raw files that hold them (`inputs` names
/// every known raw file with its source, partition and position range). A payload whose raw file
/// is gone (retired by retention) comes back as `None`.
pub fn payloads_at(
    store: &dyn Storage,
    inputs: &[crate::run::RawInput],
    wanted: &[crate::frames::Lineage],
) -> Result<Vec<Option<Vec<u8>>>> {
    use std::collections::BTreeMap;
    let mut by_file: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (idx, lineage) in wanted.iter().enumerate() {
        let holder = inputs.iter().find(|input| {
            input.source == lineage.source
                && input.partition.unwrap_or(lineage.partition) == lineage.partition
                && input
                    .first_position
                    .is_some_and(|first| first <= lineage.position)
                && input
                    .last_position
                    .is_some_and(|last| lineage.position <= last)
        });
        if let Some(input) = holder {
            by_file.entry(input.key.as_str()).or_default().push(idx);
        }
    }
    let mut payloads = vec![None; wanted.len()];
    for (file, indexes) in by_file {
        let key = Key::parse(file)?;
        if !store.exists(&key)? {
            continue;
        }
        let df = read_raw(store, &key)?;
        let subset: Vec<crate::frames::Lineage> =
            indexes.iter().map(|&i| wanted[i].clone()).collect();
        let found =
            payloads_in_frames(std::slice::from_ref(&df), &subset).map_err(|e| match e {
                TransformError::ReadRaw { source, .. } => TransformError::ReadRaw {
                    key: key.to_string(),
                    source,
                },
                other => other,
            })?;
        for (i, payload) in indexes.into_iter().zip(found) {
            payloads[i] = payload;
        }
    }
    Ok(payloads)
}

/// The payload at each lineage, looked up in raw frames already in memory.
pub fn payloads_in_frames(
    raw_frames: &[DataFrame],
    wanted: &[crate::frames::Lineage],
) -> Result<Vec<Option<Vec<u8>>>> {
    use std::collections::HashMap;
    let at: HashMap<(&str, i32, i64), usize> = wanted
        .iter()
        .enumerate()
        .map(|(i, l)| ((l.source.as_str(), l.partition, l.position), i))
        .collect();
    let mut payloads = vec![None; wanted.len()];
    if at.is_empty() {
        return Ok(payloads);
    }
    for df in raw_frames {
        let err = |source| TransformError::ReadRaw {
            key: "raw batch".to_string(),
            source,
        };
        let lineages = crate::frames::raw_lineages(df).map_err(err)?;
        let bytes = df
            .column(raw::PAYLOAD)
            .and_then(|c| c.binary().cloned())
            .map_err(err)?;
        for (lineage, payload) in lineages.iter().zip(bytes.iter()) {
            if let Some(&i) =
                at.get(&(lineage.source.as_str(), lineage.partition, lineage.position))
            {
                payloads[i] = payload.map(<[u8]>::to_vec);
            }
        }
    }
    Ok(payloads)
}
