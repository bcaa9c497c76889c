//! Posted-price sellers do not read their reward
//! (`AdaptivePolicy::uses_reward`), so the learn phase measures their
//! group's objectives only where the mean reward is recorded: the
//! recorded rewards and a saved state must be those of a run that measures
//! them every step.

use agora::engine::SimState;
use agora::{Scenario, Simulation};

fn collusion(record_every: u64) -> Scenario {
    let text = format!(
        r#"
[simulation]
steps = 40
seed = 5
evaluation_steps = 6
record_every = {record_every}

[[assets]]
name = "GOOD"
pricing = {{ kind = "posted_price", demand = {{ shape = "logit", a = 2.0, a0 = 0.0, mu = 0.25 }}, prices = {{ m = 15, xi = 0.1 }} }}

[[agents]]
group = "firms"
count = 2
balance = 0.0
cost = 1.0
policy = {{ kind = "q_learning", asset = "GOOD", alpha = 0.15, delta = 0.95, beta = 0.05, memory = 1, q0 = "uniform_opponents" }}
"#
    );
    Scenario::from_toml_str(&text, "collusion.toml").expect("valid")
}

#[test]
fn rewards_recorded_now_and_then_are_those_recorded_every_step() {
    let every = Simulation::new(&collusion(1), 0).unwrap().run().unwrap();
    let reward_at = |step: u64| {
        every
            .records
            .groups
            .iter()
            .find(|r| r.step == step)
            .and_then(|r| r.mean_reward)
    };
    for k in [3, 7, 41] {
        let out = Simulation::new(&collusion(k), 0).unwrap().run().unwrap();
        let mut checked = 0;
        for r in out.records.groups.iter().filter(|r| r.step > 0) {
            if let Some(reward) = r.mean_reward {
                assert!(reward.is_finite(), "record_every = {k}, step {}", r.step);
                assert_eq!(
                    Some(reward),
                    reward_at(r.step),
                    "record_every = {k}, step {}",
                    r.step
                );
                checked += 1;
            }
        }
        assert!(checked >= 2, "record_every = {k}: {checked} rewards");
    }
}

#[test]
fn a_state_saved_between_recorded_steps_continues_exactly() {
    let s = collusion(7);
    let whole = Simulation::new(&s, 0).unwrap().run().unwrap();
    // 9 and 15 are not recorded, nor the step after them; 13 precedes 14.
    for stop in [9, 13, 15] {
        let mut first = Simulation::new(&s, 0).unwrap();
        while first.step() < stop {
            first.advance().unwrap();
        }
        let bytes = postcard::to_stdvec(&first.state()).unwrap();
        drop(first);
        let state: SimState = postcard::from_bytes(&bytes).unwrap();
        let mut second = Simulation::new(&s, 0).unwrap();
        second.restore(state).unwrap();
        while !second.done() {
            second.advance().unwrap();
        }
        assert_eq!(second.finish().unwrap(), whole, "stopped after step {stop}");
    }
}

/// Not only the rewards that are there: every row recorded now and then
/// has the reward the run recording every step has at that step (a step
/// whose rows are kept is measured, whichever step the rows before it
/// were kept at), and that run has one at every step of the learning
/// phase.
#[test]
fn every_row_recorded_now_and_then_has_the_reward_of_the_run_recording_every_step() {
    let every = Simulation::new(&collusion(1), 0).unwrap().run().unwrap();
    let reward_at = |step: u64| {
        every
            .records
            .groups
            .iter()
            .find(|r| r.step == step)
            .and_then(|r| r.mean_reward)
    };
    assert!(
        (1..=40).all(|t| reward_at(t).is_some_and(f64::is_finite)),
        "a reward at every learning step"
    );
    for k in [3, 7] {
        let out = Simulation::new(&collusion(k), 0).unwrap().run().unwrap();
        let rows: Vec<_> = out.records.groups.iter().filter(|r| r.step > 0).collect();
        // the steps k, 2k, ... of the 40 learning steps, and more
        assert!(rows.len() as u64 >= 40 / k, "record_every = {k}");
        for r in rows {
            assert_eq!(
                r.mean_reward,
                reward_at(r.step),
                "record_every = {k}, step {}",
                r.step
            );
        }
    }
}
