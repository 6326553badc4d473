//! Which part holds each kept attempt, by a 64-bit hash of its keen_id: lets a batch find the
//! attempts it may supersede or duplicate without reading every part.
//!
//! About 14 bytes per kept attempt (a hash map took 19-39: 285 MB at 10M). Built at the start of a
//! run from the parts' `keen_id` columns (and the superseded versions in the quarantine parts), so
//! it can never disagree with the tables.

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
    kept: PartMap,
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
        match self.kept.get(hash) {
            Some(existing) if existing != part => {
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
        self.kept.get(hash).is_some() || self.superseded.contains_key(&hash)
    }

    /// The parts to read back for these keen_id hashes.
    pub fn touched<'a>(&self, hashes: impl Iterator<Item = &'a u64>) -> Touched {
        let mut touched = Touched::default();
        for hash in hashes {
            touched.kept_parts.extend(self.kept.get(*hash));
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

/// A map from 64-bit hash to part, compact: 256 shards by the hash's top byte, each a sorted
/// array (12 bytes an entry) plus a small hash map of new entries, merged into the array once it
/// holds an eighth as many, with a directory of buckets of about 16 entries for lookups. About 14
/// bytes an entry, and a merge copies one shard only, so the index never doubles in one step as a
/// growing hash map does.
#[derive(Debug)]
struct PartMap {
    shards: Vec<Shard>,
}

#[derive(Debug, Default)]
struct Shard {
    /// Sorted, with `parts` beside it.
    hashes: Vec<u64>,
    parts: Vec<u32>,
    /// Entries not yet merged (never a hash that is also in `hashes`).
    recent: foldhash::HashMap<u64, u32>,
    /// Directory: the entries of bucket `b` are `starts[b]..starts[b + 1]` (empty before the
    /// first merge).
    starts: Vec<u32>,
    bucket_bits: u32,
}

/// A shard merges its recent entries once it holds this many, or an eighth of its array.
const MIN_MERGE: usize = 512;

impl Default for PartMap {
    fn default() -> Self {
        PartMap {
            shards: (0..256).map(|_| Shard::default()).collect(),
        }
    }
}

impl PartMap {
    fn get(&self, hash: u64) -> Option<u32> {
        self.shards[shard_of(hash)].get(hash)
    }

    fn insert(&mut self, hash: u64, part: u32) {
        self.shards[shard_of(hash)].insert(hash, part);
    }
}

/// The shard of `hash`: its top byte.
fn shard_of(hash: u64) -> usize {
    (hash >> 56) as usize
}

impl Shard {
    fn get(&self, hash: u64) -> Option<u32> {
        match self.find(hash) {
            Some(at) => Some(self.parts[at]),
            None => self.recent.get(&hash).copied(),
        }
    }

    fn insert(&mut self, hash: u64, part: u32) {
        match self.find(hash) {
            Some(at) => self.parts[at] = part,
            None => {
                self.recent.insert(hash, part);
                if self.recent.len() >= MIN_MERGE.max(self.hashes.len() / 8) {
                    self.merge_recent();
                }
            }
        }
    }

    /// Where `hash` is in the sorted arrays: its bucket from the directory, then a binary search
    /// of that bucket's few entries (a search of the whole array misses the cache at every step).
    fn find(&self, hash: u64) -> Option<usize> {
        let bucket = self.bucket(hash);
        let start = *self.starts.get(bucket)? as usize;
        let end = *self.starts.get(bucket + 1)? as usize;
        let at = self.hashes.get(start..end)?.binary_search(&hash).ok()?;
        Some(start + at)
    }

    /// The directory bucket of `hash`: the bits right below the shard's top byte.
    fn bucket(&self, hash: u64) -> usize {
        match self.bucket_bits {
            0 => 0,
            bits => ((hash << 8) >> (64 - bits)) as usize,
        }
    }

    /// Merge the recent entries into the sorted arrays (exactly sized), free their map and
    /// rebuild the directory (about 16 entries a bucket).
    fn merge_recent(&mut self) {
        let mut recent: Vec<(u64, u32)> = std::mem::take(&mut self.recent).into_iter().collect();
        recent.sort_unstable_by_key(|&(hash, _)| hash);
        let total = self.hashes.len() + recent.len();
        let (mut hashes, mut parts) = (Vec::with_capacity(total), Vec::with_capacity(total));
        let mut recent = recent.into_iter().peekable();
        for (&hash, &part) in self.hashes.iter().zip(&self.parts) {
            while let Some((new_hash, new_part)) = recent.next_if(|&(h, _)| h < hash) {
                hashes.push(new_hash);
                parts.push(new_part);
            }
            hashes.push(hash);
            parts.push(part);
        }
        for (new_hash, new_part) in recent {
            hashes.push(new_hash);
            parts.push(new_part);
        }
        self.hashes = hashes;
        self.parts = parts;
        self.bucket_bits = (total / 16).max(1).ilog2().min(24);
        let buckets = 1usize << self.bucket_bits;
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut at = 0;
        for bucket in 0..buckets {
            while at < total && self.bucket(self.hashes[at]) < bucket {
                at += 1;
            }
            starts.push(at as u32);
        }
        starts.push(total as u32);
        self.starts = starts;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The compact map answers exactly as a hash map does through inserts, moves and merges.
    #[test]
    fn the_part_map_agrees_with_a_hash_map() {
        let mut compact = PartMap::default();
        let mut plain: HashMap<u64, u32> = HashMap::new();
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state
        };
        let mut hashes = Vec::new();
        for round in 0..400_000u32 {
            // Mostly new hashes, some moves of earlier ones to a new part.
            let hash = if round % 5 == 0 && !hashes.is_empty() {
                hashes[(next() % hashes.len() as u64) as usize]
            } else {
                let hash = next();
                hashes.push(hash);
                hash
            };
            compact.insert(hash, round / 1000);
            plain.insert(hash, round / 1000);
        }
        for hash in &hashes {
            assert_eq!(compact.get(*hash), plain.get(hash).copied());
        }
        for _ in 0..10_000 {
            let absent = next();
            assert_eq!(compact.get(absent), plain.get(&absent).copied());
        }
        let merged: usize = compact.shards.iter().map(|s| s.hashes.len()).sum();
        assert!(
            merged > 200_000,
            "most entries sit in the sorted arrays: {merged}"
        );
    }
}
