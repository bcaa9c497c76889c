//! Scheduled events (dumps, joins, leaves, parameter jumps) and the
//! stability metrics measured from the first of them.

use agora::engine::RunOutput;
use agora::output::summary_json;
use agora::scenario::example;
use agora::{Scenario, Simulation};

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml_str(text, "shocks.toml").expect("valid scenario")
}

fn run(scenario: &Scenario) -> RunOutput {
    Simulation::new(scenario, 0)
        .expect("set up")
        .run()
        .expect("run")
}

/// The price of asset 0 at the end of each step (index = step).
fn prices(out: &RunOutput) -> Vec<f64> {
    out.records
        .assets
        .iter()
        .filter(|r| r.asset == 0)
        .map(|r| r.price)
        .collect()
}

/// Trades of asset 0 during each step (index = step).
fn trades(out: &RunOutput) -> Vec<u64> {
    out.records
        .assets
        .iter()
        .filter(|r| r.asset == 0)
        .map(|r| r.trades)
        .collect()
}

fn assert_conserved(out: &RunOutput) {
    let l = &out.summary.ledger;
    assert_eq!(l.conservation_error, 0.0);
    assert_eq!(l.token_conservation_error, 0.0);
    assert_eq!(l.reserve_shortfall, 0.0);
}

/// 1000 unheld tokens on P = m·S + 1, and agents that never trade: the
/// price is m·1000 + 1 and moves only with `m`.
fn parameter_shock(events: &str) -> Scenario {
    scenario(&format!(
        r#"
        [simulation]
        steps = 40
        seed = 5
        [[assets]]
        name = "T"
        initial_supply = 1000.0
        pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}
        [[agents]]
        group = "idle"
        count = 20
        balance = 100.0
        policy = {{ kind = "random", asset = "T", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }}
        [stability]
        band = 0.01
        window = 5
        {events}
        "#
    ))
}

#[test]
fn recovery_steps_of_a_parameter_jump_undone_seven_steps_later_is_seven() {
    // m doubles at step 20 (P: 2 → 3) and is restored at step 27 (P: 2).
    let s = parameter_shock(
        r#"
        [[events]]
        at = 20
        kind = "parameter"
        asset = "T"
        param = "m"
        value = 0.002
        [[events]]
        at = 27
        kind = "parameter"
        asset = "T"
        param = "m"
        value = 0.001
        "#,
    );
    assert_eq!(s.shock_step(), Some(20));
    let out = run(&s);
    let p = prices(&out);
    // P = m·1000 + 1, up to the rounding of the f64 product
    let close = |x: f64, y: f64| (x - y).abs() < 1e-12;
    assert!(p[..20].iter().all(|&x| x == 2.0), "{p:?}");
    assert!(p[20..27].iter().all(|&x| close(x, 3.0)), "{p:?}");
    assert!(p[27..].iter().all(|&x| x == 2.0), "{p:?}");
    let shock = out.summary.assets["T"]
        .shock
        .as_ref()
        .expect("stability metrics");
    assert_eq!(shock.pre_shock_price, 2.0);
    assert_eq!(shock.recovery_steps, Some(7));
    // (m' − m)·S / (m·S + b) = 0.001·1000 / 2, and the price never falls
    // below its level
    assert!(close(shock.max_deviation, 0.5), "{shock:?}");
    assert_eq!(shock.shock_drawdown, 0.0);
    // raising the curve tops up the reserve as a schedule would:
    // R(1000) goes from 0.0005·1000² + 1000 = 1500 to 2000
    let top_ups = out.summary.ledger.reserve_top_ups;
    assert!((top_ups - 500.0).abs() < 1e-6, "{top_ups}");
    assert_conserved(&out);

    let json: serde_json::Value =
        serde_json::from_slice(&summary_json(&s, std::slice::from_ref(&out)).expect("json"))
            .expect("valid json");
    assert_eq!(json["assets"]["T"]["recovery_steps"], 7);
    assert_eq!(json["assets"]["T"]["pre_shock_price"], 2.0);
}

#[test]
fn a_shock_that_never_recovers_reports_null_and_no_events_report_nothing() {
    let s = parameter_shock(
        r#"
        [[events]]
        at = 20
        kind = "parameter"
        asset = "T"
        param = "m"
        value = 0.0005
        "#,
    );
    let out = run(&s);
    let shock = out.summary.assets["T"]
        .shock
        .as_ref()
        .expect("stability metrics");
    assert_eq!(shock.recovery_steps, None);
    // P falls from 2 to 1.5: a quarter
    assert_eq!(shock.shock_drawdown, 0.25);
    assert_eq!(shock.max_deviation, 0.25);
    assert_eq!(out.summary.ledger.reserve_top_ups, 0.0);
    let json: serde_json::Value =
        serde_json::from_slice(&summary_json(&s, std::slice::from_ref(&out)).expect("json"))
            .expect("valid json");
    let t = &json["assets"]["T"];
    assert!(t["recovery_steps"].is_null(), "{t}");
    assert_eq!(t["shock_drawdown"], 0.25);

    let calm = run(&parameter_shock(""));
    assert_eq!(calm.summary.assets["T"].shock, None);
    let json: serde_json::Value = serde_json::from_slice(
        &summary_json(&parameter_shock(""), std::slice::from_ref(&calm)).expect("json"),
    )
    .expect("valid json");
    assert!(json["assets"]["T"].get("recovery_steps").is_none());
}

/// Whales holding an uneven airdrop, and `others` that trade or not.
fn whales(others: &str, events: &str) -> Scenario {
    scenario(&format!(
        r#"
        [simulation]
        steps = 60
        seed = 9
        [[assets]]
        name = "T"
        pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.01 }}
        [[agents]]
        group = "whales"
        count = 7
        balance = 0.0
        holdings = {{ asset = "T", total = 10000.0, distribution = "lognormal", sigma = 1.0 }}
        policy = {{ kind = "random", asset = "T", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }}
        {others}
        {events}
        "#
    ))
}

const DUMP_AT_30: &str = r#"
[[events]]
at = 30
kind = "dump"
group = "whales"
asset = "T"
share = 0.3
"#;

#[test]
fn a_dump_sells_exactly_the_floor_of_share_times_holdings_per_agent() {
    let s = whales("", DUMP_AT_30);
    let mut sim = Simulation::new(&s, 0).expect("set up");
    while sim.step() < 29 {
        sim.advance().expect("step");
    }
    let before: Vec<u64> = (0..7).map(|a| sim.ledger().holding(a, 0)).collect();
    assert!(before.iter().all(|&h| h > 0) && before.windows(2).any(|w| w[0] != w[1]));
    let supply_before = sim.ledger().books(0).supply;
    let expected: Vec<u64> = before
        .iter()
        .map(|&h| (0.3 * h as f64).floor() as u64)
        .collect();
    sim.advance().expect("step 30");
    for (a, (&h, &sold)) in before.iter().zip(&expected).enumerate() {
        assert_eq!(sim.ledger().holding(a as u32, 0), h - sold, "whale {a}");
    }
    let sold: u64 = expected.iter().sum();
    assert_eq!(supply_before - sim.ledger().books(0).supply, sold);
    let row = sim.records().assets.last().expect("a row");
    assert_eq!(
        (row.step, row.volume, row.trades),
        (30, u128::from(sold), 7)
    );
    assert_eq!(sim.ledger().counts().burns, 7);
    let out = sim.run().expect("rest of the run");
    assert_conserved(&out);
    let t = trades(&out);
    assert!(t
        .iter()
        .enumerate()
        .all(|(k, &n)| n == if k == 30 { 7 } else { 0 }));
}

#[test]
fn a_dump_too_small_to_sell_a_base_unit_sells_and_rejects_nothing() {
    // 10,000 tokens (10¹³ base units) among 7 whales: 10⁻¹⁵ of a holding
    // is below one base unit for every whale, so each skips (no sell of
    // nothing, which the curve would count as a rejected action).
    let dump = DUMP_AT_30.replace("share = 0.3", "share = 1e-15");
    let mut sim = Simulation::new(&whales("", &dump), 0).expect("set up");
    while sim.step() < 29 {
        sim.advance().expect("step");
    }
    let before: Vec<u64> = (0..7).map(|a| sim.ledger().holding(a, 0)).collect();
    assert!(before.iter().all(|&h| h > 0 && h < 1_000_000_000_000_000));
    let rejected = sim.ledger().counts().rejected;
    sim.advance().expect("step 30");
    let after: Vec<u64> = (0..7).map(|a| sim.ledger().holding(a, 0)).collect();
    assert_eq!(after, before);
    assert_eq!(sim.ledger().counts().rejected, rejected);
    let row = sim.records().assets.last().expect("a row");
    assert_eq!((row.step, row.volume, row.trades), (30, 0, 0));
}

#[test]
fn dip_buyers_buy_back_a_dump_and_the_price_recovers() {
    // 10,000 whale tokens: P = 11. Buyers buy below 10.9 only, so nothing
    // trades before the dump; the dump of half takes P to 6.
    let buyers = r#"
        [[agents]]
        group = "dip_buyers"
        count = 200
        balance = 1000.0
        policy = { kind = "threshold", asset = "T", buy_below = 10.9, sell_above = 1000.0, p_trade = 0.5, buy_fraction = 0.05, sell_fraction = 0.1 }
    "#;
    let dump = DUMP_AT_30.replace("share = 0.3", "share = 0.5");
    let out = run(&whales(buyers, &dump));
    assert_conserved(&out);
    let p = prices(&out);
    let t = trades(&out);
    assert!(t[1..30].iter().all(|&n| n == 0), "{t:?}");
    assert!((p[29] - 11.0).abs() < 1e-9, "{}", p[29]);
    assert!(
        p[30] < 0.7 * p[29],
        "the dump did not push the price down: {p:?}"
    );
    let shock = out.summary.assets["T"].shock.clone().expect("metrics");
    assert!((shock.pre_shock_price - 11.0).abs() < 1e-9);
    // the price fell (drawdown > 0, at least the dump's 45% less what step
    // 30's buyers bought back), then came back within 5%
    assert!(shock.shock_drawdown > 0.3, "{shock:?}");
    assert!(shock.max_deviation >= shock.shock_drawdown);
    let r = shock
        .recovery_steps
        .expect("the buyers bring the price back");
    assert!((1..30).contains(&r), "{shock:?}");
    let back = p[30 + r as usize];
    assert!((back - 11.0).abs() <= 0.05 * 11.0, "{back}");
    assert!(p[30 + r as usize - 1] < 0.95 * 11.0);
}

#[test]
fn groups_join_and_leave_exactly_at_their_steps() {
    // `early` buys every step from the start and leaves at 8 selling all;
    // `newcomers` buy every step from step 5 on.
    let groups = r#"
        [[agents]]
        group = "early"
        count = 10
        balance = 100.0
        policy = { kind = "random", asset = "T", p_buy = 1.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.0 }
        [[agents]]
        group = "newcomers"
        count = 20
        balance = 100.0
        policy = { kind = "random", asset = "T", p_buy = 1.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.0 }
    "#;
    let events = r#"
        [[events]]
        at = 5
        kind = "join"
        group = "newcomers"
        [[events]]
        at = 8
        kind = "leave"
        group = "early"
        sell_all = true
    "#;
    let s = whales(groups, events);
    let out = run(&s);
    assert_conserved(&out);
    let t = trades(&out);
    // steps 1–4: early (10); 5–7: early + newcomers (30); 8: newcomers' 20
    // buys and early's 10 sells; from 9: newcomers
    assert_eq!(&t[..10], &[0, 10, 10, 10, 10, 30, 30, 30, 30, 20], "{t:?}");
    assert!(t[10..].iter().all(|&n| n == 20));
    let early_holdings = |step: u64| {
        out.records
            .groups
            .iter()
            .find(|r| r.step == step && r.group == 1)
            .map(|r| r.holdings[0])
            .expect("row")
    };
    assert!(early_holdings(7) > 0);
    assert_eq!(early_holdings(8), 0);
    assert_eq!(early_holdings(60), 0);
    // newcomers hold nothing before step 5
    let newcomer_rows: Vec<_> = out.records.groups.iter().filter(|r| r.group == 2).collect();
    assert!(newcomer_rows[..5].iter().all(|r| r.holdings[0] == 0));
    assert!(newcomer_rows[5].holdings[0] > 0);
    // the first event (the join at 5) is the shock
    assert_eq!(s.shock_step(), Some(5));
    assert!(out.summary.assets["T"].shock.is_some());
}

#[test]
fn a_leave_without_sell_all_keeps_the_holdings() {
    let groups = r#"
        [[agents]]
        group = "early"
        count = 10
        balance = 100.0
        policy = { kind = "random", asset = "T", p_buy = 1.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.0 }
    "#;
    let events = r#"
        [[events]]
        at = 8
        kind = "leave"
        group = "early"
    "#;
    let out = run(&whales(groups, events));
    let t = trades(&out);
    assert_eq!(&t[..10], &[0, 10, 10, 10, 10, 10, 10, 10, 0, 0]);
    let last = out.records.groups.last().expect("row");
    assert_eq!(last.group, 1);
    assert!(last.holdings[0] > 0);
}

/// Events in a scenario large enough for several decide chunks (4096
/// agents), with group boundaries inside chunks.
const BIG: &str = r#"
[simulation]
steps = 40
seed = 3

[[assets]]
name = "A"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.0005, b = 1.0, fee = 0.002 }

[[assets]]
name = "B"
initial_supply = 100.0
pricing = { kind = "bonding_curve", curve = "exponential", a = 1.0, k = 0.0002 }

[[agents]]
group = "noise"
count = 3000
balance = 100.0
holdings = [ { asset = "A", total = 3000.0, distribution = "uniform" }, { asset = "B", total = 600.0, distribution = "pareto", alpha = 2.0 } ]
policy = { kind = "random", asset = "A", p_buy = 0.4, p_sell = 0.4, buy_fraction = 0.1, sell_fraction = 0.1 }

[[agents]]
group = "whales"
count = 50
balance = 10.0
holdings = { asset = "B", total = 5000.0, distribution = "lognormal", sigma = 1.0 }
policy = { kind = "valuation", asset = "B", valuation = { distribution = "normal", mean = 2.0, std = 0.5 }, beta = 2.0, activity = 0.3, buy_fraction = 0.1, sell_fraction = 0.1 }

[[agents]]
group = "late"
count = 3000
balance = 200.0
policy = { kind = "momentum", asset = "B", lookback = 2, p_trade = 0.5, buy_fraction = 0.1, sell_fraction = 0.2 }

[[agents]]
group = "early"
count = 2500
balance = 100.0
policy = { kind = "random", asset = "B", p_buy = 0.5, p_sell = 0.3, buy_fraction = 0.1, sell_fraction = 0.2 }

[[events]]
at = 10
kind = "dump"
group = "whales"
asset = "B"
share = 0.8

[[events]]
at = 15
kind = "join"
group = "late"

[[events]]
at = 25
kind = "leave"
group = "early"
sell_all = true

[[events]]
at = 30
kind = "parameter"
asset = "A"
param = "m"
value = 0.001
"#;

#[test]
fn events_give_the_same_results_deciding_in_parallel_or_at_each_turn_at_any_thread_count() {
    let s = scenario(BIG);
    assert!(s.agent_count() > 2 * 4096);
    let render = |parallel: bool, threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| {
                let mut sim = Simulation::new(&s, 0).expect("set up");
                sim.set_parallel_decide(parallel);
                sim.run().expect("run")
            })
    };
    let at_turn = render(false, 1);
    assert_conserved(&at_turn);
    assert!(at_turn.summary.ledger.reserve_top_ups > 0.0);
    for (parallel, threads) in [(true, 1), (true, 4), (false, 4)] {
        let other = render(parallel, threads);
        assert!(
            other.records == at_turn.records,
            "records differ (parallel {parallel}, {threads} threads)"
        );
        assert_eq!(other.summary, at_turn.summary);
    }
    // a different run index gives a different dump order and outcome
    let run1 = Simulation::new(&s, 1).expect("set up").run().expect("run");
    assert_ne!(run1.records, at_turn.records);
}

#[test]
fn the_whale_dump_example_shows_a_dump_and_its_recovery() {
    let s = example("whale-dump").expect("whale-dump is a built-in example");
    assert!(!s.events().is_empty());
    let out = run(&s);
    assert_conserved(&out);
    let shock = out.summary.assets["TOKEN"].shock.clone().expect("metrics");
    assert!(shock.shock_drawdown > 0.1, "{shock:?}");
    assert!(shock.recovery_steps.is_some(), "{shock:?}");
}

mod bad_input {
    use crate::bad_input::GOOD;
    use agora::Scenario;

    /// The error for `GOOD` followed by `extra`.
    fn error_of(extra: &str) -> String {
        crate::bad_input::error_of(&format!("{GOOD}\n{extra}"))
    }

    fn event(fields: &str) -> String {
        error_of(&format!("[[events]]\n{fields}"))
    }

    #[test]
    fn a_valid_event_list_is_accepted() {
        let text = format!(
            "{GOOD}\n[[events]]\nat = 3\nkind = \"dump\"\ngroup = \"noise\"\nasset = \"TOKEN\"\nshare = 1\n\
             [stability]\nband = 0.1\nwindow = 3\n"
        );
        let s = Scenario::from_toml_str(&text, "ok.toml").expect("valid");
        assert_eq!(s.events().len(), 1);
        assert_eq!((s.stability().band, s.stability().window), (0.1, 3));
    }

    #[test]
    fn an_unknown_event_kind_is_named() {
        assert_eq!(
            event("at = 3\nkind = \"crash\""),
            "bad.toml: events[0].kind: unknown value \"crash\"; expected one of: dump, join, leave, parameter, outage, deviation"
        );
        assert_eq!(
            event("at = 3"),
            "bad.toml: events[0].kind: missing field; expected a string"
        );
    }

    #[test]
    fn an_unknown_group_or_asset_is_named() {
        assert_eq!(
            event("at = 3\nkind = \"join\"\ngroup = \"ghosts\""),
            "bad.toml: events[0].group: unknown group \"ghosts\"; expected one of the scenario's groups: noise"
        );
        assert_eq!(
            event("at = 3\nkind = \"dump\"\ngroup = \"noise\"\nasset = \"GOLD\"\nshare = 0.5"),
            "bad.toml: events[0].asset: unknown asset \"GOLD\"; expected one of the scenario's assets: TOKEN"
        );
    }

    #[test]
    fn a_share_outside_zero_to_one_is_rejected() {
        for share in ["1.5", "-0.1", "nan"] {
            let msg = event(&format!(
                "at = 3\nkind = \"dump\"\ngroup = \"noise\"\nasset = \"TOKEN\"\nshare = {share}"
            ));
            assert!(
                msg.starts_with("bad.toml: events[0].share: expected a number from 0 to 1, found"),
                "{msg}"
            );
        }
    }

    #[test]
    fn an_event_at_step_zero_is_rejected() {
        assert_eq!(
            event("at = 0\nkind = \"join\"\ngroup = \"noise\""),
            "bad.toml: events[0].at: expected a whole number >= 1, found 0"
        );
        assert_eq!(
            event("kind = \"join\"\ngroup = \"noise\""),
            "bad.toml: events[0].at: missing field; expected a whole number >= 1"
        );
    }

    #[test]
    fn a_parameter_event_names_an_unknown_parameter_or_a_bad_value() {
        assert_eq!(
            event("at = 3\nkind = \"parameter\"\nasset = \"TOKEN\"\nparam = \"slope\"\nvalue = 1"),
            "bad.toml: events[0].param: unknown parameter \"slope\" of the linear curve; expected one of: m, b"
        );
        let msg =
            event("at = 3\nkind = \"parameter\"\nasset = \"TOKEN\"\nparam = \"m\"\nvalue = -1");
        assert!(msg.starts_with("bad.toml: events[0].value: "), "{msg}");
        // each change is fine alone, but together they zero the curve
        let msg = error_of(
            "[[events]]\nat = 3\nkind = \"parameter\"\nasset = \"TOKEN\"\nparam = \"m\"\nvalue = 0\n\
             [[events]]\nat = 5\nkind = \"parameter\"\nasset = \"TOKEN\"\nparam = \"b\"\nvalue = 0\n",
        );
        assert!(
            msg.starts_with(
                "bad.toml: events[1]: at step 5, after the earlier changes and events:"
            ),
            "{msg}"
        );
    }

    #[test]
    fn fields_of_another_kind_and_bad_booleans_are_rejected() {
        assert_eq!(
            event("at = 3\nkind = \"join\"\ngroup = \"noise\"\nshare = 0.5"),
            "bad.toml: events[0].share: unknown field; expected one of: at, group, kind"
        );
        assert_eq!(
            event("at = 3\nkind = \"leave\"\ngroup = \"noise\"\nsell_all = \"yes\""),
            "bad.toml: events[0].sell_all: expected true or false, found the string \"yes\""
        );
    }

    #[test]
    fn a_group_joins_and_leaves_at_most_once_and_in_that_order() {
        let msg = error_of(
            "[[events]]\nat = 3\nkind = \"join\"\ngroup = \"noise\"\n\
             [[events]]\nat = 5\nkind = \"join\"\ngroup = \"noise\"\n",
        );
        assert!(
            msg.starts_with(
                "bad.toml: events[1].group: group \"noise\" already has a join event (events[0])"
            ),
            "{msg}"
        );
        let msg = error_of(
            "[[events]]\nat = 5\nkind = \"leave\"\ngroup = \"noise\"\n\
             [[events]]\nat = 5\nkind = \"join\"\ngroup = \"noise\"\n",
        );
        assert_eq!(
            msg,
            "bad.toml: events[1].at: group \"noise\" joins at step 5 and leaves at step 5; expected it to leave after it joins"
        );
    }

    #[test]
    fn a_bad_stability_table_is_named() {
        assert_eq!(
            error_of("[stability]\nband = -0.1"),
            "bad.toml: stability.band: expected a finite number >= 0, found -0.1"
        );
        assert_eq!(
            error_of("[stability]\nwindow = 0"),
            "bad.toml: stability.window: expected a whole number from 1 to 1000000000, found 0"
        );
        assert_eq!(
            error_of("[stability]\nbands = 0.1"),
            "bad.toml: stability.bands: unknown field; expected one of: band, window"
        );
    }
}
