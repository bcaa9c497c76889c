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

use serde::{Deserialize, Serialize};

use super::amm::{min_output, AmmError, ConstantProductPool, Fee, FEE_SCALE};
use super::mechanism::{decode_state, encode_state, Fault, MarketStep, Mechanism, Observed};
use super::mechanism::{PriceSource, Quotes};
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
}

/// What an AMM saves in a simulation's state.
#[derive(Serialize, Deserialize)]
struct Saved {
    pool: ConstantProductPool,
    counters: AmmCounters,
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
                    "expected between 1e-9 (one base unit) and {:e}, found {x}",
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
            start: (u128::from(money), u128::from(tokens)),
            quoted: pool.clone(),
            pool,
            max_slippage: spec.max_slippage,
            counters: AmmCounters::default(),
        })
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
        let wide = u128::from(input);
        let least = match max_slippage {
            Some(s) => match self
                .quoted
                .quote_out(side, wide)
                .and_then(|q| min_output(q, s))
            {
                Ok(least) => least,
                Err(_) => return Err(Fault::overflow("an AMM quote", "money or token")),
            },
            None => 0,
        };
        let mut pool = self.pool.clone();
        let swap = match pool.swap(side, wide, least) {
            Ok(swap) => swap,
            Err(AmmError::Slippage { .. }) => {
                self.counters.slippage_failures += 1;
                m.ledger.count_rejected();
                return Ok(());
            }
            Err(AmmError::ZeroOutput { .. }) => {
                m.ledger.count_rejected();
                return Ok(());
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
        Ok(())
    }
}

impl Mechanism for AmmMarket {
    fn kind(&self) -> &str {
        "amm"
    }

    fn begin_step(&mut self, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.quoted = self.pool.clone();
        Ok(())
    }

    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let (side, amount, bound) = match action {
            Action::Buy { spend, .. } => (Side::Buy, spend, self.max_slippage),
            Action::Sell { amount, .. } => (Side::Sell, amount, self.max_slippage),
            Action::Swap {
                side,
                amount,
                max_slippage,
                ..
            } => {
                let bound = f64::from(max_slippage.min(FEE_SCALE)) / f64::from(FEE_SCALE);
                (side, amount, Some(bound))
            }
            Action::Hold => return Ok(()),
            _ => {
                m.ledger.count_rejected();
                return Ok(());
            }
        };
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
        let books = m.ledger.books(m.asset);
        if books.reserve != self.pool.reserve_money()
            || u128::from(books.treasury) != self.pool.reserve_token()
        {
            return Err(Fault::bug(format!(
                "the pool holds ({}, {}) base units of money and tokens, the ledger ({}, {})",
                self.pool.reserve_money(),
                self.pool.reserve_token(),
                books.reserve,
                books.treasury
            )));
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
