//! Reading the attacker policies (`sandwich`, `wash_trader`,
//! `pump_and_dump`, `spoofer`, `cartel`, `hoarder`; see
//! [`crate::agents::attackers`]).
//!
//! ```toml
//! policy = { kind = "sandwich", asset = "X", min_profit = 0.0, priority_fee = 0.0 }
//! policy = { kind = "wash_trader", asset = "X", size = 5.0, every = 1 }
//! policy = { kind = "pump_and_dump", asset = "X", buy_until = 10, sell_from = 30, buy_fraction = 0.2, sell_fraction = 0.5 }
//! policy = { kind = "spoofer", asset = "X", size = 50.0, trade = 2.0, depth = 0.8 }
//! # on a posted_price asset (the group also has its `cost`):
//! policy = { kind = "cartel", asset = "GOOD", punish = false }
//! # on a resource:
//! policy = { kind = "cartel", asset = "COMPUTE", cost = 0.5, max_output = 16.0, withhold = 0.375, lead_time = 0 }
//! policy = { kind = "hoarder", asset = "COMPUTE", quantity = 50.0, max_price = 4.0 }
//! ```
//!
//! A posted-price cartel is bound to its market once every seller is known
//! ([`posted::resolve`](super::posted::resolve)).

use super::fields::{money_in_range, past_range, token_amount};
use super::{AssetSpec, Fields, Kind, PolicyKind, PricingSpec, Range};
use crate::agents::attackers::{
    AttackerPolicy, CartelPolicy, HoarderPolicy, PumpAndDumpPolicy, SpooferPolicy, Venue,
    WashTraderPolicy,
};
use crate::agents::collusion::{PostedCartel, SupplyCartel};
use crate::agents::BuiltinPolicy;
use crate::error::Result;
use crate::ledger::to_base;

/// The book's tick in money base units per whole token, or 1 for another
/// mechanism (whose kind [`check_policy_fits_assets`](super::agents) checks).
fn tick_of(pricing: &PricingSpec) -> Option<u64> {
    match pricing {
        PricingSpec::OrderBook(b) => Some(crate::market::mechanism::tick_lot(b).0),
        _ => None,
    }
}

/// Reads an attacker policy of kind `kind` (its `kind` already read).
pub(super) fn parse_attacker(
    p: &mut Fields<'_>,
    kind: PolicyKind,
    assets: &[String],
    specs: &[AssetSpec],
    count: u32,
) -> Result<BuiltinPolicy> {
    let asset = p.asset("asset", assets)?;
    let tick = specs.get(asset).and_then(|s| tick_of(&s.pricing));
    let money = |p: &mut Fields<'_>, key: &'static str| -> Result<u64> {
        let x = p.number_or(key, Range::NonNegative, 0.0)?;
        to_base(x).ok_or_else(|| p.error(key, past_range(x, "money")))
    };
    let policy = match kind {
        PolicyKind::Sandwich => {
            return Ok(BuiltinPolicy::Sandwich(crate::agents::SandwichPolicy {
                asset,
                min_profit: money(p, "min_profit")?,
                priority_fee: money(p, "priority_fee")?,
            }))
        }
        PolicyKind::Cartel => AttackerPolicy::Cartel(parse_cartel(p, asset, assets, specs)?),
        PolicyKind::Hoarder => {
            let max_price = p.number("max_price", Range::Positive)?;
            money_in_range(p, "max_price", max_price)?;
            AttackerPolicy::Hoarder(HoarderPolicy {
                asset,
                quantity: token_amount(p, "quantity", None)?,
                max_price: to_base(max_price).unwrap_or(0),
            })
        }
        PolicyKind::WashTrader => AttackerPolicy::WashTrader(WashTraderPolicy {
            asset,
            size: token_amount(p, "size", None)?,
            every: p.opt_whole("every", 1, u64::MAX)?.unwrap_or(1),
            venue: match tick {
                Some(tick) => Venue::Book { tick },
                None => Venue::Pool,
            },
            count,
        }),
        PolicyKind::PumpAndDump => {
            let buy_until = p.whole("buy_until", 1, u64::MAX - 1)?;
            let sell_from = p.whole("sell_from", 1, u64::MAX)?;
            if sell_from <= buy_until {
                return Err(p.error(
                    "sell_from",
                    format!("expected a step after buy_until ({buy_until}), found {sell_from}"),
                ));
            }
            AttackerPolicy::PumpAndDump(PumpAndDumpPolicy {
                asset,
                buy_until,
                sell_from,
                buy_fraction: p.number("buy_fraction", Range::Unit)?,
                sell_fraction: p.number_or("sell_fraction", Range::Unit, 1.0)?,
            })
        }
        PolicyKind::Spoofer => AttackerPolicy::Spoofer(SpooferPolicy {
            asset,
            size: token_amount(p, "size", None)?,
            trade: token_amount(p, "trade", None)?,
            depth: p.number_or("depth", Range::HalfOpen(0.0, 1.0), 0.8)?,
            tick: tick.unwrap_or(1),
        }),
        _ => {
            return Err(p.error(
                "kind",
                format!("{:?} is not an attacker policy", kind.name()),
            ))
        }
    };
    Ok(BuiltinPolicy::Attacker(policy))
}

/// Reads a `cartel` on asset `asset`: on a posted-price market `punish`
/// (default false); on a resource the producer's fields and `withhold`.
fn parse_cartel(
    p: &mut Fields<'_>,
    asset: usize,
    assets: &[String],
    specs: &[AssetSpec],
) -> Result<CartelPolicy> {
    match specs.get(asset).map(|s| &s.pricing) {
        Some(PricingSpec::PostedPrice(_)) => Ok(CartelPolicy::Posted(PostedCartel {
            asset,
            punish: p.opt_bool("punish")?.unwrap_or(false),
            joint: true,
            market: None,
        })),
        Some(PricingSpec::Resource(_)) => {
            let cost = p.number("cost", Range::NonNegative)?;
            money_in_range(p, "cost", cost)?;
            Ok(CartelPolicy::Supply(SupplyCartel {
                asset,
                cost,
                max_output: token_amount(p, "max_output", None)?,
                lead_time: p.opt_whole("lead_time", 0, 1_000_000)?.unwrap_or(1) as u32,
                margin: p.number_or("margin", Range::NonNegative, 0.0)?,
                withhold: p.number("withhold", Range::Unit)?,
            }))
        }
        other => Err(p.error(
            "asset",
            format!(
                "a cartel sells on a posted_price asset or a resource (kind = \"resource\"), \
                 and {:?} is priced by {}",
                assets[asset],
                other.map_or("nothing", |s| s.kind_name())
            ),
        )),
    }
}
