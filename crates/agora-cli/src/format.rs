//! `--format csv|parquet|both`: which tables `agora run` writes.
//!
//! `summary.json` and `scenario.toml` are written in every format. All the
//! files of a run are switched into place together (see [`crate::folder`]).

use agora::output::{run_files, OutputDir};
use agora::{RunOutput, Scenario};

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

impl Format {
    /// The files a run writes in this format.
    pub fn run_files(self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self != Format::Parquet {
            names.extend(["assets.csv", "agents.csv"]);
        }
        names.extend(["summary.json", "scenario.toml"]);
        if self != Format::Csv {
            names.extend([agora_parquet::ASSETS_FILE, agora_parquet::AGENTS_FILE]);
        }
        names
    }
}

/// Writes the outputs of `runs` in `format` into the staging folder of
/// `out`, beside `summary.json` and `scenario.toml`.
pub fn write_outputs(
    out: &mut OutputDir,
    scenario: &Scenario,
    runs: &[RunOutput],
    format: Format,
) -> anyhow::Result<()> {
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
    for (name, bytes) in &files {
        out.write(name, bytes)?;
    }
    Ok(())
}
