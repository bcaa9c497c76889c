//! An automated market maker: a constant-product pool (Uniswap V2's
//! `x · y = k`) settled in exact integer base units.
//!
//! The pool holds `R_m` base units of money and `R_t` base units of the
//! token. A swap of `in` base units of one side for the other pays out
//!
//! ```text
//! out = ⌊ γ · in · R_out / (R_in + γ · in) ⌋,    γ = 1 − fee
//! ```
//!
//! and the *whole* input joins the pool: `R_in ← R_in + in`,
//! `R_out ← R_out − out` (Adams, Zinsmeister & Robinson, "Uniswap v2 Core",
//! 2020). The fee thus stays in the pool, and the product
//! `k = R_m · R_t` grows with every swap: with `out* = γ·in·R_out/(R_in + γ·in)`
//! the real output, `(R_in + in)(R_out − out*) = R_in·R_out + (1 − γ)·in·R_out·R_in/(R_in + γ·in) ≥ R_in·R_out`.
//!
//! # Exact and in the pool's favour
//!
//! The fee is a whole number of billionths ([`Fee`], [`FEE_SCALE`]), so that
//! `γ = (FEE_SCALE − f)/FEE_SCALE` is an exact rational and the output is the
//! floor of an exact quotient, computed with 256-bit intermediates
//! (`ethnum`): no floating point touches an amount. Every rounding favours
//! the pool:
//!
//! - an output is rounded down ([`ConstantProductPool::quote_out`]), so `k`
//!   never decreases and a reserve never reaches zero (`out* < R_out` for any
//!   finite input, and the floor keeps `R_out − out ≥ 1`);
//! - the input needed for a given output is rounded up
//!   ([`ConstantProductPool::quote_in`]): it is the least input whose output
//!   reaches the target, `⌈R_in · out / (γ · (R_out − out))⌉`;
//! - a trader's minimum output from a slippage tolerance `s` is rounded up
//!   ([`min_output`]): the trader never accepts less than `(1 − s)·quote`.
//!
//! Amounts are `u128`; a computation whose intermediates do not fit 256 bits
//! (never the case for amounts below 2⁶⁴ against any `u128` reserve) fails
//! with [`AmmError::Overflow`] instead of wrapping.
//!
//! # Slippage
//!
//! A trader decides on a quote and names the least output it accepts
//! ([`min_output`]); [`ConstantProductPool::swap`] checks the output at
//! execution against it and, when it is not met, fails with
//! [`AmmError::Slippage`] and changes nothing — the protection a sandwich
//! attack ([`sandwich`]) exploits up to its limit.
//!
//! ```
//! use agora::market::amm::{min_output, ConstantProductPool, Fee};
//! use agora::market::Side;
//!
//! let unit = 1_000_000_000u128; // base units per unit
//! let fee = Fee::from_fraction(0.003)?;
//! let mut pool = ConstantProductPool::new(1000 * unit, 1000 * unit, fee)?;
//! // Buying with 20 money: 0.997·20·1000/(1000 + 0.997·20) = 19.5501696178… tokens.
//! let quote = pool.quote_out(Side::Buy, 20 * unit)?;
//! assert_eq!(quote, 19_550_169_617);
//! let swap = pool.swap(Side::Buy, 20 * unit, min_output(quote, 0.1)?)?;
//! assert_eq!(swap.output, quote);
//! assert_eq!(pool.reserve_money(), 1020 * unit); // the fee stayed in the pool
//! # Ok::<(), agora::market::amm::AmmError>(())
//! ```

pub mod detect;
pub mod liquidity;
pub mod sandwich;

use ethnum::U256;
use serde::{Deserialize, Serialize};

use super::Side;

/// The denominator of a [`Fee`]: fees are whole numbers of billionths.
pub const FEE_SCALE: u32 = 1_000_000_000;

/// A swap fee, a whole number of billionths of the input, below one whole.
///
/// Held as an integer so that the swap formula is exact; a fee given as a
/// fraction is rounded to the nearest billionth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Fee(u32);

impl Fee {
    /// No fee.
    pub const ZERO: Fee = Fee(0);

    /// Returns the fee nearest to `fee` (a fraction of the input, e.g.
    /// `0.003` for 0.3%), or an error if `fee` is not finite, is outside
    /// `[0, 1)`, or rounds to a whole (a pool that pays nothing out).
    pub fn from_fraction(fee: f64) -> Result<Fee, AmmError> {
        let invalid = || AmmError::InvalidParameter {
            param: "fee",
            expected: EXPECT_FEE,
            found: fee.to_string(),
        };
        if !(fee.is_finite() && (0.0..1.0).contains(&fee)) {
            return Err(invalid());
        }
        // In range and below one whole, so the cast is exact.
        let billionths = (fee * f64::from(FEE_SCALE)).round() as u32;
        Fee::from_billionths(billionths).map_err(|_| invalid())
    }

    /// Returns the fee of `billionths` billionths, or an error unless
    /// `billionths < FEE_SCALE`.
    pub fn from_billionths(billionths: u32) -> Result<Fee, AmmError> {
        if billionths < FEE_SCALE {
            Ok(Fee(billionths))
        } else {
            Err(AmmError::InvalidParameter {
                param: "fee",
                expected: EXPECT_FEE,
                found: format!("{billionths}/{FEE_SCALE}"),
            })
        }
    }

    /// The fee in billionths of the input.
    pub fn billionths(self) -> u32 {
        self.0
    }

    /// The fee as a fraction of the input.
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / f64::from(FEE_SCALE)
    }

    /// `γ = 1 − fee` as a fraction.
    pub fn gamma(self) -> f64 {
        f64::from(FEE_SCALE - self.0) / f64::from(FEE_SCALE)
    }

    /// The numerator of `γ` over [`FEE_SCALE`]; positive since the fee is
    /// below one whole.
    fn gamma_billionths(self) -> u32 {
        FEE_SCALE - self.0
    }
}

impl TryFrom<u32> for Fee {
    type Error = AmmError;

    fn try_from(billionths: u32) -> Result<Fee, AmmError> {
        Fee::from_billionths(billionths)
    }
}

impl From<Fee> for u32 {
    fn from(fee: Fee) -> u32 {
        fee.0
    }
}

const EXPECT_FEE: &str = "a fee in [0, 1)";
const EXPECT_RESERVE: &str = "a positive reserve";
const EXPECT_SLIPPAGE: &str = "a slippage tolerance in [0, 1]";

/// What can go wrong with a pool or a swap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmmError {
    /// A parameter is outside its allowed range.
    #[error("invalid AMM parameter `{param}`: expected {expected}, found {found}")]
    InvalidParameter {
        /// The parameter as named in configuration, e.g. `"reserve_money"`.
        param: &'static str,
        /// The allowed values.
        expected: &'static str,
        /// The offending value.
        found: String,
    },
    /// The output at execution is below the trader's minimum.
    #[error("slippage: the swap would pay {output} base units, below the minimum of {min_output}")]
    Slippage {
        /// What the swap would have paid out, base units.
        output: u128,
        /// The least the trader accepts, base units.
        min_output: u128,
    },
    /// The input is too small to buy a single base unit.
    #[error("an input of {input} base units buys nothing")]
    ZeroOutput {
        /// The input, base units.
        input: u128,
    },
    /// The pool cannot pay the requested output.
    #[error("the pool holds {reserve} base units and cannot pay out {output}")]
    InsufficientLiquidity {
        /// The requested output, base units.
        output: u128,
        /// The reserve it would come out of, base units.
        reserve: u128,
    },
    /// Amounts too large for exact arithmetic: a reserve beyond `u128` or
    /// an intermediate product beyond 256 bits.
    #[error("amounts too large for exact arithmetic in the pool")]
    Overflow,
}

/// A constant-product pool: its reserves, base units, and its fee.
///
/// Deserialising checks the same invariants as [`ConstantProductPool::new`]:
/// both reserves positive, the fee below one whole.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PoolState")]
pub struct ConstantProductPool {
    reserve_money: u128,
    reserve_token: u128,
    fee: Fee,
}

/// The unchecked form in which a pool is read, checked into a pool.
#[derive(Deserialize)]
struct PoolState {
    reserve_money: u128,
    reserve_token: u128,
    fee: Fee,
}

impl TryFrom<PoolState> for ConstantProductPool {
    type Error = AmmError;

    fn try_from(s: PoolState) -> Result<Self, AmmError> {
        ConstantProductPool::new(s.reserve_money, s.reserve_token, s.fee)
    }
}

/// A swap as executed: what went in, what came out and the part of the
/// input that is the fee, base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swap {
    /// The side of the trader: [`Side::Buy`] paid money for tokens,
    /// [`Side::Sell`] paid tokens for money.
    pub side: Side,
    /// What the trader paid in, base units of the input side; all of it
    /// joined the pool.
    pub input: u128,
    /// What the trader received, base units of the other side.
    pub output: u128,
    /// The fee share of the input, `⌈fee · input⌉` base units: for reports
    /// only, as it stays in the pool with the rest of the input.
    pub fee: u128,
}

impl ConstantProductPool {
    /// Returns a pool holding `reserve_money` and `reserve_token` base
    /// units, or an error if either is zero.
    pub fn new(reserve_money: u128, reserve_token: u128, fee: Fee) -> Result<Self, AmmError> {
        for (param, reserve) in [
            ("reserve_money", reserve_money),
            ("reserve_token", reserve_token),
        ] {
            if reserve == 0 {
                return Err(AmmError::InvalidParameter {
                    param,
                    expected: EXPECT_RESERVE,
                    found: "0".into(),
                });
            }
        }
        Ok(ConstantProductPool {
            reserve_money,
            reserve_token,
            fee,
        })
    }

    /// Money in the pool, base units.
    pub fn reserve_money(&self) -> u128 {
        self.reserve_money
    }

    /// Tokens in the pool, base units.
    pub fn reserve_token(&self) -> u128 {
        self.reserve_token
    }

    /// The pool's fee.
    pub fn fee(&self) -> Fee {
        self.fee
    }

    /// A liquidity provider's deposit joins the reserves (see
    /// [`liquidity`]); `Overflow` (nothing changed) past `u128`.
    pub fn deposit(&mut self, money: u128, tokens: u128) -> Result<(), AmmError> {
        let m = self
            .reserve_money
            .checked_add(money)
            .ok_or(AmmError::Overflow)?;
        let t = self
            .reserve_token
            .checked_add(tokens)
            .ok_or(AmmError::Overflow)?;
        (self.reserve_money, self.reserve_token) = (m, t);
        Ok(())
    }

    /// A liquidity provider's withdrawal leaves the reserves; refused
    /// (nothing changed) unless both keep at least one base unit.
    pub fn withdraw(&mut self, money: u128, tokens: u128) -> Result<(), AmmError> {
        let short = |output, reserve| AmmError::InsufficientLiquidity { output, reserve };
        if money >= self.reserve_money {
            return Err(short(money, self.reserve_money));
        }
        if tokens >= self.reserve_token {
            return Err(short(tokens, self.reserve_token));
        }
        self.reserve_money -= money;
        self.reserve_token -= tokens;
        Ok(())
    }

    /// The reserves a trader on `side` pays into and is paid out of:
    /// `(R_in, R_out)`.
    pub fn reserves(&self, side: Side) -> (u128, u128) {
        match side {
            Side::Buy => (self.reserve_money, self.reserve_token),
            Side::Sell => (self.reserve_token, self.reserve_money),
        }
    }

    /// The invariant `k = R_m · R_t`, exact.
    pub fn k(&self) -> U256 {
        U256::from(self.reserve_money) * U256::from(self.reserve_token)
    }

    /// The spot price, money per token: `R_m / R_t`, the price of an
    /// infinitesimal trade before the fee (a buyer's marginal price is
    /// `R_m/(γ·R_t)`, a seller's `γ·R_m/R_t`).
    pub fn spot_price(&self) -> f64 {
        self.reserve_money as f64 / self.reserve_token as f64
    }

    /// The output, base units, of a swap of `input` base units by a trader
    /// on `side`: `⌊γ·in·R_out/(R_in + γ·in)⌋`. Always below `R_out`.
    pub fn quote_out(&self, side: Side, input: u128) -> Result<u128, AmmError> {
        let (r_in, r_out) = self.reserves(side);
        let g = U256::from(self.fee.gamma_billionths());
        let g_in = g * U256::from(input); // < 2³⁰ · 2¹²⁸
        let num = g_in
            .checked_mul(U256::from(r_out))
            .ok_or(AmmError::Overflow)?;
        let den = (U256::from(r_in) * U256::from(FEE_SCALE))
            .checked_add(g_in)
            .ok_or(AmmError::Overflow)?;
        // den > 0 (R_in > 0) and num/den < R_out, so the quotient fits.
        u128::try_from(num / den).map_err(|_| AmmError::Overflow)
    }

    /// The least input, base units, for which a trader on `side` receives at
    /// least `output`: `⌈R_in·out·S / (γ_S·(R_out − out))⌉` with `S` =
    /// [`FEE_SCALE`] and `γ_S = γ·S`. Zero for an output of zero; an error
    /// if `output ≥ R_out` (no input pays out a whole reserve).
    pub fn quote_in(&self, side: Side, output: u128) -> Result<u128, AmmError> {
        let (r_in, r_out) = self.reserves(side);
        if output >= r_out {
            return Err(AmmError::InsufficientLiquidity {
                output,
                reserve: r_out,
            });
        }
        let num = (U256::from(r_in) * U256::from(output))
            .checked_mul(U256::from(FEE_SCALE))
            .ok_or(AmmError::Overflow)?;
        let den = U256::from(r_out - output) * U256::from(self.fee.gamma_billionths());
        u128::try_from(div_ceil(num, den)).map_err(|_| AmmError::Overflow)
    }

    /// Swaps `input` base units for at least `min_output` of the other side,
    /// for a trader on `side`, and returns the swap. Fails, changing
    /// nothing, if the output is below `min_output` ([`AmmError::Slippage`]),
    /// is zero ([`AmmError::ZeroOutput`]), or the input reserve would
    /// overflow.
    pub fn swap(&mut self, side: Side, input: u128, min_output: u128) -> Result<Swap, AmmError> {
        let output = self.quote_out(side, input)?;
        if output == 0 {
            return Err(AmmError::ZeroOutput { input });
        }
        if output < min_output {
            return Err(AmmError::Slippage { output, min_output });
        }
        let (r_in, r_out) = self.reserves(side);
        let new_in = r_in.checked_add(input).ok_or(AmmError::Overflow)?;
        // quote_out keeps output < r_out.
        let new_out = r_out - output;
        match side {
            Side::Buy => (self.reserve_money, self.reserve_token) = (new_in, new_out),
            Side::Sell => (self.reserve_token, self.reserve_money) = (new_in, new_out),
        }
        Ok(Swap {
            side,
            input,
            output,
            fee: fee_share(input, self.fee),
        })
    }
}

/// `⌈fee · input⌉` base units: `input < 2¹²⁸` and `fee < 2³⁰`, so the
/// product fits 256 bits and the share is at most `input`.
fn fee_share(input: u128, fee: Fee) -> u128 {
    let share = div_ceil(
        U256::from(input) * U256::from(fee.billionths()),
        U256::from(FEE_SCALE),
    );
    share.as_u128()
}

/// `⌈a / b⌉` for `b > 0`.
fn div_ceil(a: U256, b: U256) -> U256 {
    let q = a / b;
    if q * b == a {
        q
    } else {
        q + 1
    }
}

/// The least output a trader accepts who quoted `quote` and tolerates a
/// relative slippage of `max_slippage`: `⌈quote · (1 − s)⌉`, with `s`
/// rounded to the nearest billionth. An error unless `0 ≤ s ≤ 1`.
///
/// The bound is relative to the quote at decision time, not to the spot
/// price, as Uniswap's `amountOutMin`; `(1 − s)·quote` is the convention of
/// Zhou et al. (IEEE S&P 2021) and of the sandwich example it reproduces
/// ([`sandwich`]). Uniswap's v2 SDK takes `quote/(1 + s)`, slightly tighter.
pub fn min_output(quote: u128, max_slippage: f64) -> Result<u128, AmmError> {
    if !(max_slippage.is_finite() && (0.0..=1.0).contains(&max_slippage)) {
        return Err(AmmError::InvalidParameter {
            param: "max_slippage",
            expected: EXPECT_SLIPPAGE,
            found: max_slippage.to_string(),
        });
    }
    // In [0, FEE_SCALE], so the cast is exact.
    let s = (max_slippage * f64::from(FEE_SCALE)).round() as u32;
    let kept = U256::from(quote) * U256::from(FEE_SCALE - s);
    // ≤ quote, so it fits.
    Ok(div_ceil(kept, U256::from(FEE_SCALE)).as_u128())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const UNIT: u128 = 1_000_000_000;

    fn pool(m: u128, t: u128, fee: u32) -> ConstantProductPool {
        ConstantProductPool::new(m, t, Fee::from_billionths(fee).unwrap()).unwrap()
    }

    /// Whether `out` is the floor of the real output `γ·in·R_out/(R_in + γ·in)`,
    /// checked by cross-multiplication, independently of `quote_out`'s
    /// division: `out·den ≤ num < (out + 1)·den`.
    fn is_floor_of_real_output(
        p: &ConstantProductPool,
        side: Side,
        input: u128,
        out: u128,
    ) -> bool {
        let (r_in, r_out) = p.reserves(side);
        let g = U256::from(p.fee().gamma_billionths());
        let num = g * U256::from(input) * U256::from(r_out);
        let den = U256::from(r_in) * U256::from(FEE_SCALE) + g * U256::from(input);
        U256::from(out) * den <= num && num < (U256::from(out) + 1) * den
    }

    #[test]
    fn the_issue_pool_pays_the_real_output_rounded_down() {
        // 0.997·20·1000/(1000 + 0.997·20) = 19.94·1000/1019.94 = 19.550169617820656…
        let p = pool(1000 * UNIT, 1000 * UNIT, 3_000_000);
        assert_eq!(p.quote_out(Side::Buy, 20 * UNIT).unwrap(), 19_550_169_617);
        // The pool is symmetric, so a sell of 20 tokens pays the same money.
        assert_eq!(p.quote_out(Side::Sell, 20 * UNIT).unwrap(), 19_550_169_617);
        // Without a fee: 20·1000/1020 = 19.607843137254…
        let p = pool(1000 * UNIT, 1000 * UNIT, 0);
        assert_eq!(p.quote_out(Side::Buy, 20 * UNIT).unwrap(), 19_607_843_137);
    }

    #[test]
    fn the_fee_stays_in_the_pool() {
        let mut p = pool(1000 * UNIT, 500 * UNIT, 3_000_000);
        let k0 = p.k();
        let s = p.swap(Side::Buy, 20 * UNIT, 0).unwrap();
        assert_eq!(p.reserve_money(), 1020 * UNIT);
        assert_eq!(p.reserve_token(), 500 * UNIT - s.output);
        assert_eq!(s.fee, 60_000_000); // 0.3% of 20
        assert!(p.k() > k0);
    }

    #[test]
    fn bad_parameters_are_typed_errors() {
        let fee = Fee::ZERO;
        for (m, t, param) in [(0, 1, "reserve_money"), (1, 0, "reserve_token")] {
            match ConstantProductPool::new(m, t, fee) {
                Err(AmmError::InvalidParameter { param: p, .. }) => assert_eq!(p, param),
                other => panic!("{other:?}"),
            }
        }
        for bad in [-0.001, 1.0, 1.5, f64::NAN, f64::INFINITY, 0.999_999_999_9] {
            let e = Fee::from_fraction(bad).unwrap_err();
            assert!(
                e.to_string().contains("`fee`: expected a fee in [0, 1)"),
                "{e}"
            );
        }
        assert_eq!(Fee::from_fraction(0.003).unwrap().billionths(), 3_000_000);
        assert_eq!(Fee::from_fraction(0.0).unwrap(), Fee::ZERO);
        assert!(Fee::from_billionths(FEE_SCALE).is_err());
        for bad in [-0.1, 1.1, f64::NAN] {
            assert!(min_output(100, bad).is_err());
        }
    }

    #[test]
    fn deserialising_checks_the_pool() {
        let p = pool(7, 11, 3_000_000);
        let text = serde_json::to_string(&p).unwrap();
        assert_eq!(
            text,
            r#"{"reserve_money":7,"reserve_token":11,"fee":3000000}"#
        );
        assert_eq!(
            serde_json::from_str::<ConstantProductPool>(&text).unwrap(),
            p
        );
        for bad in [
            r#"{"reserve_money":0,"reserve_token":11,"fee":3000000}"#,
            r#"{"reserve_money":7,"reserve_token":11,"fee":1000000000}"#,
        ] {
            assert!(
                serde_json::from_str::<ConstantProductPool>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_swap_below_the_minimum_fails_and_changes_nothing() {
        let mut p = pool(1000 * UNIT, 1000 * UNIT, 3_000_000);
        let quote = p.quote_out(Side::Buy, 20 * UNIT).unwrap();
        let before = p.clone();
        // Someone else's buy moves the price between the quote and execution.
        let mut moved = p.clone();
        moved.swap(Side::Buy, 100 * UNIT, 0).unwrap();
        let e = moved
            .clone()
            .swap(Side::Buy, 20 * UNIT, min_output(quote, 0.01).unwrap())
            .unwrap_err();
        assert!(matches!(e, AmmError::Slippage { .. }), "{e}");
        assert_eq!(
            p.swap(Side::Buy, 20 * UNIT, quote + 1),
            Err(AmmError::Slippage {
                output: quote,
                min_output: quote + 1
            })
        );
        assert_eq!(p, before);
        assert_eq!(
            p.swap(Side::Buy, 1, 0),
            Err(AmmError::ZeroOutput { input: 1 })
        );
        assert_eq!(p, before);
        assert!(p.swap(Side::Buy, 20 * UNIT, quote).is_ok());
    }

    #[test]
    fn min_output_rounds_up_in_the_traders_favour() {
        // 90% of 19_550_169_617 is 17_595_152_655.3, so at least …656.
        assert_eq!(min_output(19_550_169_617, 0.1).unwrap(), 17_595_152_656);
        assert_eq!(min_output(10, 0.0).unwrap(), 10);
        assert_eq!(min_output(10, 1.0).unwrap(), 0);
        assert_eq!(min_output(10, 0.05).unwrap(), 10); // 9.5 → 10
    }

    #[test]
    fn huge_amounts_overflow_cleanly() {
        let p = pool(u128::MAX, u128::MAX, 0);
        // γ·in·R_out ≈ 2³⁰·2¹²⁸·2¹²⁸ does not fit 256 bits.
        assert_eq!(p.quote_out(Side::Buy, u128::MAX), Err(AmmError::Overflow));
        // Amounts below 2⁶⁴ quote against any reserve.
        assert!(p.quote_out(Side::Buy, u128::from(u64::MAX)).is_ok());
        // The product fits, the new money reserve does not.
        let mut p = pool(u128::MAX - 5, u128::MAX, 0);
        let before = p.clone();
        assert_eq!(p.swap(Side::Buy, 1 << 64, 0), Err(AmmError::Overflow));
        assert_eq!(p, before);
    }

    fn side() -> impl Strategy<Value = Side> {
        prop_oneof![Just(Side::Buy), Just(Side::Sell)]
    }

    /// Reserves and amounts across many orders of magnitude, up to 2⁸⁰.
    fn amount() -> impl Strategy<Value = u128> {
        (0u32..80, any::<u64>())
            .prop_map(|(bits, x)| 1 + (u128::from(x) << 16) % (1u128 << bits.max(1)))
    }

    fn any_pool() -> impl Strategy<Value = ConstantProductPool> {
        (
            amount(),
            amount(),
            prop_oneof![Just(0u32), Just(3_000_000), 0..FEE_SCALE],
        )
            .prop_map(|(m, t, f)| pool(m, t, f))
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(256))]

        #[test]
        fn swaps_never_decrease_k_nor_empty_a_reserve(
            mut p in any_pool(),
            trades in prop::collection::vec((side(), amount()), 1..20),
        ) {
            for (side, input) in trades {
                let k = p.k();
                let before = p.clone();
                match p.swap(side, input, 0) {
                    Ok(s) => {
                        prop_assert!(p.k() >= k);
                        prop_assert!(p.reserve_money() > 0 && p.reserve_token() > 0);
                        prop_assert!(is_floor_of_real_output(&before, side, input, s.output));
                    }
                    Err(_) => prop_assert_eq!(&p, &before),
                }
            }
        }

        #[test]
        fn round_trips_never_profit(p in any_pool(), side in prop_oneof![Just(Side::Buy), Just(Side::Sell)], input in amount()) {
            let mut q = p.clone();
            if let Ok(there) = q.swap(side, input, 0) {
                if let Ok(back) = q.swap(side.opposite(), there.output, 0) {
                    prop_assert!(back.output <= input, "{} back for {}", back.output, input);
                }
            }
        }

        #[test]
        fn quote_in_is_the_least_sufficient_input(p in any_pool(), side in side(), want in amount()) {
            let (_, r_out) = p.reserves(side);
            match p.quote_in(side, want) {
                Ok(input) => {
                    prop_assert!(want < r_out);
                    prop_assert!(p.quote_out(side, input).unwrap() >= want);
                    if input > 0 {
                        prop_assert!(p.quote_out(side, input - 1).unwrap() < want);
                    }
                }
                Err(AmmError::InsufficientLiquidity { .. }) => prop_assert!(want >= r_out),
                Err(e) => prop_assert!(false, "{}", e),
            }
        }

        #[test]
        fn outputs_are_the_real_output_rounded_down(p in any_pool(), side in side(), input in amount()) {
            let out = p.quote_out(side, input).unwrap();
            prop_assert!(is_floor_of_real_output(&p, side, input, out));
            prop_assert!(out < p.reserves(side).1);
        }
    }
}
