//! Sellers of a posted-price market that learn their prices: the
//! Q-learning seller of Calvano, Calzolari, Denicolò and Pastorello
//! (*AER* 2020), as an [`AdaptivePolicy`].
//!
//! Each seller is a tabular [`QLearner`] whose actions are the market's
//! price grid and whose state is the prices every seller posted in the
//! last `memory = k` steps ([`ActionMemory`]: `m^(n·k)` states for `n`
//! sellers and `m` prices). Each step it
//!
//! 1. **decides**: reads the profile the sellers posted in the previous
//!    step from the market's [`PostedView`], moves its memory state to
//!    include it, and posts a grid index ε-greedily (greedily in the
//!    evaluation phase, [`AdaptivePolicy::evaluate`]);
//! 2. **learns** from the step's outcome: the profile actually played (its
//!    own price included, in case it was forced) and its profit, from the
//!    next observation's view, update `Q(s, a)` toward
//!    `π + δ max_a' Q(s', a')`.
//!
//! Its reward is its profit `(p_i − c_i) q_i` as the market shows it
//! ([`PostedView::profits`]), not the change of its objective. Its
//! convergence ([`AdaptivePolicy::stable_for`]) is the learner's count of
//! consecutive updates that changed no state's greedy price.
//!
//! The memory state moves in `decide`, from the observation, so that it
//! follows the market in the evaluation phase too, where nothing is
//! learned.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::learners::{ActionMemory, EpsilonMemo, InitialQ, QLearner, QParams};
use super::PostedView;
use super::{Action, Actions, AdaptivePolicy, AgentRng, AgentView, Feedback, Observation};
use crate::error::{Error, Result};
use crate::market::posted_market::PostedSetup;

/// The most entries of one seller's Q-table (16,777,216: 128 MB).
pub const MAX_Q_ENTRIES: usize = 1 << 24;

/// A Q-learning seller's parameters, as a scenario gives them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QSellerSpec {
    /// Index of the posted-price asset it sells.
    pub asset: usize,
    /// Learning rate, discount and exploration.
    pub params: QParams,
    /// Steps of price profiles the state remembers (`k`).
    pub memory: usize,
    /// How its Q-table starts.
    pub q0: InitialQ,
}

/// A group of Q-learning sellers of one posted-price market. Agent
/// `member` of the group is seller `first + member` of the market.
#[derive(Debug)]
pub struct QSeller {
    spec: QSellerSpec,
    setup: Arc<PostedSetup>,
    memory: ActionMemory,
    first: usize,
    /// The row of Q-values every state of each of the group's sellers
    /// starts with (its table is built at `init`, checked here: a
    /// policy keeps no table of its own).
    start: Vec<Vec<f64>>,
}

/// One Q-learning seller's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QSellerState {
    /// The Q-table, its greedy prices and its convergence counter.
    pub learner: QLearner,
    /// The memory state of the current decision (none before the first).
    pub state: Option<usize>,
}

impl QSeller {
    /// The sellers `first .. first + count` of the market of `setup`, each
    /// learning with `spec`.
    ///
    /// Errors (a usage error naming the parameter) if a parameter is out of
    /// range, the sellers are not the market's, the memory makes more states
    /// than can be counted or a Q-table of more than [`MAX_Q_ENTRIES`]
    /// entries, or an initial Q value is not finite.
    pub fn new(
        spec: QSellerSpec,
        setup: Arc<PostedSetup>,
        first: usize,
        count: usize,
    ) -> Result<Self> {
        spec.params.validate()?;
        let n = setup.sellers().len();
        let m = setup.grid().len();
        if first.checked_add(count).is_none_or(|end| end > n) {
            return Err(Error::usage(format!(
                "sellers {first} to {} of a market of {n}",
                first + count
            )));
        }
        let memory = ActionMemory::new(n, m, spec.memory)?;
        let entries = memory
            .states()
            .checked_mul(m)
            .filter(|&e| e <= MAX_Q_ENTRIES);
        if entries.is_none() {
            return Err(Error::usage(format!(
                "`memory` = {} with {n} sellers and {m} prices makes {m}^{} states: a Q-table \
                 of more than the {MAX_Q_ENTRIES} entries a seller may have",
                spec.memory,
                n * spec.memory
            )));
        }
        let start = (first..first + count)
            .map(|i| {
                let row = spec.q0.row(m, n, i, spec.params.delta, |profile| {
                    let k = profile.iter().rev().fold(0, |k, &d| k * m + d);
                    setup.profit(k, i)
                })?;
                // the parameters and the row, checked on a table of one
                // state; the table's size is checked above
                QLearner::new(spec.params, 1, &row)?;
                Ok(row)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(QSeller {
            spec,
            setup,
            memory,
            first,
            start,
        })
    }

    /// The parameters.
    pub fn spec(&self) -> &QSellerSpec {
        &self.spec
    }

    /// The market's view in `obs`, if the observation has it.
    #[inline]
    fn view<'a>(&self, obs: &Observation<'a>) -> Option<PostedView<'a>> {
        obs.assets.get(self.spec.asset).and_then(|a| a.posted)
    }

    /// The memory state after `prev` once the profile of `view` is added
    /// (at the first decision, every remembered step is that profile).
    #[inline]
    fn next_state(&self, prev: Option<usize>, view: &PostedView<'_>) -> usize {
        let profile = self.setup.profile_of(view.prices);
        // In range by construction: the view's prices are grid indices of
        // the market's sellers.
        match prev {
            Some(s) => self.memory.push_in_range(s, profile),
            None => (0..self.spec.memory).fold(0, |s, _| self.memory.push_in_range(s, profile)),
        }
    }

    fn post(
        &self,
        state: &mut QSellerState,
        obs: &Observation<'_>,
        rng: Option<&mut AgentRng>,
        out: &mut Actions,
    ) {
        let Some(view) = self.view(obs) else {
            return;
        };
        if let Some(price) = self.post_on(state, &view, rng, &mut EpsilonMemo::default()) {
            out.push(Action::Post {
                asset: self.spec.asset as u32,
                price,
            });
        }
    }

    /// The decision on the market's `view` (the last profile): moves the
    /// memory state and returns the grid index to post, ε-greedily with
    /// `rng` (its `ε_t` from `memo` where a seller before it had the same
    /// `t`), greedily without. The decide phase's and the posted-price
    /// session's (`engine::posted`) one decision.
    #[inline]
    pub(crate) fn post_on(
        &self,
        state: &mut QSellerState,
        view: &PostedView<'_>,
        rng: Option<&mut AgentRng>,
        memo: &mut EpsilonMemo,
    ) -> Option<u32> {
        let s = self.next_state(state.state, view);
        state.state = Some(s);
        let price = match rng {
            Some(rng) => state.learner.act_in_range(s, rng, memo),
            None => state.learner.greedy(s).ok()?,
        };
        Some(price as u32)
    }

    /// Learns from the step the market's `view` shows (the profile played
    /// and its profits), as group member `member`. The learn phase's and
    /// the posted-price session's one update.
    #[inline]
    pub(crate) fn learn_on(&self, state: &mut QSellerState, member: u32, view: &PostedView<'_>) {
        let Some(s) = state.state else {
            return;
        };
        let i = self.first + member as usize;
        let (Some(&played), Some(&reward)) = (view.prices.get(i), view.profits.get(i)) else {
            return;
        };
        let next = self.next_state(Some(s), view);
        // In range by construction (the grid's indices, the memory's
        // states); a non-finite profit cannot occur (and would teach
        // nothing).
        state
            .learner
            .learn_in_range(s, played as usize, reward, next);
    }
}

impl AdaptivePolicy for QSeller {
    type State = QSellerState;

    /// A seller's Q-table: 8 bytes an entry and 4 a state (its greedy
    /// action). Three sellers over 60 prices remembering one step hold
    /// 60³ × 60 entries each: 104 MB an agent.
    fn state_bytes(&self) -> usize {
        let table = QLearner::table_bytes(self.memory.states(), self.setup.grid().len());
        std::mem::size_of::<QSellerState>().saturating_add(table)
    }

    fn init(&self, me: &AgentView<'_>) -> QSellerState {
        // One learner per member of the group (`new`); a policy given to a
        // larger group starts the extra agents as its last seller.
        let k = (me.member as usize).min(self.start.len().saturating_sub(1));
        let learner = QLearner::new(self.spec.params, self.memory.states(), &self.start[k])
            // checked in `new` but for the allocation, which the run's
            // memory estimate (`state_bytes`) has weighed before it starts
            .unwrap_or_else(|e| panic!("a Q-seller's table, checked at set-up: {e}"));
        QSellerState {
            learner,
            state: None,
        }
    }

    fn decide(
        &self,
        state: &mut QSellerState,
        obs: &Observation<'_>,
        _me: &AgentView<'_>,
        rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        self.post(state, obs, Some(rng), out);
    }

    fn evaluate(
        &self,
        state: &mut QSellerState,
        obs: &Observation<'_>,
        _me: &AgentView<'_>,
        _rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        self.post(state, obs, None, out);
    }

    fn learn(&self, state: &mut QSellerState, feedback: &Feedback<'_>) {
        if let Some(view) = self.view(feedback.obs) {
            self.learn_on(state, feedback.me.member, &view);
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.spec.asset]
    }

    fn stable_for(&self, state: &QSellerState) -> Option<u64> {
        Some(state.learner.stable_for())
    }

    fn uses_fills(&self) -> bool {
        false
    }

    fn uses_reward(&self) -> bool {
        false
    }

    fn save_state(&self, state: &QSellerState) -> Option<Vec<u8>> {
        postcard::to_stdvec(state).ok()
    }

    fn load_state(&self, bytes: &[u8]) -> std::result::Result<QSellerState, String> {
        let state: QSellerState =
            crate::engine::decode_part(bytes, "a Q-learning seller's saved state")?;
        let m = self.setup.grid().len();
        let fits = state.learner.states() == self.memory.states()
            && state.learner.actions() == m
            && state.state.is_none_or(|s| s < self.memory.states());
        if !fits {
            return Err(format!(
                "a Q-learning seller's saved table is not {} states × {m} prices",
                self.memory.states()
            ));
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::learners::Exploration;
    use crate::market::posted::{GridSpec, PostedMarket};

    /// Two sellers of a 15-price grid, both Q-learners remembering `memory`
    /// steps of profiles.
    fn sellers(memory: usize) -> QSeller {
        sellers_of(memory, 15)
    }

    /// Two sellers of an `m`-price grid, remembering `memory` steps.
    fn sellers_of(memory: usize, m: usize) -> QSeller {
        let market = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
        let setup = PostedSetup::new(market, &GridSpec::Span { m, xi: 0.1 }, vec![3, 7]);
        let spec = QSellerSpec {
            asset: 0,
            params: QParams {
                alpha: 0.15,
                delta: 0.95,
                exploration: Exploration::Constant(0.0),
            },
            memory,
            q0: InitialQ::Constant(0.0),
        };
        QSeller::new(spec, Arc::new(setup.unwrap()), 0, 2).unwrap()
    }

    /// A seller's state is estimated at its table: 8 bytes an entry, 4 a
    /// state.
    #[test]
    fn a_sellers_state_is_estimated_at_its_table() {
        let table = |states: usize| states * 15 * 8 + states * 4;
        let base = std::mem::size_of::<QSellerState>();
        assert_eq!(sellers(1).state_bytes(), base + table(225));
        assert_eq!(sellers(2).state_bytes(), base + table(225 * 225));
    }

    /// In the evaluation phase a seller posts its greedy price in the state
    /// of the last profile, without exploring: after the profile (3, 7),
    /// state 108, where one update of reward 10 made price 4 the only
    /// entry above 0 (0.15 · 10), it posts 4 and remembers state 108.
    #[test]
    fn an_evaluating_seller_posts_its_greedy_price_in_the_last_profiles_state() {
        use crate::agents::{posted_asset, AdaptivePolicy, PostedView};
        use rand::SeedableRng;
        let seller = sellers(1);
        let grid = seller.setup.grid().to_vec();
        let history = [1.0];
        let assets = [posted_asset(
            PostedView {
                grid: &grid,
                prices: &[3, 7],
                profits: &[0.0, 0.0],
                sellers: &[3, 7],
            },
            &history,
        )];
        let obs = Observation {
            step: 2,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0];
        let me = AgentView::new(3, 0, 0, &holdings, 0);
        let mut state = seller.init(&me);
        state.learner.learn(108, 4, 10.0, 108).unwrap();
        assert_eq!(state.learner.greedy(108).unwrap(), 4);
        let mut out = Actions::new();
        let mut rng = AgentRng::seed_from_u64(1);
        seller.evaluate(&mut state, &obs, &me, &mut rng, &mut out);
        assert_eq!(out.as_slice(), &[Action::Post { asset: 0, price: 4 }]);
        assert_eq!(state.state, Some(108));
    }

    #[test]
    fn the_memory_state_is_the_last_profiles_in_base_m_to_the_n() {
        // A profile (a_0, a_1) of 15 prices is a_0 + 15·a_1: (3, 7) is 108,
        // (1, 2) is 31; the state of k = 2 steps is the last profile plus
        // 15² times the one before (at the first decision, both the first).
        let grid = sellers(1).setup.grid().to_vec();
        let view = |prices: &'static [u32]| PostedView {
            grid: &grid,
            prices,
            profits: &[0.0, 0.0],
            sellers: &[3, 7],
        };
        let one = sellers(1);
        assert_eq!(one.next_state(None, &view(&[3, 7])), 108);
        assert_eq!(one.next_state(Some(108), &view(&[1, 2])), 31);
        let two = sellers(2);
        let first = two.next_state(None, &view(&[3, 7]));
        assert_eq!(first, 108 + 225 * 108);
        assert_eq!(two.next_state(Some(first), &view(&[1, 2])), 31 + 225 * 108);
    }

    /// The market's view after the profile (3, 7), the sellers' profits
    /// 2 and 6.
    fn after<'a>(grid: &'a [f64]) -> [crate::agents::AssetObservation<'a>; 1] {
        [crate::agents::posted_asset(
            PostedView {
                grid,
                prices: &[3, 7],
                profits: &[2.0, 6.0],
                sellers: &[3, 7],
            },
            &[],
        )]
    }

    /// Seller 1 (member 1) learns its own price and profit of the step in
    /// the state it posted from: from Q = 0, Q(108, 7) = 0.15 · (6 + 0.95 ·
    /// 0) = 0.9, nothing else; two more lessons leave its greedy price 7 as
    /// it is, a stable count of 2. Without a state (it never posted) it
    /// learns nothing.
    #[test]
    fn a_q_seller_learns_its_own_profit_for_its_own_price() {
        use crate::agents::AdaptivePolicy;
        let seller = sellers(1);
        let grid = seller.setup.grid().to_vec();
        let assets = after(&grid);
        let obs = Observation {
            step: 2,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0];
        let me = AgentView::new(7, 1, 0, &holdings, 0);
        let feedback = Feedback {
            step: 2,
            fills: &[],
            open_orders: &[],
            reward: f64::NAN,
            objective: f64::NAN,
            obs: &obs,
            me: &me,
        };
        let mut fresh = seller.init(&me);
        let untouched = fresh.clone();
        seller.learn(&mut fresh, &feedback);
        assert_eq!(fresh, untouched);
        let mut state = seller.init(&me);
        state.state = Some(108);
        seller.learn(&mut state, &feedback);
        let q = state.learner.table();
        assert!((q[108 * 15 + 7] - 0.9).abs() < 1e-15, "{}", q[108 * 15 + 7]);
        assert_eq!(q.iter().filter(|&&v| v != 0.0).count(), 1);
        assert_eq!(state.state, Some(108));
        seller.learn(&mut state, &feedback);
        seller.learn(&mut state, &feedback);
        assert_eq!(seller.stable_for(&state), Some(2));
        assert_eq!(state.learner.greedy(108).unwrap(), 7);
    }

    /// Deciding without exploration (ε = 0) a seller posts its greedy
    /// price in the state of the profile it sees; without the market's
    /// view it posts nothing. A seller reads neither fills nor reward.
    #[test]
    fn a_q_seller_posts_its_greedy_price_and_nothing_without_a_view() {
        use crate::agents::AdaptivePolicy;
        use rand::SeedableRng;
        let seller = sellers(1);
        let grid = seller.setup.grid().to_vec();
        let assets = after(&grid);
        let obs = Observation {
            step: 2,
            assets: &assets,
            incentives: &[],
            mempool: &[],
        };
        let holdings = [0];
        let me = AgentView::new(3, 0, 0, &holdings, 0);
        let mut state = seller.init(&me);
        state.learner.learn(108, 9, 10.0, 108).unwrap();
        let mut out = Actions::new();
        let mut rng = AgentRng::seed_from_u64(1);
        seller.decide(&mut state, &obs, &me, &mut rng, &mut out);
        assert_eq!(out.as_slice(), &[Action::Post { asset: 0, price: 9 }]);
        assert_eq!(state.state, Some(108));
        let blind = Observation { assets: &[], ..obs };
        let mut out = Actions::new();
        seller.decide(&mut state, &blind, &me, &mut rng, &mut out);
        assert!(out.is_empty());
        assert!(!seller.uses_fills() && !seller.uses_reward());
        assert_eq!(seller.spec().memory, 1);
        assert_eq!(seller.assets(), vec![0]);
    }

    /// A saved seller loads back as it was (in state 108, or before its
    /// first step); one of a state beyond its 225 states, or saved by
    /// sellers of another memory (225² states), is refused.
    #[test]
    fn a_saved_q_seller_loads_only_into_sellers_of_its_states() {
        use crate::agents::AdaptivePolicy;
        let seller = sellers(1);
        let holdings = [0];
        let me = AgentView::new(3, 0, 0, &holdings, 0);
        let mut state = seller.init(&me);
        let bytes = seller.save_state(&state).unwrap();
        assert_eq!(seller.load_state(&bytes), Ok(state.clone()));
        state.state = Some(224);
        state.learner.learn(224, 2, 1.0, 0).unwrap();
        let bytes = seller.save_state(&state).unwrap();
        assert_eq!(seller.load_state(&bytes), Ok(state.clone()));
        state.state = Some(225);
        let beyond = postcard::to_stdvec(&state).unwrap();
        assert!(seller.load_state(&beyond).is_err());
        let two = sellers(2);
        let other = two.save_state(&two.init(&me)).unwrap();
        assert!(seller.load_state(&other).is_err());
        assert!(seller.load_state(&[1, 2, 3]).is_err());
        // a table of another grid's prices, of one state (no memory)
        let (seven, nine) = (sellers_of(0, 7), sellers_of(0, 9));
        let table = seven.save_state(&seven.init(&me)).unwrap();
        assert!(seven.load_state(&table).is_ok());
        assert_eq!(
            nine.load_state(&table).unwrap_err(),
            "a Q-learning seller's saved table is not 1 states × 9 prices"
        );
    }

    /// A seller's table holds at most 2²⁴ entries: a memory of 3 steps of
    /// two sellers of 15 prices is 15⁶ states × 15, too many; 2 steps,
    /// 15⁴ · 15, is built.
    #[test]
    fn a_q_sellers_table_holds_at_most_two_to_the_24_entries() {
        assert_eq!(MAX_Q_ENTRIES, 16_777_216);
        let market = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
        let setup = Arc::new(
            PostedSetup::new(market, &GridSpec::Span { m: 15, xi: 0.1 }, vec![3, 7]).unwrap(),
        );
        let spec = |memory| QSellerSpec {
            asset: 0,
            params: QParams {
                alpha: 0.15,
                delta: 0.95,
                exploration: Exploration::Constant(0.0),
            },
            memory,
            q0: InitialQ::Constant(0.0),
        };
        assert!(QSeller::new(spec(3), Arc::clone(&setup), 0, 2).is_err());
        assert!(QSeller::new(spec(2), Arc::clone(&setup), 0, 2).is_ok());
        assert!(QSeller::new(spec(1), setup, 1, 2).is_err());
    }
}
