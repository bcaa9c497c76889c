//! The step's trade log: every fill, transfer and payment as a record.
//!
//! Mechanisms append to the log as they settle (the curve path, the order
//! book, batch clearing, resource allocation, producer payments), so that
//! policies (through their feedback), monitors, contracts and the
//! `trades.csv` output see the same records, in the order the ledger moved
//! them. A log that is off ([`TradeLog::off`]) records nothing and costs one
//! predictable branch per push, so runs that need no log pay nothing for it.
//!
//! Amounts are the ledger's integers: `quantity` in token (or resource)
//! base units, `money` the exact money that moved for them, in base units.
//! The price per whole unit is derived from the two ([`TradeRecord::price`]).

use serde::{Deserialize, Serialize};

use super::{to_units, wide_to_units, AgentId};

/// The `asset` of a record that moved money only (a payment): no asset.
pub const NO_ASSET: u32 = u32::MAX;

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TradeKind {
    /// A buy from a bonding curve: money into the reserve, tokens minted.
    Mint,
    /// A sell to a bonding curve: tokens burned, money out of the reserve.
    Burn,
    /// A fill between two agents (order book, call auction, equilibrium),
    /// or between an agent and the outside world (`counterpart` none).
    Fill,
    /// Units of a resource allocated to an agent.
    Allocation,
    /// A producer paid for units it made.
    Production,
    /// Money or tokens moved from one agent to another (a contract, a
    /// governance payment).
    Transfer,
    /// A payment from a funding source to an agent (a reward, an incentive).
    Payment,
}

impl TradeKind {
    /// The name written in `trades.csv`.
    pub fn name(self) -> &'static str {
        match self {
            TradeKind::Mint => "mint",
            TradeKind::Burn => "burn",
            TradeKind::Fill => "fill",
            TradeKind::Allocation => "allocation",
            TradeKind::Production => "production",
            TradeKind::Transfer => "transfer",
            TradeKind::Payment => "payment",
        }
    }
}

/// One fill, transfer or payment, from the side of `agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeRecord {
    /// The step it happened in.
    pub step: u64,
    /// The agent that bought, received or was paid (for a sell or a burn,
    /// the agent that sold).
    pub agent: AgentId,
    /// The other side: an agent, or none for the mechanism itself or the
    /// outside world.
    pub counterpart: Option<AgentId>,
    /// Index of the asset ([`NO_ASSET`] for a payment of money only).
    pub asset: u32,
    /// What it is.
    pub kind: TradeKind,
    /// True when `agent` bought (received the tokens and paid the money).
    pub buy: bool,
    /// Tokens or units that moved, base units.
    pub quantity: u64,
    /// Money that moved for them, base units.
    pub money: u128,
}

impl TradeRecord {
    /// Money per whole token, `money / quantity` in units (NaN for a record
    /// that moved no tokens).
    pub fn price(&self) -> f64 {
        if self.quantity == 0 {
            return f64::NAN;
        }
        self.money as f64 / self.quantity as f64
    }

    /// The money in units (for output).
    pub fn money_units(&self) -> f64 {
        wide_to_units(self.money)
    }

    /// The quantity in units (for output).
    pub fn quantity_units(&self) -> f64 {
        to_units(self.quantity)
    }
}

/// The records of the current step, in the order they happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeLog {
    on: bool,
    records: Vec<TradeRecord>,
}

impl TradeLog {
    /// A log that records.
    pub fn on() -> Self {
        TradeLog {
            on: true,
            records: Vec::new(),
        }
    }

    /// A log that records nothing.
    pub fn off() -> Self {
        TradeLog::default()
    }

    /// Whether the log records.
    #[inline]
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Turns recording on or off (records kept so far stay).
    pub fn set_on(&mut self, on: bool) {
        self.on = on;
    }

    /// Appends a record, if the log is on.
    #[inline]
    pub fn push(&mut self, record: TradeRecord) {
        if self.on {
            self.records.push(record);
        }
    }

    /// The records of the step so far.
    pub fn records(&self) -> &[TradeRecord] {
        &self.records
    }

    /// Removes and returns the records, leaving the log empty (and on or off
    /// as it was).
    pub fn take(&mut self) -> Vec<TradeRecord> {
        std::mem::take(&mut self.records)
    }

    /// Forgets the records (at the start of a step).
    pub fn clear(&mut self) {
        self.records.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(quantity: u64, money: u128) -> TradeRecord {
        TradeRecord {
            step: 1,
            agent: 3,
            counterpart: Some(4),
            asset: 0,
            kind: TradeKind::Fill,
            buy: true,
            quantity,
            money,
        }
    }

    #[test]
    fn an_off_log_records_nothing_and_an_on_log_keeps_the_order() {
        let mut off = TradeLog::off();
        off.push(record(1, 1));
        assert!(off.records().is_empty() && !off.is_on());
        // switched on it records; switched off again it keeps what it has
        off.set_on(true);
        off.push(record(5, 6));
        off.set_on(false);
        off.push(record(7, 8));
        assert_eq!((off.records(), off.is_on()), (&[record(5, 6)][..], false));
        let mut on = TradeLog::on();
        on.push(record(1, 2));
        on.push(record(3, 4));
        assert_eq!(on.records(), &[record(1, 2), record(3, 4)]);
        assert_eq!(on.take(), vec![record(1, 2), record(3, 4)]);
        assert!(on.records().is_empty() && on.is_on());
        // a new step forgets the records, and the log stays on
        on.push(record(9, 9));
        on.clear();
        assert!(on.records().is_empty() && on.is_on());
        on.push(record(1, 1));
        assert_eq!(on.records(), &[record(1, 1)]);
    }

    #[test]
    fn the_price_is_money_per_whole_token() {
        // 2.5 tokens for 10 money: 4 per token.
        assert_eq!(record(2_500_000_000, 10_000_000_000).price(), 4.0);
        assert!(record(0, 5).price().is_nan());
    }
}
