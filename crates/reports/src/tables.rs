//! One tenant's curated tables, registered for Polars SQL under their plain names.
//!
//! Only the tables of the tenant asked for are registered, so a query can name
//! `assessments`, `questions` and `exams` and nothing else: no other tenant's data is reachable.

use std::io::Cursor;

use examlake_core::layout::{self, Key, Table};
use examlake_core::{table_files, Storage, TenantId};
use polars::prelude::*;
use polars::sql::SQLContext;
use std::sync::OnceLock;

use crate::error::{ReportsError, Result};

/// The tenant's tables, each read from the warehouse the first time a query names it.
pub struct TenantTables<'s> {
    pub tenant: TenantId,
    store: &'s dyn Storage,
    frames: [OnceLock<DataFrame>; 4],
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
            frames: Default::default(),
        })
    }

    /// One table, read on first use.
    pub fn frame(&self, table: Table) -> Result<&DataFrame> {
        let slot = &self.frames[Table::ALL.iter().position(|t| *t == table).unwrap_or(0)];
        if let Some(df) = slot.get() {
            return Ok(df);
        }
        let df = read_table(self.store, &self.tenant, table)?;
        Ok(slot.get_or_init(|| df))
    }

    /// A SQL context that knows exactly this tenant's tables (those `sql` names are read).
    pub fn sql_context(&self, sql: &str) -> Result<SQLContext> {
        let context = SQLContext::new();
        for table in tables_named(sql) {
            context.register(table.name(), self.frame(table)?.clone().lazy());
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
