//! `agora._agora.Simulation`: a run stepped from Python, one step at a
//! time, over the library's step API ([`agora::Simulation::advance_with`],
//! [`agora::Simulation::observe`], [`agora::Simulation::reset`]).
//!
//! The Python class `agora.Simulation` (`python/agora/_sim.py`) wraps this
//! one: it reads the scenario as `agora.run` does and turns the state's
//! bytes into NumPy arrays (`numpy.frombuffer`, no copy). Actions set with
//! `act` replace the chosen agents' policies' for the next step only.

use std::sync::Mutex;

use agora::agents::{Action, Side};
use agora::ledger::{AgentId, SCALE};
use agora::Scenario;
use pyo3::exceptions::{PyIndexError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};

use crate::policy::Policies;
use crate::{scenario_from, to_py};

/// One run of a scenario, stepped from Python.
#[pyclass(module = "agora._agora")]
pub struct Simulation {
    /// The scenario as given (its own seed), kept to rebuild for a new seed.
    scenario: Scenario,
    /// The run being stepped (its scenario may have another seed).
    sim: Mutex<agora::Simulation>,
    /// The asset names, in scenario order.
    assets: Vec<String>,
    /// Actions set with `act` for the next step, by agent (sorted, one each).
    pending: Vec<(AgentId, Action)>,
    /// The Python policies the scenario was read with.
    policies: Policies,
    /// Why the last step failed partway (or ran with a failed policy), if
    /// it did: no checkpoint is taken of such a state, until `reset`.
    broken: Option<String>,
}

impl Simulation {
    /// A run of `scenario` (as given: its own seed), being stepped as
    /// `sim`, with the Python policies it was read with.
    fn of(scenario: Scenario, sim: agora::Simulation, policies: Policies) -> Self {
        Simulation {
            assets: scenario.assets().iter().map(|a| a.name.clone()).collect(),
            scenario,
            sim: Mutex::new(sim),
            pending: Vec::new(),
            policies,
            broken: None,
        }
    }

    /// The run `checkpoint` holds, set up with the Python policies given.
    fn resumed(
        py: Python<'_>,
        checkpoint: &agora::engine::Checkpoint,
        policies: Option<crate::policy::Given>,
    ) -> PyResult<Self> {
        let policies = crate::policy::policies(policies)?;
        // Without the GIL, as in `new`.
        let (scenario, sim) = py
            .detach(|| checkpoint.resume_with(&policies.registry))
            .map_err(to_py)?;
        Ok(Self::of(scenario, sim, policies))
    }

    /// The checkpoint of the run after its last step; refused (`what`
    /// names the call) while actions set with `act` wait for the next
    /// step.
    fn checkpoint(&self, what: &str) -> PyResult<agora::engine::Checkpoint> {
        if let Some(why) = &self.broken {
            return Err(PyRuntimeError::new_err(format!(
                "{what}: the last step failed partway ({why}); a checkpoint of it would not \
                 continue as a run does: reset() first"
            )));
        }
        if !self.pending.is_empty() {
            return Err(PyRuntimeError::new_err(format!(
                "{what}: actions set with act() for {} agents wait for the next step, \
                 and a checkpoint holds no pending actions: step() first",
                self.pending.len()
            )));
        }
        let sim = self.sim()?;
        let checkpoint =
            agora::engine::Checkpoint::of(sim.scenario(), &sim, Vec::new()).map_err(to_py)?;
        // A Python learner's object that could not be pickled: its failure.
        if let Some(e) = self.policies.take_failure() {
            return Err(Python::attach(|py| {
                let err = PyRuntimeError::new_err(format!(
                    "{what}: a Python learner's object cannot be pickled ({e}), and a \
                     checkpoint carries each learner's object"
                ));
                err.set_cause(py, Some(e));
                err
            }));
        }
        Ok(checkpoint)
    }

    fn sim(&self) -> PyResult<std::sync::MutexGuard<'_, agora::Simulation>> {
        self.sim
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the simulation failed in an earlier call"))
    }
}

/// The index of the asset `value` names (an index or a name) among
/// `assets`, the scenario's asset names.
fn asset_of(assets: &[String], value: &Bound<'_, PyAny>, what: &str) -> PyResult<u32> {
    let m = assets.len();
    if let Ok(name) = value.cast::<PyString>() {
        let name: String = name.extract()?;
        return assets
            .iter()
            .position(|a| *a == name)
            .map(|j| j as u32)
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "{what}: no asset is named {name:?}; the assets are {}",
                    assets.join(", ")
                ))
            });
    }
    let j: i64 = value.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what}: the asset must be an index or a name, not {}",
            value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    if j < 0 || j as usize >= m {
        return Err(PyValueError::new_err(format!(
            "{what}: asset {j} does not exist: the assets are 0 to {}",
            m.saturating_sub(1)
        )));
    }
    Ok(j as u32)
}

/// A non-negative integer amount of base units.
fn amount_of(value: &Bound<'_, PyAny>, what: &str, field: &str) -> PyResult<u64> {
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{what}: {field} must be an int of base units, not a bool"
        )));
    }
    value.extract::<u64>().map_err(|_| {
        let shown = value.repr().map(|r| r.to_string()).unwrap_or_default();
        PyValueError::new_err(format!(
            "{what}: {field} must be a non-negative int of base units (1 unit = {SCALE}), found {shown}"
        ))
    })
}

/// An action as Python writes it: `"hold"`, `("hold",)`,
/// `("buy", asset, spend)`, `("sell", asset, amount)`,
/// `("limit", asset, "buy"|"sell", price, amount[, ttl])`,
/// `("cancel", asset)` or `("request", asset, quantity, max_price)`; an
/// asset is an index or a name, amounts are base units.
pub(crate) fn action_of(
    assets: &[String],
    value: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<Action> {
    const FORMS: &str = "\"hold\", (\"buy\", asset, spend), (\"sell\", asset, amount), \
                         (\"limit\", asset, \"buy\"|\"sell\", price, amount[, ttl]), \
                         (\"cancel\", asset) or (\"request\", asset, quantity, max_price)";
    let parts: Vec<Bound<'_, PyAny>> = if value.is_instance_of::<PyString>() {
        vec![value.clone()]
    } else if let Ok(t) = value.cast::<PyTuple>() {
        t.iter().collect()
    } else if let Ok(l) = value.cast::<pyo3::types::PyList>() {
        l.iter().collect()
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what}: an action is one of {FORMS}, not {}",
            value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        )));
    };
    let kind: String = parts
        .first()
        .and_then(|k| k.extract().ok())
        .ok_or_else(|| PyValueError::new_err(format!("{what}: an action is one of {FORMS}")))?;
    let arity = |n: &[usize]| -> PyResult<()> {
        if n.contains(&parts.len()) {
            Ok(())
        } else {
            Err(PyValueError::new_err(format!(
                "{what}: a {kind:?} action has {} fields, found {}; an action is one of {FORMS}",
                n.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(" or "),
                parts.len()
            )))
        }
    };
    let asset = |k: usize| asset_of(assets, &parts[k], what);
    let amount = |k: usize, field: &str| amount_of(&parts[k], what, field);
    Ok(match kind.as_str() {
        "hold" => {
            arity(&[1])?;
            Action::Hold
        }
        "buy" => {
            arity(&[3])?;
            Action::Buy {
                asset: asset(1)?,
                spend: amount(2, "spend")?,
            }
        }
        "sell" => {
            arity(&[3])?;
            Action::Sell {
                asset: asset(1)?,
                amount: amount(2, "amount")?,
            }
        }
        "limit" => {
            arity(&[5, 6])?;
            let side = match parts[2].extract::<String>().as_deref() {
                Ok("buy") => Side::Buy,
                Ok("sell") => Side::Sell,
                _ => {
                    return Err(PyValueError::new_err(format!(
                        "{what}: a limit order's side must be \"buy\" or \"sell\""
                    )))
                }
            };
            let ttl = if parts.len() == 6 {
                let ttl = amount(5, "ttl")?;
                u32::try_from(ttl).ok().filter(|&t| t >= 1).ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "{what}: ttl must be from 1 to {}, found {ttl}",
                        u32::MAX
                    ))
                })?
            } else {
                1
            };
            Action::Limit {
                asset: asset(1)?,
                side,
                price: amount(3, "price")?,
                amount: amount(4, "amount")?,
                ttl,
            }
        }
        "cancel" => {
            arity(&[2])?;
            Action::Cancel { asset: asset(1)? }
        }
        "request" => {
            arity(&[4])?;
            Action::Request {
                asset: asset(1)?,
                quantity: amount(2, "quantity")?,
                max_price: amount(3, "max_price")?,
            }
        }
        other => {
            return Err(PyValueError::new_err(format!(
                "{what}: unknown action kind {other:?}; an action is one of {FORMS}"
            )))
        }
    })
}

/// Native-endian bytes of `f64`s (for `numpy.frombuffer`).
fn f64_bytes<'py>(py: Python<'py>, values: &[f64]) -> Bound<'py, PyBytes> {
    let mut bytes = Vec::with_capacity(values.len() * 8);
    for v in values {
        bytes.extend_from_slice(&v.to_ne_bytes());
    }
    PyBytes::new(py, &bytes)
}

/// Native-endian bytes of `u64`s (for `numpy.frombuffer`).
fn u64_bytes<'py>(py: Python<'py>, values: impl Iterator<Item = u64>) -> Bound<'py, PyBytes> {
    let mut bytes = Vec::with_capacity(values.size_hint().0 * 8);
    for v in values {
        bytes.extend_from_slice(&v.to_ne_bytes());
    }
    PyBytes::new(py, &bytes)
}

#[pymethods]
impl Simulation {
    /// Sets up run `run` of scenario text (`origin` names it in errors),
    /// with the overrides.
    #[new]
    #[pyo3(signature = (text, origin, seed=None, steps=None, run=0, policies=None))]
    fn new(
        py: Python<'_>,
        text: &str,
        origin: &str,
        seed: Option<u64>,
        steps: Option<u64>,
        run: u64,
        policies: Option<crate::policy::Given>,
    ) -> PyResult<Self> {
        let policies = crate::policy::policies(policies)?;
        let scenario =
            scenario_from(text, origin, None, steps, None, &policies.registry).map_err(to_py)?;
        let mut seeded = scenario.clone();
        if let Some(seed) = seed {
            seeded.set_seed(seed).map_err(to_py)?;
        }
        // Without the GIL: setting up may make Python learners' objects on
        // other threads.
        let sim = py
            .detach(|| agora::Simulation::new(&seeded, run))
            .map_err(to_py)?;
        Ok(Self::of(scenario, sim, policies))
    }

    /// Reads the checkpoint file at `path` (one `save_checkpoint` or
    /// `agora run --checkpoint-every` wrote) and sets up the run as it was
    /// there, with the Python policies given (the scenario's own must be
    /// among them): stepping it on gives what the run would have.
    #[staticmethod]
    #[pyo3(signature = (path, policies=None))]
    fn load_checkpoint(
        py: Python<'_>,
        path: std::path::PathBuf,
        policies: Option<crate::policy::Given>,
    ) -> PyResult<Self> {
        let checkpoint = agora::engine::Checkpoint::read(&path).map_err(to_py)?;
        Self::resumed(py, &checkpoint, policies)
    }

    /// The run a checkpoint file's bytes hold (as `checkpoint_bytes` gives
    /// them); `origin` names them in errors.
    #[staticmethod]
    #[pyo3(signature = (data, origin, policies=None))]
    fn from_checkpoint_bytes(
        py: Python<'_>,
        data: &[u8],
        origin: &str,
        policies: Option<crate::policy::Given>,
    ) -> PyResult<Self> {
        let checkpoint = agora::engine::Checkpoint::from_bytes(data, origin).map_err(to_py)?;
        Self::resumed(py, &checkpoint, policies)
    }

    /// Writes the run's state after its last step to the checkpoint file
    /// `path` (`path/checkpoint` when `path` is a folder), replacing it
    /// atomically (the file `agora resume` reads).
    /// Refused while actions set with `act` wait for the next step: they
    /// are not part of a step's state.
    fn save_checkpoint(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        let checkpoint = self.checkpoint("save_checkpoint")?;
        // A run's output folder: its checkpoint file, as `agora run` names it.
        let path = if path.is_dir() {
            path.join(agora::engine::Checkpoint::FILE)
        } else {
            path
        };
        py.detach(|| checkpoint.write_atomic(&path)).map_err(to_py)
    }

    /// The bytes `save_checkpoint` would write (for pickling, or a copy).
    fn checkpoint_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self
            .checkpoint("checkpoint_bytes")?
            .to_bytes()
            .map_err(to_py)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The run of the scenario's Monte Carlo ensemble being stepped.
    #[getter]
    fn run(&self) -> PyResult<u64> {
        Ok(self.sim()?.run_index())
    }

    /// Sets the run back to step 0: run `run` of the scenario with seed
    /// `seed` (the scenario's own when `None`). Pending actions are dropped.
    #[pyo3(signature = (seed=None, run=0))]
    fn reset(&mut self, py: Python<'_>, seed: Option<u64>, run: u64) -> PyResult<()> {
        self.pending.clear();
        let mut scenario = self.scenario.clone();
        if let Some(seed) = seed {
            scenario.set_seed(seed).map_err(to_py)?;
        }
        let fresh = py
            .detach(|| agora::Simulation::new(&scenario, run))
            .map_err(to_py)?;
        *self.sim()? = fresh;
        self.broken = None;
        Ok(())
    }

    /// Sets actions for the next step: `agents[k]` does `actions[k]`
    /// instead of what its policy would (see `agora.Simulation.act`).
    /// A later call for the same agent replaces its action.
    fn act(
        &mut self,
        agents: Vec<Bound<'_, PyAny>>,
        actions: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        if agents.len() != actions.len() {
            return Err(PyValueError::new_err(format!(
                "act: {} agents but {} actions; give one action per agent",
                agents.len(),
                actions.len()
            )));
        }
        let n = self.sim()?.ledger().agents();
        let mut parsed = Vec::with_capacity(agents.len());
        for (a, action) in agents.iter().zip(&actions) {
            if a.is_instance_of::<pyo3::types::PyBool>() {
                return Err(PyTypeError::new_err(
                    "act: an agent id is an int, not a bool",
                ));
            }
            let id: i64 = a.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "act: an agent id is an int, not {}",
                    a.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })?;
            if id < 0 || id as usize >= n {
                return Err(PyIndexError::new_err(format!(
                    "act: agent {id} does not exist: the agents are 0 to {}",
                    n.saturating_sub(1)
                )));
            }
            let what = format!("act: agent {id}'s action");
            parsed.push((id as AgentId, action_of(&self.assets, action, &what)?));
        }
        for (id, action) in parsed {
            match self.pending.binary_search_by_key(&id, |p| p.0) {
                Ok(k) => self.pending[k].1 = action,
                Err(k) => self.pending.insert(k, (id, action)),
            }
        }
        Ok(())
    }

    /// Runs `steps` steps (the first with the actions set by `act`);
    /// raises `RuntimeError` on a finished run. The GIL is released while
    /// a step runs; Ctrl-C between steps raises `KeyboardInterrupt`.
    #[pyo3(signature = (steps=1))]
    fn step(&mut self, py: Python<'_>, steps: u64) -> PyResult<()> {
        let pending = std::mem::take(&mut self.pending);
        let total = self.scenario.simulation().steps;
        let failure = &self.policies.failure;
        let mut guard = self.sim()?;
        let sim = &mut *guard;
        let mut result = Ok(());
        let mut broken = false;
        for k in 0..steps {
            let before = sim.step();
            let stepped = py.detach(|| {
                if sim.done() {
                    return Err(PyRuntimeError::new_err(format!(
                        "the simulation is finished (step {} of {total}): call reset() to run it again",
                        sim.step()
                    )));
                }
                let actions: &[(AgentId, Action)] = if k == 0 { &pending } else { &[] };
                sim.advance_with(actions).map_err(to_py)
            });
            let failed = failure.lock().map_or(true, |f| f.is_some());
            if stepped.is_err() || failed {
                // a step begun and not finished, or run with a policy
                // that failed: not a state a run goes through
                broken = failed || sim.step() != before;
                result = stepped;
                break;
            }
            if k + 1 < steps {
                if let Err(e) = py.check_signals() {
                    result = Err(e);
                    break;
                }
            }
        }
        drop(guard);
        let result = match self.policies.take_failure() {
            Some(e) => Err(e),
            None => result,
        };
        if broken {
            if let Err(e) = &result {
                self.broken = Some(e.to_string());
            }
        }
        result
    }

    /// The last step run (0 before the first).
    #[getter]
    fn step_index(&self) -> PyResult<u64> {
        Ok(self.sim()?.step())
    }

    /// Whether the run has nothing left to run.
    #[getter]
    fn done(&self) -> PyResult<bool> {
        Ok(self.sim()?.done())
    }

    /// The number of agents.
    #[getter]
    fn num_agents(&self) -> PyResult<usize> {
        Ok(self.sim()?.ledger().agents())
    }

    /// The asset names, in scenario order.
    #[getter]
    fn asset_names(&self) -> Vec<String> {
        self.scenario
            .assets()
            .iter()
            .map(|a| a.name.clone())
            .collect()
    }

    /// Per asset, its pricing kind as written (`"bonding_curve"`, `"order_book"`, …).
    #[getter]
    fn asset_kinds(&self) -> Vec<String> {
        self.scenario
            .assets()
            .iter()
            .map(|a| a.pricing.kind_name().to_string())
            .collect()
    }

    /// The groups as `(name, first agent, end)`: agents `first..end`.
    #[getter]
    fn groups(&self) -> Vec<(String, u32, u32)> {
        let mut start = 0u32;
        self.scenario
            .groups()
            .iter()
            .map(|g| {
                let range = (g.name.clone(), start, start + g.count);
                start += g.count;
                range
            })
            .collect()
    }

    /// The scenario's step count.
    #[getter]
    fn steps(&self) -> u64 {
        self.scenario.simulation().steps
    }

    /// The objective of each agent of group `g` now (its wealth, log
    /// wealth, … as the group's `objective` says), as float64 bytes.
    fn objectives<'py>(&self, py: Python<'py>, g: usize) -> PyResult<Bound<'py, PyBytes>> {
        if g >= self.scenario.groups().len() {
            return Err(PyIndexError::new_err(format!(
                "group {g} does not exist: the groups are 0 to {}",
                self.scenario.groups().len().saturating_sub(1)
            )));
        }
        Ok(f64_bytes(py, &self.sim()?.objectives(g)))
    }

    /// The markets now as a dict of float64 bytes, one per asset:
    /// `prices`, `marks`, `supplies`, `best_bids`, `best_asks` (NaN where
    /// none), and `step`, the last step run.
    fn market_raw<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let sim = self.sim()?;
        let obs = sim.observe();
        let m = obs.assets.len();
        let d = PyDict::new(py);
        d.set_item("step", sim.step())?;
        let nan = f64::NAN;
        let column = |f: &dyn Fn(usize) -> f64| (0..m).map(f).collect::<Vec<f64>>();
        let a = &obs.assets;
        d.set_item("prices", f64_bytes(py, &column(&|j| a[j].price)))?;
        d.set_item("marks", f64_bytes(py, &column(&|j| sim.mark(j))))?;
        d.set_item("supplies", f64_bytes(py, &column(&|j| a[j].supply)))?;
        let bids = column(&|j| a[j].best_bid.unwrap_or(nan));
        let asks = column(&|j| a[j].best_ask.unwrap_or(nan));
        d.set_item("best_bids", f64_bytes(py, &bids))?;
        d.set_item("best_asks", f64_bytes(py, &asks))?;
        Ok(d)
    }

    /// The accounts of agents `first..end` now: their free balances
    /// (uint64 bytes), free holdings (uint64 bytes, agent-major) and
    /// wealth (float64 bytes, locked amounts included, at the marks).
    #[pyo3(signature = (first=0, end=None))]
    fn accounts_raw<'py>(
        &self,
        py: Python<'py>,
        first: usize,
        end: Option<usize>,
    ) -> PyResult<(
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
    )> {
        let sim = self.sim()?;
        let ledger = sim.ledger();
        let n = ledger.agents();
        let end = end.unwrap_or(n);
        if first > end || end > n {
            return Err(PyIndexError::new_err(format!(
                "agents {first}..{end} do not exist: the agents are 0 to {}",
                n.saturating_sub(1)
            )));
        }
        let cells = ledger.account_cells(first..end);
        let stride = 1 + ledger.assets();
        let balances = u64_bytes(py, cells.iter().step_by(stride).copied());
        let holdings = u64_bytes(
            py,
            cells
                .chunks_exact(stride)
                .flat_map(|a| a[1..].iter().copied()),
        );
        Ok((
            balances,
            holdings,
            f64_bytes(py, &sim.wealth_of(first..end)),
        ))
    }

    /// The recorded price history of asset `j` (from step 0; its last
    /// `last` entries when given), float64 bytes.
    #[pyo3(signature = (j, last=None))]
    fn history<'py>(
        &self,
        py: Python<'py>,
        j: usize,
        last: Option<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let sim = self.sim()?;
        if j >= self.scenario.assets().len() {
            return Err(PyIndexError::new_err(format!(
                "asset {j} does not exist: the assets are 0 to {}",
                self.scenario.assets().len().saturating_sub(1)
            )));
        }
        let all = sim.prices(j);
        let from = last.map_or(0, |k| all.len().saturating_sub(k));
        Ok(f64_bytes(py, &all[from..]))
    }
}
