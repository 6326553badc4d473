//! `option_counts`: per (exam, question, attempt score), how many attempts were shown the question
//! and each of its options, and how many chose it. One part per part of `options`, derived from it
//! and from the same part's `assessments` (an attempt's options and its score always share a part).
//!
//! Distractor analysis needs only these counts: the upper and lower 27% of attempts are cut by
//! score, so counting attempts per score level loses nothing. At 1M attempts this is a few
//! hundred thousand rows instead of the 16.7M rows of `options`.
//!
//! Rows: the question's own row has `option_id` and `is_key` null, `attempts` = attempts shown the
//! question and `chosen` = those that chose at least one option; each option's row counts the
//! attempts shown that option and those that chose it. An option listed twice in one attempt
//! counts once, chosen if either listing is checked; it is the key if any listing says so.

//!
//! Written by hand rather than as Polars group-bys: grouping 1.7M option rows per 100k-attempt
//! part by four string keys cost 1.4–4 s and 600 MB per part in Polars; interning the keys as
//! the rows stream by costs a fraction of that.

use examlake_core::interner::Interner;
use examlake_core::schema::{assessments as a, option_counts as c, options as o};
use foldhash::{HashMap, HashMapExt};
use polars::prelude::*;

/// Per-score counts of one part's questions and options.
pub fn option_counts(assessments: &DataFrame, options: &DataFrame) -> PolarsResult<DataFrame> {
    let scores: HashMap<&str, f64> = strs(assessments, a::KEEN_ID)?
        .into_iter()
        .zip(assessments.column(a::SCORE)?.f64()?.iter())
        .filter_map(|(keen_id, score)| Some((keen_id?, score.unwrap_or(0.0))))
        .collect();
    let keen_ids = strs(options, o::KEEN_ID)?;
    let exams = strs(options, o::EXAM_NAME)?;
    let questions = strs(options, o::QUESTION_ID)?;
    let option_ids = strs(options, o::OPTION_ID)?;
    let keys = bools(options, o::IS_CORRECT)?;
    let checked = bools(options, o::CHECKED)?;

    let mut question_ids: Interner<(&str, &str)> = Interner::default();
    let mut option_keys: Interner<(u32, &str)> = Interner::default();
    // Each question's first options seen, by question id: a handful each, so a look along the
    // list finds an option's id without hashing its 36-character id on every row.
    let mut options_of: Vec<Vec<(&str, u32)>> = Vec::new();
    // This attempt's shown options: (question, option) -> (is key, chosen); repeats merge.
    let mut shown: Vec<(u32, u32, bool, bool)> = Vec::new();
    // (question, score) -> (attempts, chose any); (option, score) -> (key, attempts, chosen).
    let mut per_question: HashMap<(u32, u64), (u32, u32)> = HashMap::new();
    let mut per_option: HashMap<(u32, u64), (bool, u32, u32)> = HashMap::new();
    for attempt in &attempt_rows(&keen_ids) {
        let Some(score) = keen_ids[attempt[0]].and_then(|id| scores.get(id)) else {
            continue;
        };
        let score_bits = score.to_bits();
        shown.clear();
        // A question's options are rows next to each other: intern it once per run of rows.
        let mut last_question: Option<((&str, &str), u32)> = None;
        for &row in attempt {
            let (Some(exam), Some(question), Some(option_id)) =
                (exams[row], questions[row], option_ids[row])
            else {
                continue;
            };
            let question = match last_question {
                Some((key, id)) if key == (exam, question) => id,
                _ => {
                    let id = question_ids.id((exam, question));
                    last_question = Some(((exam, question), id));
                    id
                }
            };
            let option = option_id_of(&mut options_of, &mut option_keys, question, option_id);
            shown.push((question, option, keys[row], checked[row]));
        }
        shown.sort_unstable_by_key(|&(question, option, _, _)| (question, option));
        for same_question in shown.chunk_by(|x, y| x.0 == y.0) {
            let mut chose_any = false;
            for same_option in same_question.chunk_by(|x, y| x.1 == y.1) {
                let is_key = same_option.iter().any(|x| x.2);
                let chosen = same_option.iter().any(|x| x.3);
                chose_any |= chosen;
                let entry = per_option
                    .entry((same_option[0].1, score_bits))
                    .or_default();
                entry.0 |= is_key;
                entry.1 += 1;
                entry.2 += u32::from(chosen);
            }
            let entry = per_question
                .entry((same_question[0].0, score_bits))
                .or_default();
            entry.0 += 1;
            entry.1 += u32::from(chose_any);
        }
    }
    counts_frame(&question_ids, &option_keys, per_question, per_option)
}

/// The id of `option_id` of `question`, from the question's list of options seen so far.
fn option_id_of<'a>(
    options_of: &mut Vec<Vec<(&'a str, u32)>>,
    option_keys: &mut Interner<(u32, &'a str)>,
    question: u32,
    option_id: &'a str,
) -> u32 {
    let question_idx = question as usize;
    if options_of.len() <= question_idx {
        options_of.resize_with(question_idx + 1, Vec::new);
    }
    let seen = &mut options_of[question_idx];
    if let Some(&(_, id)) = seen.iter().find(|(seen_id, _)| *seen_id == option_id) {
        return id;
    }
    let id = option_keys.id((question, option_id));
    // Options whose ids change from attempt to attempt would make the list long: past a
    // question's usual handful, the interner's hash alone answers.
    if seen.len() < MAX_LISTED_OPTIONS {
        seen.push((option_id, id));
    }
    id
}

/// Options listed per question before lookups go to the hash map only.
const MAX_LISTED_OPTIONS: usize = 16;

/// The rows of each attempt: runs of equal keen_id (the options of an attempt are written next to
/// each other); if an attempt's rows were ever split, they are regrouped by sorting.
fn attempt_rows(keen_ids: &[Option<&str>]) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for (row, keen_id) in keen_ids.iter().enumerate() {
        match runs.last_mut() {
            Some(run) if keen_ids[run[0]] == *keen_id => run.push(row),
            _ => runs.push(vec![row]),
        }
    }
    let mut starts: Vec<Option<&str>> = runs.iter().map(|run| keen_ids[run[0]]).collect();
    starts.sort_unstable();
    if starts.windows(2).all(|w| w[0] != w[1]) {
        return runs;
    }
    let mut rows: Vec<usize> = (0..keen_ids.len()).collect();
    rows.sort_by_key(|&row| keen_ids[row]);
    rows.chunk_by(|&x, &y| keen_ids[x] == keen_ids[y])
        .map(<[usize]>::to_vec)
        .collect()
}

/// The table: question rows (no option) then option rows, sorted by exam, question, option and
/// score, so re-deriving a part gives the same file.
fn counts_frame(
    question_ids: &Interner<(&str, &str)>,
    option_keys: &Interner<(u32, &str)>,
    per_question: HashMap<(u32, u64), (u32, u32)>,
    per_option: HashMap<(u32, u64), (bool, u32, u32)>,
) -> PolarsResult<DataFrame> {
    type Row<'a> = (
        &'a str,
        &'a str,
        Option<&'a str>,
        f64,
        Option<bool>,
        u32,
        u32,
    );
    let mut rows: Vec<Row> = Vec::with_capacity(per_question.len() + per_option.len());
    for ((question, score), (attempts, chosen)) in per_question {
        let (exam, question_id) = question_ids.keys()[question as usize];
        rows.push((
            exam,
            question_id,
            None,
            f64::from_bits(score),
            None,
            attempts,
            chosen,
        ));
    }
    for ((option, score), (is_key, attempts, chosen)) in per_option {
        let (question, option_id) = option_keys.keys()[option as usize];
        let (exam, question_id) = question_ids.keys()[question as usize];
        let score = f64::from_bits(score);
        rows.push((
            exam,
            question_id,
            Some(option_id),
            score,
            Some(is_key),
            attempts,
            chosen,
        ));
    }
    rows.sort_by(|x, y| {
        (x.0, x.1, x.2)
            .cmp(&(y.0, y.1, y.2))
            .then(x.3.total_cmp(&y.3))
    });
    DataFrame::new(
        rows.len(),
        vec![
            Column::new(
                c::EXAM_NAME.into(),
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            ),
            Column::new(
                c::QUESTION_ID.into(),
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            ),
            Column::new(
                c::OPTION_ID.into(),
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            ),
            Column::new(
                c::SCORE.into(),
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            ),
            Column::new(
                c::IS_KEY.into(),
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            ),
            Column::new(
                c::ATTEMPTS.into(),
                rows.iter().map(|r| r.5).collect::<Vec<_>>(),
            ),
            Column::new(
                c::CHOSEN.into(),
                rows.iter().map(|r| r.6).collect::<Vec<_>>(),
            ),
        ],
    )
}

fn strs<'a>(df: &'a DataFrame, name: &str) -> PolarsResult<Vec<Option<&'a str>>> {
    Ok(df.column(name)?.str()?.iter().collect())
}

/// A boolean column, null read as false.
fn bools(df: &DataFrame, name: &str) -> PolarsResult<Vec<bool>> {
    Ok(df
        .column(name)?
        .bool()?
        .iter()
        .map(Option::unwrap_or_default)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_hand() -> PolarsResult<()> {
        // Two attempts at score 0.5 and one at 1.0 on question Q (options A key, B).
        // k1 (0.5) chose B; k2 (0.5) chose A, with A listed twice (once unchecked);
        // k3 (1.0) chose A. An option with no id is not counted.
        let assessments = df![
            a::KEEN_ID => ["k1", "k2", "k3"],
            a::SCORE => [Some(0.5), Some(0.5), Some(1.0)],
        ]?;
        let options = df![
            o::KEEN_ID => ["k1", "k1", "k2", "k2", "k2", "k3", "k3", "k3"],
            o::EXAM_NAME => ["E"; 8],
            o::QUESTION_ID => ["Q"; 8],
            o::OPTION_ID => [Some("A"), Some("B"), Some("A"), Some("A"), Some("B"), Some("A"), Some("B"), None],
            o::IS_CORRECT => [true, false, true, true, false, true, false, false],
            o::CHECKED => [false, true, true, false, false, true, false, true],
        ]?;
        let counts = option_counts(&assessments, &options)?;
        let expected = df![
            c::EXAM_NAME => ["E"; 6],
            c::QUESTION_ID => ["Q"; 6],
            c::OPTION_ID => [None, None, Some("A"), Some("A"), Some("B"), Some("B")],
            c::SCORE => [0.5, 1.0, 0.5, 1.0, 0.5, 1.0],
            c::IS_KEY => [None, None, Some(true), Some(true), Some(false), Some(false)],
            c::ATTEMPTS => [2u32, 1, 2, 1, 2, 1],
            c::CHOSEN => [2u32, 1, 1, 1, 1, 0],
        ]?;
        assert!(counts.equals_missing(&expected), "{counts}");
        Ok(())
    }

    #[test]
    fn options_whose_ids_change_every_attempt_are_still_counted_once_each() -> PolarsResult<()> {
        // 40 attempts (score 1.0) at question Q, each shown its own option plus the shared key K
        // twice (repeats merge): more options per question than the short list keeps.
        let n = 40;
        let keen_ids: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        let assessments = df![
            a::KEEN_ID => keen_ids.clone(),
            a::SCORE => vec![1.0; n],
        ]?;
        let rows =
            |f: &dyn Fn(usize) -> [String; 3]| -> Vec<String> { (0..n).flat_map(f).collect() };
        let options = df![
            o::KEEN_ID => rows(&|i| [keen_ids[i].clone(), keen_ids[i].clone(), keen_ids[i].clone()]),
            o::EXAM_NAME => vec!["E"; 3 * n],
            o::QUESTION_ID => vec!["Q"; 3 * n],
            o::OPTION_ID => rows(&|i| [format!("own-{i:02}"), "K".to_string(), "K".to_string()]),
            o::IS_CORRECT => (0..n).flat_map(|_| [false, true, true]).collect::<Vec<_>>(),
            o::CHECKED => (0..n).flat_map(|_| [true, false, false]).collect::<Vec<_>>(),
        ]?;
        let counts = option_counts(&assessments, &options)?;
        assert_eq!(counts.height(), 1 + 1 + n, "{counts}");
        let column = |name: &str| -> PolarsResult<Vec<u32>> {
            Ok(counts.column(name)?.u32()?.into_no_null_iter().collect())
        };
        let (attempts, chosen) = (column(c::ATTEMPTS)?, column(c::CHOSEN)?);
        // Sorted: the question's row (no option), then K, then own-00 .. own-39.
        assert_eq!((attempts[0], chosen[0]), (n as u32, n as u32));
        assert_eq!((attempts[1], chosen[1]), (n as u32, 0));
        assert!(attempts[2..].iter().all(|&a| a == 1));
        assert!(chosen[2..].iter().all(|&c| c == 1));
        Ok(())
    }
}
