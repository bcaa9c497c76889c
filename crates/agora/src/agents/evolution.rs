//! Evolution of a group's policy parameters: each agent carries its own
//! copy of some parameters of its group's built-in policy, and every few
//! steps the worst performers copy the parameters of good ones, with
//! mutation.
//!
//! A group asks for it with
//! `evolution = { every = 20, select = 0.2, mutate = 0.05, params = ["policy.threshold", "policy.buy_fraction"] }`:
//!
//! - at the start every agent's copy is the group's policy;
//! - after every `every`-th step (after it is recorded and the learners
//!   have learned), the agents are ranked by their **performance**: the
//!   change of the group's objective (its `utility`) since the previous
//!   evolution (since step 0 the first time), ties by agent order;
//! - the worst `⌊select·n⌋` agents each copy every parameter of an agent
//!   drawn uniformly (with replacement) from the best `⌊select·n⌋`, and
//!   each copied value `v` becomes `v·(1 + mutate·z)`, `z` a standard
//!   normal draw (relative mutation: a parameter at 0 stays at 0), then
//!   clamped into the parameter's range ([`param_range`]);
//! - the draws come from one stream keyed by (seed, run, step, the
//!   evolution's stream, group), in that order: parent, then one normal
//!   draw per parameter, agent by agent from the worst.
//!
//! The engine keeps one copy of the policy per agent of an evolving group,
//! and decides each agent on its own copy; a group without `evolution`
//! decides on the shared policy as before (one predictable branch per
//! agent). The parameters a policy kind can evolve are its real-valued
//! ones ([`evolvable`]); integer ones (`lookback`, `ttl`) and
//! distributions cannot.

use super::{BuiltinPolicy, GroupPolicy};

/// A group's `evolution` table.
#[derive(Debug, Clone, PartialEq)]
pub struct EvolutionSpec {
    /// Steps between two evolutions (≥ 1).
    pub every: u64,
    /// The share of the group replaced (the worst) and copied from (the
    /// best), in (0, 0.5].
    pub select: f64,
    /// The relative size of the Gaussian mutation (≥ 0).
    pub mutate: f64,
    /// The parameters that evolve, as written (`policy.threshold`).
    pub params: Vec<String>,
}

impl EvolutionSpec {
    /// The parameters' names within the policy (`threshold`).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params
            .iter()
            .map(|p| p.strip_prefix("policy.").unwrap_or(p))
    }
}

/// The parameters a built-in policy can evolve (its real-valued ones).
pub fn evolvable(policy: &BuiltinPolicy) -> &'static [&'static str] {
    const FRACTIONS_AND_TRADE: &[&str] = &["threshold", "p_trade", "buy_fraction", "sell_fraction"];
    match policy {
        BuiltinPolicy::Random(_) => &["p_buy", "p_sell", "buy_fraction", "sell_fraction"],
        BuiltinPolicy::Threshold(_) => &[
            "buy_below",
            "sell_above",
            "p_trade",
            "buy_fraction",
            "sell_fraction",
        ],
        BuiltinPolicy::Momentum(_) | BuiltinPolicy::MeanReversion(_) => FRACTIONS_AND_TRADE,
        BuiltinPolicy::Valuation(_) => &["beta", "activity", "buy_fraction", "sell_fraction"],
        BuiltinPolicy::Fundamental(_) => &["activity", "buy_fraction", "sell_fraction"],
        BuiltinPolicy::MarketMaker(_) => &["spread", "skew"],
        BuiltinPolicy::ZiC(z) if z.shade.is_some() => &["shade"],
        BuiltinPolicy::ZiC(_)
        | BuiltinPolicy::Consumer(_)
        | BuiltinPolicy::Producer(_)
        | BuiltinPolicy::Player(_)
        | BuiltinPolicy::Effort(_)
        | BuiltinPolicy::Scripted(_)
        | BuiltinPolicy::Staker(_)
        | BuiltinPolicy::LiquidityProvider(_)
        | BuiltinPolicy::Sandwich(_) => &[],
        BuiltinPolicy::Attacker(_) | BuiltinPolicy::BestResponse(_) => &[],
    }
}

/// The range a mutated parameter is clamped into: probabilities, shares
/// and fractions in [0, 1], a market maker's spread in [0, 1.99], a
/// shading in [0, 0.99], prices, thresholds and `beta` at least 0.
pub fn param_range(name: &str) -> (f64, f64) {
    match name {
        "p_buy" | "p_sell" | "p_trade" | "buy_fraction" | "sell_fraction" | "activity" | "skew" => {
            (0.0, 1.0)
        }
        "spread" => (0.0, 1.99),
        "shade" => (0.0, 0.99),
        _ => (0.0, f64::INFINITY),
    }
}

/// The policy's parameter `name`, if it has one it can evolve.
pub fn param(policy: &BuiltinPolicy, name: &str) -> Option<f64> {
    let mut copy = policy.clone();
    slot(&mut copy, name).map(|v| *v)
}

/// Sets the policy's parameter `name` to `value` clamped into its range;
/// `false` if the policy has no such evolvable parameter.
pub fn set_param(policy: &mut BuiltinPolicy, name: &str, value: f64) -> bool {
    let (lo, hi) = param_range(name);
    match slot(policy, name) {
        Some(v) => {
            *v = if value.is_nan() {
                lo
            } else {
                value.clamp(lo, hi)
            };
            true
        }
        None => false,
    }
}

fn slot<'a>(policy: &'a mut BuiltinPolicy, name: &str) -> Option<&'a mut f64> {
    Some(match (policy, name) {
        (BuiltinPolicy::Random(p), "p_buy") => &mut p.p_buy,
        (BuiltinPolicy::Random(p), "p_sell") => &mut p.p_sell,
        (BuiltinPolicy::Random(p), "buy_fraction") => &mut p.buy_fraction,
        (BuiltinPolicy::Random(p), "sell_fraction") => &mut p.sell_fraction,
        (BuiltinPolicy::Threshold(p), "buy_below") => &mut p.buy_below,
        (BuiltinPolicy::Threshold(p), "sell_above") => &mut p.sell_above,
        (BuiltinPolicy::Threshold(p), "p_trade") => &mut p.p_trade,
        (BuiltinPolicy::Threshold(p), "buy_fraction") => &mut p.buy_fraction,
        (BuiltinPolicy::Threshold(p), "sell_fraction") => &mut p.sell_fraction,
        (BuiltinPolicy::Momentum(p), "threshold") => &mut p.threshold,
        (BuiltinPolicy::Momentum(p), "p_trade") => &mut p.p_trade,
        (BuiltinPolicy::Momentum(p), "buy_fraction") => &mut p.buy_fraction,
        (BuiltinPolicy::Momentum(p), "sell_fraction") => &mut p.sell_fraction,
        (BuiltinPolicy::MeanReversion(p), "threshold") => &mut p.threshold,
        (BuiltinPolicy::MeanReversion(p), "p_trade") => &mut p.p_trade,
        (BuiltinPolicy::MeanReversion(p), "buy_fraction") => &mut p.buy_fraction,
        (BuiltinPolicy::MeanReversion(p), "sell_fraction") => &mut p.sell_fraction,
        (BuiltinPolicy::Valuation(p), "beta") => &mut p.beta,
        (BuiltinPolicy::Valuation(p), "activity") => &mut p.activity,
        (BuiltinPolicy::Valuation(p), "buy_fraction") => &mut p.buy_fraction,
        (BuiltinPolicy::Valuation(p), "sell_fraction") => &mut p.sell_fraction,
        (BuiltinPolicy::Fundamental(p), "activity") => &mut p.activity,
        (BuiltinPolicy::Fundamental(p), "buy_fraction") => &mut p.buy_fraction,
        (BuiltinPolicy::Fundamental(p), "sell_fraction") => &mut p.sell_fraction,
        (BuiltinPolicy::MarketMaker(p), "spread") => &mut p.spread,
        (BuiltinPolicy::MarketMaker(p), "skew") => &mut p.skew,
        (BuiltinPolicy::ZiC(p), "shade") => p.shade.as_mut()?,
        _ => return None,
    })
}

/// The state of an evolving group: each agent's copy of the policy and its
/// objective at the last evolution.
#[derive(Debug, Clone)]
pub(crate) struct Evolving {
    pub spec: EvolutionSpec,
    /// One policy per agent of the group (always built-in: a
    /// [`GroupPolicy`] so that the engine decides every agent through one
    /// call).
    pub policies: Box<[GroupPolicy]>,
    /// Each agent's objective at the previous evolution (step 0 at first).
    pub baseline: Vec<f64>,
}

/// What an evolving group saves between steps: the parameters, agent by
/// agent (`params` in the spec's order), and the baselines.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct EvolvingState {
    pub params: Vec<f64>,
    pub baseline: Vec<f64>,
}

impl Evolving {
    /// Every agent's copy of `policy`, with `baseline` objectives.
    pub fn new(spec: EvolutionSpec, policy: &BuiltinPolicy, n: usize, baseline: Vec<f64>) -> Self {
        Evolving {
            spec,
            policies: vec![GroupPolicy::Builtin(policy.clone()); n].into_boxed_slice(),
            baseline,
        }
    }

    /// Agent `k`'s policy.
    fn builtin(&self, k: usize) -> &BuiltinPolicy {
        match &self.policies[k] {
            GroupPolicy::Builtin(p) => p,
            GroupPolicy::Custom(_) => unreachable!("evolving policies are built-in"),
        }
    }

    /// Agent `k`'s policy, mutably.
    fn builtin_mut(&mut self, k: usize) -> &mut BuiltinPolicy {
        match &mut self.policies[k] {
            GroupPolicy::Builtin(p) => p,
            GroupPolicy::Custom(_) => unreachable!("evolving policies are built-in"),
        }
    }

    /// The value of each evolving parameter of agent `k` of the group.
    pub fn params_of(&self, k: usize) -> Vec<f64> {
        self.spec
            .names()
            .map(|n| param(self.builtin(k), n).unwrap_or(f64::NAN))
            .collect()
    }

    /// Per evolving parameter: its mean, 10th and 90th percentiles over the
    /// group's agents.
    pub fn distribution(&self) -> Vec<[f64; 3]> {
        self.spec
            .names()
            .map(|name| {
                let mut v: Vec<f64> = (0..self.policies.len())
                    .map(|k| param(self.builtin(k), name).unwrap_or(f64::NAN))
                    .collect();
                // About the first value: exact when all are equal.
                let first = v.first().copied().unwrap_or(f64::NAN);
                let mean = first + v.iter().map(|x| x - first).sum::<f64>() / v.len() as f64;
                v.sort_by(f64::total_cmp);
                [
                    mean,
                    crate::experiment::quantile(&v, 0.1),
                    crate::experiment::quantile(&v, 0.9),
                ]
            })
            .collect()
    }

    /// One evolution on the objectives `now` (see the module
    /// documentation), drawing from `rng`; the baselines become `now`.
    pub fn evolve(&mut self, now: Vec<f64>, rng: &mut crate::rng::EngineRng) {
        use rand::RngExt;
        use rand_distr::{Distribution, StandardNormal};
        let n = self.policies.len();
        let k = (self.spec.select * n as f64).floor() as usize;
        if k > 0 && 2 * k <= n {
            let performance: Vec<f64> =
                now.iter().zip(&self.baseline).map(|(a, b)| a - b).collect();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| performance[a].total_cmp(&performance[b]).then(a.cmp(&b)));
            let best = &order[n - k..];
            let names: Vec<String> = self.spec.names().map(str::to_string).collect();
            let mutate = self.spec.mutate;
            for &worst in &order[..k] {
                let parent = best[rng.random_range(0..k)];
                let values: Vec<f64> = names
                    .iter()
                    .map(|name| param(self.builtin(parent), name).unwrap_or(0.0))
                    .collect();
                for (name, v) in names.iter().zip(values) {
                    let z: f64 = StandardNormal.sample(rng);
                    set_param(self.builtin_mut(worst), name, v * (1.0 + mutate * z));
                }
            }
        }
        self.baseline = now;
    }

    /// The state to save.
    pub fn save(&self) -> EvolvingState {
        EvolvingState {
            params: (0..self.policies.len())
                .flat_map(|k| self.params_of(k))
                .collect(),
            baseline: self.baseline.clone(),
        }
    }

    /// Puts back a saved state, or says why it does not fit.
    pub fn load(&mut self, s: &EvolvingState) -> Result<(), String> {
        let p = self.spec.params.len();
        let n = self.policies.len();
        if s.params.len() != n * p || s.baseline.len() != n {
            return Err(format!(
                "the saved evolution has {} parameter values and {} baselines, the group {} agents of {p} parameters",
                s.params.len(),
                s.baseline.len(),
                n
            ));
        }
        let names: Vec<String> = self.spec.names().map(str::to_string).collect();
        for k in 0..n {
            for (i, name) in names.iter().enumerate() {
                set_param(self.builtin_mut(k), name, s.params[k * p + i]);
            }
        }
        self.baseline = s.baseline.clone();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::MomentumPolicy;

    fn momentum() -> BuiltinPolicy {
        BuiltinPolicy::Momentum(MomentumPolicy {
            asset: 0,
            lookback: 3,
            threshold: 0.05,
            p_trade: 0.5,
            buy_fraction: 0.2,
            sell_fraction: 0.2,
        })
    }

    #[test]
    fn parameters_are_read_set_and_clamped_by_name() {
        let mut p = momentum();
        for name in evolvable(&p) {
            assert!(param(&p, name).is_some(), "{name}");
        }
        assert_eq!(param(&p, "threshold"), Some(0.05));
        assert!(set_param(&mut p, "buy_fraction", 1.7));
        assert_eq!(param(&p, "buy_fraction"), Some(1.0));
        assert!(set_param(&mut p, "threshold", -0.2));
        assert_eq!(param(&p, "threshold"), Some(0.0));
        assert!(!set_param(&mut p, "lookback", 2.0));
        assert_eq!(param(&p, "beta"), None);
    }

    /// The distribution of a parameter over the group: its mean and the
    /// 10th and 90th percentiles (linear between order statistics), here
    /// of thresholds 0.07, 0.00, 0.01, …, 0.06 (the first agent's is not
    /// the mean): mean 0.035, p10 0 + 0.7 · 0.01, p90 0.06 + 0.3 · 0.01.
    #[test]
    fn the_distribution_is_the_mean_and_the_deciles_of_the_group() {
        let spec = EvolutionSpec {
            every: 1,
            select: 0.25,
            mutate: 0.0,
            params: vec!["policy.threshold".into()],
        };
        let mut e = Evolving::new(spec, &momentum(), 8, vec![0.0; 8]);
        for k in 0..8 {
            set_param(e.builtin_mut(k), "threshold", ((k + 7) % 8) as f64 / 100.0);
        }
        let d = e.distribution();
        assert_eq!(d.len(), 1);
        for (found, expected) in d[0].into_iter().zip([0.035, 0.007, 0.063]) {
            assert!((found - expected).abs() < 1e-15, "{:?}", d[0]);
        }
    }

    /// Every evolvable parameter of every kind that has one is read and
    /// set by its own name: set to 0.25, 0.26, … in turn (inside every
    /// range), each reads back as the value it was given, not another's.
    /// The fundamental trader's three are also checked on its fields.
    #[test]
    fn every_evolvable_parameter_of_every_kind_is_set_and_read_by_name() {
        use crate::agents::{
            FundamentalPolicy, MarketMakerPolicy, MeanReversionPolicy, RandomPolicy, Side,
            ThresholdPolicy, ValuationPolicy, ValueDistribution, ZiCPolicy,
        };
        let value = ValueDistribution::Constant { value: 1.0 };
        let kinds = [
            BuiltinPolicy::Random(RandomPolicy {
                asset: 0,
                p_buy: 0.1,
                p_sell: 0.1,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
            }),
            BuiltinPolicy::Threshold(ThresholdPolicy {
                asset: 0,
                buy_below: 0.1,
                sell_above: 0.1,
                p_trade: 0.1,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
            }),
            momentum(),
            BuiltinPolicy::MeanReversion(MeanReversionPolicy {
                asset: 0,
                lookback: 3,
                threshold: 0.1,
                p_trade: 0.1,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
            }),
            BuiltinPolicy::Valuation(ValuationPolicy {
                asset: 0,
                valuation: value,
                beta: 0.1,
                activity: 0.1,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
            }),
            BuiltinPolicy::Fundamental(FundamentalPolicy {
                asset: 0,
                value,
                activity: 0.1,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
                ttl: 1,
            }),
            BuiltinPolicy::MarketMaker(MarketMakerPolicy {
                asset: 0,
                spread: 0.1,
                size: 1,
                max_inventory: 1,
                skew: 0.1,
                ttl: 1,
            }),
            BuiltinPolicy::ZiC(ZiCPolicy {
                asset: 0,
                side: Side::Buy,
                value,
                units: 1,
                lot: 1,
                min_price: 0.0,
                max_price: 2.0,
                ttl: 1,
                shade: Some(0.1),
            }),
        ];
        for mut p in kinds {
            let names = evolvable(&p);
            assert!(!names.is_empty(), "{p:?}");
            let target = |i: usize| 0.25 + 0.01 * i as f64;
            for (i, name) in names.iter().enumerate() {
                assert!(set_param(&mut p, name, target(i)), "{name} of {p:?}");
            }
            for (i, name) in names.iter().enumerate() {
                assert_eq!(param(&p, name), Some(target(i)), "{name} of {p:?}");
            }
            if let BuiltinPolicy::Fundamental(f) = &p {
                let fields = (f.activity, f.buy_fraction, f.sell_fraction);
                assert_eq!(fields, (target(0), target(1), target(2)));
            }
        }
    }

    /// A saved evolution put back on a fresh group gives every agent its
    /// own saved parameters: 3 agents of 2 parameters (threshold and
    /// `p_trade`), agent k's set to k/100 and 0.5 + k/10.
    #[test]
    fn a_saved_evolution_gives_each_agent_back_its_own_parameters() {
        let spec = EvolutionSpec {
            every: 1,
            select: 0.25,
            mutate: 0.0,
            params: vec!["policy.threshold".into(), "policy.p_trade".into()],
        };
        let expected = |k: usize| vec![k as f64 / 100.0, 0.5 + k as f64 / 10.0];
        let mut e = Evolving::new(spec.clone(), &momentum(), 3, vec![0.0; 3]);
        for k in 0..3 {
            let [t, p] = expected(k)[..] else {
                unreachable!()
            };
            set_param(e.builtin_mut(k), "threshold", t);
            set_param(e.builtin_mut(k), "p_trade", p);
        }
        e.baseline = vec![1.0, 2.0, 3.0];
        let saved = e.save();
        let mut fresh = Evolving::new(spec, &momentum(), 3, vec![0.0; 3]);
        fresh.load(&saved).unwrap();
        for k in 0..3 {
            assert_eq!(fresh.params_of(k), expected(k), "agent {k}");
        }
        assert_eq!(fresh.baseline, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn the_worst_copy_the_best_with_relative_mutation() {
        let spec = EvolutionSpec {
            every: 1,
            select: 0.25,
            mutate: 0.0,
            params: vec!["policy.threshold".into()],
        };
        let mut e = Evolving::new(spec, &momentum(), 8, vec![0.0; 8]);
        for k in 0..8 {
            set_param(e.builtin_mut(k), "threshold", k as f64 / 100.0);
        }
        // performance = agent index: 0 and 1 are the worst, 6 and 7 the best
        let now: Vec<f64> = (0..8).map(f64::from).collect();
        let mut rng = <crate::rng::EngineRng as rand::SeedableRng>::seed_from_u64(1);
        e.evolve(now.clone(), &mut rng);
        let t: Vec<f64> = (0..8).map(|k| e.params_of(k)[0]).collect();
        assert!(
            [0.06, 0.07].contains(&t[0]) && [0.06, 0.07].contains(&t[1]),
            "{t:?}"
        );
        assert_eq!(&t[2..], &[0.02, 0.03, 0.04, 0.05, 0.06, 0.07]);
        assert_eq!(e.baseline, now);
    }

    /// The ranges mutated values are clamped into: shares in [0, 1] (a
    /// skew too), a spread in [0, 1.99], a shading in [0, 0.99], anything
    /// else at least 0; a NaN becomes the range's low end. Names are read
    /// without their `policy.` prefix, as written otherwise.
    #[test]
    fn each_parameter_is_clamped_into_its_own_range_and_named_without_its_prefix() {
        for name in [
            "p_buy",
            "p_sell",
            "p_trade",
            "buy_fraction",
            "sell_fraction",
            "activity",
            "skew",
        ] {
            assert_eq!(param_range(name), (0.0, 1.0), "{name}");
        }
        assert_eq!(param_range("spread"), (0.0, 1.99));
        assert_eq!(param_range("shade"), (0.0, 0.99));
        assert_eq!(param_range("beta"), (0.0, f64::INFINITY));
        let mut p = momentum();
        assert!(set_param(&mut p, "p_trade", f64::NAN));
        assert_eq!(param(&p, "p_trade"), Some(0.0));
        assert!(set_param(&mut p, "threshold", 7.5));
        assert_eq!(param(&p, "threshold"), Some(7.5));
        let spec = EvolutionSpec {
            every: 1,
            select: 0.5,
            mutate: 0.0,
            params: vec!["policy.threshold".into(), "p_trade".into()],
        };
        assert_eq!(
            spec.names().collect::<Vec<_>>(),
            vec!["threshold", "p_trade"]
        );
        let zic = |shade| {
            BuiltinPolicy::ZiC(crate::agents::ZiCPolicy {
                asset: 0,
                side: crate::agents::Side::Buy,
                value: crate::agents::ValueDistribution::Constant { value: 1.0 },
                units: 1,
                lot: 1,
                min_price: 0.0,
                max_price: 2.0,
                ttl: 1,
                shade,
            })
        };
        assert_eq!(evolvable(&zic(Some(0.1))), &["shade"]);
        assert!(evolvable(&zic(None)).is_empty());
        assert_eq!(param(&zic(Some(0.1)), "shade"), Some(0.1));
        assert_eq!(param(&zic(None), "shade"), None);
    }

    /// Performance is the change of the objective since the last
    /// evolution, not the objective: objectives (10, 1, 5, 3) from
    /// baselines (10, 0, 0, 0) make agent 0 the worst (a change of 0) and
    /// agent 2 the best (5). With select ¼ of 4 agents one copies, and its
    /// copy is mutated relatively: the best's threshold 0.02 times
    /// (1 + 0.1 z), z the normal drawn after the parent (replayed here).
    #[test]
    fn the_worst_by_change_copies_the_best_mutated_by_one_normal_draw() {
        use rand::{RngExt, SeedableRng};
        use rand_distr::{Distribution, StandardNormal};
        let spec = EvolutionSpec {
            every: 1,
            select: 0.25,
            mutate: 0.1,
            params: vec!["policy.threshold".into()],
        };
        let mut e = Evolving::new(spec, &momentum(), 4, vec![10.0, 0.0, 0.0, 0.0]);
        for (k, t) in [0.05, 0.03, 0.02, 0.04].into_iter().enumerate() {
            set_param(e.builtin_mut(k), "threshold", t);
        }
        let now = vec![10.0, 1.0, 5.0, 3.0];
        let mut rng = crate::rng::EngineRng::seed_from_u64(9);
        let mut replay = rng.clone();
        e.evolve(now.clone(), &mut rng);
        assert_eq!(replay.random_range(0..1usize), 0);
        let z: f64 = StandardNormal.sample(&mut replay);
        let t: Vec<f64> = (0..4).map(|k| e.params_of(k)[0]).collect();
        assert_eq!(t[0], 0.02 * (1.0 + 0.1 * z), "z = {z}");
        assert_ne!(t[0], 0.02);
        assert_eq!(&t[1..], &[0.03, 0.02, 0.04]);
        assert_eq!(e.baseline, now);
        // Too few agents to select one (⌊¼ · 3⌋ = 0): nothing copied, the
        // baselines still move on.
        let spec = EvolutionSpec {
            every: 1,
            select: 0.25,
            mutate: 0.1,
            params: vec!["policy.threshold".into()],
        };
        let mut small = Evolving::new(spec, &momentum(), 3, vec![0.0; 3]);
        set_param(small.builtin_mut(0), "threshold", 0.5);
        small.evolve(vec![0.0, 1.0, 2.0], &mut rng);
        assert_eq!(small.params_of(0), vec![0.5]);
        assert_eq!(small.baseline, vec![0.0, 1.0, 2.0]);
    }

    /// A saved evolution of another size is refused and changes nothing:
    /// too few parameter values, or too few baselines.
    #[test]
    fn a_saved_evolution_of_another_size_is_refused() {
        let spec = EvolutionSpec {
            every: 1,
            select: 0.25,
            mutate: 0.0,
            params: vec!["policy.threshold".into(), "policy.p_trade".into()],
        };
        let mut e = Evolving::new(spec, &momentum(), 3, vec![0.0; 3]);
        let before = e.save();
        assert_eq!(before.params, [0.05, 0.5].repeat(3));
        let short = EvolvingState {
            params: vec![0.1; 5],
            baseline: vec![1.0; 3],
        };
        assert!(e.load(&short).is_err());
        let few = EvolvingState {
            params: vec![0.1; 6],
            baseline: vec![1.0; 2],
        };
        assert!(e.load(&few).is_err());
        assert_eq!(e.save(), before);
    }
}
