//! The ledger at the edges of its range: economies whose reserves pass what
//! one account holds (1.8e10 money units) run exactly, every token minted
//! paid for to the base unit; amounts past the range stop the run with an
//! input error that names the field, or the step and the asset, and says
//! what to scale — never a saturated amount, never a free token.

use agora::experiment::optimize::{optimize, Method, ParamRange};
use agora::ledger::SCALE;
use agora::pricing::{Curve, CurveMarket};
use agora::{Scenario, Simulation};

/// The reference scenario (`reference.toml`), with the given changes.
fn reference(changes: &[(&str, &str)]) -> Scenario {
    let mut text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "reference")
        .expect("the reference example")
        .toml
        .to_string();
    for (from, to) in changes {
        assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
        text = text.replacen(from, to, 1);
    }
    Scenario::from_toml_str(&text, "reference.toml").expect("valid")
}

/// `F(S) = m/2·S² + b·S` for the reference curve, money units.
fn linear_integral(m: f64, b: f64, s: f64) -> f64 {
    s * (m / 2.0 * s + b)
}

/// Runs `sim` to its end, checking after every step that money and tokens
/// are conserved and that the reserve is exactly `R(S)`, the price of every
/// token in the supply (nothing minted for free), and that the money the
/// agents spent is exactly what the reserve gained (`reserve − funding`,
/// no fees on the reference curve). Returns the largest reserve seen, base
/// units.
fn run_paying_for_every_token(mut sim: Simulation) -> u128 {
    let initial: u128 = (0..sim.ledger().agents() as u32)
        .map(|i| u128::from(sim.ledger().balance(i)))
        .sum();
    let funding = sim.ledger().money_in().reserve_funding;
    let mut largest = 0;
    loop {
        let c = sim.ledger().conservation();
        assert_eq!(
            (c.money_error(), c.token_error()),
            (0, 0),
            "step {}",
            sim.step()
        );
        let books = *sim.ledger().books(0);
        let r = sim.curve(0).unwrap().required_reserve(books.supply);
        assert_eq!(
            Some(books.reserve),
            r,
            "reserve is R(S) at step {}",
            sim.step()
        );
        let balances: u128 = (0..sim.ledger().agents() as u32)
            .map(|i| u128::from(sim.ledger().balance(i)))
            .sum();
        assert_eq!(
            initial - balances,
            books.reserve - funding,
            "what the agents spent is what the reserve gained, step {}",
            sim.step()
        );
        largest = largest.max(books.reserve);
        if sim.step() == sim.scenario().simulation().steps {
            return largest;
        }
        sim.advance().expect("runs inside the ledger's range");
    }
}

/// Regression test for issue 14: with balances of 1e7 the reference
/// economy's reserve passes 1.8e10 money units (the range of a `u64` of
/// base units) within a few steps; the reserve then saturated, later buys
/// cost the difference of two capped values — nothing — and the supply
/// grew from 6.0M to 33.6M tokens for free. Now the reserve is a `u128`
/// and every token is paid for.
#[test]
fn the_reference_economy_with_balances_of_1e7_pays_for_every_token_it_mints() {
    let scenario = reference(&[
        ("balance = 1000.0", "balance = 10000000.0"),
        ("steps = 100", "steps = 20"),
    ]);
    let sim = Simulation::new(&scenario, 0).expect("set up");
    let largest = run_paying_for_every_token(sim);
    assert!(
        largest > u128::from(u64::MAX),
        "the test must reach the regime that used to saturate: {largest}"
    );
    // and the closed form: the reserve is F(S) of the final supply
    let out = Simulation::new(&scenario, 0).unwrap().run().unwrap();
    let t = &out.summary.assets["TOKEN"];
    let want = linear_integral(0.001, 1.0, t.final_supply);
    assert!(
        (t.final_reserve - want).abs() <= 1e-9 * want,
        "reserve {} vs F(S) = {want}",
        t.final_reserve
    );
    // the supply the issue saw minted for free is not reached: 1e4 agents
    // with 1e7 each hold 1e11 money, which buys sqrt(2e11/m) = 1.4e7 tokens
    // at most from supply 0
    let most = (-1.0 + (1.0 + 2.0 * 0.001 * 1e11f64).sqrt()) / 0.001;
    assert!(t.final_supply < most, "supply {} > {most}", t.final_supply);
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert_eq!(out.summary.ledger.reserve_shortfall, 0.0);
    // No free profit: with no fee and no initial supply, the agents paid
    // F(S) for the S tokens they hold, worth S·P(S) at the final price, so
    // the mean P&L is (S·P(S) − F(S)) / N = m·S²/(2N) exactly, at most
    // the balance B (m/2·S² ≤ F(S) ≤ N·B). The issue saw 1.1e8 = 11·B.
    let pnl = out.summary.groups["noise"].pnl;
    let s = t.final_supply;
    let want = 0.001 * s * s / 2.0 / 10_000.0;
    assert!(
        (pnl - want).abs() <= 1e-9 * want,
        "P&L {pnl} vs m·S²/2N = {want}"
    );
    assert!(pnl < 1e7, "{pnl}");
}

/// The reference economy at the edge of an account: balances of
/// 18446744073 money units (the range is 18446744073.709551615) run the
/// first step exactly, every token paid for, the reserve passing 5e12
/// money units; at step 2 an early buyer's refund (its tokens, bought near
/// a price of 1, now sell near 1e5) no longer fits its account, and the
/// run stops there with the range error, the books whole. One unit more
/// balance is refused when the file is read, naming the field and range.
#[test]
fn the_reference_economy_runs_exactly_up_to_the_account_range_and_is_refused_past_it() {
    let edge = |steps: &str| {
        reference(&[
            ("balance = 1000.0", "balance = 18446744073.0"),
            ("steps = 100", steps),
        ])
    };
    let largest = run_paying_for_every_token(Simulation::new(&edge("steps = 1"), 0).unwrap());
    assert!(largest > 5_000_000_000_000 * u128::from(SCALE), "{largest}");
    let mut sim = Simulation::new(&edge("steps = 5"), 0).unwrap();
    sim.advance().unwrap();
    let e = sim.advance().unwrap_err();
    range_error(e, &["at step 2", "asset TOKEN", "selling", "money"]);
    let books = *sim.ledger().books(0);
    assert_eq!(sim.ledger().conservation().money_error(), 0);
    assert_eq!(
        Some(books.reserve),
        sim.curve(0).unwrap().required_reserve(books.supply)
    );
    let text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "reference")
        .unwrap()
        .toml
        .replace("balance = 1000.0", "balance = 18446744074.0");
    let e = Scenario::from_toml_str(&text, "reference.toml").unwrap_err();
    range_error(
        e,
        &[
            "reference.toml: agents.noise.balance",
            "1.8e10 money units per account",
            "scale money amounts down",
        ],
    );
}

/// Regression test for issue 14: a schedule raising a curve past the old
/// `u64` range got a capped top-up. Raising `m` from 0.001 to 0.002 over a
/// supply of 1e7 tokens tops the reserve up by (0.002 − 0.001)/2·(1e7)² =
/// 5e10 money units: exactly `R'(S) − R(S)` of the two curves, to the base
/// unit, after which the reserve is `R'(S)`.
#[test]
fn a_schedule_raising_a_curve_past_u64_gets_the_exact_top_up() {
    let scenario = reference(&[
        ("initial_supply = 0.0", "initial_supply = 1e7"),
        (
            "m = 0.001, b = 1.0 }",
            "m = 0.001, b = 1.0 }\nschedule = [{ param = \"m\", at = 2, value = 0.002 }]",
        ),
        ("p_buy = 0.5, p_sell = 0.5", "p_buy = 0.0, p_sell = 0.0"),
        ("steps = 100", "steps = 3"),
    ]);
    let mut sim = Simulation::new(&scenario, 0).expect("set up");
    let supply = 10_000_000 * SCALE;
    let before = Curve::Linear { m: 0.001, b: 1.0 };
    let after = Curve::Linear { m: 0.002, b: 1.0 };
    let r = |c: Curve| CurveMarket::new(c, 0.0).required_reserve(supply).unwrap();
    let (r0, r1) = (r(before), r(after));
    sim.advance().unwrap();
    assert_eq!(sim.ledger().books(0).reserve, r0);
    sim.advance().unwrap();
    assert_eq!(sim.ledger().money_in().reserve_top_ups, r1 - r0);
    assert_eq!(sim.ledger().books(0).reserve, r1);
    assert_eq!(sim.ledger().conservation().money_error(), 0);
    // the closed form, to within what f64 resolves at 5e19 base units
    let want = 5e10 * SCALE as f64;
    let got = (r1 - r0) as f64;
    assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
    assert!(r1 - r0 > u128::from(u64::MAX));
}

/// Regression test for issue 14: `optimize` found 1.7e9 profit per agent
/// in balances the reserve could not hold. Maximising the mean P&L over
/// balances up to 5e9 (reserves up to 2.5e11 money units, past the old
/// 1.8e10), every evaluation stays within the theory's bound, P&L ≤ B
/// (see above), and the best one is m·S²/(2N) of its own run.
#[test]
fn optimize_finds_no_free_profit_past_the_old_range() {
    let scenario = reference(&[
        ("count = 10000", "count = 50"),
        ("steps = 100", "steps = 20"),
    ]);
    let range = [ParamRange::new("agents.noise.balance", 1e3, 5e9)];
    let found = optimize(
        &scenario,
        &range,
        "groups.noise.pnl",
        true,
        Method::Grid,
        6,
        &|_| {},
    )
    .expect("every evaluation runs inside the ledger's range");
    assert!(found.evaluations.len() >= 5);
    for e in &found.evaluations {
        let balance = e.values[0];
        assert!(
            e.objective <= balance,
            "free profit: P&L {} on a balance of {balance}",
            e.objective
        );
    }
    let best = found.best();
    assert!(best.values[0] > 1e9, "{best:?}");
    let out = Simulation::new(&found.best_scenario(&scenario).unwrap(), 0)
        .unwrap()
        .run()
        .unwrap();
    let s = out.summary.assets["TOKEN"].final_supply;
    let want = 0.001 * s * s / 2.0 / 50.0;
    assert!(
        (best.objective - want).abs() <= 1e-9 * want,
        "{best:?} vs m·S²/2N = {want}"
    );
    assert!(out.summary.assets["TOKEN"].final_reserve > 1.8e10);
}

/// Regression test for issue 14: an initial supply of 1e7 on the reference
/// curve needs a reserve of F(1e7) = 5.001e10 money units, past 1.8e10; it
/// was funded with a saturated 1.8e10 and left silently short. Now it holds
/// the closed form to the base unit, and every later trade keeps it R(S).
#[test]
fn an_initial_supply_of_1e7_is_backed_by_its_whole_integral() {
    let scenario = reference(&[
        ("initial_supply = 0.0", "initial_supply = 1e7"),
        ("steps = 100", "steps = 10"),
    ]);
    let sim = Simulation::new(&scenario, 0).expect("set up");
    let books = *sim.ledger().books(0);
    assert_eq!(books.supply, 10_000_000 * SCALE);
    // F(1e7) = 0.0005·1e14 + 1e7 = 5.001e10 money units, to the base unit
    assert_eq!(books.reserve, 50_010_000_000_000_000_000);
    assert_eq!(sim.ledger().money_in().reserve_funding, books.reserve);
    assert!(books.reserve > u128::from(u64::MAX));
    run_paying_for_every_token(sim);
}

/// An economy of 1.5e10 money units in all, near the top of the range of
/// one account (1.8e10): a whale holding 1.5e9, traders buying and selling
/// the reserve up to billions — exact throughout.
#[test]
fn an_economy_of_1_5e10_money_units_runs_exactly() {
    let scenario = reference(&[
        ("count = 10000", "count = 10"),
        ("balance = 1000.0", "balance = 1.5e9"),
        ("steps = 100", "steps = 50"),
    ]);
    let sim = Simulation::new(&scenario, 0).expect("set up");
    let largest = run_paying_for_every_token(sim);
    assert!(largest > 1_000_000_000 * u128::from(SCALE), "{largest}");
}

/// The error a run stops with, checked to be the ledger's range error: an
/// input error (exit 2), one line, containing every one of `parts`.
fn range_error(e: agora::Error, parts: &[&str]) {
    let msg = e.to_string();
    assert!(e.is_input_error(), "not an input error: {msg}");
    assert!(!msg.contains('\n'), "not one line: {msg}");
    assert!(msg.contains("exceeds the ledger's range"), "{msg}");
    for part in parts {
        assert!(msg.contains(part), "expected {part:?} in {msg}");
    }
}

const WHALE: &str = r#"
[simulation]
steps = 5
seed = 1

[[assets]]
name = "T"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }

[[agents]]
group = "whale"
count = 1
balance = 0.0
holdings = [{ asset = "T", total = 1e9, distribution = "uniform" }]
policy = { kind = "random", asset = "T", p_buy = 0.0, p_sell = 1.0, buy_fraction = 0.0, sell_fraction = 1.0 }
"#;

/// Selling 1e9 tokens of the reference curve refunds F(1e9) = 5e14 money
/// units, more than one account holds: the run stops at that step with the
/// range error, and the books are left whole (the sell did not happen).
#[test]
fn a_sell_whose_refund_no_account_can_hold_stops_the_run_naming_step_and_asset() {
    let scenario = Scenario::from_toml_str(WHALE, "whale.toml").unwrap();
    let mut sim = Simulation::new(&scenario, 0).expect("set up: the reserve is a u128");
    let before = *sim.ledger().books(0);
    assert_eq!(
        Some(before.reserve),
        sim.curve(0).unwrap().required_reserve(before.supply)
    );
    let e = sim.advance().unwrap_err();
    range_error(
        e,
        &["whale.toml", "at step 1", "asset T", "selling", "money"],
    );
    assert_eq!(*sim.ledger().books(0), before, "nothing was sold");
    assert_eq!(sim.ledger().conservation().money_error(), 0);
}

/// `count` agents of `balance` (TOML) money each, buying with all of it at
/// every step tokens at 1e-9 money each.
fn cheap_buyers(count: u32, balance: &str) -> Scenario {
    let text = WHALE
        .replace("m = 0.001, b = 1.0", "m = 0.0, b = 1e-9")
        .replace("count = 1", &format!("count = {count}"))
        .replace("balance = 0.0", &format!("balance = {balance}"))
        .replace(
            r#"holdings = [{ asset = "T", total = 1e9, distribution = "uniform" }]"#,
            "",
        )
        .replace(
            "p_buy = 0.0, p_sell = 1.0, buy_fraction = 0.0",
            "p_buy = 1.0, p_sell = 0.0, buy_fraction = 1.0",
        );
    Scenario::from_toml_str(&text, "cheap.toml").unwrap()
}

/// Tokens at 1e-9 money each: a budget of 1e9 money buys 1e18 tokens, past
/// what an account (and a supply) holds.
#[test]
fn a_buy_of_more_tokens_than_an_account_holds_stops_the_run() {
    let scenario = cheap_buyers(1, "1e9");
    let mut sim = Simulation::new(&scenario, 0).unwrap();
    range_error(
        sim.advance().unwrap_err(),
        &["at step 1", "asset T", "buying", "token"],
    );
    assert_eq!(sim.ledger().books(0).supply, 0, "nothing was minted");
    assert_eq!(
        sim.ledger().balance(0),
        1_000_000_000 * SCALE,
        "nothing was paid"
    );
}

/// The same buy past the range by 10,000 buyers: from 8,192 agents a run
/// at two threads trades on a curve on copies of the accounts (the
/// two-thread pipeline), where the ledger's refusal must stop the run
/// too, with the error of one thread, not count as a rejected action.
#[test]
fn a_buy_past_the_range_stops_the_run_alike_at_one_and_two_threads() {
    let scenario = cheap_buyers(10_000, "1e5");
    let errors: Vec<String> = [1, 2]
        .into_iter()
        .map(|threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let mut sim = Simulation::new(&scenario, 0).unwrap();
                    let e = sim.advance().unwrap_err();
                    assert_eq!(sim.ledger().books(0).supply, 0, "{threads} threads");
                    let msg = e.to_string();
                    range_error(e, &["at step 1", "asset T", "buying", "token"]);
                    msg
                })
        })
        .collect();
    assert_eq!(errors[0], errors[1]);
}

#[test]
fn amounts_past_the_range_at_set_up_name_the_field_and_what_to_scale() {
    // a balance past one account, refused when the file is read
    let text = WHALE.replace("balance = 0.0", "balance = 2e10");
    let e = Scenario::from_toml_str(&text, "rich.toml").unwrap_err();
    range_error(
        e,
        &[
            "rich.toml: agents.whale.balance: 2e10",
            "money",
            "work in thousands",
        ],
    );
    // two airdrops of 1e10 tokens into one account: 2e10 does not fit it
    let text = WHALE.replace(
        r#"holdings = [{ asset = "T", total = 1e9, distribution = "uniform" }]"#,
        r#"holdings = [{ asset = "T", total = 1e10, distribution = "uniform" }, { asset = "T", total = 1e10, distribution = "uniform" }]"#,
    );
    let scenario = Scenario::from_toml_str(&text, "drop.toml").unwrap();
    range_error(
        Simulation::new(&scenario, 0).unwrap_err(),
        &["drop.toml: agents.whale.holdings", "token"],
    );
    // a reserve past u128: F(1e6) on a steep exponential curve
    let text = WHALE.replace(
        r#"pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }"#,
        "initial_supply = 1e6\npricing = { kind = \"bonding_curve\", curve = \"exponential\", a = 1.0, k = 0.01 }",
    );
    let scenario = Scenario::from_toml_str(&text, "steep.toml").unwrap();
    range_error(
        Simulation::new(&scenario, 0).unwrap_err(),
        &[
            "steep.toml: assets.T.initial_supply: the reserve backing 1e6 tokens",
            "per reserve",
        ],
    );
}

/// Raising a curve past what a reserve can hold stops the run at that step;
/// the curve keeps its old parameters (a change and its top-up are all or
/// nothing).
#[test]
fn a_top_up_past_the_range_stops_the_run_and_leaves_the_curve_unchanged() {
    let text = WHALE
        .replace(
            r#"m = 0.001, b = 1.0 }"#,
            r#"m = 0.001, b = 1.0 }
schedule = [{ param = "m", at = 2, value = 1e30 }]"#,
        )
        .replace("p_buy = 0.0, p_sell = 1.0", "p_buy = 0.0, p_sell = 0.0");
    let scenario = Scenario::from_toml_str(&text, "raise.toml").unwrap();
    let mut sim = Simulation::new(&scenario, 0).unwrap();
    sim.advance().unwrap();
    let before = *sim.ledger().books(0);
    range_error(
        sim.advance().unwrap_err(),
        &["schedule at step 2", "asset T", "setting m to 1e30"],
    );
    assert_eq!(sim.curve(0).unwrap().curve().param("m"), Some(0.001));
    assert_eq!(*sim.ledger().books(0), before, "no top-up");
}

const RESOURCE: &str = r#"
[simulation]
steps = 3
seed = 3

[[assets]]
name = "C"
kind = "resource"
capacity = 5.0
renewal = "renewing"
allocation = "proportional"
pricing = { kind = "fixed", price = 1.0 }

[[agents]]
group = "users"
count = 3
balance = 1.0
policy = { kind = "consumer", asset = "C", need = { distribution = "uniform", low = 0.5, high = 1.5 }, value = 3.0, demand = "linear" }
"#;

/// Money a run charges per unit — a holding cost, an auction's reserve
/// price, a producer's cost — past the range of an account was charged as
/// 0 (`to_base(x).unwrap_or(0)`): it is refused when the file is read,
/// naming the field. At the edge it is accepted.
#[test]
fn costs_and_reserve_prices_past_the_range_are_refused_naming_the_field() {
    let cases = [
        (
            "capacity = 5.0",
            "capacity = 5.0\nholding_cost = VALUE",
            "assets.C.holding_cost",
        ),
        (
            r#"allocation = "proportional"
pricing = { kind = "fixed", price = 1.0 }"#,
            r#"allocation = "auction"
pricing = { kind = "auction", reserve_price = VALUE }"#,
            "assets.C.pricing.reserve_price",
        ),
        (
            "demand = \"linear\" }\n",
            "demand = \"linear\" }\n\n[[agents]]\ngroup = \"makers\"\ncount = 1\nbalance = 1.0\npolicy = { kind = \"producer\", asset = \"C\", cost = VALUE, max_output = 1.0 }\n",
            "agents.makers.policy.cost",
        ),
    ];
    for (from, to, field) in cases {
        assert_eq!(RESOURCE.matches(from).count(), 1, "{from}");
        let past = RESOURCE.replace(from, &to.replace("VALUE", "2e10"));
        let e = Scenario::from_toml_str(&past, "costs.toml").unwrap_err();
        range_error(e, &[field, "2e10", "money"]);
        let edge = RESOURCE.replace(from, &to.replace("VALUE", "1.8e10"));
        Scenario::from_toml_str(&edge, "costs.toml")
            .unwrap_or_else(|e| panic!("{field} = 1.8e10 is in range: {e}"));
    }
}

/// A posted price past the ledger's range was traded at one base unit
/// (`to_base(p).unwrap_or(0).max(1)`): the exogenous side bought tokens
/// for nothing. It stops the run at that step naming the price.
#[test]
fn a_posted_price_past_the_range_stops_the_run_instead_of_trading_at_one_base_unit() {
    let text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "price-adjustment")
        .unwrap()
        .toml
        .replace("initial_price = 10.0", "initial_price = 2e10");
    let scenario = Scenario::from_toml_str(&text, "posted.toml").unwrap();
    let mut sim = Simulation::new(&scenario, 0).unwrap();
    let before = sim.ledger().clone();
    range_error(
        sim.advance().unwrap_err(),
        &[
            "posted.toml",
            "at step 1",
            "asset GOOD",
            "the price 2e10",
            "money",
        ],
    );
    assert_eq!(sim.ledger().conservation().money_error(), 0);
    // the orders were placed (their money and tokens locked), nothing was
    // traded with the outside world
    let books = sim.ledger().books(0);
    assert_eq!(books.supply, before.books(0).supply, "nothing traded");
    assert_eq!(books.outside, 0);
    assert_eq!(sim.ledger().money_in().outside, 0);
    // at 1.8e10 the same market runs (nobody can pay that price: the
    // agents' orders are clipped or rejected, and the rule lowers it)
    let text = text.replace("initial_price = 2e10", "initial_price = 1.8e10");
    let scenario = Scenario::from_toml_str(&text, "posted.toml").unwrap();
    let out = Simulation::new(&scenario, 0).unwrap().run().unwrap();
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}
