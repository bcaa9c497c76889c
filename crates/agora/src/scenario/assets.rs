//! Assets: `[[assets]]` entries, their pricing (bonding curves, order
//! books, auctions, equilibrium and price-adjustment markets) and resources.

use super::events::parse_schedule;
use super::fields::{check_base, money_in_range, parse_name, past_range};
use super::ScheduledChange;
use super::{Fields, Range};
use crate::error::{Error, Result};
use crate::ledger::to_base;
use crate::market::clearing::{Adjustment, PriceRule, Shape, DEFAULT_PRICE_RANGE};
use crate::pricing::{Curve, CurveError};
use crate::resource::alloc::Mechanism;
use std::collections::HashSet;

/// One `[[assets]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AssetSpec {
    /// Unique name.
    pub name: String,
    /// Tokens in existence before step 1 that no agent holds, token units.
    pub initial_supply: f64,
    /// How the asset is priced.
    pub pricing: PricingSpec,
    /// Scheduled parameter changes, in file order.
    pub schedule: Vec<ScheduledChange>,
}

/// An asset's pricing mechanism.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PricingSpec {
    /// `kind = "bonding_curve"`: price is a function of supply; agents buy
    /// from and sell to the curve's reserve.
    BondingCurve {
        /// The curve.
        curve: Curve,
        /// Share of each buy's cost and each sell's refund paid into the fee
        /// pool, in `[0, 1)`.
        fee: f64,
    },
    /// `kind = "order_book"`: a continuous double auction.
    OrderBook(BookSpec),
    /// `kind = "call_auction"`: orders collected through each step and
    /// cleared at once at one price.
    CallAuction(BookSpec),
    /// `kind = "equilibrium"`: each step clears at the price where demand
    /// equals supply (agents' schedules plus the exogenous components).
    Equilibrium(EquilibriumSpec),
    /// `kind = "price_adjustment"`: trades at a posted price, rationed on
    /// the short side; the price then moves by `ΔP = g(D − O, S)`.
    PriceAdjustment(AdjustmentSpec),
    /// A resource (`kind = "resource"` on the asset): requests allocated
    /// against a capacity each step.
    Resource(ResourceSpec),
}

/// A resource asset: its capacity, how it is priced and allocated.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceSpec {
    /// Units available each step (a renewing resource) or the initial stock
    /// (a depleting one).
    pub capacity: f64,
    /// `renewal = "renewing"` (capacity renews each step; what is not used
    /// within the step is lost) or `"stock"` (a stock that allocation
    /// depletes and only production replenishes).
    pub renewing: bool,
    /// Share of held units (and of the unallocated stock) lost each step
    /// (stock resources).
    pub decay: f64,
    /// Money per unit held per step, paid to the provider (stock
    /// resources).
    pub holding_cost: f64,
    /// How requests are served when they exceed the capacity.
    pub allocation: Mechanism,
    /// How the price is set.
    pub pricing: ResourcePricing,
}

/// How a resource's price is set.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourcePricing {
    /// `kind = "price_adjustment"`: a posted price moved after each step by
    /// `ΔP = g(D − O, S)`, with D the units requested, O and S the capacity.
    Adjustment {
        /// The rule and its bounds.
        rule: PriceRule,
        /// The price at step 1.
        initial_price: f64,
    },
    /// `kind = "auction"`: a uniform-price auction each step (allocation
    /// `auction`).
    Auction {
        /// The lowest price the provider accepts.
        reserve_price: f64,
    },
    /// `kind = "fixed"`: a constant price.
    Fixed {
        /// The price.
        price: f64,
    },
}

impl PricingSpec {
    /// The `kind` as written in the scenario file.
    pub fn kind_name(&self) -> &'static str {
        match self {
            PricingSpec::BondingCurve { .. } => "bonding_curve",
            PricingSpec::OrderBook(_) => "order_book",
            PricingSpec::CallAuction(_) => "call_auction",
            PricingSpec::Equilibrium(_) => "equilibrium",
            PricingSpec::PriceAdjustment(_) => "price_adjustment",
            PricingSpec::Resource(_) => "resource",
        }
    }

    /// The curve, for a bonding-curve asset.
    pub fn curve(&self) -> Option<&Curve> {
        match self {
            PricingSpec::BondingCurve { curve, .. } => Some(curve),
            _ => None,
        }
    }
}

/// The parameters of an order book or call auction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BookSpec {
    /// Price increment, money units per token (> 0).
    pub tick_size: f64,
    /// Quantity increment, token units (> 0).
    pub lot_size: f64,
    /// The price before any trade, money units per token (> 0).
    pub initial_price: f64,
}

/// The parameters of an equilibrium market.
#[derive(Debug, Clone, PartialEq)]
pub struct EquilibriumSpec {
    /// Exogenous demand `D(P)`, if any.
    pub demand: Option<Shape>,
    /// Exogenous supply `O(P)`, if any.
    pub supply: Option<Shape>,
    /// The range searched for the equilibrium price.
    pub price_range: (f64, f64),
    /// Quantity increment of agents' trades, token units (> 0).
    pub lot_size: f64,
    /// The price recorded at step 0; the exogenous equilibrium if not given.
    pub initial_price: Option<f64>,
}

/// The parameters of a price-adjustment market.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjustmentSpec {
    /// The rule `ΔP = g(D − O, S)` and its bounds.
    pub rule: PriceRule,
    /// The posted price at step 1, money units per token (> 0).
    pub initial_price: f64,
    /// Exogenous demand `D(P)`, if any.
    pub demand: Option<Shape>,
    /// Exogenous supply `O(P)`, if any.
    pub supply: Option<Shape>,
    /// Quantity increment of agents' trades, token units (> 0).
    pub lot_size: f64,
}

pub(super) fn parse_asset(f: &mut Fields<'_>, earlier: &HashSet<String>) -> Result<AssetSpec> {
    let name = parse_name(f, "name")?;
    if earlier.contains(&name) {
        return Err(f.error("name", format!("duplicate asset name {name:?}")));
    }
    let resource = match f.opt_string("kind")? {
        None | Some("token") => false,
        Some("resource") => true,
        Some(kind) => {
            return Err(f.error(
                "kind",
                format!("unknown asset kind {kind:?}; expected one of: token, resource"),
            ))
        }
    };
    if resource {
        return parse_resource(f, name);
    }
    let initial_supply = f.number_or("initial_supply", Range::NonNegative, 0.0)?;
    if to_base(initial_supply).is_none() {
        return Err(f.error("initial_supply", past_range(initial_supply, "token")));
    }
    let mut p = f.table("pricing")?;
    let kind = p.choice("kind", PRICING_KINDS)?;
    let pricing = match kind {
        "bonding_curve" => {
            let curve = parse_curve(&mut p)?;
            let fee = p.number_or("fee", Range::HalfOpen(0.0, 1.0), 0.0)?;
            PricingSpec::BondingCurve { curve, fee }
        }
        "order_book" | "call_auction" => {
            let spec = BookSpec {
                tick_size: p.number_or("tick_size", Range::Positive, 0.01)?,
                lot_size: parse_lot(&mut p)?,
                initial_price: p.number("initial_price", Range::Positive)?,
            };
            check_base(&p, "tick_size", spec.tick_size, "money")?;
            if kind == "order_book" {
                PricingSpec::OrderBook(spec)
            } else {
                PricingSpec::CallAuction(spec)
            }
        }
        "equilibrium" => {
            let demand = parse_shape(&mut p, "demand")?;
            let supply = parse_shape(&mut p, "supply")?;
            let price_range = match p.opt_numbers("price_range", Range::NonNegative)? {
                None => DEFAULT_PRICE_RANGE,
                Some(r) if r.len() == 2 && r[0] < r[1] => (r[0], r[1]),
                Some(r) => {
                    return Err(p.error(
                        "price_range",
                        format!("expected [lo, hi] with 0 <= lo < hi, found {r:?}"),
                    ))
                }
            };
            PricingSpec::Equilibrium(EquilibriumSpec {
                demand,
                supply,
                price_range,
                lot_size: parse_lot(&mut p)?,
                initial_price: p.opt_number("initial_price", Range::Positive)?,
            })
        }
        _ => {
            let (rule, initial_price) = parse_price_rule(&mut p)?;
            PricingSpec::PriceAdjustment(AdjustmentSpec {
                rule,
                initial_price,
                demand: parse_shape(&mut p, "demand")?,
                supply: parse_shape(&mut p, "supply")?,
                lot_size: parse_lot(&mut p)?,
            })
        }
    };
    p.finish()?;
    let schedule = parse_schedule(f, &name, &pricing)?;
    Ok(AssetSpec {
        name,
        initial_supply,
        pricing,
        schedule,
    })
}

/// Reads a price-adjustment rule (`rule`, `lambda`, the bounds) and the
/// `initial_price` it starts from.
fn parse_price_rule(p: &mut Fields<'_>) -> Result<(PriceRule, f64)> {
    let form = p.choice("rule", &["linear", "proportional", "logarithmic"])?;
    let lambda = p.number("lambda", Range::Positive)?;
    let adjustment = match form {
        "linear" => Adjustment::Linear { lambda },
        "proportional" => Adjustment::Proportional { lambda },
        _ => Adjustment::Logarithmic { lambda },
    };
    let initial_price = p.number("initial_price", Range::Positive)?;
    let rule = PriceRule {
        adjustment,
        max_change: p.opt_number("max_change", Range::Positive)?,
        max_relative_change: p.opt_number("max_relative_change", Range::Positive)?,
        min_price: p.number_or("min_price", Range::Positive, 1e-9)?,
    };
    if rule.min_price > initial_price {
        return Err(p.error(
            "min_price",
            format!(
                "expected at most initial_price ({initial_price}), found {}",
                rule.min_price
            ),
        ));
    }
    Ok((rule, initial_price))
}

fn parse_resource(f: &mut Fields<'_>, name: String) -> Result<AssetSpec> {
    let capacity = f.number("capacity", Range::NonNegative)?;
    if to_base(capacity).is_none() {
        return Err(f.error("capacity", past_range(capacity, "token")));
    }
    let renewing = f
        .opt_string("renewal")?
        .map(|r| match r {
            "renewing" => Ok(true),
            "stock" => Ok(false),
            other => Err(f.error(
                "renewal",
                format!("unknown renewal {other:?}; expected one of: renewing, stock"),
            )),
        })
        .transpose()?
        .unwrap_or(true);
    let decay = f.number_or("decay", Range::Unit, 0.0)?;
    let holding_cost = f.number_or("holding_cost", Range::NonNegative, 0.0)?;
    money_in_range(f, "holding_cost", holding_cost)?;
    let allocation_name = f.opt_string("allocation")?;
    let mut p = f.table("pricing")?;
    let kind = p.choice("kind", &["price_adjustment", "auction", "fixed"])?;
    let pricing = match kind {
        "price_adjustment" => {
            let (rule, initial_price) = parse_price_rule(&mut p)?;
            ResourcePricing::Adjustment {
                rule,
                initial_price,
            }
        }
        "auction" => {
            let reserve_price = p.number_or("reserve_price", Range::NonNegative, 0.0)?;
            money_in_range(&p, "reserve_price", reserve_price)?;
            ResourcePricing::Auction { reserve_price }
        }
        _ => ResourcePricing::Fixed {
            price: p.number("price", Range::NonNegative)?,
        },
    };
    p.finish()?;
    let is_auction = matches!(pricing, ResourcePricing::Auction { .. });
    let allocation = match allocation_name {
        None if is_auction => Mechanism::Auction,
        None => Mechanism::Proportional,
        Some(n) => Mechanism::from_name(n).ok_or_else(|| {
            let names: Vec<&str> = Mechanism::ALL.iter().map(|m| m.name()).collect();
            f.error(
                "allocation",
                format!(
                    "unknown allocation {n:?}; expected one of: {}",
                    names.join(", ")
                ),
            )
        })?,
    };
    if is_auction != (allocation == Mechanism::Auction) {
        return Err(f.error(
            "allocation",
            format!(
                "allocation {:?} with pricing {kind:?}: the uniform-price auction both prices and allocates; use allocation = \"auction\" with pricing kind \"auction\", and only then",
                allocation.name()
            ),
        ));
    }
    if f.has("schedule") {
        return Err(f.error(
            "schedule",
            "parameter schedules apply to bonding curves only",
        ));
    }
    Ok(AssetSpec {
        name,
        // a stock starts as unheld supply; a renewing capacity holds nothing
        initial_supply: if renewing { 0.0 } else { capacity },
        pricing: PricingSpec::Resource(ResourceSpec {
            capacity,
            renewing,
            decay,
            holding_cost,
            allocation,
            pricing,
        }),
        schedule: Vec::new(),
    })
}

/// The pricing kinds an asset may name.
pub const PRICING_KINDS: &[&str] = &[
    "bonding_curve",
    "order_book",
    "call_auction",
    "equilibrium",
    "price_adjustment",
];

fn parse_lot(p: &mut Fields<'_>) -> Result<f64> {
    let lot = p.number_or("lot_size", Range::Positive, 1.0)?;
    check_base(p, "lot_size", lot, "token")?;
    Ok(lot)
}

/// Reads an exogenous `demand` or `supply` table: `shape = "linear"` with
/// `a`, `b` (demand `a − b·P`) or `c`, `d` (supply `c + d·P`), or
/// `shape = "constant_elasticity"` with `scale` and `elasticity`
/// (demand `scale·P^−elasticity`, supply `scale·P^elasticity`).
fn parse_shape(p: &mut Fields<'_>, key: &'static str) -> Result<Option<Shape>> {
    let Some(mut t) = p.opt_table(key)? else {
        return Ok(None);
    };
    let shape = match t.choice("shape", &["linear", "constant_elasticity"])? {
        "linear" => {
            let (i, s) = if key == "demand" {
                ("a", "b")
            } else {
                ("c", "d")
            };
            Shape::Linear {
                intercept: t.number(i, Range::Any)?,
                slope: t.number(s, Range::NonNegative)?,
            }
        }
        _ => {
            let scale = t.number("scale", Range::Positive)?;
            let elasticity = t.number("elasticity", Range::Closed(0.0, 100.0))?;
            Shape::ConstantElasticity {
                scale,
                exponent: if key == "demand" {
                    -elasticity
                } else {
                    elasticity
                },
            }
        }
    };
    t.finish()?;
    Ok(Some(shape))
}

fn parse_curve(p: &mut Fields<'_>) -> Result<Curve> {
    let kind = p.choice(
        "curve",
        &["linear", "exponential", "sigmoid", "power", "bancor"],
    )?;
    let any = Range::Any;
    let curve = match kind {
        "linear" => Curve::Linear {
            m: p.number("m", any)?,
            b: p.number("b", any)?,
        },
        "exponential" => Curve::Exponential {
            a: p.number("a", any)?,
            k: p.number("k", any)?,
        },
        "sigmoid" => Curve::Sigmoid {
            K: p.number("K", any)?,
            k: p.number("k", any)?,
            s0: p.number("S0", any)?,
        },
        "power" => Curve::Power {
            a: p.number("a", any)?,
            n: p.number("n", any)?,
        },
        _ => Curve::Bancor {
            reserve_ratio: p.number("reserve_ratio", any)?,
            p0: p.number("p0", any)?,
            s0: p.number("s0", any)?,
        },
    };
    curve.validate().map_err(|e| curve_error(p, e))?;
    Ok(curve)
}

fn curve_error(p: &Fields<'_>, e: CurveError) -> Error {
    match e {
        CurveError::InvalidParameter {
            param,
            expected,
            found,
            ..
        } => p.error(param, format!("expected {expected}, found {found}")),
        other => p.error("", other.to_string()),
    }
}
