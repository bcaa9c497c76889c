//! Agents that learn: every agent of a group keeps its own ε-greedy bandit
//! (state held by the engine, one per agent), chooses to hold, buy or sell
//! with it, and learns from its reward (the change of its wealth over the
//! step) after each step. Registered under a name that scenario files can
//! use, like a custom policy.
//!
//! Run with `cargo run --example adaptive_policy`.

use agora::agents::learners::{Bandit, EpsilonGreedy};
use agora::agents::{Action, Actions, AdaptivePolicy, AgentRng, AgentView, Feedback, Observation};
use agora::scenario::{Fields, PolicyRegistry, Range};
use agora::{Scenario, Simulation};

/// Holds (arm 0), buys with `fraction` of its balance (arm 1) or sells
/// `fraction` of its holdings (arm 2), as its own bandit says.
#[derive(Debug)]
struct BanditTrader {
    asset: usize,
    epsilon: f64,
    fraction: f64,
}

/// One agent's learner and the arm it pulled this step.
#[derive(Debug)]
struct Learner {
    bandit: EpsilonGreedy,
    arm: usize,
}

impl AdaptivePolicy for BanditTrader {
    type State = Learner;

    fn init(&self, _me: &AgentView<'_>) -> Learner {
        Learner {
            // validated when the scenario was read: 3 arms, ε in [0, 1]
            bandit: EpsilonGreedy::new(3, self.epsilon).expect("a valid bandit"),
            arm: 0,
        }
    }

    fn decide(
        &self,
        state: &mut Learner,
        _obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        state.arm = state.bandit.select(rng);
        let asset = self.asset as u32;
        match state.arm {
            1 => out.push(Action::Buy {
                asset,
                spend: (me.balance as f64 * self.fraction) as u64,
            }),
            2 => out.push(Action::Sell {
                asset,
                amount: (me.holdings[self.asset] as f64 * self.fraction) as u64,
            }),
            _ => {}
        }
    }

    fn learn(&self, state: &mut Learner, feedback: &Feedback<'_>) {
        // The reward is finite (wealth at finite prices) and the arm in range.
        state
            .bandit
            .update(state.arm, feedback.reward)
            .expect("a finite reward");
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

const SCENARIO: &str = r#"
[simulation]
steps = 300
seed = 7

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.0005, b = 1.0, fee = 0.01 }

[[agents]]
group = "noise"
count = 500
balance = 1000.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.4, buy_fraction = 0.05, sell_fraction = 0.1 }

[[agents]]
group = "learners"
count = 300
balance = 1000.0
policy = { kind = "bandit_trader", asset = "TOKEN", epsilon = 0.1, fraction = 0.1 }
"#;

fn main() -> agora::Result<()> {
    let mut registry = PolicyRegistry::new();
    registry.register_adaptive("bandit_trader", |f: &mut Fields<'_>, assets: &[String]| {
        Ok(BanditTrader {
            asset: f.asset("asset", assets)?,
            epsilon: f.number("epsilon", Range::Unit)?,
            fraction: f.number("fraction", Range::Unit)?,
        })
    })?;
    let scenario = Scenario::from_toml_str_with(SCENARIO, "adaptive_policy.rs", &registry)?;
    let mut sim = Simulation::new(&scenario, 0)?;
    while sim.step() < scenario.simulation().steps {
        sim.advance()?;
    }
    // What the learners learned: how often each arm was pulled, over all.
    let mut pulls = [0u64; 3];
    for learner in sim.states::<BanditTrader>("learners").expect("adaptive") {
        for (p, n) in pulls.iter_mut().zip(learner.bandit.counts()) {
            *p += n;
        }
    }
    println!(
        "learners pulled hold {} / buy {} / sell {} times",
        pulls[0], pulls[1], pulls[2]
    );
    let out = sim.finish()?;
    for (name, g) in &out.summary.groups {
        println!(
            "{name:>10}: mean wealth {:.2} (pnl {:+.2})",
            g.mean_wealth, g.pnl
        );
    }
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    Ok(())
}
