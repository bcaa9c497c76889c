//! The trade log, engine side: the curve path's mints and burns replayed on the accounts, the log off by default, and trades.csv.
//! the exact money that moved, checked against the ledger's accounts (an
//! independent path: the records are built beside the settlement, the
//! accounts by it).

use agora::ledger::trades::{TradeKind, TradeRecord};
use agora::{Scenario, Simulation};

/// Buyers and sellers on a curve with a fee, and whales that dump at step 5.
fn curve_scenario(trades: bool) -> Scenario {
    curve_scenario_with(if trades {
        "[output]\ntrades = true"
    } else {
        ""
    })
}

/// The same, with `output` as its `[output]` table.
fn curve_scenario_with(output: &str) -> Scenario {
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

/// The CSV file `name` of `files`, as rows of fields (header dropped).
fn rows_of(files: &[(&str, Vec<u8>)], name: &str) -> Vec<Vec<String>> {
    let (_, bytes) = files
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no {name}"));
    let text = std::str::from_utf8(bytes).expect("text");
    text.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// A number of units written by the CSV writer, back in base units (exact:
/// the text reads back as the f64 of `base / 1e9`, which rounds back to
/// `base` below 2⁵³ base units).
fn base(text: &str) -> i128 {
    let x: f64 = text.parse().expect("a number");
    (x * SCALE as f64).round() as i128
}

use agora::ledger::SCALE;

#[test]
fn trades_csv_summed_per_agent_is_each_agents_change_of_balance_and_holdings() {
    let s = curve_scenario_with("[output]\ntrades = true\n[output.agent_steps]\nevery = 12");
    let out = Simulation::new(&s, 0).expect("set up").run().expect("run");
    let files = agora::output::run_files(&s, std::slice::from_ref(&out)).expect("files");
    let header = files
        .iter()
        .find(|(n, _)| *n == "trades.csv")
        .map(|(_, b)| {
            std::str::from_utf8(b)
                .unwrap()
                .lines()
                .next()
                .unwrap()
                .to_string()
        });
    assert_eq!(
        header.as_deref(),
        Some("run,step,agent,counterpart,asset,kind,side,quantity,price,money")
    );
    let n = s.agent_count() as usize;
    // Σ per agent of (money, tokens of T, tokens of U) the rows moved
    let mut moved = vec![(0i128, [0i128; 2]); n];
    let trades = rows_of(&files, "trades.csv");
    assert_eq!(trades.len(), out.records.trades.len());
    for r in &trades {
        let agent: usize = r[2].parse().expect("agent");
        let asset = ["T", "U"].iter().position(|a| *a == r[4]).expect("asset");
        let sign = match (r[5].as_str(), r[6].as_str()) {
            ("mint", "buy") => 1,
            ("burn", "sell") => -1,
            other => panic!("{other:?}"),
        };
        assert_eq!(r[3], "", "the curve is the counterpart");
        let (money, quantity) = (base(&r[9]), base(&r[7]));
        // price = money / quantity, per whole unit
        let price: f64 = r[8].parse().expect("price");
        assert_eq!(price, money as f64 / quantity as f64);
        moved[agent].0 -= sign * money;
        moved[agent].1[asset] += sign * quantity;
    }
    // agent_steps.csv: run,step,group,agent,balance,holdings,wealth,holdings_T,holdings_U,...
    let mut start = vec![(0i128, [0i128; 2]); n];
    let mut end = start.clone();
    for r in rows_of(&files, "agent_steps.csv") {
        let agent: usize = r[3].parse().expect("agent");
        let account = (base(&r[4]), [base(&r[7]), base(&r[8])]);
        match r[1].as_str() {
            "0" => start[agent] = account,
            "12" => end[agent] = account,
            other => panic!("step {other}"),
        }
    }
    for a in 0..n {
        assert_eq!(start[a].0 + moved[a].0, end[a].0, "agent {a}'s balance");
        for j in 0..2 {
            assert_eq!(
                start[a].1[j] + moved[a].1[j],
                end[a].1[j],
                "agent {a}'s holdings of asset {j}"
            );
        }
    }
    // Without the log: no trades.csv, and the same tables.
    let off = curve_scenario(false);
    let out_off = Simulation::new(&off, 0)
        .expect("set up")
        .run()
        .expect("run");
    assert!(out_off.records.trades.is_empty());
    let files_off = agora::output::run_files(&off, std::slice::from_ref(&out_off)).expect("files");
    assert!(files_off.iter().all(|(name, _)| *name != "trades.csv"));
    for name in ["assets.csv", "agents.csv"] {
        let of =
            |files: &[(&str, Vec<u8>)]| files.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        assert_eq!(of(&files), of(&files_off), "{name}");
    }
}

#[test]
fn the_builder_and_scenario_toml_keep_trades_on_and_a_non_boolean_is_refused() {
    use agora::agents::{BuiltinPolicy, RandomPolicy};
    use agora::pricing::Curve;
    use agora::scenario::{AssetSpec, GroupSpec, OutputSpec, PricingSpec};
    let built = Scenario::builder()
        .steps(3)
        .seed(1)
        .asset(AssetSpec::new(
            "T",
            PricingSpec::BondingCurve {
                curve: Curve::Linear { m: 0.001, b: 1.0 },
                fee: 0.0,
            },
        ))
        .group(GroupSpec::new(
            "g",
            4,
            10.0,
            BuiltinPolicy::Random(RandomPolicy {
                asset: 0,
                p_buy: 1.0,
                p_sell: 0.0,
                buy_fraction: 0.5,
                sell_fraction: 0.0,
            }),
        ))
        .output(OutputSpec {
            trades: true,
            ..OutputSpec::default()
        })
        .build()
        .expect("valid");
    assert!(built.output().trades);
    let toml = String::from_utf8(agora::output::scenario_toml(&built).expect("toml")).unwrap();
    let again = Scenario::from_toml_str(&toml, "again").expect("reads back");
    assert!(again.output().trades);
    let out = Simulation::new(&again, 0)
        .expect("set up")
        .run()
        .expect("run");
    // everyone buys at every step
    assert_eq!(out.records.trades.len(), 12);
    let e = Scenario::from_toml_str(&toml.replace("trades = true", "trades = 1"), "bad")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("output.trades") && e.contains("expected true or false"),
        "{e}"
    );
}
