//! Monitors and attackers: each detector finds the attackers of its
//! example (recall and precision against the ground truth the simulation
//! knows), raises nothing on attack-free runs, writes `alerts.csv` with
//! its contract's columns; attackers never break the ledger's invariants
//! on any mechanism they apply to; what they extract is reported.

use agora::scenario::example;
use agora::{Scenario, Simulation};
use proptest::prelude::*;

/// The text of the built-in example `name`.
fn example_text(name: &str) -> String {
    agora::scenario::examples()
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.toml.to_string())
        .unwrap()
}

fn run(s: &Scenario) -> agora::RunOutput {
    Simulation::new(s, 0).unwrap().run().unwrap()
}

fn monitor<'a>(out: &'a agora::RunOutput, name: &str) -> &'a agora::monitor::MonitorSummary {
    out.summary
        .monitors
        .get(name)
        .unwrap_or_else(|| panic!("no monitor {name}"))
}

#[test]
fn the_wash_trading_monitor_finds_the_whole_ring_and_nobody_else() {
    let s = example("wash-trading").unwrap();
    let out = run(&s);
    let m = monitor(&out, "wash");
    assert_eq!(m.attackers, 6);
    assert_eq!(m.recall, Some(1.0), "{m:?}");
    assert_eq!(m.precision, Some(1.0), "{m:?}");
    // The ring's volume is its own: it farmed the volume reward while its
    // position stayed flat.
    let ring = &out.summary.groups["ring"];
    assert!(ring.extracted.unwrap() > 0.0, "{ring:?}");
    assert_eq!(out.summary.groups["makers"].extracted, Some(0.0));
    // A monitor's settings are parameters, named by the monitor (sweeps).
    assert_eq!(s.param("monitors.wash.threshold").unwrap(), 0.8);
    let strict = s.with_param("monitors.wash.threshold", 1.01).unwrap();
    let none = run(&strict);
    assert_eq!(monitor(&none, "wash").flagged, 0);
    assert_eq!(monitor(&none, "wash").precision, None);
    // The concentration monitor targets no attacker: nothing to score.
    let c = monitor(&out, "concentration");
    assert_eq!((c.attackers, c.recall), (0, None));
}

/// A wash-trading alert's message gives the tokens its group traded over
/// the window: half its members' bought and sold fills of the 10 steps to
/// the alert, counted here from the trade log.
#[test]
fn a_wash_alert_names_the_tokens_its_group_traded_over_the_window() {
    use agora::ledger::trades::TradeKind;
    let s = example("wash-trading").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    // per step, each agent's traded quantity of GOOD (asset 0)
    let mut traded: Vec<std::collections::BTreeMap<u32, u128>> = Vec::new();
    while !sim.done() {
        sim.advance().unwrap();
        let mut step = std::collections::BTreeMap::new();
        for r in sim.trade_log().records() {
            let kind = matches!(r.kind, TradeKind::Fill | TradeKind::Mint | TradeKind::Burn);
            if r.asset == 0 && kind {
                *step.entry(r.agent).or_insert(0u128) += u128::from(r.quantity);
            }
        }
        traded.push(step);
    }
    let out = sim.finish().unwrap();
    assert!(out.summary.assets.contains_key("GOOD"));
    let mut seen = 0;
    for a in out.records.alerts.iter().filter(|a| a.agents.len() > 1) {
        let from = a.step.saturating_sub(10) as usize;
        let total: u128 = traded[from..a.step as usize]
            .iter()
            .flat_map(|step| a.agents.iter().filter_map(|m| step.get(m)))
            .sum();
        let tokens = (total / 2) as f64 / agora::ledger::SCALE as f64;
        let said = format!("traded {tokens:.4} tokens over 10 steps");
        assert!(a.message.contains(&said), "{said:?} in {:?}", a.message);
        seen += 1;
    }
    assert!(seen >= 5, "{seen} alerts of groups");
}

#[test]
fn the_pump_and_dump_monitor_flags_the_insiders_when_they_dump() {
    let s = example("pump-and-dump").unwrap();
    let out = run(&s);
    let m = monitor(&out, "pump");
    assert_eq!(m.attackers, 2);
    assert_eq!(m.recall, Some(1.0), "{m:?}");
    assert_eq!(m.precision, Some(1.0), "{m:?}");
    // No alert before the dump starts (step 20).
    assert!(out.records.alerts.iter().all(|a| a.step >= 20));
    let insiders = &out.summary.groups["insiders"];
    assert!(insiders.extracted.unwrap() > 0.0, "{insiders:?}");
}

#[test]
fn the_spoofing_monitor_flags_the_spoofer_only() {
    let s = example("spoofing").unwrap();
    let out = run(&s);
    let m = monitor(&out, "spoof");
    assert_eq!(m.attackers, 1);
    assert_eq!(m.recall, Some(1.0), "{m:?}");
    assert_eq!(m.precision, Some(1.0), "{m:?}");
    // Every alert is a large order (score at least the threshold).
    assert!(out.records.alerts.iter().all(|a| a.score >= 5.0));
}

#[test]
fn the_sandwich_monitor_flags_the_attacker_at_every_bundle_and_nobody_else() {
    let s = example("sandwich").unwrap();
    let out = run(&s);
    let m = monitor(&out, "sandwiches");
    assert_eq!(m.attackers, 1);
    assert_eq!(m.recall, Some(1.0), "{m:?}");
    assert_eq!(m.precision, Some(1.0), "{m:?}");
    // one alert per bundle the mempool executed, and the scores add up to
    // what the attacker took
    let mempool = out.summary.assets["AGT"]
        .amm
        .as_ref()
        .and_then(|a| a.mempool.as_ref())
        .unwrap();
    assert_eq!(m.alerts, mempool.bundles - mempool.bundles_dropped);
    let scores: f64 = out.records.alerts.iter().map(|a| a.score).sum();
    let extracted = out.summary.groups["attacker"].extracted.unwrap();
    assert!((scores - extracted).abs() < 1e-6, "{scores} vs {extracted}");
    // the general manipulation_loss agrees with the attacker's gain
    let loss = out.summary.assets["AGT"].manipulation_loss.unwrap();
    assert!((loss - extracted).abs() < 1e-6, "{loss} vs {extracted}");
    // the same AMM without the attacker: nothing to flag
    let calm = example_text("sandwich").replace(
        "policy = { kind = \"sandwich\", asset = \"AGT\", min_profit = 0.01 }",
        "policy = { kind = \"random\", asset = \"AGT\", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }",
    );
    let calm = run(&Scenario::from_toml_str(&calm, "calm").unwrap());
    assert!(calm.records.alerts.is_empty());
    assert_eq!(monitor(&calm, "sandwiches").attackers, 0);
}

/// `text` with `[[monitors]]` tables appended.
fn with_monitors(name: &str, asset: &str, kinds: &[&str]) -> Scenario {
    let mut text = example_text(name);
    for k in kinds {
        text.push_str(&format!(
            "\n[[monitors]]\nname = \"{k}\"\nkind = \"{k}\"\nasset = \"{asset}\"\n"
        ));
    }
    Scenario::from_toml_str(&text, name).unwrap()
}

#[test]
fn attack_free_examples_raise_no_alert() {
    // The token economy on a curve, and ZI-C traders on an order book.
    for (name, asset, kinds) in [
        ("reference", "TOKEN", &["wash_trading", "pump_and_dump"][..]),
        (
            "market-clearing",
            "GOOD",
            &["wash_trading", "pump_and_dump", "spoofing"][..],
        ),
    ] {
        let s = with_monitors(name, asset, kinds);
        let out = run(&s);
        assert!(
            out.records.alerts.is_empty(),
            "{name}: {:?}",
            &out.records.alerts[..out.records.alerts.len().min(3)]
        );
        for k in kinds {
            let m = monitor(&out, k);
            assert_eq!(
                (m.flagged, m.precision, m.recall),
                (0, None, None),
                "{name} {k}"
            );
        }
        // No attackers: no extracted, no manipulation_loss.
        assert!(out.summary.groups.values().all(|g| g.extracted.is_none()));
        assert!(out
            .summary
            .assets
            .values()
            .all(|a| a.manipulation_loss.is_none()));
    }
}

#[test]
fn alerts_csv_has_the_contract_columns_and_one_row_per_alert() {
    let s = example("spoofing").unwrap();
    let out = run(&s);
    let n = out.records.alerts.len();
    let bytes = agora::output::alerts_csv(&s, std::slice::from_ref(&out))
        .unwrap()
        .expect("a table");
    let text = String::from_utf8(bytes).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("step,monitor,asset,agents,score,message")
    );
    assert_eq!(lines.count(), n);
    let first = &out.records.alerts[0];
    let row = text.lines().nth(1).unwrap();
    assert!(
        row.starts_with(&format!("{},spoof,GOOD,{},", first.step, first.agents[0])),
        "{row}"
    );
    // A scenario without monitors writes no alerts.csv.
    let plain = example("market-clearing").unwrap();
    assert!(agora::output::alerts_csv(&plain, &[]).unwrap().is_none());
}

#[test]
fn a_monitor_on_an_unknown_asset_is_a_one_line_error_naming_the_field() {
    let mut text = example_text("reference");
    text.push_str("\n[[monitors]]\nname = \"m\"\nkind = \"wash_trading\"\nasset = \"NOPE\"\n");
    let e = Scenario::from_toml_str(&text, "bad.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bad.toml: monitors.m.asset: unknown asset \"NOPE\""),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    // A spoofing monitor watches an order book.
    let mut text = example_text("reference");
    text.push_str("\n[[monitors]]\nname = \"s\"\nkind = \"spoofing\"\nasset = \"TOKEN\"\n");
    let e = Scenario::from_toml_str(&text, "bad.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("bad.toml: monitors.s.asset: a spoofing monitor watches an order_book asset"),
        "{e}"
    );
}

/// A lone insider with 100 of money that buys all it can at step 1 on the
/// fee-free linear curve P = 0.001·S + 1 and sells from step `sell_from`
/// (4 steps).
fn lone_insider(sell_from: u64) -> Scenario {
    let text = format!(
        r#"
[simulation]
steps = 4
seed = 1

[[assets]]
name = "X"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}

[[agents]]
group = "insider"
count = 1
balance = 100.0
policy = {{ kind = "pump_and_dump", asset = "X", buy_until = 1, sell_from = {sell_from}, buy_fraction = 1.0 }}
"#
    );
    Scenario::from_toml_str(&text, "t").unwrap()
}

#[test]
fn a_round_trip_on_a_fee_free_linear_curve_moves_no_value() {
    // A lone insider buys on a linear curve without a fee and sells it all
    // back: the curve returns what it took (rounded in the reserve's
    // favour), so the insider's gain and the asset's manipulation loss are
    // zero to within a few base units.
    let s = lone_insider(3);
    let out = run(&s);
    let loss = out.summary.assets["X"].manipulation_loss.unwrap();
    let extracted = out.summary.groups["insider"].extracted.unwrap();
    assert!(loss <= 0.0 && loss > -1e-8, "{loss}");
    assert!((extracted - loss).abs() < 1e-8, "{extracted} vs {loss}");
}

/// An insider that buys and still holds at the end: the asset's
/// manipulation loss is its net money plus its tokens at the final price,
/// the ledger's own numbers (a mark-to-market gain here: its buy lifted
/// the price it is valued at).
#[test]
fn a_manipulation_loss_values_the_attackers_tokens_at_the_final_price() {
    let s = lone_insider(10);
    let mut sim = Simulation::new(&s, 0).unwrap();
    while !sim.done() {
        sim.advance().unwrap();
    }
    let me = sim.agent(0).unwrap();
    let out = sim.finish().unwrap();
    let scale = agora::ledger::SCALE as f64;
    let (money, tokens) = (me.balance as f64 / scale, me.holdings[0] as f64 / scale);
    // 100 spent at step 1 for T = (√1.2 − 1)/0.001 ≈ 95.445 tokens
    assert!(money < 1e-6, "{money}");
    assert!((tokens - 95.445).abs() < 1e-3, "{tokens}");
    let price = out.summary.assets["X"].final_price;
    let expected = money - 100.0 + tokens * price;
    let loss = out.summary.assets["X"].manipulation_loss.unwrap();
    assert!((loss - expected).abs() < 1e-9, "{loss} vs {expected}");
    assert!(loss > 4.0, "{loss}");
    assert_eq!(out.summary.groups["insider"].extracted, Some(loss));
}

/// The pricing tables an attacker of `kind` applies to.
fn mechanisms(kind: &str) -> Vec<&'static str> {
    let book = r#"{ kind = "order_book", tick_size = 0.01, lot_size = 0.5, initial_price = 10.0 }"#;
    let curve = r#"{ kind = "bonding_curve", curve = "linear", m = 0.01, b = 1.0, fee = 0.003 }"#;
    let amm = r#"{ kind = "amm", curve = "constant_product", reserve_money = 1000.0, reserve_token = 100.0, fee = 0.003 }"#;
    let auction =
        r#"{ kind = "call_auction", tick_size = 0.01, lot_size = 0.5, initial_price = 10.0 }"#;
    match kind {
        "spoofer" => vec![book, auction],
        _ => vec![book, curve, amm, auction],
    }
}

fn attacker_case() -> impl Strategy<Value = String> {
    let kinds = prop_oneof![
        (0.1..20.0f64, 1u64..4).prop_map(|(size, every)| (
            "wash_trader",
            format!("size = {size:.3}, every = {every}")
        )),
        (1u64..5, 1u64..6, 0.0..1.0f64, 0.0..1.0f64).prop_map(|(until, gap, b, s)| (
            "pump_and_dump",
            format!(
                "buy_until = {until}, sell_from = {}, buy_fraction = {b:.3}, sell_fraction = {s:.3}",
                until + gap
            )
        )),
        (1.0..100.0f64, 0.1..5.0f64, 0.0..0.99f64).prop_map(|(size, trade, depth)| (
            "spoofer",
            format!("size = {size:.3}, trade = {trade:.3}, depth = {depth:.3}")
        )),
    ];
    (kinds, 0usize..4, 1u32..7, 0.0..500.0f64, 0.0..50.0f64).prop_map(
        |((kind, fields), m, count, balance, held)| {
            let all = mechanisms(kind);
            let pricing = all[m % all.len()];
            let holdings = if pricing.contains("amm") || held < 1.0 {
                String::new()
            } else {
                format!("holdings = {{ asset = \"X\", total = {held:.3}, distribution = \"uniform\" }}\n")
            };
            format!(
                r#"
[simulation]
steps = 12
seed = 9

[[assets]]
name = "X"
pricing = {pricing}

[[agents]]
group = "makers"
count = 3
balance = 500.0
holdings = {{ asset = "X", total = 60.0, distribution = "uniform" }}
policy = {{ kind = "random", asset = "X", p_buy = 0.3, p_sell = 0.3, buy_fraction = 0.1, sell_fraction = 0.1 }}

[[agents]]
group = "attackers"
count = {count}
balance = {balance:.3}
{holdings}policy = {{ kind = "{kind}", asset = "X", {fields} }}

[[monitors]]
name = "wash"
kind = "wash_trading"
asset = "X"

[[monitors]]
name = "pump"
kind = "pump_and_dump"
asset = "X"
"#
            )
        },
    )
}

proptest! {
    #![proptest_config(super::support::proptest_config(64))]

    /// Every attacker, on every mechanism it applies to, with random sizes
    /// and timings: every step passes the engine's invariant checks
    /// (conservation to the base unit, reserves covering supply), and the
    /// summary reports no error.
    #[test]
    fn no_attack_breaks_the_ledgers_invariants(text in attacker_case()) {
        let s = Scenario::from_toml_str(&text, "attack.toml")
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let out = Simulation::new(&s, 0)
            .and_then(Simulation::run)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let l = &out.summary.ledger;
        prop_assert_eq!(l.conservation_error, 0.0, "{}", text);
        prop_assert_eq!(l.token_conservation_error, 0.0, "{}", text);
        prop_assert_eq!(l.reserve_shortfall, 0.0, "{}", text);
        let extracted = out.summary.groups["attackers"].extracted;
        prop_assert!(extracted.is_some_and(f64::is_finite), "{}", text);
    }
}

#[test]
fn alerts_and_scores_are_the_same_at_one_and_four_threads() {
    for name in ["wash-trading", "pump-and-dump", "spoofing"] {
        let s = example(name).unwrap();
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let out = run(&s);
                    let csv = agora::output::alerts_csv(&s, std::slice::from_ref(&out))
                        .unwrap()
                        .unwrap();
                    (out, csv)
                })
        };
        let (one, csv_one) = on(1);
        let (four, csv_four) = on(4);
        assert_eq!(one, four, "{name}");
        assert_eq!(csv_one, csv_four, "{name}");
    }
}

#[test]
fn a_wash_ring_on_a_curve_trades_its_size_and_back() {
    // 4 members buy 20 tokens' worth at odd steps and sell all back at
    // even ones: they trade, and a round trip on a fee-charging curve costs
    // them (nothing to farm here)
    let text = r#"
[simulation]
steps = 6
seed = 1

[[assets]]
name = "AGT"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.0005, b = 1.0, fee = 0.003 }

[[agents]]
group = "ring"
count = 4
balance = 2000.0
policy = { kind = "wash_trader", asset = "AGT", size = 20.0 }
"#;
    let out = run(&Scenario::from_toml_str(text, "ring").unwrap());
    let agt = &out.summary.assets["AGT"];
    assert!(agt.volume > 100.0, "{agt:?}");
    assert_eq!(
        agt.final_supply, 0.0,
        "every member sold back what it bought"
    );
    let ring = &out.summary.groups["ring"];
    assert!(ring.pnl < 0.0 && ring.pnl > -1.0, "{ring:?}");
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}
