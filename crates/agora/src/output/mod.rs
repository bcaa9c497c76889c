//! Writing results: `assets.csv`, `agents.csv`, `summary.json` and the
//! effective `scenario.toml`, atomically.
//!
//! Every file is first written in full under a temporary name in the output
//! directory; only when all of them are complete are they renamed into place.
//! An interrupted run therefore never leaves a file that looks complete.
//! Numbers are written as the shortest text that reads back as the same f64.

use crate::engine::{RunOutput, RunSummary};
use crate::error::{Error, Result};
use crate::ledger::{to_units, wide_to_units};
use crate::scenario::Scenario;
use serde::Serialize;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The library's version, written into every summary.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Column names of `assets.csv`.
pub const ASSET_COLUMNS: [&str; 8] = [
    "run", "step", "asset", "price", "supply", "reserve", "volume", "trades",
];

/// Column names of `agents.csv` (with more than one asset, one
/// `holdings_<ASSET>` column per asset follows).
pub const AGENT_COLUMNS: [&str; 7] = [
    "run", "step", "group", "agents", "balance", "holdings", "wealth",
];

/// The content of `summary.json`: run metadata, then the metrics.
#[derive(Debug, Serialize)]
pub struct SummaryFile<'a> {
    /// Agora's version.
    pub version: &'static str,
    /// Where the scenario came from.
    pub scenario: &'a str,
    /// [`Scenario::hash`] of the scenario run.
    pub scenario_hash: String,
    /// Base seed.
    pub seed: u64,
    /// Steps run.
    pub steps: u64,
    /// Number of runs.
    pub runs: u64,
    /// Number of agents.
    pub agents: u64,
    /// The metrics.
    #[serde(flatten)]
    pub metrics: &'a RunSummary,
}

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
                num(&mut buf, to_units(r.reserve)),
                num(&mut buf, to_units(r.volume)),
                r.trades.to_string(),
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

/// Renders `summary.json` for a run.
pub fn summary_json(scenario: &Scenario, out: &RunOutput) -> Result<Vec<u8>> {
    let file = SummaryFile {
        version: VERSION,
        scenario: &scenario.origin,
        scenario_hash: scenario.hash(),
        seed: scenario.simulation.seed,
        steps: scenario.simulation.steps,
        runs: 1,
        agents: scenario.agent_count(),
        metrics: &out.summary,
    };
    let mut bytes = serde_json::to_vec_pretty(&file)
        .map_err(|e| Error::usage(format!("writing summary.json: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes the outputs of a single run into `dir` (created if missing):
/// `assets.csv`, `agents.csv`, `summary.json` and `scenario.toml`. Returns
/// the paths written.
pub fn write_run(dir: &Path, scenario: &Scenario, out: &RunOutput) -> Result<Vec<PathBuf>> {
    let runs = std::slice::from_ref(out);
    let scenario_text = toml::to_string(scenario.to_table())
        .map_err(|e| Error::usage(format!("writing scenario.toml: {e}")))?;
    let files = [
        ("assets.csv", assets_csv(scenario, runs)?),
        ("agents.csv", agents_csv(scenario, runs)?),
        ("summary.json", summary_json(scenario, out)?),
        ("scenario.toml", scenario_text.into_bytes()),
    ];
    write_atomically(dir, &files)
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
