//! The ingest-time check of one record: pure, no I/O.
//!
//! Ingest lands anything that is one JSON object; whether the object is a *usable attempt*
//! (ids present, timestamps parsable) is decided later by the transform, which quarantines with
//! its own reasons. That keeps raw data complete and replayable.

/// Records longer than this are quarantined (a real attempt is a few kB; the largest, 20 questions, ~15 kB).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// `Ok` when `bytes` is a single JSON object of at most `max_bytes`; else the reason.
pub fn check_record(bytes: &[u8], max_bytes: usize) -> Result<(), String> {
    if bytes.len() > max_bytes {
        return Err(format!(
            "record of {} bytes exceeds the {max_bytes}-byte limit",
            bytes.len()
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("empty record".to_string());
    }
    // The SIMD check first (several times faster); std's only to locate an error.
    if simdutf8::basic::from_utf8(bytes).is_err() {
        let at = std::str::from_utf8(bytes)
            .err()
            .map_or(0, |e| e.valid_up_to());
        return Err(format!("invalid UTF-8 at byte {at}"));
    }
    let first = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied()
        .unwrap_or(b' ');
    if first != b'{' {
        let shown: String = String::from_utf8_lossy(&bytes[..bytes.len().min(20)]).into_owned();
        return Err(format!("not a JSON object: starts with {shown:?}"));
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map(|_| ())
        .map_err(|error| format!("invalid JSON: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_problem() {
        let reason = |bytes: &[u8]| check_record(bytes, 100).err().unwrap_or_default();
        assert!(check_record(br#"{"a":1}"#, 100).is_ok());
        assert_eq!(reason(b""), "empty record");
        assert_eq!(reason(b"  \t"), "empty record");
        assert_eq!(reason(b"42"), "not a JSON object: starts with \"42\"");
        assert!(reason(br#"{"a":"#).starts_with("invalid JSON: EOF while parsing"));
        assert_eq!(reason(b"{\"a\":\"\xff\"}"), "invalid UTF-8 at byte 6");
        assert!(reason(br#"{"a":1} {"b":2}"#).starts_with("invalid JSON: trailing characters"));
        assert_eq!(
            reason(&[b' '; 101]),
            "record of 101 bytes exceeds the 100-byte limit"
        );
    }
}
