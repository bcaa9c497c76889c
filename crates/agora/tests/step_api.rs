//! The step API for outside callers: `observe`, `advance_with` (some
//! agents' actions set from outside), `agent`, `reset`, and stepping by
//! hand giving what `run` gives.

use agora::scenario::example;
use agora::{Action, Scenario, Simulation};

fn scenario(name: &str, steps: u64) -> Scenario {
    let mut s = example(name).unwrap();
    s.set_steps(steps).unwrap();
    s
}

/// `advance_with(&[])` is `advance()`, on a curve (agents decide one by
/// one as they execute) and on an order book (all decide first, in
/// parallel).
#[test]
fn advancing_with_no_actions_is_advancing() {
    for name in ["token-economy", "market-clearing"] {
        let s = scenario(name, 25);
        let whole = Simulation::new(&s, 0).unwrap().run().unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        while sim.step() < 25 {
            sim.advance_with(&[]).unwrap();
        }
        assert_eq!(sim.finish().unwrap(), whole, "{name}");
    }
}

/// An agent told to hold at every step keeps its account while the others
/// trade around it.
#[test]
fn an_agent_told_to_hold_keeps_its_account_while_the_others_trade() {
    for name in ["curve-linear", "market-clearing"] {
        let s = scenario(name, 30);
        let mut sim = Simulation::new(&s, 0).unwrap();
        let before = sim.agent(0).unwrap();
        while sim.step() < 30 {
            sim.advance_with(&[(0, Action::Hold)]).unwrap();
            let now = sim.agent(0).unwrap();
            assert_eq!(
                (now.balance, &now.holdings, now.locked_balance),
                (before.balance, &before.holdings, before.locked_balance),
                "{name}, step {}",
                sim.step()
            );
        }
        let out = sim.finish().unwrap();
        let traded: u64 = out.records.assets.iter().map(|r| r.trades).sum();
        assert!(traded > 0, "{name}: the others traded");
    }
}

/// The only trade of a step, a buy set from outside, pays the curve's
/// integral: for `P = mS + b` from `S0` to `S1`,
/// `m/2·(S1² − S0²) + b·(S1 − S0)`, to the base unit (1e-9), with no fee.
#[test]
fn a_buy_set_from_outside_pays_the_integral_of_the_curve() {
    let s = scenario("curve-linear", 5);
    let (m, b) = (0.001, 1.0); // the example's curve
    let agents = s.agent_count() as u32;
    let mut sim = Simulation::new(&s, 0).unwrap();
    // everyone else holds
    let mut actions: Vec<(u32, Action)> = (1..agents).map(|a| (a, Action::Hold)).collect();
    actions.push((
        0,
        Action::Buy {
            asset: 0,
            spend: 250_000_000_000, // 250 money units
        },
    ));
    let s0 = u128::from(sim.ledger().books(0).supply) as f64 / 1e9;
    let before = sim.agent(0).unwrap();
    sim.advance_with(&actions).unwrap();
    let after = sim.agent(0).unwrap();
    let s1 = u128::from(sim.ledger().books(0).supply) as f64 / 1e9;
    let spent = (before.balance - after.balance) as f64 / 1e9;
    let bought = (after.holdings[0] - before.holdings[0]) as f64 / 1e9;
    assert!(
        (bought - (s1 - s0)).abs() < 1e-12,
        "{bought} vs {}",
        s1 - s0
    );
    assert!(bought > 0.0 && spent <= 250.0, "{bought} {spent}");
    let integral = m / 2.0 * (s1 * s1 - s0 * s0) + b * (s1 - s0);
    assert!(
        (spent - integral).abs() <= 2e-9,
        "spent {spent}, integral {integral}"
    );
    // and the price is the curve's at the new supply
    assert!((sim.price(0) - (m * s1 + b)).abs() < 1e-9);
}

/// A sell set from outside by an agent that holds none of the token is
/// clipped to nothing and rejected: no trade, no burn, and its account and
/// the curve's books as they were.
#[test]
fn a_sell_of_nothing_is_a_rejection_not_a_trade() {
    let s = scenario("curve-linear", 5);
    let agents = s.agent_count() as u32;
    let mut sim = Simulation::new(&s, 0).unwrap();
    let mut actions: Vec<(u32, Action)> = (1..agents).map(|a| (a, Action::Hold)).collect();
    actions.push((
        0,
        Action::Sell {
            asset: 0,
            amount: 5_000_000_000,
        },
    ));
    let before = sim.agent(0).unwrap();
    assert_eq!(before.holdings[0], 0);
    let books = |sim: &Simulation| {
        let b = sim.ledger().books(0);
        (b.supply, b.reserve, b.fee_pool)
    };
    let (books_before, counts) = (books(&sim), *sim.ledger().counts());
    sim.advance_with(&actions).unwrap();
    let after = sim.agent(0).unwrap();
    assert_eq!(
        (after.balance, &after.holdings),
        (before.balance, &before.holdings)
    );
    assert_eq!(books(&sim), books_before);
    let now = sim.ledger().counts();
    assert_eq!(
        (now.clipped, now.rejected, now.burns),
        (counts.clipped + 1, counts.rejected + 1, counts.burns)
    );
    let r = sim.records().assets.last().unwrap();
    assert_eq!((r.step, r.trades, r.volume), (1, 0, 0));
}

/// Actions that cannot be meant are errors naming the agent, and the step
/// does not run.
#[test]
fn actions_for_agents_or_assets_that_do_not_exist_are_errors_and_the_step_does_not_run() {
    let s = scenario("curve-linear", 5);
    let n = s.agent_count() as u32;
    let mut sim = Simulation::new(&s, 0).unwrap();
    let buy = |asset| Action::Buy {
        asset,
        spend: 1_000_000_000,
    };
    for (actions, expected) in [
        (
            vec![(n, Action::Hold)],
            format!(
                "step 1: agent {n} does not exist: the agents are 0 to {}",
                n - 1
            ),
        ),
        (
            vec![(3, Action::Hold), (3, buy(0))],
            "step 1: agent 3 is given more than one action".to_string(),
        ),
        (
            vec![(2, buy(1))],
            "step 1: agent 2's action names asset 1: the assets are 0 to 0".to_string(),
        ),
    ] {
        let e = sim.advance_with(&actions).unwrap_err().to_string();
        assert!(e.ends_with(&expected), "{e}");
        assert_eq!(sim.step(), 0);
    }
    let e = sim.agent(n).unwrap_err().to_string();
    assert!(e.contains(&format!("agent {n} does not exist")), "{e}");
}

/// `reset(k)` gives run `k` exactly, from any point of another run, with
/// the records held or drained.
#[test]
fn a_reset_simulation_runs_as_a_new_one_does() {
    let s = scenario("token-economy", 20);
    for drained in [false, true] {
        let mut sim = if drained {
            Simulation::new_drained(&s, 0).unwrap()
        } else {
            Simulation::new(&s, 0).unwrap()
        };
        for _ in 0..7 {
            sim.advance().unwrap();
        }
        sim.reset(3).unwrap();
        assert_eq!(sim.step(), 0);
        while sim.step() < 20 {
            sim.advance().unwrap();
        }
        let fresh = Simulation::new(&s, 3).unwrap().run().unwrap();
        assert_eq!(sim.finish().unwrap(), fresh, "drained: {drained}");
    }
}

/// `observe` is what the policies see before the next step.
#[test]
fn the_observation_is_of_the_next_step() {
    let s = scenario("market-clearing", 6);
    let mut sim = Simulation::new(&s, 0).unwrap();
    for _ in 0..4 {
        sim.advance().unwrap();
    }
    let obs = sim.observe();
    assert_eq!(obs.step, 5);
    assert_eq!(obs.assets.len(), 1);
    let good = &obs.assets[0];
    assert_eq!(good.name, "GOOD");
    // the closing prices of steps 0 to 4
    assert_eq!(good.history, sim.prices(0));
    assert_eq!(good.history.len(), 5);
    assert_eq!(obs.as_observation().step, 5);
}
