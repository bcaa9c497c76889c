//! `--format csv|parquet|both`: which tables `agora run` writes.
//!
//! `summary.json` and `scenario.toml` are written in every format. All the
//! files of a run are written together, all or nothing, as with CSV alone.

use agora::output::{agents_csv, assets_csv, summary_json, write_atomically, write_runs};
use agora::{RunOutput, Scenario};
use std::path::{Path, PathBuf};

/// The formats of the `assets` and `agents` tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `assets.csv` and `agents.csv`.
    #[default]
    Csv,
    /// `assets.parquet` and `agents.parquet` (no CSV).
    Parquet,
    /// Both the CSV and the Parquet files.
    Both,
}

/// Writes the outputs of `runs` into `dir` in `format`, beside
/// `summary.json` and `scenario.toml`, all or nothing. Returns the paths
/// written.
pub fn write_outputs(
    dir: &Path,
    scenario: &Scenario,
    runs: &[RunOutput],
    format: Format,
) -> anyhow::Result<Vec<PathBuf>> {
    if format == Format::Csv {
        return Ok(write_runs(dir, scenario, runs)?);
    }
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    if format == Format::Both {
        files.push(("assets.csv", assets_csv(scenario, runs)?));
        files.push(("agents.csv", agents_csv(scenario, runs)?));
    }
    files.push((
        agora_parquet::ASSETS_FILE,
        agora_parquet::assets_parquet(scenario, runs)?,
    ));
    files.push((
        agora_parquet::AGENTS_FILE,
        agora_parquet::agents_parquet(scenario, runs)?,
    ));
    files.push(("summary.json", summary_json(scenario, runs)?));
    // As `write_runs` renders it (a test checks that the files are equal).
    let scenario_text = toml::to_string(scenario.to_table())
        .map_err(|e| agora::Error::usage(format!("writing scenario.toml: {e}")))?;
    files.push(("scenario.toml", scenario_text.into_bytes()));
    Ok(write_atomically(dir, &files)?)
}
