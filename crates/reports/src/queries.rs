//! The SQL behind each canned report: the files in `queries/`, built into the binary so the
//! reports work anywhere, and overridable at run time by a directory of edited copies.

use std::path::Path;

use crate::error::{ReportsError, Result};

/// The query files shipped with examlake, by file name.
pub const BUILT_IN: [(&str, &str); 9] = [
    (
        "overview.sql",
        include_str!("../../../queries/overview.sql"),
    ),
    (
        "high_scores.sql",
        include_str!("../../../queries/high_scores.sql"),
    ),
    (
        "high_scores_weekly.sql",
        include_str!("../../../queries/high_scores_weekly.sql"),
    ),
    (
        "least_popular.sql",
        include_str!("../../../queries/least_popular.sql"),
    ),
    (
        "most_missed.sql",
        include_str!("../../../queries/most_missed.sql"),
    ),
    (
        "most_missed_options.sql",
        include_str!("../../../queries/most_missed_options.sql"),
    ),
    (
        "last_taken.sql",
        include_str!("../../../queries/last_taken.sql"),
    ),
    (
        "distractors.sql",
        include_str!("../../../queries/distractors.sql"),
    ),
    (
        "item_analysis.sql",
        include_str!("../../../queries/item_analysis.sql"),
    ),
];

/// The text of query `file`: from `override_dir` when it has the file, else the built-in copy.
pub fn load(file: &str, override_dir: Option<&Path>) -> Result<String> {
    if let Some(dir) = override_dir {
        let path = dir.join(file);
        if path.is_file() {
            return std::fs::read_to_string(&path).map_err(|source| ReportsError::ReadQuery {
                path: path.display().to_string(),
                source,
            });
        }
    }
    BUILT_IN
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, sql)| (*sql).to_string())
        .ok_or_else(|| ReportsError::ReadQuery {
            path: file.to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such built-in query"),
        })
}

/// Replace `{{name}}` placeholders with values.
pub fn bind(sql: &str, params: &[(&str, String)]) -> String {
    params.iter().fold(sql.to_string(), |sql, (name, value)| {
        sql.replace(&format!("{{{{{name}}}}}"), value)
    })
}
