//! The posted-price market: sellers post prices, a population of buyers
//! splits between them by logit demand.
//!
//! This is the workhorse oligopoly of the algorithmic-collusion literature
//! (Calvano, Calzolari, Denicolò and Pastorello, "Artificial Intelligence,
//! Algorithmic Pricing, and Collusion", *AER* 110(10), 2020): `n` sellers of
//! differentiated goods with qualities `a_i` and marginal costs `c_i`, and an
//! outside good of quality `a0`. At prices `p` seller `i` sells
//!
//! ```text
//! q_i = exp((a_i − p_i)/μ) / (Σ_j exp((a_j − p_j)/μ) + exp(a0/μ))   (× market size)
//! ```
//!
//! and earns `π_i = (p_i − c_i) q_i`. `μ > 0` is horizontal
//! differentiation: as `μ → 0` the goods become perfect substitutes.
//!
//! The module computes the benchmarks a learning experiment is measured
//! against, in closed form up to one scalar equation each:
//!
//! - the one-shot Bertrand–Nash equilibrium of the continuous game
//!   ([`PostedMarket::nash`]), where every seller's first-order condition
//!   `p_i = c_i + μ/(1 − q_i)` holds;
//! - the prices that maximise joint profit ([`PostedMarket::monopoly`]);
//! - the price grid the learners choose from ([`price_grid`]);
//! - the collusion index `Δ = (π̄ − π^N)/(π^M − π^N)` ([`collusion_index`]);
//! - the table of every seller's profit at every price profile of a grid
//!   ([`PostedMarket::profit_table`]), which a simulation reads instead of
//!   evaluating demand each step.
//!
//! Both the best response and the joint optimum reduce to the equation
//! `w + ln w = z` (the Wright omega function `w = ω(z)`, i.e. `w e^w = e^z`),
//! which [`wright_omega`] solves by Newton's method in `ln w`; no `exp` of a
//! large argument is ever formed, so the solutions hold for any `μ > 0`.

use crate::error::{Error, Result};

/// Logit demand and marginal costs of a posted-price market.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PostedMarket {
    /// Quality index `a_i` of each seller's good.
    a: Vec<f64>,
    /// Marginal cost `c_i` of each seller.
    costs: Vec<f64>,
    /// Quality index `a0` of the outside good.
    a0: f64,
    /// Horizontal differentiation `μ > 0`.
    mu: f64,
    /// Number of buyers: quantities are shares times this.
    size: f64,
}

/// Prices and the profits they give, one entry per seller.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    /// Price of each seller.
    pub prices: Vec<f64>,
    /// Profit of each seller per period at these prices.
    pub profits: Vec<f64>,
}

impl Outcome {
    /// The mean profit per seller.
    pub fn mean_profit(&self) -> f64 {
        mean(&self.profits)
    }

    /// The mean price.
    pub fn mean_price(&self) -> f64 {
        mean(&self.prices)
    }
}

fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().sum::<f64>() / x.len() as f64
}

/// How the price grid of the learners is laid out.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GridSpec {
    /// `m` equally spaced prices on `[p^N − ξ(p^M − p^N), p^M + ξ(p^M − p^N)]`
    /// (Calvano et al.'s grid; `m = 15, ξ = 0.1` in their baseline).
    Span {
        /// Number of prices, at least 2.
        m: usize,
        /// How far beyond the Nash and monopoly prices the grid reaches, as a
        /// fraction of their distance; at least 0.
        xi: f64,
    },
    /// These prices, in this order.
    List(Vec<f64>),
}

impl PostedMarket {
    /// Returns the market of `a.len()` sellers with qualities `a`, marginal
    /// costs `costs`, outside-good quality `a0`, differentiation `mu` and
    /// `size` buyers.
    ///
    /// Errors if there is no seller, `a` and `costs` differ in length, a
    /// number is not finite, or `mu` or `size` is not positive.
    pub fn new(a: Vec<f64>, costs: Vec<f64>, a0: f64, mu: f64, size: f64) -> Result<Self> {
        if a.is_empty() {
            return Err(Error::usage(
                "a posted-price market needs at least one seller",
            ));
        }
        if a.len() != costs.len() {
            return Err(Error::usage(format!(
                "a posted-price market needs one cost per seller: {} qualities `a`, {} costs",
                a.len(),
                costs.len()
            )));
        }
        if let Some(x) = a.iter().find(|x| !x.is_finite()) {
            return Err(Error::usage(format!("`a` must be finite, found {x}")));
        }
        if let Some(x) = costs.iter().find(|x| !x.is_finite()) {
            return Err(Error::usage(format!("`cost` must be finite, found {x}")));
        }
        if !a0.is_finite() {
            return Err(Error::usage(format!("`a0` must be finite, found {a0}")));
        }
        if !(mu.is_finite() && mu > 0.0) {
            return Err(Error::usage(format!("`mu` must be positive, found {mu}")));
        }
        if !(size.is_finite() && size > 0.0) {
            return Err(Error::usage(format!(
                "the market size must be positive, found {size}"
            )));
        }
        Ok(PostedMarket {
            a,
            costs,
            a0,
            mu,
            size,
        })
    }

    /// Returns the market of `n` identical sellers (quality `a`, cost `c`)
    /// and one buyer.
    pub fn symmetric(n: usize, a: f64, c: f64, a0: f64, mu: f64) -> Result<Self> {
        PostedMarket::new(vec![a; n], vec![c; n], a0, mu, 1.0)
    }

    /// The number of sellers.
    pub fn sellers(&self) -> usize {
        self.a.len()
    }

    /// The quality index of each seller's good.
    pub fn qualities(&self) -> &[f64] {
        &self.a
    }

    /// The marginal cost of each seller.
    pub fn costs(&self) -> &[f64] {
        &self.costs
    }

    /// The differentiation parameter `μ`.
    pub fn mu(&self) -> f64 {
        self.mu
    }

    /// The outside good's quality `a0`.
    pub fn a0(&self) -> f64 {
        self.a0
    }

    /// The market size (number of buyers).
    pub fn size(&self) -> f64 {
        self.size
    }

    fn check_prices(&self, prices: &[f64]) -> Result<()> {
        if prices.len() != self.sellers() {
            return Err(Error::usage(format!(
                "{} prices for a market of {} sellers",
                prices.len(),
                self.sellers()
            )));
        }
        Ok(())
    }

    /// Writes into `out` the quantity each seller sells at `prices` (the
    /// logit share times the market size). Computed with the largest
    /// exponent factored out, so no term overflows.
    ///
    /// Errors if `prices` or `out` does not have one entry per seller.
    pub fn quantities(&self, prices: &[f64], out: &mut [f64]) -> Result<()> {
        self.check_prices(prices)?;
        self.check_prices(out)?;
        let mu = self.mu;
        let outside = self.a0 / mu;
        let top = self
            .a
            .iter()
            .zip(prices)
            .map(|(a, p)| (a - p) / mu)
            .fold(outside, f64::max);
        let mut total = (outside - top).exp();
        for ((q, a), p) in out.iter_mut().zip(&self.a).zip(prices) {
            *q = ((a - p) / mu - top).exp();
            total += *q;
        }
        for q in out.iter_mut() {
            *q *= self.size / total;
        }
        Ok(())
    }

    /// Writes into `out` each seller's profit `(p_i − c_i) q_i` at `prices`.
    ///
    /// Errors if `prices` or `out` does not have one entry per seller.
    pub fn profits(&self, prices: &[f64], out: &mut [f64]) -> Result<()> {
        self.quantities(prices, out)?;
        for ((pi, p), c) in out.iter_mut().zip(prices).zip(&self.costs) {
            *pi *= p - c;
        }
        Ok(())
    }

    /// Returns the profits at `prices` with the prices, as an [`Outcome`].
    pub fn outcome(&self, prices: Vec<f64>) -> Result<Outcome> {
        let mut profits = vec![0.0; self.sellers()];
        self.profits(&prices, &mut profits)?;
        Ok(Outcome { prices, profits })
    }

    /// Returns seller `i`'s best response to the other sellers' prices in
    /// `prices` (its own entry is ignored): the unique price at which its
    /// first-order condition `p_i = c_i + μ/(1 − q_i)` holds.
    ///
    /// With `E = Σ_{j≠i} exp((a_j − p_j)/μ) + exp(a0/μ)` the condition reads
    /// `y − 1 = exp((a_i − c_i)/μ − ln E − y)` in `y = (p_i − c_i)/μ`, so
    /// `p_i = c_i + μ(1 + ω((a_i − c_i)/μ − ln E − 1))`. Profit
    /// `(p − c_i) q_i(p)` rises below that price and falls above it, so the
    /// stationary point is the maximum.
    ///
    /// Errors if `i` is not a seller or `prices` has the wrong length.
    pub fn best_response(&self, i: usize, prices: &[f64]) -> Result<f64> {
        self.check_prices(prices)?;
        if i >= self.sellers() {
            return Err(Error::usage(format!(
                "seller {i} of a market of {} sellers",
                self.sellers()
            )));
        }
        let mu = self.mu;
        let others = self
            .a
            .iter()
            .zip(prices)
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, (a, p))| (a - p) / mu);
        let log_e = log_sum_exp(others.chain(std::iter::once(self.a0 / mu)));
        let w = wright_omega((self.a[i] - self.costs[i]) / mu - log_e - 1.0);
        Ok(self.costs[i] + mu * (1.0 + w))
    }

    /// Returns the one-shot Bertrand–Nash equilibrium of the continuous
    /// pricing game: prices at which every seller's price is its
    /// [best response](Self::best_response) to the others'.
    ///
    /// Found by iterating best responses (each seller in turn, the latest
    /// prices used: Gauss–Seidel) from the costs until a whole round leaves
    /// every price as it was, bit for bit (or 100,000 rounds pass). Logit
    /// best responses are increasing with slope below 1 (prices are
    /// strategic complements and own effects dominate), so the iteration
    /// contracts to the unique equilibrium, and it stops on its float fixed
    /// point, where sellers alike in quality and cost have come out with the
    /// same price to the bit (every symmetric market of the tests; a stop
    /// one round short left them up to 41 ulps apart). The first-order
    /// conditions are then checked
    /// ([`foc_residual`](Self::foc_residual) at most 1e-9), and an error is
    /// returned rather than a wrong equilibrium if they fail.
    pub fn nash(&self) -> Result<Outcome> {
        let n = self.sellers();
        let mut p = self.costs.clone();
        for _ in 0..100_000 {
            let mut moved = false;
            for i in 0..n {
                let new = self.best_response(i, &p)?;
                moved |= new.to_bits() != p[i].to_bits();
                p[i] = new;
            }
            if !moved {
                break;
            }
        }
        let residual = self.foc_residual(&p)?;
        if residual > 1e-9 {
            return Err(Error::usage(format!(
                "the Nash equilibrium of the posted-price market was not found \
                 (first-order conditions off by {residual:e})"
            )));
        }
        self.outcome(p)
    }

    /// Returns the largest violation of the sellers' first-order
    /// conditions `p_i = c_i + μ/(1 − q_i)` at `prices`, relative to
    /// `max(1, |p_i|)`.
    pub fn foc_residual(&self, prices: &[f64]) -> Result<f64> {
        let mut q = vec![0.0; self.sellers()];
        self.quantities(prices, &mut q)?;
        let mut worst = 0.0f64;
        for ((p, c), q) in prices.iter().zip(&self.costs).zip(&q) {
            let share = q / self.size;
            let r = (p - c - self.mu / (1.0 - share)).abs() / p.abs().max(1.0);
            worst = worst.max(if r.is_nan() { f64::INFINITY } else { r });
        }
        Ok(worst)
    }

    /// Returns the prices that maximise joint profit `Σ_i (p_i − c_i) q_i`
    /// (the monopoly, or perfectly collusive, prices).
    ///
    /// The gradient is `∂Π/∂p_i = q_i [1 − (p_i − c_i)/μ + Σ_j (p_j − c_j) q_j/μ]`,
    /// so at the optimum every seller has the same markup
    /// `m = μ + Σ_j m q_j`, i.e. `m = μ/(1 − Q)` with `Q` the inside share.
    /// With equal markups `Q` depends on `m` alone, and with
    /// `S = Σ_j exp((a_j − c_j)/μ)` the condition becomes
    /// `m/μ = 1 + ω(ln S − a0/μ − 1)`: one stationary point, which is the
    /// maximum (joint profit vanishes as markups go to 0 or to infinity).
    /// This holds for asymmetric qualities and costs alike.
    pub fn monopoly(&self) -> Result<Outcome> {
        let mu = self.mu;
        let log_s = log_sum_exp(self.a.iter().zip(&self.costs).map(|(a, c)| (a - c) / mu));
        let markup = mu * (1.0 + wright_omega(log_s - self.a0 / mu - 1.0));
        self.outcome(self.costs.iter().map(|c| c + markup).collect())
    }

    /// Returns the table of every seller's profit at every profile of prices
    /// from `grid`: entry `k · n + i` is seller `i`'s profit when seller `j`
    /// charges `grid[d_j]`, `k = Σ_j d_j m^j` (seller 0 the least significant
    /// digit), `m = grid.len()`, `n` sellers. It has `m^n · n` entries.
    ///
    /// Errors if the grid is empty or the table would not fit in memory's
    /// address space.
    pub fn profit_table(&self, grid: &[f64]) -> Result<Vec<f64>> {
        let n = self.sellers();
        let m = grid.len();
        if m == 0 {
            return Err(Error::usage("the price grid is empty"));
        }
        let profiles = profile_count(m, n)?;
        let len = profiles.checked_mul(n).ok_or_else(|| too_large(m, n))?;
        let mut table = vec![0.0; len];
        let mut digits = vec![0usize; n];
        let mut prices = vec![grid[0]; n];
        for row in table.chunks_exact_mut(n) {
            for (p, &d) in prices.iter_mut().zip(&digits) {
                *p = grid[d];
            }
            self.profits(&prices, row)?;
            next_profile(&mut digits, m);
        }
        Ok(table)
    }
}

/// Returns `m^n`, the number of price profiles of `n` sellers on a grid of
/// `m` prices, or an error if it does not fit in a `usize`.
pub fn profile_count(m: usize, n: usize) -> Result<usize> {
    u32::try_from(n)
        .ok()
        .and_then(|n| m.checked_pow(n))
        .ok_or_else(|| too_large(m, n))
}

fn too_large(m: usize, n: usize) -> Error {
    Error::usage(format!(
        "{m} prices for each of {n} sellers make too many price profiles to tabulate"
    ))
}

/// Advances `digits` (least significant first, base `m`) to the next
/// profile, wrapping to all zeros after the last.
fn next_profile(digits: &mut [usize], m: usize) {
    for d in digits.iter_mut() {
        *d += 1;
        if *d < m {
            return;
        }
        *d = 0;
    }
}

/// Returns the price grid of `spec`, given the Nash and monopoly prices.
///
/// For [`GridSpec::Span`] the grid is `m` equally spaced points
/// `lo + j (hi − lo)/(m − 1)`, `j = 0 … m−1`, on
/// `[lo, hi] = [p^N − ξ(p^M − p^N), p^M + ξ(p^M − p^N)]`. With asymmetric
/// sellers `p^N` is the lowest Nash price and `p^M` the highest monopoly
/// price, so the one grid every seller shares covers every seller's
/// benchmarks. A [`GridSpec::List`] is returned as given.
///
/// Errors if a listed grid is empty or holds a non-finite price, `m < 2`,
/// `ξ` is negative or not finite, or `p^M` is not above `p^N` (with one
/// seller the two coincide: give an explicit list).
pub fn price_grid(spec: &GridSpec, nash: &[f64], monopoly: &[f64]) -> Result<Vec<f64>> {
    match spec {
        GridSpec::List(prices) => {
            if prices.is_empty() {
                return Err(Error::usage("the price grid is empty"));
            }
            if let Some(p) = prices.iter().find(|p| !p.is_finite()) {
                return Err(Error::usage(format!(
                    "the price grid's prices must be finite, found {p}"
                )));
            }
            Ok(prices.clone())
        }
        &GridSpec::Span { m, xi } => {
            if m < 2 {
                return Err(Error::usage(format!(
                    "the price grid needs `m` of at least 2 prices, found {m}"
                )));
            }
            if !(xi.is_finite() && xi >= 0.0) {
                return Err(Error::usage(format!(
                    "the price grid's `xi` must be at least 0, found {xi}"
                )));
            }
            let p_n = nash.iter().copied().fold(f64::INFINITY, f64::min);
            let p_m = monopoly.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !(p_m > p_n && (p_m - p_n).is_finite()) {
                return Err(Error::usage(format!(
                    "the price grid needs the monopoly price ({p_m}) above the Nash price \
                     ({p_n}); list the prices instead"
                )));
            }
            let lo = p_n - xi * (p_m - p_n);
            let hi = p_m + xi * (p_m - p_n);
            let step = (hi - lo) / (m - 1) as f64;
            Ok((0..m).map(|j| lo + j as f64 * step).collect())
        }
    }
}

/// Returns the collusion index (Calvano et al.'s "average profit gain")
/// `Δ = (π̄ − π^N)/(π^M − π^N)`: 0 at the Nash profit, 1 at the monopoly
/// profit, with `π̄` the mean profit per seller observed and `π^N`, `π^M`
/// the mean profits per seller at the Nash and monopoly prices. Undefined
/// when `π^M = π^N`: ±∞ by the sign of `π̄ − π^N`, NaN when that is 0 too.
pub fn collusion_index(mean_profit: f64, nash_profit: f64, monopoly_profit: f64) -> f64 {
    (mean_profit - nash_profit) / (monopoly_profit - nash_profit)
}

/// Returns `ln Σ exp(x)` with the largest term factored out (`-∞` for no
/// terms, NaN if any term is NaN).
fn log_sum_exp(x: impl Iterator<Item = f64> + Clone) -> f64 {
    // `f64::max` would drop a NaN; a NaN is kept once met
    let top = x.clone().fold(
        f64::NEG_INFINITY,
        |m, v| if v > m || v.is_nan() { v } else { m },
    );
    if top == f64::NEG_INFINITY || !top.is_finite() {
        return top;
    }
    top + x.map(|v| (v - top).exp()).sum::<f64>().ln()
}

/// Returns the Wright omega function `ω(z)`: the `w > 0` with
/// `w + ln w = z` (equivalently `w e^w = e^z`, so `ω(z) = W(e^z)` with `W`
/// the Lambert function), to within a few ulps.
///
/// Solved by Newton's method on `g(u) = e^u + u − z` in `u = ln w`, which is
/// increasing and convex, so Newton converges from any start (after the
/// first step the iterates decrease monotonically to the root). The start
/// is the asymptote: `ln(z − ln z)` for `z ≥ 1`, `z` below. Returns NaN for
/// a NaN argument and `∞` for `z = ∞`.
pub fn wright_omega(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z == f64::INFINITY {
        return f64::INFINITY;
    }
    if z == f64::NEG_INFINITY {
        return 0.0;
    }
    let mut u = if z >= 1.0 { (z - z.ln()).ln() } else { z };
    for _ in 0..200 {
        let e = u.exp();
        let step = (e + u - z) / (e + 1.0);
        u -= step;
        if step.abs() <= 4.0 * f64::EPSILON * u.abs().max(1.0) {
            break;
        }
    }
    u.exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wright_omega_solves_its_equation() {
        for z in [-700.0, -30.0, -1.0, 0.0, 0.5, 1.0, 2.0, 10.0, 1e3, 1e8] {
            let w: f64 = wright_omega(z);
            assert!(w > 0.0, "ω({z}) = {w}");
            let back = w + w.ln();
            assert!(
                (back - z).abs() <= 1e-12 * z.abs().max(1.0),
                "ω({z}) = {w}: w + ln w = {back}"
            );
        }
        // ω(1) = 1: 1 + ln 1 = 1.
        assert!((wright_omega(1.0) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn a_market_reports_what_it_was_made_with_and_its_size_scales_the_quantities() {
        let m = PostedMarket::new(vec![2.0, 1.5], vec![1.0, 0.5], 0.5, 0.25, 7.0).unwrap();
        assert_eq!(
            (m.sellers(), m.qualities(), m.costs()),
            (2, &[2.0, 1.5][..], &[1.0, 0.5][..])
        );
        assert_eq!((m.a0(), m.mu(), m.size()), (0.5, 0.25, 7.0));
        // The quantities are size times the logit shares.
        let (p, mut q) = ([1.4, 1.2], [0.0; 2]);
        m.quantities(&p, &mut q).unwrap();
        let e = [(0.6f64 / 0.25).exp(), (0.3f64 / 0.25).exp()];
        let total = e[0] + e[1] + (0.5f64 / 0.25).exp();
        for i in 0..2 {
            assert!((q[i] - 7.0 * e[i] / total).abs() < 1e-14, "seller {i}");
        }
    }

    #[test]
    fn shares_sum_with_the_outside_good_to_one() {
        let m = PostedMarket::new(vec![2.0, 1.5, 3.0], vec![1.0; 3], 0.5, 0.25, 1.0).unwrap();
        let p = [1.4, 1.2, 2.5];
        let mut q = [0.0; 3];
        m.quantities(&p, &mut q).unwrap();
        let outside = (0.5f64 / 0.25).exp();
        let inside: Vec<f64> = [2.0f64 - 1.4, 1.5 - 1.2, 3.0 - 2.5]
            .iter()
            .map(|v| (v / 0.25).exp())
            .collect();
        let total: f64 = inside.iter().sum::<f64>() + outside;
        for (q, e) in q.iter().zip(&inside) {
            assert!((q - e / total).abs() < 1e-15);
        }
        // Extreme prices do not overflow.
        let m = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 1e-3).unwrap();
        m.quantities(&[-5.0, 1.0], &mut q[..2]).unwrap();
        assert!((q[0] - 1.0).abs() < 1e-12 && q[1] >= 0.0, "{q:?}");
    }

    #[test]
    fn bad_markets_and_grids_are_refused() {
        assert!(PostedMarket::new(vec![], vec![], 0.0, 0.25, 1.0).is_err());
        assert!(PostedMarket::new(vec![2.0], vec![1.0, 1.0], 0.0, 0.25, 1.0).is_err());
        assert!(PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.0).is_err());
        assert!(PostedMarket::symmetric(2, f64::NAN, 1.0, 0.0, 0.25).is_err());
        let g = |s: GridSpec| price_grid(&s, &[1.0], &[2.0]);
        assert!(g(GridSpec::List(vec![])).is_err());
        assert!(g(GridSpec::List(vec![1.0, f64::NAN])).is_err());
        assert!(g(GridSpec::Span { m: 1, xi: 0.1 }).is_err());
        assert!(g(GridSpec::Span { m: 5, xi: -0.1 }).is_err());
        assert!(price_grid(&GridSpec::Span { m: 5, xi: 0.1 }, &[2.0], &[2.0]).is_err());
        // A span p_M − p_N past f64 (1e308 − (−1e308)) is refused too.
        assert!(price_grid(&GridSpec::Span { m: 5, xi: 0.0 }, &[-1e308], &[1e308]).is_err());
        assert_eq!(
            g(GridSpec::Span { m: 3, xi: 0.5 }).unwrap(),
            vec![0.5, 1.5, 2.5]
        );
    }

    #[test]
    fn profit_table_matches_the_profits_of_each_profile() {
        let m =
            PostedMarket::new(vec![2.0, 2.2, 1.9], vec![1.0, 1.1, 0.9], 0.0, 0.25, 2.0).unwrap();
        let grid = [1.3, 1.6, 1.9, 2.1];
        let table = m.profit_table(&grid).unwrap();
        assert_eq!(table.len(), 64 * 3);
        let mut pi = [0.0; 3];
        for d2 in 0..4 {
            for d1 in 0..4 {
                for d0 in 0..4 {
                    m.profits(&[grid[d0], grid[d1], grid[d2]], &mut pi).unwrap();
                    let k = d0 + 4 * d1 + 16 * d2;
                    assert_eq!(&table[3 * k..3 * k + 3], &pi);
                }
            }
        }
        assert!(m.profit_table(&[]).is_err());
        assert!(m.profit_table(&vec![1.0; 1 << 22]).is_err());
    }

    #[test]
    fn each_bad_market_is_refused_with_its_reason() {
        let new = |a: Vec<f64>, c: Vec<f64>, a0: f64, mu: f64, size: f64| {
            PostedMarket::new(a, c, a0, mu, size)
                .unwrap_err()
                .to_string()
        };
        let inf = f64::INFINITY;
        assert_eq!(
            new(vec![], vec![], 0.0, 0.25, 1.0),
            "a posted-price market needs at least one seller"
        );
        assert_eq!(
            new(vec![2.0], vec![1.0, 1.0], 0.0, 0.25, 1.0),
            "a posted-price market needs one cost per seller: 1 qualities `a`, 2 costs"
        );
        assert_eq!(
            new(vec![2.0, inf], vec![1.0, 1.0], 0.0, 0.25, 1.0),
            "`a` must be finite, found inf"
        );
        assert_eq!(
            new(vec![2.0], vec![f64::NAN], 0.0, 0.25, 1.0),
            "`cost` must be finite, found NaN"
        );
        assert_eq!(
            new(vec![2.0], vec![1.0], -inf, 0.25, 1.0),
            "`a0` must be finite, found -inf"
        );
        for mu in [0.0, -0.25, f64::NAN, inf] {
            assert_eq!(
                new(vec![2.0], vec![1.0], 0.0, mu, 1.0),
                format!("`mu` must be positive, found {mu}")
            );
        }
        for size in [0.0, -1.0, inf] {
            assert_eq!(
                new(vec![2.0], vec![1.0], 0.0, 0.25, size),
                format!("the market size must be positive, found {size}")
            );
        }
        // The smallest good values pass.
        assert!(PostedMarket::new(vec![0.0], vec![0.0], 0.0, 1e-300, 1e-300).is_ok());
        let m = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
        assert_eq!(
            m.best_response(2, &[1.5, 1.5]).unwrap_err().to_string(),
            "seller 2 of a market of 2 sellers"
        );
        assert_eq!(
            m.best_response(0, &[1.5]).unwrap_err().to_string(),
            "1 prices for a market of 2 sellers"
        );
        assert!(m.best_response(1, &[1.5, 1.5]).is_ok());
    }

    #[test]
    fn the_helpers_edges_no_prices_infinite_and_huge_terms() {
        let none = Outcome {
            prices: vec![],
            profits: vec![],
        };
        assert!(none.mean_price().is_nan() && none.mean_profit().is_nan());
        let two = Outcome {
            prices: vec![1.0, 2.0],
            profits: vec![0.5, 1.5],
        };
        assert_eq!((two.mean_price(), two.mean_profit()), (1.5, 1.0));
        // Calvano et al.'s Δ: 0 at Nash, 1 at monopoly, linear between.
        assert_eq!(collusion_index(3.0, 1.0, 5.0), 0.5);
        assert_eq!(collusion_index(1.0, 1.0, 5.0), 0.0);
        assert_eq!(collusion_index(5.0, 1.0, 5.0), 1.0);
        assert_eq!(collusion_index(0.0, 1.0, 5.0), -0.25);
        // Undefined where the Nash and monopoly profits are equal.
        assert_eq!(collusion_index(2.0, 1.0, 1.0), f64::INFINITY);
        assert_eq!(collusion_index(0.5, 1.0, 1.0), f64::NEG_INFINITY);
        assert!(collusion_index(1.0, 1.0, 1.0).is_nan());
        // ln Σ eˣ: none is −∞; huge terms do not overflow; ∞ passes.
        let lse = |x: &[f64]| log_sum_exp(x.iter().copied());
        assert_eq!(lse(&[]), f64::NEG_INFINITY);
        assert!((lse(&[0.0, 3f64.ln()]) - 4f64.ln()).abs() < 1e-15);
        assert!((lse(&[1000.0, 1000.0]) - (1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(lse(&[f64::INFINITY, 0.0]), f64::INFINITY);
        // a NaN term makes the sum NaN, wherever it is
        for x in [
            [f64::NAN, 1.0],
            [1.0, f64::NAN],
            [f64::NAN, f64::NEG_INFINITY],
        ] {
            assert!(lse(&x).is_nan(), "{x:?}");
        }
        assert!(lse(&[f64::NAN]).is_nan());
        // ω at the ends of its domain.
        assert!(wright_omega(f64::NAN).is_nan());
        assert_eq!(wright_omega(f64::INFINITY), f64::INFINITY);
        assert_eq!(wright_omega(f64::NEG_INFINITY), 0.0);
    }
}
