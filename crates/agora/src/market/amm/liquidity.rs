//! Liquidity providers' shares of a constant-product pool (Uniswap V2's
//! LP tokens), exact in integer base units.
//!
//! A pool starts with `S₀ = ⌊√(R_m · R_t)⌋` shares, owned by the protocol
//! (the pool's own account, which never withdraws: its reserves are
//! always there). A deposit of `m` base units of money brings the tokens
//! at the pool's ratio, rounded up, `t = ⌈m · R_t / R_m⌉`, and mints
//! `⌊S · m / R_m⌋` shares (`S` the shares before); a withdrawal of `s`
//! shares pays `⌊R_m · s / S⌋` money and `⌊R_t · s / S⌋` tokens. Every
//! rounding favours the pool, so a provider's claim never exceeds what it
//! paid in plus its share of what the pool gained since; the fees, which
//! stay in the pool, accrue to the shares in proportion. Intermediates are
//! 256-bit; a result past `u128` (or a reserve past it) is
//! [`AmmError::Overflow`], never a wrap or a panic.

use std::collections::BTreeMap;

use ethnum::U256;
use serde::{Deserialize, Serialize};

use super::{AmmError, ConstantProductPool};
use crate::ledger::AgentId;

/// The shares of a pool: the total, the protocol's, and each provider's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LpShares {
    total: u128,
    protocol: u128,
    holders: BTreeMap<AgentId, u128>,
}

/// What a deposit moves: money and tokens in, shares minted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deposit {
    /// Money paid in, base units.
    pub money: u128,
    /// Tokens paid in, base units.
    pub tokens: u128,
    /// Shares minted.
    pub shares: u128,
}

/// `⌊a · b / c⌋` (`round_up`: `⌈a · b / c⌉`), or `Overflow` past `u128`.
fn mul_div(a: u128, b: u128, c: u128, round_up: bool) -> Result<u128, AmmError> {
    let (c, num) = (U256::from(c), U256::from(a) * U256::from(b));
    // a·b < 2²⁵⁶ − 2¹²⁹ and c < 2¹²⁸: the rounding up cannot wrap
    let q = if round_up {
        (num + c - U256::ONE) / c
    } else {
        num / c
    };
    u128::try_from(q).map_err(|_| AmmError::Overflow)
}

/// `⌊√n⌋` (Newton's method from above: it decreases to the root).
fn isqrt(n: U256) -> u128 {
    if n < U256::from(2u32) {
        return n.as_u128();
    }
    let bits = 256 - n.leading_zeros();
    let mut x = U256::ONE << bits.div_ceil(2);
    loop {
        let y = (x + n / x) >> 1;
        if y >= x {
            // ⌊√n⌋ < 2¹²⁸ for n < 2²⁵⁶
            return x.as_u128();
        }
        x = y;
    }
}

impl LpShares {
    /// The shares of a new pool: `⌊√(R_m · R_t)⌋` (at least 1), all the
    /// protocol's.
    pub fn new(pool: &ConstantProductPool) -> Self {
        let s = isqrt(pool.k()).max(1);
        LpShares {
            total: s,
            protocol: s,
            holders: BTreeMap::new(),
        }
    }

    /// Shares in all.
    pub fn total(&self) -> u128 {
        self.total
    }

    /// The protocol's shares (the pool's initial reserves).
    pub fn protocol(&self) -> u128 {
        self.protocol
    }

    /// `agent`'s shares.
    pub fn of(&self, agent: AgentId) -> u128 {
        self.holders.get(&agent).copied().unwrap_or(0)
    }

    /// The providers with their shares, by agent.
    pub fn holders(&self) -> impl Iterator<Item = (AgentId, u128)> + '_ {
        self.holders.iter().map(|(&a, &s)| (a, s))
    }

    /// What a deposit of `money` into `pool` takes and mints (see the
    /// module doc); `None` if it mints no share.
    pub fn quote_deposit(
        &self,
        pool: &ConstantProductPool,
        money: u128,
    ) -> Result<Option<Deposit>, AmmError> {
        let (r_m, r_t) = (pool.reserve_money(), pool.reserve_token());
        let shares = mul_div(self.total, money, r_m, false)?;
        if shares == 0 {
            return Ok(None);
        }
        let tokens = mul_div(money, r_t, r_m, true)?;
        self.total.checked_add(shares).ok_or(AmmError::Overflow)?;
        Ok(Some(Deposit {
            money,
            tokens,
            shares,
        }))
    }

    /// The most money a deposit can bring when the depositor holds
    /// `tokens`: `⌊tokens · R_m / R_t⌋` (its tokens, `⌈m · R_t / R_m⌉`,
    /// are then at most `tokens`).
    pub fn money_for_tokens(pool: &ConstantProductPool, tokens: u128) -> Result<u128, AmmError> {
        mul_div(tokens, pool.reserve_money(), pool.reserve_token(), false)
    }

    /// What withdrawing `shares` from `pool` pays: `(⌊R_m·s/S⌋,
    /// ⌊R_t·s/S⌋)`.
    pub fn quote_withdrawal(
        &self,
        pool: &ConstantProductPool,
        shares: u128,
    ) -> Result<(u128, u128), AmmError> {
        Ok((
            mul_div(pool.reserve_money(), shares, self.total, false)?,
            mul_div(pool.reserve_token(), shares, self.total, false)?,
        ))
    }

    /// Records `agent`'s deposit (already settled in the pool and the
    /// ledger).
    pub fn mint(&mut self, agent: AgentId, shares: u128) -> Result<(), AmmError> {
        let total = self.total.checked_add(shares).ok_or(AmmError::Overflow)?;
        let held = self
            .of(agent)
            .checked_add(shares)
            .ok_or(AmmError::Overflow)?;
        self.total = total;
        self.holders.insert(agent, held);
        Ok(())
    }

    /// Records `agent`'s withdrawal of `shares` (at most its own).
    pub fn burn(&mut self, agent: AgentId, shares: u128) {
        let held = self.of(agent);
        debug_assert!(shares <= held);
        let left = held - shares.min(held);
        self.total -= shares.min(held);
        if left == 0 {
            self.holders.remove(&agent);
        } else {
            self.holders.insert(agent, left);
        }
    }
}

/// `liquidity_provider`: deposits `share` of its balance (and the
/// matching tokens, at the pool's ratio: it must hold them, else the
/// deposit is cut to what they match) into `asset`'s pool at step `at`,
/// and withdraws all its shares at step `withdraw_at` (never without it);
/// it holds at every other step and draws no random numbers.
///
/// ```toml
/// policy = { kind = "liquidity_provider", asset = "AGT", share = 0.5, at = 1, withdraw_at = 150 }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LiquidityProviderPolicy {
    /// Index of the asset (an AMM).
    pub asset: usize,
    /// The share of its balance it deposits.
    pub share: f64,
    /// The step it deposits at.
    pub at: u64,
    /// The step it withdraws everything at, if any.
    pub withdraw_at: Option<u64>,
}

impl crate::agents::Policy for LiquidityProviderPolicy {
    fn decide(
        &self,
        obs: &crate::agents::Observation<'_>,
        me: &crate::agents::AgentView<'_>,
        _: &mut crate::agents::AgentRng,
    ) -> crate::agents::Action {
        let asset = self.asset as u32;
        if obs.step == self.at {
            let s = u128::from(crate::ledger::to_base(self.share).unwrap_or(0));
            let money = (u128::from(me.balance) * s / u128::from(crate::ledger::SCALE)) as u64;
            crate::agents::Action::AddLiquidity { asset, money }
        } else if Some(obs.step) == self.withdraw_at {
            crate::agents::Action::RemoveLiquidity {
                asset,
                shares: u64::MAX,
            }
        } else {
            crate::agents::Action::Hold
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::amm::Fee;
    use crate::market::Side;

    const U: u128 = 1_000_000_000;

    #[test]
    fn shares_mint_and_withdraw_to_their_closed_forms() {
        let mut pool = ConstantProductPool::new(1000 * U, 4000 * U, Fee::ZERO).unwrap();
        let mut lp = LpShares::new(&pool);
        // √(1000·4000)·10⁹ = 2000·10⁹
        assert_eq!((lp.total(), lp.protocol()), (2000 * U, 2000 * U));
        // 250 money brings 1000 tokens and mints 2000·250/1000 = 500 shares
        let d = lp.quote_deposit(&pool, 250 * U).unwrap().unwrap();
        assert_eq!(
            d,
            Deposit {
                money: 250 * U,
                tokens: 1000 * U,
                shares: 500 * U
            }
        );
        pool.deposit(d.money, d.tokens).unwrap();
        lp.mint(7, d.shares).unwrap();
        // and takes back exactly what it brought
        assert_eq!(
            lp.quote_withdrawal(&pool, 500 * U).unwrap(),
            (250 * U, 1000 * U)
        );
        // an odd deposit: tokens rounded up, shares down
        let d = lp.quote_deposit(&pool, 3).unwrap().unwrap();
        assert_eq!((d.tokens, d.shares), (12, 6));
        let d = lp.quote_deposit(&pool, 1).unwrap().unwrap();
        // ⌈1·5000/1250⌉ = 4 tokens, ⌊2500/1250⌋ = 2 shares
        assert_eq!((d.tokens, d.shares), (4, 2));
        assert_eq!(LpShares::money_for_tokens(&pool, 10).unwrap(), 2);
        // a swap's fee stays in the pool: half the shares, half the fee
        let mut pool =
            ConstantProductPool::new(1000 * U, 1000 * U, Fee::from_fraction(0.003).unwrap())
                .unwrap();
        let mut lp = LpShares::new(&pool);
        let d = lp.quote_deposit(&pool, 1000 * U).unwrap().unwrap();
        pool.deposit(d.money, d.tokens).unwrap();
        lp.mint(1, d.shares).unwrap();
        assert_eq!(lp.of(1) * 2, lp.total());
        let mut free = ConstantProductPool::new(2000 * U, 2000 * U, Fee::ZERO).unwrap();
        // 1000 in with a 0.3% fee: 997 swapped, 3 kept
        let out = pool.swap(Side::Buy, 1000 * U, 0).unwrap().output;
        let same = free.swap(Side::Buy, 997 * U, 0).unwrap().output;
        assert_eq!(out, same);
        let (m, t) = lp.quote_withdrawal(&pool, lp.of(1)).unwrap();
        let (m0, t0) = (free.reserve_money() / 2, free.reserve_token() / 2);
        assert_eq!((m - m0, t), (1_500_000_000, t0), "half the 3 of fee");
        lp.burn(1, lp.of(1));
        assert_eq!(lp.total(), lp.protocol());
    }

    /// A burn of part of an agent's shares leaves it the rest; a burn of
    /// all of them takes it off the providers, whom the LP reward rules
    /// pay by their shares.
    #[test]
    fn a_burn_leaves_the_rest_and_a_whole_burn_removes_the_provider() {
        let pool = ConstantProductPool::new(1000 * U, 1000 * U, Fee::ZERO).unwrap();
        let mut lp = LpShares::new(&pool);
        lp.mint(1, 100).unwrap();
        lp.mint(2, 50).unwrap();
        assert_eq!(lp.total(), lp.protocol() + 150);
        lp.burn(1, 40);
        assert_eq!(lp.of(1), 60);
        assert_eq!(lp.holders().collect::<Vec<_>>(), [(1, 60), (2, 50)]);
        lp.burn(1, 60);
        assert_eq!(lp.of(1), 0);
        assert_eq!(lp.holders().collect::<Vec<_>>(), [(2, 50)]);
        assert_eq!(lp.total(), lp.protocol() + 50);
    }

    #[test]
    fn the_integer_square_root_is_exact() {
        for n in [0u128, 1, 2, 3, 4, 15, 16, 17, 1 << 100, u128::MAX] {
            let r = isqrt(U256::from(n));
            assert!(U256::from(r) * U256::from(r) <= U256::from(n), "{n}");
            assert!(U256::from(r + 1) * U256::from(r + 1) > U256::from(n), "{n}");
        }
        assert_eq!(
            isqrt(U256::from(u128::MAX) * U256::from(u128::MAX)),
            u128::MAX
        );
    }

    #[test]
    fn huge_amounts_are_an_overflow_not_a_panic() {
        let pool = ConstantProductPool::new(1, u128::MAX, Fee::ZERO).unwrap();
        let lp = LpShares::new(&pool);
        assert_eq!(lp.quote_deposit(&pool, u128::MAX), Err(AmmError::Overflow));
        assert_eq!(
            LpShares::money_for_tokens(
                &ConstantProductPool::new(u128::MAX, 1, Fee::ZERO).unwrap(),
                u128::MAX
            ),
            Err(AmmError::Overflow)
        );
        let mut pool = ConstantProductPool::new(u128::MAX - 1, 5, Fee::ZERO).unwrap();
        assert_eq!(pool.deposit(2, 0), Err(AmmError::Overflow));
        let mut lp = LpShares::new(&pool);
        lp.total = u128::MAX;
        assert_eq!(lp.mint(1, 1), Err(AmmError::Overflow));
    }
}
