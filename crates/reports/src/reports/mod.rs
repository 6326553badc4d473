//! The canned reports, one file each, named after the report.

pub mod columns;
pub mod distractors;
pub mod high_scores;
pub mod item_analysis;
pub mod last_taken;
pub mod least_popular;
pub mod most_missed;
pub mod overview;

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::error::Result;
use crate::report::Report;
use crate::tables::TenantTables;

/// The canned reports, by command name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportName {
    Overview,
    HighScores,
    LeastPopular,
    MostMissed,
    LastTaken,
    ItemAnalysis,
    Distractors,
}

impl ReportName {
    pub const ALL: [ReportName; 7] = [
        ReportName::Overview,
        ReportName::HighScores,
        ReportName::LeastPopular,
        ReportName::MostMissed,
        ReportName::LastTaken,
        ReportName::ItemAnalysis,
        ReportName::Distractors,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportName::Overview => "overview",
            ReportName::HighScores => "high-scores",
            ReportName::LeastPopular => "least-popular",
            ReportName::MostMissed => "most-missed",
            ReportName::LastTaken => "last-taken",
            ReportName::ItemAnalysis => "item-analysis",
            ReportName::Distractors => "distractors",
        }
    }

    /// Build this report from the tenant's tables.
    pub fn build(self, tables: &TenantTables, params: &ReportParams) -> Result<Report> {
        match self {
            ReportName::Overview => overview::build(tables, params),
            ReportName::HighScores => high_scores::build(tables, params),
            ReportName::LeastPopular => least_popular::build(tables, params),
            ReportName::MostMissed => most_missed::build(tables, params),
            ReportName::LastTaken => last_taken::build(tables, params),
            ReportName::ItemAnalysis => item_analysis::build(tables, params),
            ReportName::Distractors => distractors::build(tables, params),
        }
    }
}

/// Knobs shared by the reports. Defaults are documented on each field.
#[derive(Debug, Clone)]
pub struct ReportParams {
    /// A "high score" is a score at least this (default 0.8).
    pub threshold: f64,
    /// Rows kept by ranked reports (most-missed; default 15), extended to ties.
    pub top: usize,
    /// Rows kept by least-popular (default 10), extended to ties.
    pub bottom: usize,
    /// Exams with fewer attempts are left out of the high-scores chart (default 5).
    pub min_attempts: u64,
    /// An exam is stale when its last attempt is more than this many days before the tenant's
    /// latest attempt (default 30).
    pub stale_days: i64,
    /// high-scores: "consistently high" looks at the last `weeks` weeks of data (default 4)…
    pub weeks: usize,
    /// …and needs the Wilson lower bound above 0.5 in at least this many of them (default 3).
    pub weeks_needed: usize,
    /// item-analysis: items presented fewer times get no statistics (default 30).
    pub item_min_n: usize,
    /// "Days since" is counted to this date (default: today).
    pub as_of: NaiveDate,
    /// A directory of edited query files that replace the built-in ones.
    pub queries_dir: Option<PathBuf>,
}

impl ReportParams {
    pub fn new(as_of: NaiveDate) -> Self {
        ReportParams {
            threshold: 0.8,
            top: 15,
            bottom: 10,
            min_attempts: 5,
            stale_days: 30,
            weeks: 4,
            weeks_needed: 3,
            item_min_n: 30,
            as_of,
            queries_dir: None,
        }
    }
}

/// Bars shown at most in one chart; the title says when more exist.
pub const MAX_BARS: usize = 40;
