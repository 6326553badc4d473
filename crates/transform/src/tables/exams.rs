//! `exams`: one row per exam, identified by its name.
//!
//! Several base_exam_ids can share one exam_name (the reference data has 4 such names, each
//! republished under a second id). Customers know exams by name and every published figure
//! counts by name, so the name is the exam's identity here; its ids are listed in
//! `base_exam_ids` (comma-separated, sorted) and counted in `n_base_exam_ids`.
//!
//! Built from the parts of `assessments` and `questions` one part at a time, so memory does not
//! grow with the rows: per exam it keeps counts, extremes, exact score sums, and a set of 64-bit
//! hashes of the distinct students and questions (16 bytes per distinct student). Every figure is
//! independent of the order rows and parts come in, so an incremental build equals a rebuild.

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

/// The columns of `questions` that [`ExamsBuilder::add_questions`] reads.
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
            if let Some(at) = started.get(i) {
                totals.first_taken = Some(totals.first_taken.map_or(at, |f| f.min(at)));
                totals.last_taken = Some(totals.last_taken.map_or(at, |l| l.max(at)));
            }
            if let (Some(length), Some(right)) = (lengths.get(i), correct.get(i)) {
                *totals.correct_by_length.entry(length).or_default() += i64::from(right);
            }
        }
        Ok(())
    }

    /// Add one part of `questions` (at least [`QUESTION_COLUMNS`]).
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
        let columns = vec![
            Column::new(
                a::EXAM_NAME.into(),
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            Column::new(
                a::BASE_EXAM_ID.into(),
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
            Column::new(
                a::USER_EXAM_ID.into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
            Column::new(
                a::STARTED_AT.into(),
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            ),
            Column::new(
                a::N_QUESTIONS.into(),
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            ),
            Column::new(
                a::N_CORRECT.into(),
                rows.iter().map(|r| r.5).collect::<Vec<_>>(),
            ),
        ];
        DataFrame::new(rows.len(), columns).unwrap_or_else(|e| panic!("{e}"))
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
}
