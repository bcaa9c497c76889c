//! Mempools (`ordering = "mempool"` on an AMM asset) and the `sandwich`
//! attacker through the engine: the issue's sandwich reproduced to its
//! printed digits, nothing below the profitability threshold, the budget
//! respected, priority fees ordering the queue and burned, the attack
//! metrics, the detector on the executed swaps, and, without watchers, a
//! mempool that changes nothing.

use agora::agents::{
    Actions, AdaptivePolicy, AgentRng, AgentView, Feedback, GroupPolicy, Observation, Side,
};
use agora::engine::Simulation;
use agora::ledger::trades::TradeRecord;
use agora::market::amm::detect::find_sandwiches;
use agora::{Action, Scenario};

const UNIT: u64 = 1_000_000_000;

/// The issue's pool, (1000, 1000) with a 0.3% fee and a mempool; a
/// scripted victim buying with `spend` at step 1 with `slippage`; an
/// attacker with `budget` money and `extra` policy fields.
fn scenario(spend: f64, slippage: f64, budget: f64, extra: &str) -> Scenario {
    let text = scenario_text(spend, slippage, budget, extra);
    Scenario::from_toml_str(&text, "mempool test").expect("a valid scenario")
}

fn scenario_text(spend: f64, slippage: f64, budget: f64, extra: &str) -> String {
    format!(
        r#"
[simulation]
steps = 2
seed = 11

[[assets]]
name = "X"
ordering = "mempool"
pricing = {{ kind = "amm", curve = "constant_product", reserve_money = 1000.0, reserve_token = 1000.0, fee = 0.003 }}

[[agents]]
group = "victim"
count = 1
balance = 100.0
policy = {{ kind = "scripted", actions = [{{ step = 1, action = "buy", asset = "X", spend = {spend:?}, max_slippage = {slippage:?} }}] }}

[[agents]]
group = "attacker"
count = 1
balance = {budget:?}
policy = {{ kind = "sandwich", asset = "X"{extra} }}
"#
    )
}

/// [`scenario`] without its attacker.
fn without_attacker(spend: f64, slippage: f64) -> Scenario {
    let text = scenario_text(spend, slippage, 1.0, "");
    let cut = text
        .find("[[agents]]\ngroup = \"attacker\"")
        .expect("the attacker group");
    Scenario::from_toml_str(&text[..cut], "no attacker").unwrap()
}

/// Runs one step with the trade log on: the trades of the step.
fn first_step(s: &Scenario) -> (Simulation, Vec<TradeRecord>) {
    let mut sim = Simulation::new(s, 0).unwrap();
    sim.set_trade_log(true);
    sim.advance().unwrap();
    let trades = sim.trades().to_vec();
    (sim, trades)
}

#[test]
fn the_issue_sandwich_is_reproduced_through_the_engine_to_the_printed_digits() {
    let (sim, trades) = first_step(&scenario(20.0, 0.1, 1000.0, ""));
    // Three swaps in execution order: the attacker's front-run, the
    // victim's buy, the attacker's back-run.
    let who: Vec<(u32, bool)> = trades.iter().map(|t| (t.agent, t.buy)).collect();
    assert_eq!(who, [(1, true), (0, true), (1, false)]);
    let front_run = trades[0].money;
    assert_eq!(front_run, 54_709_504_919);
    assert_eq!(format!("{:.4}", front_run as f64 / 1e9), "54.7095");
    let ledger = sim.ledger();
    let profit = ledger.balance(1) - 1000 * UNIT;
    assert_eq!(profit, 1_713_605_734);
    assert_eq!(format!("{:.5}", profit as f64 / 1e9), "1.71361");
    // The back-run sold everything the front-run bought.
    assert_eq!(ledger.holding(1, 0), 0);
    assert_eq!(trades[2].quantity, trades[0].quantity);
    // The victim got at least its minimum, ⌈0.9 · 19.550169617⌉ base units,
    // and the bound binds: it got exactly that.
    let victim_out = ledger.holding(0, 0);
    assert_eq!(victim_out, 17_595_152_656);
    // The detector finds it in the executed swaps, with the same profit.
    let found = find_sandwiches(sim.executed_swaps(0));
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].attacker, found[0].victim, found[0].step),
        (1, 0, 1)
    );
    assert!((found[0].score - 1.713_605_734).abs() < 1e-12);
}

/// The issue's pool with a scripted victim selling 20 tokens (of its 100)
/// at a 10% tolerance, and an attacker with 10 money and 500 tokens and
/// `extra` policy fields.
fn seller_scenario(extra: &str) -> Scenario {
    let text = seller_scenario_text(&scenario_text(20.0, 0.1, 10.0, extra));
    Scenario::from_toml_str(&text, "sell test").unwrap()
}

/// `text` of [`scenario_text`] with the victim selling 20 of its 100
/// tokens and the attacker holding 500.
fn seller_scenario_text(text: &str) -> String {
    text
        .replace("action = \"buy\", asset = \"X\", spend = 20.0", "action = \"sell\", asset = \"X\", amount = 20.0")
        .replace(
            "balance = 10.0\n",
            "balance = 10.0\nholdings = [ { asset = \"X\", total = 500.0, distribution = \"uniform\" } ]\n",
        )
        .replace(
            "group = \"victim\"\ncount = 1\nbalance = 100.0\n",
            "group = \"victim\"\ncount = 1\nbalance = 100.0\nholdings = [ { asset = \"X\", total = 100.0, distribution = \"uniform\" } ]\n",
        )
}

#[test]
fn a_sellers_attacker_weighs_its_token_profit_against_its_floor_at_the_pools_price() {
    // On a pool of 1000 money and 2000 tokens (a price of ½) the attack
    // on the seller earns P tokens (measured without a floor); a floor of
    // m money is 2m tokens at that price, so it attacks for m = 0.45 P
    // (0.9 P tokens) and not for m = 0.75 P (1.5 P tokens).
    let two_thousand = |extra: &str| {
        let text = scenario_text(20.0, 0.1, 10.0, extra);
        let s =
            seller_scenario_text(&text).replace("reserve_token = 1000.0", "reserve_token = 2000.0");
        Scenario::from_toml_str(&s, "sell test").unwrap()
    };
    let (sim, trades) = first_step(&two_thousand(""));
    assert_eq!(trades.len(), 3, "attacked without a floor");
    let gain = sim.ledger().holding(1, 0) - 500 * UNIT;
    let p = gain as f64 / UNIT as f64;
    assert!(p > 1.0, "{p}");
    let floor = |m: f64| format!(", min_profit = {m:?}");
    let (_, trades) = first_step(&two_thousand(&floor(0.45 * p)));
    assert_eq!(trades.len(), 3, "a floor of 0.9 P tokens");
    let (_, trades) = first_step(&two_thousand(&floor(0.75 * p)));
    assert_eq!(trades.len(), 1, "a floor of 1.5 P tokens");
}

#[test]
fn a_seller_is_sandwiched_the_mirror_way_by_an_attacker_holding_tokens() {
    // The pool is symmetric: a victim selling 20 tokens at 10% meets the
    // same attack in tokens — sell 54.709504919 first, buy back after.
    let (sim, trades) = first_step(&seller_scenario(""));
    let who: Vec<(u32, bool)> = trades.iter().map(|t| (t.agent, t.buy)).collect();
    assert_eq!(who, [(1, false), (0, false), (1, true)]);
    assert_eq!(trades[0].quantity, 54_709_504_919);
    let ledger = sim.ledger();
    assert_eq!(ledger.holding(1, 0) - 500 * UNIT, 1_713_605_734);
    assert_eq!(ledger.balance(1), 10 * UNIT, "money back to the base unit");
    assert_eq!(ledger.balance(0) - 100 * UNIT, 17_595_152_656);
    // Alone it would have got 0.997·20·1000/(1000 + 0.997·20) =
    // 19.550169617… money: the mempool counts the 1.955016961 it fell
    // short, in money, and no tokens.
    let c = sim.amm(0).unwrap().counters();
    assert_eq!(
        (c.victims_short_money, c.victims_short_tokens),
        (19_550_169_617 - 17_595_152_656, 0)
    );
    let found = find_sandwiches(sim.executed_swaps(0));
    assert_eq!((found.len(), found[0].attacker), (1, 1));
    // The attacker's flows: the tokens it sold first and bought back with
    // the money the front-run brought, 1.713605734 tokens more.
    let flow = sim.amm(0).unwrap().mempool().unwrap().flows()[&1];
    assert_eq!(flow.tokens_sold, 54_709_504_919);
    assert_eq!(flow.tokens_bought, 54_709_504_919 + 1_713_605_734);
    assert_eq!(flow.money_received, trades[0].money);
    assert_eq!(flow.money_paid, trades[2].money);
    assert_eq!(flow.money_paid, flow.money_received);
}

#[test]
fn a_swap_queued_in_the_mempool_is_clipped_only_when_it_asks_more_than_the_agent_has() {
    // The victim holds 100 money: a buy of all of it is not clipped, one of
    // a base unit more is cut to it and counted, and either is queued and
    // spends the 100.
    for (spend, clipped) in [(100 * UNIT, 0), (100 * UNIT + 1, 1)] {
        let mut sim = Simulation::new(&without_attacker(20.0, 0.1), 0).unwrap();
        sim.advance_with(&[(0, Action::Buy { asset: 0, spend })])
            .unwrap();
        let counts = sim.ledger().counts();
        assert_eq!((counts.clipped, counts.rejected), (clipped, 0), "{spend}");
        assert_eq!(sim.ledger().balance(0), 0, "{spend}");
    }
}

#[test]
fn nothing_happens_below_the_threshold_or_without_slippage_room() {
    for (spend, slippage, why) in [
        (3.0, 0.5, "a victim below the threshold of 3.0135"),
        (20.0, 0.0, "a victim without slippage room"),
    ] {
        let (sim, trades) = first_step(&scenario(spend, slippage, 1000.0, ""));
        assert_eq!(trades.len(), 1, "{why}: only the victim's swap");
        assert_eq!(trades[0].agent, 0);
        assert_eq!(sim.ledger().balance(1), 1000 * UNIT, "{why}");
        assert!(find_sandwiches(sim.executed_swaps(0)).is_empty());
    }
    // Just above the threshold, with room, it attacks.
    let (_, trades) = first_step(&scenario(3.1, 0.5, 1000.0, ""));
    assert_eq!(trades.len(), 3);
    // A profit floor above the profit: no attack.
    let (_, trades) = first_step(&scenario(20.0, 0.1, 1000.0, ", min_profit = 1.8"));
    assert_eq!(trades.len(), 1);
}

#[test]
fn the_attacker_spends_at_most_its_budget() {
    let (sim, trades) = first_step(&scenario(20.0, 0.1, 30.0, ""));
    assert_eq!(trades.len(), 3);
    assert_eq!(trades[0].money, 30 * u128::from(UNIT));
    assert!(sim.ledger().balance(1) > 30 * UNIT, "a smaller profit");
    // No money, no attack.
    let (_, trades) = first_step(&scenario(20.0, 0.1, 0.0, ""));
    assert_eq!(trades.len(), 1);
    // Its two priority fees come out of the budget first: 30 − 2 · 0.25
    // for the front-run.
    let (_, trades) = first_step(&scenario(20.0, 0.1, 30.0, ", priority_fee = 0.25"));
    assert_eq!(trades.len(), 3);
    assert_eq!(trades[0].money, 29_500_000_000);
}

#[test]
fn priority_fees_are_burned_and_count_against_the_profit() {
    // Two fees of 0.5: 1.71 − 1.0 still profits.
    let (sim, trades) = first_step(&scenario(20.0, 0.1, 1000.0, ", priority_fee = 0.5"));
    assert_eq!(trades.len(), 3);
    let gain = sim.ledger().balance(1) - 1000 * UNIT;
    assert_eq!(gain, 1_713_605_734 - UNIT);
    let out = sim.run().unwrap();
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    let amm = out.summary.assets["X"].amm.clone().unwrap();
    let mp = amm.mempool.expect("mempool metrics");
    assert_eq!((mp.bundles, mp.bundles_dropped), (1, 0));
    assert_eq!(mp.priority_fees, 1.0);
    // The manipulation loss is the attackers' P&L: the trades' 1.713605734
    // (as without fees) less the 1.0 of fees they burned.
    let loss = out.summary.assets["X"].manipulation_loss.unwrap();
    assert!((loss - 0.713_605_734).abs() < 1e-9, "{loss}");
    // Two fees of 0.9 eat the profit: no attack.
    let (_, trades) = first_step(&scenario(20.0, 0.1, 1000.0, ", priority_fee = 0.9"));
    assert_eq!(trades.len(), 1);
}

#[test]
fn a_priority_fee_buys_an_earlier_place_in_the_queue() {
    // Three scripted buyers and a fourth that bids a fee: whatever the
    // arrival order (the seed), the bidder executes first, at the pool's
    // opening price.
    let text = |fee: &str| {
        format!(
            r#"
[simulation]
steps = 1
seed = 3

[[assets]]
name = "X"
ordering = "mempool"
pricing = {{ kind = "amm", curve = "constant_product", reserve_money = 1000.0, reserve_token = 1000.0, fee = 0.003 }}

[[agents]]
group = "buyers"
count = 3
balance = 100.0
policy = {{ kind = "scripted", actions = [{{ step = 1, action = "buy", asset = "X", spend = 20.0 }}] }}

[[agents]]
group = "bidder"
count = 1
balance = 100.0
policy = {{ kind = "scripted", actions = [{{ step = 1, action = "buy", asset = "X", spend = 20.0{fee} }}] }}
"#
        )
    };
    for seed in 1..6 {
        let mut s = Scenario::from_toml_str(&text(", priority_fee = 0.25"), "fee test").unwrap();
        s.set_seed(seed).unwrap();
        let (sim, trades) = first_step(&s);
        assert_eq!(trades[0].agent, 3, "the bidder goes first");
        assert_eq!(trades[0].quantity, 19_550_169_617);
        // Its fee is burned: 100 − 20 − 0.25 left.
        assert_eq!(sim.ledger().balance(3), 100 * UNIT - 20 * UNIT - UNIT / 4);
        let out = sim.run().unwrap();
        assert_eq!(out.summary.ledger.conservation_error, 0.0);
    }
}

#[test]
fn the_attack_metrics_report_the_profit_and_the_victims_shortfall() {
    let attacked = Simulation::new(&scenario(20.0, 0.1, 1000.0, ""), 0)
        .unwrap()
        .run()
        .unwrap()
        .summary;
    let extracted = attacked.groups["attacker"].extracted.expect("extracted");
    assert!((extracted - 1.713_605_734).abs() < 1e-9, "{extracted}");
    assert!((attacked.groups["attacker"].pnl - extracted).abs() < 1e-9);
    assert_eq!(attacked.groups["victim"].extracted, Some(0.0));
    let loss = attacked.assets["X"].manipulation_loss.expect("loss");
    assert!((loss - extracted).abs() < 1e-9, "{loss} vs {extracted}");
    // The victim's shortfall against the unattacked run: the tokens it did
    // not get, 19.550169617 − 17.595152656…
    let s = scenario(20.0, 0.1, 1000.0, "");
    let plain = without_attacker(20.0, 0.1);
    let (attacked_sim, _) = first_step(&s);
    let (plain_sim, _) = first_step(&plain);
    let got = attacked_sim.ledger().holding(0, 0);
    let unattacked = plain_sim.ledger().holding(0, 0);
    assert_eq!(unattacked, 19_550_169_617);
    // The victim received exactly its minimum: it lost all its tolerance.
    assert_eq!(got, 17_595_152_656);
    assert_eq!(unattacked - got, 1_955_016_961);
    // The mempool counts the same shortfall on its own.
    let mp = attacked.assets["X"].amm.clone().unwrap().mempool.unwrap();
    assert_eq!(mp.victims_short_tokens, 1.955_016_961);
    assert_eq!(mp.victims_short_money, 0.0);
    // Without an attacker group the metrics are not reported.
    let plain_summary = Simulation::new(&plain, 0).unwrap().run().unwrap().summary;
    assert_eq!(plain_summary.groups["victim"].extracted, None);
    assert_eq!(plain_summary.assets["X"].manipulation_loss, None);
}

#[test]
fn without_watchers_a_mempool_changes_nothing() {
    let example = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "amm")
        .unwrap()
        .toml;
    let with = example.replace(
        "name = \"AGT\"\n",
        "name = \"AGT\"\nordering = \"mempool\"\n",
    );
    assert_ne!(with, example);
    let run = |text: &str| {
        let text = text.replace("steps = 200", "steps = 40");
        let s = Scenario::from_toml_str(&text, "amm").unwrap();
        Simulation::new(&s, 0).unwrap().run().unwrap()
    };
    let (a, b) = (run(example), run(&with));
    assert_eq!(a.records, b.records);
    assert_eq!(a.summary.groups, b.summary.groups);
    let (x, mut y) = (
        a.summary.assets["AGT"].clone(),
        b.summary.assets["AGT"].clone(),
    );
    let mp = y.amm.as_mut().unwrap().mempool.take().unwrap();
    assert_eq!((mp.bundles, mp.priority_fees), (0, 0.0));
    assert_eq!(x, y);
}

/// The `sandwich` example, and the same market without its attacker.
fn sandwich_example() -> (String, String) {
    let text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "sandwich")
        .expect("the sandwich example")
        .toml
        .to_string();
    let cut = text
        .find("[[agents]]\ngroup = \"attacker\"")
        .expect("the attacker group");
    let plain = text[..cut].to_string();
    (text, plain)
}

#[test]
fn in_the_sandwich_example_the_attacker_extracts_its_profit_from_its_victims() {
    let (text, plain) = sandwich_example();
    let run = |text: &str| {
        let s = Scenario::from_toml_str(text, "sandwich").unwrap();
        Simulation::new(&s, 0).unwrap().run().unwrap()
    };
    let (attacked, unattacked) = (run(&text), run(&plain));
    let s = &attacked.summary;
    assert_eq!(s.ledger.conservation_error, 0.0);
    let extracted = s.groups["attacker"].extracted.unwrap();
    let loss = s.assets["AGT"].manipulation_loss.unwrap();
    // Its whole P&L is what its bundles took: it holds money only.
    assert!(extracted > 100.0, "{extracted}");
    assert!((extracted - loss).abs() < 1e-6, "{extracted} vs {loss}");
    let mp = s.assets["AGT"].amm.clone().unwrap().mempool.unwrap();
    assert!(mp.bundles > 100 && mp.bundles_dropped == 0, "{mp:?}");
    assert!(mp.victims_short_tokens > 0.0);
    // The whale only buys (three times 200 at 10% slippage): attacked, it
    // ends with fewer tokens than in the same market without the attacker.
    let whale = |out: &agora::RunOutput| {
        let last = out
            .records
            .groups
            .iter()
            .rev()
            .find(|r| r.group == 1)
            .unwrap();
        last.holdings[0]
    };
    let (with, without) = (whale(&attacked), whale(&unattacked));
    assert!(with < without, "{with} vs {without}");
    assert_eq!(unattacked.summary.groups["whale"].extracted, None);
    // Step by step, the detector finds every bundle and nothing else, and
    // its scores add up to what the attacker extracted.
    let s = Scenario::from_toml_str(&text, "sandwich").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    let (mut found, mut score) = (0u64, 0.0);
    while !sim.done() {
        sim.advance().unwrap();
        for f in find_sandwiches(sim.executed_swaps(0)) {
            assert_eq!(f.attacker, 51, "the attacker is the last agent");
            found += 1;
            score += f.score;
        }
    }
    assert_eq!(found, mp.bundles);
    assert!((score - extracted).abs() < 1e-6, "{score} vs {extracted}");
}

/// Parses `text`, expecting a one-line input error; returns its message.
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

#[test]
fn bad_mempool_input_is_named() {
    let good = scenario_text(20.0, 0.1, 1000.0, "");
    let cases = [
        // A front-run needs pending orders to see.
        (
            good.replace("ordering = \"mempool\"\n", ""),
            "bad.toml: agents.attacker.policy.asset: ",
            "no mempool",
        ),
        (
            good.replace("ordering = \"mempool\"", "ordering = \"first_come\""),
            "bad.toml: assets.X.ordering: ",
            "expected one of: arrival, mempool",
        ),
        // A mempool is an AMM's.
        (
            good.replace(
                "pricing = { kind = \"amm\", curve = \"constant_product\", reserve_money = 1000.0, reserve_token = 1000.0, fee = 0.003 }",
                "pricing = { kind = \"bonding_curve\", curve = \"linear\", m = 0.001, b = 1.0 }",
            ),
            "bad.toml: assets.X.ordering: ",
            "needs an amm asset",
        ),
        (
            good.replace("asset = \"X\" }", "asset = \"X\", min_profit = -1.0 }"),
            "bad.toml: agents.attacker.policy.min_profit: ",
            "",
        ),
        (
            good.replace("asset = \"X\" }", "asset = \"X\", priority_fee = 1e300 }"),
            "bad.toml: agents.attacker.policy.priority_fee: ",
            "",
        ),
        (
            good.replace("max_slippage = 0.1 }", "max_slippage = 0.1, priority_fee = -0.5 }"),
            "bad.toml: agents.victim.policy.actions[0].priority_fee: ",
            "",
        ),
        (
            good.replace("asset = \"X\" }", "asset = \"X\", front_run = 3.0 }"),
            "bad.toml: agents.attacker.policy",
            "front_run",
        ),
    ];
    for (text, prefix, part) in cases {
        assert_ne!(text, good, "the case changes the scenario: {prefix}");
        let msg = error_of(&text);
        assert!(msg.starts_with(prefix), "expected {prefix:?}: {msg}");
        assert!(msg.contains(part), "expected {part:?} in {msg}");
    }
}

/// A pool of `(money, tokens)` with `fee`, a victim that swaps at every
/// step (`trades`: buy or sell, amount, slippage) and holds money and
/// tokens, and a sandwich attacker with money, tokens, a fee and a floor.
#[allow(clippy::too_many_arguments)]
fn random_market(
    money: f64,
    tokens: f64,
    fee: f64,
    trades: &[(bool, f64, f64)],
    attacker_money: f64,
    attacker_tokens: f64,
    priority_fee: f64,
    min_profit: f64,
) -> Scenario {
    let actions: Vec<String> = trades
        .iter()
        .enumerate()
        .map(|(i, &(buy, amount, slippage))| {
            let (action, key) = if buy { ("buy", "spend") } else { ("sell", "amount") };
            format!(
                "{{ step = {}, action = \"{action}\", asset = \"X\", {key} = {amount:?}, max_slippage = {slippage:?} }}",
                i + 1
            )
        })
        .collect();
    let text = format!(
        r#"
[simulation]
steps = {steps}
seed = 5

[[assets]]
name = "X"
ordering = "mempool"
pricing = {{ kind = "amm", curve = "constant_product", reserve_money = {money:?}, reserve_token = {tokens:?}, fee = {fee:?} }}

[[agents]]
group = "victim"
count = 1
balance = 1000.0
holdings = [ {{ asset = "X", total = 1000.0, distribution = "uniform" }} ]
policy = {{ kind = "scripted", actions = [{actions}] }}

[[agents]]
group = "attacker"
count = 1
balance = {attacker_money:?}
holdings = [ {{ asset = "X", total = {attacker_tokens:?}, distribution = "uniform" }} ]
policy = {{ kind = "sandwich", asset = "X", priority_fee = {priority_fee:?}, min_profit = {min_profit:?} }}
"#,
        steps = trades.len(),
        actions = actions.join(", "),
    );
    Scenario::from_toml_str(&text, "random market").expect("a valid scenario")
}

mod properties {
    use super::*;
    use agora::market::amm::{min_output, ConstantProductPool, Fee};
    use agora::market::Side;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::support::proptest_config(48))]

        /// Whatever the pool, the victim's trades and the attacker's
        /// means, every step conserves money and tokens to the base unit
        /// (the engine checks it after each step and would stop), and the
        /// victim — alone in the queue, so unattacked it would get its
        /// quote — always gets at least its minimum: its swap never fails.
        #[test]
        fn a_sandwich_never_breaks_the_ledger_or_the_victims_minimum(
            money in 50.0f64..5000.0,
            tokens in 50.0f64..5000.0,
            fee in prop_oneof![Just(0.0), Just(0.003), 0.0f64..0.05],
            trades in prop::collection::vec(
                (any::<bool>(), 0.5f64..200.0, prop_oneof![Just(0.0), 0.0f64..0.5, Just(1.0)]),
                1..6,
            ),
            attacker_money in prop_oneof![Just(0.0), 1.0f64..10_000.0],
            attacker_tokens in prop_oneof![Just(0.0), 1.0f64..10_000.0],
            priority_fee in prop_oneof![Just(0.0), 0.0f64..2.0],
            min_profit in prop_oneof![Just(0.0), 0.0f64..1.0],
        ) {
            let s = random_market(
                money, tokens, fee, &trades, attacker_money, attacker_tokens, priority_fee, min_profit,
            );
            let mut sim = Simulation::new(&s, 0).unwrap();
            for &(buy, _, slippage) in &trades {
                let books = sim.ledger().books(0);
                let pool = ConstantProductPool::new(
                    books.reserve,
                    u128::from(books.treasury),
                    Fee::from_fraction(fee).unwrap(),
                )
                .unwrap();
                let side = if buy { Side::Buy } else { Side::Sell };
                let before = (sim.ledger().balance(0), sim.ledger().holding(0, 0));
                sim.advance().expect("every step's invariants hold");
                let after = (sim.ledger().balance(0), sim.ledger().holding(0, 0));
                let (input, output) = if buy {
                    (before.0 - after.0, after.1.checked_sub(before.1))
                } else {
                    (before.1 - after.1, after.0.checked_sub(before.0))
                };
                let output = u128::from(output.expect("the victim never loses its output side"));
                if input > 0 {
                    let quote = pool.quote_out(side, u128::from(input)).unwrap();
                    let least = min_output(quote, slippage).unwrap();
                    prop_assert!(output >= least, "got {} below the minimum {}", output, least);
                }
            }
            let out = sim.run().unwrap();
            prop_assert_eq!(out.summary.ledger.conservation_error, 0.0);
            prop_assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
            let amm = out.summary.assets["X"].amm.clone().unwrap();
            prop_assert_eq!(amm.slippage_failures, 0);
            // What the attacker took is what it gained, and never more than
            // the victims lost plus nothing: it cannot lose money on a bundle
            // it placed, as it placed only profitable ones on the pool it saw.
            let extracted = out.summary.groups["attacker"].extracted.unwrap();
            prop_assert!(extracted.is_finite());
        }
    }
}

/// An attacker whose group joins at step 2 does not watch the mempool at
/// step 1: the victim's buy is the step's only swap and gets what it gets
/// on the untouched pool, the constant-product quote 0.997·20·1000/(1000 +
/// 0.997·20), and the attacker's account is untouched.
#[test]
fn an_attacker_that_has_not_joined_does_not_watch_the_mempool() {
    let text = scenario_text(20.0, 0.1, 1000.0, "")
        + "\n[[events]]\nat = 2\nkind = \"join\"\ngroup = \"attacker\"\n";
    let s = Scenario::from_toml_str(&text, "late attacker").unwrap();
    let (sim, trades) = first_step(&s);
    let who: Vec<(u32, bool)> = trades.iter().map(|t| (t.agent, t.buy)).collect();
    assert_eq!(who, [(0, true)]);
    let quote = 0.997 * 20.0 * 1000.0 / (1000.0 + 0.997 * 20.0);
    let got = sim.ledger().holding(0, 0) as f64 / UNIT as f64;
    assert!((got - quote).abs() < 1e-8, "{got} vs {quote}");
    assert_eq!(
        (sim.ledger().balance(1), sim.ledger().holding(1, 0)),
        (1000 * UNIT, 0)
    );
}

/// Queues two swaps buying with `spend` each at step 1 (a slippage
/// tolerance of 30%), however much the agent holds; learns nothing.
#[derive(Debug)]
struct BuysTwice {
    spend: u64,
}

impl AdaptivePolicy for BuysTwice {
    type State = ();

    fn init(&self, _me: &AgentView<'_>) {}

    fn decide(
        &self,
        _state: &mut (),
        obs: &Observation<'_>,
        _me: &AgentView<'_>,
        _rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        if obs.step == 1 {
            for _ in 0..2 {
                out.push(Action::Swap {
                    asset: 0,
                    side: Side::Buy,
                    amount: self.spend,
                    max_slippage: 300_000_000,
                    priority_fee: 0,
                });
            }
        }
    }

    fn learn(&self, _state: &mut (), _feedback: &Feedback<'_>) {}
}

#[test]
fn a_bundle_whose_target_can_no_longer_pay_in_full_is_dropped_and_counted() {
    // The victim (100 money) queues two buys of 60 in step 1 with a 30%
    // tolerance: both are queued at 60 (nothing is spent before the clear
    // phase), and the attacker bundles each. At the second's turn the
    // victim has 40 left: its swap, cut to 40, cannot give the least
    // output its bound asks for 60, so that bundle cannot go through as a
    // whole: it is dropped and counted, and the target alone fails its
    // bound (a slippage failure, rejected). The first bundle executes:
    // three trades in all, and the victim keeps its 40.
    let mut sim = Simulation::new(&scenario(60.0, 0.3, 1000.0, ""), 0).unwrap();
    sim.set_policy(
        "victim",
        GroupPolicy::adaptive(BuysTwice { spend: 60 * UNIT }),
    )
    .unwrap();
    sim.set_trade_log(true);
    sim.advance().unwrap();
    let who: Vec<(u32, bool)> = sim.trades().iter().map(|t| (t.agent, t.buy)).collect();
    assert_eq!(who, [(1, true), (0, true), (1, false)]);
    let c = sim.amm(0).unwrap().counters();
    assert_eq!((c.bundles, c.bundles_dropped), (1, 1));
    assert_eq!(c.slippage_failures, 1);
    assert_eq!(sim.ledger().balance(0), 40 * UNIT);
    assert_eq!(sim.ledger().counts().rejected, 1, "the second buy alone");
}

/// Watches the mempool and places nothing, keeping each watch's step,
/// agent and first draw from the generator the engine hands it.
#[derive(Debug, Default)]
struct DrawsWhileWatching(std::sync::Mutex<Vec<(u64, u32, u64)>>);

impl agora::Policy for DrawsWhileWatching {
    fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
        Action::Hold
    }

    fn watches_mempool(&self) -> bool {
        true
    }

    fn watch(
        &self,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
    ) -> Vec<agora::market::mempool::Insertion> {
        use rand::RngExt;
        let draw: u64 = rng.random();
        self.0.lock().unwrap().push((obs.step, me.id, draw));
        Vec::new()
    }
}

/// In the watch phase an agent draws from its own stream of the step's
/// `Stream::Mempool` family, member 1 + its id (member 0 keys the order
/// in which the watchers are called): three watchers, each called once
/// at each of two steps with a pending swap, each drawing what that
/// member gives, all six draws different.
#[test]
fn a_watcher_draws_from_its_own_member_of_the_steps_mempool_streams() {
    use agora::rng::{Stream, StreamFamily};
    use rand::RngExt;
    let text = scenario_text(20.0, 0.1, 1000.0, "")
        .replace("step = 1, action = \"buy\"", "step = 1, action = \"buy\", asset = \"X\", spend = 5.0 }, { step = 2, action = \"buy\"")
        .replace("group = \"attacker\"\ncount = 1", "group = \"attacker\"\ncount = 3");
    let s = Scenario::from_toml_str(&text, "watchers").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    let policy = std::sync::Arc::new(DrawsWhileWatching::default());
    sim.set_policy("attacker", GroupPolicy::Custom(policy.clone()))
        .unwrap();
    sim.advance().unwrap();
    sim.advance().unwrap();
    let mut seen = policy.0.lock().unwrap().clone();
    seen.sort_unstable();
    let who: Vec<(u64, u32)> = seen.iter().map(|&(t, a, _)| (t, a)).collect();
    assert_eq!(who, [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]);
    for &(t, agent, draw) in &seen {
        let seed = s.simulation().seed;
        let mut own = StreamFamily::new(seed, 0, t, Stream::Mempool).rng(u64::from(agent) + 1);
        assert_eq!(draw, own.random::<u64>(), "agent {agent} at step {t}");
    }
    let mut draws: Vec<u64> = seen.iter().map(|s| s.2).collect();
    draws.sort_unstable();
    draws.dedup();
    assert_eq!(draws.len(), 6);
}

/// Watches the mempool and asks, at each watch, for the insertions
/// `placed`, in order.
#[derive(Debug)]
struct Places {
    placed: Vec<agora::market::mempool::Insertion>,
}

impl agora::Policy for Places {
    fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
        Action::Hold
    }

    fn watches_mempool(&self) -> bool {
        true
    }

    fn watch(
        &self,
        _: &Observation<'_>,
        _: &AgentView<'_>,
        _: &mut AgentRng,
    ) -> Vec<agora::market::mempool::Insertion> {
        self.placed.clone()
    }
}

/// Every insertion the mempool refuses is counted as a rejected action,
/// and only those: a watcher's bundle of one unit of money around the
/// victim's buy of 20 (10% tolerance, the step's only pending order, id
/// 0) goes through with nothing rejected, and the same bundle followed by
/// one around the same order again (it has one), one around an order that
/// does not exist and one in the mempool of an asset that has none counts
/// three.
#[test]
fn each_insertion_the_mempool_refuses_is_counted_as_rejected() {
    use agora::market::mempool::Insertion;
    let rejected_with = |placed: Vec<Insertion>| {
        let mut sim = Simulation::new(&scenario(20.0, 0.1, 1000.0, ""), 0).unwrap();
        sim.set_policy(
            "attacker",
            GroupPolicy::Custom(std::sync::Arc::new(Places { placed })),
        )
        .unwrap();
        sim.advance().unwrap();
        let c = sim.amm(0).unwrap().counters();
        assert_eq!((c.bundles, c.bundles_dropped), (1, 0));
        sim.ledger().counts().rejected
    };
    let good = Insertion {
        asset: 0,
        target: 0,
        front_run: UNIT,
        priority_fee: 0,
    };
    assert_eq!(rejected_with(vec![good]), 0);
    let missing = Insertion { target: 99, ..good };
    let elsewhere = Insertion { asset: 7, ..good };
    assert_eq!(rejected_with(vec![good, good, missing, elsewhere]), 3);
}
