//! `agora sweep`: a grid of parameter values, each point a Monte Carlo
//! ensemble; one row of metric means per point in `DIR/sweep.csv`.

use agora::experiment::sweep::{parse_axis, sweep, sweep_csv, Grid};
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `agora sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    source: crate::ScenarioArgs,
    #[command(flatten)]
    exec: crate::ExecArgs,
    /// A parameter and its values, e.g. `assets.TOKEN.pricing.m=0.001,0.002`
    /// (repeat for a grid; the first varies slowest).
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
}

fn parse_shard(text: &str) -> agora::Result<(usize, usize)> {
    let bad = || agora::Error::usage(format!("--shard {text:?}: expected I/N, e.g. 2/8"));
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    Ok((
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    ))
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
    // Every point is validated before anything runs.
    agora::experiment::sweep::scenarios(&scenario, &grid)?;
    let mut names = Vec::new();
    if args.format != crate::format::Format::Parquet {
        names.push("sweep.csv");
    }
    if args.format != crate::format::Format::Csv {
        names.push(agora_parquet::SWEEP_FILE);
    }
    let (report, quiet) = (args.exec.report, args.exec.quiet);
    let mut out = crate::folder::open(&args.out, &names, report, &args.source, quiet)?;

    let total = grid.points.len() as u64 * scenario.simulation.runs;
    let bar = crate::counting_bar(total, args.exec.quiet, "run");
    let pool = crate::thread_pool(args.exec.threads)?;
    let started = Instant::now();
    let table = pool.install(|| sweep(&scenario, &grid, &|| bar.inc(1)))?;
    bar.finish_and_clear();
    if args.format != crate::format::Format::Parquet {
        out.write("sweep.csv", &sweep_csv(&table)?)?;
    }
    if args.format != crate::format::Format::Csv {
        let bytes = agora_parquet::table_parquet(&table.columns, &table.rows)
            .map_err(|e| anyhow::anyhow!("writing sweep.parquet: {e}"))?;
        out.write(agora_parquet::SWEEP_FILE, &bytes)?;
    }
    let written = crate::folder::commit(out, report, quiet)?;
    if !quiet {
        let mut w = std::io::stdout().lock();
        let printed = writeln!(
            w,
            "{}: {} grid points x {} runs in {:.3} s",
            scenario.origin,
            grid.points.len(),
            scenario.simulation.runs,
            started.elapsed().as_secs_f64(),
        )
        .and_then(|()| {
            written
                .iter()
                .try_for_each(|p| writeln!(w, "  wrote {}", p.display()))
        });
        crate::quiet_pipe(printed)?;
    }
    Ok(())
}
