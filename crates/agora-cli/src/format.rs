//! `--format csv|parquet|both`: which tables `agora run` and `agora sweep` write.
//!
//! `summary.json` and `scenario.toml` are written in every format. All the
//! files of a run are switched into place together (see [`crate::folder`]).

use agora::output::{
    run_files_with, OutputDir, Performance, AGENT_STEPS_FILE, ALERTS_FILE, CONTRACTS_FILE,
    DEVIATION_FILE, INCENTIVES_FILE, TRADES_FILE,
};
use agora::{RunOutput, Scenario};

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

impl Format {
    /// The format's name, as `--format` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Both => "both",
        }
    }

    /// The format named `name` (as `--format` takes it).
    pub fn from_name(name: &str) -> Option<Format> {
        [Format::Csv, Format::Parquet, Format::Both]
            .into_iter()
            .find(|f| f.name() == name)
    }

    /// The files a run of `scenario` writes in this format (the per-agent
    /// records only when the scenario asks for them).
    pub fn run_files(self, scenario: &Scenario) -> Vec<&'static str> {
        let agent_steps = scenario.output().agent_steps.is_some();
        let trades = scenario.output().trades;
        let mut names = Vec::new();
        if self != Format::Parquet {
            names.extend(["assets.csv", "agents.csv"]);
            if agent_steps {
                names.push(AGENT_STEPS_FILE);
            }
            if trades {
                names.push(TRADES_FILE);
            }
        }
        names.extend(["summary.json", "scenario.toml"]);
        // The impulse responses of deviation events: small, CSV in every
        // format.
        if has_deviation(scenario) {
            names.push(DEVIATION_FILE);
        }
        // The contracts' records too.
        if !scenario.contracts().is_empty() {
            names.push(CONTRACTS_FILE);
        }
        // The incentive rules' flows: small (one row per step and flow),
        // CSV in every format (and Parquet beside it).
        if !scenario.incentives().is_empty() {
            names.push(INCENTIVES_FILE);
        }
        // The monitors' alerts: CSV in every format.
        if !scenario.monitors().is_empty() {
            names.push(ALERTS_FILE);
        }
        if self != Format::Csv {
            names.extend([agora_parquet::ASSETS_FILE, agora_parquet::AGENTS_FILE]);
            if agent_steps {
                names.push(agora_parquet::AGENT_STEPS_FILE);
            }
            if trades {
                names.push(agora_parquet::TRADES_FILE);
            }
            if !scenario.incentives().is_empty() {
                names.push(agora_parquet::INCENTIVES_FILE);
            }
            if !scenario.monitors().is_empty() {
                names.push(agora_parquet::ALERTS_FILE);
            }
        }
        names
    }
}

/// The files of `runs` in `format`, rendered: the tables, `summary.json`
/// (with the measured `performance`, if given) and `scenario.toml`.
pub fn output_files(
    scenario: &Scenario,
    runs: &[RunOutput],
    format: Format,
    performance: Option<&Performance>,
) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let mut files = run_files_with(scenario, runs, performance)?;
    if format == Format::Parquet {
        files.retain(|(name, _)| {
            !name.ends_with(".csv")
                || *name == DEVIATION_FILE
                || *name == CONTRACTS_FILE
                || *name == INCENTIVES_FILE
                || *name == ALERTS_FILE
        });
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
        if let Some(bytes) = agora_parquet::trades_parquet(scenario, runs)? {
            files.push((agora_parquet::TRADES_FILE, bytes));
        }
        if let Some(bytes) = agora_parquet::incentives_parquet(scenario, runs)? {
            files.push((agora_parquet::INCENTIVES_FILE, bytes));
        }
        if let Some(bytes) = agora_parquet::alerts_parquet(scenario, runs)? {
            files.push((agora_parquet::ALERTS_FILE, bytes));
        }
    }
    Ok(files)
}

/// Writes the outputs of `runs` in `format` into the staging folder of
/// `out`, beside `summary.json` (with the measured `performance`) and
/// `scenario.toml`.
pub fn write_outputs(
    out: &mut OutputDir,
    scenario: &Scenario,
    runs: &[RunOutput],
    format: Format,
    performance: Option<&Performance>,
) -> anyhow::Result<()> {
    for (name, bytes) in &output_files(scenario, runs, format, performance)? {
        out.write(name, bytes)?;
    }
    Ok(())
}

/// Writes `summary.json` (with the measured `performance`) and
/// `scenario.toml` of `runs` into the staging folder of `out`, for a run
/// whose tables were written as it went.
pub fn write_summary_files(
    out: &mut OutputDir,
    scenario: &Scenario,
    runs: &[RunOutput],
    performance: Option<&Performance>,
) -> anyhow::Result<()> {
    out.write(
        "summary.json",
        &agora::output::summary_json_with(scenario, runs, performance)?,
    )?;
    out.write("scenario.toml", &agora::output::scenario_toml(scenario)?)?;
    if let Some(bytes) = agora::output::deviation_csv(scenario, runs)? {
        out.write(DEVIATION_FILE, &bytes)?;
    }
    if let Some(bytes) = agora::output::contracts_csv(scenario, runs)? {
        out.write(CONTRACTS_FILE, &bytes)?;
    }
    if let Some(bytes) = agora::output::incentives_csv(scenario, runs)? {
        out.write(INCENTIVES_FILE, &bytes)?;
    }
    if let Some(bytes) = agora::output::alerts_csv(scenario, runs)? {
        out.write(ALERTS_FILE, &bytes)?;
    }
    Ok(())
}

/// Whether `scenario` has `deviation` events (and writes `deviation.csv`).
fn has_deviation(scenario: &Scenario) -> bool {
    scenario
        .events()
        .iter()
        .any(|e| matches!(e.kind, agora::scenario::EventKind::Deviation { .. }))
}
