//! `examlake produce`

use anyhow::Result;
use examlake_ingest::kafka::{run_produce, ProduceConfig};

use crate::cli::ProduceArgs;
use crate::commands::ingest::connection;
use crate::exit::UsageError;
use crate::progress;

pub fn produce(args: &ProduceArgs, quiet: bool) -> Result<()> {
    if !args.file.is_file() {
        return Err(
            UsageError(format!("input file {} does not exist", args.file.display())).into(),
        );
    }
    if args.partitions < 1 || args.replication < 1 {
        return Err(UsageError("--partitions and --replication must be at least 1".into()).into());
    }
    let config = ProduceConfig {
        connection: connection(&args.kafka)?,
        tenant: args.tenant.clone(),
        input: args.file.clone(),
        partitions: args.partitions,
        replication: args.replication,
    };
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let bar = progress::bar(
        size,
        &format!("producing {}", args.file.display()),
        true,
        quiet,
    );
    let summary = run_produce(&config, &|done| bar.set_position(done))?;
    bar.finish_and_clear();
    println!(
        "produce {} to {}: read {}, delivered {}, failed {}{}",
        args.file.display(),
        summary.topic,
        summary.read,
        summary.delivered,
        summary.failed,
        if summary.without_key > 0 {
            format!(", {} without a user_exam_id key", summary.without_key)
        } else {
            String::new()
        }
    );
    if summary.failed > 0 || summary.delivered != summary.read {
        let examples: Vec<String> = summary
            .failures
            .iter()
            .map(|(position, error)| format!("record {position}: {error}"))
            .collect();
        anyhow::bail!(
            "{} of {} records were not delivered to {} ({})",
            summary.read - summary.delivered,
            summary.read,
            summary.topic,
            examples.join("; ")
        );
    }
    Ok(())
}
