//! `agora sweep`: a grid of parameter values, each point a Monte Carlo
//! ensemble; one row of metric means and spreads per point in
//! `DIR/sweep.csv`, and with `--keep-runs` every run's per-step records in
//! `DIR/points/<i>/`.

use agora::experiment::sweep::{parse_axis, sweep_csv, sweep_keeping, Grid};
use agora::{RunOutput, Scenario};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// The folder, inside the output directory, of the per-point records.
const POINTS_DIR: &str = "points";

/// Arguments of `agora sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    source: crate::ScenarioArgs,
    #[command(flatten)]
    exec: crate::ExecArgs,
    /// A parameter and its values, e.g. `assets.TOKEN.pricing.m=0.001,0.002`
    /// (repeat for a grid; the first varies slowest). Values may be strings
    /// (`assets.TOKEN.pricing.curve=linear,power`) or, as a TOML array,
    /// inline tables.
    #[arg(long = "set", value_name = "PATH=V1,V2,...", required = true)]
    set: Vec<String>,
    /// Pair the lists element by element instead of taking their product.
    #[arg(long)]
    zip: bool,
    /// Run only the i-th of n near-equal parts of the grid (for array jobs).
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Directory for sweep.csv (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The sweep table as CSV (default), Parquet (`sweep.parquet`), or both.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = crate::format::Format::Csv)]
    format: crate::format::Format,
    /// Also keep every run's per-step records: DIR/points/<i>/ holds what
    /// `agora run` writes for grid point i (in --format).
    #[arg(long)]
    keep_runs: bool,
    /// The metrics --report plots: names or globs, e.g.
    /// `assets.*.final_price,groups.*.pnl` (default: a short list of
    /// headline metrics).
    #[arg(
        long,
        value_name = "METRIC,...",
        value_delimiter = ',',
        requires = "report"
    )]
    metrics: Option<Vec<String>>,
}

fn parse_shard(text: &str) -> agora::Result<(usize, usize)> {
    let bad = || agora::Error::usage(format!("--shard {text:?}: expected I/N, e.g. 2/8"));
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    Ok((
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    ))
}

/// Refuses a `points` folder that holds anything but an earlier sweep's
/// per-point folders (named by their index), which `--keep-runs` replaces.
fn check_points_dir(dir: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(|e| agora::Error::io(dir, "reading", e))?;
        let name = entry.file_name();
        let ours =
            entry.path().is_dir() && name.to_str().is_some_and(|n| n.parse::<usize>().is_ok());
        if !ours {
            return Err(agora::Error::usage(format!(
                "{}: --keep-runs replaces this folder, but it holds {:?}, which no sweep wrote; move it or choose another --out",
                dir.display(),
                name
            ))
            .into());
        }
    }
    Ok(())
}

/// Writes each point's records into a staging folder as the sweep goes,
/// then switches the staging folder into place as `points` at the end.
struct KeptRuns {
    staging: PathBuf,
    target: PathBuf,
    format: crate::format::Format,
    /// The first failure to write (the sweep stops with a plain marker
    /// error; this is the real one).
    failure: Mutex<Option<anyhow::Error>>,
}

impl KeptRuns {
    fn new(out: &Path, format: crate::format::Format) -> anyhow::Result<Self> {
        let target = out.join(POINTS_DIR);
        check_points_dir(&target)?;
        let staging = out.join(format!(".{POINTS_DIR}.tmp-{}", std::process::id()));
        std::fs::create_dir_all(&staging)
            .map_err(|e| agora::Error::io(&staging, "creating the per-point folder", e))?;
        Ok(KeptRuns {
            staging,
            target,
            format,
            failure: Mutex::new(None),
        })
    }

    fn keep(&self, point: usize, scenario: &Scenario, runs: &[RunOutput]) -> agora::Result<()> {
        let dir = self.staging.join(point.to_string());
        crate::format::write_outputs(&dir, scenario, runs, self.format, None)
            .map(|_| ())
            .map_err(|e| {
                let message = format!("writing the records of grid point {point}: {e}");
                self.failure
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(e);
                agora::Error::usage(message)
            })
    }

    /// Replaces `points` with the staging folder.
    fn finish(&self) -> anyhow::Result<PathBuf> {
        if self.target.exists() {
            std::fs::remove_dir_all(&self.target)
                .map_err(|e| agora::Error::io(&self.target, "replacing", e))?;
        }
        std::fs::rename(&self.staging, &self.target)
            .map_err(|e| agora::Error::io(&self.target, "renaming into place", e))?;
        Ok(self.target.clone())
    }

    /// Removes the staging folder after a failure.
    fn abandon(&self) {
        let _ = std::fs::remove_dir_all(&self.staging);
    }
}

/// Runs `agora sweep`.
pub fn run(args: SweepArgs) -> anyhow::Result<()> {
    let scenario = args.source.load()?;
    let axes = args
        .set
        .iter()
        .map(|s| parse_axis(s))
        .collect::<agora::Result<Vec<_>>>()?;
    let mut grid = if args.zip {
        Grid::zip(&axes)?
    } else {
        Grid::cartesian(&axes)?
    };
    if let Some(shard) = &args.shard {
        let (i, n) = parse_shard(shard)?;
        grid = grid.shard(i, n)?;
    }
    if args.exec.report && args.format == crate::format::Format::Parquet {
        return Err(agora::Error::usage(
            "--report plots the CSV table: use --format both (or csv) with --report",
        )
        .into());
    }
    // Every point is validated before anything runs.
    agora::experiment::sweep::scenarios(&scenario, &grid)?;
    for w in grid.warnings(&scenario) {
        crate::messages::warn(args.exec.quiet, &w);
    }
    let kept = if args.keep_runs {
        Some(KeptRuns::new(&args.out, args.format)?)
    } else {
        None
    };

    let total = grid.points.len() as u64 * scenario.simulation().runs;
    let bar = crate::counting_bar(total, args.exec.quiet, "run");
    let pool = crate::thread_pool(args.exec.threads)?;
    let started = Instant::now();
    let result = pool.install(|| {
        sweep_keeping(
            &scenario,
            &grid,
            &|| bar.inc(1),
            &|i, s, runs| match &kept {
                Some(k) => k.keep(i, s, runs),
                None => Ok(()),
            },
        )
    });
    bar.finish_and_clear();
    let table = match result {
        Ok(table) => table,
        Err(e) => {
            let failure = kept.as_ref().and_then(|k| {
                k.abandon();
                k.failure.lock().unwrap_or_else(|p| p.into_inner()).take()
            });
            return Err(failure.unwrap_or_else(|| e.into()));
        }
    };
    let mut files = Vec::new();
    if args.format != crate::format::Format::Parquet {
        files.push(("sweep.csv", sweep_csv(&table)?));
    }
    if args.format != crate::format::Format::Csv {
        let bytes = agora_parquet::sweep_parquet(&table)
            .map_err(|e| anyhow::anyhow!("writing sweep.parquet: {e}"))?;
        files.push(("sweep.parquet", bytes));
    }
    let points = match &kept {
        Some(k) => match k.finish() {
            Ok(p) => Some(p),
            Err(e) => {
                k.abandon();
                return Err(e);
            }
        },
        None => None,
    };
    let written = agora::output::write_atomically(&args.out, &files)?;
    if !args.exec.quiet {
        let mut w = std::io::stdout().lock();
        let printed = writeln!(
            w,
            "{}: {} grid points x {} runs in {:.3} s",
            scenario.origin(),
            grid.points.len(),
            scenario.simulation().runs,
            started.elapsed().as_secs_f64(),
        )
        .and_then(|()| {
            written
                .iter()
                .try_for_each(|p| writeln!(w, "  wrote {}", p.display()))
        })
        .and_then(|()| match &points {
            Some(p) => writeln!(
                w,
                "  wrote {}/<i>/ for grid points {}..={} (each as `agora run` writes it)",
                p.display(),
                grid.offset,
                grid.offset + grid.points.len().saturating_sub(1)
            ),
            None => Ok(()),
        });
        crate::quiet_pipe(printed)?;
    }
    if args.exec.report {
        crate::report::write_sweep_after(&args.out, args.exec.quiet, args.metrics.as_deref())?;
    }
    Ok(())
}
