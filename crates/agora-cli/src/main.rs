//! `agora`: run, validate and list agent-based economy scenarios.

use agora::engine::{Observer, RunOutput};
use agora::experiment::Ensemble;
use agora::scenario::{example, examples};
use agora::{Scenario, Simulation};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod folder;
mod format;
mod game;
mod messages;
mod optimize;
mod report;
mod sweep;

/// Fast, exact, reproducible agent-based simulation of token economies.
#[derive(Debug, Parser)]
#[command(name = "agora", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario and write assets.csv, agents.csv and summary.json.
    Run(RunArgs),
    /// Run a grid of parameter values, each point a Monte Carlo ensemble; write sweep.csv.
    Sweep(sweep::SweepArgs),
    /// Search parameter ranges for the best value of a metric; write optimize.csv and best.toml.
    Optimize(optimize::OptimizeArgs),
    /// Check a scenario file without running it.
    Validate {
        /// The scenario file (TOML).
        scenario: PathBuf,
    },
    /// List the built-in example scenarios, or print one.
    Examples {
        /// Print this example's scenario file (to copy and edit).
        name: Option<String>,
    },
    /// Plot a results directory and write a self-contained report.html into it.
    Report {
        /// The results directory (written by run, sweep or optimize).
        dir: PathBuf,
        /// The sweep metrics to plot: names or globs, e.g. `assets.*.final_price,groups.*.pnl`.
        #[arg(long, value_name = "METRIC,...", value_delimiter = ',')]
        metrics: Option<Vec<String>>,
    },
    /// Two-player normal-form games: equilibria, best responses, dynamics.
    Game(game::GameArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    source: ScenarioArgs,
    #[command(flatten)]
    exec: ExecArgs,
    /// Directory for the outputs (created if missing; what an earlier agora command wrote there is replaced, other files kept).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Format of the assets and agents tables (summary.json and scenario.toml are always written).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = format::Format::Csv)]
    format: format::Format,
}

/// Where the scenario comes from, and the overrides every command takes.
#[derive(Debug, Args)]
pub(crate) struct ScenarioArgs {
    /// The scenario file (TOML).
    #[arg(required_unless_present = "example", conflicts_with = "example")]
    scenario: Option<PathBuf>,
    /// Use a built-in example instead of a file (see `agora examples`).
    #[arg(long, value_name = "NAME")]
    example: Option<String>,
    /// Override the scenario's seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Override the scenario's number of steps.
    #[arg(long, value_name = "T")]
    steps: Option<u64>,
    /// Monte Carlo runs (overrides `runs` in the scenario); runs execute in
    /// parallel, and every candidate or grid point runs the same seeds.
    #[arg(long, value_name = "R")]
    runs: Option<u64>,
}

impl ScenarioArgs {
    /// Reads the scenario file or built-in example and applies the overrides.
    pub(crate) fn load(&self) -> agora::Result<Scenario> {
        let mut scenario = match (&self.scenario, &self.example) {
            (Some(path), _) => Scenario::from_path(path)?,
            (None, Some(name)) => example(name)?,
            (None, None) => {
                return Err(agora::Error::usage(
                    "give a scenario file or --example NAME",
                ))
            }
        };
        if let Some(seed) = self.seed {
            scenario.set_seed(seed)?;
        }
        if let Some(steps) = self.steps {
            scenario.set_steps(steps)?;
        }
        if let Some(runs) = self.runs {
            scenario.set_runs(runs)?;
        }
        Ok(scenario)
    }
}

/// How a command runs and what it prints, shared by every command that runs.
#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// Worker threads (default: RAYON_NUM_THREADS, else all cores). Results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
    /// Also write plots and a self-contained report.html into the output directory.
    #[arg(long)]
    report: bool,
}

/// Exit status for bad input (scenario or arguments), as clap uses.
const EXIT_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Optimize(args) => optimize::run(args),
        Command::Validate { scenario } => validate(scenario),
        Command::Examples { name } => list_examples(name),
        Command::Report { dir, metrics } => report::run(&dir, metrics.as_deref()),
        Command::Game(args) => game::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", messages::error_line(&e));
            let input = e
                .downcast_ref::<agora::Error>()
                .is_some_and(agora::Error::is_input_error);
            ExitCode::from(if input { EXIT_INPUT } else { 1 })
        }
    }
}

/// Shows a progress bar on a terminal; draws nothing when stderr is piped.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new(steps: u64, quiet: bool) -> Self {
        Progress {
            bar: counting_bar(steps, quiet, "step"),
        }
    }
}

impl Observer for Progress {
    fn on_step(&mut self, sim: &Simulation) {
        self.bar.set_position(sim.step());
    }
}

/// A rayon pool of `threads` threads, or rayon's default (RAYON_NUM_THREADS,
/// else all cores).
fn thread_pool(threads: Option<u64>) -> anyhow::Result<rayon::ThreadPool> {
    Ok(match threads {
        Some(n) => rayon::ThreadPoolBuilder::new().num_threads(n as usize),
        None => rayon::ThreadPoolBuilder::new(),
    }
    .build()?)
}

/// A progress bar with a time estimate, drawn only on a terminal.
fn counting_bar(total: u64, quiet: bool, what: &str) -> ProgressBar {
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
    } else {
        ProgressBar::new(total)
    };
    let template =
        format!("{{spinner}} {what} {{pos}}/{{len}} [{{bar:40}}] elapsed {{elapsed}} eta {{eta}}");
    bar.set_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let scenario = args.source.load()?;
    let (report, quiet) = (args.exec.report, args.exec.quiet);
    let mut out = folder::open(
        &args.out,
        &args.format.run_files(&scenario),
        report,
        &args.source,
        quiet,
    )?;
    let pool = thread_pool(args.exec.threads)?;
    let started = Instant::now();
    let outputs: Vec<RunOutput> = if scenario.simulation().runs == 1 {
        let mut progress = Progress::new(scenario.simulation().steps, args.exec.quiet);
        let out = pool.install(|| Simulation::new(&scenario, 0)?.run_with(&mut progress))?;
        progress.bar.finish_and_clear();
        vec![out]
    } else {
        let bar = counting_bar(scenario.simulation().runs, args.exec.quiet, "run");
        let outs = pool.install(|| agora::experiment::monte_carlo(&scenario, &|_| bar.inc(1)))?;
        bar.finish_and_clear();
        outs
    };
    let elapsed = started.elapsed();
    let performance =
        agora::output::Performance::measured(&scenario, elapsed, pool.current_num_threads());
    format::write_outputs(
        &mut out,
        &scenario,
        &outputs,
        args.format,
        Some(&performance),
    )?;
    let options = agora_report::ReportOptions::default();
    let written = folder::commit(out, report.then_some(&options), quiet)?;
    if !quiet {
        let ensemble = agora::experiment::aggregate(&outputs)?;
        quiet_pipe(print_result(&scenario, &ensemble, elapsed, &written))?;
    }
    Ok(())
}

/// A reader that closed the pipe early (`agora … | head`) is not an error.
fn quiet_pipe(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn print_result(
    scenario: &Scenario,
    ensemble: &Ensemble,
    elapsed: Duration,
    written: &[PathBuf],
) -> std::io::Result<()> {
    let mut w = std::io::stdout().lock();
    let runs = scenario.simulation().runs;
    let agent_steps =
        scenario.agent_count() as f64 * scenario.simulation().steps as f64 * runs as f64;
    writeln!(
        w,
        "{}: {} agents x {} steps x {} run{}, seed {}, in {:.3} s ({:.3e} agent-steps/s)",
        scenario.origin(),
        scenario.agent_count(),
        scenario.simulation().steps,
        runs,
        if runs == 1 { "" } else { "s" },
        scenario.simulation().seed,
        elapsed.as_secs_f64(),
        agent_steps / elapsed.as_secs_f64().max(1e-9),
    )?;
    let mean = |path: String| {
        ensemble
            .means
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(f64::NAN, |(_, v)| *v)
    };
    let of_runs = if runs == 1 { "" } else { " (means over runs)" };
    for a in scenario.assets() {
        let m = |k: &str| mean(format!("assets.{}.{k}", a.name));
        writeln!(
            w,
            "  asset {}{of_runs}: final price {:.6}, mean {:.6}, volatility {:.6}, log-return volatility {:.6}, trades {}",
            a.name,
            m("final_price"),
            m("mean_price"),
            m("volatility"),
            m("log_return_volatility"),
            m("trades")
        )?;
        print_recovery(&mut w, &a.name, ensemble, runs)?;
    }
    for g in scenario.groups() {
        let m = |k: &str| mean(format!("groups.{}.{k}", g.name));
        writeln!(
            w,
            "  group {}{of_runs}: mean wealth {:.4}, pnl {:+.4}, gini {:.4}, utility ({}) {:.4}",
            g.name,
            m("mean_wealth"),
            m("pnl"),
            m("gini"),
            g.objective.name(),
            m("utility")
        )?;
    }
    let m = |k: &str| mean(format!("ledger.{k}"));
    writeln!(
        w,
        "  ledger{of_runs}: conservation error {}, reserve shortfall {}, rejected {}, clipped {}",
        m("conservation_error"),
        m("reserve_shortfall"),
        m("rejected_actions"),
        m("clipped_actions")
    )?;
    for path in written {
        writeln!(w, "  wrote {}", path.display())?;
    }
    Ok(())
}

/// After a shock: how many runs' prices came back, and the mean steps it
/// took over those runs only (a mean over every run would have to invent
/// a number for the others).
fn print_recovery(
    w: &mut impl Write,
    asset: &str,
    ensemble: &Ensemble,
    runs: u64,
) -> std::io::Result<()> {
    let path = format!("assets.{asset}.recovery_steps");
    let Some((_, d)) = ensemble.distributions.iter().find(|(p, _)| *p == path) else {
        return Ok(());
    };
    if d.count == 0 {
        let all = if runs == 1 { "" } else { " in any run" };
        return writeln!(w, "    recovery: the price never came back{all}");
    }
    if runs == 1 {
        return writeln!(
            w,
            "    recovery: back within the band after {} steps",
            d.mean
        );
    }
    writeln!(
        w,
        "    recovery: {} of {runs} runs came back (recovered_share {:.4}), after {:.2} steps on average over those; {} never did",
        d.count,
        d.count as f64 / runs as f64,
        d.mean,
        runs - d.count
    )
}

fn validate(path: PathBuf) -> anyhow::Result<()> {
    let scenario = Scenario::from_path(&path)?;
    let mut w = std::io::stdout().lock();
    let printed = writeln!(
        w,
        "{}: ok ({} assets, {} groups, {} agents, {} steps, seed {})",
        path.display(),
        scenario.assets().len(),
        scenario.groups().len(),
        scenario.agent_count(),
        scenario.simulation().steps,
        scenario.simulation().seed
    );
    quiet_pipe(printed)?;
    Ok(())
}

fn list_examples(name: Option<String>) -> anyhow::Result<()> {
    let mut w = std::io::stdout().lock();
    let printed = match name {
        Some(name) => {
            example(&name)?;
            let ex = examples().iter().find(|e| e.name == name);
            w.write_all(ex.map_or("", |e| e.toml).as_bytes())
        }
        None => {
            let width = examples().iter().map(|e| e.name.len()).max().unwrap_or(0);
            examples()
                .iter()
                .try_for_each(|e| writeln!(w, "{:width$}  {}", e.name, e.description))
        }
    };
    quiet_pipe(printed)?;
    Ok(())
}
