//! Incentive rules: rewards and penalties that guide agents, each paid from
//! a named, finite funding source in the exact ledger.
//!
//! A scenario's `[[incentives]]` (see [`crate::scenario::incentives`]) are
//! run by [`Incentives`], which the engine calls twice a step:
//!
//! - in the **govern** phase (`Incentives::govern`): emissions mint this
//!   step's tokens into their rules' treasuries; unbonded stakes return to
//!   their owners; `holding_reward` and `staking` pay for what agents hold
//!   and stake at the start of the step; staking agents then stake or
//!   unstake to keep their `share` staked;
//! - after the step's trades are settled (`Incentives::settle`), from
//!   the step's trade log: `early_sell_penalty` charges sales made within
//!   `within` steps of the seller's last buy, `volume_reward` pays for
//!   traded volume, and `burn` burns a share of the fees collected.
//!
//! # Amounts, exactly
//!
//! A rate is quantised to the base unit: `r = round(rate · 10⁹)` base units
//! of reward per unit (10⁹ base units) held, staked or traded. An agent's
//! reward for an amount `h` (base units) is `⌊h · r / 10⁹⌋` base units: the
//! floor, the remainder staying in the treasury. A penalty is
//! `⌊money · round(rate · 10⁹) / 10⁹⌋` of the sale's proceeds, at most the
//! seller's balance.
//!
//! # Budgets
//!
//! A rule pays from its treasury. When what it owes in a step exceeds what
//! the treasury holds, it pays each agent `⌊due · held / total due⌋` (pro
//! rata, floor; the dust stays in the treasury); if no funding will come
//! any more (a treasury, or an emission past its cap or its schedule's
//! end), that step is the rule's `budget_exhausted_step` and it pays
//! nothing after. A rule therefore never pays more than it was funded.
//!
//! Emission schedules mint `e(t)` base units at step `t` (`e₀` = `per_step`
//! in base units), until `cap` is reached (the last mint is cut to it):
//! `constant` `e₀`; `linear` `⌊e₀ · (P − (t−1)) / P⌋` for `t ≤ P`, then 0;
//! `halving` `e₀ >> ⌊(t−1)/P⌋` (`P` = `steps` or `every`).

mod csv;
mod staker;

pub use self::csv::{currency_and_reason, incentives_csv, INCENTIVES_FILE, INCENTIVE_COLUMNS};
pub use self::staker::StakerPolicy;

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

use crate::error::{Error, Result};
use crate::ledger::{to_base, wide_to_units, AgentId, Ledger, TradeKind, TradeRecord, SCALE};
use crate::scenario::incentives::{
    Currency, Funding, IncentiveRule, IncentiveSpec, Participation, PenaltyTo, ScheduleKind,
    VolumeBasis,
};
use crate::scenario::Scenario;

/// What a row of `incentives.csv` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flow {
    /// A reward paid from the rule's treasury.
    Reward,
    /// A penalty charged.
    Penalty,
    /// Money burned (a penalty or fees).
    Burn,
    /// Tokens minted into the treasury by an emission.
    Mint,
    /// Tokens staked.
    Stake,
    /// Tokens unstaked (the unbonding starts).
    Unstake,
    /// Unbonded tokens returned to their owner.
    Release,
    /// Staked tokens burned (a slashing).
    Slash,
    /// The budget ran out: the rule pays nothing from now on.
    Exhausted,
}

impl Flow {
    /// The name written in `incentives.csv`'s `kind` column.
    pub fn name(self) -> &'static str {
        match self {
            Flow::Reward => "reward",
            Flow::Penalty => "penalty",
            Flow::Burn => "burn",
            Flow::Mint => "mint",
            Flow::Stake => "stake",
            Flow::Unstake => "unstake",
            Flow::Release => "release",
            Flow::Slash => "slash",
            Flow::Exhausted => "exhausted",
        }
    }
}

/// One row of `incentives.csv`: a rule's flow in a step, summed over its
/// agents, or one agent's (rules with `record = "agents"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncentiveRecord {
    /// The step.
    pub step: u64,
    /// The rule's index in `[[incentives]]`.
    pub rule: u32,
    /// The agent, or `None` for a row summed over agents.
    pub agent: Option<AgentId>,
    /// How many agents the row sums over.
    pub agents: u64,
    /// What moved.
    pub flow: Flow,
    /// How much, base units of the rule's currency (money for penalties
    /// and burns, the staked asset's tokens for stakes).
    pub amount: u128,
    /// What the rule's funding holds and will still mint after the row,
    /// base units (`None` for a rule that pays nothing).
    pub budget_left: Option<u128>,
}

/// The running state of one rule (saved with the simulation's state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleState {
    /// Its ledger treasury (paying rules and penalties kept).
    treasury: Option<usize>,
    /// Paid out, base units.
    paid: u128,
    /// Penalties collected into the treasury, base units.
    collected: u128,
    /// Money burned, base units.
    burned: u128,
    /// Staked tokens burned by a slashing, base units.
    slashed: u128,
    /// Tokens minted by an emission, base units.
    minted: u128,
    /// The step the budget ran out.
    exhausted: Option<u64>,
    /// Agents ever paid, as a bitset over agent ids.
    received: Vec<u64>,
    /// How many agents were ever paid.
    recipients: u64,
    /// Per agent, a step (holding rewards: since when the holding is at
    /// or above the minimum; penalties: the last buy; `u64::MAX`: none).
    since: Vec<u64>,
    /// Per agent, tokens staked (staking).
    stakes: Vec<u64>,
    /// Unbonding stakes: (release step, agent, tokens), in release order.
    unbonding: VecDeque<(u64, AgentId, u64)>,
    /// The fee pool after the last burn (burn).
    fee_pool: u128,
}

/// Whether trade `t` is a trade of `spec`'s asset by an agent in
/// `eligible`.
fn counts(eligible: &[Range<AgentId>], spec: &IncentiveSpec, t: &TradeRecord) -> bool {
    t.asset as usize == spec.asset
        && matches!(t.kind, TradeKind::Mint | TradeKind::Burn | TradeKind::Fill)
        && eligible.iter().any(|r| r.contains(&t.agent))
}

/// The incentive rules of a run with their state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Incentives {
    rules: Vec<RuleState>,
    /// Per rule, the agent ranges of its eligible groups.
    eligible: Vec<Vec<Range<AgentId>>>,
    /// What agents see of the rules, refreshed after each of their calls.
    infos: Vec<IncentiveInfo>,
    /// Whether the infos show the stakes (some group stakes by its own
    /// actions).
    show_stakes: bool,
}

/// What an agent sees of an incentive rule ([`Observation::incentives`](crate::agents::Observation::incentives)):
/// its terms, whether it still pays, and who is eligible.
#[derive(Debug, Clone, PartialEq)]
pub struct IncentiveInfo {
    /// The rule's name.
    pub name: String,
    /// Its kind.
    pub kind: crate::scenario::IncentiveKind,
    /// Index of the asset it concerns.
    pub asset: u32,
    /// Its rate: reward per unit held, staked or traded per step (in the
    /// funding's currency), or the share of a sale's proceeds a penalty
    /// takes, or the share of fees burned.
    pub rate: f64,
    /// Steps: `min_hold_steps` (holding), `unbonding` (staking),
    /// `within` (early-sell penalty); 0 otherwise.
    pub steps: u64,
    /// The least holding rewarded (`min_holding`), or the share kept
    /// staked (staking with `share`); 0 otherwise.
    pub threshold: f64,
    /// Whether it pays or charges now (false once its budget ran out).
    pub active: bool,
    /// What its funding holds and will still mint, units (`None` for a
    /// rule that pays nothing).
    pub budget_left: Option<f64>,
    agents: Vec<Range<AgentId>>,
    /// Per agent, its stake (staking rules, in a scenario where some
    /// group stakes by its own actions: a `staker` or a learner).
    stakes: Option<std::sync::Arc<[u64]>>,
}

impl IncentiveInfo {
    /// Whether `agent` is eligible (in one of the rule's groups).
    pub fn eligible(&self, agent: AgentId) -> bool {
        self.agents.iter().any(|r| r.contains(&agent))
    }

    /// The tokens `agent` has staked under this rule (not counting what
    /// it is unbonding), base units: 0 for any other kind of rule, and in
    /// a scenario where no group stakes by its own actions (no `staker`,
    /// no learner), where the stakes are not shown.
    pub fn staked(&self, agent: AgentId) -> u64 {
        self.stakes
            .as_ref()
            .and_then(|s| s.get(agent as usize).copied())
            .unwrap_or(0)
    }
}

/// The rules' state, for checkpoints.
pub type IncentiveState = Vec<RuleState>;

/// `x · rate` quantised: `round(rate · 10⁹)` base units per unit.
fn per_unit(rate: f64) -> u128 {
    to_base(rate).map_or(u128::from(u64::MAX), u128::from)
}

/// `⌊amount · r / 10⁹⌋` for `r` from [`per_unit`].
fn times(amount: u128, r: u128) -> Option<u128> {
    amount.checked_mul(r).map(|x| x / u128::from(SCALE))
}

/// The tokens an emission mints at step `t` (before the cap), base units.
pub fn emission_at(schedule: ScheduleKind, e0: u64, period: u64, t: u64) -> u64 {
    let k = t.saturating_sub(1);
    match schedule {
        ScheduleKind::Constant => e0,
        ScheduleKind::Linear if k >= period => 0,
        ScheduleKind::Linear => {
            (u128::from(e0) * u128::from(period - k) / u128::from(period)) as u64
        }
        ScheduleKind::Halving => {
            let halvings = k / period;
            if halvings >= 64 {
                0
            } else {
                e0 >> halvings
            }
        }
    }
}

fn error(scenario: &Scenario, spec: &IncentiveSpec, step: u64, what: &str) -> Error {
    Error::scenario(
        &scenario.origin,
        format!("incentives.{}", spec.name),
        format!("at step {step}: {what}"),
    )
}

/// One flow of a rule in a step (a stake, a release, a slash, a
/// penalty), as recorded: a row per agent as it moves (`record =
/// "agents"`, each with the budget left then), or one row of the total
/// over the agents once the step's flow is done.
struct Tally {
    rule: usize,
    step: u64,
    flow: Flow,
    total: u128,
    agents: u64,
}

impl Tally {
    fn new(rule: usize, step: u64, flow: Flow) -> Self {
        Tally {
            rule,
            step,
            flow,
            total: 0,
            agents: 0,
        }
    }

    /// Counts `amount` base units moved for `agent`, and records its row
    /// if the rule records agents.
    fn add(
        &mut self,
        rules: &Incentives,
        agent: AgentId,
        amount: u64,
        ledger: &Ledger,
        spec: &IncentiveSpec,
        out: &mut Vec<IncentiveRecord>,
    ) {
        let amount = u128::from(amount);
        self.total += amount;
        self.agents += 1;
        if spec.record_agents {
            out.push(rules.row(
                self.rule,
                self.step,
                Some(agent),
                self.flow,
                amount,
                ledger,
                spec,
            ));
        }
    }

    /// Records the total row, for a rule that records totals and moved
    /// something.
    fn finish(
        self,
        rules: &Incentives,
        ledger: &Ledger,
        spec: &IncentiveSpec,
        out: &mut Vec<IncentiveRecord>,
    ) {
        if self.agents > 0 && !spec.record_agents {
            let mut row = rules.row(
                self.rule, self.step, None, self.flow, self.total, ledger, spec,
            );
            row.agents = self.agents;
            out.push(row);
        }
    }
}

impl Incentives {
    /// Opens and funds the rules' treasuries (`backing(asset, from, to)`:
    /// the reserve that backs the supply growing from `from` to `to`).
    pub(crate) fn new(
        scenario: &Scenario,
        ledger: &mut Ledger,
        ranges: &[Range<AgentId>],
        backing: &dyn Fn(usize, u64, u64) -> Option<u128>,
    ) -> Result<Self> {
        let agents = ledger.agents();
        let mut rules = Vec::with_capacity(scenario.incentives.len());
        let mut eligible = Vec::with_capacity(scenario.incentives.len());
        for spec in &scenario.incentives {
            let path = |key: &str| format!("incentives.{}.{key}", spec.name);
            let range = |key: &str, what: &str| {
                Error::scenario(
                    &scenario.origin,
                    path(key),
                    format!("{what} exceeds {}", crate::ledger::range_advice("money")),
                )
            };
            let treasury = match &spec.funding {
                Some(Funding::Treasury { currency, amount }) => {
                    let base =
                        to_base(*amount).ok_or_else(|| range("funding.amount", "the amount"))?;
                    Some(match currency {
                        Currency::Money => {
                            let t = ledger.open_treasury(None);
                            ledger
                                .fund_treasury(t, u128::from(base))
                                .map_err(|_| range("funding.amount", "the amount"))?;
                            t
                        }
                        Currency::Token(j) => {
                            let t = ledger.open_treasury(Some(*j));
                            let supply = ledger.books(*j).supply;
                            let money = supply
                                .checked_add(base)
                                .and_then(|after| backing(*j, supply, after))
                                .ok_or_else(|| range("funding.amount", "the reserve backing it"))?;
                            ledger
                                .mint_to_incentive(t, base, money)
                                .map_err(|_| range("funding.amount", "the amount"))?;
                            t
                        }
                    })
                }
                Some(Funding::Emission { asset, .. }) => Some(ledger.open_treasury(Some(*asset))),
                None => match spec.rule {
                    IncentiveRule::EarlySellPenalty {
                        to: PenaltyTo::Treasury,
                        ..
                    } => Some(ledger.open_treasury(None)),
                    _ => None,
                },
            };
            let per_agent = matches!(
                spec.rule,
                IncentiveRule::HoldingReward { .. }
                    | IncentiveRule::EarlySellPenalty { .. }
                    | IncentiveRule::Staking { .. }
            );
            rules.push(RuleState {
                treasury,
                paid: 0,
                collected: 0,
                burned: 0,
                slashed: 0,
                minted: 0,
                exhausted: None,
                received: vec![0; agents.div_ceil(64)],
                recipients: 0,
                since: if per_agent {
                    vec![u64::MAX; agents]
                } else {
                    Vec::new()
                },
                stakes: if matches!(spec.rule, IncentiveRule::Staking { .. }) {
                    vec![0; agents]
                } else {
                    Vec::new()
                },
                unbonding: VecDeque::new(),
                fee_pool: ledger.books(spec.asset).fee_pool,
            });
            eligible.push(spec.groups.iter().map(|&g| ranges[g].clone()).collect());
        }
        let show_stakes = scenario.groups.iter().any(|g| match &g.policy {
            crate::agents::GroupPolicy::Builtin(p) => {
                matches!(p, crate::agents::BuiltinPolicy::Staker(_))
            }
            crate::agents::GroupPolicy::Custom(_) => g.policy.as_adaptive().is_some(),
        });
        let mut incentives = Incentives {
            rules,
            eligible,
            infos: Vec::new(),
            show_stakes,
        };
        incentives.refresh(scenario, ledger);
        Ok(incentives)
    }

    /// What agents see of the rules now.
    pub(crate) fn infos(&self) -> &[IncentiveInfo] {
        &self.infos
    }

    /// Makes [`infos`](Self::infos) what the rules are now.
    fn refresh(&mut self, scenario: &Scenario, ledger: &Ledger) {
        let infos = scenario
            .incentives
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let (rate, steps, threshold) = match spec.rule {
                    IncentiveRule::HoldingReward {
                        rate,
                        min_holding,
                        min_hold_steps,
                    } => (rate, min_hold_steps, min_holding),
                    IncentiveRule::Staking {
                        rate,
                        share,
                        unbonding,
                    } => (rate, unbonding, share.unwrap_or(0.0)),
                    IncentiveRule::EarlySellPenalty { rate, within, .. } => (rate, within, 0.0),
                    IncentiveRule::Burn { share } => (share, 0, 0.0),
                    IncentiveRule::VolumeReward { rate, .. } => (rate, 0, 0.0),
                    IncentiveRule::ParticipationReward { rate, .. } => (rate, 0, 0.0),
                    IncentiveRule::Slashing {
                        share, sell_share, ..
                    } => (share, 0, sell_share),
                };
                IncentiveInfo {
                    name: spec.name.clone(),
                    kind: spec.rule.kind(),
                    asset: spec.asset as u32,
                    rate,
                    steps,
                    threshold,
                    active: self.rules[i].exhausted.is_none(),
                    budget_left: self.budget_left(spec, i, ledger).map(wide_to_units),
                    agents: self.eligible[i].clone(),
                    stakes: (self.show_stakes && !self.rules[i].stakes.is_empty())
                        .then(|| self.rules[i].stakes.as_slice().into()),
                }
            })
            .collect();
        self.infos = infos;
    }

    /// Whether any rule reads the step's trade log.
    pub(crate) fn needs_trade_log(scenario: &Scenario) -> bool {
        scenario.incentives.iter().any(|s| {
            matches!(
                s.rule,
                IncentiveRule::EarlySellPenalty { .. }
                    | IncentiveRule::VolumeReward { .. }
                    | IncentiveRule::Slashing { .. }
                    | IncentiveRule::ParticipationReward {
                        per: Participation::RequestServed,
                        ..
                    }
            )
        })
    }

    /// The rules' state (for a checkpoint).
    pub(crate) fn state(&self) -> IncentiveState {
        self.rules.clone()
    }

    /// Checks that a saved state fits these rules: as many rules, and
    /// per-agent tables of the simulation's size.
    pub(crate) fn check(
        &self,
        scenario: &Scenario,
        state: &IncentiveState,
        step: u64,
    ) -> std::result::Result<(), String> {
        let fits = state.len() == self.rules.len()
            && state.iter().zip(&self.rules).all(|(a, b)| {
                a.since.len() == b.since.len()
                    && a.stakes.len() == b.stakes.len()
                    && a.received.len() == b.received.len()
                    && a.treasury == b.treasury
            });
        if !fits {
            return Err(format!(
                "its incentive rules ({}) are not the scenario's ({})",
                state.len(),
                self.rules.len()
            ));
        }
        // What a run keeps, so that no later step's arithmetic on it wraps
        // or indexes past an agent: holdings counted from no later than
        // the step, unbonding stakes of agents the rule stakes for, as many
        // recipients as agents marked paid, no more minted than its
        // emission's cap (nothing without one), and sums a step adds to
        // unchecked within 2^100 base units (a run's stay below 2^64 a
        // step).
        const MOST: u128 = 1 << 100;
        for (k, (rule, spec)) in state.iter().zip(&scenario.incentives).enumerate() {
            let cap = match spec.funding {
                Some(Funding::Emission { cap, .. }) => u128::from(to_base(cap).unwrap_or(u64::MAX)),
                _ => 0,
            };
            let why = if rule.since.iter().any(|&s| s != u64::MAX && s > step) {
                "counts a holding from past its step"
            } else if rule
                .unbonding
                .iter()
                .any(|&(_, a, _)| a as usize >= rule.stakes.len())
            {
                "has an unbonding stake of no agent it stakes for"
            } else if u128::from(rule.recipients)
                != rule
                    .received
                    .iter()
                    .map(|w| u128::from(w.count_ones()))
                    .sum::<u128>()
            {
                "counts other recipients than it marks paid"
            } else if [
                rule.paid,
                rule.collected,
                rule.burned,
                rule.slashed,
                rule.minted,
            ]
            .iter()
            .any(|&x| x > MOST)
            {
                "holds a sum past 2^100 base units, which no run reaches"
            } else if rule.minted > cap {
                "has minted more than its emission's cap"
            } else {
                continue;
            };
            return Err(format!("incentive rule {k} {why} (step {step})"));
        }
        Ok(())
    }

    /// Puts a saved state back (checked with [`check`](Self::check)), on
    /// the restored `ledger`.
    pub(crate) fn restore(&mut self, state: IncentiveState, scenario: &Scenario, ledger: &Ledger) {
        self.rules = state;
        self.refresh(scenario, ledger);
    }

    /// Whether any rule stakes (staked tokens count as locked in the
    /// owners' records and wealth).
    pub(crate) fn staking(&self) -> bool {
        self.rules.iter().any(|r| !r.stakes.is_empty())
    }

    /// Calls `f(agent, asset, tokens)` for every stake and every unbonding
    /// stake of every staking rule.
    pub(crate) fn for_each_stake(
        &self,
        scenario: &Scenario,
        mut f: impl FnMut(AgentId, usize, u64),
    ) {
        for (spec, rule) in scenario.incentives.iter().zip(&self.rules) {
            for (a, &s) in rule.stakes.iter().enumerate() {
                if s > 0 {
                    f(a as AgentId, spec.asset, s);
                }
            }
            for &(_, a, tokens) in &rule.unbonding {
                f(a, spec.asset, tokens);
            }
        }
    }

    /// Tokens of `asset` that `agent` has staked or is unbonding, over
    /// every staking rule, base units.
    pub fn staked_by(&self, scenario: &Scenario, agent: AgentId, asset: usize) -> u128 {
        let mut total = 0u128;
        for (spec, rule) in scenario.incentives.iter().zip(&self.rules) {
            if spec.asset != asset {
                continue;
            }
            if let Some(&s) = rule.stakes.get(agent as usize) {
                total += u128::from(s);
            }
            for &(_, a, tokens) in &rule.unbonding {
                if a == agent {
                    total += u128::from(tokens);
                }
            }
        }
        total
    }

    /// Whether agents can stake by their own actions (some rule stakes):
    /// the engine then hands the step's [`Action::Stake`] and
    /// [`Action::Unstake`] to [`act`](Self::act) after the decide phase.
    ///
    /// [`Action::Stake`]: crate::agents::Action::Stake
    /// [`Action::Unstake`]: crate::agents::Action::Unstake
    pub(crate) fn takes_actions(&self) -> bool {
        self.staking()
    }

    /// The staking rule an action of `agent` on `asset` goes to: the
    /// first staking rule on the asset whose groups include the agent.
    fn staking_rule(&self, scenario: &Scenario, agent: AgentId, asset: usize) -> Option<usize> {
        scenario
            .incentives
            .iter()
            .enumerate()
            .position(|(i, spec)| {
                spec.asset == asset
                    && matches!(spec.rule, IncentiveRule::Staking { .. })
                    && self.eligible[i].iter().any(|r| r.contains(&agent))
            })
    }

    /// Executes the step's staking actions, `(agent, action)` in agent
    /// order (other actions are skipped): a stake moves the tokens from
    /// the agent's holdings into the stakes at once; an unstake starts
    /// their unbonding (they return in the govern phase of step `step +
    /// unbonding`). An amount past the holdings (the stake) is cut to them
    /// and counted as clipped (`u64::MAX` unstakes the whole stake,
    /// uncounted); an action on an asset without a staking rule the agent
    /// is eligible for is rejected. Records `stake` and `unstake` rows.
    pub(crate) fn act(
        &mut self,
        scenario: &Scenario,
        step: u64,
        ledger: &mut Ledger,
        actions: &[(AgentId, crate::agents::Action)],
        out: &mut Vec<IncentiveRecord>,
    ) -> Result<()> {
        use crate::agents::Action;
        if actions.is_empty() {
            return Ok(());
        }
        let mut tallies: BTreeMap<(usize, bool), Tally> = BTreeMap::new();
        for &(a, action) in actions {
            let (asset, amount, stake) = match action {
                Action::Stake { asset, amount } => (asset as usize, amount, true),
                Action::Unstake { asset, amount } => (asset as usize, amount, false),
                _ => continue,
            };
            let Some(i) = self.staking_rule(scenario, a, asset) else {
                ledger.count_rejected();
                continue;
            };
            let spec = &scenario.incentives[i];
            let IncentiveRule::Staking { unbonding, .. } = spec.rule else {
                unreachable!("a staking rule")
            };
            let flow = if stake { Flow::Stake } else { Flow::Unstake };
            let moved = if stake {
                let held = ledger.holding(a, asset);
                if amount > held {
                    ledger.count_clipped();
                }
                let tokens = amount.min(held);
                if tokens == 0 {
                    continue;
                }
                let staked = self.rules[i].stakes[a as usize]
                    .checked_add(tokens)
                    .ok_or_else(|| {
                        error(scenario, spec, step, "a stake exceeds the ledger's range")
                    })?;
                ledger
                    .stake(a, asset, tokens)
                    .map_err(|e| error(scenario, spec, step, &format!("staking: {e}")))?;
                self.rules[i].stakes[a as usize] = staked;
                tokens
            } else {
                let stake = self.rules[i].stakes[a as usize];
                if amount > stake && amount != u64::MAX {
                    ledger.count_clipped();
                }
                let tokens = amount.min(stake);
                if tokens == 0 {
                    continue;
                }
                self.rules[i].stakes[a as usize] = stake - tokens;
                self.rules[i]
                    .unbonding
                    .push_back((step.saturating_add(unbonding), a, tokens));
                tokens
            };
            let mut tally = tallies
                .remove(&(i, !stake))
                .unwrap_or_else(|| Tally::new(i, step, flow));
            tally.add(self, a, moved, ledger, spec, out);
            tallies.insert((i, !stake), tally);
        }
        // totals in rule order, stakes before unstakes
        let mut unstaked = Vec::new();
        for ((i, unstake), tally) in tallies {
            tally.finish(self, ledger, &scenario.incentives[i], out);
            if unstake {
                unstaked.push(i);
            }
        }
        // an unbonding of zero steps returns at once
        for i in unstaked {
            self.release(scenario, i, &scenario.incentives[i], step, ledger, out)?;
        }
        self.refresh(scenario, ledger);
        Ok(())
    }

    /// The govern-phase part of step `step`: emissions, unbonding,
    /// rewards for holdings and stakes, staking.
    pub(crate) fn govern(
        &mut self,
        scenario: &Scenario,
        step: u64,
        ledger: &mut Ledger,
        backing: &dyn Fn(usize, u64, u64) -> Option<u128>,
        out: &mut Vec<IncentiveRecord>,
    ) -> Result<()> {
        for (i, spec) in scenario.incentives.iter().enumerate() {
            self.emit(scenario, i, spec, step, ledger, backing, out)?;
            match spec.rule {
                IncentiveRule::HoldingReward {
                    rate,
                    min_holding,
                    min_hold_steps,
                } => {
                    let min = to_base(min_holding).unwrap_or(u64::MAX);
                    let r = per_unit(rate);
                    let rule = &mut self.rules[i];
                    let mut dues = Vec::new();
                    for range in &self.eligible[i] {
                        for a in range.clone() {
                            let h = ledger.holding(a, spec.asset);
                            let since = &mut rule.since[a as usize];
                            if h < min || h == 0 {
                                *since = u64::MAX;
                                continue;
                            }
                            if *since == u64::MAX {
                                *since = step;
                            }
                            if step - *since < min_hold_steps {
                                continue;
                            }
                            let due = times(u128::from(h), r).unwrap_or(u128::MAX);
                            if due > 0 {
                                dues.push((a, due));
                            }
                        }
                    }
                    self.pay(scenario, i, spec, step, ledger, &dues, out)?;
                }
                IncentiveRule::Staking {
                    rate,
                    share,
                    unbonding,
                } => {
                    self.release(scenario, i, spec, step, ledger, out)?;
                    let r = per_unit(rate);
                    let dues: Vec<(AgentId, u128)> = self.rules[i]
                        .stakes
                        .iter()
                        .enumerate()
                        .filter(|(_, &s)| s > 0)
                        .filter_map(|(a, &s)| {
                            let due = times(u128::from(s), r).unwrap_or(u128::MAX);
                            (due > 0).then_some((a as AgentId, due))
                        })
                        .collect();
                    self.pay(scenario, i, spec, step, ledger, &dues, out)?;
                    if let Some(share) = share {
                        self.restake(scenario, i, spec, step, share, unbonding, ledger, out)?;
                    }
                    // an unbonding of zero steps returns at once
                    self.release(scenario, i, spec, step, ledger, out)?;
                }
                _ => {}
            }
        }
        self.refresh(scenario, ledger);
        Ok(())
    }

    /// Mints this step's emission into rule `i`'s treasury.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        scenario: &Scenario,
        i: usize,
        spec: &IncentiveSpec,
        step: u64,
        ledger: &mut Ledger,
        backing: &dyn Fn(usize, u64, u64) -> Option<u128>,
        out: &mut Vec<IncentiveRecord>,
    ) -> Result<()> {
        let Some(Funding::Emission {
            asset,
            schedule,
            per_step,
            period,
            cap,
        }) = spec.funding
        else {
            return Ok(());
        };
        let rule = &mut self.rules[i];
        if rule.exhausted.is_some() {
            return Ok(());
        }
        let cap = u128::from(to_base(cap).unwrap_or(u64::MAX));
        let e0 = to_base(per_step).unwrap_or(u64::MAX);
        let due = u128::from(emission_at(schedule, e0, period, step));
        let tokens = due.min(cap - rule.minted) as u64;
        if tokens == 0 {
            return Ok(());
        }
        let supply = ledger.books(asset).supply;
        let refused = || {
            error(
                scenario,
                spec,
                step,
                "the emission exceeds the ledger's range",
            )
        };
        let money = supply
            .checked_add(tokens)
            .and_then(|after| backing(asset, supply, after))
            .ok_or_else(refused)?;
        let t = rule.treasury.expect("an emission has a treasury");
        ledger
            .mint_to_incentive(t, tokens, money)
            .map_err(|_| refused())?;
        rule.minted += u128::from(tokens);
        out.push(self.row(i, step, None, Flow::Mint, u128::from(tokens), ledger, spec));
        Ok(())
    }

    /// What rule `i` can still pay: its treasury and, for an emission, the
    /// tokens it will still mint.
    fn budget_left(&self, spec: &IncentiveSpec, i: usize, ledger: &Ledger) -> Option<u128> {
        let rule = &self.rules[i];
        if !spec.rule.pays() {
            return None;
        }
        let held = rule.treasury.map_or(0, |t| ledger.treasury_held(t));
        let to_mint = match spec.funding {
            Some(Funding::Emission { cap, .. }) if rule.exhausted.is_none() => {
                u128::from(to_base(cap).unwrap_or(u64::MAX)) - rule.minted
            }
            _ => 0,
        };
        Some(held + to_mint)
    }

    /// Whether rule `i` will get no more funding after step `step`.
    fn no_more_funding(&self, spec: &IncentiveSpec, i: usize, step: u64) -> bool {
        match spec.funding {
            Some(Funding::Emission {
                schedule,
                per_step,
                period,
                cap,
                ..
            }) => {
                let e0 = to_base(per_step).unwrap_or(u64::MAX);
                self.rules[i].minted >= u128::from(to_base(cap).unwrap_or(u64::MAX))
                    || emission_at(schedule, e0, period, step + 1) == 0
            }
            _ => true,
        }
    }

    /// Pays `dues` (agent, base units) from rule `i`'s treasury, in full
    /// or pro rata (see the module doc), and records it.
    #[allow(clippy::too_many_arguments)]
    fn pay(
        &mut self,
        scenario: &Scenario,
        i: usize,
        spec: &IncentiveSpec,
        step: u64,
        ledger: &mut Ledger,
        dues: &[(AgentId, u128)],
        out: &mut Vec<IncentiveRecord>,
    ) -> Result<()> {
        if self.rules[i].exhausted.is_some() || dues.is_empty() {
            return Ok(());
        }
        let t = self.rules[i]
            .treasury
            .expect("a paying rule has a treasury");
        let held = ledger.treasury_held(t);
        let total = dues
            .iter()
            .try_fold(0u128, |s, (_, d)| s.checked_add(*d))
            .unwrap_or(u128::MAX);
        let short = total > held;
        let last = short && self.no_more_funding(spec, i, step);
        let overflow = || error(scenario, spec, step, "a reward exceeds the ledger's range");
        let mut paid = Tally::new(i, step, Flow::Reward);
        for &(a, due) in dues {
            let amount = if short {
                // ⌊due · held / total⌋ ≤ due: a u128 product unless both
                // are past 2⁶⁴, where the f64 estimate is floored and capped
                due.checked_mul(held).map_or_else(
                    || {
                        ((due as f64 / total as f64) * held as f64)
                            .floor()
                            .min(due as f64) as u128
                    },
                    |x| x / total,
                )
            } else {
                due
            };
            if amount == 0 {
                continue;
            }
            let amount = u64::try_from(amount).map_err(|_| overflow())?;
            ledger
                .pay_from_treasury(t, a, amount)
                .map_err(|_| overflow())?;
            let rule = &mut self.rules[i];
            let (word, bit) = (a as usize / 64, 1u64 << (a % 64));
            if rule.received[word] & bit == 0 {
                rule.received[word] |= bit;
                rule.recipients += 1;
            }
            paid.add(self, a, amount, ledger, spec, out);
        }
        self.rules[i].paid += paid.total;
        if last {
            self.rules[i].exhausted = Some(step);
        }
        // after the exhaustion: the budget left counts no more emission
        paid.finish(self, ledger, spec, out);
        if last {
            out.push(self.row(i, step, None, Flow::Exhausted, 0, ledger, spec));
        }
        Ok(())
    }

    /// Returns rule `i`'s unbonded stakes due by `step` to their owners.
    fn release(
        &mut self,
        scenario: &Scenario,
        i: usize,
        spec: &IncentiveSpec,
        step: u64,
        ledger: &mut Ledger,
        out: &mut Vec<IncentiveRecord>,
    ) -> Result<()> {
        let mut released = Tally::new(i, step, Flow::Release);
        while let Some(&(at, a, tokens)) = self.rules[i].unbonding.front() {
            if at > step {
                break;
            }
            ledger
                .unstake(a, spec.asset, tokens)
                .map_err(|e| error(scenario, spec, step, &format!("unstaking: {e}")))?;
            self.rules[i].unbonding.pop_front();
            released.add(self, a, tokens, ledger, spec, out);
        }
        released.finish(self, ledger, spec, out);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        i: usize,
        step: u64,
        agent: Option<AgentId>,
        flow: Flow,
        amount: u128,
        ledger: &Ledger,
        spec: &IncentiveSpec,
    ) -> IncentiveRecord {
        IncentiveRecord {
            step,
            rule: i as u32,
            agent,
            agents: u64::from(agent.is_some()),
            flow,
            amount,
            budget_left: self.budget_left(spec, i, ledger),
        }
    }

    /// Each eligible agent stakes or unstakes so that `share` of its
    /// tokens (held and staked) is staked: `⌊(held + staked) · round(share
    /// · 10⁹) / 10⁹⌋`. Unstaked tokens return `unbonding` steps later.
    #[allow(clippy::too_many_arguments)]
    fn restake(
        &mut self,
        scenario: &Scenario,
        i: usize,
        spec: &IncentiveSpec,
        step: u64,
        share: f64,
        unbonding: u64,
        ledger: &mut Ledger,
        out: &mut Vec<IncentiveRecord>,
    ) -> Result<()> {
        let s = per_unit(share);
        let mut staked = Tally::new(i, step, Flow::Stake);
        let mut unstaked = Tally::new(i, step, Flow::Unstake);
        let ranges = self.eligible[i].clone();
        for range in ranges {
            for a in range {
                let held = ledger.holding(a, spec.asset);
                let stake = self.rules[i].stakes[a as usize];
                let target = times(u128::from(held) + u128::from(stake), s).unwrap_or(0) as u64;
                if target > stake {
                    let more = target - stake;
                    ledger
                        .stake(a, spec.asset, more)
                        .map_err(|e| error(scenario, spec, step, &format!("staking: {e}")))?;
                    self.rules[i].stakes[a as usize] = target;
                    staked.add(self, a, more, ledger, spec, out);
                } else if target < stake {
                    let less = stake - target;
                    self.rules[i].stakes[a as usize] = target;
                    self.rules[i]
                        .unbonding
                        .push_back((step.saturating_add(unbonding), a, less));
                    unstaked.add(self, a, less, ledger, spec, out);
                }
            }
        }
        staked.finish(self, ledger, spec, out);
        unstaked.finish(self, ledger, spec, out);
        Ok(())
    }

    /// The part of step `step` after its trades are settled, from the
    /// step's trade log `trades`: early-sell penalties, volume rewards,
    /// fee burns, participation rewards (`tasks`: the tasks each agent
    /// completed in the step under the contracts, by agent), liquidity
    /// mining (`liquidity(asset)`: the AMM pool shares of each provider,
    /// by agent).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn settle(
        &mut self,
        scenario: &Scenario,
        step: u64,
        ledger: &mut Ledger,
        trades: &[TradeRecord],
        resting: &dyn Fn(usize) -> Vec<AgentId>,
        liquidity: &dyn Fn(usize) -> Vec<(AgentId, u128)>,
        tasks: &[(AgentId, u64)],
        out: &mut Vec<IncentiveRecord>,
    ) -> Result<()> {
        for (i, spec) in scenario.incentives.iter().enumerate() {
            match spec.rule {
                IncentiveRule::ParticipationReward { rate, per } => {
                    let eligible = &self.eligible[i];
                    let mut count: BTreeMap<AgentId, u128> = BTreeMap::new();
                    match per {
                        Participation::RestingOrder => {
                            for a in resting(spec.asset) {
                                if eligible.iter().any(|r| r.contains(&a)) {
                                    *count.entry(a).or_default() += 1;
                                }
                            }
                        }
                        Participation::TaskCompleted => {
                            for &(a, n) in tasks {
                                if eligible.iter().any(|r| r.contains(&a)) {
                                    *count.entry(a).or_default() += u128::from(n);
                                }
                            }
                        }
                        Participation::RequestServed => {
                            for t in trades {
                                if t.kind == TradeKind::Allocation
                                    && t.asset as usize == spec.asset
                                    && eligible.iter().any(|r| r.contains(&t.agent))
                                {
                                    *count.entry(t.agent).or_default() += 1;
                                }
                            }
                        }
                    }
                    let r = per_unit(rate);
                    let dues: Vec<(AgentId, u128)> = count
                        .into_iter()
                        .map(|(a, n)| (a, n * r))
                        .filter(|&(_, due)| due > 0)
                        .collect();
                    self.pay(scenario, i, spec, step, ledger, &dues, out)?;
                }
                IncentiveRule::Slashing {
                    staking,
                    share,
                    sell_share,
                } => self.slash(
                    scenario, i, spec, step, staking, share, sell_share, ledger, trades, out,
                )?,
                IncentiveRule::EarlySellPenalty { rate, within, to } => self.penalise(
                    scenario, i, spec, step, rate, within, to, ledger, trades, out,
                )?,
                IncentiveRule::VolumeReward { rate, basis } => {
                    let r = per_unit(rate);
                    let mut volume: BTreeMap<AgentId, u128> = BTreeMap::new();
                    match basis {
                        VolumeBasis::Volume => {
                            for t in trades.iter().filter(|t| counts(&self.eligible[i], spec, t)) {
                                *volume.entry(t.agent).or_default() += u128::from(t.quantity);
                            }
                        }
                        VolumeBasis::Liquidity => {
                            let eligible = &self.eligible[i];
                            for (a, shares) in liquidity(spec.asset) {
                                if eligible.iter().any(|r| r.contains(&a)) {
                                    volume.insert(a, shares);
                                }
                            }
                        }
                    }
                    let dues: Vec<(AgentId, u128)> = volume
                        .into_iter()
                        .filter_map(|(a, v)| {
                            let due = times(v, r).unwrap_or(u128::MAX);
                            (due > 0).then_some((a, due))
                        })
                        .collect();
                    self.pay(scenario, i, spec, step, ledger, &dues, out)?;
                }
                IncentiveRule::Burn { share } => {
                    let pool = ledger.books(spec.asset).fee_pool;
                    let new = pool.saturating_sub(self.rules[i].fee_pool);
                    let burn = times(new, per_unit(share)).unwrap_or(0);
                    if burn > 0 {
                        ledger.burn_fees(spec.asset, burn).map_err(|e| {
                            error(scenario, spec, step, &format!("burning fees: {e}"))
                        })?;
                        self.rules[i].burned += burn;
                        out.push(self.row(i, step, None, Flow::Burn, burn, ledger, spec));
                    }
                    self.rules[i].fee_pool = ledger.books(spec.asset).fee_pool;
                }
                _ => {}
            }
        }
        self.refresh(scenario, ledger);
        Ok(())
    }

    /// Burns `share` of the stake (under rule `staking`) of every eligible
    /// agent that sold more than `sell_share` of what it held before the
    /// step's trades (`held now + sold − bought`).
    #[allow(clippy::too_many_arguments)]
    fn slash(
        &mut self,
        scenario: &Scenario,
        i: usize,
        spec: &IncentiveSpec,
        step: u64,
        staking: usize,
        share: f64,
        sell_share: f64,
        ledger: &mut Ledger,
        trades: &[TradeRecord],
        out: &mut Vec<IncentiveRecord>,
    ) -> Result<()> {
        let mut moved: BTreeMap<AgentId, (u128, u128)> = BTreeMap::new();
        for t in trades.iter().filter(|t| counts(&self.eligible[i], spec, t)) {
            let e = moved.entry(t.agent).or_default();
            if t.buy {
                e.0 += u128::from(t.quantity);
            } else {
                e.1 += u128::from(t.quantity);
            }
        }
        let (flag, cut) = (per_unit(sell_share), per_unit(share));
        let mut slashed = Tally::new(i, step, Flow::Slash);
        for (a, (bought, sold)) in moved {
            let before = (u128::from(ledger.holding(a, spec.asset)) + sold).saturating_sub(bought);
            // sold / before > sell_share, exactly
            if sold == 0 || sold * u128::from(SCALE) <= before * flag {
                continue;
            }
            let stake = self.rules[staking].stakes[a as usize];
            let burn = times(u128::from(stake), cut).unwrap_or(0) as u64;
            if burn == 0 {
                continue;
            }
            ledger
                .slash(spec.asset, burn)
                .map_err(|e| error(scenario, spec, step, &format!("slashing: {e}")))?;
            self.rules[staking].stakes[a as usize] = stake - burn;
            self.rules[i].slashed += u128::from(burn);
            slashed.add(self, a, burn, ledger, spec, out);
        }
        slashed.finish(self, ledger, spec, out);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn penalise(
        &mut self,
        scenario: &Scenario,
        i: usize,
        spec: &IncentiveSpec,
        step: u64,
        rate: f64,
        within: u64,
        to: PenaltyTo,
        ledger: &mut Ledger,
        trades: &[TradeRecord],
        out: &mut Vec<IncentiveRecord>,
    ) -> Result<()> {
        let r = per_unit(rate);
        let mut charged = Tally::new(i, step, Flow::Penalty);
        let eligible = self.eligible[i].clone();
        for t in trades.iter().filter(|t| counts(&eligible, spec, t)) {
            let a = t.agent as usize;
            if t.buy {
                self.rules[i].since[a] = step;
                continue;
            }
            let bought = self.rules[i].since[a];
            if bought == u64::MAX || step - bought > within {
                continue;
            }
            let fee = times(t.money, r)
                .unwrap_or(u128::MAX)
                .min(u128::from(ledger.balance(t.agent))) as u64;
            if fee == 0 {
                continue;
            }
            let refused = |e| error(scenario, spec, step, &format!("charging a penalty: {e}"));
            match to {
                PenaltyTo::Treasury => {
                    let tr = self.rules[i]
                        .treasury
                        .expect("a kept penalty has a treasury");
                    ledger
                        .pay_into_treasury(tr, t.agent, fee)
                        .map_err(refused)?;
                    self.rules[i].collected += u128::from(fee);
                }
                PenaltyTo::Burn => {
                    ledger.burn_money(t.agent, fee).map_err(refused)?;
                    self.rules[i].burned += u128::from(fee);
                }
            }
            charged.add(self, t.agent, fee, ledger, spec, out);
        }
        charged.finish(self, ledger, spec, out);
        Ok(())
    }

    /// The rules' summaries, by name (`summary.json` under `incentives`).
    pub(crate) fn summary(
        &self,
        scenario: &Scenario,
        ledger: &Ledger,
    ) -> BTreeMap<String, IncentiveSummary> {
        scenario
            .incentives
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let rule = &self.rules[i];
                let currency = match spec.funding.as_ref().map(Funding::currency) {
                    Some(Currency::Token(j)) => scenario.assets[j].name.clone(),
                    _ => "money".to_string(),
                };
                let pays = spec.rule.pays();
                let staked: u128 = rule.stakes.iter().map(|&s| u128::from(s)).sum();
                (
                    spec.name.clone(),
                    IncentiveSummary {
                        kind: crate::scenario::Kind::name(spec.rule.kind()).to_string(),
                        currency,
                        paid: wide_to_units(rule.paid),
                        budget_left: self.budget_left(spec, i, ledger).map(wide_to_units),
                        budget_exhausted_step: rule.exhausted,
                        recipients: rule.recipients,
                        minted: matches!(spec.funding, Some(Funding::Emission { .. }))
                            .then(|| wide_to_units(rule.minted)),
                        collected: (!pays && rule.treasury.is_some())
                            .then(|| wide_to_units(rule.collected)),
                        burned: matches!(
                            spec.rule,
                            IncentiveRule::EarlySellPenalty { .. } | IncentiveRule::Burn { .. }
                        )
                        .then(|| wide_to_units(rule.burned)),
                        staked: matches!(spec.rule, IncentiveRule::Staking { .. })
                            .then(|| wide_to_units(staked)),
                        slashed: matches!(spec.rule, IncentiveRule::Slashing { .. })
                            .then(|| wide_to_units(rule.slashed)),
                    },
                )
            })
            .collect()
    }
}

/// One rule's metrics in `summary.json` (`incentives.<name>`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncentiveSummary {
    /// The rule's kind.
    pub kind: String,
    /// What it pays in: `money` or an asset's name.
    pub currency: String,
    /// Paid out over the run, units.
    pub paid: f64,
    /// What its funding holds and will still mint, units (absent for a
    /// rule that pays nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_left: Option<f64>,
    /// The step its budget ran out, or null if it never did.
    pub budget_exhausted_step: Option<u64>,
    /// Agents it ever paid.
    pub recipients: u64,
    /// Tokens minted by its emission, units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minted: Option<f64>,
    /// Penalties kept in its treasury, money units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collected: Option<f64>,
    /// Money it burned, units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burned: Option<f64>,
    /// Tokens staked at the end, units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staked: Option<f64>,
    /// Staked tokens a slashing burned, units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slashed: Option<f64>,
}

#[cfg(test)]
mod tests {
    use crate::engine::SimState;
    use crate::Simulation;

    /// A saved incentive state a run cannot have is refused when restored
    /// (found by the `resume_checkpoint` fuzz target: a holding counted
    /// from a later step made `step − since` wrap), and at its edges it
    /// restores.
    #[test]
    fn a_saved_incentive_state_a_run_cannot_have_is_refused() {
        let (s, sim) = crate::test_support::example_at("incentives", 10, 6);
        let good = sim.state();
        let restore = |st: SimState| Simulation::new(&s, 0).unwrap().restore(st);
        restore(good.clone()).unwrap();
        let bad = |edit: &dyn Fn(&mut SimState), reason: &str| {
            let mut st = good.clone();
            edit(&mut st);
            let e = restore(st).unwrap_err().to_string();
            assert!(e.contains(reason), "expected {reason:?}, got {e}");
        };
        // Rule 0 rewards holdings, rule 1 stakes.
        let held = good.incentives[0]
            .since
            .iter()
            .position(|&s| s != u64::MAX)
            .expect("a holding counted");
        bad(
            &|st| st.incentives[0].since[held] = 7,
            "incentive rule 0 counts a holding from past its step (step 6)",
        );
        let mut edge = good.clone();
        edge.incentives[0].since[held] = 6;
        restore(edge).unwrap();
        let agents = good.incentives[1].stakes.len() as u32;
        assert!(agents > 0);
        bad(
            &|st| st.incentives[1].unbonding.push_back((7, agents, 1)),
            "incentive rule 1 has an unbonding stake of no agent it stakes for",
        );
        bad(
            &|st| st.incentives[0].unbonding.push_back((7, 0, 1)),
            "incentive rule 0 has an unbonding stake of no agent it stakes for",
        );
        let paid = good
            .incentives
            .iter()
            .position(|r| r.recipients > 0)
            .expect("a rule that paid");
        bad(
            &|st| st.incentives[paid].recipients += 1,
            "counts other recipients than it marks paid",
        );
        bad(
            &|st| st.incentives[paid].received[0] ^= 1 << 63,
            "counts other recipients than it marks paid",
        );
        bad(
            &|st| st.incentives[0].paid = (1 << 100) + 1,
            "holds a sum past 2^100 base units",
        );
        bad(
            &|st| st.incentives[1].minted = (1 << 100) + 1,
            "holds a sum past 2^100 base units",
        );
        // Rule 1's emission mints at most its cap of 20,000 tokens (a
        // test of the bound found `cap − minted` wrapping past it); rule 0
        // has no emission.
        let cap = 20_000 * 1_000_000_000u128;
        bad(
            &|st| st.incentives[1].minted = cap + 1,
            "incentive rule 1 has minted more than its emission's cap",
        );
        bad(
            &|st| st.incentives[0].minted = 1,
            "incentive rule 0 has minted more than its emission's cap",
        );
        // At the bounds it fits (what was paid or minted over the run,
        // which no invariant ties to the ledger's books now).
        let mut edge = good.clone();
        edge.incentives[0].paid = 1 << 100;
        edge.incentives[1].minted = cap;
        restore(edge).unwrap();
    }
}
