//! # Agora
//!
//! Fast, exact, reproducible agent-based simulation of economies of
//! autonomous agents.
//!
//! A [`Scenario`] holds *assets* (tokens priced by a bonding curve or a
//! market, and resources) and *groups of agents* (a count, an initial
//! balance and holdings, a [`Policy`]). A [`Simulation`] runs it in discrete
//! steps, each in the fixed phase order of the design (open the markets,
//! govern, decide, execute, clear, consume, learn, record and check); money and tokens live in an integer [`Ledger`] and are conserved
//! to the base unit, which the engine checks after every step. The same
//! scenario, seed and run index give bit-identical results at any number of
//! threads.
//!
//! | concept | module |
//! |---|---|
//! | scenario files and validation; user kinds registered by name ([`scenario::Registry`]) | [`scenario`] |
//! | bonding curves and settlement | [`pricing`] |
//! | price mechanisms ([`market::Mechanism`]): order books, auctions, equilibrium, price adjustment, posted prices, AMMs | [`market`] |
//! | feedback controllers and other governance rules | [`governance`] |
//! | monitors: detectors of manipulation, alerts, precision and recall against attackers ([`monitor::Detector`]) | [`monitor`] |
//! | resource markets and allocation rules ([`resource::alloc::Allocation`]) | [`resource`] |
//! | agents, actions, policies | [`agents`] |
//! | learning algorithms: Q-learning, bandits, policy gradient | [`agents::learners`] |
//! | the integer ledger | [`ledger`] |
//! | the step loop, records, summaries | [`engine`] |
//! | series statistics | [`metrics`] |
//! | CSV / JSON output | [`output`] |
//! | normal-form games: equilibria, best responses, dynamics | [`games`] |
//! | memory estimates and limits | [`limits`] |
//!
//! ```
//! use agora::{Scenario, Simulation};
//!
//! let scenario = Scenario::from_toml_str(r#"
//!     [simulation]
//!     steps = 20
//!     seed = 1
//!
//!     [[assets]]
//!     name = "TOKEN"
//!     pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }
//!
//!     [[agents]]
//!     group = "noise"
//!     count = 100
//!     balance = 1000.0
//!     policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
//! "#, "inline")?;
//! let out = Simulation::new(&scenario, 0)?.run()?;
//! let token = &out.summary.assets["TOKEN"];
//! assert!(token.final_price > 1.0);
//! assert_eq!(out.summary.ledger.conservation_error, 0.0);
//! # Ok::<(), agora::Error>(())
//! ```

pub mod agents;
pub mod contracts;
pub mod engine;
mod error;
pub mod experiment;
pub mod games;
pub mod governance;
pub mod incentives;
pub mod ledger;
pub mod limits;
pub mod market;
pub mod metrics;
pub mod monitor;
pub mod output;
pub mod pricing;
pub mod resource;
pub mod rng;
pub mod scenario;
#[cfg(test)]
mod test_support;

pub use agents::{Action, AgentView, Observation, Policy};
pub use engine::{RunOutput, Simulation};
pub use error::{Argument, Error, ErrorKind, Result};
pub use ledger::Ledger;
pub use scenario::Scenario;
