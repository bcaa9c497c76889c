//! Monte Carlo ensembles and sweeps: seeds per run, parallel runs that give
//! the same bytes at any thread count, summaries of means and distributions,
//! and sweep shards that concatenate to the whole grid.

use agora::experiment::sweep::{parse_axis, sweep, sweep_csv, Grid};
use agora::experiment::{aggregate, monte_carlo, quantile};
use agora::output::{assets_csv, summary_json};
use agora::scenario::example;
use agora::{Scenario, Simulation};

fn small(runs: u64) -> Scenario {
    let mut s = example("curve-sigmoid").expect("example");
    s.set_steps(15).unwrap();
    s.set_runs(runs).unwrap();
    s
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("pool")
        .install(f)
}

#[test]
fn an_ensemble_is_byte_identical_at_one_and_two_threads_and_runs_are_numbered_from_0() {
    let s = small(5);
    let one = in_pool(1, || monte_carlo(&s, &|_| {})).unwrap();
    let two = in_pool(2, || monte_carlo(&s, &|_| {})).unwrap();
    assert_eq!(assets_csv(&s, &one).unwrap(), assets_csv(&s, &two).unwrap());
    assert_eq!(
        summary_json(&s, &one).unwrap(),
        summary_json(&s, &two).unwrap()
    );
    let runs: Vec<u64> = one.iter().map(|o| o.run).collect();
    assert_eq!(runs, vec![0, 1, 2, 3, 4]);
    let text = String::from_utf8(assets_csv(&s, &one).unwrap()).unwrap();
    let per_run = text.lines().filter(|l| l.starts_with("3,")).count();
    assert_eq!(per_run, 16, "steps 0..=15 of run 3");
}

#[test]
fn each_run_is_the_single_run_with_its_index_and_runs_differ() {
    let s = small(3);
    let ensemble = monte_carlo(&s, &|_| {}).unwrap();
    for out in &ensemble {
        let alone = Simulation::new(&s, out.run).unwrap().run().unwrap();
        assert_eq!(&alone, out, "run {}", out.run);
    }
    let finals: Vec<f64> = ensemble
        .iter()
        .map(|o| o.summary.assets["TOKEN"].final_price)
        .collect();
    assert!(
        finals[0] != finals[1] && finals[1] != finals[2],
        "{finals:?}"
    );
}

#[test]
fn the_summary_keeps_the_single_run_layout_with_means_and_adds_distributions() {
    let s = small(4);
    let outs = monte_carlo(&s, &|_| {}).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&summary_json(&s, &outs).unwrap()).unwrap();
    let finals: Vec<f64> = outs
        .iter()
        .map(|o| o.summary.assets["TOKEN"].final_price)
        .collect();
    let mean = finals.iter().sum::<f64>() / 4.0;
    assert_eq!(json["runs"], 4);
    assert!((json["assets"]["TOKEN"]["final_price"].as_f64().unwrap() - mean).abs() < 1e-12);
    let d = &json["distribution"]["assets"]["TOKEN"]["final_price"];
    let mut sorted = finals.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(d["p50"].as_f64().unwrap(), quantile(&sorted, 0.5));
    assert_eq!(d["p5"].as_f64().unwrap(), quantile(&sorted, 0.05));
    assert!(d["p5"].as_f64().unwrap() <= d["p95"].as_f64().unwrap());
    let sd = (finals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 4.0).sqrt();
    assert!((d["std"].as_f64().unwrap() - sd).abs() < 1e-9);
    // the same keys as a single run's summary, beside `distribution`
    let single: serde_json::Value =
        serde_json::from_slice(&summary_json(&s, &outs[..1]).unwrap()).unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&json), keys(&single));
    assert_eq!(
        keys(&json["groups"]["noise"]),
        keys(&single["groups"]["noise"])
    );
    let means = aggregate(&outs).unwrap().means;
    assert!(means.iter().any(|(p, _)| p == "ledger.conservation_error"));
}

#[test]
fn sweep_shards_concatenate_to_the_single_machine_rows_at_any_thread_count() {
    let s = small(2);
    let axes = [
        parse_axis("assets.TOKEN.pricing.k=0.0005,0.001,0.002").unwrap(),
        parse_axis("agents.noise.policy.p_buy=0.3,0.45").unwrap(),
    ];
    let grid = Grid::cartesian(&axes).unwrap();
    let whole = in_pool(2, || sweep(&s, &grid, &|| {})).unwrap();
    assert_eq!(whole.rows.len(), 6);
    assert_eq!(whole.columns[0], "assets.TOKEN.pricing.k");
    assert!(whole.columns.iter().any(|c| c == "assets.TOKEN.volatility"));
    let whole_csv = sweep_csv(&whole).unwrap();
    let mut joined = Vec::new();
    for i in 1..=4 {
        let part = grid.clone().shard(i, 4).unwrap();
        let table = in_pool(1, || sweep(&s, &part, &|| {})).unwrap();
        assert_eq!(table.columns, whole.columns, "same header in every shard");
        joined.extend(table.rows);
    }
    assert_eq!(joined, whole.rows);
    let again = in_pool(1, || sweep(&s, &grid, &|| {})).unwrap();
    assert_eq!(sweep_csv(&again).unwrap(), whole_csv);
    // a point's row is the ensemble of the scenario with those parameters
    let point = s
        .with_param("assets.TOKEN.pricing.k", 0.002)
        .unwrap()
        .with_param("agents.noise.policy.p_buy", 0.45)
        .unwrap();
    let outs = monte_carlo(&point, &|_| {}).unwrap();
    let vol = aggregate(&outs)
        .unwrap()
        .means
        .into_iter()
        .find(|(p, _)| p == "assets.TOKEN.volatility")
        .unwrap()
        .1;
    let col = whole
        .columns
        .iter()
        .position(|c| c == "assets.TOKEN.volatility")
        .unwrap();
    assert_eq!(whole.rows[5][col], vol);
}

#[test]
fn a_grid_point_that_makes_the_scenario_invalid_is_an_error_before_anything_runs() {
    let s = small(1);
    let grid =
        Grid::cartesian(&[parse_axis("agents.noise.policy.p_buy=0.5,0.7").unwrap()]).unwrap();
    let ran = std::sync::atomic::AtomicUsize::new(0);
    let e = sweep(&s, &grid, &|| {
        ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    })
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("grid point 1") && e.contains("p_buy + p_sell"),
        "{e}"
    );
    assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 0);
    let e = s
        .with_param("assets.COIN.pricing.m", 1.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no asset \"COIN\""), "{e}");
    let e = s
        .with_param("agents.noise.count", 2.5)
        .unwrap_err()
        .to_string();
    assert!(e.contains("whole number"), "{e}");
}
