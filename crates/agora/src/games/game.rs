//! Two-player normal-form games: payoff matrices, strategy labels, and the
//! game file.
//!
//! ```toml
//! [game]
//! name = "hawk-dove"
//! strategies = ["hawk", "dove"]          # optional labels
//! row = [[-25.0, 50.0], [0.0, 15.0]]     # the row player's payoffs
//! column = [[-25.0, 0.0], [50.0, 15.0]]  # the column player's; omitted = zero-sum (column = -row)
//! ```
//!
//! `strategies` labels the rows, and the columns too when the matrix is
//! square; `column_strategies` labels the columns on their own. Without
//! labels, strategies are numbered from 1. Every error names the file and
//! the field (`game.row[1]`, `game.strategies`), what was found and what is
//! expected.

use crate::error::{Error, ErrorKind, Result};
use crate::scenario::{describe, Fields};
use std::path::Path;
use toml::Value;

/// A dense matrix of finite payoffs, stored row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// Builds a `rows × cols` matrix from its entries row by row; `None` if
    /// the length does not match or the matrix would be empty.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Option<Self> {
        (rows > 0 && cols > 0 && rows.checked_mul(cols) == Some(data.len())).then_some(Matrix {
            rows,
            cols,
            data,
        })
    }

    /// Builds a matrix from its rows; `None` if they are ragged or empty.
    pub fn from_rows(rows: &[Vec<f64>]) -> Option<Self> {
        let cols = rows.first()?.len();
        if rows.iter().any(|r| r.len() != cols) {
            return None;
        }
        Matrix::new(rows.len(), cols, rows.concat())
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The entry in row `i`, column `j`.
    #[inline]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    /// Row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The entries row by row.
    pub fn data(&self) -> &[f64] {
        &self.data
    }

    /// The transpose.
    pub fn transpose(&self) -> Matrix {
        let mut data = Vec::with_capacity(self.data.len());
        for j in 0..self.cols {
            data.extend((0..self.rows).map(|i| self.get(i, j)));
        }
        Matrix {
            rows: self.cols,
            cols: self.rows,
            data,
        }
    }

    /// Every entry negated.
    pub fn negated(&self) -> Matrix {
        Matrix {
            data: self.data.iter().map(|x| -x).collect(),
            ..*self
        }
    }

    /// `M y` (one entry per row); `y` has one entry per column.
    pub fn mul_vec(&self, y: &[f64]) -> Vec<f64> {
        (0..self.rows)
            .map(|i| self.row(i).iter().zip(y).map(|(a, b)| a * b).sum())
            .collect()
    }

    /// `xᵀ M` (one entry per column); `x` has one entry per row.
    pub fn vec_mul(&self, x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.cols];
        for (i, xi) in x.iter().enumerate() {
            for (o, a) in out.iter_mut().zip(self.row(i)) {
                *o += xi * a;
            }
        }
        out
    }

    /// `xᵀ M y`.
    pub fn bilinear(&self, x: &[f64], y: &[f64]) -> f64 {
        x.iter().zip(self.mul_vec(y)).map(|(a, b)| a * b).sum()
    }
}

/// A two-player game in normal form: the row player picks a row, the column
/// player a column, and each is paid its matrix's entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalFormGame {
    name: String,
    row_labels: Vec<String>,
    column_labels: Vec<String>,
    row: Matrix,
    column: Matrix,
}

impl NormalFormGame {
    /// A game with payoffs `row` (A) and `column` (B) and numbered
    /// strategies; an error if the shapes differ or a payoff is not finite.
    pub fn new(name: impl Into<String>, row: Matrix, column: Matrix) -> Result<Self> {
        let name = name.into();
        let origin = format!("<game {name}>");
        check_matrix(&origin, "game.row", &row)?;
        check_matrix(&origin, "game.column", &column)?;
        if (row.rows, row.cols) != (column.rows, column.cols) {
            return Err(Error::scenario(
                origin,
                "game.column",
                format!(
                    "expected a {}x{} matrix (the shape of game.row), found {}x{}",
                    row.rows, row.cols, column.rows, column.cols
                ),
            ));
        }
        Ok(NormalFormGame {
            name,
            row_labels: numbered(row.rows),
            column_labels: numbered(row.cols),
            row,
            column,
        })
    }

    /// A zero-sum game: the column player is paid `-row`.
    pub fn zero_sum(name: impl Into<String>, row: Matrix) -> Result<Self> {
        let column = row.negated();
        Self::new(name, row, column)
    }

    /// A symmetric game: the column player's payoffs are the transpose of
    /// the row player's, so both face the same matrix `a`.
    pub fn symmetric(name: impl Into<String>, a: Matrix) -> Result<Self> {
        let column = a.transpose();
        Self::new(name, a, column)
    }

    /// The same game with these strategy labels; an error if a count is
    /// wrong, a label is empty or one repeats.
    pub fn with_labels(mut self, rows: Vec<String>, columns: Vec<String>) -> Result<Self> {
        let origin = format!("<game {}>", self.name);
        check_labels(&origin, "game.strategies", &rows, self.row.rows, "row")?;
        check_labels(
            &origin,
            "game.column_strategies",
            &columns,
            self.row.cols,
            "column",
        )?;
        self.row_labels = rows;
        self.column_labels = columns;
        Ok(self)
    }

    /// Reads and validates a game file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::scenario(&origin, "", format!("cannot read the game file: {e}")))?;
        Self::from_toml_str(&text, &origin)
    }

    /// Parses and validates game text; `origin` names it in errors.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::from(ErrorKind::Syntax {
                origin: origin.to_string(),
                message: e.to_string(),
            })
        })?;
        let mut root = Fields::new(origin, "", &table);
        let mut game = root.table("game")?;
        root.finish()?;

        let name = game.opt_string("name")?.unwrap_or("game").to_string();
        let labels = match game.has("strategies") {
            true => Some(game.strings("strategies")?),
            false => None,
        };
        let column_labels = match game.has("column_strategies") {
            true => Some(game.strings("column_strategies")?),
            false => None,
        };
        let row_value = game
            .has("row")
            .then(|| game_value(&table, "row"))
            .flatten()
            .ok_or_else(|| {
                game.error(
                    "row",
                    "missing field; expected the row player's payoffs, an array of rows of numbers",
                )
            })?;
        let row = read_matrix(origin, "game.row", row_value)?;
        let column = match game.has("column").then(|| game_value(&table, "column")) {
            Some(Some(value)) => {
                let column = read_matrix(origin, "game.column", value)?;
                if (column.rows, column.cols) != (row.rows, row.cols) {
                    return Err(Error::scenario(
                        origin,
                        "game.column",
                        format!(
                            "expected a {}x{} matrix (the shape of game.row), found {}x{}",
                            row.rows, row.cols, column.rows, column.cols
                        ),
                    ));
                }
                column
            }
            _ => row.negated(),
        };
        game.finish()?;

        let to_owned = |v: Vec<&str>| v.into_iter().map(str::to_string).collect::<Vec<_>>();
        let row_labels = match labels.clone() {
            Some(l) => {
                check_labels(
                    origin,
                    "game.strategies",
                    &to_owned(l.clone()),
                    row.rows,
                    "row",
                )?;
                to_owned(l)
            }
            None => numbered(row.rows),
        };
        let column_labels = match (column_labels, labels) {
            (Some(l), _) => {
                check_labels(
                    origin,
                    "game.column_strategies",
                    &to_owned(l.clone()),
                    row.cols,
                    "column",
                )?;
                to_owned(l)
            }
            (None, Some(l)) if row.rows == row.cols => to_owned(l),
            (None, _) => numbered(row.cols),
        };
        Ok(NormalFormGame {
            name,
            row_labels,
            column_labels,
            row,
            column,
        })
    }

    /// The game's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of row strategies (m).
    pub fn rows(&self) -> usize {
        self.row.rows
    }

    /// The number of column strategies (n).
    pub fn columns(&self) -> usize {
        self.row.cols
    }

    /// The row player's payoffs (A).
    pub fn row_payoffs(&self) -> &Matrix {
        &self.row
    }

    /// The column player's payoffs (B).
    pub fn column_payoffs(&self) -> &Matrix {
        &self.column
    }

    /// The labels of the row strategies.
    pub fn row_labels(&self) -> &[String] {
        &self.row_labels
    }

    /// The labels of the column strategies.
    pub fn column_labels(&self) -> &[String] {
        &self.column_labels
    }

    /// True if both players face the same matrix: square, with the column
    /// player's payoffs the transpose of the row player's (B = Aᵀ). Such a
    /// game can be played by one population against itself.
    pub fn is_symmetric(&self) -> bool {
        self.row.rows == self.row.cols && self.column == self.row.transpose()
    }

    /// The expected payoffs `[xᵀAy, xᵀBy]` of mixed strategies `x` and `y`.
    pub fn payoffs(&self, x: &[f64], y: &[f64]) -> [f64; 2] {
        [self.row.bilinear(x, y), self.column.bilinear(x, y)]
    }
}

fn numbered(n: usize) -> Vec<String> {
    (1..=n).map(|i| i.to_string()).collect()
}

/// The raw value of `game.KEY` (the `Fields` reader has checked the table).
fn game_value<'a>(table: &'a toml::Table, key: &str) -> Option<&'a Value> {
    table.get("game")?.as_table()?.get(key)
}

fn check_matrix(origin: &str, path: &str, m: &Matrix) -> Result<()> {
    match m.data.iter().position(|x| !x.is_finite()) {
        Some(k) => Err(Error::scenario(
            origin,
            format!("{path}[{}][{}]", k / m.cols, k % m.cols),
            format!("expected a finite number, found {}", m.data[k]),
        )),
        None => Ok(()),
    }
}

fn check_labels(origin: &str, path: &str, labels: &[String], n: usize, side: &str) -> Result<()> {
    if labels.len() != n {
        return Err(Error::scenario(
            origin,
            path,
            format!(
                "expected {n} labels (one per {side} of game.row), found {}",
                labels.len()
            ),
        ));
    }
    for (i, label) in labels.iter().enumerate() {
        if label.trim().is_empty() {
            return Err(Error::scenario(
                origin,
                format!("{path}[{i}]"),
                "expected a non-empty label",
            ));
        }
        if labels[..i].contains(label) {
            return Err(Error::scenario(
                origin,
                format!("{path}[{i}]"),
                format!("the label {label:?} appears twice; labels must be unique"),
            ));
        }
    }
    Ok(())
}

/// Reads an array of rows of finite numbers, all rows of the same length.
pub(crate) fn read_matrix(origin: &str, path: &str, value: &Value) -> Result<Matrix> {
    let expected = "an array of rows of numbers, e.g. [[1.0, 0.0], [0.0, 1.0]]";
    let Value::Array(rows) = value else {
        return Err(Error::scenario(
            origin,
            path,
            format!("expected {expected}, found {}", describe(value)),
        ));
    };
    if rows.is_empty() {
        return Err(Error::scenario(
            origin,
            path,
            format!("expected {expected}, found an empty array"),
        ));
    }
    let mut data = Vec::new();
    let mut cols = 0;
    for (i, row) in rows.iter().enumerate() {
        let Value::Array(entries) = row else {
            return Err(Error::scenario(
                origin,
                format!("{path}[{i}]"),
                format!(
                    "expected a row (an array of numbers), found {}",
                    describe(row)
                ),
            ));
        };
        if i == 0 {
            if entries.is_empty() {
                return Err(Error::scenario(
                    origin,
                    format!("{path}[0]"),
                    "expected at least one number, found an empty row",
                ));
            }
            cols = entries.len();
        } else if entries.len() != cols {
            return Err(Error::scenario(
                origin,
                format!("{path}[{i}]"),
                format!(
                    "expected {cols} numbers (as in {path}[0]): the matrix must be rectangular, found {}",
                    entries.len()
                ),
            ));
        }
        for (j, entry) in entries.iter().enumerate() {
            let x = match entry {
                Value::Float(x) if x.is_finite() => *x,
                // Beyond 2^53 an integer has no exact f64: refuse rather
                // than round a payoff.
                Value::Integer(n) if n.unsigned_abs() <= 1 << 53 => *n as f64,
                other => {
                    return Err(Error::scenario(
                        origin,
                        format!("{path}[{i}][{j}]"),
                        format!(
                            "expected a finite number (integers at most 2^53), found {}",
                            describe(other)
                        ),
                    ))
                }
            };
            data.push(x);
        }
    }
    Matrix::new(rows.len(), cols, data)
        .ok_or_else(|| Error::scenario(origin, path, format!("expected {expected}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match NormalFormGame::from_toml_str(text, "g.toml") {
            Ok(g) => panic!("accepted: {g:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_hawk_dove_and_finds_it_symmetric() {
        let g = NormalFormGame::from_toml_str(
            r#"
            [game]
            name = "hawk-dove"
            strategies = ["hawk", "dove"]
            row = [[-25.0, 50.0], [0.0, 15.0]]
            column = [[-25.0, 0.0], [50.0, 15.0]]
            "#,
            "hd",
        )
        .unwrap();
        assert_eq!(g.name(), "hawk-dove");
        assert_eq!(g.row_labels(), ["hawk", "dove"]);
        assert_eq!(g.column_labels(), ["hawk", "dove"]);
        assert!(g.is_symmetric());
        assert_eq!(g.column_payoffs().get(1, 0), 50.0);
    }

    #[test]
    fn omitted_column_is_zero_sum() {
        let g = NormalFormGame::from_toml_str("[game]\nrow = [[1, -1], [-1, 1]]", "mp").unwrap();
        assert_eq!(g.column_payoffs().data(), &[-1.0, 1.0, 1.0, -1.0]);
        assert_eq!(g.row_labels(), ["1", "2"]);
        assert!(!g.is_symmetric());
    }

    #[test]
    fn bad_files_name_the_file_and_field() {
        assert_eq!(
            err("[game]\nrow = [[1, 2], [3]]"),
            "g.toml: game.row[1]: expected 2 numbers (as in game.row[0]): the matrix must be rectangular, found 1"
        );
        assert_eq!(
            err("[game]\nrow = [[1, 2], [3, 4]]\ncolumn = [[1, 2, 3], [4, 5, 6]]"),
            "g.toml: game.column: expected a 2x2 matrix (the shape of game.row), found 2x3"
        );
        assert_eq!(
            err("[game]\nrow = [[1, nan], [3, 4]]"),
            "g.toml: game.row[0][1]: expected a finite number (integers at most 2^53), found NaN"
        );
        assert_eq!(
            err("[game]\nrow = [[1, 2], [3, inf]]"),
            "g.toml: game.row[1][1]: expected a finite number (integers at most 2^53), found inf"
        );
        assert_eq!(
            err("[game]\nstrategies = [\"a\"]\nrow = [[1, 2], [3, 4]]"),
            "g.toml: game.strategies: expected 2 labels (one per row of game.row), found 1"
        );
        assert_eq!(
            err("[game]\nrow = [[1, 2]]\nrows = 3"),
            "g.toml: game.rows: unknown field; expected one of: column, column_strategies, name, row, strategies"
        );
        assert_eq!(
            err("[game]\nrow = [[1]]\n[extra]"),
            "g.toml: extra: unknown field; expected one of: game"
        );
        assert!(err("[game]\nname = \"x\"").starts_with("g.toml: game.row: missing field"));
        assert_eq!(
            err("[game]\nrow = []"),
            "g.toml: game.row: expected an array of rows of numbers, e.g. [[1.0, 0.0], [0.0, 1.0]], found an empty array"
        );
        assert_eq!(
            err("[game]\nstrategies = [\"a\", \"a\"]\nrow = [[1, 2], [3, 4]]"),
            "g.toml: game.strategies[1]: the label \"a\" appears twice; labels must be unique"
        );
        assert!(err("[game\nrow = 1").starts_with("g.toml: not valid TOML"));
    }
}
