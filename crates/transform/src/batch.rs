//! One batch of new raw files applied to the tables.
//!
//! The batch is parsed, then the versions of every keen_id it holds are decided together with the
//! versions earlier batches already kept (read back from their parts) or quarantined as
//! superseded: the same rules as a full build (`tables/assessments.rs`), so incremental results
//! equal a rebuild. The batch writes a new part of each table and its quarantine (two parts when it
//! is large: its latest arrivals, where later redeliveries land, get a small part of their own, see
//! `TransformConfig::recent_part_attempts`); an earlier
//! part that held an attempt this batch re-decided is written again (next generation) without it.
//! Nothing is visible until the caller commits the manifest.
//!
//! Versions already transformed count as arriving before the batch's. Raw files landed by ingest
//! arrive in order, so this is the rebuild's order. A hand-placed raw file whose rows arrived
//! *earlier* than rows already transformed (a backfill) can differ from a rebuild in which copy of
//! an exact duplicate is kept, or which one wins a keen_timestamp tie; the counts and the
//! reconciliation still hold.

use std::collections::{BTreeSet, HashMap, HashSet};

use examlake_core::layout::Table;
use examlake_core::schema::{assessments as a, lineage, raw};
use examlake_core::{Storage, TenantId};
use polars::prelude::*;

use crate::config::TransformConfig;
use crate::data_quality::{
    COUNTS_MISMATCH, COUNTS_MISSING, EXACT_DUPLICATE, SCHEMA_VIOLATION, SUPERSEDED_VERSION,
    TEST_RECORD,
};
use crate::error::{building, Result};
use crate::frames::internal::{ARRIVAL, ORIGIN, ROW};
use crate::frames::{self, Lineage, Origin, ParsedRow, Rejections, Version};
use crate::key_index::{key_hash, KeyIndex};
use crate::manifest::{Manifest, Part};
use crate::run::RawInput;
use crate::stages::Stages;
use crate::tables::{assessments, option_counts, options, question_counts, questions};
use crate::{scan, sink};

/// New raw files, parsed, waiting to be applied.
#[derive(Default)]
pub struct BatchInput {
    pub parsed: Vec<ParsedRow>,
    pub rejections: Rejections,
    /// The raw files, until the batch starts: the payloads of rows that may be superseded are
    /// taken from them (superseded versions keep their bytes), then they are dropped.
    pub raw: Vec<DataFrame>,
    pub inputs: Vec<RawInput>,
    pub records: usize,
}

/// What one batch did.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub parts_rewritten: usize,
    /// The batch's files, encoded: the caller writes them (see [`apply`]).
    pub files: Vec<sink::Encoded>,
}

/// The earlier versions of the batch's keen_ids: what the decision needs.
#[derive(Default)]
struct EarlierVersions {
    /// Each earlier part holding a kept version: its assessments with and without them.
    kept: Vec<TouchedPart>,
    /// Versions quarantined earlier as superseded.
    superseded: Vec<DataFrame>,
}

struct TouchedPart {
    part: Part,
    /// The part's assessments of the batch's keen_ids.
    pulled: DataFrame,
    /// The part's other assessments.
    remaining: DataFrame,
}

/// The rows of the earlier parts that must change, read back from the tables.
#[derive(Default)]
struct ReadBack {
    assessments: Vec<DataFrame>,
    questions: Vec<DataFrame>,
    options: Vec<DataFrame>,
    /// Earlier parts without the read-back attempts, to be written as their next generation.
    rewrites: Vec<(Part, [DataFrame; 3])>,
}

/// Apply `input` to the tables described by `manifest` (updated in place, not saved). The
/// batch's files come back encoded, not written: the caller writes them (`sink::write_all`)
/// before it commits the manifest, and may do so while the next batch is applied, as long as it
/// finishes before that batch reads earlier parts back: `wait_for_writes` is called just before.
pub fn apply(
    mut input: BatchInput,
    manifest: &mut Manifest,
    index: &mut KeyIndex,
    store: &dyn Storage,
    config: &TransformConfig,
    wait_for_writes: &mut dyn FnMut(),
) -> Result<BatchOutcome> {
    let tenant = &config.tenant;
    let mut stages = Stages::start();
    order_by_arrival(&mut input.parsed);
    let known = known_ids(&input.parsed, index)?;
    // Only rows that may lose to another version need their payload (for the quarantine): keep
    // those and free the raw files before the frames are built.
    let loser_payloads =
        possible_loser_payloads(&input.parsed, &known, std::mem::take(&mut input.raw))?;
    // Only the attempts frame now: the questions and options are built once the winners are known.
    let new_attempts = frames::attempts_frame(&input.parsed).map_err(building("assessments"))?;
    stages.mark("frames");

    let ids = keen_id_frame(&known)?;
    wait_for_writes();
    stages.mark("waiting for the previous batch's writes");
    let earlier = earlier_versions(store, tenant, manifest, index, &known, &ids)?;
    stages.mark("read back");
    let versions = versions(&new_attempts, &earlier)?;
    let customer = assessments::customer_attempts(versions)
        .and_then(LazyFrame::collect)
        .map_err(building("assessments"))?;
    let distinct = assessments::without_exact_duplicates(customer.clone().lazy())
        .collect()
        .map_err(building("assessments"))?;
    let contenders = distinct
        .clone()
        .lazy()
        .filter(col(ORIGIN).neq(lit(Origin::Superseded as i32)));
    let latest = assessments::latest_versions(contenders.clone())
        .and_then(LazyFrame::collect)
        .map_err(building("assessments"))?;
    let superseded = assessments::superseded(contenders, latest.clone().lazy())
        .collect()
        .map_err(building("quarantine"))?;
    let dropped = customer
        .lazy()
        .anti_join(
            distinct.lazy().select([col(ARRIVAL)]),
            col(ARRIVAL),
            col(ARRIVAL),
        )
        .collect()
        .map_err(building("data quality"))?;
    let read_back = read_back(store, tenant, earlier, &latest, &ids)?;
    let pulled_ids: HashSet<String> = read_back
        .assessments
        .iter()
        .flat_map(|df| string_values(df, a::KEEN_ID))
        .collect();
    stages.mark("versions");

    let parts = new_part_tables(
        &latest,
        new_attempts,
        &input.parsed,
        &read_back,
        config.recent_part_attempts,
    )?;
    input.parsed = Vec::new();
    stages.mark("part tables");
    let mut rejections = std::mem::take(&mut input.rejections);
    let raw_files: Vec<RawInput> = manifest
        .processed
        .iter()
        .chain(&input.inputs)
        .cloned()
        .collect();
    rejections.append(superseded_rejections(
        &superseded,
        &loser_payloads,
        &raw_files,
        store,
    )?);

    let parts_rewritten = read_back.rewrites.len();
    record_counts(manifest, &input, &rejections, &dropped, &superseded, &parts)?;
    let first_part = manifest.next_part;
    manifest.next_part += parts.len() as u32;
    update_index(index, &parts, &superseded, &pulled_ids, first_part)?;
    stages.mark("rules");
    let mut files = encode_rewrites(tenant, manifest, read_back.rewrites)?;
    files.extend(encode_parts(
        tenant, manifest, first_part, parts, rejections,
    )?);
    stages.mark("encode");
    manifest.processed.extend(input.inputs);
    Ok(BatchOutcome {
        parts_rewritten,
        files,
    })
}

/// Number the batch's rows in arrival order: received time, then source, partition and position.
fn order_by_arrival(parsed: &mut [ParsedRow]) {
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

/// The batch's keen_ids that earlier batches may have seen (by hash; false positives are harmless).
fn known_ids(parsed: &[ParsedRow], index: &KeyIndex) -> Result<BTreeSet<String>> {
    let hashes: Vec<u64> = parsed
        .iter()
        .map(|(_, _, attempt)| key_hash(&attempt.keen_id))
        .collect();
    let known = index.are_known(&hashes)?;
    Ok(parsed
        .iter()
        .zip(known)
        .filter(|(_, known)| *known)
        .map(|((_, _, attempt), _)| attempt.keen_id.clone())
        .collect())
}

/// The batch's keen_ids as a one-column frame, to join on.
fn keen_id_frame(known: &BTreeSet<String>) -> Result<LazyFrame> {
    Ok(DataFrame::new(
        known.len(),
        vec![Column::new(
            a::KEEN_ID.into(),
            known.iter().map(String::as_str).collect::<Vec<_>>(),
        )],
    )
    .map_err(building("assessments"))?
    .lazy())
}

/// The kept and superseded versions of `known` keen_ids in earlier parts (assessments and
/// quarantine only: the questions and options are read only for parts that must change).
fn earlier_versions(
    store: &dyn Storage,
    tenant: &TenantId,
    manifest: &Manifest,
    index: &KeyIndex,
    known: &BTreeSet<String>,
    ids: &LazyFrame,
) -> Result<EarlierVersions> {
    let mut earlier = EarlierVersions::default();
    if known.is_empty() {
        return Ok(earlier);
    }
    let hashes: Vec<u64> = known.iter().map(|id| key_hash(id)).collect();
    let touched = index.touched(hashes.iter())?;
    for part in manifest
        .parts
        .iter()
        .filter(|p| touched.kept_parts.contains(&p.id))
    {
        let (pulled, remaining) = split_part_table(store, tenant, part, Table::Assessments, ids)?;
        if pulled.height() > 0 {
            earlier.kept.push(TouchedPart {
                part: part.clone(),
                pulled,
                remaining,
            });
        }
    }
    for part in manifest
        .parts
        .iter()
        .filter(|p| touched.superseded_parts.contains(&p.id))
    {
        let df = scan::read_table_file(
            store,
            &part.quarantine_key(tenant),
            Some(&[
                "rule",
                a::KEEN_ID,
                a::PAYLOAD_HASH,
                a::SUBMITTED_AT,
                raw::SOURCE,
                raw::PARTITION,
                raw::POSITION,
                raw::RECEIVED_AT,
            ]),
        )?;
        let versions = df
            .lazy()
            .filter(col("rule").eq(lit(SUPERSEDED_VERSION)))
            .semi_join(ids.clone(), col(a::KEEN_ID), col(a::KEEN_ID))
            .collect()
            .map_err(building("quarantine"))?;
        earlier.superseded.push(versions);
    }
    Ok(earlier)
}

/// One table of an earlier part split into the rows of `ids` and the others.
fn split_part_table(
    store: &dyn Storage,
    tenant: &TenantId,
    part: &Part,
    table: Table,
    ids: &LazyFrame,
) -> Result<(DataFrame, DataFrame)> {
    let df = scan::read_table_file(store, &part.key(tenant, table), None)?.lazy();
    let split = |rows: LazyFrame| rows.collect().map_err(building(table.name()));
    Ok((
        split(
            df.clone()
                .semi_join(ids.clone(), col(a::KEEN_ID), col(a::KEEN_ID)),
        )?,
        split(df.anti_join(ids.clone(), col(a::KEEN_ID), col(a::KEEN_ID)))?,
    ))
}

/// Read back the earlier parts whose stored rows must change: a kept version lost, or a kept
/// winner's `had_duplicates` must now be true (the batch holds another version of it). Their
/// winners move to the batch's new part and the part is rewritten without them; a part whose
/// kept versions all still win, already flagged, stays as it is.
fn read_back(
    store: &dyn Storage,
    tenant: &TenantId,
    earlier: EarlierVersions,
    latest: &DataFrame,
    ids: &LazyFrame,
) -> Result<ReadBack> {
    let mut back = ReadBack::default();
    let kept_winners: HashSet<String> = latest
        .clone()
        .lazy()
        .filter(col(ORIGIN).eq(lit(Origin::Kept as i32)))
        .select([col(a::KEEN_ID)])
        .collect()
        .map(|df| string_values(&df, a::KEEN_ID).into_iter().collect())
        .map_err(building("assessments"))?;
    for touched in earlier.kept {
        if !must_change(&touched.pulled, &kept_winners)? {
            continue;
        }
        let (questions, remaining_questions) =
            split_part_table(store, tenant, &touched.part, Table::Questions, ids)?;
        let (options, remaining_options) =
            split_part_table(store, tenant, &touched.part, Table::Options, ids)?;
        back.assessments.push(touched.pulled);
        back.questions.push(questions);
        back.options.push(options);
        back.rewrites.push((
            touched.part,
            [touched.remaining, remaining_questions, remaining_options],
        ));
    }
    Ok(back)
}

/// Whether a part's stored rows of `pulled` attempts must change.
fn must_change(pulled: &DataFrame, kept_winners: &HashSet<String>) -> Result<bool> {
    let flagged = pulled
        .column(a::HAD_DUPLICATES)
        .and_then(|c| c.bool().cloned())
        .map_err(building("assessments"))?;
    let changes = string_values(pulled, a::KEEN_ID)
        .iter()
        .zip(flagged.iter())
        .any(|(keen_id, flagged)| !kept_winners.contains(keen_id) || flagged != Some(true));
    Ok(changes)
}

/// Every version taking part in the decision: the batch's, the kept and the superseded ones,
/// in one arrival order across all of them.
fn versions(new_attempts: &DataFrame, earlier: &EarlierVersions) -> Result<LazyFrame> {
    let identity = |origin: Origin, row: Expr| {
        vec![
            col(a::KEEN_ID),
            col(a::PAYLOAD_HASH),
            col(a::SUBMITTED_AT),
            col(raw::RECEIVED_AT),
            col(lineage::SOURCE),
            col(lineage::PARTITION),
            col(lineage::POSITION),
            row.cast(DataType::Int64).alias(ROW),
            lit(origin as i32).alias(ORIGIN),
        ]
    };
    let mut all = vec![new_attempts
        .clone()
        .lazy()
        .select(identity(Origin::New, col(ARRIVAL)))];
    let kept: Vec<DataFrame> = earlier.kept.iter().map(|t| t.pulled.clone()).collect();
    if let Some(kept) = numbered(&kept)? {
        all.push(kept.select(identity(Origin::Kept, col("_index"))));
    }
    if let Some(superseded) = numbered(&earlier.superseded)? {
        let renamed = superseded.rename(
            [raw::SOURCE, raw::PARTITION, raw::POSITION],
            [lineage::SOURCE, lineage::PARTITION, lineage::POSITION],
            true,
        );
        all.push(renamed.select(identity(Origin::Superseded, col("_index"))));
    }
    Ok(concat(all, UnionArgs::default())
        .map_err(building("assessments"))?
        // Versions already transformed count as arriving before the batch's: the same order as a
        // rebuild whenever raw files land in arrival order, and a backfill never un-keeps a copy.
        .sort_by_exprs(
            [
                col(ORIGIN).eq(lit(Origin::New as i32)),
                col(raw::RECEIVED_AT),
                col(lineage::SOURCE),
                col(lineage::PARTITION),
                col(lineage::POSITION),
            ],
            SortMultipleOptions::default(),
        )
        .with_row_index(ARRIVAL, None))
}

/// Frames of one table stacked, each row numbered in `_index`; `None` for no frames.
fn numbered(frames: &[DataFrame]) -> Result<Option<LazyFrame>> {
    Ok(stacked(frames)?.map(|lf| lf.with_row_index("_index", None)))
}

fn stacked(frames: &[DataFrame]) -> Result<Option<LazyFrame>> {
    if frames.is_empty() {
        return Ok(None);
    }
    let lazies: Vec<LazyFrame> = frames.iter().map(|df| df.clone().lazy()).collect();
    concat(lazies, UnionArgs::default())
        .map(Some)
        .map_err(building("read back"))
}

/// The new parts' assessments, questions and options: the batch's winners and the read-back
/// attempts that still win. The latest `recent` new winners form a second part when they are at
/// most half of them: a later batch re-deciding a recent arrival then rewrites only that part.
fn new_part_tables(
    latest: &DataFrame,
    new_attempts: DataFrame,
    parsed: &[ParsedRow],
    back: &ReadBack,
    recent: usize,
) -> Result<Vec<[DataFrame; 3]>> {
    let new_winners = latest
        .clone()
        .lazy()
        .filter(col(ORIGIN).eq(lit(Origin::New as i32)))
        .select([
            col(ROW).cast(DataType::UInt64).alias(ARRIVAL),
            col(a::HAD_DUPLICATES),
        ]);
    let kept_winners = latest
        .clone()
        .lazy()
        .filter(col(ORIGIN).eq(lit(Origin::Kept as i32)))
        .select([col(a::KEEN_ID)]);
    let arrivals = new_winner_arrivals(latest)?;
    let Some(cut) = recent_cut(&arrivals, recent) else {
        return Ok(vec![part_tables(
            &new_attempts,
            new_winners,
            &winning_rows(parsed, &arrivals)?,
            Some((back, kept_winners)),
        )?]);
    };
    let (earlier, recent) = arrivals.split_at(arrivals.partition_point(|&arrival| arrival < cut));
    Ok(vec![
        part_tables(
            &new_attempts,
            new_winners.clone().filter(col(ARRIVAL).lt(lit(cut))),
            &winning_rows(parsed, earlier)?,
            Some((back, kept_winners)),
        )?,
        part_tables(
            &new_attempts,
            new_winners.filter(col(ARRIVAL).gt_eq(lit(cut))),
            &winning_rows(parsed, recent)?,
            None,
        )?,
    ])
}

/// The arrivals of the batch's winning attempts (their rows in the batch), ascending.
fn new_winner_arrivals(latest: &DataFrame) -> Result<Vec<u64>> {
    let arrivals = latest
        .clone()
        .lazy()
        .filter(col(ORIGIN).eq(lit(Origin::New as i32)))
        .select([col(ROW).cast(DataType::UInt64)])
        .collect()
        .map_err(building("assessments"))?;
    let mut arrivals: Vec<u64> = arrivals
        .column(ROW)
        .and_then(|c| c.u64().map(|v| v.into_no_null_iter().collect()))
        .map_err(building("assessments"))?;
    arrivals.sort_unstable();
    Ok(arrivals)
}

/// The first arrival of the latest `recent` new winners (`arrivals` ascending), when they are at
/// most half of them.
fn recent_cut(arrivals: &[u64], recent: usize) -> Option<u64> {
    if recent == 0 || arrivals.len() < 2 * recent {
        return None;
    }
    Some(arrivals[arrivals.len() - recent])
}

/// The parsed rows at `arrivals` (a batch numbers its rows by arrival).
fn winning_rows<'a>(parsed: &'a [ParsedRow], arrivals: &[u64]) -> Result<Vec<&'a ParsedRow>> {
    arrivals
        .iter()
        .map(|&arrival| {
            parsed.get(arrival as usize).ok_or_else(|| {
                building("questions")(polars_err!(
                    OutOfBounds: "winning arrival {arrival} is not in a batch of {} rows",
                    parsed.len()
                ))
            })
        })
        .collect()
}

/// One part's tables: the new `winners` (arrival, had_duplicates) and, for the batch's first
/// part, the read-back attempts among the `kept` winners.
fn part_tables(
    new_attempts: &DataFrame,
    winners: LazyFrame,
    winning_rows: &[&ParsedRow],
    kept: Option<(&ReadBack, LazyFrame)>,
) -> Result<[DataFrame; 3]> {
    let still_winning = |frames: &[DataFrame]| -> Result<Option<LazyFrame>> {
        let Some((_, kept_winners)) = &kept else {
            return Ok(None);
        };
        Ok(stacked(frames)?
            .map(|all| all.semi_join(kept_winners.clone(), col(a::KEEN_ID), col(a::KEEN_ID))))
    };
    let empty = ReadBack::default();
    let back = kept.as_ref().map_or(&empty, |(back, _)| *back);
    let new_assessments = new_attempts
        .clone()
        .lazy()
        .inner_join(winners.clone(), col(ARRIVAL), col(ARRIVAL))
        .select(assessments::columns());
    let kept_assessments = still_winning(&back.assessments)?.map(|lf| {
        lf.with_column(lit(true).alias(a::HAD_DUPLICATES))
            .select(assessments::columns())
    });
    type Builder = fn(&[&ParsedRow]) -> PolarsResult<DataFrame>;
    let builders: [Builder; 2] = [questions::questions, options::options];
    let [new_questions, new_options] = run_all(builders.map(|build| move || build(winning_rows)));
    let tables = [
        (Table::Assessments, new_assessments, kept_assessments),
        (
            Table::Questions,
            new_questions.map_err(building("questions"))?.lazy(),
            still_winning(&back.questions)?,
        ),
        (
            Table::Options,
            new_options.map_err(building("options"))?.lazy(),
            still_winning(&back.options)?,
        ),
    ];
    let mut built: [DataFrame; 3] = Default::default();
    for (slot, (table, new, kept)) in built.iter_mut().zip(tables) {
        let all = match kept {
            Some(kept) => concat([new, kept], UnionArgs::default()),
            None => Ok(new),
        };
        // Attempts in start order, so sums over a part do not depend on arrival order.
        let all = all.map(|lf| match table {
            Table::Assessments => assessments::assessments(lf),
            _ => lf,
        });
        *slot = all
            .and_then(LazyFrame::collect)
            .map_err(building(table.name()))?;
    }
    Ok(built)
}

/// Quarantine rows for the versions that lost, with their original bytes.
/// Payloads of the batch's rows, by source, partition and position.
type PayloadsAt = HashMap<(String, i32, i64), Vec<u8>>;

/// The payloads of the batch's rows that may lose to another version of their keen_id: those
/// whose keen_id occurs more than once in the batch or may be known from earlier batches. No other
/// row can be superseded, so the raw files need not be held while the batch is applied (a row
/// missed here would still be found by reading its raw file again).
fn possible_loser_payloads(
    parsed: &[ParsedRow],
    known: &BTreeSet<String>,
    raw: Vec<DataFrame>,
) -> Result<PayloadsAt> {
    let mut occurrences: HashMap<&str, u32> = HashMap::with_capacity(parsed.len());
    for (_, _, attempt) in parsed {
        *occurrences.entry(attempt.keen_id.as_str()).or_default() += 1;
    }
    let candidates: Vec<Lineage> = parsed
        .iter()
        .filter(|(_, _, attempt)| {
            occurrences.get(attempt.keen_id.as_str()) > Some(&1) || known.contains(&attempt.keen_id)
        })
        .map(|(lineage, _, _)| lineage.clone())
        .collect();
    let payloads = scan::payloads_in_frames(&raw, &candidates)?;
    Ok(candidates
        .into_iter()
        .zip(payloads)
        .filter_map(|(l, payload)| Some(((l.source, l.partition, l.position), payload?)))
        .collect())
}

/// Quarantine rows for the superseded versions, with their payloads: from the batch's
/// `loser_payloads`, else read again from the raw file named in `raw_files` that holds them.
fn superseded_rejections(
    superseded: &DataFrame,
    loser_payloads: &PayloadsAt,
    raw_files: &[RawInput],
    store: &dyn Storage,
) -> Result<Rejections> {
    let lineages = frames::table_lineages(superseded).map_err(building("quarantine"))?;
    let mut payloads: Vec<Option<Vec<u8>>> = lineages
        .iter()
        .map(|l| {
            loser_payloads
                .get(&(l.source.clone(), l.partition, l.position))
                .cloned()
        })
        .collect();
    let missing: Vec<usize> = (0..lineages.len())
        .filter(|&i| payloads[i].is_none())
        .collect();
    if !missing.is_empty() {
        let wanted: Vec<Lineage> = missing.iter().map(|&i| lineages[i].clone()).collect();
        for (i, payload) in missing
            .into_iter()
            .zip(scan::payloads_at(store, raw_files, &wanted)?)
        {
            payloads[i] = payload;
        }
    }
    let keen_ids = string_values(superseded, a::KEEN_ID);
    let hashes = i64_values(superseded, a::PAYLOAD_HASH, false)?;
    let submitted = i64_values(superseded, a::SUBMITTED_AT, true)?;
    let mut rejections = Rejections::default();
    for (i, lineage) in lineages.into_iter().enumerate() {
        let reason = match &payloads[i] {
            Some(_) => "superseded by a later version of the same keen_id".to_string(),
            None => "superseded by a later version of the same keen_id (its raw file was retired: payload not kept)".to_string(),
        };
        let version = Version {
            keen_id: keen_ids[i].clone(),
            payload_hash: hashes[i],
            submitted_at_us: submitted[i],
        };
        let payload = payloads[i].take().unwrap_or_default();
        rejections.push_version(lineage, SUPERSEDED_VERSION, reason, &payload, Some(version));
    }
    Ok(rejections)
}

fn record_counts(
    manifest: &mut Manifest,
    input: &BatchInput,
    rejections: &Rejections,
    dropped: &DataFrame,
    superseded: &DataFrame,
    parts: &[[DataFrame; 3]],
) -> Result<()> {
    let counts = &mut manifest.counts;
    counts.raw_records += input.records;
    counts.schema_violations += rejections.count(SCHEMA_VIOLATION);
    counts.test_records += rejections.count(TEST_RECORD);
    counts.exact_duplicates_dropped += dropped.height();
    counts.superseded_versions += superseded.height();
    for rule in [SCHEMA_VIOLATION, TEST_RECORD] {
        manifest.add_examples(rule, rejections.examples(rule));
    }
    manifest.add_examples(
        EXACT_DUPLICATE,
        describe_rows(&dropped.head(Some(3)), "redelivery of ")?,
    );
    manifest.add_examples(
        SUPERSEDED_VERSION,
        describe_rows(&superseded.head(Some(3)), "older version of ")?,
    );
    let consistent = col(a::COUNTS_CONSISTENT);
    for (rule, filter) in [
        (COUNTS_MISMATCH, consistent.clone().eq(lit(false))),
        (COUNTS_MISSING, consistent.is_null()),
    ] {
        for [new_assessments, _, _] in parts {
            let flagged = new_assessments
                .clone()
                .lazy()
                .filter(filter.clone())
                .limit(3)
                .collect()
                .map_err(building("data quality"))?;
            manifest.add_examples(rule, describe_rows(&flagged, "")?);
        }
    }
    Ok(())
}

/// Index the kept attempts of `parts` (numbered from `first_part`) and the superseded versions,
/// which the first part's quarantine holds.
fn update_index(
    index: &mut KeyIndex,
    parts: &[[DataFrame; 3]],
    superseded: &DataFrame,
    pulled_ids: &HashSet<String>,
    first_part: u32,
) -> Result<()> {
    // Moves first: a new keen_id sharing a hash with a moved one then lands in the overflow
    // instead of being overwritten by the move.
    let mut added = Vec::new();
    for (part, [new_assessments, _, _]) in (first_part..).zip(parts) {
        for keen_id in string_values(new_assessments, a::KEEN_ID) {
            let hash = key_hash(&keen_id);
            if pulled_ids.contains(&keen_id) {
                index.move_kept(hash, part)?;
            } else {
                added.push((hash, part));
            }
        }
    }
    index.add_kept_many(&added)?;
    for keen_id in string_values(superseded, a::KEEN_ID) {
        index.add_superseded(key_hash(&keen_id), first_part);
    }
    Ok(())
}

/// Encode the next generation of each earlier part that lost attempts to this batch.
fn encode_rewrites(
    tenant: &TenantId,
    manifest: &mut Manifest,
    rewrites: Vec<(Part, [DataFrame; 3])>,
) -> Result<Vec<sink::Encoded>> {
    let mut files = Vec::new();
    for (part, frames) in rewrites {
        let next = Part {
            generation: part.generation + 1,
            ..sized(part.id, &frames)?
        };
        files.extend(encode_part_tables(tenant, &next, &frames)?);
        if let Some(entry) = manifest.part_mut(next.id) {
            *entry = next;
        }
    }
    Ok(files)
}

/// Encode the batch's parts, numbered from `first_part`, and their quarantine (all of it in the
/// first part's; the others get an empty one).
fn encode_parts(
    tenant: &TenantId,
    manifest: &mut Manifest,
    first_part: u32,
    parts: Vec<[DataFrame; 3]>,
    rejections: Rejections,
) -> Result<Vec<sink::Encoded>> {
    let mut rejections = Some(rejections);
    let mut files = Vec::new();
    for (id, tables) in (first_part..).zip(parts) {
        let part = sized(id, &tables)?;
        files.extend(encode_part_tables(tenant, &part, &tables)?);
        let mut quarantine = rejections
            .take()
            .unwrap_or_default()
            .to_frame()
            .map_err(building("quarantine"))?;
        files.push(sink::encode_parquet(
            &part.quarantine_key(tenant),
            &mut quarantine,
        )?);
        manifest.parts.push(part);
    }
    Ok(files)
}

/// Encode one part of each table, and the part of each table derived from them. The five files
/// are encoded on their own threads: each is one single-threaded zstd stream.
pub(crate) fn encode_part_tables(
    tenant: &TenantId,
    part: &Part,
    frames: &[DataFrame; 3],
) -> Result<Vec<sink::Encoded>> {
    let [assessments, questions, options] = frames;
    let encode = |table: Table, df: &DataFrame| -> Result<sink::Encoded> {
        sink::encode_parquet(&part.key(tenant, table), &mut df.clone())
    };
    let jobs: [Box<dyn FnOnce() -> Result<sink::Encoded> + Send + '_>; 5] = [
        Box::new(|| encode(Table::Assessments, assessments)),
        Box::new(|| encode(Table::Questions, questions)),
        Box::new(|| encode(Table::Options, options)),
        Box::new(|| {
            let counts = option_counts::option_counts(assessments, options)
                .map_err(building(Table::OptionCounts.name()))?;
            encode(Table::OptionCounts, &counts)
        }),
        Box::new(|| {
            let counts = question_counts::question_counts(questions.clone().lazy())
                .collect()
                .map_err(building(Table::QuestionCounts.name()))?;
            encode(Table::QuestionCounts, &counts)
        }),
    ];
    run_all(jobs).into_iter().collect()
}

/// Run every job on its own thread and return their results in order.
fn run_all<T: Send, F: FnOnce() -> T + Send, const N: usize>(jobs: [F; N]) -> [T; N] {
    std::thread::scope(|scope| jobs.map(|job| scope.spawn(job)).map(crate::threads::joined))
}

/// A part's row counts and flagged attempts, from its assessments, questions and options.
pub(crate) fn sized(id: u32, tables: &[DataFrame; 3]) -> Result<Part> {
    let consistent = tables[0]
        .column(a::COUNTS_CONSISTENT)
        .and_then(|c| c.bool().cloned())
        .map_err(building("assessments"))?;
    Ok(Part {
        id,
        generation: 0,
        assessments: tables[0].height(),
        questions: tables[1].height(),
        options: tables[2].height(),
        counts_mismatches: consistent.iter().filter(|v| *v == Some(false)).count(),
        counts_missing: consistent.null_count(),
    })
}

/// "keen_id K at SOURCE@POSITION" for each row of a frame with curated lineage columns.
pub fn describe_rows(df: &DataFrame, prefix: &str) -> Result<Vec<String>> {
    let keen = string_values(df, a::KEEN_ID);
    let lineages = frames::table_lineages(df).map_err(building("data quality"))?;
    Ok(lineages
        .iter()
        .zip(keen)
        .map(|(l, keen_id)| format!("{prefix}keen_id {keen_id} at {}@{}", l.source, l.position))
        .collect())
}

fn string_values(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .ok()
        .and_then(|c| c.str().ok())
        .map(|values| {
            values
                .iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn i64_values(df: &DataFrame, name: &str, cast: bool) -> Result<Vec<i64>> {
    let column = df.column(name).map_err(building("quarantine"))?;
    let column = if cast {
        column
            .cast(&DataType::Int64)
            .map_err(building("quarantine"))?
    } else {
        column.clone()
    };
    Ok(column
        .i64()
        .map_err(building("quarantine"))?
        .iter()
        .map(Option::unwrap_or_default)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::ParsedAttempt;

    fn attempt(keen_id: &str) -> ParsedAttempt {
        ParsedAttempt {
            keen_id: keen_id.to_string(),
            user_exam_id: "u".to_string(),
            base_exam_id: "b".to_string(),
            sequence_id: None,
            exam_name: "e".to_string(),
            started_at_us: 0,
            submitted_at_us: 0,
            n_correct: 0,
            n_incorrect: 0,
            n_missed_some: 0,
            n_unanswered: 0,
            reported: None,
            counts_consistent: None,
            is_test: false,
            content_hash: 0,
            questions: Vec::new(),
            options: Vec::new(),
            text: String::new(),
        }
    }

    fn lineage(position: i64) -> Lineage {
        Lineage {
            source: "s".to_string(),
            partition: 0,
            position,
            received_at_us: 0,
        }
    }

    #[test]
    fn only_rows_that_may_be_superseded_keep_their_payload() -> PolarsResult<()> {
        let ids = ["a", "b", "a", "c", "d"];
        let parsed: Vec<ParsedRow> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (lineage(i as i64 + 1), i as u64, attempt(id)))
            .collect();
        let payloads: Vec<&[u8]> = vec![b"a1", b"b", b"a2", b"c", b"d"];
        let raw_file = DataFrame::new(
            5,
            vec![
                Column::new(raw::SOURCE.into(), vec!["s"; 5]),
                Column::new(raw::PARTITION.into(), vec![0i32; 5]),
                Column::new(raw::POSITION.into(), vec![1i64, 2, 3, 4, 5]),
                Column::new(raw::RECEIVED_AT.into(), vec![0i64; 5]),
                Column::new(raw::PAYLOAD.into(), payloads),
            ],
        )?;
        // "a" occurs twice in the batch; "c" may be known from earlier batches.
        let known = BTreeSet::from(["c".to_string()]);
        let kept = possible_loser_payloads(&parsed, &known, vec![raw_file])
            .unwrap_or_else(|e| panic!("{e}"));
        let mut positions: Vec<(i64, &[u8])> = kept
            .iter()
            .map(|((_, _, position), payload)| (*position, payload.as_slice()))
            .collect();
        positions.sort();
        assert_eq!(
            positions,
            vec![(1, &b"a1"[..]), (3, &b"a2"[..]), (4, &b"c"[..])]
        );
        Ok(())
    }
}
