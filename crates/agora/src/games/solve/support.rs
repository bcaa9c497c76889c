//! Support enumeration, and the exact check of one pair of supports.
//!
//! In a nondegenerate game every equilibrium has supports of equal size k,
//! and on them each player's mixed strategy is the unique solution of the
//! indifference equations that make the other player's supported strategies
//! pay the same. [`support_enumeration`] goes through every pair of supports
//! of equal size (k = 1, 2, …), solves both systems in f64 with partial
//! pivoting as a cheap filter with a loose tolerance (1e-7), and hands the
//! pairs that pass, and those whose f64 system is near singular, to the
//! exact check [`support_equilibrium`], which alone decides. The f64 pass
//! only saves time: nothing it lets through is reported unchecked.

use super::{check_size, sorted, Equilibrium, ExactGame};
use crate::error::{Error, Result};
use crate::games::exact::{solve_exact, IntMatrix};
use crate::games::game::{Matrix, NormalFormGame};
use num_bigint::BigInt;
use num_traits::{Signed, Zero};

/// The equilibrium whose supports are exactly `rows` and `columns` (of
/// equal size), if there is one and the indifference equations determine
/// it: each player's strategies on its support solve the equations making
/// the other's supported strategies equally good, are positive there, and
/// no strategy outside the support pays more. `None` if not (or if the
/// equations are singular, which happens only in a degenerate game). Exact.
pub fn support_equilibrium(
    game: &NormalFormGame,
    rows: &[usize],
    columns: &[usize],
) -> Result<Option<Equilibrium>> {
    check_support(rows, game.rows(), "row")?;
    check_support(columns, game.columns(), "column")?;
    if rows.len() != columns.len() {
        return Err(Error::usage(format!(
            "a support check needs supports of equal size, found {} rows and {} columns",
            rows.len(),
            columns.len()
        )));
    }
    exact_check(&ExactGame::new(game), rows, columns)
}

fn check_support(support: &[usize], n: usize, side: &str) -> Result<()> {
    let sorted = support.windows(2).all(|w| w[0] < w[1]);
    if support.is_empty() || !sorted || support.iter().any(|&i| i >= n) {
        return Err(Error::usage(format!(
            "a {side} support must be distinct increasing strategy indices below {n}, found {support:?}"
        )));
    }
    Ok(())
}

/// Every equilibrium with supports of equal size (every equilibrium of a
/// nondegenerate game), in listing order.
pub fn support_enumeration(game: &NormalFormGame) -> Result<Vec<Equilibrium>> {
    enumerate(game, &ExactGame::new(game))
}

pub(super) fn enumerate(game: &NormalFormGame, exact: &ExactGame) -> Result<Vec<Equilibrium>> {
    let (m, n) = (game.rows(), game.columns());
    // The subsets are counted in u128 bit masks.
    check_size(m, n, "support enumeration")?;
    // Scaled once to entries of at most 1 in magnitude, so that the
    // filter's tolerance is relative.
    let a = unit_scaled(game.row_payoffs());
    let bt = unit_scaled(&game.column_payoffs().transpose());
    let mut found = Vec::new();
    let mut work = Work::default();
    for k in 1..=m.min(n) {
        for rows in Subsets::new(m, k) {
            for columns in Subsets::new(n, k) {
                // The column player's mix makes the row player indifferent
                // on `rows`; then the row player's mix, the column player on
                // `columns`.
                let plausible =
                    work.plausible(&a, &rows, &columns) && work.plausible(&bt, &columns, &rows);
                if plausible {
                    if let Some(eq) = exact_check(exact, &rows, &columns)? {
                        found.push(eq);
                    }
                }
            }
        }
    }
    Ok(sorted(found))
}

/// The exact check of one support pair.
pub(super) fn exact_check(
    exact: &ExactGame,
    rows: &[usize],
    columns: &[usize],
) -> Result<Option<Equilibrium>> {
    let row_player = Facing {
        payoffs: &exact.a,
        transposed: false,
    };
    let column_player = Facing {
        payoffs: &exact.b,
        transposed: true,
    };
    let Some(yw) = indifferent_mix(row_player, rows, columns) else {
        return Ok(None);
    };
    let Some(xw) = indifferent_mix(column_player, columns, rows) else {
        return Ok(None);
    };
    exact.equilibrium(&xw, &yw).map(Some)
}

/// One player's payoffs, seen as (its own strategy, the opponent's).
#[derive(Clone, Copy)]
struct Facing<'a> {
    payoffs: &'a IntMatrix,
    /// False for the row player (own strategies are A's rows), true for the
    /// column player (own strategies are B's columns).
    transposed: bool,
}

impl Facing<'_> {
    fn get(&self, own: usize, other: usize) -> &BigInt {
        match self.transposed {
            false => self.payoffs.get(own, other),
            true => self.payoffs.get(other, own),
        }
    }

    fn own_strategies(&self) -> usize {
        match self.transposed {
            false => self.payoffs.rows,
            true => self.payoffs.cols,
        }
    }

    fn other_strategies(&self) -> usize {
        match self.transposed {
            false => self.payoffs.cols,
            true => self.payoffs.rows,
        }
    }
}

/// The opponent's weights (zero off `mixed`) that make `player` indifferent
/// among `indifferent` and no better off elsewhere, exactly; `None` if there
/// are none, they are not unique, or one is not positive.
fn indifferent_mix(
    player: Facing<'_>,
    indifferent: &[usize],
    mixed: &[usize],
) -> Option<Vec<BigInt>> {
    let k = mixed.len();
    // Unknowns: the k weights, then the player's payoff u.
    let mut system: Vec<Vec<BigInt>> = indifferent
        .iter()
        .map(|&own| {
            let mut row: Vec<BigInt> = mixed.iter().map(|&s| player.get(own, s).clone()).collect();
            row.push(BigInt::from(-1));
            row.push(BigInt::zero());
            row
        })
        .collect();
    let mut total = vec![BigInt::from(1); k];
    total.push(BigInt::zero());
    total.push(BigInt::from(1));
    system.push(total);
    let (z, _det) = solve_exact(system)?;
    if z[..k].iter().any(|w| !w.is_positive()) {
        return None;
    }
    let value = &z[k];
    for own in 0..player.own_strategies() {
        let earned: BigInt = mixed
            .iter()
            .zip(&z)
            .map(|(&s, w)| player.get(own, s) * w)
            .sum();
        if &earned > value {
            return None;
        }
    }
    let mut weights = vec![BigInt::zero(); player.other_strategies()];
    for (&s, w) in mixed.iter().zip(z) {
        weights[s] = w;
    }
    Some(weights)
}

/// Buffers for the f64 filter.
#[derive(Default)]
struct Work {
    system: Vec<f64>,
    solution: Vec<f64>,
}

/// The f64 filter's tolerance, relative to the payoffs' magnitude: far
/// above rounding error, so that no true equilibrium is filtered out.
const FILTER: f64 = 1e-7;

impl Work {
    /// Whether a mix on `mixed` may make the opponent (rows of `m`)
    /// indifferent on `indifferent` and no better off elsewhere; true when
    /// unsure (a near-singular system).
    fn plausible(&mut self, m: &Matrix, indifferent: &[usize], mixed: &[usize]) -> bool {
        let k = mixed.len();
        let w = k + 2;
        let scale = m.data().iter().fold(1.0f64, |s, x| s.max(x.abs()));
        self.system.clear();
        for &o in indifferent {
            self.system
                .extend(mixed.iter().map(|&s| m.get(o, s) / scale));
            self.system.extend([-1.0, 0.0]);
        }
        self.system.extend(std::iter::repeat_n(1.0, k));
        self.system.extend([0.0, 1.0]);
        let n = k + 1;
        let s = &mut self.system;
        for c in 0..n {
            let p = (c..n)
                .max_by(|&a, &b| s[a * w + c].abs().total_cmp(&s[b * w + c].abs()))
                .unwrap_or(c);
            if s[p * w + c].abs() < 1e-12 {
                return true;
            }
            if p != c {
                for col in 0..w {
                    s.swap(p * w + col, c * w + col);
                }
            }
            for r in c + 1..n {
                let f = s[r * w + c] / s[c * w + c];
                if f != 0.0 {
                    for col in c..w {
                        s[r * w + col] -= f * s[c * w + col];
                    }
                }
            }
        }
        self.solution.clear();
        self.solution.resize(n, 0.0);
        for r in (0..n).rev() {
            let tail: f64 = (r + 1..n).map(|c| s[r * w + c] * self.solution[c]).sum();
            self.solution[r] = (s[r * w + n] - tail) / s[r * w + r];
        }
        if self.solution[..k].iter().any(|&p| p < -FILTER) {
            return false;
        }
        let value = self.solution[k];
        (0..m.rows()).all(|o| {
            let earned: f64 = mixed
                .iter()
                .zip(&self.solution)
                .map(|(&s, p)| m.get(o, s) * p)
                .sum();
            earned <= value + FILTER
        })
    }
}

/// `m` divided by its largest magnitude (and by 1 if that is smaller).
fn unit_scaled(m: &Matrix) -> Matrix {
    let scale = m.data().iter().fold(1.0f64, |s, x| s.max(x.abs()));
    let data = m.data().iter().map(|x| x / scale).collect();
    Matrix::new(m.rows(), m.cols(), data).unwrap_or_else(|| m.clone())
}

/// The k-subsets of `0..n` in lexicographic order.
struct Subsets {
    current: Vec<usize>,
    n: usize,
    done: bool,
}

impl Subsets {
    fn new(n: usize, k: usize) -> Self {
        Subsets {
            current: (0..k).collect(),
            n,
            done: k > n,
        }
    }
}

impl Iterator for Subsets {
    type Item = Vec<usize>;
    fn next(&mut self) -> Option<Vec<usize>> {
        if self.done {
            return None;
        }
        let out = self.current.clone();
        let k = self.current.len();
        match (0..k).rev().find(|&i| self.current[i] < self.n - k + i) {
            Some(i) => {
                self.current[i] += 1;
                for j in i + 1..k {
                    self.current[j] = self.current[j - 1] + 1;
                }
            }
            None => self.done = true,
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::Subsets;

    #[test]
    fn subsets_in_order() {
        let all: Vec<Vec<usize>> = Subsets::new(4, 2).collect();
        assert_eq!(
            all,
            [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]].map(|s| s.to_vec())
        );
        assert_eq!(Subsets::new(3, 3).count(), 1);
        assert_eq!(Subsets::new(12, 6).count(), 924);
    }
}
