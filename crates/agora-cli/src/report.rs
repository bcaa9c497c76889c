//! `agora report DIR`, and `--report` for the commands that write results:
//! plots and a self-contained HTML report of a results directory.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes the plots and `report.html` of the results in `dir`, and returns
/// the report's path; `metrics` chooses the sweep's plots (names or globs).
/// A missing or malformed input file becomes an input error (exit status
/// 2); a failure to write one of the outputs, exit 1.
pub fn write(dir: &Path, metrics: Option<&[String]>) -> anyhow::Result<PathBuf> {
    let mut options = agora_report::ReportOptions::default();
    if let Some(m) = metrics {
        options = options.with_sweep_metrics(m.to_vec());
    }
    agora_report::write_report_with(dir, &options).map_err(|e| {
        if e.is_input_error() {
            anyhow::Error::new(agora::Error::usage(e.to_string()))
        } else {
            anyhow::Error::new(e)
        }
    })
}

/// For `--report`: writes the report of `dir` and, unless `quiet`, prints
/// `  wrote PATH` as the other outputs are listed.
pub fn write_after(dir: &Path, quiet: bool) -> anyhow::Result<()> {
    write_sweep_after(dir, quiet, None)
}

/// As [`write_after`], with the sweep's plots chosen by `metrics`.
pub fn write_sweep_after(
    dir: &Path,
    quiet: bool,
    metrics: Option<&[String]>,
) -> anyhow::Result<()> {
    let path = write(dir, metrics)?;
    if !quiet {
        print_line(&format!("  wrote {}", path.display()))?;
    }
    Ok(())
}

/// `agora report DIR`: writes the report and prints its path.
pub fn run(dir: &Path, metrics: Option<&[String]>) -> anyhow::Result<()> {
    let path = write(dir, metrics)?;
    print_line(&path.display().to_string())?;
    Ok(())
}

/// Prints a line on stdout; a reader that closed the pipe is not an error.
fn print_line(line: &str) -> std::io::Result<()> {
    match writeln!(std::io::stdout().lock(), "{line}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
