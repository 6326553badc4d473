//! The warehouse layout: the only code that knows the directory scheme.
//!
//! ```text
//! <warehouse>/tenant=<t>/raw/date=<yyyy-mm-dd>/<source>-<first>-<last>.parquet
//! <warehouse>/tenant=<t>/quarantine/ingest/date=<yyyy-mm-dd>/<source>-<first>-<last>.parquet
//! <warehouse>/tenant=<t>/quarantine/transform/part-<id>.parquet
//! <warehouse>/tenant=<t>/tables/<table>/part-<id>-g<generation>.parquet   (assessments, questions, options)
//! <warehouse>/tenant=<t>/tables/exams/data.parquet
//! <warehouse>/tenant=<t>/tables/_manifest.json       (which files make up each table: the commit point)
//! <warehouse>/tenant=<t>/tables/data_quality.json
//! <reports>/<t>/<yyyy-mm-dd>/...
//! ```
//! Every key starts with the tenant's own root, built from a validated [`TenantId`], so no
//! key built here can name another tenant's data.

use std::fmt;

use chrono::NaiveDate;

use crate::error::{CoreError, Result};
use crate::tenant::TenantId;

/// A relative, `/`-separated path inside a warehouse. Never absolute, never contains `..`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(String);

impl Key {
    /// Validate a relative key (used when reading listings back from storage).
    pub fn parse(value: &str) -> Result<Key> {
        let reject = |reason| CoreError::InvalidKey {
            key: value.to_string(),
            reason,
        };
        if value.is_empty() {
            return Err(reject("it is empty"));
        }
        if value.starts_with('/') || value.contains('\\') {
            return Err(reject("it must be relative and use '/'"));
        }
        if value
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        {
            return Err(reject("it has an empty, '.' or '..' segment"));
        }
        Ok(Key(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This key with one more segment.
    pub fn join(&self, segment: &str) -> Result<Key> {
        Key::parse(&format!("{}/{segment}", self.0))
    }

    /// The last segment.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// True when this key lies under `prefix` (segment-wise, so `tenant=a` is not under `tenant=ab`).
    pub fn is_under(&self, prefix: &Key) -> bool {
        self.0 == prefix.0 || self.0.starts_with(&format!("{}/", prefix.0))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The curated tables, named after what they hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Assessments,
    Questions,
    Options,
    OptionCounts,
    QuestionCounts,
    Exams,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Assessments,
        Table::Questions,
        Table::Options,
        Table::OptionCounts,
        Table::QuestionCounts,
        Table::Exams,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Assessments => "assessments",
            Table::Questions => "questions",
            Table::Options => "options",
            Table::OptionCounts => "option_counts",
            Table::QuestionCounts => "question_counts",
            Table::Exams => "exams",
        }
    }
}

/// The root of everything a tenant owns in the warehouse.
pub fn tenant_root(tenant: &TenantId) -> Key {
    Key(format!("tenant={tenant}"))
}

/// The directory of a tenant's raw landed files.
pub fn raw_dir(tenant: &TenantId) -> Key {
    Key(format!("tenant={tenant}/raw"))
}

/// A raw file: `source_slug` names the source (made safe by [`slug`]), `first`/`last` the
/// positions it holds. The name is deterministic, so landing the same batch twice overwrites the
/// same file instead of duplicating it.
pub fn raw_file(
    tenant: &TenantId,
    date: NaiveDate,
    source_slug: &str,
    first: i64,
    last: i64,
) -> Key {
    batch_file(&raw_dir(tenant), date, source_slug, first, last)
}

/// The directory of a tenant's ingest quarantine files.
pub fn ingest_quarantine_dir(tenant: &TenantId) -> Key {
    Key(format!("tenant={tenant}/quarantine/ingest"))
}

/// A quarantine file for records ingest refused, named like the raw file of the same batch.
pub fn ingest_quarantine_file(
    tenant: &TenantId,
    date: NaiveDate,
    source_slug: &str,
    first: i64,
    last: i64,
) -> Key {
    batch_file(
        &ingest_quarantine_dir(tenant),
        date,
        source_slug,
        first,
        last,
    )
}

/// `<dir>/date=<date>/<slug>-<first>-<last>.parquet`: the one naming scheme of landed batches.
fn batch_file(dir: &Key, date: NaiveDate, source_slug: &str, first: i64, last: i64) -> Key {
    Key(format!(
        "{dir}/date={date}/{}-{first:012}-{last:012}.parquet",
        slug(source_slug)
    ))
}

/// The directory of the records the transform refused.
pub fn transform_quarantine_dir(tenant: &TenantId) -> Key {
    Key(format!("tenant={tenant}/quarantine/transform"))
}

/// Records one transform batch refused (test records, schema violations, superseded duplicates).
pub fn transform_quarantine_part(tenant: &TenantId, part: u32) -> Key {
    Key(format!(
        "tenant={tenant}/quarantine/transform/part-{part:06}.parquet"
    ))
}

/// The directory of a curated table's files.
pub fn table_dir(tenant: &TenantId, table: Table) -> Key {
    Key(format!("tenant={tenant}/tables/{}", table.name()))
}

/// A whole-table file (`exams`, rebuilt each run from the other tables).
pub fn table_file(tenant: &TenantId, table: Table) -> Key {
    Key(format!(
        "tenant={tenant}/tables/{}/data.parquet",
        table.name()
    ))
}

/// One part of a table written by one transform batch. A part that must change (an attempt in it
/// was superseded later) is written again under the next `generation`, never overwritten.
pub fn table_part_file(tenant: &TenantId, table: Table, part: u32, generation: u32) -> Key {
    Key(format!(
        "tenant={tenant}/tables/{}/part-{part:06}-g{generation}.parquet",
        table.name()
    ))
}

/// The lock that keeps two transforms of one tenant apart (present while one runs).
pub fn transform_lock_file(tenant: &TenantId) -> Key {
    Key(format!("tenant={tenant}/tables/_transform.lock"))
}

/// The transform manifest: which files make up each table, and what has been transformed.
pub fn tables_manifest_file(tenant: &TenantId) -> Key {
    Key(format!("tenant={tenant}/tables/_manifest.json"))
}

/// The transform's keen_id index as the last run left it (a cache: rebuilt from the parts when
/// missing or stale).
pub fn key_index_file(tenant: &TenantId) -> Key {
    Key(format!("tenant={tenant}/tables/_key_index.bin"))
}

/// The data-quality summary of the last transform.
pub fn data_quality_file(tenant: &TenantId) -> Key {
    Key(format!("tenant={tenant}/tables/data_quality.json"))
}

/// The data-quality report of the last transform, as Markdown.
pub fn data_quality_markdown_file(tenant: &TenantId) -> Key {
    Key(format!("tenant={tenant}/tables/data_quality.md"))
}

/// The tenants present in a warehouse listing of top-level directory names.
pub fn tenant_of_root(dir_name: &str) -> Option<TenantId> {
    dir_name
        .strip_prefix("tenant=")
        .and_then(|t| TenantId::parse(t).ok())
}

/// Every tenant with a root in the warehouse.
pub fn tenants(store: &dyn crate::Storage) -> Result<Vec<TenantId>> {
    Ok(store
        .root_dirs()?
        .iter()
        .filter_map(|name| tenant_of_root(name))
        .collect())
}

/// Relative report directory for one tenant and run date: `<tenant>/<date>`.
pub fn report_dir(tenant: &TenantId, date: NaiveDate) -> String {
    format!("{tenant}/{date}")
}

/// Make any source name safe as a file-name prefix: keep `[a-z0-9.-]`, map the rest to `-`.
pub fn slug(source: &str) -> String {
    let mapped: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c| c == '-' || c == '.');
    if trimmed.is_empty() {
        "source".to_string()
    } else {
        trimmed.chars().take(80).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(name: &str) -> TenantId {
        TenantId::parse(name).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn raw_file_names_carry_source_and_offsets() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default();
        let key = raw_file(&tenant("acme"), date, "kafka:assessments.acme/p2", 100, 199);
        assert_eq!(
            key.as_str(),
            "tenant=acme/raw/date=2026-11-27/kafka-assessments.acme-p2-000000000100-000000000199.parquet"
        );
        assert!(key.is_under(&tenant_root(&tenant("acme"))));
        assert!(!key.is_under(&tenant_root(&tenant("acm"))));
    }

    #[test]
    fn keys_cannot_escape() {
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "./a", "a\\b", ".."] {
            assert!(Key::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(slug("../../etc"), "etc");
        assert_eq!(slug("file:My Data.json"), "file-my-data.json");
    }
}
