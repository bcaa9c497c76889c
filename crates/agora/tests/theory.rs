//! Simulations against theory: closed-form supplies and prices after known
//! purchases, and the published result of the reference model in other
//! frameworks.

use agora::agents::{AgentRng, GroupPolicy};
use agora::ledger::SCALE;
use agora::scenario::example;
use agora::{Action, AgentView, Observation, Policy, Scenario, Simulation};
use std::sync::Arc;

fn units(base: u64) -> f64 {
    base as f64 / SCALE as f64
}

fn assert_rel(found: f64, expected: f64, rel: f64, what: &str) {
    let err = (found - expected).abs() / expected.abs();
    assert!(
        err <= rel,
        "{what}: found {found}, expected {expected} (relative error {err:e} > {rel:e})"
    );
}

/// The supply reached from 0 by spending `c` on the linear curve `m·S + b`:
/// the root of `m/2·S² + b·S = c`.
fn linear_supply_for(m: f64, b: f64, c: f64) -> f64 {
    (-b + (b * b + 2.0 * m * c).sqrt()) / m
}

/// Checks the books of asset 0 after one agent (agent 0) bought with
/// exactly `c` money on a fee-free linear curve from supply 0.
fn check_single_buy(sim: &Simulation, m: f64, b: f64, c: f64, balance: f64) {
    let books = *sim.ledger().books(0);
    let market = sim.curve(0).unwrap();
    let supply = units(books.supply);
    assert_rel(
        supply,
        linear_supply_for(m, b, c),
        1e-9,
        "supply after one buy",
    );
    assert_eq!(
        sim.ledger().holding(0, 0),
        books.supply,
        "the buyer holds it all"
    );
    // The reserve is what was paid, exactly: R(S) − R(0) …
    assert_eq!(
        books.reserve,
        market.required_reserve(books.supply).unwrap()
    );
    assert_eq!(books.fee_pool, 0);
    let c_base = (c * SCALE as f64).round() as u128;
    let spent = (balance * SCALE as f64).round() as u64 - sim.ledger().balance(0);
    assert_eq!(
        books.reserve,
        u128::from(spent),
        "every unit spent is in the reserve"
    );
    // … and it is c to the base unit: the buy stopped short of c only by
    // less than the cost of one more base unit of token.
    assert!(books.reserve <= c_base, "paid more than the budget");
    let one_more = market.required_reserve(books.supply + 1).unwrap();
    assert!(
        one_more > c_base,
        "one more base unit would have cost {one_more} <= budget {c_base}"
    );
    assert!(c_base - books.reserve <= (m * supply + b).ceil() as u128);
    assert_rel(sim.price(0), m * supply + b, 1e-12, "price m·S + b");
}

#[test]
fn a_threshold_buyer_spending_its_balance_once_reaches_the_closed_form_supply() {
    let (m, b, c) = (0.001, 1.0, 1000.0);
    let text = format!(
        r#"
[simulation]
steps = 5
seed = 3

[[assets]]
name = "TOKEN"
pricing = {{ kind = "bonding_curve", curve = "linear", m = {m}, b = {b} }}

[[agents]]
group = "buyer"
count = 1
balance = {c}
policy = {{ kind = "threshold", asset = "TOKEN", buy_below = 1.5, sell_above = 1000.0, p_trade = 1.0, buy_fraction = 1.0, sell_fraction = 0.0 }}
"#
    );
    let scenario = Scenario::from_toml_str(&text, "single-buy.toml").expect("valid");
    let mut sim = Simulation::new(&scenario, 0).expect("set up");
    sim.advance().expect("step 1");
    assert_eq!(sim.records().assets.last().unwrap().trades, 1);
    check_single_buy(&sim, m, b, c, c);
    // the price is now above buy_below: nothing more happens
    let after_one = *sim.ledger().books(0);
    for _ in 2..=5 {
        sim.advance().expect("step");
        assert_eq!(*sim.ledger().books(0), after_one);
    }
    check_single_buy(&sim, m, b, c, c);
}

/// Buys with exactly `spend` at step 1, holds afterwards.
#[derive(Debug)]
struct BuyOnceAtStepOne {
    spend: u64,
}

impl Policy for BuyOnceAtStepOne {
    fn decide(&self, obs: &Observation<'_>, _me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        if obs.step == 1 {
            Action::Buy {
                asset: 0,
                spend: self.spend,
            }
        } else {
            Action::Hold
        }
    }
}

#[test]
fn a_custom_policy_buying_once_with_budget_c_reaches_the_closed_form_supply() {
    let (m, b, c, balance) = (0.02, 3.0, 1234.5, 5000.0);
    let text = format!(
        r#"
[simulation]
steps = 3
seed = 9

[[assets]]
name = "TOKEN"
pricing = {{ kind = "bonding_curve", curve = "linear", m = {m}, b = {b} }}

[[agents]]
group = "buyer"
count = 1
balance = {balance}
policy = {{ kind = "random", asset = "TOKEN", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }}
"#
    );
    let scenario = Scenario::from_toml_str(&text, "custom-buy.toml").expect("valid");
    let mut sim = Simulation::new(&scenario, 0).expect("set up");
    let spend = (c * SCALE as f64).round() as u64;
    sim.set_policy(
        "buyer",
        GroupPolicy::Custom(Arc::new(BuyOnceAtStepOne { spend })),
    )
    .expect("group exists");
    for _ in 0..3 {
        sim.advance().expect("step");
    }
    check_single_buy(&sim, m, b, c, balance);
    assert!(sim
        .set_policy(
            "nobody",
            GroupPolicy::Custom(Arc::new(BuyOnceAtStepOne { spend }))
        )
        .is_err());
}

#[test]
fn the_reference_scenario_ends_near_the_peers_published_final_price() {
    // bench/peers/README.md: plain Python 82.18, Mesa and radCAD 82.16
    // at 10,000 agents × 100 steps. The random streams differ, so agree to 1%.
    let scenario = example("reference").expect("reference example");
    assert_eq!(scenario.agent_count(), 10_000);
    assert_eq!(scenario.simulation().steps, 100);
    let out = Simulation::new(&scenario, 0)
        .expect("set up")
        .run()
        .expect("run");
    let token = &out.summary.assets["TOKEN"];
    let peers = 82.17;
    assert_rel(token.final_price, peers, 0.01, "final price vs the peers");
    // on the curve: P = 0.001·S + 1
    assert_rel(
        token.final_price,
        0.001 * token.final_supply + 1.0,
        1e-12,
        "final price on the curve",
    );
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert_eq!(out.summary.ledger.reserve_shortfall, 0.0);
    assert_eq!(out.summary.ledger.rejected_actions, 0);
    assert_eq!(out.summary.ledger.clipped_actions, 0);
}

/// Softplus ln(1 + e^x).
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// When every agent spends its whole balance at step 1 (p_buy = 1,
/// p_sell = 0, buy_fraction = 1), the total spend C ends in the reserve and
/// the supply is the closed-form inverse of the curve's integral at C.
fn check_everyone_buys_everything(
    pricing: &str,
    supply_for: impl Fn(f64) -> f64,
    price_at: impl Fn(f64) -> f64,
) {
    let (count, balance) = (2000u64, 1000.0);
    let text = format!(
        r#"
[simulation]
steps = 1
seed = 5

[[assets]]
name = "TOKEN"
pricing = {{ kind = "bonding_curve", {pricing} }}

[[agents]]
group = "buyers"
count = {count}
balance = {balance}
policy = {{ kind = "random", asset = "TOKEN", p_buy = 1.0, p_sell = 0.0, buy_fraction = 1.0, sell_fraction = 0.0 }}
"#
    );
    let scenario = Scenario::from_toml_str(&text, "all-in.toml").expect("valid");
    let mut sim = Simulation::new(&scenario, 0).expect("set up");
    sim.advance().expect("step 1");
    assert_eq!(
        sim.records().assets.last().unwrap().trades,
        count,
        "{pricing}: every agent buys at step 1"
    );
    let books = *sim.ledger().books(0);

    let total = count * (balance * SCALE as f64) as u64;
    let balances: u64 = (0..count as u32).map(|i| sim.ledger().balance(i)).sum();
    assert_eq!(
        books.reserve + u128::from(balances),
        u128::from(total),
        "{pricing}: money conserved"
    );
    assert_eq!(
        Some(books.reserve),
        sim.curve(0).unwrap().required_reserve(books.supply)
    );
    let price = sim.price(0);
    for i in 0..count as u32 {
        // What is left is less than one more base unit of token costs, up to
        // the documented accuracy of the inverse of the integral (1e-12
        // relative, in tokens); curves.rs pins the exact bound.
        let held = sim.ledger().holding(i, 0);
        assert!(held > 0, "{pricing}: agent {i} bought nothing");
        let left = sim.ledger().balance(i) as f64;
        assert!(
            left < price * (1.0 + 1e-12 * held as f64) + 1.0,
            "{pricing}: agent {i} kept {left} base units at price {price}"
        );
    }
    let spent = units(total);
    let supply = units(books.supply);
    assert_rel(
        supply,
        supply_for(spent),
        1e-9,
        &format!("{pricing}: supply"),
    );
    assert_rel(price, price_at(supply), 1e-12, &format!("{pricing}: price"));
    assert_rel(
        price,
        price_at(supply_for(spent)),
        1e-9,
        &format!("{pricing}: price at the closed-form supply"),
    );
}

#[test]
fn when_everyone_spends_everything_on_a_linear_curve_supply_and_price_follow_the_closed_form() {
    let (m, b) = (0.001, 1.0);
    check_everyone_buys_everything(
        &format!("curve = \"linear\", m = {m}, b = {b}"),
        |c| linear_supply_for(m, b, c),
        |s| m * s + b,
    );
}

#[test]
fn when_everyone_spends_everything_on_an_exponential_curve_supply_follows_the_closed_form() {
    let (a, k) = (1.0, 1e-4);
    check_everyone_buys_everything(
        &format!("curve = \"exponential\", a = {a}, k = {k}"),
        |c| (k * c / a).ln_1p() / k,
        |s| a * (k * s).exp(),
    );
}

#[test]
fn when_everyone_spends_everything_on_a_sigmoid_curve_supply_follows_the_closed_form() {
    let (cap, k, s0) = (100.0, 0.001, 5000.0);
    check_everyone_buys_everything(
        &format!("curve = \"sigmoid\", K = {cap}, k = {k}, S0 = {s0}"),
        // (K/k)·(sp(k(S − S0)) − sp(−k·S0)) = C
        |c| {
            let y = c * k / cap + softplus(-k * s0);
            s0 + y.exp_m1().ln() / k
        },
        |s| cap / (1.0 + (-k * (s - s0)).exp()),
    );
}

#[test]
fn when_everyone_spends_everything_on_a_power_curve_supply_follows_the_closed_form() {
    let (a, n) = (0.01, 1.5);
    check_everyone_buys_everything(
        &format!("curve = \"power\", a = {a}, n = {n}"),
        |c| ((n + 1.0) * c / a).powf(1.0 / (n + 1.0)),
        |s| a * s.powf(n),
    );
}

#[test]
fn when_everyone_spends_everything_on_a_bancor_curve_the_reserve_is_r_times_market_cap() {
    let (r, p0, s0) = (0.5, 10.0, 10000.0);
    check_everyone_buys_everything(
        &format!("curve = \"bancor\", reserve_ratio = {r}, p0 = {p0}, s0 = {s0}"),
        // F(S) = r·S·f(S) = r·p0·s0·(S/s0)^{1/r} = C
        |c| s0 * (c / (r * p0 * s0)).powf(r),
        |s| p0 * (s / s0).powf(1.0 / r - 1.0),
    );
    // and, directly: reserve = r · supply · price
    let scenario = Scenario::from_toml_str(
        &format!(
            r#"
[simulation]
steps = 1
seed = 1
[[assets]]
name = "B"
pricing = {{ kind = "bonding_curve", curve = "bancor", reserve_ratio = {r}, p0 = {p0}, s0 = {s0} }}
[[agents]]
group = "g"
count = 100
balance = 500.0
policy = {{ kind = "random", asset = "B", p_buy = 1.0, p_sell = 0.0, buy_fraction = 0.5, sell_fraction = 0.0 }}
"#
        ),
        "bancor.toml",
    )
    .expect("valid");
    let out = Simulation::new(&scenario, 0).unwrap().run().unwrap();
    let a = &out.summary.assets["B"];
    assert_rel(
        a.final_reserve,
        r * a.final_supply * a.final_price,
        1e-9,
        "Bancor reserve ratio",
    );
}
