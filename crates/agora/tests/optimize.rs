//! The optimiser against a known optimum, its determinism, its errors, and
//! the `curve-optimization` example on seeds the search never saw.

use agora::experiment::optimize::{
    optimize, Bound, Method, OnBound, Optimization, ParamRange, StopReason,
};
use agora::experiment::{aggregate, monte_carlo};
use agora::scenario::example;
use agora::Scenario;

/// Ten agents with 450 each buy, in one step, `f` (= buy_fraction) of their
/// balance on the linear curve `P = m·S + b` (m = 0.001, b = 1) with a fee
/// φ = 0.5 (a buy of budget X pays X/(1+φ) into the reserve and the rest as
/// fee). With S the supply reached, they paid (1+φ)·F(S), F(S) = m/2·S² + b·S,
/// and hold S tokens worth P(S) each, so the group's wealth is
///
///   W(S) = n·B − (1+φ)·F(S) + S·P(S) = n·B + (1−φ)/2·m·S² − φ·b·S,
///
/// a convex parabola with its minimum at S* = φ·b / ((1−φ)·m) = 1000, where
/// F(S*) = 1500 and the spend is (1+φ)·F(S*) = 2250 = f*·n·B: f* = 0.5, and
/// the mean wealth there is (4500 + 250 − 500) / 10 = 425. S grows with f, so
/// the mean wealth is unimodal in f on [0, 1] with its minimum at f* = 0.5.
const KNOWN_OPTIMUM: &str = r#"
    [simulation]
    steps = 1
    seed = 3

    [[assets]]
    name = "TOKEN"
    pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.5 }

    [[agents]]
    group = "buyers"
    count = 10
    balance = 450.0
    policy = { kind = "random", asset = "TOKEN", p_buy = 1.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.0 }
"#;

const FRACTION: &str = "agents.buyers.policy.buy_fraction";
const WEALTH: &str = "groups.buyers.mean_wealth";

fn known() -> Scenario {
    Scenario::from_toml_str(KNOWN_OPTIMUM, "known-optimum").unwrap()
}

fn find_known(method: Method, budget: usize) -> Optimization {
    let range = [ParamRange::new(FRACTION, 0.0, 1.0)];
    optimize(&known(), &range, WEALTH, false, method, budget, &|_| {}).unwrap()
}

fn assert_finds_known_optimum(found: &Optimization, tolerance: f64) {
    let best = found.best();
    assert!(
        (best.values[0] - 0.5).abs() <= tolerance,
        "{}: best buy_fraction {} is not within {tolerance} of 0.5",
        found.method,
        best.values[0]
    );
    // The parabola is flat at its minimum: W(f) − 425 is second order in f − f*.
    assert!(
        (best.objective - 425.0).abs() < 0.5,
        "{}: best mean wealth {}",
        found.method,
        best.objective
    );
    assert!(found.improvement() > 0.0);
}

#[test]
fn the_closed_form_of_the_known_optimum_holds() {
    // The derivation above, checked on the simulation itself at f = 0.5.
    let at_optimum = known().with_param(FRACTION, 0.5).unwrap();
    let out = agora::Simulation::new(&at_optimum, 0)
        .unwrap()
        .run()
        .unwrap();
    assert!((out.summary.assets["TOKEN"].final_supply - 1000.0).abs() < 1e-3);
    assert!((out.summary.groups["buyers"].mean_wealth - 425.0).abs() < 1e-6);
}

#[test]
fn nelder_mead_finds_the_known_optimum() {
    let found = find_known(Method::NelderMead, 30);
    assert_eq!(found.baseline().values, vec![0.1]);
    assert!(found.evaluations.len() <= 30);
    assert_finds_known_optimum(&found, 0.01);
}

#[test]
fn particle_swarm_finds_the_known_optimum() {
    let found = find_known(Method::ParticleSwarm, 40);
    assert!(found.evaluations.len() <= 40);
    assert_finds_known_optimum(&found, 0.03);
}

#[test]
fn a_grid_finds_the_known_optimum_on_its_points() {
    // The baseline and 21 points 0.05 apart, 0.5 among them; the baseline
    // (0.1) is one of them and is not run twice.
    let found = find_known(Method::Grid, 22);
    assert_eq!(found.evaluations.len(), 21);
    assert_eq!(found.evaluations[1].values, vec![0.0]);
    assert_eq!(found.evaluations[20].values, vec![1.0]);
    assert_finds_known_optimum(&found, 1e-12);
}

#[test]
fn maximising_finds_the_known_bound() {
    // Buying moves wealth up then down; over f in [0.5, 1] the highest
    // wealth is at f = 1, the other side of the parabola from f*.
    let range = [ParamRange::new(FRACTION, 0.5, 1.0)];
    let found = optimize(
        &known(),
        &range,
        WEALTH,
        true,
        Method::NelderMead,
        20,
        &|_| {},
    )
    .unwrap();
    assert_eq!(found.best().values, vec![1.0]);
    // The baseline (0.1) lies outside the range: measured, never the best.
    assert_eq!(found.baseline().values, vec![0.1]);
    assert_ne!(found.best, 0);
}

#[test]
fn an_optimisation_is_deterministic() {
    let scenario = example("curve-optimization").unwrap();
    let mut scenario = scenario;
    scenario.set_runs(2).unwrap();
    scenario.set_steps(30).unwrap();
    let params = curve_params();
    for method in [Method::ParticleSwarm, Method::NelderMead] {
        let a = optimize(&scenario, &params, VOLATILITY, false, method, 8, &|_| {}).unwrap();
        let b = optimize(&scenario, &params, VOLATILITY, false, method, 8, &|_| {}).unwrap();
        assert_eq!(a, b, "{method}");
        assert_eq!(a.to_csv().unwrap(), b.to_csv().unwrap(), "{method}");
        assert_eq!(a.evaluations.len(), 8, "{method}");
    }
}

#[test]
fn bad_input_is_an_error_naming_what_is_wrong_before_anything_runs() {
    let s = known();
    let run = |params: &[ParamRange], objective: &str, method: Method, budget: usize| {
        let calls = std::cell::Cell::new(0);
        let e = optimize(&s, params, objective, false, method, budget, &|_| {
            calls.set(calls.get() + 1)
        })
        .unwrap_err();
        assert_eq!(calls.get(), 0, "{e}: evaluations ran");
        assert!(e.is_input_error(), "{e}");
        e.to_string()
    };
    let good = [ParamRange::new(FRACTION, 0.0, 1.0)];
    let e = run(&good, "groups.buyers.wealthiness", Method::Grid, 5);
    assert!(e.contains("groups.buyers.wealthiness"), "{e}");
    assert!(e.contains("groups.buyers.mean_wealth"), "{e}"); // what is expected
    let e = run(
        &[ParamRange::new("agents.buyers.policy.p_byu", 0.0, 1.0)],
        WEALTH,
        Method::Grid,
        5,
    );
    assert!(e.contains("agents.buyers.policy.p_byu"), "{e}");
    let e = run(
        &[ParamRange::new(FRACTION, 0.6, 0.6)],
        WEALTH,
        Method::Grid,
        5,
    );
    assert!(e.contains(FRACTION) && e.contains("lo < hi"), "{e}");
    // buy_fraction must be at most 1.
    let e = run(
        &[ParamRange::new(FRACTION, 0.5, 1.5)],
        WEALTH,
        Method::Grid,
        5,
    );
    assert!(e.contains(FRACTION) && e.contains("1.5"), "{e}");
    let e = run(&good, WEALTH, Method::Grid, 2);
    assert!(e.contains("budget"), "{e}");
    assert!(run(&[], WEALTH, Method::Grid, 5).contains("at least one parameter"));
    assert!("assets.TOKEN.pricing.m=1..x"
        .parse::<ParamRange>()
        .unwrap_err()
        .to_string()
        .contains("\"x\" is not a number"));
    assert_eq!(
        "assets.TOKEN.pricing.m=0.0005..2e-3"
            .parse::<ParamRange>()
            .unwrap(),
        ParamRange::new("assets.TOKEN.pricing.m", 0.0005, 0.002)
    );
}

#[test]
fn the_budget_caps_the_evaluations() {
    for method in [Method::NelderMead, Method::ParticleSwarm, Method::Grid] {
        let found = find_known(method, 6);
        assert!(found.evaluations.len() <= 6, "{method}");
        assert!(found.evaluations.len() >= 5, "{method}");
    }
}

const VOLATILITY: &str = "assets.TOKEN.log_return_volatility";

fn curve_params() -> Vec<ParamRange> {
    vec![
        ParamRange::new("assets.TOKEN.pricing.m", 0.0001, 0.002),
        ParamRange::new("assets.TOKEN.pricing.b", 0.5, 5.0),
    ]
}

fn mean_volatility(scenario: &Scenario) -> f64 {
    let outputs = monte_carlo(scenario, &|_| {}).unwrap();
    let ensemble = aggregate(&outputs).unwrap();
    ensemble
        .means
        .iter()
        .find(|(p, _)| p == VOLATILITY)
        .unwrap()
        .1
}

/// The search sees runs 0..4 of seed s; the check uses 8 runs of seed
/// s + 1000, which share no stream with them.
#[test]
fn curve_optimization_lowers_volatility_on_fresh_seeds() {
    let mut scenario = example("curve-optimization").unwrap();
    scenario.set_runs(4).unwrap();
    let found = optimize(
        &scenario,
        &curve_params(),
        VOLATILITY,
        false,
        Method::NelderMead,
        12,
        &|_| {},
    )
    .unwrap();
    assert!(found.improvement() > 0.0);
    let mut fresh = scenario.clone();
    fresh.set_seed(scenario.simulation().seed + 1000).unwrap();
    fresh.set_runs(8).unwrap();
    let default = mean_volatility(&fresh);
    let best = mean_volatility(&found.best_scenario(&fresh).unwrap());
    assert!(
        best < 0.9 * default,
        "fresh seeds: best {best} vs default {default} at {:?}",
        found.best().values
    );
}

#[test]
fn the_stop_reason_says_why_a_search_ended() {
    // A grid of 21 points fits a budget of 22 with the baseline, which is
    // one of them: 21 evaluations, the grid complete.
    let found = find_known(Method::Grid, 22);
    assert_eq!(found.evaluations.len(), 21);
    assert_eq!(
        found.stop,
        StopReason::GridComplete {
            side: 21,
            points: 21,
            finer_budget: 23
        }
    );
    // A budget too small to converge is spent.
    for method in [Method::NelderMead, Method::ParticleSwarm] {
        let found = find_known(method, 6);
        assert_eq!(found.evaluations.len(), 6, "{method}");
        assert_eq!(found.stop, StopReason::BudgetSpent, "{method}");
    }
    // The reported regression: on curve-optimization the searches end on a
    // corner of the ranges, well before the budget, proposing only
    // candidates already evaluated.
    let mut scenario = example("curve-optimization").unwrap();
    scenario.set_runs(2).unwrap();
    scenario.set_steps(30).unwrap();
    let found = optimize(
        &scenario,
        &curve_params(),
        VOLATILITY,
        false,
        Method::NelderMead,
        30,
        &|_| {},
    )
    .unwrap();
    assert!(found.evaluations.len() < 30);
    match found.stop {
        StopReason::Stalled {
            iterations,
            repeats,
        } => {
            assert!(iterations > 30 && repeats > 0, "{iterations} {repeats}");
        }
        ref other => panic!("expected a stall, found {other:?}"),
    }
    assert!(found.stop.to_string().contains("already evaluated"));
}

#[test]
fn a_best_on_a_bound_of_its_range_is_reported() {
    // Inside: the known optimum 0.5 of [0, 1].
    assert!(find_known(Method::Grid, 22).best_on_bounds().is_empty());
    // The upper bound: maximising over [0.5, 1] ends at 1.
    let range = [ParamRange::new(FRACTION, 0.5, 1.0)];
    let found = optimize(&known(), &range, WEALTH, true, Method::Grid, 5, &|_| {}).unwrap();
    assert_eq!(
        found.best_on_bounds(),
        vec![OnBound {
            path: FRACTION.into(),
            bound: Bound::Upper,
            value: 1.0
        }]
    );
    // The lower bound: minimising over [0.6, 1] ends at 0.6 (the parabola
    // rises from its minimum at 0.5).
    let range = [ParamRange::new(FRACTION, 0.6, 1.0)];
    let found = optimize(&known(), &range, WEALTH, false, Method::Grid, 5, &|_| {}).unwrap();
    let on = found.best_on_bounds();
    assert_eq!(on.len(), 1);
    assert_eq!((on[0].bound, on[0].value), (Bound::Lower, 0.6));
}

#[test]
fn optimize_json_records_the_outcome() {
    let range = [ParamRange::new(FRACTION, 0.5, 1.0)];
    let found = optimize(&known(), &range, WEALTH, true, Method::Grid, 5, &|_| {}).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&found.to_json().unwrap()).unwrap();
    assert_eq!(json["objective"], WEALTH);
    assert_eq!(json["maximize"], true);
    assert_eq!(json["method"], "grid");
    assert_eq!(json["budget"], 5);
    assert_eq!(json["evaluations"], found.evaluations.len());
    assert_eq!(json["stop"]["reason"], "grid_complete");
    assert_eq!(json["stop"]["message"], found.stop.to_string());
    assert_eq!(json["baseline"]["values"][FRACTION], 0.1);
    assert_eq!(json["best"]["evaluation"], found.best);
    assert_eq!(json["best"]["values"][FRACTION], 1.0);
    let best = json["best"]["objective"].as_f64().unwrap();
    assert!((best - found.best().objective).abs() < 1e-9);
    assert_eq!(
        json["best"]["on_bounds"],
        serde_json::json!([{"path": FRACTION, "bound": "upper", "value": 1.0}])
    );
    // serde_json reads floats back to within an ulp (without its
    // float_roundtrip feature); the file holds the shortest exact text.
    let improvement = json["improvement"].as_f64().unwrap();
    assert!((improvement - found.improvement()).abs() < 1e-12);
}

#[test]
fn range_errors_name_the_range_not_a_flag() {
    let e = "assets.TOKEN.pricing.m=1..x"
        .parse::<ParamRange>()
        .unwrap_err();
    assert!(matches!(
        e.kind(),
        agora::ErrorKind::Argument {
            argument: agora::Argument::Range,
            ..
        }
    ));
    assert!(!e.to_string().contains("--"), "{e}");
}

#[test]
fn the_best_scenario_keeps_the_users_text_with_only_the_optimised_value_changed() {
    let text = format!("# the known optimum\n{KNOWN_OPTIMUM}");
    let s = Scenario::from_toml_str(&text, "known.toml").unwrap();
    let found = find_known(Method::Grid, 22);
    let best = found.best_scenario(&s).unwrap();
    let written = best.to_toml_keeping_layout().unwrap();
    assert_eq!(
        written,
        text.replace("buy_fraction = 0.1,", "buy_fraction = 0.5,")
    );
    assert_eq!(
        Scenario::from_toml_str(&written, "best.toml")
            .unwrap()
            .hash(),
        best.hash()
    );
}
