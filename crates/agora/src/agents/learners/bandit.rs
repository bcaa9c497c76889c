//! Multi-armed bandits: learners with one state and `k` actions ("arms").
//!
//! Each step the learner pulls an arm ([`Bandit::select`]) and is told the
//! reward ([`Bandit::update`]); it trades off pulling the arm that looks
//! best against learning more about the others. Performance is measured by
//! the (pseudo-)regret `Σ_t (μ* − μ_{a_t})`, `μ_i` the arm means.
//!
//! - [`EpsilonGreedy`]: the best-looking arm, or with probability `ε` a
//!   uniformly random one. With a fixed `ε` the regret grows linearly,
//!   `≈ ε t · mean gap`.
//! - [`Ucb1`] (Auer, Cesa-Bianchi & Fischer, *Machine Learning* 2002): the
//!   arm with the highest upper confidence bound
//!   `x̄_i + √(2 ln t / n_i)`; for rewards in `[0, 1]` its expected regret
//!   after `t` pulls is at most
//!   `Σ_{i: Δ_i>0} 8 ln t / Δ_i + (1 + π²/3) Σ_i Δ_i` (their Theorem 1).
//! - [`Thompson`] sampling (Thompson 1933; Agrawal & Goyal, COLT 2012):
//!   draw each arm's mean from its posterior and pull the arm with the
//!   largest draw; Beta–Bernoulli for rewards in `{0, 1}`, Normal–Gamma for
//!   real rewards.
//!
//! Every bandit first pulls each arm it has never pulled (the lowest index
//! first), without drawing randomness, then follows its rule; ties go to the
//! lowest index.

use rand::{Rng, RngExt};
use rand_distr::{Beta, Distribution, Gamma, Normal};
use serde::{Deserialize, Serialize};

use super::{check_count, check_index, check_reward, check_unit};
use crate::error::{Error, Result};

/// A multi-armed bandit learner.
pub trait Bandit {
    /// The number of arms.
    fn arms(&self) -> usize;

    /// Returns the arm to pull next, drawing any randomness from `rng`.
    fn select<R: Rng + ?Sized>(&self, rng: &mut R) -> usize;

    /// Learns that pulling `arm` earned `reward`.
    ///
    /// Errors (changing nothing) if `arm` is out of range or the reward is
    /// not finite, or not in `[0, 1]` for a Beta–Bernoulli Thompson sampler.
    fn update(&mut self, arm: usize, reward: f64) -> Result<()>;
}

/// Pull counts and sample means of the arms (as many of each, at least
/// one: checked as a saved one is read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SavedTally")]
struct Tally {
    counts: Vec<u64>,
    means: Vec<f64>,
}

/// [`Tally`]'s fields as saved, before they are checked.
#[derive(Deserialize)]
struct SavedTally {
    counts: Vec<u64>,
    means: Vec<f64>,
}

impl TryFrom<SavedTally> for Tally {
    type Error = String;

    fn try_from(s: SavedTally) -> std::result::Result<Self, String> {
        if s.counts.is_empty() || s.counts.len() != s.means.len() {
            return Err(format!(
                "a saved bandit holds {} pull counts and {} means, not one of each per arm",
                s.counts.len(),
                s.means.len()
            ));
        }
        Ok(Tally {
            counts: s.counts,
            means: s.means,
        })
    }
}

impl Tally {
    fn new(arms: usize) -> Result<Self> {
        check_count("arms", arms)?;
        Ok(Tally {
            counts: vec![0; arms],
            means: vec![0.0; arms],
        })
    }

    /// The first arm never pulled.
    fn untried(&self) -> Option<usize> {
        self.counts.iter().position(|&n| n == 0)
    }

    fn record(&mut self, arm: usize, reward: f64) -> Result<()> {
        check_index("arm", arm, self.counts.len())?;
        check_reward(reward)?;
        self.counts[arm] += 1;
        // Welford's running mean: exact for constant rewards, no growing sum.
        self.means[arm] += (reward - self.means[arm]) / self.counts[arm] as f64;
        Ok(())
    }
}

/// ε-greedy: with probability `ε` a uniformly random arm, else the arm
/// with the highest sample mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SavedEpsilonGreedy")]
pub struct EpsilonGreedy {
    epsilon: f64,
    tally: Tally,
}

/// [`EpsilonGreedy`]'s fields as saved, before they are checked.
#[derive(Deserialize)]
struct SavedEpsilonGreedy {
    epsilon: f64,
    tally: Tally,
}

impl TryFrom<SavedEpsilonGreedy> for EpsilonGreedy {
    type Error = String;

    fn try_from(s: SavedEpsilonGreedy) -> std::result::Result<Self, String> {
        check_unit("epsilon", s.epsilon).map_err(|e| e.to_string())?;
        Ok(EpsilonGreedy {
            epsilon: s.epsilon,
            tally: s.tally,
        })
    }
}

impl EpsilonGreedy {
    /// Returns the learner over `arms` arms exploring with probability
    /// `epsilon`.
    ///
    /// Errors if there is no arm or `epsilon` is not in `[0, 1]`.
    pub fn new(arms: usize, epsilon: f64) -> Result<Self> {
        check_unit("epsilon", epsilon)?;
        Ok(EpsilonGreedy {
            epsilon,
            tally: Tally::new(arms)?,
        })
    }

    /// The number of pulls of each arm.
    pub fn counts(&self) -> &[u64] {
        &self.tally.counts
    }

    /// The sample mean reward of each arm (0 before its first pull).
    pub fn means(&self) -> &[f64] {
        &self.tally.means
    }
}

impl Bandit for EpsilonGreedy {
    fn arms(&self) -> usize {
        self.tally.counts.len()
    }

    /// An untried arm if any; else, drawing a uniform `f64`, a uniformly
    /// random arm with probability `ε` (a second draw), otherwise the arm
    /// of highest sample mean.
    fn select<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        if let Some(arm) = self.tally.untried() {
            return arm;
        }
        if self.epsilon > 0.0 && rng.random::<f64>() < self.epsilon {
            rng.random_range(0..self.arms())
        } else {
            super::argmax(&self.tally.means).unwrap_or(0)
        }
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.tally.record(arm, reward)
    }
}

/// UCB1: the arm maximising `x̄_i + √(2 ln t / n_i)`, `t` the total pulls
/// and `n_i` the arm's, the lowest-numbered of those tied. Deterministic:
/// it never draws from the generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ucb1 {
    tally: Tally,
    total: u64,
}

impl Ucb1 {
    /// Returns the learner over `arms` arms.
    ///
    /// Errors if there is no arm.
    pub fn new(arms: usize) -> Result<Self> {
        Ok(Ucb1 {
            tally: Tally::new(arms)?,
            total: 0,
        })
    }

    /// The number of pulls of each arm.
    pub fn counts(&self) -> &[u64] {
        &self.tally.counts
    }

    /// The sample mean reward of each arm (0 before its first pull).
    pub fn means(&self) -> &[f64] {
        &self.tally.means
    }

    /// Returns the upper confidence bound `x̄_i + √(2 ln t / n_i)` of each
    /// arm (`∞` for an untried arm).
    pub fn bounds(&self) -> Vec<f64> {
        let log_t = (self.total as f64).ln();
        self.tally
            .counts
            .iter()
            .zip(&self.tally.means)
            .map(|(&n, &m)| {
                if n == 0 {
                    f64::INFINITY
                } else {
                    m + (2.0 * log_t / n as f64).sqrt()
                }
            })
            .collect()
    }
}

impl Bandit for Ucb1 {
    fn arms(&self) -> usize {
        self.tally.counts.len()
    }

    fn select<R: Rng + ?Sized>(&self, _rng: &mut R) -> usize {
        if let Some(arm) = self.tally.untried() {
            return arm;
        }
        let log_t = (self.total as f64).ln();
        let mut best = 0;
        let mut top = f64::NEG_INFINITY;
        for (i, (&n, &m)) in self.tally.counts.iter().zip(&self.tally.means).enumerate() {
            let b = m + (2.0 * log_t / n as f64).sqrt();
            if b > top {
                best = i;
                top = b;
            }
        }
        best
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        self.tally.record(arm, reward)?;
        self.total += 1;
        Ok(())
    }
}

/// The Normal–Gamma prior of a Gaussian Thompson sampler: the arm's mean
/// `μ` and precision `τ` (inverse variance) of its rewards are a priori
/// `τ ~ Gamma(shape, rate)`, `μ | τ ~ N(mean, 1/(κ τ))`.
///
/// The default (`mean = 0`, `κ = 1`, `shape = 1`, `rate = 1`) is worth one
/// observation of the mean and two of the variance, centred on rewards of
/// size and spread about 1: it washes out after a few pulls for such
/// rewards. For rewards on another scale, set `mean` to a typical reward and
/// `rate` to about `shape` times a typical variance, or rescale the rewards.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GaussianPrior {
    /// Prior mean of the arm mean.
    pub mean: f64,
    /// `κ > 0`: how many observations the prior mean is worth.
    pub kappa: f64,
    /// Gamma shape of the precision, `> 0`.
    pub shape: f64,
    /// Gamma rate of the precision, `> 0`.
    pub rate: f64,
}

impl Default for GaussianPrior {
    fn default() -> Self {
        GaussianPrior {
            mean: 0.0,
            kappa: 1.0,
            shape: 1.0,
            rate: 1.0,
        }
    }
}

impl GaussianPrior {
    fn validate(&self) -> Result<()> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::usage(format!(
                    "the Gaussian prior's `{name}` must be positive, found {v}"
                )))
            }
        };
        if !self.mean.is_finite() {
            return Err(Error::usage(format!(
                "the Gaussian prior's `mean` must be finite, found {}",
                self.mean
            )));
        }
        positive("kappa", self.kappa)?;
        positive("shape", self.shape)?;
        positive("rate", self.rate)
    }

    /// The posterior after one more reward `x` (conjugate update):
    /// `κ' = κ + 1`, `mean' = (κ mean + x)/(κ + 1)`, `shape' = shape + ½`,
    /// `rate' = rate + κ (x − mean)² / (2(κ + 1))`.
    fn updated(&self, x: f64) -> GaussianPrior {
        let k1 = self.kappa + 1.0;
        let d = x - self.mean;
        GaussianPrior {
            mean: self.mean + d / k1,
            kappa: k1,
            shape: self.shape + 0.5,
            rate: self.rate + self.kappa * d * d / (2.0 * k1),
        }
    }

    /// A draw of the mean from the posterior: `τ` from its Gamma, then `μ`
    /// given `τ`.
    fn sample_mean<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let tau = match Gamma::new(self.shape, 1.0 / self.rate) {
            Ok(g) => g.sample(rng),
            Err(_) => return self.mean,
        };
        match Normal::new(self.mean, 1.0 / (self.kappa * tau).sqrt()) {
            Ok(n) => n.sample(rng),
            Err(_) => self.mean,
        }
    }
}

/// The posterior of one arm of a Thompson sampler.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Posterior {
    /// Beta(`a`, `b`) over the success probability.
    Beta { a: f64, b: f64 },
    /// Normal–Gamma over the mean and precision.
    NormalGamma(GaussianPrior),
}

/// Thompson sampling: each step, draw a mean for every arm from its
/// posterior and pull the arm with the largest draw.
///
/// - [`Thompson::bernoulli`]: rewards in `{0, 1}`, prior Beta(1, 1)
///   (uniform); a reward `r` adds `r` successes and `1 − r` failures, so a
///   reward in `[0, 1]` counts fractionally.
/// - [`Thompson::gaussian`]: real rewards, a Normal–Gamma prior
///   ([`GaussianPrior`]) updated by conjugacy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SavedThompson")]
pub struct Thompson {
    posteriors: Vec<Posterior>,
    counts: Vec<u64>,
}

/// [`Thompson`]'s fields as saved, before they are checked.
#[derive(Deserialize)]
struct SavedThompson {
    posteriors: Vec<Posterior>,
    counts: Vec<u64>,
}

impl TryFrom<SavedThompson> for Thompson {
    type Error = String;

    fn try_from(s: SavedThompson) -> std::result::Result<Self, String> {
        if s.posteriors.is_empty() || s.posteriors.len() != s.counts.len() {
            return Err(format!(
                "a saved Thompson sampler holds {} posteriors and {} pull counts, not one of each per arm",
                s.posteriors.len(),
                s.counts.len()
            ));
        }
        Ok(Thompson {
            posteriors: s.posteriors,
            counts: s.counts,
        })
    }
}

impl Thompson {
    /// Returns a Beta–Bernoulli sampler over `arms` arms with uniform priors.
    ///
    /// Errors if there is no arm.
    pub fn bernoulli(arms: usize) -> Result<Self> {
        check_count("arms", arms)?;
        Ok(Thompson {
            posteriors: vec![Posterior::Beta { a: 1.0, b: 1.0 }; arms],
            counts: vec![0; arms],
        })
    }

    /// Returns a Gaussian sampler over `arms` arms, each with the prior
    /// `prior`.
    ///
    /// Errors if there is no arm or the prior is invalid.
    pub fn gaussian(arms: usize, prior: GaussianPrior) -> Result<Self> {
        check_count("arms", arms)?;
        prior.validate()?;
        Ok(Thompson {
            posteriors: vec![Posterior::NormalGamma(prior); arms],
            counts: vec![0; arms],
        })
    }

    /// The number of pulls of each arm.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The posterior mean of each arm's mean reward.
    pub fn posterior_means(&self) -> Vec<f64> {
        self.posteriors
            .iter()
            .map(|p| match *p {
                Posterior::Beta { a, b } => a / (a + b),
                Posterior::NormalGamma(g) => g.mean,
            })
            .collect()
    }
}

impl Bandit for Thompson {
    fn arms(&self) -> usize {
        self.posteriors.len()
    }

    /// An untried arm if any; else one posterior draw per arm (a Beta draw,
    /// or a Gamma then a Normal draw), the arm of the largest.
    fn select<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        if let Some(arm) = self.counts.iter().position(|&n| n == 0) {
            return arm;
        }
        let mut best = 0;
        let mut top = f64::NEG_INFINITY;
        for (i, p) in self.posteriors.iter().enumerate() {
            let draw = match *p {
                Posterior::Beta { a, b } => match Beta::new(a, b) {
                    Ok(d) => d.sample(rng),
                    Err(_) => a / (a + b),
                },
                Posterior::NormalGamma(g) => g.sample_mean(rng),
            };
            if draw > top {
                best = i;
                top = draw;
            }
        }
        best
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        check_index("arm", arm, self.posteriors.len())?;
        check_reward(reward)?;
        let p = &mut self.posteriors[arm];
        *p = match *p {
            Posterior::Beta { a, b } => {
                if !(0.0..=1.0).contains(&reward) {
                    return Err(Error::usage(format!(
                        "a Beta–Bernoulli Thompson sampler needs rewards in [0, 1], found {reward}"
                    )));
                }
                Posterior::Beta {
                    a: a + reward,
                    b: b + (1.0 - reward),
                }
            }
            Posterior::NormalGamma(g) => Posterior::NormalGamma(g.updated(reward)),
        };
        self.counts[arm] += 1;
        Ok(())
    }
}

/// One of the built-in bandits, for code that picks the algorithm at run
/// time (a scenario's `bandit` kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BanditLearner {
    /// ε-greedy.
    EpsilonGreedy(EpsilonGreedy),
    /// UCB1.
    Ucb1(Ucb1),
    /// Thompson sampling.
    Thompson(Thompson),
}

impl Bandit for BanditLearner {
    fn arms(&self) -> usize {
        match self {
            BanditLearner::EpsilonGreedy(b) => b.arms(),
            BanditLearner::Ucb1(b) => b.arms(),
            BanditLearner::Thompson(b) => b.arms(),
        }
    }

    fn select<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        match self {
            BanditLearner::EpsilonGreedy(b) => b.select(rng),
            BanditLearner::Ucb1(b) => b.select(rng),
            BanditLearner::Thompson(b) => b.select(rng),
        }
    }

    fn update(&mut self, arm: usize, reward: f64) -> Result<()> {
        match self {
            BanditLearner::EpsilonGreedy(b) => b.update(arm, reward),
            BanditLearner::Ucb1(b) => b.update(arm, reward),
            BanditLearner::Thompson(b) => b.update(arm, reward),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::AgentRng;
    use rand::SeedableRng;

    /// Saved bandits are checked as they are read: counts, means and
    /// posteriors one per arm (at least one), ε in [0, 1].
    #[test]
    fn a_saved_bandit_out_of_shape_is_refused_as_it_is_read() {
        fn back<T: Serialize + serde::de::DeserializeOwned>(b: &T) -> Option<T> {
            postcard::from_bytes(&postcard::to_stdvec(b).unwrap()).ok()
        }
        let eg = EpsilonGreedy::new(3, 0.5).unwrap();
        assert_eq!(back(&eg), Some(eg.clone()));
        let mut fewer = eg.clone();
        fewer.tally.means.pop();
        assert_eq!(back(&fewer), None);
        let mut none = eg.clone();
        none.tally.means.clear();
        none.tally.counts.clear();
        assert_eq!(back(&none), None);
        let mut eps = eg.clone();
        eps.epsilon = 1.5;
        assert_eq!(back(&eps), None);
        let ucb = Ucb1::new(2).unwrap();
        assert_eq!(back(&ucb), Some(ucb.clone()));
        let mut more = ucb.clone();
        more.tally.counts.push(0);
        assert_eq!(back(&more), None);
        let th = Thompson::bernoulli(2).unwrap();
        assert_eq!(back(&th), Some(th.clone()));
        let mut fewer = th.clone();
        fewer.counts.pop();
        assert_eq!(back(&fewer), None);
    }

    #[test]
    fn every_bandit_tries_each_arm_first() {
        let mut rng = AgentRng::seed_from_u64(1);
        let mut learners = [
            BanditLearner::EpsilonGreedy(EpsilonGreedy::new(3, 0.5).unwrap()),
            BanditLearner::Ucb1(Ucb1::new(3).unwrap()),
            BanditLearner::Thompson(Thompson::bernoulli(3).unwrap()),
            BanditLearner::Thompson(Thompson::gaussian(3, GaussianPrior::default()).unwrap()),
        ];
        for l in &mut learners {
            for expected in 0..3 {
                let arm = l.select(&mut rng);
                assert_eq!(arm, expected);
                l.update(arm, 0.0).unwrap();
            }
        }
    }

    /// ε-greedy's and UCB1's means are the sample means of each arm's
    /// rewards, 0 for an arm never pulled: arm 0 after 1, 2 and 6 has
    /// mean 3, arm 1 after −0.5 has −0.5; and with ε = 0 ε-greedy then
    /// plays arm 0, the best.
    #[test]
    fn the_means_are_the_sample_means_of_each_arm() {
        let mut e = EpsilonGreedy::new(3, 0.0).unwrap();
        let mut u = Ucb1::new(3).unwrap();
        for (arm, r) in [(0, 1.0), (1, -0.5), (0, 2.0), (0, 6.0)] {
            e.update(arm, r).unwrap();
            u.update(arm, r).unwrap();
        }
        assert_eq!(e.means(), &[3.0, -0.5, 0.0]);
        assert_eq!(u.means(), &[3.0, -0.5, 0.0]);
        assert_eq!(e.counts(), &[3, 1, 0]);
        let mut rng = AgentRng::seed_from_u64(2);
        e.update(2, -1.0).unwrap();
        assert_eq!(e.select(&mut rng), 0);
    }

    /// A Beta posterior that `Beta::new` refuses (b = 0: one the library
    /// never makes, which only a saved state written or altered by hand
    /// could hold) counts as its mean a/(a + b) = 1, above every draw of a
    /// Beta(1, 1) arm: the sampler picks it whatever it draws.
    #[test]
    fn a_beta_posterior_that_cannot_be_sampled_counts_as_its_mean() {
        let t = Thompson {
            posteriors: vec![
                Posterior::Beta { a: 1.0, b: 1.0 },
                Posterior::Beta { a: 0.5, b: 0.0 },
            ],
            counts: vec![1, 1],
        };
        for seed in 0..20 {
            assert_eq!(
                t.select(&mut AgentRng::seed_from_u64(seed)),
                1,
                "seed {seed}"
            );
        }
    }

    #[test]
    fn ucb1_bounds_follow_the_formula() {
        let mut u = Ucb1::new(2).unwrap();
        for (arm, r) in [(0, 1.0), (1, 0.0), (0, 0.0), (0, 1.0)] {
            u.update(arm, r).unwrap();
        }
        let b = u.bounds();
        let ln4 = 4f64.ln();
        assert!((b[0] - (2.0 / 3.0 + (2.0 * ln4 / 3.0).sqrt())).abs() < 1e-15);
        assert!((b[1] - (2.0 * ln4).sqrt()).abs() < 1e-15);
        // Arm 1's bound (1.665) beats arm 0's (1.628).
        assert_eq!(u.select(&mut AgentRng::seed_from_u64(0)), 1);
        // Tied bounds (each arm pulled once, the same mean): the
        // lowest-numbered of the tied arms.
        for (rewards, k) in [
            ([0.5, 0.5, 0.5, 0.5], 0),
            ([0.0, 0.5, 0.5, 0.5], 1),
            ([0.0, 0.0, 0.5, 0.5], 2),
        ] {
            let mut u = Ucb1::new(4).unwrap();
            for (arm, r) in rewards.into_iter().enumerate() {
                u.update(arm, r).unwrap();
            }
            assert_eq!(u.select(&mut AgentRng::seed_from_u64(0)), k, "{rewards:?}");
        }
    }

    #[test]
    fn conjugate_updates_match_the_closed_forms() {
        let mut t = Thompson::bernoulli(1).unwrap();
        for r in [1.0, 0.0, 1.0, 0.5] {
            t.update(0, r).unwrap();
        }
        // Beta(1 + 2.5, 1 + 1.5).
        assert_eq!(t.posterior_means(), vec![3.5 / 6.0]);
        assert!(t.update(0, 2.0).is_err() && t.update(1, 1.0).is_err());
        // Normal–Gamma after x = 1, 3 from (0, 1, 1, 1): batch form
        // κ = 3, mean = (0 + 4)/3, shape = 2,
        // rate = 1 + ½ Σ(x − x̄)² + κ₀ n (x̄ − μ₀)² / (2(κ₀ + n)) = 1 + 1 + 4/3.
        let mut g = GaussianPrior::default();
        for x in [1.0, 3.0] {
            g = g.updated(x);
        }
        assert!((g.kappa - 3.0).abs() < 1e-15 && (g.mean - 4.0 / 3.0).abs() < 1e-15);
        assert!((g.shape - 2.0).abs() < 1e-15 && (g.rate - 10.0 / 3.0).abs() < 1e-14);
        let bad = GaussianPrior {
            rate: 0.0,
            ..GaussianPrior::default()
        };
        assert!(Thompson::gaussian(2, bad).is_err());
        assert!(EpsilonGreedy::new(2, 1.5).is_err() && Ucb1::new(0).is_err());
        let mut u = Ucb1::new(2).unwrap();
        assert!(u.update(0, f64::NAN).is_err());
        assert_eq!(u.counts(), &[0, 0]);
    }

    #[test]
    fn gaussian_thompson_draws_spread_as_the_posterior() {
        // After many rewards of mean 2 and variance 1 the posterior of the
        // mean concentrates near 2 with sd ≈ 1/√n.
        let mut rng = AgentRng::seed_from_u64(9);
        let normal = Normal::new(2.0, 1.0).unwrap();
        let mut g = GaussianPrior::default();
        let n = 10_000;
        for _ in 0..n {
            g = g.updated(normal.sample(&mut rng));
        }
        let draws: Vec<f64> = (0..4000).map(|_| g.sample_mean(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let sd =
            (draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64).sqrt();
        assert!((mean - 2.0).abs() < 0.05, "{mean}");
        assert!((sd * (n as f64).sqrt() - 1.0).abs() < 0.1, "{sd}");
    }

    /// A Gaussian prior needs a finite mean and a positive, finite κ,
    /// shape and rate: each of these five is refused, the default and a
    /// negative mean are not.
    #[test]
    fn a_gaussian_prior_needs_a_finite_mean_and_positive_kappa_shape_and_rate() {
        let d = GaussianPrior::default();
        let refused = [
            GaussianPrior {
                mean: f64::NAN,
                ..d
            },
            GaussianPrior { kappa: 0.0, ..d },
            GaussianPrior { shape: -1.0, ..d },
            GaussianPrior {
                rate: f64::INFINITY,
                ..d
            },
            GaussianPrior {
                kappa: f64::NAN,
                ..d
            },
        ];
        for prior in refused {
            assert!(Thompson::gaussian(2, prior).is_err(), "{prior:?}");
        }
        let negative = GaussianPrior { mean: -3.0, ..d };
        assert!(Thompson::gaussian(2, d).is_ok());
        let t = Thompson::gaussian(2, negative).unwrap();
        assert_eq!(t.posterior_means(), vec![-3.0, -3.0]);
    }

    /// A Thompson sampler counts the pulls of each arm, and every learner
    /// reports its number of arms: 3 for each of these.
    #[test]
    fn a_thompson_sampler_counts_its_pulls_and_every_learner_its_arms() {
        let mut t = Thompson::bernoulli(3).unwrap();
        for arm in [0, 2, 2] {
            t.update(arm, 1.0).unwrap();
        }
        assert_eq!(t.counts(), &[1, 0, 2]);
        let learners = [
            BanditLearner::EpsilonGreedy(EpsilonGreedy::new(3, 0.5).unwrap()),
            BanditLearner::Ucb1(Ucb1::new(3).unwrap()),
            BanditLearner::Thompson(t),
        ];
        for l in &learners {
            assert_eq!(l.arms(), 3, "{l:?}");
        }
    }

    /// ε-greedy with ε = 0.2 over two tried arms of means 1 and 0 plays
    /// the better arm with probability 0.8 + 0.2/2 = 0.9: over 8000 pulls
    /// within 4 sd (√(8000 · 0.09) ≈ 26.8) of 7200.
    #[test]
    fn epsilon_greedy_explores_uniformly_with_probability_epsilon() {
        let mut e = EpsilonGreedy::new(2, 0.2).unwrap();
        e.update(0, 1.0).unwrap();
        e.update(1, 0.0).unwrap();
        let mut rng = AgentRng::seed_from_u64(11);
        let n = 8000;
        let best = (0..n).filter(|_| e.select(&mut rng) == 0).count() as f64;
        assert!((best - 0.9 * n as f64).abs() < 4.0 * 26.8, "{best}");
    }

    /// Thompson sampling picks the arm whose posterior lies higher:
    /// Beta(41, 1) against Beta(1, 41), the first nearly always (the
    /// second's draw beats the first's with probability below 10⁻²³).
    #[test]
    fn thompson_sampling_picks_the_arm_of_the_higher_posterior() {
        let mut t = Thompson::bernoulli(2).unwrap();
        for _ in 0..40 {
            t.update(0, 1.0).unwrap();
            t.update(1, 0.0).unwrap();
        }
        let mut rng = AgentRng::seed_from_u64(12);
        assert!((0..500).all(|_| t.select(&mut rng) == 0));
        let mut g = Thompson::gaussian(2, GaussianPrior::default()).unwrap();
        for _ in 0..40 {
            g.update(0, -5.0).unwrap();
            g.update(1, 5.0).unwrap();
        }
        assert!((0..500).all(|_| g.select(&mut rng) == 1));
    }

    /// A posterior that cannot be sampled (a shape of 0 for the precision's
    /// Gamma, or κ = 0, an infinite spread of the mean) draws its mean.
    #[test]
    fn a_gaussian_posterior_that_cannot_be_sampled_draws_its_mean() {
        let mut rng = AgentRng::seed_from_u64(13);
        let shapeless = GaussianPrior {
            mean: 3.0,
            shape: 0.0,
            ..GaussianPrior::default()
        };
        assert_eq!(shapeless.sample_mean(&mut rng), 3.0);
        let flat = GaussianPrior {
            mean: -2.0,
            kappa: 0.0,
            ..GaussianPrior::default()
        };
        assert_eq!(flat.sample_mean(&mut rng), -2.0);
    }
}
