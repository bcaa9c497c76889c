//! Policies for market-clearing assets: zero-intelligence traders, market
//! makers and fundamental traders that post limit orders.

use super::{fraction_of, ValueDistribution};
use super::{Action, AgentRng, AgentView, Observation, Policy, PrivateValue, Side};
use crate::ledger::{to_base, to_units};
use crate::market::clearing::money_quantity;
use crate::market::value;
use rand::RngExt;

/// Base units of money per whole token for a price in money units, or 0
/// when the price is not positive or not representable.
fn price_base(price: f64) -> u64 {
    to_base(price).unwrap_or(0)
}

/// Zero-intelligence traders constrained by budget (ZI-C, Gode and Sunder
/// 1993): a buyer with private value `v` bids a price drawn uniformly from
/// `[min_price, v]`, a seller with cost `c` asks a price drawn uniformly
/// from `[c, max_price]`, so neither ever trades at a loss (a seller whose
/// cost is above `max_price` does not ask). In a scenario `max_price`
/// defaults to the top of the value distribution
/// ([`ValueDistribution::upper_end`]), as Gode and Sunder's asks stay within
/// the range of values: a far higher cap would have sellers ask prices no
/// buyer pays, and almost nothing would trade. Each step, an
/// agent that still has units to trade posts one limit order of `lot`
/// tokens (a new random price every step, replacing its earlier order). A
/// buyer trades until it holds `units`; a seller sells what it holds.
///
/// With `shade = Some(s)` the trader is not random: a buyer bids
/// `v·(1 − s)` and a seller asks `c·(1 + s)` every step — `s = 0` is
/// truth-telling, `s > 0` shading (the strategies of empirical game
/// analyses of double auctions).
#[derive(Debug, Clone, PartialEq)]
pub struct ZiCPolicy {
    /// Asset traded.
    pub asset: usize,
    /// Buyers or sellers.
    pub side: Side,
    /// Distribution of private values (buyers) or costs (sellers), drawn
    /// once per agent.
    pub value: ValueDistribution,
    /// Tokens a buyer wants over the run (a seller's are its holdings),
    /// base units.
    pub units: u64,
    /// Tokens per order, base units.
    pub lot: u64,
    /// Lowest bid, money units per token.
    pub min_price: f64,
    /// Highest ask, money units per token.
    pub max_price: f64,
    /// Steps an order lives.
    pub ttl: u32,
    /// A fixed shading of the value instead of a random price: `None` is
    /// ZI-C.
    pub shade: Option<f64>,
}

impl ZiCPolicy {
    /// The private value (buyer) or cost (seller) of this agent.
    pub fn value_of(&self, me: &AgentView<'_>) -> f64 {
        self.value.draw(me.key())
    }
}

impl Policy for ZiCPolicy {
    fn decide(&self, _obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        let v = self.value_of(me);
        let held = me.holdings[self.asset];
        let (lo, hi, amount) = match self.side {
            Side::Buy => (
                self.min_price,
                v,
                // Nothing once it holds all the units it wants (a clamp at
                // zero, not an overflow guard).
                self.lot.min(self.units.saturating_sub(held)),
            ),
            Side::Sell => (v, self.max_price, self.lot.min(held)),
        };
        if amount == 0 || hi.partial_cmp(&lo).is_none_or(|o| o.is_lt()) {
            return Action::Hold;
        }
        let price = match (self.shade, self.side) {
            (Some(s), Side::Buy) => price_base(v * (1.0 - s)),
            (Some(s), Side::Sell) => price_base(v * (1.0 + s)),
            (None, _) => {
                let u: f64 = rng.random();
                price_base(lo + (hi - lo) * u)
            }
        };
        if price == 0 {
            return Action::Hold;
        }
        if self.side == Side::Buy {
            // budget constraint: never bid more than the balance covers
            let cost = value(price, 1, amount);
            if cost > u128::from(me.balance) {
                return Action::Hold;
            }
        }
        Action::Limit {
            asset: self.asset as u32,
            side: self.side,
            price,
            amount,
            ttl: self.ttl,
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }

    fn private_value(&self, me: &AgentView<'_>) -> Option<PrivateValue> {
        Some(PrivateValue {
            asset: self.asset,
            side: self.side,
            value: self.value_of(me),
            units: match self.side {
                Side::Buy => self.units,
                Side::Sell => me.holdings[self.asset],
            },
        })
    }
}

/// Market makers: each step quote a bid and an ask `spread` apart (relative
/// to the mid), around the mid of the best quotes (else the last trade,
/// else the recorded price), `size` tokens a side. Inventory limits: no bid
/// once holdings would exceed `max_inventory`, no ask without `size` to
/// sell; the quote is skewed away from a heavy inventory by `skew` (relative
/// price shift per unit of inventory share, 0 for none).
#[derive(Debug, Clone, PartialEq)]
pub struct MarketMakerPolicy {
    /// Asset quoted.
    pub asset: usize,
    /// Full relative spread, e.g. 0.02 for ±1 % around the mid.
    pub spread: f64,
    /// Tokens per side, base units.
    pub size: u64,
    /// The most tokens the maker will hold, base units.
    pub max_inventory: u64,
    /// Relative shift of both quotes per unit of `holdings / max_inventory`
    /// above one half (a maker long the asset quotes lower to sell).
    pub skew: f64,
    /// Steps a quote lives.
    pub ttl: u32,
}

impl Policy for MarketMakerPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        let a = &obs.assets[self.asset];
        let mid = match (a.best_bid, a.best_ask) {
            (Some(b), Some(x)) => 0.5 * (b + x),
            _ => a.last_trade.unwrap_or(a.price),
        };
        if !(mid > 0.0 && mid.is_finite()) {
            return Action::Hold;
        }
        let held = me.holdings[self.asset];
        let fill = if self.max_inventory > 0 {
            to_units(held) / to_units(self.max_inventory) - 0.5
        } else {
            0.0
        };
        let centre = mid * (1.0 - self.skew * fill);
        let mut bid = price_base(centre * (1.0 - self.spread / 2.0));
        let mut ask = price_base(centre * (1.0 + self.spread / 2.0));
        let cost = value(bid, 1, self.size);
        let over_inventory = held
            .checked_add(self.size)
            .is_none_or(|after| after > self.max_inventory);
        if over_inventory || cost > u128::from(me.balance) {
            bid = 0;
        }
        if held < self.size {
            ask = 0;
        }
        if bid == 0 && ask == 0 {
            return Action::Cancel {
                asset: self.asset as u32,
            };
        }
        Action::Quote {
            asset: self.asset as u32,
            bid,
            ask,
            amount: self.size,
            ttl: self.ttl,
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

/// Fundamental-value traders with limit orders: each agent holds a private
/// value `v` (drawn once); when active (probability `activity`) it bids `v`
/// for `buy_fraction` of what its balance buys at `v` if the market (the
/// mid, else the price) is below `v`, and asks `v` for `sell_fraction` of
/// its holdings if above, so it never pays more, or takes less, than `v`.
#[derive(Debug, Clone, PartialEq)]
pub struct FundamentalPolicy {
    /// Asset traded.
    pub asset: usize,
    /// Distribution of private values.
    pub value: ValueDistribution,
    /// Probability of trading each step.
    pub activity: f64,
    /// Share of the affordable tokens bid for.
    pub buy_fraction: f64,
    /// Share of the holdings offered.
    pub sell_fraction: f64,
    /// Steps an order lives.
    pub ttl: u32,
}

impl Policy for FundamentalPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        let u: f64 = rng.random();
        if u >= self.activity {
            return Action::Hold;
        }
        let v = self.value.draw(me.key());
        let price = price_base(v);
        let market = obs.assets[self.asset].mid();
        if price == 0 || !market.is_finite() {
            return Action::Hold;
        }
        let (side, amount) = if market < v {
            let affordable = money_quantity(me.balance, price, 1, 1);
            (Side::Buy, fraction_of(affordable, self.buy_fraction))
        } else if market > v {
            (
                Side::Sell,
                fraction_of(me.holdings[self.asset], self.sell_fraction),
            )
        } else {
            return Action::Hold;
        };
        if amount == 0 {
            return Action::Hold;
        }
        Action::Limit {
            asset: self.asset as u32,
            side,
            price,
            amount,
            ttl: self.ttl,
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::SCALE;
    use rand::SeedableRng;

    /// A fundamental trader of value 10 (acting for sure) bids its value
    /// below it and asks it above: at a mid of 9.25 (quotes 9 / 9.5) a bid
    /// at 10 for half the 10 tokens its 100 pays for, at a mid of 11 an
    /// ask at 10 of half its 8 tokens; with no quote and no price (NaN) it
    /// holds.
    #[test]
    fn a_fundamental_trader_bids_below_its_value_asks_above_and_holds_without_a_price() {
        use crate::agents::AssetObservation;
        let p = FundamentalPolicy {
            asset: 0,
            value: ValueDistribution::Constant { value: 10.0 },
            activity: 1.0,
            buy_fraction: 0.5,
            sell_fraction: 0.5,
            ttl: 3,
        };
        let history = [10.0];
        let holdings = [8 * SCALE];
        let me = AgentView::new(0, 0, 100 * SCALE, &holdings, 0);
        let decide = |price: f64, best_bid: Option<f64>, best_ask: Option<f64>| {
            let assets = [AssetObservation {
                best_bid,
                best_ask,
                ..AssetObservation::at(price, &history)
            }];
            let obs = Observation {
                step: 1,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1))
        };
        let limit = |side, amount| Action::Limit {
            asset: 0,
            side,
            price: 10 * SCALE,
            amount,
            ttl: 3,
        };
        assert_eq!(
            decide(9.0, Some(9.0), Some(9.5)),
            limit(Side::Buy, 5 * SCALE)
        );
        assert_eq!(decide(11.0, None, None), limit(Side::Sell, 4 * SCALE));
        assert_eq!(decide(f64::NAN, None, None), Action::Hold);
    }

    #[test]
    fn a_zi_c_buyer_bids_when_its_balance_covers_the_bid_exactly() {
        // Value 10, shaded by half: a bid of 5 a token for a lot of 2
        // tokens, 10 money. A balance of exactly 10 pays for it; one base
        // unit less does not, and the buyer holds.
        let buyer = ZiCPolicy {
            asset: 0,
            side: Side::Buy,
            value: ValueDistribution::Constant { value: 10.0 },
            units: 10 * SCALE,
            lot: 2 * SCALE,
            min_price: 0.0,
            max_price: 100.0,
            ttl: 1,
            shade: Some(0.5),
        };
        let obs = Observation {
            step: 1,
            assets: &[],
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0];
        let decide = |balance: u64| {
            let me = AgentView::new(0, 0, balance, &holdings, 0);
            buyer.decide(&obs, &me, &mut AgentRng::seed_from_u64(1))
        };
        assert_eq!(
            decide(10 * SCALE),
            Action::Limit {
                asset: 0,
                side: Side::Buy,
                price: 5 * SCALE,
                amount: 2 * SCALE,
                ttl: 1,
            }
        );
        assert_eq!(decide(10 * SCALE - 1), Action::Hold);
    }

    fn seen(
        price: f64,
        best_bid: Option<f64>,
        best_ask: Option<f64>,
        last_trade: Option<f64>,
    ) -> crate::agents::AssetObservation<'static> {
        crate::agents::AssetObservation {
            best_bid,
            best_ask,
            last_trade,
            ..crate::agents::AssetObservation::at(price, &[])
        }
    }

    /// A market maker trades only its own asset, whatever its index (the
    /// engine checks the index against the scenario's assets with it).
    #[test]
    fn a_market_maker_trades_only_its_own_asset() {
        for asset in [0, 3] {
            let mm = MarketMakerPolicy {
                asset,
                spread: 0.02,
                size: SCALE,
                max_inventory: 10 * SCALE,
                skew: 0.0,
                ttl: 1,
            };
            assert_eq!(mm.assets(), vec![asset]);
        }
    }

    /// A maker of spread 2 %, 2 tokens a side, at most 10 tokens, skew 0.1,
    /// around a mid of 100 (quotes 99 / 101): at half its inventory (5
    /// tokens) it quotes 99 / 101; full (10) it shifts the centre down by
    /// 0.1 · ½ to 95 and only asks, 95 · 1.01 = 95.95 (a bid would take it
    /// over 10); empty, the centre is 105 and it only bids, 105 · 0.99 =
    /// 103.95 (no 2 tokens to sell); empty and unable to pay 2 · 103.95 it
    /// cancels.
    #[test]
    fn a_market_maker_quotes_around_the_mid_skewed_by_its_inventory() {
        let mm = MarketMakerPolicy {
            asset: 0,
            spread: 0.02,
            size: 2 * SCALE,
            max_inventory: 10 * SCALE,
            skew: 0.1,
            ttl: 4,
        };
        let assets = [seen(80.0, Some(99.0), Some(101.0), Some(90.0))];
        let obs = Observation {
            step: 1,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let quote = |balance: u64, held: u64| {
            let holdings = [held];
            let me = AgentView::new(0, 0, balance, &holdings, 0);
            mm.decide(&obs, &me, &mut AgentRng::seed_from_u64(1))
        };
        let q = |bid, ask| Action::Quote {
            asset: 0,
            bid,
            ask,
            amount: 2 * SCALE,
            ttl: 4,
        };
        let rich = 1000 * SCALE;
        assert_eq!(quote(rich, 5 * SCALE), q(99 * SCALE, 101 * SCALE));
        assert_eq!(quote(rich, 10 * SCALE), q(0, 95_950_000_000));
        assert_eq!(quote(rich, 0), q(103_950_000_000, 0));
        // 2 · 103.95 = 207.9 exactly pays; a base unit less does not.
        assert_eq!(quote(207_900_000_000, 0), q(103_950_000_000, 0));
        assert_eq!(quote(207_900_000_000 - 1, 0), Action::Cancel { asset: 0 });
        assert_eq!(mm.assets(), vec![0]);
    }

    /// Without both quotes a maker centres on the last trade (50: quotes
    /// 49.5 / 50.5 at half inventory), without a last trade on the price
    /// (70: 69.3 / 70.7); a maker of no inventory limit (0) never bids; a
    /// mid of 0 or NaN holds.
    #[test]
    fn a_market_maker_falls_back_on_the_last_trade_then_the_price() {
        let mm = MarketMakerPolicy {
            asset: 0,
            spread: 0.02,
            size: SCALE,
            max_inventory: 10 * SCALE,
            skew: 0.3,
            ttl: 1,
        };
        let decide = |mm: &MarketMakerPolicy, a: crate::agents::AssetObservation<'static>| {
            let assets = [a];
            let obs = Observation {
                step: 1,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            let holdings = [5 * SCALE];
            let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 0);
            mm.decide(&obs, &me, &mut AgentRng::seed_from_u64(1))
        };
        let q = |bid, ask| Action::Quote {
            asset: 0,
            bid,
            ask,
            amount: SCALE,
            ttl: 1,
        };
        let trade = seen(80.0, Some(99.0), None, Some(50.0));
        assert_eq!(decide(&mm, trade), q(49_500_000_000, 50_500_000_000));
        let price = seen(70.0, None, Some(101.0), None);
        assert_eq!(decide(&mm, price), q(69_300_000_000, 70_700_000_000));
        for bad in [0.0, f64::NAN] {
            assert_eq!(decide(&mm, seen(bad, None, None, None)), Action::Hold);
        }
        let unlimited = MarketMakerPolicy {
            max_inventory: 0,
            ..mm
        };
        assert_eq!(decide(&unlimited, price), q(0, 70_700_000_000));
    }

    fn zic(side: Side, shade: Option<f64>) -> ZiCPolicy {
        ZiCPolicy {
            asset: 0,
            side,
            value: ValueDistribution::Constant { value: 4.0 },
            units: 5 * SCALE,
            lot: 2 * SCALE,
            min_price: 1.0,
            max_price: 10.0,
            ttl: 2,
            shade,
        }
    }

    /// A ZI-C buyer of value 4 bids uniformly in [1, 4]; a seller of cost 4
    /// asks uniformly in [4, 10]: over 4000 draws every price is in its
    /// range and the mean within 4 standard errors of the midpoint (2.5,
    /// sd 3/√12; 7, sd 6/√12), a test a shift of a tenth of the range
    /// fails.
    #[test]
    fn a_zi_c_trader_draws_its_price_uniformly_between_its_bounds() {
        let n = 4000;
        let empty = [0];
        let full = [5 * SCALE];
        let obs = Observation {
            step: 1,
            assets: &[],
            incentives: &[],
            mempool: &[],
        };
        for (side, lo, hi, holdings) in [
            (Side::Buy, 1.0, 4.0, &empty),
            (Side::Sell, 4.0, 10.0, &full),
        ] {
            let p = zic(side, None);
            let me = AgentView::new(0, 0, 1000 * SCALE, holdings, 0);
            let mut sum = 0.0;
            for i in 0..n {
                let Action::Limit { price, amount, .. } =
                    p.decide(&obs, &me, &mut AgentRng::seed_from_u64(i))
                else {
                    panic!("a ZI-C trader with units places a limit order")
                };
                assert_eq!(amount, 2 * SCALE);
                let x = to_units(price);
                assert!((lo..=hi).contains(&x), "{side:?} {x}");
                sum += x;
            }
            let se = (hi - lo) / 12f64.sqrt() / (n as f64).sqrt();
            let mean = sum / n as f64;
            assert!((mean - (lo + hi) / 2.0).abs() < 4.0 * se, "{side:?} {mean}");
            assert!(0.1 * (hi - lo) > 8.0 * se);
        }
    }

    /// A ZI-C seller asks its cost shaded up, 4 · 1.25 = 5, for a lot of
    /// at most what it holds (1 token), and holds when it has nothing or
    /// its cost is above the highest ask; a buyer trades only what it
    /// still wants (5 − 4 = 1 token) and nothing once it holds its units.
    /// Their private values: the buyer's units, the seller's holdings.
    #[test]
    fn a_zi_c_trader_trades_what_it_still_wants_or_holds() {
        let obs = Observation {
            step: 1,
            assets: &[],
            incentives: &[],
            mempool: &[],
        };
        let decide = |p: &ZiCPolicy, held: u64| {
            let holdings = [held];
            let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 0);
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(3))
        };
        let seller = zic(Side::Sell, Some(0.25));
        let limit = |side, price, amount| Action::Limit {
            asset: 0,
            side,
            price,
            amount,
            ttl: 2,
        };
        assert_eq!(decide(&seller, SCALE), limit(Side::Sell, 5 * SCALE, SCALE));
        assert_eq!(decide(&seller, 0), Action::Hold);
        let dear = ZiCPolicy {
            value: ValueDistribution::Constant { value: 11.0 },
            ..zic(Side::Sell, None)
        };
        assert_eq!(decide(&dear, SCALE), Action::Hold);
        let buyer = zic(Side::Buy, Some(0.25));
        assert_eq!(
            decide(&buyer, 4 * SCALE),
            limit(Side::Buy, 3 * SCALE, SCALE)
        );
        assert_eq!(decide(&buyer, 5 * SCALE), Action::Hold);
        assert_eq!(decide(&buyer, 6 * SCALE), Action::Hold);
        let holdings = [3 * SCALE];
        let me = AgentView::new(0, 0, 0, &holdings, 0);
        let v = buyer.private_value(&me).unwrap();
        assert_eq!(
            (v.asset, v.side, v.value, v.units),
            (0, Side::Buy, 4.0, 5 * SCALE)
        );
        let v = seller.private_value(&me).unwrap();
        assert_eq!((v.side, v.units), (Side::Sell, 3 * SCALE));
        assert_eq!(seller.assets(), vec![0]);
        assert_eq!(ZiCPolicy { asset: 2, ..seller }.assets(), vec![2]);
    }

    /// A fundamental trader acts with probability `activity`: at 0.3, on
    /// about 30 % of 4000 steps (within 4 sd, √(4000 · 0.21) ≈ 29); at
    /// the market price equal to its value it holds.
    #[test]
    fn a_fundamental_trader_acts_at_its_activity_and_holds_at_its_value() {
        let p = FundamentalPolicy {
            asset: 0,
            value: ValueDistribution::Constant { value: 10.0 },
            activity: 0.3,
            buy_fraction: 0.5,
            sell_fraction: 0.5,
            ttl: 3,
        };
        let holdings = [8 * SCALE];
        let me = AgentView::new(0, 0, 100 * SCALE, &holdings, 0);
        let below = [seen(9.0, None, None, None)];
        let obs = Observation {
            step: 1,
            assets: &below,
            incentives: &[],
            mempool: &[],
        };
        let n = 4000u64;
        let acts = (0..n)
            .filter(|&i| p.decide(&obs, &me, &mut AgentRng::seed_from_u64(i)) != Action::Hold)
            .count() as f64;
        assert!((acts - 0.3 * n as f64).abs() < 4.0 * 29.0, "{acts}");
        let at = [seen(10.0, None, None, None)];
        let obs = Observation { assets: &at, ..obs };
        let sure = FundamentalPolicy { activity: 1.0, ..p };
        assert_eq!(
            sure.decide(&obs, &me, &mut AgentRng::seed_from_u64(1)),
            Action::Hold
        );
        assert_eq!(sure.assets(), vec![0]);
        assert_eq!(FundamentalPolicy { asset: 3, ..sure }.assets(), vec![3]);
    }
}
