//! Collusion: groups of agents that act on a shared objective instead of
//! each on its own (the attacker kinds `cartel` and `hoarder`).
//!
//! - [`CartelPolicy`] (`cartel`): sellers that maximise the group's *joint*
//!   profit. In a posted-price market ([`PostedCartel`]) every member posts
//!   the grid price that maximises the members' summed profit given the
//!   outsiders' last prices, with an optional trigger that drops to the
//!   Nash price while an outsider undercuts. In a resource market
//!   ([`SupplyCartel`]) the members are producers that withhold a share of
//!   their capacity, so that the price rises.
//! - [`PostedCartel`] with `joint = false` is also the `best_response`
//!   seller (not an attacker): each member maximises its own profit
//!   against the others' last prices, the competitive benchmark a cartel
//!   is measured against.
//! - [`HoarderPolicy`] (`hoarder`): a group that requests more of a
//!   resource than it needs (it needs none of it) at a high willingness to
//!   pay, cornering the capacity and leaving the units it receives idle:
//!   the other consumers' unmet need rises.
//!
//! All three are stateless, like the other rule-based policies: what a
//! member does follows from the step's observation and its place in its
//! group.

use std::ops::Range;
use std::sync::Arc;

use super::{fraction_of, Action, AgentRng, AgentView, Observation, Policy};
use crate::market::posted_market::PostedSetup;

/// A cartel: posted-price sellers or withholding producers.
#[derive(Debug, Clone, PartialEq)]
pub enum CartelPolicy {
    /// On a `posted_price` asset.
    Posted(PostedCartel),
    /// On a `resource` asset.
    Supply(SupplyCartel),
}

impl CartelPolicy {
    /// The asset it sells.
    pub fn asset(&self) -> usize {
        match self {
            CartelPolicy::Posted(p) => p.asset,
            CartelPolicy::Supply(p) => p.asset,
        }
    }
}

impl Policy for CartelPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        match self {
            CartelPolicy::Posted(p) => p.decide(obs, me, rng),
            CartelPolicy::Supply(p) => p.decide(obs, me, rng),
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset()]
    }
}

/// What a posted-price cartel knows of its market once the scenario's
/// sellers are known ([`PostedCartel::bind`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CartelMarket {
    /// The market's grid and profit tables.
    pub setup: Arc<PostedSetup>,
    /// The members' seller indices, `first .. first + count`.
    pub first: usize,
    /// The number of members.
    pub count: usize,
    /// The grid index nearest the mean Bertrand–Nash price (the
    /// punishment price).
    pub nash: u32,
}

/// A cartel of sellers in a posted-price market (`joint`), or a group of
/// sellers that each price for themselves (`best_response`).
///
/// Each step every member posts the grid index `d` that maximises the
/// members' *joint* profit `Σ_{i ∈ cartel} π_i` when all members post `d`
/// and every other seller keeps the price it posted last step (the
/// lowest such index among equals). When the cartel is every seller of
/// the market this is the joint-profit (monopoly) price on the grid, and
/// the collusion index is 1 to the grid's precision; a cartel of one
/// seller maximises its own profit. Without `joint` (the `best_response`
/// kind) each member maximises its own profit alone, as a cartel of one:
/// sellers that all do so play static best responses to each other, which
/// converge to the grid's Nash prices.
///
/// With `punish`, a member that sees an outsider's last price below the
/// cartel's price posts the grid price nearest the Nash price instead (a
/// trigger strategy with one step of memory: it punishes while the
/// undercutting lasts, and returns to the collusive price after).
#[derive(Debug, Clone, PartialEq)]
pub struct PostedCartel {
    /// The posted-price asset.
    pub asset: usize,
    /// Whether members punish an undercutting outsider.
    pub punish: bool,
    /// Whether the members price for the group's joint profit (a cartel)
    /// or each for its own (`best_response`).
    pub joint: bool,
    /// The market, once bound (a cartel holds until then).
    pub market: Option<CartelMarket>,
}

impl PostedCartel {
    /// Binds the cartel to its market: its members are sellers
    /// `first .. first + count` of `setup`.
    pub fn bind(&mut self, setup: Arc<PostedSetup>, first: usize, count: usize) {
        let nash = setup.nash().mean_price();
        let nash = nearest(setup.grid(), nash);
        self.market = Some(CartelMarket {
            setup,
            first,
            count,
            nash,
        });
    }

    /// The grid index that maximises the joint profit of `members` (seller
    /// indices) when they all post it and the other sellers post what they
    /// did in `last` (the lowest index among equals).
    pub fn joint_best(setup: &PostedSetup, members: Range<usize>, last: &[u32]) -> u32 {
        let mut profile = last.to_vec();
        let mut best = (0u32, f64::NEG_INFINITY);
        for d in 0..setup.grid().len() as u32 {
            for i in members.clone() {
                profile[i] = d;
            }
            let k = setup.profile_of(&profile);
            let joint: f64 = members.clone().map(|i| setup.profit(k, i)).sum();
            if joint > best.1 {
                best = (d, joint);
            }
        }
        best.0
    }
}

/// The index of the grid price nearest `price` (the lower among equals).
pub fn nearest(grid: &[f64], price: f64) -> u32 {
    let mut best = (0u32, f64::INFINITY);
    for (d, &p) in grid.iter().enumerate() {
        let gap = (p - price).abs();
        if gap < best.1 {
            best = (d as u32, gap);
        }
    }
    best.0
}

impl Policy for PostedCartel {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        let (Some(market), Some(view)) = (
            &self.market,
            obs.assets.get(self.asset).and_then(|a| a.posted),
        ) else {
            return Action::Hold;
        };
        if view.prices.len() != market.setup.sellers().len() {
            return Action::Hold;
        }
        let members = if self.joint {
            market.first..market.first + market.count
        } else {
            let i = market.first + me.member as usize;
            i..i + 1
        };
        if members.end > view.prices.len() {
            return Action::Hold;
        }
        let collusive = Self::joint_best(&market.setup, members.clone(), view.prices);
        let grid = market.setup.grid();
        let undercut = self.punish
            && view.prices.iter().enumerate().any(|(i, &d)| {
                !members.contains(&i) && grid[d as usize] < grid[collusive as usize]
            });
        let price = if undercut { market.nash } else { collusive };
        Action::Post {
            asset: self.asset as u32,
            price,
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

/// A cartel of producers of a resource that withholds supply.
///
/// Each member is a [`ProducerPolicy`](super::ProducerPolicy) that makes
/// only `(1 − withhold)` of its capacity: whenever the price is above
/// `cost · (1 + margin)` it makes `(1 − withhold) · max_output` units (fewer
/// if its balance pays for fewer) at `cost` each, which arrive `lead_time`
/// steps later and are paid the price of that step. With less supply the
/// resource's price rule settles at a higher price: under a price
/// adjustment rule, where the consumers' requests `D(P)` equal what is
/// available, `P* = D⁻¹((1 − withhold) · K)` for a capacity `K` of the
/// members. `withhold = 0` is a group of ordinary producers.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplyCartel {
    /// The resource produced.
    pub asset: usize,
    /// Money per unit it costs to make.
    pub cost: f64,
    /// Most units each member can make per step, base units.
    pub max_output: u64,
    /// Steps until the units arrive.
    pub lead_time: u32,
    /// Relative margin over cost the price must exceed to produce.
    pub margin: f64,
    /// The share of its capacity each member withholds, in `[0, 1]`.
    pub withhold: f64,
}

impl SupplyCartel {
    /// The units each member offers a step: `(1 − withhold) · max_output`,
    /// rounded down.
    pub fn offered(&self) -> u64 {
        fraction_of(self.max_output, 1.0 - self.withhold)
    }
}

impl Policy for SupplyCartel {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        let producer = super::resource::ProducerPolicy {
            asset: self.asset,
            cost: self.cost,
            max_output: self.max_output,
            lead_time: self.lead_time,
            margin: self.margin,
        };
        producer.produce_up_to(self.offered(), obs, me)
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

/// A hoarding group in a resource economy: each member requests
/// `quantity` units of the resource every step, bidding up to
/// `max_price` per unit, though it needs none of them. Under proportional
/// rationing it receives `quantity · O / D` of a capacity `O` requested
/// `D` in all; under priority or an auction, with a bid above the
/// consumers' values, it is served first. The units it receives sit idle
/// (a renewing resource's expire at the end of the step; a stock's stay
/// held), so they are taken from the consumers, whose unmet need rises.
/// What it pays is its cost: its `extracted` is negative, the harm shows
/// in the resource's `unmet_share`.
#[derive(Debug, Clone, PartialEq)]
pub struct HoarderPolicy {
    /// The resource hoarded.
    pub asset: usize,
    /// Units each member requests per step, base units.
    pub quantity: u64,
    /// Most money per unit, base units.
    pub max_price: u64,
}

impl Policy for HoarderPolicy {
    fn decide(&self, _obs: &Observation<'_>, _me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        if self.quantity == 0 || self.max_price == 0 {
            return Action::Hold;
        }
        Action::Request {
            asset: self.asset as u32,
            quantity: self.quantity,
            max_price: self.max_price,
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_grid_price_is_the_lower_of_two_equals() {
        let grid = [1.0, 1.5, 2.0];
        assert_eq!(nearest(&grid, 1.6), 1);
        assert_eq!(nearest(&grid, 1.75), 1);
        assert_eq!(nearest(&grid, 9.0), 2);
        assert_eq!(nearest(&grid, -1.0), 0);
    }

    #[test]
    fn a_cartel_offers_the_share_it_does_not_withhold() {
        let c = SupplyCartel {
            asset: 0,
            cost: 1.0,
            max_output: 16_000_000_000,
            lead_time: 0,
            margin: 0.0,
            withhold: 0.375,
        };
        assert_eq!(c.offered(), 10_000_000_000);
        assert_eq!(
            SupplyCartel {
                withhold: 0.0,
                ..c.clone()
            }
            .offered(),
            c.max_output
        );
        assert_eq!(SupplyCartel { withhold: 1.0, ..c }.offered(), 0);
    }

    /// A supply cartel produces only what it does not withhold: half of 4
    /// units at cost 1 when the price (3) is above cost; a hoarder requests
    /// its quantity at its price, and holds with a quantity or a price of
    /// 0. Both declare their resource.
    #[test]
    fn a_supply_cartel_produces_its_offer_and_a_hoarder_requests_its_quantity() {
        use crate::agents::AssetObservation;
        use crate::ledger::SCALE;
        use rand::SeedableRng;
        let history = [1.0];
        let assets = [AssetObservation {
            name: "R",
            ..AssetObservation::at(3.0, &history)
        }];
        let obs = Observation {
            step: 1,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0];
        let me = AgentView::new(0, 0, 100 * SCALE, &holdings, 1);
        let mut rng = AgentRng::seed_from_u64(1);
        let cartel = CartelPolicy::Supply(SupplyCartel {
            asset: 0,
            cost: 1.0,
            max_output: 4 * SCALE,
            lead_time: 1,
            margin: 0.0,
            withhold: 0.5,
        });
        assert_eq!(
            cartel.decide(&obs, &me, &mut rng),
            Action::Produce {
                asset: 0,
                quantity: 2 * SCALE,
                cost: SCALE,
                lead_time: 1,
            }
        );
        assert_eq!(cartel.assets(), vec![0]);
        let hoarder = |quantity, max_price| HoarderPolicy {
            asset: 0,
            quantity,
            max_price,
        };
        assert_eq!(
            hoarder(5, 7).decide(&obs, &me, &mut rng),
            Action::Request {
                asset: 0,
                quantity: 5,
                max_price: 7
            }
        );
        assert_eq!(hoarder(0, 7).decide(&obs, &me, &mut rng), Action::Hold);
        assert_eq!(hoarder(5, 0).decide(&obs, &me, &mut rng), Action::Hold);
        assert_eq!(hoarder(5, 7).assets(), vec![0]);
    }

    /// A best responder (`joint = false`) posts its own best response to
    /// the others' last prices: member 1 of two bound at seller 0 is
    /// seller 1, and against seller 0 at the grid's lowest price and
    /// itself at the highest it posts `joint_best` of seller 1 alone,
    /// which here differs from seller 0's; member 0 posts seller 0's.
    #[test]
    fn a_best_responder_posts_its_own_sellers_best_response() {
        use crate::agents::{posted_asset, PostedView};
        use crate::market::posted::{GridSpec, PostedMarket};
        use rand::SeedableRng;
        let market = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
        let setup = Arc::new(
            PostedSetup::new(market, &GridSpec::Span { m: 15, xi: 0.1 }, vec![0, 1]).unwrap(),
        );
        let last = [0u32, 14];
        let own = |i: usize| PostedCartel::joint_best(&setup, i..i + 1, &last);
        assert_ne!(own(0), own(1), "the premise: the two best responses differ");
        let mut p = PostedCartel {
            asset: 0,
            punish: false,
            joint: false,
            market: None,
        };
        p.bind(setup.clone(), 0, 2);
        let grid = setup.grid().to_vec();
        let history = [1.0];
        let assets = [posted_asset(
            PostedView {
                grid: &grid,
                prices: &last,
                profits: &[0.0, 0.0],
                sellers: &[0, 1],
            },
            &history,
        )];
        let obs = Observation {
            step: 2,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        for member in [0u32, 1] {
            let holdings = [0];
            let me = AgentView::new(member, member, 0, &holdings, 0);
            let action = p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1));
            let price = own(member as usize);
            assert_eq!(action, Action::Post { asset: 0, price }, "member {member}");
        }
    }

    /// The joint best price maximises the members' joint profit, the
    /// others' prices held: of two sellers on a 15-price grid, both
    /// members (a monopoly) or one (its best response to the other at
    /// price 0 or 14), the price found earns the members at least as much
    /// as every price of the grid, strictly more than every lower one, and
    /// it is not the lowest price.
    #[test]
    fn the_joint_best_price_maximises_the_members_joint_profit() {
        use crate::market::posted::{GridSpec, PostedMarket};
        let market = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
        let setup =
            PostedSetup::new(market, &GridSpec::Span { m: 15, xi: 0.1 }, vec![3, 4]).unwrap();
        for (members, last) in [(0..2, [0, 0]), (0..1, [0, 0]), (0..1, [0, 14])] {
            let joint = |d: u32| {
                let mut profile = last.to_vec();
                for i in members.clone() {
                    profile[i] = d;
                }
                let k = setup.profile_of(&profile);
                members.clone().map(|i| setup.profit(k, i)).sum::<f64>()
            };
            let best = PostedCartel::joint_best(&setup, members.clone(), &last);
            assert!(best > 0, "{members:?} {last:?}");
            for d in 0..15 {
                if d < best {
                    assert!(joint(d) < joint(best), "{members:?} {last:?}: {d}");
                } else {
                    assert!(joint(d) <= joint(best), "{members:?} {last:?}: {d}");
                }
            }
        }
    }
}
