//! The metrics of one run, computed from the records and the final state.

use super::Simulation;
use crate::ledger::{to_units, wide_to_units, SCALE};
use crate::metrics::{gini, PriceStats, ShockStats};
use crate::scenario::Objective;
use serde::Serialize;
use std::collections::BTreeMap;

/// Metrics of one asset over a run (`assets.<name>` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetSummary {
    /// Price at the end of the last step.
    pub final_price: f64,
    /// Mean of the recorded prices (step 0 included).
    pub mean_price: f64,
    /// Lowest recorded price.
    pub min_price: f64,
    /// Highest recorded price.
    pub max_price: f64,
    /// Population standard deviation of the recorded prices.
    pub volatility: f64,
    /// Population standard deviation of the per-step log returns.
    pub log_return_volatility: f64,
    /// Largest fall from a running peak, as a share of the peak.
    pub max_drawdown: f64,
    /// Tokens bought and sold over the run, token units.
    pub volume: f64,
    /// Trades executed over the run.
    pub trades: u64,
    /// Supply at the end, token units.
    pub final_supply: f64,
    /// Reserve at the end, money units.
    pub final_reserve: f64,
    /// Fees collected over the run, money units.
    pub fees: f64,
    /// Stability after the first shock; present when the scenario has
    /// events and the run reached the shock's step.
    #[serde(flatten)]
    pub shock: Option<ShockSummary>,
}

/// Stability of an asset's price after the scenario's first shock, the
/// earliest `[[events]]` step `s` (flattened into `assets.<name>` in
/// `summary.json`); see [`crate::metrics::ShockStats`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShockSummary {
    /// Mean price at the end of the `stability.window` steps before `s`
    /// (all of them if fewer).
    pub pre_shock_price: f64,
    /// Largest `|P_t − pre| / pre` over steps `t ≥ s`.
    pub max_deviation: f64,
    /// Steps from `s` until the price is first back within `stability.band`
    /// (relative) of the pre-shock price after leaving it (0 if it never
    /// left); `null` if it never comes back within the run.
    pub recovery_steps: Option<u64>,
    /// Largest fall below the pre-shock price at steps `t ≥ s`, as a share
    /// of it.
    pub shock_drawdown: f64,
}

/// Metrics of one agent group (`groups.<name>` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    /// Number of agents.
    pub agents: u32,
    /// Mean final wealth (balance + holdings at final prices), money units.
    pub mean_wealth: f64,
    /// Mean wealth at step 0, money units.
    pub initial_mean_wealth: f64,
    /// `mean_wealth − initial_mean_wealth`, money units per agent.
    pub pnl: f64,
    /// Gini coefficient of final wealth within the group.
    pub gini: f64,
    /// The group's objective.
    pub objective: &'static str,
    /// Mean utility under the objective.
    pub utility: f64,
}

/// The ledger's checks and counts (`ledger` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerSummary {
    /// |money held − money paid in| at the end, money units (always 0: the
    /// engine stops with an error at the first step where it is not).
    pub conservation_error: f64,
    /// Largest |Σ holdings + treasury − supply| over assets, token units.
    pub token_conservation_error: f64,
    /// Largest shortfall of a reserve below a full sell-back, money units.
    pub reserve_shortfall: f64,
    /// Actions that could not be carried out at all.
    pub rejected_actions: u64,
    /// Actions reduced to what the agent could pay for or held.
    pub clipped_actions: u64,
    /// Buys settled.
    pub mints: u64,
    /// Sells settled.
    pub burns: u64,
    /// Money paid in: initial balances, money units.
    pub initial_balances: f64,
    /// Money paid in to back initial supplies and airdrops, money units.
    pub reserve_funding: f64,
    /// Money paid in to keep reserves covering raised curves, money units.
    pub reserve_top_ups: f64,
    /// Rewards paid in, money units.
    pub rewards: f64,
}

/// The metrics of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Per asset, by name.
    pub assets: BTreeMap<String, AssetSummary>,
    /// Per group, by name.
    pub groups: BTreeMap<String, GroupSummary>,
    /// Ledger checks and counts.
    pub ledger: LedgerSummary,
}

pub(super) fn summarize(sim: &Simulation) -> RunSummary {
    let scenario = &sim.scenario;
    let ledger = &sim.ledger;
    let mut assets = BTreeMap::new();
    let mut shortfall: u64 = 0;
    // A shock after the last step never happened: nothing to measure.
    let shock_step = scenario.shock_step().filter(|&s| s <= sim.step);
    for (j, spec) in scenario.assets.iter().enumerate() {
        let stats = PriceStats::of(&sim.history[j]);
        let rows = sim.records.assets.iter().filter(|r| r.asset as usize == j);
        let (volume, trades) = rows.fold((0u128, 0u64), |(v, t), r| {
            (v + u128::from(r.volume), t + r.trades)
        });
        let books = ledger.books(j);
        shortfall = shortfall.max(sim.shortfall(j, &sim.markets[j]));
        assets.insert(
            spec.name.clone(),
            AssetSummary {
                final_price: stats.final_price,
                mean_price: stats.mean_price,
                min_price: stats.min_price,
                max_price: stats.max_price,
                volatility: stats.volatility,
                log_return_volatility: stats.log_return_volatility,
                max_drawdown: stats.max_drawdown,
                volume: wide_to_units(volume),
                trades,
                final_supply: to_units(books.supply),
                final_reserve: to_units(books.reserve),
                fees: to_units(books.fee_pool),
                shock: shock_step.map(|s| {
                    let stability = &scenario.stability;
                    let stats =
                        ShockStats::of(&sim.history[j], s, stability.band, stability.window);
                    ShockSummary {
                        pre_shock_price: stats.pre_shock_price,
                        max_deviation: stats.max_deviation,
                        recovery_steps: stats.recovery_steps,
                        shock_drawdown: stats.shock_drawdown,
                    }
                }),
            },
        );
    }

    let mut groups = BTreeMap::new();
    for (g, spec) in scenario.groups.iter().enumerate() {
        let range = sim.group_range(g);
        let count = range.len() as f64;
        let mut wealth = sim.wealth_of(range.clone());
        let mean_wealth = wealth.iter().sum::<f64>() / count;
        // The first rows recorded are step 0's, one per group in order.
        let initial = sim.records.groups.get(g).map_or(0.0, |r| r.wealth / count);
        let utility = match sim.objective_of(g) {
            Objective::FinalWealth => mean_wealth,
            Objective::LogWealth => {
                let floor = 1.0 / SCALE as f64;
                wealth.iter().map(|w| w.max(floor).ln()).sum::<f64>() / count
            }
            Objective::Holdings(j) => {
                range
                    .clone()
                    .map(|a| to_units(ledger.holding(a as u32, j)))
                    .sum::<f64>()
                    / count
            }
        };
        groups.insert(
            spec.name.clone(),
            GroupSummary {
                agents: spec.count,
                mean_wealth,
                initial_mean_wealth: initial,
                pnl: mean_wealth - initial,
                gini: gini(&mut wealth),
                objective: spec.objective.name(),
                utility,
            },
        );
    }

    let conservation = ledger.conservation();
    let counts = ledger.counts();
    let money_in = ledger.money_in();
    RunSummary {
        assets,
        groups,
        ledger: LedgerSummary {
            conservation_error: wide_to_units(conservation.money_error()),
            token_conservation_error: wide_to_units(conservation.token_error()),
            reserve_shortfall: to_units(shortfall),
            rejected_actions: counts.rejected,
            clipped_actions: counts.clipped,
            mints: counts.mints,
            burns: counts.burns,
            initial_balances: wide_to_units(money_in.initial_balances),
            reserve_funding: wide_to_units(money_in.reserve_funding),
            reserve_top_ups: wide_to_units(money_in.reserve_top_ups),
            rewards: wide_to_units(money_in.rewards),
        },
    }
}
