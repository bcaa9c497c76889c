//! Monitors: detectors of manipulation that watch a run as it goes.
//!
//! A scenario's `[[monitors]]` each name a detector kind, an asset and a
//! threshold ([`crate::scenario::MonitorSpec`]). After every step is
//! settled and recorded, each detector looks at what happened to its asset
//! — the step's trade log, the price history, the holdings, the order book
//! — through a [`StepView`], and raises [`Alert`]s: who (the agents), how
//! strongly (the score, compared with the threshold) and why (a message).
//! Alerts go to `alerts.csv`.
//!
//! A simulation knows who its attackers are (the groups whose policy kind
//! is an attacker's, [`PolicyKind::is_attacker`]), so each detector is
//! scored against that ground truth ([`MonitorSummary`], `summary.json`'s
//! `monitors.<name>`): the agents it *flagged* (named in any of its
//! alerts) against the *attackers* it targets (the agents of groups whose
//! policy kind is one of the monitor's `targets` and whose policy trades
//! the monitor's asset; by default the attack its kind detects:
//! `cartel` for `collusion`), with precision `|flagged ∩ attackers| /
//! |flagged|` and recall `|flagged ∩ attackers| / |attackers|`, each null
//! when its denominator is 0, and both null for a monitor without targets
//! (no ground truth: `concentration` by default).
//!
//! A detector is a small trait ([`Detector`]): one call per step and its
//! state as bytes for checkpoints. The built-in kinds live beside this
//! file; another (a sandwich detector, a user's) is a type implementing it.

mod book;
mod csv;
mod flows;
mod sandwich;
mod state;
mod trades;

pub use self::csv::{agents_cell, alerts_csv, ALERTS_FILE, ALERT_COLUMNS};
pub use book::SpoofingDetector;
pub use flows::AttackFlows;
pub use sandwich::SandwichDetector;
pub use state::{CollusionDetector, ConcentrationDetector};
pub use trades::{PumpAndDumpDetector, WashTradingDetector};

use crate::ledger::trades::TradeRecord;
use crate::ledger::{AgentId, Ledger};
use crate::market::book::OrderBook;
use crate::scenario::{MonitorRule, MonitorSpec, PolicyKind, Scenario};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// One alert: a detector found something at a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// The step it was raised at.
    pub step: u64,
    /// Index of the monitor in the scenario's `[[monitors]]`.
    pub monitor: u32,
    /// Index of the asset watched.
    pub asset: u32,
    /// The agents it names, ascending.
    pub agents: Vec<AgentId>,
    /// How strongly: the detector's measure, compared with its threshold.
    pub score: f64,
    /// Why, in words.
    pub message: String,
}

/// What a detector sees of the step just settled, for its asset.
#[derive(Clone, Copy)]
pub struct StepView<'a> {
    /// The step (from 1).
    pub step: u64,
    /// The asset watched.
    pub asset: usize,
    /// The step's trade log (every asset's records: a detector filters).
    pub trades: &'a [TradeRecord],
    /// The asset's closing prices from step 0 to this step.
    pub history: &'a [f64],
    /// The accounts after the step.
    pub ledger: &'a Ledger,
    /// The asset's order book, for an order-book asset.
    pub book: Option<&'a OrderBook>,
    /// The asset's collusion index this step (a posted-price market).
    pub collusion: Option<f64>,
    /// The agents that post prices on the asset (a posted-price market).
    pub sellers: &'a [AgentId],
    /// The step's swaps on the asset in the order they executed (an AMM).
    pub swaps: &'a [crate::market::amm::detect::ExecutedSwap],
}

impl StepView<'_> {
    /// The step's records of the asset watched.
    pub fn records(&self) -> impl Iterator<Item = &TradeRecord> + '_ {
        let asset = self.asset as u32;
        self.trades.iter().filter(move |r| r.asset == asset)
    }
}

/// A detector: called once per step with what happened; returns alerts
/// (their `monitor` field is set by the caller).
pub trait Detector: Send + Sync + fmt::Debug {
    /// Looks at the step and appends its alerts.
    fn watch(&mut self, view: &StepView<'_>, alerts: &mut Vec<Alert>);

    /// Its state between steps, for a checkpoint.
    fn save_state(&self) -> Vec<u8>;

    /// Puts back a state saved by [`save_state`](Self::save_state).
    fn load_state(&mut self, state: &[u8]) -> Result<(), String>;
}

/// Encodes a detector's state.
pub(crate) fn encode<T: Serialize>(state: &T) -> Vec<u8> {
    postcard::to_allocvec(state).unwrap_or_default()
}

/// Decodes a detector's state.
pub(crate) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, String> {
    crate::engine::decode_part(bytes, "a monitor's saved state")
}

/// The built-in detector of a monitor's spec.
pub fn detector(spec: &MonitorSpec) -> Box<dyn Detector> {
    match spec.rule {
        MonitorRule::WashTrading {
            net_tolerance,
            min_round_trips,
        } => {
            let d = WashTradingDetector::new(spec.threshold, spec.window, net_tolerance);
            Box::new(match min_round_trips {
                Some(n) => d.with_min_round_trips(n),
                None => d,
            })
        }
        MonitorRule::PumpAndDump { rise, min_sell } => Box::new(PumpAndDumpDetector::new(
            spec.threshold,
            spec.window,
            rise,
            min_sell,
        )),
        MonitorRule::Spoofing => Box::new(SpoofingDetector::new(spec.threshold)),
        MonitorRule::Concentration { measure } => Box::new(ConcentrationDetector::new(
            spec.threshold,
            spec.window,
            measure,
        )),
        MonitorRule::Collusion => Box::new(CollusionDetector::new(spec.threshold, spec.window)),
        MonitorRule::Sandwich => Box::new(SandwichDetector::new(spec.threshold)),
    }
}

/// A run's monitors: each scenario monitor's detector, and what each has
/// flagged so far.
#[derive(Debug, Default)]
pub struct Monitors {
    detectors: Vec<Box<dyn Detector>>,
    /// Per monitor: the agents named in its alerts so far.
    flagged: Vec<BTreeSet<AgentId>>,
    /// Per monitor: its alerts so far.
    alerts: Vec<u64>,
}

/// The saved state of a run's monitors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorState {
    detectors: Vec<Vec<u8>>,
    flagged: Vec<Vec<AgentId>>,
    alerts: Vec<u64>,
}

impl Monitors {
    /// The detectors of the scenario's monitors.
    pub fn new(scenario: &Scenario) -> Self {
        let n = scenario.monitors().len();
        Monitors {
            detectors: scenario.monitors().iter().map(detector).collect(),
            flagged: vec![BTreeSet::new(); n],
            alerts: vec![0; n],
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.detectors.is_empty()
    }

    /// Replaces monitor `i`'s detector (a user's, or one written outside
    /// the library, for the kind the scenario names).
    pub fn set_detector(&mut self, i: usize, detector: Box<dyn Detector>) {
        if let Some(d) = self.detectors.get_mut(i) {
            *d = detector;
        }
    }

    /// Runs monitor `i` on `view`, appending its alerts to `out`.
    pub fn watch(&mut self, i: usize, view: &StepView<'_>, out: &mut Vec<Alert>) {
        let from = out.len();
        self.detectors[i].watch(view, out);
        for a in &mut out[from..] {
            a.monitor = i as u32;
            a.asset = view.asset as u32;
            a.agents.sort_unstable();
            a.agents.dedup();
            self.flagged[i].extend(a.agents.iter().copied());
            self.alerts[i] += 1;
        }
    }

    /// The state to save.
    pub fn state(&self) -> MonitorState {
        MonitorState {
            detectors: self.detectors.iter().map(|d| d.save_state()).collect(),
            flagged: self
                .flagged
                .iter()
                .map(|s| s.iter().copied().collect())
                .collect(),
            alerts: self.alerts.clone(),
        }
    }

    /// Puts back a saved state.
    pub fn restore(&mut self, state: MonitorState) -> Result<(), String> {
        let n = self.detectors.len();
        if state.detectors.len() != n || state.flagged.len() != n || state.alerts.len() != n {
            return Err(format!(
                "the state holds {} monitors ({} flagged sets, {} alert counts), the scenario {n}",
                state.detectors.len(),
                state.flagged.len(),
                state.alerts.len()
            ));
        }
        if state.alerts.iter().any(|&n| n > crate::engine::MOST_COUNT) {
            return Err("it counts more alerts than a run reaches".into());
        }
        for (d, bytes) in self.detectors.iter_mut().zip(&state.detectors) {
            d.load_state(bytes)?;
        }
        self.flagged = state
            .flagged
            .into_iter()
            .map(|v| v.into_iter().collect())
            .collect();
        self.alerts = state.alerts;
        Ok(())
    }

    /// Each monitor's scores against the scenario's attackers, by name.
    pub fn summary(
        &self,
        scenario: &Scenario,
    ) -> std::collections::BTreeMap<String, MonitorSummary> {
        scenario
            .monitors()
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let attackers = attackers_of(scenario, &spec.targets, spec.asset);
                let summary = MonitorSummary::score(
                    spec,
                    &scenario.assets()[spec.asset].name,
                    self.alerts[i],
                    &self.flagged[i],
                    &attackers,
                );
                (spec.name.clone(), summary)
            })
            .collect()
    }
}

/// The agents of the groups whose policy kind is one of `targets` and
/// whose policy trades asset `asset` (a detector watches one asset: the
/// attackers of another are not its to find).
pub fn attackers_of(
    scenario: &Scenario,
    targets: &[PolicyKind],
    asset: usize,
) -> BTreeSet<AgentId> {
    let mut out = BTreeSet::new();
    let mut start: AgentId = 0;
    for g in scenario.groups() {
        let end = start + g.count;
        if g.kind().is_some_and(|k| targets.contains(&k)) && g.policy.assets().contains(&asset) {
            out.extend(start..end);
        }
        start = end;
    }
    out
}

/// A monitor's alerts and how well they found the attackers it targets
/// (`summary.json`'s `monitors.<name>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonitorSummary {
    /// The detector kind.
    pub kind: &'static str,
    /// The asset watched.
    pub asset: String,
    /// The policy kinds it is scored against.
    pub targets: Vec<&'static str>,
    /// Alerts raised.
    pub alerts: u64,
    /// Distinct agents named in its alerts.
    pub flagged: u64,
    /// Agents of the targeted kinds (the ground truth).
    pub attackers: u64,
    /// Flagged agents that are attackers.
    pub true_positives: u64,
    /// `true_positives / flagged`; null when nothing was flagged or the
    /// monitor has no targets.
    pub precision: Option<f64>,
    /// `true_positives / attackers`; null without attackers (or targets).
    pub recall: Option<f64>,
}

impl MonitorSummary {
    /// Scores `flagged` against `attackers`.
    pub fn score(
        spec: &MonitorSpec,
        asset: &str,
        alerts: u64,
        flagged: &BTreeSet<AgentId>,
        attackers: &BTreeSet<AgentId>,
    ) -> Self {
        use crate::scenario::Kind;
        let tp = flagged.intersection(attackers).count() as u64;
        // Without targets there is no ground truth to score against.
        let scored = !spec.targets.is_empty();
        let ratio = |n: u64, d: usize| (scored && d > 0).then(|| n as f64 / d as f64);
        MonitorSummary {
            kind: spec.rule.kind().name(),
            asset: asset.to_string(),
            targets: spec.targets.iter().map(|k| k.name()).collect(),
            alerts,
            flagged: flagged.len() as u64,
            attackers: attackers.len() as u64,
            true_positives: tp,
            precision: ratio(tp, flagged.len()),
            recall: ratio(tp, attackers.len()),
        }
    }
}

/// Runs detector `d` on one step of `trades` (and `book`, for an
/// order-book asset) of asset 0 with the closing prices `history`, over an
/// empty ledger: the detectors' unit tests.
#[cfg(test)]
pub(crate) fn watch_step(
    d: &mut dyn Detector,
    step: u64,
    trades: &[TradeRecord],
    history: &[f64],
    book: Option<&OrderBook>,
) -> Vec<Alert> {
    let ledger = Ledger::new(10, 1);
    let view = StepView {
        step,
        asset: 0,
        trades,
        history,
        ledger: &ledger,
        book,
        collusion: None,
        sellers: &[],
        swaps: &[],
    };
    let mut out = Vec::new();
    d.watch(&view, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::monitors::MonitorKind;

    #[test]
    fn precision_and_recall_are_null_when_undefined() {
        let spec = MonitorSpec {
            name: "m".into(),
            asset: 0,
            threshold: 1.0,
            window: 1,
            targets: MonitorKind::WashTrading.default_targets(),
            rule: MonitorRule::WashTrading {
                net_tolerance: 0.1,
                min_round_trips: None,
            },
        };
        let none = BTreeSet::new();
        let s = MonitorSummary::score(&spec, "A", 0, &none, &none);
        assert_eq!((s.precision, s.recall), (None, None));
        let flagged: BTreeSet<AgentId> = [1, 2, 3, 4].into();
        let attackers: BTreeSet<AgentId> = [3, 4, 5].into();
        let s = MonitorSummary::score(&spec, "A", 2, &flagged, &attackers);
        assert_eq!(s.true_positives, 2);
        assert_eq!(s.precision, Some(0.5));
        assert_eq!(s.recall, Some(2.0 / 3.0));
        let json = serde_json::to_string(&MonitorSummary::score(&spec, "A", 0, &none, &attackers))
            .unwrap();
        assert!(json.contains("\"precision\":null"), "{json}");
        assert!(json.contains("\"recall\":0.0"), "{json}");
        // No targets, no ground truth: nothing is scored.
        let untargeted = MonitorSpec {
            targets: Vec::new(),
            ..spec
        };
        let s = MonitorSummary::score(&untargeted, "A", 2, &flagged, &attackers);
        assert_eq!((s.precision, s.recall), (None, None));
    }

    /// A saved state restores into the scenario's monitors only with one
    /// detector state, one flagged set and one alert count per monitor
    /// (the summary reads them by monitor).
    #[test]
    fn a_saved_state_needs_one_of_each_table_per_monitor() {
        let scenario = crate::scenario::example("wash-trading").unwrap();
        let fresh = Monitors::new(&scenario);
        let n = scenario.monitors().len();
        assert!(n >= 2);
        let good = fresh.state();
        let mut restored = Monitors::new(&scenario);
        restored.restore(good.clone()).unwrap();
        type Edit = fn(&mut MonitorState);
        let edits: [Edit; 3] = [
            |s| {
                s.detectors.pop();
            },
            |s| {
                s.flagged.pop();
            },
            |s| {
                s.alerts.pop();
            },
        ];
        for (k, edit) in edits.iter().enumerate() {
            let mut bad = good.clone();
            edit(&mut bad);
            let e = Monitors::new(&scenario).restore(bad).unwrap_err();
            assert!(e.contains(&format!("the scenario {n}")), "edit {k}: {e}");
        }
        // An alert count past what a run reaches (the next alert would
        // wrap it); at the edge it fits.
        let most = crate::engine::MOST_COUNT;
        let mut edge = good.clone();
        edge.alerts[1] = most;
        Monitors::new(&scenario).restore(edge.clone()).unwrap();
        edge.alerts[1] = most + 1;
        let e = Monitors::new(&scenario).restore(edge).unwrap_err();
        assert!(e.contains("more alerts than a run reaches"), "{e}");
    }
}
