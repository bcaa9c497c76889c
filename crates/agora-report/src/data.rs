//! Reading a results directory: the CSV tables and `summary.json`.
//!
//! Columns are found by name, never by position, so files with extra
//! columns (more assets, new metrics) read the same.

use crate::error::ReportError;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A table read whole, as text, with where each row is for errors: a CSV
/// file, or a Parquet file turned into the same text (see
/// [`Csv::read_parquet`]).
#[derive(Debug)]
pub(crate) struct Csv {
    pub path: PathBuf,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    lines: Vec<u64>,
    /// What `lines` count: `line` (CSV) or `row` (Parquet).
    unit: &'static str,
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
            unit: "line",
        })
    }

    /// Reads the Parquet file `path` (as `agora run --format parquet` and
    /// `agora sweep` write it) as the text its CSV twin holds: counts and
    /// names as they are, numbers as the shortest text that reads back as
    /// the same f64 (as the CSV writer writes them), nulls empty.
    pub fn read_parquet(path: &Path) -> Result<Csv, ReportError> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float32Type, Float64Type, Int32Type, Int64Type, UInt64Type};
        use arrow_array::Array;
        use arrow_schema::DataType;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

        let invalid = |e: &dyn std::fmt::Display| {
            ReportError::invalid(path, format!("not a readable Parquet table: {e}"))
        };
        let file = std::fs::File::open(path).map_err(|e| ReportError::io(path, "reading", e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|e| invalid(&e))?;
        let schema = arrow_array::RecordBatchReader::schema(&reader);
        let header: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut buf = ryu::Buffer::new();
        for batch in reader {
            let batch = batch.map_err(|e| invalid(&e))?;
            let first = rows.len();
            rows.resize_with(first + batch.num_rows(), || {
                Vec::with_capacity(header.len())
            });
            for (c, column) in batch.columns().iter().enumerate() {
                for r in 0..batch.num_rows() {
                    let cell = if column.is_null(r) {
                        String::new()
                    } else {
                        match column.data_type() {
                            DataType::Float64 => {
                                let x = column.as_primitive::<Float64Type>().value(r);
                                if x.is_finite() {
                                    buf.format_finite(x).to_string()
                                } else {
                                    String::new()
                                }
                            }
                            DataType::Float32 => {
                                let x = f64::from(column.as_primitive::<Float32Type>().value(r));
                                if x.is_finite() {
                                    buf.format_finite(x).to_string()
                                } else {
                                    String::new()
                                }
                            }
                            DataType::Int64 => {
                                column.as_primitive::<Int64Type>().value(r).to_string()
                            }
                            DataType::Int32 => {
                                column.as_primitive::<Int32Type>().value(r).to_string()
                            }
                            DataType::UInt64 => {
                                column.as_primitive::<UInt64Type>().value(r).to_string()
                            }
                            DataType::Utf8 => column.as_string::<i32>().value(r).to_string(),
                            DataType::LargeUtf8 => column.as_string::<i64>().value(r).to_string(),
                            DataType::Boolean => column.as_boolean().value(r).to_string(),
                            other => {
                                return Err(ReportError::invalid(
                                    path,
                                    format!(
                                        "column `{}` is of type {other}: expected numbers or text",
                                        header[c]
                                    ),
                                ))
                            }
                        }
                    };
                    rows[first + r].push(cell);
                }
            }
        }
        let lines = (1..=rows.len() as u64).collect();
        Ok(Csv {
            path: path.to_path_buf(),
            header,
            rows,
            lines,
            unit: "row",
        })
    }

    /// Reads the table `stem` of `dir`: `STEM.csv`, or where there is none
    /// `STEM.parquet`. `None` when neither exists.
    pub fn read_either(dir: &Path, stem: &str) -> Result<Option<Csv>, ReportError> {
        let csv = dir.join(format!("{stem}.csv"));
        let parquet = dir.join(format!("{stem}.parquet"));
        if csv.exists() {
            Csv::read(&csv).map(Some)
        } else if parquet.exists() {
            Csv::read_parquet(&parquet).map(Some)
        } else {
            Ok(None)
        }
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
            unit: self.unit,
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
                    "{} {}, column `{}`: expected a number, found `{cell}`",
                    self.unit, self.lines[row], self.header[col]
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
                    "{} {}, column `{}`: expected a whole number >= 0, found `{cell}`",
                    self.unit, self.lines[row], self.header[col]
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

/// Walks `value` depth-first in document order, calling `visit` with each
/// node's dotted path (`prefix` for `value` itself, then `prefix.key…`);
/// an object's members are visited when `visit` returns true for it. The
/// one walk over a summary's JSON of this crate (Agora's own, for sweeps,
/// lives in `agora::experiment`: this crate does not depend on `agora`).
pub(crate) fn walk<'v>(
    prefix: &str,
    value: &'v Value,
    visit: &mut dyn FnMut(&str, &'v Value) -> bool,
) {
    if !visit(prefix, value) {
        return;
    }
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            walk(&path, v, visit);
        }
    }
}

/// Flattens the numeric leaves of `value` into `(dotted path, value)` pairs.
pub(crate) fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, f64)>) {
    walk(prefix, value, &mut |path, v| {
        if let Some(x) = v.as_f64() {
            out.push((path.to_string(), x));
        }
        v.is_object()
    });
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
