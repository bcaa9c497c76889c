//! Checkpoints: a run's full state in one versioned, checksummed binary
//! file, to resume after a crash or a preempted job.
//!
//! A [`Checkpoint`] holds the effective scenario (as `scenario.toml` would
//! show it, with its origin), the [`SimState`] after a step — the ledger
//! with every escrow, the markets (open orders), learners' and
//! controllers' states, the records not yet written — and a few settings
//! of the caller (e.g. the command line's output format). The random
//! streams are counter-based, so their position is the step number, which
//! the state holds.
//!
//! The file: a magic line `AGORA-CHECKPOINT\n`, the checkpoint format
//! version ([`CHECKPOINT_VERSION`], u32 little-endian), the body's length
//! (u64 little-endian), the body (postcard), and the SHA-256 of the body.
//! [`Checkpoint::from_bytes`] refuses a file that is not a checkpoint, is cut
//! short, fails its checksum, or was written by another version of Agora.
//! [`Checkpoint::write_atomic`] writes to a temporary file beside the
//! target, syncs it and renames it over the target, so a process killed at
//! any moment leaves either the previous checkpoint or the new one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{SimState, Simulation};
use crate::error::{Error, Result};
use crate::scenario::{PolicyRegistry, Scenario};

/// The first bytes of every checkpoint file.
pub const CHECKPOINT_MAGIC: &[u8; 17] = b"AGORA-CHECKPOINT\n";

/// The checkpoint file format's version.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Bytes of the header: magic, format version, body length.
const HEADER: usize = CHECKPOINT_MAGIC.len() + 4 + 8;

/// Bytes of the checksum at the end.
const DIGEST: usize = 32;

/// A run's state with what is needed to continue it (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The version of Agora that wrote it; another version's is refused.
    pub agora_version: String,
    /// Where the scenario came from (a file's path, `example NAME`), as
    /// errors and outputs name it.
    pub origin: String,
    /// The effective scenario, as `scenario.toml` shows it.
    pub scenario_toml: String,
    /// The caller's settings, e.g. `("format", "csv")` (names and values
    /// are the caller's).
    pub settings: Vec<(String, String)>,
    /// The run's state after its last step.
    pub state: SimState,
}

/// `text` as it can stand in a one-line message: escaped when it holds a
/// character the scenario reader refuses in a name (a control character
/// such as a line break, a bidirectional override), and cut to `max`
/// characters (`…` marking the cut). A file's strings are the file's: a
/// checkpoint edited, or of another tool, may hold anything.
fn printable(text: &str, max: usize) -> String {
    let mut shown: String = if crate::scenario::fields::control_character(text, false).is_some() {
        text.escape_debug().collect()
    } else {
        text.to_string()
    };
    if let Some((cut, _)) = shown.char_indices().nth(max) {
        shown.truncate(cut);
        shown.push('…');
    }
    shown
}

impl Checkpoint {
    /// The checkpoint's file name in a run's output folder
    /// (`agora run --checkpoint-every K --out DIR` writes `DIR/checkpoint`).
    pub const FILE: &'static str = "checkpoint";

    /// A checkpoint of `sim` (built from `scenario`) after its last step,
    /// with the caller's `settings`.
    pub fn of(
        scenario: &Scenario,
        sim: &Simulation,
        settings: Vec<(String, String)>,
    ) -> Result<Checkpoint> {
        let toml = crate::output::scenario_toml(scenario)?;
        let scenario_toml = String::from_utf8(toml)
            .map_err(|_| Error::usage("the effective scenario is not UTF-8 text"))?;
        Ok(Checkpoint {
            agora_version: crate::output::VERSION.to_string(),
            origin: scenario.origin().to_string(),
            scenario_toml,
            settings,
            state: sim.state(),
        })
    }

    /// The value of the caller's setting `name`, if saved.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The scenario, read back from its saved text.
    pub fn scenario(&self) -> Result<Scenario> {
        self.scenario_with(&PolicyRegistry::new())
    }

    /// The scenario, read back from its saved text with the policies of
    /// `registry` (a scenario that names a user's policy needs it
    /// registered again).
    pub fn scenario_with(&self, registry: &PolicyRegistry) -> Result<Scenario> {
        Scenario::from_toml_str_with(&self.scenario_toml, &self.origin, registry)
    }

    /// The simulation as it was at the checkpoint: built from the saved
    /// scenario for the saved run, with the saved state restored. Its
    /// continuation is byte-identical to the run the checkpoint was taken
    /// from. A saved state that does not fit the scenario, or breaks an
    /// invariant, is refused as an input error ([`Simulation::restore`]).
    pub fn resume(&self) -> Result<(Scenario, Simulation)> {
        self.resume_with(&PolicyRegistry::new())
    }

    /// [`resume`](Self::resume) of a scenario that names policies of
    /// `registry` (the checkpoint holds what the engine keeps of them, such
    /// as adaptive policies' saved states; not what a policy keeps for
    /// itself elsewhere).
    pub fn resume_with(&self, registry: &PolicyRegistry) -> Result<(Scenario, Simulation)> {
        let scenario = self.scenario_with(registry)?;
        let mut sim = Simulation::new(&scenario, self.state.run)?;
        // Refused, the simulation is dropped: nothing to put back.
        sim.load_checked(self.state.clone())?;
        Ok((scenario, sim))
    }

    /// The checkpoint file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let body = postcard::to_stdvec(self)
            .map_err(|e| Error::usage(format!("the checkpoint cannot be encoded: {e}")))?;
        let mut bytes = Vec::with_capacity(HEADER + body.len() + DIGEST);
        bytes.extend_from_slice(CHECKPOINT_MAGIC);
        bytes.extend_from_slice(&CHECKPOINT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&Sha256::digest(&body));
        Ok(bytes)
    }

    /// Reads a checkpoint file's bytes; `origin` names the file in errors.
    /// Refuses what is not a checkpoint, is cut short or longer than it
    /// says, fails its checksum, or comes from another version of Agora.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Checkpoint> {
        let refuse = |what: String| Error::usage(format!("{origin}: {what}"));
        if bytes.len() < CHECKPOINT_MAGIC.len()
            || &bytes[..CHECKPOINT_MAGIC.len()] != CHECKPOINT_MAGIC
        {
            return Err(refuse("not an Agora checkpoint".into()));
        }
        if bytes.len() < HEADER {
            return Err(refuse(format!(
                "truncated: {} bytes, shorter than the header",
                bytes.len()
            )));
        }
        let mut word = [0u8; 4];
        word.copy_from_slice(&bytes[CHECKPOINT_MAGIC.len()..CHECKPOINT_MAGIC.len() + 4]);
        let version = u32::from_le_bytes(word);
        if version != CHECKPOINT_VERSION {
            return Err(refuse(format!(
                "checkpoint format version {version}, this build reads version {CHECKPOINT_VERSION}"
            )));
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[CHECKPOINT_MAGIC.len() + 4..HEADER]);
        let body_len = u64::from_le_bytes(len);
        let expected = (HEADER as u128) + u128::from(body_len) + DIGEST as u128;
        if (bytes.len() as u128) < expected {
            return Err(refuse(format!(
                "truncated: {} of {expected} bytes",
                bytes.len()
            )));
        }
        if (bytes.len() as u128) > expected {
            return Err(refuse(format!(
                "{} bytes, {expected} expected: something was appended",
                bytes.len()
            )));
        }
        let body = &bytes[HEADER..HEADER + body_len as usize];
        let digest = &bytes[HEADER + body_len as usize..];
        if Sha256::digest(body).as_slice() != digest {
            return Err(refuse("corrupted: its checksum does not match".into()));
        }
        // The version is read before the rest, so that another version's
        // layout is named as such rather than as a decoding error.
        let agora_version: String = postcard::take_from_bytes::<String>(body)
            .map(|(v, _)| v)
            .map_err(|e| refuse(format!("cannot be read: {e}")))?;
        if agora_version != crate::output::VERSION {
            return Err(refuse(format!(
                "written by Agora {}, this is {}: resume it with the version that wrote it",
                printable(&agora_version, 40),
                crate::output::VERSION
            )));
        }
        let mut checkpoint: Checkpoint =
            postcard::from_bytes(body).map_err(|e| refuse(format!("cannot be read: {e}")))?;
        // The saved origin starts every error of the resumed run: one line.
        checkpoint.origin = printable(&checkpoint.origin, usize::MAX);
        Ok(checkpoint)
    }

    /// The checkpoint file `path` names: `path` itself, or
    /// `path/`[`Checkpoint::FILE`] when `path` is a folder (a run's output
    /// folder). A folder without one is an input error.
    pub fn locate(path: &Path) -> Result<PathBuf> {
        if !path.is_dir() {
            return Ok(path.to_path_buf());
        }
        let file = path.join(Self::FILE);
        if file.is_file() {
            Ok(file)
        } else {
            Err(Error::usage(format!(
                "{}: a folder without a {}: give the checkpoint file, or the folder `agora run --checkpoint-every K --out DIR` wrote it into",
                path.display(),
                Self::FILE
            )))
        }
    }

    /// Reads the checkpoint file at `path` (or in the folder `path`: see
    /// [`locate`](Self::locate)). A file that cannot be read is an input
    /// error naming it.
    pub fn read(path: &Path) -> Result<Checkpoint> {
        let file = Self::locate(path)?;
        let bytes = std::fs::read(&file)
            .map_err(|e| Error::io(&file, crate::error::READING_CHECKPOINT, e))?;
        Self::from_bytes(&bytes, &file.display().to_string())
    }

    /// Writes the checkpoint to `path`, replacing what is there
    /// atomically: a temporary file beside it is written, synced and
    /// renamed over it (and the folder synced, where the system allows).
    pub fn write_atomic(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes()?;
        let name = path
            .file_name()
            .ok_or_else(|| Error::usage(format!("{}: not a file name", path.display())))?;
        let mut tmp_name = name.to_os_string();
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(&tmp, path)?;
            if let Some(dir) = path.parent() {
                let dir = if dir.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    dir
                };
                // Not every system can open a folder to sync it.
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::writing(path, e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Scenario, Checkpoint) {
        let scenario = crate::scenario::example("curve-linear").unwrap();
        let mut sim = Simulation::new(&scenario, 0).unwrap();
        for _ in 0..3 {
            sim.advance().unwrap();
        }
        let cp = Checkpoint::of(&scenario, &sim, vec![("format".into(), "csv".into())]).unwrap();
        (scenario, cp)
    }

    #[test]
    fn a_checkpoint_reads_back_and_continues_as_the_run() {
        let (scenario, cp) = sample();
        let bytes = cp.to_bytes().unwrap();
        let back = Checkpoint::from_bytes(&bytes, "cp").unwrap();
        assert_eq!(back, cp);
        assert_eq!(back.setting("format"), Some("csv"));
        assert_eq!(back.setting("missing"), None);
        let (_, resumed) = back.resume().unwrap();
        assert_eq!(resumed.step(), 3);
        let whole = Simulation::new(&scenario, 0).unwrap().run().unwrap();
        let rest = resumed.run().unwrap();
        assert_eq!(rest.records, whole.records);
        assert_eq!(
            serde_json::to_string(&rest.summary).unwrap(),
            serde_json::to_string(&whole.summary).unwrap()
        );
    }

    #[test]
    fn damaged_checkpoints_are_refused_with_the_reason() {
        let (_, cp) = sample();
        let bytes = cp.to_bytes().unwrap();
        let err = |b: &[u8]| Checkpoint::from_bytes(b, "cp").unwrap_err().to_string();
        assert!(err(b"hello").contains("not an Agora checkpoint"));
        // The magic alone, or one byte short of it: a checkpoint cut short
        // after its magic is a truncated one, not something else.
        let magic = CHECKPOINT_MAGIC.len();
        assert_eq!(
            err(&bytes[..magic]),
            format!("cp: truncated: {magic} bytes, shorter than the header")
        );
        assert_eq!(err(&bytes[..magic - 1]), "cp: not an Agora checkpoint");
        assert!(err(&bytes[..HEADER - 1]).contains("truncated"));
        assert!(err(&bytes[..bytes.len() - 1]).contains("truncated"));
        // Cut inside the header, or after it: the header's own length is
        // the edge (its body length read only when it is whole).
        let n = bytes.len();
        assert_eq!(
            err(&bytes[..HEADER - 1]),
            format!(
                "cp: truncated: {} bytes, shorter than the header",
                HEADER - 1
            )
        );
        assert_eq!(
            err(&bytes[..HEADER]),
            format!("cp: truncated: {HEADER} of {n} bytes")
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(err(&longer).contains("appended"));
        let mut flipped = bytes.clone();
        flipped[HEADER + 5] ^= 1;
        assert!(err(&flipped).contains("checksum"), "{}", err(&flipped));
        let mut other_format = bytes.clone();
        other_format[CHECKPOINT_MAGIC.len()] = 9;
        assert!(err(&other_format).contains("format version 9"));

        let mut other = cp.clone();
        other.agora_version = "0.0.1".into();
        let e = err(&other.to_bytes().unwrap());
        assert!(e.contains("written by Agora 0.0.1"), "{e}");
        // The file's strings stand in one line: a version with a line
        // break (the `resume_checkpoint` fuzz target's first find) is
        // escaped, and a long one cut.
        other.agora_version = "0\n\0".into();
        let e = err(&other.to_bytes().unwrap());
        assert!(
            e.starts_with("cp: written by Agora 0\\n\\0, this is "),
            "{e}"
        );
        other.agora_version = "9".repeat(1000);
        let e = err(&other.to_bytes().unwrap());
        assert!(
            e.contains(&format!("written by Agora {}…, this is", "9".repeat(40))),
            "{e}"
        );
        let mut moved = cp.clone();
        moved.origin = "line\nbreak.toml".into();
        let back = Checkpoint::from_bytes(&moved.to_bytes().unwrap(), "cp").unwrap();
        assert_eq!(back.origin, "line\\nbreak.toml");
        assert_eq!(back.scenario().unwrap().origin(), "line\\nbreak.toml");
    }

    /// A body edited and its checksum made again reads, and fits the
    /// scenario, but a state no run has is refused before a step runs on
    /// it, as the input's fault: money or tokens made out of nothing.
    #[test]
    fn a_state_that_breaks_an_invariant_is_refused_as_bad_input() {
        let (_, cp) = sample();
        let refused = |edit: &dyn Fn(&mut Checkpoint)| {
            let mut edited = cp.clone();
            edit(&mut edited);
            let back = Checkpoint::from_bytes(&edited.to_bytes().unwrap(), "cp").unwrap();
            let e = back.resume().unwrap_err();
            assert!(e.is_input_error(), "{e}");
            e.to_string()
        };
        // Agent 0's balance, one base unit more than was paid in.
        let e = refused(&|c| c.state.ledger.split().0[0] += 1);
        assert!(
            e.contains("cannot restore the state: it is inconsistent: money is not conserved"),
            "{e}"
        );
        // Agent 0's tokens, one base unit more than the supply.
        let e = refused(&|c| c.state.ledger.split().0[1] += 1);
        assert!(
            e.contains("it is inconsistent: tokens are not conserved"),
            "{e}"
        );
        // The checkpoint as written resumes.
        assert!(Checkpoint::from_bytes(&cp.to_bytes().unwrap(), "cp")
            .unwrap()
            .resume()
            .is_ok());
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let (_, cp) = sample();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        std::fs::write(&path, b"old").unwrap();
        cp.write_atomic(&path).unwrap();
        assert_eq!(Checkpoint::read(&path).unwrap(), cp);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("checkpoint")]);
    }
}
