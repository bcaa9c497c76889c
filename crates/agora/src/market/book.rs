//! A continuous double auction: a limit order book matched by price-time
//! priority.
//!
//! Prices are integer *ticks* (one tick is `tick` money base units per whole
//! token) and quantities are token base units, always whole multiples of the
//! book's `lot`: an incoming quantity is rounded down to a lot multiple, and
//! one that rounds to nothing is rejected. An incoming order trades with the
//! resting orders of the other side at *their* prices, best price first and
//! oldest first within a price, for as long as the prices cross; a limit
//! order then rests with what is left. After every call the book is not
//! crossed: the best bid is below the best ask.
//!
//! The book is pure: it holds no balances. It reports [`Fill`]s, which the
//! caller settles, and it keeps, for every resting order, the amount the
//! caller escrowed for it and has not yet been paid out of it
//! ([`Order::locked`]: money base units for a buy, token base units for a
//! sell). Each fill's money, [`value`]`(maker price, tick, qty)`, comes out of
//! the buy side's lock and its tokens out of the sell side's lock; whatever
//! a lock holds when its order leaves the book (completed, cancelled,
//! expired, or not rested) is handed back to the caller to release. Because
//! [`value`] rounds down, `value(p, q₁) + value(p, q₂) ≤ value(p, q₁ + q₂)`,
//! so a buy lock that covers `value(price, tick, remaining)` always covers
//! the fills still to come.
//!
//! **Self-trade prevention** cancels the resting order: when an incoming
//! order reaches a resting order of the same owner, the resting order is
//! removed and reported in `cancelled` (its lock to be released), and
//! matching goes on with the next order, as CME's and Binance's "cancel
//! resting" mode does.
//!
//! ```
//! use agora::market::book::OrderBook;
//! use agora::market::{value, Side};
//!
//! let tick = 10_000_000; // a tick is 0.01 money per token
//! let lot = 1_000_000; // a lot is 0.001 token
//! let (one, two) = (1_000_000_000, 2_000_000_000); // tokens in base units
//! let mut book = OrderBook::new(tick, lot);
//! let (mut fills, mut cancelled) = (Vec::new(), Vec::new());
//! // Agent 1 offers 2 tokens at 100.00 until step 50, locking the tokens.
//! book.limit(1, Side::Sell, 10_000, two, 50, two, &mut fills, &mut cancelled);
//! // Agent 2 bids up to 101.00 for 1 token, locking its value at that price.
//! let locked = value(10_100, tick, one) as u64;
//! let out = book.limit(2, Side::Buy, 10_100, one, 50, locked, &mut fills, &mut cancelled);
//! assert_eq!(fills[0].price, 10_000); // the maker's price
//! assert_eq!(out.money, 100_000_000_000); // 100 money
//! assert_eq!(out.released, locked - out.money); // the price improvement
//! assert_eq!((book.best_ask(), book.ask_depth()), (Some(10_000), u128::from(one)));
//! ```
//!
//! # Design
//!
//! The per-event costs that matter are adding an order at a price near the
//! top of the book, cancelling an arbitrary order, and walking the front of
//! the best level when matching. The book keeps:
//!
//! - the orders in a slab (`Vec` with a free list), each slot holding the
//!   order, the index of its price level and the links of an intrusive
//!   doubly-linked FIFO through the slots of that level. A cancel unlinks in
//!   O(1) and frees the slot at once, so level totals are always exact and
//!   no dead entries pile up, where the lazy deletion of a `VecDeque` of
//!   slots would need skipping at the front and periodic compaction behind
//!   a long-lived order;
//! - an id → slot hash map with a multiplicative hash of the sequential id:
//!   ids are sequence numbers, never reused, so [`OrderBook::cancel`] needs
//!   a map; encoding the slot in the id would instead cap the number of
//!   live orders or the number of orders over a run;
//! - per side, the live price levels as a sorted `Vec` of keys (price for
//!   bids, `!price` for asks, so both sort worst → best) beside their level
//!   indices, the best level last. The best price is one load, an exhausted
//!   best level is a `pop`, and a new level is inserted after a binary
//!   search (the best level is tried first) with a `memmove` of only the
//!   levels better than it, which is short because orders arrive near the
//!   top of the book. The price of this is the worst case: a new level far
//!   from the top of a book of n levels moves O(n) entries of 12 bytes;
//!   a `BTreeMap` would bound it by O(log n) but costs more on every access.
//!   A dense tick ladder would need a bound on prices that the book cannot
//!   know;
//! - a min-heap of `(expires, id)` for expiry (orders that never expire stay
//!   out of it), with the entries of orders that left the book otherwise
//!   dropped when they surface, and the heap rebuilt from the live orders
//!   whenever it holds more than twice as many entries as there are orders.
//!
//! `cargo bench -p agora --bench matching` replays 2 million events (55%
//! limit orders, one in seven marketable; 35% cancels of live orders; 10%
//! market orders; 2,000–5,000 resting orders on about 150–200 levels a
//! side) on one core at 75–95 ns an event, 10–13 million events a second
//! on a shared two-core machine; the same run with a `BTreeMap<u64, u32>`
//! for the levels of a side took about 120 ns an event (8.4 million a
//! second).
//!
//! Arithmetic is exact or saturating: money is computed in `u128`, a fill
//! never pays more than fits in `u64` (matching stops first), level totals
//! are kept in `u128`, and no input makes the book panic.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use super::Side;
use crate::ledger::{AgentId, SCALE};

#[cfg(doc)]
use super::value;

/// Identifies an order; ids increase with time, so a smaller id has time
/// priority over a larger one at the same price.
pub type OrderId = u64;

/// A resting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order's id (its time priority).
    pub id: OrderId,
    /// The agent that placed it.
    pub owner: AgentId,
    /// Whether it buys or sells tokens.
    pub side: Side,
    /// Its limit price, in ticks.
    pub price: u64,
    /// The token base units still to trade (a lot multiple).
    pub remaining: u64,
    /// The last step at which it may rest: [`OrderBook::expire`] with a
    /// `now` above it removes it.
    pub expires: u64,
    /// What is still escrowed for it: money base units for a buy (at least
    /// `value(price, tick, remaining)`), token base units for a sell (at
    /// least `remaining`).
    pub locked: u64,
}

/// One trade between an incoming order (the taker) and a resting order
/// (the maker), at the maker's price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// The resting order.
    pub maker: OrderId,
    /// The owner of the resting order.
    pub maker_owner: AgentId,
    /// The owner of the incoming order.
    pub taker_owner: AgentId,
    /// The side of the incoming order (the maker is on the other side).
    pub taker_side: Side,
    /// The price, in ticks: the maker's price.
    pub price: u64,
    /// The token base units traded (a lot multiple, never 0).
    pub qty: u64,
    /// The money base units paid by the buyer to the seller:
    /// `value(price, tick, qty)`.
    pub money: u64,
    /// Some(leftover lock) when this fill completed the maker order (it left
    /// the book); the caller releases the leftover to the maker.
    pub maker_done: Option<u64>,
}

/// What became of an incoming order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Token base units traded, the sum of the fills' quantities.
    pub filled: u64,
    /// Money base units traded, the sum of the fills' money.
    pub money: u64,
    /// The id of the order, when a remainder rests in the book.
    pub rested: Option<OrderId>,
    /// Lock of the incoming order not needed any more (limit orders: fully
    /// filled at better prices, or the part cancelled); caller releases it.
    ///
    /// For a limit order this is `locked` less what its fills took (money
    /// for a buy, tokens for a sell) less what stays locked for the resting
    /// remainder, which is exactly `value(price, tick, remaining)` for a buy
    /// and `remaining` for a sell. It is all of `locked` when the order is
    /// rejected. Market orders lock nothing and release 0.
    pub released: u64,
}

/// A slot of the slab: an order and its place in its level's FIFO.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Slot {
    order: Order,
    /// Previous (older) order of the level, or [`NIL`].
    prev: u32,
    /// Next (younger) order of the level, or [`NIL`].
    next: u32,
    /// Index of the price level in `OrderBook::levels`.
    level: u32,
}

/// No slot; also the most slots (or levels) the book holds.
const NIL: u32 = u32::MAX;

/// The id of a free slot: ids start at 1.
const FREE: OrderId = 0;

/// A price level: the FIFO of its orders and their total quantity.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Level {
    price: u64,
    /// Σ remaining of the level's orders (`u128`: many large orders).
    total: u128,
    /// The oldest order, or [`NIL`] when the level is free.
    head: u32,
    /// The youngest order.
    tail: u32,
}

/// The live levels of one side, sorted worst → best by key, best last.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Ladder {
    keys: Vec<u64>,
    levels: Vec<u32>,
}

impl Ladder {
    /// The best level.
    #[inline]
    fn best(&self) -> Option<u32> {
        self.levels.last().copied()
    }

    /// The key of the best level.
    #[inline]
    fn best_key(&self) -> Option<u64> {
        self.keys.last().copied()
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    /// The levels, best first.
    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.levels.iter().rev().copied()
    }

    /// The level of `key`, or where to insert it.
    #[inline]
    fn find(&self, key: u64) -> Result<u32, usize> {
        // Most orders arrive at or near the best price: test it first.
        match self.keys.last() {
            Some(&best) if best == key => Ok(self.levels[self.levels.len() - 1]),
            Some(&best) if best < key => Err(self.keys.len()),
            _ => self.keys.binary_search(&key).map(|i| self.levels[i]),
        }
    }

    /// Inserts a level where [`find`](Self::find) said.
    #[inline]
    fn insert(&mut self, at: usize, key: u64, level: u32) {
        self.keys.insert(at, key);
        self.levels.insert(at, level);
    }

    #[inline]
    fn remove(&mut self, key: u64) {
        if self.keys.last() == Some(&key) {
            self.keys.pop();
            self.levels.pop();
        } else if let Ok(i) = self.keys.binary_search(&key) {
            self.keys.remove(i);
            self.levels.remove(i);
        }
    }
}

/// The sort key of a price on a side: better prices sort higher.
#[inline]
fn key(side: Side, price: u64) -> u64 {
    match side {
        Side::Buy => price,
        Side::Sell => !price,
    }
}

/// Hashes sequential ids by one multiplication (Fibonacci hashing): spreads
/// them over both the low bits (the bucket) and the high bits (the tag).
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdMap = HashMap<OrderId, u32, BuildHasherDefault<IdHasher>>;

/// `value(price, tick, qty)` without overflow: `u128::MAX` (more than any
/// `u64`) when the product does not fit in `u128`.
#[inline]
fn money(price: u64, tick: u64, qty: u64) -> u128 {
    match (u128::from(price) * u128::from(tick)).checked_mul(u128::from(qty)) {
        Some(x) if x <= u128::from(u64::MAX) => u128::from(x as u64 / SCALE),
        Some(x) => x / u128::from(SCALE),
        None => u128::MAX,
    }
}

/// The incoming side of a match.
struct Taker {
    owner: AgentId,
    side: Side,
    /// Worst acceptable price: highest for a buy, lowest for a sell.
    limit: u64,
    /// Token base units still wanted (a lot multiple).
    want: u64,
    /// Most money the fills may total (the buyer's lock or budget, or
    /// `u64::MAX`, so that sums never overflow).
    budget: u64,
    filled: u64,
    money: u64,
}

/// A limit order book with price-time priority; see the [module
/// documentation](self).
///
/// It serialises with serde (for checkpoints and saved states) without its
/// id index, which loading rebuilds; loading checks every structural
/// invariant (levels, FIFOs, ladders, free lists, totals) and refuses a book
/// that breaks one, so a corrupted state is an error, not a panic later.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "BookState")]
pub struct OrderBook {
    tick: u64,
    lot: u64,
    next_id: OrderId,
    /// The latest `now` given to [`OrderBook::expire`].
    now: u64,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    #[serde(skip)]
    ids: IdMap,
    levels: Vec<Level>,
    free_levels: Vec<u32>,
    bids: Ladder,
    asks: Ladder,
    expiry: BinaryHeap<Reverse<(u64, OrderId)>>,
}

/// An order book as read from a saved state, before it is checked.
#[derive(Deserialize)]
struct BookState {
    tick: u64,
    lot: u64,
    next_id: OrderId,
    now: u64,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    levels: Vec<Level>,
    free_levels: Vec<u32>,
    bids: Ladder,
    asks: Ladder,
    expiry: BinaryHeap<Reverse<(u64, OrderId)>>,
}

impl TryFrom<BookState> for OrderBook {
    type Error = String;

    fn try_from(s: BookState) -> Result<Self, String> {
        let mut ids = IdMap::default();
        for (i, slot) in s.slots.iter().enumerate() {
            if slot.order.id != FREE && ids.insert(slot.order.id, i as u32).is_some() {
                return Err(format!("order {} is in the book twice", slot.order.id));
            }
        }
        let book = OrderBook {
            tick: s.tick,
            lot: s.lot,
            next_id: s.next_id,
            now: s.now,
            slots: s.slots,
            free_slots: s.free_slots,
            ids,
            levels: s.levels,
            free_levels: s.free_levels,
            bids: s.bids,
            asks: s.asks,
            expiry: s.expiry,
        };
        book.validate()?;
        Ok(book)
    }
}

impl fmt::Debug for OrderBook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderBook")
            .field("tick", &self.tick)
            .field("lot", &self.lot)
            .field("orders", &self.len())
            .field("best_bid", &self.best_bid())
            .field("best_ask", &self.best_ask())
            .field("bid_levels", &self.bids.len())
            .field("ask_levels", &self.asks.len())
            .finish()
    }
}

impl OrderBook {
    /// Checks the book's structure: every order of the ladders' levels is
    /// in its level's FIFO in time order, at its level's price (not 0)
    /// and side, a positive multiple of the lot, indexed by its id, its
    /// lock covering its remainder, not past its expiry; levels' totals
    /// add up; every other slot and level is free, and listed free once;
    /// ids are below `next_id`; the book is not crossed; every order that
    /// can expire is in the expiry list at its own step. Returns what is
    /// wrong.
    fn validate(&self) -> Result<(), String> {
        if self.tick == 0 || self.lot == 0 {
            return Err("a book's tick and lot must be positive".into());
        }
        let slot_at = |s: u32| {
            self.slots
                .get(s as usize)
                .ok_or_else(|| format!("slot {s} is past the {} slots", self.slots.len()))
        };
        let mut seen = 0usize;
        let mut level_seen = vec![false; self.levels.len()];
        for (side, ladder) in [(Side::Buy, &self.bids), (Side::Sell, &self.asks)] {
            if ladder.keys.len() != ladder.levels.len()
                || !ladder.keys.windows(2).all(|w| w[0] < w[1])
            {
                return Err("a price ladder is not sorted".into());
            }
            for (&k, &l) in ladder.keys.iter().zip(&ladder.levels) {
                let level = self
                    .levels
                    .get(l as usize)
                    .ok_or_else(|| format!("level {l} is past the {} levels", self.levels.len()))?;
                if std::mem::replace(&mut level_seen[l as usize], true) {
                    return Err(format!("level {l} is in the ladders twice"));
                }
                if key(side, level.price) != k || level.head == NIL {
                    return Err(format!("level {l} does not match its ladder entry"));
                }
                let (mut s, mut prev, mut total, mut last_id) = (level.head, NIL, 0u128, 0);
                while s != NIL {
                    seen += 1;
                    if seen > self.slots.len() {
                        return Err("a level's FIFO loops".into());
                    }
                    let slot = slot_at(s)?;
                    let o = &slot.order;
                    if slot.prev != prev
                        || slot.level != l
                        || o.id == FREE
                        || o.id <= last_id
                        || o.id >= self.next_id
                        || (o.side, o.price) != (side, level.price)
                        || o.price == 0
                        || o.remaining == 0
                        || o.remaining % self.lot != 0
                        || self.ids.get(&o.id) != Some(&s)
                    {
                        return Err(format!("order {} in slot {s} is out of place", o.id));
                    }
                    let need = match side {
                        Side::Buy => money(o.price, self.tick, o.remaining),
                        Side::Sell => u128::from(o.remaining),
                    };
                    if u128::from(o.locked) < need {
                        return Err(format!(
                            "order {} locks {} base units, less than the {need} its remaining {} need at \
                             its price",
                            o.id, o.locked, o.remaining
                        ));
                    }
                    if o.expires < self.now {
                        return Err(format!(
                            "order {} expired at step {} but still rests at step {}",
                            o.id, o.expires, self.now
                        ));
                    }
                    last_id = o.id;
                    total += u128::from(o.remaining);
                    prev = s;
                    s = slot.next;
                }
                if level.tail != prev || level.total != total {
                    return Err(format!("level {l}'s tail or total is wrong"));
                }
            }
        }
        if seen != self.ids.len() || self.free_slots.len() + seen != self.slots.len() {
            return Err("the book's orders, index and free slots do not add up".into());
        }
        let mut slot_free = vec![false; self.slots.len()];
        for &f in &self.free_slots {
            if slot_at(f)?.order.id != FREE || std::mem::replace(&mut slot_free[f as usize], true) {
                return Err(format!(
                    "slot {f} is listed free but holds an order (or is listed twice)"
                ));
            }
        }
        for &f in &self.free_levels {
            match level_seen.get_mut(f as usize) {
                Some(seen @ false) => *seen = true,
                _ => {
                    return Err(format!(
                        "level {f} is listed free but is in use or missing (or listed twice)"
                    ))
                }
            }
        }
        if level_seen.contains(&false) {
            return Err("a price level is neither in a ladder nor free".into());
        }
        if let (Some(b), Some(a)) = (self.best_bid(), self.best_ask()) {
            if b >= a {
                return Err(format!(
                    "the book is crossed: a bid at {b} ticks, an ask at {a}"
                ));
            }
        }
        self.check_expiry()
    }

    /// Checks the expiry heap against the orders: every order that can
    /// expire has an entry, and no entry of a live order names another
    /// step than the order's. Entries of orders gone are stale, and
    /// skipped when they come up; so is an order's second entry, which
    /// books saved before stop 49 (7 December 2026) could hold (a rebuild
    /// of the list that took in the order being placed, then its entry).
    fn check_expiry(&self) -> Result<(), String> {
        let mut named = Vec::new();
        for &Reverse((expires, id)) in self.expiry.iter() {
            if let Some(o) = self.get(id) {
                if o.expires != expires {
                    return Err(format!(
                        "order {id} expires at step {}, but the book's expiry list says {expires}",
                        o.expires
                    ));
                }
                named.push(id);
            }
        }
        named.sort_unstable();
        named.dedup();
        let due = named.len();
        let expiring = self.orders().filter(|o| o.expires != u64::MAX).count();
        if due != expiring {
            return Err(format!(
                "{expiring} orders can expire, but the book's expiry list names {due} of them"
            ));
        }
        Ok(())
    }

    /// Returns an empty book whose prices are in ticks of `tick` money base
    /// units per whole token and whose quantities are multiples of `lot`
    /// token base units. Both should be positive; 0 is taken as 1.
    pub fn new(tick: u64, lot: u64) -> Self {
        OrderBook {
            tick: tick.max(1),
            lot: lot.max(1),
            next_id: 1,
            now: 0,
            slots: Vec::new(),
            free_slots: Vec::new(),
            ids: IdMap::default(),
            levels: Vec::new(),
            free_levels: Vec::new(),
            bids: Ladder::default(),
            asks: Ladder::default(),
            expiry: BinaryHeap::new(),
        }
    }

    /// Returns the money base units per whole token of one tick of price.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Returns the token base units of one lot, the quantum of quantities.
    pub fn lot(&self) -> u64 {
        self.lot
    }

    /// Places a limit order: matches against the opposite side at the
    /// makers' prices while they cross (price-time priority, partial fills),
    /// then rests the remainder (if any) until step `expires` inclusive.
    ///
    /// `locked` is what the caller escrowed for it: for a buy at least
    /// `value(price, tick, qty)`, for a sell at least `qty` (after `qty` is
    /// rounded down to a lot multiple). Each fill's money is
    /// `value(maker_price, tick, fill_qty)` and is deducted from the buy
    /// side's lock (the taker's for a buy taker, the maker's for a buy
    /// maker); token qty is deducted from the sell side's lock. Fills are
    /// appended to `fills`, resting orders of the same owner that it reached
    /// to `cancelled`.
    ///
    /// The order is rejected (an `Outcome` of zeros with `released =
    /// locked`) when `price` is 0, `qty` is less than a lot, or `locked`
    /// does not cover it. A remainder does not rest, and its lock is
    /// released, when `expires` is before the latest `now` given to
    /// [`expire`](Self::expire) (an immediate-or-cancel order), when
    /// matching stopped with the book still crossing its price (the fills'
    /// money reached `u64::MAX`), or when the book is full (`u32::MAX - 1`
    /// live orders).
    #[allow(clippy::too_many_arguments)]
    pub fn limit(
        &mut self,
        owner: AgentId,
        side: Side,
        price: u64,
        qty: u64,
        expires: u64,
        locked: u64,
        fills: &mut Vec<Fill>,
        cancelled: &mut Vec<Order>,
    ) -> Outcome {
        let qty = qty - qty % self.lot;
        let rejected = Outcome {
            released: locked,
            ..Outcome::default()
        };
        if price == 0 || qty == 0 {
            return rejected;
        }
        let need = match side {
            Side::Buy => money(price, self.tick, qty),
            Side::Sell => u128::from(qty),
        };
        if u128::from(locked) < need {
            return rejected;
        }
        let mut t = Taker {
            owner,
            side,
            limit: price,
            want: qty,
            budget: match side {
                Side::Buy => locked,
                Side::Sell => u64::MAX,
            },
            filled: 0,
            money: 0,
        };
        self.take(&mut t, fills, cancelled);
        let spent = match side {
            Side::Buy => t.money,
            Side::Sell => t.filled,
        };
        // Never below zero: `take` pays at most the budget (`left`) and
        // fills at most the quantity, both within the lock.
        let mut released = locked.saturating_sub(spent);
        let mut rested = None;
        if t.want > 0 && expires >= self.now && !self.crosses(side, price) {
            // The remaining lock covers this (value rounds down), `min` only
            // guards the arithmetic.
            let keep = match side {
                Side::Buy => money(price, self.tick, t.want).min(u128::from(released)) as u64,
                Side::Sell => t.want.min(released),
            };
            rested = self.rest(owner, side, price, t.want, expires, keep);
            if rested.is_some() {
                released -= keep;
            }
        }
        Outcome {
            filled: t.filled,
            money: t.money,
            rested,
            released,
        }
    }

    /// Places a market order for `qty` token base units (rounded down to a
    /// lot multiple): walks the other side from the best price until `qty`
    /// is filled or the side is empty; never rests. A market buy stops
    /// early, rather than overflow, if its money would pass `u64::MAX`.
    pub fn market(
        &mut self,
        owner: AgentId,
        side: Side,
        qty: u64,
        fills: &mut Vec<Fill>,
        cancelled: &mut Vec<Order>,
    ) -> Outcome {
        let qty = qty - qty % self.lot;
        let mut t = Taker {
            owner,
            side,
            limit: match side {
                Side::Buy => u64::MAX,
                Side::Sell => 0,
            },
            want: qty,
            budget: u64::MAX,
            filled: 0,
            money: 0,
        };
        self.take(&mut t, fills, cancelled);
        Outcome {
            filled: t.filled,
            money: t.money,
            rested: None,
            released: 0,
        }
    }

    /// Places a market buy spending at most `budget` money base units: at
    /// each maker it takes the largest lot multiple it can afford (money =
    /// `value(...)` ≤ what is left of the budget); it stops when it cannot
    /// afford one lot at the best price, or after a maker of which it could
    /// afford only part (so that the rounding down of each fill's money
    /// cannot buy more lots for nothing); never rests. The caller keeps the
    /// unspent `budget - money`.
    pub fn market_buy_spending(
        &mut self,
        owner: AgentId,
        budget: u64,
        fills: &mut Vec<Fill>,
        cancelled: &mut Vec<Order>,
    ) -> Outcome {
        let mut t = Taker {
            owner,
            side: Side::Buy,
            limit: u64::MAX,
            want: u64::MAX - u64::MAX % self.lot,
            budget,
            filled: 0,
            money: 0,
        };
        self.take(&mut t, fills, cancelled);
        Outcome {
            filled: t.filled,
            money: t.money,
            rested: None,
            released: 0,
        }
    }

    /// Removes a resting order and returns it, with what is still locked for
    /// it; `None` if it is not live (filled, cancelled, expired, or never
    /// placed).
    pub fn cancel(&mut self, id: OrderId) -> Option<Order> {
        let slot = *self.ids.get(&id)?;
        Some(self.remove(slot))
    }

    /// Removes every order with `expires < now`, appending them to `out` in
    /// the order of (expires, id). Limit orders placed afterwards with
    /// `expires < now` do not rest.
    pub fn expire(&mut self, now: u64, out: &mut Vec<Order>) {
        self.now = self.now.max(now);
        while let Some(&Reverse((expires, id))) = self.expiry.peek() {
            if expires >= now {
                break;
            }
            self.expiry.pop();
            if let Some(&slot) = self.ids.get(&id) {
                out.push(self.remove(slot));
            }
        }
    }

    /// Returns the highest price of a resting buy, in ticks.
    pub fn best_bid(&self) -> Option<u64> {
        self.bids.best_key()
    }

    /// Returns the lowest price of a resting sell, in ticks.
    pub fn best_ask(&self) -> Option<u64> {
        self.asks.best_key().map(|k| !k)
    }

    /// Returns the total remaining quantity at the best bid level (0 if
    /// there is none): a sum over orders, so a `u128`.
    pub fn bid_depth(&self) -> u128 {
        self.best_total(&self.bids)
    }

    /// Returns the total remaining quantity at the best ask level (0 if
    /// there is none): a sum over orders, so a `u128`.
    pub fn ask_depth(&self) -> u128 {
        self.best_total(&self.asks)
    }

    /// Returns the price levels of one side, best first, as (price, total
    /// remaining quantity).
    pub fn levels(&self, side: Side) -> impl Iterator<Item = (u64, u128)> + '_ {
        let ladder = match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        };
        ladder.iter().map(move |l| {
            let level = &self.levels[l as usize];
            (level.price, level.total)
        })
    }

    /// Returns the number of live (resting) orders.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Returns whether no order rests in the book.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Returns the live order `id`, if it rests in the book.
    pub fn get(&self, id: OrderId) -> Option<&Order> {
        self.ids.get(&id).map(|&s| &self.slots[s as usize].order)
    }

    /// The latest `now` given to [`expire`](Self::expire): the step the
    /// book last began.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Whether `id` has been given to an order (live or gone).
    pub(crate) fn issued(&self, id: OrderId) -> bool {
        id != FREE && id < self.next_id
    }

    /// Returns the live orders, in no particular order; for checks and
    /// tests.
    pub fn orders(&self) -> impl Iterator<Item = &Order> {
        self.slots
            .iter()
            .filter(|s| s.order.id != FREE)
            .map(|s| &s.order)
    }

    fn best_total(&self, ladder: &Ladder) -> u128 {
        ladder.best().map_or(0, |l| self.levels[l as usize].total)
    }

    /// Whether the other side's best price crosses `price` for an order on
    /// `side`.
    fn crosses(&self, side: Side, price: u64) -> bool {
        match side {
            Side::Buy => self.best_ask().is_some_and(|a| a <= price),
            Side::Sell => self.best_bid().is_some_and(|b| b >= price),
        }
    }

    /// The largest lot multiple of token base units whose money at `price`
    /// is at most `left`: `value(p, tick, q) ≤ left ⇔ p·tick·q ≤
    /// (left+1)·SCALE − 1`.
    fn affordable(&self, price: u64, left: u64) -> u64 {
        let num = (u128::from(left) + 1) * u128::from(SCALE) - 1;
        let q = num / (u128::from(price.max(1)) * u128::from(self.tick));
        let q = saturate(q);
        q - q % self.lot
    }

    /// Matches the taker against the other side while prices cross.
    fn take(&mut self, t: &mut Taker, fills: &mut Vec<Fill>, cancelled: &mut Vec<Order>) {
        let tick = self.tick;
        while t.want > 0 {
            let best = match t.side {
                Side::Buy => self.asks.best(),
                Side::Sell => self.bids.best(),
            };
            let Some(l) = best else { break };
            let level = self.levels[l as usize];
            let price = level.price;
            let crosses = match t.side {
                Side::Buy => price <= t.limit,
                Side::Sell => price >= t.limit,
            };
            if !crosses {
                break;
            }
            let s = level.head;
            let maker = self.slots[s as usize].order;
            let left = t.budget - t.money;
            let mut qty = t.want.min(maker.remaining);
            let mut paid = money(price, tick, qty);
            let capped = paid > u128::from(left);
            if capped {
                qty = qty.min(self.affordable(price, left));
                if qty == 0 {
                    break;
                }
                paid = money(price, tick, qty);
            }
            if maker.owner == t.owner {
                cancelled.push(self.remove(s));
                continue;
            }
            // ≤ left ≤ u64::MAX.
            let paid = paid as u64;
            let o = &mut self.slots[s as usize].order;
            o.remaining -= qty;
            // Never below zero: a resting order's lock covers the value of
            // its remaining quantity (checked by `check`), and `value` rounds
            // down, so the value of a part never exceeds its share.
            o.locked = o.locked.saturating_sub(match o.side {
                Side::Buy => paid,
                Side::Sell => qty,
            });
            self.levels[l as usize].total -= u128::from(qty);
            let maker_done = if o.remaining == 0 {
                Some(self.remove(s).locked)
            } else {
                None
            };
            fills.push(Fill {
                maker: maker.id,
                maker_owner: maker.owner,
                taker_owner: t.owner,
                taker_side: t.side,
                price,
                qty,
                money: paid,
                maker_done,
            });
            t.want -= qty;
            t.filled += qty;
            t.money += paid;
            if capped {
                // The budget binds: what is left cannot buy the next lot
                // here, and rounding must not let it nibble more for free.
                break;
            }
        }
    }

    /// Adds an order at the tail of its level; `None` if the book cannot
    /// hold another order.
    fn rest(
        &mut self,
        owner: AgentId,
        side: Side,
        price: u64,
        remaining: u64,
        expires: u64,
        locked: u64,
    ) -> Option<OrderId> {
        if self.next_id == OrderId::MAX {
            return None;
        }
        let s = match self.free_slots.pop() {
            Some(s) => s,
            None if self.slots.len() < NIL as usize => {
                self.slots.push(Slot {
                    order: Order {
                        id: FREE,
                        owner: 0,
                        side,
                        price: 0,
                        remaining: 0,
                        expires: 0,
                        locked: 0,
                    },
                    prev: NIL,
                    next: NIL,
                    level: NIL,
                });
                (self.slots.len() - 1) as u32
            }
            None => return None,
        };
        let id = self.next_id;
        self.next_id += 1;
        let l = self.level_at(side, price);
        let level = &mut self.levels[l as usize];
        let tail = level.tail;
        level.total += u128::from(remaining);
        level.tail = s;
        if tail == NIL {
            level.head = s;
        } else {
            self.slots[tail as usize].next = s;
        }
        self.slots[s as usize] = Slot {
            order: Order {
                id,
                owner,
                side,
                price,
                remaining,
                expires,
                locked,
            },
            prev: tail,
            next: NIL,
            level: l,
        };
        self.ids.insert(id, s);
        if expires != u64::MAX {
            if self.expiry.len() >= 2 * self.ids.len() + 64 {
                // from the live orders, this one among them
                self.rebuild_expiry();
            } else {
                self.expiry.push(Reverse((expires, id)));
            }
        }
        Some(id)
    }

    /// The level of `price` on `side`, created empty if needed.
    fn level_at(&mut self, side: Side, price: u64) -> u32 {
        let k = key(side, price);
        let ladder = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let at = match ladder.find(k) {
            Ok(l) => return l,
            Err(at) => at,
        };
        let level = Level {
            price,
            total: 0,
            head: NIL,
            tail: NIL,
        };
        let l = match self.free_levels.pop() {
            Some(l) => {
                self.levels[l as usize] = level;
                l
            }
            None => {
                // At most one level per slot, and slots are fewer than NIL.
                self.levels.push(level);
                (self.levels.len() - 1) as u32
            }
        };
        ladder.insert(at, k, l);
        l
    }

    /// Unlinks the order in slot `s`, frees the slot (and its level if it
    /// empties) and returns the order.
    fn remove(&mut self, s: u32) -> Order {
        let Slot {
            order,
            prev,
            next,
            level: l,
        } = self.slots[s as usize];
        let level = &mut self.levels[l as usize];
        if prev == NIL {
            level.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            level.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        level.total -= u128::from(order.remaining);
        if level.head == NIL {
            let ladder = match order.side {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            ladder.remove(key(order.side, order.price));
            self.free_levels.push(l);
        }
        self.ids.remove(&order.id);
        self.slots[s as usize].order.id = FREE;
        self.free_slots.push(s);
        order
    }

    /// Rebuilds the expiry heap from the live orders, dropping the entries
    /// of orders that left the book otherwise.
    fn rebuild_expiry(&mut self) {
        let mut entries = std::mem::take(&mut self.expiry).into_vec();
        entries.clear();
        entries.extend(
            self.slots
                .iter()
                .filter(|s| s.order.id != FREE && s.order.expires != u64::MAX)
                .map(|s| Reverse((s.order.expires, s.order.id))),
        );
        self.expiry = BinaryHeap::from(entries);
    }
}

/// `x` capped at `u64::MAX`: for `affordable`, whose callers
/// take the minimum with a `u64` quantity, so the cap never shortens one.
#[inline]
fn saturate(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::value;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// One whole token, in base units.
    const T: u64 = SCALE;
    /// With `tick = SCALE` the money of q base units at p ticks is p·q.
    const TICK: u64 = SCALE;
    /// A tenth of a token.
    const LOT: u64 = T / 10;

    #[derive(Default)]
    struct Out {
        fills: Vec<Fill>,
        cancelled: Vec<Order>,
    }

    impl Out {
        fn clear(&mut self) {
            self.fills.clear();
            self.cancelled.clear();
        }
    }

    fn lock(book: &OrderBook, side: Side, price: u64, qty: u64) -> u64 {
        match side {
            Side::Buy => value(price, book.tick(), qty) as u64,
            Side::Sell => qty,
        }
    }

    /// A limit order locked exactly as the caller would lock it.
    fn place(
        book: &mut OrderBook,
        out: &mut Out,
        owner: AgentId,
        side: Side,
        price: u64,
        qty: u64,
    ) -> Outcome {
        let locked = lock(book, side, price, qty);
        book.limit(
            owner,
            side,
            price,
            qty,
            u64::MAX,
            locked,
            &mut out.fills,
            &mut out.cancelled,
        )
    }

    /// Places a resting order and returns its id.
    fn rest(book: &mut OrderBook, owner: AgentId, side: Side, price: u64, qty: u64) -> OrderId {
        let mut out = Out::default();
        let o = place(book, &mut out, owner, side, price, qty);
        assert!(out.fills.is_empty(), "{:?}", out.fills);
        o.rested.expect("rests")
    }

    impl OrderBook {
        /// Checks every structural invariant; panics with what is wrong.
        fn check(&self) {
            assert_eq!(self.validate(), Ok(()));
            let mut seen = 0;
            for (side, ladder) in [(Side::Buy, &self.bids), (Side::Sell, &self.asks)] {
                assert_eq!(ladder.keys.len(), ladder.levels.len());
                assert!(
                    ladder.keys.windows(2).all(|w| w[0] < w[1]),
                    "ladder not sorted"
                );
                for (&k, &l) in ladder.keys.iter().zip(&ladder.levels) {
                    let level = &self.levels[l as usize];
                    assert_eq!(key(side, level.price), k);
                    assert_ne!(level.head, NIL, "empty level in the ladder");
                    let (mut s, mut prev, mut total, mut last_id) = (level.head, NIL, 0u128, 0);
                    while s != NIL {
                        let slot = &self.slots[s as usize];
                        assert_eq!(slot.prev, prev);
                        assert_eq!(slot.level, l);
                        let o = &slot.order;
                        assert_ne!(o.id, FREE);
                        assert!(o.id > last_id, "FIFO out of time order");
                        last_id = o.id;
                        assert_eq!((o.side, o.price), (side, level.price));
                        assert!(o.remaining > 0 && o.remaining % self.lot == 0);
                        assert_eq!(self.ids.get(&o.id), Some(&s));
                        total += u128::from(o.remaining);
                        seen += 1;
                        prev = s;
                        s = slot.next;
                    }
                    assert_eq!(level.tail, prev);
                    assert_eq!(level.total, total, "level total");
                }
            }
            assert_eq!(seen, self.ids.len());
            assert_eq!(self.orders().count(), seen);
            assert_eq!(self.free_slots.len() + seen, self.slots.len());
            if let (Some(b), Some(a)) = (self.best_bid(), self.best_ask()) {
                assert!(b < a, "crossed: bid {b} ask {a}");
            }
            for o in self.orders() {
                let need = match o.side {
                    // `value` itself, which is safe only below u128 overflow.
                    Side::Buy => money(o.price, self.tick, o.remaining),
                    Side::Sell => u128::from(o.remaining),
                };
                assert!(u128::from(o.locked) >= need, "lock short: {o:?}");
            }
            let at = |side: Side, price: Option<u64>| -> u128 {
                self.orders()
                    .filter(|o| o.side == side && Some(o.price) == price)
                    .map(|o| u128::from(o.remaining))
                    .sum()
            };
            assert_eq!(self.bid_depth(), at(Side::Buy, self.best_bid()));
            assert_eq!(self.ask_depth(), at(Side::Sell, self.best_ask()));
        }
    }

    #[test]
    fn best_price_first_then_oldest_first() {
        let mut book = OrderBook::new(TICK, LOT);
        let a = rest(&mut book, 1, Side::Sell, 101, T);
        let b = rest(&mut book, 2, Side::Sell, 100, T);
        let c = rest(&mut book, 3, Side::Sell, 100, T);
        assert!(a < b && b < c);
        assert_eq!(
            (book.best_ask(), book.ask_depth()),
            (Some(100), u128::from(2 * T))
        );
        let mut out = Out::default();
        let o = place(&mut book, &mut out, 9, Side::Buy, 101, 25 * LOT);
        let got: Vec<_> = out
            .fills
            .iter()
            .map(|f| {
                (
                    f.maker,
                    f.maker_owner,
                    f.price,
                    f.qty,
                    f.money,
                    f.maker_done,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (b, 2, 100, T, 100 * T, Some(0)),
                (c, 3, 100, T, 100 * T, Some(0)),
                (a, 1, 101, T / 2, 101 * T / 2, None),
            ]
        );
        assert!(out
            .fills
            .iter()
            .all(|f| f.taker_owner == 9 && f.taker_side == Side::Buy));
        // Locked 101 × 2.5 = 252.5, paid 250.5: 2 come back.
        assert_eq!(
            o,
            Outcome {
                filled: 25 * LOT,
                money: 2505 * T / 10,
                rested: None,
                released: 2 * T,
            }
        );
        assert_eq!(
            book.get(a).map(|o| (o.remaining, o.locked)),
            Some((T / 2, T / 2))
        );
        assert_eq!(book.get(b), None);
        assert_eq!(
            (book.best_ask(), book.ask_depth(), book.len()),
            (Some(101), u128::from(T / 2), 1)
        );
        book.check();
    }

    #[test]
    fn the_debug_form_counts_the_orders_and_each_sides_price_levels() {
        let mut book = OrderBook::new(TICK, LOT);
        rest(&mut book, 1, Side::Buy, 98, T);
        rest(&mut book, 2, Side::Buy, 99, T);
        rest(&mut book, 3, Side::Buy, 99, T);
        rest(&mut book, 4, Side::Sell, 101, T);
        // four orders on bid levels 98 and 99 and ask level 101
        assert_eq!(
            format!("{book:?}"),
            format!(
                "OrderBook {{ tick: {TICK}, lot: {LOT}, orders: 4, best_bid: Some(99), \
                 best_ask: Some(101), bid_levels: 2, ask_levels: 1 }}"
            )
        );
    }

    #[test]
    fn partial_fill_rests_the_rest_and_releases_the_price_improvement() {
        let mut book = OrderBook::new(TICK, LOT);
        rest(&mut book, 1, Side::Sell, 100, T);
        let mut out = Out::default();
        let o = place(&mut book, &mut out, 2, Side::Buy, 102, 3 * T);
        assert_eq!(out.fills.len(), 1);
        assert_eq!((out.fills[0].qty, out.fills[0].money), (T, 100 * T));
        // Locked 306, paid 100, the 2 tokens resting at 102 keep 204.
        assert_eq!((o.filled, o.money, o.released), (T, 100 * T, 2 * T));
        let id = o.rested.expect("rests");
        let r = *book.get(id).expect("live");
        assert_eq!((r.price, r.remaining, r.locked), (102, 2 * T, 204 * T));
        assert_eq!(
            (book.best_bid(), book.bid_depth(), book.best_ask()),
            (Some(102), u128::from(2 * T), None)
        );
        // A sell that crosses trades at the maker's 102, not at its own 101.
        out.clear();
        let o = place(&mut book, &mut out, 3, Side::Sell, 101, T / 2);
        assert_eq!(
            (o.filled, o.money, o.released, o.rested),
            (T / 2, 51 * T, 0, None)
        );
        assert_eq!(out.fills[0].price, 102);
        assert_eq!(
            book.get(id).map(|o| (o.remaining, o.locked)),
            Some((15 * LOT, 153 * T))
        );
        book.check();
    }

    #[test]
    fn a_completed_buy_maker_hands_back_its_rounding_dust() {
        // value(3, 1, q) = floor(3q / 1e9): the buy locks 3 base units for
        // 1e9, three fills of 0.4, 0.4, 0.2 pay 1 + 1 + 0.
        let mut book = OrderBook::new(1, 1);
        let id = rest(&mut book, 1, Side::Buy, 3, T);
        assert_eq!(book.get(id).map(|o| o.locked), Some(3));
        let mut out = Out::default();
        for q in [4 * T / 10, 4 * T / 10, 2 * T / 10] {
            place(&mut book, &mut out, 2, Side::Sell, 3, q);
        }
        let paid: Vec<_> = out.fills.iter().map(|f| (f.money, f.maker_done)).collect();
        assert_eq!(paid, [(1, None), (1, None), (0, Some(1))]);
        assert!(book.is_empty());
    }

    #[test]
    fn market_orders_walk_the_levels_and_never_rest() {
        let mut book = OrderBook::new(TICK, LOT);
        rest(&mut book, 1, Side::Sell, 100, 2 * T);
        rest(&mut book, 2, Side::Sell, 101, 3 * T);
        rest(&mut book, 3, Side::Sell, 102, 5 * T);
        let mut out = Out::default();
        let o = book.market(9, Side::Buy, 6 * T, &mut out.fills, &mut out.cancelled);
        let got: Vec<_> = out
            .fills
            .iter()
            .map(|f| (f.price, f.qty, f.money))
            .collect();
        assert_eq!(
            got,
            [
                (100, 2 * T, 200 * T),
                (101, 3 * T, 303 * T),
                (102, T, 102 * T)
            ]
        );
        assert_eq!(
            (o.filled, o.money, o.rested, o.released),
            (6 * T, 605 * T, None, 0)
        );
        assert_eq!(
            (book.best_ask(), book.ask_depth()),
            (Some(102), u128::from(4 * T))
        );

        // More than the side holds: takes it all, the rest vanishes.
        rest(&mut book, 4, Side::Buy, 99, T);
        rest(&mut book, 5, Side::Buy, 98, T);
        out.clear();
        let o = book.market(9, Side::Sell, 5 * T, &mut out.fills, &mut out.cancelled);
        assert_eq!((o.filled, o.money, o.rested), (2 * T, 197 * T, None));
        assert_eq!((book.best_bid(), book.best_ask()), (None, Some(102)));
        out.clear();
        let o = book.market(9, Side::Sell, T, &mut out.fills, &mut out.cancelled);
        assert_eq!(o, Outcome::default());
        assert!(out.fills.is_empty());
        book.check();
    }

    #[test]
    fn spending_buy_takes_what_it_can_afford_in_lots() {
        let mut book = OrderBook::new(TICK, LOT);
        rest(&mut book, 1, Side::Sell, 100, T);
        let b = rest(&mut book, 2, Side::Sell, 200, T);
        let mut out = Out::default();
        // 1 token at 100, then 45 left buys 0.2 at 200 (40), 5 < 20 stops.
        let o = book.market_buy_spending(9, 145 * T, &mut out.fills, &mut out.cancelled);
        let got: Vec<_> = out
            .fills
            .iter()
            .map(|f| (f.price, f.qty, f.money))
            .collect();
        assert_eq!(got, [(100, T, 100 * T), (200, 2 * LOT, 40 * T)]);
        assert_eq!((o.filled, o.money, o.released), (12 * LOT, 140 * T, 0));
        assert_eq!(book.get(b).map(|o| o.remaining), Some(8 * LOT));
        // Less than one lot's worth buys nothing.
        out.clear();
        let o = book.market_buy_spending(9, 20 * T - 1, &mut out.fills, &mut out.cancelled);
        assert_eq!(o, Outcome::default());
        let o = book.market_buy_spending(9, 20 * T, &mut out.fills, &mut out.cancelled);
        assert_eq!((o.filled, o.money), (LOT, 20 * T));
        book.check();
    }

    #[test]
    fn cancel_returns_the_order_and_its_lock_once() {
        let mut book = OrderBook::new(TICK, LOT);
        let a = rest(&mut book, 1, Side::Buy, 99, T);
        let b = rest(&mut book, 2, Side::Buy, 99, 2 * T);
        let c = rest(&mut book, 3, Side::Buy, 98, T);
        assert_eq!(
            (book.best_bid(), book.bid_depth(), book.len()),
            (Some(99), u128::from(3 * T), 3)
        );
        let got = book.cancel(a).expect("live");
        assert_eq!(
            (got.id, got.owner, got.remaining, got.locked),
            (a, 1, T, 99 * T)
        );
        assert_eq!(book.cancel(a), None);
        assert_eq!(
            (book.best_bid(), book.bid_depth()),
            (Some(99), u128::from(2 * T))
        );
        assert!(book.cancel(b).is_some());
        assert_eq!(
            (book.best_bid(), book.bid_depth()),
            (Some(98), u128::from(T))
        );
        assert_eq!(book.cancel(999), None);
        // A filled order cannot be cancelled.
        let mut out = Out::default();
        book.market(9, Side::Sell, T, &mut out.fills, &mut out.cancelled);
        assert_eq!(out.fills[0].maker, c);
        assert_eq!(book.cancel(c), None);
        assert!(book.is_empty());
        assert_eq!((book.best_bid(), book.bid_depth()), (None, 0));
        book.check();
    }

    #[test]
    fn orders_expire_after_their_last_step_and_stale_ones_do_not_rest() {
        let mut book = OrderBook::new(TICK, LOT);
        let mut out = Out::default();
        let mut gone = Vec::new();
        let mut at = |book: &mut OrderBook, owner, side, price, expires| {
            let locked = lock(book, side, price, T);
            book.limit(
                owner,
                side,
                price,
                T,
                expires,
                locked,
                &mut out.fills,
                &mut out.cancelled,
            )
        };
        let a = at(&mut book, 1, Side::Buy, 99, 5).rested.expect("rests");
        let b = at(&mut book, 1, Side::Sell, 101, 3).rested.expect("rests");
        let c = at(&mut book, 1, Side::Buy, 98, u64::MAX)
            .rested
            .expect("rests");
        book.expire(3, &mut gone);
        assert!(gone.is_empty(), "alive through step 3");
        book.expire(4, &mut gone);
        assert_eq!(gone.iter().map(|o| o.id).collect::<Vec<_>>(), [b]);
        assert_eq!(gone[0].locked, T);
        book.expire(100, &mut gone);
        assert_eq!(gone.iter().map(|o| o.id).collect::<Vec<_>>(), [b, a]);
        assert_eq!(book.orders().map(|o| o.id).collect::<Vec<_>>(), [c]);
        // Now is 100: an order that expires before it trades but does not rest.
        let o = at(&mut book, 2, Side::Buy, 97, 99);
        assert_eq!((o.rested, o.released), (None, 97 * T));
        let o = at(&mut book, 2, Side::Sell, 98, 50);
        assert_eq!((o.filled, o.rested, o.released), (T, None, 0));
        let o = at(&mut book, 2, Side::Sell, 98, 100);
        assert!(o.rested.is_some(), "alive through step 100");
        book.check();
    }

    #[test]
    fn self_trade_cancels_the_resting_order_and_matching_goes_on() {
        let mut book = OrderBook::new(TICK, LOT);
        let a = rest(&mut book, 1, Side::Sell, 100, T);
        let b = rest(&mut book, 2, Side::Sell, 100, T);
        let c = rest(&mut book, 1, Side::Sell, 101, T);
        let mut out = Out::default();
        let o = place(&mut book, &mut out, 1, Side::Buy, 101, 2 * T);
        let cancelled: Vec<_> = out.cancelled.iter().map(|o| (o.id, o.locked)).collect();
        assert_eq!(cancelled, [(a, T), (c, T)]);
        assert_eq!(out.fills.len(), 1);
        assert_eq!((out.fills[0].maker, out.fills[0].maker_owner), (b, 2));
        assert_eq!((o.filled, o.money), (T, 100 * T));
        // 202 locked, 100 paid, 101 kept for the resting token.
        assert_eq!(o.released, T);
        assert!(o.rested.is_some());
        assert_eq!(
            (book.best_bid(), book.best_ask(), book.len()),
            (Some(101), None, 1)
        );
        // An own order beyond the limit price is left alone.
        let d = rest(&mut book, 1, Side::Sell, 105, T);
        out.clear();
        book.market(2, Side::Sell, T, &mut out.fills, &mut out.cancelled);
        assert!(out.cancelled.is_empty());
        assert!(book.get(d).is_some());
        book.check();
    }

    #[test]
    fn quantities_round_down_to_lots_and_bad_orders_are_rejected() {
        let mut book = OrderBook::new(TICK, LOT);
        let mut out = Out::default();
        let o = place(&mut book, &mut out, 1, Side::Sell, 100, 25 * LOT / 10);
        let id = o.rested.expect("rests");
        assert_eq!(
            book.get(id).map(|o| (o.remaining, o.locked)),
            Some((2 * LOT, 2 * LOT))
        );
        assert_eq!(o.released, LOT / 2, "the rounded-off half lot is released");
        let rejected = |locked| Outcome {
            released: locked,
            ..Outcome::default()
        };
        let (f, c) = (&mut out.fills, &mut out.cancelled);
        assert_eq!(
            book.limit(2, Side::Buy, 100, LOT - 1, 9, 7, f, c),
            rejected(7)
        );
        assert_eq!(book.limit(2, Side::Buy, 0, T, 9, 7, f, c), rejected(7));
        assert_eq!(book.limit(2, Side::Sell, 0, T, 9, T, f, c), rejected(T));
        // A lock that does not cover the order.
        assert_eq!(
            book.limit(2, Side::Buy, 100, T, 9, 100 * T - 1, f, c),
            rejected(100 * T - 1)
        );
        assert_eq!(
            book.limit(2, Side::Sell, 90, T, 9, T - 1, f, c),
            rejected(T - 1)
        );
        assert_eq!(book.market(2, Side::Buy, LOT - 1, f, c), Outcome::default());
        assert!(f.is_empty() && c.is_empty());
        assert_eq!(book.len(), 1);
        // Zero tick or lot are taken as 1.
        let zero = OrderBook::new(0, 0);
        assert_eq!((zero.tick(), zero.lot()), (1, 1));
        book.check();
    }

    #[test]
    fn money_beyond_u64_stops_matching_without_panicking() {
        let p = u64::MAX / 4;
        let mut book = OrderBook::new(TICK, 1);
        // Two bids of 3 base units at p: each locks 3p ≈ ¾ of u64::MAX.
        rest(&mut book, 1, Side::Buy, p, 3);
        let second = rest(&mut book, 2, Side::Buy, p, 3);
        let mut out = Out::default();
        let o = place(&mut book, &mut out, 3, Side::Sell, p, 6);
        // 3 units, then the 1 unit whose money still fits.
        assert_eq!((o.filled, o.money), (4, 4 * p));
        assert_eq!((o.rested, o.released), (None, 2), "would cross: not rested");
        assert_eq!(book.get(second).map(|o| o.remaining), Some(2));
        book.check();

        // Extremes everywhere.
        let mut book = OrderBook::new(u64::MAX, 1);
        let m = u64::MAX;
        out.clear();
        let o = book.limit(
            1,
            Side::Sell,
            m,
            m,
            m,
            m,
            &mut out.fills,
            &mut out.cancelled,
        );
        assert!(o.rested.is_some());
        assert_eq!(
            book.market(2, Side::Buy, m, &mut out.fills, &mut out.cancelled),
            Outcome::default()
        );
        assert_eq!(
            book.market_buy_spending(2, m, &mut out.fills, &mut out.cancelled),
            Outcome::default()
        );
        let o = book.limit(2, Side::Buy, m, m, m, m, &mut out.fills, &mut out.cancelled);
        assert_eq!(o.released, m, "cannot be covered: rejected");
        let o = book.limit(2, Side::Buy, 1, 1, 0, m, &mut out.fills, &mut out.cancelled);
        assert!(o.rested.is_some());
        book.market(3, Side::Sell, m, &mut out.fills, &mut out.cancelled);
        book.expire(m, &mut Vec::new());
        book.check();
    }

    /// The expiry heap keeps the entries of cancelled orders until it holds
    /// `2n + 64`, `n` the live orders with the one being placed, then drops
    /// them: after a placement it holds at most `2n + 64`, and reaches that
    /// bound. (Orders that expire, unlike `rest`'s, which never do and never
    /// enter it.)
    #[test]
    fn stale_expiry_entries_are_dropped() {
        let mut book = OrderBook::new(TICK, LOT);
        let mut out = Out::default();
        let mut expiring = |book: &mut OrderBook, price: u64| {
            let locked = lock(book, Side::Buy, price, T);
            let o = book.limit(
                1,
                Side::Buy,
                price,
                T,
                1_000_000,
                locked,
                &mut out.fills,
                &mut out.cancelled,
            );
            o.rested.expect("rests")
        };
        for live in [0, 1, 5] {
            let kept: Vec<OrderId> = (0..live).map(|_| expiring(&mut book, 40)).collect();
            // n = live + 1 during each placement below
            let bound = 2 * (live + 1) + 64;
            let mut most = 0;
            for i in 0..10_000 {
                let id = expiring(&mut book, 50);
                assert_eq!(book.len(), live + 1);
                most = most.max(book.expiry.len());
                assert!(
                    book.expiry.len() <= bound,
                    "{live} live, at {i}: {}",
                    book.expiry.len()
                );
                book.cancel(id);
            }
            assert_eq!(most, bound, "{live} live");
            for id in kept {
                book.cancel(id);
            }
            assert!(book.is_empty());
        }
    }

    // ---- property tests against a naive book -------------------------------

    /// The same rules written the slow and obvious way: a list of orders,
    /// searched in full for the best one before each fill.
    #[derive(Debug)]
    struct Naive {
        tick: u64,
        lot: u64,
        now: u64,
        next_id: OrderId,
        orders: Vec<Order>,
    }

    impl Naive {
        fn new(tick: u64, lot: u64) -> Self {
            Naive {
                tick,
                lot,
                now: 0,
                next_id: 1,
                orders: Vec::new(),
            }
        }

        fn best(&self, side: Side) -> Option<usize> {
            let better = |a: &Order, b: &Order| match side {
                Side::Buy => {
                    (a.price, std::cmp::Reverse(a.id)) > (b.price, std::cmp::Reverse(b.id))
                }
                Side::Sell => {
                    (std::cmp::Reverse(a.price), std::cmp::Reverse(a.id))
                        > (std::cmp::Reverse(b.price), std::cmp::Reverse(b.id))
                }
            };
            let mut best: Option<usize> = None;
            for (i, o) in self.orders.iter().enumerate() {
                if o.side == side && best.is_none_or(|b| better(o, &self.orders[b])) {
                    best = Some(i);
                }
            }
            best
        }

        #[allow(clippy::too_many_arguments)]
        fn take(
            &mut self,
            owner: AgentId,
            side: Side,
            limit: u64,
            mut want: u64,
            budget: u64,
            fills: &mut Vec<Fill>,
            cancelled: &mut Vec<Order>,
        ) -> (u64, u64) {
            let (mut filled, mut paid) = (0u64, 0u64);
            while want > 0 {
                let Some(i) = self.best(side.opposite()) else {
                    break;
                };
                let m = self.orders[i];
                let ok = match side {
                    Side::Buy => m.price <= limit,
                    Side::Sell => m.price >= limit,
                };
                if !ok {
                    break;
                }
                let left = u128::from(budget - paid);
                // The most lots that fit the budget, by bisection.
                let (mut lo, mut hi) = (0, want.min(m.remaining) / self.lot);
                while lo < hi {
                    let mid = hi - (hi - lo) / 2;
                    if value(m.price, self.tick, mid * self.lot) <= left {
                        lo = mid;
                    } else {
                        hi = mid - 1;
                    }
                }
                let q = lo * self.lot;
                if q == 0 {
                    break;
                }
                let capped = q < want.min(m.remaining);
                if m.owner == owner {
                    cancelled.push(self.orders.remove(i));
                    continue;
                }
                let money = value(m.price, self.tick, q) as u64;
                let o = &mut self.orders[i];
                o.remaining -= q;
                o.locked -= if o.side == Side::Buy { money } else { q };
                let done = (o.remaining == 0).then(|| self.orders.remove(i).locked);
                fills.push(Fill {
                    maker: m.id,
                    maker_owner: m.owner,
                    taker_owner: owner,
                    taker_side: side,
                    price: m.price,
                    qty: q,
                    money,
                    maker_done: done,
                });
                want -= q;
                filled += q;
                paid += money;
                if capped {
                    break;
                }
            }
            (filled, paid)
        }

        #[allow(clippy::too_many_arguments)]
        fn limit(
            &mut self,
            owner: AgentId,
            side: Side,
            price: u64,
            qty: u64,
            expires: u64,
            locked: u64,
            fills: &mut Vec<Fill>,
            cancelled: &mut Vec<Order>,
        ) -> Outcome {
            let qty = qty / self.lot * self.lot;
            let need = match side {
                Side::Buy => value(price, self.tick, qty),
                Side::Sell => u128::from(qty),
            };
            if price == 0 || qty == 0 || u128::from(locked) < need {
                return Outcome {
                    released: locked,
                    ..Outcome::default()
                };
            }
            let budget = if side == Side::Buy { locked } else { u64::MAX };
            let (filled, money) = self.take(owner, side, price, qty, budget, fills, cancelled);
            let mut released = locked - if side == Side::Buy { money } else { filled };
            let remaining = qty - filled;
            let crossed = self.best(side.opposite()).is_some_and(|i| match side {
                Side::Buy => self.orders[i].price <= price,
                Side::Sell => self.orders[i].price >= price,
            });
            let mut rested = None;
            if remaining > 0 && expires >= self.now && !crossed {
                let keep = match side {
                    Side::Buy => value(price, self.tick, remaining) as u64,
                    Side::Sell => remaining,
                };
                released -= keep;
                rested = Some(self.next_id);
                self.orders.push(Order {
                    id: self.next_id,
                    owner,
                    side,
                    price,
                    remaining,
                    expires,
                    locked: keep,
                });
                self.next_id += 1;
            }
            Outcome {
                filled,
                money,
                rested,
                released,
            }
        }

        fn cancel(&mut self, id: OrderId) -> Option<Order> {
            let i = self.orders.iter().position(|o| o.id == id)?;
            Some(self.orders.remove(i))
        }

        fn expire(&mut self, now: u64, out: &mut Vec<Order>) {
            self.now = self.now.max(now);
            let mut gone: Vec<Order> = self
                .orders
                .iter()
                .filter(|o| o.expires < now)
                .copied()
                .collect();
            gone.sort_by_key(|o| (o.expires, o.id));
            self.orders.retain(|o| o.expires >= now);
            out.extend(gone);
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Limit {
            owner: AgentId,
            buy: bool,
            price: u64,
            lots: u64,
            odd: u64,
            ttl: u64,
            lock: u8,
        },
        Market {
            owner: AgentId,
            buy: bool,
            lots: u64,
        },
        Spend {
            owner: AgentId,
            lots: u64,
        },
        Cancel(usize),
        Expire(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            10 => (0..3u32, any::<bool>(), 95..106u64, 0..7u64, any::<u64>(), 0..8u64, 0..8u8).prop_map(
                |(owner, buy, price, lots, odd, ttl, lock)| Op::Limit { owner, buy, price, lots, odd, ttl, lock }
            ),
            2 => (0..3u32, any::<bool>(), 0..12u64).prop_map(|(owner, buy, lots)| Op::Market { owner, buy, lots }),
            1 => (0..3u32, 0..12u64).prop_map(|(owner, lots)| Op::Spend { owner, lots }),
            5 => any::<usize>().prop_map(Op::Cancel),
            1 => (0..3u64).prop_map(Op::Expire),
        ]
    }

    /// Escrow held by the caller, by side of the locks.
    #[derive(Debug, Default)]
    struct Escrow {
        money: i128,
        tokens: i128,
    }

    impl Escrow {
        fn release(&mut self, side: Side, amount: u64) {
            match side {
                Side::Buy => self.money -= i128::from(amount),
                Side::Sell => self.tokens -= i128::from(amount),
            }
        }
    }

    /// Runs `ops` on the book and on the naive book side by side and checks,
    /// after every event, that they agree and that the invariants hold.
    fn run(tick: u64, lot: u64, ops: &[Op]) -> Result<(), TestCaseError> {
        let mut book = OrderBook::new(tick, lot);
        let mut naive = Naive::new(tick, lot);
        let mut escrow = Escrow::default();
        let (mut now, mut ids) = (0u64, Vec::<OrderId>::new());
        // Every order ever rested: (side, price), to check fills against.
        let mut placed = BTreeMap::<OrderId, (Side, u64)>::new();
        let (mut f1, mut c1, mut f2, mut c2) = (vec![], vec![], vec![], vec![]);
        for (step, op) in ops.iter().enumerate() {
            f1.clear();
            c1.clear();
            f2.clear();
            c2.clear();
            let before: u128 = book.orders().map(|o| u128::from(o.remaining)).sum();
            // (taker side, limit, taker's lock side if it locked, outcome)
            let (side, limit, locked_taker, outcome) = match *op {
                Op::Limit {
                    owner,
                    buy,
                    price,
                    lots,
                    odd,
                    ttl,
                    lock,
                } => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let qty = lots * lot + odd % lot;
                    let exact = match side {
                        Side::Buy => value(price, tick, qty) as u64,
                        Side::Sell => qty,
                    };
                    let locked = match lock {
                        0 => exact.saturating_sub(1),
                        1 => exact + 12_345,
                        _ => exact,
                    };
                    let expires = if ttl == 7 {
                        u64::MAX
                    } else {
                        (now + ttl).saturating_sub(2)
                    };
                    escrow.release(side, 0);
                    match side {
                        Side::Buy => escrow.money += i128::from(locked),
                        Side::Sell => escrow.tokens += i128::from(locked),
                    }
                    let a = book.limit(owner, side, price, qty, expires, locked, &mut f1, &mut c1);
                    let b = naive.limit(owner, side, price, qty, expires, locked, &mut f2, &mut c2);
                    prop_assert_eq!(a, b, "step {}: {:?}", step, op);
                    escrow.release(side, a.released);
                    if let Some(id) = a.rested {
                        ids.push(id);
                        placed.insert(id, (side, price));
                    }
                    (Some(side), price, Some(side), Some(a))
                }
                Op::Market { owner, buy, lots } => {
                    let side = if buy { Side::Buy } else { Side::Sell };
                    let a = book.market(owner, side, lots * lot, &mut f1, &mut c1);
                    let b = naive.take(
                        owner,
                        side,
                        if buy { u64::MAX } else { 0 },
                        lots * lot,
                        u64::MAX,
                        &mut f2,
                        &mut c2,
                    );
                    prop_assert_eq!(
                        (a.filled, a.money, a.rested, a.released),
                        (b.0, b.1, None, 0)
                    );
                    (Some(side), if buy { u64::MAX } else { 0 }, None, Some(a))
                }
                Op::Spend { owner, lots } => {
                    let budget = value(100, tick, lots * lot) as u64 + lots;
                    let a = book.market_buy_spending(owner, budget, &mut f1, &mut c1);
                    let b = naive.take(
                        owner,
                        Side::Buy,
                        u64::MAX,
                        u64::MAX / lot * lot,
                        budget,
                        &mut f2,
                        &mut c2,
                    );
                    prop_assert_eq!(
                        (a.filled, a.money, a.rested, a.released),
                        (b.0, b.1, None, 0)
                    );
                    prop_assert!(a.money <= budget);
                    (Some(Side::Buy), u64::MAX, None, Some(a))
                }
                Op::Cancel(i) => {
                    if !ids.is_empty() {
                        let id = ids[i % ids.len()];
                        let a = book.cancel(id);
                        prop_assert_eq!(a, naive.cancel(id));
                        c1.extend(a);
                        c2.extend(a);
                    }
                    (None, 0, None, None)
                }
                Op::Expire(dt) => {
                    now += dt;
                    book.expire(now, &mut c1);
                    naive.expire(now, &mut c2);
                    prop_assert!(c1.iter().all(|o| o.expires < now));
                    c2.clone_from(&c1);
                    (None, 0, None, None)
                }
            };
            prop_assert_eq!(&f1, &f2, "fills, step {}: {:?}", step, op);
            prop_assert_eq!(&c1, &c2, "cancelled, step {}: {:?}", step, op);

            // The fills: maker's price, within the taker's limit, exact money.
            let mut qty = 0u128;
            let mut paid = 0u128;
            for f in &f1 {
                let &(maker_side, maker_price) = placed.get(&f.maker).expect("a placed order");
                let taker = side.expect("fills only from orders");
                prop_assert_eq!(maker_side, taker.opposite());
                prop_assert_eq!(f.taker_side, taker);
                prop_assert_eq!(f.price, maker_price);
                match taker {
                    Side::Buy => prop_assert!(f.price <= limit),
                    Side::Sell => prop_assert!(f.price >= limit),
                }
                prop_assert!(f.qty > 0 && f.qty % lot == 0);
                prop_assert_eq!(u128::from(f.money), value(f.price, tick, f.qty));
                prop_assert_ne!(f.maker_owner, f.taker_owner);
                prop_assert_eq!(f.maker_done.is_some(), book.get(f.maker).is_none());
                qty += u128::from(f.qty);
                paid += u128::from(f.money);
                // Settlement out of the locks.
                if maker_side == Side::Buy || locked_taker == Some(Side::Buy) {
                    escrow.money -= i128::from(f.money);
                }
                if maker_side == Side::Sell || locked_taker == Some(Side::Sell) {
                    escrow.tokens -= i128::from(f.qty);
                }
                if let Some(left) = f.maker_done {
                    escrow.release(maker_side, left);
                }
            }
            for o in &c1 {
                escrow.release(o.side, o.locked);
            }
            if let Some(o) = outcome {
                prop_assert_eq!((u128::from(o.filled), u128::from(o.money)), (qty, paid));
            }
            // Conservation of quantity: what left the book is what traded or
            // was removed, what came in is what rested.
            let after: u128 = book.orders().map(|o| u128::from(o.remaining)).sum();
            let rested = outcome
                .and_then(|o| o.rested)
                .and_then(|id| book.get(id))
                .map_or(0, |o| u128::from(o.remaining));
            let removed: u128 = c1.iter().map(|o| u128::from(o.remaining)).sum();
            prop_assert_eq!(
                before + rested,
                after + qty + removed,
                "step {}: {:?}",
                step,
                op
            );
            // The caller's escrow is exactly what the live orders lock.
            let locked = |side| -> i128 {
                book.orders()
                    .filter(|o| o.side == side)
                    .map(|o| i128::from(o.locked))
                    .sum()
            };
            prop_assert_eq!(
                escrow.money,
                locked(Side::Buy),
                "money escrow, step {}",
                step
            );
            prop_assert_eq!(
                escrow.tokens,
                locked(Side::Sell),
                "token escrow, step {}",
                step
            );
            // Same live orders, and the structure is sound (never crossed,
            // locks cover, level totals exact).
            let mut live: Vec<Order> = book.orders().copied().collect();
            live.sort_by_key(|o| o.id);
            prop_assert_eq!(&live, &naive.orders);
            prop_assert_eq!(book.len(), live.len());
            book.check();
            let levels: Vec<_> = book.levels(Side::Buy).collect();
            let mut by_price = BTreeMap::<u64, u128>::new();
            for o in live.iter().filter(|o| o.side == Side::Buy) {
                *by_price.entry(o.price).or_default() += u128::from(o.remaining);
            }
            prop_assert_eq!(levels, by_price.into_iter().rev().collect::<Vec<_>>());
        }
        Ok(())
    }

    /// Any `u64`, with the edges and small numbers often.
    fn wild() -> impl Strategy<Value = u64> {
        prop_oneof![
            any::<u64>(),
            0..10u64,
            (u64::MAX - 10)..=u64::MAX,
            (0..64u32).prop_map(|e| 1u64 << e),
        ]
    }

    #[derive(Debug, Clone)]
    enum Wild {
        Limit(AgentId, bool, u64, u64, u64, u64),
        Market(AgentId, bool, u64),
        Spend(AgentId, u64),
        Cancel(u64),
        Expire(u64),
    }

    fn wild_op() -> impl Strategy<Value = Wild> {
        prop_oneof![
            4 => (0..3u32, any::<bool>(), wild(), wild(), wild(), wild())
                .prop_map(|(o, b, p, q, e, l)| Wild::Limit(o, b, p, q, e, l)),
            1 => (0..3u32, any::<bool>(), wild()).prop_map(|(o, b, q)| Wild::Market(o, b, q)),
            1 => (0..3u32, wild()).prop_map(|(o, m)| Wild::Spend(o, m)),
            1 => (0..20u64).prop_map(Wild::Cancel),
            1 => wild().prop_map(Wild::Expire),
        ]
    }

    /// A book through postcard and back.
    fn round_trip(book: &OrderBook) -> OrderBook {
        postcard::from_bytes(&postcard::to_stdvec(book).unwrap()).unwrap()
    }

    /// Asks at 101 and 100 and a bid at 99, resting.
    fn three_order_book() -> OrderBook {
        let mut book = OrderBook::new(TICK, LOT);
        rest(&mut book, 1, Side::Sell, 101, T);
        rest(&mut book, 2, Side::Sell, 100, T);
        rest(&mut book, 3, Side::Buy, 99, T);
        book
    }

    /// Why the saved book `good`, changed by `edit`, is refused.
    fn refusal(good: &serde_json::Value, edit: &dyn Fn(&mut serde_json::Value)) -> String {
        let mut v = good.clone();
        edit(&mut v);
        serde_json::from_value::<OrderBook>(v)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_saved_book_that_breaks_an_invariant_is_refused_not_trusted() {
        let book = three_order_book();
        let good = serde_json::to_value(&book).unwrap();
        let refused = |edit: &dyn Fn(&mut serde_json::Value)| refusal(&good, edit);
        assert!(
            refused(&|v| v["slots"][0]["order"]["remaining"] = 7.into()).contains("out of place")
        );
        let e = refused(&|v| v["slots"][1]["next"] = 0.into());
        assert!(e.contains("loops"), "{e}");
        assert!(refused(&|v| v["levels"][0]["total"] = 1.into()).contains("total is wrong"));
        assert!(refused(&|v| v["bids"]["levels"][0] = 9.into()).contains("past the"));
        assert!(refused(&|v| v["next_id"] = 2.into()).contains("out of place"));
        // a price of 0 ticks, which no order is placed at (an ask there
        // would give its tokens away); its level moved with it
        let e = refused(&|v| {
            v["slots"][2]["order"]["price"] = 0.into();
            v["levels"][2]["price"] = 0.into();
            v["bids"]["keys"][0] = 0.into();
        });
        assert!(e.contains("out of place"), "{e}");
        assert!(refused(&|v| v["lot"] = 0.into()).contains("positive"));
        let mut truncated = postcard::to_stdvec(&book).unwrap();
        truncated.truncate(truncated.len() / 2);
        assert!(postcard::from_bytes::<OrderBook>(&truncated).is_err());
        assert_eq!(serde_json::from_value::<OrderBook>(good).unwrap().len(), 3);
    }

    #[test]
    fn a_saved_book_with_a_broken_index_ladder_or_free_list_is_refused_naming_it() {
        let good = serde_json::to_value(three_order_book()).unwrap();
        let refused = |edit: &dyn Fn(&mut serde_json::Value)| refusal(&good, edit);
        let id = good["slots"][0]["order"]["id"].clone();
        let e = refused(&|v| v["slots"][1]["order"]["id"] = id.clone());
        assert!(
            e.contains(&format!("order {id} is in the book twice")),
            "{e}"
        );
        // the asks' two levels, best (lowest) first
        let keys = good["asks"]["keys"].clone();
        let levels = good["asks"]["levels"].clone();
        assert_eq!(keys.as_array().unwrap().len(), 2);
        let e = refused(&|v| {
            v["asks"]["keys"][0] = keys[1].clone();
            v["asks"]["keys"][1] = keys[0].clone();
        });
        assert!(e.contains("a price ladder is not sorted"), "{e}");
        let e = refused(&|v| v["asks"]["keys"] = serde_json::json!([keys[0]]));
        assert!(e.contains("a price ladder is not sorted"), "{e}");
        let e = refused(&|v| v["asks"]["levels"][1] = levels[0].clone());
        assert!(
            e.contains(&format!("level {} is in the ladders twice", levels[0])),
            "{e}"
        );
        let lower = keys[0].as_u64().unwrap() - 1;
        let e = refused(&|v| v["asks"]["keys"][0] = lower.into());
        assert!(
            e.contains(&format!(
                "level {} does not match its ladder entry",
                levels[0]
            )),
            "{e}"
        );
        let e = refused(&|v| v["free_slots"] = serde_json::json!([0]));
        assert!(
            e.contains("the book's orders, index and free slots do not add up"),
            "{e}"
        );
        let e = refused(&|v| v["free_levels"] = serde_json::json!([levels[0]]));
        assert!(
            e.contains(&format!(
                "level {} is listed free but is in use or missing",
                levels[0]
            )),
            "{e}"
        );
        let e = refused(&|v| v["free_levels"] = serde_json::json!([9]));
        assert!(
            e.contains("level 9 is listed free but is in use or missing"),
            "{e}"
        );
        // A level or a slot listed free twice would be handed out twice.
        let mut book = three_order_book();
        let mut gone = Vec::new();
        book.expire(0, &mut gone);
        let id = book.orders().find(|o| o.owner == 3).unwrap().id;
        book.cancel(id);
        let freed = serde_json::to_value(&book).unwrap();
        let (slot, level) = (
            freed["free_slots"][0].clone(),
            freed["free_levels"][0].clone(),
        );
        let e = refusal(&freed, &|v| {
            v["free_levels"] = serde_json::json!([level, level]);
        });
        assert!(
            e.contains(&format!(
                "level {level} is listed free but is in use or missing (or listed twice)"
            )),
            "{e}"
        );
        let e = refusal(&freed, &|v| {
            v["free_levels"] = serde_json::json!([]);
        });
        assert!(
            e.contains("a price level is neither in a ladder nor free"),
            "{e}"
        );
        let e = refusal(&freed, &|v| {
            let copy = v["slots"][slot.as_u64().unwrap() as usize].clone();
            v["slots"].as_array_mut().unwrap().push(copy);
            v["free_slots"] = serde_json::json!([slot, slot]);
        });
        assert!(
            e.contains(&format!(
                "slot {slot} is listed free but holds an order (or is listed twice)"
            )),
            "{e}"
        );
        assert_eq!(serde_json::from_value::<OrderBook>(freed).unwrap().len(), 2);
        // untouched, it loads
        assert_eq!(
            serde_json::from_value::<OrderBook>(good.clone())
                .unwrap()
                .len(),
            3
        );
    }

    /// The expiry list is rebuilt once its stale entries outnumber the
    /// live orders; the order whose placing set off the rebuild is
    /// listed once, as every other.
    #[test]
    fn the_expiry_list_rebuilt_names_each_live_order_once() {
        let mut book = OrderBook::new(TICK, LOT);
        let (mut fills, mut gone) = (Vec::new(), Vec::new());
        let mut place = |book: &mut OrderBook, price| {
            let locked = lock(book, Side::Buy, price, T);
            let out = book.limit(1, Side::Buy, price, T, 50, locked, &mut fills, &mut gone);
            out.rested.unwrap()
        };
        let keep = place(&mut book, 90);
        let mut rebuilt = false;
        for _ in 0..200 {
            let before = book.expiry.len();
            let id = place(&mut book, 91);
            rebuilt |= book.expiry.len() < before;
            let entries: Vec<_> = book.expiry.iter().filter(|e| (e.0).1 == id).collect();
            assert_eq!(entries.len(), 1, "order {id}: {entries:?}");
            book.cancel(id);
        }
        assert!(rebuilt, "the list was never rebuilt");
        let entries = book.expiry.iter().filter(|e| (e.0).1 == keep).count();
        assert_eq!(entries, 1);
        book.check();
    }

    /// A saved order whose lock falls short of its remainder's value, an
    /// order past its expiry, a crossed book or an expiry list that does
    /// not match the orders would each make the run go other than the
    /// one that saved it (a fill paid from an escrow the order does not
    /// hold): each is refused, naming it.
    #[test]
    fn a_saved_book_whose_orders_do_not_hold_what_a_run_keeps_is_refused() {
        let mut book = OrderBook::new(TICK, LOT);
        let (mut fills, mut gone) = (Vec::new(), Vec::new());
        // a bid at 99 until step 9, an ask at 101 until step 4
        let bid = book.limit(
            3,
            Side::Buy,
            99,
            T,
            9,
            lock(&book, Side::Buy, 99, T),
            &mut fills,
            &mut gone,
        );
        let ask = book.limit(1, Side::Sell, 101, T, 4, T, &mut fills, &mut gone);
        book.expire(2, &mut gone);
        let good = serde_json::to_value(&book).unwrap();
        let at = |id: Option<OrderId>| {
            let id = id.unwrap();
            good["slots"]
                .as_array()
                .unwrap()
                .iter()
                .position(|s| s["order"]["id"] == id)
                .unwrap()
        };
        let (b, a) = (at(bid.rested), at(ask.rested));
        let need = good["slots"][b]["order"]["locked"].as_u64().unwrap();
        assert_eq!(u128::from(need), money(99, TICK, T));
        let e = refusal(&good, &|v| {
            v["slots"][b]["order"]["locked"] = (need - 1).into()
        });
        assert!(
            e.contains(&format!(
                "order {} locks {} base units, less than the {need} its remaining",
                bid.rested.unwrap(),
                need - 1
            )),
            "{e}"
        );
        let e = refusal(&good, &|v| {
            v["slots"][a]["order"]["locked"] = (T - 1).into()
        });
        assert!(
            e.contains(&format!("less than the {T} its remaining {T} need")),
            "{e}"
        );
        let e = refusal(&good, &|v| v["now"] = 5.into());
        assert!(
            e.contains(&format!(
                "order {} expired at step 4 but still rests at step 5",
                ask.rested.unwrap()
            )),
            "{e}"
        );
        let e = refusal(&good, &|v| v["slots"][b]["order"]["expires"] = 8.into());
        assert!(
            e.contains("expires at step 8, but the book's expiry list says 9"),
            "{e}"
        );
        let e = refusal(&good, &|v| v["expiry"] = serde_json::json!([]));
        assert!(
            e.contains("2 orders can expire, but the book's expiry list names 0 of them"),
            "{e}"
        );
        let e = refusal(&good, &|v| {
            v["expiry"].as_array_mut().unwrap().pop();
        });
        assert!(
            e.contains("2 orders can expire, but the book's expiry list names 1 of them"),
            "{e}"
        );
        // a second entry of an order is harmless (the first to come up
        // removes it), and books saved before stop 49 (7 December 2026)
        // may hold one
        let mut twice = good.clone();
        let entry = twice["expiry"][0].clone();
        twice["expiry"].as_array_mut().unwrap().push(entry);
        assert_eq!(serde_json::from_value::<OrderBook>(twice).unwrap().len(), 2);
        // the bid moved up to 102, above the ask, on its own level
        let e = refusal(&good, &|v| {
            v["slots"][b]["order"]["price"] = 102.into();
            v["slots"][b]["order"]["locked"] = (2 * need).into();
            let l = v["slots"][b]["level"].as_u64().unwrap() as usize;
            v["levels"][l]["price"] = 102.into();
            v["bids"]["keys"][0] = 102.into();
        });
        assert!(
            e.contains("the book is crossed: a bid at 102 ticks, an ask at 101"),
            "{e}"
        );
        // an entry of an order gone is stale, not wrong; the book loads
        let loaded = serde_json::from_value::<OrderBook>(good.clone()).unwrap();
        assert_eq!(loaded.len(), 2);
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(400))]

        #[test]
        fn no_input_panics_or_breaks_the_invariants(
            tick in wild(),
            lot in wild(),
            ops in prop::collection::vec(wild_op(), 1..60),
        ) {
            let mut book = OrderBook::new(tick, lot);
            // A twin that goes through postcard and back before every
            // operation must do exactly what the book does.
            let mut twin = book.clone();
            let (mut fills, mut gone) = (Vec::new(), Vec::new());
            let (mut twin_fills, mut twin_gone) = (Vec::new(), Vec::new());
            for op in ops {
                let before = book.len();
                twin = round_trip(&twin);
                match op {
                    Wild::Limit(owner, buy, price, qty, expires, locked) => {
                        let side = if buy { Side::Buy } else { Side::Sell };
                        let o = book.limit(owner, side, price, qty, expires, locked, &mut fills, &mut gone);
                        let t = twin.limit(owner, side, price, qty, expires, locked, &mut twin_fills, &mut twin_gone);
                        prop_assert_eq!(o, t);
                        prop_assert!(o.released <= locked);
                        if side == Side::Buy {
                            prop_assert!(u128::from(o.money) + u128::from(o.released) <= u128::from(locked));
                        }
                    }
                    Wild::Market(owner, buy, qty) => {
                        let side = if buy { Side::Buy } else { Side::Sell };
                        let o = book.market(owner, side, qty, &mut fills, &mut gone);
                        prop_assert_eq!(o, twin.market(owner, side, qty, &mut twin_fills, &mut twin_gone));
                        prop_assert!(o.filled <= qty);
                    }
                    Wild::Spend(owner, budget) => {
                        let o = book.market_buy_spending(owner, budget, &mut fills, &mut gone);
                        prop_assert_eq!(o, twin.market_buy_spending(owner, budget, &mut twin_fills, &mut twin_gone));
                        prop_assert!(o.money <= budget);
                    }
                    Wild::Cancel(id) => {
                        let o = book.cancel(id);
                        prop_assert_eq!(o, twin.cancel(id));
                        prop_assert_eq!(o.is_some(), book.len() + 1 == before);
                    }
                    Wild::Expire(now) => {
                        book.expire(now, &mut gone);
                        twin.expire(now, &mut twin_gone);
                    }
                }
                prop_assert_eq!(&fills, &twin_fills);
                prop_assert_eq!(&gone, &twin_gone);
                twin_fills.clear();
                for f in &fills {
                    prop_assert_eq!(u128::from(f.money), money(f.price, book.tick(), f.qty));
                    prop_assert!(f.qty > 0 && f.qty % book.lot() == 0);
                }
                book.check();
                fills.clear();
            }
        }

        #[test]
        fn matches_the_naive_book_and_keeps_its_invariants(
            tick in prop_oneof![Just(1u64), Just(7), Just(1_000_003), Just(SCALE), Just(3 * SCALE)],
            lot in prop_oneof![Just(1u64), Just(3), Just(1_000), Just(SCALE / 4)],
            ops in prop::collection::vec(op(), 1..150),
        ) {
            run(tick, lot, &ops)?;
        }
    }
}
