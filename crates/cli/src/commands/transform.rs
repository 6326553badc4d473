//! `examlake transform`

use anyhow::{Context, Result};
use examlake_core::{layout, storage, Storage, TenantId};
use examlake_transform::{run, DataQualityRules, DataQualitySummary, TransformConfig};

use crate::cli::TransformArgs;
use crate::exit::UsageError;
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
    for tenant in tenants {
        let summary = transform_tenant(store.as_ref(), &tenant, &rules, quiet)?;
        print_summary(&summary);
    }
    Ok(())
}

pub fn transform_tenant(
    store: &dyn Storage,
    tenant: &TenantId,
    rules: &DataQualityRules,
    quiet: bool,
) -> Result<DataQualitySummary> {
    let bar = progress::bar(0, &format!("transforming {tenant}"), false, quiet);
    let config = TransformConfig {
        tenant: tenant.clone(),
        rules: rules.clone(),
    };
    let summary = run(&config, store, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("transforming tenant {tenant}"))?;
    bar.finish_and_clear();
    Ok(summary)
}

pub fn print_summary(s: &DataQualitySummary) {
    println!(
        "transform {}: {} raw records -> {} assessments, {} questions, {} exams; quarantined {} test records, {} schema violations, {} superseded versions; dropped {} exact duplicates; flagged {} count mismatches",
        s.tenant, s.raw_records, s.assessments, s.questions, s.exams, s.test_records, s.schema_violations, s.superseded_versions, s.exact_duplicates_dropped, s.counts_mismatches
    );
}
