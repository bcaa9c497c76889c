//! The resource market ([`ResourceMarket`], a
//! [`Mechanism`]): a capacity (renewing each step, or a stock that
//! depletes), requests allocated against it, producers that add to it.
//!
//! A step of a resource, in the engine's phases:
//!
//! 1. **open** — a stock decays and its holders pay the holding cost;
//!    production due this step arrives (the provider pays the producer the
//!    price for it);
//! 2. **govern** — the capacity available is set, less the step's outage;
//! 3. **execute** — each request locks the money it could pay (its
//!    willingness to pay in an auction, the posted price otherwise); each
//!    production order pays its cost now and is scheduled to arrive;
//! 4. **clear** — the mechanism allocates the capacity among the requests;
//!    each allocation is paid from the lock to the provider and delivered
//!    (minted for a renewing resource, taken from the stock otherwise); the
//!    price moves (price adjustment) or is the auction's.
//!
//! Consumers then use up what they hold, up to their need (the engine does
//! this, since needs belong to policies); what a renewing resource's holders
//! have left expires.

use crate::agents::Action;
use crate::ledger::trades::TradeKind;
use crate::ledger::{range_advice, to_base, to_units, wide_to_units, AgentId, Ledger, SCALE};
use crate::market::mechanism::{
    Fault, MarketStep, Mechanism, Observed, PriceSource, PriceState, Quotes,
};
use crate::market::value;
use crate::resource::alloc::{AllocationRule, Outcome, Request};
use crate::scenario::{ResourcePricing, ResourceSpec};
use std::collections::BTreeMap;

/// The whole base units `money` pays for at `price` base units per whole
/// unit, exactly: `⌊money · SCALE / price⌋`, or all of `u64` when that is
/// more (every caller takes the minimum with a `u64` quantity, so the cap
/// never shortens what was asked for).
fn units_for(money: u64, price: u64) -> u64 {
    let units = u128::from(money) * u128::from(SCALE) / u128::from(price.max(1));
    u64::try_from(units).unwrap_or(u64::MAX)
}

/// `x + y` for amounts of units of a resource in one step, or a fault
/// naming `what`.
fn add_units(x: u64, y: u64, what: &str) -> Result<u64, Fault> {
    x.checked_add(y)
        .ok_or_else(|| Fault::overflow(what, "token"))
}

/// A user rule's outcome, checked: one allocation per request, none above
/// its request, in total at most the capacity, and a price where the rule
/// sets one.
fn check_outcome(
    name: &str,
    requests: &[Request],
    capacity: u64,
    outcome: &Outcome,
) -> Result<(), Fault> {
    let total: u128 = outcome.allocations.iter().map(|&x| u128::from(x)).sum();
    let problem = if outcome.allocations.len() != requests.len() {
        Some(format!(
            "{} allocations for {} requests",
            outcome.allocations.len(),
            requests.len()
        ))
    } else if let Some(i) =
        (0..requests.len()).find(|&i| outcome.allocations[i] > requests[i].quantity)
    {
        Some(format!(
            "request {i} asked for {} base units and was allocated {}",
            requests[i].quantity, outcome.allocations[i]
        ))
    } else if total > u128::from(capacity) {
        Some(format!(
            "allocated {total} base units of a capacity of {capacity}"
        ))
    } else {
        None
    };
    match problem {
        Some(p) => Err(Fault::bug(format!("the allocation rule {name:?}: {p}"))),
        None => Ok(()),
    }
}

/// A resource and its state.
#[derive(Debug)]
pub struct ResourceMarket {
    pub(crate) spec: ResourceSpec,
    pub(crate) state: PriceState,
    /// This step's requests, in the order they arrived: the agents, the
    /// requests and the money each locked, three parallel vectors (the
    /// requests are what an allocation rule reads, without a copy).
    request_agents: Vec<AgentId>,
    requests: Vec<Request>,
    request_locks: Vec<u64>,
    /// `0, 1, 2, …`: the order the requests arrived in, as an allocation
    /// rule reads it (their indices), kept from step to step.
    arrival_order: Vec<u32>,
    /// Production due at a step: (producer, units).
    arrivals: BTreeMap<u64, Vec<(AgentId, u64)>>,
    /// Share of capacity out this step.
    pub(crate) outage: f64,
    /// Units available this step.
    pub(crate) available: u64,
    /// Units of production that arrived at the start of this step.
    arrived: u64,
    /// Units requested this step (a sum over agents).
    pub(crate) requested: u128,
    /// Units allocated this step (at most the units available).
    pub(crate) allocated: u64,
    /// This step's allocations, by agent (agents with none are absent).
    pub(crate) allocations: Vec<(AgentId, u64)>,
    /// Totals over the run.
    pub(crate) totals: ResourceTotals,
    /// Steps whose `|ln(D/O)|` a logarithmic price rule capped.
    pub(crate) log_ratio_capped: u64,
    /// The last mark's bits and its [`price_base`](Self::price_base), so
    /// that a step's requests convert the price once.
    price_memo: Option<(u64, Option<u64>)>,
}

/// Sums over a run, for the resource's summary.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct ResourceTotals {
    pub available: u128,
    pub requested: u128,
    pub allocated: u128,
    pub need: u128,
    pub met: u128,
    /// Money value of needs met, money units.
    pub value_met: f64,
    /// Σ over steps of the largest value of needs the units available
    /// could have met (the highest-valued needs first), money units.
    pub max_value: f64,
    /// Money producers paid to make units, money units.
    pub production_cost: f64,
    /// Σ over steps with needs of Jain's index and the Gini coefficient of
    /// allocation / need.
    pub jain_sum: f64,
    pub gini_sum: f64,
    pub fairness_steps: u64,
}

impl ResourceMarket {
    /// The resource of `spec`, before any step.
    pub fn new(spec: &ResourceSpec) -> Self {
        let price = match spec.pricing {
            ResourcePricing::Adjustment { initial_price, .. } => initial_price,
            ResourcePricing::Auction { reserve_price } => reserve_price,
            ResourcePricing::Fixed { price } => price,
        };
        ResourceMarket {
            spec: spec.clone(),
            state: PriceState::new(price, PriceSource::Initial),
            request_agents: Vec::new(),
            requests: Vec::new(),
            request_locks: Vec::new(),
            arrival_order: Vec::new(),
            arrivals: BTreeMap::new(),
            outage: 0.0,
            // step 0 shows the capacity (the initial stock is the asset's
            // unheld initial supply)
            available: to_base(spec.capacity).unwrap_or(0),
            arrived: 0,
            requested: 0,
            allocated: 0,
            allocations: Vec::new(),
            totals: ResourceTotals::default(),
            log_ratio_capped: 0,
            price_memo: None,
        }
    }

    /// The price in money base units per whole unit; `None` for a price
    /// past the ledger's range (never a price of 0). No account can pay
    /// such a price: it is a fault only when a payment at it is due.
    fn price_base(&self) -> Option<u64> {
        let mark = self.state.mark;
        match to_base(mark) {
            Some(price) => Some(price),
            None if mark > 0.0 => None,
            None => Some(0),
        }
    }

    /// [`price_base`](Self::price_base), remembered for the current mark.
    fn price_base_memo(&mut self) -> Option<u64> {
        let bits = self.state.mark.to_bits();
        match self.price_memo {
            Some((memo, price)) if memo == bits => price,
            _ => {
                let price = self.price_base();
                self.price_memo = Some((bits, price));
                price
            }
        }
    }

    /// The fault of a payment due at a price past the ledger's range.
    #[cold]
    fn price_fault(&self) -> Fault {
        Fault::overflow(&format!("the price {:e}", self.state.mark), "money")
    }

    /// The start of a step: decay and holding costs of a stock, and
    /// arriving production (paid to its producers; added to a stock).
    fn start(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        let (step, asset) = (m.step, m.asset);
        self.request_agents.clear();
        self.requests.clear();
        self.request_locks.clear();
        self.allocations.clear();
        self.requested = 0;
        self.allocated = 0;
        if !self.spec.renewing && step > 1 {
            self.decay_and_charge(asset, m.ledger)?;
        }
        // production due now
        let mut arrived: u64 = 0;
        for (producer, units) in self.arrivals.remove(&step).unwrap_or_default() {
            self.pay_producer(producer, units, m)?;
            arrived = add_units(arrived, units, "the production arriving")?;
        }
        self.arrived = arrived;
        if !self.spec.renewing && arrived > 0 {
            m.ledger
                .mint_to_treasury(asset, arrived)
                .map_err(|e| Fault::ledger("adding production to the stock", e))?;
        }
        Ok(())
    }

    /// The capacity available this step, in the govern phase: the nominal
    /// capacity plus the production that arrived (a renewing resource) or
    /// the stock (a depleting one), less the share `outage` that is out.
    fn set_capacity(&mut self, outage: f64, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.outage = outage;
        if self.spec.renewing {
            self.available = self.renewing_available(self.spec.capacity)?;
        } else {
            let stock = m.ledger.books(m.asset).treasury;
            self.available = crate::agents::fraction_of(stock, 1.0 - self.outage);
        }
        Ok(())
    }

    /// A renewing resource's units this step at nominal `capacity`: the
    /// capacity less the outage, plus the production that arrived.
    fn renewing_available(&self, capacity: f64) -> Result<u64, Fault> {
        let base = to_base(capacity)
            .ok_or_else(|| Fault::overflow(&format!("the capacity {capacity:e}"), "token"))?;
        let up = crate::agents::fraction_of(base, 1.0 - self.outage);
        add_units(up, self.arrived, "the capacity with production")
    }

    /// The provider pays `producer` the price for `units` it delivered
    /// (a [`TradeKind::Production`] record: the producer sold them).
    fn pay_producer(
        &self,
        producer: AgentId,
        units: u64,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let money = if units == 0 {
            0
        } else {
            let price = self.price_base().ok_or_else(|| self.price_fault())?;
            u64::try_from(value(price, 1, units))
                .map_err(|_| Fault::overflow("paying a producer", "money"))?
        };
        m.ledger
            .pay_from_outside(producer, m.asset, money)
            .map_err(|e| Fault::ledger("paying a producer", e))?;
        m.record(producer, None, TradeKind::Production, false, units, money);
        Ok(())
    }

    /// A stock's decay (of the unallocated stock and of every holding) and
    /// the holding cost its holders pay, clipped to their balances.
    fn decay_and_charge(&mut self, asset: usize, ledger: &mut Ledger) -> Result<(), Fault> {
        let decay = self.spec.decay;
        if decay > 0.0 {
            let lost = crate::agents::fraction_of(ledger.books(asset).treasury, decay);
            ledger
                .burn_from_treasury(asset, lost)
                .map_err(|e| Fault::ledger("decaying the stock", e))?;
        }
        if decay == 0.0 && self.spec.holding_cost == 0.0 {
            return Ok(());
        }
        let cost = to_base(self.spec.holding_cost).unwrap_or(0);
        for agent in 0..ledger.agents() as AgentId {
            let held = ledger.holding(agent, asset);
            if held == 0 {
                continue;
            }
            let lost = crate::agents::fraction_of(held, decay);
            if lost > 0 {
                ledger
                    .consume(agent, asset, lost)
                    .map_err(|e| Fault::ledger("decaying a holding", e))?;
            }
            // Clipped to the balance, so it fits a u64.
            let charge = value(cost, 1, held - lost).min(u128::from(ledger.balance(agent))) as u64;
            if charge > 0 {
                ledger
                    .pay_outside(agent, asset, charge)
                    .map_err(|e| Fault::ledger("charging a holding cost", e))?;
            }
        }
        Ok(())
    }

    /// Executes a resource action: a request is collected (and its payment
    /// locked); production is paid for and scheduled.
    fn take(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let (step, asset) = (m.step, m.asset);
        let ledger = &mut *m.ledger;
        match action {
            Action::Request {
                quantity,
                max_price,
                ..
            } => {
                let auction = self.spec.allocation.sets_price();
                let pay = if auction {
                    max_price
                } else {
                    match self.price_base_memo() {
                        Some(price) if max_price >= price => price,
                        // will not pay the posted price (nobody can pay one
                        // past the ledger's range)
                        _ => {
                            ledger.count_rejected();
                            return Ok(());
                        }
                    }
                };
                let balance = ledger.balance(agent);
                let mut quantity = quantity;
                let mut lock = value(pay, 1, quantity);
                if lock > u128::from(balance) {
                    ledger.count_clipped();
                    // the most units the balance pays for at `pay`
                    quantity = units_for(balance, pay).min(quantity);
                    lock = value(pay, 1, quantity);
                }
                // Within the balance after the clip: the `min` only makes
                // the conversion provably lossless.
                let lock = lock.min(u128::from(balance)) as u64;
                if quantity == 0 {
                    ledger.count_rejected();
                    return Ok(());
                }
                ledger
                    .lock(agent, asset, lock, 0)
                    .map_err(|e| Fault::ledger("locking a request's payment", e))?;
                // At most one request per agent and step: far below 2¹²⁸.
                self.requested += u128::from(quantity);
                self.request_agents.push(agent);
                self.requests.push(Request {
                    quantity,
                    max_price,
                });
                self.request_locks.push(lock);
            }
            Action::Produce {
                quantity,
                cost,
                lead_time,
                ..
            } => {
                let balance = ledger.balance(agent);
                let mut quantity = quantity;
                if value(cost, 1, quantity) > u128::from(balance) {
                    ledger.count_clipped();
                    quantity = units_for(balance, cost).min(quantity);
                }
                if quantity == 0 {
                    ledger.count_rejected();
                    return Ok(());
                }
                // Within the balance after the clip (see the lock above).
                let money = value(cost, 1, quantity).min(u128::from(balance)) as u64;
                ledger
                    .pay_outside(agent, asset, money)
                    .map_err(|e| Fault::ledger("paying for production", e))?;
                self.totals.production_cost += to_units(money);
                let due = step.saturating_add(u64::from(lead_time));
                if lead_time == 0 {
                    // arrives now: adds to what this step allocates
                    self.pay_producer(agent, quantity, m)?;
                    if !self.spec.renewing {
                        m.ledger
                            .mint_to_treasury(asset, quantity)
                            .map_err(|e| Fault::ledger("adding production to the stock", e))?;
                    }
                    self.available = add_units(self.available, quantity, "the capacity")?;
                } else {
                    self.arrivals
                        .entry(due)
                        .or_default()
                        .push((agent, quantity));
                }
            }
            _ => ledger.count_rejected(),
        }
        Ok(())
    }

    /// The end of a step: allocates, settles, releases the locks and moves
    /// the price.
    fn allocate(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        let asset = m.asset;
        let requests = &self.requests[..];
        // Requests arrived in the step's seeded random order: first come,
        // first served takes them in it.
        let n = requests.len();
        if self.arrival_order.len() < n {
            self.arrival_order = (0..n as u32).collect();
        }
        let order = &self.arrival_order[..n];
        let reserve = match self.spec.pricing {
            ResourcePricing::Auction { reserve_price } => to_base(reserve_price).unwrap_or(0),
            _ => 0,
        };
        let outcome = match &self.spec.allocation {
            AllocationRule::Builtin(rule) => {
                rule.allocate(requests, self.available, order, reserve)
            }
            AllocationRule::Custom(rule) => {
                let outcome = rule.allocate(requests, self.available, order, reserve);
                check_outcome(rule.name(), requests, self.available, &outcome)?;
                outcome
            }
        };
        let price = match outcome.price {
            Some(price) => Some(price),
            None => self.price_base(),
        };
        let mut allocated: u64 = 0;
        // The requests are in the step's random order: the accounts of a
        // block of them are read first, in independent loads the CPU
        // overlaps, so that the settlement (a chain of checked updates)
        // finds them in the cache (at 100,000 consumers, a miss each).
        const BLOCK: usize = 64;
        let mut touched: u64 = 0;
        let agents = &self.request_agents;
        for (k, ((&agent, &lock), &units)) in agents
            .iter()
            .zip(&self.request_locks)
            .zip(&outcome.allocations)
            .enumerate()
        {
            if k % BLOCK == 0 {
                for &a in &agents[k..agents.len().min(k + BLOCK)] {
                    touched ^= m.ledger.balance(a);
                }
            }
            let mut paid = 0;
            if units > 0 {
                let price = price.ok_or_else(|| self.price_fault())?;
                // Within the lock, so it fits a u64.
                paid = value(price, 1, units).min(u128::from(lock)) as u64;
                let r = if self.spec.renewing {
                    m.ledger.sell_from_outside(agent, asset, units, paid, true)
                } else {
                    m.ledger.sell_from_treasury(agent, asset, units, paid, true)
                };
                r.map_err(|e| Fault::ledger("delivering an allocation", e))?;
                m.stats.add(units);
                m.record(agent, None, TradeKind::Allocation, true, units, paid);
                allocated = add_units(allocated, units, "the allocations")?;
                self.allocations.push((agent, units));
            }
            m.ledger
                .release(agent, asset, lock - paid, 0)
                .map_err(|e| Fault::ledger("releasing a request's lock", e))?;
        }
        std::hint::black_box(touched);
        self.allocated = allocated;
        self.totals.available += u128::from(self.available);
        self.totals.requested += self.requested;
        self.totals.allocated += u128::from(allocated);
        match self.spec.pricing {
            ResourcePricing::Adjustment { rule, .. } => {
                let d = wide_to_units(self.requested);
                let o = to_units(self.available);
                // S: the capacity available, or the nominal capacity when
                // none is (a depleted stock, a total outage)
                let size = if self.available > 0 {
                    o
                } else {
                    self.spec.capacity
                };
                self.log_ratio_capped += u64::from(rule.caps_log_ratio(d, o));
                let next = rule.next(self.state.mark, d, o, size);
                self.state.set(next, PriceSource::Posted);
            }
            ResourcePricing::Auction { .. } => {
                if let (true, Some(price)) = (allocated > 0, price) {
                    self.state.set(to_units(price), PriceSource::Trade);
                } else {
                    self.state.quotes.source = PriceSource::Last;
                }
            }
            ResourcePricing::Fixed { .. } => self.state.quotes.source = PriceSource::Fixed,
        }
        if let (true, Some(price)) = (allocated > 0, price) {
            // Some whenever anything was allocated (it was paid for).
            self.state.last_trade = Some(to_units(price));
        }
        Ok(())
    }
}

/// What of a resource market changes as a run goes.
#[derive(serde::Serialize, serde::Deserialize)]
struct ResourceMarketState {
    /// The capacity and fixed price, which governance may have set.
    capacity: f64,
    fixed_price: Option<f64>,
    state: PriceState,
    requests: Vec<(AgentId, Request, u64)>,
    arrivals: BTreeMap<u64, Vec<(AgentId, u64)>>,
    outage: f64,
    available: u64,
    requested: u128,
    allocated: u64,
    allocations: Vec<(AgentId, u64)>,
    totals: ResourceTotals,
    log_ratio_capped: u64,
}

impl Mechanism for ResourceMarket {
    /// The requesters, the producers owed a delivery and the agents
    /// allocated to (the market keeps no lock between steps).
    fn for_each_agent(&self, f: &mut dyn FnMut(AgentId)) {
        self.request_agents.iter().for_each(|&a| f(a));
        for due in self.arrivals.values() {
            due.iter().for_each(|&(producer, _)| f(producer));
        }
        self.allocations.iter().for_each(|&(a, _)| f(a));
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        crate::market::mechanism::encode_state(&ResourceMarketState {
            capacity: self.spec.capacity,
            fixed_price: match self.spec.pricing {
                ResourcePricing::Fixed { price } => Some(price),
                _ => None,
            },
            state: self.state,
            requests: (self.request_agents.iter().zip(&self.requests))
                .zip(&self.request_locks)
                .map(|((&agent, &request), &lock)| (agent, request, lock))
                .collect(),
            arrivals: self.arrivals.clone(),
            outage: self.outage,
            available: self.available,
            requested: self.requested,
            allocated: self.allocated,
            allocations: self.allocations.clone(),
            totals: self.totals.clone(),
            log_ratio_capped: self.log_ratio_capped,
        })
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let s: ResourceMarketState = crate::market::mechanism::decode_state("resource", bytes)?;
        s.state.check()?;
        // What a run's sums always satisfy (the summary subtracts them).
        if s.totals.met > s.totals.need {
            return Err(format!(
                "the saved resource met {} base units of need, more than the {} needed",
                s.totals.met, s.totals.need
            ));
        }
        match (&mut self.spec.pricing, s.fixed_price) {
            (ResourcePricing::Fixed { price }, Some(saved)) => *price = saved,
            (ResourcePricing::Fixed { .. }, None) | (_, Some(_)) => {
                return Err("the saved resource is priced another way than the scenario's".into())
            }
            _ => {}
        }
        self.spec.capacity = s.capacity;
        self.state = s.state;
        self.request_agents = s.requests.iter().map(|r| r.0).collect();
        self.requests = s.requests.iter().map(|r| r.1).collect();
        self.request_locks = s.requests.iter().map(|r| r.2).collect();
        self.arrivals = s.arrivals;
        self.outage = s.outage;
        self.available = s.available;
        self.requested = s.requested;
        self.allocated = s.allocated;
        self.allocations = s.allocations;
        self.totals = s.totals;
        self.log_ratio_capped = s.log_ratio_capped;
        Ok(())
    }

    fn kind(&self) -> &str {
        "resource"
    }

    /// `capacity` (a renewing resource's units per step, from this step on)
    /// and `price` (a fixed price, or the posted price of a price-adjustment
    /// rule, from which it moves on).
    fn set_param(&mut self, name: &str, value: f64) -> Result<(), String> {
        match name {
            "capacity" => {
                if !self.spec.renewing {
                    return Err(
                        "a stock resource's capacity is its initial stock; production \
                                replenishes it (only a renewing resource's capacity is set)"
                            .into(),
                    );
                }
                if to_base(value).is_none() {
                    return Err(format!(
                        "capacity {value}: expected a number of units >= 0 within {}",
                        range_advice("token")
                    ));
                }
                let available = self
                    .renewing_available(value)
                    .map_err(|_| format!("capacity {value}: with production, past the range"))?;
                self.spec.capacity = value;
                self.available = available;
                Ok(())
            }
            "price" => {
                if !(value.is_finite() && value > 0.0 && to_base(value).is_some()) {
                    return Err(format!(
                        "price {value}: expected a positive number of money units within {}",
                        range_advice("money")
                    ));
                }
                match &mut self.spec.pricing {
                    ResourcePricing::Fixed { price } => *price = value,
                    ResourcePricing::Adjustment { .. } => {}
                    ResourcePricing::Auction { .. } => {
                        return Err("an auction's price is set by its bids (its reserve price \
                                    is not a parameter that changes during a run)"
                            .into())
                    }
                }
                let source = self.state.quotes.source;
                self.state.set(value, source);
                Ok(())
            }
            other => Err(format!(
                "parameter {other:?}: a resource's parameters that change during a run are \
                 capacity and price"
            )),
        }
    }

    /// Decay and holding costs of a stock, arriving production (paid to its
    /// producers), and the capacity available.
    fn begin_step(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.start(m)
    }

    /// A request is collected (and its payment locked); production is paid
    /// for and scheduled.
    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        self.take(agent, action, m)
    }

    /// Allocates, settles, releases the locks and moves the price.
    fn end_step(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.allocate(m)
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

    fn clamps(&self) -> (Option<u64>, Option<u64>) {
        match &self.spec.pricing {
            ResourcePricing::Adjustment { rule, .. } if crate::market::batch::logarithmic(rule) => {
                (None, Some(self.log_ratio_capped))
            }
            _ => (None, None),
        }
    }

    /// Sets the capacity available this step, less the outage.
    fn set_outage(&mut self, share: f64, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.set_capacity(share, m)
    }
}

#[cfg(test)]
mod tests {

    /// A saved resource naming an agent past the last (a producer owed a
    /// delivery, a requester, an allocation) is refused when restored,
    /// before a step pays it (found by the `resume_checkpoint` fuzz
    /// target: the producer's account indexed past the ledger's); the last
    /// agent fits.
    #[test]
    fn a_saved_resource_naming_no_agent_is_refused() {
        let (s, sim) = crate::test_support::example_at("resource-economy", 6, 3);
        let good = sim.state();
        let agents = good.ledger.agents() as AgentId;
        let j = good
            .markets
            .iter()
            .position(|m| {
                m.as_deref()
                    .and_then(|b| {
                        crate::market::mechanism::decode_state::<ResourceMarketState>("r", b).ok()
                    })
                    .is_some()
            })
            .expect("a resource");
        let edited = |edit: &dyn Fn(&mut ResourceMarketState)| {
            let mut st = good.clone();
            let bytes = st.markets[j].take().unwrap();
            let mut m: ResourceMarketState =
                crate::market::mechanism::decode_state("r", &bytes).unwrap();
            edit(&mut m);
            st.markets[j] = crate::market::mechanism::encode_state(&m);
            crate::Simulation::new(&s, 0).unwrap().restore(st)
        };
        let edits: [&dyn Fn(&mut ResourceMarketState); 3] = [
            &|m| m.arrivals.entry(5).or_default().push((agents, 1)),
            &|m| m.requests.push((agents, Request::default(), 0)),
            &|m| m.allocations.push((agents, 1)),
        ];
        for edit in edits {
            let e = edited(edit).unwrap_err().to_string();
            assert!(
                e.contains(&format!(
                    "its state names agent {agents}, of {agents} agents"
                )),
                "{e}"
            );
        }
        edited(&|m| m.arrivals.entry(5).or_default().push((agents - 1, 0))).unwrap();
    }
    use super::*;

    #[test]
    fn units_for_is_the_floor_of_money_times_scale_over_price() {
        // 3 money units at 2 a unit: 1.5 units; 1 base unit at 3 base units
        // a unit: ⌊10⁹/3⌋ base units.
        assert_eq!(units_for(3 * SCALE, 2 * SCALE), 3 * SCALE / 2);
        assert_eq!(units_for(1, 3), 333_333_333);
        // A price of 0 counts as 1 base unit; past u64 the cap.
        assert_eq!(units_for(5, 0), 5 * SCALE);
        assert_eq!(units_for(u64::MAX, 1), u64::MAX);
        assert_eq!(units_for(0, 7), 0);
    }

    /// 10 units, shared in proportion, priced by `pricing`; no decay or
    /// holding cost.
    fn spec(renewing: bool, pricing: ResourcePricing) -> ResourceSpec {
        ResourceSpec {
            capacity: 10.0,
            renewing,
            decay: 0.0,
            holding_cost: 0.0,
            allocation: AllocationRule::Builtin(crate::resource::alloc::Rule::Proportional),
            pricing,
        }
    }

    /// [`spec`] at a fixed price.
    fn fixed_at(price: f64, renewing: bool) -> ResourceSpec {
        spec(renewing, ResourcePricing::Fixed { price })
    }

    #[test]
    fn a_renewing_capacity_set_during_a_run_is_what_the_step_allocates_and_a_stocks_is_refused() {
        let mut a = ResourceMarket::new(&fixed_at(2.0, true));
        assert_eq!(a.available, 10 * SCALE);
        a.set_param("capacity", 250.0).unwrap();
        assert_eq!((a.spec.capacity, a.available), (250.0, 250 * SCALE));
        // Under an outage of a fifth, with 7 base units of production
        // arrived this step: 4/5 of 100 units, and the 7.
        a.outage = 0.2;
        a.arrived = 7;
        a.set_param("capacity", 100.0).unwrap();
        assert_eq!((a.spec.capacity, a.available), (100.0, 80 * SCALE + 7));
        // Not a number of units in range: refused, nothing changed.
        for bad in [-1.0, f64::NAN, 1e300] {
            let e = a.set_param("capacity", bad).unwrap_err();
            assert!(
                e.starts_with(&format!("capacity {bad}: expected a number of units >= 0")),
                "{e}"
            );
            assert_eq!((a.spec.capacity, a.available), (100.0, 80 * SCALE + 7));
        }
        // Past the range only with the production added: refused.
        a.arrived = u64::MAX;
        let e = a.set_param("capacity", 1.0).unwrap_err();
        assert_eq!(e, "capacity 1: with production, past the range");
        assert_eq!(a.spec.capacity, 100.0);
        // A stock's capacity is its initial stock.
        let mut stock = ResourceMarket::new(&fixed_at(2.0, false));
        let e = stock.set_param("capacity", 5.0).unwrap_err();
        assert!(
            e.starts_with("a stock resource's capacity is its initial stock"),
            "{e}"
        );
        assert_eq!((stock.spec.capacity, stock.available), (10.0, 10 * SCALE));
    }

    #[test]
    fn a_price_set_during_a_run_is_a_positive_number_in_range_and_never_an_auctions() {
        let mut a = ResourceMarket::new(&fixed_at(2.0, true));
        a.set_param("price", 3.0).unwrap();
        assert_eq!(a.spec.pricing, ResourcePricing::Fixed { price: 3.0 });
        assert_eq!((a.price(0), a.mark(0)), (3.0, 3.0));
        // The source stays what it was (the initial price's, before step 1).
        assert_eq!(a.quotes().source, PriceSource::Initial);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
            let e = a.set_param("price", bad).unwrap_err();
            assert!(
                e.starts_with(&format!(
                    "price {bad}: expected a positive number of money units"
                )),
                "{e}"
            );
            assert_eq!(a.spec.pricing, ResourcePricing::Fixed { price: 3.0 });
            assert_eq!(a.price(0), 3.0);
        }
        // The smallest price: one base unit.
        a.set_param("price", 1e-9).unwrap();
        assert_eq!(a.price_base(), Some(1));
        // An auction's price comes from its bids.
        let mut auction =
            ResourceMarket::new(&spec(true, ResourcePricing::Auction { reserve_price: 1.5 }));
        let e = auction.set_param("price", 3.0).unwrap_err();
        assert!(
            e.starts_with("an auction's price is set by its bids"),
            "{e}"
        );
        assert_eq!(auction.price(0), 1.5);
        // Anything else is not a parameter.
        let e = a.set_param("fee", 0.1).unwrap_err();
        assert_eq!(
            e,
            "parameter \"fee\": a resource's parameters that change during a run are capacity and price"
        );
    }

    /// A mark past the ledger's range has no price in base units (no
    /// account could pay it: a fault only when a payment is due); one at
    /// the range's top has; a mark below 0 is priced at 0.
    #[test]
    fn a_mark_past_the_range_has_no_price_in_base_units() {
        let mut a = ResourceMarket::new(&fixed_at(2.0, true));
        for (mark, base) in [
            (2.0, Some(2 * SCALE)),
            (1.8e10, Some(18_000_000_000_000_000_000)),
            (2e10, None),
            (f64::INFINITY, None),
            (-1.0, Some(0)),
        ] {
            a.state.mark = mark;
            assert_eq!(a.price_base(), base, "mark {mark}");
            assert_eq!(a.price_base_memo(), base, "mark {mark}, remembered");
        }
    }

    #[test]
    fn a_fixed_price_set_during_a_run_survives_a_round_trip_of_the_state() {
        let fixed = fixed_at(2.0, true);
        let mut a = ResourceMarket::new(&fixed);
        a.set_param("price", 3.0).unwrap();
        let bytes = a.save_state().unwrap();
        let mut b = ResourceMarket::new(&fixed);
        b.load_state(&bytes).unwrap();
        assert_eq!(b.spec.pricing, ResourcePricing::Fixed { price: 3.0 });
        assert_eq!(b.price(0), 3.0);
        // A fixed price's state is not an auction's, nor the other way.
        let auction = spec(true, ResourcePricing::Auction { reserve_price: 1.0 });
        assert!(ResourceMarket::new(&auction).load_state(&bytes).is_err());
        let other = ResourceMarket::new(&auction).save_state().unwrap();
        assert!(ResourceMarket::new(&fixed).load_state(&other).is_err());
        // Sums no run has (more need met than needed, which the summary
        // subtracts) are refused.
        let mut met = ResourceMarket::new(&fixed);
        met.totals.need = 5;
        met.totals.met = 6;
        let e = ResourceMarket::new(&fixed)
            .load_state(&met.save_state().unwrap())
            .unwrap_err();
        assert!(e.contains("more than the 5 needed"), "{e}");
        met.totals.met = 5;
        ResourceMarket::new(&fixed)
            .load_state(&met.save_state().unwrap())
            .unwrap();
    }

    #[test]
    fn check_outcome_refuses_only_what_breaks_the_rules_promise() {
        let requests = [Request::new(5, 1), Request::new(3, 1)];
        let outcome = |allocations: Vec<u64>| Outcome {
            allocations,
            price: None,
        };
        // Below or at each request, within the capacity: fine.
        assert!(check_outcome("r", &requests, 6, &outcome(vec![5, 1])).is_ok());
        assert!(check_outcome("r", &requests, 8, &outcome(vec![5, 3])).is_ok());
        assert!(check_outcome("r", &requests, 0, &outcome(vec![0, 0])).is_ok());
        // Above a request, above the capacity, or one allocation short.
        assert!(check_outcome("r", &requests, 9, &outcome(vec![6, 0])).is_err());
        assert!(check_outcome("r", &requests, 7, &outcome(vec![5, 3])).is_err());
        assert!(check_outcome("r", &requests, 9, &outcome(vec![5])).is_err());
    }
}
