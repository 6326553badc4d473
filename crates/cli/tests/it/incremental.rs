//! Incremental transform on real files: only new raw files are read, a re-run is a no-op, a
//! re-delivered message never becomes a second row, a newer version arriving later replaces the
//! kept one, and the result equals a full rebuild.

use std::path::Path;

use polars::prelude::*;

use super::{files_under, ok, read_table, temp};

/// 3280 generated attempts of tenant acme in `all.ndjson`.
fn generate_sample(dir: &Path) {
    ok(
        dir,
        &[
            "generate",
            "--tenant",
            "acme",
            "--attempts",
            "3280",
            "--out",
            "all.ndjson",
        ],
    );
}

fn ingest(dir: &Path, file: &str, warehouse: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "ingest",
        "--from-file",
        file,
        "--tenant",
        "acme",
        "--warehouse",
        warehouse,
    ];
    args.extend_from_slice(extra);
    ok(dir, &args)
}

fn transform(dir: &Path, warehouse: &str, extra: &[&str]) -> String {
    let mut args = vec!["transform", "--warehouse", warehouse, "--tenant", "acme"];
    args.extend_from_slice(extra);
    ok(dir, &args)
}

/// The table sorted on `keys`, so tables built in different part orders compare equal.
fn sorted(warehouse: &Path, table: &str, keys: &[&str]) -> DataFrame {
    read_table(warehouse, "acme", table)
        .lazy()
        .sort(keys.to_vec(), SortMultipleOptions::default())
        .collect()
        .unwrap_or_else(|e| panic!("sorting {table}: {e}"))
}

/// The per-attempt tables and the keys that sort them.
const PART_TABLES: [(&str, &[&str]); 3] = [
    ("assessments", &["keen_id"]),
    ("questions", &["keen_id", "position"]),
    ("options", &["keen_id", "question_id", "position"]),
];

/// assessments, questions and options of `warehouse`, each sorted on its key.
fn part_tables(warehouse: &Path) -> Vec<DataFrame> {
    PART_TABLES
        .iter()
        .map(|(table, keys)| sorted(warehouse, table, keys))
        .collect()
}

/// Rebuild `warehouse` from its raw files and check the tables equal `incremental`.
fn assert_equals_full_rebuild(dir: &Path, warehouse: &str, incremental: &[DataFrame]) {
    transform(dir, warehouse, &["--full-rebuild"]);
    let full = part_tables(&dir.join(warehouse));
    for (((table, _), incremental), full) in PART_TABLES.iter().zip(incremental).zip(&full) {
        assert!(incremental.equals_missing(full), "{table} differs");
    }
}

fn dq(warehouse: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(warehouse.join("tenant=acme/tables/data_quality.json")).unwrap_or_default(),
    )
    .unwrap_or_default()
}

/// A later version of one attempt: same keen_id, keen_timestamp 100 s later.
fn newer_version(line: &str) -> String {
    let mut event: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("sample line: {e}"));
    let stamp: f64 = event["keen_timestamp"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no keen_timestamp in {line}"));
    event["keen_timestamp"] = serde_json::Value::String(format!("{:.6}", stamp + 100.0));
    event.to_string()
}

/// The sample's `lines` as drops of `size` new lines (`dropN.ndjson`), then a re-delivery of 50
/// already-seen messages (`redelivered.ndjson`), then a newer version of line 7, first seen in
/// drop 0 (`update.ndjson`): (file name, contents).
fn drops_of(lines: &[&str], size: usize) -> Vec<(String, String)> {
    let mut drops: Vec<(String, String)> = lines
        .chunks(size)
        .enumerate()
        .map(|(i, chunk)| (format!("drop{i}.ndjson"), chunk.join("\n") + "\n"))
        .collect();
    drops.push((
        "redelivered.ndjson".into(),
        lines[100..150].join("\n") + "\n",
    ));
    drops.push(("update.ndjson".into(), newer_version(lines[7]) + "\n"));
    drops
}

#[test]
fn incremental_runs_read_only_new_files_and_equal_a_full_rebuild() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    let text = std::fs::read_to_string(d.join("all.ndjson")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3280);
    // Four drops of new data, then a re-delivery, then a newer version of an attempt.
    let drops = drops_of(&lines, 820);
    let first_keen_id = serde_json::from_str::<serde_json::Value>(lines[7])
        .ok()
        .and_then(|v| v["keen_id"].as_str().map(str::to_string))
        .unwrap_or_default();
    for (name, body) in &drops {
        std::fs::write(d.join(name), body).unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    let mut outputs = Vec::new();
    let saved_index = d.join("inc/tenant=acme/tables/_key_index.bin");
    for (i, (name, _)) in drops.iter().enumerate() {
        ingest(d, name, "inc", &[]);
        if i == 5 {
            // Runs 1-4 found earlier attempts through the index the run before saved; the last
            // one must do without it (damaged) and still find the version it replaces.
            assert!(saved_index.exists(), "each run saves the keen_id index");
            std::fs::write(&saved_index, b"damaged").unwrap_or_else(|e| panic!("{e}"));
        }
        outputs.push(transform(d, "inc", &[]));
        let run = &dq(&d.join("inc"))["run"];
        assert_eq!(
            run["raw_files_read"], 1,
            "run {i} read only the new file: {run}"
        );
        assert_eq!(run["full_rebuild"], i == 0, "{run}");
        assert_eq!(dq(&d.join("inc"))["reconciliation"]["holds"], true);
    }
    assert!(outputs[0].contains("full build"), "{}", outputs[0]);
    assert!(
        outputs[1].contains("incremental (1 new raw files, 820 records, 1 batches"),
        "{}",
        outputs[1]
    );
    // The newer version replaced the kept one in an earlier part.
    assert!(
        outputs[5].contains("earlier parts rewritten"),
        "{}",
        outputs[5]
    );
    // Each drop added a small part; the fifth run merged the four before its own into one, so
    // six runs leave three parts per table instead of six.
    for (run, output) in outputs.iter().enumerate() {
        assert_eq!(
            output.contains(", 4 small parts merged"),
            run == 4,
            "run {run}: {output}"
        );
    }
    for table in ["assessments", "questions", "options", "option_counts"] {
        let parts = files_under(&d.join(format!("inc/tenant=acme/tables/{table}")));
        assert_eq!(parts.len(), 3, "{table}: {parts:?}");
    }
    let quarantine = files_under(&d.join("inc/tenant=acme/quarantine/transform"));
    assert_eq!(quarantine.len(), 3, "{quarantine:?}");

    // Nothing new: nothing read, nothing written.
    let before: Vec<_> = files_under(&d.join("inc"))
        .into_iter()
        .map(|p| {
            (
                p.clone(),
                std::fs::metadata(&p).and_then(|m| m.modified()).ok(),
            )
        })
        .collect();
    let again = transform(d, "inc", &[]);
    assert!(again.contains("nothing new (0 new raw files"), "{again}");
    let after: Vec<_> = files_under(&d.join("inc"))
        .into_iter()
        .map(|p| {
            (
                p.clone(),
                std::fs::metadata(&p).and_then(|m| m.modified()).ok(),
            )
        })
        .collect();
    assert_eq!(before, after, "a no-op run changed the warehouse");

    let inc = d.join("inc");
    let assessments = sorted(&inc, "assessments", &["keen_id"]);
    // 3237 distinct customer attempts, as in one full build of the same 3280 lines; the 50
    // re-delivered messages and the update add no row.
    assert_eq!(assessments.height(), 3237);
    let summary = dq(&inc);
    assert_eq!(summary["raw_records"], 3280 + 50 + 1);
    assert_eq!(summary["test_records"], 5);
    let updated = assessments
        .clone()
        .lazy()
        .filter(col("keen_id").eq(lit(first_keen_id.as_str())))
        .collect()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(updated.height(), 1);
    let source = updated
        .column("source")
        .ok()
        .and_then(|c| c.str().ok()?.get(0).map(str::to_string))
        .unwrap_or_default();
    assert!(
        source.contains("update.ndjson"),
        "the newer version is kept, not {source}"
    );

    // The same raw files rebuilt in one go give the same tables and counts.
    let rebuilt = transform(d, "inc", &["--full-rebuild", "--batch-records", "1000"]);
    assert!(
        rebuilt.contains("full build (6 new raw files, 3331 records, 3 batches"),
        "{rebuilt}"
    );
    let keys = [
        ("assessments", vec!["keen_id"]),
        ("questions", vec!["keen_id", "position"]),
        ("options", vec!["keen_id", "question_id", "position"]),
        ("exams", vec!["exam_name"]),
    ];
    let incremental: Vec<DataFrame> = keys.iter().map(|(t, k)| sorted(&inc, t, k)).collect();
    assert!(incremental[0].equals_missing(&assessments));
    let rebuilt_summary = dq(&inc);
    for field in [
        "raw_records",
        "assessments",
        "questions",
        "options",
        "exams",
        "test_records",
        "schema_violations",
        "exact_duplicates_dropped",
        "superseded_versions",
        "counts_mismatches",
    ] {
        assert_eq!(summary[field], rebuilt_summary[field], "{field}");
    }
    for ((table, k), before) in keys.iter().zip(&incremental) {
        let after = sorted(&inc, table, k);
        assert!(
            before.equals_missing(&after),
            "{table} differs after a full rebuild:\n{before}\n{after}"
        );
    }
    // Superseded versions keep their original bytes in the quarantine.
    let quarantine = read_table(&inc, "acme", "quarantine")
        .lazy()
        .filter(col("keen_id").eq(lit(first_keen_id.as_str())))
        .collect()
        .unwrap_or_else(|e| panic!("{e}"));
    let payload = quarantine
        .column("payload")
        .ok()
        .and_then(|c| c.binary().ok()?.get(0).map(<[u8]>::to_vec));
    assert_eq!(payload.as_deref(), Some(lines[7].as_bytes()));
    // Old generations and the parts of the replaced build are gone from disk.
    let referenced =
        std::fs::read_to_string(inc.join("tenant=acme/tables/_manifest.json")).unwrap_or_default();
    for file in files_under(&inc.join("tenant=acme/tables/assessments")) {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        assert!(referenced.contains(&name), "{name} is not in the manifest");
    }
}

#[test]
fn raw_retention_retires_only_applied_files_and_keeps_the_tables() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    ingest(d, "all.ndjson", "w", &["--batch-records", "1000"]);
    // Make the four landed files look 10 years old.
    let raw = d.join("w/tenant=acme/raw");
    let landed: Vec<_> = std::fs::read_dir(&raw)
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert_eq!(landed.len(), 1, "one landing date");
    std::fs::rename(&landed[0], raw.join("date=2016-01-01")).unwrap_or_else(|e| panic!("{e}"));
    // One more file, landed but not transformed yet.
    std::fs::write(d.join("late.ndjson"), "{\"not\": \"yet\"}\n").unwrap_or_else(|e| panic!("{e}"));
    transform(d, "w", &[]);
    ingest(d, "late.ndjson", "w", &[]);
    let late = files_under(&raw)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("late"))
        .unwrap_or_default();
    let old_late = raw
        .join("date=2016-01-01")
        .join(late.file_name().unwrap_or_default());
    std::fs::rename(&late, &old_late).unwrap_or_else(|e| panic!("{e}"));
    let tables_before = read_table(&d.join("w"), "acme", "assessments");
    // A second tenant with old applied raw files: retention goes on with it while acme's
    // transform runs.
    let globex_raw = d.join("w/tenant=globex/raw");
    ok(
        d,
        &[
            "ingest",
            "--from-file",
            "all.ndjson",
            "--tenant",
            "globex",
            "--warehouse",
            "w",
            "--batch-records",
            "1000",
        ],
    );
    let landed_date = std::fs::read_dir(&globex_raw)
        .ok()
        .and_then(|mut entries| entries.next())
        .and_then(|entry| entry.ok())
        .map(|entry| entry.path())
        .unwrap_or_default();
    std::fs::rename(&landed_date, globex_raw.join("date=2016-01-01"))
        .unwrap_or_else(|e| panic!("{}: {e}", landed_date.display()));
    ok(d, &["transform", "--warehouse", "w", "--tenant", "globex"]);
    assert_eq!(files_under(&globex_raw).len(), 4);

    let retention_args = |apply: bool| {
        let mut args = vec![
            "retention",
            "--warehouse",
            "w",
            "--reports",
            "r",
            "--raw-keep-days",
            "30",
        ];
        if apply {
            args.push("--apply");
        }
        args
    };
    let retention = |apply: bool| ok(d, &retention_args(apply));
    let dry = retention(false);
    assert!(
        dry.contains("tenant acme: 3 raw files older than 30 days would delete; kept 1 not yet transformed and 1 newest per source"),
        "{dry}"
    );
    assert_eq!(files_under(&raw).len(), 5, "a dry run deletes nothing");
    // While a transform of the tenant runs (its lock held by a live process: this test),
    // nothing is deleted under it.
    let lock = plant_lock(&d.join("w"), std::process::id());
    let refused = super::examlake(d, &retention_args(true));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("tenant acme skipped")
            && stderr.contains("_transform.lock")
            && stderr.contains("raw files of tenant acme not retired"),
        "{stderr}"
    );
    assert_eq!(
        files_under(&raw).len(),
        5,
        "deleted under a running transform"
    );
    assert!(
        stdout.contains("tenant globex: 3 raw files older than 30 days deleted"),
        "the other tenant was not processed: {stdout}"
    );
    assert_eq!(
        files_under(&globex_raw).len(),
        1,
        "globex keeps its newest file"
    );
    std::fs::remove_file(&lock).unwrap_or_else(|e| panic!("{e}"));
    // Temporary files of ingests killed mid-write: an old one is abandoned, one of today may be
    // a write in flight.
    let abandoned =
        raw.join("date=2016-01-01/.killed-000000000001-000000000009.parquet.999.inprogress");
    let in_flight = late
        .parent()
        .unwrap_or(&raw)
        .join(".flying-000000000001-000000000009.parquet.998.inprogress");
    for file in [&abandoned, &in_flight] {
        std::fs::write(file, b"partial").unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    let applied = retention(true);
    assert!(
        applied.contains("3 raw files older than 30 days deleted"),
        "{applied}"
    );
    assert!(
        applied.contains("tenant acme: 1 unfinished write of killed ingests deleted"),
        "{applied}"
    );
    assert!(!abandoned.exists(), "an abandoned temporary file was kept");
    assert!(in_flight.exists(), "a write in flight was removed");
    std::fs::remove_file(&in_flight).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(files_under(&raw).len(), 2);
    assert!(
        old_late.is_file(),
        "a file not yet transformed is never retired"
    );

    // The tables keep every attempt; ingesting the same file again lands nothing twice.
    assert!(read_table(&d.join("w"), "acme", "assessments").equals_missing(&tables_before));
    let again = ingest(d, "all.ndjson", "w", &["--batch-records", "1000"]);
    assert!(again.contains("landed 0"), "{again}");
    let incremental = transform(d, "w", &[]);
    assert!(
        incremental.contains("incremental (1 new raw files"),
        "{incremental}"
    );
    assert_eq!(
        read_table(&d.join("w"), "acme", "assessments").height(),
        tables_before.height()
    );
    // A rebuild from raw would lose the retired attempts: refused, naming why.
    let rebuild = super::examlake(d, &["transform", "--warehouse", "w", "--full-rebuild"]);
    assert!(!rebuild.status.success());
    let stderr = String::from_utf8_lossy(&rebuild.stderr);
    assert!(
        stderr.contains("3 raw files it transformed earlier were retired by retention"),
        "{stderr}"
    );

    // Tables of the previous format (4: FNV-1a payload hashes) cannot be rebuilt either: they
    // are taken up as they are, and new files still apply.
    let manifest_path = d.join("w/tenant=acme/tables/_manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap_or_default())
            .unwrap_or_else(|e| panic!("manifest: {e}"));
    manifest["format_version"] = serde_json::json!(4);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(d.join("all.ndjson")).unwrap_or_default();
    let first = text.lines().next().unwrap_or_default();
    std::fs::write(d.join("regraded.ndjson"), newer_version(first) + "\n")
        .unwrap_or_else(|e| panic!("{e}"));
    ingest(d, "regraded.ndjson", "w", &[]);
    let upgraded = transform(d, "w", &[]);
    assert!(
        upgraded.contains("incremental (1 new raw files"),
        "{upgraded}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap_or_default())
            .unwrap_or_default();
    assert_eq!(manifest["format_version"], 5);
    assert_eq!(
        read_table(&d.join("w"), "acme", "assessments").height(),
        tables_before.height()
    );
}

#[test]
fn transforms_killed_between_and_inside_batches_end_like_an_uninterrupted_one() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    // Nine raw files, so a run commits nine batches.
    ingest(d, "all.ndjson", "clean", &["--batch-records", "400"]);
    for copy_to in ["killed", "warm-up"] {
        let copy = std::process::Command::new("cp")
            .args(["-a", "clean", copy_to])
            .current_dir(d)
            .status()
            .map(|s| s.success());
        assert_eq!(copy.ok(), Some(true));
    }
    // An untimed run first: the first start of a freshly built binary reads it from disk, which
    // made the timed run several times longer than the killed ones and their kills land late.
    transform(d, "warm-up", &["--batch-records", "400"]);
    let started = std::time::Instant::now();
    transform(d, "clean", &["--batch-records", "400"]);
    // Kill points as fractions of an uninterrupted run (debug and release builds differ 10x).
    let whole = started.elapsed();

    let mut killed_while_running = 0;
    for fraction in [0.15, 0.25, 0.35, 0.45, 0.55, 0.65] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_examlake"))
            .args([
                "-q",
                "transform",
                "--warehouse",
                "killed",
                "--batch-records",
                "400",
            ])
            .current_dir(d)
            .env_remove("EXAMLAKE_WAREHOUSE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        std::thread::sleep(whole.mul_f64(fraction));
        if child.try_wait().ok().flatten().is_none() {
            killed_while_running += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    assert!(killed_while_running >= 2, "too few kills landed mid-run");
    transform(d, "killed", &["--batch-records", "400"]);

    for (table, keys) in [
        ("assessments", vec!["keen_id"]),
        ("questions", vec!["keen_id", "position"]),
        ("options", vec!["keen_id", "question_id", "position"]),
        ("exams", vec!["exam_name"]),
        ("quarantine", vec!["source", "position"]),
    ] {
        let (clean, killed) = (
            sorted(&d.join("clean"), table, &keys),
            sorted(&d.join("killed"), table, &keys),
        );
        assert!(clean.equals_missing(&killed), "{table} differs after kills");
    }
    for field in [
        "raw_records",
        "assessments",
        "exact_duplicates_dropped",
        "superseded_versions",
    ] {
        assert_eq!(
            dq(&d.join("clean"))[field],
            dq(&d.join("killed"))[field],
            "{field}"
        );
    }
    let manifest = std::fs::read_to_string(d.join("killed/tenant=acme/tables/_manifest.json"))
        .unwrap_or_default();
    for file in files_under(&d.join("killed/tenant=acme/tables/assessments")) {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            manifest.contains(&name),
            "{name} left behind by a killed run"
        );
    }
}

/// The keen_id index a run saves and the next one uses is the index a run building it from the
/// parts would have: a warehouse whose saved index is deleted before every run ends with the
/// same saved index, byte for byte, through redeliveries, merges of small parts and an update.
/// So does a warehouse whose runs keep at most 100 attempts of the index in memory and the rest
/// in a scratch file, and its tables hold the same rows.
#[test]
fn the_saved_index_equals_one_built_from_the_parts() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    let text = std::fs::read_to_string(d.join("all.ndjson")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let drops = drops_of(&lines, 600);
    let saved = |warehouse: &str| d.join(warehouse).join("tenant=acme/tables/_key_index.bin");
    let mut merged = false;
    for (i, (name, body)) in drops.iter().enumerate() {
        std::fs::write(d.join(name), body).unwrap_or_else(|e| panic!("{name}: {e}"));
        for warehouse in ["kept", "rebuilt", "spilled"] {
            ingest(d, name, warehouse, &[]);
            if warehouse == "rebuilt" && saved(warehouse).exists() {
                std::fs::remove_file(saved(warehouse)).unwrap_or_else(|e| panic!("{e}"));
            }
            let extra: &[&str] = match warehouse {
                "spilled" => &["--index-memory-attempts", "100"],
                _ => &[],
            };
            merged |= transform(d, warehouse, extra).contains("small parts merged");
        }
        let [kept, rebuilt, spilled] =
            ["kept", "rebuilt", "spilled"].map(|warehouse| std::fs::read(saved(warehouse)).ok());
        assert!(kept.is_some(), "run {i} saved no index");
        assert!(kept == rebuilt, "the saved indexes differ after run {i}");
        assert!(kept == spilled, "the spilled index differs after run {i}");
    }
    assert!(merged, "small parts were merged along the way");
    assert_same_rows_but_ingest_times(&d.join("kept"), &d.join("rebuilt"));
    assert_same_rows_but_ingest_times(&d.join("kept"), &d.join("spilled"));
}

/// The per-attempt tables of two warehouses hold the same rows, but for the ingest times their
/// own landings recorded.
fn assert_same_rows_but_ingest_times(a: &Path, b: &Path) {
    let without_ingest_time =
        |df: &DataFrame| df.drop("received_at").unwrap_or_else(|_| df.clone());
    let (a, b) = (part_tables(a), part_tables(b));
    for ((table, _), (a, b)) in PART_TABLES.iter().zip(a.iter().zip(&b)) {
        assert!(
            without_ingest_time(a).equals_missing(&without_ingest_time(b)),
            "{table} differs"
        );
    }
}

/// `--no-merge` leaves every batch's parts as written; the tables hold the same rows as those of a
/// warehouse whose small parts were merged.
#[test]
fn with_no_merge_small_parts_stay_as_written() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    let text = std::fs::read_to_string(d.join("all.ndjson")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let (mut merged, mut unmerged) = (false, false);
    for (name, body) in drops_of(&lines, 600) {
        std::fs::write(d.join(&name), body).unwrap_or_else(|e| panic!("{name}: {e}"));
        ingest(d, &name, "merged", &[]);
        merged |= transform(d, "merged", &[]).contains("small parts merged");
        ingest(d, &name, "unmerged", &[]);
        unmerged |= transform(d, "unmerged", &["--no-merge"]).contains("small parts merged");
    }
    assert!(
        merged && !unmerged,
        "merged: {merged}, unmerged: {unmerged}"
    );
    let (fewer, more) = (parts(&d.join("merged")), parts(&d.join("unmerged")));
    assert!(fewer.len() < more.len(), "{fewer:?} against {more:?}");
    assert_same_rows_but_ingest_times(&d.join("merged"), &d.join("unmerged"));
}

/// A merge of small parts that fails (here: a part's `options` file is damaged) does not fail the
/// run: its batch is committed, the parts stay as they were, and the failure is said in the
/// run's summary, in `data_quality.json` and in `data_quality.md`.
#[test]
fn a_failed_merge_is_reported_and_the_run_still_commits() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    let text = std::fs::read_to_string(d.join("all.ndjson")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut drops = lines.chunks(600).enumerate();
    for (i, chunk) in drops.by_ref().take(5) {
        let name = format!("drop{i}.ndjson");
        std::fs::write(d.join(&name), chunk.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
        ingest(d, &name, "w", &[]);
        transform(d, "w", &["--no-merge"]);
    }
    let before = parts(&d.join("w"));
    assert_eq!(before.len(), 5, "{before:?}");
    let (id, generation, _) = before[1];
    let damaged = d.join(format!(
        "w/tenant=acme/tables/options/part-{id:06}-g{generation}.parquet"
    ));
    std::fs::write(&damaged, b"not parquet").unwrap_or_else(|e| panic!("{damaged:?}: {e}"));

    let (i, chunk) = drops.next().unwrap_or_else(|| panic!("a sixth drop"));
    let name = format!("drop{i}.ndjson");
    std::fs::write(d.join(&name), chunk.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
    ingest(d, &name, "w", &[]);
    let output = transform(d, "w", &[]);
    assert!(
        output.contains("warning: small parts left unmerged"),
        "{output}"
    );
    let after = parts(&d.join("w"));
    assert_eq!(
        after.len(),
        6,
        "the batch's part is committed, none merged: {after:?}"
    );
    // The same parts (a later batch may rewrite one: same id, next generation).
    let ids = |parts: &[(u64, u64, u64)]| parts.iter().map(|p| p.0).collect::<Vec<_>>();
    assert_eq!(ids(&after[..5]), ids(&before));
    let report = dq(&d.join("w"));
    let warnings = report["run"]["warnings"].to_string();
    assert!(warnings.contains("small parts left unmerged"), "{report}");
    let markdown =
        std::fs::read_to_string(d.join("w/tenant=acme/tables/data_quality.md")).unwrap_or_default();
    assert!(markdown.contains("small parts left unmerged"), "{markdown}");
    assert_eq!(read_table(&d.join("w"), "acme", "assessments").height(), {
        let total = report["assessments"].as_u64().unwrap_or(0) as usize;
        assert!(total > 3000, "{report}");
        total
    });
}

/// A run killed after its last commit but before its report leaves no `data_quality.json`, and
/// the part files it replaced (a first build: no `exams` either); the next run, with nothing new
/// to apply, writes the report and `exams` (and only then) and removes those files.
#[test]
fn a_no_op_run_writes_a_missing_data_quality_report_and_exams() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    ingest(d, "all.ndjson", "w", &[]);
    transform(d, "w", &[]);
    let before = dq(&d.join("w"));
    let report = d.join("w/tenant=acme/tables/data_quality.json");
    std::fs::remove_file(&report).unwrap_or_else(|e| panic!("{e}"));
    // A first build killed right after its last batch's commit had not written `exams` either.
    let exams = d.join("w/tenant=acme/tables/exams/data.parquet");
    let exams_before = read_table(&d.join("w"), "acme", "exams");
    std::fs::remove_file(&exams).unwrap_or_else(|e| panic!("{e}"));
    // The same killed run had not yet removed a part file its last batch replaced.
    let parts = d.join("w/tenant=acme/tables/assessments");
    let replaced = parts.join("part-099999-g0.parquet");
    let kept = files_under(&parts);
    std::fs::copy(&kept[0], &replaced).unwrap_or_else(|e| panic!("{e}"));
    let again = transform(d, "w", &[]);
    assert!(again.contains("nothing new (0 new raw files"), "{again}");
    assert!(!replaced.exists(), "the replaced part file was left behind");
    assert_eq!(files_under(&parts), kept);
    assert!(
        read_table(&d.join("w"), "acme", "exams").equals_missing(&exams_before),
        "exams written again"
    );
    let after = dq(&d.join("w"));
    for field in [
        "raw_records",
        "assessments",
        "exact_duplicates_dropped",
        "exams",
    ] {
        assert!(before[field].is_number(), "{field}: {before}");
        assert_eq!(before[field], after[field], "{field}");
    }
}

/// A run killed while writing leaves temporary files. The next run that writes removes those in
/// the tables and the transform quarantine, and leaves raw ones alone (an ingest may be writing).
#[test]
fn a_run_removes_the_unfinished_writes_of_a_killed_run() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    ingest(d, "all.ndjson", "w", &[]);
    transform(d, "w", &[]);
    let tenant = d.join("w/tenant=acme");
    let raw_date_dir = std::fs::read_dir(tenant.join("raw"))
        .ok()
        .and_then(|mut entries| entries.next())
        .and_then(Result::ok)
        .map(|entry| entry.path())
        .unwrap_or_else(|| panic!("no raw date directory under {}", tenant.display()));
    let leftovers = [
        tenant.join("tables/options/.part-000000-g0.parquet.999999.inprogress"),
        tenant.join("quarantine/transform/.part-000000.parquet.999999.inprogress"),
    ];
    let raw_in_flight = raw_date_dir.join(".file-x.parquet.999999.inprogress");
    for file in leftovers.iter().chain([&raw_in_flight]) {
        std::fs::write(file, b"partial").unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    transform(d, "w", &["--full-rebuild"]);
    for file in &leftovers {
        assert!(!file.exists(), "{} left behind", file.display());
    }
    assert!(raw_in_flight.exists(), "a raw file in flight was removed");
}

/// A redelivery of attempts whose kept row already says `had_duplicates` changes nothing stored:
/// no earlier part is rewritten. The first redelivery must flag them (a rewrite); both runs end
/// equal to a full rebuild.
#[test]
fn a_second_redelivery_rewrites_no_earlier_part() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    let text = std::fs::read_to_string(d.join("all.ndjson")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let drops = [
        ("first.ndjson", lines[..200].join("\n") + "\n"),
        ("again.ndjson", lines[20..40].join("\n") + "\n"),
        ("once_more.ndjson", lines[20..40].join("\n") + "\n"),
    ];
    let mut rewritten = Vec::new();
    for (name, body) in &drops {
        std::fs::write(d.join(name), body).unwrap_or_else(|e| panic!("{name}: {e}"));
        ingest(d, name, "inc", &[]);
        transform(d, "inc", &[]);
        rewritten.push(dq(&d.join("inc"))["run"]["parts_rewritten"].clone());
    }
    assert_eq!(rewritten[1], 1, "the first redelivery flags its attempts");
    assert_eq!(rewritten[2], 0, "the second one has nothing to change");

    let incremental = part_tables(&d.join("inc"));
    let flagged = incremental[0]
        .column("had_duplicates")
        .ok()
        .and_then(|c| c.bool().ok().map(|b| b.sum().unwrap_or(0)))
        .unwrap_or(0);
    assert!(flagged >= 20, "{flagged} attempts flagged");
    assert_equals_full_rebuild(d, "inc", &incremental);
}

/// The parts (id, generation, attempts) the manifest lists.
fn parts(warehouse: &Path) -> Vec<(u64, u64, u64)> {
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(warehouse.join("tenant=acme/tables/_manifest.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    let field = |part: &serde_json::Value, name: &str| part[name].as_u64().unwrap_or(u64::MAX);
    manifest["parts"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .map(|p| {
                    (
                        field(p, "id"),
                        field(p, "generation"),
                        field(p, "assessments"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A batch writes its latest arrivals as a small part of their own, so newer versions of recent
/// attempts arriving later rewrite only that part; the tables still equal a full rebuild.
#[test]
fn newer_versions_of_recent_arrivals_rewrite_only_the_recent_part() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    let text = std::fs::read_to_string(d.join("all.ndjson")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let first = &lines[..200];
    let keen_id = |line: &str| {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_default()["keen_id"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    // The last attempts of the first file that occur once and are customer attempts: kept rows
    // among its latest arrivals.
    let recent: Vec<&str> = first
        .iter()
        .rev()
        .filter(|line| first.iter().filter(|l| keen_id(l) == keen_id(line)).count() == 1)
        .filter(|line| !line.contains("Example Exam For Development and Testing"))
        .take(5)
        .copied()
        .collect();
    assert_eq!(recent.len(), 5, "the sample has 5 single recent attempts");
    let newer: Vec<String> = recent.iter().map(|line| newer_version(line)).collect();
    std::fs::write(d.join("first.ndjson"), first.join("\n") + "\n").unwrap_or_default();
    std::fs::write(d.join("newer.ndjson"), newer.join("\n") + "\n").unwrap_or_default();
    // Batches of 400 records, so parts below 100 kept attempts count as small: the first batch's
    // main part (about 170) is not one, and the next run does not merge it with its recent part.
    let recent_part = ["--recent-part-attempts", "30", "--batch-records", "400"];

    ingest(d, "first.ndjson", "inc", &[]);
    transform(d, "inc", &recent_part);
    let before = parts(&d.join("inc"));
    assert_eq!(before.len(), 2, "a batch and its recent part: {before:?}");
    assert_eq!((before[0].1, before[1].1), (0, 0), "{before:?}");
    assert_eq!(
        before[1].2, 30,
        "the recent part holds 30 attempts: {before:?}"
    );

    ingest(d, "newer.ndjson", "inc", &[]);
    transform(d, "inc", &recent_part);
    assert_eq!(dq(&d.join("inc"))["run"]["parts_rewritten"], 1);
    let after = parts(&d.join("inc"));
    assert_eq!(
        after[0], before[0],
        "the large part is untouched: {after:?}"
    );
    assert_eq!(
        (after[1].1, after[1].2),
        (1, 25),
        "the recent part lost its 5 superseded attempts: {after:?}"
    );

    let incremental = part_tables(&d.join("inc"));
    assert_equals_full_rebuild(d, "inc", &incremental);
}

#[test]
fn a_superseded_version_far_from_its_rival_keeps_its_bytes() {
    // A version early in a 3,000-record raw file, superseded by one in the next raw file of the
    // same batch, is quarantined with its exact original bytes.
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    let text = std::fs::read_to_string(d.join("all.ndjson")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().take(3000).collect();
    let keen_id = |line: &str| {
        serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v["keen_id"].as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let ids: Vec<String> = lines.iter().map(|l| keen_id(l)).collect();
    let early = (0..900)
        .find(|&i| {
            ids.iter().filter(|id| **id == ids[i]).count() == 1
                && !lines[i].contains("Example Exam")
        })
        .unwrap_or_else(|| panic!("no early attempt with a single version"));
    std::fs::write(d.join("first.ndjson"), lines.join("\n") + "\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("later.ndjson"), newer_version(lines[early]) + "\n")
        .unwrap_or_else(|e| panic!("{e}"));
    ingest(d, "first.ndjson", "w", &[]);
    ingest(d, "later.ndjson", "w", &[]);
    let out = transform(d, "w", &[]);
    assert!(
        out.contains("2 new raw files, 3001 records, 1 batches"),
        "{out}"
    );

    let quarantine = read_table(&d.join("w"), "acme", "quarantine")
        .lazy()
        .filter(col("keen_id").eq(lit(ids[early].as_str())))
        .collect()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(quarantine.height(), 1, "{quarantine}");
    let payload = quarantine
        .column("payload")
        .ok()
        .and_then(|c| c.binary().ok()?.get(0).map(<[u8]>::to_vec));
    assert_eq!(payload.as_deref(), Some(lines[early].as_bytes()));
    let reason = quarantine
        .column("reason")
        .ok()
        .and_then(|c| c.str().ok()?.get(0).map(str::to_string))
        .unwrap_or_default();
    assert_eq!(reason, "superseded by a later version of the same keen_id");
}

/// The lock file of a holder `pid` on this host, as a transform writes it.
fn plant_lock(warehouse: &Path, pid: u32) -> std::path::PathBuf {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_else(|e| panic!("hostname: {e}"));
    let lock = warehouse.join("tenant=acme/tables/_transform.lock");
    std::fs::create_dir_all(warehouse.join("tenant=acme/tables")).unwrap_or_else(|e| panic!("{e}"));
    let holder =
        serde_json::json!({"host": host.trim(), "pid": pid, "started_at": "2026-11-28T22:00:00Z"});
    std::fs::write(&lock, holder.to_string()).unwrap_or_else(|e| panic!("{e}"));
    lock
}

/// Two transforms of one tenant would each remove the files the other is writing: a run refuses
/// (exit 5, naming the lock) while another holds the tenant's lock, takes over the lock of a
/// process that is gone, breaks it on request, and of two runs started together exactly one
/// proceeds.
#[test]
fn a_tenant_is_transformed_by_one_run_at_a_time() {
    let dir = temp();
    let d = dir.path();
    generate_sample(d);
    ingest(d, "all.ndjson", "w", &["--batch-records", "400"]);
    let w = d.join("w");
    let manifest = w.join("tenant=acme/tables/_manifest.json");

    // Held by a running process of this host (this test).
    let lock = plant_lock(&w, std::process::id());
    let refused = super::examlake(d, &["transform", "--warehouse", "w", "--tenant", "acme"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("_transform.lock") && stderr.contains("--break-lock"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", std::process::id())),
        "{stderr}"
    );
    assert!(!manifest.exists(), "a refused run wrote tables");
    assert!(lock.exists(), "a refused run removed the holder's lock");

    // Broken on request.
    transform(d, "w", &["--break-lock"]);
    assert!(manifest.exists());
    assert!(!lock.exists(), "the lock outlived its run");

    // Left by a process that is gone: taken over.
    let mut gone = std::process::Command::new("true")
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let gone_pid = gone.id();
    gone.wait().unwrap_or_else(|e| panic!("{e}"));
    plant_lock(&w, gone_pid);
    transform(d, "w", &["--full-rebuild"]);
    assert!(!lock.exists(), "the stale lock was left behind");

    // Two full rebuilds of nine batches started together: one runs, the other is refused.
    let start = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_examlake"))
            .args(["-q", "transform", "--warehouse", "w", "--tenant", "acme"])
            .args(["--full-rebuild", "--batch-records", "400"])
            .current_dir(d)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (mut first, mut second) = (start(), start());
    let mut codes = [first.wait(), second.wait()]
        .map(|status| status.ok().and_then(|s| s.code()).unwrap_or(-1));
    codes.sort();
    assert_eq!(codes, [0, 5], "exit codes of two runs started together");
    assert!(!lock.exists());
    let tables = part_tables(&w);
    assert_equals_full_rebuild(d, "w", &tables);
}
