//! A mempool: the pending swaps of a step on an AMM with
//! `ordering = "mempool"`, visible before they execute, and the order
//! they execute in.
//!
//! # The step of a mempool asset
//!
//! 1. **collect** — in the execute phase, each swap on the asset is not
//!    executed but queued as a [`PendingOrder`]: its input (cut to what
//!    the agent holds then), the least output it accepts (from its quote
//!    on the pool at the start of the step) and the priority fee it bids
//!    ([`Action::Swap`](crate::agents::Action::Swap)'s `priority_fee`; 0
//!    for a plain buy or sell);
//! 2. **watch** — the queue, in execution order, is shown to the agents
//!    whose policy watches the mempool
//!    ([`Policy::watches_mempool`](crate::agents::Policy::watches_mempool)),
//!    one after the other in a seeded order (stream 20), each seeing what
//!    the earlier ones placed; each may place [`Insertion`]s: a *bundle* of
//!    a front-run just before a target order and a back-run just after it
//!    (the back-run sells back exactly what the front-run bought). A
//!    target takes one bundle (the first placed), and never one of its
//!    own trader's;
//! 3. **execute** — in the clear phase, the orders execute by priority
//!    fee, highest first, ties in arrival order (the step's seeded
//!    order): without fees, the order is the one `ordering = "arrival"`
//!    gives, and so are the results.
//!
//! # Bundles are all or nothing
//!
//! At its target's turn, a bundle is tried on a copy of the pool: the
//! front-run, the target with its own minimum output, the back-run. If
//! any of the three fails (the target's minimum is broken because the
//! pool moved otherwise than the attacker expected, or the attacker can
//! no longer pay), the bundle is dropped (`bundles_dropped`) and the
//! target executes alone, as if unattacked. So an attacker can never make
//! its victim's swap fail — the guarantee on-chain bundle auctions
//! (Flashbots) give.
//!
//! # Priority fees
//!
//! A priority fee is paid, in money, when its swap executes (a bundle pays
//! its fee for each of its two swaps), and is **burned** through the
//! ledger ([`Ledger::burn_money`](crate::ledger::Ledger::burn_money)):
//! it leaves the economy, counted in the money burned, so conservation
//! holds to the base unit. Burning keeps the fee from moving the pool's
//! price (paid into the pool it would itself worsen the victim's price).
//! An order that cannot pay its fee is rejected.

use super::amm::ConstantProductPool;
use super::Side;
use crate::ledger::AgentId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A swap waiting in a mempool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingOrder {
    /// Its place in the step's arrival order, from 0: the id an
    /// [`Insertion`] names it by.
    pub id: u32,
    /// Who placed it.
    pub agent: AgentId,
    /// Buy (money in) or sell (tokens in).
    pub side: Side,
    /// What goes in, base units (money for a buy, tokens for a sell), cut
    /// to what the agent held when it was placed.
    pub input: u64,
    /// The least output the trader accepts, base units.
    pub min_output: u128,
    /// The priority fee it bids, base units of money.
    pub priority_fee: u64,
    /// The bundle placed around it, if any.
    pub bundle: Option<Bundle>,
}

/// A front-run and back-run placed around a target order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bundle {
    /// Who placed it.
    pub attacker: AgentId,
    /// The front-run's input, base units of the target's input side
    /// (money before a buy, tokens before a sell).
    pub front_run: u64,
    /// The priority fee paid for each of its two swaps, base units of
    /// money.
    pub priority_fee: u64,
}

/// What a watching agent asks for: a bundle around the pending order
/// `target` of the mempool of `asset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insertion {
    /// Index of the asset.
    pub asset: u32,
    /// The target's [`PendingOrder::id`].
    pub target: u32,
    /// The front-run's input, base units of the target's input side; the
    /// back-run sells back what it bought.
    pub front_run: u64,
    /// The priority fee for each of the two swaps, base units of money.
    pub priority_fee: u64,
}

/// A mempool as watching agents see it: the pool as the step's swaps
/// will find it, and the pending orders in execution order.
#[derive(Debug, Clone, PartialEq)]
pub struct MempoolView {
    /// Index of the asset.
    pub asset: usize,
    /// The pool before the step's first swap.
    pub pool: ConstantProductPool,
    /// The pending orders, in execution order, with the bundles placed so
    /// far.
    pub queue: Vec<PendingOrder>,
}

impl MempoolView {
    /// Places `bundle` around the order `target`, or says why not: no such
    /// order, one already taken, or the attacker's own.
    pub fn place(&mut self, target: u32, bundle: Bundle) -> Result<(), &'static str> {
        let Some(order) = self.queue.iter_mut().find(|o| o.id == target) else {
            return Err("no pending order with that id");
        };
        if order.bundle.is_some() {
            return Err("the order already has a bundle");
        }
        if order.agent == bundle.attacker {
            return Err("the attacker's own order");
        }
        if bundle.front_run == 0 {
            return Err("an empty front-run");
        }
        order.bundle = Some(bundle);
        Ok(())
    }
}

/// What an attacker's bundles moved through one asset over a run, base
/// units: its P&L through that asset is `money_received − money_paid −
/// fees_paid + (tokens_bought − tokens_sold) · price`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    /// Money paid into the pool (buys).
    pub money_paid: u128,
    /// Money received from the pool (sells).
    pub money_received: u128,
    /// Tokens bought from the pool.
    pub tokens_bought: u128,
    /// Tokens sold to the pool.
    pub tokens_sold: u128,
    /// Priority fees paid (burned).
    pub fees_paid: u128,
}

impl Flow {
    /// The P&L of these flows with the tokens marked at `price` (money per
    /// token), money units.
    pub fn pnl(&self, price: f64) -> f64 {
        use crate::ledger::wide_to_units;
        let tokens = wide_to_units(self.tokens_bought) - wide_to_units(self.tokens_sold);
        wide_to_units(self.money_received)
            - wide_to_units(self.money_paid)
            - wide_to_units(self.fees_paid)
            + tokens * price
    }
}

/// The mempool of one AMM: the step's pending orders and the bundles'
/// flows over the run.
#[derive(Debug, Clone, Default)]
pub struct Mempool {
    pending: Vec<PendingOrder>,
    /// Per attacker, what its bundles moved (saved with the market).
    pub(crate) flows: BTreeMap<AgentId, Flow>,
}

impl Mempool {
    /// Queues an order (its id is its place in arrival order).
    pub(crate) fn push(
        &mut self,
        agent: AgentId,
        side: Side,
        input: u64,
        min_output: u128,
        priority_fee: u64,
    ) {
        let id = self.pending.len() as u32;
        self.pending.push(PendingOrder {
            id,
            agent,
            side,
            input,
            min_output,
            priority_fee,
            bundle: None,
        });
    }

    /// Whether orders wait.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The pending orders in execution order: by priority fee, highest
    /// first, ties in arrival order (a stable sort).
    pub fn queue(&mut self) -> &[PendingOrder] {
        self.pending
            .sort_by_key(|o| (std::cmp::Reverse(o.priority_fee), o.id));
        &self.pending
    }

    /// Takes the bundles placed in `view` (the view of this mempool).
    pub(crate) fn take_bundles(&mut self, view: &MempoolView) {
        for (order, seen) in self.pending.iter_mut().zip(&view.queue) {
            debug_assert_eq!(order.id, seen.id);
            order.bundle = seen.bundle;
        }
    }

    /// Drains the queue, in execution order.
    pub(crate) fn drain(&mut self) -> Vec<PendingOrder> {
        self.queue();
        std::mem::take(&mut self.pending)
    }

    /// Each attacker's flows over the run.
    pub fn flows(&self) -> &BTreeMap<AgentId, Flow> {
        &self.flows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::amm::Fee;

    #[test]
    fn an_attackers_pnl_is_money_in_less_money_out_and_fees_plus_its_tokens_at_the_price() {
        let b = 1_000_000_000u128; // base units of one whole unit
        let flow = Flow {
            money_paid: 5 * b,
            money_received: 7 * b,
            tokens_bought: 3 * b,
            tokens_sold: b,
            fees_paid: b / 2,
        };
        // 7 − 5 − 0.5 + (3 − 1)·2 = 5.5; with the tokens worth nothing, 1.5.
        assert_eq!(flow.pnl(2.0), 5.5);
        assert_eq!(flow.pnl(0.0), 1.5);
        // Sold more than bought: −(1 + 0.25) at a price of 4 is −5.
        let short = Flow {
            tokens_bought: 0,
            tokens_sold: 5 * b / 4,
            ..Flow::default()
        };
        assert_eq!(short.pnl(4.0), -5.0);
    }

    #[test]
    fn the_queue_runs_by_fee_then_arrival_and_a_target_takes_one_bundle() {
        let mut m = Mempool::default();
        m.push(0, Side::Buy, 10, 0, 0);
        m.push(1, Side::Buy, 10, 0, 5);
        m.push(2, Side::Sell, 10, 0, 0);
        m.push(3, Side::Buy, 10, 0, 5);
        let ids: Vec<u32> = m.queue().iter().map(|o| o.id).collect();
        assert_eq!(ids, [1, 3, 0, 2]);
        let mut view = MempoolView {
            asset: 0,
            pool: ConstantProductPool::new(100, 100, Fee::ZERO).unwrap(),
            queue: m.queue().to_vec(),
        };
        let b = |attacker| Bundle {
            attacker,
            front_run: 3,
            priority_fee: 0,
        };
        assert!(view.place(0, b(9)).is_ok());
        assert!(view.place(0, b(8)).is_err(), "taken");
        assert!(view.place(2, b(2)).is_err(), "own order");
        assert!(view.place(7, b(9)).is_err(), "no such order");
        m.take_bundles(&view);
        let drained = m.drain();
        assert_eq!(drained[2].bundle, Some(b(9)));
        assert!(!m.has_pending());
    }
}
