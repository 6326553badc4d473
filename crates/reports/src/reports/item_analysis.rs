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

/// One attempt's answers: question id → 1.0 right / 0.0 not.
type Answers<'a> = BTreeMap<&'a str, f64>;

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

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let df = tables.query(QUERY, &queries::load(QUERY, params.queries_dir.as_deref())?)?;
    let exams = str_column(&df, QUERY, "exam_name")?;
    let attempts = str_column(&df, QUERY, "keen_id")?;
    let questions = str_column(&df, QUERY, "question_id")?;
    let correct = ints(&df, QUERY, "correct")?;
    let mut by_exam: BTreeMap<&str, BTreeMap<&str, Answers>> = BTreeMap::new();
    for (((exam, attempt), question), correct) in exams
        .iter()
        .zip(attempts.iter())
        .zip(questions.iter())
        .zip(correct)
    {
        by_exam
            .entry(exam.unwrap_or_default())
            .or_default()
            .entry(attempt.unwrap_or_default())
            .or_default()
            .insert(question.unwrap_or_default(), correct as f64);
    }
    let mut items = Vec::new();
    let mut reliability = Vec::new();
    for (exam, answers) in &by_exam {
        let answers: Vec<&Answers> = answers.values().collect();
        let (exam_items, exam_reliability) = analyse_exam(exam, &answers, params.item_min_n);
        items.extend(exam_items);
        reliability.push(exam_reliability);
    }
    Ok(report(tables, params, items, reliability))
}

/// Every statistic for one exam's attempts.
pub fn analyse_exam(
    exam: &str,
    answers: &[&Answers],
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
    let mut per_question: BTreeMap<&str, Vec<Presented>> = BTreeMap::new();
    for attempt in answers {
        let total: f64 = attempt.values().sum();
        for (question, value) in attempt.iter() {
            per_question.entry(question).or_default().push(Presented {
                value: *value,
                total,
                answered: attempt.len(),
            });
        }
    }
    let items = per_question
        .into_iter()
        .map(|(question, presented)| {
            let alpha_if_deleted = modal_set
                .iter()
                .position(|q| q == question)
                .filter(|_| matrix.len() >= min_n)
                .and_then(|j| kr20_without(&matrix, j));
            item_stats(exam, question, &presented, alpha_if_deleted, min_n)
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
fn modal_matrix(answers: &[&Answers]) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut sets: BTreeMap<Vec<&str>, usize> = BTreeMap::new();
    for attempt in answers {
        *sets.entry(attempt.keys().copied().collect()).or_default() += 1;
    }
    let Some(modal) = sets
        .iter()
        .max_by(|a, b| {
            a.1.cmp(b.1)
                .then(a.0.len().cmp(&b.0.len()))
                .then(b.0.cmp(a.0))
        })
        .map(|(set, _)| set.clone())
    else {
        return (Vec::new(), Vec::new());
    };
    let matrix = answers
        .iter()
        .filter(|a| a.len() == modal.len() && a.keys().zip(&modal).all(|(x, y)| x == y))
        .map(|a| a.values().copied().collect())
        .collect();
    (modal.into_iter().map(str::to_string).collect(), matrix)
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
