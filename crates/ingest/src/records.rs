//! Splitting an input stream into records without interpreting them.
//!
//! Two framings: NDJSON (one record per line; `\n` or `\r\n`) and one JSON array (one record per
//! element, found by tracking strings and nesting, so the element's bytes are kept exactly).
//! The framing is detected from the first non-whitespace byte: `[` means a JSON array.

use std::io::{self, BufRead};

/// One record as read: its 1-based position (line or element number) and its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    pub position: i64,
    pub bytes: Vec<u8>,
    /// Set when the framing itself is broken here (a truncated array), so the record is quarantined.
    pub framing_error: Option<String>,
}

/// Reads records one at a time; memory holds one record, not the input.
pub enum Records<R: BufRead> {
    Lines { reader: R, position: i64 },
    Array(ArrayElements<R>),
}

impl<R: BufRead> Records<R> {
    /// Detect the framing from the first non-whitespace byte.
    pub fn detect(mut reader: R) -> io::Result<Self> {
        loop {
            let buffer = reader.fill_buf()?;
            let Some(&first) = buffer.first() else {
                return Ok(Records::Lines {
                    reader,
                    position: 0,
                });
            };
            if first.is_ascii_whitespace() && first != b'\n' {
                reader.consume(1);
                continue;
            }
            return Ok(if first == b'[' {
                reader.consume(1);
                Records::Array(ArrayElements {
                    reader,
                    position: 0,
                    done: false,
                })
            } else {
                Records::Lines {
                    reader,
                    position: 0,
                }
            });
        }
    }

    /// The next record, `None` at the end of input.
    pub fn next_record(&mut self) -> io::Result<Option<InputRecord>> {
        match self {
            Records::Lines { reader, position } => next_line(reader, position),
            Records::Array(elements) => elements.next_element(),
        }
    }
}

fn next_line<R: BufRead>(reader: &mut R, position: &mut i64) -> io::Result<Option<InputRecord>> {
    let mut bytes = Vec::new();
    if reader.read_until(b'\n', &mut bytes)? == 0 {
        return Ok(None);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    *position += 1;
    Ok(Some(InputRecord {
        position: *position,
        bytes,
        framing_error: None,
    }))
}

/// The elements of one top-level JSON array.
pub struct ArrayElements<R: BufRead> {
    reader: R,
    position: i64,
    done: bool,
}

impl<R: BufRead> ArrayElements<R> {
    fn next_element(&mut self) -> io::Result<Option<InputRecord>> {
        if self.done {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        let mut depth = 0usize;
        let (mut in_string, mut escaped) = (false, false);
        loop {
            let buffer = self.reader.fill_buf()?;
            if buffer.is_empty() {
                self.done = true;
                let trimmed = trim(&bytes);
                if trimmed.is_empty() && self.position == 0 {
                    return Ok(None);
                }
                self.position += 1;
                return Ok(Some(InputRecord {
                    position: self.position,
                    bytes: trimmed.to_vec(),
                    framing_error: Some("truncated JSON array: input ended before ']'".to_string()),
                }));
            }
            let mut consumed = 0;
            let mut end = None;
            for &byte in buffer {
                consumed += 1;
                if in_string {
                    match (escaped, byte) {
                        (true, _) => escaped = false,
                        (false, b'\\') => escaped = true,
                        (false, b'"') => in_string = false,
                        _ => {}
                    }
                } else {
                    match byte {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' if depth > 0 => depth -= 1,
                        b']' => {
                            end = Some(true);
                            break;
                        }
                        b',' if depth == 0 => {
                            end = Some(false);
                            break;
                        }
                        _ => {}
                    }
                }
                bytes.push(byte);
            }
            self.reader.consume(consumed);
            if let Some(closed) = end {
                self.done = closed;
                let trimmed = trim(&bytes);
                if closed && trimmed.is_empty() && self.position == 0 {
                    return Ok(None);
                }
                self.position += 1;
                return Ok(Some(InputRecord {
                    position: self.position,
                    bytes: trimmed.to_vec(),
                    framing_error: None,
                }));
            }
        }
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Vec<(i64, String, bool)> {
        let mut records = Records::detect(input).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(r) = records.next_record().unwrap_or_else(|e| panic!("{e}")) {
            out.push((
                r.position,
                String::from_utf8_lossy(&r.bytes).into_owned(),
                r.framing_error.is_some(),
            ));
        }
        out
    }

    #[test]
    fn lines_keep_bytes_and_count_empty_lines() {
        let got = read_all(b"{\"a\":1}\r\n\n{\"b\":\"x\\ny\"}\n");
        assert_eq!(
            got,
            vec![
                (1, "{\"a\":1}".into(), false),
                (2, "".into(), false),
                (3, "{\"b\":\"x\\ny\"}".into(), false)
            ]
        );
    }

    #[test]
    fn array_elements_survive_brackets_in_strings() {
        let got = read_all(b" [\n{\"a\":\"],[{\\\"\"},\n {\"b\":[1,{\"c\":2}]}, 42 ]\n");
        assert_eq!(
            got,
            vec![
                (1, "{\"a\":\"],[{\\\"\"}".into(), false),
                (2, "{\"b\":[1,{\"c\":2}]}".into(), false),
                (3, "42".into(), false)
            ]
        );
        assert!(read_all(b"[]").is_empty());
    }

    #[test]
    fn truncated_array_keeps_the_tail() {
        let got = read_all(b"[{\"a\":1},{\"b\":");
        assert_eq!(
            got,
            vec![(1, "{\"a\":1}".into(), false), (2, "{\"b\":".into(), true)]
        );
    }
}
