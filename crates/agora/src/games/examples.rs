//! The built-in example games, compiled into the library
//! (`crates/agora/games/NAME.toml`).

use super::game::NormalFormGame;
use crate::error::{Error, Result};

/// A built-in game.
#[derive(Debug, Clone, Copy)]
pub struct GameExample {
    /// The name `agora game solve --example NAME` takes.
    pub name: &'static str,
    /// One line on what it shows.
    pub description: &'static str,
    /// The game file's text.
    pub toml: &'static str,
}

const EXAMPLES: &[GameExample] = &[
    GameExample {
        name: "hawk-dove",
        description:
            "Dawkins' hawk-dove: two pure equilibria and the mixed one, 7/12 hawk, the ESS",
        toml: include_str!("../../games/hawk-dove.toml"),
    },
    GameExample {
        name: "prisoners-dilemma",
        description: "the prisoner's dilemma: defection is dominant, one equilibrium",
        toml: include_str!("../../games/prisoners-dilemma.toml"),
    },
    GameExample {
        name: "matching-pennies",
        description: "zero-sum, only the uniform equilibrium",
        toml: include_str!("../../games/matching-pennies.toml"),
    },
    GameExample {
        name: "rock-paper-scissors",
        description:
            "zero-sum and symmetric, only the uniform equilibrium; fictitious play converges",
        toml: include_str!("../../games/rock-paper-scissors.toml"),
    },
    GameExample {
        name: "shapley",
        description: "Shapley's 3x3 game: one uniform equilibrium, and fictitious play cycles",
        toml: include_str!("../../games/shapley.toml"),
    },
    GameExample {
        name: "coordination-3",
        description: "pure coordination A = B = I: 2^3 - 1 = 7 equilibria",
        toml: include_str!("../../games/coordination-3.toml"),
    },
    GameExample {
        name: "stag-hunt",
        description: "two pure equilibria and a mixed one (stag with probability 2/3)",
        toml: include_str!("../../games/stag-hunt.toml"),
    },
    GameExample {
        name: "battle-of-the-sexes",
        description: "two pure equilibria and a mixed one (own favourite with probability 3/5)",
        toml: include_str!("../../games/battle-of-the-sexes.toml"),
    },
];

/// The built-in example games.
pub fn game_examples() -> &'static [GameExample] {
    EXAMPLES
}

/// The built-in game `name`, parsed.
pub fn game_example(name: &str) -> Result<NormalFormGame> {
    let example = EXAMPLES.iter().find(|e| e.name == name).ok_or_else(|| {
        let names: Vec<&str> = EXAMPLES.iter().map(|e| e.name).collect();
        Error::usage(format!(
            "unknown example game {name:?}; expected one of: {}",
            names.join(", ")
        ))
    })?;
    NormalFormGame::from_toml_str(example.toml, &format!("<example {name}>"))
}
