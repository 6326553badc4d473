//! The HTML report in real headless Chromium: it loads with no console errors, every chart is
//! in the rendered page, and a screenshot is kept as a test artifact.
//!
//! Needs Debian's `chromium` (scripts/test.sh installs it); CHROMIUM overrides the binary.

use std::process::Command;

use super::{ok, sample_dir, temp};

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_string())
}

/// Flags for a headless run on a machine with no network (see the env notes on Chromium).
const HEADLESS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
];

#[test]
fn html_report_renders_in_headless_chromium() {
    let dir = temp();
    ok(
        dir.path(),
        &[
            "demo",
            "--sample-dir",
            sample_dir().to_str().unwrap_or_default(),
        ],
    );
    let index = super::files_under(&dir.path().join("reports/acme"))
        .into_iter()
        .find(|f| f.ends_with("index.html"))
        .unwrap_or_else(|| panic!("no index.html"));
    let html = std::fs::read_to_string(&index).unwrap_or_default();
    for external in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "<script",
        "<link",
        "<img src=\"/",
        "@import",
    ] {
        assert!(!html.contains(external), "self-contained: found {external}");
    }
    let url = format!("file://{}", index.display());
    let profile = dir.path().join("chromium-profile");

    let dump = Command::new(chromium())
        .args(HEADLESS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--v=0", "--dump-dom", &url])
        .output()
        .unwrap_or_else(|e| panic!("running {} (install Debian's chromium): {e}", chromium()));
    let dom = String::from_utf8_lossy(&dump.stdout);
    let log = String::from_utf8_lossy(&dump.stderr);
    assert!(dump.status.success(), "chromium failed: {log}");
    assert_eq!(
        dom.matches("<svg").count(),
        7,
        "every chart is in the rendered page"
    );
    for section in [
        "overview",
        "high-scores",
        "least-popular",
        "most-missed",
        "last-taken",
        "item-analysis",
        "data-quality",
        "lineage",
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{section}\"")),
            "{section}"
        );
    }
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("rror") || l.contains("Uncaught")))
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:?}"
    );

    let artifacts = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artifacts).unwrap_or_else(|e| panic!("{e}"));
    let screenshot = artifacts.join("index.png");
    let shot = Command::new(chromium())
        .args(HEADLESS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--hide-scrollbars", "--window-size=1500,2600"])
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let size = std::fs::metadata(&screenshot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 50_000,
        "screenshot {} is {size} bytes: blank?",
        screenshot.display()
    );
}
