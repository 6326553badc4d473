//! Which part holds each kept attempt, by a 64-bit hash of its keen_id: lets a batch find the
//! attempts it may supersede or duplicate without reading every part.
//!
//! About 14 bytes per kept attempt (a hash map took 19-39: 285 MB at 10M). Built from the parts'
//! `keen_id` columns (and the superseded versions in the quarantine parts), so it can never
//! disagree with the tables. A run ends by saving it (`tables/_key_index.bin`) with a fingerprint
//! of the parts it describes (their ids and generations: a part's files never change under one);
//! the next run uses the saved index only when the manifest names exactly those parts, and
//! otherwise builds it from the parts again. Reading 400 parts' keen_ids took 6.5 s of a nightly
//! run at 10M attempts.

use std::collections::{BTreeSet, HashMap};

use examlake_core::fingerprint::{fnv1a64, payload_hash};
use examlake_core::layout::{self, Table};
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
    /// The index of every part the manifest names: the one the last run saved, if it describes
    /// exactly these parts, else built from the parts.
    pub fn load(store: &dyn Storage, tenant: &TenantId, manifest: &Manifest) -> Result<KeyIndex> {
        let key = layout::key_index_file(tenant);
        if store.exists(&key)? {
            let saved = store.read(&key)?;
            if let Some(index) = KeyIndex::decode(&saved, parts_fingerprint(manifest)) {
                return Ok(index);
            }
            tracing::info!(message = "transform: saved keen_id index is stale, rebuilding it", tenant = %tenant);
        }
        KeyIndex::from_parts(store, tenant, manifest)
    }

    /// Save the index for the next run, as describing the parts `manifest` names now.
    pub fn save(
        &mut self,
        store: &dyn Storage,
        tenant: &TenantId,
        manifest: &Manifest,
    ) -> Result<()> {
        let bytes = self.encode(parts_fingerprint(manifest));
        store.write_atomic(&layout::key_index_file(tenant), &bytes)?;
        Ok(())
    }

    /// Point the entries of merged parts at the part that replaced them (old id -> new id).
    pub fn renumber(&mut self, merged: &HashMap<u32, u32>) {
        let renumbered = |part: &mut u32| {
            if let Some(&new) = merged.get(part) {
                *part = new;
            }
        };
        for shard in &mut self.kept.shards {
            shard.parts.iter_mut().for_each(renumbered);
            shard.recent.values_mut().for_each(renumbered);
        }
        for parts in self
            .kept_overflow
            .values_mut()
            .chain(self.superseded.values_mut())
        {
            parts.iter_mut().for_each(renumbered);
            parts.sort_unstable();
            parts.dedup();
        }
    }

    /// Index every part the manifest names, from the parts' files.
    fn from_parts(store: &dyn Storage, tenant: &TenantId, manifest: &Manifest) -> Result<KeyIndex> {
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
    /// When another keen_id shares the hash, every part either may be in stays listed: a part
    /// too many costs a read, a part missing would let a redelivery become a second row.
    pub fn move_kept(&mut self, hash: u64, part: u32) {
        if let Some(extra) = self.kept_overflow.get_mut(&hash) {
            extra.extend(self.kept.get(hash));
            extra.retain(|&other| other != part);
            extra.sort_unstable();
            extra.dedup();
        }
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
        self.rebuild_directory();
    }

    /// The directory over the sorted arrays: about 16 entries a bucket.
    fn rebuild_directory(&mut self) {
        let total = self.hashes.len();
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

/// What a saved index describes: the format, and each part's id and generation in order.
fn parts_fingerprint(manifest: &Manifest) -> u64 {
    let mut described = CACHE_MAGIC.to_vec();
    for part in &manifest.parts {
        described.extend(part.id.to_le_bytes());
        described.extend(part.generation.to_le_bytes());
    }
    payload_hash(&described)
}

/// The saved index's first bytes (bump with its layout or the keen_id hash).
const CACHE_MAGIC: &[u8; 8] = b"EXKIDX01";

impl KeyIndex {
    /// magic, fingerprint, then three runs of (count, count x (hash, part)): the kept entries
    /// shard by shard in order, the overflow entries, the superseded entries (both sorted); then
    /// an XXH3 of everything before it.
    fn encode(&mut self, fingerprint: u64) -> Vec<u8> {
        for shard in &mut self.kept.shards {
            if !shard.recent.is_empty() {
                shard.merge_recent();
            }
        }
        let kept: usize = self.kept.shards.iter().map(|s| s.hashes.len()).sum();
        let mut out = Vec::with_capacity(32 + kept * 12);
        out.extend(CACHE_MAGIC);
        out.extend(fingerprint.to_le_bytes());
        let shards = self.kept.shards.iter();
        let entries = shards.flat_map(|s| s.hashes.iter().copied().zip(s.parts.iter().copied()));
        write_entries(&mut out, kept, entries);
        for map in [&self.kept_overflow, &self.superseded] {
            // Sorted, so equal indexes save equal bytes.
            let mut entries: Vec<(u64, u32)> = map
                .iter()
                .flat_map(|(&hash, parts)| parts.iter().map(move |&part| (hash, part)))
                .collect();
            entries.sort_unstable();
            write_entries(&mut out, entries.len(), entries.into_iter());
        }
        let check = payload_hash(&out);
        out.extend(check.to_le_bytes());
        out
    }

    /// The index in `bytes`, if they are a whole saved index for `fingerprint`.
    fn decode(bytes: &[u8], fingerprint: u64) -> Option<KeyIndex> {
        let (body, check) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
        if payload_hash(body) != u64::from_le_bytes(check.try_into().ok()?) {
            return None;
        }
        let mut reader = Reader { bytes: body };
        if reader.take(8)? != CACHE_MAGIC || reader.u64()? != fingerprint {
            return None;
        }
        let mut index = KeyIndex::default();
        // Sized exactly: the arrays are most of the index (a growing vector would double).
        let kept = reader.entries()?;
        let mut per_shard = [0usize; 256];
        kept.clone()
            .for_each(|(hash, _)| per_shard[shard_of(hash)] += 1);
        for (shard, &count) in index.kept.shards.iter_mut().zip(&per_shard) {
            shard.hashes = Vec::with_capacity(count);
            shard.parts = Vec::with_capacity(count);
        }
        for (hash, part) in kept {
            let shard = &mut index.kept.shards[shard_of(hash)];
            shard.hashes.push(hash);
            shard.parts.push(part);
        }
        for shard in &mut index.kept.shards {
            if !shard.hashes.is_sorted() {
                return None;
            }
            shard.rebuild_directory();
        }
        for (hash, part) in reader.entries()? {
            index.kept_overflow.entry(hash).or_default().push(part);
        }
        for (hash, part) in reader.entries()? {
            index.superseded.entry(hash).or_default().push(part);
        }
        reader.bytes.is_empty().then_some(index)
    }
}

fn write_entries(out: &mut Vec<u8>, count: usize, entries: impl Iterator<Item = (u64, u32)>) {
    out.extend((count as u64).to_le_bytes());
    for (hash, part) in entries {
        out.extend(hash.to_le_bytes());
        out.extend(part.to_le_bytes());
    }
}

/// Reads a saved index front to back; every read is `None` past the end.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.bytes.split_at_checked(n)?;
        self.bytes = rest;
        Some(taken)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A run of entries: its count, then that many (hash, part).
    fn entries(&mut self) -> Option<impl Iterator<Item = (u64, u32)> + Clone + 'a> {
        let count = usize::try_from(self.u64()?).ok()?;
        let bytes = self.take(count.checked_mul(12)?)?;
        Some(bytes.chunks_exact(12).map(|entry| {
            let (hash, part) = entry.split_at(8);
            (
                u64::from_le_bytes(hash.try_into().unwrap_or_default()),
                u32::from_le_bytes(part.try_into().unwrap_or_default()),
            )
        }))
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

    fn sample_index() -> KeyIndex {
        let mut index = KeyIndex::default();
        for i in 0..5_000u64 {
            index.add_kept(i.wrapping_mul(0x9E37_79B9_7F4A_7C15), (i % 7) as u32);
        }
        index.add_kept(42u64.wrapping_mul(0x9E37_79B9_7F4A_7C15), 9); // a shared hash
        index.add_superseded(7, 3);
        index.add_superseded(7, 4);
        index
    }

    fn answers(index: &KeyIndex) -> Vec<(BTreeSet<u32>, BTreeSet<u32>)> {
        (0..5_100u64)
            .map(|i| {
                let touched = index.touched([i.wrapping_mul(0x9E37_79B9_7F4A_7C15), 7].iter());
                (touched.kept_parts, touched.superseded_parts)
            })
            .collect()
    }

    #[test]
    fn a_saved_index_loads_back_only_for_the_parts_it_was_saved_for() {
        let mut index = sample_index();
        let saved = index.encode(11);
        let loaded = KeyIndex::decode(&saved, 11).expect("the same parts");
        assert_eq!(answers(&loaded), answers(&index));
        assert!(KeyIndex::decode(&saved, 12).is_none(), "other parts");
        let mut damaged = saved.clone();
        damaged[40] ^= 1;
        assert!(KeyIndex::decode(&damaged, 11).is_none(), "a damaged file");
        assert!(KeyIndex::decode(&saved[..saved.len() - 1], 11).is_none());
        assert!(KeyIndex::decode(b"", 11).is_none());
    }

    #[test]
    fn merged_parts_are_renumbered_everywhere() {
        let mut index = sample_index();
        index.renumber(&HashMap::from([(3, 20), (4, 20), (9, 21)]));
        let shared = index.touched([42u64.wrapping_mul(0x9E37_79B9_7F4A_7C15)].iter());
        assert_eq!(shared.kept_parts, BTreeSet::from([0, 21]));
        let superseded = index.touched([7].iter());
        assert_eq!(superseded.superseded_parts, BTreeSet::from([20]));
        let moved = index.touched([3u64.wrapping_mul(0x9E37_79B9_7F4A_7C15)].iter());
        assert_eq!(moved.kept_parts, BTreeSet::from([20]));
    }

    #[test]
    fn a_move_keeps_every_part_a_shared_hash_may_be_in() {
        let mut index = KeyIndex::default();
        index.add_kept(5, 1);
        index.add_kept(5, 2); // another keen_id with the same hash
        index.move_kept(5, 8);
        assert_eq!(
            index.touched([5].iter()).kept_parts,
            BTreeSet::from([1, 2, 8])
        );
        let mut alone = KeyIndex::default();
        alone.add_kept(6, 1);
        alone.move_kept(6, 8);
        assert_eq!(alone.touched([6].iter()).kept_parts, BTreeSet::from([8]));
    }

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
