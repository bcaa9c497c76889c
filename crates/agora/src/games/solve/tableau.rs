//! The best-response polytopes of a bimatrix game as integer tableaux, with
//! exact pivoting and the lexicographic ratio test.
//!
//! With every payoff positive (see [`IntMatrix::positive`]), the row
//! player's best-response polytope is `P = {x ≥ 0 : Bᵀx ≤ 1}` and the column
//! player's `Q = {y ≥ 0 : Ay ≤ 1}`. A point's *labels* are the constraints
//! it makes tight: label `i < m` is `x_i = 0` in P and "row i is a best
//! response" (`(Ay)_i = 1`) in Q; label `m + j` is "column j is a best
//! response" in P and `y_j = 0` in Q. A pair of nonzero points whose labels
//! together are all `m + n` is, normalised, a Nash equilibrium (von Stengel,
//! "Computing equilibria for two-person games", Handbook of Game Theory 3,
//! 2002).
//!
//! A tableau has one variable per label: in P the variables `0..m` are `x`
//! and `m..m+n` the slacks of `Bᵀx ≤ 1`; in Q the variables `0..m` are the
//! slacks of `Ay ≤ 1` and `m..m+n` are `y`. Entries are integers: after each
//! pivot every entry is a minor of the original system divided by the
//! previous pivot, exactly (integer pivoting, as in lrs), and the basic
//! variables' values are the right-hand side over the common denominator
//! `det`. The ratio test breaks ties lexicographically by the columns of the
//! starting slacks, which is the simplex method on a symbolically perturbed
//! right-hand side `1 + (ε, ε², …)`: the perturbed polytope is simple, so
//! every basis has exactly one neighbour per entering variable, and a
//! degenerate game cannot make the enumeration or Lemke–Howson cycle.

use crate::error::Error;
use crate::games::exact::IntMatrix;
use num_bigint::BigInt;
use num_traits::{One, Signed, Zero};
use std::cmp::Ordering;

/// A label set: bit `k` is label `k`.
pub(super) type Labels = u128;

/// The largest `m + n` the tableau methods handle (one bit per label).
pub(super) const MAX_LABELS: usize = 128;

/// The bit of label `k`.
#[inline]
pub(super) fn bit(k: usize) -> Labels {
    1 << k
}

/// Every label of an `m × n` game.
pub(super) fn all_labels(labels: usize) -> Labels {
    if labels == MAX_LABELS {
        Labels::MAX
    } else {
        bit(labels) - 1
    }
}

const NONBASIC: usize = usize::MAX;

/// An integer simplex dictionary of `{z ≥ 0 : M z_structural + z_slack = 1}`:
/// the tableau's columns of the nonbasic variables and the right-hand
/// side (a basic variable's column is `det` times a unit vector, so it is
/// not stored, which halves the work of a pivot).
#[derive(Debug, Clone)]
pub(super) struct Tableau {
    rows: usize,
    vars: usize,
    /// Columns stored: the nonbasic variables', then the right-hand side.
    width: usize,
    t: Vec<BigInt>,
    det: BigInt,
    basis: Vec<usize>,
    row_of: Vec<usize>,
    /// The nonbasic variable of each stored column.
    nonbasic: Vec<usize>,
    col_of: Vec<usize>,
    /// The starting slack of each row, in row order: their columns are
    /// `det · basis⁻¹`, the tie-breaking vectors of the ratio test.
    slacks: Vec<usize>,
    /// The structural variables (the strategies' weights), in order.
    structural: Vec<usize>,
}

impl Tableau {
    /// The row player's polytope `P = {x ≥ 0 : Bᵀx ≤ 1}` (B positive).
    pub fn row_polytope(b: &IntMatrix) -> Self {
        let (m, n) = (b.rows, b.cols);
        Self::new(m + n, (m..m + n).collect(), (0..m).collect(), |row, var| {
            b.get(var, row).clone()
        })
    }

    /// The column player's polytope `Q = {y ≥ 0 : Ay ≤ 1}` (A positive).
    pub fn column_polytope(a: &IntMatrix) -> Self {
        let (m, n) = (a.rows, a.cols);
        Self::new(m + n, (0..m).collect(), (m..m + n).collect(), |row, var| {
            a.get(row, var - m).clone()
        })
    }

    fn new(
        vars: usize,
        slacks: Vec<usize>,
        structural: Vec<usize>,
        coefficient: impl Fn(usize, usize) -> BigInt,
    ) -> Self {
        let rows = slacks.len();
        let width = structural.len() + 1;
        let mut t = Vec::with_capacity(rows * width);
        for r in 0..rows {
            t.extend(structural.iter().map(|&v| coefficient(r, v)));
            t.push(BigInt::one());
        }
        let mut row_of = vec![NONBASIC; vars];
        for (r, &s) in slacks.iter().enumerate() {
            row_of[s] = r;
        }
        let mut col_of = vec![NONBASIC; vars];
        for (k, &v) in structural.iter().enumerate() {
            col_of[v] = k;
        }
        Tableau {
            rows,
            vars,
            width,
            t,
            det: BigInt::one(),
            basis: slacks.clone(),
            row_of,
            nonbasic: structural.clone(),
            col_of,
            slacks,
            structural,
        }
    }

    #[inline]
    fn at(&self, r: usize, k: usize) -> &BigInt {
        &self.t[r * self.width + k]
    }

    fn rhs(&self, r: usize) -> &BigInt {
        self.at(r, self.width - 1)
    }

    /// Row `r`'s entry in variable `v`'s column, for the comparison of
    /// `lex_less` (`None` stands for zero).
    fn entry(&self, r: usize, v: usize) -> Option<&BigInt> {
        match self.col_of[v] {
            NONBASIC => (self.row_of[v] == r).then_some(&self.det),
            k => Some(self.at(r, k)),
        }
    }

    /// The number of variables (labels).
    pub fn vars(&self) -> usize {
        self.vars
    }

    /// True if variable `v` is basic.
    pub fn is_basic(&self, v: usize) -> bool {
        self.row_of[v] != NONBASIC
    }

    /// The basic variable of row `r`.
    pub fn basic(&self, r: usize) -> usize {
        self.basis[r]
    }

    /// The current basis as a label set.
    pub fn basis_key(&self) -> Labels {
        self.basis.iter().fold(0, |k, &v| k | bit(v))
    }

    /// The row that leaves when the nonbasic `entering` enters: the
    /// lexicographic minimum ratio. `None` only if the polytope is
    /// unbounded in that direction, which a positive game's is not.
    pub fn leaving_row(&self, entering: usize) -> Option<usize> {
        let k = self.col_of[entering];
        let mut best: Option<usize> = None;
        for r in 0..self.rows {
            if !self.at(r, k).is_positive() {
                continue;
            }
            best = Some(match best {
                None => r,
                Some(b) if self.lex_less(r, b, k) => r,
                Some(b) => b,
            });
        }
        best
    }

    /// Whether row `r`'s ratio is lexicographically below row `s`'s for the
    /// entering column `k` (both entries in `k` positive).
    fn lex_less(&self, r: usize, s: usize, k: usize) -> bool {
        let (rk, sk) = (self.at(r, k), self.at(s, k));
        match (self.rhs(r) * sk).cmp(&(self.rhs(s) * rk)) {
            Ordering::Less => return true,
            Ordering::Greater => return false,
            Ordering::Equal => {}
        }
        for &slack in &self.slacks {
            let left = self.entry(r, slack).map(|e| e * sk);
            let right = self.entry(s, slack).map(|e| e * rk);
            let zero = BigInt::zero();
            match left
                .as_ref()
                .unwrap_or(&zero)
                .cmp(right.as_ref().unwrap_or(&zero))
            {
                Ordering::Less => return true,
                Ordering::Greater => return false,
                Ordering::Equal => {}
            }
        }
        // Distinct rows of a basis inverse are never proportional.
        false
    }

    /// Pivots the nonbasic `entering` into the basis in row `r` (its entry
    /// must be positive, as the ratio test guarantees).
    pub fn pivot(&mut self, r: usize, entering: usize) {
        let w = self.width;
        let k = self.col_of[entering];
        let pivot = self.at(r, k).clone();
        let pivot_row: Vec<BigInt> = self.t[r * w..(r + 1) * w].to_vec();
        for i in 0..self.rows {
            if i == r {
                continue;
            }
            let row = &mut self.t[i * w..(i + 1) * w];
            let factor = std::mem::take(&mut row[k]);
            for (j, (entry, p)) in row.iter_mut().zip(&pivot_row).enumerate() {
                if j == k {
                    continue;
                }
                let mut v = &*entry * &pivot;
                if !p.is_zero() && !factor.is_zero() {
                    v -= &factor * p;
                }
                *entry = v / &self.det;
            }
            // The leaving variable's column: -(the entering column).
            row[k] = -factor;
        }
        // In row r it is the old determinant.
        self.t[r * w + k] = std::mem::replace(&mut self.det, pivot);
        let leaving = self.basis[r];
        self.row_of[leaving] = NONBASIC;
        self.row_of[entering] = r;
        self.basis[r] = entering;
        self.col_of[entering] = NONBASIC;
        self.col_of[leaving] = k;
        self.nonbasic[k] = leaving;
    }

    /// True if some basic variable is zero: the point has more tight
    /// constraints than its dimension, so the game is degenerate.
    pub fn is_degenerate(&self) -> bool {
        (0..self.rows).any(|r| self.rhs(r).is_zero())
    }

    /// The labels of the current point: the nonbasic variables and the
    /// basic ones that are zero.
    pub fn labels(&self) -> Labels {
        let mut labels = 0;
        for &v in &self.nonbasic {
            labels |= bit(v);
        }
        for (r, &v) in self.basis.iter().enumerate() {
            if self.rhs(r).is_zero() {
                labels |= bit(v);
            }
        }
        labels
    }

    /// The strategies' weights at the current point, over the common
    /// denominator `det` (which normalising to a mixed strategy cancels).
    pub fn weights(&self) -> Vec<BigInt> {
        self.structural
            .iter()
            .map(|&v| match self.row_of[v] {
                NONBASIC => BigInt::zero(),
                r => self.rhs(r).clone(),
            })
            .collect()
    }

    /// An invariant error: the ratio test found no row.
    pub fn unbounded(entering: usize) -> Error {
        Error::invariant(
            0,
            format!("games: best-response polytope unbounded in variable {entering} (payoffs not positive?)"),
        )
    }
}
