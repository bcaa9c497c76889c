//! Bring your own *request* policy: an "AI inference agent" that buys
//! compute from a renewing resource, written outside the library, registered
//! under a name that scenario files can use, and run next to the built-in
//! `consumer`s.
//!
//! Run with `cargo run -p agora --example custom_request_policy`.

use agora::agents::{Action, AgentRng, AgentView, Need, Observation, Policy};
use agora::ledger::{to_base, to_units};
use agora::rng::mix64;
use agora::scenario::{Fields, PolicyRegistry, Range};
use agora::{Scenario, Simulation};
use std::sync::Arc;

/// Steps in a day: one step is an hour.
const DAY: u64 = 24;
/// Need multiplier in busy hours (9:00 to 17:00 local time) and quiet ones.
const BUSY: f64 = 2.0;
const QUIET: f64 = 0.5;

/// A uniform number in `[0, 1)` from 64 random bits.
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// An inference agent serving users in one time zone. Its need per hour is a
/// base load (0.5–1.5 units, fixed for the agent) times a daily cycle, `BUSY`
/// in its users' working hours and `QUIET` otherwise, with ±20 % noise per
/// step. The base load, the time zone (0–6 hours east) and the noise all come
/// from the agent's key, so the policy is pure: the same agent at the same
/// step always has the same need, in `decide` and in `need` alike.
///
/// In busy hours it requests its whole need while the price is at or below
/// `budget_price`, and above it only what the budget per unit pays for
/// (`need · budget_price / P`, a constant spend), bidding its `value`. In
/// quiet hours the work is not urgent: it bids only `budget_price`, and
/// holds when the price is above it.
///
/// Policies are pure and stateless (agents decide in parallel), so it cannot
/// remember how much of its past need went unmet: it decides only from the
/// observation (here the posted price) and its own account.
#[derive(Debug)]
struct InferenceAgent {
    asset: usize,
    value: f64,
    budget_price: f64,
}

impl InferenceAgent {
    /// Whether `step` falls in this agent's users' working hours.
    fn busy(&self, me: &AgentView<'_>, step: u64) -> bool {
        let zone = mix64(me.key() ^ 0x7a) % 7;
        (9..17).contains(&((step + zone) % DAY))
    }

    /// The agent's need at `step`, base units.
    fn need_at(&self, me: &AgentView<'_>, step: u64) -> u64 {
        let base = 0.5 + unit(mix64(me.key()));
        let noise = 0.8 + 0.4 * unit(mix64(me.key() ^ mix64(step)));
        let cycle = if self.busy(me, step) { BUSY } else { QUIET };
        to_base(base * cycle * noise).unwrap_or(0)
    }
}

impl Policy for InferenceAgent {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        let price = obs.assets[self.asset].price;
        let need = self.need_at(me, obs.step);
        let busy = self.busy(me, obs.step);
        if need == 0 || !price.is_finite() || (!busy && price > self.budget_price) {
            return Action::Hold;
        }
        let share = if price > self.budget_price {
            self.budget_price / price
        } else {
            1.0
        };
        let mut quantity = (need as f64 * share) as u64;
        if price > 0.0 {
            // never ask for more than the balance pays for at the price
            quantity = quantity.min(to_base(to_units(me.balance) / price).unwrap_or(0));
        }
        let bid = if busy { self.value } else { self.budget_price };
        match to_base(bid) {
            Some(max_price) if quantity > 0 && max_price > 0 => Action::Request {
                asset: self.asset as u32,
                quantity,
                max_price,
            },
            _ => Action::Hold,
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }

    /// The same need `decide` works from: the engine consumes allocations up
    /// to it and measures unmet demand, fairness and welfare against it.
    fn need(&self, me: &AgentView<'_>, step: u64) -> Option<Need> {
        Some(Need {
            units: self.need_at(me, step),
            value: self.value,
        })
    }
}

/// Ten days of hours: 1,200 units of compute renew every hour, shared by
/// max-min fairness; the price moves with excess demand (at most 20 % an
/// hour) and never falls below 0.5. Inference agents need about 1,000 units
/// an hour on average but about 2,000 in the busy hours they share; 200
/// built-in consumers need about 200 more.
const SCENARIO: &str = r#"
[simulation]
steps = 240
seed = 7

[[assets]]
name = "COMPUTE"
kind = "resource"
capacity = 1200.0
renewal = "renewing"
allocation = "max_min"
pricing = { kind = "price_adjustment", rule = "proportional", lambda = 0.5, initial_price = 0.5, min_price = 0.5, max_relative_change = 0.2 }

[[agents]]
group = "inference"
count = 1000
balance = 1000.0
policy = { kind = "inference_agent", asset = "COMPUTE", value = 4.0, budget_price = 1.0 }

[[agents]]
group = "consumers"
count = 200
balance = 1000.0
policy = { kind = "consumer", asset = "COMPUTE", need = { distribution = "uniform", low = 0.5, high = 1.5 }, value = 3.0, demand = "linear" }
"#;

fn main() -> agora::Result<()> {
    let mut registry = PolicyRegistry::new();
    registry.register(
        "inference_agent",
        |f: &mut Fields<'_>, assets: &[String]| {
            Ok(Arc::new(InferenceAgent {
                asset: f.asset("asset", assets)?,
                value: f.number("value", Range::Positive)?,
                budget_price: f.number("budget_price", Range::Positive)?,
            }) as Arc<dyn Policy>)
        },
    )?;
    let scenario = Scenario::from_toml_str_with(SCENARIO, "custom_request_policy.rs", &registry)?;
    let out = Simulation::new(&scenario, 0)?.run()?;

    let compute = &out.summary.assets["COMPUTE"];
    let r = compute.resource.as_ref().expect("COMPUTE is a resource");
    println!(
        "COMPUTE ({}): utilization {:.3}, unmet share {:.3}, Jain {:.3}, welfare {:.1}",
        r.allocation, r.utilization, r.unmet_share, r.jain_index, r.welfare
    );
    // the closing price of each hour of the last full day (hours 0 to 23)
    let steps = scenario.simulation().steps;
    let last_day: Vec<String> = (out.records.assets.iter())
        .filter(|rec| (steps - DAY..steps).contains(&rec.step))
        .map(|rec| format!("{:.2}", rec.price))
        .collect();
    println!(
        "  price: mean {:.3}; by hour, last day: {}",
        compute.mean_price,
        last_day.join(" ")
    );
    for (name, g) in &out.summary.groups {
        let met = g.needs_met_share.expect("both groups have needs");
        println!("{name:>10}: needs met {:.3}, pnl {:+.2}", met, g.pnl);
    }
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert!(r.utilization <= 1.0, "utilization {}", r.utilization);
    Ok(())
}
