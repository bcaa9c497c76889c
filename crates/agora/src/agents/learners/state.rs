//! State encoders: what a tabular learner remembers, as one index.
//!
//! A tabular learner needs its situation as an integer `0 … S−1`. Two
//! encoders build it, and mixed radix combines them (`s = s₁ · S₂ + s₂`):
//!
//! - [`ActionMemory`]: the actions every player took in the last `k` steps
//!   (Calvano et al.'s state with memory `k`; the players' actions are the
//!   posted prices' grid indices there).
//! - [`Discretizer`]: continuous observations (a price, a return, a
//!   balance) cut into equal-width bins.

use serde::{Deserialize, Serialize};

use super::{check_count, check_index};
use crate::error::{Error, Result};

/// The state "the actions of all `n` players in each of the last `k`
/// steps", `m` actions each: `m^(n·k)` states.
///
/// A profile of actions `(a_0, …, a_{n−1})` is the number
/// `Σ_j a_j m^j` (player 0 the least significant digit), one of `m^n`; the
/// state is the last `k` profiles in base `m^n`, the most recent the least
/// significant: `s = Σ_{l<k} profile_{t−1−l} (m^n)^l`. With `k = 1` the
/// state is the last profile. With `k = 0` there is one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionMemory {
    players: usize,
    actions: usize,
    memory: usize,
    profiles: usize,
    states: usize,
}

impl ActionMemory {
    /// Returns the encoder of the last `memory` profiles of `players`
    /// players with `actions` actions each.
    ///
    /// Errors if there is no player or action, or the states are too many to
    /// count in a `usize`.
    pub fn new(players: usize, actions: usize, memory: usize) -> Result<Self> {
        check_count("players", players)?;
        check_count("actions", actions)?;
        let too_many = || {
            Error::usage(format!(
                "a memory of {memory} steps of {players} players with {actions} actions \
                 each has too many states"
            ))
        };
        let profiles = crate::market::posted::profile_count(actions, players)?;
        let states = u32::try_from(memory)
            .ok()
            .and_then(|k| profiles.checked_pow(k))
            .ok_or_else(too_many)?;
        Ok(ActionMemory {
            players,
            actions,
            memory,
            profiles,
            states,
        })
    }

    /// The number of states, `m^(n·k)`.
    pub fn states(&self) -> usize {
        self.states
    }

    /// The number of action profiles, `m^n`.
    pub fn profiles(&self) -> usize {
        self.profiles
    }

    /// The number of players.
    pub fn players(&self) -> usize {
        self.players
    }

    /// The number of actions of each player.
    pub fn actions(&self) -> usize {
        self.actions
    }

    /// The number of steps remembered.
    pub fn memory(&self) -> usize {
        self.memory
    }

    /// Returns the index `Σ_j a_j m^j` of the profile `actions` (one action
    /// per player).
    ///
    /// Errors if there is not one action per player or an action is out of
    /// range.
    #[inline]
    pub fn profile(&self, actions: &[usize]) -> Result<usize> {
        if actions.len() != self.players {
            return Err(Error::usage(format!(
                "{} actions for {} players",
                actions.len(),
                self.players
            )));
        }
        let mut index = 0;
        for &a in actions.iter().rev() {
            check_index("action", a, self.actions)?;
            index = index * self.actions + a;
        }
        Ok(index)
    }

    /// Returns the state after `state` once the players play the profile
    /// `profile`: the oldest profile is forgotten and `profile` becomes the
    /// most recent.
    ///
    /// Errors if `state` or `profile` is out of range.
    #[inline]
    pub fn push(&self, state: usize, profile: usize) -> Result<usize> {
        check_index("state", state, self.states)?;
        check_index("action profile", profile, self.profiles)?;
        Ok(self.push_in_range(state, profile))
    }

    /// [`push`](Self::push) for a caller whose state and profile are in
    /// range by construction (a seller's own states and the market's
    /// profiles; checked in debug builds): no `Result` to build and read
    /// on the posted-price session's every step.
    #[inline]
    pub(crate) fn push_in_range(&self, state: usize, profile: usize) -> usize {
        debug_assert!(state < self.states && profile < self.profiles);
        match self.memory {
            0 => 0,
            // The state is the last profile: nothing of `state` is kept
            // (the general case's `state % 1`), without its divisions.
            1 => profile,
            // Forget the oldest profile first, so the product cannot
            // overflow.
            _ => (state % (self.states / self.profiles)) * self.profiles + profile,
        }
    }

    /// Returns the state whose remembered profiles are `history`, oldest
    /// first, as the last `memory` pushes from state 0 would leave it.
    ///
    /// Errors if `history` does not hold `memory` profiles or one is out of
    /// range.
    pub fn encode(&self, history: &[usize]) -> Result<usize> {
        if history.len() != self.memory {
            return Err(Error::usage(format!(
                "a history of {} profiles for a memory of {}",
                history.len(),
                self.memory
            )));
        }
        history.iter().try_fold(0, |s, &p| self.push(s, p))
    }
}

/// Equal-width bins over `[lo, hi]`: `count` bins of width
/// `(hi − lo)/count`; values below `lo` fall in the first bin and values
/// above `hi` in the last.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bins {
    /// Lower edge of the first bin.
    pub lo: f64,
    /// Upper edge of the last bin.
    pub hi: f64,
    /// Number of bins, at least 1.
    pub count: usize,
}

impl Bins {
    /// Returns the bin of `x`: `⌊(x − lo)/(hi − lo) · count⌋`, clamped to
    /// `0 … count−1`. `None` for NaN.
    #[inline]
    pub fn bin(&self, x: f64) -> Option<usize> {
        if x.is_nan() {
            return None;
        }
        let f = (x - self.lo) / (self.hi - self.lo) * self.count as f64;
        // `as` saturates: −∞ → 0, +∞ → usize::MAX, then the clamp.
        Some((f.floor().max(0.0) as usize).min(self.count - 1))
    }

    fn validate(&self, dim: usize) -> Result<()> {
        if self.count == 0 {
            return Err(Error::usage(format!(
                "bins {dim}: `count` must be at least 1"
            )));
        }
        if !(self.lo.is_finite() && self.hi.is_finite() && self.hi > self.lo) {
            return Err(Error::usage(format!(
                "bins {dim}: need finite `lo` < `hi`, found [{}, {}]",
                self.lo, self.hi
            )));
        }
        Ok(())
    }
}

/// A discretiser of continuous observation vectors: each coordinate cut
/// into [`Bins`], the bins combined in mixed radix (coordinate 0 the least
/// significant), `Π count` states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discretizer {
    dims: Vec<Bins>,
    states: usize,
}

impl Discretizer {
    /// Returns the discretiser with these bins, one per coordinate.
    ///
    /// Errors if a coordinate has no bin or an empty or non-finite range, or
    /// the states are too many to count.
    pub fn new(dims: Vec<Bins>) -> Result<Self> {
        let mut states = 1usize;
        for (i, d) in dims.iter().enumerate() {
            d.validate(i)?;
            states = states
                .checked_mul(d.count)
                .ok_or_else(|| Error::usage("the discretiser has too many states"))?;
        }
        Ok(Discretizer { dims, states })
    }

    /// The number of states.
    pub fn states(&self) -> usize {
        self.states
    }

    /// The bins of each coordinate.
    pub fn dims(&self) -> &[Bins] {
        &self.dims
    }

    /// Returns the state of the observation `x`: `Σ_i bin_i(x_i) Π_{j<i} count_j`.
    ///
    /// Errors if `x` does not have one value per coordinate or a value is
    /// NaN.
    pub fn state(&self, x: &[f64]) -> Result<usize> {
        if x.len() != self.dims.len() {
            return Err(Error::usage(format!(
                "{} values for a discretiser of {} coordinates",
                x.len(),
                self.dims.len()
            )));
        }
        let mut s = 0;
        for (i, (d, &v)) in self.dims.iter().zip(x).enumerate().rev() {
            let b = d
                .bin(v)
                .ok_or_else(|| Error::usage(format!("observation {i} is NaN")))?;
            s = s * d.count + b;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_one_is_the_last_profile() {
        let m = ActionMemory::new(2, 15, 1).unwrap();
        assert_eq!(m.states(), 225);
        let p = m.profile(&[3, 7]).unwrap();
        assert_eq!(p, 3 + 15 * 7);
        assert_eq!(m.push(200, p).unwrap(), p);
    }

    #[test]
    fn memory_k_keeps_the_last_k_profiles() {
        // Two players, two actions: 4 profiles; k = 3: 64 states.
        let m = ActionMemory::new(2, 2, 3).unwrap();
        assert_eq!(m.states(), 64);
        let history = [1usize, 3, 2, 0, 3];
        let mut s = 0;
        for (t, &p) in history.iter().enumerate() {
            s = m.push(s, p).unwrap();
            // The state is the last three profiles, most recent least
            // significant, in base 4.
            let last: Vec<usize> = history[..=t].iter().rev().take(3).copied().collect();
            let expected: usize = last
                .iter()
                .enumerate()
                .map(|(l, p)| p * 4usize.pow(l as u32))
                .sum();
            assert_eq!(s, expected, "after {:?}", &history[..=t]);
        }
        assert_eq!(m.encode(&[2, 0, 3]).unwrap(), s);
        assert!(m.encode(&[2, 0]).is_err());
        let none = ActionMemory::new(2, 2, 0).unwrap();
        assert_eq!((none.states(), none.push(0, 3).unwrap()), (1, 0));
        assert!(m.push(64, 0).is_err() && m.push(0, 4).is_err());
        assert!(m.profile(&[2, 0]).is_err() && m.profile(&[1]).is_err());
        assert!(ActionMemory::new(3, 15, 100).is_err());
        assert!(ActionMemory::new(0, 15, 1).is_err());
    }

    #[test]
    fn discretiser_bins_and_combines() {
        let d = Discretizer::new(vec![
            Bins {
                lo: 0.0,
                hi: 1.0,
                count: 4,
            },
            Bins {
                lo: -1.0,
                hi: 1.0,
                count: 2,
            },
        ])
        .unwrap();
        assert_eq!(d.states(), 8);
        assert_eq!(d.state(&[0.0, -1.0]).unwrap(), 0);
        assert_eq!(d.state(&[0.3, -0.5]).unwrap(), 1);
        assert_eq!(d.state(&[0.99, 0.5]).unwrap(), 3 + 4);
        // Out of range clamps; the upper edge is in the last bin.
        assert_eq!(d.state(&[-7.0, 9.0]).unwrap(), 4);
        assert_eq!(d.state(&[1.0, f64::INFINITY]).unwrap(), 7);
        assert_eq!(d.state(&[f64::NEG_INFINITY, 0.0]).unwrap(), 4);
        assert!(d.state(&[f64::NAN, 0.0]).is_err());
        assert!(d.state(&[0.5]).is_err());
        let bad = |lo, hi, count| Discretizer::new(vec![Bins { lo, hi, count }]).is_err();
        assert!(bad(0.0, 1.0, 0) && bad(1.0, 1.0, 2) && bad(0.0, f64::INFINITY, 2));
        assert_eq!(Discretizer::new(vec![]).unwrap().state(&[]).unwrap(), 0);
    }

    /// Three players of two actions remembering two steps: 2³ = 8
    /// profiles, 8² = 64 states; the profile (1, 0, 1) is 1 + 0·2 + 1·4 = 5,
    /// and the history (5, 3), oldest first, the state 5·8 + 3 = 43.
    #[test]
    fn an_action_memory_reports_its_players_actions_memory_profiles_and_states() {
        let m = ActionMemory::new(3, 2, 2).unwrap();
        assert_eq!(
            (
                m.players(),
                m.actions(),
                m.memory(),
                m.profiles(),
                m.states()
            ),
            (3, 2, 2, 8, 64)
        );
        let p = m.profile(&[1, 0, 1]).unwrap();
        assert_eq!(p, 5);
        assert_eq!(m.profile(&[0, 1, 1]).unwrap(), 2 + 4);
        assert_eq!(m.encode(&[5, 3]).unwrap(), 43);
        assert_eq!(m.push(43, 7).unwrap(), 3 * 8 + 7);
        assert!(m.encode(&[5, 3, 1]).is_err());
        // A finite lower edge is needed too.
        let bins = Bins {
            lo: f64::NEG_INFINITY,
            hi: 1.0,
            count: 2,
        };
        assert!(Discretizer::new(vec![bins]).is_err());
    }
}
