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
use std::ops::Range;
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

/// The part of `len` items (a grid's points, an ensemble's runs) that
/// shard `i` of `n` holds: the i-th of `n` near-equal contiguous parts,
/// `⌊(i−1)·len/n⌋ .. ⌊i·len/n⌋`, worked out in 128 bits so that no product
/// wraps (`--shard 9223372036854775807/9223372036854775808` of a 3-point
/// grid is the empty part at point 2, not at point 0). With `n > len`
/// some parts are empty. `None` unless `1 ≤ i ≤ n`.
pub fn shard_range(i: u64, n: u64, len: u64) -> Option<Range<u64>> {
    if n == 0 || i == 0 || i > n {
        return None;
    }
    // At most `len`, since `k ≤ n`: the quotient fits a u64.
    let at = |k: u64| (u128::from(k) * u128::from(len) / u128::from(n)) as u64;
    Some(at(i - 1)..at(i))
}

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
        let info: ShardInfo = serde_json::from_slice(&text).map_err(|e| {
            Error::usage(format!(
                "{}: not a sweep's shard record ({e}); was it edited or cut short?",
                path.display()
            ))
        })?;
        info.check(&path)?;
        Ok(info)
    }

    /// Checks that the record is one `--shard i/n` writes: `1 ≤ i ≤ n`,
    /// and the points (or runs) it holds are the part [`shard_range`] gives
    /// shard `i` of `n` of the whole. A record edited past that is refused
    /// here, before a merge trusts its numbers (an edited `shards` of
    /// 2⁶⁴ − 1 had the merge list the missing shards one by one).
    fn check(&self, path: &Path) -> Result<()> {
        let what = if self.command == "run" {
            "runs"
        } else {
            "grid points"
        };
        let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let Some(expected) = shard_range(
            as_u64(self.shard),
            as_u64(self.shards),
            as_u64(self.grid_points),
        ) else {
            return Err(Error::usage(format!(
                "{}: shard {}/{}: not a shard i/n with 1 <= i <= n; was it edited?",
                path.display(),
                self.shard,
                self.shards
            )));
        };
        let first = as_u64(self.first_point);
        let held = first.checked_add(as_u64(self.points));
        if held.is_none_or(|end| (first..end) != expected) {
            return Err(Error::usage(format!(
                "{}: shard {}/{} of {} {what} holds {what} {}..{}, the record says {} from {}; was it edited?",
                path.display(),
                self.shard,
                self.shards,
                self.grid_points,
                expected.start,
                expected.end,
                self.points,
                self.first_point
            )));
        }
        Ok(())
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
    let given: Vec<usize> = shards.iter().map(|(info, _)| info.shard).collect();
    if let Some(missing) = missing_shards(&given, reference.shards) {
        return Err(Error::usage(format!(
            "{missing} missing: give the folders of all {} shards",
            reference.shards
        )));
    }
    Ok((reference, shards))
}

/// The shards of `1..=n` not in `given` (sorted, distinct, each in
/// `1..=n`), named as `shard 2/3` or `shards 2/9, 5/9`, the first
/// [`NAMED_MISSING`] and a count of the rest; `None` if none is missing.
/// It walks the gaps between the shards given, not every shard: `n`
/// comes from a file and may be near 2⁶⁴.
fn missing_shards(given: &[usize], n: usize) -> Option<String> {
    let mut named = Vec::new();
    let mut count: u128 = 0;
    // In 128 bits: `n + 1` does not wrap at `n = usize::MAX`.
    let mut gap = |from: u128, to: u128| {
        // the shards from..to (to exclusive) are missing
        count += to - from;
        let room = NAMED_MISSING.saturating_sub(named.len());
        named.extend((from..to).take(room).map(|i| format!("{i}/{n}")));
    };
    let mut next = 1u128;
    for &i in given {
        gap(next, i as u128);
        next = i as u128 + 1;
    }
    gap(next, n as u128 + 1);
    let rest = count - named.len() as u128;
    match count {
        0 => None,
        1 => Some(format!("shard {}", named[0])),
        _ if rest == 0 => Some(format!("shards {}", named.join(", "))),
        _ => Some(format!("shards {} and {rest} more", named.join(", "))),
    }
}

/// How many missing shards an error names before counting the rest.
const NAMED_MISSING: usize = 8;

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
    fn shards_are_the_near_equal_parts_without_wrapping() {
        // the plain formula where it cannot wrap, and the parts tile the whole
        for len in 0..12u64 {
            for n in 1..15u64 {
                let mut next = 0;
                for i in 1..=n {
                    let part = shard_range(i, n, len).unwrap();
                    assert_eq!(part, (i - 1) * len / n..i * len / n);
                    assert_eq!(part.start, next);
                    next = part.end;
                }
                assert_eq!(next, len, "{n} parts of {len}");
            }
        }
        assert_eq!(shard_range(0, 3, 9), None);
        assert_eq!(shard_range(4, 3, 9), None);
        assert_eq!(shard_range(1, 0, 9), None);
        // (i − 1)·len wraps a u64 here: the part is at point 2, not 0
        let n = 1 << 63;
        assert_eq!(shard_range(n - 1, n, 3), Some(2..2));
        assert_eq!(shard_range(n, n, 3), Some(2..3));
        assert_eq!(shard_range(1, n, 3), Some(0..0));
        let max = u64::MAX;
        assert_eq!(shard_range(max, max, max), Some(max - 1..max));
        assert_eq!(shard_range(2, 3, max), Some(max / 3..max / 3 * 2));
        assert_eq!(shard_range(3, 3, max), Some(max / 3 * 2..max));
    }

    #[test]
    fn missing_shards_are_named_by_their_gaps() {
        assert_eq!(missing_shards(&[1, 2, 3], 3), None);
        assert_eq!(missing_shards(&[1, 3], 3).unwrap(), "shard 2/3");
        assert_eq!(missing_shards(&[2], 3).unwrap(), "shards 1/3, 3/3");
        assert_eq!(
            missing_shards(&[4], 12).unwrap(),
            "shards 1/12, 2/12, 3/12, 5/12, 6/12, 7/12, 8/12, 9/12 and 3 more"
        );
        // at once, whatever the number of shards a record claims
        let max = usize::MAX;
        assert_eq!(
            missing_shards(&[1, 3, max], max).unwrap(),
            format!(
                "shards 2/{max}, 4/{max}, 5/{max}, 6/{max}, 7/{max}, 8/{max}, 9/{max}, 10/{max} and {} more",
                max as u128 - 3 - 8
            )
        );
        assert_eq!(
            missing_shards(&[max - 1], max).unwrap(),
            format!("shards 1/{max}, 2/{max}, 3/{max}, 4/{max}, 5/{max}, 6/{max}, 7/{max}, 8/{max} and {} more", max as u128 - 1 - 8)
        );
    }

    #[test]
    fn a_record_that_no_shard_writes_is_refused_naming_the_file() {
        let good = ShardInfo {
            agora_version: VERSION.into(),
            command: "sweep".into(),
            sweep_sha256: "sha256:00".into(),
            grid_points: 7,
            shard: 2,
            shards: 3,
            first_point: 2,
            points: 2,
            csv: true,
            keep_runs: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let read = |info: &ShardInfo| {
            std::fs::write(dir.path().join(SHARD_FILE), info.to_json().unwrap()).unwrap();
            ShardInfo::read(dir.path())
        };
        assert_eq!(read(&good).unwrap(), good);
        // more shards than points: empty parts, as `--shard` writes them
        let empty = ShardInfo {
            shard: 5,
            shards: 9,
            first_point: 3,
            points: 0,
            ..good.clone()
        };
        assert_eq!(read(&empty).unwrap(), empty);
        let huge = usize::MAX;
        for (bad, says) in [
            (
                ShardInfo {
                    shard: 0,
                    ..good.clone()
                },
                "shard 0/3: not a shard i/n",
            ),
            (
                ShardInfo {
                    shard: 4,
                    ..good.clone()
                },
                "shard 4/3: not a shard i/n",
            ),
            (
                ShardInfo {
                    shards: 0,
                    ..good.clone()
                },
                "shard 2/0: not a shard i/n",
            ),
            (
                ShardInfo {
                    points: 3,
                    ..good.clone()
                },
                "shard 2/3 of 7 grid points holds grid points 2..4, the record says 3 from 2",
            ),
            (
                ShardInfo {
                    first_point: 1,
                    ..good.clone()
                },
                "holds grid points 2..4, the record says 2 from 1",
            ),
            (
                ShardInfo {
                    first_point: huge,
                    points: huge,
                    ..good.clone()
                },
                "holds grid points 2..4",
            ),
            (
                ShardInfo {
                    shards: huge,
                    ..good.clone()
                },
                &format!("shard 2/{huge} of 7 grid points holds grid points 0..0"),
            ),
            (
                ShardInfo {
                    command: "run".into(),
                    grid_points: 8,
                    ..good.clone()
                },
                "shard 2/3 of 8 runs holds runs 2..5, the record says 2 from 2",
            ),
        ] {
            let e = read(&bad).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
            assert!(
                e.contains(SHARD_FILE) && e.contains("was it edited?"),
                "{e}"
            );
            assert_eq!(e.lines().count(), 1, "{e}");
        }
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
