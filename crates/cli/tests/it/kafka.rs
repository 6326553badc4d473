//! Against the real broker started by `scripts/services.sh up kafka` (the test command does
//! it): produce, land exactly once through SIGKILLs and rebalances, quarantine poison, rotate
//! on an idle topic. Each test uses its own tenant (topic) and consumer group.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use polars::prelude::*;

use super::{files_under, ok, sample_dir, temp};

/// The broker of the test run; the test command exports it from the services script.
pub fn brokers() -> String {
    std::env::var("EXAMLAKE_TEST_BROKERS").unwrap_or_else(|_| {
        panic!("EXAMLAKE_TEST_BROKERS is not set: start Kafka with `scripts/services.sh up kafka` and export EXAMLAKE_TEST_BROKERS=127.0.0.1:9092 (scripts/test.sh does both)")
    })
}

/// A tenant id no earlier run on the same broker used.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{:x}{:x}", nanos % 0xffff_ffff, std::process::id())
}

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_examlake")
}

fn read_parquet(path: &Path) -> DataFrame {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(Cursor::new(bytes))
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every landed row (raw and ingest quarantine) of a tenant: (partition, offset) and payload.
/// `warehouse` is a local directory or an hdfs:// URL.
pub fn landed_rows(warehouse: &Path, tenant: &str) -> (Vec<(i32, i64)>, Vec<Vec<u8>>) {
    landed_rows_at(&warehouse.display().to_string(), tenant)
}

pub fn landed_rows_at(warehouse: &str, tenant: &str) -> (Vec<(i32, i64)>, Vec<Vec<u8>>) {
    let store = examlake_core::storage::open(warehouse).unwrap_or_else(|e| panic!("{e}"));
    let mut keys = Vec::new();
    let mut payloads = Vec::new();
    for dir in ["raw", "quarantine/ingest"] {
        let prefix = examlake_core::layout::Key::parse(&format!("tenant={tenant}/{dir}"))
            .unwrap_or_else(|e| panic!("{e}"));
        for key in store.list(&prefix).unwrap_or_else(|e| panic!("{e}")) {
            if !key.as_str().ends_with(".parquet") {
                continue;
            }
            let bytes = store.read(&key).unwrap_or_else(|e| panic!("{e}"));
            let df = ParquetReader::new(Cursor::new(bytes))
                .finish()
                .unwrap_or_else(|e| panic!("{key}: {e}"));
            let partitions = df.column("partition").and_then(|c| c.i32().cloned());
            let positions = df.column("position").and_then(|c| c.i64().cloned());
            let bytes = df.column("payload").and_then(|c| c.binary().cloned());
            let (Ok(partitions), Ok(positions), Ok(bytes)) = (partitions, positions, bytes) else {
                panic!("{key}: not in the raw schema");
            };
            for ((p, o), b) in partitions.iter().zip(positions.iter()).zip(bytes.iter()) {
                keys.push((p.unwrap_or(-1), o.unwrap_or(-1)));
                payloads.push(b.unwrap_or_default().to_vec());
            }
        }
    }
    (keys, payloads)
}

/// Every (partition, offset) exactly once and dense from 0: returns the count per partition.
pub fn assert_exactly_once(keys: &[(i32, i64)]) -> BTreeMap<i32, i64> {
    let mut per_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for (p, o) in keys {
        per_partition.entry(*p).or_default().push(*o);
    }
    per_partition
        .into_iter()
        .map(|(p, mut offsets)| {
            offsets.sort_unstable();
            let n = offsets.len();
            offsets.dedup();
            assert_eq!(
                offsets.len(),
                n,
                "partition {p}: {} offsets landed twice",
                n - offsets.len()
            );
            let expected: Vec<i64> = (0..n as i64).collect();
            assert!(
                offsets == expected,
                "partition {p}: offsets are not exactly 0..{n}"
            );
            (p, n as i64)
        })
        .collect()
}

pub fn produce(dir: &Path, tenant: &str, file: &Path) -> String {
    let file = file.display().to_string();
    ok(
        dir,
        &[
            "produce",
            "--tenant",
            tenant,
            "--file",
            &file,
            "--brokers",
            &brokers(),
        ],
    )
}

pub fn ingest_args<'a>(
    tenant: &'a str,
    group: &'a str,
    warehouse: &'a str,
    brokers: &'a str,
) -> Vec<&'a str> {
    vec![
        "-v",
        "ingest",
        "--brokers",
        brokers,
        "--tenant",
        tenant,
        "--group",
        group,
        "--warehouse",
        warehouse,
    ]
}

pub fn spawn(dir: &Path, args: &[&str], log: &str) -> Child {
    let log = std::fs::File::create(dir.join(log)).unwrap_or_else(|e| panic!("{e}"));
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("spawning examlake {args:?}: {e}"))
}

pub fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(status.success(), "kill -{name} {}", child.id());
}

pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn gunzip_lines(path: &Path) -> Vec<Vec<u8>> {
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}")))
        .read_to_end(&mut text)
        .unwrap_or_else(|e| panic!("{e}"));
    text.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

pub fn report_json(dir: &Path, warehouse: &str, tenant: &str, report: &str) -> serde_json::Value {
    let out = ok(
        dir,
        &[
            "report",
            report,
            "--tenant",
            tenant,
            "--warehouse",
            warehouse,
            "--format",
            "json",
            "--as-of",
            "2026-11-01",
        ],
    );
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{report}: {e}: {out}"))
}

#[test]
fn round_trip_lands_every_record_byte_for_byte_and_answers_like_the_file_path() {
    let dir = temp();
    let d = dir.path();
    let tenant = unique("rt");
    let sample = sample_dir().join("acme.ndjson.gz");
    let produced = produce(d, &tenant, &sample);
    assert!(
        produced.contains("read 3280, delivered 3280, failed 0"),
        "{produced}"
    );
    let group = unique("g");
    let b = brokers();
    let mut args = ingest_args(&tenant, &group, "wk", &b);
    args.push("--until-caught-up");
    let landed = ok(d, &args);
    assert!(landed.contains("landed 3280, quarantined 0"), "{landed}");

    let (keys, mut payloads) = landed_rows(&d.join("wk"), &tenant);
    let per_partition = assert_exactly_once(&keys);
    assert_eq!(
        per_partition.len(),
        3,
        "default 3 partitions: {per_partition:?}"
    );
    let mut input = gunzip_lines(&sample);
    input.sort();
    payloads.sort();
    assert_eq!(payloads.len(), input.len());
    assert!(
        payloads == input,
        "landed payloads differ from the input lines"
    );

    // A second until-caught-up run lands nothing.
    let again = ok(d, &args);
    assert!(again.contains("landed 0, quarantined 0"), "{again}");

    // The same answers as the file-based path.
    let path = sample.display().to_string();
    ok(
        d,
        &[
            "ingest",
            "--from-file",
            &path,
            "--tenant",
            &tenant,
            "--warehouse",
            "wf",
        ],
    );
    for warehouse in ["wk", "wf"] {
        ok(
            d,
            &["transform", "--warehouse", warehouse, "--tenant", &tenant],
        );
    }
    for report in [
        "overview",
        "high-scores",
        "least-popular",
        "most-missed",
        "last-taken",
        "item-analysis",
    ] {
        let kafka = report_json(d, "wk", &tenant, report);
        let file = report_json(d, "wf", &tenant, report);
        assert_eq!(
            kafka, file,
            "{report} differs between the Kafka and the file path"
        );
    }
}

#[test]
fn poison_messages_are_quarantined_with_reasons_and_everything_else_lands() {
    let dir = temp();
    let d = dir.path();
    let tenant = unique("poison");
    let good = gunzip_lines(&sample_dir().join("acme.ndjson.gz"));
    let mut input = Vec::new();
    for line in good.iter().take(20) {
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    input.extend_from_slice(b"{\"keen_id\":\"trunc\n42\n\xff\xfe{\"bad\":1}\n[1,2]\n");
    input.extend_from_slice(
        format!("{{\"keen_id\":\"big\",\"pad\":\"{}\"}}\n", "x".repeat(5000)).as_bytes(),
    );
    std::fs::write(d.join("poison.ndjson"), &input).unwrap_or_else(|e| panic!("{e}"));
    let produced = produce(d, &tenant, &d.join("poison.ndjson"));
    assert!(
        produced.contains("read 25, delivered 25, failed 0"),
        "{produced}"
    );
    let group = unique("g");
    let b = brokers();
    let mut args = ingest_args(&tenant, &group, "w", &b);
    args.extend(["--until-caught-up", "--max-record-bytes", "4096"]);
    let landed = ok(d, &args);
    assert!(
        landed.contains("consumed 25, landed 20, quarantined 5"),
        "{landed}"
    );

    let (keys, _) = landed_rows(&d.join("w"), &tenant);
    assert_exactly_once(&keys);
    assert_eq!(keys.len(), 25);
    let quarantine: Vec<PathBuf> =
        files_under(&d.join(format!("w/tenant={tenant}/quarantine/ingest")));
    let frames: Vec<DataFrame> = quarantine.iter().map(|p| read_parquet(p)).collect();
    let mut reasons = Vec::new();
    for df in &frames {
        for column in [
            "tenant",
            "source",
            "partition",
            "position",
            "payload",
            "reason",
        ] {
            assert!(df.column(column).is_ok(), "quarantine lacks {column}");
        }
        let source = df
            .column("source")
            .and_then(|c| c.str().cloned())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(source
            .iter()
            .all(|s| s == Some(format!("kafka:assessments.{tenant}").as_str())));
        let tenants = df
            .column("tenant")
            .and_then(|c| c.str().cloned())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(tenants.iter().all(|t| t == Some(tenant.as_str())));
        let r = df
            .column("reason")
            .and_then(|c| c.str().cloned())
            .unwrap_or_else(|e| panic!("{e}"));
        reasons.extend(r.iter().map(|s| s.unwrap_or_default().to_string()));
        let payloads = df
            .column("payload")
            .and_then(|c| c.binary().cloned())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(payloads.iter().any(|p| p.is_some_and(|p| !p.is_empty())));
    }
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    let all = reasons.join(" | ");
    for expected in [
        "invalid UTF-8",
        "exceeds the 4096-byte limit",
        "invalid JSON",
        "not a JSON object",
    ] {
        assert!(all.contains(expected), "no {expected:?} among {all}");
    }
}

#[test]
fn an_idle_topic_becomes_visible_within_the_max_age_and_sigterm_lands_the_rest() {
    let dir = temp();
    let d = dir.path();
    let tenant = unique("idle");
    let lines = gunzip_lines(&sample_dir().join("acme.ndjson.gz"));
    let write = |name: &str, range: std::ops::Range<usize>| {
        let mut out = Vec::new();
        for line in &lines[range] {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        std::fs::write(d.join(name), out).unwrap_or_else(|e| panic!("{e}"));
    };
    write("first.ndjson", 0..5);
    write("second.ndjson", 5..8);
    produce(d, &tenant, &d.join("first.ndjson"));
    let group = unique("g");
    let b = brokers();
    let mut args = ingest_args(&tenant, &group, "w", &b);
    args.extend(["--rotate-seconds", "2", "--status-seconds", "1"]);
    let mut daemon = spawn(d, &args, "daemon.log");
    let started = Instant::now();
    wait_until(
        "the 5 idle messages to land",
        Duration::from_secs(40),
        || landed_rows(&d.join("w"), &tenant).0.len() == 5,
    );
    assert!(
        daemon.try_wait().ok().flatten().is_none(),
        "the daemon exited early"
    );
    let waited = started.elapsed();

    // New messages, then SIGTERM before their age is up: they are landed on the way out.
    let mut args_slow = ingest_args(&tenant, &group, "w", &b);
    args_slow.extend(["--rotate-seconds", "600"]);
    signal(&daemon, "TERM");
    let status = daemon.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "SIGTERM exit: {status:?}");
    let mut slow = spawn(d, &args_slow, "slow.log");
    produce(d, &tenant, &d.join("second.ndjson"));
    std::thread::sleep(Duration::from_secs(8));
    assert_eq!(
        landed_rows(&d.join("w"), &tenant).0.len(),
        5,
        "rotation is 600 s: nothing new yet"
    );
    signal(&slow, "TERM");
    let status = slow.wait().unwrap_or_else(|e| panic!("{e}"));
    let log = std::fs::read_to_string(d.join("slow.log")).unwrap_or_default();
    assert!(status.success(), "SIGTERM exit: {status:?}\n{log}");
    let (keys, _) = landed_rows(&d.join("w"), &tenant);
    assert_exactly_once(&keys);
    assert_eq!(keys.len(), 8, "{log}");
    let daemon_log = std::fs::read_to_string(d.join("daemon.log")).unwrap_or_default();
    assert!(
        daemon_log.contains("status"),
        "no status line in: {daemon_log}"
    );
    eprintln!("idle messages visible after {waited:?} (rotation age 2 s, includes the group join)");
}

#[test]
fn sigkill_at_random_moments_while_producing_still_lands_everything_exactly_once() {
    let dir = temp();
    let d = dir.path();
    let tenant = unique("crash");
    let n = 200_000;
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
            "--seed",
            "7",
        ],
    );
    let input = d.join("input.ndjson").display().to_string();
    let mut producer = Command::new(bin())
        .args([
            "produce",
            "--tenant",
            &tenant,
            "--file",
            &input,
            "--brokers",
            &brokers(),
            "-q",
        ])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let group = unique("g");
    let b = brokers();
    let mut args = ingest_args(&tenant, &group, "w", &b);
    args.extend(["--batch-records", "3000", "--rotate-seconds", "1"]);
    let mut last = args.clone();
    last.push("--until-caught-up");
    // The killed runs fetch slowly (1 MB prefetch queue, small fetches) so that every kill lands
    // in the middle of the work; the final run drains at full speed.
    args.extend([
        "-X",
        "queued.max.messages.kbytes=1024",
        "-X",
        "max.partition.fetch.bytes=65536",
    ]);
    // A deterministic spread of kill moments per process id (see below).
    let mut seed = u64::from(std::process::id());
    let mut kills = 0;
    let mut landed_by_killed_runs = Vec::new();
    let raw_dir = d.join(format!("w/tenant={tenant}/raw"));
    let landed_files = || {
        files_under(&raw_dir)
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "parquet"))
            .count()
    };
    while kills < 6 {
        let log_name = format!("run{kills}.log");
        let files_before = landed_files();
        let mut child = spawn(d, &args, &log_name);
        // Kill at a random moment (0 to 1.5 s) after this process landed a file of its own: it
        // has made progress, and with a 1 s rotation it is then in the middle of the next batch
        // or landing it. Waiting for a landing, not for a fixed time, keeps this independent of
        // the machine's speed.
        wait_until(
            "the restarted process to land a file",
            Duration::from_secs(90),
            || landed_files() > files_before,
        );
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        std::thread::sleep(Duration::from_millis((seed >> 33) % 1500));
        signal(&child, "KILL");
        let _ = child.wait();
        kills += 1;
        landed_by_killed_runs.push(landed_rows(&d.join("w"), &tenant).0.len());
    }
    let produced = producer.wait().unwrap_or_else(|e| panic!("{e}"));
    assert!(produced.success(), "produce failed");
    let out = ok(d, &last);
    let (keys, _) = landed_rows(&d.join("w"), &tenant);
    let per_partition = assert_exactly_once(&keys);
    assert_eq!(
        keys.len(),
        n,
        "after {kills} SIGKILLs: {per_partition:?}; last run: {out}"
    );
    // Every killed run landed something, and the last was killed before the end: the kills hit
    // the middle of the work.
    let progress: Vec<usize> = std::iter::once(0)
        .chain(landed_by_killed_runs.iter().copied())
        .collect();
    assert!(
        progress.windows(2).all(|w| w[1] > w[0])
            && landed_by_killed_runs.last().is_some_and(|l| *l < n),
        "the killed runs landed too little to exercise a crash: {landed_by_killed_runs:?}"
    );
    eprintln!("landed after each SIGKILL: {landed_by_killed_runs:?}; the last run: {out}");
}

#[test]
fn two_processes_in_one_group_one_stopped_half_way_land_the_union_exactly_once() {
    let dir = temp();
    let d = dir.path();
    let tenant = unique("pair");
    let n = 30_000;
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
    let mut args = ingest_args(&tenant, &group, "w", &b);
    // Throttled fetching (a 1 MB prefetch queue, small fetches) so the handover happens half-way.
    args.extend(["--batch-records", "500", "--rotate-seconds", "1"]);
    args.extend([
        "-X",
        "queued.max.messages.kbytes=1024",
        "-X",
        "max.partition.fetch.bytes=65536",
    ]);
    let mut first = spawn(d, &args, "first.log");
    let mut second = spawn(d, &args, "second.log");
    let read_log = |name: &str| std::fs::read_to_string(d.join(name)).unwrap_or_default();
    wait_until(
        "both processes to own partitions",
        Duration::from_secs(90),
        || {
            read_log("first.log").contains("partition assigned")
                && read_log("second.log").contains("partition assigned")
        },
    );
    wait_until("some batches", Duration::from_secs(60), || {
        landed_rows(&d.join("w"), &tenant).0.len() >= 3000
    });
    signal(&first, "TERM");
    assert!(
        first.wait().map(|s| s.success()).unwrap_or(false),
        "first process did not stop cleanly"
    );
    let stopped_at = landed_rows(&d.join("w"), &tenant).0.len();
    assert!(
        stopped_at < n,
        "first was stopped after everything landed; nothing to take over"
    );
    wait_until(
        "the second process to take over and finish",
        Duration::from_secs(120),
        || landed_rows(&d.join("w"), &tenant).0.len() >= n,
    );
    signal(&second, "TERM");
    assert!(second.wait().map(|s| s.success()).unwrap_or(false));
    let (keys, _) = landed_rows(&d.join("w"), &tenant);
    assert_exactly_once(&keys);
    assert_eq!(keys.len(), n);
    let first_log = std::fs::read_to_string(d.join("first.log")).unwrap_or_default();
    let second_log = std::fs::read_to_string(d.join("second.log")).unwrap_or_default();
    assert!(
        first_log.contains("partition assigned") && second_log.contains("partition assigned"),
        "both processes must have owned partitions:\n{first_log}\n{second_log}"
    );
}

#[test]
fn a_new_tenants_topic_is_picked_up_by_a_running_daemon() {
    let dir = temp();
    let d = dir.path();
    let first = unique("early");
    let late = unique("late");
    let lines = gunzip_lines(&sample_dir().join("globex.ndjson.gz"));
    let mut few = Vec::new();
    for line in &lines[..10] {
        few.extend_from_slice(line);
        few.push(b'\n');
    }
    std::fs::write(d.join("few.ndjson"), &few).unwrap_or_else(|e| panic!("{e}"));
    produce(d, &first, &d.join("few.ndjson"));
    let b = brokers();
    let group = unique("g");
    // The daemon subscribes to every tenant topic (no --tenant), so it also lands whatever other
    // tests put on the broker, into its own warehouse; hence the generous waits.
    let args = [
        "-v",
        "ingest",
        "--brokers",
        &b,
        "--group",
        &group,
        "--warehouse",
        "w",
        "--rotate-seconds",
        "1",
        "--metadata-refresh-seconds",
        "2",
    ];
    let mut daemon = spawn(d, &args, "daemon.log");
    wait_until(
        "the first tenant's messages",
        Duration::from_secs(180),
        || landed_rows(&d.join("w"), &first).0.len() == 10,
    );
    // A tenant created after the daemon started.
    produce(d, &late, &d.join("few.ndjson"));
    wait_until(
        "the new tenant's messages, without a restart",
        Duration::from_secs(180),
        || landed_rows(&d.join("w"), &late).0.len() == 10,
    );
    assert!(
        daemon.try_wait().ok().flatten().is_none(),
        "the daemon restarted or exited"
    );
    signal(&daemon, "TERM");
    assert!(daemon.wait().map(|s| s.success()).unwrap_or(false));
}
