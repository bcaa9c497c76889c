//! `agora._agora`: the Rust engine behind the `agora` Python package.
//!
//! The Python layer (`python/agora/__init__.py`) turns what users pass —
//! a path, TOML text, a dict, an example — into scenario text and calls
//! these functions. Runs release the GIL; a run checks for Ctrl-C every
//! few steps and stops with `KeyboardInterrupt`. Results hand their tables
//! to Python through Arrow's C stream interface (`__arrow_c_stream__`), so
//! pyarrow, polars and pandas read them without a copy.

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use agora::engine::RunOutput;
use agora::experiment::sweep::{parse_axis, sweep_csv, sweep_keeping, Grid};
use agora::output::shards::ShardInfo;
use agora::scenario::PolicyRegistry;
use agora::{Scenario, Simulation};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCapsule};
use rayon::prelude::*;

mod policy;
mod sim;

create_exception!(
    _agora,
    ScenarioError,
    PyException,
    "A scenario that cannot run: its message names the file (or origin), the field and what was expected, as the command line's does."
);

/// The Python exception for an engine error: a scenario's (or an
/// argument's) fault is a `ScenarioError`, anything else a `RuntimeError`.
fn to_py(e: agora::Error) -> PyErr {
    if e.is_input_error() {
        ScenarioError::new_err(e.to_string())
    } else {
        PyRuntimeError::new_err(e.to_string())
    }
}

/// Reads scenario text (`origin` names it in errors) with the policies of
/// `registry` and applies the overrides.
fn scenario_from(
    text: &str,
    origin: &str,
    seed: Option<u64>,
    steps: Option<u64>,
    runs: Option<u64>,
    registry: &agora::scenario::PolicyRegistry,
) -> agora::Result<Scenario> {
    let mut scenario = Scenario::from_toml_str_with(text, origin, registry)?;
    if let Some(seed) = seed {
        scenario.set_seed(seed)?;
    }
    if let Some(steps) = steps {
        scenario.set_steps(steps)?;
    }
    if let Some(runs) = runs {
        scenario.set_runs(runs)?;
    }
    Ok(scenario)
}

/// The TOML text of the built-in example `name`.
#[pyfunction]
fn example_toml(name: &str) -> PyResult<String> {
    agora::scenario::example(name).map_err(to_py)?;
    Ok(agora::scenario::examples()
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.toml.to_string())
        .unwrap_or_default())
}

/// The built-in examples as a list of `(name, description)`.
#[pyfunction]
fn examples() -> Vec<(String, String)> {
    agora::scenario::examples()
        .iter()
        .map(|e| (e.name.to_string(), e.description.to_string()))
        .collect()
}

/// The built-in policy kinds (a Python policy cannot take their names).
#[pyfunction]
fn builtin_policies() -> Vec<&'static str> {
    agora::scenario::BUILTIN_POLICIES.to_vec()
}

/// Checks scenario text; raises `ScenarioError` with the command line's
/// message when it cannot run. Returns the scenario's warnings.
#[pyfunction]
#[pyo3(signature = (text, origin, seed=None, steps=None, runs=None, policies=None))]
fn validate(
    text: &str,
    origin: &str,
    seed: Option<u64>,
    steps: Option<u64>,
    runs: Option<u64>,
    policies: Option<crate::policy::Given>,
) -> PyResult<Vec<String>> {
    let policies = policy::policies(policies)?;
    let scenario =
        scenario_from(text, origin, seed, steps, runs, &policies.registry).map_err(to_py)?;
    Ok(scenario
        .warnings()
        .iter()
        .map(ToString::to_string)
        .collect())
}

/// Converts JSON text (a dict, as Python's `json.dumps` writes it) to TOML
/// text, for scenarios given as dicts.
#[pyfunction]
fn json_to_toml(json: &str) -> PyResult<String> {
    let value: toml::Value = serde_json::from_str(json)
        .map_err(|e| ScenarioError::new_err(format!("the scenario dict: {e}")))?;
    toml::to_string(&value).map_err(|e| ScenarioError::new_err(format!("the scenario dict: {e}")))
}

/// A callback run at every Ctrl-C check of [`interruptible`].
type Tick<'a> = Option<&'a dyn Fn(Python<'_>) -> PyResult<()>>;

/// Runs `job` on a pool of `threads` threads (rayon's default when
/// `None`) while the calling thread — Python's main thread, the only one
/// that sees signals — checks for Ctrl-C every 50 ms with the GIL released;
/// on one, the flag handed to `job` is set, `job` is expected to stop at
/// its next step (returning `Ok(None)`), and `KeyboardInterrupt` is raised.
/// `tick`, when given, is called (with the GIL) at each of those checks —
/// a progress bar's update; an error from it stops the job like Ctrl-C.
fn interruptible<T: Send + 'static>(
    py: Python<'_>,
    threads: Option<usize>,
    tick: Tick<'_>,
    job: impl FnOnce(Arc<AtomicBool>) -> agora::Result<Option<T>> + Send + 'static,
) -> PyResult<T> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n == 0 {
            return Err(PyValueError::new_err("threads must be at least 1"));
        }
        builder = builder.num_threads(n);
    }
    let pool = builder
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start threads: {e}")))?;
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    {
        let stop = Arc::clone(&stop);
        pool.spawn(move || {
            let _ = tx.send(job(stop));
        });
    }
    let mut interrupted = None;
    let mut rx = rx;
    let result = loop {
        // The GIL is released while waiting (the receiver moves in and out:
        // it may be sent between threads, not shared).
        let (received, back) = py.detach(move || (rx.recv_timeout(Duration::from_millis(50)), rx));
        rx = back;
        match received {
            Ok(result) => break Some(result),
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if interrupted.is_none() {
                    let checked = py
                        .check_signals()
                        .and_then(|()| tick.map_or(Ok(()), |tick| tick(py)));
                    if let Err(e) = checked {
                        interrupted = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
    };
    if let Some(e) = interrupted {
        return Err(e);
    }
    let result = result.ok_or_else(|| PyRuntimeError::new_err("the run stopped unexpectedly"))?;
    result
        .map_err(to_py)?
        .ok_or_else(|| PyKeyboardInterrupt::new_err("the run was interrupted"))
}

/// Runs every run of `scenario` (see [`interruptible`]). Run r is built
/// for run index r, as the command line's Monte Carlo does, so the outputs
/// are the same. `progress`, when given, is called as `progress(done,
/// total)` with the steps run so far (over every run) every 50 ms and once
/// at the end.
fn run_scenario(
    py: Python<'_>,
    scenario: &Scenario,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    failure: &policy::Failure,
) -> PyResult<Vec<RunOutput>> {
    let scenario = scenario.clone();
    let failure = Arc::clone(failure);
    let sim = scenario.simulation();
    let total = sim.runs.saturating_mul(sim.steps + sim.evaluation_steps);
    let done = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&done);
    let report = |py: Python<'_>| -> PyResult<()> {
        if let Some(f) = &progress {
            f.call1(py, (done.load(Ordering::Relaxed).min(total), total))?;
        }
        Ok(())
    };
    let tick: Tick<'_> = match progress {
        Some(_) => Some(&report),
        None => None,
    };
    let outputs = interruptible(py, threads, tick, move |stop| {
        let runs = scenario.simulation().runs;
        let outs: Vec<Option<RunOutput>> = (0..runs)
            .into_par_iter()
            .map(|r| {
                let mut sim = Simulation::new(&scenario, r)?;
                while !sim.done() {
                    // A Python policy's exception stops every run.
                    if stop.load(Ordering::Relaxed) || failure.lock().map_or(true, |f| f.is_some())
                    {
                        return Ok(None);
                    }
                    sim.advance()?;
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                sim.finish().map(Some)
            })
            .collect::<agora::Result<_>>()?;
        Ok(outs.into_iter().collect())
    })?;
    if progress.is_some() {
        done.store(total, Ordering::Relaxed);
        report(py)?;
    }
    Ok(outputs)
}

/// One table of a result, readable through Arrow's C stream interface.
#[pyclass(module = "agora._agora", frozen)]
struct Table {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

#[pymethods]
impl Table {
    /// The Arrow PyCapsule interface: a fresh stream of the table's record
    /// batches each call (`requested_schema` is not supported and ignored).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let reader = RecordBatchIterator::new(
            self.batches.clone().into_iter().map(Ok),
            self.schema.clone(),
        );
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        let name = CString::new("arrow_array_stream").expect("no NUL in the name");
        PyCapsule::new(py, stream, Some(name))
    }

    /// The number of rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect()
    }

    fn __len__(&self) -> usize {
        self.num_rows()
    }

    fn __repr__(&self) -> String {
        format!(
            "agora.Table({} rows: {})",
            self.num_rows(),
            self.column_names().join(", ")
        )
    }
}

/// The outcome of `agora.run`.
#[pyclass(module = "agora._agora", frozen)]
struct RunResult {
    scenario: Scenario,
    outputs: Vec<RunOutput>,
    assets: Py<Table>,
    agents: Py<Table>,
    summary_json: String,
}

#[pymethods]
impl RunResult {
    /// `assets.csv` as an Arrow table (`pyarrow.table(result.assets)`,
    /// `polars.from_arrow(result.assets)`).
    #[getter]
    fn assets(&self, py: Python<'_>) -> Py<Table> {
        self.assets.clone_ref(py)
    }

    /// `agents.csv` as an Arrow table.
    #[getter]
    fn agents(&self, py: Python<'_>) -> Py<Table> {
        self.agents.clone_ref(py)
    }

    /// `summary.json` as JSON text (the Python layer parses it to a dict).
    #[getter]
    fn summary_json(&self) -> String {
        self.summary_json.clone()
    }

    /// Writes the files `agora run --out DIR` writes (CSV tables,
    /// `summary.json` without the measured performance, `scenario.toml`);
    /// returns their paths.
    fn write(&self, py: Python<'_>, dir: std::path::PathBuf) -> PyResult<Vec<String>> {
        let written = py
            .detach(|| agora::output::write_runs(&dir, &self.scenario, &self.outputs))
            .map_err(to_py)?;
        Ok(written.iter().map(|p| p.display().to_string()).collect())
    }
}

/// Runs scenario text; see `agora.run`.
#[pyfunction]
#[pyo3(signature = (text, origin, seed=None, steps=None, runs=None, threads=None, progress=None, policies=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    text: &str,
    origin: &str,
    seed: Option<u64>,
    steps: Option<u64>,
    runs: Option<u64>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    policies: Option<crate::policy::Given>,
) -> PyResult<RunResult> {
    let policies = policy::policies(policies)?;
    let scenario =
        scenario_from(text, origin, seed, steps, runs, &policies.registry).map_err(to_py)?;
    let outputs = run_scenario(py, &scenario, threads, progress, &policies.failure);
    if let Some(e) = policies.take_failure() {
        return Err(e);
    }
    let outputs = outputs?;
    let summary = agora::output::summary_json_with(&scenario, &outputs, None).map_err(to_py)?;
    let summary_json = String::from_utf8(summary)
        .map_err(|_| PyRuntimeError::new_err("summary.json is not UTF-8"))?;
    let parquet = |e: agora_parquet::Error| PyRuntimeError::new_err(e.to_string());
    let assets = Table {
        schema: agora_parquet::assets_schema(&scenario),
        batches: agora_parquet::assets_batches(&scenario, &outputs).map_err(parquet)?,
    };
    let agents = Table {
        schema: agora_parquet::agents_schema(&scenario),
        batches: agora_parquet::agents_batches(&scenario, &outputs).map_err(parquet)?,
    };
    Ok(RunResult {
        assets: Py::new(py, assets)?,
        agents: Py::new(py, agents)?,
        scenario,
        outputs,
        summary_json,
    })
}

/// The grid of `sets` (`PATH=V1,V2,...`, the command line's `--set`),
/// zipped or as a product.
fn grid_of(sets: &[String], zip: bool) -> agora::Result<Grid> {
    let axes = sets
        .iter()
        .map(|s| parse_axis(s))
        .collect::<agora::Result<Vec<_>>>()?;
    if zip {
        Grid::zip(&axes)
    } else {
        Grid::cartesian(&axes)
    }
}

/// The number of points of the grid of `sets`; see `agora.sweep`.
#[pyfunction]
#[pyo3(signature = (sets, zip=false))]
fn grid_points(sets: Vec<String>, zip: bool) -> PyResult<usize> {
    Ok(grid_of(&sets, zip).map_err(to_py)?.points.len())
}

/// Sweeps scenario text over the grid of `sets`, or over shard `(i, n)` of
/// it, as `agora sweep --shard i/n` does; returns the bytes of
/// `sweep.csv` and of `shard.json`. Ctrl-C stops it after the points
/// under way with `KeyboardInterrupt`.
#[pyfunction]
#[pyo3(signature = (text, origin, sets, zip=false, shard=None, seed=None, steps=None, runs=None, threads=None))]
#[allow(clippy::too_many_arguments)]
fn sweep<'py>(
    py: Python<'py>,
    text: &str,
    origin: &str,
    sets: Vec<String>,
    zip: bool,
    shard: Option<(usize, usize)>,
    seed: Option<u64>,
    steps: Option<u64>,
    runs: Option<u64>,
    threads: Option<usize>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let scenario =
        scenario_from(text, origin, seed, steps, runs, &PolicyRegistry::new()).map_err(to_py)?;
    let whole = grid_of(&sets, zip).map_err(to_py)?;
    let (i, n) = shard.unwrap_or((1, 1));
    let grid = whole.clone().shard(i, n).map_err(to_py)?;
    let info = ShardInfo::sweep(&scenario, &whole, &grid, (i, n), true, false).map_err(to_py)?;
    // Every point is validated before anything runs.
    agora::experiment::sweep::scenarios(&scenario, &grid).map_err(to_py)?;
    let (csv, json) = interruptible(py, threads, None, move |stop| {
        let stopped = || agora::Error::usage("interrupted");
        let table = sweep_keeping(&scenario, &grid, &|| {}, &|_, _, _| {
            if stop.load(Ordering::Relaxed) {
                Err(stopped())
            } else {
                Ok(())
            }
        });
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        Ok(Some((sweep_csv(&table?)?, info.to_json()?)))
    })?;
    Ok((PyBytes::new(py, &csv), PyBytes::new(py, &json)))
}

/// Merges the folders of a sweep's shards (each holding `sweep.csv` and
/// `shard.json`), as `agora merge` does; returns the whole sweep's
/// `sweep.csv` and `shard.json` bytes.
#[pyfunction]
fn merge_sweeps<'py>(
    py: Python<'py>,
    dirs: Vec<PathBuf>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let merged = py
        .detach(|| agora::output::shards::merge_sweeps(&dirs))
        .map_err(to_py)?;
    if merged.info.keep_runs {
        return Err(ScenarioError::new_err(
            "merge_sweeps joins sweep.csv only; merge --keep-runs shards with `agora merge`",
        ));
    }
    let json = merged.info.to_json().map_err(to_py)?;
    Ok((PyBytes::new(py, &merged.csv), PyBytes::new(py, &json)))
}

/// Searches parameter ranges of scenario text for the best mean of a
/// summary metric, as `agora optimize` does; returns the bytes of
/// `optimize.csv` and `optimize.json` and the text of `best.toml`.
/// `progress`, when given, is called as `progress(done, budget)` with the
/// evaluations done every 50 ms and at the end. Ctrl-C raises
/// `KeyboardInterrupt` once the evaluation under way ends.
#[pyfunction]
#[pyo3(signature = (text, origin, params, objective, budget, maximize=false, method="nelder-mead", seed=None, steps=None, runs=None, threads=None, progress=None))]
#[allow(clippy::too_many_arguments)]
fn optimize<'py>(
    py: Python<'py>,
    text: &str,
    origin: &str,
    params: Vec<String>,
    objective: String,
    budget: usize,
    maximize: bool,
    method: &str,
    seed: Option<u64>,
    steps: Option<u64>,
    runs: Option<u64>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, String)> {
    use agora::experiment::optimize::{Method, ParamRange};
    let scenario =
        scenario_from(text, origin, seed, steps, runs, &PolicyRegistry::new()).map_err(to_py)?;
    let ranges = params
        .iter()
        .map(|s| s.parse::<ParamRange>())
        .collect::<agora::Result<Vec<_>>>()
        .map_err(to_py)?;
    let method: Method = method.parse().map_err(to_py)?;
    let done = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&done);
    let report = |py: Python<'_>| -> PyResult<()> {
        if let Some(f) = &progress {
            f.call1(py, (done.load(Ordering::Relaxed), budget))?;
        }
        Ok(())
    };
    let tick: Tick<'_> = match progress {
        Some(_) => Some(&report),
        None => None,
    };
    let (csv, json, best) = interruptible(py, threads, tick, move |stop| {
        let found = agora::experiment::optimize::optimize(
            &scenario,
            &ranges,
            &objective,
            maximize,
            method,
            budget,
            &|n| counter.store(n as u64, Ordering::Relaxed),
        )?;
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let best = found.best_scenario(&scenario)?.to_toml_keeping_layout()?;
        Ok(Some((found.to_csv()?, found.to_json()?, best)))
    })?;
    if progress.is_some() {
        report(py)?;
    }
    Ok((PyBytes::new(py, &csv), PyBytes::new(py, &json), best))
}

/// The engine module.
#[pymodule]
fn _agora(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ScenarioError", m.py().get_type::<ScenarioError>())?;
    m.add("__version__", agora::output::VERSION)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(examples, m)?)?;
    m.add_function(wrap_pyfunction!(example_toml, m)?)?;
    m.add_function(wrap_pyfunction!(json_to_toml, m)?)?;
    m.add_function(wrap_pyfunction!(grid_points, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(merge_sweeps, m)?)?;
    m.add_function(wrap_pyfunction!(optimize, m)?)?;
    m.add_function(wrap_pyfunction!(builtin_policies, m)?)?;
    m.add_class::<Table>()?;
    m.add_class::<RunResult>()?;
    m.add_class::<sim::Simulation>()?;
    Ok(())
}
