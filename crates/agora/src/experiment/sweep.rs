//! Parameter sweeps: a grid of parameter values, each point run as a Monte
//! Carlo ensemble, one row per point: each metric's mean across the runs,
//! then its spread (standard deviation and percentiles).
//!
//! A grid is the Cartesian product of value lists (the first list varies
//! slowest) or, zipped, their element-wise pairing. A value is a number, a
//! string (a curve's name, an allocation rule) or an inline TOML table,
//! at any parameter path (see [`Scenario::with_value`]). `shard(i, n)`
//! keeps the i-th of n near-equal contiguous parts, so that shards run on
//! different machines concatenate, in shard order, to the single-machine
//! rows.

use super::{aggregate, monte_carlo, Ensemble};
use crate::engine::RunOutput;
use crate::error::{Argument, Error, Result};
use crate::scenario::{ParamValue, Scenario};
use rayon::prelude::*;

/// The statistics of a metric's spread across runs that a sweep adds after
/// the means, each in a column `<metric path>.<name>`: the population
/// standard deviation and the 5th, 50th and 95th percentiles, as in
/// `summary.json`'s `distribution` (see [`super::Distribution`]).
pub const SPREAD: [&str; 4] = ["std", "p5", "p50", "p95"];

/// One varied parameter: its path and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Dotted parameter path, e.g. `assets.TOKEN.pricing.m` or
    /// `assets.TOKEN.schedule.0.value`.
    pub path: String,
    /// Values, in the order given.
    pub values: Vec<ParamValue>,
}

/// The points of a sweep: for each point, one value per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The axes' paths, in column order.
    pub paths: Vec<String>,
    /// The points, in grid order (each as long as `paths`).
    pub points: Vec<Vec<ParamValue>>,
    /// Index of the first point in the whole grid (non-zero for a shard).
    pub offset: usize,
}

impl Grid {
    /// The Cartesian product of the axes' values; the first axis varies
    /// slowest.
    pub fn cartesian(axes: &[Axis]) -> Result<Grid> {
        check_axes(axes)?;
        // The grid is held whole: its size is checked, and its memory
        // reserved fallibly, before a point is made.
        let count = axes
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.values.len()));
        let mut points: Vec<Vec<ParamValue>> = Vec::new();
        if count.is_none_or(|n| points.try_reserve_exact(n).is_err()) {
            let sizes: Vec<String> = axes.iter().map(|a| a.values.len().to_string()).collect();
            return Err(Error::usage(format!(
                "the grid of {} points needs more memory than this machine can allocate",
                sizes.join(" × ")
            )));
        }
        // Point k's digits in the mixed radix of the axes' lengths, the
        // first axis the most significant (varying slowest).
        for k in 0..count.unwrap_or(0) {
            let mut point = Vec::with_capacity(axes.len());
            let mut rest = k;
            for axis in axes.iter().rev() {
                let n = axis.values.len();
                point.push(axis.values[rest % n].clone());
                rest /= n;
            }
            point.reverse();
            points.push(point);
        }
        Ok(Grid {
            paths: axes.iter().map(|a| a.path.clone()).collect(),
            points,
            offset: 0,
        })
    }

    /// The axes paired element by element: all must have the same length.
    pub fn zip(axes: &[Axis]) -> Result<Grid> {
        check_axes(axes)?;
        let n = axes[0].values.len();
        if let Some(a) = axes.iter().find(|a| a.values.len() != n) {
            return Err(Error::argument(
                Argument::Zip,
                format!(
                    "needs lists of equal length: {} has {} values, {} has {n}",
                    a.path,
                    a.values.len(),
                    axes[0].path
                ),
            ));
        }
        Ok(Grid {
            paths: axes.iter().map(|a| a.path.clone()).collect(),
            points: (0..n)
                .map(|i| axes.iter().map(|a| a.values[i].clone()).collect())
                .collect(),
            offset: 0,
        })
    }

    /// The `i`-th (from 1) of `n` near-equal contiguous parts of the grid.
    pub fn shard(self, i: usize, n: usize) -> Result<Grid> {
        let Some(part) =
            crate::output::shards::shard_range(i as u64, n as u64, self.points.len() as u64)
        else {
            return Err(Error::argument(
                Argument::Shard,
                format!("takes i/n with 1 <= i <= n, found {i}/{n}"),
            ));
        };
        // Within the points, so within a usize.
        let (start, end) = (part.start as usize, part.end as usize);
        Ok(Grid {
            paths: self.paths,
            points: self.points[start..end].to_vec(),
            offset: self.offset + start,
        })
    }

    /// Warnings for the varied parameters that `base` itself changes
    /// during a run (see [`super::override_warnings`]).
    pub fn warnings(&self, base: &Scenario) -> Vec<String> {
        super::override_warnings(base, self.paths.iter().map(String::as_str))
    }
}

fn check_axes(axes: &[Axis]) -> Result<()> {
    if axes.is_empty() {
        return Err(Error::usage(
            "a sweep needs at least one axis, PATH=v1,v2,...",
        ));
    }
    for (i, a) in axes.iter().enumerate() {
        if a.values.is_empty() {
            return Err(Error::argument(
                Argument::Axis,
                format!("{}: no values", a.path),
            ));
        }
        if axes[..i].iter().any(|b| b.path == a.path) {
            return Err(Error::argument(
                Argument::Axis,
                format!("{}: the path is set twice", a.path),
            ));
        }
    }
    Ok(())
}

/// Parses `PATH=v1,v2,...`: each value a number, a string (`linear`), or
/// an inline TOML value; or `PATH=[v1, v2, ...]`, a TOML array, for values
/// that hold commas themselves (inline tables).
pub fn parse_axis(text: &str) -> Result<Axis> {
    let (path, values) = text.split_once('=').ok_or_else(|| {
        Error::argument(Argument::Axis, format!("{text:?}: expected PATH=v1,v2,..."))
    })?;
    let path = path.trim();
    let bad = |m: String| Error::argument(Argument::Axis, format!("{path}: {m}"));
    let values = values.trim();
    let values = if values.starts_with('[') {
        match crate::scenario::toml_value(values).map_err(bad)? {
            toml::Value::Array(items) => items.into_iter().map(ParamValue::from).collect(),
            _ => return Err(bad(format!("{values:?} is not an array"))),
        }
    } else {
        values
            .split(',')
            .map(|v| ParamValue::parse(v).map_err(bad))
            .collect::<Result<Vec<_>>>()?
    };
    Ok(Axis {
        path: path.to_string(),
        values,
    })
}

/// The scenario of each point, validated: an invalid point is an error
/// naming it before anything runs.
pub fn scenarios(base: &Scenario, grid: &Grid) -> Result<Vec<Scenario>> {
    grid.points
        .iter()
        .enumerate()
        .map(|(k, point)| {
            let mut s = base.clone();
            for (path, value) in grid.paths.iter().zip(point) {
                s = s.with_value(path, value).map_err(|e| {
                    Error::usage(format!(
                        "grid point {} ({path} = {value}): {e}",
                        grid.offset + k
                    ))
                })?;
            }
            Ok(s)
        })
        .collect()
}

/// The result of a sweep: the header and one row per point.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepTable {
    /// Column names: the varied paths; then each metric's mean across
    /// runs, named by its summary path (`assets.TOKEN.volatility`); then
    /// each metric's spread, `<path>.std`, `<path>.p5`, `<path>.p50`,
    /// `<path>.p95` (see [`SPREAD`]).
    pub columns: Vec<String>,
    /// Each point's values of the varied parameters (the first columns).
    pub points: Vec<Vec<ParamValue>>,
    /// Each point's metric columns, in column order after the parameters:
    /// NaN where a metric has no value (in no run of the point, or not at
    /// all: a categorical sweep may change which metrics exist).
    pub metrics: Vec<Vec<f64>>,
}

impl SweepTable {
    /// Returns the number in column `col` of row `row`, if it holds one.
    pub fn number(&self, row: usize, col: usize) -> Option<f64> {
        let params = self.points.get(row)?.len();
        if col < params {
            self.points[row][col].as_number()
        } else {
            self.metrics.get(row)?.get(col - params).copied()
        }
    }
}

/// Runs every point of `grid` as an ensemble of `base.simulation.runs`
/// runs, all (point, run) pairs in parallel; `done` is called after each run.
pub fn sweep(base: &Scenario, grid: &Grid, done: &(dyn Fn() + Sync)) -> Result<SweepTable> {
    sweep_keeping(base, grid, done, &|_, _, _| Ok(()))
}

/// What [`sweep_keeping`] hands over for each point: its index in the
/// whole grid, its scenario and its runs' outputs, per-step records
/// included.
pub type KeepPoint<'a> = dyn Fn(usize, &Scenario, &[RunOutput]) -> Result<()> + Sync + 'a;

/// As [`sweep`], calling `keep` (from any thread, in any order) with each
/// point's runs as soon as they are done, before their per-step records
/// are dropped: to write every run's records without holding them all.
/// An error from `keep` ends the sweep with that error.
pub fn sweep_keeping(
    base: &Scenario,
    grid: &Grid,
    done: &(dyn Fn() + Sync),
    keep: &KeepPoint<'_>,
) -> Result<SweepTable> {
    let points = scenarios(base, grid)?;
    // Only the metrics are kept: a sweep's memory does not grow with the
    // steps recorded.
    let ensembles: Vec<Ensemble> = points
        .par_iter()
        .enumerate()
        .map(|(k, s)| {
            let runs = monte_carlo(s, &|_| done())?;
            keep(grid.offset + k, s, &runs)?;
            aggregate(&runs)
        })
        .collect::<Result<_>>()?;
    // Metric paths in first-seen order over the points, so that a metric
    // only some points have (another curve, another market) has a column.
    let mut paths: Vec<&str> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for e in &ensembles {
        for (p, _) in &e.distributions {
            if !index.contains_key(p.as_str()) {
                index.insert(p.as_str(), paths.len());
                paths.push(p);
            }
        }
    }
    let mut columns = grid.paths.clone();
    columns.extend(paths.iter().map(|p| p.to_string()));
    for p in &paths {
        columns.extend(SPREAD.iter().map(|s| format!("{p}.{s}")));
    }
    let metrics = ensembles
        .iter()
        .map(|e| {
            let mut stats = vec![None; paths.len()];
            for (p, d) in &e.distributions {
                stats[index[p.as_str()]] = Some(*d);
            }
            let mut row: Vec<f64> = stats
                .iter()
                .map(|d| d.map_or(f64::NAN, |d| d.mean))
                .collect();
            for d in &stats {
                row.extend(match d {
                    Some(d) => [d.std, d.p5, d.p50, d.p95],
                    None => [f64::NAN; 4],
                });
            }
            row
        })
        .collect();
    Ok(SweepTable {
        columns,
        points: grid.points.clone(),
        metrics,
    })
}

/// Renders a sweep table as CSV (numbers as the shortest text that reads
/// back as the same f64; strings as they are, inline tables as TOML).
pub fn sweep_csv(table: &SweepTable) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::writing("sweep.csv", e);
    w.write_record(&table.columns).map_err(err)?;
    let mut buf = ryu::Buffer::new();
    for (point, metrics) in table.points.iter().zip(&table.metrics) {
        let params = point.iter().map(ParamValue::to_string);
        // A metric with no value in any run (NaN) is an empty cell.
        let numbers = metrics.iter().map(|x| {
            if x.is_finite() {
                buf.format(*x).to_string()
            } else {
                String::new()
            }
        });
        let row: Vec<String> = params.chain(numbers).collect();
        w.write_record(&row).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::writing("sweep.csv", e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(path: &str, values: &[f64]) -> Axis {
        Axis {
            path: path.into(),
            values: values.iter().map(|v| ParamValue::Number(*v)).collect(),
        }
    }

    fn nums(points: &[Vec<ParamValue>]) -> Vec<Vec<f64>> {
        points
            .iter()
            .map(|p| p.iter().map(|v| v.as_number().unwrap()).collect())
            .collect()
    }

    #[test]
    fn the_first_axis_varies_slowest() {
        let g = Grid::cartesian(&[axis("a", &[1.0, 2.0]), axis("b", &[10.0, 20.0, 30.0])]).unwrap();
        assert_eq!(
            nums(&g.points),
            vec![
                vec![1.0, 10.0],
                vec![1.0, 20.0],
                vec![1.0, 30.0],
                vec![2.0, 10.0],
                vec![2.0, 20.0],
                vec![2.0, 30.0]
            ]
        );
        let z = Grid::zip(&[axis("a", &[1.0, 2.0]), axis("b", &[10.0, 20.0])]).unwrap();
        assert_eq!(nums(&z.points), vec![vec![1.0, 10.0], vec![2.0, 20.0]]);
        assert!(Grid::zip(&[axis("a", &[1.0]), axis("b", &[1.0, 2.0])]).is_err());
    }

    #[test]
    fn shards_concatenate_to_the_whole_grid() {
        let g = Grid::cartesian(&[axis("a", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])]).unwrap();
        for n in 1..=9 {
            let mut joined = Vec::new();
            for i in 1..=n {
                let s = g.clone().shard(i, n).unwrap();
                assert_eq!(s.offset, joined.len());
                joined.extend(s.points);
            }
            assert_eq!(joined, g.points, "n = {n}");
        }
        assert!(g.clone().shard(0, 3).is_err());
        assert!(g.shard(4, 3).is_err());
    }

    #[test]
    fn axes_parse_with_clear_errors_that_name_no_flag() {
        assert_eq!(parse_axis("a.b=1,2.5").unwrap(), axis("a.b", &[1.0, 2.5]));
        assert!(parse_axis("a.b").is_err());
        let e = parse_axis("a.b=1,inf").unwrap_err();
        assert!(e.to_string().contains("\"inf\""), "{e}");
        assert!(matches!(
            e.kind(),
            crate::ErrorKind::Argument {
                argument: Argument::Axis,
                ..
            }
        ));
        let e = Grid::zip(&[axis("a", &[1.0]), axis("b", &[1.0, 2.0])]).unwrap_err();
        let s = axis("a", &[1.0]);
        let e2 = Grid::cartesian(&[s]).unwrap().shard(2, 1).unwrap_err();
        for e in [e, e2] {
            assert!(!e.to_string().contains("--"), "{e}");
        }
    }

    #[test]
    fn categorical_values_parse_as_strings_and_toml_arrays_as_their_elements() {
        let a = parse_axis("assets.X.pricing.curve=linear, sigmoid").unwrap();
        assert_eq!(
            a.values,
            vec![
                ParamValue::Text("linear".into()),
                ParamValue::Text("sigmoid".into())
            ]
        );
        let a = parse_axis(
            r#"assets.X.pricing=[{ curve = "linear", m = 1.0 }, { curve = "power", n = 2.0 }]"#,
        )
        .unwrap();
        assert_eq!(a.values.len(), 2);
        assert!(a.values[1].to_string().contains("power"), "{}", a.values[1]);
        assert!(parse_axis("a=[1, ").is_err());
    }
}
