//! `examlake demo`: the pipeline on the bundled sample data, for a first look.

use std::path::PathBuf;

use anyhow::Result;
use examlake_core::TenantId;

use super::run::run_pipeline;
use crate::cli::DemoArgs;
use crate::exit::UsageError;

/// The sample files, by tenant (made by `examlake generate`, see data/sample/README.md).
const SAMPLES: [(&str, &str); 2] = [("acme", "acme.ndjson.gz"), ("globex", "globex.ndjson.gz")];

pub fn demo(args: &DemoArgs, quiet: bool) -> Result<()> {
    let sample_dir = sample_dir(args)?;
    for (tenant, file) in SAMPLES {
        let tenant = TenantId::parse(tenant)?;
        let output = run_pipeline(
            &sample_dir.join(file),
            &tenant,
            &args.warehouse,
            &args.reports,
            quiet,
        )?;
        println!();
        for report in &output.reports {
            println!("  {} {}", report.question, report.answer);
        }
        if let Some(dir) = &output.dir {
            let charts = output
                .files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == "png"))
                .count();
            println!(
                "\n  {charts} charts (PNG + SVG), CSV/JSON/Markdown tables and summary.md in {}\n",
                dir.display()
            );
        }
    }
    Ok(())
}

fn sample_dir(args: &DemoArgs) -> Result<PathBuf> {
    let candidates = match &args.sample_dir {
        Some(dir) => vec![dir.clone()],
        None => vec![
            PathBuf::from("data/sample"),
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample")),
        ],
    };
    candidates
        .into_iter()
        .find(|dir| dir.join(SAMPLES[0].1).is_file())
        .ok_or_else(|| {
            UsageError(
                "sample data not found: run from the examlake checkout or pass --sample-dir"
                    .to_string(),
            )
            .into()
        })
}
