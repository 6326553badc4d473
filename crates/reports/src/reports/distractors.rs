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

/// One option as shown in one attempt: (option id, is the key, chosen).
type Shown<'a> = (&'a str, bool, bool);
/// One attempt's score and the options it was shown.
type Presentation<'a> = (f64, Vec<Shown<'a>>);
/// Attempts presenting one question: keen_id → presentation.
type Presentations<'a> = BTreeMap<&'a str, Presentation<'a>>;

/// Per option: share choosing it among all attempts, the top and the bottom 27% by score.
/// One pass per group: linear in the options shown.
pub fn option_pulls<'a>(presentations: &Presentations<'a>) -> Vec<OptionPull> {
    let mut attempts: Vec<&Presentation<'a>> = presentations.values().collect();
    attempts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = attempts.len();
    let group = ((n as f64) * 0.27).ceil() as usize;
    let (lower, upper) = (
        &attempts[..group.min(n)],
        &attempts[n.saturating_sub(group)..],
    );
    let mut options: BTreeMap<&'a str, bool> = BTreeMap::new();
    for (_, shown) in &attempts {
        for (id, is_key, _) in shown {
            options.insert(*id, *is_key);
        }
    }
    let shares = |group: &[&Presentation<'a>]| -> HashMap<&'a str, f64> {
        let mut chose: HashMap<&'a str, usize> = HashMap::new();
        for (_, shown) in group {
            for (i, (id, _, chosen)) in shown.iter().enumerate() {
                // An option listed twice in one attempt counts once.
                if *chosen && !shown[..i].iter().any(|(other, _, c)| other == id && *c) {
                    *chose.entry(*id).or_default() += 1;
                }
            }
        }
        chose
            .into_iter()
            .map(|(id, count)| (id, count as f64 / group.len() as f64))
            .collect()
    };
    let (all, top, bottom) = (shares(&attempts), shares(upper), shares(lower));
    let share = |of: &HashMap<&str, f64>, id: &str| of.get(id).copied().unwrap_or(0.0);
    options
        .into_iter()
        .map(|(option, is_key)| OptionPull {
            option_id: option.to_string(),
            is_key,
            overall: share(&all, option),
            upper: share(&top, option),
            lower: share(&bottom, option),
        })
        .collect()
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
    let mut by_question: BTreeMap<(&str, &str), Presentations> = BTreeMap::new();
    for i in 0..exams.len() {
        let entry = by_question
            .entry((exams[i], questions[i]))
            .or_default()
            .entry(attempts[i])
            .or_insert((scores[i].unwrap_or(0.0), Vec::new()));
        entry.1.push((options[i], keys[i] == 1, chosen[i] == 1));
    }
    let mut rows: Vec<Vec<Value>> = Vec::new();
    let mut flagged = 0usize;
    for ((exam, question), presentations) in &by_question {
        if presentations.len() < params.item_min_n {
            continue;
        }
        for pull in option_pulls(presentations) {
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
                json!(presentations.len()),
                json!(pull.overall),
                json!(pull.upper),
                json!(pull.lower),
                json!(flag),
            ]);
        }
    }
    let questions_analysed = by_question
        .values()
        .filter(|p| p.len() >= params.item_min_n)
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
        let mut p = Presentations::new();
        for (id, score, a, b) in [
            ("k1", 0.25, false, true),
            ("k2", 0.5, false, true),
            ("k3", 0.75, true, false),
            ("k4", 1.0, true, true),
        ] {
            p.insert(id, (score, vec![("A", true, a), ("B", false, b)]));
        }
        let pulls = option_pulls(&p);
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
