//! The summary `agora run` prints: per asset what matters for its kind
//! (a curve's supply, reserve and fees; a market's allocative efficiency
//! and equilibrium; a resource's utilisation, unmet share, fairness and
//! welfare), the recovery from a shock, and per group its wealth.
//!
//! Figures are rounded for display only (the files keep full precision):
//! prices and amounts to 6 significant digits, shares and indices to 4
//! decimals, counts as whole numbers, so that floating-point noise
//! (`0.9999999999999997`, `4.3e-10`) does not show.

use agora::experiment::Ensemble;
use agora::scenario::{PricingSpec, ResourcePricing};
use agora::Scenario;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// A number to 6 significant digits, without trailing zeros; tiny and huge
/// ones in scientific notation; `–` for no value (NaN).
pub(crate) fn amount(x: f64) -> String {
    if x.is_nan() {
        return "–".to_string();
    }
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if !(1e-4..1e9).contains(&a) {
        return format!("{x:.5e}");
    }
    let digits = a.log10().floor() as i32 + 1;
    let decimals = (6 - digits).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A share or an index (in [0, 1], or a small ratio) to 4 decimals.
pub(crate) fn share(x: f64) -> String {
    if x.is_nan() {
        "–".to_string()
    } else {
        // `-0.0000` is noise too
        format!("{:.4}", if x.abs() < 5e-5 { 0.0 } else { x })
    }
}

/// A count (or the mean of counts over runs) as a whole number.
pub(crate) fn count(x: f64) -> String {
    if x.is_nan() {
        "–".to_string()
    } else {
        format!("{:.0}", x.round())
    }
}

/// A signed amount (`+1.5`, `-18.4822`).
fn signed(x: f64) -> String {
    let s = amount(x);
    if x > 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

/// What prices an asset, for its line: `bonding curve`, `order book`, …
fn kind(pricing: &PricingSpec) -> String {
    match pricing {
        PricingSpec::Resource(r) => {
            let priced = match r.pricing {
                ResourcePricing::Adjustment { .. } => "price adjustment",
                ResourcePricing::Auction { .. } => "auction",
                ResourcePricing::Fixed { .. } => "fixed price",
            };
            format!("resource, {} allocation, {priced}", r.allocation.name())
        }
        other => other.kind_name().replace('_', " "),
    }
}

/// Prints the summary of a run or an ensemble on stdout.
pub(crate) fn print_result(
    scenario: &Scenario,
    ensemble: &Ensemble,
    elapsed: Duration,
    written: &[PathBuf],
) -> std::io::Result<()> {
    let mut w = std::io::stdout().lock();
    let runs = scenario.simulation().runs;
    let agent_steps =
        scenario.agent_count() as f64 * scenario.simulation().steps as f64 * runs as f64;
    writeln!(
        w,
        "{}: {} agents x {} steps x {} run{}, seed {}, in {:.3} s ({:.3e} agent-steps/s)",
        scenario.origin(),
        scenario.agent_count(),
        scenario.simulation().steps,
        runs,
        if runs == 1 { "" } else { "s" },
        scenario.simulation().seed,
        elapsed.as_secs_f64(),
        agent_steps / elapsed.as_secs_f64().max(1e-9),
    )?;
    let mean = |path: &str| {
        ensemble
            .means
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, v)| *v)
    };
    let of_runs = if runs == 1 { "" } else { " (means over runs)" };
    let over_runs = if runs == 1 { "" } else { "; means over runs" };
    if let (Some(converged), Some(learning), Some(run)) = (
        mean("simulation.converged"),
        mean("simulation.learning_steps"),
        mean("simulation.steps_run"),
    ) {
        writeln!(
            w,
            "  learning{of_runs}: {} steps, converged {}; steps run {}",
            count(learning),
            share(converged),
            count(run),
        )?;
    }
    for a in scenario.assets() {
        let m = |k: &str| mean(&format!("assets.{}.{k}", a.name)).unwrap_or(f64::NAN);
        if let PricingSpec::Game(g) = &a.pricing {
            let shares: Vec<String> = g
                .strategies()
                .iter()
                .map(|s| format!("{s} {}", share(m(&format!("final_shares.{s}")))))
                .collect();
            writeln!(
                w,
                "  asset {} (population game{over_runs}): final shares {}, matches {}, mean payoff {}, paid out {}, paid in {}, pool {}",
                a.name,
                shares.join(", "),
                count(m("matches")),
                amount(m("mean_payoff")),
                amount(m("paid_out")),
                amount(m("paid_in")),
                amount(m("final_reserve")),
            )?;
            continue;
        }
        let mut line = format!(
            "  asset {} ({}{over_runs}): final price {}, mean {}, volatility {}, log-return volatility {}",
            a.name,
            kind(&a.pricing),
            amount(m("final_price")),
            amount(m("mean_price")),
            amount(m("volatility")),
            amount(m("log_return_volatility")),
        );
        match &a.pricing {
            PricingSpec::BondingCurve { .. } => line.push_str(&format!(
                ", trades {}, supply {}, reserve {}, fees {}",
                count(m("trades")),
                amount(m("final_supply")),
                amount(m("final_reserve")),
                amount(m("fees")),
            )),
            PricingSpec::PostedPrice(_) => line.push_str(&format!(
                "; Nash price {}, monopoly price {}, mean profit {} (Nash {}, monopoly {}), collusion index {}",
                amount(m("nash_price")),
                amount(m("monopoly_price")),
                amount(m("mean_profit")),
                amount(m("nash_profit")),
                amount(m("monopoly_profit")),
                share(m("collusion_index")),
            )),
            PricingSpec::Resource(_) => line.push_str(&format!(
                ", utilisation {}, unmet share {}, Jain {}, Gini {}, welfare {}",
                share(m("utilization")),
                share(m("unmet_share")),
                share(m("jain_index")),
                share(m("gini")),
                amount(m("welfare")),
            )),
            _ => {
                line.push_str(&format!(
                    ", trades {}, volume {}",
                    count(m("trades")),
                    amount(m("volume"))
                ));
                let efficiency = m("allocative_efficiency");
                if !efficiency.is_nan() {
                    line.push_str(&format!(", allocative efficiency {}", share(efficiency)));
                }
                let p_star = m("equilibrium_price");
                if !p_star.is_nan() {
                    line.push_str(&format!(
                        ", equilibrium price {} (mean error {})",
                        amount(p_star),
                        amount(m("equilibrium_error"))
                    ));
                }
                let spread = m("mean_spread");
                if !spread.is_nan() {
                    line.push_str(&format!(", mean spread {}", amount(spread)));
                }
                let missing = m("no_equilibrium_steps");
                if missing > 0.0 {
                    line.push_str(&format!(", steps without equilibrium {}", count(missing)));
                }
            }
        }
        writeln!(w, "{line}")?;
        if let Some(at) = scenario.shock_step() {
            if mean(&format!("assets.{}.pre_shock_price", a.name)).is_some() {
                writeln!(
                    w,
                    "    shock at step {at}: pre-shock price {}, max deviation {}, drawdown {}, {}",
                    amount(m("pre_shock_price")),
                    share(m("max_deviation")),
                    share(m("shock_drawdown")),
                    recovery(ensemble, &a.name, runs),
                )?;
            }
        }
    }
    for g in scenario.groups() {
        let m = |k: &str| mean(&format!("groups.{}.{k}", g.name)).unwrap_or(f64::NAN);
        let mut line = format!(
            "  group {}{of_runs}: {} agents, mean wealth {}, pnl {}, gini {}, utility ({}) {}",
            g.name,
            g.count,
            amount(m("mean_wealth")),
            signed(m("pnl")),
            share(m("gini")),
            g.objective.name(),
            amount(m("utility"))
        );
        let unmet = m("unmet_need");
        if !unmet.is_nan() {
            line.push_str(&format!(
                ", unmet need per agent {}, needs met {}",
                amount(unmet),
                share(m("needs_met_share"))
            ));
        }
        writeln!(w, "{line}")?;
    }
    let m = |k: &str| mean(&format!("ledger.{k}")).unwrap_or(f64::NAN);
    writeln!(
        w,
        "  ledger{of_runs}: conservation error {}, reserve shortfall {}, rejected {}, clipped {}",
        amount(m("conservation_error")),
        amount(m("reserve_shortfall")),
        count(m("rejected_actions")),
        count(m("clipped_actions"))
    )?;
    for path in written {
        writeln!(w, "  wrote {}", path.display())?;
    }
    Ok(())
}

/// How the price recovered from the shock: after how many steps, or that it
/// did not; over runs, in how many and after how many on average.
fn recovery(ensemble: &Ensemble, asset: &str, runs: u64) -> String {
    let path = format!("assets.{asset}.recovery_steps");
    let Some((_, d)) = ensemble.distributions.iter().find(|(p, _)| *p == path) else {
        return "recovery –".to_string();
    };
    match (runs, d.count) {
        (1, 0) => "did not recover within the run".to_string(),
        (1, _) => format!("recovered after {} steps", count(d.mean)),
        (_, 0) => format!("recovered in none of {runs} runs"),
        (_, n) => format!(
            "recovered in {n} of {runs} runs, after {} steps on average",
            amount(d.mean)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_does_not_show() {
        assert_eq!(share(0.9999999999999997), "1.0000");
        assert_eq!(share(4.3177006492412777e-10), "0.0000");
        assert_eq!(share(-1e-12), "0.0000");
        assert_eq!(share(0.97204), "0.9720");
        assert_eq!(count(5.0), "5");
        assert_eq!(count(186667.25), "186667");
        assert_eq!(amount(102.495 + 1e-13), "102.495");
        assert_eq!(amount(36.643927), "36.6439");
        assert_eq!(amount(158007.33004980005), "158007");
        assert_eq!(amount(0.0), "0");
        assert_eq!(amount(1.5e-7), "1.50000e-7");
        assert_eq!(amount(f64::NAN), "–");
        assert_eq!(signed(-18.4822), "-18.4822");
        assert_eq!(signed(206.4749), "+206.475");
    }
}
