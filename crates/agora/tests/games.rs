//! Normal-form games against theory: equilibria derived by hand, the
//! 2ⁿ − 1 equilibria of coordination games, closed-form solutions of the
//! replicator equation, fictitious play's convergence in zero-sum games and
//! its cycling in Shapley's game, and nashpy's results on random games.

use agora::games::dynamics::{discrete_replicator_step, logit, Populations};
use agora::games::solve::{
    lemke_howson, pure_equilibria, support_enumeration, support_equilibrium, vertex_enumeration,
};
use agora::games::{
    best_responses, evolve, game_example, game_examples, regret, solve, Dynamics, Equilibrium,
    EvolveSpec, Matrix, Method, Mutation, NormalFormGame, Player, Rational,
};
use proptest::prelude::*;

fn matrix(rows: &[&[f64]]) -> Matrix {
    Matrix::from_rows(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>()).unwrap()
}

fn game(a: &[&[f64]], b: &[&[f64]]) -> NormalFormGame {
    NormalFormGame::new("test", matrix(a), matrix(b)).unwrap()
}

fn q(text: &str) -> Rational {
    Rational::parse(text).unwrap()
}

fn qs(texts: &[&str]) -> Vec<Rational> {
    texts.iter().map(|t| q(t)).collect()
}

/// The exact strategies and payoffs of an equilibrium, for comparison with
/// hand-derived values.
fn exact(e: &Equilibrium) -> (Vec<Rational>, Vec<Rational>, [Rational; 2]) {
    (
        e.exact_row.clone(),
        e.exact_column.clone(),
        e.exact_payoffs.clone(),
    )
}

fn expected(
    row: &[&str],
    column: &[&str],
    payoffs: [&str; 2],
) -> (Vec<Rational>, Vec<Rational>, [Rational; 2]) {
    (qs(row), qs(column), [q(payoffs[0]), q(payoffs[1])])
}

/// Every method that claims all equilibria of a nondegenerate game.
fn complete_methods(g: &NormalFormGame) -> Vec<Vec<Equilibrium>> {
    [Method::All, Method::Vertex, Method::Support]
        .into_iter()
        .map(|m| solve(g, m).unwrap().equilibria)
        .collect()
}

/// The largest regret of either player at an equilibrium, relative to the
/// payoffs' magnitude.
fn relative_regret(g: &NormalFormGame, e: &Equilibrium) -> f64 {
    let scale = g
        .row_payoffs()
        .data()
        .iter()
        .chain(g.column_payoffs().data())
        .fold(1.0f64, |s, x| s.max(x.abs()));
    let r = regret(g, &e.row, &e.column);
    r[0].max(r[1]) / scale
}

#[test]
fn nashpy_readme_game_has_exactly_three_equilibria() {
    // A = [[1,2],[3,0]], B = [[0,2],[3,1]]. Pure: (row 0, column 1) pays
    // (2,2): row 0 is best against column 1 (2 > 0) and column 1 against
    // row 0 (2 > 0); (row 1, column 0) pays (3,3) likewise; the other two
    // cells are not. Mixed: the column player makes the row player
    // indifferent, y0 + 2y1 = 3y0, so y = (1/2, 1/2) and u_row = 3/2; the
    // row player makes the column player indifferent, 3x1 = 2x0 + x1, so
    // x = (1/2, 1/2) and u_column = 3/2.
    let g = game(&[&[1.0, 2.0], &[3.0, 0.0]], &[&[0.0, 2.0], &[3.0, 1.0]]);
    let want = vec![
        expected(&["1", "0"], &["0", "1"], ["2", "2"]),
        expected(&["0", "1"], &["1", "0"], ["3", "3"]),
        expected(&["1/2", "1/2"], &["1/2", "1/2"], ["3/2", "3/2"]),
    ];
    for found in complete_methods(&g) {
        assert_eq!(found.iter().map(exact).collect::<Vec<_>>(), want);
    }
    let solution = solve(&g, Method::All).unwrap();
    assert!(!solution.degenerate);
    assert_eq!(solution.equilibria[2].row, [0.5, 0.5]);
    let pure: Vec<_> = pure_equilibria(&g).unwrap().iter().map(exact).collect();
    assert_eq!(pure, want[..2]);
}

#[test]
fn matching_pennies_and_rock_paper_scissors_have_only_the_uniform_equilibrium() {
    for (name, n) in [("matching-pennies", 2usize), ("rock-paper-scissors", 3)] {
        let g = game_example(name).unwrap();
        let uniform = vec![Rational::new(1.into(), (n as i64).into()).unwrap(); n];
        for found in complete_methods(&g) {
            assert_eq!(found.len(), 1, "{name}");
            assert_eq!(found[0].exact_row, uniform, "{name}");
            assert_eq!(found[0].exact_column, uniform, "{name}");
            assert_eq!(found[0].exact_payoffs, [Rational::zero(), Rational::zero()]);
        }
        assert!(pure_equilibria(&g).unwrap().is_empty());
        for label in 0..2 * n {
            assert_eq!(lemke_howson(&g, label).unwrap().exact_row, uniform);
        }
    }
}

#[test]
fn coordination_game_has_two_to_the_n_minus_one_equilibria() {
    // A = B = I: for every nonempty set S of strategies, both uniform on S
    // is an equilibrium (each strategy of S pays 1/|S|, the others 0), and
    // there are no others.
    for n in 1..=8usize {
        let identity: Vec<Vec<f64>> = (0..n)
            .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
            .collect();
        let a = Matrix::from_rows(&identity).unwrap();
        let g = NormalFormGame::new("coordination", a.clone(), a).unwrap();
        let mut methods = vec![Method::All];
        if n <= 6 {
            methods.push(Method::Support);
        }
        for method in methods {
            let solution = solve(&g, method).unwrap();
            assert!(!solution.degenerate, "n = {n}");
            assert_eq!(solution.equilibria.len(), (1 << n) - 1, "n = {n}, {method}");
            let mut supports: Vec<Vec<usize>> = Vec::new();
            for e in &solution.equilibria {
                let s = e.row_support();
                assert_eq!(e.column_support(), s);
                let share = Rational::new(1.into(), (s.len() as i64).into()).unwrap();
                for i in 0..n {
                    let want = if s.contains(&i) {
                        share.clone()
                    } else {
                        Rational::zero()
                    };
                    assert_eq!(e.exact_row[i], want);
                    assert_eq!(e.exact_column[i], want);
                }
                assert_eq!(e.exact_payoffs, [share.clone(), share]);
                supports.push(s);
            }
            supports.sort();
            supports.dedup();
            assert_eq!(supports.len(), (1 << n) - 1);
        }
    }
}

/// An equilibrium written as fractions: row, column, payoffs.
type HandDerived<'a> = (&'a [&'a str], &'a [&'a str], [&'a str; 2]);

#[test]
fn examples_have_their_hand_derived_equilibria() {
    let cases: &[(&str, &[HandDerived])] = &[
        // Hawk-dove: f_hawk = -25x + 50(1-x), f_dove = 15(1-x) are equal at
        // x = 7/12, each then earning 15·5/12 = 25/4.
        (
            "hawk-dove",
            &[
                (&["1", "0"], &["0", "1"], ["50", "0"]),
                (&["0", "1"], &["1", "0"], ["0", "50"]),
                (&["7/12", "5/12"], &["7/12", "5/12"], ["25/4", "25/4"]),
            ],
        ),
        (
            "prisoners-dilemma",
            &[(&["0", "1"], &["0", "1"], ["1", "1"])],
        ),
        // Stag hunt: 4q = 3q + 2(1-q) at q = 2/3, paying 8/3.
        (
            "stag-hunt",
            &[
                (&["1", "0"], &["1", "0"], ["4", "4"]),
                (&["0", "1"], &["0", "1"], ["2", "2"]),
                (&["2/3", "1/3"], &["2/3", "1/3"], ["8/3", "8/3"]),
            ],
        ),
        // Battle of the sexes: the row player is indifferent when
        // 3q = 2(1-q), q = 2/5; the column player when 2p = 3(1-p), p = 3/5.
        (
            "battle-of-the-sexes",
            &[
                (&["1", "0"], &["1", "0"], ["3", "2"]),
                (&["0", "1"], &["0", "1"], ["2", "3"]),
                (&["3/5", "2/5"], &["2/5", "3/5"], ["6/5", "6/5"]),
            ],
        ),
        // Shapley: no pure equilibrium, and the only mixed one is uniform
        // (A = I makes the row player indifferent only on uniform y).
        (
            "shapley",
            &[(
                &["1/3", "1/3", "1/3"],
                &["1/3", "1/3", "1/3"],
                ["1/3", "1/3"],
            )],
        ),
    ];
    for (name, want) in cases {
        let g = game_example(name).unwrap();
        let want: Vec<_> = want.iter().map(|(r, c, p)| expected(r, c, *p)).collect();
        for found in complete_methods(&g) {
            assert_eq!(found.iter().map(exact).collect::<Vec<_>>(), want, "{name}");
        }
    }
    assert_eq!(
        solve(&game_example("coordination-3").unwrap(), Method::All)
            .unwrap()
            .equilibria
            .len(),
        7
    );
    assert!(game_examples().len() >= 6);
}

#[test]
fn a_degenerate_game_is_detected_with_its_extreme_equilibria() {
    // A = [[3,3],[2,5],[0,6]], B = [[3,3],[2,6],[3,1]] (von Stengel 2002's
    // example made degenerate): against the top row the column player is
    // indifferent. With y = (1-q, q) the rows pay 3, 2 + 3q, 6q: the top row
    // is best for q ≤ 1/3, so (e0, y) is an equilibrium for all q in
    // [0, 1/3] (extreme points q = 0 and q = 1/3). At q = 2/3 rows 1 and 2
    // tie, and x = (0, p, 1-p) makes the columns tie when 3 - p = 1 + 5p,
    // p = 1/3: payoffs 6q = 4 and 3 - p = 8/3. No other q works.
    let g = game(
        &[&[3.0, 3.0], &[2.0, 5.0], &[0.0, 6.0]],
        &[&[3.0, 3.0], &[2.0, 6.0], &[3.0, 1.0]],
    );
    let solution = solve(&g, Method::All).unwrap();
    assert!(solution.degenerate);
    let mut found: Vec<_> = solution.equilibria.iter().map(exact).collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    assert_eq!(
        found,
        vec![
            expected(&["0", "1/3", "2/3"], &["1/3", "2/3"], ["4", "8/3"]),
            expected(&["1", "0", "0"], &["2/3", "1/3"], ["3", "3"]),
            expected(&["1", "0", "0"], &["1", "0"], ["3", "3"]),
        ]
    );
    // The nondegenerate original, B = [[3,2],[2,6],[3,1]], is not flagged.
    let original = game(
        &[&[3.0, 3.0], &[2.0, 5.0], &[0.0, 6.0]],
        &[&[3.0, 2.0], &[2.0, 6.0], &[3.0, 1.0]],
    );
    let solution = solve(&original, Method::All).unwrap();
    assert!(!solution.degenerate);
    // Its three equilibria (von Stengel 2002, section 2.3).
    assert_eq!(
        solution.equilibria.iter().map(exact).collect::<Vec<_>>(),
        vec![
            expected(&["1", "0", "0"], &["1", "0"], ["3", "3"]),
            expected(&["4/5", "1/5", "0"], &["2/3", "1/3"], ["3", "14/5"]),
            expected(&["0", "1/3", "2/3"], &["1/3", "2/3"], ["4", "8/3"]),
        ]
    );
    // A game with a constant payoff for one player is as degenerate as can
    // be: every pure strategy of the other player is an equilibrium move.
    let constant = game(&[&[1.0, 1.0], &[1.0, 1.0]], &[&[2.0, 0.0], &[0.0, 2.0]]);
    let solution = solve(&constant, Method::All).unwrap();
    assert!(solution.degenerate);
    for e in &solution.equilibria {
        assert!(relative_regret(&constant, e) == 0.0);
    }
}

#[test]
fn support_checks_are_exact() {
    let g = game_example("hawk-dove").unwrap();
    let mixed = support_equilibrium(&g, &[0, 1], &[0, 1]).unwrap().unwrap();
    assert_eq!(mixed.exact_row, qs(&["7/12", "5/12"]));
    assert!(support_equilibrium(&g, &[0], &[0]).unwrap().is_none());
    assert_eq!(
        support_equilibrium(&g, &[0], &[1]).unwrap().unwrap().row,
        [1.0, 0.0]
    );
    assert!(support_equilibrium(&g, &[0, 1], &[0]).is_err());
    assert!(support_equilibrium(&g, &[1, 0], &[0, 1]).is_err());
    assert!(support_equilibrium(&g, &[0, 2], &[0, 1]).is_err());
}

#[test]
fn best_responses_are_exact() {
    let g = game_example("hawk-dove").unwrap();
    // Against 7/12 hawk both strategies pay 25/4 exactly.
    let br = best_responses(&g, Player::Row, &qs(&["7/12", "5/12"]), "opponent").unwrap();
    assert_eq!(br.best, [0, 1]);
    assert_eq!(br.exact_payoffs, qs(&["25/4", "25/4"]));
    // A hair more hawks and dove alone is best.
    let br = best_responses(&g, Player::Column, &qs(&["0.5834", "0.4166"]), "opponent").unwrap();
    assert_eq!(br.best, [1]);
}

#[test]
fn one_discrete_replicator_step_gives_two_thirteenths() {
    let a = matrix(&[&[4.0, 3.0], &[2.0, 5.0]]);
    let g = NormalFormGame::symmetric("issue", a).unwrap();
    let spec = EvolveSpec::new(Dynamics::DiscreteReplicator, vec![0.2, 0.8], None, 1.0);
    let out = evolve(&g, &spec).unwrap();
    assert_eq!(out.times, [0.0, 1.0]);
    let x = out.final_x();
    assert!((x[0] - 2.0 / 13.0).abs() < 1e-15, "{x:?}");
    assert!((x[1] - 11.0 / 13.0).abs() < 1e-15, "{x:?}");
    assert_eq!(
        discrete_replicator_step(&[0.2, 0.8], &[3.2, 4.4]).unwrap(),
        x
    );
}

/// The time the hawk-dove replicator equation ẋ = x(1-x)(35 - 60x) takes
/// from x0 to x, by partial fractions: 1/(x(1-x)(35-60x)) = (1/35)/x -
/// (1/25)/(1-x) + (144/35)/(35-60x).
fn hawk_dove_time(x0: f64, x: f64) -> f64 {
    (x / x0).ln() / 35.0 + ((1.0 - x) / (1.0 - x0)).ln() / 25.0
        - (144.0 / 35.0 / 60.0) * ((35.0 - 60.0 * x).abs() / (35.0 - 60.0 * x0).abs()).ln()
}

/// Solves hawk_dove_time(x0, x) = t for x between x0 and 7/12 by bisection.
fn hawk_dove_closed_form(x0: f64, t: f64) -> f64 {
    let (mut lo, mut hi) = (x0.min(7.0 / 12.0), x0.max(7.0 / 12.0));
    let increasing = x0 < 7.0 / 12.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let early = hawk_dove_time(x0, mid) < t;
        if early == increasing {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn replicator_on_hawk_dove_follows_the_closed_form_and_approaches_seven_twelfths() {
    let g = game_example("hawk-dove").unwrap();
    for x0 in [0.01, 0.2, 0.5, 0.9, 0.999] {
        let mut spec = EvolveSpec::new(Dynamics::Replicator, vec![x0, 1.0 - x0], None, 2.0);
        spec.samples = 20;
        let out = evolve(&g, &spec).unwrap();
        assert_eq!(out.populations, Populations::One);
        for (t, x) in out.times.iter().zip(&out.x).skip(1) {
            let want = hawk_dove_closed_form(x0, *t);
            assert!(
                (x[0] - want).abs() < 1e-8,
                "x0 {x0}, t {t}: {} vs {want}",
                x[0]
            );
            assert!((x[0] + x[1] - 1.0).abs() < 1e-12);
        }
        let spec = EvolveSpec::new(Dynamics::Replicator, vec![x0, 1.0 - x0], None, 10.0);
        let x = evolve(&g, &spec).unwrap().final_x()[0];
        assert!((x - 7.0 / 12.0).abs() < 1e-8, "x0 {x0}: {x}");
    }
}

#[test]
fn replicator_follows_the_logistic_curve() {
    // A = [[2,1],[1,0]]: the first strategy earns 1 more against anything,
    // so ẋ = x(1-x) and x(t) = x0 e^t / (1 - x0 + x0 e^t).
    let g = NormalFormGame::symmetric("logistic", matrix(&[&[2.0, 1.0], &[1.0, 0.0]])).unwrap();
    let mut spec = EvolveSpec::new(Dynamics::Replicator, vec![0.01, 0.99], None, 15.0);
    spec.samples = 30;
    let out = evolve(&g, &spec).unwrap();
    for (t, x) in out.times.iter().zip(&out.x) {
        let e = t.exp();
        let want = 0.01 * e / (0.99 + 0.01 * e);
        assert!((x[0] - want).abs() < 1e-8, "t {t}: {} vs {want}", x[0]);
    }
}

#[test]
fn two_population_replicator_conserves_the_zero_sum_constant_of_motion() {
    // In matching pennies (interior equilibrium x* = y* = (1/2, 1/2)), the
    // two-population replicator equation conserves Σ x*_i ln x_i + Σ y*_j
    // ln y_j (Hofbauer and Sigmund 1998, section 10.5): orbits are closed.
    let g = game_example("matching-pennies").unwrap();
    let mut spec = EvolveSpec::new(
        Dynamics::Replicator,
        vec![0.8, 0.2],
        Some(vec![0.3, 0.7]),
        30.0,
    );
    spec.samples = 300;
    let out = evolve(&g, &spec).unwrap();
    assert_eq!(out.populations, Populations::Two);
    let h = |x: &[f64], y: &[f64]| 0.5 * (x[0] * x[1]).ln() + 0.5 * (y[0] * y[1]).ln();
    let h0 = h(&out.x[0], &out.y[0]);
    for (x, y) in out.x.iter().zip(&out.y) {
        assert!((h(x, y) - h0).abs() < 1e-8, "{} vs {h0}", h(x, y));
    }
}

#[test]
fn mutation_drives_a_neutral_game_to_the_stationary_distribution() {
    // All payoffs equal: only mutation acts, ẋ0 = -a x0 + b x1, so
    // x0(t) = b/(a+b) + (x0(0) - b/(a+b)) e^{-(a+b)t}.
    let g = NormalFormGame::symmetric("neutral", matrix(&[&[1.0, 1.0], &[1.0, 1.0]])).unwrap();
    let (a, b) = (0.1, 0.3);
    let mutation = Mutation::from_toml_str(
        &format!("mutation = [[{}, {a}], [{b}, {}]]", 1.0 - a, 1.0 - b),
        "mut.toml",
    )
    .unwrap();
    let mut spec = EvolveSpec::new(Dynamics::Replicator, vec![0.9, 0.1], None, 20.0);
    spec.mutation = Some(mutation.clone());
    spec.samples = 10;
    let out = evolve(&g, &spec).unwrap();
    let stationary = b / (a + b);
    for (t, x) in out.times.iter().zip(&out.x) {
        let want = stationary + (0.9 - stationary) * (-(a + b) * t).exp();
        assert!((x[0] - want).abs() < 1e-8, "t {t}: {} vs {want}", x[0]);
    }
    // The discrete form: x' = xQ each round, so x0 moves by the factor
    // (1 - a - b) towards the stationary share.
    let mut spec = EvolveSpec::new(Dynamics::DiscreteReplicator, vec![0.9, 0.1], None, 5.0);
    spec.mutation = Some(mutation);
    let out = evolve(&g, &spec).unwrap();
    let want = stationary + (0.9 - stationary) * (1.0 - a - b).powi(5);
    assert!((out.final_x()[0] - want).abs() < 1e-14);
}

#[test]
fn fictitious_play_converges_in_rock_paper_scissors_and_cycles_in_shapleys_game() {
    // Robinson (1951): in zero-sum games the empirical frequencies converge
    // to the equilibrium. Shapley (1964): in his game they cycle through
    // the six cells with ever longer runs and never settle.
    let rounds = 200_000.0;
    let max_deviation = |out: &agora::games::Trajectory, from: usize| -> f64 {
        out.x[from..]
            .iter()
            .chain(&out.y[from..])
            .flat_map(|s| s.iter().map(|v| (v - 1.0 / 3.0).abs()))
            .fold(0.0, f64::max)
    };
    let rps = game_example("rock-paper-scissors").unwrap();
    for y0 in [None, Some(vec![0.2, 0.5, 0.3])] {
        let spec = EvolveSpec::new(Dynamics::FictitiousPlay, vec![1.0, 0.0, 0.0], y0, rounds);
        let out = evolve(&rps, &spec).unwrap();
        // Over the last half of the run, every frequency within 0.01.
        assert!(max_deviation(&out, out.times.len() / 2) < 0.01);
    }
    let shapley = game_example("shapley").unwrap();
    let start = vec![1.0 / 3.0; 3];
    let spec = EvolveSpec::new(Dynamics::FictitiousPlay, start.clone(), Some(start), rounds);
    let out = evolve(&shapley, &spec).unwrap();
    // Late in the run, the frequencies still swing far from 1/3.
    assert!(max_deviation(&out, out.times.len() / 2) > 0.1);
    // And they keep moving by a macroscopic amount late in the run (each
    // round moves them by at most 1/k), so they converge to no point at all.
    let half = out.times.len() / 2;
    for s in 0..3 {
        let late = out.x[half..].iter().map(|x| x[s]);
        let range = late.clone().fold(f64::MIN, f64::max) - late.fold(f64::MAX, f64::min);
        assert!(range > 0.1, "strategy {s}: {range}");
    }
}

#[test]
fn fictitious_play_breaks_ties_by_the_lowest_index() {
    // From the uniform belief in rock-paper-scissors every strategy ties,
    // so round 1 plays rock: frequencies (1/3 + 1)/2, (1/3)/2, (1/3)/2.
    let g = game_example("rock-paper-scissors").unwrap();
    let spec = EvolveSpec::new(Dynamics::FictitiousPlay, vec![1.0 / 3.0; 3], None, 1.0);
    let x = evolve(&g, &spec).unwrap().final_x().to_vec();
    assert_eq!(
        x,
        [
            (1.0 / 3.0 + 1.0) / 2.0,
            (1.0 / 3.0) / 2.0,
            (1.0 / 3.0) / 2.0
        ]
    );
}

/// The symmetric logit equilibrium of the prisoner's dilemma with noise η:
/// the cooperating share x solves x = 1 / (1 + e^{(f_D − f_C)/η}) with
/// f_C = 3x and f_D = 5x + (1 − x), so f_D − f_C = 1 + x.
fn prisoners_logit_equilibrium(eta: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid < 1.0 / (1.0 + ((1.0 + mid) / eta).exp()) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn logit_dynamics_rest_at_the_logit_equilibrium() {
    let g = game_example("prisoners-dilemma").unwrap();
    let eta = 0.8;
    let want = prisoners_logit_equilibrium(eta);
    let spec = EvolveSpec::new(Dynamics::Logit { eta }, vec![0.9, 0.1], None, 60.0);
    let x = evolve(&g, &spec).unwrap().final_x()[0];
    assert!((x - want).abs() < 1e-8, "{x} vs {want}");
    // The library's logit choice agrees with the closed form there.
    let p = logit(&[3.0 * want, 1.0 + 4.0 * want], eta)[0];
    assert!((p - 1.0 / (1.0 + ((1.0 + want) / eta).exp())).abs() < 1e-15);
}

#[test]
fn stochastic_fictitious_play_is_seeded_and_approaches_the_logit_equilibrium() {
    let g = game_example("prisoners-dilemma").unwrap();
    let eta = 0.8;
    let run = |seed| {
        let spec = EvolveSpec::new(
            Dynamics::StochasticFictitiousPlay { eta, seed },
            vec![0.5, 0.5],
            None,
            200_000.0,
        );
        evolve(&g, &spec).unwrap()
    };
    let (a, b, c) = (run(1), run(1), run(2));
    assert_eq!(a, b);
    assert_ne!(a.final_x(), c.final_x());
    // Stochastic approximation: the frequencies track the smooth
    // best-response flow, which rests at the logit equilibrium; the
    // sampling error after 200,000 rounds is about 1/sqrt(200,000) ≈ 0.002.
    let want = prisoners_logit_equilibrium(eta);
    for out in [a, c] {
        assert!(
            (out.final_x()[0] - want).abs() < 0.01,
            "{} vs {want}",
            out.final_x()[0]
        );
    }
}

#[test]
fn best_response_dynamics_settle_at_the_mixed_equilibrium_of_hawk_dove() {
    // Below 7/12 hawks the best response is hawk, above it dove: the flow
    // reaches 7/12 and stays within one recomputation step of it.
    let g = game_example("hawk-dove").unwrap();
    for x0 in [0.05, 0.95] {
        let spec = EvolveSpec::new(Dynamics::BestResponse, vec![x0, 1.0 - x0], None, 10.0);
        let x = evolve(&g, &spec).unwrap().final_x()[0];
        assert!((x - 7.0 / 12.0).abs() < 2.0 * spec.dt, "{x}");
    }
    // Away from ties it is the exact exponential: from 0.05, x(t) = 1 -
    // 0.95 e^{-t} until 7/12 is reached, at t = ln(0.95 / (5/12)).
    let mut spec = EvolveSpec::new(Dynamics::BestResponse, vec![0.05, 0.95], None, 0.5);
    spec.samples = 5;
    let out = evolve(&g, &spec).unwrap();
    for (t, x) in out.times.iter().zip(&out.x) {
        assert!((x[0] - (1.0 - 0.95 * (-t).exp())).abs() < 1e-12, "t {t}");
    }
}

#[test]
fn evolve_rejects_bad_input_naming_the_field() {
    let hd = game_example("hawk-dove").unwrap();
    let shapley = game_example("shapley").unwrap();
    let err = |g: &NormalFormGame, spec: EvolveSpec| evolve(g, &spec).unwrap_err().to_string();
    let rep = |x0: Vec<f64>, t: f64| EvolveSpec::new(Dynamics::Replicator, x0, None, t);
    assert_eq!(
        err(&hd, rep(vec![0.5, 0.6], 1.0)),
        "x0: shares must sum to 1 (within 1e-9), found 1.1"
    );
    assert_eq!(
        err(&hd, rep(vec![1.5, -0.5], 1.0)),
        "x0: share 2 is -0.5; shares must be nonnegative numbers"
    );
    assert_eq!(
        err(&hd, rep(vec![1.0], 1.0)),
        "x0: expected 2 shares (one per row strategy), found 1"
    );
    assert_eq!(
        err(&hd, rep(vec![0.5, 0.5], 0.0)),
        "t: expected a time > 0, found 0"
    );
    assert_eq!(
        err(&hd, rep(vec![0.5, 0.5], -1.0)),
        "t: expected a time > 0, found -1"
    );
    assert!(err(
        &shapley,
        EvolveSpec::new(Dynamics::Replicator, vec![1.0 / 3.0; 3], None, 1.0)
    )
    .starts_with("y0: the game is not symmetric"));
    assert_eq!(
        err(
            &shapley,
            EvolveSpec::new(
                Dynamics::Replicator,
                vec![1.0 / 3.0; 3],
                Some(vec![0.5, 0.5]),
                1.0
            )
        ),
        "y0: expected 3 shares (one per column strategy), found 2"
    );
    assert_eq!(
        err(
            &hd,
            EvolveSpec::new(Dynamics::FictitiousPlay, vec![0.5, 0.5], None, 2.5)
        ),
        "t: fictitious-play counts rounds: expected a whole number of rounds, found 2.5"
    );
    assert!(err(&hd, EvolveSpec::new(Dynamics::DiscreteReplicator, vec![0.5, 0.5], None, 2.0))
        .starts_with("discrete-replicator needs nonnegative payoffs (they are fitnesses), but game.row[0][0] is -25"));
    let mut spec = EvolveSpec::new(Dynamics::FictitiousPlay, vec![0.5, 0.5], None, 2.0);
    spec.mutation = Some(Mutation::uniform(matrix(&[&[1.0, 0.0], &[0.0, 1.0]])).unwrap());
    assert_eq!(
        err(&hd, spec),
        "mutation: applies to replicator and discrete-replicator, not fictitious-play"
    );
    let mut spec = rep(vec![0.5, 0.5], 1.0);
    spec.mutation = Some(
        Mutation::from_toml_str("mutation = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]", "m.toml").unwrap(),
    );
    assert_eq!(
        err(&hd, spec),
        "m.toml: mutation: expected a 2x2 matrix (one row and column per row strategy), found 3x3"
    );
    // Dynamics' parameters.
    assert!(Dynamics::from_name("logit", None, None)
        .unwrap_err()
        .to_string()
        .starts_with("eta: logit needs"));
    assert!(
        Dynamics::from_name("stochastic-fictitious-play", Some(0.1), None)
            .unwrap_err()
            .to_string()
            .starts_with("seed:")
    );
    assert!(Dynamics::from_name("replicator", Some(0.1), None).is_err());
    assert!(Dynamics::from_name("replicator", None, Some(1)).is_err());
    assert!(Dynamics::from_name("logit", Some(0.0), None).is_err());
    assert!(Dynamics::from_name("newton", None, None).is_err());
}

#[test]
fn mutation_files_are_checked() {
    let e = |text: &str| {
        Mutation::from_toml_str(text, "m.toml")
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        e("mutation = [[0.5, 0.6], [0.5, 0.5]]"),
        "m.toml: mutation[0]: a row of a mutation matrix must sum to 1 (within 1e-9), found 1.1"
    );
    assert_eq!(
        e("mutation = [[1.5, -0.5], [0.5, 0.5]]"),
        "m.toml: mutation[0][0]: expected a probability from 0 to 1, found 1.5"
    );
    assert_eq!(
        e("mutation = [[1, 0], [0]]"),
        "m.toml: mutation[1]: expected 2 numbers (the matrix is square, with 2 rows), found 1"
    );
    assert_eq!(
        e("mutation = [[1, 0], [0, 1]]\nrate = 2"),
        "m.toml: rate: unknown field; expected one of: column, mutation, row"
    );
    assert!(e("").starts_with("m.toml: mutation: missing field"));
    assert!(e("mutation = [[1]]\nrow = [[1]]").contains("not both"));
}

/// A game given by its matrices in the nashpy reference file.
#[derive(serde::Deserialize)]
struct Reference {
    games: Vec<ReferenceGame>,
}

#[derive(serde::Deserialize)]
struct ReferenceGame {
    a: Vec<Vec<f64>>,
    b: Vec<Vec<f64>>,
    support_enumeration: Vec<(Vec<f64>, Vec<f64>)>,
    support_enumeration_tolerant: Vec<(Vec<f64>, Vec<f64>)>,
    vertex_enumeration: Vec<(Vec<f64>, Vec<f64>)>,
}

/// True if every equilibrium of `theirs` is in `ours` (within `tol`).
fn contains_all(ours: &[Equilibrium], theirs: &[(Vec<f64>, Vec<f64>)], tol: f64) -> bool {
    let close = |a: &[f64], b: &[f64]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
    };
    theirs
        .iter()
        .all(|(x, y)| ours.iter().any(|e| close(&e.row, x) && close(&e.column, y)))
}

/// True if the two lists hold the same equilibria (within `tol`), in any order.
fn same_equilibria(ours: &[Equilibrium], theirs: &[(Vec<f64>, Vec<f64>)], tol: f64) -> bool {
    ours.len() == theirs.len() && contains_all(ours, theirs, tol)
}

#[test]
fn random_games_match_nashpy() {
    // crates/agora/tests/data/nashpy_reference.py wrote this file: random
    // games of 2 to 8 strategies a side (payoffs multiples of 2^-20, so that
    // they read back exactly) with nashpy's vertex enumeration, nashpy's
    // support enumeration, and a float64 support enumeration with
    // tolerances. nashpy's support enumeration accepts an equilibrium only
    // if payoffs computed in floating point tie exactly (`==`), so it
    // misses many mixed ones (it finds 77 of the 118): its list must be
    // among ours; the two others must equal ours.
    let text = include_str!("data/nashpy_reference.json");
    let reference: Reference = serde_json::from_str(text).unwrap();
    assert!(reference.games.len() >= 30);
    let mut total = 0;
    for (k, r) in reference.games.iter().enumerate() {
        let a = Matrix::from_rows(&r.a).unwrap();
        let b = Matrix::from_rows(&r.b).unwrap();
        let g = NormalFormGame::new("random", a, b).unwrap();
        let solution = solve(&g, Method::All).unwrap();
        assert!(!solution.degenerate, "game {k}");
        assert!(
            same_equilibria(&solution.equilibria, &r.vertex_enumeration, 1e-9),
            "game {k}"
        );
        assert!(
            same_equilibria(&solution.equilibria, &r.support_enumeration_tolerant, 1e-9),
            "game {k}"
        );
        assert!(
            contains_all(&solution.equilibria, &r.support_enumeration, 1e-9),
            "game {k}"
        );
        let support = solve(&g, Method::Support).unwrap().equilibria;
        assert_eq!(support, solution.equilibria, "game {k}");
        total += solution.equilibria.len();
    }
    assert_eq!(total, 118);
}

#[test]
fn the_12x12_timing_game_is_nondegenerate_with_an_odd_number_of_equilibria() {
    // The README times `agora game solve` on this file.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/games/random-12x12.toml"
    );
    let g = NormalFormGame::from_path(path).unwrap();
    assert_eq!((g.rows(), g.columns()), (12, 12));
    let solution = solve(&g, Method::All).unwrap();
    assert!(!solution.degenerate);
    assert_eq!(solution.equilibria.len() % 2, 1);
    for e in &solution.equilibria {
        assert!(relative_regret(&g, e) <= 1e-9);
    }
}

/// A random game with payoffs drawn from `values`.
fn arb_game(
    max: usize,
    values: impl Strategy<Value = f64> + Clone,
) -> impl Strategy<Value = NormalFormGame> {
    (1..=max, 1..=max).prop_flat_map(move |(m, n)| {
        (
            prop::collection::vec(values.clone(), m * n),
            prop::collection::vec(values.clone(), m * n),
        )
            .prop_map(move |(a, b)| {
                NormalFormGame::new(
                    "arb",
                    Matrix::new(m, n, a).unwrap(),
                    Matrix::new(m, n, b).unwrap(),
                )
                .unwrap()
            })
    })
}

proptest! {
    #![proptest_config(crate::proptest_config(96))]

    /// Small integer payoffs make many ties, so many of these games are
    /// degenerate; every equilibrium must still be one.
    #[test]
    fn every_reported_equilibrium_is_a_best_response_pair(
        g in arb_game(5, (-3i32..=3).prop_map(f64::from)),
    ) {
        for method in Method::ALL {
            let solution = solve(&g, method).unwrap();
            for e in &solution.equilibria {
                prop_assert!(relative_regret(&g, e) <= 1e-9, "{method}: {e:?}");
                prop_assert!((e.row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                prop_assert!((e.column.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            }
            if method == Method::All {
                prop_assert!(!solution.equilibria.is_empty(), "Nash: every game has one");
            }
        }
    }

    /// Continuous payoffs make degeneracy unlikely; in a nondegenerate game
    /// the number of equilibria is odd (Lemke–Howson's theorem), support and
    /// vertex enumeration agree, and Lemke–Howson and the pure equilibria
    /// are among them.
    #[test]
    fn enumerations_agree_on_nondegenerate_games(
        g in arb_game(6, -10.0f64..10.0),
    ) {
        let all = solve(&g, Method::All).unwrap();
        prop_assume!(!all.degenerate);
        prop_assert_eq!(all.equilibria.len() % 2, 1);
        prop_assert_eq!(&solve(&g, Method::Support).unwrap().equilibria, &all.equilibria);
        for e in solve(&g, Method::LemkeHowson).unwrap().equilibria {
            prop_assert!(all.equilibria.contains(&e));
        }
        for e in pure_equilibria(&g).unwrap() {
            prop_assert!(all.equilibria.contains(&e));
        }
        for e in &all.equilibria {
            prop_assert!(relative_regret(&g, e) <= 1e-9);
            prop_assert_eq!(e.row_support().len(), e.column_support().len());
        }
        prop_assert_eq!(vertex_enumeration(&g).unwrap().equilibria, all.equilibria.clone());
        prop_assert_eq!(support_enumeration(&g).unwrap(), all.equilibria);
    }
}
