//! A run's phases: learning, then (where the scenario asks for one) an
//! evaluation phase of greedy play, then done.
//!
//! - **Learning** runs from step 1 until every learner has been stable for
//!   `K` steps (`[simulation] stop = { converged = K }`, checked after each
//!   step's learn phase against [`AdaptivePolicy::stable_for`]) or until
//!   `steps`, the cap.
//! - **Evaluation** then runs `evaluation_steps` steps in which adaptive
//!   agents play greedily ([`AdaptivePolicy::evaluate`]) and learn nothing
//!   ([`AdaptivePolicy::track`] instead of `learn`); `deviation` events
//!   happen here, timed from its first step. Posted-price markets average
//!   their prices and profits over it (up to the first deviation), which
//!   gives the summary's `mean_price`, `mean_profit` and
//!   `collusion_index`; without an evaluation phase they average every
//!   step.
//! - **Done**: [`Simulation::run`](super::Simulation::run) stops.
//!
//! A scenario with neither `stop` nor `evaluation_steps` has one phase,
//! learning, of `steps` steps: runs as before these phases existed.
//!
//! [`AdaptivePolicy::stable_for`]: crate::agents::AdaptivePolicy::stable_for
//! [`AdaptivePolicy::evaluate`]: crate::agents::AdaptivePolicy::evaluate
//! [`AdaptivePolicy::track`]: crate::agents::AdaptivePolicy::track

use serde::{Deserialize, Serialize};

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Phase {
    /// Agents decide and learn.
    Learning,
    /// Agents play greedily and learn nothing, from step `from`.
    Evaluation {
        /// The first step of the phase.
        from: u64,
    },
    /// Nothing is left to run.
    Done,
}

/// A run's phase and what the summary reports of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Session {
    pub phase: Phase,
    /// Whether the learning phase ended on convergence.
    pub converged: bool,
    /// Steps of the learning phase (set when it ends).
    pub learning_steps: u64,
    /// Whether posted-price markets count the current steps in their means.
    pub counting: bool,
    /// The last step whose rows were recorded.
    pub recorded: u64,
}

impl Session {
    /// A run at step 0: learning, posted-price markets counting every step
    /// unless an evaluation phase will (`evaluation`).
    pub fn start(evaluation: bool) -> Self {
        Session {
            phase: Phase::Learning,
            converged: false,
            learning_steps: 0,
            counting: !evaluation,
            recorded: 0,
        }
    }

    /// Whether agents play greedily now.
    #[inline]
    pub fn evaluating(&self) -> bool {
        matches!(self.phase, Phase::Evaluation { .. })
    }

    /// Step `t`'s place in the evaluation phase, from 1 (`None` outside it).
    #[inline]
    pub fn evaluation_step(&self, t: u64) -> Option<u64> {
        match self.phase {
            Phase::Evaluation { from } if t >= from => Some(t - from + 1),
            _ => None,
        }
    }
}

/// What `summary.json` reports of a run's phases (`simulation`), for a
/// scenario with a `stop` or an evaluation phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationSummary {
    /// 1 if the learning phase ended on convergence
    /// (`stop = { converged = K }`), else 0 (it reached `steps`); across
    /// runs, the mean is the share that converged.
    pub converged: u64,
    /// Steps of the learning phase.
    pub learning_steps: u64,
    /// Steps run in all: learning and evaluation.
    pub steps_run: u64,
}
