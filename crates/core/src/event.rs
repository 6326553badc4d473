//! The attempt event, as it arrives: lenient on purpose.
//!
//! Every key may be missing, numbers and booleans may arrive as strings ("1.0", "false"),
//! unknown keys are ignored and unknown `user_result` values are kept verbatim. Deciding what
//! is *acceptable* (missing ids, unparsable timestamps) is the transform's job, not the parser's:
//! this model only refuses input whose shape is wrong (an array where an object belongs).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One finished exam attempt.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AttemptEvent {
    /// Record time: float epoch seconds, usually as a string ("1516717442.735266").
    #[serde(deserialize_with = "loose::text")]
    pub keen_timestamp: Option<String>,
    #[serde(deserialize_with = "loose::text")]
    pub keen_created_at: Option<String>,
    /// 24 hex characters: the event id.
    #[serde(deserialize_with = "loose::text")]
    pub keen_id: Option<String>,
    #[serde(deserialize_with = "loose::float")]
    pub max_attempts: Option<f64>,
    /// ISO-8601 UTC with milliseconds.
    #[serde(deserialize_with = "loose::text")]
    pub started_at: Option<String>,
    /// The exam; several ids can share one `exam_name`.
    #[serde(deserialize_with = "loose::text")]
    pub base_exam_id: Option<String>,
    /// One student's attempt.
    #[serde(deserialize_with = "loose::text")]
    pub user_exam_id: Option<String>,
    #[serde(deserialize_with = "loose::text")]
    pub exam_name: Option<String>,
    #[serde(deserialize_with = "loose::boolean")]
    pub certification: Option<bool>,
    pub sequences: Option<Sequences>,
}

/// The attempt's questions and its reported summary.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Sequences {
    #[serde(deserialize_with = "loose::list")]
    pub questions: Vec<Question>,
    #[serde(deserialize_with = "loose::int")]
    pub attempt: Option<i64>,
    /// Shared by every attempt at the same exam.
    #[serde(deserialize_with = "loose::text")]
    pub id: Option<String>,
    /// The reported summary: missing in test records, and not always consistent with `questions`.
    pub counts: Option<Counts>,
}

/// The summary counts as reported by the delivering service.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Counts {
    #[serde(deserialize_with = "loose::int")]
    pub incomplete: Option<i64>,
    #[serde(deserialize_with = "loose::int")]
    pub submitted: Option<i64>,
    #[serde(deserialize_with = "loose::int")]
    pub incorrect: Option<i64>,
    #[serde(deserialize_with = "loose::int")]
    pub correct: Option<i64>,
    #[serde(deserialize_with = "loose::int")]
    pub total: Option<i64>,
    #[serde(deserialize_with = "loose::int")]
    pub unanswered: Option<i64>,
    #[serde(deserialize_with = "loose::boolean")]
    pub all_correct: Option<bool>,
}

/// One question as presented in one attempt.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct Question {
    #[serde(deserialize_with = "loose::text")]
    pub id: Option<String>,
    #[serde(deserialize_with = "loose::boolean")]
    pub user_incomplete: Option<bool>,
    #[serde(deserialize_with = "loose::boolean")]
    pub user_correct: Option<bool>,
    #[serde(deserialize_with = "loose::boolean")]
    pub user_submitted: Option<bool>,
    #[serde(deserialize_with = "loose::result")]
    pub user_result: Option<UserResult>,
    #[serde(deserialize_with = "loose::list")]
    pub options: Vec<AnswerOption>,
}

/// One answer option of a question. Its key set varies (see `shared/data.md`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct AnswerOption {
    #[serde(deserialize_with = "loose::text")]
    pub id: Option<String>,
    /// Always present in real data; missing is read as not checked.
    #[serde(deserialize_with = "loose::boolean")]
    pub checked: Option<bool>,
    /// When it was last clicked: present even if it was later unchecked.
    #[serde(deserialize_with = "loose::text")]
    pub at: Option<String>,
    /// Only ever 1, only on checked options.
    #[serde(deserialize_with = "loose::int")]
    pub submitted: Option<i64>,
    /// Only ever `true`; absent means not a right answer.
    #[serde(deserialize_with = "loose::boolean")]
    pub correct: Option<bool>,
}

impl AnswerOption {
    pub fn is_checked(&self) -> bool {
        self.checked.unwrap_or(false)
    }
    pub fn is_correct(&self) -> bool {
        self.correct.unwrap_or(false)
    }
}

/// How the service graded a question. Unknown values are kept, not rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UserResult {
    Correct,
    Incorrect,
    MissedSome,
    Unanswered,
    Other(String),
}

impl UserResult {
    pub fn parse(value: &str) -> UserResult {
        match value {
            "correct" => UserResult::Correct,
            "incorrect" => UserResult::Incorrect,
            "missed_some" => UserResult::MissedSome,
            "unanswered" => UserResult::Unanswered,
            other => UserResult::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            UserResult::Correct => "correct",
            UserResult::Incorrect => "incorrect",
            UserResult::MissedSome => "missed_some",
            UserResult::Unanswered => "unanswered",
            UserResult::Other(other) => other,
        }
    }
}

/// Parse one event, naming the JSON path of the first value whose shape is wrong.
pub fn parse_event(bytes: &[u8]) -> Result<AttemptEvent, String> {
    // Fast path: plain serde. Only a failing record pays for path tracking, to name the field.
    if let Ok(event) = serde_json::from_slice(bytes) {
        return Ok(event);
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." || path.is_empty() {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// Deserializers that accept the variants seen in the wild and turn `null` into `None`.
mod loose {
    use super::*;

    fn any<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn invalid<E: serde::de::Error>(value: &Value, expected: &str) -> E {
        let shown = value.to_string();
        let shown = if shown.len() > 40 {
            format!("{}…", &shown[..shown.floor_char_boundary(40)])
        } else {
            shown
        };
        E::custom(format_args!("expected {expected}, found {shown}"))
    }

    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        match any(d)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            other => Err(invalid(&other, "a string")),
        }
    }

    pub fn float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        match any(d)? {
            Value::Null => Ok(None),
            Value::Number(n) => Ok(n.as_f64()),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| invalid(&Value::String(s), "a number")),
            other => Err(invalid(&other, "a number")),
        }
    }

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let value = any(d)?;
        let as_float = match &value {
            Value::Null => return Ok(None),
            Value::Number(n) => match n.as_i64() {
                Some(i) => return Ok(Some(i)),
                None => n.as_f64(),
            },
            Value::String(s) if s.trim().is_empty() => return Ok(None),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        };
        match as_float {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
            _ => Err(invalid(&value, "an integer")),
        }
    }

    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let value = any(d)?;
        match &value {
            Value::Null => Ok(None),
            Value::Bool(b) => Ok(Some(*b)),
            Value::Number(n) if n.as_f64() == Some(1.0) => Ok(Some(true)),
            Value::Number(n) if n.as_f64() == Some(0.0) => Ok(Some(false)),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "1.0" | "yes" => Ok(Some(true)),
                "false" | "0" | "0.0" | "no" => Ok(Some(false)),
                "" => Ok(None),
                _ => Err(invalid(&value, "a boolean")),
            },
            _ => Err(invalid(&value, "a boolean")),
        }
    }

    pub fn result<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UserResult>, D::Error> {
        Ok(text(d)?.map(|s| UserResult::parse(&s)))
    }

    pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_numbers_and_missing_keys() -> Result<(), String> {
        let event = parse_event(
            br#"{"keen_id":"a","max_attempts":"1.0","certification":"false","extra":{"x":[1]},
                 "sequences":{"attempt":"1","questions":[{"user_correct":"true","user_result":"partially",
                 "options":[{"id":"o","checked":1,"submitted":"1"}]}],"counts":{"total":"4.0","all_correct":0}}}"#,
        )?;
        assert_eq!(event.keen_id.as_deref(), Some("a"));
        assert_eq!(event.max_attempts, Some(1.0));
        assert_eq!(event.certification, Some(false));
        assert_eq!(event.user_exam_id, None);
        let sequences = event.sequences.ok_or("sequences")?;
        assert_eq!(sequences.attempt, Some(1));
        let counts = sequences.counts.ok_or("counts")?;
        assert_eq!(
            (counts.total, counts.all_correct, counts.correct),
            (Some(4), Some(false), None)
        );
        let question = &sequences.questions[0];
        assert_eq!(question.user_correct, Some(true));
        assert_eq!(
            question.user_result,
            Some(UserResult::Other("partially".into()))
        );
        assert!(question.options[0].is_checked());
        assert!(!question.options[0].is_correct());
        assert_eq!(question.options[0].submitted, Some(1));
        Ok(())
    }

    #[test]
    fn wrong_shapes_name_the_path() {
        let error = parse_event(br#"{"sequences":{"questions":[{"options":"none"}]}}"#).err();
        let error = error.unwrap_or_default();
        assert!(
            error.starts_with("sequences.questions[0].options"),
            "{error}"
        );
        let error = parse_event(br#"{"sequences":{"counts":{"total":"four"}}}"#)
            .err()
            .unwrap_or_default();
        assert!(
            error.contains("sequences.counts.total") && error.contains("\"four\""),
            "{error}"
        );
        assert!(parse_event(b"42").is_err());
        assert!(parse_event(b"{\"keen_id\":").is_err());
    }
}
