//! Market clearing: prices that emerge from orders instead of a curve.
//!
//! The kernels here are pure: they match and clear orders expressed in
//! integer ticks and base units, and report fills. The markets beside them
//! ([`book_market`], [`batch`]) hold each market's state and settle the
//! fills through the [`Ledger`](crate::ledger::Ledger), as
//! [`Mechanism`]s the engine loops over.
//!
//! - [`mechanism`]: the [`Mechanism`] trait, what the
//!   engine asks of every market, and the price state markets share.
//! - [`book_market`]: the order book market (locks, settlement, quotes) on
//!   the pure [`book`].
//! - [`batch`]: the batch markets (call auction, equilibrium, price
//!   adjustment) on the pure [`clearing`] kernels.
//! - [`amm`]: an automated market maker, a constant-product pool, and the
//!   sandwich attack's optimum against it.
//! - [`book`]: a continuous double auction, a limit order book matched by
//!   price-time priority.
//! - [`clearing`]: the batch mechanisms: the call auction, Walrasian
//!   equilibrium, rationing and the price-adjustment rule.
//! - [`posted`]: the posted-price market's economics: logit demand, the
//!   Bertrand–Nash and joint-monopoly prices, the learners' price grid and
//!   the collusion index.
//! - [`posted_market`]: the posted-price market (a [`Mechanism`]): sellers
//!   post prices from a grid, logit buyers split between them, every sale
//!   settled exactly through the ledger.

pub mod amm;
pub mod amm_market;
pub mod batch;
pub mod book;
pub mod book_market;
pub mod clearing;
pub mod mechanism;
pub mod mempool;
pub mod posted;
pub mod posted_market;

pub use mechanism::Mechanism;

/// The side of an order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
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
    let product = (u128::from(price) * u128::from(tick)).saturating_mul(u128::from(qty));
    match u64::try_from(product) {
        // the same quotient: a u64 division by a constant is a multiply,
        // where a u128 one is a library call
        Ok(small) => u128::from(small / crate::ledger::SCALE),
        Err(_) => product / u128::from(crate::ledger::SCALE),
    }
}

/// Matches two queues of quantities in order, as a clearing house pairs the
/// filled buys with the filled sells: yields `(i, k, q)`, `q > 0` units
/// going from entry `k` of `sells` to entry `i` of `buys`, until either
/// queue runs out. Entries of 0 are skipped.
///
/// ```
/// use agora::market::pairs_in_order;
/// let pairs: Vec<_> = pairs_in_order(&[3, 0, 2], &[1, 4]).collect();
/// assert_eq!(pairs, vec![(0, 0, 1), (0, 1, 2), (2, 1, 2)]);
/// ```
pub fn pairs_in_order<'a>(buys: &'a [u64], sells: &'a [u64]) -> PairsInOrder<'a> {
    PairsInOrder {
        buys,
        sells,
        i: 0,
        k: 0,
        left_b: buys.first().copied().unwrap_or(0),
        left_s: sells.first().copied().unwrap_or(0),
    }
}

/// The iterator of [`pairs_in_order`].
#[derive(Debug, Clone)]
pub struct PairsInOrder<'a> {
    buys: &'a [u64],
    sells: &'a [u64],
    i: usize,
    k: usize,
    left_b: u64,
    left_s: u64,
}

impl PairsInOrder<'_> {
    /// The entries of `buys` and `sells` the pairing is at: once it has
    /// ended, the first entries with units left (the length of a queue
    /// that ran out).
    pub fn position(&self) -> (usize, usize) {
        (self.i, self.k)
    }
}

impl Iterator for PairsInOrder<'_> {
    type Item = (usize, usize, u64);

    fn next(&mut self) -> Option<Self::Item> {
        while self.left_b == 0 && self.i < self.buys.len() {
            self.i += 1;
            self.left_b = self.buys.get(self.i).copied().unwrap_or(0);
        }
        while self.left_s == 0 && self.k < self.sells.len() {
            self.k += 1;
            self.left_s = self.sells.get(self.k).copied().unwrap_or(0);
        }
        if self.i >= self.buys.len() || self.k >= self.sells.len() {
            return None;
        }
        let q = self.left_b.min(self.left_s);
        self.left_b -= q;
        self.left_s -= q;
        Some((self.i, self.k, q))
    }
}

#[cfg(test)]
mod tests {
    use super::{pairs_in_order, value};
    use crate::ledger::SCALE;

    #[test]
    fn once_the_pairing_ends_its_position_is_the_first_entries_with_units_left() {
        // Before the first pair: the first entries.
        let p = pairs_in_order(&[3, 0, 2], &[1, 4]);
        assert_eq!(p.position(), (0, 0));
        // 3, 0, 2 against 1, 4: both queues run out, so the position is
        // their lengths.
        let mut p = pairs_in_order(&[3, 0, 2], &[1, 4]);
        assert_eq!(p.by_ref().count(), 3);
        assert_eq!(p.position(), (3, 2));
        // 5 against 2, 1, 4: 2 + 1 + 2 units, the buys run out and the
        // sells' entry 2 keeps 2 units.
        let mut p = pairs_in_order(&[5], &[2, 1, 4]);
        let pairs: Vec<_> = p.by_ref().collect();
        assert_eq!(pairs, vec![(0, 0, 2), (0, 1, 1), (0, 2, 2)]);
        assert_eq!(p.position(), (1, 2));
        // 4 against 1: the sells run out, the buys' entry 0 keeps 3.
        let mut p = pairs_in_order(&[4], &[1]);
        assert_eq!(p.by_ref().collect::<Vec<_>>(), vec![(0, 0, 1)]);
        assert_eq!(p.position(), (0, 1));
    }

    /// `floor(price · tick · qty / SCALE)` in `u128`, saturating: the
    /// definition, against which the fast path below 2⁶⁴ is checked.
    fn by_definition(price: u64, tick: u64, qty: u64) -> u128 {
        (u128::from(price) * u128::from(tick)).saturating_mul(u128::from(qty)) / u128::from(SCALE)
    }

    #[test]
    fn value_is_the_floor_either_side_of_two_to_the_64() {
        let cases = [
            (0, 1, 5),
            (1, 1, SCALE - 1),
            (1, 1, SCALE),
            (1_500_000_000, 1, 2_000_000_000),
            // the product at 2⁶⁴ − 1, 2⁶⁴ and just above
            (u64::MAX, 1, 1),
            (1 << 32, 1 << 32, 1),
            ((1 << 32) + 1, 1 << 32, 1),
            (u64::MAX, u64::MAX, u64::MAX),
        ];
        for (p, t, q) in cases {
            assert_eq!(value(p, t, q), by_definition(p, t, q), "{p} {t} {q}");
        }
        let mut state = 7u64;
        for _ in 0..10_000 {
            state = crate::rng::mix64(state);
            let (p, q) = (state >> (state % 64), crate::rng::mix64(state) >> 20);
            assert_eq!(value(p, 1, q), by_definition(p, 1, q), "{p} {q}");
        }
    }
}
