//! The keen_id index's main map, from a 64-bit hash to the part holding that attempt, compact
//! and with memory that stops growing.
//!
//! 256 shards by the hash's top byte. Each holds a sorted array of entries, a small hash map of
//! new entries (merged into the array once it holds enough), and a directory of buckets over
//! the array for lookups. In memory that is about 14 bytes an entry, and a merge copies one shard
//! only, so the map never doubles in one step as a growing hash map does.
//!
//! Past [`SPILL_AT`] entries (about 15 MB) every shard's array moves to a scratch file
//! ([`SpillFile`]): a lookup reads one bucket (a few hundred bytes) at its offset, a move of an
//! attempt to another part rewrites 4 bytes in place, and a merge rewrites the shard. What stays
//! in memory is then bounded whatever the number of attempts: the directories (at most 4,096
//! buckets a shard, 4 MB in all) and the new entries (at most 2,048 a shard).

use std::collections::hash_map::Entry;
use std::io;

use crate::spill_file::{Region, SpillFile};

/// Entries the arrays hold in memory; one more and they all move to a scratch file. A run of
/// 1M attempts stays in memory; 10M do not.
pub(crate) const SPILL_AT: usize = 1 << 20;

/// In memory, a shard merges its new entries once it holds this many, or an eighth of its array.
const MIN_MERGE: usize = 512;
/// Spilled, a shard merges its new entries once it holds this many, whatever its size.
const SPILLED_MERGE: usize = 2048;
/// Directory bits: about 16 entries a bucket, but at most 2^24 buckets in memory and 2^12
/// (16 KB a shard) once spilled, where a bucket is read from the file anyway.
const MEMORY_BUCKET_BITS: u32 = 24;
const SPILLED_BUCKET_BITS: u32 = 12;
/// A spilled shard is read whole for a batch of lookups once there is one per this many entries:
/// a read of a bucket costs about as much as copying 6 KB (512 entries) of a whole read.
const WHOLE_READ_RATIO: usize = 512;
/// Bytes of an entry in the scratch file: the hash, then the part, little-endian.
const ENTRY_BYTES: usize = 12;

#[derive(Debug)]
pub(crate) struct PartMap {
    shards: Vec<Shard>,
    spill_at: usize,
    /// Entries in all, merged or not.
    entries: usize,
    spill: Option<SpillFile>,
}

#[derive(Debug, Default)]
struct Shard {
    sorted: Sorted,
    /// Entries not yet merged (never a hash that is also in `sorted`).
    recent: foldhash::HashMap<u64, u32>,
    /// Directory: the entries of bucket `b` are `starts[b]..starts[b + 1]` (empty before the
    /// first merge).
    starts: Vec<u32>,
    bucket_bits: u32,
}

/// A shard's sorted entries: in memory, or `len` entries at `region` of the scratch file.
#[derive(Debug)]
enum Sorted {
    Memory { hashes: Vec<u64>, parts: Vec<u32> },
    Spilled { region: Region, len: usize },
}

impl Default for Sorted {
    fn default() -> Self {
        Sorted::Memory {
            hashes: Vec::new(),
            parts: Vec::new(),
        }
    }
}

impl Default for PartMap {
    fn default() -> Self {
        PartMap::with_spill_at(SPILL_AT)
    }
}

impl PartMap {
    /// An empty map that spills once its arrays hold more than `spill_at` entries.
    pub fn with_spill_at(spill_at: usize) -> PartMap {
        PartMap {
            shards: (0..256).map(|_| Shard::default()).collect(),
            spill_at,
            entries: 0,
            spill: None,
        }
    }

    /// A map holding `entries` given shard by shard, each shard's in ascending order; `None` if
    /// they are not.
    pub fn from_sorted(
        entries: impl Iterator<Item = (u64, u32)> + Clone,
        spill_at: usize,
    ) -> io::Result<Option<PartMap>> {
        // Sized exactly: the arrays are most of the map (a growing vector would double).
        let mut per_shard = [0usize; 256];
        entries
            .clone()
            .for_each(|(hash, _)| per_shard[shard_of(hash)] += 1);
        let count = per_shard.iter().sum();
        let mut map = PartMap::with_spill_at(spill_at);
        if count > spill_at {
            map.spill = Some(SpillFile::create()?);
        }
        let mut entries = entries.peekable();
        for (at, &size) in per_shard.iter().enumerate() {
            let (mut hashes, mut parts) = (Vec::with_capacity(size), Vec::with_capacity(size));
            while let Some((hash, part)) = entries.next_if(|&(hash, _)| shard_of(hash) == at) {
                hashes.push(hash);
                parts.push(part);
            }
            if hashes.len() != size || !hashes.windows(2).all(|pair| pair[0] < pair[1]) {
                return Ok(None);
            }
            map.set_sorted(at, hashes, parts)?;
        }
        map.entries = count;
        Ok(Some(map))
    }

    pub fn get(&self, hash: u64) -> io::Result<Option<u32>> {
        let shard = &self.shards[shard_of(hash)];
        match shard.find(hash, self.spill.as_ref())? {
            Some((_, part)) => Ok(Some(part)),
            None => Ok(shard.recent.get(&hash).copied()),
        }
    }

    /// The parts of many hashes at once. Once spilled, a shard that many of them fall in is read
    /// whole, once, instead of a bucket a hash (a batch of 50,000 at 10M attempts: about 200
    /// hashes a shard of 40,000 entries).
    pub fn get_many(&self, hashes: &[u64]) -> io::Result<Vec<Option<u32>>> {
        let mut found = vec![None; hashes.len()];
        for group in
            by_shard(hashes.iter().copied()).chunk_by(|a, b| shard_of(a.0) == shard_of(b.0))
        {
            let shard = &self.shards[shard_of(group[0].0)];
            match shard.read_whole_for(group.len(), self.spill.as_ref())? {
                Some((sorted, parts)) => {
                    for &(hash, i) in group {
                        found[i] = match sorted.binary_search(&hash) {
                            Ok(at) => Some(parts[at]),
                            Err(_) => shard.recent.get(&hash).copied(),
                        };
                    }
                }
                None => {
                    for &(hash, i) in group {
                        found[i] = self.get(hash)?;
                    }
                }
            }
        }
        Ok(found)
    }

    /// [`PartMap::get_or_insert`] of many entries at once, in their order where hashes are equal,
    /// with the same reads as [`PartMap::get_many`]: what each hash mapped to before.
    pub fn get_or_insert_many(&mut self, entries: &[(u64, u32)]) -> io::Result<Vec<Option<u32>>> {
        let mut had = vec![None; entries.len()];
        let hashes = entries.iter().map(|&(hash, _)| hash);
        for group in by_shard(hashes).chunk_by(|a, b| shard_of(a.0) == shard_of(b.0)) {
            let at = shard_of(group[0].0);
            let whole = self.shards[at].read_whole_for(group.len(), self.spill.as_ref())?;
            let Some((sorted, parts)) = whole else {
                for &(hash, i) in group {
                    had[i] = self.get_or_insert(hash, entries[i].1)?;
                }
                continue;
            };
            let shard = &mut self.shards[at];
            for &(hash, i) in group {
                had[i] = match sorted.binary_search(&hash) {
                    Ok(position) => Some(parts[position]),
                    Err(_) => match shard.recent.entry(hash) {
                        Entry::Occupied(entry) => Some(*entry.get()),
                        Entry::Vacant(entry) => {
                            entry.insert(entries[i].1);
                            self.entries += 1;
                            None
                        }
                    },
                }
            }
            if shard.recent.len() >= SPILLED_MERGE {
                let recent = std::mem::take(&mut shard.recent);
                let (sorted, parts) = merged(sorted, parts, recent);
                self.set_sorted(at, sorted, parts)?;
            }
        }
        Ok(had)
    }

    /// Map `hash` to `part`.
    pub fn insert(&mut self, hash: u64, part: u32) -> io::Result<()> {
        self.upsert(hash, part, true).map(|_| ())
    }

    /// The part `hash` maps to; if none, map it to `part` (one lookup where `get` and `insert`
    /// would take two, each a read of the scratch file once spilled).
    pub fn get_or_insert(&mut self, hash: u64, part: u32) -> io::Result<Option<u32>> {
        self.upsert(hash, part, false)
    }

    /// Map `hash` to `part` if it maps to nothing, or if `overwrite`; the part it mapped to.
    fn upsert(&mut self, hash: u64, part: u32, overwrite: bool) -> io::Result<Option<u32>> {
        let at = shard_of(hash);
        let spill = self.spill.as_ref();
        let shard = &mut self.shards[at];
        if let Some((position, existing)) = shard.find(hash, spill)? {
            if overwrite && existing != part {
                shard.set_part(position, part, spill)?;
            }
            return Ok(Some(existing));
        }
        match shard.recent.entry(hash) {
            Entry::Occupied(mut entry) => {
                let existing = *entry.get();
                if overwrite {
                    entry.insert(part);
                }
                return Ok(Some(existing));
            }
            Entry::Vacant(entry) => {
                entry.insert(part);
            }
        }
        self.entries += 1;
        let merge_at = match spill {
            None => MIN_MERGE.max(shard.sorted_len() / 8),
            Some(_) => SPILLED_MERGE,
        };
        if self.spill.is_none() && self.entries > self.spill_at {
            self.spill_all()?;
        } else if self.shards[at].recent.len() >= merge_at {
            self.merge(at)?;
        }
        Ok(None)
    }

    /// Every entry, shard by shard in ascending order (new entries merged first).
    pub fn for_each(&mut self, mut visit: impl FnMut(u64, u32)) -> io::Result<()> {
        for at in 0..self.shards.len() {
            if !self.shards[at].recent.is_empty() {
                self.merge(at)?;
            }
            self.shards[at].visit_sorted(self.spill.as_ref(), &mut visit)?;
        }
        Ok(())
    }

    /// Entries in all, merged or not.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Replace every part by `renumbered(part)`.
    pub fn renumber(&mut self, renumbered: impl Fn(u32) -> u32) -> io::Result<()> {
        for at in 0..self.shards.len() {
            let shard = &mut self.shards[at];
            shard.recent.values_mut().for_each(|p| *p = renumbered(*p));
            let (hashes, mut parts) = shard.read_sorted(self.spill.as_ref())?;
            parts.iter_mut().for_each(|p| *p = renumbered(*p));
            self.set_sorted(at, hashes, parts)?;
        }
        Ok(())
    }

    /// Whether the arrays have moved to a scratch file.
    #[cfg(test)]
    fn is_spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// Entries in the in-memory arrays (0 once spilled).
    #[cfg(test)]
    fn in_memory(&self) -> usize {
        let in_memory = |shard: &Shard| match &shard.sorted {
            Sorted::Memory { hashes, .. } => hashes.len(),
            Sorted::Spilled { .. } => 0,
        };
        self.shards.iter().map(in_memory).sum()
    }

    /// Merge shard `at`'s new entries into its array.
    fn merge(&mut self, at: usize) -> io::Result<()> {
        let shard = &mut self.shards[at];
        let (hashes, parts) = shard.read_sorted(self.spill.as_ref())?;
        let recent = std::mem::take(&mut shard.recent);
        let (hashes, parts) = merged(hashes, parts, recent);
        self.set_sorted(at, hashes, parts)
    }

    /// Move every entry to a new scratch file (the new entries merged into the arrays first).
    fn spill_all(&mut self) -> io::Result<()> {
        let spill = SpillFile::create()?;
        tracing::debug!(
            message = "transform: keen_id index moves to a scratch file",
            entries = self.entries,
            path = %spill.path().display()
        );
        self.spill = Some(spill);
        (0..self.shards.len()).try_for_each(|at| self.merge(at))
    }

    /// Make `hashes` (ascending) and `parts` shard `at`'s array, in memory or in the scratch file.
    fn set_sorted(&mut self, at: usize, hashes: Vec<u64>, parts: Vec<u32>) -> io::Result<()> {
        let shard = &mut self.shards[at];
        match &mut self.spill {
            None => {
                (shard.starts, shard.bucket_bits) = directory(&hashes, MEMORY_BUCKET_BITS);
                shard.sorted = Sorted::Memory { hashes, parts };
            }
            Some(spill) => {
                let region = match shard.sorted {
                    Sorted::Spilled { region, .. } if fits(region, hashes.len()) => region,
                    // Room to double, so a shard moves along the file only a few times.
                    _ => spill.allocate((2 * hashes.len().max(256) * ENTRY_BYTES) as u64),
                };
                spill.write_at(&entry_bytes(&hashes, &parts), region.at)?;
                (shard.starts, shard.bucket_bits) = directory(&hashes, SPILLED_BUCKET_BITS);
                shard.sorted = Sorted::Spilled {
                    region,
                    len: hashes.len(),
                };
            }
        }
        Ok(())
    }
}

impl Shard {
    fn sorted_len(&self) -> usize {
        match &self.sorted {
            Sorted::Memory { hashes, .. } => hashes.len(),
            Sorted::Spilled { len, .. } => *len,
        }
    }

    /// Where `hash` is in the array, and its part: its bucket from the directory, then a binary
    /// search of that bucket's few entries (read from the scratch file when spilled).
    fn find(&self, hash: u64, spill: Option<&SpillFile>) -> io::Result<Option<(usize, u32)>> {
        let bucket = self.bucket(hash);
        let (Some(&start), Some(&end)) = (self.starts.get(bucket), self.starts.get(bucket + 1))
        else {
            return Ok(None);
        };
        let (start, end) = (start as usize, end as usize);
        if start == end {
            return Ok(None);
        }
        match (&self.sorted, spill) {
            (Sorted::Memory { hashes, parts }, _) => Ok(hashes
                .get(start..end)
                .and_then(|bucket| bucket.binary_search(&hash).ok())
                .and_then(|at| Some((start + at, *parts.get(start + at)?)))),
            (Sorted::Spilled { region, .. }, Some(spill)) => {
                let mut bytes = vec![0u8; (end - start) * ENTRY_BYTES];
                spill.read_at(&mut bytes, entry_offset(*region, start))?;
                let (hashes, parts) = entries_of(&bytes);
                Ok(hashes
                    .binary_search(&hash)
                    .ok()
                    .map(|at| (start + at, parts[at])))
            }
            (Sorted::Spilled { .. }, None) => Err(no_scratch_file()),
        }
    }

    /// Point the array's entry at `position` to `part`.
    fn set_part(
        &mut self,
        position: usize,
        part: u32,
        spill: Option<&SpillFile>,
    ) -> io::Result<()> {
        match (&mut self.sorted, spill) {
            (Sorted::Memory { parts, .. }, _) => {
                parts[position] = part;
                Ok(())
            }
            (Sorted::Spilled { region, .. }, Some(spill)) => {
                let offset = entry_offset(*region, position) + 8;
                spill.write_at(&part.to_le_bytes(), offset)
            }
            (Sorted::Spilled { .. }, None) => Err(no_scratch_file()),
        }
    }

    /// The spilled array read whole, if `lookups` of it cost more a bucket at a time (about one
    /// system call each) than one read of it all; `None` in memory or for a few lookups.
    fn read_whole_for(
        &self,
        lookups: usize,
        spill: Option<&SpillFile>,
    ) -> io::Result<Option<(Vec<u64>, Vec<u32>)>> {
        match (&self.sorted, spill) {
            (Sorted::Spilled { region, len }, Some(spill))
                if lookups * WHOLE_READ_RATIO >= *len =>
            {
                Ok(Some(read_region(spill, *region, *len)?))
            }
            _ => Ok(None),
        }
    }

    /// The array's entries: taken out of memory, or read from the scratch file (which keeps them).
    fn read_sorted(&mut self, spill: Option<&SpillFile>) -> io::Result<(Vec<u64>, Vec<u32>)> {
        match (&mut self.sorted, spill) {
            (Sorted::Memory { hashes, parts }, _) => {
                Ok((std::mem::take(hashes), std::mem::take(parts)))
            }
            (Sorted::Spilled { region, len }, Some(spill)) => read_region(spill, *region, *len),
            (Sorted::Spilled { .. }, None) => Err(no_scratch_file()),
        }
    }

    /// Call `visit` with each entry of the array, in order, leaving the array as it is.
    fn visit_sorted(
        &self,
        spill: Option<&SpillFile>,
        visit: &mut impl FnMut(u64, u32),
    ) -> io::Result<()> {
        match (&self.sorted, spill) {
            (Sorted::Memory { hashes, parts }, _) => {
                hashes.iter().zip(parts).for_each(|(&h, &p)| visit(h, p));
            }
            (Sorted::Spilled { region, len }, Some(spill)) => {
                let (hashes, parts) = read_region(spill, *region, *len)?;
                hashes.iter().zip(&parts).for_each(|(&h, &p)| visit(h, p));
            }
            (Sorted::Spilled { .. }, None) => return Err(no_scratch_file()),
        }
        Ok(())
    }

    fn bucket(&self, hash: u64) -> usize {
        bucket_of(hash, self.bucket_bits)
    }
}

/// The directory bucket of `hash` with `bits` bits: the bits right below the shard's top byte.
fn bucket_of(hash: u64, bits: u32) -> usize {
    match bits {
        0 => 0,
        bits => ((hash << 8) >> (64 - bits)) as usize,
    }
}

/// Hashes with their positions, in ascending order of hash (equal hashes in their order), so
/// each shard's are together.
fn by_shard(hashes: impl Iterator<Item = u64>) -> Vec<(u64, usize)> {
    let mut order: Vec<(u64, usize)> = hashes.enumerate().map(|(i, hash)| (hash, i)).collect();
    order.sort_by_key(|&(hash, _)| hash);
    order
}

/// The shard of `hash`: its top byte.
pub(crate) fn shard_of(hash: u64) -> usize {
    (hash >> 56) as usize
}

/// An array (ascending) with new entries merged in, exactly sized.
fn merged(
    hashes: Vec<u64>,
    parts: Vec<u32>,
    recent: foldhash::HashMap<u64, u32>,
) -> (Vec<u64>, Vec<u32>) {
    let mut recent: Vec<(u64, u32)> = recent.into_iter().collect();
    recent.sort_unstable_by_key(|&(hash, _)| hash);
    let total = hashes.len() + recent.len();
    let (mut all_hashes, mut all_parts) = (Vec::with_capacity(total), Vec::with_capacity(total));
    let mut recent = recent.into_iter().peekable();
    for (hash, part) in hashes.into_iter().zip(parts) {
        while let Some((new_hash, new_part)) = recent.next_if(|&(h, _)| h < hash) {
            all_hashes.push(new_hash);
            all_parts.push(new_part);
        }
        all_hashes.push(hash);
        all_parts.push(part);
    }
    for (new_hash, new_part) in recent {
        all_hashes.push(new_hash);
        all_parts.push(new_part);
    }
    (all_hashes, all_parts)
}

/// The directory over ascending `hashes`, about 16 entries a bucket and at most `max_bits` bits:
/// (bucket starts, bits).
fn directory(hashes: &[u64], max_bits: u32) -> (Vec<u32>, u32) {
    let total = hashes.len();
    let bits = (total / 16).max(1).ilog2().min(max_bits);
    let buckets = 1usize << bits;
    let mut starts = Vec::with_capacity(buckets + 1);
    let mut at = 0;
    for b in 0..buckets {
        while at < total && bucket_of(hashes[at], bits) < b {
            at += 1;
        }
        starts.push(at as u32);
    }
    starts.push(total as u32);
    (starts, bits)
}

fn fits(region: Region, entries: usize) -> bool {
    (entries * ENTRY_BYTES) as u64 <= region.capacity
}

fn entry_offset(region: Region, position: usize) -> u64 {
    region.at + (position * ENTRY_BYTES) as u64
}

fn entry_bytes(hashes: &[u64], parts: &[u32]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(hashes.len() * ENTRY_BYTES);
    for (hash, part) in hashes.iter().zip(parts) {
        bytes.extend(hash.to_le_bytes());
        bytes.extend(part.to_le_bytes());
    }
    bytes
}

/// The `len` entries at `region` of the scratch file.
fn read_region(spill: &SpillFile, region: Region, len: usize) -> io::Result<(Vec<u64>, Vec<u32>)> {
    let mut bytes = vec![0u8; len * ENTRY_BYTES];
    spill.read_at(&mut bytes, region.at)?;
    Ok(entries_of(&bytes))
}

fn entries_of(bytes: &[u8]) -> (Vec<u64>, Vec<u32>) {
    let entries = bytes.chunks_exact(ENTRY_BYTES);
    let (mut hashes, mut parts) = (
        Vec::with_capacity(entries.len()),
        Vec::with_capacity(entries.len()),
    );
    for entry in entries {
        let (hash, part) = entry.split_at(8);
        hashes.push(u64::from_le_bytes(hash.try_into().unwrap_or_default()));
        parts.push(u32::from_le_bytes(part.try_into().unwrap_or_default()));
    }
    (hashes, parts)
}

fn no_scratch_file() -> io::Error {
    io::Error::other("the keen_id index lost its scratch file")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Random-looking hashes, the same every run.
    fn hashes() -> impl FnMut() -> u64 {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state
        }
    }

    /// Inserts and moves of `rounds` entries (some only where absent), into the compact map and
    /// a plain hash map.
    fn filled(map: &mut PartMap, rounds: u32) -> io::Result<(HashMap<u64, u32>, Vec<u64>)> {
        let mut plain = HashMap::new();
        let mut next = hashes();
        let mut inserted = Vec::new();
        for round in 0..rounds {
            // Mostly new hashes, some moves of earlier ones to a new part.
            let hash = if round % 5 == 0 && !inserted.is_empty() {
                inserted[(next() % inserted.len() as u64) as usize]
            } else {
                let hash = next();
                inserted.push(hash);
                hash
            };
            if round % 7 == 3 {
                // Only where absent, saying what was there.
                let had = plain.get(&hash).copied();
                assert_eq!(map.get_or_insert(hash, round / 1000)?, had);
                plain.entry(hash).or_insert(round / 1000);
            } else {
                map.insert(hash, round / 1000)?;
                plain.insert(hash, round / 1000);
            }
        }
        Ok((plain, inserted))
    }

    fn agrees(map: &PartMap, plain: &HashMap<u64, u32>, inserted: &[u64]) -> io::Result<()> {
        for hash in inserted {
            assert_eq!(map.get(*hash)?, plain.get(hash).copied());
        }
        let mut next = hashes();
        for _ in 0..10_000 {
            let absent = next().rotate_left(17);
            assert_eq!(map.get(absent)?, plain.get(&absent).copied());
        }
        Ok(())
    }

    /// The compact map answers exactly as a hash map does through inserts, moves and merges.
    #[test]
    fn the_part_map_agrees_with_a_hash_map() -> io::Result<()> {
        let mut map = PartMap::default();
        let (plain, inserted) = filled(&mut map, 400_000)?;
        agrees(&map, &plain, &inserted)?;
        assert!(!map.is_spilled());
        let in_memory = map.in_memory();
        assert!(
            in_memory > 200_000,
            "most entries sit in the arrays: {in_memory}"
        );
        Ok(())
    }

    /// Spilled part way through, it still answers exactly as a hash map does, through inserts,
    /// moves, merges, a renumbering, and a listing in order.
    #[test]
    fn a_spilled_part_map_agrees_with_a_hash_map() -> io::Result<()> {
        let mut map = PartMap::with_spill_at(50_000);
        let (mut plain, inserted) = filled(&mut map, 300_000)?;
        assert!(map.is_spilled());
        assert_eq!(map.in_memory(), 0);
        agrees(&map, &plain, &inserted)?;
        assert_eq!(map.len(), plain.len());

        map.renumber(|part| part + 1000)?;
        plain.values_mut().for_each(|part| *part += 1000);
        agrees(&map, &plain, &inserted)?;

        let mut listed = Vec::new();
        map.for_each(|hash, part| listed.push((hash, part)))?;
        let mut expected: Vec<(u64, u32)> = plain.into_iter().collect();
        expected.sort_unstable_by_key(|&(hash, _)| (shard_of(hash), hash));
        assert_eq!(listed, expected);
        Ok(())
    }

    /// Many lookups and inserts at once answer as one at a time does, whether a shard is read
    /// whole (many hashes) or a bucket at a time (a few), spilled or in memory.
    #[test]
    fn batched_lookups_and_inserts_agree_with_single_ones() -> io::Result<()> {
        for spill_at in [50_000, usize::MAX] {
            let mut batched = PartMap::with_spill_at(spill_at);
            let mut single = PartMap::with_spill_at(spill_at);
            // About 940 entries a shard: 20 hashes are looked up a bucket at a time, 60,000 by
            // reading each shard whole.
            let (plain, inserted) = filled(&mut batched, 300_000)?;
            filled(&mut single, 300_000)?;
            let mut next = hashes();
            for size in [60_000, 20] {
                // Known and new hashes, one hash twice with two parts (the first one wins).
                let mut batch: Vec<(u64, u32)> = inserted
                    .iter()
                    .take(size / 2)
                    .map(|&hash| (hash, 7_000))
                    .chain((0..size / 2).map(|_| (next().rotate_left(29), 8_000)))
                    .collect();
                batch.push((batch[size - 1].0, 9_000));
                let hashes: Vec<u64> = batch.iter().map(|&(hash, _)| hash).collect();
                let expected: Vec<Option<u32>> = hashes
                    .iter()
                    .map(|hash| single.get(*hash))
                    .collect::<io::Result<_>>()?;
                assert_eq!(batched.get_many(&hashes)?, expected);
                let expected: Vec<Option<u32>> = batch
                    .iter()
                    .map(|&(hash, part)| single.get_or_insert(hash, part))
                    .collect::<io::Result<_>>()?;
                assert_eq!(batched.get_or_insert_many(&batch)?, expected);
                assert_eq!(batched.len(), single.len());
                for &hash in &hashes {
                    assert_eq!(batched.get(hash)?, single.get(hash)?);
                }
            }
            assert_eq!(batched.is_spilled(), spill_at == 50_000);
            agrees(&batched, &plain, &inserted[inserted.len() / 2..])?;
        }
        Ok(())
    }

    #[test]
    fn a_listing_loads_back_in_memory_or_spilled_and_disorder_is_refused() -> io::Result<()> {
        let mut map = PartMap::default();
        let (plain, inserted) = filled(&mut map, 20_000)?;
        let mut listed = Vec::new();
        map.for_each(|hash, part| listed.push((hash, part)))?;
        for spill_at in [usize::MAX, 1_000] {
            let loaded = PartMap::from_sorted(listed.iter().copied(), spill_at)?.expect("in order");
            assert_eq!(loaded.is_spilled(), spill_at == 1_000);
            agrees(&loaded, &plain, &inserted)?;
        }
        listed.swap(3, 4);
        let refused = PartMap::from_sorted(listed.iter().copied(), usize::MAX)?;
        assert!(refused.is_none());
        Ok(())
    }

    #[test]
    fn a_spilled_directory_stays_bounded() {
        let mut next = hashes();
        let mut spread: Vec<u64> = (0..1_000_000).map(|_| next()).collect();
        spread.sort_unstable_by_key(|&hash| hash << 8);
        for (entries, bits) in [(1_000_000, 12), (100, 2), (0, 0)] {
            let (starts, got) = directory(&spread[..entries], SPILLED_BUCKET_BITS);
            assert_eq!((starts.len(), got), ((1 << bits) + 1, bits));
            assert!(starts.windows(2).all(|pair| pair[0] <= pair[1]));
            assert_eq!(starts.last(), Some(&(entries as u32)));
        }
        let (starts, bits) = directory(&spread, MEMORY_BUCKET_BITS);
        assert_eq!(
            (starts.len(), bits),
            ((1 << 15) + 1, 15),
            "about 16 a bucket in memory"
        );
    }
}
