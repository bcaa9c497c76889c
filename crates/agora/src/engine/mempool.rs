//! The watch phase of assets with `ordering = "mempool"`, between the
//! execute phase (which queued their swaps) and the clear phase (which
//! executes them): agents whose policy watches the mempool see the queues
//! and place their bundles (see [`crate::market::mempool`]).

use super::{observe_assets, shuffle, Simulation};
use crate::agents::{AgentView, Observation};
use crate::ledger::AgentId;
use crate::market::amm::detect::ExecutedSwap;
use crate::market::mempool::{Bundle, MempoolView};
use crate::rng::{engine_rng, Stream, StreamFamily};

impl Simulation {
    /// The swaps executed on AMM asset `j` in the last step, in execution
    /// order (empty for other pricing): what
    /// [`find_sandwiches`](crate::market::amm::detect::find_sandwiches)
    /// reads. Kept by the market from one step's opening to the next.
    pub fn executed_swaps(&self, j: usize) -> &[ExecutedSwap] {
        self.markets
            .get(j)
            .and_then(|m| m.amm())
            .map_or(&[], |a| a.executed())
    }

    /// The watch phase: each agent of an active group whose policy
    /// watches the mempool, in a seeded order (stream
    /// [`Stream::Mempool`]), sees the pending orders of every mempool
    /// asset with the bundles placed before it, and places its own. A
    /// bundle it cannot place (no such order, one already taken, its own
    /// order, an asset without pending orders) is counted as a rejected
    /// action. Nothing happens, and nothing is drawn, without pending
    /// orders or without watchers.
    pub(super) fn watch_mempools(&mut self) {
        let mut views: Vec<MempoolView> = Vec::new();
        for (j, market) in self.markets.iter_mut().enumerate() {
            if let Some(view) = market.amm_mut().and_then(|a| a.mempool_view(j)) {
                views.push(view);
            }
        }
        if views.is_empty() {
            return;
        }
        let mut watchers: Vec<AgentId> = self
            .groups
            .iter()
            .filter(|g| g.active && g.policy.watches_mempool())
            .flat_map(|g| g.start..g.end)
            .collect();
        if watchers.is_empty() {
            return;
        }
        let (seed, run, t) = (self.seed, self.run, self.step);
        shuffle(
            &mut watchers,
            &mut engine_rng(seed, run, t, Stream::Mempool, 0),
        );
        let draws = StreamFamily::new(seed, run, t, Stream::Mempool);
        let private = StreamFamily::new(seed, run, 0, Stream::Private);
        let mut rejected = 0u64;
        {
            let assets = observe_assets(&self.scenario, &self.ledger, &self.markets, &self.history);
            for &agent in &watchers {
                let g = self.groups.partition_point(|g| g.end <= agent);
                let group = &self.groups[g];
                let obs = Observation {
                    step: t,
                    assets: assets.as_slice(),
                    incentives: self.incentives.infos(),
                    mempool: &views,
                };
                let me = AgentView::keyed(
                    agent,
                    agent - group.start,
                    self.ledger.balance(agent),
                    self.ledger.holdings(agent),
                    private,
                );
                // Member 0 of the family keys the shuffle above: agents
                // draw from members 1 + id.
                let mut rng = draws.rng(u64::from(agent) + 1);
                let placed = group.policy.watch(&obs, &me, &mut rng);
                for ins in placed {
                    let bundle = Bundle {
                        attacker: agent,
                        front_run: ins.front_run,
                        priority_fee: ins.priority_fee,
                    };
                    let ok = views
                        .iter_mut()
                        .find(|v| v.asset == ins.asset as usize)
                        .is_some_and(|v| v.place(ins.target, bundle).is_ok());
                    rejected += u64::from(!ok);
                }
            }
        }
        for _ in 0..rejected {
            self.ledger.count_rejected();
        }
        for view in &views {
            if let Some(amm) = self.markets[view.asset].amm_mut() {
                amm.place_bundles(view);
            }
        }
    }
}
