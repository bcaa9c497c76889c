//! Automated market makers in the engine (`pricing.kind = "amm"`): swaps
//! against the constant-product formula written out independently of the
//! library, the pool mirrored in the ledger to the base unit, the fee kept
//! in the pool (k never falls), slippage bounds that fail swaps cleanly,
//! and the bad input an AMM can be given.

use agora::engine::{PriceSource, Simulation};
use agora::Scenario;

const UNIT: u128 = 1_000_000_000;

/// A pool of `(money, tokens)` with `fee`, `max_slippage` (TOML, or empty)
/// and `buyers` agents, each spending a tenth of its balance of `balance`
/// on the pool at every step (a threshold policy that always buys).
fn scenario(
    money: f64,
    tokens: f64,
    fee: f64,
    slippage: &str,
    buyers: u32,
    balance: f64,
) -> Scenario {
    let text = format!(
        r#"
[simulation]
steps = 3
seed = 7

[[assets]]
name = "X"
pricing = {{ kind = "amm", curve = "constant_product", reserve_money = {money:?}, reserve_token = {tokens:?}, fee = {fee:?}{slippage} }}

[[agents]]
group = "buyers"
count = {buyers}
balance = {balance:?}
policy = {{ kind = "threshold", asset = "X", buy_below = 1e9, sell_above = 2e9, p_trade = 1.0, buy_fraction = 0.1, sell_fraction = 0.1 }}
"#
    );
    Scenario::from_toml_str(&text, "amm test").expect("a valid scenario")
}

/// `⌊γ·in·R_out / (R_in + γ·in)⌋` with `γ = (1000 − f)/1000`, exactly,
/// for a fee of `f` thousandths.
fn out(input: u128, r_in: u128, r_out: u128, fee_thousandths: u128) -> u128 {
    let g = 1000 - fee_thousandths;
    g * input * r_out / (1000 * r_in + g * input)
}

#[test]
fn a_buy_pays_the_constant_product_output_to_the_base_unit() {
    let s = scenario(1000.0, 1000.0, 0.003, "", 1, 200.0);
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    // 20 money in (a tenth of 200): 0.997·20·1000/(1000 + 0.997·20).
    let expected = out(20 * UNIT, 1000 * UNIT, 1000 * UNIT, 3);
    assert_eq!(expected, 19_550_169_617);
    let ledger = sim.ledger();
    assert_eq!(u128::from(ledger.holding(0, 0)), expected);
    assert_eq!(ledger.balance(0), 180 * 1_000_000_000);
    let books = ledger.books(0);
    // The whole input joined the pool; the output left it.
    assert_eq!(books.reserve, 1020 * UNIT);
    assert_eq!(u128::from(books.treasury), 1000 * UNIT - expected);
    assert_eq!(u128::from(books.supply), 1000 * UNIT);
    // The second step's buy of 18 is priced on the pool the first left.
    sim.advance().unwrap();
    let second = out(18 * UNIT, 1020 * UNIT, 1000 * UNIT - expected, 3);
    assert_eq!(u128::from(sim.ledger().holding(0, 0)), expected + second);
    assert_eq!(sim.ledger().books(0).reserve, 1038 * UNIT);
    assert!((sim.price(0) - 1038.0 / (1000.0 - (expected + second) as f64 / 1e9)).abs() < 1e-9);
}

#[test]
fn the_last_trade_is_the_money_over_the_tokens_of_the_last_swap_and_the_counters_count_them() {
    let s = scenario(1000.0, 1000.0, 0.003, "", 1, 200.0);
    let mut sim = Simulation::new(&s, 0).unwrap();
    assert_eq!(sim.observe().assets[0].last_trade, None);
    // Buys of 20 then 18 money (a tenth of 200, then of 180), each priced
    // by the constant-product formula on the pool the last one left; the
    // last trade is the money paid (the fee included) over the tokens.
    sim.advance().unwrap();
    let first = out(20 * UNIT, 1000 * UNIT, 1000 * UNIT, 3);
    let last = sim.observe().assets[0].last_trade;
    assert_eq!(last, Some((20 * UNIT) as f64 / first as f64));
    sim.advance().unwrap();
    let second = out(18 * UNIT, 1020 * UNIT, 1000 * UNIT - first, 3);
    let last = sim.observe().assets[0].last_trade;
    assert_eq!(last, Some((18 * UNIT) as f64 / second as f64));
    // Three buys of 20, 18 and 16.2 money, each paying 0.3% of its input
    // as the fee kept in the pool; none failed.
    let out = sim.run().unwrap();
    let amm = out.summary.assets["X"].amm.clone().unwrap();
    assert_eq!((amm.swaps, amm.slippage_failures), (3, 0));
    assert!((amm.fees_money - 0.003 * (20.0 + 18.0 + 16.2)).abs() < 1e-9);
    assert_eq!(amm.fees_tokens, 0.0);
}

#[test]
fn an_amm_records_its_spot_price_as_the_reserves_ratio_with_the_source_pool() {
    let s = scenario(1000.0, 1000.0, 0.003, "", 3, 200.0);
    let mut sim = Simulation::new(&s, 0).unwrap();
    for step in 1..=3 {
        sim.advance().unwrap();
        let b = sim.ledger().books(0);
        let spot = b.reserve as f64 / u128::from(b.treasury) as f64;
        let r = sim.records().assets.last().unwrap().clone();
        assert_eq!(r.step, step);
        assert_eq!(r.source, PriceSource::Pool, "step {step}");
        assert_eq!(r.source.name(), "pool");
        // three buys a step move the spot price off 1
        assert!(spot > 1.0);
        assert!(
            (r.price - spot).abs() <= 1e-12 * spot,
            "step {step}: {} against {spot}",
            r.price
        );
    }
}

#[test]
fn k_never_falls_and_without_a_fee_grows_only_by_rounding() {
    for (fee, thousandths) in [(0.0, 0), (0.003, 3), (0.05, 50)] {
        let s = scenario(5000.0, 2000.0, fee, "", 40, 100.0);
        let mut sim = Simulation::new(&s, 0).unwrap();
        let k = |sim: &Simulation| {
            let b = sim.ledger().books(0);
            b.reserve * u128::from(b.treasury)
        };
        let mut before = k(&sim);
        for _ in 0..3 {
            let (r_m, r_t) = {
                let b = sim.ledger().books(0);
                (b.reserve, u128::from(b.treasury))
            };
            sim.advance().unwrap();
            let after = k(&sim);
            assert!(
                after >= before,
                "fee {fee}: k fell from {before} to {after}"
            );
            // Every buyer spent 10 (then 9, 8.1) of its balance: the pool
            // took in 40 such swaps, each rounded down in the pool's favour.
            let b = sim.ledger().books(0);
            assert!(b.reserve > r_m && u128::from(b.treasury) < r_t);
            if thousandths == 0 {
                // Rounding down only: k grows by less than R_m per swap.
                assert!(
                    after - before < 40 * b.reserve,
                    "fee 0: k grew by {}",
                    after - before
                );
            }
            before = after;
        }
        let out = sim.run().unwrap();
        assert_eq!(out.summary.ledger.conservation_error, 0.0);
        assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
        let amm = out.summary.assets["X"].amm.clone().expect("AMM metrics");
        assert_eq!(amm.swaps, 40 * 3);
        assert!(amm.k_growth >= 1.0);
        if thousandths > 0 {
            assert!(amm.fees_money > 0.0);
        }
    }
}

#[test]
fn a_swap_past_its_slippage_bound_fails_unexecuted() {
    // Two buyers of 20 each, no slippage tolerated: the first at its turn
    // gets its quote, the second less than its quote, and fails.
    let s = scenario(1000.0, 1000.0, 0.003, ", max_slippage = 0.0", 2, 200.0);
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    let ledger = sim.ledger();
    let holdings = [ledger.holding(0, 0), ledger.holding(1, 0)];
    let balances = [ledger.balance(0), ledger.balance(1)];
    let quote = out(20 * UNIT, 1000 * UNIT, 1000 * UNIT, 3) as u64;
    let mut got = holdings;
    got.sort_unstable();
    assert_eq!(got, [0, quote], "one swap at the quote, one not at all");
    let mut paid = balances;
    paid.sort_unstable();
    assert_eq!(paid, [180 * 1_000_000_000, 200 * 1_000_000_000]);
    assert_eq!(sim.ledger().books(0).reserve, 1020 * UNIT);
    let out = sim.run().unwrap();
    let amm = out.summary.assets["X"].amm.clone().unwrap();
    // Every step: one swap, one failure.
    assert_eq!((amm.swaps, amm.slippage_failures), (3, 3));
    assert_eq!(out.summary.ledger.rejected_actions, 3);

    // A tolerance wide enough lets both through.
    let s = scenario(1000.0, 1000.0, 0.003, ", max_slippage = 0.05", 2, 200.0);
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let amm = out.summary.assets["X"].amm.clone().unwrap();
    assert_eq!((amm.swaps, amm.slippage_failures), (6, 0));
}

#[test]
fn sells_pay_money_out_of_the_pool_and_the_example_conserves_everything() {
    let s = agora::scenario::example("amm").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    let start = *sim.ledger().books(0);
    let mut k = start.reserve * u128::from(start.treasury);
    while !sim.done() {
        sim.advance().unwrap();
        let b = sim.ledger().books(0);
        let now = b.reserve * u128::from(b.treasury);
        assert!(now >= k, "step {}: k fell", sim.step());
        k = now;
        // The pool's tokens and the agents' are the whole supply.
        assert_eq!(b.supply, start.supply);
    }
    let out = sim.run().unwrap();
    let amm = out.summary.assets["AGT"].amm.clone().unwrap();
    assert!(amm.swaps > 1000 && amm.fees_money > 0.0 && amm.fees_tokens > 0.0);
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert_eq!(out.summary.ledger.mints + out.summary.ledger.burns, 0);
}

fn error_of(text: &str) -> String {
    match Scenario::from_toml_str(text, "bad.toml") {
        Ok(_) => panic!("accepted a bad scenario:\n{text}"),
        Err(e) => {
            assert!(e.is_input_error(), "{e:?}");
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "{msg:?}");
            msg
        }
    }
}

fn with_pricing(pricing: &str, extra: &str, policy: &str) -> String {
    format!(
        r#"
[simulation]
steps = 3
seed = 1

[[assets]]
name = "X"
{extra}
pricing = {{ kind = "amm", {pricing} }}

[[agents]]
group = "g"
count = 2
balance = 10.0
policy = {policy}
"#
    )
}

const RANDOM: &str = r#"{ kind = "random", asset = "X", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }"#;

#[test]
fn bad_pools_are_named() {
    let cases = [
        (
            r#"curve = "constant_product", reserve_money = 0.0, reserve_token = 10.0"#,
            "",
            "assets.X.pricing.reserve_money",
        ),
        (
            r#"curve = "constant_product", reserve_money = 10.0, reserve_token = -1.0"#,
            "",
            "assets.X.pricing.reserve_token",
        ),
        (
            r#"curve = "constant_product", reserve_money = 10.0, reserve_token = 10.0, fee = 1.0"#,
            "",
            "assets.X.pricing.fee",
        ),
        (
            r#"curve = "constant_product", reserve_money = 10.0, reserve_token = 10.0, max_slippage = 1.5"#,
            "",
            "assets.X.pricing.max_slippage",
        ),
        (
            r#"curve = "stableswap", reserve_money = 10.0, reserve_token = 10.0"#,
            "",
            "assets.X.pricing.curve",
        ),
        (
            r#"curve = "constant_product", reserve_money = 1e300, reserve_token = 10.0"#,
            "",
            "assets.X.pricing.reserve_money",
        ),
        (
            r#"curve = "constant_product", reserve_money = 10.0, reserve_token = 10.0"#,
            "initial_supply = 5.0",
            "assets.X.initial_supply",
        ),
    ];
    for (pricing, extra, path) in cases {
        let msg = error_of(&with_pricing(pricing, extra, RANDOM));
        assert!(msg.starts_with(&format!("bad.toml: {path}: ")), "{msg}");
    }
    // A pool takes swaps, not limit orders: a market maker is refused.
    let maker = r#"{ kind = "market_maker", asset = "X", spread = 0.02, size = 1.0 }"#;
    let msg = error_of(&with_pricing(
        r#"curve = "constant_product", reserve_money = 10.0, reserve_token = 10.0"#,
        "",
        maker,
    ));
    assert!(msg.contains("agents.g.policy"), "{msg}");
}

/// A scenario of one asset priced by `pricing` and scripted groups
/// (`(group, count, balance, actions)`).
fn scripted(pricing: &str, groups: &[(&str, u32, f64, &str)]) -> String {
    let mut text = format!(
        r#"
[simulation]
steps = 4
seed = 3

[[assets]]
name = "X"
pricing = {pricing}
"#
    );
    for (group, count, balance, actions) in groups {
        text.push_str(&format!(
            r#"
[[agents]]
group = "{group}"
count = {count}
balance = {balance:?}
policy = {{ kind = "scripted", asset = "X", actions = {actions} }}
"#
        ));
    }
    text
}

const POOL: &str = r#"{ kind = "amm", curve = "constant_product", reserve_money = 1000.0, reserve_token = 1000.0, fee = 0.003 }"#;

#[test]
fn a_scripted_swap_with_a_slippage_bound_executes_at_its_quote_or_not_at_all() {
    // Two agents each buy with 100 at step 2 and sell 50 at step 3, with
    // 10% slippage tolerated: the first buy of the step gets its quote,
    // 0.997·100·1000/(1000 + 99.7) = 90.6610…; the second would get
    // about 75.7 on the pool the first left, below 0.9 of its quote.
    let text = scripted(
        POOL,
        &[(
            "victims",
            2,
            200.0,
            r#"[{ step = 2, action = "buy", spend = 100.0, max_slippage = 0.1 }, { step = 3, action = "sell", amount = 50.0, max_slippage = 0.1 }]"#,
        )],
    );
    let s = Scenario::from_toml_str(&text, "scripted").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    assert_eq!(
        sim.ledger().books(0).reserve,
        1000 * UNIT,
        "step 1: nothing scripted"
    );
    sim.advance().unwrap();
    let quote = out(100 * UNIT, 1000 * UNIT, 1000 * UNIT, 3) as u64;
    let mut got = [sim.ledger().holding(0, 0), sim.ledger().holding(1, 0)];
    got.sort_unstable();
    assert_eq!(got, [0, quote]);
    // Step 3: only the buyer holds tokens; its sell of 50 is the only swap
    // (the other's is clipped to nothing and rejected).
    sim.advance().unwrap();
    let out_summary = sim.run().unwrap();
    let amm = out_summary.summary.assets["X"].amm.clone().unwrap();
    assert_eq!((amm.swaps, amm.slippage_failures), (2, 1));
    assert_eq!(out_summary.summary.ledger.conservation_error, 0.0);
}

#[test]
fn a_scripted_buy_on_a_curve_is_a_market_buy() {
    let text = scripted(
        r#"{ kind = "bonding_curve", curve = "linear", m = 0.0, b = 2.0 }"#,
        &[(
            "g",
            3,
            100.0,
            r#"[{ step = 1, action = "buy", spend = 20.0 }, { step = 2, action = "sell", amount = 4.0 }]"#,
        )],
    );
    let s = Scenario::from_toml_str(&text, "scripted").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    // A flat curve at 2: 20 buys 10 tokens.
    for a in 0..3 {
        assert_eq!(sim.ledger().holding(a, 0), 10 * 1_000_000_000);
    }
    sim.advance().unwrap();
    for a in 0..3 {
        assert_eq!(sim.ledger().holding(a, 0), 6 * 1_000_000_000);
        assert_eq!(sim.ledger().balance(a), 88 * 1_000_000_000);
    }
}

#[test]
fn a_scripted_policy_round_trips_through_the_builder() {
    let text = scripted(
        POOL,
        &[(
            "g",
            1,
            10.0,
            r#"[{ step = 3, action = "sell", amount = 1.0 }, { step = 1, action = "buy", spend = 5.0, max_slippage = 0.25 }]"#,
        )],
    );
    let s = Scenario::from_toml_str(&text, "scripted").unwrap();
    let b = crate::library::rebuilt(&s);
    let table = b.to_table().unwrap().to_string();
    let built = b.build().unwrap();
    let a = format!("{:?}", s.groups()[0].policy);
    let c = format!("{:?}", built.groups()[0].policy);
    assert_eq!(a, c);
    assert!(table.contains("max_slippage = 0.25"), "{table}");
}

#[test]
fn bad_scripts_are_named() {
    let cases = [
        (
            r#"[{ step = 1, action = "buy", spend = 1.0 }, { step = 2, action = "sell", amount = 1.0 }, { step = 1, action = "sell", amount = 1.0 }]"#,
            "agents.g.policy.actions[2].step",
        ),
        (
            r#"[{ step = 1, action = "buy" }]"#,
            "agents.g.policy.actions[0].spend",
        ),
        (
            r#"[{ step = 0, action = "buy", spend = 1.0 }]"#,
            "agents.g.policy.actions[0].step",
        ),
        (
            r#"[{ step = 1, action = "hold" }]"#,
            "agents.g.policy.actions[0].action",
        ),
        (
            r#"[{ step = 1, action = "buy", spend = 1.0, asset = "Y" }]"#,
            "agents.g.policy.actions[0].asset",
        ),
        (r#"[]"#, "agents.g.policy.actions"),
        (
            r#"[{ step = 1, action = "buy", spend = 1.0, max_slippage = 2.0 }]"#,
            "agents.g.policy.actions[0].max_slippage",
        ),
    ];
    for (actions, path) in cases {
        let msg = error_of(&scripted(POOL, &[("g", 1, 10.0, actions)]));
        assert!(
            msg.starts_with(&format!("bad.toml: {path}: ")),
            "{path}: {msg}"
        );
    }
    // A slippage bound on a curve has no quote to hold to.
    let msg = error_of(&scripted(
        r#"{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }"#,
        &[(
            "g",
            1,
            10.0,
            r#"[{ step = 1, action = "sell", amount = 1.0 }, { step = 2, action = "buy", spend = 1.0, max_slippage = 0.1 }]"#,
        )],
    ));
    assert!(
        msg.starts_with("bad.toml: agents.g.policy.actions[1].max_slippage: ")
            && msg.contains("amm"),
        "{msg}"
    );
}
