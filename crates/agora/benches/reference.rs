//! Benchmark of the reference scenario: the engine against a hand-written
//! minimal loop of the same model.
//!
//! Runs the built-in `reference` example (noise traders on the linear curve
//! P = 0.001·S + 1) at 10,000 agents × 100 steps and at 1,000,000 agents ×
//! 10 steps through the public engine API, at one thread and at the default
//! number of threads, and beside it a single-threaded plain-Rust loop of the
//! same model (f64 balances and holdings, closed-form curve integrals, the
//! same as `bench/peers/plain_python.py`). It prints agent-steps per second
//! of the simulation loop (set-up excluded, timed and shown apart), the
//! ratio engine / minimal loop (target ≥ 30%), the final prices of both, and
//! the engine's peak heap bytes per agent (target ≤ 100 at a million agents),
//! counted by a wrapping global allocator.
//!
//! It also times the whole `agora run --example reference --threads N
//! --quiet` process (parsing, set-up, the run and writing the outputs, from
//! the command line's release binary: `AGORA_BIN`, else
//! `target/release/agora` of the workspace, skipped if there is none),
//! alternating with the minimal loop of the same size, and prints the ratio
//! (target ≥ 0.35×).
//!
//! ```text
//! cargo build --release -p agora-cli   # for the whole-process figures
//! cargo bench -p agora --bench reference
//! AGORA_BENCH_QUICK=1 cargo bench -p agora --bench reference   # smoke test
//! ```
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it only says how
//! to run it, so that the test suite builds it without running it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use agora::Scenario;
use common::{fastest, per_agent, rate, time_engine, BenchResult, EngineFigures};
use peak_alloc::PeakAlloc;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Counts the bytes currently allocated on the heap and their peak.
#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// The reference model's constants (also in `scenarios/reference.toml`).
const M: f64 = 0.001;
const B: f64 = 1.0;
const BALANCE: f64 = 1000.0;

/// One benchmark size.
struct Size {
    agents: u64,
    steps: u64,
    reps: usize,
}

/// What a run of the engine reported of its outcome (from the summary).
struct Outcome {
    final_price: f64,
    conservation_error: f64,
}

struct MinimalFigures {
    run: Duration,
    final_price: f64,
    conservation_error: f64,
}

/// Runs the engine `reps` times in a pool of `threads` threads (0: rayon's
/// default) and keeps the best times.
fn engine(scenario: &Scenario, reps: usize, threads: usize) -> BenchResult<EngineFigures<Outcome>> {
    time_engine(&ALLOC, scenario, reps, threads, |out| {
        let token = out
            .summary
            .assets
            .get("TOKEN")
            .ok_or("no asset TOKEN in the summary")?;
        Ok(Outcome {
            final_price: token.final_price,
            conservation_error: out.summary.ledger.conservation_error,
        })
    })
}

/// The reference model written out in plain Rust, single-threaded: f64
/// balances and holdings, a freshly shuffled order each step, each agent
/// buying with probability 0.5 (10% of its balance along the curve
/// integral) or else selling 10% of its holdings for the integral refund.
/// Returns the time of the step loop (allocation excluded).
fn minimal(agents: usize, steps: u64, seed: u64) -> MinimalFigures {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut balance = vec![BALANCE; agents];
    let mut holdings = vec![0.0f64; agents];
    let mut order: Vec<u32> = (0..agents as u32).collect();
    let mut supply = 0.0f64;
    let mut reserve = 0.0f64;
    let mut prices = Vec::with_capacity(steps as usize);
    let t0 = Instant::now();
    for _ in 0..steps {
        order.shuffle(&mut rng);
        for &k in &order {
            let k = k as usize;
            if rng.random::<f64>() < 0.5 {
                let cost = balance[k] * 0.1;
                let after = (-B + ((B + M * supply).powi(2) + 2.0 * M * cost).sqrt()) / M;
                holdings[k] += after - supply;
                balance[k] -= cost;
                reserve += cost;
                supply = after;
            } else {
                let d = holdings[k] * 0.1;
                let refund = 0.5 * M * (supply * supply - (supply - d).powi(2)) + B * d;
                holdings[k] -= d;
                balance[k] += refund;
                reserve -= refund;
                supply -= d;
            }
        }
        prices.push(M * supply + B);
    }
    let run = t0.elapsed();
    std::hint::black_box(&prices);
    let held: f64 = balance.iter().sum();
    MinimalFigures {
        run,
        final_price: M * supply + B,
        conservation_error: (held + reserve - BALANCE * agents as f64).abs(),
    }
}

/// The command line's release binary: `AGORA_BIN`, else the workspace's
/// `target/release/agora`; `None` if it does not exist.
fn cli_binary() -> Option<PathBuf> {
    let path = match std::env::var_os("AGORA_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/agora"),
    };
    path.is_file().then_some(path)
}

/// Wall time of one whole `agora run --example reference` process of
/// `steps` steps at `threads` threads, writing into `out`.
fn process_time(bin: &Path, steps: u64, threads: usize, out: &Path) -> BenchResult<Duration> {
    let t0 = Instant::now();
    let status = Command::new(bin)
        .args(["run", "--example", "reference", "--quiet", "--steps"])
        .arg(steps.to_string())
        .arg("--threads")
        .arg(threads.to_string())
        .arg("--out")
        .arg(out)
        .status()?;
    let took = t0.elapsed();
    if !status.success() {
        return Err(format!("{} run --example reference failed: {status}", bin.display()).into());
    }
    Ok(took)
}

/// The whole `agora run --example reference` process (10,000 agents) at 1
/// and 2 threads against the minimal loop of the same size, best of `reps`
/// of each, the three run in turn so that a drift of the machine's speed
/// touches all of them.
fn whole_process(bin: &Path, steps: u64, reps: usize) -> BenchResult<()> {
    let out = std::env::temp_dir().join(format!("agora-bench-reference-{}", std::process::id()));
    let (mut one, mut two, mut min) = (Duration::MAX, Duration::MAX, Duration::MAX);
    // one warm-up of each (page cache, CPU frequency)
    process_time(bin, steps, 1, &out)?;
    minimal(10_000, steps, 0);
    for rep in 0..reps {
        one = one.min(process_time(bin, steps, 1, &out)?);
        two = two.min(process_time(bin, steps, 2, &out)?);
        min = min.min(minimal(10_000, steps, rep as u64).run);
    }
    let _ = std::fs::remove_dir_all(&out);
    println!(
        "whole process, `{} run --example reference --steps {steps} --threads N --quiet` (best of {reps}, in turn with the minimal loop):",
        bin.display()
    );
    println!("| implementation | threads | seconds | agent-steps/s | process / minimal loop |");
    println!("|---|---|---|---|---|");
    let min_rate = rate(10_000, steps, min);
    for (threads, d) in [(1, one), (2, two)] {
        let r = rate(10_000, steps, d);
        println!(
            "| agora run (whole process) | {threads} | {:.4} | {r:.3e} | {:.3}× ({}) |",
            d.as_secs_f64(),
            r / min_rate,
            if r / min_rate >= 0.35 {
                "target 0.35×: met"
            } else {
                "target 0.35×: NOT met"
            },
        );
    }
    println!(
        "| minimal loop (step loop only) | 1 | {:.4} | {min_rate:.3e} | 1 |",
        min.as_secs_f64()
    );
    println!();
    Ok(())
}

fn main() -> BenchResult<()> {
    let Some(quick) = common::quick_or_skip("reference") else {
        return Ok(());
    };
    let sizes = if quick {
        vec![
            Size {
                agents: 1_000,
                steps: 10,
                reps: 1,
            },
            Size {
                agents: 20_000,
                steps: 2,
                reps: 1,
            },
        ]
    } else {
        vec![
            Size {
                agents: 10_000,
                steps: 100,
                reps: 5,
            },
            Size {
                agents: 1_000_000,
                steps: 10,
                reps: 3,
            },
        ]
    };
    println!(
        "reference scenario benchmark{} (best of the repetitions; set-up timed apart)",
        if quick { " [AGORA_BENCH_QUICK]" } else { "" }
    );
    common::print_threads()?;
    println!();

    let mut rows = Vec::new();
    for size in &sizes {
        let scenario = common::reference_scenario(size.agents, size.steps)?;
        let one = engine(&scenario, size.reps, 1)?;
        let many = engine(&scenario, size.reps, 0)?;
        let agents = size.agents as usize;
        let min = fastest(
            size.reps,
            |seed| minimal(agents, size.steps, seed),
            |m| m.run,
        );
        rows.push((size, one, many, min));
    }

    println!(
        "| agents × steps | reps | implementation | threads | set-up s | loop s | agent-steps/s | engine / minimal | final price | conservation error |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (size, one, many, min) in &rows {
        let label = format!("{} × {}", size.agents, size.steps);
        let min_rate = rate(size.agents, size.steps, min.run);
        for e in [one, many] {
            let r = rate(size.agents, size.steps, e.run);
            println!(
                "| {label} | {} | engine | {} | {:.4} | {:.4} | {:.3e} | {:.1}% | {:.6} | {} |",
                size.reps,
                e.threads,
                e.setup.as_secs_f64(),
                e.run.as_secs_f64(),
                r,
                100.0 * r / min_rate,
                e.outcome.final_price,
                e.outcome.conservation_error,
            );
        }
        println!(
            "| {label} | {} | minimal loop | 1 | - | {:.4} | {:.3e} | 100% | {:.6} | {:.3e} |",
            size.reps,
            min.run.as_secs_f64(),
            min_rate,
            min.final_price,
            min.conservation_error,
        );
    }
    println!();

    let heap_rows: Vec<_> = rows
        .iter()
        .flat_map(|(size, one, many, _)| {
            [one, many].map(|e| (format!("{} × {}", size.agents, size.steps), e, size.agents))
        })
        .collect();
    common::print_heap_table("agents × steps", &heap_rows);

    match cli_binary() {
        Some(bin) => whole_process(&bin, if quick { 2 } else { 100 }, if quick { 1 } else { 5 })?,
        None => println!(
            "whole process: skipped (no agora binary: `cargo build --release -p agora-cli`, or set AGORA_BIN)\n"
        ),
    }

    println!("targets: engine >= 30% of the minimal loop; <= 100 peak heap bytes per agent at 1,000,000 agents");
    for (size, one, many, min) in &rows {
        let min_rate = rate(size.agents, size.steps, min.run);
        for e in [one, many] {
            let ratio = rate(size.agents, size.steps, e.run) / min_rate;
            let bytes = per_agent(e.heap.peak(), size.agents);
            println!(
                "  {} × {}, {} thread(s): engine/minimal {:.1}% ({}), peak heap {:.1} bytes/agent ({}), final price {:.4} vs {:.4}",
                size.agents,
                size.steps,
                e.threads,
                100.0 * ratio,
                if ratio >= 0.3 { "met" } else { "NOT met" },
                bytes,
                if bytes <= 100.0 { "met" } else { "NOT met" },
                e.outcome.final_price,
                min.final_price,
            );
        }
    }
    Ok(())
}
