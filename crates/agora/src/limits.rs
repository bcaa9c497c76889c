//! Limits: the memory a run needs, estimated from the scenario before
//! anything runs, against the memory the machine can give.
//!
//! A run holds every agent's account, its per-agent buffers and, for every
//! run of an ensemble, every recorded step until the results are written
//! (then the rendered tables too). A scenario whose sizes multiply past the
//! machine (`steps = 9223372036854775807`, a billion runs, a billion-point
//! sweep, 80 million agents under a 2 GB limit) would otherwise end in an
//! allocation failure, an abort. [`run_footprint`] and [`sweep_footprint`]
//! estimate the memory from the scenario's sizes alone; [`check`] compares
//! an estimate with a limit (by default [`available_memory`]) and refuses,
//! naming the field that weighs most. The estimates aim a little high: the
//! big vectors are also reserved fallibly, so a miss is still an error, not
//! an abort.
//!
//! ```
//! let scenario = agora::scenario::example("reference")?;
//! let footprint = agora::limits::run_footprint(&scenario, 2, 1);
//! assert!(footprint.total() > 10_000 * 16); // at least the accounts
//! agora::limits::check(scenario.origin(), &footprint, 1 << 30)?;
//! # Ok::<(), agora::Error>(())
//! ```

use crate::agents::{BuiltinPolicy, GroupPolicy};
use crate::engine::{AssetRecord, GroupRecord, RunOutput};
use crate::error::{Error, Result};
use crate::scenario::{PricingSpec, Scenario};
use std::fmt;
use std::mem::size_of;

/// Heap bookkeeping of one small allocation (glibc's chunk header and
/// rounding), bytes.
const ALLOCATION: u128 = 16;
/// Resting orders of one agent in one market: at most a bid and an ask,
/// each a slab slot, a queue link and an expiry entry; slabs grow by
/// doubling, so twice that.
const ORDERS_PER_AGENT: u128 = 256;
/// The program itself: its code, libraries and worker threads (measured:
/// 5 to 8 MB resident for the smallest runs).
const PROGRAM: u128 = 8_000_000;
/// A trader with a private value: the engine's list entry and the market's
/// map entry.
const PRIVATE_VALUE: u128 = 80;
/// One row of `assets.csv` as text, bytes (14 columns, shortest-round-trip
/// numbers, and the text buffer's growth by doubling).
const ASSET_ROW_TEXT: u128 = 150;
/// One row of `agents.csv` as text, bytes, plus this per asset.
const GROUP_ROW_TEXT: u128 = 90;
const GROUP_ROW_TEXT_PER_ASSET: u128 = 25;
/// Memory per group and per asset that grows neither with the steps nor
/// with the runs: the scenario (its TOML table and specs, and the copies
/// runs make), the summary as a JSON tree and as text, with the
/// distributions of its metrics. Measured (peak resident memory of `agora
/// run` on generated scenarios, 2 threads): 15.6 kB per group (20,000
/// against 60,000 groups of one agent, 10 steps) and 27.7 kB per asset
/// (1,000 against 5,000 assets).
const FIXED_PER_GROUP: u128 = 16_000;
const FIXED_PER_ASSET: u128 = 28_000;
/// Memory per run per group and per asset: the run's summary and its
/// metrics while the ensemble is aggregated. Measured as above, 1 against 5
/// runs: 1.2 kB per group, 1.9 kB per asset.
const SUMMARY_PER_GROUP: u128 = 1_300;
const SUMMARY_PER_ASSET: u128 = 2_000;
/// A sweep's validated copy of the scenario at each grid point, kept until
/// the point runs, and the point's row: measured (as above, 10 against 50
/// points of 2,000 groups, and 100 against 1,000 points of the reference
/// scenario) about 3 kB per group and 20 kB for a scenario of one group and
/// one asset.
const COPY_BASE: u128 = 12_000;
const COPY_PER_GROUP: u128 = 3_000;
const COPY_PER_ASSET: u128 = 5_000;
/// Address space that each worker thread reserves besides the heap it
/// uses (its stack and glibc's per-thread arena), bytes: it counts against
/// an address-space limit (`ulimit -v`), not against physical memory.
pub const THREAD_ADDRESS_SPACE: u64 = 66 << 20;

/// One component of a [`Footprint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The scenario field that sizes it (a dotted path such as
    /// `simulation.steps` or `agents.noise.count`), to name in an error;
    /// `None` for what no field sizes (the program, a sweep's grid).
    pub field: Option<String>,
    /// What it is, for a message: "records of 100 steps × 1 run".
    pub what: String,
    /// Bytes.
    pub bytes: u128,
}

/// What a [`Footprint`] is the memory of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Work {
    /// A run or a Monte Carlo ensemble (also each evaluation of an
    /// optimisation).
    #[default]
    Run,
    /// A sweep over a grid of points.
    Sweep,
}

impl fmt::Display for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Work::Run => "run",
            Work::Sweep => "sweep",
        })
    }
}

/// The memory a command needs, in parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Footprint {
    /// What needs it, for a message.
    pub what: Work,
    /// The parts, largest first.
    pub parts: Vec<Part>,
}

impl Footprint {
    /// Bytes in all.
    pub fn total(&self) -> u128 {
        self.parts.iter().map(|p| p.bytes).sum()
    }

    fn push(&mut self, field: &str, what: impl Into<String>, bytes: u128) {
        if bytes > 0 {
            self.parts.push(Part {
                field: (!field.is_empty()).then(|| field.to_string()),
                what: what.into(),
                bytes,
            });
        }
    }

    fn sorted(mut self) -> Self {
        self.parts.sort_by_key(|p| std::cmp::Reverse(p.bytes));
        self
    }
}

/// Bytes as a person reads them: `512 B`, `48.0 MB`, `1.4 ZB` (powers of
/// 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u128);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 10] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB", "RB"];
        let mut x = self.0 as f64;
        let mut unit = 0;
        while x >= 1000.0 && unit + 1 < UNITS.len() {
            x /= 1000.0;
            unit += 1;
        }
        if unit == 0 {
            write!(f, "{} B", self.0)
        } else if x >= 1000.0 {
            write!(f, "{x:.3e} {}", UNITS[unit])
        } else {
            write!(f, "{x:.1} {}", UNITS[unit])
        }
    }
}

/// Memory of one run's state while it runs: accounts, the execution
/// order, per-agent buffers, order books and the largest group's wealth
/// list for the summary; and the field to name for it, the count of the
/// group that weighs most.
fn state(scenario: &Scenario) -> (String, u128) {
    let m = scenario.assets.len() as u128;
    let resources = scenario
        .assets
        .iter()
        .filter(|a| matches!(a.pricing, PricingSpec::Resource(_)))
        .count() as u128;
    let markets = !scenario
        .assets
        .iter()
        .all(|a| matches!(a.pricing, PricingSpec::BondingCurve { .. }));
    let custom = scenario
        .groups
        .iter()
        .any(|g| matches!(g.policy, GroupPolicy::Custom(_)));
    // accounts (balance and one holding per asset), the execution order,
    // and the buffers every agent has a slot in
    let mut per_agent = (1 + m) * 8 + 4;
    if markets || custom {
        per_agent += size_of::<crate::Action>() as u128;
    }
    if resources > 0 {
        // unmet need, this step's allocation by agent per resource
        per_agent += 8 + resources * 8;
    }
    let largest = scenario.groups.iter().map(|g| g.count).max().unwrap_or(0);
    let mut total = u128::from(largest) * 8; // the summary's wealth list
    let mut heaviest = (0u128, "");
    for g in &scenario.groups {
        let n = u128::from(g.count);
        let mut bytes = n * per_agent;
        for j in g.policy.assets() {
            bytes += n * match scenario.assets.get(j).map(|a| &a.pricing) {
                Some(PricingSpec::BondingCurve { .. } | PricingSpec::Amm(_)) | None => 0,
                // requests, allocations and fairness lists, per step
                Some(PricingSpec::Resource(_)) => 64,
                Some(_) => ORDERS_PER_AGENT,
            };
        }
        if matches!(g.policy, GroupPolicy::Builtin(BuiltinPolicy::ZiC(_))) {
            bytes += n * PRIVATE_VALUE;
        }
        if let Some(adaptive) = g.policy.as_adaptive() {
            // each agent's action list, objective and state (as the policy
            // estimates it)
            bytes += n
                * (size_of::<crate::agents::Actions>() as u128
                    + 8
                    + adaptive.state_bytes() as u128);
        }
        if bytes > heaviest.0 {
            heaviest = (bytes, &g.name);
        }
        total += bytes;
    }
    (format!("agents.{}.count", heaviest.1), total)
}

/// Memory of one group row of records with `m` assets: the record and its
/// boxed per-asset holdings.
fn group_record_bytes(m: u128) -> u128 {
    size_of::<GroupRecord>() as u128 + (16 * m + 8).div_ceil(16) * 16 + ALLOCATION
}

/// The parts every command's footprint has: the program itself and what
/// grows with the assets and groups only.
fn push_fixed(f: &mut Footprint, scenario: &Scenario) {
    f.push("", "the program itself", PROGRAM);
    let (field, bytes) = fixed(scenario);
    f.push(
        field,
        format!(
            "the scenario and summary of {} assets and {} groups",
            scenario.assets.len(),
            scenario.groups.len()
        ),
        bytes,
    );
}

/// Memory of one run's records: every step's asset and group rows, the
/// price history agents see and the per-agent records asked for.
fn records_per_run(scenario: &Scenario) -> u128 {
    let m = scenario.assets.len() as u128;
    let g = scenario.groups.len() as u128;
    let per_row = m * size_of::<AssetRecord>() as u128 + g * group_record_bytes(m);
    // `[output.agent_steps]`: the per-agent records of a run, held and
    // rendered (the scenario caps them all at AGENT_STEPS_MEMORY_BUDGET).
    let agent_rows = scenario.agent_step_rows() / u128::from(scenario.simulation.runs.max(1));
    let agent_steps = agent_rows.saturating_mul(u128::from(crate::scenario::agent_step_bytes(
        scenario.assets.len(),
    )));
    // Rows every `record_every` steps; the price history every step.
    let history = (u128::from(scenario.simulation.max_steps()) + 1).saturating_mul(m * 8);
    u128::from(scenario.simulation.recorded_steps())
        .saturating_mul(per_row)
        .saturating_add(history)
        .saturating_add(agent_steps)
}

/// Memory of one run's rendered tables (the CSV text; as much again for
/// Parquet beside it).
fn tables_per_run(scenario: &Scenario) -> u128 {
    let m = scenario.assets.len() as u128;
    let g = scenario.groups.len() as u128;
    let per_step = m * ASSET_ROW_TEXT + g * (GROUP_ROW_TEXT + GROUP_ROW_TEXT_PER_ASSET * m);
    u128::from(scenario.simulation.recorded_steps()).saturating_mul(per_step)
}

/// Memory of one run's summary, and of its metrics while an ensemble is
/// aggregated.
fn summary_per_run(scenario: &Scenario) -> u128 {
    let m = scenario.assets.len() as u128;
    let g = scenario.groups.len() as u128;
    size_of::<RunOutput>() as u128 + m * SUMMARY_PER_ASSET + g * SUMMARY_PER_GROUP
}

/// Memory that grows with the groups and assets only, and the field to
/// name for it.
fn fixed(scenario: &Scenario) -> (&'static str, u128) {
    let m = scenario.assets.len() as u128;
    let g = scenario.groups.len() as u128;
    let field = if g * FIXED_PER_GROUP >= m * FIXED_PER_ASSET {
        "agents"
    } else {
        "assets"
    };
    (field, m * FIXED_PER_ASSET + g * FIXED_PER_GROUP)
}

/// The field to name for something that grows with both steps and runs:
/// the larger of the two.
fn steps_or_runs(scenario: &Scenario) -> &'static str {
    if scenario.simulation.runs > scenario.simulation.steps {
        "simulation.runs"
    } else {
        "simulation.steps"
    }
}

/// The memory `agora run` needs for `scenario`: the state of as many runs
/// as run at once (`threads`, at most the runs), and the records, rendered
/// tables (`tables` formats: 1 for CSV or Parquet, 2 for both, 0 where
/// none are written, as for an optimisation's evaluations) and summaries
/// of every run, which are all held until the results are written.
pub fn run_footprint(scenario: &Scenario, threads: usize, tables: u32) -> Footprint {
    let runs = u128::from(scenario.simulation.runs);
    let steps = scenario.simulation.steps;
    let at_once = runs.min(threads.max(1) as u128);
    let mut f = Footprint {
        what: Work::Run,
        parts: Vec::new(),
    };
    let run_word = |n: u128| if n == 1 { "run" } else { "runs" };
    let (field, bytes) = state(scenario);
    f.push(
        &field,
        format!(
            "the state of {} agents in {at_once} {} at once",
            scenario.agent_count(),
            run_word(at_once)
        ),
        bytes.saturating_mul(at_once),
    );
    let field = steps_or_runs(scenario);
    f.push(
        field,
        format!("records of {steps} steps × {runs} {}", run_word(runs)),
        records_per_run(scenario).saturating_mul(runs),
    );
    f.push(
        field,
        format!("tables of {steps} steps × {runs} {}", run_word(runs)),
        tables_per_run(scenario)
            .saturating_mul(runs)
            .saturating_mul(u128::from(tables)),
    );
    f.push(
        "simulation.runs",
        format!("summaries of {runs} {}", run_word(runs)),
        summary_per_run(scenario).saturating_mul(runs),
    );
    push_fixed(&mut f, scenario);
    f.sorted()
}

/// Rows of records a caller of [`Simulation::new_drained`] holds at most
/// before it drains them (`agora run` writes them out every this many
/// rows).
///
/// [`Simulation::new_drained`]: crate::Simulation::new_drained
pub const DRAIN_ROWS: usize = 1 << 16;

/// The memory of one run whose records are written out as it goes
/// ([`Simulation::new_drained`](crate::Simulation::new_drained), what
/// `agora run` does for a single run written as CSV): the run's state, its
/// price history (8 bytes per asset and step, which the summary needs) and
/// at most [`DRAIN_ROWS`] rows of records at a time.
pub fn drained_run_footprint(scenario: &Scenario) -> Footprint {
    let steps = scenario.simulation.steps;
    let m = scenario.assets.len() as u128;
    let mut f = Footprint {
        what: Work::Run,
        parts: Vec::new(),
    };
    let (field, bytes) = state(scenario);
    f.push(
        &field,
        format!("the state of {} agents", scenario.agent_count()),
        bytes,
    );
    f.push(
        "simulation.steps",
        format!("the price history of {steps} steps"),
        (u128::from(scenario.simulation.max_steps()) + 1).saturating_mul(m * 8),
    );
    let row = (size_of::<AssetRecord>() as u128).max(group_record_bytes(m))
        + ASSET_ROW_TEXT.max(GROUP_ROW_TEXT + GROUP_ROW_TEXT_PER_ASSET * m);
    f.push(
        "",
        format!("{DRAIN_ROWS} rows of records at a time"),
        row * DRAIN_ROWS as u128,
    );
    if let Some(spec) = scenario.output.agent_steps {
        // a step's per-agent records are drained after the step, all at once
        let agents = spec.recorded_agents(&scenario.groups);
        f.push(
            "output.agent_steps",
            format!("the per-agent records of a step ({agents} agents)"),
            agents.saturating_mul(u128::from(crate::scenario::agent_step_bytes(
                scenario.assets.len(),
            ))),
        );
    }
    f.push("simulation.runs", "the summary", summary_per_run(scenario));
    push_fixed(&mut f, scenario);
    f.sorted()
}

/// The memory `agora sweep` needs for `points` grid points of `scenario`
/// varying `axes` parameters: each point's validated scenario and the
/// summaries of all its runs, held until the table is written, the table
/// itself, and the state of `threads` runs at once (a sweep keeps no
/// records).
pub fn sweep_footprint(
    scenario: &Scenario,
    points: u128,
    axes: usize,
    threads: usize,
) -> Footprint {
    let runs = u128::from(scenario.simulation.runs);
    let mut f = Footprint {
        what: Work::Sweep,
        parts: Vec::new(),
    };
    let (field, bytes) = state(scenario);
    f.push(
        &field,
        format!(
            "the state of {} agents in {threads} runs at once",
            scenario.agent_count()
        ),
        bytes.saturating_mul(threads.max(1) as u128),
    );
    let m = scenario.assets.len() as u128;
    let g = scenario.groups.len() as u128;
    let copy = COPY_BASE + COPY_PER_GROUP * g + COPY_PER_ASSET * m;
    let point = 24 + 8 * axes as u128 + ALLOCATION;
    let per_point = copy + point + runs.saturating_mul(summary_per_run(scenario));
    f.push(
        "",
        format!("{points} grid points × {runs} runs"),
        points.saturating_mul(per_point),
    );
    f.push("", "the program itself", PROGRAM);
    let (field, bytes) = fixed(scenario);
    f.push(
        field,
        format!(
            "the scenario of {} assets and {} groups",
            scenario.assets.len(),
            scenario.groups.len()
        ),
        bytes,
    );
    f.sorted()
}

/// Agent-steps a run of `scenario` takes in all (agents × steps × runs),
/// for a time estimate.
pub fn agent_steps(scenario: &Scenario) -> u128 {
    u128::from(scenario.agent_count())
        .saturating_mul(u128::from(scenario.simulation.steps))
        .saturating_mul(u128::from(scenario.simulation.runs))
}

/// Refuses a footprint larger than `limit` bytes: a scenario error naming
/// the field of the largest part (or a usage error for a sweep's grid), the
/// estimate and its largest parts.
pub fn check(origin: &str, footprint: &Footprint, limit: u64) -> Result<()> {
    let total = footprint.total();
    if total <= u128::from(limit) {
        return Ok(());
    }
    let parts: Vec<String> = footprint
        .parts
        .iter()
        .take(3)
        .map(|p| format!("{}: {}", p.what, Bytes(p.bytes)))
        .collect();
    let message = format!(
        "the {} needs about {} of memory ({}), more than the {} available",
        footprint.what,
        Bytes(total),
        parts.join("; "),
        Bytes(u128::from(limit)),
    );
    Err(
        match footprint.parts.first().and_then(|p| p.field.as_deref()) {
            Some(field) => Error::scenario(origin, field, format!("{message}; lower {field}")),
            None if footprint.what == Work::Sweep => Error::usage(format!(
                "{origin}: {message}; use fewer grid points or runs"
            )),
            None => Error::usage(format!("{origin}: {message}")),
        },
    )
}

/// The memory this process may still use, and what limits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Available {
    /// Bytes.
    pub bytes: u64,
    /// What sets it: `"MemAvailable"` (free and reclaimable memory),
    /// `"cgroup"` (a container's memory limit), `"address-space limit"`
    /// (`ulimit -v`) or `"data-size limit"` (`ulimit -d`).
    pub source: &'static str,
}

/// The memory this process may still use: the least of the machine's
/// available memory (`MemAvailable` in `/proc/meminfo`), what the cgroup's
/// limits leave (`memory.max` less `memory.current`, at every level of
/// the hierarchy, or cgroup v1's `memory.limit_in_bytes`), and what the
/// address-space and data-size limits leave (`/proc/self/limits` less the
/// process's size), less [`THREAD_ADDRESS_SPACE`] per worker thread for an
/// address-space limit. `None` where none of these can be read (not
/// Linux).
pub fn available_memory(threads: usize) -> Option<Available> {
    let mut best: Option<Available> = None;
    let mut consider = |bytes: Option<u64>, source: &'static str| {
        if let Some(bytes) = bytes {
            if best.is_none_or(|b| bytes < b.bytes) {
                best = Some(Available { bytes, source });
            }
        }
    };
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let meminfo = read("/proc/meminfo");
    consider(
        meminfo
            .as_deref()
            .and_then(|t| kb_field(t, "MemAvailable:")),
        "MemAvailable",
    );
    consider(cgroup_room(), "cgroup");
    if let (Some(limits), Some(status)) = (read("/proc/self/limits"), read("/proc/self/status")) {
        let threads = threads.max(1) as u64;
        let room = |limit: Option<u64>, used: Option<u64>, extra: u64| {
            let limit = limit?;
            Some(
                limit
                    .saturating_sub(used.unwrap_or(0))
                    .saturating_sub(extra),
            )
        };
        consider(
            room(
                soft_limit(&limits, "Max address space"),
                kb_field(&status, "VmSize:"),
                threads * THREAD_ADDRESS_SPACE,
            ),
            "address-space limit",
        );
        consider(
            room(
                soft_limit(&limits, "Max data size"),
                kb_field(&status, "VmData:"),
                0,
            ),
            "data-size limit",
        );
    }
    best
}

/// A `Name:   123 kB` field of `/proc/meminfo` or `/proc/self/status`, in
/// bytes.
fn kb_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line[name.len()..].split_whitespace().next()?.parse().ok()?;
    kb.checked_mul(1024)
}

/// The soft limit of a row of `/proc/self/limits` (`None` for unlimited).
fn soft_limit(limits: &str, name: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

/// What the process's cgroup limits leave, the least over the hierarchy.
fn cgroup_room() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let number =
        |path: String| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let mut room: Option<u64> = None;
    let mut fold = |r: u64| room = Some(room.map_or(r, |x: u64| x.min(r)));
    // cgroup v2: "0::/path"
    if let Some(path) = cgroup.lines().find_map(|l| l.strip_prefix("0::")) {
        let mut dir = std::path::PathBuf::from("/sys/fs/cgroup");
        dir.push(path.trim_start_matches('/'));
        loop {
            let d = dir.display();
            if let (Some(max), Some(current)) = (
                number(format!("{d}/memory.max")),
                number(format!("{d}/memory.current")),
            ) {
                fold(max.saturating_sub(current));
            }
            if !dir.pop() || dir.as_os_str().len() < "/sys/fs/cgroup".len() {
                break;
            }
        }
    }
    // cgroup v1: the memory controller's limit ("no limit" is near 2^63)
    let v1 = "/sys/fs/cgroup/memory";
    if let (Some(limit), Some(usage)) = (
        number(format!("{v1}/memory.limit_in_bytes")),
        number(format!("{v1}/memory.usage_in_bytes")),
    ) {
        if limit < 1 << 60 {
            fold(limit.saturating_sub(usage));
        }
    }
    room
}

/// Parses a size: bytes (`1000000`), or a number with a binary suffix
/// `K`, `M`, `G`, `T` (also `KiB`, `MB`, … taken as powers of 1024):
/// `512M`, `1.5G`. `None` when it is not one.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let x: f64 = number.parse().ok()?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let scale: f64 = match unit {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0f64.powi(4),
        "p" => 1024.0f64.powi(5),
        _ => return None,
    };
    let bytes = x * scale;
    (0.0..1.8e19).contains(&bytes).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("2K"), Some(2048));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("8GiB"), Some(8 << 30));
        assert_eq!(parse_size("8 GB"), Some(8 << 30));
        assert_eq!(parse_size("1t"), Some(1 << 40));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1G"), None);
        assert_eq!(parse_size("5X"), None);
    }

    #[test]
    fn bytes_display_in_powers_of_1000() {
        assert_eq!(Bytes(512).to_string(), "512 B");
        assert_eq!(Bytes(48_000_000).to_string(), "48.0 MB");
        assert_eq!(Bytes(1_400_000_000_000_000_000_000).to_string(), "1.4 ZB");
        assert_eq!(Bytes(u128::MAX).to_string(), "3.403e11 RB");
    }

    #[test]
    fn proc_fields_are_read_in_bytes() {
        let meminfo = "MemTotal:       32000000 kB\nMemAvailable:   22666720 kB\n";
        assert_eq!(kb_field(meminfo, "MemAvailable:"), Some(22666720 * 1024));
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max data size             unlimited            unlimited            bytes     \n\
                      Max address space         2048000000           unlimited            bytes     \n";
        assert_eq!(soft_limit(limits, "Max address space"), Some(2_048_000_000));
        assert_eq!(soft_limit(limits, "Max data size"), None);
    }
}
