//! The fast first pass of vertex enumeration: the same walk over the
//! polytopes' bases in f64, trusted only where every decision it makes has
//! a margin far above its rounding error.
//!
//! Each basis is solved afresh (LU with partial pivoting, so errors do not
//! build up along the walk): the basic values `β = M⁻¹1` and, for each
//! entering variable, its column `α = M⁻¹a`. The pass gives up — and the
//! exact integer enumeration runs instead — as soon as a basis is
//! ill-conditioned (`‖M‖∞‖M⁻¹‖∞ > 10⁶`), a basic value is within 10⁻⁸ of
//! zero (a degenerate vertex, or nearly), or the two smallest ratios of a
//! ratio test are within a relative 10⁻⁸ of each other — counting, for an
//! entry of `α` within 10⁻⁸ of zero (whose sign is not certain), the
//! smallest ratio it could give. With payoffs scaled into [1, 2] the rounding errors
//! are below 10⁻¹⁶ × 10⁶ × the size, so when the pass finishes, every
//! comparison it made came out as it would have exactly: it visited the
//! same bases as the exact walk, all of them nondegenerate, so the game is
//! nondegenerate and its vertices' label sets are exact. Each equilibrium
//! matched from them is then computed and checked exactly from its
//! supports.

use super::tableau::{bit, Labels};
use crate::games::game::Matrix;
use std::collections::HashSet;

/// Margin below which a value counts as "maybe zero" or two ratios as
/// "maybe equal".
const MARGIN: f64 = 1e-8;

/// Largest accepted condition number of a basis.
const MAX_CONDITION: f64 = 1e6;

/// A best-response polytope `{z ≥ 0 : C z_structural + z_slack = 1}` with
/// its full constraint matrix (structural and slack columns).
pub(super) struct FloatPolytope {
    rows: usize,
    vars: usize,
    /// Row-major `rows × vars`.
    coefficients: Vec<f64>,
    slacks: Vec<usize>,
}

impl FloatPolytope {
    /// The row player's polytope from B scaled into [1, 2].
    pub fn row(b: &Matrix) -> Self {
        let (m, n) = (b.rows(), b.cols());
        let b = scaled(b);
        let mut coefficients = vec![0.0; n * (m + n)];
        for j in 0..n {
            for i in 0..m {
                coefficients[j * (m + n) + i] = b.get(i, j);
            }
            coefficients[j * (m + n) + m + j] = 1.0;
        }
        FloatPolytope {
            rows: n,
            vars: m + n,
            coefficients,
            slacks: (m..m + n).collect(),
        }
    }

    /// The column player's polytope from A scaled into [1, 2].
    pub fn column(a: &Matrix) -> Self {
        let (m, n) = (a.rows(), a.cols());
        let a = scaled(a);
        let mut coefficients = vec![0.0; m * (m + n)];
        for i in 0..m {
            coefficients[i * (m + n) + i] = 1.0;
            for j in 0..n {
                coefficients[i * (m + n) + m + j] = a.get(i, j);
            }
        }
        FloatPolytope {
            rows: m,
            vars: m + n,
            coefficients,
            slacks: (0..m).collect(),
        }
    }

    fn column_of(&self, v: usize) -> impl Iterator<Item = f64> + '_ {
        (0..self.rows).map(move |r| self.coefficients[r * self.vars + v])
    }

    /// The label sets of all vertices, or `None` if some decision was too
    /// close to call in f64.
    pub fn vertex_labels(&self) -> Option<Vec<Labels>> {
        let all: Labels = (0..self.vars).fold(0, |l, v| l | bit(v));
        let start: Vec<usize> = self.slacks.clone();
        let key = |basis: &[usize]| basis.iter().fold(0 as Labels, |k, &v| k | bit(v));
        let mut seen = HashSet::from([key(&start)]);
        let mut stack = vec![start];
        let mut labels = Vec::new();
        while let Some(basis) = stack.pop() {
            let basis_key = key(&basis);
            labels.push(all & !basis_key);
            let inverse = self.inverse(&basis)?;
            let d = self.rows;
            let beta: Vec<f64> = (0..d)
                .map(|r| inverse[r * d..(r + 1) * d].iter().sum())
                .collect();
            if beta.iter().any(|&b| b < MARGIN) {
                return None;
            }
            for entering in (0..self.vars).filter(|v| basis_key & bit(*v) == 0) {
                let column: Vec<f64> = self.column_of(entering).collect();
                let mut best: Option<(f64, usize)> = None;
                let mut second = f64::INFINITY;
                // The smallest ratio a row whose entry is too close to zero
                // to sign could have, were the entry positive.
                let mut ambiguous = f64::INFINITY;
                for r in 0..d {
                    let alpha: f64 = inverse[r * d..(r + 1) * d]
                        .iter()
                        .zip(&column)
                        .map(|(a, c)| a * c)
                        .sum();
                    if alpha.abs() < MARGIN {
                        ambiguous = ambiguous.min(beta[r] / MARGIN);
                        continue;
                    }
                    if alpha < 0.0 {
                        continue;
                    }
                    let ratio = beta[r] / alpha;
                    match best {
                        Some((b, _)) if ratio >= b => second = second.min(ratio),
                        _ => {
                            if let Some((b, _)) = best {
                                second = second.min(b);
                            }
                            best = Some((ratio, r));
                        }
                    }
                }
                let (ratio, row) = best?;
                if second.min(ambiguous) - ratio <= MARGIN * ratio {
                    return None;
                }
                let mut next = basis.clone();
                next[row] = entering;
                if seen.insert(key(&next)) {
                    stack.push(next);
                }
            }
        }
        Some(labels)
    }

    /// The inverse of the basis matrix (row-major), or `None` if it is
    /// singular or ill-conditioned.
    fn inverse(&self, basis: &[usize]) -> Option<Vec<f64>> {
        let d = self.rows;
        let w = 2 * d;
        // [M | I], reduced to [I | M⁻¹] by Gauss–Jordan with partial pivoting.
        let mut a = vec![0.0; d * w];
        for r in 0..d {
            for (c, &v) in basis.iter().enumerate() {
                a[r * w + c] = self.coefficients[r * self.vars + v];
            }
            a[r * w + d + r] = 1.0;
        }
        let norm = (0..d)
            .map(|r| a[r * w..r * w + d].iter().map(|x| x.abs()).sum::<f64>())
            .fold(0.0, f64::max);
        for c in 0..d {
            let p = (c..d).max_by(|&x, &y| a[x * w + c].abs().total_cmp(&a[y * w + c].abs()))?;
            if a[p * w + c] == 0.0 {
                return None;
            }
            if p != c {
                for k in 0..w {
                    a.swap(p * w + k, c * w + k);
                }
            }
            let pivot = a[c * w + c];
            for k in 0..w {
                a[c * w + k] /= pivot;
            }
            for r in 0..d {
                let f = a[r * w + c];
                if r != c && f != 0.0 {
                    for k in 0..w {
                        a[r * w + k] -= f * a[c * w + k];
                    }
                }
            }
        }
        let inverse: Vec<f64> = (0..d)
            .flat_map(|r| a[r * w + d..(r + 1) * w].to_vec())
            .collect();
        let inverse_norm = (0..d)
            .map(|r| {
                inverse[r * d..(r + 1) * d]
                    .iter()
                    .map(|x| x.abs())
                    .sum::<f64>()
            })
            .fold(0.0, f64::max);
        (norm * inverse_norm <= MAX_CONDITION).then_some(inverse)
    }
}

/// `M` shifted and scaled into [1, 2] (same best responses); a constant
/// matrix becomes all ones.
fn scaled(m: &Matrix) -> Matrix {
    let (lo, hi) = m
        .data()
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let range = hi - lo;
    let data = m
        .data()
        .iter()
        .map(|&x| {
            if range > 0.0 {
                1.0 + (x - lo) / range
            } else {
                1.0
            }
        })
        .collect();
    Matrix::new(m.rows(), m.cols(), data).unwrap_or_else(|| m.clone())
}
