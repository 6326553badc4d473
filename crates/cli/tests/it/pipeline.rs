//! The embedded pipeline on real files: garbage input, idempotent re-runs, and the demo.

use std::io::Cursor;

use polars::prelude::*;

use super::{examlake, files_under, ok, sample_dir, temp};

fn read_parquet(path: &std::path::Path) -> DataFrame {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(Cursor::new(bytes))
        .finish()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parquet_under(dir: &std::path::Path) -> Vec<DataFrame> {
    files_under(dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .map(|p| read_parquet(p))
        .collect()
}

#[test]
fn garbage_lines_are_quarantined_with_reasons_and_nothing_is_lost() {
    let dir = temp();
    let good = r#"{"keen_id":"k1","user_exam_id":"u1","base_exam_id":"b","exam_name":"E","started_at":"2018-01-01T00:00:00.000Z","keen_timestamp":"1514764860.5","sequences":{"questions":[{"id":"q","user_result":"correct","options":[]}]}}"#;
    let mut input = Vec::new();
    input.extend_from_slice(good.as_bytes());
    input.extend_from_slice(b"\n{\"keen_id\":\"trunc\n42\n\xff\xfe{\"bad\":1}\n\n");
    input.extend_from_slice(&vec![b'x'; 10 * 1024 * 1024]);
    input.extend_from_slice(b"\n");
    input.extend_from_slice(good.replace("k1", "k2").as_bytes());
    input.extend_from_slice(b"\n");
    std::fs::write(dir.path().join("in.ndjson"), &input).unwrap_or_else(|e| panic!("{e}"));

    let stdout = ok(
        dir.path(),
        &[
            "ingest",
            "--from-file",
            "in.ndjson",
            "--tenant",
            "acme",
            "--warehouse",
            "w",
        ],
    );
    assert!(
        stdout.contains("read 7, landed 2, quarantined 5"),
        "{stdout}"
    );

    let quarantined = parquet_under(&dir.path().join("w/tenant=acme/quarantine/ingest"));
    let quarantined = quarantined
        .first()
        .unwrap_or_else(|| panic!("no quarantine file"));
    let reasons: Vec<String> = quarantined
        .column("reason")
        .and_then(|c| c.str().cloned())
        .map(|c| {
            c.iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let positions: Vec<i64> = quarantined
        .column("position")
        .and_then(|c| c.i64().cloned())
        .map(|c| c.iter().flatten().collect())
        .unwrap_or_default();
    assert_eq!(positions, vec![2, 3, 4, 5, 6]);
    assert!(
        reasons[0].starts_with("invalid JSON: EOF while parsing"),
        "{reasons:?}"
    );
    assert_eq!(reasons[1], "not a JSON object: starts with \"42\"");
    assert_eq!(reasons[2], "invalid UTF-8 at byte 0");
    assert_eq!(reasons[3], "empty record");
    assert_eq!(
        reasons[4],
        "record of 10485760 bytes exceeds the 1048576-byte limit"
    );
    // The quarantined bytes are the original bytes, the 10 MB line included.
    let payloads = quarantined
        .column("payload")
        .and_then(|c| c.binary().cloned())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(payloads.get(2), Some(&b"\xff\xfe{\"bad\":1}"[..]));
    assert_eq!(payloads.get(4).map(<[u8]>::len), Some(10 * 1024 * 1024));

    let raw = parquet_under(&dir.path().join("w/tenant=acme/raw"));
    let landed: usize = raw.iter().map(DataFrame::height).sum();
    assert_eq!(landed, 2);
    let payload = raw[0]
        .column("payload")
        .and_then(|c| c.binary().cloned())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        payload.get(0),
        Some(good.as_bytes()),
        "raw payload is byte-identical"
    );

    // Landing the same file again lands nothing twice.
    let again = ok(
        dir.path(),
        &[
            "ingest",
            "--from-file",
            "in.ndjson",
            "--tenant",
            "acme",
            "--warehouse",
            "w",
        ],
    );
    assert!(
        again.contains("landed 0, quarantined 0, skipped 7 already landed"),
        "{again}"
    );
}

#[test]
fn json_array_input_lands_one_row_per_element() {
    let dir = temp();
    ok(
        dir.path(),
        &[
            "generate",
            "--tenant",
            "acme",
            "--attempts",
            "200",
            "--format",
            "json",
            "--out",
            "a.json",
        ],
    );
    let stdout = ok(
        dir.path(),
        &[
            "ingest",
            "--from-file",
            "a.json",
            "--tenant",
            "acme",
            "--warehouse",
            "w",
            "--batch-records",
            "64",
        ],
    );
    assert!(
        stdout.contains("read 200, landed 200, quarantined 0"),
        "{stdout}"
    );
    let raw = parquet_under(&dir.path().join("w/tenant=acme/raw"));
    assert_eq!(raw.len(), 4, "200 records in batches of 64");
}

#[test]
fn transform_is_idempotent_and_applies_the_rules() {
    let dir = temp();
    ok(
        dir.path(),
        &[
            "generate",
            "--tenant",
            "acme",
            "--attempts",
            "3280",
            "--out",
            "acme.ndjson",
        ],
    );
    ok(
        dir.path(),
        &[
            "ingest",
            "--from-file",
            "acme.ndjson",
            "--tenant",
            "acme",
            "--warehouse",
            "w",
        ],
    );
    let first = ok(dir.path(), &["transform", "--warehouse", "w"]);
    let table = |name: &str| crate::read_table(&dir.path().join("w"), "acme", name);
    let (assessments, questions, exams) =
        (table("assessments"), table("questions"), table("exams"));
    let second = ok(
        dir.path(),
        &["transform", "--warehouse", "w", "--tenant", "acme"],
    );
    assert!(second.contains("nothing new (0 new raw files"), "{second}");
    assert_eq!(
        first.lines().skip(1).collect::<Vec<_>>(),
        second.lines().skip(1).collect::<Vec<_>>()
    );
    assert!(
        assessments.equals_missing(&table("assessments"))
            && questions.equals_missing(&table("questions"))
    );

    // 3280 rows: 5 test records, 38 repeats -> 3237 distinct customer attempts.
    assert_eq!(assessments.height(), 3237, "{first}");
    assert!(first.contains("quarantined 5 test records"), "{first}");
    assert_eq!(exams.height(), 102);
    let started = assessments
        .column("started_at")
        .map(|c| c.dtype().clone())
        .unwrap_or(DataType::Null);
    assert_eq!(
        started,
        DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
    );
    // Every question row links to a kept attempt.
    let n_questions: i64 = assessments
        .column("n_questions")
        .and_then(|c| c.cast(&DataType::Int64))
        .map(|c| c.i64().map(|c| c.sum().unwrap_or(0)).unwrap_or(0))
        .unwrap_or(0);
    assert_eq!(questions.height() as i64, n_questions);
    // Every option row belongs to a kept question: as many as the questions' option counts.
    let n_options: i64 = questions
        .column("n_options")
        .and_then(|c| c.cast(&DataType::Int64))
        .map(|c| c.i64().map(|c| c.sum().unwrap_or(0)).unwrap_or(0))
        .unwrap_or(0);
    assert_eq!(table("options").height() as i64, n_options);
    let dq: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("w/tenant=acme/tables/data_quality.json"))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(dq["test_records"], 5);
    assert_eq!(
        dq["exact_duplicates_dropped"].as_u64().unwrap_or(0)
            + dq["superseded_versions"].as_u64().unwrap_or(0),
        38
    );
    assert!(dq["counts_mismatches"].as_u64().unwrap_or(0) > 0);
    assert_eq!(dq["reconciliation"]["holds"], true);
    assert_eq!(dq["reconciliation"]["raw_records"], 3280);
    assert!(
        first.contains("reconciliation: 3280 raw = 3237 kept + "),
        "{first}"
    );
    let markdown = std::fs::read_to_string(dir.path().join("w/tenant=acme/tables/data_quality.md"))
        .unwrap_or_default();
    assert!(markdown.contains("| test_record | Ok | 5 |"), "{markdown}");

    // A crossed error threshold exits 3, says which rule, and still writes the tables.
    let strict = examlake(
        dir.path(),
        &[
            "transform",
            "--warehouse",
            "w",
            "--dq-threshold",
            "test_record=0:0.001",
        ],
    );
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("tenant acme test_record 0.15% > 0.10%"),
        "{stderr}"
    );
    assert!(table("assessments").equals_missing(&assessments));
}

#[test]
fn demo_leaves_charts_tables_and_a_summary_per_tenant() {
    let dir = temp();
    let sample = sample_dir();
    let stdout = ok(
        dir.path(),
        &["demo", "--sample-dir", sample.to_str().unwrap_or_default()],
    );
    assert!(stdout.contains("charts (PNG + SVG)"), "{stdout}");
    for tenant in ["acme", "globex"] {
        let files = files_under(&dir.path().join("reports").join(tenant));
        let count = |ext: &str| {
            files
                .iter()
                .filter(|f| f.extension().is_some_and(|e| e == ext))
                .count()
        };
        assert!(
            count("png") >= 5 && count("svg") >= 5,
            "{tenant}: {files:?}"
        );
        assert!(count("csv") >= 5, "{tenant}: {files:?}");
        assert!(files.iter().any(|f| f.ends_with("summary.md")), "{tenant}");
        for png in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "png"))
        {
            let size = std::fs::metadata(png).map(|m| m.len()).unwrap_or(0);
            assert!(
                size > 10_000,
                "{} looks empty ({size} bytes)",
                png.display()
            );
        }
        let svg = files
            .iter()
            .find(|f| f.ends_with("high_scores.svg"))
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .unwrap_or_default();
        assert!(
            svg.contains("Share of attempts scoring") && svg.contains("50%: majority"),
            "chart has a title and legend"
        );
    }
    let second = examlake(
        dir.path(),
        &["demo", "--sample-dir", sample.to_str().unwrap_or_default()],
    );
    assert!(second.status.success(), "demo can be re-run");
}

#[test]
fn query_runs_analyst_sql_on_one_tenant_only() {
    let dir = temp();
    ok(
        dir.path(),
        &[
            "demo",
            "--sample-dir",
            sample_dir().to_str().unwrap_or_default(),
        ],
    );
    let sql = "SELECT exam_name, COUNT(*) AS attempts FROM assessments GROUP BY exam_name ORDER BY attempts DESC, exam_name LIMIT 2\n";
    std::fs::write(dir.path().join("top.sql"), sql).unwrap_or_else(|e| panic!("{e}"));
    let csv = ok(
        dir.path(),
        &["query", "top.sql", "--tenant", "acme", "--format", "csv"],
    );
    assert_eq!(
        csv,
        "exam_name,attempts\nLearning Git,390\nIntroduction to Python,162\n"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(
        dir.path(),
        &["query", "top.sql", "--tenant", "globex", "--format", "json"],
    ))
    .unwrap_or_default();
    assert_eq!(json[0]["exam_name"], "Learning Git");
    assert_ne!(json[0]["attempts"], 390, "globex has its own data");
    ok(
        dir.path(),
        &[
            "query",
            "top.sql",
            "--tenant",
            "acme",
            "--format",
            "parquet",
            "--out",
            "top.parquet",
        ],
    );
    assert_eq!(read_parquet(&dir.path().join("top.parquet")).height(), 2);

    // Reaching another tenant's data by path or by name fails with exit 2 and prints none of it.
    for (file, sql, expected) in [
        (
            "path.sql",
            "SELECT * FROM read_parquet('warehouse/tenant=globex/tables/assessments/*.parquet')",
            "read_parquet is not allowed",
        ),
        ("name.sql", "SELECT * FROM globex.assessments", "not found"),
    ] {
        std::fs::write(dir.path().join(file), sql).unwrap_or_else(|e| panic!("{e}"));
        let out = examlake(dir.path(), &["query", file, "--tenant", "acme"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert!(stderr.contains(expected), "{file}: {stderr}");
        assert!(out.stdout.is_empty(), "{file} printed data");
    }
}
