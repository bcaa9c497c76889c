//! The built-in learners (`q_learning`, `bandit`, `policy_gradient`)
//! inside simulations: on every kind of market, exactly as the textbook
//! update on each agent's own experience, one state per agent, the same at
//! one and four threads, continuing exactly after a round trip of their
//! state, and their mean reward recorded per group and step.

use agora::agents::learning::{BanditPolicy, PolicyGradientPolicy, QLearningPolicy};
use agora::engine::SimState;
use agora::ledger::trades::TradeKind;
use agora::output::agent_columns;
use agora::{Scenario, Simulation};

/// Six assets, one of each kind of market: a curve, an order book, a call
/// auction, a Walrasian equilibrium, a price-adjustment market and a
/// resource.
const MARKETS: &str = r#"
[simulation]
steps = STEPS
seed = 3

[[assets]]
name = "CURVE"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.0005, b = 1.0, fee = 0.003 }

[[assets]]
name = "BOOK"
pricing = { kind = "order_book", tick_size = 0.01, lot_size = 0.01, initial_price = 10.0 }

[[assets]]
name = "AUCTION"
pricing = { kind = "call_auction", tick_size = 0.01, lot_size = 0.01, initial_price = 10.0 }

[[assets]]
name = "EQ"
pricing = { kind = "equilibrium", demand = { shape = "linear", a = 100.0, b = 2.0 }, supply = { shape = "linear", c = 10.0, d = 1.0 }, lot_size = 0.01 }

[[assets]]
name = "ADJ"
pricing = { kind = "price_adjustment", rule = "linear", lambda = 0.05, initial_price = 25.0, min_price = 0.01, demand = { shape = "linear", a = 100.0, b = 2.0 }, supply = { shape = "linear", c = 10.0, d = 1.0 }, lot_size = 0.01 }

[[assets]]
name = "CPU"
kind = "resource"
capacity = 40.0
allocation = "proportional"
pricing = { kind = "fixed", price = 1.0 }

[[agents]]
group = "noise"
count = 100
balance = 1000.0
policy = { kind = "random", asset = "CURVE", p_buy = 0.4, p_sell = 0.3, buy_fraction = 0.05, sell_fraction = 0.1 }

[[agents]]
group = "makers"
count = 10
balance = 5000.0
holdings = { asset = "BOOK", total = 2000.0, distribution = "uniform" }
policy = { kind = "market_maker", asset = "BOOK", spread = 0.02, size = 2.0, max_inventory = 400.0 }

[[agents]]
group = "auction_value"
count = 40
balance = 1000.0
holdings = { asset = "AUCTION", total = 2000.0, distribution = "uniform" }
policy = { kind = "fundamental", asset = "AUCTION", value = { distribution = "normal", mean = 10.0, std = 1.0 }, buy_fraction = 0.1, sell_fraction = 0.1 }

[[agents]]
group = "consumers"
count = 30
balance = 500.0
policy = { kind = "consumer", asset = "CPU", need = { distribution = "constant", value = 1.0 }, value = 3.0 }
"#;

/// The actions a learner takes on each asset of [`MARKETS`].
fn actions(asset: &str) -> &'static str {
    match asset {
        "CURVE" => r#"["hold", { buy = 0.1 }, { sell = 0.2 }]"#,
        "CPU" => {
            r#"["hold", { request = 1.0, max_price = 2.0 }, { request = 3.0, max_price = 2.0 }]"#
        }
        _ => {
            r#"["hold", { buy = 0.05 }, { sell = 0.1 }, { bid = -0.01, size = 1.0 }, { ask = 0.01, size = 1.0 }]"#
        }
    }
}

const ASSETS: [&str; 6] = ["CURVE", "BOOK", "AUCTION", "EQ", "ADJ", "CPU"];

/// The fields of each learner kind, after its asset and actions.
const KINDS: [(&str, &str); 5] = [
    (
        "q",
        r#"kind = "q_learning", alpha = 0.2, delta = 0.9, epsilon = 0.2, memory = 1, trend = 5, position = true"#,
    ),
    (
        "eps",
        r#"kind = "bandit", algorithm = "epsilon_greedy", epsilon = 0.1"#,
    ),
    ("ucb", r#"kind = "bandit", algorithm = "ucb1""#),
    (
        "ts",
        r#"kind = "bandit", algorithm = "thompson", likelihood = "bernoulli""#,
    ),
    (
        "pg",
        r#"kind = "policy_gradient", learning_rate = 0.05, memory = 2, position = true"#,
    ),
];

/// [`MARKETS`] with a group of `count` learners of each kind of [`KINDS`]
/// on each asset, named `KIND_ASSET`.
fn markets(count: u32, steps: u64) -> Scenario {
    let mut text = MARKETS.replace("STEPS", &steps.to_string());
    for asset in ASSETS {
        for (name, fields) in KINDS {
            let holdings = if asset == "CPU" {
                String::new()
            } else {
                format!(
                    "holdings = {{ asset = \"{asset}\", total = {}, distribution = \"uniform\" }}\n",
                    20 * count
                )
            };
            text += &format!(
                "\n[[agents]]\ngroup = \"{name}_{asset}\"\ncount = {count}\nbalance = 500.0\n{holdings}\
                 policy = {{ asset = \"{asset}\", actions = {}, {fields} }}\n",
                actions(asset)
            );
        }
    }
    Scenario::from_toml_str(&text, "markets.toml").expect("a valid scenario")
}

/// Runs `s` to its end, counting the trades each group's agents take part
/// in (from their side).
fn run_counting(s: &Scenario) -> (agora::RunOutput, Vec<u64>) {
    let mut sim = Simulation::new(s, 0).expect("set up");
    let starts: Vec<u32> = s
        .groups()
        .iter()
        .scan(0u32, |next, g| {
            let first = *next;
            *next += g.count;
            Some(first)
        })
        .collect();
    let group_of = |agent: u32| starts.partition_point(|&f| f <= agent) - 1;
    let mut trades = vec![0u64; s.groups().len()];
    while sim.step() < s.simulation().steps {
        sim.advance().expect("a step");
        for r in sim.trades() {
            trades[group_of(r.agent)] += 1;
        }
    }
    (sim.finish().expect("end"), trades)
}

/// Every learner kind on every kind of market acts (its trades, orders,
/// requests fill), money and tokens are conserved to the base unit, and
/// the group's mean reward is recorded at every step.
#[test]
fn every_learner_kind_trades_on_every_kind_of_market_and_money_is_conserved() {
    let s = markets(8, 30);
    let (out, trades) = run_counting(&s);
    // The engine checks conservation after every step (a run that breaks
    // it is an error); the summary reports what it found.
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    for (g, group) in s.groups().iter().enumerate() {
        assert!(
            trades[g] > 0,
            "{}: its agents took part in no trade over 30 steps",
            group.name
        );
        let learns = group.policy.as_adaptive().is_some();
        let rewards: Vec<Option<f64>> = out
            .records
            .groups
            .iter()
            .filter(|r| r.group as usize == g)
            .map(|r| r.mean_reward)
            .collect();
        assert_eq!(rewards.len(), 31);
        assert!(rewards[0].is_none(), "no reward at step 0");
        if learns {
            assert!(
                rewards[1..].iter().all(|r| r.is_some_and(f64::is_finite)),
                "{}: {rewards:?}",
                group.name
            );
        } else {
            assert!(rewards.iter().all(Option::is_none), "{}", group.name);
        }
    }
    let header = agent_columns(&s);
    assert_eq!(header.last().map(String::as_str), Some("mean_reward"));
}

/// A learner's reward is the change of its wealth; the recorded mean reward
/// is the mean, over the group's agents, of the changes of the wealth the
/// run records for each of them (agents in order: the same sum, to the
/// bit).
#[test]
fn the_recorded_mean_reward_is_the_mean_change_of_the_agents_wealth() {
    let mut text = markets(5, 12).to_table().clone();
    let mut output = toml::Table::new();
    output.insert("agent_steps".into(), toml::Value::Table(toml::Table::new()));
    text.insert("output".into(), toml::Value::Table(output));
    let s = Scenario::from_table(text, "markets.toml", &Default::default()).expect("valid");
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let mut checked = 0;
    for (g, group) in s.groups().iter().enumerate() {
        if group.policy.as_adaptive().is_none() {
            continue;
        }
        for t in 1..=12u64 {
            let wealth = |step: u64| -> Vec<f64> {
                out.records
                    .agent_steps
                    .iter()
                    .filter(|r| r.group as usize == g && r.step == step)
                    .map(|r| r.wealth)
                    .collect()
            };
            let (before, now) = (wealth(t - 1), wealth(t));
            assert_eq!(before.len(), group.count as usize);
            let mut sum = 0.0;
            for (b, n) in before.iter().zip(&now) {
                sum += n - b;
            }
            let recorded = out
                .records
                .groups
                .iter()
                .find(|r| r.group as usize == g && r.step == t)
                .and_then(|r| r.mean_reward);
            assert_eq!(
                recorded,
                Some(sum / group.count as f64),
                "{} at step {t}",
                group.name
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 30 * 12);
}

/// One curve, noise traders and 30 Q-learners choosing among buy 10%,
/// hold and sell 10%, seeing the last two price moves in three bins.
const Q_ON_A_CURVE: &str = r#"
[simulation]
steps = 40
seed = 17

[[assets]]
name = "T"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.002 }

[[agents]]
group = "noise"
count = 200
balance = 1000.0
policy = { kind = "random", asset = "T", p_buy = 0.4, p_sell = 0.4, buy_fraction = 0.05, sell_fraction = 0.1 }

[[agents]]
group = "learners"
count = 30
balance = 1000.0
holdings = { asset = "T", total = 6000.0, distribution = "uniform" }
policy = { kind = "q_learning", asset = "T", actions = [{ buy = 0.1 }, "hold", { sell = 0.1 }], alpha = 0.3, delta = 0.8, epsilon = 0.3, memory = 2, bins = 3, scale = 0.005, q0 = 0.5 }

[output.agent_steps]
"#;

/// Each agent's Q-table after a run is the textbook update applied to its
/// own experience, recomputed here independently from the run's records:
/// the state from the recorded prices (the last two returns, each cut into
/// three bins over [−0.5%, 0.5%]), the action from the agent's trades (a
/// mint is a buy, a burn a sell, none a hold), the reward from its recorded
/// wealth, and `Q(s, a) ← (1 − α) Q(s, a) + α (r + δ max Q(s', ·))`.
#[test]
fn each_q_table_is_the_textbook_update_on_the_agents_own_experience() {
    let s = Scenario::from_toml_str(Q_ON_A_CURVE, "q.toml").unwrap();
    let (alpha, delta, scale, q0) = (0.3, 0.8, 0.005, 0.5);
    let steps = 40u64;
    let mut sim = Simulation::new(&s, 0).unwrap();
    let first = 200u32;
    let mut actions = vec![Vec::new(); 30];
    while sim.step() < steps {
        sim.advance().unwrap();
        for (k, taken) in actions.iter_mut().enumerate() {
            let mine: Vec<_> = sim
                .trades()
                .iter()
                .filter(|r| r.agent == first + k as u32)
                .collect();
            assert!(mine.len() <= 1, "one action a step");
            taken.push(match mine.first().map(|r| r.kind) {
                Some(TradeKind::Mint) => 0,
                None => 1,
                Some(TradeKind::Burn) => 2,
                Some(other) => panic!("a curve trade is a mint or a burn, not {other:?}"),
            });
        }
    }
    let tables: Vec<Vec<f64>> = sim
        .states::<QLearningPolicy>("learners")
        .expect("the learners' states")
        .iter()
        .map(|st| st.learner.table().to_vec())
        .collect();
    let out = sim.finish().unwrap();
    let prices: Vec<f64> = out.records.assets.iter().map(|r| r.price).collect();
    assert_eq!(prices.len(), steps as usize + 1);
    // The state after the prices of steps 0..=t: the returns of the last
    // two steps, the most recent the least significant digit.
    let bin = |r: f64| ((((r + scale) / (2.0 * scale)) * 3.0).floor().max(0.0) as usize).min(2);
    let state_after = |t: usize| -> usize {
        let ret = |l: usize| {
            if t >= l {
                prices[t + 1 - l] / prices[t - l] - 1.0
            } else {
                0.0
            }
        };
        bin(ret(1)) + 3 * bin(ret(2))
    };
    let mut seen_states = std::collections::BTreeSet::new();
    for (k, table) in tables.iter().enumerate() {
        let agent = first + k as u32;
        let wealth: Vec<f64> = out
            .records
            .agent_steps
            .iter()
            .filter(|r| r.agent == agent)
            .map(|r| r.wealth)
            .collect();
        let mut q = vec![q0; 9 * 3];
        for t in 1..=steps as usize {
            let (st, next) = (state_after(t - 1), state_after(t));
            seen_states.insert(st);
            let a = actions[k][t - 1];
            let reward = wealth[t] - wealth[t - 1];
            let best = q[next * 3..next * 3 + 3]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            let old = q[st * 3 + a];
            q[st * 3 + a] = (1.0 - alpha) * old + alpha * (reward + delta * best);
        }
        assert_eq!(table, &q, "learner {k}'s table");
    }
    // The run visits several states and the agents chose differently.
    assert!(seen_states.len() >= 4, "{seen_states:?}");
    assert!(tables.iter().any(|t| t != &tables[0]));
    let pulled: std::collections::BTreeSet<usize> = actions.iter().flatten().copied().collect();
    assert_eq!(pulled.len(), 3, "every action taken");
}

/// State lives with the agent: 200 learners in one group and the same 200
/// split into two groups of 100 (the same agents, with the same streams)
/// run the same market and end with the same tables, each agent having
/// learned once a step from its own experience. State shared by a group
/// would learn 100 or 200 times a step and differ between the layouts.
#[test]
fn each_agent_keeps_its_own_state_whatever_its_group() {
    let whole = Q_ON_A_CURVE
        .replace("count = 30", "count = 200")
        .replace("total = 6000.0", "total = 40000.0")
        .replace("[output.agent_steps]", "");
    let split = whole
        .replace(
            "group = \"learners\"\ncount = 200",
            "group = \"learners\"\ncount = 100",
        )
        .replace("total = 40000.0", "total = 20000.0");
    let second = split
        .split("[[agents]]\ngroup = \"learners\"")
        .nth(1)
        .expect("the learners' group")
        .to_string();
    let split = format!("{split}\n[[agents]]\ngroup = \"learners_b\"{second}");
    let run = |text: &str, groups: &[&str]| {
        let s = Scenario::from_toml_str(text, "t.toml").unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        while sim.step() < 40 {
            sim.advance().unwrap();
        }
        let states: Vec<_> = groups
            .iter()
            .flat_map(|g| sim.states::<QLearningPolicy>(g).expect("states").to_vec())
            .collect();
        (states, sim.finish().unwrap().records.assets)
    };
    let (one, assets_one) = run(&whole, &["learners"]);
    let (two, assets_two) = run(&split, &["learners", "learners_b"]);
    assert_eq!(one.len(), 200);
    assert_eq!(one, two);
    assert_eq!(assets_one, assets_two);
    assert!(one.iter().all(|st| st.learner.updates() == 40));
    let distinct: std::collections::BTreeSet<Vec<u64>> = one
        .iter()
        .map(|st| st.learner.table().iter().map(|q| q.to_bits()).collect())
        .collect();
    assert!(distinct.len() > 150, "{} distinct tables", distinct.len());
}

/// 2,000 learners of the three kinds (more than one parallel chunk per
/// group) give the same records, summary and states at one and four
/// threads.
#[test]
fn two_thousand_learners_are_byte_identical_at_one_and_four_threads() {
    let text = format!(
        "{}\n{}",
        MARKETS.replace("STEPS", "12"),
        r#"
[[agents]]
group = "q"
count = 1100
balance = 500.0
holdings = { asset = "CURVE", total = 20000.0, distribution = "lognormal", sigma = 0.5 }
policy = { kind = "q_learning", asset = "CURVE", actions = ["hold", { buy = 0.1 }, { sell = 0.2 }], alpha = 0.2, delta = 0.9, beta = 0.01, memory = 2, position = true }

[[agents]]
group = "ts"
count = 500
balance = 500.0
holdings = { asset = "BOOK", total = 5000.0, distribution = "uniform" }
policy = { kind = "bandit", asset = "BOOK", actions = ["hold", { bid = -0.01, size = 1.0 }, { ask = 0.01, size = 1.0 }, { buy = 0.05 }], algorithm = "thompson" }

[[agents]]
group = "pg"
count = 400
balance = 500.0
holdings = { asset = "AUCTION", total = 4000.0, distribution = "uniform" }
policy = { kind = "policy_gradient", asset = "AUCTION", actions = ["hold", { bid = -0.02, size = 1.0 }, { ask = 0.02, size = 1.0 }], learning_rate = 0.1, trend = 4 }
"#
    );
    let s = Scenario::from_toml_str(&text, "threads.toml").unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let mut sim = Simulation::new(&s, 0).unwrap();
                while sim.step() < 12 {
                    sim.advance().unwrap();
                }
                let q = sim.states::<QLearningPolicy>("q").unwrap().to_vec();
                let ts = sim.states::<BanditPolicy>("ts").unwrap().to_vec();
                let pg = sim.states::<PolicyGradientPolicy>("pg").unwrap().to_vec();
                (q, ts, pg, sim.finish().unwrap())
            })
    };
    let (one, four) = (run(1), run(4));
    assert_eq!(one.0, four.0);
    assert_eq!(one.1, four.1);
    assert_eq!(one.2, four.2);
    assert_eq!(one.3.records, four.3.records);
    assert_eq!(one.3.summary, four.3.summary);
    assert_eq!(one.0.len() + one.1.len() + one.2.len(), 2000);
}

/// A run of every learner kind on every market, stopped after a step, its
/// state taken through postcard and put back on a new simulation,
/// continues exactly as the run that was never stopped.
#[test]
fn learners_continue_exactly_after_a_round_trip_of_their_state() {
    let s = markets(6, 20);
    let whole = Simulation::new(&s, 1).unwrap().run().unwrap();
    for stop in [1, 9] {
        let mut first = Simulation::new(&s, 1).unwrap();
        while first.step() < stop {
            first.advance().unwrap();
        }
        let bytes = postcard::to_stdvec(&first.state()).unwrap();
        let before: Vec<_> = first.states::<QLearningPolicy>("q_BOOK").unwrap().to_vec();
        drop(first);
        let state: SimState = postcard::from_bytes(&bytes).unwrap();
        let mut second = Simulation::new(&s, 1).unwrap();
        second.restore(state).unwrap();
        assert_eq!(
            second.states::<QLearningPolicy>("q_BOOK").unwrap(),
            &before[..]
        );
        while second.step() < 20 {
            second.advance().unwrap();
        }
        assert_eq!(second.finish().unwrap(), whole, "stopped after step {stop}");
    }
}

/// On a curve without a fee, wealth marked to market rewards a buy and
/// punishes a sell, whatever the state: buying `q` tokens at supply `S`
/// with holdings `h` changes the wealth by `m q²/2 + m h q > 0` (the
/// integral paid is below the new price times `q`, and the held tokens
/// gain `m q` each), selling `q ≤ h` by `m q (q/2 − h) < 0`, holding by 0.
/// A lone learner of each kind learns to buy.
#[test]
fn a_lone_learner_on_a_curve_learns_what_marked_wealth_rewards() {
    for (kind, fields) in [
        ("ucb1", r#"kind = "bandit", algorithm = "ucb1""#),
        ("thompson", r#"kind = "bandit", algorithm = "thompson""#),
        (
            "epsilon",
            r#"kind = "bandit", algorithm = "epsilon_greedy", epsilon = 0.1"#,
        ),
        (
            "q",
            r#"kind = "q_learning", alpha = 0.2, delta = 0.5, epsilon = 0.1, memory = 0"#,
        ),
        (
            "pg",
            r#"kind = "policy_gradient", learning_rate = 0.05, memory = 0"#,
        ),
    ] {
        let text = format!(
            r#"
            [simulation]
            steps = 300
            seed = 5
            [[assets]]
            name = "T"
            pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}
            [[agents]]
            group = "alone"
            count = 1
            balance = 1000.0
            holdings = {{ asset = "T", total = 100.0, distribution = "uniform" }}
            policy = {{ asset = "T", actions = ["hold", {{ buy = 0.01 }}, {{ sell = 0.01 }}], {fields} }}
            "#
        );
        let s = Scenario::from_toml_str(&text, "alone.toml").unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        let mut pulls = [0u32; 3];
        while sim.step() < 300 {
            sim.advance().unwrap();
            let arm = match sim.trades().first().map(|r| r.kind) {
                None => 0,
                Some(TradeKind::Mint) => 1,
                Some(_) => 2,
            };
            pulls[arm] += 1;
        }
        let late: f64 = sim.finish().unwrap().records.groups[200..]
            .iter()
            .map(|r| r.mean_reward.unwrap())
            .sum();
        // Every step's reward is positive only for a buy.
        assert!(late > 0.0, "{kind}: reward {late} over the last 100 steps");
        assert!(
            pulls[1] > 2 * (pulls[0] + pulls[2]),
            "{kind}: hold, buy, sell pulled {pulls:?}"
        );
    }
}

/// In the evaluation phase (`[simulation] evaluation_steps`) the built-in
/// learners play greedily and learn nothing: every Q-table after the
/// phase is the table at its start, while the agents keep trading; and a
/// learner reports its convergence count (`stop = { converged = K }`).
#[test]
fn learners_learn_nothing_in_the_evaluation_phase_and_report_convergence() {
    let text = Q_ON_A_CURVE.replace("steps = 40\n", "steps = 40\nevaluation_steps = 15\n");
    let s = Scenario::from_toml_str(&text, "eval.toml").unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    while sim.step() < 40 {
        sim.advance().unwrap();
    }
    let tables = |sim: &Simulation| -> Vec<Vec<f64>> {
        sim.states::<QLearningPolicy>("learners")
            .unwrap()
            .iter()
            .map(|st| st.learner.table().to_vec())
            .collect()
    };
    let learned = tables(&sim);
    let updates: Vec<u64> = sim
        .states::<QLearningPolicy>("learners")
        .unwrap()
        .iter()
        .map(|st| st.learner.updates())
        .collect();
    assert!(updates.iter().all(|&u| u == 40), "{updates:?}");
    while !sim.done() {
        sim.advance().unwrap();
    }
    assert_eq!(sim.step(), 55);
    assert_eq!(tables(&sim), learned, "the tables changed in evaluation");
    let out = sim.finish().unwrap();
    assert!(
        out.records
            .assets
            .iter()
            .filter(|r| r.step > 40)
            .all(|r| r.step <= 55),
        "records run to the end of the evaluation phase"
    );

    // Convergence: with epsilon = 0 a learner's greedy policy soon stops
    // changing, and the learning phase ends on it before the cap.
    let converging = Q_ON_A_CURVE
        .replace(
            "steps = 40\n",
            "steps = 2000\nstop = { converged = 20 }\nevaluation_steps = 5\n",
        )
        .replace("epsilon = 0.3", "epsilon = 0.0");
    let s = Scenario::from_toml_str(&converging, "stop.toml").unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let sim_summary = out
        .summary
        .simulation
        .as_ref()
        .expect("a simulation summary");
    assert!(sim_summary.steps_run < 2005, "{sim_summary:?}");
    assert_eq!(
        sim_summary.steps_run,
        sim_summary.learning_steps + 5,
        "{sim_summary:?}"
    );
}
