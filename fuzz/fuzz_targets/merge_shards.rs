//! Shard folders edited byte by byte, for `agora merge`: the input is the
//! folders' files (crates/agora/tests/fuzz/merge.rs, shared with the
//! proptest campaign of `cargo test`), written into a scratch folder and
//! merged as a sweep and as an ensemble, in the order given and reversed.
//! Each set is refused with a one-line input error, or merges into a
//! whole that holds every point once, whatever the folders' order.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/agora/tests/fuzz/merge.rs"]
mod merge;

fuzz_target!(|input: &[u8]| {
    merge::merge_input(input);
});
