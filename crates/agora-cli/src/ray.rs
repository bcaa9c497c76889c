//! `agora sweep --backend ray`: the grid runs as Ray tasks through the
//! Python package (`agora._ray_cli`), which merges the shards the tasks
//! return exactly as `agora merge` does. Ray stays out of the command
//! line's dependencies: only a Python interpreter with the `agora` package
//! and Ray installed is needed, found as `AGORA_PYTHON` or `python3`.

use agora::Scenario;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The environment variable naming the Python interpreter to run Ray from.
pub const PYTHON_ENV: &str = "AGORA_PYTHON";

/// What the Python side needs to run the sweep.
pub struct RaySweep<'a> {
    /// The effective scenario (overrides applied).
    pub scenario: &'a Scenario,
    /// The `--set` arguments, as given.
    pub sets: &'a [String],
    /// `--zip`.
    pub zip: bool,
    /// `--address`.
    pub address: Option<&'a str>,
    /// `--threads`: cores per task (1 when not given).
    pub threads: Option<u64>,
    /// `--quiet`.
    pub quiet: bool,
}

/// Removes its folder when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn install_hint() -> String {
    format!(
        "set {PYTHON_ENV} to a Python that has the agora package and Ray \
         (pip install './crates/agora-py[ray]')"
    )
}

/// Runs the sweep on Ray; returns the bytes of `sweep.csv` and
/// `shard.json`, as one machine's sweep writes them.
pub fn sweep(job: &RaySweep<'_>) -> anyhow::Result<(Vec<u8>, Vec<u8>)> {
    let python = std::env::var(PYTHON_ENV)
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "python3".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir =
        TempDir(std::env::temp_dir().join(format!("agora-ray-{}-{nanos}", std::process::id())));
    std::fs::create_dir_all(&dir.0).map_err(|e| agora::Error::io(&dir.0, "creating", e))?;
    let text = String::from_utf8(agora::output::scenario_toml(job.scenario)?)
        .map_err(|_| agora::Error::usage("the scenario's TOML is not UTF-8"))?;
    let spec = serde_json::json!({
        "text": text,
        "origin": job.scenario.origin(),
        "sets": job.sets,
        "zip": job.zip,
        "address": job.address,
        "threads": job.threads,
        "quiet": job.quiet,
    });
    let spec_path = dir.0.join("spec.json");
    std::fs::write(&spec_path, spec.to_string())
        .map_err(|e| agora::Error::io(&spec_path, "writing", e))?;
    let status = Command::new(&python)
        .args(["-m", "agora._ray_cli"])
        .arg(&spec_path)
        .arg(&dir.0)
        .stdin(Stdio::null())
        .stdout(if job.quiet {
            Stdio::null()
        } else {
            Stdio::inherit()
        })
        .status()
        .map_err(|e| {
            agora::Error::usage(format!(
                "--backend ray: cannot start {python} ({e}); {}",
                install_hint()
            ))
        })?;
    let error = std::fs::read_to_string(dir.0.join("error.txt")).ok();
    if !status.success() {
        let message = match error {
            Some(line) => line.trim().to_string(),
            None => format!(
                "{python} -m agora._ray_cli failed ({status}); is the agora package installed there? {}",
                install_hint()
            ),
        };
        return Err(agora::Error::usage(format!("--backend ray: {message}")).into());
    }
    Ok((read(&dir.0, "sweep.csv")?, read(&dir.0, "shard.json")?))
}

fn read(dir: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(name);
    Ok(std::fs::read(&path).map_err(|e| agora::Error::io(&path, "reading", e))?)
}
