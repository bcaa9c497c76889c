//! The trade log, market side: with the log on, every fill of an order
//! book or a batch market is a record per agent side, and the records add
//! up to what happened to the agents' accounts.

use agora::ledger::trades::{TradeKind, TradeRecord};
use agora::scenario::example;
use agora::{Scenario, Simulation};
use std::collections::HashSet;

fn scenario(name: &str, steps: u64) -> Scenario {
    let mut s = example(name).unwrap();
    s.set_steps(steps).unwrap();
    s
}

/// What an agent owns, as (money, tokens of asset 0), base units, locked
/// amounts included.
fn owned(sim: &Simulation, agent: u32) -> (i128, i128) {
    let a = sim.agent(agent).unwrap();
    (a.balance as i128, a.holdings[0] as i128)
}

/// Runs `name` with the log on and checks, step by step, that each agent's
/// change of money and tokens is the sum of its records (a buy pays money
/// and receives tokens, a sell the other way round), that every fill
/// between two agents is logged once from each side with matching amounts,
/// and that the logged quantity of the buy sides of fills between agents
/// plus the fills with the outside world is the step's volume.
fn the_log_adds_up_to_the_accounts(name: &str, steps: u64) -> usize {
    let s = scenario(name, steps);
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.set_trade_log(true);
    let n = sim.ledger().agents() as u32;
    let mut logged = 0;
    while sim.step() < steps {
        let before: Vec<(i128, i128)> = (0..n).map(|a| owned(&sim, a)).collect();
        sim.advance().unwrap();
        let records: Vec<TradeRecord> = sim.trade_log().records().to_vec();
        logged += records.len();
        let mut net = vec![(0i128, 0i128); n as usize];
        for r in &records {
            assert_eq!(r.kind, TradeKind::Fill, "{name}: {r:?}");
            assert_eq!(r.step, sim.step());
            assert!(r.quantity > 0, "{name}: {r:?}");
            let (money, tokens) = (r.money as i128, i128::from(r.quantity));
            let cell = &mut net[r.agent as usize];
            if r.buy {
                cell.0 -= money;
                cell.1 += tokens;
            } else {
                cell.0 += money;
                cell.1 -= tokens;
            }
        }
        for a in 0..n {
            let now = owned(&sim, a);
            let (b, d) = (before[a as usize], net[a as usize]);
            assert_eq!(
                (now.0 - b.0, now.1 - b.1),
                d,
                "{name}, step {}, agent {a}: account change vs the log",
                sim.step()
            );
        }
        // Fills between agents come in pairs: the buyer's record names the
        // seller and the seller's the buyer, with the same amounts.
        let sides: HashSet<(u32, u32, u64, u128, bool)> = records
            .iter()
            .filter_map(|r| {
                r.counterpart
                    .map(|c| (r.agent, c, r.quantity, r.money, r.buy))
            })
            .collect();
        for &(agent, other, q, money, buy) in &sides {
            assert!(
                sides.contains(&(other, agent, q, money, !buy)),
                "{name}: a fill of {agent} with {other} logged from one side only"
            );
        }
        let step_row = sim.records().assets.last().unwrap();
        let buys: u128 = records
            .iter()
            .filter(|r| r.buy || r.counterpart.is_none())
            .map(|r| u128::from(r.quantity))
            .sum();
        if records.iter().all(|r| r.counterpart.is_some()) {
            assert_eq!(buys, step_row.volume, "{name}, step {}", sim.step());
        }
    }
    logged
}

#[test]
fn order_book_fills_in_the_log_add_up_to_the_accounts() {
    assert!(the_log_adds_up_to_the_accounts("market-clearing", 30) > 0);
}

#[test]
fn call_auction_fills_in_the_log_add_up_to_the_accounts() {
    assert!(the_log_adds_up_to_the_accounts("call-auction", 20) > 0);
}

#[test]
fn equilibrium_fills_with_the_outside_world_add_up_to_the_accounts() {
    assert!(the_log_adds_up_to_the_accounts("equilibrium", 20) > 0);
}

/// A resource's allocations are logged one per agent served, and add up to
/// the step's allocated units; producers' payments are logged as
/// production.
#[test]
fn resource_allocations_and_producer_payments_are_logged() {
    let steps = 30;
    let s = scenario("resource-economy", steps);
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.set_trade_log(true);
    let (mut allocations, mut productions) = (0, 0);
    while sim.step() < steps {
        sim.advance().unwrap();
        let records = sim.trade_log().records();
        let m = sim.ledger().assets();
        let rows = &sim.records().assets[sim.records().assets.len() - m..];
        for row in rows {
            let allocated: u128 = records
                .iter()
                .filter(|r| r.kind == TradeKind::Allocation && r.asset == row.asset)
                .map(|r| u128::from(r.quantity))
                .sum();
            if let Some(units) = row.allocated {
                assert_eq!(allocated as f64 / 1e9, units, "step {}", row.step);
            }
        }
        allocations += records
            .iter()
            .filter(|r| r.kind == TradeKind::Allocation)
            .count();
        productions += records
            .iter()
            .filter(|r| r.kind == TradeKind::Production)
            .count();
    }
    assert!(allocations > 0 && productions > 0);
}

/// With the log off (the default), nothing is recorded.
#[test]
fn the_log_is_off_by_default() {
    let s = scenario("market-clearing", 5);
    let mut sim = Simulation::new(&s, 0).unwrap();
    while sim.step() < 5 {
        sim.advance().unwrap();
        assert!(sim.trade_log().records().is_empty());
    }
}
