//! `distractors`: how each answer option of a question draws students, overall and by score group.
//!
//! Per question presented at least `item_min_n` times: for each option, the share of attempts that
//! chose it, overall, in the upper 27% and in the lower 27% of those attempts by score (ties keep
//! keen_id order). A good distractor draws more of the lower group; a key should draw more of the
//! upper group. Flags: `key drawn more by the lower group` (check the key) and
//! `distractor drawn more by the upper group` (ambiguous wording?).

use serde_json::{json, Value};

use polars::prelude::*;

use super::columns::{floats, ints, str_column};
use super::ReportParams;
use crate::error::{ReportsError, Result};
use crate::queries;
use crate::report::Report;
use crate::tables::TenantTables;

const QUERY: &str = "distractors.sql";

/// Per question and option of `shown` (one row per option shown in an attempt: `exam_name`,
/// `question_id`, `option_id`, `keen_id`, `is_key`, `chosen`, `score`): the attempts presenting the
/// question, and the share choosing the option among them, in their top 27% and their bottom 27%
/// by score (ties in keen_id order; groups of ceil(0.27·n) attempts). Grouped in Polars: linear in
/// the options shown, with no per-attempt maps.
pub fn option_pulls(shown: LazyFrame) -> PolarsResult<LazyFrame> {
    let question = || [col("exam_name"), col("question_id")];
    let attempt = || [col("exam_name"), col("question_id"), col("keen_id")];
    let ranked = shown
        .clone()
        .group_by(attempt())
        .agg([col("score").first().fill_null(lit(0.0)).alias("score")])
        .sort_by_exprs(
            [
                col("exam_name"),
                col("question_id"),
                col("score"),
                col("keen_id"),
            ],
            SortMultipleOptions::default(),
        )
        .with_row_index("_i", None)
        .with_columns([
            (col("_i") - col("_i").min().over(question())?)
                .cast(DataType::Int64)
                .alias("_rank"),
            len()
                .over(question())?
                .cast(DataType::Int64)
                .alias("presented"),
        ])
        .with_column(
            (col("presented").cast(DataType::Float64) * lit(0.27))
                .ceil()
                .cast(DataType::Int64)
                .alias("_group"),
        )
        .with_columns([
            col("_rank").lt(col("_group")).alias("_lower"),
            col("_rank")
                .gt_eq(col("presented") - col("_group"))
                .alias("_upper"),
        ])
        .select([
            col("exam_name"),
            col("question_id"),
            col("keen_id"),
            col("presented"),
            col("_group"),
            col("_lower"),
            col("_upper"),
        ]);
    let per_attempt = shown
        .group_by([
            col("exam_name"),
            col("question_id"),
            col("keen_id"),
            col("option_id"),
        ])
        .agg([
            // An option listed twice in one attempt counts once.
            col("chosen").cast(DataType::Int64).max().alias("chosen"),
            col("is_key").cast(DataType::Int64).max().alias("is_key"),
        ]);
    let in_group = |flag: &str| (col("chosen") * col(flag).cast(DataType::Int64)).sum();
    Ok(per_attempt
        .join(ranked, attempt(), attempt(), JoinArgs::new(JoinType::Inner))
        .group_by([col("exam_name"), col("question_id"), col("option_id")])
        .agg([
            col("is_key").max().eq(lit(1i64)).alias("is_key"),
            col("presented").first(),
            col("_group").first(),
            col("chosen").sum().alias("_all"),
            in_group("_upper").alias("_top"),
            in_group("_lower").alias("_bottom"),
        ])
        .with_columns([
            (col("_all").cast(DataType::Float64) / col("presented").cast(DataType::Float64))
                .alias("chosen_share"),
            (col("_top").cast(DataType::Float64) / col("_group").cast(DataType::Float64))
                .alias("upper_share"),
            (col("_bottom").cast(DataType::Float64) / col("_group").cast(DataType::Float64))
                .alias("lower_share"),
        ])
        .select([
            col("exam_name"),
            col("question_id"),
            col("option_id"),
            col("is_key"),
            col("presented"),
            col("chosen_share"),
            col("upper_share"),
            col("lower_share"),
        ])
        .sort(
            ["exam_name", "question_id", "option_id"],
            SortMultipleOptions::default(),
        ))
}

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let df = tables.query(QUERY, &queries::load(QUERY, params.queries_dir.as_deref())?)?;
    let pulls = option_pulls(df.lazy())
        .and_then(|pulls| {
            pulls
                .filter(col("presented").gt_eq(lit(params.item_min_n as i64)))
                .collect()
        })
        .map_err(|source| ReportsError::Query {
            query: QUERY.to_string(),
            source,
        })?;
    let exams = str_column(&pulls, QUERY, "exam_name")?;
    let questions = str_column(&pulls, QUERY, "question_id")?;
    let options = str_column(&pulls, QUERY, "option_id")?;
    let keys = ints(&pulls, QUERY, "is_key")?;
    let presented = ints(&pulls, QUERY, "presented")?;
    let overall = floats(&pulls, QUERY, "chosen_share")?;
    let upper = floats(&pulls, QUERY, "upper_share")?;
    let lower = floats(&pulls, QUERY, "lower_share")?;
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut flagged = 0usize;
    let mut analysed = std::collections::BTreeSet::new();
    for i in 0..pulls.height() {
        let (upper, lower) = (upper[i].unwrap_or(0.0), lower[i].unwrap_or(0.0));
        let is_key = keys[i] == 1;
        let flag = match (is_key, upper < lower, upper > lower) {
            (true, true, _) => "key drawn more by the lower group",
            (false, _, true) => "distractor drawn more by the upper group",
            _ => "",
        };
        flagged += usize::from(!flag.is_empty());
        let (exam, question) = (
            exams.get(i).unwrap_or_default(),
            questions.get(i).unwrap_or_default(),
        );
        analysed.insert((exam, question));
        rows.push(vec![
            json!(exam),
            json!(question),
            json!(options.get(i).unwrap_or_default()),
            json!(is_key),
            json!(presented[i]),
            json!(overall[i].unwrap_or(0.0)),
            json!(upper),
            json!(lower),
            json!(flag),
        ]);
    }
    let questions_analysed = analysed.len();
    Ok(Report {
        name: "distractors",
        heatmap: None,
        question: "Which answer options draw which students (distractor analysis)?",
        title: format!("Distractor analysis — tenant {}", tables.tenant),
        summary: vec![
            ("questions_analysed", json!(questions_analysed)),
            ("min_n", json!(params.item_min_n)),
            ("options", json!(rows.len())),
            ("options_flagged", json!(flagged)),
        ],
        columns: vec!["exam_name", "question_id", "option_id", "is_key", "presented", "chosen_share", "upper_share", "lower_share", "flag"],
        answer: format!(
            "{questions_analysed} questions with at least {} attempts; {flagged} options behave against expectation (a key drawing the weaker students, or a distractor drawing the stronger).",
            params.item_min_n
        ),
        chart: None,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pulls_by_hand() {
        // 4 attempts (scores .25, .5, .75, 1); groups of ceil(4·.27) = 2.
        // Option A (key) chosen by the two best; option B by the two worst and by the best.
        let mut rows: Vec<(&str, &str, i32, i32, f64)> = Vec::new();
        for (id, score, a, b) in [
            ("k1", 0.25, 0, 1),
            ("k2", 0.5, 0, 1),
            ("k3", 0.75, 1, 0),
            ("k4", 1.0, 1, 1),
        ] {
            rows.push((id, "A", 1, a, score));
            rows.push((id, "B", 0, b, score));
        }
        let column = |name: &str, values: Vec<&str>| Column::new(name.into(), values);
        let df = DataFrame::new(
            rows.len(),
            vec![
                column("exam_name", rows.iter().map(|_| "E").collect()),
                column("question_id", rows.iter().map(|_| "Q").collect()),
                column("option_id", rows.iter().map(|r| r.1).collect()),
                column("keen_id", rows.iter().map(|r| r.0).collect()),
                Column::new(
                    "is_key".into(),
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                ),
                Column::new(
                    "chosen".into(),
                    rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                ),
                Column::new("score".into(), rows.iter().map(|r| r.4).collect::<Vec<_>>()),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let pulls = option_pulls(df.lazy())
            .and_then(LazyFrame::collect)
            .unwrap_or_else(|e| panic!("{e}"));
        let value = |name: &str, row: usize| -> f64 {
            pulls
                .column(name)
                .and_then(|c| c.cast(&DataType::Float64))
                .ok()
                .and_then(|c| c.f64().ok().and_then(|v| v.get(row)))
                .unwrap_or(f64::NAN)
        };
        // A: overall 2/4, upper 2/2, lower 0/2. B: overall 3/4, upper 1/2, lower 2/2.
        assert_eq!(
            [
                value("chosen_share", 0),
                value("upper_share", 0),
                value("lower_share", 0)
            ],
            [0.5, 1.0, 0.0]
        );
        assert_eq!(
            [
                value("chosen_share", 1),
                value("upper_share", 1),
                value("lower_share", 1)
            ],
            [0.75, 0.5, 1.0]
        );
        assert_eq!(value("presented", 0), 4.0);
        let keys = pulls.column("is_key").and_then(|c| c.bool().cloned()).ok();
        assert_eq!(
            keys.map(|k| k.iter().collect::<Vec<_>>()),
            Some(vec![Some(true), Some(false)])
        );
    }
}
