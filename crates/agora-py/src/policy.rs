//! User policies written in Python: a class registered by name
//! (`agora.register_policy`) whose `decide(obs, me)` the engine calls for
//! every agent of a group naming it, with the GIL taken for the call.
//!
//! A group's `policy` table gives the class's constructor arguments (the
//! names its `__init__` takes; any other field is rejected as unknown, as a
//! built-in policy's would be). One object serves the whole group. An
//! exception in `decide` makes the agent hold, every later call hold, and
//! is raised by the call that ran the step.
//!
//! A class with a `learn(reward, obs)` method is a learner: each agent of
//! the group gets its own object, made at the start of the run, and is
//! told its reward (the change of its objective) and the next observation
//! after every step of the learning phase.

use std::fmt;
use std::sync::{Arc, Mutex};

use agora::agents::{Action, Actions, AdaptivePolicy, AgentView, Feedback, Observation, Policy};
use agora::rng::AgentRng;
use agora::scenario::PolicyRegistry;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use rand::Rng;

use crate::sim::action_of;

/// The first exception a Python policy raised in a run, if any.
pub type Failure = Arc<Mutex<Option<PyErr>>>;

/// The Python policies a call is given: `(kind, class, parameter names,
/// whether it learns)`.
pub type Given = Vec<(String, Py<PyAny>, Vec<String>, bool)>;

/// How many recorded prices `obs["assets"][j]["history"]` holds at most.
const HISTORY: usize = 20;

/// One group's Python policy object.
struct PyPolicy {
    kind: String,
    object: Py<PyAny>,
    assets: Arc<[String]>,
    failure: Failure,
}

impl fmt::Debug for PyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PyPolicy({})", self.kind)
    }
}

/// `obs` as Python sees it (see `agora.register_policy`).
fn obs_dict<'py>(py: Python<'py>, obs: &Observation<'_>) -> PyResult<Bound<'py, PyDict>> {
    let assets = PyList::empty(py);
    for a in obs.assets {
        let d = PyDict::new(py);
        d.set_item("name", a.name)?;
        d.set_item("price", a.price)?;
        d.set_item("supply", a.supply)?;
        d.set_item("best_bid", a.best_bid)?;
        d.set_item("best_ask", a.best_ask)?;
        d.set_item("last_trade", a.last_trade)?;
        let from = a.history.len().saturating_sub(HISTORY);
        d.set_item("history", a.history[from..].to_vec())?;
        assets.append(d)?;
    }
    let o = PyDict::new(py);
    o.set_item("step", obs.step)?;
    o.set_item("assets", assets)?;
    Ok(o)
}

/// `me` as Python sees it, with its draw `random`.
fn me_dict<'py>(py: Python<'py>, me: &AgentView<'_>, random: f64) -> PyResult<Bound<'py, PyDict>> {
    let m = PyDict::new(py);
    m.set_item("id", me.id)?;
    m.set_item("member", me.member)?;
    m.set_item("balance", me.balance)?;
    m.set_item("holdings", me.holdings.to_vec())?;
    m.set_item("random", random)?;
    Ok(m)
}

/// A uniform draw in [0, 1) from the agent's own stream: a policy that
/// takes its randomness from it is reproducible.
fn uniform(rng: &mut AgentRng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Calls `object.decide(obs, me)` and reads the action it returns.
fn decide_with(
    py: Python<'_>,
    kind: &str,
    assets: &[String],
    object: &Py<PyAny>,
    obs: &Observation<'_>,
    me: &AgentView<'_>,
    random: f64,
) -> PyResult<Action> {
    let args = (obs_dict(py, obs)?, me_dict(py, me, random)?);
    let action = object.call_method1(py, "decide", args)?;
    let what = format!("policy {kind:?}: agent {}'s action", me.id);
    action_of(assets, action.bind(py), &what)
}

/// Runs `f` with the GIL unless a policy already failed; its error becomes
/// the failure (the first one kept). The failure's lock is never held
/// while Python runs: Python code lets go of the GIL now and then, and a
/// thread holding the GIL may be waiting for the lock.
fn guarded<T>(failure: &Failure, f: impl FnOnce(Python<'_>) -> PyResult<T>) -> Option<T> {
    let failed = || failure.lock().map_or(true, |slot| slot.is_some());
    if failed() {
        return None;
    }
    Python::attach(|py| match f(py) {
        Ok(v) => Some(v),
        Err(e) => {
            let mut e = Some(e);
            if let Ok(mut slot) = failure.lock() {
                if slot.is_none() {
                    *slot = e.take();
                }
            }
            // A later error is dropped (with the GIL) after the lock is let go.
            drop(e);
            None
        }
    })
}

impl Policy for PyPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        let random = uniform(rng);
        guarded(&self.failure, |py| {
            decide_with(py, &self.kind, &self.assets, &self.object, obs, me, random)
        })
        .unwrap_or(Action::Hold)
    }
}

/// A learning group's Python class: one object per agent, made at the
/// start of the run, told `learn(reward, obs)` after every step.
struct PyLearner {
    kind: String,
    class: Py<PyAny>,
    kwargs: Py<PyDict>,
    assets: Arc<[String]>,
    failure: Failure,
}

impl fmt::Debug for PyLearner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PyLearner({})", self.kind)
    }
}

impl AdaptivePolicy for PyLearner {
    /// The agent's own object (`None` if making it failed: the run stops).
    type State = Option<Py<PyAny>>;

    fn init(&self, _me: &AgentView<'_>) -> Self::State {
        guarded(&self.failure, |py| {
            self.class.call(py, (), Some(self.kwargs.bind(py)))
        })
    }

    fn decide(
        &self,
        state: &mut Self::State,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
        out: &mut Actions,
    ) {
        let random = uniform(rng);
        let Some(object) = state else { return };
        if let Some(action) = guarded(&self.failure, |py| {
            decide_with(py, &self.kind, &self.assets, object, obs, me, random)
        }) {
            out.push(action);
        }
    }

    fn learn(&self, state: &mut Self::State, feedback: &Feedback<'_>) {
        let Some(object) = state else { return };
        guarded(&self.failure, |py| {
            object.call_method1(py, "learn", (feedback.reward, obs_dict(py, feedback.obs)?))
        });
    }

    fn uses_fills(&self) -> bool {
        false
    }

    /// The agent's object, pickled: a checkpoint (or a pickled
    /// `Simulation`) carries what each learner has learned. An object
    /// that cannot be pickled is the policy's failure (the caller raises
    /// it), and no states are saved.
    fn save_state(&self, state: &Self::State) -> Option<Vec<u8>> {
        let object = state.as_ref()?;
        guarded(&self.failure, |py| {
            let dumps = py.import("pickle")?.getattr("dumps")?;
            dumps.call1((object.bind(py),))?.extract::<Vec<u8>>()
        })
    }

    fn load_state(&self, bytes: &[u8]) -> Result<Self::State, String> {
        Python::attach(|py| -> PyResult<Py<PyAny>> {
            let loads = py.import("pickle")?.getattr("loads")?;
            Ok(loads.call1((PyBytes::new(py, bytes),))?.unbind())
        })
        .map(Some)
        .map_err(|e| {
            format!(
                "the Python learner {:?}: a saved object cannot be unpickled: {e}",
                self.kind
            )
        })
    }
}

/// The Python policies of a call: a registry holding them and the slot
/// their first exception goes to.
pub struct Policies {
    /// The registry to read scenarios with.
    pub registry: PolicyRegistry,
    /// The first exception raised by a policy.
    pub failure: Failure,
}

impl Policies {
    /// No Python policies.
    pub fn none() -> Self {
        Policies {
            registry: PolicyRegistry::new(),
            failure: Arc::new(Mutex::new(None)),
        }
    }

    /// Takes the first exception a policy raised, if any.
    pub fn take_failure(&self) -> Option<PyErr> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }
}

/// A field name for the scenario reader, which takes `'static` names: each
/// distinct name is leaked once (a registered class's parameters).
fn interned(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&n) = names.iter().find(|&&n| n == name) {
        return n;
    }
    let n: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(n);
    n
}

/// A registry of `(kind, class, parameter names)`: a group naming `kind`
/// gets `class(**fields)`.
pub fn policies(given: Option<crate::policy::Given>) -> PyResult<Policies> {
    let mut out = Policies::none();
    for (kind, class, params, learns) in given.unwrap_or_default() {
        let params: Vec<&'static str> = params.iter().map(|p| interned(p)).collect();
        let failure = Arc::clone(&out.failure);
        let name = kind.clone();
        let class = Arc::new(class);
        // The group's fields as the constructor's keyword arguments.
        let kwargs_of = {
            let params = params.clone();
            move |f: &mut agora::scenario::Fields<'_>| -> agora::Result<Py<PyDict>> {
                let mut fields = Vec::new();
                for &p in &params {
                    if let Some(value) = f.raw(p) {
                        let json = serde_json::to_string(value)
                            .map_err(|e| f.error(p, format!("cannot be read: {e}")))?;
                        fields.push((p, json));
                    }
                }
                Python::attach(|py| -> PyResult<Py<PyDict>> {
                    let loads = py.import("json")?.getattr("loads")?;
                    let kwargs = PyDict::new(py);
                    for (p, json) in &fields {
                        kwargs.set_item(*p, loads.call1((json.as_str(),))?)?;
                    }
                    Ok(kwargs.unbind())
                })
                .map_err(|e| f.error("kind", format!("cannot be read: {e}")))
            }
        };
        // The class is called once while the scenario is read, so that a
        // wrong argument is the scenario's error, naming the policy.
        let made = {
            let name = name.clone();
            let class = Arc::clone(&class);
            move |f: &agora::scenario::Fields<'_>, kwargs: &Py<PyDict>| {
                Python::attach(|py| class.call(py, (), Some(kwargs.bind(py)))).map_err(|e| {
                    f.error(
                        "kind",
                        format!("the Python policy {name:?} could not be made: {e}"),
                    )
                })
            }
        };
        if learns {
            out.registry
                .register_adaptive(&kind, move |f, assets| {
                    let kwargs = kwargs_of(f)?;
                    made(f, &kwargs)?;
                    Ok(PyLearner {
                        kind: name.clone(),
                        class: Python::attach(|py| class.clone_ref(py)),
                        kwargs,
                        assets: assets.to_vec().into(),
                        failure: Arc::clone(&failure),
                    })
                })
                .map_err(crate::to_py)?;
        } else {
            out.registry
                .register(&kind, move |f, assets| {
                    let kwargs = kwargs_of(f)?;
                    let object = made(f, &kwargs)?;
                    Ok(Arc::new(PyPolicy {
                        kind: name.clone(),
                        object,
                        assets: assets.to_vec().into(),
                        failure: Arc::clone(&failure),
                    }) as Arc<dyn Policy>)
                })
                .map_err(crate::to_py)?;
        }
    }
    Ok(out)
}
