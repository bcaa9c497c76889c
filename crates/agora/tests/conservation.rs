//! Value is conserved every step, to the base unit, and every reserve covers
//! a full sell-back of its supply — checked from the public API after each
//! step of random scenarios (random curves and fees, random groups and
//! policies, airdrops, scheduled parameter changes), with balances, supplies
//! and airdrops from nothing up to the edge of the ledger's range. A run
//! that passes the range must stop with the ledger's range error, and even
//! then leave the books conserved; no token is ever minted without its
//! price in the reserve.

use agora::{Scenario, Simulation};
use proptest::prelude::*;
use std::fmt::Write as _;

/// A curve's `pricing` fields and the name and a valid value of one of its
/// parameters, for a schedule.
#[derive(Debug, Clone)]
struct CurveCase {
    fields: String,
    /// (parameter, new value) for a scheduled change, valid for this curve.
    change: (String, f64),
}

fn curve_case() -> impl Strategy<Value = CurveCase> {
    prop_oneof![
        (
            1e-5..0.05f64,
            0.01..5.0f64,
            prop::bool::ANY,
            1e-5..0.05f64,
            0.01..5.0f64
        )
            .prop_map(|(m, b, which, m2, b2)| CurveCase {
                fields: format!(r#"curve = "linear", m = {m:e}, b = {b:e}"#),
                change: if which {
                    ("m".into(), m2)
                } else {
                    ("b".into(), b2)
                },
            }),
        (
            0.01..5.0f64,
            0.0..0.01f64,
            prop::bool::ANY,
            0.01..5.0f64,
            0.0..0.01f64
        )
            .prop_map(|(a, k, which, a2, k2)| CurveCase {
                fields: format!(r#"curve = "exponential", a = {a:e}, k = {k:e}"#),
                change: if which {
                    ("a".into(), a2)
                } else {
                    ("k".into(), k2)
                },
            }),
        (
            1.0..200.0f64,
            1e-4..0.05f64,
            -500.0..5000.0f64,
            0usize..3,
            1.0..200.0f64,
            1e-4..0.05f64,
            -500.0..5000.0f64
        )
            .prop_map(|(cap, k, s0, which, cap2, k2, s02)| CurveCase {
                fields: format!(r#"curve = "sigmoid", K = {cap:e}, k = {k:e}, S0 = {s0:e}"#),
                change: match which {
                    0 => ("K".into(), cap2),
                    1 => ("k".into(), k2),
                    _ => ("S0".into(), s02),
                },
            }),
        (
            0.001..2.0f64,
            0.0..3.0f64,
            prop::bool::ANY,
            0.001..2.0f64,
            0.0..3.0f64
        )
            .prop_map(|(a, n, which, a2, n2)| CurveCase {
                fields: format!(r#"curve = "power", a = {a:e}, n = {n:e}"#),
                change: if which {
                    ("a".into(), a2)
                } else {
                    ("n".into(), n2)
                },
            }),
        (
            0.1..=1.0f64,
            0.1..20.0f64,
            10.0..5000.0f64,
            0usize..3,
            0.1..=1.0f64,
            0.1..20.0f64,
            10.0..5000.0f64
        )
            .prop_map(|(r, p0, s0, which, r2, p02, s02)| CurveCase {
                fields: format!(
                    r#"curve = "bancor", reserve_ratio = {r:e}, p0 = {p0:e}, s0 = {s0:e}"#
                ),
                change: match which {
                    0 => ("reserve_ratio".into(), r2),
                    1 => ("p0".into(), p02),
                    _ => ("s0".into(), s02),
                },
            }),
    ]
}

#[derive(Debug, Clone)]
struct AssetCase {
    curve: CurveCase,
    fee: f64,
    initial_supply: f64,
    /// None: no schedule; Some((at, ramp_len)): a step change at `at`
    /// (ramp_len = 0) or a ramp from `at` to `at + ramp_len`.
    schedule: Option<(u64, u64)>,
}

/// An amount of money or tokens, units: none, a small one below `small`,
/// or one log-uniform from 1e-3 to the edge of an account (1.8e10).
fn amount(small: f64) -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => Just(0.0),
        5 => 0.0..small,
        3 => (-3.0..10.26f64).prop_map(|e| 10f64.powf(e)),
    ]
}

fn asset_case() -> impl Strategy<Value = AssetCase> {
    (
        curve_case(),
        prop_oneof![Just(0.0), 0.0..=0.05f64],
        amount(2000.0),
        prop::option::of((1u64..30, 0u64..10)),
    )
        .prop_map(|(curve, fee, initial_supply, schedule)| AssetCase {
            curve,
            fee,
            initial_supply,
            schedule,
        })
}

/// A policy table, with `ASSET` standing for the traded asset's name.
fn policy_case() -> impl Strategy<Value = String> {
    let fractions = (0.0..=1.0f64, 0.0..=1.0f64);
    prop_oneof![
        (0.0..=1.0f64, 0.0..=1.0f64, fractions.clone()).prop_map(|(x, y, (bf, sf))| {
            // p_buy + p_sell <= 1
            let p_buy = x;
            let p_sell = (1.0 - x) * y * 0.999;
            format!(
                    r#"{{ kind = "random", asset = "ASSET", p_buy = {p_buy:e}, p_sell = {p_sell:e}, buy_fraction = {bf:e}, sell_fraction = {sf:e} }}"#
                )
        }),
        (0.0..50.0f64, 0.0..50.0f64, 0.0..=1.0f64, fractions.clone()).prop_map(
            |(lo, extra, p_trade, (bf, sf))| {
                let hi = lo + extra;
                format!(
                        r#"{{ kind = "threshold", asset = "ASSET", buy_below = {lo:e}, sell_above = {hi:e}, p_trade = {p_trade:e}, buy_fraction = {bf:e}, sell_fraction = {sf:e} }}"#
                    )
            }
        ),
        (
            prop::bool::ANY,
            1u64..6,
            0.0..0.05f64,
            0.0..=1.0f64,
            fractions.clone()
        )
            .prop_map(|(momentum, lookback, threshold, p_trade, (bf, sf))| {
                let kind = if momentum { "momentum" } else { "mean_reversion" };
                format!(
                        r#"{{ kind = "{kind}", asset = "ASSET", lookback = {lookback}, threshold = {threshold:e}, p_trade = {p_trade:e}, buy_fraction = {bf:e}, sell_fraction = {sf:e} }}"#
                    )
            }),
        (0usize..4, 0.0..50.0f64, 0.0..20.0f64, 0.01..2.0f64, 0.0..=1.0f64, fractions)
            .prop_map(|(dist, center, spread, beta, activity, (bf, sf))| {
                let valuation = match dist {
                    0 => format!(r#"{{ distribution = "constant", value = {center:e} }}"#),
                    1 => format!(
                        r#"{{ distribution = "uniform", low = {center:e}, high = {:e} }}"#,
                        center + spread
                    ),
                    2 => format!(
                        r#"{{ distribution = "normal", mean = {center:e}, std = {spread:e} }}"#
                    ),
                    _ => format!(
                        r#"{{ distribution = "lognormal", mu = {:e}, sigma = {:e} }}"#,
                        center / 20.0,
                        spread / 20.0
                    ),
                };
                format!(
                        r#"{{ kind = "valuation", asset = "ASSET", valuation = {valuation}, beta = {beta:e}, activity = {activity:e}, buy_fraction = {bf:e}, sell_fraction = {sf:e} }}"#
                    )
            }),
    ]
}

fn airdrop_case() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        (amount(500.0), 0usize..4, 0.1..3.0f64).prop_map(|(total, dist, param)| {
            let dist = match dist {
                0 => r#"distribution = "uniform""#.to_string(),
                1 => format!(r#"distribution = "weighted", weights = [1.0, {param:e}, 0.0]"#),
                2 => format!(r#"distribution = "lognormal", sigma = {param:e}"#),
                _ => format!(r#"distribution = "pareto", alpha = {param:e}"#),
            };
            format!("total = {total:e}, {dist}")
        }),
    )
}

#[derive(Debug, Clone)]
struct GroupCase {
    count: u32,
    balance: f64,
    /// Index of the traded asset (modulo the number of assets).
    asset: usize,
    policy: String,
    airdrop: Option<String>,
}

fn group_case() -> impl Strategy<Value = GroupCase> {
    (
        1u32..=50,
        amount(5000.0),
        0usize..2,
        policy_case(),
        airdrop_case(),
    )
        .prop_map(|(count, balance, asset, policy, airdrop)| GroupCase {
            count,
            balance,
            asset,
            policy,
            airdrop,
        })
}

/// A whole scenario as TOML text.
fn scenario_text() -> impl Strategy<Value = String> {
    (
        1u64..=30,
        0u64..1_000_000,
        prop::collection::vec(asset_case(), 1..=2),
        prop::collection::vec(group_case(), 1..=3),
    )
        .prop_map(|(steps, seed, assets, groups)| {
            let mut t = format!("[simulation]\nsteps = {steps}\nseed = {seed}\n");
            for (j, a) in assets.iter().enumerate() {
                let _ = write!(
                    t,
                    "\n[[assets]]\nname = \"A{j}\"\ninitial_supply = {:e}\npricing = {{ kind = \"bonding_curve\", {}, fee = {:e} }}\n",
                    a.initial_supply, a.curve.fields, a.fee
                );
                if let Some((at, len)) = a.schedule {
                    let (param, value) = &a.curve.change;
                    let when = if len == 0 {
                        format!("at = {at}")
                    } else {
                        format!("from = {at}, to = {}", at + len)
                    };
                    let _ = writeln!(
                        t,
                        "schedule = [ {{ param = \"{param}\", {when}, value = {value:e} }} ]"
                    );
                }
            }
            for (g, group) in groups.iter().enumerate() {
                let asset = format!("A{}", group.asset % assets.len());
                let _ = write!(
                    t,
                    "\n[[agents]]\ngroup = \"g{g}\"\ncount = {}\nbalance = {:e}\npolicy = {}\n",
                    group.count,
                    group.balance,
                    group.policy.replace("ASSET", &asset)
                );
                if let Some(drop) = &group.airdrop {
                    let _ = writeln!(t, "holdings = [ {{ asset = \"{asset}\", {drop} }} ]");
                }
            }
            t
        })
}

/// Whether `e` is the ledger's range error: an input error (exit 2) that
/// says what to scale.
fn is_range_error(e: &agora::Error) -> bool {
    let msg = e.to_string();
    e.is_input_error() && msg.contains("exceeds the ledger's range") && !msg.contains('\n')
}

/// Checks the books: money and tokens conserved to the base unit, and each
/// reserve holding exactly `R(S)` for its supply (the price of every token
/// minted and nothing else) — or at least `R(S)` for an asset whose
/// schedule may have changed the curve (a lowered curve leaves a surplus).
fn check_books(sim: &Simulation, scheduled: &[bool], text: &str) -> Result<(), TestCaseError> {
    let c = sim.ledger().conservation();
    prop_assert_eq!(
        c.money_error(),
        0,
        "money after step {}:\n{}",
        sim.step(),
        text
    );
    prop_assert_eq!(
        c.token_error(),
        0,
        "tokens after step {}:\n{}",
        sim.step(),
        text
    );
    for (j, &scheduled) in scheduled.iter().enumerate() {
        let books = sim.ledger().books(j);
        let required = sim.curve(j).unwrap().required_reserve(books.supply);
        let Some(required) = required else {
            return Err(TestCaseError::fail(format!(
                "asset {j} after step {}: R(S) past the range for supply {}\n{text}",
                sim.step(),
                books.supply
            )));
        };
        if scheduled {
            prop_assert!(
                required <= books.reserve,
                "asset {} after step {}: reserve {} < required {} for supply {}\n{}",
                j,
                sim.step(),
                books.reserve,
                required,
                books.supply,
                text
            );
        } else {
            prop_assert_eq!(
                books.reserve,
                required,
                "asset {} after step {}: the reserve is not R(S) for supply {}\n{}",
                j,
                sim.step(),
                books.supply,
                text
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(super::support::proptest_config(512))]

    #[test]
    fn money_and_tokens_are_conserved_and_reserves_cover_supply_after_every_step(
        text in scenario_text()
    ) {
        let scenario = Scenario::from_toml_str(&text, "random.toml")
            .map_err(|e| TestCaseError::fail(format!("generated scenario rejected: {e}\n{text}")))?;
        let scheduled: Vec<bool> = scenario.assets().iter().map(|a| !a.schedule.is_empty()).collect();
        let mut sim = match Simulation::new(&scenario, 0) {
            Ok(sim) => sim,
            // Amounts past the range: refused up front, with the advice.
            Err(e) if is_range_error(&e) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(format!("set-up failed: {e}\n{text}"))),
        };
        check_books(&sim, &scheduled, &text)?;
        for _ in 0..scenario.simulation().steps {
            match sim.advance() {
                Ok(()) => check_books(&sim, &scheduled, &text)?,
                Err(e) if is_range_error(&e) => {
                    // The step stopped at the operation that would have
                    // passed the range; every operation before it is whole.
                    return check_books(&sim, &scheduled, &text);
                }
                Err(e) => {
                    return Err(TestCaseError::fail(format!("step {}: {e}\n{text}", sim.step())))
                }
            }
        }
        prop_assert_eq!(sim.step(), scenario.simulation().steps);
    }
}
