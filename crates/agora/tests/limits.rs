//! Limits: sizes that would exhaust memory are refused up front, naming the
//! field, and the big vectors are reserved fallibly, so that a miss of the
//! estimate is an error, never an abort.

use agora::experiment::sweep::{Axis, Grid};
use agora::limits::{check, run_footprint, sweep_footprint, Bytes};
use agora::scenario::ParamValue;
use agora::{Scenario, Simulation};

fn reference() -> Scenario {
    agora::scenario::example("reference").expect("the reference example")
}

/// The reference scenario with `key = value` in `[simulation]` or a group.
fn with(from: &str, to: &str) -> Scenario {
    let text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "reference")
        .unwrap()
        .toml
        .replacen(from, to, 1);
    Scenario::from_toml_str(&text, "big.toml").expect("valid")
}

const GIB: u64 = 1 << 30;

#[test]
fn the_examples_fit_in_a_gigabyte() {
    for e in agora::scenario::examples() {
        let s = agora::scenario::example(e.name).unwrap();
        let f = run_footprint(&s, 2, 2);
        check(s.origin(), &f, GIB).unwrap_or_else(|err| panic!("{}: {err}", e.name));
    }
}

/// The estimate covers at least what cannot be avoided: 8 bytes of balance
/// and 8 per holding for every agent, and, for every step of every run, a
/// price per asset and a row per group.
#[test]
fn the_estimate_covers_the_accounts_and_the_records() {
    let s = with("count = 10000", "count = 1000000");
    let accounts = 1_000_000u128 * (8 + 8);
    assert!(run_footprint(&s, 1, 1).total() > accounts);

    let s = with("steps = 100", "steps = 1000000");
    let f = run_footprint(&s, 1, 1);
    // one asset row and one group row per step: a price (8 bytes) and a
    // balance and a holding (16 each) at the least
    assert!(f.total() > 1_000_001 * (8 + 16 + 16));
    // and it doubles, roughly, with the steps
    let s2 = with("steps = 100", "steps = 2000000");
    let ratio = run_footprint(&s2, 1, 1).total() as f64 / f.total() as f64;
    assert!((1.8..2.0).contains(&ratio), "{ratio}");
}

/// Regression test: `steps = 9223372036854775807`, a billion runs and 80
/// million agents under a 2 GB limit aborted with an allocation failure.
#[test]
fn oversized_scenarios_are_refused_naming_the_field() {
    let steps = with("steps = 100", "steps = 9223372036854775807");
    let e = check(steps.origin(), &run_footprint(&steps, 2, 1), 2 * GIB).unwrap_err();
    assert!(e.is_input_error());
    let msg = e.to_string();
    assert!(
        msg.starts_with("big.toml: simulation.steps: the run needs about ")
            && msg.contains("records of 9223372036854775807 steps × 1 run: ")
            && msg.contains("more than the 2.1 GB available; lower simulation.steps"),
        "{msg}"
    );

    let mut runs = reference();
    runs.set_runs(1_000_000_000).unwrap();
    runs.set_steps(2).unwrap();
    let msg = check(runs.origin(), &run_footprint(&runs, 2, 1), 2 * GIB)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("<example reference>: simulation.runs: the run needs about ")
            && msg.contains("summaries of 1000000000 runs"),
        "{msg}"
    );

    let agents = with("count = 10000", "count = 80000000");
    let msg = check(agents.origin(), &run_footprint(&agents, 2, 1), 2 * GIB)
        .unwrap_err()
        .to_string();
    assert!(
        msg.starts_with("big.toml: agents.noise.count: the run needs about ")
            && msg.contains("the state of 80000000 agents"),
        "{msg}"
    );
    // the accounts alone are 80M × 16 bytes = 1.28 GB: more than 1 GiB
    assert!(check(agents.origin(), &run_footprint(&agents, 1, 1), GIB).is_err());
}

#[test]
fn a_billion_point_sweep_is_refused() {
    let s = reference();
    let f = sweep_footprint(&s, 1_000_000_000, 3, 2);
    let msg = check(s.origin(), &f, 64 * GIB).unwrap_err().to_string();
    assert!(
        msg.starts_with("<example reference>: the sweep needs about ")
            && msg.contains("1000000000 grid points × 1 runs")
            && msg.ends_with("use fewer grid points or runs"),
        "{msg}"
    );
    // a thousand points fit easily
    check(s.origin(), &sweep_footprint(&s, 1000, 1, 2), GIB).unwrap();
}

/// The estimate can miss; the vectors it sizes are reserved fallibly, so
/// the miss is an error naming the field (here steps whose records no
/// address space holds).
#[test]
fn records_beyond_memory_are_an_error_when_the_run_is_set_up() {
    let s = with("steps = 100", "steps = 9223372036854775807");
    let msg = Simulation::new(&s, 0).unwrap_err().to_string();
    assert!(
        msg.starts_with("big.toml: simulation.steps: the records of 9223372036854775807 steps")
            && msg.ends_with("more than this machine can allocate"),
        "{msg}"
    );
}

/// That error's size is the records' estimate: per step, an asset row per
/// asset and a group row per group, each with 16 bytes per asset for its
/// holdings: the reference example (1 asset, 1 group) and one of 2 assets
/// and 3 groups.
#[test]
fn the_records_error_gives_the_rows_estimated_size() {
    let steps = 9_223_372_036_854_775_807u64;
    let three_groups = format!(
        r#"
[simulation]
steps = {steps}
seed = 1
[[assets]]
name = "X"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}
[[assets]]
name = "Y"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}
[[agents]]
group = "a"
count = 1
balance = 1.0
policy = {{ kind = "random", asset = "X", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }}
[[agents]]
group = "b"
count = 1
balance = 1.0
policy = {{ kind = "random", asset = "Y", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }}
[[agents]]
group = "c"
count = 1
balance = 1.0
policy = {{ kind = "random", asset = "X", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }}
"#
    );
    let scenarios = [
        with("steps = 100", &format!("steps = {steps}")),
        Scenario::from_toml_str(&three_groups, "big.toml").unwrap(),
    ];
    for (s, shape) in scenarios.iter().zip([(1, 1), (2, 3)]) {
        let (m, g) = (s.assets().len(), s.groups().len());
        assert_eq!((m, g), shape);
        let per_step = m * std::mem::size_of::<agora::engine::AssetRecord>()
            + g * (std::mem::size_of::<agora::engine::GroupRecord>() + 16 * m);
        let bytes = Bytes(u128::from(steps) * per_step as u128);
        let msg = Simulation::new(s, 0).unwrap_err().to_string();
        assert_eq!(
            msg,
            format!(
                "big.toml: simulation.steps: the records of {steps} steps ({m} assets, {g} groups) \
                 need about {bytes}, more than this machine can allocate"
            )
        );
    }
}

#[test]
fn a_grid_beyond_memory_is_an_error_before_a_point_is_made() {
    let axis = |p: &str| Axis {
        path: p.to_string(),
        values: (0..100_000)
            .map(|i| ParamValue::Number(f64::from(i)))
            .collect(),
    };
    // 10^15 points of 24 bytes and more
    let e = Grid::cartesian(&[axis("a"), axis("b"), axis("c")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the grid of 100000 × 100000 × 100000 points needs more memory than this machine can allocate"
    );
    let small = Grid::cartesian(&[
        Axis {
            path: "a".into(),
            values: [1.0, 2.0].map(ParamValue::Number).to_vec(),
        },
        Axis {
            path: "b".into(),
            values: [10.0, 20.0, 30.0].map(ParamValue::Number).to_vec(),
        },
    ])
    .unwrap();
    let numbers: Vec<Vec<f64>> = small
        .points
        .iter()
        .map(|p| {
            p.iter()
                .map(|v| match v {
                    ParamValue::Number(x) => *x,
                    other => panic!("{other:?}"),
                })
                .collect()
        })
        .collect();
    assert_eq!(
        numbers,
        [
            [1.0, 10.0],
            [1.0, 20.0],
            [1.0, 30.0],
            [2.0, 10.0],
            [2.0, 20.0],
            [2.0, 30.0]
        ]
    );
}

#[test]
fn available_memory_reads_the_machine_on_linux() {
    if cfg!(target_os = "linux") {
        let a = agora::limits::available_memory(1).expect("/proc is readable");
        assert!(a.bytes > 0, "{a:?}");
        assert!(
            [
                "MemAvailable",
                "cgroup",
                "address-space limit",
                "data-size limit"
            ]
            .contains(&a.source),
            "{a:?}"
        );
    }
    assert_eq!(Bytes(2_147_483_648).to_string(), "2.1 GB");
}

/// Per-agent records (`[output] agent_steps`) count in the estimate: every
/// agent of the reference example at every step adds at least the rows
/// times the record's size.
#[test]
fn per_agent_records_count_in_the_estimate() {
    let text = &agora::scenario::examples()
        .iter()
        .find(|e| e.name == "reference")
        .unwrap()
        .toml;
    let plain = Scenario::from_toml_str(text, "plain.toml").unwrap();
    let with_rows = Scenario::from_toml_str(
        &format!("{text}\n[output]\nagent_steps = {{}}\n"),
        "rows.toml",
    )
    .unwrap();
    let rows = with_rows.agent_step_rows();
    assert_eq!(
        rows,
        u128::from(with_rows.agent_count())
            * u128::from(with_rows.simulation().steps + 1)
            * u128::from(with_rows.simulation().runs)
    );
    let extra = run_footprint(&with_rows, 1, 1).total() - run_footprint(&plain, 1, 1).total();
    let per_row = u128::from(agora::scenario::agent_step_bytes(plain.assets().len()));
    assert!(
        extra >= rows / u128::from(with_rows.simulation().runs) * per_row,
        "{extra}"
    );
}

/// Regression test (stop 49, found by `run_scenario`'s fuzzing as an
/// out-of-memory): posted-price Q-learning sellers counted no state, so
/// three firms over 60 prices remembering one step (60³ × 60 entries a
/// table: about 104 MB a firm) were estimated at 8 MB. Now the estimate
/// holds the tables, and a limit below them refuses the run naming the
/// group.
#[test]
fn posted_price_q_tables_are_in_the_estimate() {
    let text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "algorithmic-collusion")
        .unwrap()
        .toml;
    assert!(text.contains("m = 15"), "the example changed: {text}");
    let small = Scenario::from_toml_str(text, "small.toml").expect("valid");
    let big = text
        .replacen("m = 15", "m = 60", 1)
        .replacen("count = 2", "count = 3", 1);
    let big = Scenario::from_toml_str(&big, "big.toml").expect("valid");
    let table = 60u128.pow(3) * 60 * 8 + 60u128.pow(3) * 4;
    let f = run_footprint(&big, 2, 1);
    assert!(f.total() > 3 * table, "{f:?}");
    assert!(f.total() < 3 * table + (64 << 20), "{f:?}");
    let e = check(big.origin(), &f, GIB / 4).unwrap_err().to_string();
    assert!(
        e.starts_with("big.toml: agents.firms.count: the run needs about "),
        "{e}"
    );
    // the example itself: 225 states × 15 prices, a few kilobytes a firm
    let f = run_footprint(&small, 2, 1);
    let small_tables = 2 * (225 * 15 * 8 + 225 * 4);
    assert!(f.total() > small_tables && f.total() < 64 << 20, "{f:?}");
}
