//! Figures, drawn with plotters into PNG and SVG from one description.
//!
//! A figure is plain data ([`Figure`]); one generic function draws it on
//! any plotters backend, so the PNG and the SVG always show the same thing.
//! Text uses the DejaVu Sans font bundled in the crate (registered with
//! plotters' ab_glyph support), so drawing needs no system fonts.

use crate::error::ReportError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor;
use std::path::Path;
use std::sync::Once;

/// Width and height of every plot, in pixels.
const SIZE: (u32, u32) = (900, 520);
const FONT: &str = "sans-serif";
pub(crate) static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Colours of successive series (colour-blind friendly, after Okabe–Ito).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
    RGBColor(240, 228, 66),
];

/// Returns the colour of series `i`.
pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Registers the bundled font with plotters, once per process.
pub(crate) fn register_font() -> Result<(), String> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| "the bundled font assets/DejaVuSans.ttf is invalid".to_string());
    });
    result
}

/// One line on a panel.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub label: String,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
    /// Draw a marker at each point.
    pub markers: bool,
    /// Draw the line (false: markers only).
    pub line: bool,
}

/// A shaded band between `lower` and `upper` at the same x values.
#[derive(Debug, Clone)]
pub(crate) struct Band {
    pub label: String,
    pub color: RGBColor,
    /// `(x, lower, upper)`.
    pub points: Vec<(f64, f64, f64)>,
}

/// One chart with axes.
#[derive(Debug, Clone)]
pub(crate) struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub band: Option<Band>,
    /// The x values are whole numbers (steps, evaluations): no ticks between.
    pub integer_x: bool,
}

/// A heat map of `values[y][x]` over two parameters' values, each cell
/// labelled with its value where the label fits.
#[derive(Debug, Clone)]
pub(crate) struct HeatMap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub value_label: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    /// Names shown instead of `xs` (a categorical parameter).
    pub x_names: Option<Vec<String>>,
    /// Names shown instead of `ys`.
    pub y_names: Option<Vec<String>>,
    /// NaN where there is no grid point.
    pub values: Vec<Vec<f64>>,
}

/// What a plot file shows.
#[derive(Debug, Clone)]
pub(crate) enum Figure {
    /// Panels stacked vertically, sharing the figure.
    Panels(Vec<Panel>),
    /// A heat map with a colour bar.
    Heat(HeatMap),
}

/// Formats an axis or table number compactly with `sig` significant digits.
pub(crate) fn fmt_num(x: f64, sig: usize) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            String::new()
        } else {
            format!("{x}")
        };
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let a = x.abs();
    if !(1e-3..1e6).contains(&a) {
        return scientific(x, sig);
    }
    let digits = a.log10().floor() as i64 + 1;
    let decimals = (sig as i64 - digits).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Formats `x` as `m.mmme±k` with `sig` significant digits, trailing
/// zeros of the mantissa trimmed (1.5e6, not 1.500e6).
fn scientific(x: f64, sig: usize) -> String {
    let s = format!("{x:.*e}", sig.saturating_sub(1));
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => s,
    }
}

/// Formats tick `x` of an axis over `lo..hi`: every tick of an axis in the
/// same notation, scientific when the axis reaches 10⁶ or stays below 10⁻³.
fn axis_label(x: f64, lo: f64, hi: f64) -> String {
    let top = lo.abs().max(hi.abs());
    let sci = top >= 1e6 || (top < 1e-3 && top > 0.0);
    if x == 0.0 || !sci {
        // Plain: enough decimals to tell ticks apart at this scale.
        let span = (hi - lo).abs().max(f64::MIN_POSITIVE);
        let decimals = (2 - span.log10().floor() as i64).clamp(0, 12) as usize;
        let s = format!("{x:.decimals$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        return if s == "-0" { "0".into() } else { s };
    }
    scientific(x, 4)
}

/// The largest magnitude drawn on an axis. Near `f64::MAX` the padded
/// range of an axis overflows, and the plotting library's tick arithmetic
/// then loops for ever; values beyond this bound (prices of 1e307 money
/// units and more, which no economy reaches but an unstable rule can) are
/// left out as gaps, and the panel's title says so.
const AXIS_LIMIT: f64 = 1e307;

/// What a panel's title gains when values beyond [`AXIS_LIMIT`] are left out.
const BEYOND_LIMIT: &str = " (values beyond ±1e307 not drawn)";

/// `x`, or NaN (a gap) when its magnitude is beyond [`AXIS_LIMIT`].
fn plottable(x: f64, left_out: &mut bool) -> f64 {
    if x.is_finite() && x.abs() > AXIS_LIMIT {
        *left_out = true;
        f64::NAN
    } else {
        x
    }
}

/// `panel` with every value beyond [`AXIS_LIMIT`] turned into a gap, and a
/// note in its title when there were any.
fn within_limits(panel: &Panel) -> Panel {
    let mut left_out = false;
    let mut p = panel.clone();
    for s in &mut p.series {
        for pt in &mut s.points {
            *pt = (
                plottable(pt.0, &mut left_out),
                plottable(pt.1, &mut left_out),
            );
        }
    }
    if let Some(band) = &mut p.band {
        for pt in &mut band.points {
            *pt = (
                plottable(pt.0, &mut left_out),
                plottable(pt.1, &mut left_out),
                plottable(pt.2, &mut left_out),
            );
        }
    }
    if left_out {
        p.title.push_str(BEYOND_LIMIT);
    }
    p
}

/// The range of finite values, padded by 5% (and widened when flat).
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1.0) {
        let pad = (lo.abs() * 0.05).max(0.5);
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// The maximal runs of consecutive `points` for which `keep` holds, in
/// order: the pieces of a line broken wherever a value is missing.
fn runs_of<T: Copy>(points: &[T], keep: impl Fn(&T) -> bool) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut current = Vec::new();
    for p in points {
        if keep(p) {
            current.push(*p);
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
) -> Result<(), String> {
    let xs = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(panel.band.iter().flat_map(|b| b.points.iter().map(|p| p.0)));
    let (x0, x1) = range(xs);
    let ys = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(
            panel
                .band
                .iter()
                .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
        );
    let (y0, y1) = range(ys);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(panel.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .x_label_formatter(&|x| {
            if panel.integer_x && x.fract() != 0.0 {
                String::new()
            } else {
                axis_label(*x, x0, x1)
            }
        })
        .y_label_formatter(&|y| axis_label(*y, y0, y1))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    let mut legend = false;
    if let Some(band) = &panel.band {
        let fill = band.color.mix(0.25).filled();
        // One polygon per run of finite points: a gap where a bound is
        // missing, never a polygon bridging it.
        let parts = runs_of(&band.points, |p| {
            p.0.is_finite() && p.1.is_finite() && p.2.is_finite()
        });
        let polygons = parts.into_iter().map(|part| {
            let outline: Vec<(f64, f64)> = part
                .iter()
                .map(|p| (p.0, p.2))
                .chain(part.iter().rev().map(|p| (p.0, p.1)))
                .collect();
            Polygon::new(outline, fill)
        });
        chart
            .draw_series(polygons)
            .map_err(err)?
            .label(band.label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], fill));
        legend = true;
    }
    for s in &panel.series {
        let c = s.color;
        let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
        if s.line {
            // One line per run of finite points: a missing value (an empty
            // cell) leaves a gap instead of a line bridging it. A point
            // alone between gaps is drawn as a dot, so it still shows.
            let parts = runs_of(&s.points, finite);
            // The legend entry, once, whatever the number of pieces.
            chart
                .draw_series(LineSeries::new(std::iter::empty(), c.stroke_width(2)))
                .map_err(err)?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            for part in parts.iter().filter(|part| part.len() > 1) {
                chart
                    .draw_series(LineSeries::new(part.iter().copied(), c.stroke_width(2)))
                    .map_err(err)?;
            }
            if !s.markers {
                let alone = parts.iter().filter(|part| part.len() == 1);
                chart
                    .draw_series(alone.map(|part| Circle::new(part[0], 3, c.filled())))
                    .map_err(err)?;
            }
        }
        if s.markers {
            let drawn = chart
                .draw_series(
                    s.points
                        .iter()
                        .filter(|p| finite(p))
                        .map(|&p| Circle::new(p, 3, c.filled())),
                )
                .map_err(err)?;
            if !s.line {
                drawn
                    .label(s.label.as_str())
                    .legend(move |(x, y)| Circle::new((x + 10, y), 3, c.filled()));
            }
        }
    }
    legend |= panel.series.len() > 1;
    if legend {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font((FONT, 13))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Maps `t` in [0, 1] to a viridis-like colour.
fn colormap(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (STOPS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |u: f64, v: f64| (u + (v - u) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn draw_heat<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    heat: &HeatMap,
) -> Result<(), String> {
    let (main, bar) = root.split_horizontally(SIZE.0 - 130);
    let (nx, ny) = (heat.xs.len() as i32, heat.ys.len() as i32);
    let (lo, hi) = {
        let v = heat
            .values
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite());
        v.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        })
    };
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let scale = |v: f64| if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    let mut chart = ChartBuilder::on(&main)
        .caption(&heat.title, (FONT, 20))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        // A segmented i32 range `0..n` has the n + 1 segments 0..=n.
        .build_cartesian_2d((0..nx - 1).into_segmented(), (0..ny - 1).into_segmented())
        .map_err(err)?;
    let label = |values: &[f64], names: &Option<Vec<String>>, v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => match names {
            Some(names) => names.get(*i as usize).cloned().unwrap_or_default(),
            None => values
                .get(*i as usize)
                .map_or(String::new(), |x| fmt_num(*x, 4)),
        },
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(heat.x_label.as_str())
        .y_desc(heat.y_label.as_str())
        .x_labels(heat.xs.len().min(15))
        .y_labels(heat.ys.len().min(15))
        .x_label_formatter(&|v| label(&heat.xs, &heat.x_names, v))
        .y_label_formatter(&|v| label(&heat.ys, &heat.y_names, v))
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(err)?;
    let mut cells = Vec::new();
    for (j, row) in heat.values.iter().enumerate() {
        for (i, v) in row.iter().enumerate() {
            if v.is_finite() {
                let (i, j) = (i as i32, j as i32);
                cells.push(Rectangle::new(
                    [
                        (SegmentValue::Exact(i), SegmentValue::Exact(j)),
                        (SegmentValue::Exact(i + 1), SegmentValue::Exact(j + 1)),
                    ],
                    colormap(scale(*v)).filled(),
                ));
            }
        }
    }
    chart.draw_series(cells).map_err(err)?;
    draw_cell_labels(&mut chart, heat, &scale)?;

    // The colour bar: the value scale, top = highest.
    let mut scale_chart = ChartBuilder::on(&bar)
        .margin_top(45)
        .margin_bottom(57)
        .margin_right(10)
        .y_label_area_size(70)
        .caption(&heat.value_label, (FONT, 12))
        .build_cartesian_2d(0.0..1.0, lo..(if hi > lo { hi } else { lo + 1.0 }))
        .map_err(err)?;
    scale_chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&|y| axis_label(*y, lo, hi))
        .label_style((FONT, 12))
        .draw()
        .map_err(err)?;
    let top = if hi > lo { hi } else { lo + 1.0 };
    let slices = 64;
    scale_chart
        .draw_series((0..slices).map(|k| {
            let a = lo + (top - lo) * k as f64 / slices as f64;
            let b = lo + (top - lo) * (k + 1) as f64 / slices as f64;
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                colormap(k as f64 / (slices - 1) as f64).filled(),
            )
        }))
        .map_err(err)?;
    Ok(())
}

/// Writes each cell's value in it (4 significant digits), dark on light
/// cells and light on dark ones, when the cells are large enough for the
/// text; the colour bar alone would leave the reader guessing.
fn draw_cell_labels<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    heat: &HeatMap,
    scale: &dyn Fn(f64) -> f64,
) -> Result<(), String>
where
    X: Ranged<ValueType = SegmentValue<i32>>,
    Y: Ranged<ValueType = SegmentValue<i32>>,
{
    let (width, height) = chart.plotting_area().dim_in_pixel();
    let columns = heat.xs.len().max(1) as u32;
    let rows = heat.ys.len().max(1) as u32;
    let (cell_w, cell_h) = (width / columns, height / rows);
    let size = (cell_h / 3).clamp(9, 14);
    let texts: Vec<(usize, usize, String)> = heat
        .values
        .iter()
        .enumerate()
        .flat_map(|(j, row)| {
            row.iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(move |(i, v)| (i, j, fmt_num(*v, 4)))
        })
        .collect();
    // About 0.6 em per character of DejaVu Sans's digits.
    let widest = texts.iter().map(|t| t.2.len()).max().unwrap_or(0) as u32;
    if cell_h < size + 4 || cell_w < widest * size * 6 / 10 + 4 {
        return Ok(());
    }
    let anchor = text_anchor::Pos::new(text_anchor::HPos::Center, text_anchor::VPos::Center);
    let labels = texts.into_iter().map(|(i, j, text)| {
        let light = scale(heat.values[j][i]) < 0.55;
        let color: &'static RGBColor = if light { &WHITE } else { &BLACK };
        Text::new(
            text,
            (
                SegmentValue::CenterOf(i as i32),
                SegmentValue::CenterOf(j as i32),
            ),
            TextStyle::from((FONT, size).into_font())
                .color(color)
                .pos(anchor),
        )
    });
    chart.draw_series(labels).map_err(err)?;
    Ok(())
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, figure: &Figure) -> Result<(), String> {
    root.fill(&WHITE).map_err(err)?;
    match figure {
        Figure::Panels(panels) => {
            let areas = root.split_evenly((panels.len().max(1), 1));
            for (area, panel) in areas.iter().zip(panels) {
                draw_panel(area, &within_limits(panel))?;
            }
        }
        Figure::Heat(heat) => {
            let mut heat = heat.clone();
            let mut left_out = false;
            for v in heat.values.iter_mut().flatten() {
                *v = plottable(*v, &mut left_out);
            }
            if left_out {
                heat.title.push_str(BEYOND_LIMIT);
            }
            draw_heat(&root, &heat)?;
        }
    }
    root.present().map_err(err)
}

/// Height of a figure: taller when panels are stacked.
fn size(figure: &Figure) -> (u32, u32) {
    match figure {
        Figure::Panels(p) if p.len() > 1 => (SIZE.0, SIZE.1 / 2 * p.len() as u32 + 60),
        _ => SIZE,
    }
}

/// Writes `figure` as `dir/NAME.svg` and `dir/NAME.png`, each under a
/// temporary name first, then renamed into place. Returns the SVG
/// document, for the page to embed.
pub(crate) fn render(dir: &Path, name: &str, figure: &Figure) -> Result<String, ReportError> {
    let svg_path = dir.join(format!("{name}.svg"));
    let png_path = dir.join(format!("{name}.png"));
    let plot_err = |path: &Path| {
        let path = path.to_path_buf();
        move |message: String| ReportError::Plot { path, message }
    };
    let mut svg = String::new();
    draw(
        SVGBackend::with_string(&mut svg, size(figure)).into_drawing_area(),
        figure,
    )
    .map_err(plot_err(&svg_path))?;
    crate::write_atomically(&svg_path, svg.as_bytes())?;

    // The bitmap backend picks the encoder from the extension: keep `.png`.
    let temp = dir.join(format!(".{name}.tmp-{}.png", std::process::id()));
    let drawn = draw(
        crate::text::GlyphText(BitMapBackend::new(&temp, size(figure))).into_drawing_area(),
        figure,
    )
    .map_err(plot_err(&png_path));
    let moved = drawn.and_then(|()| {
        std::fs::rename(&temp, &png_path)
            .map_err(|e| ReportError::io(&png_path, "renaming into place", e))
    });
    if moved.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    moved?;
    Ok(svg)
}
