//! Typed rows to DataFrames with an explicit schema: nothing is inferred.

use examlake_core::schema::{assessments as a, lineage, questions as q, raw};
use polars::prelude::*;

use crate::parse::ParsedAttempt;

/// Where a row came from, and in which order it arrived.
#[derive(Debug, Clone)]
pub struct Lineage {
    pub source: String,
    pub partition: i32,
    pub position: i64,
    pub received_at_us: i64,
}

/// Internal columns used by the rules and dropped before writing.
pub mod internal {
    /// Arrival order across all raw files: higher arrived later.
    pub const ARRIVAL: &str = "_arrival";
    /// Where a version of an attempt comes from in an incremental batch (see [`super::Origin`]).
    pub const ORIGIN: &str = "_origin";
    /// The row of a version in the frame of its origin.
    pub const ROW: &str = "_row";
}

/// Where a version of an attempt comes from when a batch decides which version wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Parsed from this batch's raw files.
    New = 0,
    /// Already in the tables (kept by an earlier batch).
    Kept = 1,
    /// Quarantined earlier as superseded: takes part in exact-duplicate detection only.
    Superseded = 2,
}

/// One parsed attempt with its lineage and its arrival number in the batch.
pub type ParsedRow = (Lineage, u64, ParsedAttempt);

pub fn utc_micros() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

fn datetime(name: &str, values: Vec<Option<i64>>) -> PolarsResult<Column> {
    Column::new(name.into(), values).cast(&utc_micros())
}

/// One row per parsed attempt (before any rule), with lineage and the internal rule columns.
pub fn attempts_frame(rows: &[ParsedRow]) -> PolarsResult<DataFrame> {
    let col_str = |name: &str, f: &dyn Fn(&ParsedAttempt) -> &str| {
        Column::new(
            name.into(),
            rows.iter().map(|(_, _, p)| f(p)).collect::<Vec<_>>(),
        )
    };
    let col_i32 = |name: &str, f: &dyn Fn(&ParsedAttempt) -> i32| {
        Column::new(
            name.into(),
            rows.iter().map(|(_, _, p)| f(p)).collect::<Vec<_>>(),
        )
    };
    let reported = |f: &dyn Fn(&examlake_core::event::Counts) -> Option<i64>| {
        rows.iter()
            .map(|(_, _, p)| p.reported.as_ref().and_then(f))
            .collect::<Vec<_>>()
    };
    let columns = vec![
        col_str(a::KEEN_ID, &|p| &p.keen_id),
        col_str(a::USER_EXAM_ID, &|p| &p.user_exam_id),
        col_str(a::BASE_EXAM_ID, &|p| &p.base_exam_id),
        Column::new(
            a::SEQUENCE_ID.into(),
            rows.iter()
                .map(|(_, _, p)| p.sequence_id.as_deref())
                .collect::<Vec<_>>(),
        ),
        col_str(a::EXAM_NAME, &|p| &p.exam_name),
        datetime(
            a::STARTED_AT,
            rows.iter().map(|(_, _, p)| Some(p.started_at_us)).collect(),
        )?,
        datetime(
            a::SUBMITTED_AT,
            rows.iter()
                .map(|(_, _, p)| Some(p.submitted_at_us))
                .collect(),
        )?,
        Column::new(
            a::DURATION_SECS.into(),
            rows.iter()
                .map(|(_, _, p)| (p.submitted_at_us - p.started_at_us) as f64 / 1e6)
                .collect::<Vec<_>>(),
        ),
        col_i32(a::N_QUESTIONS, &|p| p.n_questions()),
        col_i32(a::N_CORRECT, &|p| p.n_correct),
        col_i32(a::N_INCORRECT, &|p| p.n_incorrect),
        col_i32(a::N_MISSED_SOME, &|p| p.n_missed_some),
        col_i32(a::N_UNANSWERED, &|p| p.n_unanswered),
        Column::new(
            a::SCORE.into(),
            rows.iter()
                .map(|(_, _, p)| f64::from(p.n_correct) / f64::from(p.n_questions()))
                .collect::<Vec<_>>(),
        ),
        Column::new(a::REPORTED_TOTAL.into(), reported(&|c| c.total)),
        Column::new(a::REPORTED_CORRECT.into(), reported(&|c| c.correct)),
        Column::new(
            a::COUNTS_PRESENT.into(),
            rows.iter()
                .map(|(_, _, p)| p.reported.is_some())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            a::COUNTS_CONSISTENT.into(),
            rows.iter()
                .map(|(_, _, p)| p.counts_consistent)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            lineage::SOURCE.into(),
            rows.iter()
                .map(|(l, _, _)| l.source.as_str())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            lineage::PARTITION.into(),
            rows.iter().map(|(l, _, _)| l.partition).collect::<Vec<_>>(),
        ),
        Column::new(
            lineage::POSITION.into(),
            rows.iter().map(|(l, _, _)| l.position).collect::<Vec<_>>(),
        ),
        datetime(
            raw::RECEIVED_AT,
            rows.iter()
                .map(|(l, _, _)| Some(l.received_at_us))
                .collect(),
        )?,
        Column::new(
            internal::ARRIVAL.into(),
            rows.iter()
                .map(|(_, arrival, _)| *arrival)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            a::PAYLOAD_HASH.into(),
            rows.iter()
                .map(|(_, _, p)| p.content_hash as i64)
                .collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(rows.len(), columns)
}

/// Strings of each attempt (or question) repeated on many rows: each value is stored once and the
/// rows gather views of it (Polars shares the string buffers), instead of one copy per row.
fn repeated<'a>(
    name: &str,
    values: impl Iterator<Item = &'a str>,
    rows: &[IdxSize],
) -> PolarsResult<Column> {
    let once = Series::new(name.into(), values.collect::<Vec<_>>());
    Ok(once.take_slice(rows)?.into_column())
}

/// One row per question of each of `rows`, in their order.
pub fn questions_frame(rows: &[&ParsedRow]) -> PolarsResult<DataFrame> {
    let n: usize = rows.iter().map(|(_, _, p)| p.questions.len()).sum();
    let mut attempt_of_row: Vec<IdxSize> = Vec::with_capacity(n);
    let (mut question_id, mut position, mut result) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut correct, mut incomplete, mut submitted) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut n_options, mut n_checked, mut n_right) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut wrong, mut first_click, mut last_click) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut partition, mut source_position) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (attempt_idx, (lineage, _, attempt)) in rows.iter().enumerate() {
        for question in &attempt.questions {
            attempt_of_row.push(attempt_idx as IdxSize);
            question_id.push(attempt.text_of(question.question_id));
            position.push(question.position);
            result.push(question.user_result.as_str());
            correct.push(question.is_correct);
            incomplete.push(question.is_incomplete);
            submitted.push(question.is_submitted);
            n_options.push(question.n_options);
            n_checked.push(question.n_checked);
            n_right.push(question.n_correct_options);
            wrong.push(question.wrong_option_chosen.map(|id| attempt.text_of(id)));
            first_click.push(question.first_click_us);
            last_click.push(question.last_click_us);
            partition.push(lineage.partition);
            source_position.push(lineage.position);
        }
    }
    let per_attempt = |name: &str, value: fn(&ParsedRow) -> &str| {
        repeated(name, rows.iter().map(|row| value(row)), &attempt_of_row)
    };
    let columns = vec![
        per_attempt(q::KEEN_ID, |(_, _, p)| &p.keen_id)?,
        per_attempt(q::BASE_EXAM_ID, |(_, _, p)| &p.base_exam_id)?,
        per_attempt(q::EXAM_NAME, |(_, _, p)| &p.exam_name)?,
        Column::new(q::QUESTION_ID.into(), question_id),
        Column::new(q::POSITION.into(), position),
        Column::new(q::USER_RESULT.into(), result),
        Column::new(q::IS_CORRECT.into(), correct),
        Column::new(q::IS_INCOMPLETE.into(), incomplete),
        Column::new(q::IS_SUBMITTED.into(), submitted),
        Column::new(q::N_OPTIONS.into(), n_options),
        Column::new(q::N_CHECKED.into(), n_checked),
        Column::new(q::N_CORRECT_OPTIONS.into(), n_right),
        Column::new(q::WRONG_OPTION_CHOSEN.into(), wrong),
        datetime(q::FIRST_CLICK_AT, first_click)?,
        datetime(q::LAST_CLICK_AT, last_click)?,
        per_attempt(lineage::SOURCE, |(l, _, _)| &l.source)?,
        Column::new(lineage::PARTITION.into(), partition),
        Column::new(lineage::POSITION.into(), source_position),
    ];
    DataFrame::new(n, columns)
}

/// Records the transform refused, with the rule and reason.
#[derive(Debug, Default)]
pub struct Rejections {
    pub lineage: Vec<Lineage>,
    pub rule: Vec<&'static str>,
    pub reason: Vec<String>,
    pub payload: Vec<Vec<u8>>,
    /// For superseded versions: which attempt version it was (lets later batches recognise
    /// redeliveries of it).
    pub version: Vec<Option<Version>>,
}

/// The identity of one version of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub keen_id: String,
    pub payload_hash: i64,
    pub submitted_at_us: i64,
}

impl Rejections {
    pub fn push(&mut self, lineage: Lineage, rule: &'static str, reason: String, payload: &[u8]) {
        self.push_version(lineage, rule, reason, payload, None);
    }

    pub fn push_version(
        &mut self,
        lineage: Lineage,
        rule: &'static str,
        reason: String,
        payload: &[u8],
        version: Option<Version>,
    ) {
        self.lineage.push(lineage);
        self.rule.push(rule);
        self.reason.push(reason);
        self.payload.push(payload.to_vec());
        self.version.push(version);
    }

    pub fn len(&self) -> usize {
        self.rule.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rule.is_empty()
    }

    pub fn count(&self, rule: &str) -> usize {
        self.rule.iter().filter(|r| **r == rule).count()
    }

    /// Up to three "SOURCE@POSITION: reason" examples of `rule`.
    pub fn examples(&self, rule: &str) -> Vec<String> {
        (0..self.len())
            .filter(|&i| self.rule[i] == rule)
            .take(3)
            .map(|i| {
                format!(
                    "{}@{}: {}",
                    self.lineage[i].source, self.lineage[i].position, self.reason[i]
                )
            })
            .collect()
    }

    pub fn append(&mut self, other: Rejections) {
        self.lineage.extend(other.lineage);
        self.rule.extend(other.rule);
        self.reason.extend(other.reason);
        self.payload.extend(other.payload);
        self.version.extend(other.version);
    }

    pub fn to_frame(&self) -> PolarsResult<DataFrame> {
        let payloads: Vec<&[u8]> = self.payload.iter().map(Vec::as_slice).collect();
        let columns = vec![
            Column::new(
                raw::SOURCE.into(),
                self.lineage
                    .iter()
                    .map(|l| l.source.as_str())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                raw::PARTITION.into(),
                self.lineage.iter().map(|l| l.partition).collect::<Vec<_>>(),
            ),
            Column::new(
                raw::POSITION.into(),
                self.lineage.iter().map(|l| l.position).collect::<Vec<_>>(),
            ),
            datetime(
                raw::RECEIVED_AT,
                self.lineage
                    .iter()
                    .map(|l| Some(l.received_at_us))
                    .collect(),
            )?,
            Column::new("rule".into(), self.rule.clone()),
            Column::new(raw::REASON.into(), self.reason.clone()),
            Column::new(raw::PAYLOAD.into(), payloads),
            Column::new(
                a::KEEN_ID.into(),
                self.version
                    .iter()
                    .map(|v| v.as_ref().map(|v| v.keen_id.as_str()))
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                a::PAYLOAD_HASH.into(),
                self.version
                    .iter()
                    .map(|v| v.as_ref().map(|v| v.payload_hash))
                    .collect::<Vec<_>>(),
            ),
            datetime(
                a::SUBMITTED_AT,
                self.version
                    .iter()
                    .map(|v| v.as_ref().map(|v| v.submitted_at_us))
                    .collect(),
            )?,
        ];
        DataFrame::new(self.rule.len(), columns)
    }
}

/// One row per option per question of each of `rows`, in their order.
pub fn options_frame(rows: &[&ParsedRow]) -> PolarsResult<DataFrame> {
    use examlake_core::schema::options as o;
    let n: usize = rows.iter().map(|(_, _, p)| p.options.len()).sum();
    let (mut attempt_of_row, mut question_of_row): (Vec<IdxSize>, Vec<IdxSize>) =
        (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut option_id, mut position, mut checked) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut correct, mut submitted, mut clicked) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut question_idx: IdxSize = 0;
    for (attempt_idx, (_, _, attempt)) in rows.iter().enumerate() {
        for question in &attempt.questions {
            for option in attempt.options_of(question) {
                attempt_of_row.push(attempt_idx as IdxSize);
                question_of_row.push(question_idx);
                option_id.push(option.option_id.map(|id| attempt.text_of(id)));
                position.push(option.position);
                checked.push(option.checked);
                correct.push(option.is_correct);
                submitted.push(option.submitted);
                clicked.push(option.clicked_at_us);
            }
            question_idx += 1;
        }
    }
    let question_ids = rows.iter().flat_map(|(_, _, p)| {
        p.questions
            .iter()
            .map(move |question| p.text_of(question.question_id))
    });
    let columns = vec![
        repeated(
            o::KEEN_ID,
            rows.iter().map(|(_, _, p)| p.keen_id.as_str()),
            &attempt_of_row,
        )?,
        repeated(
            o::EXAM_NAME,
            rows.iter().map(|(_, _, p)| p.exam_name.as_str()),
            &attempt_of_row,
        )?,
        repeated(o::QUESTION_ID, question_ids, &question_of_row)?,
        Column::new(o::OPTION_ID.into(), option_id),
        Column::new(o::POSITION.into(), position),
        Column::new(o::CHECKED.into(), checked),
        Column::new(o::IS_CORRECT.into(), correct),
        Column::new(o::SUBMITTED.into(), submitted),
        datetime(o::CLICKED_AT, clicked)?,
    ];
    DataFrame::new(n, columns)
}

/// The lineage of every row of `df`, read from its source, partition, position and
/// `received_at` columns (raw frames and curated tables name the first three differently).
pub fn lineages(
    df: &DataFrame,
    source: &str,
    partition: &str,
    position: &str,
) -> PolarsResult<Vec<Lineage>> {
    let sources = df.column(source)?.str()?.clone();
    let partitions = df.column(partition)?.i32()?.clone();
    let positions = df.column(position)?.i64()?.clone();
    let received = df
        .column(raw::RECEIVED_AT)?
        .cast(&DataType::Int64)?
        .i64()?
        .clone();
    Ok(sources
        .iter()
        .zip(partitions.iter())
        .zip(positions.iter())
        .zip(received.iter())
        .map(|(((source, partition), position), received)| Lineage {
            source: source.unwrap_or_default().to_string(),
            partition: partition.unwrap_or_default(),
            position: position.unwrap_or_default(),
            received_at_us: received.unwrap_or_default(),
        })
        .collect())
}

/// Lineage of rows of a curated table (columns `source`, `source_partition`, `source_position`).
pub fn table_lineages(df: &DataFrame) -> PolarsResult<Vec<Lineage>> {
    lineages(df, lineage::SOURCE, lineage::PARTITION, lineage::POSITION)
}

/// Lineage of rows of a raw file.
pub fn raw_lineages(df: &DataFrame) -> PolarsResult<Vec<Lineage>> {
    lineages(df, raw::SOURCE, raw::PARTITION, raw::POSITION)
}
