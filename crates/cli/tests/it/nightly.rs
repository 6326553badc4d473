//! The nightly job: incremental, idempotent, locked, and honest about what happened.

use std::path::Path;

use super::{examlake, ok, sample_dir, temp};

fn summary(dir: &Path) -> serde_json::Value {
    let path = std::fs::read_dir(dir.join("r"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("nightly-"))
        })
        .unwrap_or_else(|| panic!("no nightly summary"));
    serde_json::from_slice(&std::fs::read(path).unwrap_or_default()).unwrap_or_default()
}

fn tenant<'a>(summary: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    summary["tenants"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["tenant"] == name))
        .unwrap_or_else(|| panic!("{name} missing"))
}

fn overview_attempts(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("r/acme/latest/overview.json")).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    value["summary"]["attempts"].as_u64().unwrap_or(0)
}

const NIGHTLY: [&str; 7] = [
    "nightly",
    "--drop",
    "drop",
    "--warehouse",
    "w",
    "--reports",
    "r",
];

#[test]
fn nightly_processes_only_new_data_and_is_safe_to_rerun() {
    let dir = temp();
    std::fs::create_dir_all(dir.path().join("drop/acme")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        sample_dir().join("acme.ndjson.gz"),
        dir.path().join("drop/acme/day1.ndjson.gz"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let first = ok(dir.path(), &NIGHTLY);
    assert!(
        first.contains("nightly acme: ok — 1 files, 3280 attempts added"),
        "{first}"
    );
    assert_eq!(overview_attempts(dir.path()), 3237);
    assert!(
        dir.path().join("r/acme/latest/index.html").is_file(),
        "latest points at the run's reports"
    );

    // Re-run on the same day: nothing new lands, same answers.
    let again = ok(dir.path(), &NIGHTLY);
    assert!(again.contains("1 files, 0 attempts added"), "{again}");
    assert_eq!(overview_attempts(dir.path()), 3237);

    // New data arrives: only it is ingested, and the reports reflect it.
    ok(
        dir.path(),
        &[
            "generate",
            "--tenant",
            "acme",
            "--attempts",
            "100",
            "--seed",
            "99",
            "--counts-mismatch-rate",
            "0",
            "--out",
            "drop/acme/day2.ndjson",
        ],
    );
    let third = ok(dir.path(), &NIGHTLY);
    assert!(third.contains("2 files, 100 attempts added"), "{third}");
    let added = tenant(&summary(dir.path()), "acme")["attempts_added"].as_u64();
    assert_eq!(added, Some(100));
    assert!(overview_attempts(dir.path()) > 3237);
}

#[test]
fn a_second_run_is_refused_while_the_lock_is_held_and_a_stale_lock_is_taken_over() {
    let dir = temp();
    std::fs::create_dir_all(dir.path().join("drop/acme")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(dir.path().join("r")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        sample_dir().join("globex.ndjson.gz"),
        dir.path().join("drop/acme/a.ndjson.gz"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // A live process (this test) holds the lock.
    std::fs::write(
        dir.path().join("r/.nightly.lock"),
        format!("{}\n", std::process::id()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let refused = examlake(dir.path(), &NIGHTLY);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("another nightly run") && stderr.contains("not starting a second one"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("w").exists(),
        "the refused run did nothing"
    );
    // The same live pid with another start: the pid of a dead holder was reused, so the lock is
    // stale and taken over.
    let lock = dir.path().join("r/.nightly.lock");
    let start = examlake_core::process::process_start_ticks(std::process::id())
        .unwrap_or_else(|| panic!("this process's start cannot be read"));
    std::fs::write(&lock, format!("{} {}\n", std::process::id(), start + 1))
        .unwrap_or_else(|e| panic!("{e}"));
    ok(dir.path(), &NIGHTLY);
    assert!(!lock.exists(), "a lock of a reused pid was not taken over");
    // The holder died: its lock is stale and the next run takes it over, then releases it.
    std::fs::write(dir.path().join("r/.nightly.lock"), "999999999\n")
        .unwrap_or_else(|e| panic!("{e}"));
    ok(dir.path(), &NIGHTLY);
    assert!(!dir.path().join("r/.nightly.lock").exists());
}

#[test]
fn exit_codes_tell_partial_failure_and_data_quality_errors_apart() {
    let dir = temp();
    for tenant in ["good", "broken", "dirty"] {
        std::fs::create_dir_all(dir.path().join("drop").join(tenant))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::copy(
        sample_dir().join("globex.ndjson.gz"),
        dir.path().join("drop/good/a.ndjson.gz"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // A corrupt gzip file fails its tenant, not the others.
    std::fs::write(
        dir.path().join("drop/broken/a.ndjson.gz"),
        [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Half the records lack a keen_id: a schema-violation rate far above its error threshold.
    let good = r#"{"keen_id":"K","user_exam_id":"U","base_exam_id":"b","exam_name":"E","started_at":"2018-01-01T00:00:00.000Z","keen_timestamp":"1514764860.5","sequences":{"questions":[{"id":"q","user_result":"correct","options":[]}]}}"#;
    let mut dirty = String::new();
    for i in 0..20 {
        dirty += &good
            .replace("\"K\"", &format!("\"k{i}\""))
            .replace("\"U\"", &format!("\"u{i}\""));
        dirty += "\n";
        dirty += &good.replace("\"keen_id\":\"K\",", "");
        dirty += "\n";
    }
    std::fs::write(dir.path().join("drop/dirty/a.ndjson"), dirty).unwrap_or_else(|e| panic!("{e}"));

    let out = examlake(dir.path(), &NIGHTLY);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(4),
        "partial failure wins over DQ: {stderr}"
    );
    let run = summary(dir.path());
    assert_eq!(tenant(&run, "good")["status"], "ok");
    assert_eq!(tenant(&run, "broken")["status"], "failed");
    assert_eq!(tenant(&run, "dirty")["status"], "dq-error");
    assert!(
        dir.path().join("r/dirty/latest/summary.md").is_file(),
        "reports are still written on a DQ error"
    );

    // Without the broken tenant, the DQ error decides the exit code.
    std::fs::remove_dir_all(dir.path().join("drop/broken")).unwrap_or_else(|e| panic!("{e}"));
    let out = examlake(dir.path(), &NIGHTLY);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The systemd unit's ExecStart, run as written (only the binary path swapped for the one under
/// test), with the settings its EnvironmentFile would provide.
#[test]
fn the_command_the_timer_runs_works() {
    let unit = std::fs::read_to_string(super::repo_path("deploy/examlake-nightly.service"))
        .unwrap_or_default();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("no ExecStart"));
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/examlake"));
    let args: Vec<&str> = words.collect();
    let dir = temp();
    std::fs::create_dir_all(dir.path().join("drop/acme")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        sample_dir().join("globex.ndjson.gz"),
        dir.path().join("drop/acme/a.ndjson.gz"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_examlake"))
        .args(&args)
        .current_dir(dir.path())
        .env("EXAMLAKE_DROP", dir.path().join("drop"))
        .env("EXAMLAKE_WAREHOUSE", dir.path().join("w"))
        .env("EXAMLAKE_REPORTS", dir.path().join("r"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("r/acme/latest/index.html").is_file());
    assert!(crate::read_table(&dir.path().join("w"), "acme", "assessments").height() > 0);
}

/// SIGKILL in the middle of a run, then a re-run: the same tables as a run never interrupted.
#[test]
fn a_killed_run_followed_by_a_rerun_ends_in_the_same_state() {
    let dir = temp();
    for root in ["killed", "clean"] {
        std::fs::create_dir_all(dir.path().join(root).join("drop/acme"))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // Big enough that a kill lands mid-run; batches of 5,000 so several raw files are written.
    ok(
        dir.path(),
        &[
            "generate",
            "--tenant",
            "acme",
            "--attempts",
            "60000",
            "--seed",
            "5",
            "--out",
            "killed/drop/acme/a.ndjson",
        ],
    );
    std::fs::copy(
        dir.path().join("killed/drop/acme/a.ndjson"),
        dir.path().join("clean/drop/acme/a.ndjson"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let nightly = |root: &str| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_examlake"));
        command
            .args([
                "-q",
                "nightly",
                "--drop",
                "drop",
                "--warehouse",
                "w",
                "--reports",
                "r",
                "--batch-records",
                "5000",
            ])
            .current_dir(dir.path().join(root));
        command
    };
    let mut killed_at = Vec::new();
    for delay_ms in [150u64, 400, 900] {
        let mut child = nightly("killed")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        if child.try_wait().ok().flatten().is_none() {
            killed_at.push(delay_ms);
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    assert!(!killed_at.is_empty(), "no run was still going when killed");
    let rerun = nightly("killed").output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let clean = nightly("clean").output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    for (table, keys) in [
        ("assessments", vec!["keen_id"]),
        ("questions", vec!["keen_id", "position"]),
        ("options", vec!["keen_id", "question_id", "position"]),
        ("exams", vec!["exam_name"]),
    ] {
        // Parts may be cut differently when a run was killed between batches: compare as sets.
        let read = |root: &str| {
            use polars::prelude::{IntoLazy, SortMultipleOptions};
            crate::read_table(&dir.path().join(root).join("w"), "acme", table)
                .lazy()
                .sort(keys.clone(), SortMultipleOptions::default())
                .collect()
                .unwrap_or_else(|e| panic!("{root} {table}: {e}"))
        };
        // Lineage columns name the raw positions, which match too; received_at differs by design.
        let drop_time =
            |df: polars::prelude::DataFrame| df.drop("received_at").unwrap_or(df.clone());
        let (killed, clean) = (drop_time(read("killed")), drop_time(read("clean")));
        assert_eq!(killed.height(), clean.height(), "{table} rows");
        assert!(
            killed.equals_missing(&clean),
            "{table} differs after kill + rerun (killed at {killed_at:?} ms)"
        );
    }
}

#[test]
fn retention_is_a_dry_run_until_applied_and_keeps_latest() {
    let dir = temp();
    for d in ["2020-01-01", "2020-01-02", "2999-01-01"] {
        std::fs::create_dir_all(dir.path().join("r/acme").join(d))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    std::os::unix::fs::symlink("2020-01-02", dir.path().join("r/acme/latest"))
        .unwrap_or_else(|e| panic!("{e}"));
    let dry = ok(
        dir.path(),
        &["retention", "--reports", "r", "--keep-days", "30"],
    );
    assert!(
        dry.contains("would delete r/acme/2020-01-01")
            && dry.contains("1 report directory older than 30 days"),
        "{dry}"
    );
    assert!(
        dir.path().join("r/acme/2020-01-01").is_dir(),
        "a dry run deletes nothing"
    );
    let applied = ok(
        dir.path(),
        &[
            "retention",
            "--reports",
            "r",
            "--keep-days",
            "30",
            "--apply",
        ],
    );
    assert!(applied.contains("deleted r/acme/2020-01-01"), "{applied}");
    assert!(!dir.path().join("r/acme/2020-01-01").exists());
    assert!(
        dir.path().join("r/acme/2020-01-02").is_dir(),
        "latest's target is kept"
    );
    assert!(dir.path().join("r/acme/2999-01-01").is_dir());
}

#[test]
fn nightly_with_kafka_lands_only_new_messages_and_leaves_unchanged_tenants_alone() {
    use super::kafka::{brokers, produce, unique};
    let dir = temp();
    let d = dir.path();
    let tenant = unique("nk");
    let lines: Vec<String> = std::fs::read(sample_dir().join("acme.ndjson.gz"))
        .ok()
        .and_then(|gz| {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&gz[..]),
                &mut text,
            )
            .ok()?;
            Some(text.lines().map(str::to_string).collect())
        })
        .unwrap_or_default();
    std::fs::write(d.join("day1.ndjson"), lines[..3000].join("\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("day2.ndjson"), lines[3000..].join("\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let b = brokers();
    let group = unique("g");
    let nightly = [
        "nightly",
        "--brokers",
        &b,
        "--group",
        &group,
        "--warehouse",
        "w",
        "--reports",
        "r",
    ];

    produce(d, &tenant, &d.join("day1.ndjson"));
    let first = ok(d, &nightly);
    assert!(
        first.contains(&format!(
            "nightly {tenant}: ok — 0 files, 3000 attempts added"
        )),
        "{first}"
    );

    produce(d, &tenant, &d.join("day2.ndjson"));
    let second = ok(d, &nightly);
    assert!(
        second.contains(&format!(
            "nightly {tenant}: ok — 0 files, 280 attempts added"
        )),
        "{second}"
    );
    // The second transform read only the raw files landed by the second run, all 280 records.
    let dq: serde_json::Value = serde_json::from_slice(
        &std::fs::read(d.join(format!("w/tenant={tenant}/tables/data_quality.json")))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(dq["run"]["raw_records_read"], 280, "{}", dq["run"]);
    assert_eq!(dq["run"]["full_rebuild"], false, "{}", dq["run"]);
    assert_eq!(dq["raw_records"], 3280);
    let overview = std::fs::read_to_string(d.join(format!("r/{tenant}/latest/overview.json")))
        .unwrap_or_default();
    let overview: serde_json::Value = serde_json::from_str(&overview).unwrap_or_default();
    assert_eq!(
        overview["summary"]["attempts"].as_u64(),
        Some(3237),
        "the reports reflect all 3280 records"
    );

    let third = ok(d, &nightly);
    assert!(
        third.contains(&format!(
            "nightly {tenant}: unchanged — 0 files, 0 attempts added"
        )),
        "{third}"
    );
}

#[test]
fn config_file_settings_apply_below_the_environment_and_check_masks_secrets() {
    let dir = temp();
    let d = dir.path();
    std::fs::write(
        d.join("examlake.toml"),
        "warehouse = \"from-file\"\nreports = \"r\"\n[kafka]\nbrokers = \"127.0.0.1:1\"\nuser = \"ops\"\npassword = \"hunter2\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = ok(d, &["config", "check"]);
    assert!(out.contains("configuration examlake.toml: ok"), "{out}");
    assert!(
        out.contains("EXAMLAKE_WAREHOUSE") && out.contains("from-file"),
        "{out}"
    );
    assert!(
        !out.contains("hunter2") && out.contains("****"),
        "the password must be masked: {out}"
    );
    // The file's warehouse is used by a command that does not pass --warehouse.
    let sample = sample_dir().join("globex.ndjson.gz").display().to_string();
    ok(d, &["ingest", "--from-file", &sample, "--tenant", "globex"]);
    assert!(d.join("from-file/tenant=globex/raw").is_dir());
    // A typo in the file is an error naming the key, exit code 2.
    std::fs::write(d.join("bad.toml"), "warehous = \"x\"\n").unwrap_or_else(|e| panic!("{e}"));
    let bad = examlake(d, &["--config", "bad.toml", "config", "check"]);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("warehous"),
        "{stderr}"
    );
}

/// Upkeep of the transform that fails without failing it (here a merge of small parts, one of
/// whose `options` files is damaged) is said in the nightly line and in the nightly summary; the
/// tenant's run still succeeds and its reports are written.
#[test]
fn a_failed_merge_is_said_in_the_nightly_summary() {
    let dir = temp();
    let d = dir.path();
    let generate = |seed: u32, out: &str| {
        let seed = seed.to_string();
        ok(
            d,
            &[
                "generate",
                "--tenant",
                "acme",
                "--attempts",
                "200",
                "--seed",
                &seed,
                "--out",
                out,
            ],
        );
    };
    // Five small parts, left unmerged.
    for day in 1..=5 {
        let file = format!("day{day}.ndjson");
        generate(day, &file);
        ok(
            d,
            &[
                "ingest",
                "--from-file",
                &file,
                "--tenant",
                "acme",
                "--warehouse",
                "w",
            ],
        );
        ok(d, &["transform", "--warehouse", "w", "--no-merge"]);
    }
    let options = d.join("w/tenant=acme/tables/options");
    let mut files: Vec<_> = std::fs::read_dir(&options)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    std::fs::write(&files[1], b"not parquet").unwrap_or_else(|e| panic!("{e}"));

    std::fs::create_dir_all(d.join("drop/acme")).unwrap_or_else(|e| panic!("{e}"));
    generate(6, "drop/acme/day6.ndjson");
    let output = ok(d, &NIGHTLY);
    assert!(output.contains("nightly acme: ok"), "{output}");
    assert!(
        output.contains("  warning: small parts left unmerged"),
        "{output}"
    );
    let warnings = tenant(&summary(d), "acme")["upkeep_warnings"].to_string();
    assert!(warnings.contains("small parts left unmerged"), "{warnings}");
    assert!(d.join("r/acme/latest/index.html").is_file());
}
