//! `item-analysis`: psychometric quality of each exam's questions.
//!
//! Per item (exam, question), over the attempts that presented it:
//! - `p`: difficulty, the share of right answers;
//! - `item_rest_r`: the corrected item-rest point-biserial, Pearson's r between the item (0/1) and
//!   the attempt's share right on its *other* questions (attempts may see different subsets);
//! - `d`: upper-lower discrimination, share right in the top 27% minus the bottom 27% of attempts
//!   ranked by their share right.
//!
//! Per exam, on the attempts that saw its most common question set (a complete 0/1 matrix):
//! KR-20 (equal to Cronbach's α for 0/1 items, population variances) and, per item, α if deleted.
//! Items presented fewer than `item_min_n` times get no statistics. Flags: negative
//! discrimination (check the answer key), too easy (p > 0.9), too hard (p < 0.2).

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::ops::Range;

use examlake_core::interner::Interner;
use foldhash::{HashMap, HashMapExt};
use polars::prelude::StringChunked;
use rayon::prelude::*;
use serde_json::{json, Value};

use super::columns::{ints, str_column};
use super::{ReportParams, MAX_BARS};
use crate::charts::{Bar, Chart, ValueFormat};
use crate::error::Result;
use crate::queries;
use crate::report::Report;
use crate::stats::{kr20, kr20_without, pearson, upper_lower};
use crate::tables::TenantTables;

const QUERY: &str = "item_analysis.sql";

#[derive(Debug, Clone, PartialEq)]
pub struct ItemStats {
    pub exam_name: String,
    pub question_id: String,
    pub presented: usize,
    pub p: Option<f64>,
    pub item_rest_r: Option<f64>,
    pub d: Option<f64>,
    pub alpha_if_deleted: Option<f64>,
    pub flags: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExamReliability {
    pub exam_name: String,
    /// Items in the exam's most common question set.
    pub k: usize,
    /// Attempts that saw exactly that set.
    pub n: usize,
    pub kr20: Option<f64>,
}

/// One exam's answers: its questions (sorted by id) and, per attempt, the questions it answered
/// (indexes into `questions`, ascending) with 1.0 for right and 0.0 otherwise.
#[derive(Debug, Default)]
pub struct ExamAnswers<'a> {
    pub questions: Vec<&'a str>,
    /// Per attempt, the range of its answers in `answered` / `values`.
    pub attempts: Vec<Range<usize>>,
    pub answered: Vec<u32>,
    pub values: Vec<f64>,
}

impl ExamAnswers<'_> {
    fn attempt(&self, i: usize) -> (&[u32], &[f64]) {
        let range = self.attempts[i].clone();
        (&self.answered[range.clone()], &self.values[range])
    }
}

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let df = tables.query(QUERY, &queries::load(QUERY, params.queries_dir.as_deref())?)?;
    let (exams, attempts, questions) = (
        str_column(&df, QUERY, "exam_name")?,
        str_column(&df, QUERY, "keen_id")?,
        str_column(&df, QUERY, "question_id")?,
    );
    let ((exams, attempts), questions) = rayon::join(
        || rayon::join(|| borrowed(exams), || borrowed(attempts)),
        || QuestionIds::of(questions.iter()),
    );
    let correct = ints(&df, QUERY, "correct")?;
    let by_exam = answers_by_exam(&exams, &attempts, &questions, &correct);
    let analysed: Vec<(Vec<ItemStats>, ExamReliability)> = by_exam
        .par_iter()
        .map(|(exam, answers)| analyse_exam(exam, answers, params.item_min_n))
        .collect();
    let mut items = Vec::new();
    let mut reliability = Vec::new();
    for (exam_items, exam_reliability) in analysed {
        items.extend(exam_items);
        reliability.push(exam_reliability);
    }
    Ok(report(tables, params, items, reliability))
}

/// A string column's values, borrowed (null read as "").
fn borrowed(column: &StringChunked) -> Vec<&str> {
    column.iter().map(Option::unwrap_or_default).collect()
}

/// Group (exam, attempt, question, correct) rows by exam and attempt. Attempts are ordered by
/// keen_id (by hash, then id), so results do not depend on the tables' row order; within an
/// attempt a question answered twice keeps its last row. Dense ids instead of trees keyed by
/// strings (4.4M rows at 1M attempts), and rows visited in table order, where each attempt's
/// rows sit next to each other.
pub fn answers_by_exam<'a>(
    exams: &[&'a str],
    attempts: &[&'a str],
    questions: &QuestionIds<'a>,
    correct: &[u64],
) -> BTreeMap<&'a str, ExamAnswers<'a>> {
    let hasher = foldhash::fast::FixedState::with_seed(0);
    let hash = |s: &str| hasher.hash_one(s);
    // Runs of adjacent rows of one attempt, in table order.
    let mut runs: Vec<(u64, Range<usize>)> = Vec::new();
    let mut start = 0;
    for end in 1..=attempts.len() {
        if end == attempts.len() || attempts[end] != attempts[start] {
            runs.push((hash(attempts[start]), start..end));
            start = end;
        }
    }
    // Each attempt's rows (per exam it names), filed under its exam; then exams in parallel.
    let (order, ends) = attempt_groups(&runs, attempts);
    let mut rows: Vec<u32> = Vec::with_capacity(attempts.len());
    let mut exam_ids = Interner::default();
    let mut by_exam: Vec<(&str, Vec<Piece>)> = Vec::new();
    let mut begin = 0;
    for end in ends {
        let group = &order[begin..end];
        begin = end;
        let first = rows.len();
        rows.extend(
            group
                .iter()
                .flat_map(|&run| runs[run].1.clone())
                .map(|r| r as u32),
        );
        let mut at = first;
        // An attempt belongs to one exam; rows naming another are filed under their own.
        for same_exam in rows[first..].chunk_by(|&a, &b| exams[a as usize] == exams[b as usize]) {
            let exam = exams[same_exam[0] as usize];
            let exam_id = exam_ids.id(exam) as usize;
            if exam_id == by_exam.len() {
                by_exam.push((exam, Vec::new()));
            }
            by_exam[exam_id].1.push(Piece {
                key: (runs[group[0]].0, attempts[same_exam[0] as usize]),
                rows: at..at + same_exam.len(),
            });
            at += same_exam.len();
        }
    }
    by_exam
        .into_par_iter()
        .map(|(exam, pieces)| {
            let mut builder = ExamBuilder::new(questions);
            for piece in pieces {
                builder.add_attempt(piece.key, &rows[piece.rows], correct);
            }
            (exam, builder.finish())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

/// One attempt's rows naming one exam: its key (hash of keen_id, keen_id) and where its row
/// numbers are.
struct Piece<'a> {
    key: (u64, &'a str),
    rows: Range<usize>,
}

/// The runs making up each attempt, as (runs in processing order, where each attempt's runs
/// end): each run alone, in table order, when no attempt's rows are split; otherwise the runs of
/// each keen_id together.
fn attempt_groups(runs: &[(u64, Range<usize>)], attempts: &[&str]) -> (Vec<usize>, Vec<usize>) {
    let mut by_hash: Vec<(u64, usize)> = runs.iter().map(|r| r.0).zip(0..).collect();
    by_hash.sort_unstable();
    let same = |a: &(u64, usize), b: &(u64, usize)| {
        a.0 == b.0 && attempts[runs[a.1].1.start] == attempts[runs[b.1].1.start]
    };
    if by_hash.windows(2).all(|w| !same(&w[0], &w[1])) {
        return ((0..runs.len()).collect(), (1..=runs.len()).collect());
    }
    // Rare: some keen_id has rows in several places. Order runs by (hash, keen_id, position).
    by_hash.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| attempts[runs[a.1].1.start].cmp(attempts[runs[b.1].1.start]))
            .then(a.1.cmp(&b.1))
    });
    let mut ends = Vec::new();
    for (i, w) in by_hash.windows(2).enumerate() {
        if !same(&w[0], &w[1]) {
            ends.push(i + 1);
        }
    }
    ends.push(by_hash.len());
    (by_hash.into_iter().map(|(_, run)| run).collect(), ends)
}

/// Dense ids of question_id strings, numbered in one pass in table order (sequential reads, so
/// the per-exam passes after it touch integers only).
pub struct QuestionIds<'a> {
    /// Per row, its question's id.
    pub of_row: Vec<u32>,
    /// Per id, the question_id.
    pub names: Vec<&'a str>,
}

impl<'a> QuestionIds<'a> {
    pub fn of(rows: impl Iterator<Item = Option<&'a str>>) -> Self {
        let mut ids = Interner::default();
        let of_row = rows
            .map(|question| ids.id(question.unwrap_or_default()))
            .collect();
        QuestionIds {
            of_row,
            names: ids.into_keys(),
        }
    }
}

/// One exam's answers as they are read, before attempts and questions are put in order.
struct ExamBuilder<'a, 'q> {
    questions: &'q QuestionIds<'a>,
    /// Per question id (of [`QuestionIds`]), its id in this exam, or `u32::MAX`.
    local: Vec<u32>,
    answers: ExamAnswers<'a>,
    /// Per attempt: (hash of keen_id, keen_id).
    keys: Vec<(u64, &'a str)>,
    answered: Vec<(u32, u32)>,
}

impl<'a, 'q> ExamBuilder<'a, 'q> {
    fn new(questions: &'q QuestionIds<'a>) -> Self {
        ExamBuilder {
            questions,
            local: vec![u32::MAX; questions.names.len()],
            answers: ExamAnswers::default(),
            keys: Vec::new(),
            answered: Vec::new(),
        }
    }

    fn add_attempt(&mut self, key: (u64, &'a str), rows: &[u32], correct: &[u64]) {
        self.answered.clear();
        for &row in rows {
            let question = self.questions.of_row[row as usize];
            let mut id = self.local[question as usize];
            if id == u32::MAX {
                id = self.answers.questions.len() as u32;
                self.local[question as usize] = id;
                self.answers
                    .questions
                    .push(self.questions.names[question as usize]);
            }
            self.answered.push((id, row));
        }
        self.answered.sort_unstable();
        let start = self.answers.answered.len();
        for same_question in self.answered.chunk_by(|a, b| a.0 == b.0) {
            let (id, last_row) = same_question[same_question.len() - 1];
            self.answers.answered.push(id);
            self.answers.values.push(correct[last_row as usize] as f64);
        }
        self.answers
            .attempts
            .push(start..self.answers.answered.len());
        self.keys.push(key);
    }

    /// Attempts in keen_id order, questions numbered in id order.
    fn finish(self) -> ExamAnswers<'a> {
        let old = self.answers;
        let mut order: Vec<u32> = (0..old.questions.len() as u32).collect();
        order.sort_by_key(|&id| old.questions[id as usize]);
        let mut rank = vec![0u32; order.len()];
        for (new, &id) in order.iter().enumerate() {
            rank[id as usize] = new as u32;
        }
        let mut attempts: Vec<usize> = (0..old.attempts.len()).collect();
        attempts.sort_by(|&a, &b| self.keys[a].cmp(&self.keys[b]));
        let mut answers = ExamAnswers {
            questions: order.iter().map(|&id| old.questions[id as usize]).collect(),
            attempts: Vec::with_capacity(attempts.len()),
            answered: Vec::with_capacity(old.answered.len()),
            values: Vec::with_capacity(old.values.len()),
        };
        let mut pairs: Vec<(u32, f64)> = Vec::new();
        for attempt in attempts {
            let (answered, values) = old.attempt(attempt);
            pairs.clear();
            pairs.extend(
                answered
                    .iter()
                    .map(|&id| rank[id as usize])
                    .zip(values.iter().copied()),
            );
            pairs.sort_unstable_by_key(|pair| pair.0);
            let start = answers.answered.len();
            answers.answered.extend(pairs.iter().map(|pair| pair.0));
            answers.values.extend(pairs.iter().map(|pair| pair.1));
            answers.attempts.push(start..answers.answered.len());
        }
        answers
    }
}

/// Every statistic for one exam's attempts.
pub fn analyse_exam(
    exam: &str,
    answers: &ExamAnswers,
    min_n: usize,
) -> (Vec<ItemStats>, ExamReliability) {
    let (modal_set, matrix) = modal_matrix(answers);
    let exam_kr20 = if matrix.len() >= min_n {
        kr20(&matrix)
    } else {
        None
    };
    // One pass over the attempts: per question, (its value, the attempt's total, its length),
    // in attempt order.
    let mut per_question: Vec<Vec<Presented>> =
        (0..answers.questions.len()).map(|_| Vec::new()).collect();
    for i in 0..answers.attempts.len() {
        let (answered, values) = answers.attempt(i);
        let total: f64 = values.iter().sum();
        for (&question, &value) in answered.iter().zip(values) {
            per_question[question as usize].push(Presented {
                value,
                total,
                answered: answered.len(),
            });
        }
    }
    let items = per_question
        .into_iter()
        .enumerate()
        .map(|(question, presented)| {
            let alpha_if_deleted = modal_set
                .iter()
                .position(|&q| q as usize == question)
                .filter(|_| matrix.len() >= min_n)
                .and_then(|j| kr20_without(&matrix, j));
            item_stats(
                exam,
                answers.questions[question],
                &presented,
                alpha_if_deleted,
                min_n,
            )
        })
        .collect();
    (
        items,
        ExamReliability {
            exam_name: exam.to_string(),
            k: modal_set.len(),
            n: matrix.len(),
            kr20: exam_kr20,
        },
    )
}

/// One attempt that presented a question.
struct Presented {
    /// 1.0 right, 0.0 not.
    value: f64,
    /// The attempt's right answers over all its questions.
    total: f64,
    /// How many questions the attempt answered.
    answered: usize,
}

fn item_stats(
    exam: &str,
    question: &str,
    attempts: &[Presented],
    alpha_if_deleted: Option<f64>,
    min_n: usize,
) -> ItemStats {
    let (mut item, mut rest, mut score) = (Vec::new(), Vec::new(), Vec::new());
    for &Presented {
        value,
        total,
        answered,
    } in attempts
    {
        let others = answered as f64 - 1.0;
        item.push(value);
        score.push(total / answered as f64);
        rest.push(if others > 0.0 {
            (total - value) / others
        } else {
            f64::NAN
        });
    }
    let presented = item.len();
    let mut stats = ItemStats {
        exam_name: exam.to_string(),
        question_id: question.to_string(),
        presented,
        p: None,
        item_rest_r: None,
        d: None,
        alpha_if_deleted: None,
        flags: Vec::new(),
    };
    if presented < min_n {
        stats.flags.push("too few attempts");
        return stats;
    }
    let with_rest: Vec<usize> = (0..presented).filter(|&i| !rest[i].is_nan()).collect();
    let p = item.iter().sum::<f64>() / presented as f64;
    stats.p = Some(p);
    stats.item_rest_r = pearson(
        &with_rest.iter().map(|&i| item[i]).collect::<Vec<_>>(),
        &with_rest.iter().map(|&i| rest[i]).collect::<Vec<_>>(),
    );
    stats.d = upper_lower(&item, &score);
    stats.alpha_if_deleted = alpha_if_deleted;
    if stats.item_rest_r.is_some_and(|r| r < 0.0) {
        stats
            .flags
            .push("negative discrimination: check the answer key");
    }
    if p > 0.9 {
        stats.flags.push("too easy");
    }
    if p < 0.2 {
        stats.flags.push("too hard");
    }
    stats
}

/// The most common question set of an exam (ties: more questions, then by ids) and the 0/1
/// matrix of the attempts that saw exactly it, columns in the set's sorted order.
fn modal_matrix(answers: &ExamAnswers) -> (Vec<u32>, Vec<Vec<f64>>) {
    let mut sets: HashMap<&[u32], usize> = HashMap::new();
    for i in 0..answers.attempts.len() {
        *sets.entry(answers.attempt(i).0).or_default() += 1;
    }
    let Some(modal) = sets
        .iter()
        .max_by(|a, b| {
            a.1.cmp(b.1)
                .then(a.0.len().cmp(&b.0.len()))
                .then(b.0.cmp(a.0))
        })
        .map(|(set, _)| set.to_vec())
    else {
        return (Vec::new(), Vec::new());
    };
    let matrix = (0..answers.attempts.len())
        .map(|i| answers.attempt(i))
        .filter(|(answered, _)| *answered == modal.as_slice())
        .map(|(_, values)| values.to_vec())
        .collect();
    (modal, matrix)
}

fn report(
    tables: &TenantTables,
    params: &ReportParams,
    items: Vec<ItemStats>,
    reliability: Vec<ExamReliability>,
) -> Report {
    let kr20_of: BTreeMap<&str, &ExamReliability> = reliability
        .iter()
        .map(|r| (r.exam_name.as_str(), r))
        .collect();
    let rows: Vec<Vec<Value>> = items
        .iter()
        .map(|s| {
            let exam = kr20_of.get(s.exam_name.as_str());
            vec![
                json!(s.exam_name),
                json!(s.question_id),
                json!(s.presented),
                json!(s.p),
                json!(s.item_rest_r),
                json!(s.d),
                json!(s.alpha_if_deleted),
                json!(exam.and_then(|e| e.kr20)),
                json!(exam.map(|e| e.n)),
                json!(s.flags.join("; ")),
            ]
        })
        .collect();
    let wrong_keys: Vec<String> = items
        .iter()
        .filter(|s| s.item_rest_r.is_some_and(|r| r < 0.0))
        .map(|s| format!("{} · {}", s.exam_name, s.question_id))
        .collect();
    let mut rated: Vec<&ExamReliability> =
        reliability.iter().filter(|r| r.kr20.is_some()).collect();
    rated.sort_by(|a, b| {
        b.kr20
            .unwrap_or(0.0)
            .total_cmp(&a.kr20.unwrap_or(0.0))
            .then(a.exam_name.cmp(&b.exam_name))
    });
    let shown = rated.len().min(MAX_BARS);
    Report {
        name: "item-analysis",
        heatmap: None,
        question: "Which questions measure well, and which look broken, too easy or too hard?",
        title: format!("Item analysis — tenant {}", tables.tenant),
        summary: vec![
            ("items", json!(items.len())),
            ("items_with_statistics", json!(items.iter().filter(|s| s.p.is_some()).count())),
            ("min_n", json!(params.item_min_n)),
            ("exams_with_kr20", json!(rated.len())),
            ("negative_discrimination", json!(wrong_keys)),
            ("too_easy", json!(items.iter().filter(|s| s.flags.contains(&"too easy")).count())),
            ("too_hard", json!(items.iter().filter(|s| s.flags.contains(&"too hard")).count())),
        ],
        columns: vec!["exam_name", "question_id", "presented", "p", "item_rest_r", "d", "alpha_if_deleted", "exam_kr20", "exam_kr20_n", "flags"],
        answer: format!(
            "{} of {} items have at least {} attempts; {} show negative discrimination (check their answer key); KR-20 is computed for {} exams.",
            items.iter().filter(|s| s.p.is_some()).count(),
            items.len(),
            params.item_min_n,
            wrong_keys.len(),
            rated.len()
        ),
        chart: Some(Chart {
            file_stem: "item_analysis",
            title: format!("Reliability (KR-20) per exam, {shown} of {} exams with ≥ {} complete attempts", rated.len(), params.item_min_n),
            x_label: "KR-20 (Cronbach's α for 0/1 items)".into(),
            y_label: "exam".into(),
            bars: rated[..shown]
                .iter()
                .map(|r| Bar {
                    label: r.exam_name.clone(),
                    value: r.kr20.unwrap_or(0.0).max(0.0),
                    interval: None,
                    highlight: r.kr20.unwrap_or(0.0) < 0.5,
                    note: Some(format!("k={} n={}", r.k, r.n)),
                })
                .collect(),
            value_format: ValueFormat::Ratio,
            reference: Some((0.7, "0.7: acceptable reliability".into())),
            highlight_legend: Some("below 0.5".into()),
            x_max: Some(1.0),
        }),
        rows,
    }
}
