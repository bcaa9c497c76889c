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

mod build;
mod edit;
mod examples;
mod fields;
mod paths;

pub use build::ScenarioBuilder;
pub use examples::{example, examples, Example};
use fields::name_list;
pub use fields::{describe, Fields, Range};
pub(crate) use paths::toml_value;
pub use paths::ParamValue;

use crate::agents::{
    AdaptivePolicy, BuiltinPolicy, ConsumerPolicy, DemandForm, FundamentalPolicy, GroupPolicy,
    MarketMakerPolicy, MeanReversionPolicy, MomentumPolicy, Policy, ProducerPolicy, RandomPolicy,
    Side, ThresholdPolicy, ValuationPolicy, ValueDistribution, ZiCPolicy,
};
use crate::error::{Error, ErrorKind, Result};
use crate::ledger::{range_advice, to_base};
use crate::market::clearing::{Adjustment, PriceRule, Shape, DEFAULT_PRICE_RANGE};
use crate::pricing::{Curve, CurveError};
use crate::resource::alloc::Mechanism;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
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
    pub(crate) stability: StabilitySpec,
    pub(crate) output: OutputSpec,
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
    /// `kind = "order_book"`: a continuous double auction.
    OrderBook(BookSpec),
    /// `kind = "call_auction"`: orders collected through each step and
    /// cleared at once at one price.
    CallAuction(BookSpec),
    /// `kind = "equilibrium"`: each step clears at the price where demand
    /// equals supply (agents' schedules plus the exogenous components).
    Equilibrium(EquilibriumSpec),
    /// `kind = "price_adjustment"`: trades at a posted price, rationed on
    /// the short side; the price then moves by `ΔP = g(D − O, S)`.
    PriceAdjustment(AdjustmentSpec),
    /// A resource (`kind = "resource"` on the asset): requests allocated
    /// against a capacity each step.
    Resource(ResourceSpec),
}

/// A resource asset: its capacity, how it is priced and allocated.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSpec {
    /// Units available each step (a renewing resource) or the initial stock
    /// (a depleting one).
    pub capacity: f64,
    /// `renewal = "renewing"` (capacity renews each step; what is not used
    /// within the step is lost) or `"stock"` (a stock that allocation
    /// depletes and only production replenishes).
    pub renewing: bool,
    /// Share of held units (and of the unallocated stock) lost each step
    /// (stock resources).
    pub decay: f64,
    /// Money per unit held per step, paid to the provider (stock
    /// resources).
    pub holding_cost: f64,
    /// How requests are served when they exceed the capacity.
    pub allocation: Mechanism,
    /// How the price is set.
    pub pricing: ResourcePricing,
}

/// How a resource's price is set.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourcePricing {
    /// `kind = "price_adjustment"`: a posted price moved after each step by
    /// `ΔP = g(D − O, S)`, with D the units requested, O and S the capacity.
    Adjustment {
        /// The rule and its bounds.
        rule: PriceRule,
        /// The price at step 1.
        initial_price: f64,
    },
    /// `kind = "auction"`: a uniform-price auction each step (allocation
    /// `auction`).
    Auction {
        /// The lowest price the provider accepts.
        reserve_price: f64,
    },
    /// `kind = "fixed"`: a constant price.
    Fixed {
        /// The price.
        price: f64,
    },
}

impl PricingSpec {
    /// The `kind` as written in the scenario file.
    pub fn kind_name(&self) -> &'static str {
        match self {
            PricingSpec::BondingCurve { .. } => "bonding_curve",
            PricingSpec::OrderBook(_) => "order_book",
            PricingSpec::CallAuction(_) => "call_auction",
            PricingSpec::Equilibrium(_) => "equilibrium",
            PricingSpec::PriceAdjustment(_) => "price_adjustment",
            PricingSpec::Resource(_) => "resource",
        }
    }

    /// The curve, for a bonding-curve asset.
    pub fn curve(&self) -> Option<&Curve> {
        match self {
            PricingSpec::BondingCurve { curve, .. } => Some(curve),
            _ => None,
        }
    }
}

/// The parameters of an order book or call auction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BookSpec {
    /// Price increment, money units per token (> 0).
    pub tick_size: f64,
    /// Quantity increment, token units (> 0).
    pub lot_size: f64,
    /// The price before any trade, money units per token (> 0).
    pub initial_price: f64,
}

/// The parameters of an equilibrium market.
#[derive(Debug, Clone, PartialEq)]
pub struct EquilibriumSpec {
    /// Exogenous demand `D(P)`, if any.
    pub demand: Option<Shape>,
    /// Exogenous supply `O(P)`, if any.
    pub supply: Option<Shape>,
    /// The range searched for the equilibrium price.
    pub price_range: (f64, f64),
    /// Quantity increment of agents' trades, token units (> 0).
    pub lot_size: f64,
    /// The price recorded at step 0; the exogenous equilibrium if not given.
    pub initial_price: Option<f64>,
}

/// The parameters of a price-adjustment market.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjustmentSpec {
    /// The rule `ΔP = g(D − O, S)` and its bounds.
    pub rule: PriceRule,
    /// The posted price at step 1, money units per token (> 0).
    pub initial_price: f64,
    /// Exogenous demand `D(P)`, if any.
    pub demand: Option<Shape>,
    /// Exogenous supply `O(P)`, if any.
    pub supply: Option<Shape>,
    /// Quantity increment of agents' trades, token units (> 0).
    pub lot_size: f64,
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
    /// `outage`: a share of a resource's capacity (or stock deliveries) is
    /// unavailable for `duration` steps from `at` (a capacity shock).
    Outage {
        /// Index of the resource.
        asset: usize,
        /// Share of the capacity lost, in `[0, 1]`.
        share: f64,
        /// Steps it lasts (≥ 1).
        duration: u64,
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
            EventKind::Outage { .. } => "outage",
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
    custom: BTreeMap<String, GroupFactory>,
}

/// Builds a group's policy (stateless or adaptive) from its table.
type GroupFactory = Arc<dyn Fn(&mut Fields<'_>, &[String]) -> Result<GroupPolicy> + Send + Sync>;

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
    "zi_c",
    "market_maker",
    "fundamental",
    "consumer",
    "producer",
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
        self.insert(
            kind,
            Arc::new(move |f: &mut Fields<'_>, assets: &[String]| {
                Ok(GroupPolicy::Custom(factory(f, assets)?))
            }),
        )
    }

    /// Registers an adaptive policy kind ([`AdaptivePolicy`]: per-agent
    /// state, several actions per step, a learning phase), as
    /// [`register`](Self::register) does a stateless one.
    ///
    /// Returns an error if `kind` is a built-in kind or already registered.
    pub fn register_adaptive<P, F>(&mut self, kind: &str, factory: F) -> Result<()>
    where
        P: AdaptivePolicy,
        F: Fn(&mut Fields<'_>, &[String]) -> Result<P> + Send + Sync + 'static,
    {
        self.insert(
            kind,
            Arc::new(move |f: &mut Fields<'_>, assets: &[String]| {
                Ok(GroupPolicy::adaptive(factory(f, assets)?))
            }),
        )
    }

    fn insert(&mut self, kind: &str, factory: GroupFactory) -> Result<()> {
        if BUILTIN_POLICIES.contains(&kind) || self.custom.contains_key(kind) {
            return Err(Error::usage(format!(
                "policy kind {kind:?} is already defined"
            )));
        }
        self.custom.insert(kind.to_string(), factory);
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
        scenario.text = Some(Arc::from(text));
        Ok(scenario)
    }

    /// Validates a scenario given as a TOML table.
    pub fn from_table(table: toml::Table, origin: &str, registry: &PolicyRegistry) -> Result<Self> {
        let parsed = parse(&table, origin, registry)?;
        Ok(Scenario {
            source: table,
            text: None,
            registry: registry.clone(),
            ..parsed
        })
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

    /// The agent groups, in file order; agents are numbered group by group.
    pub fn groups(&self) -> &[GroupSpec] {
        &self.groups
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
        check_agent_steps_budget(
            &self.origin,
            &self.output,
            &self.groups,
            self.assets.len(),
            steps,
            self.simulation.runs,
        )?;
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
        paths::get(&self.source, path)
            .map_err(|m| Error::usage(format!("{}: {path}: {m}", self.origin)))
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
        for (i, e) in self.events.iter().enumerate() {
            if e.at > steps {
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
    /// event's `at`, or `None` without events.
    pub fn shock_step(&self) -> Option<u64> {
        self.events.iter().map(|e| e.at).min()
    }
}

fn parse(table: &toml::Table, origin: &str, registry: &PolicyRegistry) -> Result<Scenario> {
    let mut root = Fields::new(origin, "", table);
    root.opt_string("name")?;
    root.opt_text("description")?;

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
    // Names are checked for duplicates and looked up through sets and maps,
    // never by scanning the earlier entries: a scenario may hold hundreds
    // of thousands of groups.
    let mut names: Vec<String> = Vec::new();
    let mut asset_set: HashSet<String> = HashSet::new();
    let mut assets = Vec::new();
    for mut f in asset_tables {
        let asset = parse_asset(&mut f, &asset_set)?;
        f.finish()?;
        asset_set.insert(asset.name.clone());
        names.push(asset.name.clone());
        assets.push(asset);
    }

    let group_tables = root.tables("agents", Some("group"))?;
    let mut groups: Vec<GroupSpec> = Vec::new();
    let mut group_index: HashMap<String, usize> = HashMap::new();
    let mut total: u64 = 0;
    for mut f in group_tables {
        let group = parse_group(&mut f, &names, registry)?;
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
    let groups_by_name = Names {
        list: &group_names,
        index: &group_index,
    };
    let mut events = Vec::new();
    let mut membership: HashMap<usize, Membership> = HashMap::new();
    for (i, mut e) in root.tables("events", None)?.into_iter().enumerate() {
        let raw = raw_entry(table, "events", i);
        let event = parse_event(&mut e, raw, &names, &groups_by_name, &assets, &membership)?;
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
    let output = parse_output(&mut root)?;
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
        stability,
        output,
        source: toml::Table::new(),
        text: None,
        registry: PolicyRegistry::new(),
    })
}

/// Reads the optional `[output]` table.
fn parse_output(root: &mut Fields<'_>) -> Result<OutputSpec> {
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

fn agent_step_rows(output: &OutputSpec, groups: &[GroupSpec], steps: u64, runs: u64) -> u128 {
    let Some(spec) = output.agent_steps else {
        return 0;
    };
    spec.recorded_agents(groups) * u128::from(spec.recorded_steps(steps)) * u128::from(runs)
}

/// Refuses per-agent records that would not fit in
/// [`AGENT_STEPS_MEMORY_BUDGET`], before anything runs.
fn check_agent_steps_budget(
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

/// Entry `i` of the array of tables `key` (or the single table written in
/// its place), for the fields [`Fields`] has no getter for (booleans).
fn raw_entry<'t>(table: &'t toml::Table, key: &str, i: usize) -> Option<&'t toml::Table> {
    match table.get(key)? {
        toml::Value::Table(t) if i == 0 => Some(t),
        toml::Value::Array(items) => items.get(i)?.as_table(),
        _ => None,
    }
}

/// The scenario's group names, in file order and by name.
struct Names<'a> {
    list: &'a [String],
    index: &'a HashMap<String, usize>,
}

/// A group's `join` and `leave` events so far: (index in `events`, step).
#[derive(Debug, Default, Clone, Copy)]
struct Membership {
    join: Option<(usize, u64)>,
    leave: Option<(usize, u64)>,
}

/// Reads the name of a group and returns its index.
fn parse_group_ref(e: &mut Fields<'_>, groups: &Names<'_>) -> Result<usize> {
    let name = e.string("group")?;
    groups.index.get(name).copied().ok_or_else(|| {
        e.error(
            "group",
            format!(
                "unknown group {name:?}; expected one of the scenario's groups: {}",
                name_list(groups.list)
            ),
        )
    })
}

/// Reads one `[[events]]` entry; `membership` holds the `join` and `leave`
/// events before it.
fn parse_event(
    e: &mut Fields<'_>,
    raw: Option<&toml::Table>,
    asset_names: &[String],
    group_names: &Names<'_>,
    assets: &[AssetSpec],
    membership: &HashMap<usize, Membership>,
) -> Result<EventSpec> {
    let kind = e.choice("kind", &["dump", "join", "leave", "parameter", "outage"])?;
    let at = e.whole("at", 1, u64::MAX)?;
    let kind = match kind {
        "outage" => {
            let asset = e.asset("asset", asset_names)?;
            if !matches!(assets[asset].pricing, PricingSpec::Resource(_)) {
                return Err(e.error(
                    "asset",
                    format!(
                        "{:?} is a token; an outage applies to a resource",
                        assets[asset].name
                    ),
                ));
            }
            EventKind::Outage {
                asset,
                share: e.number("share", Range::Unit)?,
                duration: e.whole("duration", 1, u64::MAX)?,
            }
        }
        "dump" => EventKind::Dump {
            group: parse_group_ref(e, group_names)?,
            asset: e.asset("asset", asset_names)?,
            share: e.number("share", Range::Unit)?,
        },
        "join" | "leave" => {
            let group = parse_group_ref(e, group_names)?;
            let joining = kind == "join";
            let before = membership.get(&group).copied().unwrap_or_default();
            let (same, other) = if joining {
                (before.join, before.leave)
            } else {
                (before.leave, before.join)
            };
            let name = &group_names.list[group];
            if let Some((k, _)) = same {
                return Err(e.error(
                    "group",
                    format!("group {name:?} already has a {kind} event (events[{k}]); expected at most one per group"),
                ));
            }
            if let Some((_, other_at)) = other {
                let (join_at, leave_at) = if joining {
                    (at, other_at)
                } else {
                    (other_at, at)
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
            let Some(curve) = assets[asset].pricing.curve() else {
                return Err(e.error(
                    "asset",
                    format!(
                        "asset {:?} is priced by {}; parameter events apply to bonding curves only",
                        assets[asset].name,
                        assets[asset].pricing.kind_name()
                    ),
                ));
            };
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
    // (step, 0 for the schedule or 1 for an event, index, param, value),
    // per asset; the events sorted to their asset in one pass.
    type Changes<'s> = Vec<(u64, u8, usize, &'s str, f64)>;
    let mut per_asset: Vec<Changes<'_>> = vec![Vec::new(); assets.len()];
    for (i, e) in events.iter().enumerate() {
        if let EventKind::Parameter {
            asset,
            param,
            value,
        } = &e.kind
        {
            if let Some(changes) = per_asset.get_mut(*asset) {
                changes.push((e.at, 1, i, param, *value));
            }
        }
    }
    for (asset, mut changes) in assets.iter().zip(per_asset) {
        for (i, c) in asset.schedule.iter().enumerate() {
            let (step, value) = match c.change {
                Change::Step { at, value } => (at, value),
                Change::Ramp { to, value, .. } => (to, value),
            };
            changes.push((step, 0, i, &c.param, value));
        }
        changes.sort_by_key(|c| (c.0, c.1, c.2));
        let changes_have_events = changes.iter().any(|c| c.1 == 1);
        let Some(curve) = asset.pricing.curve() else {
            continue;
        };
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

fn parse_asset(f: &mut Fields<'_>, earlier: &HashSet<String>) -> Result<AssetSpec> {
    let name = parse_name(f, "name")?;
    if earlier.contains(&name) {
        return Err(f.error("name", format!("duplicate asset name {name:?}")));
    }
    let resource = match f.opt_string("kind")? {
        None | Some("token") => false,
        Some("resource") => true,
        Some(kind) => {
            return Err(f.error(
                "kind",
                format!("unknown asset kind {kind:?}; expected one of: token, resource"),
            ))
        }
    };
    if resource {
        return parse_resource(f, name);
    }
    let initial_supply = f.number_or("initial_supply", Range::NonNegative, 0.0)?;
    if to_base(initial_supply).is_none() {
        return Err(f.error("initial_supply", past_range(initial_supply, "token")));
    }
    let mut p = f.table("pricing")?;
    let kind = p.choice("kind", PRICING_KINDS)?;
    let pricing = match kind {
        "bonding_curve" => {
            let curve = parse_curve(&mut p)?;
            let fee = p.number_or("fee", Range::HalfOpen(0.0, 1.0), 0.0)?;
            PricingSpec::BondingCurve { curve, fee }
        }
        "order_book" | "call_auction" => {
            let spec = BookSpec {
                tick_size: p.number_or("tick_size", Range::Positive, 0.01)?,
                lot_size: parse_lot(&mut p)?,
                initial_price: p.number("initial_price", Range::Positive)?,
            };
            check_base(&p, "tick_size", spec.tick_size, "money")?;
            if kind == "order_book" {
                PricingSpec::OrderBook(spec)
            } else {
                PricingSpec::CallAuction(spec)
            }
        }
        "equilibrium" => {
            let demand = parse_shape(&mut p, "demand")?;
            let supply = parse_shape(&mut p, "supply")?;
            let price_range = match p.opt_numbers("price_range", Range::NonNegative)? {
                None => DEFAULT_PRICE_RANGE,
                Some(r) if r.len() == 2 && r[0] < r[1] => (r[0], r[1]),
                Some(r) => {
                    return Err(p.error(
                        "price_range",
                        format!("expected [lo, hi] with 0 <= lo < hi, found {r:?}"),
                    ))
                }
            };
            PricingSpec::Equilibrium(EquilibriumSpec {
                demand,
                supply,
                price_range,
                lot_size: parse_lot(&mut p)?,
                initial_price: p.opt_number("initial_price", Range::Positive)?,
            })
        }
        _ => {
            let (rule, initial_price) = parse_price_rule(&mut p)?;
            PricingSpec::PriceAdjustment(AdjustmentSpec {
                rule,
                initial_price,
                demand: parse_shape(&mut p, "demand")?,
                supply: parse_shape(&mut p, "supply")?,
                lot_size: parse_lot(&mut p)?,
            })
        }
    };
    p.finish()?;
    let mut schedule = Vec::new();
    for mut s in f.tables("schedule", None)? {
        let param = s.string("param")?;
        let Some(curve) = pricing.curve() else {
            return Err(s.error(
                "param",
                format!("parameter schedules apply to bonding curves only, and {name:?} is priced by {}", pricing.kind_name()),
            ));
        };
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
        pricing,
        schedule,
    })
}

/// Reads a price-adjustment rule (`rule`, `lambda`, the bounds) and the
/// `initial_price` it starts from.
fn parse_price_rule(p: &mut Fields<'_>) -> Result<(PriceRule, f64)> {
    let form = p.choice("rule", &["linear", "proportional", "logarithmic"])?;
    let lambda = p.number("lambda", Range::Positive)?;
    let adjustment = match form {
        "linear" => Adjustment::Linear { lambda },
        "proportional" => Adjustment::Proportional { lambda },
        _ => Adjustment::Logarithmic { lambda },
    };
    let initial_price = p.number("initial_price", Range::Positive)?;
    let rule = PriceRule {
        adjustment,
        max_change: p.opt_number("max_change", Range::Positive)?,
        max_relative_change: p.opt_number("max_relative_change", Range::Positive)?,
        min_price: p.number_or("min_price", Range::Positive, 1e-9)?,
    };
    if rule.min_price > initial_price {
        return Err(p.error(
            "min_price",
            format!(
                "expected at most initial_price ({initial_price}), found {}",
                rule.min_price
            ),
        ));
    }
    Ok((rule, initial_price))
}

fn parse_resource(f: &mut Fields<'_>, name: String) -> Result<AssetSpec> {
    let capacity = f.number("capacity", Range::NonNegative)?;
    if to_base(capacity).is_none() {
        return Err(f.error("capacity", past_range(capacity, "token")));
    }
    let renewing = f
        .opt_string("renewal")?
        .map(|r| match r {
            "renewing" => Ok(true),
            "stock" => Ok(false),
            other => Err(f.error(
                "renewal",
                format!("unknown renewal {other:?}; expected one of: renewing, stock"),
            )),
        })
        .transpose()?
        .unwrap_or(true);
    let decay = f.number_or("decay", Range::Unit, 0.0)?;
    let holding_cost = f.number_or("holding_cost", Range::NonNegative, 0.0)?;
    money_in_range(f, "holding_cost", holding_cost)?;
    let allocation_name = f.opt_string("allocation")?;
    let mut p = f.table("pricing")?;
    let kind = p.choice("kind", &["price_adjustment", "auction", "fixed"])?;
    let pricing = match kind {
        "price_adjustment" => {
            let (rule, initial_price) = parse_price_rule(&mut p)?;
            ResourcePricing::Adjustment {
                rule,
                initial_price,
            }
        }
        "auction" => {
            let reserve_price = p.number_or("reserve_price", Range::NonNegative, 0.0)?;
            money_in_range(&p, "reserve_price", reserve_price)?;
            ResourcePricing::Auction { reserve_price }
        }
        _ => ResourcePricing::Fixed {
            price: p.number("price", Range::NonNegative)?,
        },
    };
    p.finish()?;
    let is_auction = matches!(pricing, ResourcePricing::Auction { .. });
    let allocation = match allocation_name {
        None if is_auction => Mechanism::Auction,
        None => Mechanism::Proportional,
        Some(n) => Mechanism::from_name(n).ok_or_else(|| {
            let names: Vec<&str> = Mechanism::ALL.iter().map(|m| m.name()).collect();
            f.error(
                "allocation",
                format!(
                    "unknown allocation {n:?}; expected one of: {}",
                    names.join(", ")
                ),
            )
        })?,
    };
    if is_auction != (allocation == Mechanism::Auction) {
        return Err(f.error(
            "allocation",
            format!(
                "allocation {:?} with pricing {kind:?}: the uniform-price auction both prices and allocates; use allocation = \"auction\" with pricing kind \"auction\", and only then",
                allocation.name()
            ),
        ));
    }
    if f.has("schedule") {
        return Err(f.error(
            "schedule",
            "parameter schedules apply to bonding curves only",
        ));
    }
    Ok(AssetSpec {
        name,
        // a stock starts as unheld supply; a renewing capacity holds nothing
        initial_supply: if renewing { 0.0 } else { capacity },
        pricing: PricingSpec::Resource(ResourceSpec {
            capacity,
            renewing,
            decay,
            holding_cost,
            allocation,
            pricing,
        }),
        schedule: Vec::new(),
    })
}

/// A built-in policy trades only the kind of asset it is made for: consumers
/// and producers resources, limit-order traders market-clearing assets, and
/// the rule-based traders tokens (on a curve or a market).
fn check_policy_fits_assets(f: &Fields<'_>, group: &GroupSpec, assets: &[AssetSpec]) -> Result<()> {
    let GroupPolicy::Builtin(policy) = &group.policy else {
        return Ok(());
    };
    let kind = group.policy_kind.as_str();
    for j in policy.assets() {
        let Some(asset) = assets.get(j) else {
            continue;
        };
        let pricing = &asset.pricing;
        let resource = matches!(pricing, PricingSpec::Resource(_));
        let curve = matches!(pricing, PricingSpec::BondingCurve { .. });
        let (fits, wanted) = match kind {
            "consumer" | "producer" => (resource, "a resource (kind = \"resource\")"),
            "zi_c" | "market_maker" | "fundamental" => (
                !resource && !curve,
                "a market-clearing asset (order_book, call_auction, equilibrium or price_adjustment)",
            ),
            _ => (!resource, "a token (on a curve or a market)"),
        };
        if !fits {
            let key = if kind == "consumer" && policy.assets().len() > 1 {
                "policy.assets"
            } else {
                "policy.asset"
            };
            return Err(f.error(
                key,
                format!(
                    "a {kind} policy trades {wanted}, and {:?} is priced by {}",
                    asset.name,
                    pricing.kind_name()
                ),
            ));
        }
    }
    Ok(())
}

/// The pricing kinds an asset may name.
pub const PRICING_KINDS: &[&str] = &[
    "bonding_curve",
    "order_book",
    "call_auction",
    "equilibrium",
    "price_adjustment",
];

fn parse_lot(p: &mut Fields<'_>) -> Result<f64> {
    let lot = p.number_or("lot_size", Range::Positive, 1.0)?;
    check_base(p, "lot_size", lot, "token")?;
    Ok(lot)
}

/// What an amount `x` of `what` (`"money"`, `"token"`) past the ledger's
/// range is told.
fn past_range(x: f64, what: &str) -> String {
    format!("{x:e} exceeds {}", range_advice(what))
}

/// An amount of money per unit that a run pays (a cost, a reserve price):
/// within the ledger's range, or an error naming the field and the range
/// (past it, the amount would have been charged as 0).
fn money_in_range(p: &Fields<'_>, key: &str, x: f64) -> Result<()> {
    match to_base(x) {
        Some(_) => Ok(()),
        None => Err(p.error(key, past_range(x, "money"))),
    }
}

/// A size that must be at least one base unit and fit the ledger.
fn check_base(p: &Fields<'_>, key: &str, x: f64, what: &str) -> Result<()> {
    match to_base(x) {
        Some(b) if b > 0 => Ok(()),
        _ => Err(p.error(
            key,
            format!("expected a size between 1e-9 (one base unit of {what}) and 1.8e10, found {x}"),
        )),
    }
}

/// Reads an exogenous `demand` or `supply` table: `shape = "linear"` with
/// `a`, `b` (demand `a − b·P`) or `c`, `d` (supply `c + d·P`), or
/// `shape = "constant_elasticity"` with `scale` and `elasticity`
/// (demand `scale·P^−elasticity`, supply `scale·P^elasticity`).
fn parse_shape(p: &mut Fields<'_>, key: &'static str) -> Result<Option<Shape>> {
    let Some(mut t) = p.opt_table(key)? else {
        return Ok(None);
    };
    let shape = match t.choice("shape", &["linear", "constant_elasticity"])? {
        "linear" => {
            let (i, s) = if key == "demand" {
                ("a", "b")
            } else {
                ("c", "d")
            };
            Shape::Linear {
                intercept: t.number(i, Range::Any)?,
                slope: t.number(s, Range::NonNegative)?,
            }
        }
        _ => {
            let scale = t.number("scale", Range::Positive)?;
            let elasticity = t.number("elasticity", Range::Closed(0.0, 100.0))?;
            Shape::ConstantElasticity {
                scale,
                exponent: if key == "demand" {
                    -elasticity
                } else {
                    elasticity
                },
            }
        }
    };
    t.finish()?;
    Ok(Some(shape))
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
        return Err(f.error("balance", past_range(balance, "money")));
    }
    let mut holdings = Vec::new();
    for mut h in f.tables("holdings", Some("asset"))? {
        holdings.push(parse_airdrop(&mut h, assets)?);
        h.finish()?;
    }
    let mut p = f.table("policy")?;
    let kind = p.string("kind")?;
    let policy = match kind {
        "consumer" => GroupPolicy::Builtin(parse_consumer(&mut p, assets)?),
        "random" | "threshold" | "momentum" | "mean_reversion" | "valuation" | "zi_c"
        | "market_maker" | "fundamental" | "producer" => {
            GroupPolicy::Builtin(parse_builtin(&mut p, kind, assets)?)
        }
        other => match registry.custom.get(other) {
            Some(factory) => factory(&mut p, assets)?,
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
        return Err(h.error("total", past_range(total, "token")));
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

/// Reads a distribution of private values (`valuation` or `value`).
fn parse_value_distribution(p: &mut Fields<'_>, key: &'static str) -> Result<ValueDistribution> {
    let mut v = p.table(key)?;
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
    Ok(valuation)
}

/// A token amount in base units, at least one base unit.
fn token_amount(p: &mut Fields<'_>, key: &'static str, default: Option<f64>) -> Result<u64> {
    let x = match default {
        Some(d) => p.number_or(key, Range::Positive, d)?,
        None => p.number(key, Range::Positive)?,
    };
    match to_base(x) {
        Some(b) if b > 0 => Ok(b),
        _ => Err(p.error(
            key,
            format!("expected an amount between 1e-9 and 1.8e10 tokens, found {x}"),
        )),
    }
}

/// Reads a `consumer` policy: `asset = "A"`, or `assets = ["A", "B"]` with
/// optional `preferences`.
fn parse_consumer(p: &mut Fields<'_>, names: &[String]) -> Result<BuiltinPolicy> {
    let assets: Vec<usize> = if p.has("assets") {
        let list = p.strings("assets")?;
        if list.is_empty() {
            return Err(p.error("assets", "expected at least one resource name"));
        }
        list.iter()
            .map(|a| {
                names.iter().position(|n| n == a).ok_or_else(|| {
                    p.error(
                        "assets",
                        format!("unknown asset {a:?}; expected one of: {}", names.join(", ")),
                    )
                })
            })
            .collect::<Result<_>>()?
    } else {
        vec![p.asset("asset", names)?]
    };
    let preferences = match p.opt_numbers("preferences", Range::Positive)? {
        None => vec![1.0; assets.len()],
        Some(v) if v.len() == assets.len() => v,
        Some(v) => {
            return Err(p.error(
                "preferences",
                format!(
                    "expected one preference per asset ({}), found {}",
                    assets.len(),
                    v.len()
                ),
            ))
        }
    };
    let need = parse_value_distribution(p, "need")?;
    let need_schedule = p
        .opt_numbers("need_schedule", Range::NonNegative)?
        .unwrap_or_default();
    let value = p.number("value", Range::NonNegative)?;
    let demand = match p.opt_string("demand")?.unwrap_or("elastic") {
        "linear" => DemandForm::Linear,
        "elastic" => DemandForm::Elastic {
            elasticity: p.number_or("elasticity", Range::Closed(0.0, 100.0), 0.0)?,
            reference: p.number_or("reference_price", Range::Positive, value.max(1e-9))?,
        },
        other => {
            return Err(p.error(
                "demand",
                format!("unknown demand form {other:?}; expected one of: linear, elastic"),
            ))
        }
    };
    Ok(BuiltinPolicy::Consumer(ConsumerPolicy {
        assets,
        preferences,
        need,
        need_schedule,
        value,
        demand,
        budget_share: p.number_or("budget_share", Range::Unit, 1.0)?,
    }))
}

fn parse_ttl(p: &mut Fields<'_>) -> Result<u32> {
    Ok(p.opt_whole("ttl", 1, u64::from(u32::MAX))?.unwrap_or(1) as u32)
}

fn parse_builtin(p: &mut Fields<'_>, kind: &str, assets: &[String]) -> Result<BuiltinPolicy> {
    let asset = p.asset("asset", assets)?;
    Ok(match kind {
        "producer" => BuiltinPolicy::Producer(ProducerPolicy {
            asset,
            cost: {
                let cost = p.number("cost", Range::NonNegative)?;
                money_in_range(p, "cost", cost)?;
                cost
            },
            max_output: token_amount(p, "max_output", None)?,
            lead_time: p.opt_whole("lead_time", 0, 1_000_000)?.unwrap_or(1) as u32,
            margin: p.number_or("margin", Range::NonNegative, 0.0)?,
        }),
        "zi_c" => {
            let side = match p.choice("role", &["buyer", "seller"])? {
                "buyer" => Side::Buy,
                _ => Side::Sell,
            };
            let value = parse_value_distribution(p, "value")?;
            let units = token_amount(p, "units", Some(1.0))?;
            let lot = token_amount(p, "lot", Some(1.0))?;
            let min_price = p.number_or("min_price", Range::NonNegative, 0.0)?;
            // Asks stay within the values' range unless told otherwise: a
            // fixed cap far above it (it was 1e6) has sellers ask prices no
            // buyer pays, and almost nothing trades.
            let max_price = match p.opt_number("max_price", Range::Positive)? {
                Some(max_price) if max_price <= min_price => {
                    return Err(p.error(
                        "max_price",
                        format!("expected more than min_price ({min_price}), found {max_price}"),
                    ))
                }
                Some(max_price) => max_price,
                None => {
                    let top = value.upper_end();
                    let usable = top.is_finite() && top > min_price;
                    if side == Side::Sell && !usable {
                        return Err(p.error(
                            "max_price",
                            format!(
                                "missing, and its default, the top of the value distribution ({top}), \
                                 is not a price above min_price ({min_price}); set max_price, the highest price a seller asks"
                            ),
                        ));
                    }
                    top
                }
            };
            BuiltinPolicy::ZiC(ZiCPolicy {
                asset,
                side,
                value,
                units,
                lot,
                min_price,
                max_price,
                ttl: parse_ttl(p)?,
            })
        }
        "market_maker" => BuiltinPolicy::MarketMaker(MarketMakerPolicy {
            asset,
            spread: p.number("spread", Range::HalfOpen(0.0, 2.0))?,
            size: token_amount(p, "size", None)?,
            max_inventory: token_amount(p, "max_inventory", None)?,
            skew: p.number_or("skew", Range::Closed(0.0, 1.0), 0.0)?,
            ttl: parse_ttl(p)?,
        }),
        "fundamental" => {
            let value = parse_value_distribution(p, "value")?;
            let activity = p.number_or("activity", Range::Unit, 1.0)?;
            let (buy_fraction, sell_fraction) = fractions(p)?;
            BuiltinPolicy::Fundamental(FundamentalPolicy {
                asset,
                value,
                activity,
                buy_fraction,
                sell_fraction,
                ttl: parse_ttl(p)?,
            })
        }
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
            let valuation = parse_value_distribution(p, "valuation")?;
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
