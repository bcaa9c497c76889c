//! Population games inside a simulation: an asset of `kind = "game"`
//! ([`GameMarket`], a [`Mechanism`]) whose players are the agents of the
//! groups with a `player` policy ([`PlayerPolicy`]).
//!
//! Every agent of a player group carries a strategy of the game. A step of
//! the game, in the engine's phases:
//!
//! 1. **decide and execute** — each player of an active group plays
//!    ([`Action::Play`]); the mechanism collects the step's players.
//! 2. **clear** — the players are shuffled (a seeded stream of the game and
//!    step) and matched in consecutive groups of `group_size` (pairs by
//!    default; the `n mod group_size` left over sit the step out). A
//!    player's payoff is the game's payoff against each other member of
//!    its group, averaged: `A[s_i][s_j]` in a pair. Payoffs are paid in
//!    money through the ledger, `payoff_unit` money units per payoff
//!    point, rounded to the nearest base unit, to and from the game's
//!    **pool** (the asset's reserve, funded by the scenario's `pool` at
//!    step 0):
//!    - negative payoffs are collected first, into the pool; a player who
//!      cannot pay all of it pays its whole balance (counted as clipped);
//!    - positive payoffs are then paid from the pool; when the pool holds
//!      less than the step's total, every payoff is cut in the same
//!      proportion, `⌊owed · pool / total⌋` base units (the pool never goes
//!      negative, and the step is counted in `pool_short_steps`). A dry
//!      pool pays nothing.
//!
//!    Money is conserved to the base unit: the pool's balance is part of
//!    the money identity the engine checks after every step.
//! 3. **revise** — each matched player revises its strategy with
//!    probability `rate` (its group's revision rate), by its group's
//!    protocol, on the step's *game* payoffs (the payoffs of the matrix,
//!    whatever money moved):
//!    - `imitation` — pairwise proportional imitation (Schlag 1998): it
//!      looks at another matched player of its group drawn at random and,
//!      if that one earned more, switches to its strategy with probability
//!      `(π_other − π_own) / Δ`, Δ the range of the payoffs (max − min of
//!      the matrix). Its mean dynamics is the replicator equation: with
//!      shares `x` and `F = Ax`, `E[x'_s − x_s] = (rate/Δ)·x_s(F_s − x·F)`,
//!      an Euler step of `ẋ = x(Ax − xᵀAx)` of length `rate/Δ`.
//!    - `best_response` — a best response to the step's population state
//!      (the shares `x` of the matched players, payoffs `Ax`); it keeps its
//!      strategy when that is one, else takes the lowest-index best
//!      response.
//!    - `logit` — a strategy drawn from the logit choice
//!      `∝ exp((Ax)_s / η)` ([`super::dynamics::logit`]).
//!
//!    Revisions are simultaneous: every player revises against the
//!    strategies and payoffs the step was played with.
//!
//! The shares of the strategies among all the game's players (every agent
//! of its player groups, playing or not) after the step are recorded in
//! `assets.csv`, one column `share_<strategy>` each. The game's `price` is
//! the step's mean payoff per matched player in money units (the payoffs
//! owed, before a short pool or a short balance cuts them); at step 0, and
//! in a step without a match, the expected payoff `xᵀAx` of the shares
//! (`price_source` is `game`). Nobody holds a game: its supply is 0.
//!
//! Draws: the step's shuffle and every revision draw come, in that order,
//! from one xoshiro256++ stream keyed by (seed, run, step, the game's
//! stream, asset), so a run is the same at any number of threads.

use super::best_response::SUM_TOLERANCE;
use super::dynamics::logit;
use super::game::NormalFormGame;
use crate::agents::{Action, AgentRng, AgentView, Observation, Policy};
use crate::ledger::trades::TradeKind;
use crate::ledger::{AgentId, SCALE};
use crate::market::mechanism::{Fault, MarketStep, Mechanism, PriceSource, Quotes};
use crate::rng::{engine_rng, EngineRng, Stream};
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// The parameters of a population game asset (`kind = "game"`).
#[derive(Debug, Clone, PartialEq)]
pub struct GameSpec {
    /// The game: symmetric (the column player's payoffs are the transpose
    /// of the row player's), played by one population against itself.
    pub game: NormalFormGame,
    /// Players per match (2: pairs).
    pub group_size: u32,
    /// Money units paid per payoff point.
    pub payoff_unit: f64,
    /// Money in the pool at step 0, money units (paid in from outside).
    pub pool: f64,
    /// The game file the matrix was read from, as written in the scenario
    /// (`None` for an inline `payoffs` matrix).
    pub file: Option<String>,
}

impl GameSpec {
    /// The strategies' labels.
    pub fn strategies(&self) -> &[String] {
        self.game.row_labels()
    }
}

/// How a player revises its strategy (`revision` of a `player` policy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Revision {
    /// `imitation`: pairwise proportional imitation (mean dynamics: the
    /// replicator equation).
    Imitation,
    /// `best_response`: a best response to the population state.
    BestResponse,
    /// `logit`: a logit choice with noise `eta`.
    Logit {
        /// The noise η > 0, payoff units.
        eta: f64,
    },
}

impl Revision {
    /// The protocol's name, as a scenario writes it.
    pub fn name(self) -> &'static str {
        match self {
            Revision::Imitation => "imitation",
            Revision::BestResponse => "best_response",
            Revision::Logit { .. } => "logit",
        }
    }
}

/// The policy of a population game's players (`kind = "player"`): every
/// step, play the game `asset` with the strategy the agent carries. The
/// strategy itself lives in the game's mechanism, which revises it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerPolicy {
    /// The game asset played.
    pub asset: usize,
    /// The initial shares of the strategies in the group, as written
    /// (`shares = { hawk = 0.2, dove = 0.8 }`): label, share.
    pub shares: Vec<(String, f64)>,
    /// The revision protocol.
    pub revision: Revision,
    /// The probability that a player revises after a step it played.
    pub rate: f64,
}

impl PlayerPolicy {
    /// The initial shares by strategy index of `game`'s labels (strategies
    /// not named get 0); `None` if a label is not one of them.
    pub fn shares_of(&self, labels: &[String]) -> Option<Vec<f64>> {
        let mut out = vec![0.0; labels.len()];
        for (label, share) in &self.shares {
            let i = labels.iter().position(|l| l == label)?;
            out[i] += share;
        }
        Some(out)
    }
}

impl Policy for PlayerPolicy {
    #[inline]
    fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
        Action::Play {
            asset: self.asset as u32,
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

/// A group of agents enrolled in the game.
#[derive(Debug, Clone, Copy)]
struct Cohort {
    start: AgentId,
    end: AgentId,
    /// Index of its first agent in [`GameMarket::strategy`].
    offset: usize,
    revision: Revision,
    rate: f64,
}

/// Running totals of a game over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct GameTotals {
    /// Matches played.
    pub matches: u64,
    /// Money paid out of the pool to players, base units.
    pub paid_out: u128,
    /// Money paid into the pool by players (negative payoffs), base units.
    pub paid_in: u128,
    /// Positive payoffs owed but not paid (a short pool), base units.
    pub unpaid: u128,
    /// Negative payoffs owed but not collected (players who could not pay
    /// them in full), base units.
    pub uncollected: u128,
    /// Steps at which the pool could not pay every payoff in full.
    pub pool_short_steps: u64,
    /// Strategy revisions that changed a strategy.
    pub switches: u64,
    /// Σ over matched players and steps of their game payoff (points).
    pub payoff_sum: f64,
    /// Matched player-steps.
    pub player_steps: u64,
}

/// A population game: the mechanism of an asset of `kind = "game"` (see the
/// [module documentation](self)).
#[derive(Debug)]
pub struct GameMarket {
    spec: GameSpec,
    /// The row player's payoffs, row by row.
    a: Vec<f64>,
    k: usize,
    /// max − min of the payoffs (the imitation protocol's scale).
    range: f64,
    /// Base units of money per payoff point.
    unit: f64,
    seed: u64,
    run: u64,
    cohorts: Vec<Cohort>,
    /// Each enrolled agent's strategy, cohort by cohort.
    strategy: Vec<u16>,
    /// How many enrolled agents hold each strategy.
    counts: Vec<u64>,
    /// The step's players, in the order they played.
    players: Vec<AgentId>,
    /// The recorded price: the step's mean payoff per player, money units.
    price: f64,
    totals: GameTotals,
}

/// What a game saves between steps.
#[derive(Serialize, Deserialize)]
struct GameState {
    strategy: Vec<u16>,
    price: f64,
    totals: GameTotals,
}

impl GameMarket {
    /// The game of `spec`, with no players yet.
    pub fn new(spec: &GameSpec) -> Self {
        let a = spec.game.row_payoffs();
        let data = a.data().to_vec();
        let max = data.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let min = data.iter().copied().fold(f64::INFINITY, f64::min);
        GameMarket {
            k: a.rows(),
            a: data,
            range: max - min,
            unit: spec.payoff_unit * SCALE as f64,
            spec: spec.clone(),
            seed: 0,
            run: 0,
            cohorts: Vec::new(),
            strategy: Vec::new(),
            counts: vec![0; a.rows()],
            players: Vec::new(),
            price: 0.0,
            totals: GameTotals::default(),
        }
    }

    /// The game's parameters.
    pub fn spec(&self) -> &GameSpec {
        &self.spec
    }

    /// Enrolls the agents `start..end` (group `group`) with their policy:
    /// their initial strategies are the policy's shares apportioned over
    /// the group by largest remainder (exactly `round`ed counts that sum
    /// to the group's size), assigned to its agents in a seeded random
    /// order. Called once per player group when the simulation is set up.
    pub(crate) fn enroll(
        &mut self,
        start: AgentId,
        end: AgentId,
        policy: &PlayerPolicy,
        seed: u64,
        run: u64,
        group: usize,
    ) {
        self.seed = seed;
        self.run = run;
        let n = (end - start) as usize;
        let shares = policy
            .shares_of(self.spec.strategies())
            .unwrap_or_else(|| vec![1.0 / self.k as f64; self.k]);
        let counts = crate::engine::apportion(n as u64, &shares);
        let mut strategies: Vec<u16> = Vec::with_capacity(n);
        for (s, &c) in counts.iter().enumerate() {
            strategies.extend(std::iter::repeat_n(s as u16, c as usize));
            self.counts[s] += c;
        }
        let mut rng = engine_rng(seed, run, 0, Stream::Game, group as u64);
        shuffle(&mut strategies, &mut rng);
        self.cohorts.push(Cohort {
            start,
            end,
            offset: self.strategy.len(),
            revision: policy.revision,
            rate: policy.rate,
        });
        self.strategy.extend(strategies);
        self.price = self.expected_payoff() * self.spec.payoff_unit;
    }

    /// The expected payoff `xᵀAx` of a player against the shares `x` now
    /// (0 without players).
    fn expected_payoff(&self) -> f64 {
        let x = self.shares();
        if x.iter().any(|s| s.is_nan()) {
            return 0.0;
        }
        (0..self.k)
            .map(|s| x[s] * (0..self.k).map(|t| self.payoff(s, t) * x[t]).sum::<f64>())
            .sum()
    }

    /// The shares of the strategies among the game's players now.
    pub fn shares(&self) -> Vec<f64> {
        let total: u64 = self.counts.iter().sum();
        self.counts
            .iter()
            .map(|&c| {
                if total == 0 {
                    f64::NAN
                } else {
                    c as f64 / total as f64
                }
            })
            .collect()
    }

    /// The strategy agent `agent` carries, if it is a player of this game.
    pub fn strategy_of(&self, agent: AgentId) -> Option<usize> {
        let c = self.cohort_of(agent)?;
        let cohort = &self.cohorts[c];
        Some(self.strategy[cohort.offset + (agent - cohort.start) as usize] as usize)
    }

    /// The running totals of the run so far.
    pub fn totals(&self) -> &GameTotals {
        &self.totals
    }

    fn cohort_of(&self, agent: AgentId) -> Option<usize> {
        let c = self.cohorts.partition_point(|c| c.end <= agent);
        (c < self.cohorts.len() && self.cohorts[c].start <= agent).then_some(c)
    }

    fn index_of(&self, agent: AgentId) -> Option<(usize, usize)> {
        let c = self.cohort_of(agent)?;
        let cohort = &self.cohorts[c];
        Some((c, cohort.offset + (agent - cohort.start) as usize))
    }

    #[inline]
    fn payoff(&self, i: usize, j: usize) -> f64 {
        self.a[i * self.k + j]
    }

    /// Each matched player's game payoff: in each consecutive group of
    /// `group_size`, the mean of `A[s_i][s_j]` over the other members.
    fn points(&self, strategies: &[usize]) -> Vec<f64> {
        let n = self.spec.group_size as usize;
        let mut out = Vec::with_capacity(strategies.len());
        for group in strategies.chunks_exact(n) {
            for (i, &si) in group.iter().enumerate() {
                let sum: f64 = group
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, &sj)| self.payoff(si, sj))
                    .sum();
                out.push(sum / (n - 1) as f64);
            }
        }
        out
    }

    /// Pays the step's payoffs: negative ones into the pool, then positive
    /// ones out of it (cut in proportion when the pool is short).
    fn settle(
        &mut self,
        players: &[AgentId],
        points: &[f64],
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let j = m.asset;
        let money: Vec<f64> = points.iter().map(|p| (p * self.unit).round()).collect();
        if let Some(x) = money.iter().find(|x| x.abs() >= u64::MAX as f64) {
            return Err(Fault::overflow(
                &format!("a game payoff of {} base units", x),
                "money",
            ));
        }
        for (&agent, &x) in players.iter().zip(&money) {
            if x >= 0.0 {
                continue;
            }
            let owed = (-x) as u64;
            let paid = owed.min(m.ledger.balance(agent));
            if paid < owed {
                m.ledger.count_clipped();
                self.totals.uncollected += u128::from(owed - paid);
            }
            if paid == 0 {
                continue;
            }
            m.ledger
                .pay_into_pool(agent, j, paid)
                .map_err(|e| Fault::ledger("collecting a game payoff", e))?;
            self.totals.paid_in += u128::from(paid);
            m.record(agent, None, TradeKind::Payment, true, 0, paid);
        }
        let owed: Vec<u64> = money
            .iter()
            .map(|&x| if x > 0.0 { x as u64 } else { 0 })
            .collect();
        let total: u128 = owed.iter().map(|&x| u128::from(x)).sum();
        let pool = m.ledger.books(j).reserve;
        let short = total > pool;
        if short {
            self.totals.pool_short_steps += 1;
        }
        for (&agent, &due) in players.iter().zip(&owed) {
            if due == 0 {
                continue;
            }
            let pay = if short {
                // ⌊due · pool / total⌋ ≤ due: the sum over players is at
                // most the pool.
                let cut =
                    ethnum::U256::from(due) * ethnum::U256::from(pool) / ethnum::U256::from(total);
                cut.as_u64()
            } else {
                due
            };
            self.totals.unpaid += u128::from(due - pay);
            if pay == 0 {
                continue;
            }
            m.ledger
                .pay_from_pool(agent, j, pay)
                .map_err(|e| Fault::ledger("paying a game payoff", e))?;
            self.totals.paid_out += u128::from(pay);
            m.record(agent, None, TradeKind::Payment, false, 0, pay);
        }
        Ok(())
    }

    /// The step's revisions (see the module documentation): returns each
    /// matched player's new strategy.
    fn revise(
        &self,
        cohort: &[usize],
        strategies: &[usize],
        points: &[f64],
        rng: &mut EngineRng,
    ) -> Vec<usize> {
        let n = strategies.len();
        let mut shares = vec![0.0; self.k];
        for &s in strategies {
            shares[s] += 1.0 / n as f64;
        }
        let fitness: Vec<f64> = (0..self.k)
            .map(|s| (0..self.k).map(|t| self.payoff(s, t) * shares[t]).sum())
            .collect();
        // The players of each cohort, by position among the matched.
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); self.cohorts.len()];
        let mut rank = vec![0usize; n];
        for (i, &c) in cohort.iter().enumerate() {
            rank[i] = members[c].len();
            members[c].push(i);
        }
        let mut next = strategies.to_vec();
        for i in 0..n {
            let c = &self.cohorts[cohort[i]];
            if rng.random::<f64>() >= c.rate {
                continue;
            }
            let own = strategies[i];
            next[i] = match c.revision {
                Revision::Imitation => {
                    let mine = &members[cohort[i]];
                    if mine.len() < 2 || self.range <= 0.0 {
                        continue;
                    }
                    // Another member, uniformly: skip over oneself.
                    let mut r = rng.random_range(0..mine.len() - 1);
                    if r >= rank[i] {
                        r += 1;
                    }
                    let other = mine[r];
                    let gain = points[other] - points[i];
                    if gain > 0.0 && rng.random::<f64>() < gain / self.range {
                        strategies[other]
                    } else {
                        own
                    }
                }
                Revision::BestResponse => best_response_keeping(&fitness, own),
                Revision::Logit { eta } => {
                    let p = logit(&fitness, eta);
                    let u: f64 = rng.random();
                    let mut acc = 0.0;
                    let mut pick = p.iter().rposition(|&q| q > 0.0).unwrap_or(0);
                    for (s, q) in p.iter().enumerate() {
                        acc += q;
                        if u < acc {
                            pick = s;
                            break;
                        }
                    }
                    pick
                }
            };
        }
        next
    }
}

/// A best response to payoffs `f`: `own` if it is one (within a relative
/// 1e-12 of the best, so that rounding does not make players switch
/// between equally good strategies), else the lowest-index best.
fn best_response_keeping(f: &[f64], own: usize) -> usize {
    let best = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tol = 1e-12 * best.abs().max(1.0);
    if f[own] >= best - tol {
        return own;
    }
    f.iter().position(|&x| x >= best - tol).unwrap_or(own)
}

/// Fisher–Yates with the engine's uniform bounded draws.
fn shuffle<T>(items: &mut [T], rng: &mut EngineRng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.random_range(0..=i));
    }
}

impl Mechanism for GameMarket {
    fn kind(&self) -> &str {
        "game"
    }

    fn begin_step(&mut self, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.players.clear();
        Ok(())
    }

    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        match action {
            Action::Play { .. } if self.cohort_of(agent).is_some() => self.players.push(agent),
            // Not a player of this game, or not a play: nothing to do.
            _ => m.ledger.count_rejected(),
        }
        Ok(())
    }

    fn end_step(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        let mut players = std::mem::take(&mut self.players);
        let size = self.spec.group_size as usize;
        let mut rng = engine_rng(self.seed, self.run, m.step, Stream::Game, m.asset as u64);
        shuffle(&mut players, &mut rng);
        let matched = players.len() - players.len() % size;
        players.truncate(matched);
        if matched == 0 {
            self.price = self.expected_payoff() * self.spec.payoff_unit;
            return Ok(());
        }
        let mut cohort = Vec::with_capacity(matched);
        let mut index = Vec::with_capacity(matched);
        for &agent in &players {
            let (c, i) = self
                .index_of(agent)
                .ok_or_else(|| Fault::bug(format!("agent {agent} played but is no player")))?;
            cohort.push(c);
            index.push(i);
        }
        let strategies: Vec<usize> = index.iter().map(|&i| self.strategy[i] as usize).collect();
        let points = self.points(&strategies);
        self.totals.matches += (matched / size) as u64;
        self.totals.player_steps += matched as u64;
        let step_sum: f64 = points.iter().sum();
        self.totals.payoff_sum += step_sum;
        self.price = step_sum / matched as f64 * self.spec.payoff_unit;
        m.stats.trades += (matched / size) as u64;
        self.settle(&players, &points, m)?;
        let next = self.revise(&cohort, &strategies, &points, &mut rng);
        for ((&i, &old), &new) in index.iter().zip(&strategies).zip(&next) {
            if new != old {
                self.strategy[i] = new as u16;
                self.counts[old] -= 1;
                self.counts[new] += 1;
                self.totals.switches += 1;
            }
        }
        self.players = players;
        self.players.clear();
        Ok(())
    }

    fn price(&self, _supply: u64) -> f64 {
        self.price
    }

    fn quotes(&self) -> Quotes {
        Quotes {
            source: PriceSource::Game,
            ..Quotes::default()
        }
    }

    fn required_reserve(&self, _supply: u64) -> Option<u128> {
        Some(0)
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        crate::market::mechanism::encode_state(&GameState {
            strategy: self.strategy.clone(),
            price: self.price,
            totals: self.totals,
        })
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let s: GameState = crate::market::mechanism::decode_state("game", bytes)?;
        if s.strategy.len() != self.strategy.len()
            || s.strategy.iter().any(|&x| x as usize >= self.k)
        {
            return Err(format!(
                "the saved game has {} players (or strategies beyond the game's {}), the scenario {}",
                s.strategy.len(),
                self.k,
                self.strategy.len()
            ));
        }
        let mut counts = vec![0u64; self.k];
        for &x in &s.strategy {
            counts[x as usize] += 1;
        }
        self.strategy = s.strategy;
        self.counts = counts;
        self.price = s.price;
        self.totals = s.totals;
        Ok(())
    }
}

/// Checks that initial shares are a distribution: each in [0, 1], summing
/// to 1 within [`SUM_TOLERANCE`]; the error says what is wrong.
pub(crate) fn check_shares(shares: &[(String, f64)]) -> Result<(), (Option<usize>, String)> {
    for (i, (label, x)) in shares.iter().enumerate() {
        if !(x.is_finite() && *x >= 0.0) {
            return Err((
                Some(i),
                format!("the share of {label:?} is {x}; shares must be numbers >= 0"),
            ));
        }
    }
    let sum: f64 = shares.iter().map(|(_, x)| x).sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err((
            None,
            format!("shares must sum to 1 (within 1e-9), found {sum}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_response_keeps_a_tied_strategy_and_else_takes_the_lowest() {
        assert_eq!(best_response_keeping(&[1.0, 2.0, 2.0], 2), 2);
        assert_eq!(best_response_keeping(&[1.0, 2.0, 2.0], 0), 1);
        assert_eq!(best_response_keeping(&[3.0, 2.0, 2.0], 1), 0);
    }
}
