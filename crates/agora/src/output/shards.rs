//! Shards of a sweep or of a Monte Carlo ensemble, and merging them into
//! the whole.
//!
//! `agora sweep --shard i/n` runs the i-th of n near-equal contiguous parts
//! of a grid (on another machine, as a Slurm array task or a Kubernetes
//! indexed Job). Each sweep writes [`SHARD_FILE`] beside `sweep.csv`: what
//! it holds ([`ShardInfo`]: the version of Agora, a fingerprint of the
//! scenario and the whole grid, the shard and its grid points). [`merge_sweeps`]
//! reads a set of such folders and returns the `sweep.csv` the whole sweep
//! would have written, byte for byte, refusing a set with a shard missing
//! or given twice, or shards of different sweeps or versions.
//!
//! `agora run --runs R --shard i/n` runs the i-th of n near-equal
//! contiguous parts of the R runs (run r exactly as in the whole
//! ensemble), and writes [`SHARD_FILE`] (its "points" are runs) and
//! [`RUNS_FILE`], each run's metrics; [`merge_runs`] puts the tables and
//! `summary.json` of the whole ensemble back together.

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

/// Each run's metrics in a Monte Carlo shard's folder (`agora run
/// --shard i/n`): a JSON array of the runs' `summary.json` values, in run
/// order, from which the merge computes the whole ensemble's means and
/// distributions.
pub const RUNS_FILE: &str = "runs.json";

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

    /// The record of a Monte Carlo shard: runs `first_run..first_run +
    /// runs` of `scenario`'s ensemble, as shard `shard` of `shards` (for
    /// `agora run`, the "points" are runs and the fingerprint is the
    /// effective scenario's).
    pub fn runs(
        scenario: &Scenario,
        (shard, shards): (usize, usize),
        first_run: usize,
        runs: usize,
        csv: bool,
    ) -> Result<ShardInfo> {
        Ok(ShardInfo {
            agora_version: VERSION.to_string(),
            command: "run".into(),
            sweep_sha256: sha256(&scenario_toml(scenario)?),
            grid_points: usize::try_from(scenario.simulation().runs).unwrap_or(usize::MAX),
            shard,
            shards,
            first_point: first_run,
            points: runs,
            csv,
            keep_runs: false,
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
        if !dir.is_dir() {
            let what = if dir.exists() {
                "not a folder"
            } else {
                "no such folder"
            };
            return Err(Error::usage(format!(
                "{}: {what}: give the folders `agora sweep --shard i/n --out DIR` wrote",
                dir.display()
            )));
        }
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

/// Reads the records of the shard folders `dirs`, written by `agora
/// COMMAND --shard i/n`, and checks that they are every shard of one
/// job, once each; returns the first record and the shards in shard order.
fn read_shards<'a>(
    dirs: &'a [PathBuf],
    command: &str,
) -> Result<(ShardInfo, Vec<(ShardInfo, &'a PathBuf)>)> {
    let Some(first_dir) = dirs.first() else {
        return Err(Error::usage("merge needs at least one shard folder"));
    };
    let mut shards: Vec<(ShardInfo, &PathBuf)> = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let info = ShardInfo::read(dir)?;
        if info.command != command {
            return Err(Error::usage(format!(
                "{}: written by `agora {}`, {} by `agora {command}`: merge joins the shards of one command",
                dir.display(),
                info.command,
                first_dir.display()
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
                "{} and {}: shards of different {}s (the scenario, its overrides or the grid differ)",
                first_dir.display(),
                dir.display(),
                command
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
    Ok((reference, shards))
}

/// Merges the output folders of a sweep's shards (in any order) into the
/// whole sweep's `sweep.csv`. Refuses, naming the folders: a folder that
/// no sweep wrote; shards of different sweeps (scenario, grid, or number
/// of shards) or of another version of Agora; a shard given twice or
/// missing; a folder whose `sweep.csv` is missing or does not hold the
/// rows its record says.
pub fn merge_sweeps(dirs: &[PathBuf]) -> Result<MergedSweep> {
    let (reference, shards) = read_shards(dirs, "sweep")?;
    if !reference.csv {
        return Err(Error::usage(format!(
            "{}: holds no {SWEEP_CSV} (a --format parquet sweep); merge joins {SWEEP_CSV}: run the shards with --format csv or both",
            shards[0].1.display()
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

/// The whole Monte Carlo ensemble put together from its shards by
/// [`merge_runs`].
#[derive(Debug, Clone)]
pub struct MergedRuns {
    /// The record of the whole (shard 1 of 1).
    pub info: ShardInfo,
    /// The files the whole `agora run` writes, by name: every CSV table
    /// (the shards' rows in run order), `summary.json` (without the
    /// measured `performance`, which belongs to one process) and
    /// `scenario.toml`.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Merges the output folders of a Monte Carlo ensemble's shards (`agora
/// run --runs R --shard i/n`, in any order) into what the whole `agora run
/// --runs R` writes: each CSV table's rows in run order, `summary.json`'s
/// means and distributions over every run, `scenario.toml`. Refuses, as
/// [`merge_sweeps`] does, shards of another command, scenario or version,
/// missing or given twice, and a shard whose files do not match its
/// record.
pub fn merge_runs(dirs: &[PathBuf]) -> Result<MergedRuns> {
    let (reference, shards) = read_shards(dirs, "run")?;
    let first = shards[0].1;
    if !reference.csv {
        return Err(Error::usage(format!(
            "{}: holds no CSV tables (a --format parquet run); merge joins the CSV tables: run the shards with --format csv or both",
            first.display()
        )));
    }
    // The CSV tables the first shard holds, by name; every shard must hold
    // the same.
    let tables = csv_names(first)?;
    let mut joined: Vec<(String, Vec<u8>)> = Vec::with_capacity(tables.len());
    let mut summaries: Vec<serde_json::Value> = Vec::new();
    let mut next_run = 0;
    for (info, dir) in &shards {
        if info.first_point != next_run {
            return Err(Error::usage(format!(
                "{}: starts at run {}, expected {next_run}: {SHARD_FILE} was edited",
                dir.display(),
                info.first_point
            )));
        }
        next_run += info.points;
        let names = csv_names(dir)?;
        if names != tables {
            return Err(Error::usage(format!(
                "{} holds the tables {}, {} holds {}: shards written with different outputs",
                first.display(),
                tables.join(", "),
                dir.display(),
                names.join(", ")
            )));
        }
        for (k, name) in tables.iter().enumerate() {
            let path = dir.join(name);
            let text = std::fs::read(&path).map_err(|e| Error::io(&path, "reading", e))?;
            let (head, rows) = split_header(&text).ok_or_else(|| {
                Error::usage(format!("{}: empty, no header line", path.display()))
            })?;
            match joined.get_mut(k) {
                None => joined.push((name.clone(), text)),
                Some((_, whole)) => {
                    if !whole.starts_with(head) {
                        return Err(Error::usage(format!(
                            "{} and {}: headers differ",
                            first.join(name).display(),
                            path.display()
                        )));
                    }
                    whole.extend_from_slice(rows);
                }
            }
        }
        let path = dir.join(RUNS_FILE);
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, "reading", e))?;
        let runs: Vec<serde_json::Value> = serde_json::from_slice(&text).map_err(|e| {
            Error::usage(format!(
                "{}: not a shard's run metrics ({e}); was it edited or cut short?",
                path.display()
            ))
        })?;
        if runs.len() != info.points {
            return Err(Error::usage(format!(
                "{}: holds {} runs, its {SHARD_FILE} says {}",
                path.display(),
                runs.len(),
                info.points
            )));
        }
        summaries.extend(runs);
    }
    if next_run != reference.grid_points {
        return Err(Error::usage(format!(
            "the shards hold {next_run} runs, the ensemble has {}: {SHARD_FILE} was edited",
            reference.grid_points
        )));
    }
    // The scenario, read back from the first shard's scenario.toml under
    // the name its summary.json gives it.
    let read = |name: &str| {
        let path = first.join(name);
        std::fs::read(&path).map_err(|e| Error::io(&path, "reading", e))
    };
    let toml_bytes = read("scenario.toml")?;
    let summary: serde_json::Value = serde_json::from_slice(&read("summary.json")?)
        .map_err(|e| Error::usage(format!("{}: {e}", first.join("summary.json").display())))?;
    let origin = summary["scenario"].as_str().unwrap_or("scenario.toml");
    let text = String::from_utf8(toml_bytes.clone()).map_err(|_| {
        Error::usage(format!(
            "{}: not UTF-8",
            first.join("scenario.toml").display()
        ))
    })?;
    let scenario = Scenario::from_toml_str(&text, origin)?;
    if sha256(&scenario_toml(&scenario)?) != reference.sweep_sha256 {
        return Err(Error::usage(format!(
            "{}: scenario.toml is not the scenario its {SHARD_FILE} records: was it edited?",
            first.display()
        )));
    }
    joined.push((
        "summary.json".into(),
        super::summary_json_of(&scenario, &summaries, None)?,
    ));
    joined.push(("scenario.toml".into(), toml_bytes));
    Ok(MergedRuns {
        info: ShardInfo {
            shard: 1,
            shards: 1,
            first_point: 0,
            points: reference.grid_points,
            ..reference
        },
        files: joined,
    })
}

/// The names of the CSV files in `dir`, sorted.
fn csv_names(dir: &Path) -> Result<Vec<String>> {
    let read = |e| Error::io(dir, "reading", e);
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let name = entry
            .map_err(read)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".csv") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
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
