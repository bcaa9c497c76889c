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
//! example), or [`AdaptivePolicy`] for agents that keep state from step to
//! step, take several actions in a step and learn from what happened to
//! them. The built-in rule-based policies are defined, as in the
//! framework, by their probabilities of buying and selling,
//! `h_buy(P, state, π)` and `h_sell(P, state, π)`, and the fractions they
//! trade: see [`RuleBased`].

mod adaptive;
pub mod attackers;
mod builtin;
pub mod collusion;
pub mod evolution;
pub mod learners;
pub mod learning;
mod market;
mod posted;
mod resource;
mod sandwich;
mod scripted;

pub use adaptive::{Actions, Adaptive, AdaptivePolicy, Feedback, OpenOrder};
pub(crate) use adaptive::{ColumnState, Lesson, StateColumn};
pub use market::{FundamentalPolicy, MarketMakerPolicy, ZiCPolicy};
pub use posted::{QSeller, QSellerSpec, QSellerState, MAX_Q_ENTRIES};
pub use resource::{ConsumerPolicy, DemandForm, NeedRule, ProducerPolicy, RequestRule};
pub use sandwich::SandwichPolicy;
pub use scripted::{ScriptedAction, ScriptedPolicy, ScriptedTrade};

pub use builtin::{
    BuiltinPolicy, MeanReversionPolicy, MomentumPolicy, RandomPolicy, ThresholdPolicy,
    ValuationPolicy, ValueDistribution,
};

use crate::ledger::{from_whole, to_whole, AgentId};
pub use crate::market::Side;
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
    /// A limit order on a market-clearing asset: buy (sell) `amount` base
    /// units at `price` or better. On an order book it rests for `ttl` steps
    /// (the step it is placed in counts as the first) and replaces the
    /// agent's earlier orders on the asset; in a batch market it is the
    /// agent's demand (supply) schedule for the step. Rejected on a curve.
    Limit {
        /// Index of the asset.
        asset: u32,
        /// Buy or sell.
        side: Side,
        /// Limit price, base units of money per whole token.
        price: u64,
        /// Tokens, base units.
        amount: u64,
        /// Steps the order lives on an order book (at least 1).
        ttl: u32,
    },
    /// A two-sided quote (market makers): a buy at `bid` and a sell at `ask`,
    /// `amount` each, replacing the agent's earlier orders on the asset. A
    /// side with price 0 is not quoted.
    Quote {
        /// Index of the asset.
        asset: u32,
        /// Bid price, base units of money per whole token (0: no bid).
        bid: u64,
        /// Ask price, base units of money per whole token (0: no ask).
        ask: u64,
        /// Tokens on each side, base units.
        amount: u64,
        /// Steps the quote lives (at least 1).
        ttl: u32,
    },
    /// Cancel the agent's open orders on `asset`.
    Cancel {
        /// Index of the asset.
        asset: u32,
    },
    /// Request `quantity` base units of a resource this step, paying at
    /// most `max_price` base units of money per whole unit (the
    /// willingness to pay). The resource's allocation mechanism decides what
    /// the request receives. Rejected on a token.
    Request {
        /// Index of the resource.
        asset: u32,
        /// Units wanted, base units.
        quantity: u64,
        /// Most money per whole unit, base units.
        max_price: u64,
    },
    /// Produce `quantity` base units of a resource at the producer's cost;
    /// they arrive after the producer's lead time. Rejected on a token.
    Produce {
        /// Index of the resource.
        asset: u32,
        /// Units to make, base units.
        quantity: u64,
        /// Money per whole unit it costs to make, base units.
        cost: u64,
        /// Steps until the units arrive (0: this step).
        lead_time: u32,
    },
    /// Play a population game this step with the strategy the agent
    /// carries (see [`crate::games::population`]). Rejected on any other
    /// asset.
    Play {
        /// Index of the game asset.
        asset: u32,
    },
    /// Post the price at index `price` of a posted-price market's grid
    /// ([`PostedView::grid`]) for this step and the next ones until the
    /// seller posts again. Only a seller of that market (an agent of a
    /// group whose policy trades it) can post; rejected on any other asset.
    Post {
        /// Index of the asset.
        asset: u32,
        /// Index of the price in the market's grid.
        price: u32,
    },
    /// An affiliate's effort this step under the affiliate contracts of
    /// its group ([`crate::contracts`]): it pays `cost·e²` and brings in
    /// referrals at rate `λ·e`. `level` is `e` in base units (10⁹ = an
    /// effort of 1). Trades nothing; an agent of no contract's affiliate
    /// group that gives it holds.
    Effort {
        /// The effort, base units.
        level: u64,
    },
    /// Lock `amount` base units of `asset` under the asset's staking rule
    /// (the first `[[incentives]]` of kind `staking` on the asset whose
    /// groups include the agent), executed right after the decide phase,
    /// before the step's trades: the tokens leave the agent's holdings
    /// (they cannot be sold) and earn the rule's `rate` per unit per step
    /// from the next step's govern phase. An amount above the holdings is
    /// cut to them (counted as clipped); rejected on an asset without a
    /// staking rule the agent is eligible for. Trades nothing.
    Stake {
        /// Index of the asset.
        asset: u32,
        /// Tokens to stake, base units.
        amount: u64,
    },
    /// Unstake `amount` base units of `asset` staked under the asset's
    /// staking rule: they stop earning at once and return to the agent's
    /// holdings after the rule's `unbonding` steps (in the govern phase of
    /// step `t + unbonding` for an unstake at step `t`); until then they
    /// cannot be sold. An amount above the stake is cut to it (counted as
    /// clipped, except `u64::MAX`: the whole stake); rejected like
    /// [`Action::Stake`]. Trades nothing.
    Unstake {
        /// Index of the asset.
        asset: u32,
        /// Tokens to unstake, base units (`u64::MAX`: all).
        amount: u64,
    },
    /// Provide liquidity to `asset`'s automated market maker: deposit
    /// `money` base units of money and the matching tokens at the pool's
    /// ratio, `⌈money · R_t / R_m⌉`, for `⌊S · money / R_m⌋` new shares
    /// of the pool (`S` its shares; see
    /// [`crate::market::amm::liquidity`]). Cut to the balance, and to
    /// what the agent's tokens match (counted as clipped); executed at the
    /// agent's turn (also with a mempool); rejected on any other asset.
    AddLiquidity {
        /// Index of the asset.
        asset: u32,
        /// Money to deposit, base units.
        money: u64,
    },
    /// Withdraw `shares` of the agent's liquidity from `asset`'s
    /// automated market maker: `⌊R_m · s / S⌋` money and `⌊R_t · s / S⌋`
    /// tokens. Cut to its shares (`u64::MAX`: all of them, uncounted;
    /// otherwise counted as clipped); rejected on any other asset.
    RemoveLiquidity {
        /// Index of the asset.
        asset: u32,
        /// Shares to withdraw (`u64::MAX`: all).
        shares: u64,
    },
    /// A swap with an automated market maker under a slippage bound: buy
    /// with `amount` base units of money (`side` buy) or sell `amount`
    /// base units of tokens, failing unexecuted when the output at the
    /// agent's turn is below `(1 − max_slippage / 10⁹)` times its quote on
    /// the pool as it stood at the start of the step (when the agent
    /// decided). Rejected on any other asset (use `Buy` and `Sell` there).
    Swap {
        /// Index of the asset.
        asset: u32,
        /// Buy (money in) or sell (tokens in).
        side: Side,
        /// What goes in, base units of money (buy) or tokens (sell).
        amount: u64,
        /// The slippage tolerance, billionths of the quote (at most 10⁹).
        max_slippage: u32,
        /// A priority fee, base units of money, bid for an earlier place
        /// in the queue of an asset with `ordering = "mempool"` (orders
        /// execute by fee, highest first); burned when the swap executes.
        /// Ignored (never charged) on an asset without a mempool.
        priority_fee: u64,
    },
}

impl Action {
    /// The asset the action trades, if any.
    pub fn asset(&self) -> Option<usize> {
        match *self {
            // staking trades nothing (the incentive rules execute it)
            Action::Hold
            | Action::Effort { .. }
            | Action::Stake { .. }
            | Action::Unstake { .. } => None,
            Action::Buy { asset, .. }
            | Action::Sell { asset, .. }
            | Action::Limit { asset, .. }
            | Action::Quote { asset, .. }
            | Action::Request { asset, .. }
            | Action::Produce { asset, .. }
            | Action::Play { asset }
            | Action::Post { asset, .. }
            | Action::Swap { asset, .. }
            | Action::AddLiquidity { asset, .. }
            | Action::RemoveLiquidity { asset, .. }
            | Action::Cancel { asset } => Some(asset as usize),
        }
    }
}

/// A trader's private value for an asset (Gode–Sunder's "redemption value"
/// of a buyer or "cost" of a seller), which the engine uses to measure
/// allocative efficiency; other agents never see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrivateValue {
    /// The asset.
    pub asset: usize,
    /// A buyer values each token at `value`; a seller's cost is `value`.
    pub side: Side,
    /// Money units per whole token.
    pub value: f64,
    /// Tokens the trader wants to buy or has to sell over the run, base
    /// units: the realised surplus counts its trades up to these.
    pub units: u64,
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
    /// A step with no price (an equilibrium market with no equilibrium in
    /// range) is NaN.
    pub history: &'a [f64],
    /// Best bid on the order book, money units per token (order books only).
    pub best_bid: Option<f64>,
    /// Best ask on the order book, money units per token (order books only).
    pub best_ask: Option<f64>,
    /// Price of the last trade on a market-clearing asset, if any yet.
    pub last_trade: Option<f64>,
    /// A posted-price market's grid, last prices and profits (posted-price
    /// markets only).
    pub posted: Option<PostedView<'a>>,
}

/// What a posted-price market shows everyone before a step: its price
/// grid, the price each seller posted in the previous step (before the
/// first step, the prices it starts from) and the profit each earned.
#[derive(Debug, Clone, Copy)]
pub struct PostedView<'a> {
    /// The prices a seller may post, money units per unit of the good.
    pub grid: &'a [f64],
    /// The grid index each seller posted, in seller order.
    pub prices: &'a [u32],
    /// Each seller's profit in the previous step, money units (0 before
    /// the first): `(p_i − c_i) q_i`, or 0 for a sale it could not pay the
    /// cost of.
    pub profits: &'a [f64],
    /// The sellers' agents, in seller order (ascending): seller `i` is
    /// agent `sellers[i]`.
    pub sellers: &'a [AgentId],
}

impl AssetObservation<'_> {
    /// The midpoint of the best quotes when both exist, else `price`.
    pub fn mid(&self) -> f64 {
        match (self.best_bid, self.best_ask) {
            (Some(b), Some(a)) => 0.5 * (a + b),
            _ => self.price,
        }
    }
}

/// The immutable view of the world that agents decide on.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// The step being decided, from 1.
    pub step: u64,
    /// One entry per asset, in scenario order.
    pub assets: &'a [AssetObservation<'a>],
    /// The scenario's incentive rules (`[[incentives]]`), in file order:
    /// their terms, whether they still pay, and
    /// [who is eligible](crate::incentives::IncentiveInfo::eligible);
    /// empty without rules.
    pub incentives: &'a [crate::incentives::IncentiveInfo],
    /// The pending orders of the assets with `ordering = "mempool"`, in
    /// execution order: shown only to a policy that
    /// [watches the mempool](Policy::watches_mempool), in the watch phase
    /// (see [`crate::market::mempool`]); empty otherwise.
    pub mempool: &'a [crate::market::mempool::MempoolView],
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

    /// The agent's private value, for policies that have one (zero-
    /// intelligence traders): the engine measures allocative efficiency
    /// against it. The engine asks each agent when the simulation is built
    /// and again when a group's policy is set before the first step
    /// ([`Simulation::set_policy`](crate::Simulation::set_policy)), so some
    /// agents of a group may have one and others none. The default is none.
    fn private_value(&self, _me: &AgentView<'_>) -> Option<PrivateValue> {
        None
    }

    /// The agent's need for a resource at `step`, for consumers: what it
    /// consumes of what it received (from the resources [`Policy::assets`]
    /// names, in that order), and what the engine measures unmet demand,
    /// fairness and welfare against. The engine asks each agent at each
    /// step, so an agent may need nothing (`None`) while others of its
    /// group have needs. A need is met only from resources that
    /// [`Policy::assets`] names: where it names none, every need goes
    /// unmet (agents shut out of a resource, or an `assets` forgotten).
    /// The default is none.
    fn need(&self, _me: &AgentView<'_>, _step: u64) -> Option<Need> {
        None
    }

    /// The adaptive policy this one is, for the wrapper
    /// [`GroupPolicy::adaptive`] makes ([`Adaptive`]), whose agents the
    /// engine has decide on their states; `None` (the default) for every
    /// other policy.
    fn as_adaptive(&self) -> Option<&Adaptive> {
        None
    }

    /// Whether the policy watches the pending orders of mempool assets
    /// (`ordering = "mempool"`): if so, its agents are also called in the
    /// watch phase, after every swap of the step is queued and before any
    /// executes, with [`Observation::mempool`] filled ([`Policy::watch`]).
    /// The default is no.
    fn watches_mempool(&self) -> bool {
        false
    }

    /// Returns the bundles the agent places around pending orders, seeing
    /// [`Observation::mempool`] (with what agents called before it
    /// placed): a front-run just before a target and a back-run just after
    /// it (see [`crate::market::mempool`]). Called only when
    /// [`watches_mempool`](Policy::watches_mempool); the default places
    /// none.
    fn watch(
        &self,
        _obs: &Observation<'_>,
        _me: &AgentView<'_>,
        _rng: &mut AgentRng,
    ) -> Vec<crate::market::mempool::Insertion> {
        Vec::new()
    }
}

/// A consumer's need for a resource in one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Need {
    /// Units needed this step, base units.
    pub units: u64,
    /// Money value of each whole unit of need met.
    pub value: f64,
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

/// A rule-based decision with its probabilities fixed: what
/// [`RuleBased`]'s blanket [`Policy::decide`] does once it has
/// `(h_buy, h_sell)`. The engine makes one per group and step for the
/// built-in policies whose probabilities depend on the observation alone
/// ([`BuiltinPolicy::step_rule`]), so that each agent's decision is a draw
/// and a comparison; the blanket implementation decides through it too, so
/// that both give the same action from the same stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRule {
    /// The asset traded (its index).
    pub asset: usize,
    /// Probability of buying.
    pub h_buy: f64,
    /// Probability of buying or selling, `h_buy + h_sell` (added once, not
    /// at every agent's draw).
    pub h_trade: f64,
    /// Share of the balance spent on a buy.
    pub buy_fraction: f64,
    /// Share of the holdings offered on a sell.
    pub sell_fraction: f64,
}

impl StepRule {
    /// The rule of `policy` for an agent whose probabilities are
    /// `(h_buy, h_sell)`.
    #[inline]
    pub fn of<T: RuleBased + ?Sized>(policy: &T, (h_buy, h_sell): (f64, f64)) -> Self {
        StepRule {
            asset: policy.asset(),
            h_buy,
            h_trade: h_buy + h_sell,
            buy_fraction: policy.buy_fraction(),
            sell_fraction: policy.sell_fraction(),
        }
    }

    /// Draws one uniform number `u` from `rng`: buys `buy_fraction` of
    /// `balance` if `u < h_buy`, sells `sell_fraction` of the holding if
    /// `h_buy ≤ u < h_trade`, holds otherwise (and when the amount rounds
    /// down to nothing).
    #[inline]
    pub fn decide(&self, balance: u64, holdings: &[u64], rng: &mut AgentRng) -> Action {
        let u: f64 = rng.random();
        if u < self.h_buy {
            let spend = fraction_of(balance, self.buy_fraction);
            if spend > 0 {
                return Action::Buy {
                    asset: self.asset as u32,
                    spend,
                };
            }
        } else if u < self.h_trade {
            let amount = fraction_of(holdings[self.asset], self.sell_fraction);
            if amount > 0 {
                return Action::Sell {
                    asset: self.asset as u32,
                    amount,
                };
            }
        }
        Action::Hold
    }
}

impl<T: RuleBased> Policy for T {
    #[inline]
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        StepRule::of(self, self.probabilities(obs, me)).decide(me.balance, me.holdings, rng)
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
/// user's (stateless, or [adaptive](AdaptivePolicy), with per-agent state).
#[derive(Debug, Clone)]
pub enum GroupPolicy {
    /// One of the built-in policies.
    Builtin(BuiltinPolicy),
    /// A policy implemented outside the library; an [`AdaptivePolicy`] is
    /// one too, wrapped ([`GroupPolicy::adaptive`]).
    Custom(Arc<dyn Policy>),
}

impl GroupPolicy {
    /// A group policy of `policy`, an [`AdaptivePolicy`]: per-agent state,
    /// several actions per step and a learning phase.
    pub fn adaptive<P: AdaptivePolicy>(policy: P) -> Self {
        GroupPolicy::Custom(Arc::new(Adaptive::new(policy)))
    }

    /// The adaptive policy of the group, if it has one.
    pub fn as_adaptive(&self) -> Option<&Adaptive> {
        match self {
            GroupPolicy::Builtin(_) => None,
            GroupPolicy::Custom(p) => p.as_adaptive(),
        }
    }

    /// Returns this agent's action for the step (a hold for an adaptive
    /// policy, which decides on its state in the engine).
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

    /// The agent's need at `step`, where the policy has one.
    pub fn need(&self, me: &AgentView<'_>, step: u64) -> Option<Need> {
        match self {
            GroupPolicy::Builtin(p) => p.need(me, step),
            GroupPolicy::Custom(p) => p.need(me, step),
        }
    }

    /// The agent's private value, where the policy has one.
    pub fn private_value(&self, me: &AgentView<'_>) -> Option<PrivateValue> {
        match self {
            GroupPolicy::Builtin(p) => p.private_value(me),
            GroupPolicy::Custom(p) => p.private_value(me),
        }
    }

    /// Whether any of the group's agents may have a need: of the built-in
    /// policies only a consumer has them ([`BuiltinPolicy::need`]); a
    /// user's policy may have them for some agents and steps, so each of
    /// its agents is asked.
    pub(crate) fn may_need(&self) -> bool {
        match self {
            GroupPolicy::Builtin(p) => matches!(p, BuiltinPolicy::Consumer(_)),
            GroupPolicy::Custom(_) => true,
        }
    }

    /// Whether any of the group's agents may have a private value: of the
    /// built-in policies only ZI-C has them
    /// ([`BuiltinPolicy::private_value`]); each agent of a user's policy is
    /// asked.
    pub(crate) fn may_have_private_values(&self) -> bool {
        match self {
            GroupPolicy::Builtin(p) => matches!(p, BuiltinPolicy::ZiC(_)),
            GroupPolicy::Custom(_) => true,
        }
    }

    /// Whether the policy watches mempools ([`Policy::watches_mempool`]).
    pub fn watches_mempool(&self) -> bool {
        match self {
            GroupPolicy::Builtin(p) => p.watches_mempool(),
            GroupPolicy::Custom(p) => p.watches_mempool(),
        }
    }

    /// The bundles the agent places ([`Policy::watch`]).
    pub fn watch(
        &self,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
    ) -> Vec<crate::market::mempool::Insertion> {
        match self {
            GroupPolicy::Builtin(p) => p.watch(obs, me, rng),
            GroupPolicy::Custom(p) => p.watch(obs, me, rng),
        }
    }
}

#[cfg(test)]
impl<'a> AssetObservation<'a> {
    /// For tests: asset "T" at `price` after `history`, with supply 0 and
    /// no quotes, last trade or posted prices; set other fields with `..`.
    pub(crate) fn at(price: f64, history: &'a [f64]) -> Self {
        AssetObservation {
            name: "T",
            price,
            supply: 0.0,
            history,
            best_bid: None,
            best_ask: None,
            last_trade: None,
            posted: None,
        }
    }
}

/// For tests: good "G" of a posted-price market showing `view`, at a
/// price of 1 with `history`.
#[cfg(test)]
pub(crate) fn posted_asset<'a>(view: PostedView<'a>, history: &'a [f64]) -> AssetObservation<'a> {
    AssetObservation {
        name: "G",
        posted: Some(view),
        ..AssetObservation::at(1.0, history)
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
        let assets = [AssetObservation::at(1.0, &history)];
        let obs = Observation {
            step: 1,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let holdings = [1000];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let (mut buys, mut sells) = (0u64, 0u64);
        // Buys and sells are binomial counts, Binomial(n, p) with sd
        // √(n·p·(1 − p)). At n = 400,000 a 5% error in p moves the count by
        // 0.05·n·p (6,000 buys, 4,000 sells), over 15 sd (sd 290 and 253),
        // so a 4-sd bound fails it: the loop below shows that.
        let n = 400_000u64;
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
                other => panic!("a random trader never places {other:?}"),
            }
        }
        let within = |count: u64, p: f64| {
            let (mean, sd) = (n as f64 * p, (n as f64 * p * (1.0 - p)).sqrt());
            (count as f64 - mean).abs() < 4.0 * sd
        };
        assert!(within(buys, 0.3), "{buys} buys of {n}");
        assert!(within(sells, 0.2), "{sells} sells of {n}");
        for moved in [0.95, 1.05] {
            assert!(!within(buys, 0.3 * moved), "p_buy × {moved} passes too");
            assert!(!within(sells, 0.2 * moved), "p_sell × {moved} passes too");
        }
    }

    /// Every action that trades names its asset; a hold, an effort, a
    /// stake and an unstake trade nothing.
    #[test]
    fn an_action_names_the_asset_it_trades_and_staking_names_none() {
        let trading = [
            Action::Buy { asset: 3, spend: 1 },
            Action::Sell {
                asset: 3,
                amount: 1,
            },
            Action::Limit {
                asset: 3,
                side: Side::Buy,
                price: 1,
                amount: 1,
                ttl: 1,
            },
            Action::Quote {
                asset: 3,
                bid: 1,
                ask: 2,
                amount: 1,
                ttl: 1,
            },
            Action::Cancel { asset: 3 },
            Action::Request {
                asset: 3,
                quantity: 1,
                max_price: 1,
            },
            Action::Produce {
                asset: 3,
                quantity: 1,
                cost: 1,
                lead_time: 0,
            },
            Action::Play { asset: 3 },
            Action::Post { asset: 3, price: 0 },
            Action::AddLiquidity { asset: 3, money: 1 },
            Action::RemoveLiquidity {
                asset: 3,
                shares: 1,
            },
            Action::Swap {
                asset: 3,
                side: Side::Sell,
                amount: 1,
                max_slippage: 0,
                priority_fee: 0,
            },
        ];
        for a in trading {
            assert_eq!(a.asset(), Some(3), "{a:?}");
        }
        let none = [
            Action::Hold,
            Action::Effort { level: 1 },
            Action::Stake {
                asset: 3,
                amount: 1,
            },
            Action::Unstake {
                asset: 3,
                amount: 1,
            },
        ];
        for a in none {
            assert_eq!(a.asset(), None, "{a:?}");
        }
    }

    /// The mid is the midpoint of the best quotes when both exist (9 and
    /// 12: 10.5), else the asset's price (7).
    #[test]
    fn the_mid_is_the_midpoint_of_both_quotes_else_the_price() {
        let seen = |best_bid, best_ask| AssetObservation {
            best_bid,
            best_ask,
            ..AssetObservation::at(7.0, &[])
        };
        assert_eq!(seen(Some(9.0), Some(12.0)).mid(), 10.5);
        assert_eq!(seen(Some(9.0), None).mid(), 7.0);
        assert_eq!(seen(None, Some(12.0)).mid(), 7.0);
    }

    /// An agent's key is the one it was given, or its family's key of its
    /// id: the same for the same agent, another for another.
    #[test]
    fn an_agents_key_is_its_own_or_its_familys_for_its_id() {
        use crate::rng::{Stream, StreamFamily};
        let holdings = [0];
        assert_eq!(AgentView::new(4, 0, 0, &holdings, 77).key(), 77);
        let f = StreamFamily::new(3, 0, 0, Stream::Private);
        let keyed = |id| AgentView::keyed(id, 0, 0, &holdings, f).key();
        assert_eq!(keyed(4), f.key(4));
        assert_eq!(keyed(5), f.key(5));
        assert_ne!(keyed(4), keyed(5));
    }

    /// A rule-based policy of fixed probabilities on asset 1, trading a
    /// quarter of the balance and half of the holdings.
    #[derive(Debug)]
    struct Fixed(f64, f64);

    impl RuleBased for Fixed {
        fn asset(&self) -> usize {
            1
        }
        fn probabilities(&self, _: &Observation<'_>, _: &AgentView<'_>) -> (f64, f64) {
            (self.0, self.1)
        }
        fn buy_fraction(&self) -> f64 {
            0.25
        }
        fn sell_fraction(&self) -> f64 {
            0.5
        }
    }

    /// A rule-based agent buys for sure at h_buy = 1 (a quarter of 1000),
    /// sells for sure at h_sell = 1 (half of its 600 tokens of asset 1),
    /// holds at (0, 0), and holds rather than trade nothing (no balance,
    /// no tokens); it declares its asset.
    #[test]
    fn a_rule_based_agent_buys_sells_or_holds_by_its_probabilities() {
        let obs = Observation {
            step: 1,
            assets: &[],
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0, 600];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let empty = [0, 0];
        let broke = AgentView::new(0, 0, 0, &empty, 0);
        for seed in 0..50 {
            let mut rng = AgentRng::seed_from_u64(seed);
            let buy = Action::Buy {
                asset: 1,
                spend: 250,
            };
            assert_eq!(Fixed(1.0, 0.0).decide(&obs, &me, &mut rng), buy);
            let sell = Action::Sell {
                asset: 1,
                amount: 300,
            };
            assert_eq!(Fixed(0.0, 1.0).decide(&obs, &me, &mut rng), sell);
            assert_eq!(Fixed(0.0, 0.0).decide(&obs, &me, &mut rng), Action::Hold);
            assert_eq!(Fixed(1.0, 0.0).decide(&obs, &broke, &mut rng), Action::Hold);
            assert_eq!(Fixed(0.0, 1.0).decide(&obs, &broke, &mut rng), Action::Hold);
        }
        assert_eq!(Policy::assets(&Fixed(0.0, 0.0)), vec![1]);
    }

    /// A user's policy with a need, a private value, a mempool watch and
    /// assets 2 and 4.
    #[derive(Debug)]
    struct Watcher;

    impl Policy for Watcher {
        fn decide(&self, _: &Observation<'_>, me: &AgentView<'_>, _: &mut AgentRng) -> Action {
            Action::Effort {
                level: u64::from(me.id),
            }
        }
        fn assets(&self) -> Vec<usize> {
            vec![2, 4]
        }
        fn private_value(&self, me: &AgentView<'_>) -> Option<PrivateValue> {
            Some(PrivateValue {
                asset: 2,
                side: Side::Sell,
                value: 1.5,
                units: u64::from(me.member),
            })
        }
        fn need(&self, _: &AgentView<'_>, step: u64) -> Option<Need> {
            Some(Need {
                units: step,
                value: 2.5,
            })
        }
        fn watches_mempool(&self) -> bool {
            true
        }
        fn watch(
            &self,
            _: &Observation<'_>,
            me: &AgentView<'_>,
            _: &mut AgentRng,
        ) -> Vec<crate::market::mempool::Insertion> {
            vec![crate::market::mempool::Insertion {
                asset: 2,
                target: me.id,
                front_run: 9,
                priority_fee: 1,
            }]
        }
    }

    /// A group's policy passes each question to its policy: a user's
    /// answers as it does, a built-in random trader has no need, private
    /// value, watch or adaptive policy, and an adaptive one is found.
    #[test]
    fn a_group_policy_answers_as_its_policy() {
        let obs = Observation {
            step: 1,
            assets: &[],
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0; 5];
        let me = AgentView::new(6, 3, 0, &holdings, 0);
        let mut rng = AgentRng::seed_from_u64(1);
        let user = GroupPolicy::Custom(Arc::new(Watcher));
        assert_eq!(
            user.decide(&obs, &me, &mut rng),
            Action::Effort { level: 6 }
        );
        assert_eq!(user.assets(), vec![2, 4]);
        // every agent of a user's policy is asked its need and value
        assert!(user.may_need() && user.may_have_private_values());
        assert_eq!(
            user.need(&me, 8),
            Some(Need {
                units: 8,
                value: 2.5
            })
        );
        assert_eq!(user.private_value(&me).map(|v| v.units), Some(3));
        assert!(user.watches_mempool());
        assert_eq!(user.watch(&obs, &me, &mut rng)[0].target, 6);
        assert!(user.as_adaptive().is_none());
        let random = GroupPolicy::Builtin(BuiltinPolicy::Random(RandomPolicy {
            asset: 1,
            p_buy: 0.0,
            p_sell: 0.0,
            buy_fraction: 0.5,
            sell_fraction: 0.5,
        }));
        assert_eq!(random.assets(), vec![1]);
        assert_eq!(random.decide(&obs, &me, &mut rng), Action::Hold);
        assert!(random.need(&me, 8).is_none() && random.private_value(&me).is_none());
        assert!(!random.watches_mempool() && random.watch(&obs, &me, &mut rng).is_empty());
        assert!(random.as_adaptive().is_none());
        let learner = GroupPolicy::adaptive(
            crate::agents::learning::BanditPolicy::new(
                crate::agents::learning::ActionSet::new(
                    2,
                    vec![crate::agents::learning::LearnerAction::Hold],
                    1,
                )
                .unwrap(),
                crate::agents::learning::BanditAlgorithm::Ucb1,
            )
            .unwrap(),
        );
        let adaptive = learner.as_adaptive().unwrap();
        assert_eq!(adaptive.assets(), vec![2]);
        assert_eq!(learner.decide(&obs, &me, &mut rng), Action::Hold);
        // The trait's defaults for a policy that overrides none.
        assert!(Policy::assets(&Plain).is_empty());
        assert!(Plain.private_value(&me).is_none() && Plain.need(&me, 1).is_none());
        assert!(Plain.as_adaptive().is_none() && !Plain.watches_mempool());
        assert!(Plain.watch(&obs, &me, &mut rng).is_empty());
    }

    /// A policy that overrides nothing but `decide`.
    #[derive(Debug)]
    struct Plain;

    impl Policy for Plain {
        fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
            Action::Hold
        }
    }
}
