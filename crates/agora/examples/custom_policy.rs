//! Bring your own policy: a "dip buyer" written outside the library,
//! registered under a name that scenario files can use, and run.
//!
//! Run with `cargo run --example custom_policy`.

use agora::agents::{Action, AgentRng, AgentView, Observation, Policy};
use agora::scenario::{Fields, PolicyRegistry, Range};
use agora::{Scenario, Simulation};
use rand::RngExt;
use std::sync::Arc;

/// Buys after the price fell by more than `dip` since the previous step and
/// takes profit after it rose by more than `dip`; otherwise trades at random
/// with a small probability.
#[derive(Debug)]
struct DipBuyer {
    asset: usize,
    dip: f64,
    noise: f64,
    fraction: f64,
}

impl Policy for DipBuyer {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        let a = &obs.assets[self.asset];
        let change = match a.history {
            [.., before, last] if *before > 0.0 => last / before - 1.0,
            _ => 0.0,
        };
        let noise: f64 = rng.random();
        let buy = change < -self.dip || (noise < self.noise / 2.0);
        let sell = change > self.dip || (noise > 1.0 - self.noise / 2.0);
        let spend = (me.balance as f64 * self.fraction) as u64;
        let amount = (me.holdings[self.asset] as f64 * self.fraction) as u64;
        if buy && spend > 0 {
            Action::Buy {
                asset: self.asset as u32,
                spend,
            }
        } else if sell && amount > 0 {
            Action::Sell {
                asset: self.asset as u32,
                amount,
            }
        } else {
            Action::Hold
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

const SCENARIO: &str = r#"
[simulation]
steps = 200
seed = 11

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "sigmoid", K = 100.0, k = 0.001, S0 = 5000.0 }

[[agents]]
group = "noise"
count = 1000
balance = 1000.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.4, buy_fraction = 0.05, sell_fraction = 0.1 }

[[agents]]
group = "dip_buyers"
count = 200
balance = 1000.0
policy = { kind = "dip_buyer", asset = "TOKEN", dip = 0.002, noise = 0.05, fraction = 0.2 }
"#;

fn main() -> agora::Result<()> {
    let mut registry = PolicyRegistry::new();
    registry.register("dip_buyer", |f: &mut Fields<'_>, assets: &[String]| {
        // Read every field the policy accepts: anything else is rejected as
        // unknown, with the field's path in the message.
        Ok(Arc::new(DipBuyer {
            asset: f.asset("asset", assets)?,
            dip: f.number("dip", Range::NonNegative)?,
            noise: f.number_or("noise", Range::Unit, 0.0)?,
            fraction: f.number("fraction", Range::Unit)?,
        }) as Arc<dyn Policy>)
    })?;
    let scenario = Scenario::from_toml_str_with(SCENARIO, "custom_policy.rs", &registry)?;
    let out = Simulation::new(&scenario, 0)?.run()?;

    let token = &out.summary.assets["TOKEN"];
    println!(
        "TOKEN: final price {:.4}, volatility {:.4}, {} trades",
        token.final_price, token.volatility, token.trades
    );
    for (name, g) in &out.summary.groups {
        println!(
            "{name:>10}: mean wealth {:.2} (pnl {:+.2}), gini {:.3}",
            g.mean_wealth, g.pnl, g.gini
        );
    }
    assert_eq!(out.summary.ledger.conservation_error, 0.0);

    // A typo in the scenario is caught with its path:
    let typo = SCENARIO.replace("dip = 0.002", "dipp = 0.002");
    let err = Scenario::from_toml_str_with(&typo, "custom_policy.rs", &registry).unwrap_err();
    println!("a typo is reported as: {err}");
    Ok(())
}
