//! Tenant isolation, attacked: the real broker with SASL/SCRAM and ACLs (the test command starts
//! it with KAFKA_AUTH=scram), real files, the real CLI. Every attack must fail, leave an audit
//! line where the warehouse is involved, and leave the other tenant's data untouched.

use std::path::Path;
use std::process::Command;

use super::kafka::{brokers, unique};
use super::{examlake, ok, sample_dir, temp};

fn services_script() -> String {
    super::repo_path("scripts/services.sh")
        .display()
        .to_string()
}

/// `examlake` with no ambient Kafka credential: each call says whose credential it uses.
fn as_user(dir: &Path, user: Option<(&str, &str)>, args: &[&str]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_examlake"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("EXAMLAKE_WAREHOUSE")
        .env_remove("EXAMLAKE_KAFKA_USER")
        .env_remove("EXAMLAKE_KAFKA_PASSWORD")
        .env_remove("EXAMLAKE_TOKEN");
    if let Some((name, password)) = user {
        command
            .env("EXAMLAKE_KAFKA_USER", name)
            .env("EXAMLAKE_KAFKA_PASSWORD", password);
    }
    command.output().unwrap_or_else(|e| panic!("{e}"))
}

fn admin() -> (String, String) {
    match (std::env::var("EXAMLAKE_KAFKA_USER"), std::env::var("EXAMLAKE_KAFKA_PASSWORD")) {
        (Ok(user), Ok(password)) => (user, password),
        _ => panic!("the broker must run with KAFKA_AUTH=scram and the test command must export EXAMLAKE_KAFKA_USER/PASSWORD (the admin)"),
    }
}

/// Register a tenant: topic, Kafka credential + ACLs, analyst token. Returns (kafka password, token).
fn add_tenant(dir: &Path, tenant: &str) -> (String, String) {
    let (user, password) = admin();
    let b = brokers();
    let command = format!("bash {}", services_script());
    let out = as_user(
        dir,
        Some((&user, &password)),
        &[
            "tenant",
            "add",
            tenant,
            "--warehouse",
            "w",
            "--brokers",
            &b,
            "--kafka-admin-command",
            &format!("{command} kafka-tenant"),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "tenant add {tenant}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kafka_password = stdout
        .lines()
        .find_map(|l| l.split(" password ").nth(1))
        .unwrap_or_else(|| panic!("no kafka password in {stdout}"))
        .trim()
        .to_string();
    let token = stdout
        .lines()
        .find_map(|l| l.rsplit(": ").next().filter(|t| t.starts_with("exl_")))
        .unwrap_or_else(|| panic!("no token in {stdout}"))
        .to_string();
    (kafka_password, token)
}

fn audit_lines(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("w/_registry/audit.ndjson"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn tree_digest(dir: &Path) -> Vec<(String, u64)> {
    super::files_under(dir)
        .iter()
        .map(|p| {
            (
                p.display().to_string(),
                std::fs::read(p)
                    .map(|b| b.iter().map(|x| u64::from(*x)).sum())
                    .unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn every_route_to_another_tenants_data_is_refused() {
    let dir = temp();
    let d = dir.path();
    let a = unique("iso-a");
    let b = unique("iso-b");
    let (a_kafka, a_token) = add_tenant(d, &a);
    let (b_kafka, _b_token) = add_tenant(d, &b);
    let brokers = brokers();
    let (admin_user, admin_password) = admin();
    let a_user = format!("tenant-{a}");
    let b_user = format!("tenant-{b}");
    let sample = sample_dir().join("acme.ndjson.gz").display().to_string();
    let small = sample_dir().join("globex.ndjson.gz").display().to_string();

    // Each tenant produces its own data with its own credential.
    let produced = as_user(
        d,
        Some((&a_user, &a_kafka)),
        &[
            "produce",
            "--tenant",
            &a,
            "--file",
            &small,
            "--brokers",
            &brokers,
        ],
    );
    assert!(
        produced.status.success(),
        "{}",
        String::from_utf8_lossy(&produced.stderr)
    );
    let produced = as_user(
        d,
        Some((&b_user, &b_kafka)),
        &[
            "produce",
            "--tenant",
            &b,
            "--file",
            &sample,
            "--brokers",
            &brokers,
        ],
    );
    assert!(
        produced.status.success(),
        "{}",
        String::from_utf8_lossy(&produced.stderr)
    );

    // Kafka: A's credential writing to B's topic is rejected by the broker.
    let attack = as_user(
        d,
        Some((&a_user, &a_kafka)),
        &[
            "produce",
            "--tenant",
            &b,
            "--file",
            &small,
            "--brokers",
            &brokers,
        ],
    );
    assert!(!attack.status.success(), "A produced into B's topic");
    let stderr = String::from_utf8_lossy(&attack.stderr);
    assert!(
        stderr.contains("uthoriz"),
        "no authorization error: {stderr}"
    );

    // Kafka: A's credential reading B's topic is rejected.
    let attack = as_user(
        d,
        Some((&a_user, &a_kafka)),
        &[
            "ingest",
            "--brokers",
            &brokers,
            "--tenant",
            &b,
            "--until-caught-up",
            "--warehouse",
            "stolen",
            "--group",
            "examlake-steal",
        ],
    );
    assert!(!attack.status.success(), "A read B's topic");
    assert!(
        !d.join("stolen").join(format!("tenant={b}")).exists(),
        "something of B landed for A"
    );

    // The ingest service principal (Read on assessments.*, groups examlake-*) lands both; B's
    // topic holds exactly B's 3280 records.
    let ingest_user = unique("ingest");
    let created = Command::new("bash")
        .args([
            services_script().as_str(),
            "kafka-ingest-user",
            &ingest_user,
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let ingest_password = String::from_utf8_lossy(&created.stdout).trim().to_string();
    let group = unique("examlake-iso");
    let landed = as_user(
        d,
        Some((&ingest_user, &ingest_password)),
        &[
            "ingest",
            "--brokers",
            &brokers,
            "--until-caught-up",
            "--warehouse",
            "w",
            "--group",
            &group,
            "--tenant",
            &a,
        ],
    );
    assert!(
        landed.status.success(),
        "{}",
        String::from_utf8_lossy(&landed.stderr)
    );
    let landed = as_user(
        d,
        Some((&ingest_user, &ingest_password)),
        &[
            "ingest",
            "--brokers",
            &brokers,
            "--until-caught-up",
            "--warehouse",
            "w",
            "--group",
            &group,
            "--tenant",
            &b,
        ],
    );
    let landed_out = String::from_utf8_lossy(&landed.stdout);
    assert!(
        landed.status.success(),
        "{landed_out}{}",
        String::from_utf8_lossy(&landed.stderr)
    );
    assert!(landed_out.contains(&format!("({b} 3280)")), "{landed_out}");
    // The ingest principal may read but not write a tenant topic.
    let attack = as_user(
        d,
        Some((&ingest_user, &ingest_password)),
        &[
            "produce",
            "--tenant",
            &b,
            "--file",
            &small,
            "--brokers",
            &brokers,
        ],
    );
    assert!(
        !attack.status.success(),
        "the ingest principal wrote into a tenant topic"
    );
    ok(d, &["transform", "--warehouse", "w", "--tenant", &a]);
    ok(d, &["transform", "--warehouse", "w", "--tenant", &b]);
    let b_before = tree_digest(&d.join(format!("w/tenant={b}")));
    std::fs::write(d.join("a.token"), &a_token).unwrap_or_else(|e| panic!("{e}"));

    // Reports and queries with A's token, asking for B's data by every route.
    let refused = |args: &[&str], what: &str| {
        let out = as_user(d, None, args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(6),
            "{what}: expected access denied (6)\n{stdout}\n{stderr}"
        );
        assert!(stderr.contains("access denied"), "{what}: {stderr}");
        assert!(
            stdout.trim().is_empty(),
            "{what}: printed something: {stdout}"
        );
    };
    refused(
        &[
            "report",
            "overview",
            "--tenant",
            &b,
            "--warehouse",
            "w",
            "--token-file",
            "a.token",
        ],
        "--tenant b",
    );
    refused(
        &[
            "report",
            "all",
            "--tenant",
            &b,
            "--warehouse",
            "w",
            "--token-file",
            "a.token",
            "--out",
            "r",
        ],
        "report all for b",
    );
    for (name, sql) in [
        (
            "path.sql",
            format!("SELECT * FROM read_parquet('w/tenant={b}/tables/assessments/*.parquet')"),
        ),
        ("schema.sql", format!("SELECT * FROM {b}.assessments")),
        ("quoted.sql", format!("SELECT * FROM \"tenant={b}\"")),
    ] {
        std::fs::write(d.join(name), &sql).unwrap_or_else(|e| panic!("{e}"));
        refused(
            &[
                "query",
                name,
                "--tenant",
                &a,
                "--warehouse",
                "w",
                "--token-file",
                "a.token",
            ],
            &sql,
        );
        refused(
            &[
                "query",
                name,
                "--tenant",
                &b,
                "--warehouse",
                "w",
                "--token-file",
                "a.token",
            ],
            &sql,
        );
    }
    // No token, a wrong token, an expired token.
    refused(
        &["report", "overview", "--tenant", &a, "--warehouse", "w"],
        "no token",
    );
    std::fs::write(
        d.join("wrong.token"),
        a_token.replace(&a_token[a_token.len() - 4..], "0000"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    refused(
        &[
            "report",
            "overview",
            "--tenant",
            &a,
            "--warehouse",
            "w",
            "--token-file",
            "wrong.token",
        ],
        "wrong token",
    );
    let expired = ok(
        d,
        &["tenant", "token", &a, "--warehouse", "w", "--days", "0"],
    );
    let expired = expired
        .rsplit(": ")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    std::fs::write(d.join("expired.token"), expired).unwrap_or_else(|e| panic!("{e}"));
    refused(
        &[
            "report",
            "overview",
            "--tenant",
            &a,
            "--warehouse",
            "w",
            "--token-file",
            "expired.token",
        ],
        "expired token",
    );
    // Tenant-id path tricks never reach a path.
    for trick in [
        "../".to_string() + &b,
        format!("{b}/.."),
        b.to_uppercase(),
        format!("{b}\u{0430}"),
        String::new(),
        "x".repeat(64),
    ] {
        let out = examlake(
            d,
            &[
                "report",
                "overview",
                "--tenant",
                &trick,
                "--warehouse",
                "w",
                "--token-file",
                "a.token",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "tenant {trick:?}");
    }

    // Every refusal is audited, without secrets.
    let audit = audit_lines(d);
    assert!(audit.len() >= 10, "{audit:?}");
    let text = std::fs::read_to_string(d.join("w/_registry/audit.ndjson")).unwrap_or_default();
    assert!(
        !text.contains(&a_token[a_token.len() - 64..]),
        "a secret leaked into the audit log"
    );
    assert!(audit
        .iter()
        .all(|e| e["event"] == "access_denied" && e["at"].is_string() && e["what"].is_string()));

    // A's own reports work with A's token and hold none of B's rows; B's data is unchanged.
    let out = as_user(
        d,
        None,
        &[
            "report",
            "overview",
            "--tenant",
            &a,
            "--warehouse",
            "w",
            "--token-file",
            "a.token",
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let overview: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let attempts = overview["summary"]["attempts"].as_u64().unwrap_or(0);
    assert!(attempts > 0 && attempts < 1200, "A's overview counts {attempts} attempts: only A's globex-shaped sample (1,200 records) may count");
    assert_eq!(
        tree_digest(&d.join(format!("w/tenant={b}"))),
        b_before,
        "B's data changed"
    );

    // Removing a tenant revokes its Kafka credential too.
    let removed = as_user(
        d,
        Some((&admin_user, &admin_password)),
        &[
            "tenant",
            "remove",
            &a,
            "--warehouse",
            "w",
            "--kafka-admin-command",
            &format!("bash {} kafka-tenant", services_script()),
        ],
    );
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    let after = as_user(
        d,
        Some((&a_user, &a_kafka)),
        &[
            "produce",
            "--tenant",
            &a,
            "--file",
            &small,
            "--brokers",
            &brokers,
        ],
    );
    assert!(
        !after.status.success(),
        "a removed tenant could still produce"
    );
}
