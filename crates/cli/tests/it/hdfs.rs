//! The pipeline on a warehouse in the real HDFS started by `scripts/services.sh up hdfs`:
//! ingest from a file and from Kafka, transform and report give the same answers as on disk.

use super::kafka::{
    assert_exactly_once, brokers, ingest_args, landed_rows_at, produce, report_json, unique,
};
use super::{ok, sample_dir, temp};

/// A fresh warehouse URL on the test HDFS.
pub fn hdfs_warehouse(name: &str) -> String {
    let base = std::env::var("EXAMLAKE_TEST_HDFS").unwrap_or_else(|_| {
        panic!("EXAMLAKE_TEST_HDFS is not set: start HDFS with `scripts/services.sh up hdfs` and export EXAMLAKE_TEST_HDFS=hdfs://127.0.0.1:9000 HADOOP_USER_NAME=hdfs (scripts/test.sh does both)")
    });
    format!("{base}/{}", unique(name))
}

#[test]
fn the_whole_pipeline_on_hdfs_answers_like_local_disk() {
    let _shared = HDFS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = temp();
    let d = dir.path();
    let hdfs = hdfs_warehouse("pipeline");
    let tenant = unique("hd");
    let sample = sample_dir().join("acme.ndjson.gz").display().to_string();

    // From a file: local and HDFS.
    for warehouse in ["local", hdfs.as_str()] {
        let landed = ok(
            d,
            &[
                "ingest",
                "--from-file",
                &sample,
                "--tenant",
                &tenant,
                "--warehouse",
                warehouse,
            ],
        );
        assert!(
            landed.contains("read 3280, landed 3280"),
            "{warehouse}: {landed}"
        );
        let again = ok(
            d,
            &[
                "ingest",
                "--from-file",
                &sample,
                "--tenant",
                &tenant,
                "--warehouse",
                warehouse,
            ],
        );
        assert!(
            again.contains("skipped 3280 already landed"),
            "{warehouse}: {again}"
        );
        ok(
            d,
            &["transform", "--warehouse", warehouse, "--tenant", &tenant],
        );
    }
    // What the Kafka path below must answer: the sample alone.
    let file_overview = report_json(d, "local", &tenant, "overview");
    // Four small drops more, each applied by a run of its own: the fourth run merges the four
    // parts before its own, reading and writing them on HDFS as on disk.
    for seed in 1..=4 {
        let drop = format!("drop{seed}.ndjson");
        let seed_arg = (100 + seed).to_string();
        let args = ["generate", "--tenant", &tenant, "--attempts", "40"];
        ok(
            d,
            &[&args[..], &["--seed", &seed_arg, "--out", &drop]].concat(),
        );
        for warehouse in ["local", hdfs.as_str()] {
            let ingest = ["ingest", "--from-file", &drop, "--tenant", &tenant];
            ok(d, &[&ingest[..], &["--warehouse", warehouse]].concat());
            let applied = ok(
                d,
                &["transform", "--warehouse", warehouse, "--tenant", &tenant],
            );
            assert_eq!(
                applied.contains(", 4 small parts merged"),
                seed == 4,
                "{warehouse}, drop {seed}: {applied}"
            );
        }
    }
    for report in [
        "overview",
        "high-scores",
        "least-popular",
        "most-missed",
        "last-taken",
        "item-analysis",
        "distractors",
    ] {
        let on_hdfs = report_json(d, &hdfs, &tenant, report);
        let on_disk = report_json(d, "local", &tenant, report);
        assert_eq!(
            on_hdfs, on_disk,
            "{report} differs between HDFS and local disk"
        );
    }
    // Reports (charts, HTML) written from an HDFS warehouse.
    ok(
        d,
        &[
            "report",
            "all",
            "--tenant",
            &tenant,
            "--warehouse",
            &hdfs,
            "--out",
            "reports",
        ],
    );
    assert!(super::files_under(&d.join("reports"))
        .iter()
        .any(|p| p.ends_with("index.html")));

    // From Kafka into HDFS.
    let kafka_tenant = unique("hk");
    produce(d, &kafka_tenant, &sample_dir().join("acme.ndjson.gz"));
    let group = unique("g");
    let b = brokers();
    let mut args = ingest_args(&kafka_tenant, &group, &hdfs, &b);
    args.push("--until-caught-up");
    let out = ok(d, &args);
    assert!(out.contains("landed 3280"), "{out}");
    let (keys, _) = landed_rows_at(&hdfs, &kafka_tenant);
    assert_exactly_once(&keys);
    assert_eq!(keys.len(), 3280);
    ok(
        d,
        &["transform", "--warehouse", &hdfs, "--tenant", &kafka_tenant],
    );
    let kafka_overview = report_json(d, &hdfs, &kafka_tenant, "overview");
    assert_eq!(kafka_overview["summary"], file_overview["summary"]);
}

/// Tests that use HDFS share it; the restart test takes it alone.
pub static HDFS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Messages landed so far, from the raw file names alone (cheap enough to poll).
fn landed_by_names(warehouse: &str, tenant: &str) -> i64 {
    let Ok(store) = examlake_core::storage::open(warehouse) else {
        return 0;
    };
    let Ok(prefix) = examlake_core::layout::Key::parse(&format!("tenant={tenant}/raw")) else {
        return 0;
    };
    store
        .list(&prefix)
        .unwrap_or_default()
        .iter()
        .filter_map(|key| {
            let name = key.file_name().strip_suffix(".parquet")?;
            let mut parts = name.rsplitn(3, '-');
            let last: i64 = parts.next()?.parse().ok()?;
            let first: i64 = parts.next()?.parse().ok()?;
            Some(last - first + 1)
        })
        .sum()
}

fn services(action: &str) {
    let script = super::repo_path("scripts/services.sh");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .args([action, "hdfs"])
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    assert!(status.success(), "services.sh {action} hdfs failed");
}

#[test]
fn restarting_hdfs_mid_ingest_loses_and_duplicates_nothing() {
    let _alone = HDFS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = temp();
    let d = dir.path();
    let hdfs = hdfs_warehouse("restart");
    let tenant = unique("hr");
    let n: i64 = 60_000;
    ok(
        d,
        &[
            "generate",
            "--tenant",
            &tenant,
            "--attempts",
            &n.to_string(),
            "--out",
            "input.ndjson",
        ],
    );
    produce(d, &tenant, &d.join("input.ndjson"));
    let group = unique("g");
    let b = brokers();
    let mut args = ingest_args(&tenant, &group, &hdfs, &b);
    // Small batches: many files, so the restart lands in the middle of the run.
    args.extend(["--batch-records", "200", "--rotate-seconds", "1"]);
    args.extend([
        "-X",
        "queued.max.messages.kbytes=1024",
        "-X",
        "max.partition.fetch.bytes=65536",
    ]);
    let mut daemon = super::kafka::spawn(d, &args, "daemon.log");
    let log = || std::fs::read_to_string(d.join("daemon.log")).unwrap_or_default();
    super::kafka::wait_until(
        "first batches on HDFS",
        std::time::Duration::from_secs(60),
        || {
            assert!(
                daemon.try_wait().ok().flatten().is_none(),
                "ingest exited:\n{}",
                log()
            );
            landed_by_names(&hdfs, &tenant) >= 600
        },
    );
    let before_restart = landed_by_names(&hdfs, &tenant);
    services("down");
    std::thread::sleep(std::time::Duration::from_secs(3));
    services("up");
    super::kafka::wait_until(
        "every message on HDFS after the restart",
        std::time::Duration::from_secs(240),
        || {
            assert!(
                daemon.try_wait().ok().flatten().is_none(),
                "ingest exited:\n{}",
                log()
            );
            landed_by_names(&hdfs, &tenant) >= n
        },
    );
    assert!(
        before_restart < n,
        "everything landed before the restart: nothing was tested"
    );
    super::kafka::signal(&daemon, "TERM");
    let status = daemon.wait().unwrap_or_else(|e| panic!("{e}"));
    let log = log();
    assert!(status.success(), "{status:?}\n{log}");
    assert!(
        log.contains("landing failed; retrying"),
        "the restart was not noticed:\n{log}"
    );
    let (keys, _) = landed_rows_at(&hdfs, &tenant);
    assert_exactly_once(&keys);
    assert_eq!(keys.len() as i64, n);
}

/// A file ingest to HDFS keeps several batches in flight (each waits about half a second for the
/// NameNode), so a SIGKILL leaves temporary files. Running the same ingest again lands every line
/// exactly once, the transform never reads a temporary file, and `retention` deletes a
/// temporary file only once it is old enough to be no write in flight.
#[test]
fn a_file_ingest_to_hdfs_killed_mid_run_and_run_again_lands_every_line_once() {
    let _shared = HDFS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = temp();
    let d = dir.path();
    let hdfs = hdfs_warehouse("killed");
    let tenant = unique("hk");
    let n: i64 = 20_000;
    let attempts = n.to_string();
    let generate = [
        "generate",
        "--tenant",
        &tenant,
        "--attempts",
        &attempts,
        "--out",
        "input.ndjson",
    ];
    ok(d, &generate);
    let ingest = [
        "ingest",
        "--from-file",
        "input.ndjson",
        "--tenant",
        &tenant,
        "--warehouse",
        &hdfs,
        "--batch-records",
        "250",
    ];
    let store = examlake_core::storage::open(&hdfs).unwrap_or_else(|e| panic!("{e}"));
    let raw = examlake_core::layout::Key::parse(&format!("tenant={tenant}/raw"))
        .unwrap_or_else(|e| panic!("{e}"));
    let unfinished = || {
        store
            .list_unfinished(&raw)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut killed = super::kafka::spawn(d, &ingest, "killed.log");
    // Killed while writes are in flight: some batches landed, and a temporary file is seen (an
    // HDFS write takes about 0.5 s, far longer than from this check to the kill).
    super::kafka::wait_until(
        "the first batches on HDFS, with writes in flight",
        std::time::Duration::from_secs(120),
        || {
            let exited = killed.try_wait().ok().flatten();
            assert!(exited.is_none(), "ingest ended before it was killed");
            landed_by_names(&hdfs, &tenant) >= 1_000 && !unfinished().is_empty()
        },
    );
    super::kafka::signal(&killed, "KILL");
    let _ = killed.wait();
    let landed_before = landed_by_names(&hdfs, &tenant);
    assert!(landed_before < n, "everything landed before the kill");
    let left_by_the_kill = unfinished();
    assert!(
        !left_by_the_kill.is_empty(),
        "the kill left no temporary file: it did not happen with writes in flight"
    );
    println!(
        "killed after {landed_before} of {n} lines landed; {} temporary file(s) left",
        left_by_the_kill.len()
    );

    let again = ok(d, &ingest);
    assert!(
        again.contains(&format!("skipped {landed_before} already landed")),
        "{again}"
    );
    let (keys, _) = landed_rows_at(&hdfs, &tenant);
    let mut lines: Vec<i64> = keys.iter().map(|(_, line)| *line).collect();
    lines.sort_unstable();
    assert_eq!(lines, (1..=n).collect::<Vec<i64>>(), "not every line once");

    // The transform reads finished raw files only: every line is counted once.
    let transformed = ok(d, &["transform", "--warehouse", &hdfs, "--tenant", &tenant]);
    assert!(
        transformed.contains(&format!("{n} raw records ->")) && transformed.contains("(holds)"),
        "{transformed}"
    );

    // A temporary file of an ingest killed two days ago or more is deleted, today's are kept.
    let old = examlake_core::layout::Key::parse(&format!(
        "tenant={tenant}/raw/date=2016-01-01/file-000000000001-000000000009.parquet"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    store
        .stage(&old, examlake_core::storage::Bytes::from_static(b"partial"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(unfinished().len(), left_by_the_kill.len() + 1);
    let retention = ok(
        d,
        &[
            "retention",
            "--reports",
            "reports",
            "--raw-keep-days",
            "30",
            "--warehouse",
            &hdfs,
            "--apply",
        ],
    );
    assert!(
        retention.contains("1 unfinished write of killed ingests deleted"),
        "{retention}"
    );
    assert_eq!(unfinished(), left_by_the_kill, "{retention}");
}
