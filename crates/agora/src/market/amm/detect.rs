//! Detecting sandwiches in a step's executed swaps.
//!
//! A sandwich leaves a signature in the order swaps execute in: the same
//! account swaps in one direction just before a victim's swap in that
//! direction, and in the other direction just after it. [`find_sandwiches`]
//! looks for exactly that, in the swaps of one step on one pool, in
//! execution order, without knowing who the attackers are: the engine
//! knows (the policies), so a detector's precision and recall can be
//! measured against that ground truth.
//!
//! An AMM market keeps the swaps of its last step
//! ([`AmmMarket::executed`](crate::market::amm_market::AmmMarket::executed)),
//! whatever its `ordering`; a monitor reads them after the clear phase and
//! calls [`find_sandwiches`] on them.

use crate::ledger::{wide_to_units, AgentId};
use crate::market::Side;

/// One swap as executed, in a step's execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutedSwap {
    /// The step.
    pub step: u64,
    /// Index of the asset.
    pub asset: u32,
    /// Who swapped.
    pub agent: AgentId,
    /// Buy (money in, tokens out) or sell (tokens in, money out).
    pub side: Side,
    /// What went in, base units.
    pub input: u64,
    /// What came out, base units.
    pub output: u64,
}

/// A sandwich found in a step's swaps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SandwichFinding {
    /// The step.
    pub step: u64,
    /// Index of the asset.
    pub asset: u32,
    /// The account that swapped before and after.
    pub attacker: AgentId,
    /// The account whose swap it surrounded.
    pub victim: AgentId,
    /// The attacker's profit in money units: for a buy-side sandwich, what
    /// the back-run paid less what the front-run cost; for a sell-side
    /// one, the tokens gained valued at the back-run's price. Negative
    /// for a sandwich that lost.
    pub score: f64,
    /// Indices of the front-run, the victim's swap and the back-run in the
    /// slice searched.
    pub swaps: [usize; 3],
}

/// The sandwiches in `swaps` (one step of one pool, in execution order):
/// every triple of consecutive swaps where the first and last are by one
/// account and the middle by another, the first and middle on the same
/// side, the last on the other side. A swap is in at most one finding
/// (the search resumes after a found back-run).
pub fn find_sandwiches(swaps: &[ExecutedSwap]) -> Vec<SandwichFinding> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + 2 < swaps.len() {
        let (front, victim, back) = (&swaps[i], &swaps[i + 1], &swaps[i + 2]);
        let shape = front.agent == back.agent
            && victim.agent != front.agent
            && front.asset == victim.asset
            && victim.asset == back.asset
            && front.side == victim.side
            && back.side == front.side.opposite();
        if !shape {
            i += 1;
            continue;
        }
        let score = match front.side {
            // Money in, money back.
            Side::Buy => wide_to_units(u128::from(back.output)) - wide_to_units(front.input.into()),
            // Tokens in, tokens back, at the back-run's price (money per token).
            Side::Sell => {
                let price = if back.output > 0 {
                    back.input as f64 / back.output as f64
                } else {
                    0.0
                };
                (wide_to_units(u128::from(back.output)) - wide_to_units(u128::from(front.input)))
                    * price
            }
        };
        found.push(SandwichFinding {
            step: front.step,
            asset: front.asset,
            attacker: front.agent,
            victim: victim.agent,
            score,
            swaps: [i, i + 1, i + 2],
        });
        i += 3;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: u64 = 1_000_000_000;

    fn swap(agent: AgentId, side: Side, input: u64, output: u64) -> ExecutedSwap {
        ExecutedSwap {
            step: 4,
            asset: 0,
            agent,
            side,
            input,
            output,
        }
    }

    #[test]
    fn a_buy_sandwich_is_found_with_the_attackers_profit() {
        let swaps = [
            swap(5, Side::Sell, UNIT, UNIT),
            swap(9, Side::Buy, 54 * UNIT, 51 * UNIT),
            swap(1, Side::Buy, 20 * UNIT, 17 * UNIT),
            swap(9, Side::Sell, 51 * UNIT, 56 * UNIT),
            swap(2, Side::Buy, UNIT, UNIT),
        ];
        let f = find_sandwiches(&swaps);
        assert_eq!(f.len(), 1);
        assert_eq!((f[0].attacker, f[0].victim, f[0].step), (9, 1, 4));
        assert_eq!(f[0].swaps, [1, 2, 3]);
        assert!((f[0].score - 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_sell_sandwich_scores_its_tokens_at_the_back_runs_price() {
        // Sells 10 tokens, the victim sells, buys back 12 tokens for 6 money.
        let swaps = [
            swap(3, Side::Sell, 10 * UNIT, 5 * UNIT),
            swap(1, Side::Sell, 4 * UNIT, 2 * UNIT),
            swap(3, Side::Buy, 6 * UNIT, 12 * UNIT),
        ];
        let f = find_sandwiches(&swaps);
        assert_eq!(f.len(), 1);
        assert!((f[0].score - 2.0 * 0.5).abs() < 1e-12, "{}", f[0].score);
    }

    #[test]
    fn look_alikes_are_not_sandwiches() {
        let cases: [[ExecutedSwap; 3]; 4] = [
            // the same account three times
            [
                swap(1, Side::Buy, UNIT, UNIT),
                swap(1, Side::Buy, UNIT, UNIT),
                swap(1, Side::Sell, UNIT, UNIT),
            ],
            // the victim trades the other way
            [
                swap(1, Side::Buy, UNIT, UNIT),
                swap(2, Side::Sell, UNIT, UNIT),
                swap(1, Side::Sell, UNIT, UNIT),
            ],
            // no back-run: the attacker buys again
            [
                swap(1, Side::Buy, UNIT, UNIT),
                swap(2, Side::Buy, UNIT, UNIT),
                swap(1, Side::Buy, UNIT, UNIT),
            ],
            // different accounts around the victim
            [
                swap(1, Side::Buy, UNIT, UNIT),
                swap(2, Side::Buy, UNIT, UNIT),
                swap(3, Side::Sell, UNIT, UNIT),
            ],
        ];
        for c in cases {
            assert!(find_sandwiches(&c).is_empty(), "{c:?}");
        }
        assert!(find_sandwiches(&[]).is_empty());
    }

    #[test]
    fn two_sandwiches_in_a_row_are_both_found() {
        let swaps = [
            swap(9, Side::Buy, 3 * UNIT, 2 * UNIT),
            swap(1, Side::Buy, UNIT, UNIT),
            swap(9, Side::Sell, 2 * UNIT, 4 * UNIT),
            swap(8, Side::Sell, 2 * UNIT, UNIT),
            swap(2, Side::Sell, UNIT, UNIT),
            swap(8, Side::Buy, UNIT, 3 * UNIT),
        ];
        let f = find_sandwiches(&swaps);
        assert_eq!(f.len(), 2);
        assert_eq!((f[0].attacker, f[1].attacker), (9, 8));
        assert_eq!(f[1].swaps, [3, 4, 5]);
    }
}
