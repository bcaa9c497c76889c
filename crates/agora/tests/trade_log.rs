//! The engine's trade log: every curve trade as a mint or burn record with
//! the exact money that moved, checked against the ledger's accounts (an
//! independent path: the records are built beside the settlement, the
//! accounts by it).

use agora::ledger::trades::{TradeKind, TradeRecord};
use agora::{Scenario, Simulation};

/// Buyers and sellers on a curve with a fee, and whales that dump at step 5.
fn curve_scenario(trades: bool) -> Scenario {
    let output = if trades {
        "[output]\ntrades = true"
    } else {
        ""
    };
    Scenario::from_toml_str(
        &format!(
            r#"
            [simulation]
            steps = 12
            seed = 21
            [[assets]]
            name = "T"
            pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.01 }}
            [[assets]]
            name = "U"
            pricing = {{ kind = "bonding_curve", curve = "exponential", a = 1.0, k = 0.0001 }}
            [[agents]]
            group = "noise"
            count = 40
            balance = 500.0
            policy = {{ kind = "random", asset = "T", p_buy = 0.5, p_sell = 0.4, buy_fraction = 0.3, sell_fraction = 0.5 }}
            [[agents]]
            group = "u_traders"
            count = 10
            balance = 300.0
            policy = {{ kind = "random", asset = "U", p_buy = 0.6, p_sell = 0.3, buy_fraction = 0.2, sell_fraction = 0.7 }}
            [[agents]]
            group = "whales"
            count = 3
            balance = 0.0
            holdings = {{ asset = "T", total = 1000.0, distribution = "uniform" }}
            policy = {{ kind = "random", asset = "T", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }}
            [[events]]
            at = 5
            kind = "dump"
            group = "whales"
            asset = "T"
            share = 0.5
            {output}
            "#
        ),
        "test",
    )
    .expect("a valid scenario")
}

/// Each agent's balance and holdings, from the ledger.
fn accounts(sim: &Simulation) -> Vec<(u64, Vec<u64>)> {
    (0..sim.ledger().agents() as u32)
        .map(|a| (sim.ledger().balance(a), sim.ledger().holdings(a).to_vec()))
        .collect()
}

#[test]
fn each_steps_mints_and_burns_move_exactly_what_the_accounts_moved() {
    let s = curve_scenario(true);
    let mut sim = Simulation::new(&s, 0).expect("set up");
    assert!(sim.trades().is_empty());
    let (mut mints, mut burns) = (0u64, 0u64);
    while sim.step() < 12 {
        let before = accounts(&sim);
        let supply: Vec<u64> = (0..2).map(|j| sim.ledger().books(j).supply).collect();
        sim.advance().expect("step");
        let t = sim.step();
        // Replay the records on the accounts before the step.
        let mut replay: Vec<(i128, Vec<i128>)> = before
            .iter()
            .map(|(b, h)| (i128::from(*b), h.iter().map(|&x| i128::from(x)).collect()))
            .collect();
        let mut minted = [0i128; 2];
        for r in sim.trades() {
            assert_eq!(r.step, t);
            assert_eq!(r.counterpart, None, "the curve is the counterpart");
            let (sign, kind) = if r.buy {
                (1, TradeKind::Mint)
            } else {
                (-1, TradeKind::Burn)
            };
            assert_eq!(r.kind, kind);
            assert!(r.quantity > 0 && r.money > 0, "{r:?}");
            let (balance, holdings) = &mut replay[r.agent as usize];
            *balance -= sign * r.money as i128;
            holdings[r.asset as usize] += sign * i128::from(r.quantity);
            minted[r.asset as usize] += sign * i128::from(r.quantity);
            mints += u64::from(r.buy);
            burns += u64::from(!r.buy);
        }
        let after = accounts(&sim);
        for (a, ((b, h), (rb, rh))) in after.iter().zip(&replay).enumerate() {
            assert_eq!(i128::from(*b), *rb, "step {t}, agent {a}'s balance");
            let h: Vec<i128> = h.iter().map(|&x| i128::from(x)).collect();
            assert_eq!(&h, rh, "step {t}, agent {a}'s holdings");
        }
        for j in 0..2 {
            let change = i128::from(sim.ledger().books(j).supply) - i128::from(supply[j]);
            assert_eq!(change, minted[j], "step {t}, supply of asset {j}");
        }
        // The step's records count what the asset row counts.
        let rows = &sim.records().assets;
        for j in 0..2u32 {
            let row = rows.iter().rev().find(|r| r.asset == j).expect("a row");
            let of: Vec<&TradeRecord> = sim.trades().iter().filter(|r| r.asset == j).collect();
            assert_eq!(row.trades, of.len() as u64, "step {t}, asset {j}");
            let volume: u128 = of.iter().map(|r| u128::from(r.quantity)).sum();
            assert_eq!(row.volume, volume, "step {t}, asset {j}");
        }
        if t == 5 {
            let dumps = sim.trades().iter().filter(|r| r.agent >= 50).count();
            assert_eq!(dumps, 3, "each whale's dump is a burn");
        }
    }
    assert_eq!(sim.ledger().counts().mints, mints);
    assert_eq!(sim.ledger().counts().burns, burns);
    assert!(mints > 50 && burns > 50, "{mints} mints, {burns} burns");
}

#[test]
fn a_run_without_the_log_records_nothing_and_runs_the_same() {
    let mut on = Simulation::new(&curve_scenario(true), 0).expect("set up");
    let mut off = Simulation::new(&curve_scenario(false), 0).expect("set up");
    for _ in 0..12 {
        on.advance().expect("step");
        off.advance().expect("step");
        assert!(off.trades().is_empty());
        assert!(!on.trades().is_empty());
        assert_eq!(accounts(&on), accounts(&off));
    }
    let (on, off) = (on.finish().expect("end"), off.finish().expect("end"));
    assert_eq!(on.records.assets, off.records.assets);
    assert_eq!(on.summary, off.summary);
}
