//! Summary metrics a scenario asks for (`[[metrics]]`), of the kinds
//! registered with [`PolicyRegistry::register_metric`].

use super::events::raw_entry;
use super::fields::{name_list, parse_name};
use super::{Fields, PolicyRegistry};
use crate::error::Result;
use crate::metrics::{Metric, MetricFactory};
use std::collections::HashSet;
use std::fmt;

/// One `[[metrics]]` entry: a registered metric kind with its fields.
#[derive(Clone)]
pub struct MetricSpec {
    /// The name the value has in the summary, `metrics.<name>` (the kind
    /// when not given).
    pub name: String,
    /// The registered kind.
    pub kind: String,
    /// The dotted path of the entry, for errors (`metrics.NAME`).
    path: String,
    /// The entry as written, read again by the factory for each run.
    table: toml::Table,
    factory: MetricFactory,
}

impl fmt::Debug for MetricSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl PartialEq for MetricSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.kind == other.kind && self.table == other.table
    }
}

impl MetricSpec {
    /// A fresh metric for one run (`origin` names the scenario in errors).
    pub fn build(&self, origin: &str, assets: &[String]) -> Result<Box<dyn Metric>> {
        let mut f = Fields::new(origin, self.path.clone(), &self.table);
        f.string("kind")?;
        f.opt_string("name")?;
        (self.factory)(&mut f, assets)
    }
}

/// Reads the `[[metrics]]` entries: each names a registered kind, has a
/// unique name, and is checked by building it once.
pub(super) fn parse_metrics(
    root: &mut Fields<'_>,
    table: &toml::Table,
    assets: &[String],
    registry: &PolicyRegistry,
) -> Result<Vec<MetricSpec>> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, mut f) in root
        .tables("metrics", Some("name"))?
        .into_iter()
        .enumerate()
    {
        let kind = f.string("kind")?.to_string();
        let Some(factory) = registry.metrics.get(&kind) else {
            let known: Vec<String> = registry.metrics.keys().cloned().collect();
            let expected = if known.is_empty() {
                "a metric kind registered with PolicyRegistry::register_metric, and none is"
                    .to_string()
            } else {
                format!("one of the registered metric kinds: {}", name_list(&known))
            };
            return Err(f.error(
                "kind",
                format!("unknown metric kind {kind:?}; expected {expected}"),
            ));
        };
        let name = if f.has("name") {
            parse_name(&mut f, "name")?
        } else {
            kind.clone()
        };
        if !names.insert(name.clone()) {
            return Err(f.error(
                "name",
                format!(
                    "a second metric called {name:?}; give each `[[metrics]]` entry its own `name`"
                ),
            ));
        }
        factory(&mut f, assets)?;
        let path = f.path().to_string();
        f.finish()?;
        out.push(MetricSpec {
            name,
            kind,
            path,
            table: raw_entry(table, "metrics", i).cloned().unwrap_or_default(),
            factory: factory.clone(),
        });
    }
    Ok(out)
}
