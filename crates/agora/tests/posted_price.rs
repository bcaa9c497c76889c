//! The posted-price market against theory: Calvano et al.'s published
//! benchmarks, first-order conditions checked with an independent logit,
//! Nash as a mutual best response and monopoly as a joint maximum on fine
//! grids, and symmetric equilibria found by bisection and golden-section
//! search independently of the library's closed forms.

use agora::market::posted::{collusion_index, price_grid, GridSpec, PostedMarket};

/// Seller `i`'s logit share, written out independently of the library.
fn share(i: usize, p: &[f64], a: &[f64], a0: f64, mu: f64) -> f64 {
    let e: Vec<f64> = a.iter().zip(p).map(|(a, p)| ((a - p) / mu).exp()).collect();
    e[i] / (e.iter().sum::<f64>() + (a0 / mu).exp())
}

fn profit(i: usize, p: &[f64], a: &[f64], c: &[f64], a0: f64, mu: f64) -> f64 {
    (p[i] - c[i]) * share(i, p, a, a0, mu)
}

fn joint(p: &[f64], a: &[f64], c: &[f64], a0: f64, mu: f64) -> f64 {
    (0..p.len()).map(|i| profit(i, p, a, c, a0, mu)).sum()
}

/// The symmetric Nash price by bisection on `p − c − μ/(1 − q(p))`, which is
/// increasing in `p` (independent of the library's Wright-omega solution).
fn symmetric_nash(n: usize, a: f64, c: f64, a0: f64, mu: f64) -> f64 {
    let (mut lo, mut hi) = (c, c + 100.0 * mu);
    for _ in 0..200 {
        let p = 0.5 * (lo + hi);
        let q = share(0, &vec![p; n], &vec![a; n], a0, mu);
        if p - c - mu / (1.0 - q) < 0.0 {
            lo = p;
        } else {
            hi = p;
        }
    }
    0.5 * (lo + hi)
}

/// The symmetric joint-profit maximum by golden-section search on
/// `n (p − c) q(p)`, which is unimodal in a common price.
fn symmetric_monopoly(n: usize, a: f64, c: f64, a0: f64, mu: f64) -> f64 {
    let f = |p: f64| joint(&vec![p; n], &vec![a; n], &vec![c; n], a0, mu);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut lo, mut hi) = (c, c + 100.0 * mu);
    for _ in 0..200 {
        let x1 = hi - g * (hi - lo);
        let x2 = lo + g * (hi - lo);
        if f(x1) < f(x2) {
            lo = x1;
        } else {
            hi = x2;
        }
    }
    0.5 * (lo + hi)
}

/// Checks the first-order conditions `p_i = c_i + μ/(1 − q_i)` with the
/// independent logit, to 1e-9.
fn assert_foc(p: &[f64], a: &[f64], c: &[f64], a0: f64, mu: f64) {
    for i in 0..p.len() {
        let q = share(i, p, a, a0, mu);
        let r = p[i] - c[i] - mu / (1.0 - q);
        assert!(r.abs() < 1e-9, "seller {i}: FOC residual {r:e} at {p:?}");
        // And the derivative of profit, by central differences, vanishes.
        let h = 1e-5;
        let mut up = p.to_vec();
        let mut down = p.to_vec();
        up[i] += h;
        down[i] -= h;
        let d = (profit(i, &up, a, c, a0, mu) - profit(i, &down, a, c, a0, mu)) / (2.0 * h);
        assert!(d.abs() < 1e-9, "seller {i}: ∂π/∂p = {d:e}");
    }
}

/// Checks that no seller gains by moving alone to any price on a grid of
/// step 1e-4 over [c_i, c_i + 3].
fn assert_mutual_best_response(p: &[f64], a: &[f64], c: &[f64], a0: f64, mu: f64) {
    for i in 0..p.len() {
        let at_nash = profit(i, p, a, c, a0, mu);
        let mut dev = p.to_vec();
        for k in 0..=30_000 {
            dev[i] = c[i] + k as f64 * 1e-4;
            let pi = profit(i, &dev, a, c, a0, mu);
            assert!(
                pi <= at_nash + 1e-15,
                "seller {i} gains {:e} by charging {} instead of {}",
                pi - at_nash,
                dev[i],
                p[i]
            );
        }
    }
}

#[test]
fn calvano_baseline_benchmarks() {
    // a = 2, c = 1, a0 = 0, μ = 0.25, two firms (Calvano et al. 2020, §II):
    // p^N ≈ 1.4729, p^M ≈ 1.9250.
    let m = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
    let nash = m.nash().unwrap();
    let mono = m.monopoly().unwrap();
    for p in &nash.prices {
        assert!((p - 1.4729).abs() < 1e-4, "p^N = {p}");
    }
    for p in &mono.prices {
        assert!((p - 1.9250).abs() < 1e-4, "p^M = {p}");
    }
    // Profits at those prices: π^N = μ q/(1 − q) ≈ 0.2229 at the Nash FOC,
    // π^M ≈ 0.3375 (both from an independent bisection and golden-section
    // search in Python, to 1e-10).
    assert!((nash.mean_profit() - 0.2229).abs() < 1e-4, "{nash:?}");
    assert!((mono.mean_profit() - 0.3375).abs() < 1e-4, "{mono:?}");
    // And to 1e-9 against the independent bisection and golden section.
    let p_n = symmetric_nash(2, 2.0, 1.0, 0.0, 0.25);
    let p_m = symmetric_monopoly(2, 2.0, 1.0, 0.0, 0.25);
    assert!((nash.prices[0] - p_n).abs() < 1e-9 && (nash.prices[1] - p_n).abs() < 1e-9);
    assert!(
        (mono.prices[0] - p_m).abs() < 1e-7,
        "{} vs {p_m}",
        mono.prices[0]
    );
    assert!(m.foc_residual(&nash.prices).unwrap() < 1e-9);
    assert_foc(&nash.prices, &[2.0; 2], &[1.0; 2], 0.0, 0.25);
    assert_mutual_best_response(&nash.prices, &[2.0; 2], &[1.0; 2], 0.0, 0.25);
}

#[test]
fn three_firms_benchmarks() {
    let m = PostedMarket::symmetric(3, 2.0, 1.0, 0.0, 0.25).unwrap();
    let nash = m.nash().unwrap();
    let mono = m.monopoly().unwrap();
    let p_n = symmetric_nash(3, 2.0, 1.0, 0.0, 0.25);
    // p^N ≈ 1.3702 (π^N ≈ 0.1202).
    assert!((p_n - 1.3702).abs() < 1e-4);
    for p in &nash.prices {
        assert!((p - p_n).abs() < 1e-9, "p^N = {p}, bisection {p_n}");
    }
    assert_foc(&nash.prices, &[2.0; 3], &[1.0; 3], 0.0, 0.25);
    assert_mutual_best_response(&nash.prices, &[2.0; 3], &[1.0; 3], 0.0, 0.25);
    // With three firms the common monopoly markup m solves
    // m/μ = 1 + ω(ln 3 + (a − c)/μ − a0/μ − 1) = 1 + ω(3 + ln 3) = 4, as
    // ω(3 + ln 3) = 3; so p^M = 2 exactly, where every share is
    // e^0/(3e^0 + e^0) = 1/4 and π^M = (2 − 1)/4.
    for p in &mono.prices {
        assert!((p - 2.0).abs() < 1e-12, "p^M = {p}");
    }
    assert!((mono.mean_profit() - 0.25).abs() < 1e-12);
    let p_m = symmetric_monopoly(3, 2.0, 1.0, 0.0, 0.25);
    assert!((p_m - 2.0).abs() < 1e-7, "golden section {p_m}");
    // Fewer firms, higher Nash prices.
    let two = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25)
        .unwrap()
        .nash()
        .unwrap();
    assert!(nash.prices[0] < two.prices[0]);
}

#[test]
fn asymmetric_firms() {
    let (a, c, a0, mu) = ([2.0, 2.3, 1.8], [1.0, 0.9, 1.2], 0.3, 0.4);
    let m = PostedMarket::new(a.to_vec(), c.to_vec(), a0, mu, 1.0).unwrap();
    let nash = m.nash().unwrap();
    assert_foc(&nash.prices, &a, &c, a0, mu);
    assert_mutual_best_response(&nash.prices, &a, &c, a0, mu);
    // The best response of seller 1 to the others' Nash prices is its own.
    let br = m.best_response(1, &nash.prices).unwrap();
    assert!((br - nash.prices[1]).abs() < 1e-12);

    let mono = m.monopoly().unwrap();
    let best = joint(&mono.prices, &a, &c, a0, mu);
    // Every seller's markup is the same at the joint optimum …
    let markup = mono.prices[0] - c[0];
    for (p, c) in mono.prices.iter().zip(&c) {
        assert!((p - c - markup).abs() < 1e-12);
    }
    // … the joint gradient vanishes (central differences) …
    for i in 0..3 {
        let h = 1e-5;
        let mut up = mono.prices.clone();
        let mut down = mono.prices.clone();
        up[i] += h;
        down[i] -= h;
        let d = (joint(&up, &a, &c, a0, mu) - joint(&down, &a, &c, a0, mu)) / (2.0 * h);
        assert!(d.abs() < 1e-9, "∂Π/∂p_{i} = {d:e}");
    }
    // … and no price profile on a grid of step 0.05 around it does better.
    let steps: Vec<f64> = (-20..=20).map(|k| k as f64 * 0.05).collect();
    for d0 in &steps {
        for d1 in &steps {
            for d2 in &steps {
                let p = [
                    mono.prices[0] + d0,
                    mono.prices[1] + d1,
                    mono.prices[2] + d2,
                ];
                assert!(joint(&p, &a, &c, a0, mu) <= best + 1e-15, "{p:?}");
            }
        }
    }
    // Collusion pays every seller less than it pays them all together.
    assert!(mono.profits.iter().sum::<f64>() > nash.profits.iter().sum::<f64>());
}

#[test]
fn market_size_scales_quantities_not_prices() {
    let one = PostedMarket::new(vec![2.0, 2.0], vec![1.0, 1.0], 0.0, 0.25, 1.0).unwrap();
    let many = PostedMarket::new(vec![2.0, 2.0], vec![1.0, 1.0], 0.0, 0.25, 1000.0).unwrap();
    let (n1, n2) = (one.nash().unwrap(), many.nash().unwrap());
    assert_eq!(n1.prices, n2.prices);
    assert!((n2.profits[0] / n1.profits[0] - 1000.0).abs() < 1e-9);
}

#[test]
fn calvano_grid_and_collusion_index() {
    let m = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
    let (nash, mono) = (m.nash().unwrap(), m.monopoly().unwrap());
    let grid = price_grid(
        &GridSpec::Span { m: 15, xi: 0.1 },
        &nash.prices,
        &mono.prices,
    )
    .unwrap();
    let (p_n, p_m) = (nash.prices[0], mono.prices[0]);
    let gap = p_m - p_n;
    assert_eq!(grid.len(), 15);
    assert!((grid[0] - (p_n - 0.1 * gap)).abs() < 1e-15);
    assert!((grid[14] - (p_m + 0.1 * gap)).abs() < 1e-14);
    for w in grid.windows(2) {
        assert!((w[1] - w[0] - 1.2 * gap / 14.0).abs() < 1e-14);
    }
    // ≈ 1.4277 … 1.9702 (Calvano et al.'s grid).
    assert!((grid[0] - 1.4277).abs() < 1e-4 && (grid[14] - 1.9702).abs() < 1e-4);
    let (pi_n, pi_m) = (nash.mean_profit(), mono.mean_profit());
    assert_eq!(collusion_index(pi_n, pi_n, pi_m), 0.0);
    assert_eq!(collusion_index(pi_m, pi_n, pi_m), 1.0);
    assert!((collusion_index(0.5 * (pi_n + pi_m), pi_n, pi_m) - 0.5).abs() < 1e-15);
    let listed = price_grid(&GridSpec::List(vec![1.5, 1.7]), &[], &[]).unwrap();
    assert_eq!(listed, vec![1.5, 1.7]);
}

#[test]
fn equilibria_hold_over_random_markets() {
    use agora::rng::AgentRng;
    use rand::{RngExt, SeedableRng};
    let mut rng = AgentRng::seed_from_u64(16);
    for case in 0..300 {
        let n = 1 + case % 5;
        let a: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..3.0)).collect();
        let c: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..2.0)).collect();
        let a0 = rng.random_range(-1.0..1.0);
        let mu = rng.random_range(0.05..2.0);
        let m = PostedMarket::new(a.clone(), c.clone(), a0, mu, 1.0).unwrap();
        let nash = m.nash().unwrap();
        for (i, c_i) in c.iter().enumerate() {
            let q = share(i, &nash.prices, &a, a0, mu);
            let r = nash.prices[i] - c_i - mu / (1.0 - q);
            assert!(r.abs() < 1e-9, "case {case}: seller {i} FOC off by {r:e}");
        }
        let mono = m.monopoly().unwrap();
        for i in 0..n {
            let h = 1e-5;
            let mut up = mono.prices.clone();
            let mut down = mono.prices.clone();
            up[i] += h;
            down[i] -= h;
            let d = (joint(&up, &a, &c, a0, mu) - joint(&down, &a, &c, a0, mu)) / (2.0 * h);
            assert!(d.abs() < 1e-8, "case {case}: ∂Π/∂p_{i} = {d:e}");
        }
        // Joint profit at the monopoly prices is at least that at Nash, and
        // one seller alone is its own monopolist.
        assert!(joint(&mono.prices, &a, &c, a0, mu) >= joint(&nash.prices, &a, &c, a0, mu));
        if n == 1 {
            assert!((nash.prices[0] - mono.prices[0]).abs() < 1e-9);
        }
    }
}

#[test]
fn sellers_alike_get_the_same_nash_price_to_the_bit() {
    // The iteration runs to its float fixed point, so sellers with the same
    // quality and cost end on the same price, not one an ulp off another
    // (Calvano's market, a = 2, c = 1, μ = 0.25, did end an ulp apart when
    // the iteration stopped at a relative move of 1e-15).
    let mut cases = 0;
    for n in 2..=5 {
        for (a, c) in [
            (2.0, 1.0),
            (1.0, 0.0),
            (10.0, 3.0),
            (1000.0, 990.0),
            (0.3, 0.7),
        ] {
            for a0 in [0.0, -1.0, 2.0] {
                for mu in [0.01, 0.25, 1.0, 5.0] {
                    let m = PostedMarket::symmetric(n, a, c, a0, mu).unwrap();
                    let nash = m.nash().unwrap();
                    let p = &nash.prices;
                    assert!(
                        p.iter().all(|x| x.to_bits() == p[0].to_bits()),
                        "n {n}, a {a}, c {c}, a0 {a0}, μ {mu}: {p:?}"
                    );
                    assert!(m.foc_residual(p).unwrap() < 1e-12);
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 4 * 5 * 3 * 4);
}

#[test]
fn a_market_whose_equilibrium_floats_cannot_hold_is_refused() {
    // Qualities 1e308 apart on μ = 1e-300: every utility (a − p)/μ
    // overflows, the first-order conditions cannot hold, and the search says
    // so rather than return prices.
    let m = PostedMarket::new(vec![1e308, 0.0], vec![0.0, 0.0], 0.0, 1e-300, 1.0).unwrap();
    assert_eq!(
        m.nash().unwrap_err().to_string(),
        "the Nash equilibrium of the posted-price market was not found \
         (first-order conditions off by inf)"
    );
    // Costs ±1e300 on an ordinary market: the same.
    let m = PostedMarket::new(vec![2.0, 2.0], vec![1e300, -1e300], 0.0, 0.25, 1.0).unwrap();
    assert!(m.nash().is_err());
    // Next to them, μ = 1e-300 on an ordinary market is Bertrand's limit:
    // both sellers price at cost.
    let m = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 1e-300).unwrap();
    assert_eq!(m.nash().unwrap().prices, vec![1.0, 1.0]);
}
