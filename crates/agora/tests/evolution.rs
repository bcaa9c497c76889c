//! Evolution of policy parameters (`evolution` on a group): mutation is
//! Gaussian of the stated relative size, selection moves the parameters
//! towards what pays, each agent's parameters are recorded, and a run is
//! the same at one and four threads and after a round trip of its state.

use crate::distributions::{ks_critical, ks_statistic, phi};
use agora::scenario::example;
use agora::{Scenario, Simulation};

/// `count` random traders on a curve whose `buy_fraction` (0.5) evolves
/// every step: the worst `select` copy the best with mutation `mutate`.
fn traders(count: u32, select: f64, mutate: f64, steps: u64) -> Scenario {
    Scenario::from_toml_str(
        &traders_text(count, select, mutate, steps),
        "<evolution test>",
    )
    .unwrap()
}

fn traders_text(count: u32, select: f64, mutate: f64, steps: u64) -> String {
    format!(
        r#"
[simulation]
steps = {steps}
seed = 4

[[assets]]
name = "T"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.000001, b = 1.0 }}

[[agents]]
group = "traders"
count = {count}
balance = 100.0
policy = {{ kind = "random", asset = "T", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.5, sell_fraction = 0.5 }}
evolution = {{ every = 1, select = {select}, mutate = {mutate}, params = ["policy.buy_fraction"] }}

[output]
agent_steps = {{ every = 1 }}
"#
    )
}

/// Every agent's recorded `buy_fraction` at `step`.
fn fractions(out: &agora::RunOutput, step: u64) -> Vec<f64> {
    out.records
        .agent_steps
        .iter()
        .filter(|r| r.step == step)
        .map(|r| r.params[0])
        .collect()
}

/// 100,000 traders, all at buy_fraction 0.5, half of them replaced after
/// step 1 by a copy mutated with relative size 0.05: the 50,000 new values
/// v give z = (v/0.5 − 1)/0.05, which passes a Kolmogorov–Smirnov test
/// against the standard normal at 0.1%; read as if the mutation were 5%
/// larger (or smaller), they fail it.
#[test]
fn mutation_is_gaussian_with_the_stated_relative_size() {
    let s = traders(100_000, 0.5, 0.05, 2);
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    // Recorded before the step's evolution: step 1 is all 0.5.
    assert!(fractions(&out, 1).iter().all(|&v| v == 0.5));
    let after = fractions(&out, 2);
    let z: Vec<f64> = after
        .iter()
        .filter(|&&v| v != 0.5)
        .map(|v| (v / 0.5 - 1.0) / 0.05)
        .collect();
    assert_eq!(z.len(), 50_000);
    let critical = ks_critical(z.len());
    let d = ks_statistic(&z, phi);
    assert!(d < critical, "D = {d} > {critical}");
    for moved in [1.05, 1.0 / 1.05] {
        let d = ks_statistic(&z, |x| phi(x * moved));
        assert!(d > critical, "mutation × {moved} passes too (D = {d})");
    }
}

/// Selling early pays when the price only falls: every holder sells a
/// share of its tokens every step on a curve nobody buys from, so the
/// price only falls, and an agent's loss over a step is mostly its
/// holdings times the fall. Those who sold larger shares hold less and
/// lose less: selection raises the group's sell fraction, 0.1 at first,
/// round after round, and the spread between its 10th and 90th
/// percentiles shows the mutation's variety. A group that does not evolve
/// records no parameters.
#[test]
fn selection_moves_a_parameter_towards_what_pays() {
    let text = r#"
[simulation]
steps = 30
seed = 8

[[assets]]
name = "T"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.0001, b = 1.0 }

[[agents]]
group = "sellers"
count = 500
balance = 0.0
holdings = { asset = "T", total = 50000.0, distribution = "uniform" }
policy = { kind = "random", asset = "T", p_buy = 0.0, p_sell = 1.0, buy_fraction = 0.0, sell_fraction = 0.1 }
evolution = { every = 1, select = 0.2, mutate = 0.1, params = ["policy.sell_fraction"] }

[[agents]]
group = "holders"
count = 10
balance = 0.0
holdings = { asset = "T", total = 1000.0, distribution = "uniform" }
policy = { kind = "random", asset = "T", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }
"#;
    let s = Scenario::from_toml_str(text, "<selection>").unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let sellers: Vec<&agora::engine::GroupRecord> =
        out.records.groups.iter().filter(|r| r.group == 0).collect();
    let mean = |t: usize| sellers[t].params[0];
    assert_eq!(mean(0), 0.1);
    assert!(
        mean(10) > mean(1) && mean(30) > mean(10),
        "{} {} {}",
        mean(1),
        mean(10),
        mean(30)
    );
    assert!(mean(30) > 0.15, "mean sell fraction {}", mean(30));
    let last = sellers[30];
    assert!(last.params[1] < last.params[2], "{:?}", last.params);
    assert!(out
        .records
        .groups
        .iter()
        .filter(|r| r.group == 1)
        .all(|r| r.params.is_empty()));
}

/// A group evolving `every = 3` replaces its worst agents' parameters at
/// steps 3 and 6 only: recorded before each step's evolution, steps 1 to 3
/// show the initial 0.5, steps 4 to 6 the first round's values, step 7 the
/// second's.
#[test]
fn a_group_evolves_only_at_the_steps_its_every_divides() {
    let text = traders_text(20, 0.5, 0.1, 7).replace("every = 1, select", "every = 3, select");
    let s = Scenario::from_toml_str(&text, "<evolution test>").unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let at: Vec<Vec<f64>> = (1..=7).map(|t| fractions(&out, t)).collect();
    assert!(at[0].len() == 20 && at[0].iter().all(|&v| v == 0.5));
    assert_eq!((&at[1], &at[2]), (&at[0], &at[0]), "steps 2 and 3");
    assert_ne!(at[3], at[2], "step 3 evolved");
    assert_eq!((&at[4], &at[5]), (&at[3], &at[3]), "steps 5 and 6");
    assert_ne!(at[6], at[5], "step 6 evolved");
}

#[test]
fn agents_csv_and_agent_steps_csv_carry_the_parameters() {
    let mut s = example("strategy-arms-race").unwrap();
    s.set_steps(40).unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let runs = std::slice::from_ref(&out);
    let agents = String::from_utf8(agora::output::agents_csv(&s, runs).unwrap()).unwrap();
    let header = agents.lines().next().unwrap();
    assert!(
        header.ends_with(
            ",policy.threshold,policy.threshold_p10,policy.threshold_p90,\
             policy.buy_fraction,policy.buy_fraction_p10,policy.buy_fraction_p90"
        ),
        "{header}"
    );
    // step 0: every momentum trader at the policy's 0.02 and 0.2; the
    // noise traders have no such parameters
    let rows: Vec<&str> = agents.lines().skip(1).take(3).collect();
    assert!(rows[0].ends_with(",,,,,,"), "{}", rows[0]);
    assert!(
        rows[1].ends_with(",0.02,0.02,0.02,0.2,0.2,0.2"),
        "{}",
        rows[1]
    );
    let steps = agora::output::agent_steps_csv(&s, runs).unwrap().unwrap();
    let steps = String::from_utf8(steps).unwrap();
    assert!(steps
        .lines()
        .next()
        .unwrap()
        .ends_with(",policy.threshold,policy.buy_fraction"));
    // after two rounds some momentum traders carry mutated values
    let distinct: std::collections::BTreeSet<String> = steps
        .lines()
        .filter(|l| l.starts_with("0,40,momentum,"))
        .map(|l| l.rsplit(',').next().unwrap().to_string())
        .collect();
    assert!(distinct.len() > 5, "{distinct:?}");
}

#[test]
fn an_evolving_run_is_the_same_at_one_and_four_threads() {
    let mut s = example("strategy-arms-race").unwrap();
    s.set_steps(60).unwrap();
    let render = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let out = Simulation::new(&s, 0).unwrap().run().unwrap();
                let runs = std::slice::from_ref(&out);
                (
                    agora::output::agents_csv(&s, runs).unwrap(),
                    agora::output::agent_steps_csv(&s, runs).unwrap(),
                    agora::output::summary_json(&s, runs).unwrap(),
                )
            })
    };
    assert_eq!(render(1), render(4));
}

#[test]
fn bad_evolution_tables_are_named() {
    let text = traders_text(10, 0.2, 0.05, 2);
    let bad = |from: &str, to: &str| {
        assert!(text.contains(from), "{from} not in {text}");
        Scenario::from_toml_str(&text.replace(from, to), "bad.toml")
            .unwrap_err()
            .to_string()
    };
    let e = bad("\"policy.buy_fraction\"", "\"policy.lookback\"");
    assert!(
        e.starts_with("bad.toml: agents.traders.evolution.params[0]: \"policy.lookback\" is not an evolvable parameter of a random policy; expected one of: policy.p_buy"),
        "{e}"
    );
    let e = bad("select = 0.2", "select = 0.7");
    assert!(
        e.starts_with("bad.toml: agents.traders.evolution.select:"),
        "{e}"
    );
    let e = bad("select = 0.2", "select = 0.0");
    assert!(
        e.starts_with("bad.toml: agents.traders.evolution.select: expected a share > 0"),
        "{e}"
    );
    let e = bad("every = 1", "every = 0");
    assert!(
        e.starts_with("bad.toml: agents.traders.evolution.every:"),
        "{e}"
    );
    let e = bad("mutate = 0.05", "mutate = -0.1");
    assert!(
        e.starts_with("bad.toml: agents.traders.evolution.mutate:"),
        "{e}"
    );
    let e = bad("params = [\"policy.buy_fraction\"]", "params = []");
    assert!(
        e.starts_with("bad.toml: agents.traders.evolution.params: expected at least one"),
        "{e}"
    );
    // a learner's parameters are learned, not evolved
    let e = bad(
        "kind = \"random\", asset = \"T\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.5, sell_fraction = 0.5",
        "kind = \"bandit\", asset = \"T\", actions = [\"hold\", { buy = 0.1 }], algorithm = \"ucb1\"",
    );
    assert_eq!(
        e,
        "bad.toml: agents.traders.evolution.params: only a built-in rule-based policy's parameters can evolve; this group's policy is \"bandit\""
    );
    let e = bad("mutate = 0.05", "mutate = 0.05, rate = 1");
    assert!(
        e.starts_with("bad.toml: agents.traders.evolution.rate: unknown field"),
        "{e}"
    );
}
