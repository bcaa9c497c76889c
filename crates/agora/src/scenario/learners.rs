//! The learner policy kinds on bonding curves, markets and resources:
//! `q_learning`, `bandit`, `policy_gradient` (see
//! [`agents::learning`](crate::agents::learning)).
//!
//! ```toml
//! policy = { kind = "q_learning", asset = "AGT",
//!            actions = [{ buy = 0.1 }, "hold", { sell = 0.1 }],
//!            alpha = 0.1, delta = 0.9, epsilon = 0.05, memory = 2 }
//! ```
//!
//! One entry point, [`parse_learner`], reads the asset first and builds the
//! learner for it; the action set is checked against the asset's pricing,
//! so that an action a market cannot take is an error naming the entry.

use toml::{Table, Value};

use super::fields::{describe, money_in_range};
use super::{kinds, AssetSpec, Fields, Kind, PolicyKind, PricingSpec, Range};
use crate::agents::learners::{Exploration, QParams};
use crate::agents::learning::{
    ActionSet, BanditAlgorithm, BanditPolicy, LearnerAction, PolicyGradientPolicy, QLearningPolicy,
    Signals,
};
use crate::agents::{Adaptive, GroupPolicy};
use crate::error::Result;
use crate::ledger::{to_base, to_units};

/// The syntax of an action entry, for error messages.
const ACTION_SYNTAX: &str = "\"hold\", { buy = f }, { sell = f }, { bid = x, size = q }, \
                             { ask = x, size = q }, { request = q, max_price = p }, \
                             { stake = f }, { unstake = f } or { effort = e }";

/// Reads a learner policy of kind `kind` (its `kind` already read): its
/// asset, then the kind's fields. `kind` is one of the learner kinds
/// ([`PolicyKind::learns`]).
pub(super) fn parse_learner(
    p: &mut Fields<'_>,
    kind: PolicyKind,
    names: &[String],
    assets: &[AssetSpec],
) -> Result<GroupPolicy> {
    let j = p.asset("asset", names)?;
    let asset = &assets[j];
    // The one dispatch point on the asset: a kind whose learner depends on
    // the market (a posted-price market's sellers, with their price grid)
    // is built here, before the action set every other market needs.
    let actions = parse_actions(p, j, asset)?;
    Ok(match kind {
        PolicyKind::QLearning => GroupPolicy::adaptive(parse_q_learning(p, actions, asset)?),
        PolicyKind::Bandit => GroupPolicy::adaptive(parse_bandit(p, actions)?),
        PolicyKind::PolicyGradient => GroupPolicy::adaptive(parse_policy_gradient(p, actions)?),
        other => return Err(p.error("kind", format!("{:?} is not a learner kind", other.name()))),
    })
}

/// The action set of a learner policy of one of the learner kinds.
pub(super) fn learner_actions(policy: &Adaptive) -> Option<&ActionSet> {
    if let Some(q) = policy.policy::<QLearningPolicy>() {
        Some(q.actions())
    } else if let Some(b) = policy.policy::<BanditPolicy>() {
        Some(b.actions())
    } else {
        policy.policy::<PolicyGradientPolicy>().map(|g| g.actions())
    }
}

/// The table a learner policy reads as (its `kind` and fields, without
/// its `asset`, returned as an index), if `policy` is one of the learner
/// kinds: what [`ScenarioBuilder`](super::ScenarioBuilder) writes for a
/// group of learners.
pub(super) fn learner_table(policy: &Adaptive) -> Option<(usize, Table)> {
    let mut t = Table::new();
    let actions = if let Some(q) = policy.policy::<QLearningPolicy>() {
        t.insert("kind".into(), text(PolicyKind::QLearning.name()));
        let params = q.params();
        t.insert("alpha".into(), Value::Float(params.alpha));
        t.insert("delta".into(), Value::Float(params.delta));
        match params.exploration {
            Exploration::Constant(e) => t.insert("epsilon".into(), Value::Float(e)),
            Exploration::Decaying { beta } => t.insert("beta".into(), Value::Float(beta)),
        };
        t.insert("q0".into(), Value::Float(q.q0()));
        t.insert("bins".into(), whole(q.bins() as u64));
        signals_table(q.signals(), &mut t);
        q.actions()
    } else if let Some(b) = policy.policy::<BanditPolicy>() {
        t.insert("kind".into(), text(PolicyKind::Bandit.name()));
        let (algorithm, extra) = match b.algorithm() {
            BanditAlgorithm::EpsilonGreedy { epsilon } => (
                AlgorithmKind::EpsilonGreedy,
                Some(("epsilon", Value::Float(epsilon))),
            ),
            BanditAlgorithm::Ucb1 => (AlgorithmKind::Ucb1, None),
            BanditAlgorithm::Thompson { bernoulli } => {
                let likelihood = if bernoulli {
                    LikelihoodKind::Bernoulli
                } else {
                    LikelihoodKind::Gaussian
                };
                (
                    AlgorithmKind::Thompson,
                    Some(("likelihood", text(likelihood.name()))),
                )
            }
        };
        t.insert("algorithm".into(), text(algorithm.name()));
        if let Some((key, value)) = extra {
            t.insert(key.into(), value);
        }
        b.actions()
    } else if let Some(g) = policy.policy::<PolicyGradientPolicy>() {
        t.insert("kind".into(), text(PolicyKind::PolicyGradient.name()));
        t.insert("learning_rate".into(), Value::Float(g.learning_rate()));
        signals_table(g.signals(), &mut t);
        g.actions()
    } else {
        return None;
    };
    let entries = actions.actions().iter().map(action_value).collect();
    t.insert("actions".into(), Value::Array(entries));
    t.insert("ttl".into(), whole(u64::from(actions.ttl())));
    Some((actions.asset(), t))
}

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

fn whole(n: u64) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

fn signals_table(signals: &Signals, t: &mut Table) {
    t.insert("memory".into(), whole(signals.memory as u64));
    t.insert("scale".into(), Value::Float(signals.scale));
    if let Some(w) = signals.trend {
        t.insert("trend".into(), whole(w as u64));
    }
    t.insert("position".into(), Value::Boolean(signals.position));
}

/// An action entry as a scenario writes it.
fn action_value(action: &LearnerAction) -> Value {
    let entry = |pairs: &[(&str, f64)]| {
        Value::Table(
            pairs
                .iter()
                .map(|&(k, v)| (k.to_string(), Value::Float(v)))
                .collect(),
        )
    };
    match *action {
        LearnerAction::Hold => text("hold"),
        LearnerAction::Buy { fraction } => entry(&[("buy", fraction)]),
        LearnerAction::Sell { fraction } => entry(&[("sell", fraction)]),
        LearnerAction::Bid { offset, size } => entry(&[("bid", offset), ("size", to_units(size))]),
        LearnerAction::Ask { offset, size } => entry(&[("ask", offset), ("size", to_units(size))]),
        LearnerAction::Request {
            quantity,
            max_price,
        } => entry(&[
            ("request", to_units(quantity)),
            ("max_price", to_units(max_price)),
        ]),
        LearnerAction::Stake { fraction } => entry(&[("stake", fraction)]),
        LearnerAction::Unstake { fraction } => entry(&[("unstake", fraction)]),
        LearnerAction::Effort { level } => entry(&[("effort", to_units(level))]),
    }
}

kinds! {
    /// A bandit's `algorithm`.
    enum AlgorithmKind {
        EpsilonGreedy = "epsilon_greedy",
        Ucb1 = "ucb1",
        Thompson = "thompson",
    }
}

kinds! {
    /// A Thompson sampler's `likelihood`.
    enum LikelihoodKind {
        Gaussian = "gaussian",
        Bernoulli = "bernoulli",
    }
}

fn parse_bandit(p: &mut Fields<'_>, actions: ActionSet) -> Result<BanditPolicy> {
    let algorithm = match p.kind("algorithm")? {
        AlgorithmKind::EpsilonGreedy => BanditAlgorithm::EpsilonGreedy {
            epsilon: p.number("epsilon", Range::Unit)?,
        },
        AlgorithmKind::Ucb1 => BanditAlgorithm::Ucb1,
        AlgorithmKind::Thompson => BanditAlgorithm::Thompson {
            bernoulli: matches!(
                p.opt_kind("likelihood", "likelihood")?,
                Some(LikelihoodKind::Bernoulli)
            ),
        },
    };
    BanditPolicy::new(actions, algorithm).map_err(|e| p.error("algorithm", e.to_string()))
}

fn parse_q_learning(
    p: &mut Fields<'_>,
    actions: ActionSet,
    asset: &AssetSpec,
) -> Result<QLearningPolicy> {
    let alpha = p.number("alpha", Range::Unit)?;
    let delta = p.number("delta", Range::HalfOpen(0.0, 1.0))?;
    let exploration = parse_exploration(p)?;
    let q0 = parse_q0(p, asset)?;
    let signals = parse_signals(p, actions.asset())?;
    let bins = p.opt_whole("bins", 1, 1000)?.unwrap_or(3) as usize;
    let params = QParams {
        alpha,
        delta,
        exploration,
    };
    QLearningPolicy::new(actions, signals, bins, params, q0).map_err(|e| {
        let key = if signals.memory > 0 { "memory" } else { "bins" };
        p.error(key, e.to_string())
    })
}

/// `epsilon` (constant) or `beta` (`ε_t = exp(−β t)`): exactly one.
fn parse_exploration(p: &mut Fields<'_>) -> Result<Exploration> {
    let epsilon = p.opt_number("epsilon", Range::Unit)?;
    let beta = p.opt_number("beta", Range::NonNegative)?;
    match (epsilon, beta) {
        (Some(e), None) => Ok(Exploration::Constant(e)),
        (None, Some(beta)) => Ok(Exploration::Decaying { beta }),
        (Some(_), Some(_)) => Err(p.error(
            "beta",
            "give either epsilon (a constant exploration rate) or beta (a decaying one, \
             ε_t = exp(−β t)), not both",
        )),
        (None, None) => Err(p.error(
            "epsilon",
            "missing field; expected epsilon, a number from 0 to 1 (a constant exploration \
             rate), or beta >= 0 (a decaying one, ε_t = exp(−β t))",
        )),
    }
}

/// `q0`: a number (default 0). `"uniform_opponents"` is a posted-price
/// market's (the payoff against uniformly random rivals): refused here.
fn parse_q0(p: &mut Fields<'_>, asset: &AssetSpec) -> Result<f64> {
    match p.opt_value("q0") {
        None => Ok(0.0),
        Some(Value::Float(x)) if x.is_finite() => Ok(*x),
        Some(Value::Integer(i)) => Ok(*i as f64),
        Some(Value::String(s)) if s == "uniform_opponents" => Err(p.error(
            "q0",
            format!(
                "\"uniform_opponents\" is the expected payoff against uniformly random \
                 opponents, which a posted-price market's sellers have; {:?} is priced by {}, \
                 where a learner plays the market, not opponents: give a number",
                asset.name,
                asset.pricing.kind_name()
            ),
        )),
        Some(other) => Err(p.error(
            "q0",
            format!(
                "expected a finite number or \"uniform_opponents\", found {}",
                describe(other)
            ),
        )),
    }
}

fn parse_policy_gradient(p: &mut Fields<'_>, actions: ActionSet) -> Result<PolicyGradientPolicy> {
    let learning_rate = p.number("learning_rate", Range::Positive)?;
    let signals = parse_signals(p, actions.asset())?;
    PolicyGradientPolicy::new(actions, signals, learning_rate)
        .map_err(|e| p.error("learning_rate", e.to_string()))
}

/// What a learner sees: `memory` (default 1), `scale` (default 0.01),
/// `trend` (a window, optional), `position` (default false).
fn parse_signals(p: &mut Fields<'_>, asset: usize) -> Result<Signals> {
    Ok(Signals {
        asset,
        memory: p.opt_whole("memory", 0, 64)?.unwrap_or(1) as usize,
        scale: p.number_or("scale", Range::Positive, 0.01)?,
        trend: p.opt_whole("trend", 2, 1_000_000)?.map(|w| w as usize),
        position: p.opt_bool("position")?.unwrap_or(false),
    })
}

/// What kinds of asset an action fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fits {
    /// A token on a curve or a market (market orders).
    Tokens,
    /// A market that clears orders (limit orders).
    MarketClearing,
    /// A resource (requests).
    Resources,
}

impl Fits {
    fn of(action: &LearnerAction) -> Option<Fits> {
        match action {
            // an effort trades nothing
            LearnerAction::Hold | LearnerAction::Effort { .. } => None,
            LearnerAction::Buy { .. }
            | LearnerAction::Sell { .. }
            | LearnerAction::Stake { .. }
            | LearnerAction::Unstake { .. } => Some(Fits::Tokens),
            LearnerAction::Bid { .. } | LearnerAction::Ask { .. } => Some(Fits::MarketClearing),
            LearnerAction::Request { .. } => Some(Fits::Resources),
        }
    }

    /// Whether an action of this kind fits `pricing` (a user's mechanism
    /// is given every action: it rejects what it cannot take).
    fn fits(self, pricing: &PricingSpec) -> bool {
        let resource = matches!(pricing, PricingSpec::Resource(_));
        let curve = matches!(pricing, PricingSpec::BondingCurve { .. });
        let amm = matches!(pricing, PricingSpec::Amm(_));
        let custom = matches!(pricing, PricingSpec::Custom(_));
        custom
            || match self {
                Fits::Tokens => !resource,
                Fits::MarketClearing => !resource && !curve && !amm,
                Fits::Resources => resource,
            }
    }

    fn instead(pricing: &PricingSpec) -> &'static str {
        match pricing {
            PricingSpec::Resource(_) => "a resource takes { request = q, max_price = p }",
            PricingSpec::BondingCurve { .. } => {
                "a curve takes market orders: { buy = f } and { sell = f }"
            }
            PricingSpec::Amm(_) => "an amm takes swaps: { buy = f } and { sell = f }",
            _ => {
                "a market takes { buy = f }, { sell = f }, { bid = x, size = q } and \
                 { ask = x, size = q }"
            }
        }
    }
}

/// Reads `actions` and `ttl` and checks each action against the asset.
fn parse_actions(p: &mut Fields<'_>, j: usize, asset: &AssetSpec) -> Result<ActionSet> {
    let items = match p.opt_value("actions") {
        None => {
            return Err(p.error(
                "actions",
                format!("missing field; expected an array of actions: {ACTION_SYNTAX}"),
            ))
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(p.error(
                "actions",
                format!(
                    "expected an array of actions ({ACTION_SYNTAX}), found {}",
                    describe(other)
                ),
            ))
        }
    };
    if items.is_empty() {
        return Err(p.error(
            "actions",
            format!("expected at least one action ({ACTION_SYNTAX}), found an empty array"),
        ));
    }
    let mut actions = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let key = format!("actions[{i}]");
        let action = parse_action(p, &key, item)?;
        if let Some(fits) = Fits::of(&action) {
            if !fits.fits(&asset.pricing) {
                return Err(p.error(
                    &key,
                    format!(
                        "{} {} action does not fit {:?}, priced by {}: {}",
                        if action.name() == "ask" { "an" } else { "a" },
                        action.name(),
                        asset.name,
                        asset.pricing.kind_name(),
                        Fits::instead(&asset.pricing)
                    ),
                ));
            }
        }
        actions.push(action);
    }
    let ttl = p.opt_whole("ttl", 1, u64::from(u32::MAX))?.unwrap_or(1) as u32;
    ActionSet::new(j, actions, ttl).map_err(|e| p.error("actions", e.to_string()))
}

kinds! {
    /// The key that names an action's kind in its table.
    enum ActionKind {
        Buy = "buy",
        Sell = "sell",
        Bid = "bid",
        Ask = "ask",
        Request = "request",
        Stake = "stake",
        Unstake = "unstake",
        Effort = "effort",
    }
}

/// Reads one entry of `actions` (`key` is its place, `actions[i]`).
fn parse_action(p: &Fields<'_>, key: &str, item: &Value) -> Result<LearnerAction> {
    let table = match item {
        Value::String(s) if s == "hold" => return Ok(LearnerAction::Hold),
        Value::Table(t) => t,
        other => {
            return Err(p.error(
                key,
                format!(
                    "expected an action, {ACTION_SYNTAX}; found {}",
                    describe(other)
                ),
            ))
        }
    };
    let named: Vec<ActionKind> = ActionKind::ALL
        .iter()
        .copied()
        .filter(|k| table.contains_key(k.name()))
        .collect();
    let kind = match named.as_slice() {
        [one] => *one,
        [] => {
            return Err(p.error(
                key,
                format!("expected an action, {ACTION_SYNTAX}; found a table without any"),
            ))
        }
        several => {
            let keys: Vec<&str> = several.iter().map(|k| k.name()).collect();
            return Err(p.error(
                key,
                format!(
                    "one action per entry: this table has {}; write them as separate entries",
                    keys.join(" and ")
                ),
            ));
        }
    };
    let mut a = Fields::new(p.origin(), p.path_of(key), table);
    let action = match kind {
        ActionKind::Buy => LearnerAction::Buy {
            fraction: fraction(&mut a, "buy", "balance")?,
        },
        ActionKind::Sell => LearnerAction::Sell {
            fraction: fraction(&mut a, "sell", "holdings")?,
        },
        ActionKind::Bid => LearnerAction::Bid {
            offset: offset(&mut a, "bid")?,
            size: units(&mut a, "size")?,
        },
        ActionKind::Ask => LearnerAction::Ask {
            offset: offset(&mut a, "ask")?,
            size: units(&mut a, "size")?,
        },
        ActionKind::Stake => LearnerAction::Stake {
            fraction: fraction(&mut a, "stake", "holdings")?,
        },
        ActionKind::Unstake => LearnerAction::Unstake {
            fraction: fraction(&mut a, "unstake", "stake")?,
        },
        ActionKind::Effort => LearnerAction::Effort {
            level: effort(&mut a)?,
        },
        ActionKind::Request => LearnerAction::Request {
            quantity: units(&mut a, "request")?,
            max_price: {
                let x = a.number("max_price", Range::Positive)?;
                money_in_range(&a, "max_price", x)?;
                match to_base(x) {
                    Some(b) if b > 0 => b,
                    _ => {
                        return Err(a.error(
                            "max_price",
                            format!("expected a price of at least 1e-9, found {x}"),
                        ))
                    }
                }
            },
        },
    };
    a.finish()?;
    Ok(action)
}

/// An effort `e ≥ 0`, in base units.
fn effort(a: &mut Fields<'_>) -> Result<u64> {
    let x = a.number("effort", Range::NonNegative)?;
    to_base(x).ok_or_else(|| {
        a.error(
            "effort",
            format!("expected an effort between 0 and 1.8e10, found {x}"),
        )
    })
}

/// A share in `(0, 1]` of the balance or holdings.
fn fraction(a: &mut Fields<'_>, key: &'static str, of: &str) -> Result<f64> {
    let f = a.number(key, Range::Unit)?;
    if f == 0.0 {
        return Err(a.error(
            key,
            format!("expected a share of the {of} above 0 and at most 1, found 0"),
        ));
    }
    Ok(f)
}

/// A relative price offset above −1 (a price above 0).
fn offset(a: &mut Fields<'_>, key: &'static str) -> Result<f64> {
    let x = a.number(key, Range::Any)?;
    if x <= -1.0 {
        return Err(a.error(
            key,
            format!(
                "expected a relative offset from the reference price above -1 (a price above 0), \
                 found {x}"
            ),
        ));
    }
    Ok(x)
}

/// An amount of tokens or units, at least one base unit.
fn units(a: &mut Fields<'_>, key: &'static str) -> Result<u64> {
    let x = a.number(key, Range::Positive)?;
    match to_base(x) {
        Some(b) if b > 0 => Ok(b),
        _ => Err(a.error(
            key,
            format!("expected an amount between 1e-9 and 1.8e10, found {x}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_kind_and_algorithm_reads_as_its_own() {
        let table: toml::Table = toml::from_str(
            r#"
            a = [{ buy = 0.5 }, { sell = 0.25 }, { bid = -0.1, size = 2.0 }, { ask = 0.1, size = 3.0 }, { request = 4.0, max_price = 5.0 }, "hold", { stake = 0.5 }, { unstake = 1.0 }, { effort = 0.75 }]
            "#,
        )
        .unwrap();
        let f = Fields::new("t", "", &table);
        let Value::Array(items) = &table["a"] else {
            panic!()
        };
        let read: Vec<LearnerAction> = items
            .iter()
            .map(|v| parse_action(&f, "a", v).unwrap())
            .collect();
        assert_eq!(
            read,
            vec![
                LearnerAction::Buy { fraction: 0.5 },
                LearnerAction::Sell { fraction: 0.25 },
                LearnerAction::Bid {
                    offset: -0.1,
                    size: 2_000_000_000
                },
                LearnerAction::Ask {
                    offset: 0.1,
                    size: 3_000_000_000
                },
                LearnerAction::Request {
                    quantity: 4_000_000_000,
                    max_price: 5_000_000_000
                },
                LearnerAction::Hold,
                LearnerAction::Stake { fraction: 0.5 },
                LearnerAction::Unstake { fraction: 1.0 },
                LearnerAction::Effort { level: 750_000_000 },
            ]
        );
        // Each kind of action, by its name, is the action of that name.
        for &k in ActionKind::ALL {
            let a = read.iter().find(|a| a.name() == k.name());
            assert!(a.is_some(), "{}", k.name());
        }
    }
}
