//! `examlake retention`: drop old report archives and, with `--raw-keep-days`, old raw files
//! the transform has already applied; a dry run unless `--apply`.
//!
//! Retiring a raw file never removes an attempt: the tables are incremental and keep what was
//! applied. What is lost is the ability to rebuild those attempts from raw (a `--full-rebuild`
//! then refuses, naming the retired files). The newest raw file of each source/partition is
//! always kept, because ingest resumes from the landed file names. Raw files are deleted under
//! the tenant's transform lock: a tenant whose transform is running is skipped, the other tenants
//! and the report archives are still processed, and `--apply` then exits 5 naming the skipped
//! tenants. The temporary files of ingests killed mid-write two or more days ago go with them.

use std::fs;
use std::path::{Path, PathBuf};

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};
use examlake_core::layout::{self, Key};
use examlake_core::{storage, Storage, TenantId};
use examlake_transform::lock::TransformLock;
use examlake_transform::manifest::Manifest;
use examlake_transform::TransformError;

use crate::cli::RetentionArgs;
use crate::exit::{LockedError, UsageError};

pub fn retention(args: &RetentionArgs) -> Result<()> {
    if args.keep_days < 0 {
        return Err(UsageError(format!(
            "--keep-days {} must not be negative",
            args.keep_days
        ))
        .into());
    }
    if args.raw_keep_days.is_some_and(|days| days < 0) {
        return Err(UsageError("--raw-keep-days must not be negative".to_string()).into());
    }
    if !args.reports.is_dir() && args.raw_keep_days.is_none() {
        return Err(UsageError(format!(
            "reports directory {} does not exist",
            args.reports.display()
        ))
        .into());
    }
    let today = Utc::now().date_naive();
    let verb = if args.apply {
        "deleted"
    } else {
        "would delete"
    };
    // Raw files first; a tenant skipped because its transform runs fails the run only after the
    // report archives are done too.
    let raw_retired = match args.raw_keep_days {
        Some(raw_days) => retire_raw(args, today, raw_days, verb),
        None => Ok(()),
    };
    if !args.reports.is_dir() {
        return raw_retired;
    }
    let expired = expired_report_dirs(&args.reports, today, args.keep_days)?;
    for dir in &expired {
        if args.apply {
            fs::remove_dir_all(dir).with_context(|| format!("deleting {}", dir.display()))?;
        }
        println!("{verb} {}", dir.display());
    }
    println!(
        "retention: {} report director{} older than {} days {verb}{}",
        expired.len(),
        if expired.len() == 1 { "y" } else { "ies" },
        args.keep_days,
        if args.apply {
            ""
        } else {
            " (dry run; pass --apply to delete)"
        }
    );
    raw_retired
}

/// Retire every tenant's applied raw files older than `keep_days`. A tenant whose transform is
/// running is skipped (the others are still processed); the run then ends with exit code 5,
/// naming every skipped tenant.
fn retire_raw(args: &RetentionArgs, today: NaiveDate, keep_days: i64, verb: &str) -> Result<()> {
    let store = storage::open(&args.warehouse)?;
    let mut skipped: Vec<String> = Vec::new();
    for tenant in layout::tenants(store.as_ref())? {
        match retire_tenant_raw(store.as_ref(), &tenant, args, today, keep_days, verb) {
            Err(error) if is_locked(&error) => {
                eprintln!("retention: tenant {tenant} skipped: {error:#}");
                skipped.push(tenant.to_string());
            }
            other => other.with_context(|| format!("retiring raw files of tenant {tenant}"))?,
        }
    }
    if skipped.is_empty() {
        return Ok(());
    }
    Err(LockedError(format!(
        "raw files of tenant{} {} not retired: a transform holds the lock (run again once it ends, or pass --break-lock if its holder is gone)",
        if skipped.len() == 1 { "" } else { "s" },
        skipped.join(", ")
    ))
    .into())
}

fn is_locked(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| matches!(cause.downcast_ref(), Some(TransformError::Locked { .. })))
}

/// Retire one tenant's applied raw files older than `keep_days`, and its abandoned temporary files.
fn retire_tenant_raw(
    store: &dyn Storage,
    tenant: &TenantId,
    args: &RetentionArgs,
    today: NaiveDate,
    keep_days: i64,
    verb: &str,
) -> Result<()> {
    // Deleting under the tenant's transform lock: a full rebuild listing raw files never
    // finds one gone half-way, and the manifest read here is the one the deletions follow.
    let _lock = args
        .apply
        .then(|| TransformLock::acquire(store, tenant, args.break_lock))
        .transpose()?;
    let applied: BTreeSet<String> = Manifest::load(store, tenant)?
        .map(|m| m.processed.into_iter().map(|r| r.key).collect())
        .unwrap_or_default();
    let listing: Vec<String> = store
        .list(&layout::raw_dir(tenant))?
        .iter()
        .map(|k| k.to_string())
        .collect();
    let plan = raw_retirement(&listing, &applied, today, keep_days);
    for key in &plan.retire {
        if args.apply {
            store.delete(&Key::parse(key)?)?;
        }
        println!("{verb} {}", key);
    }
    let mut unfinished = Vec::new();
    for dir in [
        layout::raw_dir(tenant),
        layout::ingest_quarantine_dir(tenant),
    ] {
        unfinished.extend(store.list_unfinished(&dir)?.iter().map(Key::to_string));
    }
    let abandoned = abandoned_writes(&unfinished, today);
    for key in &abandoned {
        if args.apply {
            store.delete(&Key::parse(key)?)?;
        }
        println!("{verb} {key}");
    }
    if !abandoned.is_empty() {
        println!(
            "retention: tenant {tenant}: {} unfinished write{} of killed ingests {verb}",
            abandoned.len(),
            if abandoned.len() == 1 { "" } else { "s" },
        );
    }
    println!(
        "retention: tenant {tenant}: {} raw file{} older than {keep_days} days {verb}; kept {} not yet transformed and {} newest per source",
        plan.retire.len(),
        if plan.retire.len() == 1 { "" } else { "s" },
        plan.not_applied,
        plan.resume_markers,
    );
    Ok(())
}

/// Which raw files to retire.
#[derive(Debug, Default, PartialEq)]
struct RawRetirement {
    retire: Vec<String>,
    /// Old enough but not yet applied by the transform: kept.
    not_applied: usize,
    /// Old enough and applied, but the newest of their source/partition: kept for resuming.
    resume_markers: usize,
}

/// Pure: from raw keys `.../date=<d>/<slug>-<first>-<last>.parquet`, the applied ones landed more
/// than `keep_days` before `today`, except the newest (highest last position) per slug.
fn raw_retirement(
    keys: &[String],
    applied: &BTreeSet<String>,
    today: NaiveDate,
    keep_days: i64,
) -> RawRetirement {
    let parsed: Vec<(&String, NaiveDate, &str, i64)> = keys
        .iter()
        .filter_map(|key| {
            let mut segments = key.rsplit('/');
            let name = segments.next()?.strip_suffix(".parquet")?;
            let date = segments.next()?.strip_prefix("date=")?;
            let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
            let mut parts = name.rsplitn(3, '-');
            let last = parts.next()?.parse::<i64>().ok()?;
            parts.next()?.parse::<i64>().ok()?;
            Some((key, date, parts.next()?, last))
        })
        .collect();
    let mut newest: BTreeMap<&str, i64> = BTreeMap::new();
    for (_, _, slug, last) in &parsed {
        let entry = newest.entry(slug).or_insert(*last);
        *entry = (*entry).max(*last);
    }
    let mut plan = RawRetirement::default();
    for (key, date, slug, last) in parsed {
        if (today - date).num_days() <= keep_days {
            continue;
        }
        if !applied.contains(key.as_str()) {
            plan.not_applied += 1;
        } else if newest.get(slug) == Some(&last) {
            plan.resume_markers += 1;
        } else {
            plan.retire.push(key.clone());
        }
    }
    plan.retire.sort();
    plan
}

/// Pure: the temporary files of killed ingests among `unfinished` (keys
/// `.../date=<d>/.<name>.<pid>.inprogress`). Ingest writes into the directory of the day it lands
/// on (UTC), and a write takes seconds, so a temporary file dated two or more days before `today`
/// is no write in flight: it was left by an ingest killed mid-write. Newer ones are left alone.
fn abandoned_writes(unfinished: &[String], today: NaiveDate) -> Vec<String> {
    let mut abandoned: Vec<String> = unfinished
        .iter()
        .filter(|key| {
            key.rsplit('/')
                .nth(1)
                .and_then(|dir| dir.strip_prefix("date="))
                .and_then(|date| NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
                .is_some_and(|date| (today - date).num_days() >= 2)
        })
        .cloned()
        .collect();
    abandoned.sort();
    abandoned
}

/// Dated report directories (`<reports>/<tenant>/<YYYY-MM-DD>`) older than `keep_days`, except the
/// one each tenant's `latest` points to. Pure apart from reading the directory listing.
fn expired_report_dirs(reports: &Path, today: NaiveDate, keep_days: i64) -> Result<Vec<PathBuf>> {
    let mut expired = Vec::new();
    for tenant in fs::read_dir(reports)
        .with_context(|| format!("listing {}", reports.display()))?
        .flatten()
    {
        if !tenant.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let latest = fs::read_link(tenant.path().join("latest")).ok();
        for dated in fs::read_dir(tenant.path())?.flatten() {
            let name = dated.file_name().to_string_lossy().into_owned();
            let Ok(date) = NaiveDate::parse_from_str(&name, "%Y-%m-%d") else {
                continue;
            };
            let is_latest = latest.as_deref().is_some_and(|l| l == Path::new(&name));
            if (today - date).num_days() > keep_days
                && !is_latest
                && dated.file_type().is_ok_and(|t| t.is_dir())
            {
                expired.push(dated.path());
            }
        }
    }
    expired.sort();
    Ok(expired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_retirement_keeps_recent_unapplied_and_the_newest_per_source() {
        let key = |date: &str, slug: &str, first: i64, last: i64| {
            format!("tenant=a/raw/date={date}/{slug}-{first:012}-{last:012}.parquet")
        };
        let keys = vec![
            key("2026-01-01", "assessments.a-p0", 0, 9),
            key("2026-01-02", "assessments.a-p0", 10, 19),
            key("2026-01-03", "assessments.a-p0", 20, 29),
            key("2026-01-01", "assessments.a-p1", 0, 4),
            key("2026-01-01", "drop-a.ndjson", 1, 100),
            key("2026-01-01", "late.ndjson", 1, 5),
            key("2026-03-01", "assessments.a-p1", 5, 9),
        ];
        let applied: BTreeSet<String> = keys[..5].iter().cloned().collect();
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
        let plan = raw_retirement(&keys, &applied, today, 30);
        assert_eq!(
            plan.retire,
            vec![keys[0].clone(), keys[3].clone(), keys[1].clone()]
        );
        // p0's newest and the drop file are resume markers; late.ndjson is not applied yet;
        // the March file is recent.
        assert_eq!(plan.resume_markers, 2);
        assert_eq!(plan.not_applied, 1);
    }

    #[test]
    fn only_temporary_files_dated_two_or_more_days_back_are_abandoned() {
        let unfinished = vec![
            "tenant=a/raw/date=2026-02-27/.x-000000000001-000000000009.parquet.41.inprogress"
                .to_string(),
            "tenant=a/raw/date=2026-02-28/.x-000000000010-000000000019.parquet.42.inprogress"
                .to_string(),
            "tenant=a/raw/date=2026-03-01/.x-000000000020-000000000029.parquet.43.inprogress"
                .to_string(),
            "tenant=a/quarantine/ingest/date=2026-01-05/.y.parquet.7.inprogress".to_string(),
            "tenant=a/raw/undated/.z.parquet.8.inprogress".to_string(),
        ];
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
        assert_eq!(
            abandoned_writes(&unfinished, today),
            vec![unfinished[3].clone(), unfinished[0].clone()]
        );
    }
}
