//! Settlement on a bonding curve, in base units, against theory: a buy
//! costs the closed-form integral of the curve; the tokens bought are the
//! most the budget pays for; buying then selling never profits; splitting a
//! buy gains nothing; the price rises with supply.

use agora::ledger::SCALE;
use agora::pricing::{BondingCurve, BuyQuote, Curve, CurveMarket, SellQuote};
use proptest::prelude::*;

/// Money in the reserve function that the generated supplies stay below,
/// units (1e18 base units: well inside `u64`).
const MAX_RESERVE: f64 = 1e9;

fn units(base: u64) -> f64 {
    base as f64 / SCALE as f64
}

/// A buy quote; every amount here is inside the ledger's range.
fn buy(m: &mut CurveMarket, supply: u64, budget: u64) -> Option<BuyQuote> {
    m.quote_buy(supply, budget)
        .expect("inside the ledger's range")
}

/// A sell quote; every amount here is inside the ledger's range.
fn sell(m: &mut CurveMarket, supply: u64, reserve: u128, tokens: u64) -> SellQuote {
    m.quote_sell(supply, reserve, tokens)
        .expect("inside the ledger's range")
}

/// `R(S)`; every supply here is inside its range.
fn r(m: &CurveMarket, supply: u64) -> u128 {
    m.reserve_function(supply)
        .expect("inside the ledger's range")
}

fn curve_strategy() -> impl Strategy<Value = Curve> {
    prop_oneof![
        (0.0..1.0f64, 0.0..10.0f64)
            .prop_filter("not both 0", |(m, b)| *m > 1e-9 || *b > 1e-6)
            .prop_map(|(m, b)| Curve::Linear { m, b }),
        (1e-3..10.0f64, 0.0..1e-3f64).prop_map(|(a, k)| Curve::Exponential { a, k }),
        (1e-2..1e3f64, 1e-4..0.1f64, -1e3..1e4f64).prop_map(|(cap, k, s0)| Curve::Sigmoid {
            K: cap,
            k,
            s0
        }),
        (1e-3..10.0f64, 0.0..3.0f64).prop_map(|(a, n)| Curve::Power { a, n }),
        (0.1..=1.0f64, 1e-2..1e2f64, 1.0..1e5f64).prop_map(|(reserve_ratio, p0, s0)| {
            Curve::Bancor {
                reserve_ratio,
                p0,
                s0,
            }
        }),
    ]
}

/// A curve, a fee (0 half of the time) and a supply, base units, at which
/// the reserve function is below [`MAX_RESERVE`] with room to buy.
fn market_and_supply() -> impl Strategy<Value = (Curve, f64, u64)> {
    (
        curve_strategy(),
        prop_oneof![Just(0.0), 0.0..0.05f64],
        0.0..=1.0f64,
    )
        .prop_map(|(curve, fee, u)| {
            // Supplies from 0 up to where F reaches a tenth of MAX_RESERVE,
            // biased towards small ones.
            let top = curve.supply_at_integral(MAX_RESERVE / 10.0).min(1e9);
            let supply = (u * u * u * top * SCALE as f64).floor() as u64;
            (curve, fee, supply)
        })
}

/// Log-uniform budget from 1e-6 to 1e8 money units, in base units.
fn budget_strategy() -> impl Strategy<Value = u64> {
    (-6.0..8.0f64).prop_map(|e| (10f64.powf(e) * SCALE as f64).round() as u64)
}

/// ln(1 + e^x) without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The closed form of `F(S + d) − F(S) = ∫_S^{S+d} f`, money units,
/// written without cancellation for small `d`.
fn integral_increment(curve: &Curve, s: f64, d: f64) -> f64 {
    // (S + d)^m − S^m = S^m · expm1(m · ln1p(d / S))
    let power_increment = |s: f64, d: f64, m: f64| {
        if s == 0.0 {
            d.powf(m)
        } else {
            s.powf(m) * (m * (d / s).ln_1p()).exp_m1()
        }
    };
    match *curve {
        // m/2·((S+d)² − S²) + b·d
        Curve::Linear { m, b } => d * (m * (s + d / 2.0) + b),
        // (a/k)·(e^{k(S+d)} − e^{kS})
        Curve::Exponential { a, k } => {
            if k == 0.0 {
                a * d
            } else {
                a / k * (k * s).exp() * (k * d).exp_m1()
            }
        }
        // (K/k)·(ln(1 + e^{k(S+d−S0)}) − ln(1 + e^{k(S−S0)}))
        //   = (K/k)·ln1p(σ(x)·expm1(k·d)), x = k(S − S0)
        Curve::Sigmoid { K, k, s0 } => {
            // ln1p(σ(x)·expm1(h)) = softplus(ln σ(x) + ln expm1(h)), with
            // ln σ(x) = −softplus(−x) and ln expm1(h) = h + ln(−expm1(−h)):
            // no overflow or underflow where σ(x) ≈ 0 or e^h ≈ ∞.
            let x = k * (s - s0);
            let h = k * d;
            if h == 0.0 {
                return 0.0;
            }
            let ln_expm1 = h + (-(-h).exp_m1()).ln();
            K / k * softplus(-softplus(-x) + ln_expm1)
        }
        // a/(n+1)·((S+d)^{n+1} − S^{n+1})
        Curve::Power { a, n } => a / (n + 1.0) * power_increment(s, d, n + 1.0),
        // f = p0·(S/s0)^{1/r − 1} ⇒ F = r·p0·s0·(S/s0)^{1/r}
        Curve::Bancor {
            reserve_ratio: r,
            p0,
            s0,
        } => r * p0 * s0 * power_increment(s / s0, d / s0, 1.0 / r),
        // A user curve's cost is its own.
        Curve::Custom(ref u) => u.curve().cost_to_mint(s, d),
    }
}

/// The spot price by the textbook formula.
fn price_formula(curve: &Curve, s: f64) -> f64 {
    match *curve {
        Curve::Linear { m, b } => m * s + b,
        Curve::Exponential { a, k } => a * (k * s).exp(),
        Curve::Sigmoid { K, k, s0 } => K / (1.0 + (-k * (s - s0)).exp()),
        Curve::Power { a, n } => a * s.powf(n),
        Curve::Bancor {
            reserve_ratio: r,
            p0,
            s0,
        } => p0 * (s / s0).powf(1.0 / r - 1.0),
        Curve::Custom(ref u) => u.curve().spot_price(s),
    }
}

fn all_kinds() -> Vec<Curve> {
    vec![
        Curve::Linear { m: 0.001, b: 1.0 },
        Curve::Exponential { a: 1.0, k: 1e-4 },
        Curve::Sigmoid {
            K: 100.0,
            k: 0.001,
            s0: 5000.0,
        },
        Curve::Power { a: 0.01, n: 1.5 },
        Curve::Bancor {
            reserve_ratio: 0.5,
            p0: 10.0,
            s0: 10000.0,
        },
    ]
}

#[test]
fn every_curve_kind_round_trips_a_buy_and_a_sell_at_the_same_cost_without_fee() {
    for curve in all_kinds() {
        for supply in [0, 1, 1234 * SCALE + 567, 50_000 * SCALE] {
            for budget in [1, 1000, SCALE / 3, 1000 * SCALE] {
                let mut m = CurveMarket::new(curve.clone(), 0.0);
                let reserve = r(&m, supply);
                let Some(q) = buy(&mut m, supply, budget) else {
                    continue;
                };
                assert!(q.cost <= budget && q.fee == 0, "{curve:?}: {q:?}");
                let s = sell(
                    &mut m,
                    supply + q.tokens,
                    reserve + u128::from(q.cost),
                    q.tokens,
                );
                assert_eq!(
                    s.refund,
                    q.cost,
                    "{} at supply {supply}, budget {budget}: sold back {} tokens",
                    curve.kind_name(),
                    q.tokens
                );
                assert_eq!(s.fee, 0);
            }
        }
    }
}

#[test]
fn with_a_fee_a_round_trip_loses_both_fees_for_every_curve_kind() {
    for curve in all_kinds() {
        let mut m = CurveMarket::new(curve.clone(), 0.003);
        let supply = 700 * SCALE;
        let reserve = r(&m, supply);
        let budget = 1000 * SCALE;
        let q = buy(&mut m, supply, budget).expect("buys");
        assert!(q.cost + q.fee <= budget, "{curve:?}: {q:?}");
        // the fee is 0.3% of the cost, rounded up to the base unit
        let want = (q.cost as f64 * 0.003).ceil();
        assert!(
            (q.fee as f64 - want).abs() <= 1.0,
            "{}: fee {} for cost {}",
            curve.kind_name(),
            q.fee,
            q.cost
        );
        // the budget is spent to within one token base unit's price
        let unit_price = (curve.spot_price(units(supply + q.tokens)) * 1.003).ceil() as u64 + 1;
        assert!(budget - (q.cost + q.fee) <= unit_price, "{curve:?}: {q:?}");
        let s = sell(
            &mut m,
            supply + q.tokens,
            reserve + u128::from(q.cost),
            q.tokens,
        );
        assert_eq!(s.refund, q.cost, "{}", curve.kind_name());
        let received = s.refund - s.fee;
        let paid = q.cost + q.fee;
        let lost = paid - received;
        // the loss is the two fees: 0.3% of the cost on each side
        let expected = 2.0 * 0.003 * q.cost as f64;
        assert!(
            (lost as f64 - expected).abs() <= 2.0 + 1e-9 * expected,
            "{}: lost {lost}, expected {expected}",
            curve.kind_name()
        );
    }
}

/// How many token base units a buy may fall short of the most its budget
/// pays for: the reserve function `R` is a float image, so its values
/// are only resolved to a few ulps; tokens that together cost less than
/// that resolution (or less than a money base unit) cannot be told apart.
fn token_resolution(m: &CurveMarket, supply: u64, tokens: u64) -> u64 {
    let end = supply + tokens;
    let r = r(m, end) as f64;
    let money = 8.0 * f64::EPSILON * r * sensitivity(m.curve(), units(end)) + 4.0;
    let price = m.spot_price(end).max(1e-300);
    2 + (money / price).ceil().min(1e18) as u64
}

/// How many ulps of error `F(S)` carries, relative: its condition number
/// S·f(S)/F(S), plus the magnitude of an exponent argument (k·S, k·(S − S0)),
/// whose rounding an exponential amplifies.
fn sensitivity(curve: &Curve, s: f64) -> f64 {
    let condition = s * curve.spot_price(s) / curve.integral(s).max(f64::MIN_POSITIVE);
    let argument = match *curve {
        Curve::Exponential { k, .. } => k * s,
        Curve::Sigmoid { k, s0, .. } => (k * (s - s0)).abs() + (k * s0).abs(),
        _ => 0.0,
    };
    2.0 + condition + argument
}

proptest! {
    #![proptest_config(super::support::proptest_config(1000))]

    #[test]
    fn buying_with_a_budget_then_selling_the_tokens_never_returns_more_than_was_paid(
        (curve, fee, supply) in market_and_supply(),
        budget in budget_strategy(),
    ) {
        let mut m = CurveMarket::new(curve.clone(), fee);
        let reserve = r(&m, supply);
        if let Some(q) = buy(&mut m, supply, budget) {
            let paid = q.cost + q.fee;
            prop_assert!(paid <= budget, "{:?} fee {}: paid {} > budget {}", curve, fee, paid, budget);
            let s = sell(&mut m, supply + q.tokens, reserve + u128::from(q.cost), q.tokens);
            prop_assert!(s.fee <= s.refund);
            let received = s.refund - s.fee;
            prop_assert!(
                received <= paid,
                "{:?} fee {} at supply {}: paid {} for {} tokens, got back {}",
                curve, fee, supply, paid, q.tokens, received
            );
            if fee == 0.0 {
                // the costs telescope: the refund is exactly the cost
                prop_assert_eq!(s.refund, q.cost, "{:?} at supply {}", curve, supply);
            }
        }
    }

    #[test]
    fn the_cost_of_a_buy_is_the_closed_form_integral_of_the_curve(
        (curve, _fee, supply) in market_and_supply(),
        budget in budget_strategy(),
    ) {
        let mut m = CurveMarket::new(curve.clone(), 0.0);
        if let Some(q) = buy(&mut m, supply, budget) {
            let exact = integral_increment(&curve, units(supply), units(q.tokens)) * SCALE as f64;
            // R(S) is ⌈F(S)·SCALE⌉ of an f64 F(S): the cost carries the
            // rounding of two absolute values of F, a few ulps of F(S + d).
            let r_end = r(&m, supply + q.tokens) as f64;
            let sens = sensitivity(&curve, units(supply + q.tokens));
            let tolerance = 1e-9 * exact + 4.0 + 8.0 * f64::EPSILON * r_end * sens;
            prop_assert!(
                (q.cost as f64 - exact).abs() <= tolerance,
                "{:?}: supply {} + {} tokens cost {} base units, closed form {} (tolerance {})",
                curve, supply, q.tokens, q.cost, exact, tolerance
            );
            // the cost is R(S + d) − R(S), whatever path computed it
            prop_assert_eq!(
                u128::from(q.cost),
                r(&m, supply + q.tokens) - r(&m, supply)
            );
        }
    }

    /// Regression test for a bug found in review: `quote_buy` floored the
    /// float inverse and only ever stepped down, leaving up to 1e-12 of the
    /// budget unspent (linear m = 0.001, b = 1 at supply 12345.000006789 with
    /// a budget of 1e7 bought 116 base units fewer than it paid for).
    #[test]
    fn a_buy_gets_the_most_whole_base_units_the_budget_pays_for(
        (curve, _fee, supply) in market_and_supply(),
        budget in budget_strategy(),
    ) {
        let mut m = CurveMarket::new(curve.clone(), 0.0);
        let tokens = buy(&mut m, supply, budget).map_or(0, |q| q.tokens);
        let slack = token_resolution(&m, supply, tokens);
        let r0 = r(&m, supply);
        let more = r(&m, supply.saturating_add(tokens + slack)) - r0;
        prop_assert!(
            more > u128::from(budget),
            "{:?} at supply {}: budget {} bought {} tokens, but {} tokens cost only {}",
            curve, supply, budget, tokens, tokens + slack, more
        );
    }

    /// Splitting a buy in two never gets more tokens for the same money
    /// (beyond the resolution of the reserve function).
    #[test]
    fn splitting_a_buy_in_two_never_gets_more_tokens_for_the_same_money(
        (curve, fee, supply) in market_and_supply(),
        budget in budget_strategy(),
        share in 0.0..1.0f64,
    ) {
        let mut m = CurveMarket::new(curve.clone(), fee);
        let first_budget = (budget as f64 * share) as u64;
        let whole = buy(&mut m, supply, budget).map_or(0, |q| q.tokens);
        let (first, spent) = buy(&mut m, supply, first_budget)
            .map_or((0, 0), |q| (q.tokens, q.cost + q.fee));
        let second = buy(&mut m, supply + first, budget - spent).map_or(0, |q| q.tokens);
        let slack = token_resolution(&m, supply, whole);
        prop_assert!(
            first + second <= whole + slack,
            "{:?} fee {} at supply {}: {} + {} tokens in two buys, {} in one, budget {}",
            curve, fee, supply, first, second, whole, budget
        );
    }

    #[test]
    fn price_and_reserve_function_are_monotone_in_supply(
        (curve, _fee, supply) in market_and_supply(),
        delta in prop_oneof![1u64..1000, (0.0..12.0f64).prop_map(|e| 10f64.powf(e) as u64 + 1)],
    ) {
        let m = CurveMarket::new(curve.clone(), 0.0);
        let above = supply + delta;
        prop_assert!(
            m.spot_price(above) >= m.spot_price(supply),
            "{:?}: price {} at {} > price {} at {}",
            curve, m.spot_price(supply), supply, m.spot_price(above), above
        );
        prop_assert!(r(&m, above) >= r(&m, supply));
        // and the spot price is the textbook formula
        let s = units(supply);
        let want = price_formula(&curve, s);
        prop_assert!(
            (m.spot_price(supply) - want).abs() <= 1e-12 * want.abs() + 1e-300,
            "{:?}: spot price at {} is {}, formula {}", curve, s, m.spot_price(supply), want
        );
    }
}
