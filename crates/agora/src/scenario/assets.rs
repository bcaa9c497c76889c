//! Assets: `[[assets]]` entries, their pricing (bonding curves, order
//! books, auctions, equilibrium, price-adjustment and posted-price
//! markets) and resources.

use super::events::parse_schedule;
use super::fields::{check_base, money_in_range, parse_name, past_range};
use super::ScheduledChange;
use super::{kinds, Fields, Kind, PolicyRegistry, Range};
use crate::error::{Error, Result};
use crate::ledger::to_base;
use crate::market::clearing::{Adjustment, PriceRule, Shape, DEFAULT_PRICE_RANGE};
use crate::pricing::{Curve, CurveError};
use crate::resource::alloc::{AllocationRule, Rule};
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
    /// `kind = "posted_price"`: each seller posts a price from a grid, and
    /// exogenous buyers split between them by logit demand.
    PostedPrice(super::posted::PostedSpec),
    /// A resource (`kind = "resource"` on the asset): requests allocated
    /// against a capacity each step.
    Resource(ResourceSpec),
    /// A population game (`kind = "game"` on the asset): agents of
    /// `player` groups matched at random to play a normal-form game, paid
    /// from a pool.
    Game(crate::games::population::GameSpec),
    /// `kind = "amm"`: an automated market maker, a constant-product pool
    /// agents swap with.
    Amm(super::amm::AmmSpec),
    /// A user mechanism (`kind` = the name it is registered under).
    Custom(super::CustomPricing),
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
    pub allocation: AllocationRule,
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
            PricingSpec::BondingCurve { .. } => PricingKind::BondingCurve.name(),
            PricingSpec::OrderBook(_) => PricingKind::OrderBook.name(),
            PricingSpec::CallAuction(_) => PricingKind::CallAuction.name(),
            PricingSpec::Equilibrium(_) => PricingKind::Equilibrium.name(),
            PricingSpec::PriceAdjustment(_) => PricingKind::PriceAdjustment.name(),
            PricingSpec::PostedPrice(_) => PricingKind::PostedPrice.name(),
            PricingSpec::Amm(_) => PricingKind::Amm.name(),
            PricingSpec::Resource(_) => "resource",
            PricingSpec::Game(_) => "game",
            PricingSpec::Custom(_) => "custom",
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

pub(super) fn parse_asset(
    f: &mut Fields<'_>,
    earlier: &HashSet<String>,
    registry: &PolicyRegistry,
) -> Result<AssetSpec> {
    let name = parse_name(f, "name")?;
    if earlier.contains(&name) {
        return Err(f.error("name", format!("duplicate asset name {name:?}")));
    }
    match f
        .opt_kind("kind", "asset kind")?
        .unwrap_or(AssetKind::Token)
    {
        AssetKind::Token => {}
        AssetKind::Resource => return parse_resource(f, name, registry),
        AssetKind::Game => return super::game::parse_game_asset(f, name),
    }
    let initial_supply = f.number_or("initial_supply", Range::NonNegative, 0.0)?;
    if to_base(initial_supply).is_none() {
        return Err(f.error("initial_supply", past_range(initial_supply, "token")));
    }
    let mut p = f.table("pricing")?;
    let kind_name = p.choice("kind", &registry.pricing_kinds())?;
    let kind = PricingKind::from_name(kind_name);
    let pricing = match kind {
        None => registry.mechanism(kind_name, &mut p)?,
        Some(PricingKind::BondingCurve) => {
            let curve = parse_curve(&mut p, registry)?;
            let fee = p.number_or("fee", Range::HalfOpen(0.0, 1.0), 0.0)?;
            PricingSpec::BondingCurve { curve, fee }
        }
        Some(PricingKind::OrderBook | PricingKind::CallAuction) => {
            let spec = BookSpec {
                tick_size: p.number_or("tick_size", Range::Positive, 0.01)?,
                lot_size: parse_lot(&mut p)?,
                initial_price: p.number("initial_price", Range::Positive)?,
            };
            check_base(&p, "tick_size", spec.tick_size, "money")?;
            if kind == Some(PricingKind::OrderBook) {
                PricingSpec::OrderBook(spec)
            } else {
                PricingSpec::CallAuction(spec)
            }
        }
        Some(PricingKind::Equilibrium) => {
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
        Some(PricingKind::PriceAdjustment) => {
            let (rule, initial_price) = parse_price_rule(&mut p)?;
            PricingSpec::PriceAdjustment(AdjustmentSpec {
                rule,
                initial_price,
                demand: parse_shape(&mut p, "demand")?,
                supply: parse_shape(&mut p, "supply")?,
                lot_size: parse_lot(&mut p)?,
            })
        }
        Some(PricingKind::PostedPrice) => {
            PricingSpec::PostedPrice(super::posted::parse_posted(&mut p)?)
        }
        Some(PricingKind::Amm) => {
            if initial_supply > 0.0 {
                return Err(f.error(
                    "initial_supply",
                    format!(
                        "an amm's tokens start in its pool: give them as pricing.reserve_token \
                         (found initial_supply = {initial_supply})"
                    ),
                ));
            }
            PricingSpec::Amm(super::amm::parse_amm(&mut p)?)
        }
    };
    p.finish()?;
    let mut pricing = pricing;
    if let Some(ordering) = f.opt_kind::<super::Ordering>("ordering", "ordering")? {
        match &mut pricing {
            PricingSpec::Amm(a) => a.ordering = ordering,
            other if ordering == super::Ordering::Mempool => {
                return Err(f.error(
                    "ordering",
                    format!(
                        "a mempool (ordering = \"mempool\") needs an amm asset (pricing.kind = \"amm\"), and {name:?} is priced by {}",
                        other.kind_name()
                    ),
                ))
            }
            _ => {}
        }
    }
    let schedule = parse_schedule(f, &name, &pricing)?;
    Ok(AssetSpec {
        name,
        initial_supply,
        pricing,
        schedule,
    })
}

kinds! {
    /// A price-adjustment `rule`.
    enum RuleForm {
        Linear = "linear",
        Proportional = "proportional",
        Logarithmic = "logarithmic",
    }
}

/// Reads a price-adjustment rule (`rule`, `lambda`, the bounds) and the
/// `initial_price` it starts from.
fn parse_price_rule(p: &mut Fields<'_>) -> Result<(PriceRule, f64)> {
    let form = p.kind("rule")?;
    let lambda = p.number("lambda", Range::Positive)?;
    let adjustment = match form {
        RuleForm::Linear => Adjustment::Linear { lambda },
        RuleForm::Proportional => Adjustment::Proportional { lambda },
        RuleForm::Logarithmic => Adjustment::Logarithmic { lambda },
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

kinds! {
    /// An asset's `kind` (a token by default).
    enum AssetKind {
        Token = "token",
        Resource = "resource",
        Game = "game",
    }
}

kinds! {
    /// A resource's `renewal` (renewing by default).
    enum Renewal {
        Renewing = "renewing",
        Stock = "stock",
    }
}

kinds! {
    /// A resource's `pricing.kind`.
    enum ResourcePricingKind {
        PriceAdjustment = "price_adjustment",
        Auction = "auction",
        Fixed = "fixed",
    }
}

fn parse_resource(
    f: &mut Fields<'_>,
    name: String,
    registry: &PolicyRegistry,
) -> Result<AssetSpec> {
    let capacity = f.number("capacity", Range::NonNegative)?;
    if to_base(capacity).is_none() {
        return Err(f.error("capacity", past_range(capacity, "token")));
    }
    let renewing = match f.opt_kind("renewal", "renewal")? {
        None | Some(Renewal::Renewing) => true,
        Some(Renewal::Stock) => false,
    };
    let decay = f.number_or("decay", Range::Unit, 0.0)?;
    let holding_cost = f.number_or("holding_cost", Range::NonNegative, 0.0)?;
    money_in_range(f, "holding_cost", holding_cost)?;
    let allocation_name = f.opt_string("allocation")?;
    let mut p = f.table("pricing")?;
    let kind: ResourcePricingKind = p.kind("kind")?;
    let pricing = match kind {
        ResourcePricingKind::PriceAdjustment => {
            let (rule, initial_price) = parse_price_rule(&mut p)?;
            ResourcePricing::Adjustment {
                rule,
                initial_price,
            }
        }
        ResourcePricingKind::Auction => {
            let reserve_price = p.number_or("reserve_price", Range::NonNegative, 0.0)?;
            money_in_range(&p, "reserve_price", reserve_price)?;
            ResourcePricing::Auction { reserve_price }
        }
        ResourcePricingKind::Fixed => ResourcePricing::Fixed {
            price: p.number("price", Range::NonNegative)?,
        },
    };
    p.finish()?;
    let is_auction = matches!(pricing, ResourcePricing::Auction { .. });
    let allocation = match allocation_name {
        None if is_auction => AllocationRule::Builtin(Rule::Auction),
        None => AllocationRule::Builtin(Rule::Proportional),
        Some(n) => registry.allocation(n).ok_or_else(|| {
            f.error(
                "allocation",
                format!(
                    "unknown allocation {n:?}; expected one of: {}",
                    registry.allocation_names().join(", ")
                ),
            )
        })?,
    };
    if is_auction != allocation.sets_price() {
        return Err(f.error(
            "allocation",
            format!(
                "allocation {:?} with pricing {:?}: the uniform-price auction both prices and allocates; use allocation = \"auction\" with pricing kind \"auction\", and only then",
                allocation.name(),
                kind.name()
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

kinds! {
    /// The pricing kinds of a token (`pricing.kind`); a resource is an
    /// asset of `kind = "resource"`, with its own pricing kinds.
    pub enum PricingKind {
        /// `bonding_curve` ([`PricingSpec::BondingCurve`]).
        BondingCurve = "bonding_curve",
        /// `order_book` ([`PricingSpec::OrderBook`]).
        OrderBook = "order_book",
        /// `call_auction` ([`PricingSpec::CallAuction`]).
        CallAuction = "call_auction",
        /// `equilibrium` ([`PricingSpec::Equilibrium`]).
        Equilibrium = "equilibrium",
        /// `price_adjustment` ([`PricingSpec::PriceAdjustment`]).
        PriceAdjustment = "price_adjustment",
        /// `posted_price` ([`PricingSpec::PostedPrice`]).
        PostedPrice = "posted_price",
        /// `amm` ([`PricingSpec::Amm`]).
        Amm = "amm",
    }
}

/// The pricing kinds an asset may name (the names of [`PricingKind`]).
pub const PRICING_KINDS: &[&str] = PricingKind::NAMES;

fn parse_lot(p: &mut Fields<'_>) -> Result<f64> {
    let lot = p.number_or("lot_size", Range::Positive, 1.0)?;
    check_base(p, "lot_size", lot, "token")?;
    Ok(lot)
}

kinds! {
    /// The `shape` of an exogenous demand or supply.
    enum ShapeKind {
        Linear = "linear",
        ConstantElasticity = "constant_elasticity",
    }
}

/// Reads an exogenous `demand` or `supply` table: `shape = "linear"` with
/// `a`, `b` (demand `a − b·P`) or `c`, `d` (supply `c + d·P`), or
/// `shape = "constant_elasticity"` with `scale` and `elasticity`
/// (demand `scale·P^−elasticity`, supply `scale·P^elasticity`).
fn parse_shape(p: &mut Fields<'_>, key: &'static str) -> Result<Option<Shape>> {
    let Some(mut t) = p.opt_table(key)? else {
        return Ok(None);
    };
    let shape = match t.kind("shape")? {
        ShapeKind::Linear => {
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
        ShapeKind::ConstantElasticity => {
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

kinds! {
    /// A bonding curve's `curve`; each name is the [`Curve::kind_name`] of
    /// the variant it reads (checked by a test).
    pub(super) enum CurveKind {
        Linear = "linear",
        Exponential = "exponential",
        Sigmoid = "sigmoid",
        Power = "power",
        Bancor = "bancor",
    }
}

fn parse_curve(p: &mut Fields<'_>, registry: &PolicyRegistry) -> Result<Curve> {
    let any = Range::Any;
    let name = p.choice("curve", &registry.curve_names())?;
    let Some(kind) = CurveKind::from_name(name) else {
        let curve = registry.curve(name, p)?;
        curve.validate().map_err(|e| curve_error(p, e))?;
        return Ok(curve);
    };
    let curve = match kind {
        CurveKind::Linear => Curve::Linear {
            m: p.number("m", any)?,
            b: p.number("b", any)?,
        },
        CurveKind::Exponential => Curve::Exponential {
            a: p.number("a", any)?,
            k: p.number("k", any)?,
        },
        CurveKind::Sigmoid => Curve::Sigmoid {
            K: p.number("K", any)?,
            k: p.number("k", any)?,
            s0: p.number("S0", any)?,
        },
        CurveKind::Power => Curve::Power {
            a: p.number("a", any)?,
            n: p.number("n", any)?,
        },
        CurveKind::Bancor => Curve::Bancor {
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

#[cfg(test)]
mod tests {
    //! Every name of every kind family reads as its own variant (see the
    //! tests of `agents`).

    use super::*;

    fn read<T>(text: &str, parse: impl FnOnce(&mut Fields<'_>) -> Result<T>) -> T {
        let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut f = Fields::new("test", "", &table);
        let out = parse(&mut f).unwrap_or_else(|e| panic!("{text}: {e}"));
        f.finish().unwrap_or_else(|e| panic!("{text}: {e}"));
        out
    }

    const RULE: &str = "rule = \"linear\", lambda = 0.1, initial_price = 1.0";

    #[test]
    fn every_pricing_kind_reads_as_its_own_variant() {
        for &kind in PricingKind::ALL {
            let sample = match kind {
                PricingKind::BondingCurve => "curve = \"linear\", m = 0.001, b = 1.0",
                PricingKind::OrderBook | PricingKind::CallAuction => "initial_price = 1.0",
                PricingKind::Equilibrium => "lot_size = 1.0",
                PricingKind::PriceAdjustment => RULE,
                PricingKind::PostedPrice => {
                    "demand = { shape = \"logit\", a = 2.0, mu = 0.25 }, prices = { m = 15, xi = 0.1 }"
                }
                PricingKind::Amm => {
                    "curve = \"constant_product\", reserve_money = 1000.0, reserve_token = 1000.0"
                }
            };
            let text = format!(
                "name = \"X\"\npricing = {{ kind = \"{}\", {sample} }}",
                kind.name()
            );
            let asset = read(&text, |f| {
                parse_asset(f, &HashSet::new(), &PolicyRegistry::new())
            });
            let read_kind = match asset.pricing {
                PricingSpec::BondingCurve { .. } => Some(PricingKind::BondingCurve),
                PricingSpec::OrderBook(_) => Some(PricingKind::OrderBook),
                PricingSpec::CallAuction(_) => Some(PricingKind::CallAuction),
                PricingSpec::Equilibrium(_) => Some(PricingKind::Equilibrium),
                PricingSpec::PriceAdjustment(_) => Some(PricingKind::PriceAdjustment),
                PricingSpec::PostedPrice(_) => Some(PricingKind::PostedPrice),
                PricingSpec::Amm(_) => Some(PricingKind::Amm),
                PricingSpec::Resource(_) | PricingSpec::Game(_) | PricingSpec::Custom(_) => None,
            };
            assert_eq!(read_kind, Some(kind), "{text}");
            assert_eq!(asset.pricing.kind_name(), kind.name());
        }
    }

    #[test]
    fn every_asset_kind_and_renewal_reads_as_its_own_variant() {
        for &kind in AssetKind::ALL {
            let text = match kind {
                AssetKind::Token => "kind = \"token\"\nname = \"X\"\npricing = { kind = \"order_book\", initial_price = 1.0 }",
                AssetKind::Resource => "kind = \"resource\"\nname = \"X\"\ncapacity = 1.0\npricing = { kind = \"fixed\", price = 1.0 }",
                AssetKind::Game => "kind = \"game\"\nname = \"X\"\npayoffs = [[1.0, 0.0], [0.0, 1.0]]",
            };
            let asset = read(text, |f| {
                parse_asset(f, &HashSet::new(), &PolicyRegistry::new())
            });
            let resource = matches!(asset.pricing, PricingSpec::Resource(_));
            assert_eq!(resource, kind == AssetKind::Resource, "{text}");
            let game = matches!(asset.pricing, PricingSpec::Game(_));
            assert_eq!(game, kind == AssetKind::Game, "{text}");
        }
        for &renewal in Renewal::ALL {
            let text = format!(
                "capacity = 10.0\nrenewal = \"{}\"\npricing = {{ kind = \"fixed\", price = 1.0 }}",
                renewal.name()
            );
            let asset = read(&text, |f| {
                parse_resource(f, "R".to_string(), &PolicyRegistry::new())
            });
            let PricingSpec::Resource(spec) = asset.pricing else {
                panic!("{text}: not a resource");
            };
            let read_renewal = if spec.renewing {
                Renewal::Renewing
            } else {
                Renewal::Stock
            };
            assert_eq!(read_renewal, renewal, "{text}");
        }
    }

    #[test]
    fn every_curve_reads_as_its_own_variant() {
        for &kind in CurveKind::ALL {
            let sample = match kind {
                CurveKind::Linear => "m = 0.001, b = 1.0",
                CurveKind::Exponential => "a = 1.0, k = 0.0002",
                CurveKind::Sigmoid => "K = 50.0, k = 0.002, S0 = 2000.0",
                CurveKind::Power => "a = 0.01, n = 1.5",
                CurveKind::Bancor => "reserve_ratio = 0.5, p0 = 1.0, s0 = 1000.0",
            };
            let text = format!(
                "curve = \"{}\"\n{}",
                kind.name(),
                sample.replace(", ", "\n")
            );
            let curve = read(&text, |p| parse_curve(p, &PolicyRegistry::new()));
            assert_eq!(curve.kind_name(), kind.name(), "{text}");
        }
    }

    #[test]
    fn every_price_rule_reads_as_its_own_variant() {
        for &form in RuleForm::ALL {
            let text = format!(
                "rule = \"{}\"\nlambda = 0.1\ninitial_price = 1.0",
                form.name()
            );
            let (rule, _) = read(&text, parse_price_rule);
            let read_form = match rule.adjustment {
                Adjustment::Linear { .. } => RuleForm::Linear,
                Adjustment::Proportional { .. } => RuleForm::Proportional,
                Adjustment::Logarithmic { .. } => RuleForm::Logarithmic,
            };
            assert_eq!(read_form, form, "{text}");
        }
    }

    #[test]
    fn every_resource_pricing_reads_as_its_own_variant() {
        for &kind in ResourcePricingKind::ALL {
            let sample = match kind {
                ResourcePricingKind::PriceAdjustment => RULE,
                ResourcePricingKind::Auction => "reserve_price = 0.5",
                ResourcePricingKind::Fixed => "price = 2.0",
            };
            let text = format!(
                "capacity = 10.0\npricing = {{ kind = \"{}\", {sample} }}",
                kind.name()
            );
            let asset = read(&text, |f| {
                parse_resource(f, "R".to_string(), &PolicyRegistry::new())
            });
            let PricingSpec::Resource(spec) = asset.pricing else {
                panic!("{text}: not a resource");
            };
            let read_kind = match spec.pricing {
                ResourcePricing::Adjustment { .. } => ResourcePricingKind::PriceAdjustment,
                ResourcePricing::Auction { .. } => ResourcePricingKind::Auction,
                ResourcePricing::Fixed { .. } => ResourcePricingKind::Fixed,
            };
            assert_eq!(read_kind, kind, "{text}");
        }
    }

    #[test]
    fn every_shape_reads_as_its_own_variant() {
        for &kind in ShapeKind::ALL {
            let sample = match kind {
                ShapeKind::Linear => "a = 10.0, b = 1.0",
                ShapeKind::ConstantElasticity => "scale = 10.0, elasticity = 0.5",
            };
            let text = format!("demand = {{ shape = \"{}\", {sample} }}", kind.name());
            let shape = read(&text, |p| parse_shape(p, "demand")).expect("a shape");
            let read_kind = match shape {
                Shape::Linear { .. } => ShapeKind::Linear,
                Shape::ConstantElasticity { .. } => ShapeKind::ConstantElasticity,
            };
            assert_eq!(read_kind, kind, "{text}");
        }
    }
}
