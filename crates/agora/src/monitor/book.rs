//! The spoofing detector: large orders that leave the book unfilled.

use super::{decode, encode, Alert, Detector, StepView};
use crate::agents::Side;
use crate::ledger::trades::TradeKind;
use crate::ledger::{to_units, AgentId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An order as it rested at the end of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Resting {
    owner: AgentId,
    buy: bool,
    remaining: u64,
    expires: u64,
}

/// Spoofing: large orders cancelled before they execute.
///
/// The book is read at the end of every step. An order that rested at the
/// end of the previous step and is gone now, neither expired nor filled
/// (its owner's fills on its side this step are less than what it had
/// left), was cancelled (or replaced). Its score is its size over the mean
/// size of the other orders that rested beside it; at or above the
/// threshold it is an alert naming its owner. Orders placed and cancelled
/// within one step are never seen: no one decided on them.
#[derive(Debug)]
pub struct SpoofingDetector {
    threshold: f64,
    /// The orders resting at the end of the last step, by id.
    resting: BTreeMap<u64, Resting>,
}

impl SpoofingDetector {
    /// A detector alerting at `threshold` (a multiple of the mean order).
    pub fn new(threshold: f64) -> Self {
        SpoofingDetector {
            threshold,
            resting: BTreeMap::new(),
        }
    }
}

impl Detector for SpoofingDetector {
    fn watch(&mut self, view: &StepView<'_>, alerts: &mut Vec<Alert>) {
        let Some(book) = view.book else {
            return;
        };
        let t = view.step;
        let now: BTreeMap<u64, Resting> = book
            .orders()
            .map(|o| {
                (
                    o.id,
                    Resting {
                        owner: o.owner,
                        buy: o.side == Side::Buy,
                        remaining: o.remaining,
                        expires: o.expires,
                    },
                )
            })
            .collect();
        let gone: Vec<(u64, Resting)> = self
            .resting
            .iter()
            .filter(|(id, o)| !now.contains_key(id) && o.expires >= t)
            .map(|(&id, &o)| (id, o))
            .collect();
        if !gone.is_empty() {
            let mut filled: BTreeMap<(AgentId, bool), u128> = BTreeMap::new();
            for r in view.records().filter(|r| r.kind == TradeKind::Fill) {
                *filled.entry((r.agent, r.buy)).or_default() += u128::from(r.quantity);
            }
            let total: u128 = self.resting.values().map(|o| u128::from(o.remaining)).sum();
            let n = self.resting.len() as u128;
            for (_, o) in gone {
                let got = filled.get(&(o.owner, o.buy)).copied().unwrap_or(0);
                if got >= u128::from(o.remaining) || n < 2 {
                    continue;
                }
                let others = (total - u128::from(o.remaining)) as f64 / (n - 1) as f64;
                if others <= 0.0 {
                    continue;
                }
                let score = o.remaining as f64 / others;
                if score < self.threshold {
                    continue;
                }
                alerts.push(Alert {
                    step: t,
                    monitor: 0,
                    asset: 0,
                    agents: vec![o.owner],
                    score,
                    message: format!(
                        "agent {} cancelled {} of {:.4} tokens, {:.1} times the mean resting order, before it filled",
                        o.owner,
                        if o.buy { "a bid" } else { "an ask" },
                        to_units(o.remaining),
                        score
                    ),
                });
            }
        }
        self.resting = now;
    }

    fn save_state(&self) -> Vec<u8> {
        encode(&self.resting)
    }

    fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
        self.resting = decode(state)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::book::OrderBook;

    /// Watches `book` at the end of step `t`, with no trades.
    fn watch(d: &mut SpoofingDetector, t: u64, book: &OrderBook) -> Vec<Alert> {
        super::super::watch_step(d, t, &[], &[], Some(book))
    }

    /// An ask of `qty` by `owner` resting until step 100.
    fn ask(book: &mut OrderBook, owner: AgentId, price: u64, qty: u64) -> u64 {
        let (mut fills, mut cancelled) = (Vec::new(), Vec::new());
        let out = book.limit(
            owner,
            Side::Sell,
            price,
            qty,
            100,
            qty,
            &mut fills,
            &mut cancelled,
        );
        out.rested.expect("the ask rests")
    }

    /// An order cancelled beside one other is scored against that one (10
    /// times its size: an alert); one cancelled alone has nothing to be
    /// measured against (no alert).
    #[test]
    fn a_cancelled_order_is_measured_against_the_others_and_not_alone() {
        let mut book = OrderBook::new(1, 1);
        let big = ask(&mut book, 1, 10, 1000);
        ask(&mut book, 2, 11, 100);
        let mut d = SpoofingDetector::new(5.0);
        assert!(watch(&mut d, 1, &book).is_empty());
        book.cancel(big).unwrap();
        let alerts = watch(&mut d, 2, &book);
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        assert_eq!(
            (alerts[0].agents.as_slice(), alerts[0].score),
            (&[1][..], 10.0)
        );
        // alone on the book
        let mut book = OrderBook::new(1, 1);
        let lone = ask(&mut book, 1, 10, 1000);
        let mut d = SpoofingDetector::new(5.0);
        assert!(watch(&mut d, 1, &book).is_empty());
        book.cancel(lone).unwrap();
        assert!(watch(&mut d, 2, &book).is_empty());
    }
}
