//! The Lemke–Howson algorithm: complementary pivoting from the artificial
//! equilibrium (the two origins) along the path of points that miss one
//! given label, to the equilibrium at its other end.
//!
//! Dropping label `k` (row strategy `k` if `k < m`, else column strategy
//! `k − m`) enters that variable in the polytope where it is nonbasic; the
//! variable that leaves is then entered in the other polytope, and so on
//! until the variable that leaves is `k` itself. With the lexicographic
//! ratio test the path is unique and finite in degenerate games too.

use super::tableau::Tableau;
use super::{check_size, Equilibrium, ExactGame};
use crate::error::{Error, Result};
use crate::games::game::NormalFormGame;

/// The equilibrium that Lemke–Howson reaches from the artificial one by
/// dropping `label` (`0..m` the row strategies, `m..m+n` the columns).
pub fn lemke_howson(game: &NormalFormGame, label: usize) -> Result<Equilibrium> {
    let labels = game.rows() + game.columns();
    if label >= labels {
        return Err(Error::usage(format!(
            "a Lemke-Howson label must be below m + n = {labels}, found {label}"
        )));
    }
    run(&ExactGame::new(game), label)
}

pub(super) fn run(exact: &ExactGame, label: usize) -> Result<Equilibrium> {
    check_size(exact.rows(), exact.columns(), "Lemke-Howson")?;
    let mut p = Tableau::row_polytope(&exact.b_pos);
    let mut q = Tableau::column_polytope(&exact.a_pos);
    let mut entering = label;
    let mut in_p = !p.is_basic(label);
    loop {
        let t = if in_p { &mut p } else { &mut q };
        let row = t
            .leaving_row(entering)
            .ok_or_else(|| Tableau::unbounded(entering))?;
        let leaving = t.basic(row);
        t.pivot(row, entering);
        if leaving == label {
            break;
        }
        entering = leaving;
        in_p = !in_p;
    }
    exact.equilibrium(&p.weights(), &q.weights())
}
