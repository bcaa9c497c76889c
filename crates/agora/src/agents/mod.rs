//! Agents: what they see, what they decide, and the built-in policies.
//!
//! An agent's state is its account in the [`Ledger`](crate::ledger::Ledger)
//! (balance and holdings); its *policy* is shared by its group. Once a step,
//! every agent reads an immutable [`Observation`] of the world and its own
//! [`AgentView`], draws from its own seeded [`AgentRng`], and returns one
//! [`Action`]. Deciding is pure, so agents decide in parallel; the engine then
//! executes the actions in a seeded random order.
//!
//! Implement [`Policy`] to bring your own behaviour (see the `custom_policy`
//! example). The built-in rule-based policies are defined, as in the
//! framework, by their probabilities of buying and selling,
//! `h_buy(P, state, π)` and `h_sell(P, state, π)`, and the fractions they
//! trade: see [`RuleBased`].

mod builtin;

pub use builtin::{
    BuiltinPolicy, MeanReversionPolicy, MomentumPolicy, RandomPolicy, ThresholdPolicy,
    ValuationPolicy, ValueDistribution,
};

use crate::ledger::{from_whole, to_whole, AgentId};
pub use crate::rng::AgentRng;
use crate::rng::StreamFamily;
use rand::RngExt;
use std::fmt;
use std::sync::Arc;

/// What an agent asks the market to do this step.
///
/// Amounts are in base units ([`SCALE`](crate::ledger::SCALE) to a unit). An
/// action the agent cannot pay for is clipped to what it can (counted as
/// clipped) or rejected (counted as rejected); it never fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Action {
    /// Do nothing.
    #[default]
    Hold,
    /// Spend up to `spend` base units of money buying `asset` (the index of
    /// the asset in the scenario).
    Buy {
        /// Index of the asset.
        asset: u32,
        /// Most money to spend, fees included, base units.
        spend: u64,
    },
    /// Sell `amount` base units of `asset`.
    Sell {
        /// Index of the asset.
        asset: u32,
        /// Tokens to sell, base units.
        amount: u64,
    },
}

/// What every agent can see of one asset at the start of a step.
#[derive(Debug, Clone, Copy)]
pub struct AssetObservation<'a> {
    /// The asset's name.
    pub name: &'a str,
    /// Spot price now (after this step's external events).
    pub price: f64,
    /// Supply now, token units.
    pub supply: f64,
    /// Prices recorded at the end of steps `0, 1, …, t−1` (step 0 is the
    /// initial state); the last entry is the previous step's closing price.
    pub history: &'a [f64],
}

/// The immutable view of the world that agents decide on.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The step being decided, from 1.
    pub step: u64,
    /// One entry per asset, in scenario order.
    pub assets: &'a [AssetObservation<'a>],
}

/// One agent's own state, as it decides.
#[derive(Debug, Clone, Copy)]
pub struct AgentView<'a> {
    /// The agent's id (its index in the simulation).
    pub id: AgentId,
    /// Its index within its group, from 0.
    pub member: u32,
    /// Its balance, base units of money.
    pub balance: u64,
    /// Its holdings of each asset, base units.
    pub holdings: &'a [u64],
    key: Key,
}

/// Where an agent's private key comes from: computed on demand, since most
/// policies never ask for it.
#[derive(Debug, Clone, Copy)]
enum Key {
    Fixed(u64),
    Family(StreamFamily),
}

impl<'a> AgentView<'a> {
    /// A view of an agent with the given state and private key (for tests
    /// and for driving a policy outside a simulation).
    pub fn new(id: AgentId, member: u32, balance: u64, holdings: &'a [u64], key: u64) -> Self {
        AgentView {
            id,
            member,
            balance,
            holdings,
            key: Key::Fixed(key),
        }
    }

    /// A view whose key is member `id` of `family`.
    pub(crate) fn keyed(
        id: AgentId,
        member: u32,
        balance: u64,
        holdings: &'a [u64],
        family: StreamFamily,
    ) -> Self {
        AgentView {
            id,
            member,
            balance,
            holdings,
            key: Key::Family(family),
        }
    }

    /// A random key fixed for this agent over the whole run, for drawing
    /// private characteristics (a valuation, a taste) that must not change
    /// from step to step. Different for every agent, run and seed.
    #[inline]
    pub fn key(&self) -> u64 {
        match self.key {
            Key::Fixed(k) => k,
            Key::Family(f) => f.key(u64::from(self.id)),
        }
    }
}

/// A decision policy, shared by all agents of a group.
///
/// `decide` must be a pure function of its arguments (it runs in parallel,
/// in any order): all randomness comes from `rng`, which is seeded for this
/// agent and step; fixed private traits come from [`AgentView::key`].
pub trait Policy: Send + Sync + fmt::Debug {
    /// Returns this agent's action for the step.
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action;

    /// Returns the indices of the assets this policy trades, so that a
    /// scenario can be checked before it runs. The default is "none declared".
    fn assets(&self) -> Vec<usize> {
        Vec::new()
    }
}

/// A rule-based policy, defined by its probabilities of buying and selling
/// and the fractions it trades.
///
/// The blanket [`Policy`] implementation draws one uniform number `u`: the
/// agent buys if `u < h_buy`, sells if `h_buy ≤ u < h_buy + h_sell`, holds
/// otherwise. A buy spends `buy_fraction` of the balance, a sell offers
/// `sell_fraction` of the holdings (both rounded down to base units).
pub trait RuleBased: Send + Sync + fmt::Debug {
    /// The asset traded (its index).
    fn asset(&self) -> usize;
    /// Returns `(h_buy, h_sell)` for this agent now, with `h_buy + h_sell ≤ 1`.
    fn probabilities(&self, obs: &Observation<'_>, me: &AgentView<'_>) -> (f64, f64);
    /// Share of the balance spent on a buy, in `[0, 1]`.
    fn buy_fraction(&self) -> f64;
    /// Share of the holdings offered on a sell, in `[0, 1]`.
    fn sell_fraction(&self) -> f64;
}

impl<T: RuleBased> Policy for T {
    #[inline]
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        let (h_buy, h_sell) = self.probabilities(obs, me);
        let u: f64 = rng.random();
        let asset = self.asset();
        if u < h_buy {
            let spend = fraction_of(me.balance, self.buy_fraction());
            if spend > 0 {
                return Action::Buy {
                    asset: asset as u32,
                    spend,
                };
            }
        } else if u < h_buy + h_sell {
            let amount = fraction_of(me.holdings[asset], self.sell_fraction());
            if amount > 0 {
                return Action::Sell {
                    asset: asset as u32,
                    amount,
                };
            }
        }
        Action::Hold
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset()]
    }
}

/// Returns `floor(amount · fraction)` in base units, for `fraction` in
/// `[0, 1]`: the product taken in f64 (so that 0.3 of 10 is 3, not the 2
/// that the exact binary value 0.29999… would give), never more than
/// `amount`, all of it for a fraction of 1 or more (exactly, even above
/// 2^53, where f64 rounds), nothing for NaN or a fraction ≤ 0.
#[inline]
pub fn fraction_of(amount: u64, fraction: f64) -> u64 {
    if fraction >= 1.0 {
        return amount;
    }
    // `as` truncates toward zero and saturates (NaN gives 0): a floor for
    // non-negative values, without a libm call.
    let x = from_whole(amount) * fraction;
    if x > 0.0 {
        to_whole(x).min(amount)
    } else {
        0
    }
}

/// A group's policy: a built-in one (dispatched without a virtual call) or a
/// user's.
#[derive(Debug, Clone)]
pub enum GroupPolicy {
    /// One of the built-in policies.
    Builtin(BuiltinPolicy),
    /// A policy implemented outside the library.
    Custom(Arc<dyn Policy>),
}

impl GroupPolicy {
    /// Returns this agent's action for the step.
    #[inline]
    pub fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        match self {
            GroupPolicy::Builtin(p) => p.decide(obs, me, rng),
            GroupPolicy::Custom(p) => p.decide(obs, me, rng),
        }
    }

    /// Returns the assets the policy trades, where it declares them.
    pub fn assets(&self) -> Vec<usize> {
        match self {
            GroupPolicy::Builtin(p) => p.assets(),
            GroupPolicy::Custom(p) => p.assets(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn fraction_of_rounds_down_and_never_exceeds() {
        assert_eq!(fraction_of(1000, 0.1), 100);
        assert_eq!(fraction_of(9, 0.1), 0);
        assert_eq!(fraction_of(u64::MAX, 1.0), u64::MAX);
        assert_eq!(fraction_of(5, 0.0), 0);
    }

    #[test]
    fn random_policy_buys_and_sells_at_its_rates() {
        let p = RandomPolicy {
            asset: 0,
            p_buy: 0.3,
            p_sell: 0.2,
            buy_fraction: 0.5,
            sell_fraction: 0.5,
        };
        let history = [1.0];
        let assets = [AssetObservation {
            name: "T",
            price: 1.0,
            supply: 0.0,
            history: &history,
        }];
        let obs = Observation {
            step: 1,
            assets: &assets,
        };
        let holdings = [1000];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let (mut buys, mut sells) = (0, 0);
        let n = 20_000;
        for i in 0..n {
            let mut rng = AgentRng::seed_from_u64(i);
            match p.decide(&obs, &me, &mut rng) {
                Action::Buy { spend, .. } => {
                    assert_eq!(spend, 500);
                    buys += 1
                }
                Action::Sell { amount, .. } => {
                    assert_eq!(amount, 500);
                    sells += 1
                }
                Action::Hold => {}
            }
        }
        // binomial sd: sqrt(n p (1-p)) ≈ 65 and 57; allow 5 sd
        assert!((buys as f64 - 0.3 * n as f64).abs() < 5.0 * 65.0, "{buys}");
        assert!(
            (sells as f64 - 0.2 * n as f64).abs() < 5.0 * 57.0,
            "{sells}"
        );
    }
}
