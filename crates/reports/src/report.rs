//! A report's result as a table, and its text formats.

use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::charts::{Chart, Heatmap};

/// Output format of a table on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
    Md,
}

/// One report's result: headline facts, rows, and the chart drawn from them.
#[derive(Debug, Clone)]
pub struct Report {
    /// The report's command name, e.g. `least-popular`.
    pub name: &'static str,
    /// The business question it answers.
    pub question: &'static str,
    pub title: String,
    /// Headline facts, in order (also the JSON `summary` object).
    pub summary: Vec<(&'static str, Value)>,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Value>>,
    pub chart: Option<Chart>,
    /// A second figure, for reports with a time dimension.
    pub heatmap: Option<Heatmap>,
    /// A one-paragraph answer in words, for the Markdown summary.
    pub answer: String,
}

impl Report {
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.to_text(),
            Format::Csv => self.to_csv(),
            Format::Json => self.to_json_string(),
            Format::Md => self.to_markdown(),
        }
    }

    /// `{"report", "tenant"-free summary, "columns", "rows": [{column: value}]}`.
    pub fn to_json(&self) -> Value {
        let summary: serde_json::Map<String, Value> = self
            .summary
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                Value::Object(
                    self.columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| ((*c).to_string(), v.clone()))
                        .collect(),
                )
            })
            .collect();
        json!({ "report": self.name, "title": self.title, "summary": summary, "columns": self.columns, "rows": rows })
    }

    pub fn to_json_string(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).unwrap_or_default() + "\n"
    }

    pub fn to_csv(&self) -> String {
        let mut out = self
            .columns
            .iter()
            .map(|c| csv_field(c))
            .collect::<Vec<_>>()
            .join(",")
            + "\n";
        for row in &self.rows {
            out += &(row
                .iter()
                .map(|v| csv_field(&plain(v)))
                .collect::<Vec<_>>()
                .join(",")
                + "\n");
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "## {}\n\n*{}*\n\n{}\n\n",
            self.title, self.question, self.answer
        );
        for (key, value) in &self.summary {
            let _ = writeln!(out, "- **{key}**: {}", plain(value));
        }
        out.push('\n');
        out += &format!("| {} |\n", self.columns.join(" | "));
        out += &format!(
            "|{}\n",
            self.columns.iter().map(|_| "---|").collect::<String>()
        );
        for row in &self.rows {
            out += &format!(
                "| {} |\n",
                row.iter()
                    .map(|v| plain(v).replace('|', "\\|"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        out
    }

    pub fn to_text(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| row.iter().map(plain).collect())
            .collect();
        let widths: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([c.len()])
                    .max()
                    .unwrap_or(0)
                    .min(60)
            })
            .collect();
        let mut out = format!("{}\n", self.title);
        for (key, value) in &self.summary {
            let _ = writeln!(out, "  {key}: {}", plain(value));
        }
        out.push('\n');
        let line = |values: Vec<String>| {
            values
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{:<w$}", truncate(v, *w), w = *w))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
                + "\n"
        };
        out += &line(self.columns.iter().map(|c| (*c).to_string()).collect());
        out += &line(widths.iter().map(|w| "-".repeat(*w)).collect());
        for row in cells {
            out += &line(row);
        }
        out
    }
}

/// A value as plain text: strings unquoted, floats to 4 decimals, null empty.
pub fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => format!("{:.4}", n.as_f64().unwrap_or_default()),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}

fn truncate(value: &str, width: usize) -> String {
    if value.chars().count() <= width {
        value.to_string()
    } else {
        value
            .chars()
            .take(width.saturating_sub(1))
            .collect::<String>()
            + "…"
    }
}

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// A DataFrame's cell as JSON.
fn cell(value: polars::prelude::AnyValue<'_>) -> Value {
    use polars::prelude::AnyValue;
    match value {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => json!(b),
        AnyValue::String(s) => json!(s),
        AnyValue::StringOwned(s) => json!(s.as_str()),
        AnyValue::Int8(v) => json!(v),
        AnyValue::Int16(v) => json!(v),
        AnyValue::Int32(v) => json!(v),
        AnyValue::Int64(v) => json!(v),
        AnyValue::UInt8(v) => json!(v),
        AnyValue::UInt16(v) => json!(v),
        AnyValue::UInt32(v) => json!(v),
        AnyValue::UInt64(v) => json!(v),
        AnyValue::Float32(v) => json!(v),
        AnyValue::Float64(v) => json!(v),
        other => json!(other.to_string().trim_matches('"')),
    }
}

/// Rows of a DataFrame as JSON objects keyed by column name.
pub fn frame_to_json(df: &polars::prelude::DataFrame) -> Value {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let rows: Vec<Value> = (0..df.height())
        .map(|i| {
            let values = df
                .columns()
                .iter()
                .map(|c| c.get(i).map(cell).unwrap_or(Value::Null));
            Value::Object(names.iter().cloned().zip(values).collect())
        })
        .collect();
    Value::Array(rows)
}

/// A DataFrame as CSV (header row, quoted where needed).
pub fn frame_to_csv(df: &polars::prelude::DataFrame) -> String {
    let header: Vec<String> = df.get_column_names().iter().map(|n| csv_field(n)).collect();
    let mut out = header.join(",") + "\n";
    for i in 0..df.height() {
        let row: Vec<String> = df
            .columns()
            .iter()
            .map(|c| match c.get(i).map(cell).unwrap_or(Value::Null) {
                Value::Null => String::new(),
                Value::String(s) => csv_field(&s),
                other => csv_field(&other.to_string()),
            })
            .collect();
        out += &(row.join(",") + "\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_text_aligns() {
        let report = Report {
            name: "t",
            heatmap: None,
            question: "q",
            title: "T".into(),
            summary: vec![("n", json!(2))],
            columns: vec!["exam_name", "share"],
            rows: vec![
                vec![json!("A, \"B\""), json!(0.5)],
                vec![json!("C"), Value::Null],
            ],
            chart: None,
            answer: String::new(),
        };
        assert_eq!(
            report.to_csv(),
            "exam_name,share\n\"A, \"\"B\"\"\",0.5000\nC,\n"
        );
        assert_eq!(report.to_json()["rows"][0]["share"], json!(0.5));
        let text = report.to_text();
        assert!(
            text.contains("exam_name  share\n---------  ------\nA, \"B\"     0.5000\nC\n"),
            "{text}"
        );
    }
}
