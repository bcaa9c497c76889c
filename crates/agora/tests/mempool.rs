//! Mempools (`ordering = "mempool"` on an AMM asset) and the `sandwich`
//! attacker through the engine: the issue's sandwich reproduced to its
//! printed digits, nothing below the profitability threshold, the budget
//! respected, priority fees ordering the queue and burned, the attack
//! metrics, the detector on the executed swaps, and, without watchers, a
//! mempool that changes nothing.

use agora::engine::Simulation;
use agora::ledger::trades::TradeRecord;
use agora::market::amm::detect::find_sandwiches;
use agora::Scenario;

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
