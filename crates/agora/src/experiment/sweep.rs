//! Parameter sweeps: a grid of parameter values, each point run as a Monte
//! Carlo ensemble, one row of metric means per point.
//!
//! A grid is the Cartesian product of value lists (the first list varies
//! slowest) or, zipped, their element-wise pairing. `shard(i, n)` keeps the
//! i-th of n near-equal contiguous parts, so that shards run on different
//! machines concatenate, in shard order, to the single-machine rows.

use super::{aggregate, monte_carlo};
use crate::engine::RunOutput;
use crate::error::{Error, Result};
use crate::scenario::Scenario;
use rayon::prelude::*;

/// One varied parameter: its path and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Dotted parameter path, e.g. `assets.TOKEN.pricing.m`.
    pub path: String,
    /// Values, in the order given.
    pub values: Vec<f64>,
}

/// The points of a sweep: for each point, one value per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// The axes' paths, in column order.
    pub paths: Vec<String>,
    /// The points, in grid order (each as long as `paths`).
    pub points: Vec<Vec<f64>>,
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
        let mut points: Vec<Vec<f64>> = Vec::new();
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
            let mut point = vec![0.0; axes.len()];
            let mut rest = k;
            for (slot, axis) in point.iter_mut().zip(axes).rev() {
                let n = axis.values.len();
                *slot = axis.values[rest % n];
                rest /= n;
            }
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
            return Err(Error::usage(format!(
                "--zip pairs lists of equal length: {} has {} values, {} has {n}",
                a.path,
                a.values.len(),
                axes[0].path
            )));
        }
        Ok(Grid {
            paths: axes.iter().map(|a| a.path.clone()).collect(),
            points: (0..n)
                .map(|i| axes.iter().map(|a| a.values[i]).collect())
                .collect(),
            offset: 0,
        })
    }

    /// The `i`-th (from 1) of `n` near-equal contiguous parts of the grid.
    pub fn shard(self, i: usize, n: usize) -> Result<Grid> {
        if n == 0 || i == 0 || i > n {
            return Err(Error::usage(format!(
                "--shard takes i/n with 1 <= i <= n, found {i}/{n}"
            )));
        }
        let len = self.points.len();
        let start = (i - 1) * len / n;
        let end = i * len / n;
        Ok(Grid {
            paths: self.paths,
            points: self.points[start..end].to_vec(),
            offset: self.offset + start,
        })
    }
}

fn check_axes(axes: &[Axis]) -> Result<()> {
    if axes.is_empty() {
        return Err(Error::usage(
            "a sweep needs at least one --set PATH=v1,v2,...",
        ));
    }
    for (i, a) in axes.iter().enumerate() {
        if a.values.is_empty() {
            return Err(Error::usage(format!("--set {}: no values", a.path)));
        }
        if axes[..i].iter().any(|b| b.path == a.path) {
            return Err(Error::usage(format!(
                "--set {}: the path is set twice",
                a.path
            )));
        }
    }
    Ok(())
}

/// Parses `PATH=v1,v2,...`.
pub fn parse_axis(text: &str) -> Result<Axis> {
    let (path, values) = text
        .split_once('=')
        .ok_or_else(|| Error::usage(format!("--set {text:?}: expected PATH=v1,v2,...")))?;
    let values = values
        .split(',')
        .map(|v| {
            v.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| Error::usage(format!("--set {path}: {v:?} is not a finite number")))
        })
        .collect::<Result<Vec<f64>>>()?;
    Ok(Axis {
        path: path.trim().to_string(),
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
                s = s.with_param(path, *value).map_err(|e| {
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
    /// Column names: the varied paths, then the metrics' summary paths.
    pub columns: Vec<String>,
    /// One row per point: the point's values, then the metric means.
    pub rows: Vec<Vec<f64>>,
}

/// Runs every point of `grid` as an ensemble of `base.simulation.runs`
/// runs, all (point, run) pairs in parallel; `done` is called after each run.
pub fn sweep(base: &Scenario, grid: &Grid, done: &(dyn Fn() + Sync)) -> Result<SweepTable> {
    let points = scenarios(base, grid)?;
    let results: Vec<Vec<RunOutput>> = points
        .par_iter()
        .map(|s| {
            monte_carlo(s, &|_| done()).map(|runs| {
                // Only the metrics are kept: a sweep's memory does not grow
                // with the steps recorded.
                runs.into_iter()
                    .map(|mut r| {
                        r.records = Default::default();
                        r
                    })
                    .collect()
            })
        })
        .collect::<Result<_>>()?;
    let mut columns = grid.paths.clone();
    let mut rows = Vec::with_capacity(points.len());
    for (k, runs) in results.iter().enumerate() {
        let ensemble = aggregate(runs)?;
        if k == 0 {
            columns.extend(ensemble.means.iter().map(|(p, _)| p.clone()));
        }
        let mut row = grid.points[k].clone();
        row.extend(ensemble.means.iter().map(|(_, v)| *v));
        rows.push(row);
    }
    Ok(SweepTable { columns, rows })
}

/// Renders a sweep table as CSV (numbers as the shortest text that reads
/// back as the same f64).
pub fn sweep_csv(table: &SweepTable) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::usage(format!("writing sweep.csv: {e}"));
    w.write_record(&table.columns).map_err(err)?;
    let mut buf = ryu::Buffer::new();
    for row in &table.rows {
        // A metric with no value in any run (NaN) is an empty cell.
        w.write_record(row.iter().map(|x| {
            if x.is_finite() {
                buf.format(*x).to_string()
            } else {
                String::new()
            }
        }))
        .map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| Error::usage(format!("writing sweep.csv: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(path: &str, values: &[f64]) -> Axis {
        Axis {
            path: path.into(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn the_first_axis_varies_slowest() {
        let g = Grid::cartesian(&[axis("a", &[1.0, 2.0]), axis("b", &[10.0, 20.0, 30.0])]).unwrap();
        assert_eq!(
            g.points,
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
        assert_eq!(z.points, vec![vec![1.0, 10.0], vec![2.0, 20.0]]);
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
    fn axes_parse_with_clear_errors() {
        assert_eq!(parse_axis("a.b=1,2.5").unwrap(), axis("a.b", &[1.0, 2.5]));
        assert!(parse_axis("a.b").is_err());
        assert!(parse_axis("a.b=1,x")
            .unwrap_err()
            .to_string()
            .contains("\"x\""));
        assert!(parse_axis("a.b=inf").is_err());
    }
}
