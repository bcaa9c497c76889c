//! The `[output]` table: optional outputs, and the memory they may take.

use super::{Fields, GroupSpec, MAX_AGENTS};
use crate::error::{Error, Result};

/// The `[output]` table: optional outputs beyond the group totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputSpec {
    /// Per-agent records (`[output.agent_steps]`), written to
    /// `agent_steps.csv`; none by default.
    pub agent_steps: Option<AgentStepsSpec>,
    /// Every fill, transfer and payment of the run (`trades = true`),
    /// written to `trades.csv` (and `trades.parquet`); off by default.
    pub trades: bool,
}

/// `[output.agent_steps]`: which agents' accounts are recorded at which
/// steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentStepsSpec {
    /// Record at step 0, every `every`-th step and the last step (≥ 1,
    /// default 1: every step).
    pub every: u64,
    /// At most this many agents of each group, evenly spaced within it
    /// (the first, then every `count / sample`-th); all agents if `None`.
    pub sample: Option<u32>,
}

impl AgentStepsSpec {
    /// How many agents of `groups` are recorded at a recorded step.
    pub fn recorded_agents(&self, groups: &[GroupSpec]) -> u128 {
        groups
            .iter()
            .map(|g| u128::from(self.sample.map_or(g.count, |s| s.min(g.count))))
            .sum()
    }

    /// Whether step `t` of a run of `steps` steps is recorded.
    pub fn records(&self, t: u64, steps: u64) -> bool {
        t % self.every == 0 || t == steps
    }

    /// The number of steps recorded in a run of `steps` steps (step 0
    /// included).
    pub fn recorded_steps(&self, steps: u64) -> u64 {
        steps / self.every + 1 + u64::from(steps % self.every != 0)
    }

    /// The members (0-based, within the group) recorded of a group of
    /// `count` agents: all, or `sample` of them evenly spaced.
    pub fn members(&self, count: u32) -> impl Iterator<Item = u32> {
        let k = self.sample.map_or(count, |s| s.min(count));
        (0..k).map(move |i| (u64::from(i) * u64::from(count) / u64::from(k.max(1))) as u32)
    }
}

/// The most memory the per-agent records of a run (all its Monte Carlo
/// runs together) may take, bytes: they are held until the files are
/// written.
pub const AGENT_STEPS_MEMORY_BUDGET: u64 = 1 << 30;

/// Bytes one per-agent record takes with `assets` assets, held and then
/// written: `304 + 72·assets` (in memory and as text).
pub fn agent_step_bytes(assets: usize) -> u64 {
    // the record (u128 amounts, two boxed slices and their heap headers),
    // then its CSV line (about 20 bytes a number)
    let m = assets as u64;
    (64 + 32 * (1 + m) + 48) + 20 * (8 + 2 * m)
}

/// Reads the optional `[output]` table.
pub(super) fn parse_output(root: &mut Fields<'_>) -> Result<OutputSpec> {
    let Some(mut o) = root.opt_table("output")? else {
        return Ok(OutputSpec::default());
    };
    let agent_steps = match o.opt_table("agent_steps")? {
        None => None,
        Some(mut a) => {
            let spec = AgentStepsSpec {
                every: a.opt_whole("every", 1, i64::MAX as u64)?.unwrap_or(1),
                sample: a.opt_whole("sample", 1, MAX_AGENTS)?.map(|n| n as u32),
            };
            a.finish()?;
            Some(spec)
        }
    };
    let trades = o.opt_bool("trades")?.unwrap_or(false);
    o.finish()?;
    Ok(OutputSpec {
        agent_steps,
        trades,
    })
}

pub(super) fn agent_step_rows(
    output: &OutputSpec,
    groups: &[GroupSpec],
    steps: u64,
    runs: u64,
) -> u128 {
    let Some(spec) = output.agent_steps else {
        return 0;
    };
    spec.recorded_agents(groups) * u128::from(spec.recorded_steps(steps)) * u128::from(runs)
}

/// Refuses per-agent records that would not fit in
/// [`AGENT_STEPS_MEMORY_BUDGET`], before anything runs.
pub(super) fn check_agent_steps_budget(
    origin: &str,
    output: &OutputSpec,
    groups: &[GroupSpec],
    assets: usize,
    steps: u64,
    runs: u64,
) -> Result<()> {
    let rows = agent_step_rows(output, groups, steps, runs);
    let bytes = rows.saturating_mul(u128::from(agent_step_bytes(assets)));
    if bytes <= u128::from(AGENT_STEPS_MEMORY_BUDGET) {
        return Ok(());
    }
    Err(Error::scenario(
        origin,
        "output.agent_steps".to_string(),
        format!(
            "{rows} per-agent records ({steps} steps, {runs} run{}) need about {} MB, more than \
             the {} MB allowed; record every few steps (`every`) or a sample of each group's \
             agents (`sample`)",
            if runs == 1 { "" } else { "s" },
            bytes >> 20,
            AGENT_STEPS_MEMORY_BUDGET >> 20
        ),
    ))
}
