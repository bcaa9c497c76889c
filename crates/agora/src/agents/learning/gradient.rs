//! `policy_gradient`: REINFORCE with a baseline on a softmax over the
//! action set, with linear features of what the agent sees.

use serde::{Deserialize, Serialize};

use super::{ActionSet, Signals};
use crate::agents::learners::{argmax, Reinforce};
use crate::agents::{Actions, AdaptivePolicy, AgentRng, AgentView, Feedback, Observation};
use crate::error::Result;

/// REINFORCE on a market ([`Reinforce`]): each agent keeps its own softmax
/// policy `π(a | x) ∝ exp(θ_a · x)` over the actions of an [`ActionSet`],
/// with the features `x` of [`Signals::features`] (a constant 1, the
/// squashed price moves and trend, the position), draws its action from
/// it, and after the step takes one gradient step with the step's reward
/// as the return (`G = r`, a one-step return, as for a contextual bandit)
/// against the running mean of its rewards as the baseline.
#[derive(Debug, Clone)]
pub struct PolicyGradientPolicy {
    actions: ActionSet,
    signals: Signals,
    learning_rate: f64,
    prototype: Reinforce,
}

/// One agent's softmax policy, the features it decides on next and the
/// action it took in the current step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyGradientState {
    /// The learner (weights and baseline).
    pub learner: Reinforce,
    /// The features of the state the agent decides in next (empty before
    /// its first step).
    pub features: Vec<f64>,
    /// The action taken in the current step.
    pub action: u32,
}

impl PartialEq for PolicyGradientState {
    fn eq(&self, other: &Self) -> bool {
        self.learner == other.learner
            && self.features == other.features
            && self.action == other.action
    }
}

impl PolicyGradientPolicy {
    /// A policy-gradient policy choosing among `actions` on the features of
    /// `signals`, with step size `learning_rate`.
    ///
    /// Errors if the learning rate is not positive and finite.
    pub fn new(actions: ActionSet, signals: Signals, learning_rate: f64) -> Result<Self> {
        let prototype = Reinforce::new(actions.len(), 1 + signals.len(), learning_rate)?;
        Ok(PolicyGradientPolicy {
            actions,
            signals,
            learning_rate,
            prototype,
        })
    }

    /// The actions.
    pub fn actions(&self) -> &ActionSet {
        &self.actions
    }

    /// What the agents see.
    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    /// The step size `η`.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// The most probable action of the agent in the state it is in (its
    /// features; lowest index among equals).
    pub fn greedy_action(&self, state: &PolicyGradientState) -> usize {
        let mut p = vec![0.0; self.actions.len()];
        match state.learner.probabilities(&state.features, &mut p) {
            Ok(()) => argmax(&p).unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// A softmax over continuous features has no finite set of states
    /// whose greedy actions could be stable: `None`.
    pub fn stable_for(&self, _state: &PolicyGradientState) -> Option<u64> {
        None
    }

    /// Decides without exploring: the most probable action, drawing
    /// nothing.
    pub fn decide_greedy(
        &self,
        state: &mut PolicyGradientState,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        out: &mut Actions,
    ) {
        self.enter(state, obs, me);
        let a = self.greedy_action(state);
        state.action = a as u32;
        self.actions.push(a, obs, me, out);
    }

    /// Moves the agent to the features it sees after a step without
    /// learning from the step (play with learning off).
    pub fn observe(&self, state: &mut PolicyGradientState, feedback: &Feedback<'_>) {
        let mut v = Vec::with_capacity(self.signals.len());
        self.signals.values_after(feedback, &mut v);
        self.signals.features(&v, &mut state.features);
    }

    fn enter(&self, state: &mut PolicyGradientState, obs: &Observation<'_>, me: &AgentView<'_>) {
        if state.features.is_empty() {
            let mut v = Vec::with_capacity(self.signals.len());
            self.signals.values(obs, me, &mut v);
            self.signals.features(&v, &mut state.features);
        }
    }
}

impl AdaptivePolicy for PolicyGradientPolicy {
    type State = PolicyGradientState;

    /// The evaluation phase: the greedy action, nothing drawn.
    fn evaluate(
        &self,
        state: &mut PolicyGradientState,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        _rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        self.decide_greedy(state, obs, me, out);
    }

    /// The evaluation phase: moves to the next state, learning nothing.
    fn track(&self, state: &mut PolicyGradientState, feedback: &Feedback<'_>) {
        self.observe(state, feedback);
    }

    fn stable_for(&self, state: &PolicyGradientState) -> Option<u64> {
        PolicyGradientPolicy::stable_for(self, state)
    }

    fn init(&self, _me: &AgentView<'_>) -> PolicyGradientState {
        PolicyGradientState {
            learner: self.prototype.clone(),
            features: Vec::new(),
            action: 0,
        }
    }

    fn decide(
        &self,
        state: &mut PolicyGradientState,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        self.enter(state, obs, me);
        let a = state
            .learner
            .select(&state.features, rng)
            .unwrap_or_default();
        state.action = a as u32;
        self.actions.push(a, obs, me, out);
    }

    fn learn(&self, state: &mut PolicyGradientState, feedback: &Feedback<'_>) {
        // A non-finite reward teaches nothing; the state still moves on.
        let _ = state
            .learner
            .update(&state.features, state.action as usize, feedback.reward);
        let mut v = Vec::with_capacity(self.signals.len());
        self.signals.values_after(feedback, &mut v);
        self.signals.features(&v, &mut state.features);
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.actions.asset()]
    }

    fn state_bytes(&self) -> usize {
        let (actions, features) = (self.actions.len(), 1 + self.signals.len());
        // weights, probabilities scratch, features
        std::mem::size_of::<PolicyGradientState>() + (actions * features + actions + features) * 8
    }

    fn save_state(&self, state: &PolicyGradientState) -> Option<Vec<u8>> {
        postcard::to_stdvec(state).ok()
    }

    fn load_state(&self, bytes: &[u8]) -> std::result::Result<PolicyGradientState, String> {
        let s: PolicyGradientState =
            crate::engine::decode_part(bytes, "a policy-gradient agent's saved state")?;
        let features = 1 + self.signals.len();
        let fits = s.learner.actions() == self.actions.len()
            && s.learner.features() == features
            && (s.features.is_empty() || s.features.len() == features)
            && s.features.iter().all(|x| x.is_finite())
            && (s.action as usize) < self.actions.len();
        if !fits {
            return Err(format!(
                "a saved softmax of {} actions × {} features (after action {}), the policy's is {} × {features}",
                s.learner.actions(),
                s.learner.features(),
                s.action,
                self.actions.len()
            ));
        }
        Ok(s)
    }
}
