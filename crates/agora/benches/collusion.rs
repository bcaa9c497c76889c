//! Algorithmic collusion: Calvano, Calzolari, Denicolò and Pastorello
//! ("Artificial Intelligence, Algorithmic Pricing, and Collusion", *AER*
//! 110(10), 2020), a hand-written reference implementation of their
//! Q-learning sessions, and the same sessions run with the library's
//! learners.
//!
//! ```text
//! cargo bench -p agora --bench collusion
//! AGORA_BENCH_QUICK=1 cargo bench -p agora --bench collusion   # smoke test
//! ```
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it only says how
//! to run it.
//!
//! # The model (the paper's baseline)
//!
//! `n` firms, logit demand with `a_i = 2`, `c_i = 1`, `a0 = 0`, `μ = 0.25`
//! (`agora::market::posted`, which gives `p^N ≈ 1.4729`, `p^M ≈ 1.9250` for
//! two firms). Each firm is a Q-learner over `m = 15` prices equally spaced
//! on `[p^N − ξ(p^M − p^N), p^M + ξ(p^M − p^N)]`, `ξ = 0.1`; its state is
//! the last period's prices of all firms (memory `k = 1`: `m^n` states);
//! `α = 0.15`, `δ = 0.95`; it explores with probability `ε_t = exp(−β t)`,
//! `β = 4 × 10⁻⁶`, independently of the other firms; its table starts at
//! `Q₀(s, a) = Σ_{a₋ᵢ} π_i(a, a₋ᵢ) / ((1 − δ) m^(n−1))`, the discounted
//! payoff against uniformly random rivals. The first state is drawn at
//! random. A session stops when no firm's greedy price in any state has
//! changed for 100,000 consecutive periods (converged) or after 10⁹
//! periods.
//!
//! The outcome of a session is the paper's: from the last state, the firms
//! play greedily (no learning, no exploration) until a state repeats; the
//! profit per firm averaged over the cycle so reached is `π̄`, and
//! `Δ = (π̄ − π^N)/(π^M − π^N)` with `π^N`, `π^M` the profits of the
//! continuous game's Nash and monopoly prices.
//!
//! # What it measures
//!
//! 1. **A hand-written loop**: flat arrays, one thread, one SplitMix64
//!    generator per session (the engine's agent generator), the greedy
//!    action of every state cached and updated with the entry that changed
//!    (so acting and `max_a' Q(s', a')` cost one lookup each), profits read
//!    from a table of all `m^n` price profiles. It is the fair fast baseline
//!    the engine's collusion session is to be compared with.
//! 2. **The library's learners**: the same sessions with
//!    `agents::learners::{QLearner, ActionMemory}` and
//!    `InitialQ::UniformOpponents`, drawing the same numbers from the same
//!    generator in the same order, so every session must end identically
//!    (the bench checks it); the time ratio is the cost of the learners'
//!    checked interface.
//!
//! Printed for two and three firms: sessions converged, mean periods to
//! convergence, mean `Δ` (and its standard deviation over sessions), mean
//! price in the limit, the share of sessions whose limit is a fixed point
//! (a cycle of length 1), and nanoseconds per period of each
//! implementation. `AGORA_BENCH_QUICK=1` runs 2 two-firm and 1 three-firm
//! sessions capped at 200,000 periods, as a smoke test; its numbers mean
//! nothing.
//!
//! 3. **The engine**: `agora::engine::Simulation` on the same market and
//!    firms (the `algorithmic-collusion` example's, one thread, no
//!    convergence stop), timed over a fixed number of periods against the
//!    hand-written loop over as many, best of 3: the price of a general
//!    simulation (ledger settlement, conservation check, records).
//!    `AGORA_BENCH_ENGINE_ONLY=1` runs this comparison alone (for a
//!    profiler: `valgrind --tool=callgrind --toggle-collect='*engine_session*'`).

#[allow(dead_code)]
mod common;

use agora::agents::learners::{ActionMemory, Exploration, InitialQ, QLearner, QParams};
use agora::engine::Simulation;
use agora::market::posted::{collusion_index, price_grid, profile_count, GridSpec, PostedMarket};
use agora::rng::AgentRng;
use agora::scenario::Scenario;
use common::BenchResult;
use rand::{RngExt, SeedableRng};
use std::time::{Duration, Instant};

/// The parameters of a session.
#[derive(Debug, Clone, Copy)]
struct Config {
    firms: usize,
    m: usize,
    xi: f64,
    alpha: f64,
    delta: f64,
    beta: f64,
    /// Periods without a change of any greedy price that mean convergence.
    stable: u64,
    /// Most periods of a session.
    cap: u64,
}

/// What the learners play for: the grid, the profit of every firm at every
/// price profile, and the benchmarks.
struct Economics {
    grid: Vec<f64>,
    /// Firm `i`'s profit at profile `p` at `p · firms + i`.
    profits: Vec<f64>,
    nash_profit: f64,
    monopoly_profit: f64,
}

impl Economics {
    fn new(cfg: &Config) -> BenchResult<Self> {
        let market = PostedMarket::symmetric(cfg.firms, 2.0, 1.0, 0.0, 0.25)?;
        let nash = market.nash()?;
        let monopoly = market.monopoly()?;
        let grid = price_grid(
            &GridSpec::Span {
                m: cfg.m,
                xi: cfg.xi,
            },
            &nash.prices,
            &monopoly.prices,
        )?;
        let profits = market.profit_table(&grid)?;
        Ok(Economics {
            grid,
            profits,
            nash_profit: nash.mean_profit(),
            monopoly_profit: monopoly.mean_profit(),
        })
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    converged: bool,
    periods: u64,
    /// `Δ` of the limit cycle.
    index: f64,
    /// Mean price over the limit cycle and the firms.
    price: f64,
    cycle: usize,
}

/// Plays greedily from `state` until a state repeats and returns the mean
/// profit per firm, the mean price over the cycle and its length.
/// `greedy(i, s)` is firm `i`'s greedy action in state `s`; with memory 1
/// the state after a profile is the profile.
fn limit_cycle(
    cfg: &Config,
    econ: &Economics,
    mut state: usize,
    greedy: impl Fn(usize, usize) -> usize,
) -> (f64, f64, usize) {
    let n = cfg.firms;
    let profiles = econ.profits.len() / n;
    let mut seen = vec![usize::MAX; profiles];
    let mut path = Vec::new();
    while seen[state] == usize::MAX {
        seen[state] = path.len();
        path.push(state);
        let mut next = 0;
        for i in (0..n).rev() {
            next = next * cfg.m + greedy(i, state);
        }
        state = next;
    }
    let cycle = &path[seen[state]..];
    let (mut profit, mut price) = (0.0, 0.0);
    for &s in cycle {
        // The profile played from state s is the next state.
        let mut p = 0;
        for i in (0..n).rev() {
            p = p * cfg.m + greedy(i, s);
        }
        for i in 0..n {
            profit += econ.profits[p * n + i];
            price += econ.grid[greedy(i, s)];
        }
    }
    let k = (cycle.len() * n) as f64;
    (profit / k, price / k, cycle.len())
}

fn outcome(
    econ: &Economics,
    converged: bool,
    periods: u64,
    profit_price_cycle: (f64, f64, usize),
) -> Outcome {
    let (profit, price, cycle) = profit_price_cycle;
    Outcome {
        converged,
        periods,
        index: collusion_index(profit, econ.nash_profit, econ.monopoly_profit),
        price,
        cycle,
    }
}

/// The hand-written session: see the module documentation.
fn hand_session(cfg: &Config, econ: &Economics, seed: u64) -> Outcome {
    let (n, m) = (cfg.firms, cfg.m);
    let states = econ.profits.len() / n; // memory 1: a state is the last profile
    let row = states * m; // entries of one firm's table
                          // Q₀: firm i's payoff of each action averaged over the rivals' profiles,
                          // discounted over an infinite horizon (summed in profile order).
    let scale = 1.0 / ((1.0 - cfg.delta) * (states / m) as f64);
    let mut q = vec![0.0; n * row];
    let mut greedy = vec![0u32; n * states];
    for i in 0..n {
        let mut sums = vec![0.0; m];
        for p in 0..states {
            sums[(p / m.pow(i as u32)) % m] += econ.profits[p * n + i];
        }
        let q0: Vec<f64> = sums.iter().map(|s| s * scale).collect();
        let mut g = 0;
        for a in 1..m {
            if q0[a] > q0[g] {
                g = a;
            }
        }
        for s in 0..states {
            q[i * row + s * m..i * row + (s + 1) * m].copy_from_slice(&q0);
            greedy[i * states + s] = g as u32;
        }
    }
    let mut rng = AgentRng::seed_from_u64(seed);
    let mut state = rng.random_range(0..states);
    let mut actions = vec![0usize; n];
    let (alpha, delta) = (cfg.alpha, cfg.delta);
    let mut stable = 0u64;
    let mut t = 0u64;
    while t < cfg.cap && stable < cfg.stable {
        let eps = (-cfg.beta * t as f64).exp();
        // Firms draw in order 0, 1, …, each its exploration test first.
        for (i, a) in actions.iter_mut().enumerate() {
            *a = if eps > 0.0 && rng.random::<f64>() < eps {
                rng.random_range(0..m)
            } else {
                greedy[i * states + state] as usize
            };
        }
        let mut next = 0;
        for &a in actions.iter().rev() {
            next = next * m + a;
        }
        let mut changed = false;
        for (i, &a) in actions.iter().enumerate() {
            let table = &mut q[i * row..(i + 1) * row];
            let gs = &mut greedy[i * states..(i + 1) * states];
            let reward = econ.profits[next * n + i];
            let best_next = table[next * m + gs[next] as usize];
            let cells = &mut table[state * m..(state + 1) * m];
            let old = cells[a];
            let new = (1.0 - alpha) * old + alpha * (reward + delta * best_next);
            cells[a] = new;
            let g = gs[state] as usize;
            let ng = if a == g {
                if new >= old {
                    g
                } else {
                    let mut b = 0;
                    for c in 1..m {
                        if cells[c] > cells[b] {
                            b = c;
                        }
                    }
                    b
                }
            } else if new > cells[g] || (new == cells[g] && a < g) {
                a
            } else {
                g
            };
            if ng != g {
                gs[state] = ng as u32;
                changed = true;
            }
        }
        stable = if changed { 0 } else { stable + 1 };
        t += 1;
        state = next;
    }
    let cycle = limit_cycle(cfg, econ, state, |i, s| greedy[i * states + s] as usize);
    outcome(econ, stable >= cfg.stable, t, cycle)
}

/// The same session with the library's learners.
fn library_session(cfg: &Config, econ: &Economics, seed: u64) -> BenchResult<Outcome> {
    let (n, m) = (cfg.firms, cfg.m);
    let memory = ActionMemory::new(n, m, 1)?;
    let params = QParams {
        alpha: cfg.alpha,
        delta: cfg.delta,
        exploration: Exploration::Decaying { beta: cfg.beta },
    };
    let mut firms = Vec::with_capacity(n);
    for i in 0..n {
        let row = InitialQ::UniformOpponents.row(m, n, i, cfg.delta, |profile| {
            let p = memory.profile(profile).unwrap_or(0);
            econ.profits[p * n + i]
        })?;
        firms.push(QLearner::new(params, memory.states(), &row)?);
    }
    let mut rng = AgentRng::seed_from_u64(seed);
    let mut state = rng.random_range(0..memory.states());
    let mut actions = vec![0usize; n];
    let mut t = 0;
    // The firms update once per period, so the session has converged when
    // the least stable of them has been stable for `cfg.stable` periods.
    let converged = |firms: &[QLearner]| firms.iter().all(|f| f.converged(cfg.stable));
    while t < cfg.cap && !converged(&firms) {
        for (a, f) in actions.iter_mut().zip(&firms) {
            *a = f.act(state, &mut rng)?;
        }
        let profile = memory.profile(&actions)?;
        let next = memory.push(state, profile)?;
        for (i, (f, &a)) in firms.iter_mut().zip(&actions).enumerate() {
            f.learn(state, a, econ.profits[profile * n + i], next)?;
        }
        t += 1;
        state = next;
    }
    let greedy = |i: usize, s: usize| firms[i].policy()[s] as usize;
    let cycle = limit_cycle(cfg, econ, state, greedy);
    Ok(outcome(econ, converged(&firms), t, cycle))
}

/// The engine's session: the `algorithmic-collusion` example's market and
/// firms as a scenario, run for exactly `periods` steps (no convergence
/// stop, no evaluation phase, one recorded row at the end) on one thread.
/// Returns the time of the step loop (set-up excluded) and the last
/// step's price (the sellers' mean posted price).
fn engine_session(firms: usize, periods: u64, seed: u64) -> BenchResult<(Duration, f64)> {
    let text = format!(
        r#"
[simulation]
steps = {periods}
seed = {seed}
record_every = {periods}

[[assets]]
name = "GOOD"
pricing = {{ kind = "posted_price", demand = {{ shape = "logit", a = 2.0, a0 = 0.0, mu = 0.25 }}, prices = {{ m = 15, xi = 0.1 }} }}

[[agents]]
group = "firms"
count = {firms}
balance = 0.0
cost = 1.0
policy = {{ kind = "q_learning", asset = "GOOD", alpha = 0.15, delta = 0.95, beta = 4e-6, memory = 1, q0 = "uniform_opponents" }}
"#
    );
    let scenario = Scenario::from_toml_str(&text, "collusion bench")?;
    let pool = common::pool(1)?;
    pool.install(|| -> BenchResult<(Duration, f64)> {
        let mut sim = Simulation::new(&scenario, 0)?;
        let t0 = Instant::now();
        while !sim.done() {
            sim.advance()?;
        }
        let elapsed = t0.elapsed();
        Ok((elapsed, sim.price(0)))
    })
}

/// Times the engine's session against the hand-written loop over the same
/// number of periods (the hand loop with its convergence stop out of
/// reach), both on one thread, interleaved `reps` times, best of each, in
/// nanoseconds per period.
fn engine_vs_hand(firms: usize, periods: u64, reps: usize) -> BenchResult<(f64, f64)> {
    let cfg = Config {
        firms,
        m: 15,
        xi: 0.1,
        alpha: 0.15,
        delta: 0.95,
        beta: 4e-6,
        stable: u64::MAX,
        cap: periods,
    };
    let econ = Economics::new(&cfg)?;
    let (mut hand, mut engine) = (Duration::MAX, Duration::MAX);
    for rep in 0..reps {
        let t0 = Instant::now();
        let h = hand_session(&cfg, &econ, rep as u64 + 1);
        hand = hand.min(t0.elapsed());
        if h.periods != periods {
            return Err(format!(
                "the hand-written loop ran {} periods, not {periods}",
                h.periods
            )
            .into());
        }
        let (e, price) = engine_session(firms, periods, rep as u64 + 1)?;
        engine = engine.min(e);
        if !(econ.grid[0] - 1e-9..=econ.grid[cfg.m - 1] + 1e-9).contains(&price) {
            return Err(format!("the engine's last price {price} is off the grid").into());
        }
    }
    let per = |d: Duration| d.as_nanos() as f64 / periods as f64;
    Ok((per(hand), per(engine)))
}

struct Summary {
    sessions: usize,
    converged: usize,
    mean_periods: f64,
    mean_index: f64,
    sd_index: f64,
    mean_price: f64,
    fixed_points: usize,
    hand: Duration,
    library: Duration,
    periods: u64,
}

fn run(cfg: &Config, sessions: u64) -> BenchResult<Summary> {
    let econ = Economics::new(cfg)?;
    let states = profile_count(cfg.m, cfg.firms)?;
    println!(
        "{} firms: grid {:.4} … {:.4} ({} prices), {} states, π^N = {:.4}, π^M = {:.4}",
        cfg.firms,
        econ.grid[0],
        econ.grid[cfg.m - 1],
        cfg.m,
        states,
        econ.nash_profit,
        econ.monopoly_profit
    );
    let mut outcomes = Vec::new();
    let (mut hand, mut library) = (Duration::ZERO, Duration::ZERO);
    for seed in 1..=sessions {
        let t0 = Instant::now();
        let h = hand_session(cfg, &econ, seed);
        hand += t0.elapsed();
        let t1 = Instant::now();
        let l = library_session(cfg, &econ, seed)?;
        library += t1.elapsed();
        if h != l {
            return Err(format!(
                "session {seed}: the hand-written loop gives {h:?}, the library's learners {l:?}"
            )
            .into());
        }
        outcomes.push(h);
    }
    let k = outcomes.len() as f64;
    let mean_index = outcomes.iter().map(|o| o.index).sum::<f64>() / k;
    let var = outcomes
        .iter()
        .map(|o| (o.index - mean_index).powi(2))
        .sum::<f64>()
        / (k - 1.0).max(1.0);
    Ok(Summary {
        sessions: outcomes.len(),
        converged: outcomes.iter().filter(|o| o.converged).count(),
        mean_periods: outcomes.iter().map(|o| o.periods as f64).sum::<f64>() / k,
        mean_index,
        sd_index: var.sqrt(),
        mean_price: outcomes.iter().map(|o| o.price).sum::<f64>() / k,
        fixed_points: outcomes.iter().filter(|o| o.cycle == 1).count(),
        hand,
        library,
        periods: outcomes.iter().map(|o| o.periods).sum(),
    })
}

fn main() -> BenchResult<()> {
    let Some(quick) = common::quick_or_skip("collusion") else {
        return Ok(());
    };
    let baseline = Config {
        firms: 2,
        m: 15,
        xi: 0.1,
        alpha: 0.15,
        delta: 0.95,
        beta: 4e-6,
        stable: 100_000,
        cap: if quick { 200_000 } else { 1_000_000_000 },
    };
    let (two, three) = if quick { (2, 1) } else { (100, 40) };
    let engine_only = std::env::var_os("AGORA_BENCH_ENGINE_ONLY").is_some();
    println!("Calvano et al. (2020) baseline: α = 0.15, δ = 0.95, β = 4e-6, m = 15, ξ = 0.1, k = 1, converged after 100000 stable periods, cap {} periods", baseline.cap);
    println!();
    let mut rows = Vec::new();
    for (firms, sessions) in [(2, two), (3, three)].into_iter().filter(|_| !engine_only) {
        let cfg = Config { firms, ..baseline };
        rows.push((firms, run(&cfg, sessions)?));
    }
    println!();
    println!("| firms | sessions | converged | mean periods | mean Δ | sd Δ | mean price | fixed-point limits | hand ns/period | library ns/period | library/hand |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (firms, s) in &rows {
        let per = |d: Duration| d.as_nanos() as f64 / s.periods as f64;
        println!(
            "| {firms} | {} | {} | {:.0} | {:.3} | {:.3} | {:.4} | {} | {:.1} | {:.1} | {:.2} |",
            s.sessions,
            s.converged,
            s.mean_periods,
            s.mean_index,
            s.sd_index,
            s.mean_price,
            s.fixed_points,
            per(s.hand),
            per(s.library),
            s.library.as_secs_f64() / s.hand.as_secs_f64()
        );
    }
    if !engine_only {
        println!();
        println!("Every session ended identically in both implementations.");
    }
    println!();
    let (periods, reps) = if quick { (20_000, 1) } else { (1_000_000, 3) };
    println!("The engine (agora::engine::Simulation on the same model, one thread) against the hand-written loop, {periods} periods, best of {reps}:");
    println!();
    println!("| firms | hand ns/period | engine ns/period | engine/hand |");
    println!("|---|---|---|---|");
    for firms in [2, 3] {
        let (hand, engine) = engine_vs_hand(firms, periods, reps)?;
        println!(
            "| {firms} | {hand:.1} | {engine:.1} | {:.2} |",
            engine / hand
        );
    }
    Ok(())
}
