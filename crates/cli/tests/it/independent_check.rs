//! The reports' numbers equal an independent computation on the same input file.
//!
//! This reimplements the data rules with plain serde_json (no examlake code): test records out,
//! exact redeliveries dropped, for repeated keen_ids the latest keen_timestamp wins (ties: the
//! later line), grading from the question details. Then it compares every report's JSON.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::{ok, temp};

#[derive(Clone)]
struct Attempt {
    line: usize,
    keen_ts: f64,
    bytes: String,
    value: Value,
}

impl Attempt {
    fn text(&self, key: &str) -> String {
        self.value[key].as_str().unwrap_or_default().to_string()
    }
    fn results(&self) -> Vec<String> {
        self.value["sequences"]["questions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|q| q["user_result"].as_str().unwrap_or_default().to_string())
            .collect()
    }
    fn score(&self) -> f64 {
        let results = self.results();
        results.iter().filter(|r| *r == "correct").count() as f64 / results.len() as f64
    }
}

/// The kept attempts of an NDJSON file, by the documented rules.
fn kept_attempts(ndjson: &str) -> Vec<Attempt> {
    let mut by_id: BTreeMap<String, Vec<Attempt>> = BTreeMap::new();
    for (line, text) in ndjson.lines().enumerate() {
        let value: Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("line {}: {e}", line + 1));
        if value["base_exam_id"] == "example-id"
            || value["exam_name"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .contains("example exam for development and testing")
        {
            continue;
        }
        let keen_ts: f64 = value["keen_timestamp"]
            .as_str()
            .unwrap_or_default()
            .parse()
            .unwrap_or_default();
        let attempt = Attempt {
            line,
            keen_ts,
            bytes: text.to_string(),
            value,
        };
        by_id
            .entry(attempt.text("keen_id"))
            .or_default()
            .push(attempt);
    }
    by_id
        .into_values()
        .map(|versions| {
            let mut seen = BTreeSet::new();
            let distinct: Vec<Attempt> = versions
                .into_iter()
                .filter(|a| seen.insert(a.bytes.clone()))
                .collect();
            distinct
                .into_iter()
                .max_by(|a, b| a.keen_ts.total_cmp(&b.keen_ts).then(a.line.cmp(&b.line)))
                .unwrap_or_else(|| panic!("no versions"))
        })
        .collect()
}

fn report(dir: &std::path::Path, name: &str) -> Value {
    let out = ok(
        dir,
        &[
            "report",
            name,
            "--tenant",
            "acme",
            "--warehouse",
            "w",
            "--format",
            "json",
        ],
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}"))
}

fn rows(report: &Value) -> Vec<Value> {
    report["rows"].as_array().cloned().unwrap_or_default()
}

#[test]
fn report_numbers_equal_an_independent_computation() {
    let dir = temp();
    ok(
        dir.path(),
        &[
            "generate",
            "--tenant",
            "acme",
            "--attempts",
            "3280",
            "--seed",
            "7",
            "--out",
            "acme.ndjson",
        ],
    );
    ok(
        dir.path(),
        &[
            "ingest",
            "--from-file",
            "acme.ndjson",
            "--tenant",
            "acme",
            "--warehouse",
            "w",
        ],
    );
    ok(dir.path(), &["transform", "--warehouse", "w"]);
    let input = std::fs::read_to_string(dir.path().join("acme.ndjson")).unwrap_or_default();
    let kept = kept_attempts(&input);

    // Per exam: attempts, high scorers, last started_at.
    let mut per_exam: BTreeMap<String, (u64, u64, String, BTreeSet<String>)> = BTreeMap::new();
    for a in &kept {
        let entry = per_exam.entry(a.text("exam_name")).or_default();
        entry.0 += 1;
        entry.1 += u64::from(a.score() >= 0.8);
        entry.2 = entry.2.clone().max(a.text("started_at"));
        entry.3.insert(a.text("user_exam_id"));
    }

    // overview
    let overview = report(dir.path(), "overview");
    assert_eq!(overview["summary"]["attempts"], kept.len() as u64);
    assert_eq!(overview["summary"]["distinct_exams"], per_exam.len() as u64);
    let max = per_exam.values().map(|v| v.0).max().unwrap_or(0);
    let min = per_exam.values().map(|v| v.0).min().unwrap_or(0);
    let names_with = |n: u64| {
        Value::from(
            per_exam
                .iter()
                .filter(|(_, v)| v.0 == n)
                .map(|(k, _)| k.clone())
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(overview["summary"]["most_common"]["attempts"], max);
    assert_eq!(overview["summary"]["most_common"]["exams"], names_with(max));
    assert_eq!(
        overview["summary"]["least_common"]["exams"],
        names_with(min)
    );
    for row in rows(&overview) {
        let (attempts, _, _, students) = &per_exam[row["exam_name"].as_str().unwrap_or_default()];
        assert_eq!(row["attempts"], *attempts);
        assert_eq!(row["distinct_students"], students.len() as u64);
    }

    // high-scores
    let high = report(dir.path(), "high-scores");
    assert_eq!(rows(&high).len(), per_exam.len());
    for row in rows(&high) {
        let (attempts, high_scorers, _, _) =
            per_exam[row["exam_name"].as_str().unwrap_or_default()];
        assert_eq!(row["attempts"], attempts);
        assert_eq!(row["high_scorers"], high_scorers);
        let share = high_scorers as f64 / attempts as f64;
        assert!((row["share"].as_f64().unwrap_or(-1.0) - share).abs() < 1e-12);
        assert_eq!(row["majority"], share > 0.5);
    }
    assert!(
        high["summary"]["exams_with_majority"]
            .as_array()
            .is_some_and(|exams| !exams.is_empty()),
        "the generator makes some exams easy"
    );

    // high-scores over time: ISO weeks (Monday, UTC); weeks_high counts the last 4 weeks with
    // data where the Wilson 95% lower bound of the share is above 0.5.
    let week_of = |started: &str| {
        let day = chrono::NaiveDate::parse_from_str(&started[..10], "%Y-%m-%d").unwrap_or_default();
        day - chrono::Days::new(u64::from(
            chrono::Datelike::weekday(&day).num_days_from_monday(),
        ))
    };
    let mut weekly: BTreeMap<(String, chrono::NaiveDate), (u64, u64)> = BTreeMap::new();
    for a in &kept {
        let cell = weekly
            .entry((a.text("exam_name"), week_of(&a.text("started_at"))))
            .or_default();
        cell.0 += 1;
        cell.1 += u64::from(a.score() >= 0.8);
    }
    let weeks: BTreeSet<chrono::NaiveDate> = weekly.keys().map(|(_, w)| *w).collect();
    let last4: Vec<chrono::NaiveDate> = weeks.iter().rev().take(4).copied().collect();
    let wilson_low = |high: u64, n: u64| {
        let (n, p, z) = (n as f64, high as f64 / n as f64, 1.959_963_984_540_054_f64);
        (p + z * z / (2.0 * n) - z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt())
            / (1.0 + z * z / n)
    };
    for row in rows(&high) {
        let exam = row["exam_name"].as_str().unwrap_or_default().to_string();
        let weeks_high = last4
            .iter()
            .filter(|w| {
                weekly
                    .get(&(exam.clone(), **w))
                    .is_some_and(|(n, h)| wilson_low(*h, *n) > 0.5)
            })
            .count();
        assert_eq!(row["weeks_high"], weeks_high as u64, "{exam}");
        assert_eq!(row["consistently_high"], weeks_high >= 3, "{exam}");
    }
    assert!(
        rows(&high)
            .iter()
            .any(|r| r["weeks_high"].as_u64().unwrap_or(0) > 0),
        "some exam is high in some week"
    );

    // least-popular: bottom 10 by attempts, ties included.
    let least = report(dir.path(), "least-popular");
    let mut ascending: Vec<(u64, String)> =
        per_exam.iter().map(|(k, v)| (v.0, k.clone())).collect();
    ascending.sort();
    let boundary = ascending[9].0;
    let expected: Vec<(u64, String)> = ascending
        .iter()
        .take_while(|(n, _)| *n <= boundary)
        .cloned()
        .collect();
    let got: Vec<(u64, String)> = rows(&least)
        .iter()
        .map(|r| {
            (
                r["attempts"].as_u64().unwrap_or(0),
                r["exam_name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected);

    // last-taken
    let last = report(dir.path(), "last-taken");
    assert_eq!(rows(&last).len(), per_exam.len());
    for row in rows(&last) {
        assert_eq!(
            row["last_taken"],
            per_exam[row["exam_name"].as_str().unwrap_or_default()]
                .2
                .as_str()
        );
    }

    // most-missed: wrong = incorrect or missed_some, per (exam, question).
    let mut per_question: HashMap<(String, String), (u64, u64)> = HashMap::new();
    for a in &kept {
        for q in a.value["sequences"]["questions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let entry = per_question
                .entry((
                    a.text("exam_name"),
                    q["id"].as_str().unwrap_or_default().to_string(),
                ))
                .or_default();
            entry.0 += 1;
            entry.1 += u64::from(matches!(
                q["user_result"].as_str(),
                Some("incorrect" | "missed_some")
            ));
        }
    }
    let mut ranked: Vec<(u64, u64, String, String)> = per_question
        .into_iter()
        .map(|((e, q), (p, w))| (w, p, e, q))
        .collect();
    ranked.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then((&a.2, &a.3).cmp(&(&b.2, &b.3)))
    });
    let boundary = ranked[14].0;
    let expected: Vec<(u64, u64, String, String)> =
        ranked.into_iter().take_while(|r| r.0 >= boundary).collect();
    let got: Vec<(u64, u64, String, String)> = rows(&report(dir.path(), "most-missed"))
        .iter()
        .map(|r| {
            (
                r["wrong"].as_u64().unwrap_or(0),
                r["presented"].as_u64().unwrap_or(0),
                r["exam_name"].as_str().unwrap_or_default().to_string(),
                r["question_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(got, expected);
}
