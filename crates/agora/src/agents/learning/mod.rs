//! The built-in learning policies: Q-learning, bandits and policy gradient
//! as [`AdaptivePolicy`](super::AdaptivePolicy) types that trade on any
//! market.
//!
//! The algorithms live in [`learners`](super::learners), as plain data that
//! knows nothing of markets. This module turns them into agents: each agent
//! of a group keeps its own learner (a Q-table, arm statistics, softmax
//! weights) in the engine's state column, chooses one of a discrete
//! [`ActionSet`] every step, and learns from its reward, the change of its
//! group's objective over the step ([`Feedback::reward`]).
//!
//! | kind | type | chooses by | state |
//! |---|---|---|---|
//! | `q_learning` | [`QLearningPolicy`] | ε-greedy on `Q(s, ·)` | a discretisation of what the agent sees ([`Signals`]) |
//! | `bandit` | [`BanditPolicy`] | ε-greedy, UCB1 or Thompson sampling | none (one state) |
//! | `policy_gradient` | [`PolicyGradientPolicy`] | a softmax of linear scores of [`Signals`] | the features |
//!
//! What the agent sees is computed from the price history of the asset it
//! trades and its own account ([`Signals`]). The state an update moves to is
//! the one computed from the [`Feedback`] (the prices after
//! the step, the agent's account with what its open orders lock), and the
//! next step decides in that same state: learner and market see one
//! sequence of states.
//!
//! Each policy also has the inherent methods an outer loop needs: the greedy
//! action of an agent ([`QLearningPolicy::greedy_action`] and kin), how long
//! its greedy policy has been stable (`stable_for`), and, for play with
//! exploration and learning off, a decision without exploration
//! (`decide_greedy`, drawing nothing) and a move to the state seen after a
//! step without learning from it (`observe`, in place of `learn`).

mod bandit;
mod gradient;
mod q;

pub use bandit::{BanditAlgorithm, BanditPolicy, BanditState};
pub use gradient::{PolicyGradientPolicy, PolicyGradientState};
pub use q::{QLearningPolicy, QLearningState, MAX_Q_ENTRIES};

use super::{fraction_of, Actions, AgentView, Feedback, Observation, Side};
use crate::agents::Action;
use crate::error::{Error, Result};
use crate::ledger::{to_base, to_units};

/// One entry of an [`ActionSet`]: what an agent may do in a step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LearnerAction {
    /// `"hold"`: nothing.
    Hold,
    /// `{ buy = f }`: spend the share `f ∈ (0, 1]` of the balance on a
    /// market buy (on a curve, a book, a batch market).
    Buy {
        /// Share of the balance spent.
        fraction: f64,
    },
    /// `{ sell = f }`: sell the share `f ∈ (0, 1]` of the holdings.
    Sell {
        /// Share of the holdings sold.
        fraction: f64,
    },
    /// `{ bid = x, size = q }`: a limit buy of `q` tokens at
    /// `reference · (1 + x)`, the reference being the mid of the best
    /// quotes where both exist, else the asset's price (a market-clearing
    /// asset).
    Bid {
        /// Relative offset from the reference price, `> −1`.
        offset: f64,
        /// Tokens, base units.
        size: u64,
    },
    /// `{ ask = x, size = q }`: a limit sell of `q` tokens at
    /// `reference · (1 + x)`.
    Ask {
        /// Relative offset from the reference price, `> −1`.
        offset: f64,
        /// Tokens, base units.
        size: u64,
    },
    /// `{ request = q, max_price = p }`: request `q` units of a resource,
    /// paying at most `p` per unit.
    Request {
        /// Units, base units.
        quantity: u64,
        /// Most money per whole unit, base units.
        max_price: u64,
    },
    /// `{ stake = f }`: stake the share `f ∈ (0, 1]` of the holdings
    /// under the asset's staking rule ([`Action::Stake`]).
    Stake {
        /// Share of the holdings staked.
        fraction: f64,
    },
    /// `{ unstake = f }`: unstake the share `f ∈ (0, 1]` of the stake
    /// under the asset's staking rule ([`Action::Unstake`]; `f = 1`: all
    /// of it).
    Unstake {
        /// Share of the stake unstaked.
        fraction: f64,
    },
    /// `{ effort = e }`: an affiliate's effort `e ≥ 0` under the
    /// contracts of its group ([`Action::Effort`]); it trades nothing.
    Effort {
        /// The effort, base units (10⁹ = an effort of 1).
        level: u64,
    },
}

impl LearnerAction {
    /// The action's name as a scenario writes it (the key of its table).
    pub fn name(&self) -> &'static str {
        match self {
            LearnerAction::Hold => "hold",
            LearnerAction::Buy { .. } => "buy",
            LearnerAction::Sell { .. } => "sell",
            LearnerAction::Bid { .. } => "bid",
            LearnerAction::Ask { .. } => "ask",
            LearnerAction::Request { .. } => "request",
            LearnerAction::Stake { .. } => "stake",
            LearnerAction::Unstake { .. } => "unstake",
            LearnerAction::Effort { .. } => "effort",
        }
    }
}

/// The discrete actions a learner chooses among, on one asset: action `i`
/// of a learner is entry `i` of the set.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSet {
    asset: usize,
    actions: Vec<LearnerAction>,
    ttl: u32,
}

impl ActionSet {
    /// The set `actions` on asset `asset`; limit orders live `ttl` steps
    /// (at least 1).
    ///
    /// Errors if the set is empty, holds more than 2³² actions, or an entry
    /// is out of range (a fraction outside `(0, 1]`, an offset not above
    /// −1, a size or price of zero).
    pub fn new(asset: usize, actions: Vec<LearnerAction>, ttl: u32) -> Result<Self> {
        if actions.is_empty() {
            return Err(Error::usage("a learner needs at least one action"));
        }
        if u32::try_from(actions.len()).is_err() {
            return Err(Error::usage(format!(
                "{} actions are too many",
                actions.len()
            )));
        }
        for (i, a) in actions.iter().enumerate() {
            let bad = match *a {
                LearnerAction::Hold | LearnerAction::Effort { .. } => None,
                LearnerAction::Buy { fraction }
                | LearnerAction::Sell { fraction }
                | LearnerAction::Stake { fraction }
                | LearnerAction::Unstake { fraction } => (!(fraction > 0.0 && fraction <= 1.0))
                    .then(|| format!("a fraction in (0, 1], found {fraction}")),
                LearnerAction::Bid { offset, size } | LearnerAction::Ask { offset, size } => {
                    if !(offset.is_finite() && offset > -1.0) {
                        Some(format!("an offset above -1, found {offset}"))
                    } else {
                        (size == 0).then(|| "a size of at least one base unit".to_string())
                    }
                }
                LearnerAction::Request {
                    quantity,
                    max_price,
                } => (quantity == 0 || max_price == 0)
                    .then(|| "a quantity and a max_price of at least one base unit".to_string()),
            };
            if let Some(expected) = bad {
                return Err(Error::usage(format!(
                    "action {i} ({}): expected {expected}",
                    a.name()
                )));
            }
        }
        Ok(ActionSet {
            asset,
            actions,
            ttl: ttl.max(1),
        })
    }

    /// The asset traded.
    pub fn asset(&self) -> usize {
        self.asset
    }

    /// The actions, in order.
    pub fn actions(&self) -> &[LearnerAction] {
        &self.actions
    }

    /// The number of actions.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// The steps a limit order lives.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// True when there is no action (never, for a set made by
    /// [`ActionSet::new`]).
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Pushes action `index` of the set, for this agent now, onto `out`.
    /// A buy spends `fraction_of(balance)`, a sell offers
    /// `fraction_of(holdings)`; a limit order is priced at
    /// `reference · (1 + offset)` rounded to the base unit; nothing is
    /// pushed where the amount or the price is zero or not a number (a
    /// hold).
    pub fn push(&self, index: usize, obs: &Observation<'_>, me: &AgentView<'_>, out: &mut Actions) {
        let asset = self.asset as u32;
        let Some(action) = self.actions.get(index) else {
            return;
        };
        match *action {
            LearnerAction::Hold => {}
            LearnerAction::Buy { fraction } => {
                let spend = fraction_of(me.balance, fraction);
                if spend > 0 {
                    out.push(Action::Buy { asset, spend });
                }
            }
            LearnerAction::Sell { fraction } => {
                let held = me.holdings.get(self.asset).copied().unwrap_or(0);
                let amount = fraction_of(held, fraction);
                if amount > 0 {
                    out.push(Action::Sell { asset, amount });
                }
            }
            LearnerAction::Bid { offset, size } | LearnerAction::Ask { offset, size } => {
                let side = if matches!(action, LearnerAction::Bid { .. }) {
                    Side::Buy
                } else {
                    Side::Sell
                };
                let Some(seen) = obs.assets.get(self.asset) else {
                    return;
                };
                match to_base(seen.mid() * (1.0 + offset)) {
                    Some(price) if price > 0 => out.push(Action::Limit {
                        asset,
                        side,
                        price,
                        amount: size,
                        ttl: self.ttl,
                    }),
                    _ => {}
                }
            }
            LearnerAction::Request {
                quantity,
                max_price,
            } => out.push(Action::Request {
                asset,
                quantity,
                max_price,
            }),
            LearnerAction::Stake { fraction } => {
                let held = me.holdings.get(self.asset).copied().unwrap_or(0);
                let amount = fraction_of(held, fraction);
                if amount > 0 {
                    out.push(Action::Stake { asset, amount });
                }
            }
            LearnerAction::Unstake { fraction } => {
                let staked = obs
                    .incentives
                    .iter()
                    .find(|r| {
                        r.kind == crate::scenario::IncentiveKind::Staking
                            && r.asset == asset
                            && r.eligible(me.id)
                    })
                    .map_or(0, |r| r.staked(me.id));
                let amount = fraction_of(staked, fraction);
                if amount > 0 {
                    out.push(Action::Unstake { asset, amount });
                }
            }
            LearnerAction::Effort { level } => out.push(Action::Effort { level }),
        }
    }
}

/// What a learner sees, as numbers: computed from the price history of the
/// asset it trades and from its own account.
///
/// - the last `memory` price moves, most recent first: the returns
///   `P_{t−l}/P_{t−l−1} − 1`, `l = 1 … memory`, of the prices recorded at
///   the end of the steps (0 where the history is too short or a price is
///   missing);
/// - with `trend = Some(w)`: the last price relative to the mean of the last
///   `w` prices, `P/MA_w − 1`;
/// - with `position`: the share of the agent's wealth held in the asset,
///   `h·P/(B + h·P)` (what its open orders lock included), in `[0, 1]`.
///
/// Q-learning cuts each value into `bins` equal bins: the moves and the
/// trend over `[−scale, scale]` (beyond it, the end bins), the position
/// over `[0, 1]`; policy gradient squashes them into features
/// ([`Signals::features`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    /// The asset whose prices are watched.
    pub asset: usize,
    /// Price moves remembered.
    pub memory: usize,
    /// The size of a large move (relative), `> 0`.
    pub scale: f64,
    /// The window of the moving average, at least 2, if the trend is seen.
    pub trend: Option<usize>,
    /// Whether the agent's position is seen.
    pub position: bool,
}

/// An agent's account as a learner measures its position: money and
/// tokens of the asset, free and locked together, units.
#[derive(Debug, Clone, Copy, Default)]
struct Account {
    money: f64,
    tokens: f64,
}

impl Account {
    fn of(me: &AgentView<'_>, asset: usize) -> Self {
        Account {
            money: to_units(me.balance),
            tokens: to_units(me.holdings.get(asset).copied().unwrap_or(0)),
        }
    }

    fn after(feedback: &Feedback<'_>, asset: usize) -> Self {
        let mut a = Account::of(feedback.me, asset);
        for o in feedback.open_orders {
            a.money += to_units(o.money);
            if o.asset as usize == asset {
                a.tokens += to_units(o.tokens);
            }
        }
        a
    }
}

impl Signals {
    /// The number of values: `memory`, plus one for the trend and one for
    /// the position when seen.
    pub fn len(&self) -> usize {
        self.memory + usize::from(self.trend.is_some()) + usize::from(self.position)
    }

    /// True when nothing is seen.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the values for an agent whose account is `me` now, seeing
    /// `obs`, into `out` (cleared first).
    pub fn values(&self, obs: &Observation<'_>, me: &AgentView<'_>, out: &mut Vec<f64>) {
        self.values_of(obs, Account::of(me, self.asset), out);
    }

    /// The values after a step, from its feedback (what the agent's open
    /// orders lock counts in its position).
    fn values_after(&self, feedback: &Feedback<'_>, out: &mut Vec<f64>) {
        self.values_of(feedback.obs, Account::after(feedback, self.asset), out);
    }

    fn values_of(&self, obs: &Observation<'_>, account: Account, out: &mut Vec<f64>) {
        out.clear();
        let (history, now) = match obs.assets.get(self.asset) {
            Some(a) => (a.history, a.price),
            None => (&[][..], f64::NAN),
        };
        let n = history.len();
        for l in 1..=self.memory {
            let r = if n > l {
                let (p, before) = (history[n - l], history[n - l - 1]);
                p / before - 1.0
            } else {
                0.0
            };
            out.push(if r.is_finite() { r } else { 0.0 });
        }
        if let Some(w) = self.trend {
            let window = &history[n.saturating_sub(w)..];
            let (sum, count) = window
                .iter()
                .filter(|p| p.is_finite())
                .fold((0.0, 0usize), |(s, c), p| (s + p, c + 1));
            let last = history.last().copied().unwrap_or(f64::NAN);
            let t = last / (sum / count as f64) - 1.0;
            out.push(if t.is_finite() { t } else { 0.0 });
        }
        if self.position {
            let price = match history.last() {
                Some(p) if p.is_finite() => *p,
                _ => now,
            };
            let held = account.tokens * price;
            let share = held / (account.money + held);
            out.push(if share.is_finite() {
                share.clamp(0.0, 1.0)
            } else {
                0.0
            });
        }
    }

    /// The bins a tabular learner cuts the values into: `bins` each, over
    /// `[−scale, scale]` for the moves and the trend, `[0, 1]` for the
    /// position.
    pub(crate) fn discretizer(&self, bins: usize) -> Result<crate::agents::learners::Discretizer> {
        use crate::agents::learners::{Bins, Discretizer};
        let moves = Bins {
            lo: -self.scale,
            hi: self.scale,
            count: bins,
        };
        let mut dims = vec![moves; self.memory + usize::from(self.trend.is_some())];
        if self.position {
            dims.push(Bins {
                lo: 0.0,
                hi: 1.0,
                count: bins,
            });
        }
        Discretizer::new(dims)
    }

    /// The features of a softmax policy from the values: a constant 1, then
    /// `tanh(v/scale)` for each move and the trend, then `2·share − 1` for
    /// the position: each in `[−1, 1]`.
    pub fn features(&self, values: &[f64], out: &mut Vec<f64>) {
        out.clear();
        out.push(1.0);
        let moves = self.memory + usize::from(self.trend.is_some());
        for (i, v) in values.iter().enumerate() {
            out.push(if i < moves {
                (v / self.scale).tanh()
            } else {
                2.0 * v - 1.0
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::AssetObservation;

    fn obs<'a>(history: &'a [f64], assets: &'a mut Vec<AssetObservation<'a>>) -> Observation<'a> {
        assets.push(AssetObservation {
            best_bid: Some(9.0),
            best_ask: Some(11.0),
            ..AssetObservation::at(*history.last().unwrap(), history)
        });
        Observation {
            step: history.len() as u64,
            assets,
            incentives: &[],
            mempool: &[],
        }
    }

    #[test]
    fn signals_are_the_last_moves_the_trend_and_the_position() {
        let history = [1.0, 2.0, 1.0, 1.5, 3.0];
        let mut assets = Vec::new();
        let o = obs(&history, &mut assets);
        let holdings = [2_000_000_000];
        let me = AgentView::new(0, 0, 4_000_000_000, &holdings, 0);
        let s = Signals {
            asset: 0,
            memory: 3,
            scale: 0.5,
            trend: Some(4),
            position: true,
        };
        let mut v = Vec::new();
        s.values(&o, &me, &mut v);
        // Moves: 3/1.5 − 1, 1.5/1 − 1, 1/2 − 1; trend 3 / mean(2, 1, 1.5, 3)
        // − 1; position 2·3 / (4 + 2·3).
        assert_eq!(v, vec![1.0, 0.5, -0.5, 3.0 / 1.875 - 1.0, 0.6]);
        assert_eq!(s.len(), 5);
        // Too short a history: the missing moves are 0.
        let short = [2.0];
        let mut assets = Vec::new();
        let o = obs(&short, &mut assets);
        s.values(&o, &me, &mut v);
        assert_eq!(&v[..4], &[0.0, 0.0, 0.0, 0.0]);
        let mut x = Vec::new();
        s.features(&[0.5, -0.5, 0.0, 0.0, 0.75], &mut x);
        assert_eq!(x, vec![1.0, 1f64.tanh(), (-1f64).tanh(), 0.0, 0.0, 0.5]);
        let d = s.discretizer(3).unwrap();
        assert_eq!(d.states(), 3usize.pow(5));
    }

    /// A Q-learning policy over `actions` on asset 0, its state the last
    /// price move (memory 1, scale 0.01) cut in `bins` bins; α 0.5, δ 0,
    /// always exploring.
    fn one_signal_q_policy(actions: Vec<LearnerAction>, bins: usize) -> QLearningPolicy {
        one_signal_q_policy_from(actions, bins, 0.0)
    }

    /// The same, every entry of its table starting at `q0`.
    fn one_signal_q_policy_from(
        actions: Vec<LearnerAction>,
        bins: usize,
        q0: f64,
    ) -> QLearningPolicy {
        q_policy_with(0, 1, actions, bins, q0).unwrap()
    }

    /// A Q-learning policy on `asset` choosing among `actions`, seeing
    /// the last `memory` moves in `bins` bins each (α = 0.5, no
    /// discounting, always exploring), every entry starting at `q0`.
    fn q_policy_with(
        asset: usize,
        memory: usize,
        actions: Vec<LearnerAction>,
        bins: usize,
        q0: f64,
    ) -> Result<QLearningPolicy> {
        use crate::agents::learners::{Exploration, QParams};
        let signals = Signals {
            asset,
            memory,
            scale: 0.01,
            trend: None,
            position: false,
        };
        let params = QParams {
            alpha: 0.5,
            delta: 0.0,
            exploration: Exploration::Constant(1.0),
        };
        QLearningPolicy::new(
            ActionSet::new(asset, actions, 1).unwrap(),
            signals,
            bins,
            params,
            q0,
        )
    }

    /// A policy-gradient agent's state is estimated (`state_bytes`, for
    /// the memory check of `limits`) as the state itself and 8 bytes for
    /// each of its weights, probabilities and features: 3 actions and
    /// 1 + 2 moves + the position = 4 features, 3 · 4 + 3 + 4 = 19 numbers,
    /// as many as a state that has decided holds.
    #[test]
    fn a_policy_gradient_state_is_estimated_with_its_weights_and_features() {
        use crate::agents::AdaptivePolicy;
        use rand::SeedableRng;
        let signals = Signals {
            asset: 0,
            memory: 2,
            scale: 0.01,
            trend: None,
            position: true,
        };
        let actions = vec![
            LearnerAction::Hold,
            LearnerAction::Buy { fraction: 0.5 },
            LearnerAction::Sell { fraction: 0.5 },
        ];
        let policy =
            PolicyGradientPolicy::new(ActionSet::new(0, actions, 1).unwrap(), signals, 0.1)
                .unwrap();
        let size = std::mem::size_of::<PolicyGradientState>();
        assert_eq!(policy.state_bytes(), size + 19 * 8);
        let holdings = [5];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let mut state = policy.init(&me);
        let prices = [10.0, 10.5, 10.0];
        let mut assets = Vec::new();
        let o = obs(&prices, &mut assets);
        let mut rng = crate::rng::AgentRng::seed_from_u64(3);
        policy.decide(&mut state, &o, &me, &mut rng, &mut Actions::new());
        assert_eq!(
            (state.learner.weights().len(), state.features.len()),
            (3 * 4, 4)
        );
    }

    /// A Q-learning policy built with q0 = 2.5 reports it, and every entry
    /// of an agent's table starts there; the agent's state is estimated as
    /// the state itself and its table and greedy actions: 3 states × 2
    /// actions of 8 bytes and 3 actions of 4, 60 bytes, what the state
    /// made by `init` holds.
    #[test]
    fn a_q_table_starts_at_q0_and_its_state_is_estimated_by_its_table() {
        use crate::agents::AdaptivePolicy;
        use std::mem::{size_of, size_of_val};
        let policy = one_signal_q_policy_from(
            vec![LearnerAction::Hold, LearnerAction::Buy { fraction: 0.5 }],
            3,
            2.5,
        );
        assert_eq!(policy.q0(), 2.5);
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let state = policy.init(&me);
        assert_eq!(state.learner.table(), &[2.5; 6]);
        let heap = size_of_val(state.learner.table()) + size_of_val(state.learner.policy());
        assert_eq!(heap, 3 * 2 * 8 + 3 * 4);
        assert_eq!(policy.state_bytes(), size_of::<QLearningState>() + heap);
    }

    /// A bandit agent's state is estimated as the state itself and 40
    /// bytes an arm (a count and up to four numbers), whatever the
    /// algorithm: 3 arms, 120 bytes; at least the 16 bytes an arm an
    /// ε-greedy agent's counts and means take.
    #[test]
    fn a_bandit_state_is_estimated_at_forty_bytes_an_arm() {
        use crate::agents::learners::BanditLearner;
        use crate::agents::AdaptivePolicy;
        use std::mem::size_of;
        let actions = || {
            let set = vec![
                LearnerAction::Hold,
                LearnerAction::Buy { fraction: 0.5 },
                LearnerAction::Sell { fraction: 0.5 },
            ];
            ActionSet::new(0, set, 1).unwrap()
        };
        for algorithm in [
            BanditAlgorithm::EpsilonGreedy { epsilon: 0.1 },
            BanditAlgorithm::Ucb1,
            BanditAlgorithm::Thompson { bernoulli: true },
            BanditAlgorithm::Thompson { bernoulli: false },
        ] {
            let policy = BanditPolicy::new(actions(), algorithm).unwrap();
            assert_eq!(
                policy.state_bytes(),
                size_of::<BanditState>() + 3 * 40,
                "{algorithm:?}"
            );
        }
        let policy =
            BanditPolicy::new(actions(), BanditAlgorithm::EpsilonGreedy { epsilon: 0.1 }).unwrap();
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let BanditLearner::EpsilonGreedy(b) = policy.init(&me).learner else {
            panic!("an ε-greedy learner")
        };
        let heap = (b.counts().len() + b.means().len()) * 8;
        assert!(size_of::<BanditState>() + heap <= policy.state_bytes());
    }

    /// Played greedily (the evaluation phase), a bandit agent pulls its
    /// greedy arm, whatever it pulled last, and places that arm's action:
    /// arm 1, a buy of half its balance of 1000.
    #[test]
    fn a_bandit_played_greedily_places_its_greedy_arm() {
        use crate::agents::AdaptivePolicy;
        let actions = vec![LearnerAction::Hold, LearnerAction::Buy { fraction: 0.5 }];
        let policy = BanditPolicy::new(
            ActionSet::new(0, actions, 1).unwrap(),
            BanditAlgorithm::EpsilonGreedy { epsilon: 1.0 },
        )
        .unwrap();
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let mut state = policy.init(&me);
        (state.arm, state.greedy) = (0, 1);
        let prices = [10.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&prices, &mut assets);
        let mut out = Actions::new();
        policy.decide_greedy(&mut state, &o, &me, &mut out);
        assert_eq!(state.arm, 1);
        assert_eq!(
            out.as_slice(),
            &[Action::Buy {
                asset: 0,
                spend: 500
            }]
        );
    }

    /// A policy-gradient agent has no finite set of states whose greedy
    /// actions could stay the same: it reports no stable count, `None`
    /// (a count of 0 would read as a learner that never settles).
    #[test]
    fn a_policy_gradient_agent_reports_no_stable_count() {
        use crate::agents::AdaptivePolicy;
        let signals = Signals {
            asset: 0,
            memory: 1,
            scale: 0.01,
            trend: None,
            position: false,
        };
        let actions = vec![LearnerAction::Hold, LearnerAction::Buy { fraction: 0.5 }];
        let policy =
            PolicyGradientPolicy::new(ActionSet::new(0, actions, 1).unwrap(), signals, 0.1)
                .unwrap();
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let state = policy.init(&me);
        assert_eq!(PolicyGradientPolicy::stable_for(&policy, &state), None);
        assert_eq!(AdaptivePolicy::stable_for(&policy, &state), None);
    }

    /// A Beta–Bernoulli Thompson bandit counts a positive reward as a
    /// success and any other (0, negative) as a failure: from the uniform
    /// prior Beta(1, 1), rewards 0, 0.3 and −1 on arm 0 give the posterior
    /// means 1/3, 2/4 and 2/5; arm 1 stays at 1/2.
    #[test]
    fn a_bernoulli_thompson_bandit_counts_only_a_positive_reward_as_a_success() {
        use crate::agents::learners::BanditLearner;
        use crate::agents::AdaptivePolicy;
        let actions = vec![LearnerAction::Hold, LearnerAction::Buy { fraction: 0.5 }];
        let policy = BanditPolicy::new(
            ActionSet::new(0, actions, 1).unwrap(),
            BanditAlgorithm::Thompson { bernoulli: true },
        )
        .unwrap();
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let mut state = policy.init(&me);
        let prices = [10.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&prices, &mut assets);
        for (reward, mean) in [(0.0, 1.0 / 3.0), (0.3, 0.5), (-1.0, 0.4)] {
            state.arm = 0;
            let feedback = Feedback {
                step: 1,
                fills: &[],
                open_orders: &[],
                reward,
                objective: 0.0,
                obs: &o,
                me: &me,
            };
            policy.learn(&mut state, &feedback);
            let BanditLearner::Thompson(t) = &state.learner else {
                panic!("a Thompson sampler")
            };
            assert_eq!(
                t.posterior_means(),
                vec![mean, 0.5],
                "after a reward of {reward}"
            );
        }
    }

    #[test]
    fn a_q_learner_learns_observes_and_plays_greedily() {
        use crate::agents::AdaptivePolicy;
        use rand::SeedableRng;
        let policy = one_signal_q_policy(
            vec![LearnerAction::Hold, LearnerAction::Buy { fraction: 0.5 }],
            3,
        );
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let mut state = policy.init(&me);
        // A flat market: the middle bin. ε = 1 explores.
        let flat = [10.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&flat, &mut assets);
        let mut rng = crate::rng::AgentRng::seed_from_u64(3);
        let mut out = Actions::new();
        policy.decide(&mut state, &o, &me, &mut rng, &mut out);
        assert_eq!(state.state, 1);
        let taken = state.action as usize;
        // It learns the reward of its action in the flat state, then sees
        // a rise (the top bin).
        let up = [10.0, 10.0, 10.5];
        let mut assets = Vec::new();
        let next = obs(&up, &mut assets);
        let feedback = Feedback {
            step: 1,
            fills: &[],
            open_orders: &[],
            reward: 4.0,
            objective: 1004.0,
            obs: &next,
            me: &me,
        };
        policy.learn(&mut state, &feedback);
        assert_eq!(state.learner.value(1, taken).unwrap(), 2.0, "½ · 4");
        assert_eq!(state.state, 2);
        // Observing moves the state and learns nothing.
        let table = state.learner.table().to_vec();
        let down = [10.0, 10.5, 10.0];
        let mut assets = Vec::new();
        let after = obs(&down, &mut assets);
        policy.observe(
            &mut state,
            &Feedback {
                obs: &after,
                ..feedback
            },
        );
        assert_eq!((state.state, state.learner.table()), (0, &table[..]));
        // Greedy play in the flat state takes the learned action, without
        // drawing.
        state.state = 1;
        assert_eq!(policy.greedy_action(&state), taken);
        policy.decide_greedy(&mut state, &o, &me, &mut out);
        assert_eq!(state.action as usize, taken);
        assert_eq!(policy.stable_for(&state), Some(state.learner.stable_for()));
    }

    #[test]
    fn a_saved_q_table_loads_only_into_a_policy_of_as_many_states_and_actions() {
        use crate::agents::AdaptivePolicy;
        // `actions` actions on one signal cut in `bins` bins: `bins` states.
        let policy = |actions: usize, bins: usize| {
            let set = (1..actions)
                .map(|k| LearnerAction::Buy {
                    fraction: k as f64 / actions as f64,
                })
                .chain([LearnerAction::Hold])
                .collect();
            one_signal_q_policy(set, bins)
        };
        let holdings = [0];
        let me = AgentView::new(0, 0, 1000, &holdings, 0);
        let two_by_three = policy(2, 3);
        let mut state = two_by_three.init(&me);
        state.state = 2;
        let bytes = two_by_three.save_state(&state).unwrap();
        assert_eq!(two_by_three.load_state(&bytes), Ok(state));
        // Another number of actions, of states, or both: refused.
        for (actions, bins) in [(3, 3), (2, 5), (3, 5)] {
            let other = policy(actions, bins);
            assert_eq!(
                (other.init(&me).learner.actions(), other.states()),
                (actions, bins)
            );
            assert!(
                other.load_state(&bytes).is_err(),
                "a 3 × 2 table loaded into a {bins} × {actions} policy"
            );
        }
        // The agent's own state and action past the table's: refused (the
        // next decision would index with them); the last of each loads.
        let mut state = two_by_three.init(&me);
        state.state = 2;
        state.action = 1;
        let bytes = two_by_three.save_state(&state).unwrap();
        assert!(two_by_three.load_state(&bytes).is_ok());
        for (at, action) in [(3, 1), (2, 2)] {
            state.state = at;
            state.action = action;
            let bytes = two_by_three.save_state(&state).unwrap();
            let e = two_by_three.load_state(&bytes).unwrap_err();
            assert!(e.contains("of 3 states and 2 actions"), "{e}");
        }
    }

    /// A set's limit orders live the `ttl` it was given, at least 1: 5
    /// for 5, 1 for 0 (as its bids are placed).
    #[test]
    fn an_action_set_keeps_its_ttl_at_least_one() {
        let bid = || {
            vec![LearnerAction::Bid {
                offset: 0.0,
                size: 1,
            }]
        };
        let ttls: Vec<u32> = [5, 0]
            .map(|ttl| ActionSet::new(0, bid(), ttl).unwrap().ttl())
            .to_vec();
        assert_eq!(ttls, vec![5, 1]);
    }

    #[test]
    fn actions_become_orders_on_the_asset() {
        let history = [10.0];
        let mut assets = Vec::new();
        let o = obs(&history, &mut assets);
        let holdings = [1000];
        let me = AgentView::new(0, 0, 2000, &holdings, 0);
        let set = ActionSet::new(
            0,
            vec![
                LearnerAction::Hold,
                LearnerAction::Buy { fraction: 0.25 },
                LearnerAction::Sell { fraction: 0.1 },
                LearnerAction::Bid {
                    offset: -0.1,
                    size: 7,
                },
                LearnerAction::Ask {
                    offset: 0.2,
                    size: 5,
                },
                LearnerAction::Request {
                    quantity: 3,
                    max_price: 4,
                },
            ],
            2,
        )
        .unwrap();
        let pushed = |i: usize| {
            let mut out = Actions::new();
            set.push(i, &o, &me, &mut out);
            out.as_slice().to_vec()
        };
        assert!(pushed(0).is_empty());
        assert_eq!(
            pushed(1),
            vec![Action::Buy {
                asset: 0,
                spend: 500
            }]
        );
        assert_eq!(
            pushed(2),
            vec![Action::Sell {
                asset: 0,
                amount: 100
            }]
        );
        // The mid is 10: a bid at 9, an ask at 12, per whole token.
        let limit = |side, price, amount| Action::Limit {
            asset: 0,
            side,
            price,
            amount,
            ttl: 2,
        };
        assert_eq!(pushed(3), vec![limit(Side::Buy, 9_000_000_000, 7)]);
        assert_eq!(pushed(4), vec![limit(Side::Sell, 12_000_000_000, 5)]);
        assert_eq!(
            pushed(5),
            vec![Action::Request {
                asset: 0,
                quantity: 3,
                max_price: 4
            }]
        );
        assert!(pushed(6).is_empty());
        assert!(ActionSet::new(0, vec![], 1).is_err());
        assert!(ActionSet::new(0, vec![LearnerAction::Buy { fraction: 0.0 }], 1).is_err());
        assert!(ActionSet::new(0, vec![LearnerAction::Sell { fraction: 1.5 }], 1).is_err());
        let bad = LearnerAction::Bid {
            offset: -1.0,
            size: 1,
        };
        assert!(ActionSet::new(0, vec![bad], 1).is_err());
    }

    /// Every kind of action is named as a scenario writes it (the key of
    /// its table in `actions`), and a set reports its asset, its actions in
    /// order and their number.
    #[test]
    fn each_action_is_named_as_written_and_a_set_reports_its_asset_and_actions() {
        let all = [
            (LearnerAction::Hold, "hold"),
            (LearnerAction::Buy { fraction: 0.5 }, "buy"),
            (LearnerAction::Sell { fraction: 0.5 }, "sell"),
            (
                LearnerAction::Bid {
                    offset: 0.0,
                    size: 1,
                },
                "bid",
            ),
            (
                LearnerAction::Ask {
                    offset: 0.0,
                    size: 1,
                },
                "ask",
            ),
            (
                LearnerAction::Request {
                    quantity: 1,
                    max_price: 1,
                },
                "request",
            ),
            (LearnerAction::Stake { fraction: 0.5 }, "stake"),
            (LearnerAction::Unstake { fraction: 0.5 }, "unstake"),
            (LearnerAction::Effort { level: 1 }, "effort"),
        ];
        for (a, name) in all {
            assert_eq!(a.name(), name);
        }
        let actions: Vec<LearnerAction> = all.iter().map(|(a, _)| *a).collect();
        let set = ActionSet::new(3, actions.clone(), 1).unwrap();
        assert_eq!(set.asset(), 3);
        assert_eq!(set.actions(), &actions[..]);
        assert_eq!(set.len(), 9);
        assert!(!set.is_empty());
    }

    /// An invalid entry is refused with its index and name: a request of
    /// no unit or no price, a bid of size 0 or offset NaN, a stake or an
    /// unstake of a fraction outside (0, 1]; a fraction of exactly 1 and
    /// any effort are fine.
    #[test]
    fn an_action_set_refuses_each_kind_of_invalid_entry_by_index_and_name() {
        let refused = |a: LearnerAction| {
            ActionSet::new(0, vec![LearnerAction::Hold, a], 1)
                .unwrap_err()
                .to_string()
        };
        let request = |quantity, max_price| LearnerAction::Request {
            quantity,
            max_price,
        };
        for a in [request(0, 1), request(1, 0)] {
            assert!(refused(a).contains("action 1 (request)"), "{a:?}");
        }
        let bid = LearnerAction::Bid {
            offset: 0.1,
            size: 0,
        };
        assert!(refused(bid).contains("action 1 (bid)"));
        let ask = LearnerAction::Ask {
            offset: f64::NAN,
            size: 1,
        };
        assert!(refused(ask).contains("action 1 (ask)"));
        assert!(refused(LearnerAction::Stake { fraction: 0.0 }).contains("(stake)"));
        assert!(refused(LearnerAction::Unstake { fraction: 1.01 }).contains("(unstake)"));
        for ok in [
            LearnerAction::Stake { fraction: 1.0 },
            LearnerAction::Unstake { fraction: 1.0 },
            LearnerAction::Effort { level: 0 },
            request(1, 1),
        ] {
            assert!(ActionSet::new(0, vec![ok], 1).is_ok(), "{ok:?}");
        }
    }

    /// Nothing is pushed where the amount is zero: a buy of an agent of
    /// balance 0, a sell or a stake of one of no tokens; a limit order
    /// whose price rounds to 0 base units (a mid of 10 and an offset of
    /// −1 + 10⁻¹¹: 10⁻¹⁰, a tenth of a base unit) or on an asset the agent
    /// does not see. A stake of half of 1000 tokens is 500; an effort is
    /// pushed as given.
    #[test]
    fn an_action_of_nothing_pushes_nothing_and_a_stake_and_an_effort_are_pushed_as_given() {
        let history = [10.0];
        let mut assets = Vec::new();
        let o = obs(&history, &mut assets);
        let set = |asset, a| ActionSet::new(asset, vec![a], 1).unwrap();
        let pushed = |set: &ActionSet, me: &AgentView<'_>| {
            let mut out = Actions::new();
            set.push(0, &o, me, &mut out);
            out.as_slice().to_vec()
        };
        let none = [0];
        let poor = AgentView::new(0, 0, 0, &none, 0);
        assert!(pushed(&set(0, LearnerAction::Buy { fraction: 1.0 }), &poor).is_empty());
        assert!(pushed(&set(0, LearnerAction::Sell { fraction: 1.0 }), &poor).is_empty());
        assert!(pushed(&set(0, LearnerAction::Stake { fraction: 1.0 }), &poor).is_empty());
        let held = [1000];
        let me = AgentView::new(0, 0, 1000, &held, 0);
        let tiny = LearnerAction::Bid {
            offset: -1.0 + 1e-11,
            size: 1,
        };
        assert!(pushed(&set(0, tiny), &me).is_empty());
        let bid = LearnerAction::Bid {
            offset: 0.0,
            size: 1,
        };
        assert!(pushed(&set(1, bid), &me).is_empty());
        assert_eq!(
            pushed(&set(0, LearnerAction::Stake { fraction: 0.5 }), &me),
            vec![Action::Stake {
                asset: 0,
                amount: 500
            }]
        );
        assert_eq!(
            pushed(&set(0, LearnerAction::Effort { level: 7 }), &me),
            vec![Action::Effort { level: 7 }]
        );
        // Unstaking with no staking rule in sight: nothing staked, nothing
        // pushed.
        assert!(pushed(&set(0, LearnerAction::Unstake { fraction: 1.0 }), &me).is_empty());
    }

    /// The number of values is `memory`, one more for the trend and one
    /// for the position: 2, 3, 1, 0 (nothing seen: empty) for these four.
    #[test]
    fn the_values_are_the_moves_then_one_for_the_trend_and_one_for_the_position() {
        let s = |memory, trend, position| Signals {
            asset: 0,
            memory,
            scale: 0.1,
            trend,
            position,
        };
        let cases = [
            (s(2, None, false), 2),
            (s(2, Some(3), false), 3),
            (s(0, None, true), 1),
            (s(0, None, false), 0),
        ];
        for (signals, len) in cases {
            assert_eq!(signals.len(), len, "{signals:?}");
            assert_eq!(signals.is_empty(), len == 0, "{signals:?}");
            let mut v = vec![9.0];
            let history = [1.0, 2.0, 4.0];
            let mut assets = Vec::new();
            let o = obs(&history, &mut assets);
            let held = [1];
            signals.values(&o, &AgentView::new(0, 0, 1, &held, 0), &mut v);
            assert_eq!(v.len(), len, "{signals:?}");
        }
    }

    /// The position is valued at the last recorded price, or at the
    /// asset's price now when the last recorded one is not a number: 1
    /// token and 1 unit of money, at 4 a share of 4/5; at 5 (the last
    /// recorded missing) 5/6. The trend's mean skips a missing price: the
    /// window (2, NaN, 4) has mean 3, and the last price 4 is 1/3 above it.
    #[test]
    fn the_position_falls_back_on_the_price_now_and_the_trend_skips_a_missing_price() {
        let position = Signals {
            asset: 0,
            memory: 0,
            scale: 0.1,
            trend: None,
            position: true,
        };
        let held = [1_000_000_000];
        let me = AgentView::new(0, 0, 1_000_000_000, &held, 0);
        let at = |history: &[f64], price: f64| {
            let mut assets = Vec::new();
            let mut o = obs(history, &mut assets);
            let mut seen = o.assets.to_vec();
            seen[0].price = price;
            o.assets = &seen;
            let mut v = Vec::new();
            position.values(&o, &me, &mut v);
            v
        };
        assert_eq!(at(&[2.0, 4.0], 5.0), vec![0.8]);
        assert_eq!(at(&[2.0, f64::NAN], 5.0), vec![5.0 / 6.0]);
        let trend = Signals {
            trend: Some(3),
            position: false,
            ..position
        };
        let history = [100.0, 2.0, f64::NAN, 4.0];
        let mut assets = Vec::new();
        let o = obs(&history, &mut assets);
        let mut v = Vec::new();
        trend.values(&o, &me, &mut v);
        assert_eq!(v, vec![4.0 / 3.0 - 1.0]);
    }

    /// After a step the position counts what the agent's open orders lock
    /// on the asset watched, and the money of all of them: free 1 unit of
    /// money and 1 token, a buy order locking 2 units, a sell order of 3
    /// tokens of the asset and one of 5 of another asset: tokens 1 + 3 = 4
    /// at price 2, 8, against money 1 + 2 = 3: a share of 8/11.
    #[test]
    fn the_position_after_a_step_counts_what_the_open_orders_lock() {
        use crate::agents::OpenOrder;
        let signals = Signals {
            asset: 0,
            memory: 0,
            scale: 0.1,
            trend: None,
            position: true,
        };
        let unit = 1_000_000_000;
        let held = [unit, 0];
        let me = AgentView::new(0, 0, unit, &held, 0);
        let history = [2.0];
        let mut assets = Vec::new();
        let o = obs(&history, &mut assets);
        let open = [
            OpenOrder {
                asset: 0,
                money: 2 * unit,
                tokens: 0,
            },
            OpenOrder {
                asset: 0,
                money: 0,
                tokens: 3 * unit,
            },
            OpenOrder {
                asset: 1,
                money: 0,
                tokens: 5 * unit,
            },
        ];
        let feedback = Feedback {
            step: 1,
            fills: &[],
            open_orders: &open,
            reward: 0.0,
            objective: 0.0,
            obs: &o,
            me: &me,
        };
        let mut v = Vec::new();
        signals.values_after(&feedback, &mut v);
        assert_eq!(v, vec![8.0 / 11.0]);
    }

    /// A tabular learner cuts the moves over [−scale, scale] and the
    /// position over [0, 1]: with scale 0.5 and 4 bins, a move of −0.3 is
    /// in bin ⌊(−0.3 + 0.5)/1 · 4⌋ = 0, of 0.1 in bin 2, a position of 0.8
    /// in bin 3: state 0 + 2·4 + 3·16 for (−0.3, 0.1, 0.8).
    #[test]
    fn the_bins_cover_minus_scale_to_scale_for_moves_and_zero_to_one_for_the_position() {
        use crate::agents::learners::Bins;
        let s = Signals {
            asset: 0,
            memory: 2,
            scale: 0.5,
            trend: None,
            position: true,
        };
        let d = s.discretizer(4).unwrap();
        let moves = Bins {
            lo: -0.5,
            hi: 0.5,
            count: 4,
        };
        let share = Bins {
            lo: 0.0,
            hi: 1.0,
            count: 4,
        };
        assert_eq!(d.dims(), &[moves, moves, share]);
        assert_eq!(d.state(&[-0.3, 0.1, 0.8]).unwrap(), 2 * 4 + 3 * 16);
    }

    /// A two-action policy-gradient policy on one move (scale 0.25): 3
    /// actions hold, buy half, sell half; learning rate 0.1.
    fn gradient_policy(asset: usize) -> PolicyGradientPolicy {
        let signals = Signals {
            asset,
            memory: 1,
            scale: 0.25,
            trend: None,
            position: false,
        };
        let actions = vec![
            LearnerAction::Hold,
            LearnerAction::Buy { fraction: 0.5 },
            LearnerAction::Sell { fraction: 0.5 },
        ];
        PolicyGradientPolicy::new(ActionSet::new(asset, actions, 1).unwrap(), signals, 0.1).unwrap()
    }

    /// A policy-gradient policy reports what it was built with: its
    /// actions, signals, learning rate and asset.
    #[test]
    fn a_policy_gradient_policy_reports_its_actions_signals_learning_rate_and_asset() {
        use crate::agents::AdaptivePolicy;
        let p = gradient_policy(2);
        assert_eq!(p.actions().len(), 3);
        assert_eq!(p.actions().asset(), 2);
        assert_eq!(
            p.actions().actions()[2],
            LearnerAction::Sell { fraction: 0.5 }
        );
        assert_eq!((p.signals().asset, p.signals().memory), (2, 1));
        assert_eq!(p.signals().scale, 0.25);
        assert_eq!(p.learning_rate(), 0.1);
        assert_eq!(p.assets(), vec![2]);
    }

    /// Played greedily, a policy-gradient agent takes its most probable
    /// action in the features it sees, drawing nothing. One update from
    /// θ = 0 (π = 1/3 each) of action 2 (sell) with reward 3 at the flat
    /// features x = (1, 0) moves θ_c by 0.1 · 3 · (1[c = 2] − 1/3) · x:
    /// θ_2 = (0.2, 0), θ_0 = θ_1 = (−0.1, 0): sell is the most probable.
    /// Before it has seen anything its greedy action is the first.
    #[test]
    fn a_policy_gradient_agent_played_greedily_takes_its_most_probable_action() {
        use crate::agents::AdaptivePolicy;
        use rand::SeedableRng;
        let policy = gradient_policy(0);
        let held = [1000];
        let me = AgentView::new(0, 0, 2000, &held, 0);
        let mut state = policy.init(&me);
        assert_eq!(policy.greedy_action(&state), 0);
        state.learner.update(&[1.0, 0.0], 2, 3.0).unwrap();
        let w = state.learner.weights();
        for (c, expected) in [(0, -0.1), (1, -0.1), (2, 0.2)] {
            assert!((w[2 * c] - expected).abs() < 1e-15, "θ_{c}");
        }
        let flat = [10.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&flat, &mut assets);
        let mut out = Actions::new();
        policy.decide_greedy(&mut state, &o, &me, &mut out);
        assert_eq!(state.features, vec![1.0, 0.0]);
        assert_eq!(policy.greedy_action(&state), 2);
        assert_eq!(state.action, 2);
        let sell = Action::Sell {
            asset: 0,
            amount: 500,
        };
        assert_eq!(out.as_slice(), &[sell]);
        // The evaluation phase plays the same, the generator untouched.
        state.action = 0;
        let mut rng = crate::rng::AgentRng::seed_from_u64(1);
        let before = rng.clone();
        let mut out = Actions::new();
        policy.evaluate(&mut state, &o, &me, &mut rng, &mut out);
        assert_eq!((state.action, out.as_slice()), (2, &[sell][..]));
        assert_eq!(rng, before);
    }

    /// Observing (and tracking, in the evaluation phase) moves a
    /// policy-gradient agent to the features seen after the step and
    /// learns nothing: a move of 10/8 − 1 = 0.25 at scale 0.25 is the
    /// feature tanh 1.
    #[test]
    fn a_policy_gradient_agent_observes_and_tracks_without_learning() {
        use crate::agents::AdaptivePolicy;
        let policy = gradient_policy(0);
        let held = [0];
        let me = AgentView::new(0, 0, 1000, &held, 0);
        let rise = [8.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&rise, &mut assets);
        let feedback = Feedback {
            step: 1,
            fills: &[],
            open_orders: &[],
            reward: 5.0,
            objective: 0.0,
            obs: &o,
            me: &me,
        };
        let mut state = policy.init(&me);
        state.learner.update(&[1.0, 0.5], 1, 2.0).unwrap();
        let learner = state.learner.clone();
        policy.observe(&mut state, &feedback);
        assert_eq!(state.features, vec![1.0, 1f64.tanh()]);
        assert_eq!(state.learner, learner);
        let mut tracked = policy.init(&me);
        policy.track(&mut tracked, &feedback);
        assert_eq!(tracked.features, vec![1.0, 1f64.tanh()]);
        assert_eq!(tracked.learner, policy.init(&me).learner);
    }

    /// Learning takes one REINFORCE step for the action taken in the
    /// features it was taken in, then moves to the features seen after:
    /// from θ = 0 at x = (1, 0), action 1 and reward 3 give θ_1 = (0.2, 0),
    /// θ_0 = θ_2 = (−0.1, 0), a baseline of 3, and the features (1, tanh 1)
    /// after a rise of 0.25.
    #[test]
    fn a_policy_gradient_agent_learns_its_reward_for_the_action_taken_then_moves_on() {
        use crate::agents::AdaptivePolicy;
        let policy = gradient_policy(0);
        let held = [0];
        let me = AgentView::new(0, 0, 1000, &held, 0);
        let mut state = policy.init(&me);
        (state.features, state.action) = (vec![1.0, 0.0], 1);
        let rise = [8.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&rise, &mut assets);
        let feedback = Feedback {
            step: 1,
            fills: &[],
            open_orders: &[],
            reward: 3.0,
            objective: 0.0,
            obs: &o,
            me: &me,
        };
        policy.learn(&mut state, &feedback);
        let w = state.learner.weights();
        for (c, expected) in [(0, -0.1), (1, 0.2), (2, -0.1)] {
            assert!((w[2 * c] - expected).abs() < 1e-15, "θ_{c}");
            assert_eq!(w[2 * c + 1], 0.0, "θ_{c}");
        }
        assert_eq!(state.learner.baseline(), 3.0);
        assert_eq!(state.features, vec![1.0, 1f64.tanh()]);
    }

    /// Two policy-gradient states are equal when their learners, features
    /// and actions are; a difference in any one of them makes them differ.
    #[test]
    fn policy_gradient_states_differ_in_any_of_learner_features_or_action() {
        use crate::agents::AdaptivePolicy;
        let policy = gradient_policy(0);
        let held = [0];
        let me = AgentView::new(0, 0, 1000, &held, 0);
        let mut a = policy.init(&me);
        a.features = vec![1.0, 0.0];
        let b = a.clone();
        assert_eq!(a, b);
        let mut learner = b.clone();
        learner.learner.update(&[1.0, 0.0], 0, 1.0).unwrap();
        let mut features = b.clone();
        features.features[1] = 0.5;
        let mut action = b.clone();
        action.action = 2;
        for (other, what) in [
            (learner, "learner"),
            (features, "features"),
            (action, "action"),
        ] {
            assert_ne!(a, other, "{what}");
        }
    }

    /// A saved policy-gradient state loads back as it was (one that has
    /// not decided yet, with no features, too) into a policy of as many
    /// actions and features, and is refused by a policy of other actions,
    /// other signals, or with features of another length than its own.
    #[test]
    fn a_saved_softmax_loads_only_into_a_policy_of_as_many_actions_and_features() {
        use crate::agents::AdaptivePolicy;
        let policy = gradient_policy(0);
        let held = [0];
        let me = AgentView::new(0, 0, 1000, &held, 0);
        let fresh = policy.init(&me);
        let bytes = policy.save_state(&fresh).unwrap();
        assert_eq!(policy.load_state(&bytes), Ok(fresh.clone()));
        let mut state = fresh;
        state.features = vec![1.0, 0.5];
        state.learner.update(&[1.0, 0.5], 1, 2.0).unwrap();
        state.action = 1;
        let bytes = policy.save_state(&state).unwrap();
        assert_eq!(policy.load_state(&bytes), Ok(state.clone()));
        let two = PolicyGradientPolicy::new(
            ActionSet::new(
                0,
                vec![LearnerAction::Hold, LearnerAction::Buy { fraction: 0.5 }],
                1,
            )
            .unwrap(),
            *policy.signals(),
            0.1,
        )
        .unwrap();
        assert!(two.load_state(&bytes).is_err());
        let wider = PolicyGradientPolicy::new(
            policy.actions().clone(),
            Signals {
                memory: 2,
                ..*policy.signals()
            },
            0.1,
        )
        .unwrap();
        assert!(wider.load_state(&bytes).is_err());
        state.features = vec![1.0, 0.5, 0.5];
        let odd = postcard::to_stdvec(&state).unwrap();
        assert!(policy.load_state(&odd).is_err());
        // An action past the policy's, or a feature that is no number:
        // refused.
        state.features = vec![1.0, 0.5];
        state.action = policy.actions().len() as u32;
        assert!(policy
            .load_state(&postcard::to_stdvec(&state).unwrap())
            .is_err());
        state.action = 1;
        state.features = vec![1.0, f64::NAN];
        assert!(policy
            .load_state(&postcard::to_stdvec(&state).unwrap())
            .is_err());
    }

    /// A bandit policy over `actions` (hold, buy half) with `algorithm`.
    fn bandit_policy(asset: usize, algorithm: BanditAlgorithm) -> BanditPolicy {
        let actions = vec![LearnerAction::Hold, LearnerAction::Buy { fraction: 0.5 }];
        BanditPolicy::new(ActionSet::new(asset, actions, 1).unwrap(), algorithm).unwrap()
    }

    /// A bandit policy reports its actions, algorithm and asset.
    #[test]
    fn a_bandit_policy_reports_its_actions_algorithm_and_asset() {
        use crate::agents::AdaptivePolicy;
        let algorithm = BanditAlgorithm::EpsilonGreedy { epsilon: 0.25 };
        let p = bandit_policy(2, algorithm);
        assert_eq!(p.algorithm(), algorithm);
        assert_eq!(p.actions().asset(), 2);
        assert_eq!(p.actions().len(), 2);
        assert_eq!(p.assets(), vec![2]);
        let ucb = bandit_policy(0, BanditAlgorithm::Ucb1);
        assert_eq!(ucb.algorithm(), BanditAlgorithm::Ucb1);
    }

    /// A bandit agent counts the updates that left its greedy arm (the
    /// highest sample mean) the same: rewards 1 and 1 on arm 0 keep arm 0
    /// greedy (1, then 2 updates), 5 on arm 1 makes arm 1 greedy (0); a
    /// non-finite reward teaches nothing and counts nothing.
    #[test]
    fn a_bandit_counts_the_updates_that_kept_its_greedy_arm() {
        use crate::agents::AdaptivePolicy;
        let policy = bandit_policy(0, BanditAlgorithm::EpsilonGreedy { epsilon: 0.1 });
        let held = [0];
        let me = AgentView::new(0, 0, 1000, &held, 0);
        let mut state = policy.init(&me);
        let flat = [10.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&flat, &mut assets);
        let step = |state: &mut BanditState, arm: u32, reward: f64| {
            state.arm = arm;
            let feedback = Feedback {
                step: 1,
                fills: &[],
                open_orders: &[],
                reward,
                objective: 0.0,
                obs: &o,
                me: &me,
            };
            policy.learn(state, &feedback);
            (
                policy.greedy_action(state),
                BanditPolicy::stable_for(&policy, state),
                AdaptivePolicy::stable_for(&policy, state),
            )
        };
        assert_eq!(step(&mut state, 0, 1.0), (0, Some(1), Some(1)));
        assert_eq!(step(&mut state, 0, 1.0), (0, Some(2), Some(2)));
        assert_eq!(step(&mut state, 0, f64::NAN), (0, Some(2), Some(2)));
        assert_eq!(step(&mut state, 1, 5.0), (1, Some(0), Some(0)));
        assert_eq!(state.greedy, 1);
    }

    /// UCB1 tries its arms in order before anything else, drawing
    /// nothing: a fresh agent pulls arm 0 (hold: nothing placed), then,
    /// arm 0 learned, arm 1 (a buy of half its balance of 1000).
    #[test]
    fn a_ucb1_bandit_agent_pulls_its_untried_arms_in_order() {
        use crate::agents::AdaptivePolicy;
        use rand::SeedableRng;
        let policy = bandit_policy(0, BanditAlgorithm::Ucb1);
        let held = [0];
        let me = AgentView::new(0, 0, 1000, &held, 0);
        let mut state = policy.init(&me);
        state.arm = 1;
        let flat = [10.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&flat, &mut assets);
        let mut rng = crate::rng::AgentRng::seed_from_u64(2);
        let mut out = Actions::new();
        policy.decide(&mut state, &o, &me, &mut rng, &mut out);
        assert_eq!(state.arm, 0);
        assert!(out.as_slice().is_empty());
        let feedback = Feedback {
            step: 1,
            fills: &[],
            open_orders: &[],
            reward: 1.0,
            objective: 0.0,
            obs: &o,
            me: &me,
        };
        policy.learn(&mut state, &feedback);
        let mut out = Actions::new();
        policy.decide(&mut state, &o, &me, &mut rng, &mut out);
        assert_eq!(state.arm, 1);
        assert_eq!(
            out.as_slice(),
            &[Action::Buy {
                asset: 0,
                spend: 500
            }]
        );
    }

    /// In the evaluation phase a bandit agent pulls its greedy arm whatever
    /// it pulled last, drawing nothing, and tracking changes nothing.
    #[test]
    fn a_bandit_agent_evaluated_pulls_its_greedy_arm_and_tracks_nothing() {
        use crate::agents::AdaptivePolicy;
        use rand::SeedableRng;
        let policy = bandit_policy(0, BanditAlgorithm::EpsilonGreedy { epsilon: 1.0 });
        let held = [0];
        let me = AgentView::new(0, 0, 1000, &held, 0);
        let mut state = policy.init(&me);
        (state.arm, state.greedy) = (0, 1);
        let flat = [10.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&flat, &mut assets);
        let mut rng = crate::rng::AgentRng::seed_from_u64(4);
        let before = rng.clone();
        let mut out = Actions::new();
        policy.evaluate(&mut state, &o, &me, &mut rng, &mut out);
        assert_eq!(state.arm, 1);
        assert_eq!(
            out.as_slice(),
            &[Action::Buy {
                asset: 0,
                spend: 500
            }]
        );
        assert_eq!(rng, before);
        let kept = state.clone();
        let feedback = Feedback {
            step: 1,
            fills: &[],
            open_orders: &[],
            reward: 1.0,
            objective: 0.0,
            obs: &o,
            me: &me,
        };
        policy.track(&mut state, &feedback);
        assert_eq!(state, kept);
    }

    /// A saved bandit loads back as it was into a policy of as many arms
    /// and the same algorithm; one of another algorithm (same arms) or of
    /// more arms (same algorithm) refuses it.
    #[test]
    fn a_saved_bandit_loads_only_into_a_policy_of_its_algorithm_and_arms() {
        use crate::agents::AdaptivePolicy;
        let policy = bandit_policy(0, BanditAlgorithm::Ucb1);
        let held = [0];
        let me = AgentView::new(0, 0, 1000, &held, 0);
        let mut state = policy.init(&me);
        state.arm = 1;
        let feedback_obs = [10.0, 10.0];
        let mut assets = Vec::new();
        let o = obs(&feedback_obs, &mut assets);
        let feedback = Feedback {
            step: 1,
            fills: &[],
            open_orders: &[],
            reward: 2.0,
            objective: 0.0,
            obs: &o,
            me: &me,
        };
        policy.learn(&mut state, &feedback);
        let bytes = policy.save_state(&state).unwrap();
        assert_eq!(policy.load_state(&bytes), Ok(state));
        let other = bandit_policy(0, BanditAlgorithm::EpsilonGreedy { epsilon: 0.1 });
        assert!(other.load_state(&bytes).is_err());
        let three = BanditPolicy::new(
            ActionSet::new(
                0,
                vec![
                    LearnerAction::Hold,
                    LearnerAction::Buy { fraction: 0.5 },
                    LearnerAction::Sell { fraction: 0.5 },
                ],
                1,
            )
            .unwrap(),
            BanditAlgorithm::Ucb1,
        )
        .unwrap();
        assert!(three.load_state(&bytes).is_err());
        // The arm pulled or the greedy arm past the two: refused; the last
        // of each loads.
        let mut state: BanditState = postcard::from_bytes(&bytes).unwrap();
        for (arm, greedy, fits) in [(1, 1, true), (2, 1, false), (1, 2, false)] {
            state.arm = arm;
            state.greedy = greedy;
            let bytes = policy.save_state(&state).unwrap();
            assert_eq!(
                policy.load_state(&bytes).is_ok(),
                fits,
                "arm {arm}, greedy {greedy}"
            );
        }
    }

    /// A Q-learning policy reports its actions, signals, bins, parameters
    /// and asset: 2 actions, one move cut in 3 bins, α 0.5.
    #[test]
    fn a_q_learning_policy_reports_its_actions_signals_bins_and_parameters() {
        use crate::agents::AdaptivePolicy;
        let policy = one_signal_q_policy(
            vec![LearnerAction::Hold, LearnerAction::Buy { fraction: 0.5 }],
            3,
        );
        assert_eq!(policy.actions().len(), 2);
        assert_eq!(policy.signals().scale, 0.01);
        assert_eq!(policy.bins(), 3);
        assert_eq!(policy.params().alpha, 0.5);
        assert_eq!(policy.assets(), vec![0]);
        // Nothing seen: one state, and bins reported as 1.
        let blind = QLearningPolicy::new(
            policy.actions().clone(),
            Signals {
                memory: 0,
                ..*policy.signals()
            },
            3,
            *policy.params(),
            0.0,
        )
        .unwrap();
        assert_eq!((blind.states(), blind.bins()), (1, 1));
    }

    /// [`q_policy_with`] a hold and a buy of half, from 0.
    fn q_policy(asset: usize, memory: usize, bins: usize) -> Result<QLearningPolicy> {
        let actions = vec![LearnerAction::Hold, LearnerAction::Buy { fraction: 0.5 }];
        q_policy_with(asset, memory, actions, bins, 0.0)
    }

    /// A Q-table of more than 2²⁴ entries is refused: 2 actions over
    /// 2¹² bins of two moves is 2²⁵; 2¹¹ bins, 2²³, is built.
    #[test]
    fn a_q_table_of_more_than_the_most_entries_is_refused() {
        assert!(q_policy(0, 2, 1 << 12).is_err());
        assert_eq!(q_policy(0, 2, 1 << 11).unwrap().states(), 1 << 22);
        assert_eq!(MAX_Q_ENTRIES, 1 << 24);
    }

    /// A Q-learner trades only the asset of its actions, whatever its
    /// index.
    #[test]
    fn a_q_learner_trades_the_asset_of_its_actions() {
        for asset in [0, 2] {
            let q = q_policy(asset, 1, 2).unwrap();
            assert_eq!(crate::agents::AdaptivePolicy::assets(&q), vec![asset]);
        }
    }
}
