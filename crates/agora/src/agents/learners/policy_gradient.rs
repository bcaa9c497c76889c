//! Policy gradient: REINFORCE with a baseline on a linear softmax policy.
//!
//! The policy is a softmax over `k` actions of linear scores of a feature
//! vector `x` (length `d`, the caller's features of the observation; put a
//! constant 1 among them for a bias):
//!
//! ```text
//! π(a | x) = exp(θ_a · x) / Σ_b exp(θ_b · x)
//! ```
//!
//! REINFORCE (Williams, *Machine Learning* 1992) climbs the gradient of the
//! expected return with the unbiased estimate `(G − b) ∇_θ ln π(a | x)`,
//! where `G` is the return that followed the action and `b` a baseline that
//! leaves the estimate unbiased and lowers its variance. For the softmax,
//! `∂ ln π(a | x)/∂θ_c = (1[a = c] − π(c | x)) x`, so one update is
//!
//! ```text
//! θ_c ← θ_c + η (G − b) (1[a = c] − π(c | x)) x     for every action c
//! b   ← b + (G − b)/n                               (the running mean of G)
//! ```
//!
//! with `η` the learning rate and `n` the number of returns seen, the
//! baseline taken before the new return enters it. For a one-step problem
//! (a bandit, or a reward credited to the step's own action) `G` is the
//! reward; for an episode, [`discounted_returns`] gives
//! `G_t = Σ_{j≥t} γ^{j−t} r_j`. (Sutton & Barto, *Reinforcement Learning*,
//! 2nd ed., §13.4.)

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{check_count, check_index, check_reward};
use crate::error::{Error, Result};

/// A REINFORCE learner: softmax policy weights `θ` (`k × d`) and a running
/// mean baseline. See the [module](self). A saved learner is checked as it
/// is read: `k × d` weights, a positive finite learning rate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "SavedReinforce")]
pub struct Reinforce {
    actions: usize,
    features: usize,
    learning_rate: f64,
    /// `θ_a` at `a · features`.
    theta: Vec<f64>,
    baseline: f64,
    returns_seen: u64,
    /// Scratch for the action probabilities; not part of the state.
    #[serde(skip)]
    probs: Vec<f64>,
}

/// [`Reinforce`]'s saved fields, before they are checked.
#[derive(Deserialize)]
struct SavedReinforce {
    actions: usize,
    features: usize,
    learning_rate: f64,
    theta: Vec<f64>,
    baseline: f64,
    returns_seen: u64,
}

impl TryFrom<SavedReinforce> for Reinforce {
    type Error = String;

    fn try_from(s: SavedReinforce) -> std::result::Result<Self, String> {
        // The weights' count first: `new` allocates as many (a count the
        // file's own length bounds once it matches).
        if s.actions.checked_mul(s.features) != Some(s.theta.len()) {
            return Err(format!(
                "a saved policy-gradient learner of {} actions × {} features holds {} weights",
                s.actions,
                s.features,
                s.theta.len()
            ));
        }
        let mut r = Reinforce::new(s.actions, s.features, s.learning_rate)
            .map_err(|e| format!("a saved policy-gradient learner: {e}"))?;
        r.theta = s.theta;
        r.baseline = s.baseline;
        r.returns_seen = s.returns_seen;
        Ok(r)
    }
}

impl Reinforce {
    /// Returns a learner over `actions` actions and `features` features with
    /// learning rate `learning_rate`, all weights 0 (the uniform policy) and
    /// baseline 0.
    ///
    /// Errors if there is no action or feature, the weights would not fit in
    /// memory's address space, or the learning rate is not positive and
    /// finite.
    pub fn new(actions: usize, features: usize, learning_rate: f64) -> Result<Self> {
        check_count("actions", actions)?;
        check_count("features", features)?;
        if !(learning_rate.is_finite() && learning_rate > 0.0) {
            return Err(Error::usage(format!(
                "`learning_rate` must be positive, found {learning_rate}"
            )));
        }
        let len = actions
            .checked_mul(features)
            .ok_or_else(|| Error::usage("too many policy weights"))?;
        Ok(Reinforce {
            actions,
            features,
            learning_rate,
            theta: vec![0.0; len],
            baseline: 0.0,
            returns_seen: 0,
            probs: vec![0.0; actions],
        })
    }

    /// The number of actions.
    pub fn actions(&self) -> usize {
        self.actions
    }

    /// The number of features.
    pub fn features(&self) -> usize {
        self.features
    }

    /// The weights, `θ_a` at `a · features`.
    pub fn weights(&self) -> &[f64] {
        &self.theta
    }

    /// The baseline: the mean of the returns learned from so far.
    pub fn baseline(&self) -> f64 {
        self.baseline
    }

    fn check_features(&self, x: &[f64]) -> Result<()> {
        if x.len() != self.features {
            return Err(Error::usage(format!(
                "{} features for a policy of {}",
                x.len(),
                self.features
            )));
        }
        if let Some(v) = x.iter().find(|v| !v.is_finite()) {
            return Err(Error::usage(format!("a feature is {v}, not finite")));
        }
        Ok(())
    }

    /// Writes `π(· | x)` into `out` (one entry per action), the largest score
    /// subtracted before exponentiating so none overflows.
    ///
    /// Errors if `x` has the wrong length or a non-finite feature, or `out`
    /// has the wrong length.
    pub fn probabilities(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        self.check_features(x)?;
        if out.len() != self.actions {
            return Err(Error::usage(format!(
                "{} probabilities for {} actions",
                out.len(),
                self.actions
            )));
        }
        for (o, w) in out.iter_mut().zip(self.theta.chunks_exact(self.features)) {
            *o = w.iter().zip(x).map(|(w, x)| w * x).sum();
        }
        let top = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut total = 0.0;
        for o in out.iter_mut() {
            *o = (*o - top).exp();
            total += *o;
        }
        for o in out.iter_mut() {
            *o /= total;
        }
        Ok(())
    }

    fn refresh(&mut self, x: &[f64]) -> Result<()> {
        let mut probs = std::mem::take(&mut self.probs);
        probs.resize(self.actions, 0.0);
        let r = self.probabilities(x, &mut probs);
        self.probs = probs;
        r
    }

    /// Returns an action drawn from `π(· | x)` with one uniform `f64` from
    /// `rng` (inverse transform over the actions in index order).
    ///
    /// Errors if `x` has the wrong length or a non-finite feature.
    pub fn select<R: Rng + ?Sized>(&mut self, x: &[f64], rng: &mut R) -> Result<usize> {
        self.refresh(x)?;
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for (a, p) in self.probs.iter().enumerate() {
            acc += p;
            if u < acc {
                return Ok(a);
            }
        }
        // Rounding left the sum a hair below u: the last action with
        // positive probability.
        Ok(self.probs.iter().rposition(|&p| p > 0.0).unwrap_or(0))
    }

    /// Learns that `action`, taken with features `x`, was followed by the
    /// return `g`: one REINFORCE step with the running-mean baseline.
    ///
    /// Errors (changing nothing) if `x` has the wrong length or a
    /// non-finite feature, `action` is out of range or `g` is not finite.
    pub fn update(&mut self, x: &[f64], action: usize, g: f64) -> Result<()> {
        check_index("action", action, self.actions)?;
        check_reward(g)?;
        self.refresh(x)?;
        let advantage = g - self.baseline;
        let step = self.learning_rate * advantage;
        for (c, (w, &p)) in self
            .theta
            .chunks_exact_mut(self.features)
            .zip(&self.probs)
            .enumerate()
        {
            let grad = f64::from(u8::from(c == action)) - p;
            for (w, x) in w.iter_mut().zip(x) {
                *w += step * grad * x;
            }
        }
        self.returns_seen += 1;
        self.baseline += advantage / self.returns_seen as f64;
        Ok(())
    }

    /// Returns the expected reward `Σ_a π(a | x) r_a` of the policy at `x`
    /// when action `a` is worth `r_a`.
    ///
    /// Errors if `x` or `rewards` has the wrong length.
    pub fn expected(&self, x: &[f64], rewards: &[f64]) -> Result<f64> {
        let mut p = vec![0.0; self.actions];
        self.probabilities(x, &mut p)?;
        if rewards.len() != self.actions {
            return Err(Error::usage(format!(
                "{} rewards for {} actions",
                rewards.len(),
                self.actions
            )));
        }
        Ok(p.iter().zip(rewards).map(|(p, r)| p * r).sum())
    }
}

/// Learners are equal when their state is: the probabilities scratch is
/// not part of it.
impl PartialEq for Reinforce {
    fn eq(&self, other: &Self) -> bool {
        self.actions == other.actions
            && self.features == other.features
            && self.learning_rate == other.learning_rate
            && self.theta == other.theta
            && self.baseline == other.baseline
            && self.returns_seen == other.returns_seen
    }
}

/// Returns the discounted returns `G_t = r_t + γ G_{t+1}` of an episode's
/// rewards (`G` after the last reward is 0).
pub fn discounted_returns(rewards: &[f64], gamma: f64) -> Vec<f64> {
    let mut g = vec![0.0; rewards.len()];
    let mut acc = 0.0;
    for (g, r) in g.iter_mut().zip(rewards).rev() {
        acc = r + gamma * acc;
        *g = acc;
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::AgentRng;
    use rand::SeedableRng;

    /// A saved learner is checked as it is read: `actions × features`
    /// weights, a positive learning rate.
    #[test]
    fn a_saved_learner_out_of_shape_is_refused_as_it_is_read() {
        let good = Reinforce::new(3, 2, 0.5).unwrap();
        let back =
            |l: &Reinforce| postcard::from_bytes::<Reinforce>(&postcard::to_stdvec(l).unwrap());
        let read = back(&good).unwrap();
        assert_eq!(
            (read.actions, read.features, &read.theta),
            (3, 2, &good.theta)
        );
        let mut fewer = good.clone();
        fewer.theta.pop();
        assert!(back(&fewer).is_err());
        let mut wider = good.clone();
        wider.actions = 4;
        assert!(back(&wider).is_err());
        let mut rate = good.clone();
        rate.learning_rate = -1.0;
        assert!(back(&rate).is_err());
    }

    #[test]
    fn one_step_follows_the_gradient_formula() {
        let mut l = Reinforce::new(3, 2, 0.5).unwrap();
        let x = [1.0, -2.0];
        // θ = 0: π = 1/3 each; baseline 0; G = 3 for action 1.
        l.update(&x, 1, 3.0).unwrap();
        let w = l.weights();
        for c in 0..3 {
            let grad = if c == 1 { 2.0 / 3.0 } else { -1.0 / 3.0 };
            for (j, xj) in x.iter().enumerate() {
                let expected = 0.5 * 3.0 * grad * xj;
                assert!((w[c * 2 + j] - expected).abs() < 1e-15, "θ[{c}][{j}]");
            }
        }
        assert_eq!(l.baseline(), 3.0);
        // A second return of 1: advantage −2, baseline the mean 2.
        l.update(&x, 0, 1.0).unwrap();
        assert_eq!(l.baseline(), 2.0);
    }

    /// An action of probability 0 (its softmax weight underflows: θ = −10⁴
    /// against 0) is never drawn, not even by the smallest uniform draw,
    /// u = 0 (a generator of zeros): the first action of positive
    /// probability is.
    #[test]
    fn an_action_of_probability_zero_is_never_drawn() {
        struct Zeros;
        impl rand::TryRng for Zeros {
            type Error = std::convert::Infallible;
            fn try_next_u32(&mut self) -> std::result::Result<u32, Self::Error> {
                Ok(0)
            }
            fn try_next_u64(&mut self) -> std::result::Result<u64, Self::Error> {
                Ok(0)
            }
            fn try_fill_bytes(&mut self, dst: &mut [u8]) -> std::result::Result<(), Self::Error> {
                dst.fill(0);
                Ok(())
            }
        }
        let mut l = Reinforce::new(2, 1, 1.0).unwrap();
        l.theta = vec![-1e4, 0.0];
        let mut p = [0.0; 2];
        l.probabilities(&[1.0], &mut p).unwrap();
        assert_eq!(p, [0.0, 1.0]);
        assert_eq!(Zeros.random::<f64>(), 0.0);
        assert_eq!(l.select(&[1.0], &mut Zeros).unwrap(), 1);
    }

    #[test]
    fn probabilities_are_a_softmax_and_sampling_follows_them() {
        let mut l = Reinforce::new(2, 1, 1.0).unwrap();
        l.theta = vec![0.0, 2f64.ln()];
        let mut p = [0.0; 2];
        l.probabilities(&[1.0], &mut p).unwrap();
        assert!((p[0] - 1.0 / 3.0).abs() < 1e-15 && (p[1] - 2.0 / 3.0).abs() < 1e-15);
        // Huge scores do not overflow.
        l.theta = vec![0.0, 1e6];
        l.probabilities(&[1.0], &mut p).unwrap();
        assert_eq!(p, [0.0, 1.0]);
        l.theta = vec![0.0, 2f64.ln()];
        let mut rng = AgentRng::seed_from_u64(5);
        let n = 30_000;
        let ones = (0..n)
            .filter(|_| l.select(&[1.0], &mut rng).unwrap() == 1)
            .count();
        // Binomial(n, 2/3): sd = √(n · 2/9) ≈ 82.
        assert!(
            (ones as f64 - n as f64 * 2.0 / 3.0).abs() < 4.0 * 82.0,
            "{ones}"
        );
        assert!(l.select(&[1.0, 2.0], &mut rng).is_err());
        assert!(l.update(&[f64::NAN], 0, 1.0).is_err());
        assert!(l.update(&[1.0], 2, 1.0).is_err());
        assert!(Reinforce::new(2, 1, 0.0).is_err() && Reinforce::new(0, 1, 0.1).is_err());
    }

    #[test]
    fn returns_are_discounted_backwards() {
        let g = discounted_returns(&[1.0, 0.0, 2.0], 0.5);
        assert_eq!(g, vec![1.0 + 0.25 * 2.0, 0.5 * 2.0, 2.0]);
        assert!(discounted_returns(&[], 0.9).is_empty());
    }

    /// The expected reward is Σ π(a) r_a: at π = (⅓, ⅔) and rewards
    /// (3, 6), 1 + 4 = 5. Rewards, probabilities or features of the wrong
    /// length, or a non-finite feature, are refused.
    #[test]
    fn the_expected_reward_weighs_each_reward_by_its_probability() {
        let mut l = Reinforce::new(2, 1, 1.0).unwrap();
        l.theta = vec![0.0, 2f64.ln()];
        let e = l.expected(&[1.0], &[3.0, 6.0]).unwrap();
        assert!((e - 5.0).abs() < 1e-14, "{e}");
        assert!(l.expected(&[1.0], &[3.0]).is_err());
        assert!(l.expected(&[1.0, 1.0], &[3.0, 6.0]).is_err());
        let mut p = [0.0; 3];
        assert!(l.probabilities(&[1.0], &mut p).is_err());
        let mut p = [0.0; 2];
        assert!(l.probabilities(&[f64::INFINITY], &mut p).is_err());
        assert_eq!((l.actions(), l.features()), (2, 1));
    }

    /// Learners are equal when their state is, whatever their scratch
    /// holds: one that has drawn (its probabilities computed) equals its
    /// copy that has not; a different baseline, count of returns, weight
    /// or learning rate makes them differ.
    #[test]
    fn learners_are_equal_when_their_state_is_whatever_their_scratch() {
        let mut a = Reinforce::new(2, 1, 0.5).unwrap();
        a.update(&[1.0], 0, 2.0).unwrap();
        let b = a.clone();
        let _ = a.select(&[1.0], &mut AgentRng::seed_from_u64(1)).unwrap();
        assert_eq!(a, b);
        let mut baseline = b.clone();
        baseline.baseline += 1.0;
        let mut seen = b.clone();
        seen.returns_seen += 1;
        let mut weight = b.clone();
        weight.theta[1] += 1.0;
        let mut rate = b.clone();
        rate.learning_rate = 0.25;
        for (other, what) in [
            (baseline, "baseline"),
            (seen, "returns seen"),
            (weight, "weight"),
            (rate, "learning rate"),
        ] {
            assert_ne!(a, other, "{what}");
        }
        // Another shape with the same (empty) weights is another learner.
        let mut wide = Reinforce::new(1, 2, 0.5).unwrap();
        let mut tall = Reinforce::new(2, 1, 0.5).unwrap();
        wide.theta.clear();
        tall.theta.clear();
        assert_ne!(wide, tall);
    }
}
