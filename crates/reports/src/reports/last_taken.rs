//! `last-taken`: when was each exam last taken? The last `started_at` per exam, how many days
//! before the tenant's latest attempt that was, and how many days before the as-of date.

use serde_json::{json, Value};

use super::columns::{datetimes, ints, iso, strings};
use super::{ReportParams, MAX_BARS};
use crate::charts::{Bar, Chart, ValueFormat};
use crate::error::Result;
use crate::queries;
use crate::report::Report;
use crate::tables::TenantTables;

const QUERY: &str = "last_taken.sql";

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let df = tables.query(QUERY, &queries::load(QUERY, params.queries_dir.as_deref())?)?;
    let names = strings(&df, QUERY, "exam_name")?;
    let last = datetimes(&df, QUERY, "last_taken")?;
    let attempts = ints(&df, QUERY, "attempts")?;
    let latest = last.iter().flatten().max().copied();
    let as_of = params.as_of.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let days_before_latest = |i: usize| match (latest, last[i]) {
        (Some(latest), Some(last)) => Some((latest - last).num_days()),
        _ => None,
    };
    let days_since = |i: usize| match (as_of, last[i]) {
        (Some(as_of), Some(last)) => Some((as_of - last).num_days()),
        _ => None,
    };
    let rows: Vec<Vec<Value>> = (0..names.len())
        .map(|i| {
            vec![
                json!(names[i]),
                iso(last[i]),
                json!(days_before_latest(i)),
                json!(days_since(i)),
                json!(attempts[i]),
            ]
        })
        .collect();
    let mut by_age: Vec<usize> = (0..names.len()).collect();
    by_age.sort_by(|&a, &b| {
        days_before_latest(b)
            .cmp(&days_before_latest(a))
            .then(names[a].cmp(&names[b]))
    });
    let shown = by_age.len().min(MAX_BARS);
    let oldest = by_age.first().map(|&i| (names[i].clone(), last[i]));
    Ok(Report {
        name: "last-taken",
        heatmap: None,
        question: "When was each exam last taken?",
        title: format!("Last attempt per exam — tenant {}", tables.tenant),
        summary: vec![
            ("exams", json!(names.len())),
            ("latest_attempt", iso(latest)),
            ("as_of", json!(params.as_of.to_string())),
        ],
        columns: vec!["exam_name", "last_taken", "days_before_latest", "days_since", "attempts"],
        answer: match (latest, oldest) {
            (Some(latest), Some((name, Some(when)))) => format!(
                "The latest attempt of all was on {}. The exam untouched the longest is \"{name}\", last taken {} ({} days earlier).",
                latest.format("%Y-%m-%d"),
                when.format("%Y-%m-%d"),
                (latest - when).num_days()
            ),
            _ => "No attempts yet.".to_string(),
        },
        chart: Some(Chart {
            file_stem: "last_taken",
            title: format!(
                "Days from each exam's last attempt to the latest attempt ({}), longest first{}",
                latest.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                if names.len() > shown { format!(", {shown} of {}", names.len()) } else { String::new() }
            ),
            x_label: "days before the tenant's latest attempt".into(),
            y_label: "exam".into(),
            bars: by_age[..shown]
                .iter()
                .map(|&i| Bar {
                    label: names[i].clone(),
                    value: days_before_latest(i).unwrap_or(0) as f64,
                    interval: None,
                    highlight: days_before_latest(i).unwrap_or(0) > params.stale_days,
                    note: last[i].map(|t| t.format("last %Y-%m-%d").to_string()),
                })
                .collect(),
            value_format: ValueFormat::Days,
            reference: None,
            highlight_legend: Some(format!("more than {} days", params.stale_days)),
            x_max: None,
        }),
        rows,
    })
}
