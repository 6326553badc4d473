//! One transform run for one tenant: scan raw, parse, apply the rules, write the tables.

use examlake_core::layout::{self, Table};
use examlake_core::schema::raw;
use examlake_core::{Storage, TenantId};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::batch::{self, BatchInput};
use crate::compaction;
use crate::config::TransformConfig;
use crate::data_quality::{
    self, Reconciliation, RuleOutcome, Status, COUNTS_MISMATCH, COUNTS_MISSING, EXACT_DUPLICATE,
    SCHEMA_VIOLATION, SUPERSEDED_VERSION, TEST_RECORD,
};
use crate::error::{building, Result, TransformError};
use crate::frames::{self, Rejections};
use crate::key_index::KeyIndex;
use crate::lock::TransformLock;
use crate::manifest::{self, Manifest, Part};
use crate::parse::{parse_attempt, ParsedAttempt};
use crate::stages::Stages;
use crate::tables::exams;
use crate::threads::joined;
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
    /// What this run read and did.
    pub run: RunStats,
}

/// One raw file read by the transform.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RawInput {
    pub key: String,
    pub source: String,
    /// The partition of its first row (Kafka partition; 0 for files).
    #[serde(default)]
    pub partition: Option<i32>,
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

/// How one run went (the rest of the summary is cumulative over every run).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunStats {
    /// True when every table was rebuilt from all raw files (first run, `--full-rebuild`,
    /// changed test-record rules or an older manifest format).
    pub full_rebuild: bool,
    pub raw_files_read: usize,
    pub raw_records_read: usize,
    pub batches: usize,
    /// Earlier parts written again because an attempt in them lost to a newer version.
    pub parts_rewritten: usize,
    /// Small parts merged into larger ones at the end of the run (see `compaction`).
    #[serde(default)]
    pub parts_merged: usize,
    /// Upkeep that failed without failing the run (its batches are committed): a merge of small
    /// parts, the save of the keen_id index. What failed and why; repeated by every run it
    /// recurs in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Bring the tenant's tables up to date with its raw files: only raw files no earlier run
/// transformed are read, in batches of about `config.batch_records` records, so memory is bounded
/// by the batch and not by the tenant's history. `progress(done, total)` counts new raw files.
pub fn run(
    config: &TransformConfig,
    store: &dyn Storage,
    progress: &dyn Fn(usize, usize),
) -> Result<DataQualitySummary> {
    let started = std::time::Instant::now();
    let tenant = &config.tenant;
    let _lock = TransformLock::acquire(store, tenant, config.break_lock)?;
    let rules_fingerprint = config.rules_fingerprint();
    let all_raw = scan::raw_files(store, tenant)?;
    let committed =
        Manifest::load(store, tenant)?.map(|m| taken_up_without_rebuild(m, &all_raw, config));
    let rebuild = match &committed {
        None => true,
        Some(m) => {
            config.full_rebuild
                || m.format_version != manifest::FORMAT_VERSION
                || m.rules_fingerprint != rules_fingerprint
        }
    };
    if let Some(m) = committed.as_ref().filter(|_| rebuild) {
        refuse_rebuild_without_raw(m, &all_raw, tenant)?;
    }
    // A rebuild replacing committed tables commits once at the end, so readers never see half.
    let commit_each_batch = committed.is_none() || !rebuild;
    let mut manifest = match committed {
        Some(m) if !rebuild => m,
        Some(m) => Manifest {
            next_part: m.next_part,
            ..Manifest::empty(rules_fingerprint)
        },
        None => Manifest::empty(rules_fingerprint),
    };
    let done = manifest
        .processed_keys()
        .into_iter()
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>();
    let new_raw: Vec<layout::Key> = all_raw
        .into_iter()
        .filter(|key| !done.contains(key.as_str()))
        .collect();
    let mut stats = RunStats {
        full_rebuild: rebuild,
        raw_files_read: new_raw.len(),
        ..Default::default()
    };
    if new_raw.is_empty() && !rebuild {
        tracing::info!(message = "transform: no new raw files", tenant = %tenant);
        // Nothing to apply, and the report is left as it is, unless a run killed after its
        // last commit never wrote it.
        let report_missing = !store.exists(&layout::data_quality_file(tenant))?
            || !store.exists(&layout::data_quality_markdown_file(tenant))?;
        // Nor `exams`, on a first build (its manifest names the file already).
        let exams_missing = !store.exists(&layout::table_file(tenant, Table::Exams))?;
        if exams_missing {
            write_exams(store, tenant, &mut manifest)?;
            manifest.save(store, tenant)?;
        }
        // A run killed after its last commit also left the files it had replaced.
        let removed = manifest::remove_unreferenced(store, tenant, &manifest)?;
        if removed > 0 {
            tracing::info!(message = "transform: removed files of a killed run", tenant = %tenant, removed);
        }
        return summarize(
            &manifest,
            store,
            config,
            stats,
            report_missing || exams_missing,
        );
    }
    let mut index = KeyIndex::load(store, tenant, &manifest, config.index_memory_attempts)?;
    let mut pending = BatchInput::default();
    let mut stages = Stages::start();
    std::thread::scope(|scope| -> Result<()> {
        // Reads and parses the next raw file while this thread applies a batch. A rendezvous
        // channel: the parsed file waits in the reader thread, not in the channel while a further
        // one is parsed (paired 1M runs: 1,009 MB against 1,126 MB peak, 1.03x the time).
        let (files, parsed_files) = std::sync::mpsc::sync_channel::<Result<ParsedFile>>(0);
        let new_raw = &new_raw;
        scope.spawn(move || {
            for key in new_raw {
                let file = read_and_parse(store, key, config);
                let failed = file.is_err();
                if files.send(file).is_err() || failed {
                    break;
                }
            }
        });
        // Writes each batch's files, then commits its manifest, while the next batch is
        // applied: on HDFS a write waits about 0.5 s for the NameNode. A rendezvous channel, so
        // batches are written in order and at most one is in flight; the next batch waits for
        // the files before it reads earlier parts back, and the run ends only once the last
        // commit is written.
        let (commits, to_commit) =
            std::sync::mpsc::sync_channel::<(Vec<sink::Encoded>, Option<sink::Encoded>)>(0);
        let (written, writes_done) = std::sync::mpsc::channel::<()>();
        let committer = scope.spawn(move || -> Result<()> {
            for (files, manifest) in to_commit {
                sink::write_all(store, &files)?;
                let _ = written.send(());
                if let Some((key, bytes)) = manifest {
                    store.write_atomic(&key, &bytes)?;
                }
            }
            Ok(())
        });
        let mut writes = WritesInFlight {
            batches: 0,
            done: writes_done,
        };
        let applied = (|| -> Result<()> {
            for (n, file) in parsed_files.iter().enumerate() {
                let file = file?;
                stages.mark("read and parse");
                pending.records += file.raw.height();
                pending.inputs.push(file.input);
                pending.parsed.extend(file.parsed);
                pending.rejections.append(file.rejections);
                pending.raw.push(file.raw);
                let last = n + 1 == new_raw.len();
                if pending.records >= config.batch_records || last {
                    stats.raw_records_read += pending.records;
                    let outcome = batch::apply(
                        std::mem::take(&mut pending),
                        &mut manifest,
                        &mut index,
                        store,
                        config,
                        &mut || writes.wait(),
                    )?;
                    stats.batches += 1;
                    stats.parts_rewritten += outcome.parts_rewritten;
                    let commit = commit_each_batch
                        .then(|| manifest.encode(tenant))
                        .transpose()?;
                    if commits.send((outcome.files, commit)).is_err() {
                        break; // the committer failed: its error is returned below
                    }
                    writes.batches += 1;
                    stages.mark("batch");
                    tracing::info!(
                        message = "transform batch applied",
                        tenant = %tenant,
                        batch = stats.batches,
                        elapsed_ms = started.elapsed().as_millis() as u64
                    );
                }
                progress(n + 1, new_raw.len());
            }
            Ok(())
        })();
        drop(commits);
        // The committer's failure first: a batch that read back a part it failed to write fails
        // for that reason.
        joined(committer).and(applied)
    })?;
    if manifest.parts.is_empty() {
        // No raw data at all: one empty part, so every table exists with its schema.
        let outcome = batch::apply(
            BatchInput::default(),
            &mut manifest,
            &mut index,
            store,
            config,
            &mut || {},
        )?;
        sink::write_all(store, &outcome.files)?;
    }
    // Merging is upkeep, not data: a failure leaves the parts as they are (the manifest keeps
    // the merges done before it) rather than failing a run whose batches are committed.
    let (small, cap) = (config.batch_records / 4, config.batch_records);
    let merged = if config.merge_small_parts {
        compaction::compact(store, tenant, &mut manifest, small, cap)
    } else {
        Ok(Default::default())
    };
    match merged {
        Ok(merged_into) => {
            stats.parts_merged = merged_into.len();
            // Saved for the next run; a failure only costs that run a rebuild of the index.
            let saved = index
                .renumber(&merged_into)
                .and_then(|()| index.save(store, tenant, &manifest));
            if let Err(error) = saved {
                tracing::warn!(message = "transform: keen_id index not saved", tenant = %tenant, %error);
                stats.warnings.push(format!(
                    "keen_id index not saved (the next run builds it from the parts): {error}"
                ));
            }
        }
        Err(error) => {
            tracing::warn!(message = "transform: small parts left unmerged", tenant = %tenant, %error);
            stats
                .warnings
                .push(format!("small parts left unmerged: {error}"));
        }
    }
    // The index is not needed any more: free it before `exams` is accumulated.
    drop(index);
    stages.mark("merge small parts");
    write_exams(store, tenant, &mut manifest)?;
    stages.mark("exams");
    manifest.save(store, tenant)?;
    let removed = manifest::remove_unreferenced(store, tenant, &manifest)?;
    tracing::info!(
        message = "transform done",
        tenant = %tenant,
        removed_files = removed,
        elapsed_ms = started.elapsed().as_millis() as u64
    );
    summarize(&manifest, store, config, stats, true)
}

/// Format 4 differs from 5 only in how `payload_hash` is computed (FNV-1a then, XXH3 now). A
/// format-4 tenant whose applied raw files were retired cannot be rebuilt, so its tables are
/// taken up as they are instead of refused: a redelivery of an attempt applied before the upgrade
/// then counts as a superseded version rather than an exact duplicate (the hashes differ), and
/// nothing is lost. Any other reason to rebuild still applies.
fn taken_up_without_rebuild(
    mut committed: Manifest,
    all_raw: &[layout::Key],
    config: &TransformConfig,
) -> Manifest {
    let only_the_hash_changed = committed.format_version == 4 && manifest::FORMAT_VERSION == 5;
    if only_the_hash_changed
        && !config.full_rebuild
        && refuse_rebuild_without_raw(&committed, all_raw, &config.tenant).is_err()
    {
        tracing::warn!(
            message = "transform: format-4 tables taken up without a rebuild (raw files retired); redeliveries of earlier attempts will count as superseded versions",
            tenant = %config.tenant
        );
        committed.format_version = manifest::FORMAT_VERSION;
    }
    committed
}

/// A rebuild reads raw files only: refuse it when raw files the tables came from were retired.
fn refuse_rebuild_without_raw(
    committed: &Manifest,
    raw: &[layout::Key],
    tenant: &TenantId,
) -> Result<()> {
    let present: std::collections::BTreeSet<&str> = raw.iter().map(layout::Key::as_str).collect();
    let missing: Vec<&str> = committed
        .processed
        .iter()
        .map(|r| r.key.as_str())
        .filter(|key| !present.contains(key))
        .collect();
    match missing.first() {
        None => Ok(()),
        Some(example) => Err(TransformError::RetiredRaw {
            tenant: tenant.to_string(),
            count: missing.len(),
            example: example.to_string(),
        }),
    }
}

/// Build and write `exams` from the parts `manifest` names, and note its size there.
fn write_exams(store: &dyn Storage, tenant: &TenantId, manifest: &mut Manifest) -> Result<()> {
    let mut exams_df = build_exams(store, tenant, manifest)?;
    sink::write_parquet(
        store,
        &layout::table_file(tenant, Table::Exams),
        &mut exams_df,
    )?;
    manifest.exams = exams_df.height();
    Ok(())
}

/// `exams` from every part of `assessments` and `question_counts`, one part at a time per thread:
/// the parts are shared out over the cores and the threads' builders merged.
fn build_exams(store: &dyn Storage, tenant: &TenantId, manifest: &Manifest) -> Result<DataFrame> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = manifest.parts.len().div_ceil(threads).max(1);
    let builders: Vec<Result<exams::ExamsBuilder>> = std::thread::scope(|scope| {
        let handles: Vec<_> = manifest
            .parts
            .chunks(per_thread)
            .map(|parts| scope.spawn(move || exams_of_parts(store, tenant, parts)))
            .collect();
        handles.into_iter().map(joined).collect()
    });
    let mut all = exams::ExamsBuilder::default();
    for builder in builders {
        all.merge(builder?);
    }
    all.finish().map_err(building("exams"))
}

/// The `exams` totals of some parts. A part's question ids are read from its `question_counts`
/// (the same exam and question pairs as its `questions`), after its attempts.
fn exams_of_parts(
    store: &dyn Storage,
    tenant: &TenantId,
    parts: &[Part],
) -> Result<exams::ExamsBuilder> {
    let mut builder = exams::ExamsBuilder::default();
    for part in parts {
        let attempts = scan::read_table_file(
            store,
            &part.key(tenant, Table::Assessments),
            Some(&exams::ASSESSMENT_COLUMNS),
        )?;
        builder
            .add_assessments(&attempts)
            .map_err(building("exams"))?;
        let questions = scan::read_table_file(
            store,
            &part.key(tenant, Table::QuestionCounts),
            Some(&exams::QUESTION_COLUMNS),
        )?;
        builder
            .add_questions(&questions)
            .map_err(building("exams"))?;
    }
    Ok(builder)
}

/// The cumulative summary from the manifest and the tables; written when `write` is set.
fn summarize(
    manifest: &Manifest,
    store: &dyn Storage,
    config: &TransformConfig,
    stats: RunStats,
    write: bool,
) -> Result<DataQualitySummary> {
    let tenant = &config.tenant;
    let counts = &manifest.counts;
    let mut summary = DataQualitySummary {
        tenant: tenant.to_string(),
        raw_files: manifest.processed.len(),
        raw_records: counts.raw_records,
        schema_violations: counts.schema_violations,
        test_records: counts.test_records,
        exact_duplicates_dropped: counts.exact_duplicates_dropped,
        superseded_versions: counts.superseded_versions,
        assessments: manifest.parts.iter().map(|p| p.assessments).sum(),
        questions: manifest.parts.iter().map(|p| p.questions).sum(),
        options: manifest.parts.iter().map(|p| p.options).sum(),
        raw_inputs: manifest.processed.clone(),
        run: stats,
        ..Default::default()
    };
    summary.counts_mismatches = manifest.parts.iter().map(|p| p.counts_mismatches).sum();
    summary.counts_missing = manifest.parts.iter().map(|p| p.counts_missing).sum();
    summary.exams = manifest.exams;
    let example = |rule: &str| manifest.examples.get(rule).cloned().unwrap_or_default();
    let counts = std::collections::BTreeMap::from([
        (
            SCHEMA_VIOLATION,
            (summary.schema_violations, example(SCHEMA_VIOLATION)),
        ),
        (TEST_RECORD, (summary.test_records, example(TEST_RECORD))),
        (
            EXACT_DUPLICATE,
            (summary.exact_duplicates_dropped, example(EXACT_DUPLICATE)),
        ),
        (
            SUPERSEDED_VERSION,
            (summary.superseded_versions, example(SUPERSEDED_VERSION)),
        ),
        (
            COUNTS_MISMATCH,
            (summary.counts_mismatches, example(COUNTS_MISMATCH)),
        ),
        (
            COUNTS_MISSING,
            (summary.counts_missing, example(COUNTS_MISSING)),
        ),
    ]);
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
    if write {
        store.write_atomic(
            &layout::data_quality_file(tenant),
            &serde_json::to_vec_pretty(&summary)?,
        )?;
        if let Some(reconciliation) = &summary.reconciliation {
            let markdown = data_quality::to_markdown(
                tenant.as_str(),
                reconciliation,
                &summary.rules,
                &summary.run.warnings,
            );
            store.write_atomic(
                &layout::data_quality_markdown_file(tenant),
                markdown.as_bytes(),
            )?;
        }
    }
    Ok(summary)
}

/// One raw file, read and parsed.
struct ParsedFile {
    raw: DataFrame,
    input: RawInput,
    parsed: Vec<frames::ParsedRow>,
    rejections: Rejections,
}

fn read_and_parse(
    store: &dyn Storage,
    key: &layout::Key,
    config: &TransformConfig,
) -> Result<ParsedFile> {
    let raw = scan::read_raw(store, key)?;
    let mut file = ParsedFile {
        input: raw_input(&raw, key),
        parsed: Vec::new(),
        rejections: Rejections::default(),
        raw: DataFrame::empty(),
    };
    parse_file(&raw, key, config, &mut file.parsed, &mut file.rejections)?;
    file.raw = raw;
    Ok(file)
}

/// Parse every payload of one raw file; unusable ones go to `rejections`.
fn parse_file(
    df: &DataFrame,
    key: &layout::Key,
    config: &TransformConfig,
    parsed: &mut Vec<frames::ParsedRow>,
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
        handles.into_iter().flat_map(joined).collect()
    })
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
    let partition = df
        .column(raw::PARTITION)
        .ok()
        .and_then(|c| c.i32().ok().and_then(|p| p.get(0)));
    RawInput {
        key: key.to_string(),
        source: source.unwrap_or_default(),
        partition,
        rows: df.height(),
        first_position: positions.as_ref().and_then(|p| p.min()),
        last_position: positions.as_ref().and_then(|p| p.max()),
    }
}

/// Batches whose files the committer thread has not written yet.
struct WritesInFlight {
    batches: usize,
    /// One message per batch written; closed when the committer stops (its error ends the run).
    done: std::sync::mpsc::Receiver<()>,
}

impl WritesInFlight {
    /// Wait until every batch handed to the committer is written (or the committer stopped).
    fn wait(&mut self) {
        while self.batches > 0 {
            if self.done.recv().is_err() {
                self.batches = 0;
                return;
            }
            self.batches -= 1;
        }
    }
}
