//! Policies with per-agent state that learn from what happened to them.
//!
//! A [`Policy`](super::Policy) is a pure function of what an agent sees. An
//! [`AdaptivePolicy`] keeps one [`State`](AdaptivePolicy::State) per agent,
//! held by the engine in one contiguous column per group (10,000 learners
//! of a group learn independently, each from its own state); every step it
//!
//! 1. **decides** on its state, the observation and its account, pushing
//!    any number of actions (none is a hold; e.g. a cancel then a new
//!    quote), which the engine executes in the order given at the agent's
//!    turn in the step's random order; then
//! 2. **learns**, after the step is settled and recorded, from a
//!    [`Feedback`]: its fills of the step (from the trade log), its orders
//!    still open, its reward (the change of its group's objective over the
//!    step) and the observation the next step will start from.
//!
//! Both phases run in parallel over the agents of a group (in fixed chunks,
//! each agent drawing from its own seeded stream), so results are the same
//! at any number of threads. Groups of stateless policies pay nothing for
//! any of this.
//!
//! Wrap a policy with [`GroupPolicy::adaptive`](super::GroupPolicy::adaptive)
//! to give it to a group ([`Simulation::set_policy`](crate::Simulation::set_policy)),
//! or register it by name for scenario files with
//! [`PolicyRegistry::register_adaptive`](crate::scenario::PolicyRegistry::register_adaptive).
//! A stateless policy that needs several actions per step implements this
//! trait with `State = ()`.

use std::fmt;
use std::sync::Arc;

use rayon::prelude::*;

use super::{Action, AgentRng, AgentView, Observation, Policy, QSeller, QSellerState};
use crate::ledger::trades::TradeRecord;
use crate::ledger::{AgentId, Ledger};
use crate::rng::StreamFamily;

/// Agents decided or taught per parallel task: fixed, so that nothing
/// depends on the number of threads.
const CHUNK: usize = 1024;

/// The actions an agent takes in a step, executed in the order pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actions {
    list: Vec<Action>,
}

impl Actions {
    /// No actions (the agent holds).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an action after those pushed so far ([`Action::Hold`] is
    /// skipped: it does nothing).
    #[inline]
    pub fn push(&mut self, action: Action) {
        if action != Action::Hold {
            self.list.push(action);
        }
    }

    /// The actions, in order.
    pub fn as_slice(&self) -> &[Action] {
        &self.list
    }

    /// The number of actions.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when the agent holds.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Removes every action (keeping the memory for the next step).
    pub fn clear(&mut self) {
        self.list.clear();
    }
}

/// What an agent has locked in one of its open orders (an order book's
/// resting order), base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOrder {
    /// Index of the asset.
    pub asset: u32,
    /// Money locked (a buy order), base units.
    pub money: u64,
    /// Tokens locked (a sell order), base units.
    pub tokens: u64,
}

/// What happened to an agent in the step just run, given to
/// [`AdaptivePolicy::learn`].
#[derive(Debug, Clone, Copy)]
pub struct Feedback<'a> {
    /// The step just run.
    pub step: u64,
    /// The agent's fills of the step, in the order they happened, each from
    /// the agent's side (`agent` is this agent, `buy` true when it
    /// received the tokens; a fill in which it was the counterpart is shown
    /// mirrored). Asset, side, quantity and price are
    /// [`TradeRecord::asset`], [`TradeRecord::buy`],
    /// [`TradeRecord::quantity`] and [`TradeRecord::price`].
    pub fills: &'a [TradeRecord],
    /// Its orders still open after the step, one entry per open order, by
    /// asset (empty where every asset is priced by a curve).
    pub open_orders: &'a [OpenOrder],
    /// The change of its objective over the step: its group's `objective`
    /// (wealth marked to market with what is locked in open orders, its
    /// logarithm, or the holdings of an asset, as the summary's utility)
    /// at the end of this step less at the end of the previous one.
    pub reward: f64,
    /// Its objective now.
    pub objective: f64,
    /// What the next step's decision starts from (the prices after this
    /// step; the next step's external events not yet applied).
    pub obs: &'a Observation<'a>,
    /// Its account now (balance and free holdings; locked amounts are in
    /// `open_orders`).
    pub me: &'a AgentView<'a>,
}

impl Feedback<'_> {
    /// The number of open orders on `asset`.
    pub fn open_on(&self, asset: usize) -> usize {
        self.open_orders
            .iter()
            .filter(|o| o.asset as usize == asset)
            .count()
    }
}

/// A policy with per-agent state, fed back what happened after each step.
///
/// A [`Policy`] is a pure function of what an agent sees. An
/// `AdaptivePolicy` keeps one [`State`](AdaptivePolicy::State) per agent,
/// held by the engine in one contiguous column per group (10,000 learners
/// of a group learn independently, each from its own state); every step it
///
/// 1. **decides** on its state, the observation and its account, pushing
///    any number of actions (none is a hold; e.g. a cancel then a new
///    quote), which the engine executes in the order given at the agent's
///    turn in the step's random order; then
/// 2. **learns**, after the step is settled and recorded, from a
///    [`Feedback`]: its fills of the step (from the trade log), its orders
///    still open, its reward (the change of its group's objective over the
///    step) and the observation the next step will start from.
///
/// Both phases run in parallel over the agents of a group (in fixed
/// chunks, each agent drawing from its own seeded stream), so results are
/// the same at any number of threads. Groups of stateless policies pay
/// nothing for any of this.
///
/// Give it to a group with
/// [`GroupPolicy::adaptive`](super::GroupPolicy::adaptive) and
/// [`Simulation::set_policy`](crate::Simulation::set_policy), or register
/// it by name for scenario files with
/// [`PolicyRegistry::register_adaptive`](crate::scenario::PolicyRegistry::register_adaptive);
/// read the states with [`Simulation::states`](crate::Simulation::states).
/// A stateless policy that needs several actions per step implements this
/// trait with `State = ()`.
///
/// `decide` and `learn` run in parallel over agents: everything an agent
/// keeps is in its `State`, all randomness comes from `rng` (seeded for the
/// agent and the step).
pub trait AdaptivePolicy: Send + Sync + fmt::Debug + 'static {
    /// What one agent keeps from step to step.
    type State: Send + Sync + 'static;

    /// The state of agent `me` at the start of the run (after its balance
    /// and airdrops are funded).
    fn init(&self, me: &AgentView<'_>) -> Self::State;

    /// Pushes this agent's actions for the step onto `out` (empty on entry;
    /// none pushed is a hold).
    fn decide(
        &self,
        state: &mut Self::State,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
        out: &mut Actions,
    );

    /// Learns from what happened to the agent in the step. The default
    /// learns nothing. Not called in the evaluation phase (see
    /// [`track`](Self::track)).
    fn learn(&self, _state: &mut Self::State, _feedback: &Feedback<'_>) {}

    /// Pushes this agent's actions in the evaluation phase, which follows
    /// the learning phase when a scenario asks for one (`[simulation]
    /// evaluation_steps`, `stop`): the policy as learned, played greedily —
    /// no exploration, and nothing learned ([`learn`](Self::learn) is not
    /// called; [`track`](Self::track) is). The default decides as in the
    /// learning phase, which is right for a policy that neither explores
    /// nor learns.
    fn evaluate(
        &self,
        state: &mut Self::State,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        self.decide(state, obs, me, rng, out)
    }

    /// In the evaluation phase, called after each step in place of
    /// [`learn`](Self::learn): keeps track of what happened (a memory of
    /// recent prices or actions) without learning from it. The default
    /// does nothing.
    fn track(&self, _state: &mut Self::State, _feedback: &Feedback<'_>) {}

    /// For how many consecutive steps, up to now, this agent's greedy
    /// action in every state it knows has stayed the same (Calvano et
    /// al.'s convergence criterion); `None` (the default) for a policy that
    /// is not a greedy learner. A run with `[simulation] stop = { converged
    /// = K }` ends its learning phase once every agent that reports a
    /// count has reported at least `K`.
    fn stable_for(&self, _state: &Self::State) -> Option<u64> {
        None
    }

    /// Whether the policy reads its fills ([`Feedback::fills`]). A run
    /// keeps the step's trade log for the learn phase only if some
    /// adaptive policy does (or `[output] trades = true`); a policy that
    /// does not read them returns `false` and spares the run the log. The
    /// default is `true`.
    fn uses_fills(&self) -> bool {
        true
    }

    /// Whether the policy reads its reward or objective
    /// ([`Feedback::reward`], [`Feedback::objective`]). The default is
    /// `true`. A policy that learns from something else (a posted-price
    /// seller, from its profit) returns `false`, and the engine then
    /// measures the group's objective only on the steps whose rows record
    /// the mean reward (and the step before each), not every step: on the
    /// other steps its feedback's `reward` and `objective` are NaN.
    fn uses_reward(&self) -> bool {
        true
    }

    /// The indices of the assets the policy trades, so that a scenario can
    /// be checked before it runs. The default is "none declared".
    fn assets(&self) -> Vec<usize> {
        Vec::new()
    }

    /// About how many bytes one agent's state takes in memory (its heap
    /// allocations included), for the memory a scenario is estimated to
    /// need before it runs ([`limits`](crate::limits)). The default, 0,
    /// counts nothing beyond the engine's own per-agent buffers.
    fn state_bytes(&self) -> usize {
        0
    }

    /// One agent's state in bytes, for [`Simulation::state`](crate::Simulation::state)
    /// (e.g. `postcard::to_stdvec(state).ok()` for a state that derives
    /// serde). The default, `None`, saves nothing: a restored run then
    /// starts its agents' states afresh, and does not continue as the
    /// original (a policy whose state matters implements both hooks).
    fn save_state(&self, _state: &Self::State) -> Option<Vec<u8>> {
        None
    }

    /// An agent's state from bytes saved by [`save_state`](Self::save_state),
    /// or why it cannot be read.
    fn load_state(&self, _bytes: &[u8]) -> Result<Self::State, String> {
        Err("this adaptive policy does not load saved states".into())
    }
}

/// A group's adaptive states as saved: each agent's objective at the end of
/// the last step (what its next reward is measured from) and, where the
/// policy saves them, each agent's state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ColumnState {
    pub objective: Vec<f64>,
    pub states: Option<Vec<Vec<u8>>>,
}

/// An [`AdaptivePolicy`] with its state type erased, as a group holds it
/// (a [`Policy`] whose [`as_adaptive`](Policy::as_adaptive) is itself;
/// [`GroupPolicy::adaptive`](super::GroupPolicy::adaptive) makes one). Cheap
/// to clone: the policy is shared, each run makes its own states.
#[derive(Clone)]
pub struct Adaptive {
    inner: Arc<dyn Erased>,
}

impl Adaptive {
    /// Wraps `policy`.
    pub fn new<P: AdaptivePolicy>(policy: P) -> Self {
        Self::from_arc(Arc::new(policy))
    }

    /// Wraps a shared `policy`.
    pub fn from_arc<P: AdaptivePolicy>(policy: Arc<P>) -> Self {
        Adaptive {
            inner: Arc::new(Holder(policy)),
        }
    }

    /// The assets the policy trades, where it declares them.
    pub fn assets(&self) -> Vec<usize> {
        self.inner.assets()
    }

    /// About how many bytes one agent's state takes
    /// ([`AdaptivePolicy::state_bytes`]).
    pub fn state_bytes(&self) -> usize {
        self.inner.state_bytes()
    }

    /// The policy, if it is a `P`.
    pub fn policy<P: AdaptivePolicy>(&self) -> Option<&P> {
        self.inner.as_any().downcast_ref::<P>()
    }

    /// A fresh column of states for agents `start..end` of a run.
    pub(crate) fn column(&self) -> Box<dyn StateColumn> {
        self.inner.column()
    }

    /// Whether the policy reads its fills ([`AdaptivePolicy::uses_fills`]).
    pub fn uses_fills(&self) -> bool {
        self.inner.uses_fills()
    }
}

impl Policy for Adaptive {
    /// A hold: the engine has the agents of an adaptive policy decide on
    /// their states ([`AdaptivePolicy::decide`]).
    fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
        Action::Hold
    }

    fn assets(&self) -> Vec<usize> {
        self.inner.assets()
    }

    fn as_adaptive(&self) -> Option<&Adaptive> {
        Some(self)
    }
}

impl fmt::Debug for Adaptive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

trait Erased: Send + Sync + fmt::Debug {
    fn assets(&self) -> Vec<usize>;
    fn state_bytes(&self) -> usize;
    fn as_any(&self) -> &dyn std::any::Any;
    fn column(&self) -> Box<dyn StateColumn>;
    fn uses_fills(&self) -> bool;
}

struct Holder<P>(Arc<P>);

impl<P: AdaptivePolicy> fmt::Debug for Holder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<P: AdaptivePolicy> Erased for Holder<P> {
    fn assets(&self) -> Vec<usize> {
        self.0.assets()
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<P::State>().max(self.0.state_bytes())
    }

    fn uses_fills(&self) -> bool {
        self.0.uses_fills()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        &*self.0
    }

    fn column(&self) -> Box<dyn StateColumn> {
        Box::new(Column {
            policy: Arc::clone(&self.0),
            start: 0,
            states: Vec::new(),
            actions: Vec::new(),
            objective: Vec::new(),
            stale: false,
        })
    }
}

/// What the learn phase gives a group's column: per agent of the group, its
/// fills, open orders and objective, and the next observation.
pub(crate) struct Lesson<'a> {
    pub step: u64,
    pub ledger: &'a Ledger,
    pub private: StreamFamily,
    pub obs: &'a Observation<'a>,
    /// Every fill of the step from the side of the agent it concerns,
    /// sorted by agent (stably: in the order they happened).
    pub fills: &'a [TradeRecord],
    /// The agent of each open order, sorted.
    pub open: &'a [AgentId],
    /// The open orders, in the same order.
    pub open_orders: &'a [OpenOrder],
    /// The objective of each agent of the group now; `None` on a step the
    /// engine did not measure it (a policy that does not read its reward,
    /// [`AdaptivePolicy::uses_reward`]): the feedback's reward and
    /// objective are then NaN, and each agent's objective at the end of
    /// the previous step is kept as it was.
    pub objective: Option<&'a [f64]>,
    /// The evaluation phase: agents keep track ([`AdaptivePolicy::track`])
    /// instead of learning.
    pub evaluation: bool,
}

/// One group's states, laid out contiguously, with the actions its agents
/// chose in the current step.
pub(crate) trait StateColumn: Send + Sync {
    /// Makes the states of agents `start..end` from their accounts, with
    /// their objectives at the start of the run.
    fn init(
        &mut self,
        ledger: &Ledger,
        start: AgentId,
        end: AgentId,
        private: StreamFamily,
        objective: Vec<f64>,
    );

    /// Every agent of the group decides, in parallel (evaluates, greedily,
    /// in the evaluation phase).
    fn decide(
        &mut self,
        ledger: &Ledger,
        obs: &Observation<'_>,
        decide: StreamFamily,
        private: StreamFamily,
        evaluation: bool,
    );

    /// The fewest steps any agent of the group has been stable for
    /// ([`AdaptivePolicy::stable_for`]); `None` when no agent reports it.
    fn stable_for(&self) -> Option<u64>;

    /// Clears every agent's actions (a step the group does not act at).
    fn hold(&mut self);

    /// Replaces the actions of `agent` with `action` (set from outside).
    fn set(&mut self, agent: AgentId, action: Action);

    /// The actions of `agent` in the current step.
    fn actions(&self, agent: AgentId) -> &[Action];

    /// Whether the column's policy reads its reward
    /// ([`AdaptivePolicy::uses_reward`]).
    fn uses_reward(&self) -> bool;

    /// Whether the objectives the column keeps are older than the last
    /// step it learned at (that step's objectives were not measured):
    /// [`save`](StateColumn::save) then saves them as they are, and the
    /// engine replaces them with the objectives now.
    fn stale(&self) -> bool;

    /// Every agent of the group learns, in parallel; returns the sum of
    /// their rewards (NaN when the lesson has no objectives) (summed in agent order within fixed chunks, then over
    /// the chunks in order: the same at any number of threads).
    fn learn(&mut self, lesson: &Lesson<'_>) -> f64;

    /// For [`states`](StateColumn::states): the column as `Any`.
    fn as_any(&self) -> &dyn std::any::Any;

    /// For [`q_sellers`](StateColumn::q_sellers): the column as `Any`.
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;

    /// The column's state, for a saved simulation.
    fn save(&self) -> ColumnState;

    /// Puts back a saved column (of the same group's size), or says why it
    /// cannot (nothing changes then).
    fn load(&mut self, saved: &ColumnState) -> Result<(), String>;
}

impl dyn StateColumn {
    /// The states, if the column's policy is `P`.
    pub(crate) fn states<P: AdaptivePolicy>(&self) -> Option<&[P::State]> {
        self.as_any()
            .downcast_ref::<Column<P>>()
            .map(|c| c.states.as_slice())
    }

    /// Whether the column is a group of Q-learning posted-price sellers
    /// ([`QSeller`]).
    pub(crate) fn is_q_sellers(&self) -> bool {
        self.as_any().is::<Column<QSeller>>()
    }

    /// The column's parts, if it is a group of Q-learning posted-price
    /// sellers: for the engine's posted-price session
    /// (`engine::posted`), which decides and learns for them directly.
    pub(crate) fn q_sellers(&mut self) -> Option<QSellers<'_>> {
        self.as_any_mut()
            .downcast_mut::<Column<QSeller>>()
            .map(|c| QSellers {
                policy: &c.policy,
                start: c.start,
                states: &mut c.states,
                stale: &mut c.stale,
            })
    }
}

/// A group of Q-learning posted-price sellers as the engine's posted-price
/// session sees it ([`StateColumn::q_sellers`]): what
/// [`StateColumn::decide`] and [`StateColumn::learn`] work on. (The
/// column's actions are left as they are: they are read only within the
/// step that sets them, by the general execute phase.)
pub(crate) struct QSellers<'a> {
    /// The group's policy.
    pub policy: &'a QSeller,
    /// The group's first agent.
    pub start: AgentId,
    /// Each agent's state.
    pub states: &'a mut [QSellerState],
    /// Whether the objectives kept are stale (see [`StateColumn::stale`]):
    /// a lesson without objectives sets it.
    pub stale: &'a mut bool,
}

struct Column<P: AdaptivePolicy> {
    policy: Arc<P>,
    start: AgentId,
    states: Vec<P::State>,
    actions: Vec<Actions>,
    /// Each agent's objective at the end of the previous step (at the
    /// end of an earlier one when `stale`).
    objective: Vec<f64>,
    /// The last lesson came without objectives.
    stale: bool,
}

/// Where the entries of `agent` are in `items`, sorted by agent.
#[inline]
fn of_agent<T>(items: &[T], agent: AgentId, key: impl Fn(&T) -> AgentId) -> std::ops::Range<usize> {
    if items.is_empty() {
        // No fills or open orders this step (a posted-price seller's): no
        // search.
        return 0..0;
    }
    let start = items.partition_point(|e| key(e) < agent);
    start..start + items[start..].partition_point(|e| key(e) <= agent)
}

impl<P: AdaptivePolicy> StateColumn for Column<P> {
    fn init(
        &mut self,
        ledger: &Ledger,
        start: AgentId,
        end: AgentId,
        private: StreamFamily,
        objective: Vec<f64>,
    ) {
        let policy = &*self.policy;
        self.start = start;
        self.states = (start..end)
            .map(|id| {
                let view = AgentView::keyed(
                    id,
                    id - start,
                    ledger.balance(id),
                    ledger.holdings(id),
                    private,
                );
                policy.init(&view)
            })
            .collect();
        self.actions = vec![Actions::new(); (end - start) as usize];
        self.objective = objective;
        self.stale = false;
    }

    fn decide(
        &mut self,
        ledger: &Ledger,
        obs: &Observation<'_>,
        decide: StreamFamily,
        private: StreamFamily,
        evaluation: bool,
    ) {
        let policy = &*self.policy;
        let start = self.start;
        let chunk = |c: usize, states: &mut [P::State], actions: &mut [Actions]| {
            let first = start + (c * CHUNK) as AgentId;
            for (k, (state, out)) in states.iter_mut().zip(actions).enumerate() {
                let id = first + k as AgentId;
                let view = AgentView::keyed(
                    id,
                    id - start,
                    ledger.balance(id),
                    ledger.holdings(id),
                    private,
                );
                let mut rng = decide.rng(u64::from(id));
                out.clear();
                if evaluation {
                    policy.evaluate(state, obs, &view, &mut rng, out);
                } else {
                    policy.decide(state, obs, &view, &mut rng, out);
                }
            }
        };
        if self.states.len() <= CHUNK {
            // One chunk: the same work on this thread, without waking the
            // pool (which costs more than a small group's decisions).
            chunk(0, &mut self.states, &mut self.actions);
            return;
        }
        self.states
            .par_chunks_mut(CHUNK)
            .zip(self.actions.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each(|(c, (states, actions))| chunk(c, states, actions));
    }

    fn stable_for(&self) -> Option<u64> {
        self.states
            .iter()
            .filter_map(|s| self.policy.stable_for(s))
            .min()
    }

    fn hold(&mut self) {
        for a in &mut self.actions {
            a.clear();
        }
    }

    fn set(&mut self, agent: AgentId, action: Action) {
        let out = &mut self.actions[(agent - self.start) as usize];
        out.clear();
        out.push(action);
    }

    fn save(&self) -> ColumnState {
        let states: Option<Vec<Vec<u8>>> = self
            .states
            .iter()
            .map(|st| self.policy.save_state(st))
            .collect();
        ColumnState {
            objective: self.objective.clone(),
            states,
        }
    }

    fn load(&mut self, saved: &ColumnState) -> Result<(), String> {
        let n = self.states.len();
        if saved.objective.len() != n {
            return Err(format!(
                "the saved group has {} agents, the scenario's {n}",
                saved.objective.len()
            ));
        }
        let states = match &saved.states {
            Some(bytes) if bytes.len() == n => Some(
                bytes
                    .iter()
                    .map(|b| self.policy.load_state(b))
                    .collect::<Result<Vec<_>, String>>()?,
            ),
            Some(bytes) => {
                return Err(format!(
                    "the saved group has {} agent states, the scenario {n} agents",
                    bytes.len()
                ))
            }
            None => None,
        };
        self.objective = saved.objective.clone();
        self.stale = false;
        if let Some(states) = states {
            self.states = states;
        }
        Ok(())
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    #[inline]
    fn actions(&self, agent: AgentId) -> &[Action] {
        self.actions[(agent - self.start) as usize].as_slice()
    }

    fn uses_reward(&self) -> bool {
        self.policy.uses_reward()
    }

    fn stale(&self) -> bool {
        self.stale
    }

    fn learn(&mut self, lesson: &Lesson<'_>) -> f64 {
        let policy = &*self.policy;
        let start = self.start;
        let objective = lesson.objective;
        self.stale = objective.is_none();
        let chunk = |c: usize, states: &mut [P::State], before: &mut [f64]| -> f64 {
            let mut sum = 0.0;
            let first = (c * CHUNK) as AgentId;
            for (k, (state, before)) in states.iter_mut().zip(before).enumerate() {
                let member = first + k as AgentId;
                let id = start + member;
                let now = objective.map_or(f64::NAN, |o| o[member as usize]);
                let view = AgentView::keyed(
                    id,
                    member,
                    lesson.ledger.balance(id),
                    lesson.ledger.holdings(id),
                    lesson.private,
                );
                let feedback = Feedback {
                    step: lesson.step,
                    fills: &lesson.fills[of_agent(lesson.fills, id, |r| r.agent)],
                    open_orders: &lesson.open_orders[of_agent(lesson.open, id, |&a| a)],
                    reward: now - *before,
                    objective: now,
                    obs: lesson.obs,
                    me: &view,
                };
                if lesson.evaluation {
                    policy.track(state, &feedback);
                } else {
                    policy.learn(state, &feedback);
                }
                sum += feedback.reward;
                if objective.is_some() {
                    *before = now;
                }
            }
            sum
        };
        if self.states.len() <= CHUNK {
            return chunk(0, &mut self.states, &mut self.objective);
        }
        // Summed within fixed chunks, then over the chunks in order: the
        // same at any number of threads.
        let sums: Vec<f64> = self
            .states
            .par_chunks_mut(CHUNK)
            .zip(self.objective.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, (states, before))| chunk(c, states, before))
            .collect();
        sums.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::trades::TradeKind;
    use crate::rng::Stream;

    /// A policy that records what the engine tells each agent: its id,
    /// index in the group and balance at the start; each decision pushes a
    /// buy of `1000 · id + member` (a sell of `id` when evaluating); each
    /// lesson its reward, objective and the number of its fills and open
    /// orders.
    #[derive(Debug)]
    struct Recorder;

    #[derive(Debug, Clone, PartialEq)]
    struct Record {
        id: AgentId,
        member: u32,
        balance: u64,
        lessons: Vec<(f64, f64, usize, usize)>,
        tracked: u32,
    }

    impl AdaptivePolicy for Recorder {
        type State = Record;

        fn init(&self, me: &AgentView<'_>) -> Record {
            Record {
                id: me.id,
                member: me.member,
                balance: me.balance,
                lessons: Vec::new(),
                tracked: 0,
            }
        }

        fn decide(
            &self,
            _state: &mut Record,
            _obs: &Observation<'_>,
            me: &AgentView<'_>,
            _rng: &mut AgentRng,
            out: &mut Actions,
        ) {
            out.push(Action::Buy {
                asset: 0,
                spend: 1000 * u64::from(me.id) + u64::from(me.member),
            });
        }

        fn evaluate(
            &self,
            _state: &mut Record,
            _obs: &Observation<'_>,
            me: &AgentView<'_>,
            _rng: &mut AgentRng,
            out: &mut Actions,
        ) {
            out.push(Action::Sell {
                asset: 0,
                amount: u64::from(me.id),
            });
        }

        fn learn(&self, state: &mut Record, feedback: &Feedback<'_>) {
            state.lessons.push((
                feedback.reward,
                feedback.objective,
                feedback.fills.len(),
                feedback.open_orders.len(),
            ));
        }

        fn track(&self, state: &mut Record, _feedback: &Feedback<'_>) {
            state.tracked += 1;
        }

        fn stable_for(&self, state: &Record) -> Option<u64> {
            Some(2000 - u64::from(state.member))
        }

        fn uses_fills(&self) -> bool {
            false
        }

        fn uses_reward(&self) -> bool {
            false
        }

        fn assets(&self) -> Vec<usize> {
            vec![0, 2]
        }

        fn state_bytes(&self) -> usize {
            100_000
        }

        fn save_state(&self, state: &Record) -> Option<Vec<u8>> {
            Some(state.member.to_le_bytes().to_vec())
        }

        fn load_state(&self, bytes: &[u8]) -> Result<Record, String> {
            let member = u32::from_le_bytes(bytes.try_into().map_err(|_| "4 bytes")?);
            Ok(Record {
                id: 0,
                member,
                balance: 0,
                lessons: Vec::new(),
                tracked: 0,
            })
        }
    }

    /// A policy of the trait's defaults: it decides a hold-then-buy of 1.
    #[derive(Debug)]
    struct Plain;

    impl AdaptivePolicy for Plain {
        type State = [u64; 4];

        fn init(&self, me: &AgentView<'_>) -> [u64; 4] {
            [me.balance, 0, 0, 0]
        }

        fn decide(
            &self,
            state: &mut [u64; 4],
            _obs: &Observation<'_>,
            _me: &AgentView<'_>,
            _rng: &mut AgentRng,
            out: &mut Actions,
        ) {
            state[1] += 1;
            out.push(Action::Hold);
            out.push(Action::Buy { asset: 1, spend: 1 });
        }
    }

    fn no_obs() -> Observation<'static> {
        Observation {
            step: 1,
            assets: &[],
            incentives: &[],
            mempool: &[],
        }
    }

    /// Actions are kept in the order pushed, a hold skipped; clearing
    /// empties them.
    #[test]
    fn actions_keep_their_order_skip_holds_and_clear() {
        let mut a = Actions::new();
        assert!(a.is_empty());
        let buy = Action::Buy { asset: 0, spend: 5 };
        let sell = Action::Sell {
            asset: 1,
            amount: 2,
        };
        a.push(buy);
        a.push(Action::Hold);
        a.push(sell);
        assert_eq!(a.as_slice(), &[buy, sell]);
        assert_eq!(a.len(), 2);
        assert!(!a.is_empty());
        a.clear();
        assert_eq!(a, Actions::new());
    }

    /// A feedback counts the open orders on each asset: 2 on asset 1, 1 on
    /// asset 0, none on asset 2.
    #[test]
    fn a_feedback_counts_the_open_orders_on_each_asset() {
        let order = |asset| OpenOrder {
            asset,
            money: 1,
            tokens: 0,
        };
        let open = [order(1), order(0), order(1)];
        let o = no_obs();
        let holdings = [0; 3];
        let me = AgentView::new(0, 0, 0, &holdings, 0);
        let f = Feedback {
            step: 1,
            fills: &[],
            open_orders: &open,
            reward: 0.0,
            objective: 0.0,
            obs: &o,
            me: &me,
        };
        assert_eq!((f.open_on(0), f.open_on(1), f.open_on(2)), (1, 2, 0));
    }

    /// The trait's defaults: evaluating decides as in learning, no stable
    /// count, fills and reward read, no asset declared, 0 bytes, nothing
    /// saved and nothing loaded; learning and tracking change nothing.
    #[test]
    fn the_adaptive_policy_defaults_decide_alike_save_nothing_and_declare_nothing() {
        let p = Plain;
        let holdings = [0; 2];
        let me = AgentView::new(0, 0, 7, &holdings, 0);
        let mut state = p.init(&me);
        let o = no_obs();
        let mut rng = crate::rng::agent_rng(1, 0, 1, 0);
        let mut out = Actions::new();
        p.evaluate(&mut state, &o, &me, &mut rng, &mut out);
        assert_eq!(out.as_slice(), &[Action::Buy { asset: 1, spend: 1 }]);
        assert_eq!(state, [7, 1, 0, 0]);
        let f = Feedback {
            step: 1,
            fills: &[],
            open_orders: &[],
            reward: 1.0,
            objective: 1.0,
            obs: &o,
            me: &me,
        };
        p.learn(&mut state, &f);
        p.track(&mut state, &f);
        assert_eq!(state, [7, 1, 0, 0]);
        assert_eq!(p.stable_for(&state), None);
        assert!(p.uses_fills() && p.uses_reward());
        assert!(p.assets().is_empty());
        assert_eq!(p.state_bytes(), 0);
        assert_eq!(p.save_state(&state), None);
        assert!(p.load_state(&[1, 2]).is_err());
    }

    /// The wrapper reports its policy's assets and fills, and its state's
    /// size: the policy's estimate where larger than the state itself
    /// (100 000 bytes), else the state's own (32 bytes for `[u64; 4]`,
    /// above `Plain`'s 0). It holds as a policy, is its own adaptive, finds
    /// its policy by type only, and prints as its policy.
    #[test]
    fn the_wrapper_reports_its_policys_assets_fills_size_and_type() {
        let r = Adaptive::new(Recorder);
        let p = Adaptive::from_arc(Arc::new(Plain));
        assert_eq!(r.assets(), vec![0, 2]);
        assert_eq!(Policy::assets(&r), vec![0, 2]);
        assert!(Policy::assets(&p).is_empty());
        assert!(!r.uses_fills() && p.uses_fills());
        assert_eq!(r.state_bytes(), 100_000);
        assert_eq!(p.state_bytes(), 32);
        assert!(r.policy::<Recorder>().is_some() && r.policy::<Plain>().is_none());
        assert!(p.policy::<Plain>().is_some());
        assert!(std::ptr::eq(r.as_adaptive().unwrap(), &r));
        let holdings = [0; 3];
        let me = AgentView::new(0, 0, 7, &holdings, 0);
        let mut rng = crate::rng::agent_rng(1, 0, 1, 0);
        assert_eq!(Policy::decide(&r, &no_obs(), &me, &mut rng), Action::Hold);
        assert_eq!(format!("{r:?}"), "Recorder");
        assert_eq!(format!("{p:?}"), "Plain");
    }

    /// The entries of an agent in a list sorted by agent: agent 3's of
    /// (1, 1, 3, 3, 3, 5) are 2..5, agent 1's 0..2, agent 2's and 6's none
    /// (at 2 and at the end).
    #[test]
    fn the_entries_of_an_agent_are_its_run_in_the_sorted_list() {
        let items: [AgentId; 6] = [1, 1, 3, 3, 3, 5];
        let of = |agent| of_agent(&items, agent, |&a| a);
        assert_eq!(of(3), 2..5);
        assert_eq!(of(1), 0..2);
        assert_eq!(of(5), 5..6);
        assert_eq!(of(2), 2..2);
        assert_eq!(of(6), 6..6);
        assert_eq!(of_agent(&[] as &[AgentId], 3, |&a| a), 0..0);
    }

    /// Agents 5 to 5 + 1030 (two chunks of 1024): agent `id` funded with
    /// `10 · id`.
    const START: AgentId = 5;
    const N: usize = 1030;

    fn ledger() -> Ledger {
        let mut l = Ledger::new(START as usize + N, 1);
        for id in 0..(START as usize + N) as AgentId {
            l.fund_balance(id, 10 * u64::from(id)).unwrap();
        }
        l
    }

    fn column(ledger: &Ledger, objective: Vec<f64>) -> Box<dyn StateColumn> {
        let mut c = Adaptive::new(Recorder).column();
        let private = StreamFamily::new(1, 0, 0, Stream::Private);
        c.init(ledger, START, START + N as AgentId, private, objective);
        c
    }

    /// Each agent of a column starts from its own account and index in the
    /// group, and decides as itself, over more than one chunk: agent `id`
    /// of member `id − 5` buys `1000 · id + id − 5`, evaluated sells `id`;
    /// actions set from outside replace its own, and a hold clears all.
    #[test]
    fn each_agent_of_a_column_starts_and_decides_as_itself_across_chunks() {
        let l = ledger();
        let mut c = column(&l, vec![0.0; N]);
        let states = c.states::<Recorder>().unwrap();
        assert_eq!(states.len(), N);
        for (k, s) in states.iter().enumerate() {
            let id = START + k as AgentId;
            assert_eq!(
                (s.id, s.member, s.balance),
                (id, k as u32, 10 * u64::from(id))
            );
        }
        assert!(c.states::<Plain>().is_none());
        assert!(!c.is_q_sellers() && c.q_sellers().is_none());
        let o = no_obs();
        let decide = StreamFamily::new(1, 0, 1, Stream::Decide);
        let private = StreamFamily::new(1, 0, 0, Stream::Private);
        c.decide(&l, &o, decide, private, false);
        for k in [0, 1, 1023, 1024, N - 1] {
            let id = START + k as AgentId;
            let spend = 1000 * u64::from(id) + k as u64;
            assert_eq!(c.actions(id), &[Action::Buy { asset: 0, spend }], "{k}");
        }
        c.decide(&l, &o, decide, private, true);
        for k in [0, 1024, N - 1] {
            let id = START + k as AgentId;
            let amount = u64::from(id);
            assert_eq!(c.actions(id), &[Action::Sell { asset: 0, amount }], "{k}");
        }
        let set = Action::Buy { asset: 0, spend: 1 };
        c.set(START + 2, set);
        assert_eq!(c.actions(START + 2), &[set]);
        assert_eq!(c.actions(START + 3).len(), 1);
        c.hold();
        assert!((0..N).all(|k| c.actions(START + k as AgentId).is_empty()));
        // The least stable count: 2000 − the last member.
        assert_eq!(c.stable_for(), Some(2000 - (N as u64 - 1)));
        assert!(!c.uses_reward());
    }

    /// Each agent learns its own reward, the change of its objective from
    /// the last measured one, with its own fills and open orders; the
    /// column returns their sum. Member k's objective goes 2k → 3k (reward
    /// k; the sum Σk = N(N − 1)/2); a step not measured teaches NaN and
    /// keeps 3k (stale); then 5k teaches 2k. In the evaluation phase the
    /// agents track and learn nothing.
    #[test]
    fn each_agent_of_a_column_learns_its_own_reward_fills_and_open_orders() {
        let l = ledger();
        let n = N as f64;
        let times = |m: f64| (0..N).map(|k| m * k as f64).collect::<Vec<f64>>();
        let mut c = column(&l, times(2.0));
        let o = no_obs();
        let fill = |agent| TradeRecord {
            step: 1,
            agent,
            counterpart: None,
            asset: 0,
            kind: TradeKind::Fill,
            buy: true,
            quantity: 1,
            money: 1,
        };
        // Two fills of agent 6, one of agent 1030 (member 1025, chunk 2).
        let fills = [fill(6), fill(6), fill(1030)];
        let open = [START, 1030, 1030];
        let order = OpenOrder {
            asset: 0,
            money: 1,
            tokens: 0,
        };
        let open_orders = [order; 3];
        let private = StreamFamily::new(1, 0, 0, Stream::Private);
        let three = times(3.0);
        let lesson = |objective: Option<&'static [f64]>, evaluation| Lesson {
            step: 1,
            ledger: &l,
            private,
            obs: &o,
            fills: &fills,
            open: &open,
            open_orders: &open_orders,
            objective,
            evaluation,
        };
        let three: &'static [f64] = Box::leak(three.into_boxed_slice());
        let sum = c.learn(&lesson(Some(three), false));
        assert_eq!(sum, n * (n - 1.0) / 2.0);
        assert!(!c.stale());
        let states = c.states::<Recorder>().unwrap();
        assert_eq!(states[0].lessons, vec![(0.0, 0.0, 0, 1)]);
        assert_eq!(states[1].lessons, vec![(1.0, 3.0, 2, 0)]);
        assert_eq!(states[1025].lessons, vec![(1025.0, 3075.0, 1, 2)]);
        assert_eq!(states[1026].lessons, vec![(1026.0, 3078.0, 0, 0)]);
        assert!(c.learn(&lesson(None, false)).is_nan());
        assert!(c.stale());
        let five: &'static [f64] = Box::leak(times(5.0).into_boxed_slice());
        let sum = c.learn(&lesson(Some(five), false));
        assert_eq!(sum, n * (n - 1.0));
        let states = c.states::<Recorder>().unwrap();
        assert_eq!(states[7].lessons.len(), 3);
        assert_eq!(states[7].lessons[2], (14.0, 35.0, 0, 0));
        assert!(states[7].lessons[1].0.is_nan());
        c.learn(&lesson(Some(five), true));
        let states = c.states::<Recorder>().unwrap();
        assert_eq!((states[7].lessons.len(), states[7].tracked), (3, 1));
    }

    /// The rewards are summed in agent order within chunks of 1024 and
    /// then over the chunks, as `StateColumn::learn`'s doc says, whatever
    /// the threads: with member 0's reward 2^53 and the last six members'
    /// 1 (chunk 2), the chunks sum to 2^53 and 6, and the total is 2^53 + 6
    /// exactly; one sum in agent order would lose each 1 to rounding
    /// (2^53 + 1 rounds to 2^53) and give 2^53.
    #[test]
    fn a_columns_rewards_are_summed_within_chunks_then_over_them() {
        let l = ledger();
        let mut c = column(&l, vec![0.0; N]);
        let big = 2f64.powi(53);
        assert_eq!(big + 1.0, big, "the premise: 1 is lost next to 2^53");
        let now: Vec<f64> = (0..N)
            .map(|k| match k {
                0 => big,
                k if k >= CHUNK => 1.0,
                _ => 0.0,
            })
            .collect();
        let now: &'static [f64] = Box::leak(now.into_boxed_slice());
        let o = no_obs();
        let sum = c.learn(&Lesson {
            step: 1,
            ledger: &l,
            private: StreamFamily::new(1, 0, 0, Stream::Private),
            obs: &o,
            fills: &[],
            open: &[],
            open_orders: &[],
            objective: Some(now),
            evaluation: false,
        });
        assert_eq!(sum, big + 6.0);
    }

    /// A column saves its agents' objectives and states and loads them
    /// back into a column of as many agents; a save of other sizes is
    /// refused and changes nothing; a save without states keeps the
    /// column's own.
    #[test]
    fn a_column_loads_only_a_save_of_its_own_size() {
        let l = ledger();
        let objective: Vec<f64> = (0..N).map(|k| k as f64 / 2.0).collect();
        let saved = column(&l, objective.clone()).save();
        assert_eq!(saved.objective, objective);
        let states = saved.states.clone().unwrap();
        assert_eq!(states.len(), N);
        assert_eq!(states[1027], 1027u32.to_le_bytes().to_vec());
        let mut other = column(&l, vec![0.0; N]);
        other.load(&saved).unwrap();
        assert_eq!(other.save(), saved);
        // Loaded states are the policy's `load_state`'s (id 0).
        assert_eq!(other.states::<Recorder>().unwrap()[3].id, 0);
        let mut fresh = column(&l, vec![0.0; N]);
        let before = fresh.save();
        let short = ColumnState {
            objective: vec![0.0; N - 1],
            states: None,
        };
        assert!(fresh.load(&short).is_err());
        let few = ColumnState {
            objective: objective.clone(),
            states: Some(states[..N - 1].to_vec()),
        };
        assert!(fresh.load(&few).is_err());
        assert_eq!(fresh.save(), before);
        let bare = ColumnState {
            objective: objective.clone(),
            states: None,
        };
        fresh.load(&bare).unwrap();
        assert_eq!(fresh.save().objective, objective);
        assert_eq!(fresh.states::<Recorder>().unwrap()[3].id, START + 3);
    }

    /// A column of Q-learning posted-price sellers is one: the posted-price
    /// session takes its parts, the policy, its first agent (3) and the
    /// states of its two sellers, none stale; a column of another policy
    /// is not.
    #[test]
    fn a_column_of_q_sellers_is_handed_to_the_posted_session_whole() {
        use crate::agents::learners::{Exploration, InitialQ, QParams};
        use crate::agents::{QSeller, QSellerSpec};
        use crate::market::posted::{GridSpec, PostedMarket};
        use crate::market::posted_market::PostedSetup;
        let market = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
        let setup =
            PostedSetup::new(market, &GridSpec::Span { m: 15, xi: 0.1 }, vec![3, 4]).unwrap();
        let spec = QSellerSpec {
            asset: 0,
            params: QParams {
                alpha: 0.15,
                delta: 0.95,
                exploration: Exploration::Constant(0.0),
            },
            memory: 1,
            q0: InitialQ::Constant(0.0),
        };
        let seller = QSeller::new(spec, Arc::new(setup), 0, 2).unwrap();
        let mut c = Adaptive::new(seller).column();
        let l = Ledger::new(5, 1);
        let private = StreamFamily::new(1, 0, 0, Stream::Private);
        c.init(&l, 3, 5, private, vec![0.0; 2]);
        assert!(c.is_q_sellers());
        let sellers = c.q_sellers().unwrap();
        assert_eq!((sellers.start, sellers.states.len()), (3, 2));
        assert_eq!(sellers.policy.spec().memory, 1);
        assert!(!*sellers.stale);
        let other = Adaptive::new(Plain).column();
        assert!(!other.is_q_sellers());
    }
}
