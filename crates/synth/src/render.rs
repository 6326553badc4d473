//! Writing attempts as JSON, byte for byte in the shape the service sends
//! (key order, strings for numbers and booleans, the option key variants).

use std::fmt::Write as _;
use std::io::Write;

use crate::exams::{iso_ms, AnsweredQuestion, Attempt};
use crate::Format;

/// NDJSON lines or one JSON array, written one attempt at a time.
pub struct Framing<'w, W: Write> {
    format: Format,
    out: &'w mut W,
    written: u64,
    line: String,
}

impl<'w, W: Write> Framing<'w, W> {
    pub fn new(format: Format, out: &'w mut W) -> Self {
        Framing {
            format,
            out,
            written: 0,
            line: String::with_capacity(8 * 1024),
        }
    }

    /// Write one attempt; returns the bytes written.
    pub fn write(&mut self, attempt: &Attempt) -> std::io::Result<u64> {
        self.line.clear();
        if self.format == Format::JsonArray {
            self.line
                .push_str(if self.written == 0 { "[\n" } else { ",\n" });
        }
        render(attempt, &mut self.line);
        if self.format == Format::Ndjson {
            self.line.push('\n');
        }
        self.out.write_all(self.line.as_bytes())?;
        self.written += 1;
        Ok(self.line.len() as u64)
    }

    pub fn finish(self) -> std::io::Result<()> {
        if self.format == Format::JsonArray {
            self.out
                .write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()
    }
}

/// keen_timestamp as the service writes it: float epoch seconds with 5 to 7 decimals.
fn keen_timestamp(attempt: &Attempt) -> String {
    let secs = attempt.keen_micros.div_euclid(1_000_000);
    let micros = attempt.keen_micros.rem_euclid(1_000_000);
    let mut text = format!("{secs}.{micros:06}");
    match attempt.keen_extra_digit {
        Some(digit) => text.push(char::from(b'0' + digit)),
        None => {
            while text.ends_with('0') && !text.ends_with(".0") {
                text.pop();
            }
        }
    }
    text
}

fn render(a: &Attempt, out: &mut String) {
    let ts = keen_timestamp(a);
    let name = serde_json::to_string(a.exam_name).unwrap_or_else(|_| "\"\"".to_string());
    let _ = write!(
        out,
        r#"{{"keen_timestamp":"{ts}","max_attempts":"1.0","started_at":"{}","base_exam_id":"{}","user_exam_id":"{}","sequences":{{"questions":["#,
        iso_ms(a.started_ms),
        a.base_exam_id,
        a.user_exam_id
    );
    for (i, q) in a.questions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        render_question(q, out);
    }
    let _ = write!(out, r#"],"attempt":1,"id":"{}""#, a.sequence_id);
    if let Some(c) = &a.counts {
        let _ = write!(
            out,
            r#","counts":{{"incomplete":{},"submitted":{},"incorrect":{},"all_correct":{},"correct":{},"total":{},"unanswered":{}}}"#,
            c.incomplete, c.submitted, c.incorrect, c.all_correct, c.correct, c.total, c.unanswered
        );
    }
    let _ = write!(
        out,
        r#"}},"keen_created_at":"{ts}","certification":"false","keen_id":"{}","exam_name":{name}}}"#,
        a.keen_id
    );
}

fn render_question(q: &AnsweredQuestion, out: &mut String) {
    let _ = write!(
        out,
        r#"{{"user_incomplete":{},"user_correct":{},"options":["#,
        q.result == "missed_some",
        q.result == "correct"
    );
    for (i, o) in q.options.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"{{"checked":{}"#, o.checked);
        if let Some(at) = o.at_ms {
            let _ = write!(out, r#","at":"{}""#, iso_ms(at));
        }
        let _ = write!(out, r#","id":"{}""#, o.id);
        if o.checked {
            out.push_str(r#","submitted":1"#);
        }
        if o.correct {
            out.push_str(r#","correct":true"#);
        }
        out.push('}');
    }
    out.push_str("],");
    if !q.omit_submitted_key {
        let _ = write!(out, r#""user_submitted":{},"#, q.result != "unanswered");
    }
    let _ = write!(out, r#""id":"{}","user_result":"{}"}}"#, q.id, q.result);
}
