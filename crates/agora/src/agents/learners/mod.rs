//! Learning algorithms: agents that improve their policy from rewards.
//!
//! The rule-based policies of [`agents`](crate::agents) decide from the
//! current observation alone and never change. A learner keeps state (a
//! Q-table, arm counts, weights), chooses an action, and is then told the
//! reward the action earned; over many steps it moves toward the policy
//! `π* = argmax E[Σ_t γ^t R_t]`.
//!
//! This module holds the algorithms alone, as plain data with no engine
//! types: actions are indices `0 … k−1` into an action set the caller
//! defines, states are indices the caller computes (with [`ActionMemory`]
//! or [`Discretizer`]), rewards are `f64`, and every random draw comes from a
//! generator the caller passes in (in a simulation, the agent's own
//! [`AgentRng`](crate::rng::AgentRng) stream), so a learner's trajectory is a
//! function of its inputs and its stream only. Every learner is
//! `Serialize + Deserialize`, so its state can be saved and restored.
//!
//! | algorithm | type | reference |
//! |---|---|---|
//! | tabular Q-learning, ε-greedy, convergence test | [`QLearner`] | Watkins & Dayan (1992); Calvano et al. (2020) |
//! | ε-greedy bandit | [`EpsilonGreedy`] | Sutton & Barto (2018), §2.2 |
//! | UCB1 | [`Ucb1`] | Auer, Cesa-Bianchi & Fischer (2002) |
//! | Thompson sampling | [`Thompson`] | Thompson (1933); Agrawal & Goyal (2012) |
//! | REINFORCE with a baseline | [`Reinforce`] | Williams (1992) |
//!
//! Ties between equally valued actions always go to the lowest index, so a
//! greedy choice never consumes randomness and never depends on anything
//! but the values.

pub mod bandit;
pub mod policy_gradient;
pub mod q_learning;
pub mod state;

pub use bandit::{Bandit, BanditLearner, EpsilonGreedy, GaussianPrior, Thompson, Ucb1};
pub use policy_gradient::{discounted_returns, Reinforce};
pub(crate) use q_learning::EpsilonMemo;
pub use q_learning::{uniform_opponents_row, Exploration, InitialQ, QLearner, QParams};
pub use state::{ActionMemory, Bins, Discretizer};

use crate::error::{Error, Result};

/// Returns the index of the largest value, the lowest index among equals;
/// `None` for an empty slice. NaN entries are never chosen unless all are
/// NaN (then index 0).
#[inline]
pub fn argmax(values: &[f64]) -> Option<usize> {
    let mut best = 0;
    let mut top = *values.first()?;
    for (i, &v) in values.iter().enumerate().skip(1) {
        if v > top || (top.is_nan() && !v.is_nan()) {
            best = i;
            top = v;
        }
    }
    Some(best)
}

/// Checks that `value` lies in `[0, 1]`.
fn check_unit(name: &str, value: f64) -> Result<()> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "`{name}` must be in [0, 1], found {value}"
        )))
    }
}

/// Checks that `count` is at least 1.
fn check_count(name: &str, count: usize) -> Result<()> {
    if count == 0 {
        Err(Error::usage(format!(
            "`{name}` must be at least 1, found 0"
        )))
    } else {
        Ok(())
    }
}

/// Checks that `index` is below `len`.
#[inline]
fn check_index(what: &str, index: usize, len: usize) -> Result<()> {
    if index < len {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{what} {index} out of range: there are {len}"
        )))
    }
}

/// Checks that a reward is a finite number.
#[inline]
fn check_reward(reward: f64) -> Result<()> {
    if reward.is_finite() {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "a learner's reward must be finite, found {reward}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_lowest_index_of_equals() {
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), Some(1));
        assert_eq!(argmax(&[f64::NAN, 0.5, 0.5]), Some(1));
        assert_eq!(argmax(&[-1.0]), Some(0));
    }

    /// A NaN is never the largest while a number follows it, and all NaN
    /// give index 0; a later larger value wins over an earlier one.
    #[test]
    fn argmax_skips_nans_unless_all_are() {
        assert_eq!(argmax(&[f64::NAN, f64::NAN, 0.5]), Some(2));
        assert_eq!(argmax(&[0.5, f64::NAN, 0.7]), Some(2));
        assert_eq!(argmax(&[0.5, f64::NAN]), Some(0));
        assert_eq!(argmax(&[f64::NAN, f64::NAN]), Some(0));
        assert_eq!(argmax(&[1.0, 2.0, 5.0]), Some(2));
    }

    /// The checks' bounds: [0, 1] closed for a unit value, at least 1 for
    /// a count, below the length for an index, finite for a reward.
    #[test]
    fn the_checks_accept_exactly_their_ranges() {
        for v in [0.0, 0.5, 1.0] {
            assert!(check_unit("u", v).is_ok(), "{v}");
        }
        for v in [-0.01, 1.01, f64::NAN] {
            assert!(check_unit("u", v).is_err(), "{v}");
        }
        assert!(check_count("n", 0).is_err());
        assert!(check_count("n", 1).is_ok());
        assert!(check_index("i", 2, 3).is_ok());
        assert!(check_index("i", 3, 3).is_err());
        assert!(check_index("i", 0, 0).is_err());
        assert!(check_reward(-1e300).is_ok());
        for r in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(check_reward(r).is_err(), "{r}");
        }
    }
}
