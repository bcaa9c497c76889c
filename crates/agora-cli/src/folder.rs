//! The output folder of `run`, `sweep` and `optimize`: locked and staged
//! before anything runs (so that a second command into the same folder, a
//! folder that cannot take the results, or a scenario that the results
//! would replace fail at once), switched into place whole at the end, with
//! the report when `--report` asks for it.

use agora::output::OutputDir;
use agora_report::ReportOptions;
use std::path::{Path, PathBuf};

/// Opens `dir` for results named `names` (and, with `report`, the plots
/// and report.html), refusing when they would replace the scenario file
/// that `source` reads.
pub fn open(
    dir: &Path,
    names: &[&str],
    report: bool,
    source: &crate::ScenarioArgs,
    quiet: bool,
) -> anyhow::Result<OutputDir> {
    let mut planned = names.to_vec();
    if report {
        planned.extend([agora_report::PLOTS_DIR, agora_report::REPORT_FILE]);
    }
    let inputs: Vec<&Path> = source.scenario.iter().map(PathBuf::as_path).collect();
    let out = OutputDir::open_reading(dir, &planned, &inputs)?;
    warn(out.notes(), quiet);
    Ok(out)
}

/// With `report` (its options), writes the plots and report.html of the
/// staged results beside them; then switches everything into place.
/// Returns the paths written, the report's last.
pub fn commit(
    out: OutputDir,
    report: Option<&ReportOptions>,
    quiet: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    let report_path = match report {
        Some(options) => {
            let title = out.dir().display().to_string();
            crate::report::render(out.staging(), out.staging(), &title, options)?;
            Some(out.dir().join(agora_report::REPORT_FILE))
        }
        None => None,
    };
    let done = out.commit()?;
    warn(&done.notes, quiet);
    let mut paths = done.paths;
    paths.extend(report_path);
    Ok(paths)
}

/// Prints notes on what an earlier, killed command left behind.
pub fn warn(notes: &[String], quiet: bool) {
    for note in notes {
        crate::messages::warn(quiet, note);
    }
}
