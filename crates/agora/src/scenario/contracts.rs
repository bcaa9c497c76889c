//! `[[contracts]]`: affiliate contracts between groups (see
//! [`crate::contracts`] for how the engine settles them).
//!
//! ```toml
//! [[contracts]]
//! name = "promo"
//! kind = "affiliate"
//! primary = "issuer"                                  # a group
//! affiliates = "promoters"                            # a group
//! goal = { kind = "token_adoption", asset = "AGT" }
//! reward = { kind = "linear", k = 0.5 }               # money per token of ΔS
//! budget = 10000.0                                    # escrowed from the primary at the start
//! referrals = { rate = 0.2, budget = { kind = "uniform", low = 50.0, high = 150.0 }, policy = { kind = "threshold", asset = "AGT", buy_below = 5.0, sell_above = 8.0 } }
//! ```
//!
//! Each contract adds a hidden group of `referrals.max` dormant agents
//! (named `NAME:referrals`, after the scenario's own groups): the
//! referrals the affiliates bring in are drawn from it.

use super::agents::parse_group;
use super::fields::{money_in_range, Fields, Range};
use super::{AssetSpec, GroupSpec, PolicyRegistry};
use crate::error::Result;
use crate::ledger::to_base;
use std::collections::HashMap;

/// The most referrals one contract's pool may hold.
pub const MAX_REFERRALS: u64 = 10_000_000;

/// One affiliate contract (`[[contracts]]`, `kind = "affiliate"`).
#[derive(Debug, Clone, PartialEq)]
pub struct ContractSpec {
    /// `name`.
    pub name: String,
    /// `primary`: the paying group's index.
    pub primary: usize,
    /// `affiliates`: the affiliates' group index.
    pub affiliates: usize,
    /// `goal`.
    pub goal: Goal,
    /// `reward`.
    pub reward: RewardSpec,
    /// `budget`: money escrowed from the primary group at the start, units.
    pub budget: f64,
    /// `referrals`.
    pub referrals: ReferralSpec,
    /// `effort`: how the affiliates choose their effort each step.
    pub effort: EffortSpec,
    /// `sybil`: the last `count` affiliates game the contract, if set.
    pub sybil: Option<SybilSpec>,
}

/// What a contract pays for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// `token_adoption`: ΔS of `asset` from the referrals' net buys.
    TokenAdoption {
        /// The asset's index.
        asset: usize,
    },
    /// `resource_usage`: units of the resource `asset` allocated to the
    /// referrals (what they bought of the primary's resource through the
    /// affiliate), from the step's allocations.
    ResourceUsage {
        /// The resource asset's index.
        asset: usize,
    },
    /// `task_completion`: the primary posts `tasks` tasks each step; each
    /// affiliate completes up to `floor(capacity · e)` of them (its
    /// capacity scaled by its effort), the affiliates in a seeded order,
    /// until they run out; unfinished tasks expire with the step. A task
    /// counts as one unit of contribution.
    TaskCompletion {
        /// Tasks posted per step.
        tasks: u64,
        /// Tasks an affiliate completes per step at effort 1.
        capacity: f64,
    },
}

/// The shape of the reward as a function of an affiliate's cumulative
/// contribution `C` (tokens): the affiliate is entitled to `R(C)` in all.
#[derive(Debug, Clone, PartialEq)]
pub enum RewardKind {
    /// `linear`: `R = k·C`.
    Linear {
        /// Money per token.
        k: f64,
    },
    /// `tiered`: piecewise linear, rate `k_i` for the contribution from
    /// `from_i` on (`tiers = [{ from = 0.0, k = 0.5 }, { from = 100.0, k = 0.25 }]`).
    Tiered {
        /// `(from, k)` in increasing `from`, the first from 0.
        tiers: Vec<(f64, f64)>,
    },
    /// `capped`: `R = k·C`, paid at most `per_step` per affiliate and step
    /// and `per_affiliate` per affiliate over the run.
    Capped {
        /// Money per token.
        k: f64,
        /// The most money paid to one affiliate in one step.
        per_step: Option<f64>,
        /// The most money paid to one affiliate over the run.
        per_affiliate: Option<f64>,
    },
}

/// `reward`.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardSpec {
    /// `kind` and its rates.
    pub kind: RewardKind,
    /// `vesting`: a reward vests in equal parts over this many steps after
    /// it is earned (0: paid at once).
    pub vesting: u64,
    /// `clawback`: a referral that sells within this many steps of its last
    /// buy has the rewards paid for it taken back.
    pub clawback: Option<u64>,
}

/// The distribution of a referral's budget (`referrals.budget`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BudgetDist {
    /// `{ kind = "fixed", value = x }`
    Fixed(f64),
    /// `{ kind = "uniform", low = a, high = b }`
    Uniform(f64, f64),
}

/// How referrals arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrivals {
    /// `poisson` (the default): `Poisson(λ·e)` per affiliate and step.
    Poisson,
    /// `deterministic`: each affiliate accumulates `λ·e` per step and
    /// brings in the whole part of what it accumulated.
    Deterministic,
}

/// To which affiliate a referral's contributions are credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    /// `first_touch` (the default): the affiliate that brought it in.
    FirstTouch,
    /// `last_touch`: the affiliate that touched it last (see
    /// [`ReferralSpec::retouch`]).
    LastTouch,
}

/// `referrals`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferralSpec {
    /// `attribution`.
    pub attribution: Attribution,
    /// `retouch`: the share of an affiliate's touches (its arrivals) that
    /// reach an agent already referred — one of the contract's referrals,
    /// drawn uniformly — instead of bringing a new one in; 0 by default.
    pub retouch: f64,
    /// `rate`: λ, referrals per step per unit of effort.
    pub rate: f64,
    /// `budget`.
    pub budget: BudgetDist,
    /// `arrivals`.
    pub arrivals: Arrivals,
    /// `max`: the size of the dormant pool.
    pub max: u32,
    /// The index of the hidden pool group (`usize::MAX` without one: a
    /// `task_completion` contract).
    pub group: usize,
}

/// `effort`: how an affiliate chooses its effort `e` each step (paying
/// `cost·e²`).
#[derive(Debug, Clone, PartialEq)]
pub struct EffortSpec {
    /// `cost`: money per unit of effort squared.
    pub cost: f64,
    /// `kind`.
    pub kind: EffortKind,
}

/// The effort policies.
#[derive(Debug, Clone, PartialEq)]
pub enum EffortKind {
    /// `fixed`: `level` every step.
    Fixed {
        /// The effort.
        level: f64,
    },
    /// `bandit`: ε-greedy over `levels`, rewarded with the step's reward
    /// earned less the effort's cost.
    Bandit {
        /// The effort levels (arms).
        levels: Vec<f64>,
        /// ε.
        epsilon: f64,
    },
}

/// `sybil = { count = n, hold = h, level = e }`: the last `count`
/// affiliates refer fake agents (at rate `λ·e`, funded from the sybil's own
/// balance with a referral budget) that buy at once, and sell everything
/// back `hold` steps after buying, returning the money to the sybil.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SybilSpec {
    /// How many of the affiliates are sybils (the last ones).
    pub count: u32,
    /// Steps a fake holds before selling back.
    pub hold: u64,
    /// The sybil's effort.
    pub level: f64,
}

impl ContractSpec {
    /// The largest effort any affiliate of the contract may choose.
    pub fn max_effort(&self) -> f64 {
        let honest = match &self.effort.kind {
            EffortKind::Fixed { level } => *level,
            EffortKind::Bandit { levels, .. } => levels.iter().copied().fold(0.0, f64::max),
        };
        self.sybil.map_or(honest, |s| honest.max(s.level))
    }
}

/// Reads every `[[contracts]]` table; returns the contracts and the hidden
/// referral groups to append after the scenario's own groups.
pub(super) fn parse_contracts(
    root: &mut Fields<'_>,
    steps: u64,
    assets: &[String],
    specs: &[AssetSpec],
    groups: &[GroupSpec],
    group_index: &HashMap<String, usize>,
    registry: &PolicyRegistry,
) -> Result<(Vec<ContractSpec>, Vec<GroupSpec>)> {
    let mut contracts: Vec<ContractSpec> = Vec::new();
    let mut pools = Vec::new();
    for mut f in root.tables("contracts", Some("name"))? {
        let name = super::fields::parse_name(&mut f, "name")?;
        if contracts.iter().any(|c| c.name == name) {
            return Err(f.error("name", format!("{name:?} names another contract too")));
        }
        let kind = f.string("kind")?;
        if kind != "affiliate" {
            return Err(f.error(
                "kind",
                format!("unknown contract kind {kind:?}; expected affiliate"),
            ));
        }
        let group = |f: &mut Fields<'_>, key: &'static str| -> Result<usize> {
            let g = f.string(key)?;
            group_index.get(g).copied().ok_or_else(|| {
                f.error(
                    key,
                    format!("unknown group {g:?}; expected one of the [[agents]] groups"),
                )
            })
        };
        let primary = group(&mut f, "primary")?;
        let affiliates = group(&mut f, "affiliates")?;
        if primary == affiliates {
            return Err(f.error("affiliates", "must be another group than primary"));
        }
        let goal = parse_goal(&mut f, assets, specs, steps)?;
        let reward = parse_reward(&mut f)?;
        if reward.clawback.is_some() && !goal_has_sales(&goal) {
            return Err(f.error("reward.clawback", "the goal has no sales to claw back"));
        }

        let budget = f.number("budget", Range::NonNegative)?;
        money_in_range(&f, "budget", budget)?;
        let effort = parse_effort(&mut f)?;
        let sybil = match f.opt_table("sybil")? {
            None => None,
            Some(mut s) => {
                let count = s.whole("count", 1, u64::from(u32::MAX))?;
                if count > u64::from(groups[affiliates].count) {
                    return Err(s.error(
                        "count",
                        format!(
                            "expected at most the affiliates' count {}, found {count}",
                            groups[affiliates].count
                        ),
                    ));
                }
                let spec = SybilSpec {
                    count: count as u32,
                    // longer than the run: the fakes never sell (a
                    // warning, see `Scenario::warnings`)
                    hold: s.whole("hold", 1, u64::MAX)?,
                    level: s.number("level", Range::NonNegative)?,
                };
                s.finish()?;
                Some(spec)
            }
        };
        if matches!(goal, Goal::TaskCompletion { .. }) {
            if sybil.is_some() {
                return Err(f.error(
                    "sybil",
                    "a task_completion contract has no referrals for sybils to fake",
                ));
            }
            if f.has("referrals") {
                return Err(f.error(
                    "referrals",
                    "a task_completion contract has no referrals: the affiliates complete the tasks",
                ));
            }
            f.finish()?;
            contracts.push(ContractSpec {
                name,
                primary,
                affiliates,
                goal,
                reward,
                budget,
                referrals: ReferralSpec {
                    attribution: Attribution::FirstTouch,
                    retouch: 0.0,
                    rate: 0.0,
                    budget: BudgetDist::Fixed(0.0),
                    arrivals: Arrivals::Deterministic,
                    max: 0,
                    group: usize::MAX,
                },
                effort,
                sybil,
            });
            continue;
        }
        if matches!(goal, Goal::ResourceUsage { .. }) && sybil.is_some() {
            return Err(f.error(
                "sybil",
                "a resource_usage contract's referrals use what they buy: there is nothing for \
                 a sybil's fakes to sell back",
            ));
        }
        let mut r = f.table("referrals")?;
        let rate = r.number("rate", Range::NonNegative)?;
        let budget_dist = parse_budget(&mut r)?;
        let arrivals = match r.opt_string("arrivals")? {
            None | Some("poisson") => Arrivals::Poisson,
            Some("deterministic") => Arrivals::Deterministic,
            Some(other) => {
                return Err(r.error(
                    "arrivals",
                    format!("expected poisson or deterministic, found {other:?}"),
                ))
            }
        };
        let attribution = match r.opt_string("attribution")? {
            None | Some("first_touch") => Attribution::FirstTouch,
            Some("last_touch") => Attribution::LastTouch,
            Some(other) => {
                return Err(r.error(
                    "attribution",
                    format!("expected first_touch or last_touch, found {other:?}"),
                ))
            }
        };
        let retouch = r.number_or("retouch", Range::Unit, 0.0)?;
        if attribution == Attribution::LastTouch && retouch == 0.0 {
            return Err(r.error(
                "retouch",
                "last_touch attribution needs retouch > 0 (the share of touches that reach an \
                 agent already referred); without it every referral has one touch",
            ));
        }
        let mut partial = ContractSpec {
            name: name.clone(),
            primary,
            affiliates,
            goal,
            reward,
            budget,
            referrals: ReferralSpec {
                attribution,
                retouch,
                rate,
                budget: budget_dist,
                arrivals,
                max: 0,
                group: groups.len() + pools.len(),
            },
            effort,
            sybil,
        };
        // The default pool: the mean arrivals at the largest effort, plus
        // five standard deviations and ten; joins past the pool are lost
        // (and counted).
        // an affiliate group whose policy gives an effort action may exceed
        // the contract's own levels
        let acted = match &groups[affiliates].policy {
            crate::agents::GroupPolicy::Builtin(crate::agents::BuiltinPolicy::Effort(p)) => {
                crate::ledger::to_units(p.level)
            }
            _ => 0.0,
        };
        let most = partial.max_effort().max(acted);
        let mean = rate * most * steps as f64 * f64::from(groups[affiliates].count);
        let default = (mean + 5.0 * mean.sqrt() + 10.0).ceil();
        let max = match r.opt_whole("max", 1, MAX_REFERRALS)? {
            Some(m) => m,
            None if default <= MAX_REFERRALS as f64 => default as u64,
            None => {
                return Err(r.error(
                    "max",
                    format!(
                        "missing; the expected referrals ({mean:.0}) are more than {MAX_REFERRALS}: set a smaller pool"
                    ),
                ))
            }
        };
        partial.referrals.max = max as u32;
        let Some(policy) = r.raw("policy") else {
            return Err(r.error("policy", "missing field; expected a policy table"));
        };
        let pool_name = format!("{name}:referrals");
        if group_index.contains_key(&pool_name) {
            return Err(f.error(
                "name",
                format!("the contract's referral group {pool_name:?} is taken by a group"),
            ));
        }
        let mut table = toml::Table::new();
        table.insert("group".into(), toml::Value::String(pool_name));
        table.insert("count".into(), toml::Value::Integer(max as i64));
        table.insert("balance".into(), toml::Value::Float(0.0));
        let mut policy = policy.clone();
        if let toml::Value::Table(t) = &mut policy {
            // A referral buys with its whole budget and sells everything
            // unless the policy says otherwise (the issue's example names
            // only the thresholds).
            let fractions = [
                "random",
                "threshold",
                "momentum",
                "mean_reversion",
                "valuation",
            ];
            if t.get("kind")
                .and_then(toml::Value::as_str)
                .is_some_and(|k| fractions.contains(&k))
            {
                for key in ["buy_fraction", "sell_fraction"] {
                    t.entry(key).or_insert(toml::Value::Float(1.0));
                }
            }
        }
        table.insert("policy".into(), policy);
        let mut g = Fields::new(f.origin(), r.path(), &table);
        let (pool, _) = parse_group(&mut g, assets, specs, registry)?;
        if pool.policy.as_adaptive().is_some() {
            return Err(r.error(
                "policy",
                "a learning policy cannot be a referral policy; expected a stateless one",
            ));
        }
        g.finish()?;
        r.finish()?;
        f.finish()?;
        contracts.push(partial);
        pools.push(pool);
    }
    Ok((contracts, pools))
}

fn goal_has_sales(goal: &Goal) -> bool {
    match goal {
        Goal::TokenAdoption { .. } => true,
        Goal::ResourceUsage { .. } | Goal::TaskCompletion { .. } => false,
    }
}

fn parse_goal(
    f: &mut Fields<'_>,
    assets: &[String],
    specs: &[AssetSpec],
    steps: u64,
) -> Result<Goal> {
    let mut g = f.table("goal")?;
    let kind = g.string("kind")?;
    let goal = match kind {
        "token_adoption" => {
            let asset = g.asset("asset", assets)?;
            if !matches!(
                specs[asset].pricing,
                super::PricingSpec::BondingCurve { .. }
            ) {
                return Err(g.error(
                    "asset",
                    "token_adoption needs an asset priced by a bonding curve",
                ));
            }
            Goal::TokenAdoption { asset }
        }
        "task_completion" => {
            // tasks · steps · 10⁹ base units stay within u64
            let most = u64::MAX / 1_000_000_000 / steps.max(1);
            Goal::TaskCompletion {
                tasks: g.whole("tasks", 0, most)?,
                capacity: g.number("capacity", Range::NonNegative)?,
            }
        }
        "resource_usage" => {
            let asset = g.asset("asset", assets)?;
            if !matches!(specs[asset].pricing, super::PricingSpec::Resource(_)) {
                return Err(g.error("asset", "resource_usage needs a resource asset"));
            }
            Goal::ResourceUsage { asset }
        }
        other => {
            return Err(g.error(
                "kind",
                format!(
                    "unknown goal kind {other:?}; expected token_adoption, resource_usage \
                     or task_completion"
                ),
            ))
        }
    };
    g.finish()?;
    Ok(goal)
}

fn rate(f: &mut Fields<'_>, key: &'static str) -> Result<f64> {
    let k = f.number(key, Range::NonNegative)?;
    money_in_range(f, key, k)?;
    Ok(k)
}

fn parse_reward(f: &mut Fields<'_>) -> Result<RewardSpec> {
    let mut r = f.table("reward")?;
    if let Some(asset) = r.opt_string("asset")? {
        if asset != "money" {
            return Err(r.error(
                "asset",
                format!("the primary pays rewards from its escrowed money; expected \"money\", found {asset:?}"),
            ));
        }
    }
    let kind = match r.string("kind")? {
        "linear" => RewardKind::Linear {
            k: rate(&mut r, "k")?,
        },
        "capped" => {
            let k = rate(&mut r, "k")?;
            let per_step = r.opt_number("per_step", Range::NonNegative)?;
            let per_affiliate = r.opt_number("per_affiliate", Range::NonNegative)?;
            for (key, v) in [("per_step", per_step), ("per_affiliate", per_affiliate)] {
                if let Some(v) = v {
                    money_in_range(&r, key, v)?;
                }
            }
            if per_step.is_none() && per_affiliate.is_none() {
                return Err(r.error(
                    "per_step",
                    "missing; a capped reward needs per_step, per_affiliate or both",
                ));
            }
            RewardKind::Capped {
                k,
                per_step,
                per_affiliate,
            }
        }
        "tiered" => {
            let mut tiers = Vec::new();
            for (i, mut t) in r.tables("tiers", None)?.into_iter().enumerate() {
                let from = t.number("from", Range::NonNegative)?;
                let k = rate(&mut t, "k")?;
                if i == 0 && from != 0.0 {
                    return Err(t.error(
                        "from",
                        format!("the first tier must start at 0, found {from}"),
                    ));
                }
                if tiers.last().is_some_and(|&(prev, _)| from <= prev) {
                    return Err(t.error("from", "expected tiers in increasing order of from"));
                }
                if to_base(from).is_none() {
                    return Err(t.error("from", "exceeds the ledger's range"));
                }
                t.finish()?;
                tiers.push((from, k));
            }
            if tiers.is_empty() {
                return Err(r.error("tiers", "missing; expected at least one tier"));
            }
            RewardKind::Tiered { tiers }
        }
        other => {
            return Err(r.error(
                "kind",
                format!("unknown reward kind {other:?}; expected one of: linear, tiered, capped"),
            ))
        }
    };
    // Longer than the run, the last instalments never vest: valid, and a
    // warning (`Scenario::warnings`), so that a shorter run of a scenario
    // (`--steps`) still runs.
    let vesting = r.opt_whole("vesting", 0, u64::MAX)?.unwrap_or(0);
    let clawback = r.opt_whole("clawback", 1, u64::MAX)?;
    r.finish()?;
    Ok(RewardSpec {
        kind,
        vesting,
        clawback,
    })
}

fn parse_budget(r: &mut Fields<'_>) -> Result<BudgetDist> {
    let mut b = r.table("budget")?;
    let dist = match b.string("kind")? {
        "fixed" => {
            let v = b.number("value", Range::NonNegative)?;
            money_in_range(&b, "value", v)?;
            BudgetDist::Fixed(v)
        }
        "uniform" => {
            let low = b.number("low", Range::NonNegative)?;
            let high = b.number("high", Range::NonNegative)?;
            money_in_range(&b, "high", high)?;
            if high < low {
                return Err(b.error(
                    "high",
                    format!("expected at least low ({low}), found {high}"),
                ));
            }
            BudgetDist::Uniform(low, high)
        }
        other => {
            return Err(b.error(
                "kind",
                format!("unknown budget kind {other:?}; expected fixed or uniform"),
            ))
        }
    };
    b.finish()?;
    Ok(dist)
}

fn parse_effort(f: &mut Fields<'_>) -> Result<EffortSpec> {
    let Some(mut e) = f.opt_table("effort")? else {
        return Ok(EffortSpec {
            cost: 0.0,
            kind: EffortKind::Fixed { level: 1.0 },
        });
    };
    let cost = e.number_or("cost", Range::NonNegative, 0.0)?;
    money_in_range(&e, "cost", cost)?;
    let kind = match e.string("kind")? {
        "fixed" => EffortKind::Fixed {
            level: e.number("level", Range::NonNegative)?,
        },
        "bandit" => {
            let levels = e
                .opt_numbers("levels", Range::NonNegative)?
                .ok_or_else(|| e.error("levels", "missing; expected an array of effort levels"))?;
            if levels.is_empty() {
                return Err(e.error("levels", "expected at least one effort level"));
            }
            EffortKind::Bandit {
                levels,
                epsilon: e.number_or("epsilon", Range::Unit, 0.1)?,
            }
        }
        other => {
            return Err(e.error(
                "kind",
                format!("unknown effort kind {other:?}; expected fixed or bandit"),
            ))
        }
    };
    e.finish()?;
    Ok(EffortSpec { cost, kind })
}
