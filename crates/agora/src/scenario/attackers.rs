//! Reading the attacker policies (`wash_trader`, `pump_and_dump`,
//! `spoofer`; see [`crate::agents::attackers`]).
//!
//! ```toml
//! policy = { kind = "wash_trader", asset = "X", size = 5.0, every = 1 }
//! policy = { kind = "pump_and_dump", asset = "X", buy_until = 10, sell_from = 30, buy_fraction = 0.2, sell_fraction = 0.5 }
//! policy = { kind = "spoofer", asset = "X", size = 50.0, trade = 2.0, depth = 0.8 }
//! ```

use super::fields::token_amount;
use super::{AssetSpec, Fields, Kind, PolicyKind, PricingSpec, Range};
use crate::agents::attackers::{
    AttackerPolicy, PumpAndDumpPolicy, SpooferPolicy, Venue, WashTraderPolicy,
};
use crate::agents::BuiltinPolicy;
use crate::error::Result;

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
    let policy = match kind {
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
