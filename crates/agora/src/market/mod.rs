//! Market clearing: prices that emerge from orders instead of a curve.
//!
//! The mechanisms here are pure: they match and clear orders expressed in
//! integer ticks and base units, and report fills; the engine settles the
//! fills through the [`Ledger`](crate::ledger::Ledger).
//!
//! - [`book`]: a continuous double auction, a limit order book matched by
//!   price-time priority.
//! - [`clearing`]: the batch mechanisms: the call auction, Walrasian
//!   equilibrium, rationing and the price-adjustment rule.

pub mod book;
pub mod clearing;

/// The side of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Buys tokens for money.
    Buy,
    /// Sells tokens for money.
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

/// The money value, in base units, of `qty` token base units at `price`
/// ticks of `tick` money base units per whole token each, rounded down:
/// `floor(price · tick · qty / SCALE)`. Rounding down makes the sum of the
/// values of the pieces of an order never exceed the value of the whole, so
/// money locked for a buy order always covers its fills.
#[inline]
pub fn value(price: u64, tick: u64, qty: u64) -> u128 {
    // Saturates instead of overflowing for extreme inputs (2^64 ticks of
    // 2^64 base units of 2^64 tokens); callers cap at u64 where it matters.
    (u128::from(price) * u128::from(tick)).saturating_mul(u128::from(qty))
        / u128::from(crate::ledger::SCALE)
}
