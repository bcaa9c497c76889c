//! `agora sweep`: a grid of parameter values, each point a Monte Carlo
//! ensemble; one row of metric means and spreads per point in
//! `DIR/sweep.csv`, and with `--keep-runs` every run's per-step records in
//! `DIR/points/<i>/`.

use agora::experiment::sweep::{parse_axis, sweep_csv, sweep_keeping, Grid};
use agora::output::OutputDir;
use agora::{RunOutput, Scenario};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use agora::output::shards::{ShardInfo, POINTS_DIR, SHARD_FILE};

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
    /// Directory for sweep.csv (created if missing; what an earlier agora command wrote there is replaced, other files kept).
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

/// Writes each point's records into `points/<i>/` of the output folder's
/// staging folder as the sweep goes: they are switched into place with
/// the sweep table, and listed in the folder's manifest (so that the next
/// command into the folder replaces them, and refuses a file of the
/// user's put among them).
struct KeptRuns<'a> {
    out: &'a OutputDir,
    format: crate::format::Format,
    /// The first failure to write (the sweep stops with a plain marker
    /// error; this is the real one).
    failure: Mutex<Option<anyhow::Error>>,
}

impl KeptRuns<'_> {
    fn keep(&self, point: usize, scenario: &Scenario, runs: &[RunOutput]) -> agora::Result<()> {
        let write = || -> anyhow::Result<()> {
            for (name, bytes) in crate::format::output_files(scenario, runs, self.format, None)? {
                self.out
                    .write_within(&format!("{POINTS_DIR}/{point}/{name}"), &bytes)?;
            }
            Ok(())
        };
        write().map_err(|e| {
            let message = format!("writing the records of grid point {point}: {e}");
            self.failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
            agora::Error::usage(message)
        })
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
    // The grid's memory is checked before the grid is made.
    let pool = crate::thread_pool(args.exec.threads)?;
    let threads = pool.current_num_threads();
    let mut points = if args.zip {
        axes.first().map_or(0, |a| a.values.len() as u128)
    } else {
        axes.iter()
            .fold(1u128, |n, a| n.saturating_mul(a.values.len() as u128))
    };
    if let Some(shard) = &args.shard {
        let (_, n) = parse_shard(shard)?;
        points = points.div_ceil(n.max(1) as u128);
    }
    let footprint = agora::limits::sweep_footprint(&scenario, points, axes.len(), threads);
    args.exec
        .check_memory(scenario.origin(), &footprint, threads)?;
    let mut grid = if args.zip {
        Grid::zip(&axes)?
    } else {
        Grid::cartesian(&axes)?
    };
    let whole = grid.clone();
    let (shard, shards) = match &args.shard {
        Some(text) => parse_shard(text)?,
        None => (1, 1),
    };
    if args.shard.is_some() {
        grid = grid.shard(shard, shards)?;
    }
    let info = ShardInfo::sweep(
        &scenario,
        &whole,
        &grid,
        (shard, shards),
        args.format != crate::format::Format::Parquet,
        args.keep_runs,
    )?;
    // Every point is validated before anything runs.
    agora::experiment::sweep::scenarios(&scenario, &grid)?;
    for w in grid.warnings(&scenario) {
        crate::messages::warn(args.exec.quiet, &w);
    }
    let mut names = vec![SHARD_FILE];
    if args.format != crate::format::Format::Parquet {
        names.push("sweep.csv");
    }
    if args.format != crate::format::Format::Csv {
        names.push(agora_parquet::SWEEP_FILE);
    }
    if args.keep_runs {
        names.push(POINTS_DIR);
    }
    let (report, quiet) = (args.exec.report, args.exec.quiet);
    let mut out = crate::folder::open(&args.out, &names, report, &args.source, quiet)?;
    let kept = args.keep_runs.then(|| KeptRuns {
        out: &out,
        format: args.format,
        failure: Mutex::new(None),
    });

    let total = grid.points.len() as u64 * scenario.simulation().runs;
    let bar = crate::counting_bar(total, args.exec.quiet, "run");
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
            // Dropping `out` removes the staging folder, points and all.
            let failure =
                kept.and_then(|k| k.failure.into_inner().unwrap_or_else(|p| p.into_inner()));
            return Err(failure.unwrap_or_else(|| e.into()));
        }
    };
    drop(kept);
    if args.format != crate::format::Format::Parquet {
        out.write("sweep.csv", &sweep_csv(&table)?)?;
    }
    if args.format != crate::format::Format::Csv {
        let bytes = agora_parquet::sweep_parquet(&table)
            .map_err(|e| anyhow::anyhow!("writing sweep.parquet: {e}"))?;
        out.write(agora_parquet::SWEEP_FILE, &bytes)?;
    }
    out.write(SHARD_FILE, &info.to_json()?)?;
    let options = crate::report::options(args.metrics.as_deref());
    let mut written = crate::folder::commit(out, report.then_some(&options), quiet)?;
    // The report's path, last, is listed after the points.
    let report_path = if report { written.pop() } else { None };
    let points = args.keep_runs.then(|| args.out.join(POINTS_DIR));
    if !quiet {
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
        })
        .and_then(|()| match &report_path {
            Some(p) => writeln!(w, "  wrote {}", p.display()),
            None => Ok(()),
        });
        crate::quiet_pipe(printed)?;
    }
    Ok(())
}
