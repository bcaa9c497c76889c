//! The `sandwich` attacker: it watches the mempool of an AMM and places a
//! front-run and a back-run around each pending swap it can profit from.
//!
//! ```toml
//! policy = { kind = "sandwich", asset = "AGT", min_profit = 0.0, priority_fee = 0.0 }
//! ```
//!
//! In the watch phase ([`crate::market::mempool`]) it walks the queue in
//! execution order on a copy of the pool, replaying every order ahead of
//! the one it looks at (and the bundles placed so far, its own and
//! others'), so that it sees each target's pool as the target will. For a
//! target of another agent it takes the profit-maximising front-run that
//! keeps the target at or above its minimum output
//! ([`optimum_exact`](crate::market::amm::sandwich::optimum_exact): the
//! least of the victim's bound, the profit's peak and its budget), and
//! places the bundle if the profit exceeds `min_profit` plus the two
//! priority fees; below that it does nothing. Its budget is what it holds:
//! money for the front-run before a buy (less the fees), tokens before a
//! sell; the back-run returns the front-run with the profit, so a bundle's
//! profit is there for the next one.
//!
//! It never trades otherwise: in the decide phase it holds.

use super::{Action, AgentRng, AgentView, Observation, Policy};
use crate::market::amm::sandwich::{optimum_exact, PendingSwap};
use crate::market::mempool::{Insertion, MempoolView};
use crate::market::Side;

/// The `sandwich` policy (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandwichPolicy {
    /// The AMM asset it watches (its index).
    pub asset: usize,
    /// The least profit worth an attack, beyond the fees, base units of
    /// money.
    pub min_profit: u64,
    /// The priority fee it pays for each of a bundle's two swaps, base
    /// units of money (burned).
    pub priority_fee: u64,
}

impl SandwichPolicy {
    /// The bundles the attacker with `money` and `tokens` (base units)
    /// places on `view`, agent `me`.
    pub fn plan(
        &self,
        view: &MempoolView,
        me: crate::ledger::AgentId,
        money: u64,
        tokens: u64,
    ) -> Vec<Insertion> {
        let mut placed = Vec::new();
        let mut pool = view.pool.clone();
        let (mut money, mut tokens) = (u128::from(money), u128::from(tokens));
        let fees = 2 * u128::from(self.priority_fee);
        let threshold = u128::from(self.min_profit) + fees;
        for order in &view.queue {
            let victim = PendingSwap {
                input: u128::from(order.input),
                min_output: order.min_output,
            };
            let bundle = match order.bundle {
                Some(b) => Some(u128::from(b.front_run)),
                None if order.agent != me && money >= fees => {
                    let (budget, min_profit) = match order.side {
                        Side::Buy => (money - fees, threshold),
                        // The profit comes in tokens: the threshold in
                        // tokens at the pool's price now, rounded up.
                        Side::Sell => {
                            let t = threshold as f64 * pool.reserve_token() as f64
                                / pool.reserve_money() as f64;
                            (tokens, t.ceil() as u128)
                        }
                    };
                    match optimum_exact(&pool, order.side, &victim, budget, min_profit) {
                        Ok(Some(s)) => match u64::try_from(s.front_run) {
                            Ok(front_run) => {
                                placed.push(Insertion {
                                    asset: view.asset as u32,
                                    target: order.id,
                                    front_run,
                                    priority_fee: self.priority_fee,
                                });
                                // optimum_exact returns only profits.
                                let profit = s.back_run_output - s.front_run;
                                match order.side {
                                    Side::Buy => money = money - fees + profit,
                                    Side::Sell => {
                                        money -= fees;
                                        tokens += profit;
                                    }
                                }
                                Some(s.front_run)
                            }
                            Err(_) => None,
                        },
                        _ => None,
                    }
                }
                None => None,
            };
            // Replay the order (with its bundle) on the copy of the pool; a
            // swap that fails changes nothing, as at execution.
            let front = bundle.and_then(|a| pool.swap(order.side, a, 0).ok());
            let _ = pool.swap(order.side, victim.input, victim.min_output);
            if let Some(f) = front {
                let _ = pool.swap(order.side.opposite(), f.output, 0);
            }
        }
        placed
    }
}

impl Policy for SandwichPolicy {
    fn decide(&self, _obs: &Observation<'_>, _me: &AgentView<'_>, _rng: &mut AgentRng) -> Action {
        Action::Hold
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }

    fn watches_mempool(&self) -> bool {
        true
    }

    fn watch(
        &self,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        _rng: &mut AgentRng,
    ) -> Vec<Insertion> {
        let Some(view) = obs.mempool.iter().find(|v| v.asset == self.asset) else {
            return Vec::new();
        };
        let tokens = me.holdings.get(self.asset).copied().unwrap_or(0);
        self.plan(view, me.id, me.balance, tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::amm::{min_output, ConstantProductPool, Fee};
    use crate::market::mempool::Mempool;

    const UNIT: u128 = 1_000_000_000;

    fn issue_view(victim_input: u128, slippage: f64) -> MempoolView {
        let pool =
            ConstantProductPool::new(1000 * UNIT, 1000 * UNIT, Fee::from_fraction(0.003).unwrap())
                .unwrap();
        let quote = pool.quote_out(Side::Buy, victim_input).unwrap();
        let mut m = Mempool::default();
        m.push(
            1,
            Side::Buy,
            victim_input as u64,
            min_output(quote, slippage).unwrap(),
            0,
        );
        MempoolView {
            asset: 0,
            pool,
            queue: m.queue().to_vec(),
        }
    }

    /// Two buyers in the queue, the issue's victim and then one of 20
    /// that takes any output, before an attacker of 30: it front-runs the
    /// first with all its 30, and the second with 30 plus its profit on
    /// the first, that profit found by playing the three swaps on the pool
    /// (its 30 in, the victim's 20, the tokens it bought sold back).
    #[test]
    fn the_profit_on_one_victim_is_spent_on_the_next() {
        let p = SandwichPolicy {
            asset: 0,
            min_profit: 0,
            priority_fee: 0,
        };
        let mut view = issue_view(20 * UNIT, 0.1);
        let first = view.queue[0];
        let mut m = Mempool::default();
        m.push(1, Side::Buy, first.input, first.min_output, 0);
        m.push(2, Side::Buy, 20 * UNIT as u64, 0, 0);
        view.queue = m.queue().to_vec();
        let mut pool = view.pool.clone();
        let bought = pool.swap(Side::Buy, 30 * UNIT, 0).unwrap().output;
        pool.swap(Side::Buy, 20 * UNIT, first.min_output).unwrap();
        let back = pool.swap(Side::Sell, bought, 0).unwrap().output;
        let profit = back - 30 * UNIT;
        assert!(profit > 0);
        let placed = p.plan(&view, 0, 30 * UNIT as u64, 0);
        let front: Vec<u64> = placed.iter().map(|i| i.front_run).collect();
        assert_eq!(front, vec![30 * UNIT as u64, (30 * UNIT + profit) as u64]);
        // Its budget binds on the second too: with more money it would
        // have put in more.
        let rich = p.plan(&view, 0, 1000 * UNIT as u64, 0);
        assert!(u128::from(rich[1].front_run) > 30 * UNIT + profit);
    }

    #[test]
    fn it_front_runs_the_issue_victim_by_the_optimum() {
        let p = SandwichPolicy {
            asset: 0,
            min_profit: 0,
            priority_fee: 0,
        };
        let placed = p.plan(&issue_view(20 * UNIT, 0.1), 0, 1000 * UNIT as u64, 0);
        assert_eq!(placed.len(), 1);
        assert_eq!(placed[0].target, 0);
        assert_eq!(placed[0].front_run, 54_709_504_919);
        // Its budget binds.
        let poor = p.plan(&issue_view(20 * UNIT, 0.1), 0, 30 * UNIT as u64, 0);
        assert_eq!(poor[0].front_run, 30 * UNIT as u64);
        // Not its own order, and not below the threshold.
        assert!(p
            .plan(&issue_view(20 * UNIT, 0.1), 1, 1000 * UNIT as u64, 0)
            .is_empty());
        assert!(p
            .plan(&issue_view(3 * UNIT, 0.5), 0, 1000 * UNIT as u64, 0)
            .is_empty());
        let greedy = SandwichPolicy {
            min_profit: 2 * UNIT as u64,
            ..p
        };
        assert!(greedy
            .plan(&issue_view(20 * UNIT, 0.1), 0, 1000 * UNIT as u64, 0)
            .is_empty());
        // Fees count against the profit: 1.71 less two fees of 0.9 loses.
        let costly = SandwichPolicy {
            priority_fee: 9 * UNIT as u64 / 10,
            ..p
        };
        assert!(costly
            .plan(&issue_view(20 * UNIT, 0.1), 0, 1000 * UNIT as u64, 0)
            .is_empty());
    }

    /// As a policy it holds in the decide phase, declares its asset and
    /// watches mempools; its watch plans on the mempool of its own asset
    /// with its balance (the issue's victim, front-run by 54.71 with 1000
    /// to spend) and finds nothing on another asset's.
    #[test]
    fn it_watches_the_mempool_of_its_own_asset_with_its_balance() {
        use crate::agents::{AgentRng, AgentView};
        use rand::SeedableRng;
        let p = SandwichPolicy {
            asset: 0,
            min_profit: 0,
            priority_fee: 0,
        };
        let mempool = [issue_view(20 * UNIT, 0.1)];
        let obs = Observation {
            step: 1,
            assets: &[],
            incentives: &[],
            mempool: &mempool,
        };
        let holdings = [0, 0];
        let me = AgentView::new(5, 0, 1000 * UNIT as u64, &holdings, 1);
        let mut rng = AgentRng::seed_from_u64(1);
        assert_eq!(p.decide(&obs, &me, &mut rng), Action::Hold);
        assert_eq!(p.assets(), vec![0]);
        assert!(p.watches_mempool());
        let placed = p.watch(&obs, &me, &mut rng);
        assert_eq!(placed.len(), 1);
        assert_eq!((placed[0].asset, placed[0].front_run), (0, 54_709_504_919));
        let other = SandwichPolicy { asset: 1, ..p };
        assert!(other.watch(&obs, &me, &mut rng).is_empty());
        assert_eq!(other.assets(), vec![1]);
    }
}
