//! The sandwich attack on a constant-product pool and the attacker's
//! optimal front-run.
//!
//! # The attack
//!
//! A victim's swap of `v` of asset X (the input side) for asset Y waits to
//! be executed, visible with the least output `m` it accepts. The attacker
//!
//! 1. *front-runs*: swaps `a` of X for `y_a` of Y, moving the price against
//!    the victim;
//! 2. lets the victim's swap execute at the worse price (it still succeeds
//!    as long as its output is at least `m`);
//! 3. *back-runs*: swaps the `y_a` back for X at the price the victim
//!    pushed up.
//!
//! Its profit, in X, is what the back-run pays minus `a`. This is the model
//! of Zhou, Qin, Torres, Le & Gervais, "High-Frequency Trading on
//! Decentralized On-Chain Exchanges", IEEE S&P 2021 (constant-product
//! pool, fee kept in the pool, victim's bound relative to its quote). On a
//! pool of `(1000, 1000)` with a 0.3% fee and a victim buying with 20 at
//! 10% slippage (`m = 0.9 · 19.5501696…`), it gives the optimal front-run
//! **54.7095** (in money, the victim's input asset) and the profit
//! **1.71361** (in money), as quoted in the issue that asked for this
//! module; [`optimum`] reproduces both to every printed digit (54.709504918…,
//! 1.713605735…). Two nearby models do not: a fee that leaves the pool gives
//! 54.7910 and 1.70431, and Uniswap's SDK bound `m = quote/(1 + s)` gives
//! 49.3655 and 1.55877.
//!
//! # The optimum in closed form
//!
//! Write `x, y` for the pool's reserves of X and Y and `γ = 1 − fee`. After
//! a front-run of `a` the pool holds `(x + a, x·y/(x + γa))`, and the victim
//! receives
//!
//! ```text
//! y_v(a) = γ·v·x·y / ((x + γa)(x + a + γv)),
//! ```
//!
//! decreasing in `a`. The victim's bound `y_v(a) ≥ m` is therefore an upper
//! bound on `a`: the larger root of
//!
//! ```text
//! γ·a² + (x(1 + γ) + γ²v)·a + x(x + γv) − γ·v·x·y/m = 0,
//! ```
//!
//! which [`max_front_run`] returns (the constant term is `≤ 0` exactly when
//! the victim's swap succeeds unattacked).
//!
//! Following the three swaps through, the attacker's profit is a rational
//! function of `a` that does *not* depend on `y`:
//!
//! ```text
//!          a·(p·(x + a) + γ³·v·(x + v))
//! P(a) = ─────────────────────────────────────,   p = γ²(x + v) − x,
//!         γ²a² + (x(1 + γ²) + γ³v)·a + x²
//! ```
//!
//! ([`profit`]). Its derivative has the sign of the quadratic
//! `Q(a) = A·a² + 2p·x²·a + q·x²` with
//!
//! ```text
//! q = γ²(x + v)(x + γv) − x²,    A = x(1 − γ)(γ²v − x(1 + γ)).
//! ```
//!
//! Hence:
//!
//! - **Threshold.** If `q ≤ 0` no front-run of any size profits: `q ≤ 0`
//!   implies `p < 0`, and with `A ≤ 0` (as then) `Q` is negative on
//!   `a > 0`. `q > 0` exactly when the victim's input exceeds
//!   [`min_victim_input`], the root of `γ²(x + v)(x + γv) = x²` (≈ 3.0135
//!   on the pool above: smaller victims are safe at any slippage). Then
//!   small front-runs profit (`P'(0) = q/x² > 0`).
//! - **Peak.** If `A < 0` (a fee, and a victim smaller than about twice the
//!   pool, `γ²v < x(1 + γ)`), `Q` has exactly one positive root
//!   ([`peak_front_run`], about 5693 above): profit rises up to it and
//!   falls after. If `A ≥ 0` (no fee, or a huge victim) profit rises for
//!   every `a` (towards `p/γ²`).
//!
//! So the optimum is the *least* of the victim's bound, the peak and the
//! attacker's budget ([`optimum`]). The victim's bound binds unless the
//! victim is just above the threshold (where the peak comes first) or
//! tolerates enormous slippage, and then the victim receives exactly `m`:
//! the attacker takes everything the victim's tolerance leaves on the
//! table.
//!
//! # In exact integers
//!
//! The engine executes the three swaps on a [`ConstantProductPool`], whose
//! outputs are rounded down. [`optimum_exact`] finds, by bisection on the
//! integer front-run (the victim's integer output is non-increasing in it),
//! the largest front-run that keeps the victim at or above `m`, takes the
//! least of it, the real peak and the budget, and evaluates the integer
//! profit there ([`simulate_exact`]). On the pool above, in base units
//! (the victim's quote 19 550 169 617, its minimum 17 595 152 656), it
//! front-runs 54 709 504 919 for a profit of 1 713 605 734; the real
//! optimum for the same minimum is 54 709 504 919.8 for 1 713 605 735.2.
//! Rounding moves the profit by a few base units: at most 3 below the best
//! integer front-run in the tests against a brute-force search.

use super::{AmmError, ConstantProductPool};
use crate::market::Side;

/// A pool in real arithmetic, seen from the victim's input side: the model
/// of the closed forms. Any consistent unit will do (units or base units);
/// the formulas are homogeneous.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RealPool {
    /// The reserve of the victim's input asset, `x`.
    pub reserve_in: f64,
    /// The reserve of the asset the victim receives, `y`.
    pub reserve_out: f64,
    /// The fee, a fraction in `[0, 1)`.
    pub fee: f64,
}

impl RealPool {
    /// The real image of `pool` seen by a trader on `side`, in base units.
    pub fn facing(pool: &ConstantProductPool, side: Side) -> RealPool {
        let (r_in, r_out) = pool.reserves(side);
        RealPool {
            reserve_in: r_in as f64,
            reserve_out: r_out as f64,
            fee: pool.fee().fraction(),
        }
    }

    fn gamma(&self) -> f64 {
        1.0 - self.fee
    }

    /// The output of a swap of `input` into the pool: `γ·in·y/(x + γ·in)`.
    pub fn output(&self, input: f64) -> f64 {
        let g_in = self.gamma() * input;
        g_in * self.reserve_out / (self.reserve_in + g_in)
    }

    /// The pool after a swap of `input` that paid out `output`, the whole
    /// input staying in the pool.
    fn after(&self, input: f64, output: f64) -> RealPool {
        RealPool {
            reserve_in: self.reserve_in + input,
            reserve_out: self.reserve_out - output,
            fee: self.fee,
        }
    }

    /// The same pool seen from the other side.
    fn reversed(&self) -> RealPool {
        RealPool {
            reserve_in: self.reserve_out,
            reserve_out: self.reserve_in,
            fee: self.fee,
        }
    }
}

/// A swap waiting to be executed, as an attacker sees it: its input and the
/// least output its trader accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PendingSwap<T> {
    /// What the victim pays in, of the input asset.
    pub input: T,
    /// The least the victim accepts, of the output asset.
    pub min_output: T,
}

/// A sandwich: the attacker's front-run and what each of the three swaps
/// paid out. Amounts of the victim's input asset, except `front_run_output`
/// and `victim_output`, which are of the other asset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sandwich<T> {
    /// What the attacker pays into the front-run.
    pub front_run: T,
    /// What the front-run buys, all of which the back-run sells.
    pub front_run_output: T,
    /// What the victim receives, at least its minimum.
    pub victim_output: T,
    /// What the back-run pays the attacker.
    pub back_run_output: T,
}

impl Sandwich<f64> {
    /// The attacker's profit: the back-run's output less the front-run.
    pub fn profit(&self) -> f64 {
        self.back_run_output - self.front_run
    }
}

impl Sandwich<u128> {
    /// The attacker's profit, base units, or `None` if the sandwich loses.
    pub fn profit(&self) -> Option<u128> {
        self.back_run_output.checked_sub(self.front_run)
    }
}

/// The three swaps of a sandwich with front-run `front_run`, in real
/// arithmetic (the victim's minimum is not checked).
pub fn simulate(pool: &RealPool, victim_input: f64, front_run: f64) -> Sandwich<f64> {
    let front_run_output = pool.output(front_run);
    let pool = pool.after(front_run, front_run_output);
    let victim_output = pool.output(victim_input);
    let pool = pool.after(victim_input, victim_output).reversed();
    let back_run_output = pool.output(front_run_output);
    Sandwich {
        front_run,
        front_run_output,
        victim_output,
        back_run_output,
    }
}

/// The attacker's profit from a front-run of `a`, in closed form:
/// `P(a) = a·(p(x + a) + γ³v(x + v)) / (γ²a² + (x(1 + γ²) + γ³v)·a + x²)`
/// with `p = γ²(x + v) − x` (see the module docs); independent of the
/// output reserve.
pub fn profit(pool: &RealPool, victim_input: f64, a: f64) -> f64 {
    let (x, v, g) = (pool.reserve_in, victim_input, pool.gamma());
    let (g2, g3) = (g * g, g * g * g);
    let p = g2 * (x + v) - x;
    a * (p * (x + a) + g3 * v * (x + v)) / (g2 * a * a + (x * (1.0 + g2) + g3 * v) * a + x * x)
}

/// Relative size of float rounding in the closed forms' terms.
const NOISE: f64 = 1e-12;

/// The largest front-run after which the victim still receives its
/// minimum: the larger root of `γa² + (x(1+γ) + γ²v)a + x(x+γv) − γvxy/m`.
/// Infinite if the minimum is not positive; zero if the victim has no room
/// (its minimum within a relative 10⁻¹² of its quote); `None` if the
/// victim's swap fails even unattacked.
pub fn max_front_run(pool: &RealPool, victim: &PendingSwap<f64>) -> Option<f64> {
    let (x, y, g) = (pool.reserve_in, pool.reserve_out, pool.gamma());
    let (v, m) = (victim.input, victim.min_output);
    if m <= 0.0 {
        return Some(f64::INFINITY);
    }
    let b = x * (1.0 + g) + g * g * v;
    let unattacked = x * (x + g * v);
    let c = unattacked - g * v * x * y / m;
    if c > 0.0 {
        return None;
    }
    // A victim without slippage room gives c = 0 up to rounding in its two
    // terms: no room, rather than a front-run of float noise.
    if c > -NOISE * unattacked {
        return Some(0.0);
    }
    // −2c/(b + √(b² − 4γc)) is the larger root without cancellation.
    Some(-2.0 * c / (b + (b * b - 4.0 * g * c).sqrt()))
}

/// The front-run at which the profit peaks, ignoring the victim's bound:
/// the positive root of `A·a² + 2p·x²·a + q·x²` when `A < 0`, infinite when
/// the profit rises for every front-run (`A ≥ 0`), zero when no front-run
/// profits (`q ≤ 0`).
pub fn peak_front_run(pool: &RealPool, victim_input: f64) -> f64 {
    let (x, v, g) = (pool.reserve_in, victim_input, pool.gamma());
    let p = g * g * (x + v) - x;
    let q = g * g * (x + v) * (x + g * v) - x * x;
    let a = x * (1.0 - g) * (g * g * v - x * (1.0 + g));
    if q <= 0.0 {
        return 0.0;
    }
    if a >= 0.0 {
        return f64::INFINITY;
    }
    let root = (p * p * x * x - a * q).sqrt();
    // Two forms of the same root, each free of cancellation for its sign of p.
    if p >= 0.0 {
        (p * x * x + x * root) / -a
    } else {
        q * x / (root - p * x)
    }
}

/// The least victim input at which a sandwich can profit, whatever the
/// victim's slippage tolerance: the root of `γ²(x + v)(x + γv) = x²`,
/// `v = 2x²(1 − γ²)/(b + √(b² + 4γ³x²(1 − γ²)))` with `b = γ²x(1 + γ)`.
/// Zero without a fee.
pub fn min_victim_input(pool: &RealPool) -> f64 {
    let (x, g) = (pool.reserve_in, pool.gamma());
    let b = g * g * x * (1.0 + g);
    let c = x * x * (1.0 - g * g);
    2.0 * c / (b + (b * b + 4.0 * g * g * g * c).sqrt())
}

/// The profit-maximising sandwich in real arithmetic, with the front-run
/// at most `budget` (which may be infinite): the least of
/// [`max_front_run`], [`peak_front_run`] and `budget`. `None` if no
/// front-run profits (below the threshold, a victim without slippage room,
/// or a victim whose swap fails anyway) or the optimum is not finite (a
/// victim that accepts any output, on a pool without a fee, against an
/// unlimited budget).
pub fn optimum(pool: &RealPool, victim: &PendingSwap<f64>, budget: f64) -> Option<Sandwich<f64>> {
    let bound = max_front_run(pool, victim)?;
    let a = bound.min(peak_front_run(pool, victim.input)).min(budget);
    if !(a > 0.0 && a.is_finite()) {
        return None;
    }
    let s = simulate(pool, victim.input, a);
    (s.profit() > 0.0).then_some(s)
}

/// The three swaps of a sandwich with front-run `front_run` on `pool`, for
/// a victim on `side`, as the engine would execute them: each output
/// rounded down, the victim's minimum checked. A front-run of zero is no
/// front-run (and no back-run). Errors as [`ConstantProductPool::swap`]:
/// [`AmmError::Slippage`] if the front-run breaks the victim's minimum,
/// [`AmmError::ZeroOutput`] if the front-run or back-run buys nothing.
pub fn simulate_exact(
    pool: &ConstantProductPool,
    side: Side,
    victim: &PendingSwap<u128>,
    front_run: u128,
) -> Result<Sandwich<u128>, AmmError> {
    let mut pool = pool.clone();
    let front_run_output = match front_run {
        0 => 0,
        a => pool.swap(side, a, 0)?.output,
    };
    let victim_output = pool.swap(side, victim.input, victim.min_output)?.output;
    let back_run_output = match front_run_output {
        0 => 0,
        y => pool.swap(side.opposite(), y, 0)?.output,
    };
    Ok(Sandwich {
        front_run,
        front_run_output,
        victim_output,
        back_run_output,
    })
}

/// The victim's integer output after a front-run of `a` (none if the
/// arithmetic overflows); non-increasing in `a`.
fn victim_output_after(
    pool: &ConstantProductPool,
    side: Side,
    victim_input: u128,
    a: u128,
) -> Option<u128> {
    let bought = pool.quote_out(side, a).ok()?;
    let (r_in, r_out) = pool.reserves(side);
    let after = match side {
        Side::Buy => ConstantProductPool::new(r_in.checked_add(a)?, r_out - bought, pool.fee()),
        Side::Sell => ConstantProductPool::new(r_out - bought, r_in.checked_add(a)?, pool.fee()),
    }
    .ok()?;
    after.quote_out(side, victim_input).ok()
}

/// The profit-maximising sandwich in exact integer arithmetic, for a victim
/// on `side`, with the front-run at most `budget` base units and a profit
/// above `min_profit` base units (e.g. the cost of the two transactions);
/// `None` if there is none.
///
/// The front-run is the least of: the largest integer front-run after
/// which the victim still receives `min_output` (found by bisection over
/// `[0, budget]`; front-runs whose arithmetic would overflow count as
/// breaking the bound), the real [`peak_front_run`], and `budget`. The
/// integer profit there is within a few base units, and one unit of the
/// bought asset's worth (the front-run buys whole units), of the best
/// integer front-run's.
pub fn optimum_exact(
    pool: &ConstantProductPool,
    side: Side,
    victim: &PendingSwap<u128>,
    budget: u128,
    min_profit: u128,
) -> Result<Option<Sandwich<u128>>, AmmError> {
    let keeps_bound = |a: u128| {
        victim_output_after(pool, side, victim.input, a).is_some_and(|out| out >= victim.min_output)
    };
    if !keeps_bound(0) {
        return Ok(None);
    }
    // Invariant: keeps_bound(lo); everything above hi breaks it.
    let (mut lo, mut hi) = (0u128, budget);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if keeps_bound(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let real = RealPool::facing(pool, side);
    let peak = peak_front_run(&real, victim.input as f64);
    // A float-to-integer cast saturates; the peak is only a bound here.
    let a = lo.min(peak as u128);
    if a == 0 {
        return Ok(None);
    }
    let s = match simulate_exact(pool, side, victim, a) {
        Ok(s) => s,
        Err(AmmError::ZeroOutput { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(s.profit().filter(|&p| p > min_profit).map(|_| s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::amm::{min_output, Fee};
    use proptest::prelude::*;

    const UNIT: u128 = 1_000_000_000;

    /// The issue's example: pool (1000, 1000), 0.3% fee.
    fn issue_pool() -> RealPool {
        RealPool {
            reserve_in: 1000.0,
            reserve_out: 1000.0,
            fee: 0.003,
        }
    }

    /// A victim buying with `v` at a slippage tolerance `s`, its minimum
    /// relative to its quote on the unattacked pool.
    fn victim(pool: &RealPool, v: f64, s: f64) -> PendingSwap<f64> {
        PendingSwap {
            input: v,
            min_output: (1.0 - s) * pool.output(v),
        }
    }

    /// The best front-run on a grid of `n + 1` points over `[0, hi]` that
    /// keeps the victim's minimum, by simulation: `(front-run, profit)`.
    fn grid_best(pool: &RealPool, v: &PendingSwap<f64>, hi: f64, n: u32) -> (f64, f64) {
        let mut best = (0.0, 0.0);
        for i in 0..=n {
            let a = hi * f64::from(i) / f64::from(n);
            let s = simulate(pool, v.input, a);
            if s.victim_output >= v.min_output && s.profit() > best.1 {
                best = (a, s.profit());
            }
        }
        best
    }

    #[test]
    fn the_issue_numbers_are_reproduced_to_the_printed_digits() {
        let pool = issue_pool();
        let v = victim(&pool, 20.0, 0.1);
        let s = optimum(&pool, &v, f64::INFINITY).unwrap();
        assert_eq!(format!("{:.4}", s.front_run), "54.7095");
        assert_eq!(format!("{:.5}", s.profit()), "1.71361");
        // The victim's bound binds: it receives exactly its minimum.
        assert!((s.victim_output - v.min_output).abs() < 1e-9);
        // The closed form agrees with the three swaps.
        assert!((profit(&pool, 20.0, s.front_run) - s.profit()).abs() < 1e-10);
        // A brute-force search over front-runs finds nothing better.
        let (a, p) = grid_best(&pool, &v, 200.0, 200_000);
        assert!((a - s.front_run).abs() <= 1e-3, "{a}");
        assert!(p <= s.profit() + 1e-12 && p > s.profit() - 1e-4, "{p}");
    }

    #[test]
    fn the_threshold_and_the_peak_on_the_issue_pool() {
        let pool = issue_pool();
        // γ²(x + v)(x + γv) = x² at v = 3.01354741…
        let v_min = min_victim_input(&pool);
        assert!((v_min - 3.013_547_412_5).abs() < 1e-9, "{v_min}");
        let g = 0.997f64;
        assert!((g * g * (1000.0 + v_min) * (1000.0 + g * v_min) - 1e6).abs() < 1e-6);
        // Below it nothing profits, whatever the slippage; above it, with
        // slippage room, a sandwich does.
        for (v, profitable) in [(0.99 * v_min, false), (1.01 * v_min, true)] {
            let victim = victim(&pool, v, 0.5);
            assert_eq!(optimum(&pool, &victim, f64::INFINITY).is_some(), profitable);
            let (_, best) = grid_best(&pool, &victim, 100.0, 100_000);
            assert_eq!(best > 0.0, profitable, "{v}: {best}");
        }
        // The peak is where the profit's derivative vanishes: ≈ 5693.289.
        let peak = peak_front_run(&pool, 20.0);
        assert!((peak - 5_693.289_168_868_8).abs() < 1e-6, "{peak}");
        let h = 1e-3;
        assert!(profit(&pool, 20.0, peak) > profit(&pool, 20.0, peak - h));
        assert!(profit(&pool, 20.0, peak) > profit(&pool, 20.0, peak + h));
        // No slippage room, no attack.
        assert!(optimum(&pool, &victim(&pool, 20.0, 0.0), f64::INFINITY).is_none());
        // A victim whose own swap fails is not attacked.
        let greedy = PendingSwap {
            input: 20.0,
            min_output: 1.01 * pool.output(20.0),
        };
        assert!(max_front_run(&pool, &greedy).is_none());
        assert!(optimum(&pool, &greedy, f64::INFINITY).is_none());
    }

    #[test]
    fn the_peak_or_the_budget_binds_when_the_victim_allows_more() {
        let pool = issue_pool();
        // A victim that accepts any output: the peak binds.
        let v = PendingSwap {
            input: 20.0,
            min_output: 0.0,
        };
        let s = optimum(&pool, &v, f64::INFINITY).unwrap();
        assert_eq!(s.front_run, peak_front_run(&pool, 20.0));
        let (a, p) = grid_best(&pool, &v, 20_000.0, 400_000);
        assert!(
            (a - s.front_run).abs() < 0.1 && p <= s.profit() + 1e-9,
            "{a} {p}"
        );
        // A budget below the bound binds.
        let s = optimum(&pool, &victim(&pool, 20.0, 0.1), 30.0).unwrap();
        assert_eq!(s.front_run, 30.0);
        // Without a fee profit rises for ever: no finite optimum unless
        // something bounds the front-run.
        let free = RealPool { fee: 0.0, ..pool };
        assert_eq!(peak_front_run(&free, 20.0), f64::INFINITY);
        assert_eq!(min_victim_input(&free), 0.0);
        assert!(optimum(&free, &v, f64::INFINITY).is_none());
        assert!(optimum(&free, &v, 100.0).is_some());
        // A sandwich that gains nothing is no attack: at a budget of the
        // least float (5e-324) the three swaps give back exactly what the
        // front-run put in; at 1e-320 they gain a little.
        let v = victim(&pool, 20.0, 0.1);
        let least = f64::from_bits(1);
        assert_eq!(simulate(&pool, 20.0, least).profit(), 0.0);
        assert!(optimum(&pool, &v, least).is_none());
        assert!(optimum(&pool, &v, 1e-320).is_some_and(|s| s.profit() > 0.0));
    }

    /// The issue's pool in base units, a victim buying with 20 at 10%.
    fn issue_exact() -> (ConstantProductPool, PendingSwap<u128>) {
        let pool =
            ConstantProductPool::new(1000 * UNIT, 1000 * UNIT, Fee::from_fraction(0.003).unwrap())
                .unwrap();
        let quote = pool.quote_out(Side::Buy, 20 * UNIT).unwrap();
        let v = PendingSwap {
            input: 20 * UNIT,
            min_output: min_output(quote, 0.1).unwrap(),
        };
        (pool, v)
    }

    #[test]
    fn the_exact_optimum_agrees_with_the_real_one_within_a_few_base_units() {
        let (pool, v) = issue_exact();
        let s = optimum_exact(&pool, Side::Buy, &v, u128::MAX, 0)
            .unwrap()
            .unwrap();
        // Real optimum in base units: 54 709 504 918.636…, profit 1 713 605 735.134…
        let real = optimum(
            &RealPool::facing(&pool, Side::Buy),
            &PendingSwap {
                input: v.input as f64,
                min_output: v.min_output as f64,
            },
            f64::INFINITY,
        )
        .unwrap();
        assert!(
            (s.front_run as f64 - real.front_run).abs() < 4.0,
            "{s:?} {real:?}"
        );
        let profit = s.profit().unwrap();
        assert!(
            (profit as f64 - real.profit()).abs() < 4.0,
            "{profit} {real:?}"
        );
        assert!((s.front_run as f64 / 1e9 - 54.709_504_918_6).abs() < 1e-8);
        // The bound binds to the base unit: one more breaks the victim's minimum.
        assert!(s.victim_output >= v.min_output);
        assert!(matches!(
            simulate_exact(&pool, Side::Buy, &v, s.front_run + 1),
            Err(AmmError::Slippage { .. })
        ));
        // The budget binds.
        let capped = optimum_exact(&pool, Side::Buy, &v, 30 * UNIT, 0)
            .unwrap()
            .unwrap();
        assert_eq!(capped.front_run, 30 * UNIT);
        // So does the profit floor: no attack for less than the gas.
        assert!(optimum_exact(&pool, Side::Buy, &v, u128::MAX, 2 * UNIT)
            .unwrap()
            .is_none());
        // The floor is strict: a profit of exactly the floor is no attack,
        // one base unit above it is.
        assert_eq!(
            optimum_exact(&pool, Side::Buy, &v, u128::MAX, profit),
            Ok(None)
        );
        assert_eq!(
            optimum_exact(&pool, Side::Buy, &v, u128::MAX, profit - 1),
            Ok(Some(s))
        );
        // A victim on the sell side of the mirrored pool meets the same attack.
        let sell = optimum_exact(&pool, Side::Sell, &v, u128::MAX, 0)
            .unwrap()
            .unwrap();
        assert_eq!(sell, s);
    }

    #[test]
    fn no_exact_attack_without_room_or_below_the_threshold() {
        let (pool, v) = issue_exact();
        let quote = pool.quote_out(Side::Buy, v.input).unwrap();
        let tight = PendingSwap {
            min_output: quote,
            ..v
        };
        assert_eq!(
            optimum_exact(&pool, Side::Buy, &tight, u128::MAX, 0),
            Ok(None)
        );
        let impossible = PendingSwap {
            min_output: quote + 1,
            ..v
        };
        assert_eq!(
            optimum_exact(&pool, Side::Buy, &impossible, u128::MAX, 0),
            Ok(None)
        );
        // 3 money is below the threshold of 3.0135…: no attack at any slippage.
        let small = PendingSwap {
            input: 3 * UNIT,
            min_output: 1,
        };
        assert_eq!(
            optimum_exact(&pool, Side::Buy, &small, u128::MAX, 0),
            Ok(None)
        );
    }

    /// Brute force over every integer front-run in `[0, hi]`: the largest
    /// that keeps the victim's minimum and the best integer profit.
    fn brute_force(
        pool: &ConstantProductPool,
        v: &PendingSwap<u128>,
        hi: u128,
    ) -> (Option<u128>, i128) {
        let (mut largest, mut best) = (None, 0i128);
        for a in 0..=hi {
            if let Ok(s) = simulate_exact(pool, Side::Buy, v, a) {
                largest = Some(a);
                best = best.max(s.back_run_output as i128 - a as i128);
            }
        }
        (largest, best)
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(48))]

        #[test]
        fn the_exact_optimum_matches_a_brute_force_search(
            reserve_money in 5_000u128..50_000,
            reserve_token in 5_000u128..500_000,
            fee in prop_oneof![Just(0u32), Just(3_000_000), 0..30_000_000u32],
            victim_share in 0.005f64..0.2,
            slippage in 0.0f64..0.3,
        ) {
            let pool = ConstantProductPool::new(
                reserve_money, reserve_token, Fee::from_billionths(fee).unwrap()).unwrap();
            let input = (reserve_money as f64 * victim_share) as u128;
            let quote = pool.quote_out(Side::Buy, input).unwrap();
            prop_assume!(quote > 0);
            let v = PendingSwap { input, min_output: min_output(quote, slippage).unwrap() };
            // The bound lies below the whole money reserve for these victims.
            let (largest, best) = brute_force(&pool, &v, reserve_money);
            prop_assert!(largest.is_some() && largest < Some(reserve_money));
            let found = optimum_exact(&pool, Side::Buy, &v, u128::MAX, 0).unwrap();
            match found {
                Some(s) => {
                    // The victim's bound binds, unless the peak comes first
                    // (victims just above the threshold).
                    let peak = peak_front_run(&RealPool::facing(&pool, Side::Buy), input as f64);
                    prop_assert_eq!(Some(s.front_run), largest.map(|l| l.min(peak as u128)));
                    let p = s.profit().unwrap() as i128;
                    // The front-run buys whole token units: the integer
                    // optimum may buy one unit more than the chosen one,
                    // worth at most the token's price at the back-run,
                    // money reserve / token reserve then (base units of
                    // money, rounded up); beyond that, rounding (3 units).
                    let money = reserve_money + s.front_run + input;
                    let tokens = reserve_token - s.front_run_output - s.victim_output;
                    let unit = money.div_ceil(tokens) as i128;
                    prop_assert!(
                        p <= best && p >= best - unit - 3,
                        "{} vs best {} (a token unit: {} money units)", p, best, unit
                    );
                }
                None => prop_assert!(best <= 3, "missed a profit of {}", best),
            }
        }

        #[test]
        fn the_closed_forms_agree_with_the_swaps_and_a_grid_search(
            x in 10.0f64..1e4, y in 10.0f64..1e4, fee in 0.0f64..0.05,
            share in 0.001f64..3.0, slippage in 0.0f64..0.99,
        ) {
            let pool = RealPool { reserve_in: x, reserve_out: y, fee };
            let v = victim(&pool, share * x, slippage);
            let a = x * share;
            let s = simulate(&pool, v.input, a);
            prop_assert!((profit(&pool, v.input, a) - s.profit()).abs() <= 1e-9 * x);
            if let Some(bound) = max_front_run(&pool, &v) {
                if bound.is_finite() && bound > 0.0 {
                    let at = simulate(&pool, v.input, bound);
                    prop_assert!((at.victim_output - v.min_output).abs() <= 1e-9 * y);
                }
            }
            let best = optimum(&pool, &v, 10.0 * x).map_or(0.0, |s| s.profit());
            let (_, grid) = grid_best(&pool, &v, 10.0 * x, 20_000);
            prop_assert!(grid <= best + 1e-9 * x, "grid {} beats {}", grid, best);
        }
    }
}
