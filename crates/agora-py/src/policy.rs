//! User policies written in Python: a class registered by name
//! (`agora.register_policy`) whose `decide(obs, me)` the engine calls for
//! every agent of a group naming it, with the GIL taken for the call.
//!
//! A group's `policy` table gives the class's constructor arguments (the
//! names its `__init__` takes; any other field is rejected as unknown, as a
//! built-in policy's would be). One object serves the whole group. An
//! exception in `decide` makes the agent hold, every later call hold, and
//! is raised by the call that ran the step.

use std::fmt;
use std::sync::{Arc, Mutex};

use agora::agents::{Action, AgentView, Observation, Policy};
use agora::rng::AgentRng;
use agora::scenario::PolicyRegistry;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rand::Rng;

use crate::sim::action_of;

/// The first exception a Python policy raised in a run, if any.
pub type Failure = Arc<Mutex<Option<PyErr>>>;

/// The Python policies a call is given: `(kind, class, parameter names)`.
pub type Given = Vec<(String, Py<PyAny>, Vec<String>)>;

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

impl PyPolicy {
    fn call(
        &self,
        py: Python<'_>,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        random: f64,
    ) -> PyResult<Action> {
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
        let m = PyDict::new(py);
        m.set_item("id", me.id)?;
        m.set_item("member", me.member)?;
        m.set_item("balance", me.balance)?;
        m.set_item("holdings", me.holdings.to_vec())?;
        m.set_item("random", random)?;
        let action = self.object.call_method1(py, "decide", (o, m))?;
        let what = format!("policy {:?}: agent {}'s action", self.kind, me.id);
        action_of(&self.assets, action.bind(py), &what)
    }
}

impl Policy for PyPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        // A uniform draw in [0, 1) from the agent's own stream: a policy
        // that takes its randomness from it is reproducible.
        let random = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        Python::attach(|py| {
            let mut failure = match self.failure.lock() {
                Ok(f) => f,
                Err(_) => return Action::Hold,
            };
            if failure.is_some() {
                return Action::Hold;
            }
            match self.call(py, obs, me, random) {
                Ok(action) => action,
                Err(e) => {
                    *failure = Some(e);
                    Action::Hold
                }
            }
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
    for (kind, class, params) in given.unwrap_or_default() {
        let params: Vec<&'static str> = params.iter().map(|p| interned(p)).collect();
        let failure = Arc::clone(&out.failure);
        let name = kind.clone();
        out.registry
            .register(&kind, move |f, assets| {
                let mut fields = Vec::new();
                for &p in &params {
                    if let Some(value) = f.raw(p) {
                        let json = serde_json::to_string(value)
                            .map_err(|e| f.error(p, format!("cannot be read: {e}")))?;
                        fields.push((p, json));
                    }
                }
                let object = Python::attach(|py| -> PyResult<Py<PyAny>> {
                    let loads = py.import("json")?.getattr("loads")?;
                    let kwargs = PyDict::new(py);
                    for (p, json) in &fields {
                        kwargs.set_item(*p, loads.call1((json.as_str(),))?)?;
                    }
                    class.call(py, (), Some(&kwargs))
                })
                .map_err(|e| {
                    f.error(
                        "kind",
                        format!("the Python policy {name:?} could not be made: {e}"),
                    )
                })?;
                Ok(Arc::new(PyPolicy {
                    kind: name.clone(),
                    object,
                    assets: assets.to_vec().into(),
                    failure: Arc::clone(&failure),
                }) as Arc<dyn Policy>)
            })
            .map_err(crate::to_py)?;
    }
    Ok(out)
}
