//! Metrics computed from recorded series: price statistics, volatility,
//! drawdown, inequality.
//!
//! Every function takes a plain slice and is defined for every input (an
//! empty series gives 0), so that a summary never holds a NaN.

/// Mean of `xs` (0 for an empty slice).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Population standard deviation of `xs` (0 for fewer than two values).
///
/// Two passes (mean, then squared deviations), which is accurate for the
/// series lengths of a simulation.
pub fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64).sqrt()
}

/// Log returns `ln(p_t / p_{t−1})` of a price series, skipping pairs where
/// either price is not positive (a log return is undefined there).
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
    values.sort_unstable_by(f64::total_cmp);
    let total: f64 = values.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let weighted: f64 = values
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * (i as f64 + 1.0) - n as f64 - 1.0) * x)
        .sum();
    weighted / (n as f64 * total)
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
    fn std_dev_matches_a_hand_computation() {
        // mean 5, squared deviations 9+1+1+9 = 20 → sqrt(20/4)
        assert_eq!(std_dev(&[2.0, 4.0, 6.0, 8.0]), 5.0f64.sqrt());
        assert_eq!(std_dev(&[3.0]), 0.0);
    }

    #[test]
    fn log_return_volatility_of_constant_growth_is_zero() {
        let prices: Vec<f64> = (0..50).map(|t| 1.01f64.powi(t)).collect();
        assert!(log_return_volatility(&prices) < 1e-12);
        // alternating ×2, ÷2: returns ±ln 2, population sd ln 2
        let zigzag = [1.0, 2.0, 1.0, 2.0, 1.0];
        assert!((log_return_volatility(&zigzag) - 2f64.ln()).abs() < 1e-15);
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
    fn price_stats_collects_everything() {
        let s = PriceStats::of(&[1.0, 3.0, 2.0]);
        assert_eq!(
            (s.final_price, s.mean_price, s.min_price, s.max_price),
            (2.0, 2.0, 1.0, 3.0)
        );
        assert!((s.max_drawdown - 1.0 / 3.0).abs() < 1e-15);
    }
}
