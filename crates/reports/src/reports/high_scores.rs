//! `high-scores`: are a majority of students achieving high scores on some exams?
//!
//! Per exam: attempts, attempts with score ≥ threshold (default 0.8), their share and its Wilson
//! 95% interval. `majority` = share > 0.5; `confident_majority` = the interval's lower bound is
//! above 0.5, i.e. the majority is not an accident of a small sample. Such exams may be too easy.
//! Over time: per ISO week, the same share and interval; `consistently_high` = the lower bound is
//! above 0.5 in at least `weeks_needed` (default 3) of the last `weeks` (default 4) weeks of data.

use serde_json::{json, Value};

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::columns::{floats, ints, micros, str_column, strings};
use super::{ReportParams, MAX_BARS};
use crate::charts::{Bar, Chart, Heatmap, ValueFormat};
use crate::error::Result;
use crate::queries;
use crate::report::Report;
use crate::stats::{wilson_interval, Z_95};
use crate::tables::TenantTables;

const QUERY: &str = "high_scores.sql";
const WEEKLY_QUERY: &str = "high_scores_weekly.sql";

/// Per exam and ISO week (Monday, UTC): attempts and high scorers.
struct Weekly {
    cells: BTreeMap<(String, NaiveDate), (u64, u64)>,
    weeks: Vec<NaiveDate>,
}

impl Weekly {
    fn build(tables: &TenantTables, params: &ReportParams) -> Result<Weekly> {
        let df = tables.query(
            WEEKLY_QUERY,
            &queries::load(WEEKLY_QUERY, params.queries_dir.as_deref())?,
        )?;
        let names = str_column(&df, WEEKLY_QUERY, "exam_name")?;
        let started = micros(&df, WEEKLY_QUERY, "started_at")?;
        let scores = floats(&df, WEEKLY_QUERY, "score")?;
        // Counted per (borrowed name, Monday as days since 1970-01-01), a million rows at 1M
        // attempts; names and dates are made once per cell.
        const MICROS_PER_DAY: i64 = 86_400_000_000;
        let mut counted: HashMap<(&str, i64), (u64, u64)> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            let Some(start) = started[i] else { continue };
            let day = start.div_euclid(MICROS_PER_DAY);
            // 1970-01-01 was a Thursday: 3 days after a Monday.
            let monday = day - (day + 3).rem_euclid(7);
            let cell = counted
                .entry((name.unwrap_or_default(), monday))
                .or_default();
            cell.0 += 1;
            cell.1 += u64::from(scores[i].is_some_and(|s| s >= params.threshold));
        }
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let cells: BTreeMap<(String, NaiveDate), (u64, u64)> = counted
            .into_iter()
            .filter_map(|((name, monday), cell)| {
                let week = epoch.checked_add_signed(chrono::Duration::days(monday))?;
                Some(((name.to_string(), week), cell))
            })
            .collect();
        let mut weeks: Vec<NaiveDate> = cells.keys().map(|(_, w)| *w).collect();
        weeks.sort();
        weeks.dedup();
        Ok(Weekly { cells, weeks })
    }

    /// The last `n` weeks that have data, oldest first.
    fn last_weeks(&self, n: usize) -> &[NaiveDate] {
        &self.weeks[self.weeks.len().saturating_sub(n)..]
    }

    fn lower_bound(&self, exam: &str, week: NaiveDate) -> Option<f64> {
        let (n, high) = self.cells.get(&(exam.to_string(), week)).copied()?;
        wilson_interval(high, n, Z_95).map(|(lo, _)| lo)
    }

    /// Weeks among the last `params.weeks` where the share's lower bound is above 0.5.
    fn weeks_high(&self, exam: &str, params: &ReportParams) -> usize {
        self.last_weeks(params.weeks)
            .iter()
            .filter(|w| self.lower_bound(exam, **w).is_some_and(|lo| lo > 0.5))
            .count()
    }

    fn consistently_high(&self, exam: &str, params: &ReportParams) -> bool {
        self.weeks_high(exam, params) >= params.weeks_needed
    }

    /// Exam × week heatmap of the share, for the most attempted exams.
    fn heatmap(&self, exams: &[ExamShare], params: &ReportParams) -> Heatmap {
        let mut shown: Vec<&ExamShare> = exams.iter().collect();
        shown.sort_by(|a, b| {
            b.attempts
                .cmp(&a.attempts)
                .then(a.exam_name.cmp(&b.exam_name))
        });
        shown.truncate(MAX_BARS);
        let cells = shown
            .iter()
            .map(|e| {
                self.weeks
                    .iter()
                    .map(|w| match self.cells.get(&(e.exam_name.clone(), *w)) {
                        Some((n, high)) => (
                            Some(*high as f64 / *n as f64),
                            format!("{:.0}% ({n})", *high as f64 / *n as f64 * 100.0),
                        ),
                        None => (None, String::new()),
                    })
                    .collect()
            })
            .collect();
        Heatmap {
            file_stem: "high_scores_weekly",
            title: format!("Share of attempts scoring ≥ {:.0}% per exam and week", params.threshold * 100.0),
            subtitle: format!("{} most attempted exams; weeks start on Monday (UTC); cell: share (attempts)", shown.len()),
            legend: format!(
                "Darker = higher share. An exam is consistently high when the Wilson 95% lower bound is above 50% in at least {} of the last {} weeks.",
                params.weeks_needed, params.weeks
            ),
            rows: shown.iter().map(|e| e.exam_name.clone()).collect(),
            columns: self.weeks.iter().map(|w| w.format("%Y-%m-%d").to_string()).collect(),
            cells,
        }
    }
}

struct ExamShare {
    exam_name: String,
    attempts: u64,
    high_scorers: u64,
    share: f64,
    interval: (f64, f64),
    mean_score: Option<f64>,
}

impl ExamShare {
    fn majority(&self) -> bool {
        self.share > 0.5
    }
    fn confident_majority(&self) -> bool {
        self.interval.0 > 0.5
    }
}

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let sql = queries::bind(
        &queries::load(QUERY, params.queries_dir.as_deref())?,
        &[("threshold", format!("{}", params.threshold))],
    );
    let df = tables.query(QUERY, &sql)?;
    let names = strings(&df, QUERY, "exam_name")?;
    let attempts = ints(&df, QUERY, "attempts")?;
    let high = ints(&df, QUERY, "high_scorers")?;
    let mean = floats(&df, QUERY, "mean_score")?;
    let mut exams: Vec<ExamShare> = (0..names.len())
        .filter(|&i| attempts[i] > 0)
        .map(|i| ExamShare {
            exam_name: names[i].clone(),
            attempts: attempts[i],
            high_scorers: high[i],
            share: high[i] as f64 / attempts[i] as f64,
            interval: wilson_interval(high[i], attempts[i], Z_95).unwrap_or((0.0, 1.0)),
            mean_score: mean[i],
        })
        .collect();
    exams.sort_by(|a, b| {
        b.share
            .total_cmp(&a.share)
            .then(b.attempts.cmp(&a.attempts))
            .then(a.exam_name.cmp(&b.exam_name))
    });

    let majority: Vec<&str> = exams
        .iter()
        .filter(|e| e.majority())
        .map(|e| e.exam_name.as_str())
        .collect();
    let confident: Vec<&str> = exams
        .iter()
        .filter(|e| e.confident_majority())
        .map(|e| e.exam_name.as_str())
        .collect();
    let weekly = Weekly::build(tables, params)?;
    let consistently: Vec<&str> = exams
        .iter()
        .filter(|e| weekly.consistently_high(&e.exam_name, params))
        .map(|e| e.exam_name.as_str())
        .collect();
    let rows: Vec<Vec<Value>> = exams
        .iter()
        .map(|e| {
            vec![
                json!(e.exam_name),
                json!(e.attempts),
                json!(e.high_scorers),
                json!(e.share),
                json!(e.interval.0),
                json!(e.interval.1),
                json!(e.mean_score),
                json!(e.majority()),
                json!(e.confident_majority()),
                json!(weekly.weeks_high(&e.exam_name, params)),
                json!(weekly.consistently_high(&e.exam_name, params)),
            ]
        })
        .collect();
    let answer = if confident.is_empty() {
        format!("No exam has a clear majority of attempts scoring at least {:.0}%; {} exam(s) have a majority on small samples.", params.threshold * 100.0, majority.len())
    } else {
        format!(
            "{} exam(s) have a majority of attempts scoring at least {:.0}%, {} of them with confidence (Wilson 95% lower bound above 50%): {}. These exams may be too easy.",
            majority.len(), params.threshold * 100.0, confident.len(), confident.join(", ")
        )
    };
    Ok(Report {
        name: "high-scores",
        heatmap: Some(weekly.heatmap(&exams, params)),
        question: "Are a majority of students consistently achieving high scores on certain exams?",
        title: format!(
            "Share of attempts scoring ≥ {:.0}% — tenant {}",
            params.threshold * 100.0,
            tables.tenant
        ),
        summary: vec![
            ("threshold", json!(params.threshold)),
            ("exams", json!(exams.len())),
            ("exams_with_majority", json!(majority)),
            ("exams_with_confident_majority", json!(confident)),
            (
                "weeks_considered",
                json!(weekly
                    .last_weeks(params.weeks)
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>()),
            ),
            ("weeks_needed", json!(params.weeks_needed)),
            ("exams_consistently_high", json!(consistently)),
        ],
        columns: vec![
            "exam_name",
            "attempts",
            "high_scorers",
            "share",
            "wilson_low",
            "wilson_high",
            "mean_score",
            "majority",
            "confident_majority",
            "weeks_high",
            "consistently_high",
        ],
        chart: Some(chart(&exams, params)),
        rows,
        answer,
    })
}

fn chart(exams: &[ExamShare], params: &ReportParams) -> Chart {
    let eligible: Vec<&ExamShare> = exams
        .iter()
        .filter(|e| e.attempts >= params.min_attempts)
        .collect();
    let shown = eligible.len().min(MAX_BARS);
    Chart {
        file_stem: "high_scores",
        title: format!(
            "Share of attempts scoring ≥ {:.0}% (top {shown} of {} exams with ≥ {} attempts)",
            params.threshold * 100.0,
            eligible.len(),
            params.min_attempts
        ),
        x_label: "share of attempts (whisker: Wilson 95% interval)".into(),
        y_label: "exam".into(),
        bars: eligible[..shown]
            .iter()
            .map(|e| Bar {
                label: e.exam_name.clone(),
                value: e.share,
                interval: Some(e.interval),
                highlight: e.confident_majority(),
                note: Some(format!("n={}", e.attempts)),
            })
            .collect(),
        value_format: ValueFormat::Percent,
        reference: Some((0.5, "50%: majority".into())),
        highlight_legend: Some("majority with 95% confidence".into()),
        x_max: Some(1.0),
    }
}
