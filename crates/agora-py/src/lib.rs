//! `agora._agora`: the Rust engine behind the `agora` Python package.
//!
//! The Python layer (`python/agora/__init__.py`) turns what users pass —
//! a path, TOML text, a dict, an example — into scenario text and calls
//! these functions. Runs release the GIL; a run checks for Ctrl-C every
//! few steps and stops with `KeyboardInterrupt`. Results hand their tables
//! to Python through Arrow's C stream interface (`__arrow_c_stream__`), so
//! pyarrow, polars and pandas read them without a copy.

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use agora::engine::RunOutput;
use agora::{Scenario, Simulation};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator};
use arrow_schema::SchemaRef;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;
use rayon::prelude::*;

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

/// Reads scenario text (`origin` names it in errors) and applies the
/// overrides.
fn scenario_from(
    text: &str,
    origin: &str,
    seed: Option<u64>,
    steps: Option<u64>,
    runs: Option<u64>,
) -> agora::Result<Scenario> {
    let mut scenario = Scenario::from_toml_str(text, origin)?;
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

/// Checks scenario text; raises `ScenarioError` with the command line's
/// message when it cannot run. Returns the scenario's warnings.
#[pyfunction]
#[pyo3(signature = (text, origin, seed=None, steps=None, runs=None))]
fn validate(
    text: &str,
    origin: &str,
    seed: Option<u64>,
    steps: Option<u64>,
    runs: Option<u64>,
) -> PyResult<Vec<String>> {
    let scenario = scenario_from(text, origin, seed, steps, runs).map_err(to_py)?;
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

/// Runs every run of `scenario` on a pool of `threads` threads (rayon's
/// default when `None`) while the calling thread — Python's main thread,
/// the only one that sees signals — checks for Ctrl-C every 50 ms; on one,
/// every run stops at its next step and `KeyboardInterrupt` is raised. Run
/// r is built for run index r, as the command line's Monte Carlo does, so
/// the outputs are the same.
fn run_scenario(
    py: Python<'_>,
    scenario: &Scenario,
    threads: Option<usize>,
) -> PyResult<Vec<RunOutput>> {
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
        let scenario = scenario.clone();
        let stop = Arc::clone(&stop);
        pool.spawn(move || {
            let runs = scenario.simulation().runs;
            let result: agora::Result<Vec<Option<RunOutput>>> = (0..runs)
                .into_par_iter()
                .map(|r| {
                    let mut sim = Simulation::new(&scenario, r)?;
                    while !sim.done() {
                        if stop.load(Ordering::Relaxed) {
                            return Ok(None);
                        }
                        sim.advance()?;
                    }
                    sim.finish().map(Some)
                })
                .collect();
            let _ = tx.send(result);
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
                    if let Err(e) = py.check_signals() {
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
    let outs = result.map_err(to_py)?;
    outs.into_iter()
        .map(|o| o.ok_or_else(|| PyKeyboardInterrupt::new_err("the run was interrupted")))
        .collect()
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
#[pyo3(signature = (text, origin, seed=None, steps=None, runs=None, threads=None))]
fn run(
    py: Python<'_>,
    text: &str,
    origin: &str,
    seed: Option<u64>,
    steps: Option<u64>,
    runs: Option<u64>,
    threads: Option<usize>,
) -> PyResult<RunResult> {
    let scenario = scenario_from(text, origin, seed, steps, runs).map_err(to_py)?;
    let outputs = run_scenario(py, &scenario, threads)?;
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
    m.add_class::<Table>()?;
    m.add_class::<RunResult>()?;
    Ok(())
}
