//! `incentives.csv`: who was paid or charged what and why, per step and
//! rule, with the budget left.

use super::{Flow, IncentiveRecord};
use crate::engine::RunOutput;
use crate::error::{Error, Result};
use crate::ledger::wide_to_units;
use crate::scenario::incentives::{Currency, Funding, IncentiveRule, Participation, PenaltyTo};
use crate::scenario::{Kind, Scenario};

/// The file of the incentive rules' flows.
pub const INCENTIVES_FILE: &str = "incentives.csv";

/// Column names of `incentives.csv`: the run, the step, the rule's name,
/// the kind of flow (`reward`, `penalty`, `burn`, `mint`, `stake`,
/// `unstake`, `release`, `slash`, `exhausted`), the agent (empty for a row summed
/// over agents, the default; a rule with `record = "agents"` writes one
/// row per agent), how many agents the row sums over, the amount (units),
/// its currency (`money` or an asset's name), the reason, and what the
/// rule's funding holds and will still mint after the row (units; empty
/// for a rule that pays nothing).
pub const INCENTIVE_COLUMNS: [&str; 10] = [
    "run",
    "step",
    "rule",
    "kind",
    "agent",
    "agents",
    "amount",
    "currency",
    "reason",
    "budget_left",
];

fn currency_name(scenario: &Scenario, c: Currency) -> String {
    match c {
        Currency::Money => "money".into(),
        Currency::Token(j) => scenario.assets[j].name.clone(),
    }
}

/// The `currency` and `reason` cells of a row of `incentives.csv` (for
/// writers of other formats).
pub fn currency_and_reason(scenario: &Scenario, r: &IncentiveRecord) -> (String, String) {
    describe(scenario, r)
}

/// The currency and the reason of a row.
fn describe(scenario: &Scenario, r: &IncentiveRecord) -> (String, String) {
    let spec = &scenario.incentives[r.rule as usize];
    let asset = scenario.assets[spec.asset].name.as_str();
    let paid_in = spec
        .funding
        .as_ref()
        .map_or(Currency::Money, Funding::currency);
    let kind = spec.rule.kind().name();
    match (r.flow, &spec.rule) {
        (Flow::Reward, IncentiveRule::HoldingReward { .. }) => {
            (currency_name(scenario, paid_in), format!("held {asset}"))
        }
        (Flow::Reward, IncentiveRule::Staking { .. }) => {
            (currency_name(scenario, paid_in), format!("staked {asset}"))
        }
        (Flow::Reward, IncentiveRule::ParticipationReward { per, .. }) => (
            currency_name(scenario, paid_in),
            match per {
                Participation::RestingOrder => format!("orders resting on {asset}"),
                Participation::RequestServed => format!("requests served by {asset}"),
                Participation::TaskCompleted => "tasks completed".to_string(),
            },
        ),
        (Flow::Reward, _) => (currency_name(scenario, paid_in), format!("traded {asset}")),
        (
            Flow::Slash,
            IncentiveRule::Slashing {
                share, sell_share, ..
            },
        ) => (
            asset.into(),
            format!(
                "{share} of the stake burned: sold more than {sell_share} of its {asset} in a step"
            ),
        ),
        (Flow::Mint, _) => (currency_name(scenario, paid_in), "emission".into()),
        (Flow::Exhausted, _) => (
            currency_name(scenario, paid_in),
            format!("{kind}: budget exhausted"),
        ),
        (Flow::Penalty, IncentiveRule::EarlySellPenalty { within, to, .. }) => (
            "money".into(),
            format!(
                "sold {asset} within {within} steps of buying ({})",
                match to {
                    PenaltyTo::Treasury => "to treasury",
                    PenaltyTo::Burn => "burned",
                }
            ),
        ),
        (Flow::Burn, _) => ("money".into(), format!("fees of {asset} burned")),
        (Flow::Stake, IncentiveRule::Staking { share, .. }) => match share {
            Some(share) => (asset.into(), format!("keeps {share} of its {asset} staked")),
            None => (asset.into(), format!("staked {asset}")),
        },
        (Flow::Unstake, IncentiveRule::Staking { unbonding, .. }) => {
            (asset.into(), format!("unbonding for {unbonding} steps"))
        }
        (Flow::Release, _) => (asset.into(), "unbonded".into()),
        _ => (currency_name(scenario, paid_in), kind.into()),
    }
}

/// Renders `incentives.csv` for `runs`, or `None` for a scenario without
/// `[[incentives]]`.
pub fn incentives_csv(scenario: &Scenario, runs: &[RunOutput]) -> Result<Option<Vec<u8>>> {
    if scenario.incentives.is_empty() {
        return Ok(None);
    }
    let io = |e: csv::Error| Error::writing(INCENTIVES_FILE, std::io::Error::other(e));
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(INCENTIVE_COLUMNS).map_err(io)?;
    let mut buf = ryu::Buffer::new();
    let mut num = |x: f64| buf.format_finite(x).to_string();
    for out in runs {
        for r in &out.records.incentives {
            let (currency, reason) = describe(scenario, r);
            let row = [
                out.run.to_string(),
                r.step.to_string(),
                scenario.incentives[r.rule as usize].name.clone(),
                r.flow.name().to_string(),
                r.agent.map_or_else(String::new, |a| a.to_string()),
                r.agents.to_string(),
                num(wide_to_units(r.amount)),
                currency,
                reason,
                r.budget_left
                    .map_or_else(String::new, |b| num(wide_to_units(b))),
            ];
            w.write_record(&row).map_err(io)?;
        }
    }
    w.into_inner()
        .map(Some)
        .map_err(|e| Error::writing(INCENTIVES_FILE, e.into_error()))
}
