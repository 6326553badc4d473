//! `questions`: one row per question per kept attempt, linked by keen_id (the attempt) and
//! base_exam_id / exam_name (the exam).
//!
//! Input: every parsed question (keyed by the attempt's arrival) and the kept attempts.

use polars::prelude::*;

use crate::frames::internal::ARRIVAL;

/// The questions of the kept attempts only, in arrival order (no sort: it would cost more than the rest).
pub fn questions(all_questions: LazyFrame, kept_attempts: LazyFrame) -> LazyFrame {
    all_questions
        .semi_join(
            kept_attempts.select([col(ARRIVAL)]),
            col(ARRIVAL),
            col(ARRIVAL),
        )
        .drop(cols([ARRIVAL]))
}
