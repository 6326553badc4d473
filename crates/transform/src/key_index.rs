//! Which part holds each kept attempt, by a 64-bit hash of its keen_id: lets a batch find the
//! attempts it may supersede or duplicate without reading every part.
//!
//! About 16 bytes per kept attempt (160 MB at 10M). Built at the start of a run from the parts'
//! `keen_id` columns (and the superseded versions in the quarantine parts), so it can never
//! disagree with the tables.

use std::collections::{BTreeSet, HashMap};

use examlake_core::fingerprint::fnv1a64;
use examlake_core::layout::Table;
use examlake_core::schema::assessments as a;
use examlake_core::{Storage, TenantId};
use polars::prelude::*;

use crate::data_quality::SUPERSEDED_VERSION;
use crate::error::{building, Result};
use crate::manifest::Manifest;
use crate::scan;

#[derive(Debug, Default)]
pub struct KeyIndex {
    /// keen_id hash -> the part holding the kept version.
    kept: HashMap<u64, u32>,
    /// The rare second part for a hash shared by two different keen_ids.
    kept_overflow: HashMap<u64, Vec<u32>>,
    /// keen_id hash -> parts whose quarantine holds a superseded version of it.
    superseded: HashMap<u64, Vec<u32>>,
}

/// What a batch must read back for the keen_ids it shares with earlier batches.
#[derive(Debug, Default)]
pub struct Touched {
    pub kept_parts: BTreeSet<u32>,
    pub superseded_parts: BTreeSet<u32>,
}

pub fn key_hash(keen_id: &str) -> u64 {
    fnv1a64(keen_id.bytes())
}

impl KeyIndex {
    /// Index every part the manifest names.
    pub fn load(store: &dyn Storage, tenant: &TenantId, manifest: &Manifest) -> Result<KeyIndex> {
        let mut index = KeyIndex::default();
        for part in &manifest.parts {
            let df = scan::read_table_file(
                store,
                &part.key(tenant, Table::Assessments),
                Some(&[a::KEEN_ID]),
            )?;
            for keen_id in keen_ids(&df)?.into_iter().flatten() {
                index.add_kept(key_hash(keen_id), part.id);
            }
            let quarantine = scan::read_table_file(
                store,
                &part.quarantine_key(tenant),
                Some(&["rule", a::KEEN_ID]),
            )?;
            let rules = quarantine
                .column("rule")
                .and_then(|c| c.str().cloned())
                .map_err(building("quarantine"))?;
            for (rule, keen_id) in rules.iter().zip(keen_ids(&quarantine)?) {
                if let (Some(SUPERSEDED_VERSION), Some(keen_id)) = (rule, keen_id) {
                    index.add_superseded(key_hash(keen_id), part.id);
                }
            }
        }
        Ok(index)
    }

    /// Record that `part` holds the kept version of the keen_id hashing to `hash`.
    pub fn add_kept(&mut self, hash: u64, part: u32) {
        match self.kept.get(&hash) {
            Some(&existing) if existing != part => {
                let extra = self.kept_overflow.entry(hash).or_default();
                if !extra.contains(&part) {
                    extra.push(part);
                }
            }
            _ => {
                self.kept.insert(hash, part);
            }
        }
    }

    /// Record that a keen_id's kept version moved to `part` (its old part no longer holds it).
    pub fn move_kept(&mut self, hash: u64, part: u32) {
        self.kept_overflow.remove(&hash);
        self.kept.insert(hash, part);
    }

    pub fn add_superseded(&mut self, hash: u64, part: u32) {
        let parts = self.superseded.entry(hash).or_default();
        if !parts.contains(&part) {
            parts.push(part);
        }
    }

    pub fn is_known(&self, hash: u64) -> bool {
        self.kept.contains_key(&hash) || self.superseded.contains_key(&hash)
    }

    /// The parts to read back for these keen_id hashes.
    pub fn touched<'a>(&self, hashes: impl Iterator<Item = &'a u64>) -> Touched {
        let mut touched = Touched::default();
        for hash in hashes {
            touched.kept_parts.extend(self.kept.get(hash));
            touched
                .kept_parts
                .extend(self.kept_overflow.get(hash).into_iter().flatten());
            touched
                .superseded_parts
                .extend(self.superseded.get(hash).into_iter().flatten());
        }
        touched
    }
}

fn keen_ids(df: &DataFrame) -> Result<Vec<Option<&str>>> {
    Ok(df
        .column(a::KEEN_ID)
        .and_then(|c| c.str())
        .map_err(building("assessments"))?
        .iter()
        .collect())
}
