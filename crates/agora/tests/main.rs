//! Integration tests of the `agora` library, one binary with a module per
//! behaviour: reproducibility, conservation, curve settlement, bad input and
//! agreement with theory.

mod adaptive;
mod bad_input;
mod conservation;
mod curves;
mod determinism;
mod distributions;
mod experiments;
mod fuzz;
mod games;
mod learners;
mod ledger_exact;
mod ledger_range;
mod library;
mod limits;
mod markets;
mod numbers;
mod optimize;
mod posted_price;
mod resources;
mod shocks;
mod step_api;
mod support;
mod theory;
mod trade_log;
