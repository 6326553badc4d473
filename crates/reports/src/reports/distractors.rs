//! `distractors`: how each answer option of a question draws students, overall and by score group.
//!
//! Per question presented at least `item_min_n` times: for each option, the share of attempts that
//! chose it, overall, in the upper 27% and in the lower 27% of those attempts by score (ties keep
//! keen_id order). A good distractor draws more of the lower group; a key should draw more of the
//! upper group. Flags: `key drawn more by the lower group` (check the key) and
//! `distractor drawn more by the upper group` (ambiguous wording?).

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::columns::{floats, ints, str_column};
use super::ReportParams;
use crate::error::Result;
use crate::queries;
use crate::report::Report;
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

/// One option as shown in one attempt.
#[derive(Debug, Clone, Copy)]
pub struct Shown<'a> {
    pub keen_id: &'a str,
    pub score: f64,
    pub option_id: &'a str,
    pub is_key: bool,
    pub chosen: bool,
}

/// One question's options pulls: how many attempts presented it, and per option (in id order) its
/// share chosen among all attempts, the top and the bottom 27% by score (ties in keen_id order).
/// `shown` holds every option shown for the question, each attempt's rows next to each other.
/// Linear in the rows: no per-attempt allocation.
pub fn option_pulls(shown: &[Shown]) -> (usize, Vec<OptionPull>) {
    let mut attempts: Vec<&[Shown]> = shown.chunk_by(|a, b| a.keen_id == b.keen_id).collect();
    attempts.sort_by(|a, b| {
        a[0].score
            .total_cmp(&b[0].score)
            .then(a[0].keen_id.cmp(b[0].keen_id))
    });
    let n = attempts.len();
    let group = ((n as f64) * 0.27).ceil() as usize;
    // Per option: is it the key, chosen by [all, upper, lower], the last attempt counted.
    let mut options: BTreeMap<&str, (bool, [usize; 3], usize)> = BTreeMap::new();
    for (rank, rows) in attempts.iter().enumerate() {
        let (upper, lower) = (rank >= n.saturating_sub(group), rank < group.min(n));
        for row in rows.iter() {
            let entry = options
                .entry(row.option_id)
                .or_insert((row.is_key, [0; 3], usize::MAX));
            entry.0 = row.is_key;
            // An option listed twice in one attempt counts once.
            if row.chosen && entry.2 != rank {
                entry.2 = rank;
                entry.1[0] += 1;
                entry.1[1] += usize::from(upper);
                entry.1[2] += usize::from(lower);
            }
        }
    }
    let share = |count: usize, of: usize| {
        if of == 0 {
            0.0
        } else {
            count as f64 / of as f64
        }
    };
    let pulls = options
        .into_iter()
        .map(|(option, (is_key, [all, top, bottom], _))| OptionPull {
            option_id: option.to_string(),
            is_key,
            overall: share(all, n),
            upper: share(top, group.min(n)),
            lower: share(bottom, group.min(n)),
        })
        .collect();
    (n, pulls)
}

pub fn build(tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let df = tables.query(QUERY, &queries::load(QUERY, params.queries_dir.as_deref())?)?;
    let exams = str_column(&df, QUERY, "exam_name")?;
    let questions = str_column(&df, QUERY, "question_id")?;
    let options = str_column(&df, QUERY, "option_id")?;
    let attempts = str_column(&df, QUERY, "keen_id")?;
    let (exams, questions, options, attempts): (Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>) = (
        exams.iter().map(Option::unwrap_or_default).collect(),
        questions.iter().map(Option::unwrap_or_default).collect(),
        options.iter().map(Option::unwrap_or_default).collect(),
        attempts.iter().map(Option::unwrap_or_default).collect(),
    );
    let keys = ints(&df, QUERY, "is_key")?;
    let chosen = ints(&df, QUERY, "chosen")?;
    let scores = floats(&df, QUERY, "score")?;
    // Group rows by question, and by attempt within it, through dense ids (hashing, then one
    // integer sort): building trees keyed by long strings for every row cost far more.
    let mut question_ids: HashMap<(&str, &str), u32> = HashMap::new();
    let mut attempt_ids: HashMap<&str, u32> = HashMap::new();
    let mut order: Vec<(u32, u32, u32)> = Vec::with_capacity(exams.len());
    for i in 0..exams.len() {
        let next = question_ids.len() as u32;
        let question = *question_ids.entry((exams[i], questions[i])).or_insert(next);
        let next = attempt_ids.len() as u32;
        let attempt = *attempt_ids.entry(attempts[i]).or_insert(next);
        order.push((question, attempt, i as u32));
    }
    order.sort_unstable();
    let mut key_of: Vec<(&str, &str)> = vec![("", ""); question_ids.len()];
    for (key, id) in &question_ids {
        key_of[*id as usize] = *key;
    }
    let mut by_question: BTreeMap<(&str, &str), (usize, Vec<OptionPull>)> = BTreeMap::new();
    for group in order.chunk_by(|a, b| a.0 == b.0) {
        let shown: Vec<Shown> = group
            .iter()
            .map(|&(_, _, row)| {
                let i = row as usize;
                Shown {
                    keen_id: attempts[i],
                    score: scores[i].unwrap_or(0.0),
                    option_id: options[i],
                    is_key: keys[i] == 1,
                    chosen: chosen[i] == 1,
                }
            })
            .collect();
        by_question.insert(key_of[group[0].0 as usize], option_pulls(&shown));
    }
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut flagged = 0usize;
    for ((exam, question), (presented, pulls)) in &by_question {
        if *presented < params.item_min_n {
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
        .filter(|(presented, _)| *presented >= params.item_min_n)
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

    #[test]
    fn pulls_by_hand() {
        // 4 attempts (scores .25, .5, .75, 1); groups of ceil(4·.27) = 2.
        // Option A (key) chosen by the two best; option B by the two worst and by the best.
        let mut shown = Vec::new();
        for (keen_id, score, a, b) in [
            ("k4", 1.0, true, true),
            ("k1", 0.25, false, true),
            ("k3", 0.75, true, false),
            ("k2", 0.5, false, true),
        ] {
            for (option_id, is_key, chosen) in [("B", false, b), ("A", true, a)] {
                shown.push(Shown {
                    keen_id,
                    score,
                    option_id,
                    is_key,
                    chosen,
                });
            }
        }
        // A repeated row of an option already chosen in that attempt changes nothing.
        shown.insert(1, shown[0]);
        let (presented, pulls) = option_pulls(&shown);
        assert_eq!(presented, 4);
        assert_eq!(
            pulls[0],
            OptionPull {
                option_id: "A".into(),
                is_key: true,
                overall: 0.5,
                upper: 1.0,
                lower: 0.0
            }
        );
        assert_eq!(
            pulls[1],
            OptionPull {
                option_id: "B".into(),
                is_key: false,
                overall: 0.75,
                upper: 0.5,
                lower: 1.0
            }
        );
    }
}
