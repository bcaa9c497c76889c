//! Pure-strategy equilibria: cells where each player's payoff is the
//! maximum of its column (row player) or row (column player). The
//! comparisons are of the payoffs as given, so they are exact.

use super::{Equilibrium, ExactGame};
use crate::error::Result;
use crate::games::game::NormalFormGame;
use num_bigint::BigInt;

/// Every pure-strategy equilibrium of `game`, row by row.
pub fn pure_equilibria(game: &NormalFormGame) -> Result<Vec<Equilibrium>> {
    let (a, b) = (game.row_payoffs(), game.column_payoffs());
    let (m, n) = (game.rows(), game.columns());
    let exact = ExactGame::new(game);
    let unit = |k: usize, len: usize| -> Vec<BigInt> {
        (0..len).map(|i| BigInt::from(u8::from(i == k))).collect()
    };
    let mut found = Vec::new();
    for i in 0..m {
        for j in 0..n {
            let row_best = (0..m).all(|k| a.get(k, j) <= a.get(i, j));
            let column_best = (0..n).all(|l| b.get(i, l) <= b.get(i, j));
            if row_best && column_best {
                found.push(exact.equilibrium(&unit(i, m), &unit(j, n))?);
            }
        }
    }
    Ok(found)
}
