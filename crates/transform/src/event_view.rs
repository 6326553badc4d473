//! The attempt event borrowed from its payload, with strict types: the fast way in.
//!
//! Nearly every payload has the usual shape (strings as strings, numbers as numbers). Those are
//! read straight into this model, borrowing their strings from the payload, with no detour
//! through `serde_json::Value` and no copy of a string that is only looked at. A payload this
//! model refuses (a number as a string, a float count, a wrong shape) is read again by the
//! lenient [`examlake_core::event`] model and viewed through this one ([`EventView::of`]), so
//! both ways end in the same derivation and give the same rows or the same reason.
//!
//! This is exact because every strict type here accepts a subset of what the lenient reader
//! accepts, and reads it to the same value.

use std::borrow::Cow;

use std::marker::PhantomData;

use examlake_core::event::{AnswerOption, AttemptEvent, Counts, Question, Sequences};
use serde::de::{Error, Visitor};
use serde::{Deserialize, Deserializer};

/// One attempt. Fields the transform does not use are still read (`max_attempts`,
/// `certification`, `sequences.attempt`): a wrong shape there makes the lenient reader refuse
/// the record, so the strict one must not accept it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EventView<'a> {
    #[serde(borrow, deserialize_with = "text")]
    pub keen_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "text")]
    pub keen_created_at: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "text")]
    pub keen_id: Option<Cow<'a, str>>,
    pub max_attempts: Option<Accepted<Float>>,
    #[serde(borrow, deserialize_with = "text")]
    pub started_at: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "text")]
    pub base_exam_id: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "text")]
    pub user_exam_id: Option<Cow<'a, str>>,
    #[serde(borrow, deserialize_with = "text")]
    pub exam_name: Option<Cow<'a, str>>,
    pub certification: Option<Accepted<Boolean>>,
    #[serde(borrow)]
    pub sequences: Option<SequencesView<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SequencesView<'a> {
    #[serde(borrow)]
    pub questions: Vec<QuestionView<'a>>,
    pub attempt: Option<i64>,
    #[serde(borrow, deserialize_with = "text")]
    pub id: Option<Cow<'a, str>>,
    pub counts: Option<CountsView>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CountsView {
    pub incomplete: Option<i64>,
    pub submitted: Option<i64>,
    pub incorrect: Option<i64>,
    pub correct: Option<i64>,
    pub total: Option<i64>,
    pub unanswered: Option<i64>,
    pub all_correct: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuestionView<'a> {
    #[serde(borrow, deserialize_with = "text")]
    pub id: Option<Cow<'a, str>>,
    pub user_incomplete: Option<bool>,
    pub user_correct: Option<bool>,
    pub user_submitted: Option<bool>,
    #[serde(borrow, deserialize_with = "text")]
    pub user_result: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub options: Vec<OptionView<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OptionView<'a> {
    #[serde(borrow, deserialize_with = "text")]
    pub id: Option<Cow<'a, str>>,
    pub checked: Option<bool>,
    #[serde(borrow, deserialize_with = "text")]
    pub at: Option<Cow<'a, str>>,
    pub submitted: Option<i64>,
    pub correct: Option<bool>,
}

impl OptionView<'_> {
    pub fn is_checked(&self) -> bool {
        self.checked.unwrap_or(false)
    }
    pub fn is_correct(&self) -> bool {
        self.correct.unwrap_or(false)
    }
}

impl<'a> EventView<'a> {
    /// Read `payload` the strict way; `None` when it needs the lenient reader. The payload's
    /// UTF-8 is checked once, whole, instead of string by string.
    pub fn strict(payload: &'a [u8]) -> Option<EventView<'a>> {
        let text = std::str::from_utf8(payload).ok()?;
        serde_json::from_str(text).ok()
    }

    /// View an event the lenient reader produced.
    pub fn of(event: &'a AttemptEvent) -> EventView<'a> {
        EventView {
            keen_timestamp: borrowed(&event.keen_timestamp),
            keen_created_at: borrowed(&event.keen_created_at),
            keen_id: borrowed(&event.keen_id),
            max_attempts: None,
            started_at: borrowed(&event.started_at),
            base_exam_id: borrowed(&event.base_exam_id),
            user_exam_id: borrowed(&event.user_exam_id),
            exam_name: borrowed(&event.exam_name),
            certification: None,
            sequences: event.sequences.as_ref().map(SequencesView::of),
        }
    }
}

impl<'a> SequencesView<'a> {
    fn of(sequences: &'a Sequences) -> SequencesView<'a> {
        SequencesView {
            questions: sequences.questions.iter().map(QuestionView::of).collect(),
            attempt: sequences.attempt,
            id: borrowed(&sequences.id),
            counts: sequences.counts.as_ref().map(CountsView::of),
        }
    }
}

impl CountsView {
    fn of(counts: &Counts) -> CountsView {
        CountsView {
            incomplete: counts.incomplete,
            submitted: counts.submitted,
            incorrect: counts.incorrect,
            correct: counts.correct,
            total: counts.total,
            unanswered: counts.unanswered,
            all_correct: counts.all_correct,
        }
    }

    /// The summary as the core model holds it.
    pub fn to_counts(&self) -> Counts {
        Counts {
            incomplete: self.incomplete,
            submitted: self.submitted,
            incorrect: self.incorrect,
            correct: self.correct,
            total: self.total,
            unanswered: self.unanswered,
            all_correct: self.all_correct,
        }
    }
}

impl<'a> QuestionView<'a> {
    fn of(question: &'a Question) -> QuestionView<'a> {
        QuestionView {
            id: borrowed(&question.id),
            user_incomplete: question.user_incomplete,
            user_correct: question.user_correct,
            user_submitted: question.user_submitted,
            user_result: question
                .user_result
                .as_ref()
                .map(|r| Cow::Borrowed(r.as_str())),
            options: question.options.iter().map(OptionView::of).collect(),
        }
    }
}

impl<'a> OptionView<'a> {
    fn of(option: &'a AnswerOption) -> OptionView<'a> {
        OptionView {
            id: borrowed(&option.id),
            checked: option.checked,
            at: borrowed(&option.at),
            submitted: option.submitted,
            correct: option.correct,
        }
    }
}

/// A value the transform does not use but must check: it reads as whatever the lenient reader
/// accepts for `K` ([`Float`] or [`Boolean`]), and refuses the rest.
#[derive(Debug)]
pub struct Accepted<K>(PhantomData<K>);

/// A number, or a string holding one (`"1.0"`), or a blank string.
#[derive(Debug)]
pub struct Float;

/// A boolean, 1 or 0, or a string saying one (`"false"`, `"1"`, `"yes"`), or a blank string.
#[derive(Debug)]
pub struct Boolean;

/// What a kind of [`Accepted`] value takes besides its own JSON type.
pub trait Kind {
    fn takes_number(value: f64) -> bool;
    fn takes_bool() -> bool;
    fn takes_text(text: &str) -> bool;
}

impl Kind for Float {
    fn takes_number(_: f64) -> bool {
        true
    }
    fn takes_bool() -> bool {
        false
    }
    fn takes_text(text: &str) -> bool {
        let text = text.trim();
        text.is_empty() || text.parse::<f64>().is_ok()
    }
}

impl Kind for Boolean {
    fn takes_number(value: f64) -> bool {
        value == 1.0 || value == 0.0
    }
    fn takes_bool() -> bool {
        true
    }
    fn takes_text(text: &str) -> bool {
        matches!(
            text.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "1.0" | "yes" | "false" | "0" | "0.0" | "no" | ""
        )
    }
}

impl<'de, K: Kind> Deserialize<'de> for Accepted<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AcceptedVisitor::<K>(PhantomData))
    }
}

struct AcceptedVisitor<K>(PhantomData<K>);

impl<K: Kind> AcceptedVisitor<K> {
    fn decide<E: Error>(taken: bool) -> Result<Accepted<K>, E> {
        if taken {
            Ok(Accepted(PhantomData))
        } else {
            Err(E::custom("left to the lenient reader"))
        }
    }
}

impl<K: Kind> Visitor<'_> for AcceptedVisitor<K> {
    type Value = Accepted<K>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a scalar the lenient reader accepts")
    }
    fn visit_bool<E: Error>(self, _: bool) -> Result<Self::Value, E> {
        Self::decide(K::takes_bool())
    }
    fn visit_i64<E: Error>(self, v: i64) -> Result<Self::Value, E> {
        Self::decide(K::takes_number(v as f64))
    }
    fn visit_u64<E: Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::decide(K::takes_number(v as f64))
    }
    fn visit_f64<E: Error>(self, v: f64) -> Result<Self::Value, E> {
        Self::decide(K::takes_number(v))
    }
    fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
        Self::decide(K::takes_text(v))
    }
}

/// A string borrowed from the payload when it has no escapes (serde's own `Cow` impl always
/// copies inside an `Option`).
fn text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    d.deserialize_option(OptionalText)
}

struct OptionalText;

impl<'de> Visitor<'de> for OptionalText {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
    fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_string())))
    }
}

fn borrowed(value: &Option<String>) -> Option<Cow<'_, str>> {
    value.as_deref().map(Cow::Borrowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_shape_is_read_strictly_and_borrows_its_strings() {
        let payload = br#"{"keen_id":"k1","max_attempts":"1.0","certification":"false","exam_name":"Linux","sequences":{"questions":[{"id":"q","user_result":"correct","options":[{"id":"o","checked":true,"at":"2018-01-01T00:00:00.000Z"}]}],"counts":{"total":1}}}"#;
        let view = EventView::strict(payload).expect("the usual shape is strict");
        assert!(matches!(view.keen_id, Some(Cow::Borrowed("k1"))));
        let sequences = view.sequences.expect("sequences");
        assert_eq!(sequences.counts.and_then(|c| c.total), Some(1));
        assert!(sequences.questions[0].options[0].is_checked());
    }

    #[test]
    fn loose_values_are_left_to_the_lenient_reader() {
        for payload in [
            r#"{"keen_timestamp":1516717442.7}"#,
            r#"{"sequences":{"counts":{"total":"4"}}}"#,
            r#"{"sequences":{"questions":null}}"#,
            r#"{"certification":"maybe"}"#,
            r#"{"max_attempts":"one"}"#,
            r#"{"certification":2}"#,
            r#"{"sequences":{"questions":[{"options":[{"checked":1}]}]}}"#,
        ] {
            assert!(
                EventView::strict(payload.as_bytes()).is_none(),
                "{payload} must not be strict"
            );
        }
    }
}
