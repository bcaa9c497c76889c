//! `agora optimize`: search parameter ranges for the values that minimise
//! (or maximise) a summary metric; every evaluation in `DIR/optimize.csv`,
//! the outcome (why the search stopped, the best, its bounds) in
//! `DIR/optimize.json`, the best scenario in `DIR/best.toml` (the user's
//! file with only the optimised values changed).

use agora::experiment::optimize::{optimize, Method, Optimization, ParamRange};
use agora::Scenario;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The searches `--method` takes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MethodArg {
    /// argmin's Nelder-Mead simplex, from the scenario's own values.
    NelderMead,
    /// argmin's particle swarm, seeded from the scenario's seed.
    ParticleSwarm,
    /// An evenly spaced grid with about BUDGET points.
    Grid,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::NelderMead => Method::NelderMead,
            MethodArg::ParticleSwarm => Method::ParticleSwarm,
            MethodArg::Grid => Method::Grid,
        }
    }
}

/// Arguments of `agora optimize`.
#[derive(Debug, Args)]
pub struct OptimizeArgs {
    #[command(flatten)]
    source: crate::ScenarioArgs,
    #[command(flatten)]
    exec: crate::ExecArgs,
    /// A parameter and its range, e.g. `assets.TOKEN.pricing.m=0.0005..0.002` (repeat for more).
    #[arg(long = "param", value_name = "PATH=LO..HI", required = true)]
    params: Vec<String>,
    /// The summary metric to optimise, e.g. `assets.TOKEN.log_return_volatility`.
    #[arg(long, value_name = "METRIC")]
    objective: String,
    /// Maximise the objective (default: minimise).
    #[arg(long)]
    maximize: bool,
    /// The search.
    #[arg(long, value_enum, default_value = "nelder-mead")]
    method: MethodArg,
    /// Most evaluations in all, the baseline (the scenario's own values) included.
    #[arg(long, value_name = "N")]
    budget: usize,
    /// Directory for optimize.csv, optimize.json and best.toml (created if missing; what an earlier agora command wrote there is replaced, other files kept).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Runs `agora optimize`.
pub fn run(args: OptimizeArgs) -> anyhow::Result<()> {
    let scenario = args.source.load()?;
    let params = args
        .params
        .iter()
        .map(|s| s.parse::<ParamRange>())
        .collect::<agora::Result<Vec<_>>>()?;
    let paths = params.iter().map(|p| p.path.as_str());
    for w in agora::experiment::override_warnings(&scenario, paths) {
        crate::messages::warn(args.exec.quiet, &w);
    }

    let pool = crate::thread_pool(args.exec.threads)?;
    let threads = pool.current_num_threads();
    // Each evaluation holds its runs' records until it is aggregated.
    let footprint = agora::limits::run_footprint(&scenario, threads, 0);
    args.exec
        .check_memory(scenario.origin(), &footprint, threads)?;
    let (report, quiet) = (args.exec.report, args.exec.quiet);
    let mut out = crate::folder::open(
        &args.out,
        &["optimize.csv", "optimize.json", "best.toml"],
        report,
        &args.source,
        quiet,
    )?;
    let bar = crate::counting_bar(args.budget as u64, args.exec.quiet, "evaluation");
    let started = Instant::now();
    let found = pool.install(|| {
        optimize(
            &scenario,
            &params,
            &args.objective,
            args.maximize,
            args.method.into(),
            args.budget,
            &|done| bar.set_position(done as u64),
        )
    })?;
    bar.finish_and_clear();
    let best = found.best_scenario(&scenario)?;
    let best_toml = best.to_toml_keeping_layout()?.into_bytes();
    out.write("optimize.csv", &found.to_csv()?)?;
    out.write("optimize.json", &found.to_json()?)?;
    out.write("best.toml", &best_toml)?;
    let options = agora_report::ReportOptions::default();
    let written = crate::folder::commit(out, report.then_some(&options), quiet)?;
    if !quiet {
        crate::quiet_pipe(print_result(&scenario, &found, started.elapsed(), &written))?;
    }
    for b in found.best_on_bounds() {
        let range = found.params.iter().find(|p| p.path == b.path);
        crate::messages::warn(
            quiet,
            &format!(
                "the best {} = {} is the {} bound of its range{}: the optimum may lie beyond it (widen the range if the scenario allows)",
                b.path,
                b.value,
                b.bound.name(),
                range.map_or_else(String::new, |r| format!(" {}..{}", r.lo, r.hi)),
            ),
        );
    }
    Ok(())
}

fn values(found: &Optimization, values: &[f64]) -> String {
    found
        .params
        .iter()
        .zip(values)
        .map(|(p, v)| format!("{} = {v}", p.path))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_result(
    scenario: &Scenario,
    found: &Optimization,
    elapsed: Duration,
    written: &[PathBuf],
) -> std::io::Result<()> {
    let mut w = std::io::stdout().lock();
    writeln!(
        w,
        "{}: {} {} {} by {}: {} evaluations x {} runs, seed {}, in {:.3} s",
        scenario.origin(),
        if found.maximize {
            "maximise"
        } else {
            "minimise"
        },
        found.objective,
        if found.params.len() == 1 {
            "over 1 parameter"
        } else {
            "over parameters"
        },
        found.method,
        found.evaluations.len(),
        scenario.simulation().runs,
        scenario.simulation().seed,
        elapsed.as_secs_f64(),
    )?;
    let baseline = found.baseline();
    let best = found.best();
    writeln!(
        w,
        "  baseline: {} ({})",
        baseline.objective,
        values(found, &baseline.values)
    )?;
    writeln!(
        w,
        "  best:     {} ({}), evaluation {}",
        best.objective,
        values(found, &best.values),
        found.best
    )?;
    writeln!(
        w,
        "  improvement: {:+} ({:+.2}%)",
        found.improvement(),
        100.0 * found.relative_improvement()
    )?;
    writeln!(
        w,
        "  stopped after {} of {} evaluations: {}",
        found.evaluations.len(),
        found.budget,
        found.stop
    )?;
    for path in written {
        writeln!(w, "  wrote {}", path.display())?;
    }
    Ok(())
}
