//! Integration tests of the `agora` library, one binary with a module per
//! behaviour: reproducibility, conservation, curve settlement, bad input and
//! agreement with theory.

mod adaptive;
mod amm;
mod bad_input;
mod collusion;
mod conservation;
mod contracts;
mod curves;
mod custom_metrics;
mod determinism;
mod distributions;
mod egta;
mod evolution;
mod experiments;
mod extend;
mod fuzz;
mod games;
mod governance;
mod governance_rules;
mod incentives;
mod ladder;
mod learners;
mod learning;
mod ledger_exact;
mod ledger_range;
mod library;
mod limits;
mod liquidity;
mod markets;
mod mempool;
mod monitors;
mod numbers;
mod optimize;
mod population;
mod posted_price;
mod posted_rewards;
mod resources;
mod shocks;
mod staking;
mod state;
mod step_api;
mod support;
mod theory;
mod trade_log;
mod trade_log_engine;
