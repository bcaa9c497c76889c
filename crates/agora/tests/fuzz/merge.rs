//! Shard folders edited byte by byte, for `agora merge`: shared by the
//! stable proptest campaign of `cargo test` (tests/fuzz.rs) and the
//! `merge_shards` cargo-fuzz target (fuzz/fuzz_targets), so that CI's
//! short campaign and a long one check the same property. A set of shard
//! folders, whatever their files say, is merged or refused with a one-line
//! error naming a file; a merge that succeeds holds every point (or run)
//! of the whole once, and does not depend on the order of the folders.
//! Nothing panics, nothing hangs, nothing is listed without end.
//!
//! An input is the folders' files, each as `D/NAME`, a line break and its
//! bytes, separated by NUL bytes ([`files`]); `D` is a digit, the folder,
//! and `NAME` a path inside it (`shard.json`, `points/0/assets.csv`;
//! empty for the folder alone). Every `@VERSION@` stands for this build's
//! version, so that the committed seeds stay the shards of this version.
//! The seeds (`fuzz/corpus/merge_shards`) are the folders real `agora
//! sweep --shard` and `agora run --shard` commands write ([`encode`]),
//! written by `cargo test -p agora-cli --test cli rebuild_merge_seed_corpus
//! -- --ignored`; `fuzz::committed_fuzz_inputs_pass` fails when one of
//! them no longer merges.

// Each user of this file (the test binaries, the fuzz target) uses a part.
#![allow(dead_code)]

use agora::output::shards::{merge_runs, merge_sweeps, ShardInfo, SHARD_FILE};
use agora::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Stands for this build's version in an input.
pub const VERSION_MARK: &str = "@VERSION@";

/// The files an encoded folder leaves out: the lock and list of what Agora
/// wrote, which `merge` does not read.
const LEFT_OUT: [&str; 1] = [agora::output::MANIFEST];

/// A file of an input: its folder (a digit), its path in the folder
/// (empty: the folder alone) and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The folder, `0` to `9`.
    pub folder: u8,
    /// `/`-separated names of letters, digits, `.`, `_` and `-` (no `.`
    /// or `..`); empty for the folder alone.
    pub name: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// The folders of an input in the order they first appear, and its files.
/// A part whose first line is not `D/NAME` is skipped.
pub fn files(input: &[u8]) -> (Vec<u8>, Vec<File>) {
    let mut folders = Vec::new();
    let mut out = Vec::new();
    for part in input.split(|&b| b == 0) {
        let line_end = part.iter().position(|&b| b == b'\n').unwrap_or(part.len());
        let (head, rest) = part.split_at(line_end);
        let bytes = rest.get(1..).unwrap_or_default().to_vec();
        let (Some(&digit), Some(b'/')) = (head.first(), head.get(1)) else {
            continue;
        };
        if !digit.is_ascii_digit() {
            continue;
        }
        let Ok(name) = std::str::from_utf8(&head[2..]) else {
            continue;
        };
        let name_ok = name.is_empty()
            || name.split('/').all(|c| {
                !c.is_empty()
                    && c != "."
                    && c != ".."
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            });
        if !name_ok {
            continue;
        }
        let folder = digit - b'0';
        if !folders.contains(&folder) {
            folders.push(folder);
        }
        out.push(File {
            folder,
            name: name.to_string(),
            bytes,
        });
    }
    (folders, out)
}

/// The input of the folders `dirs` (as `D` = their index): every file but
/// the manifest, in name order, `summary.json` without its `performance`
/// (measured, so different each run; `merge` reads only its `scenario`),
/// and this build's version in `shard.json` written as [`VERSION_MARK`].
pub fn encode(dirs: &[&Path]) -> Vec<u8> {
    let mut input = Vec::new();
    for (d, dir) in dirs.iter().enumerate() {
        let mut names = Vec::new();
        walk(dir, "", &mut names);
        names.sort();
        for name in names {
            let mut bytes = std::fs::read(dir.join(&name)).expect("a shard's file");
            if name == "summary.json" || name.ends_with("/summary.json") {
                let mut v: serde_json::Value = serde_json::from_slice(&bytes).expect("a summary");
                if let Some(o) = v.as_object_mut() {
                    o.remove("performance");
                }
                bytes = serde_json::to_vec(&v).expect("a summary");
                bytes.push(b'\n');
            }
            if name == SHARD_FILE {
                let text = String::from_utf8(bytes).expect("a shard record");
                let ours = format!("\"agora_version\": \"{}\"", agora::output::VERSION);
                assert!(text.contains(&ours), "{text}");
                let marked = format!("\"agora_version\": \"{VERSION_MARK}\"");
                bytes = text.replace(&ours, &marked).into_bytes();
            }
            assert!(!bytes.contains(&0), "{name} holds a NUL byte");
            if !input.is_empty() {
                input.push(0);
            }
            input.extend_from_slice(format!("{d}/{name}\n").as_bytes());
            input.extend_from_slice(&bytes);
        }
    }
    input
}

/// The files under `dir/prefix`, as paths from `dir`.
fn walk(dir: &Path, prefix: &str, names: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir.join(prefix)).expect("a shard folder") {
        let entry = entry.expect("a shard folder's entry");
        let file = entry.file_name().into_string().expect("a UTF-8 name");
        if LEFT_OUT.contains(&file.as_str()) {
            continue;
        }
        let name = if prefix.is_empty() {
            file
        } else {
            format!("{prefix}/{file}")
        };
        if entry.file_type().expect("a file type").is_dir() {
            walk(dir, &name, names);
        } else {
            names.push(name);
        }
    }
}

/// How an input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Refused by both merges, with one-line errors.
    Refused,
    /// Merged as a sweep of this many grid points.
    Sweep(usize),
    /// Merged as an ensemble of this many runs.
    Runs(usize),
}

/// Writes the input's folders into a fresh scratch folder, merges them as
/// a sweep and as an ensemble (in the order given, and reversed), and
/// checks what each gives.
pub fn merge_input(input: &[u8]) -> Outcome {
    let (folders, files) = files(input);
    let scratch = Scratch::new();
    let dirs: Vec<PathBuf> = folders
        .iter()
        .map(|d| scratch.0.join(d.to_string()))
        .collect();
    for dir in &dirs {
        std::fs::create_dir_all(dir).expect("a scratch folder");
    }
    let version = agora::output::VERSION.as_bytes();
    for f in &files {
        if f.name.is_empty() {
            continue;
        }
        let path = scratch.0.join(f.folder.to_string()).join(&f.name);
        let bytes = replace(&f.bytes, VERSION_MARK.as_bytes(), version);
        // A name that is also another file's folder is not written: the
        // input is then what could be written of it.
        if let Some(parent) = path.parent() {
            if std::fs::create_dir_all(parent).is_err() {
                continue;
            }
        }
        let _ = std::fs::write(&path, bytes);
    }
    let reversed: Vec<PathBuf> = dirs.iter().rev().cloned().collect();

    let sweep = merge_sweeps(&dirs);
    let sweep_reversed = merge_sweeps(&reversed);
    let runs = merge_runs(&dirs);
    let runs_reversed = merge_runs(&reversed);
    let mut outcome = Outcome::Refused;
    match (sweep, sweep_reversed) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.csv, b.csv, "the folders' order changed the merged sweep");
            assert_eq!(a.info, b.info);
            assert_eq!(a.points, b.points);
            check_whole(&a.info);
            // The header, then a row per grid point.
            let lines = a.csv.iter().filter(|&&b| b == b'\n').count();
            assert_eq!(lines, 1 + a.info.grid_points, "sweep.csv of {a:?}");
            assert!(a.csv.ends_with(b"\n"));
            let expected = if a.info.keep_runs {
                a.info.grid_points
            } else {
                0
            };
            assert_eq!(a.points.len(), expected);
            for (k, (i, _)) in a.points.iter().enumerate() {
                assert_eq!(*i, k, "each point's folder once, in order");
            }
            outcome = Outcome::Sweep(a.info.grid_points);
        }
        (Err(a), Err(b)) => {
            check_refusal(&a);
            check_refusal(&b);
        }
        (a, b) => panic!(
            "the folders' order decided whether the sweep merged: {:?} then {:?}",
            a.map(|m| m.info),
            b.map(|m| m.info)
        ),
    }
    match (runs, runs_reversed) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                a.files, b.files,
                "the folders' order changed the merged ensemble"
            );
            assert_eq!(a.info, b.info);
            check_whole(&a.info);
            assert!(
                outcome == Outcome::Refused,
                "merged as a sweep and as an ensemble"
            );
            let summary = a
                .files
                .iter()
                .find(|(n, _)| n == "summary.json")
                .expect("the merged summary.json");
            let value: serde_json::Value =
                serde_json::from_slice(&summary.1).expect("the merged summary.json is JSON");
            assert!(value.get("performance").is_none(), "{value}");
            assert!(a.files.iter().any(|(n, _)| n == "scenario.toml"));
            outcome = Outcome::Runs(a.info.grid_points);
        }
        (Err(a), Err(b)) => {
            check_refusal(&a);
            check_refusal(&b);
        }
        (a, b) => panic!(
            "the folders' order decided whether the ensemble merged: {:?} then {:?}",
            a.map(|m| m.info),
            b.map(|m| m.info)
        ),
    }
    outcome
}

/// A merged record is the whole: shard 1 of 1, every point from the first.
fn check_whole(info: &ShardInfo) {
    assert_eq!((info.shard, info.shards), (1, 1), "{info:?}");
    assert_eq!((info.first_point, info.points), (0, info.grid_points));
}

/// A refusal is about the input (or a file that could not be read), in
/// one line.
fn check_refusal(e: &agora::Error) {
    let text = e.to_string();
    assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
    let reading = matches!(
        e.kind(),
        ErrorKind::Io {
            action: "reading",
            ..
        }
    );
    assert!(e.is_input_error() || reading, "not an input error: {text}");
}

/// `bytes` with every `from` replaced by `to`.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A fresh folder under the system's temporary folder, removed when
/// dropped (one per input, also when several threads merge at once).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("agora-fuzz-merge-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
