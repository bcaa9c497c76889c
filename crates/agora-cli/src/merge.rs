//! `agora merge`: the shards of a sweep (`agora sweep --shard i/n`) or of
//! a Monte Carlo ensemble (`agora run --runs R --shard i/n`), run on
//! different machines or as array jobs, put together into the folder the
//! whole command would have written.

use agora::output::shards::{
    merge_runs, merge_sweeps, ShardInfo, POINTS_DIR, SHARD_FILE, SWEEP_CSV,
};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `agora merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The shards' output folders, in any order (each written by `agora sweep --shard i/n` or `agora run --shard i/n`).
    #[arg(required = true, value_name = "DIR")]
    shards: Vec<PathBuf>,
    /// Directory for the merged sweep.csv (created if missing; what an earlier agora command wrote there is replaced, other files kept).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
}

/// Runs `agora merge`.
pub fn run(args: MergeArgs) -> anyhow::Result<()> {
    for dir in &args.shards {
        if same_folder(dir, &args.out) {
            return Err(agora::Error::usage(format!(
                "--out {}: is one of the shards; merge into another folder",
                args.out.display()
            ))
            .into());
        }
    }
    if ShardInfo::read(&args.shards[0])?.command == "run" {
        return merge_ensemble(&args);
    }
    let merged = merge_sweeps(&args.shards)?;
    let mut names = vec![SHARD_FILE, SWEEP_CSV];
    if merged.info.keep_runs {
        names.push(POINTS_DIR);
    }
    let mut out = agora::output::OutputDir::open(&args.out, &names)?;
    crate::folder::warn(out.notes(), args.quiet);
    for (i, folder) in &merged.points {
        copy_point(&out, *i, folder)?;
    }
    out.write(SWEEP_CSV, &merged.csv)?;
    out.write(SHARD_FILE, &merged.info.to_json()?)?;
    let written = crate::folder::commit(out, None, args.quiet)?;
    if !args.quiet {
        let mut w = std::io::stdout().lock();
        let printed = writeln!(
            w,
            "merged {}: {}",
            plural(args.shards.len(), "shard"),
            plural(merged.info.grid_points, "grid point")
        )
        .and_then(|()| {
            written
                .iter()
                .try_for_each(|p| writeln!(w, "  wrote {}", p.display()))
        });
        crate::quiet_pipe(printed)?;
    }
    Ok(())
}

/// `agora merge` of Monte Carlo shards: the whole ensemble's tables,
/// summary.json (without `performance`, measured per process) and
/// scenario.toml.
fn merge_ensemble(args: &MergeArgs) -> anyhow::Result<()> {
    let merged = merge_runs(&args.shards)?;
    let mut names: Vec<&str> = merged.files.iter().map(|(n, _)| n.as_str()).collect();
    names.push(SHARD_FILE);
    let mut out = agora::output::OutputDir::open(&args.out, &names)?;
    crate::folder::warn(out.notes(), args.quiet);
    for (name, bytes) in &merged.files {
        out.write(name, bytes)?;
    }
    out.write(SHARD_FILE, &merged.info.to_json()?)?;
    let written = crate::folder::commit(out, None, args.quiet)?;
    if !args.quiet {
        let mut w = std::io::stdout().lock();
        let printed = writeln!(
            w,
            "merged {}: {}",
            plural(args.shards.len(), "shard"),
            plural(merged.info.grid_points, "run")
        )
        .and_then(|()| {
            written
                .iter()
                .try_for_each(|p| writeln!(w, "  wrote {}", p.display()))
        });
        crate::quiet_pipe(printed)?;
    }
    Ok(())
}

/// Copies the files of grid point `i`'s folder into `points/<i>/` of the
/// staging folder.
fn copy_point(out: &agora::output::OutputDir, i: usize, folder: &Path) -> anyhow::Result<()> {
    let read = |e| agora::Error::io(folder, "reading", e);
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .map_err(read)?
        .collect::<Result<_, _>>()
        .map_err(read)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if !path.is_file() {
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let bytes = std::fs::read(&path).map_err(|e| agora::Error::io(&path, "reading", e))?;
        out.write_within(&format!("{POINTS_DIR}/{i}/{name}"), &bytes)?;
    }
    Ok(())
}

/// Whether `a` and `b` name the same existing folder.
fn same_folder(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `n thing` or `n things`.
fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn one_of_a_thing_is_singular() {
        assert_eq!(plural(1, "shard"), "1 shard");
        assert_eq!(plural(3, "grid point"), "3 grid points");
        assert_eq!(plural(0, "run"), "0 runs");
    }
}
