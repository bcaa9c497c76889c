//! Scenarios: what a simulation is made of, read from TOML and validated.
//!
//! A scenario file has three parts:
//!
//! ```toml
//! [simulation]
//! steps = 100          # number of steps, >= 1
//! seed = 7             # base seed (explicit: there is no random default)
//!
//! [[assets]]
//! name = "TOKEN"
//! initial_supply = 0.0 # optional; unheld tokens, backed by a funded reserve
//! pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }
//!
//! [[agents]]
//! group = "noise"
//! count = 10000
//! balance = 1000.0
//! policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
//! ```
//!
//! Optional `[[events]]` (dumps, joins, leaves, parameter jumps) and a
//! `[stability]` table add shocks and the metrics of recovery from them.
//! `[[metrics]]` entries name summary metrics registered by the program
//! ([`PolicyRegistry::register_metric`], [`crate::metrics::Metric`]).
//!
//! The README lists every field. Reading is strict: an unknown key, a missing
//! field, a value of the wrong type or out of range is an
//! [`Error`] naming the file, the dotted field path (e.g.
//! `agents.noise.policy.p_buy`) and what is expected.

mod agents;
mod amm;
mod assets;
mod attackers;
mod build;
pub mod contracts;
mod edit;
mod events;
mod examples;
mod extend;
pub(crate) mod fields;
mod game;
pub mod governance;
pub mod incentives;
mod kinds;
mod learners;
mod learners_posted;
mod levels;
mod metrics;
pub mod monitors;
mod output;
mod paths;
mod posted;
mod registry;
mod simulation;

pub use agents::{AirdropSpec, GroupSpec, Objective, PolicyKind, ShareDistribution};
pub use amm::{AmmCurve, AmmSpec, Ordering};
pub use assets::{
    AdjustmentSpec, AssetSpec, BookSpec, EquilibriumSpec, PricingKind, PricingSpec,
    ResourcePricing, ResourceSpec, PRICING_KINDS,
};
pub use build::ScenarioBuilder;
pub use events::{Change, EventKind, EventSpec, EventType, ScheduledChange};
pub use examples::{example, examples, Example};
use extend::Extensions;
pub use extend::{CustomPricing, Registry};
pub use fields::{describe, Fields, Range};
pub use governance::{
    GovernanceKind, GovernanceRule, GovernanceSpec, Measure, TaxTo, GOVERNANCE_KINDS,
};
pub use incentives::{IncentiveKind, IncentiveRule, IncentiveSpec};
pub(crate) use kinds::kinds;
pub use kinds::Kind;
pub use metrics::MetricSpec;
pub use monitors::{MonitorKind, MonitorRule, MonitorSpec};
pub use output::{agent_step_bytes, AgentStepsSpec, OutputSpec, AGENT_STEPS_MEMORY_BUDGET};
pub(crate) use paths::toml_value;
pub use paths::ParamValue;
pub use posted::{LogitDemand, PostedSpec, Quality};
pub use registry::{PolicyFactory, PolicyRegistry, BUILTIN_POLICIES};
pub use simulation::{SimulationSpec, StabilitySpec, Stop};

use agents::{check_policy_fits_assets, parse_group};
use assets::parse_asset;
use events::{check_parameter_sequence, parse_event, raw_entry, Membership, Names, Posted};
use metrics::parse_metrics;
use output::{agent_step_rows, check_agent_steps_budget, parse_output};

use crate::error::{Error, ErrorKind, Result};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// The most agents a scenario may hold in all.
pub const MAX_AGENTS: u64 = u32::MAX as u64 - 1;

/// The largest scenario file read, bytes (64 MiB: some 400,000 groups of
/// agents written out one by one). Reading stops there, so that a wrong
/// path (`/dev/zero`, a multi-gigabyte data file) is an error, not an
/// exhausted memory.
pub const MAX_SCENARIO_BYTES: u64 = 64 << 20;

/// A validated scenario, ready to run.
///
/// Read-only once validated: its parts are read through getters, and the
/// only changes are the ones that validate again and keep the TOML it is
/// written as (`scenario.toml`) and its hash in step ([`Scenario::set_seed`],
/// [`Scenario::set_steps`], [`Scenario::set_runs`], [`Scenario::with_param`]).
/// To make one in code, see [`Scenario::builder`].
///
/// ```
/// let mut s = agora::scenario::example("reference")?;
/// s.set_steps(5)?; // validated; scenario.toml and the hash follow
/// assert_eq!(s.simulation().steps, 5);
/// assert_eq!(s.param("simulation.steps")?, 5.0);
/// # Ok::<(), agora::Error>(())
/// ```
///
/// Its parts cannot be changed behind the validation's back:
///
/// ```compile_fail
/// let mut s = agora::scenario::example("reference").unwrap();
/// s.simulation.steps = 5;
/// ```
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(crate) origin: String,
    pub(crate) simulation: SimulationSpec,
    pub(crate) assets: Vec<AssetSpec>,
    pub(crate) groups: Vec<GroupSpec>,
    pub(crate) events: Vec<EventSpec>,
    pub(crate) governance: Vec<GovernanceSpec>,
    /// Incentive rules (`[[incentives]]`), in file order.
    pub(crate) incentives: Vec<IncentiveSpec>,
    /// Monitors (`[[monitors]]`), in file order.
    pub(crate) monitors: Vec<MonitorSpec>,
    pub(crate) stability: StabilitySpec,
    pub(crate) output: OutputSpec,
    pub(crate) metrics: Vec<MetricSpec>,
    /// The affiliate contracts (`[[contracts]]`).
    pub(crate) contracts: Vec<contracts::ContractSpec>,
    /// Each asset's posted-price market, as built from its sellers (`None`
    /// for other assets).
    pub(crate) posted: Vec<Option<Arc<crate::market::posted_market::PostedSetup>>>,
    source: toml::Table,
    /// The text the scenario was read from, if it was read from text: kept
    /// so that an edited scenario can be written as the user's own file
    /// with only the changed values replaced.
    text: Option<Arc<str>>,
    registry: PolicyRegistry,
}

/// Something in a valid scenario that is probably not what was meant (see
/// [`Scenario::warnings`]). Displays as one line, like an error:
/// `FILE: PATH: MESSAGE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file the scenario came from, or a label such as `<example NAME>`.
    pub origin: String,
    /// The dotted path of the field concerned, e.g. `events[0].at`.
    pub path: String,
    /// What was found and why it is probably not meant.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.origin, self.path, self.message)
    }
}

impl Scenario {
    /// Reads and validates a scenario file, with the built-in policies.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_path_with(path, &PolicyRegistry::new())
    }

    /// Reads and validates a scenario file, with the policies of `registry`.
    pub fn from_path_with(path: impl AsRef<Path>, registry: &PolicyRegistry) -> Result<Self> {
        use std::io::Read;
        let path = path.as_ref();
        let origin = path.display().to_string();
        let io = |e| Error::io(path, crate::error::READING_SCENARIO, e);
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        file.take(MAX_SCENARIO_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_SCENARIO_BYTES {
            return Err(Error::scenario(
                origin,
                "",
                format!(
                    "the file is larger than {} MiB, the most a scenario file may be; \
                     is it the scenario?",
                    MAX_SCENARIO_BYTES >> 20
                ),
            ));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 text (at byte {})", e.utf8_error().valid_up_to()),
            ))
        })?;
        Self::from_toml_str_with(&text, &origin, registry)
    }

    /// Parses and validates scenario text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        Self::from_toml_str_with(text, origin, &PolicyRegistry::new())
    }

    /// Parses and validates scenario text with the policies of `registry`.
    pub fn from_toml_str_with(text: &str, origin: &str, registry: &PolicyRegistry) -> Result<Self> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::from(ErrorKind::Syntax {
                origin: origin.to_string(),
                message: e.to_string(),
            })
        })?;
        let mut scenario = Self::from_table(table, origin, registry)?;
        // A game file read is written inline: the user's text is no longer
        // the scenario's.
        if !game::has_game_file(&scenario.assets) {
            scenario.text = Some(Arc::from(text));
        }
        Ok(scenario)
    }

    /// Validates a scenario given as a TOML table. A population game read
    /// from a game file (`game = "FILE"`) is put into the table inline
    /// (`strategies` and `payoffs`), so that the scenario, its hash and the
    /// `scenario.toml` written with its results stand alone.
    pub fn from_table(
        mut table: toml::Table,
        origin: &str,
        registry: &PolicyRegistry,
    ) -> Result<Self> {
        let parsed = parse(&table, origin, registry)?;
        game::inline_game_files(&mut table, &parsed.assets);
        Ok(Scenario {
            source: table,
            text: None,
            registry: registry.clone(),
            ..parsed
        })
    }

    /// The registry the scenario was read with (its user policies and
    /// kinds), to read variants of it.
    pub(crate) fn registry(&self) -> &PolicyRegistry {
        &self.registry
    }

    /// Where the scenario came from (a path, `<example NAME>`, or what the
    /// builder was given), as error messages name it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Steps, seed and Monte Carlo runs (`[simulation]`).
    pub fn simulation(&self) -> &SimulationSpec {
        &self.simulation
    }

    /// The assets, in file order (their index is their id).
    pub fn assets(&self) -> &[AssetSpec] {
        &self.assets
    }

    /// The agent groups, in file order, then each contract's hidden
    /// referral pool (`NAME:referrals`); agents are numbered group by group.
    pub fn groups(&self) -> &[GroupSpec] {
        &self.groups
    }

    /// The affiliate contracts (`[[contracts]]`), in file order.
    pub fn contracts(&self) -> &[contracts::ContractSpec] {
        &self.contracts
    }

    /// Governance rules (`[[governance]]`), in file order.
    pub fn governance(&self) -> &[GovernanceSpec] {
        &self.governance
    }

    /// Incentive rules (`[[incentives]]`), in file order.
    pub fn incentives(&self) -> &[IncentiveSpec] {
        &self.incentives
    }

    /// Monitors (`[[monitors]]`), in file order.
    pub fn monitors(&self) -> &[MonitorSpec] {
        &self.monitors
    }

    /// Whether any group's policy is an attacker's
    /// ([`PolicyKind::is_attacker`]).
    pub fn has_attackers(&self) -> bool {
        self.groups.iter().any(|g| g.is_attacker())
    }

    /// Scheduled events (`[[events]]`), in file order.
    pub fn events(&self) -> &[EventSpec] {
        &self.events
    }

    /// How stability after the first shock is measured (`[stability]`).
    pub fn stability(&self) -> &StabilitySpec {
        &self.stability
    }

    /// Optional outputs (`[output]`).
    pub fn output(&self) -> &OutputSpec {
        &self.output
    }

    /// The summary metrics asked for (`[[metrics]]`), in file order.
    pub fn metrics(&self) -> &[MetricSpec] {
        &self.metrics
    }

    /// The posted-price market of asset `j` as built from its sellers
    /// (their agents and costs, the benchmarks, the grid, every profile's
    /// profits), if the asset is priced by one.
    pub fn posted_market(&self, j: usize) -> Option<&crate::market::posted_market::PostedSetup> {
        self.posted.get(j)?.as_deref()
    }

    /// The scenario as a TOML table (with any overrides applied).
    pub fn to_table(&self) -> &toml::Table {
        &self.source
    }

    /// A hash of the scenario's content (`sha256:` and 64 hex digits): the
    /// same for the same content, whatever its layout, comments or key order.
    pub fn hash(&self) -> String {
        let canonical = toml::to_string(&self.source).unwrap_or_default();
        let digest = Sha256::digest(canonical.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    /// Replaces the seed.
    pub fn set_seed(&mut self, seed: u64) -> Result<()> {
        let value = i64::try_from(seed)
            .map_err(|_| Error::usage(format!("seed {seed} is larger than {}", i64::MAX)))?;
        self.simulation.seed = seed;
        self.set_simulation_key("seed", value);
        Ok(())
    }

    /// Replaces the number of steps (≥ 1). What the steps size or bound —
    /// a contract's referral pool, its tasks, its vesting and holds — is
    /// worked out again, as if the scenario had been written with these
    /// steps: the run is the one its written `scenario.toml` gives. A
    /// scenario these steps make invalid (a task count whose total over
    /// the run would pass the ledger's range) is an error naming the
    /// field; what they make pointless (a vesting longer than the run) is
    /// a [warning](Self::warnings).
    pub fn set_steps(&mut self, steps: u64) -> Result<()> {
        let value = i64::try_from(steps)
            .ok()
            .filter(|s| *s >= 1)
            .ok_or_else(|| {
                Error::usage(format!(
                    "steps must be from 1 to {}, found {steps}",
                    i64::MAX
                ))
            })?;
        check_agent_steps_budget(
            &self.origin,
            &self.output,
            &self.groups,
            self.assets.len(),
            steps,
            self.simulation.runs,
        )?;
        let mut table = self.source.clone();
        if let toml::Value::Table(sim) = table
            .entry("simulation")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
        {
            sim.insert("steps".to_string(), toml::Value::Integer(value));
        }
        *self = self.revalidated(table)?;
        Ok(())
    }

    /// Replaces the number of Monte Carlo runs (≥ 1).
    pub fn set_runs(&mut self, runs: u64) -> Result<()> {
        let value = i64::try_from(runs)
            .ok()
            .filter(|r| (1..=1_000_000_000).contains(r))
            .ok_or_else(|| {
                Error::usage(format!("runs must be from 1 to 1000000000, found {runs}"))
            })?;
        check_agent_steps_budget(
            &self.origin,
            &self.output,
            &self.groups,
            self.assets.len(),
            self.simulation.steps,
            runs,
        )?;
        self.simulation.runs = runs;
        self.set_simulation_key("runs", value);
        Ok(())
    }

    /// The number of per-agent records (`[output.agent_steps]`) a run of
    /// the scenario and all its Monte Carlo runs hold (0 without them).
    pub fn agent_step_rows(&self) -> u128 {
        agent_step_rows(
            &self.output,
            &self.groups,
            self.simulation.steps,
            self.simulation.runs,
        )
    }

    /// Returns the value of the numeric field at a dotted parameter path,
    /// e.g. `assets.TOKEN.pricing.m`, `agents.noise.count`,
    /// `agents.noise.policy.p_buy`, `simulation.steps`. Entries of `assets`
    /// and `agents` are named by their `name` and `group`.
    pub fn param(&self, path: &str) -> Result<f64> {
        paths::get(&self.source, path).map_err(|m| Error::scenario(&self.origin, path, m))
    }

    /// Returns a copy of the scenario with the numeric field at `path` set to
    /// `value`, validated again in full: an unknown path, a value of the
    /// wrong kind (a fraction for a count) or one that makes the scenario
    /// invalid is an error naming the path.
    pub fn with_param(&self, path: &str, value: f64) -> Result<Scenario> {
        self.with_value(path, &ParamValue::Number(value))
    }

    /// Validates `table` as this scenario changed: same origin, policies
    /// and original text.
    fn revalidated(&self, table: toml::Table) -> Result<Scenario> {
        let mut s = Scenario::from_table(table, &self.origin, &self.registry)?;
        s.text = self.text.clone();
        Ok(s)
    }

    fn set_simulation_key(&mut self, key: &str, value: i64) {
        if let Some(toml::Value::Table(sim)) = self.source.get_mut("simulation") {
            sim.insert(key.to_string(), toml::Value::Integer(value));
        }
    }

    /// What is valid but probably not meant: events and scheduled changes
    /// after the last step, which never happen. Computed from the current
    /// steps (after any [`Scenario::set_steps`]); for the caller to show.
    pub fn warnings(&self) -> Vec<Warning> {
        let steps = self.simulation.steps;
        let mut out = Vec::new();
        let mut warn = |path: String, message: String| {
            out.push(Warning {
                origin: self.origin.clone(),
                path,
                message,
            })
        };
        for asset in &self.assets {
            for (i, c) in asset.schedule.iter().enumerate() {
                let path = format!("assets.{}.schedule[{i}]", asset.name);
                match c.change {
                    Change::Step { at, .. } if at > steps => warn(
                        format!("{path}.at"),
                        format!("step {at} is after the last step ({steps}): the change never happens"),
                    ),
                    // the parameter first moves at step from + 1
                    Change::Ramp { from, .. } if from >= steps => warn(
                        format!("{path}.from"),
                        format!("the ramp starts at step {from}, and the last step is {steps}: the parameter never moves"),
                    ),
                    _ => {}
                }
            }
        }
        let evaluation = self.simulation.evaluation_steps;
        for (i, e) in self.events.iter().enumerate() {
            if e.kind.in_evaluation() {
                if e.at > evaluation {
                    warn(
                        format!("events[{i}].at"),
                        format!(
                            "step {} of the evaluation phase is after its last ({evaluation}): \
                             the {} event never happens",
                            e.at,
                            e.kind.name()
                        ),
                    );
                }
            } else if e.at > steps {
                warn(
                    format!("events[{i}].at"),
                    format!(
                        "step {} is after the last step ({steps}): the {} event never happens",
                        e.at,
                        e.kind.name()
                    ),
                );
            }
        }
        for rule in &self.incentives {
            if let incentives::IncentiveRule::HoldingReward { min_hold_steps, .. } = rule.rule {
                if min_hold_steps > steps {
                    warn(
                        format!("incentives.{}.min_hold_steps", rule.name),
                        format!(
                            "{min_hold_steps} steps, longer than the run's {steps}: it never pays"
                        ),
                    );
                }
            }
        }
        for c in &self.contracts {
            if c.reward.vesting > steps {
                warn(
                    format!("contracts.{}.reward.vesting", c.name),
                    format!(
                        "{} steps, longer than the run's {steps}: the last instalments never vest",
                        c.reward.vesting
                    ),
                );
            }
            if let Some(sybil) = c.sybil.filter(|s| s.hold > steps) {
                warn(
                    format!("contracts.{}.sybil.hold", c.name),
                    format!(
                        "{} steps, longer than the run's {steps}: the fakes never sell",
                        sybil.hold
                    ),
                );
            }
        }
        out
    }

    /// Total number of agents.
    pub fn agent_count(&self) -> u64 {
        self.groups.iter().map(|g| u64::from(g.count)).sum()
    }

    /// The index of the asset called `name`.
    pub fn asset_index(&self, name: &str) -> Option<usize> {
        self.assets.iter().position(|a| a.name == name)
    }

    /// The step of the shock that stability is measured from: the earliest
    /// event's `at` (a deviation, timed in the evaluation phase, is not a
    /// shock), or `None` without events.
    pub fn shock_step(&self) -> Option<u64> {
        self.events
            .iter()
            .filter(|e| !e.kind.in_evaluation())
            .map(|e| e.at)
            .min()
    }
}

fn parse(table: &toml::Table, origin: &str, registry: &PolicyRegistry) -> Result<Scenario> {
    // the tables of the intelligence level selected, if any are marked
    let selected = levels::select(table, origin)?;
    let table = selected.as_ref().unwrap_or(table);
    let mut root = Fields::new(origin, "", table);
    root.opt_string("name")?;
    root.opt_text("description")?;

    let mut sim = root.table("simulation")?;
    let steps = sim.whole("steps", 1, i64::MAX as u64)?;
    let seed = sim.whole("seed", 0, i64::MAX as u64)?;
    let runs = sim.opt_whole("runs", 1, 1_000_000_000)?.unwrap_or(1);
    let stop = match sim.opt_table("stop")? {
        None => None,
        Some(mut t) => {
            let k = t.whole("converged", 1, i64::MAX as u64)?;
            t.finish()?;
            Some(Stop::Converged(k))
        }
    };
    let default_evaluation = if stop.is_some() { 1000 } else { 0 };
    let simulation = SimulationSpec {
        steps,
        seed,
        runs,
        stop,
        evaluation_steps: sim
            .opt_whole("evaluation_steps", 0, i64::MAX as u64 - steps)?
            .unwrap_or(default_evaluation.min(i64::MAX as u64 - steps)),
        record_every: sim
            .opt_whole("record_every", 1, i64::MAX as u64)?
            .unwrap_or(1),
        intelligence: sim.opt_whole("intelligence", 0, i64::MAX as u64)?,
    };
    sim.finish()?;

    let asset_tables = root.tables("assets", Some("name"))?;
    if asset_tables.is_empty() {
        return Err(root.error("assets", "missing; expected at least one [[assets]] table"));
    }
    // Names are checked for duplicates and looked up through sets and maps,
    // never by scanning the earlier entries: a scenario may hold hundreds
    // of thousands of groups.
    let mut names: Vec<String> = Vec::new();
    let mut asset_set: HashSet<String> = HashSet::new();
    let mut assets = Vec::new();
    for mut f in asset_tables {
        let asset = parse_asset(&mut f, &asset_set, registry)?;
        f.finish()?;
        asset_set.insert(asset.name.clone());
        names.push(asset.name.clone());
        assets.push(asset);
    }

    let group_tables = root.tables("agents", Some("group"))?;
    let mut groups: Vec<GroupSpec> = Vec::new();
    let mut sellers = Vec::new();
    let mut group_index: HashMap<String, usize> = HashMap::new();
    let mut total: u64 = 0;
    for mut f in group_tables {
        let (group, seller) = parse_group(&mut f, &names, &assets, registry)?;
        if group_index.contains_key(&group.name) {
            return Err(f.error("group", format!("duplicate group name {:?}", group.name)));
        }
        group_index.insert(group.name.clone(), groups.len());
        total += u64::from(group.count);
        if total > MAX_AGENTS {
            return Err(f.error(
                "count",
                format!("the scenario holds more than {MAX_AGENTS} agents in all"),
            ));
        }
        check_policy_fits_assets(&f, &group, &assets)?;
        f.finish()?;
        groups.push(group);
        sellers.push(seller);
    }
    let posted = posted::resolve(origin, &assets, &mut groups, &sellers)?;

    let stability = match root.opt_table("stability")? {
        None => StabilitySpec::default(),
        Some(mut s) => {
            let default = StabilitySpec::default();
            let spec = StabilitySpec {
                band: s.number_or("band", Range::NonNegative, default.band)?,
                window: s
                    .opt_whole("window", 1, 1_000_000_000)?
                    .unwrap_or(default.window),
            };
            s.finish()?;
            spec
        }
    };
    let group_names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    let groups_by_name = Names {
        list: &group_names,
        index: &group_index,
    };
    let mut events = Vec::new();
    let mut membership: HashMap<usize, Membership> = HashMap::new();
    for (i, mut e) in root.tables("events", None)?.into_iter().enumerate() {
        let raw = raw_entry(table, "events", i);
        let checks = Posted {
            setups: &posted,
            evaluation_steps: simulation.evaluation_steps,
        };
        let event = parse_event(
            &mut e,
            raw,
            &names,
            &groups_by_name,
            &assets,
            &membership,
            &checks,
        )?;
        e.finish()?;
        match event.kind {
            EventKind::Join { group } => {
                membership.entry(group).or_default().join = Some((i, event.at))
            }
            EventKind::Leave { group, .. } => {
                membership.entry(group).or_default().leave = Some((i, event.at))
            }
            _ => {}
        }
        events.push(event);
    }
    check_parameter_sequence(&root, &assets, &events)?;
    let mut governance: Vec<GovernanceSpec> = Vec::new();
    for mut g in root.tables("governance", Some("name"))? {
        let rule = governance::parse_governance(&mut g, &names, &assets, &governance)?;
        if governance.iter().any(|r| r.name == rule.name) {
            return Err(g.error(
                "name",
                format!(
                    "{:?} names another governance rule too; names must differ",
                    rule.name
                ),
            ));
        }
        g.finish()?;
        governance.push(rule);
    }
    let (contracts, pools) = contracts::parse_contracts(
        &mut root,
        simulation.steps,
        &names,
        &assets,
        &groups,
        &group_index,
        registry,
    )?;
    for pool in pools {
        total += u64::from(pool.count);
        if total > MAX_AGENTS {
            return Err(root.error(
                "contracts",
                format!("the referral pools take the scenario past {MAX_AGENTS} agents"),
            ));
        }
        groups.push(pool);
    }
    let incentives = incentives::parse_incentives(
        &mut root,
        &contracts,
        &assets,
        &names,
        &group_names,
        &group_index,
    )?;
    incentives::check_stakers(origin, &groups, &incentives, &names)?;
    let monitors = monitors::parse_monitors(&mut root, &assets, &names)?;
    let output = parse_output(&mut root)?;
    let metrics = parse_metrics(&mut root, table, &names, registry)?;
    root.finish()?;
    check_agent_steps_budget(
        origin,
        &output,
        &groups,
        assets.len(),
        simulation.steps,
        simulation.runs,
    )?;

    Ok(Scenario {
        origin: origin.to_string(),
        simulation,
        assets,
        groups,
        events,
        governance,
        incentives,
        monitors,
        stability,
        output,
        metrics,
        contracts,
        posted,
        source: toml::Table::new(),
        text: None,
        registry: PolicyRegistry::new(),
    })
}
