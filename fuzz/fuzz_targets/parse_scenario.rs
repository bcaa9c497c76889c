//! Arbitrary bytes as a scenario file: `Scenario::from_toml_str` never
//! panics, and rejects bad input with a one-line error naming the file first.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/agora/tests/fuzz/mutate.rs"]
mod mutate;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = agora::Scenario::from_toml_str(&text, mutate::ORIGIN) {
        mutate::assert_input_error(&e, &text);
    }
});
