//! Detectors that read the trade log: wash trading and pump and dump.

use super::{decode, encode, Alert, Detector, StepView};
use crate::ledger::trades::TradeKind;
use crate::ledger::{to_units, AgentId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// One side's trade in a step: who, bought or sold, how much, with whom
/// (`None`: the mechanism or the outside world).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Side {
    agent: AgentId,
    counterpart: Option<AgentId>,
    buy: bool,
    qty: u64,
}

/// The asset's trades of the last `window` steps, one entry per step.
fn push_step(window: &mut VecDeque<Vec<Side>>, len: u64, view: &StepView<'_>) {
    let sides = view
        .records()
        .filter(|r| {
            matches!(r.kind, TradeKind::Fill | TradeKind::Mint | TradeKind::Burn) && r.quantity > 0
        })
        .map(|r| Side {
            agent: r.agent,
            counterpart: r.counterpart,
            buy: r.buy,
            qty: r.quantity,
        })
        .collect();
    window.push_back(sides);
    while window.len() as u64 > len {
        window.pop_front();
    }
}

/// Each agent's (bought, sold) over the window, token base units.
fn positions(window: &VecDeque<Vec<Side>>) -> BTreeMap<AgentId, (u128, u128)> {
    let mut out: BTreeMap<AgentId, (u128, u128)> = BTreeMap::new();
    for s in window.iter().flatten() {
        let e = out.entry(s.agent).or_default();
        if s.buy {
            e.0 += u128::from(s.qty);
        } else {
            e.1 += u128::from(s.qty);
        }
    }
    out
}

/// Wash trading: self-trades, and closed groups of accounts that trade
/// with each other at a near-zero net position.
///
/// Over the last `window` steps, an account is *flat* when it traded and
/// `|bought − sold| ≤ net_tolerance·(bought + sold)`. Flat accounts linked
/// by fills between them form groups (connected components); a group's
/// score is the share of its members' volume traded inside the group, 1
/// for a ring that trades only with itself. A group of two or more scoring
/// at least the threshold is an alert, as is any fill of an account with
/// itself (score 1). A group alerted is not alerted again for `window`
/// steps.
///
/// On a bonding curve or an AMM there is no counterpart: flat accounts
/// trading with the mechanism on exactly the same steps and sides are a
/// ring acting in step (see `pool_rings`), scored by the share of their
/// volume bought and sold back.
#[derive(Debug)]
pub struct WashTradingDetector {
    threshold: f64,
    window: u64,
    net_tolerance: f64,
    min_round_trips: Option<u64>,
    state: WashState,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct WashState {
    steps: VecDeque<Vec<Side>>,
    /// Each group alerted, with the step of its last alert.
    alerted: BTreeMap<Vec<AgentId>, u64>,
}

impl WashTradingDetector {
    /// A detector alerting at `threshold` (an internal share of volume, in
    /// [0, 1]) over `window` steps.
    pub fn new(threshold: f64, window: u64, net_tolerance: f64) -> Self {
        WashTradingDetector {
            threshold,
            window: window.max(1),
            net_tolerance,
            min_round_trips: None,
            state: WashState::default(),
        }
    }

    /// Looks for rings on a curve or an AMM too (off by default), whose
    /// accounts each make at least `n` round trips (at least 1) within
    /// the window.
    pub fn with_min_round_trips(mut self, n: u64) -> Self {
        self.min_round_trips = Some(n.max(1));
        self
    }

    fn quiet(&self, group: &[AgentId], step: u64) -> bool {
        self.state
            .alerted
            .get(group)
            .is_some_and(|&at| step < at + self.window)
    }
}

/// An account's trades with the mechanism over a window: (step in the
/// window, bought?), in order.
type Signature = Vec<(usize, bool)>;

impl WashTradingDetector {
    /// Alerts a group of two or more accounts whose score, `part / total`,
    /// is at the threshold or above, unless it was alerted within the
    /// window; `message` gets the group's size, the tokens it traded
    /// (half of `total`), the window and the score.
    fn raise(
        &mut self,
        t: u64,
        members: Vec<AgentId>,
        part: u128,
        total: u128,
        alerts: &mut Vec<Alert>,
        message: impl FnOnce(usize, f64, u64, f64) -> String,
    ) {
        if members.len() < 2 || total == 0 {
            return;
        }
        let score = part as f64 / total as f64;
        if score < self.threshold || self.quiet(&members, t) {
            return;
        }
        self.state.alerted.insert(members.clone(), t);
        let tokens = to_units(u64::try_from(total / 2).unwrap_or(u64::MAX));
        alerts.push(Alert {
            step: t,
            monitor: 0,
            asset: 0,
            message: message(members.len(), tokens, self.window, score),
            agents: members,
            score,
        });
    }

    /// Rings on a bonding curve or an AMM pool, whose trades have no
    /// counterpart to link accounts by: flat accounts that round-trip —
    /// their trades with the mechanism alternate buy and sell, with at
    /// least `min_round_trips` buys sold back within the window — on
    /// exactly the same steps and sides, two or more of them, are a ring
    /// acting in step. Its score is the share of its volume bought and
    /// sold back, `Σ 2·min(bought, sold) / Σ (bought + sold)`.
    ///
    /// Off unless `min_round_trips` is set: independent traders' trades
    /// coincide by chance (the `reference` example's 10,000 random
    /// traders make rings of 2 and 3 at four round trips in 10 steps), so
    /// the setting must fit the population. On the
    /// `intelligence-ladder` example (600 random traders trading 60% of
    /// steps, 150 Q-learners converging on the same actions), a window of
    /// 10 steps flags 137 honest accounts beside the ring's 4 with one
    /// round trip, 5 with four; a window of 20 with four, none.
    fn pool_rings(&mut self, flat: &[AgentId], t: u64, alerts: &mut Vec<Alert>) {
        let Some(min_round_trips) = self.min_round_trips else {
            return;
        };
        // Each flat account's trades with the mechanism: (step in the
        // window, bought?) in order, and its (bought, sold).
        let mut trades: BTreeMap<AgentId, (Signature, u128, u128)> = BTreeMap::new();
        for (k, step) in self.state.steps.iter().enumerate() {
            for s in step.iter().filter(|s| s.counterpart.is_none()) {
                if flat.binary_search(&s.agent).is_err() {
                    continue;
                }
                let e = trades.entry(s.agent).or_default();
                if e.0.last() != Some(&(k, s.buy)) {
                    e.0.push((k, s.buy));
                }
                if s.buy {
                    e.1 += u128::from(s.qty);
                } else {
                    e.2 += u128::from(s.qty);
                }
            }
        }
        let mut rings: BTreeMap<Signature, (Vec<AgentId>, u128, u128)> = BTreeMap::new();
        for (a, (signature, bought, sold)) in trades {
            let alternates = signature.windows(2).all(|w| w[0].1 != w[1].1);
            let round_trips = signature.windows(2).filter(|w| w[0].1 && !w[1].1).count();
            if bought == 0 || sold == 0 || !alternates || (round_trips as u64) < min_round_trips {
                continue;
            }
            let r = rings.entry(signature).or_default();
            r.0.push(a);
            r.1 += 2 * bought.min(sold);
            r.2 += bought + sold;
        }
        for (members, round_trip, total) in rings.into_values() {
            self.raise(t, members, round_trip, total, alerts, |n, tokens, window, score| {
                format!(
                    "{n} accounts traded {tokens:.4} tokens with the pool over {window} steps, all on the same steps and sides, {:.1}% of it bought and sold back",
                    100.0 * score
                )
            });
        }
    }
}

/// Union-find with path halving.
fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

impl Detector for WashTradingDetector {
    fn watch(&mut self, view: &StepView<'_>, alerts: &mut Vec<Alert>) {
        push_step(&mut self.state.steps, self.window, view);
        let t = view.step;
        // Self-trades this step.
        let mut selves: Vec<AgentId> = view
            .records()
            .filter(|r| r.buy && r.counterpart == Some(r.agent))
            .map(|r| r.agent)
            .collect();
        selves.sort_unstable();
        selves.dedup();
        for a in selves {
            if self.quiet(&[a], t) {
                continue;
            }
            self.state.alerted.insert(vec![a], t);
            alerts.push(Alert {
                step: t,
                monitor: 0,
                asset: 0,
                agents: vec![a],
                score: 1.0,
                message: format!("agent {a} traded with itself"),
            });
        }
        let pos = positions(&self.state.steps);
        let flat: Vec<AgentId> = pos
            .iter()
            .filter(|(_, &(b, s))| {
                let vol = b + s;
                vol > 0 && (b.abs_diff(s) as f64) <= self.net_tolerance * vol as f64
            })
            .map(|(&a, _)| a)
            .collect();
        if flat.len() < 2 {
            return;
        }
        self.pool_rings(&flat, t, alerts);
        let index = |a: AgentId| flat.binary_search(&a).ok();
        let mut parent: Vec<usize> = (0..flat.len()).collect();
        // Internal volume: each fill between two flat accounts, from its
        // buying side, counted for both sides.
        let mut links: Vec<(usize, u128)> = Vec::new();
        for s in self.state.steps.iter().flatten() {
            let Some(c) = s.counterpart.filter(|&c| c != s.agent && s.buy) else {
                continue;
            };
            if let (Some(x), Some(y)) = (index(s.agent), index(c)) {
                let (rx, ry) = (find(&mut parent, x), find(&mut parent, y));
                if rx != ry {
                    parent[rx] = ry;
                }
                links.push((x, 2 * u128::from(s.qty)));
            }
        }
        let mut groups: BTreeMap<usize, (Vec<AgentId>, u128, u128)> = BTreeMap::new();
        for (i, &a) in flat.iter().enumerate() {
            let r = find(&mut parent, i);
            let (b, s) = pos[&a];
            let g = groups.entry(r).or_default();
            g.0.push(a);
            g.2 += b + s;
        }
        for (x, qty) in links {
            let r = find(&mut parent, x);
            if let Some(g) = groups.get_mut(&r) {
                g.1 += qty;
            }
        }
        let tolerance = self.net_tolerance;
        for (members, inside, total) in groups.into_values() {
            self.raise(t, members, inside, total, alerts, |n, tokens, window, score| {
                format!(
                    "{n} accounts traded {tokens:.4} tokens over {window} steps, {:.1}% of it among themselves, at a net position within {tolerance}",
                    100.0 * score
                )
            });
        }
    }

    fn save_state(&self) -> Vec<u8> {
        encode(&self.state)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
        self.state = decode(state)?;
        Ok(())
    }
}

/// Pump and dump: an account that did much of the buying while the price
/// rose, then sells.
///
/// At each step, for every account that sells the asset: its share of all
/// the tokens bought over the `window` steps before (the score), the
/// price's rise over those steps (the highest close over the window
/// against the close before it), and what it sells now against what it
/// bought then. An alert when the share is at least the threshold, the
/// rise at least `rise` and the sale at least `min_sell` of its buying. An
/// account alerted is not alerted again for `window` steps.
#[derive(Debug)]
pub struct PumpAndDumpDetector {
    threshold: f64,
    window: u64,
    rise: f64,
    min_sell: f64,
    state: PumpState,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct PumpState {
    /// The steps before the current one (at most `window`).
    steps: VecDeque<Vec<Side>>,
    alerted: BTreeMap<AgentId, u64>,
}

impl PumpAndDumpDetector {
    /// A detector alerting at `threshold` (a share of the window's buying).
    pub fn new(threshold: f64, window: u64, rise: f64, min_sell: f64) -> Self {
        PumpAndDumpDetector {
            threshold,
            window: window.max(1),
            rise,
            min_sell,
            state: PumpState::default(),
        }
    }

    /// The price's rise over the window before step `t`: the highest close
    /// of steps `t−window … t−1` over the close of step `t−window−1`.
    fn rise_before(&self, history: &[f64], t: u64) -> Option<f64> {
        let t = usize::try_from(t).ok()?;
        let end = t.min(history.len());
        let start = t.saturating_sub(self.window as usize + 1);
        let base = *history.get(start)?;
        let peak = history
            .get(start + 1..end)?
            .iter()
            .copied()
            .filter(|p| p.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        (base > 0.0 && peak.is_finite()).then(|| peak / base - 1.0)
    }
}

impl Detector for PumpAndDumpDetector {
    fn watch(&mut self, view: &StepView<'_>, alerts: &mut Vec<Alert>) {
        let t = view.step;
        let mut sold: BTreeMap<AgentId, u128> = BTreeMap::new();
        for r in view.records() {
            if !r.buy && matches!(r.kind, TradeKind::Fill | TradeKind::Burn) && r.quantity > 0 {
                *sold.entry(r.agent).or_default() += u128::from(r.quantity);
            }
        }
        if !sold.is_empty() {
            if let Some(rise) = self.rise_before(view.history, t) {
                let bought = positions(&self.state.steps);
                let total: u128 = bought.values().map(|p| p.0).sum();
                for (&a, &s) in &sold {
                    let b = bought.get(&a).map_or(0, |p| p.0);
                    if total == 0 || b == 0 {
                        continue;
                    }
                    let share = b as f64 / total as f64;
                    let quiet = self
                        .state
                        .alerted
                        .get(&a)
                        .is_some_and(|&at| t < at + self.window);
                    if share < self.threshold
                        || rise < self.rise
                        || (s as f64) < self.min_sell * b as f64
                        || quiet
                    {
                        continue;
                    }
                    self.state.alerted.insert(a, t);
                    alerts.push(Alert {
                        step: t,
                        monitor: 0,
                        asset: 0,
                        agents: vec![a],
                        score: share,
                        message: format!(
                            "agent {a} bought {:.1}% of the tokens bought over {} steps while the price rose {:.1}%, then sold {:.1}% of them",
                            100.0 * share,
                            self.window,
                            100.0 * rise,
                            100.0 * s as f64 / b as f64
                        ),
                    });
                }
            }
        }
        push_step(&mut self.state.steps, self.window, view);
    }

    fn save_state(&self) -> Vec<u8> {
        encode(&self.state)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
        self.state = decode(state)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::trades::TradeRecord;

    /// A fill of `qty` from `seller` to `buyer`, both sides.
    fn fill(step: u64, buyer: AgentId, seller: AgentId, qty: u64) -> [TradeRecord; 2] {
        let side = |agent, counterpart, buy| TradeRecord {
            step,
            agent,
            counterpart: Some(counterpart),
            asset: 0,
            kind: TradeKind::Fill,
            buy,
            quantity: qty,
            money: u128::from(qty),
        };
        [side(buyer, seller, true), side(seller, buyer, false)]
    }

    fn watch(
        d: &mut dyn Detector,
        step: u64,
        trades: &[TradeRecord],
        history: &[f64],
    ) -> Vec<Alert> {
        super::super::watch_step(d, step, trades, history, None)
    }

    /// A trade of `qty` with the mechanism (a curve's mint or burn).
    fn with_pool(step: u64, agent: AgentId, buy: bool, qty: u64) -> TradeRecord {
        TradeRecord {
            step,
            agent,
            counterpart: None,
            asset: 0,
            kind: if buy {
                TradeKind::Mint
            } else {
                TradeKind::Burn
            },
            buy,
            quantity: qty,
            money: u128::from(qty),
        }
    }

    /// Only trades count: tokens an account is paid, given or allocated
    /// (an incentive, a contract, a resource) are not bought, so a ring
    /// paid a reward in the asset it washes is still flat and flagged.
    #[test]
    fn payments_transfers_and_allocations_of_the_asset_are_not_trades() {
        let mut d = WashTradingDetector::new(0.8, 4, 0.1);
        let mut alerts = Vec::new();
        for t in 1..=2 {
            let mut trades: Vec<TradeRecord> = fill(t, 1, 2, 10).into();
            trades.extend(fill(t, 2, 1, 10));
            for (i, kind) in [
                TradeKind::Payment,
                TradeKind::Transfer,
                TradeKind::Allocation,
            ]
            .into_iter()
            .enumerate()
            {
                trades.push(TradeRecord {
                    step: t,
                    agent: 1 + (i as AgentId % 2),
                    counterpart: None,
                    asset: 0,
                    kind,
                    buy: true,
                    quantity: 1000,
                    money: 0,
                });
            }
            alerts.extend(watch(&mut d, t, &trades, &[]));
        }
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(
            (alerts[0].step, alerts[0].agents.as_slice()),
            (1, &[1, 2][..])
        );
        assert_eq!(alerts[0].score, 1.0);
    }

    #[test]
    fn a_ring_round_tripping_on_a_pool_in_step_is_flagged_and_lone_round_trips_are_not() {
        let ring = |t: u64| -> Vec<TradeRecord> {
            (1..=3).map(|a| with_pool(t, a, t % 2 == 1, 5)).collect()
        };
        let mut d = WashTradingDetector::new(0.8, 4, 0.1).with_min_round_trips(2);
        let mut alerts = Vec::new();
        for t in 1..=4 {
            // 1, 2 and 3 buy 5 together, then sell them back together.
            let mut trades = ring(t);
            // 4 round-trips twice too, on its own steps (flat, alone).
            trades.push(with_pool(t, 4, t % 2 == 0, 7));
            // 5 and 6 buy on the same steps, never selling: not flat.
            trades.push(with_pool(t, 5, true, 2));
            trades.push(with_pool(t, 6, true, 2));
            alerts.extend(watch(&mut d, t, &trades, &[]));
        }
        // Two round trips by step 4 (one by step 2 is not enough).
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].step, 4);
        assert_eq!(alerts[0].agents, [1, 2, 3]);
        assert_eq!(alerts[0].score, 1.0);
        // Quiet for a window, then flagged again while it goes on.
        for t in 5..=8 {
            alerts.extend(watch(&mut d, t, &ring(t), &[]));
        }
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert_eq!(
            (alerts[1].step, alerts[1].agents.as_slice()),
            (8, &[1, 2, 3][..])
        );
        // Buying twice before selling is not a round trip each time.
        let mut d = WashTradingDetector::new(0.8, 4, 0.1).with_min_round_trips(1);
        let mut alerts = Vec::new();
        for t in 1..=4 {
            let trades: Vec<_> = (1..=2).map(|a| with_pool(t, a, t <= 2, 5)).collect();
            alerts.extend(watch(&mut d, t, &trades, &[]));
        }
        assert!(alerts.is_empty(), "{alerts:?}");
        // Out of step (1 sells a step late): no ring.
        let mut d = WashTradingDetector::new(0.8, 4, 0.1).with_min_round_trips(1);
        for t in 1..=4 {
            let trades = [
                with_pool(t, 1, t % 2 == 0, 5),
                with_pool(t, 2, t % 2 == 1, 5),
            ];
            alerts.extend(watch(&mut d, t, &trades, &[]));
        }
        assert!(alerts.is_empty(), "{alerts:?}");
        // In step, one round trip is enough at min_round_trips = 1.
        let mut d = WashTradingDetector::new(0.8, 4, 0.1).with_min_round_trips(1);
        for t in 1..=2 {
            alerts.extend(watch(&mut d, t, &ring(t), &[]));
        }
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].step, 2);
    }

    #[test]
    fn a_ring_trading_back_and_forth_is_flagged_and_a_one_way_trader_is_not() {
        let mut d = WashTradingDetector::new(0.8, 4, 0.1);
        // 1 and 2 swap 5 tokens back and forth; 3 buys from 4 every step.
        let mut alerts = Vec::new();
        for t in 1..=4 {
            let (b, s) = if t % 2 == 1 { (1, 2) } else { (2, 1) };
            let mut trades = fill(t, b, s, 5).to_vec();
            trades.extend(fill(t, 3, 4, 2));
            alerts.extend(watch(&mut d, t, &trades, &[]));
        }
        // Flat after two steps: 10 traded, all of it between them.
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].step, 2);
        assert_eq!(alerts[0].agents, [1, 2]);
        assert_eq!(alerts[0].score, 1.0);
        // A self-trade is an alert of its own.
        let mut d = WashTradingDetector::new(0.8, 4, 0.1);
        let alerts = watch(&mut d, 1, &fill(1, 7, 7, 3), &[]);
        assert_eq!(alerts.len(), 1);
        assert_eq!(
            (alerts[0].agents.as_slice(), alerts[0].score),
            (&[7][..], 1.0)
        );
    }

    /// Agent 1 buys 30 of the 80 tokens bought each step (agent 2 30,
    /// agent 9 20) and sells 20 a step into a rising price: its share is
    /// exactly the threshold, 0.375, which alerts, and it is alerted again
    /// only once the window of 3 steps from its last alert has passed.
    /// From a close of 0 no rise can be measured: no alert.
    #[test]
    fn a_pump_at_exactly_the_threshold_alerts_once_a_window() {
        let steps = |d: &mut PumpAndDumpDetector, history: &[f64]| -> Vec<u64> {
            let mut at = Vec::new();
            for t in 1..=12u64 {
                let mut trades = fill(t, 1, 9, 30).to_vec();
                trades.extend(fill(t, 2, 9, 30));
                trades.extend(fill(t, 9, 1, 20));
                for a in watch(d, t, &trades, &history[..=t as usize]) {
                    assert_eq!((a.agents.as_slice(), a.score), (&[1][..], 0.375));
                    at.push(a.step);
                }
            }
            at
        };
        let rising: Vec<f64> = (0..=12).map(|k| 1.2f64.powi(k)).collect();
        let mut d = PumpAndDumpDetector::new(0.375, 3, 0.1, 0.1);
        assert_eq!(steps(&mut d, &rising), [2, 5, 8, 11]);
        // a hair above the share: none
        let mut d = PumpAndDumpDetector::new(0.375 + 1e-12, 3, 0.1, 0.1);
        assert!(steps(&mut d, &rising).is_empty());
        // the same rise from a price of 0 at the window's start
        let from_zero: Vec<f64> = (0..=12).map(|k| if k < 2 { 0.0 } else { 1.0 }).collect();
        let mut d = PumpAndDumpDetector::new(0.375, 12, 0.1, 0.1);
        assert!(steps(&mut d, &from_zero).is_empty());
    }

    #[test]
    fn an_account_that_bought_the_rise_and_sells_is_flagged_and_a_small_buyer_is_not() {
        let mut d = PumpAndDumpDetector::new(0.3, 5, 0.1, 0.1);
        let history = [1.0, 1.1, 1.3, 1.5, 1.5, 1.4];
        // Steps 1–3: agent 1 buys 90 tokens, agent 2 buys 10.
        for t in 1..=3 {
            let mut trades = fill(t, 1, 9, 30).to_vec();
            if t == 1 {
                trades.extend(fill(t, 2, 9, 10));
            }
            assert!(watch(&mut d, t, &trades, &history[..=t as usize]).is_empty());
        }
        // Step 4: both sell half.
        let mut trades = fill(4, 9, 1, 45).to_vec();
        trades.extend(fill(4, 9, 2, 5));
        let alerts = watch(&mut d, 4, &trades, &history[..=4]);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(alerts[0].agents, [1]);
        // 90 of the 100 bought (agent 9 bought nothing before).
        assert!((alerts[0].score - 0.9).abs() < 1e-12);
    }
}
