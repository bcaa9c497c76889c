//! The engine's side of the incentive rules ([`crate::incentives`]): opening
//! their treasuries at set-up, and their two calls a step — in the govern
//! phase, after the governance rules, and after the step's trades are
//! settled (before the record phase, so that the step's rows and checks
//! see them).

use super::mechanisms::Market;
use super::{GroupState, Locks, Simulation};
use crate::agents::Action;
use crate::error::Result;
use crate::incentives::Incentives;
use crate::ledger::{AgentId, Ledger};
use crate::scenario::Scenario;

/// Opens and funds the incentive rules' treasuries.
pub(super) fn open(
    scenario: &Scenario,
    ledger: &mut Ledger,
    markets: &[Market],
    groups: &[GroupState],
) -> Result<Incentives> {
    if scenario.incentives.is_empty() {
        return Ok(Incentives::default());
    }
    let ranges: Vec<std::ops::Range<AgentId>> = groups.iter().map(|g| g.start..g.end).collect();
    let backing = |j: usize, from: u64, to: u64| markets[j].reserve_between(from, to);
    Incentives::new(scenario, ledger, &ranges, &backing)
}

impl Simulation {
    /// Tokens of asset `j` that `agent` has staked or is unbonding under
    /// the scenario's `staking` rules, base units (they are not in its
    /// holdings, and still its own).
    pub fn staked(&self, agent: AgentId, j: usize) -> u128 {
        self.incentives.staked_by(&self.scenario, agent, j)
    }

    /// The automated market maker of asset `j` (its pool and its
    /// liquidity providers' shares), if `j` is priced by one.
    pub fn amm(&self, j: usize) -> Option<&crate::market::amm_market::AmmMarket> {
        self.markets.get(j)?.amm()
    }

    /// Adds every agent's staked and unbonding tokens to `locks` (they are
    /// still the agent's: locked, like the tokens of an open order).
    pub(super) fn add_stakes(&self, locks: &mut Locks) {
        if !self.incentives.staking() {
            return;
        }
        self.incentives
            .for_each_stake(&self.scenario, |agent, j, tokens| {
                locks.entries.push((agent, j as u32, 0, tokens));
            });
        locks.entries.sort_unstable();
    }

    /// Adds each group's staked and unbonding tokens to its locked sums
    /// (`[money, tokens of asset 0, …]` per group).
    pub(super) fn add_group_stakes(&self, sums: &mut [u128]) {
        let stride = 1 + self.markets.len();
        let groups = &self.groups;
        self.incentives
            .for_each_stake(&self.scenario, |agent, j, tokens| {
                let g = groups.partition_point(|g| g.end <= agent);
                if let Some(cell) = sums.get_mut(g * stride + 1 + j) {
                    *cell += u128::from(tokens);
                }
            });
    }

    /// After the decide phase: the agents' [`Action::Stake`] and
    /// [`Action::Unstake`], in agent order, go to their staking rules.
    pub(super) fn stake(&mut self) -> Result<()> {
        let mut staking: Vec<(AgentId, Action)> = Vec::new();
        let wanted = |a: &Action| matches!(a, Action::Stake { .. } | Action::Unstake { .. });
        for (g, group) in self.groups.iter().enumerate() {
            match &self.columns[g] {
                Some(column) => {
                    for agent in group.start..group.end {
                        for &a in column.actions(agent).iter().filter(|a| wanted(a)) {
                            staking.push((agent, a));
                        }
                    }
                }
                None => {
                    for agent in group.start..group.end {
                        let a = self.actions[agent as usize];
                        if wanted(&a) {
                            staking.push((agent, a));
                        }
                    }
                }
            }
        }
        self.incentives.act(
            &self.scenario,
            self.step,
            &mut self.ledger,
            &staking,
            &mut self.records.incentives,
        )
    }

    /// Before the contracts act: an agent of an adaptive group (a learner)
    /// that gave an [`Action::Effort`] among its actions has it in the
    /// step's action slot, where the contracts read efforts (its other
    /// actions execute from its group's column, as always).
    pub(super) fn learners_efforts(&mut self) {
        for (g, group) in self.groups.iter().enumerate() {
            let Some(column) = &self.columns[g] else {
                continue;
            };
            for agent in group.start..group.end {
                if let Some(&effort) = column
                    .actions(agent)
                    .iter()
                    .find(|a| matches!(a, Action::Effort { .. }))
                {
                    self.actions[agent as usize] = effort;
                }
            }
        }
    }

    /// The govern phase's incentives: emissions, rewards for holdings and
    /// stakes, staking and unbonding.
    pub(super) fn pay_incentives(&mut self) -> Result<()> {
        if self.scenario.incentives.is_empty() {
            return Ok(());
        }
        let markets = &self.markets;
        let backing = |j: usize, from: u64, to: u64| markets[j].reserve_between(from, to);
        self.incentives.govern(
            &self.scenario,
            self.step,
            &mut self.ledger,
            &backing,
            &mut self.records.incentives,
        )
    }

    /// After the step's trades: early-sell penalties, volume rewards and
    /// fee burns, from the step's trade log.
    pub(super) fn settle_incentives(&mut self) -> Result<()> {
        if self.scenario.incentives.is_empty() {
            return Ok(());
        }
        let markets = &self.markets;
        let resting = |j: usize| {
            let mut owners = Vec::new();
            markets[j].for_each_lock(|agent, _, _| owners.push(agent));
            owners
        };
        let liquidity = |j: usize| {
            markets[j]
                .amm()
                .map(|a| a.lp().holders().collect())
                .unwrap_or_default()
        };
        self.incentives.settle(
            &self.scenario,
            self.step,
            &mut self.ledger,
            self.trades.records(),
            &resting,
            &liquidity,
            self.contracts.step_tasks(),
            &mut self.records.incentives,
        )
    }
}
