//! Pricing mechanisms: how an asset's price is set and trades are settled.
//!
//! Bonding curves ([`curve`]) give the price as a function of supply; a
//! [`CurveMarket`] settles trades against a curve in integer base units.
//!
//! # Exact settlement on a curve
//!
//! Let `F(S) = ∫₀^S f` be the curve's reserve function and, in base units,
//! `R(S) = ⌈F(S) · SCALE⌉` (up to a relative slack of 2⁻⁴⁸ for float noise), a deterministic, non-decreasing function of the
//! integer supply. A buy from supply `S` to `S + d` costs `R(S + d) − R(S)`;
//! a sell back refunds `R(S) − R(S − d)`. The costs telescope, so after any
//! sequence of trades the reserve holds exactly `R(S) − R(0)` plus what was
//! funded, whatever the floating-point error of each evaluation of `F`:
//! the reserve always covers burning the whole supply, to the base unit, and
//! buying then selling the same amount never profits. A refund is also
//! capped so that the reserve never falls below `R(S′) − R(0)` for the
//! remaining supply `S′` (this only binds if `F` is not monotone to the last
//! ulp). Fees are rounded up, in favour of the pool.

pub mod curve;

pub use curve::{BondingCurve, Curve, CurveError};

use crate::ledger::{from_whole, to_whole, SCALE};

/// A buy on a curve, as quoted: tokens minted, cost paid into the reserve and
/// fee paid into the fee pool, all in base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuyQuote {
    /// Tokens minted, base units.
    pub tokens: u64,
    /// Money paid into the reserve, base units.
    pub cost: u64,
    /// Money paid into the fee pool, base units.
    pub fee: u64,
}

/// A sell on a curve, as quoted: the gross refund out of the reserve and the
/// fee taken from it, base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SellQuote {
    /// Money leaving the reserve, base units.
    pub refund: u64,
    /// Part of the refund paid into the fee pool, base units.
    pub fee: u64,
}

/// A bonding curve with its fee, settling trades in base units.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveMarket {
    curve: Curve,
    fee: f64,
    /// `R` at two supplies: where the last trade started and where it ended
    /// (the next trade starts there), so each trade evaluates `F` once.
    cache: [(u64, u64); 2],
    /// `R(0)` under the current parameters.
    r_zero: u64,
}

/// Relative slack for float noise: a value within this share of a whole
/// number of base units counts as that number (so that `F = 1000.0000000001`
/// base units, the float image of an exact 1000, is not rounded up to 1001).
const SLACK: f64 = 1.0 / (1u64 << 48) as f64;

/// Converts a non-negative amount of units to base units, rounding up;
/// saturates at `u64::MAX` (and maps NaN there, so that nothing is ever
/// free by accident).
#[inline]
fn ceil_base(units: f64) -> u64 {
    let exact = units * SCALE as f64;
    let x = exact - exact * SLACK;
    if x.is_nan() || x >= u64::MAX as f64 {
        u64::MAX
    } else if x <= 0.0 {
        0
    } else {
        // Truncation then a correction: a ceiling without a libm call, which
        // x86-64 without SSE4.1 would need for f64::ceil.
        let t = to_whole(x);
        t + u64::from(from_whole(t) < x)
    }
}

/// `floor(x)` for `x ≥ 0` as a whole number of base units, saturating.
#[inline]
fn floor_base(x: f64) -> u64 {
    if x > 0.0 {
        to_whole(x)
    } else {
        0
    }
}

#[inline]
fn units(base: u64) -> f64 {
    // A multiplication rather than a division: this is on the chain of
    // dependent trades, and the result differs by at most an ulp.
    from_whole(base) * (1.0 / SCALE as f64)
}

impl CurveMarket {
    /// A market on `curve` taking `fee` (a share in `[0, 1)`) of each trade.
    pub fn new(curve: Curve, fee: f64) -> Self {
        let mut market = CurveMarket {
            curve,
            fee,
            cache: [(0, 0); 2],
            r_zero: 0,
        };
        let r0 = market.reserve_function(0);
        market.cache = [(0, r0); 2];
        market.r_zero = r0;
        market
    }

    /// The curve.
    pub fn curve(&self) -> &Curve {
        &self.curve
    }

    /// The fee share.
    pub fn fee(&self) -> f64 {
        self.fee
    }

    /// Spot price at `supply` base units.
    #[inline]
    pub fn spot_price(&self, supply: u64) -> f64 {
        self.curve.spot_price(units(supply))
    }

    /// `R(S)`: the reserve function in base units, `⌈F(S)·SCALE⌉`.
    #[inline]
    pub fn reserve_function(&self, supply: u64) -> u64 {
        ceil_base(self.curve.integral(units(supply)))
    }

    /// The reserve that backs `supply` under the current parameters,
    /// `R(S) − R(0)`, base units.
    pub fn required_reserve(&self, supply: u64) -> u64 {
        self.reserve_function(supply).saturating_sub(self.r_zero)
    }

    #[inline]
    fn r_at(&mut self, supply: u64) -> u64 {
        // Newest first: a trade usually starts where the last one ended.
        if let Some(&(_, r)) = self.cache.iter().rev().find(|(s, _)| *s == supply) {
            return r;
        }
        let r = self.reserve_function(supply);
        self.remember(supply, r);
        r
    }

    /// Remembers `R(supply) = r`, evicting the older entry.
    #[inline]
    fn remember(&mut self, supply: u64, r: u64) {
        self.cache = [self.cache[1], (supply, r)];
    }

    #[inline]
    fn fee_on(&self, amount: u64) -> u64 {
        if self.fee == 0.0 {
            0
        } else {
            ceil_base(units(amount) * self.fee).min(amount)
        }
    }

    /// Quotes a buy of as many tokens as `budget` (fees included) pays for,
    /// from `supply`. `None` if the budget buys no whole base unit.
    ///
    /// The float inverse of the curve is accurate to about 1e-12 relative;
    /// the quote then settles in integers, stepping back if the integer cost
    /// exceeds the budget and forward by what the money left over still
    /// buys, so that the buyer gets within a base unit or two of the most
    /// the budget pays for (and splitting a buy never pays).
    pub fn quote_buy(&mut self, supply: u64, budget: u64) -> Option<BuyQuote> {
        let r0 = self.r_at(supply);
        let curve_budget = if self.fee == 0.0 {
            from_whole(budget)
        } else {
            from_whole(floor_base(from_whole(budget) / (1.0 + self.fee)))
        };
        let ds = self
            .curve
            .mint_for_budget(units(supply), curve_budget * (1.0 / SCALE as f64));
        if ds.is_nan() || ds <= 0.0 {
            return None;
        }
        let room = u64::MAX - supply;
        let exact = ds * SCALE as f64;
        let mut tokens = floor_base(exact + exact * SLACK).min(room);
        // The float inverse may overshoot by a few ulps: step back until the
        // integer cost fits the budget. Converges in one or two rounds.
        for _ in 0..64 {
            if tokens == 0 {
                return None;
            }
            let quote = self.price_tokens(supply, r0, tokens);
            let total = quote.cost.saturating_add(quote.fee);
            if total <= budget {
                return Some(self.spend_leftover(supply, r0, budget, quote));
            }
            let scaled = floor_base(from_whole(tokens) * (from_whole(budget) / from_whole(total)));
            let step = (tokens >> 40).max(1);
            tokens = scaled.min(tokens - step);
        }
        None
    }

    #[inline]
    fn price_tokens(&mut self, supply: u64, r0: u64, tokens: u64) -> BuyQuote {
        let r1 = self.reserve_function(supply + tokens);
        self.remember(supply + tokens, r1);
        let cost = r1.saturating_sub(r0);
        BuyQuote {
            tokens,
            cost,
            fee: self.fee_on(cost),
        }
    }

    /// Extends a quote that fits the budget by the tokens the money left over
    /// still buys: Newton steps from below, each priced at the highest price
    /// on the way so that it does not overshoot; a step that does (through
    /// rounding) is halved.
    #[inline]
    fn spend_leftover(&mut self, supply: u64, r0: u64, budget: u64, fits: BuyQuote) -> BuyQuote {
        let mut best = fits;
        for _ in 0..8 {
            let leftover = budget - best.cost - best.fee;
            // On an increasing curve the price at the end of the buy is at
            // least its average price, cost / tokens: below that the
            // leftover buys nothing, and the price need not be evaluated.
            if u128::from(leftover) * u128::from(best.tokens) < u128::from(best.cost) {
                return best;
            }
            let at = supply + best.tokens;
            let per_token = self.spot_price(at) * (1.0 + self.fee);
            // Most quotes end here: the leftover does not buy one base unit.
            if per_token.is_nan() || per_token <= 0.0 || from_whole(leftover) < per_token {
                return best;
            }
            let guess = floor_base(from_whole(leftover) / per_token).min(u64::MAX - at);
            let highest = self.spot_price(at + guess) * (1.0 + self.fee);
            let mut extra = floor_base(from_whole(leftover) / highest).min(u64::MAX - at);
            loop {
                if extra == 0 {
                    return best;
                }
                let more = self.price_tokens(supply, r0, best.tokens + extra);
                if more.cost.saturating_add(more.fee) <= budget {
                    best = more;
                    break;
                }
                extra /= 2;
            }
        }
        best
    }

    /// Quotes selling `tokens` from `supply` with `reserve` in the reserve.
    pub fn quote_sell(&mut self, supply: u64, reserve: u64, tokens: u64) -> SellQuote {
        let tokens = tokens.min(supply);
        let r0 = self.r_at(supply);
        let r1 = self.reserve_function(supply - tokens);
        self.remember(supply - tokens, r1);
        let floor = r1.saturating_sub(self.r_zero);
        let refund = r0.saturating_sub(r1).min(reserve.saturating_sub(floor));
        SellQuote {
            refund,
            fee: self.fee_on(refund),
        }
    }

    /// Changes a curve parameter (validated; on error nothing changes).
    pub fn set_param(&mut self, name: &str, value: f64) -> Result<(), CurveError> {
        self.curve.set_param(name, value)?;
        let [(a, _), (b, _)] = self.cache;
        self.cache = [(a, self.reserve_function(a)), (b, self.reserve_function(b))];
        self.r_zero = self.reserve_function(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear() -> CurveMarket {
        CurveMarket::new(Curve::Linear { m: 0.001, b: 1.0 }, 0.0)
    }

    #[test]
    fn ceil_base_rounds_a_fraction_of_a_base_unit_up_and_refuses_what_it_cannot_count() {
        // 1.5 and 2.25 base units round up to 2 and 3; 2 is 2
        assert_eq!(ceil_base(1.5e-9), 2);
        assert_eq!(ceil_base(2.25e-9), 3);
        assert_eq!(ceil_base(2e-9), 2);
        assert_eq!(ceil_base(0.0), 0);
        assert_eq!(ceil_base(-1.0), 0);
        // nothing is free by accident: NaN and amounts past u64 saturate
        assert_eq!(ceil_base(f64::NAN), u64::MAX);
        assert_eq!(ceil_base(1e30), u64::MAX);
    }

    #[test]
    fn a_buy_costs_the_integral_to_the_base_unit_scale() {
        let mut m = linear();
        let q = m.quote_buy(0, 100 * SCALE).unwrap();
        // closed form: m/2 d² + b d = 100 → d = (-1 + sqrt(1 + 0.2)) / 0.001
        let d = (-1.0 + (1.0f64 + 2.0 * 0.001 * 100.0).sqrt()) / 0.001;
        assert!(
            (units(q.tokens) - d).abs() < 1e-6,
            "{} vs {d}",
            units(q.tokens)
        );
        assert!(q.cost <= 100 * SCALE && q.cost > 100 * SCALE - 10);
        assert_eq!(q.fee, 0);
    }

    #[test]
    fn buy_then_sell_returns_exactly_the_cost_without_fee() {
        let mut m = linear();
        let q = m.quote_buy(5 * SCALE, 37 * SCALE).unwrap();
        let s = m.quote_sell(5 * SCALE + q.tokens, u64::MAX, q.tokens);
        assert_eq!(s.refund, q.cost);
    }

    #[test]
    fn fees_are_taken_on_both_sides_and_fit_the_budget() {
        let mut m = CurveMarket::new(Curve::Linear { m: 0.001, b: 1.0 }, 0.003);
        let budget = 1000 * SCALE;
        let q = m.quote_buy(0, budget).unwrap();
        assert!(q.cost + q.fee <= budget);
        assert!(q.fee >= (q.cost as f64 * 0.003) as u64);
        let s = m.quote_sell(q.tokens, q.cost, q.tokens);
        assert_eq!(s.refund, q.cost);
        assert!(s.fee > 0 && s.fee <= s.refund);
    }

    #[test]
    fn a_refund_never_takes_the_reserve_below_the_remaining_supply() {
        let mut m = linear();
        // A reserve short of R(S) (as if underfunded): the refund is capped.
        let supply = 1000 * SCALE;
        let needed = m.required_reserve(supply);
        let s = m.quote_sell(supply, needed - 5, 10 * SCALE);
        let remaining = m.required_reserve(supply - 10 * SCALE);
        assert!(needed - 5 - s.refund >= remaining);
    }

    #[test]
    fn a_budget_too_small_for_one_base_unit_buys_nothing() {
        let mut m = CurveMarket::new(Curve::Linear { m: 0.0, b: 1000.0 }, 0.0);
        assert_eq!(m.quote_buy(0, 999), None);
        assert_eq!(m.quote_buy(0, 1000).map(|q| q.tokens), Some(1));
    }
}
