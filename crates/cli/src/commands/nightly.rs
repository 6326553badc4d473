//! `examlake nightly`: the unattended job, per tenant: ingest the drop folder's files, transform,
//! write every report, move `latest`; a lock keeps two runs apart; a summary says what happened.
//!
//! Re-running is safe: ingest resumes after what is already landed, the transform rebuilds from
//! all raw data, and reports overwrite the same dated directory.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::Utc;
use examlake_core::{storage, TenantId};
use examlake_ingest::DEFAULT_MAX_RECORD_BYTES;
use examlake_reports::{run as run_reports, ReportRunConfig};
use examlake_transform::{DataQualityRules, Status, Thresholds};
use serde_json::json;

use super::{ingest, transform};
use crate::cli::NightlyArgs;
use crate::exit::{DataQualityError, LockedError, PartialFailure, UsageError};

/// One tenant's outcome.
#[derive(Debug, serde::Serialize)]
struct TenantOutcome {
    tenant: String,
    status: &'static str,
    files: usize,
    attempts_added: u64,
    quarantined: u64,
    dq_warnings: usize,
    dq_errors: usize,
    reports_written: usize,
    duration_secs: f64,
    error: Option<String>,
}

pub fn nightly(args: &NightlyArgs, quiet: bool) -> Result<()> {
    if !args.drop.is_dir() {
        return Err(UsageError(format!(
            "drop folder {} does not exist",
            args.drop.display()
        ))
        .into());
    }
    fs::create_dir_all(&args.reports)
        .with_context(|| format!("creating {}", args.reports.display()))?;
    let lock_path = args
        .lock
        .clone()
        .unwrap_or_else(|| args.reports.join(".nightly.lock"));
    let _lock = Lock::acquire(&lock_path)?;
    let date = Utc::now().date_naive();
    let outcomes: Vec<TenantOutcome> = tenants(&args.drop)?
        .into_iter()
        .map(|(tenant, dir)| run_tenant(args, &tenant, &dir, date, quiet))
        .collect();
    for o in &outcomes {
        println!(
            "nightly {}: {} — {} files, {} attempts added, {} quarantined, {} DQ warnings, {} DQ errors, {} report files, {:.1}s{}",
            o.tenant, o.status, o.files, o.attempts_added, o.quarantined, o.dq_warnings, o.dq_errors, o.reports_written, o.duration_secs,
            o.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
        );
    }
    let summary = json!({ "date": date.to_string(), "finished_at": Utc::now().to_rfc3339(), "tenants": outcomes });
    let summary_path = args.reports.join(format!("nightly-{date}.json"));
    fs::write(&summary_path, serde_json::to_vec_pretty(&summary)?)
        .with_context(|| format!("writing {}", summary_path.display()))?;
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.status == "failed")
        .map(|o| o.tenant.as_str())
        .collect();
    let dq: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.status == "dq-error")
        .map(|o| o.tenant.as_str())
        .collect();
    if !failed.is_empty() {
        return Err(PartialFailure(format!(
            "nightly run failed for tenant(s) {}; see {}",
            failed.join(", "),
            summary_path.display()
        ))
        .into());
    }
    if !dq.is_empty() {
        return Err(DataQualityError(format!(
            "tenant(s) {}; see {}",
            dq.join(", "),
            summary_path.display()
        ))
        .into());
    }
    Ok(())
}

/// Tenant sub-folders of the drop folder; a folder that is not a valid tenant id is an error.
fn tenants(drop: &Path) -> Result<Vec<(TenantId, PathBuf)>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(drop).with_context(|| format!("listing {}", drop.display()))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let tenant = TenantId::parse(&name)
                .map_err(|e| UsageError(format!("drop folder {}: {e}", entry.path().display())))?;
            found.push((tenant, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

fn run_tenant(
    args: &NightlyArgs,
    tenant: &TenantId,
    dir: &Path,
    date: chrono::NaiveDate,
    quiet: bool,
) -> TenantOutcome {
    let started = Instant::now();
    let mut outcome = TenantOutcome {
        tenant: tenant.to_string(),
        status: "ok",
        files: 0,
        attempts_added: 0,
        quarantined: 0,
        dq_warnings: 0,
        dq_errors: 0,
        reports_written: 0,
        duration_secs: 0.0,
        error: None,
    };
    if let Err(error) = run_tenant_steps(args, tenant, dir, date, quiet, &mut outcome) {
        outcome.status = "failed";
        outcome.error = Some(crate::exit::message(&error));
    }
    outcome.duration_secs = started.elapsed().as_secs_f64();
    outcome
}

fn run_tenant_steps(
    args: &NightlyArgs,
    tenant: &TenantId,
    dir: &Path,
    date: chrono::NaiveDate,
    quiet: bool,
    outcome: &mut TenantOutcome,
) -> Result<()> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| is_input(p))
        .collect();
    files.sort();
    for file in &files {
        let landed = ingest::ingest_file(
            file,
            tenant,
            &args.warehouse.warehouse,
            args.batch_records,
            DEFAULT_MAX_RECORD_BYTES,
            quiet,
        )?;
        outcome.attempts_added += landed.landed;
        outcome.quarantined += landed.quarantined;
    }
    outcome.files = files.len();
    let store = storage::open(&args.warehouse.warehouse)?;
    let summary = transform::transform_tenant(
        store.as_ref(),
        tenant,
        &DataQualityRules::standard(),
        &Thresholds::default(),
        quiet,
    )?;
    outcome.dq_warnings = summary
        .rules
        .iter()
        .filter(|r| r.status == Status::Warn)
        .count();
    outcome.dq_errors = summary
        .rules
        .iter()
        .filter(|r| r.status == Status::Error)
        .count();
    let config = ReportRunConfig::all(tenant.clone(), args.reports.clone(), date);
    let output = run_reports(&config, store.as_ref())?;
    outcome.reports_written = output.files.len();
    if let Some(dated) = &output.dir {
        point_latest(dated)?;
    }
    if outcome.dq_errors > 0 {
        outcome.status = "dq-error";
    }
    Ok(())
}

fn is_input(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.is_file()
        && [
            ".ndjson",
            ".json",
            ".ndjson.gz",
            ".json.gz",
            ".jsonl",
            ".jsonl.gz",
        ]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// `<reports>/<tenant>/latest` → the dated directory, replaced atomically.
fn point_latest(dated: &Path) -> Result<()> {
    let parent = dated.parent().context("report directory has no parent")?;
    let target = dated.file_name().context("report directory has no name")?;
    let temp = parent.join(".latest.tmp");
    let _ = fs::remove_file(&temp);
    std::os::unix::fs::symlink(target, &temp)
        .with_context(|| format!("linking {}", temp.display()))?;
    fs::rename(&temp, parent.join("latest"))
        .with_context(|| format!("moving latest in {}", parent.display()))?;
    Ok(())
}

/// An exclusive lock file holding the owner's pid; a lock whose pid is gone is taken over.
struct Lock {
    path: PathBuf,
}

impl Lock {
    fn acquire(path: &Path) -> Result<Lock> {
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    writeln!(file, "{}", std::process::id())?;
                    return Ok(Lock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = fs::read_to_string(path)
                        .unwrap_or_default()
                        .trim()
                        .parse::<u32>()
                        .ok();
                    match owner {
                        Some(pid) if Path::new(&format!("/proc/{pid}")).exists() => {
                            return Err(LockedError(format!(
                                "another nightly run (pid {pid}) holds {}; not starting a second one",
                                path.display()
                            ))
                            .into())
                        }
                        _ => {
                            tracing::warn!(message = "taking over a stale nightly lock", path = %path.display());
                            fs::remove_file(path).with_context(|| format!("removing stale lock {}", path.display()))?;
                        }
                    }
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("creating lock {}", path.display()))
                }
            }
        }
        Err(LockedError(format!(
            "could not take the nightly lock {}",
            path.display()
        ))
        .into())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}
