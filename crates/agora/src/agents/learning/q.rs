//! `q_learning`: tabular Q-learning over a discretisation of what the
//! agent sees.

use serde::{Deserialize, Serialize};

use super::{ActionSet, Signals};
use crate::agents::learners::{Discretizer, QLearner, QParams};
use crate::agents::{Actions, AdaptivePolicy, AgentRng, AgentView, Feedback, Observation};
use crate::error::{Error, Result};

/// The most entries (states × actions) of one agent's Q-table: 2²⁴, 128 MiB.
pub const MAX_Q_ENTRIES: usize = 1 << 24;

/// Tabular Q-learning on a market ([`QLearner`]): each agent keeps its own
/// table over the states of a [`Signals`] discretisation (`bins` per value:
/// `bins^(memory + trend + position)` states) and the actions of an
/// [`ActionSet`]; it acts ε-greedily and after each step moves
/// `Q(s, a)` toward `r + δ max_a' Q(s', a')`, `r` its reward (the change of
/// its objective over the step) and `s'` the state it sees after the step.
#[derive(Debug, Clone)]
pub struct QLearningPolicy {
    actions: ActionSet,
    signals: Signals,
    discretizer: Discretizer,
    /// Every agent's learner at the start (validated once).
    prototype: QLearner,
}

/// One agent's Q-learner, the state it is in and the action it took last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QLearningState {
    /// The learner (table, greedy policy, counts).
    pub learner: QLearner,
    /// The state the agent decides in next (set after each step).
    pub state: u32,
    /// The action taken in the current step.
    pub action: u32,
    /// Whether `state` is set (false before the first step).
    pub seen: bool,
}

impl QLearningPolicy {
    /// A Q-learning policy choosing among `actions`, seeing `signals` cut
    /// into `bins` bins each, with parameters `params` and every entry of
    /// the table starting at `q0`.
    ///
    /// Errors if `bins` is 0, the table would have more than
    /// [`MAX_Q_ENTRIES`] entries, or the parameters or `q0` are invalid
    /// (see [`QLearner::new`]).
    pub fn new(
        actions: ActionSet,
        signals: Signals,
        bins: usize,
        params: QParams,
        q0: f64,
    ) -> Result<Self> {
        let values = signals.len();
        let entries = u32::try_from(values)
            .ok()
            .and_then(|v| bins.checked_pow(v))
            .and_then(|states| states.checked_mul(actions.len()));
        if entries.is_none_or(|e| e > MAX_Q_ENTRIES) {
            return Err(Error::usage(format!(
                "a Q-table of {bins}^{values} states × {} actions has more than \
                 {MAX_Q_ENTRIES} entries; lower memory or bins",
                actions.len()
            )));
        }
        let discretizer = signals.discretizer(bins)?;
        let states = discretizer.states();
        let prototype = QLearner::new(params, states, &vec![q0; actions.len()])?;
        Ok(QLearningPolicy {
            actions,
            signals,
            discretizer,
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

    /// The number of states of each agent's table.
    pub fn states(&self) -> usize {
        self.discretizer.states()
    }

    /// The bins each value seen is cut into (the policy's `bins`; 1 when
    /// nothing is seen).
    pub fn bins(&self) -> usize {
        self.discretizer.dims().first().map_or(1, |d| d.count)
    }

    /// The learning rate, discount and exploration.
    pub fn params(&self) -> &QParams {
        self.prototype.params()
    }

    /// The value every entry of a table starts at.
    pub fn q0(&self) -> f64 {
        self.prototype.table().first().copied().unwrap_or(0.0)
    }

    /// The state of the values `values` (see [`Signals::values`]).
    pub fn state_of(&self, values: &[f64]) -> usize {
        // The values are finite and as many as the discretiser's bins.
        self.discretizer.state(values).unwrap_or(0)
    }

    /// The greedy action of the agent in the state it is in (the action
    /// it takes without exploration).
    pub fn greedy_action(&self, state: &QLearningState) -> usize {
        state
            .learner
            .greedy(state.state as usize)
            .unwrap_or_default()
    }

    /// For how many consecutive updates no state's greedy action has
    /// changed for this agent (Calvano et al.'s convergence count).
    pub fn stable_for(&self, state: &QLearningState) -> Option<u64> {
        Some(state.learner.stable_for())
    }

    /// Decides without exploring: the greedy action, drawing nothing.
    pub fn decide_greedy(
        &self,
        state: &mut QLearningState,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        out: &mut Actions,
    ) {
        self.enter(state, obs, me);
        let a = self.greedy_action(state);
        state.action = a as u32;
        self.actions.push(a, obs, me, out);
    }

    /// Moves the agent to the state it sees after a step without learning
    /// from the step (play with learning off: the table stays as it is).
    pub fn observe(&self, state: &mut QLearningState, feedback: &Feedback<'_>) {
        let mut v = Vec::with_capacity(self.signals.len());
        self.signals.values_after(feedback, &mut v);
        state.state = self.state_of(&v) as u32;
        state.seen = true;
    }

    /// Sets the agent's state from what it sees, before its first step.
    fn enter(&self, state: &mut QLearningState, obs: &Observation<'_>, me: &AgentView<'_>) {
        if !state.seen {
            let mut v = Vec::with_capacity(self.signals.len());
            self.signals.values(obs, me, &mut v);
            state.state = self.state_of(&v) as u32;
            state.seen = true;
        }
    }
}

impl AdaptivePolicy for QLearningPolicy {
    type State = QLearningState;

    /// The evaluation phase: the greedy action, nothing drawn.
    fn evaluate(
        &self,
        state: &mut QLearningState,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        _rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        self.decide_greedy(state, obs, me, out);
    }

    /// The evaluation phase: moves to the next state, learning nothing.
    fn track(&self, state: &mut QLearningState, feedback: &Feedback<'_>) {
        self.observe(state, feedback);
    }

    fn stable_for(&self, state: &QLearningState) -> Option<u64> {
        QLearningPolicy::stable_for(self, state)
    }

    fn init(&self, _me: &AgentView<'_>) -> QLearningState {
        QLearningState {
            learner: self.prototype.clone(),
            state: 0,
            action: 0,
            seen: false,
        }
    }

    fn decide(
        &self,
        state: &mut QLearningState,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        self.enter(state, obs, me);
        let a = state
            .learner
            .act(state.state as usize, rng)
            .unwrap_or_default();
        state.action = a as u32;
        self.actions.push(a, obs, me, out);
    }

    fn learn(&self, state: &mut QLearningState, feedback: &Feedback<'_>) {
        let mut v = Vec::with_capacity(self.signals.len());
        self.signals.values_after(feedback, &mut v);
        let next = self.state_of(&v);
        // A non-finite reward (a wealth that overflowed f64) teaches
        // nothing; the state still moves on.
        let _ = state.learner.learn(
            state.state as usize,
            state.action as usize,
            feedback.reward,
            next,
        );
        state.state = next as u32;
        state.seen = true;
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.actions.asset()]
    }

    fn state_bytes(&self) -> usize {
        let (states, actions) = (self.states(), self.actions.len());
        std::mem::size_of::<QLearningState>().saturating_add(QLearner::table_bytes(states, actions))
    }

    fn save_state(&self, state: &QLearningState) -> Option<Vec<u8>> {
        postcard::to_stdvec(state).ok()
    }

    fn load_state(&self, bytes: &[u8]) -> std::result::Result<QLearningState, String> {
        let s: QLearningState =
            crate::engine::decode_part(bytes, "a Q-learning agent's saved state")?;
        if s.learner.states() != self.states() || s.learner.actions() != self.actions.len() {
            return Err(format!(
                "a saved Q-table of {} states × {} actions, the policy's is {} × {}",
                s.learner.states(),
                s.learner.actions(),
                self.states(),
                self.actions.len()
            ));
        }
        if s.state as usize >= self.states() || s.action as usize >= self.actions.len() {
            return Err(format!(
                "a saved Q-learning agent in state {} after action {}, of {} states and {} actions",
                s.state,
                s.action,
                self.states(),
                self.actions.len()
            ));
        }
        Ok(s)
    }
}
