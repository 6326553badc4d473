//! `overview`: how many attempts, how many exams, attempts per exam, the most and least common
//! exams (every exam tied at the top or bottom is named).

use serde_json::{json, Value};

use super::columns::{floats, ints, strings};
use super::{ReportParams, MAX_BARS};
use crate::charts::{Bar, Chart, ValueFormat};
use crate::error::Result;
use crate::queries;
use crate::report::Report;
use crate::tables::TenantTables;

const QUERY: &str = "overview.sql";

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let df = tables.query(QUERY, &queries::load(QUERY, params.queries_dir.as_deref())?)?;
    let names = strings(&df, QUERY, "exam_name")?;
    let attempts = ints(&df, QUERY, "attempts")?;
    let students = ints(&df, QUERY, "distinct_students")?;
    let base_ids = ints(&df, QUERY, "base_exam_ids")?;
    let mean_score = floats(&df, QUERY, "mean_score")?;

    let total: u64 = attempts.iter().sum();
    let (most, least) = (
        extreme(&names, &attempts, u64::max),
        extreme(&names, &attempts, u64::min),
    );
    let rows: Vec<Vec<Value>> = (0..names.len())
        .map(|i| {
            vec![
                json!(i + 1),
                json!(names[i]),
                json!(attempts[i]),
                json!(students[i]),
                json!(base_ids[i]),
                json!(mean_score[i]),
            ]
        })
        .collect();
    let summary = vec![
        ("attempts", json!(total)),
        ("distinct_exams", json!(names.len())),
        ("distinct_students", json!(students.iter().sum::<u64>())),
        (
            "most_common",
            json!({ "attempts": most.0, "exams": most.1 }),
        ),
        (
            "least_common",
            json!({ "attempts": least.0, "exams": least.1 }),
        ),
    ];
    let answer = format!(
        "{total} attempts at {} exams. Most common: {} ({} attempts). Least common: {} ({} attempt{}).",
        names.len(),
        most.1.join(", "),
        most.0,
        least.1.join(", "),
        least.0,
        if least.0 == 1 { "" } else { "s" }
    );
    Ok(Report {
        name: "overview",
        heatmap: None,
        question:
            "How many attempts and exams are there, and which exams are most and least common?",
        title: format!("Overview — tenant {}", tables.tenant),
        summary,
        columns: vec![
            "rank",
            "exam_name",
            "attempts",
            "distinct_students",
            "base_exam_ids",
            "mean_score",
        ],
        chart: Some(chart(&names, &attempts, &most.1)),
        rows,
        answer,
    })
}

/// The extreme attempt count and every exam that has it.
fn extreme(names: &[String], attempts: &[u64], pick: fn(u64, u64) -> u64) -> (u64, Vec<String>) {
    let Some(value) = attempts.iter().copied().reduce(pick) else {
        return (0, Vec::new());
    };
    let mut tied: Vec<String> = names
        .iter()
        .zip(attempts)
        .filter(|(_, a)| **a == value)
        .map(|(n, _)| n.clone())
        .collect();
    tied.sort();
    (value, tied)
}

fn chart(names: &[String], attempts: &[u64], most: &[String]) -> Chart {
    let shown = names.len().min(MAX_BARS);
    Chart {
        file_stem: "attempts_per_exam",
        title: if names.len() > shown {
            format!("Attempts per exam (top {shown} of {})", names.len())
        } else {
            "Attempts per exam".into()
        },
        x_label: "attempts".into(),
        y_label: "exam".into(),
        bars: (0..shown)
            .map(|i| Bar {
                label: names[i].clone(),
                value: attempts[i] as f64,
                interval: None,
                highlight: most.contains(&names[i]),
                note: None,
            })
            .collect(),
        value_format: ValueFormat::Count,
        reference: None,
        highlight_legend: Some("most common".into()),
        x_max: None,
    }
}
