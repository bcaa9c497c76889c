//! The govern phase's rules and actions: the scenario's `[[governance]]`
//! rules (PI controllers, circuit breakers) with their running state, and
//! [`Simulation::apply_governance`], through which rules and
//! [`Controller`](super::Controller)s act — set a typed parameter, halt or
//! resume a market, pay an agent.

use serde::{Deserialize, Serialize};

use super::{ParamChange, Simulation};
use crate::error::{Error, Result};
use crate::governance::{CircuitBreaker, GovernanceAction, Param, PiController};
use crate::ledger::{TradeKind, TradeRecord};
use crate::scenario::{GovernanceRule, Scenario};

/// A scenario rule with its running state (saved with the simulation's
/// state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum RuleState {
    /// A PI controller holding `asset`'s price by setting `param`.
    Pi {
        asset: usize,
        param: Param,
        pi: PiController,
    },
    /// A circuit breaker.
    Breaker(CircuitBreaker),
}

/// The running state of the scenario's rules, in file order.
pub(crate) fn rules_of(scenario: &Scenario) -> Result<Vec<RuleState>> {
    scenario
        .governance
        .iter()
        .map(|spec| match &spec.rule {
            GovernanceRule::PiController {
                asset,
                param,
                config,
            } => {
                let pi = PiController::new(config.clone()).map_err(|e| {
                    Error::scenario(
                        &scenario.origin,
                        format!("governance.{}", spec.name),
                        e.to_string(),
                    )
                })?;
                Ok(RuleState::Pi {
                    asset: *asset,
                    param: param.clone(),
                    pi,
                })
            }
            GovernanceRule::CircuitBreaker {
                asset,
                max_move,
                halt_steps,
            } => CircuitBreaker::new(*asset, *max_move, *halt_steps)
                .map(RuleState::Breaker)
                .ok_or_else(|| {
                    Error::scenario(
                        &scenario.origin,
                        format!("governance.{}", spec.name),
                        "a circuit breaker needs max_move > 0 and halt_steps >= 1",
                    )
                }),
        })
        .collect()
}

impl Simulation {
    /// Runs the scenario's rules at the start of the current step, each on
    /// the prices after the step before, and applies what they do, rule by
    /// rule in file order.
    pub(super) fn govern_rules(&mut self) -> Result<()> {
        if self.rules.is_empty() {
            return Ok(());
        }
        let t = self.step;
        let mut rules = std::mem::take(&mut self.rules);
        let mut result = Ok(());
        for (i, rule) in rules.iter_mut().enumerate() {
            let action = match rule {
                RuleState::Pi { asset, param, pi } => {
                    let price = self.price(*asset);
                    pi.update(t, price).map(|value| GovernanceAction::SetParam {
                        asset: *asset,
                        param: param.clone(),
                        value,
                    })
                }
                RuleState::Breaker(b) => b.check(t, self.price(b.asset)),
            };
            if let Some(action) = action {
                let by = format!("governance.{}", self.scenario.governance[i].name);
                result = self.apply_governance(std::slice::from_ref(&action), &by);
                if result.is_err() {
                    break;
                }
            }
        }
        self.rules = rules;
        result
    }

    /// Whether trading on asset `j` is halted (by a circuit breaker or a
    /// [`GovernanceAction::Halt`]).
    pub fn halted(&self, j: usize) -> bool {
        self.halted.get(j).copied().unwrap_or(false)
    }

    /// Applies governance actions now, in order, as the govern phase does
    /// with what rules and controllers return; `by` names who acts in
    /// error messages. A parameter change that raises a bonding curve is
    /// backed by a reserve top-up; a payment is a reward paid in from
    /// outside (counted in the ledger's money paid in, and in the trade log
    /// as a payment).
    pub fn apply_governance(&mut self, actions: &[GovernanceAction], by: &str) -> Result<()> {
        for action in actions {
            if let Some(asset) = action.asset() {
                if asset >= self.markets.len() {
                    return Err(Error::usage(format!(
                        "{by} at step {}: no asset with index {asset}",
                        self.step
                    )));
                }
            }
            match action {
                GovernanceAction::SetParam {
                    asset,
                    param,
                    value,
                } => {
                    let change = ParamChange {
                        asset: *asset,
                        param: param.name().to_string(),
                        value: *value,
                    };
                    self.apply_changes(std::slice::from_ref(&change), by)?;
                }
                GovernanceAction::Halt { asset } => {
                    self.halted[*asset] = true;
                    self.any_halted = true;
                }
                GovernanceAction::Resume { asset } => {
                    self.halted[*asset] = false;
                    self.any_halted = self.halted.iter().any(|&h| h);
                }
                GovernanceAction::Pay { agent, money } => {
                    if *agent as usize >= self.ledger.agents() {
                        return Err(Error::usage(format!(
                            "{by} at step {}: no agent with index {agent}",
                            self.step
                        )));
                    }
                    self.ledger.reward(*agent, *money).map_err(|e| {
                        Error::usage(format!(
                            "{by} at step {}: paying agent {agent} {money} base units: {e}",
                            self.step
                        ))
                    })?;
                    self.trades.push(TradeRecord {
                        step: self.step,
                        agent: *agent,
                        counterpart: None,
                        asset: crate::ledger::trades::NO_ASSET,
                        kind: TradeKind::Payment,
                        buy: false,
                        quantity: 0,
                        money: u128::from(*money),
                    });
                }
            }
        }
        Ok(())
    }
}
