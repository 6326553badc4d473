//! The horizontal bar chart renderer, for every backend (PNG for people, SVG for the web page).

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{ensure_font, Chart};

const ROW_PX: u32 = 24;
const BAR: RGBColor = RGBColor(70, 120, 180);
const ACCENT: RGBColor = RGBColor(214, 96, 39);
const REFERENCE: RGBColor = RGBColor(200, 30, 30);

/// Pixel size for a chart of this many bars.
pub fn size(chart: &Chart) -> (u32, u32) {
    (1400, 170 + ROW_PX * chart.bars.len().max(1) as u32)
}

/// Draw `chart` onto `root`.
pub fn draw_bar_chart<DB: DrawingBackend>(
    chart: &Chart,
    root: DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), String> {
    ensure_font();
    let fail = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(fail)?;
    let n = chart.bars.len().max(1) as i32;
    let data_max = chart
        .bars
        .iter()
        .map(|b| b.interval.map_or(b.value, |(_, hi)| hi.max(b.value)))
        .fold(0.0, f64::max);
    let x_max = chart
        .x_max
        .unwrap_or(if data_max > 0.0 { data_max * 1.15 } else { 1.0 });
    let longest = chart
        .bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(10);
    let label_px = (longest as u32 * 8 + 16).clamp(120, 560);
    let labels: Vec<String> = chart.bars.iter().map(|b| b.label.clone()).collect();

    let mut ctx = ChartBuilder::on(&root)
        .caption(
            &chart.title,
            ("sans-serif", 22).into_font().style(FontStyle::Bold),
        )
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(label_px)
        .build_cartesian_2d(0.0..x_max, (0..(n - 1).max(1)).into_segmented())
        .map_err(fail)?;
    let format = chart.value_format;
    ctx.configure_mesh()
        .disable_y_mesh()
        .y_labels(n as usize)
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => labels
                .get((n - 1 - i) as usize)
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        })
        .x_label_formatter(&|v| format.format(*v))
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(fail)?;

    for (i, bar) in chart.bars.iter().enumerate() {
        let y = n - 1 - i as i32;
        let colour = if bar.highlight { ACCENT } else { BAR };
        let mut rect = Rectangle::new(
            [
                (0.0, SegmentValue::Exact(y)),
                (bar.value, SegmentValue::Exact(y + 1)),
            ],
            colour.filled(),
        );
        rect.set_margin(3, 3, 0, 0);
        ctx.draw_series(std::iter::once(rect)).map_err(fail)?;
        if let Some((lo, hi)) = bar.interval {
            ctx.draw_series(std::iter::once(PathElement::new(
                vec![
                    (lo, SegmentValue::CenterOf(y)),
                    (hi, SegmentValue::CenterOf(y)),
                ],
                BLACK.stroke_width(2),
            )))
            .map_err(fail)?;
        }
        let text = match &bar.note {
            Some(note) => format!("{}  {note}", format.format(bar.value)),
            None => format.format(bar.value),
        };
        let at = bar.interval.map_or(bar.value, |(_, hi)| hi.max(bar.value));
        ctx.draw_series(std::iter::once(Text::new(
            text,
            (at + x_max * 0.005, SegmentValue::CenterOf(y)),
            ("sans-serif", 12).into_font().color(&BLACK).pos(
                plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                ),
            ),
        )))
        .map_err(fail)?;
    }
    if let Some((x, legend)) = &chart.reference {
        ctx.draw_series(std::iter::once(PathElement::new(
            vec![(*x, SegmentValue::Exact(0)), (*x, SegmentValue::Exact(n))],
            REFERENCE.stroke_width(2),
        )))
        .map_err(fail)?
        .label(legend.as_str())
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], REFERENCE.stroke_width(2)));
    }
    if let Some(legend) = &chart.highlight_legend {
        ctx.draw_series(std::iter::empty::<Rectangle<(f64, SegmentValue<i32>)>>())
            .map_err(fail)?
            .label(legend.as_str())
            .legend(|(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], ACCENT.filled()));
    }
    if chart.reference.is_some() || chart.highlight_legend.is_some() {
        ctx.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(fail)?;
    }
    root.present().map_err(fail)?;
    Ok(())
}
