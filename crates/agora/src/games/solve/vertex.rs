//! Vertex enumeration: every vertex of both best-response polytopes, then
//! every completely labelled pair.
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
    let exact = ExactGame::new(game);
    check_size(exact.rows(), exact.columns(), "the degeneracy check")?;
    Ok(vertices(Tableau::row_polytope(&exact.b_pos))?.degenerate
        || vertices(Tableau::column_polytope(&exact.a_pos))?.degenerate)
}

pub(super) fn enumerate(exact: &ExactGame) -> Result<VertexEnumeration> {
    let (m, n) = (exact.rows(), exact.columns());
    check_size(m, n, "vertex enumeration")?;
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
