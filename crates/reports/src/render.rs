//! Writing a report's files: chart PNG + SVG, CSV, JSON and Markdown.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::charts::{draw_bar_chart, Chart};
use crate::error::{ReportsError, Result};
use crate::report::Report;

/// Every file written for one report.
pub fn write_report(report: &Report, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| ReportsError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let stem = report.name.replace('-', "_");
    let mut written = Vec::new();
    for (extension, text) in [
        ("csv", report.to_csv()),
        ("json", report.to_json_string()),
        ("md", report.to_markdown()),
    ] {
        let path = dir.join(format!("{stem}.{extension}"));
        write_text(&path, &text)?;
        written.push(path);
    }
    if let Some(chart) = &report.chart {
        written.extend(write_chart(chart, dir)?);
    }
    Ok(written)
}

/// The chart as `<stem>.png` and `<stem>.svg`.
pub fn write_chart(chart: &Chart, dir: &Path) -> Result<Vec<PathBuf>> {
    let size = crate::charts::bar_chart_size(chart);
    let png = dir.join(format!("{}.png", chart.file_stem));
    let svg = dir.join(format!("{}.svg", chart.file_stem));
    let chart_error = |path: &Path| {
        let path = path.display().to_string();
        move |detail: String| ReportsError::Chart { path, detail }
    };
    draw_bar_chart(chart, BitMapBackend::new(&png, size).into_drawing_area())
        .map_err(chart_error(&png))?;
    draw_bar_chart(chart, SVGBackend::new(&svg, size).into_drawing_area())
        .map_err(chart_error(&svg))?;
    Ok(vec![png, svg])
}

/// The chart as an SVG string (for inline HTML and golden tests).
pub fn chart_svg(chart: &Chart) -> Result<String> {
    let mut svg = String::new();
    let size = crate::charts::bar_chart_size(chart);
    draw_bar_chart(
        chart,
        SVGBackend::with_string(&mut svg, size).into_drawing_area(),
    )
    .map_err(|detail| ReportsError::Chart {
        path: chart.file_stem.to_string(),
        detail,
    })?;
    Ok(svg)
}

pub fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|source| ReportsError::Write {
        path: path.display().to_string(),
        source,
    })
}
