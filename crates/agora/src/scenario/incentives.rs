//! `[[incentives]]`: incentive rules — rewards and penalties the engine
//! applies every step — each paid from a named, finite funding source.
//!
//! ```toml
//! [[incentives]]
//! name = "hold"                 # names the rule in incentives.csv and summary.json
//! kind = "holding_reward"       # see IncentiveKind
//! asset = "AGT"                 # the asset held (traded, staked, …)
//! rate = 0.001                  # reward per unit held per step, in the funding's currency
//! min_holding = 10.0            # optional: only holdings of at least this many units
//! min_hold_steps = 5            # optional: only holdings kept that long
//! group = "holders"             # optional: the eligible group (default: every group)
//! record = "totals"             # optional: "agents" for one incentives.csv row per agent
//! funding = { kind = "treasury", currency = "money", amount = 5000.0 }
//! # funding = { kind = "emission", asset = "AGT", schedule = "halving", per_step = 10.0, every = 100, cap = 2000.0 }
//! ```
//!
//! Other kinds: `staking` (`rate`, `share`, `unbonding`),
//! `early_sell_penalty` (`rate`, `within`, `to = "treasury" | "burn"`),
//! `burn` (`share` of fees), `volume_reward` (`rate` per unit traded),
//! `participation_reward` (`rate` per `per = "resting_order"`,
//! `"request_served"` or `"task_completed"`), `slashing` (`staking` = a staking rule's name,
//! `share` of the stake burned, `sell_share` that flags a seller).

use super::{AssetSpec, Fields, Kind, PricingSpec, Range};
use crate::error::Result;
use std::collections::HashMap;

/// The range of a reward's `rate` (units per unit of what it pays for):
/// up to 1.8·10¹⁰, whose base units (1.8·10¹⁹) fit the 64 bits the
/// ledger's arithmetic takes a rate in, with room for rounding. (Past
/// 2⁶⁴ base units a rate was once read as that most, silently: a rate of
/// 1e300 paid as one of 1.8·10¹⁰.)
const RATE: Range = Range::Closed(0.0, 1.8e10);

super::kinds! {
    /// The incentive kinds a scenario may name (`kind = "…"`).
    pub enum IncentiveKind {
        /// A reward per unit held per step.
        HoldingReward = "holding_reward",
        /// Agents stake a share of their tokens for a reward per unit
        /// staked per step; unstaked tokens unbond for some steps.
        Staking = "staking",
        /// A fee on selling within some steps of buying.
        EarlySellPenalty = "early_sell_penalty",
        /// A share of each step's trading fees burned.
        Burn = "burn",
        /// A reward in proportion to each agent's traded volume in a step.
        VolumeReward = "volume_reward",
        /// A reward per order resting on a book, or per request served.
        ParticipationReward = "participation_reward",
        /// A share of an agent's stake burned when it is flagged (it sold
        /// more than a share of its holdings in one step).
        Slashing = "slashing",
    }
}

super::kinds! {
    /// What a `participation_reward` pays for (`per = "…"`).
    pub enum Participation {
        /// Each of the agent's orders resting on the asset's order book
        /// at the end of the step.
        RestingOrder = "resting_order",
        /// Each of the agent's requests the asset's resource market served
        /// in the step (an allocation in the trade log).
        RequestServed = "request_served",
        /// Each task the agent completed in the step as an affiliate of a
        /// `task_completion` contract (see [`crate::contracts`]).
        TaskCompleted = "task_completed",
    }
}

super::kinds! {
    /// What a `volume_reward` pays for (`basis = "…"`).
    pub enum VolumeBasis {
        /// Each unit of the asset the agent traded (bought or sold) in the
        /// step.
        Volume = "volume",
        /// Each unit of the shares of the asset's AMM pool the agent holds
        /// at the end of the step (liquidity mining; see
        /// [`crate::market::amm::liquidity`]).
        Liquidity = "liquidity",
    }
}

super::kinds! {
    /// Emission schedules (`funding = { kind = "emission", schedule = "…" }`).
    pub enum ScheduleKind {
        /// `per_step` every step.
        Constant = "constant",
        /// `per_step·(1 − (t−1)/steps)`, floored, until step `steps`.
        Linear = "linear",
        /// `per_step / 2^⌊(t−1)/every⌋`, floored.
        Halving = "halving",
    }
}

/// One incentive rule of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct IncentiveSpec {
    /// Its name, unique among the rules.
    pub name: String,
    /// The asset it concerns (held, staked, sold, traded).
    pub asset: usize,
    /// The eligible groups' indices (every group when `group` is absent).
    pub groups: Vec<usize>,
    /// What it does.
    pub rule: IncentiveRule,
    /// Where its rewards come from (`None` for a penalty or a burn).
    pub funding: Option<Funding>,
    /// Whether `incentives.csv` gets one row per agent (`record =
    /// "agents"`) rather than one per step and flow (`"totals"`, the
    /// default).
    pub record_agents: bool,
}

/// What a rule pays in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Currency {
    /// Money.
    Money,
    /// Tokens of the asset with this index.
    Token(usize),
}

/// A rule's funding source.
#[derive(Debug, Clone, PartialEq)]
pub enum Funding {
    /// `kind = "treasury"`: an account funded with `amount` units at the
    /// start of the run.
    Treasury {
        /// Money or tokens (`currency = "money"` or an asset's name).
        currency: Currency,
        /// Units paid in at the start.
        amount: f64,
    },
    /// `kind = "emission"`: tokens of `asset` minted into the rule's
    /// treasury every step by a schedule, `cap` units in all.
    Emission {
        /// The asset minted.
        asset: usize,
        /// The schedule.
        schedule: ScheduleKind,
        /// Units minted at step 1.
        per_step: f64,
        /// `linear`: steps to reach zero; `halving`: steps between halvings.
        period: u64,
        /// Units minted over the run at most.
        cap: f64,
    },
}

impl Funding {
    /// What the funding pays in.
    pub fn currency(&self) -> Currency {
        match self {
            Funding::Treasury { currency, .. } => *currency,
            Funding::Emission { asset, .. } => Currency::Token(*asset),
        }
    }
}

/// Where a penalty goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PenaltyTo {
    /// Into the rule's own treasury (money), reported as collected.
    Treasury,
    /// Burned: out of the economy, counted in the ledger's money burned.
    Burn,
}

/// An incentive rule's kind and settings.
#[derive(Debug, Clone, PartialEq)]
pub enum IncentiveRule {
    /// Pays `rate` per unit held per step to holdings of at least
    /// `min_holding` units kept at least `min_hold_steps` steps.
    HoldingReward {
        /// Reward per unit held per step.
        rate: f64,
        /// Units below which a holding earns nothing.
        min_holding: f64,
        /// Steps a holding must have stayed at or above `min_holding`.
        min_hold_steps: u64,
    },
    /// `rate` per unit staked per step; tokens unstaked are released
    /// `unbonding` steps later. With `share`, each eligible agent keeps
    /// that share of its tokens staked (the rule stakes for it); without,
    /// agents stake and unstake with their own actions
    /// ([`Action::Stake`](crate::agents::Action::Stake),
    /// [`Action::Unstake`](crate::agents::Action::Unstake)), e.g. a
    /// `staker` policy.
    Staking {
        /// Reward per unit staked per step.
        rate: f64,
        /// The share of its tokens an agent keeps staked (the rule's own
        /// staking policy), or `None`: the agents' actions decide.
        share: Option<f64>,
        /// Steps between unstaking and the tokens' return.
        unbonding: u64,
    },
    /// A fee of `rate` times the proceeds of a sale made within `within`
    /// steps of the seller's last buy.
    EarlySellPenalty {
        /// Share of the proceeds taken.
        rate: f64,
        /// Steps after a buy during which a sale is penalised.
        within: u64,
        /// Where the fee goes.
        to: PenaltyTo,
    },
    /// Burns `share` of the trading fees the asset collects each step.
    Burn {
        /// Share of the fees burned.
        share: f64,
    },
    /// Pays `rate` per unit of the asset an agent traded (bought or sold)
    /// in the step, or (`basis = "liquidity"`) per unit of the asset's
    /// AMM pool shares it holds at the end of the step.
    VolumeReward {
        /// Reward per unit traded (per share held).
        rate: f64,
        /// What it pays for.
        basis: VolumeBasis,
    },
    /// Pays `rate` per order resting or request served (`per`) in the
    /// step.
    ParticipationReward {
        /// Reward per order or request.
        rate: f64,
        /// What it pays for.
        per: Participation,
    },
    /// Burns `share` of the stake (under the staking rule with index
    /// `staking`) of an agent that sold more than `sell_share` of what it
    /// held before the step's trades.
    Slashing {
        /// Index of the staking rule in `[[incentives]]`.
        staking: usize,
        /// Share of the stake burned.
        share: f64,
        /// The share of its holdings an agent must sell in one step to be
        /// flagged.
        sell_share: f64,
    },
}

impl IncentiveRule {
    /// The rule's kind.
    pub fn kind(&self) -> IncentiveKind {
        match self {
            IncentiveRule::HoldingReward { .. } => IncentiveKind::HoldingReward,
            IncentiveRule::Staking { .. } => IncentiveKind::Staking,
            IncentiveRule::EarlySellPenalty { .. } => IncentiveKind::EarlySellPenalty,
            IncentiveRule::Burn { .. } => IncentiveKind::Burn,
            IncentiveRule::VolumeReward { .. } => IncentiveKind::VolumeReward,
            IncentiveRule::ParticipationReward { .. } => IncentiveKind::ParticipationReward,
            IncentiveRule::Slashing { .. } => IncentiveKind::Slashing,
        }
    }

    /// Whether the rule pays rewards (and so needs `funding`).
    pub fn pays(&self) -> bool {
        matches!(
            self,
            IncentiveRule::HoldingReward { .. }
                | IncentiveRule::Staking { .. }
                | IncentiveRule::VolumeReward { .. }
                | IncentiveRule::ParticipationReward { .. }
        )
    }
}

/// Every group that stakes by its own actions (a `staker` policy, a
/// learner with `{ stake = f }` or `{ unstake = f }` actions) stakes an
/// asset with a staking rule that includes the group: else a one-line
/// error naming the group's `policy.asset`.
pub(crate) fn check_stakers(
    origin: &str,
    groups: &[super::GroupSpec],
    incentives: &[IncentiveSpec],
    asset_names: &[String],
) -> Result<()> {
    use crate::agents::learning::LearnerAction;
    use crate::agents::{BuiltinPolicy, GroupPolicy};
    for (g, group) in groups.iter().enumerate() {
        let asset = match &group.policy {
            GroupPolicy::Builtin(BuiltinPolicy::Staker(p)) => Some(p.asset),
            GroupPolicy::Custom(_) => group
                .policy
                .as_adaptive()
                .and_then(super::learners::learner_actions)
                .filter(|set| {
                    set.actions().iter().any(|a| {
                        matches!(
                            a,
                            LearnerAction::Stake { .. } | LearnerAction::Unstake { .. }
                        )
                    })
                })
                .map(|set| set.asset()),
            GroupPolicy::Builtin(_) => None,
        };
        let Some(j) = asset else {
            continue;
        };
        let staked = incentives.iter().any(|r| {
            r.asset == j && matches!(r.rule, IncentiveRule::Staking { .. }) && r.groups.contains(&g)
        });
        if !staked {
            return Err(crate::error::Error::scenario(
                origin,
                format!("agents.{}.policy.asset", group.name),
                format!(
                    "the group stakes {:?}, but no [[incentives]] of kind \"staking\" on {:?} \
                     includes the group; expected a staking rule on the asset (without `group`, \
                     or with group = {:?})",
                    asset_names[j], asset_names[j], group.name
                ),
            ));
        }
    }
    Ok(())
}

/// Reads the `[[incentives]]` tables.
pub(crate) fn parse_incentives(
    root: &mut Fields<'_>,
    contracts: &[super::contracts::ContractSpec],
    assets: &[AssetSpec],
    asset_names: &[String],
    group_names: &[String],
    group_index: &HashMap<String, usize>,
) -> Result<Vec<IncentiveSpec>> {
    let mut out: Vec<IncentiveSpec> = Vec::new();
    for mut f in root.tables("incentives", Some("name"))? {
        let spec = parse_one(&mut f, asset_names, group_names, group_index, &out)?;
        check_market(&f, &spec, assets, contracts)?;
        if out.iter().any(|r| r.name == spec.name) {
            return Err(f.error(
                "name",
                format!(
                    "{:?} names another incentive rule too; names must differ",
                    spec.name
                ),
            ));
        }
        f.finish()?;
        out.push(spec);
    }
    Ok(out)
}

/// Checks that the rule's asset has what the rule counts: orders that rest
/// or requests served.
fn check_market(
    f: &Fields<'_>,
    spec: &IncentiveSpec,
    assets: &[AssetSpec],
    contracts: &[super::contracts::ContractSpec],
) -> Result<()> {
    if let IncentiveRule::VolumeReward {
        basis: VolumeBasis::Liquidity,
        ..
    } = spec.rule
    {
        if matches!(assets[spec.asset].pricing, PricingSpec::Amm(_)) {
            return Ok(());
        }
        return Err(f.error(
            "basis",
            format!(
                "asset {:?} has no AMM pool: basis = \"liquidity\" needs an asset with pricing kind \"amm\"",
                assets[spec.asset].name
            ),
        ));
    }
    let IncentiveRule::ParticipationReward { per, .. } = spec.rule else {
        return Ok(());
    };
    let pricing = &assets[spec.asset].pricing;
    let fits = match per {
        Participation::RestingOrder => matches!(pricing, PricingSpec::OrderBook(_)),
        Participation::RequestServed => matches!(pricing, PricingSpec::Resource(_)),
        Participation::TaskCompleted => {
            if contracts
                .iter()
                .any(|c| matches!(c.goal, super::contracts::Goal::TaskCompletion { .. }))
            {
                return Ok(());
            }
            return Err(f.error(
                "per",
                "task_completed needs a [[contracts]] table with goal kind task_completion \
                 (its affiliates complete the tasks)",
            ));
        }
    };
    if fits {
        return Ok(());
    }
    Err(f.error(
        "per",
        format!(
            "asset {:?} has no {}: {} needs {}",
            assets[spec.asset].name,
            match per {
                Participation::RestingOrder => "orders resting on a book",
                Participation::RequestServed => "requests served",
                Participation::TaskCompleted => "tasks completed",
            },
            per.name(),
            match per {
                Participation::RestingOrder => "an order_book asset",
                Participation::RequestServed => "a resource asset",
                Participation::TaskCompleted => "a task_completion contract",
            }
        ),
    ))
}

fn parse_one(
    f: &mut Fields<'_>,
    asset_names: &[String],
    group_names: &[String],
    group_index: &HashMap<String, usize>,
    earlier: &[IncentiveSpec],
) -> Result<IncentiveSpec> {
    let name = f.string("name")?.to_string();
    let kind: IncentiveKind = f.kind("kind")?;
    let asset = f.asset("asset", asset_names)?;
    let groups = match f.opt_string("group")? {
        None => (0..group_names.len()).collect(),
        Some(g) => vec![*group_index.get(g).ok_or_else(|| {
            f.error(
                "group",
                format!(
                    "unknown group {g:?}; expected one of the scenario's groups: {}",
                    group_names.join(", ")
                ),
            )
        })?],
    };
    let rule = match kind {
        IncentiveKind::HoldingReward => IncentiveRule::HoldingReward {
            rate: f.number("rate", RATE)?,
            min_holding: f.number_or("min_holding", Range::NonNegative, 0.0)?,
            // longer than the run: it never pays (a warning, see
            // `Scenario::warnings`)
            min_hold_steps: f.opt_whole("min_hold_steps", 0, u64::MAX)?.unwrap_or(0),
        },
        IncentiveKind::Staking => IncentiveRule::Staking {
            rate: f.number("rate", RATE)?,
            share: f.opt_number("share", Range::Unit)?,
            unbonding: f.opt_whole("unbonding", 0, i64::MAX as u64)?.unwrap_or(0),
        },
        IncentiveKind::EarlySellPenalty => IncentiveRule::EarlySellPenalty {
            rate: f.number("rate", Range::Unit)?,
            within: f.whole("within", 1, i64::MAX as u64)?,
            to: match f.choice("to", &["treasury", "burn"])? {
                "burn" => PenaltyTo::Burn,
                _ => PenaltyTo::Treasury,
            },
        },
        IncentiveKind::Burn => IncentiveRule::Burn {
            share: f.number("share", Range::Unit)?,
        },
        IncentiveKind::VolumeReward => IncentiveRule::VolumeReward {
            rate: f.number("rate", RATE)?,
            basis: f
                .opt_kind("basis", "volume basis")?
                .unwrap_or(VolumeBasis::Volume),
        },
        IncentiveKind::ParticipationReward => IncentiveRule::ParticipationReward {
            rate: f.number("rate", RATE)?,
            per: f
                .opt_kind("per", "participation")?
                .unwrap_or(Participation::RestingOrder),
        },
        IncentiveKind::Slashing => {
            let name = f.string("staking")?;
            let staking = earlier
                .iter()
                .position(|r| r.name == name && matches!(r.rule, IncentiveRule::Staking { .. }))
                .filter(|&k| earlier[k].asset == asset)
                .ok_or_else(|| {
                    f.error(
                        "staking",
                        format!(
                            "{name:?} is not a staking rule of asset {:?} declared before this \
                             one; expected the name of an earlier [[incentives]] of kind \
                             \"staking\" on the same asset",
                            asset_names[asset]
                        ),
                    )
                })?;
            IncentiveRule::Slashing {
                staking,
                share: f.number("share", Range::Unit)?,
                sell_share: f.number("sell_share", Range::Unit)?,
            }
        }
    };
    let funding = match f.opt_table("funding")? {
        None if rule.pays() => {
            return Err(f.error(
                "funding",
                format!(
                    "missing field; a {} rule pays rewards and needs a funding source: \
                     {{ kind = \"treasury\", currency = \"money\", amount = … }} or \
                     {{ kind = \"emission\", asset = …, schedule = …, per_step = …, cap = … }}",
                    kind.name()
                ),
            ))
        }
        None => None,
        Some(_) if !rule.pays() => {
            return Err(f.error(
                "funding",
                format!(
                    "a {} rule pays nothing: it takes no funding; remove the field",
                    kind.name()
                ),
            ))
        }
        Some(mut t) => {
            let funding = parse_funding(&mut t, asset_names)?;
            t.finish()?;
            Some(funding)
        }
    };
    let record_agents = match f.opt_string("record")? {
        None | Some("totals") => false,
        Some("agents") => true,
        Some(other) => {
            return Err(f.error(
                "record",
                format!("expected \"totals\" or \"agents\", found {other:?}"),
            ))
        }
    };
    Ok(IncentiveSpec {
        name,
        asset,
        groups,
        rule,
        funding,
        record_agents,
    })
}

super::kinds! {
    /// Funding sources (`funding = { kind = "…" }`).
    pub enum FundingKind {
        /// An account funded at the start.
        Treasury = "treasury",
        /// Tokens minted by a schedule.
        Emission = "emission",
    }
}

fn parse_funding(t: &mut Fields<'_>, asset_names: &[String]) -> Result<Funding> {
    let kind: FundingKind = t.kind("kind")?;
    Ok(match kind {
        FundingKind::Treasury => {
            let currency = match t.string("currency")? {
                "money" => Currency::Money,
                name => match asset_names.iter().position(|a| a == name) {
                    Some(j) => Currency::Token(j),
                    None => {
                        return Err(t.error(
                            "currency",
                            format!(
                                "unknown currency {name:?}; expected \"money\" or one of the \
                                 scenario's assets: {}",
                                asset_names.join(", ")
                            ),
                        ))
                    }
                },
            };
            Funding::Treasury {
                currency,
                amount: t.number("amount", Range::NonNegative)?,
            }
        }
        FundingKind::Emission => {
            let asset = t.asset("asset", asset_names)?;
            let schedule: ScheduleKind = t.kind("schedule")?;
            let per_step = t.number("per_step", Range::NonNegative)?;
            let period = match schedule {
                ScheduleKind::Constant => 1,
                ScheduleKind::Linear => t.whole("steps", 1, i64::MAX as u64)?,
                ScheduleKind::Halving => t.whole("every", 1, i64::MAX as u64)?,
            };
            Funding::Emission {
                asset,
                schedule,
                per_step,
                period,
                cap: t.number("cap", Range::NonNegative)?,
            }
        }
    })
}

/// The `[[incentives]]` table of `spec`, as a file holds it (for
/// [`ScenarioBuilder`](super::ScenarioBuilder)): assets and groups named,
/// every optional key written out. `None` when an index is out of range
/// (the builder names it).
pub(crate) fn incentive_table(
    spec: &IncentiveSpec,
    rules: &[IncentiveSpec],
    assets: &[&str],
    groups: &[&str],
) -> std::result::Result<toml::Table, String> {
    use toml::Value;
    let asset_name = |j: usize| {
        assets
            .get(j)
            .map(|n| Value::String((*n).to_string()))
            .ok_or_else(|| {
                format!(
                    "asset index {j}, but the builder has {} assets",
                    assets.len()
                )
            })
    };
    let whole = |n: u64| i64::try_from(n).map_or(Value::Float(n as f64), Value::Integer);
    let mut t = toml::Table::new();
    let mut put = |k: &str, v: Value| {
        t.insert(k.to_string(), v);
    };
    put("name", Value::String(spec.name.clone()));
    put("kind", Value::String(spec.rule.kind().name().into()));
    put("asset", asset_name(spec.asset)?);
    let every_group =
        spec.groups.len() == groups.len() && spec.groups.iter().enumerate().all(|(k, &g)| k == g);
    if !every_group {
        let [g] = spec.groups[..] else {
            return Err("an incentive rule names one group or every group".into());
        };
        let name = groups.get(g).ok_or_else(|| {
            format!(
                "group index {g}, but the builder has {} groups",
                groups.len()
            )
        })?;
        put("group", Value::String((*name).to_string()));
    }
    match &spec.rule {
        IncentiveRule::HoldingReward {
            rate,
            min_holding,
            min_hold_steps,
        } => {
            put("rate", Value::Float(*rate));
            put("min_holding", Value::Float(*min_holding));
            put("min_hold_steps", whole(*min_hold_steps));
        }
        IncentiveRule::Staking {
            rate,
            share,
            unbonding,
        } => {
            put("rate", Value::Float(*rate));
            if let Some(share) = share {
                put("share", Value::Float(*share));
            }
            put("unbonding", whole(*unbonding));
        }
        IncentiveRule::EarlySellPenalty { rate, within, to } => {
            put("rate", Value::Float(*rate));
            put("within", whole(*within));
            let to = match to {
                PenaltyTo::Treasury => "treasury",
                PenaltyTo::Burn => "burn",
            };
            put("to", Value::String(to.into()));
        }
        IncentiveRule::Burn { share } => put("share", Value::Float(*share)),
        IncentiveRule::VolumeReward { rate, basis } => {
            put("rate", Value::Float(*rate));
            if *basis == VolumeBasis::Liquidity {
                put("basis", Value::String(basis.name().into()));
            }
        }
        IncentiveRule::ParticipationReward { rate, per } => {
            put("rate", Value::Float(*rate));
            put("per", Value::String(per.name().into()));
        }
        IncentiveRule::Slashing {
            staking,
            share,
            sell_share,
        } => {
            let name = rules.get(*staking).ok_or_else(|| {
                format!(
                    "staking rule index {staking}, but the builder has {} rules",
                    rules.len()
                )
            })?;
            put("staking", Value::String(name.name.clone()));
            put("share", Value::Float(*share));
            put("sell_share", Value::Float(*sell_share));
        }
    }
    if spec.record_agents {
        put("record", Value::String("agents".into()));
    }
    if let Some(funding) = &spec.funding {
        let mut f = toml::Table::new();
        let mut fput = |k: &str, v: Value| {
            f.insert(k.to_string(), v);
        };
        match funding {
            Funding::Treasury { currency, amount } => {
                fput("kind", Value::String("treasury".into()));
                fput(
                    "currency",
                    match currency {
                        Currency::Money => Value::String("money".into()),
                        Currency::Token(j) => asset_name(*j)?,
                    },
                );
                fput("amount", Value::Float(*amount));
            }
            Funding::Emission {
                asset,
                schedule,
                per_step,
                period,
                cap,
            } => {
                fput("kind", Value::String("emission".into()));
                fput("asset", asset_name(*asset)?);
                fput("schedule", Value::String(schedule.name().into()));
                fput("per_step", Value::Float(*per_step));
                match schedule {
                    ScheduleKind::Constant => {}
                    ScheduleKind::Linear => fput("steps", whole(*period)),
                    ScheduleKind::Halving => fput("every", whole(*period)),
                }
                fput("cap", Value::Float(*cap));
            }
        }
        put("funding", Value::Table(f));
    }
    Ok(t)
}
