//! `[[monitors]]`: detectors that watch a run as it goes and raise alerts
//! (`alerts.csv`), scored in `summary.json` against the attackers the
//! scenario declares (see [`crate::monitor`]).
//!
//! ```toml
//! [[monitors]]
//! name = "wash"                # names the monitor in alerts.csv and summary.json
//! kind = "wash_trading"        # see MonitorKind
//! asset = "TOKEN"              # the asset watched
//! threshold = 0.8              # the score at or above which it alerts (per kind)
//! window = 10                  # optional: steps looked back over (default 10)
//! targets = ["wash_trader"]    # optional: the attacker kinds it is scored against
//! ```
//!
//! Kind-specific settings: `wash_trading` `net_tolerance` (default 0.1)
//! and `min_round_trips` (rings on a curve or an AMM; off by default);
//! `pump_and_dump` `rise` (default 0.1) and `min_sell` (default 0.1);
//! `concentration` `measure = "herfindahl" | "gini"` (default herfindahl);
//! `spoofing` and `collusion` none beyond `window`.

use super::{AssetSpec, Fields, Kind, PolicyKind, PricingSpec, Range};
use crate::error::Result;

super::kinds! {
    /// The detector kinds a scenario may name (`kind = "…"`).
    pub enum MonitorKind {
        /// Self-trades and closed cycles of accounts with near-zero net
        /// position.
        WashTrading = "wash_trading",
        /// A rise on concentrated buying followed by the same accounts
        /// selling.
        PumpAndDump = "pump_and_dump",
        /// Large orders cancelled before execution (order books).
        Spoofing = "spoofing",
        /// Holdings concentrated above a Herfindahl or Gini level.
        Concentration = "concentration",
        /// Prices persistently above the competitive level (posted-price
        /// markets: the collusion index).
        Collusion = "collusion",
        /// Front-runs and back-runs around a victim's swap on an AMM
        /// ([`crate::market::amm::detect::find_sandwiches`]).
        Sandwich = "sandwich",
    }
}

super::kinds! {
    /// What a `concentration` monitor measures (`measure = "…"`).
    pub enum Measure {
        /// `Σ sᵢ²` of the holders' shares.
        Herfindahl = "herfindahl",
        /// The Gini coefficient of the holdings.
        Gini = "gini",
    }
}

impl MonitorKind {
    /// The attacker kinds a detector of this kind is scored against by
    /// default (none for the detectors of market states rather than of
    /// attackers' trades).
    pub fn default_targets(self) -> Vec<PolicyKind> {
        match self {
            MonitorKind::WashTrading => vec![PolicyKind::WashTrader],
            MonitorKind::PumpAndDump => vec![PolicyKind::PumpAndDump],
            MonitorKind::Spoofing => vec![PolicyKind::Spoofer],
            MonitorKind::Sandwich => vec![PolicyKind::Sandwich],
            MonitorKind::Collusion => vec![PolicyKind::Cartel],
            MonitorKind::Concentration => Vec::new(),
        }
    }

    /// The threshold of a monitor that names none.
    fn default_threshold(self) -> f64 {
        match self {
            MonitorKind::WashTrading => 0.8,
            MonitorKind::PumpAndDump => 0.1,
            MonitorKind::Spoofing => 5.0,
            MonitorKind::Concentration => 0.25,
            MonitorKind::Collusion => 0.5,
            MonitorKind::Sandwich => 0.0,
        }
    }
}

/// One monitor of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSpec {
    /// Its name, unique among the monitors.
    pub name: String,
    /// The asset it watches.
    pub asset: usize,
    /// The score at or above which it alerts.
    pub threshold: f64,
    /// Steps it looks back over, `≥ 1`.
    pub window: u64,
    /// The attacker policy kinds its alerts are scored against.
    pub targets: Vec<PolicyKind>,
    /// Its kind and kind-specific settings.
    pub rule: MonitorRule,
}

/// A monitor's kind and settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MonitorRule {
    /// `wash_trading`: an account's net position over the window is near
    /// zero when `|bought − sold| ≤ net_tolerance·(bought + sold)`.
    WashTrading {
        /// The tolerance, in `[0, 1]`.
        net_tolerance: f64,
        /// On a bonding curve or an AMM (trades without a counterpart):
        /// the round trips (a buy sold back, buys and sells alternating)
        /// each account of a ring must make within the window, `≥ 1`;
        /// none (the default): rings on a curve or an AMM are not looked
        /// for.
        min_round_trips: Option<u64>,
    },
    /// `pump_and_dump`: the price rose by `rise` or more over the window
    /// while the account bought, and it now sells at least `min_sell` of
    /// what it bought.
    PumpAndDump {
        /// The relative rise, `> 0`.
        rise: f64,
        /// The share of its window's buys sold in a step, in `(0, 1]`.
        min_sell: f64,
    },
    /// `spoofing`: the threshold is the order's size as a multiple of the
    /// mean size of the other orders resting beside it.
    Spoofing,
    /// `concentration`: the threshold is the index's level.
    Concentration {
        /// Herfindahl or Gini.
        measure: Measure,
    },
    /// `collusion`: the threshold is the collusion index averaged over the
    /// window.
    Collusion,
    /// `sandwich`: the threshold is the attacker's profit from a sandwich,
    /// money units (0 by default: every sandwich that did not lose).
    Sandwich,
}

impl MonitorRule {
    /// The rule's kind.
    pub fn kind(&self) -> MonitorKind {
        match self {
            MonitorRule::WashTrading { .. } => MonitorKind::WashTrading,
            MonitorRule::PumpAndDump { .. } => MonitorKind::PumpAndDump,
            MonitorRule::Spoofing => MonitorKind::Spoofing,
            MonitorRule::Concentration { .. } => MonitorKind::Concentration,
            MonitorRule::Collusion => MonitorKind::Collusion,
            MonitorRule::Sandwich => MonitorKind::Sandwich,
        }
    }
}

/// Reads the scenario's `[[monitors]]` tables.
pub(crate) fn parse_monitors(
    root: &mut Fields<'_>,
    assets: &[AssetSpec],
    asset_names: &[String],
) -> Result<Vec<MonitorSpec>> {
    let mut out: Vec<MonitorSpec> = Vec::new();
    for mut f in root.tables("monitors", Some("name"))? {
        let spec = parse_one(&mut f, assets, asset_names)?;
        if out.iter().any(|m| m.name == spec.name) {
            return Err(f.error(
                "name",
                format!(
                    "{:?} names another monitor too; names must differ",
                    spec.name
                ),
            ));
        }
        f.finish()?;
        out.push(spec);
    }
    Ok(out)
}

fn parse_one(
    f: &mut Fields<'_>,
    assets: &[AssetSpec],
    asset_names: &[String],
) -> Result<MonitorSpec> {
    let name = f.string("name")?.to_string();
    let kind: MonitorKind = f.kind("kind")?;
    let asset = f.asset("asset", asset_names)?;
    let pricing = &assets[asset].pricing;
    let fits = match kind {
        MonitorKind::Spoofing => matches!(pricing, PricingSpec::OrderBook(_)),
        MonitorKind::Collusion => matches!(pricing, PricingSpec::PostedPrice(_)),
        MonitorKind::Sandwich => matches!(pricing, PricingSpec::Amm(_)),
        MonitorKind::WashTrading | MonitorKind::PumpAndDump | MonitorKind::Concentration => {
            !matches!(pricing, PricingSpec::Game(_) | PricingSpec::Resource(_))
        }
    };
    if !fits {
        let wanted = match kind {
            MonitorKind::Spoofing => "an order_book asset",
            MonitorKind::Collusion => "a posted_price asset",
            MonitorKind::Sandwich => "an amm asset",
            _ => "a token (not a resource or a game)",
        };
        return Err(f.error(
            "asset",
            format!(
                "a {} monitor watches {wanted}, and {:?} is priced by {}",
                kind.name(),
                asset_names[asset],
                pricing.kind_name()
            ),
        ));
    }
    let threshold = f.number_or("threshold", Range::NonNegative, kind.default_threshold())?;
    let window = f.opt_whole("window", 1, 1_000_000)?.unwrap_or(10);
    let targets = match f.raw("targets") {
        None => kind.default_targets(),
        Some(_) => {
            let names = f.strings("targets")?;
            let mut kinds = Vec::new();
            for (i, n) in names.iter().enumerate() {
                match PolicyKind::from_name(n).filter(|k| k.is_attacker()) {
                    Some(k) => kinds.push(k),
                    None => {
                        let attackers: Vec<&str> = PolicyKind::ALL
                            .iter()
                            .filter(|k| k.is_attacker())
                            .map(|k| k.name())
                            .collect();
                        return Err(f.error(
                            &format!("targets[{i}]"),
                            format!(
                                "{n:?} is not an attacker policy kind; expected one of: {}",
                                attackers.join(", ")
                            ),
                        ));
                    }
                }
            }
            kinds
        }
    };
    let rule = match kind {
        MonitorKind::WashTrading => MonitorRule::WashTrading {
            net_tolerance: f.number_or("net_tolerance", Range::Unit, 0.1)?,
            min_round_trips: f.opt_whole("min_round_trips", 1, u64::from(u32::MAX))?,
        },
        MonitorKind::PumpAndDump => MonitorRule::PumpAndDump {
            rise: f.number_or("rise", Range::Positive, 0.1)?,
            min_sell: f.number_or("min_sell", Range::Unit, 0.1)?,
        },
        MonitorKind::Spoofing => MonitorRule::Spoofing,
        MonitorKind::Concentration => MonitorRule::Concentration {
            measure: f
                .opt_kind("measure", "measure")?
                .unwrap_or(Measure::Herfindahl),
        },
        MonitorKind::Collusion => MonitorRule::Collusion,
        MonitorKind::Sandwich => MonitorRule::Sandwich,
    };
    Ok(MonitorSpec {
        name,
        asset,
        threshold,
        window,
        targets,
        rule,
    })
}

/// The `[[monitors]]` table of `m`, its asset written as `asset` (for the
/// scenario builder).
pub(crate) fn monitor_table(m: &MonitorSpec, asset: toml::Value) -> toml::Table {
    use toml::Value;
    let mut t = toml::Table::new();
    t.insert("name".into(), Value::String(m.name.clone()));
    t.insert("kind".into(), Value::String(m.rule.kind().name().into()));
    t.insert("asset".into(), asset);
    t.insert("threshold".into(), Value::Float(m.threshold));
    t.insert("window".into(), Value::Integer(m.window as i64));
    let targets = m
        .targets
        .iter()
        .map(|k| Value::String(k.name().into()))
        .collect();
    t.insert("targets".into(), Value::Array(targets));
    match m.rule {
        MonitorRule::WashTrading {
            net_tolerance,
            min_round_trips,
        } => {
            t.insert("net_tolerance".into(), Value::Float(net_tolerance));
            if let Some(n) = min_round_trips {
                let n = i64::try_from(n).unwrap_or(i64::MAX);
                t.insert("min_round_trips".into(), Value::Integer(n));
            }
        }
        MonitorRule::PumpAndDump { rise, min_sell } => {
            t.insert("rise".into(), Value::Float(rise));
            t.insert("min_sell".into(), Value::Float(min_sell));
        }
        MonitorRule::Concentration { measure } => {
            t.insert("measure".into(), Value::String(measure.name().into()));
        }
        MonitorRule::Spoofing | MonitorRule::Collusion | MonitorRule::Sandwich => {}
    }
    t
}
