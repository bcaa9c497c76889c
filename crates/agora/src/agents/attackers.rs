//! Attackers: built-in policies that manipulate a market, for the
//! detectors of [`crate::monitor`] to catch and for the summary to measure
//! what they take (`agents.<group>.extracted`,
//! `assets.<asset>.manipulation_loss`).
//!
//! Each is stateless, like the other rule-based policies: what it does at a
//! step follows from the step, its place in its group (`member`) and what
//! it sees, so a ring of accounts or a timed campaign needs no memory.
//!
//! - [`WashTraderPolicy`] (`wash_trader`): a ring of accounts under one
//!   owner trading with each other at no net position, to inflate volume
//!   (and farm volume rewards).
//! - [`PumpAndDumpPolicy`] (`pump_and_dump`): an insider buys early,
//!   waits while followers pile in, then sells.
//! - [`SpooferPolicy`] (`spoofer`): large orders on an order book it
//!   cancels before they execute, trading small against the prices they
//!   moved.
//! - [`CartelPolicy`] (`cartel`) and [`HoarderPolicy`] (`hoarder`):
//!   groups with a shared objective (see [`super::collusion`]).

pub use super::collusion::{CartelPolicy, HoarderPolicy};
use super::{fraction_of, Action, AgentRng, AgentView, Observation, Policy, Side};
use crate::ledger::{to_base, to_units};

/// The attacker policies (but `sandwich`, a variant of its own), as one
/// built-in variant.
#[derive(Debug, Clone, PartialEq)]
pub enum AttackerPolicy {
    /// `wash_trader`
    WashTrader(WashTraderPolicy),
    /// `pump_and_dump`
    PumpAndDump(PumpAndDumpPolicy),
    /// `spoofer`
    Spoofer(SpooferPolicy),
    /// `cartel`
    Cartel(CartelPolicy),
    /// `hoarder`
    Hoarder(HoarderPolicy),
}

impl AttackerPolicy {
    /// The asset it attacks.
    pub fn asset(&self) -> usize {
        match self {
            AttackerPolicy::WashTrader(p) => p.asset,
            AttackerPolicy::PumpAndDump(p) => p.asset,
            AttackerPolicy::Spoofer(p) => p.asset,
            AttackerPolicy::Cartel(p) => p.asset(),
            AttackerPolicy::Hoarder(p) => p.asset,
        }
    }
}

impl Policy for AttackerPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        match self {
            AttackerPolicy::WashTrader(p) => p.decide(obs, me, rng),
            AttackerPolicy::PumpAndDump(p) => p.decide(obs, me, rng),
            AttackerPolicy::Spoofer(p) => p.decide(obs, me, rng),
            AttackerPolicy::Cartel(p) => p.decide(obs, me, rng),
            AttackerPolicy::Hoarder(p) => p.decide(obs, me, rng),
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset()]
    }
}

/// Where a ring trades: on an order book, crossing its own members'
/// orders, or against a pool (a bonding curve, an AMM), buying then
/// selling back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Venue {
    /// An order book with this tick (money base units per whole token).
    Book {
        /// The book's tick.
        tick: u64,
    },
    /// A curve or an AMM (market buys and sells).
    Pool,
}

/// A wash-trading ring: the group's accounts, one owner.
///
/// Every `every` steps is a round. On an order book the members pair up
/// (0 with 1, 2 with 3, …; an odd last member holds): in each pair one
/// sells `size` tokens and the other buys `size`, both as limit orders at
/// the same price, a tick inside the spread (the mid of the best quotes,
/// rounded to the tick), so that the two orders cross each other and not
/// the book; the roles swap every round, so that each member's net
/// position returns to zero every two rounds. On a curve or an AMM each
/// member buys `size` tokens' worth at the spot price in one round and
/// sells everything it holds in the next. Either way the volume is the
/// ring's own.
#[derive(Debug, Clone, PartialEq)]
pub struct WashTraderPolicy {
    /// The asset traded.
    pub asset: usize,
    /// Tokens per trade, base units.
    pub size: u64,
    /// Steps between rounds (≥ 1).
    pub every: u64,
    /// Where it trades.
    pub venue: Venue,
    /// The group's size (a last, unpaired member of an odd ring holds).
    pub count: u32,
}

impl WashTraderPolicy {
    /// The price, base units per whole token, a whole number of ticks
    /// strictly between the best bid and the best ask (either may be
    /// missing), nearest the mid; `None` when no tick lies strictly inside.
    pub fn cross_price(
        best_bid: Option<f64>,
        best_ask: Option<f64>,
        last: f64,
        tick: u64,
    ) -> Option<u64> {
        let tick = tick.max(1);
        let bid = best_bid.and_then(to_base).map(|b| b / tick);
        let ask = best_ask.and_then(to_base).map(|a| a.div_ceil(tick));
        let centre = match (best_bid, best_ask) {
            (Some(b), Some(a)) => 0.5 * (a + b),
            _ => last,
        };
        let mut k = to_base(centre)? / tick;
        if let Some(b) = bid {
            k = k.max(b + 1);
        }
        if let Some(a) = ask {
            k = k.min(a.checked_sub(1)?);
        }
        let inside = bid.is_none_or(|b| k > b) && ask.is_none_or(|a| k < a) && k > 0;
        inside.then(|| k.checked_mul(tick)).flatten()
    }
}

impl Policy for WashTraderPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        let every = self.every.max(1);
        if obs.step % every != 0 {
            return Action::Hold;
        }
        let round = obs.step / every;
        let asset = self.asset as u32;
        let a = &obs.assets[self.asset];
        match self.venue {
            Venue::Book { tick } => {
                if me.member % 2 == 0 && me.member + 1 >= self.count {
                    return Action::Hold;
                }
                let last = a.last_trade.unwrap_or(a.price);
                let Some(price) = Self::cross_price(a.best_bid, a.best_ask, last, tick) else {
                    return Action::Hold;
                };
                let sells = (u64::from(me.member) + round) % 2 == 0;
                let (side, amount) = if sells {
                    (Side::Sell, self.size.min(me.holdings[self.asset]))
                } else {
                    (Side::Buy, self.size)
                };
                if amount == 0 {
                    return Action::Hold;
                }
                Action::Limit {
                    asset,
                    side,
                    price,
                    amount,
                    ttl: 1,
                }
            }
            Venue::Pool => {
                if round % 2 == 1 {
                    // `size` is in token base units: its value in money
                    // units at the quoted price, then in base units
                    let spend = to_base(to_units(self.size) * a.price).unwrap_or(0);
                    let spend = spend.min(me.balance);
                    if spend == 0 {
                        return Action::Hold;
                    }
                    Action::Buy { asset, spend }
                } else {
                    let amount = me.holdings[self.asset];
                    if amount == 0 {
                        return Action::Hold;
                    }
                    Action::Sell { asset, amount }
                }
            }
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

/// A pump and dump: an insider buys `buy_fraction` of its balance at each
/// step up to `buy_until` (the pump: the price rises on its buying, and
/// momentum traders follow), holds, then from `sell_from` on sells
/// `sell_fraction` of its holdings each step (the dump), as market orders
/// (a curve, an AMM or an order book).
#[derive(Debug, Clone, PartialEq)]
pub struct PumpAndDumpPolicy {
    /// The asset pumped.
    pub asset: usize,
    /// The last step it buys (from 1).
    pub buy_until: u64,
    /// The first step it sells (after `buy_until`).
    pub sell_from: u64,
    /// Share of its balance spent at each buying step.
    pub buy_fraction: f64,
    /// Share of its holdings sold at each selling step.
    pub sell_fraction: f64,
}

impl Policy for PumpAndDumpPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        let asset = self.asset as u32;
        if obs.step <= self.buy_until {
            let spend = fraction_of(me.balance, self.buy_fraction);
            if spend > 0 {
                return Action::Buy { asset, spend };
            }
        } else if obs.step >= self.sell_from {
            let amount = fraction_of(me.holdings[self.asset], self.sell_fraction);
            if amount > 0 {
                return Action::Sell { asset, amount };
            }
        }
        Action::Hold
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

/// A spoofer on an order book, in cycles of four steps:
///
/// 0. a large bid (`size` tokens) placed `depth` of the way from the best
///    bid to the best ask (a tick below the ask at most), which raises the
///    mid the other traders quote around;
/// 1. the bid replaced (cancelled) by a sell of `trade` tokens at the best
///    bid it sees, its own spoof's level at least;
/// 2. a large ask (`size` tokens) `depth` of the way down from the best ask
///    (a tick above the bid at least);
/// 3. the ask replaced by a buy of `trade` tokens at the best ask it sees.
///
/// The large orders rest for one step, are seen by everyone deciding the
/// next step, and are gone before the market reaches them: it means them
/// not to fill (one may still fill, if another trader crosses it first).
#[derive(Debug, Clone, PartialEq)]
pub struct SpooferPolicy {
    /// The order book's asset.
    pub asset: usize,
    /// Tokens of each spoof order, base units.
    pub size: u64,
    /// Tokens of each real trade, base units.
    pub trade: u64,
    /// How far into the spread a spoof order goes, in `(0, 1)`.
    pub depth: f64,
    /// The book's tick, money base units per whole token.
    pub tick: u64,
}

impl Policy for SpooferPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        let a = &obs.assets[self.asset];
        let asset = self.asset as u32;
        let tick = self.tick.max(1);
        let (Some(bid), Some(ask)) = (a.best_bid.and_then(to_base), a.best_ask.and_then(to_base))
        else {
            return Action::Hold;
        };
        let (bid_t, ask_t) = (bid / tick, ask.div_ceil(tick));
        let limit = |side, ticks: u64, amount: u64, ttl| {
            if ticks == 0 || amount == 0 {
                return Action::Hold;
            }
            match ticks.checked_mul(tick) {
                Some(price) => Action::Limit {
                    asset,
                    side,
                    price,
                    amount,
                    ttl,
                },
                None => Action::Hold,
            }
        };
        let gap = ask_t.saturating_sub(bid_t);
        // In ticks: a share of the gap, truncated.
        let into = (gap as f64 * self.depth) as u64;
        match (obs.step - 1) % 4 {
            0 if gap >= 2 => {
                let ticks = (bid_t + into.max(1)).min(ask_t - 1);
                limit(Side::Buy, ticks, self.size, 2)
            }
            1 => limit(
                Side::Sell,
                bid_t,
                self.trade.min(me.holdings[self.asset]),
                1,
            ),
            2 if gap >= 2 => {
                let ticks = ask_t.saturating_sub(into.max(1)).max(bid_t + 1);
                limit(Side::Sell, ticks, self.size.min(me.holdings[self.asset]), 2)
            }
            3 => limit(Side::Buy, ask_t, self.trade, 1),
            _ => Action::Hold,
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 10_000_000; // a tick of 0.01

    /// Every attacker kind, given asset 0 or asset 2, declares that asset
    /// and no other (what a scenario's asset indices are checked against),
    /// through `AttackerPolicy` and, for those a user may run as a policy
    /// of their own, directly.
    #[test]
    fn every_attacker_declares_the_asset_it_was_given() {
        use crate::agents::collusion::{CartelPolicy, HoarderPolicy, PostedCartel, SupplyCartel};
        for asset in [0usize, 2] {
            let wash = WashTraderPolicy {
                asset,
                size: 1,
                every: 1,
                venue: Venue::Pool,
                count: 2,
            };
            let pump = PumpAndDumpPolicy {
                asset,
                buy_until: 1,
                sell_from: 2,
                buy_fraction: 0.5,
                sell_fraction: 0.5,
            };
            let spoofer = SpooferPolicy {
                asset,
                size: 1,
                trade: 1,
                depth: 0.5,
                tick: T,
            };
            let posted = CartelPolicy::Posted(PostedCartel {
                asset,
                punish: false,
                joint: true,
                market: None,
            });
            let supply = CartelPolicy::Supply(SupplyCartel {
                asset,
                cost: 1.0,
                max_output: 1,
                lead_time: 0,
                margin: 0.0,
                withhold: 0.5,
            });
            let hoarder = HoarderPolicy {
                asset,
                quantity: 1,
                max_price: 1,
            };
            assert_eq!(wash.assets(), vec![asset]);
            assert_eq!(pump.assets(), vec![asset]);
            assert_eq!(spoofer.assets(), vec![asset]);
            assert_eq!(hoarder.assets(), vec![asset]);
            for cartel in [&posted, &supply] {
                assert_eq!(cartel.asset(), asset, "{cartel:?}");
                assert_eq!(cartel.assets(), vec![asset], "{cartel:?}");
            }
            if let (CartelPolicy::Posted(p), CartelPolicy::Supply(s)) = (&posted, &supply) {
                assert_eq!(p.assets(), vec![asset]);
                assert_eq!(s.assets(), vec![asset]);
            }
            for p in [
                AttackerPolicy::WashTrader(wash),
                AttackerPolicy::PumpAndDump(pump),
                AttackerPolicy::Spoofer(spoofer),
                AttackerPolicy::Cartel(posted),
                AttackerPolicy::Cartel(supply),
                AttackerPolicy::Hoarder(hoarder),
            ] {
                assert_eq!(p.asset(), asset, "{p:?}");
                assert_eq!(p.assets(), vec![asset], "{p:?}");
            }
        }
    }

    #[test]
    fn the_cross_price_is_a_tick_strictly_inside_the_spread() {
        // 1.00 / 1.10: the mid 1.05, on the tick.
        assert_eq!(
            WashTraderPolicy::cross_price(Some(1.0), Some(1.1), 1.0, T),
            Some(1_050_000_000)
        );
        // One tick apart: nothing strictly inside.
        assert_eq!(
            WashTraderPolicy::cross_price(Some(1.0), Some(1.01), 1.0, T),
            None
        );
        // No ask: a tick above the bid at least.
        assert_eq!(
            WashTraderPolicy::cross_price(Some(1.0), None, 0.5, T),
            Some(1_010_000_000)
        );
        // No quotes: the last price, on the tick.
        assert_eq!(
            WashTraderPolicy::cross_price(None, None, 2.0, T),
            Some(2_000_000_000)
        );
    }

    /// A spoofer on the second of two assets, quotes 9.90 / 10.10 (990 and
    /// 1010 ticks of 0.01), depth 0.25 of the 20-tick gap (5 ticks), 30
    /// tokens held: a 50-token spoof bid 5 ticks into the spread at 9.95,
    /// a real sell of 2 at the bid, a spoof ask of what it holds (30)
    /// 5 ticks into the spread at 10.05, a real buy of 2 at the ask; again
    /// from step 5. It declares the asset it trades.
    #[test]
    fn a_spoofer_cycles_spoof_bid_real_sell_spoof_ask_real_buy() {
        use crate::agents::AssetObservation;
        use crate::ledger::SCALE;
        use rand::SeedableRng;
        let p = SpooferPolicy {
            asset: 1,
            size: 50 * SCALE,
            trade: 2 * SCALE,
            depth: 0.25,
            tick: T,
        };
        assert_eq!(p.assets(), vec![1]);
        let history = [10.0];
        let quotes = |best_bid, best_ask| AssetObservation {
            name: "X",
            supply: 100.0,
            best_bid,
            best_ask,
            ..AssetObservation::at(10.0, &history)
        };
        let assets = [quotes(None, None), quotes(Some(9.9), Some(10.1))];
        let holdings = [0, 30 * SCALE];
        let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 1);
        let limit = |side, ticks: u64, amount: u64, ttl| Action::Limit {
            asset: 1,
            side,
            price: ticks * T,
            amount,
            ttl,
        };
        let cycle = [
            limit(Side::Buy, 995, 50 * SCALE, 2),
            limit(Side::Sell, 990, 2 * SCALE, 1),
            limit(Side::Sell, 1005, 30 * SCALE, 2),
            limit(Side::Buy, 1010, 2 * SCALE, 1),
        ];
        for step in 1..=8u64 {
            let obs = Observation {
                step,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            let action = p.decide(&obs, &me, &mut AgentRng::seed_from_u64(step));
            assert_eq!(action, cycle[(step as usize - 1) % 4], "step {step}");
        }
    }

    /// Where its order would be empty or priced at 0 the spoofer holds: its
    /// real sell (step 2) and spoof ask (step 3) with no tokens to sell,
    /// and its real sell at a best bid below one tick (0 ticks).
    #[test]
    fn a_spoofer_holds_where_its_order_would_be_empty_or_priced_at_zero() {
        use crate::ledger::SCALE;
        use rand::SeedableRng;
        let p = SpooferPolicy {
            asset: 0,
            size: 50 * SCALE,
            trade: 2 * SCALE,
            depth: 0.25,
            tick: T,
        };
        let decide = |bid: f64, held: u64, step: u64| {
            let assets = [book(Some(bid), Some(10.1), 10.0)];
            let holdings = [held];
            let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 1);
            let obs = Observation {
                step,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(step))
        };
        // nothing held: no sell of 0 tokens
        assert_eq!(decide(9.9, 0, 2), Action::Hold);
        assert_eq!(decide(9.9, 0, 3), Action::Hold);
        // a bid of half a tick is 0 ticks: no sell at a price of 0
        assert_eq!(decide(0.005, 30 * SCALE, 2), Action::Hold);
        // the same with tokens and a bid of a tick or more do sell
        let sell = |ticks: u64| Action::Limit {
            asset: 0,
            side: Side::Sell,
            price: ticks * T,
            amount: 2 * SCALE,
            ttl: 1,
        };
        assert_eq!(decide(9.9, 30 * SCALE, 2), sell(990));
        assert_eq!(decide(0.01, 30 * SCALE, 2), sell(1));
    }

    fn book(
        best_bid: Option<f64>,
        best_ask: Option<f64>,
        price: f64,
    ) -> crate::agents::AssetObservation<'static> {
        crate::agents::AssetObservation {
            name: "X",
            supply: 100.0,
            best_bid,
            best_ask,
            ..crate::agents::AssetObservation::at(price, &[])
        }
    }

    /// A ring of 3 wash traders on a book, every 2nd step, 4 tokens a
    /// trade, quotes 1.00 / 1.10 (the cross at 1.05): at odd steps they
    /// hold; at step 2 (round 1) member 0 buys 4 and member 1 sells 4
    /// (its 4 of 9 at most), at step 4 (round 2) the other way round;
    /// member 2, unpaired, always holds; a seller with nothing holds.
    #[test]
    fn wash_traders_pair_up_and_swap_sides_each_round_on_a_book() {
        use crate::ledger::SCALE;
        use rand::SeedableRng;
        let p = WashTraderPolicy {
            asset: 0,
            size: 4 * SCALE,
            every: 2,
            venue: Venue::Book { tick: T },
            count: 3,
        };
        let assets = [book(Some(1.0), Some(1.1), 1.0)];
        let held = [9 * SCALE];
        let none = [0];
        let decide = |step: u64, member: u32, holdings: &[u64]| {
            let obs = Observation {
                step,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            let me = AgentView::new(member, member, 100 * SCALE, holdings, 1);
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(step))
        };
        let limit = |side| Action::Limit {
            asset: 0,
            side,
            price: 1_050_000_000,
            amount: 4 * SCALE,
            ttl: 1,
        };
        for member in 0..3 {
            assert_eq!(decide(1, member, &held), Action::Hold, "{member}");
            assert_eq!(decide(3, member, &held), Action::Hold, "{member}");
        }
        assert_eq!(decide(2, 0, &held), limit(Side::Buy));
        assert_eq!(decide(2, 1, &held), limit(Side::Sell));
        assert_eq!(decide(4, 0, &held), limit(Side::Sell));
        assert_eq!(decide(4, 1, &held), limit(Side::Buy));
        assert_eq!(decide(2, 2, &held), Action::Hold);
        assert_eq!(decide(4, 2, &held), Action::Hold);
        assert_eq!(decide(2, 1, &none), Action::Hold);
        // Of a ring of 4, member 2 has a partner (member 3).
        let four = WashTraderPolicy { count: 4, ..p };
        let obs = Observation {
            step: 2,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let me = AgentView::new(2, 2, 100 * SCALE, &held, 1);
        assert_eq!(
            four.decide(&obs, &me, &mut AgentRng::seed_from_u64(2)),
            limit(Side::Buy)
        );
    }

    /// A wash trader on a pool buys the value of its size at the price in
    /// odd rounds (2 tokens at 3: 6 units of money, or its balance of 5 if
    /// less) and sells all it holds in even rounds; with nothing to spend
    /// or sell it holds.
    #[test]
    fn a_wash_trader_on_a_pool_buys_its_size_then_sells_all_it_holds() {
        use crate::ledger::SCALE;
        use rand::SeedableRng;
        let p = WashTraderPolicy {
            asset: 0,
            size: 2 * SCALE,
            every: 1,
            venue: Venue::Pool,
            count: 1,
        };
        let assets = [book(None, None, 3.0)];
        let decide = |step: u64, balance: u64, held: u64| {
            let obs = Observation {
                step,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            let holdings = [held];
            let me = AgentView::new(0, 0, balance, &holdings, 1);
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(step))
        };
        let buy = |spend| Action::Buy { asset: 0, spend };
        assert_eq!(decide(1, 100 * SCALE, 0), buy(6 * SCALE));
        assert_eq!(decide(3, 5 * SCALE, 0), buy(5 * SCALE));
        assert_eq!(decide(1, 0, 7), Action::Hold);
        let sell = Action::Sell {
            asset: 0,
            amount: 7,
        };
        assert_eq!(decide(2, 100 * SCALE, 7), sell);
        assert_eq!(decide(4, 100 * SCALE, 0), Action::Hold);
    }

    /// A pump and dump buys a quarter of its balance up to step 3 (from
    /// 800: 200), holds at steps 4 and 5, sells half its holdings from step
    /// 6 (of 90: 45); with nothing to spend or sell it holds.
    #[test]
    fn a_pump_and_dump_buys_until_its_step_holds_then_sells() {
        use rand::SeedableRng;
        let p = PumpAndDumpPolicy {
            asset: 0,
            buy_until: 3,
            sell_from: 6,
            buy_fraction: 0.25,
            sell_fraction: 0.5,
        };
        let assets = [book(None, None, 1.0)];
        let decide = |step: u64, balance: u64, held: u64| {
            let obs = Observation {
                step,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            let holdings = [held];
            let me = AgentView::new(0, 0, balance, &holdings, 1);
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(step))
        };
        let buy = Action::Buy {
            asset: 0,
            spend: 200,
        };
        let sell = Action::Sell {
            asset: 0,
            amount: 45,
        };
        for step in 1..=3 {
            assert_eq!(decide(step, 800, 90), buy, "step {step}");
        }
        for step in 4..=5 {
            assert_eq!(decide(step, 800, 90), Action::Hold, "step {step}");
        }
        for step in 6..=8 {
            assert_eq!(decide(step, 800, 90), sell, "step {step}");
        }
        assert_eq!(decide(2, 0, 90), Action::Hold);
        assert_eq!(decide(7, 800, 0), Action::Hold);
        assert_eq!(p.assets(), vec![0]);
    }

    /// The cross price needs a positive tick strictly inside: none at a
    /// last price of 0 without quotes; with only an ask of 1.00 and a last
    /// price above it, a tick below the ask, 0.99; a tick of 0 counts as 1
    /// base unit.
    #[test]
    fn the_cross_price_stays_below_a_lone_ask_and_above_zero() {
        assert_eq!(WashTraderPolicy::cross_price(None, None, 0.0, T), None);
        assert_eq!(
            WashTraderPolicy::cross_price(None, Some(1.0), 2.0, T),
            Some(990_000_000)
        );
        assert_eq!(
            WashTraderPolicy::cross_price(None, None, 1.5, 0),
            Some(1_500_000_000)
        );
    }
}
