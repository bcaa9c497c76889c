//! `agora`: run, validate and list agent-based economy scenarios.

use agora::engine::{Observer, RunOutput};
use agora::output::shards::{ShardInfo, RUNS_FILE, SHARD_FILE};
use agora::scenario::{example, examples};
use agora::{Scenario, Simulation};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

mod console;
mod egta;
mod folder;
mod format;
mod game;
mod merge;
mod messages;
mod optimize;
mod ray;
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
    /// Continue a run from its checkpoint (`run --checkpoint-every K`); the outputs are those the uninterrupted run writes.
    Resume(ResumeArgs),
    /// Run a grid of parameter values, each point a Monte Carlo ensemble; write sweep.csv.
    Sweep(sweep::SweepArgs),
    /// Put the shards of a sweep (`sweep --shard i/n`) together into the whole sweep's sweep.csv.
    Merge(merge::MergeArgs),
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
    /// Empirical game analysis: a group's agents choosing among named policies; write egta.csv and equilibria.json.
    Egta(egta::EgtaArgs),
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
    /// Format of the tables: assets.csv and agents.csv, or assets.parquet and agents.parquet, or both (summary.json and scenario.toml are always written).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = format::Format::Csv)]
    format: format::Format,
    /// Every K steps, write the run's whole state to DIR/checkpoint (replaced atomically), to continue with `agora resume DIR/checkpoint` after a crash (one run only).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
    /// Run only the i-th of n near-equal parts of the runs (each run exactly as in the whole ensemble), for array jobs; `agora merge` puts the shards' folders together.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
}

/// Arguments of `agora resume`.
#[derive(Debug, Args)]
struct ResumeArgs {
    /// The checkpoint file (`DIR/checkpoint`, written by `agora run --checkpoint-every K`), or the folder DIR holding it.
    checkpoint: PathBuf,
    #[command(flatten)]
    exec: ExecArgs,
    /// Directory for the outputs, as `agora run --out` (the run's --format is kept).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Go on writing checkpoints every K steps, to DIR/checkpoint of the new --out.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
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
    /// Monte Carlo runs of the scenario (overrides `runs` in the scenario),
    /// executed in parallel; run r draws every random stream from the seed
    /// and r.
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
    /// Refuse a command estimated to need more memory than SIZE (e.g. 512M,
    /// 16G; `unlimited` to skip the check). Default: AGORA_MAX_MEMORY, else
    /// the memory this process may still use (available memory, cgroup and
    /// ulimit limits).
    #[arg(long, value_name = "SIZE")]
    max_memory: Option<String>,
}

/// The environment variable that sets `--max-memory` when it is not given.
const MAX_MEMORY_ENV: &str = "AGORA_MAX_MEMORY";

impl ExecArgs {
    /// The memory limit to check estimates against, and where it comes
    /// from; `None` for `unlimited` or where nothing can be read.
    fn memory_limit(&self, threads: usize) -> agora::Result<Option<(u64, String)>> {
        let given = match &self.max_memory {
            Some(v) => Some((v.clone(), "--max-memory")),
            None => std::env::var(MAX_MEMORY_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|v| (v, MAX_MEMORY_ENV)),
        };
        match given {
            Some((v, _)) if v.trim().eq_ignore_ascii_case("unlimited") => Ok(None),
            Some((v, from)) => match agora::limits::parse_size(&v) {
                Some(bytes) => Ok(Some((bytes, from.to_string()))),
                None => Err(agora::Error::usage(format!(
                    "{from} {v:?}: expected a size such as 512M or 16G, or unlimited"
                ))),
            },
            None => Ok(agora::limits::available_memory(threads).map(|a| {
                (
                    a.bytes,
                    format!(
                        "{}; set --max-memory or {MAX_MEMORY_ENV} to change the limit",
                        a.source
                    ),
                )
            })),
        }
    }

    /// Refuses `footprint` when it exceeds the memory limit (exit 2).
    pub(crate) fn check_memory(
        &self,
        origin: &str,
        footprint: &agora::limits::Footprint,
        threads: usize,
    ) -> agora::Result<()> {
        let Some((limit, from)) = self.memory_limit(threads)? else {
            return Ok(());
        };
        agora::limits::check(origin, footprint, limit)
            .map_err(|e| agora::Error::usage(format!("{e} (the limit: {from})")))
    }
}

/// Prints the scenario's warnings on stderr (`warning: FILE: PATH: …`).
pub(crate) fn print_warnings(scenario: &Scenario, quiet: bool) {
    if quiet {
        return;
    }
    for w in scenario.warnings() {
        eprintln!("warning: {w}");
    }
}

/// Agent-steps per second per thread the time estimate assumes: about the
/// reference model's speed (README, Performance); markets and resources
/// are slower, so the estimate is a floor.
const AGENT_STEPS_PER_SECOND: f64 = 1e7;

/// A rough duration: `40 s`, `3.2 h`, `2.1 years`.
fn duration_words(seconds: f64) -> String {
    if seconds < 1.0 {
        "under a second".to_string()
    } else if seconds < 120.0 {
        format!("{seconds:.0} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else if seconds < 2.0 * 86400.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else if seconds < 2.0 * 365.25 * 86400.0 {
        format!("{:.0} days", seconds / 86400.0)
    } else {
        format!("{:.1e} years", seconds / (365.25 * 86400.0))
    }
}

/// The time a scenario would take at [`AGENT_STEPS_PER_SECOND`] on `threads`.
fn time_estimate(scenario: &Scenario, threads: usize) -> (f64, f64) {
    let agent_steps = agora::limits::agent_steps(scenario) as f64;
    let parallel = (threads as f64)
        .min(scenario.simulation().runs as f64)
        .max(1.0);
    (
        agent_steps,
        agent_steps / (AGENT_STEPS_PER_SECOND * parallel),
    )
}

/// Exit status for bad input (scenario or arguments), as clap uses.
const EXIT_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Resume(args) => resume(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Optimize(args) => optimize::run(args),
        Command::Validate { scenario } => validate(scenario),
        Command::Examples { name } => list_examples(name),
        Command::Report { dir, metrics } => report::run(&dir, metrics.as_deref()),
        Command::Game(args) => game::run(args),
        Command::Egta(args) => egta::run(args),
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
    print_warnings(&scenario, args.exec.quiet);
    let (report, quiet) = (args.exec.report, args.exec.quiet);
    let pool = thread_pool(args.exec.threads)?;
    let threads = pool.current_num_threads();
    if args.checkpoint_every.is_some() && scenario.simulation().runs != 1 {
        return Err(agora::Error::usage(format!(
            "--checkpoint-every: {} has {} runs; checkpoints are of one run (run the Monte Carlo runs as a sweep's shards instead)",
            scenario.origin(),
            scenario.simulation().runs
        ))
        .into());
    }
    let shard = match &args.shard {
        Some(text) => Some(run_shard(
            &scenario,
            text,
            args.checkpoint_every.is_some(),
            args.format != format::Format::Parquet,
        )?),
        None => None,
    };
    // A checkpointed run holds its records until the end (the checkpoint
    // carries them), so that a resumed run writes the same tables.
    let drained = drains_records(&scenario, args.format)
        && args.checkpoint_every.is_none()
        && shard.is_none();
    args.exec
        .check_memory(
            scenario.origin(),
            &if args.checkpoint_every.is_some() {
                held_run_footprint(&scenario, threads, args.format)
            } else {
                run_footprint(&scenario, threads, args.format)
            },
            threads,
        )
        .map_err(|e| {
            // One run written as CSV holds a few steps' records at a time.
            let csv = agora::limits::drained_run_footprint(&scenario).total();
            if scenario.simulation().runs == 1 && !drained {
                agora::Error::usage(format!(
                    "{e}; as CSV only (--format csv) the tables are written as the run goes and it needs about {}",
                    agora::limits::Bytes(csv)
                ))
            } else {
                e
            }
        })?;
    let (agent_steps, seconds) = time_estimate(&scenario, threads);
    if seconds > 3600.0 && !args.exec.quiet {
        eprintln!(
            "warning: {}: {agent_steps:.2e} agent-steps will take about {} at {AGENT_STEPS_PER_SECOND:.0e} agent-steps/s per thread",
            scenario.origin(),
            duration_words(seconds)
        );
    }
    let mut names = args.format.run_files(&scenario);
    if shard.is_some() {
        names.extend([SHARD_FILE, RUNS_FILE]);
    }
    let mut out = folder::open(&args.out, &names, report, &args.source, quiet)?;
    let started = Instant::now();
    let mut writing = Duration::ZERO;
    let outputs: Vec<RunOutput> = if let Some((_, range)) = &shard {
        let bar = counting_bar(range.end - range.start, args.exec.quiet, "run");
        let outs = pool.install(|| {
            agora::experiment::monte_carlo_runs(&scenario, range.clone(), &|_| bar.inc(1))
        })?;
        bar.finish_and_clear();
        outs
    } else if scenario.simulation().runs == 1 {
        let mut progress = Progress::new(scenario.simulation().steps, args.exec.quiet);
        let run = if let Some(every) = args.checkpoint_every {
            let checkpoints = Checkpoints {
                every,
                path: args.out.join(agora::engine::Checkpoint::FILE),
                format: args.format,
            };
            pool.install(|| {
                let sim = Simulation::new(&scenario, 0)?;
                checkpoints.run(&scenario, sim, &mut progress)
            })?
        } else if drained {
            let (run, spent) = pool.install(|| run_drained(&scenario, &mut out, &mut progress))?;
            writing = spent;
            run
        } else {
            pool.install(|| Simulation::new(&scenario, 0)?.run_with(&mut progress))?
        };
        progress.bar.finish_and_clear();
        vec![run]
    } else {
        let bar = counting_bar(scenario.simulation().runs, args.exec.quiet, "run");
        let outs = pool.install(|| agora::experiment::monte_carlo(&scenario, &|_| bar.inc(1)))?;
        bar.finish_and_clear();
        outs
    };
    // the run alone, not the writing of its tables
    let elapsed = started.elapsed().saturating_sub(writing);
    if let Some((info, _)) = &shard {
        out.write(SHARD_FILE, &info.to_json()?)?;
        let values = outputs
            .iter()
            .map(|o| serde_json::to_value(&o.summary))
            .collect::<Result<Vec<_>, _>>()?;
        let mut runs = serde_json::to_vec(&values)?;
        runs.push(b'\n');
        out.write(RUNS_FILE, &runs)?;
    }
    write_and_commit(
        &scenario,
        &outputs,
        out,
        args.format,
        drained,
        elapsed,
        &pool,
        report,
        quiet,
    )
}

/// `--shard I/N` of `agora run`: the shard's record and its runs.
fn run_shard(
    scenario: &Scenario,
    text: &str,
    checkpoints: bool,
    csv: bool,
) -> anyhow::Result<(ShardInfo, std::ops::Range<u64>)> {
    let (i, n) = sweep::parse_shard(text)?;
    let runs = scenario.simulation().runs;
    if checkpoints {
        return Err(agora::Error::usage(
            "--shard: a checkpointed run is one run; shard the runs of an ensemble without --checkpoint-every",
        )
        .into());
    }
    let Some(part) = agora::output::shards::shard_range(i as u64, n as u64, runs) else {
        return Err(
            agora::Error::usage(format!("--shard {text}: takes I/N with 1 <= I <= N")).into(),
        );
    };
    if n as u64 > runs {
        return Err(agora::Error::usage(format!(
            "--shard {text}: {} has {runs} runs, too few for {n} shards (use --runs)",
            scenario.origin()
        ))
        .into());
    }
    let info = ShardInfo::runs(
        scenario,
        (i, n),
        part.start as usize,
        (part.end - part.start) as usize,
        csv,
    )?;
    Ok((info, part))
}

/// Writes the tables (unless `drained` wrote them), `summary.json` and
/// `scenario.toml` of `outputs`, commits the folder, and prints the result.
#[allow(clippy::too_many_arguments)]
fn write_and_commit(
    scenario: &Scenario,
    outputs: &[RunOutput],
    mut out: agora::output::OutputDir,
    format: format::Format,
    drained: bool,
    elapsed: Duration,
    pool: &rayon::ThreadPool,
    report: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    let performance =
        agora::output::Performance::of_runs(scenario, outputs, elapsed, pool.current_num_threads());
    if drained {
        format::write_summary_files(&mut out, scenario, outputs, Some(&performance))?;
    } else {
        format::write_outputs(&mut out, scenario, outputs, format, Some(&performance))?;
    }
    let options = agora_report::ReportOptions::default();
    let written = folder::commit(out, report.then_some(&options), quiet)?;
    if !quiet {
        let ensemble = agora::experiment::aggregate(outputs)?;
        quiet_pipe(console::print_result(
            scenario, &ensemble, elapsed, &written,
        ))?;
    }
    Ok(())
}

/// A run that writes its state every `every` steps to `path`.
struct Checkpoints {
    every: u64,
    path: PathBuf,
    format: format::Format,
}

impl Checkpoints {
    /// Runs `sim` to its last step, writing a checkpoint after every
    /// `every`-th step (not after the last: the outputs are then written).
    fn run(
        &self,
        scenario: &Scenario,
        mut sim: Simulation,
        progress: &mut Progress,
    ) -> anyhow::Result<RunOutput> {
        let settings = vec![("format".to_string(), self.format.name().to_string())];
        while !sim.done() {
            sim.advance()?;
            progress.on_step(&sim);
            if sim.step() % self.every == 0 && !sim.done() {
                agora::engine::Checkpoint::of(scenario, &sim, settings.clone())?
                    .write_atomic(&self.path)?;
            }
        }
        Ok(sim.finish()?)
    }
}

/// `agora resume`: continues a checkpointed run and writes what the
/// uninterrupted run writes.
fn resume(args: ResumeArgs) -> anyhow::Result<()> {
    let file = agora::engine::Checkpoint::locate(&args.checkpoint)?;
    let checkpoint = agora::engine::Checkpoint::read(&file)?;
    let format = match checkpoint.setting("format") {
        Some(name) => format::Format::from_name(name).ok_or_else(|| {
            agora::Error::usage(format!(
                "{}: unknown output format {name:?}",
                file.display()
            ))
        })?,
        None => format::Format::Csv,
    };
    let (report, quiet) = (args.exec.report, args.exec.quiet);
    let pool = thread_pool(args.exec.threads)?;
    let (scenario, sim) = pool.install(|| checkpoint.resume())?;
    let threads = pool.current_num_threads();
    args.exec.check_memory(
        scenario.origin(),
        &held_run_footprint(&scenario, threads, format),
        threads,
    )?;
    let inputs = [file.as_path()];
    let out =
        agora::output::OutputDir::open_reading(&args.out, &format.run_files(&scenario), &inputs)?;
    folder::warn(out.notes(), quiet);
    let started = Instant::now();
    let mut progress = Progress::new(scenario.simulation().steps, quiet);
    progress.bar.set_position(sim.step());
    let run = match args.checkpoint_every {
        Some(every) => {
            let checkpoints = Checkpoints {
                every,
                path: args.out.join(agora::engine::Checkpoint::FILE),
                format,
            };
            pool.install(|| checkpoints.run(&scenario, sim, &mut progress))?
        }
        None => pool.install(|| sim.run_with(&mut progress))?,
    };
    progress.bar.finish_and_clear();
    write_and_commit(
        &scenario,
        &[run],
        out,
        format,
        false,
        started.elapsed(),
        &pool,
        report,
        quiet,
    )
}

/// Whether `agora run` writes the tables of `scenario` as the run goes
/// (one run, CSV only), holding a few steps' records at a time, rather
/// than holding every step's until the end (Monte Carlo runs finish out of
/// order; Parquet is written from whole columns).
fn drains_records(scenario: &Scenario, format: format::Format) -> bool {
    scenario.simulation().runs == 1 && format == format::Format::Csv
}

/// The memory `agora run` needs for `scenario` in `format` on `threads`.
fn run_footprint(
    scenario: &Scenario,
    threads: usize,
    format: format::Format,
) -> agora::limits::Footprint {
    if drains_records(scenario, format) {
        return agora::limits::drained_run_footprint(scenario);
    }
    held_run_footprint(scenario, threads, format)
}

/// The memory a run of `scenario` needs when it holds its records until
/// the end (Monte Carlo, Parquet, checkpointed runs).
fn held_run_footprint(
    scenario: &Scenario,
    threads: usize,
    format: format::Format,
) -> agora::limits::Footprint {
    let tables = if format == format::Format::Both { 2 } else { 1 };
    agora::limits::run_footprint(scenario, threads, tables)
}

/// Runs the one run of `scenario`, writing `assets.csv`, `agents.csv`
/// (and `agent_steps.csv`, `trades.csv`) into `out` as it goes, every
/// [`DRAIN_ROWS`](agora::limits::DRAIN_ROWS) rows: the bytes are those
/// the whole run renders at once. Returns the run (its records drained)
/// and the time spent writing.
fn run_drained(
    scenario: &Scenario,
    out: &mut agora::output::OutputDir,
    progress: &mut Progress,
) -> anyhow::Result<(RunOutput, Duration)> {
    use agora::output::{Table, TableWriter};
    let mut tables = Vec::new();
    for table in Table::of(scenario) {
        tables.push(TableWriter::new(
            scenario,
            table,
            out.create(table.file())?,
        )?);
    }
    let mut sim = Simulation::new_drained(scenario, 0)?;
    let mut writing = Duration::ZERO;
    let mut drain = |sim: &mut Simulation, writing: &mut Duration| -> agora::Result<()> {
        let started = Instant::now();
        let records = sim.drain_records();
        for t in &mut tables {
            t.append(0, &records)?;
        }
        *writing += started.elapsed();
        Ok(())
    };
    while !sim.done() {
        sim.advance()?;
        progress.on_step(&sim);
        let r = sim.records();
        let rows = r.assets.len() + r.groups.len() + r.agent_steps.len() + r.trades.len();
        if rows >= agora::limits::DRAIN_ROWS {
            drain(&mut sim, &mut writing)?;
        }
    }
    drain(&mut sim, &mut writing)?;
    let started = Instant::now();
    for t in tables {
        out.close(t.finish()?)?;
    }
    writing += started.elapsed();
    Ok((sim.finish()?, writing))
}

/// A reader that closed the pipe early (`agora … | head`) is not an error.
fn quiet_pipe(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn validate(path: PathBuf) -> anyhow::Result<()> {
    let scenario = Scenario::from_path(&path)?;
    print_warnings(&scenario, false);
    let threads = rayon::current_num_threads();
    let footprint = run_footprint(&scenario, threads, format::Format::Csv);
    let (agent_steps, seconds) = time_estimate(&scenario, threads);
    let exec = ExecArgs {
        threads: None,
        quiet: false,
        report: false,
        max_memory: None,
    };
    if let Err(e) = exec.check_memory(scenario.origin(), &footprint, threads) {
        eprintln!("warning: a run would fail here: {e}");
    }
    let mut w = std::io::stdout().lock();
    let runs = scenario.simulation().runs;
    let printed = writeln!(
        w,
        "{}: ok ({} assets, {} groups, {} agents, {} steps, {runs} run{}, seed {}; \
         a run needs about {} of memory and {agent_steps:.2e} agent-steps, some {} on {threads} thread{})",
        path.display(),
        scenario.assets().len(),
        scenario.groups().len(),
        scenario.agent_count(),
        scenario.simulation().steps,
        if runs == 1 { "" } else { "s" },
        scenario.simulation().seed,
        agora::limits::Bytes(footprint.total()),
        duration_words(seconds),
        if threads == 1 { "" } else { "s" },
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
