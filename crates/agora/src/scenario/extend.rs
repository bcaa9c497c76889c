//! User curves, price mechanisms and allocation rules, registered by name
//! beside the user policies, so that scenario files can use them:
//!
//! - `pricing = { kind = "bonding_curve", curve = "my_curve", … }` — a
//!   [`BondingCurve`] ([`Registry::register_curve`]);
//! - `pricing = { kind = "my_mechanism", … }` — a [`Mechanism`]
//!   ([`Registry::register_mechanism`]);
//! - a resource's `allocation = "my_rule"` — an [`Allocation`]
//!   ([`Registry::register_allocation`]).
//!
//! Each factory reads the fields it accepts with [`Fields`] (so that its
//! errors name the field), and every field it does not read is rejected as
//! unknown, as for the built-in kinds.

use super::{Fields, PolicyRegistry, PricingSpec, PRICING_KINDS};
use crate::error::{Error, Result};
use crate::market::mechanism::Mechanism;
use crate::pricing::curve::UserCurve;
use crate::pricing::{BondingCurve, Curve};
use crate::resource::alloc::{Allocation, AllocationRule, Rule};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The registry of everything a scenario may name beyond the built-in
/// kinds: policies ([`register`](PolicyRegistry::register)), bonding
/// curves, price mechanisms and allocation rules.
pub type Registry = PolicyRegistry;

/// The built-in curve names.
const BUILTIN_CURVES: &[&str] = super::assets::CurveKind::NAMES;

/// Builds a user curve from its pricing table (`kind` and `curve` read).
type CurveFactory = Arc<dyn Fn(&mut Fields<'_>) -> Result<Curve> + Send + Sync>;

/// Builds a user mechanism's spec from its pricing table (`kind` read).
type MechanismFactory = Arc<dyn Fn(&mut Fields<'_>) -> Result<CustomPricing> + Send + Sync>;

/// What a registry holds beside the policies.
#[derive(Clone, Default)]
pub(super) struct Extensions {
    curves: BTreeMap<String, CurveFactory>,
    mechanisms: BTreeMap<String, MechanismFactory>,
    allocations: BTreeMap<String, Arc<dyn Allocation>>,
}

/// A user mechanism in a scenario: its kind, and a fresh mechanism for each
/// run (a copy of the one its factory built from the scenario's fields).
#[derive(Clone)]
pub struct CustomPricing {
    kind: String,
    make: Arc<dyn Fn() -> Box<dyn Mechanism> + Send + Sync>,
}

impl CustomPricing {
    /// The kind, as the scenario names it.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// A fresh mechanism, before any step.
    pub fn make(&self) -> Box<dyn Mechanism> {
        (self.make)()
    }
}

impl fmt::Debug for CustomPricing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomPricing")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Equal when they are the same object (a scenario and its copies share
/// it).
impl PartialEq for CustomPricing {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && Arc::ptr_eq(&self.make, &other.make)
    }
}

fn taken(what: &str, name: &str) -> Error {
    Error::usage(format!("{what} {name:?} is already defined"))
}

impl PolicyRegistry {
    /// Registers a bonding curve under `name`, for
    /// `pricing = { kind = "bonding_curve", curve = "<name>", … }`. The
    /// factory reads the curve's parameters from the pricing table (`fee`
    /// is read by the engine). The curve is settled by the same exact
    /// integer rules as the built-in ones: the reserve is `⌈F(S)·10⁹⌉`
    /// base units, rounded in its favour, so it always covers selling the
    /// whole supply back.
    ///
    /// Returns an error if `name` is a built-in curve or already
    /// registered.
    pub fn register_curve<C, F>(&mut self, name: &str, factory: F) -> Result<()>
    where
        C: BondingCurve + 'static,
        F: Fn(&mut Fields<'_>) -> Result<C> + Send + Sync + 'static,
    {
        if BUILTIN_CURVES.contains(&name) || self.extensions.curves.contains_key(name) {
            return Err(taken("curve", name));
        }
        let owned = name.to_string();
        let make: CurveFactory = Arc::new(move |f: &mut Fields<'_>| {
            let curve = factory(f)?;
            Ok(Curve::Custom(Arc::new(UserCurve::new(
                &owned,
                Box::new(curve),
            ))))
        });
        self.extensions.curves.insert(name.to_string(), make);
        Ok(())
    }

    /// Registers a price mechanism under `kind`, for
    /// `pricing = { kind = "<kind>", … }`. The factory reads the
    /// mechanism's fields from the pricing table and returns it before any
    /// step; each run starts from a copy of it.
    ///
    /// Returns an error if `kind` is a built-in pricing kind or already
    /// registered.
    pub fn register_mechanism<M, F>(&mut self, kind: &str, factory: F) -> Result<()>
    where
        M: Mechanism + Clone + Sync + 'static,
        F: Fn(&mut Fields<'_>) -> Result<M> + Send + Sync + 'static,
    {
        if PRICING_KINDS.contains(&kind) || self.extensions.mechanisms.contains_key(kind) {
            return Err(taken("pricing kind", kind));
        }
        let owned = kind.to_string();
        let make: MechanismFactory = Arc::new(move |f: &mut Fields<'_>| {
            let prototype = factory(f)?;
            Ok(CustomPricing {
                kind: owned.clone(),
                make: Arc::new(move || Box::new(prototype.clone()) as Box<dyn Mechanism>),
            })
        });
        self.extensions.mechanisms.insert(kind.to_string(), make);
        Ok(())
    }

    /// Registers an allocation rule under its [`name`](Allocation::name),
    /// for a resource's `allocation = "<name>"`. A rule that sets the price
    /// ([`Allocation::sets_price`]) goes with resource pricing
    /// `kind = "auction"`, as the built-in auction does.
    ///
    /// Returns an error if the name is a built-in rule or already
    /// registered.
    pub fn register_allocation<A: Allocation + 'static>(&mut self, rule: A) -> Result<()> {
        let name = rule.name().to_string();
        if Rule::from_name(&name).is_some() || self.extensions.allocations.contains_key(&name) {
            return Err(taken("allocation", &name));
        }
        self.extensions.allocations.insert(name, Arc::new(rule));
        Ok(())
    }

    /// The pricing kinds an asset may name: the built-in ones, then the
    /// registered mechanisms.
    pub(super) fn pricing_kinds(&self) -> Vec<&str> {
        let custom = self.extensions.mechanisms.keys().map(String::as_str);
        PRICING_KINDS.iter().copied().chain(custom).collect()
    }

    /// The curve names a bonding curve may name.
    pub(super) fn curve_names(&self) -> Vec<&str> {
        let custom = self.extensions.curves.keys().map(String::as_str);
        BUILTIN_CURVES.iter().copied().chain(custom).collect()
    }

    /// The allocation rules a resource may name.
    pub(super) fn allocation_names(&self) -> Vec<&str> {
        let custom = self.extensions.allocations.keys().map(String::as_str);
        Rule::ALL.iter().map(|r| r.name()).chain(custom).collect()
    }

    /// The user curve `name`, built from the pricing table `p`.
    pub(super) fn curve(&self, name: &str, p: &mut Fields<'_>) -> Result<Curve> {
        match self.extensions.curves.get(name) {
            Some(factory) => factory(p),
            None => Err(p.error("curve", format!("unknown curve {name:?}"))),
        }
    }

    /// The user mechanism `kind`, built from the pricing table `p`.
    pub(super) fn mechanism(&self, kind: &str, p: &mut Fields<'_>) -> Result<PricingSpec> {
        match self.extensions.mechanisms.get(kind) {
            Some(factory) => Ok(PricingSpec::Custom(factory(p)?)),
            None => Err(p.error("kind", format!("unknown pricing kind {kind:?}"))),
        }
    }

    /// The allocation rule `name`, built-in or registered.
    pub(super) fn allocation(&self, name: &str) -> Option<AllocationRule> {
        if let Some(rule) = Rule::from_name(name) {
            return Some(AllocationRule::Builtin(rule));
        }
        let rule = self.extensions.allocations.get(name)?;
        Some(AllocationRule::Custom(Arc::clone(rule)))
    }
}
