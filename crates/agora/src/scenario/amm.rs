//! Automated market makers in a scenario: the `pricing` table of an `amm`
//! asset.
//!
//! ```toml
//! [[assets]]
//! name = "AGT"
//! pricing = { kind = "amm", curve = "constant_product", reserve_money = 1000.0, reserve_token = 1000.0, fee = 0.003 }
//! ```
//!
//! The pool starts with `reserve_money` units of money (paid in from
//! outside, like a curve's initial reserve) and `reserve_token` tokens
//! (minted into it: they are the asset's whole supply at the start, so an
//! `amm` asset has no `initial_supply`; agents may still be given tokens
//! with a group's `holdings`). `max_slippage` (optional, in [0, 1]) is
//! the tolerance every swap on the pool is executed with: a swap whose
//! output at its turn falls below `(1 − max_slippage)` times its quote at
//! the start of the step fails, unexecuted.
//!
//! `ordering` (on the asset, beside `pricing`) says in what order a step's
//! swaps execute: `"arrival"` (the default), each at its turn in the
//! step's seeded order; `"mempool"`, collected first as pending orders
//! that agents watching the mempool (a `sandwich` attacker) see, then
//! executed by priority fee, highest first, ties in arrival order, with
//! any front-run and back-run an attacker placed around a target
//! ([`crate::market::mempool`]).
//!
//! ```toml
//! [[assets]]
//! name = "AGT"
//! ordering = "mempool"
//! pricing = { kind = "amm", curve = "constant_product", reserve_money = 1000.0, reserve_token = 1000.0, fee = 0.003 }
//! ```

use super::fields::check_base;
use super::{kinds, Fields, Range};
use crate::error::Result;

kinds! {
    /// The order in which a step's swaps on an AMM execute (`ordering`,
    /// on the asset).
    pub enum Ordering {
        /// Each swap at its turn in the step's seeded order.
        Arrival = "arrival",
        /// Collected first, visible to agents that watch the mempool,
        /// executed by priority fee ([`crate::market::mempool`]).
        Mempool = "mempool",
    }
}

kinds! {
    /// An AMM's invariant (`curve`).
    pub enum AmmCurve {
        /// `x · y = k` (Uniswap V2).
        ConstantProduct = "constant_product",
    }
}

/// An automated market maker (`pricing.kind = "amm"`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AmmSpec {
    /// The pool's invariant.
    pub curve: AmmCurve,
    /// The pool's money at the start, money units (at least one base unit).
    pub reserve_money: f64,
    /// The pool's tokens at the start, token units (at least one base unit).
    pub reserve_token: f64,
    /// The swap fee, a share of each swap's input kept in the pool, in
    /// [0, 1) (rounded to a whole number of billionths).
    pub fee: f64,
    /// The slippage tolerance of every swap, in [0, 1], if any.
    pub max_slippage: Option<f64>,
    /// The order the step's swaps execute in (the asset's `ordering`).
    pub ordering: Ordering,
}

/// Reads the fields of an `amm` pricing table (`kind` read).
pub(super) fn parse_amm(p: &mut Fields<'_>) -> Result<AmmSpec> {
    let curve = p.kind("curve")?;
    let reserve_money = p.number("reserve_money", Range::Positive)?;
    check_base(p, "reserve_money", reserve_money, "money")?;
    let reserve_token = p.number("reserve_token", Range::Positive)?;
    check_base(p, "reserve_token", reserve_token, "token")?;
    let fee = p.number_or("fee", Range::HalfOpen(0.0, 1.0), 0.003)?;
    if crate::market::amm::Fee::from_fraction(fee).is_err() {
        return Err(p.error(
            "fee",
            format!(
                "expected a fee in [0, 1) that is not 1 once rounded to billionths, found {fee}"
            ),
        ));
    }
    let max_slippage = p.opt_number("max_slippage", Range::Unit)?;
    Ok(AmmSpec {
        curve,
        reserve_money,
        reserve_token,
        fee,
        max_slippage,
        ordering: Ordering::Arrival,
    })
}
