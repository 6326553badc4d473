//! `options`: one row per answer option per question per kept attempt, for distractor analysis.
//! Linked to `questions` by (keen_id, question_id) and to `assessments` by keen_id.
//!
//! Input: the parsed rows of the kept attempts, in arrival order. Built straight from them, like
//! `questions`: the largest table (about 17 rows per attempt) is never built for attempts that
//! lost, nor copied by a join.

use polars::prelude::*;

use crate::frames::{self, ParsedRow};

/// The options of `kept` attempts, in their order.
pub fn options(kept: &[&ParsedRow]) -> PolarsResult<DataFrame> {
    frames::options_frame(kept)
}
