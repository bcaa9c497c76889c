//! Writing results: `assets.csv`, `agents.csv`, `summary.json`, the
//! effective `scenario.toml` and, when asked for, `agent_steps.csv` and
//! `trades.csv`, into
//! an output folder written whole.
//!
//! The files are rendered in memory, written into a staging folder beside
//! the output folder and switched into place together ([`OutputDir`]): a
//! reader sees the earlier results or the new ones, never a mix, and the
//! folder then holds exactly the new results (and the user's own files).
//! Numbers are written as the shortest text that reads back as the same f64.

mod columns;
mod folder;
pub mod shards;

pub use columns::{
    agent_step_table, asset_table, group_table, has_learners, strategy_labels, Amounts, Column,
    ColumnType, Get, Row, ASSET_TABLE,
};

pub use crate::incentives::{incentives_csv, INCENTIVES_FILE, INCENTIVE_COLUMNS};
pub use crate::monitor::{alerts_csv, ALERTS_FILE, ALERT_COLUMNS};
pub use folder::{
    check_written, sha256, Committed, Manifest, ManifestEntry, OutputDir, StagedFile, MANIFEST,
};

use crate::engine::{AgentStepRecord, GroupRecord, Records, RunOutput};
use crate::error::{Error, Result};
use crate::ledger::trades::TradeRecord;
use crate::scenario::Scenario;
use std::path::{Path, PathBuf};

/// The library's version, written into every summary.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Column names of `assets.csv` (of [`ASSET_TABLE`], which defines them);
/// with population games, one `share_<STRATEGY>` column per strategy
/// follows ([`asset_columns`]).
pub const ASSET_COLUMNS: [&str; 14] = columns::ASSET_NAMES;

/// Column names of `agents.csv` (with more than one asset, one
/// `holdings_<ASSET>` column per asset follows, then
/// [`AGENT_LOCKED_COLUMNS`]). `balance`, `holdings` and `wealth` count what
/// the group's agents have locked in open orders: it is still theirs.
pub const AGENT_COLUMNS: [&str; 7] = [
    "run", "step", "group", "agents", "balance", "holdings", "wealth",
];

/// The columns `agents.csv` appends after [`AGENT_COLUMNS`] and the
/// `holdings_<ASSET>` columns: the part of `balance` and of `holdings`
/// locked in open orders (or, for tokens, staked or unbonding under an
/// incentive rule) (with more than one asset, one
/// `locked_holdings_<ASSET>` column per asset follows).
pub const AGENT_LOCKED_COLUMNS: [&str; 2] = ["locked_balance", "locked_holdings"];

/// Column names of `assets.csv` for `scenario`: [`ASSET_COLUMNS`], then
/// with population games one `share_<STRATEGY>` per strategy.
pub fn asset_columns(scenario: &Scenario) -> Vec<String> {
    headers(scenario, &asset_table(scenario))
}

/// The header of `agents.csv` for `scenario`: [`AGENT_COLUMNS`], the
/// `holdings_<ASSET>` columns (more than one asset), then
/// [`AGENT_LOCKED_COLUMNS`] and the `locked_holdings_<ASSET>` columns, and
/// last, when a group of the scenario learns, `mean_reward`.
pub fn agent_columns(scenario: &Scenario) -> Vec<String> {
    headers(scenario, &group_table(scenario))
}

fn headers<R>(scenario: &Scenario, columns: &[Column<R>]) -> Vec<String> {
    columns.iter().map(|c| c.header(scenario)).collect()
}

fn num(buf: &mut ryu::Buffer, x: f64) -> String {
    if x.is_finite() {
        buf.format_finite(x).to_string()
    } else {
        String::new()
    }
}

/// Renders `assets.csv` for `runs`.
pub fn assets_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<u8>> {
    render(scenario, runs, Table::Assets)
}

/// Renders `agents.csv` (group totals) for `runs`.
pub fn agents_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<u8>> {
    render(scenario, runs, Table::Agents)
}

/// The per-step tables of a run, as a [`TableWriter`] writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `assets.csv`: one row per asset and step.
    Assets,
    /// `agents.csv`: one row per group and step.
    Agents,
    /// `agent_steps.csv`: one row per recorded agent and step.
    AgentSteps,
    /// `trades.csv`: one row per fill, transfer or payment
    /// (`[output] trades = true`).
    Trades,
}

impl Table {
    /// The file the table is written to.
    pub fn file(self) -> &'static str {
        match self {
            Table::Assets => "assets.csv",
            Table::Agents => "agents.csv",
            Table::AgentSteps => AGENT_STEPS_FILE,
            Table::Trades => TRADES_FILE,
        }
    }

    /// The header for `scenario`.
    pub fn columns(self, scenario: &Scenario) -> Vec<String> {
        match self {
            Table::Assets => asset_columns(scenario),
            Table::Agents => agent_columns(scenario),
            Table::AgentSteps => agent_step_columns(scenario),
            Table::Trades => TRADE_COLUMNS.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// The tables a run of `scenario` writes: `assets.csv`, `agents.csv`
    /// and, with `[output.agent_steps]`, `agent_steps.csv`, and with
    /// `[output] trades = true`, `trades.csv`.
    pub fn of(scenario: &Scenario) -> Vec<Table> {
        let mut tables = vec![Table::Assets, Table::Agents];
        if scenario.output.agent_steps.is_some() {
            tables.push(Table::AgentSteps);
        }
        if scenario.output.trades {
            tables.push(Table::Trades);
        }
        tables
    }
}

/// Writes the cells of `row` for `columns` into `out`.
fn fill<R>(out: &mut Vec<String>, buf: &mut ryu::Buffer, columns: &[Column<R>], row: &Row<'_, R>) {
    out.clear();
    out.extend(columns.iter().map(|c| {
        let j = c.index();
        match c.get {
            Get::Count(f) => f(row, j).to_string(),
            Get::Name(f) => f(row, j).to_string(),
            Get::Number(f) => num(buf, f(row, j)),
        }
    }));
}

fn render(scenario: &Scenario, runs: &[RunOutput], table: Table) -> Result<Vec<u8>> {
    let mut w = TableWriter::new(scenario, table, Vec::new())?;
    for out in runs {
        w.append(out.run, &out.records)?;
    }
    w.finish()
}

/// One CSV table written as a run goes: the header first, then the rows of
/// each batch of records appended ([`append`](Self::append)). The bytes
/// are those of [`assets_csv`], [`agents_csv`] and [`agent_steps_csv`],
/// however the records are split into batches.
pub struct TableWriter<'s, W: std::io::Write> {
    scenario: &'s Scenario,
    table: Table,
    csv: csv::Writer<W>,
    buf: ryu::Buffer,
    row: Vec<String>,
    /// The columns of `assets.csv` (empty for the other tables).
    asset_columns: Vec<Column<crate::engine::AssetRecord>>,
    /// The columns of `agents.csv` or `agent_steps.csv` (empty for the
    /// other tables).
    group_columns: Vec<Column<GroupRecord>>,
    agent_columns: Vec<Column<AgentStepRecord>>,
}

impl<W: std::io::Write> std::fmt::Debug for TableWriter<'_, W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl<'s, W: std::io::Write> TableWriter<'s, W> {
    /// Starts `table` for `scenario` on `out`, writing its header.
    pub fn new(scenario: &'s Scenario, table: Table, out: W) -> Result<Self> {
        let mut w = TableWriter {
            scenario,
            table,
            csv: csv::Writer::from_writer(out),
            buf: ryu::Buffer::new(),
            row: Vec::new(),
            asset_columns: match table {
                Table::Assets => asset_table(scenario),
                Table::Agents | Table::AgentSteps | Table::Trades => Vec::new(),
            },
            group_columns: match table {
                Table::Agents => group_table(scenario),
                Table::Assets | Table::AgentSteps | Table::Trades => Vec::new(),
            },
            agent_columns: match table {
                Table::AgentSteps => agent_step_table(scenario),
                Table::Assets | Table::Agents | Table::Trades => Vec::new(),
            },
        };
        let header = table.columns(scenario);
        w.csv.write_record(&header).map_err(|e| w.error(e))?;
        Ok(w)
    }

    fn error(&self, e: csv::Error) -> Error {
        Error::writing(self.table.file(), e)
    }

    /// Appends the rows of `records` (of run `run`) that belong to this
    /// table.
    pub fn append(&mut self, run: u64, records: &Records) -> Result<()> {
        let scenario = self.scenario;
        match self.table {
            Table::Assets => {
                for record in &records.assets {
                    let row = Row {
                        run,
                        scenario,
                        record,
                    };
                    fill(&mut self.row, &mut self.buf, &self.asset_columns, &row);
                    self.flush_row()?;
                }
            }
            Table::Agents => {
                for record in &records.groups {
                    let row = Row {
                        run,
                        scenario,
                        record,
                    };
                    fill(&mut self.row, &mut self.buf, &self.group_columns, &row);
                    self.flush_row()?;
                }
            }
            Table::AgentSteps => {
                for record in &records.agent_steps {
                    let row = Row {
                        run,
                        scenario,
                        record,
                    };
                    fill(&mut self.row, &mut self.buf, &self.agent_columns, &row);
                    self.flush_row()?;
                }
            }
            Table::Trades => {
                for r in &records.trades {
                    self.trade_row(run, r);
                    self.flush_row()?;
                }
            }
        }
        Ok(())
    }

    fn trade_row(&mut self, run: u64, r: &TradeRecord) {
        let buf = &mut self.buf;
        self.row.clear();
        self.row.extend([
            run.to_string(),
            r.step.to_string(),
            r.agent.to_string(),
            r.counterpart.map_or_else(String::new, |c| c.to_string()),
            self.scenario
                .assets
                .get(r.asset as usize)
                .map_or_else(String::new, |a| a.name.clone()),
            r.kind.name().to_string(),
            if r.buy { "buy" } else { "sell" }.to_string(),
            num(buf, r.quantity_units()),
            num(buf, r.price()),
            num(buf, r.money_units()),
        ]);
    }

    fn flush_row(&mut self) -> Result<()> {
        let result = self.csv.write_record(&self.row);
        result.map_err(|e| self.error(e))
    }

    /// Ends the table: everything written to the output, which is
    /// returned.
    pub fn finish(self) -> Result<W> {
        let table = self.table;
        self.csv
            .into_inner()
            .map_err(|e| Error::writing(table.file(), e.into_error()))
    }
}

/// The key of the measured speed in `summary.json`: the one part of the
/// results that is not reproducible (it differs from run to run and with
/// the threads), always last, so that comparisons of results leave it out.
pub const PERFORMANCE_KEY: &str = "performance";

/// The measured speed of a run or an ensemble (`performance` in
/// `summary.json`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Performance {
    /// Wall-clock seconds the runs took: set-up and every step, not
    /// writing the files.
    pub wall_seconds: f64,
    /// Worker threads of the pool the runs ran on.
    pub threads: u64,
    /// Agents × steps × runs.
    pub agent_steps: f64,
    /// `agent_steps / wall_seconds`.
    pub agent_steps_per_second: f64,
}

impl Performance {
    /// The speed of running every run of `scenario` in `elapsed` on
    /// `threads` threads.
    pub fn measured(scenario: &Scenario, elapsed: std::time::Duration, threads: usize) -> Self {
        let agent_steps = scenario.agent_count() as f64
            * scenario.simulation.steps as f64
            * scenario.simulation.runs as f64;
        let wall_seconds = elapsed.as_secs_f64();
        Performance {
            wall_seconds,
            threads: threads as u64,
            agent_steps,
            agent_steps_per_second: agent_steps / wall_seconds.max(1e-9),
        }
    }

    /// The speed of running `runs` of `scenario` in `elapsed` on `threads`
    /// threads, counting the steps each run took (fewer than `steps` for
    /// a run that stopped on convergence, more with an evaluation phase).
    pub fn of_runs(
        scenario: &Scenario,
        runs: &[RunOutput],
        elapsed: std::time::Duration,
        threads: usize,
    ) -> Self {
        let mut p = Self::measured(scenario, elapsed, threads);
        let steps: Option<u64> = runs
            .iter()
            .map(|r| r.summary.simulation.as_ref().map(|s| s.steps_run))
            .sum();
        if let Some(steps) = steps {
            p.agent_steps = scenario.agent_count() as f64 * steps as f64;
            p.agent_steps_per_second = p.agent_steps / p.wall_seconds.max(1e-9);
        }
        p
    }
}

/// The file of per-agent records (`[output.agent_steps]`).
pub const AGENT_STEPS_FILE: &str = "agent_steps.csv";

/// The file of the trade log (`[output] trades = true`).
pub const TRADES_FILE: &str = "trades.csv";

/// Column names of `trades.csv`: the run, the step, the agent (numbered
/// from 0, group by group, as in `agent_steps.csv`), the counterpart (an
/// agent, or empty for the mechanism or the outside world), the asset's
/// name, the kind (`mint`, `burn`, `fill`, `allocation`, `production`,
/// `transfer`, `payment`), the agent's side (`buy`: it received the
/// tokens or units and paid the money; `sell`: the other way round), the
/// quantity (units), the price (money per unit, `money / quantity`) and the
/// money that moved (units; exactly the base units the ledger moved,
/// fees included in what a buyer paid and taken out of what a seller
/// received).
pub const TRADE_COLUMNS: [&str; 10] = [
    "run",
    "step",
    "agent",
    "counterpart",
    "asset",
    "kind",
    "side",
    "quantity",
    "price",
    "money",
];

/// The file of the impulse responses of `deviation` events.
pub const DEVIATION_FILE: &str = "deviation.csv";

/// Renders `deviation.csv` for `runs`, or `None` when the scenario has no
/// `deviation` event: one row per run, event and step around the
/// deviation, with columns `run`, `event` (its index in `[[events]]`),
/// `step`, `offset` (steps after the deviation: 0 at it, negative
/// before), then `price_<i>` and `profit_<i>` for each seller `i` of the
/// event's market (as many as the largest such market has; empty beyond a
/// market's sellers).
pub fn deviation_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Option<Vec<u8>>> {
    let sellers = scenario
        .events
        .iter()
        .filter_map(|e| match e.kind {
            crate::scenario::EventKind::Deviation { asset, .. } => {
                scenario.posted_market(asset).map(|p| p.sellers().len())
            }
            _ => None,
        })
        .max();
    let Some(n) = sellers else {
        return Ok(None);
    };
    let io = |e: csv::Error| Error::writing(DEVIATION_FILE, std::io::Error::other(e));
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = ["run", "event", "step", "offset"]
        .map(String::from)
        .to_vec();
    header.extend((0..n).map(|i| format!("price_{i}")));
    header.extend((0..n).map(|i| format!("profit_{i}")));
    w.write_record(&header).map_err(io)?;
    let mut buf = ryu::Buffer::new();
    for out in runs {
        for r in &out.records.deviation {
            let mut row = vec![
                out.run.to_string(),
                r.event.to_string(),
                r.step.to_string(),
                r.offset.to_string(),
            ];
            for values in [&r.prices, &r.profits] {
                row.extend(
                    (0..n).map(|i| values.get(i).map_or(String::new(), |&x| num(&mut buf, x))),
                );
            }
            w.write_record(&row).map_err(io)?;
        }
    }
    w.into_inner()
        .map(Some)
        .map_err(|e| Error::writing(DEVIATION_FILE, e.into_error()))
}

/// The file of the affiliate contracts' per-step records.
pub const CONTRACTS_FILE: &str = "contracts.csv";

/// Renders `contracts.csv` for `runs`, or `None` when the scenario has no
/// `[[contracts]]`: one row per run, recorded step (as `assets.csv`,
/// `record_every`), contract and affiliate, with
/// columns `run`, `step`, `contract` (its name), `affiliate` (the agent,
/// numbered from 0 across groups), `referrals` (brought in so far),
/// `attributed` (tokens its referrals hold), `effort`, `reward` (earned
/// since the previous row), `vested` (paid since then), `clawed_back` (since
/// then) and `budget_left`
/// (the contract's escrow after the step), amounts in units.
pub fn contracts_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Option<Vec<u8>>> {
    if scenario.contracts.is_empty() {
        return Ok(None);
    }
    let io = |e: csv::Error| Error::writing(CONTRACTS_FILE, std::io::Error::other(e));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "run",
        "step",
        "contract",
        "affiliate",
        "referrals",
        "attributed",
        "effort",
        "reward",
        "vested",
        "clawed_back",
        "budget_left",
    ])
    .map_err(io)?;
    let mut buf = ryu::Buffer::new();
    let units = |x: u128| crate::ledger::wide_to_units(x);
    for out in runs {
        for r in &out.records.contracts {
            let name = &scenario.contracts[r.contract as usize].name;
            let row = [
                out.run.to_string(),
                r.step.to_string(),
                name.clone(),
                r.affiliate.to_string(),
                r.referrals.to_string(),
                num(&mut buf, crate::ledger::to_units(r.attributed)),
                num(&mut buf, r.effort),
                num(&mut buf, units(r.reward)),
                num(&mut buf, units(r.vested)),
                num(&mut buf, units(r.clawed_back)),
                num(&mut buf, units(r.budget_left)),
            ];
            w.write_record(&row).map_err(io)?;
        }
    }
    w.into_inner()
        .map(Some)
        .map_err(|e| Error::writing(CONTRACTS_FILE, e.into_error()))
}

/// Renders `trades.csv` for `runs`, or `None` when the scenario does not
/// ask for it (`[output] trades = true`).
pub fn trades_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Option<Vec<u8>>> {
    if !scenario.output.trades {
        return Ok(None);
    }
    render(scenario, runs, Table::Trades).map(Some)
}

/// The header of `agent_steps.csv` for `scenario`: `run,step,group,agent`,
/// then the amount columns of `agents.csv` (`balance,holdings,wealth`,
/// `holdings_<ASSET>` with more than one asset, the locked amounts).
pub fn agent_step_columns(scenario: &Scenario) -> Vec<String> {
    headers(scenario, &agent_step_table(scenario))
}

/// Renders `agent_steps.csv` for `runs`: one row per recorded agent and
/// step (`[output.agent_steps]`), or `None` when the scenario asks for no
/// per-agent records. `agent` numbers agents from 0, group by group, in
/// file order.
pub fn agent_steps_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Option<Vec<u8>>> {
    if scenario.output.agent_steps.is_none() {
        return Ok(None);
    }
    render(scenario, runs, Table::AgentSteps).map(Some)
}

/// Renders `summary.json` for one run or a Monte Carlo ensemble (`runs` in
/// run order, at least one).
///
/// The layout is a single run's: run metadata, then `assets`, `groups` and
/// `ledger`. For one run these are its metrics; for several, each metric's
/// mean across runs. Beside them, `distribution.<same path>` holds each
/// metric's `count` (the runs that have it), `mean`, `std`, `p5`, `p50` and
/// `p95` across runs. The same inputs give the same bytes.
pub fn summary_json(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<u8>> {
    summary_json_with(scenario, runs, None)
}

/// Like [`summary_json`], with the measured speed last, under
/// [`PERFORMANCE_KEY`] (the only part that differs between two runs of the
/// same scenario).
pub fn summary_json_with(
    scenario: &Scenario,
    runs: &[RunOutput],
    performance: Option<&Performance>,
) -> Result<Vec<u8>> {
    let json_err = |e: serde_json::Error| Error::writing("summary.json", e);
    let values = runs
        .iter()
        .map(|r| serde_json::to_value(&r.summary))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(json_err)?;
    summary_json_of(scenario, &values, performance)
}

/// [`summary_json_with`] from the runs' metrics as `summary.json` values
/// (each run's [`RunSummary`](crate::engine::RunSummary) through
/// `serde_json::to_value`), in run order: what a merge of Monte Carlo
/// shards has.
pub fn summary_json_of(
    scenario: &Scenario,
    runs: &[serde_json::Value],
    performance: Option<&Performance>,
) -> Result<Vec<u8>> {
    let json_err = |e: serde_json::Error| Error::writing("summary.json", e);
    let ensemble = crate::experiment::aggregate_values(runs)?;
    // The first run's layout (names, strings), with every number replaced
    // by its mean across runs (for one run, the mean is the value itself,
    // which keeps whole numbers whole).
    let mut metrics = runs[0].clone();
    if runs.len() > 1 {
        let means: std::collections::HashMap<&str, f64> = ensemble
            .means
            .iter()
            .map(|(p, v)| (p.as_str(), *v))
            .collect();
        replace_numbers(&mut metrics, "", &means);
    }
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), VERSION.into());
    doc.insert("scenario".into(), scenario.origin.clone().into());
    doc.insert("scenario_hash".into(), scenario.hash().into());
    doc.insert("seed".into(), scenario.simulation.seed.into());
    doc.insert("steps".into(), scenario.simulation.steps.into());
    doc.insert("runs".into(), (runs.len() as u64).into());
    doc.insert("agents".into(), scenario.agent_count().into());
    if let serde_json::Value::Object(m) = metrics {
        doc.extend(m);
    }
    doc.insert(
        "distribution".into(),
        crate::experiment::nest(&ensemble.distributions),
    );
    if let Some(p) = performance {
        doc.insert(
            PERFORMANCE_KEY.into(),
            serde_json::to_value(p).map_err(json_err)?,
        );
    }
    let mut bytes = serde_json::to_vec_pretty(&serde_json::Value::Object(doc)).map_err(json_err)?;
    bytes.push(b'\n');
    Ok(bytes)
}

fn replace_numbers(
    value: &mut serde_json::Value,
    path: &str,
    means: &std::collections::HashMap<&str, f64>,
) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                replace_numbers(v, &child, means);
            }
        }
        // A null in the first run (no value there) takes the mean of the
        // runs that have one; a mean over no runs is NaN, written as null.
        serde_json::Value::Number(_) | serde_json::Value::Null => {
            if let Some(&mean) = means.get(path) {
                // A count (an integer in a run) whose mean is whole, such
                // as a group's `agents`, stays an integer.
                let count = value.is_u64() && mean.fract() == 0.0 && (0.0..9.0e15).contains(&mean);
                *value = if count {
                    serde_json::Value::from(mean as u64)
                } else {
                    serde_json::Value::from(mean)
                };
            }
        }
        _ => {}
    }
}

/// Writes the outputs of a single run into `dir` (created if missing):
/// `assets.csv`, `agents.csv`, `summary.json` and `scenario.toml`. Returns
/// the paths written.
pub fn write_run(dir: &Path, scenario: &Scenario, out: &RunOutput) -> Result<Vec<PathBuf>> {
    write_runs(dir, scenario, std::slice::from_ref(out))
}

/// Writes the outputs of a Monte Carlo ensemble (runs in run order) into
/// `dir`: the CSV files hold every run (`run` column), `summary.json` the
/// means and distributions across runs.
pub fn write_runs(dir: &Path, scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<PathBuf>> {
    write_atomically(dir, &run_files(scenario, runs)?)
}

/// The files of a run or an ensemble, rendered: `assets.csv`, `agents.csv`,
/// `summary.json` and `scenario.toml`, in that order, then
/// `agent_steps.csv` if the scenario asks for per-agent records,
/// `trades.csv` if it asks for the trade log, `deviation.csv` if it has
/// `deviation` events and `contracts.csv` if it has `[[contracts]]` (for
/// writers that add formats beside them).
pub fn run_files(scenario: &Scenario, runs: &[RunOutput]) -> Result<Vec<(&'static str, Vec<u8>)>> {
    run_files_with(scenario, runs, None)
}

/// Like [`run_files`], with the measured speed in `summary.json` (see
/// [`summary_json_with`]).
pub fn run_files_with(
    scenario: &Scenario,
    runs: &[RunOutput],
    performance: Option<&Performance>,
) -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut files = vec![
        ("assets.csv", assets_csv(scenario, runs)?),
        ("agents.csv", agents_csv(scenario, runs)?),
        (
            "summary.json",
            summary_json_with(scenario, runs, performance)?,
        ),
        ("scenario.toml", scenario_toml(scenario)?),
    ];
    if let Some(bytes) = agent_steps_csv(scenario, runs)? {
        files.push((AGENT_STEPS_FILE, bytes));
    }
    if let Some(bytes) = trades_csv(scenario, runs)? {
        files.push((TRADES_FILE, bytes));
    }
    if let Some(bytes) = deviation_csv(scenario, runs)? {
        files.push((DEVIATION_FILE, bytes));
    }
    if let Some(bytes) = contracts_csv(scenario, runs)? {
        files.push((CONTRACTS_FILE, bytes));
    }
    if let Some(bytes) = incentives_csv(scenario, runs)? {
        files.push((INCENTIVES_FILE, bytes));
    }
    if let Some(bytes) = crate::monitor::alerts_csv(scenario, runs)? {
        files.push((crate::monitor::ALERTS_FILE, bytes));
    }
    Ok(files)
}

/// Renders a scenario as the TOML it runs (overrides applied).
pub fn scenario_toml(scenario: &Scenario) -> Result<Vec<u8>> {
    toml::to_string(scenario.to_table())
        .map(String::into_bytes)
        .map_err(|e| Error::writing("scenario.toml", std::io::Error::other(e)))
}

/// Writes one file at `path` that is not part of a results folder (a
/// game's equilibria, say): under a temporary name beside it, synced, then
/// renamed into place (its folder created if missing), so that a reader
/// sees the old file or the new one, never a part; nothing else in its
/// folder is touched.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::usage(format!("{}: names no file", path.display())))?;
    let temp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let io = |what: &'static str, p: &Path, e: std::io::Error| Error::io(p, what, e);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| io("creating the folder", parent, e))?;
    }
    let result = std::fs::File::create(&temp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, bytes).and_then(|()| f.sync_all()))
        .map_err(|e| io("writing", &temp, e))
        .and_then(|()| {
            std::fs::rename(&temp, path).map_err(|e| io("renaming into place", path, e))
        });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// Writes `files` (name, content) as the results in `dir` (created if
/// missing), all or nothing: they are written and synced in a staging
/// folder and switched into place together, replacing what an earlier
/// Agora command wrote there and keeping every other file (see
/// [`OutputDir`]). Returns the paths written.
pub fn write_atomically(dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<Vec<PathBuf>> {
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let mut out = OutputDir::open(dir, &names)?;
    for (name, bytes) in files {
        out.write(name, bytes)?;
    }
    Ok(out.commit()?.paths)
}
