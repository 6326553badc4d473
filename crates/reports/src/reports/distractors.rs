//! `distractors`: how each answer option of a question draws students, overall and by score group.
//!
//! Per question presented at least `item_min_n` times: for each option, the share of attempts that
//! chose it, overall, in the upper 27% and in the lower 27% of those attempts by score. Attempts
//! tied at a group's edge share its last places equally (`stats::extreme_groups`), so the shares
//! never depend on an arbitrary order of ties. A good distractor draws more of the lower group; a
//! key should draw more of the upper group. Flags: `key drawn more by the lower group` (check the
//! key) and `distractor drawn more by the upper group` (ambiguous wording?).
//!
//! The query reads `option_counts` (attempts per question, option and score, written by the
//! transform), so its cost follows the number of questions and score levels, not of attempts.

use std::collections::BTreeMap;

use examlake_core::interner::Interner;

use serde_json::{json, Value};

use super::columns::{floats, ints, str_column};
use super::ReportParams;
use crate::error::Result;
use crate::queries;
use crate::report::Report;
use crate::stats::extreme_groups;
use crate::tables::TenantTables;

const QUERY: &str = "distractors.sql";

/// One option's pull, overall and by group.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionPull {
    pub option_id: String,
    pub is_key: bool,
    pub overall: f64,
    pub upper: f64,
    pub lower: f64,
}

/// One row of the query: a question's (`option_id` `None`) or an option's counts at one score.
#[derive(Debug, Clone, Copy)]
pub struct CountsAt<'a> {
    pub option_id: Option<&'a str>,
    pub is_key: bool,
    pub score: f64,
    /// Question row: attempts at this score presented the question.
    pub attempts: u64,
    /// Option row: attempts at this score that chose the option.
    pub chosen: u64,
}

/// One question's option pulls from its per-score counts (rows at the same score and option are
/// summed): how many attempts presented it, and per option (in id order) its share chosen among
/// all attempts, the upper and the lower 27% by score.
pub fn option_pulls(rows: &[CountsAt]) -> (u64, Vec<OptionPull>) {
    let mut levels: Vec<(f64, u64)> = rows
        .iter()
        .filter(|row| row.option_id.is_none())
        .map(|row| (row.score, row.attempts))
        .collect();
    levels.sort_by(|a, b| a.0.total_cmp(&b.0));
    let levels: Vec<(f64, u64)> = levels
        .chunk_by(|a, b| a.0.total_cmp(&b.0).is_eq())
        .map(|same| (same[0].0, same.iter().map(|level| level.1).sum()))
        .collect();
    let attempts: Vec<u64> = levels.iter().map(|level| level.1).collect();
    let n: u64 = attempts.iter().sum();
    let (group, weights) = extreme_groups(&attempts);
    // Per option: is it the key, and how many chose it at each score level. Summed as integers
    // first, then weighted in level order, so the shares do not depend on the rows' order.
    let mut options: BTreeMap<&str, (bool, Vec<u64>)> = BTreeMap::new();
    for row in rows {
        let Some(option_id) = row.option_id else {
            continue;
        };
        let entry = options
            .entry(option_id)
            .or_insert_with(|| (false, vec![0; levels.len()]));
        entry.0 |= row.is_key;
        if let Ok(level) = levels.binary_search_by(|level| level.0.total_cmp(&row.score)) {
            entry.1[level] += row.chosen;
        }
    }
    let options = options.into_iter().map(|(option, (is_key, chosen))| {
        let mut sums = [0.0; 3];
        for (count, (lower, upper)) in chosen.iter().zip(&weights) {
            let count = *count as f64;
            sums[0] += count;
            sums[1] += upper * count;
            sums[2] += lower * count;
        }
        (option, (is_key, sums))
    });
    let share = |count: f64, of: u64| if of == 0 { 0.0 } else { count / of as f64 };
    let pulls = options
        .into_iter()
        .map(|(option, (is_key, [all, top, bottom]))| OptionPull {
            option_id: option.to_string(),
            is_key,
            overall: share(all, n),
            upper: share(top, group),
            lower: share(bottom, group),
        })
        .collect();
    (n, pulls)
}

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let df = tables.query(QUERY, &queries::load(QUERY, params.queries_dir.as_deref())?)?;
    let exams = str_column(&df, QUERY, "exam_name")?;
    let questions = str_column(&df, QUERY, "question_id")?;
    let options = str_column(&df, QUERY, "option_id")?;
    let keys = ints(&df, QUERY, "is_key")?;
    let scores = floats(&df, QUERY, "score")?;
    let attempts = ints(&df, QUERY, "attempts")?;
    let chosen = ints(&df, QUERY, "chosen")?;
    // Rows grouped by question through a hash map (700k rows at 1M attempts: one per part,
    // question, option and score), then the questions in order.
    let mut question_of = Interner::default();
    let mut rows_by_question: Vec<((&str, &str), Vec<CountsAt>)> = Vec::new();
    for (i, ((exam, question), option_id)) in exams
        .iter()
        .zip(questions.iter())
        .zip(options.iter())
        .enumerate()
    {
        let key = (exam.unwrap_or_default(), question.unwrap_or_default());
        let at = question_of.id(key) as usize;
        if at == rows_by_question.len() {
            rows_by_question.push((key, Vec::new()));
        }
        rows_by_question[at].1.push(CountsAt {
            option_id,
            is_key: keys[i] == 1,
            score: scores[i].unwrap_or(0.0),
            attempts: attempts[i],
            chosen: chosen[i],
        });
    }
    let by_question: BTreeMap<(&str, &str), (u64, Vec<OptionPull>)> = rows_by_question
        .into_iter()
        .map(|(question, rows)| (question, option_pulls(&rows)))
        .collect();
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut flagged = 0usize;
    for ((exam, question), (presented, pulls)) in &by_question {
        if (*presented as usize) < params.item_min_n {
            continue;
        }
        for pull in pulls {
            let flag = match (
                pull.is_key,
                pull.upper < pull.lower,
                pull.upper > pull.lower,
            ) {
                (true, true, _) => "key drawn more by the lower group",
                (false, _, true) => "distractor drawn more by the upper group",
                _ => "",
            };
            flagged += usize::from(!flag.is_empty());
            rows.push(vec![
                json!(exam),
                json!(question),
                json!(pull.option_id),
                json!(pull.is_key),
                json!(presented),
                json!(pull.overall),
                json!(pull.upper),
                json!(pull.lower),
                json!(flag),
            ]);
        }
    }
    let questions_analysed = by_question
        .values()
        .filter(|(presented, _)| *presented as usize >= params.item_min_n)
        .count();
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

    fn question(score: f64, attempts: u64) -> CountsAt<'static> {
        CountsAt {
            option_id: None,
            is_key: false,
            score,
            attempts,
            chosen: 0,
        }
    }

    fn option(option_id: &'static str, is_key: bool, score: f64, chosen: u64) -> CountsAt<'static> {
        CountsAt {
            option_id: Some(option_id),
            is_key,
            score,
            attempts: 0,
            chosen,
        }
    }

    #[test]
    fn pulls_by_hand() {
        // 4 attempts at scores .25, .5, .75, 1 → groups of ⌈4·.27⌉ = 2.
        // Option A (key) chosen by the two best; option B by the two worst and by the best.
        let rows = [
            question(0.25, 1),
            question(0.5, 1),
            question(0.75, 1),
            question(1.0, 1),
            option("B", false, 0.25, 1),
            option("B", false, 0.5, 1),
            option("B", false, 1.0, 1),
            option("A", true, 0.75, 1),
            option("A", true, 1.0, 1),
            option("A", true, 0.5, 0),
        ];
        let (presented, pulls) = option_pulls(&rows);
        assert_eq!(presented, 4);
        assert_eq!(
            pulls,
            vec![
                OptionPull {
                    option_id: "A".into(),
                    is_key: true,
                    overall: 0.5,
                    upper: 1.0,
                    lower: 0.0
                },
                OptionPull {
                    option_id: "B".into(),
                    is_key: false,
                    overall: 0.75,
                    upper: 0.5,
                    lower: 1.0
                },
            ]
        );
    }

    #[test]
    fn tied_attempts_share_the_group_edge() {
        // 5 attempts: one at 0, three tied at .5, one at 1 → groups of ⌈1.35⌉ = 2.
        // Lower group: the 0 and a third of each .5; upper: the 1 and a third of each .5.
        // Option C is chosen by two of the three tied attempts only.
        let rows = [
            question(0.0, 1),
            question(0.5, 2),
            question(0.5, 1),
            question(1.0, 1),
            option("C", false, 0.5, 2),
        ];
        let (presented, pulls) = option_pulls(&rows);
        assert_eq!(presented, 5);
        let c = &pulls[0];
        assert!((c.overall - 0.4).abs() < 1e-12);
        assert!((c.upper - 1.0 / 3.0).abs() < 1e-12, "{c:?}");
        assert!((c.lower - 1.0 / 3.0).abs() < 1e-12, "{c:?}");
    }
}
