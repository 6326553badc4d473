//! End-to-end tests of the `examlake` binary on real files in temporary directories.

mod browser;
mod cli;
mod hdfs;
mod incremental;
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

/// A curated table of `tenant` in the local warehouse `warehouse`, read the way examlake reads it:
/// every file the transform manifest names, stacked.
pub fn read_table(warehouse: &Path, tenant: &str, table: &str) -> polars::prelude::DataFrame {
    use polars::prelude::*;
    let root = warehouse.join(format!("tenant={tenant}"));
    let manifest_path = root.join("tables/_manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", manifest_path.display()));
    let files: Vec<String> = manifest["tables"][table]
        .as_array()
        .unwrap_or_else(|| panic!("manifest has no table {table}"))
        .iter()
        .filter_map(|f| f.as_str().map(str::to_string))
        .collect();
    let frames: Vec<LazyFrame> = files
        .iter()
        .map(|file| {
            let path = warehouse.join(file);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            ParquetReader::new(std::io::Cursor::new(bytes))
                .finish()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .lazy()
        })
        .collect();
    concat(frames, UnionArgs::default())
        .and_then(LazyFrame::collect)
        .unwrap_or_else(|e| panic!("stacking {table}: {e}"))
}
