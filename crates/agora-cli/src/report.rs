//! `agora report DIR`, and `--report` for the commands that write results:
//! plots and a self-contained HTML report of a results directory.

use agora::output::OutputDir;
use agora_report::{ReportOptions, PLOTS_DIR, REPORT_FILE};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The result files of a folder, which must all come from one command:
/// those a report reads, and those written beside them.
const RESULT_FILES: [&str; 13] = [
    "summary.json",
    "scenario.toml",
    "assets.csv",
    "agents.csv",
    "assets.parquet",
    "agents.parquet",
    "agent_steps.csv",
    "agent_steps.parquet",
    "sweep.csv",
    "sweep.parquet",
    "optimize.csv",
    "optimize.json",
    "best.toml",
];

/// Writes the plots and `report.html` of the results in `results` into
/// `out`, as `options` choose, and returns the report's path. A missing or
/// malformed input file becomes an input error (exit status 2); a failure
/// to write one of the outputs, exit 1.
pub fn render(
    results: &Path,
    out: &Path,
    title: &str,
    options: &ReportOptions,
) -> anyhow::Result<PathBuf> {
    agora_report::write_report_into(results, out, title, options).map_err(|e| {
        if e.is_input_error() {
            anyhow::Error::new(agora::Error::usage(e.to_string()))
        } else {
            anyhow::Error::new(e)
        }
    })
}

/// Refuses a folder whose results do not belong together: a file that the
/// command which wrote the folder did not write (or that changed since,
/// by its manifest), or a `summary.json` whose `scenario_hash` is not that
/// of the `scenario.toml` beside it.
fn check_consistent(dir: &Path) -> anyhow::Result<()> {
    let present = agora::output::check_written(dir, &RESULT_FILES)?;
    let has = |name: &str| present.iter().any(|p| p == name);
    if !(has("summary.json") && has("scenario.toml")) {
        return Ok(());
    }
    let summary_path = dir.join("summary.json");
    let text =
        std::fs::read(&summary_path).map_err(|e| agora::Error::io(&summary_path, "reading", e))?;
    let Ok(summary) = serde_json::from_slice::<serde_json::Value>(&text) else {
        // Malformed: the report says so, naming the file.
        return Ok(());
    };
    let Some(recorded) = summary.get("scenario_hash").and_then(|h| h.as_str()) else {
        return Ok(());
    };
    let scenario_path = dir.join("scenario.toml");
    // A scenario this version cannot read is shown as text, unchecked.
    let Ok(scenario) = agora::Scenario::from_path(&scenario_path) else {
        return Ok(());
    };
    let actual = scenario.hash();
    if actual != recorded {
        return Err(agora::Error::usage(format!(
            "{}: scenario_hash {recorded} is not that of {} ({actual}): the folder mixes the \
             results of different scenarios; write them again",
            summary_path.display(),
            scenario_path.display()
        ))
        .into());
    }
    Ok(())
}

/// The report's choices: the sweep's plots chosen by `metrics` (names or
/// globs), if given.
pub fn options(metrics: Option<&[String]>) -> ReportOptions {
    let options = ReportOptions::default();
    match metrics {
        Some(m) => options.with_sweep_metrics(m.to_vec()),
        None => options,
    }
}

/// `agora report DIR`: checks that the results belong together, writes the
/// plots and the report beside them (the folder switched whole, as every
/// command writes it; `metrics` chooses the sweep's plots) and prints the
/// report's path.
pub fn run(dir: &Path, metrics: Option<&[String]>) -> anyhow::Result<()> {
    if !dir.is_dir() {
        return Err(agora::Error::usage(format!(
            "{}: not found (the results directory written by `agora run`)",
            dir.display()
        ))
        .into());
    }
    let mut out = OutputDir::open(dir, &[PLOTS_DIR, REPORT_FILE])?;
    crate::folder::warn(out.notes(), false);
    check_consistent(dir)?;
    let kept: Vec<String> = out
        .earlier()
        .names()
        .filter(|n| *n != PLOTS_DIR && *n != REPORT_FILE)
        // A result removed by hand stays removed.
        .filter(|n| std::fs::symlink_metadata(dir.join(n)).is_ok())
        .map(str::to_string)
        .collect();
    for name in &kept {
        out.keep(name)?;
    }
    render(
        dir,
        out.staging(),
        &dir.display().to_string(),
        &options(metrics),
    )?;
    let done = out.commit()?;
    crate::folder::warn(&done.notes, false);
    print_line(&dir.join(REPORT_FILE).display().to_string())?;
    Ok(())
}

/// Prints a line on stdout; a reader that closed the pipe is not an error.
fn print_line(line: &str) -> std::io::Result<()> {
    match writeln!(std::io::stdout().lock(), "{line}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
