//! `examlake transform`

use anyhow::{Context, Result};
use examlake_core::{layout, storage, Storage};
use examlake_transform::{run, DataQualityRules, DataQualitySummary, Thresholds, TransformConfig};

use crate::cli::TransformArgs;
use crate::exit::{DataQualityError, UsageError};
use crate::progress;

pub fn transform(args: &TransformArgs, quiet: bool) -> Result<()> {
    let store = storage::open(&args.warehouse.warehouse)?;
    let tenants = match &args.tenant {
        Some(tenant) => vec![tenant.clone()],
        None => layout::tenants(store.as_ref())?,
    };
    if tenants.is_empty() {
        return Err(UsageError(format!(
            "no tenant data in warehouse {}: run `examlake ingest` first",
            store.url()
        ))
        .into());
    }
    let mut rules = DataQualityRules::standard();
    rules
        .test_exam_name_patterns
        .extend(args.test_exam_patterns.iter().cloned());
    let mut thresholds = Thresholds::default();
    for spec in &args.dq_thresholds {
        thresholds.set(spec).map_err(UsageError)?;
    }
    let mut failed = Vec::new();
    for tenant in tenants {
        let config = TransformConfig {
            rules: rules.clone(),
            thresholds: thresholds.clone(),
            batch_records: args.batch_records,
            recent_part_attempts: args.recent_part_attempts,
            full_rebuild: args.full_rebuild,
            merge_small_parts: !args.no_merge,
            break_lock: args.break_lock,
            index_memory_attempts: args.index_memory_attempts,
            ..TransformConfig::new(tenant)
        };
        let summary = transform_tenant(store.as_ref(), config, quiet)?;
        print_summary(&summary);
        failed.extend(dq_errors(&summary));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(DataQualityError(failed.join("; ")).into())
    }
}

/// One line per rule over its error threshold.
pub fn dq_errors(summary: &DataQualitySummary) -> Vec<String> {
    summary
        .errors()
        .iter()
        .map(|r| {
            format!(
                "tenant {} {} {:.2}% > {:.2}%",
                summary.tenant,
                r.rule,
                r.rate * 100.0,
                r.error_at * 100.0
            )
        })
        .collect()
}

pub fn transform_tenant(
    store: &dyn Storage,
    config: TransformConfig,
    quiet: bool,
) -> Result<DataQualitySummary> {
    let tenant = &config.tenant;
    let bar = progress::bar(0, &format!("transforming {tenant}"), false, quiet);
    let summary = run(&config, store, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("transforming tenant {tenant}"))?;
    bar.finish_and_clear();
    Ok(summary)
}

pub fn print_summary(s: &DataQualitySummary) {
    let run = &s.run;
    println!(
        "transform {}: {} ({} new raw files, {} records, {} batches{}{})",
        s.tenant,
        if run.full_rebuild {
            "full build"
        } else if run.raw_files_read == 0 {
            "nothing new"
        } else {
            "incremental"
        },
        run.raw_files_read,
        run.raw_records_read,
        run.batches,
        if run.parts_rewritten > 0 {
            format!(", {} earlier parts rewritten", run.parts_rewritten)
        } else {
            String::new()
        },
        if run.parts_merged > 0 {
            format!(", {} small parts merged", run.parts_merged)
        } else {
            String::new()
        }
    );
    println!(
        "transform {}: {} raw records -> {} assessments, {} questions, {} exams; quarantined {} test records, {} schema violations, {} superseded versions; dropped {} exact duplicates; flagged {} count mismatches",
        s.tenant, s.raw_records, s.assessments, s.questions, s.exams, s.test_records, s.schema_violations, s.superseded_versions, s.exact_duplicates_dropped, s.counts_mismatches
    );
    for warning in &run.warnings {
        println!("  warning: {warning}");
    }
    if let Some(r) = &s.reconciliation {
        println!(
            "  reconciliation: {} raw = {} kept + {} quarantined + {} dropped duplicates ({})",
            r.raw_records,
            r.kept,
            r.quarantined,
            r.dropped_duplicates,
            if r.holds {
                "holds"
            } else {
                "DOES NOT HOLD: this is a bug"
            }
        );
    }
    for rule in s
        .rules
        .iter()
        .filter(|r| r.status != examlake_transform::Status::Ok)
    {
        println!(
            "  data quality {:?}: {} {} ({:.2}%, warn at {:.2}%, error at {:.2}%)",
            rule.status,
            rule.rule,
            rule.count,
            rule.rate * 100.0,
            rule.warn_at * 100.0,
            rule.error_at * 100.0
        );
    }
}
