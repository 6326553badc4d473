//! `examlake ingest --from-file` and `examlake ingest --brokers`

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use examlake_core::storage;
use examlake_ingest::kafka::{
    run_landing, KafkaConnection, LandingConfig, LandingSummary, Rotation,
};
use examlake_ingest::{run_file, FileIngestConfig, IngestSummary};

use crate::cli::{IngestArgs, KafkaArgs};
use crate::exit::UsageError;
use crate::progress;

pub fn ingest(args: &IngestArgs, quiet: bool) -> Result<()> {
    match (&args.from_file, &args.tenant) {
        (Some(input), Some(tenant)) => {
            let summary = ingest_file(
                input,
                tenant,
                &args.warehouse.warehouse,
                args.batch_records,
                args.max_record_bytes,
                quiet,
            )?;
            print_summary(&summary, tenant);
            Ok(())
        }
        _ => {
            let summary = ingest_kafka(args)?;
            print_kafka_summary(&summary);
            Ok(())
        }
    }
}

/// Consume the tenant topics and land them, until caught up or until SIGINT/SIGTERM.
pub fn ingest_kafka(args: &IngestArgs) -> Result<LandingSummary> {
    let config = landing_config(args)?;
    land_from_kafka(&config, &args.warehouse.warehouse)
}

/// The nightly job's Kafka step: every tenant topic up to its start high watermark.
pub fn catch_up(
    kafka: &KafkaArgs,
    group: &str,
    warehouse: &str,
    batch_records: usize,
) -> Result<LandingSummary> {
    let config = LandingConfig {
        connection: connection(kafka)?,
        group_id: group.to_string(),
        only_tenant: None,
        rotation: Rotation {
            max_records: batch_records.max(1),
            ..Rotation::default()
        },
        max_record_bytes: examlake_ingest::DEFAULT_MAX_RECORD_BYTES,
        until_caught_up: true,
        status_every: Duration::from_secs(30),
        metadata_refresh: Duration::from_secs(10),
    };
    land_from_kafka(&config, warehouse)
}

fn land_from_kafka(config: &LandingConfig, warehouse: &str) -> Result<LandingSummary> {
    let store = storage::open(warehouse)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    tracing::info!(message = "ingesting from kafka", brokers = %config.connection.brokers, group = %config.group_id, until_caught_up = config.until_caught_up);
    Ok(run_landing(config, store, &stop)?)
}

fn landing_config(args: &IngestArgs) -> Result<LandingConfig> {
    if args.batch_records == 0 {
        return Err(UsageError("--batch-records must be at least 1".to_string()).into());
    }
    Ok(LandingConfig {
        connection: connection(&args.kafka)?,
        group_id: args.group.clone(),
        only_tenant: args.tenant.clone(),
        rotation: Rotation {
            max_records: args.batch_records,
            max_bytes: args.rotate_bytes.max(1),
            max_age: seconds("--rotate-seconds", args.rotate_seconds)?,
        },
        max_record_bytes: args.max_record_bytes,
        until_caught_up: args.until_caught_up,
        status_every: seconds("--status-seconds", args.status_seconds)?,
        metadata_refresh: seconds("--metadata-refresh-seconds", args.metadata_refresh_seconds)?,
    })
}

/// The connection settings from the Kafka flags; `--brokers` is required here.
pub fn connection(args: &KafkaArgs) -> Result<KafkaConnection> {
    let Some(brokers) = args.brokers.clone().filter(|b| !b.trim().is_empty()) else {
        return Err(UsageError("--brokers (or EXAMLAKE_BROKERS) is required".to_string()).into());
    };
    let sasl = match (&args.kafka_user, &args.kafka_password) {
        (Some(user), Some(password)) => Some((user.clone(), password.clone())),
        (Some(user), None) => {
            return Err(UsageError(format!(
                "--kafka-user {user} needs a password: set EXAMLAKE_KAFKA_PASSWORD"
            ))
            .into())
        }
        _ => None,
    };
    Ok(KafkaConnection {
        brokers,
        sasl,
        options: args.kafka_options.clone(),
    })
}

fn seconds(flag: &str, value: f64) -> Result<Duration> {
    if !(value.is_finite() && value > 0.0) {
        return Err(UsageError(format!(
            "{flag} must be a positive number of seconds, got {value}"
        ))
        .into());
    }
    Ok(Duration::from_secs_f64(value))
}

pub fn print_kafka_summary(summary: &LandingSummary) {
    let tenants: Vec<String> = summary
        .per_tenant
        .iter()
        .map(|(tenant, n)| format!("{tenant} {}", n.landed + n.quarantined))
        .collect();
    println!(
        "ingest from kafka: consumed {}, landed {}, quarantined {}, already landed {}, files {} raw + {} quarantine{}",
        summary.consumed,
        summary.landed,
        summary.quarantined,
        summary.already_landed,
        summary.raw_files,
        summary.quarantine_files,
        if tenants.is_empty() { String::new() } else { format!(" ({})", tenants.join(", ")) }
    );
}

pub fn ingest_file(
    input: &std::path::Path,
    tenant: &examlake_core::TenantId,
    warehouse: &str,
    batch_records: usize,
    max_record_bytes: usize,
    quiet: bool,
) -> Result<IngestSummary> {
    if !input.is_file() {
        return Err(UsageError(format!("input file {} does not exist", input.display())).into());
    }
    if batch_records == 0 {
        return Err(UsageError("--batch-records must be at least 1".to_string()).into());
    }
    let store = storage::open(warehouse)?;
    let size = std::fs::metadata(input).map(|m| m.len()).unwrap_or(0);
    let bar = progress::bar(size, &format!("ingesting {}", input.display()), true, quiet);
    let config = FileIngestConfig {
        tenant: tenant.clone(),
        input: input.to_path_buf(),
        batch_records,
        max_record_bytes,
    };
    let summary = run_file(&config, &store, &|done| bar.set_position(done))?;
    bar.finish_and_clear();
    Ok(summary)
}

pub fn print_summary(summary: &IngestSummary, tenant: &examlake_core::TenantId) {
    println!(
        "ingest {tenant} from {}: read {}, landed {}, quarantined {}{}",
        summary.source,
        summary.read,
        summary.landed,
        summary.quarantined,
        if summary.skipped > 0 {
            format!(", skipped {} already landed", summary.skipped)
        } else {
            String::new()
        }
    );
}
