//! The `sandwich` detector: a front-run and a back-run by one account
//! around another's swap on an AMM, found in the order the step's swaps
//! executed ([`find_sandwiches`]).

use super::{Alert, Detector, StepView};
use crate::market::amm::detect::find_sandwiches;

/// Alerts on every sandwich whose attacker's profit (money units) is at
/// least the threshold; names the attacker (the victim is in the message,
/// not among the agents flagged). Keeps no state between steps.
#[derive(Debug, Clone)]
pub struct SandwichDetector {
    threshold: f64,
}

impl SandwichDetector {
    /// A detector alerting at a profit of `threshold` or more.
    pub fn new(threshold: f64) -> Self {
        SandwichDetector { threshold }
    }
}

impl Detector for SandwichDetector {
    fn watch(&mut self, view: &StepView<'_>, alerts: &mut Vec<Alert>) {
        for f in find_sandwiches(view.swaps) {
            if f.score >= self.threshold {
                alerts.push(Alert {
                    step: view.step,
                    monitor: 0,
                    asset: view.asset as u32,
                    agents: vec![f.attacker],
                    score: f.score,
                    message: format!(
                        "agent {} swapped just before and just after agent {}'s swap, the same \
                         way and then back, for a profit of {:.6}",
                        f.attacker, f.victim, f.score
                    ),
                });
            }
        }
    }

    fn save_state(&self) -> Vec<u8> {
        Vec::new()
    }

    fn load_state(&mut self, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }
}
