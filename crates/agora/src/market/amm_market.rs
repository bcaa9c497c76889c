//! An automated market maker as an asset's market: the constant-product
//! pool of [`amm`](super::amm) settled through the ledger, one swap per
//! agent action, at the agent's turn.
//!
//! The pool's money is the asset's reserve in the ledger and its tokens
//! the asset's treasury (tokens of the supply that no agent holds), so
//! the ledger's conservation identity covers the pool with no new term:
//! a swap moves money between an agent's balance and the reserve and
//! tokens between the treasury and the agent's holdings
//! ([`Ledger::swap_with_pool`](crate::ledger::Ledger::swap_with_pool)).
//! The engine checks after every step that the pool's reserves are the
//! ledger's, to the base unit.
//!
//! A `Buy { spend }` swaps `spend` money (at most the agent's balance)
//! for tokens; a `Sell { amount }` swaps `amount` tokens (at most its
//! holdings) for money. With the asset's `max_slippage = s`, a swap whose
//! output at its turn is below `⌈(1 − s)·quote⌉`, `quote` its output on
//! the pool as it stood at the start of the step (when the agent
//! decided), fails: nothing moves and it is counted in
//! `slippage_failures` (and as a rejected action). An
//! [`Action::Swap`] names its own bound (a scripted policy's
//! `max_slippage`). Orders, requests and the like are rejected: a pool
//! takes swaps only.
//!
//! With `ordering = "mempool"` on the asset, a swap is queued at its turn
//! instead of executed (cut to what the agent has then, its bound taken
//! from the same quote), and the queue executes in the clear phase, by
//! priority fee, with the bundles attackers placed around its orders: see
//! [`crate::market::mempool`]. Either way the market keeps the swaps of
//! its last step in execution order ([`AmmMarket::executed`]) for
//! detectors ([`crate::market::amm::detect`]).

use serde::{Deserialize, Serialize};

use super::amm::detect::ExecutedSwap;
use super::amm::liquidity::LpShares;
use super::amm::{min_output, AmmError, ConstantProductPool, Fee, FEE_SCALE};
use super::mechanism::{decode_state, encode_state, Fault, MarketStep, Mechanism, Observed};
use super::mechanism::{PriceSource, Quotes};
use super::mempool::{Bundle, Flow, Mempool, MempoolView, PendingOrder};
use crate::agents::{Action, Side};
use crate::ledger::trades::TradeKind;
use crate::ledger::{to_base, to_units, AgentId, LedgerError};
use crate::scenario::AmmSpec;

/// An automated market maker's market: the pool, the pool as agents saw
/// it at the start of the step, and its running counters.
#[derive(Debug, Clone)]
pub struct AmmMarket {
    pool: ConstantProductPool,
    /// The pool at the start of the step: what agents' quotes are.
    quoted: ConstantProductPool,
    max_slippage: Option<f64>,
    /// The pool's reserves at the start of the run, base units.
    start: (u128, u128),
    counters: AmmCounters,
    /// The step's pending swaps, for `ordering = "mempool"`.
    mempool: Option<Mempool>,
    /// The swaps of the current (or last) step, in execution order.
    executed: Vec<ExecutedSwap>,
    /// The liquidity providers' shares of the pool.
    lp: LpShares,
}

/// What an AMM has done so far in a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AmmCounters {
    /// Swaps executed.
    pub swaps: u64,
    /// Swaps that failed their slippage bound.
    pub slippage_failures: u64,
    /// Fees kept in the pool, base units of money (buys' fees).
    pub fees_money: u128,
    /// Fees kept in the pool, base units of tokens (sells' fees).
    pub fees_token: u128,
    /// The price of the last swap, money per token (money over tokens of
    /// the swap), if any.
    pub last_trade: Option<f64>,
    /// Bundles (front-run, target, back-run) executed (mempool only).
    pub bundles: u64,
    /// Bundles dropped at their target's turn, the target executed alone
    /// (mempool only).
    pub bundles_dropped: u64,
    /// Priority fees paid and burned, base units of money (mempool only).
    pub priority_fees: u128,
    /// What the targets of executed bundles received less than they would
    /// have at their turn without the front-run (the same pool, the same
    /// input): base units of tokens short for buyers (mempool only).
    pub victims_short_tokens: u128,
    /// The same for sellers, base units of money (mempool only).
    pub victims_short_money: u128,
}

/// What an AMM saves in a simulation's state.
#[derive(Serialize, Deserialize)]
struct Saved {
    pool: ConstantProductPool,
    counters: AmmCounters,
    /// The attackers' flows through a mempool (empty without one).
    flows: Vec<(AgentId, Flow)>,
    /// The liquidity providers' shares.
    lp: LpShares,
}

impl AmmMarket {
    /// The market of `spec`, its pool holding the spec's reserves in base
    /// units (the engine funds the ledger with the same amounts, see
    /// [`reserves`](Self::reserves)), or the field that is out of range
    /// and why.
    pub fn new(spec: &AmmSpec) -> Result<Self, (&'static str, String)> {
        let base = |field: &'static str, x: f64| match to_base(x) {
            Some(b) if b > 0 => Ok(b),
            _ => Err((
                field,
                format!(
                    "expected at least 1e-9 (one base unit) and below {:e}, found {x}",
                    to_units(u64::MAX)
                ),
            )),
        };
        let money = base("reserve_money", spec.reserve_money)?;
        let tokens = base("reserve_token", spec.reserve_token)?;
        let fee = Fee::from_fraction(spec.fee).map_err(|e| ("fee", e.to_string()))?;
        if let Some(s) = spec.max_slippage {
            if !(0.0..=1.0).contains(&s) {
                return Err((
                    "max_slippage",
                    format!("expected a number in [0, 1], found {s}"),
                ));
            }
        }
        let pool = ConstantProductPool::new(u128::from(money), u128::from(tokens), fee)
            .map_err(|e| ("reserve_money", e.to_string()))?;
        Ok(AmmMarket {
            lp: LpShares::new(&pool),
            start: (u128::from(money), u128::from(tokens)),
            quoted: pool.clone(),
            pool,
            max_slippage: spec.max_slippage,
            counters: AmmCounters::default(),
            mempool: (spec.ordering == crate::scenario::Ordering::Mempool).then(Mempool::default),
            executed: Vec::new(),
        })
    }

    /// The mempool, for `ordering = "mempool"`.
    pub fn mempool(&self) -> Option<&Mempool> {
        self.mempool.as_ref()
    }

    /// The swaps of the current step so far, or of the last step once it
    /// is cleared, in execution order (a mempool's execute in the clear
    /// phase).
    pub fn executed(&self) -> &[ExecutedSwap] {
        &self.executed
    }

    /// What agents watching the mempool see of it now (asset `asset`):
    /// `None` without a mempool or without pending orders.
    pub fn mempool_view(&mut self, asset: usize) -> Option<MempoolView> {
        let pool = self.pool.clone();
        let mempool = self.mempool.as_mut().filter(|m| m.has_pending())?;
        Some(MempoolView {
            asset,
            pool,
            queue: mempool.queue().to_vec(),
        })
    }

    /// Takes the bundles placed in `view`, this market's
    /// [`mempool_view`](Self::mempool_view) after the watchers had it.
    pub fn place_bundles(&mut self, view: &MempoolView) {
        if let Some(m) = &mut self.mempool {
            m.take_bundles(view);
        }
    }

    /// The pool's reserves, base units of money and tokens.
    pub fn reserves(&self) -> (u128, u128) {
        (self.pool.reserve_money(), self.pool.reserve_token())
    }

    /// `k` now over `k` at the start of the run: at least 1, as every
    /// swap rounds in the pool's favour and its fee stays in it.
    pub fn k_growth(&self) -> f64 {
        let (money, tokens) = self.reserves();
        (money as f64 / self.start.0 as f64) * (tokens as f64 / self.start.1 as f64)
    }

    /// The pool now.
    pub fn pool(&self) -> &ConstantProductPool {
        &self.pool
    }

    /// The running counters.
    pub fn counters(&self) -> &AmmCounters {
        &self.counters
    }

    /// The liquidity providers' shares of the pool.
    pub fn lp(&self) -> &LpShares {
        &self.lp
    }

    /// `agent` deposits `money` (and the matching tokens) into the pool:
    /// cut to its balance and to what its tokens match (counted as
    /// clipped); rejected where it would mint no share.
    fn add_liquidity(
        &mut self,
        agent: AgentId,
        money: u64,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let overflow = |_| {
            Fault::overflow(
                &format!("a deposit of liquidity (agent {agent})"),
                "money or token",
            )
        };
        let balance = m.ledger.balance(agent);
        let held = u128::from(m.ledger.holding(agent, m.asset));
        let matched = LpShares::money_for_tokens(&self.pool, held).map_err(overflow)?;
        let most = u128::from(balance).min(matched);
        let money = if u128::from(money) > most {
            m.ledger.count_clipped();
            most
        } else {
            u128::from(money)
        };
        let Some(d) = self.lp.quote_deposit(&self.pool, money).map_err(overflow)? else {
            m.ledger.count_rejected();
            return Ok(());
        };
        // both fit: the money is at most the balance, the tokens (rounded
        // up from ⌊held·R_m/R_t⌋·R_t/R_m) at most the holdings
        let (cash, tokens) = (d.money as u64, d.tokens as u64);
        let mut pool = self.pool.clone();
        pool.deposit(d.money, d.tokens).map_err(overflow)?;
        let mut lp = self.lp.clone();
        lp.mint(agent, d.shares).map_err(overflow)?;
        match m.ledger.deposit_to_pool(agent, m.asset, cash, tokens) {
            Ok(()) => {
                self.pool = pool;
                self.lp = lp;
                Ok(())
            }
            Err(LedgerError::Overflow) => Err(overflow(AmmError::Overflow)),
            Err(_) => {
                m.ledger.count_rejected();
                Ok(())
            }
        }
    }

    /// `agent` withdraws `shares` (cut to its own; `u64::MAX`: all).
    fn remove_liquidity(
        &mut self,
        agent: AgentId,
        shares: u64,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let overflow = |_| {
            Fault::overflow(
                &format!("a withdrawal of liquidity (agent {agent})"),
                "money or token",
            )
        };
        let own = self.lp.of(agent);
        if own == 0 || shares == 0 {
            m.ledger.count_rejected();
            return Ok(());
        }
        if u128::from(shares) > own && shares != u64::MAX {
            m.ledger.count_clipped();
        }
        let shares = u128::from(shares).min(own);
        let (money, tokens) = self
            .lp
            .quote_withdrawal(&self.pool, shares)
            .map_err(overflow)?;
        let (Ok(cash), Ok(units)) = (u64::try_from(money), u64::try_from(tokens)) else {
            return Err(overflow(AmmError::Overflow));
        };
        let mut pool = self.pool.clone();
        if pool.withdraw(money, tokens).is_err() {
            // the protocol's shares never leave: unreachable, refused
            m.ledger.count_rejected();
            return Ok(());
        }
        match m.ledger.withdraw_from_pool(agent, m.asset, cash, units) {
            Ok(()) => {
                self.pool = pool;
                self.lp.burn(agent, shares);
                Ok(())
            }
            Err(LedgerError::Overflow) => Err(overflow(AmmError::Overflow)),
            Err(_) => Err(Fault::bug(format!(
                "the ledger refused a withdrawal of ({money}, {tokens}) from a pool of ({}, {})",
                self.pool.reserve_money(),
                self.pool.reserve_token()
            ))),
        }
    }

    /// One swap of `input` base units (money for a buy, tokens for a sell)
    /// by `agent`, already cut to what it has.
    fn swap(
        &mut self,
        agent: AgentId,
        side: Side,
        input: u64,
        max_slippage: Option<f64>,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        if input == 0 {
            m.ledger.count_rejected();
            return Ok(());
        }
        let least = self.least(side, input, max_slippage)?;
        self.settle(agent, side, input, least, m).map(|_| ())
    }

    /// The least output a swap of `input` accepts under `max_slippage`,
    /// from its quote on the pool at the start of the step.
    fn least(&self, side: Side, input: u64, max_slippage: Option<f64>) -> Result<u128, Fault> {
        match max_slippage {
            Some(s) => self
                .quoted
                .quote_out(side, u128::from(input))
                .and_then(|q| min_output(q, s))
                .map_err(|_| Fault::overflow("an AMM quote", "money or token")),
            None => Ok(0),
        }
    }

    /// Executes a swap of `input` (already cut to what the agent has)
    /// that must pay at least `least`: its output, or `None` if it failed
    /// (counted: a slippage failure or an input that buys nothing).
    fn settle(
        &mut self,
        agent: AgentId,
        side: Side,
        input: u64,
        least: u128,
        m: &mut MarketStep<'_>,
    ) -> Result<Option<u64>, Fault> {
        let wide = u128::from(input);
        let mut pool = self.pool.clone();
        let swap = match pool.swap(side, wide, least) {
            Ok(swap) => swap,
            Err(AmmError::Slippage { .. }) => {
                self.counters.slippage_failures += 1;
                m.ledger.count_rejected();
                return Ok(None);
            }
            Err(AmmError::ZeroOutput { .. }) => {
                m.ledger.count_rejected();
                return Ok(None);
            }
            Err(_) => {
                let kind = if side == Side::Buy { "money" } else { "token" };
                return Err(Fault::overflow(
                    &format!("a swap into the pool (agent {agent})"),
                    kind,
                ));
            }
        };
        // The output is below a reserve the ledger holds as a u64 cell or
        // a u128 reserve funded from u64 amounts; the money reserve may
        // pass u64 over a run, so a payout past it is refused.
        let Ok(output) = u64::try_from(swap.output) else {
            return Err(Fault::overflow(
                &format!("a payout of the pool (agent {agent})"),
                "money",
            ));
        };
        let buy = side == Side::Buy;
        match m.ledger.swap_with_pool(agent, m.asset, buy, input, output) {
            Ok(()) => {}
            Err(LedgerError::Overflow) => {
                let kind = if buy { "token" } else { "money" };
                return Err(Fault::overflow(
                    &format!("a swap with the pool (agent {agent})"),
                    kind,
                ));
            }
            Err(e) => {
                // The agent's input was cut to what it has, and the pool
                // and the ledger hold the same reserves: a refusal here is
                // a broken mirror.
                return Err(Fault::bug(format!(
                    "the ledger refused a swap the pool accepted (agent {agent}): {e}"
                )));
            }
        }
        self.pool = pool;
        let (tokens, money) = if buy {
            (output, input)
        } else {
            (input, output)
        };
        self.counters.swaps += 1;
        if buy {
            self.counters.fees_money += swap.fee;
        } else {
            self.counters.fees_token += swap.fee;
        }
        if tokens > 0 {
            self.counters.last_trade = Some(money as f64 / tokens as f64);
        }
        m.stats.add(tokens);
        if m.trades.is_on() {
            m.record(agent, None, TradeKind::Fill, buy, tokens, money);
        }
        self.executed.push(ExecutedSwap {
            step: m.step,
            asset: m.asset as u32,
            agent,
            side,
            input,
            output,
        });
        Ok(Some(output))
    }

    /// What `agent` can put into a swap on `side` that pays `fee`: its
    /// balance less the fee for a buy, its holdings for a sell; `None` if
    /// it cannot pay the fee.
    fn can_put(agent: AgentId, side: Side, fee: u64, m: &MarketStep<'_>) -> Option<u64> {
        let balance = m.ledger.balance(agent).checked_sub(fee)?;
        Some(match side {
            Side::Buy => balance,
            Side::Sell => m.ledger.holding(agent, m.asset),
        })
    }

    /// Burns a priority fee `agent` pays for a swap that executed.
    fn burn_fee(&mut self, agent: AgentId, fee: u64, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        if fee == 0 {
            return Ok(());
        }
        m.ledger.burn_money(agent, fee).map_err(|e| {
            Fault::bug(format!(
                "the ledger refused a priority fee the agent could pay (agent {agent}): {e}"
            ))
        })?;
        self.counters.priority_fees += u128::from(fee);
        Ok(())
    }

    /// Queues a swap in the mempool: cut to what the agent has once its
    /// fee is set apart, with its bound from the step's quote.
    fn enqueue(
        &mut self,
        agent: AgentId,
        side: Side,
        amount: u64,
        bound: Option<f64>,
        fee: u64,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let Some(has) = Self::can_put(agent, side, fee, m) else {
            m.ledger.count_rejected();
            return Ok(());
        };
        let input = if amount > has {
            m.ledger.count_clipped();
            has
        } else {
            amount
        };
        if input == 0 {
            m.ledger.count_rejected();
            return Ok(());
        }
        let least = self.least(side, input, bound)?;
        if let Some(mempool) = &mut self.mempool {
            mempool.push(agent, side, input, least, fee);
        }
        Ok(())
    }

    /// Executes a pending order alone, cut to what its trader has now;
    /// its output, if it executed.
    fn run_order(
        &mut self,
        order: &PendingOrder,
        m: &mut MarketStep<'_>,
    ) -> Result<Option<u64>, Fault> {
        let Some(has) = Self::can_put(order.agent, order.side, order.priority_fee, m) else {
            m.ledger.count_rejected();
            return Ok(None);
        };
        let input = order.input.min(has);
        if input == 0 {
            m.ledger.count_rejected();
            return Ok(None);
        }
        let out = self.settle(order.agent, order.side, input, order.min_output, m)?;
        if out.is_some() {
            self.burn_fee(order.agent, order.priority_fee, m)?;
        }
        Ok(out)
    }

    /// Whether `bundle` around `order` goes through as a whole on the pool
    /// now: the attacker can pay, and the front-run, the target (with its
    /// own bound) and the back-run all execute.
    fn bundle_fits(&self, order: &PendingOrder, bundle: &Bundle, m: &MarketStep<'_>) -> bool {
        let fees = 2 * u128::from(bundle.priority_fee);
        let balance = u128::from(m.ledger.balance(bundle.attacker));
        if balance < fees {
            return false;
        }
        let attacker_has = match order.side {
            Side::Buy => balance - fees,
            Side::Sell => u128::from(m.ledger.holding(bundle.attacker, m.asset)),
        };
        if u128::from(bundle.front_run) > attacker_has {
            return false;
        }
        let Some(has) = Self::can_put(order.agent, order.side, order.priority_fee, m) else {
            return false;
        };
        let victim = order.input.min(has);
        let mut pool = self.pool.clone();
        let Ok(front) = pool.swap(order.side, u128::from(bundle.front_run), 0) else {
            return false;
        };
        victim > 0
            && pool
                .swap(order.side, u128::from(victim), order.min_output)
                .is_ok()
            && pool.swap(order.side.opposite(), front.output, 0).is_ok()
    }

    /// Executes `order` with `bundle` around it if the bundle goes through
    /// as a whole, else `order` alone (the bundle dropped).
    fn run_bundle(
        &mut self,
        order: &PendingOrder,
        bundle: Bundle,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        if !self.bundle_fits(order, &bundle, m) {
            self.counters.bundles_dropped += 1;
            return self.run_order(order, m).map(|_| ());
        }
        let attacker = bundle.attacker;
        let broken = || Fault::bug(format!("a bundle of agent {attacker} that fitted failed"));
        let side = order.side;
        // The target's output at its turn without the front-run.
        let victim_input = Self::can_put(order.agent, side, order.priority_fee, m)
            .map_or(0, |has| order.input.min(has));
        let alone = self
            .pool
            .quote_out(side, u128::from(victim_input))
            .map_err(|_| broken())?;
        let bought = self
            .settle(attacker, side, bundle.front_run, 0, m)?
            .ok_or_else(broken)?;
        self.burn_fee(attacker, bundle.priority_fee, m)?;
        let got = self.run_order(order, m)?.ok_or_else(broken)?;
        let short = alone.checked_sub(u128::from(got)).ok_or_else(broken)?;
        match side {
            Side::Buy => self.counters.victims_short_tokens += short,
            Side::Sell => self.counters.victims_short_money += short,
        }
        let back = self
            .settle(attacker, side.opposite(), bought, 0, m)?
            .ok_or_else(broken)?;
        self.burn_fee(attacker, bundle.priority_fee, m)?;
        self.counters.bundles += 1;
        if let Some(mempool) = &mut self.mempool {
            let flow = mempool.flows.entry(attacker).or_default();
            let (front, bought, back) = (
                u128::from(bundle.front_run),
                u128::from(bought),
                u128::from(back),
            );
            flow.fees_paid += 2 * u128::from(bundle.priority_fee);
            match side {
                Side::Buy => {
                    flow.money_paid += front;
                    flow.tokens_bought += bought;
                    flow.tokens_sold += bought;
                    flow.money_received += back;
                }
                Side::Sell => {
                    flow.tokens_sold += front;
                    flow.money_received += bought;
                    flow.money_paid += bought;
                    flow.tokens_bought += back;
                }
            }
        }
        Ok(())
    }
}

impl Mechanism for AmmMarket {
    fn kind(&self) -> &str {
        "amm"
    }

    fn begin_step(&mut self, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.quoted = self.pool.clone();
        self.executed.clear();
        Ok(())
    }

    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let (side, amount, bound, fee) = match action {
            Action::Buy { spend, .. } => (Side::Buy, spend, self.max_slippage, 0),
            Action::Sell { amount, .. } => (Side::Sell, amount, self.max_slippage, 0),
            Action::Swap {
                side,
                amount,
                max_slippage,
                priority_fee,
                ..
            } => {
                let bound = f64::from(max_slippage.min(FEE_SCALE)) / f64::from(FEE_SCALE);
                (side, amount, Some(bound), priority_fee)
            }
            Action::Hold => return Ok(()),
            Action::AddLiquidity { money, .. } => return self.add_liquidity(agent, money, m),
            Action::RemoveLiquidity { shares, .. } => {
                return self.remove_liquidity(agent, shares, m)
            }
            _ => {
                m.ledger.count_rejected();
                return Ok(());
            }
        };
        if self.mempool.is_some() {
            return self.enqueue(agent, side, amount, bound, fee, m);
        }
        // At most what the agent has: money for a buy, tokens for a sell.
        let has = match side {
            Side::Buy => m.ledger.balance(agent),
            Side::Sell => m.ledger.holding(agent, m.asset),
        };
        let input = if amount > has {
            m.ledger.count_clipped();
            has
        } else {
            amount
        };
        self.swap(agent, side, input, bound, m)
    }

    fn end_step(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        if let Some(mempool) = &mut self.mempool {
            for order in mempool.drain() {
                match order.bundle {
                    Some(bundle) => self.run_bundle(&order, bundle, m)?,
                    None => {
                        self.run_order(&order, m)?;
                    }
                }
            }
        }
        self.check_books(m.ledger.books(m.asset))
            .map_err(Fault::bug)
    }

    /// The pool's reserves are the ledger's reserve and treasury.
    fn check_books(&self, books: &crate::ledger::AssetBooks) -> Result<(), String> {
        if books.reserve != self.pool.reserve_money()
            || u128::from(books.treasury) != self.pool.reserve_token()
        {
            return Err(format!(
                "the pool holds ({}, {}) base units of money and tokens, the ledger ({}, {})",
                self.pool.reserve_money(),
                self.pool.reserve_token(),
                books.reserve,
                books.treasury
            ));
        }
        Ok(())
    }

    /// The spot price `R_m / R_t`.
    fn price(&self, _supply: u64) -> f64 {
        self.pool.spot_price()
    }

    fn observed(&self) -> Observed {
        Observed {
            best_bid: None,
            best_ask: None,
            last_trade: self.counters.last_trade,
        }
    }

    fn quotes(&self) -> Quotes {
        Quotes {
            source: PriceSource::Pool,
            ..Quotes::default()
        }
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        encode_state(&Saved {
            pool: self.pool.clone(),
            counters: self.counters,
            flows: self
                .mempool
                .as_ref()
                .map(|m| m.flows.iter().map(|(&a, &f)| (a, f)).collect())
                .unwrap_or_default(),
            lp: self.lp.clone(),
        })
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
        let saved: Saved = decode_state("amm", state)?;
        if saved.pool.fee() != self.pool.fee() {
            return Err(format!(
                "the saved pool's fee is {} of the input, the scenario's {}",
                saved.pool.fee().fraction(),
                self.pool.fee().fraction()
            ));
        }
        self.quoted = saved.pool.clone();
        self.pool = saved.pool;
        self.counters = saved.counters;
        self.lp = saved.lp;
        if let Some(m) = &mut self.mempool {
            m.flows = saved.flows.into_iter().collect();
        }
        Ok(())
    }

    /// `fee` (in [0, 1)) can be set during a run.
    fn set_param(&mut self, name: &str, value: f64) -> Result<(), String> {
        match name {
            "fee" => {
                let fee = Fee::from_fraction(value).map_err(|e| e.to_string())?;
                let pool = ConstantProductPool::new(
                    self.pool.reserve_money(),
                    self.pool.reserve_token(),
                    fee,
                )
                .map_err(|e| e.to_string())?;
                self.pool = pool;
                Ok(())
            }
            _ => Err(format!(
                "parameter {name:?}: an amm market has one parameter that changes during a run, \"fee\""
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::SCALE;
    use crate::scenario::{AmmCurve, Ordering};

    fn spec(money: f64, tokens: f64, fee: f64, max_slippage: Option<f64>) -> AmmSpec {
        AmmSpec {
            curve: AmmCurve::ConstantProduct,
            reserve_money: money,
            reserve_token: tokens,
            fee,
            max_slippage,
            ordering: Ordering::Arrival,
        }
    }

    #[test]
    fn a_pool_starts_with_its_reserves_in_base_units_and_a_mempool_only_when_asked() {
        let m = AmmMarket::new(&spec(1000.0, 250.5, 0.003, Some(0.5))).unwrap();
        let (money, tokens) = (1000 * u128::from(SCALE), 250_500_000_000);
        assert_eq!(m.start, (money, tokens));
        assert_eq!(m.reserves(), (money, tokens));
        assert_eq!(m.max_slippage, Some(0.5));
        assert_eq!(m.pool.fee().fraction(), 0.003);
        assert!(m.mempool().is_none());
        assert_eq!(m.quotes().source, PriceSource::Pool);
        let with = AmmMarket::new(&AmmSpec {
            ordering: Ordering::Mempool,
            ..spec(1.0, 1.0, 0.0, None)
        })
        .unwrap();
        assert!(with.mempool().is_some());
        // Near the extremes of the range: one base unit, and 1.8e19 of
        // them (u64::MAX itself, 2^64 - 1, is not a double: the nearest,
        // 2^64, is past the range).
        let m = AmmMarket::new(&spec(1e-9, 1.8e10, 0.0, Some(1.0))).unwrap();
        assert_eq!(m.start, (1, 18_000_000_000_000_000_000));
        assert!(AmmMarket::new(&spec(1.0, to_units(u64::MAX), 0.0, None)).is_err());
    }

    /// An AMM names itself `amm` (the summary's `mechanism`), and governance
    /// sets its fee, the one parameter it has, keeping the reserves; any
    /// other name or a fee out of range is refused and changes nothing.
    #[test]
    fn an_amm_is_named_amm_and_its_fee_is_the_parameter_governance_sets() {
        let mut m = AmmMarket::new(&spec(1000.0, 250.0, 0.003, None)).unwrap();
        assert_eq!(m.kind(), "amm");
        let reserves = m.reserves();
        m.set_param("fee", 0.01).unwrap();
        assert_eq!(m.pool.fee().fraction(), 0.01);
        assert_eq!(m.reserves(), reserves);
        let e = m.set_param("spread", 0.01).unwrap_err();
        assert!(e.contains("\"spread\"") && e.contains("\"fee\""), "{e}");
        assert!(m.set_param("fee", 1.5).is_err());
        assert_eq!(m.pool.fee().fraction(), 0.01);
        assert_eq!(m.reserves(), reserves);
    }

    #[test]
    fn a_pool_out_of_range_is_refused_naming_the_field_and_the_range() {
        let range = |x: f64| {
            format!(
                "expected at least 1e-9 (one base unit) and below {:e}, found {x}",
                to_units(u64::MAX)
            )
        };
        // The bound itself (2^64 base units, just past u64::MAX) is out.
        for bad in [0.0, -1.0, 1e-10, f64::NAN, 1e300, to_units(u64::MAX)] {
            let e = AmmMarket::new(&spec(bad, 1.0, 0.0, None)).unwrap_err();
            assert_eq!(e, ("reserve_money", range(bad)));
            let e = AmmMarket::new(&spec(1.0, bad, 0.0, None)).unwrap_err();
            assert_eq!(e, ("reserve_token", range(bad)));
        }
        for bad in [-0.1, 1.5, f64::NAN] {
            let e = AmmMarket::new(&spec(1.0, 1.0, 0.0, Some(bad))).unwrap_err();
            assert_eq!(
                e,
                (
                    "max_slippage",
                    format!("expected a number in [0, 1], found {bad}")
                )
            );
        }
        for bad in [1.0, -0.5] {
            let e = AmmMarket::new(&spec(1.0, 1.0, bad, None)).unwrap_err();
            assert_eq!(e.0, "fee", "{e:?}");
        }
        // The bounds themselves are in the range.
        for ok in [0.0, 1.0] {
            assert!(AmmMarket::new(&spec(1.0, 1.0, 0.0, Some(ok))).is_ok());
        }
    }
}
