//! Whole runs of mutated scenarios: the input is a scenario's text,
//! optionally followed by a NUL byte and a program of structural mutations
//! (crates/agora/tests/fuzz/mutate.rs, shared with the proptest campaign of
//! `cargo test`). Each scenario is either rejected with a one-line input
//! error or, capped to a few steps and agents, runs with every invariant
//! holding, deciding lazily or eagerly alike, and writes outputs that read
//! back as the same scenario.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/agora/tests/fuzz/mutate.rs"]
mod mutate;

fuzz_target!(|data: &[u8]| {
    mutate::run_input(data);
});
