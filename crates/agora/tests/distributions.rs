//! The shape of every random ingredient a scenario can name, against the
//! stated distribution: private values and costs (`uniform`, `normal`,
//! `lognormal`), consumers' needs, airdrop shares (`lognormal`, `pareto`),
//! and the market maker's quotes (`spread`, `skew`, deterministic and
//! computed by hand).
//!
//! Each shape is checked with a Kolmogorov–Smirnov test at 0.1%
//! significance on a seeded sample (so the outcome is fixed), large enough
//! that the same sample is rejected against the distribution with any one
//! parameter moved by 5%: each test shows that too, so a mechanism that
//! ignores or misreads a parameter fails it.

use agora::agents::{AgentRng, BuiltinPolicy, GroupPolicy, ValueDistribution};
use agora::ledger::SCALE;
use agora::rng::{Stream, StreamFamily};
use agora::scenario::ShareDistribution;
use agora::{Action, AgentView, Observation, Scenario, Simulation};
use rand::SeedableRng;

/// `erfc(x)`, fractional error below 1.2e-7 everywhere (the Chebyshev
/// fit of Press et al., *Numerical Recipes*, §6.2): far below the KS
/// critical values used here (≥ 4e-3).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// The standard normal CDF Φ.
pub fn phi(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

/// The Kolmogorov–Smirnov statistic `sup |F_n − F|` of `sample` against
/// the continuous CDF `cdf`.
pub fn ks_statistic(sample: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut x = sample.to_vec();
    x.sort_by(f64::total_cmp);
    let n = x.len() as f64;
    x.iter().enumerate().fold(0.0, |d, (i, &v)| {
        let f = cdf(v);
        d.max(f - i as f64 / n).max((i + 1) as f64 / n - f)
    })
}

/// The critical value of the KS statistic at 0.1% significance for `n`
/// draws (asymptotic: `P(√n·D > 1.9495) = 0.001`).
pub fn ks_critical(n: usize) -> f64 {
    1.9495 / (n as f64).sqrt()
}

/// Asserts that `sample` passes the KS test against `stated` and fails it
/// against every CDF of `moved` (the stated distribution with one
/// parameter moved by 5%, labelled).
fn assert_shape(
    what: &str,
    sample: &[f64],
    stated: impl Fn(f64) -> f64,
    moved: &[(&str, &dyn Fn(f64) -> f64)],
) {
    let crit = ks_critical(sample.len());
    let d = ks_statistic(sample, stated);
    assert!(
        d < crit,
        "{what}: KS statistic {d:.5} against the stated distribution, critical {crit:.5}"
    );
    for (label, cdf) in moved {
        let d = ks_statistic(sample, cdf);
        assert!(
            d > crit,
            "{what}: the sample passes against {label} too (KS {d:.5}, critical {crit:.5}): \
             the test could not see a 5% error"
        );
    }
}

fn uniform_cdf(low: f64, high: f64) -> impl Fn(f64) -> f64 {
    move |x| ((x - low) / (high - low)).clamp(0.0, 1.0)
}

fn normal_cdf(mean: f64, std: f64) -> impl Fn(f64) -> f64 {
    move |x| phi((x - mean) / std)
}

fn lognormal_cdf(mu: f64, sigma: f64) -> impl Fn(f64) -> f64 {
    move |x| {
        if x <= 0.0 {
            0.0
        } else {
            phi((x.ln() - mu) / sigma)
        }
    }
}

fn exponential_cdf(rate: f64) -> impl Fn(f64) -> f64 {
    move |x| {
        if x <= 0.0 {
            0.0
        } else {
            1.0 - (-rate * x).exp()
        }
    }
}

/// Draws per agent, as the engine draws them: agent `i`'s key is the `i`th
/// of the private stream family of run 0 of seed 7.
const DRAWS: usize = 200_000;

fn keys(n: usize) -> impl Iterator<Item = u64> {
    let family = StreamFamily::new(7, 0, 0, Stream::Private);
    (0..n as u64).map(move |i| family.key(i))
}

/// The value distribution of the first group of a scenario whose ZI-C
/// buyers have `value = {value}`: read from the scenario text, so the
/// parser's reading of each parameter is checked too.
fn zi_c_values(value: &str) -> Vec<f64> {
    let s = Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = 1
            seed = 7
            [[assets]]
            name = "G"
            pricing = {{ kind = "order_book", initial_price = 10.0 }}
            [[agents]]
            group = "buyers"
            count = 1
            balance = 50.0
            policy = {{ kind = "zi_c", asset = "G", role = "buyer", value = {value}, units = 1.0, lot = 1.0 }}
            "#
        ),
        "dist.toml",
    )
    .unwrap();
    let policy = &s.groups()[0].policy;
    let holdings = [0u64];
    keys(DRAWS)
        .enumerate()
        .map(|(i, key)| {
            let me = AgentView::new(i as u32, i as u32, 0, &holdings, key);
            policy.private_value(&me).unwrap().value
        })
        .collect()
}

#[test]
fn the_normal_cdf_and_the_ks_critical_value_match_their_tables() {
    // Φ from tables (Abramowitz and Stegun 26.2)
    for (x, p) in [
        (0.0, 0.5),
        (1.0, 0.841_344_746),
        (-1.0, 0.158_655_254),
        (1.959_963_985, 0.975),
        (-3.0, 0.001_349_898),
    ] {
        assert!((phi(x) - p).abs() < 2e-7, "Φ({x}) = {} vs {p}", phi(x));
    }
    // the KS statistic of the n-point grid (i + 1/2)/n against U(0, 1) is
    // exactly 1/(2n)
    let grid: Vec<f64> = (0..1000).map(|i| (i as f64 + 0.5) / 1000.0).collect();
    assert!((ks_statistic(&grid, uniform_cdf(0.0, 1.0)) - 0.0005).abs() < 1e-12);
    assert!((ks_critical(10_000) - 0.019_495).abs() < 1e-9);
}

#[test]
fn uniform_values_follow_the_stated_width() {
    let v = zi_c_values(r#"{ distribution = "uniform", low = 5.0, high = 15.0 }"#);
    assert_shape(
        "uniform(5, 15)",
        &v,
        uniform_cdf(5.0, 15.0),
        &[
            ("width + 5%", &uniform_cdf(5.0, 15.5)),
            ("width − 5%", &uniform_cdf(5.0, 14.5)),
            ("low + 5%", &uniform_cdf(5.25, 15.0)),
            ("low − 5%", &uniform_cdf(4.75, 15.0)),
        ],
    );
}

#[test]
fn normal_values_follow_the_stated_mean_and_std() {
    // 5 sd above 0: the truncation at 0 is never reached here
    let v = zi_c_values(r#"{ distribution = "normal", mean = 10.0, std = 2.0 }"#);
    assert_shape(
        "normal(10, 2)",
        &v,
        normal_cdf(10.0, 2.0),
        &[
            ("std + 5%", &normal_cdf(10.0, 2.1)),
            ("std − 5%", &normal_cdf(10.0, 1.9)),
            ("mean + 5% of std", &normal_cdf(10.1, 2.0)),
            ("mean − 5% of std", &normal_cdf(9.9, 2.0)),
        ],
    );
}

#[test]
fn normal_values_are_truncated_at_zero_with_the_normal_mass_below_it() {
    // N(1, 2) truncated at 0: P(0) = Φ(−0.5) = 0.308538; above 0 the
    // normal's own CDF
    let v = zi_c_values(r#"{ distribution = "normal", mean = 1.0, std = 2.0 }"#);
    assert!(v.iter().all(|&x| x >= 0.0));
    let zeros = v.iter().filter(|&&x| x == 0.0).count() as f64;
    let n = v.len() as f64;
    let p = phi(-0.5);
    let sd = (n * p * (1.0 - p)).sqrt();
    assert!((zeros - n * p).abs() < 4.0 * sd, "{zeros} zeros of {n}");
    let positive: Vec<f64> = v.iter().copied().filter(|&x| x > 0.0).collect();
    let conditional = |x: f64| (phi((x - 1.0) / 2.0) - p) / (1.0 - p);
    assert_shape(
        "normal(1, 2) above 0",
        &positive,
        conditional,
        &[("std + 5%", &|x: f64| {
            (phi((x - 1.0) / 2.1) - phi(-1.0 / 2.1)) / (1.0 - phi(-1.0 / 2.1))
        })],
    );
}

#[test]
fn lognormal_values_follow_the_stated_mu_and_sigma() {
    let v = zi_c_values(r#"{ distribution = "lognormal", mu = 1.0, sigma = 0.5 }"#);
    assert_shape(
        "lognormal(1, 0.5)",
        &v,
        lognormal_cdf(1.0, 0.5),
        &[
            ("sigma + 5%", &lognormal_cdf(1.0, 0.525)),
            ("sigma − 5%", &lognormal_cdf(1.0, 0.475)),
            ("mu + 5%", &lognormal_cdf(1.05, 0.5)),
            ("mu − 5%", &lognormal_cdf(0.95, 0.5)),
        ],
    );
}

#[test]
fn constant_values_are_the_constant() {
    let v = zi_c_values(r#"{ distribution = "constant", value = 7.25 }"#);
    assert!(v.iter().all(|&x| x == 7.25));
}

#[test]
fn the_value_distribution_draws_one_fixed_value_per_key() {
    let d = ValueDistribution::LogNormal {
        mu: 0.0,
        sigma: 1.0,
    };
    let a: Vec<f64> = keys(100).map(|k| d.draw(k)).collect();
    let b: Vec<f64> = keys(100).map(|k| d.draw(k)).collect();
    assert_eq!(a, b);
}

/// Consumers' needs at `step`, per agent, base units turned back to units.
fn needs(need: &str, schedule: &str, step: u64) -> Vec<f64> {
    let s = Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = 1
            seed = 7
            [[assets]]
            name = "CPU"
            kind = "resource"
            capacity = 100.0
            allocation = "proportional"
            pricing = {{ kind = "fixed", price = 0.5 }}
            [[agents]]
            group = "users"
            count = 1
            balance = 50.0
            policy = {{ kind = "consumer", asset = "CPU", need = {need}, {schedule} value = 2.0 }}
            "#
        ),
        "need.toml",
    )
    .unwrap();
    let policy = &s.groups()[0].policy;
    assert!(matches!(
        policy,
        GroupPolicy::Builtin(BuiltinPolicy::Consumer(_))
    ));
    let holdings = [0u64];
    keys(DRAWS)
        .enumerate()
        .map(|(i, key)| {
            let me = AgentView::new(i as u32, i as u32, 0, &holdings, key);
            policy.need(&me, step).unwrap().units as f64 / SCALE as f64
        })
        .collect()
}

#[test]
fn consumers_needs_follow_the_stated_distribution_and_schedule() {
    // needs are whole base units (rounded down): 1e-9, far below what KS
    // sees at this sample size
    let lognormal = r#"{ distribution = "lognormal", mu = 0.5, sigma = 0.8 }"#;
    let v = needs(lognormal, "", 3);
    assert_shape(
        "need lognormal(0.5, 0.8)",
        &v,
        lognormal_cdf(0.5, 0.8),
        &[
            ("sigma + 5%", &lognormal_cdf(0.5, 0.84)),
            ("sigma − 5%", &lognormal_cdf(0.5, 0.76)),
            ("mu + 5%", &lognormal_cdf(0.525, 0.8)),
        ],
    );
    // a schedule multiplies the need: at step 2 of [1, 3], by 3 (the log
    // moves by ln 3)
    let v = needs(lognormal, "need_schedule = [1.0, 3.0],", 2);
    assert_shape(
        "need × 3",
        &v,
        lognormal_cdf(0.5 + 3f64.ln(), 0.8),
        &[("need × 3.15", &lognormal_cdf(0.5 + 3.15f64.ln(), 0.8))],
    );
    let v = needs(
        r#"{ distribution = "uniform", low = 2.0, high = 4.0 }"#,
        "",
        1,
    );
    assert_shape(
        "need uniform(2, 4)",
        &v,
        uniform_cdf(2.0, 4.0),
        &[("width + 5%", &uniform_cdf(2.0, 4.1))],
    );
    // needs differ from step to step (a fresh draw each step)
    let (a, b) = (needs(lognormal, "", 1), needs(lognormal, "", 2));
    let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    assert!(
        same < 10,
        "{same} of {} needs equal at steps 1 and 2",
        a.len()
    );
}

const AGENTS: usize = 100_000;

/// The tokens airdropped to each of `AGENTS` agents with
/// `holdings = {airdrop}` (a million tokens in all), token units.
fn airdrop(shares: &str, expected: ShareDistribution) -> Vec<f64> {
    let s = Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = 1
            seed = 11
            [[assets]]
            name = "G"
            pricing = {{ kind = "order_book", initial_price = 10.0 }}
            [[agents]]
            group = "holders"
            count = {AGENTS}
            balance = 1.0
            holdings = {{ asset = "G", total = 1000000.0, {shares} }}
            policy = {{ kind = "random", asset = "G", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }}
            "#
        ),
        "airdrop.toml",
    )
    .unwrap();
    assert_eq!(s.groups()[0].holdings[0].shares, expected);
    let sim = Simulation::new(&s, 0).unwrap();
    let parts: Vec<f64> = (0..AGENTS)
        .map(|i| sim.ledger().holding(i as u32, 0) as f64 / SCALE as f64)
        .collect();
    // whole base units summing to the total exactly
    let total: u64 = (0..AGENTS).map(|i| sim.ledger().holding(i as u32, 0)).sum();
    assert_eq!(total, 1_000_000 * SCALE);
    parts
}

#[test]
fn lognormal_airdrop_shares_have_the_stated_sigma() {
    // Shares are proportional to exp(N(0, σ)) draws: the logs of the parts
    // are N(c, σ) with c = ln(total / Σ draws), unknown; centred on their
    // sample mean they are N(0, σ) (centring on an estimate makes KS
    // conservative: a correct σ passes more easily, and a 5% error in σ
    // still fails).
    let sigma = 1.2;
    let parts = airdrop(
        r#"distribution = "lognormal", sigma = 1.2"#,
        ShareDistribution::LogNormal { sigma },
    );
    let logs: Vec<f64> = parts.iter().map(|p| p.ln()).collect();
    let mean = logs.iter().sum::<f64>() / logs.len() as f64;
    let centred: Vec<f64> = logs.iter().map(|l| l - mean).collect();
    assert_shape(
        "airdrop lognormal(σ = 1.2)",
        &centred,
        normal_cdf(0.0, sigma),
        &[
            ("sigma + 5%", &normal_cdf(0.0, sigma * 1.05)),
            ("sigma − 5%", &normal_cdf(0.0, sigma * 0.95)),
        ],
    );
}

#[test]
fn pareto_airdrop_shares_have_the_stated_tail_index() {
    // Shares are proportional to Pareto(1, α) draws X, and ln X is
    // exponential with rate α: the logs of the parts minus their minimum
    // (which is within about 1/(nα) of the shift) are Exp(α).
    let alpha = 1.5;
    let parts = airdrop(
        r#"distribution = "pareto", alpha = 1.5"#,
        ShareDistribution::Pareto { alpha },
    );
    let logs: Vec<f64> = parts.iter().map(|p| p.ln()).collect();
    let min = logs.iter().copied().fold(f64::INFINITY, f64::min);
    let shifted: Vec<f64> = logs.iter().map(|l| l - min).collect();
    assert_shape(
        "airdrop pareto(α = 1.5)",
        &shifted,
        exponential_cdf(alpha),
        &[
            ("alpha + 5%", &exponential_cdf(alpha * 1.05)),
            ("alpha − 5%", &exponential_cdf(alpha * 0.95)),
        ],
    );
}

#[test]
fn uniform_airdrop_shares_are_equal_to_the_base_unit() {
    let parts = airdrop(r#"distribution = "uniform""#, ShareDistribution::Uniform);
    // 1e6 tokens over 1e5 agents: 10 tokens each, exactly
    assert!(parts.iter().all(|&p| p == 10.0));
}

/// The market maker of a scenario with `spread` and `skew`, deciding with
/// best quotes 9.9/10.1 (mid 10) and `held` tokens.
fn maker_quote(spread: f64, skew: f64, held: u64) -> Action {
    let s = Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = 1
            seed = 7
            [[assets]]
            name = "G"
            pricing = {{ kind = "order_book", initial_price = 10.0 }}
            [[agents]]
            group = "makers"
            count = 1
            balance = 1000.0
            policy = {{ kind = "market_maker", asset = "G", spread = {spread:?}, size = 1.0, max_inventory = 20.0, skew = {skew:?}, ttl = 2 }}
            "#
        ),
        "mm.toml",
    )
    .unwrap();
    let history = [10.0];
    let assets = [agora::agents::AssetObservation {
        name: "G",
        price: 10.0,
        supply: 100.0,
        history: &history,
        best_bid: Some(9.9),
        best_ask: Some(10.1),
        last_trade: Some(9.0),
        posted: None,
    }];
    let obs = Observation {
        step: 1,
        assets: &assets,
        incentives: &[],
        mempool: &[],
    };
    let holdings = [held * SCALE];
    let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 1);
    s.groups()[0]
        .policy
        .decide(&obs, &me, &mut AgentRng::seed_from_u64(0))
}

/// Asserts a quote of `(bid, ask)` money units, to the base unit (the
/// quote rounds a float product to the nearest base unit).
fn assert_quote(action: Action, bid: f64, ask: f64) {
    let Action::Quote {
        bid: b,
        ask: a,
        amount,
        ..
    } = action
    else {
        panic!("expected a quote, found {action:?}")
    };
    assert_eq!(amount, SCALE);
    let near = |found: u64, x: f64| (found as f64 - x * SCALE as f64).abs() <= 1.0;
    assert!(
        near(b, bid) && near(a, ask),
        "quote {b}/{a}, expected {bid}/{ask}"
    );
}

#[test]
fn a_market_maker_quotes_the_stated_spread_around_the_mid() {
    // holding half its maximum inventory (10 of 20) the skew does nothing:
    // 10 × (1 ∓ 0.02)
    assert_quote(maker_quote(0.04, 0.1, 10), 9.8, 10.2);
    // spread 5% wider: 0.042 → 10 × (1 ∓ 0.021)
    assert_quote(maker_quote(0.042, 0.1, 10), 9.79, 10.21);
    assert_quote(maker_quote(0.3, 0.0, 10), 8.5, 11.5);
}

#[test]
fn a_market_maker_skews_its_quotes_away_from_a_heavy_inventory() {
    // 15 of 20 held: 0.25 above half, centre 10 × (1 − 0.1 × 0.25) = 9.75,
    // quotes 9.75 × (1 ∓ 0.02)
    assert_quote(maker_quote(0.04, 0.1, 15), 9.555, 9.945);
    // skew 5% larger: centre 10 × (1 − 0.105 × 0.25) = 9.7375
    assert_quote(maker_quote(0.04, 0.105, 15), 9.54275, 9.93225);
    // 2 of 20 held: 0.4 below half, centre 10 × (1 + 0.4 × 0.5) = 12
    assert_quote(maker_quote(0.1, 0.5, 2), 11.4, 12.6);
}

#[test]
fn a_market_maker_quotes_one_side_when_it_cannot_quote_the_other() {
    // 20 of 20 held: a bid would take it past its maximum inventory, so it
    // only asks; fill 0.5, centre 10 × (1 − 0.1 × 0.5) = 9.5, ask 9.5 × 1.02
    assert_quote(maker_quote(0.04, 0.1, 20), 0.0, 9.69);
    // nothing held: it cannot ask for a token, so it only bids; fill −0.5,
    // centre 10 × (1 + 0.1 × 0.5) = 10.5, bid 10.5 × 0.98
    assert_quote(maker_quote(0.04, 0.1, 0), 10.29, 0.0);
}
