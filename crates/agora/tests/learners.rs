//! The learners against theory: bandit regret against Auer et al.'s bound
//! and the linear regret of fixed exploration, Q-learning against the
//! closed-form Q* of a chain, and REINFORCE improving a bandit's expected
//! reward.

use agora::agents::learners::{
    Bandit, EpsilonGreedy, Exploration, QLearner, QParams, Reinforce, Thompson, Ucb1,
};
use agora::rng::AgentRng;
use rand::{RngExt, SeedableRng};

const MEANS: [f64; 2] = [0.9, 0.8];

/// Runs `bandit` on Bernoulli arms of means [`MEANS`] for `pulls` pulls
/// and returns the pseudo-regret `Σ_t (μ* − μ_{a_t})` after each pull in
/// `checkpoints`. The learner and the arms draw from separate streams.
fn regret<B: Bandit>(mut bandit: B, seed: u64, pulls: usize, checkpoints: &[usize]) -> Vec<f64> {
    let mut learner_rng = AgentRng::seed_from_u64(2 * seed);
    let mut arms_rng = AgentRng::seed_from_u64(2 * seed + 1);
    let best = MEANS[0];
    let mut total = 0.0;
    let mut out = Vec::new();
    for t in 1..=pulls {
        let arm = bandit.select(&mut learner_rng);
        let reward = f64::from(u8::from(arms_rng.random::<f64>() < MEANS[arm]));
        bandit.update(arm, reward).unwrap();
        total += best - MEANS[arm];
        if checkpoints.contains(&t) {
            out.push(total);
        }
    }
    out
}

fn mean_sd(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let m = x.iter().sum::<f64>() / n;
    let v = x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

const SEEDS: u64 = 100;
const PULLS: usize = 10_000;

#[test]
fn thompson_beats_ucb1_which_beats_its_bound() {
    let thompson: Vec<f64> = (0..SEEDS)
        .map(|s| regret(Thompson::bernoulli(2).unwrap(), s, PULLS, &[PULLS])[0])
        .collect();
    let ucb: Vec<f64> = (0..SEEDS)
        .map(|s| regret(Ucb1::new(2).unwrap(), s, PULLS, &[PULLS])[0])
        .collect();
    let (t_mean, t_sd) = mean_sd(&thompson);
    let (u_mean, u_sd) = mean_sd(&ucb);
    // Auer, Cesa-Bianchi & Fischer (2002), Theorem 1: expected regret after
    // n pulls ≤ Σ_{Δ_i>0} 8 ln n / Δ_i + (1 + π²/3) Σ Δ_i; here one gap of 0.1.
    let gap = MEANS[0] - MEANS[1];
    let bound = 8.0 * (PULLS as f64).ln() / gap + (1.0 + std::f64::consts::PI.powi(2) / 3.0) * gap;
    // Margins of 4 standard errors of the means over the seeds, so the
    // order is not an accident of the seeds.
    let se = |sd: f64| 4.0 * sd / (SEEDS as f64).sqrt();
    assert!(
        t_mean + se(t_sd) < u_mean - se(u_sd),
        "Thompson {t_mean} ± {t_sd}, UCB1 {u_mean} ± {u_sd}"
    );
    assert!(
        u_mean + se(u_sd) < bound,
        "UCB1 {u_mean} ± {u_sd}, bound {bound}"
    );
}

#[test]
fn fixed_epsilon_regret_grows_linearly() {
    let eps = 0.1;
    let gap = MEANS[0] - MEANS[1];
    let runs: Vec<Vec<f64>> = (0..SEEDS)
        .map(|s| {
            regret(
                EpsilonGreedy::new(2, eps).unwrap(),
                s,
                2 * PULLS,
                &[PULLS, 2 * PULLS],
            )
        })
        .collect();
    let first: Vec<f64> = runs.iter().map(|r| r[0]).collect();
    let second: Vec<f64> = runs.iter().map(|r| r[1] - r[0]).collect();
    let (r1, _) = mean_sd(&first);
    let (inc, inc_sd) = mean_sd(&second);
    // Once the sample means have settled, each pull explores with
    // probability ε and then picks the worse arm with probability 1/2: the
    // regret grows by ε Δ / 2 per pull, 50 over 10⁴ pulls. The number of
    // such pulls is Binomial(10⁴, ε/2), so the increment's sd over a seed is
    // Δ √(10⁴ · 0.05 · 0.95) ≈ 2.2 and its mean over 100 seeds has sd ≈ 0.22;
    // 4 standard errors (measured) bound the check.
    let expected = |eps: f64| PULLS as f64 * eps * gap / 2.0;
    let se = inc_sd / (SEEDS as f64).sqrt();
    let fits = |eps: f64| (inc - expected(eps)).abs() < 4.0 * se;
    assert!(
        fits(eps),
        "second 10⁴ pulls: regret {inc} ± {se}, expected {}",
        expected(eps)
    );
    // The check is tight enough to tell ε from ε moved by 5% (a slope of
    // 52.5 or 47.5 against 50, with 4 standard errors ≈ 0.9).
    for moved in [0.95, 1.05] {
        assert!(!fits(eps * moved), "ε × {moved} passes too");
    }
    let expected = expected(eps);
    // Linear, not logarithmic: R(2·10⁴)/R(10⁴) = 1 + I/(I + c), I the
    // increment above and c the regret of the early greedy mistakes, made
    // while the means rest on a handful of pulls. Exploration pulls the
    // better arm ≈ 50 times per 10³ pulls, so its estimate settles within a
    // few hundred pulls and c ≲ Δ · 100 = 10 < I/4: the ratio lies in
    // [1.8, 2] (plus sampling error ≈ 0.01), where logarithmic regret
    // would give 1 + ln 2/ln 10⁴ ≈ 1.08.
    let warm_up = r1 - inc;
    assert!(
        (0.0..expected / 4.0).contains(&warm_up),
        "early mistakes cost {warm_up}"
    );
    let ratio = (r1 + inc) / r1;
    assert!(
        (1.8..2.05).contains(&ratio),
        "R(2·10⁴)/R(10⁴) = {ratio} (R(10⁴) = {r1})"
    );
}

/// The chain: states 0 … N−1, actions 0 (left) and 1 (right). Right from
/// N−1 pays 1 and returns to 0; right elsewhere moves up one; left moves
/// down one (staying at 0, where it pays `TRAP`). Everything is
/// deterministic.
const N: usize = 5;
const TRAP: f64 = 0.05;

fn chain(s: usize, a: usize) -> (f64, usize) {
    match (s, a) {
        (s, 1) if s == N - 1 => (1.0, 0),
        (s, 1) => (0.0, s + 1),
        (0, _) => (TRAP, 0),
        (s, _) => (0.0, s - 1),
    }
}

#[test]
fn q_learning_solves_a_chain() {
    let delta: f64 = 0.9;
    // Always going right collects 1 every N steps, the first after N−1−s
    // more steps: V(s) = δ^(N−1−s)/(1 − δ^N). It is optimal because it
    // satisfies Bellman's optimality equation: from s ≥ 1, left is worth
    // δ V(s−1) = δ^(N−s+1)/(1 − δ^N) < V(s); at 0, left is worth
    // TRAP + δ V(0) < V(0) since TRAP < (1 − δ) V(0) ≈ 0.16. So
    // Q*(s, right) = V(s), Q*(s, left) = δ V(s−1), Q*(0, left) = TRAP + δ V(0).
    let v = |s: usize| delta.powi((N - 1 - s) as i32) / (1.0 - delta.powi(N as i32));
    assert!(TRAP < (1.0 - delta) * v(0));
    let q_star = |s: usize, a: usize| match (s, a) {
        (s, 1) => v(s),
        (0, _) => TRAP + delta * v(0),
        (s, _) => delta * v(s - 1),
    };
    let params = QParams {
        alpha: 0.5,
        delta,
        exploration: Exploration::Constant(0.5),
    };
    for seed in 0..5 {
        let mut learner = QLearner::new(params, N, &[0.0, 0.0]).unwrap();
        let mut rng = AgentRng::seed_from_u64(seed);
        let mut s = 0;
        for _ in 0..100_000 {
            let a = learner.act(s, &mut rng).unwrap();
            let (r, next) = chain(s, a);
            learner.learn(s, a, r, next).unwrap();
            s = next;
        }
        // Deterministic transitions and every pair visited again and again:
        // the updates are a relaxed asynchronous value iteration, which
        // contracts to Q* itself.
        for s in 0..N {
            for a in 0..2 {
                let q = learner.value(s, a).unwrap();
                assert!(
                    (q - q_star(s, a)).abs() < 1e-9,
                    "seed {seed}: Q({s}, {a}) = {q}, Q* = {}",
                    q_star(s, a)
                );
            }
        }
        assert_eq!(learner.policy(), &[1; N], "always right");
        assert!(learner.converged(10_000));
    }
}

#[test]
fn q_learning_with_a_myopic_discount_takes_the_trap() {
    // With δ = 0: Q* is the immediate reward, and the greedy policy takes
    // the trap at 0 (0.05 > 0), right at N−1 (1 > 0) and, elsewhere, where
    // both are worth 0, the lowest action (left).
    let params = QParams {
        alpha: 1.0,
        delta: 0.0,
        exploration: Exploration::Constant(1.0),
    };
    let mut learner = QLearner::new(params, N, &[0.0, 0.0]).unwrap();
    let mut rng = AgentRng::seed_from_u64(1);
    let mut s = 0;
    for _ in 0..10_000 {
        let a = learner.act(s, &mut rng).unwrap();
        let (r, next) = chain(s, a);
        learner.learn(s, a, r, next).unwrap();
        s = next;
    }
    assert_eq!(learner.policy(), &[0, 0, 0, 0, 1]);
    assert_eq!(learner.value(0, 0).unwrap(), TRAP);
}

#[test]
fn policy_gradient_improves_a_two_armed_bandit() {
    let means = [0.3, 0.7];
    let x = [1.0];
    let mut initial = Vec::new();
    let mut learned = Vec::new();
    for seed in 0..SEEDS {
        let mut pg = Reinforce::new(2, 1, 0.1).unwrap();
        initial.push(pg.expected(&x, &means).unwrap());
        let mut rng = AgentRng::seed_from_u64(seed);
        for _ in 0..2_000 {
            let a = pg.select(&x, &mut rng).unwrap();
            let r = f64::from(u8::from(rng.random::<f64>() < means[a]));
            pg.update(&x, a, r).unwrap();
        }
        learned.push(pg.expected(&x, &means).unwrap());
    }
    let (before, _) = mean_sd(&initial);
    let (after, sd) = mean_sd(&learned);
    // The uniform start is worth 0.5; the best arm 0.7.
    assert!((before - 0.5).abs() < 1e-15);
    assert!(
        after > 0.65,
        "expected reward after learning {after} ± {sd}"
    );
    let improved = learned.iter().filter(|&&r| r > 0.5).count();
    assert!(
        improved as u64 >= SEEDS * 95 / 100,
        "{improved} of {SEEDS} seeds improved"
    );
}

#[test]
fn policy_gradient_learns_from_features() {
    // The better arm depends on the sign of the observation x = ±1: arm 1
    // pays with probability 0.8 when x = 1 and 0.2 when x = −1, arm 0 the
    // reverse. Features (1, x) let the softmax express it.
    let p1 = |x: f64| if x > 0.0 { 0.8 } else { 0.2 };
    let mut worst: f64 = 1.0;
    for seed in 0..20 {
        let mut pg = Reinforce::new(2, 2, 0.2).unwrap();
        let mut rng = AgentRng::seed_from_u64(seed);
        for _ in 0..5_000 {
            let x = if rng.random::<bool>() { 1.0 } else { -1.0 };
            let a = pg.select(&[1.0, x], &mut rng).unwrap();
            let p = if a == 1 { p1(x) } else { 1.0 - p1(x) };
            let r = f64::from(u8::from(rng.random::<f64>() < p));
            pg.update(&[1.0, x], a, r).unwrap();
        }
        for x in [1.0, -1.0] {
            let e = pg.expected(&[1.0, x], &[1.0 - p1(x), p1(x)]).unwrap();
            worst = worst.min(e);
        }
    }
    // Uniform play is worth 0.5 at each x; the best policy 0.8.
    assert!(worst > 0.75, "worst expected reward {worst}");
}

#[test]
fn learners_survive_a_round_trip_and_continue_identically() {
    use agora::agents::learners::{BanditLearner, GaussianPrior, InitialQ};
    let mut rng = AgentRng::seed_from_u64(4);
    let params = QParams {
        alpha: 0.15,
        delta: 0.95,
        exploration: Exploration::Decaying { beta: 1e-3 },
    };
    let mut q = QLearner::new(params, N, &[0.0, 0.0]).unwrap();
    let mut bandit =
        BanditLearner::Thompson(Thompson::gaussian(3, GaussianPrior::default()).unwrap());
    let mut pg = Reinforce::new(2, 1, 0.1).unwrap();
    let mut s = 0;
    for _ in 0..500 {
        let a = q.act(s, &mut rng).unwrap();
        let (r, next) = chain(s, a);
        q.learn(s, a, r, next).unwrap();
        s = next;
        let arm = bandit.select(&mut rng);
        bandit
            .update(arm, arm as f64 + rng.random::<f64>())
            .unwrap();
        let a = pg.select(&[1.0], &mut rng).unwrap();
        pg.update(&[1.0], a, a as f64).unwrap();
    }
    // TOML, whose floats round-trip exactly. (serde_json parses floats to
    // within an ulp unless its `float_roundtrip` feature is on.)
    fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(x: &T) -> T {
        toml::from_str(&toml::to_string(x).unwrap()).unwrap()
    }
    let q2 = round_trip(&q);
    let b2 = round_trip(&bandit);
    let mut pg2 = round_trip(&pg);
    assert_eq!((&q2, &b2, &pg2), (&q, &bandit, &pg));
    // The restored learners draw and decide as the originals would.
    let (mut r1, mut r2) = (rng.clone(), rng);
    for _ in 0..100 {
        assert_eq!(q.act(s, &mut r1).unwrap(), q2.act(s, &mut r2).unwrap());
        assert_eq!(bandit.select(&mut r1), b2.select(&mut r2));
        assert_eq!(
            pg.select(&[1.0], &mut r1).unwrap(),
            pg2.select(&[1.0], &mut r2).unwrap()
        );
    }
    // The configuration vocabulary is the scenario's.
    assert_eq!(
        serde_json::to_string(&InitialQ::UniformOpponents).unwrap(),
        "\"uniform_opponents\""
    );
}
