//! Parquet output for Agora: `assets.parquet`, `agents.parquet`,
//! `agent_steps.parquet`, `trades.parquet`, `incentives.parquet`, `alerts.parquet` and sweep tables, beside the CSV files of
//! [`agora::output`].
//!
//! The tables are the CSV tables with types: the same columns in the same
//! order and the same values, so that a script can switch from
//! `pd.read_csv("assets.csv")` to `pd.read_parquet("assets.parquet")` and get
//! the same frame. Counts (`run`, `step`, `agents`, `trades`) are `Int64`,
//! names (`asset`, `group`) are `Utf8`, prices and amounts are `Float64` in
//! units (converted from base units exactly as the CSV writer does, so every
//! number is bit-identical to the one the CSV text reads back as). A number
//! that the CSV leaves empty (one that is not finite) is null.
//!
//! Pages are Snappy-compressed: it is the codec every common reader
//! (pandas/pyarrow, polars, DuckDB, Spark) reads, and it is pure Rust here.
//! Parquet lives in this crate rather than in `agora` because it is by far
//! the heaviest dependency of the workspace.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut scenario = agora::scenario::example("curve-linear")?;
//! scenario.set_steps(3)?;
//! let out = agora::Simulation::new(&scenario, 0)?.run()?;
//! let bytes = agora_parquet::assets_parquet(&scenario, std::slice::from_ref(&out))?;
//! assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
//! # Ok(())
//! # }
//! ```

use agora::experiment::sweep::SweepTable;
use agora::ledger::trades::TradeRecord;
use agora::output::{
    agent_step_table, asset_table, group_table, write_atomically, Column, ColumnType, Get, Row,
    TRADE_COLUMNS,
};
use agora::{RunOutput, Scenario};
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// File name of the asset table.
pub const ASSETS_FILE: &str = "assets.parquet";

/// File name of the group table.
pub const AGENTS_FILE: &str = "agents.parquet";

/// File name of a sweep table.
pub const SWEEP_FILE: &str = "sweep.parquet";

/// File name of the per-agent table (`[output.agent_steps]`).
pub const AGENT_STEPS_FILE: &str = "agent_steps.parquet";

/// File name of the trade log (`[output] trades = true`).
pub const TRADES_FILE: &str = "trades.parquet";

/// The file of the incentive rules' flows (`[[incentives]]`).
pub const INCENTIVES_FILE: &str = "incentives.parquet";

/// The file of the monitors' alerts (`[[monitors]]`).
pub const ALERTS_FILE: &str = "alerts.parquet";

/// The error of every function of this crate.
#[derive(Debug)]
pub struct Error(Box<ErrorKind>);

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The Parquet encoder failed (a bug, or out of memory).
    Encode {
        /// The table being written, e.g. `assets.parquet`.
        table: String,
        /// The encoder's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The data does not fit the table: a row of the wrong length, a
    /// duplicated column name, a count too large for `Int64`.
    Table {
        /// The table being written, e.g. `sweep.parquet`.
        table: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// Writing the files failed (see [`agora::Error`]).
    Agora(agora::Error),
}

impl Error {
    /// Returns what went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    fn encode(table: &str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error(Box::new(ErrorKind::Encode {
            table: table.to_string(),
            source: Box::new(source),
        }))
    }

    fn table(table: &str, message: impl Into<String>) -> Self {
        Error(Box::new(ErrorKind::Table {
            table: table.to_string(),
            message: message.into(),
        }))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Encode { table, source } => write!(f, "writing {table}: {source}"),
            ErrorKind::Table { table, message } => write!(f, "writing {table}: {message}"),
            ErrorKind::Agora(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.0 {
            ErrorKind::Encode { source, .. } => Some(&**source),
            ErrorKind::Table { .. } => None,
            ErrorKind::Agora(e) => e.source(),
        }
    }
}

impl From<agora::Error> for Error {
    fn from(e: agora::Error) -> Self {
        Error(Box::new(ErrorKind::Agora(e)))
    }
}

/// The writer settings of every table: Snappy pages, dictionary-encoded
/// names, the Arrow schema embedded (so readers get the exact types back).
fn properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build()
}

/// Encodes `batches` (each matching `schema`) as one Parquet file. No
/// batches gives a valid file with the schema and no rows.
fn encode(
    table: &str,
    schema: SchemaRef,
    batches: impl IntoIterator<Item = Result<Vec<ArrayRef>, Error>>,
) -> Result<Vec<u8>, Error> {
    let mut writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties()))
        .map_err(|e| Error::encode(table, e))?;
    for columns in batches {
        let batch =
            RecordBatch::try_new(schema.clone(), columns?).map_err(|e| Error::encode(table, e))?;
        writer.write(&batch).map_err(|e| Error::encode(table, e))?;
    }
    writer.into_inner().map_err(|e| Error::encode(table, e))
}

/// Returns a count as `Int64`, which pandas, polars and DuckDB all read as
/// their plain integer type (pandas reads the CSV's counts as `int64` too).
fn count(table: &str, column: &str, x: u64) -> Result<i64, Error> {
    i64::try_from(x).map_err(|_| {
        Error::table(
            table,
            format!("{column} = {x} does not fit a signed 64-bit integer"),
        )
    })
}

/// Returns `x`, or null where the CSV writes an empty cell.
fn number(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

fn field(name: &str, data_type: DataType) -> Field {
    // Numbers may be null (not finite); counts and names never are.
    let nullable = data_type == DataType::Float64;
    Field::new(name, data_type, nullable)
}

/// The Arrow type of a column of the shared table: counts `Int64`, names
/// `Utf8`, numbers `Float64`.
fn data_type(t: ColumnType) -> DataType {
    match t {
        ColumnType::Count => DataType::Int64,
        ColumnType::Name => DataType::Utf8,
        ColumnType::Number => DataType::Float64,
    }
}

/// The schema of a table of `columns` (see [`agora::output::Column`]).
fn schema_of<R>(scenario: &Scenario, columns: &[Column<R>]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| field(&c.header(scenario), data_type(c.column_type())))
            .collect::<Vec<_>>(),
    ))
}

/// The arrays of `records` (of run `run`), one per column of `columns`,
/// with the values the CSV writer writes (a number it leaves empty null).
fn arrays<R>(
    table: &str,
    scenario: &Scenario,
    columns: &[Column<R>],
    run: u64,
    records: &[R],
) -> Result<Vec<ArrayRef>, Error> {
    let rows: Vec<Row<'_, R>> = records
        .iter()
        .map(|record| Row {
            run,
            scenario,
            record,
        })
        .collect();
    columns
        .iter()
        .map(|c| -> Result<ArrayRef, Error> {
            let j = c.index();
            Ok(match c.get {
                Get::Count(f) => Arc::new(Int64Array::from(
                    rows.iter()
                        .map(|r| count(table, c.name, f(r, j)))
                        .collect::<Result<Vec<_>, _>>()?,
                )),
                Get::Name(f) => {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(|r| f(r, j))))
                }
                Get::Number(f) => Arc::new(Float64Array::from_iter(
                    rows.iter().map(|r| number(f(r, j))),
                )),
            })
        })
        .collect()
}

/// Returns the schema of `assets.parquet` for `scenario`: the columns of
/// `assets.csv` ([`agora::output::asset_table`]: those of
/// `ASSET_TABLE`, then with population games one `share_<STRATEGY>`
/// column per strategy) with their types.
pub fn assets_schema(scenario: &Scenario) -> SchemaRef {
    schema_of(scenario, &asset_table(scenario))
}

/// Returns the schema of `agents.parquet` for `scenario`: the columns of
/// `agents.csv` ([`agora::output::group_table`]: `run,step,group,agents`,
/// the amounts, with more than one asset one `holdings_<ASSET>` column per
/// asset, then the locked amounts) with their types.
pub fn agents_schema(scenario: &Scenario) -> SchemaRef {
    schema_of(scenario, &group_table(scenario))
}

/// Renders `assets.parquet` for `runs`: the rows and values of
/// [`agora::output::assets_csv`], typed (see [`assets_schema`]).
pub fn assets_parquet(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<u8>, Error> {
    let columns = asset_table(scenario);
    let batches = runs.iter().map(|out| {
        arrays(
            ASSETS_FILE,
            scenario,
            &columns,
            out.run,
            &out.records.assets,
        )
    });
    encode(ASSETS_FILE, schema_of(scenario, &columns), batches)
}

/// Renders `agents.parquet` (group totals) for `runs`: the rows and values
/// of [`agora::output::agents_csv`], typed (see [`agents_schema`]).
pub fn agents_parquet(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<u8>, Error> {
    let columns = group_table(scenario);
    let batches = runs.iter().map(|out| {
        arrays(
            AGENTS_FILE,
            scenario,
            &columns,
            out.run,
            &out.records.groups,
        )
    });
    encode(AGENTS_FILE, schema_of(scenario, &columns), batches)
}

/// The rows of `assets.csv` for `runs` as Arrow record batches (one per
/// run) of [`assets_schema`]: the tables `assets.parquet` holds, for a
/// caller that hands them on in memory (the Python package's Arrow
/// streams).
pub fn assets_batches(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<RecordBatch>, Error> {
    let table = asset_table(scenario);
    let schema = schema_of(scenario, &table);
    runs.iter()
        .map(|out| {
            let columns = arrays(ASSETS_FILE, scenario, &table, out.run, &out.records.assets)?;
            RecordBatch::try_new(schema.clone(), columns).map_err(|e| Error::encode(ASSETS_FILE, e))
        })
        .collect()
}

/// The rows of `agents.csv` for `runs` as Arrow record batches (one per
/// run) of [`agents_schema`].
pub fn agents_batches(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<RecordBatch>, Error> {
    let columns = group_table(scenario);
    let schema = schema_of(scenario, &columns);
    runs.iter()
        .map(|out| {
            let arrays = arrays(
                AGENTS_FILE,
                scenario,
                &columns,
                out.run,
                &out.records.groups,
            )?;
            RecordBatch::try_new(schema.clone(), arrays).map_err(|e| Error::encode(AGENTS_FILE, e))
        })
        .collect()
}

/// Returns the schema of `agent_steps.parquet` for `scenario`: the columns
/// of `agent_steps.csv` ([`agora::output::agent_step_table`]), `run`,
/// `step` and `agent` `Int64`, `group` `Utf8`, the amounts `Float64`.
pub fn agent_steps_schema(scenario: &Scenario) -> SchemaRef {
    schema_of(scenario, &agent_step_table(scenario))
}

/// Renders `agent_steps.parquet` for `runs`: the rows and values of
/// [`agora::output::agent_steps_csv`], typed (see [`agent_steps_schema`]);
/// `None` when the scenario asks for no per-agent records.
pub fn agent_steps_parquet(
    scenario: &Scenario,
    runs: &[RunOutput],
) -> Result<Option<Vec<u8>>, Error> {
    if scenario.output().agent_steps.is_none() {
        return Ok(None);
    }
    let columns = agent_step_table(scenario);
    let batches = runs.iter().map(|out| {
        arrays(
            AGENT_STEPS_FILE,
            scenario,
            &columns,
            out.run,
            &out.records.agent_steps,
        )
    });
    encode(AGENT_STEPS_FILE, schema_of(scenario, &columns), batches).map(Some)
}

/// Returns the schema of `trades.parquet`: the columns of `trades.csv`
/// ([`TRADE_COLUMNS`]), `run`, `step` and `agent` `Int64`, `counterpart`
/// `Int64` (null for the mechanism or the outside world), `asset`, `kind`
/// and `side` `Utf8`, `quantity`, `price` and `money` `Float64`.
pub fn trades_schema() -> SchemaRef {
    use DataType::{Float64, Int64, Utf8};
    let types = [
        Int64, Int64, Int64, Int64, Utf8, Utf8, Utf8, Float64, Float64, Float64,
    ];
    Arc::new(Schema::new(
        TRADE_COLUMNS
            .iter()
            .zip(types)
            .map(|(name, t)| {
                if *name == "counterpart" {
                    Field::new(*name, t, true)
                } else {
                    field(name, t)
                }
            })
            .collect::<Vec<_>>(),
    ))
}

/// Renders `trades.parquet` for `runs`: the rows and values of
/// [`agora::output::trades_csv`], typed (see [`trades_schema`]); `None`
/// when the scenario does not ask for the trade log.
pub fn trades_parquet(scenario: &Scenario, runs: &[RunOutput]) -> Result<Option<Vec<u8>>, Error> {
    if !scenario.output().trades {
        return Ok(None);
    }
    let batches = runs.iter().map(|out| -> Result<Vec<ArrayRef>, Error> {
        let rows = &out.records.trades;
        let run = count(TRADES_FILE, "run", out.run)?;
        let steps = rows
            .iter()
            .map(|r| count(TRADES_FILE, "step", r.step))
            .collect::<Result<Vec<_>, _>>()?;
        let floats = |f: fn(&TradeRecord) -> f64| -> ArrayRef {
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| number(f(r)))))
        };
        Ok(vec![
            Arc::new(Int64Array::from(vec![run; rows.len()])),
            Arc::new(Int64Array::from(steps)),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| i64::from(r.agent)),
            )),
            Arc::new(Int64Array::from_iter(
                rows.iter().map(|r| r.counterpart.map(i64::from)),
            )),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| {
                scenario
                    .assets()
                    .get(r.asset as usize)
                    .map_or("", |a| a.name.as_str())
            }))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.kind.name()),
            )),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| {
                if r.buy {
                    "buy"
                } else {
                    "sell"
                }
            }))),
            floats(TradeRecord::quantity_units),
            floats(TradeRecord::price),
            floats(TradeRecord::money_units),
        ])
    });
    encode(TRADES_FILE, trades_schema(), batches).map(Some)
}

/// Returns the schema of `incentives.parquet`: the columns of
/// `incentives.csv` ([`agora::output::INCENTIVE_COLUMNS`]), `run`, `step`,
/// `agents` `Int64`, `agent` `Int64` (null for a row summed over agents),
/// `rule`, `kind`, `currency` and `reason` `Utf8`, `amount` and
/// `budget_left` `Float64` (null for a rule that pays nothing).
pub fn incentives_schema() -> SchemaRef {
    use DataType::{Float64, Int64, Utf8};
    let types = [
        Int64, Int64, Utf8, Utf8, Int64, Int64, Float64, Utf8, Utf8, Float64,
    ];
    Arc::new(Schema::new(
        agora::output::INCENTIVE_COLUMNS
            .iter()
            .zip(types)
            .map(|(name, t)| {
                if *name == "agent" {
                    Field::new(*name, t, true)
                } else {
                    field(name, t)
                }
            })
            .collect::<Vec<_>>(),
    ))
}

/// Renders `incentives.parquet` for `runs`: the rows and values of
/// [`agora::output::incentives_csv`], typed (see [`incentives_schema`]);
/// `None` for a scenario without `[[incentives]]`.
pub fn incentives_parquet(
    scenario: &Scenario,
    runs: &[RunOutput],
) -> Result<Option<Vec<u8>>, Error> {
    use agora::ledger::wide_to_units;
    if scenario.incentives().is_empty() {
        return Ok(None);
    }
    let file = INCENTIVES_FILE;
    let batches = runs.iter().map(|out| -> Result<Vec<ArrayRef>, Error> {
        let rows = &out.records.incentives;
        let run = count(file, "run", out.run)?;
        let steps = rows
            .iter()
            .map(|r| count(file, "step", r.step))
            .collect::<Result<Vec<_>, _>>()?;
        let agents = rows
            .iter()
            .map(|r| count(file, "agents", r.agents))
            .collect::<Result<Vec<_>, _>>()?;
        let texts: Vec<(String, String)> = rows
            .iter()
            .map(|r| agora::incentives::currency_and_reason(scenario, r))
            .collect();
        Ok(vec![
            Arc::new(Int64Array::from(vec![run; rows.len()])),
            Arc::new(Int64Array::from(steps)),
            Arc::new(StringArray::from_iter_values(
                rows.iter()
                    .map(|r| scenario.incentives()[r.rule as usize].name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.flow.name()),
            )),
            Arc::new(Int64Array::from_iter(
                rows.iter().map(|r| r.agent.map(i64::from)),
            )),
            Arc::new(Int64Array::from(agents)),
            Arc::new(Float64Array::from_iter(
                rows.iter().map(|r| number(wide_to_units(r.amount))),
            )),
            Arc::new(StringArray::from_iter_values(
                texts.iter().map(|t| t.0.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                texts.iter().map(|t| t.1.as_str()),
            )),
            Arc::new(Float64Array::from_iter(
                rows.iter()
                    .map(|r| r.budget_left.and_then(|b| number(wide_to_units(b)))),
            )),
        ])
    });
    encode(file, incentives_schema(), batches).map(Some)
}

/// Returns the schema of `alerts.parquet`: the columns of `alerts.csv`
/// ([`agora::output::ALERT_COLUMNS`]), `step` `Int64`, `monitor`, `asset`,
/// `agents` (ids joined by `;`) and `message` `Utf8`, `score` `Float64`.
pub fn alerts_schema() -> SchemaRef {
    use DataType::{Float64, Int64, Utf8};
    let types = [Int64, Utf8, Utf8, Utf8, Float64, Utf8];
    Arc::new(Schema::new(
        agora::output::ALERT_COLUMNS
            .iter()
            .zip(types)
            .map(|(name, t)| field(name, t))
            .collect::<Vec<_>>(),
    ))
}

/// Renders `alerts.parquet` for `runs`: the rows and values of
/// [`agora::output::alerts_csv`], typed (see [`alerts_schema`]); `None`
/// for a scenario without `[[monitors]]`.
pub fn alerts_parquet(scenario: &Scenario, runs: &[RunOutput]) -> Result<Option<Vec<u8>>, Error> {
    if scenario.monitors().is_empty() {
        return Ok(None);
    }
    let file = ALERTS_FILE;
    let batches = runs.iter().map(|out| -> Result<Vec<ArrayRef>, Error> {
        let rows = &out.records.alerts;
        let steps = rows
            .iter()
            .map(|a| count(file, "step", a.step))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(vec![
            Arc::new(Int64Array::from(steps)),
            Arc::new(StringArray::from_iter_values(
                rows.iter()
                    .map(|a| scenario.monitors()[a.monitor as usize].name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter()
                    .map(|a| scenario.assets()[a.asset as usize].name.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|a| agora::monitor::agents_cell(&a.agents)),
            )),
            Arc::new(Float64Array::from_iter(
                rows.iter().map(|a| number(a.score)),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|a| a.message.as_str()),
            )),
        ])
    });
    encode(file, alerts_schema(), batches).map(Some)
}

/// Renders a table of numbers with the given column names, e.g. a sweep's
/// `sweep.parquet` (one column per varied parameter, then one per metric):
/// every column `Float64`, non-finite numbers null, rows in order.
///
/// Every row must have one number per column, and the names must be
/// distinct (polars and DuckDB refuse duplicated names).
pub fn table_parquet(columns: &[String], rows: &[Vec<f64>]) -> Result<Vec<u8>, Error> {
    check_table(columns, rows.iter().map(Vec::len))?;
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| field(c, DataType::Float64))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = (0..columns.len())
        .map(|j| -> ArrayRef {
            Arc::new(Float64Array::from_iter(
                rows.iter().map(|row| number(row[j])),
            ))
        })
        .collect();
    encode(SWEEP_FILE, schema, [Ok(arrays)])
}

/// Renders a sweep's `sweep.parquet`: the columns of `sweep.csv`, a varied
/// parameter's `Float64` when all its values are numbers, else `Utf8` (the
/// values as `sweep.csv` writes them: a curve's name, an inline table);
/// every metric `Float64`, non-finite numbers null.
pub fn sweep_parquet(table: &SweepTable) -> Result<Vec<u8>, Error> {
    let params = table.points.first().map_or(0, Vec::len);
    check_table(
        &table.columns,
        table
            .points
            .iter()
            .zip(&table.metrics)
            .map(|(p, m)| p.len() + m.len()),
    )?;
    let numeric: Vec<bool> = (0..params)
        .map(|j| table.points.iter().all(|p| p[j].as_number().is_some()))
        .collect();
    let schema = Arc::new(Schema::new(
        table
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let text = j < params && !numeric[j];
                field(
                    c,
                    if text {
                        DataType::Utf8
                    } else {
                        DataType::Float64
                    },
                )
            })
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = (0..table.columns.len())
        .map(|j| -> ArrayRef {
            if j < params && !numeric[j] {
                Arc::new(StringArray::from_iter_values(
                    table.points.iter().map(|p| p[j].to_string()),
                ))
            } else if j < params {
                Arc::new(Float64Array::from_iter(
                    table
                        .points
                        .iter()
                        .map(|p| p[j].as_number().and_then(number)),
                ))
            } else {
                Arc::new(Float64Array::from_iter(
                    table.metrics.iter().map(|m| number(m[j - params])),
                ))
            }
        })
        .collect();
    encode(SWEEP_FILE, schema, [Ok(arrays)])
}

/// Checks a table's shape: at least one column, distinct names, and rows
/// of `lengths` as long as the header.
fn check_table(columns: &[String], lengths: impl Iterator<Item = usize>) -> Result<(), Error> {
    if columns.is_empty() {
        return Err(Error::table(
            SWEEP_FILE,
            "a table needs at least one column",
        ));
    }
    let mut seen = HashSet::new();
    if let Some(dup) = columns.iter().find(|c| !seen.insert(c.as_str())) {
        return Err(Error::table(
            SWEEP_FILE,
            format!("column {dup:?} appears twice; column names must be distinct"),
        ));
    }
    if let Some((i, len)) = lengths.enumerate().find(|(_, len)| *len != columns.len()) {
        return Err(Error::table(
            SWEEP_FILE,
            format!(
                "row {i} has {len} numbers, expected one per column ({})",
                columns.len()
            ),
        ));
    }
    Ok(())
}

/// Writes `assets.parquet` and `agents.parquet` (and `agent_steps.parquet`
/// when the scenario asks for per-agent records, `trades.parquet` when it
/// asks for the trade log) for `runs` as the results
/// in `dir` (created if missing), all or nothing, as [`write_atomically`]
/// does: they replace what an earlier Agora command wrote there (to write
/// them beside the CSV tables, write all the files through one
/// [`agora::output::OutputDir`]). Returns the paths written.
pub fn write_parquet(
    dir: &Path,
    scenario: &Scenario,
    runs: &[RunOutput],
) -> Result<Vec<PathBuf>, Error> {
    let mut files = vec![
        (ASSETS_FILE, assets_parquet(scenario, runs)?),
        (AGENTS_FILE, agents_parquet(scenario, runs)?),
    ];
    if let Some(bytes) = agent_steps_parquet(scenario, runs)? {
        files.push((AGENT_STEPS_FILE, bytes));
    }
    if let Some(bytes) = trades_parquet(scenario, runs)? {
        files.push((TRADES_FILE, bytes));
    }
    Ok(write_atomically(dir, &files)?)
}
