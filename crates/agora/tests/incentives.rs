//! Incentive rules (`[[incentives]]`) against their closed forms: a holding
//! reward pays exactly `⌊h·r⌋` per agent and step until its budget, the
//! step the budget runs out is exact, a rule never pays more than it was
//! funded; emissions mint their schedules; penalties and stakes move
//! exactly what they say; conservation holds with every rule; the results
//! do not depend on the threads.

use agora::incentives::emission_at;
use agora::ledger::SCALE;
use agora::scenario::incentives::ScheduleKind;
use agora::{Action, Scenario, Simulation};

/// `agents` holders of 100 TOKEN each who never trade, and `rules`.
fn holders(agents: u32, steps: u64, rules: &str) -> Scenario {
    holders_and(agents, steps, "", rules)
}

/// `agents` holders of 100 TOKEN each who never trade on their own, and
/// `more` groups and `rules` (shared with `staking`).
pub(crate) fn holders_and(agents: u32, steps: u64, more: &str, rules: &str) -> Scenario {
    let text = format!(
        r#"
[simulation]
steps = {steps}
seed = 3

[[assets]]
name = "TOKEN"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.01 }}

[[agents]]
group = "holders"
count = {agents}
balance = 1000.0
holdings = [ {{ asset = "TOKEN", total = {total}, distribution = "uniform" }} ]
policy = {{ kind = "random", asset = "TOKEN", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }}

{more}

{rules}
"#,
        total = 100 * agents,
    );
    Scenario::from_toml_str(&text, "holders.toml").unwrap()
}

fn base(units: f64) -> u128 {
    (units * SCALE as f64).round() as u128
}

#[test]
fn a_holding_reward_pays_rate_times_holding_until_its_budget_and_stops_at_the_exact_step() {
    // 7 agents × 100 tokens × 0.0123 = 8.61 a step; 100 funds 11 full
    // steps (94.71), then 5.29 pro rata at step 12, then nothing
    let s = holders(
        7,
        20,
        r#"
[[incentives]]
name = "hold"
kind = "holding_reward"
asset = "TOKEN"
rate = 0.0123
funding = { kind = "treasury", currency = "money", amount = 100.0 }
"#,
    );
    let due = 100 * SCALE as u128 * base(0.0123) / SCALE as u128; // per agent
    let per_step = 7 * due;
    let budget = base(100.0);
    let full = (budget / per_step) as u64;
    assert_eq!(full, 11);
    let mut sim = Simulation::new(&s, 0).unwrap();
    for t in 1..=20u64 {
        sim.advance().unwrap();
        let expected = if t <= full {
            u128::from(t) * due
        } else {
            // the remainder split pro rata (floor), once
            let left = budget - u128::from(full) * per_step;
            u128::from(full) * due + due * left / per_step
        };
        for a in 0..7 {
            let got = u128::from(sim.ledger().balance(a)) - base(1000.0);
            assert_eq!(got, expected, "agent {a} at step {t}");
        }
    }
    let out = sim.finish().unwrap();
    let hold = &out.summary.incentives["hold"];
    assert_eq!(hold.budget_exhausted_step, Some(full + 1));
    assert_eq!(hold.recipients, 7);
    let paid =
        u128::from(full) * per_step + 7 * (due * (budget - u128::from(full) * per_step) / per_step);
    assert_eq!(hold.paid, paid as f64 / SCALE as f64);
    assert!(hold.paid <= 100.0);
    assert_eq!(
        hold.budget_left,
        Some((budget - paid) as f64 / SCALE as f64)
    );
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    // incentives.csv: one reward row a step up to the exhaustion, then the
    // exhaustion row
    let csv =
        String::from_utf8(agora::output::incentives_csv(&s, &[out]).unwrap().unwrap()).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "run,step,rule,kind,agent,agents,amount,currency,reason,budget_left"
    );
    assert_eq!(rows.len(), 1 + 12 + 1);
    assert_eq!(rows[1], "0,1,hold,reward,,7,8.61,money,held TOKEN,91.39");
    assert!(
        rows[13].starts_with("0,12,hold,exhausted,,0,0.0,money,"),
        "{}",
        rows[13]
    );
}

/// A budget short of rewards past the range of a product of two amounts:
/// three holders of 5·10⁹ TOKEN (5·10¹⁸ base units, near the ledger's
/// 1.8·10¹⁹) owed 10⁹ a unit each (1.5·10²⁸ base units in all, against
/// 1,000 held) share what is held in proportion, as with small amounts:
/// ⌊1000/3⌋ units each to the base unit, no more than held, and the
/// budget is exhausted at step 1. (Each owed amount times what is held
/// passes 2¹²⁸, so the share is worked out in floats.)
#[test]
fn a_short_budget_is_shared_in_proportion_past_the_range_of_a_wide_product() {
    let text = r#"
[simulation]
steps = 3
seed = 3

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.0, b = 0.000001 }

[[agents]]
group = "holders"
count = 3
balance = 1000.0
holdings = [ { asset = "TOKEN", total = 15000000000.0, distribution = "uniform" } ]
policy = { kind = "random", asset = "TOKEN", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }

[[incentives]]
name = "hold"
kind = "holding_reward"
asset = "TOKEN"
rate = 1e9
record = "agents"
funding = { kind = "treasury", currency = "money", amount = 1000.0 }
"#;
    let s = Scenario::from_toml_str(text, "wide.toml").unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let paid: Vec<(u64, u128)> = out
        .records
        .incentives
        .iter()
        .filter(|r| r.flow.name() == "reward")
        .map(|r| (r.step, r.amount))
        .collect();
    let third = base(1000.0) / 3;
    assert_eq!(paid, vec![(1, third); 3]);
    let hold = &out.summary.incentives["hold"];
    assert_eq!(hold.budget_exhausted_step, Some(1));
    assert_eq!(base(hold.paid), 3 * third);
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}

#[test]
fn min_holding_and_min_hold_steps_gate_the_reward() {
    // 100 tokens each: a minimum of 150 pays nobody; a minimum of 50 kept
    // 4 steps pays from step 5 (held since step 1)
    for (min, steps_kept, first) in [(150.0, 0, None), (50.0, 4, Some(5u64))] {
        let s = holders(
            3,
            8,
            &format!(
                r#"
[[incentives]]
name = "hold"
kind = "holding_reward"
asset = "TOKEN"
rate = 0.01
min_holding = {min}
min_hold_steps = {steps_kept}
record = "agents"
funding = {{ kind = "treasury", currency = "money", amount = 1000.0 }}
"#
            ),
        );
        let out = Simulation::new(&s, 0).unwrap().run().unwrap();
        let first_paid = out.records.incentives.iter().map(|r| r.step).min();
        assert_eq!(first_paid, first, "min {min}, kept {steps_kept}");
        if let Some(first) = first {
            // one row per agent and step, 1 unit each
            assert_eq!(out.records.incentives.len() as u64, 3 * (8 - first + 1));
            assert!(out
                .records
                .incentives
                .iter()
                .all(|r| r.amount == base(1.0) && r.agent.is_some()));
        }
    }
}

#[test]
fn emission_schedules_match_their_closed_forms() {
    let e0 = 1_000_000u64;
    for t in 1..=40u64 {
        assert_eq!(emission_at(ScheduleKind::Constant, e0, 1, t), e0);
        let linear = if t <= 10 { e0 * (10 - (t - 1)) / 10 } else { 0 };
        assert_eq!(
            emission_at(ScheduleKind::Linear, e0, 10, t),
            linear,
            "t {t}"
        );
        assert_eq!(
            emission_at(ScheduleKind::Halving, e0, 7, t),
            e0 / 2u64.pow(((t - 1) / 7) as u32),
            "t {t}"
        );
    }
    assert_eq!(emission_at(ScheduleKind::Halving, u64::MAX, 1, 1000), 0);
}

#[test]
fn an_emission_mints_its_schedule_up_to_its_cap_and_the_rule_never_pays_more() {
    // halving 64 a step every 3 steps: 64·3 + 32·3 + 16·3 + … ; capped at
    // 300 (reached at step 7, with 12 of its 16); the 4 holders are owed 20
    // a step, more than that
    let s = holders(
        4,
        30,
        r#"
[[incentives]]
name = "hold"
kind = "holding_reward"
asset = "TOKEN"
rate = 0.05
funding = { kind = "emission", asset = "TOKEN", schedule = "halving", per_step = 64.0, every = 3, cap = 300.0 }
"#,
    );
    let mut sim = Simulation::new(&s, 0).unwrap();
    let mut minted = 0u128;
    let cap = base(300.0);
    for t in 1..=30u64 {
        let supply_before = sim.ledger().books(0).supply;
        sim.advance().unwrap();
        let e = u128::from(emission_at(ScheduleKind::Halving, 64 * SCALE, 3, t)).min(cap - minted);
        minted += e;
        // the supply grows by exactly the emission (nobody trades)
        assert_eq!(
            u128::from(sim.ledger().books(0).supply - supply_before),
            e,
            "step {t}"
        );
    }
    let out = sim.finish().unwrap();
    // incentives.csv: step 1's emission of 64 TOKEN, then its reward
    let csv = String::from_utf8(
        agora::output::incentives_csv(&s, std::slice::from_ref(&out))
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        rows[1].starts_with("0,1,hold,mint,,0,64.0,TOKEN,emission,"),
        "{}",
        rows[1]
    );
    assert!(
        rows[2].starts_with("0,1,hold,reward,,4,20.0,TOKEN,held TOKEN,"),
        "{}",
        rows[2]
    );
    // the same cells for writers of other formats (Parquet)
    let cells = |k: usize| agora::incentives::currency_and_reason(&s, &out.records.incentives[k]);
    assert_eq!(cells(0), ("TOKEN".into(), "emission".into()));
    assert_eq!(cells(1), ("TOKEN".into(), "held TOKEN".into()));
    let hold = &out.summary.incentives["hold"];
    assert_eq!(hold.minted, Some(minted as f64 / SCALE as f64));
    assert_eq!(minted, cap);
    assert!(hold.paid <= 300.0);
    assert!(hold.budget_exhausted_step.is_some());
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
    assert_eq!(out.summary.ledger.reserve_shortfall, 0.0);
}

/// One trader with 1000 money on a curve with a fee, and `rules`.
fn trader(rules: &str) -> Scenario {
    let text = format!(
        r#"
[simulation]
steps = 20
seed = 5

[[assets]]
name = "TOKEN"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.02 }}

[[agents]]
group = "trader"
count = 1
balance = 1000.0
policy = {{ kind = "random", asset = "TOKEN", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }}

{rules}
"#
    );
    Scenario::from_toml_str(&text, "trader.toml").unwrap()
}

#[test]
fn an_early_sale_pays_exactly_its_penalty_and_a_late_one_pays_none() {
    for to in ["treasury", "burn"] {
        let s = trader(&format!(
            r#"
[[incentives]]
name = "early"
kind = "early_sell_penalty"
asset = "TOKEN"
rate = 0.1
within = 3
to = "{to}"
"#
        ));
        let mut sim = Simulation::new(&s, 0).unwrap();
        sim.advance_with(&[(
            0,
            Action::Buy {
                asset: 0,
                spend: 100 * SCALE,
            },
        )])
        .unwrap();
        let held = sim.ledger().holding(0, 0);
        // step 2: sell a third, within 3 steps of the buy
        let before = sim.ledger().balance(0);
        sim.advance_with(&[(
            0,
            Action::Sell {
                asset: 0,
                amount: held / 3,
            },
        )])
        .unwrap();
        let proceeds = sim.trade_log().records()[0].money;
        let penalty = proceeds * base(0.1) / u128::from(SCALE);
        assert_eq!(
            u128::from(sim.ledger().balance(0) - before),
            proceeds - penalty,
            "{to}"
        );
        // steps 3 and 4 idle; step 5 is 4 steps after the buy: no penalty
        sim.advance().unwrap();
        sim.advance().unwrap();
        let before = sim.ledger().balance(0);
        sim.advance_with(&[(
            0,
            Action::Sell {
                asset: 0,
                amount: held / 3,
            },
        )])
        .unwrap();
        let proceeds = sim.trade_log().records()[0].money;
        assert_eq!(u128::from(sim.ledger().balance(0) - before), proceeds);
        let out = sim.finish().unwrap();
        let early = &out.summary.incentives["early"];
        let units = penalty as f64 / SCALE as f64;
        match to {
            "treasury" => assert_eq!((early.collected, early.burned), (Some(units), Some(0.0))),
            _ => assert_eq!((early.collected, early.burned), (None, Some(units))),
        }
        assert_eq!(out.summary.ledger.conservation_error, 0.0);
    }
}

#[test]
fn a_stake_locks_its_share_and_comes_back_exactly_after_the_unbonding_delay() {
    // no reward, to follow the tokens alone
    let s = holders(
        2,
        30,
        r#"
[[incentives]]
name = "stake"
kind = "staking"
asset = "TOKEN"
rate = 0.0
share = 0.5
unbonding = 4
funding = { kind = "treasury", currency = "TOKEN", amount = 0.0 }
"#,
    );
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    // half of 100 staked at step 1, by both agents
    assert_eq!(sim.ledger().holding(0, 0), 50 * SCALE);
    assert_eq!(sim.ledger().incentive_books().staked(0), 100 * SCALE);
    sim.advance().unwrap();
    assert_eq!(sim.ledger().holding(0, 0), 50 * SCALE);
    // step 3: agent 0 sells every free token (the sell is clipped to them)
    sim.advance_with(&[(
        0,
        Action::Sell {
            asset: 0,
            amount: u64::MAX,
        },
    )])
    .unwrap();
    assert_eq!(sim.ledger().holding(0, 0), 0);
    // from step 4 its target is half its stake: 25 unbond at step 4 (back
    // at step 8), 12.5 at step 5, 6.25 at step 6, 3.125 at step 7
    for t in 4..8 {
        sim.advance().unwrap();
        assert_eq!(sim.ledger().holding(0, 0), 0, "step {t}");
    }
    assert_eq!(
        sim.ledger().incentive_books().staked(0),
        50 * SCALE + 50 * SCALE,
        "unbonding tokens stay staked until released"
    );
    // step 8: 25 come back, and it stakes half of 25 + 3.125 again
    sim.advance().unwrap();
    assert_eq!(sim.ledger().holding(0, 0), 14_062_500_000);
    assert_eq!(sim.staked(1, 0), 50 * u128::from(SCALE));
    let out = sim.finish().unwrap();
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
    assert_eq!(out.summary.incentives["stake"].paid, 0.0);
    // staked tokens are still their owners': counted as locked holdings
    let step1 = &out.records.groups[1];
    assert_eq!(step1.step, 1);
    assert_eq!(step1.holdings[0], 200 * u128::from(SCALE));
    assert_eq!(step1.locked_holdings[0], 100 * u128::from(SCALE));
    let agent = sim_agent_wealth(&s);
    assert_eq!(agent.0, agent.1, "wealth counts the stake");
}

/// Agent 1's record after step 1 (half of its 100 tokens staked): its
/// holdings with the stake, and 100.
fn sim_agent_wealth(s: &Scenario) -> (u128, u128) {
    let mut sim = Simulation::new(s, 0).unwrap();
    sim.advance().unwrap();
    let r = sim.agent(1).unwrap();
    (r.holdings[0], 100 * u128::from(SCALE))
}

/// Every rule at once, with a volume reward, through the engine's
/// per-step conservation check; and the same bytes at 1 and 4 threads.
#[test]
fn every_rule_conserves_and_is_byte_identical_at_one_and_four_threads() {
    let mut text = agora::scenario::example("incentives")
        .unwrap()
        .to_table()
        .clone();
    let volume: toml::Table = toml::from_str(
        r#"
name = "volume"
kind = "volume_reward"
asset = "AGT"
rate = 0.001
funding = { kind = "treasury", currency = "money", amount = 500.0 }
"#,
    )
    .unwrap();
    let slashing: toml::Table = toml::from_str(
        r#"
name = "slash"
kind = "slashing"
asset = "AGT"
staking = "stake"
share = 0.2
sell_share = 0.01
"#,
    )
    .unwrap();
    if let Some(toml::Value::Array(rules)) = text.get_mut("incentives") {
        rules.push(toml::Value::Table(volume));
        rules.push(toml::Value::Table(slashing));
    }
    let mut s = Scenario::from_table(text, "every-rule", &Default::default()).unwrap();
    s.set_steps(60).unwrap();
    let render = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let out = Simulation::new(&s, 0).unwrap().run().unwrap();
                assert_eq!(out.summary.ledger.conservation_error, 0.0);
                assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
                assert_eq!(out.summary.ledger.reserve_shortfall, 0.0);
                for (name, r) in &out.summary.incentives {
                    assert!(r.paid >= 0.0, "{name}");
                }
                assert!(out.summary.incentives["volume"].paid > 0.0);
                assert!(out.summary.incentives["slash"].slashed > Some(0.0));
                agora::output::run_files(&s, &[out]).unwrap()
            })
    };
    assert_eq!(render(1), render(4));
}

/// The `incentives` example against the same economy without its rules:
/// price volatility and the retention of the early holders (the share of
/// them holding or staking at least half their airdrop at the end, and the
/// share of the airdrop they hold or stake then), over five seeds. Prints the numbers the README
/// reports (`cargo test -p agora --test main incentives_against -- --nocapture`).
#[test]
fn incentives_against_the_same_economy_without_them() {
    let with = agora::scenario::example("incentives").unwrap();
    let mut table = with.to_table().clone();
    table.remove("incentives");
    let without = Scenario::from_table(table, "without", &Default::default()).unwrap();
    let measure = |s: &Scenario, seed: u64| {
        let mut s = s.clone();
        s.set_seed(seed).unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        let g = s
            .groups()
            .iter()
            .position(|g| g.name == "early_holders")
            .unwrap();
        let start: u32 = s.groups()[..g].iter().map(|g| g.count).sum();
        let n = s.groups()[g].count;
        let airdrop: Vec<u128> = (start..start + n)
            .map(|a| u128::from(sim.ledger().holding(a, 0)))
            .collect();
        while !sim.done() {
            sim.advance().unwrap();
        }
        let (mut holding, mut tokens) = (0u32, 0u128);
        for (a, first) in (start..start + n).zip(&airdrop) {
            let t = u128::from(sim.ledger().holding(a, 0)) + sim.staked(a, 0);
            holding += u32::from(2 * t >= *first);
            tokens += t;
        }
        let out = sim.finish().unwrap();
        let asset = &out.summary.assets["AGT"];
        (
            asset.log_return_volatility,
            f64::from(holding) / f64::from(n),
            tokens as f64 / SCALE as f64 / 20_000.0,
        )
    };
    let seeds = [42u64, 1, 2, 3, 4];
    let mean = |s: &Scenario| {
        let runs: Vec<(f64, f64, f64)> = seeds.iter().map(|&seed| measure(s, seed)).collect();
        let k = runs.len() as f64;
        (
            runs.iter().map(|r| r.0).sum::<f64>() / k,
            runs.iter().map(|r| r.1).sum::<f64>() / k,
            runs.iter().map(|r| r.2).sum::<f64>() / k,
        )
    };
    let (vol_with, holders_with, kept_with) = mean(&with);
    let (vol_without, holders_without, kept_without) = mean(&without);
    println!(
        "with incentives: log-return volatility {vol_with:.6}, early holders keeping half {holders_with:.3}, airdrop kept {kept_with:.3}"
    );
    println!(
        "without:         log-return volatility {vol_without:.6}, early holders keeping half {holders_without:.3}, airdrop kept {kept_without:.3}"
    );
    // staking half their tokens (10 steps to unbond), rewarded, keeps the
    // early holders' tokens in their hands
    assert!(kept_with > kept_without);
    assert!(holders_with >= holders_without);
}

/// Policies see the rules: their terms, whether they still pay, what is
/// left, and who is eligible.
#[test]
fn agents_observe_the_rules_they_are_eligible_for_and_when_they_stop_paying() {
    let s = holders(
        7,
        20,
        r#"
[[incentives]]
name = "hold"
kind = "holding_reward"
asset = "TOKEN"
rate = 0.0123
min_hold_steps = 2
funding = { kind = "treasury", currency = "money", amount = 100.0 }
"#,
    );
    let mut sim = Simulation::new(&s, 0).unwrap();
    let seen = |sim: &Simulation| {
        let obs = sim.observe();
        let info = obs.as_observation().incentives[0].clone();
        info
    };
    let info = seen(&sim);
    assert_eq!(info.name, "hold");
    assert_eq!(info.kind, agora::scenario::IncentiveKind::HoldingReward);
    assert_eq!((info.rate, info.steps, info.asset), (0.0123, 2, 0));
    assert!(info.active && info.eligible(6) && !info.eligible(7));
    assert_eq!(info.budget_left, Some(100.0));
    while sim.step() < 20 {
        sim.advance().unwrap();
        let info = seen(&sim);
        // paid from step 3 (held since step 1, two steps kept): 11 full
        // steps to step 13, exhausted at step 14
        assert_eq!(info.active, sim.step() < 14, "step {}", sim.step());
    }
}

/// The built-in example `name` with the one `[[incentives]]` rule `rule`
/// (its keys), run for `steps` steps.
fn example_with_rule(name: &str, rule: &str, steps: u64) -> Scenario {
    let mut table = agora::scenario::example(name).unwrap().to_table().clone();
    let rule: toml::Table = toml::from_str(rule).unwrap();
    table.insert(
        "incentives".into(),
        toml::Value::Array(vec![toml::Value::Table(rule)]),
    );
    let mut s = Scenario::from_table(table, name, &Default::default()).unwrap();
    s.set_steps(steps).unwrap();
    s
}

/// A participation reward pays `rate` for each order resting on the book
/// at the end of a step: one order per agent on this book, so exactly the
/// agents with something locked are paid, `rate` each.
#[test]
fn a_participation_reward_pays_each_order_resting_on_the_book() {
    let s = example_with_rule(
        "market-clearing",
        r#"
name = "makers"
kind = "participation_reward"
asset = "GOOD"
rate = 0.25
per = "resting_order"
record = "agents"
funding = { kind = "treasury", currency = "money", amount = 1000.0 }
"#,
        10,
    );
    let mut sim = Simulation::new(&s, 0).unwrap();
    let agents = s.agent_count() as u32;
    let mut seen = 0;
    for _ in 0..10 {
        sim.advance().unwrap();
        let t = sim.step();
        let mut paid: Vec<u32> = sim
            .records()
            .incentives
            .iter()
            .filter(|r| r.step == t)
            .map(|r| {
                assert_eq!(r.amount, base(0.25));
                r.agent.unwrap()
            })
            .collect();
        paid.sort_unstable();
        let resting: Vec<u32> = (0..agents)
            .filter(|&a| {
                let r = sim.agent(a).unwrap();
                r.locked_balance > 0 || r.locked_holdings.iter().any(|&h| h > 0)
            })
            .collect();
        assert_eq!(paid, resting, "step {t}");
        seen += paid.len();
    }
    assert!(seen > 0);
    let out = sim.finish().unwrap();
    assert_eq!(out.summary.incentives["makers"].paid, seen as f64 * 0.25);
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}

/// A participation reward `per = "request_served"` pays `rate` for each
/// allocation of the resource an agent received in the step (its served
/// requests, counted here from the trade log), to those agents only.
#[test]
fn a_participation_reward_pays_each_request_served() {
    let s = example_with_rule(
        "resource-economy",
        r#"
name = "served"
kind = "participation_reward"
asset = "COMPUTE"
rate = 0.25
per = "request_served"
record = "agents"
funding = { kind = "treasury", currency = "money", amount = 100000.0 }
"#,
        8,
    );
    let mut sim = Simulation::new(&s, 0).unwrap();
    let mut seen = 0u128;
    let mut unserved = 0;
    for _ in 0..8 {
        sim.advance().unwrap();
        let t = sim.step();
        let mut paid: std::collections::BTreeMap<u32, u128> = Default::default();
        for r in sim.records().incentives.iter().filter(|r| r.step == t) {
            *paid.entry(r.agent.unwrap()).or_default() += r.amount;
        }
        let mut served: std::collections::BTreeMap<u32, u128> = Default::default();
        for tr in sim.trade_log().records() {
            if tr.kind == agora::ledger::trades::TradeKind::Allocation {
                *served.entry(tr.agent).or_default() += base(0.25);
            }
        }
        assert_eq!(paid, served, "step {t}");
        assert!(!served.is_empty(), "step {t}: no request served");
        unserved += s.agent_count() as usize - served.len();
        seen += served.values().sum::<u128>();
    }
    // capacity is scarce: some requests go unserved, and are not paid
    assert!(unserved > 0);
    let out = sim.finish().unwrap();
    assert_eq!(
        base(out.summary.incentives["served"].paid),
        seen,
        "{:?}",
        out.summary.incentives["served"]
    );
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}

#[test]
fn a_seller_of_more_than_its_share_loses_exactly_its_share_of_stake() {
    let s = holders(
        2,
        10,
        r#"
[[incentives]]
name = "stake"
kind = "staking"
asset = "TOKEN"
rate = 0.0
share = 0.5
unbonding = 100
funding = { kind = "treasury", currency = "money", amount = 0.0 }

[[incentives]]
name = "slash"
kind = "slashing"
asset = "TOKEN"
staking = "stake"
share = 0.3
sell_share = 0.5
"#,
    );
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    sim.advance().unwrap();
    let supply = sim.ledger().books(0).supply;
    // step 3: agent 0 sells 30 of its 50 free tokens (60% > 50%): 30% of
    // its 50 staked are burned; agent 1 sells 20 (40%): nothing
    sim.advance_with(&[
        (
            0,
            Action::Sell {
                asset: 0,
                amount: 30 * SCALE,
            },
        ),
        (
            1,
            Action::Sell {
                asset: 0,
                amount: 20 * SCALE,
            },
        ),
    ])
    .unwrap();
    assert_eq!(sim.staked(0, 0), 35 * u128::from(SCALE));
    assert_eq!(sim.staked(1, 0), 50 * u128::from(SCALE));
    assert_eq!(
        supply - sim.ledger().books(0).supply,
        50 * SCALE + 15 * SCALE
    );
    let out = sim.finish().unwrap();
    assert_eq!(out.summary.incentives["slash"].slashed, Some(15.0));
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
    assert_eq!(out.summary.ledger.reserve_shortfall, 0.0);
}

/// Every kind of rule and funding goes through the builder and back.
#[test]
fn every_rule_round_trips_through_the_builder() {
    let s = holders(
        3,
        10,
        r#"
[[incentives]]
name = "hold"
kind = "holding_reward"
asset = "TOKEN"
rate = 0.01
min_holding = 2.5
record = "agents"
funding = { kind = "emission", asset = "TOKEN", schedule = "linear", per_step = 3.0, steps = 7, cap = 10.0 }

[[incentives]]
name = "stake"
kind = "staking"
asset = "TOKEN"
group = "holders"
rate = 0.01
share = 0.4
unbonding = 3
funding = { kind = "emission", asset = "TOKEN", schedule = "constant", per_step = 1.0, cap = 5.0 }

[[incentives]]
name = "slash"
kind = "slashing"
asset = "TOKEN"
staking = "stake"
share = 0.5
sell_share = 0.25

[[incentives]]
name = "early"
kind = "early_sell_penalty"
asset = "TOKEN"
rate = 0.1
within = 2
to = "burn"

[[incentives]]
name = "fees"
kind = "burn"
asset = "TOKEN"
share = 1.0

[[incentives]]
name = "volume"
kind = "volume_reward"
asset = "TOKEN"
rate = 0.5
funding = { kind = "treasury", currency = "TOKEN", amount = 50.0 }
"#,
    );
    crate::staking::round_trips(&s);
}

/// A fee burn of share ½ burns, at each step, ⌊½ · the fees paid into the
/// pool since the last burn⌋ and leaves the rest in the pool: with
/// `pool_t` the pool after step t's burn and `b_t` that burn (its row), the
/// fees of step t are `pool_t − pool_{t−1} + b_t`, and `b_t` is half of them
/// rounded down. The ledger's fee pool falls by every burn (a burn the
/// ledger skipped would leave it whole) and the rule's total is their sum.
#[test]
fn a_fee_burn_burns_its_share_of_each_steps_fees_out_of_the_pool() {
    let buyers = r#"
[[agents]]
group = "buyers"
count = 3
balance = 1000.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.9, p_sell = 0.0, buy_fraction = 0.05, sell_fraction = 0.0 }
"#;
    let burn = r#"
[[incentives]]
name = "fees"
kind = "burn"
asset = "TOKEN"
share = 0.5
"#;
    let s = holders_and(2, 12, buyers, burn);
    let mut sim = Simulation::new(&s, 0).unwrap();
    let (mut pool, mut total, mut burns) = (sim.ledger().books(0).fee_pool, 0u128, 0u64);
    for step in 1..=12u64 {
        sim.advance().unwrap();
        let b: u128 = sim
            .records()
            .incentives
            .iter()
            .filter(|r| r.step == step && r.flow == agora::incentives::Flow::Burn)
            .map(|r| r.amount)
            .sum();
        let now = sim.ledger().books(0).fee_pool;
        let fees = now + b - pool;
        assert_eq!(b, fees / 2, "step {step}: fees {fees}");
        burns += u64::from(b > 0);
        total += b;
        pool = now;
    }
    assert!(burns >= 6, "{burns} steps burned");
    let out = sim.finish().unwrap();
    assert_eq!(
        out.summary.incentives["fees"].burned,
        Some(total as f64 / SCALE as f64)
    );
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    // nobody sells to the curve: the ledger's burns are the fee burns
    assert_eq!(out.summary.ledger.burns, burns);
}

/// Rules on an AMM's asset: its swaps are fills of the trade log, so
/// early sales are charged and volume rewarded; a token treasury and
/// staking leave the pool's tokens (the asset's unheld supply) alone.
#[test]
fn rules_on_an_amm_asset_conserve_and_leave_the_pool_alone() {
    let mut table = agora::scenario::example("amm").unwrap().to_table().clone();
    let rules: toml::Table = toml::from_str(
        r#"
[[incentives]]
name = "early"
kind = "early_sell_penalty"
asset = "AGT"
rate = 0.02
within = 5
to = "burn"

[[incentives]]
name = "volume"
kind = "volume_reward"
asset = "AGT"
rate = 0.01
funding = { kind = "treasury", currency = "AGT", amount = 1000.0 }

[[incentives]]
name = "stake"
kind = "staking"
asset = "AGT"
group = "noise"
rate = 0.001
share = 0.3
unbonding = 3
funding = { kind = "emission", asset = "AGT", schedule = "linear", per_step = 50.0, steps = 20, cap = 400.0 }
"#,
    )
    .unwrap();
    table.extend(rules);
    let mut s = Scenario::from_table(table, "amm-incentives", &Default::default()).unwrap();
    s.set_steps(30).unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
    let r = &out.summary.incentives;
    assert!(r["early"].burned > Some(0.0));
    assert!(r["volume"].paid > 0.0 && r["volume"].paid <= 1000.0);
    assert!(r["stake"].staked > Some(0.0));
    assert_eq!(r["stake"].minted, Some(400.0));
}

/// Sweeps and optimisation vary a rule's settings by its name, like any
/// other field.
#[test]
fn a_rules_settings_are_parameters_named_by_the_rule() {
    let s = agora::scenario::example("incentives").unwrap();
    assert_eq!(s.param("incentives.hold.rate").unwrap(), 0.002);
    assert_eq!(s.param("incentives.stake.funding.cap").unwrap(), 20000.0);
    let t = s.with_param("incentives.hold.rate", 0.004).unwrap();
    match t.incentives()[0].rule {
        agora::scenario::IncentiveRule::HoldingReward { rate, .. } => assert_eq!(rate, 0.004),
        ref other => panic!("{other:?}"),
    }
    let e = s.with_param("incentives.hold.rate", -1.0).unwrap_err();
    assert!(e.to_string().contains("incentives.hold.rate"), "{e}");
}

/// A holding reward whose `min_hold_steps` is longer than the run is valid
/// and never pays, with a warning naming it: the example runs at fewer
/// steps than its rule's 10 (`--steps 5`), as every example must.
#[test]
fn a_min_hold_longer_than_the_run_is_a_warning_and_never_pays() {
    let mut s = agora::scenario::example("incentives").unwrap();
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    s.set_steps(5).unwrap();
    let warnings: Vec<String> = s.warnings().iter().map(|w| w.to_string()).collect();
    assert_eq!(
        warnings,
        [
            "<example incentives>: incentives.hold.min_hold_steps: 10 steps, longer than the \
          run's 5: it never pays"
        ]
    );
    let out = agora::Simulation::new(&s, 0).unwrap().run().unwrap();
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert_eq!(out.summary.incentives["hold"].paid, 0.0);
}
