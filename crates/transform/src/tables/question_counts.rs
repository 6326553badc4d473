//! `question_counts`: per (exam, question, user_result, wrong option chosen), how many kept
//! attempts. One part per part of `questions`, derived from it alone.
//!
//! Question-level reports (most-missed) sum these rows: a few thousand per part instead of one
//! row per question per attempt (4.4M at 1M attempts). What counts as wrong stays in the report's
//! SQL, because the result itself is kept.

use examlake_core::schema::{question_counts as c, questions as q};
use polars::prelude::*;

/// One part's questions, counted per exam, question, result and wrong option.
pub fn question_counts(questions: LazyFrame) -> LazyFrame {
    let keys = [
        col(q::EXAM_NAME).alias(c::EXAM_NAME),
        col(q::QUESTION_ID).alias(c::QUESTION_ID),
        col(q::USER_RESULT).alias(c::USER_RESULT),
        col(q::WRONG_OPTION_CHOSEN).alias(c::WRONG_OPTION_CHOSEN),
    ];
    let names = [
        c::EXAM_NAME,
        c::QUESTION_ID,
        c::USER_RESULT,
        c::WRONG_OPTION_CHOSEN,
    ];
    questions
        .select(keys)
        .group_by(names.map(col))
        .agg([len().cast(DataType::UInt32).alias(c::ATTEMPTS)])
        // Sorted, so re-deriving a part gives the same file.
        .sort(names, SortMultipleOptions::default().with_nulls_last(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_hand() -> PolarsResult<()> {
        let questions = df![
            q::EXAM_NAME => ["E", "E", "E", "E", "E"],
            q::QUESTION_ID => ["Q1", "Q1", "Q1", "Q2", "Q1"],
            q::USER_RESULT => ["correct", "incorrect", "incorrect", "unanswered", "incorrect"],
            q::WRONG_OPTION_CHOSEN => [None, Some("B"), Some("C"), None, Some("B")],
        ]?;
        let counts = question_counts(questions.lazy()).collect()?;
        let expected = df![
            c::EXAM_NAME => ["E", "E", "E", "E"],
            c::QUESTION_ID => ["Q1", "Q1", "Q1", "Q2"],
            c::USER_RESULT => ["correct", "incorrect", "incorrect", "unanswered"],
            c::WRONG_OPTION_CHOSEN => [None, Some("B"), Some("C"), None],
            c::ATTEMPTS => [1u32, 2, 1, 1],
        ]?;
        assert!(counts.equals_missing(&expected), "{counts}");
        Ok(())
    }
}
