//! Tabular Q-learning with ε-greedy exploration and Calvano et al.'s
//! convergence test.
//!
//! The learner keeps `Q(s, a)`, the discounted value of taking action `a`
//! in state `s` and acting optimally afterwards, in a flat table (row `s`,
//! column `a`). After taking `a` in `s`, earning `r` and landing in `s'` it
//! moves the entry toward the one-step target (Watkins & Dayan 1992):
//!
//! ```text
//! Q(s, a) ← (1 − α) Q(s, a) + α (r + δ max_a' Q(s', a'))
//! ```
//!
//! It acts ε-greedily: with probability `ε_t` a uniformly random action,
//! else the greedy action `argmax_a Q(s, a)` (the lowest index among
//! equals). `ε_t` is constant or decays as `ε_t = exp(−β t)`, `t` the number
//! of updates so far.
//!
//! The greedy action of every state is cached and kept up to date as the
//! table changes, so acting greedily and `max_a' Q(s', a')` cost one lookup,
//! and the learner knows for how many consecutive updates no state's greedy
//! action has changed: Calvano, Calzolari, Denicolò and Pastorello (*AER*
//! 2020) deem a session converged when that count reaches `K = 100 000`
//! for every player ([`QLearner::converged`]). Since each learner counts its
//! own stable updates, a group of learners that update once per step has
//! converged when the smallest of their counts reaches `K`.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{argmax, check_index, check_reward, check_unit};
use crate::error::{Error, Result};

/// How much a Q-learner explores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exploration {
    /// A fixed probability `ε ∈ [0, 1]` of a random action.
    Constant(f64),
    /// `ε_t = exp(−β t)`, `β ≥ 0`: exploration at first, greedy play later
    /// (Calvano et al.'s baseline has `β = 4 × 10⁻⁶`).
    Decaying {
        /// The decay rate `β` per update.
        beta: f64,
    },
}

impl Exploration {
    /// Returns `ε_t` after `t` updates.
    #[inline]
    pub fn epsilon(&self, t: u64) -> f64 {
        match *self {
            Exploration::Constant(e) => e,
            Exploration::Decaying { beta } => decaying(beta, t),
        }
    }

    /// Errors unless `ε ∈ [0, 1]`, or `β` is finite and at least 0.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Exploration::Constant(e) => check_unit("epsilon", e),
            Exploration::Decaying { beta } if beta.is_finite() && beta >= 0.0 => Ok(()),
            Exploration::Decaying { beta } => Err(Error::usage(format!(
                "`beta` must be at least 0, found {beta}"
            ))),
        }
    }
}

/// `exp(−β t)`.
#[inline]
fn decaying(beta: f64, t: u64) -> f64 {
    (-beta * t as f64).exp()
}

/// The last `ε_t` computed, for learners that act in turn at the same `t`
/// (the sellers of a posted-price session: one `exp` per step, not one per
/// seller). The value is the same computed or remembered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EpsilonMemo {
    /// `β`'s bits (never those of a valid `β` at first).
    beta: u64,
    t: u64,
    eps: f64,
}

impl Default for EpsilonMemo {
    fn default() -> Self {
        EpsilonMemo {
            beta: u64::MAX,
            t: u64::MAX,
            eps: f64::NAN,
        }
    }
}

impl EpsilonMemo {
    /// `exploration`'s `ε_t`, remembered for a decaying one.
    #[inline]
    fn epsilon(&mut self, exploration: &Exploration, t: u64) -> f64 {
        match *exploration {
            Exploration::Constant(e) => e,
            Exploration::Decaying { beta } => {
                let key = beta.to_bits();
                if key != self.beta || t != self.t {
                    *self = EpsilonMemo {
                        beta: key,
                        t,
                        eps: decaying(beta, t),
                    };
                }
                self.eps
            }
        }
    }
}

/// The parameters of a Q-learner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QParams {
    /// Learning rate `α ∈ [0, 1]`: the weight of the new target.
    pub alpha: f64,
    /// Discount factor `δ ∈ [0, 1)`.
    pub delta: f64,
    /// How the learner explores.
    pub exploration: Exploration,
}

impl QParams {
    /// Errors unless `α ∈ [0, 1]`, `δ ∈ [0, 1)` and the exploration is valid.
    pub fn validate(&self) -> Result<()> {
        check_unit("alpha", self.alpha)?;
        if !(0.0..1.0).contains(&self.delta) {
            return Err(Error::usage(format!(
                "`delta` must be in [0, 1), found {}",
                self.delta
            )));
        }
        self.exploration.validate()
    }
}

/// How a Q-table starts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialQ {
    /// The same value for every state and action.
    Constant(f64),
    /// For a player of a repeated game, the expected discounted payoff of
    /// playing `a` forever against opponents who play uniformly at random
    /// (Calvano et al.'s `Q₀`), the same in every state: see
    /// [`uniform_opponents_row`].
    UniformOpponents,
}

impl InitialQ {
    /// Returns the initial row (one value per action) of player `player` of
    /// `players` with `actions` actions each and discount `delta`;
    /// `payoff(profile)` is the player's one-period payoff when player `j`
    /// plays `profile[j]` (used by [`InitialQ::UniformOpponents`] only).
    pub fn row(
        &self,
        actions: usize,
        players: usize,
        player: usize,
        delta: f64,
        payoff: impl FnMut(&[usize]) -> f64,
    ) -> Result<Vec<f64>> {
        match *self {
            InitialQ::Constant(v) if v.is_finite() => Ok(vec![v; actions]),
            InitialQ::Constant(v) => Err(Error::usage(format!(
                "the initial Q value must be finite, found {v}"
            ))),
            InitialQ::UniformOpponents => {
                uniform_opponents_row(actions, players, player, delta, payoff)
            }
        }
    }
}

/// Returns Calvano et al.'s initial Q row of player `player` in a game of
/// `players` players with `actions` actions each:
///
/// ```text
/// Q₀(a) = Σ_{a₋ᵢ} π_i(a, a₋ᵢ) / ((1 − δ) |A|^(n−1))
/// ```
///
/// the payoff of `a` averaged over the opponents' action profiles (each
/// equally likely) and discounted over an infinite horizon. `payoff(profile)`
/// is the player's one-period payoff at a full profile (`profile[player]`
/// is the player's own action). Enumerates all `|A|^n` profiles.
///
/// Errors if there is no action or player, `player` is not one, `δ` is not
/// in `[0, 1)`, the profiles are too many to count, or a payoff is not
/// finite.
pub fn uniform_opponents_row(
    actions: usize,
    players: usize,
    player: usize,
    delta: f64,
    mut payoff: impl FnMut(&[usize]) -> f64,
) -> Result<Vec<f64>> {
    super::check_count("actions", actions)?;
    check_index("player", player, players)?;
    if !(0.0..1.0).contains(&delta) {
        return Err(Error::usage(format!(
            "`delta` must be in [0, 1), found {delta}"
        )));
    }
    let profiles = crate::market::posted::profile_count(actions, players)?;
    let opponents = profiles / actions;
    let mut sums = vec![0.0; actions];
    let mut profile = vec![0usize; players];
    for _ in 0..profiles {
        let v = payoff(&profile);
        if !v.is_finite() {
            return Err(Error::usage(format!(
                "the payoff of profile {profile:?} is {v}, not a finite number"
            )));
        }
        sums[profile[player]] += v;
        for d in profile.iter_mut() {
            *d += 1;
            if *d < actions {
                break;
            }
            *d = 0;
        }
    }
    let scale = 1.0 / ((1.0 - delta) * opponents as f64);
    Ok(sums.into_iter().map(|s| s * scale).collect())
}

/// A tabular Q-learner: the table, the cached greedy policy, the update
/// count and the convergence counter. See the [module](self) for the
/// algorithm. A saved learner is checked as it is read: parameters in
/// range, a table of `states × actions`, one greedy action per state, each
/// an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SavedQLearner")]
pub struct QLearner {
    params: QParams,
    states: usize,
    actions: usize,
    /// `Q(s, a)` at `s · actions + a`.
    q: Vec<f64>,
    /// The greedy action of each state (lowest index among equals).
    greedy: Vec<u32>,
    /// Updates so far (`t` of `ε_t`).
    updates: u64,
    /// Consecutive updates that changed no state's greedy action.
    stable: u64,
}

/// [`QLearner`]'s fields as saved, before they are checked.
#[derive(Deserialize)]
struct SavedQLearner {
    params: QParams,
    states: usize,
    actions: usize,
    q: Vec<f64>,
    greedy: Vec<u32>,
    updates: u64,
    stable: u64,
}

impl TryFrom<SavedQLearner> for QLearner {
    type Error = String;

    fn try_from(s: SavedQLearner) -> std::result::Result<Self, String> {
        s.params.validate().map_err(|e| e.to_string())?;
        // One greedy action per state, each below `actions`: at least one
        // action once there is a state.
        let fits = s.states > 0
            && s.states.checked_mul(s.actions) == Some(s.q.len())
            && s.greedy.len() == s.states
            && s.greedy.iter().all(|&g| (g as usize) < s.actions);
        if !fits {
            return Err(format!(
                "a saved Q-learner of {} states × {} actions holds {} values and {} greedy actions, not one per state in range",
                s.states,
                s.actions,
                s.q.len(),
                s.greedy.len()
            ));
        }
        Ok(QLearner {
            params: s.params,
            states: s.states,
            actions: s.actions,
            q: s.q,
            greedy: s.greedy,
            updates: s.updates,
            stable: s.stable,
        })
    }
}

impl QLearner {
    /// Returns a learner over `states` states whose every row starts as
    /// `row` (one value per action; see [`InitialQ::row`]).
    ///
    /// Errors if the parameters are invalid, there is no state or action,
    /// the table would not fit in memory's address space, or a value of
    /// `row` is not finite.
    pub fn new(params: QParams, states: usize, row: &[f64]) -> Result<Self> {
        params.validate()?;
        let actions = row.len();
        super::check_count("states", states)?;
        super::check_count("actions", actions)?;
        if u32::try_from(actions).is_err() {
            return Err(Error::usage(format!("{actions} actions are too many")));
        }
        if let Some(v) = row.iter().find(|v| !v.is_finite()) {
            return Err(Error::usage(format!(
                "initial Q values must be finite, found {v}"
            )));
        }
        let len = states.checked_mul(actions).ok_or_else(|| {
            Error::usage(format!(
                "a Q-table of {states} states × {actions} actions is too large"
            ))
        })?;
        let mut q = Vec::new();
        q.try_reserve_exact(len).map_err(|_| {
            Error::usage(format!(
                "a Q-table of {states} states × {actions} actions does not fit in memory"
            ))
        })?;
        for _ in 0..states {
            q.extend_from_slice(row);
        }
        let g = argmax(row).unwrap_or(0) as u32;
        Ok(QLearner {
            params,
            states,
            actions,
            q,
            greedy: vec![g; states],
            updates: 0,
            stable: 0,
        })
    }

    /// The learner's parameters.
    pub fn params(&self) -> &QParams {
        &self.params
    }

    /// The heap bytes of a table of `states` × `actions`: 8 an entry and
    /// 4 a state (its greedy action), for the memory a run is estimated
    /// to need.
    pub fn table_bytes(states: usize, actions: usize) -> usize {
        states
            .saturating_mul(actions)
            .saturating_mul(8)
            .saturating_add(states.saturating_mul(4))
    }

    /// The number of states.
    pub fn states(&self) -> usize {
        self.states
    }

    /// The number of actions.
    pub fn actions(&self) -> usize {
        self.actions
    }

    /// The table, row `s` (one value per action) at `s · actions`.
    pub fn table(&self) -> &[f64] {
        &self.q
    }

    /// `Q(s, a)`.
    pub fn value(&self, state: usize, action: usize) -> Result<f64> {
        check_index("state", state, self.states)?;
        check_index("action", action, self.actions)?;
        Ok(self.q[state * self.actions + action])
    }

    /// The greedy action of every state.
    pub fn policy(&self) -> &[u32] {
        &self.greedy
    }

    /// The greedy action in `state`: `argmax_a Q(state, a)`, the lowest
    /// index among equals.
    #[inline]
    pub fn greedy(&self, state: usize) -> Result<usize> {
        check_index("state", state, self.states)?;
        Ok(self.greedy[state] as usize)
    }

    /// The number of updates so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The current exploration probability `ε_t`.
    #[inline]
    pub fn epsilon(&self) -> f64 {
        self.params.exploration.epsilon(self.updates)
    }

    /// The number of consecutive updates, up to now, that left every state's
    /// greedy action unchanged.
    pub fn stable_for(&self) -> u64 {
        self.stable
    }

    /// Whether no state's greedy action has changed for the last `k`
    /// updates (Calvano et al.'s convergence criterion, `k = 100 000`).
    pub fn converged(&self, k: u64) -> bool {
        self.stable >= k
    }

    /// Returns the action to take in `state`, ε-greedily: with probability
    /// `ε_t` one drawn uniformly from `rng`, else the greedy action. Draws a
    /// uniform `f64` from `rng` (and, when exploring, the random action)
    /// unless `ε_t = 0`, when it draws nothing.
    #[inline]
    pub fn act<R: Rng + ?Sized>(&self, state: usize, rng: &mut R) -> Result<usize> {
        check_index("state", state, self.states)?;
        Ok(self.act_in_range(state, rng, &mut EpsilonMemo::default()))
    }

    /// [`act`](Self::act) for a caller whose state is in range by
    /// construction (checked in debug builds; indexing still panics
    /// rather than read out of bounds).
    #[inline]
    pub(crate) fn act_in_range<R: Rng + ?Sized>(
        &self,
        state: usize,
        rng: &mut R,
        memo: &mut EpsilonMemo,
    ) -> usize {
        debug_assert!(state < self.states);
        let greedy = self.greedy[state] as usize;
        let eps = memo.epsilon(&self.params.exploration, self.updates);
        if eps > 0.0 && rng.random::<f64>() < eps {
            rng.random_range(0..self.actions)
        } else {
            greedy
        }
    }

    /// Learns from taking `action` in `state`, earning `reward` and moving
    /// to `next`: `Q(s, a) ← (1 − α) Q(s, a) + α (r + δ max_a' Q(s', a'))`,
    /// then advances `t`. Returns whether the greedy action of `state`
    /// changed.
    ///
    /// Errors (changing nothing) if a state or the action is out of range or
    /// the reward is not finite.
    #[inline]
    pub fn learn(&mut self, state: usize, action: usize, reward: f64, next: usize) -> Result<bool> {
        check_index("state", state, self.states)?;
        check_index("state", next, self.states)?;
        check_index("action", action, self.actions)?;
        check_reward(reward)?;
        Ok(self.learn_in_range(state, action, reward, next))
    }

    /// [`learn`](Self::learn) for a caller whose states and action are in
    /// range by construction (checked in debug builds; indexing still
    /// panics rather than write out of bounds). A reward that is not
    /// finite teaches nothing (returns false), as `learn` refuses it.
    #[inline]
    pub(crate) fn learn_in_range(
        &mut self,
        state: usize,
        action: usize,
        reward: f64,
        next: usize,
    ) -> bool {
        debug_assert!(state < self.states && next < self.states && action < self.actions);
        if !reward.is_finite() {
            return false;
        }
        let m = self.actions;
        let QParams { alpha, delta, .. } = self.params;
        let best_next = self.q[next * m + self.greedy[next] as usize];
        let row = &mut self.q[state * m..(state + 1) * m];
        let old = row[action];
        let new = (1.0 - alpha) * old + alpha * (reward + delta * best_next);
        row[action] = new;
        let g = self.greedy[state] as usize;
        let new_greedy = if action == g {
            if new >= old {
                g
            } else {
                argmax(row).unwrap_or(g)
            }
        } else if new > row[g] || (new == row[g] && action < g) {
            action
        } else {
            g
        };
        let changed = new_greedy != g;
        self.greedy[state] = new_greedy as u32;
        self.updates += 1;
        self.stable = if changed { 0 } else { self.stable + 1 };
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::AgentRng;
    use rand::SeedableRng;

    fn params(alpha: f64, delta: f64, eps: f64) -> QParams {
        QParams {
            alpha,
            delta,
            exploration: Exploration::Constant(eps),
        }
    }

    /// A saved learner is checked as it is read: a table, greedy policy or
    /// parameter no learner has is refused (it would index out of range
    /// at the next decision), and a learner's own bytes read back.
    #[test]
    fn a_saved_learner_out_of_shape_is_refused_as_it_is_read() {
        let good = QLearner::new(params(0.1, 0.9, 0.1), 3, &[0.0, 1.0]).unwrap();
        let back =
            |l: &QLearner| postcard::from_bytes::<QLearner>(&postcard::to_stdvec(l).unwrap());
        assert_eq!(back(&good).unwrap(), good);
        let bad: [&dyn Fn(&mut QLearner); 6] = [
            &|l| l.greedy.truncate(2),
            &|l| l.greedy[2] = 2,
            &|l| l.q.push(0.0),
            &|l| l.actions = 3,
            &|l| {
                l.states = 0;
                l.q.clear();
                l.greedy.clear();
            },
            &|l| l.params.alpha = 2.0,
        ];
        for (k, edit) in bad.iter().enumerate() {
            let mut l = good.clone();
            edit(&mut l);
            assert!(back(&l).is_err(), "edit {k} read back");
        }
    }

    #[test]
    fn the_remembered_epsilon_is_that_of_the_current_beta_and_t() {
        // e^(−βt) for each (β, t) in turn, whether t, β or both changed
        // since the last call; a constant ε whatever the memo holds.
        let mut memo = EpsilonMemo::default();
        for (beta, t) in [
            (0.5, 0),
            (0.5, 0),
            (0.5, 1),
            (0.5, 3),
            (0.25, 3),
            (0.25, 3),
            (0.5, 4),
        ] {
            let eps = memo.epsilon(&Exploration::Decaying { beta }, t);
            assert_eq!(eps, (-beta * t as f64).exp(), "beta {beta}, t {t}");
        }
        assert_eq!(memo.epsilon(&Exploration::Constant(0.2), 4), 0.2);
        assert_eq!(
            memo.epsilon(&Exploration::Decaying { beta: 0.5 }, 2),
            (-1f64).exp()
        );
    }

    #[test]
    fn one_update_follows_the_formula() {
        let mut l = QLearner::new(params(0.15, 0.95, 0.0), 2, &[1.0, 2.0, 0.5]).unwrap();
        // Q(0, 2) ← 0.85 · 0.5 + 0.15 · (3 + 0.95 · max(1, 2, 0.5)).
        let changed = l.learn(0, 2, 3.0, 1).unwrap();
        let expected = 0.85 * 0.5 + 0.15 * (3.0 + 0.95 * 2.0);
        assert_eq!(l.value(0, 2).unwrap(), expected);
        assert!(!changed && l.greedy(0).unwrap() == 1, "{expected} < 2");
        assert_eq!((l.updates(), l.stable_for()), (1, 1));
        // A large reward makes action 2 greedy in state 0 only.
        assert!(l.learn(0, 2, 100.0, 1).unwrap());
        assert_eq!(l.policy(), &[2, 1]);
        assert_eq!(l.stable_for(), 0);
    }

    /// Converged after `k` updates means the last `k` updates left every
    /// greedy action as it was: none before the first update; then 1, 2,
    /// 3 after updates that keep Q(0, 2) below Q(0, 1) = 2 (a reward of 0:
    /// 0.85 · q + 0.15 · 0.95 · 2 < 2); none again after one that makes
    /// action 2 greedy.
    #[test]
    fn converged_counts_the_updates_since_a_greedy_action_last_changed() {
        let mut l = QLearner::new(params(0.15, 0.95, 0.0), 2, &[1.0, 2.0, 0.5]).unwrap();
        assert!(l.converged(0) && !l.converged(1), "before any update");
        for k in 1..=3 {
            assert!(!l.learn(0, 2, 0.0, 1).unwrap());
            assert!(l.converged(k) && !l.converged(k + 1), "after {k}");
        }
        assert!(l.learn(0, 2, 100.0, 1).unwrap());
        assert!(l.converged(0) && !l.converged(1), "after a change");
    }

    #[test]
    fn the_greedy_cache_always_equals_the_argmax() {
        // Random updates, some lowering the greedy entry, some creating ties.
        let mut rng = AgentRng::seed_from_u64(3);
        let mut l = QLearner::new(params(0.5, 0.5, 0.3), 4, &[0.0; 5]).unwrap();
        for _ in 0..20_000 {
            let s = rng.random_range(0..4);
            let a = l.act(s, &mut rng).unwrap();
            let r = [-1.0, 0.0, 1.0][rng.random_range(0..3)];
            let before = l.policy().to_vec();
            let changed = l.learn(s, a, r, rng.random_range(0..4)).unwrap();
            assert_eq!(changed, before != l.policy());
            for st in 0..4 {
                let row = &l.table()[st * 5..st * 5 + 5];
                assert_eq!(l.greedy(st).unwrap(), argmax(row).unwrap());
            }
        }
    }

    #[test]
    fn ties_go_to_the_lowest_action() {
        let l = QLearner::new(params(0.1, 0.9, 0.0), 3, &[1.0, 4.0, 4.0, 4.0]).unwrap();
        assert_eq!(l.policy(), &[1, 1, 1]);
        let mut l = QLearner::new(params(1.0, 0.0, 0.0), 1, &[0.0, 0.0, 0.0]).unwrap();
        // α = 1, δ = 0: Q(s, a) becomes the reward.
        l.learn(0, 2, 1.0, 0).unwrap();
        l.learn(0, 1, 1.0, 0).unwrap();
        assert_eq!(
            l.greedy(0).unwrap(),
            1,
            "a tie with a lower action moves to it"
        );
        l.learn(0, 1, 0.5, 0).unwrap();
        assert_eq!(
            l.greedy(0).unwrap(),
            2,
            "the greedy action falls below another"
        );
    }

    #[test]
    fn epsilon_decays_exponentially_and_zero_draws_nothing() {
        let e = Exploration::Decaying { beta: 4e-6 };
        assert_eq!(e.epsilon(0), 1.0);
        assert!((e.epsilon(250_000) - (-1.0f64).exp()).abs() < 1e-15);
        let l = QLearner::new(params(0.1, 0.9, 0.0), 1, &[0.0, 1.0]).unwrap();
        let mut rng = AgentRng::seed_from_u64(1);
        let untouched = rng.clone();
        assert_eq!(l.act(0, &mut rng).unwrap(), 1);
        assert_eq!(rng, untouched);
    }

    #[test]
    fn bad_parameters_and_indices_are_refused() {
        let row = [0.0, 0.0];
        assert!(QLearner::new(params(1.5, 0.9, 0.1), 1, &row).is_err());
        assert!(QLearner::new(params(0.1, 1.0, 0.1), 1, &row).is_err());
        assert!(QLearner::new(params(0.1, -0.1, 0.1), 1, &row).is_err());
        assert!(QLearner::new(params(0.1, 0.9, 1.1), 1, &row).is_err());
        assert!(QLearner::new(params(0.1, 0.9, f64::NAN), 1, &row).is_err());
        let p = QParams {
            exploration: Exploration::Decaying { beta: -1.0 },
            ..params(0.1, 0.9, 0.0)
        };
        assert!(QLearner::new(p, 1, &row).is_err());
        assert!(QLearner::new(params(0.1, 0.9, 0.1), 0, &row).is_err());
        assert!(QLearner::new(params(0.1, 0.9, 0.1), 1, &[]).is_err());
        assert!(QLearner::new(params(0.1, 0.9, 0.1), usize::MAX, &row).is_err());
        assert!(QLearner::new(params(0.1, 0.9, 0.1), 1, &[f64::INFINITY]).is_err());
        let mut l = QLearner::new(params(0.1, 0.9, 0.1), 2, &row).unwrap();
        assert!(l.learn(2, 0, 1.0, 0).is_err());
        assert!(l.learn(0, 2, 1.0, 0).is_err());
        assert!(l.learn(0, 0, 1.0, 2).is_err());
        assert!(l.learn(0, 0, f64::NAN, 1).is_err());
        assert_eq!(l.updates(), 0);
        assert!(l.act(2, &mut AgentRng::seed_from_u64(1)).is_err());
    }

    #[test]
    fn uniform_opponents_averages_over_the_opponents() {
        // Two players, two actions; player 1's payoff is 10·a1 + a0.
        let pay = |p: &[usize]| 10.0 * p[1] as f64 + p[0] as f64;
        let row = uniform_opponents_row(2, 2, 1, 0.5, pay).unwrap();
        // Q₀(a) = (mean over a0 of 10a + a0)/(1 − δ) = (10a + 0.5)/0.5.
        assert_eq!(row, vec![1.0, 21.0]);
        // Three players, three actions, payoff = own action: no averaging.
        let row = uniform_opponents_row(3, 3, 2, 0.0, |p| p[2] as f64).unwrap();
        assert_eq!(row, vec![0.0, 1.0, 2.0]);
        assert!(uniform_opponents_row(2, 2, 2, 0.5, pay).is_err());
        assert!(uniform_opponents_row(2, 2, 0, 1.0, pay).is_err());
        assert!(uniform_opponents_row(2, 2, 0, 0.5, |_| f64::NAN).is_err());
        assert!(uniform_opponents_row(1 << 20, 4, 0, 0.5, pay).is_err());
        let c = InitialQ::Constant(2.5).row(3, 2, 0, 0.9, pay).unwrap();
        assert_eq!(c, vec![2.5; 3]);
    }

    /// A learner explores with the ε of its own update count: a decaying
    /// ε = e^(−t/2) is 1 before any update and e^(−1) after two; a
    /// constant one is the same at any t. It reports its parameters.
    #[test]
    fn a_learner_explores_with_the_epsilon_of_its_update_count() {
        let p = QParams {
            exploration: Exploration::Decaying { beta: 0.5 },
            ..params(0.5, 0.5, 0.0)
        };
        let mut l = QLearner::new(p, 2, &[0.0, 0.0]).unwrap();
        assert_eq!(l.params(), &p);
        assert_eq!(l.epsilon(), 1.0);
        l.learn(0, 1, 1.0, 1).unwrap();
        l.learn(1, 0, 1.0, 0).unwrap();
        assert_eq!(l.epsilon(), (-1f64).exp());
        assert_eq!(Exploration::Constant(0.3).epsilon(7), 0.3);
        assert_eq!(Exploration::Constant(0.3).epsilon(0), 0.3);
    }

    /// A reward that is not a number teaches the in-range update nothing:
    /// false, the table, the update count and the stable count unchanged.
    #[test]
    fn a_non_finite_reward_teaches_the_in_range_update_nothing() {
        let mut l = QLearner::new(params(0.5, 0.5, 0.0), 2, &[0.0, 1.0]).unwrap();
        l.learn(0, 0, 0.0, 1).unwrap();
        let before = l.clone();
        for r in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(!l.learn_in_range(0, 0, r, 1), "{r}");
            assert_eq!(l, before, "{r}");
        }
        // A finite one does: from Q(0, 0) = ½ · 0 + ½ · (0 + ½ · 1) = ¼,
        // ½ · ¼ + ½ · (4 + ½ · 1).
        let q = 0.5 * (0.5 * 1.0);
        assert_eq!(l.value(0, 0).unwrap(), q);
        assert!(l.learn_in_range(0, 0, 4.0, 1));
        assert_eq!(l.value(0, 0).unwrap(), 0.5 * q + 0.5 * (4.0 + 0.5 * 1.0));
    }

    /// An initial constant row must be finite; the uniform-opponents row
    /// is [`uniform_opponents_row`]'s: player 0 of two with payoff 3·a0 −
    /// a1 and δ = 0.5 has Q₀(a) = (3a − ½)/½ = 6a − 1.
    #[test]
    fn an_initial_row_is_a_finite_constant_or_the_uniform_opponents_row() {
        let pay = |p: &[usize]| 3.0 * p[0] as f64 - p[1] as f64;
        for v in [f64::NAN, f64::INFINITY] {
            assert!(InitialQ::Constant(v).row(2, 2, 0, 0.5, pay).is_err());
        }
        let row = InitialQ::UniformOpponents.row(2, 2, 0, 0.5, pay).unwrap();
        assert_eq!(row, vec![-1.0, 5.0]);
    }
}
