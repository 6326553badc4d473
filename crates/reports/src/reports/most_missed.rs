//! `most-missed`: the questions with the most wrong responses.
//!
//! Wrong = `incorrect` or `missed_some` (answered, not fully right); `unanswered` is counted
//! apart as omitted. Ranked by wrong count (top N, ties included), with the wrong rate and its
//! Wilson 95% interval so a high count on a popular question is not mistaken for a bad question.
//! Each row also names the wrong option chosen most (a distractor worth reading), and the summary
//! ranks questions by wrong rate among those presented at least `item_min_n` times.

use serde_json::{json, Value};

use super::columns::{ints, strings};
use super::ReportParams;
use crate::charts::{Bar, Chart, ValueFormat};
use crate::error::Result;
use crate::queries;
use crate::report::Report;
use crate::stats::{cut_with_ties, wilson_interval, Z_95};
use crate::tables::TenantTables;

const QUERY: &str = "most_missed.sql";
const OPTIONS_QUERY: &str = "most_missed_options.sql";

/// The wrong option chosen most per (exam, question); ties go to the smaller option id.
fn popular_wrong_options(
    tables: &TenantTables,
    params: &ReportParams,
) -> Result<std::collections::HashMap<(String, String), (String, u64)>> {
    let df = tables.query(
        OPTIONS_QUERY,
        &queries::load(OPTIONS_QUERY, params.queries_dir.as_deref())?,
    )?;
    let exams = strings(&df, OPTIONS_QUERY, "exam_name")?;
    let questions = strings(&df, OPTIONS_QUERY, "question_id")?;
    let options = strings(&df, OPTIONS_QUERY, "option_id")?;
    let times = ints(&df, OPTIONS_QUERY, "times")?;
    let mut best: std::collections::HashMap<(String, String), (String, u64)> =
        std::collections::HashMap::new();
    for i in 0..exams.len() {
        let entry = best
            .entry((exams[i].clone(), questions[i].clone()))
            .or_insert_with(|| (options[i].clone(), times[i]));
        if times[i] > entry.1 || (times[i] == entry.1 && options[i] < entry.0) {
            *entry = (options[i].clone(), times[i]);
        }
    }
    Ok(best)
}

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let df = tables.query(QUERY, &queries::load(QUERY, params.queries_dir.as_deref())?)?;
    let exams = strings(&df, QUERY, "exam_name")?;
    let questions = strings(&df, QUERY, "question_id")?;
    let presented = ints(&df, QUERY, "presented")?;
    let wrong = ints(&df, QUERY, "wrong")?;
    let omitted = ints(&df, QUERY, "omitted")?;

    let mut order: Vec<usize> = (0..exams.len()).collect();
    order.sort_by(|&a, &b| {
        wrong[b]
            .cmp(&wrong[a])
            .then(presented[b].cmp(&presented[a]))
            .then((&exams[a], &questions[a]).cmp(&(&exams[b], &questions[b])))
    });
    let kept = cut_with_ties(&order, params.top, |&i| wrong[i]);
    let order = &order[..kept];
    let rate = |i: usize| {
        if presented[i] == 0 {
            0.0
        } else {
            wrong[i] as f64 / presented[i] as f64
        }
    };
    let interval = |i: usize| wilson_interval(wrong[i], presented[i], Z_95).unwrap_or((0.0, 1.0));
    let popular = popular_wrong_options(tables, params)?;
    let popular_of = |i: usize| {
        popular
            .get(&(exams[i].clone(), questions[i].clone()))
            .cloned()
    };
    let omit_rate = |i: usize| {
        if presented[i] == 0 {
            0.0
        } else {
            omitted[i] as f64 / presented[i] as f64
        }
    };
    // Ranked by rate too, among questions presented often enough for the rate to mean something.
    let mut by_rate: Vec<usize> = (0..exams.len())
        .filter(|&i| presented[i] as usize >= params.item_min_n)
        .collect();
    by_rate.sort_by(|&a, &b| {
        rate(b)
            .total_cmp(&rate(a))
            .then(presented[b].cmp(&presented[a]))
            .then((&exams[a], &questions[a]).cmp(&(&exams[b], &questions[b])))
    });
    let top_by_rate: Vec<Value> = by_rate
        .iter()
        .take(params.top)
        .map(|&i| json!({ "exam_name": exams[i], "question_id": questions[i], "presented": presented[i], "wrong": wrong[i], "wrong_rate": rate(i), "wilson_low": interval(i).0 }))
        .collect();
    let rows: Vec<Vec<Value>> = order
        .iter()
        .enumerate()
        .map(|(rank, &i)| {
            let (option, times) =
                popular_of(i).map_or((Value::Null, Value::Null), |(o, n)| (json!(o), json!(n)));
            vec![
                json!(rank + 1),
                json!(exams[i]),
                json!(questions[i]),
                json!(presented[i]),
                json!(wrong[i]),
                json!(rate(i)),
                json!(interval(i).0),
                json!(interval(i).1),
                json!(omitted[i]),
                json!(omit_rate(i)),
                option,
                times,
            ]
        })
        .collect();
    let top = order.first().copied();
    Ok(Report {
        name: "most-missed",
        heatmap: None,
        question: "Which exam questions have the most wrong responses?",
        title: format!("Most missed questions — tenant {}", tables.tenant),
        summary: vec![
            ("top", json!(params.top)),
            ("shown_with_ties", json!(order.len())),
            ("questions", json!(exams.len())),
            ("wrong_responses", json!(wrong.iter().sum::<u64>())),
            ("min_presented_for_rate", json!(params.item_min_n)),
            ("top_by_rate", json!(top_by_rate)),
        ],
        columns: vec![
            "rank",
            "exam_name",
            "question_id",
            "presented",
            "wrong",
            "wrong_rate",
            "wilson_low",
            "wilson_high",
            "omitted",
            "omit_rate",
            "top_wrong_option",
            "top_wrong_option_times",
        ],
        answer: top.map_or("No questions answered yet.".to_string(), |i| {
            format!(
                "The most missed question is {} in \"{}\": {} wrong of {} presented ({:.0}%).",
                questions[i],
                exams[i],
                wrong[i],
                presented[i],
                rate(i) * 100.0
            )
        }),
        chart: Some(Chart {
            file_stem: "most_missed",
            title: format!(
                "Questions with the most wrong responses (top {}, ties included)",
                params.top
            ),
            x_label: "wrong responses".into(),
            y_label: "exam · question".into(),
            bars: order
                .iter()
                .map(|&i| Bar {
                    label: format!(
                        "{} · {}",
                        exams[i],
                        &questions[i][..questions[i].len().min(8)]
                    ),
                    value: wrong[i] as f64,
                    interval: None,
                    highlight: false,
                    note: Some(format!("of {} ({:.0}%)", presented[i], rate(i) * 100.0)),
                })
                .collect(),
            value_format: ValueFormat::Count,
            reference: None,
            highlight_legend: None,
            x_max: None,
        }),
        rows,
    })
}
