//! Governance: rules that adjust a running economy's parameters, such as
//! feedback controllers that hold a measured quantity at a target.
//!
//! The rules here are pure: they read measurements and return new parameter
//! values; the engine decides what a value controls (a curve parameter, a
//! posted price, a fee) and applies it.
//!
//! - [`action`]: [`GovernanceAction`], what every rule may do (set a typed
//!   parameter of any mechanism, halt or resume a market, pay an agent),
//!   and the [`CircuitBreaker`] rule;
//! - [`pi`]: a proportional–integral controller with a leaky integral,
//!   clamps and an update period, as in RAI's redemption-rate controller.

pub mod action;
pub mod pi;

pub use action::{CircuitBreaker, GovernanceAction, Param};
pub use pi::{PiConfig, PiController};

/// A governance rule's setting is outside its allowed range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GovernanceError {
    /// A parameter is outside its allowed range.
    #[error("invalid {rule} parameter `{param}`: expected {expected}, found {found}")]
    InvalidParameter {
        /// The rule, as named in configuration, e.g. `"pi_controller"`.
        rule: &'static str,
        /// The parameter, as named in configuration, e.g. `"leak"`.
        param: &'static str,
        /// The allowed values.
        expected: &'static str,
        /// The offending value.
        found: String,
    },
}
