//! One tenant's curated tables, registered for Polars SQL under their plain names.
//!
//! Only the tables of the tenant asked for are registered, so a query can name
//! `assessments`, `questions` and `exams` and nothing else: no other tenant's data is reachable.

use std::io::Cursor;

use examlake_core::layout::{self, Key, Table};
use examlake_core::{table_files, Storage, TenantId};
use polars::prelude::*;
use polars::sql::SQLContext;

use crate::error::{ReportsError, Result};

/// The tenant's tables, loaded once per run.
pub struct TenantTables {
    pub tenant: TenantId,
    frames: Vec<(Table, DataFrame)>,
}

impl TenantTables {
    /// Load every curated table of `tenant`.
    pub fn load(store: &dyn Storage, tenant: &TenantId) -> Result<Self> {
        let frames = Table::ALL
            .into_iter()
            .map(|table| Ok((table, read_table(store, tenant, table)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(TenantTables {
            tenant: tenant.clone(),
            frames,
        })
    }

    pub fn frame(&self, table: Table) -> &DataFrame {
        // Every table is loaded in `load`, so the lookup cannot miss.
        &self
            .frames
            .iter()
            .find(|(t, _)| *t == table)
            .unwrap_or(&self.frames[0])
            .1
    }

    /// A SQL context that knows exactly this tenant's tables.
    pub fn sql_context(&self) -> SQLContext {
        let context = SQLContext::new();
        for (table, df) in &self.frames {
            context.register(table.name(), df.clone().lazy());
        }
        context
    }

    /// Run one query to a DataFrame.
    pub fn query(&self, name: &str, sql: &str) -> Result<DataFrame> {
        let query_error = |source| ReportsError::Query {
            query: name.to_string(),
            source,
        };
        self.sql_context()
            .execute(sql)
            .and_then(LazyFrame::collect)
            .map_err(query_error)
    }
}

fn read_table(store: &dyn Storage, tenant: &TenantId, table: Table) -> Result<DataFrame> {
    let keys = table_files::table_keys(store, tenant, table)?.ok_or_else(|| {
        ReportsError::MissingTable {
            table: table.name(),
            tenant: tenant.to_string(),
            warehouse: store.url(),
        }
    })?;
    let parts = keys
        .iter()
        .map(|key| read_part(store, key).map(DataFrame::lazy))
        .collect::<Result<Vec<_>>>()?;
    let read_error = |source| ReportsError::ReadTable {
        key: layout::table_dir(tenant, table).to_string(),
        source,
    };
    concat(parts, UnionArgs::default())
        .and_then(LazyFrame::collect)
        .map_err(read_error)
}

/// One Parquet file of a table.
fn read_part(store: &dyn Storage, key: &Key) -> Result<DataFrame> {
    let bytes = store.read(key)?;
    ParquetReader::new(Cursor::new(bytes))
        .finish()
        .map_err(|source| ReportsError::ReadTable {
            key: key.to_string(),
            source,
        })
}
