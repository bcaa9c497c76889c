//! Best responses, regret and mixed strategies.
//!
//! [`best_responses`] is exact: the payoffs of each pure strategy against a
//! rational mixed strategy are computed as rationals, so ties are ties (an
//! opponent given as `1/3,1/3,1/3` in rock–paper–scissors leaves all three
//! strategies best). The f64 functions ([`payoffs_against`],
//! [`best_response`], [`regret`]) serve the dynamics and any caller that
//! evaluates many strategies; their tie rule is the lowest index.

use super::exact::{IntMatrix, Rational};
use super::game::NormalFormGame;
use crate::error::{Error, Result};
use num_bigint::BigInt;
use std::fmt;
use std::str::FromStr;

/// The largest difference from 1 accepted for the sum of a mixed
/// strategy's shares.
pub const SUM_TOLERANCE: f64 = 1e-9;

/// One of the two players.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Player {
    /// The row player (payoffs A).
    Row,
    /// The column player (payoffs B).
    Column,
}

impl Player {
    /// `row` or `column`.
    pub fn name(self) -> &'static str {
        match self {
            Player::Row => "row",
            Player::Column => "column",
        }
    }

    /// The other player.
    pub fn opponent(self) -> Player {
        match self {
            Player::Row => Player::Column,
            Player::Column => Player::Row,
        }
    }

    /// The player's number of strategies in `game`.
    pub fn strategies(self, game: &NormalFormGame) -> usize {
        match self {
            Player::Row => game.rows(),
            Player::Column => game.columns(),
        }
    }

    /// The player's strategy labels in `game`.
    pub fn labels(self, game: &NormalFormGame) -> &[String] {
        match self {
            Player::Row => game.row_labels(),
            Player::Column => game.column_labels(),
        }
    }
}

impl fmt::Display for Player {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Player {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "row" => Ok(Player::Row),
            "column" => Ok(Player::Column),
            other => Err(Error::usage(format!(
                "unknown player {other:?}; expected row or column"
            ))),
        }
    }
}

/// A player's best responses to an opponent's mixed strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct BestResponses {
    /// Whose best responses.
    pub player: Player,
    /// The expected payoff of each pure strategy, exactly.
    pub exact_payoffs: Vec<Rational>,
    /// The same, rounded to the nearest f64.
    pub payoffs: Vec<f64>,
    /// The strategies that earn the maximum, in index order.
    pub best: Vec<usize>,
    /// The maximum payoff.
    pub value: f64,
}

/// The best responses of `player` to the opponent's mixed strategy
/// `opponent`, exactly. The shares must be nonnegative, one per opponent
/// strategy, and sum to 1 within [`SUM_TOLERANCE`]; they are divided by
/// their sum (exactly), so the payoffs are those of a true mixed strategy.
/// `field` names the strategy in errors.
pub fn best_responses(
    game: &NormalFormGame,
    player: Player,
    opponent: &[Rational],
    field: &str,
) -> Result<BestResponses> {
    let shares: Vec<f64> = opponent.iter().map(Rational::to_f64).collect();
    check_mixed(
        &shares,
        player.opponent().strategies(game),
        field,
        player.opponent(),
    )?;
    if opponent.iter().any(Rational::is_negative) {
        return Err(Error::usage(format!("{field}: shares must be nonnegative")));
    }
    // Over a common denominator the shares are integers; the payoffs'
    // integer form is exact too, and both scalings are positive.
    let den = opponent.iter().fold(BigInt::from(1), |d, r| {
        num_integer::Integer::lcm(&d, r.denom())
    });
    let weights: Vec<BigInt> = opponent
        .iter()
        .map(|r| r.numer() * (&den / r.denom()))
        .collect();
    let total: BigInt = weights.iter().sum();
    let exact_payoffs: Vec<Rational> = match player {
        Player::Row => {
            let a = IntMatrix::from_matrix(game.row_payoffs());
            scaled(a.mul_vec(&weights), &total, a.exponent)
        }
        Player::Column => {
            let b = IntMatrix::from_matrix(game.column_payoffs());
            scaled(b.vec_mul(&weights), &total, b.exponent)
        }
    };
    let max = exact_payoffs
        .iter()
        .max()
        .cloned()
        .unwrap_or_else(Rational::zero);
    let best = (0..exact_payoffs.len())
        .filter(|&i| exact_payoffs[i] == max)
        .collect();
    Ok(BestResponses {
        player,
        payoffs: exact_payoffs.iter().map(Rational::to_f64).collect(),
        exact_payoffs,
        best,
        value: max.to_f64(),
    })
}

/// `values · 2^exponent / total` as rationals.
fn scaled(values: Vec<BigInt>, total: &BigInt, exponent: i32) -> Vec<Rational> {
    values
        .into_iter()
        .map(|v| {
            let r = if exponent >= 0 {
                Rational::new(v << exponent as usize, total.clone())
            } else {
                Rational::new(v, total << (-exponent) as usize)
            };
            r.unwrap_or_else(Rational::zero)
        })
        .collect()
}

/// Checks a mixed strategy of `player`: one finite, nonnegative share per
/// strategy, summing to 1 within [`SUM_TOLERANCE`]. `field` names it in
/// errors.
pub fn check_mixed(shares: &[f64], n: usize, field: &str, player: Player) -> Result<()> {
    if shares.len() != n {
        return Err(Error::usage(format!(
            "{field}: expected {n} shares (one per {} strategy), found {}",
            player.name(),
            shares.len()
        )));
    }
    if let Some(i) = shares.iter().position(|s| !s.is_finite() || *s < 0.0) {
        return Err(Error::usage(format!(
            "{field}: share {} is {}; shares must be nonnegative numbers",
            i + 1,
            shares[i]
        )));
    }
    let sum: f64 = shares.iter().sum();
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(Error::usage(format!(
            "{field}: shares must sum to 1 (within {SUM_TOLERANCE:e}), found {sum}"
        )));
    }
    Ok(())
}

/// The expected payoff of each of `player`'s pure strategies against the
/// opponent's mixed strategy `opponent`: `Ay` for the row player, `xᵀB` for
/// the column player.
pub fn payoffs_against(game: &NormalFormGame, player: Player, opponent: &[f64]) -> Vec<f64> {
    match player {
        Player::Row => game.row_payoffs().mul_vec(opponent),
        Player::Column => game.column_payoffs().vec_mul(opponent),
    }
}

/// The best pure strategy for `payoffs`, the lowest index among ties (the
/// tie rule of fictitious play and best-response dynamics).
pub fn best_response(payoffs: &[f64]) -> usize {
    let mut best = 0;
    for (i, p) in payoffs.iter().enumerate() {
        if *p > payoffs[best] {
            best = i;
        }
    }
    best
}

/// Each player's regret at `(x, y)`: how much more its best pure strategy
/// would earn than its mixed strategy, `[max_i (Ay)_i − xᵀAy,
/// max_j (xᵀB)_j − xᵀBy]`. Both are zero exactly at an equilibrium.
pub fn regret(game: &NormalFormGame, x: &[f64], y: &[f64]) -> [f64; 2] {
    let gap = |payoffs: Vec<f64>, own: &[f64]| {
        let max = payoffs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let earned: f64 = payoffs.iter().zip(own).map(|(p, s)| p * s).sum();
        max - earned
    };
    [
        gap(payoffs_against(game, Player::Row, y), x),
        gap(payoffs_against(game, Player::Column, x), y),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::game::Matrix;

    fn rps() -> NormalFormGame {
        let a = Matrix::from_rows(&[
            vec![0.0, -1.0, 1.0],
            vec![1.0, 0.0, -1.0],
            vec![-1.0, 1.0, 0.0],
        ])
        .unwrap();
        NormalFormGame::zero_sum("rps", a).unwrap()
    }

    fn shares(text: &str) -> Vec<Rational> {
        text.split(',')
            .map(|s| Rational::parse(s).unwrap())
            .collect()
    }

    #[test]
    fn every_strategy_is_best_against_uniform_rock_paper_scissors() {
        let br = best_responses(&rps(), Player::Row, &shares("1/3,1/3,1/3"), "opponent").unwrap();
        assert_eq!(br.best, [0, 1, 2]);
        assert!(br.exact_payoffs.iter().all(Rational::is_zero));
        // Against rock, paper (index 1) alone is best, earning 1.
        let br = best_responses(&rps(), Player::Column, &shares("1,0,0"), "opponent").unwrap();
        assert_eq!(br.best, [1]);
        assert_eq!(br.payoffs, [0.0, 1.0, -1.0]);
    }

    #[test]
    fn mixed_strategies_are_checked() {
        let g = rps();
        let e = |s: &str| {
            best_responses(&g, Player::Row, &shares(s), "opponent")
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("0.5,0.5"),
            "opponent: expected 3 shares (one per column strategy), found 2"
        );
        assert_eq!(
            e("0.5,0.6,-0.1"),
            "opponent: share 3 is -0.1; shares must be nonnegative numbers"
        );
        assert_eq!(
            e("0.5,0.5,0.5"),
            "opponent: shares must sum to 1 (within 1e-9), found 1.5"
        );
        // Within the tolerance, and divided by the sum.
        let br = best_responses(
            &g,
            Player::Row,
            &shares("0.3333333333,0.3333333333,0.3333333333"),
            "o",
        )
        .unwrap();
        assert_eq!(br.best, [0, 1, 2]);
    }

    #[test]
    fn lowest_index_wins_ties_and_regret_vanishes_at_equilibrium() {
        assert_eq!(best_response(&[1.0, 3.0, 3.0]), 1);
        let u = [1.0 / 3.0; 3];
        let r = regret(&rps(), &u, &u);
        assert!(r[0].abs() < 1e-15 && r[1].abs() < 1e-15);
        let r = regret(&rps(), &[1.0, 0.0, 0.0], &u);
        assert!(r[0].abs() < 1e-15);
        assert!((r[1] - 1.0).abs() < 1e-15);
    }
}
