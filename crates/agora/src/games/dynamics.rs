//! Dynamics on games: how shares of strategies in a population (or two)
//! change over time.
//!
//! A symmetric game (B = Aᵀ) is played by one population against itself,
//! unless an initial state is given for each player; any other game by two
//! populations, one per player. `x` is the row population's shares, `y` the
//! column population's; payoffs to a strategy are `Ax` (one population), or
//! `Ay` and `Bᵀx` (two).
//!
//! | dynamics | time | rule |
//! |---|---|---|
//! | `replicator` | continuous | `ẋ_i = x_i((Ax)_i − xᵀAx)`; two populations `ẋ_i = x_i((Ay)_i − xᵀAy)`, `ẏ_j = y_j((Bᵀx)_j − xᵀBy)` |
//! | `discrete-replicator` | rounds | `x'_i = x_i (Ax)_i / xᵀAx` (payoffs must be nonnegative) |
//! | `fictitious-play` | rounds | each round every player plays a pure best response to the other's empirical frequencies |
//! | `stochastic-fictitious-play` | rounds | the same with a strategy drawn from the logit choice `∝ exp(payoff/η)` |
//! | `best-response` | continuous | `ẋ = BR(x) − x`, a pure best response |
//! | `logit` | continuous | `ẋ = L_η(payoffs) − x`, `L_η(π)_i ∝ exp(π_i/η)` |
//!
//! **Integration.** `replicator` and `logit` are integrated by the
//! Dormand–Prince 5(4) pair with step-size control (absolute and relative
//! tolerance [`TOLERANCE`] = 1e-11 per step, so that the global error stays
//! below 1e-8 over the times the tests check against closed forms), landing
//! exactly on each output time. Runge–Kutta steps preserve the sum of the
//! shares, so no renormalisation is applied. `best-response` has a
//! discontinuous right-hand side: the best response is recomputed every
//! `dt` (default 0.001), and between two recomputations the state follows
//! the exact solution `x(t + h) = b + (x − b)e^{−h}` towards the pure best
//! response `b`.
//!
//! **Ties.** Fictitious play and best-response dynamics break ties between
//! best responses by the lowest strategy index ([`best_response`]).
//!
//! **Fictitious play.** The initial state is the initial belief, counted as
//! one round of play: after round k, `x̄_k = (k x̄_{k−1} + e_{i_k}) / (k + 1)`,
//! where `i_k` is the row player's choice in round k (a best response to
//! `ȳ_{k−1}`, or in one population to `x̄_{k−1}`). The stochastic variant
//! draws from xoshiro256++ seeded by the seed (the row player's choice,
//! then the column player's, each round).
//!
//! **Mutation.** For `replicator` and `discrete-replicator`, a row-stochastic
//! matrix Q (Q_ij: the probability, per unit of time or per round, that a
//! type-i individual turns into type j) adds `(xQ)_i − x_i` to `ẋ_i`, or
//! follows selection in each round (`x'' = x'Q`). The continuous form keeps
//! the shares in the simplex whatever the payoffs' signs.

use super::best_response::{best_response, check_mixed, Player};
use super::game::{Matrix, NormalFormGame};
use crate::error::{Error, Result};
use crate::scenario::{describe, Fields};
use rand::{RngExt, SeedableRng};
use serde_json::json;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use toml::Value;

/// The per-step absolute and relative error tolerance of the adaptive
/// integrator.
pub const TOLERANCE: f64 = 1e-11;

/// The default number of output intervals of a trajectory.
pub const DEFAULT_SAMPLES: u64 = 1000;

/// The default recomputation interval of best-response dynamics.
pub const DEFAULT_DT: f64 = 1e-3;

/// A dynamics on a game.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dynamics {
    /// The replicator equation (continuous time).
    Replicator,
    /// The discrete-time replicator map.
    DiscreteReplicator,
    /// Fictitious play, ties to the lowest index.
    FictitiousPlay,
    /// Stochastic fictitious play: logit choices with noise `eta`, drawn
    /// from a generator seeded by `seed`.
    StochasticFictitiousPlay {
        /// The noise η > 0 (payoff units).
        eta: f64,
        /// The seed of the draws.
        seed: u64,
    },
    /// Best-response dynamics (continuous time), ties to the lowest index.
    BestResponse,
    /// Logit dynamics with noise `eta` (continuous time).
    Logit {
        /// The noise η > 0 (payoff units).
        eta: f64,
    },
}

/// The names of the dynamics, as `Dynamics::name` gives them.
pub const DYNAMICS: [&str; 6] = [
    "replicator",
    "discrete-replicator",
    "fictitious-play",
    "stochastic-fictitious-play",
    "best-response",
    "logit",
];

impl Dynamics {
    /// The dynamics' name (`replicator`, `discrete-replicator`, …).
    pub fn name(self) -> &'static str {
        match self {
            Dynamics::Replicator => DYNAMICS[0],
            Dynamics::DiscreteReplicator => DYNAMICS[1],
            Dynamics::FictitiousPlay => DYNAMICS[2],
            Dynamics::StochasticFictitiousPlay { .. } => DYNAMICS[3],
            Dynamics::BestResponse => DYNAMICS[4],
            Dynamics::Logit { .. } => DYNAMICS[5],
        }
    }

    /// True if time counts rounds (a whole number) rather than flowing.
    pub fn is_discrete(self) -> bool {
        matches!(
            self,
            Dynamics::DiscreteReplicator
                | Dynamics::FictitiousPlay
                | Dynamics::StochasticFictitiousPlay { .. }
        )
    }

    /// The dynamics `name` with its parameters: `eta` for the logit
    /// choices, `seed` for the stochastic one. A parameter that the
    /// dynamics does not take, or a missing one, is an error.
    pub fn from_name(name: &str, eta: Option<f64>, seed: Option<u64>) -> Result<Self> {
        let needs_eta = |eta: Option<f64>| {
            match eta {
            Some(e) if e.is_finite() && e > 0.0 => Ok(e),
            Some(e) => Err(Error::usage(format!("eta: expected a number > 0, found {e}"))),
            None => Err(Error::usage(format!(
                "eta: {name} needs the noise eta > 0 (in payoff units; smaller is closer to a best response)"
            ))),
        }
        };
        let dynamics = match name {
            "replicator" => Dynamics::Replicator,
            "discrete-replicator" => Dynamics::DiscreteReplicator,
            "fictitious-play" => Dynamics::FictitiousPlay,
            "best-response" => Dynamics::BestResponse,
            "logit" => Dynamics::Logit {
                eta: needs_eta(eta)?,
            },
            "stochastic-fictitious-play" => Dynamics::StochasticFictitiousPlay {
                eta: needs_eta(eta)?,
                seed: seed.ok_or_else(|| {
                    Error::usage(
                        "seed: stochastic-fictitious-play draws its plays at random: give a seed",
                    )
                })?,
            },
            other => {
                return Err(Error::usage(format!(
                    "unknown dynamics {other:?}; expected one of: {}",
                    DYNAMICS.join(", ")
                )))
            }
        };
        if eta.is_some()
            && !matches!(
                dynamics,
                Dynamics::Logit { .. } | Dynamics::StochasticFictitiousPlay { .. }
            )
        {
            return Err(Error::usage(format!(
                "eta: {name} has no noise; eta applies to logit and stochastic-fictitious-play"
            )));
        }
        if seed.is_some() && !matches!(dynamics, Dynamics::StochasticFictitiousPlay { .. }) {
            return Err(Error::usage(format!(
                "seed: {name} is deterministic; a seed applies to stochastic-fictitious-play"
            )));
        }
        Ok(dynamics)
    }
}

impl fmt::Display for Dynamics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dynamics {
    type Err = Error;
    /// A dynamics without parameters (`logit` and the stochastic one need
    /// [`Dynamics::from_name`]).
    fn from_str(s: &str) -> Result<Self> {
        Dynamics::from_name(s, None, None)
    }
}

/// A mutation matrix per population: row-stochastic, one row and column
/// per strategy.
///
/// The file is TOML: `mutation = [[...], ...]` for every population, or
/// `row = [[...]]` and `column = [[...]]` for the row and column
/// populations of a two-population game with different strategy counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    origin: String,
    row: Option<(String, Matrix)>,
    column: Option<(String, Matrix)>,
}

impl Mutation {
    /// The same mutation matrix for every population.
    pub fn uniform(q: Matrix) -> Result<Self> {
        check_stochastic("<mutation>", "mutation", &q)?;
        Ok(Mutation {
            origin: "<mutation>".into(),
            row: Some(("mutation".into(), q)),
            column: None,
        })
    }

    /// Reads a mutation file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::scenario(&origin, "", format!("cannot read the mutation file: {e}"))
        })?;
        Self::from_toml_str(&text, &origin)
    }

    /// Parses mutation text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::from(crate::error::ErrorKind::Syntax {
                origin: origin.to_string(),
                message: e.to_string(),
            })
        })?;
        let mut fields = Fields::new(origin, "", &table);
        let read = |key: &str| -> Result<Option<(String, Matrix)>> {
            match table.get(key) {
                None => Ok(None),
                Some(value) => {
                    let m = read_matrix(origin, key, value)?;
                    check_stochastic(origin, key, &m)?;
                    Ok(Some((key.to_string(), m)))
                }
            }
        };
        let (has_all, has_row, has_column) = (
            fields.has("mutation"),
            fields.has("row"),
            fields.has("column"),
        );
        fields.finish()?;
        if has_all && (has_row || has_column) {
            return Err(Error::scenario(
                origin,
                "mutation",
                "give either mutation (for every population) or row and column, not both",
            ));
        }
        if !(has_all || has_row || has_column) {
            return Err(Error::scenario(
                origin,
                "mutation",
                "missing field; expected a row-stochastic matrix, e.g. mutation = [[0.99, 0.01], [0.01, 0.99]]",
            ));
        }
        let row = if has_all {
            read("mutation")?
        } else {
            read("row")?
        };
        Ok(Mutation {
            origin: origin.to_string(),
            row,
            column: read("column")?,
        })
    }

    /// The matrix for `player`'s population, checked against `n` strategies.
    fn for_population(&self, player: Player, n: usize) -> Result<Matrix> {
        let (key, m) = match (player, &self.row, &self.column) {
            (Player::Column, _, Some(c)) => c,
            (Player::Row, Some(r), _) => r,
            (Player::Column, Some(r), None) if r.0 == "mutation" => r,
            _ => {
                return Err(Error::scenario(
                    &self.origin,
                    player.name(),
                    format!("missing field; expected the {player} population's mutation matrix"),
                ))
            }
        };
        if m.rows() != n {
            return Err(Error::scenario(
                &self.origin,
                key.as_str(),
                format!(
                    "expected a {n}x{n} matrix (one row and column per {player} strategy), found {}x{}",
                    m.rows(),
                    m.cols()
                ),
            ));
        }
        Ok(m.clone())
    }
}

fn read_matrix(origin: &str, path: &str, value: &Value) -> Result<Matrix> {
    let bad = |p: String, found: &Value| {
        Error::scenario(
            origin,
            p,
            format!(
                "expected a square array of rows of numbers, found {}",
                describe(found)
            ),
        )
    };
    let Value::Array(rows) = value else {
        return Err(bad(path.to_string(), value));
    };
    let n = rows.len();
    let mut data = Vec::with_capacity(n * n);
    for (i, row) in rows.iter().enumerate() {
        let Value::Array(entries) = row else {
            return Err(bad(format!("{path}[{i}]"), row));
        };
        if entries.len() != n {
            return Err(Error::scenario(
                origin,
                format!("{path}[{i}]"),
                format!(
                    "expected {n} numbers (the matrix is square, with {n} rows), found {}",
                    entries.len()
                ),
            ));
        }
        for (j, v) in entries.iter().enumerate() {
            match v {
                Value::Float(x) => data.push(*x),
                Value::Integer(k) => data.push(*k as f64),
                other => return Err(bad(format!("{path}[{i}][{j}]"), other)),
            }
        }
    }
    Matrix::new(n, n, data).ok_or_else(|| bad(path.to_string(), value))
}

fn check_stochastic(origin: &str, path: &str, q: &Matrix) -> Result<()> {
    if q.rows() != q.cols() {
        return Err(Error::scenario(origin, path, "expected a square matrix"));
    }
    for i in 0..q.rows() {
        for j in 0..q.cols() {
            let p = q.get(i, j);
            if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
                return Err(Error::scenario(
                    origin,
                    format!("{path}[{i}][{j}]"),
                    format!("expected a probability from 0 to 1, found {p}"),
                ));
            }
        }
        let sum: f64 = q.row(i).iter().sum();
        if (sum - 1.0).abs() > super::best_response::SUM_TOLERANCE {
            return Err(Error::scenario(
                origin,
                format!("{path}[{i}]"),
                format!("a row of a mutation matrix must sum to 1 (within 1e-9), found {sum}"),
            ));
        }
    }
    Ok(())
}

/// One population playing a symmetric game against itself, or one per
/// player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Populations {
    /// One population (a symmetric game): the state is `x`.
    One,
    /// Two populations: the state is `x` (rows) and `y` (columns).
    Two,
}

/// What to run: the dynamics, the initial state, the horizon and the
/// output grid.
#[derive(Debug, Clone, PartialEq)]
pub struct EvolveSpec {
    /// The dynamics.
    pub dynamics: Dynamics,
    /// The row population's initial shares (or the only population's).
    pub x0: Vec<f64>,
    /// The column population's initial shares; `None` in a symmetric game
    /// means one population.
    pub y0: Option<Vec<f64>>,
    /// The horizon: a time > 0, or for the round-based dynamics a whole
    /// number of rounds.
    pub t: f64,
    /// An optional mutation matrix (replicator dynamics only).
    pub mutation: Option<Mutation>,
    /// The trajectory's output intervals: it holds the state at time 0, at
    /// `t`, and at `samples − 1` evenly spaced times between (for
    /// round-based dynamics, rounded to whole rounds; every round if there
    /// are fewer).
    pub samples: u64,
    /// The recomputation interval of best-response dynamics.
    pub dt: f64,
}

impl EvolveSpec {
    /// A spec with the default output grid and no mutation.
    pub fn new(dynamics: Dynamics, x0: Vec<f64>, y0: Option<Vec<f64>>, t: f64) -> Self {
        EvolveSpec {
            dynamics,
            x0,
            y0,
            t,
            mutation: None,
            samples: DEFAULT_SAMPLES,
            dt: DEFAULT_DT,
        }
    }
}

/// The states of a run of a dynamics at the output times.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// One population or two.
    pub populations: Populations,
    /// The output times (rounds for the round-based dynamics).
    pub times: Vec<f64>,
    /// The row population's shares at each output time.
    pub x: Vec<Vec<f64>>,
    /// The column population's shares at each output time (a copy of `x`
    /// with one population).
    pub y: Vec<Vec<f64>>,
}

impl Trajectory {
    /// The row population's final shares.
    pub fn final_x(&self) -> &[f64] {
        self.x.last().map_or(&[], Vec::as_slice)
    }

    /// The column population's final shares (the row population's with one
    /// population).
    pub fn final_y(&self) -> &[f64] {
        self.y.last().map_or(&[], Vec::as_slice)
    }

    /// `trajectory.csv`: `t`, one `x_<label>` column per row strategy and,
    /// with two populations, one `y_<label>` column per column strategy.
    pub fn to_csv(&self, game: &NormalFormGame) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_error = |e: csv::Error| Error::usage(format!("writing trajectory.csv: {e}"));
        let mut header = vec!["t".to_string()];
        header.extend(game.row_labels().iter().map(|l| format!("x_{l}")));
        if self.populations == Populations::Two {
            header.extend(game.column_labels().iter().map(|l| format!("y_{l}")));
        }
        w.write_record(&header).map_err(csv_error)?;
        let mut buf = ryu::Buffer::new();
        for (k, t) in self.times.iter().enumerate() {
            let mut record = vec![buf.format(*t).trim_end_matches(".0").to_string()];
            record.extend(self.x[k].iter().map(|v| buf.format(*v).to_string()));
            if self.populations == Populations::Two {
                record.extend(self.y[k].iter().map(|v| buf.format(*v).to_string()));
            }
            w.write_record(&record).map_err(csv_error)?;
        }
        w.into_inner()
            .map_err(|e| Error::usage(format!("writing trajectory.csv: {e}")))
    }

    /// `final.json`: `{"x": [...], "y": [...]}` (y a copy of x with one
    /// population), with the game, the dynamics, the horizon and the number
    /// of populations beside them.
    pub fn final_json(&self, game: &NormalFormGame, spec: &EvolveSpec) -> serde_json::Value {
        json!({
            "x": self.final_x(),
            "y": self.final_y(),
            "game": game.name(),
            "dynamics": spec.dynamics.name(),
            "t": spec.t,
            "populations": match self.populations { Populations::One => 1, Populations::Two => 2 },
        })
    }
}

/// Runs `spec` on `game`. Bad input (shares of the wrong length, negative
/// or not summing to 1, a horizon that is not positive, a missing `y0` for
/// an asymmetric game) is an error naming the field.
pub fn evolve(game: &NormalFormGame, spec: &EvolveSpec) -> Result<Trajectory> {
    let populations = match (&spec.y0, game.is_symmetric()) {
        (None, true) => Populations::One,
        (Some(_), _) => Populations::Two,
        (None, false) => {
            return Err(Error::usage(
                "y0: the game is not symmetric (column payoffs are not the transpose of the row payoffs), so each player is a population of its own: give y0, the column population's shares",
            ))
        }
    };
    check_mixed(&spec.x0, game.rows(), "x0", Player::Row)?;
    if let Some(y0) = &spec.y0 {
        check_mixed(y0, game.columns(), "y0", Player::Column)?;
    }
    if !(spec.t.is_finite() && spec.t > 0.0) {
        return Err(Error::usage(format!(
            "t: expected a time > 0, found {}",
            spec.t
        )));
    }
    if spec.dynamics.is_discrete() && (spec.t.fract() != 0.0 || spec.t > 1e15) {
        return Err(Error::usage(format!(
            "t: {} counts rounds: expected a whole number of rounds, found {}",
            spec.dynamics, spec.t
        )));
    }
    if spec.samples == 0 {
        return Err(Error::usage(
            "samples: expected at least 1 output interval, found 0",
        ));
    }
    if !(spec.dt.is_finite() && spec.dt > 0.0) {
        return Err(Error::usage(format!(
            "dt: expected a time > 0, found {}",
            spec.dt
        )));
    }
    let model = Model::new(game, populations, spec)?;
    let mut z = spec.x0.clone();
    if let Some(y0) = &spec.y0 {
        z.extend_from_slice(y0);
    }
    let times = output_times(spec);
    let mut states = Vec::with_capacity(times.len());
    states.push(z.clone());
    match spec.dynamics {
        Dynamics::Replicator | Dynamics::Logit { .. } => {
            let mut integrator = DormandPrince::new(z.len(), spec.t);
            for w in times.windows(2) {
                integrator.advance(
                    &|s: &[f64], out: &mut [f64]| model.field(s, out),
                    &mut z,
                    w[0],
                    w[1],
                )?;
                states.push(z.clone());
            }
        }
        Dynamics::BestResponse => {
            let mut t = 0.0;
            for &target in &times[1..] {
                while t < target {
                    let h = spec.dt.min(target - t);
                    model.best_response_step(&mut z, h);
                    // Land exactly on the output time, without drift.
                    t = if target - t <= spec.dt { target } else { t + h };
                }
                states.push(z.clone());
            }
        }
        Dynamics::DiscreteReplicator
        | Dynamics::FictitiousPlay
        | Dynamics::StochasticFictitiousPlay { .. } => {
            let mut rounds = Rounds::new(&model, spec.dynamics);
            let mut done = 0u64;
            for &target in &times[1..] {
                while done < target as u64 {
                    done += 1;
                    rounds.play(&mut z, done)?;
                }
                states.push(z.clone());
            }
        }
    }
    let m = game.rows();
    let (x, y) = states
        .into_iter()
        .map(|s| match populations {
            Populations::One => (s.clone(), s),
            Populations::Two => (s[..m].to_vec(), s[m..].to_vec()),
        })
        .unzip();
    Ok(Trajectory {
        populations,
        times,
        x,
        y,
    })
}

/// The output times: 0, t, and evenly spaced between (whole rounds for
/// round-based dynamics).
fn output_times(spec: &EvolveSpec) -> Vec<f64> {
    let n = spec.samples as f64;
    if spec.dynamics.is_discrete() {
        let rounds = spec.t as u64;
        if rounds <= spec.samples {
            return (0..=rounds).map(|r| r as f64).collect();
        }
        let mut times: Vec<f64> = (0..=spec.samples)
            .map(|k| ((k as f64) * spec.t / n).round())
            .collect();
        times.dedup();
        times
    } else {
        (0..=spec.samples)
            .map(|k| (k as f64) * spec.t / n)
            .collect()
    }
}

/// The game seen by a dynamics: payoffs to each population, mutation.
struct Model<'a> {
    game: &'a NormalFormGame,
    populations: Populations,
    m: usize,
    /// Bᵀ, for the column population's payoffs `Bᵀx`.
    bt: Matrix,
    /// The row (or only) population's mutation matrix and the column one's.
    mutation: Option<(Matrix, Option<Matrix>)>,
    /// The logit noise, for the dynamics that have one.
    eta: Option<f64>,
}

impl<'a> Model<'a> {
    fn new(game: &'a NormalFormGame, populations: Populations, spec: &EvolveSpec) -> Result<Self> {
        let mutation = match &spec.mutation {
            None => None,
            Some(mu) => {
                if !matches!(
                    spec.dynamics,
                    Dynamics::Replicator | Dynamics::DiscreteReplicator
                ) {
                    return Err(Error::usage(format!(
                        "mutation: applies to replicator and discrete-replicator, not {}",
                        spec.dynamics
                    )));
                }
                let row = mu.for_population(Player::Row, game.rows())?;
                let column = match populations {
                    Populations::One => None,
                    Populations::Two => Some(mu.for_population(Player::Column, game.columns())?),
                };
                Some((row, column))
            }
        };
        if spec.dynamics == Dynamics::DiscreteReplicator {
            let mut matrices = vec![(game.row_payoffs(), "game.row")];
            if populations == Populations::Two {
                matrices.push((game.column_payoffs(), "game.column"));
            }
            for (mat, name) in matrices {
                if let Some(k) = mat.data().iter().position(|&v| v < 0.0) {
                    return Err(Error::usage(format!(
                        "discrete-replicator needs nonnegative payoffs (they are fitnesses), but {name}[{}][{}] is {}: add a constant to every payoff of that player (the equilibria do not change)",
                        k / mat.cols(),
                        k % mat.cols(),
                        mat.data()[k]
                    )));
                }
            }
        }
        let eta = match spec.dynamics {
            Dynamics::Logit { eta } | Dynamics::StochasticFictitiousPlay { eta, .. } => Some(eta),
            _ => None,
        };
        Ok(Model {
            game,
            populations,
            m: game.rows(),
            bt: game.column_payoffs().transpose(),
            mutation,
            eta,
        })
    }

    /// Splits a state into the row population's shares and the column
    /// population's (empty with one population).
    fn split<'s>(&self, z: &'s [f64]) -> (&'s [f64], &'s [f64]) {
        z.split_at(self.m)
    }

    /// The payoffs to each strategy: `(Ax, —)` or `(Ay, Bᵀx)`.
    fn payoffs(&self, z: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let a = self.game.row_payoffs();
        let (x, y) = self.split(z);
        match self.populations {
            Populations::One => (a.mul_vec(x), Vec::new()),
            Populations::Two => (a.mul_vec(y), self.bt.mul_vec(x)),
        }
    }

    /// The right-hand side of the replicator or logit dynamics at `z`.
    fn field(&self, z: &[f64], out: &mut [f64]) {
        let (fx, fy) = self.payoffs(z);
        let (x, y) = self.split(z);
        let (ox, oy) = out.split_at_mut(self.m);
        match self.eta {
            None => {
                replicator_into(x, &fx, ox);
                replicator_into(y, &fy, oy);
                if let Some((qx, qy)) = &self.mutation {
                    mutation_into(x, qx, ox);
                    if let Some(qy) = qy {
                        mutation_into(y, qy, oy);
                    }
                }
            }
            Some(eta) => {
                toward_into(x, &logit(&fx, eta), ox);
                if !y.is_empty() {
                    toward_into(y, &logit(&fy, eta), oy);
                }
            }
        }
    }

    /// Best-response dynamics over `h`: the best responses at the start,
    /// then the exact flow towards them.
    fn best_response_step(&self, z: &mut [f64], h: f64) {
        let (fx, fy) = self.payoffs(z);
        let (bx, by) = (best_response(&fx), best_response(&fy));
        let decay = (-h).exp();
        let (x, y) = z.split_at_mut(self.m);
        let toward = |shares: &mut [f64], best: usize| {
            for (i, s) in shares.iter_mut().enumerate() {
                let target = if i == best { 1.0 } else { 0.0 };
                *s = target + (*s - target) * decay;
            }
        };
        toward(x, bx);
        if !y.is_empty() {
            toward(y, by);
        }
    }
}

/// The replicator equation's velocity `ẋ_i = x_i (f_i − x·f)` for shares
/// `x` earning payoffs `f` (`Ax` in one population, `Ay` or `Bᵀx` in two):
/// the mean dynamics of pairwise proportional imitation.
pub fn replicator_velocity(x: &[f64], f: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; x.len()];
    replicator_into(x, f, &mut out);
    out
}

/// `out_i = x_i (f_i − x·f)`: the replicator equation.
fn replicator_into(x: &[f64], f: &[f64], out: &mut [f64]) {
    let mean: f64 = x.iter().zip(f).map(|(s, p)| s * p).sum();
    for ((o, s), p) in out.iter_mut().zip(x).zip(f) {
        *o = s * (p - mean);
    }
}

/// Adds the mutation flow `(xQ)_i − x_i`.
fn mutation_into(x: &[f64], q: &Matrix, out: &mut [f64]) {
    for (o, (inflow, s)) in out.iter_mut().zip(q.vec_mul(x).iter().zip(x)) {
        *o += inflow - s;
    }
}

/// `out = target − x`.
fn toward_into(x: &[f64], target: &[f64], out: &mut [f64]) {
    for (o, (t, s)) in out.iter_mut().zip(target.iter().zip(x)) {
        *o = t - s;
    }
}

/// The logit choice probabilities `∝ exp(π_i / η)`, computed without
/// overflow.
pub fn logit(payoffs: &[f64], eta: f64) -> Vec<f64> {
    let max = payoffs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = payoffs.iter().map(|p| ((p - max) / eta).exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// One round of the discrete replicator map on shares `x` with payoffs
/// `f`: `x'_i = x_i f_i / x·f`; `None` if the mean payoff is not positive.
pub fn discrete_replicator_step(x: &[f64], f: &[f64]) -> Option<Vec<f64>> {
    let mean: f64 = x.iter().zip(f).map(|(s, p)| s * p).sum();
    (mean > 0.0).then(|| x.iter().zip(f).map(|(s, p)| s * p / mean).collect())
}

/// The round-based dynamics: their state between rounds.
struct Rounds<'m, 'g> {
    model: &'m Model<'g>,
    dynamics: Dynamics,
    rng: Option<rand_xoshiro::Xoshiro256PlusPlus>,
}

impl<'m, 'g> Rounds<'m, 'g> {
    fn new(model: &'m Model<'g>, dynamics: Dynamics) -> Self {
        let rng = match dynamics {
            Dynamics::StochasticFictitiousPlay { seed, .. } => {
                Some(rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed))
            }
            _ => None,
        };
        Rounds {
            model,
            dynamics,
            rng,
        }
    }

    /// Plays round `k` (from 1) on state `z`.
    fn play(&mut self, z: &mut [f64], k: u64) -> Result<()> {
        let model = self.model;
        let (fx, fy) = model.payoffs(z);
        let m = model.m;
        match self.dynamics {
            Dynamics::DiscreteReplicator => {
                let (x, y) = z.split_at_mut(m);
                let step = |shares: &mut [f64], f: &[f64], q: Option<&Matrix>| -> Result<()> {
                    let next = discrete_replicator_step(shares, f).ok_or_else(|| {
                        Error::usage(format!(
                            "discrete-replicator: the mean payoff is 0 at round {k}, so the shares are undefined; add a constant to the payoffs"
                        ))
                    })?;
                    let next = match q {
                        Some(q) => q.vec_mul(&next),
                        None => next,
                    };
                    shares.copy_from_slice(&next);
                    Ok(())
                };
                let (qx, qy) = match &model.mutation {
                    Some((qx, qy)) => (Some(qx), qy.as_ref()),
                    None => (None, None),
                };
                step(x, &fx, qx)?;
                if !y.is_empty() {
                    step(y, &fy, qy)?;
                }
            }
            Dynamics::FictitiousPlay | Dynamics::StochasticFictitiousPlay { .. } => {
                let ix = self.choose(&fx);
                let iy = (!fy.is_empty()).then(|| self.choose(&fy));
                let (x, y) = z.split_at_mut(m);
                record_play(x, ix, k);
                if let Some(iy) = iy {
                    record_play(y, iy, k);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A best response (lowest index on ties), or a logit draw.
    fn choose(&mut self, payoffs: &[f64]) -> usize {
        match (&mut self.rng, self.model.eta) {
            (Some(rng), Some(eta)) => {
                let p = logit(payoffs, eta);
                let u: f64 = rng.random();
                let mut acc = 0.0;
                for (i, pi) in p.iter().enumerate() {
                    acc += pi;
                    if u < acc {
                        return i;
                    }
                }
                // Rounding can leave the sum a hair below 1.
                p.iter().rposition(|&pi| pi > 0.0).unwrap_or(0)
            }
            _ => best_response(payoffs),
        }
    }
}

/// Empirical frequencies after round k: the initial belief counts as one
/// round, so `x̄_k = (k x̄_{k−1} + e_i) / (k + 1)`.
fn record_play(freq: &mut [f64], played: usize, k: u64) {
    let k = k as f64;
    for (j, f) in freq.iter_mut().enumerate() {
        let hit = if j == played { 1.0 } else { 0.0 };
        *f = (k * *f + hit) / (k + 1.0);
    }
}

/// The Dormand–Prince 5(4) embedded Runge–Kutta pair (the coefficients of
/// Dormand and Prince 1980, as in Hairer, Nørsett and Wanner's DOPRI5),
/// first-same-as-last, with the standard step-size controller.
struct DormandPrince {
    h: f64,
    k: [Vec<f64>; 7],
    stage: Vec<f64>,
    fsal: bool,
}

/// The stage coefficients (the system is autonomous, so the nodes c_s are
/// not needed); the last row is the fifth-order solution's weights.
const A: [[f64; 6]; 7] = [
    [0.0; 6],
    [1.0 / 5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [3.0 / 40.0, 9.0 / 40.0, 0.0, 0.0, 0.0, 0.0],
    [44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0, 0.0, 0.0, 0.0],
    [
        19372.0 / 6561.0,
        -25360.0 / 2187.0,
        64448.0 / 6561.0,
        -212.0 / 729.0,
        0.0,
        0.0,
    ],
    [
        9017.0 / 3168.0,
        -355.0 / 33.0,
        46732.0 / 5247.0,
        49.0 / 176.0,
        -5103.0 / 18656.0,
        0.0,
    ],
    [
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
    ],
];
/// The fifth-order weights minus the fourth-order ones: the error estimate.
const E: [f64; 7] = [
    71.0 / 57600.0,
    0.0,
    -71.0 / 16695.0,
    71.0 / 1920.0,
    -17253.0 / 339200.0,
    22.0 / 525.0,
    -1.0 / 40.0,
];

impl DormandPrince {
    fn new(len: usize, horizon: f64) -> Self {
        DormandPrince {
            h: (horizon * 1e-4).min(1e-3),
            k: std::array::from_fn(|_| vec![0.0; len]),
            stage: vec![0.0; len],
            fsal: false,
        }
    }

    /// Advances `z` from `t0` to exactly `t1`.
    fn advance(
        &mut self,
        f: &impl Fn(&[f64], &mut [f64]),
        z: &mut [f64],
        t0: f64,
        t1: f64,
    ) -> Result<()> {
        let mut t = t0;
        let mut steps = 0u64;
        while t < t1 {
            let last = self.h >= t1 - t;
            let h = if last { t1 - t } else { self.h };
            if !self.fsal {
                f(z, &mut self.k[0]);
            }
            for (s, weights) in A.iter().enumerate().skip(1) {
                for (i, (v, zi)) in self.stage.iter_mut().zip(z.iter()).enumerate() {
                    let incr: f64 = weights[..s]
                        .iter()
                        .zip(&self.k)
                        .map(|(a, k)| a * k[i])
                        .sum();
                    *v = zi + h * incr;
                }
                f(&self.stage, &mut self.k[s]);
            }
            // Stage 7 is evaluated at the fifth-order solution itself.
            let mut err = 0.0f64;
            for (i, (zi, next)) in z.iter().zip(&self.stage).enumerate() {
                let e: f64 = h * E.iter().zip(&self.k).map(|(e, k)| e * k[i]).sum::<f64>();
                let scale = TOLERANCE + TOLERANCE * zi.abs().max(next.abs());
                err = err.max((e / scale).abs());
            }
            if !err.is_finite() {
                return Err(Error::usage(
                    "the dynamics diverged (a share became infinite or undefined)",
                ));
            }
            let factor = (0.9 * err.powf(-0.2)).clamp(0.2, 5.0);
            if err <= 1.0 {
                z.copy_from_slice(&self.stage);
                self.k.swap(0, 6);
                self.fsal = true;
                t = if last { t1 } else { t + h };
                // A step cut short to land on t1 says nothing about the
                // next one's size.
                if !last {
                    self.h = h * factor;
                }
            } else {
                self.fsal = true;
                self.h = h * factor.min(1.0);
            }
            steps += 1;
            if self.h < 1e-14 * t1.max(1.0) || steps > 1_000_000_000 {
                return Err(Error::usage(
                    "the dynamics are too stiff to integrate (step size below 1e-14)",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_discrete_replicator_step_from_the_issue() {
        // A = [[4,3],[2,5]] at x = (0.2, 0.8): Ax = (3.2, 4.4), xᵀAx = 4.16,
        // x' = (0.64, 3.52) / 4.16 = (2/13, 11/13).
        let a = Matrix::from_rows(&[vec![4.0, 3.0], vec![2.0, 5.0]]).unwrap();
        let x = [0.2, 0.8];
        let next = discrete_replicator_step(&x, &a.mul_vec(&x)).unwrap();
        assert!((next[0] - 2.0 / 13.0).abs() < 1e-15);
        assert!((next[1] - 11.0 / 13.0).abs() < 1e-15);
    }

    #[test]
    fn replicator_velocity_on_hawk_dove() {
        // ẋ_hawk = x(1 − x)(f_hawk − f_dove) = x(1 − x)(35 − 60x).
        let a = Matrix::from_rows(&[vec![-25.0, 50.0], vec![0.0, 15.0]]).unwrap();
        for x in [0.2, 7.0 / 12.0, 0.9] {
            let shares = [x, 1.0 - x];
            let v = replicator_velocity(&shares, &a.mul_vec(&shares));
            let want = x * (1.0 - x) * (35.0 - 60.0 * x);
            assert!(
                (v[0] - want).abs() < 1e-12 && (v[0] + v[1]).abs() < 1e-12,
                "{x}: {v:?}"
            );
        }
    }

    #[test]
    fn logit_is_a_stable_softmax() {
        let p = logit(&[1000.0, 1000.0, 0.0], 1.0);
        assert!((p[0] - 0.5).abs() < 1e-15 && (p[1] - 0.5).abs() < 1e-15 && p[2] < 1e-300);
    }
}
