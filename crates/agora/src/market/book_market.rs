//! The order book market: a continuous double auction on the pure
//! [`OrderBook`], with the locks, settlement and
//! price state the engine needs ([`BookMarket`], a [`Mechanism`]).
//!
//! Each order is matched as it arrives, in the step's shuffled order. A
//! limit order locks the money or tokens it could spend (in the ledger's
//! escrow), fills settle from the locks, and what a fill did not need is
//! released, so nothing is ever over-spent. Resting orders stay locked
//! across steps until they fill, expire or their owner replaces them.

use super::book::{Fill, Order, OrderBook, OrderId};
use super::mechanism::{
    coverable, release_orders, split_lock, tick_lot, ticks_to_units, to_ticks, Fault, MarketStep,
    Mechanism, Observed, PriceSource, PriceState, Quotes, Surplus, SurplusState,
};
use crate::agents::{Action, Side};
use crate::ledger::{wide_to_units, AgentId, Ledger};
use crate::scenario::BookSpec;

/// A continuous double auction.
#[derive(Debug)]
pub struct BookMarket {
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

impl BookMarket {
    /// An order book with the tick, lot and initial price of `spec`.
    pub fn new(spec: &BookSpec) -> Self {
        let (tick, lot) = tick_lot(spec);
        BookMarket {
            book: OrderBook::new(tick, lot),
            tick,
            open: Vec::new(),
            fills: Vec::new(),
            cancelled: Vec::new(),
            traded: false,
            state: PriceState::new(spec.initial_price, PriceSource::Initial),
            surplus: Surplus::default(),
        }
    }

    /// The order book.
    pub fn book(&self) -> &OrderBook {
        &self.book
    }

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

    fn trade(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let (step, asset) = (m.step, m.asset);
        let ledger = &mut *m.ledger;
        match action {
            Action::Hold
            | Action::Effort { .. }
            | Action::Stake { .. }
            | Action::Unstake { .. } => return Ok(()),
            Action::Request { .. }
            | Action::Produce { .. }
            | Action::Play { .. }
            | Action::Post { .. }
            | Action::Swap { .. }
            | Action::AddLiquidity { .. }
            | Action::RemoveLiquidity { .. } => {
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
        self.settle(taker_locked, m)
    }

    /// Settles the fills of the last action through the ledger and releases
    /// the locks of orders that left the book.
    fn settle(&mut self, taker_locked: bool, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        let asset = m.asset;
        for f in &self.fills {
            let ledger = &mut *m.ledger;
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
            m.fill(Some(buyer), Some(seller), f.qty, f.money);
            self.state.last_trade = Some(ticks_to_units(f.price, self.tick));
            self.traded = true;
            if let Some(left) = f.maker_done {
                let (money, tokens) = split_lock(f.taker_side.opposite(), left);
                m.ledger
                    .release(f.maker_owner, asset, money, tokens)
                    .map_err(|e| Fault::ledger("releasing a filled order's lock", e))?;
            }
        }
        self.fills.clear();
        let r = release_orders(m.ledger, asset, &self.cancelled);
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

/// What of an order book market changes as a run goes.
#[derive(serde::Serialize, serde::Deserialize)]
struct BookMarketState {
    book: OrderBook,
    open: Vec<[OrderId; 2]>,
    traded: bool,
    state: PriceState,
    surplus: SurplusState,
}

impl Mechanism for BookMarket {
    fn save_state(&self) -> Option<Vec<u8>> {
        super::mechanism::encode_state(&BookMarketState {
            book: self.book.clone(),
            open: self.open.clone(),
            traded: self.traded,
            state: self.state,
            surplus: self.surplus.state(),
        })
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let s: BookMarketState = super::mechanism::decode_state("order_book", bytes)?;
        if s.book.tick() != self.book.tick() || s.book.lot() != self.book.lot() {
            return Err("the saved order book has another tick or lot than the scenario's".into());
        }
        for (agent, ids) in s.open.iter().enumerate() {
            for (id, (side, name)) in ids.iter().zip([(Side::Buy, "bid"), (Side::Sell, "ask")]) {
                if *id == 0 {
                    continue;
                }
                let own = match s.book.get(*id) {
                    Some(o) => o.owner as usize == agent && o.side == side,
                    None => s.book.issued(*id),
                };
                if !own {
                    return Err(format!(
                        "agent {agent}'s open {name} names order {id}, which is not one of its \
                         {name}s"
                    ));
                }
            }
        }
        // the parts that can refuse, first: a refused state changes nothing
        s.state.check()?;
        self.surplus.restore(s.surplus)?;
        self.book = s.book;
        self.open = s.open;
        self.traded = s.traded;
        self.state = s.state;
        Ok(())
    }

    fn kind(&self) -> &str {
        "order_book"
    }

    fn check_step(&self, step: u64) -> Result<(), String> {
        match self.book.now() {
            now if now > step => Err(format!(
                "its order book was last at step {now}, after the state's step {step}"
            )),
            _ => Ok(()),
        }
    }

    /// Drops expired orders and releases their locks; forgets the previous
    /// step's trades.
    fn begin_step(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.traded = false;
        self.book.expire(m.step, &mut self.cancelled);
        let r = release_orders(m.ledger, m.asset, &self.cancelled);
        self.cancelled.clear();
        r
    }

    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        self.trade(agent, action, m)
    }

    /// Records the step's price and quotes.
    fn end_step(&mut self, _m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.close_step();
        Ok(())
    }

    fn price(&self, _supply: u64) -> f64 {
        self.state.price
    }

    fn mark(&self, _supply: u64) -> f64 {
        self.state.mark
    }

    fn observed(&self) -> Observed {
        Observed {
            best_bid: self.book.best_bid().map(|p| ticks_to_units(p, self.tick)),
            best_ask: self.book.best_ask().map(|p| ticks_to_units(p, self.tick)),
            last_trade: self.state.last_trade,
        }
    }

    fn quotes(&self) -> Quotes {
        self.state.quotes
    }

    fn for_each_lock(&self, f: &mut dyn FnMut(AgentId, u64, u64)) {
        for o in self.book.orders() {
            let (money, tokens) = split_lock(o.side, o.locked);
            f(o.owner, money, tokens);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market(tick_size: f64, lot_size: f64) -> BookMarket {
        BookMarket::new(&BookSpec {
            tick_size,
            lot_size,
            initial_price: 10.0,
        })
    }

    /// A saved order book loads only into a market of its own tick and its
    /// own lot: another tick, another lot or both are refused.
    #[test]
    fn a_saved_order_book_loads_only_with_its_own_tick_and_lot() {
        let saved = market(0.01, 1.0).save_state().unwrap();
        assert_eq!(market(0.01, 1.0).load_state(&saved), Ok(()));
        for (tick, lot) in [(0.02, 1.0), (0.01, 0.5), (0.02, 0.5)] {
            assert_eq!(
                market(tick, lot).load_state(&saved),
                Err("the saved order book has another tick or lot than the scenario's".into()),
                "tick {tick}, lot {lot}"
            );
        }
    }

    /// A quote rests a bid and an ask of its amount at its two prices; a
    /// price of 0 leaves that side out, and a new quote replaces the old.
    #[test]
    fn a_quote_rests_each_side_it_prices() {
        use crate::ledger::SCALE;
        use crate::market::mechanism::Desk;
        let mut m = market(0.01, 1.0);
        let mut desk = Desk::new(Ledger::new(1, 1), false);
        desk.ledger.fund_balance(0, 100 * SCALE).unwrap();
        desk.ledger.fund_supply(0, Some(0), 10 * SCALE, 0).unwrap();
        let mut quote = |m: &mut BookMarket, bid: u64, ask: u64| {
            let amount = 2 * SCALE;
            let q = Action::Quote {
                asset: 0,
                bid,
                ask,
                amount,
                ttl: 5,
            };
            m.execute(0, q, &mut desk.step(1)).unwrap();
            let b = m.book();
            (b.len(), b.best_bid(), b.best_ask())
        };
        // prices in ticks of 0.01: 9 and 11 money are 900 and 1,100
        assert_eq!(
            quote(&mut m, 9 * SCALE, 11 * SCALE),
            (2, Some(900), Some(1_100))
        );
        assert_eq!(quote(&mut m, 8 * SCALE, 0), (1, Some(800), None));
        assert_eq!(quote(&mut m, 0, 12 * SCALE), (1, None, Some(1_200)));
        assert_eq!(quote(&mut m, 0, 0), (0, None, None));
    }

    /// A book's clock may be the state's step (the step it last began)
    /// or earlier, never later.
    #[test]
    fn a_books_clock_is_checked_against_the_states_step() {
        let mut m = market(0.01, 1.0);
        assert_eq!(m.check_step(0), Ok(()));
        m.book.expire(7, &mut Vec::new());
        assert_eq!(m.check_step(7), Ok(()));
        assert_eq!(m.check_step(8), Ok(()));
        assert_eq!(
            m.check_step(6),
            Err("its order book was last at step 7, after the state's step 6".into())
        );
    }

    /// An agent's saved open orders are its own and on their side, or
    /// orders already gone: naming another's would cancel it at the
    /// agent's next order, and naming one not yet placed would cancel
    /// whoever's order gets that id.
    #[test]
    fn a_saved_open_order_is_its_agents_own_on_its_side() {
        use crate::ledger::SCALE;
        use crate::market::mechanism::{encode_state, Desk};
        let mut m = market(0.01, 1.0);
        let mut desk = Desk::new(Ledger::new(2, 1), false);
        for a in 0..2 {
            desk.ledger.fund_balance(a, 100 * SCALE).unwrap();
            desk.ledger.fund_supply(0, Some(a), 10 * SCALE, 0).unwrap();
        }
        let mut quote = |m: &mut BookMarket, agent: AgentId, bid: u64, ask: u64| {
            let q = Action::Quote {
                asset: 0,
                bid: bid * SCALE,
                ask: ask * SCALE,
                amount: SCALE,
                ttl: 5,
            };
            m.execute(agent, q, &mut desk.step(1)).unwrap();
        };
        quote(&mut m, 0, 9, 11); // orders 1 (bid) and 2 (ask)
        quote(&mut m, 1, 8, 12); // orders 3 and 4
        quote(&mut m, 1, 7, 0); // cancels 3 and 4; order 5
        assert_eq!(m.open, vec![[1, 2], [5, 0]]);
        let saved = m.save_state().unwrap();
        let with = |open: Vec<[OrderId; 2]>| {
            let mut s: BookMarketState = postcard::from_bytes(&saved).unwrap();
            s.open = open;
            market(0.01, 1.0).load_state(&encode_state(&s).unwrap())
        };
        assert_eq!(with(vec![[1, 2], [5, 0]]), Ok(()));
        // orders gone (3, 4): cancelling them is a no-op
        assert_eq!(with(vec![[1, 2], [3, 4]]), Ok(()));
        assert_eq!(
            with(vec![[2, 1], [5, 0]]),
            Err("agent 0's open bid names order 2, which is not one of its bids".into())
        );
        assert_eq!(
            with(vec![[1, 2], [5, 1]]),
            Err("agent 1's open ask names order 1, which is not one of its asks".into())
        );
        assert_eq!(
            with(vec![[1, 2], [6, 0]]),
            Err("agent 1's open bid names order 6, which is not one of its bids".into())
        );
    }
}
