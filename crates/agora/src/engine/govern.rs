//! The govern phase's rules and actions: the scenario's `[[governance]]`
//! rules with their running state, and [`Simulation::apply_governance`],
//! through which rules and [`Controller`](super::Controller)s act — set a
//! typed parameter, halt or resume a market, pay an agent.
//!
//! Two families of rules:
//!
//! - rules run at the start of a step (after the events): PI controllers
//!   (on a price or a resource's utilisation) and circuit breakers;
//! - *guards* on an asset's trades, applied in the execute phase to every
//!   action on the asset (agents' and events' sales alike), in file order:
//!   `rate_limit` drops an agent's actions past its allowance; on a bonding
//!   curve or an AMM, `position_limit` clips a buy to what keeps the buyer at most
//!   its share of the supply, `price_band` clips a trade to what keeps the
//!   price within the band around its value before the step's first trade,
//!   and `transaction_tax` takes its rate of the trade's money (a buy's
//!   budget is cut so that the buy and its tax fit it; a sell pays out of
//!   its proceeds) into its treasury or burns it, through the ledger. On
//!   an AMM the swap's input is what is cut (the pool then swaps it as any
//!   other, its slippage bound on the cut input's quote), and the tax is on
//!   the money that moved.
//!
//! Amounts are exact: a rate is quantised to `round(rate · 10⁹)` parts
//! per 10⁹, and a tax on `m` base units is `⌊m · rate⌋`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::mechanisms::Market;
use super::{curve_record, Executor, ParamChange, Simulation, Trade};
use crate::agents::{Action, Side};
use crate::error::{Error, Result};
use crate::governance::{CircuitBreaker, GovernanceAction, Param, PiController};
use crate::ledger::{wide_to_units, AgentId, TradeKind, TradeRecord};
use crate::market::mechanism::Fault;
use crate::scenario::{GovernanceRule, Measure, Scenario, TaxTo};

/// Parts per unit of a quantised rate.
const NANO: u128 = 1_000_000_000;

/// A rate in `[0, 1]` as parts per 10⁹, rounded.
fn nano(rate: f64) -> u64 {
    (rate.clamp(0.0, 1.0) * 1e9).round() as u64
}

/// `⌊money · rate / 10⁹⌋`: at most `money`, since `rate ≤ 10⁹`.
fn take(money: u128, rate: u64) -> u128 {
    money * u128::from(rate) / NANO
}

/// A scenario rule with its running state (saved with the simulation's
/// state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum RuleState {
    /// A PI controller holding `asset`'s price or utilisation by setting
    /// `param`.
    Pi {
        asset: usize,
        param: Param,
        pi: PiController,
        /// What it measures.
        #[serde(default)]
        measure: Measure,
        /// A resource's (allocated, available) totals at the last update,
        /// base units: utilisation is measured over the steps since.
        #[serde(default)]
        seen: (u128, u128),
        /// Updates made.
        #[serde(default)]
        updates: u64,
    },
    /// A circuit breaker.
    Breaker(CircuitBreaker),
    /// A price band.
    Band(Band),
    /// A position limit.
    Limit(Limit),
    /// A transaction tax.
    Tax(Tax),
    /// A rate limit.
    Rate(RateLimit),
}

/// A price band's settings and counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Band {
    asset: usize,
    max_move: f64,
    /// The step and the price before its first trade on the asset.
    reference: Option<(u64, f64)>,
    clipped: u64,
    refused: u64,
}

/// A position limit's settings and counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Limit {
    asset: usize,
    /// The largest share of the supply, parts per 10⁹.
    share: u64,
    clipped: u64,
    refused: u64,
}

/// A transaction tax's settings, state and counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tax {
    asset: usize,
    /// Parts per 10⁹.
    rate: u64,
    /// Extra on early sells, parts per 10⁹.
    early: u64,
    within: u64,
    to: TaxTo,
    /// The ledger treasury it pays into, once opened (at its first tax).
    treasury: Option<usize>,
    /// Per agent, the step of its last buy (`u64::MAX`: none); empty
    /// without an early rate.
    last_buy: Vec<u64>,
    /// Money taxed, base units.
    taxed: u128,
    /// Money of the trades taxed, base units.
    volume: u128,
    /// Trades taxed.
    trades: u64,
}

/// A rate limit's settings, state and counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RateLimit {
    asset: usize,
    max_orders: u32,
    per_steps: u64,
    /// Per agent: the window it last acted in and its actions in it.
    used: Vec<(u64, u32)>,
    refused: u64,
}

impl RuleState {
    /// Whether this rule, read from a saved state, is the simulation's own
    /// rule `own` as a run keeps it at `step`: the same kind and settings
    /// (asset, parameter, limits, rates: the scenario's, which a saved
    /// state repeats), a tax's last buys no later than the step, and
    /// counts and sums a step adds to unchecked within what a run reaches.
    /// A state edited in any of these would index past the assets, or
    /// wrap. (The per-agent tables are sized to the agents as they are
    /// used.)
    pub(super) fn fits(&self, own: &RuleState, step: u64) -> bool {
        use super::MOST_COUNT as MOST;
        const MOST_SUM: u128 = 1 << 100;
        match (self, own) {
            (
                RuleState::Pi {
                    asset,
                    param,
                    pi,
                    measure,
                    updates,
                    ..
                },
                RuleState::Pi {
                    asset: own_asset,
                    param: own_param,
                    pi: own_pi,
                    measure: own_measure,
                    ..
                },
            ) => {
                asset == own_asset
                    && param == own_param
                    && measure == own_measure
                    && pi.config() == own_pi.config()
                    && *updates <= MOST
            }
            (RuleState::Breaker(b), RuleState::Breaker(o)) => b.fits(o, MOST),
            (RuleState::Band(b), RuleState::Band(o)) => {
                b.asset == o.asset
                    && b.max_move.to_bits() == o.max_move.to_bits()
                    && b.clipped <= MOST
                    && b.refused <= MOST
            }
            (RuleState::Limit(l), RuleState::Limit(o)) => {
                l.asset == o.asset && l.share == o.share && l.clipped <= MOST && l.refused <= MOST
            }
            (RuleState::Tax(t), RuleState::Tax(o)) => {
                t.asset == o.asset
                    && t.rate == o.rate
                    && t.early == o.early
                    && t.within == o.within
                    && t.to == o.to
                    && t.last_buy.iter().all(|&b| b == u64::MAX || b <= step)
                    && t.trades <= MOST
                    && t.taxed <= MOST_SUM
                    && t.volume <= MOST_SUM
            }
            (RuleState::Rate(r), RuleState::Rate(o)) => {
                r.asset == o.asset
                    && r.max_orders == o.max_orders
                    && r.per_steps == o.per_steps
                    && r.refused <= MOST
            }
            _ => false,
        }
    }

    /// Whether the rule acts on asset `j`'s trades (a guard).
    fn guards(&self, j: usize) -> bool {
        match self {
            RuleState::Band(b) => b.asset == j,
            RuleState::Limit(l) => l.asset == j,
            RuleState::Tax(t) => t.asset == j,
            RuleState::Rate(r) => r.asset == j,
            RuleState::Pi { .. } | RuleState::Breaker(_) => false,
        }
    }
}

/// The rules, for the execute phase, when any guards trades; `None`
/// otherwise (the usual case: one predictable branch per action).
pub(super) fn guards(rules: &mut [RuleState]) -> Option<&mut [RuleState]> {
    let any = rules.iter().any(|r| {
        matches!(
            r,
            RuleState::Band(_) | RuleState::Limit(_) | RuleState::Tax(_) | RuleState::Rate(_)
        )
    });
    any.then_some(rules)
}

/// Whether any rule guards asset `j`'s trades.
#[inline]
pub(super) fn guarded(rules: &[RuleState], j: usize) -> bool {
    rules.iter().any(|r| r.guards(j))
}

/// What a governance rule did over the run (`governance.<name>` in
/// `summary.json`); the fields that do not apply to its kind are left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GovernanceSummary {
    /// The rule's kind.
    pub kind: &'static str,
    /// Times a circuit breaker tripped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trips: Option<u64>,
    /// Trades reduced by a price band or a position limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clipped: Option<u64>,
    /// Actions refused (nothing of them allowed) by a band, a limit or a
    /// rate limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<u64>,
    /// Money a transaction tax took, money units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxed: Option<f64>,
    /// Money of the trades it taxed, money units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxed_volume: Option<f64>,
    /// Trades a transaction tax taxed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxed_trades: Option<u64>,
    /// Updates a PI controller made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updates: Option<u64>,
    /// A PI controller's last output (the parameter's value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_value: Option<f64>,
    /// A PI controller's integral at the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integral: Option<f64>,
}

impl RuleState {
    /// The rule's summary.
    fn summary(&self) -> GovernanceSummary {
        let mut s = GovernanceSummary {
            kind: "",
            trips: None,
            clipped: None,
            refused: None,
            taxed: None,
            taxed_volume: None,
            taxed_trades: None,
            updates: None,
            final_value: None,
            integral: None,
        };
        match self {
            RuleState::Pi { pi, updates, .. } => {
                s.kind = "pi_controller";
                s.updates = Some(*updates);
                s.final_value = Some(pi.output());
                s.integral = Some(pi.integral());
            }
            RuleState::Breaker(b) => {
                s.kind = "circuit_breaker";
                s.trips = Some(b.trips());
            }
            RuleState::Band(b) => {
                s.kind = "price_band";
                s.clipped = Some(b.clipped);
                s.refused = Some(b.refused);
            }
            RuleState::Limit(l) => {
                s.kind = "position_limit";
                s.clipped = Some(l.clipped);
                s.refused = Some(l.refused);
            }
            RuleState::Tax(t) => {
                s.kind = "transaction_tax";
                s.taxed = Some(wide_to_units(t.taxed));
                s.taxed_volume = Some(wide_to_units(t.volume));
                s.taxed_trades = Some(t.trades);
            }
            RuleState::Rate(r) => {
                s.kind = "rate_limit";
                s.refused = Some(r.refused);
            }
        }
        s
    }
}

/// The running state of the scenario's rules, in file order.
pub(crate) fn rules_of(scenario: &Scenario) -> Result<Vec<RuleState>> {
    scenario
        .governance
        .iter()
        .map(|spec| match &spec.rule {
            GovernanceRule::PiController {
                asset,
                param,
                measure,
                config,
            } => {
                let pi = PiController::new(config.clone()).map_err(|e| {
                    Error::scenario(
                        &scenario.origin,
                        format!("governance.{}", spec.name),
                        e.to_string(),
                    )
                })?;
                Ok(RuleState::Pi {
                    asset: *asset,
                    param: param.clone(),
                    pi,
                    measure: *measure,
                    seen: (0, 0),
                    updates: 0,
                })
            }
            GovernanceRule::CircuitBreaker {
                asset,
                max_move,
                halt_steps,
                window,
            } => CircuitBreaker::new(*asset, *max_move, *halt_steps)
                .and_then(|b| b.with_window(*window))
                .map(RuleState::Breaker)
                .ok_or_else(|| {
                    Error::scenario(
                        &scenario.origin,
                        format!("governance.{}", spec.name),
                        "a circuit breaker needs max_move > 0, halt_steps >= 1 and window >= 1",
                    )
                }),
            GovernanceRule::PriceBand { asset, max_move } => Ok(RuleState::Band(Band {
                asset: *asset,
                max_move: *max_move,
                reference: None,
                clipped: 0,
                refused: 0,
            })),
            GovernanceRule::PositionLimit { asset, max_share } => Ok(RuleState::Limit(Limit {
                asset: *asset,
                share: nano(*max_share),
                clipped: 0,
                refused: 0,
            })),
            GovernanceRule::TransactionTax {
                asset,
                rate,
                early_rate,
                within,
                to,
            } => Ok(RuleState::Tax(Tax {
                asset: *asset,
                rate: nano(*rate),
                early: nano(*early_rate),
                within: *within,
                to: *to,
                treasury: None,
                last_buy: Vec::new(),
                taxed: 0,
                volume: 0,
                trades: 0,
            })),
            GovernanceRule::RateLimit {
                asset,
                max_orders,
                per_steps,
            } => Ok(RuleState::Rate(RateLimit {
                asset: *asset,
                max_orders: u32::try_from(*max_orders).unwrap_or(u32::MAX),
                per_steps: *per_steps,
                used: Vec::new(),
                refused: 0,
            })),
        })
        .collect()
}

impl Simulation {
    /// Runs the scenario's rules at the start of the current step, each on
    /// the prices after the step before, and applies what they do, rule by
    /// rule in file order.
    pub(super) fn govern_rules(&mut self) -> Result<()> {
        if self.rules.is_empty() {
            return Ok(());
        }
        let t = self.step;
        let mut rules = std::mem::take(&mut self.rules);
        let mut result = Ok(());
        for (i, rule) in rules.iter_mut().enumerate() {
            let action = match rule {
                RuleState::Pi {
                    asset,
                    param,
                    pi,
                    measure,
                    seen,
                    updates,
                } => {
                    let (measured, totals) = match measure {
                        Measure::Price => (self.price(*asset), *seen),
                        Measure::Utilisation => self.utilisation(*asset, *seen),
                    };
                    let value = pi.update(t, measured);
                    if value.is_some() {
                        *seen = totals;
                        *updates += 1;
                    }
                    value.map(|value| GovernanceAction::SetParam {
                        asset: *asset,
                        param: param.clone(),
                        value,
                    })
                }
                RuleState::Breaker(b) => b.check(t, self.price(b.asset)),
                _ => None,
            };
            if let Some(action) = action {
                let by = format!("governance.{}", self.scenario.governance[i].name);
                result = self.apply_governance(std::slice::from_ref(&action), &by);
                if result.is_err() {
                    break;
                }
            }
        }
        self.rules = rules;
        result
    }

    /// Resource `j`'s utilisation since the totals `seen` (allocated,
    /// available), and the totals now; NaN (nothing to measure) when no
    /// capacity was available since.
    fn utilisation(&self, j: usize, seen: (u128, u128)) -> (f64, (u128, u128)) {
        let Some(r) = self.markets[j].resource() else {
            return (f64::NAN, seen);
        };
        let now = (r.totals.allocated, r.totals.available);
        // Totals only grow; a saved state from elsewhere measures nothing.
        let (Some(allocated), Some(available)) =
            (now.0.checked_sub(seen.0), now.1.checked_sub(seen.1))
        else {
            return (f64::NAN, seen);
        };
        if available == 0 {
            return (f64::NAN, seen);
        }
        (allocated as f64 / available as f64, now)
    }

    /// What each governance rule did, by name (`governance` in
    /// `summary.json`).
    pub(super) fn governance_summary(&self) -> BTreeMap<String, GovernanceSummary> {
        self.rules
            .iter()
            .zip(&self.scenario.governance)
            .map(|(rule, spec)| (spec.name.clone(), rule.summary()))
            .collect()
    }

    /// Whether trading on asset `j` is halted (by a circuit breaker or a
    /// [`GovernanceAction::Halt`]).
    pub fn halted(&self, j: usize) -> bool {
        self.halted.get(j).copied().unwrap_or(false)
    }

    /// Applies governance actions now, in order, as the govern phase does
    /// with what rules and controllers return; `by` names who acts in
    /// error messages. A parameter change that raises a bonding curve is
    /// backed by a reserve top-up; a payment is a reward paid in from
    /// outside (counted in the ledger's money paid in, and in the trade log
    /// as a payment).
    pub fn apply_governance(&mut self, actions: &[GovernanceAction], by: &str) -> Result<()> {
        for action in actions {
            if let Some(asset) = action.asset() {
                if asset >= self.markets.len() {
                    return Err(Error::usage(format!(
                        "{by} at step {}: no asset with index {asset}",
                        self.step
                    )));
                }
            }
            match action {
                GovernanceAction::SetParam {
                    asset,
                    param,
                    value,
                } => {
                    let change = ParamChange {
                        asset: *asset,
                        param: param.name().to_string(),
                        value: *value,
                    };
                    self.apply_changes(std::slice::from_ref(&change), by)?;
                }
                GovernanceAction::Halt { asset } => {
                    self.halted[*asset] = true;
                    self.any_halted = true;
                }
                GovernanceAction::Resume { asset } => {
                    self.halted[*asset] = false;
                    self.any_halted = self.halted.iter().any(|&h| h);
                }
                GovernanceAction::Pay { agent, money } => {
                    if *agent as usize >= self.ledger.agents() {
                        return Err(Error::usage(format!(
                            "{by} at step {}: no agent with index {agent}",
                            self.step
                        )));
                    }
                    self.ledger.reward(*agent, *money).map_err(|e| {
                        Error::usage(format!(
                            "{by} at step {}: paying agent {agent} {money} base units: {e}",
                            self.step
                        ))
                    })?;
                    self.trades.push(TradeRecord {
                        step: self.step,
                        agent: *agent,
                        counterpart: None,
                        asset: crate::ledger::trades::NO_ASSET,
                        kind: TradeKind::Payment,
                        buy: false,
                        quantity: 0,
                        money: u128::from(*money),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The largest `t ≤ hi` with `fits(t)`, for a `fits` true up to some point
/// and false after it (a price against a band as the supply moves); 0 if
/// not even `fits(0)`.
fn last_fitting(hi: u64, fits: impl Fn(u64) -> bool) -> u64 {
    if fits(hi) {
        return hi;
    }
    if !fits(0) {
        return 0;
    }
    let (mut lo, mut hi) = (0, hi - 1);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// The most tokens an agent holding `held` may buy from `supply` and hold
/// at most `share` parts per 10⁹ of the supply after the buy:
/// the largest `t` with `(held + t)·10⁹ ≤ share·(supply + t)`, exactly.
fn limit_room(share: u64, held: u64, supply: u64) -> u64 {
    let share = u128::from(share);
    if share >= NANO {
        return u64::MAX;
    }
    let allowed = share * u128::from(supply);
    let has = u128::from(held) * NANO;
    match allowed.checked_sub(has) {
        Some(room) => u64::try_from(room / (NANO - share)).unwrap_or(u64::MAX),
        None => 0,
    }
}

impl Band {
    /// The band's reference price at `step`: the price `now` at the step's
    /// first trade on the asset, kept through the step.
    fn reference(&mut self, step: u64, now: f64) -> f64 {
        match self.reference {
            Some((s, p)) if s == step => p,
            _ => {
                self.reference = Some((step, now));
                now
            }
        }
    }
}

impl RateLimit {
    /// Counts one action of `agent` at `step`; false if its window's
    /// allowance is used up.
    fn admit(&mut self, agent: AgentId, step: u64, agents: usize) -> bool {
        if self.used.len() != agents {
            self.used.resize(agents, (u64::MAX, 0));
        }
        let window = step.saturating_sub(1) / self.per_steps;
        let used = &mut self.used[agent as usize];
        if used.0 != window {
            *used = (window, 0);
        }
        if used.1 >= self.max_orders {
            return false;
        }
        used.1 += 1;
        true
    }
}

/// A rule that reduced or refused a trade.
#[derive(Clone, Copy)]
enum Bound {
    /// By its index.
    Rule(usize),
}

/// Counts a clip (`tokens > 0` left) or a refusal by rule `i`.
fn count_bound(rules: &mut [RuleState], Bound::Rule(i): Bound, refused: bool) {
    let (clipped, refused_count) = match &mut rules[i] {
        RuleState::Band(b) => (&mut b.clipped, &mut b.refused),
        RuleState::Limit(l) => (&mut l.clipped, &mut l.refused),
        _ => return,
    };
    if refused {
        *refused_count += 1;
    } else {
        *clipped += 1;
    }
}

impl<const LOG: bool> Executor<'_, LOG> {
    /// Executes an action on an asset that governance guards (see the
    /// module doc). Out of line: the unguarded path stays as it was.
    #[cold]
    #[inline(never)]
    pub(super) fn execute_guarded(&mut self, agent: AgentId, action: Action, j: usize) {
        let Some(rules) = self.rules.take() else {
            return;
        };
        self.guarded(rules, agent, action, j);
        self.rules = Some(rules);
    }

    fn guarded(&mut self, rules: &mut [RuleState], agent: AgentId, action: Action, j: usize) {
        let agents = self.ledger.agents();
        for rule in rules.iter_mut() {
            if let RuleState::Rate(r) = rule {
                if r.asset == j && !r.admit(agent, self.step, agents) {
                    r.refused += 1;
                    return self.ledger.count_rejected();
                }
            }
        }
        match self.markets[j] {
            Market::Curve(_) => {}
            Market::Amm(_) => return self.guarded_swap(rules, agent, action, j),
            _ => return self.execute_market(agent, action, j),
        }
        match action {
            Action::Buy { spend, .. } => self.guarded_buy(rules, agent, j, spend),
            Action::Sell { amount, .. } => self.guarded_sell(rules, agent, j, amount),
            // As on an unguarded curve: nothing else trades on it.
            _ => self.ledger.count_rejected(),
        }
    }

    /// A buy on a guarded curve: the budget less what its taxes will take,
    /// clipped by position limits and price bands, then taxed.
    fn guarded_buy(&mut self, rules: &mut [RuleState], agent: AgentId, j: usize, spend: u64) {
        let step = self.step;
        let balance = self.ledger.balance(agent);
        let budget = if spend > balance {
            self.ledger.count_clipped();
            balance
        } else {
            spend
        };
        let tax_rate: u128 = rules
            .iter()
            .map(|r| match r {
                RuleState::Tax(t) if t.asset == j => u128::from(t.rate),
                _ => 0,
            })
            .sum();
        // m·(1 + rate) ≤ budget: the buy and its taxes fit the budget.
        let curve_budget =
            u64::try_from(u128::from(budget) * NANO / (NANO + tax_rate)).unwrap_or(budget);
        let supply = self.ledger.books(j).supply;
        let Market::Curve(curve) = &mut self.markets[j] else {
            return;
        };
        let quote = match curve.quote_buy(supply, curve_budget) {
            Ok(Some(quote)) => quote,
            Ok(None) => return self.ledger.count_rejected(),
            Err(e) => return self.refused(agent, j, Trade::Buy, e),
        };
        let mut tokens = quote.tokens;
        let mut bound = None;
        let held = self.ledger.holding(agent, j);
        for (i, rule) in rules.iter_mut().enumerate() {
            let cap = match rule {
                RuleState::Limit(l) if l.asset == j => limit_room(l.share, held, supply),
                RuleState::Band(b) if b.asset == j => {
                    let reference = b.reference(step, curve.spot_price(supply));
                    if !(reference > 0.0 && reference.is_finite()) {
                        continue;
                    }
                    let upper = reference * (1.0 + b.max_move);
                    // supply + tokens fits: the quote bought them.
                    last_fitting(tokens, |t| curve.spot_price(supply + t) <= upper)
                }
                _ => continue,
            };
            if cap < tokens {
                tokens = cap;
                bound = Some(Bound::Rule(i));
            }
        }
        let quote = match bound {
            None => quote,
            Some(b) if tokens == 0 => {
                count_bound(rules, b, true);
                return self.ledger.count_rejected();
            }
            Some(b) => {
                count_bound(rules, b, false);
                // Fewer tokens cost no more than the quote's: within budget.
                match curve.quote_tokens(supply, tokens) {
                    Some(q) => q,
                    None => return self.ledger.count_rejected(),
                }
            }
        };
        if let Err(e) = self
            .ledger
            .buy(agent, j, quote.tokens, quote.cost, quote.fee)
        {
            return self.refused(agent, j, Trade::Buy, e);
        }
        self.stats[j].add(quote.tokens);
        // What the agent paid the curve: the cost and the fee.
        let money = u128::from(quote.cost) + u128::from(quote.fee);
        if LOG {
            self.trades.push(curve_record(
                step,
                agent,
                j,
                TradeKind::Mint,
                quote.tokens,
                money,
            ));
        }
        self.pay_taxes(rules, agent, j, money, false);
    }

    /// A sell on a guarded curve: clipped by price bands, then taxed out of
    /// its proceeds.
    fn guarded_sell(&mut self, rules: &mut [RuleState], agent: AgentId, j: usize, amount: u64) {
        let step = self.step;
        let held = self.ledger.holding(agent, j);
        let mut tokens = if amount > held {
            self.ledger.count_clipped();
            held
        } else {
            amount
        };
        let books = *self.ledger.books(j);
        let Market::Curve(curve) = &mut self.markets[j] else {
            return;
        };
        let mut bound = None;
        for (i, rule) in rules.iter_mut().enumerate() {
            if let RuleState::Band(b) = rule {
                if b.asset != j {
                    continue;
                }
                let reference = b.reference(step, curve.spot_price(books.supply));
                if !(reference > 0.0 && reference.is_finite()) {
                    continue;
                }
                let lower = reference * (1.0 - b.max_move);
                // tokens ≤ held ≤ supply.
                let cap = last_fitting(tokens, |t| curve.spot_price(books.supply - t) >= lower);
                if cap < tokens {
                    tokens = cap;
                    bound = Some(Bound::Rule(i));
                }
            }
        }
        if let Some(b) = bound {
            count_bound(rules, b, tokens == 0);
            if tokens == 0 {
                return self.ledger.count_rejected();
            }
        }
        let quote = match curve.quote_sell(books.supply, books.reserve, tokens) {
            Ok(q) if tokens > 0 && q.refund > 0 => q,
            Ok(_) => return self.ledger.count_rejected(),
            Err(e) => return self.refused(agent, j, Trade::Sell, e),
        };
        if let Err(e) = self.ledger.sell(agent, j, tokens, quote.refund, quote.fee) {
            return self.refused(agent, j, Trade::Sell, e);
        }
        self.stats[j].add(tokens);
        // What the agent received: the refund less the fee.
        let money = u128::from(quote.refund - quote.fee);
        if LOG {
            self.trades
                .push(curve_record(step, agent, j, TradeKind::Burn, tokens, money));
        }
        self.pay_taxes(rules, agent, j, money, true);
    }

    /// A swap on a guarded AMM: its input cut to what the agent has, less
    /// what its taxes will take on a buy; clipped by position limits (the
    /// tokens out) and price bands (the pool's price after it), then
    /// executed by the pool as any swap (its slippage bound on the clipped
    /// input's quote) and taxed on the money that moved.
    fn guarded_swap(&mut self, rules: &mut [RuleState], agent: AgentId, action: Action, j: usize) {
        let (side, amount) = match action {
            Action::Buy { spend, .. } => (Side::Buy, spend),
            Action::Sell { amount, .. } => (Side::Sell, amount),
            Action::Swap { side, amount, .. } => (side, amount),
            _ => return self.execute_market(agent, action, j),
        };
        let step = self.step;
        let buy = side == Side::Buy;
        let has = if buy {
            self.ledger.balance(agent)
        } else {
            self.ledger.holding(agent, j)
        };
        let mut input = if amount > has {
            self.ledger.count_clipped();
            has
        } else {
            amount
        };
        if buy {
            let tax_rate: u128 = rules
                .iter()
                .map(|r| match r {
                    RuleState::Tax(t) if t.asset == j => u128::from(t.rate),
                    _ => 0,
                })
                .sum();
            input = u64::try_from(u128::from(input) * NANO / (NANO + tax_rate)).unwrap_or(input);
        }
        let Market::Amm(amm) = &self.markets[j] else {
            return;
        };
        let pool = amm.pool();
        let (r_money, r_token) = (pool.reserve_money(), pool.reserve_token());
        // The pool's price after a swap of `x` (all the input stays in it).
        let price_after = |x: u64| -> f64 {
            let Ok(out) = pool.quote_out(side, u128::from(x)) else {
                return f64::NAN;
            };
            if buy {
                (r_money + u128::from(x)) as f64 / (r_token - out) as f64
            } else {
                (r_money - out) as f64 / (r_token + u128::from(x)) as f64
            }
        };
        let held = self.ledger.holding(agent, j);
        let supply = self.ledger.books(j).supply;
        let mut bound = None;
        for (i, rule) in rules.iter_mut().enumerate() {
            let cap = match rule {
                RuleState::Limit(l) if l.asset == j && buy => {
                    // Swaps mint nothing: the supply stays; tokens out at
                    // most ⌊share·S/10⁹⌋ − held.
                    let most = u128::from(l.share) * u128::from(supply) / NANO;
                    let room = most.saturating_sub(u128::from(held));
                    last_fitting(input, |x| {
                        pool.quote_out(side, u128::from(x))
                            .is_ok_and(|out| out <= room)
                    })
                }
                RuleState::Band(b) if b.asset == j => {
                    let reference = b.reference(step, pool.spot_price());
                    if !(reference > 0.0 && reference.is_finite()) {
                        continue;
                    }
                    if buy {
                        let upper = reference * (1.0 + b.max_move);
                        last_fitting(input, |x| price_after(x) <= upper)
                    } else {
                        let lower = reference * (1.0 - b.max_move);
                        last_fitting(input, |x| price_after(x) >= lower)
                    }
                }
                _ => continue,
            };
            if cap < input {
                input = cap;
                bound = Some(Bound::Rule(i));
            }
        }
        if let Some(b) = bound {
            count_bound(rules, b, input == 0);
            if input == 0 {
                return self.ledger.count_rejected();
            }
        }
        let asset = j as u32;
        let clipped = match action {
            Action::Buy { .. } => Action::Buy {
                asset,
                spend: input,
            },
            Action::Sell { .. } => Action::Sell {
                asset,
                amount: input,
            },
            Action::Swap {
                max_slippage,
                priority_fee,
                ..
            } => Action::Swap {
                asset,
                side,
                amount: input,
                max_slippage,
                priority_fee,
            },
            other => other,
        };
        let before = self.ledger.balance(agent);
        self.execute_market(agent, clipped, j);
        let after = self.ledger.balance(agent);
        // The money that moved: paid in on a buy, paid out on a sell (none
        // if the pool refused the swap).
        let money = if buy {
            before.checked_sub(after)
        } else {
            after.checked_sub(before)
        };
        if let Some(money) = money.filter(|&m| m > 0) {
            self.pay_taxes(rules, agent, j, u128::from(money), !buy);
        }
    }

    /// The transaction taxes on asset `j` of a trade of `money` base units
    /// by `agent`: each rule's rate (and its early rate on a sell soon
    /// after a buy) of it, into its treasury or burned.
    fn pay_taxes(
        &mut self,
        rules: &mut [RuleState],
        agent: AgentId,
        j: usize,
        money: u128,
        sell: bool,
    ) {
        let step = self.step;
        let agents = self.ledger.agents();
        for rule in rules.iter_mut() {
            let RuleState::Tax(t) = rule else {
                continue;
            };
            if t.asset != j {
                continue;
            }
            let mut rate = t.rate;
            if t.early > 0 {
                if t.last_buy.len() != agents {
                    t.last_buy.resize(agents, u64::MAX);
                }
                let last = &mut t.last_buy[agent as usize];
                if !sell {
                    *last = step;
                } else if *last != u64::MAX && step - *last <= t.within {
                    rate += t.early;
                }
            }
            // At most `money`, which fits a u64 (a budget or a refund).
            let Ok(tax) = u64::try_from(take(money, rate)) else {
                continue;
            };
            let paid = if tax == 0 {
                Ok(())
            } else {
                match t.to {
                    TaxTo::Treasury => {
                        let id = match t.treasury {
                            Some(id) => id,
                            None => {
                                let id = self.ledger.open_treasury(None);
                                t.treasury = Some(id);
                                id
                            }
                        };
                        self.ledger.pay_into_treasury(id, agent, tax)
                    }
                    TaxTo::Burn => self.ledger.burn_money(agent, tax),
                }
            };
            if let Err(e) = paid {
                let fault = Fault::bug(format!(
                    "a transaction tax of {tax} base units on agent {agent}: {e}"
                ))
                .on(j);
                self.fault.get_or_insert(fault);
                return;
            }
            t.taxed += u128::from(tax);
            t.volume += money;
            t.trades += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last buys a tax keeps per agent, after two buyers bought at
    /// step 1 and at step 2 (a 10% tax on a linear curve, with
    /// `early_rate = early` when given).
    fn last_buys(early: Option<f64>) -> Vec<u64> {
        let early = early.map_or(String::new(), |r| format!("early_rate = {r:?}\nwithin = 3"));
        let text = format!(
            r#"
[simulation]
steps = 3
seed = 1
[[assets]]
name = "X"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}
[[agents]]
group = "first"
count = 1
balance = 100.0
policy = {{ kind = "scripted", asset = "X", actions = [{{ step = 1, action = "buy", spend = 10.0 }}] }}
[[agents]]
group = "second"
count = 1
balance = 100.0
policy = {{ kind = "scripted", asset = "X", actions = [{{ step = 2, action = "buy", spend = 10.0 }}] }}
[[governance]]
name = "tax"
kind = "transaction_tax"
asset = "X"
rate = 0.1
{early}
"#
        );
        let s = crate::Scenario::from_toml_str(&text, "tax.toml").unwrap();
        let mut sim = crate::Simulation::new(&s, 0).unwrap();
        while !sim.done() {
            sim.advance().unwrap();
        }
        match &sim.rules[..] {
            [RuleState::Tax(t)] => {
                assert_eq!(t.trades, 2, "both buys taxed");
                t.last_buy.clone()
            }
            other => panic!("one tax expected: {other:?}"),
        }
    }

    /// A saved rule fits only as the scenario's rule as a run keeps it:
    /// each kind's settings (the `resume_checkpoint` fuzz target found a
    /// PI controller's asset edited to 48 of 3, indexed at the next step),
    /// a tax's last buys no later than the step, and its counts within
    /// what a run reaches; at the edges it fits.
    #[test]
    fn a_saved_rule_fits_only_as_the_scenarios_rule_as_a_run_keeps_it() {
        let text = r#"
[simulation]
steps = 6
seed = 1
[[assets]]
name = "X"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.01 }
[[assets]]
name = "Y"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }
[[agents]]
group = "traders"
count = 4
balance = 100.0
policy = { kind = "random", asset = "X", p_buy = 0.5, p_sell = 0.3, buy_fraction = 0.1, sell_fraction = 0.5 }
[[governance]]
name = "pi"
kind = "pi_controller"
asset = "X"
param = "fee"
target = 1.0
kp = 0.01
base = 0.01
min = 0.0
max = 0.1
[[governance]]
name = "breaker"
kind = "circuit_breaker"
asset = "X"
max_move = 0.5
halt_steps = 2
window = 2
[[governance]]
name = "band"
kind = "price_band"
asset = "X"
max_move = 0.5
[[governance]]
name = "cap"
kind = "position_limit"
asset = "X"
max_share = 0.9
[[governance]]
name = "tax"
kind = "transaction_tax"
asset = "X"
rate = 0.01
early_rate = 0.1
within = 2
[[governance]]
name = "rate"
kind = "rate_limit"
asset = "X"
max_orders = 2
per_steps = 2
"#;
        let s = crate::Scenario::from_toml_str(text, "rules.toml").unwrap();
        let mut sim = crate::Simulation::new(&s, 0).unwrap();
        for _ in 0..3 {
            sim.advance().unwrap();
        }
        let own = sim.rules.clone();
        assert_eq!(own.len(), 6);
        for (saved, own) in own.iter().zip(&own) {
            assert!(saved.fits(own, 3), "a run's own rule: {own:?}");
        }
        let most = crate::engine::MOST_COUNT;
        type Edit = Box<dyn Fn(&mut RuleState)>;
        let edits: Vec<(usize, &str, Edit)> = vec![
            (
                0,
                "pi asset",
                Box::new(|r| {
                    if let RuleState::Pi { asset, .. } = r {
                        *asset = 48
                    }
                }),
            ),
            (
                0,
                "pi param",
                Box::new(|r| {
                    if let RuleState::Pi { param, .. } = r {
                        *param = crate::governance::Param::Curve("m".into())
                    }
                }),
            ),
            (
                0,
                "pi measure",
                Box::new(|r| {
                    if let RuleState::Pi { measure, .. } = r {
                        *measure = Measure::Utilisation
                    }
                }),
            ),
            (
                0,
                "pi updates",
                Box::new(move |r| {
                    if let RuleState::Pi { updates, .. } = r {
                        *updates = most + 1
                    }
                }),
            ),
            (
                1,
                "breaker asset",
                Box::new(|r| {
                    if let RuleState::Breaker(b) = r {
                        b.asset = 1
                    }
                }),
            ),
            (
                1,
                "breaker move",
                Box::new(|r| {
                    if let RuleState::Breaker(b) = r {
                        b.max_move = 0.25
                    }
                }),
            ),
            (
                1,
                "breaker halt",
                Box::new(|r| {
                    if let RuleState::Breaker(b) = r {
                        b.halt_steps = 3
                    }
                }),
            ),
            (
                1,
                "breaker window",
                Box::new(|r| {
                    if let RuleState::Breaker(b) = r {
                        b.window = 3
                    }
                }),
            ),
            (
                2,
                "band asset",
                Box::new(|r| {
                    if let RuleState::Band(b) = r {
                        b.asset = 1
                    }
                }),
            ),
            (
                2,
                "band move",
                Box::new(|r| {
                    if let RuleState::Band(b) = r {
                        b.max_move = 0.25
                    }
                }),
            ),
            (
                2,
                "band clipped",
                Box::new(move |r| {
                    if let RuleState::Band(b) = r {
                        b.clipped = most + 1
                    }
                }),
            ),
            (
                2,
                "band refused",
                Box::new(move |r| {
                    if let RuleState::Band(b) = r {
                        b.refused = most + 1
                    }
                }),
            ),
            (
                3,
                "limit asset",
                Box::new(|r| {
                    if let RuleState::Limit(l) = r {
                        l.asset = 1
                    }
                }),
            ),
            (
                3,
                "limit share",
                Box::new(|r| {
                    if let RuleState::Limit(l) = r {
                        l.share += 1
                    }
                }),
            ),
            (
                3,
                "limit clipped",
                Box::new(move |r| {
                    if let RuleState::Limit(l) = r {
                        l.clipped = most + 1
                    }
                }),
            ),
            (
                3,
                "limit refused",
                Box::new(move |r| {
                    if let RuleState::Limit(l) = r {
                        l.refused = most + 1
                    }
                }),
            ),
            (
                4,
                "tax asset",
                Box::new(|r| {
                    if let RuleState::Tax(t) = r {
                        t.asset = 1
                    }
                }),
            ),
            (
                4,
                "tax rate",
                Box::new(|r| {
                    if let RuleState::Tax(t) = r {
                        t.rate += 1
                    }
                }),
            ),
            (
                4,
                "tax early",
                Box::new(|r| {
                    if let RuleState::Tax(t) = r {
                        t.early += 1
                    }
                }),
            ),
            (
                4,
                "tax within",
                Box::new(|r| {
                    if let RuleState::Tax(t) = r {
                        t.within += 1
                    }
                }),
            ),
            (
                4,
                "tax last buy",
                Box::new(|r| {
                    if let RuleState::Tax(t) = r {
                        t.last_buy = vec![u64::MAX, 4, 0, 1]
                    }
                }),
            ),
            (
                4,
                "tax trades",
                Box::new(move |r| {
                    if let RuleState::Tax(t) = r {
                        t.trades = most + 1
                    }
                }),
            ),
            (
                4,
                "tax taxed",
                Box::new(|r| {
                    if let RuleState::Tax(t) = r {
                        t.taxed = (1 << 100) + 1
                    }
                }),
            ),
            (
                4,
                "tax volume",
                Box::new(|r| {
                    if let RuleState::Tax(t) = r {
                        t.volume = (1 << 100) + 1
                    }
                }),
            ),
            (
                5,
                "rate asset",
                Box::new(|r| {
                    if let RuleState::Rate(l) = r {
                        l.asset = 1
                    }
                }),
            ),
            (
                5,
                "rate orders",
                Box::new(|r| {
                    if let RuleState::Rate(l) = r {
                        l.max_orders += 1
                    }
                }),
            ),
            (
                5,
                "rate steps",
                Box::new(|r| {
                    if let RuleState::Rate(l) = r {
                        l.per_steps += 1
                    }
                }),
            ),
            (
                5,
                "rate refused",
                Box::new(move |r| {
                    if let RuleState::Rate(l) = r {
                        l.refused = most + 1
                    }
                }),
            ),
        ];
        for (k, what, edit) in &edits {
            let mut saved = own[*k].clone();
            edit(&mut saved);
            assert_ne!(saved, own[*k], "{what}: nothing edited");
            assert!(!saved.fits(&own[*k], 3), "{what}: fits");
        }
        // Another kind of rule does not fit; the edges do.
        assert!(!own[1].fits(&own[2], 3));
        let mut edge = own.clone();
        if let RuleState::Tax(t) = &mut edge[4] {
            t.last_buy = vec![u64::MAX, 3, 0, 1];
            t.trades = most;
            t.taxed = 1 << 100;
            t.volume = 1 << 100;
        }
        if let RuleState::Band(b) = &mut edge[2] {
            b.clipped = most;
            b.refused = most;
        }
        if let RuleState::Limit(l) = &mut edge[3] {
            l.clipped = most;
            l.refused = most;
        }
        if let RuleState::Rate(l) = &mut edge[5] {
            l.refused = most;
        }
        if let RuleState::Pi { updates, .. } = &mut edge[0] {
            *updates = most;
        }
        for (saved, own) in edge.iter().zip(&own) {
            assert!(saved.fits(own, 3), "at the edge: {saved:?}");
        }
    }

    /// `Tax::last_buy` is kept only where an early rate reads it, as its
    /// doc says: empty without one (no 8 bytes per agent in the state and
    /// its checkpoints), each agent's buy step with one.
    #[test]
    fn a_tax_keeps_its_buyers_last_buys_only_with_an_early_rate() {
        assert_eq!(last_buys(None), Vec::<u64>::new());
        assert_eq!(last_buys(Some(0.5)), vec![1, 2]);
    }

    #[test]
    fn a_rate_is_quantised_to_its_rounded_parts_per_billion_within_zero_and_one() {
        assert_eq!(nano(0.25), 250_000_000);
        assert_eq!(nano(0.0), 0);
        assert_eq!(nano(1.0), 1_000_000_000);
        // Rounded to the nearest part, not cut: 0.6 and 1.4 parts.
        assert_eq!(nano(0.6e-9), 1);
        assert_eq!(nano(1.4e-9), 1);
        assert_eq!(nano(2.5e-9 + 1e-12), 3);
        // Clamped into [0, 1].
        assert_eq!(nano(-0.5), 0);
        assert_eq!(nano(7.0), 1_000_000_000);
    }

    #[test]
    fn a_tax_takes_the_floor_of_money_times_rate_over_a_billion() {
        // 1000 base units at a quarter: 250; at one part per billion: 0
        // (1000/10⁹ floored); the whole at rate 1.
        assert_eq!(take(1000, 250_000_000), 250);
        assert_eq!(take(1000, 1), 0);
        assert_eq!(take(3_000_000_000, 1), 3);
        assert_eq!(take(1000, 1_000_000_000), 1000);
        assert_eq!(take(0, 500_000_000), 0);
        // 7 · 0.3 = 2.1: floored to 2; 9 · 0.5 = 4.5: 4.
        assert_eq!(take(7, 300_000_000), 2);
        assert_eq!(take(9, 500_000_000), 4);
        // A money no u64 holds, exactly.
        let big = u128::from(u64::MAX) * 10;
        assert_eq!(take(big, 100_000_000), u128::from(u64::MAX));
    }

    /// `last_fitting` against a walk over every `t` for each threshold:
    /// the largest `t ≤ hi` whose predicate `t ≤ k` holds, 0 if none.
    #[test]
    fn the_last_fitting_point_is_the_largest_fitting_one_below_the_bound() {
        for hi in 0..=40u64 {
            for k in -1..=45i64 {
                let fits = |t: u64| (t as i64) <= k;
                let naive = (0..=hi).filter(|&t| fits(t)).max().unwrap_or(0);
                assert_eq!(last_fitting(hi, fits), naive, "hi {hi}, fitting up to {k}");
            }
        }
        // At the top of the range: no overflow, and the exact point.
        assert_eq!(last_fitting(u64::MAX, |t| t <= 12_345), 12_345);
        assert_eq!(last_fitting(u64::MAX, |_| true), u64::MAX);
        assert_eq!(last_fitting(u64::MAX, |t| t < u64::MAX), u64::MAX - 1);
        assert_eq!(last_fitting(u64::MAX, |_| false), 0);
        // Asked of a predicate false at 0 but true later (not monotone):
        // 0, as documented, never a later point.
        assert_eq!(last_fitting(10, |t| t == 10), 10);
        assert_eq!(last_fitting(10, |t| t == 5), 0);
    }

    /// `limit_room(share, held, supply)` is the largest `t` with
    /// `(held + t)·10⁹ ≤ share·(supply + t)`: checked by the inequality
    /// itself at `t` and `t + 1`, in u128, over a grid; 0 when even `t = 0`
    /// does not fit, and no limit at a share of the whole supply or more.
    #[test]
    fn the_room_under_a_position_limit_is_the_largest_buy_that_keeps_the_share() {
        let fits = |share: u64, held: u64, supply: u64, t: u128| {
            (u128::from(held) + t) * 1_000_000_000 <= u128::from(share) * (u128::from(supply) + t)
        };
        let shares = [0, 1, 10_000_000, 250_000_000, 500_000_000, 999_999_999];
        for share in shares {
            for held in [0u64, 1, 2, 3, 7, 50, 1_000, 123_456_789] {
                for supply in [0u64, 1, 9, 10, 100, 1_000, 99_999, 10_000_000_000] {
                    let t = limit_room(share, held, supply);
                    if fits(share, held, supply, 0) {
                        assert!(
                            fits(share, held, supply, u128::from(t)),
                            "share {share} held {held} supply {supply}: {t} does not fit"
                        );
                        assert!(
                            !fits(share, held, supply, u128::from(t) + 1),
                            "share {share} held {held} supply {supply}: {t} + 1 fits too"
                        );
                    } else {
                        assert_eq!(t, 0, "share {share} held {held} supply {supply}");
                    }
                }
            }
        }
        // By hand: 10% of 1000 with 40 held: (40 + t) ≤ 0.1 (1000 + t),
        // t ≤ 60 / 0.9 = 66.7: 66.
        assert_eq!(limit_room(100_000_000, 40, 1_000), 66);
        // Already above the share: nothing.
        assert_eq!(limit_room(100_000_000, 101, 1_000), 0);
        // The whole supply or more: no limit.
        assert_eq!(limit_room(1_000_000_000, 5, 10), u64::MAX);
        assert_eq!(limit_room(2_000_000_000, 5, 10), u64::MAX);
        // A room no u64 holds is u64::MAX: (10⁹ − 1)·S/1 with S = u64::MAX.
        assert_eq!(limit_room(999_999_999, 0, u64::MAX), u64::MAX);
    }

    #[test]
    fn a_bands_reference_is_the_price_at_the_steps_first_trade() {
        let mut b = Band {
            asset: 0,
            max_move: 0.1,
            reference: None,
            clipped: 0,
            refused: 0,
        };
        assert_eq!(b.reference(3, 2.0), 2.0);
        // Later in step 3 the price moved; the reference stays.
        assert_eq!(b.reference(3, 2.5), 2.0);
        assert_eq!(b.reference(3, 1.5), 2.0);
        // Step 4's first trade sets it anew, kept through step 4.
        assert_eq!(b.reference(4, 2.5), 2.5);
        assert_eq!(b.reference(4, 9.0), 2.5);
        assert_eq!(b.reference, Some((4, 2.5)));
    }

    /// A rate limit of `max` actions per `per` steps against a naive count
    /// of each agent's actions in its window `⌊(step − 1)/per⌋`.
    #[test]
    fn a_rate_limit_admits_each_agent_its_allowance_per_window_and_no_more() {
        for (max, per) in [(1u32, 1u64), (2, 3), (3, 2), (0, 4)] {
            let mut r = RateLimit {
                asset: 0,
                max_orders: max,
                per_steps: per,
                used: Vec::new(),
                refused: 0,
            };
            let mut naive = std::collections::BTreeMap::<(AgentId, u64), u32>::new();
            for step in 1..=13u64 {
                // Agent 0 tries three times a step, agent 2 once, agent 1
                // on even steps only.
                let tries: &[AgentId] = if step % 2 == 0 {
                    &[0, 1, 2, 0, 0]
                } else {
                    &[0, 2, 0, 0]
                };
                for &a in tries {
                    let used = naive.entry((a, (step - 1) / per)).or_insert(0);
                    let expected = *used < max;
                    if expected {
                        *used += 1;
                    }
                    assert_eq!(
                        r.admit(a, step, 3),
                        expected,
                        "{max} per {per}: agent {a} at step {step}"
                    );
                }
            }
            assert_eq!(r.used.len(), 3);
        }
    }

    #[test]
    fn a_clip_and_a_refusal_count_on_the_rule_that_bound_the_trade() {
        let band = Band {
            asset: 0,
            max_move: 0.1,
            reference: None,
            clipped: 0,
            refused: 0,
        };
        let limit = Limit {
            asset: 1,
            share: 1,
            clipped: 0,
            refused: 0,
        };
        let mut rules = vec![
            RuleState::Band(band),
            RuleState::Limit(limit),
            RuleState::Rate(RateLimit {
                asset: 0,
                max_orders: 1,
                per_steps: 1,
                used: Vec::new(),
                refused: 0,
            }),
        ];
        count_bound(&mut rules, Bound::Rule(0), false);
        count_bound(&mut rules, Bound::Rule(0), false);
        count_bound(&mut rules, Bound::Rule(0), true);
        count_bound(&mut rules, Bound::Rule(1), true);
        count_bound(&mut rules, Bound::Rule(2), true);
        let counts: Vec<_> = rules
            .iter()
            .map(|r| {
                let s = r.summary();
                (s.kind, s.clipped, s.refused)
            })
            .collect();
        assert_eq!(
            counts,
            [
                ("price_band", Some(2), Some(1)),
                ("position_limit", Some(0), Some(1)),
                // A rate limit counts its own refusals, not bounds.
                ("rate_limit", None, Some(0)),
            ]
        );
    }

    #[test]
    fn only_the_guards_on_an_asset_guard_its_trades() {
        let breaker = CircuitBreaker::new(0, 0.5, 2).unwrap();
        let mut rules = vec![RuleState::Breaker(breaker)];
        assert!(
            guards(&mut rules).is_none(),
            "a breaker alone guards no trade"
        );
        assert!(!guarded(&rules, 0));
        rules.push(RuleState::Limit(Limit {
            asset: 2,
            share: 1,
            clipped: 0,
            refused: 0,
        }));
        assert_eq!(guards(&mut rules).map(|r| r.len()), Some(2));
        assert!(guarded(&rules, 2));
        assert!(!guarded(&rules, 0) && !guarded(&rules, 1));
        for rule in [
            RuleState::Band(Band {
                asset: 1,
                max_move: 0.1,
                reference: None,
                clipped: 0,
                refused: 0,
            }),
            RuleState::Tax(tax(1, 0)),
            RuleState::Rate(RateLimit {
                asset: 1,
                max_orders: 1,
                per_steps: 1,
                used: Vec::new(),
                refused: 0,
            }),
        ] {
            let mut one = vec![rule];
            assert!(guards(&mut one).is_some());
            assert!(guarded(&one, 1) && !guarded(&one, 2) && !guarded(&one, 0));
        }
    }

    fn tax(asset: usize, rate: u64) -> Tax {
        Tax {
            asset,
            rate,
            early: 0,
            within: 0,
            to: TaxTo::Burn,
            treasury: None,
            last_buy: Vec::new(),
            taxed: 0,
            volume: 0,
            trades: 0,
        }
    }

    #[test]
    fn a_rules_summary_reports_its_own_counts_in_units() {
        let mut t = tax(0, 1);
        t.taxed = 1_500_000_000;
        t.volume = 30_000_000_000;
        t.trades = 7;
        let s = RuleState::Tax(t).summary();
        assert_eq!(s.kind, "transaction_tax");
        assert_eq!(s.taxed, Some(1.5));
        assert_eq!(s.taxed_volume, Some(30.0));
        assert_eq!(s.taxed_trades, Some(7));
        assert_eq!((s.clipped, s.refused, s.trips), (None, None, None));

        let mut r = RateLimit {
            asset: 0,
            max_orders: 1,
            per_steps: 1,
            used: Vec::new(),
            refused: 4,
        };
        r.refused += 1;
        let s = RuleState::Rate(r).summary();
        assert_eq!(
            (s.kind, s.refused, s.clipped),
            ("rate_limit", Some(5), None)
        );

        let s = RuleState::Limit(Limit {
            asset: 0,
            share: 1,
            clipped: 3,
            refused: 2,
        })
        .summary();
        assert_eq!(
            (s.kind, s.clipped, s.refused),
            ("position_limit", Some(3), Some(2))
        );

        let s = RuleState::Band(Band {
            asset: 0,
            max_move: 0.1,
            reference: None,
            clipped: 6,
            refused: 1,
        })
        .summary();
        assert_eq!(
            (s.kind, s.clipped, s.refused),
            ("price_band", Some(6), Some(1))
        );

        let s = RuleState::Breaker(CircuitBreaker::new(0, 0.5, 2).unwrap()).summary();
        assert_eq!(
            (s.kind, s.trips, s.taxed),
            ("circuit_breaker", Some(0), None)
        );
    }
}
