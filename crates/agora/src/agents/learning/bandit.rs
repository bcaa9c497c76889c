//! `bandit`: each action of the set an arm; ε-greedy, UCB1 or Thompson
//! sampling.

use serde::{Deserialize, Serialize};

use super::ActionSet;
use crate::agents::learners::{
    argmax, Bandit, BanditLearner, EpsilonGreedy, GaussianPrior, Thompson, Ucb1,
};
use crate::agents::{Actions, AdaptivePolicy, AgentRng, AgentView, Feedback, Observation};
use crate::error::Result;

/// The bandit algorithm of a [`BanditPolicy`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BanditAlgorithm {
    /// `epsilon_greedy`: the best-looking arm, or with probability `ε` a
    /// uniformly random one.
    EpsilonGreedy {
        /// `ε ∈ [0, 1]`.
        epsilon: f64,
    },
    /// `ucb1`: the arm of the highest upper confidence bound.
    Ucb1,
    /// `thompson`: a draw from each arm's posterior, the largest wins.
    Thompson {
        /// Beta–Bernoulli on wins (a reward above 0 counts 1, else 0)
        /// when true; Normal–Gamma on the rewards themselves when false.
        bernoulli: bool,
    },
}

/// A multi-armed bandit on a market: each agent keeps its own bandit
/// ([`BanditLearner`]) whose arms are the actions of an [`ActionSet`], pulls
/// one each step and learns from its reward, the change of its objective
/// over the step. It sees nothing of the market: one state.
///
/// A Beta–Bernoulli Thompson sampler needs rewards in `{0, 1}`: it is told
/// a win (1) when the step's reward is above 0, else 0. The Gaussian one
/// takes the rewards as they are, with the default Normal–Gamma prior
/// ([`GaussianPrior`]).
#[derive(Debug, Clone)]
pub struct BanditPolicy {
    actions: ActionSet,
    algorithm: BanditAlgorithm,
    prototype: BanditLearner,
}

/// One agent's bandit, the arm it pulled in the current step, its greedy
/// arm (the highest mean, or posterior mean) and for how many updates that
/// arm has not changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BanditState {
    /// The learner.
    pub learner: BanditLearner,
    /// The arm pulled in the current step.
    pub arm: u32,
    /// The arm of the highest estimated mean (lowest index among equals).
    pub greedy: u32,
    /// Consecutive updates that left `greedy` unchanged.
    pub stable: u64,
}

impl BanditPolicy {
    /// A bandit policy over `actions` with `algorithm`.
    ///
    /// Errors if `ε` is not in `[0, 1]`.
    pub fn new(actions: ActionSet, algorithm: BanditAlgorithm) -> Result<Self> {
        let arms = actions.len();
        let prototype = match algorithm {
            BanditAlgorithm::EpsilonGreedy { epsilon } => {
                BanditLearner::EpsilonGreedy(EpsilonGreedy::new(arms, epsilon)?)
            }
            BanditAlgorithm::Ucb1 => BanditLearner::Ucb1(Ucb1::new(arms)?),
            BanditAlgorithm::Thompson { bernoulli: true } => {
                BanditLearner::Thompson(Thompson::bernoulli(arms)?)
            }
            BanditAlgorithm::Thompson { bernoulli: false } => {
                BanditLearner::Thompson(Thompson::gaussian(arms, GaussianPrior::default())?)
            }
        };
        Ok(BanditPolicy {
            actions,
            algorithm,
            prototype,
        })
    }

    /// The actions (the arms).
    pub fn actions(&self) -> &ActionSet {
        &self.actions
    }

    /// The algorithm.
    pub fn algorithm(&self) -> BanditAlgorithm {
        self.algorithm
    }

    /// The arm of the highest estimated mean reward (sample mean, or
    /// posterior mean for Thompson sampling; lowest index among equals).
    pub fn greedy_action(&self, state: &BanditState) -> usize {
        state.greedy as usize
    }

    /// For how many consecutive updates the agent's greedy arm has not
    /// changed.
    pub fn stable_for(&self, state: &BanditState) -> Option<u64> {
        Some(state.stable)
    }

    /// Decides without exploring: the greedy arm, drawing nothing.
    pub fn decide_greedy(
        &self,
        state: &mut BanditState,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        out: &mut Actions,
    ) {
        state.arm = state.greedy;
        self.actions.push(state.arm as usize, obs, me, out);
    }

    /// A bandit sees nothing: after a step without learning there is
    /// nothing to move (for symmetry with the other kinds' `observe`).
    pub fn observe(&self, _state: &mut BanditState, _feedback: &Feedback<'_>) {}

    fn means(learner: &BanditLearner) -> Vec<f64> {
        match learner {
            BanditLearner::EpsilonGreedy(b) => b.means().to_vec(),
            BanditLearner::Ucb1(b) => b.means().to_vec(),
            BanditLearner::Thompson(b) => b.posterior_means(),
        }
    }
}

impl AdaptivePolicy for BanditPolicy {
    type State = BanditState;

    /// The evaluation phase: the greedy action, nothing drawn.
    fn evaluate(
        &self,
        state: &mut BanditState,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        _rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        self.decide_greedy(state, obs, me, out);
    }

    /// The evaluation phase: moves to the next state, learning nothing.
    fn track(&self, state: &mut BanditState, feedback: &Feedback<'_>) {
        self.observe(state, feedback);
    }

    fn stable_for(&self, state: &BanditState) -> Option<u64> {
        BanditPolicy::stable_for(self, state)
    }

    fn init(&self, _me: &AgentView<'_>) -> BanditState {
        BanditState {
            learner: self.prototype.clone(),
            arm: 0,
            greedy: 0,
            stable: 0,
        }
    }

    fn decide(
        &self,
        state: &mut BanditState,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        state.arm = state.learner.select(rng) as u32;
        self.actions.push(state.arm as usize, obs, me, out);
    }

    fn learn(&self, state: &mut BanditState, feedback: &Feedback<'_>) {
        let reward = match self.algorithm {
            BanditAlgorithm::Thompson { bernoulli: true } => {
                f64::from(u8::from(feedback.reward > 0.0))
            }
            _ => feedback.reward,
        };
        // A non-finite reward teaches nothing.
        if state.learner.update(state.arm as usize, reward).is_ok() {
            let greedy = argmax(&Self::means(&state.learner)).unwrap_or(0) as u32;
            state.stable = if greedy == state.greedy {
                state.stable + 1
            } else {
                0
            };
            state.greedy = greedy;
        }
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.actions.asset()]
    }

    fn state_bytes(&self) -> usize {
        // counts and means, or posteriors (up to four numbers), per arm
        std::mem::size_of::<BanditState>() + self.actions.len() * 40
    }

    fn save_state(&self, state: &BanditState) -> Option<Vec<u8>> {
        postcard::to_stdvec(state).ok()
    }

    fn load_state(&self, bytes: &[u8]) -> std::result::Result<BanditState, String> {
        let s: BanditState = crate::engine::decode_part(bytes, "a bandit agent's saved state")?;
        let same = std::mem::discriminant(&s.learner) == std::mem::discriminant(&self.prototype);
        if !same || s.learner.arms() != self.actions.len() {
            return Err(format!(
                "a saved bandit of {} arms does not fit this policy's {} actions and algorithm",
                s.learner.arms(),
                self.actions.len()
            ));
        }
        let arms = self.actions.len();
        if s.arm as usize >= arms || s.greedy as usize >= arms {
            return Err(format!(
                "a saved bandit agent pulled arm {} with greedy arm {}, of {arms} arms",
                s.arm, s.greedy
            ));
        }
        Ok(s)
    }
}
