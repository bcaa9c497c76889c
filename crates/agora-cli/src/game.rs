//! `agora game`: stand-alone analysis of two-player normal-form games —
//! equilibria (`solve`), best responses (`best-response`), dynamics
//! (`evolve`) and the built-in games (`examples`).

use agora::games::{
    best_responses, evolve, game_example, game_examples, solve, Dynamics, EvolveSpec, Method,
    Mutation, NormalFormGame, Player, Rational,
};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `agora game`.
#[derive(Debug, Args)]
pub struct GameArgs {
    #[command(subcommand)]
    command: GameCommand,
}

#[derive(Debug, Subcommand)]
enum GameCommand {
    /// Find the Nash equilibria of a game; print (or write) them as JSON.
    Solve(SolveArgs),
    /// A player's best responses to the other's mixed strategy, as JSON.
    BestResponse(BestResponseArgs),
    /// Run a dynamics on a game; write trajectory.csv and final.json.
    Evolve(EvolveArgs),
    /// List the built-in games, or print one.
    Examples {
        /// Print this game's file (to copy and edit).
        name: Option<String>,
    },
}

/// Where the game comes from.
#[derive(Debug, Args)]
struct GameSource {
    /// The game file (TOML, a `[game]` table).
    #[arg(required_unless_present = "example", conflicts_with = "example")]
    game: Option<PathBuf>,
    /// Use a built-in game instead of a file (see `agora game examples`).
    #[arg(long, value_name = "NAME")]
    example: Option<String>,
}

impl GameSource {
    fn load(&self) -> agora::Result<NormalFormGame> {
        match (&self.game, &self.example) {
            (Some(path), _) => NormalFormGame::from_path(path),
            (None, Some(name)) => game_example(name),
            (None, None) => Err(agora::Error::usage("give a game file or --example NAME")),
        }
    }
}

/// The solvers `--method` takes.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum MethodArg {
    /// Every equilibrium (vertex enumeration); the extreme ones of a degenerate game.
    All,
    /// Pure-strategy equilibria.
    Pure,
    /// Support enumeration (supports of equal size).
    Support,
    /// Vertex enumeration.
    Vertex,
    /// Lemke-Howson from every dropped label.
    LemkeHowson,
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::All => Method::All,
            MethodArg::Pure => Method::Pure,
            MethodArg::Support => Method::Support,
            MethodArg::Vertex => Method::Vertex,
            MethodArg::LemkeHowson => Method::LemkeHowson,
        }
    }
}

#[derive(Debug, Args)]
struct SolveArgs {
    #[command(flatten)]
    source: GameSource,
    /// The solver.
    #[arg(long, value_enum, default_value = "all")]
    method: MethodArg,
    /// Write the JSON to this file (atomically) instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PlayerArg {
    Row,
    Column,
}

#[derive(Debug, Args)]
struct BestResponseArgs {
    #[command(flatten)]
    source: GameSource,
    /// The opponent's mixed strategy: one share per strategy, decimals or fractions (`1/3,1/3,1/3`).
    #[arg(long, value_name = "P1,P2,...", allow_hyphen_values = true)]
    opponent: String,
    /// Whose best responses: the row player's (against the column player's mix) or the column player's.
    #[arg(long, value_enum, default_value = "row")]
    player: PlayerArg,
}

/// The dynamics `--dynamics` takes.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum DynamicsArg {
    Replicator,
    DiscreteReplicator,
    FictitiousPlay,
    StochasticFictitiousPlay,
    BestResponse,
    Logit,
}

#[derive(Debug, Args)]
struct EvolveArgs {
    #[command(flatten)]
    source: GameSource,
    /// The dynamics.
    #[arg(long, value_enum)]
    dynamics: DynamicsArg,
    /// The row population's (or the only population's) initial shares, e.g. `0.2,0.8` or `1/3,1/3,1/3`.
    #[arg(long, value_name = "A,B,...", allow_hyphen_values = true)]
    x0: String,
    /// The column population's initial shares: needed for an asymmetric game; for a symmetric one, it makes two populations.
    #[arg(long, value_name = "A,B,...", allow_hyphen_values = true)]
    y0: Option<String>,
    /// The horizon: a time, or a whole number of rounds for discrete-replicator and fictitious play.
    #[arg(long, value_name = "T", allow_hyphen_values = true)]
    t: f64,
    /// A mutation matrix file (TOML `mutation = [[...]]`, row-stochastic), for the replicator dynamics.
    #[arg(long, value_name = "FILE")]
    mutation: Option<PathBuf>,
    /// The noise of logit and stochastic-fictitious-play, in payoff units.
    #[arg(long, value_name = "ETA", allow_hyphen_values = true)]
    eta: Option<f64>,
    /// The seed of stochastic-fictitious-play's draws.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Output intervals: trajectory.csv has the state at t = 0, at T and at SAMPLES - 1 evenly spaced times between.
    #[arg(long, value_name = "SAMPLES", default_value_t = agora::games::dynamics::DEFAULT_SAMPLES)]
    samples: u64,
    /// best-response only: how often the best response is recomputed.
    #[arg(long, value_name = "DT", allow_hyphen_values = true)]
    dt: Option<f64>,
    /// Directory for trajectory.csv and final.json (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Runs `agora game …`.
pub fn run(args: GameArgs) -> anyhow::Result<()> {
    match args.command {
        GameCommand::Solve(a) => run_solve(a),
        GameCommand::BestResponse(a) => run_best_response(a),
        GameCommand::Evolve(a) => run_evolve(a),
        GameCommand::Examples { name } => list_examples(name),
    }
}

fn run_solve(args: SolveArgs) -> anyhow::Result<()> {
    let game = args.source.load()?;
    let method: Method = args.method.into();
    let solution = solve(&game, method)?;
    let json = serde_json::to_string_pretty(&solution.to_json(&game))? + "\n";
    match &args.out {
        None => print(&json)?,
        Some(file) => {
            let written = write_file(file, json.into_bytes())?;
            print(&format!(
                "{}: {} equilibri{} ({method}{})\n  wrote {}\n",
                game.name(),
                solution.equilibria.len(),
                if solution.equilibria.len() == 1 {
                    "um"
                } else {
                    "a"
                },
                if solution.degenerate {
                    ", degenerate game: the extreme equilibria"
                } else {
                    ""
                },
                written.display()
            ))?;
        }
    }
    Ok(())
}

fn run_best_response(args: BestResponseArgs) -> anyhow::Result<()> {
    let game = args.source.load()?;
    let player = match args.player {
        PlayerArg::Row => Player::Row,
        PlayerArg::Column => Player::Column,
    };
    let opponent = parse_shares(&args.opponent, "opponent")?;
    let br = best_responses(&game, player, &opponent, "opponent")?;
    let labels = player.labels(&game);
    let json = serde_json::json!({
        "game": game.name(),
        "player": player.name(),
        "opponent": opponent.iter().map(Rational::to_f64).collect::<Vec<_>>(),
        "payoffs": br.payoffs,
        "best_responses": br.best.iter().map(|&i| labels[i].clone()).collect::<Vec<_>>(),
        "best_payoff": br.value,
    });
    print(&(serde_json::to_string_pretty(&json)? + "\n"))?;
    Ok(())
}

fn run_evolve(args: EvolveArgs) -> anyhow::Result<()> {
    let game = args.source.load()?;
    let name = match args.dynamics {
        DynamicsArg::Replicator => "replicator",
        DynamicsArg::DiscreteReplicator => "discrete-replicator",
        DynamicsArg::FictitiousPlay => "fictitious-play",
        DynamicsArg::StochasticFictitiousPlay => "stochastic-fictitious-play",
        DynamicsArg::BestResponse => "best-response",
        DynamicsArg::Logit => "logit",
    };
    let dynamics = Dynamics::from_name(name, args.eta, args.seed)?;
    if args.dt.is_some() && dynamics != Dynamics::BestResponse {
        return Err(
            agora::Error::usage(format!("dt: applies to best-response, not {name}")).into(),
        );
    }
    let to_f64 = |v: Vec<Rational>| v.iter().map(Rational::to_f64).collect::<Vec<f64>>();
    let x0 = to_f64(parse_shares(&args.x0, "x0")?);
    let y0 = match &args.y0 {
        Some(text) => Some(to_f64(parse_shares(text, "y0")?)),
        None => None,
    };
    let mut spec = EvolveSpec::new(dynamics, x0, y0, args.t);
    spec.samples = args.samples;
    if let Some(dt) = args.dt {
        spec.dt = dt;
    }
    if let Some(path) = &args.mutation {
        spec.mutation = Some(Mutation::from_path(path)?);
    }
    let trajectory = evolve(&game, &spec)?;
    let final_json = serde_json::to_string_pretty(&trajectory.final_json(&game, &spec))? + "\n";
    let written = agora::output::write_atomically(
        &args.out,
        &[
            ("trajectory.csv", trajectory.to_csv(&game)?),
            ("final.json", final_json.into_bytes()),
        ],
    )?;
    let shares = |s: &[f64]| {
        s.iter()
            .map(|v| format!("{v:.6}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!(
        "{}: {}, {}, t = {}: final x = [{}]",
        game.name(),
        dynamics,
        match trajectory.populations {
            agora::games::dynamics::Populations::One => "one population",
            agora::games::dynamics::Populations::Two => "two populations",
        },
        args.t,
        shares(trajectory.final_x()),
    );
    if trajectory.populations == agora::games::dynamics::Populations::Two {
        text += &format!(", y = [{}]", shares(trajectory.final_y()));
    }
    text.push('\n');
    for path in written {
        text += &format!("  wrote {}\n", path.display());
    }
    print(&text)?;
    Ok(())
}

fn list_examples(name: Option<String>) -> anyhow::Result<()> {
    let text = match name {
        Some(name) => {
            game_example(&name)?;
            game_examples()
                .iter()
                .find(|e| e.name == name)
                .map_or(String::new(), |e| e.toml.to_string())
        }
        None => {
            let width = game_examples()
                .iter()
                .map(|e| e.name.len())
                .max()
                .unwrap_or(0);
            game_examples()
                .iter()
                .map(|e| format!("{:width$}  {}\n", e.name, e.description))
                .collect()
        }
    };
    print(&text)?;
    Ok(())
}

/// Parses `a,b,...`: each a decimal or a fraction `p/q`, exactly.
fn parse_shares(text: &str, field: &str) -> agora::Result<Vec<Rational>> {
    text.split(',')
        .enumerate()
        .map(|(i, s)| {
            Rational::parse(s).ok_or_else(|| {
                agora::Error::usage(format!(
                    "{field}: share {} is {:?}; expected a number or a fraction p/q, e.g. 0.25 or 1/3",
                    i + 1,
                    s.trim()
                ))
            })
        })
        .collect()
}

/// Writes one file atomically (temporary name, then renamed into place).
fn write_file(file: &Path, bytes: Vec<u8>) -> agora::Result<PathBuf> {
    agora::output::write_file_atomically(file, &bytes)?;
    Ok(file.to_path_buf())
}

/// Prints on stdout; a reader that closed the pipe is not an error.
fn print(text: &str) -> std::io::Result<()> {
    crate::quiet_pipe(std::io::stdout().lock().write_all(text.as_bytes()))
}
