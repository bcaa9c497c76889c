//! The batch markets: orders collected through a step and cleared
//! together after every agent has acted ([`BatchMarket`], a
//! [`Mechanism`]): the call auction, the Walrasian equilibrium and the
//! price-adjustment market, on the pure kernels of [`clearing`](super::clearing).
//!
//! Every collected order locks what it could spend; the clearing settles
//! the fills from the locks (with the outside world for exogenous demand
//! and supply) and releases the rest, so no lock outlives its step.

use super::clearing::{
    call_auction, excess_demand, find_equilibrium, money_quantity, ration, Amount, BatchOrder,
    ScheduleAmount, ScheduleEntry, Shape,
};
use super::mechanism::{
    coverable, exogenous_equilibrium, lot_of, split_lock, tick_lot, ticks_to_units, to_ticks,
    Fault, MarketStep, Mechanism, Observed, PriceSource, PriceState, Quotes, Surplus, SurplusState,
};
use super::{pairs_in_order, value};
use crate::agents::{Action, Side};
use crate::ledger::{to_base, to_units, AgentId, Ledger, SCALE};
use crate::scenario::{AdjustmentSpec, BookSpec, EquilibriumSpec};

/// A market cleared once a step from the orders collected through it.
#[derive(Debug)]
pub struct BatchMarket {
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

#[derive(Debug)]
enum BatchKind {
    Auction { tick: u64 },
    Equilibrium(EquilibriumSpec),
    Adjustment(AdjustmentSpec),
}

/// A collected order of a batch market, with what it locked.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
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

impl BatchMarket {
    /// A call auction with the tick, lot and initial price of `spec`.
    pub fn call_auction(spec: &BookSpec) -> Self {
        let (tick, lot) = tick_lot(spec);
        Self::with(
            BatchKind::Auction { tick },
            lot,
            PriceState::new(spec.initial_price, PriceSource::Initial),
        )
    }

    /// An equilibrium market: its initial price is the one given, else the
    /// equilibrium of the exogenous demand and supply (none: no price).
    pub fn equilibrium(spec: &EquilibriumSpec) -> Self {
        let price = spec
            .initial_price
            .or_else(|| exogenous_equilibrium(spec.demand, spec.supply, spec.price_range))
            .unwrap_or(f64::NAN);
        let source = if price.is_finite() {
            PriceSource::Initial
        } else {
            PriceSource::NoEquilibrium
        };
        Self::with(
            BatchKind::Equilibrium(spec.clone()),
            lot_of(spec.lot_size),
            PriceState::new(price, source),
        )
    }

    /// A price-adjustment market.
    pub fn price_adjustment(spec: &AdjustmentSpec) -> Self {
        Self::with(
            BatchKind::Adjustment(spec.clone()),
            lot_of(spec.lot_size),
            PriceState::new(spec.initial_price, PriceSource::Initial),
        )
    }

    fn with(kind: BatchKind, lot: u64, state: PriceState) -> Self {
        BatchMarket {
            kind,
            lot,
            orders: Vec::new(),
            state,
            surplus: Surplus::default(),
            clamps: Clamps::default(),
        }
    }

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
            Action::Hold
            | Action::Cancel { .. }
            | Action::Effort { .. }
            | Action::Stake { .. }
            | Action::Unstake { .. } => {}
            Action::Request { .. }
            | Action::Produce { .. }
            | Action::Play { .. }
            | Action::Post { .. }
            | Action::Swap { .. }
            | Action::AddLiquidity { .. }
            | Action::RemoveLiquidity { .. } => ledger.count_rejected(),
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
    fn clear(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        let (asset, lot) = (m.asset, self.lot);
        let supply_units = to_units(m.ledger.books(asset).supply);
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
                        self.pair(&buys, &sells, price_base, m)?;
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
                        self.trade_at(p, price_base, demand, supply, m)?;
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
                let (d, o) = self.trade_at(p, price_base, demand, supply, m)?;
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
            m.ledger
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
        m: &mut MarketStep<'_>,
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
        self.pair(&buys, &sells, price_base, m)?;
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
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let asset = m.asset;
        let buy_qty: Vec<u64> = buys.iter().map(|b| b.1).collect();
        let sell_qty: Vec<u64> = sells.iter().map(|s| s.1).collect();
        for (i, k, q) in pairs_in_order(&buy_qty, &sell_qty) {
            let money = u64::try_from(value(price_base, 1, q))
                .map_err(|_| Fault::overflow("the payment for a batch trade", "money"))?;
            let (b, s) = (buys[i].0, sells[k].0);
            let (buyer, seller) = (
                b.map(|b| self.orders[b].agent),
                s.map(|s| self.orders[s].agent),
            );
            let ledger = &mut *m.ledger;
            let r = match (buyer, seller) {
                (Some(buyer), Some(seller)) => {
                    self.surplus.add(buyer, seller, q);
                    ledger.settle(buyer, seller, asset, q, money, true, true)
                }
                (Some(buyer), None) => ledger.sell_from_outside(buyer, asset, q, money, true),
                (None, Some(seller)) => ledger.buy_from_outside(seller, asset, q, money, true),
                (None, None) => Ok(()),
            };
            r.map_err(|e| Fault::ledger("settling a batch trade", e))?;
            if let Some(b) = b {
                self.orders[b].used += money;
            }
            if let Some(s) = s {
                self.orders[s].used += q;
            }
            m.fill(buyer, seller, q, money);
        }
        Ok(())
    }
}

/// What of a batch market changes as a run goes.
#[derive(serde::Serialize, serde::Deserialize)]
struct BatchMarketState {
    orders: Vec<Pending>,
    state: PriceState,
    surplus: SurplusState,
    clamps: Clamps,
}

impl Mechanism for BatchMarket {
    fn save_state(&self) -> Option<Vec<u8>> {
        super::mechanism::encode_state(&BatchMarketState {
            orders: self.orders.clone(),
            state: self.state,
            surplus: self.surplus.state(),
            clamps: self.clamps,
        })
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let s: BatchMarketState = super::mechanism::decode_state(self.kind(), bytes)?;
        // the parts that can refuse, first: a refused state changes nothing
        s.state.check()?;
        self.surplus.restore(s.surplus)?;
        self.orders = s.orders;
        self.state = s.state;
        self.clamps = s.clamps;
        Ok(())
    }

    fn kind(&self) -> &str {
        match self.kind {
            BatchKind::Auction { .. } => "call_auction",
            BatchKind::Equilibrium(_) => "equilibrium",
            BatchKind::Adjustment(_) => "price_adjustment",
        }
    }

    /// `price`: a price-adjustment market's posted price, at which the
    /// step trades and from which the rule moves on. The other batch
    /// markets find their price by clearing, so they have no such
    /// parameter.
    fn set_param(&mut self, name: &str, value: f64) -> Result<(), String> {
        if !matches!(self.kind, BatchKind::Adjustment(_)) || name != "price" {
            return Err(format!(
                "parameter {name:?}: a {} market has none that changes during a run \
                 (a price_adjustment market's posted price is `price`)",
                self.kind()
            ));
        }
        if !(value.is_finite() && value > 0.0 && to_base(value).is_some()) {
            return Err(format!(
                "price {value}: expected a positive number of money units within the ledger's range"
            ));
        }
        self.state.set(value, PriceSource::Posted);
        Ok(())
    }

    /// Forgets the previous step's orders (all settled or released).
    fn begin_step(&mut self, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.orders.clear();
        Ok(())
    }

    /// Collects the order for the step's clearing.
    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        self.collect(agent, action, m.asset, m.ledger);
        Ok(())
    }

    /// Clears the step's orders.
    fn end_step(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.clear(m)
    }

    fn price(&self, _supply: u64) -> f64 {
        self.state.price
    }

    fn mark(&self, _supply: u64) -> f64 {
        self.state.mark
    }

    fn observed(&self) -> Observed {
        Observed {
            last_trade: self.state.last_trade,
            ..Observed::default()
        }
    }

    fn quotes(&self) -> Quotes {
        self.state.quotes
    }

    fn for_each_lock(&self, f: &mut dyn FnMut(AgentId, u64, u64)) {
        for o in &self.orders {
            let (money, tokens) = split_lock(o.side, o.locked.saturating_sub(o.used));
            f(o.agent, money, tokens);
        }
    }

    fn set_private_value(&mut self, agent: AgentId, value: &crate::agents::PrivateValue) {
        self.surplus.register(agent, value);
    }

    fn clear_private_values(&mut self) {
        self.surplus.clear();
    }

    fn realised_surplus(&self) -> f64 {
        self.surplus.realised()
    }

    fn exogenous_equilibrium(&self) -> Option<f64> {
        match &self.kind {
            BatchKind::Auction { .. } => None,
            BatchKind::Equilibrium(e) => exogenous_equilibrium(e.demand, e.supply, e.price_range),
            BatchKind::Adjustment(a) => {
                exogenous_equilibrium(a.demand, a.supply, (a.rule.min_price, 1e12))
            }
        }
    }

    fn clamps(&self) -> (Option<u64>, Option<u64>) {
        let (demand, supply, log) = match &self.kind {
            BatchKind::Auction { .. } => (None, None, false),
            BatchKind::Equilibrium(e) => (e.demand, e.supply, false),
            BatchKind::Adjustment(a) => (a.demand, a.supply, logarithmic(&a.rule)),
        };
        (
            (linear(demand) || linear(supply)).then_some(self.clamps.exogenous_floor),
            log.then_some(self.clamps.log_ratio_cap),
        )
    }
}

/// Whether a price rule is the logarithmic one (which caps `|ln(D/O)|`).
pub(crate) fn logarithmic(rule: &super::clearing::PriceRule) -> bool {
    matches!(
        rule.adjustment,
        super::clearing::Adjustment::Logarithmic { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::PricingSpec;

    /// The batch market of a one-asset scenario priced by `pricing`.
    fn market(pricing: &str) -> BatchMarket {
        let s = crate::Scenario::from_toml_str(
            &format!("[simulation]\nsteps = 1\nseed = 1\n[[assets]]\nname = \"G\"\npricing = {pricing}\n"),
            "t",
        )
        .unwrap();
        match &s.assets[0].pricing {
            PricingSpec::CallAuction(b) => BatchMarket::call_auction(b),
            PricingSpec::Equilibrium(e) => BatchMarket::equilibrium(e),
            PricingSpec::PriceAdjustment(a) => BatchMarket::price_adjustment(a),
            other => panic!("not a batch market: {other:?}"),
        }
    }

    const ADJUSTMENT: &str = r#"{ kind = "price_adjustment", rule = "linear", lambda = 0.01, initial_price = 2.0, supply = { shape = "linear", c = 10.0, d = 1.0 } }"#;

    /// A saved price state whose mark, last trade or quotes are not
    /// finite is refused (a run keeps them finite; the price alone may be
    /// NaN, a step with no equilibrium), and the market is unchanged.
    #[test]
    fn a_saved_price_state_that_is_not_finite_is_refused_and_changes_nothing() {
        let mut m = market(ADJUSTMENT);
        let good = m.save_state().unwrap();
        let mut s: BatchMarketState = super::super::mechanism::decode_state("t", &good).unwrap();
        s.state.price = f64::NAN;
        let nan_price = super::super::mechanism::encode_state(&s).unwrap();
        type Edit = fn(&mut PriceState);
        let edits: [(Edit, &str); 5] = [
            (
                |p| p.mark = f64::INFINITY,
                "the saved mark is inf, not a price",
            ),
            (
                |p| p.last_trade = Some(f64::NAN),
                "the saved last trade's price is NaN",
            ),
            (
                |p| p.quotes.best_bid = Some(f64::NEG_INFINITY),
                "the saved best bid is -inf",
            ),
            (
                |p| p.quotes.best_ask = Some(f64::NAN),
                "the saved best ask is NaN",
            ),
            (
                |p| p.quotes.depth = Some(f64::INFINITY),
                "the saved depth is inf",
            ),
        ];
        for (edit, says) in edits {
            let mut bad: BatchMarketState =
                super::super::mechanism::decode_state("t", &good).unwrap();
            edit(&mut bad.state);
            let bytes = super::super::mechanism::encode_state(&bad).unwrap();
            let e = m.load_state(&bytes).unwrap_err();
            assert!(e.starts_with(says), "{e}");
            assert_eq!((m.price(0), m.mark(0)), (2.0, 2.0));
        }
        m.load_state(&nan_price).unwrap();
        assert!(m.price(0).is_nan());
        assert_eq!(m.mark(0), 2.0);
    }

    #[test]
    fn only_a_price_adjustment_markets_posted_price_is_set_during_a_run() {
        let mut m = market(ADJUSTMENT);
        assert_eq!((m.price(0), m.quotes().source), (2.0, PriceSource::Initial));
        m.set_param("price", 3.5).unwrap();
        assert_eq!((m.price(0), m.mark(0)), (3.5, 3.5));
        assert_eq!(m.quotes().source, PriceSource::Posted);
        for bad in [0.0, -2.0, f64::NAN, f64::INFINITY, 1e300] {
            let e = m.set_param("price", bad).unwrap_err();
            assert_eq!(
                e,
                format!(
                    "price {bad}: expected a positive number of money units within the ledger's range"
                )
            );
            assert_eq!(m.price(0), 3.5);
        }
        let e = m.set_param("lambda", 0.5).unwrap_err();
        assert_eq!(
            e,
            "parameter \"lambda\": a price_adjustment market has none that changes during a run \
             (a price_adjustment market's posted price is `price`)"
        );
        for (pricing, kind) in [
            (
                r#"{ kind = "call_auction", tick_size = 0.01, lot_size = 1.0, initial_price = 10.5 }"#,
                "call_auction",
            ),
            (
                r#"{ kind = "equilibrium", initial_price = 4.0, demand = { shape = "linear", a = 100.0, b = 2.0 }, supply = { shape = "linear", c = 10.0, d = 1.0 } }"#,
                "equilibrium",
            ),
        ] {
            let mut m = market(pricing);
            let before = m.price(0);
            let e = m.set_param("price", 3.0).unwrap_err();
            assert_eq!(
                e,
                format!(
                    "parameter \"price\": a {kind} market has none that changes during a run \
                     (a price_adjustment market's posted price is `price`)"
                )
            );
            assert_eq!((m.kind(), m.price(0)), (kind, before));
        }
    }

    #[test]
    fn the_floor_and_cap_counts_exist_only_where_a_linear_shape_or_the_log_rule_can_bind() {
        let elastic = r#"{ shape = "constant_elasticity", scale = 10.0, elasticity = 1.0 }"#;
        let linear = r#"{ shape = "linear", a = 100.0, b = 2.0 }"#;
        let cases = [
            // no exogenous shapes at all
            (
                r#"{ kind = "call_auction", tick_size = 0.01, lot_size = 1.0, initial_price = 10.5 }"#.to_string(),
                (None, None),
            ),
            // constant elasticity never hits a floor; no log rule
            (
                format!(r#"{{ kind = "equilibrium", demand = {elastic}, supply = {elastic} }}"#),
                (None, None),
            ),
            // a linear demand can: its count, 0 before any step
            (
                format!(r#"{{ kind = "equilibrium", demand = {linear}, supply = {elastic} }}"#),
                (Some(0), None),
            ),
            (
                format!(
                    r#"{{ kind = "price_adjustment", rule = "proportional", lambda = 0.5, initial_price = 4.0, demand = {elastic} }}"#
                ),
                (None, None),
            ),
            (
                format!(
                    r#"{{ kind = "price_adjustment", rule = "logarithmic", lambda = 0.01, initial_price = 1.0, demand = {elastic} }}"#
                ),
                (None, Some(0)),
            ),
            (
                format!(
                    r#"{{ kind = "price_adjustment", rule = "logarithmic", lambda = 0.01, initial_price = 1.0, demand = {elastic}, supply = {{ shape = "linear", c = 10.0, d = 1.0 }} }}"#
                ),
                (Some(0), Some(0)),
            ),
        ];
        for (pricing, expected) in cases {
            assert_eq!(market(&pricing).clamps(), expected, "{pricing}");
        }
    }

    /// A batch market's last trade (what its agents observe) is the price
    /// of the last step that traded: set by a step with volume, kept
    /// through a step without. A buy of 10 money at the posted 2 meets the
    /// outside supply `10 + P` and trades 5 tokens; the next step has no
    /// order and no demand, so no volume, at the adjusted price
    /// 2 + 0.01·(5 − 12) = 1.93 (the linear rule, `λ = 0.01`).
    #[test]
    fn the_last_trade_is_the_price_of_the_last_step_with_volume() {
        use crate::market::mechanism::{Desk, StepStats};
        let mut m = market(ADJUSTMENT);
        let mut desk = Desk::new(Ledger::new(1, 1), false);
        desk.ledger.fund_balance(0, 100 * SCALE).unwrap();
        let mut step = |m: &mut BatchMarket, n: u64, action: Action| {
            desk.stats = StepStats::default();
            let mut ms = desk.step(n);
            m.begin_step(&mut ms).unwrap();
            m.execute(0, action, &mut ms).unwrap();
            m.end_step(&mut ms).unwrap();
            (desk.stats.volume, desk.ledger.holding(0, 0))
        };
        assert_eq!(m.observed().last_trade, None);
        let buy = Action::Buy {
            asset: 0,
            spend: 10 * SCALE,
        };
        assert_eq!(step(&mut m, 1, buy), (u128::from(5 * SCALE), 5 * SCALE));
        assert_eq!(m.observed().last_trade, Some(2.0));
        assert!((m.price(0) - 1.93).abs() < 1e-12, "{}", m.price(0));
        assert_eq!(step(&mut m, 2, Action::Hold), (0, 5 * SCALE));
        assert_eq!(m.observed().last_trade, Some(2.0));
        // 1.93 + 0.01·(0 − 11.93)
        assert!((m.price(0) - 1.8107).abs() < 1e-12, "{}", m.price(0));
    }

    /// A market buy locks its budget, clipped to the agent's balance and
    /// counted as clipped only when it asked for more; a sell locks its
    /// tokens, clipped to the holding. Until the step clears,
    /// `for_each_lock` reports each order's lock: the money of a buy, the
    /// tokens of a sell.
    #[test]
    fn a_buy_past_the_balance_is_clipped_counted_and_its_lock_reported() {
        use crate::market::mechanism::Desk;
        let mut m = market(ADJUSTMENT);
        let mut desk = Desk::new(Ledger::new(3, 1), false);
        for agent in 0..3 {
            desk.ledger.fund_balance(agent, 100 * SCALE).unwrap();
        }
        desk.ledger.fund_supply(0, Some(2), 7 * SCALE, 0).unwrap();
        let mut ms = desk.step(1);
        m.begin_step(&mut ms).unwrap();
        let buy = |spend| Action::Buy { asset: 0, spend };
        // exactly the balance: not clipped
        m.execute(0, buy(100 * SCALE), &mut ms).unwrap();
        assert_eq!(ms.ledger.counts().clipped, 0);
        // one base unit more: clipped to the balance, and counted
        m.execute(1, buy(100 * SCALE + 1), &mut ms).unwrap();
        assert_eq!(ms.ledger.counts().clipped, 1);
        let sell = Action::Sell {
            asset: 0,
            amount: 7 * SCALE,
        };
        m.execute(2, sell, &mut ms).unwrap();
        let mut locks = Vec::new();
        m.for_each_lock(&mut |agent, money, tokens| locks.push((agent, money, tokens)));
        assert_eq!(
            locks,
            [(0, 100 * SCALE, 0), (1, 100 * SCALE, 0), (2, 0, 7 * SCALE)]
        );
    }

    /// An equilibrium below one base unit of money (here at 1e-12, the
    /// crossing of `D = 1 − P` and `O = 1 − 2e-12 + P`, in a price range
    /// from 0) cannot be a price in the ledger: the step has no
    /// equilibrium and trades nothing, where a price of 0 would hand out
    /// the exogenous supply for free.
    #[test]
    fn an_equilibrium_below_one_base_unit_is_no_equilibrium() {
        use crate::market::mechanism::Desk;
        let mut m = market(
            r#"{ kind = "equilibrium", price_range = [0.0, 10.0], demand = { shape = "linear", a = 1.0, b = 1.0 }, supply = { shape = "linear", c = 0.999999999998, d = 1.0 } }"#,
        );
        let mut desk = Desk::new(Ledger::new(1, 1), false);
        let mut ms = desk.step(1);
        m.begin_step(&mut ms).unwrap();
        m.end_step(&mut ms).unwrap();
        assert_eq!(m.quotes().source, PriceSource::NoEquilibrium);
        assert!(m.price(0).is_nan(), "{}", m.price(0));
        assert_eq!(desk.stats.volume, 0);
        // The same shapes crossing at 2e-9, two base units: an equilibrium.
        let mut m = market(
            r#"{ kind = "equilibrium", price_range = [0.0, 10.0], demand = { shape = "linear", a = 1.0, b = 1.0 }, supply = { shape = "linear", c = 0.999999996, d = 1.0 } }"#,
        );
        let mut ms = desk.step(2);
        m.begin_step(&mut ms).unwrap();
        m.end_step(&mut ms).unwrap();
        assert_eq!(m.quotes().source, PriceSource::Equilibrium);
        assert!((m.price(0) - 2e-9).abs() < 1e-15, "{}", m.price(0));
    }
}
