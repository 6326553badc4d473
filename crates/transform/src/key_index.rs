//! Which part holds each kept attempt, by a 64-bit hash of its keen_id: lets a batch find the
//! attempts it may supersede or duplicate without reading every part.
//!
//! About 14 bytes per kept attempt in memory (a hash map took 19-39: 285 MB at 10M), up to about
//! 1M attempts; past that the entries move to a scratch file and the memory it needs stops
//! growing ([`PartMap`]). Built from the parts'
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
use crate::error::{building, Result, TransformError};
use crate::manifest::Manifest;
use crate::part_map::PartMap;
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
    /// Past `spill_at` kept attempts its entries live in a scratch file.
    pub fn load(
        store: &dyn Storage,
        tenant: &TenantId,
        manifest: &Manifest,
        spill_at: usize,
    ) -> Result<KeyIndex> {
        let key = layout::key_index_file(tenant);
        if store.exists(&key)? {
            let saved = store.read(&key)?;
            if let Some(index) = KeyIndex::decode(&saved, parts_fingerprint(manifest), spill_at)? {
                return Ok(index);
            }
            tracing::info!(message = "transform: saved keen_id index is stale, rebuilding it", tenant = %tenant);
        }
        KeyIndex::from_parts(store, tenant, manifest, spill_at)
    }

    /// An empty index that keeps up to `spill_at` kept attempts in memory.
    fn empty(spill_at: usize) -> KeyIndex {
        KeyIndex {
            kept: PartMap::with_spill_at(spill_at),
            ..KeyIndex::default()
        }
    }

    /// Save the index for the next run, as describing the parts `manifest` names now.
    pub fn save(
        &mut self,
        store: &dyn Storage,
        tenant: &TenantId,
        manifest: &Manifest,
    ) -> Result<()> {
        let bytes = self.encode(parts_fingerprint(manifest))?;
        store.write_atomic(&layout::key_index_file(tenant), &bytes)?;
        Ok(())
    }

    /// Point the entries of merged parts at the part that replaced them (old id -> new id).
    pub fn renumber(&mut self, merged: &HashMap<u32, u32>) -> Result<()> {
        let new_id = |part: u32| merged.get(&part).copied().unwrap_or(part);
        if !merged.is_empty() {
            self.kept
                .renumber(new_id)
                .map_err(TransformError::KeyIndex)?;
        }
        let renumbered = |part: &mut u32| *part = new_id(*part);
        for parts in self
            .kept_overflow
            .values_mut()
            .chain(self.superseded.values_mut())
        {
            parts.iter_mut().for_each(renumbered);
            parts.sort_unstable();
            parts.dedup();
        }
        Ok(())
    }

    /// Index every part the manifest names, from the parts' files.
    fn from_parts(
        store: &dyn Storage,
        tenant: &TenantId,
        manifest: &Manifest,
        spill_at: usize,
    ) -> Result<KeyIndex> {
        let mut index = KeyIndex::empty(spill_at);
        for part in &manifest.parts {
            let df = scan::read_table_file(
                store,
                &part.key(tenant, Table::Assessments),
                Some(&[a::KEEN_ID]),
            )?;
            let kept: Vec<(u64, u32)> = keen_ids(&df)?
                .into_iter()
                .flatten()
                .map(|keen_id| (key_hash(keen_id), part.id))
                .collect();
            index.add_kept_many(&kept)?;
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

    #[cfg(test)]
    /// Record that `part` holds the kept version of the keen_id hashing to `hash`.
    pub fn add_kept(&mut self, hash: u64, part: u32) -> Result<()> {
        self.add_kept_many(&[(hash, part)])
    }

    /// [`KeyIndex::add_kept`] of many (hash, part) at once, in their order where hashes are
    /// equal; far fewer reads of a spilled index.
    pub fn add_kept_many(&mut self, entries: &[(u64, u32)]) -> Result<()> {
        let had = self
            .kept
            .get_or_insert_many(entries)
            .map_err(TransformError::KeyIndex)?;
        for (&(hash, part), existing) in entries.iter().zip(had) {
            if existing.is_some_and(|existing| existing != part) {
                let extra = self.kept_overflow.entry(hash).or_default();
                if !extra.contains(&part) {
                    extra.push(part);
                }
            }
        }
        Ok(())
    }

    /// Record that a keen_id's kept version moved to `part` (its old part no longer holds it).
    /// When another keen_id shares the hash, every part either may be in stays listed: a part
    /// too many costs a read, a part missing would let a redelivery become a second row.
    pub fn move_kept(&mut self, hash: u64, part: u32) -> Result<()> {
        if let Some(extra) = self.kept_overflow.get_mut(&hash) {
            extra.extend(self.kept.get(hash).map_err(TransformError::KeyIndex)?);
            extra.retain(|&other| other != part);
            extra.sort_unstable();
            extra.dedup();
        }
        self.kept
            .insert(hash, part)
            .map_err(TransformError::KeyIndex)
    }

    pub fn add_superseded(&mut self, hash: u64, part: u32) {
        let parts = self.superseded.entry(hash).or_default();
        if !parts.contains(&part) {
            parts.push(part);
        }
    }

    /// Whether each hash is of an attempt earlier parts hold, kept or superseded.
    pub fn are_known(&self, hashes: &[u64]) -> Result<Vec<bool>> {
        let kept = self
            .kept
            .get_many(hashes)
            .map_err(TransformError::KeyIndex)?;
        Ok(hashes
            .iter()
            .zip(kept)
            .map(|(hash, kept)| kept.is_some() || self.superseded.contains_key(hash))
            .collect())
    }

    /// The parts to read back for these keen_id hashes.
    pub fn touched<'a>(&self, hashes: impl Iterator<Item = &'a u64>) -> Result<Touched> {
        let mut touched = Touched::default();
        for hash in hashes {
            let kept = self.kept.get(*hash).map_err(TransformError::KeyIndex)?;
            touched.kept_parts.extend(kept);
            touched
                .kept_parts
                .extend(self.kept_overflow.get(hash).into_iter().flatten());
            touched
                .superseded_parts
                .extend(self.superseded.get(hash).into_iter().flatten());
        }
        Ok(touched)
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
    fn encode(&mut self, fingerprint: u64) -> Result<Vec<u8>> {
        let kept = self.kept.len();
        let mut out = Vec::with_capacity(32 + kept * 12);
        out.extend(CACHE_MAGIC);
        out.extend(fingerprint.to_le_bytes());
        out.extend((kept as u64).to_le_bytes());
        self.kept
            .for_each(|hash, part| {
                out.extend(hash.to_le_bytes());
                out.extend(part.to_le_bytes());
            })
            .map_err(TransformError::KeyIndex)?;
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
        Ok(out)
    }

    /// The index in `bytes`, if they are a whole saved index for `fingerprint` (its kept
    /// entries in a scratch file if there are more than `spill_at`).
    fn decode(bytes: &[u8], fingerprint: u64, spill_at: usize) -> Result<Option<KeyIndex>> {
        let Some((mut reader, kept)) = saved_body(bytes, fingerprint) else {
            return Ok(None);
        };
        let Some(kept) = PartMap::from_sorted(kept, spill_at).map_err(TransformError::KeyIndex)?
        else {
            return Ok(None);
        };
        let mut index = KeyIndex {
            kept,
            ..KeyIndex::default()
        };
        let (Some(overflow), Some(superseded)) = (reader.entries(), reader.entries()) else {
            return Ok(None);
        };
        for (hash, part) in overflow {
            index.kept_overflow.entry(hash).or_default().push(part);
        }
        for (hash, part) in superseded {
            index.superseded.entry(hash).or_default().push(part);
        }
        Ok(reader.bytes.is_empty().then_some(index))
    }
}

/// A saved index's reader past its kept entries, and those entries, if `bytes` are whole and
/// saved for `fingerprint`.
fn saved_body(
    bytes: &[u8],
    fingerprint: u64,
) -> Option<(Reader<'_>, impl Iterator<Item = (u64, u32)> + Clone + '_)> {
    let (body, check) = bytes.split_at_checked(bytes.len().checked_sub(8)?)?;
    if payload_hash(body) != u64::from_le_bytes(check.try_into().ok()?) {
        return None;
    }
    let mut reader = Reader { bytes: body };
    if reader.take(8)? != CACHE_MAGIC || reader.u64()? != fingerprint {
        return None;
    }
    let kept = reader.entries()?;
    Some((reader, kept))
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
    use crate::part_map::SPILL_AT;

    /// An index of 5,000 attempts in 7 parts, a shared hash and a superseded version; its kept
    /// entries in a scratch file past `spill_at`.
    fn sample_index(spill_at: usize) -> Result<KeyIndex> {
        let mut index = KeyIndex::empty(spill_at);
        for i in 0..5_000u64 {
            index.add_kept(i.wrapping_mul(0x9E37_79B9_7F4A_7C15), (i % 7) as u32)?;
        }
        index.add_kept(42u64.wrapping_mul(0x9E37_79B9_7F4A_7C15), 9)?; // a shared hash
        index.add_superseded(7, 3);
        index.add_superseded(7, 4);
        Ok(index)
    }

    fn answers(index: &KeyIndex) -> Result<Vec<(BTreeSet<u32>, BTreeSet<u32>)>> {
        (0..5_100u64)
            .map(|i| {
                let touched = index.touched([i.wrapping_mul(0x9E37_79B9_7F4A_7C15), 7].iter())?;
                Ok((touched.kept_parts, touched.superseded_parts))
            })
            .collect()
    }

    #[test]
    fn a_saved_index_loads_back_only_for_the_parts_it_was_saved_for() -> Result<()> {
        for (spill_at, load_spill_at) in [(SPILL_AT, SPILL_AT), (1_000, 1_000), (1_000, SPILL_AT)] {
            let mut index = sample_index(spill_at)?;
            let saved = index.encode(11)?;
            let mut loaded = KeyIndex::decode(&saved, 11, load_spill_at)?.expect("the same parts");
            assert_eq!(answers(&loaded)?, answers(&index)?);
            assert_eq!(loaded.encode(11)?, saved, "the same bytes, spilled or not");
            assert!(
                KeyIndex::decode(&saved, 12, load_spill_at)?.is_none(),
                "other parts"
            );
            let mut damaged = saved.clone();
            damaged[40] ^= 1;
            assert!(
                KeyIndex::decode(&damaged, 11, load_spill_at)?.is_none(),
                "a damaged file"
            );
            assert!(KeyIndex::decode(&saved[..saved.len() - 1], 11, load_spill_at)?.is_none());
            assert!(KeyIndex::decode(b"", 11, load_spill_at)?.is_none());
        }
        Ok(())
    }

    #[test]
    fn merged_parts_are_renumbered_everywhere() -> Result<()> {
        for spill_at in [SPILL_AT, 1_000] {
            let mut index = sample_index(spill_at)?;
            index.renumber(&HashMap::from([(3, 20), (4, 20), (9, 21)]))?;
            let shared = index.touched([42u64.wrapping_mul(0x9E37_79B9_7F4A_7C15)].iter())?;
            assert_eq!(shared.kept_parts, BTreeSet::from([0, 21]));
            let superseded = index.touched([7].iter())?;
            assert_eq!(superseded.superseded_parts, BTreeSet::from([20]));
            let moved = index.touched([3u64.wrapping_mul(0x9E37_79B9_7F4A_7C15)].iter())?;
            assert_eq!(moved.kept_parts, BTreeSet::from([20]));
        }
        Ok(())
    }

    #[test]
    fn a_move_keeps_every_part_a_shared_hash_may_be_in() -> Result<()> {
        let mut index = KeyIndex::default();
        index.add_kept(5, 1)?;
        index.add_kept(5, 2)?; // another keen_id with the same hash
        index.move_kept(5, 8)?;
        assert_eq!(
            index.touched([5].iter())?.kept_parts,
            BTreeSet::from([1, 2, 8])
        );
        let mut alone = KeyIndex::default();
        alone.add_kept(6, 1)?;
        alone.move_kept(6, 8)?;
        assert_eq!(alone.touched([6].iter())?.kept_parts, BTreeSet::from([8]));
        Ok(())
    }
}
