//! Stand-alone analysis of two-player normal-form games: equilibria, best
//! responses, and dynamics.
//!
//! A [`NormalFormGame`] holds the row player's payoffs A and the column
//! player's B (read from a game file, see [`game`]). [`solve()`] finds its
//! Nash equilibria exactly — vertex enumeration, support enumeration, pure
//! equilibria, Lemke–Howson — and says whether it is degenerate;
//! [`best_response`] gives exact best responses and regrets; [`dynamics`]
//! runs the replicator equation, its discrete form, fictitious play (plain
//! and stochastic), best-response and logit dynamics.
//!
//! The pieces are plain functions on matrices and shares, so that
//! simulations can reuse them: a population game's revision protocols
//! ([`dynamics::logit`], [`best_response::best_response`]), the replicator
//! step of an evolving population, the equilibria and regrets of an
//! empirical game.
//!
//! ```
//! use agora::games::{solve, Method, NormalFormGame};
//!
//! let game = NormalFormGame::from_toml_str(r#"
//!     [game]
//!     strategies = ["hawk", "dove"]
//!     row = [[-25, 50], [0, 15]]
//!     column = [[-25, 0], [50, 15]]
//! "#, "hawk-dove")?;
//! let found = solve(&game, Method::All)?;
//! assert!(!found.degenerate);
//! assert_eq!(found.equilibria.len(), 3);
//! // The mixed equilibrium: hawk with probability 7/12 for both.
//! let mixed = &found.equilibria[2];
//! assert_eq!(mixed.exact_row[0].to_string(), "7/12");
//! assert_eq!(mixed.row[0], 7.0 / 12.0);
//! # Ok::<(), agora::Error>(())
//! ```

pub mod best_response;
pub mod dynamics;
pub mod egta;
pub mod exact;
pub mod examples;
pub mod game;
pub mod population;
pub mod solve;

pub use best_response::{best_responses, regret, BestResponses, Player};
pub use dynamics::{evolve, Dynamics, EvolveSpec, Mutation, Trajectory};
pub use exact::Rational;
pub use examples::{game_example, game_examples, GameExample};
pub use game::{Matrix, NormalFormGame};
pub use solve::{solve, Equilibrium, Method, Solution};
