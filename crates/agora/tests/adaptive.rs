//! Adaptive policies: per-agent state held by the engine, several actions
//! per step, and the learn phase's feedback (fills, open orders, reward,
//! next observation), checked against the ledger's accounts and the run's
//! own per-agent records.

use agora::agents::{
    Action, Actions, AdaptivePolicy, AgentRng, AgentView, Feedback, GroupPolicy, Observation, Side,
};
use agora::ledger::trades::TradeKind;
use agora::ledger::SCALE;
use agora::scenario::{Fields, PolicyRegistry, Range};
use agora::{Scenario, Simulation};
use rand::RngExt;

/// Trades on asset 0 at random (sometimes a buy and a sell in one step) and
/// keeps what the feedback tells it.
#[derive(Debug)]
struct Tracker;

#[derive(Debug, Clone, PartialEq, Default)]
struct Kept {
    /// Fills seen.
    fills: u64,
    /// Money received less money paid, base units.
    money: i128,
    /// Tokens received less tokens given, base units.
    tokens: i128,
    /// The reward of each step learned.
    rewards: Vec<f64>,
    /// The fills of each step learned.
    per_step: Vec<u64>,
    /// Actions pushed per step.
    pushed: Vec<usize>,
    /// The member index and balance `init` saw.
    start: (u32, u64),
}

impl AdaptivePolicy for Tracker {
    type State = Kept;

    fn init(&self, me: &AgentView<'_>) -> Kept {
        Kept {
            start: (me.member, me.balance),
            ..Kept::default()
        }
    }

    fn decide(
        &self,
        state: &mut Kept,
        _obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        let u: f64 = rng.random();
        let buy = Action::Buy {
            asset: 0,
            spend: me.balance / 5,
        };
        let sell = Action::Sell {
            asset: 0,
            amount: me.holdings[0] / 2,
        };
        if u < 0.4 {
            out.push(buy);
        } else if u < 0.7 {
            out.push(sell);
        } else if u < 0.9 {
            // a buy then a sell of half of what it held before the buy
            out.push(buy);
            out.push(sell);
        }
        state.pushed.push(out.len());
    }

    fn learn(&self, state: &mut Kept, feedback: &Feedback<'_>) {
        for f in feedback.fills {
            assert_eq!(f.agent, feedback.me.id);
            assert_eq!(f.step, feedback.step);
            state.fills += 1;
            let (sign, kind) = if f.buy {
                (-1, TradeKind::Mint)
            } else {
                (1, TradeKind::Burn)
            };
            assert_eq!(f.kind, kind);
            state.money += sign * f.money as i128;
            state.tokens -= sign * i128::from(f.quantity);
        }
        assert!(feedback.open_orders.is_empty(), "a curve locks nothing");
        assert_eq!(feedback.obs.step, feedback.step + 1);
        state.rewards.push(feedback.reward);
        state.per_step.push(feedback.fills.len() as u64);
    }

    fn assets(&self) -> Vec<usize> {
        vec![0]
    }
}

/// Run 0 of `s` with its `learners` group played by [`Tracker`].
fn tracked(s: &Scenario) -> Simulation {
    let mut sim = Simulation::new(s, 0).expect("set up");
    sim.set_policy("learners", GroupPolicy::adaptive(Tracker))
        .expect("set");
    sim
}

fn curve_scenario(learners: u32, steps: u64) -> Scenario {
    curve_scenario_with(learners, steps, "")
}

/// [`curve_scenario`] with more lines of `[simulation]`.
fn curve_scenario_with(learners: u32, steps: u64, simulation: &str) -> Scenario {
    Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = {steps}
            seed = 5
            {simulation}
            [[assets]]
            name = "T"
            pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.02 }}
            [[agents]]
            group = "noise"
            count = 20
            balance = 500.0
            policy = {{ kind = "random", asset = "T", p_buy = 0.5, p_sell = 0.4, buy_fraction = 0.2, sell_fraction = 0.5 }}
            [[agents]]
            group = "learners"
            count = {learners}
            balance = 200.0
            holdings = {{ asset = "T", total = 100.0, distribution = "lognormal", sigma = 0.5 }}
            policy = {{ kind = "random", asset = "T", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }}
            [output.agent_steps]
            every = 1
            "#
        ),
        "test",
    )
    .expect("a valid scenario")
}

#[test]
fn a_learner_sees_exactly_its_fills_and_the_change_of_its_wealth() {
    let s = curve_scenario(25, 15);
    let mut sim = Simulation::new(&s, 0).expect("set up");
    let first = 20u32;
    let start: Vec<(u64, u64)> = (first..first + 25)
        .map(|a| (sim.ledger().balance(a), sim.ledger().holding(a, 0)))
        .collect();
    sim.set_policy("learners", GroupPolicy::adaptive(Tracker))
        .expect("set");
    let mut logged = vec![Vec::new(); 25];
    while sim.step() < 15 {
        sim.advance().expect("step");
        for (k, seen) in logged.iter_mut().enumerate() {
            let a = first + k as u32;
            seen.push(sim.trades().iter().filter(|r| r.agent == a).count() as u64);
        }
    }
    let states = sim
        .states::<Tracker>("learners")
        .expect("the learners' states");
    assert_eq!(states.len(), 25);
    assert!(sim.states::<Tracker>("noise").is_none());
    let rows = &sim.records().agent_steps;
    let (mut two, mut fills) = (0, 0);
    for (k, state) in states.iter().enumerate() {
        let a = first + k as u32;
        assert_eq!(state.start, (k as u32, 200 * SCALE));
        // What the fills moved is what the ledger moved, exactly.
        let (balance, holding) = start[k];
        assert_eq!(
            i128::from(balance) + state.money,
            i128::from(sim.ledger().balance(a)),
            "learner {k}'s balance"
        );
        assert_eq!(
            i128::from(holding) + state.tokens,
            i128::from(sim.ledger().holding(a, 0)),
            "learner {k}'s holdings"
        );
        assert_eq!(state.per_step, logged[k], "learner {k}'s fills by step");
        // Each step's reward is the change of the wealth the run records
        // for the agent, to the bit.
        let wealth: Vec<f64> = rows
            .iter()
            .filter(|r| r.agent == a)
            .map(|r| r.wealth)
            .collect();
        assert_eq!(wealth.len(), 16);
        let changes: Vec<f64> = wealth.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(state.rewards, changes, "learner {k}'s rewards");
        two += state.pushed.iter().filter(|&&n| n == 2).count();
        fills += state.fills;
    }
    assert!(two > 20, "{two} steps with two actions");
    assert!(fills > 200, "{fills} fills");
}

/// A policy that is not a greedy learner reports no convergence count
/// (`AdaptivePolicy::stable_for`'s default, `None`): a run whose only
/// adaptive group is such a policy has no count, and `stop = { converged
/// = 1 }` never ends its learning phase, which runs all its `steps`
/// before the evaluation phase's.
#[test]
fn a_policy_without_a_convergence_count_never_ends_learning_early() {
    let s = curve_scenario_with(5, 6, "stop = { converged = 1 }\nevaluation_steps = 2");
    let mut sim = tracked(&s);
    let mut evaluating = vec![sim.evaluating()];
    while !sim.done() {
        sim.advance().expect("step");
        assert_eq!(sim.stable_for(), None, "at step {}", sim.step());
        evaluating.push(sim.evaluating());
    }
    // greedy from the first evaluation step on (once the sixth step has
    // ended the learning), and still once done
    let mut greedy_from_step_6 = vec![false; 6];
    greedy_from_step_6.extend([true; 3]);
    assert_eq!(evaluating, greedy_from_step_6);
    assert!(!sim.converged());
    assert_eq!(sim.step(), 6 + 2);
    let out = sim.finish().expect("end");
    let summary = out.summary.simulation.expect("a simulation summary");
    assert_eq!((summary.learning_steps, summary.steps_run), (6, 8));
}

/// A run finished in its learning phase reports the steps it ran as its
/// learning steps: 3 of a learning phase of 6 (and an evaluation phase of
/// 2 never reached).
#[test]
fn a_run_finished_while_learning_counts_the_steps_it_ran_as_learning() {
    let s = curve_scenario_with(5, 6, "evaluation_steps = 2");
    let mut sim = tracked(&s);
    for _ in 0..3 {
        sim.advance().expect("step");
    }
    assert!(!sim.evaluating() && !sim.done());
    let summary = sim.finish().expect("end").summary.simulation.unwrap();
    assert_eq!((summary.learning_steps, summary.steps_run), (3, 3));
}

/// Without an evaluation phase a run never plays greedily: not while it
/// runs, not once it is done, not stepping on past its end.
#[test]
fn a_run_without_an_evaluation_phase_never_evaluates() {
    let s = curve_scenario(5, 3);
    let mut sim = tracked(&s);
    assert!(!sim.evaluating());
    while !sim.done() {
        sim.advance().expect("step");
        assert!(!sim.evaluating(), "at step {}", sim.step());
    }
    assert_eq!(sim.step(), 3);
    sim.advance().expect("a step past the end");
    assert!(!sim.evaluating());
}

#[test]
fn learners_decide_and_learn_the_same_at_one_and_four_threads() {
    // 2,500 learners: three parallel chunks.
    let s = curve_scenario(2500, 6);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
            .install(|| {
                let mut sim = Simulation::new(&s, 0).expect("set up");
                sim.set_policy("learners", GroupPolicy::adaptive(Tracker))
                    .expect("set");
                while sim.step() < 6 {
                    sim.advance().expect("step");
                }
                let states = sim.states::<Tracker>("learners").expect("states").to_vec();
                (states, sim.finish().expect("end"))
            })
    };
    let (one, four) = (run(1), run(4));
    assert_eq!(one.0, four.0);
    assert_eq!(one.1.records, four.1.records);
    assert_eq!(one.1.summary, four.1.summary);
    assert!(one.0.iter().map(|s| s.fills).sum::<u64>() > 2500);
}

/// Every step: cancels its orders and quotes a new bid (`requote`), or the
/// same two actions the other way round.
#[derive(Debug)]
struct Requoter {
    price: f64,
    cancel_first: bool,
}

#[derive(Debug, Default, Clone)]
struct Quoted {
    /// Per step: (open orders on asset 0, money locked) after the step.
    open: Vec<(usize, u64)>,
}

impl AdaptivePolicy for Requoter {
    type State = Quoted;

    fn init(&self, _: &AgentView<'_>) -> Quoted {
        Quoted::default()
    }

    fn decide(
        &self,
        _: &mut Quoted,
        obs: &Observation<'_>,
        _: &AgentView<'_>,
        _: &mut AgentRng,
        out: &mut Actions,
    ) {
        // a lower bid every step: price − step/10
        let bid = Action::Limit {
            asset: 0,
            side: Side::Buy,
            price: ((self.price - obs.step as f64 / 10.0) * SCALE as f64) as u64,
            amount: 2 * SCALE,
            ttl: 100,
        };
        let cancel = Action::Cancel { asset: 0 };
        if self.cancel_first {
            out.push(cancel);
            out.push(bid);
        } else {
            out.push(bid);
            out.push(cancel);
        }
    }

    fn learn(&self, state: &mut Quoted, feedback: &Feedback<'_>) {
        let money = feedback.open_orders.iter().map(|o| o.money).sum();
        state.open.push((feedback.open_on(0), money));
    }
}

#[test]
fn a_cancel_then_a_new_quote_leaves_the_new_quote_alone_on_the_book() {
    let mut registry = PolicyRegistry::new();
    registry
        .register_adaptive("requote", |f: &mut Fields<'_>, _: &[String]| {
            Ok(Requoter {
                price: f.number("price", Range::Positive)?,
                cancel_first: f.string("order")? == "cancel_first",
            })
        })
        .expect("registered");
    let s = Scenario::from_toml_str_with(
        r#"
        [simulation]
        steps = 5
        seed = 3
        [[assets]]
        name = "G"
        pricing = { kind = "order_book", tick_size = 0.01, lot_size = 0.01, initial_price = 10.0 }
        [[agents]]
        group = "requoters"
        count = 3
        balance = 1000.0
        policy = { kind = "requote", price = 9.0, order = "cancel_first" }
        [[agents]]
        group = "backwards"
        count = 2
        balance = 1000.0
        policy = { kind = "requote", price = 9.0, order = "quote_first" }
        "#,
        "test",
        &registry,
    )
    .expect("a valid scenario");
    let mut sim = Simulation::new(&s, 0).expect("set up");
    while sim.step() < 5 {
        sim.advance().expect("step");
        // Only the three requoters' last bids rest: 2 tokens at 9 − t/10.
        let t = sim.step();
        let locked = 3 * 2 * (90 - t) * SCALE / 10;
        assert_eq!(sim.ledger().books(0).escrow_money, u128::from(locked));
        assert_eq!(
            sim.records().assets.last().unwrap().best_bid,
            Some(9.0 - t as f64 / 10.0)
        );
    }
    let requoters = sim.states::<Requoter>("requoters").expect("states");
    for q in requoters {
        let expected: Vec<(usize, u64)> = (1..=5).map(|t| (1, 2 * (90 - t) * SCALE / 10)).collect();
        assert_eq!(q.open, expected);
    }
    for q in sim.states::<Requoter>("backwards").expect("states") {
        assert_eq!(q.open, vec![(0, 0); 5]);
    }
    for a in 0..5 {
        assert_eq!(
            sim.ledger().balance(a),
            1000 * SCALE - if a < 3 { 2 * 85 * SCALE / 10 } else { 0 }
        );
    }
}

#[test]
fn reset_starts_the_states_afresh_and_an_outside_action_replaces_all_of_an_agents() {
    let s = curve_scenario(5, 4);
    let mut sim = tracked(&s);
    let run = |sim: &mut Simulation| {
        while sim.step() < 4 {
            sim.advance().expect("step");
        }
        sim.states::<Tracker>("learners").expect("states").to_vec()
    };
    let first = run(&mut sim);
    sim.reset(0).expect("reset");
    assert!(sim
        .states::<Tracker>("learners")
        .expect("states")
        .iter()
        .all(|k| k.rewards.is_empty()));
    assert_eq!(run(&mut sim), first, "run 0 again, from fresh states");
    // Learner 0 (agent 20) is made to hold at step 1, whatever it pushed.
    sim.reset(0).expect("reset");
    let pushed_before = first[0].pushed[0];
    assert!(pushed_before > 0, "agent 20 acts at step 1 on its own");
    sim.advance_with(&[(20, Action::Hold)]).expect("step 1");
    assert!(sim.trades().iter().all(|r| r.agent != 20));
    let k = &sim.states::<Tracker>("learners").expect("states")[0];
    assert_eq!((k.per_step[0], k.fills), (0, 0));
    assert_eq!(sim.ledger().balance(20), 200 * SCALE);
}

/// Holds, and keeps the objective each step's feedback brings; declares
/// that it does not read its reward.
#[derive(Debug)]
struct Deaf;

impl AdaptivePolicy for Deaf {
    type State = Vec<(u64, f64)>;

    fn init(&self, _me: &AgentView<'_>) -> Self::State {
        Vec::new()
    }

    fn decide(
        &self,
        _state: &mut Self::State,
        _obs: &Observation<'_>,
        _me: &AgentView<'_>,
        _rng: &mut AgentRng,
        _out: &mut Actions,
    ) {
    }

    fn learn(&self, state: &mut Self::State, feedback: &Feedback<'_>) {
        state.push((feedback.step, feedback.objective));
    }

    fn uses_reward(&self) -> bool {
        false
    }

    fn uses_fills(&self) -> bool {
        false
    }
}

/// Runs 12 steps of 20 noise traders on a linear curve beside two `Deaf`
/// holders (agents 20 and 21), rows every 4 steps and `extra` added to
/// `[simulation]`; returns the run and each holder's wealth after each
/// step (its balance and its tokens at the price, from the ledger).
fn run_deaf(extra: &str) -> (Simulation, Vec<Vec<f64>>) {
    run_deaf_for(12, extra)
}

/// [`run_deaf`] over `steps` steps.
fn run_deaf_for(steps: u64, extra: &str) -> (Simulation, Vec<Vec<f64>>) {
    run_deaf_with(steps, extra, "")
}

/// [`run_deaf_for`] with `tail` (say, events) after the groups.
fn run_deaf_with(steps: u64, extra: &str, tail: &str) -> (Simulation, Vec<Vec<f64>>) {
    let s = Scenario::from_toml_str(
        &format!(
            r#"
        [simulation]
        steps = {steps}
        seed = 5
        record_every = 4
        {extra}
        [[assets]]
        name = "T"
        pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.02 }}
        [[agents]]
        group = "noise"
        count = 20
        balance = 500.0
        policy = {{ kind = "random", asset = "T", p_buy = 0.5, p_sell = 0.4, buy_fraction = 0.2, sell_fraction = 0.5 }}
        [[agents]]
        group = "deaf"
        count = 2
        balance = 200.0
        holdings = {{ asset = "T", total = 10.0, distribution = "uniform" }}
        policy = {{ kind = "random", asset = "T", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }}
        {tail}
        "#
        ),
        "test",
    )
    .unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.set_policy("deaf", GroupPolicy::adaptive(Deaf)).unwrap();
    let mut wealth = vec![Vec::new(); 2];
    while sim.step() < steps {
        sim.advance().unwrap();
        for (k, w) in wealth.iter_mut().enumerate() {
            let a = 20 + k as u32;
            let (balance, held) = (sim.ledger().balance(a), sim.ledger().holding(a, 0));
            w.push(balance as f64 / SCALE as f64 + held as f64 / SCALE as f64 * sim.price(0));
        }
    }
    (sim, wealth)
}

/// Checks that each `Deaf` holder of `sim` saw steps 1 to `steps`, its
/// objective its wealth (from `wealth`, as [`run_deaf`] gives it) at the
/// steps `measured` names and NaN at the others.
fn assert_measured_at(
    sim: &Simulation,
    wealth: &[Vec<f64>],
    steps: u64,
    measured: impl Fn(u64) -> bool,
) {
    let states = sim.states::<Deaf>("deaf").unwrap();
    assert_eq!(states.len(), wealth.len());
    for (k, seen) in states.iter().enumerate() {
        let seen_steps: Vec<u64> = seen.iter().map(|s| s.0).collect();
        assert_eq!(seen_steps, (1..=steps).collect::<Vec<_>>());
        for &(t, objective) in seen {
            if measured(t) {
                let w = wealth[k][t as usize - 1];
                assert!(
                    (objective - w).abs() <= 1e-9 * w,
                    "agent {k}, step {t}: {objective} vs {w}"
                );
            } else {
                assert!(objective.is_nan(), "agent {k}, step {t}: {objective}");
            }
        }
    }
}

/// A policy that does not read its reward has its objective measured only
/// on the steps whose rows are recorded and the step before each, as
/// `AdaptivePolicy::uses_reward` says; NaN on the others. With rows every
/// 4 steps over 12: measured at 3, 4, 7, 8, 11 and 12, where it is the
/// agent's wealth (it holds: its balance and its tokens at the price).
#[test]
fn a_policy_that_does_not_read_its_reward_sees_its_objective_only_around_recorded_steps() {
    let (sim, wealth) = run_deaf("");
    assert_measured_at(&sim, &wealth, 12, |t| t % 4 == 0 || (t + 1) % 4 == 0);
}

/// The last step's row is recorded even off the `record_every` grid, so a
/// policy that does not read its reward is measured there and at the step
/// before, as around every recorded row: over 10 steps with rows every 4,
/// at 3, 4, 7, 8, 9 and 10; NaN at the others.
#[test]
fn the_last_step_off_the_rows_grid_is_measured_with_the_step_before() {
    let (sim, wealth) = run_deaf_for(10, "");
    assert_measured_at(&sim, &wealth, 10, |t| [3, 4, 7, 8, 9, 10].contains(&t));
}

/// A group that leaves is measured at its last step too, whose objective
/// no later step will give: holders leaving at step 6, rows every 4
/// steps, are measured at 3 and 4 (around the row of 4) and at 5, their
/// last; NaN at 1 and 2; and they learn nothing after 5.
#[test]
fn a_group_is_measured_at_its_last_step_before_it_leaves() {
    let leave = "[[events]]\n        kind = \"leave\"\n        group = \"deaf\"\n        at = 6";
    let (sim, wealth) = run_deaf_with(12, "", leave);
    assert_measured_at(&sim, &wealth, 5, |t| (3..=5).contains(&t));
}

/// With a convergence stop the learning phase may end at any step, and an
/// evaluation phase of one step records the step it ends at: so a policy
/// that does not read its reward has its objective measured at every
/// learning step, not only around the recorded ones (rows every 4 steps
/// here, as in the test above, which gives NaN between them).
#[test]
fn with_a_convergence_stop_an_objective_is_measured_at_every_learning_step() {
    let (sim, wealth) = run_deaf("stop = { converged = 100 }\n        evaluation_steps = 1");
    assert_measured_at(&sim, &wealth, 12, |_| true);
}
