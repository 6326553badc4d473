//! From one raw payload to typed attempt and question rows: pure, no I/O, no Polars.
//!
//! A payload that is not a usable attempt is rejected with a reason naming the field and
//! value; the caller quarantines it. Grading comes from the question details ("details win");
//! the reported summary is kept and compared, never trusted.

use std::borrow::Cow;

use chrono::DateTime;
use examlake_core::event::{parse_event, Counts, UserResult};

use crate::config::DataQualityRules;
use crate::event_view::{CountsView, EventView, QuestionView};

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
    /// Every question's options, question after question (see [`ParsedAttempt::options_of`]).
    pub options: Vec<ParsedOption>,
    /// The question and option ids, back to back (see [`ParsedAttempt::text_of`]): one
    /// allocation per attempt instead of one per id (17M ids at 1M attempts).
    pub text: String,
}

impl ParsedAttempt {
    pub fn n_questions(&self) -> i32 {
        self.questions.len() as i32
    }

    /// A question's options.
    pub fn options_of(&self, question: &ParsedQuestion) -> &[ParsedOption] {
        let (start, end) = question.options;
        &self.options[start as usize..end as usize]
    }

    /// An id kept in this attempt's text.
    pub fn text_of(&self, span: Span) -> &str {
        &self.text[span.start as usize..(span.start + span.len) as usize]
    }
}

/// Where an id lies in its attempt's [`ParsedAttempt::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// Append `value` to `text` and say where it went.
    fn push(text: &mut String, value: &str) -> Span {
        let start = text.len() as u32;
        text.push_str(value);
        Span {
            start,
            len: value.len() as u32,
        }
    }
}

/// One question as answered in one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedQuestion {
    pub question_id: Span,
    /// 1-based position in the attempt as presented.
    pub position: i32,
    pub user_result: UserResult,
    pub is_correct: bool,
    pub is_incomplete: bool,
    pub is_submitted: bool,
    pub n_options: i32,
    pub n_checked: i32,
    pub n_correct_options: i32,
    /// The id of the first checked option that is not a right answer, if any.
    pub wrong_option_chosen: Option<Span>,
    pub first_click_us: Option<i64>,
    pub last_click_us: Option<i64>,
    /// Its options: `start..end` in [`ParsedAttempt::options`].
    pub options: (u32, u32),
}

/// One answer option as shown in one attempt, for distractor analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedOption {
    /// `None` when the option has no id (kept: it still counts as shown).
    pub option_id: Option<Span>,
    /// 1-based position as presented.
    pub position: i32,
    pub checked: bool,
    pub is_correct: bool,
    pub submitted: bool,
    pub clicked_at_us: Option<i64>,
}

/// Parse and check one payload: the strict reader first, the lenient one when the strict one
/// refuses (see [`crate::event_view`]); both end in the same derivation.
pub fn parse_attempt(payload: &[u8], rules: &DataQualityRules) -> Result<ParsedAttempt, String> {
    if let Some(view) = EventView::strict(payload) {
        return attempt_of(&view, payload, rules);
    }
    let event = parse_event(payload)?;
    attempt_of(&EventView::of(&event), payload, rules)
}

fn attempt_of(
    event: &EventView<'_>,
    payload: &[u8],
    rules: &DataQualityRules,
) -> Result<ParsedAttempt, String> {
    let keen_id = required(&event.keen_id, "keen_id")?;
    let user_exam_id = required(&event.user_exam_id, "user_exam_id")?;
    let base_exam_id = required(&event.base_exam_id, "base_exam_id")?;
    let exam_name = required(&event.exam_name, "exam_name")?;
    let started_at_us = iso_micros(required(&event.started_at, "started_at")?, "started_at")?;
    let submitted_at_us = record_time(event)?;
    let sequences = event.sequences.as_ref().ok_or("sequences is missing")?;
    if sequences.questions.is_empty() {
        return Err("sequences.questions is missing or empty".to_string());
    }
    let n_options = sequences.questions.iter().map(|q| q.options.len()).sum();
    let text_len = sequences
        .questions
        .iter()
        .flat_map(|q| q.id.iter().chain(q.options.iter().flat_map(|o| &o.id)))
        .map(|id| id.len())
        .sum();
    let mut options = Vec::with_capacity(n_options);
    let mut text = String::with_capacity(text_len);
    let questions = sequences
        .questions
        .iter()
        .enumerate()
        .map(|(idx, q)| parse_question(idx, q, &mut options, &mut text))
        .collect::<Result<Vec<_>, String>>()?;
    let count =
        |result: UserResult| questions.iter().filter(|q| q.user_result == result).count() as i32;
    let mut attempt = ParsedAttempt {
        is_test: rules.is_test(&exam_name, &base_exam_id),
        keen_id,
        user_exam_id,
        base_exam_id,
        sequence_id: sequences.id.as_deref().map(str::to_string),
        exam_name,
        started_at_us,
        submitted_at_us,
        n_correct: count(UserResult::Correct),
        n_incorrect: count(UserResult::Incorrect),
        n_missed_some: count(UserResult::MissedSome),
        n_unanswered: count(UserResult::Unanswered),
        reported: sequences.counts.as_ref().map(CountsView::to_counts),
        counts_consistent: None,
        content_hash: content_hash(payload),
        questions,
        options,
        text,
    };
    attempt.counts_consistent = attempt.reported.as_ref().map(|c| counts_tally(c, &attempt));
    Ok(attempt)
}

fn required(value: &Option<Cow<'_, str>>, field: &str) -> Result<String, String> {
    required_str(value, field).map(str::to_string)
}

/// The value, trimmed; an error naming `field` when it is missing or empty.
fn required_str<'v>(value: &'v Option<Cow<'_, str>>, field: &str) -> Result<&'v str, String> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(format!("{field} is empty")),
        None => Err(format!("{field} is missing")),
    }
}

fn iso_micros(value: String, field: &str) -> Result<i64, String> {
    rfc3339_micros(&value)
        .map_err(|e| format!("{field} {value:?} is not an ISO-8601 timestamp: {e}"))
}

/// An RFC 3339 timestamp as µs since the epoch. The usual form, `2018-01-23T14:23:19.082Z`, is
/// read by hand; anything else (offsets, leap seconds, lower case) goes to chrono, which also
/// words the error.
fn rfc3339_micros(value: &str) -> Result<i64, chrono::ParseError> {
    match usual_utc_micros(value.as_bytes()) {
        Some(micros) => Ok(micros),
        None => DateTime::parse_from_rfc3339(value).map(|t| t.timestamp_micros()),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` with a valid date and time; `None` for anything else.
fn usual_utc_micros(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b.len() == 21 || b.len() > 30 || b[b.len() - 1] != b'Z' {
        return None;
    }
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(at, sep)| b[at] != sep) {
        return None;
    }
    let number = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let fraction = &b[19..b.len() - 1];
    let micros = match fraction {
        [] => 0,
        [b'.', digits @ ..] => {
            let value = number(20, 20 + digits.len())?;
            let scale = 10i64.pow(digits.len().abs_diff(6) as u32);
            if digits.len() >= 6 {
                value / scale
            } else {
                value * scale
            }
        }
        _ => return None,
    };
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    valid.then(|| {
        let days = days_from_civil(year, month, day);
        ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + micros
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// keen_timestamp (or keen_created_at when it is missing) as µs: float epoch seconds.
fn record_time(event: &EventView<'_>) -> Result<i64, String> {
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

/// One question; its options are appended to `options` and its ids to `text`.
fn parse_question(
    idx: usize,
    q: &QuestionView<'_>,
    options: &mut Vec<ParsedOption>,
    text: &mut String,
) -> Result<ParsedQuestion, String> {
    let question_id = required_str(&q.id, &format!("sequences.questions[{idx}].id"))?;
    let question_id = Span::push(text, question_id);
    let user_result = match &q.user_result {
        Some(result) => UserResult::parse(result),
        None => result_from_flags(q),
    };
    let first = options.len();
    // The first checked option that is not a right answer (its id, if it has one).
    let mut wrong_chosen: Option<Option<Span>> = None;
    for (idx, o) in q.options.iter().enumerate() {
        let option_id = o.id.as_deref().map(|id| Span::push(text, id));
        if wrong_chosen.is_none() && o.is_checked() && !o.is_correct() {
            wrong_chosen = Some(option_id);
        }
        options.push(ParsedOption {
            option_id,
            position: idx as i32 + 1,
            checked: o.is_checked(),
            is_correct: o.is_correct(),
            submitted: o.submitted.is_some_and(|s| s > 0),
            clicked_at_us: o.at.as_deref().and_then(|at| rfc3339_micros(at).ok()),
        });
    }
    let shown = &options[first..];
    let clicks = || shown.iter().filter_map(|o| o.clicked_at_us);
    Ok(ParsedQuestion {
        question_id,
        position: idx as i32 + 1,
        is_correct: user_result == UserResult::Correct,
        is_incomplete: user_result == UserResult::MissedSome,
        is_submitted: q
            .user_submitted
            .unwrap_or(user_result != UserResult::Unanswered),
        user_result,
        n_options: shown.len() as i32,
        n_checked: shown.iter().filter(|o| o.checked).count() as i32,
        n_correct_options: shown.iter().filter(|o| o.is_correct).count() as i32,
        wrong_option_chosen: wrong_chosen.flatten(),
        first_click_us: clicks().min(),
        last_click_us: clicks().max(),
        options: (first as u32, options.len() as u32),
    })
}

/// When `user_result` is missing, grade from the flags the service also sends.
fn result_from_flags(q: &QuestionView<'_>) -> UserResult {
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

/// Equal bytes, equal hash (see [`examlake_core::fingerprint::payload_hash`]).
fn content_hash(payload: &[u8]) -> u64 {
    examlake_core::fingerprint::payload_hash(payload)
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
            first.questions[1]
                .wrong_option_chosen
                .map(|id| first.text_of(id)),
            Some("a35d0e80-8c49-415d-b8cb-c21a02627e2b")
        );
        // q0's third option: a right answer the student did not pick (no `at`, no `submitted`).
        let missed = &first.options_of(&first.questions[0])[2];
        assert_eq!(
            missed.option_id.map(|id| first.text_of(id)),
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
        let picked = &first.options_of(&first.questions[0])[0];
        assert_eq!(
            (picked.checked, picked.is_correct, picked.submitted),
            (true, true, true)
        );
        // q2 has an option clicked and then unchecked: its `at` still counts as a click.
        assert_eq!(
            (
                first.options_of(&first.questions[2])[0].checked,
                first.options_of(&first.questions[2])[0].clicked_at_us
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

    #[test]
    fn the_usual_timestamps_read_by_hand_equal_chrono() {
        let chrono = |v: &str| {
            DateTime::parse_from_rfc3339(v)
                .ok()
                .map(|t| t.timestamp_micros())
        };
        for value in [
            "2018-01-23T14:23:19.082Z",
            "2018-01-23T14:23:19Z",
            "2018-01-23T14:23:19.1Z",
            "2018-01-23T14:23:19.123456Z",
            "2018-01-23T14:23:19.123456789Z",
            "2016-02-29T23:59:59.999Z",
            "1969-12-31T23:59:59.5Z",
            "2000-03-01T00:00:00Z",
            "2100-12-31T12:00:00.000Z",
        ] {
            assert_eq!(usual_utc_micros(value.as_bytes()), chrono(value), "{value}");
        }
        // Not the usual form: left to chrono, which decides.
        for value in [
            "2017-02-29T00:00:00Z",
            "2018-13-01T00:00:00Z",
            "2018-01-23T24:00:00Z",
            "2018-01-23T14:23:60Z",
            "2018-01-23T14:23:19.Z",
            "2018-01-23T14:23:19+01:00",
            "2018-01-23 14:23:19Z",
            "2018-1-23T14:23:19Z",
            "yesterday",
        ] {
            assert_eq!(usual_utc_micros(value.as_bytes()), None, "{value}");
            assert_eq!(
                rfc3339_micros(value).ok(),
                chrono(value),
                "{value} through chrono"
            );
        }
    }

    #[test]
    fn strict_and_lenient_reading_give_the_same_attempt() -> Result<(), String> {
        let rules = DataQualityRules::standard();
        for record in real_records() {
            let strict = parse_attempt(&record, &rules)?;
            let event = parse_event(&record)?;
            let lenient = attempt_of(&EventView::of(&event), &record, &rules)?;
            assert_eq!(strict, lenient);
        }
        Ok(())
    }

    /// The lenient way alone: what `parse_attempt` falls back to.
    fn lenient(payload: &[u8], rules: &DataQualityRules) -> Result<ParsedAttempt, String> {
        let event = parse_event(payload)?;
        attempt_of(&EventView::of(&event), payload, rules)
    }

    fn generated(attempts: u64) -> Vec<serde_json::Value> {
        let config = examlake_synth::GenerateConfig {
            tenant: examlake_core::TenantId::parse("acme").expect("a valid tenant"),
            attempts,
            seed: 7,
            format: examlake_synth::Format::Ndjson,
            counts_mismatch_rate: 0.05,
        };
        let mut out = Vec::new();
        examlake_synth::generate(&config, &mut out, |_| {}).expect("generating in memory");
        out.split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).expect("generated JSON"))
            .collect()
    }

    #[test]
    fn strict_and_lenient_reading_agree_on_generated_and_mutated_records() {
        use serde_json::json;
        type Mutation = fn(&mut serde_json::Value);
        let mutations: [(&str, Mutation); 13] = [
            ("as generated", |_| {}),
            ("keen_timestamp as a number", |v| {
                v["keen_timestamp"] = json!(1516717442.5)
            }),
            ("a count as a string", |v| {
                v["sequences"]["counts"]["total"] = json!("4")
            }),
            ("a count as a float", |v| {
                v["sequences"]["counts"]["correct"] = json!(2.0)
            }),
            ("an unknown user_result", |v| {
                v["sequences"]["questions"][0]["user_result"] = json!("partial")
            }),
            ("no user_result", |v| {
                if let Some(q) = v["sequences"]["questions"][0].as_object_mut() {
                    q.remove("user_result");
                }
            }),
            ("questions null", |v| {
                v["sequences"]["questions"] = json!(null)
            }),
            ("certification unreadable", |v| {
                v["certification"] = json!("maybe")
            }),
            ("max_attempts a number", |v| v["max_attempts"] = json!(2)),
            ("checked as a string", |v| {
                v["sequences"]["questions"][0]["options"][0]["checked"] = json!("true")
            }),
            ("a blank keen_id", |v| v["keen_id"] = json!("  ")),
            ("an impossible date", |v| {
                v["started_at"] = json!("2017-02-29T00:00:00.000Z")
            }),
            ("a click with an offset", |v| {
                v["sequences"]["questions"][0]["options"][0]["at"] =
                    json!("2018-01-23T14:23:19.5+01:00")
            }),
        ];
        let rules = DataQualityRules::standard();
        let mut strict_hits = 0;
        for record in generated(400) {
            for (name, mutate) in &mutations {
                let mut value = record.clone();
                mutate(&mut value);
                let mut payload = serde_json::to_vec(&value).expect("serialising");
                // Escapes make the strict reader copy instead of borrow.
                if name == &"as generated" {
                    let text = String::from_utf8(payload).expect("UTF-8");
                    payload = text
                        .replacen("\"exam_name\":\"", "\"exam_name\":\"\\u0041", 1)
                        .into_bytes();
                }
                strict_hits += usize::from(EventView::strict(&payload).is_some());
                assert_eq!(
                    parse_attempt(&payload, &rules),
                    lenient(&payload, &rules),
                    "{name}: {}",
                    String::from_utf8_lossy(&payload)
                );
            }
        }
        // Most mutations stay within what the strict reader takes: the comparison is not vacuous.
        assert!(strict_hits > 400 * 6, "only {strict_hits} strict reads");
    }
}
