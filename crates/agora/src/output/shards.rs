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
        if info.grid_points != reference.grid_points {
            return Err(Error::usage(format!(
                "{} is of {} {}, {} of {}: shards of one {command} share its size; was a {SHARD_FILE} edited?",
                first_dir.display(),
                reference.grid_points,
                if command == "run" { "runs" } else { "grid points" },
                dir.display(),
                info.grid_points
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
    let mut tables = Vec::with_capacity(shards.len());
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
        let table = ShardTable::read(&path, &text)?;
        if table.rows.len() != info.points {
            return Err(Error::usage(format!(
                "{}: holds {} rows, its {SHARD_FILE} says {}: written by another command, or cut short",
                path.display(),
                table.rows.len(),
                info.points
            )));
        }
        tables.push(table);
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
    let csv = join_tables(&tables)?;
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
            check_rows_end(&path, rows)?;
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
        let runs: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&text)
            .map_err(|e| {
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
        summaries.extend(runs.into_iter().map(serde_json::Value::Object));
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
    if u64::try_from(reference.grid_points).ok() != Some(scenario.simulation().runs) {
        return Err(Error::usage(format!(
            "{}: an ensemble of {} runs, its scenario.toml says {}; was it edited?",
            first.join(SHARD_FILE).display(),
            reference.grid_points,
            scenario.simulation().runs
        )));
    }
    let summary = super::summary_json_of(&scenario, &summaries, None)?;
    // The metrics are the shards' runs.json as they are: edited, they may
    // nest past what a reader of summary.json takes (a name holding many
    // dots nests its distribution a level a dot).
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&summary) {
        return Err(Error::usage(format!(
            "{}: the runs' metrics do not make a summary.json that reads back ({e}); was it edited?",
            first.join(RUNS_FILE).display()
        )));
    }
    joined.push(("summary.json".into(), summary));
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

/// A shard's `sweep.csv`, read: its columns (the grid's parameters, then
/// each metric's mean, then each metric's spread, as
/// [`SweepTable`](crate::experiment::sweep::SweepTable) has them) and rows.
struct ShardTable {
    /// The file, for errors.
    path: PathBuf,
    /// The header's fields.
    header: csv::ByteRecord,
    /// How many of the first columns are the grid's parameters.
    parameters: usize,
    /// The rows, each as long as the header.
    rows: Vec<csv::ByteRecord>,
}

impl ShardTable {
    /// Reads `text`, the file `path`; refuses a text that is not a CSV
    /// table (or whose last row has no line break), or a row of another
    /// length than the header.
    fn read(path: &Path, text: &[u8]) -> Result<ShardTable> {
        check_rows_end(path, text)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text);
        let mut records = reader.byte_records();
        let bad = |e: csv::Error| {
            Error::usage(format!(
                "{}: not a CSV table ({e}); was it edited or cut short?",
                path.display()
            ))
        };
        let header = match records.next() {
            Some(h) => h.map_err(bad)?,
            None => {
                return Err(Error::usage(format!(
                    "{}: empty, no header line",
                    path.display()
                )))
            }
        };
        let mut rows = Vec::new();
        for (r, row) in records.enumerate() {
            let row = row.map_err(bad)?;
            if row.len() != header.len() {
                return Err(Error::usage(format!(
                    "{}: row {} has {} fields, the header {}; was it edited?",
                    path.display(),
                    r + 1,
                    row.len(),
                    header.len()
                )));
            }
            rows.push(row);
        }
        let parameters = sweep_parameters(&header);
        Ok(ShardTable {
            path: path.to_path_buf(),
            header,
            parameters,
            rows,
        })
    }

    /// The metrics' names (the columns of their means).
    fn metrics(&self) -> impl Iterator<Item = &[u8]> {
        let m = (self.header.len() - self.parameters) / (1 + SPREAD_COLUMNS);
        (self.parameters..self.parameters + m).map(|c| &self.header[c])
    }
}

/// Columns of each metric's spread (`std`, `p5`, `p50`, `p95`).
const SPREAD_COLUMNS: usize = crate::experiment::sweep::SPREAD.len();

/// How many of `header`'s columns are the grid's parameters: `k` such that
/// the header is `k` columns, `m` metric names, and then each name's
/// spread columns (`<name>.std`, …), for the most metrics `m` for which
/// the header has that form (with none, every column is a parameter, as in
/// a shard of no points).
fn sweep_parameters(header: &csv::ByteRecord) -> usize {
    let len = header.len();
    let spread = crate::experiment::sweep::SPREAD;
    let fits = |m: usize| {
        let (k, spreads) = (len - m * (1 + SPREAD_COLUMNS), len - m * SPREAD_COLUMNS);
        (0..m).all(|j| {
            let name = &header[k + j];
            spread.iter().enumerate().all(|(s, suffix)| {
                let column = &header[spreads + j * SPREAD_COLUMNS + s];
                column.len() == name.len() + 1 + suffix.len()
                    && column.starts_with(name)
                    && column[name.len()] == b'.'
                    && column.ends_with(suffix.as_bytes())
            })
        })
    };
    let m = (1..=len / (1 + SPREAD_COLUMNS))
        .rev()
        .find(|&m| fits(m))
        .unwrap_or(0);
    len - m * (1 + SPREAD_COLUMNS)
}

/// The whole sweep's `sweep.csv` from its shards' tables, in shard order.
/// A shard's columns are the metrics its own points have (a categorical
/// sweep may change which exist: a bonding curve's points and an AMM's),
/// and an empty shard (`--shard i/n` with `n` past the points) has the
/// parameters' alone; the whole sweep's are every metric in the order the
/// points first have it, which is the order the shards, taken in turn,
/// first have it. Each row is written in the whole's columns, its cells
/// moved to them, and a metric its point does not have is an empty cell,
/// as the whole sweep writes it.
fn join_tables(tables: &[ShardTable]) -> Result<Vec<u8>> {
    let first = &tables[0];
    let parameters: Vec<&[u8]> = (0..first.parameters).map(|c| &first.header[c]).collect();
    let mut metrics: Vec<&[u8]> = Vec::new();
    let mut index: std::collections::HashMap<&[u8], usize> = std::collections::HashMap::new();
    for t in tables {
        let own: Vec<&[u8]> = (0..t.parameters).map(|c| &t.header[c]).collect();
        if own != parameters {
            return Err(Error::usage(format!(
                "{} and {}: {SWEEP_CSV} headers differ (the grid's parameters)",
                first.path.display(),
                t.path.display()
            )));
        }
        for name in t.metrics() {
            if !index.contains_key(name) {
                index.insert(name, metrics.len());
                metrics.push(name);
            }
        }
    }
    let m = metrics.len();
    let err = |e: csv::Error| Error::writing(SWEEP_CSV, e);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = csv::ByteRecord::new();
    for p in &parameters {
        header.push_field(p);
    }
    for name in &metrics {
        header.push_field(name);
    }
    for name in &metrics {
        for suffix in crate::experiment::sweep::SPREAD {
            let mut column = name.to_vec();
            column.push(b'.');
            column.extend_from_slice(suffix.as_bytes());
            header.push_field(&column);
        }
    }
    w.write_byte_record(&header).map_err(err)?;
    let mut cells: Vec<&[u8]> = Vec::new();
    for t in tables {
        let own: Vec<usize> = t.metrics().map(|name| index[name]).collect();
        let k = t.parameters;
        let spreads = k + own.len();
        for row in &t.rows {
            cells.clear();
            cells.resize(parameters.len() + m * (1 + SPREAD_COLUMNS), b"");
            for c in 0..k {
                cells[c] = &row[c];
            }
            for (j, &at) in own.iter().enumerate() {
                cells[k + at] = &row[k + j];
                for s in 0..SPREAD_COLUMNS {
                    cells[k + m + at * SPREAD_COLUMNS + s] = &row[spreads + j * SPREAD_COLUMNS + s];
                }
            }
            w.write_record(&cells).map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| Error::writing(SWEEP_CSV, e.into_error()))
}

/// Refuses a table whose last row has no line break: it was cut short,
/// and the next shard's first row would be joined onto it.
fn check_rows_end(path: &Path, rows: &[u8]) -> Result<()> {
    if rows.last().is_some_and(|&b| b != b'\n') {
        return Err(Error::usage(format!(
            "{}: its last row ends without a line break: cut short, or edited",
            path.display()
        )));
    }
    Ok(())
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
        let good = shard_record(7, 2, 3);
        assert_eq!((good.first_point, good.points), (2, 2));
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

    /// The record `--shard shard/shards` of a sweep of `grid_points`
    /// writes.
    fn shard_record(grid_points: usize, shard: usize, shards: usize) -> ShardInfo {
        let part = shard_range(shard as u64, shards as u64, grid_points as u64).unwrap();
        ShardInfo {
            agora_version: VERSION.into(),
            command: "sweep".into(),
            sweep_sha256: "sha256:00".into(),
            grid_points,
            shard,
            shards,
            first_point: part.start as usize,
            points: (part.end - part.start) as usize,
            csv: true,
            keep_runs: false,
        }
    }

    fn record(text: &str) -> csv::ByteRecord {
        csv::ByteRecord::from(text.split(',').collect::<Vec<_>>())
    }

    /// A metric's columns: its mean, then its spread.
    fn spread_of(names: &[&str]) -> String {
        let spreads: Vec<String> = names
            .iter()
            .flat_map(|n| ["std", "p5", "p50", "p95"].map(|s| format!("{n}.{s}")))
            .collect();
        [names.join(","), spreads.join(",")].join(",")
    }

    #[test]
    fn a_sweep_headers_parameters_are_found_before_its_metrics() {
        assert_eq!(
            sweep_parameters(&record(&format!("a,b,{}", spread_of(&["x"])))),
            2
        );
        assert_eq!(
            sweep_parameters(&record(&format!("a,{}", spread_of(&["x", "y.z"])))),
            1
        );
        assert_eq!(sweep_parameters(&record(&spread_of(&["x", "y"]))), 0);
        // no points: the parameters alone
        assert_eq!(sweep_parameters(&record("a")), 1);
        assert_eq!(sweep_parameters(&record("a,b,c,d,e,f")), 6);
        // a spread column out of place is no sweep's metric
        assert_eq!(sweep_parameters(&record("a,x,x.p5,x.std,x.p50,x.p95")), 6);
        assert_eq!(sweep_parameters(&record("a,x,x.std,x.p5,x.p50,xp95")), 6);
        // spread columns of another metric, or of no name's length
        assert_eq!(sweep_parameters(&record("a,x,y.std,y.p5,y.p50,y.p95")), 6);
        assert_eq!(sweep_parameters(&record("a,x,xx.std,x.p5,x.p50,x.p95")), 6);
        // more columns than a metric takes, fewer than two do
        assert_eq!(sweep_parameters(&record("a,b,c,d,e,f,g,h")), 8);
        assert_eq!(
            sweep_parameters(&record(&format!("a,b,c,{}", spread_of(&["x"])))),
            3
        );
    }

    #[test]
    fn shard_tables_join_in_the_wholes_columns_in_first_seen_order() {
        let table = |header: &str, rows: &[&str]| {
            let text = std::iter::once(header)
                .chain(rows.iter().copied())
                .map(|l| format!("{l}\n"))
                .collect::<String>();
            ShardTable::read(Path::new("t.csv"), text.as_bytes()).unwrap()
        };
        let spread = |v: &str| [v; 4].join(",");
        let a = table(
            &format!("p,{}", spread_of(&["x", "y"])),
            &[&format!("1,10,20,{},{}", spread("1"), spread("2"))],
        );
        let empty = table("p", &[]);
        let b = table(
            &format!("p,{}", spread_of(&["z", "x"])),
            &[&format!("\"2,5\",30,11,{},{}", spread("3"), spread("4"))],
        );
        let joined = String::from_utf8(join_tables(&[a, empty, b]).unwrap()).unwrap();
        let e = |n: usize| vec![""; n].join(",");
        assert_eq!(
            joined,
            format!(
                "p,{}\n1,10,20,,{},{},{}\n\"2,5\",11,,30,{},{},{}\n",
                spread_of(&["x", "y", "z"]),
                spread("1"),
                spread("2"),
                e(4),
                spread("4"),
                e(4),
                spread("3")
            )
        );
        // three parameters, a metric each, the second shard's new
        let three = |metric: &str, v: &str| {
            table(
                &format!("p,q,r,{}", spread_of(&[metric])),
                &[&format!("1,2,3,{v},{}", spread(v))],
            )
        };
        let joined = join_tables(&[three("x", "7"), three("y", "8")]).unwrap();
        assert_eq!(
            String::from_utf8(joined).unwrap(),
            format!(
                "p,q,r,{}\n1,2,3,7,,{},{}\n1,2,3,,8,{},{}\n",
                spread_of(&["x", "y"]),
                spread("7"),
                e(4),
                e(4),
                spread("8")
            )
        );
        // four metrics, the next shard's one of them: in place
        let names = ["w", "x", "y", "z"];
        let values = ["1", "2", "3", "4"];
        let four = table(
            &format!("p,{}", spread_of(&names)),
            &[&format!(
                "0,{},{}",
                values.join(","),
                values.map(spread).join(",")
            )],
        );
        let one = table(
            &format!("p,{}", spread_of(&["y"])),
            &[&format!("9,5,{}", spread("5"))],
        );
        let joined = String::from_utf8(join_tables(&[four, one]).unwrap()).unwrap();
        assert_eq!(
            joined.lines().nth(2).unwrap(),
            format!("9,,,5,,{},{},{},{}", e(4), e(4), spread("5"), e(4))
        );
        // shards of other grids
        let c = table("q", &[]);
        let d = table("p", &[]);
        let err = join_tables(&[d, c]).unwrap_err().to_string();
        assert!(
            err.contains("headers differ (the grid's parameters)"),
            "{err}"
        );
        // a row of another length, a row cut short
        for (text, says) in [
            ("p,x\n1\n", "row 1 has 1 fields, the header 2"),
            ("p\n1", "ends without a line break"),
            ("", "empty, no header line"),
        ] {
            let err = ShardTable::read(Path::new("t.csv"), text.as_bytes())
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains(says) && err.starts_with("t.csv: "),
                "{text:?}: {err}"
            );
        }
    }

    /// Found by fuzzing `merge`: two records alike but for the size of the
    /// grid, each a shard of its own size, merged in one order and were
    /// refused in the other (the first folder given was the reference).
    #[test]
    fn shards_of_grids_of_different_sizes_are_refused_in_either_order() {
        let tmp = tempfile::tempdir().unwrap();
        let shard = |name: &str, grid_points: usize, shard: usize| {
            let dir = tmp.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            let info = shard_record(grid_points, shard, 2);
            std::fs::write(dir.join(SHARD_FILE), info.to_json().unwrap()).unwrap();
            let row = format!("1,{}\n", ["2"; 5].join(","));
            let rows = row.repeat(info.points);
            let text = format!("p,{}\n{rows}", spread_of(&["x"]));
            std::fs::write(dir.join(SWEEP_CSV), text).unwrap();
            dir
        };
        let (a, b) = (shard("a", 3, 1), shard("b", 2, 2));
        for dirs in [[a.clone(), b.clone()], [b, a.clone()]] {
            let e = merge_sweeps(&dirs).unwrap_err().to_string();
            assert!(e.contains("shards of one sweep share its size"), "{e}");
        }
        // the second shard of the 3-point grid merges with the first; with
        // a row dropped from its sweep.csv, it is refused
        let c = shard("c", 3, 2);
        assert_eq!(
            merge_sweeps(&[c.clone(), a.clone()]).unwrap().info.points,
            3
        );
        let text = std::fs::read_to_string(c.join(SWEEP_CSV)).unwrap();
        let cut: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
        std::fs::write(c.join(SWEEP_CSV), cut).unwrap();
        let e = merge_sweeps(&[c, a]).unwrap_err().to_string();
        assert!(e.contains("holds 1 rows, its shard.json says 2"), "{e}");
    }

    #[test]
    fn a_record_reads_back_and_unknown_fields_are_refused() {
        let info = shard_record(6, 2, 3);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(SHARD_FILE), info.to_json().unwrap()).unwrap();
        assert_eq!(ShardInfo::read(dir.path()).unwrap(), info);
        std::fs::write(dir.path().join(SHARD_FILE), b"{\"shard\": 1}").unwrap();
        let e = ShardInfo::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a sweep's shard record"), "{e}");
    }
}
