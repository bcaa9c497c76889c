//! The kinds a scenario may name beyond the built-in ones: policies and
//! summary metrics.

use super::{Fields, PolicyKind};
use crate::agents::{AdaptivePolicy, GroupPolicy, Policy};
use crate::error::{Error, Result};
use crate::metrics::{Metric, MetricFactory};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Builds a group's policy (stateless or adaptive) from its table.
pub(super) type GroupFactory =
    Arc<dyn Fn(&mut Fields<'_>, &[String]) -> Result<GroupPolicy> + Send + Sync>;

/// Builds a user policy from its table (`kind` already read), given the
/// scenario's asset names.
pub type PolicyFactory =
    Arc<dyn Fn(&mut Fields<'_>, &[String]) -> Result<Arc<dyn Policy>> + Send + Sync>;

/// The policy kinds a scenario may name beyond the built-in ones, and the
/// summary metrics (`[[metrics]]`) it may name.
#[derive(Clone, Default)]
pub struct PolicyRegistry {
    pub(super) custom: BTreeMap<String, GroupFactory>,
    /// User curves, mechanisms and allocation rules (`extend.rs`).
    pub(super) extensions: super::Extensions,
    pub(super) metrics: BTreeMap<String, MetricFactory>,
}

impl fmt::Debug for PolicyRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.custom.keys())
            .entries(self.metrics.keys())
            .finish()
    }
}

/// The built-in policy kinds (the names of [`PolicyKind`]).
pub const BUILTIN_POLICIES: &[&str] = PolicyKind::NAMES;

impl PolicyRegistry {
    /// A registry with only the built-in policies.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a policy kind. The factory reads the policy's fields with
    /// [`Fields`] (so that its errors name the field) and must read every
    /// field it accepts: unread fields are rejected as unknown.
    ///
    /// Returns an error if `kind` is a built-in kind or already registered.
    pub fn register<F>(&mut self, kind: &str, factory: F) -> Result<()>
    where
        F: Fn(&mut Fields<'_>, &[String]) -> Result<Arc<dyn Policy>> + Send + Sync + 'static,
    {
        self.insert(
            kind,
            Arc::new(move |f: &mut Fields<'_>, assets: &[String]| {
                Ok(GroupPolicy::Custom(factory(f, assets)?))
            }),
        )
    }

    /// Registers an adaptive policy kind ([`AdaptivePolicy`]: per-agent
    /// state, several actions per step, a learning phase), as
    /// [`register`](Self::register) does a stateless one.
    ///
    /// Returns an error if `kind` is a built-in kind or already registered.
    pub fn register_adaptive<P, F>(&mut self, kind: &str, factory: F) -> Result<()>
    where
        P: AdaptivePolicy,
        F: Fn(&mut Fields<'_>, &[String]) -> Result<P> + Send + Sync + 'static,
    {
        self.insert(
            kind,
            Arc::new(move |f: &mut Fields<'_>, assets: &[String]| {
                Ok(GroupPolicy::adaptive(factory(f, assets)?))
            }),
        )
    }

    fn insert(&mut self, kind: &str, factory: GroupFactory) -> Result<()> {
        if BUILTIN_POLICIES.contains(&kind) || self.custom.contains_key(kind) {
            return Err(Error::usage(format!(
                "policy kind {kind:?} is already defined"
            )));
        }
        self.custom.insert(kind.to_string(), factory);
        Ok(())
    }

    /// Registers a summary metric kind that `[[metrics]]` entries may
    /// name (see [`Metric`]). The factory reads the metric's fields with
    /// [`Fields`] and must read every field it accepts.
    ///
    /// Returns an error if `kind` is already registered.
    pub fn register_metric<F>(&mut self, kind: &str, factory: F) -> Result<()>
    where
        F: Fn(&mut Fields<'_>, &[String]) -> Result<Box<dyn Metric>> + Send + Sync + 'static,
    {
        if self.metrics.contains_key(kind) {
            return Err(Error::usage(format!(
                "metric kind {kind:?} is already defined"
            )));
        }
        self.metrics.insert(kind.to_string(), Arc::new(factory));
        Ok(())
    }

    pub(super) fn kinds(&self) -> Vec<&str> {
        BUILTIN_POLICIES
            .iter()
            .copied()
            .chain(self.custom.keys().map(String::as_str))
            .collect()
    }
}
