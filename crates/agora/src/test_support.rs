//! What the library's own tests share: one configuration for every
//! property test.

use proptest::test_runner::Config;

/// The configuration of every property test: `ci_cases` cases, or
/// `PROPTEST_CASES` when that is set (the scheduled job sets thousands),
/// and no `proptest-regressions/` files written beside the sources on a
/// failure (the failing input is in the report).
pub fn proptest_config(ci_cases: u32) -> Config {
    Config {
        cases: cases(ci_cases),
        failure_persistence: None,
        ..Config::default()
    }
}

/// `PROPTEST_CASES` if set to a positive whole number, else `ci_cases`.
pub fn cases(ci_cases: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &u32| n > 0)
        .unwrap_or(ci_cases)
}

/// Built-in example `name` set to `steps` steps, and its simulation
/// advanced `at` of them: where the tests of saved states start (they
/// edit the state taken here and restore it).
pub fn example_at(name: &str, steps: u64, at: u64) -> (crate::Scenario, crate::Simulation) {
    let mut s = crate::scenario::example(name).unwrap();
    s.set_steps(steps).unwrap();
    let mut sim = crate::Simulation::new(&s, 0).unwrap();
    for _ in 0..at {
        sim.advance().unwrap();
    }
    (s, sim)
}
