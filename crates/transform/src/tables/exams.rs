//! `exams`: one row per exam, identified by its name.
//!
//! Several base_exam_ids can share one exam_name (the reference data has 4 such names, each
//! republished under a second id). Customers know exams by name and every published figure
//! counts by name, so the name is the exam's identity here; its ids are listed in
//! `base_exam_ids` (comma-separated, sorted) and counted in `n_base_exam_ids`.

use examlake_core::schema::{assessments as a, exams as e, questions as q};
use polars::prelude::*;

/// Input: the `assessments` and `questions` tables.
pub fn exams(assessments: LazyFrame, questions: LazyFrame) -> LazyFrame {
    let distinct_questions = questions
        .group_by([col(q::EXAM_NAME)])
        .agg([col(q::QUESTION_ID)
            .n_unique()
            .cast(DataType::Int64)
            .alias(e::N_DISTINCT_QUESTIONS)]);
    assessments
        .group_by([col(a::EXAM_NAME)])
        .agg([
            col(a::BASE_EXAM_ID)
                .unique()
                .sort(SortOptions::default())
                .str()
                .join(",", true)
                .alias(e::BASE_EXAM_IDS),
            col(a::BASE_EXAM_ID)
                .n_unique()
                .cast(DataType::Int64)
                .alias(e::N_BASE_EXAM_IDS),
            len().cast(DataType::Int64).alias(e::ATTEMPTS),
            col(a::USER_EXAM_ID)
                .n_unique()
                .cast(DataType::Int64)
                .alias(e::DISTINCT_STUDENTS),
            col(a::STARTED_AT).min().alias(e::FIRST_TAKEN),
            col(a::STARTED_AT).max().alias(e::LAST_TAKEN),
            col(a::SCORE).mean().alias(e::MEAN_SCORE),
        ])
        .left_join(distinct_questions, col(e::EXAM_NAME), col(q::EXAM_NAME))
        .sort_by_exprs(
            [col(e::ATTEMPTS), col(e::EXAM_NAME)],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
}
