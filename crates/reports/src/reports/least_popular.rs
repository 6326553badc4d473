//! `least-popular`: the exams with the fewest attempts (bottom N, every tie included), with
//! distinct students and when each was last taken; `stale` marks exams not taken in the
//! `stale_days` before the tenant's latest attempt.

use serde_json::{json, Value};

use super::columns::{datetimes, ints, iso, strings};
use super::ReportParams;
use crate::charts::{Bar, Chart, ValueFormat};
use crate::error::Result;
use crate::queries;
use crate::report::Report;
use crate::stats::cut_with_ties;
use crate::tables::TenantTables;

const QUERY: &str = "least_popular.sql";

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let df = tables.query(QUERY, &queries::load(QUERY, params.queries_dir.as_deref())?)?;
    let names = strings(&df, QUERY, "exam_name")?;
    let attempts = ints(&df, QUERY, "attempts")?;
    let students = ints(&df, QUERY, "distinct_students")?;
    let last = datetimes(&df, QUERY, "last_taken")?;
    let latest = last.iter().flatten().max().copied();

    let mut order: Vec<usize> = (0..names.len()).collect();
    order.sort_by(|&a, &b| attempts[a].cmp(&attempts[b]).then(names[a].cmp(&names[b])));
    let kept = cut_with_ties(&order, params.bottom, |&i| attempts[i]);
    let order = &order[..kept];
    let stale = |i: usize| match (latest, last[i]) {
        (Some(latest), Some(last)) => (latest - last).num_days() > params.stale_days,
        _ => false,
    };
    let rows: Vec<Vec<Value>> = order
        .iter()
        .enumerate()
        .map(|(rank, &i)| {
            vec![
                json!(rank + 1),
                json!(names[i]),
                json!(attempts[i]),
                json!(students[i]),
                iso(last[i]),
                json!(stale(i)),
            ]
        })
        .collect();
    let fewest = order.first().map_or(0, |&i| attempts[i]);
    let tied: Vec<&str> = order
        .iter()
        .filter(|&&i| attempts[i] == fewest)
        .map(|&i| names[i].as_str())
        .collect();
    Ok(Report {
        name: "least-popular",
        heatmap: None,
        question: "Which are the least popular exams?",
        title: format!("Least popular exams — tenant {}", tables.tenant),
        summary: vec![
            ("bottom", json!(params.bottom)),
            ("shown_with_ties", json!(order.len())),
            ("fewest_attempts", json!(fewest)),
            ("least_popular", json!(tied)),
        ],
        columns: vec![
            "rank",
            "exam_name",
            "attempts",
            "distinct_students",
            "last_taken",
            "stale",
        ],
        answer: format!(
            "The least popular exam{}: {} ({fewest} attempt{} each).",
            if tied.len() > 1 { "s" } else { "" },
            tied.join(", "),
            if fewest == 1 { "" } else { "s" }
        ),
        chart: Some(Chart {
            file_stem: "least_popular",
            title: format!(
                "Least popular exams (bottom {}, ties included)",
                params.bottom
            ),
            x_label: "attempts".into(),
            y_label: "exam".into(),
            bars: order
                .iter()
                .map(|&i| Bar {
                    label: names[i].clone(),
                    value: attempts[i] as f64,
                    interval: None,
                    highlight: stale(i),
                    note: Some(format!("{} student(s)", students[i])),
                })
                .collect(),
            value_format: ValueFormat::Count,
            reference: None,
            highlight_legend: Some(format!(
                "stale: no attempt in the last {} days of data",
                params.stale_days
            )),
            x_max: None,
        }),
        rows,
    })
}
