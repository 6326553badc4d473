//! Column names of every table examlake writes, in one place.
//!
//! Write `schema::raw::PAYLOAD`, never the string, so renaming a column is one edit.

/// The raw landing format, shared by file ingest and Kafka ingest: one row per received record,
/// the original bytes unchanged.
pub mod raw {
    /// The tenant the record arrived for (from the topic or the command line, never the payload).
    pub const TENANT: &str = "tenant";
    /// Where it came from: `kafka:<topic>` or `file:<name>`.
    pub const SOURCE: &str = "source";
    /// Kafka partition; 0 for files.
    pub const PARTITION: &str = "partition";
    /// Kafka offset, or the 1-based line (element, for a JSON array) number in the file.
    pub const POSITION: &str = "position";
    /// When examlake received it, µs UTC.
    pub const RECEIVED_AT: &str = "received_at";
    /// The record's bytes exactly as received.
    pub const PAYLOAD: &str = "payload";
    /// Quarantine only: why the record was not accepted.
    pub const REASON: &str = "reason";
}

/// The `assessments` table: one row per kept attempt.
pub mod assessments {
    pub const KEEN_ID: &str = "keen_id";
    pub const USER_EXAM_ID: &str = "user_exam_id";
    pub const BASE_EXAM_ID: &str = "base_exam_id";
    pub const SEQUENCE_ID: &str = "sequence_id";
    pub const EXAM_NAME: &str = "exam_name";
    pub const STARTED_AT: &str = "started_at";
    pub const SUBMITTED_AT: &str = "submitted_at";
    pub const DURATION_SECS: &str = "duration_secs";
    pub const N_QUESTIONS: &str = "n_questions";
    pub const N_CORRECT: &str = "n_correct";
    pub const N_INCORRECT: &str = "n_incorrect";
    pub const N_MISSED_SOME: &str = "n_missed_some";
    pub const N_UNANSWERED: &str = "n_unanswered";
    pub const SCORE: &str = "score";
    pub const REPORTED_TOTAL: &str = "reported_total";
    pub const REPORTED_CORRECT: &str = "reported_correct";
    pub const COUNTS_PRESENT: &str = "counts_present";
    pub const COUNTS_CONSISTENT: &str = "counts_consistent";
    pub const HAD_DUPLICATES: &str = "had_duplicates";
    /// FNV-1a of the raw payload bytes (as i64): equal hashes of one keen_id are redeliveries.
    pub const PAYLOAD_HASH: &str = "payload_hash";
}

/// The `questions` table: one row per question per attempt.
pub mod questions {
    pub const KEEN_ID: &str = "keen_id";
    pub const BASE_EXAM_ID: &str = "base_exam_id";
    pub const EXAM_NAME: &str = "exam_name";
    pub const QUESTION_ID: &str = "question_id";
    pub const POSITION: &str = "position";
    pub const USER_RESULT: &str = "user_result";
    pub const IS_CORRECT: &str = "is_correct";
    pub const IS_INCOMPLETE: &str = "is_incomplete";
    pub const IS_SUBMITTED: &str = "is_submitted";
    pub const N_OPTIONS: &str = "n_options";
    pub const N_CHECKED: &str = "n_checked";
    pub const N_CORRECT_OPTIONS: &str = "n_correct_options";
    pub const WRONG_OPTION_CHOSEN: &str = "wrong_option_chosen";
    pub const FIRST_CLICK_AT: &str = "first_click_at";
    pub const LAST_CLICK_AT: &str = "last_click_at";
}

/// The `options` table: one row per answer option per question per attempt.
pub mod options {
    pub const KEEN_ID: &str = "keen_id";
    pub const EXAM_NAME: &str = "exam_name";
    pub const QUESTION_ID: &str = "question_id";
    pub const OPTION_ID: &str = "option_id";
    pub const POSITION: &str = "position";
    pub const CHECKED: &str = "checked";
    pub const IS_CORRECT: &str = "is_correct";
    pub const SUBMITTED: &str = "submitted";
    pub const CLICKED_AT: &str = "clicked_at";
}

/// The `option_counts` table: per part, per (exam, question, attempt score), one row for the
/// question (`option_id` null) and one per option shown, counting attempts. Distractor analysis
/// reads these few rows instead of every option of every attempt.
pub mod option_counts {
    pub const EXAM_NAME: &str = "exam_name";
    pub const QUESTION_ID: &str = "question_id";
    /// Null on the question's own row.
    pub const OPTION_ID: &str = "option_id";
    /// The attempts' score (`assessments.score`; null counts as 0).
    pub const SCORE: &str = "score";
    /// The option is the key (or one of the keys); null on the question's row.
    pub const IS_KEY: &str = "is_key";
    /// Attempts at this score shown the question (question row) or this option (option row).
    pub const ATTEMPTS: &str = "attempts";
    /// Of those, attempts that chose this option (option row) or any option (question row).
    pub const CHOSEN: &str = "chosen";
}

/// The `question_counts` table: per part, how many kept attempts gave each result to each question
/// and which wrong option they chose: `questions` grouped by these keys, so question-level
/// reports read a few thousand rows instead of one per question per attempt.
pub mod question_counts {
    pub const EXAM_NAME: &str = "exam_name";
    pub const QUESTION_ID: &str = "question_id";
    pub const USER_RESULT: &str = "user_result";
    /// Null when the attempt chose no wrong option.
    pub const WRONG_OPTION_CHOSEN: &str = "wrong_option_chosen";
    pub const ATTEMPTS: &str = "attempts";
}

/// The `exams` table: one row per exam name.
pub mod exams {
    pub const EXAM_NAME: &str = "exam_name";
    pub const BASE_EXAM_IDS: &str = "base_exam_ids";
    pub const N_BASE_EXAM_IDS: &str = "n_base_exam_ids";
    pub const ATTEMPTS: &str = "attempts";
    pub const DISTINCT_STUDENTS: &str = "distinct_students";
    pub const FIRST_TAKEN: &str = "first_taken";
    pub const LAST_TAKEN: &str = "last_taken";
    pub const N_DISTINCT_QUESTIONS: &str = "n_distinct_questions";
    pub const MEAN_SCORE: &str = "mean_score";
}

/// Lineage columns carried from raw onto every curated row.
pub mod lineage {
    pub const SOURCE: &str = "source";
    pub const PARTITION: &str = "source_partition";
    pub const POSITION: &str = "source_position";
}
