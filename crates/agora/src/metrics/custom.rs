//! Summary metrics written by the user: the [`Metric`] trait.
//!
//! A metric watches a run step by step and gives one number at the end.
//! It is registered by name ([`PolicyRegistry::register_metric`]), declared
//! in a scenario file
//!
//! ```toml
//! [[metrics]]
//! kind = "time_above"   # the registered name
//! name = "above_2"      # optional; the kind by default
//! asset = "TOKEN"       # the metric's own fields, read by its factory
//! level = 2.0
//! ```
//!
//! and its value reaches `summary.json` as `metrics.<name>` (the mean
//! across Monte Carlo runs, with its distribution), sweeps as the column
//! `metrics.<name>`, the optimiser as the objective `metrics.<name>`, and
//! the report. See `examples/custom_metric.rs`.
//!
//! [`PolicyRegistry::register_metric`]: crate::scenario::PolicyRegistry::register_metric

use crate::engine::Simulation;
use crate::error::Result;
use crate::scenario::Fields;
use std::sync::Arc;

/// A summary metric computed as a run goes.
///
/// A fresh metric is made for every run (and on
/// [`Simulation::reset`]); the engine calls [`on_step`](Metric::on_step)
/// once the initial state (step 0) is recorded and after every step, then
/// [`value`](Metric::value) for the summary. It reads the simulation
/// through its public getters (`step`, `price`, `prices`, `ledger`, …) and
/// never changes it, so a metric cannot change a run's results.
pub trait Metric: Send + Sync {
    /// Called with the simulation after step `sim.step()` is recorded
    /// (step 0 included).
    fn on_step(&mut self, sim: &Simulation);

    /// The metric's value at the end of the run (or now, for a summary
    /// asked for during the run). NaN means "no value in this run" and is
    /// written as `null`, like a price that never recovered.
    fn value(&self) -> f64;

    /// The metric's own state so far (e.g. a running maximum), for
    /// [`Simulation::state`], in any encoding [`load_state`](Self::load_state)
    /// reads back. The default, `None`, is for a metric that keeps none: one
    /// that does must implement both, or a restored run's value will differ.
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }

    /// Puts back a state saved by [`save_state`](Self::save_state), or says
    /// why it cannot. The default accepts and ignores it.
    fn load_state(&mut self, _state: &[u8]) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// Builds a metric from its `[[metrics]]` table (`kind` and `name` already
/// read), given the scenario's asset names. It reads the metric's fields
/// with [`Fields`], so that its errors name the field, and must read every
/// field it accepts: unread fields are rejected as unknown. It is called
/// once when the scenario is read (to validate the table) and once per run.
pub type MetricFactory =
    Arc<dyn Fn(&mut Fields<'_>, &[String]) -> Result<Box<dyn Metric>> + Send + Sync>;
