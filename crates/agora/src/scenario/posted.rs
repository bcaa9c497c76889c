//! Posted-price markets in a scenario: the `pricing` table of a
//! `posted_price` asset, and the market each becomes once the agents are
//! read — its sellers (the agents of the groups whose policy trades it),
//! their costs (each group's `cost`), the benchmarks, the grid and the
//! Q-learning sellers' tables.
//!
//! ```toml
//! [[assets]]
//! name = "GOOD"
//! pricing = { kind = "posted_price", demand = { shape = "logit", a = 2.0, a0 = 0.0, mu = 0.25 }, prices = { m = 15, xi = 0.1 } }
//!
//! [[agents]]
//! group = "firms"
//! count = 2
//! balance = 0.0
//! cost = 1.0
//! policy = { kind = "q_learning", asset = "GOOD", alpha = 0.15, delta = 0.95, beta = 4e-6 }
//! ```

use std::sync::Arc;

use super::fields::{describe, money_in_range};
use super::{kinds, AssetSpec, Fields, GroupSpec, PricingSpec, Range};
use crate::agents::attackers::{AttackerPolicy, CartelPolicy};
use crate::agents::collusion::PostedCartel;
use crate::agents::{BuiltinPolicy, GroupPolicy, QSellerSpec};
use crate::error::{Error, Result};
use crate::market::posted::{GridSpec, PostedMarket};
use crate::market::posted_market::{table_entries, PostedSetup, MAX_TABLE};

/// The quality index `a_i` of the sellers' goods.
#[derive(Debug, Clone, PartialEq)]
pub enum Quality {
    /// The same for every seller (`a = 2.0`).
    Same(f64),
    /// One per seller, in seller order (`a = [2.0, 2.2]`).
    PerSeller(Vec<f64>),
}

/// Logit demand: `q_i = size · exp((a_i − p_i)/μ) / (Σ_j exp((a_j − p_j)/μ)
/// + exp(a0/μ))`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogitDemand {
    /// The goods' qualities `a_i`.
    pub a: Quality,
    /// The outside good's quality `a0`.
    pub a0: f64,
    /// Horizontal differentiation `μ > 0`.
    pub mu: f64,
    /// The number of buyers (1 by default).
    pub size: f64,
}

/// A posted-price market (`pricing.kind = "posted_price"`).
#[derive(Debug, Clone, PartialEq)]
pub struct PostedSpec {
    /// The exogenous buyers.
    pub demand: LogitDemand,
    /// The grid the sellers post from.
    pub prices: GridSpec,
}

kinds! {
    /// A posted-price market's `demand.shape`.
    enum DemandShape {
        Logit = "logit",
    }
}

/// Reads the fields of a `posted_price` pricing table (`kind` read).
pub(super) fn parse_posted(p: &mut Fields<'_>) -> Result<PostedSpec> {
    let mut d = p.table("demand")?;
    let DemandShape::Logit = d.kind("shape")?;
    let a = match d.raw("a") {
        Some(toml::Value::Array(_)) => {
            let list = d.opt_numbers("a", Range::Any)?.unwrap_or_default();
            if list.is_empty() {
                return Err(d.error("a", "expected one quality per seller, found an empty list"));
            }
            Quality::PerSeller(list)
        }
        _ => Quality::Same(d.number("a", Range::Any)?),
    };
    let demand = LogitDemand {
        a,
        a0: d.number_or("a0", Range::Any, 0.0)?,
        mu: d.number("mu", Range::Positive)?,
        size: d.number_or("size", Range::Positive, 1.0)?,
    };
    d.finish()?;
    let prices = match p.raw("prices") {
        Some(toml::Value::Array(_)) => {
            let list = p
                .opt_numbers("prices", Range::NonNegative)?
                .unwrap_or_default();
            if list.is_empty() {
                return Err(p.error(
                    "prices",
                    "the price grid is empty; expected at least one price",
                ));
            }
            for (i, &x) in list.iter().enumerate() {
                money_in_range(p, &format!("prices[{i}]"), x)?;
            }
            GridSpec::List(list)
        }
        Some(toml::Value::Table(_)) => {
            let mut g = p.table("prices")?;
            let spec = GridSpec::Span {
                m: g.whole("m", 2, MAX_TABLE as u64)? as usize,
                xi: g.number("xi", Range::NonNegative)?,
            };
            g.finish()?;
            spec
        }
        Some(other) => {
            return Err(p.error(
                "prices",
                format!(
                    "expected a table {{ m = 15, xi = 0.1 }} or a list of prices, found {}",
                    describe(other)
                ),
            ))
        }
        None => {
            return Err(p.error(
                "prices",
                "missing field; expected a table { m = 15, xi = 0.1 } or a list of prices",
            ))
        }
    };
    Ok(PostedSpec { demand, prices })
}

/// The posted-price cartel (or `best_response` sellers) of asset `j` a
/// group's policy is, if it is one.
fn posted_cartel(policy: &mut GroupPolicy, j: usize) -> Option<&mut PostedCartel> {
    match policy {
        GroupPolicy::Builtin(BuiltinPolicy::Attacker(AttackerPolicy::Cartel(
            CartelPolicy::Posted(c),
        )))
        | GroupPolicy::Builtin(BuiltinPolicy::BestResponse(c))
            if c.asset == j =>
        {
            Some(c)
        }
        _ => None,
    }
}

/// Builds the market of every `posted_price` asset from the groups that
/// sell it, and gives each Q-learning seller group (`learners[g]`) its
/// policy and each `cartel` or `best_response` group its market. Checks every group's `cost`: required of a seller, refused
/// elsewhere. Returns each asset's market (`None` for other assets).
pub(super) fn resolve(
    origin: &str,
    assets: &[AssetSpec],
    groups: &mut [GroupSpec],
    learners: &[Option<QSellerSpec>],
) -> Result<Vec<Option<Arc<PostedSetup>>>> {
    let err = |path: String, message: String| Error::scenario(origin, path, message);
    let mut starts = Vec::with_capacity(groups.len());
    let mut next: u32 = 0;
    for g in groups.iter() {
        starts.push(next);
        next += g.count;
    }
    let trades: Vec<Vec<usize>> = groups.iter().map(|g| g.policy.assets()).collect();
    let mut setups = vec![None; assets.len()];
    for (j, asset) in assets.iter().enumerate() {
        let PricingSpec::PostedPrice(spec) = &asset.pricing else {
            continue;
        };
        let at = |field: &str| format!("assets.{}.pricing.{field}", asset.name);
        let sellers: Vec<usize> = (0..groups.len())
            .filter(|&g| trades[g].contains(&j))
            .collect();
        if sellers.is_empty() {
            return Err(err(
                format!("assets.{}.pricing", asset.name),
                format!(
                    "a posted_price market needs sellers, and no group's policy trades {:?}",
                    asset.name
                ),
            ));
        }
        let mut seller_costs = Vec::with_capacity(sellers.len());
        for &g in &sellers {
            let group = &groups[g];
            let cost = group.cost.ok_or_else(|| {
                err(
                    format!("agents.{}.cost", group.name),
                    format!(
                        "missing field; a posted-price seller (the group's policy trades {:?}) \
                         needs its marginal cost, a number >= 0",
                        asset.name
                    ),
                )
            })?;
            seller_costs.push(cost);
        }
        // The sellers, counted before any per-seller vector is built: the
        // table bound refuses a count no market could tabulate before a
        // vector of that many qualities, agents or costs is allocated.
        let n = sellers
            .iter()
            .map(|&g| groups[g].count as usize)
            .fold(0usize, usize::saturating_add);
        let m = match &spec.prices {
            GridSpec::Span { m, .. } => *m,
            GridSpec::List(list) => list.len(),
        };
        table_entries(m, n).map_err(|e| err(at("prices"), e.to_string()))?;
        let a = match &spec.demand.a {
            Quality::Same(a) => vec![*a; n],
            Quality::PerSeller(a) if a.len() == n => a.clone(),
            Quality::PerSeller(a) => {
                let names: Vec<&str> = sellers.iter().map(|&g| groups[g].name.as_str()).collect();
                return Err(err(
                    at("demand.a"),
                    format!(
                        "expected one quality per seller: {n} sellers (the agents of {}), found {}",
                        names.join(", "),
                        a.len()
                    ),
                ));
            }
        };
        let mut agents = Vec::with_capacity(n);
        let mut costs = Vec::with_capacity(n);
        for (&g, &cost) in sellers.iter().zip(&seller_costs) {
            let count = groups[g].count;
            agents.extend(starts[g]..starts[g] + count);
            costs.extend(std::iter::repeat_n(cost, count as usize));
        }
        let d = &spec.demand;
        let market = PostedMarket::new(a, costs, d.a0, d.mu, d.size)
            .and_then(|market| market.nash().and(market.monopoly()).map(|_| market))
            .map_err(|e| err(at("demand"), e.to_string()))?;
        let setup = Arc::new(
            PostedSetup::new(market, &spec.prices, agents)
                .map_err(|e| err(at("prices"), e.to_string()))?,
        );
        let mut first = 0;
        for &g in &sellers {
            let count = groups[g].count as usize;
            if let Some(cartel) = posted_cartel(&mut groups[g].policy, j) {
                cartel.bind(Arc::clone(&setup), first, count);
            }
            if let Some(q) = learners.get(g).copied().flatten().filter(|q| q.asset == j) {
                groups[g].policy =
                    super::learners_posted::build(q, Arc::clone(&setup), first, count).map_err(
                        |e| err(format!("agents.{}.policy", groups[g].name), e.to_string()),
                    )?;
            }
            first += count;
        }
        setups[j] = Some(setup);
    }
    for (g, group) in groups.iter().enumerate() {
        let sells = trades[g].iter().any(|&j| {
            matches!(
                assets.get(j).map(|a| &a.pricing),
                Some(PricingSpec::PostedPrice(_))
            )
        });
        if group.cost.is_some() && !sells {
            return Err(err(
                format!("agents.{}.cost", group.name),
                "only a posted-price seller has a cost, and the group's policy trades no \
                 posted_price asset"
                    .into(),
            ));
        }
    }
    Ok(setups)
}
