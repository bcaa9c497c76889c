//! Vertex enumeration: every vertex of both best-response polytopes, then
//! every completely labelled pair.
//!
//! A fast pass in f64 (see [`super::float`]) comes first; it settles a
//! nondegenerate, well-conditioned game, and gives way to the exact walk
//! below whenever one of its decisions is too close to call.
//!
//! Each polytope is explored depth first over its lexicographically feasible
//! bases, from the origin's: at each basis every nonbasic variable is
//! pivoted in (the lexicographic ratio test names the one leaving row), an
//! unseen basis is visited, and the pivot is undone on the way back (integer
//! pivoting is exactly reversible). The lexicographic bases are the vertices
//! of a perturbed, simple polytope whose graph is connected and whose
//! vertices map onto all of the original's, so every vertex is reached, and
//! a degenerate game costs no more than a nondegenerate one of its size. A
//! vertex is kept once, under its label set. A basis with a basic variable
//! at zero marks the game degenerate; then every pair of vertices is
//! checked for complementary labels, else each vertex of P is looked up by
//! the complement of its labels.

use super::float::FloatPolytope;
use super::support::exact_check;
use super::tableau::{all_labels, bit, Labels, Tableau};
use super::{check_size, sorted, Equilibrium, ExactGame};
use crate::error::Result;
use crate::games::game::NormalFormGame;
use num_bigint::BigInt;
use num_traits::Zero;
use std::collections::{HashMap, HashSet};

/// What [`vertex_enumeration`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct VertexEnumeration {
    /// Every equilibrium of a nondegenerate game, or the extreme equilibria
    /// of a degenerate one, in listing order.
    pub equilibria: Vec<Equilibrium>,
    /// Whether the game is degenerate (decided exactly).
    pub degenerate: bool,
    /// The number of vertices of the row player's polytope, origin included.
    pub row_vertices: usize,
    /// The number of vertices of the column player's polytope.
    pub column_vertices: usize,
}

/// A vertex of a best-response polytope: its labels and its strategy
/// weights (unnormalised).
struct Vertex {
    labels: Labels,
    weights: Vec<BigInt>,
}

struct Vertices {
    vertices: Vec<Vertex>,
    degenerate: bool,
}

/// Every equilibrium of `game` by vertex enumeration (the extreme ones if
/// the game is degenerate), and whether it is degenerate.
pub fn vertex_enumeration(game: &NormalFormGame) -> Result<VertexEnumeration> {
    enumerate(&ExactGame::new(game))
}

/// Whether `game` is degenerate: some mixed strategy of one player has more
/// pure best responses than strategies in its support. Exact.
pub fn is_degenerate(game: &NormalFormGame) -> Result<bool> {
    Ok(enumerate(&ExactGame::new(game))?.degenerate)
}

pub(super) fn enumerate(exact: &ExactGame) -> Result<VertexEnumeration> {
    let (m, n) = (exact.rows(), exact.columns());
    check_size(m, n, "vertex enumeration")?;
    match fast(exact)? {
        Some(found) => Ok(found),
        None => exact_enumeration(exact),
    }
}

/// Vertex enumeration in exact integer arithmetic.
fn exact_enumeration(exact: &ExactGame) -> Result<VertexEnumeration> {
    let (m, n) = (exact.rows(), exact.columns());
    let p = vertices(Tableau::row_polytope(&exact.b_pos))?;
    let q = vertices(Tableau::column_polytope(&exact.a_pos))?;
    let degenerate = p.degenerate || q.degenerate;
    let all = all_labels(m + n);
    // The origins (all of one side's strategies at zero) pair only with
    // each other: the artificial equilibrium.
    let is_origin = |v: &&Vertex| v.weights.iter().all(BigInt::is_zero);
    let mut equilibria = Vec::new();
    if degenerate {
        for x in p.vertices.iter().filter(|v| !is_origin(v)) {
            for y in q.vertices.iter().filter(|v| !is_origin(v)) {
                if x.labels | y.labels == all {
                    equilibria.push(exact.equilibrium(&x.weights, &y.weights)?);
                }
            }
        }
    } else {
        let by_labels: HashMap<Labels, &Vertex> = q
            .vertices
            .iter()
            .filter(|v| !is_origin(v))
            .map(|v| (v.labels, v))
            .collect();
        for x in p.vertices.iter().filter(|v| !is_origin(v)) {
            if let Some(y) = by_labels.get(&(all & !x.labels)) {
                equilibria.push(exact.equilibrium(&x.weights, &y.weights)?);
            }
        }
    }
    Ok(VertexEnumeration {
        equilibria: sorted(equilibria),
        degenerate,
        row_vertices: p.vertices.len(),
        column_vertices: q.vertices.len(),
    })
}

/// The f64 pass (see [`super::float`]): `None` if it could not certify its
/// decisions (a degenerate or nearly degenerate game), or if an
/// equilibrium it matched fails the exact check.
fn fast(exact: &ExactGame) -> Result<Option<VertexEnumeration>> {
    let (m, n) = (exact.rows(), exact.columns());
    let Some(p) = FloatPolytope::row(&exact.b_f64).vertex_labels() else {
        return Ok(None);
    };
    let Some(q) = FloatPolytope::column(&exact.a_f64).vertex_labels() else {
        return Ok(None);
    };
    let all = all_labels(m + n);
    let row_labels = all_labels(m);
    // The origins pair only with each other.
    let q_labels: HashSet<Labels> = q
        .iter()
        .copied()
        .filter(|&l| l != all & !row_labels)
        .collect();
    let mut equilibria = Vec::new();
    for &x in p.iter().filter(|&&l| l != row_labels) {
        if !q_labels.contains(&(all & !x)) {
            continue;
        }
        // x's support: the rows not among its labels; y's: the columns
        // that are best responses to x (labels of x, so not of y).
        let rows: Vec<usize> = (0..m).filter(|&i| x & bit(i) == 0).collect();
        let columns: Vec<usize> = (0..n).filter(|&j| x & bit(m + j) != 0).collect();
        match exact_check(exact, &rows, &columns)? {
            Some(e) => equilibria.push(e),
            None => return Ok(None),
        }
    }
    Ok(Some(VertexEnumeration {
        equilibria: sorted(equilibria),
        degenerate: false,
        row_vertices: p.len(),
        column_vertices: q.len(),
    }))
}

/// Every vertex of the polytope of `t` (which starts at the origin).
fn vertices(mut t: Tableau) -> Result<Vertices> {
    struct Frame {
        next: usize,
        undo: Option<(usize, usize)>,
    }
    let vars = t.vars();
    let mut seen_bases: HashSet<Labels> = HashSet::from([t.basis_key()]);
    let mut seen_vertices: HashSet<Labels> = HashSet::new();
    let mut found = Vertices {
        vertices: Vec::new(),
        degenerate: false,
    };
    let mut record = |t: &Tableau, found: &mut Vertices| {
        found.degenerate |= t.is_degenerate();
        let labels = t.labels();
        if seen_vertices.insert(labels) {
            found.vertices.push(Vertex {
                labels,
                weights: t.weights(),
            });
        }
    };
    record(&t, &mut found);
    let mut stack = vec![Frame {
        next: 0,
        undo: None,
    }];
    while let Some(frame) = stack.last_mut() {
        if frame.next == vars {
            if let Some((row, var)) = frame.undo {
                t.pivot(row, var);
            }
            stack.pop();
            continue;
        }
        let entering = frame.next;
        frame.next += 1;
        if t.is_basic(entering) {
            continue;
        }
        let row = t
            .leaving_row(entering)
            .ok_or_else(|| Tableau::unbounded(entering))?;
        let leaving = t.basic(row);
        let key = (t.basis_key() & !bit(leaving)) | bit(entering);
        if !seen_bases.insert(key) {
            continue;
        }
        t.pivot(row, entering);
        record(&t, &mut found);
        stack.push(Frame {
            next: 0,
            undo: Some((row, leaving)),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::game::Matrix;
    use rand::{RngExt, SeedableRng};

    fn random_game(m: usize, n: usize, seed: u64, integers: bool) -> NormalFormGame {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut draw = |_| {
            if integers {
                f64::from(rng.random_range(0..4u32))
            } else {
                rng.random::<f64>() * 10.0 - 5.0
            }
        };
        let a: Vec<f64> = (0..m * n).map(&mut draw).collect();
        let b: Vec<f64> = (0..m * n).map(&mut draw).collect();
        NormalFormGame::new(
            "random",
            Matrix::new(m, n, a).unwrap(),
            Matrix::new(m, n, b).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn the_f64_pass_agrees_with_the_exact_walk_or_steps_aside() {
        let (mut fast_games, mut exact_games) = (0, 0);
        for seed in 0..40 {
            let (m, n) = (2 + (seed as usize) % 5, 2 + (seed as usize / 5) % 5);
            for integers in [false, true] {
                let exact = ExactGame::new(&random_game(m, n, seed, integers));
                let walked = exact_enumeration(&exact).unwrap();
                match fast(&exact).unwrap() {
                    Some(found) => {
                        fast_games += 1;
                        assert!(!walked.degenerate, "seed {seed}");
                        assert_eq!(found, walked, "seed {seed}");
                    }
                    None => exact_games += 1,
                }
            }
        }
        // Continuous payoffs go the fast way; small integers, with their
        // ties, often not.
        assert!(
            fast_games >= 40 && exact_games >= 10,
            "{fast_games} fast, {exact_games} exact"
        );
    }
}
