//! Charts as inline SVG, drawn with plotters' SVG backend. No font library is linked: the
//! backend writes `<text>` elements and the browser picks the font, so label widths are
//! estimates and charts leave room for them.

use std::error::Error;

use maud::{Markup, PreEscaped, html};
use plotters::{coord::Shift, prelude::*};

use super::{format::si, page::note};

/// Size of one chart, in pixels (CSS scales it down on narrow screens).
const SIZE: (u32, u32) = (1000, 330);
/// Most categories a bar chart shows; the tables have them all.
pub(super) const MAX_BARS: usize = 12;
/// Above this many blocks, per-block values are drawn as lines instead of bars.
const MAX_BLOCK_BARS: usize = 150;

pub(super) const BLUE: RGBColor = RGBColor(31, 111, 235);
pub(super) const GREEN: RGBColor = RGBColor(26, 127, 55);
pub(super) const RED: RGBColor = RGBColor(207, 34, 46);
pub(super) const GREY: RGBColor = RGBColor(140, 149, 159);
pub(super) const ORANGE: RGBColor = RGBColor(219, 109, 40);
pub(super) const PURPLE: RGBColor = RGBColor(130, 80, 223);

type DrawResult = Result<(), Box<dyn Error>>;

/// One named, coloured set of values.
#[derive(Debug)]
pub(super) struct Series<'a> {
    pub(super) name: &'a str,
    pub(super) color: RGBColor,
    /// `(x, y)` points for lines, one value per category for bars.
    pub(super) values: Vec<(f64, f64)>,
}

impl<'a> Series<'a> {
    pub(super) fn new(name: &'a str, color: RGBColor, values: Vec<(f64, f64)>) -> Self {
        Self {
            name,
            color,
            values,
        }
    }

    /// Values of a bar chart: the i-th value belongs to the i-th category.
    pub(super) fn bars(
        name: &'a str,
        color: RGBColor,
        values: impl IntoIterator<Item = f64>,
    ) -> Self {
        Self::new(
            name,
            color,
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i as f64, v))
                .collect(),
        )
    }
}

/// A `<figure>`: a legend of `series` (HTML, so it never covers the data), the SVG that
/// `draw` paints, and `caption` under it; a note instead when drawing failed (the page is
/// still written).
fn figure(
    caption: &str,
    series: &[Series<'_>],
    draw: impl FnOnce(DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> Markup {
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(root)
    };
    if let Err(err) = drawn {
        return note(&format!("{caption}: the chart could not be drawn ({err})"));
    }
    html! {
        figure {
            div.legend {
                @for s in series {
                    span { i style=(swatch(s.color)) {} (s.name) }
                }
            }
            // plotters escapes the text it writes (titles, axis labels, category names).
            (PreEscaped(svg))
            figcaption { (caption) }
        }
    }
}

/// The CSS of a legend's colour swatch.
fn swatch(RGBColor(r, g, b): RGBColor) -> String {
    format!("background:#{r:02x}{g:02x}{b:02x}")
}

/// Lines over a numeric x axis from 0, y from 0.
pub(super) fn lines(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    caption: &str,
    series: &[Series<'_>],
) -> Markup {
    figure(caption, series, |root| {
        root.fill(&WHITE)?;
        let (x_max, y_max) = extent(series);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 16))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .y_label_formatter(&|v| si(*v))
            .max_light_lines(0)
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        for s in series {
            let color = s.color;
            chart.draw_series(LineSeries::new(
                s.values.iter().copied(),
                color.stroke_width(2),
            ))?;
        }
        root.present()?;
        Ok(())
    })
}

/// Bars per x value (a block number), each series overlaid on the previous ones (draw the
/// larger first); lines when there are too many to see as bars.
pub(super) fn columns(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    caption: &str,
    series: &[Series<'_>],
) -> Markup {
    let many = series.iter().any(|s| s.values.len() > MAX_BLOCK_BARS);
    figure(caption, series, |root| {
        root.fill(&WHITE)?;
        let xs = series.iter().flat_map(|s| s.values.iter().map(|&(x, _)| x));
        let x_min = xs.clone().fold(f64::INFINITY, f64::min);
        let x_max = xs.fold(f64::NEG_INFINITY, f64::max);
        let (x_min, x_max) = if x_min.is_finite() {
            (x_min - 0.5, x_max + 0.5)
        } else {
            (0.0, 1.0)
        };
        let (_, y_max) = extent(series);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x_min..x_max, 0f64..y_max)?;
        chart
            .configure_mesh()
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 16))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|v| whole(*v).map(|n| n.to_string()).unwrap_or_default())
            .y_label_formatter(&|v| si(*v))
            .disable_x_mesh()
            .max_light_lines(0)
            .bold_line_style(BLACK.mix(0.08))
            .draw()?;
        for s in series {
            let color = s.color;
            if many {
                chart.draw_series(LineSeries::new(
                    s.values.iter().copied(),
                    color.stroke_width(2),
                ))?;
            } else {
                chart.draw_series(s.values.iter().map(|&(x, y)| {
                    Rectangle::new([(x - 0.38, 0.0), (x + 0.38, y)], color.filled())
                }))?;
            }
        }
        root.present()?;
        Ok(())
    })
}

/// Grouped bars: one group per category (x axis, labelled with its name), one bar per series.
/// A logarithmic y axis when values span more than two decades.
pub(super) fn bars(
    title: &str,
    y_desc: &str,
    caption: &str,
    categories: &[String],
    series: &[Series<'_>],
) -> Markup {
    let values = series.iter().flat_map(|s| s.values.iter().map(|&(_, y)| y));
    let max = values.clone().fold(0.0, f64::max);
    let min_positive = values.filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min);
    if min_positive.is_finite() && max / min_positive > 100.0 {
        // A decade below the smallest value, so that its bar shows.
        let floor = 10f64.powf(min_positive.log10().floor() - 1.0);
        let top = 10f64.powf((max * 1.05).log10().ceil());
        let title = format!("{title} (log scale)");
        figure(caption, series, |root| {
            draw_bars(
                root,
                &title,
                y_desc,
                categories,
                series,
                (floor..top).log_scale(),
                floor,
            )
        })
    } else {
        let top = nice_top(max);
        figure(caption, series, |root| {
            draw_bars(root, title, y_desc, categories, series, 0.0..top, 0.0)
        })
    }
}

fn draw_bars<Y>(
    root: DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    y_desc: &str,
    categories: &[String],
    series: &[Series<'_>],
    y_range: Y,
    floor: f64,
) -> DrawResult
where
    Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
    Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
{
    root.fill(&WHITE)?;
    let n = categories.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, y_range)?;
    let label = |v: &f64| {
        whole(*v)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| categories.get(i))
            .map(|name| shorten(name, 28))
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 16))
        .y_desc(y_desc)
        .x_labels(n + 1)
        .x_label_formatter(&label)
        .y_label_formatter(&|v| si(*v))
        .disable_x_mesh()
        .max_light_lines(0)
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    let width = 0.8 / series.len().max(1) as f64;
    for (j, s) in series.iter().enumerate() {
        let color = s.color;
        let left = -0.4 + j as f64 * width;
        chart.draw_series(s.values.iter().filter(|&&(_, y)| y > floor).map(|&(i, y)| {
            Rectangle::new(
                [(i + left + 0.01, floor), (i + left + width - 0.01, y)],
                color.filled(),
            )
        }))?;
    }
    root.present()?;
    Ok(())
}

/// The largest x (at least 1) and a rounded-up largest y (at least 1) of `series`.
fn extent(series: &[Series<'_>]) -> (f64, f64) {
    let points = series.iter().flat_map(|s| s.values.iter());
    let x = points.clone().map(|&(x, _)| x).fold(1.0, f64::max);
    let y = points.map(|&(_, y)| y).fold(0.0, f64::max);
    (x, nice_top(y))
}

/// A little room above `max`, at least 1.
fn nice_top(max: f64) -> f64 {
    (max * 1.1).max(1.0)
}

/// `v` as an integer when it is one (an axis key point on a category or block).
fn whole(v: f64) -> Option<i64> {
    let rounded = v.round();
    ((v - rounded).abs() < 1e-6).then_some(rounded as i64)
}

/// At most `max` characters, the cut marked with `…`.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_escaped_labels() {
        let categories = vec!["<script>alert(1)</script>".to_owned(), "b&c".to_owned()];
        let svg = bars(
            "Tasks",
            "count",
            "caption <i>",
            &categories,
            &[
                Series::bars("ok", GREEN, [10.0, 3.0]),
                Series::bars("failed <b>", RED, [0.0, 2.0]),
            ],
        )
        .into_string();
        assert!(svg.starts_with("<figure><div class=\"legend\">"), "{svg}");
        assert!(svg.contains("</div><svg"), "{svg}");
        assert!(svg.contains("<rect"), "{svg}");
        assert!(
            !svg.contains("<script>") && !svg.contains("<i>") && !svg.contains("<b>"),
            "{svg}"
        );
        assert!(
            svg.contains("<figcaption>caption &lt;i&gt;</figcaption>"),
            "{svg}"
        );
        assert!(svg.contains("&lt;script&gt;alert(1)"), "{svg}");
        assert!(svg.contains("b&amp;c"), "{svg}");
        assert!(
            svg.contains("<i style=\"background:#1a7f37\"></i>ok</span>")
                && svg.contains("failed &lt;b&gt;</span>"),
            "legend: {svg}"
        );

        let lines = lines(
            "Per second",
            "second",
            "tx/s",
            "",
            &[Series::new("sent", BLUE, vec![(0.0, 5.0), (1.0, 7.0)])],
        )
        .into_string();
        assert!(
            lines.contains("<polyline") || lines.contains("<path"),
            "{lines}"
        );
        assert!(lines.contains("></i>sent</span>"), "{lines}");
    }

    #[test]
    fn wide_ranges_use_a_log_axis_and_empty_input_still_draws() {
        let svg = bars(
            "Latency",
            "ms",
            "",
            &["lag".to_owned(), "inclusion".to_owned()],
            &[Series::bars("p50", BLUE, [1.5, 900.0])],
        )
        .into_string();
        assert!(svg.contains("(log scale)"), "{svg}");
        let empty = columns(
            "Blocks",
            "block",
            "txs",
            "",
            &[Series::new("txs", GREY, vec![])],
        )
        .into_string();
        assert!(empty.contains("<svg"), "{empty}");
    }

    #[test]
    fn shortening() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "ab…");
        assert_eq!(whole(3.0000001), Some(3));
        assert_eq!(whole(2.5), None);
    }
}
