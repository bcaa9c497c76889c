//! The built-in example scenarios, compiled into the library.

use super::Scenario;
use crate::error::{Error, Result};

/// A built-in scenario.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// The name `agora run --example NAME` takes.
    pub name: &'static str,
    /// One line on what it shows.
    pub description: &'static str,
    /// The scenario file's text.
    pub toml: &'static str,
}

const EXAMPLES: &[Example] = &[
    Example {
        name: "token-economy",
        description: "five kinds of traders on a linear curve with a fee, an airdrop and a ramped slope",
        toml: include_str!("../../scenarios/token-economy.toml"),
    },
    Example {
        name: "reference",
        description: "the reference model: 10,000 noise traders on P = 0.001 S + 1 (peers in other frameworks)",
        toml: include_str!("../../scenarios/reference.toml"),
    },
    Example {
        name: "curve-linear",
        description: "noise and fundamental traders on a linear curve",
        toml: include_str!("../../scenarios/curve-linear.toml"),
    },
    Example {
        name: "curve-exponential",
        description: "noise and fundamental traders on an exponential curve",
        toml: include_str!("../../scenarios/curve-exponential.toml"),
    },
    Example {
        name: "curve-sigmoid",
        description: "noise and fundamental traders on a sigmoid curve",
        toml: include_str!("../../scenarios/curve-sigmoid.toml"),
    },
    Example {
        name: "curve-power",
        description: "noise and fundamental traders on a power curve",
        toml: include_str!("../../scenarios/curve-power.toml"),
    },
    Example {
        name: "curve-bancor",
        description: "noise and fundamental traders on a Bancor curve (reserve ratio 0.5)",
        toml: include_str!("../../scenarios/curve-bancor.toml"),
    },
    Example {
        name: "curve-optimization",
        description: "momentum and noise traders on a linear curve whose m and b `agora optimize` tunes to minimise volatility",
        toml: include_str!("../../scenarios/curve-optimization.toml"),
    },
    Example {
        name: "whale-dump",
        description: "whales dump half their tokens at step 50; dip buyers absorb it (stability metrics)",
        toml: include_str!("../../scenarios/whale-dump.toml"),
    },
];

/// Returns every built-in example.
pub fn examples() -> &'static [Example] {
    EXAMPLES
}

/// Returns the built-in example `name`, parsed and validated.
pub fn example(name: &str) -> Result<Scenario> {
    let ex = EXAMPLES.iter().find(|e| e.name == name).ok_or_else(|| {
        let names: Vec<_> = EXAMPLES.iter().map(|e| e.name).collect();
        Error::usage(format!(
            "unknown example {name:?}; expected one of: {}",
            names.join(", ")
        ))
    })?;
    Scenario::from_toml_str(ex.toml, &format!("<example {name}>"))
}
