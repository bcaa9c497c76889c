//! A proportional–integral (PI) controller with a leaky integral, clamps
//! and an update period: the design of RAI's redemption-rate controller.
//!
//! # Equations
//!
//! Every `period` steps the controller reads the measured quantity `y`
//! (a price, a utilisation) and, with `r` the target and `Δt` the steps
//! since its last update (`period` at the first),
//!
//! ```text
//! e = r − y                                   error
//! I ← clamp(α·I + e·Δt, −I_max, I_max)        leaky integral
//! u = clamp(u₀ + K_p·e + K_i·I, u_min, u_max) new parameter value
//! ```
//!
//! with `α` the leak (`1`: a pure integral, `0`: none), `u₀` the
//! parameter's value at zero error and `[u_min, u_max]` the parameter's
//! allowed range. Between updates the parameter keeps its value.
//!
//! **Sign.** With `e = r − y`, positive gains suit a plant in which raising
//! the parameter raises the measurement (a subsidy and demand); a plant in
//! which it lowers it (a price and utilisation) takes negative gains.
//!
//! **What the terms do** (Åström & Murray, *Feedback Systems*, 2nd ed.,
//! 2021, §11.1–11.3). Against a plant whose measurement settles at
//! `y = K·u + d` under a persistent disturbance `d`, a proportional
//! controller alone (`K_i = 0`) leaves a steady-state error
//! `e_ss = −d/(1 + K·K_p)` (the error must persist to hold the parameter
//! away from `u₀`); a pure integral (`α = 1`) removes it, since the
//! integral stops moving only where `e = 0`. A leak trades some of that
//! back for a bounded memory: at rest `I = e·Δt/(1 − α)`, so
//! `e_ss = −d/(1 + K·(K_p + K_i·Δt/(1 − α)))`, smaller than P-only and not
//! zero. Whatever the errors, a leaky integral stays within
//! `max|e|·Δt/(1 − α)`: stale errors fade geometrically instead of piling
//! up.
//!
//! # Windup
//!
//! When the output sits at a clamp, integrating the error further cannot
//! move the parameter but stores up a debt that must be unwound, with the
//! error of the other sign, before the output leaves the clamp again:
//! *integrator windup* (Åström & Hägglund, *Advanced PID Control*, 2006,
//! §3.5). Three things bound it here:
//!
//! - **conditional integration**: when the output before clamping is beyond
//!   a bound and the new error would push the integral further that way
//!   (`K_i·e` of the bound's sign), the error is not added (the leak still
//!   applies), so the integral does not grow while the output is saturated;
//! - the **integral clamp** `I_max` caps what the integral can hold at all;
//! - the **leak** makes whatever was stored fade.
//!
//! The output clamps hold always: every value returned is in
//! `[u_min, u_max]`.
//!
//! # RAI
//!
//! RAI (Reflexer Labs; the GEB contracts' PI calculator, whose parameters
//! are `Kp`, `Ki`, `perSecondCumulativeLeak`, `integralPeriodSize`,
//! `feedbackOutputUpperBound` and `feedbackOutputLowerBound`) sets its
//! redemption rate by the same law: a default rate plus `Kp·P + Ki·I`,
//! bounded, updated at most once per period, with the integral leaked before
//! each new deviation is added. It differs in details that do not change
//! the behaviour above: its error is relative to the redemption price, it
//! integrates by the trapezoid rule over elapsed seconds, its leak is per
//! second (`α` here is its per-second leak raised to the period), it has a
//! noise barrier below which the output is not applied, and the leak is its
//! only bound on the integral (no integral clamp, no conditional
//! integration).

use serde::{Deserialize, Serialize};

use super::GovernanceError;

/// The settings of a [`PiController`], named as in configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PiConfig {
    /// The target `r` of the measured quantity.
    pub target: f64,
    /// The proportional gain `K_p` (any sign, see the module docs).
    pub kp: f64,
    /// The integral gain `K_i` (any sign).
    pub ki: f64,
    /// The leak `α ∈ [0, 1]` applied to the integral at each update.
    pub leak: f64,
    /// The bound `I_max > 0` on the integral's magnitude; none if unbounded.
    pub integral_clamp: Option<f64>,
    /// The parameter's value `u₀` at zero error.
    pub base: f64,
    /// The least value `u_min` of the parameter; none if unbounded below.
    pub min: Option<f64>,
    /// The greatest value `u_max ≥ u_min` of the parameter; none if
    /// unbounded above.
    pub max: Option<f64>,
    /// Steps between updates, at least 1.
    pub period: u64,
}

impl PiConfig {
    /// Checks every setting; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), GovernanceError> {
        let bad = |param, expected, found: f64| {
            Err(GovernanceError::InvalidParameter {
                rule: "pi_controller",
                param,
                expected,
                found: found.to_string(),
            })
        };
        for (param, value) in [
            ("target", self.target),
            ("kp", self.kp),
            ("ki", self.ki),
            ("base", self.base),
        ] {
            if !value.is_finite() {
                return bad(param, "a finite number", value);
            }
        }
        if !(0.0..=1.0).contains(&self.leak) {
            return bad("leak", "a leak in [0, 1]", self.leak);
        }
        if let Some(i_max) = self.integral_clamp {
            if !(i_max.is_finite() && i_max > 0.0) {
                return bad("integral_clamp", "a positive number", i_max);
            }
        }
        if let Some(min) = self.min {
            if !min.is_finite() {
                return bad("min", "a finite number", min);
            }
        }
        if let Some(max) = self.max {
            if !(max.is_finite() && max >= self.lower()) {
                return bad("max", "a finite number, at least `min`", max);
            }
        }
        if self.period == 0 {
            return bad("period", "at least 1 step", 0.0);
        }
        Ok(())
    }

    /// `u_min`, `−∞` if none.
    fn lower(&self) -> f64 {
        self.min.unwrap_or(f64::NEG_INFINITY)
    }

    /// `u_max`, `+∞` if none.
    fn upper(&self) -> f64 {
        self.max.unwrap_or(f64::INFINITY)
    }

    /// `I_max`, `+∞` if none.
    fn integral_bound(&self) -> f64 {
        self.integral_clamp.unwrap_or(f64::INFINITY)
    }
}

/// A PI controller: its settings and its state (the integral, the last
/// update and the current output). Serialising captures everything, so a
/// controller read back continues exactly where it was; reading checks the
/// settings as [`PiController::new`] does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PiState")]
pub struct PiController {
    config: PiConfig,
    integral: f64,
    last_update: Option<u64>,
    output: f64,
}

/// The unchecked form in which a controller is read.
#[derive(Deserialize)]
struct PiState {
    config: PiConfig,
    integral: f64,
    last_update: Option<u64>,
    output: f64,
}

impl TryFrom<PiState> for PiController {
    type Error = GovernanceError;

    fn try_from(s: PiState) -> Result<Self, GovernanceError> {
        s.config.validate()?;
        Ok(PiController {
            config: s.config,
            integral: s.integral,
            last_update: s.last_update,
            output: s.output,
        })
    }
}

impl PiController {
    /// Returns a controller with an empty integral whose output, until the
    /// first update, is `base` clamped to `[min, max]`; an error if a
    /// setting is out of range ([`PiConfig::validate`]).
    pub fn new(config: PiConfig) -> Result<Self, GovernanceError> {
        config.validate()?;
        let output = config.base.clamp(config.lower(), config.upper());
        Ok(PiController {
            config,
            integral: 0.0,
            last_update: None,
            output,
        })
    }

    /// The controller's settings.
    pub fn config(&self) -> &PiConfig {
        &self.config
    }

    /// The integral `I`.
    pub fn integral(&self) -> f64 {
        self.integral
    }

    /// The parameter's current value: the last output.
    pub fn output(&self) -> f64 {
        self.output
    }

    /// Moves the target, keeping the integral.
    pub fn set_target(&mut self, target: f64) -> Result<(), GovernanceError> {
        let config = PiConfig {
            target,
            ..self.config.clone()
        };
        config.validate()?;
        self.config = config;
        Ok(())
    }

    /// Feeds the measurement at `step` and returns the parameter's new
    /// value if an update is due (`period` steps after the last, or the
    /// first call), `None` between updates. A measurement that is not
    /// finite (nothing to measure this step) skips the update and changes
    /// nothing, as does a step before the last update.
    pub fn update(&mut self, step: u64, measured: f64) -> Option<f64> {
        let c = &self.config;
        let dt = match self.last_update {
            None => c.period,
            Some(last) if step >= last.saturating_add(c.period) => step - last,
            Some(_) => return None,
        };
        if !measured.is_finite() {
            return None;
        }
        let e = c.target - measured;
        let (lower, upper, i_max) = (c.lower(), c.upper(), c.integral_bound());
        let clamp_integral = |i: f64| i.clamp(-i_max, i_max);
        let leaked = clamp_integral(c.leak * self.integral);
        let integrated = clamp_integral(leaked + e * dt as f64);
        let unclamped = c.base + c.kp * e + c.ki * integrated;
        // Conditional integration: no new error into an integral whose
        // output is already past the bound it would push further past.
        let winds_up =
            (unclamped > upper && c.ki * e > 0.0) || (unclamped < lower && c.ki * e < 0.0);
        let integral = if winds_up { leaked } else { integrated };
        let raw = c.base + c.kp * e + c.ki * integral;
        if raw.is_nan() {
            // Only infinite gain products of opposite signs; keep the state.
            return None;
        }
        self.integral = integral;
        self.last_update = Some(step);
        self.output = raw.clamp(lower, upper);
        Some(self.output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A first-order plant: the measurement relaxes by a share `theta` per
    /// step towards `K·u + d`, the level that the parameter `u` and a
    /// demand shift `d` call for.
    struct Plant {
        y: f64,
        k: f64,
        theta: f64,
    }

    impl Plant {
        fn step(&mut self, u: f64, d: f64) {
            self.y += self.theta * (self.k * u + d - self.y);
        }
    }

    const K: f64 = 2.0;
    const TARGET: f64 = 10.0;
    const SHIFT: f64 = 3.0;

    /// Settings around the plant: `base` is the parameter that holds the
    /// target without a shift (`K·base = r`); no clamps.
    fn config(kp: f64, ki: f64, leak: f64) -> PiConfig {
        PiConfig {
            target: TARGET,
            kp,
            ki,
            leak,
            integral_clamp: None,
            base: TARGET / K,
            min: None,
            max: None,
            period: 1,
        }
    }

    /// Runs the loop for `steps` steps, the demand shifted by `shift(t)`
    /// at step `t`; returns the errors `r − y` and the outputs.
    fn run(c: &mut PiController, steps: u64, shift: impl Fn(u64) -> f64) -> (Vec<f64>, Vec<f64>) {
        let mut plant = Plant {
            y: TARGET,
            k: K,
            theta: 0.2,
        };
        let (mut errors, mut outputs) = (Vec::new(), Vec::new());
        for t in 0..steps {
            errors.push(TARGET - plant.y);
            let u = c.update(t, plant.y).unwrap_or(c.output());
            outputs.push(u);
            plant.step(u, shift(t));
        }
        (errors, outputs)
    }

    fn shift_from_50(t: u64) -> f64 {
        if t >= 50 {
            SHIFT
        } else {
            0.0
        }
    }

    #[test]
    fn p_only_leaves_the_closed_form_steady_state_error() {
        let kp = 1.5;
        let mut c = PiController::new(config(kp, 0.0, 1.0)).unwrap();
        let (e, _) = run(&mut c, 400, shift_from_50);
        assert!(e[..50].iter().all(|&x| x == 0.0));
        // e_ss = −d/(1 + K·K_p) = −3/4.
        let e_ss = -SHIFT / (1.0 + K * kp);
        assert!((e[399] - e_ss).abs() < 1e-12, "{} vs {e_ss}", e[399]);
    }

    #[test]
    fn pi_removes_the_steady_state_error() {
        let mut c = PiController::new(config(1.5, 0.3, 1.0)).unwrap();
        let (e, u) = run(&mut c, 400, shift_from_50);
        assert!(e[60].abs() > 0.1, "the shift is felt: {}", e[60]);
        assert!(e[300..].iter().all(|x| x.abs() < 1e-9), "{}", e[399]);
        // The parameter settled where it cancels the shift: K·u + d = r.
        assert!((K * u[399] + SHIFT - TARGET).abs() < 1e-9);
    }

    #[test]
    fn a_leaky_pi_leaves_a_smaller_closed_form_error() {
        let (kp, ki, leak) = (1.5, 0.3, 0.9);
        let mut c = PiController::new(config(kp, ki, leak)).unwrap();
        let (e, _) = run(&mut c, 600, shift_from_50);
        // At rest I = e·Δt/(1 − α): e_ss = −d/(1 + K·(K_p + K_i·Δt/(1 − α))) = −0.3.
        let e_ss = -SHIFT / (1.0 + K * (kp + ki / (1.0 - leak)));
        assert!((e[599] - e_ss).abs() < 1e-9, "{} vs {e_ss}", e[599]);
        assert!(e_ss.abs() < SHIFT / (1.0 + K * kp));
    }

    #[test]
    fn updates_come_every_period_and_integrate_the_elapsed_steps() {
        let mut c = PiController::new(PiConfig {
            period: 3,
            ..config(0.0, 1.0, 1.0)
        })
        .unwrap();
        let updated: Vec<u64> = (0..10)
            .filter(|&t| c.update(t, TARGET - 1.0).is_some())
            .collect();
        assert_eq!(updated, [0, 3, 6, 9]);
        // Four updates of e = 1 over Δt = 3 each.
        assert_eq!(c.integral(), 12.0);
        // A late call integrates the steps actually elapsed.
        assert_eq!(c.update(20, TARGET - 1.0), Some(TARGET / K + 23.0));
        // Nothing measured: no update, nothing changes.
        let before = c.clone();
        assert_eq!(c.update(30, f64::NAN), None);
        assert_eq!(c, before);
    }

    #[test]
    fn a_constant_error_fills_the_leaky_integral_geometrically() {
        let (leak, e, period) = (0.8, 2.0, 5u64);
        let dt = period as f64;
        let mut c = PiController::new(PiConfig {
            period,
            ..config(0.0, 0.0, leak)
        })
        .unwrap();
        for n in 1..=60u64 {
            c.update((n - 1) * period, TARGET - e);
            // I_n = e·Δt·(1 − αⁿ)/(1 − α)
            let expected = e * dt * (1.0 - leak.powi(n as i32)) / (1.0 - leak);
            assert!((c.integral() - expected).abs() < 1e-9, "{n}");
        }
        assert!((c.integral() - e * dt / (1.0 - leak)).abs() < 1e-4);
    }

    proptest! {
        #[test]
        fn the_leak_bounds_the_integral(
            leak in 0.0f64..0.99,
            period in 1u64..5,
            errors in prop::collection::vec(-5.0f64..5.0, 1..200),
        ) {
            let mut c = PiController::new(PiConfig { period, ..config(1.0, 1.0, leak) }).unwrap();
            let max_e = errors.iter().fold(0.0f64, |m, e| m.max(e.abs()));
            let bound = max_e * period as f64 / (1.0 - leak);
            for (n, e) in errors.iter().enumerate() {
                c.update(n as u64 * period, TARGET - e);
                prop_assert!(c.integral().abs() <= bound * (1.0 + 1e-12), "{} > {}", c.integral(), bound);
            }
        }

        #[test]
        fn outputs_stay_within_the_clamps(
            kp in -10.0f64..10.0,
            ki in -10.0f64..10.0,
            leak in 0.0f64..=1.0,
            lo in -5.0f64..5.0,
            width in 0.0f64..5.0,
            measured in prop::collection::vec(-1e6f64..1e6, 1..100),
        ) {
            let mut c = PiController::new(PiConfig {
                min: Some(lo), max: Some(lo + width), integral_clamp: Some(50.0), ..config(kp, ki, leak)
            }).unwrap();
            for (t, y) in measured.iter().enumerate() {
                let u = c.update(t as u64, *y).unwrap();
                prop_assert!((lo..=lo + width).contains(&u));
                prop_assert!(c.integral().abs() <= 50.0);
            }
        }
    }

    #[test]
    fn the_clamps_hold_and_the_integral_does_not_wind_up_under_a_large_disturbance() {
        let (kp, ki) = (1.5, 0.3);
        let (min, max) = (0.0, 8.0);
        let settings = PiConfig {
            min: Some(min),
            max: Some(max),
            ..config(kp, ki, 1.0)
        };
        // A demand collapse of −40 for steps 50..150: holding the target
        // would need u = (r + 40)/K = 25, far above the clamp.
        let collapse = |t: u64| if (50..150).contains(&t) { -40.0 } else { 0.0 };
        let mut c = PiController::new(settings.clone()).unwrap();
        let mut plant = Plant {
            y: TARGET,
            k: K,
            theta: 0.2,
        };
        let mut saturated_integrals = Vec::new();
        let mut released_at = None;
        for t in 0..400 {
            let u = c.update(t, plant.y).unwrap();
            assert!((min..=max).contains(&u), "{u} at {t}");
            if (60..150).contains(&t) {
                assert_eq!(u, max, "saturated at {t}");
                saturated_integrals.push(c.integral());
            }
            if t >= 150 && released_at.is_none() && u < max {
                released_at = Some(t);
            }
            plant.step(u, collapse(t));
        }
        // While saturated, the integral never grows.
        assert!(saturated_integrals.windows(2).all(|w| w[1] <= w[0]));
        // Without conditional integration (the same law, the error always
        // integrated) the integral piles up (to about 3355) during the
        // collapse, and the output stays pinned at the clamp for hundreds of
        // steps after it ends, until the overshoot's errors have paid that
        // back.
        let (mut i, mut y, mut naive_released) = (0.0, TARGET, None);
        for t in 0..2000u64 {
            let e = TARGET - y;
            i += e;
            let u = (TARGET / K + kp * e + ki * i).clamp(min, max);
            if t >= 150 && naive_released.is_none() && u < max {
                naive_released = Some(t);
            }
            y += 0.2 * (K * u + collapse(t) - y);
        }
        let (ours, naive) = (released_at.unwrap(), naive_released.unwrap());
        assert!(ours <= 160, "released at {ours}");
        assert!(
            naive > ours + 300,
            "naive released at {naive}, ours at {ours}"
        );
        // And the loop still settles back at the target.
        assert!((TARGET - plant.y).abs() < 1e-6);
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        let ok = config(1.0, 1.0, 0.5);
        let cases: [(&str, PiConfig); 8] = [
            (
                "leak",
                PiConfig {
                    leak: 1.5,
                    ..ok.clone()
                },
            ),
            (
                "leak",
                PiConfig {
                    leak: -0.1,
                    ..ok.clone()
                },
            ),
            (
                "kp",
                PiConfig {
                    kp: f64::NAN,
                    ..ok.clone()
                },
            ),
            (
                "target",
                PiConfig {
                    target: f64::INFINITY,
                    ..ok.clone()
                },
            ),
            (
                "integral_clamp",
                PiConfig {
                    integral_clamp: Some(0.0),
                    ..ok.clone()
                },
            ),
            (
                "max",
                PiConfig {
                    min: Some(2.0),
                    max: Some(1.0),
                    ..ok.clone()
                },
            ),
            (
                "min",
                PiConfig {
                    min: Some(f64::NAN),
                    ..ok.clone()
                },
            ),
            (
                "period",
                PiConfig {
                    period: 0,
                    ..ok.clone()
                },
            ),
        ];
        for (param, bad) in cases {
            match PiController::new(bad) {
                Err(GovernanceError::InvalidParameter { param: p, .. }) => assert_eq!(p, param),
                other => panic!("{param}: {other:?}"),
            }
        }
        let e = PiController::new(PiConfig { leak: 2.0, ..ok }).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid pi_controller parameter `leak`: expected a leak in [0, 1], found 2"
        );
    }

    #[test]
    fn a_controller_read_back_continues_where_it_was() {
        let mut a = PiController::new(PiConfig {
            leak: 0.95,
            period: 2,
            ..config(1.5, 0.3, 1.0)
        })
        .unwrap();
        let measurements: Vec<f64> = (0..40).map(|t| TARGET + (t as f64 * 0.7).sin()).collect();
        for (t, y) in measurements[..20].iter().enumerate() {
            a.update(t as u64, *y);
        }
        let text = serde_json::to_string(&a).unwrap();
        let mut b: PiController = serde_json::from_str(&text).unwrap();
        assert_eq!(a, b);
        for (t, y) in measurements.iter().enumerate().skip(20) {
            assert_eq!(a.update(t as u64, *y), b.update(t as u64, *y));
        }
        let bad = text.replace("\"period\":2", "\"period\":0");
        assert!(serde_json::from_str::<PiController>(&bad).is_err());
    }
}
