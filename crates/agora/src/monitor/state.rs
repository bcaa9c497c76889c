//! Detectors of market states rather than of trades: concentration of
//! holdings and collusive prices.

use super::{decode, encode, Alert, Detector, StepView};
use crate::ledger::AgentId;
use crate::scenario::monitors::Measure;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// When a state detector alerts: when its measure is at the threshold or
/// above and it has not alerted in the last `window` steps (so a measure
/// that stays there, or goes back and forth across it, alerts once a
/// window).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Persist {
    last: Option<u64>,
}

impl Persist {
    fn due(&mut self, above: bool, t: u64, window: u64) -> bool {
        let due = above && self.last.is_none_or(|l| t >= l + window);
        if due {
            self.last = Some(t);
        }
        due
    }
}

/// Concentration of holdings: the Herfindahl index `Σ sᵢ²` of the agents'
/// shares of the asset held (free holdings), or the Gini coefficient of
/// the holdings over all agents. An alert when it reaches the threshold
/// (at most once every `window` steps), naming the largest
/// holders that together hold half of what agents hold.
#[derive(Debug)]
pub struct ConcentrationDetector {
    threshold: f64,
    window: u64,
    measure: Measure,
    state: Persist,
}

impl ConcentrationDetector {
    /// A detector alerting at `threshold` of `measure`.
    pub fn new(threshold: f64, window: u64, measure: Measure) -> Self {
        ConcentrationDetector {
            threshold,
            window: window.max(1),
            measure,
            state: Persist::default(),
        }
    }
}

/// The Herfindahl index of `holdings` (0 when nothing is held).
pub fn herfindahl(holdings: &[u64]) -> f64 {
    let total: u128 = holdings.iter().map(|&h| u128::from(h)).sum();
    if total == 0 {
        return 0.0;
    }
    let t = total as f64;
    holdings.iter().map(|&h| (h as f64 / t).powi(2)).sum()
}

/// The Gini coefficient of `holdings` (0 when nothing is held).
pub fn gini(holdings: &[u64]) -> f64 {
    let mut v: Vec<u64> = holdings.to_vec();
    v.sort_unstable();
    let n = v.len() as f64;
    let total: f64 = v.iter().map(|&h| h as f64).sum();
    if total <= 0.0 || v.is_empty() {
        return 0.0;
    }
    let weighted: f64 = v
        .iter()
        .enumerate()
        .map(|(i, &h)| (2.0 * (i as f64 + 1.0) - n - 1.0) * h as f64)
        .sum();
    weighted / (n * total)
}

impl Detector for ConcentrationDetector {
    fn watch(&mut self, view: &StepView<'_>, alerts: &mut Vec<Alert>) {
        let ledger = view.ledger;
        let holdings: Vec<u64> = (0..ledger.agents())
            .map(|a| ledger.holding(a as AgentId, view.asset))
            .collect();
        let (name, index) = match self.measure {
            Measure::Herfindahl => ("Herfindahl index", herfindahl(&holdings)),
            Measure::Gini => ("Gini coefficient", gini(&holdings)),
        };
        if !self
            .state
            .due(index >= self.threshold, view.step, self.window)
        {
            return;
        }
        let mut order: Vec<usize> = (0..holdings.len()).filter(|&a| holdings[a] > 0).collect();
        order.sort_by(|&a, &b| holdings[b].cmp(&holdings[a]).then(a.cmp(&b)));
        let total: u128 = holdings.iter().map(|&h| u128::from(h)).sum();
        let mut top = Vec::new();
        let mut sum: u128 = 0;
        for a in order {
            if 2 * sum >= total {
                break;
            }
            sum += u128::from(holdings[a]);
            top.push(a as AgentId);
        }
        alerts.push(Alert {
            step: view.step,
            monitor: 0,
            asset: 0,
            message: format!(
                "the holdings' {name} is {index:.4}; {} agents hold half of them",
                top.len()
            ),
            agents: top,
            score: index,
        });
    }

    fn save_state(&self) -> Vec<u8> {
        encode(&self.state)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
        self.state = decode(state)?;
        Ok(())
    }
}

/// Collusion: prices persistently above the competitive level. On a
/// posted-price market, the collusion index `Δ = (π̄ − π^N)/(π^M − π^N)`
/// of each step's profits (0 at the Nash prices, 1 at the monopoly ones),
/// averaged over the last `window` steps; an alert when the mean reaches
/// the threshold (at most once every `window` steps), naming the sellers.
#[derive(Debug)]
pub struct CollusionDetector {
    threshold: f64,
    window: u64,
    state: CollusionState,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CollusionState {
    recent: VecDeque<f64>,
    persist: Persist,
}

impl CollusionDetector {
    /// A detector alerting at a mean collusion index of `threshold`.
    pub fn new(threshold: f64, window: u64) -> Self {
        CollusionDetector {
            threshold,
            window: window.max(1),
            state: CollusionState::default(),
        }
    }
}

impl Detector for CollusionDetector {
    fn watch(&mut self, view: &StepView<'_>, alerts: &mut Vec<Alert>) {
        let Some(index) = view.collusion.filter(|x| x.is_finite()) else {
            return;
        };
        let s = &mut self.state;
        s.recent.push_back(index);
        while s.recent.len() as u64 > self.window {
            s.recent.pop_front();
        }
        let full = s.recent.len() as u64 == self.window;
        let mean = s.recent.iter().sum::<f64>() / s.recent.len() as f64;
        if !s
            .persist
            .due(full && mean >= self.threshold, view.step, self.window)
        {
            return;
        }
        alerts.push(Alert {
            step: view.step,
            monitor: 0,
            asset: 0,
            agents: view.sellers.to_vec(),
            score: mean,
            message: format!(
                "the collusion index averaged {mean:.3} over the last {} steps (0: competitive, 1: monopoly)",
                self.window
            ),
        });
    }

    fn save_state(&self) -> Vec<u8> {
        encode(&self.state)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
        self.state = decode(state)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_indices_match_their_closed_forms() {
        // One holder: HHI 1; n equal holders: 1/n, Gini 0.
        assert_eq!(herfindahl(&[0, 7, 0]), 1.0);
        assert!((herfindahl(&[5, 5, 5, 5]) - 0.25).abs() < 1e-15);
        assert_eq!(gini(&[3, 3, 3]), 0.0);
        // All held by one of n: Gini (n−1)/n.
        assert!((gini(&[0, 0, 0, 9]) - 0.75).abs() < 1e-15);
        assert_eq!(herfindahl(&[0, 0]), 0.0);
    }

    fn view(ledger: &crate::ledger::Ledger, step: u64, collusion: Option<f64>) -> StepView<'_> {
        StepView {
            step,
            asset: 0,
            trades: &[],
            history: &[],
            ledger,
            book: None,
            collusion,
            sellers: &[3, 4],
            swaps: &[],
        }
    }

    #[test]
    fn collusion_alerts_once_the_windows_mean_index_reaches_the_threshold() {
        let ledger = crate::ledger::Ledger::new(5, 1);
        let mut d = CollusionDetector::new(0.5, 4);
        let mut alerts = Vec::new();
        // Competitive for four steps, then at the monopoly prices: the
        // mean of the last four reaches 0.5 at the second monopoly step.
        for (t, x) in [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
            .iter()
            .enumerate()
        {
            d.watch(&view(&ledger, t as u64 + 1, Some(*x)), &mut alerts);
        }
        let steps: Vec<u64> = alerts.iter().map(|a| a.step).collect();
        assert_eq!(steps, [6]);
        assert_eq!(alerts[0].agents, [3, 4]);
        assert_eq!(alerts[0].score, 0.5);
        // Not a posted-price market: nothing.
        d.watch(&view(&ledger, 20, None), &mut alerts);
        assert_eq!(alerts.len(), 1);
    }

    #[test]
    fn concentration_names_the_holders_of_half() {
        let mut ledger = crate::ledger::Ledger::new(4, 1);
        for (a, h) in [(0, 10u64), (1, 60), (2, 20), (3, 10)] {
            ledger.fund_supply(0, Some(a), h, 0).unwrap();
        }
        let mut d = ConcentrationDetector::new(0.3, 5, Measure::Herfindahl);
        let mut alerts = Vec::new();
        d.watch(&view(&ledger, 1, None), &mut alerts);
        // 0.6² + 0.2² + 0.1² + 0.1² = 0.42; agent 1 holds 60%.
        assert_eq!(alerts.len(), 1);
        assert!((alerts[0].score - 0.42).abs() < 1e-12);
        assert_eq!(alerts[0].agents, [1]);
    }

    #[test]
    fn a_state_at_the_threshold_alerts_at_most_once_a_window() {
        let mut p = Persist::default();
        let due: Vec<bool> = [false, true, true, true, true, false, true, false, true]
            .iter()
            .enumerate()
            .map(|(t, &above)| p.due(above, t as u64, 3))
            .collect();
        assert_eq!(
            due,
            [false, true, false, false, true, false, false, false, true]
        );
    }
}
