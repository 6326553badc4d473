//! `exams`: one row per exam, identified by its name.
//!
//! Several base_exam_ids can share one exam_name (the reference data has 4 such names, each
//! republished under a second id). Customers know exams by name and every published figure
//! counts by name, so the name is the exam's identity here; its ids are listed in
//! `base_exam_ids` (comma-separated, sorted) and counted in `n_base_exam_ids`.
//!
//! Built from the parts of `assessments` and `question_counts` one part at a time, so memory does
//! not grow with the rows: per exam it keeps counts, extremes, exact score sums, and a set of
//! 64-bit hashes of the distinct students and questions (16 bytes per distinct student). A part's
//! `question_counts` holds the same (exam, question) pairs as its `questions` in a few thousand
//! rows instead of one row per question per attempt. Every figure is independent of the order
//! rows and parts come in, and builders of disjoint sets of parts merge exactly
//! ([`ExamsBuilder::merge`]), so parts can be read on several threads and an incremental build
//! equals a rebuild.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use examlake_core::fingerprint::fnv1a64;
use examlake_core::schema::{assessments as a, exams as e, questions as q};
use polars::prelude::*;

/// Running totals of one exam.
#[derive(Debug, Default)]
struct ExamTotals {
    base_exam_ids: BTreeSet<String>,
    attempts: i64,
    students: HashSet<u64>,
    first_taken: Option<i64>,
    last_taken: Option<i64>,
    /// n_questions -> sum of n_correct: score sums kept exact (score = n_correct / n_questions).
    correct_by_length: BTreeMap<i32, i64>,
    questions: HashSet<u64>,
}

/// `exams`, accumulated part by part.
#[derive(Debug, Default)]
pub struct ExamsBuilder {
    exams: BTreeMap<String, ExamTotals>,
}

/// The columns of `assessments` that [`ExamsBuilder::add_assessments`] reads.
pub const ASSESSMENT_COLUMNS: [&str; 6] = [
    a::EXAM_NAME,
    a::BASE_EXAM_ID,
    a::USER_EXAM_ID,
    a::STARTED_AT,
    a::N_QUESTIONS,
    a::N_CORRECT,
];

/// The columns of `questions` (or `question_counts`, which has the same names) that
/// [`ExamsBuilder::add_questions`] reads.
pub const QUESTION_COLUMNS: [&str; 2] = [q::EXAM_NAME, q::QUESTION_ID];

impl ExamsBuilder {
    /// Add one part of `assessments` (at least [`ASSESSMENT_COLUMNS`]).
    pub fn add_assessments(&mut self, df: &DataFrame) -> PolarsResult<()> {
        let names = df.column(a::EXAM_NAME)?.str()?;
        let ids = df.column(a::BASE_EXAM_ID)?.str()?;
        let students = df.column(a::USER_EXAM_ID)?.str()?;
        let started = df.column(a::STARTED_AT)?.cast(&DataType::Int64)?;
        let started = started.i64()?;
        let lengths = df.column(a::N_QUESTIONS)?.i32()?;
        let correct = df.column(a::N_CORRECT)?.i32()?;
        for i in 0..df.height() {
            let name = names.get(i).unwrap_or_default();
            let totals = match self.exams.get_mut(name) {
                Some(totals) => totals,
                None => self.exams.entry(name.to_string()).or_default(),
            };
            let id = ids.get(i).unwrap_or_default();
            if !totals.base_exam_ids.contains(id) {
                totals.base_exam_ids.insert(id.to_string());
            }
            totals.attempts += 1;
            totals
                .students
                .insert(fnv1a64(students.get(i).unwrap_or_default().bytes()));
            totals.first_taken = earliest(totals.first_taken, started.get(i));
            totals.last_taken = latest(totals.last_taken, started.get(i));
            if let (Some(length), Some(right)) = (lengths.get(i), correct.get(i)) {
                *totals.correct_by_length.entry(length).or_default() += i64::from(right);
            }
        }
        Ok(())
    }

    /// Add one part of `questions` or `question_counts` (at least [`QUESTION_COLUMNS`]).
    pub fn add_questions(&mut self, df: &DataFrame) -> PolarsResult<()> {
        let names = df.column(q::EXAM_NAME)?.str()?;
        let questions = df.column(q::QUESTION_ID)?.str()?;
        for (name, question) in names.iter().zip(questions.iter()) {
            if let Some(totals) = self.exams.get_mut(name.unwrap_or_default()) {
                totals
                    .questions
                    .insert(fnv1a64(question.unwrap_or_default().bytes()));
            }
        }
        Ok(())
    }

    /// Add the totals of another builder, built from other parts.
    pub fn merge(&mut self, other: ExamsBuilder) {
        for (name, theirs) in other.exams {
            let Some(ours) = self.exams.get_mut(&name) else {
                self.exams.insert(name, theirs);
                continue;
            };
            ours.base_exam_ids.extend(theirs.base_exam_ids);
            ours.attempts += theirs.attempts;
            ours.students.extend(theirs.students);
            ours.first_taken = earliest(ours.first_taken, theirs.first_taken);
            ours.last_taken = latest(ours.last_taken, theirs.last_taken);
            for (length, right) in theirs.correct_by_length {
                *ours.correct_by_length.entry(length).or_default() += right;
            }
            ours.questions.extend(theirs.questions);
        }
    }

    /// The table: most attempted first, then by name.
    pub fn finish(self) -> PolarsResult<DataFrame> {
        let mut rows: Vec<(&String, &ExamTotals)> = self.exams.iter().collect();
        rows.sort_by(|x, y| y.1.attempts.cmp(&x.1.attempts).then(x.0.cmp(y.0)));
        let column = |name: &str, values: Vec<i64>| Column::new(name.into(), values);
        let utc = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
        let columns = vec![
            Column::new(
                e::EXAM_NAME.into(),
                rows.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                e::BASE_EXAM_IDS.into(),
                rows.iter()
                    .map(|(_, t)| {
                        t.base_exam_ids
                            .iter()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .collect::<Vec<_>>(),
            ),
            column(
                e::N_BASE_EXAM_IDS,
                rows.iter()
                    .map(|(_, t)| t.base_exam_ids.len() as i64)
                    .collect(),
            ),
            column(e::ATTEMPTS, rows.iter().map(|(_, t)| t.attempts).collect()),
            column(
                e::DISTINCT_STUDENTS,
                rows.iter().map(|(_, t)| t.students.len() as i64).collect(),
            ),
            Column::new(
                e::FIRST_TAKEN.into(),
                rows.iter().map(|(_, t)| t.first_taken).collect::<Vec<_>>(),
            )
            .cast(&utc)?,
            Column::new(
                e::LAST_TAKEN.into(),
                rows.iter().map(|(_, t)| t.last_taken).collect::<Vec<_>>(),
            )
            .cast(&utc)?,
            Column::new(
                e::MEAN_SCORE.into(),
                rows.iter().map(|(_, t)| mean_score(t)).collect::<Vec<_>>(),
            ),
            column(
                e::N_DISTINCT_QUESTIONS,
                rows.iter().map(|(_, t)| t.questions.len() as i64).collect(),
            ),
        ];
        DataFrame::new(rows.len(), columns)
    }
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.into_iter().chain(b).min()
}

fn latest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.into_iter().chain(b).max()
}

/// Mean of n_correct / n_questions over the exam's attempts, summed in a fixed order.
fn mean_score(totals: &ExamTotals) -> Option<f64> {
    let scored: i64 = totals.attempts;
    if scored == 0 || totals.correct_by_length.is_empty() {
        return None;
    }
    let sum: f64 = totals
        .correct_by_length
        .iter()
        .filter(|(length, _)| **length > 0)
        .map(|(length, right)| *right as f64 / f64::from(*length))
        .sum();
    Some(sum / scored as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempts(rows: &[(&str, &str, &str, i64, i32, i32)]) -> DataFrame {
        df![
            a::EXAM_NAME => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            a::BASE_EXAM_ID => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            a::USER_EXAM_ID => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            a::STARTED_AT => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            a::N_QUESTIONS => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            a::N_CORRECT => rows.iter().map(|r| r.5).collect::<Vec<_>>(),
        ]
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn totals_by_hand_and_independent_of_part_order() {
        let one = attempts(&[("Git", "g1", "s1", 10, 4, 3), ("SQL", "q1", "s2", 5, 2, 2)]);
        let two = attempts(&[("Git", "g2", "s3", 30, 5, 1), ("Git", "g1", "s1", 20, 4, 4)]);
        let build = |parts: [&DataFrame; 2]| {
            let mut builder = ExamsBuilder::default();
            for part in parts {
                builder
                    .add_assessments(part)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            builder.finish().unwrap_or_else(|e| panic!("{e}"))
        };
        let forward = build([&one, &two]);
        assert!(forward.equals_missing(&build([&two, &one])));
        let git = forward.head(Some(1));
        let value = |name: &str| {
            git.column(name)
                .and_then(|c| c.cast(&DataType::Float64))
                .ok()
                .and_then(|c| c.f64().ok().and_then(|v| v.get(0)))
        };
        assert_eq!(value(e::ATTEMPTS), Some(3.0));
        assert_eq!(value(e::DISTINCT_STUDENTS), Some(2.0));
        assert_eq!(value(e::N_BASE_EXAM_IDS), Some(2.0));
        // (3/4 + 1/5 + 4/4) / 3
        let mean = value(e::MEAN_SCORE).unwrap_or_default();
        assert!((mean - (0.75 + 0.2 + 1.0) / 3.0).abs() < 1e-12, "{mean}");
        assert_eq!(value(e::FIRST_TAKEN), Some(10.0));
        assert_eq!(value(e::LAST_TAKEN), Some(30.0));
    }

    fn questions(rows: &[(&str, &str)]) -> DataFrame {
        df![
            q::EXAM_NAME => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            q::QUESTION_ID => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        ]
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn builders_of_disjoint_parts_merge_into_the_builder_of_all_parts() {
        let parts = [
            (
                attempts(&[("Git", "g1", "s1", 10, 4, 3), ("SQL", "q1", "s2", 5, 2, 2)]),
                questions(&[("Git", "Q1"), ("Git", "Q2"), ("SQL", "Q9")]),
            ),
            (
                attempts(&[("Git", "g2", "s3", 30, 5, 1), ("Git", "g1", "s1", 2, 4, 4)]),
                questions(&[("Git", "Q2"), ("Git", "Q3")]),
            ),
            (
                attempts(&[("Vim", "v1", "s1", 7, 3, 0)]),
                questions(&[("Vim", "Q1"), ("Nope", "Q1")]),
            ),
        ];
        let build = |parts: &[(DataFrame, DataFrame)]| {
            let mut builder = ExamsBuilder::default();
            for (attempts, questions) in parts {
                builder
                    .add_assessments(attempts)
                    .unwrap_or_else(|e| panic!("{e}"));
                builder
                    .add_questions(questions)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            builder
        };
        let whole = build(&parts).finish().unwrap_or_else(|e| panic!("{e}"));
        for split in 0..=parts.len() {
            let mut merged = build(&parts[..split]);
            merged.merge(build(&parts[split..]));
            let merged = merged.finish().unwrap_or_else(|e| panic!("{e}"));
            assert!(
                merged.equals_missing(&whole),
                "split at {split}: {merged} vs {whole}"
            );
        }
        let git = whole.head(Some(1));
        let first = |name: &str| {
            git.column(name)
                .and_then(|c| c.cast(&DataType::Int64))
                .ok()
                .and_then(|c| c.i64().ok().and_then(|v| v.get(0)))
        };
        assert_eq!(first(e::FIRST_TAKEN), Some(2));
        assert_eq!(first(e::LAST_TAKEN), Some(30));
        assert_eq!(first(e::N_DISTINCT_QUESTIONS), Some(3));
        assert_eq!(
            whole.height(),
            3,
            "a question of an exam no attempt names is not an exam"
        );
    }
}
