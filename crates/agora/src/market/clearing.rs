//! Batch clearing: one price for a whole batch of orders or schedules.
//!
//! Where a bonding curve prices each trade on its own, the mechanisms here
//! collect what every agent wants in a step and find the one price at which
//! the batch clears:
//!
//! - [`call_auction`]: the uniform-price call auction of an exchange's
//!   opening auction, over integer orders ([`BatchOrder`]) in ticks and base
//!   units. Exact, and it reports every order's fill.
//! - [`excess_demand`] and [`find_equilibrium`]: Walrasian clearing, the
//!   price at which demand `D(P)` equals supply `O(P)`, over agents' schedules
//!   ([`ScheduleEntry`]) and aggregate curves ([`Shape`]), in floating point.
//!   [`linear_equilibrium`], [`constant_elasticity_equilibrium`] and
//!   [`closed_form_equilibrium`] give the closed forms theory knows.
//! - [`ration`]: proportional rationing of the long side against the short
//!   side, in whole lots.
//! - [`PriceRule`]: the price-adjustment rule `ΔP = g(D − O, S)` — Walras'
//!   tatonnement, one step at a time.
//!
//! All of them are pure, deterministic and total: any input, however
//! degenerate (zero lots, `u64::MAX` amounts, NaN or infinite floats), gets
//! an answer and never a panic.

use std::cmp::Reverse;

use super::Side;
use crate::ledger::SCALE;

// ---------------------------------------------------------------------------
// Call auction
// ---------------------------------------------------------------------------

/// How much an order of a call auction trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Amount {
    /// Token base units. An amount that is not a multiple of the lot trades
    /// only its whole lots.
    Tokens(u64),
    /// Buy orders: spend at most this much money (base units). At price `p`
    /// the order's quantity is the largest lot multiple `q` with
    /// [`value`](super::value)`(p, tick, q) ≤ budget`. Meant for market buys
    /// but honoured on limit buys too. A sell order with a money amount
    /// trades nothing.
    Money(u64),
}

/// An order of a call auction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchOrder {
    /// Buy or sell.
    pub side: Side,
    /// Limit price in ticks: the highest price a buy accepts, the lowest a
    /// sell accepts. `None` is a market order, which accepts any price.
    pub limit: Option<u64>,
    /// How much the order trades.
    pub amount: Amount,
}

impl BatchOrder {
    /// Returns a limit order for `qty` token base units at `limit` ticks.
    pub fn limit_order(side: Side, limit: u64, qty: u64) -> Self {
        BatchOrder {
            side,
            limit: Some(limit),
            amount: Amount::Tokens(qty),
        }
    }

    /// Returns a market order (no limit) for `amount`.
    pub fn market_order(side: Side, amount: Amount) -> Self {
        BatchOrder {
            side,
            limit: None,
            amount,
        }
    }

    /// Returns whether the order accepts a trade at `price` ticks: a market
    /// order always, a buy if `price ≤ limit`, a sell if `price ≥ limit`.
    pub fn admits(&self, price: u64) -> bool {
        match (self.side, self.limit) {
            (_, None) => true,
            (Side::Buy, Some(limit)) => price <= limit,
            (Side::Sell, Some(limit)) => price >= limit,
        }
    }

    /// Returns the token base units the order is willing to trade at
    /// `price` ticks of `tick` money base units each, in whole multiples of
    /// `lot` (a `lot` of 0 counts as 1): 0 if its limit excludes the price.
    pub fn quantity_at(&self, price: u64, tick: u64, lot: u64) -> u64 {
        let lot = lot.max(1);
        if !self.admits(price) {
            return 0;
        }
        match (self.side, self.amount) {
            (_, Amount::Tokens(qty)) => qty / lot * lot,
            (Side::Buy, Amount::Money(budget)) => money_quantity(budget, price, tick, lot),
            (Side::Sell, Amount::Money(_)) => 0,
        }
    }
}

/// The largest lot multiple `q` with `floor(price · tick · q / SCALE) ≤
/// budget`, capped at the largest lot multiple of `u64`.
///
/// `floor(x / SCALE) ≤ budget ⇔ x ≤ (budget + 1)·SCALE − 1` for integer `x`,
/// so the bound is one exact `u128` division (every term fits: `price · tick
/// < 2¹²⁸` and `(budget + 1)·SCALE < 2⁹⁴`).
pub fn money_quantity(budget: u64, price: u64, tick: u64, lot: u64) -> u64 {
    let cap = u64::MAX / lot * lot;
    let unit = u128::from(price) * u128::from(tick);
    if unit == 0 {
        // Free tokens: nothing bounds the quantity but the integer type.
        return cap;
    }
    let most = ((u128::from(budget) + 1) * u128::from(SCALE) - 1) / unit;
    u64::try_from(most).map_or(cap, |q| q / lot * lot)
}

/// The outcome of a [`call_auction`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cleared {
    /// The clearing price in ticks: every fill trades at it.
    pub price: u64,
    /// Token base units traded: `Σ buy fills = Σ sell fills = volume`.
    pub volume: u64,
    /// Token base units executed per order, in the order of the input; each
    /// a multiple of the lot.
    pub fills: Vec<u64>,
    /// Total buy quantity willing to trade at `price` (saturated at
    /// `u64::MAX`).
    pub demand: u64,
    /// Total sell quantity willing to trade at `price` (saturated at
    /// `u64::MAX`).
    pub supply: u64,
}

/// Clears a batch of orders at a single price, as an exchange's opening
/// auction does; returns `None` if nothing can trade.
///
/// Prices are in ticks of `tick` money base units per whole token;
/// quantities are token base units, traded in whole multiples of `lot` (a
/// `lot` of 0 counts as 1).
///
/// # The price
///
/// The candidates are the limit prices of the orders and `last_price` (the
/// reference price) if given. Among them the price is chosen by, in turn:
///
/// 1. the **highest executable volume** `min(D(p), O(p))`, where `D(p)` is
///    the quantity of the buys that accept `p` and `O(p)` that of the sells;
/// 2. the **lowest surplus** `|D(p) − O(p)|`;
/// 3. the price **nearest `last_price`**: `last_price` itself when it ties on
///    (1) and (2), or else the tied candidate closest to it;
/// 4. the **lower** price (this is what decides when `last_price` is `None`).
///
/// Steps 1, 2 and 3 are the rules of Deutsche Börse's Xetra auctions (*T7
/// Market Model for the Trading Venue Xetra*, "auction price determination":
/// highest executable volume, then lowest surplus, then the reference price —
/// the reference price itself if it lies within the tied limits, else the
/// limit closest to it) and of Euronext's uncrossing (maximum volume, minimum
/// imbalance, then the reference price, which is the last traded price).
/// Both exchanges apply a *market-pressure* step between 2 and 3 (when the
/// surplus is on the buy side for every tied price, the highest; on the sell
/// side, the lowest); it is deliberately **not** applied here: every tied
/// price goes to the reference-price rule. With only market orders on both
/// sides the price is `last_price`, as on Xetra; without a last price they
/// cannot trade.
///
/// # The fills
///
/// Everyone trades at the one price. Orders that do not accept it (buy limit
/// below, sell limit above) get 0. The short side is filled completely; the
/// long side in price priority (market orders first, then the better limit:
/// higher for buys, lower for sells), then time priority (input order), each
/// order filled completely in turn and the last one partially, all in whole
/// lots. A budget ([`Amount::Money`]) order trades at most its quantity at the
/// clearing price, so the value of its fill never exceeds its budget.
///
/// The volume is capped at the largest lot multiple of `u64`, which only an
/// impossible ledger could reach.
///
/// The search uses that `D − O` is non-increasing in the price: a binary
/// search finds where it crosses zero, and the best candidates sit at the
/// crossing, so a batch of `n` orders clears in `O(n log n)` (plus, per
/// candidate examined, one pass over the budget orders).
pub fn call_auction(
    orders: &[BatchOrder],
    tick: u64,
    lot: u64,
    last_price: Option<u64>,
) -> Option<Cleared> {
    let lot = lot.max(1);
    let book = Book::new(orders, tick, lot);
    let mut prices: Vec<u64> = orders
        .iter()
        .filter_map(|o| o.limit)
        .chain(last_price)
        .collect();
    prices.sort_unstable();
    prices.dedup();

    // D − O is non-increasing in p: demand exceeds supply on a prefix of the
    // candidates. The volume min(D, O) rises (it is O) up to the crossing and
    // falls (it is D) after it, and the surplus |D − O| falls then rises, so
    // the best candidate is at k − 1 or k and the candidates that tie with
    // it on (volume, surplus) form a contiguous run around it.
    let k = prices.partition_point(|&p| {
        let (d, o) = book.depth(p);
        d > o
    });
    let mut best: Option<(usize, Eval)> = None;
    for i in [k.checked_sub(1), Some(k)].into_iter().flatten() {
        if let Some(&p) = prices.get(i) {
            let e = book.eval(p);
            if best.is_none_or(|(_, b)| e.better_than(&b)) {
                best = Some((i, e));
            }
        }
    }
    let (i, e) = best?;
    if e.volume == 0 {
        return None;
    }
    let (mut l, mut r) = (i, i);
    while l > 0 && book.eval(prices[l - 1]).ties(&e) {
        l -= 1;
    }
    while r + 1 < prices.len() && book.eval(prices[r + 1]).ties(&e) {
        r += 1;
    }
    // last_price is a candidate: if it lies within the tied run it is in the
    // run, and clamping picks it; otherwise clamping picks the nearest end.
    let price = last_price.map_or(prices[l], |q| q.max(prices[l]).min(prices[r]));
    let at = book.eval(price);
    let volume = u64::try_from(at.volume).unwrap_or(u64::MAX);

    let mut fills = vec![0; orders.len()];
    for side in [Side::Buy, Side::Sell] {
        allocate(orders, side, price, tick, lot, volume, &mut fills);
    }
    Some(Cleared {
        price,
        volume,
        fills,
        demand: u64::try_from(at.demand).unwrap_or(u64::MAX),
        supply: u64::try_from(at.supply).unwrap_or(u64::MAX),
    })
}

/// Fills `volume` on `side` in price-time priority at `price`.
fn allocate(
    orders: &[BatchOrder],
    side: Side,
    price: u64,
    tick: u64,
    lot: u64,
    volume: u64,
    fills: &mut [u64],
) {
    let mut queue: Vec<(usize, u64)> = orders
        .iter()
        .enumerate()
        .filter(|(_, o)| o.side == side)
        .map(|(i, o)| (i, o.quantity_at(price, tick, lot)))
        .filter(|&(_, q)| q > 0)
        .collect();
    // Market orders first, then the better limit, then input order.
    match side {
        Side::Buy => {
            queue.sort_by_key(|&(i, _)| (orders[i].limit.is_some(), Reverse(orders[i].limit), i))
        }
        Side::Sell => queue.sort_by_key(|&(i, _)| (orders[i].limit.is_some(), orders[i].limit, i)),
    }
    let mut left = volume;
    for (i, q) in queue {
        if left == 0 {
            break;
        }
        let fill = q.min(left);
        fills[i] = fill;
        left -= fill;
    }
}

/// Demand and supply of a batch at any price, fast.
struct Book {
    /// Σ token market buys and sells (lot-rounded).
    market_buys: u128,
    market_sells: u128,
    /// Token limit buys by ascending limit; `buys_from[i]` = Σ qty of
    /// `buy_limits[i..]`.
    buy_limits: Vec<u64>,
    buys_from: Vec<u128>,
    /// Token limit sells by ascending limit; `sells_to[i]` = Σ qty of
    /// `sell_limits[..i]`.
    sell_limits: Vec<u64>,
    sells_to: Vec<u128>,
    /// Budget buys (limit, budget): their quantity depends on the price.
    money_buys: Vec<(Option<u64>, u64)>,
    tick: u64,
    lot: u64,
    /// The largest lot multiple of u64: the most one clearing can trade.
    cap: u128,
}

/// Depth of the book at one price.
#[derive(Debug, Clone, Copy)]
struct Eval {
    demand: u128,
    supply: u128,
    volume: u128,
    surplus: u128,
}

impl Eval {
    fn better_than(&self, other: &Eval) -> bool {
        (self.volume, Reverse(self.surplus)) > (other.volume, Reverse(other.surplus))
    }

    fn ties(&self, other: &Eval) -> bool {
        self.volume == other.volume && self.surplus == other.surplus
    }
}

impl Book {
    fn new(orders: &[BatchOrder], tick: u64, lot: u64) -> Book {
        let mut market_buys = 0u128;
        let mut market_sells = 0u128;
        let mut buys = Vec::new();
        let mut sells = Vec::new();
        let mut money_buys = Vec::new();
        for o in orders {
            match (o.side, o.amount, o.limit) {
                (Side::Buy, Amount::Money(budget), limit) => money_buys.push((limit, budget)),
                (Side::Sell, Amount::Money(_), _) => {}
                (Side::Buy, Amount::Tokens(q), None) => market_buys += u128::from(q / lot * lot),
                (Side::Sell, Amount::Tokens(q), None) => market_sells += u128::from(q / lot * lot),
                (Side::Buy, Amount::Tokens(q), Some(l)) => buys.push((l, q / lot * lot)),
                (Side::Sell, Amount::Tokens(q), Some(l)) => sells.push((l, q / lot * lot)),
            }
        }
        buys.sort_unstable();
        sells.sort_unstable();
        let mut buys_from = vec![0u128; buys.len() + 1];
        for (i, &(_, q)) in buys.iter().enumerate().rev() {
            buys_from[i] = buys_from[i + 1] + u128::from(q);
        }
        let mut sells_to = vec![0u128; sells.len() + 1];
        for (i, &(_, q)) in sells.iter().enumerate() {
            sells_to[i + 1] = sells_to[i] + u128::from(q);
        }
        Book {
            market_buys,
            market_sells,
            buy_limits: buys.iter().map(|&(l, _)| l).collect(),
            buys_from,
            sell_limits: sells.iter().map(|&(l, _)| l).collect(),
            sells_to,
            money_buys,
            tick,
            lot,
            cap: u128::from(u64::MAX / lot * lot),
        }
    }

    /// (D(p), O(p)).
    fn depth(&self, p: u64) -> (u128, u128) {
        let first_buy = self.buy_limits.partition_point(|&l| l < p);
        let money: u128 = self
            .money_buys
            .iter()
            .filter(|&&(limit, _)| limit.is_none_or(|l| p <= l))
            .map(|&(_, budget)| u128::from(money_quantity(budget, p, self.tick, self.lot)))
            .sum();
        let demand = self.market_buys + self.buys_from[first_buy] + money;
        let last_sell = self.sell_limits.partition_point(|&l| l <= p);
        let supply = self.market_sells + self.sells_to[last_sell];
        (demand, supply)
    }

    fn eval(&self, p: u64) -> Eval {
        let (demand, supply) = self.depth(p);
        Eval {
            demand,
            supply,
            volume: demand.min(supply).min(self.cap),
            surplus: demand.abs_diff(supply),
        }
    }
}

// ---------------------------------------------------------------------------
// Walrasian equilibrium
// ---------------------------------------------------------------------------

/// An aggregate demand or supply curve, quantity as a function of price (in
/// token units and money units per token).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Demand `D = a − b·P` (`intercept` = a, `slope` = b), supply
    /// `O = c + d·P` (`intercept` = c, `slope` = d), both floored at 0 (a
    /// demand never turns into supply above `a/b`, nor a supply into demand
    /// below `−c/d`; [`Shape::demand_floored_at`] and
    /// [`Shape::supply_floored_at`] say where the floor binds, and the
    /// engine counts those steps); the coefficients are named as in the
    /// scenario file. Slopes are expected non-negative, so demand falls and
    /// supply rises with the price.
    Linear {
        /// `a` for demand, `c` for supply: the quantity at price 0.
        intercept: f64,
        /// `b` for demand, `d` for supply: the change per unit of price.
        slope: f64,
    },
    /// `Q = scale · P^exponent`, floored at 0; for demand `exponent =
    /// −elasticity < 0`, for supply `exponent = elasticity > 0`.
    ConstantElasticity {
        /// Quantity at price 1.
        scale: f64,
        /// Price elasticity, negative for demand, positive for supply.
        exponent: f64,
    },
}

impl Shape {
    /// Returns the quantity demanded at price `p`: `max(0, a − b·p)` or
    /// `max(0, scale · p^exponent)`; 0 wherever the formula gives NaN.
    pub fn demand_at(&self, p: f64) -> f64 {
        match *self {
            Shape::Linear { intercept, slope } => (intercept - slope * p).max(0.0),
            Shape::ConstantElasticity { scale, exponent } => (scale * p.powf(exponent)).max(0.0),
        }
    }

    /// Returns the quantity supplied at price `p`: `max(0, c + d·p)` or
    /// `max(0, scale · p^exponent)`; 0 wherever the formula gives NaN.
    pub fn supply_at(&self, p: f64) -> f64 {
        match *self {
            Shape::Linear { intercept, slope } => (intercept + slope * p).max(0.0),
            Shape::ConstantElasticity { scale, exponent } => (scale * p.powf(exponent)).max(0.0),
        }
    }

    /// Returns whether [`Shape::demand_at`] floors the formula at 0 at price
    /// `p`: a linear demand with `a − b·p < 0` (a constant-elasticity one is
    /// never negative).
    pub fn demand_floored_at(&self, p: f64) -> bool {
        match *self {
            Shape::Linear { intercept, slope } => intercept - slope * p < 0.0,
            Shape::ConstantElasticity { .. } => false,
        }
    }

    /// Returns whether [`Shape::supply_at`] floors the formula at 0 at price
    /// `p`: a linear supply with `c + d·p < 0`.
    pub fn supply_floored_at(&self, p: f64) -> bool {
        match *self {
            Shape::Linear { intercept, slope } => intercept + slope * p < 0.0,
            Shape::ConstantElasticity { .. } => false,
        }
    }
}

/// How much an agent's schedule entry trades, in units (tokens or money).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScheduleAmount {
    /// A fixed number of tokens.
    Tokens(f64),
    /// Buys: a money budget, worth `budget / P` tokens at price `P`. A sell
    /// with a money amount supplies nothing (it would make supply fall with
    /// the price).
    Money(f64),
}

/// An agent's entry in a Walrasian schedule: a step (or, with a budget, a
/// hyperbola) of demand or supply, in token units.
///
/// A buy takes its quantity at every price `P ≤ limit`, a sell offers it at
/// every `P ≥ limit`; a `None` limit accepts any price. Negative and NaN
/// quantities count as 0, so demand never rises and supply never falls with
/// the price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduleEntry {
    /// Buy (demand) or sell (supply).
    pub side: Side,
    /// Limit price in money units per token; `None` accepts any price.
    pub limit: Option<f64>,
    /// What the entry trades where its limit admits the price.
    pub amount: ScheduleAmount,
}

impl ScheduleEntry {
    /// Returns the tokens this entry demands (buy) or supplies (sell) at
    /// price `p`: 0 where its limit excludes `p`, `budget / p` for a budget
    /// buy (infinite at `p = 0`), never negative or NaN.
    pub fn quantity_at(&self, p: f64) -> f64 {
        let admits = match (self.side, self.limit) {
            (_, None) => true,
            (Side::Buy, Some(limit)) => p <= limit,
            (Side::Sell, Some(limit)) => p >= limit,
        };
        if !admits {
            return 0.0;
        }
        let q = match (self.side, self.amount) {
            (_, ScheduleAmount::Tokens(q)) => q,
            (Side::Buy, ScheduleAmount::Money(budget)) => budget / p,
            (Side::Sell, ScheduleAmount::Money(_)) => 0.0,
        };
        q.max(0.0)
    }
}

/// Returns the excess demand `D(p) − O(p)` at price `p`: the agents'
/// schedule entries plus the optional aggregate curves.
///
/// Non-increasing in `p` for non-negative slopes and the signs of exponents
/// [`Shape`] documents. NaN only where both sides are infinite (e.g. a budget
/// buy at `p = 0` against a supply curve infinite there), which
/// [`find_equilibrium`] reports as no equilibrium.
pub fn excess_demand(
    p: f64,
    entries: &[ScheduleEntry],
    demand: Option<&Shape>,
    supply: Option<&Shape>,
) -> f64 {
    let mut d = demand.map_or(0.0, |s| s.demand_at(p));
    let mut o = supply.map_or(0.0, |s| s.supply_at(p));
    for e in entries {
        match e.side {
            Side::Buy => d += e.quantity_at(p),
            Side::Sell => o += e.quantity_at(p),
        }
    }
    d - o
}

/// A price range wide enough for any market the engine can represent: from
/// one base unit (1e-9) to a billion money units per token.
pub const DEFAULT_PRICE_RANGE: (f64, f64) = (1e-9, 1e9);

/// Relative width of the final bracket of [`find_equilibrium`].
const PRICE_TOLERANCE: f64 = 1e-12;

/// Returns the market-clearing price in `[lo, hi]` of a non-increasing
/// excess-demand function, by bracketing bisection.
///
/// The answer is the boundary between the prices with positive excess and
/// those with excess ≤ 0, to `1e-12` relative: the root where `excess`
/// crosses zero continuously; the price of the jump where a step (an agent's
/// limit) takes it across zero without a root; the lowest clearing price
/// where it is zero on a whole interval; `lo` if `excess(lo) == 0`.
///
/// Returns `None` when there is no equilibrium in the range (`excess(lo) <
/// 0`, or `excess(hi) > 0`), when the range is invalid (`lo`, `hi` not
/// finite, `lo < 0` or `lo ≥ hi`), or when `excess` returns NaN at a probed
/// price.
///
/// Bisection with a sign test is used rather than Brent's method because
/// excess demand made of agents' limits is a step function, on which
/// interpolating methods lose their guarantees. The bisection is geometric
/// (midpoint `√(a·b)`) while the bracket spans more than a factor 4, so a
/// price anywhere in [`DEFAULT_PRICE_RANGE`] is found in about 50
/// evaluations.
pub fn find_equilibrium(mut excess: impl FnMut(f64) -> f64, lo: f64, hi: f64) -> Option<f64> {
    if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && lo < hi) {
        return None;
    }
    let f_lo = excess(lo);
    let f_hi = excess(hi);
    if f_lo.is_nan() || f_hi.is_nan() || f_lo < 0.0 || f_hi > 0.0 {
        return None;
    }
    if f_lo == 0.0 {
        return Some(lo);
    }
    // Invariant: excess(a) > 0 ≥ excess(b).
    let (mut a, mut b) = (lo, hi);
    // Enough for the arithmetic halving from 1e9 down to subnormals when the
    // boundary is at 0; a bracket of positive prices needs about 50.
    for _ in 0..2_000 {
        if b - a <= PRICE_TOLERANCE * a {
            break;
        }
        let mid = if a > 0.0 && b > 4.0 * a {
            a.sqrt() * b.sqrt()
        } else {
            a + (b - a) * 0.5
        };
        if mid <= a || mid >= b {
            break; // no float left between a and b
        }
        let f = excess(mid);
        if f.is_nan() {
            return None;
        }
        if f > 0.0 {
            a = mid;
        } else {
            b = mid;
        }
    }
    Some(a + (b - a) * 0.5)
}

/// Returns the equilibrium `P* = (a − c)/(b + d)` of linear demand
/// `D = a − b·P` and supply `O = c + d·P`, or `None` unless it is finite and
/// positive.
///
/// This is the crossing of the unfloored lines. If the quantity there is
/// negative, the floored curves are both 0 on `[a/b, −c/d]`, which contains
/// `P*`: no trade, and every price in that interval clears.
pub fn linear_equilibrium(a: f64, b: f64, c: f64, d: f64) -> Option<f64> {
    let p = (a - c) / (b + d);
    (p.is_finite() && p > 0.0).then_some(p)
}

/// Returns the equilibrium of constant-elasticity demand `D = A·P^α` and
/// supply `O = B·P^β`: `P* = (B/A)^(1/(α − β))`, or `None` unless the scales
/// are positive, the exponents differ and `P*` is finite and positive.
///
/// With `α < 0 < β` (the signs [`Shape::ConstantElasticity`] documents) the
/// equilibrium is unique and stable.
pub fn constant_elasticity_equilibrium(
    demand_scale: f64,
    demand_exponent: f64,
    supply_scale: f64,
    supply_exponent: f64,
) -> Option<f64> {
    if !(demand_scale > 0.0 && supply_scale > 0.0) || demand_exponent == supply_exponent {
        return None;
    }
    let p = (supply_scale / demand_scale).powf(1.0 / (demand_exponent - supply_exponent));
    (p.is_finite() && p > 0.0).then_some(p)
}

/// Returns the closed-form equilibrium of an aggregate demand and supply
/// curve of the same kind ([`linear_equilibrium`],
/// [`constant_elasticity_equilibrium`]); `None` for mixed kinds (use
/// [`find_equilibrium`] on [`excess_demand`]) or where those return `None`.
pub fn closed_form_equilibrium(demand: &Shape, supply: &Shape) -> Option<f64> {
    match (*demand, *supply) {
        (
            Shape::Linear {
                intercept: a,
                slope: b,
            },
            Shape::Linear {
                intercept: c,
                slope: d,
            },
        ) => linear_equilibrium(a, b, c, d),
        (
            Shape::ConstantElasticity {
                scale: da,
                exponent: de,
            },
            Shape::ConstantElasticity {
                scale: sa,
                exponent: se,
            },
        ) => constant_elasticity_equilibrium(da, de, sa, se),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Rationing
// ---------------------------------------------------------------------------

/// Splits `available` among `requests` (token base units) in proportion to
/// the requests, in whole multiples of `lot` (a `lot` of 0 counts as 1).
///
/// If `Σ requests ≤ available`, everyone gets its request (whole lots or
/// not). Otherwise each request `r_i` first gets its proportional share
/// rounded down to whole lots, `⌊r_i · available / Σ r / lot⌋ · lot`
/// (computed exactly in integers); the lots left over then go one lot each,
/// in input order, to the requests that have room for one more; any lots
/// still left (possible only when some requests are too small to take
/// another lot) go, in input order, to whoever still has room.
///
/// The result is exact: `Σ result ≤ available`, each result is at most its
/// request and at least its proportional floor, and no further whole lot
/// could be handed out (fewer than `lot` units are left, or every request is
/// at its last whole lot).
pub fn ration(requests: &[u64], available: u64, lot: u64) -> Vec<u64> {
    let lot = lot.max(1);
    let total: u128 = requests.iter().map(|&r| u128::from(r)).sum();
    let avail = u128::from(available);
    if total <= avail {
        return requests.to_vec();
    }
    // total > available ≥ 0, and r·available < 2¹²⁸.
    let mut out: Vec<u64> = requests
        .iter()
        .map(|&r| {
            let share = u128::from(r) * avail / total; // < r
            u64::try_from(share).map_or(0, |s| s / lot * lot)
        })
        .collect();
    let given: u128 = out.iter().map(|&q| u128::from(q)).sum();
    // Σ shares ≤ Σ r·available/total = available; and Σ (exact share −
    // floored share) < n·lot, so fewer lots are left than there are requests.
    let mut left = u64::try_from(avail - given).unwrap_or(0);
    for (o, &r) in out.iter_mut().zip(requests) {
        if left < lot {
            break;
        }
        if r - *o >= lot {
            *o += lot;
            left -= lot;
        }
    }
    for (o, &r) in out.iter_mut().zip(requests) {
        if left < lot {
            break;
        }
        let take = ((r - *o) / lot).min(left / lot) * lot;
        *o += take;
        left -= take;
    }
    out
}

// ---------------------------------------------------------------------------
// Price adjustment
// ---------------------------------------------------------------------------

/// The form of `g` in the price-adjustment rule `ΔP = g(D − O, S)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adjustment {
    /// `ΔP = λ·(D − O)`: Walras' tatonnement. With linear `D = a − b·P`,
    /// `O = c + d·P` the error to `P*` is multiplied by `1 − λ(b + d)` each
    /// step: it converges if `0 < λ(b + d) < 2`, oscillates with constant
    /// amplitude at 2, and diverges above.
    Linear {
        /// λ, in money per token per token of excess demand.
        lambda: f64,
    },
    /// `ΔP = λ·(D − O)/S`: excess demand as a fraction of `S` (the asset's
    /// supply or a resource's capacity). A size that is not positive and
    /// finite leaves the price unchanged.
    Proportional {
        /// λ, in money per token per unit of relative excess demand.
        lambda: f64,
    },
    /// `ln P' = ln P + λ·ln(D/O)`: multiplicative, so the price stays
    /// positive. `D = O = 0` leaves the price unchanged; `ln(D/O)` is clamped
    /// to `±`[`MAX_LOG_RATIO`], so a market with one side empty (`D/O` = 0
    /// or ∞) moves as if the ratio were `10⁻⁶` or `10⁶` — bound the step with
    /// [`PriceRule::max_relative_change`] for a gentler move.
    /// [`PriceRule::caps_log_ratio`] says when the cap binds (the engine
    /// counts those steps).
    Logarithmic {
        /// λ, dimensionless.
        lambda: f64,
    },
}

/// The bound on `|ln(D/O)|` of [`Adjustment::Logarithmic`]: `ln 10⁶`.
pub const MAX_LOG_RATIO: f64 = 13.815_510_557_964_274;

/// A price-adjustment rule `ΔP = g(D − O, S)` with optional bounds on the
/// step and a floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceRule {
    /// The form of `g`.
    pub adjustment: Adjustment,
    /// Optional bound on `|ΔP|` per step (money per token); a negative or
    /// NaN bound is ignored.
    pub max_change: Option<f64>,
    /// Optional bound on `|ΔP|/P` per step; a negative or NaN bound is
    /// ignored.
    pub max_relative_change: Option<f64>,
    /// Price floor, `> 0`; a floor that is not positive acts as the smallest
    /// positive normal `f64`.
    pub min_price: f64,
}

impl PriceRule {
    /// Returns whether [`PriceRule::next`] caps `|ln(D/O)|` at
    /// [`MAX_LOG_RATIO`] for these quantities: a logarithmic rule with one
    /// side empty, or one more than 10⁶ times the other (always false for
    /// the other rules, which have no such cap).
    pub fn caps_log_ratio(&self, demand: f64, supply: f64) -> bool {
        match self.adjustment {
            Adjustment::Logarithmic { .. } => {
                let (d, o) = (quantity(demand), quantity(supply));
                !(d == 0.0 && o == 0.0) && (d.ln() - o.ln()).abs() > MAX_LOG_RATIO
            }
            _ => false,
        }
    }

    /// Returns the price after one step from `price` given demand `demand`,
    /// supply `supply` and size `size` (the asset's supply, or a resource's
    /// capacity).
    ///
    /// The step `ΔP` of the [`Adjustment`] is bounded by `max_change`, then
    /// by `max_relative_change · P`, and the result is floored at
    /// `min_price`. The result is always finite, at least `min_price` and at
    /// most `f64::MAX`, never NaN: a NaN or non-positive `price` counts as
    /// the floor, NaN or negative quantities as 0, infinite ones as
    /// `f64::MAX`, and a step that comes out NaN as no step.
    pub fn next(&self, price: f64, demand: f64, supply: f64, size: f64) -> f64 {
        let floor = if self.min_price > 0.0 {
            self.min_price.min(f64::MAX)
        } else {
            f64::MIN_POSITIVE
        };
        let p = if price.is_nan() {
            floor
        } else {
            price.max(floor).min(f64::MAX)
        };
        let d = quantity(demand);
        let o = quantity(supply);
        // The rules give the next price itself rather than a step, so that
        // the multiplicative rule keeps its relative accuracy near 0.
        let target = match self.adjustment {
            Adjustment::Linear { lambda } => p + lambda * (d - o),
            Adjustment::Proportional { lambda } => {
                if size > 0.0 && size.is_finite() {
                    p + lambda * ((d - o) / size)
                } else {
                    p
                }
            }
            Adjustment::Logarithmic { lambda } => {
                if d == 0.0 && o == 0.0 {
                    p
                } else {
                    // ln 0 = −∞: a side that is empty saturates the clamp.
                    // Not NaN: d and o are finite and not both 0.
                    let r = (d.ln() - o.ln()).clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO);
                    p * (lambda * r).exp()
                }
            }
        };
        let mut target = if target.is_nan() { p } else { target };
        if let Some(m) = self.max_change.filter(|&m| m >= 0.0) {
            target = target.max(p - m).min(p + m);
        }
        if let Some(r) = self.max_relative_change.filter(|&r| r >= 0.0) {
            let m = r * p;
            target = target.max(p - m).min(p + m);
        }
        target.max(floor).min(f64::MAX)
    }
}

/// A quantity fit for a price rule: NaN and negatives are 0, +∞ is
/// `f64::MAX`.
fn quantity(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, f64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::value;
    use proptest::prelude::*;

    const T: u64 = SCALE; // one whole token in base units

    fn buy(limit: u64, tokens: u64) -> BatchOrder {
        BatchOrder::limit_order(Side::Buy, limit, tokens * T)
    }

    fn sell(limit: u64, tokens: u64) -> BatchOrder {
        BatchOrder::limit_order(Side::Sell, limit, tokens * T)
    }

    fn rel(x: f64, y: f64) -> f64 {
        (x - y).abs() / y.abs()
    }

    // ---- call auction -----------------------------------------------------

    /// Checks the invariants every clearing keeps.
    fn check_fills(orders: &[BatchOrder], tick: u64, lot: u64, c: &Cleared) {
        let lot = lot.max(1);
        assert_eq!(c.fills.len(), orders.len());
        let (mut bought, mut sold) = (0u128, 0u128);
        for (o, &f) in orders.iter().zip(&c.fills) {
            assert!(
                f <= o.quantity_at(c.price, tick, lot),
                "{o:?} fill {f} at {}",
                c.price
            );
            assert_eq!(f % lot, 0, "{o:?} fill {f} is not whole lots of {lot}");
            if f > 0 {
                assert!(o.admits(c.price), "{o:?} filled at {}", c.price);
            }
            if let (Side::Buy, Amount::Money(budget)) = (o.side, o.amount) {
                assert!(value(c.price, tick, f) <= u128::from(budget));
            }
            match o.side {
                Side::Buy => bought += u128::from(f),
                Side::Sell => sold += u128::from(f),
            }
        }
        assert_eq!(bought, u128::from(c.volume));
        assert_eq!(sold, u128::from(c.volume));
        assert_eq!(c.volume, c.demand.min(c.supply));
    }

    #[test]
    fn a_linear_schedule_is_floored_where_its_line_is_negative_and_only_there() {
        // Demand 10 − 2P is negative above P = 5, supply −6 + 3P below P = 2;
        // a constant-elasticity schedule is never negative.
        let demand = Shape::Linear {
            intercept: 10.0,
            slope: 2.0,
        };
        let supply = Shape::Linear {
            intercept: -6.0,
            slope: 3.0,
        };
        let elastic = Shape::ConstantElasticity {
            scale: 4.0,
            exponent: 1.5,
        };
        for p in [0.0, 1.0, 1.5, 2.0, 3.0, 5.0, 5.5, 8.0] {
            assert_eq!(demand.demand_floored_at(p), p > 5.0, "demand at {p}");
            assert_eq!(supply.supply_floored_at(p), p < 2.0, "supply at {p}");
            assert_eq!(demand.demand_at(p), (10.0 - 2.0 * p).max(0.0));
            assert_eq!(supply.supply_at(p), (3.0 * p - 6.0).max(0.0));
            assert!(!elastic.demand_floored_at(p) && !elastic.supply_floored_at(p));
        }
    }

    #[test]
    fn hand_computed_book_clears_at_the_volume_maximising_price() {
        // Bids: B1 3@105, B2 2@103, B3 4@101, B4 5@99
        // Asks: S1 2@98,  S2 3@100, S3 3@101, S4 5@104
        //
        //   p     98  99 100 101 103 104 105
        //   D(p)  14  14   9   9   5   3   3
        //   O(p)   2   2   5   8   8  13  13
        //   vol    2   2   5   8   5   3   3
        //
        // The volume peaks alone at 101: 8 tokens, surplus 1 on the buy side.
        // Sells are the short side: S1, S2, S3 in full; S4 (104 > 101) none.
        // Buys by price priority: B1 3, B2 2, B3 the remaining 3 of its 4,
        // B4 (99 < 101) none.
        let orders = [
            buy(105, 3),
            buy(103, 2),
            buy(101, 4),
            buy(99, 5),
            sell(98, 2),
            sell(100, 3),
            sell(101, 3),
            sell(104, 5),
        ];
        for last in [None, Some(50), Some(101), Some(200)] {
            let c = call_auction(&orders, 1, T, last).unwrap();
            assert_eq!(c.price, 101);
            assert_eq!(c.volume, 8 * T);
            assert_eq!((c.demand, c.supply), (9 * T, 8 * T));
            let expected: Vec<u64> = [3, 2, 3, 0, 2, 3, 3, 0].iter().map(|&t| t * T).collect();
            assert_eq!(c.fills, expected);
            check_fills(&orders, 1, T, &c);
        }
    }

    #[test]
    fn equal_volume_and_surplus_goes_to_the_price_nearest_the_last_price() {
        // D = O = 10 at both 99 and 101 (and at every price between).
        let orders = [buy(101, 10), sell(99, 10)];
        let price = |last| call_auction(&orders, 1, T, last).unwrap().price;
        assert_eq!(price(None), 99, "no reference price: the lower");
        assert_eq!(
            price(Some(100)),
            100,
            "the reference price itself, between the limits"
        );
        assert_eq!(price(Some(150)), 101);
        assert_eq!(price(Some(20)), 99);
        assert_eq!(price(Some(101)), 101);
    }

    #[test]
    fn lower_surplus_beats_nearness_to_the_last_price() {
        // Bids 5@102, 3@100; asks 5@99, 4@101.
        //   p      99 100 101 102
        //   D(p)    8   8   5   5
        //   O(p)    5   5   9   9
        //   vol     5   5   5   5
        //   surplus 3   3   4   4
        // Same volume everywhere; the surplus picks {99, 100}; the last price
        // 101 is not among them, so the nearest of them, 100, wins.
        let orders = [buy(102, 5), buy(100, 3), sell(99, 5), sell(101, 4)];
        let c = call_auction(&orders, 1, T, Some(101)).unwrap();
        assert_eq!((c.price, c.volume), (100, 5 * T));
        check_fills(&orders, 1, T, &c);
        let c = call_auction(&orders, 1, T, None).unwrap();
        assert_eq!((c.price, c.volume), (99, 5 * T));
        // Buys are the long side at 99: 5@102 first, so 3@100 gets nothing.
        assert_eq!(c.fills, vec![5 * T, 0, 5 * T, 0]);
    }

    #[test]
    fn market_orders_alone_trade_at_the_last_price() {
        let orders = [
            BatchOrder::market_order(Side::Buy, Amount::Tokens(10 * T)),
            BatchOrder::market_order(Side::Sell, Amount::Tokens(6 * T)),
        ];
        assert_eq!(call_auction(&orders, 1, T, None), None);
        let c = call_auction(&orders, 1, T, Some(100)).unwrap();
        assert_eq!((c.price, c.volume), (100, 6 * T));
        assert_eq!(c.fills, vec![6 * T, 6 * T]);
    }

    #[test]
    fn market_orders_go_first_and_equal_limits_in_input_order() {
        // At 100 and 110 alike D = 10, O = 6: the lower wins. The market buy
        // is served before the limits, then the first of two equal limits.
        let orders = [
            buy(110, 4),
            buy(110, 3),
            BatchOrder::market_order(Side::Buy, Amount::Tokens(3 * T)),
            sell(100, 6),
        ];
        let c = call_auction(&orders, 1, T, None).unwrap();
        assert_eq!((c.price, c.volume), (100, 6 * T));
        assert_eq!(c.fills, vec![3 * T, 0, 3 * T, 6 * T]);
        // The last price moves the price within the tie, not the allocation.
        let c = call_auction(&orders, 1, T, Some(105)).unwrap();
        assert_eq!(c.price, 105);
        assert_eq!(c.fills, vec![3 * T, 0, 3 * T, 6 * T]);
    }

    #[test]
    fn a_market_buy_against_limit_sells_takes_the_price_that_fills_it() {
        // D = 5 everywhere; O(99) = 3, O(101) = 7: volume 5 at 101.
        let orders = [
            BatchOrder::market_order(Side::Buy, Amount::Tokens(5 * T)),
            sell(99, 3),
            sell(101, 4),
        ];
        let c = call_auction(&orders, 1, T, None).unwrap();
        assert_eq!((c.price, c.volume), (101, 5 * T));
        assert_eq!(c.fills, vec![5 * T, 3 * T, 2 * T]);
    }

    #[test]
    fn a_budget_buys_the_whole_lots_it_can_pay_for() {
        // tick = 0.01 money, so 100 ticks = 1 money per token. 2.5 money buys
        // 2.5 tokens, 2 whole lots of one token.
        let tick = SCALE / 100;
        let orders = [
            BatchOrder::market_order(Side::Buy, Amount::Money(2 * SCALE + SCALE / 2)),
            sell(100, 10),
        ];
        let c = call_auction(&orders, tick, T, None).unwrap();
        assert_eq!((c.price, c.volume), (100, 2 * T));
        assert_eq!(c.fills, vec![2 * T, 2 * T]);
        assert_eq!(value(100, tick, 2 * T), 2 * SCALE as u128);
        // With a lot of one base unit it spends all of it.
        let c = call_auction(&orders, tick, 1, None).unwrap();
        assert_eq!(c.volume, 2 * T + T / 2);
        assert_eq!(
            value(100, tick, c.volume),
            2 * SCALE as u128 + SCALE as u128 / 2
        );
        // One base unit of money short of the next lot.
        let orders = [
            BatchOrder::market_order(Side::Buy, Amount::Money(3 * SCALE - 1)),
            sell(100, 10),
        ];
        assert_eq!(call_auction(&orders, tick, T, None).unwrap().volume, 2 * T);
    }

    /// A budget bounds nothing when tokens are free (a price or a tick of
    /// 0) or when it would buy more than a `u64` holds: the quantity is then
    /// the largest whole number of lots in `u64::MAX` (2⁶⁴ − 1, odd, a
    /// multiple of 3 and 5), not `u64::MAX` itself.
    #[test]
    fn a_budget_without_a_bound_buys_the_most_whole_lots_a_u64_holds() {
        for (lot, most) in [
            (1, u64::MAX),
            (2, u64::MAX - 1),
            (3, u64::MAX),
            (1 << 20, u64::MAX - (1 << 20) + 1),
            (u64::MAX, u64::MAX),
        ] {
            assert_eq!(money_quantity(5, 0, 7, lot), most, "price 0, lot {lot}");
            assert_eq!(money_quantity(5, 7, 0, lot), most, "tick 0, lot {lot}");
            // u64::MAX money at one base unit a token: 2⁶⁴·SCALE − 1 of them
            assert_eq!(money_quantity(u64::MAX, 1, 1, lot), most, "lot {lot}");
        }
        // bounded: 10 money at 3 money a token (300 ticks of 0.01) buys 3
        // whole tokens, and 3.33… in lots of one base unit
        let tick = SCALE / 100;
        assert_eq!(money_quantity(10 * SCALE, 300, tick, T), 3 * T);
        assert_eq!(money_quantity(10 * SCALE, 300, tick, 1), 10 * SCALE / 3);
    }

    #[test]
    fn a_money_sell_trades_nothing() {
        let orders = [
            buy(100, 5),
            BatchOrder::market_order(Side::Sell, Amount::Money(5 * T)),
        ];
        assert_eq!(call_auction(&orders, 1, T, Some(100)), None);
    }

    #[test]
    fn quantities_trade_in_whole_lots() {
        // 2.5 and 1.7 tokens, lots of one token: 2 and 1 lots.
        let orders = [
            BatchOrder::limit_order(Side::Buy, 100, 2 * T + T / 2),
            BatchOrder::limit_order(Side::Sell, 100, T + 7 * T / 10),
            BatchOrder::limit_order(Side::Sell, 100, 3 * T / 4),
        ];
        let c = call_auction(&orders, 1, T, None).unwrap();
        assert_eq!(c.fills, vec![T, T, 0]);
        // Lots of a quarter token: 10 and 6 + 3 quarters.
        let c = call_auction(&orders, 1, T / 4, None).unwrap();
        assert_eq!(c.volume, 9 * T / 4);
        assert_eq!(c.fills, vec![9 * T / 4, 6 * T / 4, 3 * T / 4]);
    }

    #[test]
    fn nothing_to_cross_gives_none() {
        assert_eq!(call_auction(&[], 1, T, Some(100)), None);
        assert_eq!(
            call_auction(&[buy(100, 1), buy(101, 2)], 1, T, Some(100)),
            None
        );
        assert_eq!(
            call_auction(&[buy(99, 1), sell(100, 1)], 1, T, Some(100)),
            None
        );
        // Less than a lot on one side.
        assert_eq!(
            call_auction(&[buy(100, 1), sell(100, 1)], 1, 2 * T, None),
            None
        );
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let orders = [
            BatchOrder::limit_order(Side::Buy, u64::MAX, u64::MAX),
            BatchOrder::limit_order(Side::Buy, 0, u64::MAX),
            BatchOrder::market_order(Side::Buy, Amount::Money(u64::MAX)),
            BatchOrder {
                side: Side::Buy,
                limit: Some(u64::MAX),
                amount: Amount::Money(u64::MAX),
            },
            BatchOrder::limit_order(Side::Sell, 0, u64::MAX),
            BatchOrder::market_order(Side::Sell, Amount::Tokens(u64::MAX)),
            BatchOrder::limit_order(Side::Sell, u64::MAX, u64::MAX),
        ];
        for tick in [0, 1, u64::MAX] {
            for lot in [0, 1, 3, u64::MAX] {
                for last in [None, Some(0), Some(u64::MAX)] {
                    if let Some(c) = call_auction(&orders, tick, lot, last) {
                        assert_eq!(c.fills.len(), orders.len());
                        let bought: u128 = orders
                            .iter()
                            .zip(&c.fills)
                            .filter(|(o, _)| o.side == Side::Buy)
                            .map(|(_, &f)| u128::from(f))
                            .sum();
                        assert_eq!(bought, u128::from(c.volume));
                    }
                }
            }
        }
    }

    /// The auction's rules applied by brute force over every candidate.
    fn brute_force(
        orders: &[BatchOrder],
        tick: u64,
        lot: u64,
        last: Option<u64>,
    ) -> Option<(u64, u64)> {
        let mut prices: Vec<u64> = orders.iter().filter_map(|o| o.limit).chain(last).collect();
        prices.sort_unstable();
        prices.dedup();
        let key = |p: u64| {
            let (mut d, mut o) = (0u128, 0u128);
            for x in orders {
                let q = u128::from(x.quantity_at(p, tick, lot));
                match x.side {
                    Side::Buy => d += q,
                    Side::Sell => o += q,
                }
            }
            let v = d.min(o);
            let dist = last.map_or(0, |l| l.abs_diff(p));
            ((Reverse(v), d.abs_diff(o), dist, p), v)
        };
        let (k, v) = prices.into_iter().map(key).min()?;
        (v > 0).then_some((k.3, v as u64))
    }

    fn order_strategy() -> impl Strategy<Value = BatchOrder> {
        let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
        let limit = prop_oneof![1 => Just(None), 4 => (95u64..=105).prop_map(Some)];
        let amount = prop_oneof![
            4 => (0u64..=20 * T).prop_map(Amount::Tokens),
            1 => (0u64..=30 * SCALE).prop_map(Amount::Money),
        ];
        (side, limit, amount).prop_map(|(side, limit, amount)| BatchOrder {
            side,
            limit,
            amount,
        })
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(1000))]

        #[test]
        fn call_auction_keeps_its_invariants_and_matches_brute_force(
            orders in prop::collection::vec(order_strategy(), 0..14),
            lot in prop_oneof![Just(1u64), Just(T / 1000), Just(T / 4), Just(T)],
            last in prop_oneof![Just(None), (90u64..=110).prop_map(Some)],
        ) {
            let tick = SCALE / 100;
            let got = call_auction(&orders, tick, lot, last);
            let want = brute_force(&orders, tick, lot, last);
            prop_assert_eq!(got.as_ref().map(|c| (c.price, c.volume)), want);
            if let Some(c) = got {
                check_fills(&orders, tick, lot, &c);
                // The short side is filled completely.
                let short = if c.demand <= c.supply { Side::Buy } else { Side::Sell };
                for (o, &f) in orders.iter().zip(&c.fills) {
                    if o.side == short {
                        prop_assert_eq!(f, o.quantity_at(c.price, tick, lot));
                    }
                }
            }
        }
    }

    // ---- equilibrium ------------------------------------------------------

    fn linear(intercept: f64, slope: f64) -> Shape {
        Shape::Linear { intercept, slope }
    }

    #[test]
    fn linear_demand_and_supply_clear_at_the_closed_form() {
        for (a, b, c, d) in [
            (100.0, 1.0, 10.0, 1.0),
            (50.0, 2.0, 5.0, 0.5),
            (1e6, 3.0, -100.0, 7.0),
            (1.0, 1e-3, 0.0, 1e-3),
            (2e-6, 1.0, 1e-6, 3.0),
            (5e5, 1e-3, 0.0, 1e-3),
        ] {
            let want = (a - c) / (b + d);
            assert_eq!(linear_equilibrium(a, b, c, d), Some(want));
            let (dem, sup) = (linear(a, b), linear(c, d));
            assert_eq!(closed_form_equilibrium(&dem, &sup), Some(want));
            let (lo, hi) = DEFAULT_PRICE_RANGE;
            let got = find_equilibrium(|p| excess_demand(p, &[], Some(&dem), Some(&sup)), lo, hi)
                .unwrap();
            assert!(rel(got, want) < 1e-9, "{a} {b} {c} {d}: {got} vs {want}");
        }
    }

    #[test]
    fn constant_elasticity_clears_at_the_closed_form() {
        // 100·P^-0.5 = 4·P^1.5 ⇔ P² = 25.
        assert!(
            rel(
                constant_elasticity_equilibrium(100.0, -0.5, 4.0, 1.5).unwrap(),
                5.0
            ) < 1e-15
        );
        for (da, de, sa, se) in [
            (100.0, -0.5, 4.0, 1.5),
            (1.0, -2.0, 1.0, 0.3),
            (1e6, -1.2, 3.0, 0.8),
            (2.0, -0.1, 5e3, 2.0),
        ] {
            let dem = Shape::ConstantElasticity {
                scale: da,
                exponent: de,
            };
            let sup = Shape::ConstantElasticity {
                scale: sa,
                exponent: se,
            };
            let want = closed_form_equilibrium(&dem, &sup).unwrap();
            assert!(rel(dem.demand_at(want), sup.supply_at(want)) < 1e-12);
            let (lo, hi) = DEFAULT_PRICE_RANGE;
            let got = find_equilibrium(|p| excess_demand(p, &[], Some(&dem), Some(&sup)), lo, hi)
                .unwrap();
            assert!(rel(got, want) < 1e-9, "{got} vs {want}");
        }
        assert_eq!(constant_elasticity_equilibrium(1.0, 1.0, 2.0, 1.0), None);
        assert_eq!(constant_elasticity_equilibrium(0.0, -1.0, 2.0, 1.0), None);
        // One scale negative: no equilibrium, even where 1/(α − β) = 2
        // would square the negative ratio B/A into a positive "price".
        assert_eq!(
            constant_elasticity_equilibrium(-1.0, 0.25, 2.0, -0.25),
            None
        );
        assert_eq!(
            constant_elasticity_equilibrium(1.0, 0.25, -2.0, -0.25),
            None
        );
        assert_eq!(
            constant_elasticity_equilibrium(1.0, 0.25, 2.0, -0.25),
            Some(4.0)
        );
        // P* past the floats (1e1000) or under them (1e-1000): none either.
        assert_eq!(
            constant_elasticity_equilibrium(1.0, -0.005, 1e-10, 0.005),
            None
        );
        assert_eq!(
            constant_elasticity_equilibrium(1.0, -0.005, 1e10, 0.005),
            None
        );
        assert_eq!(
            closed_form_equilibrium(
                &linear(1.0, 1.0),
                &Shape::ConstantElasticity {
                    scale: 1.0,
                    exponent: 1.0
                }
            ),
            None
        );
    }

    #[test]
    fn no_equilibrium_in_the_range_gives_none() {
        // Supply exceeds demand at every price.
        let (dem, sup) = (linear(10.0, 1.0), linear(20.0, 1.0));
        let f = |p| excess_demand(p, &[], Some(&dem), Some(&sup));
        assert_eq!(linear_equilibrium(10.0, 1.0, 20.0, 1.0), None);
        assert_eq!(find_equilibrium(f, 1e-9, 1e9), None);
        // P* = 45 lies outside [50, 100] and outside [1, 40].
        let (dem, sup) = (linear(100.0, 1.0), linear(10.0, 1.0));
        let f = |p| excess_demand(p, &[], Some(&dem), Some(&sup));
        assert_eq!(find_equilibrium(f, 50.0, 100.0), None);
        assert_eq!(find_equilibrium(f, 1.0, 40.0), None);
        assert!(find_equilibrium(f, 1.0, 100.0).is_some());
        // Invalid ranges and NaN.
        assert_eq!(find_equilibrium(f, 100.0, 1.0), None);
        assert_eq!(find_equilibrium(f, -1.0, 100.0), None);
        assert_eq!(find_equilibrium(f, 1.0, f64::INFINITY), None);
        assert_eq!(find_equilibrium(f, f64::NAN, 1.0), None);
        assert_eq!(find_equilibrium(|_| f64::NAN, 1.0, 2.0), None);
        assert_eq!(
            find_equilibrium(|p| if p == 1.0 { 1.0 } else { f64::NAN }, 1.0, 2.0),
            None
        );
    }

    #[test]
    fn step_schedules_clear_at_the_hand_computed_crossing() {
        // Buys: 10 up to 5.0, 10 up to 4.0, 10 up to 3.0.
        // Sells: 5 from 2.0, 10 from 3.5, 10 from 4.5.
        //   P in (3, 3.5)   D = 20, O =  5: +15
        //   P in [3.5, 4]   D = 20, O = 15: +5
        //   P in (4, 4.5)   D = 10, O = 15: −5
        // Excess jumps from +5 to −5 at P = 4, which has no root.
        let e = |side, limit, q| ScheduleEntry {
            side,
            limit: Some(limit),
            amount: ScheduleAmount::Tokens(q),
        };
        let entries = [
            e(Side::Buy, 5.0, 10.0),
            e(Side::Buy, 4.0, 10.0),
            e(Side::Buy, 3.0, 10.0),
            e(Side::Sell, 2.0, 5.0),
            e(Side::Sell, 3.5, 10.0),
            e(Side::Sell, 4.5, 10.0),
        ];
        assert_eq!(excess_demand(4.0, &entries, None, None), 5.0);
        assert_eq!(excess_demand(4.0 + 1e-9, &entries, None, None), -5.0);
        let (lo, hi) = DEFAULT_PRICE_RANGE;
        let p = find_equilibrium(|p| excess_demand(p, &entries, None, None), lo, hi).unwrap();
        assert!(rel(p, 4.0) < 1e-9, "{p}");

        // A budget of 100 against 10 tokens offered at any price and 10 more
        // from 20: 100/P = 10 at P = 10.
        let entries = [
            ScheduleEntry {
                side: Side::Buy,
                limit: None,
                amount: ScheduleAmount::Money(100.0),
            },
            ScheduleEntry {
                side: Side::Sell,
                limit: None,
                amount: ScheduleAmount::Tokens(10.0),
            },
            e(Side::Sell, 20.0, 10.0),
        ];
        let p = find_equilibrium(|p| excess_demand(p, &entries, None, None), lo, hi).unwrap();
        assert!(rel(p, 10.0) < 1e-9, "{p}");

        // Agents on top of a curve: demand 100 − P plus a buy of 20 up to 60,
        // supply 10 + P. Without the agent P* = 45; with it, 100 − P + 20 =
        // 10 + P at P = 55 ≤ 60.
        let (dem, sup) = (linear(100.0, 1.0), linear(10.0, 1.0));
        let entries = [e(Side::Buy, 60.0, 20.0)];
        let p = find_equilibrium(
            |p| excess_demand(p, &entries, Some(&dem), Some(&sup)),
            lo,
            hi,
        )
        .unwrap();
        assert!(rel(p, 55.0) < 1e-9, "{p}");
    }

    #[test]
    fn a_zero_excess_interval_gives_its_lowest_price() {
        // D = max(0, 10 − P) and O = max(0, P − 20) are both 0 on [10, 20].
        let (dem, sup) = (linear(10.0, 1.0), linear(-20.0, 1.0));
        let p =
            find_equilibrium(|p| excess_demand(p, &[], Some(&dem), Some(&sup)), 1e-9, 1e9).unwrap();
        assert!(rel(p, 10.0) < 1e-9, "{p}");
        assert_eq!(linear_equilibrium(10.0, 1.0, -20.0, 1.0), Some(15.0));
        // A root at the lower end of the range is the lower end.
        assert_eq!(find_equilibrium(|p| 1.0 - p, 1.0, 2.0), Some(1.0));
        // Boundary at 0 with lo = 0: terminates.
        let p = find_equilibrium(|p| if p == 0.0 { 1.0 } else { -1.0 }, 0.0, 1e9).unwrap();
        assert!(p < 1e-300);
    }

    /// The search is geometric while the bracket spans more than a factor
    /// 4: a root anywhere in [`DEFAULT_PRICE_RANGE`] takes 47 to 49
    /// evaluations of the excess (2 at the ends, ~5 geometric halvings of
    /// the 18 decades, ~42 arithmetic ones down to 1e-12 relative). Halving
    /// arithmetically from the start takes 101 at a root of 2e-9.
    #[test]
    fn a_root_anywhere_in_the_default_range_takes_about_fifty_evaluations() {
        let (lo, hi) = DEFAULT_PRICE_RANGE;
        for root in [2e-9, 1e-6, 1e-3, 1.0, 3.7, 1e3, 1e6, 5e8] {
            let mut calls = 0;
            let p = find_equilibrium(
                |p| {
                    calls += 1;
                    root - p
                },
                lo,
                hi,
            )
            .unwrap();
            assert!(rel(p, root) <= 1e-12, "{p} for {root}");
            assert!((46..=50).contains(&calls), "{calls} evaluations for {root}");
        }
    }

    /// The first probe inside the bracket: geometric (`√(lo·hi)`) when it
    /// spans more than a factor 4, arithmetic from a factor of exactly 4.
    #[test]
    fn the_search_halves_geometrically_only_past_a_factor_four() {
        let first_probe = |lo: f64, hi: f64| {
            let mut probes = vec![];
            find_equilibrium(
                |p| {
                    probes.push(p);
                    1.7 - p
                },
                lo,
                hi,
            )
            .unwrap();
            probes[2]
        };
        assert_eq!(first_probe(1.0, 4.0), 2.5);
        assert_eq!(first_probe(1.0, 16.0), 4.0);
        assert_eq!(first_probe(0.5, 2.0), 1.25);
        assert_eq!(first_probe(0.25, 16.0), 2.0);
    }

    #[test]
    fn a_range_whose_top_price_clears_exactly_is_searched_not_refused() {
        // max(0, 10 − P) on [1, 20]: zero at the top and on all of [10, 20],
        // so the answer is the boundary 10, not None.
        let p = find_equilibrium(|p: f64| (10.0 - p).max(0.0), 1.0, 20.0).unwrap();
        assert!((p - 10.0).abs() <= 1e-9, "{p}");
        // 2 − P on [1, 2]: the only root is the top itself.
        let p = find_equilibrium(|p: f64| 2.0 - p, 1.0, 2.0).unwrap();
        assert!((p - 2.0).abs() <= 1e-9, "{p}");
    }

    #[test]
    fn shapes_and_entries_never_give_nan_or_negative_quantities() {
        let shapes = [
            linear(1.0, 1.0),
            linear(f64::NAN, 1.0),
            Shape::ConstantElasticity {
                scale: 1.0,
                exponent: -1.0,
            },
            Shape::ConstantElasticity {
                scale: 0.0,
                exponent: -1.0,
            },
            Shape::ConstantElasticity {
                scale: -1.0,
                exponent: 1.0,
            },
        ];
        for s in shapes {
            for p in [f64::NAN, -1.0, 0.0, 1e-300, 1.0, 1e300, f64::INFINITY] {
                for q in [s.demand_at(p), s.supply_at(p)] {
                    assert!(q >= 0.0, "{s:?} at {p}: {q}");
                }
            }
        }
        let budget = ScheduleEntry {
            side: Side::Buy,
            limit: Some(f64::NAN),
            amount: ScheduleAmount::Money(1.0),
        };
        assert_eq!(budget.quantity_at(1.0), 0.0);
        let money_sell = ScheduleEntry {
            side: Side::Sell,
            limit: None,
            amount: ScheduleAmount::Money(1.0),
        };
        assert_eq!(money_sell.quantity_at(1.0), 0.0);
    }

    // ---- rationing --------------------------------------------------------

    #[test]
    fn ration_gives_proportional_shares_in_whole_lots() {
        // 3:1 of 8 lots.
        assert_eq!(ration(&[30, 10], 8, 1), vec![6, 2]);
        // 5, 3, 2 of 5: exact shares 2.5, 1.5, 1 → floors 2, 1, 1, and the
        // leftover lot to the first.
        assert_eq!(ration(&[5, 3, 2], 5, 1), vec![3, 1, 1]);
        // Lots of 10: shares 25, 15, 10 → 20, 10, 10 and one leftover lot.
        assert_eq!(ration(&[50, 30, 20], 50, 10), vec![30, 10, 10]);
        // Enough for everyone: the requests, lots or not.
        assert_eq!(ration(&[7, 3], 10, 4), vec![7, 3]);
        assert_eq!(ration(&[], 10, 1), Vec::<u64>::new());
        assert_eq!(ration(&[0, 5], 0, 1), vec![0, 0]);
        // A request too small for a lot gets none; the lots go elsewhere.
        assert_eq!(ration(&[100, 9], 100, 10), vec![100, 0]);
        // Extreme values.
        assert_eq!(
            ration(&[u64::MAX, u64::MAX], u64::MAX, 0),
            vec![u64::MAX / 2 + 1, u64::MAX / 2]
        );
    }

    #[test]
    fn ration_hands_the_leftover_lots_one_each_in_input_order_before_any_second() {
        // 10, 10, 10 of 26: exact shares 8⅔ each, floors 8, 8, 8 and 2 lots
        // left: one to the first, one to the second (not two to the first).
        assert_eq!(ration(&[10, 10, 10], 26, 1), vec![9, 9, 8]);
        // The same in lots of 10: 100, 100, 100 of 260, floors 80 each and
        // 20 left.
        assert_eq!(ration(&[100, 100, 100], 260, 10), vec![90, 90, 80]);
    }

    #[test]
    fn ration_hands_out_lots_that_small_requests_cannot_take() {
        // Three requests of 1.99 lots and one of 100 lots share 105 lots of 100:
        // the small ones are capped at 1 lot each, the large one at 100.
        let r = ration(&[199, 199, 199, 10_000], 10_500, 100);
        assert_eq!(r, vec![100, 100, 100, 10_000]);
        // Four small ones and 106 lots: the large one's proportional floor is
        // 98 lots and it takes the 4 lots left over: one in the first pass
        // and one in the second (2 lots stay with nobody to take them).
        let r = ration(&[199, 199, 199, 199, 10_000], 10_600, 100);
        assert_eq!(r, vec![100, 100, 100, 100, 10_000]);
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(2000))]

        #[test]
        fn ration_is_exact_and_proportional(
            requests in prop::collection::vec(
                prop_oneof![0u64..1_000, 0u64..1_000_000_000_000, Just(u64::MAX)], 0..20),
            available in prop_oneof![0u64..1_000, 0u64..10_000_000_000_000, Just(u64::MAX)],
            lot in prop_oneof![Just(0u64), 1u64..100, Just(SCALE)],
        ) {
            let r = ration(&requests, available, lot);
            prop_assert_eq!(r.len(), requests.len());
            let total: u128 = requests.iter().map(|&x| u128::from(x)).sum();
            let sum: u128 = r.iter().map(|&x| u128::from(x)).sum();
            prop_assert!(sum <= u128::from(available) || r == requests);
            if total <= u128::from(available) {
                prop_assert_eq!(&r, &requests);
            } else {
                let lot = lot.max(1);
                for (&got, &req) in r.iter().zip(&requests) {
                    prop_assert!(got <= req);
                    prop_assert_eq!(got % lot, 0);
                    let floor = (u128::from(req) * u128::from(available) / total) as u64 / lot * lot;
                    prop_assert!(got >= floor, "{} < proportional floor {}", got, floor);
                }
                // Nothing more could be handed out.
                let full = r.iter().zip(&requests).all(|(&g, &q)| q - g < lot);
                prop_assert!(u128::from(available) - sum < u128::from(lot) || full);
            }
        }
    }

    // ---- price adjustment -------------------------------------------------

    /// D = 100 − P, O = 10 + P: P* = 45, b + d = 2.
    fn tatonnement(rule: &PriceRule, p0: f64, steps: usize) -> Vec<f64> {
        let (dem, sup) = (linear(100.0, 1.0), linear(10.0, 1.0));
        let mut p = p0;
        let mut path = vec![p];
        for _ in 0..steps {
            p = rule.next(p, dem.demand_at(p), sup.supply_at(p), 1000.0);
            path.push(p);
        }
        path
    }

    fn rule(adjustment: Adjustment) -> PriceRule {
        PriceRule {
            adjustment,
            max_change: None,
            max_relative_change: None,
            min_price: 1e-6,
        }
    }

    #[test]
    fn tatonnement_converges_when_the_error_factor_is_below_one() {
        // |1 − λ(b + d)| = 0.5 (monotone) and 0.8 (alternating).
        for lambda in [0.25, 0.9] {
            let path = tatonnement(&rule(Adjustment::Linear { lambda }), 40.0, 200);
            let err = (path[200] - 45.0).abs();
            assert!(err < 1e-9, "λ = {lambda}: error {err}");
        }
        // Proportional with λ/S = 0.25 is the same rule.
        let path = tatonnement(&rule(Adjustment::Proportional { lambda: 250.0 }), 40.0, 200);
        assert!((path[200] - 45.0).abs() < 1e-9);
        // Logarithmic: locally P' − P* ≈ (1 − λ·P*·(1/D + 1/O))(P − P*) =
        // (1 − 1.64λ)(P − P*); λ = 0.5 converges.
        let path = tatonnement(&rule(Adjustment::Logarithmic { lambda: 0.5 }), 40.0, 200);
        assert!((path[200] - 45.0).abs() < 1e-9, "{}", path[200]);
    }

    #[test]
    fn tatonnement_oscillates_with_constant_amplitude_at_factor_minus_one() {
        // λ(b + d) = 2: P' − P* = −(P − P*), 40 → 50 → 40 → … exactly.
        let path = tatonnement(&rule(Adjustment::Linear { lambda: 1.0 }), 40.0, 200);
        for (t, p) in path.iter().enumerate() {
            assert_eq!((p - 45.0).abs(), 5.0, "step {t}: {p}");
            assert_eq!(*p, if t % 2 == 0 { 40.0 } else { 50.0 });
        }
    }

    #[test]
    fn tatonnement_diverges_when_the_error_factor_exceeds_one() {
        // λ(b + d) = 3: the error doubles and alternates in sign while the
        // curves stay linear, 5 → 10 → 20 → 40 (P = 40, 55, 25, 85), until
        // demand hits zero and the price hits the floor.
        let r = rule(Adjustment::Linear { lambda: 1.5 });
        let path = tatonnement(&r, 40.0, 200);
        let errors: Vec<f64> = path[..4].iter().map(|p| (p - 45.0).abs()).collect();
        assert_eq!(errors, vec![5.0, 10.0, 20.0, 40.0]);
        assert!(path.contains(&r.min_price), "never hit the floor");
        assert!(path[100..].iter().all(|p| (p - 45.0).abs() > 40.0));
        // Without the clipping of the curves it would grow without bound:
        // against unclipped lines the error grows as 2ᵗ.
        let mut p: f64 = 40.0;
        for _ in 0..30 {
            p += 1.5 * ((100.0 - p) - (10.0 + p));
        }
        assert!((p - 45.0).abs() > 5.0 * 2f64.powi(29));
    }

    #[test]
    fn bounds_and_floor_hold() {
        let mut r = rule(Adjustment::Linear { lambda: 1.0 });
        r.max_change = Some(2.0);
        assert_eq!(r.next(10.0, 100.0, 0.0, 1.0), 12.0);
        assert_eq!(r.next(10.0, 0.0, 100.0, 1.0), 8.0);
        r.max_change = None;
        r.max_relative_change = Some(0.1);
        assert_eq!(r.next(10.0, 100.0, 0.0, 1.0), 11.0);
        assert_eq!(r.next(10.0, 0.0, 100.0, 1.0), 9.0);
        r.max_relative_change = None;
        r.min_price = 0.5;
        assert_eq!(r.next(10.0, 0.0, 100.0, 1.0), 0.5);
        // Proportional with a zero size does not move.
        let p = rule(Adjustment::Proportional { lambda: 1.0 });
        assert_eq!(p.next(10.0, 5.0, 1.0, 0.0), 10.0);
        assert_eq!(p.next(10.0, 5.0, 1.0, 2.0), 12.0);
    }

    #[test]
    fn logarithmic_rule_handles_empty_sides() {
        let r = rule(Adjustment::Logarithmic { lambda: 1.0 });
        // D/O = 2 doubles the price; both empty, no move.
        assert!(rel(r.next(10.0, 2.0, 1.0, 1.0), 20.0) < 1e-14);
        assert_eq!(r.next(10.0, 0.0, 0.0, 1.0), 10.0);
        // One side empty moves as if the ratio were 1e6 (λ = 1).
        assert!(rel(r.next(1.0, 5.0, 0.0, 1.0), 1e6) < 1e-12);
        // and the cap says so; a ratio within 10⁶ is not capped
        assert!(r.caps_log_ratio(5.0, 0.0) && r.caps_log_ratio(0.0, 5.0));
        assert!(r.caps_log_ratio(2e6, 1.0) && !r.caps_log_ratio(5e5, 1.0));
        assert!(!r.caps_log_ratio(0.0, 0.0));
        // the ratio, not the sizes: equal large sides are not capped, and
        // 3 against 6e6 is (ln 2e6 = 14.5 > ln 1e6)
        assert!(!r.caps_log_ratio(2e6, 2e6) && !r.caps_log_ratio(1e-3, 1e-3));
        assert!(r.caps_log_ratio(3.0, 6e6) && !r.caps_log_ratio(3.0, 1.5e6));
        assert!(rel(r.next(1.0, 0.0, 5.0, 1.0), 1e-6) < 1e-9);
        let mut bounded = r;
        bounded.max_relative_change = Some(0.2);
        assert!(rel(bounded.next(10.0, 5.0, 0.0, 1.0), 12.0) < 1e-15);
        assert!(rel(bounded.next(10.0, 0.0, 5.0, 1.0), 8.0) < 1e-15);
    }

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(0.0),
            Just(f64::MAX),
            -1e6..1e6f64,
            any::<f64>(),
        ]
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(2000))]

        #[test]
        fn price_rule_is_never_nan_nor_below_the_floor(
            kind in 0..3u8,
            lambda in any_f64(),
            price in any_f64(),
            demand in any_f64(),
            supply in any_f64(),
            size in any_f64(),
            max_change in prop::option::of(any_f64()),
            max_relative_change in prop::option::of(any_f64()),
            min_price in any_f64(),
        ) {
            let adjustment = match kind {
                0 => Adjustment::Linear { lambda },
                1 => Adjustment::Proportional { lambda },
                _ => Adjustment::Logarithmic { lambda },
            };
            let r = PriceRule { adjustment, max_change, max_relative_change, min_price };
            let p = r.next(price, demand, supply, size);
            prop_assert!(p.is_finite() && p > 0.0, "{:?}: {}", r, p);
            if min_price > 0.0 {
                prop_assert!(p >= min_price.min(f64::MAX));
            }
        }
    }
}
