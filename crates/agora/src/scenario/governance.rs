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
//! max_move = 0.1               # a 10% move in one step trips it
//! halt_steps = 5
//! ```

use super::{AssetSpec, Fields, PricingSpec, Range};
use crate::error::Result;
use crate::governance::{GovernanceError, Param, PiConfig};

super::kinds! {
    /// The governance kinds a scenario may name (`kind = "…"`).
    pub enum GovernanceKind {
        /// A PI controller on a parameter.
        PiController = "pi_controller",
        /// A circuit breaker.
        CircuitBreaker = "circuit_breaker",
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
        /// The controller's settings.
        config: PiConfig,
    },
    /// `kind = "circuit_breaker"`: halts the asset's trading for
    /// `halt_steps` when its price moves by more than `max_move` in a step.
    CircuitBreaker {
        /// Index of the asset watched.
        asset: usize,
        /// The largest relative move that does not trip it, `> 0`.
        max_move: f64,
        /// Steps trading stays halted, `≥ 1`.
        halt_steps: u64,
    },
}

/// Reads one `[[governance]]` table.
pub(crate) fn parse_governance(
    g: &mut Fields<'_>,
    asset_names: &[String],
    assets: &[AssetSpec],
) -> Result<GovernanceSpec> {
    let kind: GovernanceKind = g.kind("kind")?;
    let name = g.string("name")?.to_string();
    let asset = g.asset("asset", asset_names)?;
    let rule = match kind {
        GovernanceKind::PiController => {
            let param_name = g.string("param")?;
            let param = Param::from_name(param_name);
            check_param(g, &param, &assets[asset])?;
            let config = PiConfig {
                target: g.number("target", Range::Any)?,
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
                config,
            }
        }
        GovernanceKind::CircuitBreaker => GovernanceRule::CircuitBreaker {
            asset,
            max_move: g.number("max_move", Range::Positive)?,
            halt_steps: g.whole("halt_steps", 1, u64::MAX)?,
        },
    };
    Ok(GovernanceSpec { name, rule })
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
