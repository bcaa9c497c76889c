//! The posted-price session (`engine::posted`): the steps of a run whose
//! every agent is a Q-learning seller of one posted-price market take a
//! short path. It must give exactly what the general step gives — every
//! record, the summary, every Q-table — whichever path each step takes,
//! and it must not be taken where something else could act.

use agora::agents::{QSeller, QSellerState};
use agora::engine::PriceSource;
use agora::{RunOutput, Scenario, Simulation};

/// A Calvano market of `firms` Q-learning sellers with fast exploration
/// decay, a convergence stop, an evaluation phase and a deviation event.
fn session(firms: u32, record_every: u64, memory: u32, extra: &str) -> Scenario {
    Scenario::from_toml_str(
        &session_text(firms, record_every, memory, extra),
        "session.toml",
    )
    .expect("a valid scenario")
}

/// The text of [`session`].
fn session_text(firms: u32, record_every: u64, memory: u32, extra: &str) -> String {
    format!(
        r#"
[simulation]
steps = 3000
seed = 11
stop = {{ converged = 200 }}
evaluation_steps = 40
record_every = {record_every}

[[assets]]
name = "GOOD"
pricing = {{ kind = "posted_price", demand = {{ shape = "logit", a = 2.0, a0 = 0.0, mu = 0.25 }}, prices = {{ m = 7, xi = 0.1 }} }}

[[agents]]
group = "firms"
count = {firms}
balance = 0.0
cost = 1.0
policy = {{ kind = "q_learning", asset = "GOOD", alpha = 0.15, delta = 0.95, beta = 0.002, memory = {memory}, q0 = "uniform_opponents" }}

[[events]]
kind = "deviation"
at = 21
asset = "GOOD"
seller = 0
window = 10
{extra}
"#
    )
}

/// Runs `s` to the end, letting the posted-price session take the steps
/// `allow` says; returns the output, every seller's final state and how
/// many steps took the short path.
fn run(s: &Scenario, allow: impl Fn(u64) -> bool) -> (RunOutput, Vec<QSellerState>, u64) {
    let mut sim = Simulation::new(s, 0).expect("set up");
    let mut fast = 0;
    while !sim.done() {
        let allowed = allow(sim.step() + 1);
        sim.set_posted_session(allowed);
        let before = sim.posted_session_steps();
        sim.advance().expect("a step");
        fast += sim.posted_session_steps() - before;
    }
    let states = sim
        .states::<QSeller>("firms")
        .expect("the firms are Q-learning sellers")
        .to_vec();
    (sim.finish().expect("a summary"), states, fast)
}

#[test]
fn a_session_on_the_short_path_is_the_session_on_the_general_one() {
    for (firms, record_every, memory) in [(2, 1, 1), (2, 7, 1), (3, 10, 1), (2, 13, 2)] {
        let s = session(firms, record_every, memory, "");
        let (general, general_q, none) = run(&s, |_| false);
        assert_eq!(none, 0);
        let (fast, fast_q, taken) = run(&s, |_| true);
        let steps = general.records.assets.last().expect("rows").step;
        // Every step but the deviation's (and, at record_every = 1,
        // those whose objectives are measured, which still take the
        // short decide) is counted; at least most of them.
        assert!(
            taken * 2 > steps,
            "{firms} firms, record_every {record_every}: {taken} of {steps} steps on the short path"
        );
        assert_eq!(
            fast_q, general_q,
            "{firms} firms, record_every {record_every}: Q-tables"
        );
        assert_eq!(
            fast, general,
            "{firms} firms, record_every {record_every}: outputs"
        );
        // Mixed: the paths alternate in runs of 3 and 5 steps.
        let (mixed, mixed_q, _) = run(&s, |t| t % 8 < 3);
        assert_eq!(
            mixed_q, general_q,
            "{firms} firms, record_every {record_every}: mixed Q-tables"
        );
        assert_eq!(
            mixed, general,
            "{firms} firms, record_every {record_every}: mixed outputs"
        );
    }
}

#[test]
fn a_state_saved_mid_session_is_the_same_on_either_path() {
    let s = session(2, 7, 1, "");
    for stop in [9, 13, 100] {
        let saved = |allowed: bool| {
            let mut sim = Simulation::new(&s, 0).unwrap();
            sim.set_posted_session(allowed);
            while sim.step() < stop {
                sim.advance().unwrap();
            }
            assert_eq!(sim.posted_session_steps() > 0, allowed);
            postcard::to_stdvec(&sim.state()).unwrap()
        };
        // Compared whole, not printed: the state is tens of kilobytes.
        assert!(
            saved(true) == saved(false),
            "the state after step {stop} differs"
        );
    }
}

/// A state saved on a grid of 7 prices restores into its own scenario but
/// is refused by one of 9: every price index saved is below 9, but its
/// market's price is not the mean of those prices on the grid of 9 (the
/// Q-learning seller's own table check, which refused it until stop 50,
/// is `agents::posted`'s `a_saved_q_seller_loads_only_into_sellers_of_its_states`).
#[test]
fn a_state_saved_on_a_grid_of_7_prices_is_refused_by_a_market_of_9() {
    let text = session_text(2, 1, 0, "");
    let seven = Scenario::from_toml_str(&text, "seven.toml").unwrap();
    let nine = Scenario::from_toml_str(&text.replace("m = 7,", "m = 9,"), "nine.toml").unwrap();
    let mut sim = Simulation::new(&seven, 0).unwrap();
    while sim.step() < 5 {
        sim.advance().unwrap();
    }
    let state = sim.state();
    Simulation::new(&seven, 0)
        .unwrap()
        .restore(state.clone())
        .expect("the state restores into its own scenario");
    let e = Simulation::new(&nine, 0)
        .unwrap()
        .restore(state)
        .expect_err("a table of 7 prices in a market of 9")
        .to_string();
    assert!(
        e.contains("asset 0: the saved posted-price market's price")
            && e.contains("is not the mean of its last prices"),
        "{e}"
    );
}

#[test]
fn the_learning_ran_and_the_deviation_was_punished_on_either_path() {
    let s = session(2, 5, 1, "");
    let (fast, q, _) = run(&s, |_| true);
    // The learners learned: their tables moved from where they started.
    let start = Simulation::new(&s, 0).unwrap();
    let initial = start.states::<QSeller>("firms").unwrap().to_vec();
    for (now, before) in q.iter().zip(&initial) {
        assert_ne!(now.learner.table(), before.learner.table());
        assert!(now.learner.updates() > 200);
    }
    // The deviation step ran on the general path and was recorded.
    assert!(!fast.records.deviation.is_empty());
}

#[test]
fn anything_else_that_acts_keeps_the_general_step() {
    // Another group (best-response sellers) on the same market.
    let mixed = {
        let text = r#"
[simulation]
steps = 50
seed = 3

[[assets]]
name = "GOOD"
pricing = { kind = "posted_price", demand = { shape = "logit", a = 2.0, a0 = 0.0, mu = 0.25 }, prices = { m = 7, xi = 0.1 } }

[[agents]]
group = "firms"
count = 1
balance = 0.0
cost = 1.0
policy = { kind = "q_learning", asset = "GOOD", alpha = 0.15, delta = 0.95, beta = 0.002, memory = 1, q0 = "uniform_opponents" }

[[agents]]
group = "rivals"
count = 1
balance = 0.0
cost = 1.0
policy = { kind = "best_response", asset = "GOOD" }
"#;
        Scenario::from_toml_str(text, "mixed.toml").expect("valid")
    };
    let (_, _, taken) = run(&mixed, |_| true);
    assert_eq!(taken, 0, "a best-response group acts beside the learners");

    // The trade log on.
    let s = session(2, 5, 1, "");
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.set_trade_log(true);
    for _ in 0..30 {
        sim.advance().unwrap();
    }
    assert_eq!(sim.posted_session_steps(), 0, "the trade log is on");
    assert_eq!(sim.trades().len(), 4, "two sales, two sides each");

    // A scheduled parameter change keeps the whole scenario general.
    let s = session(
        2,
        5,
        1,
        "\n[[events]]\nkind = \"join\"\nat = 10\ngroup = \"firms\"\n",
    );
    let (_, _, taken) = run(&s, |_| true);
    assert_eq!(taken, 0, "a group that joins");
}

/// A deviation's impulse response holds the 5 evaluation steps before it
/// (as many as there are, from the phase's first step), its step and the
/// `window` steps after it, one row each, in step order: offsets −5..=10
/// for the deviation at 21 with a window of 10, −2..=2 for one at 3 with
/// a window of 2 (only 2 steps precede it).
#[test]
fn an_impulse_response_holds_the_five_steps_before_its_deviation_through_its_window() {
    let early = r#"
[[events]]
kind = "deviation"
at = 3
asset = "GOOD"
seller = 1
window = 2
"#;
    let (out, _, _) = run(&session(2, 1, 1, early), |_| true);
    for (event, offsets) in [(0u32, -5i64..=10), (1, -2..=2)] {
        let rows: Vec<_> = out
            .records
            .deviation
            .iter()
            .filter(|r| r.event == event)
            .collect();
        let got: Vec<i64> = rows.iter().map(|r| r.offset).collect();
        assert_eq!(got, offsets.collect::<Vec<_>>(), "event {event}");
        for w in rows.windows(2) {
            assert_eq!(w[1].step, w[0].step + 1, "event {event}");
        }
    }
}

#[test]
fn a_posted_price_is_the_initial_one_before_the_first_step_and_posted_after() {
    let text = r#"
[simulation]
steps = 3
seed = 11

[[assets]]
name = "GOOD"
pricing = { kind = "posted_price", demand = { shape = "logit", a = 2.0, a0 = 0.0, mu = 0.25 }, prices = { m = 7, xi = 0.1 } }

[[agents]]
group = "firms"
count = 2
balance = 0.0
cost = 1.0
policy = { kind = "q_learning", asset = "GOOD", alpha = 0.15, delta = 0.95, beta = 0.002, memory = 0, q0 = "uniform_opponents" }
"#;
    let s = Scenario::from_toml_str(text, "posted.toml").expect("a valid scenario");
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let sources: Vec<PriceSource> = out.records.assets.iter().map(|r| r.source).collect();
    assert_eq!(
        sources,
        [
            PriceSource::Initial,
            PriceSource::Posted,
            PriceSource::Posted,
            PriceSource::Posted
        ]
    );
}

#[test]
fn the_recorded_profits_are_each_sellers_logit_profit_at_the_prices_posted() {
    // Seller i's profit at prices p: (p_i − 1)·e^((2 − p_i)/0.25) /
    // (Σ_j e^((2 − p_j)/0.25) + e^0), written out here.
    let s = session(2, 1, 1, "");
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let rows = &out.records.deviation;
    assert!(rows.len() > 10, "{}", rows.len());
    for r in rows {
        let e: Vec<f64> = r.prices.iter().map(|p| ((2.0 - p) / 0.25).exp()).collect();
        let total = e.iter().sum::<f64>() + 1.0;
        assert_eq!(r.profits.len(), 2);
        for (i, (&p, &e)) in r.prices.iter().zip(&e).enumerate() {
            let model = (p - 1.0) * e / total;
            assert!(
                (r.profits[i] - model).abs() <= 1e-12,
                "{r:?}: seller {i} {model}"
            );
        }
    }
}

/// An evaluation phase's means count its steps up to its first deviation:
/// 20 of the 40 with a deviation at evaluation step 21, 12 with another at
/// 13 (the earlier one counts), all 40 with none.
#[test]
fn the_means_count_the_evaluation_steps_before_the_first_deviation() {
    let counted = |text: &str| {
        let s = Scenario::from_toml_str(text, "means.toml").expect("a valid scenario");
        let out = Simulation::new(&s, 0).unwrap().run().unwrap();
        let posted = out.summary.assets["GOOD"].posted.clone();
        posted.expect("a posted-price summary").mean_steps
    };
    let text = session_text(2, 1, 1, "");
    assert_eq!(counted(&text), 20);
    let earlier =
        "[[events]]\nkind = \"deviation\"\nat = 13\nasset = \"GOOD\"\nseller = 1\nwindow = 5\n";
    assert_eq!(counted(&session_text(2, 1, 1, earlier)), 12);
    let none = &text[..text.find("[[events]]").expect("the deviation")];
    assert_eq!(counted(none), 40);
}
