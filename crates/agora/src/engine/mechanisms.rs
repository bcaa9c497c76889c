//! The markets of a run: each asset's [`Mechanism`], held so that the
//! engine loops over them without knowing their kinds.
//!
//! The built-in mechanisms are enum variants (static dispatch, and the
//! bonding curve's trades settle on the engine's own fast path in
//! `Executor::execute`); a user mechanism is the [`Market::Custom`] door.
//! Everything else the engine asks of a market goes through the trait
//! ([`Market::mechanism`]), so a new mechanism needs no edit here.

use crate::games::population::GameMarket;
use crate::ledger::AgentId;
use crate::market::amm_market::AmmMarket;
use crate::market::batch::BatchMarket;
use crate::market::book_market::BookMarket;
use crate::market::mechanism::{Fault, MarketStep, Mechanism, Observed, Quotes};
use crate::market::posted_market::{PostedPriceMarket, PostedSetup};
use crate::pricing::CurveMarket;
use crate::resource::market::ResourceMarket;
use crate::scenario::PricingSpec;

/// An asset's pricing mechanism and its state.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Market {
    /// A bonding curve: settled on the engine's fast path.
    Curve(CurveMarket),
    Book(BookMarket),
    Batch(BatchMarket),
    Posted(PostedPriceMarket),
    Resource(ResourceMarket),
    /// A population game.
    Game(GameMarket),
    /// An automated market maker.
    Amm(AmmMarket),
    /// A user mechanism, registered by name.
    Custom(Box<dyn Mechanism>),
}

impl Market {
    /// The mechanism of `spec`, before any trade; a posted-price market is
    /// the one built from its sellers (`posted`). An error names the
    /// pricing field out of range and why (an AMM built in code with a
    /// reserve past the ledger's range, say).
    pub fn new(
        spec: &PricingSpec,
        posted: Option<&std::sync::Arc<PostedSetup>>,
    ) -> Result<Market, (&'static str, String)> {
        if let (PricingSpec::PostedPrice(_), Some(setup)) = (spec, posted) {
            return Ok(Market::Posted(PostedPriceMarket::new(
                std::sync::Arc::clone(setup),
            )));
        }
        Ok(match spec {
            PricingSpec::BondingCurve { curve, fee } => {
                Market::Curve(CurveMarket::new(curve.clone(), *fee))
            }
            PricingSpec::OrderBook(b) => Market::Book(BookMarket::new(b)),
            PricingSpec::CallAuction(b) => Market::Batch(BatchMarket::call_auction(b)),
            PricingSpec::Equilibrium(e) => Market::Batch(BatchMarket::equilibrium(e)),
            PricingSpec::PriceAdjustment(a) => Market::Batch(BatchMarket::price_adjustment(a)),
            // A scenario always builds a posted-price asset's market from
            // its sellers (above): one without is a market of none.
            PricingSpec::PostedPrice(_) => Market::Custom(Box::new(NoSellers)),
            PricingSpec::Resource(r) => Market::Resource(ResourceMarket::new(r)),
            PricingSpec::Game(g) => Market::Game(GameMarket::new(g)),
            PricingSpec::Amm(a) => Market::Amm(AmmMarket::new(a)?),
            PricingSpec::Custom(c) => Market::Custom(c.make()),
        })
    }

    /// The automated market maker, for an `amm` asset.
    pub fn amm(&self) -> Option<&AmmMarket> {
        match self {
            Market::Amm(a) => Some(a),
            _ => None,
        }
    }

    /// The automated market maker, mutably.
    pub fn amm_mut(&mut self) -> Option<&mut AmmMarket> {
        match self {
            Market::Amm(a) => Some(a),
            _ => None,
        }
    }

    /// The order book market, for an `order_book` asset.
    pub fn book(&self) -> Option<&BookMarket> {
        match self {
            Market::Book(b) => Some(b),
            _ => None,
        }
    }

    /// The mechanism, whatever its kind.
    #[inline]
    pub fn mechanism(&self) -> &dyn Mechanism {
        match self {
            Market::Curve(c) => c,
            Market::Book(b) => b,
            Market::Batch(b) => b,
            Market::Posted(p) => p,
            Market::Resource(r) => r,
            Market::Game(g) => g,
            Market::Amm(a) => a,
            Market::Custom(c) => c.as_ref(),
        }
    }

    /// The mechanism, mutably.
    #[inline]
    pub fn mechanism_mut(&mut self) -> &mut dyn Mechanism {
        match self {
            Market::Curve(c) => c,
            Market::Book(b) => b,
            Market::Batch(b) => b,
            Market::Posted(p) => p,
            Market::Resource(r) => r,
            Market::Game(g) => g,
            Market::Amm(a) => a,
            Market::Custom(c) => c.as_mut(),
        }
    }

    /// The curve, for a bonding-curve asset.
    pub fn curve(&self) -> Option<&CurveMarket> {
        match self {
            Market::Curve(c) => Some(c),
            _ => None,
        }
    }

    /// The posted-price market, for a posted-price asset.
    pub fn posted(&self) -> Option<&PostedPriceMarket> {
        match self {
            Market::Posted(p) => Some(p),
            _ => None,
        }
    }

    /// The posted-price market, mutably.
    pub fn posted_mut(&mut self) -> Option<&mut PostedPriceMarket> {
        match self {
            Market::Posted(p) => Some(p),
            _ => None,
        }
    }

    /// Whether the market never locks anything in the ledger's escrow (a
    /// curve settles each trade at once, a posted-price market at its
    /// clearing): there are then no open orders to track.
    pub fn locks_nothing(&self) -> bool {
        matches!(self, Market::Curve(_) | Market::Posted(_) | Market::Amm(_))
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

    /// The population game, for a game asset.
    pub fn game(&self) -> Option<&GameMarket> {
        match self {
            Market::Game(g) => Some(g),
            _ => None,
        }
    }

    /// The population game, mutably.
    pub fn game_mut(&mut self) -> Option<&mut GameMarket> {
        match self {
            Market::Game(g) => Some(g),
            _ => None,
        }
    }

    /// Whether a trade in the execute phase changes no account but its
    /// trader's (and the market's own books): a curve settles each trade
    /// against its reserve alone; a resource market only collects requests
    /// (locking the requester's money) and production (paid from the
    /// producer's balance) then, and allocates at the end of the step. An
    /// agent's account is then the same at its turn as at the start of the
    /// step, and it can decide at its turn.
    pub fn trades_touch_only_the_trader(&self) -> bool {
        matches!(self, Market::Curve(_) | Market::Resource(_))
    }

    /// Whether the market has the metrics of a market-clearing asset (a
    /// book, a batch market, a user mechanism): not a curve, a posted-price
    /// market, a resource, a game nor an AMM.
    pub fn clears(&self) -> bool {
        !matches!(
            self,
            Market::Curve(_)
                | Market::Posted(_)
                | Market::Resource(_)
                | Market::Game(_)
                | Market::Amm(_)
        )
    }

    /// The price recorded now (NaN for a step with no equilibrium).
    #[inline]
    pub fn price(&self, supply: u64) -> f64 {
        match self {
            Market::Curve(c) => c.spot_price(supply),
            other => other.mechanism().price(supply),
        }
    }

    /// The price holdings are valued at: the recorded price, or the last
    /// finite one.
    #[inline]
    pub fn mark(&self, supply: u64) -> f64 {
        match self {
            Market::Curve(c) => c.spot_price(supply),
            // Read every step by the decide and learn phases' observations.
            Market::Posted(p) => p.mark(supply),
            other => other.mechanism().mark(supply),
        }
    }

    /// The reserve that must back `supply` (0 unless a curve); `None` past
    /// the ledger's range.
    pub fn required_reserve(&self, supply: u64) -> Option<u128> {
        self.mechanism().required_reserve(supply)
    }

    /// The money that backs the supply going from `from` to `to`.
    pub fn reserve_between(&self, from: u64, to: u64) -> Option<u128> {
        self.mechanism().reserve_between(from, to)
    }

    /// What the market shows agents beside the price.
    pub fn observed(&self) -> Observed {
        match self {
            Market::Posted(p) => p.observed(),
            other => other.mechanism().observed(),
        }
    }

    /// The step's price source and quotes.
    pub fn quotes(&self) -> Quotes {
        self.mechanism().quotes()
    }

    /// See [`Mechanism::begin_step`].
    pub fn begin_step(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.mechanism_mut().begin_step(m)
    }

    /// See [`Mechanism::end_step`].
    pub fn end_step(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.mechanism_mut().end_step(m)
    }

    /// Executes an action of `agent` through the mechanism (the engine
    /// settles curve trades on its own fast path before calling this).
    pub fn execute(
        &mut self,
        agent: AgentId,
        action: crate::agents::Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        self.mechanism_mut().execute(agent, action, m)
    }

    /// Calls `f(agent, money, tokens)` for what the market holds locked.
    pub fn for_each_lock(&self, mut f: impl FnMut(AgentId, u64, u64)) {
        self.mechanism().for_each_lock(&mut f)
    }

    /// Every agent the mechanism's state names ([`Mechanism::for_each_agent`]).
    pub fn for_each_agent(&self, mut f: impl FnMut(AgentId)) {
        self.mechanism().for_each_agent(&mut f)
    }
}

/// The market of a posted-price asset without a setup (never built by a
/// scenario, which builds every posted-price market from its sellers): it
/// takes no action.
#[derive(Debug)]
struct NoSellers;

impl Mechanism for NoSellers {
    fn kind(&self) -> &str {
        "posted_price"
    }

    fn execute(
        &mut self,
        _agent: AgentId,
        _action: crate::agents::Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        m.ledger.count_rejected();
        Ok(())
    }

    fn price(&self, _supply: u64) -> f64 {
        f64::NAN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::Action;
    use crate::ledger::{Ledger, SCALE};
    use crate::market::mechanism::Desk;

    /// A mechanism that keeps no agents but its locks' owners names those
    /// to `verify` by default (`Mechanism::for_each_agent`): an order
    /// book's orders, an auction's bids (cargo-mutants: only the resource
    /// market's own list had a test).
    #[test]
    fn a_mechanism_names_its_locks_owners_by_default() {
        #[derive(Debug)]
        struct Locks;
        impl Mechanism for Locks {
            fn kind(&self) -> &str {
                "locks"
            }
            fn execute(
                &mut self,
                _agent: AgentId,
                _action: crate::agents::Action,
                _m: &mut MarketStep<'_>,
            ) -> Result<(), Fault> {
                Ok(())
            }
            fn price(&self, _supply: u64) -> f64 {
                f64::NAN
            }
            fn for_each_lock(&self, f: &mut dyn FnMut(AgentId, u64, u64)) {
                f(7, 1, 0);
                f(3, 0, 2);
            }
        }
        let mut named = Vec::new();
        Locks.for_each_agent(&mut |a| named.push(a));
        assert_eq!(named, [7, 3]);
        let mut none = Vec::new();
        NoSellers.for_each_agent(&mut |a| none.push(a));
        assert!(none.is_empty());
    }

    /// The market of a posted-price asset built without its sellers takes
    /// no action: each one it is given is rejected, and counted so, and
    /// nothing moves.
    #[test]
    fn a_posted_price_market_without_sellers_rejects_every_action() {
        let mut desk = Desk::new(Ledger::new(1, 1), true);
        desk.ledger.fund_balance(0, 10 * SCALE).unwrap();
        let mut market = NoSellers;
        for (k, action) in [
            Action::Buy {
                asset: 0,
                spend: SCALE,
            },
            Action::Sell {
                asset: 0,
                amount: 1,
            },
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(market.execute(0, action, &mut desk.step(1)), Ok(()));
            assert_eq!(desk.ledger.counts().rejected, k as u64 + 1);
        }
        assert_eq!(desk.ledger.balance(0), 10 * SCALE);
        assert!(market.price(0).is_nan());
    }
}
