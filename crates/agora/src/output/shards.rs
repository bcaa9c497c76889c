//! Shards of a sweep, and merging them into the whole.
//!
//! `agora sweep --shard i/n` runs the i-th of n near-equal contiguous parts
//! of a grid (on another machine, as a Slurm array task or a Kubernetes
//! indexed Job). Each sweep writes [`SHARD_FILE`] beside `sweep.csv`: what
//! it holds ([`ShardInfo`]: the version of Agora, a fingerprint of the
//! scenario and the whole grid, the shard and its grid points). [`merge_sweeps`]
//! reads a set of such folders and returns the `sweep.csv` the whole sweep
//! would have written, byte for byte, refusing a set with a shard missing
//! or given twice, or shards of different sweeps or versions.

use super::{scenario_toml, sha256, VERSION};
use crate::error::{Error, Result};
use crate::experiment::sweep::Grid;
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file in which a sweep's output folder says what it holds.
pub const SHARD_FILE: &str = "shard.json";

/// The table of a sweep that [`merge_sweeps`] joins.
pub const SWEEP_CSV: &str = "sweep.csv";

/// The folder of a sweep's per-point records (`--keep-runs`).
pub const POINTS_DIR: &str = "points";

/// What a sweep's output folder holds, as [`SHARD_FILE`] records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    /// The version of Agora that wrote it.
    pub agora_version: String,
    /// The command that wrote it (`sweep`).
    pub command: String,
    /// `sha256:` and the digest of the effective scenario (overrides
    /// applied), the grid's parameter paths and every point of the whole
    /// grid: shards of one sweep share it, shards of different sweeps do
    /// not.
    pub sweep_sha256: String,
    /// Points in the whole grid.
    pub grid_points: usize,
    /// This shard, from 1.
    pub shard: usize,
    /// The number of shards the grid was cut into.
    pub shards: usize,
    /// Index of this shard's first point in the whole grid.
    pub first_point: usize,
    /// Points in this shard.
    pub points: usize,
    /// Whether the folder holds `sweep.csv` (a `--format parquet` sweep
    /// does not).
    pub csv: bool,
    /// Whether the folder holds every run's records in `points/<i>/`
    /// (`--keep-runs`).
    pub keep_runs: bool,
}

impl ShardInfo {
    /// The record of a sweep of `scenario` over `whole` (the grid before
    /// any sharding), run for `part` (a shard of `whole`, or `whole`
    /// itself) as shard `shard` of `shards`.
    pub fn sweep(
        scenario: &Scenario,
        whole: &Grid,
        part: &Grid,
        (shard, shards): (usize, usize),
        csv: bool,
        keep_runs: bool,
    ) -> Result<ShardInfo> {
        Ok(ShardInfo {
            agora_version: VERSION.to_string(),
            command: "sweep".into(),
            sweep_sha256: sweep_fingerprint(scenario, whole)?,
            grid_points: whole.points.len(),
            shard,
            shards,
            first_point: part.offset,
            points: part.points.len(),
            csv,
            keep_runs,
        })
    }

    /// The record as JSON text.
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|e| Error::writing(SHARD_FILE, std::io::Error::other(e)))?;
        text.push(b'\n');
        Ok(text)
    }

    /// Reads `dir`'s record; an error names the folder and what is wrong.
    pub fn read(dir: &Path) -> Result<ShardInfo> {
        let path = dir.join(SHARD_FILE);
        let text = std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::usage(format!(
                    "{}: no {SHARD_FILE}: not the output of `agora sweep` (of this version of Agora)",
                    dir.display()
                ))
            } else {
                Error::io(&path, "reading", e)
            }
        })?;
        serde_json::from_slice(&text).map_err(|e| {
            Error::usage(format!(
                "{}: not a sweep's shard record ({e}); was it edited or cut short?",
                path.display()
            ))
        })
    }
}

/// `sha256:` and the digest of the effective scenario, the grid's paths
/// and the values at every point of `grid`, in order.
pub fn sweep_fingerprint(scenario: &Scenario, grid: &Grid) -> Result<String> {
    let mut text = scenario_toml(scenario)?;
    text.extend_from_slice(b"\n# grid\n");
    text.extend_from_slice(grid.paths.join("\t").as_bytes());
    for point in &grid.points {
        text.push(b'\n');
        let values: Vec<String> = point.iter().map(ToString::to_string).collect();
        text.extend_from_slice(values.join("\t").as_bytes());
    }
    Ok(sha256(&text))
}

/// The whole sweep put together from its shards by [`merge_sweeps`].
#[derive(Debug, Clone)]
pub struct MergedSweep {
    /// The record of the whole (shard 1 of 1).
    pub info: ShardInfo,
    /// `sweep.csv` of the whole grid, as one sweep would have written it.
    pub csv: Vec<u8>,
    /// With `--keep-runs` shards: each grid point's folder, by index in
    /// the whole grid, with the shard folder that holds it.
    pub points: Vec<(usize, PathBuf)>,
}

/// Merges the output folders of a sweep's shards (in any order) into the
/// whole sweep's `sweep.csv`. Refuses, naming the folders: a folder that
/// no sweep wrote; shards of different sweeps (scenario, grid, or number
/// of shards) or of another version of Agora; a shard given twice or
/// missing; a folder whose `sweep.csv` is missing or does not hold the
/// rows its record says.
pub fn merge_sweeps(dirs: &[PathBuf]) -> Result<MergedSweep> {
    let Some(first_dir) = dirs.first() else {
        return Err(Error::usage("merge needs at least one shard folder"));
    };
    let mut shards: Vec<(ShardInfo, &PathBuf)> = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let info = ShardInfo::read(dir)?;
        if info.command != "sweep" {
            return Err(Error::usage(format!(
                "{}: written by `agora {}`; merge joins the shards of `agora sweep`",
                dir.display(),
                info.command
            )));
        }
        if info.agora_version != VERSION {
            return Err(Error::usage(format!(
                "{}: written by Agora {}, this is {VERSION}: run every shard with one version",
                dir.display(),
                info.agora_version
            )));
        }
        shards.push((info, dir));
    }
    let reference = shards[0].0.clone();
    for (info, dir) in &shards[1..] {
        if info.sweep_sha256 != reference.sweep_sha256 {
            return Err(Error::usage(format!(
                "{} and {}: shards of different sweeps (the scenario, its overrides or the grid differ)",
                first_dir.display(),
                dir.display()
            )));
        }
        if info.shards != reference.shards {
            return Err(Error::usage(format!(
                "{} is shard {}/{}, {} is shard {}/{}: the grid was cut differently",
                first_dir.display(),
                reference.shard,
                reference.shards,
                dir.display(),
                info.shard,
                info.shards
            )));
        }
        if info.csv != reference.csv || info.keep_runs != reference.keep_runs {
            return Err(Error::usage(format!(
                "{} and {}: shards written with different --format or --keep-runs",
                first_dir.display(),
                dir.display()
            )));
        }
    }
    if !reference.csv {
        return Err(Error::usage(format!(
            "{}: holds no {SWEEP_CSV} (a --format parquet sweep); merge joins {SWEEP_CSV}: run the shards with --format csv or both",
            first_dir.display()
        )));
    }
    shards.sort_by_key(|(info, _)| info.shard);
    for pair in shards.windows(2) {
        if pair[0].0.shard == pair[1].0.shard {
            return Err(Error::usage(format!(
                "shard {}/{} given twice: {} and {}",
                pair[0].0.shard,
                reference.shards,
                pair[0].1.display(),
                pair[1].1.display()
            )));
        }
    }
    let missing: Vec<String> = (1..=reference.shards)
        .filter(|i| !shards.iter().any(|(info, _)| info.shard == *i))
        .map(|i| format!("{i}/{}", reference.shards))
        .collect();
    if !missing.is_empty() {
        return Err(Error::usage(format!(
            "shard{} {} missing: give the folders of all {} shards",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            reference.shards
        )));
    }

    let mut csv = Vec::new();
    let mut header: Option<(Vec<u8>, &PathBuf)> = None;
    let mut next_point = 0;
    let mut points = Vec::new();
    for (info, dir) in &shards {
        if info.first_point != next_point {
            return Err(Error::usage(format!(
                "{}: starts at grid point {}, expected {next_point}: {SHARD_FILE} was edited",
                dir.display(),
                info.first_point
            )));
        }
        next_point += info.points;
        let path = dir.join(SWEEP_CSV);
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, "reading", e))?;
        let (head, rows) = split_header(&text)
            .ok_or_else(|| Error::usage(format!("{}: empty, no header line", path.display())))?;
        match &header {
            None => {
                csv.extend_from_slice(head);
                header = Some((head.to_vec(), dir));
            }
            Some((h, first)) if h.as_slice() != head => {
                return Err(Error::usage(format!(
                    "{} and {}: {SWEEP_CSV} headers differ",
                    first.join(SWEEP_CSV).display(),
                    path.display()
                )));
            }
            Some(_) => {}
        }
        let count = rows.iter().filter(|&&b| b == b'\n').count();
        if count != info.points {
            return Err(Error::usage(format!(
                "{}: holds {count} rows, its {SHARD_FILE} says {}: written by another command, or cut short",
                path.display(),
                info.points
            )));
        }
        csv.extend_from_slice(rows);
        if info.keep_runs {
            for i in info.first_point..info.first_point + info.points {
                let folder = dir.join(POINTS_DIR).join(i.to_string());
                if !folder.is_dir() {
                    return Err(Error::usage(format!(
                        "{}: missing (the shard was run with --keep-runs)",
                        folder.display()
                    )));
                }
                points.push((i, folder));
            }
        }
    }
    if next_point != reference.grid_points {
        return Err(Error::usage(format!(
            "the shards hold {next_point} grid points, the grid has {}: {SHARD_FILE} was edited",
            reference.grid_points
        )));
    }
    Ok(MergedSweep {
        info: ShardInfo {
            shard: 1,
            shards: 1,
            first_point: 0,
            points: reference.grid_points,
            ..reference
        },
        csv,
        points,
    })
}

/// The header line (with its `\n`) and the rest of a CSV text; `None`
/// when it has no complete header line.
fn split_header(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = text.iter().position(|&b| b == b'\n')? + 1;
    Some(text.split_at(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_split_after_its_newline() {
        assert_eq!(
            split_header(b"a,b\n1,2\n3,4\n"),
            Some((&b"a,b\n"[..], &b"1,2\n3,4\n"[..]))
        );
        assert_eq!(split_header(b"a,b\n"), Some((&b"a,b\n"[..], &b""[..])));
        assert_eq!(split_header(b"a,b"), None);
    }

    #[test]
    fn a_record_reads_back_and_unknown_fields_are_refused() {
        let info = ShardInfo {
            agora_version: VERSION.into(),
            command: "sweep".into(),
            sweep_sha256: "sha256:00".into(),
            grid_points: 6,
            shard: 2,
            shards: 3,
            first_point: 2,
            points: 2,
            csv: true,
            keep_runs: false,
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SHARD_FILE), info.to_json().unwrap()).unwrap();
        assert_eq!(ShardInfo::read(dir.path()).unwrap(), info);
        std::fs::write(dir.path().join(SHARD_FILE), b"{\"shard\": 1}").unwrap();
        let e = ShardInfo::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a sweep's shard record"), "{e}");
    }
}
