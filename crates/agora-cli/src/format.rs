//! `--format csv|parquet|both`: which tables `agora run` writes.
//!
//! `summary.json` and `scenario.toml` are written in every format. All the
//! files of a run are written together, all or nothing, as with CSV alone.

use agora::output::{run_files_with, write_atomically, Performance};
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
/// `summary.json` (with the measured `performance`) and `scenario.toml`,
/// all or nothing. Returns the paths written.
pub fn write_outputs(
    dir: &Path,
    scenario: &Scenario,
    runs: &[RunOutput],
    format: Format,
    performance: Option<&Performance>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = run_files_with(scenario, runs, performance)?;
    if format == Format::Parquet {
        files.retain(|(name, _)| !name.ends_with(".csv"));
    }
    if format != Format::Csv {
        files.push((
            agora_parquet::ASSETS_FILE,
            agora_parquet::assets_parquet(scenario, runs)?,
        ));
        files.push((
            agora_parquet::AGENTS_FILE,
            agora_parquet::agents_parquet(scenario, runs)?,
        ));
        if let Some(bytes) = agora_parquet::agent_steps_parquet(scenario, runs)? {
            files.push((agora_parquet::AGENT_STEPS_FILE, bytes));
        }
    }
    Ok(write_atomically(dir, &files)?)
}
