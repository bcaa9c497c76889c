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
