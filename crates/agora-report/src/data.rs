//! Reading a results directory: the CSV tables and `summary.json`.
//!
//! Columns are found by name, never by position, so files with extra
//! columns (more assets, new metrics) read the same.

use crate::error::ReportError;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A CSV file read whole, as text, with the line of each row for errors.
#[derive(Debug)]
pub(crate) struct Csv {
    pub path: PathBuf,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    lines: Vec<u64>,
}

fn read(path: &Path) -> Result<Vec<u8>, ReportError> {
    std::fs::read(path).map_err(|e| ReportError::io(path, "reading", e))
}

impl Csv {
    /// Reads `path`; a missing header row or a ragged row is an error.
    pub fn read(path: &Path) -> Result<Csv, ReportError> {
        let bytes = read(path)?;
        let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| ReportError::invalid(path, format!("reading the header row: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if header.iter().all(String::is_empty) {
            return Err(ReportError::invalid(
                path,
                "the file is empty: expected a header row naming the columns",
            ));
        }
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| ReportError::invalid(path, e.to_string()))?;
            lines.push(record.position().map_or(0, |p| p.line()));
            rows.push(record.iter().map(|c| c.trim().to_string()).collect());
        }
        Ok(Csv {
            path: path.to_path_buf(),
            header,
            rows,
            lines,
        })
    }

    /// The same table with only the columns `keep`, in that order.
    pub fn select(&self, keep: &[usize]) -> Csv {
        Csv {
            path: self.path.clone(),
            header: keep.iter().map(|&c| self.header[c].clone()).collect(),
            rows: self
                .rows
                .iter()
                .map(|row| keep.iter().map(|&c| row[c].clone()).collect())
                .collect(),
            lines: self.lines.clone(),
        }
    }

    /// Returns the index of column `name`, if present.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Returns the index of column `name`, or an error naming the file and
    /// the columns expected.
    pub fn column(&self, name: &str, expected: &str) -> Result<usize, ReportError> {
        self.find(name).ok_or_else(|| {
            ReportError::invalid(
                &self.path,
                format!(
                    "no column `{name}` in the header `{}` (expected {expected})",
                    self.header.join(",")
                ),
            )
        })
    }

    /// Parses cell (`row`, `col`) as a number; an empty cell (a non-finite
    /// value in Agora's output) is NaN.
    pub fn num(&self, row: usize, col: usize) -> Result<f64, ReportError> {
        let cell = self.rows[row][col].as_str();
        if cell.is_empty() {
            return Ok(f64::NAN);
        }
        cell.parse::<f64>().map_err(|_| {
            ReportError::invalid(
                &self.path,
                format!(
                    "line {}, column `{}`: expected a number, found `{cell}`",
                    self.lines[row], self.header[col]
                ),
            )
        })
    }

    /// Parses cell (`row`, `col`) as a number, or NaN when it is not one
    /// (for tables whose columns are not all known in advance).
    pub fn num_lenient(&self, row: usize, col: usize) -> f64 {
        self.rows[row][col].parse::<f64>().unwrap_or(f64::NAN)
    }

    fn whole(&self, row: usize, col: usize) -> Result<u64, ReportError> {
        let cell = self.rows[row][col].as_str();
        cell.parse::<u64>().map_err(|_| {
            ReportError::invalid(
                &self.path,
                format!(
                    "line {}, column `{}`: expected a whole number >= 0, found `{cell}`",
                    self.lines[row], self.header[col]
                ),
            )
        })
    }
}

/// `(step, values)` rows of one entity in one run, in file order.
pub(crate) type Rows = Vec<(f64, Vec<f64>)>;

/// Per-step values of named entities (assets or groups) in every run.
#[derive(Debug, Default)]
pub(crate) struct Trajectories {
    /// Entity names, in order of first appearance.
    pub names: Vec<String>,
    /// The run indices present, ascending.
    pub runs: BTreeSet<u64>,
    /// For each entity (as in `names`), for each run: `(step, values)`
    /// rows in file order, `values` in the order of the requested columns
    /// (the required ones, then the optional ones).
    pub series: Vec<BTreeMap<u64, Rows>>,
}

impl Trajectories {
    /// Reads `csv`, keyed by column `key`, keeping the `values` columns
    /// (each required) and then the `optional` ones (NaN throughout when
    /// the file has no such column). A missing `run` column means a single
    /// run 0. An empty cell is NaN; any other cell that is not a number is
    /// an error naming the line.
    pub fn from_csv(
        csv: &Csv,
        key: &str,
        values: &[&str],
        optional: &[&str],
        expected: &str,
    ) -> Result<Trajectories, ReportError> {
        let run_col = csv.find("run");
        let step_col = csv.column("step", expected)?;
        let key_col = csv.column(key, expected)?;
        let value_cols = values
            .iter()
            .map(|v| csv.column(v, expected).map(Some))
            .chain(optional.iter().map(|v| Ok(csv.find(v))))
            .collect::<Result<Vec<_>, _>>()?;
        let mut t = Trajectories::default();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for row in 0..csv.rows.len() {
            let run = match run_col {
                Some(c) => csv.whole(row, c)?,
                None => 0,
            };
            let step = csv.whole(row, step_col)? as f64;
            let name = &csv.rows[row][key_col];
            let i = *index.entry(name.clone()).or_insert_with(|| {
                t.names.push(name.clone());
                t.series.push(BTreeMap::new());
                t.names.len() - 1
            });
            let vals = value_cols
                .iter()
                .map(|&c| c.map_or(Ok(f64::NAN), |c| csv.num(row, c)))
                .collect::<Result<Vec<_>, _>>()?;
            t.runs.insert(run);
            t.series[i].entry(run).or_default().push((step, vals));
        }
        Ok(t)
    }

    /// Returns the `(step, value)` points of entity `i`, column `v`, in `run`.
    pub fn points(&self, i: usize, run: u64, v: usize) -> Vec<(f64, f64)> {
        self.series[i]
            .get(&run)
            .map(|rows| rows.iter().map(|(s, vals)| (*s, vals[v])).collect())
            .unwrap_or_default()
    }

    /// Whether column `v` of entity `i` has a finite value in `run`.
    pub fn has_values(&self, i: usize, run: u64, v: usize) -> bool {
        self.series[i]
            .get(&run)
            .is_some_and(|rows| rows.iter().any(|(_, vals)| vals[v].is_finite()))
    }
}

/// Reads and parses a JSON object.
pub(crate) fn read_json(path: &Path) -> Result<Value, ReportError> {
    let bytes = read(path)?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ReportError::invalid(path, format!("not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ReportError::invalid(
            path,
            "expected a JSON object (the summary written by `agora run`)",
        ));
    }
    Ok(value)
}

/// Reads a text file.
pub(crate) fn read_text(path: &Path) -> Result<String, ReportError> {
    let bytes = read(path)?;
    String::from_utf8(bytes).map_err(|_| ReportError::invalid(path, "not valid UTF-8 text"))
}

/// Flattens the numeric leaves of `value` into `(dotted path, value)` pairs.
pub(crate) fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, f64)>) {
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
        _ => {}
    }
}

/// Quantile `q` of `sorted` values, interpolating linearly between order
/// statistics (as Agora's ensemble summaries do).
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
        }
    }
}
