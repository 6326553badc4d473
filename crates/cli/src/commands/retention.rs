//! `examlake retention`: drop old report archives; a dry run unless `--apply`.
//!
//! Raw files are not expired: every transform rebuilds the tables from all raw data, so deleting
//! raw files would delete attempts from the tables. Raw retention waits for the incremental
//! transform (issue 3).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::{NaiveDate, Utc};

use crate::cli::RetentionArgs;
use crate::exit::UsageError;

pub fn retention(args: &RetentionArgs) -> Result<()> {
    if args.keep_days < 0 {
        return Err(UsageError(format!(
            "--keep-days {} must not be negative",
            args.keep_days
        ))
        .into());
    }
    if !args.reports.is_dir() {
        return Err(UsageError(format!(
            "reports directory {} does not exist",
            args.reports.display()
        ))
        .into());
    }
    let today = Utc::now().date_naive();
    let expired = expired_report_dirs(&args.reports, today, args.keep_days)?;
    let verb = if args.apply {
        "deleted"
    } else {
        "would delete"
    };
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
    Ok(())
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
