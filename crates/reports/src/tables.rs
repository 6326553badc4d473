//! One tenant's curated tables, registered for Polars SQL under their plain names.
//!
//! Only the tables of the tenant asked for are registered, so a query can name
//! `assessments`, `questions` and `exams` and nothing else: no other tenant's data is reachable.

use examlake_core::layout::{self, Table};
use examlake_core::{table_files, Storage, TenantId};
use polars::prelude::*;
use polars::sql::SQLContext;
use polars_buffer::Buffer;
use std::sync::{Arc, OnceLock};

use crate::error::{ReportsError, Result};

/// The tenant's tables. Each table's Parquet bytes are read from the warehouse the first time a
/// query names it; every query then scans them lazily, so Polars decodes only the columns and row
/// groups that query needs (at 1M attempts the options table alone is 16.7M rows).
pub struct TenantTables<'s> {
    pub tenant: TenantId,
    store: &'s dyn Storage,
    files: [OnceLock<ScanSources>; Table::ALL.len()],
}

impl<'s> TenantTables<'s> {
    /// The tables of `tenant`; fails early when the tenant has never been transformed.
    pub fn load(store: &'s dyn Storage, tenant: &TenantId) -> Result<Self> {
        if table_files::table_keys(store, tenant, Table::Assessments)?.is_none() {
            return Err(ReportsError::MissingTable {
                table: Table::Assessments.name(),
                tenant: tenant.to_string(),
                warehouse: store.url(),
            });
        }
        Ok(TenantTables {
            tenant: tenant.clone(),
            store,
            files: Default::default(),
        })
    }

    /// One table as a lazy scan (its files are read on first use).
    pub fn frame(&self, table: Table) -> Result<LazyFrame> {
        let slot = &self.files[Table::ALL.iter().position(|t| *t == table).unwrap_or(0)];
        let sources = match slot.get() {
            Some(sources) => sources.clone(),
            None => {
                let read = read_table_files(self.store, &self.tenant, table)?;
                slot.get_or_init(|| read).clone()
            }
        };
        let scan_error = |source| ReportsError::ReadTable {
            key: layout::table_dir(&self.tenant, table).to_string(),
            source,
        };
        // The tenant is already known: no Hive columns from paths (in-memory buffers have none).
        let args = ScanArgsParquet {
            hive_options: HiveOptions::new_disabled(),
            ..ScanArgsParquet::default()
        };
        LazyFrame::scan_parquet_sources(sources, args).map_err(scan_error)
    }

    /// A SQL context that knows exactly this tenant's tables (those `sql` names are read).
    pub fn sql_context(&self, sql: &str) -> Result<SQLContext> {
        let context = SQLContext::new();
        for table in tables_named(sql) {
            context.register(table.name(), self.frame(table)?);
        }
        Ok(context)
    }

    /// Run one query to a DataFrame.
    pub fn query(&self, name: &str, sql: &str) -> Result<DataFrame> {
        let query_error = |source| ReportsError::Query {
            query: name.to_string(),
            source,
        };
        self.sql_context(sql)?
            .execute(sql)
            .and_then(LazyFrame::collect)
            .map_err(query_error)
    }
}

/// The tables whose names occur in `sql` as whole words (a superset of those it reads: a name in
/// a comment or string only costs a read).
fn tables_named(sql: &str) -> Vec<Table> {
    let words: std::collections::HashSet<String> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_ascii_lowercase)
        .collect();
    Table::ALL
        .into_iter()
        .filter(|table| words.contains(table.name()))
        .collect()
}

/// Every Parquet file of a table, as the manifest lists them, read into memory (still encoded
/// and compressed: a few hundred MB at 1M attempts).
fn read_table_files(store: &dyn Storage, tenant: &TenantId, table: Table) -> Result<ScanSources> {
    let keys = table_files::table_keys(store, tenant, table)?.ok_or_else(|| {
        ReportsError::MissingTable {
            table: table.name(),
            tenant: tenant.to_string(),
            warehouse: store.url(),
        }
    })?;
    let buffers = keys
        .iter()
        .map(|key| store.read(key).map(Buffer::from_vec))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(ScanSources::Buffers(Arc::from(buffers)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tables_named_as_words_are_read() {
        assert_eq!(
            tables_named("SELECT * FROM questions q JOIN Assessments a ON q.keen_id = a.keen_id"),
            vec![Table::Assessments, Table::Questions]
        );
        assert_eq!(tables_named("SELECT exam_name FROM exams_view"), vec![]);
    }
}
