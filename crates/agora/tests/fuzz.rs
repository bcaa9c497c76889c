//! Bad input never panics: scenario texts mutated at random (numbers
//! replaced by extreme or non-finite values, lines dropped or repeated) and
//! scenarios mutated structurally (the `run_scenario` cargo-fuzz target's
//! mutations, see `fuzz/mutate.rs`) are either rejected with a one-line
//! input error or, capped to a few steps and agents, run with every
//! invariant holding. This is the stable, bounded version of the fuzzing
//! campaign in `fuzz/` (README, "Fuzzing"); `AGORA_FUZZ_CASES` sets the
//! number of cases of each property.

pub(crate) mod checkpoint;
mod merge;
mod mutate;

use agora::scenario::examples;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "0.5",
    "1e-300",
    "1e300",
    "1.7976931348623157e308",
    "-0.0",
    "inf",
    "-inf",
    "nan",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967295",
    "1e9",
    "2.5",
    "\"x\"",
    "[]",
    "{}",
    "true",
];

/// Replaces the `which`-th number in `text` by `by`.
fn replace_number(text: &str, which: usize, by: &str) -> String {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let after_eq = i > 0 && matches!(bytes[i - 1], b' ' | b'=' | b'[' | b',');
        if c.is_ascii_digit() && after_eq {
            let mut j = i;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'.' | b'-' | b'+'))
            {
                j += 1;
            }
            starts.push((i, j));
            i = j;
        } else {
            i += 1;
        }
    }
    if starts.is_empty() {
        return text.to_string();
    }
    let (a, b) = starts[which % starts.len()];
    format!("{}{}{}", &text[..a], by, &text[b..])
}

fn mutated() -> impl Strategy<Value = String> {
    let texts: Vec<String> = examples()
        .iter()
        .map(|e| {
            // keep the runs small: fewer agents and steps
            e.toml
                .lines()
                .map(|l| {
                    if l.trim_start().starts_with("count") {
                        "count = 7".to_string()
                    } else if l.trim_start().starts_with("steps") {
                        "steps = 4".to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    (
        prop::sample::select(texts),
        prop::collection::vec((0usize..200, prop::sample::select(EXTREMES)), 1..4),
        prop::option::of((0usize..200, any::<bool>())),
    )
        .prop_map(|(text, replacements, line_edit)| {
            let mut t = text;
            for (which, by) in replacements {
                t = replace_number(&t, which, by);
            }
            if let Some((line, repeat)) = line_edit {
                let mut lines: Vec<&str> = t.lines().collect();
                if !lines.is_empty() {
                    let k = line % lines.len();
                    if repeat {
                        lines.insert(k, lines[k]);
                    } else {
                        lines.remove(k);
                    }
                }
                t = lines.join("\n");
            }
            t
        })
}

/// Cases of each property: `AGORA_FUZZ_CASES`, or `default` (most
/// structural edits are rejected quickly, so that property takes more).
fn cases(default: u32) -> u32 {
    std::env::var("AGORA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A structural-mutation input for the `run_scenario` target: a seed
/// scenario, a NUL byte, then the mutation program.
fn structurally_mutated() -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<String> = mutate::seed_texts()
        .iter()
        .map(|(_, text)| text.clone())
        .collect();
    (
        prop::sample::select(seeds),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(text, ops)| {
            let mut input = text.into_bytes();
            input.push(0);
            input.extend(ops);
            input
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_scenarios_are_rejected_or_run_without_panicking(text in mutated()) {
        mutate::check(&text, 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(2000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn structurally_mutated_scenarios_are_rejected_or_run_with_invariants_holding(
        input in structurally_mutated()
    ) {
        mutate::run_input(&input);
    }
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The committed seed corpus: each example's text for `parse_scenario`, its
/// shrunk form for `run_scenario`; and the dictionary.
fn seed_corpus() -> Vec<(PathBuf, String)> {
    let dir = fuzz_dir().join("corpus");
    let mut files = Vec::new();
    for e in examples() {
        let name = format!("{}.toml", e.name);
        files.push((dir.join("parse_scenario").join(&name), e.toml.to_string()));
    }
    for (name, text) in mutate::seed_texts() {
        files.push((
            dir.join("run_scenario").join(format!("{name}.toml")),
            text.clone(),
        ));
    }
    files.push((fuzz_dir().join("scenario.dict"), dictionary()));
    files
}

/// The committed corpus of `resume_checkpoint`: checkpoint bodies of small
/// runs of [`checkpoint::EXAMPLES`] (their state's layout is this build's).
fn checkpoint_corpus() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join("corpus").join("resume_checkpoint");
    checkpoint::corpus()
        .into_iter()
        .map(|(name, body)| (dir.join(format!("{name}.bin")), body))
        .collect()
}

/// The libFuzzer dictionary (`-dict=fuzz/scenario.dict`): the format's
/// words, TOML's punctuation and the NUL byte that starts a mutation program.
fn dictionary() -> String {
    let mut dict = String::from(
        "# Written by `cargo test -p agora --test main rebuild_seed_corpus -- --ignored`.\n",
    );
    let mut words: Vec<&str> = mutate::WORDS.to_vec();
    words.sort_unstable();
    words.dedup();
    for w in words {
        dict.push_str(&format!("\"{w}\"\n\"{w} = \"\n"));
    }
    for t in [
        "[[assets]]",
        "[[agents]]",
        "[[events]]",
        "[[contracts]]",
        "[[incentives]]",
        "[[governance]]",
        "[[monitors]]",
        "[[metrics]]",
        "[output]",
        "[simulation]",
        "[stability]",
        " = {",
        " = [",
        "nan",
        "inf",
        "\\x00",
    ] {
        dict.push_str(&format!("\"{t}\"\n"));
    }
    dict
}

/// The committed corpus is the one the examples give; rebuild it with
/// `cargo test -p agora --test main rebuild_seed_corpus -- --ignored`.
#[test]
fn seed_corpus_is_up_to_date() {
    let expected = seed_corpus();
    for (path, text) in &expected {
        let found = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            found == *text,
            "{} is out of date: rebuild the seed corpus with \
             `cargo test -p agora --test main rebuild_seed_corpus -- --ignored`",
            path.display()
        );
    }
    let checkpoints = checkpoint_corpus();
    for (path, body) in &checkpoints {
        assert!(
            std::fs::read(path).unwrap_or_default() == *body,
            "{} is out of date (the state's layout or the example changed): rebuild the \
             seed corpus with `cargo test -p agora --test main rebuild_seed_corpus -- --ignored`",
            path.display()
        );
    }
    // No seed of an example that is gone.
    for target in ["parse_scenario", "run_scenario", "resume_checkpoint"] {
        let dir = fuzz_dir().join("corpus").join(target);
        for entry in std::fs::read_dir(&dir).expect("the corpus folder") {
            let path = entry.expect("a corpus entry").path();
            assert!(
                expected.iter().any(|(p, _)| *p == path)
                    || checkpoints.iter().any(|(p, _)| *p == path),
                "{} is not an example's seed: delete it and rebuild the seed corpus with \
                 `cargo test -p agora --test main rebuild_seed_corpus -- --ignored`",
                path.display()
            );
        }
    }
}

/// Writes the seed corpus from the examples (see `seed_corpus_is_up_to_date`).
#[test]
#[ignore = "writes fuzz/corpus; run on purpose after changing the examples"]
fn rebuild_seed_corpus() {
    for target in ["parse_scenario", "run_scenario", "resume_checkpoint"] {
        let dir = fuzz_dir().join("corpus").join(target);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).expect("the old seeds removed");
        }
    }
    let texts = seed_corpus().into_iter().map(|(p, t)| (p, t.into_bytes()));
    for (path, bytes) in texts.chain(checkpoint_corpus()) {
        std::fs::create_dir_all(path.parent().expect("a corpus folder")).expect("corpus folder");
        std::fs::write(&path, bytes).expect("corpus file");
    }
}

/// Every committed fuzz input (the seeds, and crashes triaged and fixed)
/// passes both targets' checks.
#[test]
fn committed_fuzz_inputs_pass() {
    let mut seen = 0;
    for sub in [
        "corpus/parse_scenario",
        "corpus/run_scenario",
        "regressions",
    ] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(sub)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a corpus entry").path();
            if path.is_dir() {
                continue;
            }
            let data = std::fs::read(&path).expect("a corpus file");
            if let Ok(text) = std::str::from_utf8(&data) {
                mutate::check(text, 0);
            }
            mutate::run_input(&data);
            seen += 1;
        }
    }
    assert!(seen >= 2 * examples().len(), "only {seen} committed inputs");
    // `resume_checkpoint`'s inputs are checkpoint bodies.
    let mut bodies = 0;
    for sub in ["corpus/resume_checkpoint", "regressions/resume_checkpoint"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(sub)) else {
            continue;
        };
        for entry in entries {
            let data = std::fs::read(entry.expect("a corpus entry").path()).expect("a body");
            checkpoint::resume_to_the_end(&checkpoint::sealed(&data));
            bodies += 1;
        }
    }
    assert!(
        bodies > checkpoint::EXAMPLES.len(),
        "only {bodies} checkpoint inputs"
    );
}

/// A fixed generator (xorshift64 from `state`, not 0) for the tests that
/// count where a harness's inputs end.
fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// The structural mutations reach both the validation and the engine: of
/// inputs drawn with a fixed generator (one to four edits of each seed), a
/// good share is rejected and a good share runs to completion. A harness
/// whose edits were all rejected would test the parser alone; one whose
/// edits were all accepted would miss the validation.
#[test]
fn structural_mutations_reach_the_validation_and_the_engine() {
    let seeds = mutate::seed_texts();
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    let n = 1000;
    let mut counts = std::collections::BTreeMap::new();
    for i in 0..n {
        let mut input = seeds[i % seeds.len()].1.clone().into_bytes();
        input.push(0);
        let edits = 1 + next() % 4;
        input.extend((0..edits * 4).map(|_| next() as u8));
        *counts
            .entry(format!("{:?}", mutate::run_input(&input)))
            .or_insert(0) += 1;
    }
    eprintln!("{counts:?}");
    let share = |k: &str| f64::from(*counts.get(k).unwrap_or(&0)) / n as f64;
    assert!(share("Rejected") >= 0.2, "{counts:?}");
    assert!(share("Ran") >= 0.1, "{counts:?}");
}

/// Replays a folder of `run_scenario` inputs (a campaign's corpus, a
/// crash) and prints how each ended:
/// `AGORA_FUZZ_REPLAY=DIR cargo test -p agora --test main replay_fuzz_inputs -- --ignored --nocapture`.
#[test]
#[ignore = "needs AGORA_FUZZ_REPLAY=DIR"]
fn replay_fuzz_inputs() {
    let dir = std::env::var("AGORA_FUZZ_REPLAY").expect("AGORA_FUZZ_REPLAY=DIR");
    let mut counts = std::collections::BTreeMap::new();
    for entry in std::fs::read_dir(&dir).expect("a folder") {
        let path = entry.expect("an entry").path();
        let data = std::fs::read(&path).expect("a file");
        let outcome = mutate::run_input(&data);
        *counts.entry(format!("{outcome:?}")).or_insert(0u32) += 1;
    }
    eprintln!("{dir}: {counts:?}");
}

/// Checkpoints of small runs of [`checkpoint::EXAMPLES`], taken after step
/// 6 of 12: the seeds of the edited checkpoints below.
fn checkpoint_seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        checkpoint::EXAMPLES
            .iter()
            .map(|name| checkpoint::checkpoint_of(name, None))
            .collect()
    })
}

/// Checkpoint seed `seed` with its body edited by `edits` — `(at, byte,
/// how)`: the byte at `at`'s share of the body (`at / 2⁶⁴`) gets a bit of
/// `byte` flipped, becomes `byte`, a small count or index (`byte % 32`, one
/// byte in postcard) or 0 or 255 — and its checksum made again.
fn edited_checkpoint(seed: usize, edits: &[(u64, u8, u8)]) -> Vec<u8> {
    let mut body = checkpoint::body(&checkpoint_seeds()[seed]).to_vec();
    for &(at, byte, how) in edits {
        let i = ((body.len() as u128 * u128::from(at)) >> 64) as usize;
        match how {
            0 => body[i] ^= 1 << (byte % 8),
            1 => body[i] = byte,
            2 => body[i] = byte % 32,
            _ => body[i] = if byte % 2 == 0 { 0 } else { 0xff },
        }
    }
    checkpoint::sealed(&body)
}

/// The checkpoint bodies of the committed corpus resume and run to the
/// end: a seed that is refused would leave the `resume_checkpoint` target
/// fuzzing the decoder's first bytes only.
#[test]
fn the_checkpoint_seeds_resume() {
    for (path, _) in checkpoint_corpus() {
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            checkpoint::resume_to_the_end(&checkpoint::sealed(&body)),
            checkpoint::Resumed::Ran,
            "{} does not resume: rebuild the seed corpus with \
             `cargo test -p agora --test main rebuild_seed_corpus -- --ignored`",
            path.display()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(1000),
        failure_persistence: None,
        // A hang's every shrinking step waits for the watchdog below.
        max_shrink_time: 60_000,
        ..ProptestConfig::default()
    })]

    /// A checkpoint's body edited and its checksum made again (a file
    /// written by a tool of one's own, or edited) is refused with an input
    /// error, or resumes to the end and writes its files; nothing panics.
    /// Found this way (7 December): a Q-table whose greedy actions were
    /// cut short, recorded rows naming a group, asset or contract the
    /// scenario does not have, a resource that met more need than it had,
    /// an order book's order owned by an agent past the last.
    #[test]
    fn edited_checkpoints_are_refused_or_resume_without_panicking(
        seed in 0..8usize,
        edits in prop::collection::vec((any::<u64>(), any::<u8>(), 0..4u8), 1..8),
    ) {
        // On a thread of its own, watched: an edited state once looped
        // 2⁶⁴ times in a step, which would hang the suite, not fail it.
        let bytes = edited_checkpoint(seed, &edits);
        let (done, ended) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            checkpoint::resume_to_the_end(&bytes);
            let _ = done.send(());
        });
        match ended.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(()) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                prop_assert!(false, "the edited checkpoint's run did not end in 20 s: a hang")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                prop_assert!(false, "the edited checkpoint's run panicked (above)")
            }
        }
    }
}

/// Two of the campaign's minimal inputs, each refused now. Their offsets
/// depend on the state's layout, so a change of layout fails these loudly
/// (find the campaign's new minimal input with the check removed) rather
/// than letting them pass on another byte.
#[test]
fn edited_checkpoints_the_campaign_found_are_refused() {
    let refused =
        |seed: usize, edit: (u64, u8, u8), reason: &str| match checkpoint::resume_to_the_end(
            &edited_checkpoint(seed, &[edit]),
        ) {
            checkpoint::Resumed::Refused(e) => {
                assert!(e.contains(reason), "expected {reason:?}, got {e}")
            }
            other => panic!("the edited checkpoint was not refused: {other:?}"),
        };
    // `wash-trading`: a monitor's alert count cut off (the summary read
    // past it).
    refused(
        4,
        (18_382_469_704_114_744_816, 8, 0),
        "the state holds 2 monitors (2 flagged sets, 1 alert counts), the scenario 2",
    );
}

/// The committed seeds of `merge_shards` (`fuzz/corpus/merge_shards`, in
/// name order): the folders real `agora sweep --shard` and `agora run
/// --shard` commands write, encoded by `fuzz/merge.rs`.
fn merge_seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = fuzz_dir().join("corpus").join("merge_shards");
        let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| {
                let path = e.expect("a seed").path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).expect("a seed's bytes"))
            })
            .collect();
        seeds.sort();
        seeds
    })
}

/// The merge seeds merge, as the sweeps and ensembles they are: a seed
/// that is refused (a change of the shard record, or of the scenario's
/// text, which its fingerprint covers) would leave `merge_shards` fuzzing
/// the refusals only. The found inputs in `fuzz/regressions/merge_shards`
/// pass the target's checks.
#[test]
fn the_merge_seeds_merge() {
    let mut kinds = std::collections::BTreeSet::new();
    for (name, input) in merge_seeds() {
        let outcome = merge::merge_input(input);
        assert_ne!(
            outcome,
            merge::Outcome::Refused,
            "fuzz/corpus/merge_shards/{name} is refused: rebuild the merge seeds with \
             `cargo test -p agora-cli --test cli rebuild_merge_seed_corpus -- --ignored`"
        );
        kinds.insert(matches!(outcome, merge::Outcome::Sweep(_)));
    }
    assert_eq!(kinds.len(), 2, "seeds of sweeps and of ensembles");
    assert!(
        merge_seeds().len() >= 4,
        "{} merge seeds",
        merge_seeds().len()
    );
    if let Ok(found) = std::fs::read_dir(fuzz_dir().join("regressions").join("merge_shards")) {
        for entry in found {
            merge::merge_input(&std::fs::read(entry.expect("an input").path()).expect("bytes"));
        }
    }
}

/// Merge seed `seed` edited: `numbers` replace numbers of its text by
/// extremes (as the scenario campaign does), then each of `edits` —
/// `(which, value, how)` — drops a file (`how` 0), copies it into folder
/// `value % 10` (1), moves it there (2), cuts it to `value`% of its bytes
/// (3), or sets a byte of the input to `value` (4).
fn edited_shards(seed: usize, numbers: &[(usize, &str)], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let seeds = merge_seeds();
    let mut text = String::from_utf8(seeds[seed % seeds.len()].1.clone()).expect("UTF-8 seeds");
    for &(which, by) in numbers {
        text = replace_number(&text, which, by);
    }
    let mut input = text.into_bytes();
    for &(which, value, how) in edits {
        let mut parts: Vec<Vec<u8>> = input.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
        let k = which % parts.len();
        match how % 5 {
            0 => {
                parts.remove(k);
            }
            1 | 2 => {
                let mut moved = parts[k].clone();
                if let Some(d) = moved.first_mut() {
                    *d = b'0' + value % 10;
                }
                if how % 5 == 1 {
                    parts.push(moved);
                } else {
                    parts[k] = moved;
                }
            }
            3 => {
                let keep = parts[k].len() * usize::from(value % 101) / 100;
                parts[k].truncate(keep);
            }
            _ => {
                if !input.is_empty() {
                    let i = which % input.len();
                    input[i] = value;
                }
                continue;
            }
        }
        input = parts.join(&0);
    }
    input
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(600),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Shard folders edited (their records' numbers set to extremes, files
    /// dropped, copied or moved between folders, cut short, bytes changed)
    /// are merged, holding every point once whatever the folders' order,
    /// or refused with a one-line input error; nothing panics or hangs.
    /// Found this way (stop 50): nothing yet past the records' own checks.
    #[test]
    fn edited_shard_folders_are_merged_or_refused(
        seed in 0..64usize,
        numbers in prop::collection::vec((0usize..400, prop::sample::select(EXTREMES)), 0..3),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..4),
    ) {
        merge::merge_input(&edited_shards(seed, &numbers, &edits));
    }
}

/// The merge campaign's edits reach both ends: of inputs drawn with a
/// fixed generator, a good share merges and a good share is refused. All
/// refused would test the records' checks alone; all merged, none.
#[test]
fn shard_edits_reach_the_merge_and_the_refusals() {
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    let n = 300;
    let (mut merged, mut refused) = (0, 0);
    for _ in 0..n {
        let seed = next() as usize;
        let numbers: Vec<(usize, &str)> = (0..next() % 2)
            .map(|_| {
                (
                    next() as usize % 400,
                    EXTREMES[next() as usize % EXTREMES.len()],
                )
            })
            .collect();
        let edits: Vec<(usize, u8, u8)> = (0..next() % 3)
            .map(|_| (next() as usize, next() as u8, next() as u8))
            .collect();
        match merge::merge_input(&edited_shards(seed, &numbers, &edits)) {
            merge::Outcome::Refused => refused += 1,
            _ => merged += 1,
        }
    }
    assert!(
        merged >= n / 10 && refused >= n / 10,
        "{merged} merged, {refused} refused"
    );
}
