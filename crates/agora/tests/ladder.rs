//! The intelligence ladder: one economy at four levels of agent
//! intelligence (rule-based; + learners; + strategic agents and
//! attackers; + governance and monitors), selected by `simulation.intelligence` — the README's table.

use agora::scenario::example;
use agora::{Scenario, Simulation};

fn at(level: u64) -> agora::RunOutput {
    let s: Scenario = example("intelligence-ladder")
        .unwrap()
        .with_param("simulation.intelligence", level as f64)
        .unwrap();
    assert_eq!(s.simulation().intelligence, Some(level));
    Simulation::new(&s, 0).unwrap().run().unwrap()
}

#[test]
fn each_level_adds_its_agents_rules_and_monitors_and_the_ledger_holds() {
    let levels: Vec<agora::RunOutput> = (0..4).map(at).collect();
    for (k, out) in levels.iter().enumerate() {
        assert_eq!(out.summary.ledger.conservation_error, 0.0, "level {k}");
        assert_eq!(
            out.summary.ledger.token_conservation_error, 0.0,
            "level {k}"
        );
        let has = |g: &str| out.summary.groups.contains_key(g);
        assert!(has("noise") && has("users"), "level {k}");
        assert_eq!(has("q_traders"), k >= 1, "level {k}");
        assert_eq!(
            has("sandwicher") && has("insiders") && has("ring") && has("evolvers"),
            k >= 2,
            "level {k}"
        );
        assert_eq!(!out.summary.governance.is_empty(), k >= 3, "level {k}");
        assert_eq!(!out.summary.monitors.is_empty(), k >= 3, "level {k}");
        // attack metrics exactly where there are attackers
        assert_eq!(
            out.summary.assets["POOL"].manipulation_loss.is_some(),
            k >= 2,
            "level {k}"
        );
    }
    // the sandwich attacker takes value at levels 2 and 3 (governance has
    // no guard for a mempool), and level 3's monitor finds exactly it
    for out in &levels[2..] {
        let taken = out.summary.groups["sandwicher"].extracted.unwrap();
        let loss = out.summary.assets["POOL"].manipulation_loss.unwrap();
        assert!(taken > 0.0 && (taken - loss).abs() < 1e-6, "{taken} {loss}");
    }
    let m = &levels[3].summary.monitors["sandwiches"];
    assert_eq!((m.precision, m.recall), (Some(1.0), Some(1.0)), "{m:?}");
    // the wash ring trades with the curve, not with itself: the detector
    // finds its four accounts by their round trips in step, and no one else
    let m = &levels[3].summary.monitors["wash"];
    assert_eq!((m.flagged, m.attackers), (4, 4), "{m:?}");
    assert_eq!((m.precision, m.recall), (Some(1.0), Some(1.0)), "{m:?}");
    // the PI controller holds compute at its 80% target through the surge;
    // at the fixed price the lower levels run hotter
    let util = |k: usize| {
        levels[k].summary.assets["COMPUTE"]
            .resource
            .as_ref()
            .unwrap()
            .utilization
    };
    assert!((util(3) - 0.8).abs() < 0.005, "{}", util(3));
    assert!(
        util(0) > 0.83 && util(0) == util(2),
        "{} {}",
        util(0),
        util(2)
    );
    // holding 80% costs allocative efficiency: at the fixed price the
    // users' elastic requests already leave capacity idle while need goes
    // unmet, the controller's higher price more so
    let efficiency = |k: usize| {
        levels[k].summary.assets["COMPUTE"]
            .resource
            .as_ref()
            .unwrap()
            .allocative_efficiency
            .unwrap()
    };
    assert!(efficiency(0) < 1.0 && efficiency(0) == efficiency(2));
    assert!(efficiency(3) < efficiency(0), "{}", efficiency(3));
    // wealth grows more unequal with learners, and again with attackers
    let gini = |k: usize| levels[k].summary.wealth_gini;
    assert!(gini(0) > 0.0 && gini(0) < gini(1) && gini(1) < gini(2) && gini(2) < 1.0);
    // the position limit clipped the insiders' buying
    assert!(levels[3].summary.governance["cap"].clipped.unwrap_or(0) > 0);
}
