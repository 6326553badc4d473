//! From one raw payload to typed attempt and question rows: pure, no I/O, no Polars.
//!
//! A payload that is not a usable attempt is rejected with a reason naming the field and
//! value; the caller quarantines it. Grading comes from the question details ("details win");
//! the reported summary is kept and compared, never trusted.

use chrono::DateTime;
use examlake_core::event::{parse_event, AttemptEvent, Counts, Question, UserResult};

use crate::config::DataQualityRules;

/// One usable attempt, with its questions.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedAttempt {
    pub keen_id: String,
    pub user_exam_id: String,
    pub base_exam_id: String,
    pub sequence_id: Option<String>,
    pub exam_name: String,
    pub started_at_us: i64,
    /// From keen_timestamp: when the attempt was recorded.
    pub submitted_at_us: i64,
    pub n_correct: i32,
    pub n_incorrect: i32,
    pub n_missed_some: i32,
    pub n_unanswered: i32,
    pub reported: Option<Counts>,
    /// `None` when the summary is missing.
    pub counts_consistent: Option<bool>,
    pub is_test: bool,
    /// Identifies exact redeliveries: a hash of the payload bytes.
    pub content_hash: u64,
    pub questions: Vec<ParsedQuestion>,
}

impl ParsedAttempt {
    pub fn n_questions(&self) -> i32 {
        self.questions.len() as i32
    }
}

/// One question as answered in one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedQuestion {
    pub question_id: String,
    /// 1-based position in the attempt as presented.
    pub position: i32,
    pub user_result: String,
    pub is_correct: bool,
    pub is_incomplete: bool,
    pub is_submitted: bool,
    pub n_options: i32,
    pub n_checked: i32,
    pub n_correct_options: i32,
    /// The first checked option that is not a right answer, if any.
    pub wrong_option_chosen: Option<String>,
    pub first_click_us: Option<i64>,
    pub last_click_us: Option<i64>,
    pub options: Vec<ParsedOption>,
}

/// One answer option as shown in one attempt, for distractor analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedOption {
    /// `None` when the option has no id (kept: it still counts as shown).
    pub option_id: Option<String>,
    /// 1-based position as presented.
    pub position: i32,
    pub checked: bool,
    pub is_correct: bool,
    pub submitted: bool,
    pub clicked_at_us: Option<i64>,
}

/// Parse and check one payload.
pub fn parse_attempt(payload: &[u8], rules: &DataQualityRules) -> Result<ParsedAttempt, String> {
    let event = parse_event(payload)?;
    let keen_id = required(&event.keen_id, "keen_id")?;
    let user_exam_id = required(&event.user_exam_id, "user_exam_id")?;
    let base_exam_id = required(&event.base_exam_id, "base_exam_id")?;
    let exam_name = required(&event.exam_name, "exam_name")?;
    let started_at_us = iso_micros(required(&event.started_at, "started_at")?, "started_at")?;
    let submitted_at_us = record_time(&event)?;
    let sequences = event.sequences.as_ref().ok_or("sequences is missing")?;
    if sequences.questions.is_empty() {
        return Err("sequences.questions is missing or empty".to_string());
    }
    let questions = sequences
        .questions
        .iter()
        .enumerate()
        .map(|(idx, q)| parse_question(idx, q))
        .collect::<Result<Vec<_>, String>>()?;
    let count = |result: &str| questions.iter().filter(|q| q.user_result == result).count() as i32;
    let mut attempt = ParsedAttempt {
        is_test: rules.is_test(&exam_name, &base_exam_id),
        keen_id,
        user_exam_id,
        base_exam_id,
        sequence_id: sequences.id.clone(),
        exam_name,
        started_at_us,
        submitted_at_us,
        n_correct: count("correct"),
        n_incorrect: count("incorrect"),
        n_missed_some: count("missed_some"),
        n_unanswered: count("unanswered"),
        reported: sequences.counts.clone(),
        counts_consistent: None,
        content_hash: content_hash(payload),
        questions,
    };
    attempt.counts_consistent = attempt.reported.as_ref().map(|c| counts_tally(c, &attempt));
    Ok(attempt)
}

fn required(value: &Option<String>, field: &str) -> Result<String, String> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v.to_string()),
        Some(_) => Err(format!("{field} is empty")),
        None => Err(format!("{field} is missing")),
    }
}

fn iso_micros(value: String, field: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(&value)
        .map(|t| t.timestamp_micros())
        .map_err(|e| format!("{field} {value:?} is not an ISO-8601 timestamp: {e}"))
}

/// keen_timestamp (or keen_created_at when it is missing) as µs: float epoch seconds.
fn record_time(event: &AttemptEvent) -> Result<i64, String> {
    let (field, value) = match (&event.keen_timestamp, &event.keen_created_at) {
        (Some(ts), _) => ("keen_timestamp", ts),
        (None, Some(created)) => ("keen_created_at", created),
        (None, None) => return Err("keen_timestamp is missing".to_string()),
    };
    epoch_micros(value).ok_or_else(|| format!("{field} {value:?} is not epoch seconds"))
}

/// "1516717442.735266" → 1516717442735266, exactly (no float rounding).
pub fn epoch_micros(value: &str) -> Option<i64> {
    let value = value.trim();
    let (secs, frac) = value.split_once('.').unwrap_or((value, ""));
    if secs.is_empty()
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || secs.len() > 11
    {
        return None;
    }
    let micros: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
    Some(secs.parse::<i64>().ok()? * 1_000_000 + micros.parse::<i64>().ok()?)
}

fn parse_question(idx: usize, q: &Question) -> Result<ParsedQuestion, String> {
    let question_id = required(&q.id, &format!("sequences.questions[{idx}].id"))?;
    let user_result = match &q.user_result {
        Some(result) => result.as_str().to_string(),
        None => result_from_flags(q).as_str().to_string(),
    };
    let clicks: Vec<i64> = q
        .options
        .iter()
        .filter_map(|o| o.at.as_deref())
        .filter_map(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|t| t.timestamp_micros())
        .collect();
    Ok(ParsedQuestion {
        question_id,
        position: idx as i32 + 1,
        is_correct: user_result == "correct",
        is_incomplete: user_result == "missed_some",
        is_submitted: q.user_submitted.unwrap_or(user_result != "unanswered"),
        user_result,
        n_options: q.options.len() as i32,
        n_checked: q.options.iter().filter(|o| o.is_checked()).count() as i32,
        n_correct_options: q.options.iter().filter(|o| o.is_correct()).count() as i32,
        wrong_option_chosen: q
            .options
            .iter()
            .find(|o| o.is_checked() && !o.is_correct())
            .and_then(|o| o.id.clone()),
        first_click_us: clicks.iter().min().copied(),
        last_click_us: clicks.iter().max().copied(),
        options: q
            .options
            .iter()
            .enumerate()
            .map(|(idx, o)| ParsedOption {
                option_id: o.id.clone(),
                position: idx as i32 + 1,
                checked: o.is_checked(),
                is_correct: o.is_correct(),
                submitted: o.submitted.is_some_and(|s| s > 0),
                clicked_at_us: o
                    .at
                    .as_deref()
                    .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                    .map(|t| t.timestamp_micros()),
            })
            .collect(),
    })
}

/// When `user_result` is missing, grade from the flags the service also sends.
fn result_from_flags(q: &Question) -> UserResult {
    match (q.user_correct, q.user_incomplete, q.user_submitted) {
        (Some(true), _, _) => UserResult::Correct,
        (_, Some(true), _) => UserResult::MissedSome,
        (_, _, Some(false)) => UserResult::Unanswered,
        _ if q.options.iter().all(|o| !o.is_checked()) => UserResult::Unanswered,
        _ => UserResult::Incorrect,
    }
}

/// Whether the reported summary agrees with the details on every count it reports.
pub fn counts_tally(counts: &Counts, attempt: &ParsedAttempt) -> bool {
    let n = attempt.n_questions() as i64;
    let agrees = |reported: Option<i64>, actual: i64| reported.is_none_or(|r| r == actual);
    agrees(counts.total, n)
        && agrees(counts.correct, attempt.n_correct.into())
        && agrees(counts.incorrect, attempt.n_incorrect.into())
        && agrees(counts.incomplete, attempt.n_missed_some.into())
        && agrees(counts.unanswered, attempt.n_unanswered.into())
        && agrees(counts.submitted, n - i64::from(attempt.n_unanswered))
        && counts
            .all_correct
            .is_none_or(|all| all == (attempt.n_correct as i64 == n))
}

/// FNV-1a over the payload: equal bytes, equal hash.
fn content_hash(payload: &[u8]) -> u64 {
    examlake_core::fingerprint::fnv1a64(payload.iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 7 real records, read from `../shared` beside the repository (never copied into it).
    fn real_records() -> Vec<Vec<u8>> {
        // Resolved at run time: a test binary reused from a build in another checkout must not
        // look in that checkout.
        let manifest = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
        let path = format!("{manifest}/../../../shared/data/real_records.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
        let values: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap_or_default();
        values
            .iter()
            .map(|v| serde_json::to_vec(v).unwrap_or_default())
            .collect()
    }

    #[test]
    fn the_seven_real_records_parse_with_hand_checked_values() -> Result<(), String> {
        let records = real_records();
        assert_eq!(records.len(), 7);
        let rules = DataQualityRules::standard();
        let parsed: Vec<ParsedAttempt> = records
            .iter()
            .map(|r| parse_attempt(r, &rules))
            .collect::<Result<_, _>>()?;
        // Position 0: 4 questions, missed_some, incorrect, correct, correct (checked by hand).
        let first = &parsed[0];
        assert_eq!(first.keen_id, "5a6745820eb8ab00016be1f1");
        assert_eq!(first.n_questions(), 4);
        let results: Vec<&str> = first
            .questions
            .iter()
            .map(|q| q.user_result.as_str())
            .collect();
        assert_eq!(results, ["missed_some", "incorrect", "correct", "correct"]);
        assert_eq!(
            (
                first.n_correct,
                first.n_incorrect,
                first.n_missed_some,
                first.n_unanswered
            ),
            (2, 1, 1, 0)
        );
        assert_eq!(first.counts_consistent, Some(true));
        assert_eq!(first.submitted_at_us, 1_516_717_442_735_266);
        assert_eq!(first.started_at_us, 1_516_717_399_082_000);
        // q0: 3 options, 2 checked, all 3 right answers; q1: the wrong option a35d0e80… was chosen.
        assert_eq!(
            (
                first.questions[0].n_options,
                first.questions[0].n_checked,
                first.questions[0].n_correct_options
            ),
            (3, 2, 3)
        );
        assert_eq!(
            first.questions[1].wrong_option_chosen.as_deref(),
            Some("a35d0e80-8c49-415d-b8cb-c21a02627e2b")
        );
        // q0's third option: a right answer the student did not pick (no `at`, no `submitted`).
        let missed = &first.questions[0].options[2];
        assert_eq!(
            missed.option_id.as_deref(),
            Some("d1bf026f-554f-4543-bdd2-54dcf105b826")
        );
        assert_eq!(
            (
                missed.position,
                missed.checked,
                missed.is_correct,
                missed.submitted,
                missed.clicked_at_us
            ),
            (3, false, true, false, None)
        );
        let picked = &first.questions[0].options[0];
        assert_eq!(
            (picked.checked, picked.is_correct, picked.submitted),
            (true, true, true)
        );
        // q2 has an option clicked and then unchecked: its `at` still counts as a click.
        assert_eq!(
            (
                first.questions[2].options[0].checked,
                first.questions[2].options[0].clicked_at_us
            ),
            (false, Some(1_516_717_432_510_000))
        );
        assert_eq!(first.questions[2].n_checked, 2);
        assert_eq!(
            first.questions[2].first_click_us,
            Some(1_516_717_432_510_000)
        );
        // Position 3279: 8 questions, 6 correct, 2 incorrect; a 7-decimal keen_timestamp.
        let last = &parsed[6];
        assert_eq!(last.exam_name, "Learning Linux System Administration");
        assert_eq!(
            (last.n_questions(), last.n_correct, last.n_incorrect),
            (8, 6, 2)
        );
        assert_eq!(last.submitted_at_us, 1_513_766_386_584_505);
        assert_eq!(last.questions[5].n_options, 6);
        assert!(parsed
            .iter()
            .all(|p| p.counts_consistent == Some(true) && !p.is_test));
        Ok(())
    }

    #[test]
    fn counts_that_do_not_tally_are_flagged_and_details_win() -> Result<(), String> {
        let mut value: serde_json::Value =
            serde_json::from_slice(&real_records()[0]).map_err(|e| e.to_string())?;
        value["sequences"]["counts"]["correct"] = serde_json::json!(3);
        let parsed = parse_attempt(
            &serde_json::to_vec(&value).map_err(|e| e.to_string())?,
            &DataQualityRules::standard(),
        )?;
        assert_eq!(parsed.counts_consistent, Some(false));
        assert_eq!(parsed.n_correct, 2);
        Ok(())
    }

    #[test]
    fn unusable_attempts_say_why() {
        let rules = DataQualityRules::standard();
        let reason = |json: &str| {
            parse_attempt(json.as_bytes(), &rules)
                .err()
                .unwrap_or_default()
        };
        assert_eq!(reason(r#"{"user_exam_id":"u"}"#), "keen_id is missing");
        let bad_time = r#"{"keen_id":"k","user_exam_id":"u","base_exam_id":"b","exam_name":"e","started_at":"yesterday","keen_timestamp":"1.5"}"#;
        assert!(
            reason(bad_time).starts_with("started_at \"yesterday\" is not an ISO-8601 timestamp")
        );
        let no_questions = r#"{"keen_id":"k","user_exam_id":"u","base_exam_id":"b","exam_name":"e","started_at":"2018-01-01T00:00:00.000Z","keen_timestamp":"15"}"#;
        assert_eq!(reason(no_questions), "sequences is missing");
        let bad_ts = r#"{"keen_id":"k","user_exam_id":"u","base_exam_id":"b","exam_name":"e","started_at":"2018-01-01T00:00:00.000Z","keen_timestamp":"1e9"}"#;
        assert_eq!(
            reason(bad_ts),
            "keen_timestamp \"1e9\" is not epoch seconds"
        );
    }

    #[test]
    fn epoch_micros_is_exact() {
        assert_eq!(
            epoch_micros("1516717442.735266"),
            Some(1_516_717_442_735_266)
        );
        assert_eq!(
            epoch_micros("1516743098.56811"),
            Some(1_516_743_098_568_110)
        );
        assert_eq!(epoch_micros("15"), Some(15_000_000));
        assert_eq!(epoch_micros("-1"), None);
        assert_eq!(epoch_micros(""), None);
    }
}
