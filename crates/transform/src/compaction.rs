//! Merging runs of small parts into one part.
//!
//! Every batch adds a part to each table (two when it has at least twice
//! `recent_part_attempts` kept attempts). A tenant transformed nightly in small increments would therefore gain a part
//! per night and table for ever, and every reader (reports, `exams`, the key index) opens every
//! part. At the end of a run that applied new data, consecutive small parts are merged into one
//! new part, so a tenant has about one part per `batch_records / 4` kept attempts however it
//! arrived.
//!
//! The merged part gets a new id, so its files never overwrite a file the committed manifest
//! names: a run killed before its manifest is saved leaves the old parts in place, and the next
//! run removes the unreferenced new files. Rows keep their order; `option_counts` and
//! `question_counts` are derived again from the merged part, like any part's.

use std::collections::HashMap;
use std::ops::Range;

use examlake_core::layout::Table;
use examlake_core::{Storage, TenantId};
use polars::prelude::*;

use crate::batch;
use crate::error::{building, Result};
use crate::manifest::{Manifest, Part};
use crate::scan;
use crate::sink;

/// The fewest small parts worth merging. Two would rewrite the merged part nearly every night;
/// with four, drops of 2,000 attempts are rewritten about 1.5 times each on average.
const MIN_RUN: usize = 4;

/// Which runs of `parts` to merge: consecutive parts each holding fewer than `small` kept
/// attempts, at least [`MIN_RUN`] of them, at most `cap` kept attempts together. The newest part
/// is never merged: it holds the latest arrivals, which a redelivery rewrites, so it stays small.
pub fn merge_plan(parts: &[Part], small: usize, cap: usize) -> Vec<Range<usize>> {
    let mergeable = parts.len().saturating_sub(1);
    let mut plan = Vec::new();
    let mut start = 0;
    while start < mergeable {
        let mut end = start;
        let mut attempts = 0;
        while end < mergeable
            && parts[end].assessments < small
            && attempts + parts[end].assessments <= cap
        {
            attempts += parts[end].assessments;
            end += 1;
        }
        if end - start >= MIN_RUN {
            plan.push(start..end);
        }
        start = end.max(start + 1);
    }
    plan
}

/// Merge the runs of small parts [`merge_plan`] picks, writing the merged parts' files and
/// replacing the runs by them in `manifest` (the caller saves it). Returns the id of the part
/// that replaced each merged one.
pub fn compact(
    store: &dyn Storage,
    tenant: &TenantId,
    manifest: &mut Manifest,
    small: usize,
    cap: usize,
) -> Result<HashMap<u32, u32>> {
    let plan = merge_plan(&manifest.parts, small, cap);
    let mut merged_into = HashMap::new();
    // From the back, so the ranges still point at the same parts.
    for run in plan.into_iter().rev() {
        let merged = merged_part(
            store,
            tenant,
            &manifest.parts[run.clone()],
            manifest.next_part,
        )?;
        sink::write_all(store, &merged.files)?;
        for part in &manifest.parts[run.clone()] {
            merged_into.insert(part.id, merged.part.id);
        }
        manifest.next_part += 1;
        manifest.parts.splice(run, [merged.part]);
    }
    Ok(merged_into)
}

/// A part made of `parts`, in their order, numbered `id`: its entry and its encoded files.
struct Merged {
    part: Part,
    files: Vec<sink::Encoded>,
}

fn merged_part(store: &dyn Storage, tenant: &TenantId, parts: &[Part], id: u32) -> Result<Merged> {
    let stacked = |table: Table| -> Result<DataFrame> {
        let frames = parts
            .iter()
            .map(|part| scan::read_table_file(store, &part.key(tenant, table), None))
            .collect::<Result<Vec<_>>>()?;
        stack(frames, table.name())
    };
    let tables = [
        stacked(Table::Assessments)?,
        stacked(Table::Questions)?,
        stacked(Table::Options)?,
    ];
    let part = batch::sized(id, &tables)?;
    let mut files = batch::encode_part_tables(tenant, &part, &tables)?;
    let quarantines = parts
        .iter()
        .map(|part| scan::read_table_file(store, &part.quarantine_key(tenant), None))
        .collect::<Result<Vec<_>>>()?;
    let mut quarantine = stack(quarantines, "quarantine")?;
    files.push(sink::encode_parquet(
        &part.quarantine_key(tenant),
        &mut quarantine,
    )?);
    Ok(Merged { part, files })
}

/// `frames` one after the other.
fn stack(frames: Vec<DataFrame>, table: &'static str) -> Result<DataFrame> {
    let mut frames = frames.into_iter();
    let mut stacked = frames.next().unwrap_or_default();
    for frame in frames {
        stacked.vstack_mut_owned(frame).map_err(building(table))?;
    }
    stacked.rechunk_mut();
    Ok(stacked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(sizes: &[usize]) -> Vec<Part> {
        sizes
            .iter()
            .enumerate()
            .map(|(id, &assessments)| Part {
                id: id as u32,
                assessments,
                ..Part::default()
            })
            .collect()
    }

    #[test]
    fn runs_of_small_parts_are_merged_but_never_the_newest() {
        // Nightly drops of 3,000 attempts: all but the newest merge, up to the cap.
        assert_eq!(merge_plan(&parts(&[3000; 6]), 12_500, 50_000), vec![0..5]);
        assert_eq!(
            merge_plan(&parts(&[3000; 10]), 12_500, 12_000),
            vec![0..4, 4..8]
        );
        // Too few to be worth it: three small parts beside the newest, or fewer.
        assert!(merge_plan(&parts(&[3000; 4]), 12_500, 50_000).is_empty());
        assert!(merge_plan(&parts(&[3000]), 12_500, 50_000).is_empty());
        assert!(merge_plan(&parts(&[]), 12_500, 50_000).is_empty());
    }

    #[test]
    fn a_merge_that_cannot_read_its_parts_changes_nothing() -> std::result::Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let store =
            examlake_core::storage::LocalStorage::new(dir.path()).map_err(|e| e.to_string())?;
        let tenant = TenantId::parse("acme").map_err(|e| e.to_string())?;
        // Five small parts whose files are not there.
        let mut manifest = Manifest {
            parts: parts(&[10; 5]),
            next_part: 5,
            ..Manifest::default()
        };
        let before = manifest.clone();
        let failed = compact(&store, &tenant, &mut manifest, 100, 1000);
        assert!(
            matches!(failed, Err(crate::TransformError::Storage(_))),
            "{failed:?}"
        );
        assert_eq!(manifest, before);
        Ok(())
    }

    #[test]
    fn a_full_build_of_large_batches_is_left_alone() {
        // Each batch: its main part, then its latest arrivals (5,000).
        let full_build = parts(&[45_000, 5_000, 45_000, 5_000, 45_000, 5_000]);
        assert!(merge_plan(&full_build, 12_500, 50_000).is_empty());
        // Small parts between large ones merge only with their small neighbours.
        let mixed = parts(&[
            45_000, 5_000, 2_000, 45_000, 1_000, 1_000, 1_000, 1_000, 45_000, 10,
        ]);
        assert_eq!(merge_plan(&mixed, 12_500, 50_000), vec![4..8]);
    }
}
