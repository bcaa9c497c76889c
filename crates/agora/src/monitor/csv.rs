//! `alerts.csv`: the monitors' alerts, one row each.

use crate::engine::RunOutput;
use crate::error::{Error, Result};
use crate::scenario::Scenario;

/// The file of the monitors' alerts.
pub const ALERTS_FILE: &str = "alerts.csv";

/// Column names of `alerts.csv`: the step, the monitor's name, the asset's
/// name, the agents named (ids joined by `;`), the score and the message.
/// Rows are in step order within a run, runs one after another.
pub const ALERT_COLUMNS: [&str; 6] = ["step", "monitor", "asset", "agents", "score", "message"];

/// The `agents` cell of an alert: ids joined by `;`.
pub fn agents_cell(agents: &[crate::ledger::AgentId]) -> String {
    let ids: Vec<String> = agents.iter().map(|a| a.to_string()).collect();
    ids.join(";")
}

/// Renders `alerts.csv` for `runs`, or `None` for a scenario without
/// `[[monitors]]`.
pub fn alerts_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Option<Vec<u8>>> {
    if scenario.monitors().is_empty() {
        return Ok(None);
    }
    let io = |e: ::csv::Error| Error::writing(ALERTS_FILE, std::io::Error::other(e));
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(ALERT_COLUMNS).map_err(io)?;
    let mut buf = ryu::Buffer::new();
    for out in runs {
        for a in &out.records.alerts {
            let score = if a.score.is_finite() {
                buf.format_finite(a.score).to_string()
            } else {
                String::new()
            };
            let row = [
                a.step.to_string(),
                scenario.monitors()[a.monitor as usize].name.clone(),
                scenario.assets()[a.asset as usize].name.clone(),
                agents_cell(&a.agents),
                score,
                a.message.clone(),
            ];
            w.write_record(&row).map_err(io)?;
        }
    }
    w.into_inner()
        .map(Some)
        .map_err(|e| Error::writing(ALERTS_FILE, e.into_error()))
}
