//! `agora egta`: empirical game-theoretic analysis of a scenario's group
//! choosing among named policies (the library's
//! [`agora::games::egta`]).

use agora::games::egta::{
    profile_count, simulate, EgtaSpec, Strategies, DEFAULT_BOOTSTRAP, DEFAULT_STARTS,
};
use agora::scenario::example;
use agora::Scenario;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `agora egta`.
#[derive(Debug, Args)]
pub struct EgtaArgs {
    /// The scenario file (TOML): the players' environment.
    #[arg(required_unless_present = "example", conflicts_with = "example")]
    scenario: Option<PathBuf>,
    /// Use a built-in example instead of a file (see `agora examples`).
    #[arg(long, value_name = "NAME")]
    example: Option<String>,
    /// The group whose agents are the players (its count is replaced by --players).
    #[arg(long, value_name = "G")]
    group: String,
    /// The strategies: a TOML file of named policy tables, [strategies.NAME].
    #[arg(long, value_name = "FILE")]
    strategies: PathBuf,
    /// Players N of the symmetric game.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    players: u32,
    /// Runs of each profile (Monte Carlo runs 0..S of the scenario's seed).
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    samples: u64,
    /// Bootstrap resamples for the equilibria's 95% intervals (0: none).
    #[arg(long, value_name = "B", default_value_t = DEFAULT_BOOTSTRAP)]
    bootstrap: u64,
    /// Random starts of the replicator search, besides the pure strategies and the uniform mix.
    #[arg(long, value_name = "K", default_value_t = DEFAULT_STARTS)]
    starts: usize,
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
    /// Directory for egta.csv and equilibria.json (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

fn load(args: &EgtaArgs) -> agora::Result<Scenario> {
    let mut scenario = match (&args.scenario, &args.example) {
        (Some(path), _) => Scenario::from_path(path)?,
        (None, Some(name)) => example(name)?,
        (None, None) => {
            return Err(agora::Error::usage(
                "give a scenario file or --example NAME",
            ))
        }
    };
    if let Some(seed) = args.seed {
        scenario.set_seed(seed)?;
    }
    if let Some(steps) = args.steps {
        scenario.set_steps(steps)?;
    }
    Ok(scenario)
}

/// Runs `agora egta …`.
pub fn run(args: EgtaArgs) -> anyhow::Result<()> {
    let scenario = load(&args)?;
    let strategies = Strategies::from_path(&args.strategies)?;
    let mut spec = EgtaSpec::new(args.group.clone(), args.players, args.samples);
    spec.bootstrap = args.bootstrap;
    spec.starts = args.starts;
    let k = strategies.names().len();
    let profiles = profile_count(args.players, k).unwrap_or(u64::MAX);
    let total = profiles.saturating_mul(args.samples);
    let pool = crate::thread_pool(args.threads)?;
    let bar = crate::counting_bar(total, args.quiet, "run");
    let started = Instant::now();
    let result = pool.install(|| -> agora::Result<_> {
        let game = simulate(&scenario, &spec, &strategies, &|_| bar.inc(1))?;
        let found = game.equilibria(&spec);
        Ok((game, found))
    });
    bar.finish_and_clear();
    let (game, found) = result?;
    let json = serde_json::to_string_pretty(&game.equilibria_json(&spec, &found))? + "\n";
    let written = agora::output::write_atomically(
        &args.out,
        &[
            ("egta.csv", game.to_csv()?),
            ("equilibria.json", json.into_bytes()),
        ],
    )?;
    if args.quiet {
        return Ok(());
    }
    let mut text = format!(
        "{}: group {}, {} players, {k} strategies: {} profiles x {} samples = {} runs in {:.3} s\n",
        scenario.origin(),
        spec.group,
        spec.players,
        game.profiles.len(),
        spec.samples,
        total,
        started.elapsed().as_secs_f64()
    );
    if found.is_empty() {
        text += "  no symmetric equilibrium found (regret above the tolerance everywhere)\n";
    }
    for e in &found {
        let mix: Vec<String> = game
            .strategies
            .iter()
            .enumerate()
            .filter(|&(s, _)| e.mix[s] > 0.0 || e.interval[s].1 > 0.0)
            .map(|(s, name)| {
                format!(
                    "{name} {:.3} [{:.3}, {:.3}]",
                    e.mix[s], e.interval[s].0, e.interval[s].1
                )
            })
            .collect();
        text += &format!(
            "  equilibrium: {} (regret {:.3e}, payoff {:.6})\n",
            mix.join(", "),
            e.regret,
            e.payoff
        );
    }
    for path in written {
        text += &format!("  wrote {}\n", path.display());
    }
    crate::quiet_pipe(std::io::stdout().lock().write_all(text.as_bytes()))?;
    Ok(())
}
