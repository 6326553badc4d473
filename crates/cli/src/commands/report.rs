//! `examlake report NAME`

use anyhow::Result;
use chrono::Utc;
use examlake_core::storage;
use examlake_reports::{run as run_reports, Format, ReportName, ReportParams, ReportRunConfig};

use crate::cli::{OutputFormat, ReportArgs, ReportChoice, ReportOptions};
use crate::exit::UsageError;

pub fn report(args: &ReportArgs) -> Result<()> {
    let store = storage::open(&args.warehouse.warehouse)?;
    crate::access::authorize(
        store.as_ref(),
        &args.tenant,
        args.token.token_file.as_deref(),
        &format!("report {:?} on tenant {}", args.name, args.tenant),
    )?;
    let config = run_config(&args.tenant, names(args.name), &args.options)?;
    let output = run_reports(&config, store.as_ref())?;
    let format = match args.options.format {
        OutputFormat::Table => Format::Table,
        OutputFormat::Csv => Format::Csv,
        OutputFormat::Json => Format::Json,
        OutputFormat::Md => Format::Md,
    };
    let text = if format == Format::Json && output.reports.len() > 1 {
        let all: Vec<_> = output.reports.iter().map(|r| r.to_json()).collect();
        serde_json::to_string_pretty(&all)? + "\n"
    } else {
        let separator = if format == Format::Table { "\n" } else { "" };
        output
            .reports
            .iter()
            .map(|r| r.render(format) + separator)
            .collect()
    };
    print_stdout(&text)?;
    if let Some(dir) = &output.dir {
        eprintln!("wrote {} files to {}", output.files.len(), dir.display());
    }
    Ok(())
}

pub fn names(choice: ReportChoice) -> Vec<ReportName> {
    match choice {
        ReportChoice::Overview => vec![ReportName::Overview],
        ReportChoice::HighScores => vec![ReportName::HighScores],
        ReportChoice::LeastPopular => vec![ReportName::LeastPopular],
        ReportChoice::MostMissed => vec![ReportName::MostMissed],
        ReportChoice::LastTaken => vec![ReportName::LastTaken],
        ReportChoice::ItemAnalysis => vec![ReportName::ItemAnalysis],
        ReportChoice::Distractors => vec![ReportName::Distractors],
        ReportChoice::All => ReportName::ALL.to_vec(),
    }
}

pub fn run_config(
    tenant: &examlake_core::TenantId,
    reports: Vec<ReportName>,
    options: &ReportOptions,
) -> Result<ReportRunConfig> {
    if !(0.0..=1.0).contains(&options.threshold) {
        return Err(UsageError(format!(
            "--threshold {} is not between 0 and 1",
            options.threshold
        ))
        .into());
    }
    if options.weeks_needed > options.weeks {
        return Err(UsageError(format!(
            "--weeks-needed {} is more than --weeks {}",
            options.weeks_needed, options.weeks
        ))
        .into());
    }
    if let Some(dir) = &options.queries {
        if !dir.is_dir() {
            return Err(
                UsageError(format!("--queries {} is not a directory", dir.display())).into(),
            );
        }
    }
    let today = Utc::now().date_naive();
    let mut params = ReportParams::new(options.as_of.unwrap_or(today));
    params.threshold = options.threshold;
    params.top = options.top;
    params.bottom = options.bottom;
    params.min_attempts = options.min_attempts;
    params.stale_days = options.stale_days;
    params.item_min_n = options.item_min_n;
    params.weeks = options.weeks;
    params.weeks_needed = options.weeks_needed;
    params.queries_dir = options.queries.clone();
    Ok(ReportRunConfig {
        tenant: tenant.clone(),
        reports,
        out_dir: options.out.clone(),
        date: today,
        params,
    })
}

/// Print to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
