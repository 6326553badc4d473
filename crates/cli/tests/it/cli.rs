//! Help text and usage errors: every command explains itself; mistakes exit 2 with one line.

use super::{examlake, temp};

#[test]
fn every_command_has_help() {
    let dir = temp();
    for command in [
        &["--help"][..],
        &["generate", "--help"],
        &["ingest", "--help"],
        &["transform", "--help"],
        &["report", "--help"],
        &["run", "--help"],
        &["demo", "--help"],
    ] {
        let out = examlake(dir.path(), command);
        assert!(out.status.success(), "{command:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage: examlake"), "{command:?}: {text}");
        assert!(
            text.lines().count() > 5,
            "{command:?} help is too thin: {text}"
        );
    }
}

fn assert_usage_error(args: &[&str], expected: &str) {
    let dir = temp();
    std::fs::write(dir.path().join("in.ndjson"), b"{}\n").unwrap_or_else(|e| panic!("{e}"));
    let out = examlake(dir.path(), args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "{args:?} must fail with one line: {stderr}"
    );
    assert!(
        stderr.contains(expected),
        "{args:?}: expected {expected:?} in {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn wrong_tenant_path_or_report_exit_2_with_one_line() {
    assert_usage_error(
        &[
            "ingest",
            "--from-file",
            "in.ndjson",
            "--tenant",
            "../etc",
            "--warehouse",
            "w",
        ],
        "invalid tenant id \"../etc\"",
    );
    assert_usage_error(
        &[
            "ingest",
            "--from-file",
            "in.ndjson",
            "--tenant",
            "Acme",
            "--warehouse",
            "w",
        ],
        "invalid tenant id \"Acme\"",
    );
    assert_usage_error(
        &[
            "ingest",
            "--from-file",
            "missing.ndjson",
            "--tenant",
            "acme",
            "--warehouse",
            "w",
        ],
        "missing.ndjson does not exist",
    );
    assert_usage_error(
        &[
            "report",
            "most-popular",
            "--tenant",
            "acme",
            "--warehouse",
            "w",
        ],
        "most-popular",
    );
    assert_usage_error(
        &["report", "overview", "--tenant", "acme", "--warehouse", "w"],
        "run `examlake transform` first",
    );
    assert_usage_error(
        &["transform", "--warehouse", "s3://bucket/x"],
        "s3://bucket/x",
    );
    assert_usage_error(
        &["report", "overview", "--tenant", "acme", "--threshold", "2"],
        "--threshold 2",
    );
}
