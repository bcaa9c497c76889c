//! Benchmark of the resource engine: agent-steps per second of the
//! `resource-economy` example at 100,000 agents, against a hand-written
//! minimal loop of the same model and beside the curve engine.
//!
//! ```text
//! cargo bench -p agora --bench resource
//! AGORA_BENCH_QUICK=1 cargo bench -p agora --bench resource   # smoke test
//! ```
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it only says how
//! to run it, so that the test suite builds it without running it.
//!
//! # What it measures
//!
//! 1. **The engine on the resource economy.** The built-in
//!    `resource-economy` example (consumers sharing a renewing compute
//!    capacity, allocated in proportion to the requests and priced by excess
//!    demand; producers adding capacity when the price covers their cost; a
//!    50% outage at steps 60–69) scaled from 1,000 to 100,000 consumers
//!    (`agents.agents.count`). The producers (`agents.producers.count`,
//!    10 → 1,000) and the capacity (`assets.COMPUTE.capacity`, 500 →
//!    50,000) are scaled by the same factor, so that the economics — and the
//!    price path — stay those of the example. 100 steps, through the public
//!    API (`Simulation::new(&scenario, 0)?.run()?`), at one thread and at
//!    the default number of threads. Set-up (`Simulation::new`) is timed
//!    apart from the run; agent-steps/s is (consumers + producers) × steps /
//!    run time. Best of 3 repetitions. Also printed: the peak heap bytes
//!    per agent (first repetition, counted by a wrapping global allocator),
//!    and from the run's summary the final price, the utilization of the
//!    capacity, the unmet share of the need and the ledger's conservation
//!    error, so that a faster engine that computes something else shows.
//! 2. **A minimal loop of the same model**, in plain single-threaded Rust:
//!    f64 money, one `Xoshiro256PlusPlus` generator, no checks, no records.
//!    Each step: production made two steps earlier arrives (paid at the
//!    price); producers make 10 units at cost 1 each if the price is above
//!    1; each consumer draws a need ~ U[0.5, 1.5] and requests
//!    need · max(0, 1 − P/3), at most what its balance pays for; the
//!    capacity (halved at steps 60–69, plus the arrivals) is shared in
//!    proportion to the requests, paid at P and consumed up to the need;
//!    then P' = max(0.01, P + clamp(0.5 · (D − O)/O, −0.2 P, 0.2 P)), D the
//!    units requested and O those available. It is the floor of what the
//!    model costs; the ratio engine / minimal says what the engine's exact
//!    fixed-point ledger, per-agent random streams, checks, metrics and
//!    records cost on top. The two final prices should be close but not
//!    equal: the needs come from different random streams.
//! 3. **The curve engine, for context**: the `reference` example (noise
//!    traders on a linear bonding curve, `agents.noise.count`) at the same
//!    number of agents and steps at one thread, so that the cost of an
//!    agent-step of the resource engine can be read against that of the
//!    curve engine (the `reference` benchmark compares the latter with its
//!    own minimal loop).
//!
//! `AGORA_BENCH_QUICK=1` runs tiny sizes once (2,000 consumers × 10 steps),
//! as a smoke test for CI; its numbers mean nothing. The machine's other
//! load makes timings noisy: the best of the repetitions is reported.

mod common;

use std::time::{Duration, Instant};

use agora::Scenario;
use common::{fastest, per_agent, rate, time_engine, BenchResult, EngineFigures};
use peak_alloc::PeakAlloc;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Counts the bytes currently allocated on the heap and their peak.
#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

// The resource-economy model's constants, as in
// `scenarios/resource-economy.toml` (checked against it at start-up).

/// Consumers, producers and capacity of the example, which scale together.
const BASE_CONSUMERS: u64 = 1_000;
const BASE_PRODUCERS: u64 = 10;
const BASE_CAPACITY: f64 = 500.0;
/// Starting balance of every agent.
const BALANCE: f64 = 1000.0;
/// A consumer's need per step ~ U[NEED_LOW, NEED_HIGH], each unit worth
/// VALUE when met.
const NEED_LOW: f64 = 0.5;
const NEED_HIGH: f64 = 1.5;
const VALUE: f64 = 3.0;
/// Producers: cost per unit, units per step, steps until they arrive.
const COST: f64 = 1.0;
const MAX_OUTPUT: f64 = 10.0;
const LEAD_TIME: u64 = 2;
/// The price-adjustment rule.
const INITIAL_PRICE: f64 = 1.0;
const LAMBDA: f64 = 0.5;
const MAX_RELATIVE_CHANGE: f64 = 0.2;
const MIN_PRICE: f64 = 0.01;
/// The outage: `OUTAGE_SHARE` of the capacity out for `OUTAGE_DURATION`
/// steps from step `OUTAGE_AT`.
const OUTAGE_AT: u64 = 60;
const OUTAGE_DURATION: u64 = 10;
const OUTAGE_SHARE: f64 = 0.5;

/// The benchmark's size.
struct Size {
    /// Consumers of the resource economy (a multiple of 100), and agents of
    /// the reference scenario.
    consumers: u64,
    steps: u64,
    reps: usize,
}

/// The resource economy scaled to a number of consumers.
#[derive(Debug, Clone, Copy)]
struct Model {
    consumers: u64,
    producers: u64,
    capacity: f64,
}

impl Model {
    fn scaled(consumers: u64) -> BenchResult<Model> {
        if consumers == 0 || consumers % (BASE_CONSUMERS / BASE_PRODUCERS) != 0 {
            return Err(format!(
                "{consumers} consumers: not a positive multiple of {}",
                BASE_CONSUMERS / BASE_PRODUCERS
            )
            .into());
        }
        Ok(Model {
            consumers,
            producers: consumers * BASE_PRODUCERS / BASE_CONSUMERS,
            capacity: BASE_CAPACITY * consumers as f64 / BASE_CONSUMERS as f64,
        })
    }

    fn agents(&self) -> u64 {
        self.consumers + self.producers
    }
}

/// What a run of the engine reported of its outcome (from the summary).
#[derive(Debug, Clone, Copy)]
struct Outcome {
    final_price: f64,
    utilization: f64,
    unmet_share: f64,
    conservation_error: f64,
}

struct MinimalFigures {
    run: Duration,
    outcome: Outcome,
}

/// Checks that the built-in example still has the constants the minimal
/// loop is written with; if it changed, the comparison would be unfair.
fn check_example(s: &Scenario) -> BenchResult<()> {
    let numbers = [
        ("assets.COMPUTE.capacity", BASE_CAPACITY),
        ("assets.COMPUTE.pricing.lambda", LAMBDA),
        ("assets.COMPUTE.pricing.initial_price", INITIAL_PRICE),
        ("assets.COMPUTE.pricing.min_price", MIN_PRICE),
        (
            "assets.COMPUTE.pricing.max_relative_change",
            MAX_RELATIVE_CHANGE,
        ),
        ("agents.agents.count", BASE_CONSUMERS as f64),
        ("agents.agents.balance", BALANCE),
        ("agents.agents.policy.value", VALUE),
        ("agents.agents.policy.need.low", NEED_LOW),
        ("agents.agents.policy.need.high", NEED_HIGH),
        ("agents.producers.count", BASE_PRODUCERS as f64),
        ("agents.producers.balance", BALANCE),
        ("agents.producers.policy.cost", COST),
        ("agents.producers.policy.max_output", MAX_OUTPUT),
        ("agents.producers.policy.lead_time", LEAD_TIME as f64),
    ];
    // optional fields, absent in the example: their defaults
    let defaults = [
        ("agents.agents.policy.budget_share", 1.0),
        ("agents.producers.policy.margin", 0.0),
    ];
    for (path, want) in numbers.into_iter().chain(defaults) {
        let found = if defaults.iter().any(|d| d.0 == path) {
            s.param(path).unwrap_or(want)
        } else {
            s.param(path)?
        };
        if found != want {
            return Err(format!(
                "the resource-economy example has {path} = {found}, the minimal loop {want}"
            )
            .into());
        }
    }
    // The fields that are not numbers, and the one event.
    let table = s.to_table();
    let text = |v: Option<&toml::Value>| v.and_then(toml::Value::as_str).map(str::to_string);
    let asset = table
        .get("assets")
        .and_then(toml::Value::as_array)
        .and_then(|a| a.first());
    let pricing = asset.and_then(|a| a.get("pricing"));
    let event = table
        .get("events")
        .and_then(toml::Value::as_array)
        .filter(|e| e.len() == 1)
        .and_then(|e| e.first());
    let int = |v: Option<&toml::Value>| v.and_then(toml::Value::as_integer);
    let float = |v: Option<&toml::Value>| v.and_then(toml::Value::as_float);
    let expected = [
        (
            "renewal",
            text(asset.and_then(|a| a.get("renewal"))) == Some("renewing".into()),
        ),
        (
            "allocation",
            text(asset.and_then(|a| a.get("allocation"))) == Some("proportional".into()),
        ),
        (
            "pricing.rule",
            text(pricing.and_then(|p| p.get("rule"))) == Some("proportional".into()),
        ),
        (
            "agents.policy.demand",
            text(
                table
                    .get("agents")
                    .and_then(toml::Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(|g| g.get("policy"))
                    .and_then(|p| p.get("demand")),
            ) == Some("linear".into()),
        ),
        (
            "events (one outage)",
            text(event.and_then(|e| e.get("kind"))) == Some("outage".into())
                && int(event.and_then(|e| e.get("at"))) == Some(OUTAGE_AT as i64)
                && int(event.and_then(|e| e.get("duration"))) == Some(OUTAGE_DURATION as i64)
                && float(event.and_then(|e| e.get("share"))) == Some(OUTAGE_SHARE),
        ),
    ];
    for (what, ok) in expected {
        if !ok {
            return Err(format!(
                "the resource-economy example's {what} is not what the minimal loop is written for"
            )
            .into());
        }
    }
    Ok(())
}

/// The resource-economy example scaled to `model`, `steps` steps.
fn resource_economy(model: &Model, steps: u64) -> BenchResult<Scenario> {
    let example = agora::scenario::example("resource-economy")?;
    check_example(&example)?;
    let mut scenario = example
        .with_param("agents.agents.count", model.consumers as f64)?
        .with_param("agents.producers.count", model.producers as f64)?
        .with_param("assets.COMPUTE.capacity", model.capacity)?;
    scenario.set_steps(steps)?;
    if scenario.agent_count() != model.agents() {
        return Err(format!(
            "the scaled resource economy has {} agents, not {}",
            scenario.agent_count(),
            model.agents()
        )
        .into());
    }
    Ok(scenario)
}

/// Runs the engine `reps` times in a pool of `threads` threads (0: rayon's
/// default) and keeps the best times; `asset` is the asset whose outcome is
/// reported.
fn engine(
    scenario: &Scenario,
    asset: &str,
    reps: usize,
    threads: usize,
) -> BenchResult<EngineFigures<Outcome>> {
    time_engine(&ALLOC, scenario, reps, threads, |out| {
        let summary = out
            .summary
            .assets
            .get(asset)
            .ok_or_else(|| format!("no asset {asset} in the summary"))?;
        let resource = summary.resource.as_ref();
        Ok(Outcome {
            final_price: summary.final_price,
            utilization: resource.map_or(f64::NAN, |r| r.utilization),
            unmet_share: resource.map_or(f64::NAN, |r| r.unmet_share),
            conservation_error: out.summary.ledger.conservation_error,
        })
    })
}

/// The resource economy written out in plain Rust, single-threaded (see the
/// module documentation). Returns the time of the step loop (allocation
/// excluded) and the outcome, measured as the engine's summary does.
fn minimal(model: &Model, steps: u64, seed: u64) -> MinimalFigures {
    let n = model.consumers as usize;
    let np = model.producers as usize;
    let slots = LEAD_TIME as usize + 1;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut balance = vec![BALANCE; n];
    let mut need = vec![0.0f64; n];
    let mut request = vec![0.0f64; n];
    let mut producer_balance = vec![BALANCE; np];
    // units made by producer p arriving at step t: due[(t % slots) * np + p]
    let mut due = vec![0.0f64; slots * np];
    let mut price = INITIAL_PRICE;
    let mut prices = Vec::with_capacity(steps as usize);
    let (mut paid_in, mut paid_out) = (0.0f64, 0.0f64);
    let (mut total_available, mut total_allocated) = (0.0f64, 0.0f64);
    let (mut total_need, mut total_met) = (0.0f64, 0.0f64);
    let t0 = Instant::now();
    for t in 1..=steps {
        // production due now arrives, paid at the price
        let now = (t % slots as u64) as usize * np;
        let mut arrived = 0.0;
        for (b, q) in producer_balance.iter_mut().zip(&mut due[now..now + np]) {
            *b += price * *q;
            paid_in += price * *q;
            arrived += *q;
            *q = 0.0;
        }
        let outage = if (OUTAGE_AT..OUTAGE_AT + OUTAGE_DURATION).contains(&t) {
            OUTAGE_SHARE
        } else {
            0.0
        };
        let available = model.capacity * (1.0 - outage) + arrived;
        // producers make what arrives in LEAD_TIME steps if the price pays
        if price > COST {
            let later = ((t + LEAD_TIME) % slots as u64) as usize * np;
            for (b, q) in producer_balance.iter_mut().zip(&mut due[later..later + np]) {
                let made = MAX_OUTPUT.min(*b / COST);
                *b -= COST * made;
                paid_out += COST * made;
                *q = made;
            }
        }
        // consumers request
        let share = (1.0 - price / VALUE).max(0.0);
        let mut demand = 0.0;
        for ((x, r), b) in need.iter_mut().zip(&mut request).zip(&balance) {
            *x = NEED_LOW + (NEED_HIGH - NEED_LOW) * rng.random::<f64>();
            *r = (*x * share).min(*b / price);
            demand += *r;
        }
        // proportional allocation, paid at the price, consumed up to the need
        let fill = if demand > available {
            available / demand
        } else {
            1.0
        };
        let mut allocated = 0.0;
        for ((b, r), x) in balance.iter_mut().zip(&request).zip(&need) {
            let a = *r * fill;
            *b -= price * a;
            allocated += a;
            total_need += *x;
            total_met += a.min(*x);
        }
        paid_out += price * allocated;
        total_available += available;
        total_allocated += allocated;
        // price adjustment
        let size = if available > 0.0 {
            available
        } else {
            model.capacity
        };
        let step = (LAMBDA * (demand - available) / size)
            .clamp(-MAX_RELATIVE_CHANGE * price, MAX_RELATIVE_CHANGE * price);
        price = (price + step).max(MIN_PRICE);
        prices.push(price);
    }
    let run = t0.elapsed();
    std::hint::black_box(&prices);
    let held: f64 = balance.iter().sum::<f64>() + producer_balance.iter().sum::<f64>();
    let initial = BALANCE * model.agents() as f64;
    MinimalFigures {
        run,
        outcome: Outcome {
            final_price: price,
            utilization: total_allocated / total_available,
            unmet_share: (total_need - total_met) / total_need,
            conservation_error: (held - (initial + paid_in - paid_out)).abs(),
        },
    }
}

fn main() -> BenchResult<()> {
    let Some(quick) = common::quick_or_skip("resource") else {
        return Ok(());
    };
    let size = if quick {
        Size {
            consumers: 2_000,
            steps: 10,
            reps: 1,
        }
    } else {
        Size {
            consumers: 100_000,
            steps: 100,
            reps: 3,
        }
    };
    let model = Model::scaled(size.consumers)?;
    let steps = size.steps;
    let agents = model.agents();
    println!(
        "resource-economy benchmark{} (best of {} repetition(s); set-up timed apart)",
        if quick { " [AGORA_BENCH_QUICK]" } else { "" },
        size.reps
    );
    println!(
        "model: {} consumers + {} producers = {agents} agents, capacity {}, {steps} steps",
        model.consumers, model.producers, model.capacity
    );
    common::print_threads()?;
    println!();

    let scenario = resource_economy(&model, steps)?;
    let one = engine(&scenario, "COMPUTE", size.reps, 1)?;
    let many = engine(&scenario, "COMPUTE", size.reps, 0)?;
    let min = fastest(size.reps, |seed| minimal(&model, steps, seed), |m| m.run);
    let curve_scenario = common::reference_scenario(size.consumers, steps)?;
    let curve = engine(&curve_scenario, "TOKEN", size.reps, 1)?;

    let min_rate = rate(agents, steps, min.run);
    println!(
        "| implementation | agents × steps | threads | set-up s | loop s | agent-steps/s | vs minimal | final price | utilization | unmet share | conservation error |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for e in [&one, &many] {
        let r = rate(agents, steps, e.run);
        let o = e.outcome;
        println!(
            "| engine, resource-economy | {agents} × {steps} | {} | {:.4} | {:.4} | {:.3e} | {:.1}% | {:.6} | {:.6} | {:.6} | {} |",
            e.threads,
            e.setup.as_secs_f64(),
            e.run.as_secs_f64(),
            r,
            100.0 * r / min_rate,
            o.final_price,
            o.utilization,
            o.unmet_share,
            o.conservation_error,
        );
    }
    let o = min.outcome;
    println!(
        "| minimal loop, same model | {agents} × {steps} | 1 | - | {:.4} | {:.3e} | 100% | {:.6} | {:.6} | {:.6} | {:.3e} |",
        min.run.as_secs_f64(),
        min_rate,
        o.final_price,
        o.utilization,
        o.unmet_share,
        o.conservation_error,
    );
    let curve_rate = rate(size.consumers, steps, curve.run);
    println!(
        "| engine, reference (curve) | {} × {steps} | {} | {:.4} | {:.4} | {:.3e} | - | {:.6} | - | - | {} |",
        size.consumers,
        curve.threads,
        curve.setup.as_secs_f64(),
        curve.run.as_secs_f64(),
        curve_rate,
        curve.outcome.final_price,
        curve.outcome.conservation_error,
    );
    println!();

    common::print_heap_table(
        "scenario",
        &[
            ("resource-economy".to_string(), &one, agents),
            ("resource-economy".to_string(), &many, agents),
            ("reference".to_string(), &curve, size.consumers),
        ],
    );

    let one_rate = rate(agents, steps, one.run);
    let many_rate = rate(agents, steps, many.run);
    println!("summary ({agents} agents × {steps} steps):");
    println!(
        "  resource engine: {one_rate:.3e} agent-steps/s at 1 thread, {many_rate:.3e} at {} ({:.2}×)",
        many.threads,
        many_rate / one_rate
    );
    println!(
        "  engine / minimal loop: {:.1}% at 1 thread, {:.1}% at {}",
        100.0 * one_rate / min_rate,
        100.0 * many_rate / min_rate,
        many.threads
    );
    println!(
        "  resource / curve engine per agent-step, 1 thread: {:.1}% ({:.1} ns vs {:.1} ns)",
        100.0 * one_rate / curve_rate,
        1e9 / one_rate,
        1e9 / curve_rate
    );
    println!(
        "  final price: engine {:.4}, minimal loop {:.4} (different random streams: close, not equal)",
        one.outcome.final_price, min.outcome.final_price
    );
    println!(
        "  peak heap: {:.1} bytes/agent (1 thread), {:.1} ({} threads)",
        per_agent(one.heap.peak(), agents),
        per_agent(many.heap.peak(), agents),
        many.threads
    );
    Ok(())
}
