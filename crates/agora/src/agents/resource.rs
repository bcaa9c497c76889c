//! Policies for resources: consumers that request what they need, and
//! producers that add capacity or stock at a cost.

use super::{fraction_of, ValueDistribution};
use super::{Action, AgentRng, AgentView, Need, Observation, Policy};
use crate::ledger::{to_base, to_whole, SCALE};
use crate::market::clearing::money_quantity;
use crate::rng::mix64;

/// Base units (rounded down) of a non-negative amount in units; 0 for NaN
/// or a negative amount, saturating above the ledger's range. A floor
/// without a libm call: this runs once or twice per consumer and step.
#[inline]
fn base_floor(x: f64) -> u64 {
    let y = x * SCALE as f64;
    if y > 0.0 {
        to_whole(y)
    } else {
        0
    }
}

/// How a consumer's request falls as the price rises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DemandForm {
    /// `q = need · max(0, 1 − P / value)`: linear, zero at the value.
    Linear,
    /// `q = need · min(1, (reference / P)^elasticity)`, and nothing above
    /// the value (elasticity 0: the whole need up to the value).
    Elastic {
        /// Price elasticity of demand (≥ 0).
        elasticity: f64,
        /// The price at and below which the whole need is requested.
        reference: f64,
    },
}

/// Consumers of resources: each step an agent needs `need` units (drawn
/// afresh each step from its own stream, times the step's entry of
/// `need_schedule` if given), each worth `value` when met. It
/// requests from the resource with the best `preference / price` among
/// `assets` (the first listed among equals; substitutes: a unit of any of
/// them meets a unit of need; a preference scales what the agent will pay
/// for that resource), the
/// quantity its demand form gives at that price, at most what
/// `budget_share` of its balance pays for, bidding its value as the most it
/// will pay per unit. What it receives it consumes, up to its need.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerPolicy {
    /// The resources it can use, in order of consumption.
    pub assets: Vec<usize>,
    /// Preference for each resource (> 0), same order.
    pub preferences: Vec<f64>,
    /// Distribution of the need per step, units.
    pub need: ValueDistribution,
    /// Multipliers of the need by step (step `t` uses entry
    /// `(t − 1) mod len`), for needs that follow a schedule (a daily cycle,
    /// a ramp); empty for none.
    pub need_schedule: Vec<f64>,
    /// Money value of a unit of need met.
    pub value: f64,
    /// How the request responds to the price.
    pub demand: DemandForm,
    /// Share of the balance it may spend in a step.
    pub budget_share: f64,
}

impl ConsumerPolicy {
    /// The need of this agent at `step`, base units (rounded down).
    pub fn need_at(&self, me: &AgentView<'_>, step: u64) -> u64 {
        self.need_rule(step).at(me.key())
    }

    /// What this policy's agents need at `step`, worked out once for all
    /// of them ([`NeedRule::at`] gives an agent's need from its key).
    #[inline]
    pub fn need_rule(&self, step: u64) -> NeedRule {
        let factor = if self.need_schedule.is_empty() {
            None
        } else {
            let len = self.need_schedule.len() as u64;
            Some(self.need_schedule[(step.saturating_sub(1) % len) as usize])
        };
        NeedRule {
            need: self.need,
            step_key: mix64(step),
            factor,
        }
    }

    /// What this policy's agents request on the observation `obs`, worked
    /// out once for all of them: the resource, the share of the need asked
    /// for and the bid depend on the prices alone ([`RequestRule::decide`]
    /// gives an agent's action from its key and balance, the same action
    /// as [`Policy::decide`]).
    pub fn request_rule(&self, obs: &Observation<'_>) -> RequestRule {
        RequestRule {
            need: self.need_rule(obs.step),
            bid: self.bid(obs),
        }
    }

    /// The resource with the best preference per unit of price (a free
    /// resource is best), what share of the need to ask for there and the
    /// bid; `None` when no resource has a usable price.
    fn bid(&self, obs: &Observation<'_>) -> Option<Bid> {
        let mut best: Option<(usize, f64, f64)> = None;
        for (&j, &pref) in self.assets.iter().zip(&self.preferences) {
            let p = obs.assets[j].price;
            if !(p >= 0.0 && p.is_finite()) {
                continue;
            }
            if best.is_none_or(|(_, bp, bpref)| pref * bp > bpref * p) {
                best = Some((j, p, pref));
            }
        }
        let (j, price, pref) = best?;
        let worth = self.value * pref;
        // Above its value it still bids its value: an auction may clear
        // lower; a posted price above it turns the request away.
        let share = match self.demand {
            DemandForm::Linear => (1.0 - price / worth).max(0.0),
            DemandForm::Elastic {
                elasticity,
                reference,
            } => {
                if price > 0.0 {
                    (reference / price).powf(elasticity).min(1.0)
                } else {
                    1.0
                }
            }
        };
        Some(Bid {
            asset: j as u32,
            price,
            share,
            budget_share: self.budget_share,
            max_price: base_floor(worth),
        })
    }
}

/// A consumer policy's need at one step: the distribution, the step's part
/// of every agent's key and the schedule's factor, so that an agent's need
/// is one keyed draw ([`ConsumerPolicy::need_rule`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NeedRule {
    need: ValueDistribution,
    step_key: u64,
    factor: Option<f64>,
}

impl NeedRule {
    /// The need, base units (rounded down), of the agent whose key
    /// ([`AgentView::key`]) is `key`.
    #[inline(always)]
    pub fn at(&self, key: u64) -> u64 {
        let mut need = self.need.draw(mix64(key ^ self.step_key));
        if let Some(factor) = self.factor {
            need *= factor;
        }
        base_floor(need)
    }
}

/// Where and how a consumer bids at a step (see [`ConsumerPolicy::bid`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bid {
    asset: u32,
    /// The resource's price, units.
    price: f64,
    /// Share of the need requested.
    share: f64,
    budget_share: f64,
    /// The most paid per whole unit, base units.
    max_price: u64,
}

/// A consumer policy's decision at one step, worked out once for all its
/// agents ([`ConsumerPolicy::request_rule`]); each agent's action is its
/// need and two roundings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestRule {
    need: NeedRule,
    bid: Option<Bid>,
}

impl RequestRule {
    /// The action of the agent whose key ([`AgentView::key`]) is `key` and
    /// whose balance is `balance`: a request for the share of its need
    /// that the budget pays for, or hold (no need, no priced resource,
    /// nothing to request or to bid).
    #[inline]
    pub fn decide(&self, key: u64, balance: u64) -> Action {
        let Some(bid) = self.bid else {
            return Action::Hold;
        };
        let need = self.need.at(key);
        if need == 0 {
            return Action::Hold;
        }
        let mut quantity = fraction_of(need, bid.share);
        // never request more than the budget pays for at the price (in f64:
        // a bound, rounded down, not a settlement)
        if bid.price > 0.0 {
            let budget = crate::ledger::to_units(fraction_of(balance, bid.budget_share));
            quantity = quantity.min(base_floor(budget / bid.price));
        }
        if quantity == 0 || bid.max_price == 0 {
            return Action::Hold;
        }
        Action::Request {
            asset: bid.asset,
            quantity,
            max_price: bid.max_price,
        }
    }
}

impl Policy for ConsumerPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        self.request_rule(obs).decide(me.key(), me.balance)
    }

    fn assets(&self) -> Vec<usize> {
        self.assets.clone()
    }

    fn need(&self, me: &AgentView<'_>, step: u64) -> Option<Need> {
        Some(Need {
            units: self.need_at(me, step),
            value: self.value,
        })
    }
}

/// Producers: each step the price is above `cost · (1 + margin)`, make
/// `max_output` units (the capacity limit; fewer if the balance pays for
/// fewer) at `cost` each, paid now; they arrive `lead_time` steps later,
/// when the resource's provider pays the producer the price of that step
/// for them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerPolicy {
    /// Resource produced.
    pub asset: usize,
    /// Money per unit it costs to make.
    pub cost: f64,
    /// Most units made per step, base units.
    pub max_output: u64,
    /// Steps until the units arrive.
    pub lead_time: u32,
    /// Relative margin over cost the price must exceed to produce.
    pub margin: f64,
}

impl ProducerPolicy {
    /// What a producer making at most `output` units does: produce as
    /// many as it can pay for when the price is above its cost with the
    /// margin, else hold (shared with the supply-withholding cartel).
    pub(crate) fn produce_up_to(
        &self,
        output: u64,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
    ) -> Action {
        let price = obs.assets[self.asset].price;
        if price.partial_cmp(&(self.cost * (1.0 + self.margin)))
            != Some(std::cmp::Ordering::Greater)
        {
            return Action::Hold;
        }
        let cost = to_base(self.cost).unwrap_or(0);
        let quantity = output.min(money_quantity(me.balance, cost, 1, 1));
        if quantity == 0 {
            return Action::Hold;
        }
        Action::Produce {
            asset: self.asset as u32,
            quantity,
            cost,
            lead_time: self.lead_time,
        }
    }
}

impl Policy for ProducerPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        self.produce_up_to(self.max_output, obs, me)
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::AssetObservation;
    use rand::SeedableRng;

    /// A consumer of two resources (need 4 units a step, value 10, linear
    /// demand, its whole balance to spend) skips a price that is negative,
    /// infinite or NaN and requests the other resource, at 2: 1 − 2/10 =
    /// 0.8 of its need, 3.2 units, bidding at most its value.
    #[test]
    fn a_consumer_skips_a_price_that_is_negative_or_not_finite() {
        let p = ConsumerPolicy {
            assets: vec![0, 1],
            preferences: vec![1.0, 1.0],
            need: ValueDistribution::Constant { value: 4.0 },
            need_schedule: Vec::new(),
            value: 10.0,
            demand: DemandForm::Linear,
            budget_share: 1.0,
        };
        let history = [1.0];
        let at = |price| AssetObservation {
            name: "R",
            ..AssetObservation::at(price, &history)
        };
        let holdings = [0, 0];
        let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 1);
        for first in [-1.0, f64::INFINITY, f64::NAN] {
            let assets = [at(first), at(2.0)];
            let obs = Observation {
                step: 1,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            let action = p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1));
            assert_eq!(
                action,
                Action::Request {
                    asset: 1,
                    quantity: 3_200_000_000,
                    max_price: 10 * SCALE,
                },
                "beside a price of {first}"
            );
        }
        // it declares the resources it uses, in its order
        assert_eq!(p.assets(), vec![0, 1]);
        let reversed = ConsumerPolicy {
            assets: vec![1, 0],
            ..p
        };
        assert_eq!(reversed.assets(), vec![1, 0]);
    }

    /// One resource at `price`.
    fn one_resource_at(price: f64, history: &[f64]) -> [AssetObservation<'_>; 1] {
        [AssetObservation {
            name: "R",
            ..AssetObservation::at(price, history)
        }]
    }

    /// A preference scales what a consumer pays: value 8 and preference
    /// 0.5 make a unit worth 4, so at price 1 linear demand asks
    /// 1 − 1/4 = 0.75 of its need of 8 units (6) and bids at most 4 a unit.
    #[test]
    fn a_preference_scales_the_worth_the_demand_and_the_bid() {
        let p = ConsumerPolicy {
            assets: vec![0],
            preferences: vec![0.5],
            need: ValueDistribution::Constant { value: 8.0 },
            need_schedule: Vec::new(),
            value: 8.0,
            demand: DemandForm::Linear,
            budget_share: 1.0,
        };
        let history = [1.0];
        let assets = one_resource_at(1.0, &history);
        let obs = Observation {
            step: 1,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 1);
        assert_eq!(
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1)),
            Action::Request {
                asset: 0,
                quantity: 6 * SCALE,
                max_price: 4 * SCALE,
            }
        );
    }

    /// A producer of cost 2 and margin 0.5 makes its 5 units only at a
    /// price strictly above 2 · 1.5 = 3: it holds at 2.5 and at 3, and
    /// produces at 3.5, paying 2 a unit.
    #[test]
    fn a_producer_produces_only_above_its_cost_with_the_margin() {
        let p = ProducerPolicy {
            asset: 0,
            cost: 2.0,
            max_output: 5 * SCALE,
            lead_time: 1,
            margin: 0.5,
        };
        let history = [1.0];
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 1);
        for (price, expected) in [
            (2.5, Action::Hold),
            (3.0, Action::Hold),
            (
                3.5,
                Action::Produce {
                    asset: 0,
                    quantity: 5 * SCALE,
                    cost: 2 * SCALE,
                    lead_time: 1,
                },
            ),
        ] {
            let assets = one_resource_at(price, &history);
            let obs = Observation {
                step: 1,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            let action = p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1));
            assert_eq!(action, expected, "at {price}");
        }
    }

    fn consumer(need: f64, demand: DemandForm) -> ConsumerPolicy {
        ConsumerPolicy {
            assets: vec![0],
            preferences: vec![1.0],
            need: ValueDistribution::Constant { value: need },
            need_schedule: Vec::new(),
            value: 10.0,
            demand,
            budget_share: 1.0,
        }
    }

    /// A need of 4 scaled by the schedule (1, ½, 2), step by step from step
    /// 1 and round again: 4, 2, 8, 4 units; the need reports them with the
    /// consumer's value.
    #[test]
    fn a_consumers_need_follows_its_schedule_round_and_round() {
        let p = ConsumerPolicy {
            need_schedule: vec![1.0, 0.5, 2.0],
            ..consumer(4.0, DemandForm::Linear)
        };
        let holdings = [0];
        let me = AgentView::new(0, 0, 0, &holdings, 1);
        let units: Vec<u64> = (1..=4).map(|t| p.need_at(&me, t)).collect();
        assert_eq!(units, vec![4 * SCALE, 2 * SCALE, 8 * SCALE, 4 * SCALE]);
        assert_eq!(
            p.need(&me, 3),
            Some(Need {
                units: 8 * SCALE,
                value: 10.0
            })
        );
        assert_eq!(p.assets(), vec![0]);
    }

    /// A consumer group has needs and no private values: the engine asks
    /// its agents the first and not the second.
    #[test]
    fn a_consumer_group_may_need_and_has_no_private_values() {
        let g = crate::agents::GroupPolicy::Builtin(crate::agents::BuiltinPolicy::Consumer(
            consumer(1.0, DemandForm::Linear),
        ));
        assert!(g.may_need() && !g.may_have_private_values());
    }

    /// An agent's need at a step is its distribution's draw keyed by the
    /// agent's key mixed with the step's (`mix64(key ^ mix64(step))`), the
    /// stream every version draws it from (the outputs of a scenario and
    /// seed depend on it): different for each agent and step, the same for
    /// the same pair.
    #[test]
    fn a_need_is_drawn_from_the_agents_key_mixed_with_the_steps() {
        let need = ValueDistribution::Uniform {
            low: 0.5,
            high: 1.5,
        };
        let p = ConsumerPolicy {
            need,
            ..consumer(1.0, DemandForm::Linear)
        };
        let holdings = [0];
        let mut seen = std::collections::BTreeSet::new();
        for key in [0, 1, 0x9e37_79b9_7f4a_7c15, u64::MAX] {
            let me = AgentView::new(0, 0, 0, &holdings, key);
            for step in [0, 1, 2, 1000, u64::MAX] {
                let drawn = need.draw(mix64(key ^ mix64(step)));
                let units = p.need_at(&me, step);
                assert_eq!(units, base_floor(drawn), "key {key:#x}, step {step}");
                assert_eq!(p.need_rule(step).at(key), units);
                seen.insert(units);
            }
        }
        assert_eq!(seen.len(), 20, "{seen:?}");
    }

    /// A consumer requests the resource of the best preference per unit of
    /// price: preferences 1 and 3 at prices 2 and 3 (½ and 1 a unit of
    /// price) pick the second; at price 9 for it (⅓) the first; at price 6
    /// (½, a tie) the first listed; at 5.5 (just over ½) the second.
    #[test]
    fn a_consumer_requests_the_best_preference_per_unit_of_price() {
        let p = ConsumerPolicy {
            assets: vec![0, 1],
            preferences: vec![1.0, 3.0],
            ..consumer(4.0, DemandForm::Linear)
        };
        let history = [1.0];
        let holdings = [0, 0];
        let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 1);
        let asked = |second: f64| {
            let [first] = one_resource_at(2.0, &history);
            let [other] = one_resource_at(second, &history);
            let assets = [first, other];
            let obs = Observation {
                step: 1,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            match p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1)) {
                Action::Request { asset, .. } => asset,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(asked(3.0), 1);
        assert_eq!(asked(9.0), 0);
        assert_eq!(asked(6.0), 0);
        // Just better than a tie: 3 / 5.5 ≈ 0.545 a unit of price.
        assert_eq!(asked(5.5), 1);
    }

    /// Elastic demand asks (reference / price)^elasticity of the need, at
    /// most all of it: reference 1, elasticity 1, price 2: half of 8
    /// units; price ½: all 8; price 0: all 8. Linear demand at a price
    /// above the worth asks nothing.
    #[test]
    fn elastic_demand_asks_the_reference_over_the_price_to_the_elasticity() {
        let elastic = consumer(
            8.0,
            DemandForm::Elastic {
                elasticity: 1.0,
                reference: 1.0,
            },
        );
        let history = [1.0];
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000 * SCALE, &holdings, 1);
        let decide = |p: &ConsumerPolicy, price: f64| {
            let assets = one_resource_at(price, &history);
            let obs = Observation {
                step: 1,
                assets: &assets,
                incentives: &[],
                mempool: &[],
            };
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1))
        };
        let request = |quantity| Action::Request {
            asset: 0,
            quantity,
            max_price: 10 * SCALE,
        };
        assert_eq!(decide(&elastic, 2.0), request(4 * SCALE));
        assert_eq!(decide(&elastic, 0.5), request(8 * SCALE));
        assert_eq!(decide(&elastic, 0.0), request(8 * SCALE));
        let linear = consumer(8.0, DemandForm::Linear);
        assert_eq!(decide(&linear, 12.0), Action::Hold);
        // Linear at 2 with worth 10: 0.8 of 8 units.
        assert_eq!(decide(&linear, 2.0), request(6_400_000_000));
    }

    /// A consumer never requests more than its budget share pays for at
    /// the price: half of 10 units of money at price 2 buys 2.5 units, less
    /// than the 8 · 0.8 = 6.4 its demand asks.
    #[test]
    fn a_consumer_requests_no_more_than_its_budget_share_pays_for() {
        let p = ConsumerPolicy {
            budget_share: 0.5,
            ..consumer(8.0, DemandForm::Linear)
        };
        let history = [1.0];
        let assets = one_resource_at(2.0, &history);
        let obs = Observation {
            step: 1,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0];
        let me = AgentView::new(0, 0, 10 * SCALE, &holdings, 1);
        assert_eq!(
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1)),
            Action::Request {
                asset: 0,
                quantity: 2_500_000_000,
                max_price: 10 * SCALE,
            }
        );
    }

    /// A producer makes no more than its balance pays for at its cost: 5
    /// units of money at 2 a unit, 2.5 of its 5 units; nothing without
    /// money. It declares its resource.
    #[test]
    fn a_producer_makes_no_more_than_its_balance_pays_for() {
        let p = ProducerPolicy {
            asset: 0,
            cost: 2.0,
            max_output: 5 * SCALE,
            lead_time: 2,
            margin: 0.0,
        };
        let history = [1.0];
        let assets = one_resource_at(3.0, &history);
        let obs = Observation {
            step: 1,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0];
        let decide = |balance| {
            let me = AgentView::new(0, 0, balance, &holdings, 1);
            p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1))
        };
        assert_eq!(
            decide(5 * SCALE),
            Action::Produce {
                asset: 0,
                quantity: 2_500_000_000,
                cost: 2 * SCALE,
                lead_time: 2,
            }
        );
        assert_eq!(decide(0), Action::Hold);
        assert_eq!(p.assets(), vec![0]);
    }

    /// The step's rule, as the engine decides by it (an agent's key and
    /// balance), gives each agent the request worked out by hand from the
    /// policy's definition: the need drawn from the agent's key, times
    /// `1 − P/value`, at most what half the balance pays for at `P`, a bid
    /// of the value. Prices below, at and above the value, and free;
    /// balances from nothing to past what any need costs; a schedule.
    #[test]
    fn the_request_rule_gives_each_agent_its_share_of_the_need_within_its_budget() {
        let p = ConsumerPolicy {
            need: ValueDistribution::Uniform {
                low: 0.5,
                high: 1.5,
            },
            need_schedule: vec![2.0, 0.5, 1.0],
            value: 3.0,
            budget_share: 0.5,
            ..consumer(1.0, DemandForm::Linear)
        };
        let family = crate::rng::StreamFamily::new(11, 0, 0, crate::rng::Stream::Decide);
        let balances = [0, 1, SCALE / 3, SCALE, 2 * SCALE, 1 << 63, u64::MAX];
        let history = [1.0];
        let (mut requests, mut clipped, mut holds) = (0, 0, 0);
        for step in 1..=4u64 {
            for price in [0.0, 0.75, 2.5, 3.0, 4.0] {
                let assets = one_resource_at(price, &history);
                let obs = Observation {
                    step,
                    assets: &assets,
                    incentives: &[],
                    mempool: &[],
                };
                let rule = p.request_rule(&obs);
                for id in 0..40u32 {
                    let balance = balances[id as usize % balances.len()];
                    let key = family.key(id.into());
                    let holdings = [0];
                    let me = AgentView::keyed(id, id, balance, &holdings, family);
                    // by hand: the need (its own draw, checked against the
                    // distribution's bounds), the share, the budget
                    let factor = [2.0, 0.5, 1.0][(step - 1) as usize % 3];
                    let need = p.need_at(&me, step);
                    let exact = need as f64 / SCALE as f64;
                    assert!(
                        exact >= 0.5 * factor - 1e-9 && exact < 1.5 * factor,
                        "need {exact} at step {step}"
                    );
                    let wanted = (need as f64 * (1.0 - price / 3.0).max(0.0)).floor() as u64;
                    let affordable = if price > 0.0 {
                        ((balance / 2) as f64 / price).floor() as u64
                    } else {
                        u64::MAX
                    };
                    let quantity = wanted.min(affordable);
                    let expected = if quantity == 0 {
                        Action::Hold
                    } else {
                        Action::Request {
                            asset: 0,
                            quantity,
                            max_price: 3 * SCALE,
                        }
                    };
                    let action = rule.decide(key, balance);
                    // within a base unit of the hand computation (f64
                    // roundings of the balance and the need)
                    match (action, expected) {
                        (Action::Hold, Action::Hold) => holds += 1,
                        (
                            Action::Request {
                                asset: 0,
                                quantity: q,
                                max_price,
                            },
                            Action::Request { quantity: e, .. },
                        ) => {
                            assert_eq!(max_price, 3 * SCALE);
                            assert!(q.abs_diff(e) <= 1 + e / (1 << 50), "{q} vs {e}");
                            requests += 1;
                            clipped += usize::from(affordable < wanted);
                        }
                        other => panic!("step {step}, price {price}, agent {id}: {other:?}"),
                    }
                    assert_eq!(action, p.decide(&obs, &me, &mut AgentRng::seed_from_u64(0)));
                }
            }
        }
        assert!(
            requests > 100 && clipped > 20 && holds > 40,
            "{requests} {clipped} {holds}"
        );
    }
}
