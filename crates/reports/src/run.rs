//! One report run for one tenant: load its tables, build the asked reports, write their files.

use std::path::PathBuf;

use chrono::NaiveDate;
use examlake_core::{layout, Storage, TenantId};

use crate::error::Result;
use crate::render;
use crate::report::Report;
use crate::reports::{ReportName, ReportParams};
use crate::tables::TenantTables;

/// What to report on and where to write.
#[derive(Debug, Clone)]
pub struct ReportRunConfig {
    pub tenant: TenantId,
    pub reports: Vec<ReportName>,
    /// Files go to `<out_dir>/<tenant>/<date>/`; `None` builds the reports without writing files.
    pub out_dir: Option<PathBuf>,
    /// The run date naming the output directory.
    pub date: NaiveDate,
    pub params: ReportParams,
}

impl ReportRunConfig {
    /// Every canned report for `tenant`, with default parameters, dated and counted as of `date`.
    pub fn all(tenant: TenantId, out_dir: PathBuf, date: NaiveDate) -> Self {
        ReportRunConfig {
            tenant,
            reports: ReportName::ALL.to_vec(),
            out_dir: Some(out_dir),
            date,
            params: ReportParams::new(date),
        }
    }
}

/// The reports built, and the files written.
#[derive(Debug)]
pub struct ReportRunOutput {
    pub reports: Vec<Report>,
    pub dir: Option<PathBuf>,
    pub files: Vec<PathBuf>,
}

pub fn run(config: &ReportRunConfig, store: &dyn Storage) -> Result<ReportRunOutput> {
    let tables = TenantTables::load(store, &config.tenant)?;
    let reports = config
        .reports
        .iter()
        .map(|name| timed_build(*name, &tables, &config.params))
        .collect::<Result<Vec<_>>>()?;
    let Some(out_dir) = &config.out_dir else {
        return Ok(ReportRunOutput {
            reports,
            dir: None,
            files: Vec::new(),
        });
    };
    let dir = out_dir.join(layout::report_dir(&config.tenant, config.date));
    let mut files = Vec::new();
    for report in &reports {
        files.extend(render::write_report(report, &dir)?);
    }
    let data_quality = read_data_quality(store, &config.tenant)?;
    let page = crate::html::page(
        config.tenant.as_str(),
        &config.date.to_string(),
        chrono::Utc::now(),
        &reports,
        data_quality.as_ref(),
    )?;
    let index = dir.join("index.html");
    render::write_text(&index, &page)?;
    files.push(index);
    let summary_path = dir.join("summary.md");
    render::write_text(
        &summary_path,
        &summary_markdown(&config.tenant, config.date, &reports, store)?,
    )?;
    files.push(summary_path);
    Ok(ReportRunOutput {
        reports,
        dir: Some(dir),
        files,
    })
}

/// Build one report, logging how long it took (`-v` shows it).
fn timed_build(name: ReportName, tables: &TenantTables, params: &ReportParams) -> Result<Report> {
    let started = std::time::Instant::now();
    let report = name.build(tables, params)?;
    tracing::info!(
        tenant = %tables.tenant,
        report = report.name,
        rows = report.rows.len(),
        seconds = started.elapsed().as_secs_f64(),
        "report built"
    );
    Ok(report)
}

/// The run's Markdown summary: each report's answer and table, then the data-quality summary.
fn summary_markdown(
    tenant: &TenantId,
    date: NaiveDate,
    reports: &[Report],
    store: &dyn Storage,
) -> Result<String> {
    let mut out = format!("# examlake report — tenant {tenant}, {date}\n\n");
    for report in reports {
        out += &format!("- **{}** {}\n", report.question, report.answer);
    }
    out.push('\n');
    for report in reports {
        out += &report.to_markdown();
        if let Some(chart) = &report.chart {
            out += &format!("\n![{}]({}.png)\n", chart.title, chart.file_stem);
        }
        out.push('\n');
    }
    let dq_key = layout::data_quality_file(tenant);
    if store.exists(&dq_key)? {
        let text = String::from_utf8_lossy(&store.read(&dq_key)?).into_owned();
        out += &format!(
            "## Data quality (last transform)\n\n```json\n{}\n```\n",
            text.trim()
        );
    }
    Ok(out)
}

/// The transform's data-quality summary (it carries the lineage), when present.
fn read_data_quality(store: &dyn Storage, tenant: &TenantId) -> Result<Option<serde_json::Value>> {
    let key = layout::data_quality_file(tenant);
    if !store.exists(&key)? {
        return Ok(None);
    }
    Ok(serde_json::from_slice(&store.read(&key)?).ok())
}
