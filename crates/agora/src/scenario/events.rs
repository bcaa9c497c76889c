//! Events (`[[events]]`) and parameter schedules (`schedule` of an asset):
//! what changes the economy from outside during a run.

use super::fields::name_list;
use super::{describe, kinds, AssetSpec, Fields, Kind, PricingSpec, Range};
use crate::error::Result;
use crate::pricing::Curve;
use std::collections::HashMap;

/// A scheduled change of a pricing parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledChange {
    /// The parameter, as named in the `pricing` table (e.g. `m`).
    pub param: String,
    /// When and how it changes.
    pub change: Change,
}

/// How a scheduled parameter changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Set to `value` at the start of step `at`.
    Step {
        /// The step (≥ 1).
        at: u64,
        /// The new value.
        value: f64,
    },
    /// Move linearly from its value at the start of step `from` to `value`
    /// at step `to`, one equal increment per step.
    Ramp {
        /// First step of the ramp (≥ 1); the parameter is unchanged at it.
        from: u64,
        /// Step at which the ramp reaches `value` (> `from`).
        to: u64,
        /// The final value.
        value: f64,
    },
}

/// One `[[events]]` entry: something the engine does to the economy at the
/// start of a step (in the external phase).
#[derive(Debug, Clone, PartialEq)]
pub struct EventSpec {
    /// The step at whose start the event happens (≥ 1).
    pub at: u64,
    /// What happens.
    pub kind: EventKind,
}

/// What a scheduled event does.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// `dump`: every agent of the group sells `floor(share × holdings)` of
    /// the asset to its curve, one by one in a seeded order (a whale dump).
    Dump {
        /// Index of the group.
        group: usize,
        /// Index of the asset.
        asset: usize,
        /// Share of each agent's holdings sold, in `[0, 1]`.
        share: f64,
    },
    /// `join`: the group's agents hold (decide nothing) before this step and
    /// act from it on.
    Join {
        /// Index of the group.
        group: usize,
    },
    /// `leave`: the group's agents stop acting from this step on; with
    /// `sell_all`, they first sell all their holdings of every asset.
    Leave {
        /// Index of the group.
        group: usize,
        /// Sell every holding at this step (a dump of share 1 of each asset).
        sell_all: bool,
    },
    /// `outage`: a share of a resource's capacity (or stock deliveries) is
    /// unavailable for `duration` steps from `at` (a capacity shock).
    Outage {
        /// Index of the resource.
        asset: usize,
        /// Share of the capacity lost, in `[0, 1]`.
        share: f64,
        /// Steps it lasts (≥ 1).
        duration: u64,
    },
    /// `parameter`: a pricing parameter jumps to `value`, exactly like a
    /// schedule step change (a raised curve's reserve is topped up).
    Parameter {
        /// Index of the asset.
        asset: usize,
        /// The parameter, as named in the `pricing` table.
        param: String,
        /// The new value.
        value: f64,
    },
    /// `deviation`: in the evaluation phase, at its step `at` (1 is the
    /// phase's first step), seller `seller` of a posted-price market posts
    /// its static best response to the others' last prices on the grid for
    /// that one step instead of its policy's price; the sellers' prices
    /// from 5 steps before to `window` steps after are written to
    /// `deviation.csv` (the impulse response), and the evaluation phase's
    /// means stop before it.
    Deviation {
        /// Index of the posted-price asset.
        asset: usize,
        /// The seller, from 0, in agent order.
        seller: usize,
        /// Steps recorded after the deviation.
        window: u64,
    },
}

kinds! {
    /// The kinds of event (`events[i].kind`), without their fields.
    pub enum EventType {
        /// `dump` ([`EventKind::Dump`]).
        Dump = "dump",
        /// `join` ([`EventKind::Join`]).
        Join = "join",
        /// `leave` ([`EventKind::Leave`]).
        Leave = "leave",
        /// `parameter` ([`EventKind::Parameter`]).
        Parameter = "parameter",
        /// `outage` ([`EventKind::Outage`]).
        Outage = "outage",
        /// `deviation` ([`EventKind::Deviation`]).
        Deviation = "deviation",
    }
}

impl EventKind {
    /// The event's kind without its fields.
    pub fn event_type(&self) -> EventType {
        match self {
            EventKind::Dump { .. } => EventType::Dump,
            EventKind::Join { .. } => EventType::Join,
            EventKind::Leave { .. } => EventType::Leave,
            EventKind::Parameter { .. } => EventType::Parameter,
            EventKind::Outage { .. } => EventType::Outage,
            EventKind::Deviation { .. } => EventType::Deviation,
        }
    }

    /// Whether the event's `at` counts steps of the evaluation phase (a
    /// deviation) rather than of the run.
    pub fn in_evaluation(&self) -> bool {
        matches!(self, EventKind::Deviation { .. })
    }

    /// The kind's name as written in a scenario.
    pub fn name(&self) -> &'static str {
        self.event_type().name()
    }
}

/// Checks that `param` names a parameter of `curve`, then reads the new
/// `value` and checks that the curve stays valid with it (on its own; see
/// [`check_parameter_sequence`] for the changes together).
fn parse_curve_change(f: &mut Fields<'_>, curve: &Curve, param: &str) -> Result<f64> {
    if curve.param(param).is_none() {
        return Err(f.error(
            "param",
            format!(
                "unknown parameter {param:?} of the {} curve; expected one of: {}",
                curve.kind_name(),
                curve.param_names().join(", ")
            ),
        ));
    }
    let value = f.number("value", Range::Any)?;
    let mut probe = curve.clone();
    if let Err(e) = probe.set_param(param, value) {
        return Err(f.error("value", e.to_string()));
    }
    Ok(value)
}

/// Reads an asset's `schedule` (parameter changes of its curve).
pub(super) fn parse_schedule(
    f: &mut Fields<'_>,
    name: &str,
    pricing: &PricingSpec,
) -> Result<Vec<ScheduledChange>> {
    let mut schedule = Vec::new();
    for mut s in f.tables("schedule", None)? {
        let param = s.string("param")?;
        let Some(curve) = pricing.curve() else {
            return Err(s.error(
                "param",
                format!("parameter schedules apply to bonding curves only, and {name:?} is priced by {}", pricing.kind_name()),
            ));
        };
        let value = parse_curve_change(&mut s, curve, param)?;
        let change = if s.has("at") {
            Change::Step {
                at: s.whole("at", 1, u64::MAX)?,
                value,
            }
        } else if s.has("from") || s.has("to") {
            let from = s.whole("from", 1, u64::MAX)?;
            let to = s.whole("to", from + 1, u64::MAX)?;
            Change::Ramp { from, to, value }
        } else {
            return Err(s.error(
                "",
                "expected either `at` (a step change) or `from` and `to` (a ramp)",
            ));
        };
        s.finish()?;
        schedule.push(ScheduledChange {
            param: param.to_string(),
            change,
        });
    }
    Ok(schedule)
}

/// Entry `i` of the array of tables `key` (or the single table written in
/// its place), for the fields [`Fields`] has no getter for (booleans).
pub(super) fn raw_entry<'t>(
    table: &'t toml::Table,
    key: &str,
    i: usize,
) -> Option<&'t toml::Table> {
    match table.get(key)? {
        toml::Value::Table(t) if i == 0 => Some(t),
        toml::Value::Array(items) => items.get(i)?.as_table(),
        _ => None,
    }
}

/// What a deviation event is checked against: each asset's posted-price
/// market and the length of the evaluation phase.
pub(super) struct Posted<'a> {
    pub(super) setups: &'a [Option<std::sync::Arc<crate::market::posted_market::PostedSetup>>],
    pub(super) evaluation_steps: u64,
}

/// The scenario's group names, in file order and by name.
pub(super) struct Names<'a> {
    pub(super) list: &'a [String],
    pub(super) index: &'a HashMap<String, usize>,
}

/// A group's `join` and `leave` events so far: (index in `events`, step).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Membership {
    pub(super) join: Option<(usize, u64)>,
    pub(super) leave: Option<(usize, u64)>,
}

/// Reads the name of a group and returns its index.
fn parse_group_ref(e: &mut Fields<'_>, groups: &Names<'_>) -> Result<usize> {
    let name = e.string("group")?;
    groups.index.get(name).copied().ok_or_else(|| {
        e.error(
            "group",
            format!(
                "unknown group {name:?}; expected one of the scenario's groups: {}",
                name_list(groups.list)
            ),
        )
    })
}

/// Reads one `[[events]]` entry; `membership` holds the `join` and `leave`
/// events before it.
pub(super) fn parse_event(
    e: &mut Fields<'_>,
    raw: Option<&toml::Table>,
    asset_names: &[String],
    group_names: &Names<'_>,
    assets: &[AssetSpec],
    membership: &HashMap<usize, Membership>,
    posted: &Posted<'_>,
) -> Result<EventSpec> {
    let kind: EventType = e.kind("kind")?;
    let at = e.whole("at", 1, u64::MAX)?;
    let kind = match kind {
        EventType::Deviation => {
            let asset = e.asset("asset", asset_names)?;
            let Some(Some(setup)) = posted.setups.get(asset) else {
                return Err(e.error(
                    "asset",
                    format!(
                        "{:?} is priced by {}; a deviation forces a seller's price on a \
                         posted_price market",
                        assets[asset].name,
                        assets[asset].pricing.kind_name()
                    ),
                ));
            };
            let n = setup.sellers().len();
            let seller = e.opt_whole("seller", 0, n as u64 - 1)?.unwrap_or(0) as usize;
            if posted.evaluation_steps == 0 {
                return Err(e.error(
                    "kind",
                    "a deviation happens in the evaluation phase, and the scenario has none; \
                     set [simulation] stop = { converged = K } or evaluation_steps",
                ));
            }
            EventKind::Deviation {
                asset,
                seller,
                window: e.opt_whole("window", 1, 1_000_000)?.unwrap_or(25),
            }
        }
        EventType::Outage => {
            let asset = e.asset("asset", asset_names)?;
            if !matches!(assets[asset].pricing, PricingSpec::Resource(_)) {
                return Err(e.error(
                    "asset",
                    format!(
                        "{:?} is a token; an outage applies to a resource",
                        assets[asset].name
                    ),
                ));
            }
            EventKind::Outage {
                asset,
                share: e.number("share", Range::Unit)?,
                duration: e.whole("duration", 1, u64::MAX)?,
            }
        }
        EventType::Dump => EventKind::Dump {
            group: parse_group_ref(e, group_names)?,
            asset: e.asset("asset", asset_names)?,
            share: e.number("share", Range::Unit)?,
        },
        EventType::Join | EventType::Leave => {
            let group = parse_group_ref(e, group_names)?;
            let joining = kind == EventType::Join;
            let before = membership.get(&group).copied().unwrap_or_default();
            let (same, other) = if joining {
                (before.join, before.leave)
            } else {
                (before.leave, before.join)
            };
            let name = &group_names.list[group];
            if let Some((k, _)) = same {
                return Err(e.error(
                    "group",
                    format!("group {name:?} already has a {} event (events[{k}]); expected at most one per group", kind.name()),
                ));
            }
            if let Some((_, other_at)) = other {
                let (join_at, leave_at) = if joining {
                    (at, other_at)
                } else {
                    (other_at, at)
                };
                if leave_at <= join_at {
                    return Err(e.error(
                        "at",
                        format!(
                            "group {name:?} joins at step {join_at} and leaves at step {leave_at}; expected it to leave after it joins"
                        ),
                    ));
                }
            }
            if joining {
                EventKind::Join { group }
            } else {
                let sell_all = match raw.and_then(|t| t.get("sell_all")) {
                    None => false,
                    Some(toml::Value::Boolean(b)) => *b,
                    Some(other) => {
                        return Err(e.error(
                            "sell_all",
                            format!("expected true or false, found {}", describe(other)),
                        ))
                    }
                };
                e.has("sell_all");
                EventKind::Leave { group, sell_all }
            }
        }
        EventType::Parameter => {
            let asset = e.asset("asset", asset_names)?;
            let param = e.string("param")?;
            let Some(curve) = assets[asset].pricing.curve() else {
                return Err(e.error(
                    "asset",
                    format!(
                        "asset {:?} is priced by {}; parameter events apply to bonding curves only",
                        assets[asset].name,
                        assets[asset].pricing.kind_name()
                    ),
                ));
            };
            let value = parse_curve_change(e, curve, param)?;
            EventKind::Parameter {
                asset,
                param: param.to_string(),
                value,
            }
        }
    };
    Ok(EventSpec { at, kind })
}

/// Checks that every curve stays valid as its schedule and the `parameter`
/// events apply together in step order (at the same step, the schedule
/// first, then the events in file order, as the engine applies them), not
/// only each change on its own: `m = 0` then `b = 0` makes a linear curve
/// invalid although each change is fine alone. Ramps are checked at their
/// end; the parameter ranges are intervals, so the values on the way are
/// valid too.
pub(super) fn check_parameter_sequence(
    root: &Fields<'_>,
    assets: &[AssetSpec],
    events: &[EventSpec],
) -> Result<()> {
    // (step, 0 for the schedule or 1 for an event, index, param, value),
    // per asset; the events sorted to their asset in one pass.
    type Changes<'s> = Vec<(u64, u8, usize, &'s str, f64)>;
    let mut per_asset: Vec<Changes<'_>> = vec![Vec::new(); assets.len()];
    for (i, e) in events.iter().enumerate() {
        if let EventKind::Parameter {
            asset,
            param,
            value,
        } = &e.kind
        {
            if let Some(changes) = per_asset.get_mut(*asset) {
                changes.push((e.at, 1, i, param, *value));
            }
        }
    }
    for (asset, mut changes) in assets.iter().zip(per_asset) {
        for (i, c) in asset.schedule.iter().enumerate() {
            let (step, value) = match c.change {
                Change::Step { at, value } => (at, value),
                Change::Ramp { to, value, .. } => (to, value),
            };
            changes.push((step, 0, i, &c.param, value));
        }
        changes.sort_by_key(|c| (c.0, c.1, c.2));
        let changes_have_events = changes.iter().any(|c| c.1 == 1);
        let Some(curve) = asset.pricing.curve() else {
            continue;
        };
        let mut probe = curve.clone();
        for (step, source, i, param, value) in changes {
            if let Err(err) = probe.set_param(param, value) {
                let path = if source == 0 {
                    format!("assets.{}.schedule[{i}]", asset.name)
                } else {
                    format!("events[{i}]")
                };
                let earlier = if changes_have_events {
                    "the earlier changes and events"
                } else {
                    "the earlier changes"
                };
                return Err(root.error(&path, format!("at step {step}, after {earlier}: {err}")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn every_event_type_reads_as_its_own_variant() {
        for &kind in EventType::ALL {
            let sample = match kind {
                EventType::Dump => "group = \"g\", asset = \"T\", share = 0.5",
                EventType::Join | EventType::Leave => "group = \"g\"",
                EventType::Parameter => "asset = \"T\", param = \"m\", value = 0.002",
                EventType::Outage => "asset = \"R\", share = 0.5, duration = 2",
                EventType::Deviation => "asset = \"P\", seller = 1",
            };
            let text = format!(
                r#"
[simulation]
steps = 5
seed = 1
evaluation_steps = 3

[[assets]]
name = "T"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}

[[assets]]
name = "R"
kind = "resource"
capacity = 10.0
pricing = {{ kind = "fixed", price = 1.0 }}

[[assets]]
name = "P"
pricing = {{ kind = "posted_price", demand = {{ shape = "logit", a = 2.0, mu = 0.25 }}, prices = {{ m = 5, xi = 0.1 }} }}

[[agents]]
group = "g"
count = 2
balance = 10.0
policy = {{ kind = "random", asset = "T", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }}

[[agents]]
group = "firms"
count = 2
balance = 10.0
cost = 1.0
policy = {{ kind = "q_learning", asset = "P", alpha = 0.1, delta = 0.9, epsilon = 0.1 }}

[[events]]
at = 2
kind = "{}"
{}
"#,
                kind.name(),
                sample.replace(", ", "\n")
            );
            let scenario =
                Scenario::from_toml_str(&text, "test").unwrap_or_else(|e| panic!("{text}: {e}"));
            let event = &scenario.events()[0];
            assert_eq!(event.kind.event_type(), kind, "{text}");
            assert_eq!(event.kind.name(), kind.name());
        }
    }
}
