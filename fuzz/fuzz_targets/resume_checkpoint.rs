//! Checkpoints edited byte by byte: the input is a checkpoint's body (the
//! postcard encoding of its scenario and state), sealed with this build's
//! header and the body's SHA-256 (crates/agora/tests/fuzz/checkpoint.rs,
//! shared with the proptest campaign of `cargo test`), so that every input
//! passes the checksum and reaches the decoder and the checks behind it.
//! Each is refused with a one-line input error, or resumes, runs to the
//! end with every invariant holding and writes its files.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/agora/tests/fuzz/checkpoint.rs"]
mod checkpoint;

fuzz_target!(|body: &[u8]| {
    checkpoint::resume_to_the_end(&checkpoint::sealed(body));
});
