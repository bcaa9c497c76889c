//! The price mechanism of an asset, as the engine sees it: the
//! [`Mechanism`] trait, and what every mechanism shares (its price state,
//! quotes, per-step counters, and the [`Fault`] it stops a run with).
//!
//! The engine loops over its assets' mechanisms without knowing their
//! kinds. Each step it calls, for every mechanism:
//!
//! 1. [`Mechanism::begin_step`] — housekeeping at the start of the step
//!    (an order book drops expired orders; a resource decays its stock and
//!    pays arriving production); then, in the govern phase,
//!    [`Mechanism::set_outage`] (a resource sets its capacity);
//! 2. [`Mechanism::execute`] — once per agent action on the asset, in the
//!    step's seeded random order;
//! 3. [`Mechanism::end_step`] — the clearing: a batch market clears the
//!    orders it collected, a resource allocates its capacity, a book
//!    records its quotes.
//!
//! Between steps it reads the price ([`Mechanism::price`],
//! [`Mechanism::mark`]), what agents see ([`Mechanism::observed`]), what is
//! recorded ([`Mechanism::quotes`]), what is locked in open orders
//! ([`Mechanism::for_each_lock`], checked against the ledger's escrow), and
//! the summary metrics a mechanism keeps.
//!
//! Every money and token movement goes through the [`Ledger`]'s explicit
//! operations, so a mechanism cannot break conservation; what it moves it
//! also appends to the step's [`TradeLog`] (one record per agent side).
//!
//! The built-in mechanisms are the bonding curve
//! ([`CurveMarket`](crate::pricing::CurveMarket)), the order book
//! ([`BookMarket`](super::book_market::BookMarket)), the batch markets
//! ([`BatchMarket`](super::batch::BatchMarket): call auction, equilibrium,
//! price adjustment), the posted-price market
//! ([`PostedPriceMarket`](super::posted_market::PostedPriceMarket)) and the resource market
//! ([`ResourceMarket`](crate::resource::market::ResourceMarket)). A user
//! mechanism implements the trait and is registered by name
//! ([`Registry::register_mechanism`](crate::scenario::Registry::register_mechanism)).

use crate::agents::{Action, Side};
use crate::ledger::trades::{TradeKind, TradeLog, TradeRecord};
use crate::ledger::{range_advice, to_base, to_units, AgentId, Ledger, LedgerError, SCALE};
use crate::market::book::Order;
use crate::market::clearing::{
    closed_form_equilibrium, excess_demand, find_equilibrium, money_quantity, Shape,
};
use crate::market::value;
use crate::scenario::{BookSpec, Scenario};

/// What a mechanism works on while a step runs: the step, its asset, the
/// ledger, the step's counters and the trade log.
#[derive(Debug)]
pub struct MarketStep<'a> {
    /// The step being run (from 1).
    pub step: u64,
    /// Index of the mechanism's asset.
    pub asset: usize,
    /// The ledger: every money and token movement goes through it.
    pub ledger: &'a mut Ledger,
    /// The asset's counters for the step (volume and trades).
    pub stats: &'a mut StepStats,
    /// The step's trade log (recording nothing when it is off).
    pub trades: &'a mut TradeLog,
}

impl MarketStep<'_> {
    /// Records a fill of `quantity` base units for `money` base units:
    /// one record for each agent side (`buyer`, `seller`; `None` is the
    /// outside world, which gets no record), each naming the other side as
    /// its counterpart, and counts the trade in the step's volume.
    #[inline]
    pub fn fill(
        &mut self,
        buyer: Option<AgentId>,
        seller: Option<AgentId>,
        quantity: u64,
        money: u64,
    ) {
        self.stats.add(quantity);
        if !self.trades.is_on() {
            return;
        }
        for (agent, counterpart, buy) in [(buyer, seller, true), (seller, buyer, false)] {
            if let Some(agent) = agent {
                self.record(agent, counterpart, TradeKind::Fill, buy, quantity, money);
            }
        }
    }

    /// Appends one record to the trade log (if it is on).
    #[inline]
    pub fn record(
        &mut self,
        agent: AgentId,
        counterpart: Option<AgentId>,
        kind: TradeKind,
        buy: bool,
        quantity: u64,
        money: u64,
    ) {
        self.trades.push(TradeRecord {
            step: self.step,
            agent,
            counterpart,
            asset: self.asset as u32,
            kind,
            buy,
            quantity,
            money: u128::from(money),
        });
    }
}

/// What a market shows agents beside the price (money units).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observed {
    /// The best bid now.
    pub best_bid: Option<f64>,
    /// The best ask now.
    pub best_ask: Option<f64>,
    /// The price of the last trade.
    pub last_trade: Option<f64>,
}

/// A price mechanism: an asset's market, with its state, settling agents'
/// actions through the ledger.
///
/// Only [`kind`](Self::kind), [`execute`](Self::execute) and
/// [`price`](Self::price) are required; every other method has a default
/// for a mechanism that does not have the feature (no start-of-step
/// housekeeping, no clearing, no locks, no parameters, no reserve, no
/// summary metrics). A mechanism that locks money or tokens in the
/// ledger's escrow across steps must report them in
/// [`for_each_lock`](Self::for_each_lock): the engine checks them against
/// the escrow after every step.
pub trait Mechanism: Send + std::fmt::Debug {
    /// The mechanism's kind, as named in scenario files (`order_book`, …).
    fn kind(&self) -> &str;

    /// The start of a step, before the external phase: housekeeping that
    /// may move money (expiring orders, a stock's decay and holding costs,
    /// arriving production).
    fn begin_step(&mut self, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        Ok(())
    }

    /// Executes one action of `agent` on this asset. An action the
    /// mechanism does not take is counted as rejected
    /// ([`Ledger::count_rejected`]); one cut to what the agent has as
    /// clipped. Returns an error only for a settlement past the ledger's
    /// range or refused by it (a bug).
    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault>;

    /// The clearing at the end of the step's trades: a batch market clears
    /// the orders collected, a resource allocates its capacity.
    fn end_step(&mut self, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        Ok(())
    }

    /// Checks the market's own state against the ledger's books of its
    /// asset, as the end of a step leaves them: what
    /// [`Simulation::verify`](crate::Simulation::verify) asks of a state
    /// restored from elsewhere. The default has nothing to check.
    fn check_books(&self, _books: &crate::ledger::AssetBooks) -> Result<(), String> {
        Ok(())
    }

    /// Checks that the market's own clock (an order book's latest step)
    /// is no later than `step`, the step a state restored from elsewhere
    /// ends at: [`Simulation::verify`](crate::Simulation::verify) asks it.
    /// The default has no clock to check.
    fn check_step(&self, _step: u64) -> Result<(), String> {
        Ok(())
    }

    /// The price recorded now (NaN for a step with no price), at `supply`
    /// base units in existence.
    fn price(&self, supply: u64) -> f64;

    /// The price holdings are valued at: the price, or the last finite one
    /// (0 before any).
    fn mark(&self, supply: u64) -> f64 {
        let p = self.price(supply);
        if p.is_finite() {
            p
        } else {
            0.0
        }
    }

    /// What agents see beside the price.
    fn observed(&self) -> Observed {
        Observed::default()
    }

    /// The step's price source and quotes, for the records.
    fn quotes(&self) -> Quotes {
        Quotes::default()
    }

    /// The mechanism's state that changes as a run goes (resting orders,
    /// queues, production in flight, running totals), in any encoding the
    /// mechanism reads back in [`load_state`](Self::load_state), for
    /// [`Simulation::state`](crate::Simulation::state). What follows from
    /// the scenario (its settings) is not part of it. The default, `None`,
    /// is for a mechanism with no such state: one that has some must
    /// implement both, or a restored run will not continue as the original.
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }

    /// Puts back a state saved by [`save_state`](Self::save_state) on a
    /// mechanism built from the same scenario, or says why it cannot
    /// (nothing changes then).
    fn load_state(&mut self, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }

    /// Sets a parameter during a run (a schedule, an event, a controller).
    /// The error says what went wrong (e.g. the parameters there are).
    fn set_param(&mut self, name: &str, _value: f64) -> Result<(), String> {
        Err(format!(
            "parameter {name:?}: only bonding curves have parameters that change during a run \
             (a {} market has none)",
            self.kind()
        ))
    }

    /// Calls `f(agent, money, tokens)` for what the mechanism holds locked
    /// in the ledger's escrow for an agent now, base units.
    fn for_each_lock(&self, _f: &mut dyn FnMut(AgentId, u64, u64)) {}

    /// Calls `f` with every agent the mechanism's own state names (the
    /// owners of its locks, and any other agent it keeps: a resource's
    /// producers owed a delivery). [`Simulation::verify`](crate::Simulation::verify)
    /// checks that each is one of the simulation's agents, so that a state
    /// restored from elsewhere never indexes past them. Defaults to the
    /// owners of [`for_each_lock`](Self::for_each_lock); a mechanism that
    /// keeps agents otherwise overrides it.
    fn for_each_agent(&self, f: &mut dyn FnMut(AgentId)) {
        self.for_each_lock(&mut |agent, _, _| f(agent));
    }

    /// The reserve that must back `supply`, base units (0 unless the
    /// mechanism keeps a reserve); `None` past the ledger's range.
    fn required_reserve(&self, _supply: u64) -> Option<u128> {
        Some(0)
    }

    /// The money that backs the supply going from `from` to `to` (an
    /// airdrop at the start), base units; `None` past the ledger's range.
    fn reserve_between(&self, _from: u64, _to: u64) -> Option<u128> {
        Some(0)
    }

    /// Registers a trader's private value (a buyer's) or cost (a seller's),
    /// money units per token, and the tokens it counts for, for the
    /// realised surplus.
    fn set_private_value(&mut self, _agent: AgentId, _value: &crate::agents::PrivateValue) {}

    /// Forgets every private value registered (before they are registered
    /// again, when a group's policy is replaced before the first step or
    /// the run is reset). A mechanism that keeps the values
    /// [`set_private_value`](Mechanism::set_private_value) gives it must
    /// forget them here, or a replaced policy's values linger in its
    /// realised surplus; the default has none to forget.
    fn clear_private_values(&mut self) {}

    /// The surplus realised so far in trades between traders with private
    /// values, money units.
    fn realised_surplus(&self) -> f64 {
        0.0
    }

    /// The theoretical equilibrium price of the mechanism's exogenous
    /// demand and supply, if known.
    fn exogenous_equilibrium(&self) -> Option<f64> {
        None
    }

    /// How many steps each silent bound changed the path, as
    /// `(exogenous floor, log-ratio cap)`; `None` for a bound the mechanism
    /// does not have.
    fn clamps(&self) -> (Option<u64>, Option<u64>) {
        (None, None)
    }

    /// In the govern phase of every step: the share of the mechanism's
    /// capacity that is out this step (the sum of the step's `outage`
    /// events on the asset, at most 1; 0 without). A resource sets its
    /// capacity for the step here.
    fn set_outage(&mut self, _share: f64, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        Ok(())
    }
}

/// Where a step's recorded price comes from (`price_source` in
/// `assets.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum PriceSource {
    /// The spot price of a bonding curve.
    #[default]
    Curve,
    /// The price before any trade (step 0 of a market).
    Initial,
    /// The last trade of the step.
    Trade,
    /// The midpoint of the best bid and ask (an order book step with no
    /// trade).
    Mid,
    /// The previous step's price (no trade and no two-sided quote, or a call
    /// auction that did not cross).
    Last,
    /// The equilibrium price of the step.
    Equilibrium,
    /// No equilibrium in the price range: no price is recorded.
    NoEquilibrium,
    /// The posted price of a price-adjustment market, after the step's
    /// adjustment; the mean of the prices a posted-price market's sellers
    /// posted.
    Posted,
    /// A resource's fixed price.
    Fixed,
    /// A population game: the step's mean payoff per player.
    Game,
    /// An automated market maker's spot price, money reserve over token
    /// reserve.
    Pool,
}

impl PriceSource {
    /// The name written in `assets.csv`.
    pub fn name(self) -> &'static str {
        match self {
            PriceSource::Curve => "curve",
            PriceSource::Initial => "initial",
            PriceSource::Trade => "trade",
            PriceSource::Mid => "mid",
            PriceSource::Last => "last",
            PriceSource::Equilibrium => "equilibrium",
            PriceSource::NoEquilibrium => "no_equilibrium",
            PriceSource::Posted => "posted",
            PriceSource::Fixed => "fixed",
            PriceSource::Game => "game",
            PriceSource::Pool => "pool",
        }
    }
}

/// What a market-clearing asset records each step, beside the ledger's
/// books.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Quotes {
    /// Where the price comes from.
    pub source: PriceSource,
    /// Best bid and ask after the step, money units.
    pub best_bid: Option<f64>,
    /// See `best_bid`.
    pub best_ask: Option<f64>,
    /// Mean of the remaining quantity at the best bid and the best ask,
    /// token units (none when the book has no side).
    pub depth: Option<f64>,
}

/// Encodes a mechanism's saved state (postcard: compact, exact for every
/// integer and float).
pub(crate) fn encode_state<T: serde::Serialize>(state: &T) -> Option<Vec<u8>> {
    postcard::to_stdvec(state).ok()
}

/// Decodes a state saved with [`encode_state`], naming the mechanism on
/// failure.
pub(crate) fn decode_state<'a, T: serde::Deserialize<'a>>(
    kind: &str,
    bytes: &'a [u8],
) -> Result<T, String> {
    crate::engine::decode_part(bytes, &format!("the saved state of a {kind} market"))
}

/// The price a market shows and records.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct PriceState {
    /// The recorded price (NaN for a step with no equilibrium).
    pub price: f64,
    /// The last finite price, at which holdings are valued.
    pub mark: f64,
    /// The price of the last trade so far.
    pub last_trade: Option<f64>,
    /// The price source and quotes of the step.
    pub quotes: Quotes,
}

impl PriceState {
    /// A price state at `price`, from `source`.
    pub fn new(price: f64, source: PriceSource) -> Self {
        PriceState {
            price,
            mark: if price.is_finite() { price } else { 0.0 },
            last_trade: None,
            quotes: Quotes {
                source,
                ..Quotes::default()
            },
        }
    }

    /// Checks a saved price state for what a run keeps finite: the mark
    /// (a finite price, or 0 before the first), the last trade's price and
    /// the quotes. The price itself may be NaN (a step with no
    /// equilibrium).
    pub(crate) fn check(&self) -> Result<(), String> {
        let finite = |name: &str, v: Option<f64>| match v {
            Some(x) if !x.is_finite() => Err(format!("the saved {name} is {x}, not a price")),
            _ => Ok(()),
        };
        finite("mark", Some(self.mark))?;
        finite("last trade's price", self.last_trade)?;
        finite("best bid", self.quotes.best_bid)?;
        finite("best ask", self.quotes.best_ask)?;
        finite("depth", self.quotes.depth)
    }

    /// Sets the price (and the mark, if finite) and its source.
    pub fn set(&mut self, price: f64, source: PriceSource) {
        self.price = price;
        if price.is_finite() {
            self.mark = price;
        }
        self.quotes.source = source;
    }
}

/// Per-step counters of one asset.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepStats {
    /// Tokens traded, base units: a pool-level sum over the step's trades.
    pub volume: u128,
    /// Trades executed.
    pub trades: u64,
}

impl StepStats {
    /// Counts one trade of `tokens` base units.
    #[inline]
    pub fn add(&mut self, tokens: u64) {
        // Cannot overflow: a step has fewer than 2⁶⁴ trades of at most
        // 2⁶⁴ base units each.
        self.volume += u128::from(tokens);
        self.trades += 1;
    }
}

pub(crate) fn lot_of(lot_size: f64) -> u64 {
    to_base(lot_size).unwrap_or(1).max(1)
}

pub(crate) fn tick_lot(b: &BookSpec) -> (u64, u64) {
    (lot_of(b.tick_size), lot_of(b.lot_size))
}

pub(crate) fn ticks_to_units(ticks: u64, tick: u64) -> f64 {
    (u128::from(ticks) * u128::from(tick)) as f64 / SCALE as f64
}

/// The equilibrium of exogenous demand and supply alone: in closed form for
/// two linear or two constant-elasticity shapes, else by root finding.
pub(crate) fn exogenous_equilibrium(
    demand: Option<Shape>,
    supply: Option<Shape>,
    range: (f64, f64),
) -> Option<f64> {
    let (d, s) = (demand?, supply?);
    if let Some(p) = closed_form_equilibrium(&d, &s) {
        return (p >= range.0 && p <= range.1).then_some(p);
    }
    find_equilibrium(
        |p| excess_demand(p, &[], Some(&d), Some(&s)),
        range.0,
        range.1,
    )
}

pub(crate) fn release_orders(
    ledger: &mut Ledger,
    asset: usize,
    orders: &[Order],
) -> Result<(), Fault> {
    for o in orders {
        let (money, tokens) = split_lock(o.side, o.locked);
        ledger
            .release(o.owner, asset, money, tokens)
            .map_err(|e| Fault::ledger(&format!("releasing the lock of order {}", o.id), e))?;
    }
    Ok(())
}

/// An order's lock as (money, tokens): a buy locks money, a sell tokens.
#[inline]
pub(crate) fn split_lock(side: Side, amount: u64) -> (u64, u64) {
    match side {
        Side::Buy => (amount, 0),
        Side::Sell => (0, amount),
    }
}

/// A limit price in whole ticks, rounded in the trader's favour: a bid
/// down, an ask up.
#[inline]
pub(crate) fn to_ticks(side: Side, price: u64, tick: u64) -> u64 {
    match side {
        Side::Buy => price / tick,
        Side::Sell => price.div_ceil(tick),
    }
}

/// A limit order clipped to what the agent can cover, and what it locks:
/// a buy of `qty` (whole lots) at `price` ticks of `tick` locks its value,
/// cut to the lots the balance pays for; a sell locks its tokens, cut to
/// the whole lots held. Counts a clip. Returns `(qty, locked)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn coverable(
    ledger: &mut Ledger,
    agent: AgentId,
    asset: usize,
    side: Side,
    price: u64,
    tick: u64,
    qty: u64,
    lot: u64,
) -> (u64, u64) {
    let mut qty = qty / lot * lot;
    match side {
        Side::Buy => {
            let balance = ledger.balance(agent);
            if value(price, tick, qty) > u128::from(balance) {
                ledger.count_clipped();
                qty = money_quantity(balance, price, tick, lot).min(qty);
            }
            // Within the balance after the clip: the `min` only makes the
            // conversion provably lossless.
            let locked = value(price, tick, qty).min(u128::from(balance));
            (qty, locked as u64)
        }
        Side::Sell => {
            let held = ledger.holding(agent, asset);
            if qty > held {
                ledger.count_clipped();
                qty = held / lot * lot;
            }
            (qty, qty)
        }
    }
}

/// Why a market could not carry out what it computed: amounts beyond the
/// ledger's range (the scenario's scale, an input error) or a refused
/// settlement (a bug, reported as a broken invariant).
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    message: String,
    /// Past the ledger's range: the kind of amount (`"money"`, `"token"`).
    overflow: Option<&'static str>,
    /// The asset concerned, when known.
    asset: Option<usize>,
}

impl Fault {
    /// The ledger refused `what` with `e`.
    pub fn ledger(what: &str, e: LedgerError) -> Self {
        if e == LedgerError::Overflow {
            return Fault::overflow(what, "money or token");
        }
        Fault {
            message: format!("{what}: {e}"),
            overflow: None,
            asset: None,
        }
    }

    /// `what` would take an amount of `kind` (`"money"`, `"token"`) past
    /// the ledger's range.
    pub fn overflow(what: &str, kind: &'static str) -> Self {
        Fault {
            message: what.to_string(),
            overflow: Some(kind),
            asset: None,
        }
    }

    /// Something that cannot happen did.
    pub fn bug(message: String) -> Self {
        Fault {
            message,
            overflow: None,
            asset: None,
        }
    }

    /// The same fault, on asset `asset`.
    pub fn on(mut self, asset: usize) -> Self {
        self.asset.get_or_insert(asset);
        self
    }

    /// The error a run of `scenario` stops with at `step`.
    pub(crate) fn into_error(self, scenario: &Scenario, step: u64) -> crate::error::Error {
        let origin = &scenario.origin;
        let name = self
            .asset
            .and_then(|j| scenario.assets.get(j))
            .map(|a| &a.name);
        if let Some(kind) = self.overflow {
            let asset = name.map_or(String::new(), |name| format!(", asset {name}"));
            crate::error::Error::usage(format!(
                "{origin}: at step {step}{asset}: {}: an amount exceeds {}",
                self.message,
                range_advice(kind)
            ))
        } else {
            let asset = name.map_or(String::new(), |name| format!("asset {name}: "));
            crate::error::Error::invariant(step, format!("{asset}{}", self.message))
        }
    }
}

/// The gains from trade realised between traders with private values:
/// `Σ (v_buyer − c_seller)·q` over the trades of a valued buyer buying
/// from a valued seller (Gode and Sunder's measure). Each trader's tokens
/// count up to its `units` (a buyer's redemption value holds for the units
/// it wants, a seller's cost for the units it has to sell), so the
/// realised surplus is that of a feasible matching and never exceeds the
/// largest; a trade with a trader without a private value, or against a
/// trader's side, adds nothing.
#[derive(Debug, Default)]
pub(crate) struct Surplus {
    /// The valued traders.
    traders: std::collections::HashMap<AgentId, Trader>,
    /// Realised so far, money units.
    realised: f64,
}

/// A trader with a private value, as [`Surplus`] counts it.
#[derive(Debug, Clone, Copy)]
struct Trader {
    side: Side,
    /// Value (a buyer's) or cost (a seller's), money units per token.
    value: f64,
    /// Tokens it may trade at that value over the run, base units.
    units: u64,
    /// Tokens counted so far, base units (at most `units`).
    used: u64,
}

/// What of a [`Surplus`] changes as a run goes, for a checkpoint: the
/// surplus realised and the tokens counted of each trader that has any
/// (in agent order, so that the bytes repeat).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct SurplusState {
    realised: f64,
    used: Vec<(AgentId, u64)>,
}

impl Surplus {
    /// Registers `agent`'s private value, in place of any earlier one.
    pub fn register(&mut self, agent: AgentId, value: &crate::agents::PrivateValue) {
        self.traders.insert(
            agent,
            Trader {
                side: value.side,
                value: value.value,
                units: value.units,
                used: 0,
            },
        );
    }

    /// Forgets every trader (the surplus realised so far stays).
    pub fn clear(&mut self) {
        self.traders.clear();
    }

    /// The surplus realised so far, money units.
    pub fn realised(&self) -> f64 {
        self.realised
    }

    /// Counts a trade of `tokens` base units from `seller` to `buyer`.
    #[inline]
    pub fn add(&mut self, buyer: AgentId, seller: AgentId, tokens: u64) {
        if !self.traders.is_empty() {
            self.count(buyer, seller, tokens);
        }
    }

    /// [`add`](Self::add) where there are valued traders, out of line so
    /// that a market's fill path stays as LLVM inlined it without them.
    #[inline(never)]
    fn count(&mut self, buyer: AgentId, seller: AgentId, tokens: u64) {
        let (Some(b), Some(s)) = (self.traders.get(&buyer), self.traders.get(&seller)) else {
            return;
        };
        if b.side != Side::Buy || s.side != Side::Sell {
            return;
        }
        let q = tokens.min(b.units - b.used).min(s.units - s.used);
        if q == 0 {
            return;
        }
        self.realised += (b.value - s.value) * to_units(q);
        for agent in [buyer, seller] {
            if let Some(t) = self.traders.get_mut(&agent) {
                t.used += q;
            }
        }
    }

    /// The state to save.
    pub fn state(&self) -> SurplusState {
        let mut used: Vec<(AgentId, u64)> = self
            .traders
            .iter()
            .filter(|(_, t)| t.used > 0)
            .map(|(&a, t)| (a, t.used))
            .collect();
        used.sort_unstable();
        SurplusState {
            realised: self.realised,
            used,
        }
    }

    /// Puts back a saved state, onto the traders registered now; refused
    /// when it counts tokens of an agent without a private value, or more
    /// than a trader's units.
    pub fn restore(&mut self, state: SurplusState) -> Result<(), String> {
        for &(agent, used) in &state.used {
            match self.traders.get(&agent) {
                None => {
                    return Err(format!(
                        "the saved surplus counts trades of agent {agent}, which has no private value"
                    ))
                }
                Some(t) if used > t.units => {
                    return Err(format!(
                        "the saved surplus counts {used} base units of agent {agent}, which trades {} at its private value",
                        t.units
                    ))
                }
                Some(_) => {}
            }
        }
        for t in self.traders.values_mut() {
            t.used = 0;
        }
        for (agent, used) in state.used {
            if let Some(t) = self.traders.get_mut(&agent) {
                t.used = used;
            }
        }
        self.realised = state.realised;
        Ok(())
    }
}

/// What a test needs to run a mechanism by hand: a ledger, the step's
/// counters and a trade log, lent to a [`MarketStep`] of asset 0.
#[cfg(test)]
pub(crate) struct Desk {
    pub ledger: Ledger,
    pub stats: StepStats,
    pub trades: TradeLog,
}

#[cfg(test)]
impl Desk {
    /// A desk over `ledger` with fresh counters and a trade log that records
    /// (`TradeLog::on`) or not.
    pub fn new(ledger: Ledger, record: bool) -> Self {
        let trades = if record {
            TradeLog::on()
        } else {
            TradeLog::off()
        };
        Desk {
            ledger,
            stats: StepStats::default(),
            trades,
        }
    }

    /// The [`MarketStep`] of step `step` on asset 0 over this desk.
    pub fn step(&mut self, step: u64) -> MarketStep<'_> {
        MarketStep {
            step,
            asset: 0,
            ledger: &mut self.ledger,
            stats: &mut self.stats,
            trades: &mut self.trades,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mechanism with only the required methods: it takes nothing and
    /// shows a fixed price.
    #[derive(Debug)]
    struct Still(f64);

    impl Mechanism for Still {
        fn kind(&self) -> &str {
            "still"
        }

        fn execute(&mut self, _: AgentId, _: Action, _: &mut MarketStep<'_>) -> Result<(), Fault> {
            Ok(())
        }

        fn price(&self, _supply: u64) -> f64 {
            self.0
        }
    }

    /// `coverable` cuts a limit order to what its agent covers, counting a
    /// clip only when it asks more: a buy of 10 lots of 1 token at 3 money
    /// a token (30 money) with 31, 30 and 29 money (the last clipped to the
    /// 9 lots 29 pays for, 27 locked); a sell of 10 with 11, 10 and 9.5
    /// tokens (the last clipped to 9 whole lots). Quantities in base units.
    #[test]
    fn a_limit_order_is_cut_to_what_its_agent_covers_and_counted_only_then() {
        use crate::ledger::SCALE;
        let (tick, lot) = (SCALE / 100, SCALE); // 0.01 a tick, 1-token lots
        let (price, qty) = (300, 10 * SCALE); // 3.00 a token
        let order = |side, balance: u64, held: u64| {
            let mut ledger = Ledger::new(1, 1);
            ledger.fund_balance(0, balance).unwrap();
            ledger.fund_supply(0, Some(0), held, 0).unwrap();
            let got = coverable(&mut ledger, 0, 0, side, price, tick, qty, lot);
            (got.0 / SCALE, got.1, ledger.counts().clipped)
        };
        assert_eq!(order(Side::Buy, 31 * SCALE, 0), (10, 30 * SCALE, 0));
        assert_eq!(order(Side::Buy, 30 * SCALE, 0), (10, 30 * SCALE, 0));
        assert_eq!(order(Side::Buy, 29 * SCALE, 0), (9, 27 * SCALE, 1));
        assert_eq!(order(Side::Sell, 0, 11 * SCALE), (10, 10 * SCALE, 0));
        assert_eq!(order(Side::Sell, 0, 10 * SCALE), (10, 10 * SCALE, 0));
        assert_eq!(order(Side::Sell, 0, 19 * SCALE / 2), (9, 9 * SCALE, 1));
        // a book's tick and lot in base units, one at the least
        let book = |tick_size, lot_size| crate::scenario::BookSpec {
            tick_size,
            lot_size,
            initial_price: 1.0,
        };
        assert_eq!(tick_lot(&book(0.01, 0.5)), (SCALE / 100, SCALE / 2));
        assert_eq!(tick_lot(&book(1e-12, 2.0)), (1, 2 * SCALE));
    }

    #[test]
    fn a_mechanism_without_the_features_marks_at_its_last_finite_price_and_has_no_parameters() {
        for p in [2.5, 0.0, -1.0, f64::MAX] {
            assert_eq!(Still(p).mark(7), p);
        }
        for p in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(Still(p).mark(7), 0.0, "{p}");
        }
        let mut m = Still(1.0);
        assert_eq!(
            m.set_param("k", 2.0).unwrap_err(),
            "parameter \"k\": only bonding curves have parameters that change during a run \
             (a still market has none)"
        );
        assert_eq!(m.observed(), Observed::default());
        assert_eq!(m.quotes().source, PriceSource::Curve);
        assert_eq!((m.save_state(), m.load_state(b"x")), (None, Ok(())));
        assert_eq!(m.required_reserve(u64::MAX), Some(0));
        assert_eq!(m.reserve_between(0, u64::MAX), Some(0));
        m.set_private_value(
            0,
            &crate::agents::PrivateValue {
                asset: 0,
                side: Side::Buy,
                value: 3.0,
                units: SCALE,
            },
        );
        assert_eq!(m.realised_surplus(), 0.0);
        assert_eq!(m.exogenous_equilibrium(), None);
        assert_eq!(m.clamps(), (None, None), "no silent bound, so no count");
        let mut locks = 0;
        m.for_each_lock(&mut |_, _, _| locks += 1);
        assert_eq!(locks, 0);
    }

    /// Registers `(agent, side, value, whole units)` on a fresh surplus.
    fn surplus_of(traders: &[(AgentId, Side, f64, f64)]) -> Surplus {
        let mut s = Surplus::default();
        for &(agent, side, value, units) in traders {
            let units = to_base(units).expect("in range");
            let v = crate::agents::PrivateValue {
                asset: 0,
                side,
                value,
                units,
            };
            s.register(agent, &v);
        }
        s
    }

    /// The realised surplus counts a valued buyer buying from a valued
    /// seller, each up to its units: buyer 0 (value 10, 2 units), sellers
    /// 1 (cost 4, 3 units) and 2 (cost 6, 1 unit), buyer 3 (value 8, 5
    /// units), agent 4 without a value. The largest surplus is 18 (0 buys
    /// 2 of 1's: 12; 3 buys 1's last and 2's unit: 4 + 2).
    #[test]
    fn the_realised_surplus_counts_each_trader_up_to_its_units_and_on_its_side() {
        let traders = [
            (0, Side::Buy, 10.0, 2.0),
            (1, Side::Sell, 4.0, 3.0),
            (2, Side::Sell, 6.0, 1.0),
            (3, Side::Buy, 8.0, 5.0),
        ];
        let mut s = surplus_of(&traders);
        let half = SCALE / 2;
        s.add(0, 1, 3 * half); // (10 − 4) · 1.5 = 9
        assert_eq!(s.realised(), 9.0);
        s.add(0, 2, SCALE); // 0 has half a unit left: (10 − 6) · 0.5 = 2
        assert_eq!(s.realised(), 11.0);
        s.add(0, 1, SCALE); // 0 has bought its units
        s.add(1, 3, SCALE); // a seller buying, a buyer selling
        s.add(3, 4, SCALE); // 4 has no value
        s.add(3, 3, SCALE); // with itself
        assert_eq!(s.realised(), 11.0);
        let saved = s.state();
        assert_eq!(
            saved.used,
            vec![(0, 2 * SCALE), (1, 3 * half), (2, half)],
            "agent order, counted tokens only"
        );
        s.add(3, 1, 3 * SCALE); // 1 has 1.5 units left: (8 − 4) · 1.5 = 6
        assert_eq!(s.realised(), 17.0);
        s.add(3, 2, SCALE); // 2 has half a unit left: (8 − 6) · 0.5 = 1
        assert_eq!(s.realised(), 18.0, "the largest surplus, and no more");
        s.add(3, 1, SCALE);
        s.add(3, 2, SCALE);
        assert_eq!(s.realised(), 18.0);

        // Put back on the same traders, the saved state goes on as the
        // original did.
        let mut back = surplus_of(&traders);
        back.restore(saved.clone()).unwrap();
        assert_eq!(back.realised(), 11.0);
        back.add(3, 1, 3 * SCALE);
        back.add(3, 2, SCALE);
        assert_eq!((back.realised(), back.state()), (18.0, s.state()));

        // Refused: an agent without a value, more than a trader's units.
        let mut other = surplus_of(&traders[1..]);
        let e = other.restore(saved.clone()).unwrap_err();
        assert!(e.contains("agent 0, which has no private value"), "{e}");
        let mut fewer = surplus_of(&[
            (0, Side::Buy, 10.0, 1.0),
            (1, Side::Sell, 4.0, 3.0),
            (2, Side::Sell, 6.0, 1.0),
        ]);
        let e = fewer.restore(saved.clone()).unwrap_err();
        assert!(
            e.contains("2000000000 base units of agent 0, which trades 1000000000"),
            "{e}"
        );
        assert_eq!(fewer.realised(), 0.0, "nothing changed");

        // Forgetting the traders keeps what was realised.
        s.clear();
        s.add(0, 1, SCALE);
        assert_eq!((s.realised(), s.state().used), (18.0, Vec::new()));
    }

    proptest::proptest! {
        /// Whatever trades happen — between valued traders past their
        /// units, against their sides, with traders without a value — the
        /// realised surplus is that of a feasible matching of buyers' units
        /// to sellers' units, so it never exceeds the largest: the highest
        /// values matched with the lowest costs, unit by unit, while value
        /// exceeds cost (integral capacities: a matching in half tokens
        /// does no better). Agents 0–3 buy, 4–7 sell, 8 has no value.
        #[test]
        fn the_realised_surplus_never_exceeds_the_largest(
            values in proptest::collection::vec((0u32..20, 1u64..4), 8),
            trades in proptest::collection::vec((0u32..9, 0u32..9, 1u64..7), 0..24),
        ) {
            let traders: Vec<(AgentId, Side, f64, f64)> = values
                .iter()
                .enumerate()
                .map(|(a, &(v, units))| {
                    let side = if a < 4 { Side::Buy } else { Side::Sell };
                    (a as AgentId, side, f64::from(v), units as f64)
                })
                .collect();
            let mut s = surplus_of(&traders);
            for &(buyer, seller, halves) in &trades {
                s.add(buyer, seller, halves * SCALE / 2);
            }
            let unit_values = |side: Side| {
                let mut v: Vec<f64> = traders
                    .iter()
                    .filter(|t| t.1 == side)
                    .flat_map(|t| std::iter::repeat_n(t.2, t.3 as usize))
                    .collect();
                v.sort_by(f64::total_cmp);
                v
            };
            let mut buyers = unit_values(Side::Buy);
            buyers.reverse();
            let sellers = unit_values(Side::Sell);
            let largest: f64 = buyers
                .iter()
                .zip(&sellers)
                .take_while(|(v, c)| v > c)
                .map(|(v, c)| v - c)
                .sum();
            proptest::prop_assert!(s.realised() <= largest, "{} > {largest}", s.realised());
            // and every trader's count stays within its units
            for (agent, used) in s.state().used {
                proptest::prop_assert!(used <= values[agent as usize].1 * SCALE);
            }
        }
    }

    #[test]
    fn a_fault_names_its_asset_and_says_whether_it_is_past_the_range_or_a_bug() {
        let scenario = crate::Scenario::from_toml_str(
            "[simulation]\nsteps = 1\nseed = 1\n[[assets]]\nname = \"A\"\n\
             pricing = { kind = \"bonding_curve\", curve = \"linear\", m = 1.0, b = 1.0 }\n\
             [[assets]]\nname = \"B\"\n\
             pricing = { kind = \"bonding_curve\", curve = \"linear\", m = 1.0, b = 1.0 }\n",
            "f.toml",
        )
        .unwrap();
        // The ledger's overflow is an amount past the range, of either kind.
        let f = Fault::ledger("paying", LedgerError::Overflow);
        assert_eq!(f, Fault::overflow("paying", "money or token"));
        // Any other refusal is a bug: the message and the ledger's reason.
        let f = Fault::ledger("paying", LedgerError::InsufficientReserve).on(1);
        let e = f.clone().into_error(&scenario, 4).to_string();
        assert_eq!(
            e,
            "invariant violated after step 4: asset B: paying: reserve too low"
        );
        // The first asset named is kept; past the scenario's assets, none.
        assert_eq!(f.clone().on(0), f);
        let e = Fault::bug("x".into()).on(9).into_error(&scenario, 1);
        assert_eq!(e.to_string(), "invariant violated after step 1: x");
        // Past the range: a usage error naming the file, step and asset.
        let e = Fault::overflow("a swap", "money")
            .on(0)
            .into_error(&scenario, 2);
        assert_eq!(
            e.to_string(),
            format!(
                "f.toml: at step 2, asset A: a swap: an amount exceeds {}",
                range_advice("money")
            )
        );
        let e = Fault::overflow("a swap", "token").into_error(&scenario, 2);
        assert_eq!(
            e.to_string(),
            format!(
                "f.toml: at step 2: a swap: an amount exceeds {}",
                range_advice("token")
            )
        );
    }
}
