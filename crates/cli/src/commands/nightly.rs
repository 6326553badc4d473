//! `examlake nightly`: the unattended job. With `--brokers`, first land every tenant topic up to
//! its high watermark; then per tenant: ingest the drop folder's new files, transform, write every
//! report, move `latest`. A lock keeps two runs apart; a summary says what happened.
//!
//! Re-running is safe: ingest resumes after what is already landed, the transform rebuilds from
//! all raw data, and reports overwrite the same dated directory. A tenant whose raw data has not
//! changed since today's reports were published is left as it is ("unchanged").

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::Utc;
use std::collections::BTreeMap;

use examlake_core::{layout, storage, Storage, TenantId};
use examlake_ingest::kafka::{LandingSummary, TenantCounts};
use examlake_ingest::DEFAULT_MAX_RECORD_BYTES;
use examlake_reports::{run as run_reports, ReportRunConfig};
use examlake_transform::{Status, TransformConfig};
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
    /// Upkeep of the transform that failed without failing it (see `RunStats::warnings`).
    upkeep_warnings: Vec<String>,
}

pub fn nightly(args: &NightlyArgs, quiet: bool) -> Result<()> {
    if args.drop.is_none() && args.kafka.brokers.is_none() {
        return Err(UsageError(
            "nothing to ingest from: give --drop DIR (EXAMLAKE_DROP) and/or --brokers (EXAMLAKE_BROKERS)".into(),
        )
        .into());
    }
    if let Some(drop) = args.drop.as_ref().filter(|d| !d.is_dir()) {
        return Err(UsageError(format!("drop folder {} does not exist", drop.display())).into());
    }
    fs::create_dir_all(&args.reports)
        .with_context(|| format!("creating {}", args.reports.display()))?;
    let lock_path = args
        .lock
        .clone()
        .unwrap_or_else(|| args.reports.join(".nightly.lock"));
    let _lock = Lock::acquire(&lock_path)?;
    let date = Utc::now().date_naive();
    let store = storage::open(&args.warehouse.warehouse)?;
    let kafka = kafka_catch_up(args);
    let outcomes: Vec<TenantOutcome> = tenants(args, store.as_ref(), &kafka)?
        .into_iter()
        .map(|(tenant, dir)| run_tenant(args, &tenant, dir.as_deref(), &kafka, date, quiet))
        .collect();
    for o in &outcomes {
        println!(
            "nightly {}: {} — {} files, {} attempts added, {} quarantined, {} DQ warnings, {} DQ errors, {} report files, {:.1}s{}",
            o.tenant, o.status, o.files, o.attempts_added, o.quarantined, o.dq_warnings, o.dq_errors, o.reports_written, o.duration_secs,
            o.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()
        );
        for warning in &o.upkeep_warnings {
            println!("  warning: {warning}");
        }
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

/// The Kafka step's outcome: what landed per tenant, or why it failed (every tenant then reports
/// the failure, and is still rebuilt from what was landed before).
type KafkaOutcome = Option<std::result::Result<LandingSummary, String>>;

fn kafka_catch_up(args: &NightlyArgs) -> KafkaOutcome {
    args.kafka.brokers.as_ref()?;
    Some(
        ingest::catch_up(
            &args.kafka,
            &args.group,
            &args.warehouse.warehouse,
            args.batch_records,
        )
        .map_err(|e| format!("kafka catch-up: {}", crate::exit::message(&e))),
    )
}

/// Every tenant to process: drop sub-folders, tenants Kafka just landed data for, and tenants
/// already in the warehouse. A drop folder that is not a valid tenant id is an error.
fn tenants(
    args: &NightlyArgs,
    store: &dyn Storage,
    kafka: &KafkaOutcome,
) -> Result<Vec<(TenantId, Option<PathBuf>)>> {
    let mut found: BTreeMap<TenantId, Option<PathBuf>> = BTreeMap::new();
    if let Some(drop) = &args.drop {
        for entry in fs::read_dir(drop).with_context(|| format!("listing {}", drop.display()))? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let tenant = TenantId::parse(&name).map_err(|e| {
                    UsageError(format!("drop folder {}: {e}", entry.path().display()))
                })?;
                found.insert(tenant, Some(entry.path()));
            }
        }
    }
    if let Some(Ok(summary)) = kafka {
        for name in summary.per_tenant.keys() {
            if let Ok(tenant) = TenantId::parse(name) {
                found.entry(tenant).or_insert(None);
            }
        }
    }
    for tenant in layout::tenants(store)? {
        found.entry(tenant).or_insert(None);
    }
    Ok(found.into_iter().collect())
}

fn run_tenant(
    args: &NightlyArgs,
    tenant: &TenantId,
    dir: Option<&Path>,
    kafka: &KafkaOutcome,
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
        upkeep_warnings: Vec::new(),
    };
    match kafka {
        Some(Ok(summary)) => {
            let counts: TenantCounts = summary
                .per_tenant
                .get(tenant.as_str())
                .copied()
                .unwrap_or_default();
            outcome.attempts_added += counts.landed;
            outcome.quarantined += counts.quarantined;
        }
        Some(Err(error)) => {
            outcome.status = "failed";
            outcome.error = Some(error.clone());
        }
        None => {}
    }
    if let Err(error) = run_tenant_steps(args, tenant, dir, date, quiet, &mut outcome) {
        outcome.status = "failed";
        let message = crate::exit::message(&error);
        outcome.error = Some(match outcome.error.take() {
            Some(kafka_error) => format!("{kafka_error}; {message}"),
            None => message,
        });
    }
    outcome.duration_secs = started.elapsed().as_secs_f64();
    outcome
}

fn run_tenant_steps(
    args: &NightlyArgs,
    tenant: &TenantId,
    dir: Option<&Path>,
    date: chrono::NaiveDate,
    quiet: bool,
    outcome: &mut TenantOutcome,
) -> Result<()> {
    let mut files: Vec<PathBuf> = match dir {
        Some(dir) => fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_input(p))
            .collect(),
        None => Vec::new(),
    };
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
    let inputs = raw_fingerprint(store.as_ref(), tenant)?;
    let tenant_reports = args.reports.join(tenant.as_str());
    if published_inputs(&tenant_reports, date).as_deref() == Some(inputs.as_str()) {
        // Nothing new: the published reports stand, and so does their data-quality verdict.
        let (warnings, errors) = published_dq_counts(store.as_ref(), tenant);
        outcome.dq_warnings = warnings;
        outcome.dq_errors = errors;
        if outcome.status == "ok" {
            outcome.status = if errors > 0 { "dq-error" } else { "unchanged" };
        }
        return Ok(());
    }
    let summary =
        transform::transform_tenant(store.as_ref(), TransformConfig::new(tenant.clone()), quiet)?;
    outcome.upkeep_warnings.clone_from(&summary.run.warnings);
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
        fs::write(dated.join(INPUTS_FILE), &inputs)
            .with_context(|| format!("writing {}", dated.join(INPUTS_FILE).display()))?;
        point_latest(dated)?;
    }
    if outcome.dq_errors > 0 {
        outcome.status = "dq-error";
    }
    Ok(())
}

/// Written beside the reports: the fingerprint of the raw data they were built from.
const INPUTS_FILE: &str = ".raw-inputs";

/// A fingerprint of a tenant's landed files (raw and ingest quarantine): their names carry source
/// and position ranges, and landed files are immutable, so equal names mean equal data.
fn raw_fingerprint(store: &dyn Storage, tenant: &TenantId) -> Result<String> {
    let mut keys = store.list(&layout::raw_dir(tenant))?;
    keys.extend(store.list(&layout::ingest_quarantine_dir(tenant))?);
    let hash = examlake_core::fingerprint::fnv1a64(
        keys.iter().flat_map(|k| k.as_str().bytes().chain([b'\n'])),
    );
    Ok(format!("{} files {hash:016x}", keys.len()))
}

/// Warn and error counts of the last transform's data-quality report.
fn published_dq_counts(store: &dyn Storage, tenant: &TenantId) -> (usize, usize) {
    let report: serde_json::Value = store
        .read(&layout::data_quality_file(tenant))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default();
    let count = |status: &str| {
        report["rules"].as_array().map_or(0, |rules| {
            rules.iter().filter(|r| r["status"] == status).count()
        })
    };
    (count("warn"), count("error"))
}

/// The fingerprint today's published reports were built from, if `latest` is today's.
fn published_inputs(tenant_reports: &Path, date: chrono::NaiveDate) -> Option<String> {
    let target = fs::read_link(tenant_reports.join("latest")).ok()?;
    if target.as_os_str() != date.to_string().as_str() {
        return None;
    }
    fs::read_to_string(tenant_reports.join("latest").join(INPUTS_FILE)).ok()
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

/// An exclusive lock file holding the owner's pid and start (clock ticks after boot); a lock whose
/// pid is gone, or now belongs to a process with another start, is taken over.
struct Lock {
    path: PathBuf,
}

impl Lock {
    fn acquire(path: &Path) -> Result<Lock> {
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    // The pid and the process's start: a later process given the same pid is
                    // not this run.
                    let me = std::process::id();
                    match examlake_core::process::process_start_ticks(me) {
                        Some(ticks) => writeln!(file, "{me} {ticks}")?,
                        None => writeln!(file, "{me}")?,
                    }
                    return Ok(Lock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(path).unwrap_or_default();
                    let mut fields = text.split_whitespace();
                    let owner = fields.next().and_then(|pid| pid.parse::<u32>().ok());
                    let start_ticks = fields.next().and_then(|ticks| ticks.parse::<u64>().ok());
                    match owner {
                        Some(pid) if examlake_core::process::lock_holder_runs(pid, start_ticks) => {
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
