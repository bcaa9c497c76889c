//! Integration tests of the `agora` library, one binary with a module per
//! behaviour: reproducibility, conservation, curve settlement, bad input and
//! agreement with theory.

mod bad_input;
mod conservation;
mod curves;
mod determinism;
mod experiments;
mod fuzz;
mod games;
mod learners;
mod ledger_range;
mod library;
mod limits;
mod markets;
mod numbers;
mod optimize;
mod posted_price;
mod resources;
mod shocks;
mod theory;

/// A property test's configuration: `default_cases` cases, or
/// `PROPTEST_CASES` when set (the scheduled job runs thousands), and
/// failures kept in the test report, never written as
/// `proptest-regressions/` files into the source tree.
pub(crate) fn proptest_config(default_cases: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}
