//! `--format csv|parquet|both`: which tables `agora run` writes.
//!
//! `summary.json` and `scenario.toml` are written in every format. All the
//! files of a run are written together, all or nothing, as with CSV alone.

use agora::output::{run_files, write_atomically};
use agora::{RunOutput, Scenario};
use std::path::{Path, PathBuf};

/// The formats of the tables a command writes (`run`: `assets` and
/// `agents`; `sweep`: `sweep`). The value help is shared by the commands,
/// so it names formats, not files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CSV files (`.csv`)
    #[default]
    Csv,
    /// Parquet files (`.parquet`) instead of CSV
    Parquet,
    /// Both the CSV and the Parquet files
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
    let mut files = run_files(scenario, runs)?;
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
    }
    Ok(write_atomically(dir, &files)?)
}
