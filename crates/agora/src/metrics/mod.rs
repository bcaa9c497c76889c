//! Metrics computed from recorded series: price statistics, volatility,
//! drawdown, inequality.
//!
//! Every function takes a plain slice and is defined for every input (an
//! empty series gives 0), so that a summary never holds a NaN.

mod custom;
pub use custom::{Metric, MetricFactory};

/// Mean of `xs` (0 for an empty slice).
///
/// Finite values always give a finite mean: when their sum overflows (a
/// price near 1e300 held for a few hundred steps), the mean is taken of the
/// values scaled down by a power of two instead, by running updates.
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    if m.is_finite() || !xs.iter().all(|x| x.is_finite()) {
        return m;
    }
    scaled_mean(xs, power_of_two_scale(xs))
}

/// Population standard deviation of `xs` (0 for fewer than two values).
///
/// Two passes (mean, then squared deviations), which is accurate for the
/// series lengths of a simulation. Finite values always give a finite
/// result, 0 for a constant series: when a sum overflows (deviations beyond
/// about 1e154, or a mean of values near the largest f64), both passes are
/// taken over the values scaled down by a power of two, which is exact, and
/// the mean by running updates, which stay exactly on a constant.
pub fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let sd = (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64).sqrt();
    if sd.is_finite() || !xs.iter().all(|x| x.is_finite()) {
        return sd;
    }
    let scale = power_of_two_scale(xs);
    let m = scaled_mean(xs, scale) / scale;
    let var = xs
        .iter()
        .map(|x| (x / scale - m) * (x / scale - m))
        .sum::<f64>()
        / xs.len() as f64;
    var.sqrt() * scale
}

/// The power of two at or below the largest magnitude of `xs` (finite,
/// not all zero): dividing by it is exact and brings every value into
/// (−2, 2), where no sum of a simulation's length can overflow.
fn power_of_two_scale(xs: &[f64]) -> f64 {
    let top = xs.iter().fold(0.0f64, |a, x| a.max(x.abs()));
    // Keep only the exponent bits: 2^⌊log2 top⌋ (1 for subnormal or zero).
    let scale = f64::from_bits(top.to_bits() & 0x7ff0_0000_0000_0000);
    if scale.is_normal() {
        scale
    } else {
        1.0
    }
}

/// The mean of `xs / scale` by running updates `m += (x − m) / k`, times
/// `scale`, within the range of `xs` (rounding may not leave it).
fn scaled_mean(xs: &[f64], scale: f64) -> f64 {
    let mut m = 0.0;
    for (k, x) in xs.iter().enumerate() {
        m += (x / scale - m) / (k + 1) as f64;
    }
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        });
    (m * scale).clamp(lo, hi)
}

/// Log returns `ln(p_t / p_{t−1})` of a price series, skipping pairs where
/// either price is not positive or NaN (a log return is undefined there):
/// a gap in the series (NaN, a step without a price) is never bridged.
pub fn log_returns(prices: &[f64]) -> Vec<f64> {
    prices
        .windows(2)
        .filter(|w| w[0] > 0.0 && w[1] > 0.0)
        .map(|w| (w[1] / w[0]).ln())
        .collect()
}

/// Population standard deviation of the log returns, per step.
pub fn log_return_volatility(prices: &[f64]) -> f64 {
    std_dev(&log_returns(prices))
}

/// Largest fall from a running peak, as a share of that peak, in `[0, 1]`.
pub fn max_drawdown(prices: &[f64]) -> f64 {
    let mut peak = f64::NEG_INFINITY;
    let mut worst: f64 = 0.0;
    for &p in prices {
        peak = peak.max(p);
        if peak > 0.0 {
            worst = worst.max((peak - p) / peak);
        }
    }
    worst
}

/// Gini coefficient of non-negative values, in `[0, 1)`: 0 when all are
/// equal (or all zero). Sorts `values` in place.
///
/// `G = Σᵢ (2i − n − 1)·x₍ᵢ₎ / (n · Σ x)`, with `x₍ᵢ₎` in ascending order and
/// `i` from 1.
pub fn gini(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    sort_non_negative(values);
    gini_of_sorted(values)
}

/// [`gini`] of values already in ascending order.
pub(crate) fn gini_of_sorted(values: &[f64]) -> f64 {
    gini_of_ascending(values.len(), values.iter().copied())
}

/// [`gini`] of the `n` values `values` yields in ascending order (the same
/// sums in the same order as [`gini_of_sorted`], so the same coefficient
/// bit for bit).
pub(crate) fn gini_of_ascending(n: usize, values: impl Iterator<Item = f64> + Clone) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let total: f64 = values.clone().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let weighted: f64 = values
        .enumerate()
        .map(|(i, x)| (2.0 * (i as f64 + 1.0) - n as f64 - 1.0) * x)
        .sum();
    weighted / (n as f64 * total)
}

/// Sorts `values` ascending (by `f64::total_cmp`). When all are `+0.0` or
/// more (no `-0.0`, no NaN: the common case) they are sorted by their bit
/// patterns, which order them the same way and compare as integers (faster,
/// and in place).
fn sort_non_negative(values: &mut [f64]) {
    if values.iter().all(|x| x.is_sign_positive() && *x >= 0.0) {
        // Equal keys are equal values, so the order is the same whether
        // sorted on one thread or several; several pay from ~32k values.
        if values.len() >= 1 << 15 {
            use rayon::slice::ParallelSliceMut;
            values.par_sort_unstable_by_key(|x| x.to_bits());
        } else {
            values.sort_unstable_by_key(|x| x.to_bits());
        }
    } else {
        values.sort_unstable_by(f64::total_cmp);
    }
}

/// Sorts `keys` ascending by a least-significant-digit radix sort, 11 bits
/// a pass, skipping the passes whose digit is the same in every key, with
/// `buffer` for the scatter (its contents replaced). The same order as
/// `sort_unstable` (equal keys are indistinguishable), in about half its
/// instructions on a few thousand keys or more; short slices are sorted by
/// `sort_unstable`.
pub(crate) fn radix_sort(keys: &mut Vec<u64>, buffer: &mut Vec<u64>) {
    const BITS: u32 = 11;
    const DIGITS: usize = 64usize.div_ceil(BITS as usize);
    const MASK: u64 = (1 << BITS) - 1;
    let n = keys.len();
    if n < 256 {
        keys.sort_unstable();
        return;
    }
    let mut counts = vec![[0u32; 1 << BITS]; DIGITS];
    for &k in keys.iter() {
        for (d, c) in counts.iter_mut().enumerate() {
            c[((k >> (BITS as usize * d)) & MASK) as usize] += 1;
        }
    }
    buffer.clear();
    buffer.resize(n, 0);
    for (d, c) in counts.iter_mut().enumerate() {
        let shift = BITS as usize * d;
        if c[((keys[0] >> shift) & MASK) as usize] as usize == n {
            continue; // one digit for all: the pass would not move anything
        }
        let mut at = 0u32;
        for slot in c.iter_mut() {
            let here = *slot;
            *slot = at;
            at += here;
        }
        for &k in keys.iter() {
            let slot = &mut c[((k >> shift) & MASK) as usize];
            buffer[*slot as usize] = k;
            *slot += 1;
        }
        std::mem::swap(keys, buffer);
    }
}

/// The pre-shock price level: the mean of `prices[s − window .. s]` (the
/// prices at the end of the `window` steps before the shock at step `s`),
/// or of all prices before `s` if there are fewer. `prices[t]` is the price
/// at the end of step `t` (`prices[0]` the initial one), so a shock applied
/// at the start of step `s` first shows in `prices[s]`. For `s = 0` the
/// level is `prices[0]`; 0 for an empty series.
pub fn pre_shock_level(prices: &[f64], shock_step: u64, window: u64) -> f64 {
    let end = usize::try_from(shock_step)
        .unwrap_or(usize::MAX)
        .min(prices.len());
    let start = end.saturating_sub(usize::try_from(window).unwrap_or(usize::MAX));
    if start == end {
        return prices.first().copied().unwrap_or(0.0);
    }
    mean(&prices[start..end])
}

/// The prices from the shock on: `prices[s..]` (empty if the series ends
/// before step `s`).
fn after_shock(prices: &[f64], shock_step: u64) -> &[f64] {
    let s = usize::try_from(shock_step).unwrap_or(usize::MAX);
    prices.get(s..).unwrap_or(&[])
}

/// `|p − level| / level`; the absolute deviation if `level` is not positive
/// (so that the result is always finite).
fn relative_deviation(p: f64, level: f64) -> f64 {
    if level > 0.0 {
        (p - level).abs() / level
    } else {
        (p - level).abs()
    }
}

/// Largest relative deviation of the price from its pre-shock level (see
/// [`pre_shock_level`]) at or after the shock step: `max_{t ≥ s} |P_t −
/// pre| / pre`. 0 if the series ends before `s`.
pub fn max_deviation(prices: &[f64], shock_step: u64, window: u64) -> f64 {
    let pre = pre_shock_level(prices, shock_step, window);
    after_shock(prices, shock_step)
        .iter()
        .map(|&p| relative_deviation(p, pre))
        .fold(0.0, f64::max)
}

/// Largest fall of the price below its pre-shock level at or after the
/// shock step, as a share of that level: `max_{t ≥ s} max(0, (pre − P_t) /
/// pre)`, in `[0, 1]` for non-negative prices. 0 if the price never falls
/// below the level.
pub fn shock_drawdown(prices: &[f64], shock_step: u64, window: u64) -> f64 {
    let pre = pre_shock_level(prices, shock_step, window);
    if pre <= 0.0 {
        return 0.0;
    }
    after_shock(prices, shock_step)
        .iter()
        .map(|&p| (pre - p) / pre)
        .fold(0.0, f64::max)
}

/// Steps the price takes to come back within `band` (relative, inclusive:
/// `|P_t − pre| ≤ band·pre`) of its pre-shock level after a shock at step
/// `s`, or `None` if it never does within the series.
///
/// The count runs from the shock: if the price first leaves the band at
/// step `d ≥ s` and is first back in it at step `r > d`, the result is
/// `r − s`. A price that never leaves the band from `s` on has recovered at
/// once (`Some(0)`); a shock that moves the price only some steps later (a
/// burst of buyers that builds up) is still measured from its departure.
/// A later excursion after the first return does not count: this is the
/// *first* recovery.
pub fn recovery_steps(prices: &[f64], shock_step: u64, band: f64, window: u64) -> Option<u64> {
    let pre = pre_shock_level(prices, shock_step, window);
    let inside = |p: f64| relative_deviation(p, pre) <= band;
    let after = after_shock(prices, shock_step);
    let Some(departure) = after.iter().position(|&p| !inside(p)) else {
        return Some(0);
    };
    after[departure..]
        .iter()
        .position(|&p| inside(p))
        .map(|back| (departure + back) as u64)
}

/// Stability of a price series after a shock (see the functions of the
/// same names).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ShockStats {
    /// [`pre_shock_level`].
    pub pre_shock_price: f64,
    /// [`max_deviation`].
    pub max_deviation: f64,
    /// [`recovery_steps`].
    pub recovery_steps: Option<u64>,
    /// [`shock_drawdown`].
    pub shock_drawdown: f64,
}

impl ShockStats {
    /// Computes the stability statistics of `prices` after a shock at step
    /// `shock_step`, with the pre-shock level over `window` steps and a
    /// recovery band of relative half-width `band`.
    pub fn of(prices: &[f64], shock_step: u64, band: f64, window: u64) -> Self {
        ShockStats {
            pre_shock_price: pre_shock_level(prices, shock_step, window),
            max_deviation: max_deviation(prices, shock_step, window),
            recovery_steps: recovery_steps(prices, shock_step, band, window),
            shock_drawdown: shock_drawdown(prices, shock_step, window),
        }
    }
}

/// Summary statistics of a price series.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PriceStats {
    /// Last price.
    pub final_price: f64,
    /// Mean price.
    pub mean_price: f64,
    /// Lowest price.
    pub min_price: f64,
    /// Highest price.
    pub max_price: f64,
    /// Population standard deviation of the price.
    pub volatility: f64,
    /// Population standard deviation of the log returns.
    pub log_return_volatility: f64,
    /// Largest fall from a running peak, as a share of the peak.
    pub max_drawdown: f64,
}

impl PriceStats {
    /// Computes the statistics of `prices` (all 0 for an empty series).
    pub fn of(prices: &[f64]) -> Self {
        if prices.is_empty() {
            return Self::default();
        }
        PriceStats {
            final_price: prices[prices.len() - 1],
            mean_price: mean(prices),
            min_price: prices.iter().copied().fold(f64::INFINITY, f64::min),
            max_price: prices.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            volatility: std_dev(prices),
            log_return_volatility: log_return_volatility(prices),
            max_drawdown: max_drawdown(prices),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorting_by_bits_orders_like_total_cmp() {
        let mut a = vec![3.5, 0.0, 1e-300, 2.0, 1e300, 0.5];
        let mut b = a.clone();
        sort_non_negative(&mut a);
        b.sort_unstable_by(f64::total_cmp);
        assert_eq!(a, b);
        let mut c = vec![1.0, -0.0, 0.0, -2.0];
        sort_non_negative(&mut c);
        assert_eq!(c, [-2.0, 0.0, 0.0, 1.0]);
        assert!(c[1].is_sign_negative() && c[2].is_sign_positive());
    }

    #[test]
    fn radix_sort_sorts_like_sort_unstable() {
        // keys sharing their high digits (skipped passes), duplicates, the
        // extremes, and lengths either side of the short-slice cut-off
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for n in [0usize, 1, 255, 256, 257, 5_000] {
            for high in [0u64, 0x3fe0_0000_0000_0000, u64::MAX << 20] {
                let mut keys: Vec<u64> = (0..n)
                    .map(|i| {
                        state = crate::rng::mix64(state);
                        match i % 7 {
                            // the extremes only without a common prefix
                            0 if high == 0 => 0,
                            1 if high == 0 => u64::MAX,
                            0..=2 => high,
                            _ => high | (state >> 44),
                        }
                    })
                    .collect();
                let mut expected = keys.clone();
                expected.sort_unstable();
                radix_sort(&mut keys, &mut Vec::new());
                assert_eq!(keys, expected, "{n} keys under {high:#x}");
            }
        }
    }

    #[test]
    fn std_dev_matches_a_hand_computation() {
        // mean 5, squared deviations 9+1+1+9 = 20 → sqrt(20/4)
        assert_eq!(std_dev(&[2.0, 4.0, 6.0, 8.0]), 5.0f64.sqrt());
        assert_eq!(std_dev(&[3.0]), 0.0);
    }

    /// Regression test: a constant price of 1e300 gave a null volatility
    /// (the sum of the prices overflowed to infinity, and the deviations
    /// from an infinite mean are NaN).
    #[test]
    fn a_constant_series_near_the_top_of_the_f64_range_has_its_value_as_mean_and_no_spread() {
        for c in [1e300, -1e300, 1.7e308, f64::MAX] {
            for n in [2, 3, 10, 179, 180, 1000] {
                let xs = vec![c; n];
                // Exact where the sum overflows; within the rounding of
                // n additions elsewhere, as for any series.
                let m = mean(&xs);
                assert!(
                    (m - c).abs() <= c.abs() * n as f64 * f64::EPSILON,
                    "mean of {n} × {c}: {m:e}"
                );
                assert_eq!(std_dev(&xs), 0.0, "std of {n} × {c:e}");
            }
        }
        let stats = PriceStats::of(&[1e300; 500]);
        assert!((stats.mean_price / 1e300 - 1.0).abs() < 500.0 * f64::EPSILON);
        assert_eq!(stats.volatility, 0.0);
    }

    #[test]
    fn spread_beyond_the_square_root_of_the_f64_range_matches_the_closed_form() {
        // ±a around 0: mean 0, population sd a; a² overflows for a = 1e200.
        let a = 1e200;
        let xs = [a, -a, a, -a];
        assert_eq!(mean(&xs), 0.0);
        assert_eq!(std_dev(&xs), a);
        // c − d and c + d: mean c, sd d (c near the top of the range, so
        // the plain sum overflows; d a power of two, so all is exact).
        let (c, d) = (1.5e308, 2f64.powi(1000));
        let xs = [c - d, c + d, c - d, c + d];
        assert_eq!(mean(&xs), c);
        assert_eq!(std_dev(&xs), d);
        // Values that are not finite still propagate.
        assert!(std_dev(&[1.0, f64::INFINITY]).is_nan());
        assert_eq!(mean(&[1.0, f64::INFINITY]), f64::INFINITY);
    }

    #[test]
    fn log_return_volatility_of_constant_growth_is_zero() {
        let prices: Vec<f64> = (0..50).map(|t| 1.01f64.powi(t)).collect();
        assert!(log_return_volatility(&prices) < 1e-12);
        // alternating ×2, ÷2: returns ±ln 2, population sd ln 2
        let zigzag = [1.0, 2.0, 1.0, 2.0, 1.0];
        assert!((log_return_volatility(&zigzag) - 2f64.ln()).abs() < 1e-15);
        // a gap is not bridged: 1 → 2 and 4 → 8 only, both ln 2
        assert_eq!(log_returns(&[1.0, 2.0, f64::NAN, 4.0, 8.0]).len(), 2);
        assert_eq!(log_return_volatility(&[1.0, 2.0, f64::NAN, 4.0, 8.0]), 0.0);
        // nor is a price of 0 (a curve at its start, a market without
        // trades): its returns to and from it are undefined, not ±∞
        assert_eq!(log_returns(&[1.0, 2.0, 0.0, 4.0, 8.0]), [2f64.ln(); 2]);
        assert_eq!(log_returns(&[0.0, 1.0, 0.0]), Vec::<f64>::new());
    }

    #[test]
    fn drawdown_is_measured_from_the_running_peak() {
        assert_eq!(max_drawdown(&[1.0, 4.0, 2.0, 5.0, 3.0]), 0.5);
        assert_eq!(max_drawdown(&[1.0, 2.0, 3.0]), 0.0);
    }

    #[test]
    fn gini_of_known_distributions() {
        assert_eq!(gini(&mut [5.0, 5.0, 5.0]), 0.0);
        // one holder of everything among n: (n−1)/n
        assert!((gini(&mut [0.0, 0.0, 0.0, 8.0]) - 0.75).abs() < 1e-15);
        // 1,2,3,4: Σ(2i−5)x = -3-2+3+12 = 10 → 10/(4·10) = 0.25
        assert!((gini(&mut [4.0, 1.0, 3.0, 2.0]) - 0.25).abs() < 1e-15);
        assert_eq!(gini(&mut []), 0.0);
    }

    #[test]
    fn the_pre_shock_level_is_the_mean_over_the_window_before_the_shock() {
        let prices = [9.0, 1.0, 2.0, 3.0, 4.0, 100.0];
        // shock at step 5: window 2 → steps 3 and 4 → (3 + 4) / 2
        assert_eq!(pre_shock_level(&prices, 5, 2), 3.5);
        // a window longer than the history takes all of it: (9+1+2+3+4)/5
        assert_eq!(pre_shock_level(&prices, 5, 10), 19.0 / 5.0);
        assert_eq!(pre_shock_level(&prices, 1, 10), 9.0);
        assert_eq!(pre_shock_level(&prices, 0, 10), 9.0);
        assert_eq!(pre_shock_level(&[], 3, 10), 0.0);
    }

    #[test]
    fn recovery_is_counted_from_the_shock_to_the_first_return_into_the_band() {
        // level 10 (steps 0..4), shock at 4; band 5% is [9.5, 10.5]
        let prices = [10.0, 10.0, 10.0, 10.0, 6.0, 8.0, 9.4, 9.5, 12.0, 10.0];
        assert_eq!(recovery_steps(&prices, 4, 0.05, 10), Some(3)); // step 7
                                                                   // a wider band: 9.4 is within 10%, so back at step 6
        assert_eq!(recovery_steps(&prices, 4, 0.1, 10), Some(2));
        // never back within 1%? 9.5 is 5% off; 10.0 at step 9 is back
        assert_eq!(recovery_steps(&prices, 4, 0.01, 10), Some(5));
        // the series ends outside the band
        assert_eq!(recovery_steps(&prices[..7], 4, 0.05, 10), None);
        // a shock that does not move the price: recovered at once
        assert_eq!(
            recovery_steps(&[10.0, 10.0, 10.2, 10.0], 2, 0.05, 10),
            Some(0)
        );
        // a delayed departure (step 4) and return (step 6): 6 − 2 = 4
        let delayed = [10.0, 10.0, 10.0, 10.3, 11.0, 12.0, 10.1];
        assert_eq!(recovery_steps(&delayed, 2, 0.05, 10), Some(4));
    }

    #[test]
    fn deviation_and_drawdown_are_relative_to_the_pre_shock_level() {
        let prices = [10.0, 10.0, 10.0, 10.0, 6.0, 8.0, 9.4, 9.5, 12.0, 10.0];
        // |6 − 10| / 10 = 0.4 beats |12 − 10| / 10 = 0.2
        assert!((max_deviation(&prices, 4, 10) - 0.4).abs() < 1e-15);
        assert!((shock_drawdown(&prices, 4, 10) - 0.4).abs() < 1e-15);
        // a shock upwards: deviation 0.5, no drawdown
        let up = [2.0, 2.0, 3.0, 2.5];
        assert_eq!(max_deviation(&up, 2, 10), 0.5);
        assert_eq!(shock_drawdown(&up, 2, 10), 0.0);
        // beyond the series: nothing measured
        assert_eq!(max_deviation(&up, 9, 10), 0.0);
        // a zero level gives absolute deviations, never NaN
        assert_eq!(max_deviation(&[0.0, 0.5], 1, 10), 0.5);
        let s = ShockStats::of(&prices, 4, 0.05, 2);
        assert_eq!(s.pre_shock_price, 10.0);
        assert_eq!(s.recovery_steps, Some(3));
    }

    #[test]
    fn price_stats_collects_everything() {
        let s = PriceStats::of(&[1.0, 3.0, 2.0]);
        assert_eq!(
            (s.final_price, s.mean_price, s.min_price, s.max_price),
            (2.0, 2.0, 1.0, 3.0)
        );
        assert!((s.max_drawdown - 1.0 / 3.0).abs() < 1e-15);
    }
}
