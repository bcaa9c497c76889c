//! The integer ledger: every unit of money and every token, in base units.
//!
//! Money and tokens are kept as integer counts of base units, [`SCALE`] base
//! units to one unit, as on-chain contracts keep them. Floating point may be
//! used to *price* a trade, but what moves is always an integer, moved by one
//! of a handful of explicit operations ([`Ledger::buy`], [`Ledger::sell`],
//! [`Ledger::reward`], [`Ledger::transfer_money`], [`Ledger::transfer_tokens`],
//! [`Ledger::top_up_reserve`], the locks, settlements and outside trades of
//! markets ([`Ledger::lock`], [`Ledger::release`], [`Ledger::settle`],
//! [`Ledger::sell_from_outside`], [`Ledger::buy_from_outside`]), and the
//! funding of initial balances and airdrops), each of which is counted in
//! [`OpCounts`].
//!
//! The money identity the engine checks after every step is
//!
//! ```text
//! Σ balances + Σ reserves + Σ fee pools + Σ escrow + Σ outside
//!     + Σ money treasuries + money burned
//!     + contract escrow + effort spent = money paid in
//! money paid in = initial balances + reserve funding (initial supply, airdrops)
//!               + reserve top-ups + rewards + paid in by the outside world
//!               + money funded into incentive treasuries + referral budgets
//! ```
//!
//! (the contract terms are [`ContractBooks`]: affiliate contracts' escrowed
//! budgets and their affiliates' effort, see [`crate::contracts`]),
//!
//! and, per asset, `Σ holdings + treasury + locked tokens + Σ token
//! treasuries + staked tokens = supply` (the incentive accounts are
//! [`IncentiveBooks`]). Both sides are computed
//! independently (the left from the accounts, the right from counters kept by
//! the operations), so the check can and does catch a wrong operation.
//!
//! Accounts are laid out agent by agent, `[balance, holding_0, …, holding_{M-1}]`,
//! so that a trade touches one cache line.
//!
//! # Range
//!
//! Every amount of tokens is a `u64` count of base units: at most
//! [`ACCOUNT_RANGE`] (about 1.8e10) tokens in an account and in an asset's
//! whole supply (which every holding, the treasury and the locked tokens
//! are parts of). Money in an account is a `u64` too, so that the accounts
//! of a million agents stay small and a trade touches one cache line; money
//! that sums over agents — a curve's reserve, a fee pool, the escrow of open
//! orders, what the outside world holds, and the counters of money paid in
//! — is a `u128`, at most [`POOL_RANGE`] (about 3.4e29) units. Every
//! operation is checked: one that would take an amount past its range is
//! refused with [`LedgerError::Overflow`] and changes nothing; nothing
//! saturates or wraps.

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod trades;
mod treasury;

pub use trades::{TradeKind, TradeLog, TradeRecord};
pub use treasury::{IncentiveBooks, Treasury};

/// Base units per unit of money or of a token: a base unit is 1e-9 of a unit.
pub const SCALE: u64 = 1_000_000_000;

/// The most units one account cell holds, and the most tokens of an asset
/// (its supply): `u64::MAX` base units, about 1.8e10 units.
pub const ACCOUNT_RANGE: f64 = u64::MAX as f64 / SCALE as f64;

/// The most money a pool holds (a reserve, a fee pool, the escrow, what the
/// outside world holds, money paid in): `u128::MAX` base units, about
/// 3.4e29 units.
pub const POOL_RANGE: f64 = u128::MAX as f64 / SCALE as f64;

/// The ledger's range for amounts of `what` (`"money"`, `"token"`, `"money
/// or token"`) and what a user can do past it, for error messages: "the
/// ledger's range of 1.8e10 money units per account at 1e-9 base units;
/// scale money amounts down (e.g. work in thousands)".
pub fn range_advice(what: &str) -> String {
    let pools = match what {
        "money" => format!(" ({POOL_RANGE:.1e} in a reserve or pool)"),
        "token" => " and per asset".to_string(),
        _ => format!(
            " ({ACCOUNT_RANGE:.1e} tokens per asset, {POOL_RANGE:.1e} money units per pool)"
        ),
    };
    format!(
        "the ledger's range of {ACCOUNT_RANGE:.1e} {what} units per account{pools} at 1e-9 \
         base units; scale {what} amounts down (e.g. work in thousands)"
    )
}

/// The range of a curve's reserve and what a user can do past it, for error
/// messages.
pub fn reserve_range_advice() -> String {
    format!(
        "the ledger's range of {POOL_RANGE:.1e} money units per reserve at 1e-9 base units; \
         lower the curve's prices or the supply"
    )
}

/// Index of an agent in the ledger (and in the simulation).
pub type AgentId = u32;

/// Converts units (money or tokens) to base units, rounding to the nearest
/// base unit; `None` if the value is negative, not finite or too large.
pub fn to_base(units: f64) -> Option<u64> {
    let base = (units * SCALE as f64).round();
    if base.is_finite() && base >= 0.0 && base < u64::MAX as f64 {
        Some(base as u64)
    } else {
        None
    }
}

/// Converts base units to units (money or tokens).
///
/// Exact for amounts below 2^53 base units (about 9 million units) and
/// correctly rounded above.
pub fn to_units(base: u64) -> f64 {
    base as f64 / SCALE as f64
}

/// Converts a wide (pool-level or summed) amount of base units to units;
/// the same as [`to_units`] below `u64::MAX`.
pub fn wide_to_units(base: u128) -> f64 {
    base as f64 / SCALE as f64
}

/// Below 2⁶³ (every amount in practice) a conversion through `i64` is one
/// instruction on x86-64, where `u64 ↔ f64` takes several; it sits on the
/// chain of dependent trades, so it is worth the branch.
const I64_RANGE: f64 = 9_223_372_036_854_775_808.0;

/// `x as u64` (truncating, saturating) for `x ≥ 0`.
#[inline]
pub(crate) fn to_whole(x: f64) -> u64 {
    if x < I64_RANGE {
        x as i64 as u64
    } else {
        to_whole_slow(x)
    }
}

/// The saturating conversion of [`to_whole`], out of line: inline, LLVM
/// sees that both branches agree below 2⁶³ and drops the branch for the
/// general conversion (about fifteen instructions each time; the same for
/// [`from_whole`]).
#[cold]
#[inline(never)]
fn to_whole_slow(x: f64) -> u64 {
    x as u64
}

/// `n as f64`.
#[inline]
pub(crate) fn from_whole(n: u64) -> f64 {
    if n <= i64::MAX as u64 {
        n as i64 as f64
    } else {
        from_whole_slow(n)
    }
}

/// The general conversion of [`from_whole`], out of line (see
/// [`to_whole_slow`]).
#[cold]
#[inline(never)]
fn from_whole_slow(n: u64) -> f64 {
    n as f64
}

/// `x as u128` (truncating) for `x ≥ 0`; saturates at `u128::MAX` from
/// 2¹²⁸ on (callers cap the result or check it against a range).
#[inline]
pub(crate) fn to_wide(x: f64) -> u128 {
    if x < I64_RANGE {
        u128::from(x as i64 as u64)
    } else {
        to_wide_slow(x)
    }
}

/// The library call of [`to_wide`], out of line (see [`to_whole_slow`]).
#[cold]
#[inline(never)]
fn to_wide_slow(x: f64) -> u128 {
    x as u128
}

/// `n as f64` (correctly rounded; one instruction below 2⁶³, where a
/// `u128` conversion is a library call).
#[inline]
pub(crate) fn from_wide(n: u128) -> f64 {
    if n <= i64::MAX as u128 {
        n as i64 as f64
    } else {
        from_wide_slow(n)
    }
}

/// The library call of [`from_wide`], out of line: inline, LLVM computes
/// it before the branch (it deems it free of effects) and pays for it on
/// every call, a tenth more instructions on the reference scenario.
#[cold]
#[inline(never)]
fn from_wide_slow(n: u128) -> f64 {
    n as f64
}

/// How many times each ledger operation ran, and how many actions were
/// rejected or clipped because they could not be paid for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    /// Tokens minted against payment into a curve's reserve (buys).
    pub mints: u64,
    /// Tokens burned against a refund from a curve's reserve (sells).
    pub burns: u64,
    /// Transfers of money or tokens between agents, and payments between
    /// an agent and a population game's pool.
    pub transfers: u64,
    /// Rewards paid in from outside the economy.
    pub rewards: u64,
    /// Trades that paid a non-zero fee into a fee pool.
    pub fees: u64,
    /// Trades between two agents on a market (order book or batch clearing).
    pub settlements: u64,
    /// Trades between an agent and the outside world (exogenous demand or
    /// supply): tokens minted to or burned from the agent.
    pub outside_trades: u64,
    /// Locks and releases of money or tokens for open orders.
    pub locks: u64,
    /// Reserve top-ups paid in when a parameter change raised a curve.
    pub top_ups: u64,
    /// Actions rejected outright (nothing could be done).
    pub rejected: u64,
    /// Actions reduced to what the agent could pay for or held.
    pub clipped: u64,
}

/// Why the ledger refused an operation. The engine turns a refusal into a
/// rejected action; it never leaves the ledger half-changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// The agent's balance is below what the operation takes.
    InsufficientBalance,
    /// The agent holds fewer tokens than the operation takes.
    InsufficientHoldings,
    /// The reserve holds less than the refund.
    InsufficientReserve,
    /// An amount would leave its range: an account cell past `u64::MAX`
    /// base units, a pool-level amount or the money paid in past
    /// `u128::MAX` (see the [module documentation](self)).
    Overflow,
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LedgerError::InsufficientBalance => "balance too low",
            LedgerError::InsufficientHoldings => "holdings too low",
            LedgerError::InsufficientReserve => "reserve too low",
            LedgerError::Overflow => "amount exceeds the ledger's range",
        })
    }
}

impl std::error::Error for LedgerError {}

/// Per-asset books: supply, the reserve behind it, fees and unheld tokens.
/// Tokens are `u64` (the supply bounds them all); money sums over agents,
/// so it is `u128`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetBooks {
    /// Tokens in existence, base units.
    pub supply: u64,
    /// Money held by the asset's pricing mechanism (a curve's reserve), base units.
    pub reserve: u128,
    /// Fees collected on this asset, base units of money.
    pub fee_pool: u128,
    /// Tokens in the supply that no agent holds (an initial supply with no
    /// holder), base units.
    pub treasury: u64,
    /// Money locked by open buy orders on this asset's market, base units.
    pub escrow_money: u128,
    /// Tokens locked by open sell orders on this asset's market, base units.
    pub escrow_tokens: u64,
    /// Money the outside world (a market's exogenous demand and supply) has
    /// received from agents, net of what it paid them, base units.
    pub outside: u128,
}

/// Where the money in the economy came from, base units; the right-hand side
/// of the conservation identity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoneyIn {
    /// Agents' initial balances.
    pub initial_balances: u128,
    /// Money paid into reserves to back initial supply and airdrops.
    pub reserve_funding: u128,
    /// Money paid into reserves when a parameter change raised a curve.
    pub reserve_top_ups: u128,
    /// Rewards paid to agents from outside.
    pub rewards: u128,
    /// Money the outside world (exogenous demand) paid agents beyond what it
    /// had received from them.
    pub outside: u128,
    /// The budgets of referrals an affiliate contract brought into the
    /// economy ([`Ledger::pay_in`]).
    #[serde(default)]
    pub referrals: u128,
}

/// Money held apart by affiliate contracts, base units: part of the
/// left-hand side of the money identity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractBooks {
    /// Budgets escrowed from primaries and not yet paid out.
    pub escrow: u128,
    /// Money affiliates spent on effort (paid out of their balances to
    /// nobody in the economy).
    pub spent: u128,
}

impl MoneyIn {
    /// Total money paid into the economy; `None` past `u128::MAX` base
    /// units (never for a ledger's own counters: the ledger refuses a
    /// pay-in that would take the total there).
    pub fn total(&self) -> Option<u128> {
        self.initial_balances
            .checked_add(self.reserve_funding)?
            .checked_add(self.reserve_top_ups)?
            .checked_add(self.rewards)?
            .checked_add(self.outside)?
            .checked_add(self.referrals)
    }

    /// A copy with `amount` added to the counter `field` picks, or
    /// [`LedgerError::Overflow`] if the counter or the total would pass
    /// `u128::MAX`. Keeping the total in range keeps every pool-level
    /// amount and every sum of the money identity in range too (each is
    /// part of the money paid in), as long as money is conserved.
    fn plus(
        mut self,
        field: fn(&mut MoneyIn) -> &mut u128,
        amount: u128,
    ) -> Result<MoneyIn, LedgerError> {
        let counter = field(&mut self);
        *counter = counter.checked_add(amount).ok_or(LedgerError::Overflow)?;
        self.total().ok_or(LedgerError::Overflow)?;
        Ok(self)
    }
}

/// The result of a conservation check: both sides of each identity.
///
/// A money side is `None` when its sum passes `u128::MAX` base units, which
/// can only happen if the identity is already broken (every amount held is
/// part of the money paid in, which the ledger keeps in range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conservation {
    /// Σ balances + Σ reserves + Σ fee pools + Σ locked money + Σ money
    /// held by the outside world, base units.
    pub money_held: Option<u128>,
    /// Money paid in, base units.
    pub money_in: Option<u128>,
    /// Per asset: Σ holdings + treasury + locked tokens.
    pub tokens_held: Vec<u128>,
    /// Per asset: supply.
    pub supply: Vec<u128>,
}

impl Conservation {
    /// |money held − money paid in|, base units: 0 when money is conserved
    /// (`u128::MAX` when a side could not be summed).
    pub fn money_error(&self) -> u128 {
        match (self.money_held, self.money_in) {
            (Some(held), Some(paid_in)) => held.abs_diff(paid_in),
            _ => u128::MAX,
        }
    }

    /// The largest |tokens held − supply| over assets, base units.
    pub fn token_error(&self) -> u128 {
        self.tokens_held
            .iter()
            .zip(&self.supply)
            .map(|(h, s)| h.abs_diff(*s))
            .max()
            .unwrap_or(0)
    }
}

/// The ledger of one simulation: agents' accounts and assets' books.
///
/// It serialises with serde (for checkpoints and saved states); loading
/// checks the shape — the number of account cells is a whole number of
/// accounts of `1 + assets` cells, and there is one book per asset — and
/// refuses a ledger that does not have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "LedgerState")]
pub struct Ledger {
    assets: usize,
    stride: usize,
    cells: Vec<u64>,
    books: Vec<AssetBooks>,
    money_in: MoneyIn,
    counts: OpCounts,
    #[serde(default)]
    contracts: ContractBooks,
    /// Incentive treasuries, stakes and burned money ([`IncentiveBooks`]).
    #[serde(default)]
    incentive: IncentiveBooks,
}

/// A ledger as read from a saved state, before its shape is checked.
#[derive(Deserialize)]
struct LedgerState {
    assets: usize,
    stride: usize,
    cells: Vec<u64>,
    books: Vec<AssetBooks>,
    money_in: MoneyIn,
    counts: OpCounts,
    #[serde(default)]
    contracts: ContractBooks,
    /// Incentive treasuries, stakes and burned money ([`IncentiveBooks`]).
    #[serde(default)]
    incentive: IncentiveBooks,
}

impl TryFrom<LedgerState> for Ledger {
    type Error = String;

    fn try_from(s: LedgerState) -> Result<Self, String> {
        if s.stride != s.assets.wrapping_add(1) || s.assets == usize::MAX {
            return Err(format!(
                "a saved ledger with {} assets must have accounts of {} cells, not {}",
                s.assets,
                s.assets.saturating_add(1),
                s.stride
            ));
        }
        if s.cells.len() % s.stride != 0 {
            return Err(format!(
                "a saved ledger's {} account cells are not a whole number of accounts of {} cells",
                s.cells.len(),
                s.stride
            ));
        }
        if s.books.len() != s.assets {
            return Err(format!(
                "a saved ledger with {} assets has {} asset books",
                s.assets,
                s.books.len()
            ));
        }
        Ok(Ledger {
            assets: s.assets,
            stride: s.stride,
            cells: s.cells,
            books: s.books,
            money_in: s.money_in,
            counts: s.counts,
            contracts: s.contracts,
            incentive: s.incentive,
        })
    }
}

/// The books and operation counts of a [`Ledger`] without its accounts
/// ([`Ledger::split`]): curve trades settled on an account given as its
/// cells, `[balance, holdings…]`, with exactly the checks, changes and
/// counts of [`Ledger::buy`] and [`Ledger::sell`] (which are these on the
/// ledger's own cells).
pub(crate) struct BookSide<'a> {
    books: &'a mut [AssetBooks],
    counts: &'a mut OpCounts,
}

impl BookSide<'_> {
    /// One asset's books.
    #[inline]
    pub(crate) fn books(&self, asset: usize) -> &AssetBooks {
        &self.books[asset]
    }

    /// [`Ledger::count_rejected`].
    #[inline]
    pub(crate) fn count_rejected(&mut self) {
        self.counts.rejected += 1;
    }

    /// [`Ledger::count_clipped`].
    #[inline]
    pub(crate) fn count_clipped(&mut self) {
        self.counts.clipped += 1;
    }

    /// [`Ledger::buy`] by the account whose cells are `account`. Nothing
    /// changes unless every check passes.
    #[inline(always)]
    pub(crate) fn buy(
        &mut self,
        account: &mut [u64],
        asset: usize,
        tokens: u64,
        cost: u64,
        fee: u64,
    ) -> Result<(), LedgerError> {
        let pay = add(cost, fee)?;
        let balance = sub(account[0], pay, LedgerError::InsufficientBalance)?;
        let holding = add(account[1 + asset], tokens)?;
        let books = &mut self.books[asset];
        let supply = books
            .supply
            .checked_add(tokens)
            .ok_or(LedgerError::Overflow)?;
        let reserve = books
            .reserve
            .checked_add(u128::from(cost))
            .ok_or(LedgerError::Overflow)?;
        let fee_pool = books
            .fee_pool
            .checked_add(u128::from(fee))
            .ok_or(LedgerError::Overflow)?;
        books.supply = supply;
        books.reserve = reserve;
        books.fee_pool = fee_pool;
        account[0] = balance;
        account[1 + asset] = holding;
        self.counts.mints += 1;
        self.counts.fees += u64::from(fee > 0);
        Ok(())
    }

    /// [`Ledger::sell`] by the account whose cells are `account`. Nothing
    /// changes unless every check passes.
    #[inline(always)]
    pub(crate) fn sell(
        &mut self,
        account: &mut [u64],
        asset: usize,
        tokens: u64,
        refund: u64,
        fee: u64,
    ) -> Result<(), LedgerError> {
        let net = refund.checked_sub(fee).ok_or(LedgerError::Overflow)?;
        let holding = sub(
            account[1 + asset],
            tokens,
            LedgerError::InsufficientHoldings,
        )?;
        let balance = add(account[0], net)?;
        let books = &mut self.books[asset];
        let reserve = books
            .reserve
            .checked_sub(u128::from(refund))
            .ok_or(LedgerError::InsufficientReserve)?;
        let supply = books
            .supply
            .checked_sub(tokens)
            .ok_or(LedgerError::InsufficientHoldings)?;
        let fee_pool = books
            .fee_pool
            .checked_add(u128::from(fee))
            .ok_or(LedgerError::Overflow)?;
        books.supply = supply;
        books.reserve = reserve;
        books.fee_pool = fee_pool;
        account[0] = balance;
        account[1 + asset] = holding;
        self.counts.burns += 1;
        self.counts.fees += u64::from(fee > 0);
        Ok(())
    }
}

impl Ledger {
    /// Opens a ledger with `agents` empty accounts and `assets` assets of zero
    /// supply.
    pub fn new(agents: usize, assets: usize) -> Self {
        let stride = 1 + assets;
        Ledger {
            assets,
            stride,
            cells: vec![0; agents * stride],
            books: vec![AssetBooks::default(); assets],
            money_in: MoneyIn::default(),
            counts: OpCounts::default(),
            contracts: ContractBooks::default(),
            incentive: IncentiveBooks::default(),
        }
    }

    /// Like [`Ledger::new`], but returns `None` instead of aborting when the
    /// accounts do not fit in memory.
    pub fn try_new(agents: usize, assets: usize) -> Option<Self> {
        let stride = 1 + assets;
        let len = agents.checked_mul(stride)?;
        let mut cells = Vec::new();
        cells.try_reserve_exact(len).ok()?;
        cells.resize(len, 0);
        Some(Ledger {
            assets,
            stride,
            cells,
            books: vec![AssetBooks::default(); assets],
            money_in: MoneyIn::default(),
            counts: OpCounts::default(),
            contracts: ContractBooks::default(),
            incentive: IncentiveBooks::default(),
        })
    }

    /// Number of agents.
    pub fn agents(&self) -> usize {
        self.cells.len() / self.stride
    }

    /// Number of assets.
    pub fn assets(&self) -> usize {
        self.assets
    }

    /// An agent's balance, base units.
    #[inline]
    pub fn balance(&self, agent: AgentId) -> u64 {
        self.cells[agent as usize * self.stride]
    }

    /// An agent's holdings of one asset, base units.
    #[inline]
    pub fn holding(&self, agent: AgentId, asset: usize) -> u64 {
        self.cells[agent as usize * self.stride + 1 + asset]
    }

    /// An agent's holdings of every asset, base units.
    #[inline]
    pub fn holdings(&self, agent: AgentId) -> &[u64] {
        let at = agent as usize * self.stride;
        &self.cells[at + 1..at + self.stride]
    }

    /// Every account as `[balance, holdings…]` slices, in agent order.
    pub fn accounts(&self) -> std::slice::ChunksExact<'_, u64> {
        self.cells.chunks_exact(self.stride)
    }

    /// The accounts of agents `range`, as one flat slice of `[balance, holdings…]`.
    pub fn account_cells(&self, range: std::ops::Range<usize>) -> &[u64] {
        &self.cells[range.start * self.stride..range.end * self.stride]
    }

    /// One asset's books.
    pub fn books(&self, asset: usize) -> &AssetBooks {
        &self.books[asset]
    }

    /// Where the money in the economy came from.
    pub fn money_in(&self) -> &MoneyIn {
        &self.money_in
    }

    /// Operation and rejection counts so far.
    pub fn counts(&self) -> &OpCounts {
        &self.counts
    }

    /// The counts, to edit (tests of saved states).
    #[cfg(test)]
    pub(crate) fn counts_mut(&mut self) -> &mut OpCounts {
        &mut self.counts
    }

    /// Counts an action that could not be carried out at all.
    pub fn count_rejected(&mut self) {
        self.counts.rejected += 1;
    }

    /// Counts an action that was reduced to what could be paid for.
    pub fn count_clipped(&mut self) {
        self.counts.clipped += 1;
    }

    /// Credits an initial balance, paid in from outside (setup only).
    pub fn fund_balance(&mut self, agent: AgentId, money: u64) -> Result<(), LedgerError> {
        let at = agent as usize * self.stride;
        let balance = add(self.cells[at], money)?;
        let money_in = self
            .money_in
            .plus(|m| &mut m.initial_balances, u128::from(money))?;
        self.cells[at] = balance;
        self.money_in = money_in;
        Ok(())
    }

    /// Mints `tokens` of `asset` to `holder` (or to the treasury when `None`)
    /// and pays `reserve_money` into the asset's reserve from outside, so that
    /// the new supply is backed (initial supply and airdrops).
    pub fn fund_supply(
        &mut self,
        asset: usize,
        holder: Option<AgentId>,
        tokens: u64,
        reserve_money: u128,
    ) -> Result<(), LedgerError> {
        let mut books = self.books[asset];
        books.supply = add(books.supply, tokens)?;
        books.reserve = books
            .reserve
            .checked_add(reserve_money)
            .ok_or(LedgerError::Overflow)?;
        let money_in = self
            .money_in
            .plus(|m| &mut m.reserve_funding, reserve_money)?;
        match holder {
            Some(agent) => {
                let at = agent as usize * self.stride + 1 + asset;
                self.cells[at] = add(self.cells[at], tokens)?;
            }
            None => books.treasury = add(books.treasury, tokens)?,
        }
        self.books[asset] = books;
        self.money_in = money_in;
        Ok(())
    }

    /// Buys on a curve: `agent` pays `cost` into the reserve of `asset` and
    /// `fee` into its fee pool, and `tokens` are minted to it.
    // Always inlined: the engine's curve path is measured ~3% faster with
    // it than when the compiler chooses (it stopped inlining it once the
    // executor grew market branches).
    #[inline(always)]
    pub fn buy(
        &mut self,
        agent: AgentId,
        asset: usize,
        tokens: u64,
        cost: u64,
        fee: u64,
    ) -> Result<(), LedgerError> {
        let (account, mut books) = self.account_and_books(agent);
        books.buy(account, asset, tokens, cost, fee)
    }

    /// Sells on a curve: `tokens` of `agent` are burned, `refund` leaves the
    /// reserve, `fee` of it goes to the fee pool and the rest to the agent.
    #[inline(always)]
    pub fn sell(
        &mut self,
        agent: AgentId,
        asset: usize,
        tokens: u64,
        refund: u64,
        fee: u64,
    ) -> Result<(), LedgerError> {
        let (account, mut books) = self.account_and_books(agent);
        books.sell(account, asset, tokens, refund, fee)
    }

    /// [`split`](Self::split) with the cells of one agent's account only.
    #[inline(always)]
    pub(crate) fn account_and_books(&mut self, agent: AgentId) -> (&mut [u64], BookSide<'_>) {
        let at = agent as usize * self.stride;
        (
            &mut self.cells[at..at + self.stride],
            BookSide {
                books: &mut self.books,
                counts: &mut self.counts,
            },
        )
    }

    /// The ledger in two parts that can be lent to two threads at once: the
    /// accounts' cells (`[balance, holdings…]` per agent, in agent order)
    /// and the rest, through which curve trades are settled on copies of
    /// the accounts ([`BookSide`]). The engine's two-thread execute phase
    /// copies accounts in and out on one thread while the other prices
    /// and books the trades.
    pub(crate) fn split(&mut self) -> (&mut [u64], BookSide<'_>) {
        (
            &mut self.cells,
            BookSide {
                books: &mut self.books,
                counts: &mut self.counts,
            },
        )
    }

    /// The agent pays `money` from its balance into the pool of `asset`
    /// (a population game's pool, kept as the asset's reserve).
    pub fn pay_into_pool(
        &mut self,
        agent: AgentId,
        asset: usize,
        money: u64,
    ) -> Result<(), LedgerError> {
        let mut s = self.stage(agent, asset);
        s.pay(money, false)?;
        s.books.reserve = add_wide(s.books.reserve, money)?;
        self.commit(s);
        self.counts.transfers += 1;
        Ok(())
    }

    /// The pool of `asset` (its reserve) pays `money` to the agent.
    pub fn pay_from_pool(
        &mut self,
        agent: AgentId,
        asset: usize,
        money: u64,
    ) -> Result<(), LedgerError> {
        let mut s = self.stage(agent, asset);
        s.books.reserve = sub_wide(s.books.reserve, money, LedgerError::InsufficientReserve)?;
        s.balance = add(s.balance, money)?;
        self.commit(s);
        self.counts.transfers += 1;
        Ok(())
    }

    /// Swaps with the automated market maker of `asset`, whose pool keeps
    /// its money as the asset's reserve and its tokens as the asset's
    /// treasury: a buyer (`buy`) pays `input` base units of money into the
    /// reserve and receives `output` tokens out of the treasury; a seller
    /// pays `input` tokens into the treasury and receives `output` money
    /// out of the reserve. All or nothing; counted as a transfer (between
    /// the agent and the pool).
    pub fn swap_with_pool(
        &mut self,
        agent: AgentId,
        asset: usize,
        buy: bool,
        input: u64,
        output: u64,
    ) -> Result<(), LedgerError> {
        let mut s = self.stage(agent, asset);
        if buy {
            s.pay(input, false)?;
            s.books.reserve = add_wide(s.books.reserve, input)?;
            s.books.treasury = sub(s.books.treasury, output, LedgerError::InsufficientReserve)?;
            s.holding = add(s.holding, output)?;
        } else {
            s.deliver(input, false)?;
            s.books.treasury = add(s.books.treasury, input)?;
            s.books.reserve = sub_wide(s.books.reserve, output, LedgerError::InsufficientReserve)?;
            s.balance = add(s.balance, output)?;
        }
        self.commit(s);
        self.counts.transfers += 1;
        Ok(())
    }

    /// A liquidity provider's deposit into the automated market maker of
    /// `asset` (see [`swap_with_pool`](Self::swap_with_pool)): `money`
    /// from its balance into the reserve and `tokens` from its holdings
    /// into the treasury. All or nothing; counted as a transfer.
    pub fn deposit_to_pool(
        &mut self,
        agent: AgentId,
        asset: usize,
        money: u64,
        tokens: u64,
    ) -> Result<(), LedgerError> {
        let mut s = self.stage(agent, asset);
        s.pay(money, false)?;
        s.deliver(tokens, false)?;
        s.books.reserve = add_wide(s.books.reserve, money)?;
        s.books.treasury = add(s.books.treasury, tokens)?;
        self.commit(s);
        self.counts.transfers += 1;
        Ok(())
    }

    /// A liquidity provider's withdrawal from the automated market maker
    /// of `asset`: `money` out of the reserve and `tokens` out of the
    /// treasury to the agent. All or nothing; counted as a transfer.
    pub fn withdraw_from_pool(
        &mut self,
        agent: AgentId,
        asset: usize,
        money: u64,
        tokens: u64,
    ) -> Result<(), LedgerError> {
        let mut s = self.stage(agent, asset);
        s.books.reserve = sub_wide(s.books.reserve, money, LedgerError::InsufficientReserve)?;
        s.books.treasury = sub(s.books.treasury, tokens, LedgerError::InsufficientReserve)?;
        s.balance = add(s.balance, money)?;
        s.holding = add(s.holding, tokens)?;
        self.commit(s);
        self.counts.transfers += 1;
        Ok(())
    }

    /// Pays `money` to `agent` from outside the economy (an incentive).
    pub fn reward(&mut self, agent: AgentId, money: u64) -> Result<(), LedgerError> {
        let at = agent as usize * self.stride;
        let balance = add(self.cells[at], money)?;
        let money_in = self.money_in.plus(|m| &mut m.rewards, u128::from(money))?;
        self.cells[at] = balance;
        self.money_in = money_in;
        self.counts.rewards += 1;
        Ok(())
    }

    /// The money affiliate contracts hold apart (escrow and effort spent).
    pub fn contracts(&self) -> &ContractBooks {
        &self.contracts
    }

    /// `balances` plus the money contracts hold (`None` past `u128::MAX`).
    fn contracts_held(&self, balances: u128) -> Option<u128> {
        balances
            .checked_add(self.contracts.escrow)?
            .checked_add(self.contracts.spent)
    }

    /// Moves `money` from the agent's balance into the contracts' escrow
    /// (a primary's budget, or a reward clawed back).
    pub fn escrow_deposit(&mut self, agent: AgentId, money: u64) -> Result<(), LedgerError> {
        let at = agent as usize * self.stride;
        let balance = sub(self.cells[at], money, LedgerError::InsufficientBalance)?;
        let escrow = add_wide(self.contracts.escrow, money)?;
        self.cells[at] = balance;
        self.contracts.escrow = escrow;
        self.counts.transfers += 1;
        Ok(())
    }

    /// Pays `money` out of the contracts' escrow to the agent (a reward);
    /// [`LedgerError::InsufficientReserve`] if the escrow holds less.
    pub fn escrow_pay(&mut self, agent: AgentId, money: u64) -> Result<(), LedgerError> {
        let at = agent as usize * self.stride;
        let escrow = sub_wide(
            self.contracts.escrow,
            money,
            LedgerError::InsufficientReserve,
        )?;
        let balance = add(self.cells[at], money)?;
        self.cells[at] = balance;
        self.contracts.escrow = escrow;
        self.counts.transfers += 1;
        Ok(())
    }

    /// The agent spends `money` of its balance outside the economy (an
    /// affiliate's effort).
    pub fn spend(&mut self, agent: AgentId, money: u64) -> Result<(), LedgerError> {
        let at = agent as usize * self.stride;
        let balance = sub(self.cells[at], money, LedgerError::InsufficientBalance)?;
        let spent = add_wide(self.contracts.spent, money)?;
        self.cells[at] = balance;
        self.contracts.spent = spent;
        self.counts.transfers += 1;
        Ok(())
    }

    /// Pays `money` into the agent's balance from outside the economy (a
    /// referral's budget as it joins).
    pub fn pay_in(&mut self, agent: AgentId, money: u64) -> Result<(), LedgerError> {
        let at = agent as usize * self.stride;
        let balance = add(self.cells[at], money)?;
        let money_in = self
            .money_in
            .plus(|m| &mut m.referrals, u128::from(money))?;
        self.cells[at] = balance;
        self.money_in = money_in;
        self.counts.transfers += 1;
        Ok(())
    }

    /// Moves `money` from one agent to another.
    pub fn transfer_money(
        &mut self,
        from: AgentId,
        to: AgentId,
        money: u64,
    ) -> Result<(), LedgerError> {
        self.transfer_cell(from, to, 0, money, LedgerError::InsufficientBalance)
    }

    /// Moves `tokens` of `asset` from one agent to another.
    pub fn transfer_tokens(
        &mut self,
        from: AgentId,
        to: AgentId,
        asset: usize,
        tokens: u64,
    ) -> Result<(), LedgerError> {
        self.transfer_cell(
            from,
            to,
            1 + asset,
            tokens,
            LedgerError::InsufficientHoldings,
        )
    }

    fn transfer_cell(
        &mut self,
        from: AgentId,
        to: AgentId,
        offset: usize,
        amount: u64,
        short: LedgerError,
    ) -> Result<(), LedgerError> {
        let a = from as usize * self.stride + offset;
        let b = to as usize * self.stride + offset;
        let debited = self.cells[a].checked_sub(amount).ok_or(short)?;
        if a != b {
            let credited = self.cells[b]
                .checked_add(amount)
                .ok_or(LedgerError::Overflow)?;
            self.cells[b] = credited;
            self.cells[a] = debited;
        }
        self.counts.transfers += 1;
        Ok(())
    }

    /// One agent's account cells for `asset` and the asset's books, copied,
    /// to be changed with checked arithmetic and written back by
    /// [`Ledger::commit`] only when every change succeeded.
    fn stage(&self, agent: AgentId, asset: usize) -> Stage {
        let at = agent as usize * self.stride;
        Stage {
            at,
            holding_at: at + 1 + asset,
            asset,
            balance: self.cells[at],
            holding: self.cells[at + 1 + asset],
            books: self.books[asset],
        }
    }

    /// The cells of an agent's balance and of its holding of `asset`.
    #[inline]
    fn cells_of(&self, agent: AgentId, asset: usize) -> (usize, usize) {
        let at = agent as usize * self.stride;
        (at, at + 1 + asset)
    }

    fn commit(&mut self, s: Stage) {
        self.cells[s.at] = s.balance;
        self.cells[s.holding_at] = s.holding;
        self.books[s.asset] = s.books;
    }

    /// Locks `money` of the agent's balance and `tokens` of its holdings of
    /// `asset` for an open order on that asset's market (all or nothing).
    pub fn lock(
        &mut self,
        agent: AgentId,
        asset: usize,
        money: u64,
        tokens: u64,
    ) -> Result<(), LedgerError> {
        // As a [`Stage`] would, without copying the books in and out: the
        // same checks in the same order, written only when all pass.
        let (at, holding_at) = self.cells_of(agent, asset);
        let books = &self.books[asset];
        let balance = sub(self.cells[at], money, LedgerError::InsufficientBalance)?;
        let holding = sub(
            self.cells[holding_at],
            tokens,
            LedgerError::InsufficientHoldings,
        )?;
        let escrow_money = add_wide(books.escrow_money, money)?;
        let escrow_tokens = add(books.escrow_tokens, tokens)?;
        self.cells[at] = balance;
        self.cells[holding_at] = holding;
        let books = &mut self.books[asset];
        books.escrow_money = escrow_money;
        books.escrow_tokens = escrow_tokens;
        self.counts.locks += 1;
        Ok(())
    }

    /// Releases `money` and `tokens` locked for an order on `asset` back to
    /// the agent (all or nothing).
    pub fn release(
        &mut self,
        agent: AgentId,
        asset: usize,
        money: u64,
        tokens: u64,
    ) -> Result<(), LedgerError> {
        if money == 0 && tokens == 0 {
            return Ok(());
        }
        // As a [`Stage`] would (pay and deliver from the locks), without
        // copying the books in and out.
        let (at, holding_at) = self.cells_of(agent, asset);
        let books = &self.books[asset];
        let escrow_money = sub_wide(books.escrow_money, money, LedgerError::InsufficientBalance)?;
        let escrow_tokens = sub(
            books.escrow_tokens,
            tokens,
            LedgerError::InsufficientHoldings,
        )?;
        let balance = add(self.cells[at], money)?;
        let holding = add(self.cells[holding_at], tokens)?;
        self.cells[at] = balance;
        self.cells[holding_at] = holding;
        let books = &mut self.books[asset];
        books.escrow_money = escrow_money;
        books.escrow_tokens = escrow_tokens;
        self.counts.locks += 1;
        Ok(())
    }

    /// Settles a trade of `tokens` of `asset` for `money` between two
    /// agents: the buyer's money (from its locked money if `buyer_locked`,
    /// else its balance) goes to the seller's balance, and the seller's
    /// tokens (from its locked tokens if `seller_locked`, else its holdings)
    /// go to the buyer's holdings. All or nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn settle(
        &mut self,
        buyer: AgentId,
        seller: AgentId,
        asset: usize,
        tokens: u64,
        money: u64,
        buyer_locked: bool,
        seller_locked: bool,
    ) -> Result<(), LedgerError> {
        let mut b = self.stage(buyer, asset);
        b.pay(money, buyer_locked)?;
        if buyer == seller {
            // A self-trade moves nothing but what leaves the locks; the
            // order book prevents them, a batch pairing may not.
            b.deliver(tokens, seller_locked)?;
            b.balance = add(b.balance, money)?;
            b.holding = add(b.holding, tokens)?;
            self.commit(b);
        } else {
            let mut s = self.stage(seller, asset);
            s.books = b.books;
            s.deliver(tokens, seller_locked)?;
            s.balance = add(s.balance, money)?;
            b.holding = add(b.holding, tokens)?;
            b.books = s.books;
            self.commit(s);
            self.commit(b);
        }
        self.counts.settlements += 1;
        Ok(())
    }

    /// The outside world (exogenous supply) sells `tokens` of `asset` to the
    /// agent for `money`: the tokens are minted, the money (from the agent's
    /// locked money if `locked`, else its balance) goes to the outside.
    pub fn sell_from_outside(
        &mut self,
        agent: AgentId,
        asset: usize,
        tokens: u64,
        money: u64,
        locked: bool,
    ) -> Result<(), LedgerError> {
        // As a [`Stage`] would, without copying the books in and out.
        let (at, holding_at) = self.cells_of(agent, asset);
        let books = &self.books[asset];
        let short = LedgerError::InsufficientBalance;
        let (balance, escrow_money) = if locked {
            (self.cells[at], sub_wide(books.escrow_money, money, short)?)
        } else {
            (sub(self.cells[at], money, short)?, books.escrow_money)
        };
        let outside = add_wide(books.outside, money)?;
        let supply = add(books.supply, tokens)?;
        let holding = add(self.cells[holding_at], tokens)?;
        self.cells[at] = balance;
        self.cells[holding_at] = holding;
        let books = &mut self.books[asset];
        books.escrow_money = escrow_money;
        books.outside = outside;
        books.supply = supply;
        self.counts.outside_trades += 1;
        Ok(())
    }

    /// The outside world (exogenous demand) buys `tokens` of `asset` from the
    /// agent for `money`: the tokens (from the agent's locked tokens if
    /// `locked`, else its holdings) are burned; the money comes from what the
    /// outside has received so far, and beyond that is paid in from outside
    /// (recorded in [`MoneyIn::outside`]).
    pub fn buy_from_outside(
        &mut self,
        agent: AgentId,
        asset: usize,
        tokens: u64,
        money: u64,
        locked: bool,
    ) -> Result<(), LedgerError> {
        let mut s = self.stage(agent, asset);
        s.deliver(tokens, locked)?;
        s.books.supply = sub(s.books.supply, tokens, LedgerError::InsufficientHoldings)?;
        let paid_in = s.receive_from_outside(money)?;
        let money_in = self
            .money_in
            .plus(|m| &mut m.outside, u128::from(paid_in))?;
        self.commit(s);
        self.money_in = money_in;
        self.counts.outside_trades += 1;
        Ok(())
    }

    /// The agent pays `money` to the outside world for `asset` (a
    /// producer's cost, a holding cost), from its balance.
    pub fn pay_outside(
        &mut self,
        agent: AgentId,
        asset: usize,
        money: u64,
    ) -> Result<(), LedgerError> {
        let mut s = self.stage(agent, asset);
        s.pay(money, false)?;
        s.books.outside = add_wide(s.books.outside, money)?;
        self.commit(s);
        self.counts.outside_trades += 1;
        Ok(())
    }

    /// The outside world pays `money` to the agent for `asset` (a producer
    /// delivering what it made): from what the outside received so far, and
    /// beyond that paid in from outside (recorded in [`MoneyIn::outside`]).
    pub fn pay_from_outside(
        &mut self,
        agent: AgentId,
        asset: usize,
        money: u64,
    ) -> Result<(), LedgerError> {
        let mut s = self.stage(agent, asset);
        let paid_in = s.receive_from_outside(money)?;
        let money_in = self
            .money_in
            .plus(|m| &mut m.outside, u128::from(paid_in))?;
        self.commit(s);
        self.money_in = money_in;
        self.counts.outside_trades += 1;
        Ok(())
    }

    /// A sale of goods the agent makes to order (a posted-price seller): the
    /// outside world (its buyers) pays `revenue` for them, from what it
    /// holds and beyond that paid in from outside (recorded in
    /// [`MoneyIn::outside`]), and the agent pays `cost` to the outside
    /// world for making them, from its balance after the revenue. No token
    /// moves: the goods go from the maker straight to the buyers. All or
    /// nothing: refused (changing nothing) if the balance and the revenue do
    /// not cover the cost.
    pub fn sell_made_to_outside(
        &mut self,
        agent: AgentId,
        asset: usize,
        revenue: u64,
        cost: u64,
    ) -> Result<(), LedgerError> {
        // What `stage`, `receive_from_outside`, `pay` and `commit` would
        // do, on the two cells it changes (the agent's balance and the
        // outside's holdings): a posted-price market makes two such sales
        // per step, where copying the books in and out was most of it.
        let (at, _) = self.cells_of(agent, asset);
        let outside = self.books[asset].outside;
        let balance = add(self.cells[at], revenue)?;
        // min(revenue, outside) fits a u64 and the outside holds it
        let from_outside = outside.min(u128::from(revenue));
        let paid_in = revenue - from_outside as u64;
        let balance = sub(balance, cost, LedgerError::InsufficientBalance)?;
        let outside = add_wide(outside - from_outside, cost)?;
        let money_in = self
            .money_in
            .plus(|m| &mut m.outside, u128::from(paid_in))?;
        self.cells[at] = balance;
        self.books[asset].outside = outside;
        self.money_in = money_in;
        self.counts.outside_trades += 1;
        Ok(())
    }

    /// Whether money and tokens are conserved, from account sums the
    /// caller computed (Σ balances and Σ holdings per asset): what
    /// [`Ledger::conservation_from_sums`] reports, without its allocations
    /// (for a check after every step).
    pub fn conserved(&self, balances: u128, holdings: &[u128]) -> bool {
        let held = self.contracts_held(balances).and_then(|start| {
            self.books.iter().try_fold(start, |sum, b| {
                sum.checked_add(b.reserve)?
                    .checked_add(b.fee_pool)?
                    .checked_add(b.escrow_money)?
                    .checked_add(b.outside)
            })
        });
        let held = held.and_then(|h| h.checked_add(self.incentive.money_held()?));
        let money = matches!((held, self.money_paid_in()), (Some(h), Some(i)) if h == i);
        money
            && holdings.len() == self.books.len()
            && holdings
                .iter()
                .zip(&self.books)
                .enumerate()
                .all(|(j, (h, b))| {
                    h + u128::from(b.treasury)
                        + u128::from(b.escrow_tokens)
                        + self.incentive.tokens_held(j)
                        == u128::from(b.supply)
                })
    }

    /// Delivers `tokens` of the unheld supply (a resource's stock, kept in
    /// the treasury) to the agent for `money` paid to the outside world
    /// (from the agent's locked money if `locked`, else its balance).
    pub fn sell_from_treasury(
        &mut self,
        agent: AgentId,
        asset: usize,
        tokens: u64,
        money: u64,
        locked: bool,
    ) -> Result<(), LedgerError> {
        let mut s = self.stage(agent, asset);
        s.pay(money, locked)?;
        s.books.outside = add_wide(s.books.outside, money)?;
        s.books.treasury = sub(s.books.treasury, tokens, LedgerError::InsufficientHoldings)?;
        s.holding = add(s.holding, tokens)?;
        self.commit(s);
        self.counts.outside_trades += 1;
        Ok(())
    }

    /// Mints `tokens` of `asset` into the unheld supply (a resource's stock
    /// replenished by production).
    pub fn mint_to_treasury(&mut self, asset: usize, tokens: u64) -> Result<(), LedgerError> {
        let books = &mut self.books[asset];
        let supply = add(books.supply, tokens)?;
        books.treasury = add(books.treasury, tokens)?;
        books.supply = supply;
        self.counts.mints += 1;
        Ok(())
    }

    /// Burns `tokens` of the unheld supply (a stock's decay).
    pub fn burn_from_treasury(&mut self, asset: usize, tokens: u64) -> Result<(), LedgerError> {
        let books = &mut self.books[asset];
        let short = LedgerError::InsufficientHoldings;
        let treasury = sub(books.treasury, tokens, short)?;
        // the treasury is part of the supply, so the supply covers it
        // unless the books are already broken
        books.supply = sub(books.supply, tokens, short)?;
        books.treasury = treasury;
        self.counts.burns += 1;
        Ok(())
    }

    /// The agent uses up `tokens` of its holdings of `asset` (a resource
    /// consumed, expired or decayed): they leave the supply.
    pub fn consume(
        &mut self,
        agent: AgentId,
        asset: usize,
        tokens: u64,
    ) -> Result<(), LedgerError> {
        // As a [`Stage`] would, without copying the books in and out.
        let (_, holding_at) = self.cells_of(agent, asset);
        let books = &self.books[asset];
        let short = LedgerError::InsufficientHoldings;
        let holding = sub(self.cells[holding_at], tokens, short)?;
        let supply = sub(books.supply, tokens, short)?;
        self.cells[holding_at] = holding;
        self.books[asset].supply = supply;
        self.counts.burns += 1;
        Ok(())
    }

    /// Pays `money` into the reserve of `asset` from outside, so that the
    /// reserve keeps covering the supply after a curve was raised.
    pub fn top_up_reserve(&mut self, asset: usize, money: u128) -> Result<(), LedgerError> {
        let reserve = self.books[asset]
            .reserve
            .checked_add(money)
            .ok_or(LedgerError::Overflow)?;
        let money_in = self.money_in.plus(|m| &mut m.reserve_top_ups, money)?;
        self.books[asset].reserve = reserve;
        self.money_in = money_in;
        self.counts.top_ups += 1;
        Ok(())
    }

    /// Money paid into the economy: [`MoneyIn::total`] plus the money
    /// funded into incentive treasuries (`None` past `u128::MAX`).
    pub fn money_paid_in(&self) -> Option<u128> {
        self.money_in.total()?.checked_add(self.incentive.funded())
    }

    /// Sums every account and compares with the counters: both sides of the
    /// money identity and, per asset, of the token identity.
    pub fn conservation(&self) -> Conservation {
        // At most 2³² agents of `u64` cells: these sums stay below 2⁹⁶.
        let mut money: u128 = 0;
        let mut tokens = vec![0u128; self.assets];
        for account in self.accounts() {
            money += u128::from(account[0]);
            for (sum, h) in tokens.iter_mut().zip(&account[1..]) {
                *sum += u128::from(*h);
            }
        }
        self.conservation_from_sums(money, &tokens)
    }

    /// Like [`Ledger::conservation`], from account sums the caller already
    /// computed (Σ balances and Σ holdings per asset), to avoid a second pass.
    pub fn conservation_from_sums(&self, balances: u128, holdings: &[u128]) -> Conservation {
        let money_held = self.contracts_held(balances).and_then(|start| {
            self.books.iter().try_fold(start, |sum, b| {
                sum.checked_add(b.reserve)?
                    .checked_add(b.fee_pool)?
                    .checked_add(b.escrow_money)?
                    .checked_add(b.outside)
            })
        });
        let money_held = money_held.and_then(|h| h.checked_add(self.incentive.money_held()?));
        Conservation {
            money_held,
            money_in: self.money_paid_in(),
            // Σ holdings is below 2⁹⁶ (2³² agents): adding two u64s and
            // the incentive tokens (each below 2⁶⁴ per treasury) cannot
            // overflow.
            tokens_held: holdings
                .iter()
                .zip(&self.books)
                .enumerate()
                .map(|(j, (h, b))| {
                    h + u128::from(b.treasury)
                        + u128::from(b.escrow_tokens)
                        + self.incentive.tokens_held(j)
                })
                .collect(),
            supply: self.books.iter().map(|b| u128::from(b.supply)).collect(),
        }
    }
}

/// `x − y`, or `short` when `y > x`.
#[inline]
fn sub(x: u64, y: u64, short: LedgerError) -> Result<u64, LedgerError> {
    x.checked_sub(y).ok_or(short)
}

/// `x + y`, or [`LedgerError::Overflow`].
#[inline]
fn add(x: u64, y: u64) -> Result<u64, LedgerError> {
    x.checked_add(y).ok_or(LedgerError::Overflow)
}

/// A pool-level `x + y` of an account-sized `y`, or [`LedgerError::Overflow`].
#[inline]
fn add_wide(x: u128, y: u64) -> Result<u128, LedgerError> {
    x.checked_add(u128::from(y)).ok_or(LedgerError::Overflow)
}

/// A pool-level `x − y` of an account-sized `y`, or `short` when `y > x`.
#[inline]
fn sub_wide(x: u128, y: u64, short: LedgerError) -> Result<u128, LedgerError> {
    x.checked_sub(u128::from(y)).ok_or(short)
}

/// A staged copy of one agent's balance and holding of one asset, and of
/// the asset's books (see [`Ledger::stage`]).
#[derive(Debug, Clone, Copy)]
struct Stage {
    at: usize,
    holding_at: usize,
    asset: usize,
    balance: u64,
    holding: u64,
    books: AssetBooks,
}

impl Stage {
    /// Takes `money` from the agent's locked money or its balance.
    fn pay(&mut self, money: u64, locked: bool) -> Result<(), LedgerError> {
        let short = LedgerError::InsufficientBalance;
        if locked {
            self.books.escrow_money = sub_wide(self.books.escrow_money, money, short)?;
        } else {
            self.balance = sub(self.balance, money, short)?;
        }
        Ok(())
    }

    /// Takes `tokens` from the agent's locked tokens or its holdings.
    fn deliver(&mut self, tokens: u64, locked: bool) -> Result<(), LedgerError> {
        let short = LedgerError::InsufficientHoldings;
        if locked {
            self.books.escrow_tokens = sub(self.books.escrow_tokens, tokens, short)?;
        } else {
            self.holding = sub(self.holding, tokens, short)?;
        }
        Ok(())
    }

    /// Credits `money` paid by the outside world: from what it holds, the
    /// rest paid in. Returns what was paid in.
    fn receive_from_outside(&mut self, money: u64) -> Result<u64, LedgerError> {
        self.balance = add(self.balance, money)?;
        // min(money, outside) fits a u64 and the outside holds it
        let from_outside = self.books.outside.min(u128::from(money));
        self.books.outside -= from_outside;
        Ok(money - from_outside as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_trip_at_base_resolution() {
        assert_eq!(to_base(1000.0), Some(1_000_000_000_000));
        assert_eq!(to_base(1e-9), Some(1));
        assert_eq!(to_base(-1.0), None);
        assert_eq!(to_base(f64::NAN), None);
        assert_eq!(to_base(1e300), None);
        assert_eq!(to_units(1_500_000_000), 1.5);
    }

    /// The operations that move money or tokens to or from an agent outside
    /// a trade each count one transfer, move exactly their amounts on the
    /// agent's own account (agent 1 of 2: `agent · stride`, not agent 0's)
    /// and keep the books whole (`conserved`, with tokens in the pool's
    /// treasury).
    #[test]
    fn transfers_are_counted_move_their_amounts_and_conserve() {
        const U: u64 = SCALE;
        let mut l = Ledger::new(2, 1);
        l.fund_balance(1, 100 * U).unwrap();
        l.fund_supply(0, Some(1), 50 * U, 0).unwrap();
        let check = |l: &Ledger, step: u64, balance: u64, held: [u64; 2]| {
            assert_eq!(l.counts().transfers, step, "after operation {step}");
            assert_eq!((l.balance(0), l.balance(1)), (0, balance), "after {step}");
            assert_eq!(
                (l.holding(0, 0), l.holding(1, 0)),
                (held[0], held[1]),
                "after {step}"
            );
            let sums = u128::from(l.balance(0)) + u128::from(l.balance(1));
            let holds = u128::from(held[0]) + u128::from(held[1]);
            assert!(l.conserved(sums, &[holds]), "after {step}");
        };
        l.pay_in(1, 10 * U).unwrap(); // a referral's budget, from outside
        check(&l, 1, 110 * U, [0, 50 * U]);
        l.spend(1, 5 * U).unwrap(); // effort, out of the economy
        check(&l, 2, 105 * U, [0, 50 * U]);
        l.escrow_deposit(1, 20 * U).unwrap();
        check(&l, 3, 85 * U, [0, 50 * U]);
        l.escrow_pay(1, 7 * U).unwrap();
        check(&l, 4, 92 * U, [0, 50 * U]);
        l.pay_into_pool(1, 0, 30 * U).unwrap();
        check(&l, 5, 62 * U, [0, 50 * U]);
        l.pay_from_pool(1, 0, 10 * U).unwrap();
        check(&l, 6, 72 * U, [0, 50 * U]);
        l.deposit_to_pool(1, 0, 10 * U, 5 * U).unwrap();
        check(&l, 7, 62 * U, [0, 45 * U]);
        assert_eq!(l.books(0).treasury, 5 * U);
        l.withdraw_from_pool(1, 0, 4 * U, 2 * U).unwrap();
        check(&l, 8, 66 * U, [0, 47 * U]);
        l.transfer_tokens(1, 0, 0, 3 * U).unwrap();
        check(&l, 9, 66 * U, [3 * U, 44 * U]);
        // a swap with the pool each way (reserve 26, treasury 3 by now)
        l.swap_with_pool(1, 0, true, 6 * U, U).unwrap();
        check(&l, 10, 60 * U, [3 * U, 45 * U]);
        l.swap_with_pool(1, 0, false, 2 * U, 4 * U).unwrap();
        check(&l, 11, 64 * U, [3 * U, 43 * U]);
        assert_eq!(
            (l.books(0).reserve, l.books(0).treasury),
            (28 * u128::from(U), 4 * U)
        );
    }

    /// The curve side of the ledger (lent to the execute phase) counts the
    /// rejected and clipped actions into the ledger's own counts, one each.
    #[test]
    fn the_book_side_counts_rejections_and_clips_into_the_ledger() {
        let mut l = Ledger::new(2, 1);
        for n in 1..=3 {
            let (_, mut books) = l.account_and_books(1);
            books.count_rejected();
            let (_, mut books) = l.split();
            books.count_clipped();
            assert_eq!((l.counts().rejected, l.counts().clipped), (n, n));
        }
    }

    /// `from_wide` is `n as f64` on both of its paths: exact below 2⁵³,
    /// correctly rounded above, and past `i64::MAX` (the out-of-line path)
    /// up to `u128::MAX`, which rounds to 2¹²⁸.
    #[test]
    fn wide_amounts_convert_to_the_nearest_float_on_both_paths() {
        let two = |e: i32| 2f64.powi(e);
        assert_eq!(from_wide(0), 0.0);
        assert_eq!(from_wide(12_345), 12_345.0);
        assert_eq!(from_wide((1 << 53) + 1), two(53)); // ties to even
        assert_eq!(from_wide(i64::MAX as u128), two(63));
        assert_eq!(from_wide(1 << 63), two(63));
        assert_eq!(from_wide(3 << 64), 3.0 * two(64));
        assert_eq!(from_wide(5 << 100), 5.0 * two(100));
        assert_eq!(from_wide(u128::MAX), two(128));
    }

    /// `to_wide` truncates on both of its paths, the fast one below 2⁶³
    /// and the wide one from 2⁶³ exactly (where an `i64` would saturate),
    /// and saturates at `u128::MAX` from 2¹²⁸ on.
    #[test]
    fn floats_convert_to_wide_amounts_by_truncation_on_both_paths() {
        let two = |e: i32| 2f64.powi(e);
        assert_eq!(to_wide(0.0), 0);
        assert_eq!(to_wide(1.99), 1);
        assert_eq!(to_wide(12_345.75), 12_345);
        assert_eq!(to_wide(two(63) - 1024.0), (1 << 63) - 1024);
        assert_eq!(to_wide(two(63)), 1 << 63);
        assert_eq!(to_wide(3.0 * two(64) + two(20)), (3 << 64) + (1 << 20));
        assert_eq!(to_wide(two(127)), 1 << 127);
        assert_eq!(to_wide(two(128)), u128::MAX);
        assert_eq!(to_wide(1e40), u128::MAX);
    }

    /// The ranges the error messages quote: `u64::MAX` base units per
    /// account (1.8e10 units), `u128::MAX` per pool (3.4e29), and the
    /// advice for each kind of amount, word for word.
    #[test]
    fn the_range_advice_quotes_the_ledgers_ranges() {
        assert_eq!(ACCOUNT_RANGE, 18_446_744_073.709_553);
        assert_eq!(POOL_RANGE, 3.402_823_669_209_385e29);
        assert_eq!(
            range_advice("money"),
            "the ledger's range of 1.8e10 money units per account (3.4e29 in a reserve or \
             pool) at 1e-9 base units; scale money amounts down (e.g. work in thousands)"
        );
        assert_eq!(
            range_advice("token"),
            "the ledger's range of 1.8e10 token units per account and per asset at 1e-9 base \
             units; scale token amounts down (e.g. work in thousands)"
        );
        assert_eq!(
            range_advice("money or token"),
            "the ledger's range of 1.8e10 money or token units per account (1.8e10 tokens per \
             asset, 3.4e29 money units per pool) at 1e-9 base units; scale money or token \
             amounts down (e.g. work in thousands)"
        );
        assert_eq!(
            reserve_range_advice(),
            "the ledger's range of 3.4e29 money units per reserve at 1e-9 base units; lower \
             the curve's prices or the supply"
        );
    }

    /// Staking moves the staked asset's tokens of the agent's own account
    /// (asset 1 of 2, agent 1 of 2) into the stake and back, a slash burns
    /// them out of the supply; each counts (a lock, a lock, a burn) and the
    /// books stay whole.
    #[test]
    fn stakes_move_the_staked_assets_tokens_and_count() {
        const U: u64 = SCALE;
        let mut l = Ledger::new(2, 2);
        l.fund_supply(0, Some(1), 10 * U, 0).unwrap();
        l.fund_supply(1, Some(1), 50 * U, 0).unwrap();
        let check = |l: &Ledger, held: [u64; 2], counts: (u64, u64)| {
            assert_eq!([l.holding(1, 0), l.holding(1, 1)], held);
            assert_eq!([l.holding(0, 0), l.holding(0, 1)], [0, 0]);
            assert_eq!((l.counts().locks, l.counts().burns), counts);
            let holds = [u128::from(held[0]), u128::from(held[1])];
            assert!(l.conserved(0, &holds));
        };
        l.stake(1, 1, 20 * U).unwrap();
        check(&l, [10 * U, 30 * U], (1, 0));
        l.unstake(1, 1, 5 * U).unwrap();
        check(&l, [10 * U, 35 * U], (2, 0));
        l.slash(1, 6 * U).unwrap();
        check(&l, [10 * U, 35 * U], (2, 1));
        assert_eq!(l.books(1).supply, 44 * U);
        assert_eq!(l.books(0).supply, 10 * U);
    }

    #[test]
    fn market_operations_conserve_and_refuse_without_side_effects() {
        let mut l = Ledger::new(3, 1);
        l.fund_balance(0, 1_000).unwrap();
        l.fund_supply(0, Some(1), 50, 0).unwrap();
        // a buy order locks money, a sell order tokens
        l.lock(0, 0, 600, 0).unwrap();
        l.lock(1, 0, 0, 30).unwrap();
        assert_eq!((l.balance(0), l.holding(1, 0)), (400, 20));
        let check = |l: &Ledger| {
            let c = l.conservation();
            assert_eq!((c.money_error(), c.token_error()), (0, 0), "{c:?}");
        };
        check(&l);
        // a fill from both locks, then the rest released
        l.settle(0, 1, 0, 10, 250, true, true).unwrap();
        assert_eq!((l.holding(0, 0), l.balance(1)), (10, 250));
        l.release(0, 0, 350, 0).unwrap();
        l.release(1, 0, 0, 20).unwrap();
        check(&l);
        // refusals change nothing
        let before = l.clone();
        assert!(l.settle(0, 1, 0, 10, 5_000, false, false).is_err());
        assert!(l.release(0, 0, 1, 0).is_err());
        assert!(l.lock(2, 0, 1, 0).is_err());
        assert_eq!(format!("{before:?}"), format!("{l:?}"));
        // the outside world: sells minted tokens, buys and burns, pays in
        // beyond what it received
        l.sell_from_outside(0, 0, 5, 100, false).unwrap();
        l.buy_from_outside(1, 0, 10, 300, false).unwrap();
        assert_eq!(l.books(0).outside, 0);
        assert_eq!(l.money_in().outside, 200);
        check(&l);
        // a stock: minted to the treasury, delivered, consumed, decayed
        l.mint_to_treasury(0, 40).unwrap();
        l.sell_from_treasury(2, 0, 15, 0, false).unwrap();
        l.consume(2, 0, 15).unwrap();
        l.burn_from_treasury(0, 5).unwrap();
        l.pay_outside(0, 0, 50).unwrap();
        l.pay_from_outside(2, 0, 80).unwrap();
        check(&l);
        assert_eq!(l.books(0).treasury, 20);
    }

    #[test]
    fn buy_and_sell_conserve_money_and_tokens() {
        let mut l = Ledger::new(2, 1);
        l.fund_balance(0, 100).unwrap();
        l.fund_balance(1, 50).unwrap();
        l.buy(0, 0, 7, 60, 3).unwrap();
        l.sell(0, 0, 2, 20, 1).unwrap();
        l.transfer_tokens(0, 1, 0, 3).unwrap();
        l.transfer_money(1, 0, 10).unwrap();
        l.reward(1, 5).unwrap();
        let c = l.conservation();
        assert_eq!(c.money_error(), 0);
        assert_eq!(c.token_error(), 0);
        assert_eq!(l.balance(0), 100 - 63 + 19 + 10);
        assert_eq!(l.holding(1, 0), 3);
        assert_eq!(l.books(0).reserve, 40);
        assert_eq!(l.books(0).fee_pool, 4);
        assert_eq!(l.counts().fees, 2);
    }

    #[test]
    fn refused_operations_leave_the_ledger_unchanged() {
        let mut l = Ledger::new(1, 1);
        l.fund_balance(0, 10).unwrap();
        let before = l.clone();
        assert_eq!(l.buy(0, 0, 1, 10, 1), Err(LedgerError::InsufficientBalance));
        assert_eq!(
            l.sell(0, 0, 1, 0, 0),
            Err(LedgerError::InsufficientHoldings)
        );
        assert_eq!(
            l.transfer_money(0, 0, 11),
            Err(LedgerError::InsufficientBalance)
        );
        assert_eq!(l.cells, before.cells);
        assert_eq!(l.books, before.books);
    }

    #[test]
    fn the_check_sees_a_unit_created_outside_the_operations() {
        let mut l = Ledger::new(1, 1);
        l.fund_balance(0, 10).unwrap();
        l.cells[0] += 1;
        assert_eq!(l.conservation().money_error(), 1);
    }

    /// The largest account cell and pool amounts.
    const CELL: u64 = u64::MAX;
    const POOL: u128 = u128::MAX;

    /// Asserts that `op` is refused as past the range and leaves the ledger
    /// exactly as it was.
    fn refuses(
        l: &mut Ledger,
        what: &str,
        op: impl FnOnce(&mut Ledger) -> Result<(), LedgerError>,
    ) {
        let before = l.clone();
        assert_eq!(op(l), Err(LedgerError::Overflow), "{what}");
        assert_eq!(*l, before, "{what} changed the ledger");
    }

    /// A ledger of two agents and one asset whose books hold `books`.
    fn with_books(books: AssetBooks) -> Ledger {
        let mut l = Ledger::new(2, 1);
        l.books[0] = books;
        l
    }

    #[test]
    fn every_credit_to_a_full_account_cell_is_refused() {
        let mut l = Ledger::new(2, 1);
        l.fund_balance(0, CELL).unwrap();
        l.fund_supply(0, Some(1), CELL, 0).unwrap();
        refuses(&mut l, "fund_balance", |l| l.fund_balance(0, 1));
        refuses(&mut l, "reward", |l| l.reward(0, 1));
        let mut room = l.clone();
        room.books[0].supply = 0;
        refuses(&mut room, "fund_supply to a holder", |l| {
            l.fund_supply(0, Some(1), 1, 0)
        });
        // agent 1 holds CELL tokens, agent 0 has CELL money: a transfer the
        // other way would overflow the receiver
        l.fund_balance(1, 1).unwrap();
        refuses(&mut l, "transfer_money", |l| l.transfer_money(1, 0, 1));
        l.fund_supply(0, None, 0, 0).unwrap();
        let mut m = Ledger::new(2, 1);
        m.fund_supply(0, Some(0), 1, 0).unwrap();
        m.cells[m.stride + 1] = CELL;
        refuses(&mut m, "transfer_tokens", |l| l.transfer_tokens(0, 1, 0, 1));
    }

    #[test]
    fn a_buy_past_any_range_is_refused_and_changes_nothing() {
        let mut l = Ledger::new(2, 1);
        l.fund_balance(0, CELL).unwrap();
        refuses(&mut l, "cost + fee", |l| l.buy(0, 0, 1, CELL, 1));
        // holdings: agent 0 already holds all a cell takes
        let mut full = l.clone();
        full.cells[1] = CELL;
        refuses(&mut full, "holding", |l| l.buy(0, 0, 1, 1, 0));
        // supply: the asset's tokens are all in existence
        let mut l2 = l.clone();
        l2.fund_supply(0, None, CELL, 0).unwrap();
        refuses(&mut l2, "supply", |l| l.buy(0, 0, 1, 1, 0));
        // the reserve: 5 base units below its range, a cost of 10 — a
        // wrapping add would leave a reserve of 4 and accept the buy
        let mut l3 = l.clone();
        l3.books[0].reserve = POOL - 5;
        refuses(&mut l3, "reserve", |l| l.buy(0, 0, 1, 10, 0));
        assert_eq!(l3.buy(0, 0, 1, 5, 0), Ok(()), "up to the edge it fits");
        assert_eq!(l3.books(0).reserve, POOL);
        // the fee pool
        let mut l4 = l.clone();
        l4.books[0].fee_pool = POOL;
        refuses(&mut l4, "fee pool", |l| l.buy(0, 0, 1, 1, 1));
    }

    #[test]
    fn a_sell_past_any_range_is_refused_and_changes_nothing() {
        let mut l = Ledger::new(1, 1);
        l.fund_supply(0, Some(0), 100, 1_000).unwrap();
        refuses(&mut l, "fee above the refund", |l| l.sell(0, 0, 1, 5, 6));
        let mut full = l.clone();
        full.cells[0] = CELL;
        refuses(&mut full, "balance", |l| l.sell(0, 0, 1, 10, 0));
        let mut pool = l.clone();
        pool.books[0].fee_pool = POOL;
        refuses(&mut pool, "fee pool", |l| l.sell(0, 0, 1, 10, 1));
        // a refund that does not fit one account is refused by the quote,
        // so the ledger only ever sees u64 refunds; up to the edge it fits
        let mut edge = l.clone();
        edge.books[0].reserve = u128::from(CELL) + 1_000;
        assert_eq!(edge.sell(0, 0, 1, CELL, 0), Ok(()));
        assert_eq!(edge.balance(0), CELL);
    }

    #[test]
    fn locks_settlements_and_outside_trades_past_any_range_are_refused() {
        let mut l = Ledger::new(2, 1);
        l.fund_balance(0, 10).unwrap();
        l.fund_supply(0, Some(1), 10, 0).unwrap();
        let mut escrow = l.clone();
        escrow.books[0].escrow_money = POOL;
        refuses(&mut escrow, "escrowed money", |l| l.lock(0, 0, 1, 0));
        let mut escrow = l.clone();
        escrow.books[0].escrow_tokens = CELL;
        refuses(&mut escrow, "escrowed tokens", |l| l.lock(1, 0, 0, 1));
        // releases into full cells
        l.lock(0, 0, 5, 0).unwrap();
        l.lock(1, 0, 0, 5).unwrap();
        let mut full = l.clone();
        full.cells[0] = CELL;
        refuses(&mut full, "release of money", |l| l.release(0, 0, 1, 0));
        let mut full = l.clone();
        full.cells[full.stride + 1] = CELL;
        refuses(&mut full, "release of tokens", |l| l.release(1, 0, 0, 1));
        // settlements into full cells: the seller's balance, the buyer's
        // holding, and both in a self-trade
        let mut full = l.clone();
        full.cells[full.stride] = CELL;
        refuses(&mut full, "seller's balance", |l| {
            l.settle(0, 1, 0, 1, 1, true, true)
        });
        let mut full = l.clone();
        full.cells[1] = CELL;
        refuses(&mut full, "buyer's holding", |l| {
            l.settle(0, 1, 0, 1, 1, true, true)
        });
        let mut own = l.clone();
        own.fund_supply(0, Some(0), 5, 0).unwrap();
        own.lock(0, 0, 0, 5).unwrap();
        let mut full = own.clone();
        full.cells[0] = CELL;
        refuses(&mut full, "self-trade balance", |l| {
            l.settle(0, 0, 0, 1, 1, true, true)
        });
        let mut full = own.clone();
        full.cells[1] = CELL;
        refuses(&mut full, "self-trade holding", |l| {
            l.settle(0, 0, 0, 1, 1, true, true)
        });
        // the outside world: what it holds, the supply it mints, the
        // holdings and balances it credits, what it pays in
        let mut out = l.clone();
        out.books[0].outside = POOL;
        refuses(&mut out, "outside (sell_from_outside)", |l| {
            l.sell_from_outside(0, 0, 1, 1, false)
        });
        refuses(&mut out, "outside (pay_outside)", |l| {
            l.pay_outside(0, 0, 1)
        });
        out.books[0].treasury = 1;
        refuses(&mut out, "outside (sell_from_treasury)", |l| {
            l.sell_from_treasury(0, 0, 1, 1, false)
        });
        let mut out = l.clone();
        out.books[0].supply = CELL;
        refuses(&mut out, "supply (sell_from_outside)", |l| {
            l.sell_from_outside(0, 0, 1, 1, false)
        });
        let mut out = l.clone();
        out.cells[1] = CELL;
        refuses(&mut out, "holding (sell_from_outside)", |l| {
            l.sell_from_outside(0, 0, 1, 0, false)
        });
        out.books[0].treasury = 1;
        refuses(&mut out, "holding (sell_from_treasury)", |l| {
            l.sell_from_treasury(0, 0, 1, 0, false)
        });
        let mut out = l.clone();
        out.cells[out.stride] = CELL;
        refuses(&mut out, "balance (buy_from_outside)", |l| {
            l.buy_from_outside(1, 0, 1, 1, false)
        });
        refuses(&mut out, "balance (pay_from_outside)", |l| {
            l.pay_from_outside(1, 0, 1)
        });
    }

    #[test]
    fn the_treasury_and_the_reserve_refuse_amounts_past_their_range() {
        let mut l = with_books(AssetBooks {
            supply: CELL,
            ..AssetBooks::default()
        });
        refuses(&mut l, "supply (mint_to_treasury)", |l| {
            l.mint_to_treasury(0, 1)
        });
        refuses(&mut l, "supply (fund_supply)", |l| {
            l.fund_supply(0, None, 1, 0)
        });
        // the treasury is part of the supply; a treasury at the edge with
        // room in the supply (books already broken) is still refused
        let mut l = with_books(AssetBooks {
            treasury: CELL,
            ..AssetBooks::default()
        });
        refuses(&mut l, "treasury (mint_to_treasury)", |l| {
            l.mint_to_treasury(0, 1)
        });
        refuses(&mut l, "treasury (fund_supply)", |l| {
            l.fund_supply(0, None, 1, 0)
        });
        let mut l = Ledger::new(1, 1);
        l.fund_supply(0, None, 0, POOL).unwrap();
        refuses(&mut l, "reserve (fund_supply)", |l| {
            l.fund_supply(0, None, 0, 1)
        });
        let mut l = with_books(AssetBooks {
            reserve: POOL,
            ..AssetBooks::default()
        });
        refuses(&mut l, "reserve (top_up_reserve)", |l| {
            l.top_up_reserve(0, 1)
        });
    }

    #[test]
    fn money_paid_in_past_its_range_is_refused_counter_by_counter_and_in_total() {
        // each counter at the edge refuses one more base unit
        let edge = |field: fn(&mut MoneyIn) -> &mut u128| {
            let mut l = Ledger::new(2, 1);
            *field(&mut l.money_in) = POOL;
            l
        };
        refuses(
            &mut edge(|m| &mut m.initial_balances),
            "initial balances",
            |l| l.fund_balance(0, 1),
        );
        refuses(
            &mut edge(|m| &mut m.reserve_funding),
            "reserve funding",
            |l| l.fund_supply(0, None, 1, 1),
        );
        refuses(&mut edge(|m| &mut m.reserve_top_ups), "top-ups", |l| {
            l.top_up_reserve(0, 1)
        });
        refuses(&mut edge(|m| &mut m.rewards), "rewards", |l| l.reward(0, 1));
        refuses(
            &mut edge(|m| &mut m.outside),
            "outside (pay_from_outside)",
            |l| l.pay_from_outside(0, 0, 1),
        );
        let mut seller = edge(|m| &mut m.outside);
        seller.fund_supply(0, Some(0), 1, 0).unwrap();
        refuses(&mut seller, "outside (buy_from_outside)", |l| {
            l.buy_from_outside(0, 0, 1, 1, false)
        });
        // the total: each counter in range, their sum not
        let mut l = Ledger::new(2, 1);
        l.fund_supply(0, None, 0, POOL - 10).unwrap();
        l.fund_balance(0, 10).unwrap();
        assert_eq!(l.money_in().total(), Some(POOL));
        refuses(&mut l, "total (reward)", |l| l.reward(1, 1));
        refuses(&mut l, "total (fund_balance)", |l| l.fund_balance(1, 1));
        assert_eq!(l.conservation().money_error(), 0);
    }

    #[test]
    fn a_conservation_sum_past_u128_is_an_error_not_a_wrap() {
        // Money created outside the operations, at the edge: the held side
        // cannot be summed, and the check must not pass.
        let mut l = Ledger::new(1, 1);
        l.fund_supply(0, None, 0, POOL).unwrap();
        l.cells[0] = 1;
        let c = l.conservation();
        assert_eq!(c.money_held, None);
        assert_eq!(c.money_error(), u128::MAX);
    }

    /// One ledger operation, with amounts drawn up to the edges.
    #[derive(Debug, Clone)]
    enum Op {
        Fund(u32, u64),
        Supply(Option<u32>, u64, u128),
        Buy(u32, u64, u64, u64),
        Sell(u32, u64, u64, u64),
        Reward(u32, u64),
        Money(u32, u32, u64),
        Tokens(u32, u32, u64),
        Lock(u32, u64, u64),
        Release(u32, u64, u64),
        Settle(u32, u32, u64, u64),
        TopUp(u128),
        Mint(u64),
        Pay(u32, u64),
        Paid(u32, u64),
        OutsideSells(u32, u64, u64),
        OutsideBuys(u32, u64, u64),
        TreasurySells(u32, u64, u64),
    }

    /// Amounts from 0 to the edge of an account cell: small ones, round
    /// ones, and ones within a few units of `u64::MAX`.
    fn cell_amount() -> impl proptest::strategy::Strategy<Value = u64> {
        use proptest::prelude::*;
        prop_oneof![
            0u64..1_000,
            (0u32..64).prop_map(|e| 1u64 << e),
            (0u64..1_000).prop_map(|d| u64::MAX - d),
            any::<u64>(),
        ]
    }

    /// Pool amounts up to the edge of `u128`.
    fn pool_amount() -> impl proptest::strategy::Strategy<Value = u128> {
        use proptest::prelude::*;
        prop_oneof![
            cell_amount().prop_map(u128::from),
            (0u128..1_000).prop_map(|d| u128::MAX - d),
            any::<u128>(),
        ]
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        let a = 0u32..3;
        prop_oneof![
            (a.clone(), cell_amount()).prop_map(|(x, m)| Op::Fund(x, m)),
            (prop::option::of(a.clone()), cell_amount(), pool_amount())
                .prop_map(|(x, t, m)| Op::Supply(x, t, m)),
            (a.clone(), cell_amount(), cell_amount(), cell_amount())
                .prop_map(|(x, t, c, f)| Op::Buy(x, t, c, f)),
            (a.clone(), cell_amount(), cell_amount(), cell_amount())
                .prop_map(|(x, t, r, f)| Op::Sell(x, t, r, f)),
            (a.clone(), cell_amount()).prop_map(|(x, m)| Op::Reward(x, m)),
            (a.clone(), a.clone(), cell_amount()).prop_map(|(x, y, m)| Op::Money(x, y, m)),
            (a.clone(), a.clone(), cell_amount()).prop_map(|(x, y, t)| Op::Tokens(x, y, t)),
            (a.clone(), cell_amount(), cell_amount()).prop_map(|(x, m, t)| Op::Lock(x, m, t)),
            (a.clone(), cell_amount(), cell_amount()).prop_map(|(x, m, t)| Op::Release(x, m, t)),
            (a.clone(), a.clone(), cell_amount(), cell_amount())
                .prop_map(|(x, y, t, m)| Op::Settle(x, y, t, m)),
            pool_amount().prop_map(Op::TopUp),
            cell_amount().prop_map(Op::Mint),
            (a.clone(), cell_amount()).prop_map(|(x, m)| Op::Pay(x, m)),
            (a.clone(), cell_amount()).prop_map(|(x, m)| Op::Paid(x, m)),
            (a.clone(), cell_amount(), cell_amount())
                .prop_map(|(x, t, m)| Op::OutsideSells(x, t, m)),
            (a.clone(), cell_amount(), cell_amount())
                .prop_map(|(x, t, m)| Op::OutsideBuys(x, t, m)),
            (a, cell_amount(), cell_amount()).prop_map(|(x, t, m)| Op::TreasurySells(x, t, m)),
        ]
    }

    /// What an operation must do when it succeeds, computed in wide
    /// integers from the ledger before it: `None` where the result is past
    /// the range (then the operation must have been refused).
    fn expected(l: &Ledger, op: &Op) -> Option<Ledger> {
        let mut e = l.clone();
        let cell = |e: &mut Ledger, agent: u32, k: usize, delta: i128| -> Option<()> {
            let at = agent as usize * e.stride + k;
            let v = i128::from(e.cells[at]) + delta;
            e.cells[at] = u64::try_from(v).ok()?;
            Some(())
        };
        let money_in = |e: &mut Ledger, f: fn(&mut MoneyIn) -> &mut u128, m: u128| -> Option<()> {
            let c = f(&mut e.money_in);
            *c = c.checked_add(m)?;
            e.money_in.total().map(|_| ())
        };
        fn b(e: &mut Ledger) -> &mut AssetBooks {
            &mut e.books[0]
        }
        let wide = |x: u64| i128::from(x);
        match *op {
            Op::Fund(x, m) => {
                cell(&mut e, x, 0, wide(m))?;
                money_in(&mut e, |m| &mut m.initial_balances, u128::from(m))?;
            }
            Op::Supply(x, t, m) => {
                b(&mut e).supply = b(&mut e).supply.checked_add(t)?;
                b(&mut e).reserve = b(&mut e).reserve.checked_add(m)?;
                money_in(&mut e, |m| &mut m.reserve_funding, m)?;
                match x {
                    Some(x) => cell(&mut e, x, 1, wide(t))?,
                    None => b(&mut e).treasury = b(&mut e).treasury.checked_add(t)?,
                }
            }
            Op::Buy(x, t, c, f) => {
                cell(&mut e, x, 0, -wide(c) - wide(f))?;
                cell(&mut e, x, 1, wide(t))?;
                b(&mut e).supply = b(&mut e).supply.checked_add(t)?;
                b(&mut e).reserve = b(&mut e).reserve.checked_add(u128::from(c))?;
                b(&mut e).fee_pool = b(&mut e).fee_pool.checked_add(u128::from(f))?;
                e.counts.mints += 1;
                e.counts.fees += u64::from(f > 0);
            }
            Op::Sell(x, t, r, f) => {
                cell(&mut e, x, 0, wide(r) - wide(f))?;
                if f > r {
                    return None;
                }
                cell(&mut e, x, 1, -wide(t))?;
                b(&mut e).supply = b(&mut e).supply.checked_sub(t)?;
                b(&mut e).reserve = b(&mut e).reserve.checked_sub(u128::from(r))?;
                b(&mut e).fee_pool = b(&mut e).fee_pool.checked_add(u128::from(f))?;
                e.counts.burns += 1;
                e.counts.fees += u64::from(f > 0);
            }
            Op::Reward(x, m) => {
                cell(&mut e, x, 0, wide(m))?;
                money_in(&mut e, |m| &mut m.rewards, u128::from(m))?;
                e.counts.rewards += 1;
            }
            Op::Money(x, y, m) | Op::Tokens(x, y, m) => {
                let k = usize::from(matches!(op, Op::Tokens(..)));
                cell(&mut e, x, k, -wide(m))?;
                cell(&mut e, y, k, wide(m))?;
                e.counts.transfers += 1;
            }
            Op::Lock(x, m, t) => {
                cell(&mut e, x, 0, -wide(m))?;
                cell(&mut e, x, 1, -wide(t))?;
                b(&mut e).escrow_money = b(&mut e).escrow_money.checked_add(u128::from(m))?;
                b(&mut e).escrow_tokens = b(&mut e).escrow_tokens.checked_add(t)?;
                e.counts.locks += 1;
            }
            Op::Release(x, m, t) => {
                cell(&mut e, x, 0, wide(m))?;
                cell(&mut e, x, 1, wide(t))?;
                b(&mut e).escrow_money = b(&mut e).escrow_money.checked_sub(u128::from(m))?;
                b(&mut e).escrow_tokens = b(&mut e).escrow_tokens.checked_sub(t)?;
                e.counts.locks += u64::from(m > 0 || t > 0);
            }
            Op::Settle(x, y, t, m) => {
                // from both locks: the buyer's money and the seller's tokens
                b(&mut e).escrow_money = b(&mut e).escrow_money.checked_sub(u128::from(m))?;
                b(&mut e).escrow_tokens = b(&mut e).escrow_tokens.checked_sub(t)?;
                cell(&mut e, y, 0, wide(m))?;
                cell(&mut e, x, 1, wide(t))?;
                e.counts.settlements += 1;
            }
            Op::TopUp(m) => {
                b(&mut e).reserve = b(&mut e).reserve.checked_add(m)?;
                money_in(&mut e, |m| &mut m.reserve_top_ups, m)?;
                e.counts.top_ups += 1;
            }
            Op::Mint(t) => {
                b(&mut e).supply = b(&mut e).supply.checked_add(t)?;
                b(&mut e).treasury = b(&mut e).treasury.checked_add(t)?;
                e.counts.mints += 1;
            }
            Op::Pay(x, m) => {
                cell(&mut e, x, 0, -wide(m))?;
                b(&mut e).outside = b(&mut e).outside.checked_add(u128::from(m))?;
                e.counts.outside_trades += 1;
            }
            Op::Paid(x, m) => {
                cell(&mut e, x, 0, wide(m))?;
                let from_outside = b(&mut e).outside.min(u128::from(m));
                b(&mut e).outside -= from_outside;
                money_in(&mut e, |m| &mut m.outside, u128::from(m) - from_outside)?;
                e.counts.outside_trades += 1;
            }
            Op::OutsideSells(x, t, m) => {
                // minted to the agent, paid to the outside
                cell(&mut e, x, 0, -wide(m))?;
                cell(&mut e, x, 1, wide(t))?;
                b(&mut e).supply = b(&mut e).supply.checked_add(t)?;
                b(&mut e).outside = b(&mut e).outside.checked_add(u128::from(m))?;
                e.counts.outside_trades += 1;
            }
            Op::OutsideBuys(x, t, m) => {
                // burned from the agent, paid from what the outside holds
                // and the rest paid in
                cell(&mut e, x, 1, -wide(t))?;
                cell(&mut e, x, 0, wide(m))?;
                b(&mut e).supply = b(&mut e).supply.checked_sub(t)?;
                let from_outside = b(&mut e).outside.min(u128::from(m));
                b(&mut e).outside -= from_outside;
                money_in(&mut e, |m| &mut m.outside, u128::from(m) - from_outside)?;
                e.counts.outside_trades += 1;
            }
            Op::TreasurySells(x, t, m) => {
                cell(&mut e, x, 0, -wide(m))?;
                cell(&mut e, x, 1, wide(t))?;
                b(&mut e).treasury = b(&mut e).treasury.checked_sub(t)?;
                b(&mut e).outside = b(&mut e).outside.checked_add(u128::from(m))?;
                e.counts.outside_trades += 1;
            }
        }
        Some(e)
    }

    fn apply(l: &mut Ledger, op: &Op) -> Result<(), LedgerError> {
        match *op {
            Op::Fund(x, m) => l.fund_balance(x, m),
            Op::Supply(x, t, m) => l.fund_supply(0, x, t, m),
            Op::Buy(x, t, c, f) => l.buy(x, 0, t, c, f),
            Op::Sell(x, t, r, f) => l.sell(x, 0, t, r, f),
            Op::Reward(x, m) => l.reward(x, m),
            Op::Money(x, y, m) => l.transfer_money(x, y, m),
            Op::Tokens(x, y, t) => l.transfer_tokens(x, y, 0, t),
            Op::Lock(x, m, t) => l.lock(x, 0, m, t),
            Op::Release(x, m, t) => l.release(x, 0, m, t),
            Op::Settle(x, y, t, m) => l.settle(x, y, 0, t, m, true, true),
            Op::TopUp(m) => l.top_up_reserve(0, m),
            Op::Mint(t) => l.mint_to_treasury(0, t),
            Op::Pay(x, m) => l.pay_outside(x, 0, m),
            Op::Paid(x, m) => l.pay_from_outside(x, 0, m),
            Op::OutsideSells(x, t, m) => l.sell_from_outside(x, 0, t, m, false),
            Op::OutsideBuys(x, t, m) => l.buy_from_outside(x, 0, t, m, false),
            Op::TreasurySells(x, t, m) => l.sell_from_treasury(x, 0, t, m, false),
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::test_support::proptest_config(500))]

        /// Random operations with amounts up to the edges of every range
        /// do exactly what wide arithmetic says, or, where wide arithmetic
        /// leaves a range, are refused and change nothing; money and
        /// tokens stay conserved throughout.
        #[test]
        fn operations_at_the_edges_match_wide_arithmetic_or_are_refused(
            ops in proptest::collection::vec(op(), 1..40)
        ) {
            let mut l = Ledger::new(3, 1);
            for op in &ops {
                let want = expected(&l, op);
                let before = l.clone();
                let got = apply(&mut l, op);
                match (got, want) {
                    (Ok(()), Some(want)) => proptest::prop_assert_eq!(&l, &want, "{:?}", op),
                    (Err(_), None) => proptest::prop_assert_eq!(&l, &before, "{:?}", op),
                    (got, want) => proptest::prop_assert!(
                        false,
                        "{:?}: ledger {:?}, wide arithmetic {}",
                        op, got, if want.is_some() { "fits" } else { "does not fit" }
                    ),
                }
                let c = l.conservation();
                proptest::prop_assert_eq!((c.money_error(), c.token_error()), (0, 0), "{:?}", op);
            }
        }
    }
}

#[cfg(test)]
mod conversion_tests {
    //! The fast integer ↔ float conversions on both sides of 2⁶³, where
    //! they switch paths, against plain `as` casts.
    use super::*;

    #[test]
    fn to_whole_truncates_on_both_sides_of_two_to_the_63() {
        let two_63 = 9_223_372_036_854_775_808.0_f64;
        let below = f64::from_bits(two_63.to_bits() - 1);
        let above = f64::from_bits(two_63.to_bits() + 1);
        assert_eq!(to_whole(below), (1u64 << 63) - 1024);
        assert_eq!(to_whole(two_63), 1u64 << 63);
        assert_eq!(to_whole(above), (1u64 << 63) + 2048);
        assert_eq!(to_whole(1e19), 10_000_000_000_000_000_000);
        assert_eq!(to_whole(2.0 * two_63), u64::MAX);
        assert_eq!(to_whole(12.75), 12);
        assert_eq!(to_whole(0.0), 0);
    }

    #[test]
    fn from_whole_is_exact_or_correctly_rounded_on_both_sides_of_two_to_the_63() {
        let two_63 = 9_223_372_036_854_775_808.0_f64;
        assert_eq!(from_whole(i64::MAX as u64), two_63);
        assert_eq!(from_whole(1u64 << 63), two_63);
        assert_eq!(from_whole((1u64 << 63) + 2048), two_63 + 2048.0);
        assert_eq!(from_whole(u64::MAX), 2.0 * two_63);
        assert_eq!(from_whole(12), 12.0);
        for n in [0u64, 1, 1 << 53, (1 << 53) + 1, u64::MAX - 1] {
            assert_eq!(from_whole(n), n as f64);
        }
    }
}

#[cfg(test)]
mod serde_tests {
    use super::*;

    fn busy_ledger() -> Ledger {
        let mut l = Ledger::new(3, 2);
        l.fund_balance(0, 5 * SCALE).unwrap();
        l.fund_balance(1, u64::MAX - 7).unwrap();
        l.fund_supply(1, Some(2), 40 * SCALE, u128::from(u64::MAX) + 9)
            .unwrap();
        l.buy(0, 1, 3 * SCALE, 2 * SCALE, 17).unwrap();
        l.lock(2, 1, 0, 4 * SCALE).unwrap();
        l
    }

    #[test]
    fn a_ledger_survives_a_round_trip_through_postcard_and_json_exactly() {
        let l = busy_ledger();
        let bytes = postcard::to_stdvec(&l).unwrap();
        let back: Ledger = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, l);
        assert_eq!(back.conservation(), l.conservation());
        let json = serde_json::to_string(&l).unwrap();
        let back: Ledger = serde_json::from_str(&json).unwrap();
        assert_eq!(back, l);
        // The u128 reserve past u64::MAX keeps its last base unit.
        assert_eq!(
            back.books(1).reserve,
            u128::from(u64::MAX) + 9 + 2 * SCALE as u128
        );
    }

    #[test]
    fn a_saved_ledger_of_the_wrong_shape_is_refused_with_the_reason() {
        // serde_json's `Value` holds no u128 past u64::MAX: a small ledger.
        let mut l = Ledger::new(3, 2);
        l.fund_balance(1, 5 * SCALE).unwrap();
        let mut v = serde_json::to_value(&l).unwrap();
        v["cells"].as_array_mut().unwrap().pop();
        let e = serde_json::from_value::<Ledger>(v).unwrap_err().to_string();
        assert!(
            e.contains("not a whole number of accounts of 3 cells"),
            "{e}"
        );
        let mut v = serde_json::to_value(&l).unwrap();
        v["stride"] = 2.into();
        let e = serde_json::from_value::<Ledger>(v).unwrap_err().to_string();
        assert!(e.contains("accounts of 3 cells, not 2"), "{e}");
        let mut v = serde_json::to_value(&l).unwrap();
        v["books"].as_array_mut().unwrap().pop();
        let e = serde_json::from_value::<Ledger>(v).unwrap_err().to_string();
        assert!(e.contains("2 assets has 1 asset books"), "{e}");
    }
}
