//! The engine's side of the monitors ([`crate::monitor`]): after each
//! step is recorded, every monitor looks at its asset, and the attackers'
//! flows through each asset are summed (for `manipulation_loss`).

use super::Simulation;
use crate::monitor::StepView;

impl Simulation {
    /// Whether the run needs the trade log for its monitors or attackers.
    #[inline]
    pub(super) fn watches(&self) -> bool {
        !self.monitors.is_empty() || self.attack_flows.is_on()
    }

    /// Runs every monitor on the step just recorded; adds the attackers'
    /// trades to their flows.
    pub(super) fn watch(&mut self) {
        self.attack_flows.add(self.trades.records());
        if self.monitors.is_empty() {
            return;
        }
        for (i, spec) in self.scenario.monitors.iter().enumerate() {
            let j = spec.asset;
            let market = &self.markets[j];
            let posted = market.posted();
            let collusion = posted.map(|p| {
                let setup = p.setup();
                let view = p.view();
                let n = view.profits.len().max(1) as f64;
                let mean = view.profits.iter().sum::<f64>() / n;
                crate::market::posted::collusion_index(
                    mean,
                    setup.nash().mean_profit(),
                    setup.monopoly().mean_profit(),
                )
            });
            let view = StepView {
                step: self.step,
                asset: j,
                trades: self.trades.records(),
                history: &self.history[j],
                ledger: &self.ledger,
                book: market.book().map(|b| b.book()),
                collusion,
                sellers: posted.map_or(&[][..], |p| p.setup().sellers()),
                swaps: market.amm().map_or(&[][..], |a| a.executed()),
            };
            self.monitors.watch(i, &view, &mut self.records.alerts);
        }
    }
}
