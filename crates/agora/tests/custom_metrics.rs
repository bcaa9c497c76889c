//! User summary metrics (`[[metrics]]`, `Metric`): their values reach the
//! run summary, `summary.json`, sweeps and the optimiser, and equal the same
//! quantity computed independently from the recorded series.

use agora::experiment::optimize::{optimize, Method, ParamRange};
use agora::experiment::sweep::{parse_axis, sweep, Grid};
use agora::metrics::Metric;
use agora::scenario::{Fields, PolicyRegistry, Range};
use agora::{Scenario, Simulation};

/// The largest price of `asset` over steps 1..=T, and the number of steps
/// seen (the second metric of an entry with `count = true`).
struct MaxPrice {
    asset: usize,
    count: bool,
    max: f64,
    steps: u64,
}

impl Metric for MaxPrice {
    fn on_step(&mut self, sim: &Simulation) {
        if sim.step() == 0 {
            return;
        }
        self.steps += 1;
        self.max = self.max.max(sim.price(self.asset));
    }

    fn value(&self) -> f64 {
        if self.count {
            self.steps as f64
        } else {
            self.max
        }
    }
}

fn registry() -> PolicyRegistry {
    let mut r = PolicyRegistry::new();
    r.register_metric("max_price", |f: &mut Fields<'_>, assets: &[String]| {
        let asset = f.asset("asset", assets)?;
        let count = f.number_or("count", Range::Unit, 0.0)? == 1.0;
        Ok(Box::new(MaxPrice {
            asset,
            count,
            max: f64::NEG_INFINITY,
            steps: 0,
        }) as Box<dyn Metric>)
    })
    .unwrap();
    r
}

fn scenario(runs: u64, metrics: &str) -> String {
    format!(
        r#"
[simulation]
steps = 40
seed = 3
runs = {runs}

[[assets]]
name = "A"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }}

[[assets]]
name = "B"
pricing = {{ kind = "bonding_curve", curve = "linear", m = 0.002, b = 0.5 }}

[[agents]]
group = "a"
count = 50
balance = 100.0
policy = {{ kind = "random", asset = "A", p_buy = 0.5, p_sell = 0.4, buy_fraction = 0.1, sell_fraction = 0.1 }}

[[agents]]
group = "b"
count = 50
balance = 100.0
policy = {{ kind = "random", asset = "B", p_buy = 0.4, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }}
{metrics}
"#
    )
}

const TWO: &str = r#"
[[metrics]]
kind = "max_price"
asset = "B"

[[metrics]]
kind = "max_price"
name = "steps_seen"
asset = "A"
count = 1
"#;

/// The largest recorded price of asset `j` over steps 1..=T.
fn max_recorded(out: &agora::RunOutput, j: u32) -> f64 {
    out.records
        .assets
        .iter()
        .filter(|r| r.asset == j && r.step >= 1)
        .map(|r| r.price)
        .fold(f64::NEG_INFINITY, f64::max)
}

#[test]
fn a_metric_value_is_in_the_summary_under_its_name_and_equals_the_recorded_series() {
    let s = Scenario::from_toml_str_with(&scenario(1, TWO), "t", &registry()).unwrap();
    assert_eq!(s.metrics().len(), 2);
    assert_eq!(s.metrics()[0].name, "max_price");
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let m = &out.summary.metrics;
    assert_eq!(m.len(), 2);
    assert_eq!(m["max_price"], max_recorded(&out, 1));
    assert_eq!(m["steps_seen"], 40.0);
    // not the other asset's: the metric reads its own field
    assert_ne!(m["max_price"], max_recorded(&out, 0));
}

#[test]
fn summary_json_holds_each_metric_as_the_mean_over_runs_with_its_distribution() {
    let s = Scenario::from_toml_str_with(&scenario(3, TWO), "t", &registry()).unwrap();
    let runs: Vec<_> = (0..3)
        .map(|r| Simulation::new(&s, r).unwrap().run().unwrap())
        .collect();
    let maxima: Vec<f64> = runs.iter().map(|o| max_recorded(o, 1)).collect();
    assert!(
        maxima[0] != maxima[1] || maxima[1] != maxima[2],
        "runs differ"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&agora::output::summary_json(&s, &runs).unwrap()).unwrap();
    let mean = maxima.iter().sum::<f64>() / 3.0;
    let got = json["metrics"]["max_price"].as_f64().unwrap();
    assert!((got - mean).abs() <= 1e-12 * mean, "{got} vs {mean}");
    assert_eq!(json["distribution"]["metrics"]["max_price"]["count"], 3);
    assert_eq!(json["metrics"]["steps_seen"].as_f64(), Some(40.0));
}

#[test]
fn without_metrics_the_summary_has_no_metrics_key() {
    let s = Scenario::from_toml_str_with(&scenario(1, ""), "t", &registry()).unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    assert!(out.summary.metrics.is_empty());
    let json: serde_json::Value =
        serde_json::from_slice(&agora::output::summary_json(&s, &[out]).unwrap()).unwrap();
    assert!(json.get("metrics").is_none());
}

#[test]
fn a_sweep_has_a_column_per_metric_and_the_optimiser_takes_one_as_objective() {
    let s = Scenario::from_toml_str_with(&scenario(1, TWO), "t", &registry()).unwrap();
    let grid = Grid::cartesian(&[parse_axis("assets.B.pricing.m=0.001,0.004").unwrap()]).unwrap();
    let table = sweep(&s, &grid, &|| {}).unwrap();
    let col = table
        .columns
        .iter()
        .position(|c| c == "metrics.max_price")
        .unwrap();
    for (row, m) in [0.001, 0.004].into_iter().enumerate() {
        let point = s.with_param("assets.B.pricing.m", m).unwrap();
        let out = Simulation::new(&point, 0).unwrap().run().unwrap();
        assert_eq!(table.number(row, col), Some(max_recorded(&out, 1)));
    }
    let params = [ParamRange::new("assets.B.pricing.m", 0.001, 0.004)];
    let found = optimize(
        &s,
        &params,
        "metrics.max_price",
        true,
        Method::Grid,
        3,
        &|_| {},
    )
    .unwrap();
    let best = found.best();
    let point = s.with_param("assets.B.pricing.m", best.values[0]).unwrap();
    let out = Simulation::new(&point, 0).unwrap().run().unwrap();
    assert_eq!(best.objective, max_recorded(&out, 1));
}

#[test]
fn a_reset_starts_the_metrics_afresh() {
    let s = Scenario::from_toml_str_with(&scenario(1, TWO), "t", &registry()).unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    for _ in 0..10 {
        sim.advance().unwrap();
    }
    sim.reset(1).unwrap();
    let out = sim.run().unwrap();
    let fresh = Simulation::new(&s, 1).unwrap().run().unwrap();
    assert_eq!(out.summary.metrics, fresh.summary.metrics);
    assert_eq!(out.summary.metrics["steps_seen"], 40.0);
}

#[test]
fn metric_entries_are_checked_like_the_rest_of_the_scenario() {
    let err = |metrics: &str, registry: &PolicyRegistry| {
        Scenario::from_toml_str_with(&scenario(1, metrics), "s.toml", registry)
            .unwrap_err()
            .to_string()
    };
    let unknown = err(
        "[[metrics]]\nkind = \"min_price\"\nasset = \"A\"\n",
        &registry(),
    );
    assert!(
        unknown.starts_with("s.toml: metrics[0].kind: unknown metric kind \"min_price\"")
            && unknown.contains("max_price"),
        "{unknown}"
    );
    let none = err(
        "[[metrics]]\nkind = \"max_price\"\nasset = \"A\"\n",
        &PolicyRegistry::new(),
    );
    assert!(none.contains("register_metric"), "{none}");
    let twice = err(
        "[[metrics]]\nkind = \"max_price\"\nasset = \"A\"\n[[metrics]]\nkind = \"max_price\"\nasset = \"B\"\n",
        &registry(),
    );
    assert!(
        twice.starts_with("s.toml: metrics[1].name: a second metric called \"max_price\""),
        "{twice}"
    );
    let field = err(
        "[[metrics]]\nkind = \"max_price\"\nasset = \"C\"\n",
        &registry(),
    );
    assert!(
        field.starts_with("s.toml: metrics[0].asset: unknown asset \"C\""),
        "{field}"
    );
    let extra = err(
        "[[metrics]]\nkind = \"max_price\"\nname = \"hi\"\nasset = \"A\"\nlevel = 2\n",
        &registry(),
    );
    assert!(
        extra.starts_with("s.toml: metrics.hi.level: unknown field"),
        "{extra}"
    );
    let dotted = err(
        "[[metrics]]\nkind = \"max_price\"\nname = \"a.b\"\nasset = \"A\"\n",
        &registry(),
    );
    assert!(dotted.contains("metrics[0].name"), "{dotted}");
}

/// A metric that keeps no state of its own saves none (the default
/// `save_state`), so a restore gives it nothing to load: one whose
/// `load_state` refuses anything it is given still restores.
#[test]
fn a_metric_that_saves_no_state_is_given_none_at_a_restore() {
    struct Stateless;
    impl Metric for Stateless {
        fn on_step(&mut self, _sim: &Simulation) {}
        fn value(&self) -> f64 {
            1.0
        }
        fn load_state(&mut self, state: &[u8]) -> Result<(), String> {
            Err(format!("given {} bytes, having saved none", state.len()))
        }
    }
    let mut r = PolicyRegistry::new();
    r.register_metric("stateless", |_: &mut Fields<'_>, _: &[String]| {
        Ok(Box::new(Stateless) as Box<dyn Metric>)
    })
    .unwrap();
    let s =
        Scenario::from_toml_str_with(&scenario(1, "[[metrics]]\nkind = \"stateless\"\n"), "t", &r)
            .unwrap();
    let mut sim = Simulation::new(&s, 0).unwrap();
    for _ in 0..5 {
        sim.advance().unwrap();
    }
    let state = sim.state();
    let mut again = Simulation::new(&s, 0).unwrap();
    again.restore(state).unwrap();
    assert_eq!(again.run().unwrap(), sim.run().unwrap());
}
