//! Benchmark of the exact equilibrium solvers ([`agora::games::solve`]):
//! the time to find every equilibrium of random games up to 12×12, one
//! core.
//!
//! Two kinds of random game, 5 of each size, from a seeded xoshiro256++:
//! integer payoffs uniform in 0..=99 (what a hand-written game file
//! holds), and payoffs uniform in [0, 1) with all 53 bits (the hardest case
//! for exact arithmetic: each payoff is an integer of up to 53 bits over a
//! power of two). Random integer games are mostly degenerate (ties), so
//! they take the exact integer walk; real ones take the f64 pass. Each
//! game is solved by `all`, `support` (up to 10×10) and `lemke-howson`
//! (each of which includes the vertex enumeration that decides
//! degeneracy); the figure is the median over the games of the best of 3
//! runs, with the median number of equilibria and of vertices of the row
//! player's best-response polytope.
//!
//! ```text
//! cargo bench -p agora --bench games
//! AGORA_BENCH_QUICK=1 cargo bench -p agora --bench games   # smoke test
//! ```
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it only says how
//! to run it.

#[allow(dead_code)]
mod common;

use std::time::{Duration, Instant};

use agora::games::solve::vertex_enumeration;
use agora::games::{solve, Matrix, Method, NormalFormGame};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

const GAMES: usize = 5;

#[derive(Clone, Copy)]
enum Payoffs {
    Integers,
    Reals,
}

fn random_game(n: usize, payoffs: Payoffs, rng: &mut Xoshiro256PlusPlus) -> NormalFormGame {
    let mut draw = |_| match payoffs {
        Payoffs::Integers => f64::from(rng.random_range(0..100u32)),
        Payoffs::Reals => rng.random::<f64>(),
    };
    let a: Vec<f64> = (0..n * n).map(&mut draw).collect();
    let b: Vec<f64> = (0..n * n).map(&mut draw).collect();
    let (Some(a), Some(b)) = (Matrix::new(n, n, a), Matrix::new(n, n, b)) else {
        unreachable!("n × n entries")
    };
    NormalFormGame::new("random", a, b).unwrap_or_else(|e| panic!("{e}"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let Some(quick) = common::quick_or_skip("games") else {
        return;
    };
    let sizes: &[usize] = if quick { &[4, 6] } else { &[4, 8, 10, 12] };
    println!("exact equilibria of random n x n games: median over {GAMES} games of the best of 3 runs, one core");
    println!(
        "{:>8} {:>3} {:>10} {:>11} {:>9} {:>11} {:>11} {:>12}",
        "payoffs", "n", "equilibria", "degenerate", "vertices", "all", "support", "lemke-howson"
    );
    for payoffs in [Payoffs::Integers, Payoffs::Reals] {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20261217);
        for &n in sizes {
            let games: Vec<NormalFormGame> = (0..GAMES)
                .map(|_| random_game(n, payoffs, &mut rng))
                .collect();
            let time = |method: Method| -> Duration {
                median(
                    games
                        .iter()
                        .map(|g| {
                            common::fastest(
                                3,
                                |_| {
                                    let t = Instant::now();
                                    let s = solve(g, method).unwrap_or_else(|e| panic!("{e}"));
                                    (t.elapsed(), s.equilibria.len())
                                },
                                |r| r.0,
                            )
                            .0
                        })
                        .collect(),
                )
            };
            let counts: Vec<(usize, bool, usize)> = games
                .iter()
                .map(|g| {
                    let v = vertex_enumeration(g).unwrap_or_else(|e| panic!("{e}"));
                    (v.equilibria.len(), v.degenerate, v.row_vertices)
                })
                .collect();
            let mut eq: Vec<usize> = counts.iter().map(|c| c.0).collect();
            eq.sort();
            let degenerate = counts.iter().filter(|c| c.1).count();
            let mut vertices: Vec<usize> = counts.iter().map(|c| c.2).collect();
            vertices.sort();
            let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1e3);
            let support = if n <= 10 {
                ms(time(Method::Support))
            } else {
                "-".into()
            };
            println!(
                "{:>8} {:>3} {:>10} {:>11} {:>9} {:>11} {:>11} {:>12}",
                match payoffs {
                    Payoffs::Integers => "0..99",
                    Payoffs::Reals => "[0,1)",
                },
                n,
                eq[GAMES / 2],
                format!("{degenerate}/{GAMES}"),
                vertices[GAMES / 2],
                ms(time(Method::All)),
                support,
                ms(time(Method::LemkeHowson)),
            );
        }
    }
}
