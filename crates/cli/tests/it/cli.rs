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

/// The binary turns transparent huge pages off for itself (see `main.rs`), unless
/// `MIMALLOC_ALLOW_THP` is set: read from the kernel's view of a running `examlake` process (a
/// Kafka ingest with no broker to reach keeps running until it is killed).
#[cfg(target_os = "linux")]
#[test]
fn transparent_huge_pages_are_off_for_the_process() {
    let dir = temp();
    let thp_enabled = |allow: Option<&str>| -> Option<String> {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_examlake"));
        command
            .args(["ingest", "--brokers", "127.0.0.1:1", "--tenant", "acme"])
            .args(["--warehouse", "w"])
            .current_dir(dir.path())
            .env_remove("MIMALLOC_ALLOW_THP")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        if let Some(allow) = allow {
            command.env("MIMALLOC_ALLOW_THP", allow);
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("{e}"));
        // Once the consumer has logged (main has long run its first lines), read the flag.
        let mut first_line = String::new();
        if let Some(stderr) = child.stderr.take() {
            let _ =
                std::io::BufRead::read_line(&mut std::io::BufReader::new(stderr), &mut first_line);
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()));
        let _ = child.kill();
        let _ = child.wait();
        status
            .ok()?
            .lines()
            .find_map(|l| l.strip_prefix("THP_enabled:").map(|v| v.trim().to_string()))
    };
    let Some(default) = thp_enabled(None) else {
        eprintln!("this kernel does not show THP_enabled in /proc/PID/status: nothing to check");
        return;
    };
    assert_eq!(default, "0");
    assert_eq!(thp_enabled(Some("1")).as_deref(), Some("1"));
}
