//! Empirical game-theoretic analysis against a game whose payoffs are known
//! in closed form: four agents playing hawk-dove in a population game
//! (`kind = "game"`), each committed to hawk or dove (revision rate 0).
//! With N = 4 players matched in random pairs every step for T steps, a
//! hawk among h hawks and d doves earns T·u·(−25(h − 1) + 50d)/3 in
//! expectation and a dove T·u·15(d − 1)/3 (u money per point): the
//! empirical game's deviation payoffs are those of hawk-dove, whose
//! symmetric equilibrium has 7/12 hawks.

use agora::games::egta::{
    profile_count, profile_scenario, profiles, simulate, EgtaSpec, Strategies,
};
use agora::Scenario;

const SCENARIO: &str = r#"
[simulation]
steps = 100
seed = 3

[[assets]]
name = "G"
kind = "game"
strategies = ["hawk", "dove"]
payoffs = [[-25.0, 50.0], [0.0, 15.0]]
payoff_unit = 0.01
pool = 1000000.0

[[agents]]
group = "birds"
count = 10
balance = 1000.0
policy = { kind = "player", asset = "G", shares = { hawk = 0.5, dove = 0.5 }, revision = "imitation", rate = 0.0 }

[[agents]]
group = "others"
count = 2
balance = 1.0
policy = { kind = "random", asset = "T", p_buy = 0.1, p_sell = 0.1, buy_fraction = 0.1, sell_fraction = 0.1 }

[[assets]]
name = "T"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }
"#;

const STRATEGIES: &str = r#"
[strategies.hawk]
kind = "player"
asset = "G"
shares = { hawk = 1.0 }
revision = "imitation"
rate = 0.0

[strategies.dove]
kind = "player"
asset = "G"
shares = { dove = 1.0 }
revision = "imitation"
rate = 0.0
"#;

/// The expected payoff (final wealth) of strategy `s` (0 hawk, 1 dove) in
/// profile `counts`, with the hawk-dove prize `prize`.
fn expected(counts: &[u32], s: usize, prize: f64) -> f64 {
    let (h, d) = (f64::from(counts[0]), f64::from(counts[1]));
    let per_step = match s {
        0 => (-25.0 * (h - 1.0) + prize * d) / 3.0,
        _ => 15.0 * (d - 1.0) / 3.0,
    };
    1000.0 + 100.0 * 0.01 * per_step
}

/// The largest |mean − expected| in standard errors over the table (an
/// exact match of a payoff with no spread counts 0, any other difference
/// from it infinitely many).
fn largest_z(game: &agora::games::egta::EmpiricalGame, prize: f64) -> f64 {
    let mut worst = 0.0f64;
    for p in &game.profiles {
        for s in 0..2 {
            if p.counts[s] == 0 {
                assert!(p.mean(s).is_nan());
                continue;
            }
            let gap = (p.mean(s) - expected(&p.counts, s, prize)).abs();
            let se = p.standard_error(s);
            let z = if se > 0.0 {
                gap / se
            } else if gap < 1e-9 {
                0.0
            } else {
                f64::INFINITY
            };
            worst = worst.max(z);
        }
    }
    worst
}

#[test]
fn the_empirical_hawk_dove_game_matches_its_closed_form_and_its_equilibrium_is_seven_twelfths() {
    let base = Scenario::from_toml_str(SCENARIO, "<egta test>").unwrap();
    let strategies = Strategies::from_toml_str(STRATEGIES, "strategies.toml").unwrap();
    // named in name order
    assert_eq!(strategies.names(), ["dove", "hawk"]);
    let spec = EgtaSpec::new("birds", 4, 20);
    let game = simulate(&base, &spec, &strategies, &|_| {}).unwrap();
    // C(4 + 1, 1) = 5 profiles
    assert_eq!(game.profiles.len(), 5);
    assert_eq!(profile_count(4, 2), Some(5));
    // Reorder to (hawk, dove) for the closed form.
    let mut table = game.clone();
    table.strategies.reverse();
    for p in &mut table.profiles {
        p.counts.reverse();
        p.payoffs.reverse();
    }
    let z = largest_z(&table, 50.0);
    assert!(z < 4.0, "largest deviation {z:.2} standard errors");
    let z_richer = largest_z(&table, 52.5);
    assert!(
        z_richer > 4.0,
        "a 5% larger prize passes too ({z_richer:.2})"
    );

    let found = game.equilibria(&spec);
    assert_eq!(found.len(), 1, "{found:?}");
    let e = &found[0];
    let hawk = e.mix[1];
    assert!((hawk - 7.0 / 12.0).abs() < 0.05, "{e:?}");
    let (lo, hi) = e.interval[1];
    assert!(lo <= hawk && hawk <= hi, "{e:?}");
    assert!(hi - lo < 0.2, "{e:?}");
    // A 95% interval misses 7/12 at one seed in twenty (measured over
    // seeds 0-29 by `bootstrap_coverage` below: 28 of 30 intervals hold
    // it, mean width 0.0199; the estimates have mean 0.5835 and standard
    // deviation 0.0048, so 2 × 1.96 sd = 0.0188), so one seed is held to twice
    // its interval's half-width, about four standard errors: 7/12 passes,
    // while the equilibrium of a 5% larger prize, 37.5/62.5 = 0.6, does not.
    let within = |p: f64| (hawk - p).abs() < hi - lo;
    assert!(within(7.0 / 12.0), "{e:?}");
    assert!(!within(37.5 / 62.5), "{e:?}");
    assert!(e.regret < 1e-3, "{e:?}");
    // the regret of a pure strategy is not small
    assert!(game.regret(&[0.0, 1.0]) > 1.0);
    assert!(game.regret(&[1.0, 0.0]) > 1.0);

    // the same at one thread and at four
    let spec = EgtaSpec {
        bootstrap: 20,
        ..spec
    };
    let at = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let g = simulate(&base, &spec, &strategies, &|_| {}).unwrap();
                let f = g.equilibria(&spec);
                (
                    g.to_csv().unwrap(),
                    g.equilibria_json(&spec, &f).to_string(),
                )
            })
    };
    assert_eq!(at(1), at(4));
}

#[test]
fn egta_csv_has_counts_payoffs_and_standard_errors_per_strategy() {
    let base = Scenario::from_toml_str(SCENARIO, "<egta test>").unwrap();
    let strategies = Strategies::from_toml_str(STRATEGIES, "strategies.toml").unwrap();
    let game = simulate(&base, &EgtaSpec::new("birds", 2, 2), &strategies, &|_| {}).unwrap();
    let csv = String::from_utf8(game.to_csv().unwrap()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "profile,count_dove,payoff_dove,se_dove,count_hawk,payoff_hawk,se_hawk,samples"
    );
    assert_eq!(lines.len(), 4);
    // two doves: 15 a step each, no spread; no hawk
    assert_eq!(lines[1], "0,2,1015.0,0.0,0,,,2");
}

#[test]
fn a_profile_replaces_the_group_by_one_group_per_strategy() {
    let base = Scenario::from_toml_str(SCENARIO, "<egta test>").unwrap();
    let strategies = Strategies::from_toml_str(STRATEGIES, "strategies.toml").unwrap();
    let s = profile_scenario(&base, "birds", &strategies, &[1, 3]).unwrap();
    let groups: Vec<(&str, u32)> = s
        .groups()
        .iter()
        .map(|g| (g.name.as_str(), g.count))
        .collect();
    assert_eq!(
        groups,
        [("birds:dove", 1), ("birds:hawk", 3), ("others", 2)]
    );
    assert_eq!(profiles(3, 2).len(), 4);
}

#[test]
fn bad_egta_input_is_named() {
    let base = Scenario::from_toml_str(SCENARIO, "<egta test>").unwrap();
    let strategies = Strategies::from_toml_str(STRATEGIES, "strategies.toml").unwrap();
    let e = simulate(&base, &EgtaSpec::new("cats", 2, 2), &strategies, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("group: the scenario <egta test> has no group \"cats\""),
        "{e}"
    );
    let typo = STRATEGIES.replace("rate = 0.0\n\n", "rat = 0.0\n\n");
    let bad = Strategies::from_toml_str(&typo, "strategies.toml").unwrap();
    let e = simulate(&base, &EgtaSpec::new("birds", 2, 2), &bad, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("strategies.toml: strategies.hawk.rat"), "{e}");
    for (text, expected) in [
        ("", "strategies.toml: strategies: missing"),
        (
            "[strategies.one]\nkind = \"random\"\n",
            "strategies.toml: strategies: expected at least two strategies, found 1",
        ),
        (
            "[strategies]\na = 1\nb = 2\n",
            "strategies.toml: strategies.a: expected a policy table",
        ),
        ("x = 1\n", "strategies.toml: x: unknown field"),
    ] {
        let e = Strategies::from_toml_str(text, "strategies.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(expected), "{e}");
    }
    let e = simulate(&base, &EgtaSpec::new("birds", 0, 2), &strategies, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("players:"), "{e}");
}

/// The `surplus` objective values a trader's tokens at its private value:
/// a truthful buyer (value 100) and a truthful seller (cost 60, one unit)
/// trade once at some price p in [60, 100]; the buyer's utility is its
/// balance 200 − p plus 100, the seller's p plus nothing held, so their
/// utilities less their values at the start (200 and 60) add up to the
/// gains from trade, 40, whatever p.
#[test]
fn the_surplus_objective_counts_the_gains_from_trade() {
    let text = r#"
[simulation]
steps = 3
seed = 9

[[assets]]
name = "GOOD"
pricing = { kind = "order_book", tick_size = 0.01, lot_size = 1.0, initial_price = 80.0 }

[[agents]]
group = "buyer"
count = 1
balance = 200.0
policy = { kind = "zi_c", asset = "GOOD", role = "buyer", value = { distribution = "constant", value = 100.0 }, units = 1.0, shade = 0.0 }
objective = { kind = "surplus" }

[[agents]]
group = "seller"
count = 1
balance = 0.0
holdings = { asset = "GOOD", total = 1.0, distribution = "uniform" }
policy = { kind = "zi_c", asset = "GOOD", role = "seller", value = { distribution = "constant", value = 60.0 }, max_price = 150.0, shade = 0.0 }
objective = { kind = "surplus" }
"#;
    for seed in 0..6 {
        let mut s = Scenario::from_toml_str(text, "<surplus>").unwrap();
        s.set_seed(seed).unwrap();
        let out = agora::Simulation::new(&s, 0).unwrap().run().unwrap();
        let g = &out.summary.groups;
        let (buyer, seller) = (g["buyer"].utility, g["seller"].utility);
        let p = 300.0 - buyer;
        assert!((60.0..=100.0).contains(&p), "price {p}");
        assert!(((buyer - 200.0) + (seller - 60.0) - 40.0).abs() < 1e-9);
        assert_eq!(seller, p);
        assert_eq!(out.summary.assets["GOOD"].trades, 1);
    }
}

/// The bootstrap intervals' coverage of the closed-form equilibrium 7/12
/// over 30 scenario seeds (a measurement, not run by default:
/// `cargo test --release -p agora --test main egta::bootstrap_coverage -- --ignored --nocapture`).
/// A 95% interval should hold 7/12 at about 28.5 of 30 seeds; fewer than
/// 25 (probability 0.3% for a true 95% interval) fails.
#[test]
#[ignore = "a measurement: 30 EGTA runs"]
fn bootstrap_coverage() {
    let strategies = Strategies::from_toml_str(STRATEGIES, "strategies.toml").unwrap();
    let spec = EgtaSpec::new("birds", 4, 20);
    let (mut held, mut widths, mut estimates) = (0, Vec::new(), Vec::new());
    for seed in 0..30 {
        let text = SCENARIO.replace("seed = 3", &format!("seed = {seed}"));
        let base = Scenario::from_toml_str(&text, "<egta test>").unwrap();
        let game = simulate(&base, &spec, &strategies, &|_| {}).unwrap();
        let found = game.equilibria(&spec);
        let e = &found[0];
        let (lo, hi) = e.interval[1];
        held += usize::from(lo <= 7.0 / 12.0 && 7.0 / 12.0 <= hi);
        widths.push(hi - lo);
        estimates.push(e.mix[1]);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let m = mean(&estimates);
    let sd = (estimates.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 29.0).sqrt();
    println!(
        "{held} of 30 intervals hold 7/12; mean width {:.4}; estimates mean {m:.4}, sd {sd:.4}",
        mean(&widths)
    );
    assert!(held >= 25, "{held} of 30");
}
