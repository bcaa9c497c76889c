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
//!
//! The README lists every field. Reading is strict: an unknown key, a missing
//! field, a value of the wrong type or out of range is an
//! [`Error`] naming the file, the dotted field path (e.g.
//! `agents.noise.policy.p_buy`) and what is expected.

mod examples;
mod fields;
mod paths;

pub use examples::{example, examples, Example};
pub use fields::{describe, Fields, Range};

use crate::agents::{
    BuiltinPolicy, GroupPolicy, MeanReversionPolicy, MomentumPolicy, Policy, RandomPolicy,
    ThresholdPolicy, ValuationPolicy, ValueDistribution,
};
use crate::error::{Error, ErrorKind, Result};
use crate::ledger::to_base;
use crate::pricing::{Curve, CurveError};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// The most agents a scenario may hold in all.
pub const MAX_AGENTS: u64 = u32::MAX as u64 - 1;

/// A validated scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Where the scenario came from (a path, or `<example NAME>`), used in
    /// error messages.
    pub origin: String,
    /// Steps and seed.
    pub simulation: SimulationSpec,
    /// The assets, in file order (their index is their id).
    pub assets: Vec<AssetSpec>,
    /// The agent groups, in file order; agents are numbered group by group.
    pub groups: Vec<GroupSpec>,
    /// Scheduled events (`[[events]]`), in file order.
    pub events: Vec<EventSpec>,
    /// How stability after the first shock is measured (`[stability]`).
    pub stability: StabilitySpec,
    source: toml::Table,
    registry: PolicyRegistry,
}

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

/// One `[[assets]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetSpec {
    /// Unique name.
    pub name: String,
    /// Tokens in existence before step 1 that no agent holds, token units.
    pub initial_supply: f64,
    /// How the asset is priced.
    pub pricing: PricingSpec,
    /// Scheduled parameter changes, in file order.
    pub schedule: Vec<ScheduledChange>,
}

/// An asset's pricing mechanism.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PricingSpec {
    /// `kind = "bonding_curve"`: price is a function of supply; agents buy
    /// from and sell to the curve's reserve.
    BondingCurve {
        /// The curve.
        curve: Curve,
        /// Share of each buy's cost and each sell's refund paid into the fee
        /// pool, in `[0, 1)`.
        fee: f64,
    },
}

/// A scheduled change of a pricing parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledChange {
    /// The parameter, as named in the `pricing` table (e.g. `m`).
    pub param: String,
    /// When and how it changes.
    pub change: Change,
}

/// How a scheduled parameter changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Set to `value` at the start of step `at`.
    Step {
        /// The step (≥ 1).
        at: u64,
        /// The new value.
        value: f64,
    },
    /// Move linearly from its value at the start of step `from` to `value`
    /// at step `to`, one equal increment per step.
    Ramp {
        /// First step of the ramp (≥ 1); the parameter is unchanged at it.
        from: u64,
        /// Step at which the ramp reaches `value` (> `from`).
        to: u64,
        /// The final value.
        value: f64,
    },
}

/// One `[[events]]` entry: something the engine does to the economy at the
/// start of a step (in the external phase).
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    /// The step at whose start the event happens (≥ 1).
    pub at: u64,
    /// What happens.
    pub kind: EventKind,
}

/// What a scheduled event does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// `dump`: every agent of the group sells `floor(share × holdings)` of
    /// the asset to its curve, one by one in a seeded order (a whale dump).
    Dump {
        /// Index of the group.
        group: usize,
        /// Index of the asset.
        asset: usize,
        /// Share of each agent's holdings sold, in `[0, 1]`.
        share: f64,
    },
    /// `join`: the group's agents hold (decide nothing) before this step and
    /// act from it on.
    Join {
        /// Index of the group.
        group: usize,
    },
    /// `leave`: the group's agents stop acting from this step on; with
    /// `sell_all`, they first sell all their holdings of every asset.
    Leave {
        /// Index of the group.
        group: usize,
        /// Sell every holding at this step (a dump of share 1 of each asset).
        sell_all: bool,
    },
    /// `parameter`: a pricing parameter jumps to `value`, exactly like a
    /// schedule step change (a raised curve's reserve is topped up).
    Parameter {
        /// Index of the asset.
        asset: usize,
        /// The parameter, as named in the `pricing` table.
        param: String,
        /// The new value.
        value: f64,
    },
}

impl EventKind {
    /// The kind's name as written in a scenario.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Dump { .. } => "dump",
            EventKind::Join { .. } => "join",
            EventKind::Leave { .. } => "leave",
            EventKind::Parameter { .. } => "parameter",
        }
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

/// One `[[agents]]` entry: a group of agents sharing a policy.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// Unique name.
    pub name: String,
    /// Number of agents (≥ 1).
    pub count: u32,
    /// Initial balance of each agent, money units.
    pub balance: f64,
    /// Airdrops of initial holdings.
    pub holdings: Vec<AirdropSpec>,
    /// The policy every agent of the group follows.
    pub policy: GroupPolicy,
    /// The name of the policy's kind, as written.
    pub policy_kind: String,
    /// What the group's agents try to maximise; reported as mean utility.
    pub objective: Objective,
}

/// Initial holdings of one asset, minted on the curve's books (the reserve is
/// funded from outside so that the new supply is backed) and split among a
/// group's agents.
#[derive(Debug, Clone, PartialEq)]
pub struct AirdropSpec {
    /// Index of the asset.
    pub asset: usize,
    /// Tokens minted for the whole group, token units.
    pub total: f64,
    /// How the total is split among the agents.
    pub shares: ShareDistribution,
}

/// How an airdrop's total is split among agents.
#[derive(Debug, Clone, PartialEq)]
pub enum ShareDistribution {
    /// `uniform`: equal shares.
    Uniform,
    /// `weighted`: shares proportional to `weights`, repeated cyclically over
    /// the group's agents.
    Weighted(Vec<f64>),
    /// `lognormal`: shares proportional to `exp(N(0, sigma))` draws.
    LogNormal {
        /// Standard deviation of the logarithm.
        sigma: f64,
    },
    /// `pareto`: shares proportional to Pareto(1, alpha) draws (heavy-tailed).
    Pareto {
        /// Tail index `alpha > 0` (smaller is more unequal).
        alpha: f64,
    },
}

/// A group's objective U_i.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Objective {
    /// `final_wealth`: balance plus holdings at current prices.
    #[default]
    FinalWealth,
    /// `log_wealth`: ln of final wealth (wealth below one base unit counts as
    /// one base unit, so the utility stays finite).
    LogWealth,
    /// `holdings`: final holdings of an asset, token units.
    Holdings(usize),
}

impl Objective {
    /// The objective's name as written in a scenario.
    pub fn name(&self) -> &'static str {
        match self {
            Objective::FinalWealth => "final_wealth",
            Objective::LogWealth => "log_wealth",
            Objective::Holdings(_) => "holdings",
        }
    }
}

/// Builds a user policy from its table (`kind` already read), given the
/// scenario's asset names.
pub type PolicyFactory =
    Arc<dyn Fn(&mut Fields<'_>, &[String]) -> Result<Arc<dyn Policy>> + Send + Sync>;

/// The policy kinds a scenario may name beyond the built-in ones.
#[derive(Clone, Default)]
pub struct PolicyRegistry {
    custom: BTreeMap<String, PolicyFactory>,
}

impl fmt::Debug for PolicyRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.custom.keys()).finish()
    }
}

/// The built-in policy kinds.
pub const BUILTIN_POLICIES: &[&str] = &[
    "random",
    "threshold",
    "momentum",
    "mean_reversion",
    "valuation",
];

impl PolicyRegistry {
    /// A registry with only the built-in policies.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a policy kind. The factory reads the policy's fields with
    /// [`Fields`] (so that its errors name the field) and must read every
    /// field it accepts: unread fields are rejected as unknown.
    ///
    /// Returns an error if `kind` is a built-in kind or already registered.
    pub fn register<F>(&mut self, kind: &str, factory: F) -> Result<()>
    where
        F: Fn(&mut Fields<'_>, &[String]) -> Result<Arc<dyn Policy>> + Send + Sync + 'static,
    {
        if BUILTIN_POLICIES.contains(&kind) || self.custom.contains_key(kind) {
            return Err(Error::usage(format!(
                "policy kind {kind:?} is already defined"
            )));
        }
        self.custom.insert(kind.to_string(), Arc::new(factory));
        Ok(())
    }

    fn kinds(&self) -> Vec<&str> {
        BUILTIN_POLICIES
            .iter()
            .copied()
            .chain(self.custom.keys().map(String::as_str))
            .collect()
    }
}

impl Scenario {
    /// Reads and validates a scenario file, with the built-in policies.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_path_with(path, &PolicyRegistry::new())
    }

    /// Reads and validates a scenario file, with the policies of `registry`.
    pub fn from_path_with(path: impl AsRef<Path>, registry: &PolicyRegistry) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(path, crate::error::READING_SCENARIO, e))?;
        Self::from_toml_str_with(&text, &path.display().to_string(), registry)
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
        Self::from_table(table, origin, registry)
    }

    /// Validates a scenario given as a TOML table.
    pub fn from_table(table: toml::Table, origin: &str, registry: &PolicyRegistry) -> Result<Self> {
        let parsed = parse(&table, origin, registry)?;
        Ok(Scenario {
            source: table,
            registry: registry.clone(),
            ..parsed
        })
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

    /// Replaces the number of steps (≥ 1).
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
        self.simulation.steps = steps;
        self.set_simulation_key("steps", value);
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
        self.simulation.runs = runs;
        self.set_simulation_key("runs", value);
        Ok(())
    }

    /// Returns the value of the numeric field at a dotted parameter path,
    /// e.g. `assets.TOKEN.pricing.m`, `agents.noise.count`,
    /// `agents.noise.policy.p_buy`, `simulation.steps`. Entries of `assets`
    /// and `agents` are named by their `name` and `group`.
    pub fn param(&self, path: &str) -> Result<f64> {
        paths::get(&self.source, path)
            .map_err(|m| Error::usage(format!("{}: {path}: {m}", self.origin)))
    }

    /// Returns a copy of the scenario with the numeric field at `path` set to
    /// `value`, validated again in full: an unknown path, a value of the
    /// wrong kind (a fraction for a count) or one that makes the scenario
    /// invalid is an error naming the path.
    pub fn with_param(&self, path: &str, value: f64) -> Result<Scenario> {
        let mut table = self.source.clone();
        paths::set(&mut table, path, value)
            .map_err(|m| Error::usage(format!("{}: {path}: {m}", self.origin)))?;
        Scenario::from_table(table, &self.origin, &self.registry)
    }

    fn set_simulation_key(&mut self, key: &str, value: i64) {
        if let Some(toml::Value::Table(sim)) = self.source.get_mut("simulation") {
            sim.insert(key.to_string(), toml::Value::Integer(value));
        }
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
    /// event's `at`, or `None` without events.
    pub fn shock_step(&self) -> Option<u64> {
        self.events.iter().map(|e| e.at).min()
    }
}

fn parse(table: &toml::Table, origin: &str, registry: &PolicyRegistry) -> Result<Scenario> {
    let mut root = Fields::new(origin, "", table);
    root.opt_string("name")?;
    root.opt_string("description")?;

    let mut sim = root.table("simulation")?;
    let simulation = SimulationSpec {
        steps: sim.whole("steps", 1, i64::MAX as u64)?,
        seed: sim.whole("seed", 0, i64::MAX as u64)?,
        runs: sim.opt_whole("runs", 1, 1_000_000_000)?.unwrap_or(1),
    };
    sim.finish()?;

    let asset_tables = root.tables("assets", Some("name"))?;
    if asset_tables.is_empty() {
        return Err(root.error("assets", "missing; expected at least one [[assets]] table"));
    }
    let mut names: Vec<String> = Vec::new();
    let mut assets = Vec::new();
    for mut f in asset_tables {
        let asset = parse_asset(&mut f, &names)?;
        f.finish()?;
        names.push(asset.name.clone());
        assets.push(asset);
    }

    let group_tables = root.tables("agents", Some("group"))?;
    let mut groups: Vec<GroupSpec> = Vec::new();
    let mut total: u64 = 0;
    for mut f in group_tables {
        let group = parse_group(&mut f, &names, registry)?;
        if groups.iter().any(|g| g.name == group.name) {
            return Err(f.error("group", format!("duplicate group name {:?}", group.name)));
        }
        total += u64::from(group.count);
        if total > MAX_AGENTS {
            return Err(f.error(
                "count",
                format!("the scenario holds more than {MAX_AGENTS} agents in all"),
            ));
        }
        f.finish()?;
        groups.push(group);
    }

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
    let mut events = Vec::new();
    for (i, mut e) in root.tables("events", None)?.into_iter().enumerate() {
        let raw = raw_entry(table, "events", i);
        let event = parse_event(&mut e, raw, &names, &group_names, &assets, &events)?;
        e.finish()?;
        events.push(event);
    }
    check_parameter_sequence(&root, &assets, &events)?;
    root.finish()?;

    Ok(Scenario {
        origin: origin.to_string(),
        simulation,
        assets,
        groups,
        events,
        stability,
        source: toml::Table::new(),
        registry: PolicyRegistry::new(),
    })
}

/// Entry `i` of the array of tables `key` (or the single table written in
/// its place), for the fields [`Fields`] has no getter for (booleans).
fn raw_entry<'t>(table: &'t toml::Table, key: &str, i: usize) -> Option<&'t toml::Table> {
    match table.get(key)? {
        toml::Value::Table(t) if i == 0 => Some(t),
        toml::Value::Array(items) => items.get(i)?.as_table(),
        _ => None,
    }
}

/// Reads the name of a group and returns its index in `groups`.
fn parse_group_ref(e: &mut Fields<'_>, groups: &[String]) -> Result<usize> {
    let name = e.string("group")?;
    groups.iter().position(|g| g == name).ok_or_else(|| {
        e.error(
            "group",
            format!(
                "unknown group {name:?}; expected one of the scenario's groups: {}",
                groups.join(", ")
            ),
        )
    })
}

/// Reads one `[[events]]` entry; `earlier` are the entries before it.
fn parse_event(
    e: &mut Fields<'_>,
    raw: Option<&toml::Table>,
    asset_names: &[String],
    group_names: &[String],
    assets: &[AssetSpec],
    earlier: &[EventSpec],
) -> Result<EventSpec> {
    let kind = e.choice("kind", &["dump", "join", "leave", "parameter"])?;
    let at = e.whole("at", 1, u64::MAX)?;
    let kind = match kind {
        "dump" => EventKind::Dump {
            group: parse_group_ref(e, group_names)?,
            asset: e.asset("asset", asset_names)?,
            share: e.number("share", Range::Unit)?,
        },
        "join" | "leave" => {
            let group = parse_group_ref(e, group_names)?;
            let joining = kind == "join";
            for (k, other) in earlier.iter().enumerate() {
                let (g, other_joins) = match other.kind {
                    EventKind::Join { group } => (group, true),
                    EventKind::Leave { group, .. } => (group, false),
                    _ => continue,
                };
                if g != group {
                    continue;
                }
                let name = &group_names[group];
                if other_joins == joining {
                    return Err(e.error(
                        "group",
                        format!("group {name:?} already has a {kind} event (events[{k}]); expected at most one per group"),
                    ));
                }
                let (join_at, leave_at) = if joining {
                    (at, other.at)
                } else {
                    (other.at, at)
                };
                if leave_at <= join_at {
                    return Err(e.error(
                        "at",
                        format!(
                            "group {name:?} joins at step {join_at} and leaves at step {leave_at}; expected it to leave after it joins"
                        ),
                    ));
                }
            }
            if joining {
                EventKind::Join { group }
            } else {
                let sell_all = match raw.and_then(|t| t.get("sell_all")) {
                    None => false,
                    Some(toml::Value::Boolean(b)) => *b,
                    Some(other) => {
                        return Err(e.error(
                            "sell_all",
                            format!("expected true or false, found {}", describe(other)),
                        ))
                    }
                };
                e.has("sell_all");
                EventKind::Leave { group, sell_all }
            }
        }
        _ => {
            let asset = e.asset("asset", asset_names)?;
            let param = e.string("param")?;
            let PricingSpec::BondingCurve { curve, .. } = &assets[asset].pricing;
            if curve.param(param).is_none() {
                return Err(e.error(
                    "param",
                    format!(
                        "unknown parameter {param:?} of the {} curve; expected one of: {}",
                        curve.kind_name(),
                        curve.param_names().join(", ")
                    ),
                ));
            }
            let value = e.number("value", Range::Any)?;
            let mut probe = curve.clone();
            if let Err(err) = probe.set_param(param, value) {
                return Err(e.error("value", err.to_string()));
            }
            EventKind::Parameter {
                asset,
                param: param.to_string(),
                value,
            }
        }
    };
    Ok(EventSpec { at, kind })
}

/// Checks that every curve stays valid as its schedule and the `parameter`
/// events apply together in step order (at the same step, the schedule
/// first, then the events in file order, as the engine applies them), not
/// only each change on its own: `m = 0` then `b = 0` makes a linear curve
/// invalid although each change is fine alone. Ramps are checked at their
/// end; the parameter ranges are intervals, so the values on the way are
/// valid too.
fn check_parameter_sequence(
    root: &Fields<'_>,
    assets: &[AssetSpec],
    events: &[EventSpec],
) -> Result<()> {
    for (j, asset) in assets.iter().enumerate() {
        // (step, 0 for the schedule or 1 for an event, index, param, value)
        let mut changes: Vec<(u64, u8, usize, &str, f64)> = Vec::new();
        for (i, c) in asset.schedule.iter().enumerate() {
            let (step, value) = match c.change {
                Change::Step { at, value } => (at, value),
                Change::Ramp { to, value, .. } => (to, value),
            };
            changes.push((step, 0, i, &c.param, value));
        }
        for (i, e) in events.iter().enumerate() {
            if let EventKind::Parameter {
                asset,
                param,
                value,
            } = &e.kind
            {
                if *asset == j {
                    changes.push((e.at, 1, i, param, *value));
                }
            }
        }
        changes.sort_by_key(|c| (c.0, c.1, c.2));
        let changes_have_events = changes.iter().any(|c| c.1 == 1);
        let PricingSpec::BondingCurve { curve, .. } = &asset.pricing;
        let mut probe = curve.clone();
        for (step, source, i, param, value) in changes {
            if let Err(err) = probe.set_param(param, value) {
                let path = if source == 0 {
                    format!("assets.{}.schedule[{i}]", asset.name)
                } else {
                    format!("events[{i}]")
                };
                let earlier = if changes_have_events {
                    "the earlier changes and events"
                } else {
                    "the earlier changes"
                };
                return Err(root.error(&path, format!("at step {step}, after {earlier}: {err}")));
            }
        }
    }
    Ok(())
}

fn parse_name(f: &mut Fields<'_>, key: &'static str) -> Result<String> {
    let name = f.string(key)?;
    if name.is_empty() || name.contains(['.', ',', '"', '\n']) || name.trim() != name {
        return Err(f.error(
            key,
            format!("expected a non-empty name without '.', ',', quotes or surrounding spaces, found {name:?}"),
        ));
    }
    Ok(name.to_string())
}

fn parse_asset(f: &mut Fields<'_>, earlier: &[String]) -> Result<AssetSpec> {
    let name = parse_name(f, "name")?;
    if earlier.contains(&name) {
        return Err(f.error("name", format!("duplicate asset name {name:?}")));
    }
    if let Some(kind) = f.opt_string("kind")? {
        if kind != "token" {
            return Err(f.error(
                "kind",
                format!("unknown asset kind {kind:?}; expected: token"),
            ));
        }
    }
    let initial_supply = f.number_or("initial_supply", Range::NonNegative, 0.0)?;
    if to_base(initial_supply).is_none() {
        return Err(f.error(
            "initial_supply",
            "too large for the ledger (at most 1.8e10 tokens)",
        ));
    }
    let mut p = f.table("pricing")?;
    // More kinds (order books, auctions, equilibrium) come with market clearing.
    p.choice("kind", &["bonding_curve"])?;
    let curve = parse_curve(&mut p)?;
    let fee = p.number_or("fee", Range::HalfOpen(0.0, 1.0), 0.0)?;
    p.finish()?;
    let mut schedule = Vec::new();
    for mut s in f.tables("schedule", None)? {
        let param = s.string("param")?;
        if curve.param(param).is_none() {
            return Err(s.error(
                "param",
                format!(
                    "unknown parameter {param:?} of the {} curve; expected one of: {}",
                    curve.kind_name(),
                    curve.param_names().join(", ")
                ),
            ));
        }
        let value = s.number("value", Range::Any)?;
        let mut probe = curve.clone();
        if let Err(e) = probe.set_param(param, value) {
            return Err(s.error("value", e.to_string()));
        }
        let change = if s.has("at") {
            Change::Step {
                at: s.whole("at", 1, u64::MAX)?,
                value,
            }
        } else if s.has("from") || s.has("to") {
            let from = s.whole("from", 1, u64::MAX)?;
            let to = s.whole("to", from + 1, u64::MAX)?;
            Change::Ramp { from, to, value }
        } else {
            return Err(s.error(
                "",
                "expected either `at` (a step change) or `from` and `to` (a ramp)",
            ));
        };
        s.finish()?;
        schedule.push(ScheduledChange {
            param: param.to_string(),
            change,
        });
    }
    Ok(AssetSpec {
        name,
        initial_supply,
        pricing: PricingSpec::BondingCurve { curve, fee },
        schedule,
    })
}

fn parse_curve(p: &mut Fields<'_>) -> Result<Curve> {
    let kind = p.choice(
        "curve",
        &["linear", "exponential", "sigmoid", "power", "bancor"],
    )?;
    let any = Range::Any;
    let curve = match kind {
        "linear" => Curve::Linear {
            m: p.number("m", any)?,
            b: p.number("b", any)?,
        },
        "exponential" => Curve::Exponential {
            a: p.number("a", any)?,
            k: p.number("k", any)?,
        },
        "sigmoid" => Curve::Sigmoid {
            K: p.number("K", any)?,
            k: p.number("k", any)?,
            s0: p.number("S0", any)?,
        },
        "power" => Curve::Power {
            a: p.number("a", any)?,
            n: p.number("n", any)?,
        },
        _ => Curve::Bancor {
            reserve_ratio: p.number("reserve_ratio", any)?,
            p0: p.number("p0", any)?,
            s0: p.number("s0", any)?,
        },
    };
    curve.validate().map_err(|e| curve_error(p, e))?;
    Ok(curve)
}

fn curve_error(p: &Fields<'_>, e: CurveError) -> Error {
    match e {
        CurveError::InvalidParameter {
            param,
            expected,
            found,
            ..
        } => p.error(param, format!("expected {expected}, found {found}")),
        other => p.error("", other.to_string()),
    }
}

fn parse_group(
    f: &mut Fields<'_>,
    assets: &[String],
    registry: &PolicyRegistry,
) -> Result<GroupSpec> {
    let name = parse_name(f, "group")?;
    let count = f.whole("count", 1, MAX_AGENTS)? as u32;
    let balance = f.number("balance", Range::NonNegative)?;
    if to_base(balance).is_none() {
        return Err(f.error(
            "balance",
            "too large for the ledger (at most 1.8e10 per agent)",
        ));
    }
    let mut holdings = Vec::new();
    for mut h in f.tables("holdings", Some("asset"))? {
        holdings.push(parse_airdrop(&mut h, assets)?);
        h.finish()?;
    }
    let mut p = f.table("policy")?;
    let kind = p.string("kind")?;
    let policy = match kind {
        "random" | "threshold" | "momentum" | "mean_reversion" | "valuation" => {
            GroupPolicy::Builtin(parse_builtin(&mut p, kind, assets)?)
        }
        other => match registry.custom.get(other) {
            Some(factory) => GroupPolicy::Custom(factory(&mut p, assets)?),
            None => {
                return Err(p.error(
                    "kind",
                    format!(
                        "unknown policy kind {other:?}; expected one of: {}",
                        registry.kinds().join(", ")
                    ),
                ))
            }
        },
    };
    p.finish()?;
    let objective = parse_objective(f, assets)?;
    Ok(GroupSpec {
        name,
        count,
        balance,
        holdings,
        policy,
        policy_kind: kind.to_string(),
        objective,
    })
}

fn parse_airdrop(h: &mut Fields<'_>, assets: &[String]) -> Result<AirdropSpec> {
    let asset = h.asset("asset", assets)?;
    let total = h.number("total", Range::NonNegative)?;
    if to_base(total).is_none() {
        return Err(h.error("total", "too large for the ledger (at most 1.8e10 tokens)"));
    }
    let kind = h.choice(
        "distribution",
        &["uniform", "weighted", "lognormal", "pareto"],
    )?;
    let shares = match kind {
        "uniform" => ShareDistribution::Uniform,
        "weighted" => {
            let weights = h
                .opt_numbers("weights", Range::NonNegative)?
                .ok_or_else(|| {
                    h.error(
                        "weights",
                        "missing field; expected an array of numbers >= 0",
                    )
                })?;
            if weights.is_empty() || weights.iter().all(|w| *w == 0.0) {
                return Err(h.error("weights", "expected at least one weight > 0"));
            }
            ShareDistribution::Weighted(weights)
        }
        "lognormal" => ShareDistribution::LogNormal {
            sigma: h.number("sigma", Range::Closed(0.0, 20.0))?,
        },
        _ => ShareDistribution::Pareto {
            alpha: h.number("alpha", Range::Closed(0.01, 1e6))?,
        },
    };
    Ok(AirdropSpec {
        asset,
        total,
        shares,
    })
}

fn parse_objective(f: &mut Fields<'_>, assets: &[String]) -> Result<Objective> {
    let Some(mut o) = f.opt_table("objective")? else {
        return Ok(Objective::default());
    };
    let kind = o.choice("kind", &["final_wealth", "log_wealth", "holdings"])?;
    let objective = match kind {
        "final_wealth" => Objective::FinalWealth,
        "log_wealth" => Objective::LogWealth,
        _ => Objective::Holdings(o.asset("asset", assets)?),
    };
    o.finish()?;
    Ok(objective)
}

fn fractions(p: &mut Fields<'_>) -> Result<(f64, f64)> {
    Ok((
        p.number("buy_fraction", Range::Unit)?,
        p.number("sell_fraction", Range::Unit)?,
    ))
}

fn parse_builtin(p: &mut Fields<'_>, kind: &str, assets: &[String]) -> Result<BuiltinPolicy> {
    let asset = p.asset("asset", assets)?;
    Ok(match kind {
        "random" => {
            let p_buy = p.number("p_buy", Range::Unit)?;
            let p_sell = p.number("p_sell", Range::Unit)?;
            if p_buy + p_sell > 1.0 {
                return Err(p.error(
                    "p_sell",
                    format!(
                        "p_buy + p_sell must be at most 1, found {p_buy} + {p_sell} = {}",
                        p_buy + p_sell
                    ),
                ));
            }
            let (buy_fraction, sell_fraction) = fractions(p)?;
            BuiltinPolicy::Random(RandomPolicy {
                asset,
                p_buy,
                p_sell,
                buy_fraction,
                sell_fraction,
            })
        }
        "threshold" => {
            let buy_below = p.number("buy_below", Range::NonNegative)?;
            let sell_above = p.number("sell_above", Range::NonNegative)?;
            if buy_below > sell_above {
                return Err(p.error(
                    "sell_above",
                    format!("expected sell_above >= buy_below ({buy_below}), found {sell_above}"),
                ));
            }
            let p_trade = p.number_or("p_trade", Range::Unit, 1.0)?;
            let (buy_fraction, sell_fraction) = fractions(p)?;
            BuiltinPolicy::Threshold(ThresholdPolicy {
                asset,
                buy_below,
                sell_above,
                p_trade,
                buy_fraction,
                sell_fraction,
            })
        }
        "momentum" | "mean_reversion" => {
            let lookback = p.whole("lookback", 1, 1_000_000)? as usize;
            let threshold = p.number_or("threshold", Range::NonNegative, 0.0)?;
            let p_trade = p.number_or("p_trade", Range::Unit, 1.0)?;
            let (buy_fraction, sell_fraction) = fractions(p)?;
            if kind == "momentum" {
                BuiltinPolicy::Momentum(MomentumPolicy {
                    asset,
                    lookback,
                    threshold,
                    p_trade,
                    buy_fraction,
                    sell_fraction,
                })
            } else {
                BuiltinPolicy::MeanReversion(MeanReversionPolicy {
                    asset,
                    lookback,
                    threshold,
                    p_trade,
                    buy_fraction,
                    sell_fraction,
                })
            }
        }
        _ => {
            let mut v = p.table("valuation")?;
            let dist = v.choice(
                "distribution",
                &["constant", "uniform", "normal", "lognormal"],
            )?;
            let valuation = match dist {
                "constant" => ValueDistribution::Constant {
                    value: v.number("value", Range::NonNegative)?,
                },
                "uniform" => {
                    let low = v.number("low", Range::NonNegative)?;
                    let high = v.number("high", Range::NonNegative)?;
                    if high < low {
                        return Err(v.error(
                            "high",
                            format!("expected high >= low ({low}), found {high}"),
                        ));
                    }
                    ValueDistribution::Uniform { low, high }
                }
                "normal" => ValueDistribution::Normal {
                    mean: v.number("mean", Range::Any)?,
                    std: v.number("std", Range::NonNegative)?,
                },
                _ => ValueDistribution::LogNormal {
                    mu: v.number("mu", Range::Closed(-700.0, 700.0))?,
                    sigma: v.number("sigma", Range::Closed(0.0, 100.0))?,
                },
            };
            v.finish()?;
            let beta = p.number("beta", Range::Positive)?;
            let activity = p.number_or("activity", Range::Unit, 1.0)?;
            let (buy_fraction, sell_fraction) = fractions(p)?;
            BuiltinPolicy::Valuation(ValuationPolicy {
                asset,
                valuation,
                beta,
                activity,
                buy_fraction,
                sell_fraction,
            })
        }
    })
}
