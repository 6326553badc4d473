//! The transform manifest (`tables/_manifest.json`): the commit point of incremental runs.
//!
//! It lists which part files make up each table, which raw files are already transformed, and the
//! running data-quality counts. A batch writes its new files first, then replaces the manifest
//! atomically; files no manifest names (a crash in between) are removed by the next run.

use std::collections::{BTreeMap, BTreeSet};

use examlake_core::layout::{self, Key, Table};
use examlake_core::{Storage, TenantId};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TransformError};
use crate::run::RawInput;

/// Bump when the meaning of the tables changes: an older manifest then triggers a full rebuild.
/// 5: `payload_hash` is XXH3-64 (was FNV-1a), so exact redeliveries are recognised across runs
/// only among tables of the same version.
pub const FORMAT_VERSION: u32 = 5;

/// The tables written in parts (one or two parts per batch); `exams` is rebuilt whole each run.
pub const PART_TABLES: [Table; 3] = [Table::Assessments, Table::Questions, Table::Options];

/// Tables written in parts too, each derived from its part of [`PART_TABLES`] alone.
pub const DERIVED_PART_TABLES: [Table; 2] = [Table::OptionCounts, Table::QuestionCounts];

/// Everything the transform knows about what it already did for one tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format_version: u32,
    /// Fingerprint of the data-quality rules the tables were built with; other rules rebuild.
    pub rules_fingerprint: String,
    /// Table name -> its files (what readers follow). Derived from `parts` on save.
    pub tables: BTreeMap<String, Vec<String>>,
    pub parts: Vec<Part>,
    pub next_part: u32,
    /// Raw files already transformed, with their lineage.
    pub processed: Vec<RawInput>,
    /// Running counts of every rule (see [`Counts`]).
    pub counts: Counts,
    /// Up to three examples per rule, the first ones seen.
    pub examples: BTreeMap<String, Vec<String>>,
    /// Rows of `exams` as last written.
    #[serde(default)]
    pub exams: usize,
}

/// A batch's output (or its latest arrivals): a part of each of assessments, questions and
/// options, and its quarantine (a batch's second part has an empty one).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Part {
    pub id: u32,
    /// Incremented each time the part is rewritten without attempts that a later batch superseded.
    pub generation: u32,
    pub assessments: usize,
    pub questions: usize,
    pub options: usize,
    /// Kept attempts of this part flagged `counts_consistent = false` / with no summary counts.
    /// (Absent from format 1 manifests, which are rebuilt anyway.)
    #[serde(default)]
    pub counts_mismatches: usize,
    #[serde(default)]
    pub counts_missing: usize,
}

/// Cumulative rule counts over every raw record transformed so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Counts {
    pub raw_records: usize,
    pub schema_violations: usize,
    pub test_records: usize,
    pub exact_duplicates_dropped: usize,
    pub superseded_versions: usize,
}

impl Part {
    pub fn key(&self, tenant: &TenantId, table: Table) -> Key {
        layout::table_part_file(tenant, table, self.id, self.generation)
    }

    pub fn quarantine_key(&self, tenant: &TenantId) -> Key {
        layout::transform_quarantine_part(tenant, self.id)
    }
}

impl Manifest {
    /// A manifest for a first (or full) build.
    pub fn empty(rules_fingerprint: String) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            rules_fingerprint,
            ..Default::default()
        }
    }

    /// The tenant's manifest, if any.
    pub fn load(store: &dyn Storage, tenant: &TenantId) -> Result<Option<Manifest>> {
        let key = layout::tables_manifest_file(tenant);
        if !store.exists(&key)? {
            return Ok(None);
        }
        let bytes = store.read(&key)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| TransformError::Manifest {
                key: key.to_string(),
                detail: e.to_string(),
            })
    }

    /// Commit: replace the manifest atomically, with `tables` derived from `parts`.
    pub fn save(&mut self, store: &dyn Storage, tenant: &TenantId) -> Result<()> {
        let (key, bytes) = self.encode(tenant)?;
        store.write_atomic(&key, &bytes)?;
        Ok(())
    }

    /// The manifest as it is now, with `tables` derived from `parts`, and where it goes: what
    /// [`Manifest::save`] writes.
    pub fn encode(&mut self, tenant: &TenantId) -> Result<(Key, Vec<u8>)> {
        self.tables = self.table_files(tenant);
        Ok((
            layout::tables_manifest_file(tenant),
            serde_json::to_vec_pretty(self)?,
        ))
    }

    fn table_files(&self, tenant: &TenantId) -> BTreeMap<String, Vec<String>> {
        let mut tables: BTreeMap<String, Vec<String>> = PART_TABLES
            .iter()
            .chain(&DERIVED_PART_TABLES)
            .map(|table| {
                let files = self
                    .parts
                    .iter()
                    .map(|part| part.key(tenant, *table).to_string())
                    .collect();
                (table.name().to_string(), files)
            })
            .collect();
        tables.insert(
            Table::Exams.name().to_string(),
            vec![layout::table_file(tenant, Table::Exams).to_string()],
        );
        tables.insert(
            "quarantine".to_string(),
            self.parts
                .iter()
                .map(|part| part.quarantine_key(tenant).to_string())
                .collect(),
        );
        tables
    }

    /// Every file this manifest names.
    pub fn referenced(&self, tenant: &TenantId) -> BTreeSet<String> {
        self.table_files(tenant).into_values().flatten().collect()
    }

    /// Raw keys already transformed.
    pub fn processed_keys(&self) -> BTreeSet<&str> {
        self.processed.iter().map(|r| r.key.as_str()).collect()
    }

    pub fn part_mut(&mut self, id: u32) -> Option<&mut Part> {
        self.parts.iter_mut().find(|p| p.id == id)
    }

    /// Add an example for `rule`, keeping the first three.
    pub fn add_examples(&mut self, rule: &str, examples: Vec<String>) {
        let kept = self.examples.entry(rule.to_string()).or_default();
        for example in examples {
            if kept.len() < 3 {
                kept.push(example);
            }
        }
    }
}

/// Remove part files that no manifest names: leftovers of a run that crashed before committing,
/// older generations of rewritten parts, and the one-file tables of an older layout; and the
/// unfinished writes a killed run left in these directories (only a transform writes there, and
/// this one has no write in flight when it cleans up).
pub fn remove_unreferenced(
    store: &dyn Storage,
    tenant: &TenantId,
    manifest: &Manifest,
) -> Result<usize> {
    let referenced = manifest.referenced(tenant);
    let mut removed = 0;
    let dirs = PART_TABLES
        .iter()
        .chain(&DERIVED_PART_TABLES)
        .map(|table| layout::table_dir(tenant, *table))
        .chain([layout::transform_quarantine_dir(tenant)]);
    for dir in dirs {
        for key in store.list(&dir)? {
            if key.as_str().ends_with(".parquet") && !referenced.contains(key.as_str()) {
                store.delete(&key)?;
                removed += 1;
            }
        }
        for key in store.list_unfinished(&dir)? {
            store.delete(&key)?;
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_format_1_manifest_still_loads_so_the_run_can_rebuild() {
        // Format 1 had no per-part flagged counts and no exams row count.
        let format_1 = r#"{
            "format_version": 1,
            "rules_fingerprint": "f5e2f3ae06c95f45",
            "tables": {},
            "parts": [{"id": 0, "generation": 1, "assessments": 9, "questions": 40, "options": 160}],
            "next_part": 1,
            "processed": [{"key": "tenant=t/raw/date=2026-11-28/file-a-000000000001-000000000010.parquet",
                           "source": "file:a#1", "partition": 0, "rows": 10,
                           "first_position": 1, "last_position": 10}],
            "counts": {"raw_records": 10, "schema_violations": 0, "test_records": 1,
                       "exact_duplicates_dropped": 0, "superseded_versions": 0},
            "examples": {}
        }"#;
        let manifest: Manifest = serde_json::from_str(format_1).expect("format 1 loads");
        assert_eq!(manifest.format_version, 1);
        assert_ne!(manifest.format_version, FORMAT_VERSION);
        assert_eq!(manifest.parts[0].counts_mismatches, 0);
        assert_eq!(manifest.processed.len(), 1);
    }
}
