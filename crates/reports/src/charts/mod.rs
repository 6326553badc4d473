//! Charts: plain data ([`Chart`]) drawn by one renderer per kind onto any plotters backend.
//!
//! Reports build the data (see each file in `reports/`); this module only draws. The font is
//! DejaVu Sans, embedded in the binary, so charts look the same on every machine.

mod bar_chart;
mod heatmap;

pub use bar_chart::{draw_bar_chart, size as bar_chart_size};
pub use heatmap::{draw_heatmap, size as heatmap_size};

use std::sync::Once;

/// How bar values are printed and the axis labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFormat {
    Count,
    Percent,
    Days,
    /// A plain number with two decimals (e.g. a reliability coefficient).
    Ratio,
}

impl ValueFormat {
    pub fn format(self, value: f64) -> String {
        match self {
            ValueFormat::Count => format!("{value:.0}"),
            ValueFormat::Percent => format!("{:.0}%", value * 100.0),
            ValueFormat::Days => format!("{value:.0} d"),
            ValueFormat::Ratio => format!("{value:.2}"),
        }
    }
}

/// One horizontal bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    /// A confidence interval drawn as a whisker.
    pub interval: Option<(f64, f64)>,
    /// Drawn in the accent colour (e.g. a flagged exam).
    pub highlight: bool,
    /// Text after the value, e.g. "n=12".
    pub note: Option<String>,
}

/// A horizontal bar chart, bars listed top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File stem of the chart's PNG and SVG.
    pub file_stem: &'static str,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub bars: Vec<Bar>,
    pub value_format: ValueFormat,
    /// A vertical reference line (value, legend text), e.g. the 50% majority line.
    pub reference: Option<(f64, String)>,
    /// What the accent colour means, for the legend.
    pub highlight_legend: Option<String>,
    /// Fixed x range upper bound (e.g. 1.0 for shares); else fitted to the data.
    pub x_max: Option<f64>,
}

/// A grid of shares: rows (e.g. exams) × columns (e.g. weeks); each cell a value in 0..1
/// (or missing) and its label.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub file_stem: &'static str,
    pub title: String,
    pub subtitle: String,
    pub legend: String,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub cells: Vec<Vec<(Option<f64>, String)>>,
}

static FONT: Once = Once::new();

/// Register the embedded font under the family name the charts use.
pub fn ensure_font() {
    FONT.call_once(|| {
        use plotters::style::FontStyle;
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
    });
}
