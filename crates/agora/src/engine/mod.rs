//! The engine: one simulation run, step by step, in a fixed phase order.
//!
//! Each step runs the phases of the design, one call each in
//! [`Simulation::advance`], in this order:
//!
//! 0. **open** — the step's counters and trade log start empty, and every
//!    market does its start-of-step housekeeping
//!    ([`Mechanism::begin_step`](crate::market::Mechanism::begin_step)). This
//!    moves money before governance, on purpose: an order book releases
//!    the locks of expired orders; a resource stock decays and its holders
//!    pay the holding cost; production due this step arrives and its
//!    producers are paid. Governance and agents then see the step's
//!    markets;
//! 1. **govern** — the step's outages (each resource's capacity for the
//!    step, less the share out), scheduled parameter changes, then the
//!    scenario's events
//!    (parameter jumps; which groups act, after `join` and `leave`; the
//!    sales of dumps, settled like ordinary sells in a seeded order), then
//!    [`Controller`]s; if a change raises a curve, the reserve is topped up
//!    (recorded) so that it keeps covering the supply;
//! 2. **decide** — every agent reads the same immutable [`Observation`]
//!    (prices at the start of the step) and its own account, and returns
//!    one [`Action`], drawing from its own seeded stream;
//! 3. **execute** — actions are executed one by one in a seeded random order
//!    (a fresh shuffle of all agents; those that hold are skipped; no
//!    shuffle where every market takes posted prices and no rule guards a
//!    trade, the order being unobservable there), each
//!    against its asset's market, moving money and tokens only through the
//!    [`Ledger`]'s explicit operations: a curve trade settles at once, each
//!    seeing the price the previous one left; a book matches each order as
//!    it arrives; a batch market or a resource collects it;
//! 4. **clear** — each market's clearing
//!    ([`Mechanism::end_step`](crate::market::Mechanism::end_step)): batch
//!    markets clear and settle the orders collected, resources allocate
//!    their capacity and deliver;
//! 5. **consume** — consumers use up what they hold, up to their need; what
//!    a renewing resource's holders have left expires;
//! 6. **record and check** — prices, supplies and group totals are
//!    recorded, and the conservation and solvency invariants are checked;
//! 7. **learn** — with groups of [adaptive](crate::agents::AdaptivePolicy)
//!    policies only: each of their agents learns from its
//!    [`Feedback`](crate::agents::Feedback) (its fills from the step's
//!    trade log, its open orders, its reward, the next observation), in
//!    parallel. Last, so that the next observation holds the step's close.
//!
//! Agents of adaptive groups decide on their own states (in parallel, in
//! the decide phase) and may take several actions, executed in the order
//! given at their turn. Every trade the ledger settles is recorded in the
//! step's trade log ([`Simulation::trades`]) when the log is on
//! (`[output] trades = true`, or an adaptive group); off, nothing is
//! recorded and the curve path is compiled without it.
//!
//! Every fill, allocation and producer payment of the step is also a
//! record of the step's trade log ([`Simulation::trade_log`], off unless
//! turned on with [`Simulation::set_trade_log`]).
//!
//! The engine loops over the markets without knowing their kinds: each is
//! a [`Mechanism`](crate::market::Mechanism), the built-in ones enum
//! variants with the bonding curve settled on a fast path in the execute
//! loop, a user one registered by name. Phase 2 runs either as a parallel
//! pass over all agents before any trade, or lazily, each agent deciding
//! just before its turn in phase 3: a curve trade (or a resource request,
//! allocated only at the end of the step) touches only the trader's own
//! account, so at its turn an agent's account is still what it was at the
//! start of the step, and both ways give the same result,
//! bit for bit (a test checks it). The lazy way is faster (the decision
//! overlaps the previous trade's pricing, and no action buffer is needed),
//! so it is used unless a user policy could profit from parallel threads
//! ([`Simulation::set_parallel_decide`] forces the parallel pass).
//!
//! Outside callers step a run themselves: [`Simulation::observe`] (what
//! agents see before the next step), [`Simulation::advance_with`] (the next
//! step with chosen agents' actions set from outside, replacing their
//! decisions in phase 2), [`Simulation::agent`], [`Simulation::summary`]
//! without ending the run, [`Simulation::drain_records`] as it goes
//! (bounded memory), [`Simulation::finish`] and [`Simulation::reset`].
//!
//! The same scenario, seed and run index give the same results, bit for bit,
//! whatever the number of threads: the decide phase draws from streams keyed
//! by (seed, run, step, agent), sums are exact integers, and everything else
//! runs in a fixed order.

pub mod checkpoint;
mod govern;
mod incentives;
mod mechanisms;
mod mempool;
mod pipeline;
mod posted;
mod session;
mod state;
mod summary;
mod watch;

pub use crate::market::mechanism::PriceSource;
use crate::market::mechanism::{Fault, MarketStep, Quotes, StepStats};
pub use checkpoint::Checkpoint;
pub use govern::GovernanceSummary;
use mechanisms::Market;
pub use session::SimulationSummary;
use session::{Phase, Session};
pub(crate) use state::{decode_part, MOST_COUNT};
pub use state::{SimState, STATE_VERSION};
pub use summary::{
    AssetSummary, GameSummary, GroupSummary, LedgerSummary, MarketSummary, MempoolSummary,
    PostedSummary, ResourceSummary, RunSummary, ShockSummary,
};

use crate::agents::{
    fraction_of, Action, AgentView, AssetObservation, BuiltinPolicy, GroupPolicy, Lesson,
    Observation, OpenOrder, RequestRule, StateColumn, StepRule,
};
use crate::error::{Error, Result};
use crate::governance::GovernanceAction;
use crate::ledger::trades::{TradeKind, TradeRecord};
use crate::ledger::{
    range_advice, reserve_range_advice, to_base, to_units, wide_to_units, AgentId, BookSide,
    Ledger, LedgerError, TradeLog,
};
use crate::pricing::CurveMarket;
use crate::rng::{engine_rng, Stream, StreamFamily};
use crate::scenario::{Change, EventKind, Objective, Scenario, ShareDistribution};
use rand_distr::{Distribution, LogNormal, Pareto};
use rayon::prelude::*;

/// Agents decided per parallel task. Fixed, so that nothing depends on the
/// number of threads.
const CHUNK: usize = 4096;

/// A change of a pricing parameter, requested by a [`Controller`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParamChange {
    /// Index of the asset.
    pub asset: usize,
    /// The parameter, as named in the scenario (e.g. `m`).
    pub param: String,
    /// Its new value.
    pub value: f64,
}

impl From<ParamChange> for GovernanceAction {
    fn from(c: ParamChange) -> Self {
        GovernanceAction::SetParam {
            asset: c.asset,
            param: crate::governance::Param::from_name(&c.param),
            value: c.value,
        }
    }
}

/// A controller: called in the govern phase of every step, after the
/// schedule and events, with the observation agents will see; returns the
/// governance actions to take (e.g. a PID controller steering a curve's
/// parameter, a circuit breaker halting a market). A [`ParamChange`]
/// converts into an action with `.into()`.
pub trait Controller: Send {
    /// Returns the actions to take at the start of `step`.
    fn control(&mut self, step: u64, obs: &Observation<'_>) -> Vec<GovernanceAction>;

    /// The controller's own state, for [`Simulation::state`] (e.g. a PI
    /// controller's integral), in any encoding the controller reads back in
    /// [`load_state`](Self::load_state). The default: none kept.
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }

    /// Puts back a state saved by [`save_state`](Self::save_state), or says
    /// why it cannot. The default accepts and ignores it.
    fn load_state(&mut self, _state: &[u8]) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// Called by [`Simulation::run_with`] after every step (progress bars,
/// live plots, early stopping by the caller's own logic).
pub trait Observer {
    /// Called after step `sim.step()` has been recorded.
    fn on_step(&mut self, sim: &Simulation);
}

impl Observer for () {
    fn on_step(&mut self, _: &Simulation) {}
}

/// One recorded row of an asset's series.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AssetRecord {
    /// Step (0 is the initial state).
    pub step: u64,
    /// Index of the asset.
    pub asset: u32,
    /// Spot price at the end of the step.
    pub price: f64,
    /// Supply, base units.
    pub supply: u64,
    /// Reserve, base units.
    pub reserve: u128,
    /// Tokens traded (minted, burned or changing hands) during the step,
    /// base units.
    pub volume: u128,
    /// Trades executed during the step.
    pub trades: u64,
    /// Where the price comes from.
    pub source: PriceSource,
    /// Best bid after the step, money units (order books with bids).
    pub best_bid: Option<f64>,
    /// Best ask after the step, money units (order books with asks).
    pub best_ask: Option<f64>,
    /// Mean remaining quantity at the best bid and ask, token units (order
    /// books with orders).
    pub depth: Option<f64>,
    /// A resource's capacity available in the step, units (resources).
    pub capacity: Option<f64>,
    /// Units requested in the step (resources).
    pub requested: Option<f64>,
    /// Units allocated in the step (resources).
    pub allocated: Option<f64>,
    /// The shares of a population game's strategies after the step, in
    /// the game's order (game assets).
    pub shares: Option<Box<[f64]>>,
}

/// One recorded row of a group's totals.
///
/// Money and tokens locked in open orders (an order book's resting orders)
/// still belong to the agent that placed them: `balance` and `holdings`
/// count them, and `locked_balance` and `locked_holdings` say how much of
/// them is locked (what the agents can spend now is the difference).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroupRecord {
    /// Step (0 is the initial state).
    pub step: u64,
    /// Index of the group.
    pub group: u32,
    /// Σ balances, locked money included, base units.
    pub balance: u128,
    /// Σ holdings per asset, locked tokens included, base units.
    pub holdings: Box<[u128]>,
    /// Σ wealth (balance + holdings at spot prices, locked amounts
    /// included), money units.
    pub wealth: f64,
    /// The part of `balance` locked in open buy orders, base units.
    pub locked_balance: u128,
    /// The part of `holdings` locked in open sell orders, per asset, base
    /// units.
    pub locked_holdings: Box<[u128]>,
    /// For a group whose policy parameters evolve: per evolving parameter
    /// (in its `params` order), the mean, 10th and 90th percentile over
    /// the group's agents; empty for the other groups.
    pub params: Box<[f64]>,
    /// The mean reward of the group's agents over the step (the change of
    /// their objective, as each learned from it), for a group of
    /// [adaptive](crate::agents::AdaptivePolicy) agents that learned in
    /// the step; `None` otherwise (and at step 0).
    pub mean_reward: Option<f64>,
}

/// One recorded row of an agent's account (`[output.agent_steps]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentStepRecord {
    /// Step (0 is the initial state).
    pub step: u64,
    /// The agent (its index in the run: agents are numbered group by group).
    pub agent: u32,
    /// Index of its group.
    pub group: u32,
    /// Its balance, locked money included, base units.
    pub balance: u128,
    /// Its holdings per asset, locked tokens included, base units.
    pub holdings: Box<[u128]>,
    /// Its wealth (balance + holdings at spot prices), money units.
    pub wealth: f64,
    /// The part of `balance` locked in open buy orders, base units.
    pub locked_balance: u128,
    /// The part of `holdings` locked in open sell orders, base units.
    pub locked_holdings: Box<[u128]>,
    /// The agent's own value of each evolving parameter of its group (in
    /// its `params` order); empty for a group without `evolution`.
    pub params: Box<[f64]>,
}

/// Everything recorded during a run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Records {
    /// Asset rows: for each step from 0, one row per asset.
    pub assets: Vec<AssetRecord>,
    /// Group rows: for each step from 0, one row per group.
    pub groups: Vec<GroupRecord>,
    /// Per-agent rows, when the scenario asks for them
    /// (`[output.agent_steps]`): for each recorded step, one row per
    /// recorded agent, in agent order.
    pub agent_steps: Vec<AgentStepRecord>,
    /// Every fill, transfer and payment, when the scenario asks for them
    /// (`[output] trades = true`): each step's trade log, in step order.
    pub trades: Vec<TradeRecord>,
    /// The impulse responses of the scenario's `deviation` events: the
    /// sellers' prices and profits around each (kept until the run ends:
    /// [`Simulation::drain_records`] leaves them).
    pub deviation: Vec<DeviationRecord>,
    /// Each affiliate's step under each contract (`contracts.csv`; kept
    /// until the run ends: [`Simulation::drain_records`] leaves them).
    #[serde(default)]
    pub contracts: Vec<crate::contracts::ContractRecord>,
    /// The incentive rules' payments, penalties, burns and stakes
    /// (`incentives.csv`; kept until the run ends, like `deviation`).
    #[serde(default)]
    pub incentives: Vec<crate::incentives::IncentiveRecord>,
    /// The monitors' alerts (`alerts.csv`; kept until the run ends, like
    /// `deviation`).
    #[serde(default)]
    pub alerts: Vec<crate::monitor::Alert>,
}

impl Records {
    /// Checks that every row names what `scenario` (with `agents` agents)
    /// has — an asset, a group, an agent, a contract, an incentive rule, a
    /// monitor, an event — and holds one amount per asset where it holds
    /// amounts: the rows a saved state brings are written out by the run
    /// that continues it. Says which row does not fit.
    pub(crate) fn fits(
        &self,
        scenario: &Scenario,
        agents: usize,
    ) -> std::result::Result<(), String> {
        let assets = scenario.assets.len();
        let groups = scenario.groups().len();
        let within = |what: &str, index: u64, count: usize| {
            if index < count as u64 {
                Ok(())
            } else {
                Err(format!("a recorded row names {what} {index}, of {count}"))
            }
        };
        let amounts = |what: &str, held: &[u128], locked: &[u128]| {
            if held.len() == assets && locked.len() == assets {
                Ok(())
            } else {
                Err(format!(
                    "a recorded {what} row holds {} and {} amounts, not one per asset ({assets})",
                    held.len(),
                    locked.len()
                ))
            }
        };
        for r in &self.assets {
            within("asset", r.asset.into(), assets)?;
        }
        for r in &self.groups {
            within("group", r.group.into(), groups)?;
            amounts("group", &r.holdings, &r.locked_holdings)?;
        }
        for r in &self.agent_steps {
            within("agent", r.agent.into(), agents)?;
            within("group", r.group.into(), groups)?;
            amounts("agent", &r.holdings, &r.locked_holdings)?;
        }
        for r in &self.trades {
            within("agent", r.agent.into(), agents)?;
            // A payment moves money only: no asset.
            if r.asset != crate::ledger::trades::NO_ASSET {
                within("asset", r.asset.into(), assets)?;
            }
            if let Some(c) = r.counterpart {
                within("agent", c.into(), agents)?;
            }
        }
        for r in &self.deviation {
            within("event", r.event.into(), scenario.events.len())?;
        }
        for r in &self.contracts {
            within("contract", r.contract.into(), scenario.contracts.len())?;
        }
        for r in &self.incentives {
            within("incentive rule", r.rule.into(), scenario.incentives.len())?;
            if let Some(a) = r.agent {
                within("agent", a.into(), agents)?;
            }
        }
        for a in &self.alerts {
            within("monitor", a.monitor.into(), scenario.monitors().len())?;
            within("asset", a.asset.into(), assets)?;
            for &agent in &a.agents {
                within("agent", agent.into(), agents)?;
            }
        }
        Ok(())
    }
}

/// One step of a `deviation` event's impulse response (`deviation.csv`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviationRecord {
    /// Index of the event in the scenario's `[[events]]`.
    pub event: u32,
    /// The step.
    pub step: u64,
    /// Steps after the deviation (0 at it, negative before).
    pub offset: i64,
    /// The price each seller posted, in seller order.
    pub prices: Box<[f64]>,
    /// The profit each seller earned.
    pub profits: Box<[f64]>,
}

/// A `deviation` event as the engine runs it.
#[derive(Debug, Clone, Copy)]
struct Deviation {
    event: u32,
    asset: usize,
    seller: usize,
    /// The evaluation phase's step it happens at (from 1).
    at: u64,
    window: u64,
}

/// Steps of an impulse response recorded before its deviation.
const BEFORE_DEVIATION: u64 = 5;

/// The outcome of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutput {
    /// The run index.
    pub run: u64,
    /// Recorded series.
    pub records: Records,
    /// Metrics of the run.
    pub summary: RunSummary,
}

/// A group of agents as the engine runs it. Aligned to 128 bytes (two
/// cache lines, against the adjacent-line prefetch), so that the vector of
/// groups, which the other thread reads for every decision in
/// [`pipeline::execute_curves`], shares no cache line with the heap values
/// the trading thread writes (measured with `perf`: 45% of that thread's
/// deciding samples were the wait for the line holding `end`).
#[derive(Debug, Clone)]
#[repr(align(128))]
struct GroupState {
    start: u32,
    end: u32,
    policy: GroupPolicy,
    /// The group acts at steps `active_from..active_until` (`join` and
    /// `leave` events); at others its agents hold without drawing.
    active_from: u64,
    active_until: u64,
    /// Whether the group acts at the current step.
    active: bool,
    /// Each agent's own copy of the policy, for a group whose parameters
    /// evolve (`evolution`); `None` for the others.
    evolving: Option<Box<crate::agents::evolution::Evolving>>,
    /// The rule every agent of the group decides by at the current step,
    /// for a built-in policy whose probabilities depend on the observation
    /// alone ([`BuiltinPolicy::step_rule`]), set by [`set_step_rules`]
    /// before each step's decisions; `None` for the others, which decide
    /// through their policy.
    rule: Option<StepRule>,
    /// The same for a built-in consumer: its resource, share of the need
    /// and bid at the current step
    /// ([`ConsumerPolicy::request_rule`](crate::agents::ConsumerPolicy::request_rule)).
    /// Apart from `rule`, so that the traders' path is one test.
    request: Option<RequestRule>,
    /// The step whose observation `rule` and `request` were worked out on
    /// (`u64::MAX` before the first): a debug build checks it at every
    /// decision, so that a path that builds a [`Deciding`] without
    /// [`set_step_rules`] fails its tests instead of deciding on the last
    /// step's prices.
    rules_step: u64,
}

/// Works out each group's [`GroupState::rule`] and
/// [`GroupState::request`] for the observation `obs`, before the agents
/// decide on it (a group whose agents evolve their own copies of the
/// policy has neither).
fn set_step_rules(groups: &mut [GroupState], obs: &Observation<'_>) {
    for g in groups {
        g.rules_step = obs.step;
        (g.rule, g.request) = match (&g.policy, &g.evolving) {
            (GroupPolicy::Builtin(BuiltinPolicy::Consumer(p)), None) => {
                (None, Some(p.request_rule(obs)))
            }
            (GroupPolicy::Builtin(p), None) => (p.step_rule(obs), None),
            _ => (None, None),
        };
    }
}

/// A trader with a private value (for allocative efficiency).
#[derive(Debug, Clone, Copy)]
struct Valued {
    agent: AgentId,
    /// What its policy gave.
    private: crate::agents::PrivateValue,
}

/// What a market's summary needs of each step after step 0, kept as the
/// run goes (the records may be drained): the sums of the spreads and
/// depths quoted, in step order, and each step's price source.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct MarketSeries {
    pub spread: (f64, u64),
    pub depth: (f64, u64),
    pub sources: Vec<PriceSource>,
}

impl MarketSeries {
    fn add(&mut self, quotes: &Quotes) {
        if let (Some(ask), Some(bid)) = (quotes.best_ask, quotes.best_bid) {
            self.spread.0 += ask - bid;
            self.spread.1 += 1;
        }
        if let Some(d) = quotes.depth {
            self.depth.0 += d;
            self.depth.1 += 1;
        }
        self.sources.push(quotes.source);
    }
}

/// What agents see before a step ([`Simulation::observe`]).
#[derive(Debug, Clone)]
pub struct StepObservation<'a> {
    /// The step about to run, from 1.
    pub step: u64,
    /// One entry per asset, in scenario order.
    pub assets: Vec<AssetObservation<'a>>,
    /// The incentive rules, as agents see them.
    pub incentives: &'a [crate::incentives::IncentiveInfo],
}

impl StepObservation<'_> {
    /// As the [`Observation`] a policy or controller is given.
    pub fn as_observation(&self) -> Observation<'_> {
        Observation {
            step: self.step,
            assets: &self.assets,
            incentives: self.incentives,
            mempool: &[],
        }
    }
}

/// One simulation run of a scenario.
pub struct Simulation {
    scenario: Scenario,
    seed: u64,
    run: u64,
    /// The run's private streams (`Stream::Private` at step 0), derived
    /// once: the decide and learn phases hand them to agents every step.
    private: StreamFamily,
    step: u64,
    ledger: Ledger,
    markets: Vec<Market>,
    groups: Vec<GroupState>,
    history: Vec<Vec<f64>>,
    ramp_starts: Vec<Vec<Option<f64>>>,
    controllers: Vec<Box<dyn Controller>>,
    /// The scenario's governance rules with their running state.
    rules: Vec<govern::RuleState>,
    /// Per asset, whether trading is halted, and whether any is.
    halted: Vec<bool>,
    any_halted: bool,
    actions: Vec<Action>,
    order: Vec<AgentId>,
    force_parallel_decide: bool,
    /// The two-thread execute pipeline forced at any number of agents, in
    /// these sizes ([`Simulation::force_pipeline`]).
    forced_pipeline: Option<pipeline::Sizes>,
    /// Whether the scenario's steps may run as posted-price session steps
    /// (see [`posted`]); set once the simulation is set up.
    posted_session: bool,
    /// Every step runs the general way ([`Simulation::set_posted_session`]).
    force_general_step: bool,
    /// Steps run as posted-price session steps so far (not saved).
    posted_steps: u64,
    /// Steps whose trades ran on the two-thread pipeline so far (not
    /// saved).
    pipelined_steps: u64,
    stats: Vec<StepStats>,
    records: Records,
    /// Per asset: volume (base units) and trades over the run so far, kept
    /// apart from the records, which a caller may drain.
    totals: Vec<(u128, u64)>,
    /// Per group: its wealth at step 0 (for its P&L).
    initial_wealth: Vec<f64>,
    /// Per asset: what a market's summary needs of every step after step
    /// 0 (empty for curves and resources).
    series: Vec<MarketSeries>,
    /// Whether every step's records are reserved up front
    /// ([`Simulation::new`]) or drained as the run goes.
    reserve_all: bool,
    /// Actions set from outside for this step ([`Simulation::advance_with`]),
    /// by agent; empty otherwise.
    overrides: Vec<(AgentId, Action)>,
    valued: Vec<Valued>,
    /// Unmet need per agent over the run, base units (empty without
    /// consumers).
    unmet: Vec<u64>,
    /// The consume phase's allocations by agent, per market (`None` for
    /// markets that are not resources), all zero between steps: kept so
    /// that a large run does not map and fault in fresh zeroed pages every
    /// step.
    allocated_by_agent: Vec<Option<Vec<u64>>>,
    /// Per group: Σ need and Σ unmet need over the run, base units.
    group_needs: Vec<(u128, u128)>,
    /// The current step's fills, transfers and payments; on when
    /// `[output] trades = true` or a group learns, off (recording nothing)
    /// otherwise.
    trades: TradeLog,
    /// Per group: the states of its agents, for a group whose policy is
    /// adaptive ([`GroupPolicy::adaptive`]); `None` for stateless ones.
    columns: Vec<Option<Box<dyn StateColumn>>>,
    /// The scenario's summary metrics (`[[metrics]]`), in its order.
    metrics: Vec<Box<dyn crate::metrics::Metric>>,
    /// The run's phase: learning, evaluation, done.
    session: Session,
    /// The scenario's `deviation` events.
    deviations: Vec<Deviation>,
    /// Per group, the free amounts its agents hold (`[balance, holdings…]`),
    /// summed at each record phase.
    group_sums: Vec<u128>,
    /// Per group, its agents' objectives, for the learn phase.
    objective_bufs: Vec<Vec<f64>>,
    /// The affiliate contracts with their state (see [`crate::contracts`]).
    contracts: crate::contracts::Contracts,
    /// The scenario's incentive rules with their state (`[[incentives]]`).
    incentives: crate::incentives::Incentives,
    /// The scenario's monitors with their state (`[[monitors]]`).
    monitors: crate::monitor::Monitors,
    /// The attackers' net flows through each asset's trades.
    attack_flows: crate::monitor::AttackFlows,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("origin", &self.scenario.origin)
            .field("seed", &self.seed)
            .field("run", &self.run)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

/// A scenario's amount at `path` that does not fit the ledger: `found`
/// says what it is, `what` the kind of amount to scale (`"money"`,
/// `"token"`).
fn range_error(scenario: &Scenario, path: String, found: &str, what: &str) -> Error {
    Error::scenario(
        &scenario.origin,
        path,
        format!("{found} exceeds {}", range_advice(what)),
    )
}

impl Simulation {
    /// Sets up run `run` of `scenario`: opens the accounts, funds the initial
    /// balances, initial supplies and airdrops, and records step 0.
    ///
    /// The records of every step are reserved up front (fallibly: steps
    /// beyond what memory holds are an error naming `simulation.steps`).
    /// A caller that drains them as the run goes
    /// ([`drain_records`](Self::drain_records)) starts with
    /// [`new_drained`](Self::new_drained) instead.
    pub fn new(scenario: &Scenario, run: u64) -> Result<Self> {
        Self::setup(scenario, run, true)
    }

    /// Like [`new`](Self::new), for a caller that takes the records away
    /// with [`drain_records`](Self::drain_records) every few steps: only
    /// the price history (8 bytes per asset and step) is reserved for the
    /// whole run, so a run of millions of steps holds a few steps' records
    /// at a time. The run and its summary are the same as with `new`.
    pub fn new_drained(scenario: &Scenario, run: u64) -> Result<Self> {
        Self::setup(scenario, run, false)
    }

    fn setup(scenario: &Scenario, run: u64, reserve_all: bool) -> Result<Self> {
        let scenario = scenario.clone();
        let seed = scenario.simulation.seed;
        let agents = scenario.agent_count() as usize;
        let m = scenario.assets.len();
        let out_of_memory = || {
            Error::usage(format!(
                "{}: {agents} agents need about {} MB for their accounts and execution order, \
                 more than this machine can allocate",
                scenario.origin,
                (agents as u128 * (8 * (1 + m as u128) + 4)) >> 20
            ))
        };
        let mut ledger = Ledger::try_new(agents, m).ok_or_else(out_of_memory)?;
        let mut order: Vec<AgentId> = Vec::new();
        order
            .try_reserve_exact(agents)
            .map_err(|_| out_of_memory())?;
        order.extend(0..agents as AgentId);
        let mut markets: Vec<Market> = scenario
            .assets
            .iter()
            .enumerate()
            .map(|(j, a)| {
                Market::new(&a.pricing, scenario.posted.get(j).and_then(Option::as_ref)).map_err(
                    |(field, message)| {
                        Error::scenario(
                            &scenario.origin,
                            format!("assets.{}.pricing.{field}", a.name),
                            message,
                        )
                    },
                )
            })
            .collect::<Result<_>>()?;
        let evaluation = scenario.simulation.evaluation_steps > 0;
        for (j, market) in markets.iter_mut().enumerate() {
            if let Some(posted) = market.posted_mut() {
                // Each seller starts at a price drawn uniformly from the
                // grid (Calvano et al.'s random first state).
                use rand::RngExt;
                let mut rng = engine_rng(seed, run, 0, Stream::Market, j as u64);
                let m = posted.setup().grid().len();
                let start: Vec<u32> = (0..posted.setup().sellers().len())
                    .map(|_| rng.random_range(0..m) as u32)
                    .collect();
                posted.start_at(&start);
                posted.set_counting(!evaluation);
            }
        }
        let deviations = scenario
            .events
            .iter()
            .enumerate()
            .filter_map(|(e, event)| match event.kind {
                EventKind::Deviation {
                    asset,
                    seller,
                    window,
                } => Some(Deviation {
                    event: e as u32,
                    asset,
                    seller,
                    at: event.at,
                    window,
                }),
                _ => None,
            })
            .collect();

        for (j, asset) in scenario.assets.iter().enumerate() {
            let path = format!("assets.{}.initial_supply", asset.name);
            let supply = asset.initial_supply;
            let tokens = to_base(supply).ok_or_else(|| {
                range_error(&scenario, path.clone(), &format!("{supply:e}"), "token")
            })?;
            let too_much = || {
                Error::scenario(
                    &scenario.origin,
                    path.clone(),
                    format!(
                        "the reserve backing {supply:e} tokens exceeds {}",
                        reserve_range_advice()
                    ),
                )
            };
            let money = markets[j].required_reserve(tokens).ok_or_else(too_much)?;
            ledger
                .fund_supply(j, None, tokens, money)
                .map_err(|_| too_much())?;
            // An AMM's pool: its money is the asset's reserve, its tokens
            // the treasury (the whole supply at the start).
            if let Some(amm) = markets[j].amm() {
                let (money, tokens) = amm.reserves();
                let pool_error = || {
                    Error::scenario(
                        &scenario.origin,
                        format!("assets.{}.pricing.reserve_money", asset.name),
                        format!("the pool's reserves exceed {}", reserve_range_advice()),
                    )
                };
                let tokens = u64::try_from(tokens).map_err(|_| pool_error())?;
                ledger
                    .fund_supply(j, None, tokens, money)
                    .map_err(|_| pool_error())?;
            }
        }

        // The steps each group acts at, from its `join` and `leave` events
        // (one pass over the events, whatever the number of groups). An
        // event names a group of the scenario: the parser looks it up by
        // name, and `ScenarioBuilder::build` turns an index into a name
        // first, refusing one past the last group.
        let mut active = vec![(0, u64::MAX); scenario.groups.len()];
        for event in &scenario.events {
            match event.kind {
                EventKind::Join { group } => active[group].0 = event.at,
                EventKind::Leave { group, .. } => active[group].1 = event.at,
                _ => {}
            }
        }
        let mut groups = Vec::with_capacity(scenario.groups.len());
        let mut start: u32 = 0;
        for (g, spec) in scenario.groups.iter().enumerate() {
            let end = start + spec.count;
            let path = format!("agents.{}.balance", spec.name);
            let found = format!("{:e}", spec.balance);
            let balance = to_base(spec.balance)
                .ok_or_else(|| range_error(&scenario, path.clone(), &found, "money"))?;
            for agent in start..end {
                ledger
                    .fund_balance(agent, balance)
                    .map_err(|_| range_error(&scenario, path.clone(), &found, "money"))?;
            }
            for drop in &spec.holdings {
                let path = format!("agents.{}.holdings", spec.name);
                let found = format!("an airdrop of {:e} tokens", drop.total);
                let too_large = |what| range_error(&scenario, path.clone(), &found, what);
                let total = to_base(drop.total).ok_or_else(|| too_large("token"))?;
                let mut rng =
                    engine_rng(seed, run, 0, Stream::Airdrop, (g * m + drop.asset) as u64);
                let amounts =
                    apportion(total, &shares(&drop.shares, spec.count as usize, &mut rng));
                let j = drop.asset;
                for (k, amount) in amounts.into_iter().enumerate() {
                    let holder = start + k as u32;
                    let supply = ledger.books(j).supply;
                    let after = supply.checked_add(amount);
                    let money = after
                        .and_then(|after| markets[j].reserve_between(supply, after))
                        .ok_or_else(|| too_large("money"))?;
                    ledger
                        .fund_supply(j, Some(holder), amount, money)
                        .map_err(|_| {
                            if ledger.holding(holder, j).checked_add(amount).is_none() {
                                too_large("token")
                            } else {
                                too_large("money")
                            }
                        })?;
                }
            }
            if let Some(j) = spec.policy.assets().into_iter().find(|&j| j >= m) {
                return Err(Error::scenario(
                    &scenario.origin,
                    format!("agents.{}.policy", spec.name),
                    format!("the policy trades asset index {j}, but the scenario has {m} assets"),
                ));
            }
            let (active_from, active_until) = active[g];
            groups.push(GroupState {
                start,
                end,
                policy: spec.policy.clone(),
                active_from,
                active_until,
                active: true,
                evolving: None,
                rule: None,
                request: None,
                rules_step: u64::MAX,
            });
            start = end;
        }
        enroll_players(&scenario, &groups, &mut markets, &mut ledger, seed, run)?;
        let contracts = crate::contracts::Contracts::new(&scenario, &mut ledger, seed, run)?;
        for (j, market) in markets.iter_mut().enumerate() {
            if let Market::Curve(curve) = market {
                // warm the cache at the initial supply
                let s = ledger.books(j).supply;
                let _ = curve.quote_sell(s, 0, 0);
            }
        }

        let incentives = incentives::open(&scenario, &mut ledger, &markets, &groups)?;
        let ramp_starts = scenario
            .assets
            .iter()
            .map(|a| vec![None; a.schedule.len()])
            .collect();
        let (records, history) = reserve_records(&scenario, reserve_all)?;
        let metrics = if scenario.metrics.is_empty() {
            Vec::new()
        } else {
            let names: Vec<String> = scenario.assets.iter().map(|a| a.name.clone()).collect();
            scenario
                .metrics
                .iter()
                .map(|m| m.build(&scenario.origin, &names))
                .collect::<Result<_>>()?
        };
        let mut sim = Simulation {
            seed,
            run,
            private: StreamFamily::new(seed, run, 0, Stream::Private),
            step: 0,
            ledger,
            markets,
            groups,
            history,
            ramp_starts,
            controllers: Vec::new(),
            rules: govern::rules_of(&scenario)?,
            halted: vec![false; m],
            any_halted: false,
            actions: Vec::new(),
            order,
            force_parallel_decide: false,
            forced_pipeline: None,
            posted_session: false,
            force_general_step: false,
            posted_steps: 0,
            pipelined_steps: 0,
            stats: vec![StepStats::default(); m],
            records,
            totals: vec![(0, 0); m],
            series: vec![MarketSeries::default(); m],
            reserve_all,
            overrides: Vec::new(),
            initial_wealth: Vec::with_capacity(scenario.groups.len()),
            valued: Vec::new(),
            unmet: Vec::new(),
            allocated_by_agent: Vec::new(),
            group_needs: vec![(0, 0); scenario.groups.len()],
            trades: TradeLog::off(),
            metrics,
            columns: Vec::new(),
            session: Session::start(evaluation),
            deviations,
            group_sums: Vec::new(),
            objective_bufs: Vec::new(),
            contracts,
            incentives,
            monitors: crate::monitor::Monitors::new(&scenario),
            attack_flows: crate::monitor::AttackFlows::new(&scenario),
            scenario,
        };
        sim.revalue()?;
        sim.init_columns();
        sim.init_evolution();
        sim.posted_session = sim.posted_session_possible();
        sim.record()?;
        sim.update_metrics();
        Ok(sim)
    }

    /// Makes the per-agent states of every group with an adaptive policy
    /// from the accounts now, and turns the trade log on where it is
    /// wanted.
    fn init_columns(&mut self) {
        self.columns = (0..self.groups.len()).map(|g| self.column(g)).collect();
        self.trades.set_on(self.wants_trade_log());
    }

    /// Group `g`'s states, if its policy is adaptive, from the accounts now.
    fn column(&self, g: usize) -> Option<Box<dyn StateColumn>> {
        let policy = self.groups[g].policy.as_adaptive()?;
        let mut column = policy.column();
        let group = &self.groups[g];
        column.init(
            &self.ledger,
            group.start,
            group.end,
            self.private,
            self.objectives(g),
        );
        Some(column)
    }

    /// Gives every agent of each group with `evolution` its own copy of the
    /// group's policy, with the objectives now as the first baselines.
    fn init_evolution(&mut self) {
        for g in 0..self.groups.len() {
            let spec = &self.scenario.groups[g];
            if let (Some(e), GroupPolicy::Builtin(p)) = (&spec.evolution, &self.groups[g].policy) {
                let n = (self.groups[g].end - self.groups[g].start) as usize;
                let evolving =
                    crate::agents::evolution::Evolving::new(e.clone(), p, n, self.objectives(g));
                self.groups[g].evolving = Some(Box::new(evolving));
            }
        }
    }

    /// The evolution phase, after learning: each evolving group whose
    /// `every` divides the step replaces its worst agents' parameters by
    /// mutated copies of its best ones' (see [`crate::agents::evolution`]).
    fn evolve(&mut self) {
        for g in 0..self.groups.len() {
            let due = match &self.groups[g].evolving {
                Some(e) => self.step % e.spec.every == 0 && self.groups[g].active,
                None => false,
            };
            if !due {
                continue;
            }
            let now = self.objectives(g);
            let mut rng = engine_rng(self.seed, self.run, self.step, Stream::Evolution, g as u64);
            if let Some(e) = &mut self.groups[g].evolving {
                e.evolve(now, &mut rng);
            }
        }
    }

    /// Adds a parameter controller, called at every step after the schedule.
    pub fn add_controller(&mut self, controller: Box<dyn Controller>) {
        self.controllers.push(controller);
    }

    /// Asks the traders' private values, of the policies now and at the
    /// accounts now (the starting ones, before the first step), and
    /// registers them with the markets in place of any earlier ones. A
    /// value on an asset the scenario does not have is a usage error
    /// naming the group, and nothing changes.
    fn revalue(&mut self) -> Result<()> {
        let valued = valued_traders(&self.groups, &self.ledger, self.private);
        let m = self.markets.len();
        if let Some(v) = valued.iter().find(|v| v.private.asset >= m) {
            let g = self.groups.partition_point(|g| g.end <= v.agent);
            return Err(Error::usage(format!(
                "the policy for group {:?} gives agent {} a private value on asset index {}, \
                 but the scenario has {m} assets",
                self.scenario.groups[g].name, v.agent, v.private.asset
            )));
        }
        for market in &mut self.markets {
            market.mechanism_mut().clear_private_values();
        }
        for v in &valued {
            self.markets[v.private.asset]
                .mechanism_mut()
                .set_private_value(v.agent, &v.private);
        }
        self.valued = valued;
        Ok(())
    }

    /// Replaces the policy of group `group` (by name), e.g. with one that is
    /// not registered for scenario files. Before the first step the
    /// traders' private values are asked again (at the starting accounts),
    /// so the realised and largest surplus are the new policy's (and stay
    /// so after [`reset`](Self::reset)); after it, the values the run
    /// started with stay. A private value on an asset the scenario does
    /// not have is a usage error, and the group keeps its policy.
    pub fn set_policy(&mut self, group: &str, policy: GroupPolicy) -> Result<()> {
        let g = self
            .scenario
            .groups
            .iter()
            .position(|s| s.name == group)
            .ok_or_else(|| Error::usage(format!("no group named {group:?} in the scenario")))?;
        let m = self.markets.len();
        if let Some(j) = policy.assets().into_iter().find(|&j| j >= m) {
            return Err(Error::usage(format!(
                "the policy for group {group:?} trades asset index {j}, but the scenario has {m} assets"
            )));
        }
        if self.groups[g].evolving.is_some() {
            return Err(Error::usage(format!(
                "group {group:?} evolves its policy's parameters (evolution): its policy cannot be replaced"
            )));
        }
        let old = std::mem::replace(&mut self.groups[g].policy, policy);
        if self.step == 0 {
            if let Err(e) = self.revalue() {
                self.groups[g].policy = old; // and its values, left as they were
                return Err(e);
            }
        }
        // An adaptive policy starts from the accounts now.
        self.columns[g] = self.column(g);
        self.trades.set_on(self.wants_trade_log());
        Ok(())
    }

    /// The fills, transfers and payments of the last step run, in the
    /// order the ledger moved them (empty before the first step, and
    /// always empty when the log is off: it is on when the scenario asks
    /// for `trades.csv` (`[output] trades = true`) or a group's policy
    /// learns). For observers and callers stepping the run themselves.
    pub fn trades(&self) -> &[TradeRecord] {
        self.trades.records()
    }

    /// The per-agent states of group `group` (by name), one per agent in
    /// agent order, if its policy is the adaptive policy `P`
    /// ([`GroupPolicy::adaptive`]); `None` otherwise. For reading what
    /// learners learned, between steps or after the last.
    pub fn states<P: crate::agents::AdaptivePolicy>(&self, group: &str) -> Option<&[P::State]> {
        let g = self.scenario.groups.iter().position(|s| s.name == group)?;
        self.columns.get(g)?.as_deref()?.states::<P>()
    }

    /// Whether the run keeps a trade log: the scenario writes it out, an
    /// incentive rule or a contract's goal is settled from it, or a group's
    /// policy learns from its fills.
    fn wants_trade_log(&self) -> bool {
        self.scenario.output.trades
            || crate::incentives::Incentives::needs_trade_log(&self.scenario)
            || crate::contracts::Contracts::needs_trade_log(&self.scenario)
            || self.watches()
            || self
                .groups
                .iter()
                .filter_map(|g| g.policy.as_adaptive())
                .any(|a| a.uses_fills())
    }

    /// Makes every agent decide in a parallel phase before any trade
    /// executes, even where deciding lazily at each agent's turn would give
    /// the same result faster. Results do not change (a test checks it);
    /// this is for policies whose decisions are expensive.
    pub fn set_parallel_decide(&mut self, parallel: bool) {
        self.force_parallel_decide = parallel;
    }

    /// For tests: where a step's trades would run on two threads at a
    /// million agents (decisions made a block ahead on the other thread,
    /// see the engine's module doc), runs them so at any number of agents,
    /// in blocks of `block` agents decided in pieces of `piece` (both at
    /// least 1). `None` goes back to the sizes a run uses. Results do not
    /// change; this lets a test of a few hundred agents go through every
    /// hand-over between the threads. It needs more than one thread in
    /// rayon's pool, as the pipeline does.
    #[doc(hidden)]
    pub fn force_pipeline(&mut self, sizes: Option<(usize, usize)>) {
        self.forced_pipeline = sizes.map(|(block, piece)| pipeline::Sizes {
            block: block.max(1),
            piece: piece.max(1),
        });
    }

    /// Lets the steps of a posted-price session (every agent a Q-learning
    /// seller of the one posted-price market) run on their own short path
    /// (`true`, the default), or makes every step run through the general
    /// phases (`false`). Results do not change (tests compare the two);
    /// this is for those tests and for profiling.
    pub fn set_posted_session(&mut self, allowed: bool) {
        self.force_general_step = !allowed;
    }

    /// How many steps this simulation has run as posted-price session
    /// steps (see [`set_posted_session`](Self::set_posted_session)); not
    /// part of its saved state.
    pub fn posted_session_steps(&self) -> u64 {
        self.posted_steps
    }

    /// How many steps this simulation has executed on two threads, the
    /// decisions of each block made on the other thread while the block
    /// before it trades (at 8,192 agents or more with more than one
    /// thread, or as [`force_pipeline`](Self::force_pipeline) asks); not
    /// part of its saved state.
    pub fn pipelined_steps(&self) -> u64 {
        self.pipelined_steps
    }

    /// The trade log of the last step run: every fill, allocation and
    /// producer payment, one record per agent side, in the order the
    /// ledger moved them (empty while the log is off, the default).
    pub fn trade_log(&self) -> &crate::ledger::trades::TradeLog {
        &self.trades
    }

    /// Turns the trade log on or off (from the next step). It stays on
    /// where the run needs it (an incentive rule or a contract settled
    /// from it, a learner reading its fills): turning it off then only
    /// stops nothing.
    pub fn set_trade_log(&mut self, on: bool) {
        self.trades.set_on(on || self.wants_trade_log());
    }

    /// Which run of the scenario's Monte Carlo ensemble this is (the `run`
    /// it was built for).
    pub fn run_index(&self) -> u64 {
        self.run
    }

    /// The last step run (0 before the first).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The scenario being run.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The ledger.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The bonding curve of asset `j`, if it is priced by one.
    pub fn curve(&self, j: usize) -> Option<&CurveMarket> {
        self.markets[j].curve()
    }

    /// The price of asset `j` now: a curve's spot price, a market's last
    /// recorded price (NaN after a step with no equilibrium).
    pub fn price(&self, j: usize) -> f64 {
        self.markets[j].price(self.ledger.books(j).supply)
    }

    /// The price asset `j`'s holdings are valued at: the price, or the last
    /// finite one.
    pub fn mark(&self, j: usize) -> f64 {
        self.markets[j].mark(self.ledger.books(j).supply)
    }

    /// The recorded price series of asset `j` (from step 0).
    pub fn prices(&self, j: usize) -> &[f64] {
        &self.history[j]
    }

    /// Sets the simulation back to the start of run `run` (step 0, the
    /// initial accounts and markets, no records), as
    /// [`new`](Self::new) would for the same scenario, without reading or
    /// validating the scenario again. Policies set with
    /// [`set_policy`](Self::set_policy) and controllers added with
    /// [`add_controller`](Self::add_controller) are kept as they are (a
    /// controller keeps its own state). For episodes of a learning loop:
    /// `reset(k)` then stepping gives run `k` exactly.
    pub fn reset(&mut self, run: u64) -> Result<()> {
        let mut fresh = Self::setup(&self.scenario, run, self.reserve_all)?;
        for (g, old) in fresh.groups.iter_mut().zip(&self.groups) {
            g.policy = old.policy.clone();
        }
        // the private values of the policies kept, not the scenario's
        fresh.revalue()?;
        fresh.init_columns();
        fresh.controllers = std::mem::take(&mut self.controllers);
        fresh.force_parallel_decide = self.force_parallel_decide;
        fresh.forced_pipeline = self.forced_pipeline;
        fresh.force_general_step = self.force_general_step;
        fresh.trades.set_on(self.trades.is_on());
        *self = fresh;
        Ok(())
    }

    /// What agents see before the next step: its number and, per asset,
    /// the observation policies decide on (price, supply, the price
    /// history, an order book's best quotes, the last trade).
    pub fn observe(&self) -> StepObservation<'_> {
        StepObservation {
            step: self.step + 1,
            assets: self.observation_assets(),
            incentives: self.incentives.infos(),
        }
    }

    /// Agent `agent`'s account now: its balance and holdings (locked
    /// amounts included, as in `agent_steps.csv`), what is locked in its
    /// open orders, and its wealth at the current prices.
    pub fn agent(&self, agent: AgentId) -> Result<AgentStepRecord> {
        let agents = self.ledger.agents();
        if agent as usize >= agents {
            return Err(Error::usage(format!(
                "{}: agent {agent} does not exist: the agents are 0 to {}",
                self.scenario.origin,
                agents.saturating_sub(1)
            )));
        }
        let prices: Vec<f64> = (0..self.markets.len()).map(|j| self.mark(j)).collect();
        let g = self.groups.partition_point(|g| g.end <= agent);
        Ok(self.agent_record(&self.locks(), agent, g, &prices))
    }

    /// Runs the next step with the actions of some agents set from
    /// outside (an RL environment's, a test's): each `(agent, action)`
    /// replaces what that agent's policy would do in the step; the other
    /// agents decide as usual. The actions are executed as a policy's
    /// would be, at the agent's place in the step's random order, and an
    /// impossible one (more than the agent has, an order on a curve) is
    /// rejected and counted like a policy's. `advance_with(&[])` is
    /// [`advance`](Self::advance). An agent that does not exist, an agent
    /// listed twice or an asset index that does not exist is an error, and
    /// the step is not run.
    pub fn advance_with(&mut self, actions: &[(AgentId, Action)]) -> Result<()> {
        let agents = self.ledger.agents();
        let m = self.markets.len();
        let mut overrides = actions.to_vec();
        overrides.sort_by_key(|&(a, _)| a);
        for (k, &(agent, action)) in overrides.iter().enumerate() {
            let problem = if agent as usize >= agents {
                Some(format!(
                    "agent {agent} does not exist: the agents are 0 to {}",
                    agents.saturating_sub(1)
                ))
            } else if k > 0 && overrides[k - 1].0 == agent {
                Some(format!("agent {agent} is given more than one action"))
            } else {
                action.asset().filter(|&j| j >= m).map(|j| {
                    format!(
                        "agent {agent}'s action names asset {j}: the assets are 0 to {}",
                        m.saturating_sub(1)
                    )
                })
            };
            if let Some(problem) = problem {
                return Err(Error::usage(format!(
                    "{}: step {}: {problem}",
                    self.scenario.origin,
                    self.step + 1
                )));
            }
        }
        self.overrides = overrides;
        let result = self.advance();
        self.overrides.clear();
        result
    }

    /// Everything recorded so far (since the last
    /// [`drain_records`](Self::drain_records)).
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// Takes the records made since the last call (or since the start),
    /// in step order, leaving none: a caller that writes them out as the
    /// run goes holds only a few steps' records at a time. The summary
    /// does not need them ([`summary`](Self::summary),
    /// [`finish`](Self::finish)).
    pub fn drain_records(&mut self) -> Records {
        Records {
            assets: std::mem::take(&mut self.records.assets),
            groups: std::mem::take(&mut self.records.groups),
            agent_steps: std::mem::take(&mut self.records.agent_steps),
            trades: std::mem::take(&mut self.records.trades),
            deviation: Vec::new(),
            // kept to the end, like the deviation records: small, and
            // written with the summary (`contracts.csv`)
            contracts: Vec::new(),
            incentives: Vec::new(),
            alerts: Vec::new(),
        }
    }

    /// The metrics of the run so far, without ending it: after the last
    /// step, the run's summary (what [`run`](Self::run) returns).
    pub fn summary(&self) -> Result<RunSummary> {
        self.check_summary_memory()?;
        Ok(self.summarize())
    }

    /// Ends the run where it is: its records not yet drained and its
    /// summary.
    pub fn finish(self) -> Result<RunOutput> {
        let summary = self.summary()?;
        Ok(RunOutput {
            run: self.run,
            records: self.records,
            summary,
        })
    }

    /// Runs every remaining step and returns the records and the summary.
    pub fn run(self) -> Result<RunOutput> {
        self.run_with(&mut ())
    }

    /// Like [`Simulation::run`], calling `observer` after every step.
    pub fn run_with(mut self, observer: &mut dyn Observer) -> Result<RunOutput> {
        while !self.done() {
            self.advance()?;
            observer.on_step(&self);
        }
        self.finish()
    }

    /// Whether the run has nothing left to run: `steps` steps done, or,
    /// with a `stop` or an evaluation phase, the learning phase over
    /// (converged or at `steps`) and the evaluation phase run. Stepping on
    /// is possible (agents then keep playing greedily where there was an
    /// evaluation phase).
    pub fn done(&self) -> bool {
        self.session.phase == Phase::Done
    }

    /// Whether the run's agents play greedily now (the evaluation phase,
    /// or after it), learning nothing.
    pub fn evaluating(&self) -> bool {
        self.session.evaluating() || (self.done() && self.scenario.simulation.evaluation_steps > 0)
    }

    /// Whether the learning phase ended on convergence (`[simulation]
    /// stop = { converged = K }`).
    pub fn converged(&self) -> bool {
        self.session.converged
    }

    /// The fewest steps any learner has been stable for
    /// ([`AdaptivePolicy::stable_for`](crate::agents::AdaptivePolicy::stable_for)),
    /// over the groups whose policy reports it; `None` without learners.
    pub fn stable_for(&self) -> Option<u64> {
        self.columns
            .iter()
            .flatten()
            .filter_map(|c| c.stable_for())
            .min()
    }

    /// The summary lists the wealth of every agent of a group at once (for
    /// its Gini coefficient): for a group beyond what memory holds, an
    /// error naming it rather than an abort. The probe is freed just before
    /// the list is made, on the same thread.
    fn check_summary_memory(&self) -> Result<()> {
        let Some((g, spec)) = self
            .scenario
            .groups
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.count)
        else {
            return Ok(());
        };
        let n = self.group_range(g).len();
        let mut probe: Vec<f64> = Vec::new();
        probe.try_reserve_exact(n).map_err(|_| {
            Error::scenario(
                &self.scenario.origin,
                format!("agents.{}.count", spec.name),
                format!(
                    "the summary of {n} agents needs {}, more than this machine can allocate",
                    crate::limits::Bytes(n as u128 * 8)
                ),
            )
        })?;
        Ok(())
    }

    /// Runs one step, one call per phase of the design (see the module
    /// doc): open the markets, govern, decide, execute, clear, consume,
    /// learn, record and check.
    pub fn advance(&mut self) -> Result<()> {
        if self.posted_step() {
            return self.advance_posted();
        }
        self.step += 1;
        self.count_posted();
        self.open_markets()?;
        self.govern()?;
        let lazily = self.decide()?;
        // The curve path records its trades only where a log is kept: two
        // copies of the phase, so that a run without a log pays nothing.
        if self.trades.is_on() {
            self.execute::<true>(lazily)?;
        } else {
            self.execute::<false>(lazily)?;
        }
        self.watch_mempools();
        self.clear()?;
        if !self.contracts.is_empty() {
            let keep = self.keeps_rows();
            let records = &mut self.records.contracts;
            self.contracts.settle(
                self.step,
                &mut self.ledger,
                self.trades.records(),
                records,
                keep,
            )?;
        }
        self.consume()?;
        self.settle_incentives()?;
        self.record()?;
        if self.watches() {
            self.watch();
        }
        if self.scenario.output.trades {
            self.records.trades.extend_from_slice(self.trades.records());
        }
        self.update_metrics();
        self.learn();
        self.evolve();
        self.end_of_step()
    }

    /// After a step: the learning phase ends once every learner has been
    /// stable for the scenario's `stop` (or at `steps`), and the run once
    /// the evaluation phase after it has run (see [`session`]). The last
    /// step's rows are recorded if `record_every` skipped them.
    fn end_of_step(&mut self) -> Result<()> {
        let sim = &self.scenario.simulation;
        let t = self.step;
        match self.session.phase {
            Phase::Learning => {
                let converged = match sim.stop {
                    Some(crate::scenario::Stop::Converged(k)) => {
                        self.stable_for().is_some_and(|s| s >= k)
                    }
                    None => false,
                };
                if converged || t >= sim.steps {
                    self.session.converged = converged;
                    self.session.learning_steps = t;
                    self.session.phase = if sim.evaluation_steps > 0 {
                        Phase::Evaluation { from: t + 1 }
                    } else {
                        Phase::Done
                    };
                }
            }
            Phase::Evaluation { from } => {
                if t + 1 >= from + sim.evaluation_steps {
                    self.session.phase = Phase::Done;
                }
            }
            Phase::Done => {}
        }
        if self.done() && self.session.recorded != t {
            self.sum_groups();
            let locked = self.group_locks()?;
            self.push_rows(locked.as_deref());
        }
        Ok(())
    }

    /// Tells posted-price markets whether the step about to run counts in
    /// their means: every step without an evaluation phase; else the
    /// evaluation phase's, up to its first deviation.
    fn count_posted(&mut self) {
        if self.scenario.simulation.evaluation_steps == 0 {
            return;
        }
        let counting = self
            .session
            .evaluation_step(self.step)
            .is_some_and(|e| self.deviations.iter().all(|d| e < d.at));
        if counting != self.session.counting {
            self.session.counting = counting;
            for market in &mut self.markets {
                if let Some(p) = market.posted_mut() {
                    p.set_counting(counting);
                }
            }
        }
    }

    /// Phase 0, the opening of the step: the step's counters and trade log
    /// start empty, and each market does its start-of-step housekeeping
    /// ([`Mechanism::begin_step`](crate::market::mechanism::Mechanism::begin_step)).
    ///
    /// This phase moves money, before governance: an order book releases
    /// the locks of orders that expired; a resource stock decays and its
    /// holders pay the holding cost; production due this step arrives and
    /// its producers are paid. It runs first so that governance and agents
    /// see the step's markets (the book without its expired orders):
    /// moving it after governance would change every run's results.
    fn open_markets(&mut self) -> Result<()> {
        // Reset before governance: an event's sales count in the step's
        // volume and trades.
        for s in &mut self.stats {
            *s = StepStats::default();
        }
        self.trades.clear();
        self.each_market(|_, _, market, m| market.begin_step(m))
    }

    /// Runs `phase` on every market, in asset order, with the step's view
    /// of the ledger, the asset's counters and the trade log; the first
    /// fault stops the run.
    fn each_market(
        &mut self,
        mut phase: impl FnMut(
            &Scenario,
            usize,
            &mut Market,
            &mut MarketStep<'_>,
        ) -> std::result::Result<(), Fault>,
    ) -> Result<()> {
        let t = self.step;
        for (j, market) in self.markets.iter_mut().enumerate() {
            let mut m = MarketStep {
                step: t,
                asset: j,
                ledger: &mut self.ledger,
                stats: &mut self.stats[j],
                trades: &mut self.trades,
            };
            phase(&self.scenario, j, market, &mut m)
                .map_err(|f| f.on(j).into_error(&self.scenario, t))?;
        }
        Ok(())
    }

    /// The clear phase, after every agent has acted: each market's
    /// clearing ([`Mechanism::end_step`](crate::market::mechanism::Mechanism::end_step)):
    /// a batch market clears and settles the orders it collected, a
    /// resource allocates its capacity and delivers, a book records its
    /// quotes.
    fn clear(&mut self) -> Result<()> {
        self.each_market(|_, _, market, m| market.end_step(m))
    }

    /// The learn phase, last in a step (after it is settled, recorded and
    /// checked): every agent of an adaptive group that acted in the step
    /// learns from its [`Feedback`](crate::agents::Feedback) — its fills
    /// (the step's trade log, from its side), its orders still open, its
    /// reward (the change of its group's objective since it last learned)
    /// and the observation the next step starts from. In parallel over the
    /// agents of each group; nothing at all without adaptive groups.
    fn learn(&mut self) {
        if self.columns.iter().all(Option::is_none) {
            return;
        }
        // Mechanisms log a fill between two agents once from each side, so
        // an agent's fills are the records of its own side: sorted by agent
        // (stably: in the order they happened), each agent finds its own by
        // a binary search.
        let mut fills = self.trades.records().to_vec();
        fills.sort_by_key(|r| r.agent);
        let locks = self.locks();
        let open: Vec<AgentId> = locks.entries.iter().map(|e| e.0).collect();
        let open_orders: Vec<OpenOrder> = locks
            .entries
            .iter()
            .map(|&(_, asset, money, tokens)| OpenOrder {
                asset,
                money,
                tokens,
            })
            .collect();
        // Each group's objectives, in buffers kept from step to step; for a
        // policy that does not read its reward, only where they count.
        let rows = ObjectiveSteps {
            next: self.step + 1,
            now: self.session.recorded == self.step,
            next_may: self.may_keep_rows(self.step + 1),
        };
        let mut objectives = std::mem::take(&mut self.objective_bufs);
        objectives.resize_with(self.groups.len(), Vec::new);
        for (g, out) in objectives.iter_mut().enumerate() {
            if let (Some(column), true) = (&self.columns[g], self.groups[g].active) {
                if rows.measure(column.as_ref(), &self.groups[g]) {
                    self.objectives_into(g, out);
                }
            }
        }
        let assets = observe_assets(&self.scenario, &self.ledger, &self.markets, &self.history);
        let obs = Observation {
            step: self.step + 1,
            assets: assets.as_slice(),
            incentives: self.incentives.infos(),
            mempool: &[],
        };
        let private = self.private;
        let evaluation = self.session.evaluating();
        for (g, (column, objective)) in self.columns.iter_mut().zip(&objectives).enumerate() {
            if let (Some(column), true) = (column, self.groups[g].active) {
                let measured = rows.measure(column.as_ref(), &self.groups[g]);
                let total = column.learn(&Lesson {
                    step: self.step,
                    ledger: &self.ledger,
                    private,
                    obs: &obs,
                    fills: &fills,
                    open: &open,
                    open_orders: &open_orders,
                    objective: measured.then_some(objective.as_slice()),
                    evaluation,
                });
                if measured {
                    let reward = total / objective.len().max(1) as f64;
                    record_reward(&mut self.records.groups, self.step, g, reward);
                }
            }
        }
        drop(assets);
        self.objective_bufs = objectives;
    }

    /// The objective of each agent of group `g` now, as the summary's
    /// utility counts it: its wealth (locked amounts included, at the
    /// marks), the logarithm of it (at least one base unit), its
    /// holdings of an asset (locked tokens included), units, or its wealth
    /// with the tokens it has a private value for valued at that value.
    /// The learn phase's reward is its change over a step (an RL
    /// environment's, too).
    pub fn objectives(&self, g: usize) -> Vec<f64> {
        let mut out = Vec::new();
        self.objectives_into(g, &mut out);
        out
    }

    /// [`objectives`](Self::objectives) into `out` (its allocation kept).
    fn objectives_into(&self, g: usize, out: &mut Vec<f64>) {
        let range = self.group_range(g);
        match self.objective_of(g) {
            Objective::FinalWealth => self.wealth_into(range, out),
            Objective::LogWealth => {
                let floor = 1.0 / crate::ledger::SCALE as f64;
                self.wealth_into(range, out);
                for x in out.iter_mut() {
                    *x = x.max(floor).ln();
                }
            }
            Objective::Holdings(j) => {
                let locks = self.locks();
                out.clear();
                out.extend(range.map(|a| {
                    let locked: u128 = locks
                        .of_agent(a as AgentId)
                        .iter()
                        .filter(|e| e.1 as usize == j)
                        .map(|e| u128::from(e.3))
                        .sum();
                    wide_to_units(u128::from(self.ledger.holding(a as AgentId, j)) + locked)
                }));
            }
            Objective::Surplus => {
                let first = range.start;
                self.wealth_into(range.clone(), out);
                let locks = self.locks();
                // `valued` is in agent order: the group's traders are a run.
                let from = self.valued.partition_point(|v| (v.agent as usize) < first);
                for v in self.valued[from..]
                    .iter()
                    .take_while(|v| (v.agent as usize) < range.end)
                {
                    let j = v.private.asset;
                    let locked: u128 = locks
                        .of_agent(v.agent)
                        .iter()
                        .filter(|e| e.1 as usize == j)
                        .map(|e| u128::from(e.3))
                        .sum();
                    let held = u128::from(self.ledger.holding(v.agent, j)) + locked;
                    out[v.agent as usize - first] +=
                        wide_to_units(held) * (v.private.value - self.mark(j));
                }
            }
        }
    }

    /// Shows the step just recorded to the summary metrics.
    fn update_metrics(&mut self) {
        if self.metrics.is_empty() {
            return;
        }
        let mut metrics = std::mem::take(&mut self.metrics);
        for m in &mut metrics {
            m.on_step(self);
        }
        self.metrics = metrics;
    }

    /// The summary metrics' values, by name.
    pub(crate) fn metric_values(&self) -> std::collections::BTreeMap<String, f64> {
        self.scenario
            .metrics
            .iter()
            .zip(&self.metrics)
            .map(|(spec, m)| (spec.name.clone(), m.value()))
            .collect()
    }

    fn observation_assets(&self) -> Vec<AssetObservation<'_>> {
        observe(&self.scenario, &self.ledger, &self.markets, &self.history)
    }

    /// The govern phase: the step's outages (each resource's capacity for
    /// the step), scheduled parameter changes, then the scenario's events
    /// (parameter jumps, which groups act, the sales of dumps), then the
    /// controllers.
    fn govern(&mut self) -> Result<()> {
        let t = self.step;
        self.each_market(|scenario, j, market, m| {
            market.mechanism_mut().set_outage(outage(scenario, j, t), m)
        })?;
        let mut changes: Vec<ParamChange> = Vec::new();
        for (j, asset) in self.scenario.assets.iter().enumerate() {
            for (e, entry) in asset.schedule.iter().enumerate() {
                let value = match entry.change {
                    Change::Step { at, value } => (at == t).then_some(value),
                    Change::Ramp { from, to, value } => {
                        if t == from {
                            self.ramp_starts[j][e] = self.markets[j]
                                .curve()
                                .and_then(|c| c.curve().param(&entry.param));
                        }
                        match self.ramp_starts[j][e] {
                            Some(start) if t > from && t <= to => {
                                let share = (t - from) as f64 / (to - from) as f64;
                                Some(start + (value - start) * share)
                            }
                            _ => None,
                        }
                    }
                };
                if let Some(value) = value {
                    changes.push(ParamChange {
                        asset: j,
                        param: entry.param.clone(),
                        value,
                    });
                }
            }
        }
        self.apply_changes(&changes, "schedule")?;
        if !self.scenario.events.is_empty() {
            self.events()?;
        }
        if !self.controllers.is_empty() {
            let mut controllers = std::mem::take(&mut self.controllers);
            for c in &mut controllers {
                let assets = self.observation_assets();
                let obs = Observation {
                    step: t,
                    assets: &assets,
                    incentives: self.incentives.infos(),
                    mempool: &[],
                };
                let wanted = c.control(t, &obs);
                drop(assets);
                self.apply_governance(&wanted, "controller")?;
            }
            self.controllers = controllers;
        }
        self.govern_rules()?;
        self.pay_incentives()
    }

    /// The scheduled events of the current step, after the schedule:
    /// parameter jumps (in file order), then which groups act, then the
    /// sales of dumps and of groups leaving with `sell_all` (in file order).
    fn events(&mut self) -> Result<()> {
        let t = self.step;
        let jumps: Vec<ParamChange> = self
            .scenario
            .events
            .iter()
            .filter(|e| e.at == t)
            .filter_map(|e| match &e.kind {
                EventKind::Parameter {
                    asset,
                    param,
                    value,
                } => Some(ParamChange {
                    asset: *asset,
                    param: param.clone(),
                    value: *value,
                }),
                _ => None,
            })
            .collect();
        self.apply_changes(&jumps, "event")?;
        for g in &mut self.groups {
            g.active = g.active_from <= t && t < g.active_until;
        }
        let m = self.markets.len();
        for e in 0..self.scenario.events.len() {
            let event = &self.scenario.events[e];
            if event.at != t {
                continue;
            }
            match event.kind {
                EventKind::Dump {
                    group,
                    asset,
                    share,
                } => self.sell_shares(e, group, asset..asset + 1, share)?,
                EventKind::Leave {
                    group,
                    sell_all: true,
                } => self.sell_shares(e, group, 0..m, 1.0)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Every agent of group `g` sells `floor(share × holdings)` of each asset
    /// in `assets` to its curve, asset by asset, the agents one by one in an
    /// order drawn from event `e`'s stream; through the same settlement
    /// (and counts) as an ordinary sell. Agents with nothing to sell skip.
    fn sell_shares(
        &mut self,
        e: usize,
        g: usize,
        assets: std::ops::Range<usize>,
        share: f64,
    ) -> Result<()> {
        let mut order: Vec<AgentId> = (self.groups[g].start..self.groups[g].end).collect();
        let mut rng = engine_rng(self.seed, self.run, self.step, Stream::Shock, e as u64);
        shuffle(&mut order, &mut rng);
        let rules = govern::guards(&mut self.rules);
        let mut exec = Executor::<true> {
            step: self.step,
            scenario: &self.scenario,
            ledger: &mut self.ledger,
            markets: &mut self.markets,
            stats: &mut self.stats,
            // Checked only where some asset is halted or guarded.
            halted: (self.any_halted || rules.is_some()).then_some(&self.halted[..]),
            rules,
            trades: &mut self.trades,
            fault: None,
        };
        for j in assets {
            for &agent in &order {
                let amount = fraction_of(exec.ledger.holding(agent, j), share);
                if amount > 0 {
                    exec.execute(
                        agent,
                        Action::Sell {
                            asset: j as u32,
                            amount,
                        },
                    );
                }
            }
        }
        exec.finish()
    }

    fn apply_changes(&mut self, changes: &[ParamChange], by: &str) -> Result<()> {
        for c in changes {
            let market = self.markets.get_mut(c.asset).ok_or_else(|| {
                Error::usage(format!(
                    "{by} at step {}: no asset with index {}",
                    self.step, c.asset
                ))
            })?;
            let refused = |e: String| {
                Error::usage(format!(
                    "{by} at step {}: asset {}: {e}",
                    self.step, c.asset
                ))
            };
            let Market::Curve(curve) = market else {
                // A mechanism without a reserve to back: the change is its
                // own to make.
                market
                    .mechanism_mut()
                    .set_param(&c.param, c.value)
                    .map_err(refused)?;
                continue;
            };
            // A copy: the curve changes only once the reserve can back the
            // supply under it.
            let mut changed = curve.clone();
            changed
                .set_param(&c.param, c.value)
                .map_err(|e| refused(e.to_string()))?;
            let books = *self.ledger.books(c.asset);
            let past_range = || {
                Error::usage(format!(
                    "{}: {by} at step {}, asset {}: the reserve backing the supply after \
                     setting {} to {:?} exceeds {}",
                    self.scenario.origin,
                    self.step,
                    self.scenario.assets[c.asset].name,
                    c.param,
                    c.value,
                    reserve_range_advice()
                ))
            };
            // All or nothing: the curve changes only with the top-up that
            // backs its supply.
            let required = changed
                .required_reserve(books.supply)
                .ok_or_else(past_range)?;
            if let Some(top_up) = required.checked_sub(books.reserve).filter(|&t| t > 0) {
                self.ledger
                    .top_up_reserve(c.asset, top_up)
                    .map_err(|_| past_range())?;
            }
            *curve = changed;
        }
        Ok(())
    }

    /// True when decisions can be made lazily, just before each agent's turn
    /// in the execution order, with the same result as deciding all agents
    /// first: every mechanism is a curve or a resource, whose trades touch
    /// only the trader's own account
    /// ([`Market::trades_touch_only_the_trader`]), so an agent's account is
    /// the same at its turn as at the start of the step, and the observation
    /// is made once, before the first trade. Lazy deciding is faster (no
    /// action buffer read in a random order, and the decision overlaps the
    /// previous trade's pricing); deciding in parallel first pays when
    /// policies are expensive and threads are many.
    fn decide_lazily(&self) -> bool {
        if !self
            .markets
            .iter()
            .all(Market::trades_touch_only_the_trader)
        {
            return false;
        }
        if self.columns.iter().any(Option::is_some)
            || !self.contracts.is_empty()
            || self.incentives.takes_actions()
        {
            // adaptive policies decide on their states, in parallel;
            // contracts act on the decisions (efforts, referrals), the
            // staking rules on the stakes
            return false;
        }
        let custom = self
            .groups
            .iter()
            .any(|g| matches!(g.policy, GroupPolicy::Custom(_)));
        !(self.force_parallel_decide || custom && rayon::current_num_threads() > 1)
    }

    /// The decide phase: every agent reads the same observation and its
    /// own account and returns its action (actions set from outside replace
    /// their agents' decisions). Returns `true` when the decisions are made
    /// lazily instead, each agent deciding at its turn in
    /// [`execute`](Self::execute) (the same result: see the module doc).
    fn decide(&mut self) -> Result<bool> {
        // Actions set from outside go through the parallel pass (it gives
        // the same result as deciding lazily), so that the lazy loop pays
        // nothing for them.
        if self.overrides.is_empty() && self.decide_lazily() {
            return Ok(true);
        }
        let assets = observe_assets(&self.scenario, &self.ledger, &self.markets, &self.history);
        let obs = Observation {
            step: self.step,
            assets: assets.as_slice(),
            incentives: self.incentives.infos(),
            mempool: &[],
        };
        set_step_rules(&mut self.groups, &obs);
        let deciding = Deciding {
            groups: &self.groups,
            decide: StreamFamily::new(self.seed, self.run, self.step, Stream::Decide),
            private: self.private,
            obs: &obs,
        };
        let agents = self.ledger.agents();
        if self.actions.len() != agents {
            let mut actions = Vec::new();
            actions.try_reserve_exact(agents).map_err(|_| {
                Error::usage(format!(
                    "{}: the actions of {agents} agents need about {}, more than this machine can allocate",
                    self.scenario.origin,
                    crate::limits::Bytes((agents * std::mem::size_of::<Action>()) as u128)
                ))
            })?;
            actions.resize(agents, Action::Hold);
            self.actions = actions;
        }
        let ledger = &self.ledger;
        // Stateless agents decide in one parallel pass (the agents of
        // adaptive groups hold there, deciding on their states below).
        if self.columns.iter().any(Option::is_none) {
            self.actions
                .par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(c, chunk)| {
                    let first = c * CHUNK;
                    let mut g = deciding.groups.partition_point(|g| g.end as usize <= first);
                    for (k, slot) in chunk.iter_mut().enumerate() {
                        let id = (first + k) as AgentId;
                        while deciding.groups[g].end <= id {
                            g += 1;
                        }
                        *slot = deciding.decide(ledger, g, id);
                    }
                });
        }
        let evaluation = self.session.evaluating();
        for (g, column) in self.columns.iter_mut().enumerate() {
            let Some(column) = column else {
                continue;
            };
            if deciding.groups[g].active {
                column.decide(ledger, &obs, deciding.decide, deciding.private, evaluation);
            } else {
                column.hold();
            }
        }
        drop(assets);
        if !self.deviations.is_empty() {
            self.deviate();
        }
        for &(agent, action) in &self.overrides {
            self.actions[agent as usize] = action;
            let g = self.groups.partition_point(|g| g.end <= agent);
            if let Some(column) = &mut self.columns[g] {
                column.set(agent, action);
            }
        }
        if !self.contracts.is_empty() {
            self.learners_efforts();
            self.contracts
                .act(self.step, &mut self.ledger, &mut self.actions)?;
        }
        if self.incentives.takes_actions() {
            self.stake()?;
        }
        Ok(false)
    }

    /// The deviation events of this step of the evaluation phase: the
    /// seller posts its static best response to the others' last prices
    /// instead of its policy's price.
    fn deviate(&mut self) {
        let Some(e) = self.session.evaluation_step(self.step) else {
            return;
        };
        for d in self.deviations.iter().filter(|d| d.at == e) {
            let Some(posted) = self.markets[d.asset].posted() else {
                continue;
            };
            let setup = posted.setup();
            let view = posted.view();
            let action = Action::Post {
                asset: d.asset as u32,
                price: setup.best_response(d.seller, view.prices),
            };
            let agent = setup.sellers()[d.seller];
            self.actions[agent as usize] = action;
            let g = self.groups.partition_point(|g| g.end <= agent);
            if let Some(column) = &mut self.columns[g] {
                column.set(agent, action);
            }
        }
    }

    /// The execute phase: the actions are executed one by one in a seeded
    /// random order, each against its asset's market through the ledger
    /// (deciding each agent's action at its turn when `lazily`).
    fn execute<const LOG: bool>(&mut self, lazily: bool) -> Result<()> {
        // Where every market takes posted prices and no governance rule
        // guards a trade, the order is unobservable (a post sets its
        // seller's price, anything else is a rejected action, counted):
        // no shuffle, nor its generator.
        if !(self.rules.is_empty() && self.markets.iter().all(|m| m.posted().is_some())) {
            let mut rng = engine_rng(self.seed, self.run, self.step, Stream::Execution, 0);
            shuffle(&mut self.order, &mut rng);
        }
        // Deciding lazily, every market is a curve or a resource: no
        // posted-price view (which would borrow the markets the trades
        // change).
        let assets: Vec<AssetObservation<'_>> = if lazily {
            (0..self.markets.len())
                .map(|j| {
                    observe_one(
                        &self.scenario,
                        &self.ledger,
                        &self.markets[j],
                        &self.history,
                        j,
                        None,
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        let obs = Observation {
            step: self.step,
            assets: &assets,
            incentives: self.incentives.infos(),
            mempool: &[],
        };
        if lazily {
            set_step_rules(&mut self.groups, &obs);
        }
        let deciding = Deciding {
            groups: &self.groups,
            decide: StreamFamily::new(self.seed, self.run, self.step, Stream::Decide),
            private: self.private,
            obs: &obs,
        };
        let rules = govern::guards(&mut self.rules);
        let mut exec = Executor::<LOG> {
            step: self.step,
            scenario: &self.scenario,
            ledger: &mut self.ledger,
            markets: &mut self.markets,
            stats: &mut self.stats,
            // Checked only where some asset is halted or guarded.
            halted: (self.any_halted || rules.is_some()).then_some(&self.halted[..]),
            rules,
            trades: &mut self.trades,
            fault: None,
        };
        // At a million agents the accounts no longer fit in the cache. The
        // accounts (and actions) of a block of trades are loaded first, in a
        // loop of independent loads that the CPU overlaps, so that the trades
        // themselves, a chain that cannot overlap, find them in the cache.
        // The actions are copied whole into the block's buffer: an action
        // (40 bytes) often straddles two cache lines, and reading only its
        // tag would leave the second line to a miss at the action's turn.
        const BLOCK: usize = 64;
        let mut touched: u64 = 0;
        if self.columns.iter().any(Option::is_some) {
            // Agents of adaptive groups execute their actions in the order
            // they gave them, at their turn.
            for &agent in &self.order {
                let g = self.groups.partition_point(|g| g.end <= agent);
                match &self.columns[g] {
                    Some(column) => {
                        for &action in column.actions(agent) {
                            exec.execute(agent, action);
                        }
                    }
                    None => exec.execute(agent, self.actions[agent as usize]),
                }
            }
            return exec.finish();
        }
        let forced = self.forced_pipeline;
        if lazily
            && (forced.is_some() || self.order.len() >= pipeline::MIN_AGENTS)
            && rayon::current_num_threads() > 1
        {
            // Only curves, nothing halted or guarded: the accounts are
            // copied in and out on the other thread too.
            if exec.halted.is_none() && exec.markets.iter().all(|m| matches!(m, Market::Curve(_))) {
                pipeline::execute_curves(&self.order, &deciding, &mut exec, forced);
            } else {
                let sizes = forced.unwrap_or(pipeline::Sizes::DEFAULT);
                pipeline::execute(&self.order, &deciding, &mut exec, sizes);
            }
            self.pipelined_steps += 1;
            return exec.finish();
        }
        if lazily {
            for block in self.order.chunks(BLOCK) {
                for &agent in block {
                    touched ^= exec.ledger.balance(agent);
                }
                for &agent in block {
                    let g = self.groups.partition_point(|g| g.end <= agent);
                    let action = deciding.decide(exec.ledger, g, agent);
                    exec.execute(agent, action);
                }
            }
        } else {
            let mut actions: Vec<Action> = Vec::with_capacity(BLOCK);
            for block in self.order.chunks(BLOCK) {
                actions.clear();
                for &agent in block {
                    touched ^= exec.ledger.balance(agent);
                    actions.push(self.actions[agent as usize]);
                }
                for (&agent, &action) in block.iter().zip(&actions) {
                    exec.execute(agent, action);
                }
            }
        }
        std::hint::black_box(touched);
        exec.finish()
    }

    /// The settle-and-consume phase, with resources: consumers use up what
    /// they were allocated (see [`consume_resources`](Self::consume_resources)).
    fn consume(&mut self) -> Result<()> {
        if self.markets.iter().any(|m| m.resource().is_some()) {
            self.consume_resources()
                .map_err(|f| f.into_error(&self.scenario, self.step))?;
        }
        Ok(())
    }

    /// Consumers use up what they received, up to their need, resource by
    /// resource in the order their policy lists them; unmet need is counted
    /// per agent; a renewing resource's leftover holdings expire.
    fn consume_resources(&mut self) -> std::result::Result<(), Fault> {
        let t = self.step;
        let n = self.ledger.agents();
        let m = self.markets.len();
        if self.unmet.len() != n {
            self.unmet = vec![0; n];
        }
        // this step's allocations, by agent, per resource (in buffers kept
        // from step to step, zero outside this phase)
        let mut alloc = std::mem::take(&mut self.allocated_by_agent);
        alloc.resize(m, None);
        for (kept, market) in alloc.iter_mut().zip(&self.markets) {
            let buffer = kept.take();
            *kept = market.resource().map(|r| {
                let mut v = buffer.unwrap_or_default();
                v.resize(n, 0);
                for &(a, x) in &r.allocations {
                    v[a as usize] += x;
                }
                v
            });
        }
        // Each resource's shares allocated / need (of the positive needs),
        // as the bits the fairness indices sort, and whether it had any
        // needs at all. These buffers are grown a group at a time (reserved
        // for the whole group instead of doubling as they fill) and dropped
        // once used (the allocations by agent and the demands before the
        // fairness indices sort the shares in place), so that the phase
        // copies little and holds no more than it needs.
        let mut fair: Vec<(Vec<u64>, bool)> = vec![(Vec::new(), false); m];
        let mut met_value = vec![0.0f64; m];
        let mut need_sum = vec![0u128; m];
        let mut met_sum = vec![0u128; m];
        // every need of each resource, (value, units): the best the
        // capacity could have done ([`crate::resource::alloc::max_value_met`])
        let mut demands: Vec<Vec<(f64, u64)>> = vec![Vec::new(); m];
        let mut needs: Vec<Option<crate::agents::Need>> = Vec::new();
        let private = self.private;
        for (g, group) in self.groups.iter().enumerate() {
            // Every agent of a group whose policy may have needs is asked
            // (none answers for its group).
            if !group.active || group.start == group.end || !group.policy.may_need() {
                continue;
            }
            let assets: Vec<usize> = group
                .policy
                .assets()
                .into_iter()
                .filter(|&j| alloc.get(j).is_some_and(Option::is_some))
                .collect();
            // Needs are pure functions of the agent, its account and the
            // step. They are computed a block of agents at a time (in
            // parallel for a large group, the same at any thread count),
            // then consumed in order. Consuming changes only the consumer's
            // own account, so a block's needs are those its agents had at
            // the start of the phase, whichever blocks were consumed first;
            // and a block's buffer, reused, is all the phase holds of them.
            // A built-in consumer's need is one keyed draw, its step's part
            // worked out once (the same need as through the policy).
            let consumer = match &group.policy {
                GroupPolicy::Builtin(BuiltinPolicy::Consumer(p)) => Some((p.need_rule(t), p.value)),
                _ => None,
            };
            let need_at = |ledger: &Ledger, id: AgentId| {
                if let Some((rule, value)) = consumer {
                    return Some(crate::agents::Need {
                        units: rule.at(private.key(u64::from(id))),
                        value,
                    });
                }
                let view = AgentView::keyed(
                    id,
                    id - group.start,
                    ledger.balance(id),
                    ledger.holdings(id),
                    private,
                );
                group.policy.need(&view, t)
            };
            let size = (group.end - group.start) as usize;
            if consumer.is_some() {
                // every agent has a need
                for &j in &assets {
                    demands[j].reserve(size);
                    fair[j].0.reserve(size);
                }
            }
            let parallel = size >= 1 << 15;
            let block = (CHUNK * rayon::current_num_threads().max(2)) as AgentId;
            let mut from = group.start;
            while from < group.end {
                let to = group.end.min(from.saturating_add(block));
                let ledger = &self.ledger;
                let need_of = |id: AgentId| need_at(ledger, id);
                needs.clear();
                if parallel {
                    (from..to)
                        .into_par_iter()
                        .with_min_len(CHUNK)
                        .map(need_of)
                        .collect_into_vec(&mut needs);
                } else {
                    needs.extend((from..to).map(need_of));
                }
                if let &[j] = assets.as_slice() {
                    // One resource, the usual case: the block's tallies in
                    // locals, added to the phase's after it (the same
                    // integers, the value met summed in the same order).
                    let (mut need_total, mut met_total, mut unmet_total) = (0u128, 0u128, 0u128);
                    let mut value_met = met_value[j];
                    let demands = &mut demands[j];
                    let (shares, any) = &mut fair[j];
                    let allocated = alloc[j].as_deref();
                    let unmet = &mut self.unmet[from as usize..to as usize];
                    for ((id, need), unmet) in (from..to).zip(needs.drain(..)).zip(unmet) {
                        let Some(need) = need else {
                            continue;
                        };
                        let used = need.units.min(self.ledger.holding(id, j));
                        if used > 0 {
                            self.ledger
                                .consume(id, j, used)
                                .map_err(|e| Fault::ledger("consuming", e).on(j))?;
                        }
                        let left = need.units - used;
                        need_total += u128::from(need.units);
                        met_total += u128::from(used);
                        unmet_total += u128::from(left);
                        value_met += need.value * to_units(used);
                        demands.push((need.value, need.units));
                        if let Some(v) = allocated {
                            if need.units > 0 {
                                shares.push(crate::resource::alloc::share_bits(
                                    v[id as usize],
                                    need.units,
                                ));
                            }
                            *any = true;
                        }
                        *unmet = unmet.checked_add(left).ok_or_else(|| {
                            Fault::overflow(&format!("the unmet need of agent {id}"), "token")
                        })?;
                    }
                    need_sum[j] += need_total;
                    met_sum[j] += met_total;
                    met_value[j] = value_met;
                    add_need(&mut self.group_needs[g], need_total, unmet_total)?;
                    from = to;
                    continue;
                }
                for (id, need) in (from..to).zip(needs.drain(..)) {
                    let Some(need) = need else {
                        continue;
                    };
                    let mut left = need.units;
                    for &j in &assets {
                        let used = left.min(self.ledger.holding(id, j));
                        if used > 0 {
                            self.ledger
                                .consume(id, j, used)
                                .map_err(|e| Fault::ledger("consuming", e).on(j))?;
                        }
                        left -= used;
                        need_sum[j] += u128::from(need.units);
                        met_sum[j] += u128::from(used);
                        met_value[j] += need.value * to_units(used);
                        demands[j].push((need.value, need.units));
                        if let Some(v) = &alloc[j] {
                            if need.units > 0 {
                                fair[j].0.push(crate::resource::alloc::share_bits(
                                    v[id as usize],
                                    need.units,
                                ));
                            }
                            fair[j].1 = true;
                        }
                    }
                    let unmet = &mut self.unmet[id as usize];
                    *unmet = unmet.checked_add(left).ok_or_else(|| {
                        Fault::overflow(&format!("the unmet need of agent {id}"), "token")
                    })?;
                    add_need(
                        &mut self.group_needs[g],
                        u128::from(need.units),
                        u128::from(left),
                    )?;
                }
                from = to;
            }
        }
        // back to zero (only where this step allocated), for the next step
        for (kept, market) in alloc.iter_mut().zip(&self.markets) {
            if let (Some(v), Some(r)) = (kept, market.resource()) {
                for &(a, _) in &r.allocations {
                    v[a as usize] = 0;
                }
            }
        }
        self.allocated_by_agent = alloc;
        for (j, market) in self.markets.iter_mut().enumerate() {
            let Some(r) = market.resource_mut() else {
                continue;
            };
            let demands = std::mem::take(&mut demands[j]);
            let (shares, any) = std::mem::take(&mut fair[j]);
            let available = r.available;
            // The step's best possible value and fairness indices are
            // pure functions of the needs and shares: on a second thread
            // they are computed while this one expires the leftovers (the
            // same results at any thread count; in turn on one).
            let ledger = &mut self.ledger;
            let (measures, expired) = rayon::join(
                move || {
                    let mut demands = demands;
                    let max_value = crate::resource::alloc::max_value_met(&mut demands, available);
                    drop(demands);
                    let mut shares = shares;
                    let fairness =
                        any.then(|| crate::resource::alloc::fairness_of_share_bits(&mut shares));
                    (max_value, fairness)
                },
                || -> std::result::Result<(), Fault> {
                    if r.spec.renewing {
                        // what was not used within the step expires
                        for id in 0..n as AgentId {
                            let held = ledger.holding(id, j);
                            if held > 0 {
                                ledger.consume(id, j, held).map_err(|e| {
                                    Fault::ledger("expiring unused capacity", e).on(j)
                                })?;
                            }
                        }
                    }
                    Ok(())
                },
            );
            let (max_value, fairness) = measures;
            let totals = &mut r.totals;
            totals.need += need_sum[j];
            totals.met += met_sum[j];
            totals.value_met += met_value[j];
            totals.max_value += max_value;
            if let Some((jain, gini)) = fairness {
                totals.jain_sum += jain;
                totals.gini_sum += gini;
                totals.fairness_steps += 1;
            }
            expired?;
        }
        Ok(())
    }

    /// Unmet need of `agent` over the run so far, base units (0 for agents
    /// without needs).
    pub fn unmet_need(&self, agent: AgentId) -> u64 {
        self.unmet.get(agent as usize).copied().unwrap_or(0)
    }

    /// Records the state after the current step and checks the invariants:
    /// every step, the price history, the running totals and the checks;
    /// the rows of `assets.csv` and `agents.csv` at step 0, every
    /// `record_every` steps and at the last step.
    fn record(&mut self) -> Result<()> {
        let m = self.markets.len();
        for j in 0..m {
            let price = self.price(j);
            self.history[j].push(price);
            // Cannot overflow: a run has fewer than 2⁶⁴ agent-steps of
            // trades of at most 2⁶⁴ base units each.
            self.totals[j].0 += self.stats[j].volume;
            self.totals[j].1 += self.stats[j].trades;
            if self.step > 0 && self.markets[j].clears() {
                let quotes = self.markets[j].quotes();
                self.series[j].add(&quotes);
            }
        }
        // The group sums only where rows are kept; the conservation check
        // reads them there, and sums the accounts itself at other steps.
        let keep = self.step == 0 || self.keeps_rows();
        if keep {
            self.sum_groups();
        }
        let locked = self.group_locks()?;
        if keep {
            self.push_rows(locked.as_deref());
        }
        if let Some(spec) = self.scenario.output.agent_steps {
            if spec.records(self.step, self.scenario.simulation.steps) {
                let prices: Vec<f64> = (0..m).map(|j| self.mark(j)).collect();
                self.record_agents(spec, &prices);
            }
        }
        if !self.deviations.is_empty() {
            self.record_deviations();
        }
        self.check(keep)
    }

    /// Whether this step's rows are recorded: every `record_every` steps,
    /// and the last step of a run whose last step is known by now (the
    /// `steps`-th without an evaluation phase, the evaluation phase's last;
    /// a learning phase that ends on convergence records its last step's
    /// rows after it, in [`end_of_step`](Self::end_of_step)).
    fn keeps_rows(&self) -> bool {
        let sim = &self.scenario.simulation;
        if sim.records_step(self.step) {
            return true;
        }
        match self.session.phase {
            Phase::Learning => sim.evaluation_steps == 0 && self.step >= sim.steps,
            Phase::Evaluation { from } => self.step + 1 >= from + sim.evaluation_steps,
            Phase::Done => false,
        }
    }

    /// Whether the rows of step `t`, the next, may be recorded, as far as
    /// the learn phase of step `t − 1` can tell (before
    /// [`end_of_step`](Self::end_of_step) moves the phase on): true
    /// whenever [`keeps_rows`](Self::keeps_rows) may be at `t`.
    fn may_keep_rows(&self, t: u64) -> bool {
        let sim = &self.scenario.simulation;
        if sim.records_step(t) {
            return true;
        }
        match self.session.phase {
            // The learning phase may end now (on convergence, or at
            // `steps`), and an evaluation phase of one step records it.
            Phase::Learning => {
                let may_end = sim.stop.is_some() || t > sim.steps;
                (sim.evaluation_steps == 0 && t >= sim.steps)
                    || (may_end && sim.evaluation_steps <= 1)
            }
            Phase::Evaluation { .. } | Phase::Done => true,
        }
    }

    /// Sums the free balances and holdings of each group's agents into
    /// `group_sums` (one pass over the accounts, used by the rows and the
    /// conservation check).
    fn sum_groups(&mut self) {
        let stride = 1 + self.markets.len();
        let mut sums = std::mem::take(&mut self.group_sums);
        sums.clear();
        sums.resize(self.groups.len() * stride, 0);
        for (g, group) in self.groups.iter().enumerate() {
            account_sums(
                &self.ledger,
                group.start as usize..group.end as usize,
                &mut sums[g * stride..(g + 1) * stride],
            );
        }
        self.group_sums = sums;
    }

    /// Pushes the rows of the step just run: one per asset, one per group
    /// (from `group_sums` and the groups' `locked` amounts); at step 0,
    /// each group's initial wealth.
    fn push_rows(&mut self, locked: Option<&[u128]>) {
        let m = self.markets.len();
        let stride = 1 + m;
        for j in 0..m {
            let books = self.ledger.books(j);
            let quotes = self.markets[j].quotes();
            let (capacity, requested, allocated) = match self.markets[j].resource() {
                Some(r) => (
                    Some(to_units(r.available)),
                    Some(wide_to_units(r.requested)),
                    Some(to_units(r.allocated)),
                ),
                None => (None, None, None),
            };
            let shares = self.markets[j].game().map(|g| g.shares().into());
            self.records.assets.push(AssetRecord {
                step: self.step,
                asset: j as u32,
                price: self.history[j].last().copied().unwrap_or(f64::NAN),
                supply: books.supply,
                reserve: books.reserve,
                volume: self.stats[j].volume,
                trades: self.stats[j].trades,
                source: quotes.source,
                best_bid: quotes.best_bid,
                best_ask: quotes.best_ask,
                depth: quotes.depth,
                capacity,
                requested,
                allocated,
                shares,
            });
        }
        let prices: Vec<f64> = (0..m).map(|j| self.mark(j)).collect();
        for (g, free) in self.group_sums.chunks_exact(stride).enumerate() {
            let locked = locked.map_or(&[][..], |l| &l[g * stride..(g + 1) * stride]);
            // What the group owns: free and locked.
            let owned = |k: usize| free[k] + locked.get(k).copied().unwrap_or(0);
            let balance = owned(0);
            let holdings: Box<[u128]> = (1..stride).map(owned).collect();
            let wealth = wide_to_units(balance)
                + holdings
                    .iter()
                    .zip(&prices)
                    .map(|(h, p)| wide_to_units(*h) * p)
                    .sum::<f64>();
            if self.step == 0 {
                self.initial_wealth.push(wealth);
            }
            self.records.groups.push(GroupRecord {
                step: self.step,
                group: g as u32,
                balance,
                holdings,
                wealth,
                locked_balance: locked.first().copied().unwrap_or(0),
                locked_holdings: if locked.is_empty() {
                    vec![0; m].into()
                } else {
                    locked[1..].into()
                },
                params: match &self.groups[g].evolving {
                    Some(e) => e.distribution().concat().into(),
                    None => Box::new([]),
                },
                // set by the learn phase, for the groups that learn
                mean_reward: None,
            });
        }
        self.session.recorded = self.step;
    }

    /// Records the impulse responses of the deviation events whose window
    /// holds this step of the evaluation phase.
    fn record_deviations(&mut self) {
        let Some(e) = self.session.evaluation_step(self.step) else {
            return;
        };
        for d in &self.deviations {
            let first = d.at.saturating_sub(BEFORE_DEVIATION).max(1);
            if e < first || e > d.at + d.window {
                continue;
            }
            let Some(posted) = self.markets[d.asset].posted() else {
                continue;
            };
            let view = posted.view();
            self.records.deviation.push(DeviationRecord {
                event: d.event,
                step: self.step,
                offset: e as i64 - d.at as i64,
                prices: view.prices.iter().map(|&k| view.grid[k as usize]).collect(),
                profits: view.profits.into(),
            });
        }
    }

    /// Records the accounts of the agents `spec` samples.
    fn record_agents(&mut self, spec: crate::scenario::AgentStepsSpec, prices: &[f64]) {
        let locks = self.locks();
        let mut rows = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            for member in spec.members(group.end - group.start) {
                rows.push(self.agent_record(&locks, group.start + member, g, prices));
            }
        }
        self.records.agent_steps.append(&mut rows);
    }

    /// Agent `agent` (of group `g`) now, at the marks `prices`.
    fn agent_record(
        &self,
        locks: &Locks,
        agent: AgentId,
        g: usize,
        prices: &[f64],
    ) -> AgentStepRecord {
        let m = prices.len();
        let account = self
            .ledger
            .account_cells(agent as usize..agent as usize + 1);
        let owned = locks.owned(agent, account);
        let mut locked = vec![0u128; 1 + m];
        for &(_, asset, money, tokens) in locks.of_agent(agent) {
            locked[0] += u128::from(money);
            locked[1 + asset as usize] += u128::from(tokens);
        }
        let wealth = wide_to_units(owned[0])
            + owned[1..]
                .iter()
                .zip(prices)
                .map(|(h, p)| wide_to_units(*h) * p)
                .sum::<f64>();
        AgentStepRecord {
            step: self.step,
            agent,
            group: g as u32,
            balance: owned[0],
            holdings: owned[1..].into(),
            wealth,
            locked_balance: locked[0],
            locked_holdings: locked[1..].into(),
            params: match &self.groups[g].evolving {
                Some(e) => e.params_of((agent - self.groups[g].start) as usize).into(),
                None => Box::new([]),
            },
        }
    }

    /// What every agent has locked in the markets' open orders now, sorted
    /// by agent (empty when every asset is priced by a curve, which locks
    /// nothing).
    pub(crate) fn locks(&self) -> Locks {
        if self.markets.iter().all(Market::locks_nothing) && !self.incentives.staking() {
            return Locks::default();
        }
        let mut locks = Locks::of(&self.markets);
        self.add_stakes(&mut locks);
        locks
    }

    /// Per group, what its agents have locked in open orders, as
    /// `[money, tokens of asset 0, …]` per group, base units; `None` when
    /// nothing can be locked (every asset on a curve). The totals must
    /// equal the ledger's escrow of each asset: a market that lost track of
    /// a lock is a broken invariant.
    fn group_locks(&self) -> Result<Option<Vec<u128>>> {
        if self.markets.iter().all(Market::locks_nothing) && !self.incentives.staking() {
            return Ok(None);
        }
        let m = self.markets.len();
        let stride = 1 + m;
        let mut sums = vec![0u128; self.groups.len() * stride];
        let mut escrow = vec![(0u128, 0u128); m];
        for (j, market) in self.markets.iter().enumerate() {
            market.for_each_lock(|agent, money, tokens| {
                let g = self.groups.partition_point(|g| g.end <= agent);
                if let Some(cell) = sums.get_mut(g * stride..(g + 1) * stride) {
                    cell[0] += u128::from(money);
                    cell[1 + j] += u128::from(tokens);
                }
                escrow[j].0 += u128::from(money);
                escrow[j].1 += u128::from(tokens);
            });
        }
        for (j, (money, tokens)) in escrow.into_iter().enumerate() {
            let books = self.ledger.books(j);
            if money != books.escrow_money || tokens != u128::from(books.escrow_tokens) {
                return Err(Error::invariant(
                    self.step,
                    format!(
                        "the open orders of {} lock {money} base units of money and {tokens} of \
                         tokens, but the ledger's escrow holds {} and {}",
                        self.scenario.assets[j].name, books.escrow_money, books.escrow_tokens
                    ),
                ));
            }
        }
        self.add_group_stakes(&mut sums);
        Ok(Some(sums))
    }

    /// Checks conservation and every reserve: from `group_sums` where
    /// they were taken this step (`summed`; nothing has moved since), else
    /// from a sum of every group's accounts now.
    fn check(&self, summed: bool) -> Result<()> {
        let stride = 1 + self.markets.len();
        // On the stack for a few assets: the check runs every step.
        let mut few = [0u128; 8];
        let mut many = Vec::new();
        let totals: &mut [u128] = if stride <= few.len() {
            &mut few[..stride]
        } else {
            many.resize(stride, 0);
            &mut many
        };
        if summed {
            for sums in self.group_sums.chunks_exact(stride) {
                for (t, s) in totals.iter_mut().zip(sums) {
                    *t += s;
                }
            }
        } else {
            for group in &self.groups {
                add_account_sums(
                    &self.ledger,
                    group.start as usize..group.end as usize,
                    totals,
                );
            }
        }
        let (balances, holdings) = (totals[0], &totals[1..]);
        if !self.ledger.conserved(balances, holdings) {
            self.conservation_error(balances, holdings)?;
        }
        if self.contracts.escrow() != self.ledger.contracts().escrow {
            return Err(Error::invariant(
                self.step,
                format!(
                    "the contracts account for {} base units of escrow, the ledger holds {}",
                    self.contracts.escrow(),
                    self.ledger.contracts().escrow
                ),
            ));
        }
        self.check_reserves()
    }

    /// The error of a failed conservation check, naming the amounts.
    #[cold]
    fn conservation_error(&self, balances: u128, holdings: &[u128]) -> Result<()> {
        let c = self.ledger.conservation_from_sums(balances, holdings);
        let amount = |x: Option<u128>| x.map_or("more than 2^128".into(), |x| x.to_string());
        if c.money_error() != 0 {
            return Err(Error::invariant(
                self.step,
                format!(
                    "money is not conserved: held {} base units, paid in {}",
                    amount(c.money_held),
                    amount(c.money_in)
                ),
            ));
        }
        if c.token_error() != 0 {
            return Err(Error::invariant(
                self.step,
                format!(
                    "tokens are not conserved: held {:?}, supply {:?} (base units)",
                    c.tokens_held, c.supply
                ),
            ));
        }
        Ok(())
    }

    /// Checks that every reserve covers a full sell-back of its supply.
    fn check_reserves(&self) -> Result<()> {
        for (j, market) in self.markets.iter().enumerate() {
            let name = &self.scenario.assets[j].name;
            match self.shortfall(j, market) {
                Some(0) => {}
                Some(shortfall) => {
                    return Err(Error::invariant(
                        self.step,
                        format!(
                            "the reserve of {name} is {shortfall} base units short of a full \
                             sell-back"
                        ),
                    ))
                }
                None => {
                    return Err(Error::invariant(
                        self.step,
                        format!(
                            "the reserve that backs the supply of {name} is past the \
                             ledger's range"
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    /// How far the reserve of asset `j` is below what backs its supply,
    /// base units (0 unless a curve); `None` if what backs it is past the
    /// ledger's range.
    fn shortfall(&self, j: usize, market: &Market) -> Option<u128> {
        let books = self.ledger.books(j);
        let required = market.required_reserve(books.supply)?;
        // Zero when the reserve covers it (a surplus is no shortfall): a
        // clamp at zero, not an overflow guard.
        Some(required.saturating_sub(books.reserve))
    }

    fn summarize(&self) -> RunSummary {
        summary::summarize(self)
    }

    /// Each agent's wealth (balance + holdings at spot prices, what it has
    /// locked in open orders included), money units, for agents `range`.
    pub fn wealth_of(&self, range: std::ops::Range<usize>) -> Vec<f64> {
        let mut out = Vec::new();
        self.wealth_into(range, &mut out);
        out
    }

    /// [`wealth_of`](Self::wealth_of) into `out` (its allocation kept).
    fn wealth_into(&self, range: std::ops::Range<usize>, out: &mut Vec<f64>) {
        out.clear();
        self.wealth_onto(range, out);
    }

    /// [`wealth_of`](Self::wealth_of) appended to `out` (the summary
    /// gathers every group's into one vector, with no copy per group).
    fn wealth_onto(&self, range: std::ops::Range<usize>, out: &mut Vec<f64>) {
        let m = self.markets.len();
        // On the stack for a few assets: the learn phase asks every step.
        let mut few = [0.0f64; 8];
        let many: Vec<f64>;
        let prices: &[f64] = if m <= few.len() {
            for (j, p) in few.iter_mut().enumerate().take(m) {
                *p = self.mark(j);
            }
            &few[..m]
        } else {
            many = (0..m).map(|j| self.mark(j)).collect();
            &many
        };
        let stride = 1 + m;
        let locks = self.locks();
        let first = range.start;
        let cells = self.ledger.account_cells(range);
        if locks.is_empty() {
            out.extend(cells.chunks_exact(stride).map(|a| {
                to_units(a[0])
                    + a[1..]
                        .iter()
                        .zip(prices)
                        .map(|(h, p)| to_units(*h) * p)
                        .sum::<f64>()
            }));
            return;
        }
        out.extend(cells.chunks_exact(stride).enumerate().map(|(k, a)| {
            let owned = locks.owned((first + k) as AgentId, a);
            wide_to_units(owned[0])
                + owned[1..]
                    .iter()
                    .zip(prices)
                    .map(|(h, p)| wide_to_units(*h) * p)
                    .sum::<f64>()
        }));
    }

    fn group_range(&self, g: usize) -> std::ops::Range<usize> {
        self.groups[g].start as usize..self.groups[g].end as usize
    }

    fn objective_of(&self, g: usize) -> Objective {
        self.scenario.groups[g].objective
    }
}

/// The record vectors and price histories of a run, reserved for every
/// step up front and fallibly: steps beyond what memory holds are an error
/// naming `simulation.steps`, not an abort halfway through the run (and the
/// vectors never reallocate, which would need their old and new copies at
/// once).
/// Funds each population game's pool from outside, and enrolls the agents
/// of every `player` group in their game with their initial strategies.
fn enroll_players(
    scenario: &Scenario,
    groups: &[GroupState],
    markets: &mut [Market],
    ledger: &mut Ledger,
    seed: u64,
    run: u64,
) -> Result<()> {
    for (j, asset) in scenario.assets.iter().enumerate() {
        if let crate::scenario::PricingSpec::Game(g) = &asset.pricing {
            let path = format!("assets.{}.pool", asset.name);
            let found = format!("{:e}", g.pool);
            let pool = to_base(g.pool)
                .ok_or_else(|| range_error(scenario, path.clone(), &found, "money"))?;
            ledger
                .fund_supply(j, None, 0, u128::from(pool))
                .map_err(|_| range_error(scenario, path, &found, "money"))?;
        }
    }
    for (g, (spec, group)) in scenario.groups.iter().zip(groups).enumerate() {
        if let GroupPolicy::Builtin(crate::agents::BuiltinPolicy::Player(p)) = &spec.policy {
            if let Some(game) = markets.get_mut(p.asset).and_then(Market::game_mut) {
                game.enroll(group.start, group.end, p, seed, run, g);
            }
        }
    }
    Ok(())
}

fn reserve_records(scenario: &Scenario, reserve_all: bool) -> Result<(Records, Vec<Vec<f64>>)> {
    let steps = scenario.simulation.max_steps();
    let m = scenario.assets.len();
    let g = scenario.groups.len();
    let rows = usize::try_from(steps).ok().and_then(|s| s.checked_add(1));
    let recorded = usize::try_from(scenario.simulation.recorded_steps()).ok();
    let too_many = || {
        let per_step = (m * std::mem::size_of::<AssetRecord>()
            + g * (std::mem::size_of::<GroupRecord>() + 16 * m)) as u128;
        Error::scenario(
            &scenario.origin,
            "simulation.steps",
            format!(
                "the records of {steps} steps ({m} assets, {g} groups) need about {}, more than this machine can allocate",
                crate::limits::Bytes(u128::from(steps).saturating_mul(per_step))
            ),
        )
    };
    let rows = rows.ok_or_else(too_many)?;
    let recorded = recorded.ok_or_else(too_many)?;
    let mut records = Records::default();
    let rows_reserved = if reserve_all { recorded } else { 1 };
    let asset_rows = rows_reserved.checked_mul(m).ok_or_else(too_many)?;
    let group_rows = rows_reserved.checked_mul(g).ok_or_else(too_many)?;
    records
        .assets
        .try_reserve_exact(asset_rows)
        .map_err(|_| too_many())?;
    records
        .groups
        .try_reserve_exact(group_rows)
        .map_err(|_| too_many())?;
    let mut history = Vec::with_capacity(m);
    for _ in 0..m {
        let mut h = Vec::new();
        h.try_reserve_exact(rows).map_err(|_| too_many())?;
        history.push(h);
    }
    Ok((records, history))
}

/// What agents have locked in open orders at one moment, as `(agent,
/// asset, money, tokens)` entries sorted by agent, base units.
#[derive(Debug, Default)]
pub(crate) struct Locks {
    entries: Vec<(AgentId, u32, u64, u64)>,
}

impl Locks {
    /// The locks the markets hold now.
    fn of(markets: &[Market]) -> Self {
        let mut entries = Vec::new();
        for (j, market) in markets.iter().enumerate() {
            market.for_each_lock(|agent, money, tokens| {
                entries.push((agent, j as u32, money, tokens));
            });
        }
        entries.sort_unstable();
        Locks { entries }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries of `agent`.
    pub(crate) fn of_agent(&self, agent: AgentId) -> &[(AgentId, u32, u64, u64)] {
        let start = self.entries.partition_point(|e| e.0 < agent);
        let end = self.entries.partition_point(|e| e.0 <= agent);
        &self.entries[start..end]
    }

    /// What `agent` owns, as `[balance, holdings…]` (its free `account`
    /// cells plus what it has locked), base units.
    pub(crate) fn owned(&self, agent: AgentId, account: &[u64]) -> Vec<u128> {
        let mut owned: Vec<u128> = account.iter().map(|&x| u128::from(x)).collect();
        for &(_, asset, money, tokens) in self.of_agent(agent) {
            owned[0] += u128::from(money);
            if let Some(h) = owned.get_mut(1 + asset as usize) {
                *h += u128::from(tokens);
            }
        }
        owned
    }
}

/// The traders whose policies hold private values, with their starting
/// accounts: every agent of a group whose policy may have them
/// ([`GroupPolicy::may_have_private_values`]) is asked.
fn valued_traders(groups: &[GroupState], ledger: &Ledger, private: StreamFamily) -> Vec<Valued> {
    let mut out = Vec::new();
    for g in groups {
        let view = |id: AgentId| {
            AgentView::keyed(
                id,
                id - g.start,
                ledger.balance(id),
                ledger.holdings(id),
                private,
            )
        };
        if !g.policy.may_have_private_values() {
            continue;
        }
        for id in g.start..g.end {
            if let Some(value) = g.policy.private_value(&view(id)) {
                out.push(Valued {
                    agent: id,
                    private: value,
                });
            }
        }
    }
    out
}

/// What the decide phase needs: the groups, the streams and the observation.
struct Deciding<'a> {
    groups: &'a [GroupState],
    decide: StreamFamily,
    private: StreamFamily,
    obs: &'a Observation<'a>,
}

impl Deciding<'_> {
    /// Agent `id` (of group `g`) decides on its account in `ledger`.
    #[inline]
    fn decide(&self, ledger: &Ledger, g: usize, id: AgentId) -> Action {
        self.decide_on(g, id, ledger.balance(id), ledger.holdings(id))
    }

    /// Agent `id` (of group `g`) decides on an account of `balance` and
    /// `holdings` (its own, or a copy of it: see [`pipeline`]).
    #[inline]
    fn decide_on(&self, g: usize, id: AgentId, balance: u64, holdings: &[u64]) -> Action {
        let group = &self.groups[g];
        if !group.active {
            // Not joined yet, or left: no draw, so that both decide paths
            // (and every other agent's stream) are unaffected.
            return Action::Hold;
        }
        debug_assert_eq!(
            group.rules_step, self.obs.step,
            "the group's step rules were not worked out for this step"
        );
        if let Some(rule) = &group.rule {
            return rule.decide(balance, holdings, &mut self.decide.rng(u64::from(id)));
        }
        self.decide_by_policy(group, id, balance, holdings)
    }

    /// Agent `id` of `group` (active, without a step rule) decides by the
    /// group's request rule (a consumer) or through its policy. Out of
    /// line, so that the step rule's path, the usual one, is small enough
    /// to be inlined into the execute loop.
    #[inline(never)]
    fn decide_by_policy(
        &self,
        group: &GroupState,
        id: AgentId,
        balance: u64,
        holdings: &[u64],
    ) -> Action {
        if let Some(request) = &group.request {
            return request.decide(self.private.key(u64::from(id)), balance);
        }
        let mut rng = self.decide.rng(u64::from(id));
        let view = AgentView::keyed(id, id - group.start, balance, holdings, self.private);
        // One call site for both: the compiler inlines it (two cost 3.5%
        // more instructions on the reference scenario).
        let policy = match &group.evolving {
            None => &group.policy,
            Some(e) => &e.policies[(id - group.start) as usize],
        };
        policy.decide(self.obs, &view, &mut rng)
    }
}

/// A trade on a curve, for [`Executor::refused`].
#[derive(Debug, Clone, Copy)]
enum Trade {
    Buy,
    Sell,
}

/// The execute and apply phases: settles actions against the markets,
/// through the ledger's operations; with `LOG`, curve trades are recorded
/// in the trade log (if it is on).
struct Executor<'a, const LOG: bool> {
    step: u64,
    /// The scenario, for errors.
    scenario: &'a Scenario,
    ledger: &'a mut Ledger,
    markets: &'a mut [Market],
    stats: &'a mut [StepStats],
    /// Per asset, whether trading is halted; `None` when no asset is and
    /// no governance rule guards trades (the usual case, one predictable
    /// branch per action).
    halted: Option<&'a [bool]>,
    /// The governance rules, when any guards trades ([`govern`]).
    rules: Option<&'a mut [govern::RuleState]>,
    /// The step's trade log.
    trades: &'a mut TradeLog,
    /// The first settlement a market computed and the ledger refused (a
    /// bug, reported as an invariant error after the step's trades).
    fault: Option<Fault>,
}

impl<const LOG: bool> Executor<'_, LOG> {
    /// The first fault of the actions executed, as the run's error.
    fn finish(self) -> Result<()> {
        match self.fault {
            Some(f) => Err(f.into_error(self.scenario, self.step)),
            None => Ok(()),
        }
    }

    /// Records a curve trade the ledger refused: past the ledger's range,
    /// a fault that stops the run; otherwise a rejected action (a trade
    /// the agent cannot pay for). Out of line: the curve path stays small.
    #[cold]
    #[inline(never)]
    fn refused(&mut self, agent: AgentId, j: usize, what: Trade, e: LedgerError) {
        match refusal(agent, j, what, e) {
            Some(fault) => {
                self.fault.get_or_insert(fault);
            }
            None => self.ledger.count_rejected(),
        }
    }

    /// Executes an action on a market-clearing asset or a resource. Kept
    /// out of line so that the curve path of [`Executor::execute`] stays
    /// small enough for the ledger's operations to be inlined into it
    /// (measured: 4.5% more instructions on the reference scenario when
    /// they were not).
    #[inline(never)]
    fn execute_market(&mut self, agent: AgentId, action: Action, j: usize) {
        let mut m = MarketStep {
            step: self.step,
            asset: j,
            ledger: self.ledger,
            stats: &mut self.stats[j],
            trades: self.trades,
        };
        if let Err(e) = self.markets[j].execute(agent, action, &mut m) {
            self.fault.get_or_insert(e.on(j));
        }
    }

    #[inline]
    fn execute(&mut self, agent: AgentId, action: Action) {
        let ledger = &mut *self.ledger;
        let Some(j) = action.asset() else {
            return;
        };
        if j >= self.markets.len() {
            return ledger.count_rejected();
        }
        // One predictable branch in the usual case: nothing halted, no
        // governance rule on trades.
        if let Some(halted) = self.halted {
            if halted[j] {
                return ledger.count_rejected();
            }
            if self.rules.as_deref().is_some_and(|r| govern::guarded(r, j)) {
                return self.execute_guarded(agent, action, j);
            }
        }
        let curve = match &mut self.markets[j] {
            Market::Curve(c) => c,
            _ => return self.execute_market(agent, action, j),
        };
        let (account, mut books) = ledger.account_and_books(agent);
        let traded = curve_trade::<LOG>(
            self.step,
            curve,
            &mut books,
            account,
            agent,
            j,
            action,
            &mut self.stats[j],
            self.trades,
        );
        if let Err((what, e)) = traded {
            self.refused(agent, j, what, e);
        }
    }
}

/// Whether a curve trade the ledger refused stops the run: past the
/// ledger's range it is a fault (returned); otherwise it is a rejected
/// action (a trade the agent cannot pay for: `None`).
fn refusal(agent: AgentId, j: usize, what: Trade, e: LedgerError) -> Option<Fault> {
    (e == LedgerError::Overflow).then(|| {
        // A buy's cost fits the budget: what passes the range is the
        // tokens (holdings or supply). A sell's refund is money.
        let (what, kind) = match what {
            Trade::Buy => ("buying", "token"),
            Trade::Sell => ("selling", "money"),
        };
        Fault::overflow(&format!("{what} (agent {agent})"), kind).on(j)
    })
}

/// Executes `action` of `agent` on the curve of asset `j`: a buy or a sell
/// clipped to the account (whose cells, `[balance, holdings…]`, are
/// `account`), priced by `curve` and settled through `books`, counted in
/// `stats` (and, with `LOG`, recorded in `trades`); any other action is
/// rejected (or, trading nothing, ignored). A trade the ledger refused is
/// returned with its refusal, for [`refusal`]. Shared by the one-thread
/// execute phase (on the ledger's own cells) and the two-thread one (on
/// copies of the accounts, [`pipeline`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn curve_trade<const LOG: bool>(
    step: u64,
    curve: &mut CurveMarket,
    books: &mut BookSide<'_>,
    account: &mut [u64],
    agent: AgentId,
    j: usize,
    action: Action,
    stats: &mut StepStats,
    trades: &mut TradeLog,
) -> std::result::Result<(), (Trade, LedgerError)> {
    match action {
        // an effort trades nothing (it has no asset: never reaches here)
        Action::Hold | Action::Effort { .. } | Action::Stake { .. } | Action::Unstake { .. } => {}
        Action::Limit { .. }
        | Action::Quote { .. }
        | Action::Cancel { .. }
        | Action::Request { .. }
        | Action::Produce { .. }
        | Action::Play { .. }
        | Action::Post { .. }
        | Action::Swap { .. }
        | Action::AddLiquidity { .. }
        | Action::RemoveLiquidity { .. } => {
            // Orders need a market that clears, requests a resource,
            // posted prices a posted-price market, plays a game,
            // swaps an AMM; a curve has none.
            books.count_rejected()
        }
        Action::Buy { spend, .. } => {
            let balance = account[0];
            let budget = if spend > balance {
                books.count_clipped();
                balance
            } else {
                spend
            };
            let supply = books.books(j).supply;
            let quote = match curve.quote_buy(supply, budget) {
                Ok(Some(quote)) => quote,
                Ok(None) => {
                    books.count_rejected();
                    return Ok(());
                }
                Err(e) => return Err((Trade::Buy, e)),
            };
            match books.buy(account, j, quote.tokens, quote.cost, quote.fee) {
                Ok(()) => {
                    stats.add(quote.tokens);
                    if LOG {
                        // What the agent paid: the cost and the fee
                        // (their sum fits, the ledger took it).
                        let money = u128::from(quote.cost) + u128::from(quote.fee);
                        trades.push(curve_record(
                            step,
                            agent,
                            j,
                            TradeKind::Mint,
                            quote.tokens,
                            money,
                        ));
                    }
                }
                Err(e) => return Err((Trade::Buy, e)),
            }
        }
        Action::Sell { amount, .. } => {
            let held = account[1 + j];
            let tokens = if amount > held {
                books.count_clipped();
                held
            } else {
                amount
            };
            let asset = books.books(j);
            let quote = match curve.quote_sell(asset.supply, asset.reserve, tokens) {
                Ok(q) if tokens > 0 && q.refund > 0 => q,
                Ok(_) => {
                    books.count_rejected();
                    return Ok(());
                }
                Err(e) => return Err((Trade::Sell, e)),
            };
            match books.sell(account, j, tokens, quote.refund, quote.fee) {
                Ok(()) => {
                    stats.add(tokens);
                    if LOG {
                        // What the agent received: the refund less the
                        // fee (the ledger checked fee ≤ refund).
                        let money = u128::from(quote.refund - quote.fee);
                        trades.push(curve_record(step, agent, j, TradeKind::Burn, tokens, money));
                    }
                }
                Err(e) => return Err((Trade::Sell, e)),
            }
        }
    }
    Ok(())
}

/// The share of asset `j`'s capacity out at step `t`: the sum of the
/// shares of the `outage` events on it that cover `t`, at most 1.
fn outage(scenario: &Scenario, j: usize, t: u64) -> f64 {
    let out: f64 = scenario
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Outage {
                asset,
                share,
                duration,
            } if asset == j && e.at <= t && t - e.at < duration => Some(share),
            _ => None,
        })
        .sum();
    out.min(1.0)
}

/// A mint (buy) or burn (sell) on a curve, from the trader's side: the
/// mechanism is the counterpart.
#[inline]
fn curve_record(
    step: u64,
    agent: AgentId,
    j: usize,
    kind: TradeKind,
    quantity: u64,
    money: u128,
) -> TradeRecord {
    TradeRecord {
        step,
        agent,
        counterpart: None,
        asset: j as u32,
        kind,
        buy: kind == TradeKind::Mint,
        quantity,
        money,
    }
}

/// Adds a consumer's `need` and what was left of it `unmet` to its group's
/// running sums. A run's own sums stay far below `u128::MAX` (a step adds
/// at most `u64::MAX` an agent); a restored state's could start anywhere,
/// so the sums are checked rather than left to wrap.
fn add_need(sums: &mut (u128, u128), need: u128, unmet: u128) -> Result<(), Fault> {
    match (sums.0.checked_add(need), sums.1.checked_add(unmet)) {
        (Some(need), Some(unmet)) => {
            *sums = (need, unmet);
            Ok(())
        }
        _ => Err(Fault::overflow("a group's need", "token")),
    }
}

/// Shuffles `items` uniformly: Fisher–Yates with Lemire's nearly
/// divisionless bounded draws (exactly uniform: the rare draws that would
/// bias an index are rejected). Measured 5% faster per agent-step on the
/// reference scenario than `SliceRandom::shuffle`, which draws through a
/// more general path; the order is part of every run's output, so it is
/// defined here, once.
fn shuffle(items: &mut [AgentId], rng: &mut crate::rng::EngineRng) {
    use rand::Rng;
    for i in (1..items.len()).rev() {
        items.swap(i, below((i + 1) as u64, || rng.next_u64()));
    }
}

/// An index below `bound` (> 0) from the 64-bit draws of `next`, exactly
/// uniform: Lemire's draw takes the high word of `draw · bound` and rejects
/// (draws again) while the low word is under `2⁶⁴ mod bound`, the one case
/// that would favour some indices; the remainder is computed only when the
/// low word is under `bound`, which it rarely is.
#[inline(always)]
fn below(bound: u64, mut next: impl FnMut() -> u64) -> usize {
    let mut wide = u128::from(next()) * u128::from(bound);
    if (wide as u64) < bound {
        let threshold = bound.wrapping_neg() % bound;
        while (wide as u64) < threshold {
            wide = u128::from(next()) * u128::from(bound);
        }
    }
    (wide >> 64) as usize
}

/// What every agent sees of the assets now.
fn observe<'a>(
    scenario: &'a Scenario,
    ledger: &Ledger,
    markets: &'a [Market],
    history: &'a [Vec<f64>],
) -> Vec<AssetObservation<'a>> {
    (0..scenario.assets.len())
        .map(|j| {
            let posted = markets[j].posted().map(|p| p.view());
            observe_one(scenario, ledger, &markets[j], history, j, posted)
        })
        .collect()
}

/// What every agent sees of asset `j`, priced by `market`, now (with the
/// view of its posted prices, for a posted-price market).
#[inline]
fn observe_one<'a>(
    scenario: &'a Scenario,
    ledger: &Ledger,
    market: &Market,
    history: &'a [Vec<f64>],
    j: usize,
    posted: Option<crate::agents::PostedView<'a>>,
) -> AssetObservation<'a> {
    let supply = ledger.books(j).supply;
    let observed = market.observed();
    AssetObservation {
        name: &scenario.assets[j].name,
        price: market.mark(supply),
        supply: to_units(supply),
        history: &history[j],
        best_bid: observed.best_bid,
        best_ask: observed.best_ask,
        last_trade: observed.last_trade,
        posted,
    }
}

/// Which steps the learn phase measures a group's objectives at. A group
/// whose policy reads its reward is measured at every step; one whose
/// policy does not ([`AdaptivePolicy::uses_reward`](crate::agents::AdaptivePolicy::uses_reward))
/// only where its reward is recorded (the step's rows are kept, `now`),
/// at the step before (the rows of the `next` may be kept, `next_may`),
/// and at its last active step. Its objectives kept between steps are
/// thus exact where they are read: at a recorded step's reward, and when
/// saved (`Simulation::state` measures a stale column's objectives).
struct ObjectiveSteps {
    next: u64,
    now: bool,
    next_may: bool,
}

impl ObjectiveSteps {
    fn measure(&self, column: &dyn StateColumn, group: &GroupState) -> bool {
        column.uses_reward()
            || self.now
            || self.next_may
            || !(group.active_from <= self.next && self.next < group.active_until)
    }
}

/// Writes group `g`'s mean reward into its record of step `step`, if the
/// step's rows were recorded (they are the last rows then).
fn record_reward(records: &mut [GroupRecord], step: u64, g: usize, reward: f64) {
    for record in records.iter_mut().rev() {
        if record.step != step {
            break;
        }
        if record.group as usize == g {
            record.mean_reward = Some(reward);
        }
    }
}

/// The assets of an observation, on the stack for a few assets: the
/// decide and learn phases make one every step. Each variant holds
/// exactly its assets, built in place: no padding to fill, and nothing
/// copied (the copies of a padded array were 7% of a two-firm collusion
/// run's instructions). (The inline variants are meant to be the large
/// ones: they save an allocation per step.)
#[allow(clippy::large_enum_variant)]
enum ObsAssets<'a> {
    One([AssetObservation<'a>; 1]),
    Two([AssetObservation<'a>; 2]),
    Three([AssetObservation<'a>; 3]),
    Four([AssetObservation<'a>; 4]),
    Many(Vec<AssetObservation<'a>>),
}

impl<'a> ObsAssets<'a> {
    fn as_slice(&self) -> &[AssetObservation<'a>] {
        match self {
            ObsAssets::One(a) => a,
            ObsAssets::Two(a) => a,
            ObsAssets::Three(a) => a,
            ObsAssets::Four(a) => a,
            ObsAssets::Many(v) => v,
        }
    }
}

/// What every agent sees of the assets now, as [`observe`], without an
/// allocation for up to four assets.
fn observe_assets<'a>(
    scenario: &'a Scenario,
    ledger: &Ledger,
    markets: &'a [Market],
    history: &'a [Vec<f64>],
) -> ObsAssets<'a> {
    let one = |j: usize| {
        let posted = markets[j].posted().map(|p| p.view());
        observe_one(scenario, ledger, &markets[j], history, j, posted)
    };
    match scenario.assets.len() {
        1 => ObsAssets::One([one(0)]),
        2 => ObsAssets::Two([one(0), one(1)]),
        3 => ObsAssets::Three([one(0), one(1), one(2)]),
        4 => ObsAssets::Four([one(0), one(1), one(2), one(3)]),
        _ => ObsAssets::Many(observe(scenario, ledger, markets, history)),
    }
}

/// Writes Σ balances and Σ holdings per asset over agents `range` into
/// `out`, as `[balances, holdings_0, …]`. Integer sums: exact and
/// independent of how rayon splits the work.
fn account_sums(ledger: &Ledger, range: std::ops::Range<usize>, out: &mut [u128]) {
    out.fill(0);
    add_account_sums(ledger, range, out);
}

/// Adds Σ balances and Σ holdings per asset over agents `range` to `out`,
/// as [`account_sums`] writes them.
fn add_account_sums(ledger: &Ledger, range: std::ops::Range<usize>, out: &mut [u128]) {
    let stride = 1 + ledger.assets();
    // Below this many agents, waking other threads every step costs more
    // than the sum (measured: 30% of a 10,000-agent run at 2 threads).
    const PARALLEL_FROM: usize = 1 << 18;
    let add = |sums: &mut [u128], cells: &[u64]| {
        if let [balances, holdings] = sums {
            // One asset (most runs): two running sums, no inner loop.
            let (mut b, mut h) = (0u128, 0u128);
            for account in cells.chunks_exact(2) {
                b += u128::from(account[0]);
                h += u128::from(account[1]);
            }
            *balances += b;
            *holdings += h;
            return;
        }
        for account in cells.chunks_exact(stride) {
            for (s, v) in sums.iter_mut().zip(account) {
                *s += u128::from(*v);
            }
        }
    };
    if range.len() < PARALLEL_FROM {
        add(out, ledger.account_cells(range));
        return;
    }
    let sums = ledger
        .account_cells(range)
        .par_chunks(CHUNK * stride)
        .map(|cells| {
            let mut sums = vec![0u128; stride];
            add(&mut sums, cells);
            sums
        })
        .reduce(
            || vec![0u128; stride],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            },
        );
    for (o, s) in out.iter_mut().zip(&sums) {
        *o += s;
    }
}

/// Draws the relative shares of an airdrop for `n` agents.
fn shares(dist: &ShareDistribution, n: usize, rng: &mut crate::rng::EngineRng) -> Vec<f64> {
    match dist {
        ShareDistribution::Uniform => vec![1.0; n],
        ShareDistribution::Weighted(w) => (0..n).map(|i| w[i % w.len()]).collect(),
        ShareDistribution::LogNormal { sigma } => match LogNormal::new(0.0, *sigma) {
            Ok(d) => (0..n).map(|_| d.sample(rng)).collect(),
            Err(_) => vec![1.0; n],
        },
        ShareDistribution::Pareto { alpha } => match Pareto::new(1.0, *alpha) {
            Ok(d) => (0..n).map(|_| d.sample(rng).min(1e300)).collect(),
            Err(_) => vec![1.0; n],
        },
    }
}

/// Splits `total` base units in proportion to `weights`, exactly: the parts
/// are whole base units and sum to `total` (the rounding remainder goes one
/// unit each to the first agents).
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().filter(|w| w.is_finite()).sum();
    if weights.is_empty() {
        return Vec::new();
    }
    let mut parts: Vec<u64> = if sum > 0.0 {
        weights
            .iter()
            .map(|w| {
                let x = (total as f64 * (w / sum)).floor();
                if x.is_finite() && x > 0.0 {
                    x as u64
                } else {
                    0
                }
            })
            .collect()
    } else {
        vec![0; weights.len()]
    };
    let mut assigned: u128 = parts.iter().map(|&p| u128::from(p)).sum();
    let total_wide = u128::from(total);
    // Float rounding can overshoot by a little: take it back from the end.
    for p in parts.iter_mut().rev() {
        if assigned <= total_wide {
            break;
        }
        let take = (*p as u128).min(assigned - total_wide) as u64;
        *p -= take;
        assigned -= u128::from(take);
    }
    let mut remainder = (total_wide - assigned) as u64;
    let n = parts.len() as u64;
    let each = remainder / n;
    remainder -= each * n;
    for (i, p) in parts.iter_mut().enumerate() {
        *p += each + u64::from((i as u64) < remainder);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A group's need sums add exactly, and at the edge of `u128` refuse
    /// (a restored state's sums could start anywhere) rather than wrap,
    /// leaving the sums as they were.
    #[test]
    fn a_groups_need_sums_add_exactly_or_refuse_past_u128() {
        let mut sums = (5, 2);
        add_need(&mut sums, 3, 1).unwrap();
        assert_eq!(sums, (8, 3));
        let mut full = (u128::MAX - 1, 0);
        add_need(&mut full, 1, 0).unwrap();
        assert_eq!(full, (u128::MAX, 0));
        assert!(add_need(&mut full, 1, 0).is_err());
        let mut unmet_full = (u128::MAX, u128::MAX);
        assert!(add_need(&mut unmet_full, 0, 1).is_err());
        assert_eq!(full, (u128::MAX, 0));
        assert_eq!(unmet_full, (u128::MAX, u128::MAX));
    }

    #[test]
    fn the_shuffle_is_a_uniform_permutation() {
        // Each of the 6 orders of 3 items appears 1/6 of the time (chi-square,
        // 5 degrees of freedom, 0.999 quantile 20.5), and every item lands in
        // every place.
        let mut counts = std::collections::HashMap::new();
        let n = 60_000;
        for k in 0..n {
            let mut items = [0u32, 1, 2];
            shuffle(&mut items, &mut engine_rng(1, 0, k, Stream::Execution, 0));
            *counts.entry(items).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 6);
        let expected = n as f64 / 6.0;
        let chi2: f64 = counts
            .values()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 20.5, "chi-square {chi2}: {counts:?}");
        let mut one = [7u32];
        shuffle(&mut one, &mut engine_rng(1, 0, 0, Stream::Execution, 0));
        assert_eq!(one, [7]);
    }

    #[test]
    fn a_dump_share_is_the_floor_of_the_f64_product_and_never_too_much() {
        assert_eq!(fraction_of(10, 0.3), 3);
        assert_eq!(fraction_of(1_000_000_000_000, 0.3), 300_000_000_000);
        assert_eq!(fraction_of(7, 0.5), 3);
        assert_eq!(fraction_of(7, 1.0), 7);
        assert_eq!(fraction_of(7, 0.0), 0);
        for amount in [u64::MAX, (1 << 54) + 3, (1 << 53) + 1] {
            assert!(fraction_of(amount, 1.0 - f64::EPSILON / 2.0) <= amount);
        }
        assert_eq!(fraction_of(7, f64::NAN), 0);
    }

    #[test]
    fn the_escrow_check_refuses_books_that_disagree_in_money_or_in_tokens_alone() {
        // Before the first step no order of the batch market locks
        // anything, so the escrow of asset 0 must be 0 money and 0 tokens:
        // money locked behind the markets' back (or tokens alone) is a
        // broken invariant.
        let s = crate::scenario::example("market-clearing").unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        assert!(sim.group_locks().unwrap().is_some());
        sim.ledger.lock(0, 0, 3, 0).unwrap();
        let e = sim.group_locks().unwrap_err().to_string();
        assert!(
            e.contains(
                "lock 0 base units of money and 0 of tokens, but the ledger's escrow holds 3 and 0"
            ),
            "{e}"
        );
        let mut sim = Simulation::new(&s, 0).unwrap();
        // agent 100, the first seller, holds a token's base unit to lock
        sim.ledger.lock(100, 0, 0, 1).unwrap();
        let e = sim.group_locks().unwrap_err().to_string();
        assert!(e.contains("the ledger's escrow holds 0 and 1"), "{e}");
    }

    #[test]
    fn apportion_is_exact_and_proportional() {
        let parts = apportion(1000, &[1.0, 1.0, 2.0]);
        assert_eq!(parts, vec![250, 250, 500]);
        let parts = apportion(10, &[1.0, 1.0, 1.0]);
        assert_eq!(parts.iter().sum::<u64>(), 10);
        assert_eq!(parts, vec![4, 3, 3]);
        let parts = apportion(u64::MAX, &[1.0, 3.0]);
        assert_eq!(
            parts.iter().map(|&p| p as u128).sum::<u128>(),
            u64::MAX as u128
        );
        assert_eq!(apportion(7, &[0.0, 0.0]).iter().sum::<u64>(), 7);
    }

    #[test]
    fn a_failed_conservation_check_names_what_is_held_and_what_was_paid_in() {
        // Two agents of 50 each and a curve nobody holds: 100 units paid
        // in, 10^11 base units, and no token. A group sum one base unit of
        // money too high (or 7 base units of tokens nobody minted) is a
        // broken invariant, named with both sides.
        let s = Scenario::from_toml_str(
            r#"
            [simulation]
            steps = 1
            seed = 1
            [[assets]]
            name = "T"
            pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }
            [[agents]]
            group = "g"
            count = 2
            balance = 50.0
            policy = { kind = "random", asset = "T", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
            "#,
            "test",
        )
        .unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        sim.sum_groups();
        sim.check(true).unwrap();
        sim.group_sums[0] += 1;
        let e = sim.check(true).unwrap_err().to_string();
        assert!(
            e.contains(
                "money is not conserved: held 100000000001 base units, paid in 100000000000"
            ),
            "{e}"
        );
        sim.group_sums[0] -= 1;
        sim.group_sums[1] += 7;
        let e = sim.check(true).unwrap_err().to_string();
        assert!(
            e.contains("tokens are not conserved: held [7], supply [0] (base units)"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod schedule_tests {
    use super::*;
    use crate::ledger::SCALE;

    fn scenario(schedule: &str) -> Scenario {
        Scenario::from_toml_str(
            &format!(
                r#"
                [simulation]
                steps = 12
                seed = 3
                [[assets]]
                name = "T"
                pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}
                schedule = [{schedule}]
                [[agents]]
                group = "g"
                count = 50
                balance = 100.0
                policy = {{ kind = "random", asset = "T", p_buy = 0.6, p_sell = 0.3, buy_fraction = 0.2, sell_fraction = 0.2 }}
                "#
            ),
            "test",
        )
        .unwrap()
    }

    fn m_of(sim: &Simulation) -> f64 {
        sim.curve(0).unwrap().curve().param("m").unwrap()
    }

    #[test]
    fn a_step_change_applies_at_the_start_of_its_step() {
        let mut sim =
            Simulation::new(&scenario(r#"{ param = "m", at = 3, value = 0.004 }"#), 0).unwrap();
        sim.advance().unwrap();
        sim.advance().unwrap();
        assert_eq!(m_of(&sim), 0.001);
        sim.advance().unwrap();
        assert_eq!(m_of(&sim), 0.004);
        let supply = sim.ledger().books(0).supply as f64 / SCALE as f64;
        assert_eq!(sim.prices(0)[3], 0.004 * supply + 1.0);
    }

    #[test]
    fn a_ramp_moves_in_equal_steps_from_its_start_value() {
        let mut sim = Simulation::new(
            &scenario(r#"{ param = "m", from = 2, to = 6, value = 0.005 }"#),
            0,
        )
        .unwrap();
        let mut seen = Vec::new();
        for _ in 0..8 {
            sim.advance().unwrap();
            seen.push(m_of(&sim));
        }
        let expected = [0.001, 0.001, 0.002, 0.003, 0.004, 0.005, 0.005, 0.005];
        for (s, e) in seen.iter().zip(expected) {
            assert!((s - e).abs() < 1e-15, "{seen:?}");
        }
    }

    #[test]
    fn raising_a_curve_tops_up_the_reserve_by_the_closed_form_and_lowering_it_leaves_a_surplus() {
        let raise = scenario(r#"{ param = "m", at = 6, value = 0.01 }"#);
        let mut sim = Simulation::new(&raise, 0).unwrap();
        for _ in 0..5 {
            sim.advance().unwrap();
        }
        let books = *sim.ledger().books(0);
        let (s, r) = (u128::from(books.supply), books.reserve);
        assert!(s > 0);
        // The linear curve's reserve at supply s tokens is F(s) = m/2·s² +
        // b·s; in base units (S = s·1e9), rounded up: with m = 0.001, b = 1
        // it is ⌈S²/(2·10¹²)⌉ + S, which the trades so far have kept.
        let reserve = |s: u128, denominator: u128| {
            s * s / denominator + u128::from(s * s % denominator != 0) + s
        };
        assert_eq!(r, reserve(s, 2_000_000_000_000));
        assert_eq!(sim.ledger().money_in().reserve_top_ups, 0);
        // step 6 raises m to 0.01 before anyone trades: the top-up is the
        // new reserve ⌈S²/(2·10¹¹)⌉ + S less the old one
        sim.advance().unwrap();
        assert_eq!(
            sim.ledger().money_in().reserve_top_ups,
            reserve(s, 200_000_000_000) - r
        );
        assert_eq!(sim.ledger().counts().top_ups, 1, "one top-up");
        let up = sim.run().unwrap();
        assert_eq!(
            up.summary.ledger.reserve_top_ups,
            (reserve(s, 200_000_000_000) - r) as f64 / SCALE as f64
        );
        assert_eq!(up.summary.ledger.reserve_shortfall, 0.0);
        assert_eq!(up.summary.ledger.conservation_error, 0.0);
        // m set to `value` at step 6, run through step 6
        let set_at_step_6 = |value: f64| {
            let change = format!(r#"{{ param = "m", at = 6, value = {value:?} }}"#);
            let mut sim = Simulation::new(&scenario(&change), 0).unwrap();
            for _ in 0..6 {
                sim.advance().unwrap();
            }
            sim
        };
        // lowering it needs no top-up: none is made, not even of nothing
        let lowered = set_at_step_6(0.0001);
        assert_eq!(lowered.ledger().counts().top_ups, 0, "no top-up");
        // nor does setting it to the value it has: the reserve is exactly
        // the R(S) it asks for, and no top-up of nothing is made
        let same = set_at_step_6(0.001);
        let books = *same.ledger().books(0);
        let s6 = u128::from(books.supply);
        assert_eq!(books.reserve, reserve(s6, 2_000_000_000_000));
        assert_eq!(same.ledger().counts().top_ups, 0, "no top-up of nothing");
        let down = lowered.run().unwrap();
        assert_eq!(down.summary.ledger.reserve_top_ups, 0.0);
        let t = &down.summary.assets["T"];
        let required = 0.0001 / 2.0 * t.final_supply * t.final_supply + t.final_supply;
        assert!(
            t.final_reserve > required,
            "{} vs {required}",
            t.final_reserve
        );
    }

    /// A curve raised behind the ledger's back (no top-up) backs its
    /// supply no more: the check refuses it naming the shortfall, the
    /// closed-form reserve at the new slope less the reserve held, and the
    /// summary reports the same shortfall in money units.
    #[test]
    fn a_reserve_short_of_a_full_sell_back_is_refused_naming_the_shortfall() {
        let mut sim = Simulation::new(&scenario(""), 0).unwrap();
        for _ in 0..5 {
            sim.advance().unwrap();
        }
        sim.sum_groups();
        sim.check(true).unwrap();
        sim.check(false).unwrap();
        let books = *sim.ledger().books(0);
        let (s, r) = (u128::from(books.supply), books.reserve);
        assert!(s > 0);
        let Market::Curve(c) = &mut sim.markets[0] else {
            panic!("a curve");
        };
        c.set_param("m", 0.01).unwrap();
        // ⌈S²/(2·10¹¹)⌉ + S at m = 0.01, b = 1 (S in base units).
        let d = 200_000_000_000u128;
        let required = s * s / d + u128::from(s * s % d != 0) + s;
        let short = required - r;
        assert!(short > 0);
        for summed in [true, false] {
            let e = sim.check(summed).unwrap_err().to_string();
            assert!(
                e.contains(&format!(
                    "the reserve of T is {short} base units short of a full sell-back"
                )),
                "{e}"
            );
        }
        assert_eq!(sim.shortfall(0, &sim.markets[0]), Some(short));
        assert_eq!(
            sim.summarize().ledger.reserve_shortfall,
            short as f64 / SCALE as f64
        );
    }

    struct PegB {
        calls: Vec<u64>,
    }

    impl Controller for PegB {
        fn control(&mut self, step: u64, obs: &Observation<'_>) -> Vec<GovernanceAction> {
            self.calls.push(step);
            assert_eq!(obs.assets[0].history.len() as u64, step);
            vec![ParamChange {
                asset: 0,
                param: "b".into(),
                value: 1.0 + step as f64,
            }
            .into()]
        }
    }

    #[test]
    fn a_controller_is_called_every_step_and_its_changes_apply() {
        let mut sim = Simulation::new(&scenario(""), 0).unwrap();
        sim.add_controller(Box::new(PegB { calls: Vec::new() }));
        for _ in 0..4 {
            sim.advance().unwrap();
        }
        assert_eq!(sim.curve(0).unwrap().curve().param("b"), Some(5.0));
        assert_eq!(sim.ledger().conservation().money_error(), 0);
        let mut bad = Simulation::new(&scenario(""), 0).unwrap();
        struct Wrong;
        impl Controller for Wrong {
            fn control(&mut self, _: u64, _: &Observation<'_>) -> Vec<GovernanceAction> {
                vec![GovernanceAction::SetParam {
                    asset: 0,
                    param: crate::governance::Param::Curve("slope".into()),
                    value: 1.0,
                }]
            }
        }
        bad.add_controller(Box::new(Wrong));
        let e = bad.advance().unwrap_err().to_string();
        assert!(
            e.contains("controller at step 1") && e.contains("slope"),
            "{e}"
        );
    }

    /// A controller that keeps no state (the trait's defaults) saves none,
    /// so a saved state holds nothing for it, and accepts whatever it is
    /// given back.
    #[test]
    fn a_controller_without_state_saves_none_and_accepts_any() {
        let mut peg = PegB { calls: Vec::new() };
        assert_eq!(peg.save_state(), None);
        assert_eq!(peg.load_state(b"anything"), Ok(()));
        let mut sim = Simulation::new(&scenario(""), 0).unwrap();
        sim.add_controller(Box::new(peg));
        sim.advance().unwrap();
        assert_eq!(sim.state().controllers, vec![None]);
    }
}

#[cfg(test)]
mod account_sums_tests {
    use super::*;

    /// From 2^18 agents the sums are taken in chunks on rayon's threads;
    /// each chunk must hold whole accounts, whatever their number of cells
    /// (a chunk cut inside an account would add its holdings to the
    /// balances). The sums equal the plain ones at one to four assets (an
    /// account of 2 to 5 cells), from the first agent and from one inside
    /// the first chunk.
    #[test]
    fn the_parallel_sums_are_the_plain_sums_at_any_account_size() {
        let agents = (1 << 18) + 3;
        for assets in 1..=4 {
            let mut ledger = Ledger::try_new(agents, assets).unwrap();
            for a in 0..agents as u64 {
                ledger
                    .fund_balance(a as AgentId, a * 7_919 % 1_000_003)
                    .unwrap();
                for j in 0..assets {
                    let tokens = (a * (j as u64 + 2)) % 9_973 + j as u64;
                    ledger
                        .fund_supply(j, Some(a as AgentId), tokens, 0)
                        .unwrap();
                }
            }
            for start in [0, 5] {
                let mut want = vec![0u128; 1 + assets];
                for a in start..agents {
                    let a = a as AgentId;
                    want[0] += u128::from(ledger.balance(a));
                    for (j, w) in want[1..].iter_mut().enumerate() {
                        *w += u128::from(ledger.holding(a, j));
                    }
                }
                let mut got = vec![7u128; 1 + assets];
                account_sums(&ledger, start..agents, &mut got);
                assert_eq!(got, want, "{assets} assets from agent {start}");
            }
        }
    }
}

#[cfg(test)]
mod shuffle_tests {
    use super::below;

    /// Draws `draws` in turn (and panics past them).
    fn from(draws: &[u64]) -> impl FnMut() -> u64 + '_ {
        let mut at = 0;
        move || {
            at += 1;
            draws[at - 1]
        }
    }

    /// With a bound of 3, `2⁶⁴ mod 3 = 1`: a draw whose low word of
    /// `draw · 3` is 0 (the draw 0) is rejected and the next one taken; one
    /// whose low word is 1 or 2 (under the bound, but not under the
    /// remainder) is kept. `0xAAAA…AB · 3 = 2·2⁶⁴ + 1`: index 2, kept;
    /// `u64::MAX · 3` gives index 2 and `0x5555…55 · 3` index 0.
    #[test]
    fn a_draw_is_rejected_exactly_when_its_low_word_is_under_two_to_the_64_mod_the_bound() {
        let kept = 0xAAAA_AAAA_AAAA_AAAB_u64;
        assert_eq!(u128::from(kept) * 3, (2u128 << 64) + 1);
        assert_eq!(below(3, from(&[kept, 0x5555_5555_5555_5555])), 2);
        assert_eq!(below(3, from(&[0, u64::MAX])), 2);
        assert_eq!(below(3, from(&[0x5555_5555_5555_5555])), 0);
        // a power of two divides 2⁶⁴: nothing is rejected, the draw 0 gives 0
        assert_eq!(below(4, from(&[0])), 0);
        assert_eq!(below(4, from(&[u64::MAX])), 3);
        // the bound 1 always gives 0
        assert_eq!(below(1, from(&[u64::MAX])), 0);
    }
}
