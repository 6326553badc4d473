//! `questions`: one row per question per kept attempt, linked by keen_id (the attempt) and
//! base_exam_id / exam_name (the exam).
//!
//! Input: every parsed question (keyed by the attempt's arrival) and the kept attempts.

use examlake_core::schema::questions as q;
use polars::prelude::*;

use crate::frames::internal::ARRIVAL;

/// The questions of the kept attempts only.
pub fn questions(all_questions: LazyFrame, kept_attempts: LazyFrame) -> LazyFrame {
    all_questions
        .semi_join(
            kept_attempts.select([col(ARRIVAL)]),
            col(ARRIVAL),
            col(ARRIVAL),
        )
        .sort([q::KEEN_ID, q::POSITION], SortMultipleOptions::default())
        .drop(cols([ARRIVAL]))
}
