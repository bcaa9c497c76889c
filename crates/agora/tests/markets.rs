//! Market clearing in the engine: order books, call auctions, equilibrium
//! and price adjustment against theory, with exact conservation.

use agora::agents::{AgentRng, GroupPolicy, Side};
use agora::engine::{PriceSource, RunOutput};
use agora::ledger::SCALE;
use agora::scenario::example;
use agora::{Action, AgentView, Observation, Policy, Scenario, Simulation};
use proptest::prelude::*;
use std::sync::Arc;

fn run(scenario: &Scenario) -> RunOutput {
    Simulation::new(scenario, 0).unwrap().run().unwrap()
}

fn prices(out: &RunOutput) -> Vec<f64> {
    out.records.assets.iter().map(|r| r.price).collect()
}

fn exogenous(kind: &str, extra: &str, steps: u64) -> Scenario {
    Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = {steps}
            seed = 1
            [[assets]]
            name = "G"
            pricing = {{ kind = "{kind}", demand = {{ shape = "linear", a = 100.0, b = 2.0 }}, supply = {{ shape = "linear", c = 10.0, d = 1.0 }}{extra} }}
            "#
        ),
        "test",
    )
    .unwrap()
}

#[test]
fn an_equilibrium_market_with_linear_demand_and_supply_clears_at_a_minus_c_over_b_plus_d() {
    for (a, b, c, d) in [
        (100.0, 2.0, 10.0, 1.0),
        (50.0, 0.5, 5.0, 4.0),
        (7.0, 1.0, 0.0, 0.25),
    ] {
        let s = Scenario::from_toml_str(
            &format!(
                r#"
                [simulation]
                steps = 5
                seed = 1
                [[assets]]
                name = "G"
                pricing = {{ kind = "equilibrium", demand = {{ shape = "linear", a = {a:?}, b = {b:?} }}, supply = {{ shape = "linear", c = {c:?}, d = {d:?} }} }}
                "#
            ),
            "test",
        )
        .unwrap();
        let out = run(&s);
        let expected = (a - c) / (b + d);
        // A market with no agents still has a row for every step.
        assert_eq!(out.records.assets.len(), 6);
        for r in &out.records.assets[1..] {
            assert!(
                (r.price - expected).abs() <= 1e-9 * expected,
                "P = {}, expected {expected}",
                r.price
            );
            assert_eq!(r.source, PriceSource::Equilibrium);
        }
        let m = out.summary.assets["G"].market.as_ref().unwrap();
        assert_eq!(m.equilibrium_price, Some(expected));
        assert!(m.equilibrium_error.unwrap() <= 1e-9 * expected);
    }
}

#[test]
fn constant_elasticity_demand_and_supply_clear_at_the_closed_form() {
    // D = 200 P^-1.5, O = 20 P^0.5  ->  P* = (200/20)^(1/2) = sqrt(10)
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 3
        seed = 1
        [[assets]]
        name = "G"
        pricing = { kind = "equilibrium", demand = { shape = "constant_elasticity", scale = 200.0, elasticity = 1.5 }, supply = { shape = "constant_elasticity", scale = 20.0, elasticity = 0.5 } }
        "#,
        "test",
    )
    .unwrap();
    let out = run(&s);
    let expected = 10f64.sqrt();
    for p in &prices(&out)[1..] {
        assert!((p - expected).abs() <= 1e-9 * expected, "{p}");
    }
}

#[test]
fn no_equilibrium_in_range_is_said_not_invented() {
    // P* = 30 lies outside [40, 100]
    let s = exogenous("equilibrium", ", price_range = [40.0, 100.0]", 4);
    let out = run(&s);
    for r in &out.records.assets[1..] {
        assert!(r.price.is_nan());
        assert_eq!(r.source, PriceSource::NoEquilibrium);
        assert_eq!(r.volume, 0);
    }
    let csv = String::from_utf8(agora::output::assets_csv(&s, std::slice::from_ref(&out)).unwrap())
        .unwrap();
    let row = csv.lines().nth(2).unwrap();
    assert!(row.starts_with("0,1,G,,"), "{row}");
    assert!(row.contains("no_equilibrium"), "{row}");
    let m = out.summary.assets["G"].market.as_ref().unwrap();
    assert_eq!(m.no_equilibrium_steps, 4);
    // no price at any step: the price statistics are null, not 0
    let json =
        String::from_utf8(agora::output::summary_json(&s, std::slice::from_ref(&out)).unwrap())
            .unwrap();
    assert!(json.contains("\"final_price\": null"), "{json}");
    assert!(json.contains("\"volatility\": null"), "{json}");
}

/// Price-adjustment with linear D = 100 − 2P, O = 10 + P: the error
/// e_t = P_t − 30 evolves as e_{t+1} = (1 − 3λ) e_t.
fn tatonnement(lambda: f64, steps: u64) -> Vec<f64> {
    let s = exogenous(
        "price_adjustment",
        &format!(
            ", rule = \"linear\", lambda = {lambda:?}, initial_price = 20.0, min_price = 0.001"
        ),
        steps,
    );
    prices(&run(&s))
}

#[test]
fn tatonnement_converges_when_one_minus_lambda_b_plus_d_is_below_one_in_size() {
    for lambda in [0.1, 0.2, 0.5, 0.6] {
        let p = tatonnement(lambda, 200);
        let e0 = (p[0] - 30.0).abs();
        let e = (p[200] - 30.0).abs();
        assert!(e < 1e-9, "lambda {lambda}: error {e} after 200 steps");
        // and by the predicted factor in the first step
        let factor = (p[1] - 30.0) / (p[0] - 30.0);
        assert!((factor - (1.0 - 3.0 * lambda)).abs() < 1e-12, "{factor}");
        assert!(e0 > 1.0);
    }
}

#[test]
fn tatonnement_oscillates_at_the_boundary_and_diverges_beyond_it() {
    // |1 − 3λ| = 1: the error flips sign with constant size
    let p = tatonnement(2.0 / 3.0, 50);
    for t in 1..50 {
        let (a, b) = (p[t] - 30.0, p[t + 1] - 30.0);
        assert!((a + b).abs() < 1e-9, "step {t}: {a} then {b}");
        assert!((a.abs() - 10.0).abs() < 1e-9);
    }
    // |1 − 3λ| = 1.4: the error grows by 1.4 a step, flipping sign, until
    // demand is cut off at 0 (P > 50) and the price cycles, never settling
    let p = tatonnement(0.8, 60);
    for t in 0..2 {
        let factor = (p[t + 1] - 30.0) / (p[t] - 30.0);
        assert!((factor + 1.4).abs() < 1e-9, "step {t}: factor {factor}");
    }
    let late = p[40..]
        .iter()
        .map(|x| (x - 30.0).abs())
        .fold(f64::INFINITY, f64::min);
    assert!(late > 20.0, "the price settled: {p:?}");
}

/// A policy that places a fixed limit order per group member.
#[derive(Debug)]
struct Fixed(Vec<(Side, f64, f64)>);

impl Policy for Fixed {
    fn decide(&self, _: &Observation<'_>, me: &AgentView<'_>, _: &mut AgentRng) -> Action {
        let (side, price, qty) = self.0[me.member as usize];
        Action::Limit {
            asset: 0,
            side,
            price: (price * SCALE as f64).round() as u64,
            amount: (qty * SCALE as f64).round() as u64,
            ttl: 1,
        }
    }
}

/// One agent per order of `orders`, each placing its order every step
/// (`Fixed`) on the asset G priced by `pricing` (a TOML inline table),
/// each holding a share of `total` G and 1000 money; `steps` steps.
fn fixed_orders(
    pricing: &str,
    steps: u32,
    total: f64,
    orders: Vec<(Side, f64, f64)>,
) -> Simulation {
    let s = Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = {steps}
            seed = 1
            [[assets]]
            name = "G"
            pricing = {pricing}
            [[agents]]
            group = "all"
            count = {}
            balance = 1000.0
            holdings = {{ asset = "G", total = {total:?}, distribution = "uniform" }}
            policy = {{ kind = "random", asset = "G", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }}
            "#,
            orders.len()
        ),
        "test",
    )
    .unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.set_policy("all", GroupPolicy::Custom(Arc::new(Fixed(orders))))
        .unwrap();
    sim
}

/// The call auction the known order set is placed on.
const KNOWN_AUCTION: &str =
    r#"{ kind = "call_auction", tick_size = 0.01, lot_size = 1.0, initial_price = 10.5 }"#;

/// The known order set of the call-auction tests: bids 10 @ 12, 10 @ 11,
/// 10 @ 10, 10 @ 9; asks 15 @ 8, 10 @ 10, 10 @ 11, 20 @ 13.
fn known_orders() -> Vec<(Side, f64, f64)> {
    vec![
        (Side::Buy, 12.0, 10.0),
        (Side::Buy, 11.0, 10.0),
        (Side::Buy, 10.0, 10.0),
        (Side::Buy, 9.0, 10.0),
        (Side::Sell, 8.0, 15.0),
        (Side::Sell, 10.0, 10.0),
        (Side::Sell, 11.0, 10.0),
        (Side::Sell, 13.0, 20.0),
    ]
}

#[test]
fn a_call_auction_on_a_known_order_set_clears_at_the_hand_computed_price_and_volume() {
    // Bids: 10 @ 12, 10 @ 11, 10 @ 10, 10 @ 9.  Asks: 15 @ 8, 10 @ 10, 10 @ 11, 20 @ 13.
    // Demand D(p) and supply O(p) at the limit prices:
    //   p =  8: D 40, O 15 -> 15      p = 11: D 20, O 35 -> 20
    //   p =  9: D 40, O 15 -> 15      p = 12: D 10, O 35 -> 10
    //   p = 10: D 30, O 25 -> 25      p = 13: D  0, O 55 ->  0
    // The most volume is 25, at p = 10 alone.
    let orders = known_orders();
    let mut sim = fixed_orders(KNOWN_AUCTION, 1, 160.0, orders);
    sim.advance().unwrap();
    let r = sim.records().assets[1].clone();
    assert_eq!(r.price, 10.0);
    assert_eq!(r.volume, u128::from(25 * SCALE));
    // Everyone at 10: the three buyers at 12, 11, 10 get 10, 10 and 5 (the
    // long side, in price priority), the sellers at 8 and 10 get 15 and 10.
    let got: Vec<i64> = (0..8)
        .map(|a| sim.ledger().holding(a, 0) as i64 / SCALE as i64 - 20)
        .collect();
    assert_eq!(got, vec![10, 10, 5, 0, -15, -10, 0, 0]);
    let paid: Vec<i64> = (0..8)
        .map(|a| sim.ledger().balance(a) as i64 / SCALE as i64 - 1000)
        .collect();
    assert_eq!(paid, vec![-100, -100, -50, 0, 150, 100, 0, 0]);
    assert_eq!(sim.ledger().conservation().money_error(), 0);
}

#[test]
fn a_posted_price_market_rations_the_long_side_in_proportion() {
    // A price-adjustment market posting 10: limit orders that accept 10
    // trade at 10; the short side fills, the long side shares the volume
    // in proportion to what it asked. Each agent starts with 10 G.
    const POSTED: &str =
        r#"{ kind = "price_adjustment", rule = "linear", lambda = 0.01, initial_price = 10.0 }"#;
    let after = |orders: Vec<(Side, f64, f64)>| {
        let n = orders.len();
        let mut sim = fixed_orders(POSTED, 1, 10.0 * n as f64, orders);
        sim.advance().unwrap();
        assert_eq!(sim.ledger().conservation().money_error(), 0);
        (0..n as u32)
            .map(|a| {
                let held = sim.ledger().holding(a, 0) as i64 - 10 * SCALE as i64;
                let paid = sim.ledger().balance(a) as i64 - 1000 * SCALE as i64;
                (held as f64 / SCALE as f64, paid as f64 / SCALE as f64)
            })
            .collect::<Vec<_>>()
    };
    // demand 10 + 30 = 40 against a supply of 8: the buyers get 1/5 of
    // what they asked, 2 and 6 tokens (whole lots: no rounding); the bid
    // below 10 takes no part
    assert_eq!(
        after(vec![
            (Side::Buy, 12.0, 10.0),
            (Side::Buy, 11.0, 30.0),
            (Side::Buy, 9.0, 10.0),
            (Side::Sell, 8.0, 8.0),
        ]),
        vec![(2.0, -20.0), (6.0, -60.0), (0.0, 0.0), (-8.0, 80.0)]
    );
    // and the mirror: supply 4 + 4 against a demand of 2, 1 token each
    assert_eq!(
        after(vec![
            (Side::Sell, 9.0, 4.0),
            (Side::Sell, 10.0, 4.0),
            (Side::Buy, 10.0, 2.0),
        ]),
        vec![(-1.0, 10.0), (-1.0, 10.0), (2.0, -20.0)]
    );
}

/// [`Fixed`]'s orders, each decision also noting the step and the last
/// trade price the agent observed.
#[derive(Debug)]
struct FixedWatching(Fixed, std::sync::Mutex<Vec<(u64, Option<f64>)>>);

impl Policy for FixedWatching {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        self.1
            .lock()
            .unwrap()
            .push((obs.step, obs.assets[0].last_trade));
        self.0.decide(obs, me, rng)
    }
}

#[test]
fn agents_observe_a_call_auctions_last_trade_price_from_the_step_after_it() {
    // The order set of the test above clears at 10 at step 1 (by hand
    // there): no trade is observed at step 1, 10 at step 2, and at step 3
    // the price step 2 traded at (the sellers at 8 have 5 tokens left, so
    // the orders differ).
    let orders = known_orders();
    let mut sim = fixed_orders(KNOWN_AUCTION, 3, 160.0, orders.clone());
    let seen = Arc::new(FixedWatching(Fixed(orders), Default::default()));
    sim.set_policy("all", GroupPolicy::Custom(seen.clone()))
        .unwrap();
    let mut traded = vec![None];
    for _ in 0..3 {
        sim.advance().unwrap();
        let r = sim.records().assets.last().unwrap().clone();
        assert_eq!(r.source, PriceSource::Trade);
        traded.push(Some(r.price));
    }
    assert_eq!(traded[1], Some(10.0));
    let seen = seen.1.lock().unwrap();
    assert_eq!(seen.len(), 3 * 8, "every agent decided at every step");
    for &(step, last) in seen.iter() {
        assert_eq!(last, traded[step as usize - 1], "step {step}");
    }
}

#[test]
fn a_call_auction_tied_over_a_range_of_prices_clears_at_the_last_price_or_the_limit_nearest_it() {
    // A bid of 10 @ 12 and an ask of 10 @ 9 trade 10 at every price in
    // [9, 12] with no surplus: the reference price decides, the last price
    // (the initial one before any trade) if it lies within, else the limit
    // nearest it.
    for (initial, expected) in [(10.5, 10.5), (13.0, 12.0), (4.0, 9.0)] {
        let pricing = format!(
            "{{ kind = \"call_auction\", tick_size = 0.01, lot_size = 1.0, initial_price = {initial:?} }}"
        );
        let orders = vec![(Side::Buy, 12.0, 10.0), (Side::Sell, 9.0, 10.0)];
        let mut sim = fixed_orders(&pricing, 2, 40.0, orders);
        // The second step's reference is the first step's trade.
        for step in 1..=2 {
            sim.advance().unwrap();
            let r = sim.records().assets[step].clone();
            assert_eq!(r.price, expected, "initial price {initial}, step {step}");
            assert_eq!(r.volume, u128::from(10 * SCALE));
        }
    }
}

#[test]
fn zi_c_traders_on_a_continuous_double_auction_are_efficient_as_gode_and_sunder_found() {
    let base = example("market-clearing").unwrap();
    let at_default = run(&base).summary.assets["GOOD"].market.clone().unwrap();
    let e = at_default.allocative_efficiency.unwrap();
    assert!(e >= 0.95, "efficiency at the default seed: {e}");
    let mut sum = 0.0;
    let seeds = 10;
    for seed in 1..=seeds {
        let mut s = base.clone();
        s.set_seed(seed).unwrap();
        let m = run(&s).summary.assets["GOOD"].market.clone().unwrap();
        let e = m.allocative_efficiency.unwrap();
        assert!(e <= 1.0 + 1e-9, "efficiency above 1: {e}");
        sum += e;
    }
    let mean = sum / seeds as f64;
    assert!(mean >= 0.95, "mean efficiency over {seeds} seeds: {mean}");
}

#[test]
fn every_market_example_conserves_and_is_byte_identical_when_run_twice() {
    for name in [
        "market-clearing",
        "call-auction",
        "equilibrium",
        "price-adjustment",
    ] {
        let s = example(name).unwrap();
        let a = run(&s);
        let b = run(&s);
        assert_eq!(
            super::resources::files(&s, &a),
            super::resources::files(&s, &b),
            "{name}"
        );
        assert_eq!(a.summary.ledger.conservation_error, 0.0, "{name}");
        assert_eq!(a.summary.ledger.token_conservation_error, 0.0, "{name}");
        let trades: u64 = a.records.assets.iter().map(|r| r.trades).sum();
        assert!(trades > 0, "{name}: no trades");
        if let Some(e) = a.summary.assets["GOOD"]
            .market
            .as_ref()
            .unwrap()
            .allocative_efficiency
        {
            // noise traders in the call auction take part of the trades
            assert!((0.0..=1.0).contains(&e), "{name}: efficiency {e}");
        }
    }
}

#[test]
fn the_order_book_records_quotes_and_says_where_each_price_comes_from() {
    let out = run(&example("market-clearing").unwrap());
    let rows = &out.records.assets;
    assert_eq!(rows[0].source, PriceSource::Initial);
    for r in &rows[1..] {
        match r.source {
            PriceSource::Trade => assert!(r.trades > 0),
            PriceSource::Mid => {
                assert_eq!(r.trades, 0);
                assert_eq!(r.price, 0.5 * (r.best_bid.unwrap() + r.best_ask.unwrap()));
            }
            PriceSource::Last => assert_eq!(r.trades, 0),
            other => panic!("unexpected source {other:?}"),
        }
        if let (Some(bid), Some(ask)) = (r.best_bid, r.best_ask) {
            assert!(bid < ask, "crossed book: {r:?}");
        }
    }
    let m = out.summary.assets["GOOD"].market.clone().unwrap();
    assert_eq!(m.mechanism, "order_book");
    assert!(m.equilibrium_price.is_some());
}

#[test]
fn the_depth_of_a_book_is_the_mean_quantity_at_its_best_bid_and_ask() {
    // Bids of 3 and 2 at 9 and of 7 at 8; asks of 4 at 11 and 1 at 12:
    // 5 at the best bid, 4 at the best ask, a mean of 4.5. With the asks
    // alone, their depth 4; with the bids alone, 5.
    let bids = [
        (Side::Buy, 9.0, 3.0),
        (Side::Buy, 9.0, 2.0),
        (Side::Buy, 8.0, 7.0),
    ];
    let asks = [(Side::Sell, 11.0, 4.0), (Side::Sell, 12.0, 1.0)];
    let both: Vec<_> = bids.iter().chain(&asks).copied().collect();
    for (orders, depth, bid, ask) in [
        (both, 4.5, Some(9.0), Some(11.0)),
        (asks.to_vec(), 4.0, None, Some(11.0)),
        (bids.to_vec(), 5.0, Some(9.0), None),
    ] {
        let mut sim = fixed_orders(
            r#"{ kind = "order_book", tick_size = 0.01, lot_size = 1.0, initial_price = 10.0 }"#,
            1,
            100.0,
            orders,
        );
        sim.advance().unwrap();
        let r = sim.records().assets[1].clone();
        assert_eq!((r.trades, r.best_bid, r.best_ask), (0, bid, ask));
        assert_eq!(r.depth, Some(depth), "{r:?}");
    }
}

#[test]
fn a_market_sell_on_a_book_is_clipped_only_when_it_asks_more_than_the_seller_holds() {
    // Agent 0 bids 20 at 9 (its order of step 1 lives 5 steps, and at step
    // 2 its policy bids the same again); agent 1 holds 5 G and sells at
    // step 2: all 5, or 5 and a base unit, cut to 5. Either way it sells 5
    // at 9 for 45; only the second is clipped.
    let t = SCALE;
    for (amount, clipped) in [(5 * t, 0), (5 * t + 1, 1)] {
        let mut sim = fixed_orders(
            r#"{ kind = "order_book", tick_size = 0.01, lot_size = 1.0, initial_price = 10.0 }"#,
            2,
            10.0,
            vec![(Side::Buy, 9.0, 20.0), (Side::Buy, 8.0, 1.0)],
        );
        let bid = Action::Limit {
            asset: 0,
            side: Side::Buy,
            price: 9 * t,
            amount: 20 * t,
            ttl: 5,
        };
        sim.advance_with(&[(0, bid)]).unwrap();
        assert_eq!(sim.ledger().holding(1, 0), 5 * t);
        sim.advance_with(&[(1, Action::Sell { asset: 0, amount })])
            .unwrap();
        let counts = sim.ledger().counts();
        assert_eq!((counts.clipped, counts.rejected), (clipped, 0), "{amount}");
        assert_eq!(
            (sim.ledger().holding(1, 0), sim.ledger().balance(1)),
            (0, 1045 * t),
            "{amount}"
        );
    }
}

#[test]
fn a_price_adjustment_market_fills_a_sell_limited_at_its_price_and_none_limited_above() {
    // Posted price 10, exogenous demand 100 − 2·10 = 80 G: agent 0's sell
    // of 2 limited at 12 takes no part, agent 1's sell of 3 limited at
    // exactly 10 sells all 3, for 30.
    let mut sim = fixed_orders(
        r#"{ kind = "price_adjustment", rule = "proportional", lambda = 0.01, initial_price = 10.0, demand = { shape = "linear", a = 100.0, b = 2.0 } }"#,
        1,
        10.0,
        vec![(Side::Sell, 12.0, 2.0), (Side::Sell, 10.0, 3.0)],
    );
    sim.advance().unwrap();
    let t = SCALE;
    let l = sim.ledger();
    assert_eq!((l.holding(0, 0), l.balance(0)), (5 * t, 1000 * t));
    assert_eq!((l.holding(1, 0), l.balance(1)), (2 * t, 1030 * t));
}

#[test]
fn holdings_on_an_equilibrium_market_are_valued_at_its_clearing_price() {
    // D = 100 − 2P and O = 10 + P clear at P* = 90/3 = 30: an idle agent
    // with 5 money and 10 G is worth 5 + 10·30 = 305 after each step.
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 3
        seed = 1
        [[assets]]
        name = "G"
        pricing = { kind = "equilibrium", demand = { shape = "linear", a = 100.0, b = 2.0 }, supply = { shape = "linear", c = 10.0, d = 1.0 } }
        [[agents]]
        group = "idle"
        count = 1
        balance = 5.0
        holdings = { asset = "G", total = 10.0, distribution = "uniform" }
        policy = { kind = "random", asset = "G", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }
        "#,
        "test",
    )
    .unwrap();
    let out = run(&s);
    let rows = &out.records.groups;
    assert_eq!(rows.len(), 4);
    for r in &rows[1..] {
        // the bisection's bracket is 1e-12 relative
        let p = out.records.assets[r.step as usize].price;
        assert!((p - 30.0).abs() <= 1e-9, "{p}");
        assert!((r.wealth - 305.0).abs() <= 1e-8, "{r:?}");
    }
}

#[test]
fn an_exogenous_demand_past_the_ledgers_range_stops_the_run_instead_of_vanishing() {
    // D = 40/P at a posted price of 1e-9 (one base unit) is 4e10 tokens,
    // past the ledger's 1.8e10; at 1e-8 it is 4e9 tokens, in range.
    let at = |price: &str| {
        let pricing = format!(
            r#"{{ kind = "price_adjustment", rule = "proportional", lambda = 0.5, initial_price = {price}, demand = {{ shape = "constant_elasticity", scale = 40.0, elasticity = 1.0 }} }}"#
        );
        let text = format!(
            "[simulation]\nsteps = 1\nseed = 1\n[[assets]]\nname = \"G\"\npricing = {pricing}\n"
        );
        let s = Scenario::from_toml_str(&text, "test").unwrap();
        Simulation::new(&s, 0).unwrap().advance()
    };
    let e = at("1e-9").unwrap_err().to_string();
    // (40/1e-9 is 3.999999999999999e10 in floats)
    for part in [
        "at step 1, asset G",
        "the exogenous demand of 3.99999",
        "e10 tokens at price 0.000000001",
        "1.8e10 token units",
    ] {
        assert!(e.contains(part), "{part}: {e}");
    }
    at("1e-8").unwrap();
}

fn book_scenario(seed: u64, makers: u32, zic: u32, noise: u32, ttl: u32) -> Scenario {
    let mut text = format!(
        r#"
        [simulation]
        steps = 25
        seed = {seed}
        [[assets]]
        name = "G"
        pricing = {{ kind = "order_book", tick_size = 0.05, lot_size = 0.5, initial_price = 10.0 }}
        [[agents]]
        group = "buyers"
        count = {zic}
        balance = 50.0
        policy = {{ kind = "zi_c", asset = "G", role = "buyer", value = {{ distribution = "uniform", low = 5.0, high = 15.0 }}, units = 2.0, lot = 0.5, min_price = 1.0, ttl = {ttl} }}
        [[agents]]
        group = "sellers"
        count = {zic}
        balance = 1.0
        holdings = {{ asset = "G", total = {h}, distribution = "lognormal", sigma = 1.0 }}
        policy = {{ kind = "zi_c", asset = "G", role = "seller", value = {{ distribution = "uniform", low = 5.0, high = 15.0 }}, lot = 0.5, max_price = 20.0, ttl = {ttl} }}
        "#,
        h = 2.0 * zic as f64
    );
    if makers > 0 {
        text.push_str(&format!(
            r#"
        [[agents]]
        group = "makers"
        count = {makers}
        balance = 100.0
        holdings = {{ asset = "G", total = {h}, distribution = "uniform" }}
        policy = {{ kind = "market_maker", asset = "G", spread = 0.04, size = 1.0, max_inventory = 20.0, skew = 0.1, ttl = 2 }}
        "#,
            h = 5.0 * makers as f64
        ));
    }
    if noise > 0 {
        text.push_str(&format!(
            r#"
        [[agents]]
        group = "noise"
        count = {noise}
        balance = 30.0
        holdings = {{ asset = "G", total = {h}, distribution = "uniform" }}
        policy = {{ kind = "random", asset = "G", p_buy = 0.3, p_sell = 0.3, buy_fraction = 0.3, sell_fraction = 0.5 }}
        "#,
            h = 3.0 * noise as f64
        ));
    }
    // every agent's account at every step
    text.push_str("\n[output]\nagent_steps = {}\n");
    Scenario::from_toml_str(&text, "prop").unwrap()
}

/// Checks every ZI-C trade for a loss: the ZI-C traders (the first
/// `2 · zic` agents, buyers then sellers) only buy (buyers) or only sell
/// (sellers), so the change of an agent's account over a step (locked
/// money and tokens included) is the sum of its trades in that step, each
/// at a price at most its value (buyers) or at least its cost (sellers).
/// The money paid for `Δh` tokens must therefore be at most `v · Δh`, the
/// money received for them at least `c · Δh`, up to the rounding of a
/// price to the base unit (half a base unit per token). Returns the number
/// of agent-steps with a trade, and the first losing one found.
fn zi_c_losses(s: &Scenario, seed: u64, out: &RunOutput, zic: usize) -> (usize, Option<String>) {
    let agents = s.agent_count() as usize;
    let private = agora::rng::StreamFamily::new(seed, 0, 0, agora::rng::Stream::Private);
    let values: Vec<f64> = (0..2 * zic)
        .map(|id| {
            let group = &s.groups()[id / zic];
            let held = [0u64];
            let me = AgentView::new(
                id as u32,
                (id % zic) as u32,
                0,
                &held,
                private.key(id as u64),
            );
            group.policy.private_value(&me).unwrap().value
        })
        .collect();
    let mut trading = 0;
    for (before, after) in out
        .records
        .agent_steps
        .chunks(agents)
        .zip(out.records.agent_steps.chunks(agents).skip(1))
    {
        for id in 0..2 * zic {
            let (b, a) = (&before[id], &after[id]);
            let money = a.balance as f64 - b.balance as f64;
            let tokens = a.holdings[0] as f64 - b.holdings[0] as f64;
            if tokens == 0.0 {
                if money != 0.0 {
                    return (
                        trading,
                        Some(format!(
                            "agent {id} paid {money} for nothing at step {}",
                            a.step
                        )),
                    );
                }
                continue;
            }
            trading += 1;
            let v = values[id];
            // money at price v for |tokens| base units, base units
            let fair = v * tokens.abs();
            let slack = 0.5 * tokens.abs() / SCALE as f64 + 1.0;
            let buyer = id < zic;
            let loss = if buyer {
                tokens < 0.0 || -money > fair + slack
            } else {
                tokens > 0.0 || money < fair - slack
            };
            if loss {
                let role = if buyer { "buyer" } else { "seller" };
                return (
                    trading,
                    Some(format!(
                        "{role} {id} (value {v}) moved {tokens} token base units for {money} money \
                         base units at step {}: {} per token",
                        a.step,
                        -money / tokens
                    )),
                );
            }
        }
    }
    (trading, None)
}

#[test]
fn zi_c_traders_never_trade_at_a_loss_in_a_book_with_makers_and_noise() {
    // The check of every trade, on fixed mixes, with enough trades that a
    // trader bidding above its value (or asking below its cost) would be
    // seen: many of the ZI-C traders trade in these runs.
    let mut trading = 0;
    for seed in 1..=4 {
        let s = book_scenario(seed, 2, 25, 6, 2);
        let out = run(&s);
        let (n, loss) = zi_c_losses(&s, seed, &out, 25);
        assert_eq!(loss, None);
        trading += n;
    }
    assert!(trading >= 100, "only {trading} trading agent-steps");
}

proptest! {
    #![proptest_config(super::support::proptest_config(256))]

    /// Random mixes of ZI-C traders, market makers and noise traders: the
    /// engine checks money and tokens (escrow included) after every step,
    /// so a run that completes conserved them; the book is never crossed
    /// after matching, and no trader with a private value loses money on a
    /// trade (ZI-C never trades at a loss).
    #[test]
    fn order_books_conserve_never_cross_and_zi_c_never_trades_at_a_loss(
        seed in 0u64..1000, makers in 0u32..4, zic in 1u32..30, noise in 0u32..10, ttl in 1u32..4,
    ) {
        let s = book_scenario(seed, makers, zic, noise, ttl);
        let mut sim = Simulation::new(&s, 0).unwrap();
        for _ in 0..25 {
            sim.advance().unwrap();
            let r = sim.records().assets.last().cloned().unwrap();
            if let (Some(bid), Some(ask)) = (r.best_bid, r.best_ask) {
                prop_assert!(bid < ask, "crossed: {:?}", r);
            }
            let c = sim.ledger().conservation();
            prop_assert_eq!(c.money_error(), 0);
            prop_assert_eq!(c.token_error(), 0);
        }
        let out = sim.run().unwrap();
        if let Some(e) = out.summary.assets["G"].market.as_ref().unwrap().allocative_efficiency {
            prop_assert!((-1e-9..=1.0 + 1e-9).contains(&e), "efficiency out of [0, 1]: {}", e);
        }
        let (_, loss) = zi_c_losses(&s, seed, &out, zic as usize);
        prop_assert!(loss.is_none(), "{}", loss.unwrap());
    }

    /// The same for the batch markets: a call auction and an equilibrium
    /// market with agents' schedules and exogenous components.
    #[test]
    fn batch_markets_conserve_money_and_tokens(seed in 0u64..1000, kind in 0usize..3) {
        let pricing = [
            r#"{ kind = "call_auction", tick_size = 0.05, lot_size = 0.5, initial_price = 10.0 }"#,
            r#"{ kind = "equilibrium", demand = { shape = "linear", a = 30.0, b = 1.0 }, supply = { shape = "linear", c = 5.0, d = 1.5 }, lot_size = 0.5 }"#,
            r#"{ kind = "price_adjustment", rule = "proportional", lambda = 0.5, initial_price = 4.0, demand = { shape = "constant_elasticity", scale = 40.0, elasticity = 1.0 }, lot_size = 0.5 }"#,
        ][kind];
        let text = format!(
            r#"
            [simulation]
            steps = 20
            seed = {seed}
            [[assets]]
            name = "G"
            pricing = {pricing}
            [[agents]]
            group = "buyers"
            count = 20
            balance = 50.0
            policy = {{ kind = "zi_c", asset = "G", role = "buyer", value = {{ distribution = "uniform", low = 5.0, high = 15.0 }}, units = 2.0, lot = 0.5 }}
            [[agents]]
            group = "sellers"
            count = 20
            balance = 1.0
            holdings = {{ asset = "G", total = 40.0, distribution = "uniform" }}
            policy = {{ kind = "zi_c", asset = "G", role = "seller", value = {{ distribution = "uniform", low = 5.0, high = 15.0 }}, lot = 0.5, max_price = 20.0 }}
            [[agents]]
            group = "noise"
            count = 10
            balance = 30.0
            holdings = {{ asset = "G", total = 30.0, distribution = "uniform" }}
            policy = {{ kind = "random", asset = "G", p_buy = 0.3, p_sell = 0.3, buy_fraction = 0.3, sell_fraction = 0.5 }}
            "#
        );
        let s = Scenario::from_toml_str(&text, "prop").unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        let mut trades = 0;
        for _ in 0..20 {
            sim.advance().unwrap();
            let c = sim.ledger().conservation();
            prop_assert_eq!(c.money_error(), 0);
            prop_assert_eq!(c.token_error(), 0);
            // a batch market releases every lock when it clears
            let books = sim.ledger().books(0);
            prop_assert_eq!((books.escrow_money, books.escrow_tokens), (0, 0));
            trades += sim.records().assets.last().unwrap().trades;
        }
        prop_assert!(trades > 0);
    }
}

#[test]
fn market_and_resource_examples_are_byte_identical_at_one_and_four_threads() {
    let names = [
        "market-clearing",
        "call-auction",
        "equilibrium",
        "price-adjustment",
        "resource-economy",
        "resource-fcfs",
        "resource-auction",
    ];
    for name in names {
        let s = example(name).unwrap();
        let at = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let out = pool.install(|| run(&s));
            super::resources::files(&s, &out)
        };
        assert_eq!(at(1), at(4), "{name}");
    }
}

/// Spends a fixed number of base units on a market buy every step.
#[derive(Debug)]
struct SpendBase(u64);

impl Policy for SpendBase {
    fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
        Action::Buy {
            asset: 0,
            spend: self.0,
        }
    }
}

#[test]
fn a_budget_never_buys_more_than_it_pays_for_even_where_a_lot_costs_a_fraction_of_a_base_unit() {
    // At 3 base units of money per token a lot of 0.5 tokens is worth 1.5
    // base units: a budget of 2 buys one lot (1 base unit), not two (3).
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 3
        seed = 1
        [[assets]]
        name = "G"
        pricing = { kind = "price_adjustment", rule = "linear", lambda = 1e-12, initial_price = 3e-9, min_price = 3e-9, supply = { shape = "linear", c = 1000.0, d = 0.0 }, lot_size = 0.5 }
        [[agents]]
        group = "b"
        count = 4
        balance = 1.0
        policy = { kind = "random", asset = "G", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }
        "#,
        "test",
    )
    .unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.set_policy("b", GroupPolicy::Custom(Arc::new(SpendBase(2))))
        .unwrap();
    for _ in 0..3 {
        sim.advance().unwrap();
    }
    for a in 0..4 {
        assert_eq!(sim.ledger().holding(a, 0), 3 * SCALE / 2, "agent {a}");
        assert_eq!(sim.ledger().balance(a), SCALE - 3);
    }
    assert_eq!(sim.ledger().conservation().money_error(), 0);
}

#[test]
fn an_equilibrium_market_with_no_orders_and_no_exogenous_side_keeps_its_price() {
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 3
        seed = 1
        [[assets]]
        name = "G"
        pricing = { kind = "equilibrium", initial_price = 7.0 }
        [[agents]]
        group = "idle"
        count = 5
        balance = 10.0
        policy = { kind = "random", asset = "G", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }
        "#,
        "test",
    )
    .unwrap();
    let out = run(&s);
    for r in &out.records.assets[1..] {
        assert_eq!((r.price, r.source, r.volume), (7.0, PriceSource::Last, 0));
    }
}

/// The market metrics of an asset's summary (`market`) are a
/// market-clearing asset's only (a book, a call auction, an equilibrium
/// market, price adjustment): a curve, an AMM, a resource, a posted-price
/// market and a population game have none.
#[test]
fn only_a_market_clearing_asset_has_market_metrics() {
    let mut kinds = std::collections::BTreeSet::new();
    for name in [
        "curve-linear",
        "amm",
        "resource-fcfs",
        "hawk-dove",
        "algorithmic-collusion",
        "call-auction",
        "market-clearing",
        "price-adjustment",
        "equilibrium",
    ] {
        let mut s = example(name).unwrap();
        s.set_steps(3).unwrap();
        let out = Simulation::new(&s, 0).unwrap().run().unwrap();
        for a in s.assets() {
            let kind = a.pricing.kind_name();
            let clears = !matches!(
                kind,
                "bonding_curve" | "amm" | "resource" | "posted_price" | "game"
            );
            let summary = &out.summary.assets[&a.name];
            assert_eq!(
                summary.market.is_some(),
                clears,
                "{name}: {} ({kind})",
                a.name
            );
            kinds.insert((kind, clears));
        }
    }
    // every kind above, both ways
    assert!(kinds.iter().filter(|(_, c)| *c).count() >= 3, "{kinds:?}");
    assert!(kinds.iter().filter(|(_, c)| !*c).count() >= 5, "{kinds:?}");
}

/// The market metrics against the competitive equilibrium. Tâtonnement at
/// λ = 2/3 on D = 100 − 2P, O = 10 + P flips the error e_{t+1} = −e_t
/// around P* = 30 from 20: every step's price is 10 from it, so the mean
/// error is 10. One ZI-C buyer who values a unit at 120 and one seller
/// whose unit costs 80 on a book: the competitive range is [80, 120], its
/// midpoint 100.
#[test]
fn the_equilibrium_error_is_the_mean_distance_and_the_equilibrium_the_ranges_midpoint() {
    let s = exogenous(
        "price_adjustment",
        ", rule = \"linear\", lambda = 0.6666666666666666, initial_price = 20.0, min_price = 0.001",
        50,
    );
    let out = run(&s);
    let m = out.summary.assets["G"].market.as_ref().unwrap();
    assert_eq!(m.equilibrium_price, Some(30.0));
    let e = m.equilibrium_error.expect("an error");
    assert!((e - 10.0).abs() < 1e-9, "{e}");

    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 5
        seed = 1
        [[assets]]
        name = "G"
        pricing = { kind = "order_book", tick_size = 0.01, lot_size = 1.0, initial_price = 100.0 }
        [[agents]]
        group = "seller"
        count = 1
        balance = 0.0
        holdings = { asset = "G", total = 1.0, distribution = "uniform" }
        policy = { kind = "zi_c", asset = "G", role = "seller", value = { distribution = "constant", value = 80.0 }, max_price = 120.0, ttl = 5 }
        [[agents]]
        group = "buyer"
        count = 1
        balance = 200.0
        policy = { kind = "zi_c", asset = "G", role = "buyer", value = { distribution = "constant", value = 120.0 }, min_price = 80.0, ttl = 5 }
        "#,
        "zic.toml",
    )
    .unwrap();
    let out = run(&s);
    let m = out.summary.assets["G"].market.as_ref().unwrap();
    assert_eq!(m.equilibrium_price, Some(100.0));
}

#[test]
fn a_market_buy_on_a_book_is_clipped_only_when_it_asks_more_than_the_balance() {
    // An agent with 10 money on an empty book: a market buy spending all
    // 10 is not clipped, one spending a base unit more is (each is
    // rejected too: nothing to fill).
    let s = Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 1
        seed = 1
        [[assets]]
        name = "G"
        pricing = { kind = "order_book", tick_size = 0.05, lot_size = 0.5, initial_price = 10.0 }
        [[agents]]
        group = "a"
        count = 1
        balance = 10.0
        policy = { kind = "random", asset = "G", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }
        "#,
        "book",
    )
    .unwrap();
    for (spend, clipped) in [(10 * SCALE, 0), (10 * SCALE + 1, 1)] {
        let mut sim = Simulation::new(&s, 0).unwrap();
        sim.advance_with(&[(0, Action::Buy { asset: 0, spend })])
            .unwrap();
        let counts = sim.ledger().counts();
        assert_eq!((counts.clipped, counts.rejected), (clipped, 1), "{spend}");
        assert_eq!(sim.ledger().balance(0), 10 * SCALE, "{spend}");
    }
}

/// Holds; its odd members have private values on asset `asset`: member 1
/// a buyer of one token at 10, member 3 a seller of one at 2; the even
/// ones (the first among them) have none.
#[derive(Debug)]
struct OddValues {
    asset: usize,
}

impl Policy for OddValues {
    fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
        Action::Hold
    }

    fn assets(&self) -> Vec<usize> {
        vec![0]
    }

    fn private_value(&self, me: &AgentView<'_>) -> Option<agora::agents::PrivateValue> {
        let (side, value) = match me.member {
            1 => (Side::Buy, 10.0),
            3 => (Side::Sell, 2.0),
            _ => return None,
        };
        Some(agora::agents::PrivateValue {
            asset: self.asset,
            side,
            value,
            units: SCALE,
        })
    }
}

/// A policy set before the first step gives the traders' private values:
/// four ZI-C buyers replaced by `OddValues` leave one buyer at 10 and one
/// seller at 2, whose trade is worth 8 (the scenario's own buyers, with no
/// sellers, would give 0). Nobody trades, so the efficiency is 0.
#[test]
fn a_policy_set_before_the_first_step_gives_the_private_values() {
    let mut sim = Simulation::new(&book_scenario(3, 0, 4, 0, 3), 0).unwrap();
    sim.set_policy(
        "buyers",
        GroupPolicy::Custom(Arc::new(OddValues { asset: 0 })),
    )
    .unwrap();
    sim.set_policy(
        "sellers",
        GroupPolicy::Custom(Arc::new(OddValues { asset: 0 })),
    )
    .unwrap();
    let out = sim.run().unwrap();
    let m = out.summary.assets["G"].market.as_ref().unwrap();
    // buyers' member 1 and sellers' member 1 buy at 10; the two members 3
    // sell at 2: two trades worth 8 each
    assert_eq!(m.max_surplus, Some(16.0), "{m:?}");
    assert_eq!(m.allocative_efficiency, Some(0.0), "{m:?}");
}

/// A private value on an asset the scenario does not have is refused when
/// the policy is set, naming the group and the index, and the group keeps
/// its policy.
#[test]
fn a_private_value_on_a_missing_asset_is_refused_when_the_policy_is_set() {
    let scenario = book_scenario(3, 0, 4, 0, 3);
    let mut sim = Simulation::new(&scenario, 0).unwrap();
    // the first index past the assets, and one far past them
    for asset in [1, 7] {
        let e = sim
            .set_policy("buyers", GroupPolicy::Custom(Arc::new(OddValues { asset })))
            .unwrap_err()
            .to_string();
        for part in [
            "\"buyers\"".to_string(),
            format!("asset index {asset}"),
            "1 assets".into(),
        ] {
            assert!(e.contains(&part), "{part}: {e}");
        }
    }
    // as if it had not been asked: the scenario's ZI-C traders' surplus
    let kept = sim.run().unwrap();
    let fresh = run(&scenario);
    let (a, b) = (
        kept.summary.assets["G"].market.as_ref().unwrap(),
        fresh.summary.assets["G"].market.as_ref().unwrap(),
    );
    assert_eq!(
        (a.max_surplus, a.allocative_efficiency),
        (b.max_surplus, b.allocative_efficiency)
    );
    assert!(a.max_surplus.is_some_and(|s| s > 0.0), "{a:?}");
}

/// One ZI-C buyer (value 12, one token) and one ZI-C seller (cost 4, one
/// token) trade their token once their quotes cross, on an order book and
/// in a call auction: the realised surplus is the whole of the largest, 8,
/// so the efficiency is exactly 1.
#[test]
fn a_zi_c_pair_that_trades_realises_the_whole_surplus() {
    for pricing in ["order_book", "call_auction"] {
        let text = format!(
            r#"
            [simulation]
            steps = 40
            seed = 2
            [[assets]]
            name = "G"
            pricing = {{ kind = "{pricing}", tick_size = 0.05, lot_size = 1.0, initial_price = 8.0 }}
            [[agents]]
            group = "buyer"
            count = 1
            balance = 100.0
            policy = {{ kind = "zi_c", asset = "G", role = "buyer", value = {{ distribution = "constant", value = 12.0 }}, units = 1.0, lot = 1.0, min_price = 1.0 }}
            [[agents]]
            group = "seller"
            count = 1
            balance = 1.0
            holdings = {{ asset = "G", total = 1.0, distribution = "uniform" }}
            policy = {{ kind = "zi_c", asset = "G", role = "seller", value = {{ distribution = "constant", value = 4.0 }}, lot = 1.0, max_price = 20.0 }}
            "#
        );
        let out = run(&Scenario::from_toml_str(&text, "pair.toml").unwrap());
        let volume: u128 = out.records.assets.iter().map(|r| r.volume).sum();
        assert_eq!(volume, u128::from(SCALE), "{pricing}: one token traded");
        let m = out.summary.assets["G"].market.as_ref().unwrap();
        assert_eq!(
            (m.max_surplus, m.allocative_efficiency),
            (Some(8.0), Some(1.0)),
            "{pricing}"
        );
    }
}

/// Bids 20 for half a token each step; only member 1 has a private value
/// (a buyer of two tokens at 12).
#[derive(Debug)]
struct BidsHigh;

impl Policy for BidsHigh {
    fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
        Action::Limit {
            asset: 0,
            side: Side::Buy,
            price: 20 * SCALE,
            amount: SCALE / 2,
            ttl: 1,
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![0]
    }

    fn private_value(&self, me: &AgentView<'_>) -> Option<agora::agents::PrivateValue> {
        (me.member == 1).then_some(agora::agents::PrivateValue {
            asset: 0,
            side: Side::Buy,
            value: 12.0,
            units: 2 * SCALE,
        })
    }
}

/// Setting a group's policy before the first step is running a scenario
/// that names it: the ZI-C buyers' private values go with their policy
/// (none lingers in the market's realised surplus), so the bidders'
/// trades count only where member 1 buys. Both routes give the same
/// surplus and efficiency, and there are trades to count, on an order
/// book and in a call auction.
#[test]
fn a_policy_set_before_the_first_step_is_the_scenarios_policy() {
    for pricing in ["order_book", "call_auction"] {
        a_policy_set_before_the_first_step_is_the_scenarios_policy_on(pricing);
    }
}

fn a_policy_set_before_the_first_step_is_the_scenarios_policy_on(pricing: &str) {
    let mut registry = agora::scenario::PolicyRegistry::new();
    registry
        .register(
            "bids_high",
            |_: &mut agora::scenario::Fields<'_>, _: &[String]| {
                Ok(Arc::new(BidsHigh) as Arc<dyn Policy>)
            },
        )
        .expect("registered");
    let scenario = |buyers: &str| {
        let text = format!(
            r#"
            [simulation]
            steps = 20
            seed = 5
            [[assets]]
            name = "G"
            pricing = {{ kind = "{pricing}", tick_size = 0.05, lot_size = 0.5, initial_price = 10.0 }}
            [[agents]]
            group = "buyers"
            count = 4
            balance = 500.0
            policy = {buyers}
            [[agents]]
            group = "sellers"
            count = 8
            balance = 1.0
            holdings = {{ asset = "G", total = 40.0, distribution = "uniform" }}
            policy = {{ kind = "zi_c", asset = "G", role = "seller", value = {{ distribution = "uniform", low = 5.0, high = 15.0 }}, lot = 0.5, max_price = 20.0, ttl = 3 }}
            "#
        );
        Scenario::from_toml_str_with(&text, "test", &registry).expect("a valid scenario")
    };
    let named = run(&scenario(r#"{ kind = "bids_high" }"#));
    let mut sim = Simulation::new(
        &scenario(
            r#"{ kind = "zi_c", asset = "G", role = "buyer", value = { distribution = "uniform", low = 5.0, high = 15.0 }, units = 2.0, lot = 0.5, min_price = 1.0, ttl = 3 }"#,
        ),
        0,
    )
    .unwrap();
    sim.set_policy("buyers", GroupPolicy::Custom(Arc::new(BidsHigh)))
        .unwrap();
    let summary = |sim: &mut Simulation| {
        while sim.step() < 20 {
            sim.advance().unwrap();
        }
        sim.summary().unwrap()
    };
    let set = summary(&mut sim);
    // and again after a reset, which keeps the policy set
    sim.reset(0).unwrap();
    let again = summary(&mut sim);
    let a = named.summary.assets["G"].market.as_ref().unwrap();
    for b in [&set, &again] {
        let b = b.assets["G"].market.as_ref().unwrap();
        assert_eq!(
            (a.max_surplus, a.allocative_efficiency),
            (b.max_surplus, b.allocative_efficiency),
            "{pricing}"
        );
    }
    assert!(
        named.records.assets.iter().any(|r| r.trades > 0),
        "{pricing}"
    );
    // Member 1 buys past the two tokens its value is for (half a token a
    // step for 20 steps); the realised surplus counts its first two, so
    // the efficiency is at most 1 (it read 1.61 when every token counted).
    let e = a.allocative_efficiency.expect("an efficiency");
    assert!(e > 0.0 && e <= 1.0, "{pricing}: {a:?}");
    // A state taken after member 1 has bought its units continues
    // exactly: the tokens counted travel with it.
    let s = scenario(r#"{ kind = "bids_high" }"#);
    let mut first = Simulation::new(&s, 0).unwrap();
    while first.step() < 12 {
        first.advance().unwrap();
    }
    let mut second = Simulation::new(&s, 0).unwrap();
    second.restore(first.state()).unwrap();
    while !second.done() {
        second.advance().unwrap();
    }
    assert_eq!(second.finish().unwrap(), named, "{pricing}");
    // Restored where member 1's value is for one token, not two, the
    // state is refused (the market says why) and changes nothing.
    let one_token = || {
        let mut sim = Simulation::new(&s, 0).unwrap();
        sim.set_policy(
            "buyers",
            GroupPolicy::Custom(Arc::new(OddValues { asset: 0 })),
        )
        .unwrap();
        sim
    };
    let mut third = one_token();
    let e = third.restore(first.state()).unwrap_err().to_string();
    assert!(
        e.contains("of agent 1, which trades 1000000000"),
        "{pricing}: {e}"
    );
    assert_eq!(third.step(), 0);
    assert_eq!(
        third.run().unwrap(),
        one_token().run().unwrap(),
        "{pricing}"
    );
}
