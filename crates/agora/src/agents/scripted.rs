//! A scripted policy, for tests and what-if runs: every agent of the group
//! does what the script says at the steps it names, and holds otherwise.
//!
//! ```toml
//! policy = { kind = "scripted", actions = [
//!   { step = 1, action = "buy", asset = "X", spend = 20.0, max_slippage = 0.1 },
//!   { step = 5, action = "sell", asset = "X", amount = 10.0 },
//! ] }
//! ```
//!
//! A `buy` spends `spend` money (at most the agent's balance: the rest is
//! clipped), a `sell` sells `amount` tokens (at most its holdings), as
//! market orders on whatever prices the asset (a curve, a market, an AMM).
//! `max_slippage` (AMM assets only) makes the trade an
//! [`Action::Swap`] that fails, unexecuted, when the pool pays less than
//! `(1 − max_slippage)` times the quote the agent decided on.
//! `priority_fee` (money units, AMM assets with `ordering = "mempool"`
//! only) bids for an earlier place in the step's queue; it makes the trade
//! a swap too (with `max_slippage = 1`, any output, unless one is given).

use super::{Action, AgentRng, AgentView, Observation, Policy, Side};

/// What one entry of a script does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScriptedTrade {
    /// Spend `spend` money units buying.
    Buy {
        /// Money units.
        spend: f64,
    },
    /// Sell `amount` token units.
    Sell {
        /// Token units.
        amount: f64,
    },
}

/// One entry of a script: at `step`, trade `asset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScriptedAction {
    /// The step it happens at (from 1).
    pub step: u64,
    /// Index of the asset.
    pub asset: usize,
    /// The trade.
    pub trade: ScriptedTrade,
    /// The trade's amount in base units (the spend or the amount).
    pub base: u64,
    /// The slippage tolerance in [0, 1], for a swap on an AMM.
    pub max_slippage: Option<f64>,
    /// The priority fee bid on a mempool AMM, base units of money (0: none).
    pub priority_fee: u64,
}

impl ScriptedAction {
    /// The action the entry is, for the engine.
    pub fn action(&self) -> Action {
        let asset = self.asset as u32;
        let side = match self.trade {
            ScriptedTrade::Buy { .. } => Side::Buy,
            ScriptedTrade::Sell { .. } => Side::Sell,
        };
        let slippage = match (self.max_slippage, self.priority_fee) {
            (None, 0) => None,
            (s, _) => Some(s.unwrap_or(1.0)),
        };
        match (slippage, side) {
            (Some(s), side) => Action::Swap {
                asset,
                side,
                amount: self.base,
                // In [0, 1]: the product is at most 10⁹, exact once rounded.
                max_slippage: (s.clamp(0.0, 1.0) * 1e9).round() as u32,
                priority_fee: self.priority_fee,
            },
            (None, Side::Buy) => Action::Buy {
                asset,
                spend: self.base,
            },
            (None, Side::Sell) => Action::Sell {
                asset,
                amount: self.base,
            },
        }
    }
}

/// The `scripted` policy: its entries, in step order, at most one a step.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedPolicy {
    actions: Vec<ScriptedAction>,
    /// Each entry's index in the script as written.
    sources: Vec<usize>,
}

impl ScriptedPolicy {
    /// The policy of `actions`, or the index of an entry whose step an
    /// earlier entry already has (one action a step).
    pub fn new(actions: Vec<ScriptedAction>) -> Result<Self, usize> {
        let mut order: Vec<usize> = (0..actions.len()).collect();
        order.sort_by_key(|&i| (actions[i].step, i));
        if let Some(w) = order
            .windows(2)
            .find(|w| actions[w[0]].step == actions[w[1]].step)
        {
            return Err(w[1]);
        }
        let sorted = order.iter().map(|&i| actions[i]).collect();
        Ok(ScriptedPolicy {
            actions: sorted,
            sources: order,
        })
    }

    /// The entries with their indices in the script as written, in step
    /// order.
    pub fn entries(&self) -> impl Iterator<Item = (usize, &ScriptedAction)> {
        self.sources.iter().copied().zip(&self.actions)
    }

    /// The index, in the script as written, of the first entry that trades
    /// `asset` (0 if none does).
    pub fn source_index(&self, asset: usize) -> usize {
        self.entries()
            .filter(|(_, a)| a.asset == asset)
            .map(|(i, _)| i)
            .min()
            .unwrap_or(0)
    }

    /// The entries, in step order.
    pub fn actions(&self) -> &[ScriptedAction] {
        &self.actions
    }

    /// The entry for `step`, if any.
    pub fn at(&self, step: u64) -> Option<&ScriptedAction> {
        self.actions
            .binary_search_by_key(&step, |a| a.step)
            .ok()
            .map(|i| &self.actions[i])
    }
}

impl Policy for ScriptedPolicy {
    fn decide(&self, obs: &Observation<'_>, _me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        self.at(obs.step)
            .map_or(Action::Hold, ScriptedAction::action)
    }

    fn assets(&self) -> Vec<usize> {
        let mut assets: Vec<usize> = self.actions.iter().map(|a| a.asset).collect();
        assets.sort_unstable();
        assets.dedup();
        assets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(step: u64, trade: ScriptedTrade, max_slippage: Option<f64>) -> ScriptedAction {
        ScriptedAction {
            step,
            asset: 0,
            trade,
            base: 5_000_000_000,
            max_slippage,
            priority_fee: 0,
        }
    }

    #[test]
    fn each_step_gets_its_entry_and_the_rest_hold() {
        let p = ScriptedPolicy::new(vec![
            entry(5, ScriptedTrade::Sell { amount: 5.0 }, None),
            entry(1, ScriptedTrade::Buy { spend: 5.0 }, Some(0.1)),
        ])
        .unwrap();
        assert_eq!(p.actions()[0].step, 1, "sorted by step");
        assert_eq!(
            p.at(1).map(ScriptedAction::action),
            Some(Action::Swap {
                asset: 0,
                side: Side::Buy,
                amount: 5_000_000_000,
                max_slippage: 100_000_000,
                priority_fee: 0,
            })
        );
        assert_eq!(
            p.at(5).map(ScriptedAction::action),
            Some(Action::Sell {
                asset: 0,
                amount: 5_000_000_000
            })
        );
        assert_eq!(p.at(3), None);
    }

    /// The entry an error about an asset points at is the first one, as
    /// written, that trades it: in a script of assets 1, 0, 1, 2 (steps 3,
    /// 1, 2, 4), entry 0 for asset 1, entry 1 for asset 0, entry 3 for
    /// asset 2, and 0 for an asset no entry trades.
    #[test]
    fn the_source_index_is_the_first_entry_as_written_on_the_asset() {
        let buy = ScriptedTrade::Buy { spend: 1.0 };
        let on = |step, asset| ScriptedAction {
            asset,
            ..entry(step, buy, None)
        };
        let p = ScriptedPolicy::new(vec![on(3, 1), on(1, 0), on(2, 1), on(4, 2)]).unwrap();
        let found: Vec<usize> = [1, 0, 2, 5].map(|a| p.source_index(a)).to_vec();
        assert_eq!(found, vec![0, 1, 3, 0]);
    }

    #[test]
    fn two_entries_for_one_step_are_refused_naming_the_second() {
        let buy = ScriptedTrade::Buy { spend: 1.0 };
        let r = ScriptedPolicy::new(vec![
            entry(2, buy, None),
            entry(1, buy, None),
            entry(2, buy, None),
        ]);
        assert_eq!(r, Err(2));
    }

    /// A script declares each asset it trades once, in order: entries on
    /// assets 2, 0 and 2 declare 0 and 2.
    #[test]
    fn a_script_declares_each_asset_it_trades_once_in_order() {
        let buy = ScriptedTrade::Buy { spend: 1.0 };
        let on = |step, asset| ScriptedAction {
            asset,
            ..entry(step, buy, None)
        };
        let p = ScriptedPolicy::new(vec![on(1, 2), on(2, 0), on(3, 2)]).unwrap();
        assert_eq!(p.assets(), vec![0, 2]);
    }
}
