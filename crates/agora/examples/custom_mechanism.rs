//! Bring your own price mechanism: a dealer written outside the library as
//! a `Mechanism`, registered under a pricing kind that scenario files use
//! (`pricing = { kind = "dealer", … }`), run with the trade log on, and
//! checked: every fill is at the dealer's quote, and the recorded prices
//! follow the dealer's rule from the logged order flow.
//!
//! Run with `cargo run --example custom_mechanism`.

use agora::agents::Action;
use agora::ledger::{AgentId, SCALE};
use agora::market::mechanism::{Fault, MarketStep, Mechanism};
use agora::scenario::{Fields, Range, Registry};
use agora::{Scenario, Simulation};

/// A dealer quoting `price·(1 ± spread)` to everybody, out of an
/// unlimited inventory (the outside world); after each step its price
/// moves with the net flow: `P ← P·exp(impact·(bought − sold))`, tokens.
#[derive(Debug, Clone)]
struct Dealer {
    price: f64,
    spread: f64,
    impact: f64,
    /// Tokens bought minus tokens sold this step, base units.
    net: i128,
}

impl Dealer {
    /// The quote for a side, money base units per whole token.
    fn quote(&self, buy: bool) -> u64 {
        let p = if buy {
            self.price * (1.0 + self.spread)
        } else {
            self.price * (1.0 - self.spread)
        };
        (p * SCALE as f64) as u64
    }
}

impl Mechanism for Dealer {
    fn kind(&self) -> &str {
        "dealer"
    }

    fn begin_step(&mut self, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.net = 0;
        Ok(())
    }

    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let ledger = &mut *m.ledger;
        match action {
            Action::Buy { spend, .. } => {
                let ask = self.quote(true);
                let budget = spend.min(ledger.balance(agent));
                // the whole base units the budget pays for, and their cost
                let tokens = (u128::from(budget) * u128::from(SCALE) / u128::from(ask)) as u64;
                let money = (u128::from(ask) * u128::from(tokens) / u128::from(SCALE)) as u64;
                if tokens == 0 {
                    ledger.count_rejected();
                    return Ok(());
                }
                ledger
                    .sell_from_outside(agent, m.asset, tokens, money, false)
                    .map_err(|e| Fault::ledger("the dealer selling", e))?;
                m.fill(Some(agent), None, tokens, money);
                self.net += i128::from(tokens);
            }
            Action::Sell { amount, .. } => {
                let bid = self.quote(false);
                let tokens = amount.min(ledger.holding(agent, m.asset));
                let money = (u128::from(bid) * u128::from(tokens) / u128::from(SCALE)) as u64;
                if money == 0 {
                    ledger.count_rejected();
                    return Ok(());
                }
                ledger
                    .buy_from_outside(agent, m.asset, tokens, money, false)
                    .map_err(|e| Fault::ledger("the dealer buying", e))?;
                m.fill(None, Some(agent), tokens, money);
                self.net -= i128::from(tokens);
            }
            Action::Hold => {}
            _ => ledger.count_rejected(),
        }
        Ok(())
    }

    fn end_step(&mut self, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.price *= (self.impact * self.net as f64 / SCALE as f64).exp();
        Ok(())
    }

    fn price(&self, _supply: u64) -> f64 {
        self.price
    }

    fn set_param(&mut self, name: &str, value: f64) -> Result<(), String> {
        match name {
            "spread" if (0.0..1.0).contains(&value) => {
                self.spread = value;
                Ok(())
            }
            _ => Err(format!(
                "the dealer has one parameter, spread in [0, 1): {name} = {value}"
            )),
        }
    }
}

const SCENARIO: &str = r#"
[simulation]
steps = 50
seed = 3

[[assets]]
name = "GOOD"
pricing = { kind = "dealer", price = 10.0, spread = 0.01, impact = 0.002 }

[[agents]]
group = "traders"
count = 300
balance = 100.0
holdings = { asset = "GOOD", total = 3000.0, distribution = "uniform" }
policy = { kind = "random", asset = "GOOD", p_buy = 0.4, p_sell = 0.4, buy_fraction = 0.1, sell_fraction = 0.1 }
"#;

fn main() -> agora::Result<()> {
    let mut registry = Registry::new();
    registry.register_mechanism("dealer", |f: &mut Fields<'_>| {
        Ok(Dealer {
            price: f.number("price", Range::Positive)?,
            spread: f.number("spread", Range::Unit)?,
            impact: f.number("impact", Range::NonNegative)?,
            net: 0,
        })
    })?;
    let scenario = Scenario::from_toml_str_with(SCENARIO, "custom_mechanism.rs", &registry)?;
    let mut sim = Simulation::new(&scenario, 0)?;
    sim.set_trade_log(true);
    let mut expected = 10.0f64;
    let mut fills = 0;
    while sim.step() < 50 {
        let before = expected;
        sim.advance()?;
        let mut net: i128 = 0;
        for r in sim.trade_log().records() {
            // each fill at the quote of its side, rounded down to the base unit
            let quote = before * if r.buy { 1.01 } else { 0.99 };
            let quote = (quote * SCALE as f64) as u128;
            assert_eq!(r.money, quote * u128::from(r.quantity) / u128::from(SCALE));
            assert_eq!(r.counterpart, None);
            net += if r.buy { 1 } else { -1 } * i128::from(r.quantity);
            fills += 1;
        }
        expected = before * (0.002 * net as f64 / SCALE as f64).exp();
        assert_eq!(sim.price(0), expected, "step {}", sim.step());
    }
    let out = sim.finish()?;
    let good = &out.summary.assets["GOOD"];
    println!(
        "GOOD ({}): {fills} fills at the dealer's quotes, final price {:.4} (the rule from the \
         logged flow: {expected:.4}), volume {:.1}",
        good.market.as_ref().map_or("?", |m| m.mechanism.as_str()),
        good.final_price,
        good.volume
    );
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
    println!("conservation error 0 (money and tokens)");
    Ok(())
}
