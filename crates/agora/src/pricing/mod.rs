//! Pricing mechanisms: how an asset's price is set and trades are settled.
//!
//! Bonding curves ([`curve`]) give the price as a function of supply; a
//! [`CurveMarket`] settles trades against a curve in integer base units.
//!
//! # Exact settlement on a curve
//!
//! Let `F(S) = ∫₀^S f` be the curve's reserve function and, in base units,
//! `R(S) = ⌈F(S) · SCALE⌉` (below 2⁵³ base units up to a relative slack of
//! 2⁻⁴⁸ for float noise; from 2⁵³ on, the whole number `F(S) · SCALE` is), a
//! deterministic, non-decreasing function of the integer supply, with
//! `R(0) = 0` (every curve has `F(0) = 0`). A buy from supply `S` to `S + d`
//! costs `R(S + d) − R(S)`; a sell back refunds `R(S) − R(S − d)`. The costs
//! telescope, so after any sequence of trades the reserve holds exactly
//! `R(S)` plus what was funded, whatever the floating-point error of each
//! evaluation of `F`: the reserve always covers burning the whole supply,
//! to the base unit, and buying then selling the same amount never profits.
//! A refund is also capped so that the reserve never falls below `R(S′)`
//! for the remaining supply `S′` (this only binds if `F` is not monotone to
//! the last ulp). Fees are rounded up, in favour of the pool.
//!
//! # Range
//!
//! `R` is a `u128` count of base units, like the reserve it backs: a
//! reserve may grow far past what one account holds (about 1.8e10 units).
//! Where `F(S) · SCALE` passes `u128::MAX` (about 3.4e29 units), `R(S)` is
//! past the range: a buy that would reach such a supply costs more than any
//! budget, and the engine refuses to fund or top up a reserve to it. A
//! supply is a `u64` (about 1.8e10 tokens): a budget that would buy the
//! supply to `u64::MAX` base units or past it is refused as past the range.
//! A buy costs at most the buyer's budget, so its cost and fee always fit
//! an account; a sell's refund may not, and the ledger refuses to credit it.

pub mod curve;

pub use curve::{BondingCurve, Curve, CurveError, UserCurve};

use crate::agents::Action;
use crate::ledger::trades::TradeKind;
use crate::ledger::{from_whole, from_wide, to_whole, to_wide, AgentId, LedgerError, SCALE};
use crate::market::mechanism::{Fault, MarketStep, Mechanism};

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
    /// `(0, 0)` is always true (`R(0) = 0`), so it stands for an empty entry.
    cache: [(u64, u128); 2],
}

/// Relative slack for float noise: a value within this share of a whole
/// number of base units counts as that number (so that `F = 1000.0000000001`
/// base units, the float image of an exact 1000, is not rounded up to 1001).
const SLACK: f64 = 1.0 / (1u64 << 48) as f64;

/// 2¹²⁸, the first amount of base units past the range of `R`.
const WIDE_RANGE: f64 = 340_282_366_920_938_463_463_374_607_431_768_211_456.0;

/// 2⁵²: from it on, every `f64` is a whole number (the spacing of `f64`s
/// is 1 from 2⁵² to 2⁵³, and more beyond).
const EXACT_RANGE: f64 = 4_503_599_627_370_496.0;

/// An amount past the ledger's range, as the settlement computes it: more
/// than any budget pays, and never an amount in range (no `f64` below 2¹²⁸
/// rounds to it). A marker rather than an `Option` on the hot path, where
/// it is only ever compared with a budget; [`CurveMarket::reserve_function`]
/// turns it into `None`.
const PAST: u128 = u128::MAX;

/// Converts a non-negative amount of units to base units, rounding up
/// (within the relative slack of [`SLACK`]) below 2⁵³ base units; from 2⁵³
/// on every `f64` is a whole number and the amount is taken as it is (the
/// slack would only move it off an exact value: `F = 5.001e10` units is
/// 50,010,000,000,000,000,000 base units, not 180,224 fewer). [`PAST`] for
/// NaN or from 2¹²⁸ base units on (so that nothing is ever free by
/// accident). Non-decreasing in `units`: below 2⁵³ the result is at most
/// the amount, from 2⁵³ on it is the amount.
#[inline]
fn ceil_base(units: f64) -> u128 {
    let exact = units * SCALE as f64;
    if exact < EXACT_RANGE {
        // The slack is relative, but at most half a base unit: from 2⁴⁸
        // base units on it took whole units off (16 near 2⁵²). Below 2⁵²
        // half a unit is a multiple of the spacing of `f64`s, so `x` is
        // exact there.
        let x = exact - (exact * SLACK).min(0.5);
        if x <= 0.0 {
            return 0;
        }
        // Truncation then a correction: a ceiling without a libm call, which
        // x86-64 without SSE4.1 would need for f64::ceil. 0 < x < 2⁵²: the
        // conversions through i64 are exact and one instruction each.
        let t = x as i64;
        u128::from((t + i64::from((t as f64) < x)) as u64)
    } else if exact < WIDE_RANGE {
        // A whole number: the conversion is exact.
        to_wide(exact)
    } else {
        PAST
    }
}

/// `floor(x)` for `x ≥ 0` as a whole number of base units, saturating at
/// `u64::MAX` (the callers' `x` is at most a `u64` budget, or they cap the
/// result at the room left in the supply).
#[inline]
fn floor_base(x: f64) -> u64 {
    if x > 0.0 {
        to_whole(x)
    } else {
        0
    }
}

/// `floor(x)` for `x ≥ 0`, wide enough to tell an amount of tokens past the
/// room left in a supply from one that fills it.
#[inline]
fn floor_wide(x: f64) -> u128 {
    if x > 0.0 {
        to_wide(x)
    } else {
        0
    }
}

/// Base units (a supply) to units.
#[inline]
fn units(base: u64) -> f64 {
    // A multiplication rather than a division: this is on the chain of
    // dependent trades, and the result differs by at most an ulp.
    from_whole(base) * (1.0 / SCALE as f64)
}

/// Wide base units (an amount of money) to units.
#[inline]
fn wide_units(base: u128) -> f64 {
    from_wide(base) * (1.0 / SCALE as f64)
}

impl CurveMarket {
    /// A market on `curve` taking `fee` (a share in `[0, 1)`) of each trade.
    pub fn new(curve: Curve, fee: f64) -> Self {
        CurveMarket {
            curve,
            fee,
            cache: [(0, 0); 2],
        }
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

    /// `R(S)`: the reserve function in base units, `⌈F(S)·SCALE⌉`; `None`
    /// past `u128::MAX` base units.
    pub fn reserve_function(&self, supply: u64) -> Option<u128> {
        Some(self.r(supply)).filter(|&r| r != PAST)
    }

    /// The reserve that backs `supply` under the current parameters, base
    /// units: `R(S) − R(0)`, which is `R(S)` since `R(0) = 0`; `None` past
    /// `u128::MAX` base units.
    pub fn required_reserve(&self, supply: u64) -> Option<u128> {
        self.reserve_function(supply)
    }

    /// `R(S)`, or [`PAST`]. Never inlined: the curve's integral, inlined
    /// into the quotes, has LLVM evaluate other curves' `exp` and `ln`
    /// before it knows which curve it prices.
    #[inline(never)]
    fn r(&self, supply: u64) -> u128 {
        ceil_base(self.curve.integral(units(supply)))
    }

    /// `R(S)` (or [`PAST`]), from the cache when it holds it.
    #[inline(always)]
    fn r_at(&mut self, supply: u64) -> u128 {
        // Newest first: a trade usually starts where the last one ended.
        if let Some(&(_, r)) = self.cache.iter().rev().find(|(s, _)| *s == supply) {
            return r;
        }
        let r = self.r(supply);
        self.remember(supply, r);
        r
    }

    /// Remembers `R(supply) = r`, evicting the older entry.
    #[inline]
    fn remember(&mut self, supply: u64, r: u128) {
        self.cache = [self.cache[1], (supply, r)];
    }

    #[inline]
    fn fee_on(&self, amount: u128) -> u128 {
        if self.fee == 0.0 {
            0
        } else {
            // Past the range only through rounding up to 2¹²⁸ (the fee is
            // below the amount): the fee is then capped at the amount.
            ceil_base(wide_units(amount) * self.fee).min(amount)
        }
    }

    /// Quotes a buy of as many tokens as `budget` (fees included) pays for,
    /// from `supply`. `Ok(None)` if the budget buys no whole base unit;
    /// [`LedgerError::Overflow`] if it buys the supply to `u64::MAX` base
    /// units or past it.
    ///
    /// The float inverse of the curve is accurate to about 1e-12 relative;
    /// the quote then settles in integers, stepping back if the integer cost
    /// exceeds the budget and forward by what the money left over still
    /// buys, so that the buyer gets within a base unit or two of the most
    /// the budget pays for (and splitting a buy never pays). That holds
    /// where `R` is exact, below 2⁵³ base units of reserve; past it `R` is
    /// a float whose spacing is many base units (2¹¹ at 10¹⁹), and the buy
    /// is within that spacing's share of its cost. A user curve's inverse
    /// need not be accurate: where stepping back from it lands on nothing,
    /// or the price at the end of it is 0 (a free stretch) or NaN, the
    /// quote searches the integer costs themselves (doubling, then
    /// bisection), and still gets the most the budget pays for. Where the
    /// inverse gives less than a base unit, the budget buys nothing.
    pub fn quote_buy(&mut self, supply: u64, budget: u64) -> Result<Option<BuyQuote>, LedgerError> {
        let r0 = self.r_at(supply);
        if r0 == PAST {
            return Ok(None);
        }
        let curve_budget = if self.fee == 0.0 {
            from_whole(budget)
        } else {
            from_whole(floor_base(from_whole(budget) / (1.0 + self.fee)))
        };
        let ds = self
            .curve
            .mint_for_budget(units(supply), curve_budget * (1.0 / SCALE as f64));
        if ds.is_nan() || ds <= 0.0 {
            return Ok(None);
        }
        let room = u64::MAX - supply;
        let exact = ds * SCALE as f64;
        let guess = floor_base(exact + exact * SLACK);
        // A guess of nothing at a full supply (room 0) is a budget that buys
        // no base unit, not one that buys past the range.
        if guess >= room && guess > 0 {
            self.check_room(supply, r0, budget)?;
        }
        let mut tokens = guess.min(room);
        if tokens == 0 {
            // The inverse gives less than a base unit: the budget buys nothing.
            return Ok(None);
        }
        // The float inverse may overshoot by a few ulps: step back until the
        // integer cost fits the budget. Converges in one or two rounds.
        let mut rounds = 0;
        loop {
            let (quote, total) = self.price_tokens(supply, r0, tokens);
            if total <= u128::from(budget) {
                return self.spend_leftover(supply, r0, budget, quote).map(Some);
            }
            let scaled = if total == PAST {
                // Past the range of R (or not priceable): halve the guess.
                tokens / 2
            } else {
                floor_base(from_whole(tokens) * (from_whole(budget) / from_wide(total)))
            };
            let step = (tokens >> 40).max(1);
            let next = scaled.min(tokens - step);
            rounds += 1;
            if next == 0 || rounds == 64 {
                // The inverse overshot so far on a convex curve that scaling
                // back by `budget / total` went to nothing (or 64 rounds did
                // not reach a fit): bisect below the tokens just priced.
                return Ok(self.buy_below(supply, budget, tokens));
            }
            tokens = next;
        }
    }

    /// The most tokens below `over` (which cost more than the budget) that
    /// the budget pays for, `None` if not one base unit: a bisection, for
    /// a first guess from which stepping back found nothing.
    #[cold]
    #[inline(never)]
    fn buy_below(&mut self, supply: u64, budget: u64, over: u64) -> Option<BuyQuote> {
        // Off the hot path, which keeps fewer values live: `R(S)` again,
        // from the cache.
        let r0 = self.r_at(supply);
        let nothing = BuyQuote {
            tokens: 0,
            cost: 0,
            fee: 0,
        };
        let q = self.most_below(supply, r0, budget, nothing, over);
        (q.tokens > 0).then_some(q)
    }

    /// Quotes a buy of exactly `tokens` from `supply` (its cost and fee),
    /// for a buy clipped below what its budget paid for; `None` if the
    /// supply after it or its total is past the ledger's range.
    pub fn quote_tokens(&mut self, supply: u64, tokens: u64) -> Option<BuyQuote> {
        supply.checked_add(tokens)?;
        let r0 = self.r_at(supply);
        if r0 == PAST {
            return None;
        }
        let (quote, total) = self.price_tokens(supply, r0, tokens);
        (total <= u128::from(u64::MAX)).then_some(quote)
    }

    /// [`LedgerError::Overflow`] if `budget` buys all the room left above
    /// `supply` (or there is none): the buy would take the supply to the
    /// end of its range or past it.
    #[cold]
    fn check_room(&mut self, supply: u64, r0: u128, budget: u64) -> Result<(), LedgerError> {
        let room = u64::MAX - supply;
        if room == 0 || self.price_tokens(supply, r0, room).1 <= u128::from(budget) {
            return Err(LedgerError::Overflow);
        }
        Ok(())
    }

    /// Prices `tokens` from `supply` (where `R = r0`): the quote and its
    /// total (cost and fee), the quote's amounts meaningful only when the
    /// total fits a `u64` budget. The total is [`PAST`] if `R(S + tokens)`
    /// is past the range, below `R(S)` (an `F` not monotone to the last
    /// ulp: such a buy is never quoted) or the total passes `u128::MAX`.
    #[inline(always)]
    fn price_tokens(&mut self, supply: u64, r0: u128, tokens: u64) -> (BuyQuote, u128) {
        // `tokens` is at most the room left below u64::MAX.
        let at = supply + tokens;
        let r1 = self.r(at);
        self.remember(at, r1);
        let (cost, fee, total) = match r1.checked_sub(r0) {
            Some(cost) if r1 != PAST => {
                let fee = self.fee_on(cost);
                // Past u128::MAX is past any budget: the marker says so.
                (cost, fee, cost.checked_add(fee).unwrap_or(PAST))
            }
            _ => (0, 0, PAST),
        };
        // Both fit a u64 whenever the total does (they are parts of it),
        // the only case in which the quote is used.
        let quote = BuyQuote {
            tokens,
            cost: cost as u64,
            fee: fee as u64,
        };
        (quote, total)
    }

    /// Extends a quote that fits the budget by the tokens the money left over
    /// still buys: Newton steps from below, each priced at the highest price
    /// on the way so that it does not overshoot; a step that does (through
    /// rounding) is halved.
    #[inline]
    fn spend_leftover(
        &mut self,
        supply: u64,
        r0: u128,
        budget: u64,
        fits: BuyQuote,
    ) -> Result<BuyQuote, LedgerError> {
        let mut best = fits;
        for _ in 0..8 {
            let leftover = budget - best.cost - best.fee;
            // On an increasing curve the price at the end of the buy is at
            // least its average price, cost / tokens: below that the
            // leftover buys nothing, and the price need not be evaluated.
            if u128::from(leftover) * u128::from(best.tokens) < u128::from(best.cost) {
                return Ok(best);
            }
            let at = supply + best.tokens;
            let per_token = self.spot_price(at) * (1.0 + self.fee);
            // Most quotes end here: the leftover does not buy one base unit.
            if from_whole(leftover) < per_token {
                return Ok(best);
            }
            // A price of 0 (a free stretch of a user curve) or NaN gives no
            // Newton step: search the integer costs instead.
            if per_token.is_nan() || per_token <= 0.0 {
                return self.most_from(supply, budget, best.tokens);
            }
            let room = u64::MAX - at;
            let guess = floor_base(from_whole(leftover) / per_token).min(room);
            let highest = self.spot_price(at + guess) * (1.0 + self.fee);
            let wanted = floor_wide(from_whole(leftover) / highest);
            if wanted >= u128::from(room) {
                self.check_room(supply, r0, budget)?;
            }
            let mut extra = floor_base(from_whole(leftover) / highest).min(room);
            if extra < guess / 4 {
                // A steep stretch: the price at the end of the step is
                // over four times its price at the start (or past the
                // range of `f64`), and steps priced at the highest price
                // would buy slivers of what the leftover pays for (an
                // inverse half the root of `e^S` left nearly all of a
                // budget unspent). Search the integer costs.
                return self.most_from(supply, budget, best.tokens);
            }
            loop {
                if extra == 0 {
                    return Ok(best);
                }
                let (more, total) = self.price_tokens(supply, r0, best.tokens + extra);
                if total <= u128::from(budget) {
                    best = more;
                    break;
                }
                extra /= 2;
            }
        }
        // Eight steps did not spend the leftover: search the integer costs.
        self.most_from(supply, budget, best.tokens)
    }

    /// The most tokens the budget pays for from `tokens` on (a buy that
    /// fits the budget), by their integer costs alone: steps of 1, 2, 4, …
    /// tokens until one costs too much, then [`Self::most_below`] it.
    /// [`LedgerError::Overflow`] if the budget buys all the room left.
    #[cold]
    #[inline(never)]
    fn most_from(
        &mut self,
        supply: u64,
        budget: u64,
        tokens: u64,
    ) -> Result<BuyQuote, LedgerError> {
        // Off the hot path, which keeps fewer values live: `R(S)` and the
        // quote of `tokens` again.
        let r0 = self.r_at(supply);
        let mut fits = self.price_tokens(supply, r0, tokens).0;
        let room = u64::MAX - supply;
        let mut step = 1u64;
        let over = loop {
            // `fits.tokens` is below the room (the room itself is refused)
            let tokens = fits.tokens.saturating_add(step);
            if tokens >= room {
                self.check_room(supply, r0, budget)?;
                break room;
            }
            let (quote, total) = self.price_tokens(supply, r0, tokens);
            if total > u128::from(budget) {
                break tokens;
            }
            fits = quote;
            step = step.saturating_mul(2);
        };
        Ok(self.most_below(supply, r0, budget, fits, over))
    }

    /// The most tokens the budget pays for between `fits` (a quote that fits
    /// it) and `over` tokens (which cost more, or are the room left), by
    /// bisection on the integer costs: at most 64 prices.
    #[cold]
    fn most_below(
        &mut self,
        supply: u64,
        r0: u128,
        budget: u64,
        fits: BuyQuote,
        over: u64,
    ) -> BuyQuote {
        let (mut fits, mut over) = (fits, over);
        while over - fits.tokens > 1 {
            let mid = fits.tokens + (over - fits.tokens) / 2;
            let (quote, total) = self.price_tokens(supply, r0, mid);
            if total <= u128::from(budget) {
                fits = quote;
            } else {
                over = mid;
            }
        }
        fits
    }

    /// Quotes selling `tokens` from `supply` with `reserve` in the reserve.
    /// [`LedgerError::Overflow`] if the refund is more than an account
    /// holds (or `R` at the supply is past its range, which the engine
    /// never lets a supply reach).
    pub fn quote_sell(
        &mut self,
        supply: u64,
        reserve: u128,
        tokens: u64,
    ) -> Result<SellQuote, LedgerError> {
        let tokens = tokens.min(supply);
        let r0 = self.r_at(supply);
        let r1 = self.r(supply - tokens);
        if r0 == PAST || r1 == PAST {
            return Err(LedgerError::Overflow);
        }
        self.remember(supply - tokens, r1);
        // Both differences stop at zero on purpose (clamps, not overflow
        // guards): a step down on which `R` is not monotone to the last ulp
        // refunds nothing, and a reserve already at or below `R(S′)` pays
        // nothing out (it keeps covering the remaining supply).
        let gross = r0.saturating_sub(r1);
        let room = reserve.saturating_sub(r1);
        let refund = u64::try_from(gross.min(room)).map_err(|_| LedgerError::Overflow)?;
        Ok(SellQuote {
            refund,
            // At most the refund.
            fee: self.fee_on(u128::from(refund)) as u64,
        })
    }

    /// Changes a curve parameter, or the fee share (`"fee"`, in `[0, 1)`),
    /// validated; on error nothing changes.
    pub fn set_param(&mut self, name: &str, value: f64) -> Result<(), CurveError> {
        if name == "fee" {
            if !(0.0..1.0).contains(&value) {
                return Err(CurveError::InvalidParameter {
                    curve: self.curve.kind_name(),
                    param: "fee",
                    expected: "a fee share in [0, 1)",
                    found: value,
                });
            }
            self.fee = value;
            return Ok(());
        }
        self.curve.set_param(name, value)?;
        let [(a, _), (b, _)] = self.cache;
        self.cache = [(a, self.r(a)), (b, self.r(b))];
        Ok(())
    }
}

/// A bonding curve as a [`Mechanism`]. The engine settles curve trades on
/// its own fast path (the same operations, inlined into its loop); this
/// implementation is the same settlement for callers that step a curve
/// through the trait, and gives the engine everything else (price, reserve,
/// parameters).
/// What of a curve market changes as a run goes: its fee and its curve's
/// parameters (schedules, events and governance set them).
#[derive(serde::Serialize, serde::Deserialize)]
struct CurveMarketState {
    fee: f64,
    params: Vec<(String, f64)>,
}

impl Mechanism for CurveMarket {
    fn save_state(&self) -> Option<Vec<u8>> {
        let params = self
            .curve
            .param_names()
            .iter()
            .filter_map(|&n| Some((n.to_string(), self.curve.param(n)?)))
            .collect();
        crate::market::mechanism::encode_state(&CurveMarketState {
            fee: self.fee,
            params,
        })
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let s: CurveMarketState = crate::market::mechanism::decode_state("bonding_curve", bytes)?;
        let mut restored = self.clone();
        restored
            .set_param("fee", s.fee)
            .map_err(|e| e.to_string())?;
        for (name, value) in &s.params {
            restored
                .set_param(name, *value)
                .map_err(|e| e.to_string())?;
        }
        *self = restored;
        Ok(())
    }

    fn kind(&self) -> &str {
        "bonding_curve"
    }

    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let (j, ledger) = (m.asset, &mut *m.ledger);
        let refused = |e: LedgerError, ledger: &mut crate::ledger::Ledger, kind| {
            if e == LedgerError::Overflow {
                Err(Fault::overflow(&format!("trading (agent {agent})"), kind))
            } else {
                ledger.count_rejected();
                Ok(())
            }
        };
        match action {
            Action::Hold => Ok(()),
            Action::Buy { spend, .. } => {
                let balance = ledger.balance(agent);
                if spend > balance {
                    ledger.count_clipped();
                }
                let supply = ledger.books(j).supply;
                let quote = match self.quote_buy(supply, spend.min(balance)) {
                    Ok(Some(quote)) => quote,
                    Ok(None) => {
                        ledger.count_rejected();
                        return Ok(());
                    }
                    Err(e) => return refused(e, ledger, "token"),
                };
                match ledger.buy(agent, j, quote.tokens, quote.cost, quote.fee) {
                    Ok(()) => {
                        m.stats.add(quote.tokens);
                        let money = quote.cost + quote.fee;
                        m.record(agent, None, TradeKind::Mint, true, quote.tokens, money);
                        Ok(())
                    }
                    Err(e) => refused(e, ledger, "token"),
                }
            }
            Action::Sell { amount, .. } => {
                let held = ledger.holding(agent, j);
                if amount > held {
                    ledger.count_clipped();
                }
                let tokens = amount.min(held);
                let books = ledger.books(j);
                let quote = match self.quote_sell(books.supply, books.reserve, tokens) {
                    Ok(q) if tokens > 0 && q.refund > 0 => q,
                    Ok(_) => {
                        ledger.count_rejected();
                        return Ok(());
                    }
                    Err(e) => return refused(e, ledger, "money"),
                };
                match ledger.sell(agent, j, tokens, quote.refund, quote.fee) {
                    Ok(()) => {
                        m.stats.add(tokens);
                        let money = quote.refund - quote.fee;
                        m.record(agent, None, TradeKind::Burn, false, tokens, money);
                        Ok(())
                    }
                    Err(e) => refused(e, ledger, "money"),
                }
            }
            // Orders need a market that clears, requests a resource; a
            // curve has neither.
            _ => {
                ledger.count_rejected();
                Ok(())
            }
        }
    }

    fn price(&self, supply: u64) -> f64 {
        self.spot_price(supply)
    }

    fn set_param(&mut self, name: &str, value: f64) -> Result<(), String> {
        CurveMarket::set_param(self, name, value).map_err(|e| e.to_string())
    }

    fn required_reserve(&self, supply: u64) -> Option<u128> {
        CurveMarket::required_reserve(self, supply)
    }

    /// `R(to) − R(from)`, at least 0 (an `R` not monotone to the last ulp
    /// asks nothing for the step).
    fn reserve_between(&self, from: u64, to: u64) -> Option<u128> {
        let (low, high) = (self.reserve_function(from)?, self.reserve_function(to)?);
        // A clamp at zero (see above), not an overflow guard.
        Some(high.saturating_sub(low))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linear() -> CurveMarket {
        CurveMarket::new(Curve::Linear { m: 0.001, b: 1.0 }, 0.0)
    }

    /// The market's spot price at a supply in base units is the curve's
    /// `P(S) = mS + b` at that supply in whole units.
    #[test]
    fn the_spot_price_is_the_curves_price_at_the_supply_in_whole_units() {
        let market = linear();
        for (supply, price) in [
            (0, 1.0),
            (2_000 * SCALE, 3.0),
            (500 * SCALE + SCALE / 2, 1.5005),
        ] {
            let p = market.spot_price(supply);
            assert!(
                (p - price).abs() < 1e-12,
                "P({supply} base units) = {p}, not {price}"
            );
        }
    }

    /// An amount within the relative slack above a whole number of base
    /// units counts as that number: 2ᵏ·(1 + 2⁻⁴⁸) base units, whose slack
    /// takes it to exactly 2ᵏ, is 2ᵏ (not 2ᵏ + 1).
    #[test]
    fn ceil_base_counts_a_whole_number_plus_float_noise_as_the_whole_number() {
        let mut checked = 0;
        for k in 0..40 {
            let target = 2f64.powi(k) * (1.0 + SLACK);
            let near = target / SCALE as f64;
            for step in -3i64..=3 {
                let units = f64::from_bits(near.to_bits().wrapping_add_signed(step));
                if units * SCALE as f64 == target {
                    assert_eq!(ceil_base(units), 1u128 << k, "2^{k}·(1 + 2^-48)");
                    checked += 1;
                }
            }
        }
        assert!(checked >= 20, "{checked}");
    }

    #[test]
    fn floor_wide_is_the_floor_past_u64_and_zero_for_what_is_not_positive() {
        assert_eq!(floor_wide(2.75), 2);
        assert_eq!(floor_wide(0.5), 0);
        assert_eq!(floor_wide(0.0), 0);
        assert_eq!(floor_wide(-3.0), 0);
        assert_eq!(floor_wide(f64::NAN), 0);
        // 2⁷⁰, past u64::MAX and exact in f64
        assert_eq!(floor_wide(2f64.powi(70)), 1u128 << 70);
    }

    #[test]
    fn a_market_reports_the_fee_it_was_made_with() {
        for fee in [0.0, 0.003, 0.5] {
            assert_eq!(
                CurveMarket::new(Curve::Linear { m: 0.0, b: 1.0 }, fee).fee(),
                fee
            );
        }
    }

    #[test]
    fn ceil_base_rounds_a_fraction_of_a_base_unit_up_and_refuses_what_it_cannot_count() {
        // 1.5 and 2.25 base units round up to 2 and 3; 2 is 2
        assert_eq!(ceil_base(1.5e-9), 2);
        assert_eq!(ceil_base(2.25e-9), 3);
        assert_eq!(ceil_base(2e-9), 2);
        assert_eq!(ceil_base(0.0), 0);
        assert_eq!(ceil_base(-1.0), 0);
        // nothing is free by accident: NaN and amounts past the range are
        // PAST, more than any budget
        assert_eq!(ceil_base(f64::NAN), PAST);
        assert_eq!(ceil_base(1e30), PAST);
    }

    /// Regression test: the float-noise slack is relative, and from 2⁴⁸
    /// base units on it took one or more whole base units off a whole
    /// amount (R(S) up to 32 base units short near 2⁵³). The result is
    /// never below the floor of the amount, nor above its ceiling.
    #[test]
    fn ceil_base_is_between_the_floor_and_the_ceiling_at_every_magnitude() {
        let mut exact = 1.0f64;
        while exact < 2.0 * EXACT_RANGE {
            for k in [1.0, 1.0 + 1e-16, 1.25, 1.5, 1.999_999_9] {
                let units = exact * k / SCALE as f64;
                let e = units * SCALE as f64;
                let got = ceil_base(units);
                assert!(
                    got >= e.floor() as u128 && got <= e.ceil() as u128,
                    "{e}: {got}"
                );
            }
            exact *= 2.0;
        }
        // a whole amount near 2⁵³ is itself
        let n = (1u64 << 52) + 12_345;
        let units = n as f64 / SCALE as f64;
        let e = units * SCALE as f64;
        assert_eq!(ceil_base(units), e.ceil() as u128);
    }

    #[test]
    fn a_buy_costs_the_integral_to_the_base_unit_scale() {
        let mut m = linear();
        let q = m.quote_buy(0, 100 * SCALE).unwrap().unwrap();
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

    /// `quote_buy`'s promise: the buyer gets within a base unit or two of
    /// the most the budget pays for. The quote is the integer price of its
    /// tokens (`quote_tokens`), fits the budget, and three base units more
    /// do not. (The reserves stay below 2⁵³ base units, where `R` is
    /// counted to the base unit; past it the ulp of `F·SCALE` is more than
    /// a few token base units' price.) On a steep curve (`e^S`, where one
    /// token base unit costs about a thousandth of a money unit at the end
    /// of a buy of 1e6) the first guess from the float inverse must be
    /// right: stepping back from an overshoot lands far below, and the
    /// leftover then buys too little.
    /// The token count is also the closed form `d = ln(1 + c·k/a)/k` of
    /// the exponential's inverse for `c` = the budget net of the fee, to
    /// within the fee's rounding.
    #[test]
    fn a_buy_gets_the_most_tokens_its_budget_pays_for() {
        let curves = [
            Curve::Linear { m: 0.001, b: 1.0 },
            Curve::Exponential { a: 1.0, k: 1.0 },
            Curve::Sigmoid {
                K: 10.0,
                k: 0.01,
                s0: 500.0,
            },
            Curve::Power { a: 2.0, n: 3.0 },
        ];
        for curve in curves {
            for fee in [0.0, 0.003, 0.5] {
                for (supply, budget) in [(0, 1_000_000 * SCALE), (3 * SCALE, 250 * SCALE + 7)] {
                    let mut m = CurveMarket::new(curve.clone(), fee);
                    let q = m.quote_buy(supply, budget).unwrap().unwrap();
                    let what =
                        format!("{curve:?}, fee {fee}, from {supply}, budget {budget}: {q:?}");
                    assert!(q.cost + q.fee <= budget, "{what}");
                    assert_eq!(m.quote_tokens(supply, q.tokens), Some(q), "{what}");
                    let more = m.quote_tokens(supply, q.tokens + 3);
                    assert!(
                        more.is_none_or(|more| more.cost + more.fee > budget),
                        "{what}: {more:?}"
                    );
                    if let Curve::Exponential { a, k } = curve {
                        let s = units(supply);
                        let c = units(budget) / (1.0 + fee);
                        let d = ((c * k / a) * (-k * s).exp()).ln_1p() / k;
                        let tokens = units(q.tokens);
                        assert!(
                            (tokens - d).abs() <= 3e-9 + 1e-12 * d,
                            "{what}: {tokens} vs {d}"
                        );
                    }
                }
            }
        }
    }

    /// A market on the user curve `curve`, named `name`, taking `fee`.
    fn user_market(name: &str, curve: impl BondingCurve + 'static, fee: f64) -> CurveMarket {
        let curve = Curve::Custom(std::sync::Arc::new(UserCurve::new(name, Box::new(curve))));
        CurveMarket::new(curve, fee)
    }

    /// `0.001·S + 1` with an inverse off by the factor `.0`: a user curve
    /// whose `mint_for_budget` is not the root (the default root finder's
    /// is to 1e-12, a user's own may be worse).
    #[derive(Debug)]
    struct Biased(f64);

    impl BondingCurve for Biased {
        fn spot_price(&self, supply: f64) -> f64 {
            0.001 * supply + 1.0
        }
        fn integral(&self, supply: f64) -> f64 {
            supply * (0.0005 * supply + 1.0)
        }
        fn mint_for_budget(&self, supply: f64, budget: f64) -> f64 {
            // the root 2c / (p + sqrt(p² + 2mc)) of m/2·d² + p·d = c
            let p = self.spot_price(supply);
            self.0 * 2.0 * budget / (p + (p * p + 0.002 * budget).sqrt())
        }
    }

    /// `e^{kS}` with k = 5e-9 (nearly flat for a million tokens; past the
    /// range of `R`, 3.4e29 units, from 1.4e10 tokens on) with an inverse
    /// off by the factor `.0`.
    #[derive(Debug)]
    struct BiasedExp(f64);

    impl BondingCurve for BiasedExp {
        fn spot_price(&self, supply: f64) -> f64 {
            (5e-9 * supply).exp()
        }
        fn integral(&self, supply: f64) -> f64 {
            (5e-9 * supply).exp_m1() / 5e-9
        }
        fn mint_for_budget(&self, supply: f64, budget: f64) -> f64 {
            self.0 * (budget * 5e-9 * (-5e-9 * supply).exp()).ln_1p() / 5e-9
        }
    }

    /// A first guess past the range of `R` is halved until it is in range
    /// and then scaled down to the budget: ten thousand times the root,
    /// 1e10 tokens for a budget of a million, costs e^50/5e-9 ≈ 1e30 units.
    #[test]
    fn a_buy_whose_first_guess_is_past_the_range_gets_the_most_it_pays_for() {
        for bias in [1.0, 1e4] {
            // from 0, where R = 0, and from 1000 tokens, where it is not
            // (the cost of a buy past the range is then PAST − R(S) unless
            // the range is checked)
            for supply in [0, 1_000 * SCALE] {
                let mut m = user_market("biased-exp", BiasedExp(bias), 0.0);
                let budget = 1_000_000 * SCALE;
                let what = format!("bias {bias}, from {supply}");
                let q = m.quote_buy(supply, budget).unwrap().unwrap();
                assert!(q.cost <= budget, "{what}: {q:?}");
                let more = m.quote_tokens(supply, q.tokens + 3);
                assert!(more.is_none_or(|more| more.cost > budget), "{what}: {q:?}");
                // d = ln(1 + c·k·e^{−kS})/k for c = 1e6
                let k = 5e-9;
                let d = (1e6 * k * (-k * units(supply)).exp()).ln_1p() / k;
                let tokens = units(q.tokens);
                assert!(
                    (tokens - d).abs() <= 3e-9 + 1e-12 * d,
                    "{what}: {tokens} vs {d}"
                );
            }
        }
        assert_eq!(
            user_market("e", BiasedExp(1.0), 0.0).reserve_function(10_000_000_000 * SCALE),
            None
        );
    }

    /// A budget of a billion money units on a flat curve at one unit per
    /// token buys a billion tokens, to 1e-12 relative (past 2⁵³ base units
    /// `R` is a float, its ulp 128 base units here, and the quote is not to
    /// the base unit): the step back from an overshoot within float
    /// rounding of the budget (`tokens · budget/total` then rounds back to
    /// `tokens`) still moves down, and a quote is found.
    #[test]
    fn a_buy_of_a_billion_tokens_at_one_unit_each_spends_the_budget() {
        let mut m = CurveMarket::new(Curve::Linear { m: 0.0, b: 1.0 }, 0.0);
        for k in 0..64u64 {
            let budget = 1_000_000_000 * SCALE + k * 37;
            let q = m.quote_buy(0, budget).unwrap().unwrap();
            assert!(
                q.cost <= budget && budget - q.cost <= budget / 1_000_000_000_000,
                "{budget}: {q:?}"
            );
            assert!(
                q.tokens.abs_diff(budget) <= budget / 1_000_000_000_000,
                "{budget}: {q:?}"
            );
        }
    }

    /// A flat curve at `price` money units per token whose inverse gives
    /// `share` of the root less `short` tokens.
    #[derive(Debug)]
    struct Flat {
        price: f64,
        share: f64,
        short: f64,
    }

    impl BondingCurve for Flat {
        fn spot_price(&self, _supply: f64) -> f64 {
            self.price
        }
        fn integral(&self, supply: f64) -> f64 {
            self.price * supply
        }
        fn mint_for_budget(&self, _supply: f64, budget: f64) -> f64 {
            self.share * budget / self.price - self.short
        }
    }

    /// At 1000 money units per token (1000 money base units per token base
    /// unit), an inverse one token base unit short.
    const ONE_SHORT: Flat = Flat {
        price: 1000.0,
        share: 1.0,
        short: 1e-9,
    };

    /// At a quarter of a money unit per token, an inverse giving half the
    /// root.
    const HALF_SHORT: Flat = Flat {
        price: 0.25,
        share: 0.5,
        short: 0.0,
    };

    /// When the money left over is exactly the price of one more token base
    /// unit (fee included), the buy takes it: a budget of exactly d base
    /// units' price buys d, not the d − 1 of the first guess.
    #[test]
    fn a_leftover_of_exactly_one_more_base_units_price_buys_it() {
        for fee in [0.0, 0.5] {
            let mut m = user_market("one-short", ONE_SHORT, fee);
            for d in [1_000u64, 123_456] {
                // cost 1000·d, fee ⌈1000·d·fee⌉ (whole here)
                let budget = 1000 * d + (1000.0 * d as f64 * fee) as u64;
                let q = m.quote_buy(0, budget).unwrap().unwrap();
                assert_eq!(q.tokens, d, "fee {fee}: {q:?}");
                assert_eq!(q.cost + q.fee, budget, "fee {fee}: {q:?}");
            }
        }
    }

    /// A budget that buys all the room left in the supply is refused when
    /// the first guess falls short of the room and only the money left
    /// over reaches it, as when the first guess reaches it: 1000 tokens of
    /// room at 0.25, a budget of exactly their cost.
    #[test]
    fn a_budget_whose_leftover_buys_the_rest_of_the_room_is_refused() {
        let mut m = user_market("half-short", HALF_SHORT, 0.0);
        let supply = u64::MAX - 1_000 * SCALE;
        let all = m.reserve_function(u64::MAX).unwrap() - m.reserve_function(supply).unwrap();
        let all = u64::try_from(all).unwrap();
        assert!(all.abs_diff(250 * SCALE) <= 8192, "{all}");
        assert_eq!(m.quote_buy(supply, all), Err(LedgerError::Overflow));
        // half of it buys tokens, within the room
        let q = m.quote_buy(supply, all / 2).unwrap().unwrap();
        assert!(q.cost <= all / 2 && q.tokens < 1_000 * SCALE, "{q:?}");
    }

    /// The settlement steps back from a first guess that overshoots and
    /// forward from one that falls short (the Newton steps on the money
    /// left over): with an inverse off by −50% to +100%, a buy still gets
    /// within a base unit or two of the most its budget pays for, as with
    /// the exact inverse, and exactly the integer price of its tokens.
    #[test]
    fn a_buy_gets_the_most_its_budget_pays_for_whatever_the_first_guess() {
        for bias in [0.5, 0.9, 1.0, 1.1, 2.0] {
            for fee in [0.0, 0.003, 0.5] {
                for (supply, budget) in [(0, 100 * SCALE), (1_000 * SCALE, 12_345 * SCALE + 6)] {
                    let mut m = user_market("biased", Biased(bias), fee);
                    let q = m.quote_buy(supply, budget).unwrap().unwrap();
                    let what =
                        format!("bias {bias}, fee {fee}, from {supply}, budget {budget}: {q:?}");
                    assert!(q.cost + q.fee <= budget, "{what}");
                    assert_eq!(m.quote_tokens(supply, q.tokens), Some(q), "{what}");
                    let more = m.quote_tokens(supply, q.tokens + 3);
                    assert!(
                        more.is_none_or(|more| more.cost + more.fee > budget),
                        "{what}: {more:?}"
                    );
                    // the closed form of the exact inverse, to within three
                    // token base units and the fee's rounding
                    let p = 0.001 * units(supply) + 1.0;
                    let c = units(budget) / (1.0 + fee);
                    let d = 2.0 * c / (p + (p * p + 0.002 * c).sqrt());
                    let tokens = units(q.tokens);
                    assert!(
                        (tokens - d).abs() <= 3e-9 + 1e-12 * d,
                        "{what}: {tokens} vs {d}"
                    );
                }
            }
        }
    }

    /// `e^S` (steep: one more token costs e times the last) with an inverse
    /// off by the factor `.0`.
    #[derive(Debug)]
    struct SteepExp(f64);

    impl BondingCurve for SteepExp {
        fn spot_price(&self, supply: f64) -> f64 {
            supply.exp()
        }
        fn integral(&self, supply: f64) -> f64 {
            supply.exp_m1()
        }
        fn mint_for_budget(&self, supply: f64, budget: f64) -> f64 {
            self.0 * (budget * (-supply).exp()).ln_1p()
        }
    }

    /// Whether `q` is the most tokens `budget` pays for from `supply`: it
    /// fits, is the integer price of its tokens, and one base unit more
    /// does not fit (or is past the range).
    fn is_the_most(m: &mut CurveMarket, supply: u64, budget: u64, q: BuyQuote) -> bool {
        let more = m.quote_tokens(supply, q.tokens + 1);
        q.cost + q.fee <= budget
            && m.quote_tokens(supply, q.tokens) == Some(q)
            && more.is_none_or(|more| more.cost + more.fee > budget)
    }

    /// For each bias of [`SteepExp`] and fee, from supplies 0 and 5: a buy
    /// with a budget of a million gets the most it pays for, and that is
    /// `d = ln(1 + c·e^{−S})` tokens (`c` the budget less the fee).
    fn buys_the_most_on_steep_curves(biases: &[f64], fees: &[f64]) {
        for &bias in biases {
            for &fee in fees {
                for supply in [0, 5 * SCALE] {
                    let mut m = user_market("steep", SteepExp(bias), fee);
                    let budget = 1_000_000 * SCALE;
                    let what = format!("bias {bias}, fee {fee}, from {supply}");
                    let q = m.quote_buy(supply, budget).unwrap().unwrap();
                    assert!(is_the_most(&mut m, supply, budget, q), "{what}: {q:?}");
                    let c = units(budget) / (1.0 + fee);
                    let d = (c * (-units(supply)).exp()).ln_1p();
                    let tokens = units(q.tokens);
                    assert!((tokens - d).abs() <= 3e-9, "{what}: {tokens} vs {d}");
                }
            }
        }
    }

    /// An inverse that overshoots by 100 or 1000 times on a steep curve:
    /// the first guess is past the range of `R` (e^1381), halving brings it
    /// to about 43 tokens (e^43 ≈ 5e18 units), and scaling that back by
    /// `budget / total` gives less than a base unit. The quote then bisects
    /// below the 43 tokens and still gets the most the budget pays for,
    /// `d = ln(1 + c·e^{−S})` (it used to buy nothing).
    #[test]
    fn a_buy_whose_first_guess_overshoots_a_steep_curve_by_far_gets_the_most_it_pays_for() {
        buys_the_most_on_steep_curves(&[1.0, 100.0, 1_000.0], &[0.0, 0.003]);
    }

    /// An inverse that falls short on a steep curve: from 7.06 of the 8.82
    /// tokens a budget of a million pays for at 5 tokens (bias 0.8), each
    /// Newton step of the leftover is priced at the highest price on its
    /// way, e^16.8 for a step of 4.8 tokens, and buys a sliver (7.88 tokens
    /// after eight steps). The quote still gets the most the budget pays
    /// for, `d = ln(1 + c·e^{−S})`.
    #[test]
    fn a_buy_whose_first_guess_falls_short_on_a_steep_curve_gets_the_most_it_pays_for() {
        buys_the_most_on_steep_curves(&[0.5, 0.8, 0.95], &[0.0, 0.003, 1.0]);
    }

    /// Where the budget buys not one base unit, an inverse that overshoots
    /// by far still buys nothing: `e^S` at 30 tokens, where a base unit
    /// costs e^30·1e-9 ≈ 1.1e4 money units, a budget of 1000 base units and
    /// an inverse 10¹² times the root (a first guess of about 93 base
    /// units).
    #[test]
    fn a_budget_short_of_one_base_unit_buys_nothing_whatever_the_first_guess() {
        let mut m = user_market("steep", SteepExp(1e12), 0.0);
        assert_eq!(m.quote_buy(30 * SCALE, 1_000), Ok(None));
    }

    /// Free everywhere, with an inverse that gives nine base units.
    #[derive(Debug)]
    struct FreeNine;

    impl BondingCurve for FreeNine {
        fn spot_price(&self, _supply: f64) -> f64 {
            0.0
        }
        fn integral(&self, _supply: f64) -> f64 {
            0.0
        }
        fn mint_for_budget(&self, _supply: f64, _budget: f64) -> f64 {
            9e-9
        }
    }

    /// Ten base units of room on a free curve: the first guess (nine) fits,
    /// the search from it reaches the room, which the budget pays for, and
    /// the buy is refused as past the range (never priced past the room).
    #[test]
    fn a_search_on_a_free_curve_that_reaches_the_room_is_refused() {
        let mut m = user_market("free", FreeNine, 0.0);
        assert_eq!(
            m.quote_buy(u64::MAX - 10, 1_000),
            Err(LedgerError::Overflow)
        );
        // and from further down: everything is free, so the room is reached
        assert_eq!(m.quote_buy(u64::MAX - 1_000, 1), Err(LedgerError::Overflow));
    }

    /// Free for the first 10 tokens, then one money unit a token, with an
    /// inverse that gives `.0` times the root (`10 − S + c` for `S < 10`).
    #[derive(Debug)]
    struct FreeFirst(f64);

    impl BondingCurve for FreeFirst {
        fn spot_price(&self, supply: f64) -> f64 {
            if supply < 10.0 {
                0.0
            } else {
                1.0
            }
        }
        fn integral(&self, supply: f64) -> f64 {
            (supply - 10.0).max(0.0)
        }
        fn mint_for_budget(&self, supply: f64, budget: f64) -> f64 {
            self.0 * ((10.0 - supply).max(0.0) + budget)
        }
    }

    /// Where the price at the end of the first guess is 0 (a free stretch)
    /// the Newton steps on the money left over have nothing to divide by:
    /// the quote searches the integer costs instead, and the buyer gets the
    /// free tokens and what the budget pays for past them, `10 − S + c`
    /// (it used to stop at the first guess, in the free stretch, with the
    /// budget unspent).
    #[test]
    fn a_buy_that_lands_where_the_curve_is_free_gets_the_most_it_pays_for() {
        for bias in [0.1, 0.5, 1.0] {
            for fee in [0.0, 0.5] {
                for supply in [0, 4 * SCALE] {
                    let mut m = user_market("free-first", FreeFirst(bias), fee);
                    let budget = 5 * SCALE;
                    let what = format!("bias {bias}, fee {fee}, from {supply}");
                    let q = m.quote_buy(supply, budget).unwrap().unwrap();
                    assert!(is_the_most(&mut m, supply, budget, q), "{what}: {q:?}");
                    // c + ⌈c·fee⌉ ≤ budget, in base units
                    let c = (budget as f64 / (1.0 + fee)).floor() as u64;
                    assert!(q.cost.abs_diff(c) <= 1, "{what}: {q:?}, c {c}");
                    assert_eq!(q.tokens, 10 * SCALE - supply + q.cost, "{what}: {q:?}");
                }
            }
        }
    }

    /// [`Biased`], counting the evaluations of its reserve `F`.
    #[derive(Debug)]
    struct CountedBiased(f64, std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl BondingCurve for CountedBiased {
        fn spot_price(&self, supply: f64) -> f64 {
            Biased(self.0).spot_price(supply)
        }
        fn integral(&self, supply: f64) -> f64 {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Biased(self.0).integral(supply)
        }
        fn mint_for_budget(&self, supply: f64, budget: f64) -> f64 {
            Biased(self.0).mint_for_budget(supply, budget)
        }
    }

    /// On a smooth curve whose inverse falls a little short (0.9 to 0.999
    /// of the root), the money left over is spent by Newton steps, each
    /// priced by one or two evaluations of `R`: the buy gets the most it
    /// pays for in at most 12 evaluations of `F` (3 to 6 in these cases).
    /// The search of the integer costs (`most_from`) gets the same tokens,
    /// but doubling and halving over the whole buy (about 2·log₂ of 10¹²
    /// base units: 79 evaluations in the first case); it is kept for the
    /// prices Newton cannot use (0, NaN, a steep stretch), and a guard
    /// that sent every leftover to it would pass every test of what a buy
    /// gets.
    #[test]
    fn a_buy_on_a_smooth_curve_spends_its_leftover_in_a_few_evaluations() {
        for bias in [0.9, 0.99, 0.999] {
            for fee in [0.0, 0.003] {
                for supply in [0, 1_000 * SCALE] {
                    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
                    let curve = CountedBiased(bias, count.clone());
                    let mut m = user_market("counted", curve, fee);
                    let budget = 10_000 * SCALE;
                    let what = format!("bias {bias}, fee {fee}, from {supply}");
                    let q = m.quote_buy(supply, budget).unwrap().unwrap();
                    let evaluations = count.load(std::sync::atomic::Ordering::Relaxed);
                    assert!(evaluations <= 12, "{what}: {evaluations} evaluations of F");
                    assert!(is_the_most(&mut m, supply, budget, q), "{what}: {q:?}");
                }
            }
        }
    }

    /// At a full supply (`u64::MAX` base units) a budget that buys no base
    /// unit buys nothing, as a budget of nothing does; one that buys a base
    /// unit would take the supply past its range and is refused.
    #[test]
    fn at_a_full_supply_a_budget_short_of_one_base_unit_buys_nothing() {
        let mut m = CurveMarket::new(Curve::Linear { m: 0.0, b: 1000.0 }, 0.0);
        assert_eq!(m.quote_buy(u64::MAX, 0), Ok(None));
        assert_eq!(m.quote_buy(u64::MAX, 999), Ok(None));
        assert_eq!(m.quote_buy(u64::MAX, 1000), Err(LedgerError::Overflow));
        // one base unit short of the top: the last base unit is refused too
        assert_eq!(m.quote_buy(u64::MAX - 1, 999), Ok(None));
        assert_eq!(m.quote_buy(u64::MAX - 1, 1000), Err(LedgerError::Overflow));
    }

    #[test]
    fn buy_then_sell_returns_exactly_the_cost_without_fee() {
        let mut m = linear();
        let q = m.quote_buy(5 * SCALE, 37 * SCALE).unwrap().unwrap();
        let s = m
            .quote_sell(5 * SCALE + q.tokens, u128::MAX, q.tokens)
            .unwrap();
        assert_eq!(s.refund, q.cost);
    }

    #[test]
    fn fees_are_taken_on_both_sides_and_fit_the_budget() {
        let mut m = CurveMarket::new(Curve::Linear { m: 0.001, b: 1.0 }, 0.003);
        let budget = 1000 * SCALE;
        let q = m.quote_buy(0, budget).unwrap().unwrap();
        assert!(q.cost + q.fee <= budget);
        assert!(q.fee >= (q.cost as f64 * 0.003) as u64);
        let s = m
            .quote_sell(q.tokens, u128::from(q.cost), q.tokens)
            .unwrap();
        assert_eq!(s.refund, q.cost);
        assert!(s.fee > 0 && s.fee <= s.refund);
    }

    #[test]
    fn a_refund_never_takes_the_reserve_below_the_remaining_supply() {
        let mut m = linear();
        // A reserve short of R(S) (as if underfunded): the refund is capped.
        let supply = 1000 * SCALE;
        let needed = m.required_reserve(supply).unwrap();
        let s = m.quote_sell(supply, needed - 5, 10 * SCALE).unwrap();
        let remaining = m.required_reserve(supply - 10 * SCALE).unwrap();
        assert!(needed - 5 - u128::from(s.refund) >= remaining);
    }

    #[test]
    fn a_budget_too_small_for_one_base_unit_buys_nothing() {
        let mut m = CurveMarket::new(Curve::Linear { m: 0.0, b: 1000.0 }, 0.0);
        assert_eq!(m.quote_buy(0, 999), Ok(None));
        assert_eq!(m.quote_buy(0, 1000).unwrap().map(|q| q.tokens), Some(1));
    }

    /// A budget of nothing buys nothing (`Ok(None)`, not a refusal), even
    /// at a supply with no room left above it, and with a fee.
    #[test]
    fn a_budget_of_nothing_buys_nothing_even_with_no_room_left() {
        for fee in [0.0, 0.003] {
            let mut m = CurveMarket::new(Curve::Linear { m: 0.0, b: 1.0 }, fee);
            for supply in [0, u64::MAX / 2, u64::MAX] {
                assert_eq!(m.quote_buy(supply, 0), Ok(None), "{supply}, fee {fee}");
            }
        }
    }

    #[test]
    fn ceil_base_is_exact_across_the_u64_edge_and_marks_what_is_past_u128() {
        // whole numbers of base units below 2⁵³: exact
        assert_eq!(ceil_base(1000.0), 1_000_000_000_000);
        assert_eq!(ceil_base(1e-9), 1);
        assert_eq!(ceil_base(1.5e-9), 2);
        assert_eq!(ceil_base(0.0), 0);
        assert_eq!(ceil_base(-5.0), 0);
        // from 2⁵³ base units on, the whole number the f64 is: F(1e7) of
        // 0.001·S + 1, 5.001e10 units, to the base unit
        assert_eq!(ceil_base(5.001e10), 50_010_000_000_000_000_000);
        assert_eq!(ceil_base(9_007_199.254740992), 1 << 53);
        // and non-decreasing across 2⁵³: just below it, at most the amount
        let below = 9_007_199.254_740_99;
        assert!(ceil_base(below) <= 1 << 53 && ceil_base(below) > (1 << 53) - 100);
        // across 2⁶³ and 2⁶⁴ base units (9.2e9 and 1.8e10 units): the
        // value, within the documented slack of 2⁻⁴⁸, and no saturation
        for units in [9.3e9, 1.8e10, 2e10, 5.001e10, 1e20, 3.4e29] {
            let exact = units * SCALE as f64;
            let r = ceil_base(units) as f64;
            assert!(
                r <= exact && r >= exact * (1.0 - 2.0 * SLACK),
                "{units}: {r} vs {exact}"
            );
            assert_eq!(
                ceil_base(units) > u128::from(u64::MAX),
                exact > u64::MAX as f64,
                "{units}"
            );
        }
        // past 2¹²⁸ base units, and NaN: the marker, never a small number
        assert_eq!(ceil_base(3.5e29), PAST);
        assert_eq!(ceil_base(f64::INFINITY), PAST);
        assert_eq!(ceil_base(f64::NAN), PAST);
    }

    /// Regression test for issue 14: once `R` passed `u64::MAX` base units
    /// (1.8e10 money units) it saturated and a buy cost `R(S + d) − R(S)`
    /// of two capped values, nothing. At supply 1e7 on `0.001·S + 1`,
    /// `R(S) = 5.001e10` units: a budget of 1e6 buys d with
    /// `m/2·((S + d)² − S²) + b·d = 1e6`, paid to the base unit.
    #[test]
    fn a_buy_from_a_reserve_past_u64_costs_the_integral_not_nothing() {
        let mut m = linear();
        let supply = 10_000_000 * SCALE;
        let r0 = m.reserve_function(supply).unwrap();
        assert!(r0 > u128::from(u64::MAX));
        let budget = 1_000_000 * SCALE;
        let q = m.quote_buy(supply, budget).unwrap().unwrap();
        assert_eq!(
            u128::from(q.cost),
            m.reserve_function(supply + q.tokens).unwrap() - r0
        );
        // d = (−p + sqrt(p² + 2·m·c)) / m with p = m·S + b the spot price
        let p = 0.001 * 1e7 + 1.0;
        let d = (-p + (p * p + 2.0 * 0.001 * 1e6f64).sqrt()) / 0.001;
        assert!((units(q.tokens) - d).abs() <= 1e-6 * d, "{q:?} vs {d}");
        // the budget is spent to within a token base unit's price (1e-5
        // money per base unit here) plus the float noise of R at 5e19
        assert!(budget - q.cost < 200_000, "{q:?}");
        // and selling the tokens back refunds exactly the cost
        let s = m
            .quote_sell(supply + q.tokens, r0 + u128::from(q.cost), q.tokens)
            .unwrap();
        assert_eq!(s.refund, q.cost);
    }

    #[test]
    fn a_budget_that_buys_the_supply_to_the_end_of_its_range_is_refused() {
        // one money unit per token, 1000 tokens of room left in the supply:
        // the room costs 1000 money (R is a float of about 1.8e19 base
        // units here, so costs are whole to within its ulp of 4096)
        let mut m = CurveMarket::new(Curve::Linear { m: 0.0, b: 1.0 }, 0.0);
        let room = 1_000 * SCALE;
        let supply = u64::MAX - room;
        let r0 = m.reserve_function(supply).unwrap();
        for budget in [500 * SCALE, 999 * SCALE] {
            let q = m.quote_buy(supply, budget).unwrap().unwrap();
            assert!(q.cost <= budget && budget - q.cost <= 8192, "{q:?}");
            assert!(q.tokens.abs_diff(budget) <= 8192, "{q:?}");
            let r1 = m.reserve_function(supply + q.tokens).unwrap();
            assert_eq!(u128::from(q.cost), r1 - r0);
        }
        assert_eq!(
            m.quote_buy(supply, 1_001 * SCALE),
            Err(LedgerError::Overflow)
        );
        assert_eq!(m.quote_buy(supply, u64::MAX), Err(LedgerError::Overflow));
        assert_eq!(m.quote_buy(u64::MAX, SCALE), Err(LedgerError::Overflow));
        // a nanomoney token: a budget of 1e9 money buys 1e18 tokens,
        // 1e27 base units, past any supply
        let mut cheap = CurveMarket::new(Curve::Linear { m: 0.0, b: 1e-9 }, 0.0);
        assert_eq!(
            cheap.quote_buy(0, 1_000_000_000 * SCALE),
            Err(LedgerError::Overflow)
        );
        // with a fee of one half a budget pays 2/3 of itself to the curve:
        // 1600 money would buy 1067 tokens, past the room; 1400 buys 933
        let mut fee = CurveMarket::new(Curve::Linear { m: 0.0, b: 1.0 }, 0.5);
        assert_eq!(
            fee.quote_buy(supply, 1_600 * SCALE),
            Err(LedgerError::Overflow)
        );
        let q = fee.quote_buy(supply, 1_400 * SCALE).unwrap().unwrap();
        assert!(q.cost + q.fee <= 1_400 * SCALE, "{q:?}");
        let want = 1_400 * SCALE * 2 / 3;
        assert!(q.tokens.abs_diff(want) <= 16384, "{q:?} vs {want}");
    }

    /// A budget a base unit short of the cost of all the room left is not
    /// refused: the float inverse, with its slack, says it buys the room
    /// (2⁵⁰ base units of room: the slack alone is four base units), and
    /// the integer price of the room says it does not. The whole cost of
    /// the room is refused.
    #[test]
    fn a_budget_just_short_of_the_rooms_cost_buys_and_does_not_overflow() {
        let mut m = CurveMarket::new(Curve::Linear { m: 0.0, b: 1.0 }, 0.0);
        let supply = u64::MAX - (1 << 50) + 1;
        let all = m.reserve_function(u64::MAX).unwrap() - m.reserve_function(supply).unwrap();
        let all = u64::try_from(all).unwrap();
        assert!(all.abs_diff(1 << 50) <= 8192, "{all}");
        let q = m.quote_buy(supply, all - 1).unwrap().unwrap();
        assert!(q.cost < all && q.tokens < u64::MAX - supply, "{q:?}");
        assert_eq!(m.quote_buy(supply, all), Err(LedgerError::Overflow));
    }

    /// A sell from a supply whose `R` is past the range is refused even
    /// when the supply after it is in range and the reserve is small (the
    /// engine never lets a supply get there; nothing is paid out of it).
    #[test]
    fn a_sell_from_a_supply_past_the_range_is_refused_whatever_the_reserve() {
        let mut m = CurveMarket::new(Curve::Exponential { a: 1.0, k: 1.0 }, 0.0);
        // R(100) = e^100 − 1 ≈ 2.7e43 money units, past 3.4e29; R(50) is not
        let after = m.reserve_function(50 * SCALE).unwrap();
        assert_eq!(m.reserve_function(100 * SCALE), None);
        assert_eq!(
            m.quote_sell(100 * SCALE, after + 5, 50 * SCALE),
            Err(LedgerError::Overflow)
        );
    }

    /// A market remembers `R` at two supplies; its quotes are those of a
    /// fresh market whatever it quoted before, across sells, buys at the
    /// supplies it remembered and changes of its parameters.
    #[test]
    fn quotes_do_not_depend_on_what_the_market_quoted_before() {
        let fresh = |curve: &Curve, fee: f64| CurveMarket::new(curve.clone(), fee);
        let mut m = CurveMarket::new(Curve::Linear { m: 0.001, b: 1.0 }, 0.0);
        // a sell of 5 tokens from 10, then quotes at supplies near it: 5
        // (where it ended), 10, 15 and 2 base units (10 / 5 and 10 + 5)
        let s = m.quote_sell(10 * SCALE, u128::MAX, 5 * SCALE).unwrap();
        assert_eq!(
            s,
            fresh(m.curve(), 0.0)
                .quote_sell(10 * SCALE, u128::MAX, 5 * SCALE)
                .unwrap()
        );
        for supply in [2, 5 * SCALE, 10 * SCALE, 15 * SCALE, 2] {
            let want = fresh(m.curve(), 0.0).quote_buy(supply, 7 * SCALE);
            assert_eq!(m.quote_buy(supply, 7 * SCALE), want, "{supply}");
            let want = fresh(m.curve(), 0.0).quote_sell(supply, u128::MAX, SCALE);
            assert_eq!(m.quote_sell(supply, u128::MAX, SCALE), want, "{supply}");
        }
        // a new slope: R changes at every supply the market remembers
        m.quote_buy(5 * SCALE, 7 * SCALE).unwrap();
        m.set_param("m", 0.004).unwrap();
        assert_eq!(m.curve(), &Curve::Linear { m: 0.004, b: 1.0 });
        for supply in [5 * SCALE, 2, 10 * SCALE] {
            let want = fresh(m.curve(), 0.0).quote_sell(supply, u128::MAX, SCALE);
            assert_eq!(m.quote_sell(supply, u128::MAX, SCALE), want, "{supply}");
        }
        // the fee: a share in [0, 1), taken on the next trade
        m.set_param("fee", 0.01).unwrap();
        assert_eq!(m.fee(), 0.01);
        let want = fresh(m.curve(), 0.01).quote_buy(5 * SCALE, 7 * SCALE);
        assert_eq!(m.quote_buy(5 * SCALE, 7 * SCALE), want);
        assert!(want.unwrap().unwrap().fee > 0);
        for bad in [1.0, -0.01, f64::NAN] {
            assert!(m.set_param("fee", bad).is_err(), "{bad}");
            assert_eq!(m.fee(), 0.01);
        }
        assert!(m.set_param("slope", 1.0).is_err());
        assert!(m.set_param("m", -1.0).is_err());
        assert_eq!(m.curve(), &Curve::Linear { m: 0.004, b: 1.0 });
    }

    /// A curve stepped through the [`Mechanism`] trait settles a buy and a
    /// sell as its quotes say, moving money and tokens in the ledger,
    /// counting and recording the trades, clipping an order to what the
    /// agent has and rejecting what buys or refunds nothing; a buy past
    /// the supply's range is a fault, not a rejection.
    #[test]
    fn a_curve_through_the_mechanism_trait_settles_its_quotes() {
        use crate::ledger::Ledger;
        use crate::market::mechanism::Desk;
        let curve = Curve::Linear { m: 0.001, b: 1.0 };
        let mut reference = CurveMarket::new(curve.clone(), 0.003);
        let mut market = CurveMarket::new(curve, 0.003);
        let mut act = |d: &mut Desk, agent, action| market.execute(agent, action, &mut d.step(1));
        let mut d = Desk::new(Ledger::new(2, 1), true);
        d.ledger.fund_balance(0, 1_000 * SCALE).unwrap();
        d.ledger.fund_balance(1, 500 * SCALE).unwrap();
        let counts = |ledger: &Ledger| (ledger.counts().rejected, ledger.counts().clipped);
        let sell = |amount| Action::Sell { asset: 0, amount };

        act(&mut d, 0, Action::Hold).unwrap();
        assert_eq!(counts(&d.ledger), (0, 0));
        // a buy of more than the balance is clipped to it
        let q = reference.quote_buy(0, 1_000 * SCALE).unwrap().unwrap();
        let buy = Action::Buy {
            asset: 0,
            spend: 2_000 * SCALE,
        };
        act(&mut d, 0, buy).unwrap();
        assert_eq!(counts(&d.ledger), (0, 1));
        assert_eq!(d.ledger.balance(0), 1_000 * SCALE - q.cost - q.fee);
        assert_eq!(d.ledger.holding(0, 0), q.tokens);
        let books = *d.ledger.books(0);
        assert_eq!(
            (books.supply, books.reserve, books.fee_pool),
            (q.tokens, u128::from(q.cost), u128::from(q.fee))
        );
        // a buy of exactly the balance is not clipped
        let q1 = reference.quote_buy(q.tokens, 500 * SCALE).unwrap().unwrap();
        act(
            &mut d,
            1,
            Action::Buy {
                asset: 0,
                spend: 500 * SCALE,
            },
        )
        .unwrap();
        assert_eq!(counts(&d.ledger), (0, 1));
        assert_eq!(d.ledger.holding(1, 0), q1.tokens);
        // a sell of more than is held is clipped to the holding
        let supply = q.tokens + q1.tokens;
        let reserve = u128::from(q.cost + q1.cost);
        let s = reference.quote_sell(supply, reserve, q1.tokens).unwrap();
        assert!(s.refund > 0 && s.fee > 0);
        act(&mut d, 1, sell(2 * q1.tokens)).unwrap();
        assert_eq!(counts(&d.ledger), (0, 2));
        assert_eq!(d.ledger.holding(1, 0), 0);
        assert_eq!(
            d.ledger.balance(1),
            500 * SCALE - q1.cost - q1.fee + s.refund - s.fee
        );
        assert_eq!(d.ledger.books(0).supply, q.tokens);
        assert_eq!(d.ledger.books(0).reserve, reserve - u128::from(s.refund));
        // a sell of exactly the holding is not clipped
        let s0 = reference
            .quote_sell(q.tokens, reserve - u128::from(s.refund), q.tokens)
            .unwrap();
        act(&mut d, 0, sell(q.tokens)).unwrap();
        assert_eq!(counts(&d.ledger), (0, 2));
        assert_eq!(
            d.ledger.balance(0),
            1_000 * SCALE - q.cost - q.fee + s0.refund - s0.fee
        );
        assert_eq!(d.ledger.books(0).supply, 0);
        // four trades: two mints, two burns, each recorded at what it paid
        assert_eq!(
            (d.stats.trades, d.stats.volume),
            (4, 2 * u128::from(supply))
        );
        let got: Vec<_> = d
            .trades
            .records()
            .iter()
            .map(|r| (r.agent, r.kind, r.buy, r.quantity, r.money))
            .collect();
        assert_eq!(
            got,
            [
                (
                    0,
                    TradeKind::Mint,
                    true,
                    q.tokens,
                    u128::from(q.cost + q.fee)
                ),
                (
                    1,
                    TradeKind::Mint,
                    true,
                    q1.tokens,
                    u128::from(q1.cost + q1.fee)
                ),
                (
                    1,
                    TradeKind::Burn,
                    false,
                    q1.tokens,
                    u128::from(s.refund - s.fee)
                ),
                (
                    0,
                    TradeKind::Burn,
                    false,
                    q.tokens,
                    u128::from(s0.refund - s0.fee)
                ),
            ]
        );
        // nothing to sell, nothing to spend, an order: rejected
        act(&mut d, 0, sell(SCALE)).unwrap();
        act(&mut d, 0, Action::Buy { asset: 0, spend: 0 }).unwrap();
        let limit = Action::Limit {
            asset: 0,
            side: crate::agents::Side::Buy,
            price: SCALE,
            amount: SCALE,
            ttl: 1,
        };
        act(&mut d, 0, limit).unwrap();
        assert_eq!(counts(&d.ledger), (3, 3));
        // tokens whose sell refunds nothing (a supply with no reserve
        // behind it): rejected, nothing moves
        d.ledger.fund_supply(0, Some(1), 5 * SCALE, 0).unwrap();
        act(&mut d, 1, sell(SCALE)).unwrap();
        assert_eq!(counts(&d.ledger), (4, 3));
        assert_eq!(d.ledger.holding(1, 0), 5 * SCALE);
        assert_eq!(d.stats.trades, 4);
        // a buy at a supply with no room left is a fault
        d.ledger
            .fund_supply(0, None, u64::MAX - 5 * SCALE, 0)
            .unwrap();
        let buy = Action::Buy {
            asset: 0,
            spend: SCALE,
        };
        assert!(act(&mut d, 0, buy).is_err());
        assert_eq!(counts(&d.ledger), (4, 3));
    }

    /// The rest of the trait: the kind, the price, the reserve, parameters
    /// and a state that restores the fee and the curve's parameters.
    #[test]
    fn a_curve_as_a_mechanism_reports_its_price_reserve_and_state() {
        let mut m = CurveMarket::new(Curve::Linear { m: 0.001, b: 1.0 }, 0.003);
        let mech: &mut dyn Mechanism = &mut m;
        assert_eq!(mech.kind(), "bonding_curve");
        // P(S) = mS + b, R(S) = ⌈(m/2·S² + b·S)·SCALE⌉: at 2000 tokens 3
        // and 4000 units, at 1000 tokens 1500
        assert!((mech.price(2_000 * SCALE) - 3.0).abs() < 1e-12);
        assert_eq!(
            mech.required_reserve(2_000 * SCALE),
            Some(4_000 * SCALE as u128)
        );
        assert_eq!(
            mech.reserve_between(1_000 * SCALE, 2_000 * SCALE),
            Some(2_500 * SCALE as u128)
        );
        assert_eq!(mech.reserve_between(2_000 * SCALE, 1_000 * SCALE), Some(0));
        let saved = mech.save_state().unwrap();
        mech.set_param("fee", 0.01).unwrap();
        mech.set_param("m", 0.002).unwrap();
        assert!(mech.set_param("fee", 2.0).is_err());
        assert!((mech.price(2_000 * SCALE) - 5.0).abs() < 1e-12);
        mech.load_state(&saved).unwrap();
        assert_eq!(
            m,
            CurveMarket::new(Curve::Linear { m: 0.001, b: 1.0 }, 0.003)
        );
        // a state that does not decode, or names parameters the curve does
        // not have (a sigmoid's, after its fee), changes nothing
        let sigmoid = Curve::Sigmoid {
            K: 1.0,
            k: 1.0,
            s0: 0.0,
        };
        let foreign = CurveMarket::new(sigmoid, 0.5).save_state().unwrap();
        let mut other = CurveMarket::new(Curve::Linear { m: 0.004, b: 2.0 }, 0.0);
        assert!(other.load_state(&[0xff, 0x01]).is_err());
        assert!(other.load_state(&foreign).is_err());
        assert_eq!(
            other,
            CurveMarket::new(Curve::Linear { m: 0.004, b: 2.0 }, 0.0)
        );
    }

    #[test]
    fn a_refund_that_no_account_can_hold_is_refused() {
        let mut m = linear();
        // supply 1e9 tokens: R = 0.0005·1e18 + 1e9 ≈ 5e14 money units
        let supply = 1_000_000_000 * SCALE;
        let reserve = m.reserve_function(supply).unwrap();
        // selling 1e8 tokens refunds about 9.5e13 units, past 1.8e10
        assert_eq!(
            m.quote_sell(supply, reserve, 100_000_000 * SCALE),
            Err(LedgerError::Overflow)
        );
        // ten tokens refund about 1e7 units, exactly R(S) − R(S − d)
        let s = m.quote_sell(supply, reserve, 10 * SCALE).unwrap();
        let r1 = m.reserve_function(supply - 10 * SCALE).unwrap();
        assert_eq!(u128::from(s.refund), reserve - r1);
        // a refund of the whole reserve at one money per token, just below
        // what an account holds, passes; at two per token it does not fit
        let mut flat = CurveMarket::new(Curve::Linear { m: 0.0, b: 1.0 }, 0.0);
        let big = 18_000_000_000 * SCALE;
        let all = flat.reserve_function(big).unwrap();
        assert_eq!(all, u128::from(big));
        assert_eq!(
            flat.quote_sell(big, all, big).map(|q| u128::from(q.refund)),
            Ok(all)
        );
        let mut two = CurveMarket::new(Curve::Linear { m: 0.0, b: 2.0 }, 0.0);
        let all = two.reserve_function(big).unwrap();
        assert_eq!(two.quote_sell(big, all, big), Err(LedgerError::Overflow));
        // part of it still fits
        let half = two.quote_sell(big, all, big / 4).unwrap();
        let r1 = two.reserve_function(big - big / 4).unwrap();
        assert_eq!(u128::from(half.refund), all - r1);
    }

    #[test]
    fn the_reserve_function_is_none_past_u128_and_such_a_supply_buys_nothing() {
        let mut m = CurveMarket::new(Curve::Exponential { a: 1.0, k: 1.0 }, 0.0);
        // e^100 ≈ 2.7e43 money units, past 3.4e29
        let supply = 100 * SCALE;
        assert_eq!(m.reserve_function(supply), None);
        assert_eq!(m.required_reserve(supply), None);
        assert_eq!(m.quote_buy(supply, u64::MAX), Ok(None));
        assert_eq!(
            m.quote_sell(supply, u128::MAX, 1),
            Err(LedgerError::Overflow)
        );
        // e^60 ≈ 1.1e26 money units: in range, past u64
        let r = m.reserve_function(60 * SCALE).unwrap() as f64;
        let want = 60f64.exp_m1() * SCALE as f64;
        assert!((r - want).abs() <= 1e-12 * want, "{r} vs {want}");
        // just below the edge one token base unit costs e^S·1e-9 ≈ 3e20
        // money, more than any account holds: the largest budget buys
        // nothing (never a quote that reaches past the range)
        let edge = (3.0e29f64).ln();
        let supply = (edge * SCALE as f64) as u64;
        assert!(m.reserve_function(supply).is_some());
        assert_eq!(m.quote_buy(supply, u64::MAX), Ok(None));
        // a flat curve at 2e19 money per token: R(S) for 1.8e10 tokens,
        // 3.7e29 money units, is past the range; half of that supply is in
        // it, and one token base unit there (2e10 money) is past any budget
        let mut dear = CurveMarket::new(Curve::Linear { m: 0.0, b: 2e19 }, 0.0);
        assert_eq!(dear.reserve_function(u64::MAX), None);
        assert!(dear.reserve_function(u64::MAX / 2).is_some());
        assert_eq!(dear.quote_buy(u64::MAX / 2, u64::MAX), Ok(None));
        assert_eq!(
            dear.quote_sell(u64::MAX, u128::MAX, 1),
            Err(LedgerError::Overflow)
        );
    }

    /// One money unit a token (`R(S) = S`), with a price that is NaN
    /// everywhere and an inverse that gives half the root.
    #[derive(Debug)]
    struct NanPriced;

    impl BondingCurve for NanPriced {
        fn spot_price(&self, _supply: f64) -> f64 {
            f64::NAN
        }
        fn integral(&self, supply: f64) -> f64 {
            supply
        }
        fn mint_for_budget(&self, _supply: f64, budget: f64) -> f64 {
            0.5 * budget
        }
    }

    /// Where the price at the end of the first guess is NaN the Newton
    /// steps have no price to step by: the quote searches the integer
    /// costs, and a budget of `c` buys `c` tokens at one unit each (`c`
    /// net of the fee), not the half of it the inverse gave.
    #[test]
    fn a_buy_where_the_curves_price_is_nan_searches_the_integer_costs() {
        for fee in [0.0, 0.5] {
            for supply in [0, 4 * SCALE] {
                let mut m = user_market("nan-priced", NanPriced, fee);
                let budget = 15 * SCALE;
                let what = format!("fee {fee}, from {supply}");
                let q = m.quote_buy(supply, budget).unwrap().unwrap();
                assert!(is_the_most(&mut m, supply, budget, q), "{what}: {q:?}");
                // c + ⌈c·fee⌉ ≤ budget: c = 15 without a fee, 10 with 50%
                let c = if fee == 0.0 { 15 * SCALE } else { 10 * SCALE };
                assert_eq!((q.tokens, q.cost), (c, c), "{what}: {q:?}");
            }
        }
    }

    /// With a fee, the Newton steps on the money left over price a token
    /// at the spot price times `1 + fee`: on a steep curve (`e^S`) whose
    /// inverse falls 10% or 20% short, a price that leaves the fee out
    /// sizes the steps past where the curve has risen, and eight rounds
    /// no longer reach the most the budget pays for. It is
    /// `d = ln(1 + c·e^{−S})` for `c` the budget net of the fee.
    #[test]
    fn a_buy_that_falls_short_on_a_steep_curve_with_a_fee_gets_the_most_it_pays_for() {
        for (bias, supply, budget) in [(0.8, 0, 100 * SCALE), (0.9, 5 * SCALE, 1_000_000 * SCALE)] {
            for fee in [0.0, 0.003, 0.05, 0.3, 0.5, 1.0] {
                let mut m = user_market("steep", SteepExp(bias), fee);
                let q = m.quote_buy(supply, budget).unwrap().unwrap();
                let what = format!("bias {bias}, fee {fee}, from {supply}, budget {budget}");
                assert!(is_the_most(&mut m, supply, budget, q), "{what}: {q:?}");
                let c = units(budget) / (1.0 + fee);
                let d = (c * (-units(supply)).exp()).ln_1p();
                let tokens = units(q.tokens);
                assert!(
                    (tokens - d).abs() <= 3e-9 + 1e-12 * d,
                    "{what}: {tokens} vs {d}"
                );
            }
        }
    }
}
