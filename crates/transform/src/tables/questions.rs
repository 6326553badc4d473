//! `questions`: one row per question per kept attempt, linked by keen_id (the attempt) and
//! base_exam_id / exam_name (the exam).
//!
//! Input: the parsed rows of the kept attempts, in arrival order. Built straight from them: the
//! questions of attempts that lost are never built (a join over every parsed question cost more
//! than the rest, and held a second copy of the frame).

use polars::prelude::*;

use crate::frames::{self, ParsedRow};

/// The questions of `kept` attempts, in their order.
pub fn questions(kept: &[&ParsedRow]) -> PolarsResult<DataFrame> {
    frames::questions_frame(kept)
}
