//! Building a scenario in code: [`ScenarioBuilder`].
//!
//! The builder writes the scenario as the TOML table a file would hold and
//! reads it back through the file's own reader, so a scenario built in code
//! is validated, hashed and written (`scenario.toml`) exactly as a file
//! would be: there is one definition of what is valid, not two.

use super::Quality;
use super::{
    AirdropSpec, AssetSpec, BookSpec, Change, EventKind, EventSpec, GroupSpec, Kind, Objective,
    OutputSpec, PolicyKind, PolicyRegistry, PricingSpec, ResourcePricing, ResourceSpec, Scenario,
    ShareDistribution, StabilitySpec,
};
use crate::agents::{
    BuiltinPolicy, DemandForm, GroupPolicy, ScriptedTrade, Side, ValueDistribution,
};
use crate::error::{Error, Result};
use crate::ledger::to_units;
use crate::market::clearing::{Adjustment, PriceRule, Shape};
use crate::market::posted::GridSpec;
use toml::{Table, Value};

/// Builds a [`Scenario`] from typed parts, validated exactly as a scenario
/// file is (see [`Scenario::builder`]).
///
/// ```
/// use agora::agents::{BuiltinPolicy, RandomPolicy};
/// use agora::pricing::Curve;
/// use agora::scenario::{AssetSpec, GroupSpec, PricingSpec};
/// use agora::Scenario;
///
/// let scenario = Scenario::builder()
///     .steps(100)
///     .seed(1)
///     .asset(AssetSpec::new(
///         "TOKEN",
///         PricingSpec::BondingCurve { curve: Curve::Linear { m: 0.001, b: 1.0 }, fee: 0.0 },
///     ))
///     .group(GroupSpec::new(
///         "noise",
///         1000,
///         100.0,
///         BuiltinPolicy::Random(RandomPolicy {
///             asset: 0,
///             p_buy: 0.5,
///             p_sell: 0.5,
///             buy_fraction: 0.1,
///             sell_fraction: 0.1,
///         }),
///     ))
///     .build()?;
/// assert_eq!(scenario.agent_count(), 1000);
/// // the same validation as a file: p_buy + p_sell > 1 is refused
/// let bad = Scenario::builder()
///     .steps(10)
///     .seed(1)
///     .asset(AssetSpec::new(
///         "TOKEN",
///         PricingSpec::BondingCurve { curve: Curve::Linear { m: 0.001, b: 1.0 }, fee: 0.0 },
///     ))
///     .group(GroupSpec::new(
///         "noise",
///         10,
///         100.0,
///         BuiltinPolicy::Random(RandomPolicy {
///             asset: 0,
///             p_buy: 0.7,
///             p_sell: 0.5,
///             buy_fraction: 0.1,
///             sell_fraction: 0.1,
///         }),
///     ))
///     .build();
/// assert!(bad.unwrap_err().to_string().contains("agents.noise.policy.p_sell"));
/// # Ok::<(), agora::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScenarioBuilder {
    origin: String,
    name: Option<String>,
    description: Option<String>,
    simulation: Table,
    assets: Vec<AssetSpec>,
    groups: Vec<(GroupSpec, Option<Table>)>,
    events: Vec<EventSpec>,
    incentives: Vec<super::IncentiveSpec>,
    monitors: Vec<super::MonitorSpec>,
    governance: Vec<super::GovernanceSpec>,
    stability: Option<StabilitySpec>,
    output: OutputSpec,
    registry: PolicyRegistry,
    contracts: Vec<Table>,
}

impl Default for ScenarioBuilder {
    fn default() -> Self {
        ScenarioBuilder {
            origin: "<builder>".to_string(),
            name: None,
            description: None,
            simulation: Table::new(),
            assets: Vec::new(),
            groups: Vec::new(),
            events: Vec::new(),
            incentives: Vec::new(),
            monitors: Vec::new(),
            governance: Vec::new(),
            stability: None,
            output: OutputSpec::default(),
            registry: PolicyRegistry::new(),
            contracts: Vec::new(),
        }
    }
}

impl Scenario {
    /// Returns a builder for a scenario made in code; its
    /// [`ScenarioBuilder::build`] validates it as a scenario file, and the
    /// scenario's hash and `scenario.toml` are those of the equivalent file.
    pub fn builder() -> ScenarioBuilder {
        ScenarioBuilder::default()
    }
}

impl AssetSpec {
    /// An asset called `name` priced by `pricing`, with no initial supply
    /// and no schedule (set the public fields for them).
    pub fn new(name: impl Into<String>, pricing: PricingSpec) -> Self {
        AssetSpec {
            name: name.into(),
            initial_supply: 0.0,
            pricing,
            schedule: Vec::new(),
        }
    }
}

impl GroupSpec {
    /// A group of `count` agents called `name`, each with `balance` money,
    /// following a built-in `policy`, with no airdrops and the default
    /// objective (set the public fields for them).
    pub fn new(name: impl Into<String>, count: u32, balance: f64, policy: BuiltinPolicy) -> Self {
        GroupSpec {
            name: name.into(),
            count,
            balance,
            holdings: Vec::new(),
            policy_kind: PolicyKind::of(&policy).name().to_string(),
            policy: GroupPolicy::Builtin(policy),
            objective: Objective::default(),
            evolution: None,
            cost: None,
        }
    }
}

impl ScenarioBuilder {
    /// Names the scenario in error messages (default `<builder>`).
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// The scenario's `name` (free text).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The scenario's `description` (free text).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// `simulation.steps` (required, ≥ 1).
    pub fn steps(self, steps: u64) -> Self {
        self.simulation_key("steps", steps)
    }

    /// `simulation.seed` (required).
    pub fn seed(self, seed: u64) -> Self {
        self.simulation_key("seed", seed)
    }

    /// `simulation.runs` (default 1).
    pub fn runs(self, runs: u64) -> Self {
        self.simulation_key("runs", runs)
    }

    /// `simulation.stop` (none by default): `Stop::Converged(K)` writes
    /// `stop = { converged = K }`.
    pub fn stop(mut self, stop: Option<super::simulation::Stop>) -> Self {
        match stop {
            Some(super::simulation::Stop::Converged(k)) => {
                self.simulation.insert(
                    "stop".to_string(),
                    Value::Table(table([("converged", whole(k))])),
                );
            }
            None => {
                self.simulation.remove("stop");
            }
        }
        self
    }

    /// `simulation.evaluation_steps` (1000 by default with a `stop`, 0
    /// without).
    pub fn evaluation_steps(self, steps: u64) -> Self {
        self.simulation_key("evaluation_steps", steps)
    }

    /// `simulation.record_every` (default 1).
    pub fn record_every(self, every: u64) -> Self {
        self.simulation_key("record_every", every)
    }

    /// `simulation.intelligence`: the intelligence level to run (`None`,
    /// the default: every table). The builder's tables carry no levels of
    /// their own; this sets what a scenario read from a file selected.
    pub fn intelligence(mut self, level: Option<u64>) -> Self {
        match level {
            Some(k) => self.simulation_key("intelligence", k),
            None => {
                self.simulation.remove("intelligence");
                self
            }
        }
    }

    fn simulation_key(mut self, key: &str, value: u64) -> Self {
        self.simulation.insert(key.to_string(), whole(value));
        self
    }

    /// Adds an asset; its index (the order of the calls) is how policies,
    /// airdrops and events refer to it.
    pub fn asset(mut self, asset: AssetSpec) -> Self {
        self.assets.push(asset);
        self
    }

    /// Adds a group of agents with a built-in policy (a learner kind's
    /// too: `q_learning`, `bandit`, `policy_gradient`). A custom policy
    /// (`GroupPolicy::Custom`) has no table to write: add its group with
    /// [`ScenarioBuilder::group_with_policy_table`], or give the group a
    /// built-in policy here and replace it with `Simulation::set_policy`.
    pub fn group(mut self, group: GroupSpec) -> Self {
        self.groups.push((group, None));
        self
    }

    /// Adds a group whose policy is given as its table (`kind` and the
    /// fields its factory reads), for the policy kinds of the
    /// [`ScenarioBuilder::registry`]; `group.policy` is ignored.
    pub fn group_with_policy_table(mut self, group: GroupSpec, policy: Table) -> Self {
        self.groups.push((group, Some(policy)));
        self
    }

    /// Adds an affiliate contract as the table a scenario file's
    /// `[[contracts]]` entry holds (groups and assets by name); it is
    /// validated with the rest in [`build`](Self::build). Its hidden
    /// referral group is made from it: do not add that group too.
    pub fn contract_table(mut self, contract: Table) -> Self {
        self.contracts.push(contract);
        self
    }

    /// Adds an event; groups and assets are named by their index.
    pub fn event(mut self, event: EventSpec) -> Self {
        self.events.push(event);
        self
    }

    /// Adds an incentive rule (`[[incentives]]`); assets, groups and a
    /// slashing's staking rule are named by their index.
    pub fn incentive(mut self, rule: super::IncentiveSpec) -> Self {
        self.incentives.push(rule);
        self
    }

    /// Adds a monitor (`[[monitors]]`); its asset is named by its index.
    pub fn monitor(mut self, monitor: super::MonitorSpec) -> Self {
        self.monitors.push(monitor);
        self
    }

    /// Adds a governance rule (`[[governance]]`); its asset is named by
    /// its index.
    pub fn governance(mut self, rule: super::GovernanceSpec) -> Self {
        self.governance.push(rule);
        self
    }

    /// Sets `[stability]`.
    pub fn stability(mut self, stability: StabilitySpec) -> Self {
        self.stability = Some(stability);
        self
    }

    /// Sets `[output]` (per-agent records).
    pub fn output(mut self, output: OutputSpec) -> Self {
        self.output = output;
        self
    }

    /// The policy kinds beyond the built-in ones that groups may name.
    pub fn registry(mut self, registry: &PolicyRegistry) -> Self {
        self.registry = registry.clone();
        self
    }

    /// The scenario as the TOML table of the equivalent file. Fails only
    /// for what a table cannot hold: a custom policy given without its
    /// table, or a reference to an asset or group that was not added.
    pub fn to_table(&self) -> Result<Table> {
        let asset_names: Vec<&str> = self.assets.iter().map(|a| a.name.as_str()).collect();
        let group_names: Vec<&str> = self.groups.iter().map(|g| g.0.name.as_str()).collect();
        let names = Names {
            origin: &self.origin,
            assets: &asset_names,
            groups: &group_names,
        };
        let mut root = Table::new();
        if let Some(n) = &self.name {
            root.insert("name".into(), Value::String(n.clone()));
        }
        if let Some(d) = &self.description {
            root.insert("description".into(), Value::String(d.clone()));
        }
        root.insert("simulation".into(), Value::Table(self.simulation.clone()));
        let assets = self
            .assets
            .iter()
            .map(|a| Value::Table(asset_table(a)))
            .collect();
        root.insert("assets".into(), Value::Array(assets));
        if !self.groups.is_empty() {
            let groups = self
                .groups
                .iter()
                .map(|(g, policy)| group_table(g, policy.as_ref(), &names).map(Value::Table))
                .collect::<Result<Vec<_>>>()?;
            root.insert("agents".into(), Value::Array(groups));
        }
        if !self.events.is_empty() {
            let events = self
                .events
                .iter()
                .enumerate()
                .map(|(i, e)| event_table(i, e, &names).map(Value::Table))
                .collect::<Result<Vec<_>>>()?;
            root.insert("events".into(), Value::Array(events));
        }
        if !self.incentives.is_empty() {
            let rules = self
                .incentives
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    super::incentives::incentive_table(
                        r,
                        &self.incentives,
                        &asset_names,
                        &group_names,
                    )
                    .map(Value::Table)
                    .map_err(|m| Error::scenario(&self.origin, format!("incentives[{i}]"), m))
                })
                .collect::<Result<Vec<_>>>()?;
            root.insert("incentives".into(), Value::Array(rules));
        }
        if !self.monitors.is_empty() {
            let monitors = self
                .monitors
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let asset = names.asset(&format!("monitors[{i}].asset"), m.asset)?;
                    Ok(Value::Table(super::monitors::monitor_table(m, asset)))
                })
                .collect::<Result<Vec<_>>>()?;
            root.insert("monitors".into(), Value::Array(monitors));
        }
        if !self.governance.is_empty() {
            let rules = self
                .governance
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let asset = names.asset(&format!("governance[{i}].asset"), g.rule.asset())?;
                    Ok(Value::Table(super::governance::governance_table(g, asset)))
                })
                .collect::<Result<Vec<_>>>()?;
            root.insert("governance".into(), Value::Array(rules));
        }
        if let Some(s) = self.stability {
            let mut t = Table::new();
            t.insert("band".into(), Value::Float(s.band));
            t.insert("window".into(), whole(s.window));
            root.insert("stability".into(), Value::Table(t));
        }
        if self.output.agent_steps.is_some() || self.output.trades {
            root.insert("output".into(), Value::Table(output_table(&self.output)));
        }
        if !self.contracts.is_empty() {
            let contracts = self.contracts.iter().cloned().map(Value::Table).collect();
            root.insert("contracts".into(), Value::Array(contracts));
        }
        Ok(root)
    }

    /// Validates the scenario as a scenario file is validated, with the
    /// same errors (naming the origin and the field path).
    pub fn build(self) -> Result<Scenario> {
        let table = self.to_table()?;
        Scenario::from_table(table, &self.origin, &self.registry)
    }
}

/// The names the parts refer to by index.
struct Names<'a> {
    origin: &'a str,
    assets: &'a [&'a str],
    groups: &'a [&'a str],
}

impl Names<'_> {
    fn asset(&self, path: &str, j: usize) -> Result<Value> {
        self.assets
            .get(j)
            .map(|n| Value::String((*n).to_string()))
            .ok_or_else(|| {
                Error::scenario(
                    self.origin,
                    path,
                    format!(
                        "asset index {j}, but the builder has {} assets",
                        self.assets.len()
                    ),
                )
            })
    }

    fn group(&self, path: &str, g: usize) -> Result<Value> {
        self.groups
            .get(g)
            .map(|n| Value::String((*n).to_string()))
            .ok_or_else(|| {
                Error::scenario(
                    self.origin,
                    path,
                    format!(
                        "group index {g}, but the builder has {} groups",
                        self.groups.len()
                    ),
                )
            })
    }
}

/// A whole number as TOML holds it (a signed 64-bit integer); a larger one
/// is written as a float, which the reader refuses with the field's path.
fn whole(n: u64) -> Value {
    match i64::try_from(n) {
        Ok(i) => Value::Integer(i),
        Err(_) => Value::Float(n as f64),
    }
}

fn float(x: f64) -> Value {
    Value::Float(x)
}

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

fn table<const N: usize>(entries: [(&str, Value); N]) -> Table {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

fn asset_table(a: &AssetSpec) -> Table {
    let mut t = table([("name", text(&a.name))]);
    match &a.pricing {
        PricingSpec::Resource(r) => {
            resource_fields(&mut t, r);
            return t;
        }
        PricingSpec::Game(g) => {
            game_fields(&mut t, g);
            return t;
        }
        pricing => {
            t.insert("initial_supply".into(), float(a.initial_supply));
            t.insert("pricing".into(), Value::Table(pricing_table(pricing)));
            if let PricingSpec::Amm(amm) = pricing {
                if amm.ordering != super::Ordering::Arrival {
                    t.insert("ordering".into(), text(amm.ordering.name()));
                }
            }
        }
    }
    if !a.schedule.is_empty() {
        let entries = a
            .schedule
            .iter()
            .map(|c| {
                let mut e = table([("param", text(&c.param))]);
                match c.change {
                    Change::Step { at, value } => {
                        e.insert("at".into(), whole(at));
                        e.insert("value".into(), float(value));
                    }
                    Change::Ramp { from, to, value } => {
                        e.insert("from".into(), whole(from));
                        e.insert("to".into(), whole(to));
                        e.insert("value".into(), float(value));
                    }
                }
                Value::Table(e)
            })
            .collect();
        t.insert("schedule".into(), Value::Array(entries));
    }
    t
}

fn pricing_table(pricing: &PricingSpec) -> Table {
    let book = |kind: &str, b: &BookSpec| {
        table([
            ("kind", text(kind)),
            ("tick_size", float(b.tick_size)),
            ("lot_size", float(b.lot_size)),
            ("initial_price", float(b.initial_price)),
        ])
    };
    match pricing {
        PricingSpec::BondingCurve { curve, fee } => {
            let mut t = table([
                ("kind", text("bonding_curve")),
                ("curve", text(curve.name())),
            ]);
            for &p in curve.param_names() {
                t.insert(p.to_string(), float(curve.param(p).unwrap_or(f64::NAN)));
            }
            t.insert("fee".into(), float(*fee));
            t
        }
        PricingSpec::OrderBook(b) => book("order_book", b),
        PricingSpec::CallAuction(b) => book("call_auction", b),
        PricingSpec::Equilibrium(e) => {
            let mut t = table([
                ("kind", text("equilibrium")),
                (
                    "price_range",
                    Value::Array(vec![float(e.price_range.0), float(e.price_range.1)]),
                ),
                ("lot_size", float(e.lot_size)),
            ]);
            shapes(&mut t, e.demand, e.supply);
            if let Some(p) = e.initial_price {
                t.insert("initial_price".into(), float(p));
            }
            t
        }
        PricingSpec::PriceAdjustment(a) => {
            let mut t = table([("kind", text("price_adjustment"))]);
            rule_fields(&mut t, &a.rule, a.initial_price);
            shapes(&mut t, a.demand, a.supply);
            t.insert("lot_size".into(), float(a.lot_size));
            t
        }
        PricingSpec::PostedPrice(p) => {
            let d = &p.demand;
            let a = match &d.a {
                Quality::Same(a) => float(*a),
                Quality::PerSeller(a) => Value::Array(a.iter().copied().map(float).collect()),
            };
            let demand = table([
                ("shape", text("logit")),
                ("a", a),
                ("a0", float(d.a0)),
                ("mu", float(d.mu)),
                ("size", float(d.size)),
            ]);
            let prices = match &p.prices {
                GridSpec::Span { m, xi } => {
                    Value::Table(table([("m", whole(*m as u64)), ("xi", float(*xi))]))
                }
                GridSpec::List(list) => Value::Array(list.iter().copied().map(float).collect()),
            };
            table([
                ("kind", text("posted_price")),
                ("demand", Value::Table(demand)),
                ("prices", prices),
            ])
        }
        PricingSpec::Amm(a) => {
            let mut t = table([
                ("kind", text("amm")),
                ("curve", text(a.curve.name())),
                ("reserve_money", float(a.reserve_money)),
                ("reserve_token", float(a.reserve_token)),
                ("fee", float(a.fee)),
            ]);
            if let Some(s) = a.max_slippage {
                t.insert("max_slippage".into(), float(s));
            }
            t
        }
        // written by `resource_fields` and `game_fields`, beside the
        // asset's own fields
        PricingSpec::Resource(_) | PricingSpec::Game(_) => Table::new(),
        // A user mechanism's fields are its factory's: only its kind is
        // known here.
        PricingSpec::Custom(c) => table([("kind", text(c.kind()))]),
    }
}

/// A game asset's fields, its matrix inline (a game file it was read from
/// is written out, so that the table stands alone).
fn game_fields(t: &mut Table, g: &crate::games::population::GameSpec) {
    t.insert("kind".into(), text("game"));
    let labels = g.strategies().iter().map(|l| text(l)).collect();
    t.insert("strategies".into(), Value::Array(labels));
    let a = g.game.row_payoffs();
    let rows = (0..a.rows())
        .map(|i| Value::Array(a.row(i).iter().copied().map(float).collect()))
        .collect();
    t.insert("payoffs".into(), Value::Array(rows));
    t.insert("group_size".into(), whole(u64::from(g.group_size)));
    t.insert("payoff_unit".into(), float(g.payoff_unit));
    t.insert("pool".into(), float(g.pool));
}

fn resource_fields(t: &mut Table, r: &ResourceSpec) {
    t.insert("kind".into(), text("resource"));
    t.insert("capacity".into(), float(r.capacity));
    t.insert(
        "renewal".into(),
        text(if r.renewing { "renewing" } else { "stock" }),
    );
    t.insert("decay".into(), float(r.decay));
    t.insert("holding_cost".into(), float(r.holding_cost));
    t.insert("allocation".into(), text(r.allocation.name()));
    let pricing = match r.pricing {
        ResourcePricing::Adjustment {
            rule,
            initial_price,
        } => {
            let mut p = table([("kind", text("price_adjustment"))]);
            rule_fields(&mut p, &rule, initial_price);
            p
        }
        ResourcePricing::Auction { reserve_price } => table([
            ("kind", text("auction")),
            ("reserve_price", float(reserve_price)),
        ]),
        ResourcePricing::Fixed { price } => {
            table([("kind", text("fixed")), ("price", float(price))])
        }
    };
    t.insert("pricing".into(), Value::Table(pricing));
}

fn rule_fields(t: &mut Table, rule: &PriceRule, initial_price: f64) {
    let (name, lambda) = match rule.adjustment {
        Adjustment::Linear { lambda } => ("linear", lambda),
        Adjustment::Proportional { lambda } => ("proportional", lambda),
        Adjustment::Logarithmic { lambda } => ("logarithmic", lambda),
    };
    t.insert("rule".into(), text(name));
    t.insert("lambda".into(), float(lambda));
    t.insert("initial_price".into(), float(initial_price));
    if let Some(m) = rule.max_change {
        t.insert("max_change".into(), float(m));
    }
    if let Some(m) = rule.max_relative_change {
        t.insert("max_relative_change".into(), float(m));
    }
    t.insert("min_price".into(), float(rule.min_price));
}

fn shapes(t: &mut Table, demand: Option<Shape>, supply: Option<Shape>) {
    for (key, shape, names) in [
        ("demand", demand, ("a", "b")),
        ("supply", supply, ("c", "d")),
    ] {
        let Some(shape) = shape else {
            continue;
        };
        let s = match shape {
            Shape::Linear { intercept, slope } => table([
                ("shape", text("linear")),
                (names.0, float(intercept)),
                (names.1, float(slope)),
            ]),
            Shape::ConstantElasticity { scale, exponent } => table([
                ("shape", text("constant_elasticity")),
                ("scale", float(scale)),
                // demand's exponent is −elasticity, supply's +elasticity
                ("elasticity", float(exponent.abs())),
            ]),
        };
        t.insert(key.to_string(), Value::Table(s));
    }
}

fn group_table(g: &GroupSpec, policy: Option<&Table>, names: &Names<'_>) -> Result<Table> {
    let path = |field: &str| format!("agents.{}.{field}", g.name);
    let mut t = table([
        ("group", text(&g.name)),
        ("count", whole(u64::from(g.count))),
        ("balance", float(g.balance)),
    ]);
    if let Some(c) = g.cost {
        t.insert("cost".into(), float(c));
    }
    if !g.holdings.is_empty() {
        let drops = g
            .holdings
            .iter()
            .map(|h| airdrop_table(h, &path("holdings"), names).map(Value::Table))
            .collect::<Result<Vec<_>>>()?;
        t.insert("holdings".into(), Value::Array(drops));
    }
    let policy = match (policy, &g.policy) {
        (Some(p), _) => p.clone(),
        (None, GroupPolicy::Builtin(p)) => policy_table(p, &path("policy"), names)?,
        (None, GroupPolicy::Custom(custom)) => {
            let learner = custom
                .as_adaptive()
                .and_then(super::learners::learner_table);
            if let Some((j, mut table)) = learner {
                table.insert("asset".into(), names.asset(&path("policy.asset"), j)?);
                table
            } else {
                return Err(Error::scenario(
                    names.origin,
                    path("policy"),
                    "a custom policy has no table to write; add the group with \
                 group_with_policy_table (its kind registered), or give it a built-in policy \
                 and replace it with Simulation::set_policy",
                ));
            }
        }
    };
    t.insert("policy".into(), Value::Table(policy));
    let objective = match g.objective {
        Objective::FinalWealth => table([("kind", text("final_wealth"))]),
        Objective::LogWealth => table([("kind", text("log_wealth"))]),
        Objective::Surplus => table([("kind", text("surplus"))]),
        Objective::Holdings(j) => table([
            ("kind", text("holdings")),
            ("asset", names.asset(&path("objective.asset"), j)?),
        ]),
    };
    t.insert("objective".into(), Value::Table(objective));
    if let Some(e) = &g.evolution {
        let params = e.params.iter().map(|p| text(p)).collect();
        t.insert(
            "evolution".into(),
            Value::Table(table([
                ("every", whole(e.every)),
                ("select", float(e.select)),
                ("mutate", float(e.mutate)),
                ("params", Value::Array(params)),
            ])),
        );
    }
    Ok(t)
}

fn airdrop_table(h: &AirdropSpec, path: &str, names: &Names<'_>) -> Result<Table> {
    let mut t = table([
        ("asset", names.asset(path, h.asset)?),
        ("total", float(h.total)),
    ]);
    match &h.shares {
        ShareDistribution::Uniform => {
            t.insert("distribution".into(), text("uniform"));
        }
        ShareDistribution::Weighted(w) => {
            t.insert("distribution".into(), text("weighted"));
            t.insert(
                "weights".into(),
                Value::Array(w.iter().copied().map(float).collect()),
            );
        }
        ShareDistribution::LogNormal { sigma } => {
            t.insert("distribution".into(), text("lognormal"));
            t.insert("sigma".into(), float(*sigma));
        }
        ShareDistribution::Pareto { alpha } => {
            t.insert("distribution".into(), text("pareto"));
            t.insert("alpha".into(), float(*alpha));
        }
    }
    Ok(t)
}

fn distribution_table(d: &ValueDistribution) -> Value {
    Value::Table(match *d {
        ValueDistribution::Constant { value } => {
            table([("distribution", text("constant")), ("value", float(value))])
        }
        ValueDistribution::Uniform { low, high } => table([
            ("distribution", text("uniform")),
            ("low", float(low)),
            ("high", float(high)),
        ]),
        ValueDistribution::Normal { mean, std } => table([
            ("distribution", text("normal")),
            ("mean", float(mean)),
            ("std", float(std)),
        ]),
        ValueDistribution::LogNormal { mu, sigma } => table([
            ("distribution", text("lognormal")),
            ("mu", float(mu)),
            ("sigma", float(sigma)),
        ]),
    })
}

/// A token amount kept in base units, in token units as a file writes it.
fn tokens(base: u64) -> Value {
    float(to_units(base))
}

fn policy_table(policy: &BuiltinPolicy, path: &str, names: &Names<'_>) -> Result<Table> {
    let asset_path = format!("{path}.asset");
    let mut t = table([("kind", text(PolicyKind::of(policy).name()))]);
    let mut put = |k: &str, v: Value| {
        t.insert(k.to_string(), v);
    };
    match policy {
        BuiltinPolicy::Random(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("p_buy", float(p.p_buy));
            put("p_sell", float(p.p_sell));
            put("buy_fraction", float(p.buy_fraction));
            put("sell_fraction", float(p.sell_fraction));
        }
        BuiltinPolicy::Threshold(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("buy_below", float(p.buy_below));
            put("sell_above", float(p.sell_above));
            put("p_trade", float(p.p_trade));
            put("buy_fraction", float(p.buy_fraction));
            put("sell_fraction", float(p.sell_fraction));
        }
        BuiltinPolicy::Momentum(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("lookback", whole(p.lookback as u64));
            put("threshold", float(p.threshold));
            put("p_trade", float(p.p_trade));
            put("buy_fraction", float(p.buy_fraction));
            put("sell_fraction", float(p.sell_fraction));
        }
        BuiltinPolicy::MeanReversion(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("lookback", whole(p.lookback as u64));
            put("threshold", float(p.threshold));
            put("p_trade", float(p.p_trade));
            put("buy_fraction", float(p.buy_fraction));
            put("sell_fraction", float(p.sell_fraction));
        }
        BuiltinPolicy::Valuation(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("valuation", distribution_table(&p.valuation));
            put("beta", float(p.beta));
            put("activity", float(p.activity));
            put("buy_fraction", float(p.buy_fraction));
            put("sell_fraction", float(p.sell_fraction));
        }
        BuiltinPolicy::ZiC(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            let seller = p.side == Side::Sell;
            put("role", text(if seller { "seller" } else { "buyer" }));
            put("value", distribution_table(&p.value));
            put("units", tokens(p.units));
            put("lot", tokens(p.lot));
            put("min_price", float(p.min_price));
            // only sellers ask up to it; a buyer's is left to its default
            if seller {
                put("max_price", float(p.max_price));
            }
            put("ttl", whole(u64::from(p.ttl)));
            if let Some(s) = p.shade {
                put("shade", float(s));
            }
        }
        BuiltinPolicy::MarketMaker(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("spread", float(p.spread));
            put("size", tokens(p.size));
            put("max_inventory", tokens(p.max_inventory));
            put("skew", float(p.skew));
            put("ttl", whole(u64::from(p.ttl)));
        }
        BuiltinPolicy::Fundamental(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("value", distribution_table(&p.value));
            put("activity", float(p.activity));
            put("buy_fraction", float(p.buy_fraction));
            put("sell_fraction", float(p.sell_fraction));
            put("ttl", whole(u64::from(p.ttl)));
        }
        BuiltinPolicy::Consumer(p) => {
            let assets = p
                .assets
                .iter()
                .map(|&j| names.asset(&format!("{path}.assets"), j))
                .collect::<Result<Vec<_>>>()?;
            put("assets", Value::Array(assets));
            put(
                "preferences",
                Value::Array(p.preferences.iter().copied().map(float).collect()),
            );
            put("need", distribution_table(&p.need));
            if !p.need_schedule.is_empty() {
                put(
                    "need_schedule",
                    Value::Array(p.need_schedule.iter().copied().map(float).collect()),
                );
            }
            put("value", float(p.value));
            match p.demand {
                DemandForm::Linear => put("demand", text("linear")),
                DemandForm::Elastic {
                    elasticity,
                    reference,
                } => {
                    put("demand", text("elastic"));
                    put("elasticity", float(elasticity));
                    put("reference_price", float(reference));
                }
            }
            put("budget_share", float(p.budget_share));
        }
        BuiltinPolicy::Producer(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("cost", float(p.cost));
            put("max_output", tokens(p.max_output));
            put("lead_time", whole(u64::from(p.lead_time)));
            put("margin", float(p.margin));
        }
        BuiltinPolicy::Effort(p) => {
            put("level", tokens(p.level));
        }
        BuiltinPolicy::LiquidityProvider(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("share", float(p.share));
            put("at", whole(p.at));
            if let Some(w) = p.withdraw_at {
                put("withdraw_at", whole(w));
            }
        }
        BuiltinPolicy::Staker(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("share", float(p.share));
            put("min_rate", float(p.min_rate));
            if let Some(d) = p.exit_drawdown {
                put("exit_drawdown", float(d));
            }
            put("lookback", whole(p.lookback));
        }
        BuiltinPolicy::Sandwich(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put("min_profit", tokens(p.min_profit));
            put("priority_fee", tokens(p.priority_fee));
        }
        BuiltinPolicy::BestResponse(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
        }
        BuiltinPolicy::Attacker(a) => {
            use crate::agents::attackers::{AttackerPolicy, CartelPolicy};
            put("asset", names.asset(&asset_path, a.asset())?);
            match a {
                AttackerPolicy::WashTrader(p) => {
                    put("size", tokens(p.size));
                    put("every", whole(p.every));
                }
                AttackerPolicy::PumpAndDump(p) => {
                    put("buy_until", whole(p.buy_until));
                    put("sell_from", whole(p.sell_from));
                    put("buy_fraction", float(p.buy_fraction));
                    put("sell_fraction", float(p.sell_fraction));
                }
                AttackerPolicy::Spoofer(p) => {
                    put("size", tokens(p.size));
                    put("trade", tokens(p.trade));
                    put("depth", float(p.depth));
                }
                AttackerPolicy::Cartel(CartelPolicy::Posted(p)) => {
                    put("punish", Value::Boolean(p.punish));
                }
                AttackerPolicy::Cartel(CartelPolicy::Supply(p)) => {
                    put("cost", float(p.cost));
                    put("max_output", tokens(p.max_output));
                    put("lead_time", whole(u64::from(p.lead_time)));
                    put("margin", float(p.margin));
                    put("withhold", float(p.withhold));
                }
                AttackerPolicy::Hoarder(p) => {
                    put("quantity", tokens(p.quantity));
                    put("max_price", tokens(p.max_price));
                }
            }
        }
        BuiltinPolicy::Player(p) => {
            put("asset", names.asset(&asset_path, p.asset)?);
            put(
                "shares",
                Value::Table(
                    p.shares
                        .iter()
                        .map(|(label, x)| (label.clone(), float(*x)))
                        .collect(),
                ),
            );
            put("revision", text(p.revision.name()));
            if let crate::games::population::Revision::Logit { eta } = p.revision {
                put("eta", float(eta));
            }
            put("rate", float(p.rate));
        }
        BuiltinPolicy::Scripted(p) => {
            let mut entries = Vec::new();
            for (i, a) in p.entries() {
                let mut e = Table::new();
                e.insert("step".into(), whole(a.step));
                let asset = names.asset(&format!("{path}.actions[{i}].asset"), a.asset)?;
                match a.trade {
                    ScriptedTrade::Buy { spend } => {
                        e.insert("action".into(), text("buy"));
                        e.insert("asset".into(), asset);
                        e.insert("spend".into(), float(spend));
                    }
                    ScriptedTrade::Sell { amount } => {
                        e.insert("action".into(), text("sell"));
                        e.insert("asset".into(), asset);
                        e.insert("amount".into(), float(amount));
                    }
                }
                if let Some(s) = a.max_slippage {
                    e.insert("max_slippage".into(), float(s));
                }
                if a.priority_fee > 0 {
                    e.insert("priority_fee".into(), tokens(a.priority_fee));
                }
                entries.push((i, Value::Table(e)));
            }
            // As written: the script's own order.
            entries.sort_by_key(|(i, _)| *i);
            put(
                "actions",
                Value::Array(entries.into_iter().map(|(_, v)| v).collect()),
            );
        }
    }
    Ok(t)
}

fn event_table(i: usize, e: &EventSpec, names: &Names<'_>) -> Result<Table> {
    let path = format!("events[{i}]");
    let at = |field: &str| format!("{path}.{field}");
    let mut t = table([("at", whole(e.at)), ("kind", text(e.kind.name()))]);
    let mut put = |k: &str, v: Value| {
        t.insert(k.to_string(), v);
    };
    match &e.kind {
        EventKind::Dump {
            group,
            asset,
            share,
        } => {
            put("group", names.group(&at("group"), *group)?);
            put("asset", names.asset(&at("asset"), *asset)?);
            put("share", float(*share));
        }
        EventKind::Join { group } => put("group", names.group(&at("group"), *group)?),
        EventKind::Leave { group, sell_all } => {
            put("group", names.group(&at("group"), *group)?);
            put("sell_all", Value::Boolean(*sell_all));
        }
        EventKind::Outage {
            asset,
            share,
            duration,
        } => {
            put("asset", names.asset(&at("asset"), *asset)?);
            put("share", float(*share));
            put("duration", whole(*duration));
        }
        EventKind::Parameter {
            asset,
            param,
            value,
        } => {
            put("asset", names.asset(&at("asset"), *asset)?);
            put("param", text(param));
            put("value", float(*value));
        }
        EventKind::Deviation {
            asset,
            seller,
            window,
        } => {
            put("asset", names.asset(&at("asset"), *asset)?);
            put("seller", whole(*seller as u64));
            put("window", whole(*window));
        }
    }
    Ok(t)
}

fn output_table(output: &OutputSpec) -> Table {
    let mut t = Table::new();
    if let Some(a) = output.agent_steps {
        let mut steps = table([("every", whole(a.every))]);
        if let Some(n) = a.sample {
            steps.insert("sample".into(), whole(u64::from(n)));
        }
        t.insert("agent_steps".into(), Value::Table(steps));
    }
    if output.trades {
        t.insert("trades".into(), Value::Boolean(true));
    }
    t
}
