//! Empirical game-theoretic analysis (EGTA): the game a scenario's group
//! plays when its agents choose among named policies, estimated by
//! simulation, and the symmetric equilibria of that estimate.
//!
//! The agents of one group of a scenario (`group`) are the `players` of a
//! symmetric game whose strategies are policies ([`Strategies`], tables of
//! a strategies file). A **profile** says how many players follow each
//! strategy: there are `C(N + |S| − 1, |S| − 1)` of them ([`profiles`]).
//! For each profile the group is replaced by one group per strategy played
//! (`GROUP:STRATEGY`, with the group's balance, holdings — an airdrop's
//! total split in proportion to the players — and objective), the rest of
//! the scenario kept as the players' environment, and the scenario is run
//! `samples` times: sample `r` is Monte Carlo run `r` of the scenario's
//! seed, the same runs for every profile (common random numbers). The
//! payoff of a strategy in a run is its players' mean utility (the group's
//! objective at the end, `utility` in `summary.json`). Runs are simulated
//! in parallel; the results do not depend on the number of threads.
//!
//! The **heuristic payoff table** ([`EmpiricalGame`], `egta.csv`) holds,
//! per profile, each strategy's count and its mean payoff over the samples
//! with the standard error of that mean.
//!
//! **Equilibria** ([`EmpiricalGame::equilibria`], `equilibria.json`). A
//! symmetric mixed strategy `x` gives each strategy `s` the payoff
//! `f_s(x) = Σ_c P(c | x) u_s(c + s)`, over the profiles `c` of the other
//! N − 1 players, drawn from `x` (multinomial), with `u_s(c + s)` the
//! table's payoff to `s` when one more player plays it. `x` is an
//! equilibrium when its **regret** `max_s f_s(x) − xᵀf(x)` is 0. The
//! search runs the replicator equation `ẋ_s = x_s(f_s(x) − xᵀf(x))` (RK4,
//! time in units of the table's payoff range) from every pure strategy,
//! the uniform mix and `starts` random mixes (seeded), keeps the rest
//! points whose regret is at most [`REGRET_TOLERANCE`] times the payoff
//! range, and merges those within 1e-3 of each other. Each is reported
//! with its regret and a **bootstrap 95% interval** of each share: whole
//! samples are resampled with replacement `bootstrap` times (seeded; one
//! draw of sample indices for every profile and strategy, as the samples
//! share random streams across profiles), and in each resampled table the replicator
//! runs from the equilibrium nudged 1% towards the uniform mix; the
//! interval is the 2.5% and 97.5% quantiles of where it rests.

use crate::error::{Error, ErrorKind, Result};
use crate::rng::{stream_key, EngineRng, Stream};
use crate::scenario::{describe, Scenario};
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use toml::Table;

/// Rest points with a regret of at most this share of the table's payoff
/// range are equilibria.
pub const REGRET_TOLERANCE: f64 = 1e-4;

/// The default number of bootstrap resamples.
pub const DEFAULT_BOOTSTRAP: u64 = 200;

/// The default number of random starts of the replicator search (besides
/// the pure strategies and the uniform mix).
pub const DEFAULT_STARTS: usize = 20;

/// The named policies of an analysis: the tables of a strategies file,
/// `[strategies.NAME]`, each a group's `policy` table.
///
/// ```toml
/// [strategies.zic]
/// kind = "zi_c"
/// role = "buyer"
/// value = { distribution = "uniform", low = 50.0, high = 150.0 }
///
/// [strategies.truthful]
/// kind = "zi_c"
/// role = "buyer"
/// value = { distribution = "uniform", low = 50.0, high = 150.0 }
/// shade = 0.0
/// ```
///
/// Strategies are taken in the order of their names.
#[derive(Debug, Clone, PartialEq)]
pub struct Strategies {
    origin: String,
    names: Vec<String>,
    tables: Vec<Table>,
}

impl Strategies {
    /// Reads a strategies file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::scenario(&origin, "", format!("cannot read the strategies file: {e}"))
        })?;
        Self::from_toml_str(&text, &origin)
    }

    /// Parses strategies text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let table: Table = text.parse().map_err(|e: toml::de::Error| {
            Error::from(ErrorKind::Syntax {
                origin: origin.to_string(),
                message: e.to_string(),
            })
        })?;
        let bad = |path: &str, message: String| Error::scenario(origin, path, message);
        if let Some(key) = table.keys().find(|k| *k != "strategies") {
            return Err(bad(
                key,
                "unknown field; expected one of: strategies".into(),
            ));
        }
        let entries = match table.get("strategies") {
            Some(toml::Value::Table(t)) => t,
            Some(other) => {
                return Err(bad(
                    "strategies",
                    format!(
                        "expected a table of named policies ([strategies.NAME]), found {}",
                        describe(other)
                    ),
                ))
            }
            None => {
                return Err(bad(
                    "strategies",
                    "missing; expected named policy tables, e.g. [strategies.zic] with kind = \"zi_c\" and its fields".into(),
                ))
            }
        };
        if entries.len() < 2 {
            return Err(bad(
                "strategies",
                format!("expected at least two strategies, found {}", entries.len()),
            ));
        }
        let mut names = Vec::new();
        let mut tables = Vec::new();
        for (name, value) in entries {
            let path = format!("strategies.{name}");
            if name.is_empty() || name.contains(['.', ',', ':', '"', '\n']) || name.trim() != name {
                return Err(bad(
                    &path,
                    format!("expected a name without '.', ',', ':', quotes or surrounding spaces, found {name:?}"),
                ));
            }
            let toml::Value::Table(t) = value else {
                return Err(bad(
                    &path,
                    format!("expected a policy table, found {}", describe(value)),
                ));
            };
            names.push(name.clone());
            tables.push(t.clone());
        }
        Ok(Strategies {
            origin: origin.to_string(),
            names,
            tables,
        })
    }

    /// The strategies' names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// What to analyse: the group that plays, the number of players, the
/// samples per profile, and the equilibrium search's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EgtaSpec {
    /// The group whose agents are the players.
    pub group: String,
    /// Players N (≥ 1; the group's count is replaced).
    pub players: u32,
    /// Runs per profile (≥ 1; 2 or more for standard errors).
    pub samples: u64,
    /// Bootstrap resamples for the equilibria's intervals (0: none).
    pub bootstrap: u64,
    /// Random starts of the replicator search.
    pub starts: usize,
}

impl EgtaSpec {
    /// An analysis of `group` with `players` players and `samples` runs per
    /// profile, with the default search settings.
    pub fn new(group: impl Into<String>, players: u32, samples: u64) -> Self {
        EgtaSpec {
            group: group.into(),
            players,
            samples,
            bootstrap: DEFAULT_BOOTSTRAP,
            starts: DEFAULT_STARTS,
        }
    }
}

/// Every profile of `players` players over `k` strategies (counts summing
/// to `players`), in lexicographic order of the counts, the first strategy
/// counting down: `C(players + k − 1, k − 1)` of them.
pub fn profiles(players: u32, k: usize) -> Vec<Vec<u32>> {
    fn fill(rest: u32, k: usize, prefix: &mut Vec<u32>, out: &mut Vec<Vec<u32>>) {
        if k == 1 {
            prefix.push(rest);
            out.push(prefix.clone());
            prefix.pop();
            return;
        }
        for c in (0..=rest).rev() {
            prefix.push(c);
            fill(rest - c, k - 1, prefix, out);
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    if k > 0 {
        fill(players, k, &mut Vec::with_capacity(k), &mut out);
    }
    out
}

/// The number of profiles, `C(players + k − 1, k − 1)`; `None` past `u64`.
pub fn profile_count(players: u32, k: usize) -> Option<u64> {
    let n = u64::from(players) + k as u64 - 1;
    let r = (k as u64 - 1).min(u64::from(players));
    let mut c: u128 = 1;
    for i in 0..r {
        c = c * u128::from(n - i) / u128::from(i + 1);
        if c > u128::from(u64::MAX) {
            return None;
        }
    }
    Some(c as u64)
}

/// One profile's results.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileResult {
    /// Players per strategy.
    pub counts: Vec<u32>,
    /// Per strategy, its payoff in each sample (empty where it has no
    /// player).
    pub payoffs: Vec<Vec<f64>>,
}

impl ProfileResult {
    /// Strategy `s`'s mean payoff (NaN without players).
    pub fn mean(&self, s: usize) -> f64 {
        mean(&self.payoffs[s])
    }

    /// The standard error of strategy `s`'s mean payoff (NaN with fewer
    /// than two samples).
    pub fn standard_error(&self, s: usize) -> f64 {
        let xs = &self.payoffs[s];
        let n = xs.len() as f64;
        if xs.len() < 2 {
            return f64::NAN;
        }
        let m = mean(xs);
        (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// The scenario of one profile: `spec.group` replaced by one group per
/// strategy played (see the module documentation).
pub fn profile_scenario(
    base: &Scenario,
    group: &str,
    strategies: &Strategies,
    counts: &[u32],
) -> Result<Scenario> {
    let mut table = base.to_table().clone();
    let origin = base.origin();
    let Some(toml::Value::Array(groups)) = table.get_mut("agents") else {
        return Err(Error::usage(format!(
            "{origin}: egta: the scenario has no [[agents]] groups"
        )));
    };
    let at = groups
        .iter()
        .position(|g| g.get("group").and_then(toml::Value::as_str) == Some(group))
        .ok_or_else(|| {
            let names: Vec<&str> = base.groups().iter().map(|g| g.name.as_str()).collect();
            Error::usage(format!(
                "group: the scenario {origin} has no group {group:?}; expected one of: {}",
                names.join(", ")
            ))
        })?;
    let named = |g: &str| base.groups().iter().position(|x| x.name == g);
    let g = named(group).expect("the group was found in the table");
    let names_group = |kind: &crate::scenario::EventKind| {
        use crate::scenario::EventKind;
        matches!(kind,
            EventKind::Join { group } | EventKind::Leave { group, .. } | EventKind::Dump { group, .. }
            if *group == g)
    };
    if base.events().iter().any(|e| names_group(&e.kind)) {
        return Err(Error::usage(format!(
            "group: events of {origin} name the group {group:?}: an analysed group cannot join, leave or dump (remove those events)"
        )));
    }
    let template = groups.remove(at);
    let total = base.groups()[g].count;
    let mut inserted = 0;
    for (s, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let mut entry = template.clone();
        let t = entry.as_table_mut().expect("a group is a table");
        t.insert(
            "group".into(),
            toml::Value::String(format!("{group}:{}", strategies.names[s])),
        );
        t.insert("count".into(), toml::Value::Integer(i64::from(c)));
        t.insert(
            "policy".into(),
            toml::Value::Table(strategies.tables[s].clone()),
        );
        if let Some(toml::Value::Array(drops)) = t.get_mut("holdings") {
            for d in drops.iter_mut().filter_map(toml::Value::as_table_mut) {
                if let Some(x) = d
                    .get("total")
                    .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
                {
                    d.insert(
                        "total".into(),
                        toml::Value::Float(x * f64::from(c) / f64::from(total)),
                    );
                }
            }
        }
        groups.insert(at + inserted, entry);
        inserted += 1;
    }
    let label = format!("{origin} (profile {})", profile_label(strategies, counts));
    Scenario::from_table(table, &label, base.registry())
        .map_err(|e| strategy_error(e, &label, group, strategies).unwrap_or_else(|e| e))
}

/// An error in a strategy's policy, named in the strategies file.
fn strategy_error(
    e: Error,
    label: &str,
    group: &str,
    strategies: &Strategies,
) -> std::result::Result<Error, Error> {
    if let ErrorKind::Scenario {
        origin,
        path,
        message,
    } = e.kind()
    {
        for name in &strategies.names {
            let prefix = format!("agents.{group}:{name}.policy");
            if origin == label && path.starts_with(&prefix) {
                let rest = &path[prefix.len()..];
                return Ok(Error::scenario(
                    &strategies.origin,
                    format!("strategies.{name}{rest}"),
                    message.clone(),
                ));
            }
        }
    }
    Err(e)
}

/// `zic:2 truthful:4`: the strategies played and their counts.
pub fn profile_label(strategies: &Strategies, counts: &[u32]) -> String {
    strategies
        .names
        .iter()
        .zip(counts)
        .filter(|(_, &c)| c > 0)
        .map(|(n, c)| format!("{n}:{c}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The estimated game: the heuristic payoff table.
#[derive(Debug, Clone, PartialEq)]
pub struct EmpiricalGame {
    /// The strategies' names.
    pub strategies: Vec<String>,
    /// Players per profile.
    pub players: u32,
    /// Runs per profile.
    pub samples: u64,
    /// The scenario's seed (the bootstrap draws from it).
    pub seed: u64,
    /// Every profile, in [`profiles`] order.
    pub profiles: Vec<ProfileResult>,
}

/// Simulates every profile `spec.samples` times and returns the heuristic
/// payoff table; `done` is called after each run (for progress). Every
/// profile's scenario is built and checked before any runs.
pub fn simulate(
    base: &Scenario,
    spec: &EgtaSpec,
    strategies: &Strategies,
    done: &(dyn Fn(u64) + Sync),
) -> Result<EmpiricalGame> {
    if spec.players == 0 {
        return Err(Error::usage("players: expected at least 1 player, found 0"));
    }
    if spec.samples == 0 {
        return Err(Error::usage("samples: expected at least 1 sample, found 0"));
    }
    let k = strategies.names.len();
    let count = profile_count(spec.players, k)
        .filter(|&c| c <= 1_000_000)
        .ok_or_else(|| {
            Error::usage(format!(
                "players: {} players and {k} strategies make more than 1,000,000 profiles",
                spec.players
            ))
        })?;
    let all = profiles(spec.players, k);
    debug_assert_eq!(all.len() as u64, count);
    let scenarios: Vec<Scenario> = all
        .iter()
        .map(|c| profile_scenario(base, &spec.group, strategies, c))
        .collect::<Result<_>>()?;
    let jobs: Vec<(usize, u64)> = (0..all.len())
        .flat_map(|p| (0..spec.samples).map(move |r| (p, r)))
        .collect();
    let finished = AtomicU64::new(0);
    let results: Vec<Vec<f64>> = jobs
        .par_iter()
        .map(|&(p, r)| -> Result<Vec<f64>> {
            let out = crate::Simulation::new(&scenarios[p], r)?.run()?;
            let payoffs = (0..k)
                .map(|s| {
                    let name = format!("{}:{}", spec.group, strategies.names[s]);
                    out.summary
                        .groups
                        .get(&name)
                        .map_or(f64::NAN, |g| g.utility)
                })
                .collect();
            done(finished.fetch_add(1, Ordering::Relaxed) + 1);
            Ok(payoffs)
        })
        .collect::<Result<_>>()?;
    let mut profiles_out = Vec::with_capacity(all.len());
    for (p, counts) in all.into_iter().enumerate() {
        let runs = &results[p * spec.samples as usize..(p + 1) * spec.samples as usize];
        let payoffs = (0..k)
            .map(|s| {
                if counts[s] == 0 {
                    Vec::new()
                } else {
                    runs.iter().map(|r| r[s]).collect()
                }
            })
            .collect();
        profiles_out.push(ProfileResult { counts, payoffs });
    }
    Ok(EmpiricalGame {
        strategies: strategies.names.clone(),
        players: spec.players,
        samples: spec.samples,
        seed: base.simulation().seed,
        profiles: profiles_out,
    })
}

/// A symmetric equilibrium of the empirical game.
#[derive(Debug, Clone, PartialEq)]
pub struct SymmetricEquilibrium {
    /// Each strategy's share of the mix.
    pub mix: Vec<f64>,
    /// Its regret `max_s f_s(x) − xᵀf(x)` in the estimated table (payoff
    /// units).
    pub regret: f64,
    /// The expected payoff `xᵀf(x)` of a player.
    pub payoff: f64,
    /// The bootstrap 95% interval of each share: (2.5%, 97.5%) quantiles
    /// (the share itself at both ends without a bootstrap).
    pub interval: Vec<(f64, f64)>,
}

/// A payoff table as the equilibrium search uses it: `u_s(c)` per profile
/// and strategy, and the deviation structure.
struct Table2 {
    k: usize,
    /// Per profile and strategy, the mean payoff (NaN without players).
    u: Vec<Vec<f64>>,
    /// The opponents' profiles (N − 1 players), each with its multinomial
    /// coefficient's logarithm and, per strategy, the index of the full
    /// profile with one more player of it.
    others: Vec<(Vec<u32>, f64, Vec<usize>)>,
    /// The payoff range (max − min over the table), at least tiny.
    range: f64,
}

impl Table2 {
    fn new(game: &EmpiricalGame, u: Vec<Vec<f64>>) -> Self {
        let k = game.strategies.len();
        let index: HashMap<&[u32], usize> = game
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| (p.counts.as_slice(), i))
            .collect();
        let n1 = game.players - 1;
        let ln_fact = |n: u32| (1..=n).map(|i| f64::from(i).ln()).sum::<f64>();
        let others = profiles(n1, k)
            .into_iter()
            .map(|c| {
                let coef = ln_fact(n1) - c.iter().map(|&x| ln_fact(x)).sum::<f64>();
                let full = (0..k)
                    .map(|s| {
                        let mut f = c.clone();
                        f[s] += 1;
                        index[f.as_slice()]
                    })
                    .collect();
                (c, coef, full)
            })
            .collect();
        let finite = u.iter().flatten().copied().filter(|x| x.is_finite());
        let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let range = if hi > lo { hi - lo } else { 1.0 };
        Table2 {
            k,
            u,
            others,
            range,
        }
    }

    /// `f_s(x)` for every strategy.
    fn deviation_payoffs(&self, x: &[f64]) -> Vec<f64> {
        let mut f = vec![0.0; self.k];
        for (c, coef, full) in &self.others {
            let mut lp = *coef;
            let mut zero = false;
            for (s, &n) in c.iter().enumerate() {
                if n > 0 {
                    if x[s] <= 0.0 {
                        zero = true;
                        break;
                    }
                    lp += f64::from(n) * x[s].ln();
                }
            }
            if zero {
                continue;
            }
            let p = lp.exp();
            for (s, fs) in f.iter_mut().enumerate() {
                *fs += p * self.u[full[s]][s];
            }
        }
        f
    }

    /// The regret of `x` and its expected payoff.
    fn regret(&self, x: &[f64]) -> (f64, f64) {
        let f = self.deviation_payoffs(x);
        let avg: f64 = x.iter().zip(&f).map(|(a, b)| a * b).sum();
        let best = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        ((best - avg).max(0.0), avg)
    }

    /// The replicator's velocity, time in units of the payoff range.
    fn velocity(&self, x: &[f64]) -> Vec<f64> {
        let f = self.deviation_payoffs(x);
        let avg: f64 = x.iter().zip(&f).map(|(a, b)| a * b).sum();
        x.iter()
            .zip(&f)
            .map(|(xi, fi)| xi * (fi - avg) / self.range)
            .collect()
    }

    /// Runs the replicator from `x` until it rests (or for a long time).
    fn replicate(&self, x: &[f64]) -> Vec<f64> {
        let mut x = x.to_vec();
        // RK4 is stable here: every rate is below 1 in these time units.
        let h = 0.2;
        for _ in 0..20_000 {
            let k1 = self.velocity(&x);
            let at = |k: &[f64], c: f64| -> Vec<f64> {
                x.iter().zip(k).map(|(a, b)| a + c * h * b).collect()
            };
            let k2 = self.velocity(&at(&k1, 0.5));
            let k3 = self.velocity(&at(&k2, 0.5));
            let k4 = self.velocity(&at(&k3, 1.0));
            let mut moved = 0.0f64;
            for i in 0..self.k {
                let d = h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
                x[i] = (x[i] + d).max(0.0);
                moved = moved.max(d.abs());
            }
            let total: f64 = x.iter().sum();
            for xi in &mut x {
                *xi /= total;
            }
            if moved < 1e-13 {
                break;
            }
        }
        // Shares the flow is draining away are read as gone.
        for xi in &mut x {
            if *xi < 1e-7 {
                *xi = 0.0;
            }
        }
        let total: f64 = x.iter().sum();
        x.iter().map(|xi| xi / total).collect()
    }
}

impl EmpiricalGame {
    fn means(&self) -> Vec<Vec<f64>> {
        self.profiles
            .iter()
            .map(|p| (0..self.strategies.len()).map(|s| p.mean(s)).collect())
            .collect()
    }

    /// The payoff `f_s(x)` of each strategy against N − 1 players drawn
    /// from the mix `x`.
    pub fn deviation_payoffs(&self, x: &[f64]) -> Vec<f64> {
        Table2::new(self, self.means()).deviation_payoffs(x)
    }

    /// The regret of the mix `x`: `max_s f_s(x) − xᵀf(x)`.
    pub fn regret(&self, x: &[f64]) -> f64 {
        Table2::new(self, self.means()).regret(x).0
    }

    /// The symmetric equilibria (see the module documentation), with
    /// their regrets and bootstrap intervals.
    pub fn equilibria(&self, spec: &EgtaSpec) -> Vec<SymmetricEquilibrium> {
        let table = Table2::new(self, self.means());
        let k = self.strategies.len();
        let mut starts: Vec<Vec<f64>> = (0..k)
            .map(|s| (0..k).map(|t| if t == s { 1.0 } else { 0.0 }).collect())
            .collect();
        starts.push(vec![1.0 / k as f64; k]);
        let mut rng = EngineRng::seed_from_u64(stream_key(self.seed, 0, 0, Stream::Egta, 0));
        for _ in 0..spec.starts {
            // Uniform on the simplex: normalised exponentials.
            let e: Vec<f64> = (0..k).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
            let total: f64 = e.iter().sum();
            starts.push(e.iter().map(|x| x / total).collect());
        }
        let rests: Vec<Vec<f64>> = starts.par_iter().map(|x| table.replicate(x)).collect();
        let mut found: Vec<(Vec<f64>, f64, f64)> = Vec::new();
        for x in rests {
            let (regret, payoff) = table.regret(&x);
            if regret > REGRET_TOLERANCE * table.range {
                continue;
            }
            match found.iter_mut().find(|(y, _, _)| distance(y, &x) < 1e-3) {
                Some(same) if regret < same.1 => *same = (x, regret, payoff),
                Some(_) => {}
                None => found.push((x, regret, payoff)),
            }
        }
        found.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        found
            .into_iter()
            .map(|(mix, regret, payoff)| {
                let interval = self.bootstrap(&mix, spec.bootstrap);
                SymmetricEquilibrium {
                    mix,
                    regret,
                    payoff,
                    interval,
                }
            })
            .collect()
    }

    /// The bootstrap 95% interval of each share of the equilibrium `x`.
    fn bootstrap(&self, x: &[f64], resamples: u64) -> Vec<(f64, f64)> {
        let k = x.len();
        if resamples == 0 {
            return x.iter().map(|&v| (v, v)).collect();
        }
        let nudged: Vec<f64> = x.iter().map(|v| 0.99 * v + 0.01 / k as f64).collect();
        // The samples are resampled as wholes: sample `i` of every profile
        // comes from the same run index (common random numbers), and its
        // strategies' payoffs share a run, so their payoffs are correlated
        // within a sample and across profiles (in a contest, one player's
        // win is another's loss). Drawing one set of sample indices per
        // resample keeps those correlations; resampling each profile and
        // strategy on its own would drop them, and its intervals were too
        // narrow (25 of 30 held the closed-form equilibrium; see
        // tests/egta.rs `bootstrap_coverage`).
        let samples = self
            .profiles
            .iter()
            .flat_map(|p| p.payoffs.iter().map(Vec::len))
            .max()
            .unwrap_or(0);
        let ends: Vec<Vec<f64>> = (0..resamples)
            .into_par_iter()
            .map(|b| {
                let mut rng =
                    EngineRng::seed_from_u64(stream_key(self.seed, 0, 1, Stream::Egta, b));
                let draw: Vec<usize> = (0..samples).map(|_| rng.random_range(0..samples)).collect();
                let u: Vec<Vec<f64>> = self
                    .profiles
                    .iter()
                    .map(|p| {
                        p.payoffs
                            .iter()
                            .map(|xs| {
                                if xs.is_empty() {
                                    return f64::NAN;
                                }
                                // (every profile has `samples` samples; a
                                // shorter list wraps the same draw)
                                let n = xs.len();
                                draw.iter().map(|&i| xs[i % n]).sum::<f64>() / samples as f64
                            })
                            .collect()
                    })
                    .collect();
                Table2::new(self, u).replicate(&nudged)
            })
            .collect();
        (0..k)
            .map(|s| {
                let mut v: Vec<f64> = ends.iter().map(|e| e[s]).collect();
                v.sort_by(f64::total_cmp);
                (
                    crate::experiment::quantile(&v, 0.025),
                    crate::experiment::quantile(&v, 0.975),
                )
            })
            .collect()
    }

    /// `egta.csv`: one row per profile — `profile` (its index), then per
    /// strategy `count_<s>`, `payoff_<s>` (the mean over the samples) and
    /// `se_<s>` (its standard error), empty where the strategy has no
    /// player (or, for `se`, with one sample), then `samples`.
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["profile".to_string()];
        for s in &self.strategies {
            header.push(format!("count_{s}"));
            header.push(format!("payoff_{s}"));
            header.push(format!("se_{s}"));
        }
        header.push("samples".into());
        let err = |e: csv::Error| Error::writing("egta.csv", e);
        w.write_record(&header).map_err(err)?;
        let mut buf = ryu::Buffer::new();
        let mut num = |x: f64| {
            if x.is_finite() {
                buf.format(x).to_string()
            } else {
                String::new()
            }
        };
        for (i, p) in self.profiles.iter().enumerate() {
            let mut row = vec![i.to_string()];
            for s in 0..self.strategies.len() {
                row.push(p.counts[s].to_string());
                row.push(num(p.mean(s)));
                row.push(num(p.standard_error(s)));
            }
            row.push(self.samples.to_string());
            w.write_record(&row).map_err(err)?;
        }
        w.into_inner()
            .map_err(|e| Error::writing("egta.csv", e.into_error()))
    }

    /// `equilibria.json`: the game's size and the equilibria, each with its
    /// mix and interval by strategy, its regret and expected payoff.
    pub fn equilibria_json(&self, spec: &EgtaSpec, found: &[SymmetricEquilibrium]) -> Value {
        let by_name = |v: &dyn Fn(usize) -> Value| -> Value {
            Value::Object(
                self.strategies
                    .iter()
                    .enumerate()
                    .map(|(s, n)| (n.clone(), v(s)))
                    .collect(),
            )
        };
        let table = Table2::new(self, self.means());
        json!({
            "group": spec.group,
            "strategies": self.strategies,
            "players": self.players,
            "profiles": self.profiles.len(),
            "samples": self.samples,
            "bootstrap": spec.bootstrap,
            "payoff_range": table.range,
            "regret_tolerance": REGRET_TOLERANCE * table.range,
            "equilibria": found.iter().map(|e| json!({
                "mix": by_name(&|s| json!(e.mix[s])),
                "regret": e.regret,
                "payoff": e.payoff,
                "interval": by_name(&|s| json!([e.interval[s].0, e.interval[s].1])),
            })).collect::<Vec<_>>(),
        })
    }
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_every_multiset_once() {
        for (n, k) in [(1, 1), (3, 2), (4, 3), (6, 3), (5, 4), (0, 3)] {
            let all = profiles(n, k);
            assert_eq!(all.len() as u64, profile_count(n, k).unwrap(), "{n} {k}");
            let mut seen = std::collections::HashSet::new();
            for p in &all {
                assert_eq!(p.len(), k);
                assert_eq!(p.iter().sum::<u32>(), n);
                assert!(seen.insert(p.clone()));
            }
        }
        // C(6 + 3 − 1, 2) = 28
        assert_eq!(profiles(6, 3).len(), 28);
        assert_eq!(profiles(2, 2), [vec![2, 0], vec![1, 1], vec![0, 2]]);
    }
}
