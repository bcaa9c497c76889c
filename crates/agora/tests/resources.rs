//! Resource economies in the engine: allocation against capacity, prices
//! against theory, exact accounting.

use agora::engine::PriceSource;
use agora::engine::RunOutput;
use agora::ledger::SCALE;
use agora::scenario::example;
use agora::{Scenario, Simulation};
use proptest::prelude::*;

fn run(scenario: &Scenario) -> RunOutput {
    Simulation::new(scenario, 0).unwrap().run().unwrap()
}

/// The output files of a run, as bytes (records hold NaN, which is not
/// equal to itself, so runs are compared by what they write).
pub fn files(s: &Scenario, out: &RunOutput) -> Vec<Vec<u8>> {
    let runs = std::slice::from_ref(out);
    vec![
        agora::output::assets_csv(s, runs).unwrap(),
        agora::output::agents_csv(s, runs).unwrap(),
        agora::output::summary_json(s, runs).unwrap(),
    ]
}

const EXAMPLES: [&str; 6] = [
    "resource-economy",
    "resource-proportional",
    "resource-priority",
    "resource-max-min",
    "resource-fcfs",
    "resource-auction",
];

/// Per-step invariants of a resource's rows: allocated ≤ capacity and ≤
/// requested; columns filled at every step from 0.
fn check_rows(out: &RunOutput, what: &str) {
    for r in &out.records.assets {
        let (Some(capacity), Some(requested), Some(allocated)) =
            (r.capacity, r.requested, r.allocated)
        else {
            panic!("{what}: a resource row without its numbers: {r:?}");
        };
        assert!(allocated <= capacity + 1e-9, "{what}: {r:?}");
        assert!(allocated <= requested + 1e-9, "{what}: {r:?}");
    }
    for (name, a) in &out.summary.assets {
        let res = a.resource.as_ref().unwrap();
        assert!(res.utilization <= 1.0, "{what} {name}: {}", res.utilization);
        assert!((0.0..=1.0).contains(&res.unmet_share));
    }
    for g in out.summary.groups.values() {
        if let Some(share) = g.needs_met_share {
            assert!((0.0..=1.0).contains(&share), "{what}: needs met {share}");
        }
    }
    assert_eq!(out.summary.ledger.conservation_error, 0.0, "{what}");
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0, "{what}");
}

#[test]
fn every_resource_example_keeps_allocations_within_capacity_and_conserves() {
    for name in EXAMPLES {
        let s = example(name).unwrap();
        let a = run(&s);
        check_rows(&a, name);
        let allocated: f64 = a.records.assets.iter().filter_map(|r| r.allocated).sum();
        assert!(allocated > 0.0, "{name}: nothing allocated");
        assert_eq!(
            files(&s, &a),
            files(&s, &run(&s)),
            "{name}: not reproducible"
        );
    }
}

#[test]
fn the_mechanisms_differ_as_theory_says() {
    let summary = |name: &str| {
        let out = run(&example(name).unwrap());
        let r = out.summary.assets["COMPUTE"].resource.clone().unwrap();
        let premium = out.summary.groups["premium"].needs_met_share.unwrap();
        let standard = out.summary.groups["standard"].needs_met_share.unwrap();
        (r, premium, standard)
    };
    // Inelastic requests equal needs: proportional rationing gives every
    // consumer the same share of its need (Jain 1, Gini 0).
    let (p, _, _) = summary("resource-proportional");
    assert!((p.jain_index - 1.0).abs() < 1e-6, "{p:?}");
    assert!(p.gini < 1e-6);
    // Max-min fairness is fairer than first come first served.
    let (m, _, _) = summary("resource-max-min");
    let (f, _, _) = summary("resource-fcfs");
    assert!(m.jain_index > f.jain_index, "{m:?} vs {f:?}");
    // Priority by willingness to pay serves the premium group in full.
    let (_, premium, standard) = summary("resource-priority");
    assert_eq!(premium, 1.0);
    assert!(standard < 0.6);
    // Every mechanism here uses the whole (scarce) capacity.
    for r in [&p, &m, &f] {
        assert!((r.utilization - 1.0).abs() < 1e-9, "{r:?}");
    }
}

fn linear_consumers(lambda: f64, steps: u64, mechanism: &str) -> Scenario {
    // 100 consumers, each needing 1 unit worth 4: D(P) = 100 (1 − P/4).
    // Capacity 50: D = 50 at P* = 2. ΔP = λ (D − O), so the error shrinks
    // by 1 − 25 λ a step.
    Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = {steps}
            seed = 2
            [[assets]]
            name = "R"
            kind = "resource"
            capacity = 50.0
            allocation = "{mechanism}"
            pricing = {{ kind = "price_adjustment", rule = "linear", lambda = {lambda:?}, initial_price = 3.0, min_price = 0.001 }}
            [[agents]]
            group = "c"
            count = 100
            balance = 1000000.0
            policy = {{ kind = "consumer", asset = "R", need = {{ distribution = "constant", value = 1.0 }}, value = 4.0, demand = "linear" }}
            "#
        ),
        "test",
    )
    .unwrap()
}

#[test]
fn price_adjustment_with_linear_demand_converges_to_where_demand_equals_capacity() {
    for lambda in [0.01, 0.02, 0.05] {
        let out = run(&linear_consumers(lambda, 200, "proportional"));
        let p = out.records.assets.last().unwrap().price;
        assert!((p - 2.0).abs() < 1e-6, "lambda {lambda}: P = {p}");
        let first = &out.records.assets[1];
        // the first step moves by the predicted factor (requests are whole
        // base units, so up to 100 base units below the exact demand)
        let factor = (first.price - 2.0) / (3.0 - 2.0);
        assert!((factor - (1.0 - 25.0 * lambda)).abs() < 1e-6, "{factor}");
    }
    // too large a step: |1 − 25 λ| = 1.5, no convergence
    let out = run(&linear_consumers(0.1, 200, "proportional"));
    let late: Vec<f64> = out.records.assets[150..].iter().map(|r| r.price).collect();
    assert!(late.iter().any(|p| (p - 2.0).abs() > 0.1), "{late:?}");
}

/// One step of a uniform-price auction of a capacity of 9 units among
/// four consumers with 100 money each, bidding (need @ value) 4 @ 10,
/// 3 @ 8, 5 @ 6 and 2 @ 5.
fn four_bids() -> Scenario {
    Scenario::from_toml_str(&four_bids_text(), "test").unwrap()
}

/// The text of [`four_bids`].
fn four_bids_text() -> String {
    let mut text = String::from(
        r#"
        [simulation]
        steps = 1
        seed = 1
        [[assets]]
        name = "R"
        kind = "resource"
        capacity = 9.0
        pricing = { kind = "auction", reserve_price = 1.0 }
        "#,
    );
    for (g, (need, value)) in [(4.0, 10.0), (3.0, 8.0), (5.0, 6.0), (2.0, 5.0)]
        .iter()
        .enumerate()
    {
        text.push_str(&format!(
            r#"
            [[agents]]
            group = "g{g}"
            count = 1
            balance = 100.0
            policy = {{ kind = "consumer", asset = "R", need = {{ distribution = "constant", value = {need:?} }}, value = {value:?} }}
            "#
        ));
    }
    text
}

#[test]
fn a_uniform_price_auction_clears_where_the_demand_curve_crosses_capacity() {
    // Demand at p: p ≤ 5: 14, ≤ 6: 12, ≤ 8: 7 — it crosses 9 at p = 6:
    // the bids at 10 and 8 are filled (7 units), the one at 6 gets 2.
    let s = four_bids();
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    let r = sim.records().assets[1].clone();
    assert_eq!(r.price, 6.0);
    assert_eq!(r.allocated, Some(9.0));
    assert_eq!(r.requested, Some(14.0));
    // each winner paid 6 per unit: 4·6, 3·6, 2·6
    let paid: Vec<u64> = (0..4)
        .map(|a| 100 * SCALE - sim.ledger().balance(a))
        .collect();
    assert_eq!(paid, vec![24 * SCALE, 18 * SCALE, 12 * SCALE, 0]);
    // and consumed what they received: nothing is left held
    assert_eq!(sim.ledger().books(0).supply, 0);
    assert_eq!(sim.unmet_need(2), 3 * SCALE);
    assert_eq!(sim.unmet_need(3), 2 * SCALE);
}

#[test]
fn only_the_allocated_requests_of_an_auction_are_trades_and_the_summary_counts_every_request() {
    // The bids at 10, 8 and 6 win 4, 3 and 2 units at 6; the bid at 5 is
    // a request (its 2 units count as requested) allocated nothing, so it
    // is no trade: 3 trades of 9 units, the last at 6.
    let s = four_bids();
    let mut sim = Simulation::new(&s, 0).unwrap();
    assert_eq!(sim.observe().assets[0].last_trade, None);
    sim.advance().unwrap();
    let r = sim.records().assets[1].clone();
    assert_eq!((r.trades, r.volume), (3, u128::from(9 * SCALE)));
    assert_eq!(sim.observe().assets[0].last_trade, Some(6.0));
    let out = sim.finish().unwrap();
    let res = out.summary.assets["R"].resource.clone().unwrap();
    assert_eq!((res.requested, res.allocated), (14.0, 9.0));
}

#[test]
fn a_request_pays_the_posted_price_of_its_own_step_while_the_price_moves() {
    // One consumer needing 1 unit a step, worth 1.5, against a capacity of
    // 8 whose posted price moves by ΔP = (D − O)/8, floored at 1/16. Step
    // 1: the price 2 is above 1.5, so the request is turned away (D = 0)
    // and the price falls to 2 − 8/8 = 1. Step 2: it buys 1 unit at 1,
    // and the price falls to 1 − 7/8 = 1/8; step 3: 1 unit at 1/8, and the
    // price falls to the floor; step 4: 1 unit at 1/16. All exact.
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 4
        seed = 1
        [[assets]]
        name = "R"
        kind = "resource"
        capacity = 8.0
        allocation = "proportional"
        pricing = { kind = "price_adjustment", rule = "linear", lambda = 0.125, initial_price = 2.0, min_price = 0.0625 }
        [[agents]]
        group = "c"
        count = 1
        balance = 10.0
        policy = { kind = "consumer", asset = "R", need = { distribution = "constant", value = 1.0 }, value = 1.5 }
        "#,
        "test",
    )
    .unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    let mut balance = 10.0;
    let mut last = None;
    for (price, next, bought) in [
        (2.0, 1.0, false),
        (1.0, 0.125, true),
        (0.125, 0.0625, true),
        (0.0625, 0.0625, true),
    ] {
        let step = sim.step() + 1;
        assert_eq!(sim.observe().assets[0].price, price, "step {step}");
        sim.advance().unwrap();
        if bought {
            balance -= price;
            last = Some(price);
        }
        let r = sim.records().assets.last().unwrap().clone();
        assert_eq!(
            r.allocated,
            Some(if bought { 1.0 } else { 0.0 }),
            "step {step}"
        );
        assert_eq!(r.price, next, "step {step}");
        assert_eq!(
            sim.ledger().balance(0),
            (balance * SCALE as f64) as u64,
            "step {step}"
        );
        // the last trade is the price paid, not the price moved to since
        assert_eq!(sim.observe().assets[0].last_trade, last, "step {step}");
    }
}

#[test]
fn the_steps_a_logarithmic_price_rule_caps_are_counted_and_only_for_that_rule() {
    // Needs of 1 unit every other step (need_schedule [1, 0]) against a
    // capacity of 10: at steps 2, 4 and 6 nothing is requested, ln(0/10) =
    // −∞ is capped; at steps 1, 3, 5 |ln(1/10)| is within ln 10⁶. A linear
    // rule has no such cap: no count at all.
    let scenario = |rule: &str| {
        Scenario::from_toml_str(
            &format!(
                r#"
                [simulation]
                steps = 6
                seed = 1
                [[assets]]
                name = "R"
                kind = "resource"
                capacity = 10.0
                allocation = "proportional"
                pricing = {{ kind = "price_adjustment", rule = "{rule}", lambda = 0.01, initial_price = 1.0, min_price = 0.01 }}
                [[agents]]
                group = "c"
                count = 1
                balance = 100.0
                policy = {{ kind = "consumer", asset = "R", need = {{ distribution = "constant", value = 1.0 }}, need_schedule = [1.0, 0.0], value = 50.0 }}
                "#
            ),
            "test",
        )
        .unwrap()
    };
    let capped = |rule: &str| {
        let out = run(&scenario(rule));
        let requested: Vec<f64> = out.records.assets[1..]
            .iter()
            .map(|r| r.requested.unwrap())
            .collect();
        assert_eq!(requested, [1.0, 0.0, 1.0, 0.0, 1.0, 0.0], "{rule}");
        out.summary.assets["R"]
            .resource
            .as_ref()
            .unwrap()
            .log_ratio_cap_steps
    };
    assert_eq!(capped("logarithmic"), Some(3));
    assert_eq!(capped("linear"), None);
}

#[test]
fn an_outage_cuts_capacity_for_its_duration_and_stability_is_measured() {
    let out = run(&example("resource-economy").unwrap());
    let caps: Vec<f64> = out
        .records
        .assets
        .iter()
        .map(|r| r.capacity.unwrap())
        .collect();
    // base capacity 500 halved from step 60 to 69 (production adds on top)
    for t in 60..70 {
        assert!(caps[t] < caps[59] - 200.0, "step {t}: {}", caps[t]);
    }
    assert!(caps[70] > caps[69] + 200.0);
    let a = &out.summary.assets["COMPUTE"];
    let shock = a.shock.as_ref().expect("stability metrics");
    assert!(shock.max_deviation > 0.2, "{shock:?}");
    let r = a.resource.as_ref().unwrap();
    // welfare is the value of needs met less the production cost
    assert!(
        r.production_cost > 0.0 && r.value_of_needs_met > 0.0,
        "{r:?}"
    );
    assert_eq!(r.welfare, r.value_of_needs_met - r.production_cost);
}

/// An outage of a share `q` of a stock leaves `(1 − q)` of what is in stock
/// available: the same economy without the outage draws the same 10 units a
/// step (the cut stock still covers them), so its capacity path is the
/// stock's, and the outage's steps show `0.75 ×` it, the others the same.
#[test]
fn an_outage_of_a_stock_leaves_the_rest_of_the_stock_available() {
    let text = |events: &str| {
        format!(
            r#"
        [simulation]
        steps = 6
        seed = 2
        [[assets]]
        name = "R"
        kind = "resource"
        renewal = "stock"
        capacity = 100.0
        pricing = {{ kind = "fixed", price = 0.0 }}
        [[agents]]
        group = "c"
        count = 10
        balance = 10.0
        policy = {{ kind = "consumer", asset = "R", need = {{ distribution = "constant", value = 1.0 }}, value = 1.0 }}
        {events}
        "#
        )
    };
    let caps = |events: &str| -> Vec<f64> {
        let s = Scenario::from_toml_str(&text(events), "stock.toml").unwrap();
        let out = run(&s);
        let allocated: Vec<f64> = out.records.assets[1..]
            .iter()
            .map(|r| r.allocated.unwrap())
            .collect();
        assert!(allocated.iter().all(|&a| a == 10.0), "{allocated:?}");
        out.records
            .assets
            .iter()
            .map(|r| r.capacity.unwrap())
            .collect()
    };
    let stock = caps("");
    // the stock falls by the 10 units drawn each step
    for t in 2..stock.len() {
        assert_eq!(stock[t], stock[t - 1] - 10.0, "{stock:?}");
    }
    let cut = caps(
        r#"[[events]]
        kind = "outage"
        asset = "R"
        at = 3
        duration = 2
        share = 0.25"#,
    );
    for t in 0..stock.len() {
        let expected = if t == 3 || t == 4 {
            0.75 * stock[t]
        } else {
            stock[t]
        };
        assert_eq!(cut[t], expected, "step {t}: {cut:?} against {stock:?}");
    }
}

#[test]
fn a_stock_depletes_and_production_replenishes_it() {
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 30
        seed = 4
        [[assets]]
        name = "ENERGY"
        kind = "resource"
        renewal = "stock"
        capacity = 30.0
        decay = 0.01
        holding_cost = 0.01
        allocation = "max_min"
        pricing = { kind = "price_adjustment", rule = "proportional", lambda = 0.3, initial_price = 1.0, min_price = 0.01 }
        [[agents]]
        group = "users"
        count = 20
        balance = 1000.0
        policy = { kind = "consumer", asset = "ENERGY", need = { distribution = "uniform", low = 0.5, high = 1.5 }, value = 5.0 }
        [[agents]]
        group = "plants"
        count = 2
        balance = 1000.0
        policy = { kind = "producer", asset = "ENERGY", cost = 1.5, max_output = 5.0, lead_time = 3 }
        "#,
        "test",
    )
    .unwrap();
    let out = run(&s);
    check_rows(&out, "stock");
    let caps: Vec<f64> = out
        .records
        .assets
        .iter()
        .map(|r| r.capacity.unwrap())
        .collect();
    assert_eq!(caps[0], 30.0);
    // the stock falls as it is used, then production holds it up
    assert!(caps[10] < caps[1], "{caps:?}");
    assert!(
        out.summary.assets["ENERGY"]
            .resource
            .as_ref()
            .unwrap()
            .production_cost
            > 0.0
    );
}

/// A stock of 64 units of ICE, half of it decaying each step, at a fixed
/// price of 1, and two users with 10 money each who need none of it; with
/// `asset` and `agents` added to the asset's and the group's tables.
fn idle_ice(asset: &str, agents: &str) -> Scenario {
    idle_ice_decaying(0.5, asset, agents)
}

/// [`idle_ice`] with the share `decay` of the stock lost each step.
fn idle_ice_decaying(decay: f64, asset: &str, agents: &str) -> Scenario {
    Scenario::from_toml_str(
        &format!(
            r#"
        [simulation]
        steps = 10
        seed = 1
        [[assets]]
        name = "ICE"
        kind = "resource"
        renewal = "stock"
        capacity = 64.0
        decay = {decay:?}
        {asset}
        allocation = "proportional"
        pricing = {{ kind = "fixed", price = 1.0 }}
        [[agents]]
        group = "users"
        count = 2
        balance = 10.0
        {agents}
        policy = {{ kind = "consumer", asset = "ICE", need = {{ distribution = "constant", value = 0.0 }}, value = 5.0 }}
        "#
        ),
        "test",
    )
    .unwrap()
}

#[test]
fn an_unused_stock_decays_by_its_rate_from_the_second_step() {
    // Nobody needs the stock (need 0), so only decay takes from it: half of
    // it a step from step 2 on (step 1 starts with the whole of it), 64 ·
    // 2^-(t-1) units at step t, exact in base units down to 1/8.
    let s = idle_ice("", "");
    let out = run(&s);
    let caps: Vec<(u64, f64)> = out
        .records
        .assets
        .iter()
        .map(|r| (r.step, r.capacity.unwrap()))
        .collect();
    for &(t, cap) in &caps[..caps.len().min(10)] {
        let expected = 64.0 * 0.5f64.powi(t.saturating_sub(1) as i32);
        assert_eq!(cap, expected, "step {t}: {caps:?}");
    }
    assert!(caps.len() >= 8, "{caps:?}");
    // No production arrives: nothing is minted into the stock after setup.
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    let mints = sim.ledger().counts().mints;
    for _ in 0..5 {
        sim.advance().unwrap();
    }
    assert_eq!(sim.ledger().counts().mints, mints);
}

#[test]
fn held_units_of_a_stock_decay_and_pay_the_holding_cost_on_what_is_left() {
    // Two users hold 8 units each and need none: from step 2 each holding
    // loses half, and its holder pays 0.125 a unit on the half kept, so
    // after step 10 (nine decays) 8·2⁻⁹ units are left and 0.125 · 8 ·
    // (2⁻¹ + … + 2⁻⁹) = 0.125 · 8 · (1 − 2⁻⁹) has been paid, all exact.
    let s = idle_ice(
        "holding_cost = 0.125",
        r#"holdings = { asset = "ICE", total = 16.0, distribution = "uniform" }"#,
    );
    let mut sim = Simulation::new(&s, 0).unwrap();
    while sim.step() < 10 {
        sim.advance().unwrap();
    }
    let paid = 0.125 * 8.0 * (1.0 - 0.5f64.powi(9));
    for a in 0..2 {
        let held = sim.ledger().holding(a, 0) as f64 / SCALE as f64;
        let balance = sim.ledger().balance(a) as f64 / SCALE as f64;
        assert_eq!(held, 8.0 * 0.5f64.powi(9), "agent {a}");
        assert_eq!(balance, 10.0 - paid, "agent {a}");
    }
}

#[test]
fn a_stock_without_decay_loses_nothing_and_its_holders_pay_the_holding_cost_on_all_of_it() {
    // No decay: the stock and the two holdings of 8 units stay whole, and
    // from step 2 each holder pays 0.125 a unit on its 8 units, 1 a step:
    // after step 10 (nine charges) 10 − 9 = 1 money is left. Nothing is
    // consumed, decayed or expired, so the ledger burns nothing at all.
    let s = idle_ice_decaying(
        0.0,
        "holding_cost = 0.125",
        r#"holdings = { asset = "ICE", total = 16.0, distribution = "uniform" }"#,
    );
    let mut sim = Simulation::new(&s, 0).unwrap();
    while sim.step() < 10 {
        sim.advance().unwrap();
    }
    for a in 0..2 {
        assert_eq!(sim.ledger().holding(a, 0), 8 * SCALE, "agent {a}");
        assert_eq!(sim.ledger().balance(a), SCALE, "agent {a}");
    }
    assert_eq!(sim.ledger().counts().burns, 0);
    let out = sim.finish().unwrap();
    let caps: Vec<f64> = out
        .records
        .assets
        .iter()
        .map(|r| r.capacity.unwrap())
        .collect();
    assert_eq!(caps, vec![caps[0]; 11]);
    assert_eq!(out.summary.ledger.burns, 0);
}

/// Two users hold 8 units each of a stock that does not decay, need 3
/// units a step, and have no money to buy more (a consumer asks only what
/// its balance pays for: nothing). Each step consumes the need from the
/// holding while it lasts: 8 − 3t units are left after step t (5, 2), then
/// step 3 consumes the last 2 and leaves 1 unmet, and every later step
/// leaves all 3 unmet. Over 5 steps each user needs 15, is served its 8
/// and leaves 1 + 3 + 3 = 7 unmet (14 of the resource's demand); the 16
/// units consumed are burned, in six burns (two users at steps 1 to 3),
/// and nothing else is.
#[test]
fn a_consumer_uses_up_its_holding_of_a_stock_by_its_need_each_step() {
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 5
        seed = 1
        [[assets]]
        name = "ICE"
        kind = "resource"
        renewal = "stock"
        capacity = 64.0
        allocation = "proportional"
        pricing = { kind = "fixed", price = 1.0 }
        [[agents]]
        group = "users"
        count = 2
        balance = 0.0
        holdings = { asset = "ICE", total = 16.0, distribution = "uniform" }
        policy = { kind = "consumer", asset = "ICE", need = { distribution = "constant", value = 3.0 }, value = 5.0 }
        "#,
        "test",
    )
    .unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    for (t, left) in [(1, 5), (2, 2), (3, 0), (4, 0), (5, 0)] {
        sim.advance().unwrap();
        assert_eq!(sim.step(), t);
        for a in 0..2 {
            assert_eq!(
                sim.ledger().holding(a, 0),
                left * SCALE,
                "agent {a} after step {t}"
            );
            assert_eq!(sim.ledger().balance(a), 0, "agent {a} after step {t}");
        }
    }
    assert_eq!(sim.ledger().counts().burns, 6);
    let out = sim.finish().unwrap();
    let users = &out.summary.groups["users"];
    assert_eq!(users.unmet_need, Some(7.0), "{users:?}");
    assert_eq!(users.needs_met_share, Some(8.0 / 15.0), "{users:?}");
    let r = out.summary.assets["ICE"].resource.as_ref().unwrap();
    assert_eq!(r.unmet_demand, 14.0, "{r:?}");
}

#[test]
fn production_due_at_a_step_adds_to_a_stock_at_that_step() {
    // A stock of 10 units that nobody needs, at a fixed price of 2, and a
    // producer whose cost is 1 (under the price): it makes 5 units every
    // step, due 2 steps later. From step 3 on 5 units arrive each step, so
    // the stock at step t is 10 + 5·(t − 2); the producer pays 5 a step and
    // is paid 2·5 for each arrival: 100 − 5t + 10·(t − 2) after step t.
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 6
        seed = 1
        [[assets]]
        name = "ICE"
        kind = "resource"
        renewal = "stock"
        capacity = 10.0
        allocation = "proportional"
        pricing = { kind = "fixed", price = 2.0 }
        [[agents]]
        group = "plant"
        count = 1
        balance = 100.0
        policy = { kind = "producer", asset = "ICE", cost = 1.0, max_output = 5.0, lead_time = 2 }
        "#,
        "test",
    )
    .unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    for t in 1..=6u64 {
        sim.advance().unwrap();
        let arrived = t.saturating_sub(2);
        let r = sim.records().assets.last().unwrap().clone();
        assert_eq!(r.step, t);
        assert_eq!(r.capacity, Some(10.0 + 5.0 * arrived as f64), "step {t}");
        assert_eq!(
            sim.ledger().books(0).supply,
            (10 + 5 * arrived) * SCALE,
            "step {t}"
        );
        assert_eq!(
            sim.ledger().balance(0),
            (100 - 5 * t + 10 * arrived) * SCALE,
            "step {t}"
        );
    }
}

/// `steps` steps of a resource of capacity 10 at a fixed price of 2,
/// allocated in proportion, and one consumer with `balance` money and a
/// constant need of `need` units, each worth `value`.
fn one_consumer_at_two(steps: u64, balance: f64, need: f64, value: f64) -> Scenario {
    let text = format!(
        r#"
        [simulation]
        steps = {steps}
        seed = 1
        [[assets]]
        name = "R"
        kind = "resource"
        capacity = 10.0
        allocation = "proportional"
        pricing = {{ kind = "fixed", price = 2.0 }}
        [[agents]]
        group = "c"
        count = 1
        balance = {balance:?}
        policy = {{ kind = "consumer", asset = "R", need = {{ distribution = "constant", value = {need:?} }}, value = {value:?} }}
        "#
    );
    Scenario::from_toml_str(&text, "test").unwrap()
}

#[test]
fn a_request_its_balance_pays_is_not_clipped() {
    // A need of 3 units at a fixed price of 2 asks to lock 3 · 2 = 6 money:
    // - with 6 or 7 the payment fits, nothing is clipped (or rejected), 3
    //   units are bought and 0 or 1 money is left;
    // - with 5 the consumer itself asks only what its balance pays for,
    //   5/2 = 2.5 units: nothing clipped either, 0 money left.
    let after = |balance: f64| {
        let s = one_consumer_at_two(1, balance, 3.0, 5.0);
        let mut sim = Simulation::new(&s, 0).unwrap();
        sim.advance().unwrap();
        let r = sim.records().assets.last().unwrap().clone();
        let counts = sim.ledger().counts();
        (
            r.allocated.unwrap(),
            sim.ledger().balance(0),
            counts.clipped,
            counts.rejected,
        )
    };
    assert_eq!(after(6.0), (3.0, 0, 0, 0));
    assert_eq!(after(7.0), (3.0, SCALE, 0, 0));
    assert_eq!(after(5.0), (2.5, 0, 0, 0));
}

proptest! {
    #![proptest_config(super::support::proptest_config(256))]

    /// Random resource economies: no allocation exceeds its request or the
    /// capacity, utilisation ≤ 1, needs met ≤ needs, money and units
    /// conserved at every step (the engine checks; the run would fail).
    #[test]
    fn resource_economies_allocate_within_capacity_and_conserve(
        seed in 0u64..10_000,
        mechanism in 0usize..5,
        capacity in 0.0f64..200.0,
        consumers in 1u32..60,
        stock in proptest::bool::ANY,
        outage in 0.0f64..1.0,
    ) {
        let mech = ["proportional", "priority", "max_min", "fcfs", "auction"][mechanism];
        let pricing = if mech == "auction" {
            r#"{ kind = "auction", reserve_price = 0.2 }"#
        } else {
            r#"{ kind = "price_adjustment", rule = "logarithmic", lambda = 0.2, initial_price = 1.0, min_price = 0.01 }"#
        };
        let renewal = if stock { "stock" } else { "renewing" };
        let text = format!(
            r#"
            [simulation]
            steps = 15
            seed = {seed}
            [[assets]]
            name = "R"
            kind = "resource"
            renewal = "{renewal}"
            capacity = {capacity:?}
            allocation = "{mech}"
            pricing = {pricing}
            [[agents]]
            group = "c"
            count = {consumers}
            balance = 20.0
            policy = {{ kind = "consumer", asset = "R", need = {{ distribution = "lognormal", mu = 0.0, sigma = 1.0 }}, value = 2.0, elasticity = 0.5, reference_price = 1.0 }}
            [[agents]]
            group = "p"
            count = 2
            balance = 50.0
            policy = {{ kind = "producer", asset = "R", cost = 0.5, max_output = 3.0, lead_time = 1 }}
            [[events]]
            kind = "outage"
            asset = "R"
            at = 5
            duration = 3
            share = {outage:?}
            "#
        );
        let s = Scenario::from_toml_str(&text, "prop").unwrap();
        let out = run(&s);
        check_rows(&out, "prop");
    }
}

#[test]
fn needs_can_follow_a_schedule() {
    // constant need 1 times [1, 3]: requests alternate 100 and 300 units
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 4
        seed = 1
        [[assets]]
        name = "R"
        kind = "resource"
        capacity = 1000.0
        pricing = { kind = "fixed", price = 0.0 }
        [[agents]]
        group = "c"
        count = 100
        balance = 10.0
        policy = { kind = "consumer", asset = "R", need = { distribution = "constant", value = 1.0 }, need_schedule = [1.0, 3.0], value = 1.0 }
        "#,
        "test",
    )
    .unwrap();
    let out = run(&s);
    let requested: Vec<f64> = out.records.assets[1..]
        .iter()
        .map(|r| r.requested.unwrap())
        .collect();
    assert_eq!(requested, vec![100.0, 300.0, 100.0, 300.0]);
    assert_eq!(out.summary.groups["c"].needs_met_share, Some(1.0));
}

#[test]
fn amounts_beyond_the_ledger_are_an_input_error_not_a_broken_invariant() {
    // 7 producers paid 1e9 a unit for 10 units: 7e10 money, beyond the
    // ledger's 1.8e10
    let s = example("resource-economy")
        .unwrap()
        .with_param("assets.COMPUTE.pricing.initial_price", 1e9)
        .unwrap()
        .with_param("agents.producers.count", 7.0)
        .unwrap();
    let e = Simulation::new(&s, 0).unwrap().run().unwrap_err();
    assert!(e.is_input_error(), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("ledger's range") && msg.contains("step"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
}

/// A need of 10¹⁰ units a step (10¹⁹ base units, within a `u64`) from a
/// capacity of 10 leaves nearly all of it unmet; the second step's unmet
/// need passes 2⁶⁴ base units, and the run stops with a one-line error
/// naming the agent, for a consumer of one resource and of two (the
/// consume phase's two loops).
#[test]
fn an_unmet_need_past_the_ledgers_range_stops_the_run_naming_the_agent() {
    let one = one_consumer_at_two(3, 1.0, 1e10, 5.0);
    let two = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 3
        seed = 1
        [[assets]]
        name = "R"
        kind = "resource"
        capacity = 10.0
        allocation = "proportional"
        pricing = { kind = "fixed", price = 2.0 }
        [[assets]]
        name = "S"
        kind = "resource"
        capacity = 10.0
        allocation = "proportional"
        pricing = { kind = "fixed", price = 3.0 }
        [[agents]]
        group = "c"
        count = 1
        balance = 1.0
        policy = { kind = "consumer", assets = ["R", "S"], preferences = [1.0, 1.0], need = { distribution = "constant", value = 1e10 }, value = 5.0 }
        "#,
        "two resources",
    )
    .unwrap();
    for s in [one, two] {
        let mut sim = Simulation::new(&s, 0).unwrap();
        sim.advance().unwrap();
        assert!(
            sim.unmet_need(0) > 9 * 10u64.pow(18),
            "{}",
            sim.unmet_need(0)
        );
        let e = sim.advance().unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("unmet need of agent 0"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}

/// `count` consumers each needing 1 unit (worth 4, at a fixed price of
/// 0.5: each requests its need) of a resource of `capacity` units a step,
/// shared in proportion to the requests, for `steps` steps; `extra` added.
fn unit_needs(count: u32, capacity: f64, steps: u64, extra: &str) -> Scenario {
    Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = {steps}
            seed = 4
            [[assets]]
            name = "R"
            kind = "resource"
            capacity = {capacity:?}
            allocation = "proportional"
            pricing = {{ kind = "fixed", price = 0.5 }}
            [[agents]]
            group = "c"
            count = {count}
            balance = 1000.0
            policy = {{ kind = "consumer", asset = "R", need = {{ distribution = "constant", value = 1.0 }}, value = 4.0 }}
            {extra}
            "#
        ),
        "unit needs",
    )
    .unwrap()
}

/// 100 consumers needing a unit each from a capacity of 50 for 10 steps:
/// each gets half a unit a step, so 10 · (100 − 50) = 500 units of need
/// go unmet, half of the need; the group's unmet need is 500 / 100 = 5
/// units an agent.
#[test]
fn the_unmet_demand_and_a_groups_unmet_need_are_the_needs_less_what_was_met() {
    let out = run(&unit_needs(100, 50.0, 10, ""));
    for r in out.records.assets.iter().filter(|r| r.step > 0) {
        assert_eq!(
            (r.requested, r.allocated),
            (Some(100.0), Some(50.0)),
            "{r:?}"
        );
    }
    let r = out.summary.assets["R"].resource.as_ref().unwrap();
    assert_eq!(r.unmet_demand, 500.0, "{r:?}");
    assert_eq!(r.unmet_share, 0.5, "{r:?}");
    // each step the 50 units meet half of each need worth 4 a unit: 200,
    // all the capacity could have met
    assert_eq!(
        (
            r.value_of_needs_met,
            r.max_value_of_needs,
            r.allocative_efficiency
        ),
        (2000.0, 2000.0, Some(1.0)),
        "{r:?}"
    );
    let c = &out.summary.groups["c"];
    assert_eq!(c.unmet_need, Some(5.0), "{c:?}");
    assert_eq!(c.needs_met_share, Some(0.5), "{c:?}");
}

/// The summary's fairness indices are the means over the steps of each
/// step's: one unit of capacity by priority to two consumers needing a
/// unit each, the one paying more served in full and the other not at
/// all, every step of ten: shares (1, 0), whose Jain index is
/// (0 + 1)² / (2 · 1²) = 0.5 and whose Gini coefficient is that of
/// `alloc::fairness` for the pair, in each step and so on average. A third
/// consumer, needing nothing, has no share of a need and leaves the
/// indices to the pair.
#[test]
fn the_fairness_indices_are_the_means_of_the_steps() {
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 10
        seed = 2
        [[assets]]
        name = "R"
        kind = "resource"
        capacity = 1.0
        allocation = "priority"
        pricing = { kind = "fixed", price = 0.5 }
        [[agents]]
        group = "high"
        count = 1
        balance = 100.0
        policy = { kind = "consumer", asset = "R", need = { distribution = "constant", value = 1.0 }, value = 4.0 }
        [[agents]]
        group = "low"
        count = 1
        balance = 100.0
        policy = { kind = "consumer", asset = "R", need = { distribution = "constant", value = 1.0 }, value = 1.0 }
        [[agents]]
        group = "idle"
        count = 1
        balance = 100.0
        policy = { kind = "consumer", asset = "R", need = { distribution = "constant", value = 0.0 }, value = 1.0 }
        "#,
        "two needs",
    )
    .unwrap();
    let out = run(&s);
    let met = |g: &str| out.summary.groups[g].needs_met_share;
    assert_eq!((met("high"), met("low")), (Some(1.0), Some(0.0)));
    let (jain, gini) = agora::resource::alloc::fairness(&[SCALE, 0], &[SCALE, SCALE]);
    assert_eq!(jain, 0.5);
    assert!(gini > 0.0);
    // the consumer without need has no share of one: the pair's indices
    let r = out.summary.assets["R"].resource.as_ref().unwrap();
    assert_eq!((r.jain_index, r.gini), (jain, gini), "{r:?}");
}

/// Needs `1 + member` units (its index in its group) of asset 0 —
/// with `odd_only`, only its odd members, the even ones (the first among
/// them) needing nothing — requesting nothing.
#[derive(Debug)]
struct NeedsByMember {
    odd_only: bool,
}

impl agora::Policy for NeedsByMember {
    fn decide(
        &self,
        _: &agora::Observation<'_>,
        _: &agora::AgentView<'_>,
        _: &mut agora::agents::AgentRng,
    ) -> agora::Action {
        agora::Action::Hold
    }

    fn assets(&self) -> Vec<usize> {
        vec![0]
    }

    fn need(&self, me: &agora::AgentView<'_>, _: u64) -> Option<agora::agents::Need> {
        (!self.odd_only || me.member % 2 == 1).then(|| agora::agents::Need {
            units: (1 + u64::from(me.member)) * SCALE,
            value: 1.0,
        })
    }
}

/// One step of ten unit consumers and a group "members" of four agents
/// whose policy is `policy`: the members' unmet need an agent and share
/// of their needs met, and the resource's unmet demand.
fn members_with(policy: NeedsByMember) -> (Option<f64>, Option<f64>, f64) {
    let members = r#"
            [[agents]]
            group = "members"
            count = 4
            balance = 10.0
            policy = { kind = "consumer", asset = "R", need = { distribution = "constant", value = 1.0 }, value = 4.0 }
    "#;
    let mut sim = Simulation::new(&unit_needs(10, 1000.0, 1, members), 0).unwrap();
    sim.set_policy(
        "members",
        agora::agents::GroupPolicy::Custom(std::sync::Arc::new(policy)),
    )
    .unwrap();
    let out = sim.run().unwrap();
    let g = &out.summary.groups["members"];
    let r = out.summary.assets["R"].resource.as_ref().unwrap();
    (g.unmet_need, g.needs_met_share, r.unmet_demand)
}

/// The consume phase shows a policy's need each agent as a member of its
/// own group: four agents of a second group (after ten consumers) needing
/// `1 + member` units and requesting none leave 1 + 2 + 3 + 4 = 10 units
/// unmet in a step, 2.5 an agent.
#[test]
fn a_need_sees_the_agent_as_a_member_of_its_own_group() {
    assert_eq!(
        members_with(NeedsByMember { odd_only: false }),
        (Some(2.5), Some(0.0), 10.0)
    );
}

/// A user's policy whose first agent needs nothing does not speak for its
/// group: of four agents requesting nothing, members 1 and 3 need 2 and 4
/// units, so 6 units go unmet a step (1.5 an agent of the group), and none
/// of the group's needs is met.
#[test]
fn a_group_whose_first_agent_needs_nothing_still_has_the_others_needs() {
    assert_eq!(
        members_with(NeedsByMember { odd_only: true }),
        (Some(1.5), Some(0.0), 6.0)
    );
}

/// A group of consumers that joins at step 6 of 10 needs nothing before
/// it acts: with capacity for everyone, its five steps' needs are all met
/// (none of the five steps it sat out counts as unmet), as are the other
/// group's.
#[test]
fn a_group_that_has_not_joined_yet_has_no_needs() {
    let late = r#"
            [[agents]]
            group = "late"
            count = 20
            balance = 1000.0
            policy = { kind = "consumer", asset = "R", need = { distribution = "constant", value = 1.0 }, value = 4.0 }
            [[events]]
            at = 6
            kind = "join"
            group = "late"
    "#;
    let out = run(&unit_needs(10, 1000.0, 10, late));
    let requested: Vec<f64> = out
        .records
        .assets
        .iter()
        .filter(|r| r.step > 0)
        .map(|r| r.requested.unwrap())
        .collect();
    assert_eq!(
        requested,
        [10.0, 10.0, 10.0, 10.0, 10.0, 30.0, 30.0, 30.0, 30.0, 30.0]
    );
    for name in ["c", "late"] {
        let g = &out.summary.groups[name];
        assert_eq!(
            (g.unmet_need, g.needs_met_share),
            (Some(0.0), Some(1.0)),
            "{name}: {g:?}"
        );
    }
    let r = out.summary.assets["R"].resource.as_ref().unwrap();
    assert_eq!((r.unmet_demand, r.unmet_share), (0.0, 0.0), "{r:?}");
}

#[test]
fn allocative_efficiency_is_undefined_when_the_needs_are_worth_nothing() {
    // Ten consumers needing one unit each of 100 a step, at a fixed price
    // of 1. Valued at 0 a unit, the best allocation is worth 0: the
    // efficiency (value met over the most that could be) is 0/0, reported
    // as none, not as 1. Valued at 4, every need is met: 1.
    for (value, expected) in [(0.0, None), (4.0, Some(1.0))] {
        let s = Scenario::from_toml_str(
            &format!(
                r#"
                [simulation]
                steps = 3
                seed = 5
                [[assets]]
                name = "GPU"
                kind = "resource"
                capacity = 100.0
                renewal = "renewing"
                allocation = "proportional"
                pricing = {{ kind = "fixed", price = 1.0 }}
                [[agents]]
                group = "users"
                count = 10
                balance = 100.0
                policy = {{ kind = "consumer", asset = "GPU", need = {{ distribution = "constant", value = 1.0 }}, value = {value:?} }}
                "#
            ),
            "test",
        )
        .unwrap();
        let r = run(&s).summary.assets["GPU"].resource.clone().unwrap();
        assert_eq!(r.max_value_of_needs, 3.0 * 10.0 * value, "value {value}");
        assert_eq!(r.allocative_efficiency, expected, "value {value}");
    }
}

#[test]
fn production_the_balance_cannot_pay_for_is_cut_to_what_it_pays_for() {
    // A producer with 4 money asks to make 10 units at a cost of 1 each,
    // arriving 2 steps later: cut to the 4 units its balance pays for
    // (counted clipped), all 4 money paid; at step 3 the 4 units arrive
    // and are paid at the fixed price of 2: 8 money. With 10 money the
    // same order is not clipped: 10 paid, 20 received. (The agent is a
    // consumer that needs nothing: it holds unless told.)
    let produce = agora::Action::Produce {
        asset: 0,
        quantity: 10 * SCALE,
        cost: SCALE,
        lead_time: 2,
    };
    for (balance, clipped, made) in [(4u64, 1, 4), (10, 0, 10)] {
        let s = one_consumer_at_two(3, balance as f64, 0.0, 1.0);
        let mut sim = Simulation::new(&s, 0).unwrap();
        sim.advance_with(&[(0, produce)]).unwrap();
        assert_eq!(sim.ledger().counts().clipped, clipped, "{balance}");
        assert_eq!(sim.ledger().balance(0), 0, "{balance}");
        sim.advance().unwrap();
        sim.advance().unwrap();
        assert_eq!(sim.ledger().balance(0), 2 * made * SCALE, "{balance}");
    }
}

#[test]
fn an_auction_that_allocates_nothing_keeps_its_price_as_the_last_one() {
    // The four bids of `four_bids`, at most 10 a unit, against a reserve
    // of 12: no bid clears, nothing is allocated, and the price stays
    // the reserve, marked as the last price rather than a trade's. The
    // same bids against a reserve of 1 clear at 6, a trade's price. Only
    // then is there a last trade.
    for (reserve, price, source, allocated) in [
        (12.0, 12.0, PriceSource::Last, 0.0),
        (1.0, 6.0, PriceSource::Trade, 9.0),
    ] {
        let text = four_bids_text().replace(
            "reserve_price = 1.0",
            &format!("reserve_price = {reserve:?}"),
        );
        let s = Scenario::from_toml_str(&text, "test").unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        sim.advance().unwrap();
        let r = sim.records().assets[1].clone();
        assert_eq!(
            (r.price, r.source, r.allocated),
            (price, source, Some(allocated)),
            "reserve {reserve}"
        );
        let last_trade = (allocated > 0.0).then_some(price);
        assert_eq!(sim.observe().assets[0].last_trade, last_trade);
    }
}
