//! The heatmap renderer: rows × columns of shares (0..1), each cell coloured and labelled.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use super::{ensure_font, Heatmap};

const CELL_W: u32 = 92;
const CELL_H: u32 = 24;

/// Pixel size for this heatmap.
pub fn size(heatmap: &Heatmap) -> (u32, u32) {
    let label_px = label_width(heatmap);
    (
        label_px + 60 + CELL_W * heatmap.columns.len().max(1) as u32,
        150 + CELL_H * heatmap.rows.len().max(1) as u32,
    )
}

fn label_width(heatmap: &Heatmap) -> u32 {
    let longest = heatmap
        .rows
        .iter()
        .map(|r| r.chars().count())
        .max()
        .unwrap_or(10);
    (longest as u32 * 8 + 20).clamp(120, 560)
}

/// White (0) to dark blue (1); missing cells light grey.
fn colour(value: Option<f64>) -> RGBColor {
    match value {
        None => RGBColor(235, 235, 235),
        Some(v) => {
            let v = v.clamp(0.0, 1.0);
            let mix = |lo: f64, hi: f64| (lo + (hi - lo) * v).round() as u8;
            RGBColor(mix(247.0, 8.0), mix(251.0, 69.0), mix(255.0, 148.0))
        }
    }
}

pub fn draw_heatmap<DB: DrawingBackend>(
    heatmap: &Heatmap,
    root: DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), String> {
    ensure_font();
    let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(fail)?;
    let label_px = label_width(heatmap) as i32;
    let top = 70;
    root.draw(&Text::new(
        heatmap.title.clone(),
        (20, 16),
        ("sans-serif", 22).into_font().style(FontStyle::Bold),
    ))
    .map_err(fail)?;
    root.draw(&Text::new(
        heatmap.subtitle.clone(),
        (20, 46),
        ("sans-serif", 14).into_font().color(&BLACK.mix(0.7)),
    ))
    .map_err(fail)?;
    let centre = |anchor_h| {
        ("sans-serif", 12)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(anchor_h, VPos::Center))
    };
    for (j, column) in heatmap.columns.iter().enumerate() {
        let x = label_px + CELL_W as i32 * j as i32 + CELL_W as i32 / 2;
        root.draw(&Text::new(
            column.clone(),
            (x, top - 10),
            centre(HPos::Center),
        ))
        .map_err(fail)?;
    }
    for (i, row) in heatmap.rows.iter().enumerate() {
        let y = top + CELL_H as i32 * i as i32;
        root.draw(&Text::new(
            row.clone(),
            (label_px - 8, y + CELL_H as i32 / 2),
            centre(HPos::Right),
        ))
        .map_err(fail)?;
        for j in 0..heatmap.columns.len() {
            let x = label_px + CELL_W as i32 * j as i32;
            let (value, note) = heatmap
                .cells
                .get(i)
                .and_then(|r| r.get(j))
                .cloned()
                .unwrap_or((None, String::new()));
            root.draw(&Rectangle::new(
                [
                    (x + 1, y + 1),
                    (x + CELL_W as i32 - 1, y + CELL_H as i32 - 1),
                ],
                colour(value).filled(),
            ))
            .map_err(fail)?;
            let ink = if value.unwrap_or(0.0) > 0.55 {
                WHITE
            } else {
                BLACK
            };
            let style = ("sans-serif", 11)
                .into_font()
                .color(&ink)
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(
                note,
                (x + CELL_W as i32 / 2, y + CELL_H as i32 / 2),
                style,
            ))
            .map_err(fail)?;
        }
    }
    let legend_y = top + CELL_H as i32 * heatmap.rows.len() as i32 + 24;
    root.draw(&Text::new(
        heatmap.legend.clone(),
        (label_px, legend_y),
        ("sans-serif", 13),
    ))
    .map_err(fail)?;
    root.present().map_err(fail)?;
    Ok(())
}
