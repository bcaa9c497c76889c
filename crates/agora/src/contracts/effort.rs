//! The affiliates' effort as an agent's action ([`Action::Effort`]).

use crate::agents::{Action, AgentRng, AgentView, Observation, Policy};

/// `effort`: an affiliate that gives the same effort every step
/// (`policy = { kind = "effort", level = 1.0 }`). Under a contract whose
/// affiliates are its group, the effort replaces the contract's `effort`
/// table for the step; elsewhere it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct EffortPolicy {
    /// The effort, base units (10⁹ = an effort of 1).
    pub level: u64,
}

impl Policy for EffortPolicy {
    fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
        Action::Effort { level: self.level }
    }
}
