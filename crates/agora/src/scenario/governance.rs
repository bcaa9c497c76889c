//! `[[governance]]`: rules declared in a scenario file, by name, so that
//! sweeps and optimisation can vary their settings like any other field
//! (`governance.<name>.kp`).
//!
//! ```toml
//! [[governance]]
//! name = "peg"                 # names the rule in paths: governance.peg.kp
//! kind = "pi_controller"
//! asset = "TOKEN"              # the asset it measures and steers
//! param = "m"                  # the parameter it sets: a curve's, or fee
//! target = 2.0                 # the price it holds
//! kp = -0.0005                 # gains (a price falls as m falls: negative)
//! ki = -0.00001
//! base = 0.001                 # the parameter at zero error
//! min = 0.0001                 # optional clamps, integral clamp, leak, period
//!
//! [[governance]]
//! kind = "circuit_breaker"
//! asset = "TOKEN"
//! max_move = 0.1               # a 10% move within `window` steps trips it
//! halt_steps = 5
//! window = 1                   # optional, steps (1: the last step's move)
//!
//! [[governance]]
//! kind = "price_band"          # clips each step's move to ±max_move
//! asset = "TOKEN"
//! max_move = 0.05
//!
//! [[governance]]
//! kind = "position_limit"      # no buy takes an agent past max_share of supply
//! asset = "TOKEN"
//! max_share = 0.02
//!
//! [[governance]]
//! kind = "transaction_tax"     # rate × each trade's money, to a treasury or burned
//! asset = "TOKEN"
//! rate = 0.01
//! to = "treasury"              # or "burn"
//! early_rate = 0.05            # optional: extra on sells within `within` steps of a buy
//! within = 10
//!
//! [[governance]]
//! kind = "rate_limit"          # at most max_orders actions per agent every per_steps steps
//! asset = "TOKEN"
//! max_orders = 1
//! per_steps = 1                # optional
//! ```
//!
//! A PI controller measures `measure = "price"` (the default) or
//! `"utilisation"` (a resource's allocated share of its capacity over the
//! steps since its last update; its target is then in `[0, 1]`).
//! `price_band`, `position_limit` and `transaction_tax` act on the trades of
//! a bonding-curve or AMM asset; `rate_limit` on any asset's actions.

use super::{AssetSpec, Fields, Kind, PricingSpec, Range};
use crate::error::Result;
use crate::governance::{GovernanceError, Param, PiConfig};

super::kinds! {
    /// The governance kinds a scenario may name (`kind = "…"`).
    pub enum GovernanceKind {
        /// A PI controller on a parameter.
        PiController = "pi_controller",
        /// A circuit breaker.
        CircuitBreaker = "circuit_breaker",
        /// A band on each step's price move.
        PriceBand = "price_band",
        /// A cap on an agent's share of the supply.
        PositionLimit = "position_limit",
        /// A tax on trades.
        TransactionTax = "transaction_tax",
        /// A cap on an agent's actions per step.
        RateLimit = "rate_limit",
    }
}

/// The governance kinds' names.
pub const GOVERNANCE_KINDS: &[&str] = GovernanceKind::NAMES;

/// One governance rule of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceSpec {
    /// Its name, unique in the scenario.
    pub name: String,
    /// What it does.
    pub rule: GovernanceRule,
}

/// A governance rule's kind and settings.
#[derive(Debug, Clone, PartialEq)]
pub enum GovernanceRule {
    /// `kind = "pi_controller"`: holds the asset's price at `target` by
    /// setting `param` every `period` steps (see [`crate::governance::pi`]).
    PiController {
        /// Index of the asset measured and steered.
        asset: usize,
        /// The parameter set.
        param: Param,
        /// What it measures.
        measure: Measure,
        /// The controller's settings.
        config: PiConfig,
    },
    /// `kind = "circuit_breaker"`: halts the asset's trading for
    /// `halt_steps` when its price moves by more than `max_move` within
    /// `window` steps.
    CircuitBreaker {
        /// Index of the asset watched.
        asset: usize,
        /// The largest relative move that does not trip it, `> 0`.
        max_move: f64,
        /// Steps trading stays halted, `≥ 1`.
        halt_steps: u64,
        /// Steps over which a move is measured, `≥ 1` (1: one step's).
        window: u64,
    },
    /// `kind = "price_band"`: each trade is clipped so that the price stays
    /// within `±max_move` of its value before the step's first trade on the
    /// asset; a trade that cannot move it at all is refused.
    PriceBand {
        /// Index of the asset (a bonding curve or an AMM).
        asset: usize,
        /// The band's half-width, a share of the price, `> 0`.
        max_move: f64,
    },
    /// `kind = "position_limit"`: a buy is clipped so that the buyer holds
    /// at most `max_share` of the supply after it; refused if it cannot buy
    /// any.
    PositionLimit {
        /// Index of the asset (a bonding curve or an AMM).
        asset: usize,
        /// The largest share of the supply an agent may buy up to, in
        /// `(0, 1]`.
        max_share: f64,
    },
    /// `kind = "transaction_tax"`: every trade pays `rate` of its money
    /// (a buy's cost and fee, a sell's proceeds), plus `early_rate` on a
    /// sell within `within` steps of the seller's last buy, into a treasury
    /// or burned.
    TransactionTax {
        /// Index of the asset (a bonding curve or an AMM).
        asset: usize,
        /// The tax rate, `[0, 1)`.
        rate: f64,
        /// The extra rate on early sells, with `rate + early_rate < 1`.
        early_rate: f64,
        /// Steps after a buy within which a sell is early.
        within: u64,
        /// Where the tax goes.
        to: TaxTo,
    },
    /// `kind = "rate_limit"`: each agent's actions on the asset beyond
    /// `max_orders` in a window of `per_steps` steps are dropped (refused).
    RateLimit {
        /// Index of the asset.
        asset: usize,
        /// Actions allowed per agent per window, `≥ 1`.
        max_orders: u64,
        /// The window, steps `≥ 1` (aligned: steps 1..=n, n+1..=2n, …).
        per_steps: u64,
    },
}

impl GovernanceRule {
    /// The index of the asset the rule is on.
    pub fn asset(&self) -> usize {
        match *self {
            GovernanceRule::PiController { asset, .. }
            | GovernanceRule::CircuitBreaker { asset, .. }
            | GovernanceRule::PriceBand { asset, .. }
            | GovernanceRule::PositionLimit { asset, .. }
            | GovernanceRule::TransactionTax { asset, .. }
            | GovernanceRule::RateLimit { asset, .. } => asset,
        }
    }

    /// The rule's kind, as named in a scenario.
    pub fn kind_name(&self) -> &'static str {
        match self {
            GovernanceRule::PiController { .. } => "pi_controller",
            GovernanceRule::CircuitBreaker { .. } => "circuit_breaker",
            GovernanceRule::PriceBand { .. } => "price_band",
            GovernanceRule::PositionLimit { .. } => "position_limit",
            GovernanceRule::TransactionTax { .. } => "transaction_tax",
            GovernanceRule::RateLimit { .. } => "rate_limit",
        }
    }
}

/// What a PI controller measures (`measure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The asset's price after the step before.
    #[default]
    Price,
    /// A resource's utilisation: units allocated over units available,
    /// over the steps since the controller's last update.
    Utilisation,
}

/// Where a transaction tax goes (`to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxTo {
    /// Into the rule's own money treasury in the ledger.
    Treasury,
    /// Burned: out of the economy, counted in the ledger's money burned.
    Burn,
}

/// Reads one `[[governance]]` table.
pub(crate) fn parse_governance(
    g: &mut Fields<'_>,
    asset_names: &[String],
    assets: &[AssetSpec],
    earlier: &[GovernanceSpec],
) -> Result<GovernanceSpec> {
    let kind: GovernanceKind = g.kind("kind")?;
    let name = g.string("name")?.to_string();
    let asset = g.asset("asset", asset_names)?;
    let rule = match kind {
        GovernanceKind::PiController => {
            let param_name = g.string("param")?;
            let param = Param::from_name(param_name);
            check_param(g, &param, &assets[asset])?;
            let measure = match g.opt_string("measure")? {
                None | Some("price") => Measure::Price,
                Some("utilisation") => Measure::Utilisation,
                Some(other) => {
                    return Err(g.error(
                        "measure",
                        format!("unknown value {other:?}; expected one of: price, utilisation"),
                    ))
                }
            };
            if measure == Measure::Utilisation
                && !matches!(assets[asset].pricing, PricingSpec::Resource(_))
            {
                return Err(g.error(
                    "measure",
                    format!(
                        "\"utilisation\" needs a resource; asset {:?} is a {}",
                        assets[asset].name,
                        assets[asset].pricing.kind_name()
                    ),
                ));
            }
            let target_range = match measure {
                Measure::Price => Range::NonNegative,
                Measure::Utilisation => Range::Unit,
            };
            let config = PiConfig {
                target: g.number("target", target_range)?,
                kp: g.number("kp", Range::Any)?,
                ki: g.number_or("ki", Range::Any, 0.0)?,
                leak: g.number_or("leak", Range::Unit, 1.0)?,
                integral_clamp: g.opt_number("integral_clamp", Range::Positive)?,
                base: g.number("base", Range::Any)?,
                min: g.opt_number("min", Range::Any)?,
                max: g.opt_number("max", Range::Any)?,
                period: g.opt_whole("period", 1, u64::MAX)?.unwrap_or(1),
            };
            config.validate().map_err(|e| {
                let GovernanceError::InvalidParameter { param, .. } = &e;
                g.error(param, e.to_string())
            })?;
            GovernanceRule::PiController {
                asset,
                param,
                measure,
                config,
            }
        }
        GovernanceKind::CircuitBreaker => GovernanceRule::CircuitBreaker {
            asset,
            max_move: g.number("max_move", Range::Positive)?,
            halt_steps: g.whole("halt_steps", 1, u64::MAX)?,
            window: g.opt_whole("window", 1, u64::MAX)?.unwrap_or(1),
        },
        GovernanceKind::PriceBand => {
            on_curve(g, kind, &assets[asset])?;
            GovernanceRule::PriceBand {
                asset,
                max_move: g.number("max_move", Range::Positive)?,
            }
        }
        GovernanceKind::PositionLimit => {
            on_curve(g, kind, &assets[asset])?;
            let max_share = g.number("max_share", Range::Unit)?;
            if max_share == 0.0 {
                return Err(g.error("max_share", "expected a share in (0, 1], found 0"));
            }
            GovernanceRule::PositionLimit { asset, max_share }
        }
        GovernanceKind::TransactionTax => {
            on_curve(g, kind, &assets[asset])?;
            let rate = g.number("rate", Range::HalfOpen(0.0, 1.0))?;
            let to = match g.opt_string("to")? {
                None | Some("treasury") => TaxTo::Treasury,
                Some("burn") => TaxTo::Burn,
                Some(other) => {
                    return Err(g.error(
                        "to",
                        format!("unknown value {other:?}; expected one of: treasury, burn"),
                    ))
                }
            };
            let early_rate = g.number_or("early_rate", Range::HalfOpen(0.0, 1.0), 0.0)?;
            // Every tax on the asset together: a sell keeps some of its
            // proceeds.
            let others: f64 = earlier
                .iter()
                .filter_map(|r| match r.rule {
                    GovernanceRule::TransactionTax {
                        asset: a,
                        rate,
                        early_rate,
                        ..
                    } if a == asset => Some(rate + early_rate),
                    _ => None,
                })
                .sum();
            if others + rate + early_rate >= 1.0 {
                return Err(g.error(
                    "early_rate",
                    format!(
                        "expected rate + early_rate < 1 over the asset's transaction taxes \
                         (a sell keeps some of its proceeds), found {}",
                        others + rate + early_rate
                    ),
                ));
            }
            let within = match g.opt_whole("within", 1, u64::MAX)? {
                Some(w) => w,
                None if early_rate > 0.0 => {
                    return Err(g.error(
                        "within",
                        "missing field; expected the steps after a buy within which a sell \
                         pays early_rate (a whole number >= 1)",
                    ))
                }
                None => 0,
            };
            GovernanceRule::TransactionTax {
                asset,
                rate,
                early_rate,
                within,
                to,
            }
        }
        GovernanceKind::RateLimit => GovernanceRule::RateLimit {
            asset,
            max_orders: g.whole("max_orders", 1, u64::from(u32::MAX))?,
            per_steps: g.opt_whole("per_steps", 1, u64::MAX)?.unwrap_or(1),
        },
    };
    Ok(GovernanceSpec { name, rule })
}

/// Checks that a rule acting on trades is on a bonding curve or an AMM,
/// whose buys and sells it can clip and tax.
fn on_curve(g: &Fields<'_>, kind: GovernanceKind, asset: &AssetSpec) -> Result<()> {
    if let PricingSpec::Amm(amm) = &asset.pricing {
        if amm.ordering == super::amm::Ordering::Mempool {
            // A mempool's swaps execute in the clear phase, in the order
            // it settles, after the guards of the execute phase have run:
            // a guard there would clip and tax against the wrong quotes.
            return Err(g.error(
                "asset",
                format!(
                    "a {} rule cannot guard {:?}: its swaps wait in a mempool (ordering = \
                     \"mempool\") and execute after the rule would check them; expected an \
                     asset without a mempool",
                    kind.name(),
                    asset.name
                ),
            ));
        }
    }
    if matches!(
        asset.pricing,
        PricingSpec::BondingCurve { .. } | PricingSpec::Amm(_)
    ) {
        return Ok(());
    }
    Err(g.error(
        "asset",
        format!(
            "a {} rule needs a bonding-curve or AMM asset; {:?} is a {}",
            kind.name(),
            asset.name,
            asset.pricing.kind_name()
        ),
    ))
}

/// Checks that the asset's mechanism has the parameter.
fn check_param(g: &Fields<'_>, param: &Param, asset: &AssetSpec) -> Result<()> {
    let fits = match (&asset.pricing, param) {
        (PricingSpec::BondingCurve { curve, .. }, Param::Curve(name)) => {
            curve.param_names().contains(&name.as_str())
        }
        (PricingSpec::BondingCurve { .. } | PricingSpec::Amm(_), Param::Fee) => true,
        (PricingSpec::PriceAdjustment(_), Param::Price) => true,
        (PricingSpec::Resource(r), Param::Capacity) => r.renewing,
        (PricingSpec::Resource(r), Param::Price) => {
            !matches!(r.pricing, crate::scenario::ResourcePricing::Auction { .. })
        }
        _ => false,
    };
    if fits {
        return Ok(());
    }
    let expected = match &asset.pricing {
        PricingSpec::BondingCurve { curve, .. } => {
            let mut names: Vec<&str> = curve.param_names().to_vec();
            names.push("fee");
            format!("one of {names:?}")
        }
        PricingSpec::Resource(_) => {
            "capacity (a renewing resource) or price (a fixed or adjusted price)".into()
        }
        PricingSpec::PriceAdjustment(_) => "price (the posted price)".into(),
        PricingSpec::Amm(_) => "fee (the pool's swap fee)".into(),
        _ => "a bonding curve's, a resource's or a posted price's parameter (this \
              market's price comes from clearing)"
            .into(),
    };
    Err(g.error(
        "param",
        format!(
            "{:?} is not a parameter of asset {:?}: expected {expected}",
            param.name(),
            asset.name
        ),
    ))
}

/// The `[[governance]]` table that reads back as `spec`, with its asset
/// written as `asset` (a name, or an index the scenario's assets resolve).
pub(crate) fn governance_table(spec: &GovernanceSpec, asset: toml::Value) -> toml::Table {
    use toml::Value;
    let whole = |n: u64| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    let mut t = toml::Table::new();
    t.insert("name".into(), Value::String(spec.name.clone()));
    t.insert("kind".into(), Value::String(spec.rule.kind_name().into()));
    t.insert("asset".into(), asset);
    match &spec.rule {
        GovernanceRule::PiController {
            param,
            measure,
            config,
            ..
        } => {
            t.insert("param".into(), Value::String(param.name().into()));
            let measure = match measure {
                Measure::Price => "price",
                Measure::Utilisation => "utilisation",
            };
            t.insert("measure".into(), Value::String(measure.into()));
            t.insert("target".into(), Value::Float(config.target));
            t.insert("kp".into(), Value::Float(config.kp));
            t.insert("ki".into(), Value::Float(config.ki));
            t.insert("leak".into(), Value::Float(config.leak));
            if let Some(c) = config.integral_clamp {
                t.insert("integral_clamp".into(), Value::Float(c));
            }
            t.insert("base".into(), Value::Float(config.base));
            if let Some(min) = config.min {
                t.insert("min".into(), Value::Float(min));
            }
            if let Some(max) = config.max {
                t.insert("max".into(), Value::Float(max));
            }
            t.insert("period".into(), whole(config.period));
        }
        GovernanceRule::CircuitBreaker {
            max_move,
            halt_steps,
            window,
            ..
        } => {
            t.insert("max_move".into(), Value::Float(*max_move));
            t.insert("halt_steps".into(), whole(*halt_steps));
            t.insert("window".into(), whole(*window));
        }
        GovernanceRule::PriceBand { max_move, .. } => {
            t.insert("max_move".into(), Value::Float(*max_move));
        }
        GovernanceRule::PositionLimit { max_share, .. } => {
            t.insert("max_share".into(), Value::Float(*max_share));
        }
        GovernanceRule::TransactionTax {
            rate,
            early_rate,
            within,
            to,
            ..
        } => {
            t.insert("rate".into(), Value::Float(*rate));
            t.insert("early_rate".into(), Value::Float(*early_rate));
            // 0 stands for "none" (no early rate): the file leaves it out.
            if *within > 0 {
                t.insert("within".into(), whole(*within));
            }
            let to = match to {
                TaxTo::Treasury => "treasury",
                TaxTo::Burn => "burn",
            };
            t.insert("to".into(), Value::String(to.into()));
        }
        GovernanceRule::RateLimit {
            max_orders,
            per_steps,
            ..
        } => {
            t.insert("max_orders".into(), whole(*max_orders));
            t.insert("per_steps".into(), whole(*per_steps));
        }
    }
    t
}
