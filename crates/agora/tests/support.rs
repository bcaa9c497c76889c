//! What the test modules share.

use proptest::test_runner::Config;

/// The configuration of every property test: `ci_cases` cases (hundreds:
/// the per-change CI), or `PROPTEST_CASES` when set (the scheduled job
/// runs thousands), and no `proptest-regressions/` files written beside
/// the sources on a failure (the failing input is in the report).
pub fn proptest_config(ci_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &u32| n > 0)
        .unwrap_or(ci_cases);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}
