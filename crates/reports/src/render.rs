//! Writing a report's files: chart PNG + SVG, CSV, JSON and Markdown.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::charts::{draw_bar_chart, draw_heatmap, heatmap_size, Chart, Heatmap};
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
    if let Some(heatmap) = &report.heatmap {
        written.extend(write_heatmap(heatmap, dir)?);
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

/// The heatmap as `<stem>.png` and `<stem>.svg`.
pub fn write_heatmap(heatmap: &Heatmap, dir: &Path) -> Result<Vec<PathBuf>> {
    let size = heatmap_size(heatmap);
    let png = dir.join(format!("{}.png", heatmap.file_stem));
    let svg = dir.join(format!("{}.svg", heatmap.file_stem));
    let failed = |path: &Path| {
        let path = path.display().to_string();
        move |detail: String| ReportsError::Chart { path, detail }
    };
    draw_heatmap(heatmap, BitMapBackend::new(&png, size).into_drawing_area())
        .map_err(failed(&png))?;
    draw_heatmap(heatmap, SVGBackend::new(&svg, size).into_drawing_area()).map_err(failed(&svg))?;
    Ok(vec![png, svg])
}

/// The heatmap as an SVG string.
pub fn heatmap_svg(heatmap: &Heatmap) -> Result<String> {
    let mut svg = String::new();
    draw_heatmap(
        heatmap,
        SVGBackend::with_string(&mut svg, heatmap_size(heatmap)).into_drawing_area(),
    )
    .map_err(|detail| ReportsError::Chart {
        path: heatmap.file_stem.to_string(),
        detail,
    })?;
    Ok(svg)
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
