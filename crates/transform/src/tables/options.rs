//! `options`: one row per answer option per question per kept attempt, for distractor analysis.
//! Linked to `questions` by (keen_id, question_id) and to `assessments` by keen_id.
//!
//! Input: every parsed option (keyed by the attempt's arrival) and the kept attempts.

use polars::prelude::*;

use crate::frames::internal::ARRIVAL;

/// The options of the kept attempts only, in arrival order.
pub fn options(all_options: LazyFrame, kept_attempts: LazyFrame) -> LazyFrame {
    all_options
        .semi_join(
            kept_attempts.select([col(ARRIVAL)]),
            col(ARRIVAL),
            col(ARRIVAL),
        )
        .drop(cols([ARRIVAL]))
}
