//! The command line's contract: exit statuses, the files written and their
//! columns, overrides, reproducibility across thread counts, quiet and piped
//! output, and errors that name the file and the field.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ASSETS_HEADER: &str = "run,step,asset,price,supply,reserve,volume,trades,price_source,best_bid,best_ask,capacity,requested,allocated";
const AGENTS_HEADER: &str = "run,step,group,agents,balance,holdings,wealth";
const OUTPUTS: [&str; 4] = ["assets.csv", "agents.csv", "summary.json", "scenario.toml"];

/// Runs the built `agora` with `args`, stdout and stderr piped.
fn agora(args: &[&str]) -> Output {
    agora_env(args, &[])
}

fn agora_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agora"));
    cmd.args(args).env_remove("RAYON_NUM_THREADS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the agora binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("utf-8 stderr")
}

/// Asserts the exit status, showing the output on failure.
fn assert_status(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&read(dir, "summary.json")).expect("summary.json is JSON")
}

/// The names of the entries in `dir` (none if it does not exist).
fn entries(dir: &Path) -> Vec<String> {
    match fs::read_dir(dir) {
        Ok(rd) => {
            let mut names: Vec<String> = rd
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        }
        Err(_) => Vec::new(),
    }
}

/// Rows of a CSV text after the header, split into fields.
fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn write_scenario(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write scenario");
    path
}

const GOOD: &str = r#"
[simulation]
steps = 10
seed = 1

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }

[[agents]]
group = "noise"
count = 50
balance = 100.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
"#;

#[test]
fn run_example_token_economy_writes_the_four_files_with_the_documented_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out/nested"); // created if missing
    let out = agora(&["run", "--example", "token-economy", "--out", path_str(&dir)]);
    assert_status(&out, 0);
    assert_eq!(entries(&dir), {
        let mut v: Vec<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    });

    let steps = 200;
    let assets = read(&dir, "assets.csv");
    assert_eq!(assets.lines().next(), Some(ASSETS_HEADER));
    let asset_rows = rows(&assets);
    assert_eq!(
        asset_rows.len(),
        steps + 1,
        "a row for step 0, then one per step"
    );
    for (t, row) in asset_rows.iter().enumerate() {
        assert_eq!(row.len(), 14);
        assert_eq!(row[0], "0");
        // a curve's price; no quotes, no capacity
        assert_eq!(row[8], "curve");
        assert!(row[9..].iter().all(|c| c.is_empty()), "{row:?}");
        assert_eq!(row[1], t.to_string());
        assert_eq!(row[2], "AGT");
    }
    // step 0: the 20,000-token airdrop is minted on P = 0.0005·S + 1
    assert_eq!(&asset_rows[0][3..5], ["11.0", "20000.0"]);

    let agents = read(&dir, "agents.csv");
    assert_eq!(agents.lines().next(), Some(AGENTS_HEADER));
    let agent_rows = rows(&agents);
    let groups = [
        ("noise", 2000),
        ("early_holders", 200),
        ("trend", 500),
        ("contrarian", 500),
        ("fundamental", 800),
    ];
    assert_eq!(agent_rows.len(), (steps + 1) * groups.len());
    for (i, row) in agent_rows.iter().enumerate() {
        let (group, count) = groups[i % groups.len()];
        assert_eq!(row.len(), 7);
        assert_eq!(row[1], (i / groups.len()).to_string());
        assert_eq!(row[2], group);
        assert_eq!(row[3], count.to_string());
    }
    // step 0: 2000 noise traders with 1000 each, no tokens
    assert_eq!(&agent_rows[0][4..6], ["2000000.0", "0.0"]);

    let s = summary(&dir);
    assert_eq!(s["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(s["seed"], 42);
    assert_eq!(s["steps"], 200);
    let hash = s["scenario_hash"].as_str().expect("scenario_hash");
    assert!(
        hash.len() == 7 + 64
            && hash.starts_with("sha256:")
            && hash[7..].chars().all(|c| c.is_ascii_hexdigit()),
        "{hash}"
    );
    let final_price = s["assets"]["AGT"]["final_price"]
        .as_f64()
        .expect("final_price");
    let last_price: f64 = asset_rows[steps][3].parse().unwrap();
    assert_eq!(final_price, last_price, "summary and series agree");
    for key in [
        "mean_price",
        "min_price",
        "max_price",
        "volatility",
        "log_return_volatility",
        "max_drawdown",
        "volume",
        "trades",
    ] {
        assert!(s["assets"]["AGT"][key].is_number(), "assets.AGT.{key}");
    }
    let gini = s["groups"]["noise"]["gini"].as_f64().expect("gini");
    assert!((0.0..1.0).contains(&gini), "gini {gini}");
    for key in ["mean_wealth", "pnl", "utility"] {
        assert!(s["groups"]["noise"][key].is_number(), "groups.noise.{key}");
    }
    assert_eq!(s["ledger"]["conservation_error"].as_f64(), Some(0.0));
    assert_eq!(s["ledger"]["reserve_shortfall"].as_f64(), Some(0.0));
    assert!(s["ledger"]["rejected_actions"].is_u64());
}

#[test]
fn seed_and_steps_override_the_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let out = agora(&[
        "run",
        "--example",
        "token-economy",
        "--out",
        path_str(&a),
        "--seed",
        "7",
        "--steps",
        "12",
    ]);
    assert_status(&out, 0);
    let s = summary(&a);
    assert_eq!(s["seed"], 7);
    assert_eq!(s["steps"], 12);
    assert_eq!(rows(&read(&a, "assets.csv")).len(), 13);
    assert_eq!(rows(&read(&a, "agents.csv")).len(), 13 * 5);
    // the effective scenario carries the overrides
    let effective = read(&a, "scenario.toml");
    assert!(effective.contains("seed = 7"), "{effective}");
    assert!(effective.contains("steps = 12"), "{effective}");
    // and the effective scenario reproduces the run
    let c = tmp.path().join("c");
    let out = agora(&[
        "run",
        path_str(&a.join("scenario.toml")),
        "--out",
        path_str(&c),
    ]);
    assert_status(&out, 0);
    assert_eq!(read(&a, "assets.csv"), read(&c, "assets.csv"));

    let out = agora(&[
        "run",
        "--example",
        "token-economy",
        "--out",
        path_str(&b),
        "--seed",
        "8",
        "--steps",
        "12",
    ]);
    assert_status(&out, 0);
    assert_ne!(
        read(&a, "assets.csv"),
        read(&b, "assets.csv"),
        "seeds 7 and 8 agree"
    );
    assert_ne!(s["scenario_hash"], summary(&b)["scenario_hash"]);
}

fn assert_same_files(a: &Path, b: &Path, what: &str) {
    for name in OUTPUTS {
        assert!(
            fs::read(a.join(name)).unwrap() == fs::read(b.join(name)).unwrap(),
            "{what}: {name} differs"
        );
    }
}

#[test]
fn one_and_two_threads_give_byte_identical_files() {
    let tmp = tempfile::tempdir().unwrap();
    // token-economy (five groups, 4,000 agents) and reference (10,000
    // agents: three parallel chunks)
    for (example, steps) in [("token-economy", "60"), ("reference", "20")] {
        let one = tmp.path().join(format!("{example}-1"));
        let two = tmp.path().join(format!("{example}-2"));
        for (dir, threads) in [(&one, "1"), (&two, "2")] {
            let out = agora(&[
                "run",
                "--example",
                example,
                "--steps",
                steps,
                "--threads",
                threads,
                "--out",
                path_str(dir),
            ]);
            assert_status(&out, 0);
        }
        assert_same_files(&one, &two, &format!("{example}: --threads 1 vs 2"));
    }
}

#[test]
fn rayon_num_threads_does_not_change_the_results() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("one");
    let three = tmp.path().join("three");
    for (dir, n) in [(&one, "1"), (&three, "3")] {
        let out = agora_env(
            &[
                "run",
                "--example",
                "reference",
                "--steps",
                "10",
                "--out",
                path_str(dir),
            ],
            &[("RAYON_NUM_THREADS", n)],
        );
        assert_status(&out, 0);
    }
    assert_same_files(&one, &three, "RAYON_NUM_THREADS 1 vs 3");
}

#[test]
fn a_bad_scenario_exits_2_with_one_line_naming_the_file_and_field_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "bad.toml",
        &GOOD.replace("count = 50", "count = -5"),
    );
    let dir = tmp.path().join("out");
    fs::create_dir(&dir).unwrap();
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir)]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.contains(path_str(&file)), "names the file: {err}");
    assert!(err.contains("agents.noise.count"), "names the field: {err}");
    assert!(err.contains("whole number"), "says what is expected: {err}");
    assert_eq!(entries(&dir), Vec::<String>::new(), "nothing written");

    // and a missing output directory is not created
    let missing = tmp.path().join("never");
    let out = agora(&["run", path_str(&file), "--out", path_str(&missing)]);
    assert_status(&out, 2);
    assert!(!missing.exists());
}

#[test]
fn amounts_past_the_ledgers_range_exit_2_saying_what_to_scale_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    // at set-up: a balance past one account
    let file = write_scenario(
        tmp.path(),
        "rich.toml",
        &GOOD.replace("balance = 100.0", "balance = 2e10"),
    );
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir)]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    for part in ["agents.noise.balance", "2e10", "ledger's range", "scale money"] {
        assert!(err.contains(part), "expected {part:?} in {err}");
    }
    // during the run: a refund no account can hold, at step 1
    let file = write_scenario(
        tmp.path(),
        "whale.toml",
        &GOOD.replace(
            "balance = 100.0",
            "balance = 0.0\nholdings = [{ asset = \"TOKEN\", total = 1e9, distribution = \"uniform\" }]",
        )
        .replace("count = 50", "count = 1")
        .replace("p_buy = 0.5, p_sell = 0.5", "p_buy = 0.0, p_sell = 1.0")
        .replace("sell_fraction = 0.1", "sell_fraction = 1.0"),
    );
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir)]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    for part in ["at step 1", "asset TOKEN", "ledger's range", "scale money"] {
        assert!(err.contains(part), "expected {part:?} in {err}");
    }
    assert_eq!(entries(&dir), Vec::<String>::new(), "nothing written");
}

#[test]
fn a_scenario_that_is_not_toml_exits_2_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(tmp.path(), "junk.toml", "this is [not toml\n");
    let out = agora(&["validate", path_str(&file)]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.contains(path_str(&file)) && err.contains("TOML"),
        "{err}"
    );
}

#[test]
fn a_run_whose_outputs_cannot_all_be_written_writes_none_of_them() {
    // A directory in the way of summary.json: the run itself succeeds, but
    // its results cannot all be put in place, so none may appear.
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(tmp.path(), "good.toml", GOOD);
    let dir = tmp.path().join("out");
    fs::create_dir_all(dir.join("summary.json")).unwrap();
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir)]);
    assert_status(&out, 1);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("summary.json"), "{}", stderr(&out));
    assert_eq!(
        entries(&dir),
        vec!["summary.json".to_string()],
        "nothing else written"
    );
}

#[test]
fn validate_exits_0_on_a_good_file_and_2_on_a_bad_one() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write_scenario(tmp.path(), "good.toml", GOOD);
    let out = agora(&["validate", path_str(&good)]);
    assert_status(&out, 0);
    assert!(stdout(&out).contains("ok"), "{}", stdout(&out));
    assert!(stderr(&out).is_empty());

    let bad = write_scenario(
        tmp.path(),
        "bad.toml",
        &GOOD.replace("p_sell = 0.5", "p_sell = 0.7"),
    );
    let out = agora(&["validate", path_str(&bad)]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.contains(path_str(&bad)) && err.contains("agents.noise.policy.p_sell"),
        "{err}"
    );

    let out = agora(&["validate", path_str(&tmp.path().join("absent.toml"))]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("absent.toml"), "{}", stderr(&out));
}

/// The example names `agora examples` lists, first word of each line.
fn listed_examples() -> Vec<String> {
    let out = agora(&["examples"]);
    assert_status(&out, 0);
    stdout(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn examples_lists_the_required_examples() {
    let names = listed_examples();
    for required in [
        "token-economy",
        "reference",
        "curve-linear",
        "curve-exponential",
        "curve-sigmoid",
        "curve-power",
        "curve-bancor",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "{required} missing from {names:?}"
        );
    }
}

#[test]
fn every_listed_example_runs_and_its_printed_text_validates() {
    let tmp = tempfile::tempdir().unwrap();
    for name in listed_examples() {
        let dir = tmp.path().join(&name);
        let out = agora(&[
            "run",
            "--example",
            &name,
            "--steps",
            "5",
            "--out",
            path_str(&dir),
        ]);
        assert_status(&out, 0);
        let s = summary(&dir);
        assert_eq!(s["steps"], 5, "{name}");
        assert_eq!(
            s["ledger"]["conservation_error"].as_f64(),
            Some(0.0),
            "{name}"
        );
        let assets = s["assets"].as_object().expect("assets").len();
        assert_eq!(rows(&read(&dir, "assets.csv")).len(), 6 * assets, "{name}");

        let printed = agora(&["examples", &name]);
        assert_status(&printed, 0);
        let file = write_scenario(tmp.path(), &format!("{name}.toml"), &stdout(&printed));
        assert_status(&agora(&["validate", path_str(&file)]), 0);
    }
}

#[test]
fn when_piped_run_prints_nothing_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let out = agora(&[
        "run",
        "--example",
        "reference",
        "--steps",
        "30",
        "--out",
        path_str(tmp.path()),
    ]);
    assert_status(&out, 0);
    assert_eq!(stderr(&out), "", "no progress bar when piped");
    assert!(!stdout(&out).is_empty(), "results on stdout");
}

#[test]
fn quiet_prints_nothing_on_stdout_or_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let out = agora(&[
        "run",
        "--example",
        "token-economy",
        "--steps",
        "20",
        "--quiet",
        "--out",
        path_str(tmp.path()),
    ]);
    assert_status(&out, 0);
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out), "");
    assert!(tmp.path().join("summary.json").exists());
}

#[test]
fn a_second_run_into_the_same_directory_replaces_the_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let fresh = tmp.path().join("fresh");
    let run = |seed: &str, steps: &str, dir: &Path| {
        let out = agora(&[
            "run",
            "--example",
            "token-economy",
            "--seed",
            seed,
            "--steps",
            steps,
            "--out",
            path_str(dir),
        ]);
        assert_status(&out, 0);
    };
    run("1", "30", &dir);
    // fewer steps the second time: an appended or partly overwritten file
    // would keep rows of the first run
    run("2", "10", &dir);
    run("2", "10", &fresh);
    assert_same_files(&dir, &fresh, "second run vs a fresh directory");
    assert_eq!(summary(&dir)["seed"], 2);
    // no temporary files left behind
    let mut want: Vec<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(entries(&dir), want);
}

#[test]
fn an_unknown_example_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let out = agora(&[
        "run",
        "--example",
        "no-such-example",
        "--out",
        path_str(&dir),
    ]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(
        err.contains("no-such-example") && err.contains("token-economy"),
        "{err}"
    );
    assert!(!dir.exists());
    assert_status(&agora(&["examples", "no-such-example"]), 2);
}

#[test]
fn bad_arguments_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = path_str(tmp.path());
    for args in [
        &[
            "run",
            "--example",
            "reference",
            "--out",
            out_dir,
            "--threads",
            "0",
        ][..],
        &[
            "run",
            "--example",
            "reference",
            "--out",
            out_dir,
            "--steps",
            "0",
        ][..],
        &[
            "run",
            "--example",
            "reference",
            "--out",
            out_dir,
            "--seed",
            "-1",
        ][..],
        &["run", "--example", "reference"][..],
        &["run", "--out", out_dir][..],
        &["frobnicate"][..],
    ] {
        let out = agora(args);
        assert_status(&out, 2);
    }
    assert_eq!(entries(tmp.path()), Vec::<String>::new());
}

/// Regression test: `agora run … | head -1` made the binary panic with
/// "failed printing to stdout: Broken pipe".
#[test]
fn a_reader_that_closes_the_pipe_early_is_not_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["run", "--example", "curve-linear", "--steps", "3", "--out"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the agora binary runs");
    drop(child.stdout.take()); // the reader goes away before anything is printed
    let out = child.wait_with_output().expect("it ends");
    assert_status(&out, 0);
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert!(dir.join("summary.json").exists());
    for args in [&["examples"][..], &["examples", "reference"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_agora"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the agora binary runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("it ends");
        assert_status(&out, 0);
    }
}

#[test]
fn a_scenario_file_that_cannot_be_read_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.toml");
    let out = agora(&["validate", path_str(&missing)]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("missing.toml"), "{}", stderr(&out));
    let out = agora(&["run", path_str(&missing), "--out", path_str(tmp.path())]);
    assert_status(&out, 2);
}

#[test]
fn runs_write_a_run_column_means_and_distributions_identically_at_any_thread_count() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for threads in ["1", "2"] {
        let dir = tmp.path().join(threads);
        let out = agora(&[
            "run",
            "--example",
            "curve-linear",
            "--steps",
            "8",
            "--runs",
            "3",
            "--threads",
            threads,
            "--out",
            path_str(&dir),
        ]);
        assert_status(&out, 0);
        files.push(
            ["assets.csv", "agents.csv", "summary.json"].map(|f| fs::read(dir.join(f)).unwrap()),
        );
    }
    assert_eq!(files[0], files[1]);
    let assets = String::from_utf8(files[0][0].clone()).unwrap();
    for run in 0..3 {
        let rows = assets
            .lines()
            .filter(|l| l.starts_with(&format!("{run},")))
            .count();
        assert_eq!(rows, 9, "run {run}: steps 0..=8");
    }
    let summary: serde_json::Value = serde_json::from_slice(&files[0][2]).unwrap();
    assert_eq!(summary["runs"], 3);
    assert!(summary["distribution"]["assets"]["TOKEN"]["volatility"]["p95"].is_number());
}

#[test]
fn sweep_writes_a_row_per_grid_point_and_shards_concatenate_to_it() {
    let tmp = tempfile::tempdir().unwrap();
    let base = [
        "sweep",
        "--example",
        "curve-linear",
        "--steps",
        "6",
        "--runs",
        "2",
        "--set",
        "assets.TOKEN.pricing.m=0.001,0.002,0.004",
        "--set",
        "agents.noise.policy.p_buy=0.3,0.4",
    ];
    let whole = tmp.path().join("whole");
    let mut args = base.to_vec();
    args.extend(["--out", path_str(&whole)]);
    assert_status(&agora(&args), 0);
    let text = fs::read_to_string(whole.join("sweep.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("assets.TOKEN.pricing.m,agents.noise.policy.p_buy,"),
        "{header}"
    );
    assert!(
        header.split(',').any(|c| c == "assets.TOKEN.volatility"),
        "{header}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 6);
    assert!(
        rows[0].starts_with("0.001,0.3,") && rows[1].starts_with("0.001,0.4,"),
        "{rows:?}"
    );

    let mut joined = Vec::new();
    for i in 1..=4 {
        let dir = tmp.path().join(format!("shard{i}"));
        let mut args = base.to_vec();
        let shard = format!("{i}/4");
        args.extend(["--shard", &shard, "--out", path_str(&dir)]);
        assert_status(&agora(&args), 0);
        let part = fs::read_to_string(dir.join("sweep.csv")).unwrap();
        let mut part_lines = part.lines();
        assert_eq!(part_lines.next().unwrap(), header);
        joined.extend(part_lines.map(str::to_string));
    }
    assert_eq!(joined, rows);

    let zipped = tmp.path().join("zip");
    let out = agora(&[
        "sweep",
        "--example",
        "curve-linear",
        "--steps",
        "4",
        "--zip",
        "--set",
        "assets.TOKEN.pricing.m=0.001,0.002",
        "--set",
        "agents.noise.policy.p_buy=0.3,0.4",
        "--out",
        path_str(&zipped),
    ]);
    assert_status(&out, 0);
    let text = fs::read_to_string(zipped.join("sweep.csv")).unwrap();
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn a_sweep_with_an_invalid_point_or_an_unknown_path_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    for set in [
        "agents.noise.policy.p_buy=0.5,0.9",
        "assets.COIN.pricing.m=0.001",
        "assets.TOKEN.pricing.m=abc",
    ] {
        let out = agora(&[
            "sweep",
            "--example",
            "curve-linear",
            "--steps",
            "3",
            "--set",
            set,
            "--out",
            path_str(&dir),
        ]);
        assert_status(&out, 2);
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
        assert!(!dir.exists(), "nothing written for {set}");
    }
}

#[test]
fn run_with_report_writes_a_report_whose_images_all_exist() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let out = agora(&[
        "run",
        "--example",
        "curve-linear",
        "--steps",
        "5",
        "--out",
        path_str(&dir),
        "--report",
    ]);
    assert_status(&out, 0);
    let html_path = dir.join("report.html");
    let html_name = html_path.display().to_string();
    assert!(stdout(&out).contains(&html_name), "{}", stdout(&out));
    let html = read(&dir, "report.html");
    assert!(html.contains("TOKEN") && html.contains("noise"));
    let mut images = 0;
    for attr in ["src=\"", "href=\""] {
        for piece in html.split(attr).skip(1) {
            let link = &piece[..piece.find('"').unwrap()];
            if link.starts_with('#') {
                continue;
            }
            let bytes = fs::read(dir.join(link)).unwrap_or_else(|e| panic!("{link}: {e}"));
            assert!(!bytes.is_empty(), "{link} is empty");
            images += 1;
        }
    }
    assert!(images >= 4, "the report names {images} images");

    // `agora report DIR` on the same results prints the report's path.
    let out = agora(&["report", path_str(&dir)]);
    assert_status(&out, 0);
    assert_eq!(stdout(&out).trim(), html_path.display().to_string());

    // Without summary.json: exit 2, one line naming it.
    fs::remove_file(dir.join("summary.json")).unwrap();
    let out = agora(&["report", path_str(&dir)]);
    assert_status(&out, 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("summary.json"), "{}", stderr(&out));
}

#[test]
fn format_both_writes_csv_and_parquet_and_format_parquet_writes_no_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |format: Option<&str>| {
        let dir = tmp.path().join(format.unwrap_or("default"));
        let mut args = vec!["run", "--example", "curve-linear", "--steps", "5"];
        args.extend(["--out", path_str(&dir)]);
        if let Some(f) = format {
            args.extend(["--format", f]);
        }
        let out = agora(&args);
        assert_status(&out, 0);
        (dir, stdout(&out))
    };
    let (csv, _) = run(None);
    let (both, printed) = run(Some("both"));
    let (parquet, _) = run(Some("parquet"));
    let tables = ["agents.csv", "assets.csv", "scenario.toml", "summary.json"];
    assert_eq!(entries(&csv), tables);
    assert_eq!(
        entries(&both),
        [
            "agents.csv",
            "agents.parquet",
            "assets.csv",
            "assets.parquet",
            "scenario.toml",
            "summary.json"
        ]
    );
    assert_eq!(
        entries(&parquet),
        [
            "agents.parquet",
            "assets.parquet",
            "scenario.toml",
            "summary.json"
        ]
    );
    assert!(printed.contains("assets.parquet"), "{printed}");
    for name in tables {
        assert_eq!(
            fs::read(csv.join(name)).unwrap(),
            fs::read(both.join(name)).unwrap(),
            "{name}: --format both writes what --format csv writes"
        );
    }
    for name in [
        "scenario.toml",
        "summary.json",
        "agents.parquet",
        "assets.parquet",
    ] {
        let bytes = fs::read(parquet.join(name)).unwrap();
        assert_eq!(bytes, fs::read(both.join(name)).unwrap(), "{name}");
        if name.ends_with(".parquet") {
            assert!(
                bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
                "{name}"
            );
        }
    }
    let out = agora(&[
        "run",
        "--example",
        "curve-linear",
        "--steps",
        "5",
        "--format",
        "xlsx",
        "--out",
        path_str(&tmp.path().join("xlsx")),
    ]);
    assert_status(&out, 2);
    assert!(!tmp.path().join("xlsx").exists());
}

#[test]
fn optimize_writes_every_evaluation_and_a_best_scenario_that_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = write_scenario(tmp.path(), "s.toml", GOOD);
    let out_dir = tmp.path().join("opt");
    let args = [
        "optimize",
        path_str(&scenario),
        "--param",
        "assets.TOKEN.pricing.m=0.0002..0.002",
        "--objective",
        "assets.TOKEN.log_return_volatility",
        "--method",
        "grid",
        "--budget",
        "5",
        "--runs",
        "2",
        "--out",
        path_str(&out_dir),
    ];
    let out = agora(&args);
    assert_status(&out, 0);
    assert!(stdout(&out).contains("improvement"), "{}", stdout(&out));
    let csv = read(&out_dir, "optimize.csv");
    assert_eq!(
        csv.lines().next(),
        Some("evaluation,assets.TOKEN.pricing.m,objective")
    );
    // The baseline (m = 0.001) and a grid of 4 from 0.0002 to 0.002.
    let rows = rows(&csv);
    assert_eq!(rows.len(), 5, "{csv}");
    assert_eq!(rows[0][..2], ["0", "0.001"]);
    assert_eq!(rows[1][..2], ["1", "0.0002"]);
    assert_eq!(rows[4][..2], ["4", "0.002"]);
    // The flattest curve is the calmest.
    let best = read(&out_dir, "best.toml");
    assert!(best.contains("m = 0.0002"), "{best}");
    let out = agora(&["validate", path_str(&out_dir.join("best.toml"))]);
    assert_status(&out, 0);
    // The same inputs give the same file.
    let again = tmp.path().join("again");
    let mut args2 = args.to_vec();
    *args2.last_mut().unwrap() = path_str(&again);
    assert_status(&agora(&args2), 0);
    assert_eq!(csv, read(&again, "optimize.csv"));

    // Bad input: exit 2, one line naming the path, nothing written.
    let bad = tmp.path().join("bad");
    for (param, objective, named) in [
        (
            "assets.TOKEN.pricing.q=0..1",
            "assets.TOKEN.volatility",
            "assets.TOKEN.pricing.q",
        ),
        (
            "assets.TOKEN.pricing.m=0.002..0.001",
            "assets.TOKEN.volatility",
            "lo < hi",
        ),
        (
            "assets.TOKEN.pricing.m=0.001..0.002",
            "assets.TOKEN.calmness",
            "assets.TOKEN.calmness",
        ),
    ] {
        let out = agora(&[
            "optimize",
            path_str(&scenario),
            "--param",
            param,
            "--objective",
            objective,
            "--budget",
            "5",
            "--out",
            path_str(&bad),
        ]);
        assert_status(&out, 2);
        assert_eq!(
            stderr(&out).trim_end().lines().count(),
            1,
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(named), "{}", stderr(&out));
    }
    assert!(!bad.exists());
}

#[test]
fn sweep_writes_parquet_on_request_and_report_needs_the_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let out = agora(&[
        "sweep",
        "--example",
        "curve-linear",
        "--steps",
        "3",
        "--set",
        "assets.TOKEN.pricing.m=0.001,0.002",
        "--format",
        "parquet",
        "--out",
        path_str(&dir),
    ]);
    assert_status(&out, 0);
    assert_eq!(entries(&dir), vec!["sweep.parquet".to_string()]);
    let bytes = fs::read(dir.join("sweep.parquet")).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    for cmd in ["run", "sweep"] {
        let dir = tmp.path().join(format!("rejected-{cmd}"));
        let mut args = vec![cmd, "--example", "curve-linear", "--steps", "3"];
        if cmd == "sweep" {
            args.extend(["--set", "assets.TOKEN.pricing.m=0.001"]);
        }
        args.extend(["--format", "parquet", "--report", "--out", path_str(&dir)]);
        let out = agora(&args);
        assert_status(&out, 2);
        assert!(stderr(&out).contains("--format both"), "{}", stderr(&out));
        assert!(!dir.exists(), "{cmd}: nothing written");
    }
}

/// Regression test: a count beyond the machine's memory aborted the process
/// ("memory allocation failed") instead of saying so.
#[test]
fn a_scenario_too_large_for_memory_is_an_error_not_an_abort() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "huge.toml",
        &GOOD.replacen("count = ", "count = 4294967294 # was ", 1),
    );
    let dir = tmp.path().join("out");
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir)]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("4294967294 agents need about"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.exists());
}
