//! Optimisation of scenario parameters: which curve parameters minimise
//! volatility, which fee maximises revenue.
//!
//! A candidate is a value for each varied parameter (a dotted path with a
//! range `lo..hi`); its objective is the mean of one summary metric over the
//! scenario's `runs`. Every candidate runs the same runs `0..R`, so the same
//! seeds: differences between candidates are differences of the parameters,
//! not of luck (common random numbers), which is what lets a search with few
//! runs rank candidates reliably.
//!
//! The searches themselves are argmin's Nelder-Mead and particle swarm, and
//! an evenly spaced grid. They all work in the unit box `[0, 1]^d`, mapped
//! linearly onto the ranges and clamped, so no candidate ever leaves its
//! range; a search that steps outside the box evaluates the nearest point on
//! its boundary. Evaluations are remembered: a candidate seen before is not
//! run again and does not count against the budget.
//!
//! The result says why the search ended ([`StopReason`]: the budget spent,
//! the grid complete, argmin's convergence, or a search that only revisits
//! evaluated candidates, typically held on a bound) and which of the best
//! values sit on a bound of their range ([`Optimization::best_on_bounds`]),
//! where the optimum may lie beyond it.
//!
//! ```
//! use agora::experiment::optimize::{optimize, Method, ParamRange};
//!
//! let scenario = agora::Scenario::from_toml_str(r#"
//!     [simulation]
//!     steps = 5
//!     seed = 1
//!     [[assets]]
//!     name = "TOKEN"
//!     pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }
//!     [[agents]]
//!     group = "noise"
//!     count = 10
//!     balance = 100.0
//!     policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
//! "#, "inline")?;
//! let params = [ParamRange::new("assets.TOKEN.pricing.b", 0.5, 2.5)];
//! let found = optimize(&scenario, &params, "assets.TOKEN.final_price", false, Method::Grid, 5, &|_| {})?;
//! assert_eq!(found.best().values, vec![0.5]);
//! assert_eq!(found.evaluations.len(), 5); // the baseline and a grid of 4
//! # Ok::<(), agora::Error>(())
//! ```

use crate::engine::Simulation;
use crate::error::{Argument, Error, Result};
use crate::experiment::{aggregate, metrics, monte_carlo};
use crate::scenario::Scenario;
use argmin::core::{CostFunction, Executor, State, TerminationReason};
use argmin::solver::neldermead::NelderMead;
use argmin::solver::particleswarm::ParticleSwarm;
use argmin_rng::rand_core::SeedableRng;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The most parameters one optimisation varies (its corners, `2^d`, are all
/// checked before anything runs).
pub const MAX_PARAMS: usize = 12;

/// A parameter to vary: its dotted path and its range `[lo, hi]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamRange {
    /// Dotted parameter path, e.g. `assets.TOKEN.pricing.m`.
    pub path: String,
    /// Lowest value tried.
    pub lo: f64,
    /// Highest value tried.
    pub hi: f64,
}

impl ParamRange {
    /// Returns the range `[lo, hi]` of the parameter at `path`.
    pub fn new(path: impl Into<String>, lo: f64, hi: f64) -> Self {
        ParamRange {
            path: path.into(),
            lo,
            hi,
        }
    }

    /// Maps `u` in `[0, 1]` (clamped) linearly onto `[lo, hi]`.
    fn at(&self, u: f64) -> f64 {
        let u = if u.is_nan() { 0.0 } else { u.clamp(0.0, 1.0) };
        if u == 1.0 {
            self.hi
        } else {
            self.lo + u * (self.hi - self.lo)
        }
    }

    /// Maps `x` in `[lo, hi]` back to `[0, 1]` (clamped).
    fn unit(&self, x: f64) -> f64 {
        ((x - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    fn contains(&self, x: f64) -> bool {
        (self.lo..=self.hi).contains(&x)
    }
}

impl FromStr for ParamRange {
    type Err = Error;

    /// Parses `PATH=lo..hi`, e.g. `assets.TOKEN.pricing.m=0.0005..0.002`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |what: &str| {
            Error::argument(
                Argument::Range,
                format!(
                    "{s}: {what}; expected PATH=lo..hi, e.g. assets.TOKEN.pricing.m=0.0005..0.002"
                ),
            )
        };
        let (path, range) = s.split_once('=').ok_or_else(|| bad("no '='"))?;
        let (lo, hi) = range.split_once("..").ok_or_else(|| bad("no '..'"))?;
        let num = |t: &str| {
            t.trim()
                .parse::<f64>()
                .map_err(|_| bad(&format!("{:?} is not a number", t.trim())))
        };
        Ok(ParamRange::new(path.trim(), num(lo)?, num(hi)?))
    }
}

/// How candidates are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// argmin's Nelder-Mead simplex, started from the scenario's own
    /// parameters (clamped into the ranges) with edges of a quarter of each
    /// range. Clamping makes the objective flat outside the box, so the
    /// simplex walks back in.
    NelderMead,
    /// argmin's particle swarm on the unit box (positions are clamped to it
    /// at every move), its generator seeded from the scenario's seed.
    ParticleSwarm,
    /// An evenly spaced grid including both ends of every range, with as
    /// many points per parameter as fit in the budget (at least 2), in
    /// row-major order (the last parameter varies fastest).
    Grid,
}

impl Method {
    /// The name the command line takes: `nelder-mead`, `particle-swarm`, `grid`.
    pub fn name(self) -> &'static str {
        match self {
            Method::NelderMead => "nelder-mead",
            Method::ParticleSwarm => "particle-swarm",
            Method::Grid => "grid",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;

    /// Parses a method's [`name`](Method::name).
    fn from_str(s: &str) -> Result<Self> {
        [Method::NelderMead, Method::ParticleSwarm, Method::Grid]
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::usage(format!(
                    "unknown method {s:?}; expected nelder-mead, particle-swarm or grid"
                ))
            })
    }
}

/// One evaluated candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The parameters' values, in the order of the ranges.
    pub values: Vec<f64>,
    /// The objective metric's mean over the runs.
    pub objective: f64,
}

/// The result of [`optimize`]: every evaluation in the order it was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimization {
    /// The varied parameters.
    pub params: Vec<ParamRange>,
    /// The objective metric's summary path.
    pub objective: String,
    /// True if the objective was maximised, false if minimised.
    pub maximize: bool,
    /// The search used.
    pub method: Method,
    /// Every evaluation; the first is the baseline, at the scenario's own
    /// parameter values (which may lie outside the ranges).
    pub evaluations: Vec<Evaluation>,
    /// The index in `evaluations` of the best candidate inside the ranges
    /// (the earliest of equals).
    pub best: usize,
    /// The most evaluations allowed.
    pub budget: usize,
    /// Why the search stopped.
    pub stop: StopReason,
}

/// Why a search stopped.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StopReason {
    /// Every evaluation the budget allows was made.
    BudgetSpent,
    /// Every point of the grid was evaluated: `side` points per parameter,
    /// `points` in all (the largest grid that fits in the budget).
    GridComplete {
        /// Points per parameter.
        side: usize,
        /// Points of the grid.
        points: usize,
        /// The budget a grid of `side + 1` points per parameter needs.
        finer_budget: usize,
    },
    /// The search converged (argmin's `SolverConverged`).
    Converged,
    /// The search stopped proposing new candidates: argmin's iteration cap
    /// was reached after `repeats` proposals in a row of candidates already
    /// evaluated (which cost nothing), typically a simplex or a swarm held
    /// on a bound of the ranges, where candidates are clamped.
    Stalled {
        /// Iterations argmin made.
        iterations: u64,
        /// Proposals since the last new candidate.
        repeats: u64,
    },
    /// argmin stopped for another reason, in its words.
    Solver(String),
}

impl StopReason {
    /// A short name: `budget_spent`, `grid_complete`, `converged`,
    /// `stalled` or `solver`.
    pub fn name(&self) -> &'static str {
        match self {
            StopReason::BudgetSpent => "budget_spent",
            StopReason::GridComplete { .. } => "grid_complete",
            StopReason::Converged => "converged",
            StopReason::Stalled { .. } => "stalled",
            StopReason::Solver(_) => "solver",
        }
    }
}

impl fmt::Display for StopReason {
    /// A sentence for a person.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::BudgetSpent => f.write_str("the budget of evaluations is spent"),
            StopReason::GridComplete {
                side,
                points,
                finer_budget,
            } => write!(
                f,
                "the grid is complete: {points} points, {side} per parameter (a budget of {finer_budget} allows {} per parameter)",
                side + 1
            ),
            StopReason::Converged => f.write_str("the search converged"),
            StopReason::Stalled {
                iterations,
                repeats,
            } => write!(
                f,
                "the search stalled: its last {repeats} proposals were all candidates already evaluated (argmin stopped at its cap of {iterations} iterations); a search held on a bound of the ranges proposes nothing new"
            ),
            StopReason::Solver(reason) => write!(f, "argmin stopped: {reason}"),
        }
    }
}

/// Which end of its range a value sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The range's `lo`.
    Lower,
    /// The range's `hi`.
    Upper,
}

impl Bound {
    /// `lower` or `upper`.
    pub fn name(self) -> &'static str {
        match self {
            Bound::Lower => "lower",
            Bound::Upper => "upper",
        }
    }
}

/// A parameter of the best candidate that sits on a bound of its range:
/// the optimum may lie beyond it.
#[derive(Debug, Clone, PartialEq)]
pub struct OnBound {
    /// The parameter's path.
    pub path: String,
    /// Which bound.
    pub bound: Bound,
    /// The value (the bound itself).
    pub value: f64,
}

impl Optimization {
    /// Returns the evaluation at the scenario's own parameters.
    pub fn baseline(&self) -> &Evaluation {
        &self.evaluations[0]
    }

    /// Returns the best evaluation inside the ranges.
    pub fn best(&self) -> &Evaluation {
        &self.evaluations[self.best]
    }

    /// Returns how much better the best is than the baseline, in the
    /// objective's units: positive when it is better (lower when minimising,
    /// higher when maximising).
    pub fn improvement(&self) -> f64 {
        let d = self.best().objective - self.baseline().objective;
        if self.maximize {
            d
        } else {
            -d
        }
    }

    /// Returns [`improvement`](Self::improvement) as a share of the
    /// baseline's magnitude (infinite for a baseline of 0 and a change).
    pub fn relative_improvement(&self) -> f64 {
        let imp = self.improvement();
        if imp == 0.0 {
            0.0
        } else {
            imp / self.baseline().objective.abs()
        }
    }

    /// Returns `scenario` with the best parameters set.
    pub fn best_scenario(&self, scenario: &Scenario) -> Result<Scenario> {
        with_values(scenario, &self.params, &self.best().values)
    }

    /// Returns the parameters of the best candidate that sit on a bound of
    /// their range, in the order of the ranges: there the search could go
    /// no further, so the optimum may lie outside the range.
    pub fn best_on_bounds(&self) -> Vec<OnBound> {
        self.params
            .iter()
            .zip(&self.best().values)
            .filter_map(|(p, &v)| {
                let bound = if v == p.lo {
                    Bound::Lower
                } else if v == p.hi {
                    Bound::Upper
                } else {
                    return None;
                };
                Some(OnBound {
                    path: p.path.clone(),
                    bound,
                    value: v,
                })
            })
            .collect()
    }

    /// Renders `optimize.json`: the objective, `maximize`, `method`,
    /// `budget`, `evaluations` (how many were made), `stop` (`reason`, one
    /// of the [`StopReason`] names, and `message`), `baseline` and `best`
    /// (`evaluation`, `objective` and `values` by path; `best` also
    /// `on_bounds`: `path`, `bound` (`lower` or `upper`) and `value` of each
    /// parameter on a bound of its range), `improvement` and
    /// `relative_improvement` (null when not finite).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        use serde_json::{json, Map, Value};
        let number = |x: f64| {
            if x.is_finite() {
                json!(x)
            } else {
                Value::Null
            }
        };
        let candidate = |i: usize| {
            let e = &self.evaluations[i];
            let values: Map<String, Value> = self
                .params
                .iter()
                .zip(&e.values)
                .map(|(p, &v)| (p.path.clone(), number(v)))
                .collect();
            json!({"evaluation": i, "objective": number(e.objective), "values": values})
        };
        let mut best = candidate(self.best);
        let on_bounds: Vec<Value> = self
            .best_on_bounds()
            .into_iter()
            .map(|b| json!({"path": b.path, "bound": b.bound.name(), "value": number(b.value)}))
            .collect();
        best["on_bounds"] = Value::Array(on_bounds);
        let doc = json!({
            "objective": self.objective,
            "maximize": self.maximize,
            "method": self.method.name(),
            "budget": self.budget,
            "evaluations": self.evaluations.len(),
            "stop": {"reason": self.stop.name(), "message": self.stop.to_string()},
            "baseline": candidate(0),
            "best": best,
            "improvement": number(self.improvement()),
            "relative_improvement": number(self.relative_improvement()),
        });
        let mut bytes =
            serde_json::to_vec_pretty(&doc).map_err(|e| Error::writing("optimize.json", e))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Renders `optimize.csv`: `evaluation`, each parameter by its path,
    /// `objective`; one row per evaluation (0 is the baseline), numbers as
    /// the shortest text that reads back as the same f64.
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| Error::writing("optimize.csv", e);
        let mut header = vec!["evaluation".to_string()];
        header.extend(self.params.iter().map(|p| p.path.clone()));
        header.push("objective".to_string());
        w.write_record(&header).map_err(csv_err)?;
        let mut buf = ryu::Buffer::new();
        let mut num = |x: f64| {
            if x.is_finite() {
                buf.format_finite(x).to_string()
            } else {
                String::new()
            }
        };
        for (i, e) in self.evaluations.iter().enumerate() {
            let mut row = vec![i.to_string()];
            row.extend(e.values.iter().map(|&v| num(v)));
            row.push(num(e.objective));
            w.write_record(&row).map_err(csv_err)?;
        }
        w.into_inner()
            .map_err(|e| Error::writing("optimize.csv", e.into_error()))
    }
}

/// Searches `params` for the values that minimise (or, with `maximize`,
/// maximise) the mean of the summary metric `objective` (e.g.
/// `assets.TOKEN.log_return_volatility`) over the scenario's runs, with at
/// most `budget` evaluations in all, the baseline (the scenario's own values)
/// first. `progress` is called with the number of evaluations done after
/// each one.
///
/// Before anything runs, an unknown path or metric, an empty range, a range
/// that makes the scenario invalid at one of its corners or inside, and a
/// budget too small for the method are errors naming what is wrong. The
/// result depends only on the arguments: the same inputs give the same
/// evaluations, at any number of threads.
pub fn optimize(
    scenario: &Scenario,
    params: &[ParamRange],
    objective: &str,
    maximize: bool,
    method: Method,
    budget: usize,
    progress: &dyn Fn(usize),
) -> Result<Optimization> {
    let baseline = check(scenario, params, objective, method, budget)?;
    let eval = Evaluator {
        scenario,
        params,
        objective,
        maximize,
        budget,
        progress,
        log: Mutex::new(Log::default()),
    };
    // The baseline may lie outside the ranges: it is measured, not a candidate.
    match eval.evaluate(&baseline) {
        Outcome::Cost(_) => {}
        Outcome::Stop => return Err(eval.into_failure()),
    }
    let dims = params.len();
    let start: Vec<f64> = params
        .iter()
        .zip(&baseline)
        .map(|(p, &x)| p.unit(x))
        .collect();
    let stop = match method {
        Method::Grid => {
            // The grid fits in the budget with the baseline: only a failed
            // run stops it early, and that is returned below.
            let points = grid(dims, budget - 1);
            for point in &points {
                if let Outcome::Stop = eval.evaluate_unit(point) {
                    break;
                }
            }
            let side = grid_side(dims, budget - 1);
            StopReason::GridComplete {
                side,
                points: points.len(),
                finer_budget: (side + 1)
                    .checked_pow(dims as u32)
                    .map_or(usize::MAX, |n| n.saturating_add(1)),
            }
        }
        Method::NelderMead => {
            // Edges of a quarter of each range, pointing inwards.
            let mut simplex = vec![start.clone()];
            for i in 0..dims {
                let mut v = start.clone();
                v[i] = if v[i] + 0.25 <= 1.0 {
                    v[i] + 0.25
                } else {
                    v[i] - 0.25
                };
                simplex.push(v);
            }
            let solver = NelderMead::new(simplex)
                .with_sd_tolerance(0.0)
                .map_err(argmin_failure)?;
            let problem = Unit {
                eval: &eval,
                // argmin's Nelder-Mead unwraps the costs of its first simplex.
                infallible: dims + 1,
                calls: AtomicUsize::new(0),
            };
            let run = Executor::new(problem, solver)
                .configure(|s| s.max_iters(iteration_cap(budget)))
                .run();
            eval.finish(run.map(|r| {
                let state = r.state();
                (state.get_termination_reason().cloned(), state.get_iter())
            }))?
        }
        Method::ParticleSwarm => {
            let particles = swarm_size(budget);
            let rng = argmin_rng::Xoshiro256PlusPlus::seed_from_u64(crate::rng::mix64(
                scenario.simulation.seed ^ SWARM_STREAM,
            ));
            let solver = ParticleSwarm::new((vec![0.0; dims], vec![1.0; dims]), particles)
                .with_rng_generator(rng);
            let problem = Unit {
                eval: &eval,
                infallible: 0,
                calls: AtomicUsize::new(0),
            };
            let run = Executor::new(problem, solver)
                .configure(|s| s.max_iters(iteration_cap(budget)))
                .run();
            eval.finish(run.map(|r| {
                let state = r.state();
                (state.get_termination_reason().cloned(), state.get_iter())
            }))?
        }
    };
    let log = eval.log.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = log.failure {
        return Err(e);
    }
    let cost = |e: &Evaluation| to_cost(e.objective, maximize);
    let mut best = None::<usize>;
    for (i, e) in log.evaluations.iter().enumerate() {
        let inside = params.iter().zip(&e.values).all(|(p, &x)| p.contains(x));
        if inside && best.is_none_or(|b| cost(e) < cost(&log.evaluations[b])) {
            best = Some(i);
        }
    }
    Ok(Optimization {
        params: params.to_vec(),
        objective: objective.to_string(),
        maximize,
        method,
        best: best.unwrap_or(0),
        evaluations: log.evaluations,
        budget,
        stop,
    })
}

/// Mixed into the scenario seed for the particle swarm's generator, so that
/// it never coincides with a simulation stream.
const SWARM_STREAM: u64 = 0x6f70_7469_6d69_7a65; // "optimize"

/// Iterations argmin may take: far more than the budget allows evaluations,
/// so that the budget is what ends a search (repeated candidates are free).
fn iteration_cap(budget: usize) -> u64 {
    (budget as u64).saturating_mul(20).saturating_add(100)
}

/// Particles for a budget: enough generations (at least 4) to move.
fn swarm_size(budget: usize) -> usize {
    ((budget - 1) / 4).clamp(2, 20)
}

/// Points per parameter of a grid of at most `points` points in `dims`
/// dimensions.
fn grid_side(dims: usize, points: usize) -> usize {
    let mut k = 2usize;
    while (k + 1)
        .checked_pow(dims as u32)
        .is_some_and(|n| n <= points)
    {
        k += 1;
    }
    k
}

/// The unit-box grid, row-major.
fn grid(dims: usize, points: usize) -> Vec<Vec<f64>> {
    let k = grid_side(dims, points);
    let total = k.pow(dims as u32);
    (0..total)
        .map(|mut n| {
            let mut p = vec![0.0; dims];
            for d in (0..dims).rev() {
                p[d] = (n % k) as f64 / (k - 1) as f64;
                n /= k;
            }
            p
        })
        .collect()
}

/// Checks everything that can be checked before running; returns the
/// scenario's own values of the parameters.
fn check(
    scenario: &Scenario,
    params: &[ParamRange],
    objective: &str,
    method: Method,
    budget: usize,
) -> Result<Vec<f64>> {
    let dims = params.len();
    if dims == 0 {
        return Err(Error::usage("give at least one parameter to vary"));
    }
    if dims > MAX_PARAMS {
        return Err(Error::usage(format!(
            "at most {MAX_PARAMS} parameters can be varied at once, found {dims}"
        )));
    }
    for (i, p) in params.iter().enumerate() {
        if params[..i].iter().any(|q| q.path == p.path) {
            return Err(Error::argument(
                Argument::Range,
                format!("{}: varied twice", p.path),
            ));
        }
        if !(p.lo.is_finite() && p.hi.is_finite() && p.lo < p.hi) {
            return Err(Error::argument(
                Argument::Range,
                format!(
                    "{}: the range must be finite with lo < hi, found {}..{}",
                    p.path, p.lo, p.hi
                ),
            ));
        }
    }
    let baseline = params
        .iter()
        .map(|p| scenario.param(&p.path))
        .collect::<Result<Vec<f64>>>()?;
    let needed = match method {
        // The baseline and a grid of 2 per parameter.
        Method::Grid => (1usize << dims) + 1,
        // The baseline and a simplex that may not include it.
        Method::NelderMead => dims + 2,
        // The baseline and two generations of two particles.
        Method::ParticleSwarm => 5,
    };
    if budget < needed {
        return Err(Error::usage(format!(
            "a budget of {budget} evaluations is too small for {method} over {dims} parameter{}; it needs at least {needed}",
            if dims == 1 { "" } else { "s" }
        )));
    }
    // Every corner of the box, and one point inside, must give a valid scenario.
    let mut probes: Vec<Vec<f64>> = (0..1usize << dims)
        .map(|c| {
            params
                .iter()
                .enumerate()
                .map(|(i, p)| if c >> i & 1 == 1 { p.hi } else { p.lo })
                .collect()
        })
        .collect();
    probes.push(params.iter().map(|p| p.at(1.0 / 3.0)).collect());
    for values in &probes {
        with_values(scenario, params, values).map_err(|e| {
            let at: Vec<String> = params
                .iter()
                .zip(values)
                .map(|(p, v)| format!("{}={v}", p.path))
                .collect();
            Error::usage(format!(
                "the ranges include an invalid scenario, at {}: {e}",
                at.join(", ")
            ))
        })?;
    }
    // The metric: a one-step probe run shows which summary paths exist.
    let mut probe = scenario.clone();
    probe.set_steps(1)?;
    probe.set_runs(1)?;
    let out = Simulation::new(&probe, 0)?.run()?;
    let known: Vec<String> = metrics(&out.summary).into_iter().map(|(p, _)| p).collect();
    if !known.iter().any(|p| p == objective) {
        return Err(Error::usage(format!(
            "unknown objective metric {objective:?}; expected a summary path, one of: {}",
            known.join(", ")
        )));
    }
    Ok(baseline)
}

fn with_values(scenario: &Scenario, params: &[ParamRange], values: &[f64]) -> Result<Scenario> {
    let mut s = scenario.clone();
    for (p, &v) in params.iter().zip(values) {
        s = s.with_param(&p.path, v)?;
    }
    Ok(s)
}

/// The cost argmin minimises: the objective, negated when maximising;
/// a missing (non-finite) objective is the worst.
fn to_cost(objective: f64, maximize: bool) -> f64 {
    let c = if maximize { -objective } else { objective };
    if c.is_nan() {
        f64::INFINITY
    } else {
        c
    }
}

fn argmin_failure(e: argmin::core::Error) -> Error {
    Error::usage(format!("the optimiser failed: {e}"))
}

/// What an evaluation gave: a cost, or the signal to stop (the budget is
/// spent or a run failed).
enum Outcome {
    Cost(f64),
    Stop,
}

#[derive(Default)]
struct Log {
    evaluations: Vec<Evaluation>,
    /// Costs of the candidates seen, by the bits of their values.
    seen: HashMap<Vec<u64>, f64>,
    failure: Option<Error>,
    stopped: bool,
    /// Candidates proposed so far, new or not.
    proposals: u64,
    /// `proposals` when the last new candidate was proposed.
    last_new: u64,
}

/// Runs candidates and keeps the log; shared by the searches.
struct Evaluator<'a> {
    scenario: &'a Scenario,
    params: &'a [ParamRange],
    objective: &'a str,
    maximize: bool,
    budget: usize,
    progress: &'a dyn Fn(usize),
    log: Mutex<Log>,
}

impl Evaluator<'_> {
    fn evaluate_unit(&self, u: &[f64]) -> Outcome {
        let values: Vec<f64> = self.params.iter().zip(u).map(|(p, &x)| p.at(x)).collect();
        self.evaluate(&values)
    }

    fn evaluate(&self, values: &[f64]) -> Outcome {
        let key: Vec<u64> = values.iter().map(|v| v.to_bits()).collect();
        {
            let mut log = self.lock();
            log.proposals += 1;
            if let Some(&cost) = log.seen.get(&key) {
                return Outcome::Cost(cost);
            }
            if log.stopped || log.evaluations.len() >= self.budget {
                log.stopped = true;
                return Outcome::Stop;
            }
        }
        match self.run(values) {
            Ok(objective) => {
                let cost = to_cost(objective, self.maximize);
                let done = {
                    let mut log = self.lock();
                    log.last_new = log.proposals;
                    log.seen.insert(key, cost);
                    log.evaluations.push(Evaluation {
                        values: values.to_vec(),
                        objective,
                    });
                    log.evaluations.len()
                };
                (self.progress)(done);
                Outcome::Cost(cost)
            }
            Err(e) => {
                let mut log = self.lock();
                log.failure.get_or_insert(e);
                log.stopped = true;
                Outcome::Stop
            }
        }
    }

    fn run(&self, values: &[f64]) -> Result<f64> {
        let s = with_values(self.scenario, self.params, values)?;
        let outputs = monte_carlo(&s, &|_| {})?;
        let ensemble = aggregate(&outputs)?;
        ensemble
            .means
            .iter()
            .find(|(p, _)| p == self.objective)
            .map(|(_, v)| *v)
            .ok_or_else(|| Error::usage(format!("no metric {:?} in the summary", self.objective)))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends an argmin search with why it stopped (argmin's termination
    /// reason and iterations, or an error): stopping on purpose (the budget
    /// spent) is not an error; a failed run is returned by the caller.
    fn finish(
        &self,
        run: std::result::Result<(Option<TerminationReason>, u64), argmin::core::Error>,
    ) -> Result<StopReason> {
        let log = self.lock();
        match run {
            Err(_) if log.stopped => Ok(StopReason::BudgetSpent),
            Err(e) => Err(argmin_failure(e)),
            // A solver that unwraps its first costs gets an infinite cost
            // instead of the stop, so it may end normally with none left.
            Ok(_) if log.stopped => Ok(StopReason::BudgetSpent),
            Ok((Some(TerminationReason::MaxItersReached), iterations)) => Ok(StopReason::Stalled {
                iterations,
                repeats: log.proposals - log.last_new,
            }),
            Ok((Some(TerminationReason::SolverConverged), _)) => Ok(StopReason::Converged),
            Ok((reason, _)) => Ok(StopReason::Solver(
                reason.map_or_else(|| "no reason given".to_string(), |r| r.text().to_string()),
            )),
        }
    }

    fn into_failure(self) -> Error {
        let log = self.log.into_inner().unwrap_or_else(|e| e.into_inner());
        log.failure
            .unwrap_or_else(|| Error::usage("the budget allows no evaluation"))
    }
}

/// The problem argmin sees: the unit box.
struct Unit<'e, 'a> {
    eval: &'e Evaluator<'a>,
    /// How many first calls must not fail (a solver that unwraps them gets
    /// an infinite cost instead; the stop is then seen at the next call).
    infallible: usize,
    calls: AtomicUsize,
}

/// Signals argmin to stop: the budget is spent or a run failed (the reason
/// is in the evaluator's log).
#[derive(Debug)]
struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("optimisation stopped")
    }
}

impl std::error::Error for Stopped {}

impl CostFunction for Unit<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, u: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        match self.eval.evaluate_unit(u) {
            Outcome::Cost(c) => Ok(c),
            Outcome::Stop if call < self.infallible => Ok(f64::INFINITY),
            Outcome::Stop => Err(Stopped.into()),
        }
    }
}
