//! Nash equilibria of two-player games, exactly.
//!
//! | method | finds | how |
//! |---|---|---|
//! | [`Method::All`] / [`Method::Vertex`] | every equilibrium of a nondegenerate game; the extreme equilibria of a degenerate one | [`vertex_enumeration`]: all vertices of both best-response polytopes, matched by labels |
//! | [`Method::Support`] | the equilibria with supports of equal size (all of them in a nondegenerate game) | [`support_enumeration`]: every pair of equal-size supports, each checked exactly |
//! | [`Method::Pure`] | the pure equilibria | [`pure_equilibria`] |
//! | [`Method::LemkeHowson`] | the equilibria reached from each of the `m + n` dropped labels | [`lemke_howson`] |
//!
//! All of them compute on the payoffs' exact integer form (see
//! [`exact`](super::exact)): each equilibrium is a pair of exact rational
//! mixed strategies, checked exactly to be best responses to each other
//! before it is returned (a failed check is an error, not a result), then
//! rounded to the nearest f64, so every probability is within 1.2e-16 of
//! the true one. Whether the game is degenerate (some mixed strategy with
//! more pure best responses than the size of its support) is decided
//! exactly too, from the vertices of the polytopes.

mod float;
mod lemke_howson;
mod pure;
mod support;
mod tableau;
mod vertex;

pub use lemke_howson::lemke_howson;
pub use pure::pure_equilibria;
pub use support::{support_enumeration, support_equilibrium};
pub use vertex::{is_degenerate, vertex_enumeration, VertexEnumeration};

use super::exact::{IntMatrix, Rational};
use super::game::{Matrix, NormalFormGame};
use crate::error::{Error, Result};
use num_bigint::BigInt;
use num_traits::{Signed, Zero};
use serde_json::{json, Value};
use std::fmt;
use std::str::FromStr;

/// How to look for equilibria.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Every equilibrium (vertex enumeration).
    All,
    /// Pure-strategy equilibria only.
    Pure,
    /// Support enumeration (equal-size supports).
    Support,
    /// Vertex enumeration.
    Vertex,
    /// Lemke–Howson from every dropped label.
    LemkeHowson,
}

impl Method {
    /// Every method, by name.
    pub const ALL: [Method; 5] = [
        Method::All,
        Method::Pure,
        Method::Support,
        Method::Vertex,
        Method::LemkeHowson,
    ];

    /// The method's name (`all`, `pure`, `support`, `vertex`, `lemke-howson`).
    pub fn name(self) -> &'static str {
        match self {
            Method::All => "all",
            Method::Pure => "pure",
            Method::Support => "support",
            Method::Vertex => "vertex",
            Method::LemkeHowson => "lemke-howson",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::usage(format!(
                    "unknown method {s:?}; expected one of: all, pure, support, vertex, lemke-howson"
                ))
            })
    }
}

/// A Nash equilibrium: a mixed strategy for each player, each a best
/// response to the other.
#[derive(Debug, Clone, PartialEq)]
pub struct Equilibrium {
    /// The row player's mixed strategy, rounded to the nearest f64.
    pub row: Vec<f64>,
    /// The column player's mixed strategy, rounded to the nearest f64.
    pub column: Vec<f64>,
    /// The expected payoffs `[u_row, u_column]`, rounded to the nearest f64.
    pub payoffs: [f64; 2],
    /// The row player's mixed strategy, exactly.
    pub exact_row: Vec<Rational>,
    /// The column player's mixed strategy, exactly.
    pub exact_column: Vec<Rational>,
    /// The expected payoffs, exactly.
    pub exact_payoffs: [Rational; 2],
}

impl Equilibrium {
    /// The row strategies played with positive probability.
    pub fn row_support(&self) -> Vec<usize> {
        support_of(&self.exact_row)
    }

    /// The column strategies played with positive probability.
    pub fn column_support(&self) -> Vec<usize> {
        support_of(&self.exact_column)
    }

    /// The order in which equilibria are listed: by support size, then by
    /// the row and column supports, then by the probabilities.
    fn sort_key(&self) -> (usize, Vec<usize>, Vec<usize>) {
        (
            self.row_support().len(),
            self.row_support(),
            self.column_support(),
        )
    }
}

fn support_of(x: &[Rational]) -> Vec<usize> {
    x.iter()
        .enumerate()
        .filter(|(_, p)| !p.is_zero())
        .map(|(i, _)| i)
        .collect()
}

/// What [`solve`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// The method used.
    pub method: Method,
    /// Whether the game is degenerate: some mixed strategy has more pure
    /// best responses than the size of its support. A degenerate game can
    /// have infinitely many equilibria (segments, faces); the enumerations
    /// then list the extreme ones.
    pub degenerate: bool,
    /// The equilibria found, without repetition, in a fixed order (by
    /// support size, then by supports).
    pub equilibria: Vec<Equilibrium>,
}

/// Finds the equilibria of `game` by `method`, and whether it is degenerate.
pub fn solve(game: &NormalFormGame, method: Method) -> Result<Solution> {
    let exact = ExactGame::new(game);
    let enumeration = vertex::enumerate(&exact)?;
    let equilibria = match method {
        Method::All | Method::Vertex => enumeration.equilibria,
        Method::Pure => pure_equilibria(game)?,
        Method::Support => support::enumerate(game, &exact)?,
        Method::LemkeHowson => {
            let mut found = Vec::new();
            for label in 0..game.rows() + game.columns() {
                let eq = lemke_howson::run(&exact, label)?;
                if !found.contains(&eq) {
                    found.push(eq);
                }
            }
            sorted(found)
        }
    };
    Ok(Solution {
        method,
        degenerate: enumeration.degenerate,
        equilibria,
    })
}

impl Solution {
    /// The solution as JSON: `{"game", "method", "degenerate",
    /// "equilibria": [{"row", "column", "payoffs", "support": {"row",
    /// "column"}}]}`, the supports by strategy label.
    pub fn to_json(&self, game: &NormalFormGame) -> Value {
        let labels = |idx: Vec<usize>, names: &[String]| -> Vec<String> {
            idx.into_iter().map(|i| names[i].clone()).collect()
        };
        let equilibria: Vec<Value> = self
            .equilibria
            .iter()
            .map(|e| {
                json!({
                    "row": e.row,
                    "column": e.column,
                    "payoffs": e.payoffs,
                    "support": {
                        "row": labels(e.row_support(), game.row_labels()),
                        "column": labels(e.column_support(), game.column_labels()),
                    },
                })
            })
            .collect();
        json!({
            "game": game.name(),
            "method": self.method.name(),
            "degenerate": self.degenerate,
            "equilibria": equilibria,
        })
    }
}

/// A game's payoffs in exact integer form, as the solvers use them.
#[derive(Debug, Clone)]
pub(crate) struct ExactGame {
    /// A, exactly.
    pub a: IntMatrix,
    /// B, exactly.
    pub b: IntMatrix,
    /// A shifted and scaled to entries ≥ 1 (same best responses).
    pub a_pos: IntMatrix,
    /// B shifted and scaled to entries ≥ 1.
    pub b_pos: IntMatrix,
    /// A as given, for the f64 pass.
    pub a_f64: Matrix,
    /// B as given.
    pub b_f64: Matrix,
}

impl ExactGame {
    pub fn new(game: &NormalFormGame) -> Self {
        let a = IntMatrix::from_matrix(game.row_payoffs());
        let b = IntMatrix::from_matrix(game.column_payoffs());
        let (a_pos, b_pos) = (a.positive(), b.positive());
        ExactGame {
            a,
            b,
            a_pos,
            b_pos,
            a_f64: game.row_payoffs().clone(),
            b_f64: game.column_payoffs().clone(),
        }
    }

    pub fn rows(&self) -> usize {
        self.a.rows
    }

    pub fn columns(&self) -> usize {
        self.a.cols
    }

    /// The equilibrium with row weights `xw` and column weights `yw`
    /// (nonnegative, not all zero; normalised here), after checking exactly
    /// that each is a best response to the other.
    pub fn equilibrium(&self, xw: &[BigInt], yw: &[BigInt]) -> Result<Equilibrium> {
        if !self.is_equilibrium(xw, yw) {
            return Err(Error::invariant(
                0,
                format!(
                    "games: a solver's candidate is not an equilibrium (row weights {xw:?}, column weights {yw:?})"
                ),
            ));
        }
        let normalise = |w: &[BigInt]| -> Vec<Rational> {
            let total: BigInt = w.iter().sum();
            w.iter()
                .map(|v| Rational::new(v.clone(), total.clone()).unwrap_or_else(Rational::zero))
                .collect()
        };
        let (exact_row, exact_column) = (normalise(xw), normalise(yw));
        let exact_payoffs = [self.a.bilinear(xw, yw), self.b.bilinear(xw, yw)];
        Ok(Equilibrium {
            row: exact_row.iter().map(Rational::to_f64).collect(),
            column: exact_column.iter().map(Rational::to_f64).collect(),
            payoffs: [exact_payoffs[0].to_f64(), exact_payoffs[1].to_f64()],
            exact_row,
            exact_column,
            exact_payoffs,
        })
    }

    /// Exactly: the weights are nonnegative and not all zero, every row
    /// played is a best response to the column weights, and every column
    /// played is a best response to the row weights.
    pub fn is_equilibrium(&self, xw: &[BigInt], yw: &[BigInt]) -> bool {
        let valid =
            |w: &[BigInt]| w.iter().all(|v| !v.is_negative()) && w.iter().any(|v| v.is_positive());
        if xw.len() != self.rows() || yw.len() != self.columns() || !valid(xw) || !valid(yw) {
            return false;
        }
        // A positive multiple of a mixed strategy has the same best
        // responses, so the weights need no normalising here.
        best_responses_only(&self.a.mul_vec(yw), xw) && best_responses_only(&self.b.vec_mul(xw), yw)
    }
}

/// True if every strategy with positive weight earns the maximum payoff.
fn best_responses_only(payoffs: &[BigInt], weights: &[BigInt]) -> bool {
    let Some(max) = payoffs.iter().max() else {
        return false;
    };
    payoffs
        .iter()
        .zip(weights)
        .all(|(p, w)| w.is_zero() || p == max)
}

/// Sorts equilibria into the listing order.
fn sorted(mut equilibria: Vec<Equilibrium>) -> Vec<Equilibrium> {
    equilibria.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.exact_row.cmp(&b.exact_row))
            .then_with(|| a.exact_column.cmp(&b.exact_column))
    });
    equilibria
}

/// Checks that the game fits the tableau methods' label sets.
fn check_size(game_rows: usize, game_columns: usize, what: &str) -> Result<()> {
    if game_rows + game_columns > tableau::MAX_LABELS {
        return Err(Error::usage(format!(
            "{what} handles games with at most {} strategies in all (rows + columns); this one has {}",
            tableau::MAX_LABELS,
            game_rows + game_columns
        )));
    }
    Ok(())
}
