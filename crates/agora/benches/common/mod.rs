//! What the benchmarks share: the `cargo test` guard and the
//! `AGORA_BENCH_QUICK` switch; the `reference` scenario at a given size; the
//! harness that times the engine (`Simulation::new` and `run` apart, best of
//! several repetitions, in a pool of a given number of threads) and measures
//! its heap, with the table of heap bytes per agent; the best of several
//! runs of a minimal loop.
//!
//! Each bench binary includes it as `mod common;` and compiles its own copy;
//! being a directory, `benches/common/` is not a bench target of its own.
//! The heap figures need the bench's global allocator to be a
//! [`PeakAlloc`]: a bench that measures them declares it and passes it to
//! [`time_engine`] (one that does not keeps the system allocator, so that its
//! timings carry no counting cost).

use std::time::{Duration, Instant};

use agora::{RunOutput, Scenario, Simulation};
use peak_alloc::PeakAlloc;

pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Whether `cargo bench` started the binary (it passes `--bench`); under
/// `cargo test --all-targets` a benchmark only says how to run it, so that
/// the test suite builds it without running it.
pub fn run_by_cargo_bench() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Whether `AGORA_BENCH_QUICK` (set, not empty and not `0`) asks for the
/// tiny smoke-test sizes.
pub fn quick() -> bool {
    std::env::var("AGORA_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Under `cargo bench`, whether to run the quick sizes ([`quick`]); under
/// `cargo test`, `None` after saying how to run the benchmark `name`.
pub fn quick_or_skip(name: &str) -> Option<bool> {
    if run_by_cargo_bench() {
        return Some(quick());
    }
    println!("{name} benchmark: not run under `cargo test`; run it with");
    println!("    cargo bench -p agora --bench {name}");
    None
}

/// A pool of `threads` threads (0: rayon's default).
pub fn pool(threads: usize) -> BenchResult<rayon::ThreadPool> {
    Ok(rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?)
}

/// Prints the thread counts the engine runs at: 1 and rayon's default.
pub fn print_threads() -> BenchResult<()> {
    let default_threads = pool(0)?.current_num_threads();
    println!("threads: 1 and the default ({default_threads}; RAYON_NUM_THREADS or all cores)");
    Ok(())
}

/// The built-in `reference` example (noise traders on the linear curve
/// P = 0.001·S + 1) with `agents` agents and `steps` steps.
pub fn reference_scenario(agents: u64, steps: u64) -> BenchResult<Scenario> {
    let mut scenario =
        agora::scenario::example("reference")?.with_param("agents.noise.count", agents as f64)?;
    scenario.set_steps(steps)?;
    if scenario.agent_count() != agents {
        return Err(format!(
            "the reference scenario has {} agents, not {agents}",
            scenario.agent_count()
        )
        .into());
    }
    Ok(scenario)
}

/// Heap figures of one engine run, bytes above what was allocated before
/// `Simulation::new`.
#[derive(Debug, Clone, Copy)]
pub struct Heap {
    /// Peak during `Simulation::new`.
    pub setup_peak: usize,
    /// Held by the simulation when set up.
    pub after_setup: usize,
    /// Peak during `run` (the simulation's own state included).
    pub run_peak: usize,
    /// Held by the run's output (records and summary) afterwards.
    pub output: usize,
}

impl Heap {
    pub fn peak(&self) -> usize {
        self.setup_peak.max(self.run_peak)
    }
}

/// The best (shortest) times of several repetitions of the engine, and what
/// the first repetition measured of the heap and of the outcome.
pub struct EngineFigures<O> {
    pub threads: usize,
    pub setup: Duration,
    pub run: Duration,
    pub outcome: O,
    pub heap: Heap,
}

/// Runs the engine on `scenario` `reps` times in a pool of `threads`
/// threads (0: rayon's default) and keeps the best times. `alloc` is the
/// bench's global allocator, which counts the heap; `outcome` reads what
/// the bench reports of a run from its output.
pub fn time_engine<O: Send>(
    alloc: &PeakAlloc,
    scenario: &Scenario,
    reps: usize,
    threads: usize,
    outcome: impl Fn(&RunOutput) -> BenchResult<O> + Sync,
) -> BenchResult<EngineFigures<O>> {
    let pool = pool(threads)?;
    let threads = pool.current_num_threads();
    pool.install(|| {
        let mut best: Option<EngineFigures<O>> = None;
        for _ in 0..reps {
            let base = alloc.current_usage();
            alloc.reset_peak_usage();
            let t0 = Instant::now();
            let sim = Simulation::new(scenario, 0)?;
            let setup = t0.elapsed();
            let setup_peak = alloc.peak_usage().saturating_sub(base);
            let after_setup = alloc.current_usage().saturating_sub(base);
            alloc.reset_peak_usage();
            let t1 = Instant::now();
            let out = sim.run()?;
            let run = t1.elapsed();
            let heap = Heap {
                setup_peak,
                after_setup,
                run_peak: alloc.peak_usage().saturating_sub(base),
                output: alloc.current_usage().saturating_sub(base),
            };
            let outcome = outcome(&out)?;
            drop(out);
            let figures = EngineFigures {
                threads,
                setup,
                run,
                outcome,
                heap,
            };
            best = Some(match best {
                None => figures,
                Some(b) => EngineFigures {
                    setup: b.setup.min(figures.setup),
                    run: b.run.min(figures.run),
                    ..b
                },
            });
        }
        best.ok_or_else(|| "no repetitions".into())
    })
}

/// The fastest of `reps` runs (at least one) of a minimal loop, `run`
/// called with the seeds 1, 2, …; `time` is how long a run took (the
/// earliest of equally fast runs is kept).
pub fn fastest<T>(reps: usize, mut run: impl FnMut(u64) -> T, time: impl Fn(&T) -> Duration) -> T {
    let mut best = run(1);
    for seed in 2..=reps as u64 {
        let m = run(seed);
        if time(&m) < time(&best) {
            best = m;
        }
    }
    best
}

/// Agent-steps per second.
pub fn rate(agents: u64, steps: u64, d: Duration) -> f64 {
    (agents * steps) as f64 / d.as_secs_f64()
}

pub fn per_agent(bytes: usize, agents: u64) -> f64 {
    bytes as f64 / agents as f64
}

/// Prints the table of the engine's heap bytes per agent, then a blank
/// line: a row per `(label, figures, agents)`, the label in a first column
/// headed `first_column`.
pub fn print_heap_table<O>(first_column: &str, rows: &[(String, &EngineFigures<O>, u64)]) {
    println!(
        "engine heap, bytes per agent (first repetition; above the heap before Simulation::new):"
    );
    println!(
        "| {first_column} | threads | setup+run peak | set-up peak | held after set-up | run peak | output kept |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, e, agents) in rows {
        let h = e.heap;
        let a = *agents;
        println!(
            "| {label} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            e.threads,
            per_agent(h.peak(), a),
            per_agent(h.setup_peak, a),
            per_agent(h.after_setup, a),
            per_agent(h.run_peak, a),
            per_agent(h.output, a),
        );
    }
    println!();
}
