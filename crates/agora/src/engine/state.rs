//! A simulation's state between two steps, as plain serialisable data.
//!
//! [`Simulation::state`] takes everything that changes as a run goes — the
//! ledger, the markets, the execution order, the price history, ramp
//! starts, the records not yet drained, the running totals the summary is
//! made of — and [`Simulation::restore`] puts it back on a simulation
//! built from the same scenario. Everything else (groups, policies, the
//! random streams) follows from the scenario, the seed, the run and the
//! step: the streams are counter-based, keyed by (seed, run, step, stream,
//! index), so a stream's position is the step number. The continuation of
//! a restored state is byte-identical to the run it was taken from.
//!
//! The state holds no trait objects: a user's controller saves and loads
//! its own state through [`Controller::save_state`](super::Controller::save_state)
//! and [`Controller::load_state`](super::Controller::load_state).

use serde::{Deserialize, Serialize};

use super::{MarketSeries, Records, Simulation};
use crate::error::{Error, Result};
use crate::ledger::{AgentId, Ledger};

/// Identifies the state format; a state of another version is refused.
/// 7: an order book's or a batch market's state holds, beside the
/// realised surplus, the tokens each valued trader has had counted in it.
pub const STATE_VERSION: u32 = 7;

/// The most a saved count may be (operations, trades, alerts): 2⁶², which a
/// run counting a billion a second would reach in 146 years; a state past
/// it is refused, so that no later `+= 1` wraps.
pub(crate) const MOST_COUNT: u64 = 1 << 62;

/// A simulation's state after a step: what [`Simulation::state`] takes and
/// [`Simulation::restore`] puts back. The random streams are counter-based
/// (keyed by seed, run, step, stream and index), so their position is the
/// step number and nothing else of them is saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimState {
    /// [`STATE_VERSION`] when the state was taken.
    pub version: u32,
    /// The scenario's seed (checked against the scenario on load).
    pub seed: u64,
    /// The run index.
    pub run: u64,
    /// The last step done.
    pub step: u64,
    pub(crate) ledger: Ledger,
    /// Each market's own state ([`Mechanism::save_state`](crate::market::mechanism::Mechanism::save_state)).
    pub(crate) markets: Vec<Option<Vec<u8>>>,
    pub(crate) order: Vec<AgentId>,
    pub(crate) history: Vec<Vec<f64>>,
    pub(crate) ramp_starts: Vec<Vec<Option<f64>>>,
    pub(crate) records: Records,
    pub(crate) totals: Vec<(u128, u64)>,
    pub(crate) initial_wealth: Vec<f64>,
    pub(crate) series: Vec<MarketSeries>,
    pub(crate) unmet: Vec<u64>,
    pub(crate) group_needs: Vec<(u128, u128)>,
    pub(crate) rules: Vec<super::govern::RuleState>,
    pub(crate) halted: Vec<bool>,
    /// Per group, its adaptive agents' states (none for a stateless group).
    pub(crate) columns: Vec<Option<crate::agents::ColumnState>>,
    /// Each summary metric's own state, in the scenario's order.
    pub(crate) metrics: Vec<Option<Vec<u8>>>,
    /// Each controller's own state, in the order they were added (`None`
    /// for a controller that keeps none).
    pub(crate) controllers: Vec<Option<Vec<u8>>>,
    /// Per group, its agents' evolving parameters and baselines (none for
    /// a group without `evolution`).
    pub(crate) evolution: Vec<Option<crate::agents::evolution::EvolvingState>>,
    /// The run's phase (learning, evaluation, done).
    pub(crate) session: super::Session,
    /// Each affiliate contract's state, in the scenario's order.
    #[serde(default)]
    pub(crate) contracts: Vec<crate::contracts::ContractState>,
    /// The incentive rules' running state (stakes, unbonding, budgets).
    pub(crate) incentives: crate::incentives::IncentiveState,
    /// The monitors' detectors' states and what they flagged.
    #[serde(default)]
    pub(crate) monitors: crate::monitor::MonitorState,
    /// The attackers' flows through each asset's trades.
    #[serde(default)]
    pub(crate) attack_flows: crate::monitor::AttackFlows,
}

/// Decodes a part of a saved state (a market's, an agent's, a detector's)
/// that [`postcard`] encoded; `what` names it in errors. A part whose type
/// checks itself as it is read (a learner's table and counts) and fails
/// the check is refused in words: the decoder's own error says only that a
/// custom check failed.
pub(crate) fn decode_part<'a, T: Deserialize<'a>>(
    bytes: &'a [u8],
    what: &str,
) -> std::result::Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| match e {
        postcard::Error::SerdeDeCustom => {
            format!("{what} is not one a run makes (a table, a count or a parameter out of shape)")
        }
        e => format!("{what} is unreadable: {e}"),
    })
}

impl Simulation {
    /// Checks, on the simulation as it is now, the invariants every step
    /// checks: money and every asset's tokens conserved, every open order
    /// an agent's and its lock held in escrow (and every stake's), each
    /// market's own books the ledger's (an AMM's pool), the contracts'
    /// escrow the ledger's, and every curve's reserve covering a full
    /// sell-back.
    /// A run's own states always pass; [`restore`](Self::restore) calls it
    /// and refuses a state from elsewhere that fails (a checkpoint file
    /// edited, or written by a tool of one's own), before a step runs on
    /// it.
    pub fn verify(&self) -> Result<()> {
        let agents = self.ledger.agents();
        for (j, market) in self.markets.iter().enumerate() {
            let name = &self.scenario.assets[j].name;
            let mut stray = None;
            market.for_each_agent(|agent| {
                if agent as usize >= agents {
                    stray.get_or_insert(agent);
                }
            });
            if let Some(agent) = stray {
                return Err(Error::invariant(
                    self.step,
                    format!("asset {name}: its state names agent {agent}, of {agents} agents"),
                ));
            }
            let mechanism = market.mechanism();
            mechanism
                .check_books(self.ledger.books(j))
                .and_then(|()| mechanism.check_step(self.step))
                .map_err(|e| Error::invariant(self.step, format!("asset {name}: {e}")))?;
        }
        self.group_locks()?;
        self.check(false)
    }

    /// The state after the last step, to continue from later with
    /// [`restore`](Self::restore) (a checkpoint, a fork for a
    /// what-if run).
    pub fn state(&self) -> SimState {
        SimState {
            version: STATE_VERSION,
            seed: self.seed,
            run: self.run,
            step: self.step,
            ledger: self.ledger.clone(),
            markets: self
                .markets
                .iter()
                .map(|m| m.mechanism().save_state())
                .collect(),
            order: self.order.clone(),
            history: self.history.clone(),
            ramp_starts: self.ramp_starts.clone(),
            records: self.records.clone(),
            totals: self.totals.clone(),
            initial_wealth: self.initial_wealth.clone(),
            series: self.series.clone(),
            unmet: self.unmet.clone(),
            group_needs: self.group_needs.clone(),
            rules: self.rules.clone(),
            halted: self.halted.clone(),
            columns: self
                .columns
                .iter()
                .enumerate()
                .map(|(g, c)| c.as_ref().map(|c| self.column_state(g, c.as_ref())))
                .collect(),
            metrics: self.metrics.iter().map(|m| m.save_state()).collect(),
            controllers: self.controllers.iter().map(|c| c.save_state()).collect(),
            evolution: self
                .groups
                .iter()
                .map(|g| g.evolving.as_ref().map(|e| e.save()))
                .collect(),
            session: self.session,
            contracts: self.contracts.save(),
            incentives: self.incentives.state(),
            monitors: self.monitors.state(),
            attack_flows: self.attack_flows.clone(),
        }
    }

    /// Group `g`'s `column` as saved, its objectives those of the end of
    /// the step it last learned at, as a run that measured them every step
    /// keeps them: a column whose policy does not read its reward is
    /// measured only where the reward is recorded (`ObjectiveSteps`), and
    /// its kept objectives are then stale when it learned at this step.
    fn column_state(
        &self,
        g: usize,
        column: &dyn crate::agents::StateColumn,
    ) -> crate::agents::ColumnState {
        let mut saved = column.save();
        if column.stale() {
            self.objectives_into(g, &mut saved.objective);
        }
        saved
    }

    /// Puts a state taken with [`state`](Self::state) back on this
    /// simulation, which must have been built from the same scenario (with
    /// the same controllers added, in the same order). All or nothing: a
    /// state that does not fit — version, seed, run, the number of agents,
    /// assets, groups and controllers, the execution order a permutation
    /// of the agents, every saved part of the shape its component keeps —
    /// or that breaks an invariant of its amounts ([`verify`](Self::verify):
    /// money and tokens conserved, every lock in escrow, each market's
    /// books the ledger's) is refused as an input error naming why, and the
    /// simulation is left exactly as it was. The check costs a copy of the
    /// current state and one pass over the accounts, once per restore.
    pub fn restore(&mut self, state: SimState) -> Result<()> {
        let before = self.state();
        let Err(refused) = self.load_checked(state) else {
            return Ok(());
        };
        // Parts loaded before the one that refused are put back. The
        // simulation's own state always loads; if it did not, the
        // simulation is in no state to run on, and says so.
        self.load(before).map_err(|e| {
            Error::invariant(
                self.step,
                format!("{refused}; and the state before it could not be put back: {e}"),
            )
        })?;
        Err(refused)
    }

    /// [`restore`](Self::restore) without putting anything back: for a
    /// simulation that is dropped when the state is refused (a checkpoint's
    /// resume), which then needs no copy of what it held.
    pub(crate) fn load_checked(&mut self, state: SimState) -> Result<()> {
        self.load(state)?;
        self.verify().map_err(|e| match e.kind() {
            // A state that fits but breaks an invariant (a checkpoint's
            // body edited and its checksum made again) is the input's
            // fault, not the engine's.
            crate::error::ErrorKind::Invariant { message, .. } => Error::usage(format!(
                "{}: cannot restore the state: it is inconsistent: {message}",
                self.scenario.origin
            )),
            _ => e,
        })
    }

    /// [`restore`](Self::restore) without its checks of the amounts and
    /// without putting anything back: checks the state's shape and loads
    /// it, part by part (so a part that refuses leaves the ones before it
    /// loaded).
    fn load(&mut self, state: SimState) -> Result<()> {
        let origin = &self.scenario.origin;
        let refuse =
            |what: String| Error::usage(format!("{origin}: cannot restore the state: {what}"));
        if state.version != STATE_VERSION {
            return Err(refuse(format!(
                "it is of format version {}, this build reads version {STATE_VERSION}",
                state.version
            )));
        }
        if state.run != self.run {
            return Err(refuse(format!(
                "it was taken in run {}, this simulation is run {} (build it for run {})",
                state.run, self.run, state.run
            )));
        }
        if state.seed != self.seed {
            return Err(refuse(format!(
                "it was taken with seed {}, the scenario has seed {}",
                state.seed, self.seed
            )));
        }
        let agents = self.ledger.agents();
        let assets = self.ledger.assets();
        if state.ledger.agents() != agents || state.ledger.assets() != assets {
            return Err(refuse(format!(
                "it has {} agents and {} assets, the scenario {agents} and {assets}",
                state.ledger.agents(),
                state.ledger.assets()
            )));
        }
        let mut seen = vec![false; agents];
        let permutation = state.order.len() == agents
            && state.order.iter().all(|&a| {
                seen.get_mut(a as usize)
                    .is_some_and(|s| !std::mem::replace(s, true))
            });
        if !permutation {
            return Err(refuse(
                "its execution order is not a permutation of the agents".into(),
            ));
        }
        let per_asset = [
            state.markets.len(),
            state.history.len(),
            state.ramp_starts.len(),
            state.totals.len(),
            state.series.len(),
        ];
        if per_asset.iter().any(|&n| n != assets) {
            return Err(refuse(format!(
                "its per-asset tables have {per_asset:?} entries, not {assets}"
            )));
        }
        let groups = self.groups.len();
        if state.initial_wealth.len() != groups || state.group_needs.len() != self.group_needs.len()
        {
            return Err(refuse(format!(
                "it has {} groups, the scenario {groups}",
                state.initial_wealth.len()
            )));
        }
        // Counters a step adds to without a check: a run counts nowhere
        // near this far (a billion a second for 146 years), an edited state
        // could start at the edge and wrap.
        let c = state.ledger.counts();
        let counts = [
            c.mints,
            c.burns,
            c.transfers,
            c.rewards,
            c.fees,
            c.settlements,
            c.outside_trades,
            c.locks,
            c.top_ups,
            c.rejected,
            c.clipped,
        ];
        let far = counts.iter().any(|&n| n > MOST_COUNT)
            || state.totals.iter().any(|&(volume, trades)| {
                trades > MOST_COUNT || volume > u128::from(MOST_COUNT) << 64
            })
            || state.session.recorded > state.step
            || state.session.learning_steps > state.step;
        if far {
            return Err(refuse(
                "its operation counts, trade totals or recorded steps are past what a run of \
                 its steps reaches"
                    .into(),
            ));
        }
        if let Some(g) = state
            .group_needs
            .iter()
            .position(|&(need, unmet)| unmet > need)
        {
            return Err(refuse(format!(
                "group {g}'s unmet need is more than its need"
            )));
        }
        // Empty until the first consumption.
        if !(state.unmet.is_empty() || state.unmet.len() == agents) {
            return Err(refuse(
                "its unmet-need table does not fit the agents".into(),
            ));
        }
        state.records.fits(&self.scenario, agents).map_err(refuse)?;
        if state.halted.len() != assets {
            return Err(refuse(format!(
                "it has halt flags for {} assets, not {assets}",
                state.halted.len()
            )));
        }
        let same_rules = state.rules.len() == self.rules.len()
            && state
                .rules
                .iter()
                .zip(&self.rules)
                .all(|(a, b)| std::mem::discriminant(a) == std::mem::discriminant(b));
        if !same_rules {
            return Err(refuse("its governance rules are not the scenario's".into()));
        }
        if let Some(k) = state
            .rules
            .iter()
            .zip(&self.rules)
            .position(|(saved, own)| !saved.fits(own, state.step))
        {
            return Err(refuse(format!(
                "its governance rule {k} is not the scenario's as a run keeps it (its settings, \
                 its last buys or its counts)"
            )));
        }
        self.incentives
            .check(&self.scenario, &state.incentives, state.step)
            .map_err(refuse)?;
        if state.controllers.len() != self.controllers.len() {
            return Err(refuse(format!(
                "it has the state of {} controllers, the simulation has {}",
                state.controllers.len(),
                self.controllers.len()
            )));
        }
        for (j, (m, saved)) in self.markets.iter_mut().zip(&state.markets).enumerate() {
            if let Some(bytes) = saved {
                m.mechanism_mut()
                    .load_state(bytes)
                    .map_err(|e| refuse(format!("asset {j}: {e}")))?;
            }
        }
        let fits = state.columns.len() == self.columns.len()
            && state
                .columns
                .iter()
                .zip(&self.columns)
                .all(|(a, b)| a.is_some() == b.is_some());
        if !fits {
            return Err(refuse(
                "its adaptive groups are not the simulation's (set the same policies first)".into(),
            ));
        }
        for (g, (c, saved)) in self.columns.iter_mut().zip(&state.columns).enumerate() {
            if let (Some(c), Some(saved)) = (c, saved) {
                c.load(saved)
                    .map_err(|e| refuse(format!("group {g}: {e}")))?;
            }
        }
        let evolving_fits = state.evolution.len() == self.groups.len()
            && state
                .evolution
                .iter()
                .zip(&self.groups)
                .all(|(a, b)| a.is_some() == b.evolving.is_some());
        if !evolving_fits {
            return Err(refuse("its evolving groups are not the scenario's".into()));
        }
        for (g, (group, saved)) in self.groups.iter_mut().zip(&state.evolution).enumerate() {
            if let (Some(e), Some(saved)) = (&mut group.evolving, saved) {
                e.load(saved)
                    .map_err(|e| refuse(format!("group {g}: {e}")))?;
            }
        }
        if state.metrics.len() != self.metrics.len() {
            return Err(refuse(format!(
                "it has the state of {} metrics, the scenario has {}",
                state.metrics.len(),
                self.metrics.len()
            )));
        }
        for (k, (m, saved)) in self.metrics.iter_mut().zip(&state.metrics).enumerate() {
            if let Some(bytes) = saved {
                m.load_state(bytes)
                    .map_err(|e| refuse(format!("metric {k}: {e}")))?;
            }
        }
        for (i, (c, saved)) in self
            .controllers
            .iter_mut()
            .zip(&state.controllers)
            .enumerate()
        {
            if let Some(bytes) = saved {
                c.load_state(bytes)
                    .map_err(|e| refuse(format!("controller {i}: {e}")))?;
            }
        }
        self.monitors.restore(state.monitors).map_err(refuse)?;
        self.attack_flows = state.attack_flows;
        self.contracts
            .load(state.contracts, state.step)
            .map_err(refuse)?;
        self.step = state.step;
        self.ledger = state.ledger;
        self.order = state.order;
        self.history = state.history;
        self.ramp_starts = state.ramp_starts;
        self.records = state.records;
        self.totals = state.totals;
        self.initial_wealth = state.initial_wealth;
        self.series = state.series;
        self.unmet = state.unmet;
        self.group_needs = state.group_needs;
        self.any_halted = state.halted.iter().any(|&h| h);
        self.halted = state.halted;
        self.rules = state.rules;
        self.session = state.session;
        self.incentives
            .restore(state.incentives, &self.scenario, &self.ledger);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{example, Scenario};

    /// The ladder at its top level: governance rules, learners (adaptive
    /// columns), evolving groups, resources and monitors.
    fn ladder() -> Scenario {
        let mut s = example("intelligence-ladder").unwrap();
        s.set_steps(6).unwrap();
        s
    }

    /// The reason a simulation of `s` two steps in refuses `state`,
    /// checking that the refusal left it exactly as it was: the same
    /// state, and the same continuation, as a twin that was never offered
    /// it (whatever part refused, the parts loaded before it are put back).
    fn refusal(s: &Scenario, state: SimState) -> String {
        let mut sim = Simulation::new(s, 0).unwrap();
        let mut twin = Simulation::new(s, 0).unwrap();
        for _ in 0..2 {
            sim.advance().unwrap();
            twin.advance().unwrap();
        }
        let before = sim.state();
        let e = sim.restore(state).unwrap_err();
        assert!(
            matches!(e.kind(), crate::error::ErrorKind::Usage(_)),
            "not an input error: {e}"
        );
        let e = e.to_string();
        assert_eq!(sim.state(), before, "refused, yet changed: {e}");
        sim.advance().unwrap();
        twin.advance().unwrap();
        assert_eq!(
            sim.state(),
            twin.state(),
            "refused, yet runs on otherwise: {e}"
        );
        e
    }

    #[test]
    fn a_state_that_fits_restores_and_continues_as_the_run_it_was_taken_from() {
        let s = ladder();
        let mut first = Simulation::new(&s, 0).unwrap();
        for _ in 0..3 {
            first.advance().unwrap();
        }
        let state = first.state();
        assert!(state.rules.len() >= 2 && !state.halted.is_empty());
        assert!(state.columns.iter().any(Option::is_some));
        assert!(state.evolution.iter().any(Option::is_some));
        let mut second = Simulation::new(&s, 0).unwrap();
        second.restore(state.clone()).unwrap();
        assert_eq!(second.step(), 3);
        assert_eq!(second.state(), state);
        first.advance().unwrap();
        second.advance().unwrap();
        assert_eq!(second.state(), first.state());
        // An unmet-need table of one entry an agent fits too.
        let mut with_unmet = state.clone();
        with_unmet.unmet = vec![0; state.ledger.agents()];
        Simulation::new(&s, 0).unwrap().restore(with_unmet).unwrap();
    }

    /// `verify` checks a market's own books against the ledger's: an AMM
    /// pool whose ledger reserve moved without it (money conserved, so
    /// only this check sees it) fails, the run's own state passes.
    #[test]
    fn verify_finds_an_amm_pool_that_is_not_the_ledgers() {
        let (s, sim) = crate::test_support::example_at("amm", 6, 3);
        sim.verify().unwrap();
        let mut state = sim.state();
        state.ledger.deposit_to_pool(0, 0, 1, 0).unwrap();
        let e = refusal(&s, state);
        assert!(
            e.contains("it is inconsistent") && e.contains("the pool holds"),
            "{e}"
        );
    }

    /// An order book's clock is checked against the state's step: a
    /// state whose book is a step later's is refused, naming the asset.
    #[test]
    fn verify_finds_an_order_book_ahead_of_the_state() {
        let (s, mut sim) = crate::test_support::example_at("market-clearing", 6, 2);
        let mut state = sim.state();
        sim.advance().unwrap();
        state.markets[0] = sim.state().markets[0].clone();
        let e = refusal(&s, state);
        assert!(
            e.contains("asset GOOD: its order book was last at step 3, after the state's step 2"),
            "{e}"
        );
    }

    /// A recorded trade of agent 0 in `asset`.
    fn trade(asset: u32) -> crate::ledger::trades::TradeRecord {
        crate::ledger::trades::TradeRecord {
            step: 1,
            agent: 0,
            counterpart: None,
            asset,
            kind: crate::ledger::trades::TradeKind::Payment,
            buy: true,
            quantity: 0,
            money: 1,
        }
    }

    /// Each table of a state checked against the simulation's, one at a
    /// time: a state wrong in that table alone is refused, naming it.
    #[test]
    fn a_state_wrong_in_any_one_table_is_refused_naming_that_table() {
        let s = ladder();
        let mut sim = Simulation::new(&s, 0).unwrap();
        for _ in 0..3 {
            sim.advance().unwrap();
        }
        let good = sim.state();
        let agents = good.ledger.agents();
        let bad = |change: &dyn Fn(&mut SimState)| {
            let mut state = good.clone();
            change(&mut state);
            refusal(&s, state)
        };
        type Change = Box<dyn Fn(&mut SimState)>;
        let cases: Vec<(&str, Change)> = vec![
            ("format version 8", Box::new(|st| st.version += 1)),
            ("taken in run 1", Box::new(|st| st.run = 1)),
            ("seed", Box::new(|st| st.seed ^= 1)),
            (
                "not a permutation",
                Box::new(|st| st.order[1] = st.order[0]),
            ),
            (
                "not a permutation",
                Box::new(|st| {
                    st.order.pop();
                }),
            ),
            (
                "not a permutation",
                Box::new(move |st| st.order[0] = agents as AgentId),
            ),
            (
                "per-asset tables have [4, 3, 3, 3, 3]",
                Box::new(|st| st.markets.push(None)),
            ),
            (
                "per-asset tables have [3, 4, 3, 3, 3]",
                Box::new(|st| st.history.push(Vec::new())),
            ),
            (
                "per-asset tables have [3, 3, 4, 3, 3]",
                Box::new(|st| st.ramp_starts.push(Vec::new())),
            ),
            (
                "per-asset tables have [3, 3, 3, 2, 3]",
                Box::new(|st| {
                    st.totals.pop();
                }),
            ),
            (
                "per-asset tables have [3, 3, 3, 3, 2]",
                Box::new(|st| {
                    st.series.pop();
                }),
            ),
            (
                "groups, the scenario",
                Box::new(|st| st.initial_wealth.push(0.0)),
            ),
            (
                "groups, the scenario",
                Box::new(|st| st.group_needs.push((0, 0))),
            ),
            (
                "group 0's unmet need is more than its need",
                Box::new(|st| st.group_needs[0].1 = st.group_needs[0].0 + 1),
            ),
            (
                "unmet-need table",
                Box::new(move |st| st.unmet = vec![0; agents + 1]),
            ),
            (
                "halt flags for 2 assets",
                Box::new(|st| {
                    st.halted.pop();
                }),
            ),
            (
                "governance rules are not",
                Box::new(|st| {
                    st.rules.pop();
                }),
            ),
            (
                "governance rules are not",
                Box::new(|st| st.rules.swap(0, 1)),
            ),
            (
                "the state of 1 controllers, the simulation has 0",
                Box::new(|st| st.controllers.push(None)),
            ),
            (
                "adaptive groups are not",
                Box::new(|st| st.columns.push(None)),
            ),
            (
                "adaptive groups are not",
                Box::new(|st| {
                    let g = st.columns.iter().position(Option::is_some).unwrap();
                    st.columns[g] = None;
                }),
            ),
            (
                "evolving groups are not",
                Box::new(|st| st.evolution.push(None)),
            ),
            (
                "evolving groups are not",
                Box::new(|st| {
                    let g = st.evolution.iter().position(Option::is_some).unwrap();
                    st.evolution[g] = None;
                }),
            ),
            (
                "metrics, the scenario has",
                Box::new(|st| st.metrics.push(None)),
            ),
            // The recorded rows, which the continuing run writes out.
            (
                "a recorded row names group 99, of",
                Box::new(|st| st.records.groups[0].group = 99),
            ),
            (
                "a recorded row names asset 3, of 3",
                Box::new(|st| st.records.assets[0].asset = 3),
            ),
            (
                "a recorded group row holds 2 and 3 amounts, not one per asset (3)",
                Box::new(|st| st.records.groups[0].holdings = vec![0; 2].into()),
            ),
            (
                "a recorded row names asset 3, of 3",
                Box::new(|st| st.records.trades.push(trade(3))),
            ),
            // Counters a step adds to unchecked, at the edge (found by
            // the `resume_checkpoint` fuzz target: a burn count wrapped).
            (
                "operation counts, trade totals or recorded steps",
                Box::new(|st| st.ledger.counts_mut().burns = MOST_COUNT + 1),
            ),
            (
                "operation counts, trade totals or recorded steps",
                Box::new(|st| st.ledger.counts_mut().clipped = MOST_COUNT + 1),
            ),
            (
                "operation counts, trade totals or recorded steps",
                Box::new(|st| st.totals[0].1 = MOST_COUNT + 1),
            ),
            (
                "operation counts, trade totals or recorded steps",
                Box::new(|st| st.totals[0].0 = (u128::from(MOST_COUNT) << 64) + 1),
            ),
            (
                "operation counts, trade totals or recorded steps",
                Box::new(|st| st.session.recorded = st.step + 1),
            ),
            (
                "operation counts, trade totals or recorded steps",
                Box::new(|st| st.session.learning_steps = st.step + 1),
            ),
            // Refused after every part has loaded: each is put back.
            (
                "it is inconsistent: money is not conserved",
                Box::new(|st| st.ledger.split().0[0] += 1),
            ),
            (
                "it is inconsistent: tokens are not conserved",
                Box::new(|st| st.ledger.split().0[1] += 1),
            ),
        ];
        // Counts at the edge fit.
        let mut edge = good.clone();
        edge.ledger.counts_mut().burns = MOST_COUNT;
        edge.totals[0] = (u128::from(MOST_COUNT) << 64, MOST_COUNT);
        edge.session.recorded = edge.step;
        edge.session.learning_steps = edge.step;
        Simulation::new(&s, 0).unwrap().restore(edge).unwrap();
        // A payment names no asset, and fits.
        let mut payment = good.clone();
        payment
            .records
            .trades
            .push(trade(crate::ledger::trades::NO_ASSET));
        Simulation::new(&s, 0).unwrap().restore(payment).unwrap();
        for (reason, change) in &cases {
            let e = bad(change.as_ref());
            assert!(e.contains(reason), "expected {reason:?}, got {e}");
        }
    }
}
