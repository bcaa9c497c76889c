//! `agora`: run, validate and list agent-based economy scenarios.

use agora::engine::{Observer, RunOutput};
use agora::scenario::{example, examples};
use agora::{Scenario, Simulation};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

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
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The scenario file (TOML).
    #[arg(required_unless_present = "example", conflicts_with = "example")]
    scenario: Option<PathBuf>,
    /// Run a built-in example instead of a file (see `agora examples`).
    #[arg(long, value_name = "NAME")]
    example: Option<String>,
    /// Directory for the outputs (created if missing; files of a previous run are replaced).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Override the scenario's seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Override the scenario's number of steps.
    #[arg(long, value_name = "T")]
    steps: Option<u64>,
    /// Worker threads (default: RAYON_NUM_THREADS, else all cores). Results do not depend on it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    threads: Option<u64>,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

/// Exit status for bad input (scenario or arguments), as clap uses.
const EXIT_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Validate { scenario } => validate(scenario),
        Command::Examples { name } => list_examples(name),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let input = e
                .downcast_ref::<agora::Error>()
                .is_some_and(agora::Error::is_input_error);
            ExitCode::from(if input { EXIT_INPUT } else { 1 })
        }
    }
}

fn load(args: &RunArgs) -> agora::Result<Scenario> {
    let mut scenario = match (&args.scenario, &args.example) {
        (Some(path), _) => Scenario::from_path(path)?,
        (None, Some(name)) => example(name)?,
        (None, None) => unreachable!("clap requires a scenario or --example"),
    };
    if let Some(seed) = args.seed {
        scenario.set_seed(seed)?;
    }
    if let Some(steps) = args.steps {
        scenario.set_steps(steps)?;
    }
    Ok(scenario)
}

/// Shows a progress bar on a terminal; draws nothing when stderr is piped.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new(steps: u64, quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::hidden())
        } else {
            ProgressBar::new(steps)
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} step {pos}/{len} [{bar:40}] {per_sec} elapsed {elapsed} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar }
    }
}

impl Observer for Progress {
    fn on_step(&mut self, sim: &Simulation) {
        self.bar.set_position(sim.step());
    }
}

fn run(args: RunArgs) -> anyhow::Result<()> {
    let scenario = load(&args)?;
    let pool = match args.threads {
        Some(n) => rayon::ThreadPoolBuilder::new().num_threads(n as usize),
        None => rayon::ThreadPoolBuilder::new(),
    }
    .build()?;
    let started = Instant::now();
    let mut progress = Progress::new(scenario.simulation.steps, args.quiet);
    let output: RunOutput =
        pool.install(|| Simulation::new(&scenario, 0)?.run_with(&mut progress))?;
    progress.bar.finish_and_clear();
    let elapsed = started.elapsed();
    let written = agora::output::write_run(&args.out, &scenario, &output)?;
    if !args.quiet {
        quiet_pipe(print_result(&scenario, &output, elapsed, &written))?;
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
    out: &RunOutput,
    elapsed: Duration,
    written: &[PathBuf],
) -> std::io::Result<()> {
    let mut w = std::io::stdout().lock();
    let s = &out.summary;
    let agent_steps = scenario.agent_count() as f64 * scenario.simulation.steps as f64;
    writeln!(
        w,
        "{}: {} agents x {} steps, seed {}, in {:.3} s ({:.3e} agent-steps/s)",
        scenario.origin,
        scenario.agent_count(),
        scenario.simulation.steps,
        scenario.simulation.seed,
        elapsed.as_secs_f64(),
        agent_steps / elapsed.as_secs_f64().max(1e-9),
    )?;
    for (name, a) in &s.assets {
        writeln!(
            w,
            "  asset {name}: final price {:.6}, mean {:.6}, volatility {:.6}, log-return volatility {:.6}, trades {}",
            a.final_price, a.mean_price, a.volatility, a.log_return_volatility, a.trades
        )?;
    }
    for (name, g) in &s.groups {
        writeln!(
            w,
            "  group {name}: mean wealth {:.4}, pnl {:+.4}, gini {:.4}, utility ({}) {:.4}",
            g.mean_wealth, g.pnl, g.gini, g.objective, g.utility
        )?;
    }
    writeln!(
        w,
        "  ledger: conservation error {}, reserve shortfall {}, rejected {}, clipped {}",
        s.ledger.conservation_error,
        s.ledger.reserve_shortfall,
        s.ledger.rejected_actions,
        s.ledger.clipped_actions
    )?;
    for path in written {
        writeln!(w, "  wrote {}", path.display())?;
    }
    Ok(())
}

fn validate(path: PathBuf) -> anyhow::Result<()> {
    let scenario = Scenario::from_path(&path)?;
    let mut w = std::io::stdout().lock();
    let printed = writeln!(
        w,
        "{}: ok ({} assets, {} groups, {} agents, {} steps, seed {})",
        path.display(),
        scenario.assets.len(),
        scenario.groups.len(),
        scenario.agent_count(),
        scenario.simulation.steps,
        scenario.simulation.seed
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
