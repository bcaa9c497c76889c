//! The metrics of one run, computed from the records and the final state.

use super::{PriceSource, Simulation, Valued};
use crate::agents::Side;
use crate::ledger::{to_units, wide_to_units, SCALE};
use crate::metrics::{gini, PriceStats, ShockStats};
use crate::scenario::Objective;
use serde::Serialize;
use std::collections::BTreeMap;

/// Metrics of one asset over a run (`assets.<name>` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetSummary {
    /// The last recorded price: the price at the end of the last step, or,
    /// if that step has none (an equilibrium market with no equilibrium),
    /// the price of the latest step that has one (the price holdings are
    /// valued at); `null` if no step has a price.
    pub final_price: f64,
    /// Mean of the recorded prices (step 0 included; steps without a price
    /// skipped). For a posted-price market, the mean over the steps its
    /// benchmarks are compared with: see [`PostedSummary`].
    pub mean_price: f64,
    /// Lowest recorded price.
    pub min_price: f64,
    /// Highest recorded price.
    pub max_price: f64,
    /// Population standard deviation of the recorded prices.
    pub volatility: f64,
    /// Population standard deviation of the one-step log returns
    /// `ln(P_t / P_{t−1})`, over the steps that have a price and follow one
    /// that has one (a step without a price is not bridged).
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
    /// The metrics of a market-clearing asset (absent for a curve).
    #[serde(flatten)]
    pub market: Option<MarketSummary>,
    /// The metrics of a resource (absent for a token).
    #[serde(flatten)]
    pub resource: Option<ResourceSummary>,
    /// The metrics of a population game (absent for other assets).
    #[serde(flatten)]
    pub game: Option<GameSummary>,
    /// The metrics of a posted-price market (absent for other pricing).
    #[serde(flatten)]
    pub posted: Option<PostedSummary>,
    /// The metrics of an automated market maker (absent for other pricing).
    #[serde(flatten)]
    pub amm: Option<AmmSummary>,
    /// The value attackers took through this asset's trades, money units:
    /// their money received selling it less paid buying it (and less the
    /// priority fees their bundles burned on a mempool), plus the net
    /// tokens they acquired at the final price
    /// ([`AttackFlows`](crate::monitor::AttackFlows)); absent from a
    /// scenario without attackers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manipulation_loss: Option<f64>,
}

/// The metrics of an automated market maker over a run (flattened into
/// `assets.<name>` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AmmSummary {
    /// The pool's money at the end, money units.
    pub pool_money: f64,
    /// The pool's tokens at the end, token units.
    pub pool_tokens: f64,
    /// `k = R_m · R_t` at the end over `k` at the start: at least 1, as
    /// the fees stay in the pool.
    pub k_growth: f64,
    /// Swaps executed.
    pub swaps: u64,
    /// Swaps that failed their slippage bound, unexecuted.
    pub slippage_failures: u64,
    /// Fees kept in the pool from buys, money units.
    pub fees_money: f64,
    /// Fees kept in the pool from sells, token units.
    pub fees_tokens: f64,
    /// The mempool's counts, for `ordering = "mempool"` (absent otherwise).
    #[serde(flatten)]
    pub mempool: Option<MempoolSummary>,
}

/// The metrics of an AMM's mempool over a run (flattened into
/// `assets.<name>` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MempoolSummary {
    /// Bundles (front-run, target, back-run) executed.
    pub bundles: u64,
    /// Bundles dropped at their target's turn (the target executed alone).
    pub bundles_dropped: u64,
    /// Priority fees paid and burned, money units.
    pub priority_fees: f64,
    /// Tokens the buyers whose swaps were sandwiched received less than
    /// they would have at their turn without the front-run, token units.
    pub victims_short_tokens: f64,
    /// Money the sellers whose swaps were sandwiched received less than
    /// they would have without the front-run, money units.
    pub victims_short_money: f64,
}

/// The metrics of a population game over a run (flattened into
/// `assets.<name>` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GameSummary {
    /// The share of each strategy among the game's players at the end.
    pub final_shares: BTreeMap<String, f64>,
    /// Matches played over the run.
    pub matches: u64,
    /// Mean game payoff per matched player and step (payoff points).
    pub mean_payoff: f64,
    /// Money paid out of the pool to players, money units.
    pub paid_out: f64,
    /// Money paid into the pool by players (negative payoffs), money units.
    pub paid_in: f64,
    /// Positive payoffs owed but not paid because the pool was short,
    /// money units.
    pub unpaid: f64,
    /// Negative payoffs owed but not collected (players who could not pay
    /// them in full), money units.
    pub uncollected: f64,
    /// Steps at which the pool could not pay every payoff in full.
    pub pool_short_steps: u64,
    /// Strategy revisions that changed a player's strategy.
    pub switches: u64,
}

/// The metrics of a posted-price market (flattened into `assets.<name>` in
/// `summary.json`, beside its `mean_price`).
///
/// `mean_price` and `mean_profit` are means over the evaluation phase (up
/// to its first `deviation`), or over every step from 1 when the scenario
/// has no evaluation phase: each step's mean posted price, and each step's
/// mean profit per seller, `(p_i − c_i) q_i`. The benchmarks are those of
/// the continuous one-shot game, averaged over the sellers (one value each
/// for identical sellers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostedSummary {
    /// Mean Bertrand–Nash price `p^N`.
    pub nash_price: f64,
    /// Mean profit per seller at the Nash prices, `π^N`.
    pub nash_profit: f64,
    /// Mean joint-profit-maximising price `p^M`.
    pub monopoly_price: f64,
    /// Mean profit per seller at the monopoly prices, `π^M`.
    pub monopoly_profit: f64,
    /// Mean profit per seller and step, `π̄`.
    pub mean_profit: f64,
    /// `Δ = (π̄ − π^N)/(π^M − π^N)`: 0 at the Nash profit, 1 at the
    /// monopoly profit (Calvano et al.'s average profit gain).
    pub collusion_index: f64,
    /// Steps the means are over.
    pub mean_steps: u64,
}

/// The metrics of a resource over a run (flattened into `assets.<name>` in
/// `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceSummary {
    /// The allocation mechanism.
    pub allocation: String,
    /// Units allocated over units available, over the run (never above 1).
    pub utilization: f64,
    /// Units requested over the run.
    pub requested: f64,
    /// Units allocated over the run.
    pub allocated: f64,
    /// Consumers' need not met over the run, units.
    pub unmet_demand: f64,
    /// `unmet_demand` over the consumers' total need (0 without needs).
    pub unmet_share: f64,
    /// Jain's fairness index of allocation / need across consumers, the
    /// mean over steps (1 = equal shares of need).
    pub jain_index: f64,
    /// The Gini coefficient of allocation / need across consumers, the mean
    /// over steps (0 = equal shares of need).
    pub gini: f64,
    /// Value of needs met minus production cost, money units.
    pub welfare: f64,
    /// Value of needs met, money units.
    pub value_of_needs_met: f64,
    /// The largest value of needs the units available could have met,
    /// summed over steps: each step the units go to the needs of highest
    /// value first (a consumer's need counted whole for each resource it
    /// can use), money units.
    pub max_value_of_needs: f64,
    /// `value_of_needs_met / max_value_of_needs`: 1 when every unit that
    /// could meet a need met the most valuable one (nothing idle while
    /// needs go unmet, nothing to a lower value before a higher one);
    /// lower when units sit unrequested (a price too high), go to requests
    /// without a need (a hoarder), or to lower values first. `null` when
    /// the maximum is 0 (no need, or no capacity).
    pub allocative_efficiency: Option<f64>,
    /// What producers paid to make units, money units.
    pub production_cost: f64,
    /// Steps at which a logarithmic price rule capped `|ln(D/O)|` at
    /// `ln 10⁶` (nothing requested, say); `null` for other pricing.
    pub log_ratio_cap_steps: Option<u64>,
}

/// The metrics of a market-clearing asset (flattened into
/// `assets.<name>` in `summary.json`); `null` where a metric does not apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketSummary {
    /// The pricing mechanism (`order_book`, `call_auction`, `equilibrium`,
    /// `price_adjustment`).
    pub mechanism: String,
    /// The surplus `Σ (v_buyer − c_seller)·q` realised in trades of a
    /// trader with a private value as a buyer (`zi_c`, or a user's policy)
    /// buying from one with a private value as a seller, each trader's
    /// tokens counted up to its units, over the largest surplus their
    /// values and costs allow (Gode and Sunder 1993): at most 1, and
    /// negative only where a valued trader trades at a loss (ZI-C traders
    /// never do); `null` without such traders.
    pub allocative_efficiency: Option<f64>,
    /// The largest possible surplus of those values and costs, money units.
    pub max_surplus: Option<f64>,
    /// Mean of best ask − best bid over the steps that end with both,
    /// money units (order books).
    pub mean_spread: Option<f64>,
    /// Mean remaining quantity at the best quotes (the mean of the two
    /// sides present), token units (order books).
    pub mean_depth: Option<f64>,
    /// The theoretical equilibrium price where one is known: from the
    /// exogenous demand and supply, else from the traders' private values
    /// and costs (the midpoint of the competitive price range).
    pub equilibrium_price: Option<f64>,
    /// Mean |P_t − equilibrium price| over the steps with a traded,
    /// equilibrium or posted price.
    pub equilibrium_error: Option<f64>,
    /// Steps from 1 with no equilibrium in the price range (equilibrium
    /// markets; step 0, the initial state, is not a clearing).
    pub no_equilibrium_steps: u64,
    /// Steps at whose clearing (equilibrium) or posted (price adjustment)
    /// price a linear exogenous demand `a − b·P` or supply `c + d·P` was
    /// negative and counted as 0; `null` without a linear exogenous shape.
    pub exogenous_floor_steps: Option<u64>,
    /// Steps at which the logarithmic price rule capped `|ln(D/O)|` at
    /// `ln 10⁶` (a side empty, or one more than 10⁶ times the other);
    /// `null` for the other rules.
    pub log_ratio_cap_steps: Option<u64>,
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
    /// 1 if the price came back (`recovery_steps` has a value), else 0: over
    /// an ensemble, its mean is the share of runs that recovered, and
    /// `recovery_steps`' mean is over those runs only.
    pub recovered_share: f64,
    /// Largest fall below the pre-shock price at steps `t ≥ s`, as a share
    /// of it.
    pub shock_drawdown: f64,
}

/// Metrics of one agent group (`groups.<name>` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    /// Number of agents.
    pub agents: u32,
    /// Mean final wealth (balance + holdings at final prices, what is
    /// locked in open orders included), money units.
    pub mean_wealth: f64,
    /// Mean wealth at step 0, money units.
    pub initial_mean_wealth: f64,
    /// `mean_wealth − initial_mean_wealth`, money units per agent.
    pub pnl: f64,
    /// For an attacker group (`sandwich`, `wash_trader`, `pump_and_dump`,
    /// `spoofer`, `cartel`, `hoarder`), the value it took: Σ over its
    /// agents of final wealth − initial wealth, money units; 0 for the
    /// other groups. Present when the scenario has an attacker group,
    /// absent otherwise. A cartel's is its whole profit (in a posted-price
    /// market, `Σ_t Σ_i π_i`; the part above competition is that less the
    /// Nash profit `π^N` per member and step); a hoarder's is negative,
    /// what it paid for the units it kept idle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted: Option<f64>,
    /// Gini coefficient of final wealth within the group.
    pub gini: f64,
    /// The group's objective.
    pub objective: &'static str,
    /// Mean utility under the objective (wealth and holdings count what is
    /// locked in open orders).
    pub utility: f64,
    /// Mean unmet need per agent over the run, units (consumers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmet_need: Option<f64>,
    /// Share of the group's need met over the run (consumers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needs_met_share: Option<f64>,
}

/// The ledger's checks and counts (`ledger` in `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerSummary {
    /// |money held − money paid in| at the end, money units (always 0: the
    /// engine stops with an error at the first step where it is not).
    pub conservation_error: f64,
    /// Largest |Σ holdings + treasury − supply| over assets, token units.
    pub token_conservation_error: f64,
    /// Largest shortfall of a reserve below a full sell-back, money units
    /// (infinite if what backs a supply is past the ledger's range).
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
    /// Money the outside world (exogenous demand, a resource's provider)
    /// paid agents beyond what it had received from them, money units.
    pub outside_paid_in: f64,
}

/// The metrics of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// Per asset, by name.
    pub assets: BTreeMap<String, AssetSummary>,
    /// Per group, by name.
    pub groups: BTreeMap<String, GroupSummary>,
    /// The Gini coefficient of final wealth across every agent of every
    /// group (balance plus holdings at final prices, what is locked in open
    /// orders included): 0 when all hold the same, `(n − 1)/n` when one
    /// holds everything. Each group's own is `groups.<name>.gini`.
    pub wealth_gini: f64,
    /// Ledger checks and counts.
    pub ledger: LedgerSummary,
    /// The scenario's own summary metrics (`[[metrics]]`, see
    /// [`Metric`](crate::metrics::Metric)), by name; left out of
    /// `summary.json` when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, f64>,
    /// The run's phases, for a scenario with a `stop` or an evaluation
    /// phase (left out of `summary.json` otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simulation: Option<super::SimulationSummary>,
    /// Per affiliate contract (`[[contracts]]`), by name; left out of
    /// `summary.json` when there are none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub contracts: BTreeMap<String, crate::contracts::ContractSummary>,
    /// Per incentive rule (`[[incentives]]`), by name: paid, budget left,
    /// the step its budget ran out (null if never), recipients; left out
    /// of `summary.json` without rules.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub incentives: BTreeMap<String, crate::incentives::IncentiveSummary>,
    /// Per governance rule (`[[governance]]`), by name: what it did
    /// (trips, clips, refusals, taxes, updates); left out of
    /// `summary.json` without rules.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub governance: BTreeMap<String, super::govern::GovernanceSummary>,
    /// Per monitor (`[[monitors]]`), by name: alerts, agents flagged, and
    /// precision and recall against the attackers it targets; left out of
    /// `summary.json` without monitors.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub monitors: BTreeMap<String, crate::monitor::MonitorSummary>,
}

pub(super) fn summarize(sim: &Simulation) -> RunSummary {
    let scenario = &sim.scenario;
    let ledger = &sim.ledger;
    let mut assets = BTreeMap::new();
    let mut shortfall: Option<u128> = Some(0);
    // A shock after the last step never happened: nothing to measure.
    let shock_step = scenario.shock_step().filter(|&s| s <= sim.step);
    let attackers = attacker_groups(sim);
    let attacked = attackers.iter().any(|&a| a);
    for (j, spec) in scenario.assets.iter().enumerate() {
        // A step with no equilibrium has no price; statistics skip it.
        let finite: Vec<f64> = sim.history[j]
            .iter()
            .copied()
            .filter(|p| p.is_finite())
            .collect();
        // No price at all (an equilibrium market that never cleared): the
        // price statistics are NaN, written as null.
        let stats = if finite.is_empty() {
            PriceStats {
                final_price: f64::NAN,
                mean_price: f64::NAN,
                min_price: f64::NAN,
                max_price: f64::NAN,
                volatility: f64::NAN,
                log_return_volatility: f64::NAN,
                max_drawdown: f64::NAN,
            }
        } else {
            PriceStats {
                // Only genuine one-step returns: a step without a price
                // breaks the series instead of being bridged.
                log_return_volatility: crate::metrics::log_return_volatility(&sim.history[j]),
                ..PriceStats::of(&finite)
            }
        };
        let (volume, trades) = sim.totals[j];
        let books = ledger.books(j);
        shortfall = match (shortfall, sim.shortfall(j, &sim.markets[j])) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
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
                final_reserve: wide_to_units(books.reserve),
                fees: wide_to_units(books.fee_pool),
                market: market_summary(sim, j),
                posted: posted_summary(sim, j),
                amm: amm_summary(sim, j),
                resource: sim.markets[j].resource().map(|r| {
                    let t = &r.totals;
                    let ratio = |a: u128, b: u128| if b == 0 { 0.0 } else { a as f64 / b as f64 };
                    let steps = t.fairness_steps.max(1) as f64;
                    ResourceSummary {
                        allocation: r.spec.allocation.name().to_string(),
                        utilization: ratio(t.allocated, t.available),
                        requested: wide_to_units(t.requested),
                        allocated: wide_to_units(t.allocated),
                        unmet_demand: wide_to_units(t.need - t.met),
                        unmet_share: ratio(t.need - t.met, t.need),
                        jain_index: if t.fairness_steps == 0 {
                            1.0
                        } else {
                            t.jain_sum / steps
                        },
                        gini: t.gini_sum / steps,
                        welfare: t.value_met - t.production_cost,
                        value_of_needs_met: t.value_met,
                        max_value_of_needs: t.max_value,
                        allocative_efficiency: (t.max_value > 0.0)
                            .then(|| (t.value_met / t.max_value).min(1.0)),
                        production_cost: t.production_cost,
                        log_ratio_cap_steps: sim.markets[j].mechanism().clamps().1,
                    }
                }),
                game: sim.markets[j].game().map(|g| {
                    let t = g.totals();
                    GameSummary {
                        final_shares: g
                            .spec()
                            .strategies()
                            .iter()
                            .cloned()
                            .zip(g.shares())
                            .collect(),
                        matches: t.matches,
                        mean_payoff: t.payoff_sum / t.player_steps.max(1) as f64,
                        paid_out: wide_to_units(t.paid_out),
                        paid_in: wide_to_units(t.paid_in),
                        unpaid: wide_to_units(t.unpaid),
                        uncollected: wide_to_units(t.uncollected),
                        pool_short_steps: t.pool_short_steps,
                        switches: t.switches,
                    }
                }),
                shock: shock_step.map(|s| {
                    let stability = &scenario.stability;
                    let stats = ShockStats::of(&finite, s, stability.band, stability.window);
                    ShockSummary {
                        pre_shock_price: stats.pre_shock_price,
                        max_deviation: stats.max_deviation,
                        recovery_steps: stats.recovery_steps,
                        recovered_share: if stats.recovery_steps.is_some() {
                            1.0
                        } else {
                            0.0
                        },
                        shock_drawdown: stats.shock_drawdown,
                    }
                }),
                manipulation_loss: manipulation_loss(sim, j),
            },
        );
    }

    let mut groups = BTreeMap::new();
    let mut all_wealth = Vec::with_capacity(sim.ledger.agents());
    for (g, spec) in scenario.groups.iter().enumerate() {
        let range = sim.group_range(g);
        let count = range.len() as f64;
        // this group's wealth, at the end of every agent's: one vector
        // for the run (a second, per group, would add 8 bytes an agent to
        // the peak heap)
        let start = all_wealth.len();
        sim.wealth_onto(range.clone(), &mut all_wealth);
        let wealth = &mut all_wealth[start..];
        let total_wealth = wealth.iter().sum::<f64>();
        let mean_wealth = total_wealth / count;
        let extracted = attacked.then(|| {
            if attackers[g] {
                total_wealth - sim.initial_wealth.get(g).copied().unwrap_or(0.0)
            } else {
                0.0
            }
        });
        let initial = sim.initial_wealth.get(g).map_or(0.0, |w| w / count);
        let utility = match sim.objective_of(g) {
            Objective::FinalWealth => mean_wealth,
            Objective::LogWealth => {
                let floor = 1.0 / SCALE as f64;
                wealth.iter().map(|w| w.max(floor).ln()).sum::<f64>() / count
            }
            Objective::Holdings(j) => {
                // tokens locked in open sell orders are still the agent's
                let locks = sim.locks();
                range
                    .clone()
                    .map(|a| {
                        let locked: u128 = locks
                            .of_agent(a as u32)
                            .iter()
                            .filter(|e| e.1 as usize == j)
                            .map(|e| u128::from(e.3))
                            .sum();
                        wide_to_units(u128::from(ledger.holding(a as u32, j)) + locked)
                    })
                    .sum::<f64>()
                    / count
            }
            Objective::Surplus => sim.objectives(g).iter().sum::<f64>() / count,
        };
        groups.insert(
            spec.name.clone(),
            GroupSummary {
                agents: spec.count,
                mean_wealth,
                initial_mean_wealth: initial,
                pnl: mean_wealth - initial,
                extracted,
                gini: gini(wealth),
                objective: spec.objective.name(),
                utility,
                unmet_need: (sim.group_needs[g].0 > 0)
                    .then(|| wide_to_units(sim.group_needs[g].1) / count),
                needs_met_share: (sim.group_needs[g].0 > 0).then(|| {
                    let (need, unmet) = sim.group_needs[g];
                    (need - unmet) as f64 / need as f64
                }),
            },
        );
    }

    let conservation = ledger.conservation();
    let counts = ledger.counts();
    let money_in = ledger.money_in();
    for (j, spec) in scenario.assets.iter().enumerate() {
        if let (Some(p), Some(a)) = (sim.markets[j].posted(), assets.get_mut(&spec.name)) {
            a.mean_price = p.counted().mean_price();
        }
    }
    let phases = &scenario.simulation;
    let simulation =
        (phases.stop.is_some() || phases.evaluation_steps > 0).then(|| super::SimulationSummary {
            converged: u64::from(sim.session.converged),
            learning_steps: if sim.session.learning_steps > 0 {
                sim.session.learning_steps
            } else {
                sim.step
            },
            steps_run: sim.step,
        });
    RunSummary {
        assets,
        groups,
        wealth_gini: gini(&mut all_wealth),
        simulation,
        metrics: sim.metric_values(),
        contracts: sim.contracts.summaries(|j| sim.price(j)),
        incentives: sim.incentives.summary(scenario, ledger),
        governance: sim.governance_summary(),
        monitors: sim.monitors.summary(scenario),
        ledger: LedgerSummary {
            conservation_error: wide_to_units(conservation.money_error()),
            token_conservation_error: wide_to_units(conservation.token_error()),
            reserve_shortfall: shortfall.map_or(f64::INFINITY, wide_to_units),
            rejected_actions: counts.rejected,
            clipped_actions: counts.clipped,
            mints: counts.mints,
            burns: counts.burns,
            initial_balances: wide_to_units(money_in.initial_balances),
            reserve_funding: wide_to_units(money_in.reserve_funding),
            reserve_top_ups: wide_to_units(money_in.reserve_top_ups),
            rewards: wide_to_units(money_in.rewards),
            outside_paid_in: wide_to_units(money_in.outside),
        },
    }
}

/// `assets.<asset>.manipulation_loss`: the attackers' P&L through trades
/// in asset `j` — money received selling it, less money paid buying it,
/// plus the net tokens of it they acquired at its final price — money
/// units; the value moved from other agents (and pools) to attackers
/// through the asset. `None` (absent) when the scenario has no attacker.
fn manipulation_loss(sim: &Simulation, j: usize) -> Option<f64> {
    let loss = sim.attack_flows.manipulation_loss(j, sim.mark(j))?;
    // the priority fees the attackers' bundles burned on a mempool are
    // money they paid, though no trade's
    let fees: u128 = sim.markets[j]
        .amm()
        .and_then(|a| a.mempool())
        .map_or(0, |m| m.flows().values().map(|f| f.fees_paid).sum());
    Some(loss - wide_to_units(fees))
}

/// The AMM metrics of asset `j`, or `None` for other pricing.
fn amm_summary(sim: &Simulation, j: usize) -> Option<AmmSummary> {
    let amm = sim.markets[j].amm()?;
    let (money, tokens) = amm.reserves();
    let c = amm.counters();
    Some(AmmSummary {
        pool_money: wide_to_units(money),
        pool_tokens: wide_to_units(tokens),
        k_growth: amm.k_growth(),
        swaps: c.swaps,
        slippage_failures: c.slippage_failures,
        fees_money: wide_to_units(c.fees_money),
        fees_tokens: wide_to_units(c.fees_token),
        mempool: amm.mempool().map(|_| MempoolSummary {
            bundles: c.bundles,
            bundles_dropped: c.bundles_dropped,
            priority_fees: wide_to_units(c.priority_fees),
            victims_short_tokens: wide_to_units(c.victims_short_tokens),
            victims_short_money: wide_to_units(c.victims_short_money),
        }),
    })
}

/// Per group, whether its policy is an attacker's
/// ([`PolicyKind::is_attacker`](crate::scenario::PolicyKind::is_attacker)).
fn attacker_groups(sim: &Simulation) -> Vec<bool> {
    use crate::scenario::Kind;
    sim.scenario
        .groups
        .iter()
        .map(|g| {
            crate::scenario::PolicyKind::from_name(&g.policy_kind).is_some_and(|k| k.is_attacker())
        })
        .collect()
}

/// The posted-price metrics of asset `j`, or `None` for other pricing.
fn posted_summary(sim: &Simulation, j: usize) -> Option<PostedSummary> {
    let market = sim.markets[j].posted()?;
    let setup = market.setup();
    let (nash, monopoly) = (setup.nash(), setup.monopoly());
    let counted = market.counted();
    let mean_profit = counted.mean_profit();
    Some(PostedSummary {
        nash_price: nash.mean_price(),
        nash_profit: nash.mean_profit(),
        monopoly_price: monopoly.mean_price(),
        monopoly_profit: monopoly.mean_profit(),
        mean_profit,
        collusion_index: crate::market::posted::collusion_index(
            mean_profit,
            nash.mean_profit(),
            monopoly.mean_profit(),
        ),
        mean_steps: counted.steps,
    })
}

/// The market metrics of asset `j`, or `None` for a curve.
fn market_summary(sim: &Simulation, j: usize) -> Option<MarketSummary> {
    let market = sim.markets[j].mechanism();
    if !sim.markets[j].clears() {
        return None;
    }
    // Steps 1.. of the run: their price sources and prices.
    let series = &sim.series[j];
    let steps = series.sources.iter().zip(sim.history[j].iter().skip(1));
    let mean_of = |xs: Vec<f64>| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let mean = |(sum, n): (f64, u64)| (n > 0).then(|| sum / n as f64);
    // Only a mechanism that quotes both sides (or a depth) has them: a
    // batch market's steps quote none, so its means are none.
    let (mean_spread, mean_depth) = (mean(series.spread), mean(series.depth));
    let valued: Vec<&Valued> = sim.valued.iter().filter(|v| v.private.asset == j).collect();
    let surplus = efficiency(sim, j, &valued);
    let equilibrium_price = market
        .exogenous_equilibrium()
        .or(surplus.as_ref().and_then(|s| s.equilibrium));
    let equilibrium_error = equilibrium_price.and_then(|pe| {
        mean_of(
            steps
                .clone()
                .filter(|(source, price)| {
                    matches!(
                        source,
                        PriceSource::Trade | PriceSource::Equilibrium | PriceSource::Posted
                    ) && price.is_finite()
                })
                .map(|(_, price)| (price - pe).abs())
                .collect(),
        )
    });
    Some(MarketSummary {
        mechanism: market.kind().to_string(),
        allocative_efficiency: surplus.as_ref().and_then(|s| s.efficiency),
        max_surplus: surplus.as_ref().map(|s| s.max),
        mean_spread,
        mean_depth,
        equilibrium_price,
        equilibrium_error,
        no_equilibrium_steps: series
            .sources
            .iter()
            .filter(|&&source| source == PriceSource::NoEquilibrium)
            .count() as u64,
        exogenous_floor_steps: market.clamps().0,
        log_ratio_cap_steps: market.clamps().1,
    })
}

struct Surplus {
    max: f64,
    efficiency: Option<f64>,
    equilibrium: Option<f64>,
}

/// Realised and largest possible surplus of the traders with private
/// values in asset `j`: the market sums `v_buyer − c_seller` over their
/// trades with each other; the largest is the highest values matched with
/// the lowest costs, unit by unit, while value exceeds cost.
fn efficiency(sim: &Simulation, j: usize, valued: &[&Valued]) -> Option<Surplus> {
    if valued.is_empty() {
        return None;
    }
    let realised = sim.markets[j].mechanism().realised_surplus();
    // The largest surplus: the highest values matched with the lowest costs
    // while value > cost.
    let mut buyers: Vec<(f64, u64)> = valued
        .iter()
        .filter(|v| v.private.side == Side::Buy)
        .map(|v| (v.private.value, v.private.units))
        .collect();
    let mut sellers: Vec<(f64, u64)> = valued
        .iter()
        .filter(|v| v.private.side == Side::Sell)
        .map(|v| (v.private.value, v.private.units))
        .collect();
    buyers.sort_by(|a, b| b.0.total_cmp(&a.0));
    sellers.sort_by(|a, b| a.0.total_cmp(&b.0));
    let buyer_units: Vec<u64> = buyers.iter().map(|b| b.1).collect();
    let seller_units: Vec<u64> = sellers.iter().map(|s| s.1).collect();
    let mut max = 0.0;
    let mut last: Option<(f64, f64)> = None;
    // the first pair not worth trading: the marginal buyer and seller
    let mut pairs = crate::market::pairs_in_order(&buyer_units, &seller_units);
    let mut excluded: Option<(Option<f64>, Option<f64>)> = None;
    for (i, k, q) in pairs.by_ref() {
        let (v, c) = (buyers[i].0, sellers[k].0);
        if v <= c {
            excluded = Some((Some(v), Some(c)));
            break;
        }
        max += (v - c) * to_units(q);
        last = Some((v, c));
    }
    // a queue ran out: the other's next trader is the marginal one
    let excluded = excluded.unwrap_or_else(|| {
        let (i, k) = pairs.position();
        (buyers.get(i).map(|b| b.0), sellers.get(k).map(|s| s.0))
    });
    // The competitive price range: above the last matched cost and the
    // first excluded value, below the last matched value and the first
    // excluded cost.
    let equilibrium = last.map(|(v, c)| {
        let lo = c.max(excluded.0.unwrap_or(f64::NEG_INFINITY));
        let hi = v.min(excluded.1.unwrap_or(f64::INFINITY));
        0.5 * (lo + hi)
    });
    Some(Surplus {
        max,
        efficiency: (max > 0.0).then(|| realised / max),
        equilibrium,
    })
}

#[cfg(test)]
mod tests {
    use super::super::Simulation;
    use crate::ledger::SCALE;
    use crate::scenario::Scenario;

    fn close(a: f64, b: f64, what: &str) {
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
            "{what}: {a} vs {b}"
        );
    }

    /// The Gini coefficient by its definition: the mean absolute difference
    /// over all ordered pairs over twice the mean.
    fn naive_gini(w: &[f64]) -> f64 {
        let n = w.len() as f64;
        let mean = w.iter().sum::<f64>() / n;
        let pairs: f64 = w
            .iter()
            .flat_map(|a| w.iter().map(move |b| (a - b).abs()))
            .sum();
        pairs / (2.0 * n * n * mean)
    }

    /// Every figure of the groups and of the curve's asset in the summary,
    /// against the accounts, prices and books read off the simulation at
    /// its end and computed here.
    #[test]
    fn the_summary_of_groups_and_a_curve_is_what_the_accounts_and_prices_say() {
        let s = Scenario::from_toml_str(
            r#"
            [simulation]
            steps = 25
            seed = 11
            [[assets]]
            name = "T"
            pricing = { kind = "bonding_curve", curve = "linear", m = 0.002, b = 1.0, fee = 0.01 }
            [[agents]]
            group = "a"
            count = 3
            balance = 100.0
            objective = { kind = "final_wealth" }
            policy = { kind = "random", asset = "T", p_buy = 0.6, p_sell = 0.3, buy_fraction = 0.3, sell_fraction = 0.5 }
            [[agents]]
            group = "b"
            count = 4
            balance = 50.0
            objective = { kind = "log_wealth" }
            policy = { kind = "random", asset = "T", p_buy = 0.5, p_sell = 0.4, buy_fraction = 0.2, sell_fraction = 0.4 }
            "#,
            "test",
        )
        .unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        while !sim.done() {
            sim.advance().unwrap();
        }
        let a = sim.wealth_of(0..3);
        let b = sim.wealth_of(3..7);
        let all: Vec<f64> = a.iter().chain(&b).copied().collect();
        let prices = sim.prices(0).to_vec();
        let books = *sim.ledger().books(0);
        let counts = *sim.ledger().counts();
        let out = sim.finish().unwrap();
        let summary = &out.summary;

        for (name, w, initial) in [("a", &a, 100.0), ("b", &b, 50.0)] {
            let g = &summary.groups[name];
            let mean = w.iter().sum::<f64>() / w.len() as f64;
            assert_eq!(g.agents as usize, w.len());
            close(g.mean_wealth, mean, "mean wealth");
            close(g.initial_mean_wealth, initial, "initial mean wealth");
            close(g.pnl, mean - initial, "pnl");
            close(g.gini, naive_gini(w), "gini");
            assert!(g.gini > 0.0, "the agents' wealths differ: {w:?}");
            assert_eq!(
                (g.unmet_need, g.needs_met_share, g.extracted),
                (None, None, None)
            );
        }
        close(
            summary.groups["a"].utility,
            summary.groups["a"].mean_wealth,
            "utility a",
        );
        let log_mean = b.iter().map(|w| w.ln()).sum::<f64>() / 4.0;
        close(summary.groups["b"].utility, log_mean, "log utility b");
        close(summary.wealth_gini, naive_gini(&all), "wealth gini");

        let t = &summary.assets["T"];
        assert_eq!(prices.len(), 26, "a price at step 0 and after each step");
        close(t.final_price, *prices.last().unwrap(), "final price");
        close(
            t.mean_price,
            prices.iter().sum::<f64>() / 26.0,
            "mean price",
        );
        close(
            t.min_price,
            prices.iter().copied().fold(f64::INFINITY, f64::min),
            "min",
        );
        close(
            t.max_price,
            prices.iter().copied().fold(0.0, f64::max),
            "max",
        );
        assert!(t.max_price > t.min_price);
        close(t.final_supply, books.supply as f64 / SCALE as f64, "supply");
        close(
            t.final_reserve,
            books.reserve as f64 / SCALE as f64,
            "reserve",
        );
        close(t.fees, books.fee_pool as f64 / SCALE as f64, "fees");
        assert!(t.fees > 0.0);
        // On a curve every trade is a mint or a burn.
        assert_eq!(t.trades, counts.mints + counts.burns);
        assert!(counts.mints > 0 && counts.burns > 0);
        assert_eq!(
            (summary.ledger.mints, summary.ledger.burns),
            (counts.mints, counts.burns)
        );
        close(
            summary.ledger.initial_balances,
            3.0 * 100.0 + 4.0 * 50.0,
            "paid in",
        );
        assert_eq!(summary.ledger.reserve_shortfall, 0.0);
        assert!(summary.simulation.is_none());
    }
}
