//! The posted-price session: a step of a run whose every agent is a
//! Q-learning seller ([`QSeller`](crate::agents::QSeller)) of its one
//! posted-price market — Calvano et al.'s sessions, the
//! `algorithmic-collusion` example — run without the general step's
//! dispatch.
//!
//! Such a step has little to do: each seller reads the last price profile,
//! posts a grid index, the market settles the profile's sales from its
//! tables, and each seller updates one entry of its Q-table. In the
//! general step ([`Simulation::advance`]) most of a step's work is the
//! engine's generality around that: an observation of every asset built
//! twice, a view and a feedback per agent, the actions buffered then
//! executed, a search of the trade log and the open orders for each
//! learner, every phase asked whether it has work.
//! [`advance_posted`](Simulation::advance_posted) does the same work
//! directly:
//!
//! - **decide and execute**: each seller's decision is
//!   [`QSeller::post_on`](crate::agents::QSeller) on the market's view, drawn
//!   from the agent's own stream of the step as in the decide phase, and
//!   the post goes to the market at once (a post only sets its seller's
//!   price for the clearing, so deciding all first changes nothing; no
//!   execution order is drawn for posted prices in the general step
//!   either);
//! - **clear, record, check**: the general phases, unchanged;
//! - **learn**: [`QSeller::learn_on`](crate::agents::QSeller) on the
//!   market's view after the clearing, as the learn phase's feedback
//!   gives it; at the steps where the learn phase measures the groups'
//!   objectives (a kept row's reward, see `ObjectiveSteps`), the general
//!   learn phase runs instead.
//!
//! The decisions, updates and settlements are the same functions on the
//! same inputs as in the general step, so a run gives the same bytes
//! whichever path each step takes (`tests/learners.rs` runs sessions both
//! ways and compares every output and every Q-table). The general step
//! runs instead whenever anything else could act: actions set from outside,
//! a deviation event at this step, controllers, the trade log, summary
//! metrics, or any agent that is not such a seller; and a scenario with
//! another market, a schedule, events other than deviations, contracts,
//! incentives, governance rules, monitors, groups that join or leave, or
//! per-agent records never takes it.

use super::{Simulation, StepStats};
use crate::agents::learners::EpsilonMemo;
use crate::error::Result;
use crate::ledger::AgentId;
use crate::market::mechanism::MarketStep;
use crate::rng::{Stream, StreamFamily};
use crate::scenario::EventKind;

impl Simulation {
    /// Whether the scenario is one whose steps may run as posted-price
    /// session steps (see the [module](self)): one market, posted-price,
    /// and nothing around it that acts in a step. Computed once, at set-up;
    /// what can change later is checked at each step
    /// ([`posted_step`](Self::posted_step)).
    pub(super) fn posted_session_possible(&self) -> bool {
        let scenario = &self.scenario;
        self.markets.len() == 1
            && self.markets[0].posted().is_some()
            && scenario.assets.iter().all(|a| a.schedule.is_empty())
            && scenario
                .events
                .iter()
                .all(|e| matches!(e.kind, EventKind::Deviation { .. }))
            && self.contracts.is_empty()
            && scenario.incentives.is_empty()
            && self.rules.is_empty()
            && !self.watches()
            && scenario.output.agent_steps.is_none()
            && !scenario.output.trades
            && self
                .groups
                .iter()
                .all(|g| g.active_from <= 1 && g.active_until == u64::MAX && g.evolving.is_none())
    }

    /// Whether the next step runs as a posted-price session step: the
    /// scenario allows it, every group is a group of Q-learning sellers,
    /// and nothing set from outside or scheduled for the step needs the
    /// general one.
    #[inline]
    pub(super) fn posted_step(&self) -> bool {
        if !self.posted_session || self.force_general_step {
            return false;
        }
        let next = self.step + 1;
        self.overrides.is_empty()
            && self.controllers.is_empty()
            && self.metrics.is_empty()
            && !self.trades.is_on()
            && (self.deviations.is_empty()
                || self
                    .session
                    .evaluation_step(next)
                    .is_none_or(|e| self.deviations.iter().all(|d| d.at != e)))
            && self
                .columns
                .iter()
                .all(|c| c.as_deref().is_some_and(|c| c.is_q_sellers()))
    }

    /// One step of a posted-price session (see the [module](self)): the
    /// same results as [`advance`](Self::advance).
    pub(super) fn advance_posted(&mut self) -> Result<()> {
        self.step += 1;
        self.posted_steps += 1;
        self.count_posted();
        // The opening phase: a posted-price market has no start-of-step
        // housekeeping and the trade log is off; the govern phase has
        // nothing to do (no schedule, rule, controller or event of this
        // step: `posted_step`).
        self.stats[0] = StepStats::default();
        self.trades.clear();
        self.post_prices();
        self.clear_posted()?;
        self.record_posted()?;
        // The learn phase measures the objectives where a reward is
        // recorded (and around it): the general phase does that.
        let measured = self.session.recorded == self.step || self.may_keep_rows(self.step + 1);
        if measured {
            self.learn();
        } else {
            self.learn_prices();
        }
        self.end_of_step()
    }

    /// The decide and execute phases of a posted-price session step: each
    /// seller, in agent order, decides on the market's view (ε-greedily
    /// from its stream of the step; greedily in the evaluation phase) and
    /// posts at once.
    fn post_prices(&mut self) {
        let decide = StreamFamily::new(self.seed, self.run, self.step, Stream::Decide);
        let evaluation = self.session.evaluating();
        let Some(market) = self.markets[0].posted_mut() else {
            return;
        };
        // The sellers update together, so they act at the same `t`: one
        // `exp` per step.
        let mut memo = EpsilonMemo::default();
        for column in self.columns.iter_mut().flatten() {
            let Some(sellers) = column.q_sellers() else {
                continue;
            };
            for (k, state) in sellers.states.iter_mut().enumerate() {
                let id = sellers.start + k as AgentId;
                let view = market.view();
                let price = if evaluation {
                    sellers.policy.post_on(state, &view, None, &mut memo)
                } else {
                    let mut rng = decide.rng(u64::from(id));
                    sellers
                        .policy
                        .post_on(state, &view, Some(&mut rng), &mut memo)
                };
                // What executing the action `Post { asset, price }` does.
                if let Some(price) = price {
                    if !market.post(id, price) {
                        self.ledger.count_rejected();
                    }
                }
            }
        }
    }

    /// The clear phase of a posted-price session step: the market's
    /// clearing ([`PostedPriceMarket::settle`], its `end_step`), called
    /// directly.
    ///
    /// [`PostedPriceMarket::settle`]: crate::market::posted_market::PostedPriceMarket
    fn clear_posted(&mut self) -> Result<()> {
        let Some(market) = self.markets[0].posted_mut() else {
            return Ok(());
        };
        let mut m = MarketStep {
            step: self.step,
            asset: 0,
            ledger: &mut self.ledger,
            stats: &mut self.stats[0],
            trades: &mut self.trades,
        };
        market
            .settle(&mut m)
            .map_err(|f| f.on(0).into_error(&self.scenario, self.step))
    }

    /// The record phase of a posted-price session step: at a step whose
    /// rows are kept, [`record`](Self::record); else what it does then,
    /// without asking for what the scenario cannot have (locks of open
    /// orders or stakes, per-agent records; a posted-price market quotes
    /// nothing): the price history, the market's totals, the deviation's
    /// impulse response, and the conservation check.
    fn record_posted(&mut self) -> Result<()> {
        if self.keeps_rows() {
            return self.record();
        }
        let Some(market) = self.markets[0].posted() else {
            return self.record();
        };
        self.history[0].push(market.last_price());
        self.totals[0].0 += self.stats[0].volume;
        self.totals[0].1 += self.stats[0].trades;
        if !self.deviations.is_empty() {
            self.record_deviations();
        }
        self.check_posted()
    }

    /// The conservation check of a posted-price session step: the
    /// accounts summed, then [`Ledger::conserved`] and the contracts'
    /// escrow as in [`check`](Self::check). A posted-price market backs no
    /// supply with a reserve (its required reserve is 0): no reserve to
    /// check.
    ///
    /// [`Ledger::conserved`]: crate::ledger::Ledger::conserved
    fn check_posted(&self) -> Result<()> {
        // The groups' agents, as `check` sums them: the groups are
        // contiguous from agent 0.
        let end = self.groups.last().map_or(0, |g| g.end as usize);
        let mut totals = [0u128; 2];
        super::add_account_sums(&self.ledger, 0..end, &mut totals);
        let [balances, holdings] = totals;
        if !self.ledger.conserved(balances, &[holdings]) {
            self.conservation_error(balances, &[holdings])?;
        }
        if self.contracts.escrow() != self.ledger.contracts().escrow {
            return self.check(false);
        }
        Ok(())
    }

    /// The learn phase of a posted-price session step without objectives
    /// measured: each seller learns from the market's view after the
    /// clearing (in the evaluation phase it keeps track, which for these
    /// sellers is nothing), and its group's objectives go stale, as in
    /// [`learn`](Self::learn).
    fn learn_prices(&mut self) {
        let evaluation = self.session.evaluating();
        let Some(market) = self.markets[0].posted() else {
            return;
        };
        let view = market.view();
        for column in self.columns.iter_mut().flatten() {
            let Some(sellers) = column.q_sellers() else {
                continue;
            };
            *sellers.stale = true;
            if evaluation {
                continue;
            }
            for (k, state) in sellers.states.iter_mut().enumerate() {
                sellers.policy.learn_on(state, k as u32, &view);
            }
        }
    }
}
