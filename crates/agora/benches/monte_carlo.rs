//! Monte Carlo throughput: runs per second of the reference scenario at one
//! thread and at the default number of threads (runs execute in parallel),
//! and a 100-run × 10,000-agent × 100-step ensemble end to end.
//!
//! ```text
//! cargo bench -p agora --bench monte_carlo
//! AGORA_BENCH_QUICK=1 cargo bench -p agora --bench monte_carlo   # smoke test
//! ```

// Only the guard, the quick switch and the thread pool are used here, not
// the engine harness: the rest of the shared module is dead code in this
// binary.
#[allow(dead_code)]
mod common;

use agora::experiment::{aggregate, monte_carlo};
use agora::scenario::example;
use common::BenchResult;
use std::time::Instant;

fn main() -> BenchResult<()> {
    if !common::run_by_cargo_bench() {
        println!("run with: cargo bench -p agora --bench monte_carlo");
        return Ok(());
    }
    let quick = common::quick();
    let (runs, steps, reps) = if quick { (4, 5, 1) } else { (100, 100, 2) };
    let mut scenario = example("reference")?;
    scenario.set_steps(steps)?;
    scenario.set_runs(runs)?;
    let agents = scenario.agent_count();
    let default_threads = rayon::current_num_threads();
    println!("Monte Carlo of the reference scenario: {runs} runs x {agents} agents x {steps} steps (best of {reps})");
    println!();
    println!("| threads | seconds | runs/s | agent-steps/s | speed-up | mean final price | p5–p95 final price |");
    println!("|---|---|---|---|---|---|---|");
    let mut first = None;
    for threads in [1, default_threads.max(2)] {
        let pool = common::pool(threads)?;
        let mut best = f64::INFINITY;
        let mut outputs = Vec::new();
        for _ in 0..reps {
            let t0 = Instant::now();
            outputs = pool.install(|| monte_carlo(&scenario, &|_| {}))?;
            best = best.min(t0.elapsed().as_secs_f64());
        }
        let ensemble = aggregate(&outputs)?;
        let d = ensemble
            .distributions
            .iter()
            .find(|(p, _)| p == "assets.TOKEN.final_price")
            .map(|(_, d)| *d)
            .ok_or("no final price")?;
        let speed_up = first.map_or(1.0, |t1: f64| t1 / best);
        first.get_or_insert(best);
        println!(
            "| {threads} | {best:.3} | {:.2} | {:.3e} | {speed_up:.2}x | {:.4} | {:.4}–{:.4} |",
            runs as f64 / best,
            (runs * steps * agents) as f64 / best,
            d.mean,
            d.p5,
            d.p95
        );
    }
    Ok(())
}
