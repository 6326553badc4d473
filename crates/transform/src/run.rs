//! One transform run for one tenant: scan raw, parse, apply the rules, write the tables.

use examlake_core::layout::{self, Table};
use examlake_core::schema::raw;
use examlake_core::Storage;
use polars::prelude::*;
use serde::Serialize;

use crate::config::TransformConfig;
use crate::data_quality::{
    self, Reconciliation, RuleOutcome, Status, COUNTS_MISMATCH, COUNTS_MISSING, EXACT_DUPLICATE,
    SCHEMA_VIOLATION, SUPERSEDED_VERSION, TEST_RECORD,
};
use crate::error::{building, Result, TransformError};
use crate::frames::internal::ARRIVAL;
use crate::frames::{self, Lineage, Rejections};
use crate::parse::{parse_attempt, ParsedAttempt};
use crate::tables::{assessments, exams, options, questions};
use crate::{scan, sink};

/// What the run found and did; also written as `tables/data_quality.json`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DataQualitySummary {
    pub tenant: String,
    pub raw_files: usize,
    pub raw_records: usize,
    /// Quarantined: payloads that are not usable attempts (missing ids, bad timestamps, no questions).
    pub schema_violations: usize,
    /// Quarantined: test/dev records matched by the configured patterns.
    pub test_records: usize,
    /// Dropped: exact redeliveries of an attempt already seen (same keen_id, same bytes).
    pub exact_duplicates_dropped: usize,
    /// Quarantined: versions of a keen_id that lost to a later version with different content.
    pub superseded_versions: usize,
    /// Kept, flagged: summary counts that disagree with the question details (details win).
    pub counts_mismatches: usize,
    /// Kept, flagged: attempts with no summary counts at all.
    pub counts_missing: usize,
    pub assessments: usize,
    pub questions: usize,
    pub options: usize,
    pub exams: usize,
    /// Lineage: every raw file this run read, with its source and position range.
    pub raw_inputs: Vec<RawInput>,
    /// raw records = kept + quarantined + dropped duplicates.
    pub reconciliation: Option<Reconciliation>,
    /// Every rule's count, rate, examples and status.
    pub rules: Vec<RuleOutcome>,
    /// The worst rule status.
    pub status: Option<Status>,
}

/// One raw file read by the transform.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RawInput {
    pub key: String,
    pub source: String,
    pub rows: usize,
    pub first_position: Option<i64>,
    pub last_position: Option<i64>,
}

impl DataQualitySummary {
    /// Rules whose error threshold was crossed.
    pub fn errors(&self) -> Vec<&RuleOutcome> {
        self.rules
            .iter()
            .filter(|r| r.status == Status::Error)
            .collect()
    }
}

/// Rebuild the tenant's tables from all its raw files. `progress(done, total)` counts raw files.
pub fn run(
    config: &TransformConfig,
    store: &dyn Storage,
    progress: &dyn Fn(usize, usize),
) -> Result<DataQualitySummary> {
    let started = std::time::Instant::now();
    let step = |name: &str| {
        tracing::info!(
            message = "transform step done",
            step = name,
            elapsed_ms = started.elapsed().as_millis() as u64
        )
    };
    let keys = scan::raw_files(store, &config.tenant)?;
    let mut summary = DataQualitySummary {
        tenant: config.tenant.to_string(),
        raw_files: keys.len(),
        ..Default::default()
    };
    let mut parsed: Vec<(Lineage, u64, ParsedAttempt)> = Vec::new();
    let mut rejections = Rejections::default();
    for (done, key) in keys.iter().enumerate() {
        let df = scan::read_raw(store, key)?;
        summary.raw_records += df.height();
        summary.raw_inputs.push(raw_input(&df, key));
        parse_file(&df, key, config, &mut parsed, &mut rejections)?;
        progress(done + 1, keys.len());
    }
    summary.schema_violations = rejections
        .rule
        .iter()
        .filter(|r| **r == SCHEMA_VIOLATION)
        .count();
    summary.test_records = rejections
        .rule
        .iter()
        .filter(|r| **r == TEST_RECORD)
        .count();
    step("scan and parse");
    order_by_arrival(&mut parsed);

    let attempts = frames::attempts_frame(&parsed)
        .map_err(building("assessments"))?
        .lazy();
    let all_questions = frames::questions_frame(&parsed)
        .map_err(building("questions"))?
        .lazy();
    let all_options = frames::options_frame(&parsed)
        .map_err(building("options"))?
        .lazy();
    drop(parsed);

    let customer = assessments::customer_attempts(attempts)
        .map_err(building("assessments"))?
        .collect()
        .map_err(building("assessments"))?;
    let distinct = assessments::without_exact_duplicates(customer.clone().lazy())
        .collect()
        .map_err(building("assessments"))?;
    let latest = assessments::latest_versions(distinct.clone().lazy())
        .map_err(building("assessments"))?
        .collect()
        .map_err(building("assessments"))?;
    let superseded = assessments::superseded(distinct.clone().lazy(), latest.clone().lazy())
        .collect()
        .map_err(building("quarantine"))?;

    step("rules");
    let mut assessments_df = assessments::assessments(latest.clone().lazy())
        .collect()
        .map_err(building("assessments"))?;
    let mut questions_df = questions::questions(all_questions, latest.clone().lazy())
        .collect()
        .map_err(building("questions"))?;
    let mut options_df = options::options(all_options, latest.lazy())
        .collect()
        .map_err(building("options"))?;
    let mut exams_df = exams::exams(assessments_df.clone().lazy(), questions_df.clone().lazy())
        .collect()
        .map_err(building("exams"))?;

    summary.exact_duplicates_dropped = customer.height() - distinct.height();
    summary.superseded_versions = superseded.height();
    summary.options = options_df.height();
    summary.assessments = assessments_df.height();
    summary.questions = questions_df.height();
    summary.exams = exams_df.height();
    let consistent = assessments_df
        .column(examlake_core::schema::assessments::COUNTS_CONSISTENT)
        .map_err(building("assessments"))?
        .bool()
        .map_err(building("assessments"))?
        .clone();
    summary.counts_mismatches = consistent.iter().filter(|v| *v == Some(false)).count();
    summary.counts_missing = consistent.null_count();

    step("tables");
    let dropped = customer
        .clone()
        .lazy()
        .anti_join(
            distinct.clone().lazy().select([col(ARRIVAL)]),
            col(ARRIVAL),
            col(ARRIVAL),
        )
        .collect()
        .map_err(building("data quality"))?;
    let flagged = |consistent: Expr| -> Result<Vec<String>> {
        let df = assessments_df
            .clone()
            .lazy()
            .filter(consistent)
            .limit(3)
            .collect()
            .map_err(building("data quality"))?;
        describe_rows(&df, "")
    };
    let mut counts = std::collections::BTreeMap::new();
    for rule in [SCHEMA_VIOLATION, TEST_RECORD] {
        let examples = (0..rejections.rule.len())
            .filter(|&i| rejections.rule[i] == rule)
            .take(3)
            .map(|i| {
                format!(
                    "{}@{}: {}",
                    rejections.lineage[i].source,
                    rejections.lineage[i].position,
                    rejections.reason[i]
                )
            })
            .collect();
        let count = rejections.rule.iter().filter(|r| **r == rule).count();
        counts.insert(rule, (count, examples));
    }
    counts.insert(
        EXACT_DUPLICATE,
        (
            summary.exact_duplicates_dropped,
            describe_rows(&dropped.head(Some(3)), "redelivery of ")?,
        ),
    );
    counts.insert(
        SUPERSEDED_VERSION,
        (
            summary.superseded_versions,
            describe_rows(&superseded.head(Some(3)), "older version of ")?,
        ),
    );
    let mismatch_col = col(examlake_core::schema::assessments::COUNTS_CONSISTENT);
    counts.insert(
        COUNTS_MISMATCH,
        (
            summary.counts_mismatches,
            flagged(mismatch_col.clone().eq(lit(false)))?,
        ),
    );
    counts.insert(
        COUNTS_MISSING,
        (summary.counts_missing, flagged(mismatch_col.is_null())?),
    );
    summary.rules = data_quality::evaluate(summary.raw_records, &counts, &config.thresholds);
    summary.status = summary.rules.iter().map(|r| r.status).max();
    let quarantined =
        summary.schema_violations + summary.test_records + summary.superseded_versions;
    summary.reconciliation = Some(Reconciliation {
        raw_records: summary.raw_records,
        kept: summary.assessments,
        quarantined,
        dropped_duplicates: summary.exact_duplicates_dropped,
        holds: summary.raw_records
            == summary.assessments + quarantined + summary.exact_duplicates_dropped,
    });

    step("data quality");
    let mut quarantine = quarantine_frame(rejections, &superseded, store, &keys)?;
    let tenant = &config.tenant;
    sink::write_parquet(
        store,
        &layout::table_file(tenant, Table::Assessments),
        &mut assessments_df,
    )?;
    sink::write_parquet(
        store,
        &layout::table_file(tenant, Table::Questions),
        &mut questions_df,
    )?;
    sink::write_parquet(
        store,
        &layout::table_file(tenant, Table::Options),
        &mut options_df,
    )?;
    sink::write_parquet(
        store,
        &layout::table_file(tenant, Table::Exams),
        &mut exams_df,
    )?;
    sink::write_parquet(
        store,
        &layout::transform_quarantine_file(tenant),
        &mut quarantine,
    )?;
    store.write_atomic(
        &layout::data_quality_file(tenant),
        &serde_json::to_vec_pretty(&summary)?,
    )?;
    if let Some(reconciliation) = &summary.reconciliation {
        let markdown = data_quality::to_markdown(tenant.as_str(), reconciliation, &summary.rules);
        store.write_atomic(
            &layout::data_quality_markdown_file(tenant),
            markdown.as_bytes(),
        )?;
    }
    step("write");
    Ok(summary)
}

/// Parse every payload of one raw file; unusable ones go to `rejections`.
fn parse_file(
    df: &DataFrame,
    key: &layout::Key,
    config: &TransformConfig,
    parsed: &mut Vec<(Lineage, u64, ParsedAttempt)>,
    rejections: &mut Rejections,
) -> Result<()> {
    let schema_error = |source| TransformError::ReadRaw {
        key: key.to_string(),
        source,
    };
    let lineages = frames::raw_lineages(df).map_err(schema_error)?;
    let payloads = df
        .column(raw::PAYLOAD)
        .and_then(|c| c.binary().cloned())
        .map_err(schema_error)?;
    let payloads: Vec<&[u8]> = payloads.iter().map(Option::unwrap_or_default).collect();
    let results = parse_parallel(&payloads, config);
    for ((lineage, payload), result) in lineages.into_iter().zip(&payloads).zip(results) {
        match result {
            Ok(attempt) if attempt.is_test => {
                let reason = format!(
                    "test record: exam {:?} / base_exam_id {:?} matches the test-record rules",
                    attempt.exam_name, attempt.base_exam_id
                );
                rejections.push(lineage, TEST_RECORD, reason, payload);
            }
            Ok(attempt) => parsed.push((lineage, 0, attempt)),
            Err(reason) => rejections.push(lineage, SCHEMA_VIOLATION, reason, payload),
        }
    }
    Ok(())
}

/// Parse payloads on every core, results in input order (parsing is the CPU-heavy step).
fn parse_parallel(
    payloads: &[&[u8]],
    config: &TransformConfig,
) -> Vec<std::result::Result<ParsedAttempt, String>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = payloads.len().div_ceil(threads).max(1024);
    std::thread::scope(|scope| {
        let handles: Vec<_> = payloads
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|p| parse_attempt(p, &config.rules))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Number rows in arrival order: received time, then source, partition and position.
fn order_by_arrival(parsed: &mut [(Lineage, u64, ParsedAttempt)]) {
    parsed.sort_by(|(a, _, _), (b, _, _)| {
        (a.received_at_us, &a.source, a.partition, a.position).cmp(&(
            b.received_at_us,
            &b.source,
            b.partition,
            b.position,
        ))
    });
    for (arrival, row) in parsed.iter_mut().enumerate() {
        row.1 = arrival as u64;
    }
}

/// Every record the transform refused, with its rule, reason and original bytes.
fn quarantine_frame(
    mut all: Rejections,
    superseded: &DataFrame,
    store: &dyn Storage,
    keys: &[layout::Key],
) -> Result<DataFrame> {
    let wanted = lineages_of(
        superseded,
        SUPERSEDED_VERSION,
        "superseded by a later version of the same keen_id",
    )?;
    if !wanted.is_empty() {
        attach_payloads(&wanted, store, keys, &mut all)?;
    }
    all.to_frame().map_err(building("quarantine"))
}

fn lineages_of(
    df: &DataFrame,
    rule: &'static str,
    reason: &str,
) -> Result<Vec<(Lineage, &'static str, String)>> {
    let lineages = frames::table_lineages(df).map_err(building("quarantine"))?;
    Ok(lineages
        .into_iter()
        .map(|lineage| (lineage, rule, reason.to_string()))
        .collect())
}

/// Look the original bytes of quarantined attempts up in the raw files (few rows, so a second read is cheap).
fn attach_payloads(
    wanted: &[(Lineage, &'static str, String)],
    store: &dyn Storage,
    keys: &[layout::Key],
    into: &mut Rejections,
) -> Result<()> {
    use std::collections::HashMap;
    let identity = |l: &Lineage| (l.source.clone(), l.partition, l.position);
    let by_position: HashMap<(String, i32, i64), usize> = wanted
        .iter()
        .enumerate()
        .map(|(idx, (lineage, _, _))| (identity(lineage), idx))
        .collect();
    let mut payloads: Vec<Option<Vec<u8>>> = vec![None; wanted.len()];
    for key in keys {
        let df = scan::read_raw(store, key)?;
        let err = |source| TransformError::ReadRaw {
            key: key.to_string(),
            source,
        };
        let lineages = frames::raw_lineages(&df).map_err(err)?;
        let bytes = df
            .column(raw::PAYLOAD)
            .and_then(|c| c.binary().cloned())
            .map_err(err)?;
        for (lineage, payload) in lineages.iter().zip(bytes.iter()) {
            if let Some(&idx) = by_position.get(&identity(lineage)) {
                payloads[idx] = payload.map(<[u8]>::to_vec);
            }
        }
    }
    for ((lineage, rule, reason), payload) in wanted.iter().zip(payloads) {
        into.push(
            lineage.clone(),
            rule,
            reason.clone(),
            &payload.unwrap_or_default(),
        );
    }
    Ok(())
}

/// "keen_id K at SOURCE@POSITION" for each row of a curated frame.
fn describe_rows(df: &DataFrame, prefix: &str) -> Result<Vec<String>> {
    let keen = df
        .column(examlake_core::schema::assessments::KEEN_ID)
        .and_then(|c| c.str().cloned())
        .map_err(building("data quality"))?;
    let lineages = frames::table_lineages(df).map_err(building("data quality"))?;
    Ok(lineages
        .iter()
        .zip(keen.iter())
        .map(|(l, keen_id)| {
            format!(
                "{prefix}keen_id {} at {}@{}",
                keen_id.unwrap_or_default(),
                l.source,
                l.position
            )
        })
        .collect())
}

/// Lineage of one raw file: its source and the positions (offsets or lines) it holds.
fn raw_input(df: &DataFrame, key: &layout::Key) -> RawInput {
    let positions = df
        .column(raw::POSITION)
        .ok()
        .and_then(|c| c.i64().ok().cloned());
    let source = df
        .column(raw::SOURCE)
        .ok()
        .and_then(|c| c.str().ok().and_then(|s| s.get(0).map(str::to_string)));
    RawInput {
        key: key.to_string(),
        source: source.unwrap_or_default(),
        rows: df.height(),
        first_position: positions.as_ref().and_then(|p| p.min()),
        last_position: positions.as_ref().and_then(|p| p.max()),
    }
}
