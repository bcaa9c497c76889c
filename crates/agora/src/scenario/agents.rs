//! Agent groups (`[[agents]]`): counts, balances, airdrops, objectives and
//! the built-in policies' fields.

use super::fields::{money_in_range, parse_name, past_range, token_amount};
use super::{AssetSpec, Fields, PolicyRegistry, PricingSpec, Range, MAX_AGENTS};
use crate::agents::{
    BuiltinPolicy, ConsumerPolicy, DemandForm, FundamentalPolicy, GroupPolicy, MarketMakerPolicy,
    MeanReversionPolicy, MomentumPolicy, Policy, ProducerPolicy, RandomPolicy, Side,
    ThresholdPolicy, ValuationPolicy, ValueDistribution, ZiCPolicy,
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

/// A built-in policy trades only the kind of asset it is made for: consumers
/// and producers resources, limit-order traders market-clearing assets, and
/// the rule-based traders tokens (on a curve or a market).
pub(super) fn check_policy_fits_assets(
    f: &Fields<'_>,
    group: &GroupSpec,
    assets: &[AssetSpec],
) -> Result<()> {
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

pub(super) fn parse_group(
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
