//! The `[simulation]` and `[stability]` tables.

/// The `[simulation]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulationSpec {
    /// Number of steps (≥ 1).
    pub steps: u64,
    /// Base seed; every random stream is derived from it.
    pub seed: u64,
    /// Monte Carlo runs (≥ 1, default 1); run `r` draws every stream from
    /// (seed, r), never from a shared generator.
    pub runs: u64,
    /// When the learning phase ends before `steps` (`stop`); `steps` is
    /// then its cap.
    pub stop: Option<Stop>,
    /// Steps of the evaluation phase after the learning phase: the agents'
    /// policies played greedily, nothing learned
    /// ([`AdaptivePolicy::evaluate`](crate::agents::AdaptivePolicy::evaluate)).
    /// 1000 by default with a `stop`, 0 without.
    pub evaluation_steps: u64,
    /// Rows of `assets.csv` and `agents.csv` are written for every this
    /// many steps (≥ 1, default 1), from step 0, and for the last step;
    /// the summary uses every step.
    pub record_every: u64,
    /// The intelligence level run (`intelligence`): the tables marked with
    /// a higher level are left out (see the scenario's `levels` module);
    /// `None` runs every table.
    pub intelligence: Option<u64>,
}

/// When a run's learning phase ends (`[simulation] stop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// `stop = { converged = K }`: once every learner's greedy action in
    /// every state has stayed the same for `K` consecutive steps
    /// ([`AdaptivePolicy::stable_for`](crate::agents::AdaptivePolicy::stable_for)).
    Converged(u64),
}

impl SimulationSpec {
    /// The most steps a run takes: the learning phase's `steps` and the
    /// evaluation phase's.
    pub fn max_steps(&self) -> u64 {
        self.steps.saturating_add(self.evaluation_steps)
    }

    /// Whether step `t`'s rows are recorded ([`record_every`](Self::record_every);
    /// the last step's always are, which the engine sees to).
    #[inline]
    pub fn records_step(&self, t: u64) -> bool {
        self.record_every <= 1 || t % self.record_every == 0
    }

    /// The most rows per asset (and per group) a run records: step 0, every
    /// `record_every`-th step and the last.
    pub fn recorded_steps(&self) -> u64 {
        let every = self.record_every.max(1);
        (self.max_steps() / every)
            .saturating_add(2)
            .min(self.max_steps().saturating_add(1))
    }
}

/// The `[stability]` table: how recovery from the first shock is measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StabilitySpec {
    /// Relative half-width of the band around the pre-shock price within
    /// which the price counts as recovered (default 0.05).
    pub band: f64,
    /// Number of steps before the shock whose mean price is the pre-shock
    /// level (default 10; fewer if the shock comes earlier).
    pub window: u64,
}

impl Default for StabilitySpec {
    fn default() -> Self {
        StabilitySpec {
            band: 0.05,
            window: 10,
        }
    }
}
