//! Affiliate contracts (`[[contracts]]`, `kind = "affiliate"`): a primary
//! group pays an affiliate group, through an escrow in the exact ledger,
//! for the adoption its referrals bring about.
//!
//! # Settlement
//!
//! - **Escrow.** At setup the contract's `budget` moves from the primary
//!   group's balances (in equal shares, [`crate::engine::apportion`]) into
//!   the ledger's contract escrow ([`Ledger::escrow_deposit`]). Every reward
//!   is paid out of it ([`Ledger::escrow_pay`]), so no contract pays more
//!   than it escrowed; clawed-back rewards return to it; what is left at
//!   the end stays in it (reported as `budget_left`).
//! - **Effort** (after the decide phase). Each affiliate's effort `e` is
//!   the [`Action::Effort`] it gave (the `effort` policy kind,
//!   [`EffortPolicy`], or any policy or step-API caller), else the
//!   contract's `effort` table ([`EffortKind`]: a fixed level, or an
//!   ε-greedy bandit over levels); it spends `cost·e²` of its money
//!   ([`Ledger::spend`]; an affiliate that cannot pay exerts no effort that
//!   step). Sybils use their own level.
//! - **Referrals** (after the decide phase). `Poisson(λ·e)` referrals join
//!   per affiliate, from the affiliate's own stream
//!   ([`Stream::Contract`]), or the whole part
//!   of the accumulated `λ·e` with `arrivals = "deterministic"`. Each is the
//!   next dormant member of the contract's hidden pool group: its budget
//!   (drawn from the named distribution, floored to the base unit) is paid
//!   in from outside ([`Ledger::pay_in`]); a sybil's fake is funded from
//!   the sybil's own balance instead. Dormant members and members that
//!   joined in the step hold (a referral trades from the step after it
//!   joins); joins past the pool are lost (counted in `referrals_lost`). A
//!   referral stays its first affiliate's (first-touch attribution), unless
//!   `retouch > 0` and `attribution = "last_touch"`: then a share of the
//!   arrivals are touches of existing referrals, and a touched referral
//!   moves to the affiliate that touched it (see `retouched`).
//! - **Contribution** (after the clear phase). A referral's net buys in the
//!   step — the rise of its holdings of the goal's asset — are credited to
//!   its affiliate, referral by referral in pool order. The affiliate is
//!   entitled to `R(C)` for its cumulative credited contribution `C`
//!   (tokens), in base units: `floor(Σ_i k_i·segment_i / 10⁹)` with the
//!   rates `k_i` in base units of money per whole token and the segments in
//!   token base units, so the rewards credited equal `floor(k·ΔS)` exactly
//!   (rounding in favour of the primary). A credit earns `R(C + d) − R(C)`,
//!   less what the caps (`capped`: per affiliate and step, per affiliate)
//!   and the escrow not yet committed leave; what is cut is forfeited.
//!   Under `resource_usage`, a referral's allocations of the resource in
//!   the step (from the trade log) are its contribution instead.
//! - **Vesting.** An earned amount `x` is paid in `n = vesting` instalments
//!   at the next `n` steps, `floor(x/n)` each and the remainder with the
//!   last; unvested amounts stay committed in the escrow.
//! - **Clawback.** A referral whose holdings fall within `clawback` steps
//!   of its last buy has every reward earned for it taken back: pending
//!   instalments are cancelled and what was paid returns from the
//!   affiliate's balance to the escrow (as much as the affiliate holds);
//!   the referral earns nothing more.
//! - **Sybils.** The last `sybil.count` affiliates refer fakes that buy
//!   with their whole budget at once and sell everything `hold` steps after;
//!   the money they get back returns to the sybil.

mod effort;
pub use effort::EffortPolicy;

use crate::agents::Action;
use crate::error::{Error, Result};
use crate::ledger::trades::{TradeKind, TradeRecord};
use crate::ledger::{from_wide, to_base, AgentId, Ledger, LedgerError};
use crate::rng::{Stream, StreamFamily};
use crate::scenario::contracts::{
    Arrivals, Attribution, BudgetDist, ContractSpec, EffortKind, Goal, RewardKind,
};
use crate::scenario::Scenario;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Base units per whole unit.
const UNIT: u128 = 1_000_000_000;

/// One recorded step of one affiliate of a contract (`contracts.csv`: the
/// steps `assets.csv` records, see `record_every`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractRecord {
    /// The step.
    pub step: u64,
    /// The contract's index in the scenario.
    pub contract: u32,
    /// The affiliate's agent id.
    pub affiliate: u32,
    /// Referrals brought in so far.
    pub referrals: u64,
    /// Tokens its referrals hold now, base units.
    pub attributed: u64,
    /// The effort chosen this step.
    pub effort: f64,
    /// Reward earned since the previous record, base units of money.
    pub reward: u128,
    /// Reward paid (vested) since the previous record, base units.
    pub vested: u128,
    /// Reward clawed back since the previous record, base units.
    pub clawed_back: u128,
    /// The contract's escrow left after the step, base units.
    pub budget_left: u128,
}

/// A contract's summary (`contracts.<name>` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContractSummary {
    /// Rewards paid out of the escrow (vested), units of money.
    pub rewards_paid: f64,
    /// Rewards clawed back into the escrow, units.
    pub clawed_back: f64,
    /// Tokens the referrals hold at the end (ΔS attributed), units; for
    /// `task_completion`, the tasks completed.
    pub attributed_supply: f64,
    /// Net rewards (paid less clawed back) per token of ΔS; `null` without ΔS.
    pub cost_per_unit: Option<f64>,
    /// The value of the attributed supply at the final price over the net
    /// rewards; `null` when none were paid, and for `task_completion`.
    pub primary_return: Option<f64>,
    /// The Gini index of the affiliates' net rewards.
    pub earnings_gini: f64,
    /// The sybils' share of the net rewards; `null` when none were paid.
    pub sybil_share: Option<f64>,
    /// The sybils' profit: net rewards − effort − money lost trading, units.
    pub sybil_pnl: f64,
    /// The escrow left (including rewards earned but not vested), units.
    pub budget_left: f64,
    /// The first step a reward was cut because the escrow ran out.
    pub budget_exhausted_step: Option<u64>,
    /// Referrals brought in, and joins lost past the pool.
    pub referrals: u64,
    /// Joins lost because the pool was full.
    pub referrals_lost: u64,
    /// Money the affiliates spent on effort, units.
    pub effort_spent: f64,
    /// The affiliates' mean effort over the run.
    pub mean_effort: f64,
}

/// A referral that joined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Referral {
    /// The affiliate's index within its group.
    affiliate: u32,
    fake: bool,
    /// Holdings of the goal's asset after the last settlement.
    held: u64,
    /// The step of its last buy.
    bought_at: u64,
    /// Rewards its affiliate earned for it (paid or pending), base units,
    /// since it last came to that affiliate (with the instalments the
    /// affiliate still had pending for it then: `retouched`).
    earned: u128,
    /// Whether it was clawed back (it earns nothing more).
    left: bool,
    /// A fake has sold and returned its money.
    done: bool,
    /// The step it joined.
    joined: u64,
}

/// An affiliate's running state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Affiliate {
    carry: f64,
    contribution: u128,
    earned: u128,
    paid: u128,
    clawed: u128,
    spent: u128,
    referrals: u64,
    /// Money funded to fakes and returned by them (sybils).
    funded: u128,
    returned: u128,
    effort: f64,
    effort_sum: f64,
    arm: usize,
    bandit: Option<crate::agents::learners::bandit::EpsilonGreedy>,
    step_earned: u128,
    step_paid: u128,
    step_clawed: u128,
    step_cost: u128,
    /// The arm pulled at the previous step and its cost, and the rewards
    /// earned this step for the referrals that joined then (what the
    /// bandit learns one step late: a referral trades from the step after
    /// it joins).
    last_pull: Option<(usize, u128)>,
    earned_late: u128,
    /// The step the bandit last chose the effort (not when the affiliate
    /// gave an effort action).
    pulled: Option<u64>,
    /// Tasks completed (`task_completion`).
    tasks: u64,
}

/// An instalment of a vesting reward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Instalment {
    due: u64,
    affiliate: u32,
    referral: u32,
    amount: u128,
}

/// One contract's running state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractState {
    escrowed: u128,
    paid: u128,
    clawed: u128,
    committed: u128,
    exhausted_at: Option<u64>,
    lost: u64,
    affiliates: Vec<Affiliate>,
    referrals: Vec<Referral>,
    pending: Vec<Instalment>,
    steps: u64,
}

/// The scenario's contracts with their state.
#[derive(Debug, Clone, Default)]
pub struct Contracts {
    specs: Vec<ContractSpec>,
    /// Per contract: the first agent of its affiliates and of its pool,
    /// and of its primary group, and the primary's count.
    starts: Vec<(AgentId, AgentId, AgentId, u32)>,
    states: Vec<ContractState>,
    /// The tasks each affiliate completed in the step just settled, by
    /// agent (for `participation_reward` per `task_completed`; not state:
    /// it is rebuilt every step).
    step_tasks: Vec<(AgentId, u64)>,
    seed: u64,
    run: u64,
    /// The run's last step (its learning and evaluation phases): vesting
    /// instalments due after it never vest, and are kept as one.
    last: u64,
}

fn ledger_error(step: u64, name: &str, what: &str, e: LedgerError) -> Error {
    Error::invariant(step, format!("contract {name:?}: {what}: {e}"))
}

impl Contracts {
    /// The contracts of `scenario`, their budgets escrowed from their
    /// primaries (an error naming `contracts.NAME.budget` when the
    /// primary's balances cannot cover it).
    pub fn new(scenario: &Scenario, ledger: &mut Ledger, seed: u64, run: u64) -> Result<Self> {
        let mut starts_of = Vec::with_capacity(scenario.groups.len());
        let mut at: AgentId = 0;
        for g in &scenario.groups {
            starts_of.push(at);
            at += g.count;
        }
        let mut out = Contracts {
            specs: scenario.contracts.clone(),
            seed,
            run,
            last: scenario.simulation.max_steps(),
            ..Contracts::default()
        };
        for spec in &scenario.contracts {
            let primary = &scenario.groups[spec.primary];
            let n = scenario.groups[spec.affiliates].count;
            let starts = (
                starts_of[spec.affiliates],
                starts_of.get(spec.referrals.group).copied().unwrap_or(0),
                starts_of[spec.primary],
                primary.count,
            );
            let path = format!("contracts.{}.budget", spec.name);
            let budget = to_base(spec.budget).ok_or_else(|| {
                Error::scenario(&scenario.origin, path.clone(), "exceeds the ledger's range")
            })?;
            let shares = crate::engine::apportion(budget, &vec![1.0; primary.count as usize]);
            for (k, share) in shares.into_iter().enumerate() {
                ledger
                    .escrow_deposit(starts.2 + k as AgentId, share)
                    .map_err(|_| {
                        Error::scenario(
                            &scenario.origin,
                            path.clone(),
                            format!(
                                "the primary group {:?} cannot escrow {} (its agents' balances are too low)",
                                primary.name, spec.budget
                            ),
                        )
                    })?;
            }
            let bandit = match &spec.effort.kind {
                EffortKind::Bandit { levels, epsilon } => Some(
                    crate::agents::learners::bandit::EpsilonGreedy::new(levels.len(), *epsilon)?,
                ),
                EffortKind::Fixed { .. } => None,
            };
            let affiliates = (0..n)
                .map(|_| Affiliate {
                    carry: 0.0,
                    contribution: 0,
                    earned: 0,
                    paid: 0,
                    clawed: 0,
                    spent: 0,
                    referrals: 0,
                    funded: 0,
                    returned: 0,
                    effort: 0.0,
                    effort_sum: 0.0,
                    arm: 0,
                    bandit: bandit.clone(),
                    step_earned: 0,
                    step_paid: 0,
                    step_clawed: 0,
                    step_cost: 0,
                    last_pull: None,
                    earned_late: 0,
                    pulled: None,
                    tasks: 0,
                })
                .collect();
            out.starts.push(starts);
            out.states.push(ContractState {
                escrowed: u128::from(budget),
                paid: 0,
                clawed: 0,
                committed: 0,
                exhausted_at: None,
                lost: 0,
                affiliates,
                referrals: Vec::new(),
                pending: Vec::new(),
                steps: 0,
            });
        }
        Ok(out)
    }

    /// Whether the scenario has any contract.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The states, for a checkpoint.
    pub fn save(&self) -> Vec<ContractState> {
        self.states.clone()
    }

    /// Puts saved states back, taken after step `step`; an error, and
    /// nothing changed, if their number differs or one does not fit its
    /// contract as a run keeps it (see `fits` and `adds_up`).
    pub fn load(
        &mut self,
        states: Vec<ContractState>,
        step: u64,
    ) -> std::result::Result<(), String> {
        if states.len() != self.states.len() {
            return Err(format!(
                "it has the state of {} contracts, the scenario has {}",
                states.len(),
                self.states.len()
            ));
        }
        for ((spec, own), saved) in self.specs.iter().zip(&self.states).zip(&states) {
            Self::fits(spec, own, saved, step)
                .map_err(|e| format!("contract {:?}: {e}", spec.name))?;
        }
        self.states = states;
        Ok(())
    }

    /// Whether a saved state fits the contract whose state in this
    /// simulation is `own` (at any step: what is compared, the affiliates
    /// and their learners' arms, is set when the run is built): as many
    /// affiliates, each with the same learner of effort (its arms in
    /// range), at most the pool's referrals, and every referral and
    /// pending instalment naming one of them.
    fn fits(
        spec: &ContractSpec,
        own: &ContractState,
        saved: &ContractState,
        step: u64,
    ) -> std::result::Result<(), String> {
        use crate::agents::learners::bandit::Bandit;
        let n = own.affiliates.len();
        if saved.affiliates.len() != n {
            return Err(format!(
                "it has {} affiliates, the scenario {n}",
                saved.affiliates.len()
            ));
        }
        for (a, (f, s)) in own.affiliates.iter().zip(&saved.affiliates).enumerate() {
            let arms = f.bandit.as_ref().map_or(1, |b| b.arms());
            let same_learner = match (&f.bandit, &s.bandit) {
                (Some(f), Some(s)) => f.arms() == s.arms(),
                (None, None) => true,
                _ => false,
            };
            let pulled = s.last_pull.is_none_or(|(arm, _)| arm < arms);
            if !same_learner || s.arm >= arms || !pulled {
                return Err(format!(
                    "affiliate {a}'s learner of effort is not the scenario's"
                ));
            }
            // The fraction of a referral carried to the next step: a whole
            // one or more (or no number) would make that many join at once.
            if !(0.0..1.0).contains(&s.carry) {
                return Err(format!(
                    "affiliate {a} carries {} of a referral, not a fraction in [0, 1)",
                    s.carry
                ));
            }
        }
        if saved.referrals.len() > spec.referrals.max as usize {
            return Err(format!(
                "it has {} referrals, the pool holds {}",
                saved.referrals.len(),
                spec.referrals.max
            ));
        }
        // A task's instalment names no referral (`u32::MAX`).
        let tasks = match spec.goal {
            Goal::TaskCompletion { tasks, .. } => Some(tasks),
            _ => None,
        };
        let named = saved.referrals.iter().all(|r| (r.affiliate as usize) < n)
            && saved.pending.iter().all(|p| {
                (p.affiliate as usize) < n
                    && ((p.referral as usize) < saved.referrals.len()
                        || (tasks.is_some() && p.referral == u32::MAX))
            });
        if !named {
            return Err("a referral or instalment names no affiliate or referral of it".into());
        }
        Self::adds_up(saved, step, tasks)
    }

    /// Whether a saved state's counts and amounts hold together as a run
    /// keeps them at `step`, so that no later step's arithmetic on them
    /// wraps or runs below zero: nothing counted past the step; the
    /// escrow's parts (what was escrowed and clawed back covering what was
    /// paid and what is committed to instalments, the committed amount the
    /// instalments' sum, the paid and clawed amounts the affiliates'), and
    /// each referral's pending instalments within what it earned; no
    /// amount past 2¹⁰⁰ base units, which no run reaches (a budget is at
    /// most 2⁶⁴ and a step adds at most that much again an agent).
    fn adds_up(
        saved: &ContractState,
        step: u64,
        tasks: Option<u64>,
    ) -> std::result::Result<(), String> {
        let late = saved.steps > step
            || saved
                .referrals
                .iter()
                .any(|r| r.joined > step || r.bought_at > step)
            || saved
                .affiliates
                .iter()
                .any(|a| a.pulled.is_some_and(|p| p > step));
        if late {
            return Err(format!("it counts steps past its own, step {step}"));
        }
        const MOST: u128 = 1 << 100;
        let amounts = saved.affiliates.iter().flat_map(|a| {
            [
                a.contribution,
                a.earned,
                a.paid,
                a.clawed,
                a.spent,
                a.funded,
                a.returned,
                a.step_earned,
                a.step_paid,
                a.step_clawed,
                a.step_cost,
                a.earned_late,
                a.last_pull.map_or(0, |(_, cost)| cost),
            ]
        });
        let huge = [saved.escrowed, saved.paid, saved.clawed, saved.committed]
            .into_iter()
            .chain(amounts)
            .chain(saved.referrals.iter().map(|r| r.earned))
            .chain(saved.pending.iter().map(|p| p.amount))
            .any(|x| x > MOST);
        if huge {
            return Err("it holds an amount past 2^100 base units, which no run reaches".into());
        }
        // Below 2^100 each, sums of as many as a state holds cannot wrap.
        let committed: u128 = saved.pending.iter().map(|p| p.amount).sum();
        let paid: u128 = saved.affiliates.iter().map(|a| a.paid).sum();
        let clawed: u128 = saved.affiliates.iter().map(|a| a.clawed).sum();
        if committed != saved.committed
            || paid != saved.paid
            || clawed != saved.clawed
            || saved.paid + saved.committed > saved.escrowed + saved.clawed
        {
            return Err(format!(
                "its escrow does not add up: escrowed {} and clawed back {}, paid {} of the \
                 affiliates' {paid} and clawed back {clawed}, committed {} to instalments of {committed}",
                saved.escrowed, saved.clawed, saved.paid, saved.committed
            ));
        }
        for (i, r) in saved.referrals.iter().enumerate() {
            let pending = pending_for(&saved.pending, i, r.affiliate);
            if pending > r.earned {
                return Err(format!(
                    "referral {i} has {pending} base units pending of the {} it earned",
                    r.earned
                ));
            }
        }
        let held = saved
            .referrals
            .iter()
            .try_fold(0u64, |sum, r| sum.checked_add(r.held));
        let done = saved
            .affiliates
            .iter()
            .try_fold(0u64, |sum, a| sum.checked_add(a.tasks));
        let most_done = tasks.map_or(0, |t| t.saturating_mul(step));
        if held.is_none() || done.is_none_or(|d| d > most_done) {
            return Err(format!(
                "its referrals hold, or its affiliates did, more than {step} steps can give"
            ));
        }
        Ok(())
    }

    fn is_sybil(spec: &ContractSpec, a: usize, n: usize) -> bool {
        spec.sybil.is_some_and(|s| a >= n - s.count as usize)
    }

    /// After the decide phase: each affiliate's effort (its
    /// [`Action::Effort`] if it gave one, else the contract's `effort`
    /// table) and its cost, the referrals that join (they act from the next
    /// step: dormant and new members hold), and the fakes' scripted trades.
    pub fn act(&mut self, step: u64, ledger: &mut Ledger, actions: &mut [Action]) -> Result<()> {
        self.join(step, ledger, actions)?;
        self.override_actions(step, ledger, actions);
        Ok(())
    }

    fn join(&mut self, step: u64, ledger: &mut Ledger, actions: &[Action]) -> Result<()> {
        let family = StreamFamily::new(self.seed, self.run, step, Stream::Contract);
        for (c, spec) in self.specs.iter().enumerate() {
            let (aff0, pool0, _, _) = self.starts[c];
            let state = &mut self.states[c];
            state.steps += 1;
            let n = state.affiliates.len();
            for a in 0..n {
                let agent = aff0 + a as AgentId;
                let mut rng = family.rng((c as u64) << 32 | u64::from(agent));
                let sybil = Self::is_sybil(spec, a, n);
                let aff = &mut state.affiliates[a];
                let chosen = match actions[agent as usize] {
                    Action::Effort { level } => Some(level),
                    _ => None,
                };
                let mut effort = match (&spec.effort.kind, sybil, chosen) {
                    (_, true, _) => spec.sybil.map_or(0.0, |s| s.level),
                    (_, false, Some(level)) => crate::ledger::to_units(level),
                    (EffortKind::Fixed { level }, false, None) => *level,
                    (EffortKind::Bandit { levels, .. }, false, None) => {
                        use crate::agents::learners::bandit::Bandit;
                        let Some(bandit) = aff.bandit.as_ref() else {
                            return Err(Error::invariant(
                                step,
                                format!(
                                    "contract {:?}: a bandit affiliate without its bandit",
                                    spec.name
                                ),
                            ));
                        };
                        aff.arm = bandit.select(&mut rng);
                        aff.pulled = Some(step);
                        levels[aff.arm]
                    }
                };
                let cost = to_base(spec.effort.cost * effort * effort).unwrap_or(u64::MAX);
                if cost > 0 {
                    if ledger.balance(agent) < cost {
                        effort = 0.0;
                        aff.step_cost = 0;
                    } else {
                        ledger
                            .spend(agent, cost)
                            .map_err(|e| ledger_error(step, &spec.name, "effort", e))?;
                        aff.spent += u128::from(cost);
                        aff.step_cost = u128::from(cost);
                    }
                } else {
                    aff.step_cost = 0;
                }
                aff.effort = effort;
                aff.effort_sum += effort;
                let mean = spec.referrals.rate * effort;
                let joins = match spec.referrals.arrivals {
                    Arrivals::Deterministic => {
                        aff.carry += mean;
                        let whole = aff.carry.floor();
                        aff.carry -= whole;
                        whole as u64
                    }
                    Arrivals::Poisson if mean > 0.0 => {
                        use rand_distr::Distribution;
                        match rand_distr::Poisson::new(mean) {
                            Ok(p) => p.sample(&mut rng) as u64,
                            Err(_) => 0,
                        }
                    }
                    Arrivals::Poisson => 0,
                };
                for _ in 0..joins {
                    // a touch of an agent already referred (never a
                    // sybil's: its fakes are its own)
                    let retouch = spec.referrals.retouch;
                    if retouch > 0.0
                        && !sybil
                        && !state.referrals.is_empty()
                        && rng.random_bool(retouch)
                    {
                        let i = rng.random_range(0..state.referrals.len());
                        retouched(spec, state, i, a as u32);
                        continue;
                    }
                    let index = state.referrals.len();
                    if index >= spec.referrals.max as usize {
                        state.lost += 1;
                        continue;
                    }
                    let budget = match spec.referrals.budget {
                        BudgetDist::Fixed(v) => v,
                        BudgetDist::Uniform(lo, hi) if hi > lo => rng.random_range(lo..hi),
                        BudgetDist::Uniform(lo, _) => lo,
                    };
                    let mut money = to_base(budget).unwrap_or(0);
                    let member = pool0 + index as AgentId;
                    if sybil {
                        money = money.min(ledger.balance(agent));
                        ledger
                            .transfer_money(agent, member, money)
                            .map_err(|e| ledger_error(step, &spec.name, "funding a fake", e))?;
                        state.affiliates[a].funded += u128::from(money);
                    } else {
                        ledger.pay_in(member, money).map_err(|e| {
                            ledger_error(step, &spec.name, "a referral's budget", e)
                        })?;
                    }
                    state.affiliates[a].referrals += 1;
                    state.referrals.push(Referral {
                        affiliate: a as u32,
                        fake: sybil,
                        held: 0,
                        bought_at: step,
                        earned: 0,
                        left: false,
                        done: false,
                        joined: step,
                    });
                }
            }
        }
        Ok(())
    }

    /// Dormant pool members and those that joined this step hold; fakes
    /// buy with everything at once and sell everything `hold` steps after
    /// buying.
    fn override_actions(&self, step: u64, ledger: &Ledger, actions: &mut [Action]) {
        for (c, spec) in self.specs.iter().enumerate() {
            let (_, pool0, _, _) = self.starts[c];
            let state = &self.states[c];
            let asset = match spec.goal {
                Goal::TokenAdoption { asset } => asset,
                Goal::ResourceUsage { asset } => asset,
                Goal::TaskCompletion { .. } => continue,
            };
            for (i, r) in state.referrals.iter().enumerate() {
                let member = pool0 + i as AgentId;
                if !r.fake {
                    if r.joined == step {
                        actions[member as usize] = Action::Hold;
                    }
                    continue;
                }
                let held = ledger.holding(member, asset);
                let hold = spec.sybil.map_or(1, |s| s.hold);
                actions[member as usize] = if r.done {
                    Action::Hold
                } else if held == 0 && ledger.balance(member) > 0 {
                    Action::Buy {
                        asset: asset as u32,
                        spend: ledger.balance(member),
                    }
                } else if held > 0 && step >= r.bought_at.saturating_add(hold) {
                    Action::Sell {
                        asset: asset as u32,
                        amount: held,
                    }
                } else {
                    Action::Hold
                };
            }
            let from = pool0 as usize + state.referrals.len();
            let to = pool0 as usize + spec.referrals.max as usize;
            for a in &mut actions[from..to] {
                *a = Action::Hold;
            }
        }
    }

    /// After the clear phase: contributions credited, clawbacks, rewards
    /// earned and paid, vesting instalments due, bandits told; one record
    /// per affiliate if `keep` (the step is recorded), its amounts summed
    /// since the previous record.
    pub fn settle(
        &mut self,
        step: u64,
        ledger: &mut Ledger,
        trades: &[TradeRecord],
        records: &mut Vec<ContractRecord>,
        keep: bool,
    ) -> Result<()> {
        self.step_tasks.clear();
        let last = self.last;
        for (c, spec) in self.specs.iter().enumerate() {
            let (aff0, pool0, _, _) = self.starts[c];
            let state = &mut self.states[c];
            let n = state.affiliates.len();
            let mut step_cap = vec![u128::MAX; n];
            if let RewardKind::Capped {
                per_step: Some(cap),
                ..
            } = spec.reward.kind
            {
                step_cap.fill(u128::from(to_base(cap).unwrap_or(u64::MAX)));
            }
            let asset = match spec.goal {
                Goal::TokenAdoption { asset } => asset,
                Goal::ResourceUsage { asset } => {
                    use_resources(
                        (step, last),
                        spec,
                        state,
                        asset,
                        pool0,
                        aff0,
                        trades,
                        &mut step_cap,
                        ledger,
                    )?;
                    usize::MAX
                }
                Goal::TaskCompletion { tasks, capacity } => {
                    // the step's tasks, taken by the affiliates in a seeded
                    // order, each up to floor(capacity · e)
                    let mut order: Vec<usize> = (0..n).collect();
                    let mut rng = StreamFamily::new(self.seed, self.run, step, Stream::Contract)
                        .rng((c as u64) << 32 | u64::from(u32::MAX));
                    for k in (1..n).rev() {
                        order.swap(k, rng.random_range(0..=k));
                    }
                    let mut left = tasks;
                    for a in order {
                        let can = (capacity * state.affiliates[a].effort).floor();
                        let done = left.min(if can > 0.0 { can as u64 } else { 0 });
                        left -= done;
                        state.affiliates[a].tasks += done;
                        if done > 0 {
                            self.step_tasks.push((aff0 + a as AgentId, done));
                            let amount = u128::from(done) * UNIT;
                            let credit_of = Credit {
                                step,
                                last,
                                affiliate: a,
                                referral: u32::MAX,
                                amount,
                            };
                            let paid = credit(spec, state, credit_of, &mut step_cap, ledger, aff0)?;
                            state.affiliates[a].earned_late += paid;
                        }
                    }
                    usize::MAX
                }
            };
            for i in 0..state.referrals.len() {
                if asset == usize::MAX {
                    break;
                }
                let member = pool0 + i as AgentId;
                let h = ledger.holding(member, asset);
                let r = state.referrals[i].clone();
                let a = r.affiliate as usize;
                if h > r.held && !r.left {
                    let d = u128::from(h - r.held);
                    let paid = credit(
                        spec,
                        state,
                        Credit {
                            step,
                            last,
                            affiliate: a,
                            referral: i as u32,
                            amount: d,
                        },
                        &mut step_cap,
                        ledger,
                        aff0,
                    )?;
                    state.referrals[i].earned += paid;
                    if r.joined + 1 == step {
                        state.affiliates[a].earned_late += paid;
                    }
                    state.referrals[i].bought_at = step;
                } else if h < r.held && !r.left {
                    let window = spec.reward.clawback;
                    if window.is_some_and(|w| step - r.bought_at <= w) {
                        state.referrals[i].left = true;
                        // cancel what is pending for it
                        // (only the current affiliate's: instalments
                        // of one it moved from still vest to that one)
                        let mut cancelled = 0u128;
                        state.pending.retain(|p| {
                            if p.referral as usize == i && p.affiliate as usize == a {
                                cancelled += p.amount;
                                false
                            } else {
                                true
                            }
                        });
                        state.committed -= cancelled;
                        let paid = r.earned - cancelled;
                        let agent = aff0 + a as AgentId;
                        let back = paid.min(u128::from(ledger.balance(agent)));
                        if back > 0 {
                            ledger
                                .escrow_deposit(agent, back as u64)
                                .map_err(|e| ledger_error(step, &spec.name, "a clawback", e))?;
                        }
                        let aff = &mut state.affiliates[a];
                        aff.clawed += back;
                        aff.step_clawed += back;
                        state.clawed += back;
                    }
                }
                state.referrals[i].held = h;
                // a fake that sold everything returns its money to its sybil
                if r.fake && !r.done && h == 0 && r.held > 0 {
                    let money = ledger.balance(member);
                    let sybil = aff0 + a as AgentId;
                    ledger
                        .transfer_money(member, sybil, money)
                        .map_err(|e| ledger_error(step, &spec.name, "a fake's return", e))?;
                    state.affiliates[a].returned += u128::from(money);
                    state.referrals[i].done = true;
                }
            }
            // vesting instalments due now
            let mut due = Vec::new();
            state.pending.retain(|p| {
                if p.due == step {
                    due.push((p.affiliate, p.amount));
                    false
                } else {
                    true
                }
            });
            for (a, amount) in due {
                let money = u64::try_from(amount).map_err(|_| overflow(step, spec))?;
                ledger
                    .escrow_pay(aff0 + a, money)
                    .map_err(|e| ledger_error(step, &spec.name, "a vested reward", e))?;
                state.committed -= amount;
                state.paid += amount;
                let aff = &mut state.affiliates[a as usize];
                aff.paid += amount;
                aff.step_paid += amount;
            }
            // bandits learn the profit of the previous step's pull, in
            // units: the rewards earned now for the referrals it brought in,
            // less its cost
            if let EffortKind::Bandit { .. } = spec.effort.kind {
                use crate::agents::learners::bandit::Bandit;
                // (a task's reward comes in the step of the effort)
                let tasks = matches!(spec.goal, Goal::TaskCompletion { .. });
                for aff in &mut state.affiliates {
                    let late = std::mem::take(&mut aff.earned_late);
                    let pull = (aff.pulled == Some(step)).then_some((aff.arm, aff.step_cost));
                    let learn = if tasks { pull } else { aff.last_pull };
                    if let (Some((arm, cost)), Some(b)) = (learn, aff.bandit.as_mut()) {
                        b.update(arm, (from_wide(late) - from_wide(cost)) / UNIT as f64)?;
                    }
                    aff.last_pull = if tasks { None } else { pull };
                }
            }
            if !keep {
                continue;
            }
            let left = state.escrowed + state.clawed - state.paid;
            let mut attributed = vec![0u64; n];
            for r in &state.referrals {
                attributed[r.affiliate as usize] += r.held;
            }
            if matches!(spec.goal, Goal::TaskCompletion { .. }) {
                // tasks · 10⁹ fits: the scenario's reader bounds the tasks
                for (at, aff) in attributed.iter_mut().zip(&state.affiliates) {
                    *at = aff.tasks * UNIT as u64;
                }
            }
            for (a, aff) in state.affiliates.iter_mut().enumerate() {
                let (reward, vested, clawed_back) = (
                    std::mem::take(&mut aff.step_earned),
                    std::mem::take(&mut aff.step_paid),
                    std::mem::take(&mut aff.step_clawed),
                );
                records.push(ContractRecord {
                    step,
                    contract: c as u32,
                    affiliate: aff0 + a as AgentId,
                    referrals: aff.referrals,
                    attributed: attributed[a],
                    effort: aff.effort,
                    reward,
                    vested,
                    clawed_back,
                    budget_left: left,
                });
            }
        }
        Ok(())
    }

    /// The escrow the contracts hold between them, base units (for the
    /// conservation check: it must equal the ledger's).
    pub fn escrow(&self) -> u128 {
        self.states
            .iter()
            .map(|s| s.escrowed + s.clawed - s.paid)
            .sum()
    }

    /// Each contract's summary, by name; `price(j)` is asset `j`'s final
    /// price.
    pub fn summaries(
        &self,
        price: impl Fn(usize) -> f64,
    ) -> std::collections::BTreeMap<String, ContractSummary> {
        let units = |x: u128| from_wide(x) / UNIT as f64;
        let mut out = std::collections::BTreeMap::new();
        for (spec, state) in self.specs.iter().zip(&self.states) {
            let asset = match spec.goal {
                Goal::TokenAdoption { asset } | Goal::ResourceUsage { asset } => Some(asset),
                Goal::TaskCompletion { .. } => None,
            };
            let n = state.affiliates.len();
            // (under resource_usage a referral's `held` counts the units
            // allocated to it so far)
            let attributed = match asset {
                Some(_) => units(state.referrals.iter().map(|r| u128::from(r.held)).sum()),
                None => state.affiliates.iter().map(|a| a.tasks as f64).sum(),
            };
            let net = units(state.paid) - units(state.clawed);
            let mut earnings: Vec<f64> = state
                .affiliates
                .iter()
                .map(|a| (units(a.paid) - units(a.clawed)).max(0.0))
                .collect();
            let sybil_net: f64 = (0..n)
                .filter(|&a| Self::is_sybil(spec, a, n))
                .map(|a| earnings[a])
                .fold(0.0, |x, y| x + y);
            let sybil_pnl: f64 = (0..n)
                .filter(|&a| Self::is_sybil(spec, a, n))
                .map(|a| {
                    let s = &state.affiliates[a];
                    units(s.paid) - units(s.clawed) - units(s.spent) - units(s.funded)
                        + units(s.returned)
                })
                .fold(0.0, |x, y| x + y);
            let total: f64 = earnings.iter().fold(0.0, |x, y| x + y);
            let effort: f64 = state.affiliates.iter().map(|a| a.effort_sum).sum();
            let turns = (n as u64 * state.steps) as f64;
            out.insert(
                spec.name.clone(),
                ContractSummary {
                    rewards_paid: units(state.paid),
                    clawed_back: units(state.clawed),
                    attributed_supply: attributed,
                    cost_per_unit: (attributed > 0.0).then(|| net / attributed),
                    primary_return: asset
                        .filter(|_| net > 0.0)
                        .map(|j| attributed * price(j) / net),
                    earnings_gini: crate::metrics::gini(&mut earnings),
                    sybil_share: (total > 0.0).then(|| sybil_net / total),
                    sybil_pnl,
                    budget_left: units(state.escrowed + state.clawed - state.paid),
                    budget_exhausted_step: state.exhausted_at,
                    referrals: state.referrals.len() as u64,
                    referrals_lost: state.lost,
                    effort_spent: units(state.affiliates.iter().map(|a| a.spent).sum()),
                    mean_effort: if turns > 0.0 { effort / turns } else { 0.0 },
                },
            );
        }
        out
    }

    /// Whether a contract of the scenario is settled from the trade log
    /// (the `resource_usage` goal counts allocations).
    pub(crate) fn needs_trade_log(scenario: &Scenario) -> bool {
        scenario
            .contracts
            .iter()
            .any(|c| matches!(c.goal, Goal::ResourceUsage { .. }))
    }

    /// The tasks each affiliate completed in the step just settled, by
    /// agent (an agent under two contracts appears twice).
    pub(crate) fn step_tasks(&self) -> &[(AgentId, u64)] {
        &self.step_tasks
    }

    /// The specs, in scenario order.
    pub fn specs(&self) -> &[ContractSpec] {
        &self.specs
    }
}

/// Affiliate `a` touched referral `i`. Under `last_touch` an honest
/// referral moves to `a` (if it is not already its): what it earned the
/// earlier affiliate stays with it (pending instalments still vest to it),
/// and from now on its contributions — and a clawback of what they earn —
/// are `a`'s. Under `first_touch` a touch changes nothing.
///
/// A referral may come back to an affiliate it had before, whose
/// instalments earned for it then may still be pending: they count as
/// earned for it again (paid nothing yet), so that a clawback, which
/// cancels every instalment `a` has pending for it and takes back the
/// rest of what it earned, takes back exactly what was paid since the
/// return. (Counting nothing earned, it once subtracted the pending
/// instalments from 0: an overflow, or in a release build the affiliate's
/// whole balance taken back.)
fn retouched(spec: &ContractSpec, state: &mut ContractState, i: usize, a: u32) {
    let r = &state.referrals[i];
    if spec.referrals.attribution == Attribution::FirstTouch || r.fake || r.affiliate == a {
        return;
    }
    let pending = pending_for(&state.pending, i, a);
    let r = &mut state.referrals[i];
    r.affiliate = a;
    r.earned = pending;
}

/// What affiliate `a` has pending (instalments not yet vested) for
/// referral `i`, base units.
fn pending_for(pending: &[Instalment], i: usize, a: u32) -> u128 {
    pending
        .iter()
        .filter(|p| p.referral as usize == i && p.affiliate == a)
        .map(|p| p.amount)
        .sum()
}

/// The `resource_usage` goal's contributions of a step: each referral's
/// allocations of `asset` in the step's trade log, in pool order, credited
/// to its affiliate; a referral's `held` counts its units so far.
#[allow(clippy::too_many_arguments)]
fn use_resources(
    (step, last): (u64, u64),
    spec: &ContractSpec,
    state: &mut ContractState,
    asset: usize,
    pool0: AgentId,
    aff0: AgentId,
    trades: &[TradeRecord],
    step_cap: &mut [u128],
    ledger: &mut Ledger,
) -> Result<()> {
    let members = state.referrals.len();
    if members == 0 {
        return Ok(());
    }
    let mut used = vec![0u128; members];
    for t in trades {
        let i = t.agent.wrapping_sub(pool0) as usize;
        if t.kind == TradeKind::Allocation && t.asset as usize == asset && i < members {
            used[i] += u128::from(t.quantity);
        }
    }
    for (i, &d) in used.iter().enumerate() {
        if d == 0 {
            continue;
        }
        let a = state.referrals[i].affiliate as usize;
        let paid = credit(
            spec,
            state,
            Credit {
                step,
                last,
                affiliate: a,
                referral: i as u32,
                amount: d,
            },
            step_cap,
            ledger,
            aff0,
        )?;
        let r = &mut state.referrals[i];
        r.earned += paid;
        r.held = u64::try_from(u128::from(r.held) + d).map_err(|_| overflow(step, spec))?;
        if r.joined + 1 == step {
            state.affiliates[a].earned_late += paid;
        }
    }
    Ok(())
}

/// One contribution to credit to an affiliate.
struct Credit {
    step: u64,
    /// The run's last step ([`Contracts::last`]).
    last: u64,
    affiliate: usize,
    /// The referral it came from (`u32::MAX` for a task).
    referral: u32,
    /// Token (or task) base units.
    amount: u128,
}

/// Credits `c` to its affiliate: it earns `R(C + d) − R(C)`, less what the
/// caps and the uncommitted escrow leave, paid now or scheduled to vest.
/// Returns what it earned.
fn credit(
    spec: &ContractSpec,
    state: &mut ContractState,
    c: Credit,
    step_cap: &mut [u128],
    ledger: &mut Ledger,
    aff0: AgentId,
) -> Result<u128> {
    let (step, a) = (c.step, c.affiliate);
    let aff = &mut state.affiliates[a];
    let before =
        entitlement(&spec.reward.kind, aff.contribution).ok_or_else(|| overflow(step, spec))?;
    aff.contribution += c.amount;
    let after =
        entitlement(&spec.reward.kind, aff.contribution).ok_or_else(|| overflow(step, spec))?;
    let mut pay = (after - before).min(step_cap[a]);
    if let RewardKind::Capped {
        per_affiliate: Some(cap),
        ..
    } = spec.reward.kind
    {
        let cap = u128::from(to_base(cap).unwrap_or(u64::MAX));
        pay = pay.min(cap.saturating_sub(aff.earned));
    }
    let free = state.escrowed + state.clawed - state.paid - state.committed;
    if pay > free {
        pay = free;
        state.exhausted_at.get_or_insert(step);
    }
    if pay == 0 {
        return Ok(0);
    }
    if step_cap[a] != u128::MAX {
        step_cap[a] -= pay;
    }
    aff.earned += pay;
    aff.step_earned += pay;
    let vesting = spec.reward.vesting;
    if vesting == 0 {
        let money = u64::try_from(pay).map_err(|_| overflow(step, spec))?;
        ledger
            .escrow_pay(aff0 + a as AgentId, money)
            .map_err(|e| ledger_error(step, &spec.name, "a reward", e))?;
        state.paid += pay;
        aff.paid += pay;
        aff.step_paid += pay;
    } else {
        state.committed += pay;
        let part = pay / u128::from(vesting);
        for k in 1..=vesting {
            let due = step.saturating_add(k);
            if due > c.last {
                // The instalments due after the run's last step never
                // vest: one holds what is left of them, committed, so that
                // a vesting longer than the run keeps no more than it.
                state.pending.push(Instalment {
                    due: c.last.saturating_add(1),
                    affiliate: a as u32,
                    referral: c.referral,
                    amount: pay - part * u128::from(k - 1),
                });
                break;
            }
            let amount = if k == vesting {
                pay - part * u128::from(vesting - 1)
            } else {
                part
            };
            state.pending.push(Instalment {
                due,
                affiliate: a as u32,
                referral: c.referral,
                amount,
            });
        }
    }
    Ok(pay)
}

fn overflow(step: u64, spec: &ContractSpec) -> Error {
    Error::invariant(
        step,
        format!(
            "contract {:?}: a reward exceeds the ledger's range",
            spec.name
        ),
    )
}

/// `R(C)` in base units of money for a cumulative contribution of `c`
/// token base units: `floor(Σ_i k_i·segment_i / 10⁹)` with `k_i` in base
/// units of money per whole token; `None` past `u128::MAX`.
pub fn entitlement(kind: &RewardKind, c: u128) -> Option<u128> {
    let rate = |k: f64| to_base(k).map(u128::from);
    match kind {
        RewardKind::Linear { k } | RewardKind::Capped { k, .. } => {
            Some(rate(*k)?.checked_mul(c)? / UNIT)
        }
        RewardKind::Tiered { tiers } => {
            let mut sum: u128 = 0;
            for (i, &(from, k)) in tiers.iter().enumerate() {
                let lo = u128::from(to_base(from)?);
                let hi = match tiers.get(i + 1) {
                    Some(&(next, _)) => u128::from(to_base(next)?),
                    None => u128::MAX,
                };
                if c <= lo {
                    break;
                }
                let seg = c.min(hi) - lo;
                sum = sum.checked_add(rate(k)?.checked_mul(seg)?)?;
            }
            Some(sum / UNIT)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::{SimState, Simulation};

    /// A saved contract state that names an affiliate or a referral the
    /// contract does not have (which the next step would index with) is
    /// refused when restored, and the state as taken restores.
    #[test]
    fn a_saved_contract_that_does_not_fit_is_refused() {
        let (s, sim) = crate::test_support::example_at("affiliate-adoption", 10, 6);
        let good = sim.state();
        assert!(
            !good.contracts[0].referrals.is_empty(),
            "no referral joined"
        );
        let restore = |st: SimState| Simulation::new(&s, 0).unwrap().restore(st);
        restore(good.clone()).unwrap();
        let bad = |edit: &dyn Fn(&mut SimState), reason: &str| {
            let mut st = good.clone();
            edit(&mut st);
            let e = restore(st).unwrap_err().to_string();
            assert!(e.contains(reason), "expected {reason:?}, got {e}");
        };
        bad(
            &|st| {
                let c = &mut st.contracts[0];
                c.referrals[0].affiliate = c.affiliates.len() as u32;
            },
            "names no affiliate or referral",
        );
        // `influence` vests its rewards: an instalment naming a referral
        // past the last, or an affiliate past the last.
        assert!(!good.contracts[1].pending.is_empty(), "nothing vesting");
        bad(
            &|st| {
                let c = &mut st.contracts[1];
                c.pending[0].referral = c.referrals.len() as u32;
            },
            "names no affiliate or referral",
        );
        bad(
            &|st| {
                let c = &mut st.contracts[1];
                c.pending[0].affiliate = c.affiliates.len() as u32;
            },
            "names no affiliate or referral",
        );
        // `promo`'s affiliates learn their effort over 4 levels: an arm
        // past them, last pulled or now, or a learner removed or added.
        let learner = "affiliate 0's learner of effort is not the scenario's";
        bad(&|st| st.contracts[0].affiliates[0].arm = 4, learner);
        bad(
            &|st| st.contracts[0].affiliates[0].last_pull = Some((4, 0)),
            learner,
        );
        bad(&|st| st.contracts[0].affiliates[0].bandit = None, learner);
        bad(
            &|st| {
                let bandit = st.contracts[0].affiliates[0].bandit.clone();
                st.contracts[1].affiliates[0].bandit = bandit;
            },
            learner,
        );
        bad(
            &|st| {
                let three = crate::agents::learners::bandit::EpsilonGreedy::new(3, 0.1).ok();
                st.contracts[0].affiliates[0].bandit = three;
            },
            learner,
        );
        // The last arm and a last pull of it fit.
        let mut st = good.clone();
        st.contracts[0].affiliates[0].arm = 3;
        st.contracts[0].affiliates[0].last_pull = Some((3, 0));
        restore(st).unwrap();
        bad(
            &|st| drop(st.contracts[0].affiliates.pop()),
            "affiliates, the scenario",
        );
        // A carry of 1e300 made 2⁶⁴ − 1 referrals join in one step (found
        // by the edited-checkpoint campaign: a hang); so would any carry
        // of a whole referral or more, one per unit.
        bad(
            &|st| st.contracts[0].affiliates[0].carry = 2.5,
            "carries 2.5 of a referral, not a fraction in [0, 1)",
        );
        bad(
            &|st| st.contracts[0].affiliates[0].carry = f64::NAN,
            "carries NaN of a referral",
        );
        bad(
            &|st| {
                let r = st.contracts[0].referrals[0].clone();
                let max = s.contracts[0].referrals.max as usize;
                st.contracts[0].referrals.resize(max + 1, r);
            },
            "referrals, the pool holds",
        );
        // Nothing counted past the state's step (6), which the next
        // step's `step − bought_at` and `joined + 1` would wrap on; the
        // step itself fits.
        let late = "it counts steps past its own, step 6";
        bad(&|st| st.contracts[0].steps = 7, late);
        bad(&|st| st.contracts[0].referrals[0].joined = 7, late);
        bad(&|st| st.contracts[0].referrals[0].bought_at = 7, late);
        bad(&|st| st.contracts[0].affiliates[0].pulled = Some(7), late);
        let mut st = good.clone();
        st.contracts[0].referrals[0].joined = 6;
        st.contracts[0].referrals[0].bought_at = 6;
        st.contracts[0].steps = 6;
        restore(st).unwrap();
        // The escrow's parts add up (found by the `resume_checkpoint`
        // fuzz target: `escrowed + clawed − paid` wrapped in `verify`).
        let escrow = "its escrow does not add up";
        bad(&|st| st.contracts[0].paid += 1, escrow);
        bad(&|st| st.contracts[0].affiliates[0].paid += 1, escrow);
        bad(&|st| st.contracts[0].clawed += 1, escrow);
        bad(&|st| st.contracts[1].committed += 1, escrow);
        bad(&|st| st.contracts[1].pending[0].amount += 1, escrow);
        bad(
            &|st| {
                let c = &mut st.contracts[0];
                c.paid = c.escrowed + 1;
                c.affiliates[0].paid += c.escrowed + 1 - good.contracts[0].paid;
            },
            escrow,
        );
        // No amount past 2^100 base units (a run's sums could wrap from
        // there); 2^100 itself fits the bound, not the escrow here.
        bad(
            &|st| st.contracts[0].affiliates[0].step_cost = (1 << 100) + 1,
            "an amount past 2^100 base units",
        );
        bad(
            &|st| st.contracts[0].escrowed = 1 << 100,
            "the contracts account for 1267650600228229406211297924288 base units of escrow",
        );
        // A referral's instalments pending for its affiliate are within
        // what it earned (a clawback cancels them from it).
        let c = &good.contracts[1];
        let p = c
            .pending
            .iter()
            .position(|p| c.referrals[p.referral as usize].affiliate == p.affiliate)
            .expect("an instalment of a referral's own affiliate");
        bad(
            &|st| {
                let c = &mut st.contracts[1];
                let i = c.pending[p].referral as usize;
                c.referrals[i].earned = 0;
            },
            "base units pending of the 0 it earned",
        );
        // The referrals' holdings sum within u64.
        assert!(good.contracts[0].referrals.len() >= 2);
        bad(
            &|st| {
                st.contracts[0].referrals[0].held = u64::MAX;
                st.contracts[0].referrals[1].held = 1;
            },
            "its referrals hold, or its affiliates did, more than 6 steps can give",
        );
    }

    /// `adds_up` at its edges, on a state with money clawed back: the
    /// escrow exactly spent (paid and committed equal to what was escrowed
    /// and clawed back) fits, a base unit more does not; clawed back money
    /// counts on the escrow's side.
    #[test]
    fn a_contracts_escrow_adds_up_to_the_base_unit() {
        let (s, sim) = crate::test_support::example_at("affiliate-adoption", 10, 6);
        let mut c = sim.state().contracts[0].clone();
        super::Contracts::adds_up(&c, 6, None).unwrap();
        // 5 base units clawed back from affiliate 0, and paid out again.
        c.clawed += 5;
        c.affiliates[0].clawed += 5;
        c.paid += 5;
        c.affiliates[0].paid += 5;
        super::Contracts::adds_up(&c, 6, None).unwrap();
        // All of the escrow spent: fits; one base unit more paid: not.
        let spent = c.escrowed + c.clawed - c.committed;
        c.affiliates[0].paid += spent - c.paid;
        c.paid = spent;
        super::Contracts::adds_up(&c, 6, None).unwrap();
        c.paid += 1;
        c.affiliates[0].paid += 1;
        let e = super::Contracts::adds_up(&c, 6, None).unwrap_err();
        assert!(e.contains("its escrow does not add up"), "{e}");
        // A task contract's instalment names no referral (u32::MAX); any
        // other contract's must name one.
        let mut task = sim.state().contracts[1].clone();
        assert!(!task.pending.is_empty());
        task.pending[0].referral = u32::MAX;
        let spec = &s.contracts[1];
        let own = &sim.state().contracts[1];
        let e = super::Contracts::fits(spec, own, &task, 6).unwrap_err();
        assert!(e.contains("names no affiliate or referral"), "{e}");
    }

    /// A task contract's affiliates did at most the tasks posted in the
    /// steps so far, in all.
    #[test]
    fn a_saved_task_contract_did_no_more_tasks_than_were_posted() {
        let (s, sim) = crate::test_support::example_at("affiliate-tasks", 10, 6);
        let good = sim.state();
        let super::Goal::TaskCompletion { tasks, .. } = s.contracts[0].goal else {
            panic!("not a task contract");
        };
        let done: u64 = good.contracts[0].affiliates.iter().map(|a| a.tasks).sum();
        assert!(done > 0, "no task done");
        let restore = |st: SimState| Simulation::new(&s, 0).unwrap().restore(st);
        let mut most = good.clone();
        most.contracts[0].affiliates[0].tasks += 6 * tasks - done;
        restore(most.clone()).unwrap();
        most.contracts[0].affiliates[0].tasks += 1;
        let e = restore(most).unwrap_err().to_string();
        assert!(e.contains("more than 6 steps can give"), "{e}");
    }
}
