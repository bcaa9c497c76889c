//! The markets of a run: each asset's pricing mechanism with its state, and
//! how actions execute against it.
//!
//! A bonding curve settles each trade against its reserve at once. An order
//! book matches each order as it arrives (a continuous double auction), in
//! the step's shuffled order. The batch markets (call auction, equilibrium,
//! price adjustment) collect the step's orders and clear them together
//! after every agent has acted. Every order locks the money or tokens it
//! could spend (in the ledger's escrow), fills settle from the locks, and
//! what a fill did not need is released, so nothing is ever over-spent.

use super::resources::ResourceMarket;
use crate::agents::{Action, Side};
use crate::ledger::{
    range_advice, to_base, to_units, wide_to_units, AgentId, Ledger, LedgerError, SCALE,
};
use crate::market::book::{Fill, Order, OrderBook, OrderId};
use crate::market::clearing::{
    call_auction, closed_form_equilibrium, excess_demand, find_equilibrium, money_quantity, ration,
    Amount, BatchOrder, ScheduleAmount, ScheduleEntry, Shape,
};
use crate::market::{pairs_in_order, value};
use crate::pricing::CurveMarket;
use crate::scenario::{AdjustmentSpec, BookSpec, EquilibriumSpec, PricingSpec, Scenario};

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
    /// adjustment.
    Posted,
    /// A resource's fixed price.
    Fixed,
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
        }
    }
}

/// What a market-clearing asset records each step, beside the ledger's
/// books.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Quotes {
    pub source: PriceSource,
    /// Best bid and ask after the step, money units.
    pub best_bid: Option<f64>,
    pub best_ask: Option<f64>,
    /// Mean of the remaining quantity at the best bid and the best ask,
    /// token units (none when the book has no side).
    pub depth: Option<f64>,
}

/// An asset's pricing mechanism and its state.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Market {
    Curve(CurveMarket),
    Book(BookMarket),
    Batch(BatchMarket),
    Resource(ResourceMarket),
}

/// A continuous double auction.
#[derive(Debug)]
pub(crate) struct BookMarket {
    book: OrderBook,
    /// Money base units per whole token per tick.
    tick: u64,
    /// Each agent's open bid and ask on this book (0: none). An entry may
    /// name an order that has since filled; cancelling it is then a no-op.
    open: Vec<[OrderId; 2]>,
    fills: Vec<Fill>,
    cancelled: Vec<Order>,
    /// Whether a trade happened in the current step.
    traded: bool,
    state: PriceState,
    surplus: Surplus,
}

/// A market cleared once a step from the orders collected through it.
#[derive(Debug)]
pub(crate) struct BatchMarket {
    kind: BatchKind,
    lot: u64,
    orders: Vec<Pending>,
    state: PriceState,
    surplus: Surplus,
    clamps: Clamps,
}

/// How many steps a bound changed a market's path, so that none binds
/// silently: a linear exogenous demand `a − b·P` or supply `c + d·P` that
/// is negative at the step's price counts as 0, and the logarithmic rule
/// caps `|ln(D/O)|` at `ln 10⁶`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Clamps {
    /// Steps at whose clearing or posted price a linear exogenous demand or
    /// supply was floored at 0.
    pub exogenous_floor: u64,
    /// Steps whose `|ln(D/O)|` the logarithmic rule capped.
    pub log_ratio_cap: u64,
}

/// Whether a linear exogenous demand or supply is floored at 0 at `p`.
fn floored(demand: Option<Shape>, supply: Option<Shape>, p: f64) -> bool {
    demand.is_some_and(|d| d.demand_floored_at(p)) || supply.is_some_and(|s| s.supply_floored_at(p))
}

/// Whether a shape is linear (the only kind a floor can bind on).
fn linear(shape: Option<Shape>) -> bool {
    matches!(shape, Some(Shape::Linear { .. }))
}

/// The gains from trade realised between traders with private values:
/// `Σ (v_buyer − c_seller)·q` over their trades with each other (Gode and
/// Sunder's measure; a trade with a trader without a private value adds
/// nothing).
#[derive(Debug, Default)]
struct Surplus {
    /// Private values (buyers) and costs (sellers), money units per token.
    values: std::collections::HashMap<AgentId, f64>,
    /// Realised so far, money units.
    realised: f64,
}

impl Surplus {
    #[inline]
    fn add(&mut self, buyer: AgentId, seller: AgentId, tokens: u64) {
        if self.values.is_empty() {
            return;
        }
        if let (Some(v), Some(c)) = (self.values.get(&buyer), self.values.get(&seller)) {
            self.realised += (v - c) * to_units(tokens);
        }
    }
}

#[derive(Debug)]
enum BatchKind {
    Auction { tick: u64 },
    Equilibrium(EquilibriumSpec),
    Adjustment(AdjustmentSpec),
}

/// A collected order of a batch market, with what it locked.
#[derive(Debug, Clone, Copy)]
struct Pending {
    agent: AgentId,
    side: Side,
    /// Limit price, money base units per whole token (None: market order).
    limit: Option<u64>,
    amount: Amount,
    /// Money (buys) or tokens (sells) locked for it.
    locked: u64,
    /// Money paid or tokens delivered so far.
    used: u64,
}

/// The price a market shows and records.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PriceState {
    /// The recorded price (NaN for a step with no equilibrium).
    pub price: f64,
    /// The last finite price, at which holdings are valued.
    pub mark: f64,
    /// The price of the last trade so far.
    pub last_trade: Option<f64>,
    pub quotes: Quotes,
}

impl PriceState {
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
pub(crate) struct StepStats {
    /// Tokens traded, base units: a pool-level sum over the step's trades.
    pub volume: u128,
    pub trades: u64,
}

impl StepStats {
    #[inline]
    pub fn add(&mut self, tokens: u64) {
        // Cannot overflow: a step has fewer than 2⁶⁴ trades of at most
        // 2⁶⁴ base units each.
        self.volume += u128::from(tokens);
        self.trades += 1;
    }
}

impl Market {
    /// The mechanism of `spec`, before any trade.
    pub fn new(spec: &PricingSpec) -> Market {
        match spec {
            PricingSpec::BondingCurve { curve, fee } => {
                Market::Curve(CurveMarket::new(curve.clone(), *fee))
            }
            PricingSpec::OrderBook(b) => {
                let (tick, lot) = tick_lot(b);
                Market::Book(BookMarket {
                    book: OrderBook::new(tick, lot),
                    tick,
                    open: Vec::new(),
                    fills: Vec::new(),
                    cancelled: Vec::new(),
                    traded: false,
                    state: PriceState::new(b.initial_price, PriceSource::Initial),
                    surplus: Surplus::default(),
                })
            }
            PricingSpec::CallAuction(b) => {
                let (tick, lot) = tick_lot(b);
                Market::Batch(BatchMarket {
                    kind: BatchKind::Auction { tick },
                    lot,
                    orders: Vec::new(),
                    state: PriceState::new(b.initial_price, PriceSource::Initial),
                    surplus: Surplus::default(),
                    clamps: Clamps::default(),
                })
            }
            PricingSpec::Equilibrium(e) => {
                let price = e
                    .initial_price
                    .or_else(|| exogenous_equilibrium(e.demand, e.supply, e.price_range))
                    .unwrap_or(f64::NAN);
                let source = if price.is_finite() {
                    PriceSource::Initial
                } else {
                    PriceSource::NoEquilibrium
                };
                Market::Batch(BatchMarket {
                    kind: BatchKind::Equilibrium(e.clone()),
                    lot: lot_of(e.lot_size),
                    orders: Vec::new(),
                    state: PriceState::new(price, source),
                    surplus: Surplus::default(),
                    clamps: Clamps::default(),
                })
            }
            PricingSpec::Resource(r) => Market::Resource(ResourceMarket::new(r)),
            PricingSpec::PriceAdjustment(a) => Market::Batch(BatchMarket {
                kind: BatchKind::Adjustment(a.clone()),
                lot: lot_of(a.lot_size),
                orders: Vec::new(),
                state: PriceState::new(a.initial_price, PriceSource::Initial),
                surplus: Surplus::default(),
                clamps: Clamps::default(),
            }),
        }
    }

    /// The curve, for a bonding-curve asset.
    pub fn curve(&self) -> Option<&CurveMarket> {
        match self {
            Market::Curve(c) => Some(c),
            _ => None,
        }
    }

    fn state(&self) -> Option<&PriceState> {
        match self {
            Market::Curve(_) => None,
            Market::Book(b) => Some(&b.state),
            Market::Batch(b) => Some(&b.state),
            Market::Resource(r) => Some(&r.state),
        }
    }

    /// The resource, for a resource asset.
    pub fn resource(&self) -> Option<&ResourceMarket> {
        match self {
            Market::Resource(r) => Some(r),
            _ => None,
        }
    }

    /// The resource, mutably.
    pub fn resource_mut(&mut self) -> Option<&mut ResourceMarket> {
        match self {
            Market::Resource(r) => Some(r),
            _ => None,
        }
    }

    /// Sets the share of a resource's capacity that is out this step.
    pub fn set_outage(&mut self, share: f64) {
        if let Market::Resource(r) = self {
            r.outage = share;
        }
    }

    /// The price recorded now (NaN for a step with no equilibrium).
    #[inline]
    pub fn price(&self, supply: u64) -> f64 {
        match self {
            Market::Curve(c) => c.spot_price(supply),
            other => other.state().map_or(f64::NAN, |s| s.price),
        }
    }

    /// The price holdings are valued at: the recorded price, or the last
    /// finite one.
    #[inline]
    pub fn mark(&self, supply: u64) -> f64 {
        match self {
            Market::Curve(c) => c.spot_price(supply),
            other => other.state().map_or(0.0, |s| s.mark),
        }
    }

    /// The reserve that must back `supply` (0 unless a curve); `None` past
    /// the ledger's range.
    pub fn required_reserve(&self, supply: u64) -> Option<u128> {
        match self {
            Market::Curve(c) => c.required_reserve(supply),
            _ => Some(0),
        }
    }

    /// The money that backs the supply going from `from` to `to` (0 unless
    /// a curve): `R(to) − R(from)`, at least 0 (an `R` not monotone to the
    /// last ulp asks nothing for the step); `None` past the ledger's range.
    pub fn reserve_between(&self, from: u64, to: u64) -> Option<u128> {
        match self {
            Market::Curve(c) => {
                let (low, high) = (c.reserve_function(from)?, c.reserve_function(to)?);
                // A clamp at zero (see above), not an overflow guard.
                Some(high.saturating_sub(low))
            }
            _ => Some(0),
        }
    }

    /// What the market shows agents beside the price: best quotes and the
    /// last trade, money units.
    pub fn observed(&self) -> (Option<f64>, Option<f64>, Option<f64>) {
        match self {
            Market::Curve(_) => (None, None, None),
            Market::Book(b) => (
                b.book.best_bid().map(|p| ticks_to_units(p, b.tick)),
                b.book.best_ask().map(|p| ticks_to_units(p, b.tick)),
                b.state.last_trade,
            ),
            Market::Batch(b) => (None, None, b.state.last_trade),
            Market::Resource(r) => (None, None, r.state.last_trade),
        }
    }

    /// The step's price source and quotes.
    pub fn quotes(&self) -> Quotes {
        self.state().map_or_else(Quotes::default, |s| s.quotes)
    }

    /// The curve with a parameter changed (curves only), a copy: the engine
    /// puts it in place once the reserve can back the supply under it.
    pub fn with_param(&self, name: &str, value: f64) -> std::result::Result<CurveMarket, String> {
        match self {
            Market::Curve(c) => {
                let mut changed = c.clone();
                changed.set_param(name, value).map_err(|e| e.to_string())?;
                Ok(changed)
            }
            _ => Err(format!(
                "parameter {name:?}: only bonding curves have parameters that change during a run"
            )),
        }
    }

    /// Whether one agent's trade can change another agent's account.
    pub fn is_curve(&self) -> bool {
        matches!(self, Market::Curve(_))
    }

    /// The start of a step: a book drops expired orders and releases their
    /// locks; every market forgets the previous step's trades.
    pub fn begin_step(
        &mut self,
        step: u64,
        asset: usize,
        ledger: &mut Ledger,
    ) -> Result<(), Fault> {
        match self {
            Market::Curve(_) => Ok(()),
            Market::Book(b) => {
                b.traded = false;
                b.book.expire(step, &mut b.cancelled);
                let r = release_orders(ledger, asset, &b.cancelled);
                b.cancelled.clear();
                r
            }
            Market::Batch(b) => {
                b.orders.clear();
                Ok(())
            }
            Market::Resource(r) => r.begin_step(step, asset, ledger),
        }
    }

    /// The end of a step: a batch market clears the collected orders; a
    /// book records its quotes and price.
    pub fn end_step(
        &mut self,
        asset: usize,
        ledger: &mut Ledger,
        stats: &mut StepStats,
    ) -> Result<(), Fault> {
        match self {
            Market::Curve(_) => Ok(()),
            Market::Book(b) => {
                b.close_step();
                Ok(())
            }
            Market::Batch(b) => b.clear(asset, ledger, stats),
            Market::Resource(r) => r.end_step(asset, ledger, stats),
        }
    }

    /// Registers a trader's private value (a buyer's) or cost (a seller's),
    /// money units per token, for the realised surplus.
    pub fn set_private_value(&mut self, agent: AgentId, value: f64) {
        match self {
            Market::Book(b) => b.surplus.values.insert(agent, value),
            Market::Batch(b) => b.surplus.values.insert(agent, value),
            _ => None,
        };
    }

    /// The surplus realised so far in trades between traders with private
    /// values, money units (0 for curves and resources).
    pub fn realised_surplus(&self) -> f64 {
        match self {
            Market::Book(b) => b.surplus.realised,
            Market::Batch(b) => b.surplus.realised,
            _ => 0.0,
        }
    }

    /// The known theoretical equilibrium price of the exogenous demand and
    /// supply, if both are given and cross in range.
    pub fn exogenous_equilibrium(&self) -> Option<f64> {
        match self {
            Market::Batch(BatchMarket {
                kind: BatchKind::Equilibrium(e),
                ..
            }) => exogenous_equilibrium(e.demand, e.supply, e.price_range),
            Market::Batch(BatchMarket {
                kind: BatchKind::Adjustment(a),
                ..
            }) => exogenous_equilibrium(a.demand, a.supply, (a.rule.min_price, 1e12)),
            _ => None,
        }
    }

    /// Calls `f(agent, money, tokens)` for what the market holds locked for
    /// an agent now (base units): an order book's resting orders, a batch
    /// market's orders collected and not yet cleared. A resource's requests
    /// lock only within a step (released when it ends), and a curve locks
    /// nothing. The engine checks the totals against the ledger's escrow.
    pub fn for_each_lock(&self, mut f: impl FnMut(AgentId, u64, u64)) {
        match self {
            Market::Curve(_) | Market::Resource(_) => {}
            Market::Book(b) => {
                for o in b.book.orders() {
                    let (money, tokens) = split_lock(o.side, o.locked);
                    f(o.owner, money, tokens);
                }
            }
            Market::Batch(b) => {
                for o in &b.orders {
                    let (money, tokens) = split_lock(o.side, o.locked.saturating_sub(o.used));
                    f(o.agent, money, tokens);
                }
            }
        }
    }

    /// How many steps each silent bound changed the path, as
    /// `(exogenous floor, log-ratio cap)`; `None` for a bound the market
    /// does not have (no linear exogenous demand or supply; no logarithmic
    /// rule).
    pub fn clamps(&self) -> (Option<u64>, Option<u64>) {
        let logarithmic = |rule: &crate::market::clearing::PriceRule| {
            matches!(
                rule.adjustment,
                crate::market::clearing::Adjustment::Logarithmic { .. }
            )
        };
        match self {
            Market::Batch(b) => {
                let (demand, supply, log) = match &b.kind {
                    BatchKind::Auction { .. } => (None, None, false),
                    BatchKind::Equilibrium(e) => (e.demand, e.supply, false),
                    BatchKind::Adjustment(a) => (a.demand, a.supply, logarithmic(&a.rule)),
                };
                (
                    (linear(demand) || linear(supply)).then_some(b.clamps.exogenous_floor),
                    log.then_some(b.clamps.log_ratio_cap),
                )
            }
            Market::Resource(r) => match &r.spec.pricing {
                crate::scenario::ResourcePricing::Adjustment { rule, .. } if logarithmic(rule) => {
                    (None, Some(r.log_ratio_capped))
                }
                _ => (None, None),
            },
            Market::Curve(_) | Market::Book(_) => (None, None),
        }
    }

    /// Executes a non-curve action of `agent` (curves are settled by the
    /// engine's own fast path). Returns an error only when the ledger
    /// refuses a settlement the market computed, which is a bug.
    pub fn execute(
        &mut self,
        step: u64,
        agent: AgentId,
        action: Action,
        asset: usize,
        ledger: &mut Ledger,
        stats: &mut StepStats,
    ) -> Result<(), Fault> {
        match self {
            Market::Curve(_) => Ok(()),
            Market::Book(b) => b.execute(step, agent, action, asset, ledger, stats),
            Market::Batch(b) => {
                b.collect(agent, action, asset, ledger);
                Ok(())
            }
            Market::Resource(r) => r.execute(step, agent, action, asset, ledger),
        }
    }
}

fn lot_of(lot_size: f64) -> u64 {
    to_base(lot_size).unwrap_or(1).max(1)
}

fn tick_lot(b: &BookSpec) -> (u64, u64) {
    (lot_of(b.tick_size), lot_of(b.lot_size))
}

fn ticks_to_units(ticks: u64, tick: u64) -> f64 {
    (u128::from(ticks) * u128::from(tick)) as f64 / SCALE as f64
}

/// The equilibrium of exogenous demand and supply alone: in closed form for
/// two linear or two constant-elasticity shapes, else by root finding.
fn exogenous_equilibrium(
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

fn release_orders(ledger: &mut Ledger, asset: usize, orders: &[Order]) -> Result<(), Fault> {
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
fn split_lock(side: Side, amount: u64) -> (u64, u64) {
    match side {
        Side::Buy => (amount, 0),
        Side::Sell => (0, amount),
    }
}

/// A limit price in whole ticks, rounded in the trader's favour: a bid
/// down, an ask up.
#[inline]
fn to_ticks(side: Side, price: u64, tick: u64) -> u64 {
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
fn coverable(
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
pub(crate) struct Fault {
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
    pub fn into_error(self, scenario: &Scenario, step: u64) -> crate::error::Error {
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

impl BookMarket {
    fn slot(&mut self, agent: AgentId) -> &mut [OrderId; 2] {
        let i = agent as usize;
        if self.open.len() <= i {
            self.open.resize(i + 1, [0, 0]);
        }
        &mut self.open[i]
    }

    /// Cancels the agent's open orders and releases their locks.
    fn cancel_own(
        &mut self,
        agent: AgentId,
        asset: usize,
        ledger: &mut Ledger,
    ) -> Result<(), Fault> {
        let ids = std::mem::take(self.slot(agent));
        for id in ids {
            if id == 0 {
                continue;
            }
            if let Some(o) = self.book.cancel(id) {
                release_orders(ledger, asset, &[o])?;
            }
        }
        Ok(())
    }

    fn execute(
        &mut self,
        step: u64,
        agent: AgentId,
        action: Action,
        asset: usize,
        ledger: &mut Ledger,
        stats: &mut StepStats,
    ) -> Result<(), Fault> {
        match action {
            Action::Hold => return Ok(()),
            Action::Request { .. } | Action::Produce { .. } => {
                ledger.count_rejected();
                return Ok(());
            }
            Action::Buy { spend, .. } => {
                let balance = ledger.balance(agent);
                if spend > balance {
                    ledger.count_clipped();
                }
                let budget = spend.min(balance);
                let out = self.book.market_buy_spending(
                    agent,
                    budget,
                    &mut self.fills,
                    &mut self.cancelled,
                );
                if out.filled == 0 {
                    ledger.count_rejected();
                }
            }
            Action::Sell { amount, .. } => {
                let held = ledger.holding(agent, asset);
                if amount > held {
                    ledger.count_clipped();
                }
                let out = self.book.market(
                    agent,
                    Side::Sell,
                    amount.min(held),
                    &mut self.fills,
                    &mut self.cancelled,
                );
                if out.filled == 0 {
                    ledger.count_rejected();
                }
            }
            Action::Limit {
                side,
                price,
                amount,
                ttl,
                ..
            } => {
                self.cancel_own(agent, asset, ledger)?;
                self.place(step, agent, side, price, amount, ttl, asset, ledger)?;
            }
            Action::Quote {
                bid,
                ask,
                amount,
                ttl,
                ..
            } => {
                self.cancel_own(agent, asset, ledger)?;
                if bid > 0 {
                    self.place(step, agent, Side::Buy, bid, amount, ttl, asset, ledger)?;
                }
                if ask > 0 {
                    self.place(step, agent, Side::Sell, ask, amount, ttl, asset, ledger)?;
                }
            }
            Action::Cancel { .. } => {
                self.cancel_own(agent, asset, ledger)?;
            }
        }
        let taker_locked = !matches!(action, Action::Buy { .. } | Action::Sell { .. });
        self.settle(taker_locked, asset, ledger, stats)
    }

    /// Settles the fills of the last action through the ledger and releases
    /// the locks of orders that left the book.
    fn settle(
        &mut self,
        taker_locked: bool,
        asset: usize,
        ledger: &mut Ledger,
        stats: &mut StepStats,
    ) -> Result<(), Fault> {
        for f in &self.fills {
            let (buyer, seller, buyer_locked, seller_locked) = match f.taker_side {
                Side::Buy => (f.taker_owner, f.maker_owner, taker_locked, true),
                Side::Sell => (f.maker_owner, f.taker_owner, true, taker_locked),
            };
            ledger
                .settle(
                    buyer,
                    seller,
                    asset,
                    f.qty,
                    f.money,
                    buyer_locked,
                    seller_locked,
                )
                .map_err(|e| Fault::ledger("settling a fill", e))?;
            self.surplus.add(buyer, seller, f.qty);
            stats.add(f.qty);
            self.state.last_trade = Some(ticks_to_units(f.price, self.tick));
            self.traded = true;
            if let Some(left) = f.maker_done {
                let (money, tokens) = split_lock(f.taker_side.opposite(), left);
                ledger
                    .release(f.maker_owner, asset, money, tokens)
                    .map_err(|e| Fault::ledger("releasing a filled order's lock", e))?;
            }
        }
        self.fills.clear();
        let r = release_orders(ledger, asset, &self.cancelled);
        self.cancelled.clear();
        r
    }

    /// Records the step's price and quotes.
    fn close_step(&mut self) {
        let bid = self.book.best_bid().map(|p| ticks_to_units(p, self.tick));
        let ask = self.book.best_ask().map(|p| ticks_to_units(p, self.tick));
        let state = &mut self.state;
        match (self.traded, bid, ask) {
            (true, _, _) => {
                let p = state.last_trade.unwrap_or(state.price);
                state.set(p, PriceSource::Trade)
            }
            (false, Some(b), Some(a)) => state.set(0.5 * (a + b), PriceSource::Mid),
            _ => state.quotes.source = PriceSource::Last,
        }
        state.quotes.best_bid = bid;
        state.quotes.best_ask = ask;
        let (bids, asks) = (
            wide_to_units(self.book.bid_depth()),
            wide_to_units(self.book.ask_depth()),
        );
        state.quotes.depth = match (bid, ask) {
            (Some(_), Some(_)) => Some(0.5 * (bids + asks)),
            (Some(_), None) => Some(bids),
            (None, Some(_)) => Some(asks),
            (None, None) => None,
        };
    }

    /// Locks and submits a limit order (fills are settled by the caller).
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        step: u64,
        agent: AgentId,
        side: Side,
        price: u64,
        amount: u64,
        ttl: u32,
        asset: usize,
        ledger: &mut Ledger,
    ) -> Result<(), Fault> {
        let (tick, lot) = (self.tick, self.book.lot());
        let ticks = to_ticks(side, price, tick);
        if ticks == 0 || amount / lot == 0 {
            ledger.count_rejected();
            return Ok(());
        }
        let (qty, locked) = coverable(ledger, agent, asset, side, ticks, tick, amount, lot);
        if qty == 0 {
            ledger.count_rejected();
            return Ok(());
        }
        let (money, tokens) = split_lock(side, locked);
        ledger
            .lock(agent, asset, money, tokens)
            .map_err(|e| Fault::ledger("locking an order", e))?;
        let expires = step.saturating_add(u64::from(ttl.max(1)) - 1);
        let out = self.book.limit(
            agent,
            side,
            ticks,
            qty,
            expires,
            locked,
            &mut self.fills,
            &mut self.cancelled,
        );
        // What the fills did not need goes back now; the fills themselves
        // settle from the escrow after the action.
        let (money, tokens) = split_lock(side, out.released);
        ledger
            .release(agent, asset, money, tokens)
            .map_err(|e| Fault::ledger("releasing an order's unused lock", e))?;
        if let Some(id) = out.rested {
            self.slot(agent)[usize::from(side == Side::Sell)] = id;
        }
        Ok(())
    }
}

impl BatchMarket {
    /// Collects an order for the step's clearing, locking what it could
    /// spend: a market buy its budget, a limit buy its value at the limit,
    /// a sell its tokens (each clipped to what the agent has).
    fn collect(&mut self, agent: AgentId, action: Action, asset: usize, ledger: &mut Ledger) {
        let lot = self.lot;
        let push = |side: Side, limit: Option<u64>, amount: Amount, ledger: &mut Ledger| {
            let (locked, amount) = match (side, amount) {
                (Side::Buy, Amount::Money(spend)) => {
                    let balance = ledger.balance(agent);
                    if spend > balance {
                        ledger.count_clipped();
                    }
                    let spend = spend.min(balance);
                    (spend, Amount::Money(spend))
                }
                (_, Amount::Tokens(qty)) => {
                    // a limit price in base units is a price in ticks of 1
                    let price = limit.unwrap_or(0);
                    let (qty, locked) = coverable(ledger, agent, asset, side, price, 1, qty, lot);
                    (locked, Amount::Tokens(qty))
                }
                (Side::Sell, Amount::Money(_)) => (0, Amount::Tokens(0)),
            };
            let (money, tokens) = split_lock(side, locked);
            let empty = match amount {
                Amount::Money(m) => m == 0,
                Amount::Tokens(q) => q == 0,
            };
            if empty || (limit == Some(0)) || ledger.lock(agent, asset, money, tokens).is_err() {
                ledger.count_rejected();
                return None;
            }
            Some(Pending {
                agent,
                side,
                limit,
                amount,
                locked,
                used: 0,
            })
        };
        let mut orders = Vec::new();
        match action {
            Action::Hold | Action::Cancel { .. } => {}
            Action::Request { .. } | Action::Produce { .. } => ledger.count_rejected(),
            Action::Buy { spend, .. } => {
                orders.extend(push(Side::Buy, None, Amount::Money(spend), ledger))
            }
            Action::Sell { amount, .. } => {
                orders.extend(push(Side::Sell, None, Amount::Tokens(amount), ledger))
            }
            Action::Limit {
                side,
                price,
                amount,
                ..
            } => orders.extend(push(side, Some(price), Amount::Tokens(amount), ledger)),
            Action::Quote {
                bid, ask, amount, ..
            } => {
                if bid > 0 {
                    orders.extend(push(Side::Buy, Some(bid), Amount::Tokens(amount), ledger));
                }
                if ask > 0 {
                    orders.extend(push(Side::Sell, Some(ask), Amount::Tokens(amount), ledger));
                }
            }
        }
        self.orders.extend(orders);
    }

    /// Clears the step's orders, settles the trades and releases every lock.
    fn clear(
        &mut self,
        asset: usize,
        ledger: &mut Ledger,
        stats: &mut StepStats,
    ) -> Result<(), Fault> {
        let lot = self.lot;
        let supply_units = to_units(ledger.books(asset).supply);
        match &self.kind {
            BatchKind::Auction { tick } => {
                let tick = *tick;
                let orders: Vec<BatchOrder> = self
                    .orders
                    .iter()
                    .map(|o| BatchOrder {
                        side: o.side,
                        limit: o.limit.map(|p| to_ticks(o.side, p, tick)),
                        amount: o.amount,
                    })
                    .collect();
                let last = self
                    .state
                    .last_trade
                    .or(Some(self.state.mark))
                    .and_then(to_base)
                    .map(|p| p / tick);
                match call_auction(&orders, tick, lot, last) {
                    Some(c) if c.volume > 0 => {
                        let price_base = u64::try_from(u128::from(c.price) * u128::from(tick))
                            .map_err(|_| Fault::overflow("the call auction's price", "money"))?;
                        let buys: Vec<(Option<usize>, u64)> = (0..self.orders.len())
                            .filter(|&i| self.orders[i].side == Side::Buy)
                            .map(|i| (Some(i), c.fills[i]))
                            .collect();
                        let sells: Vec<(Option<usize>, u64)> = (0..self.orders.len())
                            .filter(|&i| self.orders[i].side == Side::Sell)
                            .map(|i| (Some(i), c.fills[i]))
                            .collect();
                        self.pair(&buys, &sells, price_base, asset, ledger, stats)?;
                        let p = ticks_to_units(c.price, tick);
                        self.state.last_trade = Some(p);
                        self.state.set(p, PriceSource::Trade);
                    }
                    _ => self.state.quotes.source = PriceSource::Last,
                }
            }
            BatchKind::Equilibrium(e)
                if self.orders.is_empty() && e.demand.is_none() && e.supply.is_none() =>
            {
                // No demand and no supply at all: every price "clears", so
                // none is chosen; the price stays.
                self.state.quotes.source = PriceSource::Last;
            }
            BatchKind::Equilibrium(e) => {
                let entries = self.schedule();
                let (demand, supply) = (e.demand, e.supply);
                let found = find_equilibrium(
                    |p| excess_demand(p, &entries, demand.as_ref(), supply.as_ref()),
                    e.price_range.0,
                    e.price_range.1,
                );
                match found.and_then(to_base).filter(|&p| p > 0) {
                    Some(price_base) => {
                        let p = found.unwrap_or(0.0);
                        self.trade_at(p, price_base, demand, supply, asset, ledger, stats)?;
                        self.state.set(p, PriceSource::Equilibrium);
                        self.clamps.exogenous_floor += u64::from(floored(demand, supply, p));
                    }
                    None => self.state.set(f64::NAN, PriceSource::NoEquilibrium),
                }
            }
            BatchKind::Adjustment(a) => {
                let (rule, demand, supply) = (a.rule, a.demand, a.supply);
                let p = self.state.price;
                // At least one base unit; a posted price past the ledger's
                // range is a fault, never a price of one base unit.
                let price_base = match to_base(p) {
                    Some(base) => base.max(1),
                    None if p > 0.0 => {
                        return Err(Fault::overflow(&format!("the price {p:e}"), "money"))
                    }
                    None => 1,
                };
                let (d, o) = self.trade_at(p, price_base, demand, supply, asset, ledger, stats)?;
                self.clamps.exogenous_floor += u64::from(floored(demand, supply, p));
                self.clamps.log_ratio_cap += u64::from(rule.caps_log_ratio(d, o));
                let next = rule.next(p, d, o, supply_units);
                self.state.set(next, PriceSource::Posted);
            }
        }
        // release what the fills did not use
        for o in &self.orders {
            let left = o.locked.checked_sub(o.used).ok_or_else(|| {
                Fault::bug(format!(
                    "a batch order of agent {} used {} base units, more than the {} it locked",
                    o.agent, o.used, o.locked
                ))
            })?;
            let (money, tokens) = split_lock(o.side, left);
            ledger
                .release(o.agent, asset, money, tokens)
                .map_err(|e| Fault::ledger("releasing a batch order's lock", e))?;
        }
        self.orders.clear();
        Ok(())
    }

    /// The agents' orders as demand and supply schedules, token units.
    fn schedule(&self) -> Vec<ScheduleEntry> {
        self.orders
            .iter()
            .map(|o| ScheduleEntry {
                side: o.side,
                limit: o.limit.map(to_units),
                amount: match o.amount {
                    Amount::Tokens(q) => ScheduleAmount::Tokens(to_units(q)),
                    Amount::Money(m) => ScheduleAmount::Money(to_units(m)),
                },
            })
            .collect()
    }

    /// Trades at price `p` (`price_base` money base units per whole token):
    /// each order's quantity at that price, plus the exogenous demand and
    /// supply at `p`; the short side is filled, the long side rationed in
    /// proportion. Returns the total demand and supply at `p`, token units,
    /// with the exogenous parts before rounding to lots.
    #[allow(clippy::too_many_arguments)]
    fn trade_at(
        &mut self,
        p: f64,
        price_base: u64,
        demand: Option<Shape>,
        supply: Option<Shape>,
        asset: usize,
        ledger: &mut Ledger,
        stats: &mut StepStats,
    ) -> Result<(f64, f64), Fault> {
        let lot = self.lot;
        let wanted: Vec<u64> = self
            .orders
            .iter()
            .map(|o| match (o.side, o.amount, o.limit) {
                (Side::Buy, _, Some(l)) if l < price_base => 0,
                (Side::Sell, _, Some(l)) if l > price_base => 0,
                (_, Amount::Tokens(q), _) => q,
                (_, Amount::Money(m), _) => money_quantity(m, price_base, 1, lot),
            })
            .collect();
        let exo_d_units = demand.map_or(0.0, |s| s.demand_at(p));
        let exo_o_units = supply.map_or(0.0, |s| s.supply_at(p));
        let lots = |q: f64, what: &str| match to_base(q) {
            Some(q) => Ok(q / lot * lot),
            None if q > 0.0 => Err(Fault::overflow(
                &format!("the exogenous {what} of {q:e} tokens at price {p}"),
                "token",
            )),
            None => Ok(0),
        };
        let (exo_d, exo_o) = (lots(exo_d_units, "demand")?, lots(exo_o_units, "supply")?);
        let mut buys: Vec<(Option<usize>, u64)> = Vec::new();
        let mut sells: Vec<(Option<usize>, u64)> = Vec::new();
        for (i, o) in self.orders.iter().enumerate() {
            if wanted[i] > 0 {
                match o.side {
                    Side::Buy => buys.push((Some(i), wanted[i])),
                    Side::Sell => sells.push((Some(i), wanted[i])),
                }
            }
        }
        if exo_d > 0 {
            buys.push((None, exo_d));
        }
        if exo_o > 0 {
            sells.push((None, exo_o));
        }
        let total = |v: &[(Option<usize>, u64)]| v.iter().map(|x| u128::from(x.1)).sum::<u128>();
        let (d, o) = (total(&buys), total(&sells));
        // what the agents asked for, before rationing (the rule sees it)
        let asked = |total: u128, exo: u64| (total - u128::from(exo)) as f64 / SCALE as f64;
        let (agents_d, agents_o) = (asked(d, exo_d), asked(o, exo_o));
        let volume = u64::try_from(d.min(o))
            .map_err(|_| Fault::overflow("the step's volume of trade", "token"))?;
        for side in [&mut buys, &mut sells] {
            if total(side) > u128::from(volume) {
                let requests: Vec<u64> = side.iter().map(|x| x.1).collect();
                for (x, q) in side.iter_mut().zip(ration(&requests, volume, lot)) {
                    x.1 = q;
                }
            }
        }
        self.pair(&buys, &sells, price_base, asset, ledger, stats)?;
        if volume > 0 {
            self.state.last_trade = Some(p);
        }
        // The rule sees the exogenous quantities before rounding to lots.
        Ok((agents_d + exo_d_units, agents_o + exo_o_units))
    }

    /// Pairs the filled buys and sells in order and settles each pair at
    /// `price_base`: between agents through escrow, with the outside world
    /// (`None`) by minting or burning.
    fn pair(
        &mut self,
        buys: &[(Option<usize>, u64)],
        sells: &[(Option<usize>, u64)],
        price_base: u64,
        asset: usize,
        ledger: &mut Ledger,
        stats: &mut StepStats,
    ) -> Result<(), Fault> {
        let buy_qty: Vec<u64> = buys.iter().map(|b| b.1).collect();
        let sell_qty: Vec<u64> = sells.iter().map(|s| s.1).collect();
        for (i, k, q) in pairs_in_order(&buy_qty, &sell_qty) {
            let money = u64::try_from(value(price_base, 1, q))
                .map_err(|_| Fault::overflow("the payment for a batch trade", "money"))?;
            let (b, s) = (buys[i].0, sells[k].0);
            let r = match (b, s) {
                (Some(b), Some(s)) => {
                    let (buyer, seller) = (self.orders[b].agent, self.orders[s].agent);
                    self.surplus.add(buyer, seller, q);
                    ledger.settle(buyer, seller, asset, q, money, true, true)
                }
                (Some(b), None) => {
                    ledger.sell_from_outside(self.orders[b].agent, asset, q, money, true)
                }
                (None, Some(s)) => {
                    ledger.buy_from_outside(self.orders[s].agent, asset, q, money, true)
                }
                (None, None) => Ok(()),
            };
            r.map_err(|e| Fault::ledger("settling a batch trade", e))?;
            if let Some(b) = b {
                self.orders[b].used += money;
            }
            if let Some(s) = s {
                self.orders[s].used += q;
            }
            stats.add(q);
        }
        Ok(())
    }
}
