//! Explicit staking ([`Action::Stake`], [`Action::Unstake`]) and the
//! `staker` policy against their closed forms: the exact amounts move, the
//! unbonding delay holds to the step, the reward is `⌊stake · rate⌋` per
//! step, staked and unbonding tokens cannot be sold; conservation; the
//! same bytes at 1 and 4 threads; bad input.

use agora::incentives::Flow;
use agora::ledger::SCALE;
use agora::{Action, Scenario, Simulation};

/// A staking rule without `share` (the agents' actions decide): `rate`
/// money per token staked per step from a treasury of `budget`, and
/// `unbonding` steps.
fn rule(rate: f64, unbonding: u64, budget: f64) -> String {
    format!(
        r#"
[[incentives]]
name = "stake"
kind = "staking"
asset = "TOKEN"
rate = {rate}
unbonding = {unbonding}
funding = {{ kind = "treasury", currency = "money", amount = {budget} }}
"#
    )
}

const T: u64 = SCALE;

/// A second group beside the holders: one agent with 1,000 money and 50
/// TOKEN that trades nothing by itself.
const SECOND_HOLDER: &str = r#"
[[agents]]
group = "second"
count = 1
balance = 1000.0
holdings = [ { asset = "TOKEN", total = 50.0, distribution = "uniform" } ]
policy = { kind = "random", asset = "TOKEN", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }
"#;

fn stake(amount: u64) -> Action {
    Action::Stake { asset: 0, amount }
}

fn unstake(amount: u64) -> Action {
    Action::Unstake { asset: 0, amount }
}

#[test]
fn explicit_stakes_move_exact_amounts_pay_rate_times_stake_and_unbond_to_the_step() {
    let s = crate::incentives::holders_and(2, 12, "", &rule(0.01, 4, 1000.0));
    let mut sim = Simulation::new(&s, 0).unwrap();
    // step 1: agent 0 stakes exactly 30 tokens (after the govern phase:
    // nothing is paid this step)
    sim.advance_with(&[(0, stake(30 * T))]).unwrap();
    assert_eq!(sim.ledger().holding(0, 0), 70 * T);
    assert_eq!(sim.staked(0, 0), u128::from(30 * T));
    assert_eq!(sim.ledger().incentive_books().staked(0), 30 * T);
    assert_eq!(sim.ledger().balance(0), 1000 * T);
    // the group's row counts the stake as locked, and still owned
    let row = sim.records().groups.last().unwrap();
    assert_eq!((row.step, row.group), (1, 0));
    let (held, locked) = (row.holdings[0], row.locked_holdings[0]);
    assert_eq!((held, locked), (u128::from(200 * T), u128::from(30 * T)));
    // step 2: paid ⌊30 · 0.01⌋ = 0.3 a step, exactly
    sim.advance().unwrap();
    assert_eq!(sim.ledger().balance(0), 1000 * T + 300_000_000);
    // step 3: it sells everything it can: the stake cannot be sold
    sim.advance_with(&[(
        0,
        Action::Sell {
            asset: 0,
            amount: u64::MAX,
        },
    )])
    .unwrap();
    assert_eq!(sim.ledger().holding(0, 0), 0);
    assert_eq!(sim.ledger().incentive_books().staked(0), 30 * T);
    // step 4 idle; step 5: it unstakes 10, which stop earning at once and
    // come back in the govern phase of step 5 + 4 = 9
    sim.advance().unwrap();
    sim.advance_with(&[(0, unstake(10 * T))]).unwrap();
    assert_eq!(
        sim.staked(0, 0),
        u128::from(30 * T),
        "20 staked, 10 unbonding"
    );
    for t in 6..9 {
        // an unbonding token cannot be sold either
        sim.advance_with(&[(
            0,
            Action::Sell {
                asset: 0,
                amount: u64::MAX,
            },
        )])
        .unwrap();
        assert_eq!(sim.ledger().holding(0, 0), 0, "step {t}");
    }
    sim.advance().unwrap();
    assert_eq!(sim.ledger().holding(0, 0), 10 * T, "released at step 9");
    assert_eq!(sim.staked(0, 0), u128::from(20 * T));
    for _ in 10..=12 {
        sim.advance().unwrap();
    }
    let records: Vec<(u64, Flow, u128)> = sim
        .records()
        .incentives
        .iter()
        .filter(|r| r.flow != Flow::Reward)
        .map(|r| (r.step, r.flow, r.amount))
        .collect();
    assert_eq!(
        records,
        vec![
            (1, Flow::Stake, u128::from(30 * T)),
            (5, Flow::Unstake, u128::from(10 * T)),
            (9, Flow::Release, u128::from(10 * T)),
        ]
    );
    // rewards: steps 2–5 on 30 tokens, steps 6–12 on 20
    let rewards: Vec<u128> = sim
        .records()
        .incentives
        .iter()
        .filter(|r| r.flow == Flow::Reward)
        .map(|r| r.amount)
        .collect();
    let expected: Vec<u128> = (2..=12)
        .map(|t| if t <= 5 { 300_000_000 } else { 200_000_000 })
        .collect();
    assert_eq!(rewards, expected);
    let out = sim.finish().unwrap();
    let paid: u128 = expected.iter().sum();
    assert_eq!(out.summary.incentives["stake"].paid, paid as f64 / 1e9);
    assert_eq!(out.summary.incentives["stake"].staked, Some(20.0));
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
}

#[test]
fn past_the_holdings_or_the_stake_is_clipped_and_without_a_rule_rejected() {
    let s = crate::incentives::holders_and(2, 10, "", &rule(0.0, 0, 0.0));
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance_with(&[(0, stake(500 * T))]).unwrap();
    assert_eq!(sim.staked(0, 0), u128::from(100 * T), "cut to the holdings");
    assert_eq!(sim.ledger().holding(0, 0), 0);
    // an unbonding of 0: the tokens come back at once; past the stake: cut
    sim.advance_with(&[(0, unstake(40 * T))]).unwrap();
    assert_eq!(sim.ledger().holding(0, 0), 40 * T);
    sim.advance_with(&[(0, unstake(u64::MAX))]).unwrap();
    assert_eq!(sim.ledger().holding(0, 0), 100 * T);
    assert_eq!(sim.staked(0, 0), 0);
    // an asset that does not exist: rejected too
    sim.advance_with(&[(
        0,
        Action::Stake {
            asset: 7,
            amount: T,
        },
    )])
    .unwrap();
    let out = sim.finish().unwrap();
    assert_eq!(out.summary.ledger.clipped_actions, 1, "the stake of 500");
    assert_eq!(out.summary.ledger.rejected_actions, 1, "asset 7");
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
}

#[test]
fn a_stake_outside_the_rules_groups_or_on_another_asset_is_rejected() {
    let rules = rule(0.0, 0, 0.0).replace(
        "asset = \"TOKEN\"\nrate",
        "asset = \"TOKEN\"\ngroup = \"holders\"\nrate",
    );
    let s = crate::incentives::holders_and(1, 5, SECOND_HOLDER, &rules);
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance_with(&[(1, stake(T))]).unwrap();
    sim.advance_with(&[(
        0,
        Action::Stake {
            asset: 7,
            amount: T,
        },
    )])
    .unwrap();
    assert_eq!(sim.staked(1, 0), 0);
    assert_eq!(sim.ledger().holding(1, 0), 50 * T);
    let out = sim.finish().unwrap();
    assert_eq!(out.summary.ledger.rejected_actions, 2);
}

/// A stake is locked in its own group's row: an agent of the second group
/// stakes 20 of its 50 tokens and then unstakes 5 (unbonding for 3
/// steps); that group's row counts 20, then still 20 (15 staked, 5
/// unbonding), as locked tokens and no locked money, and the first
/// group's row, whose agent stakes nothing, counts none.
#[test]
fn a_stake_is_locked_in_its_own_groups_row() {
    let s = crate::incentives::holders_and(1, 5, SECOND_HOLDER, &rule(0.0, 3, 0.0));
    let mut sim = Simulation::new(&s, 0).unwrap();
    let locked = |sim: &Simulation, g: u32| {
        let row = sim
            .records()
            .groups
            .iter()
            .rev()
            .find(|r| r.group == g)
            .unwrap();
        (row.locked_balance, row.locked_holdings[0], row.holdings[0])
    };
    sim.advance_with(&[(1, stake(20 * T))]).unwrap();
    assert_eq!(locked(&sim, 1), (0, u128::from(20 * T), u128::from(50 * T)));
    assert_eq!(locked(&sim, 0), (0, 0, u128::from(100 * T)));
    sim.advance_with(&[(1, unstake(5 * T))]).unwrap();
    assert_eq!(locked(&sim, 1), (0, u128::from(20 * T), u128::from(50 * T)));
    assert_eq!(locked(&sim, 0), (0, 0, u128::from(100 * T)));
}

/// A `staker` group beside the holders: 4 stakers of 100 TOKEN each.
fn stakers(policy: &str, rules: &str, steps: u64) -> Scenario {
    let more = format!(
        r#"
[[agents]]
group = "stakers"
count = 4
balance = 100.0
holdings = [ {{ asset = "TOKEN", total = 400.0, distribution = "uniform" }} ]
policy = {{ kind = "staker", asset = "TOKEN", {policy} }}
"#
    );
    crate::incentives::holders_and(2, steps, &more, rules)
}

#[test]
fn a_staker_stakes_its_share_while_the_rate_is_high_enough_and_leaves_when_the_budget_ends() {
    // 0.01 a token a step on 4 × 50 staked = 2 a step: a budget of 7
    // pays steps 2, 3, 4 in full and the 1 left pro rata at step 5 (0.25
    // each); the rule is then exhausted and the stakers, deciding after
    // the govern phase, unstake everything at step 5, back at 5 + 3 = 8
    let s = stakers("share = 0.5, min_rate = 0.005", &rule(0.01, 3, 7.0), 12);
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    for a in 2..6 {
        assert_eq!(sim.staked(a, 0), u128::from(50 * T), "agent {a}");
        assert_eq!(sim.ledger().holding(a, 0), 50 * T);
    }
    // the holders (random traders) do not stake
    assert_eq!(sim.staked(0, 0), 0);
    for _ in 2..=4 {
        sim.advance().unwrap();
    }
    assert_eq!(sim.ledger().balance(2), 100 * T + 3 * 500_000_000);
    sim.advance().unwrap();
    assert_eq!(
        sim.ledger().balance(2),
        100 * T + 3 * 500_000_000 + 250_000_000
    );
    for t in 5..8 {
        assert_eq!(sim.ledger().holding(2, 0), 50 * T, "unbonding at step {t}");
        assert_eq!(sim.staked(2, 0), u128::from(50 * T));
        sim.advance().unwrap();
    }
    assert_eq!(sim.ledger().holding(2, 0), 100 * T, "back at step 8");
    assert_eq!(sim.staked(2, 0), 0);
    let out = sim.finish().unwrap();
    let r = &out.summary.incentives["stake"];
    assert_eq!(r.budget_exhausted_step, Some(5));
    assert_eq!(r.paid, 7.0);
    assert_eq!(r.recipients, 4);

    // a rate below the staker's least: it never stakes
    let s = stakers("share = 0.5, min_rate = 0.02", &rule(0.01, 3, 7.0), 5);
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    assert_eq!(out.summary.incentives["stake"].paid, 0.0);
    assert_eq!(out.summary.incentives["stake"].staked, Some(0.0));
}

#[test]
fn stakers_with_traders_conserve_and_are_byte_identical_at_one_and_four_threads() {
    let mut text = agora::scenario::example("incentives")
        .unwrap()
        .to_table()
        .clone();
    let group: toml::Table = toml::from_str(
        r#"
group = "stakers"
count = 300
balance = 500.0
holdings = [ { asset = "AGT", total = 6000.0, distribution = "uniform" } ]
policy = { kind = "staker", asset = "AGT", share = 0.8, min_rate = 0.001, exit_drawdown = 0.1, lookback = 5 }
"#,
    )
    .unwrap();
    let rule: toml::Table = toml::from_str(
        r#"
name = "open_stake"
kind = "staking"
asset = "AGT"
group = "stakers"
rate = 0.002
unbonding = 3
funding = { kind = "treasury", currency = "money", amount = 400.0 }
"#,
    )
    .unwrap();
    if let Some(toml::Value::Array(groups)) = text.get_mut("agents") {
        groups.push(toml::Value::Table(group));
    }
    if let Some(toml::Value::Array(rules)) = text.get_mut("incentives") {
        rules.push(toml::Value::Table(rule));
    }
    let mut s = Scenario::from_table(text, "stakers", &Default::default()).unwrap();
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
                assert!(out.summary.incentives["open_stake"].paid > 0.0);
                let flows: Vec<Flow> = out.records.incentives.iter().map(|r| r.flow).collect();
                assert!(flows.contains(&Flow::Stake) && flows.contains(&Flow::Reward));
                agora::output::run_files(&s, &[out]).unwrap()
            })
    };
    assert_eq!(render(1), render(4));
}

/// A group of `count` bandit learners holding 100 tokens each whose
/// actions stake half their tokens, unstake all their stake or hold.
fn stake_learners(group: &str, count: u32) -> String {
    format!(
        r#"
[[agents]]
group = "{group}"
count = {count}
balance = 100.0
holdings = [ {{ asset = "TOKEN", total = {total:?}, distribution = "uniform" }} ]
policy = {{ kind = "bandit", asset = "TOKEN", actions = [{{ stake = 0.5 }}, {{ unstake = 1.0 }}, "hold"], algorithm = "epsilon_greedy", epsilon = 0.2 }}
objective = {{ kind = "final_wealth" }}
"#,
        total = 100.0 * f64::from(count)
    )
}

#[test]
fn a_learner_names_stake_and_unstake_actions() {
    let more = stake_learners("learners", 3);
    let s = crate::incentives::holders_and(2, 40, &more, &rule(0.01, 2, 100.0));
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let flows: Vec<Flow> = out.records.incentives.iter().map(|r| r.flow).collect();
    assert!(flows.contains(&Flow::Stake));
    assert!(flows.contains(&Flow::Unstake));
    assert!(out.summary.incentives["stake"].paid > 0.0);
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
    // and the builder writes the learner, the rule without a share and
    // a staker back
    round_trips(&s);
    round_trips(&stakers(
        "share = 0.5, min_rate = 0.005, exit_drawdown = 0.3",
        &rule(0.01, 2, 100.0),
        10,
    ));
}

#[test]
fn a_learner_unstakes_its_whole_stake_of_the_staking_rule_when_another_rule_is_listed_first() {
    // A holding reward on the same asset, open to every agent, listed before
    // the staking rule: a learner's unstake must find its stake in the
    // staking rule (rule 1), not in the first rule it is eligible for, which
    // holds no stake.
    let more = stake_learners("learner", 1);
    let hold = r#"
[[incentives]]
name = "hold"
kind = "holding_reward"
asset = "TOKEN"
rate = 0.0001
funding = { kind = "treasury", currency = "money", amount = 10.0 }
"#;
    let s =
        crate::incentives::holders_and(2, 60, &more, &format!("{hold}{}", rule(0.01, 2, 100.0)));
    assert_eq!(s.incentives()[0].name, "hold");
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    // One learner, so the rule's rows (summed over agents) are its own:
    // replay its active stake; `{ unstake = 1.0 }` takes all of it.
    let (mut active, mut unstakes) = (0u128, 0);
    for r in &out.records.incentives {
        match r.flow {
            Flow::Stake => {
                assert_eq!((r.rule, r.agents), (1, 1), "{r:?}");
                active += r.amount;
            }
            Flow::Unstake => {
                assert_eq!((r.rule, r.agents), (1, 1), "{r:?}");
                assert!(r.amount > 0 && r.amount == active, "{r:?}, stake {active}");
                active = 0;
                unstakes += 1;
            }
            _ => {}
        }
    }
    assert!(unstakes >= 3, "{unstakes} unstakes");
    assert!(out.summary.incentives["hold"].paid > 0.0);
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
}

/// `s` built again through the builder reads the same rules and runs the
/// same (shared with `incentives`).
pub(crate) fn round_trips(s: &Scenario) {
    let mut b = Scenario::builder()
        .steps(s.simulation().steps)
        .seed(s.simulation().seed);
    for a in s.assets() {
        b = b.asset(a.clone());
    }
    for g in s.groups() {
        b = b.group(g.clone());
    }
    for r in s.incentives() {
        b = b.incentive(r.clone());
    }
    let built = b.build().unwrap();
    assert_eq!(built.incentives(), s.incentives());
    let run = |s: &Scenario| Simulation::new(s, 0).unwrap().run().unwrap().summary;
    assert_eq!(run(&built), run(s));
}

#[test]
fn bad_staking_input_is_a_one_line_error_naming_the_field() {
    let err = |more: &str, rules: &str| {
        let text = format!(
            r#"
[simulation]
steps = 5
seed = 1

[[assets]]
name = "TOKEN"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}

[[assets]]
name = "OTHER"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}

[[agents]]
group = "g"
count = 1
balance = 1.0
{more}

{rules}
"#
        );
        let e = Scenario::from_toml_str(&text, "s.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    };
    let on_token = rule(0.01, 1, 1.0);
    // a staker of an asset without a staking rule
    let e = err(
        r#"policy = { kind = "staker", asset = "OTHER", share = 0.5 }"#,
        &on_token,
    );
    assert!(
        e.contains("s.toml") && e.contains("agents.g.policy.asset"),
        "{e}"
    );
    assert!(e.contains("staking"), "{e}");
    // a staker outside the rule's group
    let e = err(
        r#"policy = { kind = "staker", asset = "TOKEN", share = 0.5 }

[[agents]]
group = "h"
count = 1
balance = 1.0
policy = { kind = "staker", asset = "TOKEN", share = 0.5 }"#,
        &on_token.replace(
            "asset = \"TOKEN\"\nrate",
            "asset = \"TOKEN\"\ngroup = \"g\"\nrate",
        ),
    );
    assert!(e.contains("agents.h.policy.asset"), "{e}");
    // a negative share, drawdown or rate
    for (policy, key) in [
        ("share = -0.5", "policy.share"),
        ("share = 0.5, exit_drawdown = -0.1", "policy.exit_drawdown"),
        ("share = 0.5, min_rate = -1.0", "policy.min_rate"),
    ] {
        let e = err(
            &format!(r#"policy = {{ kind = "staker", asset = "TOKEN", {policy} }}"#),
            &on_token,
        );
        assert!(e.contains(key), "{e}");
    }
    // a learner's stake action on an asset without a staking rule, and a
    // negative share to stake
    let e = err(
        r#"policy = { kind = "bandit", asset = "OTHER", actions = [{ stake = 0.5 }, "hold"], algorithm = "ucb1" }"#,
        &on_token,
    );
    assert!(e.contains("agents.g.policy.asset"), "{e}");
    let e = err(
        r#"policy = { kind = "bandit", asset = "TOKEN", actions = [{ unstake = -0.5 }, "hold"], algorithm = "ucb1" }"#,
        &on_token,
    );
    assert!(e.contains("actions[0].unstake"), "{e}");
}
