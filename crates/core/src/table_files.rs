//! Which files make up each curated table of a tenant, as committed by the last transform.
//!
//! The transform writes new files first and then replaces `tables/_manifest.json` atomically, so
//! a reader that follows the manifest sees either the old or the new tables, never a mix. The
//! manifest holds more (the transform's own state); readers only need its `tables` map.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{CoreError, Result};
use crate::layout::{self, Key, Table};
use crate::storage::Storage;
use crate::tenant::TenantId;

#[derive(Debug, Deserialize)]
struct CommittedTables {
    tables: BTreeMap<String, Vec<String>>,
}

/// The files of `table` for `tenant`; `None` when the tenant has never been transformed.
/// Warehouses written before the manifest existed (one `data.parquet` per table) still read.
pub fn table_keys(
    store: &dyn Storage,
    tenant: &TenantId,
    table: Table,
) -> Result<Option<Vec<Key>>> {
    let manifest = layout::tables_manifest_file(tenant);
    if !store.exists(&manifest)? {
        let single = layout::table_file(tenant, table);
        return Ok(store.exists(&single)?.then(|| vec![single]));
    }
    let bytes = store.read(&manifest)?;
    let committed: CommittedTables =
        serde_json::from_slice(&bytes).map_err(|e| CoreError::Manifest {
            key: manifest.to_string(),
            detail: e.to_string(),
        })?;
    let Some(files) = committed.tables.get(table.name()) else {
        return Ok(None);
    };
    let root = layout::tenant_root(tenant);
    files
        .iter()
        .map(|file| {
            let key = Key::parse(file)?;
            if key.is_under(&root) {
                Ok(key)
            } else {
                Err(CoreError::InvalidKey {
                    key: file.clone(),
                    reason: "a manifest may only name files under its own tenant's root",
                })
            }
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}
