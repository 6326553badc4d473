//! `assessments`: one row per kept attempt, after the data-quality rules.
//!
//! Input: parsed attempts (one row per raw record that parsed, see `frames::attempts_frame`).
//! Rules, in order:
//! 1. test records and unusable payloads never get here (parsing quarantines them);
//! 2. exact redeliveries (same keen_id, same bytes) are dropped, keeping the first arrival;
//! 3. versions of one keen_id with different content: the latest `submitted_at` (keen_timestamp)
//!    wins, ties going to the later arrival; the others are superseded (quarantined).

use examlake_core::schema::assessments as a;
use polars::prelude::*;

use crate::frames::internal::ARRIVAL;

/// Parsed customer attempts, each flagged when its keen_id occurs more than once.
pub fn customer_attempts(parsed: LazyFrame) -> PolarsResult<LazyFrame> {
    Ok(parsed.with_column(
        len()
            .over([col(a::KEEN_ID)])?
            .gt(lit(1))
            .alias(a::HAD_DUPLICATES),
    ))
}

/// Drop exact redeliveries: one row per (keen_id, content), the first to arrive.
pub fn without_exact_duplicates(attempts: LazyFrame) -> LazyFrame {
    attempts
        .sort([ARRIVAL], SortMultipleOptions::default())
        .unique_stable_generic(
            Some(vec![col(a::KEEN_ID), col(a::PAYLOAD_HASH)]),
            UniqueKeepStrategy::First,
        )
}

/// The winning version of each keen_id: latest submitted_at, then latest arrival.
pub fn latest_versions(distinct: LazyFrame) -> PolarsResult<LazyFrame> {
    Ok(distinct
        .filter(col(a::SUBMITTED_AT).eq(col(a::SUBMITTED_AT).max().over([col(a::KEEN_ID)])?))
        .filter(col(ARRIVAL).eq(col(ARRIVAL).max().over([col(a::KEEN_ID)])?)))
}

/// Versions that lost to a later one.
pub fn superseded(distinct: LazyFrame, latest: LazyFrame) -> LazyFrame {
    distinct.anti_join(latest.select([col(ARRIVAL)]), col(ARRIVAL), col(ARRIVAL))
}

/// The published columns, in order.
pub fn columns() -> Vec<Expr> {
    use examlake_core::schema::{lineage, raw};
    [
        a::KEEN_ID,
        a::USER_EXAM_ID,
        a::BASE_EXAM_ID,
        a::SEQUENCE_ID,
        a::EXAM_NAME,
        a::STARTED_AT,
        a::SUBMITTED_AT,
        a::DURATION_SECS,
        a::N_QUESTIONS,
        a::N_CORRECT,
        a::N_INCORRECT,
        a::N_MISSED_SOME,
        a::N_UNANSWERED,
        a::SCORE,
        a::REPORTED_TOTAL,
        a::REPORTED_CORRECT,
        a::COUNTS_PRESENT,
        a::COUNTS_CONSISTENT,
        a::HAD_DUPLICATES,
        a::PAYLOAD_HASH,
        lineage::SOURCE,
        lineage::PARTITION,
        lineage::POSITION,
        raw::RECEIVED_AT,
    ]
    .into_iter()
    .map(col)
    .collect()
}

/// `assessments` (one part) from the winning versions: published columns, ordered by start time.
pub fn assessments(latest: LazyFrame) -> LazyFrame {
    latest
        .sort([a::STARTED_AT, a::KEEN_ID], SortMultipleOptions::default())
        .select(columns())
}
