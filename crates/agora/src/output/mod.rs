//! Writing results: `assets.csv`, `agents.csv`, `summary.json` and the
//! effective `scenario.toml`, atomically.
//!
//! Every file is first written in full under a temporary name in the output
//! directory; only when all of them are complete are they renamed into place.
//! An interrupted run therefore never leaves a file that looks complete.
//! Numbers are written as the shortest text that reads back as the same f64.

use crate::engine::RunOutput;
use crate::error::{Error, Result};
use crate::ledger::{to_units, wide_to_units};
use crate::scenario::Scenario;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The library's version, written into every summary.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Column names of `assets.csv`. `price_source` says where the price
/// comes from (`curve`, `initial`, `trade`, `mid`, `last`, `equilibrium`,
/// `no_equilibrium` with an empty price, `posted`); `best_bid` and
/// `best_ask` are an order book's quotes after the step; `capacity`,
/// `requested` and `allocated` are a resource's (empty where they do not
/// apply).
pub const ASSET_COLUMNS: [&str; 14] = [
    "run",
    "step",
    "asset",
    "price",
    "supply",
    "reserve",
    "volume",
    "trades",
    "price_source",
    "best_bid",
    "best_ask",
    "capacity",
    "requested",
    "allocated",
];

/// Column names of `agents.csv` (with more than one asset, one
/// `holdings_<ASSET>` column per asset follows).
pub const AGENT_COLUMNS: [&str; 7] = [
    "run", "step", "group", "agents", "balance", "holdings", "wealth",
];

fn num(buf: &mut ryu::Buffer, x: f64) -> String {
    if x.is_finite() {
        buf.format_finite(x).to_string()
    } else {
        String::new()
    }
}

/// Renders `assets.csv` for `runs`.
pub fn assets_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut buf = ryu::Buffer::new();
    let csv_err = |e: csv::Error| Error::usage(format!("writing assets.csv: {e}"));
    w.write_record(ASSET_COLUMNS).map_err(csv_err)?;
    for out in runs {
        for r in &out.records.assets {
            w.write_record([
                out.run.to_string(),
                r.step.to_string(),
                scenario.assets[r.asset as usize].name.clone(),
                num(&mut buf, r.price),
                num(&mut buf, to_units(r.supply)),
                num(&mut buf, wide_to_units(r.reserve)),
                num(&mut buf, wide_to_units(r.volume)),
                r.trades.to_string(),
                r.source.name().to_string(),
                num(&mut buf, r.best_bid.unwrap_or(f64::NAN)),
                num(&mut buf, r.best_ask.unwrap_or(f64::NAN)),
                num(&mut buf, r.capacity.unwrap_or(f64::NAN)),
                num(&mut buf, r.requested.unwrap_or(f64::NAN)),
                num(&mut buf, r.allocated.unwrap_or(f64::NAN)),
            ])
            .map_err(csv_err)?;
        }
    }
    w.into_inner()
        .map_err(|e| Error::usage(format!("writing assets.csv: {e}")))
}

/// Renders `agents.csv` (group totals) for `runs`.
pub fn agents_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut buf = ryu::Buffer::new();
    let csv_err = |e: csv::Error| Error::usage(format!("writing agents.csv: {e}"));
    let per_asset = scenario.assets.len() > 1;
    let mut header: Vec<String> = AGENT_COLUMNS.iter().map(|c| c.to_string()).collect();
    if per_asset {
        header.extend(
            scenario
                .assets
                .iter()
                .map(|a| format!("holdings_{}", a.name)),
        );
    }
    w.write_record(&header).map_err(csv_err)?;
    for out in runs {
        for r in &out.records.groups {
            let group = &scenario.groups[r.group as usize];
            let total: u128 = r.holdings.iter().sum();
            let mut row = vec![
                out.run.to_string(),
                r.step.to_string(),
                group.name.clone(),
                group.count.to_string(),
                num(&mut buf, wide_to_units(r.balance)),
                num(&mut buf, wide_to_units(total)),
                num(&mut buf, r.wealth),
            ];
            if per_asset {
                row.extend(r.holdings.iter().map(|h| num(&mut buf, wide_to_units(*h))));
            }
            w.write_record(&row).map_err(csv_err)?;
        }
    }
    w.into_inner()
        .map_err(|e| Error::usage(format!("writing agents.csv: {e}")))
}

/// Renders `summary.json` for one run or a Monte Carlo ensemble (`runs` in
/// run order, at least one).
///
/// The layout is a single run's: run metadata, then `assets`, `groups` and
/// `ledger`. For one run these are its metrics; for several, each metric's
/// mean across runs. Beside them, `distribution.<same path>` holds each
/// metric's `mean`, `std`, `p5`, `p50` and `p95` across runs.
pub fn summary_json(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<u8>> {
    let json_err = |e: serde_json::Error| Error::usage(format!("writing summary.json: {e}"));
    let ensemble = crate::experiment::aggregate(runs)?;
    // The first run's layout (names, strings), with every number replaced
    // by its mean across runs (for one run, the mean is the value itself,
    // which keeps whole numbers whole).
    let mut metrics = serde_json::to_value(&runs[0].summary).map_err(json_err)?;
    if runs.len() > 1 {
        let means: std::collections::HashMap<&str, f64> = ensemble
            .means
            .iter()
            .map(|(p, v)| (p.as_str(), *v))
            .collect();
        replace_numbers(&mut metrics, "", &means);
    }
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), VERSION.into());
    doc.insert("scenario".into(), scenario.origin.clone().into());
    doc.insert("scenario_hash".into(), scenario.hash().into());
    doc.insert("seed".into(), scenario.simulation.seed.into());
    doc.insert("steps".into(), scenario.simulation.steps.into());
    doc.insert("runs".into(), (runs.len() as u64).into());
    doc.insert("agents".into(), scenario.agent_count().into());
    if let serde_json::Value::Object(m) = metrics {
        doc.extend(m);
    }
    doc.insert(
        "distribution".into(),
        crate::experiment::nest(&ensemble.distributions),
    );
    let mut bytes = serde_json::to_vec_pretty(&serde_json::Value::Object(doc)).map_err(json_err)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn replace_numbers(
    value: &mut serde_json::Value,
    path: &str,
    means: &std::collections::HashMap<&str, f64>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                replace_numbers(v, &child, means);
            }
        }
        // A null in the first run (no value there) takes the mean of the
        // runs that have one; a mean over no runs is NaN, written as null.
        serde_json::Value::Number(_) | serde_json::Value::Null => {
            if let Some(mean) = means.get(path) {
                *value = serde_json::Value::from(*mean);
            }
        }
        _ => {}
    }
}

/// Writes the outputs of a single run into `dir` (created if missing):
/// `assets.csv`, `agents.csv`, `summary.json` and `scenario.toml`. Returns
/// the paths written.
pub fn write_run(dir: &Path, scenario: &Scenario, out: &RunOutput) -> Result<Vec<PathBuf>> {
    write_runs(dir, scenario, std::slice::from_ref(out))
}

/// Writes the outputs of a Monte Carlo ensemble (runs in run order) into
/// `dir`: the CSV files hold every run (`run` column), `summary.json` the
/// means and distributions across runs.
pub fn write_runs(dir: &Path, scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<PathBuf>> {
    write_atomically(dir, &run_files(scenario, runs)?)
}

/// The files of a run or an ensemble, rendered: `assets.csv`, `agents.csv`,
/// `summary.json` and `scenario.toml`, in that order (for writers that add
/// formats beside them).
pub fn run_files(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<(&'static str, Vec<u8>)>> {
    Ok(vec![
        ("assets.csv", assets_csv(scenario, runs)?),
        ("agents.csv", agents_csv(scenario, runs)?),
        ("summary.json", summary_json(scenario, runs)?),
        ("scenario.toml", scenario_toml(scenario)?),
    ])
}

/// Renders a scenario as the TOML it runs (overrides applied).
pub fn scenario_toml(scenario: &Scenario) -> Result<Vec<u8>> {
    toml::to_string(scenario.to_table())
        .map(String::into_bytes)
        .map_err(|e| Error::usage(format!("writing scenario.toml: {e}")))
}

/// Writes `files` (name, content) into `dir` all or nothing: each is written
/// and synced under a temporary name, then all are renamed into place.
pub fn write_atomically(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, "creating the output directory", e))?;
    // A directory in the way would fail its rename after others succeeded:
    // refuse before anything is written.
    for (name, _) in files {
        let target = dir.join(name);
        if target.is_dir() {
            return Err(Error::io(
                &target,
                "writing results",
                std::io::Error::new(
                    std::io::ErrorKind::IsADirectory,
                    "a directory is in the way",
                ),
            ));
        }
    }
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for (name, bytes) in files {
            let temp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
            let target = dir.join(name);
            temps.push((temp.clone(), target));
            let mut f = fs::File::create(&temp).map_err(|e| Error::io(&temp, "creating", e))?;
            f.write_all(bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| Error::io(&temp, "writing", e))?;
        }
        for (temp, target) in &temps {
            fs::rename(temp, target).map_err(|e| Error::io(target, "renaming into place", e))?;
        }
        Ok(temps.iter().map(|(_, t)| t.clone()).collect())
    })();
    if result.is_err() {
        for (temp, _) in &temps {
            let _ = fs::remove_file(temp);
        }
    }
    result
}
