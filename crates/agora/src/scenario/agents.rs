//! Agent groups (`[[agents]]`): counts, balances, airdrops, objectives and
//! the built-in policies' fields.

use super::fields::{money_in_range, parse_name, past_range, token_amount};
use super::{kinds, AssetSpec, Fields, Kind, PolicyRegistry, PricingSpec, Range, MAX_AGENTS};
use crate::agents::attackers::AttackerPolicy;
use crate::agents::evolution::{self, EvolutionSpec};
use crate::agents::QSellerSpec;
use crate::agents::{
    BuiltinPolicy, ConsumerPolicy, DemandForm, FundamentalPolicy, GroupPolicy, MarketMakerPolicy,
    MeanReversionPolicy, MomentumPolicy, Policy, ProducerPolicy, RandomPolicy, ScriptedAction,
    ScriptedPolicy, ScriptedTrade, Side, ThresholdPolicy, ValuationPolicy, ValueDistribution,
    ZiCPolicy,
};
use crate::error::Result;
use crate::ledger::to_base;

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
    /// Per-agent copies of some policy parameters that evolve
    /// (`evolution = { … }`; see [`crate::agents::evolution`]).
    pub evolution: Option<EvolutionSpec>,
    /// The marginal cost of each agent, money units per unit of the good:
    /// required of a posted-price seller (a group whose policy trades a
    /// `posted_price` asset), refused elsewhere.
    pub cost: Option<f64>,
}

impl GroupSpec {
    /// The group's built-in policy kind, if its policy is a built-in one
    /// (a user's kind is none of them).
    pub fn kind(&self) -> Option<PolicyKind> {
        PolicyKind::from_name(&self.policy_kind)
    }

    /// Whether the group's policy is an attacker's
    /// ([`PolicyKind::is_attacker`]).
    pub fn is_attacker(&self) -> bool {
        self.kind().is_some_and(PolicyKind::is_attacker)
    }
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
    /// `surplus`: final wealth with the tokens of the asset a trader has a
    /// private value for (a `zi_c` trader's value or cost) valued at that
    /// value instead of the price; its change over the run is the trader's
    /// realised surplus. The same as `final_wealth` for agents without a
    /// private value.
    Surplus,
}

impl Objective {
    /// The objective's name as written in a scenario.
    pub fn name(&self) -> &'static str {
        match self {
            Objective::FinalWealth => "final_wealth",
            Objective::LogWealth => "log_wealth",
            Objective::Holdings(_) => "holdings",
            Objective::Surplus => "surplus",
        }
    }
}

kinds! {
    /// The built-in policy kinds, as a group's `policy.kind` names them.
    pub enum PolicyKind {
        /// `random` ([`RandomPolicy`]).
        Random = "random",
        /// `threshold` ([`ThresholdPolicy`]).
        Threshold = "threshold",
        /// `momentum` ([`MomentumPolicy`]).
        Momentum = "momentum",
        /// `mean_reversion` ([`MeanReversionPolicy`]).
        MeanReversion = "mean_reversion",
        /// `valuation` ([`ValuationPolicy`]).
        Valuation = "valuation",
        /// `zi_c` ([`ZiCPolicy`]).
        ZiC = "zi_c",
        /// `market_maker` ([`MarketMakerPolicy`]).
        MarketMaker = "market_maker",
        /// `fundamental` ([`FundamentalPolicy`]).
        Fundamental = "fundamental",
        /// `consumer` ([`ConsumerPolicy`]).
        Consumer = "consumer",
        /// `producer` ([`ProducerPolicy`]).
        Producer = "producer",
        /// `player` ([`PlayerPolicy`](crate::games::population::PlayerPolicy)).
        Player = "player",
        /// `scripted` ([`ScriptedPolicy`](crate::agents::ScriptedPolicy)).
        Scripted = "scripted",
        /// `q_learning` ([`QLearningPolicy`](crate::agents::learning::QLearningPolicy)).
        QLearning = "q_learning",
        /// `bandit` ([`BanditPolicy`](crate::agents::learning::BanditPolicy)).
        Bandit = "bandit",
        /// `policy_gradient` ([`PolicyGradientPolicy`](crate::agents::learning::PolicyGradientPolicy)).
        PolicyGradient = "policy_gradient",
        /// `effort` ([`EffortPolicy`](crate::contracts::EffortPolicy)).
        Effort = "effort",
        /// `staker` ([`StakerPolicy`](crate::incentives::StakerPolicy)).
        Staker = "staker",
        /// `liquidity_provider` ([`LiquidityProviderPolicy`](crate::market::amm::liquidity::LiquidityProviderPolicy)).
        LiquidityProvider = "liquidity_provider",
        /// `sandwich` ([`SandwichPolicy`](crate::agents::SandwichPolicy)),
        /// an attacker on an AMM with `ordering = "mempool"`.
        Sandwich = "sandwich",
        /// `wash_trader` ([`WashTraderPolicy`](crate::agents::attackers::WashTraderPolicy)).
        WashTrader = "wash_trader",
        /// `pump_and_dump` ([`PumpAndDumpPolicy`](crate::agents::attackers::PumpAndDumpPolicy)).
        PumpAndDump = "pump_and_dump",
        /// `spoofer` ([`SpooferPolicy`](crate::agents::attackers::SpooferPolicy)).
        Spoofer = "spoofer",
        /// `cartel` ([`CartelPolicy`](crate::agents::attackers::CartelPolicy)):
        /// sellers of a posted-price market or producers of a resource
        /// that maximise the group's joint profit.
        Cartel = "cartel",
        /// `hoarder` ([`HoarderPolicy`](crate::agents::attackers::HoarderPolicy)):
        /// a group that corners a resource it does not need.
        Hoarder = "hoarder",
        /// `best_response` ([`PostedCartel`](crate::agents::collusion::PostedCartel)
        /// without `joint`): posted-price sellers that each post their
        /// static best response to the others' last prices.
        BestResponse = "best_response",
    }
}

/// The kinds of asset a built-in policy trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trades {
    /// Resources (`kind = "resource"`).
    Resources,
    /// Assets priced by a market that clears orders: not a curve, not a
    /// resource.
    MarketClearing,
    /// Tokens, on a curve or a market.
    Tokens,
    /// Population games (`kind = "game"`).
    Games,
    /// What a seller sells: a posted-price market or a resource.
    Sold,
    /// A posted-price market.
    Posted,
    /// Automated market makers (`kind = "amm"`).
    Amm,
}

impl Trades {
    fn fits(self, pricing: &PricingSpec) -> bool {
        let resource = matches!(pricing, PricingSpec::Resource(_));
        let curve = matches!(pricing, PricingSpec::BondingCurve { .. });
        let game = matches!(pricing, PricingSpec::Game(_));
        // A posted-price market takes posted prices only (its sellers'),
        // which no rule-based policy sets.
        let posted = matches!(pricing, PricingSpec::PostedPrice(_));
        // An AMM takes swaps (market buys and sells), no limit orders.
        let amm = matches!(pricing, PricingSpec::Amm(_));
        match self {
            Trades::Resources => resource,
            Trades::MarketClearing => !resource && !curve && !posted && !game && !amm,
            Trades::Tokens => !resource && !posted && !game,
            Trades::Games => game,
            Trades::Sold => posted || resource,
            Trades::Posted => posted,
            Trades::Amm => amm,
        }
    }

    fn wanted(self) -> &'static str {
        match self {
            Trades::Resources => "a resource (kind = \"resource\")",
            Trades::MarketClearing => {
                "a market-clearing asset (order_book, call_auction, equilibrium or price_adjustment)"
            }
            Trades::Tokens => "a token (on a curve or a market)",
            Trades::Games => "a population game (kind = \"game\")",
            Trades::Sold => "a posted_price asset or a resource (kind = \"resource\")",
            Trades::Posted => "a posted_price asset",
            Trades::Amm => "an automated market maker (kind = \"amm\")",
        }
    }
}

impl PolicyKind {
    /// The kind of a built-in policy.
    pub fn of(policy: &BuiltinPolicy) -> PolicyKind {
        match policy {
            BuiltinPolicy::Random(_) => PolicyKind::Random,
            BuiltinPolicy::Threshold(_) => PolicyKind::Threshold,
            BuiltinPolicy::Momentum(_) => PolicyKind::Momentum,
            BuiltinPolicy::MeanReversion(_) => PolicyKind::MeanReversion,
            BuiltinPolicy::Valuation(_) => PolicyKind::Valuation,
            BuiltinPolicy::ZiC(_) => PolicyKind::ZiC,
            BuiltinPolicy::MarketMaker(_) => PolicyKind::MarketMaker,
            BuiltinPolicy::Fundamental(_) => PolicyKind::Fundamental,
            BuiltinPolicy::Consumer(_) => PolicyKind::Consumer,
            BuiltinPolicy::Producer(_) => PolicyKind::Producer,
            BuiltinPolicy::Player(_) => PolicyKind::Player,
            BuiltinPolicy::Effort(_) => PolicyKind::Effort,
            BuiltinPolicy::Scripted(_) => PolicyKind::Scripted,
            BuiltinPolicy::Staker(_) => PolicyKind::Staker,
            BuiltinPolicy::LiquidityProvider(_) => PolicyKind::LiquidityProvider,
            BuiltinPolicy::Sandwich(_) => PolicyKind::Sandwich,
            BuiltinPolicy::Attacker(a) => match a {
                AttackerPolicy::WashTrader(_) => PolicyKind::WashTrader,
                AttackerPolicy::PumpAndDump(_) => PolicyKind::PumpAndDump,
                AttackerPolicy::Spoofer(_) => PolicyKind::Spoofer,
                AttackerPolicy::Cartel(_) => PolicyKind::Cartel,
                AttackerPolicy::Hoarder(_) => PolicyKind::Hoarder,
            },
            BuiltinPolicy::BestResponse(_) => PolicyKind::BestResponse,
        }
    }

    /// Whether the kind is an attacker's: a policy that manipulates a
    /// market (the ground truth monitors are scored against, and the
    /// groups whose gains `summary.json` reports as `extracted`).
    pub fn is_attacker(self) -> bool {
        matches!(
            self,
            PolicyKind::Sandwich
                | PolicyKind::WashTrader
                | PolicyKind::PumpAndDump
                | PolicyKind::Spoofer
                | PolicyKind::Cartel
                | PolicyKind::Hoarder
        )
    }

    /// Whether the kind is a learner's (`q_learning`, `bandit`,
    /// `policy_gradient`): an adaptive policy with per-agent state, read by
    /// `scenario::learners`.
    pub fn learns(self) -> bool {
        matches!(
            self,
            PolicyKind::QLearning | PolicyKind::Bandit | PolicyKind::PolicyGradient
        )
    }

    /// The kinds of asset a policy of this kind trades: consumers and
    /// producers resources, limit-order traders market-clearing assets, and
    /// the rule-based traders tokens (on a curve or a market). A learner's
    /// actions are checked one by one against its asset as they are read.
    fn trades(self) -> Trades {
        match self {
            PolicyKind::QLearning | PolicyKind::Bandit | PolicyKind::PolicyGradient => {
                Trades::Tokens
            }
            PolicyKind::Consumer | PolicyKind::Producer | PolicyKind::Hoarder => Trades::Resources,
            PolicyKind::Cartel => Trades::Sold,
            PolicyKind::BestResponse => Trades::Posted,
            PolicyKind::Player => Trades::Games,
            // trades nothing: it names no asset to check
            PolicyKind::Effort => Trades::Tokens,
            PolicyKind::ZiC | PolicyKind::MarketMaker | PolicyKind::Fundamental => {
                Trades::MarketClearing
            }
            PolicyKind::Random
            | PolicyKind::Threshold
            | PolicyKind::Momentum
            | PolicyKind::MeanReversion
            | PolicyKind::Valuation
            | PolicyKind::Scripted
            | PolicyKind::Staker
            | PolicyKind::Sandwich
            | PolicyKind::WashTrader
            | PolicyKind::PumpAndDump => Trades::Tokens,
            PolicyKind::Spoofer => Trades::MarketClearing,
            PolicyKind::LiquidityProvider => Trades::Amm,
        }
    }
}

/// A built-in policy trades only the kind of asset it is made for (see
/// [`PolicyKind::trades`]).
pub(super) fn check_policy_fits_assets(
    f: &Fields<'_>,
    group: &GroupSpec,
    assets: &[AssetSpec],
) -> Result<()> {
    if let Some(h) = group.holdings.iter().find(|h| {
        matches!(
            assets.get(h.asset).map(|a| &a.pricing),
            Some(PricingSpec::Game(_))
        )
    }) {
        return Err(f.error(
            "holdings",
            format!(
                "{:?} is a population game: it is played, not held",
                assets[h.asset].name
            ),
        ));
    }
    let GroupPolicy::Builtin(policy) = &group.policy else {
        return Ok(());
    };
    let kind = PolicyKind::of(policy);
    let trades = kind.trades();
    for j in policy.assets() {
        let Some(asset) = assets.get(j) else {
            continue;
        };
        let pricing = &asset.pricing;
        if !trades.fits(pricing) {
            let key = if kind == PolicyKind::Consumer && policy.assets().len() > 1 {
                "policy.assets".to_string()
            } else if let BuiltinPolicy::Scripted(s) = policy {
                let i = s.source_index(j);
                format!("policy.actions[{i}].asset")
            } else {
                "policy.asset".to_string()
            };
            return Err(f.error(
                &key,
                format!(
                    "a {} policy trades {}, and {:?} is priced by {}",
                    kind.name(),
                    trades.wanted(),
                    asset.name,
                    pricing.kind_name()
                ),
            ));
        }
    }
    if let BuiltinPolicy::Player(p) = policy {
        super::game::check_player(f, p, assets)?;
    }
    if let BuiltinPolicy::Sandwich(p) = policy {
        // A sandwich needs pending orders to see: an AMM with a mempool.
        if let Some(asset) = assets.get(p.asset) {
            let mempool = matches!(&asset.pricing, PricingSpec::Amm(a) if a.ordering == super::Ordering::Mempool);
            if !mempool {
                return Err(f.error(
                    "policy.asset",
                    format!(
                        "a sandwich attacker front-runs pending swaps, and {:?} has no mempool: \
                         it needs an amm asset with ordering = \"mempool\"",
                        asset.name
                    ),
                ));
            }
        }
    }
    if let BuiltinPolicy::Scripted(s) = policy {
        // A slippage bound is an AMM's: a curve or a market has no quote
        // to hold a swap to.
        for (i, a) in s.entries().filter(|(_, a)| a.max_slippage.is_some()) {
            if let Some(asset) = assets.get(a.asset) {
                if !matches!(asset.pricing, PricingSpec::Amm(_)) {
                    return Err(f.error(
                        &format!("policy.actions[{i}].max_slippage"),
                        format!(
                            "a slippage bound applies to a swap on an amm, and {:?} is priced by {}",
                            asset.name,
                            asset.pricing.kind_name()
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Reads one `[[agents]]` entry, with the Q-learning seller's parameters
/// when its policy is one (its policy is built once every group is read:
/// see [`posted::resolve`](super::posted::resolve)).
pub(super) fn parse_group(
    f: &mut Fields<'_>,
    assets: &[String],
    specs: &[AssetSpec],
    registry: &PolicyRegistry,
) -> Result<(GroupSpec, Option<QSellerSpec>)> {
    let name = parse_name(f, "group")?;
    let count = f.whole("count", 1, MAX_AGENTS)? as u32;
    let balance = f.number("balance", Range::NonNegative)?;
    if to_base(balance).is_none() {
        return Err(f.error("balance", past_range(balance, "money")));
    }
    let cost = f.opt_number("cost", Range::NonNegative)?;
    if let Some(c) = cost {
        money_in_range(f, "cost", c)?;
    }
    let mut holdings = Vec::new();
    for mut h in f.tables("holdings", Some("asset"))? {
        holdings.push(parse_airdrop(&mut h, assets)?);
        h.finish()?;
    }
    let mut p = f.table("policy")?;
    let kind = p.string("kind")?;
    let mut seller = None;
    let policy = match PolicyKind::from_name(kind) {
        Some(PolicyKind::QLearning) if on_posted_price(&mut p, assets, specs) => {
            let (policy, spec) = parse_learner(&mut p, assets, specs)?;
            seller = spec;
            policy
        }
        Some(learner) if learner.learns() => {
            super::learners::parse_learner(&mut p, learner, assets, specs)?
        }
        Some(attacker) if attacker.is_attacker() => GroupPolicy::Builtin(
            super::attackers::parse_attacker(&mut p, attacker, assets, specs, count)?,
        ),
        Some(builtin) => GroupPolicy::Builtin(parse_builtin(&mut p, builtin, assets)?),
        None => match registry.custom.get(kind) {
            Some(factory) => factory(&mut p, assets)?,
            None => {
                return Err(p.error(
                    "kind",
                    format!(
                        "unknown policy kind {kind:?}; expected one of: {}",
                        registry.kinds().join(", ")
                    ),
                ))
            }
        },
    };
    p.finish()?;
    let objective = parse_objective(f, assets)?;
    let evolution = parse_evolution(f, &policy, kind)?;
    Ok((
        GroupSpec {
            name,
            count,
            balance,
            holdings,
            policy,
            policy_kind: kind.to_string(),
            objective,
            cost,
            evolution,
        },
        seller,
    ))
}

/// Whether the policy's `asset` names a `posted_price` asset: there a
/// `q_learning` policy is a Q-learning seller ([`parse_learner`]), on any
/// other asset a learner over an action set
/// ([`learners::parse_learner`](super::learners::parse_learner)).
fn on_posted_price(p: &mut Fields<'_>, assets: &[String], specs: &[AssetSpec]) -> bool {
    p.raw("asset")
        .and_then(toml::Value::as_str)
        .and_then(|name| assets.iter().position(|a| a == name))
        .and_then(|j| specs.get(j))
        .is_some_and(|spec| matches!(spec.pricing, PricingSpec::PostedPrice(_)))
}

/// Reads a `q_learning` policy: on a `posted_price` asset a Q-learning
/// seller, built once every group is read (a placeholder until then).
fn parse_learner(
    p: &mut Fields<'_>,
    assets: &[String],
    specs: &[AssetSpec],
) -> Result<(GroupPolicy, Option<QSellerSpec>)> {
    let asset = p.asset("asset", assets)?;
    let pricing = &specs[asset].pricing;
    if !matches!(pricing, PricingSpec::PostedPrice(_)) {
        return Err(p.error(
            "asset",
            format!(
                "a q_learning policy posts prices on a posted_price asset, and {:?} is priced by {}",
                assets[asset],
                pricing.kind_name()
            ),
        ));
    }
    let spec = super::learners_posted::parse_q_seller(p, asset)?;
    Ok((super::learners_posted::placeholder(asset), Some(spec)))
}

kinds! {
    /// `holdings.distribution`.
    enum ShareKind {
        Uniform = "uniform",
        Weighted = "weighted",
        LogNormal = "lognormal",
        Pareto = "pareto",
    }
}

impl ShareDistribution {
    fn kind(&self) -> ShareKind {
        match self {
            ShareDistribution::Uniform => ShareKind::Uniform,
            ShareDistribution::Weighted(_) => ShareKind::Weighted,
            ShareDistribution::LogNormal { .. } => ShareKind::LogNormal,
            ShareDistribution::Pareto { .. } => ShareKind::Pareto,
        }
    }

    /// The distribution's name as written in a scenario.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

fn parse_airdrop(h: &mut Fields<'_>, assets: &[String]) -> Result<AirdropSpec> {
    let asset = h.asset("asset", assets)?;
    let total = h.number("total", Range::NonNegative)?;
    if to_base(total).is_none() {
        return Err(h.error("total", past_range(total, "token")));
    }
    let shares = match h.kind("distribution")? {
        ShareKind::Uniform => ShareDistribution::Uniform,
        ShareKind::Weighted => {
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
        ShareKind::LogNormal => ShareDistribution::LogNormal {
            sigma: h.number("sigma", Range::Closed(0.0, 20.0))?,
        },
        ShareKind::Pareto => ShareDistribution::Pareto {
            alpha: h.number("alpha", Range::Closed(0.01, 1e6))?,
        },
    };
    Ok(AirdropSpec {
        asset,
        total,
        shares,
    })
}

kinds! {
    /// `objective.kind`.
    enum ObjectiveKind {
        FinalWealth = "final_wealth",
        LogWealth = "log_wealth",
        Holdings = "holdings",
        Surplus = "surplus",
    }
}

fn parse_objective(f: &mut Fields<'_>, assets: &[String]) -> Result<Objective> {
    let Some(mut o) = f.opt_table("objective")? else {
        return Ok(Objective::default());
    };
    let objective = match o.kind("kind")? {
        ObjectiveKind::FinalWealth => Objective::FinalWealth,
        ObjectiveKind::LogWealth => Objective::LogWealth,
        ObjectiveKind::Holdings => Objective::Holdings(o.asset("asset", assets)?),
        ObjectiveKind::Surplus => Objective::Surplus,
    };
    o.finish()?;
    Ok(objective)
}

/// Reads a group's `evolution` table: `every`, `select`, `mutate` and the
/// `params` of its built-in policy that evolve.
fn parse_evolution(
    f: &mut Fields<'_>,
    policy: &GroupPolicy,
    kind: &str,
) -> Result<Option<EvolutionSpec>> {
    let Some(mut e) = f.opt_table("evolution")? else {
        return Ok(None);
    };
    let every = e.whole("every", 1, i64::MAX as u64)?;
    let select = e.number("select", Range::Closed(0.0, 0.5))?;
    if select == 0.0 {
        return Err(e.error(
            "select",
            "expected a share > 0 and at most 0.5 (the worst that copy the best)",
        ));
    }
    let mutate = e.number("mutate", Range::NonNegative)?;
    let params: Vec<String> = e
        .strings("params")?
        .into_iter()
        .map(str::to_string)
        .collect();
    let GroupPolicy::Builtin(builtin) = policy else {
        return Err(e.error(
            "params",
            format!(
                "only a built-in rule-based policy's parameters can evolve; this group's policy is {kind:?}"
            ),
        ));
    };
    let can = evolution::evolvable(builtin);
    if params.is_empty() {
        return Err(e.error(
            "params",
            format!(
                "expected at least one parameter, e.g. [\"policy.{}\"]",
                can.first().copied().unwrap_or("threshold")
            ),
        ));
    }
    for (i, p) in params.iter().enumerate() {
        let name = p.strip_prefix("policy.").unwrap_or("");
        if !can.contains(&name) {
            let kind = PolicyKind::of(builtin).name();
            let list: Vec<String> = can.iter().map(|c| format!("policy.{c}")).collect();
            return Err(e.error(
                &format!("params[{i}]"),
                if list.is_empty() {
                    format!("a {kind} policy has no parameters that can evolve, found {p:?}")
                } else {
                    format!(
                        "{p:?} is not an evolvable parameter of a {kind} policy; expected one of: {}",
                        list.join(", ")
                    )
                },
            ));
        }
        if params[..i].contains(p) {
            return Err(e.error(&format!("params[{i}]"), format!("{p:?} appears twice")));
        }
    }
    e.finish()?;
    Ok(Some(EvolutionSpec {
        every,
        select,
        mutate,
        params,
    }))
}

fn fractions(p: &mut Fields<'_>) -> Result<(f64, f64)> {
    Ok((
        p.number("buy_fraction", Range::Unit)?,
        p.number("sell_fraction", Range::Unit)?,
    ))
}

kinds! {
    /// The `distribution` of a `value`, `valuation` or `need` table.
    enum ValueKind {
        Constant = "constant",
        Uniform = "uniform",
        Normal = "normal",
        LogNormal = "lognormal",
    }
}

/// Reads a distribution of private values (`valuation` or `value`).
fn parse_value_distribution(p: &mut Fields<'_>, key: &'static str) -> Result<ValueDistribution> {
    let mut v = p.table(key)?;
    let valuation = match v.kind("distribution")? {
        ValueKind::Constant => ValueDistribution::Constant {
            value: v.number("value", Range::NonNegative)?,
        },
        ValueKind::Uniform => {
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
        ValueKind::Normal => ValueDistribution::Normal {
            mean: v.number("mean", Range::Any)?,
            std: v.number("std", Range::NonNegative)?,
        },
        ValueKind::LogNormal => ValueDistribution::LogNormal {
            mu: v.number("mu", Range::Closed(-700.0, 700.0))?,
            sigma: v.number("sigma", Range::Closed(0.0, 100.0))?,
        },
    };
    v.finish()?;
    Ok(valuation)
}

kinds! {
    /// A consumer's `demand` form (elastic by default).
    enum DemandKind {
        Linear = "linear",
        Elastic = "elastic",
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
    let demand = match p
        .opt_kind("demand", "demand form")?
        .unwrap_or(DemandKind::Elastic)
    {
        DemandKind::Linear => DemandForm::Linear,
        DemandKind::Elastic => DemandForm::Elastic {
            elasticity: p.number_or("elasticity", Range::Closed(0.0, 100.0), 0.0)?,
            reference: p.number_or("reference_price", Range::Positive, value.max(1e-9))?,
        },
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

/// Reads the fields of a built-in policy of kind `kind` (its `kind` already
/// read).
fn parse_builtin(p: &mut Fields<'_>, kind: PolicyKind, assets: &[String]) -> Result<BuiltinPolicy> {
    let traded = |p: &mut Fields<'_>| p.asset("asset", assets);
    Ok(match kind {
        PolicyKind::QLearning | PolicyKind::Bandit | PolicyKind::PolicyGradient => {
            return Err(p.error(
                "kind",
                format!(
                    "{:?} is a learner, with per-agent state, not a rule-based policy",
                    kind.name()
                ),
            ))
        }
        PolicyKind::Sandwich
        | PolicyKind::WashTrader
        | PolicyKind::PumpAndDump
        | PolicyKind::Spoofer
        | PolicyKind::Cartel
        | PolicyKind::Hoarder => {
            return Err(p.error(
                "kind",
                format!(
                    "{:?} is an attacker, read with the scenario's assets",
                    kind.name()
                ),
            ))
        }
        PolicyKind::Consumer => parse_consumer(p, assets)?,
        PolicyKind::BestResponse => {
            BuiltinPolicy::BestResponse(crate::agents::collusion::PostedCartel {
                asset: traded(p)?,
                punish: false,
                joint: false,
                market: None,
            })
        }
        PolicyKind::Scripted => parse_scripted(p, assets)?,
        PolicyKind::Producer => {
            let asset = traded(p)?;
            parse_producer(p, asset)?
        }
        PolicyKind::Player => {
            let asset = traded(p)?;
            super::game::parse_player(p, asset)?
        }
        PolicyKind::Effort => {
            let level = p.number("level", Range::NonNegative)?;
            let level = crate::ledger::to_base(level)
                .ok_or_else(|| p.error("level", past_range(level, "effort")))?;
            BuiltinPolicy::Effort(crate::contracts::EffortPolicy { level })
        }
        PolicyKind::LiquidityProvider => {
            let asset = traded(p)?;
            let at = p.opt_whole("at", 1, i64::MAX as u64)?.unwrap_or(1);
            let withdraw_at = p.opt_whole("withdraw_at", 1, i64::MAX as u64)?;
            if withdraw_at.is_some_and(|w| w <= at) {
                return Err(p.error(
                    "withdraw_at",
                    format!(
                        "expected a step after `at` ({at}), found {}",
                        withdraw_at.unwrap_or(0)
                    ),
                ));
            }
            BuiltinPolicy::LiquidityProvider(
                crate::market::amm::liquidity::LiquidityProviderPolicy {
                    asset,
                    share: p.number("share", Range::Unit)?,
                    at,
                    withdraw_at,
                },
            )
        }
        PolicyKind::Staker => {
            let asset = traded(p)?;
            BuiltinPolicy::Staker(crate::incentives::StakerPolicy {
                asset,
                share: p.number("share", Range::Unit)?,
                min_rate: p.number_or("min_rate", Range::NonNegative, 0.0)?,
                exit_drawdown: p.opt_number("exit_drawdown", Range::Unit)?,
                lookback: p.opt_whole("lookback", 1, 1 << 32)?.unwrap_or(10),
            })
        }
        PolicyKind::ZiC => {
            let asset = traded(p)?;
            parse_zi_c(p, asset)?
        }
        PolicyKind::MarketMaker => {
            let asset = traded(p)?;
            BuiltinPolicy::MarketMaker(MarketMakerPolicy {
                asset,
                spread: p.number("spread", Range::HalfOpen(0.0, 2.0))?,
                size: token_amount(p, "size", None)?,
                max_inventory: token_amount(p, "max_inventory", None)?,
                skew: p.number_or("skew", Range::Closed(0.0, 1.0), 0.0)?,
                ttl: parse_ttl(p)?,
            })
        }
        PolicyKind::Fundamental => {
            let asset = traded(p)?;
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
        PolicyKind::Random => {
            let asset = traded(p)?;
            parse_random(p, asset)?
        }
        PolicyKind::Threshold => {
            let asset = traded(p)?;
            parse_threshold(p, asset)?
        }
        PolicyKind::Momentum => {
            let t = {
                let asset = traded(p)?;
                parse_trend(p, asset)?
            };
            BuiltinPolicy::Momentum(MomentumPolicy {
                asset: t.asset,
                lookback: t.lookback,
                threshold: t.threshold,
                p_trade: t.p_trade,
                buy_fraction: t.buy_fraction,
                sell_fraction: t.sell_fraction,
            })
        }
        PolicyKind::MeanReversion => {
            let t = {
                let asset = traded(p)?;
                parse_trend(p, asset)?
            };
            BuiltinPolicy::MeanReversion(MeanReversionPolicy {
                asset: t.asset,
                lookback: t.lookback,
                threshold: t.threshold,
                p_trade: t.p_trade,
                buy_fraction: t.buy_fraction,
                sell_fraction: t.sell_fraction,
            })
        }
        PolicyKind::Valuation => {
            let asset = traded(p)?;
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

fn parse_producer(p: &mut Fields<'_>, asset: usize) -> Result<BuiltinPolicy> {
    Ok(BuiltinPolicy::Producer(ProducerPolicy {
        asset,
        cost: {
            let cost = p.number("cost", Range::NonNegative)?;
            money_in_range(p, "cost", cost)?;
            cost
        },
        max_output: token_amount(p, "max_output", None)?,
        lead_time: p.opt_whole("lead_time", 0, 1_000_000)?.unwrap_or(1) as u32,
        margin: p.number_or("margin", Range::NonNegative, 0.0)?,
    }))
}

kinds! {
    /// A `zi_c` trader's `role`.
    enum Role {
        Buyer = "buyer",
        Seller = "seller",
    }
}

fn parse_zi_c(p: &mut Fields<'_>, asset: usize) -> Result<BuiltinPolicy> {
    let side = match p.kind("role")? {
        Role::Buyer => Side::Buy,
        Role::Seller => Side::Sell,
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
    Ok(BuiltinPolicy::ZiC(ZiCPolicy {
        asset,
        side,
        value,
        units,
        lot,
        min_price,
        max_price,
        ttl: parse_ttl(p)?,
        shade: p.opt_number("shade", Range::HalfOpen(0.0, 1.0))?,
    }))
}

fn parse_random(p: &mut Fields<'_>, asset: usize) -> Result<BuiltinPolicy> {
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
    Ok(BuiltinPolicy::Random(RandomPolicy {
        asset,
        p_buy,
        p_sell,
        buy_fraction,
        sell_fraction,
    }))
}

kinds! {
    /// What a scripted entry does (`action`).
    enum ScriptedKind {
        Buy = "buy",
        Sell = "sell",
    }
}

/// Reads a `scripted` policy: `actions`, a list of `{ step, action, asset,
/// spend | amount, max_slippage }`, at most one per step; an entry without
/// an `asset` trades the policy's own `asset`.
fn parse_scripted(p: &mut Fields<'_>, assets: &[String]) -> Result<BuiltinPolicy> {
    let default = if p.has("asset") {
        Some(p.asset("asset", assets)?)
    } else {
        None
    };
    let entries = p.tables("actions", None)?;
    if entries.is_empty() {
        return Err(p.error(
            "actions",
            "expected at least one entry { step = 1, action = \"buy\", asset = \"X\", spend = 10.0 }",
        ));
    }
    let mut actions = Vec::with_capacity(entries.len());
    for mut e in entries {
        let step = e.whole("step", 1, u64::MAX)?;
        let kind: ScriptedKind = e.kind("action")?;
        let asset = match default {
            Some(a) if !e.has("asset") => a,
            _ => e.asset("asset", assets)?,
        };
        let (trade, base) = match kind {
            ScriptedKind::Buy => {
                let spend = e.number("spend", Range::Positive)?;
                (
                    ScriptedTrade::Buy { spend },
                    base_amount(&e, "spend", spend, "money")?,
                )
            }
            ScriptedKind::Sell => {
                let amount = e.number("amount", Range::Positive)?;
                (
                    ScriptedTrade::Sell { amount },
                    base_amount(&e, "amount", amount, "token")?,
                )
            }
        };
        let max_slippage = e.opt_number("max_slippage", Range::Unit)?;
        let priority_fee = match e.opt_number("priority_fee", Range::NonNegative)? {
            Some(fee) => {
                to_base(fee).ok_or_else(|| e.error("priority_fee", past_range(fee, "money")))?
            }
            None => 0,
        };
        e.finish()?;
        actions.push(ScriptedAction {
            step,
            asset,
            trade,
            base,
            max_slippage,
            priority_fee,
        });
    }
    match ScriptedPolicy::new(actions) {
        Ok(policy) => Ok(BuiltinPolicy::Scripted(policy)),
        Err(i) => Err(p.error(
            &format!("actions[{i}].step"),
            "an earlier entry has the same step: a scripted agent does one thing a step",
        )),
    }
}

/// `x` (money or token units) in base units: at least one, within the
/// ledger's range.
fn base_amount(e: &Fields<'_>, key: &str, x: f64, what: &str) -> Result<u64> {
    match to_base(x) {
        Some(b) if b > 0 => Ok(b),
        _ => Err(e.error(
            key,
            format!("expected between 1e-9 (one base unit of {what}) and 1.8e10, found {x}"),
        )),
    }
}

fn parse_threshold(p: &mut Fields<'_>, asset: usize) -> Result<BuiltinPolicy> {
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
    Ok(BuiltinPolicy::Threshold(ThresholdPolicy {
        asset,
        buy_below,
        sell_above,
        p_trade,
        buy_fraction,
        sell_fraction,
    }))
}

/// The fields `momentum` and `mean_reversion` share.
struct Trend {
    asset: usize,
    lookback: usize,
    threshold: f64,
    p_trade: f64,
    buy_fraction: f64,
    sell_fraction: f64,
}

fn parse_trend(p: &mut Fields<'_>, asset: usize) -> Result<Trend> {
    let lookback = p.whole("lookback", 1, 1_000_000)? as usize;
    let threshold = p.number_or("threshold", Range::NonNegative, 0.0)?;
    let p_trade = p.number_or("p_trade", Range::Unit, 1.0)?;
    let (buy_fraction, sell_fraction) = fractions(p)?;
    Ok(Trend {
        asset,
        lookback,
        threshold,
        p_trade,
        buy_fraction,
        sell_fraction,
    })
}

#[cfg(test)]
mod tests {
    //! Every name of every kind family reads as its own variant: a name
    //! listed but matched by no arm cannot fall through to another kind.
    //! The samples are exhaustive matches, so a new kind needs a sample.

    use super::*;

    /// Reads `text` with `parse` and checks that it reads every field.
    fn read<T>(text: &str, parse: impl FnOnce(&mut Fields<'_>) -> Result<T>) -> T {
        let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut f = Fields::new("test", "", &table);
        let out = parse(&mut f).unwrap_or_else(|e| panic!("{text}: {e}"));
        f.finish().unwrap_or_else(|e| panic!("{text}: {e}"));
        out
    }

    fn assets() -> Vec<String> {
        vec!["A".to_string()]
    }

    fn capitalised(word: &str) -> String {
        let mut c = word.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    }

    fn policy_sample(kind: PolicyKind) -> &'static str {
        let fractions = "buy_fraction = 0.1, sell_fraction = 0.1";
        let value = "{ distribution = \"constant\", value = 1.0 }";
        match kind {
            PolicyKind::Random => "p_buy = 0.5, p_sell = 0.5, FRACTIONS",
            PolicyKind::Threshold => "buy_below = 1.0, sell_above = 2.0, FRACTIONS",
            PolicyKind::Momentum | PolicyKind::MeanReversion => "lookback = 3, FRACTIONS",
            PolicyKind::Valuation => "valuation = VALUE, beta = 1.0, FRACTIONS",
            PolicyKind::ZiC => "role = \"seller\", value = VALUE",
            PolicyKind::MarketMaker => "spread = 0.1, size = 1.0, max_inventory = 10.0",
            PolicyKind::Fundamental => "value = VALUE, FRACTIONS",
            PolicyKind::Consumer => "need = VALUE, value = 1.0",
            PolicyKind::Producer => "cost = 1.0, max_output = 1.0",
            PolicyKind::Player => "shares = { x = 1.0 }, revision = \"imitation\", rate = 0.5",
            PolicyKind::Effort => "level = 1.0",
            PolicyKind::Staker => "share = 0.5, min_rate = 0.001",
            PolicyKind::LiquidityProvider => "share = 0.5, at = 2, withdraw_at = 5",
            PolicyKind::Scripted => "actions = [{ step = 1, action = \"buy\", spend = 1.0 }]",
            PolicyKind::Sandwich => "min_profit = 0.0",
            PolicyKind::WashTrader => "size = 1.0",
            PolicyKind::PumpAndDump => "buy_until = 2, sell_from = 5, buy_fraction = 0.5",
            PolicyKind::Spoofer => "size = 10.0, trade = 1.0",
            PolicyKind::Cartel => "cost = 1.0, max_output = 2.0, withhold = 0.5",
            PolicyKind::Hoarder => "quantity = 5.0, max_price = 3.0",
            PolicyKind::BestResponse => "",
            PolicyKind::QLearning => {
                "actions = ACTION_SET, alpha = 0.1, delta = 0.9, epsilon = 0.1"
            }
            PolicyKind::Bandit => "actions = ACTION_SET, algorithm = \"ucb1\"",
            PolicyKind::PolicyGradient => "actions = ACTION_SET, learning_rate = 0.1",
        }
        .replace("ACTION_SET", "[\"hold\", { buy = 0.1 }]")
        .replace("FRACTIONS", fractions)
        .replace("VALUE", value)
        .leak()
    }

    #[test]
    fn every_policy_kind_reads_as_its_own_variant() {
        let curve = AssetSpec::new(
            "A",
            PricingSpec::BondingCurve {
                curve: crate::pricing::Curve::Linear { m: 0.001, b: 1.0 },
                fee: 0.0,
            },
        );
        let posted = AssetSpec::new(
            "A",
            PricingSpec::PostedPrice(super::super::posted::PostedSpec {
                demand: super::super::posted::LogitDemand {
                    a: super::super::posted::Quality::Same(2.0),
                    a0: 0.0,
                    mu: 0.25,
                    size: 1.0,
                },
                prices: crate::market::posted::GridSpec::Span { m: 15, xi: 0.1 },
            }),
        );
        let resource = AssetSpec::new(
            "A",
            PricingSpec::Resource(super::super::ResourceSpec {
                capacity: 10.0,
                renewing: true,
                decay: 0.0,
                holding_cost: 0.0,
                allocation: crate::resource::alloc::AllocationRule::Builtin(
                    crate::resource::alloc::Rule::Proportional,
                ),
                pricing: super::super::ResourcePricing::Fixed { price: 1.0 },
            }),
        );
        for &kind in PolicyKind::ALL {
            // a cartel or a hoarder needs a resource (or a posted market)
            let spec = match kind {
                PolicyKind::Cartel | PolicyKind::Hoarder => &resource,
                PolicyKind::BestResponse => &posted,
                _ => &curve,
            };
            // an effort trades no asset; a best_response seller has no
            // other field
            let asset = if kind == PolicyKind::Effort {
                None
            } else {
                Some("asset = \"A\"")
            };
            let fields: Vec<&str> = [
                Some(format!("kind = \"{}\"", kind.name()).leak() as &str),
                asset,
                Some(policy_sample(kind)),
            ]
            .into_iter()
            .flatten()
            .filter(|f| !f.is_empty())
            .collect();
            let text = format!(
                "group = \"g\"\ncount = 1\nbalance = 1.0\npolicy = {{ {} }}",
                fields.join(", ")
            );
            let (group, seller) = read(&text, |f| {
                parse_group(
                    f,
                    &assets(),
                    std::slice::from_ref(spec),
                    &PolicyRegistry::new(),
                )
            });
            assert!(seller.is_none());
            if kind.learns() {
                // A learner is adaptive; its type shows in its Debug.
                let policy = group.policy.as_adaptive().expect("adaptive");
                let name: String = kind.name().split('_').map(capitalised).collect();
                let shown = format!("{policy:?}");
                assert!(
                    shown.to_lowercase().starts_with(&name.to_lowercase()),
                    "{text}: {shown}"
                );
            } else {
                let GroupPolicy::Builtin(policy) = &group.policy else {
                    panic!("{text}: not a built-in policy");
                };
                assert_eq!(PolicyKind::of(policy), kind, "{text}");
            }
            assert_eq!(group.policy_kind, kind.name());
            assert_eq!(PolicyKind::from_name(kind.name()), Some(kind));
        }
        // On a posted-price asset, q_learning is a Q-learning seller, built
        // once its market is.
        let text = "group = \"g\"\ncount = 1\nbalance = 1.0\ncost = 1.0\n\
                    policy = { kind = \"q_learning\", asset = \"A\", alpha = 0.1, delta = 0.9, epsilon = 0.1 }";
        let (group, seller) = read(text, |f| {
            parse_group(
                f,
                &assets(),
                std::slice::from_ref(&posted),
                &PolicyRegistry::new(),
            )
        });
        assert_eq!(group.policy_kind, "q_learning");
        assert_eq!(seller.map(|s| s.asset), Some(0), "{text}");
        assert_eq!(PolicyKind::from_name("valuations"), None);
    }

    #[test]
    fn every_role_reads_as_its_own_side() {
        for &role in Role::ALL {
            let text = format!(
                "kind = \"zi_c\"\nasset = \"A\"\nrole = \"{}\"\nvalue = {{ distribution = \"constant\", value = 1.0 }}",
                role.name()
            );
            let policy = read(&text, |p| {
                p.string("kind")?;
                parse_builtin(p, PolicyKind::ZiC, &assets())
            });
            let BuiltinPolicy::ZiC(z) = policy else {
                panic!("{text}: not zi_c");
            };
            let expected = match role {
                Role::Buyer => Side::Buy,
                Role::Seller => Side::Sell,
            };
            assert_eq!(z.side, expected, "{text}");
        }
    }

    #[test]
    fn every_demand_form_reads_as_its_own_variant() {
        for &kind in DemandKind::ALL {
            let text = format!(
                "kind = \"consumer\"\nasset = \"A\"\nneed = {{ distribution = \"constant\", value = 1.0 }}\nvalue = 1.0\ndemand = \"{}\"",
                kind.name()
            );
            let policy = read(&text, |p| {
                p.string("kind")?;
                parse_builtin(p, PolicyKind::Consumer, &assets())
            });
            let BuiltinPolicy::Consumer(c) = policy else {
                panic!("{text}: not a consumer");
            };
            let read_kind = match c.demand {
                DemandForm::Linear => DemandKind::Linear,
                DemandForm::Elastic { .. } => DemandKind::Elastic,
            };
            assert_eq!(read_kind, kind, "{text}");
        }
    }

    #[test]
    fn every_share_distribution_reads_as_its_own_variant() {
        for &kind in ShareKind::ALL {
            let sample = match kind {
                ShareKind::Uniform => "",
                ShareKind::Weighted => "weights = [1.0, 2.0]",
                ShareKind::LogNormal => "sigma = 1.0",
                ShareKind::Pareto => "alpha = 1.5",
            };
            let text = format!(
                "asset = \"A\"\ntotal = 10.0\ndistribution = \"{}\"\n{sample}",
                kind.name()
            );
            let airdrop = read(&text, |h| parse_airdrop(h, &assets()));
            assert_eq!(airdrop.shares.kind(), kind, "{text}");
            assert_eq!(airdrop.shares.name(), kind.name());
        }
    }

    #[test]
    fn every_objective_reads_as_its_own_variant() {
        for &kind in ObjectiveKind::ALL {
            let text = format!(
                "objective = {{ kind = \"{}\"{} }}",
                kind.name(),
                match kind {
                    ObjectiveKind::Holdings => ", asset = \"A\"",
                    ObjectiveKind::FinalWealth
                    | ObjectiveKind::LogWealth
                    | ObjectiveKind::Surplus => "",
                }
            );
            let objective = read(&text, |f| parse_objective(f, &assets()));
            let read_kind = match objective {
                Objective::FinalWealth => ObjectiveKind::FinalWealth,
                Objective::LogWealth => ObjectiveKind::LogWealth,
                Objective::Holdings(_) => ObjectiveKind::Holdings,
                Objective::Surplus => ObjectiveKind::Surplus,
            };
            assert_eq!(read_kind, kind, "{text}");
            assert_eq!(objective.name(), kind.name());
        }
    }

    #[test]
    fn every_value_distribution_reads_as_its_own_variant() {
        for &kind in ValueKind::ALL {
            let sample = match kind {
                ValueKind::Constant => "value = 1.0",
                ValueKind::Uniform => "low = 0.0, high = 1.0",
                ValueKind::Normal => "mean = 0.0, std = 1.0",
                ValueKind::LogNormal => "mu = 0.0, sigma = 1.0",
            };
            let text = format!("value = {{ distribution = \"{}\", {sample} }}", kind.name());
            let value = read(&text, |p| parse_value_distribution(p, "value"));
            let read_kind = match value {
                ValueDistribution::Constant { .. } => ValueKind::Constant,
                ValueDistribution::Uniform { .. } => ValueKind::Uniform,
                ValueDistribution::Normal { .. } => ValueKind::Normal,
                ValueDistribution::LogNormal { .. } => ValueKind::LogNormal,
            };
            assert_eq!(read_kind, kind, "{text}");
        }
    }
}
