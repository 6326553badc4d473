//! End-to-end tests of the `examlake` binary on real files in temporary directories.

mod browser;
mod cli;
mod hdfs;
mod independent_check;
mod isolation;
mod kafka;
mod nightly;
mod pipeline;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run the built binary with `args` in `dir`.
pub fn examlake(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_examlake"))
        .args(args)
        .current_dir(dir)
        .env_remove("EXAMLAKE_WAREHOUSE")
        .output()
        .unwrap_or_else(|e| panic!("running examlake {args:?}: {e}"))
}

/// Run and require success; returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = examlake(dir, args);
    assert!(
        out.status.success(),
        "examlake {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// The repository's sample data directory.
pub fn sample_dir() -> PathBuf {
    repo_path("data/sample")
}

/// A path inside the repository, resolved at run time (a test binary may be reused from a build
/// in another checkout).
pub fn repo_path(relative: &str) -> PathBuf {
    let manifest = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    PathBuf::from(manifest).join("../..").join(relative)
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
