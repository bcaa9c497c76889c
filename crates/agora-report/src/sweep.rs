//! The plots of a sweep: each chosen metric against the one varied
//! parameter (a line, with the runs' 5th–95th percentile band when
//! `sweep.csv` has it), or as a heat map over two, each cell labelled.
//!
//! Columns are told apart by name: a metric has its spread beside it
//! (`<metric>.std`, `.p5`, `.p50`, `.p95`); files written before the
//! spread was added are read by the shape of the names. A parameter whose
//! values are not all numbers (a curve's name) is categorical: its values
//! are placed at 0, 1, 2, … in the order they first appear.

use crate::data::Csv;
use crate::plot::{self, Band, Figure, HeatMap, Panel, Series};
use crate::{ReportError, DEFAULT_SWEEP_METRICS};
use std::collections::HashSet;

/// The statistics a sweep writes after each metric's mean.
const SPREAD: [&str; 4] = ["std", "p5", "p50", "p95"];

/// How many metrics are drawn when none of the default ones varies.
const FALLBACK: usize = 6;

/// The figures of a sweep, or why there are none.
pub(crate) struct Drawn {
    pub figures: Vec<(String, String, Figure)>,
    pub note: Option<String>,
}

impl Drawn {
    fn none(note: impl Into<String>) -> Self {
        Drawn {
            figures: Vec::new(),
            note: Some(note.into()),
        }
    }
}

/// Whether a column of a file without spread columns holds a metric (a
/// summary path) rather than a varied parameter. Metrics are
/// `assets.A.M`, `groups.G.M`, `ledger.M`, the scenario's own metrics
/// `metrics.NAME` (and any path of the directory's own summary);
/// parameters are the scenario's paths, e.g. `assets.A.pricing.m`,
/// `agents.G.count` or a metric's field `metrics.NAME.level`.
fn looks_like_metric(name: &str, summary_paths: &HashSet<String>) -> bool {
    if summary_paths.contains(name) {
        return true;
    }
    let parts: Vec<&str> = name.split('.').collect();
    match parts.first().copied() {
        Some("groups" | "ledger" | "distribution") => true,
        Some("assets") => parts.len() == 3 && !matches!(parts[2], "initial_supply" | "kind"),
        Some("metrics") => parts.len() == 2,
        _ => false,
    }
}

/// The column whose spread `name` holds (`x.p95` of `x`), if `x` has one.
fn spread_of(sweep: &Csv, name: &str) -> Option<usize> {
    let (stem, stat) = name.rsplit_once('.')?;
    if !SPREAD.contains(&stat) {
        return None;
    }
    sweep.find(&format!("{stem}.std"))?;
    sweep.find(stem)
}

/// The indices of the metric columns (means) and of the parameter columns.
fn roles(sweep: &Csv, summary_paths: &HashSet<String>) -> (Vec<usize>, Vec<usize>) {
    let has_spread = sweep.header.iter().any(|h| spread_of(sweep, h).is_some());
    let mut metrics = Vec::new();
    let mut params = Vec::new();
    for (c, name) in sweep.header.iter().enumerate() {
        if spread_of(sweep, name).is_some() {
            continue;
        }
        let metric = if has_spread {
            sweep.find(&format!("{name}.std")).is_some()
        } else {
            looks_like_metric(name, summary_paths)
        };
        if metric {
            metrics.push(c);
        } else {
            params.push(c);
        }
    }
    (metrics, params)
}

/// The table with the spread columns left out (for the page's table).
pub(crate) fn without_spread(sweep: &Csv) -> Csv {
    let keep: Vec<usize> = (0..sweep.header.len())
        .filter(|&c| spread_of(sweep, &sweep.header[c]).is_none())
        .collect();
    sweep.select(&keep)
}

/// Whether `text` matches `pattern`, where `*` stands for any run of
/// characters (none included) and `?` for one.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut i, mut j) = (0, 0);
    // The last `*` seen and where in `text` its match would end.
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == '?' || p[i] == t[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            // Let the last `*` take one more character.
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|c| *c == '*')
}

/// A varied parameter's values as numbers: its own, or for a categorical
/// one the position of each value's first appearance, with the names.
struct Axis {
    col: usize,
    /// One value per row (NaN for an empty cell).
    values: Vec<f64>,
    /// The distinct values, ascending.
    ticks: Vec<f64>,
    /// The categories' names, for a categorical parameter.
    names: Option<Vec<String>>,
}

impl Axis {
    fn of(sweep: &Csv, col: usize) -> Axis {
        let cells = sweep.rows.iter().map(|r| r[col].as_str());
        let numeric = cells
            .clone()
            .all(|c| c.is_empty() || c.parse::<f64>().is_ok());
        let (values, names): (Vec<f64>, _) = if numeric {
            (
                (0..sweep.rows.len())
                    .map(|r| sweep.num_lenient(r, col))
                    .collect(),
                None,
            )
        } else {
            let mut names: Vec<String> = Vec::new();
            let values = cells
                .map(|c| match names.iter().position(|n| n == c) {
                    Some(i) => i as f64,
                    None => {
                        names.push(c.to_string());
                        (names.len() - 1) as f64
                    }
                })
                .collect();
            (values, Some(names))
        };
        Axis {
            col,
            ticks: distinct(&values),
            values,
            names,
        }
    }

    /// The axis title: the parameter's path, with the categories' numbers.
    fn label(&self, sweep: &Csv) -> String {
        let name = &sweep.header[self.col];
        match &self.names {
            None => name.clone(),
            Some(names) => {
                let legend: Vec<String> = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| format!("{i} = {n}"))
                    .collect();
                format!("{name} ({})", legend.join(", "))
            }
        }
    }
}

fn distinct(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

fn column(sweep: &Csv, c: usize) -> Vec<f64> {
    (0..sweep.rows.len())
        .map(|r| sweep.num_lenient(r, c))
        .collect()
}

/// The metric columns to draw, in order: the `chosen` names and globs, or
/// the defaults.
fn choose(
    sweep: &Csv,
    metrics: &[usize],
    chosen: Option<&[String]>,
) -> Result<Vec<usize>, ReportError> {
    let varies = |c: usize| distinct(&column(sweep, c)).len() > 1;
    let name = |c: usize| sweep.header[c].as_str();
    let Some(patterns) = chosen else {
        let defaults: Vec<usize> = metrics
            .iter()
            .copied()
            .filter(|&c| DEFAULT_SWEEP_METRICS.iter().any(|p| glob(p, name(c))))
            .filter(|&c| varies(c))
            .collect();
        if !defaults.is_empty() {
            return Ok(defaults);
        }
        return Ok(metrics
            .iter()
            .copied()
            .filter(|&c| varies(c))
            .take(FALLBACK)
            .collect());
    };
    let mut out: Vec<usize> = Vec::new();
    for pattern in patterns.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let exact = !pattern.contains(['*', '?']);
        let matches: Vec<usize> = metrics
            .iter()
            .copied()
            .filter(|&c| glob(pattern, name(c)))
            .collect();
        if matches.is_empty() {
            let known: Vec<&str> = metrics.iter().map(|&c| name(c)).collect();
            return Err(ReportError::invalid(
                &sweep.path,
                format!(
                    "no metric matches `{pattern}` (names or globs with * and ?); the metrics are: {}",
                    known.join(", ")
                ),
            ));
        }
        for c in matches {
            if (exact || varies(c)) && !out.contains(&c) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Lines of each chosen metric against the single varied parameter, or
/// heat maps over two; a note instead when the grid has another shape.
pub(crate) fn figures(
    sweep: &Csv,
    summary_paths: &HashSet<String>,
    chosen: Option<&[String]>,
) -> Result<Drawn, ReportError> {
    let (metrics, params) = roles(sweep, summary_paths);
    if sweep.rows.is_empty() {
        return Ok(Drawn::none("sweep.csv has no rows."));
    }
    let plotted = choose(sweep, &metrics, chosen)?;
    let varied: Vec<Axis> = params
        .into_iter()
        .map(|c| Axis::of(sweep, c))
        .filter(|a| a.ticks.len() > 1)
        .collect();
    if varied.is_empty() {
        return Ok(Drawn::none(
            "no parameter varies across the rows of sweep.csv.",
        ));
    }
    if plotted.is_empty() {
        return Ok(Drawn::none(match chosen {
            Some(_) => "none of the chosen metrics varies across the grid.",
            None => "no metric varies across the grid.",
        }));
    }
    let rows = sweep.rows.len();
    let zipped = varied.iter().all(|a| a.ticks.len() == rows);
    let figures = if varied.len() == 1 || zipped {
        plotted
            .iter()
            .map(|&m| line_figure(sweep, &varied, m))
            .collect()
    } else if varied.len() == 2 {
        plotted
            .iter()
            .map(|&m| heat_figure(sweep, &varied[0], &varied[1], m))
            .collect()
    } else {
        return Ok(Drawn::none(format!(
            "{} parameters vary; plots are drawn for one (lines) or two (heat maps).",
            varied.len()
        )));
    };
    Ok(Drawn {
        figures,
        note: None,
    })
}

/// Metric `m` against the first varied parameter, with the 5th–95th
/// percentile band across runs where the file has it.
fn line_figure(sweep: &Csv, varied: &[Axis], m: usize) -> (String, String, Figure) {
    let axis = &varied[0];
    let metric = &sweep.header[m];
    let param = &sweep.header[axis.col];
    let mut x_label = axis.label(sweep);
    if varied.len() > 1 {
        x_label.push_str(" (paired with the other parameters)");
    }
    let mut points: Vec<(f64, f64)> = axis.values.iter().copied().zip(column(sweep, m)).collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let spread = match (
        sweep.find(&format!("{metric}.p5")),
        sweep.find(&format!("{metric}.p95")),
    ) {
        (Some(lo), Some(hi)) => {
            let mut spread: Vec<(f64, f64, f64)> = axis
                .values
                .iter()
                .zip(column(sweep, lo).into_iter().zip(column(sweep, hi)))
                .map(|(x, (l, h))| (*x, l, h))
                .collect();
            spread.sort_by(|a, b| a.0.total_cmp(&b.0));
            Some(spread)
        }
        _ => None,
    };
    let categorical = axis.names.is_some();
    let mean = Series {
        label: if spread.is_some() {
            "mean across runs".into()
        } else {
            metric.clone()
        },
        color: plot::color(0),
        points,
        markers: true,
        // Categories have no order to draw a line along.
        line: !categorical,
    };
    let (series, band) = match spread {
        // Categories: the percentiles as points of their own, under the
        // mean.
        Some(spread) if categorical => {
            let bound = |label: &str, pick: fn(&(f64, f64, f64)) -> f64| Series {
                label: label.into(),
                color: plot::color(1),
                points: spread.iter().map(|p| (p.0, pick(p))).collect(),
                markers: true,
                line: false,
            };
            (
                vec![
                    bound("5th percentile across runs", |p| p.1),
                    bound("95th percentile across runs", |p| p.2),
                    mean,
                ],
                None,
            )
        }
        Some(spread) => (
            vec![mean],
            Some(Band {
                label: "5th–95th percentile across runs".into(),
                color: plot::color(0),
                points: spread,
            }),
        ),
        None => (vec![mean], None),
    };
    let title = format!("{metric} against {param}");
    (
        format!("sweep_{metric}"),
        title.clone(),
        Figure::Panels(vec![Panel {
            title,
            x_label,
            y_label: metric.clone(),
            series,
            band,
            integer_x: categorical,
        }]),
    )
}

/// Metric `m` over the grid of two varied parameters.
fn heat_figure(sweep: &Csv, x: &Axis, y: &Axis, m: usize) -> (String, String, Figure) {
    let metric = &sweep.header[m];
    let at = |ticks: &[f64], v: f64| ticks.iter().position(|t| *t == v);
    let mut values = vec![vec![f64::NAN; x.ticks.len()]; y.ticks.len()];
    for (r, v) in column(sweep, m).into_iter().enumerate() {
        if let (Some(i), Some(j)) = (at(&x.ticks, x.values[r]), at(&y.ticks, y.values[r])) {
            values[j][i] = v;
        }
    }
    let names = |a: &Axis| {
        a.names.as_ref().map(|names| {
            a.ticks
                .iter()
                .map(|t| names[*t as usize].clone())
                .collect::<Vec<_>>()
        })
    };
    let title = format!(
        "{metric} over {} × {}",
        sweep.header[x.col], sweep.header[y.col]
    );
    (
        format!("sweep_{metric}"),
        title.clone(),
        Figure::Heat(HeatMap {
            title,
            x_label: sweep.header[x.col].clone(),
            y_label: sweep.header[y.col].clone(),
            value_label: metric.rsplit('.').next().unwrap_or(metric).to_string(),
            xs: x.ticks.clone(),
            ys: y.ticks.clone(),
            x_names: names(x),
            y_names: names(y),
            values,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_any_run_with_a_star_and_one_character_with_a_question_mark() {
        assert!(glob("assets.*.final_price", "assets.AGT.final_price"));
        assert!(glob("*volatility*", "assets.AGT.log_return_volatility"));
        assert!(glob("groups.?.pnl", "groups.a.pnl"));
        assert!(!glob("groups.?.pnl", "groups.ab.pnl"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
        assert!(!glob("assets.*.final_price", "assets.AGT.final_price.std"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
    }
}
