//! Checkpoints edited byte by byte, their checksum made again (a file
//! written by a tool of one's own, or edited): shared by the stable
//! proptest campaign of `cargo test` (tests/fuzz.rs) and the
//! `resume_checkpoint` cargo-fuzz target (fuzz/fuzz_targets), so that CI's
//! short campaign and a long nightly one check the same property: an
//! edited body is refused with a one-line input error, or it resumes, runs
//! to the end and writes its files. Nothing panics, nothing hangs.
//!
//! The cargo-fuzz target's input is a checkpoint's *body* (the postcard
//! encoding of the scenario and the state); [`sealed`] puts this build's
//! header and the body's SHA-256 around it, so that every input reaches
//! the decoder and the checks behind it rather than stopping at the
//! checksum. Its seed corpus, `fuzz/corpus/resume_checkpoint`, holds the
//! bodies of [`corpus`]; `fuzz::the_checkpoint_corpus_resumes` fails when a
//! change of the state's layout makes them stale, and says how to write
//! them again.

// Each user of this file (the test binary, the fuzz target) uses a part.
#![allow(dead_code)]

use agora::engine::Checkpoint;
use sha2::{Digest, Sha256};

/// Bytes of the checkpoint file header: magic, format version, body length.
pub const HEADER: usize = 17 + 4 + 8;

/// Bytes of the SHA-256 that ends a checkpoint file.
pub const DIGEST: usize = 32;

/// Examples with the most kinds of state: learners (Q-tables, bandits,
/// policy gradients), contracts with their referrals and vesting, monitors,
/// order books, an AMM with a mempool, governance, evolving groups (the
/// proptest campaign's seeds, at the examples' own sizes).
pub const EXAMPLES: [&str; 8] = [
    "learning-traders",
    "affiliate-tasks",
    "cartel",
    "sandwich",
    "wash-trading",
    "market-clearing",
    "intelligence-ladder",
    "strategy-arms-race",
];

/// A resumed scenario with more agents than this, or more steps than
/// [`MAX_STEPS`], is read and restored but not run: an edit of the saved
/// scenario's text can ask for a billion of either, which is a big run,
/// not a bug.
pub const MAX_AGENTS: u64 = 2_000;

/// See [`MAX_AGENTS`].
pub const MAX_STEPS: u64 = 64;

/// The checkpoint file of `example` after step 6 of 12; with each group
/// capped at `group` agents when given (the fuzz corpus: small bodies run
/// fast), else at the example's own size.
pub fn checkpoint_of(example: &str, group: Option<u32>) -> Vec<u8> {
    let s = capped(example, group.unwrap_or(u32::MAX), 12);
    let mut sim = agora::Simulation::new(&s, 0).unwrap();
    for _ in 0..6 {
        sim.advance().unwrap();
    }
    Checkpoint::of(&s, &sim, Vec::new())
        .unwrap()
        .to_bytes()
        .unwrap()
}

/// `example` run for `steps` steps, each group capped at `group` agents
/// (also used by the determinism tests).
pub fn capped(example: &str, group: u32, steps: u64) -> agora::Scenario {
    let mut s = agora::scenario::example(example).unwrap();
    s.set_steps(steps).unwrap();
    let mut table = s.to_table().clone();
    if let Some(toml::Value::Array(groups)) = table.get_mut("agents") {
        for g in groups.iter_mut().filter_map(toml::Value::as_table_mut) {
            if let Some(toml::Value::Integer(count)) = g.get_mut("count") {
                *count = (*count).min(i64::from(group));
            }
        }
    }
    agora::Scenario::from_table(table, example, &Default::default())
        .unwrap_or_else(|e| panic!("{example} capped at {group} agents a group: {e}"))
}

/// The bodies the cargo-fuzz target starts from: every example at up to 40
/// agents a group, after step 6 of 12, named by example (every kind of
/// state: eight examples' seeds reached 16,900 edges in 8 minutes of
/// fuzzing, all of them 19,900).
pub fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    agora::scenario::examples()
        .iter()
        .map(|e| (e.name, body(&checkpoint_of(e.name, Some(40))).to_vec()))
        .collect()
}

/// The body of checkpoint file `file`.
pub fn body(file: &[u8]) -> &[u8] {
    &file[HEADER..file.len() - DIGEST]
}

/// A checkpoint file of `body`: this build's header (magic, format
/// version, the body's length) and the body's SHA-256 around it.
pub fn sealed(body: &[u8]) -> Vec<u8> {
    static MAGIC: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let magic = MAGIC.get_or_init(|| {
        let mut s = agora::scenario::example("token-economy").unwrap();
        s.set_steps(1).unwrap();
        let sim = agora::Simulation::new(&s, 0).unwrap();
        let file = Checkpoint::of(&s, &sim, Vec::new())
            .unwrap()
            .to_bytes()
            .unwrap();
        file[..HEADER - 8].to_vec()
    });
    let mut bytes = Vec::with_capacity(HEADER + body.len() + DIGEST);
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(&Sha256::digest(body));
    bytes
}

/// What became of a checkpoint's bytes.
#[derive(Debug, PartialEq)]
pub enum Resumed {
    /// Refused as bad input, with this one-line error.
    Refused(String),
    /// Resumed and run to the end (or to a step that failed with an error
    /// that is not a broken invariant: a value the run cannot go on with).
    Ran,
    /// Resumed; its scenario, edited, is larger than a fuzz input should
    /// run ([`MAX_AGENTS`], [`MAX_STEPS`]).
    TooLarge,
}

/// Reads `bytes` as a checkpoint file, resumes it, runs it to the end and
/// writes its files (in memory). Panics where the property breaks: a
/// refusal that is not a one-line input error, a broken invariant in a step
/// of a state that was checked as it was restored, or a panic inside.
pub fn resume_to_the_end(bytes: &[u8]) -> Resumed {
    let refused = |e: agora::Error| {
        let message = e.to_string();
        assert!(e.is_input_error(), "refused, but not as bad input: {e}");
        assert!(
            !message.contains('\n'),
            "an error of more than one line: {message:?}"
        );
        Resumed::Refused(message)
    };
    let checkpoint = match Checkpoint::from_bytes(bytes, "edited") {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    match checkpoint.scenario() {
        Ok(s) if s.agent_count() > MAX_AGENTS || s.simulation().steps > MAX_STEPS => {
            return Resumed::TooLarge
        }
        Ok(_) => {}
        Err(e) => return refused(e),
    }
    let (scenario, mut sim) = match checkpoint.resume() {
        Ok(resumed) => resumed,
        Err(e) => return refused(e),
    };
    while !sim.done() {
        if let Err(e) = sim.advance() {
            assert!(
                !matches!(e.kind(), agora::ErrorKind::Invariant { .. }),
                "a restored state passed its checks, and then a step broke an invariant: {e}"
            );
            return Resumed::Ran;
        }
    }
    if let Ok(out) = sim.finish() {
        let _ = agora::output::run_files(&scenario, std::slice::from_ref(&out));
    }
    Resumed::Ran
}
