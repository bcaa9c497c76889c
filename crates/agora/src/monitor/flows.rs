//! What attackers moved through each asset's trades, for
//! `assets.<asset>.manipulation_loss`.

use crate::ledger::trades::{TradeKind, TradeRecord};
use crate::ledger::{AgentId, SCALE};
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};

/// Per asset, the attackers' net money from trading it (received selling
/// less paid buying) and the net tokens they acquired, base units, summed
/// over the run's trade logs.
///
/// Fills, mints and burns count both; on a resource the money of its
/// records counts without the units (a producer never holds the units it
/// is paid for, and allocated units are used up or expire): the money a
/// producer is paid for its production counts as received, what an
/// allocation costs as paid. A resource cartel's production cost is paid
/// to the outside world, not traded, so its `manipulation_loss` is its
/// revenue, gross of that cost (its `extracted`, a change of wealth, is
/// net of it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttackFlows {
    /// The attackers' agents, as ranges of ids (empty: none, and nothing
    /// is counted).
    ranges: Vec<(AgentId, AgentId)>,
    /// Per asset: (net money, net tokens), base units.
    net: Vec<(i128, i128)>,
}

impl AttackFlows {
    /// The flows of the scenario's attacker groups (none without).
    pub fn new(scenario: &Scenario) -> Self {
        let mut ranges = Vec::new();
        let mut start: AgentId = 0;
        for g in scenario.groups() {
            let end = start + g.count;
            if g.is_attacker() {
                ranges.push((start, end));
            }
            start = end;
        }
        let net = if ranges.is_empty() {
            Vec::new()
        } else {
            vec![(0, 0); scenario.assets().len()]
        };
        AttackFlows { ranges, net }
    }

    /// Whether the scenario has attackers.
    pub fn is_on(&self) -> bool {
        !self.ranges.is_empty()
    }

    fn is_attacker(&self, agent: AgentId) -> bool {
        self.ranges.iter().any(|&(s, e)| (s..e).contains(&agent))
    }

    /// Adds a step's trade log.
    pub fn add(&mut self, trades: &[TradeRecord]) {
        if !self.is_on() {
            return;
        }
        for r in trades {
            let units_count = match r.kind {
                TradeKind::Fill | TradeKind::Mint | TradeKind::Burn => true,
                TradeKind::Allocation | TradeKind::Production => false,
                TradeKind::Transfer | TradeKind::Payment => continue,
            };
            if !self.is_attacker(r.agent) {
                continue;
            }
            let Some(cell) = self.net.get_mut(r.asset as usize) else {
                continue;
            };
            // A record's amounts are at most 2¹²⁸ money and 2⁶⁴ tokens;
            // a run sums fewer than 2⁶³ of them.
            let money = i128::try_from(r.money).unwrap_or(i128::MAX);
            let qty = if units_count {
                i128::from(r.quantity)
            } else {
                0
            };
            if r.buy {
                cell.0 -= money;
                cell.1 += qty;
            } else {
                cell.0 += money;
                cell.1 -= qty;
            }
        }
    }

    /// The value attackers took through asset `j`, money units: their net
    /// money from its trades plus their net tokens of it at `price`;
    /// `None` without attackers.
    pub fn manipulation_loss(&self, j: usize, price: f64) -> Option<f64> {
        let &(money, tokens) = self.net.get(j)?;
        let scale = SCALE as f64;
        let held = if tokens == 0 {
            0.0
        } else {
            tokens as f64 / scale * price
        };
        Some(money as f64 / scale + held)
    }
}
