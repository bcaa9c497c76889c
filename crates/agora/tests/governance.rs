//! Governance rules declared in scenario files (`[[governance]]`): read
//! strictly, addressed by name in parameter paths, and applied by the
//! engine in the govern phase.

use agora::governance::Param;
use agora::scenario::GovernanceRule;
use agora::Scenario;

use crate::bad_input::{error_of, GOOD};

const PEG: &str = r#"
[[governance]]
name = "peg"
kind = "pi_controller"
asset = "TOKEN"
param = "m"
target = 1.05
kp = -0.01
ki = -0.001
base = 0.001
min = 0.0
max = 0.01

[[governance]]
name = "breaker"
kind = "circuit_breaker"
asset = "TOKEN"
max_move = 0.2
halt_steps = 3
"#;

fn governed() -> String {
    format!("{GOOD}{PEG}")
}

#[test]
fn governance_rules_are_read_with_their_settings() {
    let s = Scenario::from_toml_str(&governed(), "gov.toml").unwrap();
    let rules = s.governance();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0].name, "peg");
    match &rules[0].rule {
        GovernanceRule::PiController {
            asset,
            param,
            config,
            ..
        } => {
            assert_eq!((*asset, param), (0, &Param::Curve("m".into())));
            assert_eq!((config.target, config.kp, config.ki), (1.05, -0.01, -0.001));
            assert_eq!((config.leak, config.period), (1.0, 1));
            assert_eq!((config.min, config.max), (Some(0.0), Some(0.01)));
        }
        other => panic!("expected a PI controller, found {other:?}"),
    }
    assert_eq!(
        rules[1].rule,
        GovernanceRule::CircuitBreaker {
            asset: 0,
            max_move: 0.2,
            halt_steps: 3,
            window: 1
        }
    );
}

#[test]
fn a_rules_setting_is_a_parameter_path_for_sweeps() {
    let s = Scenario::from_toml_str(&governed(), "gov.toml").unwrap();
    assert_eq!(s.param("governance.peg.kp").unwrap(), -0.01);
    let edited = s.with_param("governance.peg.kp", -0.5).unwrap();
    match &edited.governance()[0].rule {
        GovernanceRule::PiController { config, .. } => assert_eq!(config.kp, -0.5),
        other => panic!("{other:?}"),
    }
    let e = s
        .with_param("governance.nope.kp", 1.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no rule \"nope\"") && e.contains("peg"), "{e}");
}

#[test]
fn bad_governance_is_refused_naming_the_field() {
    let cases = [
        (
            PEG.replace("param = \"m\"", "param = \"q\""),
            "governance.peg.param",
            "\"q\" is not a parameter of asset \"TOKEN\"",
        ),
        (
            PEG.replace("kind = \"pi_controller\"", "kind = \"pid\""),
            "governance.peg.kind",
            "pi_controller",
        ),
        (
            PEG.replace("max_move = 0.2", "max_move = 0.0"),
            "governance.breaker.max_move",
            "> 0",
        ),
        (
            PEG.replace("halt_steps = 3", "halt_steps = 0"),
            "governance.breaker.halt_steps",
            "1",
        ),
        (
            PEG.replace("asset = \"TOKEN\"\nparam", "asset = \"GOLD\"\nparam"),
            "governance.peg.asset",
            "TOKEN",
        ),
        (
            PEG.replace("name = \"breaker\"", "name = \"peg\""),
            "governance.peg.name",
            "names must differ",
        ),
        (
            PEG.replace("max = 0.01", "max = 0.01\nmaxx = 1.0"),
            "governance.peg",
            "maxx",
        ),
        (
            PEG.replace("base = 0.001\n", ""),
            "governance.peg.base",
            "missing",
        ),
        (
            PEG.replace("min = 0.0\nmax = 0.01", "min = 0.1\nmax = 0.01"),
            "governance.peg.max",
            "at least `min`",
        ),
    ];
    for (gov, path, part) in cases {
        let msg = error_of(&format!("{GOOD}{gov}"));
        assert!(
            msg.starts_with(&format!("bad.toml: {path}")),
            "{path}: {msg}"
        );
        assert!(msg.contains(part), "{part:?} in {msg}");
    }
}

/// A market with no trades, whose only mover is the controller: a curve
/// `P = m·S + b` with a fixed supply `S`, steered by a P-only controller
/// on `b`. Each update sets `b = base + kp·(r − P)` from the price after
/// the step before, so the price follows `P' = m·S + base + kp·(r − P)`,
/// whose fixed point is `P* = (m·S + base + kp·r) / (1 + kp)`: the
/// proportional controller's steady-state error (Åström & Murray §11.1).
#[test]
fn a_p_only_controller_settles_at_its_closed_form_steady_state() {
    let (m, s0, base, kp, r) = (0.001, 1000.0, 0.5, 0.6, 3.0);
    let text = format!(
        r#"
[simulation]
steps = 120
seed = 3

[[assets]]
name = "TOKEN"
initial_supply = {s0}
pricing = {{ kind = "bonding_curve", curve = "linear", m = {m}, b = 1.0 }}

[[agents]]
group = "idle"
count = 3
balance = 10.0
policy = {{ kind = "random", asset = "TOKEN", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }}

[[governance]]
name = "peg"
kind = "pi_controller"
asset = "TOKEN"
param = "b"
target = {r}
kp = {kp}
ki = 0.0
base = {base}
"#
    );
    let s = Scenario::from_toml_str(&text, "peg.toml").unwrap();
    let out = agora::Simulation::new(&s, 0).unwrap().run().unwrap();
    let fixed = (m * s0 + base + kp * r) / (1.0 + kp);
    // The first step's price, from b = base + kp·(r − P0) with P0 = m·S + 1.
    let p0 = m * s0 + 1.0;
    let p1 = m * s0 + base + kp * (r - p0);
    let prices: Vec<f64> = out.records.assets.iter().map(|a| a.price).collect();
    assert!((prices[1] - p1).abs() < 1e-12, "{} vs {p1}", prices[1]);
    // The error shrinks by kp each step: after 120 steps, 0.6^120 ≈ 1e-27.
    assert!(
        (prices[120] - fixed).abs() < 1e-12,
        "{} vs {fixed}",
        prices[120]
    );
    assert_ne!(fixed, r, "a P-only controller leaves an error");
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}

/// With an integral term the error goes to zero: the price reaches the
/// target itself.
#[test]
fn an_integral_term_removes_the_steady_state_error() {
    let text = format!(
        "{GOOD}{}",
        r#"
[[governance]]
name = "peg"
kind = "pi_controller"
asset = "TOKEN"
param = "b"
target = 2.5
kp = 0.3
ki = 0.2
base = 1.0
min = 0.0
max = 5.0
"#
    )
    .replace("steps = 10", "steps = 200");
    let s = Scenario::from_toml_str(&text, "pi.toml").unwrap();
    let out = agora::Simulation::new(&s, 0).unwrap().run().unwrap();
    let late: Vec<f64> = out.records.assets[150..].iter().map(|a| a.price).collect();
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    assert!((mean - 2.5).abs() < 0.01, "mean price {mean}");
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}

/// The whales' dump at the start of step 50 moves the price by far more
/// than 20%. The breaker, checked in the same govern phase after the
/// events, halts trading at once: step 50 has the whales' five sales and
/// nothing else, steps 51 and 52 no trade at all (every action is
/// rejected), and trading resumes at step 53.
#[test]
fn a_circuit_breaker_halts_trading_after_a_crash_and_resumes_it() {
    let mut s = agora::scenario::example("whale-dump").unwrap();
    s.set_steps(60).unwrap();
    let text = format!(
        "{}\n[[governance]]\nname = \"breaker\"\nkind = \"circuit_breaker\"\nasset = \"TOKEN\"\nmax_move = 0.2\nhalt_steps = 3\n",
        agora::scenario::examples().iter().find(|e| e.name == "whale-dump").unwrap().toml
    )
    .replace("steps = 150", "steps = 60");
    let governed = Scenario::from_toml_str(&text, "breaker.toml").unwrap();
    let free = agora::Simulation::new(&s, 0).unwrap().run().unwrap();
    let out = agora::Simulation::new(&governed, 0).unwrap().run().unwrap();
    let trades = |o: &agora::RunOutput, t: usize| o.records.assets[t].trades;
    let price = |o: &agora::RunOutput, t: usize| o.records.assets[t].price;
    // Identical up to the crash.
    for t in 0..50 {
        assert_eq!(out.records.assets[t], free.records.assets[t], "step {t}");
    }
    assert!(price(&out, 50) / price(&out, 49) < 0.8);
    assert_eq!(trades(&out, 50), 5, "the five whales' sales only");
    for t in 51..=52 {
        assert_eq!(trades(&out, t), 0, "step {t} is halted");
        assert_eq!(price(&out, t), price(&out, 50), "step {t}");
    }
    assert!(trades(&out, 53) > 100, "trading resumes");
    assert!(out.summary.ledger.rejected_actions > free.summary.ledger.rejected_actions);
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}

/// Governance sets a curve's fee like any other parameter: trades after it
/// pay the new share into the fee pool; a share of 1 or more is refused
/// and changes nothing.
#[test]
fn governance_sets_a_curves_fee_and_refuses_an_impossible_one() {
    use agora::governance::GovernanceAction;
    let s = Scenario::from_toml_str(GOOD, "fee.toml").unwrap();
    let mut sim = agora::Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    assert_eq!(sim.ledger().books(0).fee_pool, 0, "no fee yet");
    let set = |value| GovernanceAction::SetParam {
        asset: 0,
        param: Param::Fee,
        value,
    };
    let e = sim
        .apply_governance(&[set(1.0)], "test")
        .unwrap_err()
        .to_string();
    assert!(e.contains("fee") && e.contains("[0, 1)"), "{e}");
    assert_eq!(sim.curve(0).unwrap().fee(), 0.0);
    sim.apply_governance(&[set(0.25)], "test").unwrap();
    assert_eq!(sim.curve(0).unwrap().fee(), 0.25);
    sim.advance().unwrap();
    assert!(sim.ledger().books(0).fee_pool > 0);
    assert_eq!(sim.ledger().conservation().money_error(), 0);
}

/// Governance sets a renewing resource's capacity and its fixed price:
/// from the step it is set, the step's capacity is the new one and every
/// allocated unit is paid at the new price; an auction's price and a
/// negative capacity are refused.
#[test]
fn governance_sets_a_resources_capacity_and_price() {
    use agora::governance::GovernanceAction;
    let mut s = agora::scenario::example("resource-fcfs").unwrap();
    s.set_steps(6).unwrap();
    let mut sim = agora::Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    let set = |param, value| GovernanceAction::SetParam {
        asset: 0,
        param,
        value,
    };
    sim.apply_governance(
        &[set(Param::Capacity, 250.0), set(Param::Price, 0.75)],
        "test",
    )
    .unwrap();
    let e = sim
        .apply_governance(&[set(Param::Capacity, -1.0)], "test")
        .unwrap_err()
        .to_string();
    assert!(e.contains("capacity"), "{e}");
    while sim.step() < 6 {
        sim.advance().unwrap();
    }
    let out = sim.finish().unwrap();
    for r in &out.records.assets[2..] {
        // demand is 1.6 × the original 600: the 250 are all taken.
        assert_eq!(r.capacity, Some(250.0), "step {}", r.step);
        assert_eq!(r.allocated, Some(250.0), "step {}", r.step);
        assert_eq!(r.price, 0.75, "step {}", r.step);
    }
    assert_eq!(out.summary.ledger.conservation_error, 0.0);

    let mut auction = agora::scenario::example("resource-auction").unwrap();
    auction.set_steps(2).unwrap();
    let mut sim = agora::Simulation::new(&auction, 0).unwrap();
    let e = sim
        .apply_governance(&[set(Param::Price, 1.0)], "test")
        .unwrap_err()
        .to_string();
    assert!(e.contains("auction"), "{e}");
}

/// Governance sets a price-adjustment market's posted price: the step
/// trades at it, and the rule moves on from it.
#[test]
fn governance_sets_a_posted_price() {
    use agora::governance::GovernanceAction;
    let mut s = agora::scenario::example("price-adjustment").unwrap();
    s.set_steps(4).unwrap();
    let mut sim = agora::Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    let posted = 123.5;
    sim.apply_governance(
        &[GovernanceAction::SetParam {
            asset: 0,
            param: Param::Price,
            value: posted,
        }],
        "test",
    )
    .unwrap();
    assert_eq!(sim.price(0), posted);
    sim.advance().unwrap();
    // Every fill of step 2 is at the posted price.
    let fills: Vec<_> = sim.trades().to_vec();
    let mut sim_log = agora::Simulation::new(&s, 0).unwrap();
    sim_log.set_trade_log(true);
    sim_log.advance().unwrap();
    sim_log
        .apply_governance(
            &[GovernanceAction::SetParam {
                asset: 0,
                param: Param::Price,
                value: posted,
            }],
            "test",
        )
        .unwrap();
    sim_log.advance().unwrap();
    let logged = sim_log.trades();
    assert!(
        fills.is_empty() && !logged.is_empty(),
        "the log is off, then on"
    );
    for f in logged {
        assert!((f.price() - posted).abs() < 1e-6, "{f:?}");
    }
    let mut book = agora::scenario::example("market-clearing").unwrap();
    book.set_steps(2).unwrap();
    let e = agora::Simulation::new(&book, 0)
        .unwrap()
        .apply_governance(
            &[GovernanceAction::SetParam {
                asset: 0,
                param: Param::Price,
                value: 1.0,
            }],
            "test",
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("order_book"), "{e}");
}

/// `Simulation::halted` says which markets a halt holds, step by step, and
/// governance aimed at an asset or an agent that does not exist is refused
/// without touching anything.
#[test]
fn halts_are_visible_and_actions_on_missing_assets_or_agents_are_refused() {
    use agora::governance::GovernanceAction;
    let s = Scenario::from_toml_str(GOOD, "halt.toml").unwrap();
    let mut sim = agora::Simulation::new(&s, 0).unwrap();
    assert!(!sim.halted(0));
    sim.apply_governance(&[GovernanceAction::Halt { asset: 0 }], "test")
        .unwrap();
    assert!(sim.halted(0));
    sim.advance().unwrap();
    assert_eq!(
        sim.records().assets[1].trades,
        0,
        "a halted market trades nothing"
    );
    sim.apply_governance(&[GovernanceAction::Resume { asset: 0 }], "test")
        .unwrap();
    assert!(!sim.halted(0));
    for bad in [
        GovernanceAction::Halt { asset: 1 },
        GovernanceAction::Pay {
            agent: 10,
            money: 1,
        },
    ] {
        let e = sim
            .apply_governance(&[bad], "test")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no asset with index 1") || e.contains("no agent with index 10"),
            "{e}"
        );
    }
    let before = sim.ledger().clone();
    sim.apply_governance(&[GovernanceAction::Pay { agent: 3, money: 7 }], "test")
        .unwrap();
    assert_eq!(sim.ledger().balance(3), before.balance(3) + 7);
    assert_eq!(sim.ledger().conservation().money_error(), 0);
}
