//! Plots and a self-contained HTML report of an Agora results directory.
//!
//! [`write_report`] reads what `agora run` (and `agora sweep`, `agora
//! optimize`) wrote into a directory and renders it: it never runs a
//! simulation, so it works on any results directory, however old.
//!
//! Inputs, found by column name so that extra columns do no harm:
//! - `assets.csv` (`run,step,asset,price,supply,…`), `agents.csv`
//!   (`run,step,group,agents,…,wealth`), `summary.json` and
//!   `scenario.toml`: the results of a run or a Monte Carlo ensemble
//!   (where a CSV table is missing, its Parquet twin `assets.parquet` or
//!   `agents.parquet` is read instead, to the same values). An
//!   empty `price` (a step without one, e.g. no market equilibrium) is a
//!   gap in the plots; the optional `best_bid`/`best_ask` (an order book)
//!   and `capacity`/`requested`/`allocated` (a resource) columns add the
//!   best quotes to the price panel and a panel of units. The summary's
//!   text values show as text, its nulls as a dash;
//! - `sweep.csv` (or `sweep.parquet`; one column per varied parameter
//!   path, then metric columns named by summary path, then each metric's
//!   spread, `<metric>.std`, `.p5`, `.p50`, `.p95`) and `optimize.csv`
//!   (`evaluation`, the parameters, `objective`), each optional. The sweep
//!   metrics plotted are a short list unless [`ReportOptions`] chooses.
//!
//! Outputs: `plots/NAME.png` and `plots/NAME.svg` for every plot, and
//! `report.html`, a single self-contained file: inline CSS, no scripts, and
//! every plot embedded as inline SVG, so the page shows whole when moved
//! or mailed alone. Every file is written under a temporary name and
//! renamed into place (the `agora` command writes the whole results folder
//! this way, see `agora::output::OutputDir`).
//!
//! ```no_run
//! let html = agora_report::write_report(std::path::Path::new("out/token-economy"))?;
//! println!("{}", html.display());
//! # Ok::<(), agora_report::ReportError>(())
//! ```

mod data;
mod error;
mod html;
mod plot;
mod sweep;
mod text;

pub use error::ReportError;

use data::{Csv, Trajectories};
use plot::{Band, Figure, Panel, Series};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name of the report file written into the results directory.
pub const REPORT_FILE: &str = "report.html";

/// The folder, inside the results directory, that holds the plots.
pub const PLOTS_DIR: &str = "plots";

const ASSETS_EXPECTED: &str = "columns run,step,asset,price,supply as written by `agora run`";
const AGENTS_EXPECTED: &str = "columns run,step,group,wealth as written by `agora run`";

/// The columns of `assets.csv` the report reads, by header name (wherever
/// they are in the file): `price` and `supply`, which every file has, then
/// the optional ones, the order book's best quotes and a resource's units
/// (empty, or absent in older files, for assets of other kinds).
const ASSET_VALUES: [&str; 7] = [
    "price",
    "supply",
    "best_bid",
    "best_ask",
    "capacity",
    "requested",
    "allocated",
];

/// How many of [`ASSET_VALUES`] every file has.
const ASSET_REQUIRED: usize = 2;

/// Indices of the values of an asset row (see [`RunData::assets`]), found
/// by name in [`ASSET_VALUES`] (a name missing there does not compile).
mod col {
    use super::ASSET_VALUES;

    const fn index(name: &str) -> usize {
        let mut i = 0;
        while i < ASSET_VALUES.len() {
            let (a, b) = (ASSET_VALUES[i].as_bytes(), name.as_bytes());
            if a.len() == b.len() {
                let mut k = 0;
                while k < a.len() && a[k] == b[k] {
                    k += 1;
                }
                if k == a.len() {
                    return i;
                }
            }
            i += 1;
        }
        panic!("not a column of ASSET_VALUES")
    }

    pub const PRICE: usize = index("price");
    pub const SUPPLY: usize = index("supply");
    pub const BEST_BID: usize = index("best_bid");
    pub const BEST_ASK: usize = index("best_ask");
    pub const CAPACITY: usize = index("capacity");
    pub const REQUESTED: usize = index("requested");
    pub const ALLOCATED: usize = index("allocated");
}

/// The results of a run or an ensemble, as read from the directory.
struct RunData {
    summary: Value,
    /// Values: [`ASSET_VALUES`] (NaN where empty), indexed by [`col`].
    assets: Trajectories,
    /// Values: wealth, then agents when the column is present, then
    /// mean_reward (NaN where the file has none), at [`RunData::reward`].
    agents: Trajectories,
    has_agent_count: bool,
    /// The `share_<STRATEGY>` columns of `assets.csv` (population games)
    /// and their values per asset, NaN on other assets' rows.
    shares: (Vec<String>, Trajectories),
    /// The evolving parameters of `agents.csv` (a column `P` with `P_p10`
    /// and `P_p90` beside it) and, per group, their mean, 10th and 90th
    /// percentiles in that order.
    params: (Vec<String>, Trajectories),
    /// The index of `mean_reward` among the values of `agents`.
    reward: usize,
}

/// A plot written, for the report.
struct PlotEntry {
    /// Caption.
    title: String,
    /// The SVG document, embedded in the page.
    svg: String,
}

/// The plots of one section of the report.
#[derive(Default)]
struct Plots {
    run: Vec<PlotEntry>,
    ensemble: Vec<PlotEntry>,
    sweep: Vec<PlotEntry>,
    optimize: Vec<PlotEntry>,
    /// Why the sweep has no plots, when it has none.
    sweep_note: Option<String>,
}

/// What a report draws, beyond what the directory holds.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    sweep_metrics: Option<Vec<String>>,
}

impl ReportOptions {
    /// Chooses the sweep metrics to plot: exact column names of
    /// `sweep.csv` (`assets.TOKEN.volatility`) or globs, where `*` stands
    /// for any run of characters and `?` for one (`assets.*.final_price`,
    /// `*volatility*`), in the order given. An exact name is drawn even
    /// where it does not vary; a glob draws the metrics it matches that
    /// vary. A name or glob that matches no metric is an error listing
    /// them. Without a choice, [`DEFAULT_SWEEP_METRICS`] are drawn.
    pub fn with_sweep_metrics(mut self, metrics: Vec<String>) -> Self {
        self.sweep_metrics = Some(metrics);
        self
    }
}

/// The sweep metrics drawn when none are chosen (those that vary across
/// the grid, in the order of `sweep.csv`): each asset's final price,
/// volatility and log-return volatility, the headline metric of its kind
/// (allocative efficiency, utilisation, unmet share, Jain index, welfare,
/// recovery), and each group's P&L. When none of them varies, the first six
/// metrics that do are drawn instead.
pub const DEFAULT_SWEEP_METRICS: [&str; 10] = [
    "assets.*.final_price",
    "assets.*.volatility",
    "assets.*.log_return_volatility",
    "assets.*.allocative_efficiency",
    "assets.*.utilization",
    "assets.*.unmet_share",
    "assets.*.jain_index",
    "assets.*.welfare",
    "assets.*.recovery_steps",
    "groups.*.pnl",
];

/// Writes the plots of the results in `dir` (as PNG and SVG, in
/// `dir/plots/`) and a self-contained `dir/report.html`, and returns the
/// path of the report.
///
/// The run's files (`summary.json`, `assets.csv`, `agents.csv`,
/// `scenario.toml`) are required unless the directory holds only a sweep
/// or an optimisation (`sweep.csv`, `optimize.csv`). A missing or malformed
/// file is an error naming it.
pub fn write_report(dir: &Path) -> Result<PathBuf, ReportError> {
    write_report_with(dir, &ReportOptions::default())
}

/// As [`write_report`], with the choices of `options`.
pub fn write_report_with(dir: &Path, options: &ReportOptions) -> Result<PathBuf, ReportError> {
    write_report_into(dir, dir, &dir.display().to_string(), options)
}

/// Reads the results in `results` and writes their plots (into
/// `out/plots/`) and `out/report.html`, as [`write_report_with`] does into
/// one folder; `title` names the results in the page when no summary names
/// the scenario. `out` may be `results`, or a staging folder that is
/// switched into place afterwards.
pub fn write_report_into(
    results: &Path,
    out: &Path,
    title: &str,
    options: &ReportOptions,
) -> Result<PathBuf, ReportError> {
    let dir = results;
    if !dir.is_dir() {
        return Err(ReportError::Missing {
            path: dir.to_path_buf(),
            what: "the results directory written by `agora run`",
        });
    }
    let sweep_path = ["sweep.csv", "sweep.parquet"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    let optimize_path = dir.join("optimize.csv");
    let has_sweep = sweep_path.is_some();
    let has_optimize = optimize_path.is_file();
    let run_files = [
        "summary.json",
        "assets.csv",
        "agents.csv",
        "assets.parquet",
        "agents.parquet",
    ];
    let has_run = run_files.iter().any(|f| dir.join(f).exists()) || !(has_sweep || has_optimize);

    let run = if has_run { Some(load_run(dir)?) } else { None };
    let scenario_path = dir.join("scenario.toml");
    let scenario = if scenario_path.exists() || has_run {
        let path = require(
            &scenario_path,
            "the scenario as run, written by `agora run`",
        )?;
        Some(data::read_text(&path)?)
    } else {
        None
    };
    let sweep = sweep_path
        .map(|p| {
            if p.extension().is_some_and(|e| e == "parquet") {
                Csv::read_parquet(&p)
            } else {
                Csv::read(&p)
            }
        })
        .transpose()?;
    let optimize = has_optimize
        .then(|| Csv::read(&optimize_path))
        .transpose()?;
    if let Some(opt) = &optimize {
        opt.column(
            "objective",
            "columns evaluation, the parameters by path, objective",
        )?;
    }

    plot::register_font().map_err(|message| ReportError::Plot {
        path: out.join(PLOTS_DIR),
        message,
    })?;
    let plots_dir = out.join(PLOTS_DIR);
    std::fs::create_dir_all(&plots_dir)
        .map_err(|e| ReportError::io(&plots_dir, "creating the plots directory", e))?;
    let mut names = HashSet::new();
    let mut plots = Plots::default();
    let mut emit =
        |stem: String, title: String, figure: Figure| -> Result<PlotEntry, ReportError> {
            let name = unique_name(&mut names, &stem);
            let svg = plot::render(&plots_dir, &name, &figure)?;
            Ok(PlotEntry { title, svg })
        };

    if let Some(run) = &run {
        for (stem, title, figure) in run_figures(run) {
            plots.run.push(emit(stem, title, figure)?);
        }
        for (stem, title, figure) in fan_figures(run) {
            plots.ensemble.push(emit(stem, title, figure)?);
        }
    }
    let metric_paths: HashSet<String> = run
        .as_ref()
        .map(|r| {
            let mut out = Vec::new();
            data::flatten("", &r.summary, &mut out);
            out.into_iter().map(|(p, _)| p).collect()
        })
        .unwrap_or_default();
    if let Some(sweep) = &sweep {
        let drawn = sweep::figures(sweep, &metric_paths, options.sweep_metrics.as_deref())?;
        for (stem, title, figure) in drawn.figures {
            plots.sweep.push(emit(stem, title, figure)?);
        }
        plots.sweep_note = drawn.note;
    }
    // The page shows the means; the spreads are in sweep.csv.
    let sweep = sweep.map(|s| sweep::without_spread(&s));
    if let Some(opt) = &optimize {
        let (stem, title, figure) = optimize_figure(opt);
        plots.optimize.push(emit(stem, title, figure)?);
    }

    let page = html::page(&html::Inputs {
        title,
        summary: run.as_ref().map(|r| &r.summary),
        scenario: scenario.as_deref(),
        sweep: sweep.as_ref(),
        optimize: optimize.as_ref(),
        plots: &plots,
    });
    let report = out.join(REPORT_FILE);
    write_atomically(&report, page.as_bytes())?;
    Ok(report)
}

fn require(path: &Path, what: &'static str) -> Result<PathBuf, ReportError> {
    if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(ReportError::Missing {
            path: path.to_path_buf(),
            what,
        })
    }
}

fn load_run(dir: &Path) -> Result<RunData, ReportError> {
    let summary = data::read_json(&require(
        &dir.join("summary.json"),
        "the run's summary, written by `agora run`",
    )?)?;
    let table = |stem: &str, what: &'static str| -> Result<Csv, ReportError> {
        Csv::read_either(dir, stem)?.ok_or_else(|| ReportError::Missing {
            path: dir.join(format!("{stem}.csv")),
            what,
        })
    };
    let assets_csv = table(
        "assets",
        "the per-step asset records, written by `agora run` (or assets.parquet)",
    )?;
    let assets = Trajectories::from_csv(
        &assets_csv,
        "asset",
        &ASSET_VALUES[..ASSET_REQUIRED],
        &ASSET_VALUES[ASSET_REQUIRED..],
        ASSETS_EXPECTED,
    )?;
    let agents_csv = table(
        "agents",
        "the per-step group records, written by `agora run` (or agents.parquet)",
    )?;
    let has_agent_count = agents_csv.find("agents").is_some();
    let values: &[&str] = if has_agent_count {
        &["wealth", "agents"]
    } else {
        &["wealth"]
    };
    let agents = Trajectories::from_csv(
        &agents_csv,
        "group",
        values,
        &["mean_reward"],
        AGENTS_EXPECTED,
    )?;
    let share_names: Vec<String> = assets_csv
        .header
        .iter()
        .filter(|h| h.starts_with("share_"))
        .cloned()
        .collect();
    let share_refs: Vec<&str> = share_names.iter().map(String::as_str).collect();
    let shares = Trajectories::from_csv(&assets_csv, "asset", &[], &share_refs, ASSETS_EXPECTED)?;
    let param_names: Vec<String> = agents_csv
        .header
        .iter()
        .filter(|h| {
            agents_csv.find(&format!("{h}_p10")).is_some()
                && agents_csv.find(&format!("{h}_p90")).is_some()
        })
        .cloned()
        .collect();
    let param_columns: Vec<String> = param_names
        .iter()
        .flat_map(|p| [p.clone(), format!("{p}_p10"), format!("{p}_p90")])
        .collect();
    let param_refs: Vec<&str> = param_columns.iter().map(String::as_str).collect();
    let params = Trajectories::from_csv(&agents_csv, "group", &[], &param_refs, AGENTS_EXPECTED)?;
    if assets.names.is_empty() {
        return Err(ReportError::invalid(
            &assets_csv.path,
            "no rows: expected one row per run, step and asset",
        ));
    }
    Ok(RunData {
        summary,
        assets,
        agents,
        has_agent_count,
        shares: (share_names, shares),
        params: (param_names, params),
        reward: values.len(),
    })
}

/// Writes `bytes` to `path` under a temporary name in the same directory,
/// then renames it into place, so that a reader never sees a partial file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let file_name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = std::fs::File::create(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(|e| ReportError::io(&temp, "writing", e))
        .and_then(|()| {
            std::fs::rename(&temp, path)
                .map_err(|e| ReportError::io(path, "renaming into place", e))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// A file stem made of `[A-Za-z0-9_-]` only, distinct from those taken.
fn unique_name(taken: &mut HashSet<String>, stem: &str) -> String {
    let base: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut name = base.clone();
    let mut k = 2;
    while !taken.insert(name.clone()) {
        name = format!("{base}_{k}");
        k += 1;
    }
    name
}

fn run_note(t: &Trajectories) -> (u64, String) {
    let first = t.runs.iter().next().copied().unwrap_or(0);
    let note = if t.runs.len() > 1 {
        format!(" (run {first} of {})", t.runs.len())
    } else {
        String::new()
    };
    (first, note)
}

/// A line of `points` over steps, without markers.
fn line(label: &str, color: usize, points: Vec<(f64, f64)>) -> Series {
    Series {
        label: label.into(),
        color: plot::color(color),
        points,
        markers: false,
        line: true,
    }
}

/// The figure of asset `i` in run `first`: its price (with the best bid
/// and ask of an order book), its supply, and a resource's capacity,
/// requested and allocated units. A step without a price is a gap.
fn asset_figure(run: &RunData, i: usize, first: u64, note: &str) -> (String, String, Figure) {
    let name = &run.assets.names[i];
    let assets = &run.assets;
    let points = |v: usize| assets.points(i, first, v);
    let has = |v: usize| assets.has_values(i, first, v);
    let panel = |what: &str, y: &str, series: Vec<Series>| Panel {
        title: format!("{name}: {what}{note}"),
        x_label: "step".into(),
        y_label: y.into(),
        series,
        band: None,
        integer_x: true,
    };
    let prices = points(col::PRICE);
    let steps = prices.len();
    let priced = prices.iter().filter(|p| p.1.is_finite()).count();
    let mut price_what = "price".to_string();
    let mut price_series = vec![line("price", 0, prices)];
    let book = has(col::BEST_BID) || has(col::BEST_ASK);
    if book {
        price_what.push_str(", best bid and ask");
        price_series.push(line("best bid", 2, points(col::BEST_BID)));
        price_series.push(line("best ask", 1, points(col::BEST_ASK)));
    }
    if priced < steps {
        let _ = write!(
            price_what,
            " (no price at {} of {steps} steps)",
            steps - priced
        );
    }
    let mut caption = vec![price_what.clone()];
    let resource = has(col::CAPACITY);
    let mut panels = vec![panel(&price_what, price_label(resource), price_series)];
    let supply = points(col::SUPPLY);
    // A resource's supply is not a stock of tokens: shown only when used.
    if !resource || supply.iter().any(|p| p.1.is_finite() && p.1 != 0.0) {
        caption.push("supply".to_string());
        panels.push(panel(
            "supply",
            if resource {
                "supply (units)"
            } else {
                "supply (tokens)"
            },
            vec![line("supply", 1, supply)],
        ));
    }
    if resource {
        caption.push("capacity, requested and allocated units".to_string());
        panels.push(panel(
            "capacity, requested and allocated",
            "units per step",
            vec![
                line("capacity", 6, points(col::CAPACITY)),
                line("requested", 1, points(col::REQUESTED)),
                line("allocated", 2, points(col::ALLOCATED)),
            ],
        ));
    }
    let joined = match caption.as_slice() {
        [a, b] if !a.contains(',') => format!("{a} and {b}"),
        parts => parts.join("; "),
    };
    (
        format!("asset_{name}"),
        format!("{name}: {joined} over steps{note}"),
        Figure::Panels(panels),
    )
}

/// Price and supply per asset, and wealth per group, over steps.
fn run_figures(run: &RunData) -> Vec<(String, String, Figure)> {
    let mut out = Vec::new();
    let (first, note) = run_note(&run.assets);
    for i in 0..run.assets.names.len() {
        out.push(asset_figure(run, i, first, &note));
    }
    if run.agents.names.is_empty() {
        // No agents: nothing to draw.
        return out;
    }
    let (first, note) = run_note(&run.agents);
    let groups = &run.agents;
    let total = Panel {
        title: format!("Wealth per group{note}"),
        x_label: "step".into(),
        y_label: "group wealth (money)".into(),
        series: groups
            .names
            .iter()
            .enumerate()
            .map(|(i, g)| Series {
                label: g.clone(),
                color: plot::color(i),
                points: groups.points(i, first, 0),
                markers: false,
                line: true,
            })
            .collect(),
        band: None,
        integer_x: true,
    };
    let mut panels = vec![total];
    if run.has_agent_count {
        panels.push(Panel {
            title: format!("Mean wealth per agent{note}"),
            x_label: "step".into(),
            y_label: "wealth per agent (money)".into(),
            series: groups
                .names
                .iter()
                .enumerate()
                .map(|(i, g)| Series {
                    label: g.clone(),
                    color: plot::color(i),
                    points: groups.series[i]
                        .get(&first)
                        .map(|rows| {
                            rows.iter()
                                .map(|(s, v)| (*s, v[0] / v[1].max(1.0)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    markers: false,
                    line: true,
                })
                .collect(),
            band: None,
            integer_x: true,
        });
    }
    out.push((
        "wealth".into(),
        format!("Wealth per group over steps{note}"),
        Figure::Panels(panels),
    ));
    if let Some(figure) = learning_figure(run, first, &note) {
        out.push(figure);
    }
    out.extend(share_figures(run));
    out.extend(param_figures(run));
    out
}

/// Per population game (an asset with `share_<STRATEGY>` values): the
/// share of each strategy over steps.
fn share_figures(run: &RunData) -> Vec<(String, String, Figure)> {
    let (names, shares) = &run.shares;
    let (first, note) = run_note(&run.assets);
    let mut out = Vec::new();
    for (i, asset) in shares.names.iter().enumerate() {
        let series: Vec<Series> = names
            .iter()
            .enumerate()
            .filter(|&(v, _)| shares.has_values(i, first, v))
            .map(|(v, name)| {
                line(
                    name.trim_start_matches("share_"),
                    v,
                    shares.points(i, first, v),
                )
            })
            .collect();
        if series.is_empty() {
            continue;
        }
        out.push((
            format!("shares_{asset}"),
            format!("{asset}: the strategies' shares over steps{note}"),
            Figure::Panels(vec![Panel {
                title: format!("{asset}: strategy shares{note}"),
                x_label: "step".into(),
                y_label: "share of the players".into(),
                series,
                band: None,
                integer_x: true,
            }]),
        ));
    }
    out
}

/// Steps in the rolling window of the volatility-over-time figure.
const VOLATILITY_WINDOW: usize = 20;

/// With evolving parameters (`evolution`): per evolving parameter, each
/// group's mean and its 10th–90th percentile band over steps; and the
/// assets' volatility over time (the standard deviation of the one-step
/// log returns over the last [`VOLATILITY_WINDOW`] steps).
fn param_figures(run: &RunData) -> Vec<(String, String, Figure)> {
    let (names, params) = &run.params;
    if names.is_empty() {
        return Vec::new();
    }
    let (first, note) = run_note(&run.agents);
    let mut out = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let panels: Vec<Panel> = params
            .names
            .iter()
            .enumerate()
            .filter(|&(g, _)| params.has_values(g, first, 3 * k))
            .map(|(g, group)| {
                let mean = params.points(g, first, 3 * k);
                let lo = params.points(g, first, 3 * k + 1);
                let hi = params.points(g, first, 3 * k + 2);
                Panel {
                    title: format!("{group}: {name}{note}"),
                    x_label: "step".into(),
                    y_label: name.clone(),
                    series: vec![line("mean", g, mean)],
                    band: Some(Band {
                        label: "10th–90th percentile".into(),
                        color: plot::color(g),
                        points: lo.iter().zip(&hi).map(|(l, h)| (l.0, l.1, h.1)).collect(),
                    }),
                    integer_x: true,
                }
            })
            .collect();
        if panels.is_empty() {
            continue;
        }
        out.push((
            format!("param_{name}"),
            format!("{name}: its distribution over each evolving group's agents over steps (mean and 10th–90th percentile){note}"),
            Figure::Panels(panels),
        ));
    }
    let (first, note) = run_note(&run.assets);
    let series: Vec<Series> = run
        .assets
        .names
        .iter()
        .enumerate()
        .map(|(i, asset)| {
            let prices = run.assets.points(i, first, col::PRICE);
            let returns: Vec<(f64, f64)> = prices
                .windows(2)
                .map(|w| {
                    let r = if w[0].1 > 0.0 && w[1].1 > 0.0 {
                        (w[1].1 / w[0].1).ln()
                    } else {
                        f64::NAN
                    };
                    (w[1].0, r)
                })
                .collect();
            let points = returns
                .windows(VOLATILITY_WINDOW)
                .map(|w| {
                    let r: Vec<f64> = w.iter().map(|p| p.1).filter(|x| x.is_finite()).collect();
                    let n = r.len() as f64;
                    let sd = if r.len() < 2 {
                        f64::NAN
                    } else {
                        let m = r.iter().sum::<f64>() / n;
                        (r.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt()
                    };
                    (w[w.len() - 1].0, sd)
                })
                .collect();
            line(asset, i, points)
        })
        .collect();
    out.push((
        "volatility".into(),
        format!("Volatility over time: the standard deviation of the one-step log returns over the last {VOLATILITY_WINDOW} steps{note}"),
        Figure::Panels(vec![Panel {
            title: format!("Volatility over time ({VOLATILITY_WINDOW}-step window){note}"),
            x_label: "step".into(),
            y_label: "log-return volatility".into(),
            series,
            band: None,
            integer_x: true,
        }]),
    ));
    out
}

/// The learning curves, when a group learns (`agents.csv` has values of
/// `mean_reward`): each learning group's mean reward per agent and step,
/// and its moving average over a twentieth of the steps.
fn learning_figure(run: &RunData, first: u64, note: &str) -> Option<(String, String, Figure)> {
    let groups = &run.agents;
    let learning: Vec<usize> = (0..groups.names.len())
        .filter(|&i| groups.has_values(i, first, run.reward))
        .collect();
    if learning.is_empty() {
        return None;
    }
    let curves: Vec<(usize, Vec<(f64, f64)>)> = learning
        .iter()
        .map(|&i| {
            let points = groups.points(i, first, run.reward);
            (i, points.into_iter().filter(|p| p.1.is_finite()).collect())
        })
        .collect();
    let steps = curves.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    let window = (steps / 20).max(1);
    let series = |smooth: bool| -> Vec<Series> {
        curves
            .iter()
            .map(|(i, points)| {
                let points = if smooth {
                    moving_average(points, window)
                } else {
                    points.clone()
                };
                line(&groups.names[*i], *i, points)
            })
            .collect()
    };
    let panel = |title: String, series: Vec<Series>| Panel {
        title,
        x_label: "step".into(),
        y_label: "mean reward per agent".into(),
        series,
        band: None,
        integer_x: true,
    };
    Some((
        "learning".into(),
        format!(
            "Learning curves: each learning group's mean reward per agent and step (the change \
             of its objective), and its moving average over {window} steps (from step \
             {window} on){note}"
        ),
        Figure::Panels(vec![
            panel(format!("Mean reward per step{note}"), series(false)),
            panel(
                format!("Mean reward per step, moving average over {window} steps{note}"),
                series(true),
            ),
        ]),
    ))
}

/// The mean of the `window` values up to each point, at the point's step,
/// from the first full window on (the first steps' averages over fewer
/// values would be as noisy as the values themselves).
fn moving_average(points: &[(f64, f64)], window: usize) -> Vec<(f64, f64)> {
    let window = window.clamp(1, points.len().max(1));
    points
        .windows(window)
        .map(|w| {
            let mean = w.iter().map(|p| p.1).sum::<f64>() / window as f64;
            (w[window - 1].0, mean)
        })
        .collect()
}

/// The price axis' label: a resource is priced per unit, a token per
/// token.
fn price_label(resource: bool) -> &'static str {
    if resource {
        "price (money per unit)"
    } else {
        "price (money per token)"
    }
}

/// For more than one run: per asset, the p5–p95 band and the median of the
/// price at each step across runs.
fn fan_figures(run: &RunData) -> Vec<(String, String, Figure)> {
    let runs = run.assets.runs.len();
    if runs < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, name) in run.assets.names.iter().enumerate() {
        let first = run.assets.runs.iter().next().copied().unwrap_or(0);
        let resource = run.assets.has_values(i, first, col::CAPACITY);
        let mut by_step: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
        for rows in run.assets.series[i].values() {
            for (step, v) in rows {
                // A step priced in no run stays in, as a gap in the chart.
                let prices = by_step.entry(*step as u64).or_default();
                if v[col::PRICE].is_finite() {
                    prices.push(v[col::PRICE]);
                }
            }
        }
        let mut band = Vec::new();
        let mut median = Vec::new();
        for (step, mut prices) in by_step {
            prices.sort_by(f64::total_cmp);
            let x = step as f64;
            band.push((
                x,
                data::quantile(&prices, 0.05),
                data::quantile(&prices, 0.95),
            ));
            median.push((x, data::quantile(&prices, 0.5)));
        }
        let title = format!("{name}: price across {runs} runs");
        out.push((
            format!("fan_{name}"),
            format!("{title}: median and 5th–95th percentile band"),
            Figure::Panels(vec![Panel {
                title,
                x_label: "step".into(),
                y_label: price_label(resource).into(),
                series: vec![Series {
                    label: "median".into(),
                    color: plot::color(0),
                    points: median,
                    markers: false,
                    line: true,
                }],
                band: Some(Band {
                    label: "5th–95th percentile".into(),
                    color: plot::color(0),
                    points: band,
                }),
                integer_x: true,
            }]),
        ));
    }
    out
}

/// The objective at each evaluation and the best found so far: the file's
/// `best` (or `best_objective`) column when it has one, else the lowest
/// objective so far (optimize.csv does not say whether it maximised).
fn optimize_figure(opt: &Csv) -> (String, String, Figure) {
    let objective = opt.find("objective").unwrap_or(0);
    let evaluation = opt.find("evaluation");
    let best_col = opt.find("best").or_else(|| opt.find("best_objective"));
    let mut points = Vec::new();
    let mut best = Vec::new();
    let mut so_far = f64::INFINITY;
    for r in 0..opt.rows.len() {
        let x = evaluation.map_or((r + 1) as f64, |c| opt.num_lenient(r, c));
        let y = opt.num_lenient(r, objective);
        points.push((x, y));
        let b = match best_col {
            Some(c) => opt.num_lenient(r, c),
            None => {
                if y < so_far {
                    so_far = y;
                }
                so_far
            }
        };
        // A step line: the best changes only at an evaluation.
        if let Some(&(_, previous)) = best.last() {
            best.push((x, previous));
        }
        best.push((x, b));
    }
    let title = "Optimisation: objective per evaluation".to_string();
    (
        "convergence".into(),
        match best_col {
            Some(_) => {
                "Optimisation convergence: the objective of each evaluation and the best so far"
            }
            None => {
                "Optimisation convergence: the objective of each evaluation and the lowest so far"
            }
        }
        .into(),
        Figure::Panels(vec![Panel {
            title,
            x_label: "evaluation".into(),
            y_label: "objective".into(),
            series: vec![
                Series {
                    label: "objective".into(),
                    color: plot::color(0),
                    points,
                    markers: true,
                    line: false,
                },
                Series {
                    label: if best_col.is_some() {
                        "best so far"
                    } else {
                        "lowest so far"
                    }
                    .into(),
                    color: plot::color(1),
                    points: best,
                    markers: false,
                    line: true,
                },
            ],
            band: None,
            integer_x: true,
        }]),
    )
}
