//! Experiments across many runs: Monte Carlo ensembles and their summaries.
//!
//! Run `r` of a scenario draws every random stream from (seed, r): runs are
//! independent of each other, of the order they run in and of the number
//! of threads, so an ensemble is byte-identical at one thread and at many.
//! Runs execute in parallel on rayon's pool.

pub mod optimize;
pub mod sweep;

use crate::engine::{RunOutput, RunSummary, Simulation};
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use rayon::prelude::*;
use serde_json::{Map, Value};

/// Runs `scenario.simulation.runs` runs of `scenario` in parallel and
/// returns their outputs in run order. `done` is called (from any thread)
/// after each run, for progress reporting.
pub fn monte_carlo(scenario: &Scenario, done: &(dyn Fn(u64) + Sync)) -> Result<Vec<RunOutput>> {
    monte_carlo_runs(scenario, 0..scenario.simulation.runs, done)
}

/// Runs the runs `range` of `scenario` (run `r` exactly as in the whole
/// ensemble: a shard of a Monte Carlo, `agora run --shard i/n`) in
/// parallel and returns their outputs in run order.
pub fn monte_carlo_runs(
    scenario: &Scenario,
    range: std::ops::Range<u64>,
    done: &(dyn Fn(u64) + Sync),
) -> Result<Vec<RunOutput>> {
    let runs = range.end.saturating_sub(range.start);
    // The outputs of every run are held together: a count beyond what
    // memory holds is an error before any run, not an abort after many.
    let fits = usize::try_from(runs)
        .ok()
        .is_some_and(|n| Vec::<RunOutput>::new().try_reserve_exact(n).is_ok());
    if !fits {
        return Err(Error::scenario(
            &scenario.origin,
            "simulation.runs",
            format!("the outputs of {runs} runs need more memory than this machine can allocate"),
        ));
    }
    range
        .into_par_iter()
        .map(|run| {
            let out = Simulation::new(scenario, run)?.run()?;
            done(run);
            Ok(out)
        })
        .collect()
}

/// Flattens a run's metrics into `(path, value)` pairs in document order,
/// with paths as in `summary.json` (`assets.TOKEN.volatility`,
/// `groups.noise.gini`, `ledger.rejected_actions`). A metric without a value
/// in this run (JSON null, e.g. `recovery_steps` when the price never
/// recovered) is NaN; strings are left out.
pub fn metrics(summary: &RunSummary) -> Vec<(String, f64)> {
    let value = serde_json::to_value(summary).unwrap_or(Value::Null);
    let mut out = Vec::new();
    flatten("", &value, &mut out);
    out
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, f64)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&path, v, out);
            }
        }
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                out.push((prefix.to_string(), x));
            }
        }
        Value::Null => out.push((prefix.to_string(), f64::NAN)),
        _ => {}
    }
}

/// Summary statistics of one metric across the runs where it has a value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Distribution {
    /// Runs in which the metric has a value (e.g. the runs whose price
    /// recovered, for `recovery_steps`); the statistics are over these.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Population standard deviation.
    pub std: f64,
    /// 5th percentile (linear interpolation between order statistics).
    pub p5: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
}

impl Distribution {
    /// The distribution of the values that are not NaN (all NaN, written as
    /// null, when there are none).
    pub fn of(values: &[f64]) -> Self {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return Distribution {
                count: 0,
                mean: f64::NAN,
                std: f64::NAN,
                p5: f64::NAN,
                p50: f64::NAN,
                p95: f64::NAN,
            };
        }
        Distribution {
            count: sorted.len() as u64,
            mean: crate::metrics::mean(&sorted),
            std: crate::metrics::std_dev(&sorted),
            p5: quantile(&sorted, 0.05),
            p50: quantile(&sorted, 0.5),
            p95: quantile(&sorted, 0.95),
        }
    }
}

/// The `q` quantile of sorted values: linear interpolation between the
/// closest ranks (the default of numpy and R's type 7).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let h = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// The metrics of an ensemble: each metric's mean across runs, in the
/// single-run layout, and its distribution, under the same path.
#[derive(Debug, Clone, PartialEq)]
pub struct Ensemble {
    /// `(path, mean)` in document order.
    pub means: Vec<(String, f64)>,
    /// `(path, distribution)` in document order.
    pub distributions: Vec<(String, Distribution)>,
}

/// Aggregates the metrics of `outputs` (at least one run).
pub fn aggregate(outputs: &[RunOutput]) -> Result<Ensemble> {
    aggregate_metrics(outputs.iter().map(|o| metrics(&o.summary)))
}

/// Aggregates runs' metrics given as their `summary.json` values (as
/// `serde_json::to_value` of each [`RunSummary`] gives them: a merge of
/// Monte Carlo shards reads them back from the shards' files).
pub fn aggregate_values(summaries: &[Value]) -> Result<Ensemble> {
    aggregate_metrics(summaries.iter().map(|v| {
        let mut out = Vec::new();
        flatten("", v, &mut out);
        out
    }))
}

fn aggregate_metrics(runs: impl Iterator<Item = Vec<(String, f64)>>) -> Result<Ensemble> {
    // Paths in first-seen order: a metric that only some runs have (a
    // shock the run did not reach) still gets its column.
    let mut paths: Vec<String> = Vec::new();
    let mut index = std::collections::HashMap::new();
    let per_run: Vec<std::collections::HashMap<String, f64>> = runs
        .map(|m| {
            for (p, _) in &m {
                if !index.contains_key(p) {
                    index.insert(p.clone(), paths.len());
                    paths.push(p.clone());
                }
            }
            m.into_iter().collect()
        })
        .collect();
    if per_run.is_empty() {
        return Err(Error::usage("an ensemble needs at least one run"));
    }
    let mut means = Vec::with_capacity(paths.len());
    let mut distributions = Vec::with_capacity(paths.len());
    for path in &paths {
        let values: Vec<f64> = per_run
            .iter()
            .map(|m| m.get(path).copied().unwrap_or(f64::NAN))
            .collect();
        let d = Distribution::of(&values);
        means.push((path.clone(), d.mean));
        distributions.push((path.clone(), d));
    }
    Ok(Ensemble {
        means,
        distributions,
    })
}

/// Warnings for varied parameters (dotted paths) that the scenario itself
/// changes during a run, by a `schedule` entry or a `parameter` event of
/// the same curve parameter: a value given to such a parameter holds only
/// until then, so varying it shows less than it seems to. One line per
/// parameter, naming what changes it.
pub fn override_warnings<'a>(
    scenario: &Scenario,
    paths: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    paths
        .into_iter()
        .filter_map(|path| {
            let overrides = scenario.overrides(path);
            (!overrides.is_empty()).then(|| {
                format!(
                    "{path} is varied, but {}: the varied value holds only until then",
                    overrides.join(", and ")
                )
            })
        })
        .collect()
}

/// Rebuilds a nested JSON object from dotted paths.
pub fn nest<T: serde::Serialize>(pairs: &[(String, T)]) -> Value {
    let mut root = Map::new();
    for (path, value) in pairs {
        let mut here = &mut root;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            if parts.peek().is_none() {
                here.insert(
                    part.to_string(),
                    serde_json::to_value(value).unwrap_or(Value::Null),
                );
            } else {
                let entry = here
                    .entry(part.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                here = match entry {
                    Value::Object(m) => m,
                    _ => unreachable!("made an object just above"),
                };
            }
        }
    }
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.05), 1.2);
        assert!((quantile(&v, 0.95) - 4.8).abs() < 1e-12);
        assert_eq!(quantile(&[7.0], 0.95), 7.0);
    }

    #[test]
    fn a_metric_missing_from_some_runs_is_summarised_over_the_others() {
        let d = Distribution::of(&[4.0, f64::NAN, 2.0]);
        assert_eq!((d.count, d.mean, d.p50), (2, 3.0, 3.0));
        let none = Distribution::of(&[f64::NAN]);
        assert_eq!(none.count, 0);
        assert!(none.mean.is_nan());
        assert_eq!(serde_json::to_value(none).unwrap()["mean"], Value::Null);
    }

    #[test]
    fn nest_rebuilds_the_layout() {
        let v = nest(&[
            ("a.b".to_string(), 1.0),
            ("a.c".to_string(), 2.0),
            ("d".to_string(), 3.0),
        ]);
        assert_eq!(v, serde_json::json!({"a": {"b": 1.0, "c": 2.0}, "d": 3.0}));
    }
}
