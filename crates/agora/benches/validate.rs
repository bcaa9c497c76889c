//! Benchmark of reading and validating a scenario with many groups: the
//! time per group should not grow with the number of groups.
//!
//! Before the checks used maps, each group was compared with every earlier
//! one (duplicate names), so that 200,000 groups took over 60 s; each size
//! here doubles the last, and the time per group stays flat when
//! validation is linear. A scenario of `n` groups of one agent each, with
//! a `join` and a `leave` event for every tenth group, is generated as
//! TOML text, then parsed and validated (`Scenario::from_toml_str`), best
//! of 3.
//!
//! ```text
//! cargo bench -p agora --bench validate
//! AGORA_BENCH_QUICK=1 cargo bench -p agora --bench validate   # smoke test
//! ```
//!
//! Under `cargo test --all-targets` (no `--bench` argument) it only says how
//! to run it.

// Only the guard and the quick switch are used here.
#[allow(dead_code)]
mod common;

use std::fmt::Write;
use std::time::{Duration, Instant};

use agora::Scenario;

/// `n` groups, and join and leave events for every tenth.
fn scenario(n: usize) -> String {
    let mut text = String::from(
        "[simulation]\nsteps = 10\nseed = 1\n[[assets]]\nname = \"T\"\n\
         pricing = { kind = \"bonding_curve\", curve = \"linear\", m = 0.001, b = 1.0 }\n",
    );
    for i in 0..n {
        let _ = write!(
            text,
            "[[agents]]\ngroup = \"g{i}\"\ncount = 1\nbalance = 10.0\npolicy = {{ kind = \"random\", \
             asset = \"T\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }}\n"
        );
    }
    for i in (0..n).step_by(10) {
        let _ = write!(
            text,
            "[[events]]\nat = 2\nkind = \"join\"\ngroup = \"g{i}\"\n\
             [[events]]\nat = 5\nkind = \"leave\"\ngroup = \"g{i}\"\n"
        );
    }
    text
}

fn main() -> common::BenchResult<()> {
    let Some(quick) = common::quick_or_skip("validate") else {
        return Ok(());
    };
    let sizes: &[usize] = if quick {
        &[1_000, 2_000]
    } else {
        &[25_000, 50_000, 100_000, 200_000]
    };
    println!("| groups | events | file | best of 3 | per group |");
    println!("|---|---|---|---|---|");
    for &n in sizes {
        let text = scenario(n);
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let started = Instant::now();
            let s = Scenario::from_toml_str(&text, "generated")?;
            best = best.min(started.elapsed());
            assert_eq!(s.groups().len(), n);
        }
        println!(
            "| {n} | {} | {:.1} MB | {:.3} s | {:.2} µs |",
            n / 10 * 2,
            text.len() as f64 / 1e6,
            best.as_secs_f64(),
            best.as_secs_f64() * 1e6 / n as f64
        );
    }
    Ok(())
}
