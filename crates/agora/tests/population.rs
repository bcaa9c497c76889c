//! Population games inside a simulation (`kind = "game"` assets, `player`
//! groups) against theory: imitation follows the replicator equation (its
//! mean dynamics) within sampling error at 10,000 agents, the hawk-dove
//! example approaches the evolutionarily stable 7/12, logit revision rests
//! at the logit equilibrium, best responses cycle around the mixed
//! equilibrium; payoffs move money exactly, from and to a pool that may run
//! dry.

use agora::experiment::monte_carlo;
use agora::games::dynamics::replicator_velocity;
use agora::games::{evolve, Dynamics, EvolveSpec, Matrix, NormalFormGame};
use agora::scenario::example;
use agora::{RunOutput, Scenario, Simulation};

/// Dawkins' hawk-dove payoffs, with the hawk-hawk entry `-25` and the
/// hawk-dove prize `prize` (50 in the book).
fn hawk_dove(prize: f64) -> Matrix {
    Matrix::from_rows(&[vec![-25.0, prize], vec![0.0, 15.0]]).unwrap()
}

/// A scenario of one hawk-dove game played by `count` agents with the given
/// policy fields.
fn game_scenario(count: u32, steps: u64, runs: u64, policy: &str) -> Scenario {
    let text = format!(
        r#"
[simulation]
steps = {steps}
seed = 5
runs = {runs}

[[assets]]
name = "G"
kind = "game"
strategies = ["hawk", "dove"]
payoffs = [[-25.0, 50.0], [0.0, 15.0]]
payoff_unit = 0.01
pool = 10000000.0

[[agents]]
group = "p"
count = {count}
balance = 1000.0
policy = {{ kind = "player", asset = "G", {policy} }}
"#
    );
    Scenario::from_toml_str(&text, "<population test>").unwrap()
}

/// The hawk share after each step 0..=T of asset `j` of one run.
fn hawk_shares(out: &RunOutput, j: u32) -> Vec<f64> {
    out.records
        .assets
        .iter()
        .filter(|r| r.asset == j)
        .map(|r| r.shares.as_ref().expect("a game records its shares")[0])
        .collect()
}

/// Iterates the replicator equation's Euler map `x ← x + h·x(Ax − xᵀAx)`
/// from `x0` for `steps` steps: the mean dynamics of pairwise proportional
/// imitation with rate r and payoff range Δ is this map with `h = r/Δ`.
fn euler_replicator(a: &Matrix, x0: f64, h: f64, steps: usize) -> Vec<f64> {
    let mut x = vec![x0, 1.0 - x0];
    let mut out = vec![x0];
    for _ in 0..steps {
        let v = replicator_velocity(&x, &a.mul_vec(&x));
        for (s, dv) in x.iter_mut().zip(&v) {
            *s += h * dv;
        }
        out.push(x[0]);
    }
    out
}

fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// The largest |mean − expected| / SE over steps 1..=T of `runs`.
fn largest_z(runs: &[Vec<f64>], expected: &[f64]) -> f64 {
    (1..expected.len())
        .map(|t| {
            let at: Vec<f64> = runs.iter().map(|r| r[t]).collect();
            let (mean, se) = mean_and_se(&at);
            (mean - expected[t]).abs() / se
        })
        .fold(0.0, f64::max)
}

/// 10,000 hawks and doves imitating (every player revises every step): the
/// mean hawk share over 12 independent runs follows the replicator
/// equation's mean map `x + (r/Δ)·x(1−x)(F_hawk − F_dove)` (computed with
/// the games module's replicator) within 4 standard errors at every step of
/// the transient from 0.1 to the neighbourhood of 7/12. The same runs are
/// more than 4 standard errors from the map of a 5% faster revision rate
/// and from that of a 5% larger prize (50 → 52.5), so the test sees both.
#[test]
fn imitation_shares_follow_the_replicator_equation_within_sampling_error_at_10000_agents() {
    let steps = 30;
    let s = game_scenario(
        10_000,
        steps,
        12,
        r#"shares = { hawk = 0.1, dove = 0.9 }, revision = "imitation", rate = 1.0"#,
    );
    let outs = monte_carlo(&s, &|_| {}).unwrap();
    let runs: Vec<Vec<f64>> = outs.iter().map(|o| hawk_shares(o, 0)).collect();
    assert!(runs
        .iter()
        .all(|r| r[0] == 0.1 && r.len() == steps as usize + 1));
    // Δ = 50 − (−25) = 75: h = 1/75 per step.
    let theory = euler_replicator(&hawk_dove(50.0), 0.1, 1.0 / 75.0, steps as usize);
    let z = largest_z(&runs, &theory);
    assert!(z < 4.0, "largest deviation {z:.2} standard errors");
    let faster = euler_replicator(&hawk_dove(50.0), 0.1, 1.05 / 75.0, steps as usize);
    let z_faster = largest_z(&runs, &faster);
    assert!(
        z_faster > 4.0,
        "a 5% faster rate passes too ({z_faster:.2})"
    );
    let richer = euler_replicator(&hawk_dove(52.5), 0.1, 1.0 / 77.5, steps as usize);
    let z_richer = largest_z(&runs, &richer);
    assert!(
        z_richer > 4.0,
        "a 5% larger prize passes too ({z_richer:.2})"
    );
    // The map converges to the evolutionarily stable state.
    assert!((theory[steps as usize] - 7.0 / 12.0).abs() < 0.003);
}

/// At a small revision rate the Euler map is close to the flow: 10,000
/// imitators follow the replicator equation integrated by
/// [`agora::games::evolve`] at time `step · r / Δ`, within a few standard
/// deviations of one run (the spread of the 12 runs above is about 0.005)
/// plus the map's own distance from the flow, computed here.
#[test]
fn at_a_small_rate_imitators_follow_the_integrated_replicator_equation() {
    let (steps, rate) = (150usize, 0.2);
    let s = game_scenario(
        10_000,
        steps as u64,
        1,
        &format!(r#"shares = {{ hawk = 0.1, dove = 0.9 }}, revision = "imitation", rate = {rate}"#),
    );
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let shares = hawk_shares(&out, 0);
    let h = rate / 75.0;
    let game = NormalFormGame::symmetric("hd", hawk_dove(50.0)).unwrap();
    let mut spec = EvolveSpec::new(Dynamics::Replicator, vec![0.1, 0.9], None, h * steps as f64);
    spec.samples = steps as u64;
    let flow: Vec<f64> = evolve(&game, &spec)
        .unwrap()
        .x
        .iter()
        .map(|x| x[0])
        .collect();
    assert_eq!(flow.len(), steps + 1);
    let map = euler_replicator(&hawk_dove(50.0), 0.1, h, steps);
    let gap = map
        .iter()
        .zip(&flow)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(gap < 0.002, "the Euler map is {gap} from the flow");
    for (t, (x, y)) in shares.iter().zip(&flow).enumerate() {
        assert!(
            (x - y).abs() < 0.02 + gap,
            "step {t}: simulated {x}, replicator {y}"
        );
    }
    // and the flow itself reaches 7/12
    assert!((flow[steps] - 7.0 / 12.0).abs() < 0.005, "{}", flow[steps]);
}

/// The built-in `hawk-dove` example (Dawkins' values): one population
/// starting with 10% hawks and one with 90%; in both the hawk share's mean
/// over the second half of the run is within 0.015 of 7/12 (about three
/// times the spread of a population of 2,000 around it).
#[test]
fn hawk_dove_example_approaches_seven_twelfths_from_either_side() {
    let s = example("hawk-dove").unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    for (j, start) in [(0, 0.1), (1, 0.9)] {
        let shares = hawk_shares(&out, j);
        assert_eq!(shares[0], start);
        let late = &shares[shares.len() / 2..];
        let mean = late.iter().sum::<f64>() / late.len() as f64;
        assert!(
            (mean - 7.0 / 12.0).abs() < 0.015,
            "asset {j}: mean hawk share {mean}"
        );
    }
    let assets = &out.summary.assets;
    for name in ["few-hawks", "many-hawks"] {
        let game = assets[name].game.as_ref().unwrap();
        assert!(game.paid_out > 0.0 && game.paid_in > 0.0, "{game:?}");
        assert_eq!(game.pool_short_steps, 0);
    }
}

/// The logit equilibrium of hawk-dove with noise η: the hawk share x that
/// solves x = 1 / (1 + e^{(F_dove − F_hawk)/η}), F_hawk − F_dove = 35 − 60x
/// (with prize 50; in general prize − 15 − (prize + 10)x), by bisection.
fn logit_equilibrium(eta: f64, prize: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let x = 0.5 * (lo + hi);
        let gain = prize - 15.0 - (prize + 10.0) * x;
        if 1.0 / (1.0 + (-gain / eta).exp()) > x {
            lo = x;
        } else {
            hi = x;
        }
    }
    0.5 * (lo + hi)
}

/// Logit revision (η = 20, every player revises each step) rests at the
/// logit equilibrium (0.5357, not 7/12): the mean hawk share over steps
/// 21–220 is within 4 standard errors (batch means of 20 steps) of it, and
/// more than 4 from the equilibrium of a 5% larger prize.
#[test]
fn logit_revision_rests_at_the_logit_equilibrium() {
    let s = game_scenario(
        2_000,
        220,
        1,
        r#"shares = { hawk = 0.9, dove = 0.1 }, revision = "logit", eta = 20.0, rate = 1.0"#,
    );
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let shares = hawk_shares(&out, 0);
    let batches: Vec<f64> = shares[21..]
        .chunks_exact(20)
        .map(|b| b.iter().sum::<f64>() / 20.0)
        .collect();
    let (mean, se) = mean_and_se(&batches);
    let x_star = logit_equilibrium(20.0, 50.0);
    assert!((x_star - 0.5357).abs() < 1e-4, "{x_star}");
    assert!(
        (mean - x_star).abs() < 4.0 * se,
        "mean {mean} ± {se}, equilibrium {x_star}"
    );
    let moved = logit_equilibrium(20.0, 52.5);
    assert!((mean - moved).abs() > 4.0 * se, "{moved} passes too");
}

/// Best-response revision at rate 0.1: a reviser takes hawk while hawks are
/// below 7/12 and dove above, so the mean dynamics `x' = x + 0.1(b − x)`
/// jumps up by at most 0.1·5/12 and down by at most 0.1·7/12: once there,
/// the share stays in that band around 7/12 (plus a sampling margin), and
/// it crosses 7/12 again and again.
#[test]
fn best_response_revision_cycles_around_the_mixed_equilibrium() {
    let s = game_scenario(
        5_000,
        150,
        1,
        r#"shares = { hawk = 0.2, dove = 0.8 }, revision = "best_response", rate = 0.1"#,
    );
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let shares = hawk_shares(&out, 0);
    let x_star = 7.0 / 12.0;
    // Binomial revision counts: 4 sd of 5,000 · 0.1 revisers is 0.004.
    let margin = 0.01;
    let late = &shares[50..];
    for x in late {
        assert!(
            *x > x_star - 0.1 * x_star - margin && *x < x_star + 0.1 * (1.0 - x_star) + margin,
            "{x}"
        );
    }
    let crossings = late
        .windows(2)
        .filter(|w| (w[0] < x_star) != (w[1] < x_star))
        .count();
    assert!(crossings > 20, "{crossings} crossings");
}

/// Payoffs are paid to the base unit: four agents all playing the first
/// strategy of a coordination game (payoff 2 each per step, 1 money unit a
/// point) against a pool of 5 units. Step 1 owes 8 and the pool holds 5:
/// each is paid ⌊2·5/8⌋ = 1.25 units. The pool is then dry: step 2 pays
/// nothing. A negative payoff takes what the player has, no more.
#[test]
fn a_short_pool_pays_in_proportion_and_a_dry_one_pays_nothing() {
    let text = r#"
[simulation]
steps = 2
seed = 1

[[assets]]
name = "G"
kind = "game"
strategies = ["a", "b"]
payoffs = [[2.0, 0.0], [0.0, 1.0]]
pool = 5.0

[[agents]]
group = "p"
count = 4
balance = 10.0
policy = { kind = "player", asset = "G", shares = { a = 1.0 }, revision = "imitation", rate = 1.0 }
"#;
    let s = Scenario::from_toml_str(text, "<pool>").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    assert_eq!(sim.ledger().books(0).reserve, 5_000_000_000);
    sim.advance().unwrap();
    for a in 0..4 {
        assert_eq!(sim.ledger().balance(a), 11_250_000_000);
    }
    assert_eq!(sim.ledger().books(0).reserve, 0);
    sim.advance().unwrap();
    for a in 0..4 {
        assert_eq!(sim.ledger().balance(a), 11_250_000_000);
    }
    let out = sim.finish().unwrap();
    let game = out.summary.assets["G"].game.as_ref().unwrap();
    assert_eq!(game.pool_short_steps, 2);
    assert_eq!(game.paid_out, 5.0);
    assert_eq!(game.unpaid, 3.0 + 8.0);
    assert_eq!(game.final_shares["a"], 1.0);

    // Hawks only, 0.3 money units each: a fight costs 25 · 0.01 = 0.25,
    // then the 0.05 left of the next 0.25 (clipped), then nothing.
    let hawks = r#"
[simulation]
steps = 3
seed = 1

[[assets]]
name = "G"
kind = "game"
strategies = ["hawk", "dove"]
payoffs = [[-25.0, 50.0], [0.0, 15.0]]
payoff_unit = 0.01

[[agents]]
group = "p"
count = 2
balance = 0.3
policy = { kind = "player", asset = "G", shares = { hawk = 1.0 }, revision = "imitation", rate = 1.0 }
"#;
    let s = Scenario::from_toml_str(hawks, "<hawks>").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    let mut balances = Vec::new();
    for _ in 0..3 {
        sim.advance().unwrap();
        balances.push((sim.ledger().balance(0), sim.ledger().books(0).reserve));
    }
    assert_eq!(
        balances,
        [
            (50_000_000, 500_000_000),
            (0, 600_000_000),
            (0, 600_000_000)
        ]
    );
    let out = sim.finish().unwrap();
    assert_eq!(out.summary.ledger.clipped_actions, 4);
    let game = out.summary.assets["G"].game.as_ref().unwrap();
    assert_eq!((game.paid_in, game.uncollected), (0.6, 0.9));
}

/// The shares are recorded in `assets.csv` as `share_<strategy>` columns,
/// empty on the rows of other assets.
#[test]
fn assets_csv_has_a_share_column_per_strategy() {
    let mut s = example("hawk-dove").unwrap();
    s.set_steps(3).unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let csv = String::from_utf8(agora::output::assets_csv(&s, &[out]).unwrap()).unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.ends_with(",allocated,share_hawk,share_dove"),
        "{header}"
    );
    assert!(lines.next().unwrap().ends_with(",0.1,0.9"));
    assert!(lines.next().unwrap().ends_with(",0.9,0.1"));
}

/// The same run at one thread and at four, byte for byte.
#[test]
fn a_population_game_is_the_same_at_one_and_four_threads() {
    let s = game_scenario(
        9_000,
        20,
        1,
        r#"shares = { hawk = 0.3, dove = 0.7 }, revision = "imitation", rate = 0.5"#,
    );
    let render = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let out = Simulation::new(&s, 0).unwrap().run().unwrap();
                let runs = std::slice::from_ref(&out);
                (
                    agora::output::assets_csv(&s, runs).unwrap(),
                    agora::output::agents_csv(&s, runs).unwrap(),
                    agora::output::summary_json(&s, runs).unwrap(),
                )
            })
    };
    assert_eq!(render(1), render(4));
}

/// Hawks and doves committed to their strategy (revision rate 0), matched
/// in groups of three: a player's payoff is its mean payoff against the
/// other two members. One hawk with two doves earns (50 + 50)/2 = 50 a
/// step, each dove (0 + 15)/2 = 7.5 (summing instead of averaging would
/// give 100 and 15). With a third dove, one of the four sits out each
/// step: the hawk plays in a binomial(T, 3/4) number of steps, 50 points
/// each time it does, and the game counts one match a step.
#[test]
fn groups_of_three_pay_the_mean_against_the_other_two_and_leave_one_out() {
    let text = |doves: u32, steps: u64| {
        format!(
            r#"
[simulation]
steps = {steps}
seed = 4

[[assets]]
name = "G"
kind = "game"
strategies = ["hawk", "dove"]
payoffs = [[-25.0, 50.0], [0.0, 15.0]]
payoff_unit = 0.01
group_size = 3
pool = 100000.0

[[agents]]
group = "hawks"
count = 1
balance = 100.0
policy = {{ kind = "player", asset = "G", shares = {{ hawk = 1.0 }}, revision = "imitation", rate = 0.0 }}

[[agents]]
group = "doves"
count = {doves}
balance = 100.0
policy = {{ kind = "player", asset = "G", shares = {{ dove = 1.0 }}, revision = "imitation", rate = 0.0 }}
"#
        )
    };
    let s = Scenario::from_toml_str(&text(2, 10), "<groups of three>").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    for _ in 0..10 {
        sim.advance().unwrap();
    }
    // 100 + 10 · 50 · 0.01 and 100 + 10 · 7.5 · 0.01, in base units
    assert_eq!(sim.ledger().balance(0), 105_000_000_000);
    assert_eq!(sim.ledger().balance(1), 100_750_000_000);
    assert_eq!(sim.ledger().balance(2), 100_750_000_000);
    let out = sim.finish().unwrap();
    assert_eq!(out.summary.assets["G"].game.as_ref().unwrap().matches, 10);

    let steps = 400u64;
    let s = Scenario::from_toml_str(&text(3, steps), "<groups of three>").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    for _ in 0..steps {
        sim.advance().unwrap();
    }
    let gain = sim.ledger().balance(0) - 100_000_000_000;
    // 0.5 money units (5·10⁸ base units) each step the hawk played
    assert_eq!(gain % 500_000_000, 0, "{gain}");
    let played = (gain / 500_000_000) as f64;
    let (mean, sd) = (steps as f64 * 0.75, (steps as f64 * 0.75 * 0.25).sqrt());
    assert!((played - mean).abs() < 4.0 * sd, "{played} of {steps}");
    // a pairing (2 of 4 matched, 1/2) would be far outside
    assert!((played - steps as f64 * 0.5).abs() > 4.0 * sd, "{played}");
    let out = sim.finish().unwrap();
    assert_eq!(
        out.summary.assets["G"].game.as_ref().unwrap().matches,
        steps
    );
}
