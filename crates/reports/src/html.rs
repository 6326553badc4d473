//! `index.html`: one self-contained page per run, every chart inline as SVG, every table, the
//! data-quality summary and the lineage. No scripts, no external resources, no network access.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::Result;
use crate::render::{chart_svg, heatmap_svg};
use crate::report::{plain, Report};

/// Rows shown per table on the page; the CSV and JSON files hold them all.
const MAX_ROWS: usize = 200;

/// Escape text for HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page. `data_quality` is the transform's `data_quality.json`, when present.
pub fn page(
    tenant: &str,
    date: &str,
    generated_at: DateTime<Utc>,
    reports: &[Report],
    data_quality: Option<&Value>,
) -> Result<String> {
    let mut out = String::with_capacity(256 * 1024);
    let title = format!(
        "examlake report — tenant {}, {}",
        escape(tenant),
        escape(date)
    );
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>{STYLE}</style></head>\n<body>\n<h1>{title}</h1>\n<p class=\"meta\">Generated {} UTC by examlake {}.</p>\n<nav><ul>",
        generated_at.format("%Y-%m-%d %H:%M:%S"),
        env!("CARGO_PKG_VERSION")
    );
    for report in reports {
        let _ = write!(
            out,
            "<li><a href=\"#{}\">{}</a></li>",
            report.name,
            escape(report.question)
        );
    }
    out += "<li><a href=\"#data-quality\">Data quality</a></li><li><a href=\"#lineage\">Lineage</a></li></ul></nav>\n";
    for report in reports {
        section(&mut out, report)?;
    }
    data_quality_section(&mut out, data_quality);
    lineage_section(&mut out, data_quality);
    out += "</body></html>\n";
    Ok(out)
}

fn section(out: &mut String, report: &Report) -> Result<()> {
    let _ = writeln!(
        out,
        "<section id=\"{}\"><h2>{}</h2><p class=\"question\">{}</p><p class=\"answer\">{}</p>",
        report.name,
        escape(&report.title),
        escape(report.question),
        escape(&report.answer)
    );
    if let Some(chart) = &report.chart {
        let _ = writeln!(
            out,
            "<figure class=\"chart\">{}</figure>",
            strip_xml_declaration(&chart_svg(chart)?)
        );
    }
    if let Some(heatmap) = &report.heatmap {
        let _ = writeln!(
            out,
            "<figure class=\"chart\">{}</figure>",
            strip_xml_declaration(&heatmap_svg(heatmap)?)
        );
    }
    table(out, &report.columns, &report.rows);
    out.push_str("</section>\n");
    Ok(())
}

fn table(out: &mut String, columns: &[&str], rows: &[Vec<Value>]) {
    out.push_str("<table><thead><tr>");
    for column in columns {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows.iter().take(MAX_ROWS) {
        out.push_str("<tr>");
        for value in row {
            let class = if value.is_number() {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(&plain(value)));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
    if rows.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"meta\">{} of {} rows shown; the CSV and JSON files hold all of them.</p>",
            MAX_ROWS,
            rows.len()
        );
    }
}

fn data_quality_section(out: &mut String, data_quality: Option<&Value>) {
    out.push_str("<section id=\"data-quality\"><h2>Data quality</h2>\n");
    let Some(dq) = data_quality else {
        out.push_str("<p>No data-quality summary found.</p></section>\n");
        return;
    };
    let r = &dq["reconciliation"];
    let _ = writeln!(
        out,
        "<p>Reconciliation: {} raw records = {} kept + {} quarantined + {} dropped duplicates ({}).</p>",
        r["raw_records"], r["kept"], r["quarantined"], r["dropped_duplicates"],
        if r["holds"] == true { "holds" } else { "does not hold" }
    );
    let rows: Vec<Vec<Value>> = dq["rules"]
        .as_array()
        .map(|rules| {
            rules
                .iter()
                .map(|rule| {
                    vec![
                        rule["rule"].clone(),
                        rule["status"].clone(),
                        rule["count"].clone(),
                        rule["rate"].clone(),
                        rule["warn_at"].clone(),
                        rule["error_at"].clone(),
                        rule["policy"].clone(),
                        rule["examples"].clone(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    table(
        out,
        &[
            "rule", "status", "count", "rate", "warn_at", "error_at", "policy", "examples",
        ],
        &rows,
    );
    out.push_str("</section>\n");
}

fn lineage_section(out: &mut String, data_quality: Option<&Value>) {
    out.push_str("<section id=\"lineage\"><h2>Lineage</h2><p>The raw files the tables were built from.</p>\n");
    let rows: Vec<Vec<Value>> = data_quality
        .and_then(|dq| dq["raw_inputs"].as_array())
        .map(|inputs| {
            inputs
                .iter()
                .map(|i| {
                    vec![
                        i["key"].clone(),
                        i["source"].clone(),
                        i["rows"].clone(),
                        i["first_position"].clone(),
                        i["last_position"].clone(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    table(
        out,
        &[
            "raw file",
            "source",
            "rows",
            "first position",
            "last position",
        ],
        &rows,
    );
    out.push_str("</section>\n");
}

fn strip_xml_declaration(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(start) => &svg[start..],
        None => svg,
    }
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1450px;color:#222}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}.meta{color:#666;font-size:.9em}\
.question{font-style:italic}.answer{font-weight:bold}figure.chart{margin:1em 0;overflow-x:auto}\
figure.chart svg{max-width:100%;height:auto}table{border-collapse:collapse;font-size:.85em;margin:1em 0}\
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}td.num{text-align:right}\
th{background:#f3f5f8}nav ul{columns:2}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_strips() {
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(
            strip_xml_declaration("<?xml version=\"1.0\"?>\n<svg x>"),
            "<svg x>"
        );
    }
}
