//! Bring your own summary metric: "the share of steps the price spent above
//! a level", written outside the library, registered under a name that
//! scenario files use in `[[metrics]]`, and read back from the summary,
//! `summary.json`, a sweep and the optimiser.
//!
//! Run with `cargo run --example custom_metric`.

use agora::experiment::optimize::{optimize, Method, ParamRange};
use agora::experiment::sweep::{parse_axis, sweep, Grid};
use agora::metrics::Metric;
use agora::scenario::{Fields, PolicyRegistry, Range};
use agora::{Scenario, Simulation};

/// The share of steps 1..=T at whose end the price of `asset` is above
/// `level` (steps without a price count as not above).
struct TimeAbove {
    asset: usize,
    level: f64,
    above: u64,
    steps: u64,
}

impl Metric for TimeAbove {
    fn on_step(&mut self, sim: &Simulation) {
        // Step 0 is the initial state, not a step of the run.
        if sim.step() == 0 {
            return;
        }
        self.steps += 1;
        if sim.price(self.asset) > self.level {
            self.above += 1;
        }
    }

    fn value(&self) -> f64 {
        if self.steps == 0 {
            f64::NAN
        } else {
            self.above as f64 / self.steps as f64
        }
    }
}

const SCENARIO: &str = r#"
[simulation]
steps = 300
seed = 5

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.0001, b = 1.0 }

[[agents]]
group = "noise"
count = 500
balance = 100.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.45, buy_fraction = 0.1, sell_fraction = 0.1 }

[[metrics]]
kind = "time_above"
name = "above_2_3"
asset = "TOKEN"
level = 2.3
"#;

fn main() -> agora::Result<()> {
    let mut registry = PolicyRegistry::new();
    registry.register_metric("time_above", |f: &mut Fields<'_>, assets: &[String]| {
        // Read every field the metric accepts: anything else is rejected as
        // unknown, with the field's path in the message.
        Ok(Box::new(TimeAbove {
            asset: f.asset("asset", assets)?,
            level: f.number("level", Range::Any)?,
            above: 0,
            steps: 0,
        }) as Box<dyn Metric>)
    })?;
    let scenario = Scenario::from_toml_str_with(SCENARIO, "custom_metric.rs", &registry)?;
    let out = Simulation::new(&scenario, 0)?.run()?;

    // The metric, under its name in the run's summary...
    let value = out.summary.metrics["above_2_3"];
    println!("share of steps with the price above 2.3: {value:.4}");

    // ...checked against the recorded price series (assets.csv's rows),
    // counted independently of the metric.
    let rows: Vec<_> = out.records.assets.iter().filter(|r| r.step >= 1).collect();
    let above = rows.iter().filter(|r| r.price > 2.3).count();
    let expected = above as f64 / rows.len() as f64;
    assert_eq!(rows.len(), 300);
    assert_eq!(
        value, expected,
        "the metric disagrees with the price series"
    );
    assert!(
        value > 0.0 && value < 1.0,
        "choose a level the price crosses"
    );

    // In summary.json it is `metrics.above_2_3`.
    let json: serde_json::Value =
        serde_json::from_slice(&agora::output::summary_json(&scenario, &[out])?)
            .expect("summary.json is JSON");
    println!("summary.json metrics: {}", json["metrics"]);
    assert_eq!(json["metrics"]["above_2_3"].as_f64(), Some(expected));

    // A sweep has it as a column...
    let grid = Grid::cartesian(&[parse_axis("assets.TOKEN.pricing.m=0.00005,0.0001,0.0002")?])?;
    let table = sweep(&scenario, &grid, &|| {})?;
    let col = table
        .columns
        .iter()
        .position(|c| c == "metrics.above_2_3")
        .expect("a metrics.above_2_3 column");
    for row in 0..table.points.len() {
        println!(
            "m = {:>7}: above_2_3 = {:.4}",
            table.points[row][0].as_number().unwrap_or(f64::NAN),
            table.number(row, col).unwrap_or(f64::NAN)
        );
    }
    // (the middle point is the scenario itself)
    assert_eq!(table.number(1, col), Some(expected));

    // ...and the optimiser takes it as its objective.
    let params = [ParamRange::new("assets.TOKEN.pricing.m", 0.00005, 0.0002)];
    let found = optimize(
        &scenario,
        &params,
        "metrics.above_2_3",
        true,
        Method::Grid,
        5,
        &|_| {},
    )?;
    println!(
        "most time above 2.3 at m = {:.6}: {:.4}",
        found.best().values[0],
        found.best().objective
    );

    // A typo in the metric's fields is caught with its path:
    let typo = SCENARIO.replace("level = 2.3", "levle = 2.3");
    let err = Scenario::from_toml_str_with(&typo, "custom_metric.rs", &registry).unwrap_err();
    println!("a typo is reported as: {err}");
    Ok(())
}
