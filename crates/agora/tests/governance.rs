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
            halt_steps: 3
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
