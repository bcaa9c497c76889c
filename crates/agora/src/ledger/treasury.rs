//! The incentive books: treasuries of incentive rules, staked tokens and
//! burned money.
//!
//! An incentive rule (`[[incentives]]`) pays from a named, finite source: a
//! *treasury*, an account of the ledger that holds money or tokens of one
//! asset. A money treasury is funded from outside (its funding counts as
//! money paid in); a token treasury's tokens are part of the asset's supply
//! (minted into it, with the reserve that backs them paid in as for an
//! airdrop). Agents may also *stake* tokens (locked out of their holdings,
//! still part of the supply) and penalties may *burn* money (taken out of
//! the economy, counted). The identities the engine checks after every step
//! become
//!
//! ```text
//! Σ balances + Σ reserves + … + Σ money treasuries + money burned
//!     = money paid in + money funded into treasuries
//! Σ holdings + treasury + locked + Σ token treasuries + staked = supply   (per asset)
//! ```

use serde::{Deserialize, Serialize};

use super::{add, sub, AgentId, Ledger, LedgerError};

/// One incentive treasury: what it holds, in money or in tokens of one
/// asset, base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Treasury {
    /// The asset its tokens are of, or `None` for money.
    pub asset: Option<usize>,
    /// What it holds, base units (tokens never pass `u64::MAX`: they are
    /// part of a supply).
    pub held: u128,
}

/// The ledger's incentive accounts: treasuries, staked tokens, burned
/// money, and the money funded into treasuries from outside.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncentiveBooks {
    treasuries: Vec<Treasury>,
    /// Money paid into treasuries from outside, base units.
    funded: u128,
    /// Money taken out of the economy (penalties and fees burned), base units.
    burned: u128,
    /// Per asset, tokens agents have staked, base units (empty until the
    /// first stake).
    staked: Vec<u64>,
}

impl IncentiveBooks {
    /// Money held by treasuries plus money burned: the part of the money
    /// identity's left side these books add.
    pub(super) fn money_held(&self) -> Option<u128> {
        self.treasuries
            .iter()
            .filter(|t| t.asset.is_none())
            .try_fold(self.burned, |s, t| s.checked_add(t.held))
    }

    /// Tokens of `asset` in treasuries and stakes.
    pub(super) fn tokens_held(&self, asset: usize) -> u128 {
        let staked = self.staked.get(asset).copied().map_or(0, u128::from);
        self.treasuries
            .iter()
            .filter(|t| t.asset == Some(asset))
            .fold(staked, |s, t| s + t.held)
    }

    /// Money funded into treasuries from outside, base units.
    pub fn funded(&self) -> u128 {
        self.funded
    }

    /// Money burned so far, base units.
    pub fn burned(&self) -> u128 {
        self.burned
    }

    /// Tokens of `asset` staked, base units.
    pub fn staked(&self, asset: usize) -> u64 {
        self.staked.get(asset).copied().unwrap_or(0)
    }

    /// The treasuries, by the ids [`Ledger::open_treasury`] returned.
    pub fn treasuries(&self) -> &[Treasury] {
        &self.treasuries
    }
}

impl Ledger {
    /// The incentive books (treasuries, stakes, burned money).
    pub fn incentive_books(&self) -> &IncentiveBooks {
        &self.incentive
    }

    /// What treasury `t` holds, base units.
    pub fn treasury_held(&self, t: usize) -> u128 {
        self.incentive.treasuries[t].held
    }

    /// Opens an empty treasury of money (`asset = None`) or of tokens of
    /// `asset`, and returns its id.
    pub fn open_treasury(&mut self, asset: Option<usize>) -> usize {
        self.incentive.treasuries.push(Treasury { asset, held: 0 });
        self.incentive.treasuries.len() - 1
    }

    /// Pays `money` into money treasury `t` from outside (the scenario's
    /// funding).
    pub fn fund_treasury(&mut self, t: usize, money: u128) -> Result<(), LedgerError> {
        let funded = self
            .incentive
            .funded
            .checked_add(money)
            .ok_or(LedgerError::Overflow)?;
        // keep the whole right-hand side of the money identity in range
        self.money_in
            .total()
            .and_then(|m| m.checked_add(funded))
            .ok_or(LedgerError::Overflow)?;
        let treasury = &mut self.incentive.treasuries[t];
        debug_assert!(treasury.asset.is_none());
        treasury.held = treasury
            .held
            .checked_add(money)
            .ok_or(LedgerError::Overflow)?;
        self.incentive.funded = funded;
        self.counts.rewards += 1;
        Ok(())
    }

    /// Mints `tokens` into token treasury `t` and pays `reserve_money`
    /// into its asset's reserve from outside, so that the new supply is
    /// backed (as for an airdrop): a funded token treasury, or an
    /// emission.
    pub fn mint_to_incentive(
        &mut self,
        t: usize,
        tokens: u64,
        reserve_money: u128,
    ) -> Result<(), LedgerError> {
        let Some(asset) = self.incentive.treasuries[t].asset else {
            return Err(LedgerError::Overflow);
        };
        let held = self.incentive.treasuries[t].held;
        let new_held = held
            .checked_add(u128::from(tokens))
            .filter(|h| *h <= u128::from(u64::MAX))
            .ok_or(LedgerError::Overflow)?;
        self.fund_supply(asset, None, tokens, reserve_money)?;
        // fund_supply put the tokens in the asset's unheld supply: they are
        // the treasury's
        self.books[asset].treasury -= tokens;
        self.incentive.treasuries[t].held = new_held;
        Ok(())
    }

    /// Treasury `t` pays `amount` (money, or its asset's tokens) to
    /// `agent`.
    pub fn pay_from_treasury(
        &mut self,
        t: usize,
        agent: AgentId,
        amount: u64,
    ) -> Result<(), LedgerError> {
        let treasury = self.incentive.treasuries[t];
        let held = treasury
            .held
            .checked_sub(u128::from(amount))
            .ok_or(LedgerError::InsufficientReserve)?;
        let at = agent as usize * self.stride + treasury.asset.map_or(0, |j| 1 + j);
        self.cells[at] = add(self.cells[at], amount)?;
        self.incentive.treasuries[t].held = held;
        self.counts.rewards += 1;
        Ok(())
    }

    /// `agent` pays `amount` (money, or the treasury's asset's tokens)
    /// into treasury `t` (a penalty kept).
    pub fn pay_into_treasury(
        &mut self,
        t: usize,
        agent: AgentId,
        amount: u64,
    ) -> Result<(), LedgerError> {
        let treasury = self.incentive.treasuries[t];
        let short = if treasury.asset.is_some() {
            LedgerError::InsufficientHoldings
        } else {
            LedgerError::InsufficientBalance
        };
        let at = agent as usize * self.stride + treasury.asset.map_or(0, |j| 1 + j);
        let cell = sub(self.cells[at], amount, short)?;
        let held = treasury
            .held
            .checked_add(u128::from(amount))
            .ok_or(LedgerError::Overflow)?;
        self.cells[at] = cell;
        self.incentive.treasuries[t].held = held;
        self.counts.transfers += 1;
        Ok(())
    }

    /// Burns `money` of `agent`'s balance: it leaves the economy (a
    /// penalty burned), counted in the money burned.
    pub fn burn_money(&mut self, agent: AgentId, money: u64) -> Result<(), LedgerError> {
        let at = agent as usize * self.stride;
        let balance = sub(self.cells[at], money, LedgerError::InsufficientBalance)?;
        let burned = self
            .incentive
            .burned
            .checked_add(u128::from(money))
            .ok_or(LedgerError::Overflow)?;
        self.cells[at] = balance;
        self.incentive.burned = burned;
        self.counts.burns += 1;
        Ok(())
    }

    /// Burns `money` of `asset`'s fee pool (a share of trading fees
    /// burned).
    pub fn burn_fees(&mut self, asset: usize, money: u128) -> Result<(), LedgerError> {
        let pool = self.books[asset]
            .fee_pool
            .checked_sub(money)
            .ok_or(LedgerError::InsufficientReserve)?;
        let burned = self
            .incentive
            .burned
            .checked_add(money)
            .ok_or(LedgerError::Overflow)?;
        self.books[asset].fee_pool = pool;
        self.incentive.burned = burned;
        self.counts.burns += 1;
        Ok(())
    }

    /// `agent` stakes `tokens` of `asset`: they leave its holdings for the
    /// stake (still part of the supply).
    pub fn stake(&mut self, agent: AgentId, asset: usize, tokens: u64) -> Result<(), LedgerError> {
        if self.incentive.staked.len() < self.assets {
            self.incentive.staked.resize(self.assets, 0);
        }
        let at = agent as usize * self.stride + 1 + asset;
        let holding = sub(self.cells[at], tokens, LedgerError::InsufficientHoldings)?;
        let staked = add(self.incentive.staked[asset], tokens)?;
        self.cells[at] = holding;
        self.incentive.staked[asset] = staked;
        self.counts.locks += 1;
        Ok(())
    }

    /// `tokens` of `asset` staked by `agent` return to its holdings (its
    /// unbonding done).
    pub fn unstake(
        &mut self,
        agent: AgentId,
        asset: usize,
        tokens: u64,
    ) -> Result<(), LedgerError> {
        let short = LedgerError::InsufficientHoldings;
        let staked = sub(self.staked_of(asset), tokens, short)?;
        let at = agent as usize * self.stride + 1 + asset;
        self.cells[at] = add(self.cells[at], tokens)?;
        self.incentive.staked[asset] = staked;
        self.counts.locks += 1;
        Ok(())
    }

    /// Burns `tokens` of `asset` out of the stakes (a slashing): they leave
    /// the supply.
    pub fn slash(&mut self, asset: usize, tokens: u64) -> Result<(), LedgerError> {
        let short = LedgerError::InsufficientHoldings;
        let staked = sub(self.staked_of(asset), tokens, short)?;
        let supply = sub(self.books[asset].supply, tokens, short)?;
        self.incentive.staked[asset] = staked;
        self.books[asset].supply = supply;
        self.counts.burns += 1;
        Ok(())
    }

    fn staked_of(&self, asset: usize) -> u64 {
        self.incentive.staked.get(asset).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(l: &Ledger) {
        let c = l.conservation();
        assert_eq!((c.money_error(), c.token_error()), (0, 0), "{c:?}");
    }

    #[test]
    fn treasuries_stakes_and_burns_conserve_and_refuse_without_side_effects() {
        let mut l = Ledger::new(2, 1);
        l.fund_balance(0, 1_000).unwrap();
        l.fund_supply(0, Some(1), 100, 40).unwrap();
        let money = l.open_treasury(None);
        let tokens = l.open_treasury(Some(0));
        l.fund_treasury(money, 500).unwrap();
        l.mint_to_incentive(tokens, 60, 25).unwrap();
        check(&l);
        assert_eq!(l.books(0).supply, 160);
        assert_eq!(l.books(0).treasury, 0);
        l.pay_from_treasury(money, 1, 200).unwrap();
        l.pay_from_treasury(tokens, 0, 50).unwrap();
        assert_eq!((l.balance(1), l.holding(0, 0)), (200, 50));
        check(&l);
        let before = l.clone();
        assert_eq!(
            l.pay_from_treasury(tokens, 0, 11),
            Err(LedgerError::InsufficientReserve)
        );
        assert_eq!(
            l.pay_into_treasury(money, 1, 201),
            Err(LedgerError::InsufficientBalance)
        );
        assert_eq!(l, before);
        l.pay_into_treasury(money, 1, 20).unwrap();
        l.burn_money(0, 30).unwrap();
        l.stake(1, 0, 70).unwrap();
        check(&l);
        l.unstake(1, 0, 20).unwrap();
        l.slash(0, 10).unwrap();
        assert_eq!(l.books(0).supply, 150);
        assert_eq!(l.incentive_books().staked(0), 40);
        assert_eq!(l.incentive_books().burned(), 30);
        assert_eq!(l.treasury_held(money), 320);
        check(&l);
    }

    /// Funding a money treasury counts as a reward paid in from outside and
    /// a burn of an agent's money as a burn: each time, not only the first.
    #[test]
    fn fundings_and_money_burns_are_counted_each_time() {
        let mut l = Ledger::new(1, 1);
        l.fund_balance(0, 100).unwrap();
        let money = l.open_treasury(None);
        let before = *l.counts();
        for n in 1..=3u64 {
            l.fund_treasury(money, 10).unwrap();
            l.burn_money(0, 3).unwrap();
            let c = l.counts();
            assert_eq!((c.rewards - before.rewards, c.burns - before.burns), (n, n));
            assert_eq!(l.treasury_held(money), u128::from(10 * n));
            assert_eq!(l.balance(0), 100 - 3 * n);
            assert_eq!(l.incentive_books().burned(), u128::from(3 * n));
            check(&l);
        }
    }

    /// A token treasury of asset 1 of 2 is paid from and into the payee's
    /// own holding of asset 1 (agent 1 of 2), never its balance or its
    /// asset 0; each payment in counts as a transfer, each out as a reward.
    #[test]
    fn a_token_treasury_moves_its_own_assets_tokens_of_the_agent_and_counts() {
        let mut l = Ledger::new(2, 2);
        l.fund_balance(1, 1_000).unwrap();
        l.fund_supply(0, Some(1), 70, 0).unwrap();
        l.fund_supply(1, Some(1), 50, 0).unwrap();
        let tokens = l.open_treasury(Some(1));
        let hold = |l: &Ledger| (l.balance(1), l.holding(1, 0), l.holding(1, 1));
        l.pay_into_treasury(tokens, 1, 20).unwrap();
        assert_eq!(hold(&l), (1_000, 70, 30));
        assert_eq!(l.counts().transfers, 1);
        l.pay_into_treasury(tokens, 1, 5).unwrap();
        assert_eq!(hold(&l), (1_000, 70, 25));
        assert_eq!(l.counts().transfers, 2);
        assert_eq!(l.treasury_held(tokens), 25);
        check(&l);
        l.pay_from_treasury(tokens, 1, 15).unwrap();
        assert_eq!(hold(&l), (1_000, 70, 40));
        assert_eq!((l.counts().rewards, l.treasury_held(tokens)), (1, 10));
        assert_eq!((l.holding(0, 0), l.holding(0, 1)), (0, 0));
        check(&l);
    }
}
