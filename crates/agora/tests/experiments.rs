//! Monte Carlo ensembles and sweeps: seeds per run, parallel runs that give
//! the same bytes at any thread count, summaries of means and distributions,
//! and sweep shards that concatenate to the whole grid.

use agora::experiment::sweep::{parse_axis, sweep, sweep_csv, sweep_keeping, Grid};
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
    assert_eq!(whole.points.len(), 6);
    assert_eq!(whole.metrics.len(), 6);
    assert_eq!(whole.columns[0], "assets.TOKEN.pricing.k");
    assert!(whole.columns.iter().any(|c| c == "assets.TOKEN.volatility"));
    let whole_csv = sweep_csv(&whole).unwrap();
    let mut joined = Vec::new();
    for i in 1..=4 {
        let part = grid.clone().shard(i, 4).unwrap();
        let table = in_pool(1, || sweep(&s, &part, &|| {})).unwrap();
        assert_eq!(table.columns, whole.columns, "same header in every shard");
        joined.extend(table.points.into_iter().zip(table.metrics));
    }
    let rows: Vec<_> = whole
        .points
        .iter()
        .cloned()
        .zip(whole.metrics.iter().cloned())
        .collect();
    assert_eq!(joined, rows);
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
    assert_eq!(whole.number(5, col), Some(vol));
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

/// The spread of a metric's values across runs, by the definitions the
/// README states: population standard deviation, percentiles interpolated
/// linearly between order statistics (numpy's default).
fn spread(values: &[f64]) -> [f64; 4] {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let h = q * (sorted.len() - 1) as f64;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
    };
    [std, at(0.05), at(0.5), at(0.95)]
}

#[test]
fn sweep_rows_add_each_metrics_spread_across_runs_after_the_means() {
    let s = small(5);
    let grid =
        Grid::cartesian(&[parse_axis("assets.TOKEN.pricing.k=0.0005,0.002").unwrap()]).unwrap();
    let table = sweep(&s, &grid, &|| {}).unwrap();
    // The means keep their names and places: the varied path, then every
    // metric by its summary path; the spreads follow them all.
    let outs = monte_carlo(
        &s.with_param("assets.TOKEN.pricing.k", 0.002).unwrap(),
        &|_| {},
    )
    .unwrap();
    let means = aggregate(&outs).unwrap().means;
    let k = means.len();
    assert_eq!(table.columns[0], "assets.TOKEN.pricing.k");
    let names: Vec<&str> = means.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(&table.columns[1..=k], names.as_slice());
    assert_eq!(table.columns.len(), 1 + 5 * k);
    let col = |name: &str| table.columns.iter().position(|c| c == name).unwrap();
    let finals: Vec<f64> = outs
        .iter()
        .map(|o| o.summary.assets["TOKEN"].final_price)
        .collect();
    let expected = spread(&finals);
    for (stat, want) in ["std", "p5", "p50", "p95"].iter().zip(expected) {
        let got = table
            .number(1, col(&format!("assets.TOKEN.final_price.{stat}")))
            .unwrap();
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{stat}: {got} vs {want}"
        );
    }
    assert!(
        expected[0] > 0.0,
        "runs differ, so the spread is not trivial"
    );
    let text = String::from_utf8(sweep_csv(&table).unwrap()).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.ends_with(
        "ledger.outside_paid_in.std,ledger.outside_paid_in.p5,ledger.outside_paid_in.p50,ledger.outside_paid_in.p95"
    ), "{header}");
}

#[test]
fn keeping_runs_hands_over_each_points_runs_with_their_records() {
    let s = small(2);
    let grid =
        Grid::cartesian(&[parse_axis("assets.TOKEN.pricing.k=0.0005,0.001,0.002,0.004").unwrap()])
            .unwrap()
            .shard(2, 2)
            .unwrap();
    let kept = std::sync::Mutex::new(Vec::new());
    let table = sweep_keeping(&s, &grid, &|| {}, &|i, point, runs| {
        kept.lock()
            .unwrap()
            .push((i, assets_csv(point, runs).unwrap()));
        Ok(())
    })
    .unwrap();
    let mut kept = kept.into_inner().unwrap();
    kept.sort();
    // Points 2 and 3 of the whole grid, each exactly the ensemble at its value.
    assert_eq!(kept.iter().map(|k| k.0).collect::<Vec<_>>(), [2, 3]);
    for ((_, csv), k) in kept.iter().zip([0.002, 0.004]) {
        let point = s.with_param("assets.TOKEN.pricing.k", k).unwrap();
        let alone = monte_carlo(&point, &|_| {}).unwrap();
        assert_eq!(csv, &assets_csv(&point, &alone).unwrap(), "k = {k}");
    }
    assert_eq!(table, sweep(&s, &grid, &|| {}).unwrap());
    // An error from keeping ends the sweep with it.
    let e = sweep_keeping(&s, &grid, &|| {}, &|_, _, _| {
        Err(agora::Error::usage("disk full"))
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "disk full");
}

/// The mean of `metric` over the runs of `scenario`.
fn mean_of(scenario: &Scenario, metric: &str) -> f64 {
    let outs = monte_carlo(scenario, &|_| {}).unwrap();
    aggregate(&outs)
        .unwrap()
        .means
        .into_iter()
        .find(|(p, _)| p == metric)
        .unwrap()
        .1
}

#[test]
fn categorical_values_are_swept_as_strings_or_whole_tables() {
    // An allocation rule by name: each row is the scenario whose file says so.
    let text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "resource-proportional")
        .unwrap()
        .toml;
    let mut s = Scenario::from_toml_str(text, "rp").unwrap();
    s.set_steps(4).unwrap();
    s.set_runs(2).unwrap();
    let grid =
        Grid::cartesian(&[parse_axis("assets.COMPUTE.allocation=proportional,max_min").unwrap()])
            .unwrap();
    let table = sweep(&s, &grid, &|| {}).unwrap();
    let jain = table
        .columns
        .iter()
        .position(|c| c == "assets.COMPUTE.jain_index")
        .unwrap();
    let mut by_file =
        Scenario::from_toml_str(&text.replace("\"proportional\"", "\"max_min\""), "mm").unwrap();
    by_file.set_steps(4).unwrap();
    by_file.set_runs(2).unwrap();
    let want = mean_of(&by_file, "assets.COMPUTE.jain_index");
    assert_eq!(table.number(1, jain), Some(want));
    assert_ne!(table.number(0, jain), Some(want), "the rules differ");
    let csv = String::from_utf8(sweep_csv(&table).unwrap()).unwrap();
    assert!(csv.lines().nth(2).unwrap().starts_with("max_min,"), "{csv}");

    // A curve with other parameters: the whole pricing table, as TOML.
    let s = small(2);
    let power = r#"{ kind = "bonding_curve", curve = "power", a = 0.01, n = 1.5 }"#;
    let axis = parse_axis(&format!(
        "assets.TOKEN.pricing=[{}, {power}]",
        r#"{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }"#
    ))
    .unwrap();
    let table = sweep(&s, &Grid::cartesian(&[axis]).unwrap(), &|| {}).unwrap();
    let col = table
        .columns
        .iter()
        .position(|c| c == "assets.TOKEN.final_price")
        .unwrap();
    let sigmoid = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "curve-sigmoid")
        .unwrap()
        .toml;
    let line = sigmoid
        .lines()
        .find(|l| l.starts_with("pricing = "))
        .unwrap();
    let mut as_power =
        Scenario::from_toml_str(&sigmoid.replace(line, &format!("pricing = {power}")), "p")
            .unwrap();
    as_power.set_steps(15).unwrap();
    as_power.set_runs(2).unwrap();
    assert_eq!(
        table.number(1, col),
        Some(mean_of(&as_power, "assets.TOKEN.final_price"))
    );
    // A curve's name alone, where the curves need other keys: an error
    // naming the grid point and the key, before anything runs.
    let grid = Grid::cartesian(&[parse_axis("assets.TOKEN.pricing.curve=sigmoid,linear").unwrap()])
        .unwrap();
    let e = sweep(&s, &grid, &|| {}).unwrap_err().to_string();
    assert!(
        e.contains("grid point 1 (assets.TOKEN.pricing.curve = linear)"),
        "{e}"
    );
}

#[test]
fn schedule_entries_are_swept_by_index_and_a_parameter_a_schedule_overrides_warns() {
    let mut s = example("token-economy").unwrap();
    // The schedule ramps m from step 100 to 150: a run of 100 steps never
    // sees it change, one of 101 does.
    s.set_steps(100).unwrap();
    let m = Grid::cartesian(&[parse_axis("assets.AGT.pricing.m=0.0005,0.001").unwrap()]).unwrap();
    assert!(m.warnings(&s).is_empty(), "{:?}", m.warnings(&s));
    s.set_steps(101).unwrap();
    let warnings = m.warnings(&s);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("assets.AGT.pricing.m")
            && warnings[0].contains("assets.AGT.schedule[0]"),
        "{}",
        warnings[0]
    );
    for other in [
        "assets.AGT.pricing.b=1,2",
        "assets.AGT.schedule.0.value=0.002,0.003",
    ] {
        let g = Grid::cartesian(&[parse_axis(other).unwrap()]).unwrap();
        assert!(g.warnings(&s).is_empty(), "{other}");
    }
    // The schedule's own value, by index: the point's schedule says so.
    let g = Grid::cartesian(&[parse_axis("assets.AGT.schedule[0].value=0.003").unwrap()]).unwrap();
    let points = agora::experiment::sweep::scenarios(&s, &g).unwrap();
    assert_eq!(
        points[0].assets()[0].schedule[0].change,
        agora::scenario::Change::Ramp {
            from: 100,
            to: 150,
            value: 0.003
        }
    );
}
