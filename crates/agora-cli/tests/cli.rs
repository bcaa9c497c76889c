//! The command line's contract: exit statuses, the files written and their
//! columns, overrides, reproducibility across thread counts, quiet and piped
//! output, and errors that name the file and the field.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ASSETS_HEADER: &str = "run,step,asset,price,supply,reserve,volume,trades,price_source,best_bid,best_ask,capacity,requested,allocated";
const AGENTS_HEADER: &str =
    "run,step,group,agents,balance,holdings,wealth,locked_balance,locked_holdings";
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

/// The file in which Agora lists what it wrote into a folder.
const MANIFEST: &str = ".agora-manifest";

/// The names of the entries in `dir` (none if it does not exist), besides
/// the manifest of what Agora wrote there.
fn entries(dir: &Path) -> Vec<String> {
    let mut names = all_entries(dir);
    names.retain(|n| n != MANIFEST);
    names
}

/// The names of all the entries in `dir`, the manifest included.
fn all_entries(dir: &Path) -> Vec<String> {
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
        assert_eq!(row.len(), 9);
        // a curve locks nothing
        assert_eq!(&row[7..], ["0.0", "0.0"]);
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

/// A results file without the measured speed, the one part of
/// `summary.json` that differs between two runs (`performance`, last).
fn results(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap();
    let key = b",\n  \"performance\": {";
    match bytes.windows(key.len()).position(|w| w == key) {
        Some(at) => [&bytes[..at], b"\n}\n"].concat(),
        None => bytes,
    }
}

fn assert_same_files(a: &Path, b: &Path, what: &str) {
    for name in OUTPUTS {
        assert!(
            results(&a.join(name)) == results(&b.join(name)),
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

/// A learner's bad settings exit 2 with one line naming the field; a good
/// one runs, and `agents.csv` ends with the learners' `mean_reward`.
#[test]
fn learners_with_bad_settings_exit_2_naming_the_field_and_good_ones_record_their_reward() {
    let tmp = tempfile::tempdir().unwrap();
    let learner = |policy: &str| {
        GOOD.to_string()
            + &format!(
                "\n[[agents]]\ngroup = \"q\"\ncount = 5\nbalance = 100.0\npolicy = {{ kind = \"q_learning\", asset = \"TOKEN\", {policy} }}\n"
            )
    };
    let fine = "actions = [\"hold\", { buy = 0.1 }], alpha = 0.1, delta = 0.9, epsilon = 0.1";
    for (policy, field, expected) in [
        (
            fine.replace("alpha = 0.1", "alpha = 1.5"),
            "agents.q.policy.alpha",
            "from 0 to 1",
        ),
        (
            fine.replace("epsilon = 0.1", "epsilon = -0.1"),
            "agents.q.policy.epsilon",
            "from 0 to 1",
        ),
        (
            fine.replace("delta = 0.9", "delta = 1.0"),
            "agents.q.policy.delta",
            "< 1",
        ),
        (
            fine.replace("[\"hold\", { buy = 0.1 }]", "[]"),
            "agents.q.policy.actions",
            "at least one action",
        ),
        (
            fine.replace("{ buy = 0.1 }", "{ bid = -0.01, size = 1.0 }"),
            "agents.q.policy.actions[1]",
            "does not fit \"TOKEN\"",
        ),
    ] {
        let file = write_scenario(tmp.path(), "learner.toml", &learner(&policy));
        let out = agora(&["validate", path_str(&file)]);
        assert_status(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
        assert!(err.contains(&format!("{field}: ")), "names {field}: {err}");
        assert!(err.contains(expected), "says {expected:?}: {err}");
    }
    let file = write_scenario(tmp.path(), "learner.toml", &learner(fine));
    let dir = tmp.path().join("out");
    assert_status(
        &agora(&["run", path_str(&file), "--out", path_str(&dir)]),
        0,
    );
    let agents = read(&dir, "agents.csv");
    let header = agents.lines().next().unwrap();
    assert!(header.ends_with(",mean_reward"), "{header}");
    let rewards: Vec<&str> = agents
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap())
        .collect();
    // Rows of step 0 and of the noise traders are empty; the learners'
    // rows of steps 1–10 hold a number.
    assert_eq!(
        rewards.iter().filter(|r| r.parse::<f64>().is_ok()).count(),
        10
    );
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
    for part in [
        "agents.noise.balance",
        "2e10",
        "ledger's range",
        "scale money",
    ] {
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
    // A folder of the user's in the way of summary.json: the results could
    // not all be put in place, so the run is refused before it starts.
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(tmp.path(), "good.toml", GOOD);
    let dir = tmp.path().join("out");
    fs::create_dir_all(dir.join("summary.json")).unwrap();
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir)]);
    assert_status(&out, 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("summary.json"), "{}", stderr(&out));
    assert_eq!(
        all_entries(&dir),
        vec!["summary.json".to_string()],
        "nothing else written, no lock file left"
    );
    assert_eq!(
        all_entries(tmp.path()),
        ["good.toml", "out"],
        "nothing beside it"
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
        "learning-traders",
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
        let printed = agora(&["examples", &name]);
        assert_status(&printed, 0);
        // Rows are kept at step 0, every `record_every` steps and at the
        // last step (an evaluation phase runs after the 5 learning steps).
        let scenario = agora::Scenario::from_toml_str(&stdout(&printed), &name).unwrap();
        let every = scenario.simulation().record_every.max(1);
        let assets = s["assets"].as_object().expect("assets").len();
        let table = rows(&read(&dir, "assets.csv"));
        let mut steps: Vec<u64> = table.iter().map(|r| r[1].parse().unwrap()).collect();
        steps.dedup();
        assert_eq!(table.len(), steps.len() * assets, "{name}");
        let last = *steps.last().unwrap();
        assert!(last >= 5, "{name}: last recorded step {last}");
        let expected: Vec<u64> = (0..=last)
            .filter(|t| t % every == 0 || *t == last)
            .collect();
        assert_eq!(steps, expected, "{name}");
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
        files.push(["assets.csv", "agents.csv", "summary.json"].map(|f| results(&dir.join(f))));
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

/// Runs `agora sweep` over a 3 × 2 grid of `curve-linear` (with `extra`
/// arguments) into `dir`, expecting success.
fn small_sweep(dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "sweep",
        "--example",
        "curve-linear",
        "--steps",
        "5",
        "--runs",
        "2",
        "--quiet",
        "--set",
        "assets.TOKEN.pricing.m=0.001,0.002,0.004",
        "--set",
        "agents.noise.policy.p_buy=0.3,0.4",
        "--out",
        path_str(dir),
    ];
    args.extend_from_slice(extra);
    assert_status(&agora(&args), 0);
}

#[test]
fn merged_shards_give_the_whole_sweep_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    small_sweep(&whole, &["--keep-runs"]);
    let shard = |i: usize| tmp.path().join(format!("shard{i}"));
    for i in 1..=4 {
        small_sweep(&shard(i), &["--keep-runs", "--shard", &format!("{i}/4")]);
    }
    let merged = tmp.path().join("merged");
    // in any order
    let out = agora(&[
        "merge",
        path_str(&shard(3)),
        path_str(&shard(1)),
        path_str(&shard(4)),
        path_str(&shard(2)),
        "--out",
        path_str(&merged),
    ]);
    assert_status(&out, 0);
    for name in ["sweep.csv", "shard.json"] {
        assert_eq!(
            fs::read(whole.join(name)).unwrap(),
            fs::read(merged.join(name)).unwrap(),
            "{name}"
        );
    }
    for point in 0..6 {
        for name in OUTPUTS {
            let file = format!("points/{point}/{name}");
            assert_eq!(
                fs::read(whole.join(&file)).unwrap(),
                fs::read(merged.join(&file)).unwrap(),
                "{file}"
            );
        }
    }
    let info: serde_json::Value = serde_json::from_str(&read(&shard(2), "shard.json")).unwrap();
    assert_eq!(info["shard"], 2);
    assert_eq!(info["shards"], 4);
    assert_eq!(info["grid_points"], 6);
    assert_eq!(info["first_point"], 1);
    assert_eq!(info["points"], 2);
}

/// Shards whose points have different metrics (a bonding curve's and an
/// AMM's), or none (more shards than points), have different `sweep.csv`
/// headers; merged, they give the whole sweep's table byte for byte, each
/// row in the whole's columns. Both were refused ("headers differ"), and
/// so was such a sweep on Ray, whose tasks are one-point shards.
#[test]
fn shards_with_other_metrics_or_no_points_merge_into_the_whole_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let pricing = concat!(
        "assets.TOKEN.pricing=[",
        r#"{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }, "#,
        r#"{ kind = "amm", curve = "constant_product", reserve_money = 1000000.0, reserve_token = 100000.0, fee = 0.003 }, "#,
        r#"{ kind = "bonding_curve", curve = "linear", m = 0.002, b = 1.0 }]"#
    );
    let sweep = |dir: &Path, sets: &[&str], extra: &[&str]| {
        let mut args = vec![
            "sweep",
            "--example",
            "curve-linear",
            "--steps",
            "3",
            "--runs",
            "2",
        ];
        for set in sets {
            args.extend(["--set", set]);
        }
        args.extend(["--quiet", "--out", path_str(dir)]);
        args.extend_from_slice(extra);
        assert_status(&agora(&args), 0);
    };
    let p_buy = "agents.noise.policy.p_buy=0.3,0.4";
    for (name, sets, n) in [
        ("categorical", vec![pricing, p_buy], 3),
        ("categorical-by-point", vec![pricing], 3),
        (
            "more-shards-than-points",
            vec!["assets.TOKEN.pricing.m=0.001,0.002"],
            5,
        ),
    ] {
        let whole = tmp.path().join(format!("{name}-whole"));
        sweep(&whole, &sets, &[]);
        let shards: Vec<PathBuf> = (1..=n)
            .map(|i| {
                let dir = tmp.path().join(format!("{name}-{i}"));
                sweep(&dir, &sets, &["--shard", &format!("{i}/{n}")]);
                dir
            })
            .collect();
        let headers: std::collections::BTreeSet<String> = shards
            .iter()
            .map(|d| read(d, "sweep.csv").lines().next().unwrap().to_string())
            .collect();
        assert!(headers.len() > 1, "{name}: the shards' headers differ");
        let merged = tmp.path().join(format!("{name}-merged"));
        let mut args = vec!["merge"];
        args.extend(shards.iter().rev().map(|d| path_str(d)));
        args.extend(["--out", path_str(&merged), "--quiet"]);
        let out = agora(&args);
        assert_status(&out, 0);
        assert_eq!(
            read(&merged, "sweep.csv"),
            read(&whole, "sweep.csv"),
            "{name}"
        );
        assert_eq!(
            read(&merged, "shard.json"),
            read(&whole, "shard.json"),
            "{name}"
        );
    }
}

#[test]
fn merged_monte_carlo_shards_give_the_whole_ensemble_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    // whale-dump has a shock, so some metrics (recovery) are missing in
    // some runs; 5 runs in 3 shards of 1, 2 and 2 runs.
    let base = [
        "run",
        "--example",
        "whale-dump",
        "--steps",
        "40",
        "--runs",
        "5",
    ];
    let whole = tmp.path().join("whole");
    assert_status(
        &agora(&[&base[..], &["--out", path_str(&whole), "--quiet"]].concat()),
        0,
    );
    let shards: Vec<PathBuf> = (1..=3).map(|i| tmp.path().join(format!("s{i}"))).collect();
    for (i, dir) in shards.iter().enumerate() {
        let shard = format!("{}/3", i + 1);
        let args = [
            &base[..],
            &[
                "--shard",
                &shard,
                "--threads",
                "1",
                "--out",
                path_str(dir),
                "--quiet",
            ],
        ]
        .concat();
        assert_status(&agora(&args), 0);
        assert!(dir.join("shard.json").is_file() && dir.join("runs.json").is_file());
    }
    // A shard's own summary is of its runs.
    assert_eq!(summary(&shards[1])["runs"], 2);
    let merged = tmp.path().join("merged");
    let out = agora(&[
        "merge",
        path_str(&shards[2]),
        path_str(&shards[0]),
        path_str(&shards[1]),
        "--out",
        path_str(&merged),
    ]);
    assert_status(&out, 0);
    assert!(
        stdout(&out).contains("merged 3 shards: 5 runs"),
        "{}",
        stdout(&out)
    );
    assert_same_files(&whole, &merged, "merged ensemble");
    assert!(!read(&merged, "summary.json").contains("performance"));

    // Refused, naming what is wrong, nothing written.
    let refused = |dirs: &[&Path], expected: &str| {
        let bad = tmp.path().join("bad");
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|d| path_str(d)));
        args.extend(["--out", path_str(&bad)]);
        let out = agora(&args);
        assert_status(&out, 2);
        assert!(
            stderr(&out).contains(expected),
            "{expected}: {}",
            stderr(&out)
        );
        assert!(!bad.join("summary.json").exists());
    };
    refused(&[&shards[0], &shards[2]], "shard 2/3 missing");
    refused(
        &[&shards[0], &shards[1], &shards[1], &shards[2]],
        "given twice",
    );
    let other = tmp.path().join("other");
    let args = [
        "run",
        "--example",
        "whale-dump",
        "--steps",
        "40",
        "--runs",
        "5",
        "--seed",
        "9",
        "--shard",
        "2/3",
        "--out",
        path_str(&other),
        "--quiet",
    ];
    assert_status(&agora(&args), 0);
    refused(
        &[&shards[0], &other, &shards[2]],
        "shards of different runs",
    );
    let sweep = tmp.path().join("sweep");
    assert_status(
        &agora(&[
            "sweep",
            "--example",
            "whale-dump",
            "--steps",
            "5",
            "--set",
            "simulation.seed=1,2",
            "--out",
            path_str(&sweep),
            "--quiet",
        ]),
        0,
    );
    refused(
        &[&shards[0], &sweep],
        "merge joins the shards of one command",
    );
    let runs = shards[1].join("runs.json");
    let text = fs::read_to_string(&runs).unwrap();
    fs::write(&runs, &text[..text.len() / 2]).unwrap();
    refused(
        &[&shards[0], &shards[1], &shards[2]],
        "runs.json: not a shard's run metrics",
    );

    // What a shard cannot be.
    let x = tmp.path().join("x");
    for (extra, expected) in [
        (&["--shard", "4/3"][..], "1 <= I <= N"),
        (&["--shard", "x"][..], "expected I/N"),
        (&["--shard", "1/6"][..], "has 5 runs, too few for 6 shards"),
    ] {
        let args = [&base[..], extra, &["--out", path_str(&x)]].concat();
        let out = agora(&args);
        assert_status(&out, 2);
        assert!(
            stderr(&out).contains(expected),
            "{expected}: {}",
            stderr(&out)
        );
    }
    let out = agora(&[
        "run",
        "--example",
        "whale-dump",
        "--steps",
        "40",
        "--shard",
        "1/1",
        "--checkpoint-every",
        "10",
        "--out",
        path_str(&tmp.path().join("y")),
    ]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("--shard: a checkpointed run is one run"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sweep_on_ray_refuses_what_it_cannot_do_and_names_a_missing_python() {
    // The Ray sweep itself is tested from Python (crates/agora-py/tests,
    // test_sweep.py), where Ray is installed; here, what fails before it.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let base = [
        "sweep",
        "--example",
        "curve-linear",
        "--set",
        "assets.TOKEN.pricing.m=0.001,0.002",
        "--out",
        path_str(&out),
    ];
    let with = |extra: &[&str], env: &[(&str, &str)]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        agora_env(&args, env)
    };
    for (extra, expected) in [
        (
            &["--address", "127.0.0.1:6379"][..],
            "--address: is for --backend ray",
        ),
        (
            &["--backend", "ray", "--shard", "1/2"][..],
            "--shard: --backend ray cuts the grid",
        ),
        (
            &["--backend", "ray", "--keep-runs"][..],
            "--keep-runs: not available with --backend ray",
        ),
        (
            &["--backend", "ray", "--format", "parquet"][..],
            "--format: --backend ray writes sweep.csv only",
        ),
    ] {
        let o = with(extra, &[]);
        assert_status(&o, 2);
        assert!(stderr(&o).contains(expected), "{extra:?}: {}", stderr(&o));
    }
    let o = with(
        &["--backend", "ray"],
        &[("AGORA_PYTHON", "/nonexistent/python")],
    );
    assert_status(&o, 2);
    let e = stderr(&o);
    assert!(
        e.contains("cannot start /nonexistent/python") && e.contains("AGORA_PYTHON"),
        "{e}"
    );
    // A bad grid is refused before Python is started.
    let o = agora_env(
        &[
            "sweep",
            "--example",
            "curve-linear",
            "--set",
            "assets.NOPE.pricing.m=1",
            "--out",
            path_str(&out),
            "--backend",
            "ray",
        ],
        &[("AGORA_PYTHON", "/nonexistent/python")],
    );
    assert_status(&o, 2);
    assert!(stderr(&o).contains("assets.NOPE"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn merge_refuses_missing_duplicated_foreign_and_edited_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let shard = |i: usize| tmp.path().join(format!("shard{i}"));
    for i in 1..=3 {
        small_sweep(&shard(i), &["--shard", &format!("{i}/3")]);
    }
    let other_seed = tmp.path().join("other");
    small_sweep(&other_seed, &["--seed", "99", "--shard", "3/3"]);
    let out_dir = tmp.path().join("merged");
    let merge = |dirs: &[&Path]| {
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|d| path_str(d)));
        args.extend(["--out", path_str(&out_dir)]);
        agora(&args)
    };
    let expect_refusal = |out: Output, message: &str| {
        assert_status(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(message), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!out_dir.exists(), "nothing is written");
    };
    let (s1, s2, s3) = (shard(1), shard(2), shard(3));
    expect_refusal(merge(&[&s1, &s3]), "shard 2/3 missing");
    expect_refusal(merge(&[&s1, &s2, &s2, &s3]), "shard 2/3 given twice");
    expect_refusal(
        merge(&[&s1, &s2, &other_seed]),
        "shards of different sweeps",
    );
    expect_refusal(merge(&[&s1, tmp.path()]), "no shard.json");
    let missing = tmp.path().join("missing");
    expect_refusal(merge(&[&s1, &missing]), "missing: no such folder");
    expect_refusal(
        merge(&[&s1, &s1.join("sweep.csv")]),
        "sweep.csv: not a folder",
    );

    // another version
    let info = read(&s3, "shard.json");
    let edited = info.replace(
        &format!("\"agora_version\": \"{}\"", env!("CARGO_PKG_VERSION")),
        "\"agora_version\": \"0.0.1\"",
    );
    assert_ne!(info, edited);
    fs::write(s3.join("shard.json"), edited).unwrap();
    expect_refusal(merge(&[&s1, &s2, &s3]), "written by Agora 0.0.1");
    fs::write(s3.join("shard.json"), &info).unwrap();

    // a record edited to hold another part of the grid
    let info = read(&s2, "shard.json");
    let edited = info.replace("\"points\": 2", "\"points\": 3");
    assert_ne!(info, edited);
    fs::write(s2.join("shard.json"), edited).unwrap();
    expect_refusal(
        merge(&[&s1, &s2, &s3]),
        "shard 2/3 of 6 grid points holds grid points 2..4, the record says 3 from 2",
    );
    fs::write(s2.join("shard.json"), &info).unwrap();

    // More shards than points is allowed (empty parts, at the point where
    // they fall: no product wraps) and merging one of 2⁶⁴ − 1 names the
    // missing at once (it listed them one by one, for ever).
    let n = u64::MAX;
    let near_end = tmp.path().join("near-end");
    small_sweep(&near_end, &["--shard", &format!("{}/{n}", n - 1)]);
    let record = read(&near_end, "shard.json");
    assert!(
        record.contains("\"first_point\": 5") && record.contains("\"points\": 0"),
        "{record}"
    );
    let first = tmp.path().join("first");
    small_sweep(&first, &["--shard", &format!("1/{n}")]);
    expect_refusal(
        merge(&[&first, &near_end]),
        &format!(
            "shards 2/{n}, 3/{n}, 4/{n}, 5/{n}, 6/{n}, 7/{n}, 8/{n}, 9/{n} and {} more missing",
            n - 10
        ),
    );

    // a sweep.csv cut short
    let csv = read(&s3, "sweep.csv");
    let cut: String = csv.lines().take(1).map(|l| format!("{l}\n")).collect();
    fs::write(s3.join("sweep.csv"), cut).unwrap();
    expect_refusal(merge(&[&s1, &s2, &s3]), "holds 0 rows");
    fs::write(s3.join("sweep.csv"), &csv).unwrap();

    assert_status(&merge(&[&s1, &s2, &s3]), 0);
}

/// A Monte Carlo shard's files edited so that they agree with each other
/// but not with the scenario, or so that the merged summary.json would not
/// read back, are refused (both were merged: found by fuzzing `merge`).
#[test]
fn merge_refuses_run_shards_whose_metrics_do_not_make_the_ensembles_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shard");
    let out = agora(&[
        "run",
        "--example",
        "curve-linear",
        "--steps",
        "3",
        "--runs",
        "2",
        "--shard",
        "1/1",
        "--quiet",
        "--out",
        path_str(&dir),
    ]);
    assert_status(&out, 0);
    let merged = tmp.path().join("merged");
    let merge = || agora(&["merge", path_str(&dir), "--out", path_str(&merged)]);
    let refused = |out: Output, message: &str| {
        assert_status(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(message) && err.lines().count() == 1, "{err}");
        assert!(!merged.exists(), "nothing is written");
    };
    let (info, runs) = (read(&dir, "shard.json"), read(&dir, "runs.json"));
    let values: Vec<serde_json::Value> = serde_json::from_str(&runs).unwrap();
    assert_eq!(values.len(), 2);

    // three runs, the record and runs.json agreeing; the scenario has two
    let three = serde_json::to_string(&[&values[0], &values[1], &values[0]]).unwrap();
    fs::write(dir.join("runs.json"), three).unwrap();
    let edited = info
        .replace("\"grid_points\": 2", "\"grid_points\": 3")
        .replace("\"points\": 2", "\"points\": 3");
    fs::write(dir.join("shard.json"), edited).unwrap();
    refused(merge(), "an ensemble of 3 runs, its scenario.toml says 2");
    fs::write(dir.join("shard.json"), &info).unwrap();

    // a metric named with 200 dots nests its distribution 200 deep
    let mut deep = values.clone();
    for v in &mut deep {
        v.as_object_mut()
            .unwrap()
            .insert(format!("x{}", ".y".repeat(200)), serde_json::json!(1.0));
    }
    fs::write(dir.join("runs.json"), serde_json::to_string(&deep).unwrap()).unwrap();
    refused(
        merge(),
        "the runs' metrics do not make a summary.json that reads back",
    );
    // a run's metrics that are not a summary's (an object)
    fs::write(dir.join("runs.json"), "[1, 2]").unwrap();
    refused(merge(), "runs.json: not a shard's run metrics");

    fs::write(dir.join("runs.json"), &runs).unwrap();
    assert_status(&merge(), 0);
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
    // Self-contained: the page names no file, and embeds every plot.
    for attr in ["src=", "href=\"plots", "<link", "<script", "url("] {
        assert!(!html.contains(attr), "the page has {attr}");
    }
    let svgs = fs::read_dir(dir.join("plots"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "svg")
        .count();
    assert!(svgs >= 2, "{svgs} plots");
    assert_eq!(html.matches("<svg role=\"img\"").count(), svgs);
    // Moved alone, the page is the same page: nothing it shows is elsewhere.
    let alone = tmp.path().join("mailed");
    fs::create_dir(&alone).unwrap();
    fs::copy(&html_path, alone.join("report.html")).unwrap();
    fs::remove_dir_all(dir.join("plots")).unwrap();
    assert_eq!(read(&alone, "report.html"), html);
    // The earlier report's plots are gone; `agora report` draws them again.
    let earlier = html;

    // `agora report DIR` on the same results prints the report's path and
    // writes the same page.
    let out = agora(&["report", path_str(&dir)]);
    assert_status(&out, 0);
    assert_eq!(stdout(&out).trim(), html_path.display().to_string());
    assert_eq!(read(&dir, "report.html"), earlier);
    assert!(dir.join("plots").is_dir());

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
            results(&csv.join(name)),
            results(&both.join(name)),
            "{name}: --format both writes what --format csv writes"
        );
    }
    for name in [
        "scenario.toml",
        "summary.json",
        "agents.parquet",
        "assets.parquet",
    ] {
        let bytes = results(&parquet.join(name));
        assert_eq!(bytes, results(&both.join(name)), "{name}");
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
    assert_eq!(entries(&dir), ["shard.json", "sweep.parquet"]);
    let bytes = fs::read(dir.join("sweep.parquet")).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    // Regression test: `agora report` read only CSV tables, so Parquet-only
    // results had no report (and --report was refused with them).
    let out = agora(&["report", path_str(&dir)]);
    assert_status(&out, 0);
    let html = read(&dir, "report.html");
    assert!(
        html.contains("assets.TOKEN.pricing.m"),
        "the sweep table is shown"
    );
    for cmd in ["run", "sweep"] {
        let dir = tmp.path().join(format!("parquet-{cmd}"));
        let mut args = vec![cmd, "--example", "curve-linear", "--steps", "3"];
        if cmd == "sweep" {
            args.extend(["--set", "assets.TOKEN.pricing.m=0.001,0.002"]);
        }
        args.extend(["--format", "parquet", "--report", "--out", path_str(&dir)]);
        let out = agora(&args);
        assert_status(&out, 0);
        let names = entries(&dir);
        assert!(
            names.contains(&"report.html".to_string()),
            "{cmd}: {names:?}"
        );
        assert!(
            !names.iter().any(|n| n.ends_with(".csv")),
            "{cmd}: {names:?}"
        );
        let svgs = fs::read_dir(dir.join("plots"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "svg")
            .count();
        assert!(svgs >= 1, "{cmd}: no plot");
        assert_eq!(
            read(&dir, "report.html").matches("<svg").count(),
            svgs,
            "{cmd}: every plot in the page"
        );
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
    let err = stderr(&out);
    assert!(
        err.contains("agents.noise.count") && err.contains("4294967294 agents"),
        "{err}"
    );
    assert!(!dir.exists());
    // past the estimate, the accounts are still reserved fallibly
    // (4294967294 × 16 bytes is more than this machine's address space
    // holds) and named when they do not fit
    let out = agora(&[
        "run",
        path_str(&file),
        "--out",
        path_str(&dir),
        "--max-memory",
        "unlimited",
    ]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("4294967294 agents need about"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.exists());
}

#[test]
fn sweep_keep_runs_writes_each_points_records_as_run_writes_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let sweep = |values: &str| {
        let set = format!("assets.TOKEN.pricing.m={values}");
        agora(&[
            "sweep",
            "--example",
            "curve-linear",
            "--steps",
            "4",
            "--runs",
            "2",
            "--set",
            &set,
            "--keep-runs",
            "--out",
            path_str(&dir),
        ])
    };
    let out = sweep("0.001,0.002");
    assert_status(&out, 0);
    assert_eq!(entries(&dir), ["points", "shard.json", "sweep.csv"]);
    assert_eq!(entries(&dir.join("points")), ["0", "1"]);
    let point = dir.join("points/1");
    let mut outputs: Vec<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
    outputs.sort();
    assert_eq!(entries(&point), outputs);
    assert!(read(&point, "scenario.toml").contains("m = 0.002"));
    // Each point holds what `agora run` writes for that point's scenario.
    let again = tmp.path().join("again");
    let scenario = point.join("scenario.toml");
    assert_status(
        &agora(&["run", path_str(&scenario), "--out", path_str(&again)]),
        0,
    );
    for name in ["assets.csv", "agents.csv"] {
        assert_eq!(read(&point, name), read(&again, name), "{name}");
    }
    assert_eq!(summary(&point)["runs"], 2);

    // sweep.csv: the means as before, then every metric's spread.
    let csv = read(&dir, "sweep.csv");
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let first_spread = header.iter().position(|c| c.ends_with(".std")).unwrap();
    let spread = |c: &str| {
        [".std", ".p5", ".p50", ".p95"]
            .iter()
            .any(|s| c.ends_with(s))
    };
    assert!(
        !header[..first_spread].iter().any(|c| spread(c)),
        "{header:?}"
    );
    assert!(
        header[first_spread..].iter().all(|c| spread(c)),
        "{header:?}"
    );
    assert_eq!(header.len(), 1 + 5 * (first_spread - 1));
    assert!(header.contains(&"assets.TOKEN.volatility.p95"));

    // A second sweep replaces the points; a folder with a user's file is refused.
    assert_status(&sweep("0.003"), 0);
    assert_eq!(entries(&dir.join("points")), ["0"]);
    fs::write(dir.join("points/notes.txt"), "mine").unwrap();
    let before = read(&dir, "sweep.csv");
    let out = sweep("0.004");
    assert_status(&out, 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("notes.txt"), "{}", stderr(&out));
    assert_eq!(read(&dir, "sweep.csv"), before);
    assert_eq!(
        entries(&dir),
        ["points", "shard.json", "sweep.csv"],
        "no staging folder left"
    );
}

#[test]
fn experiment_argument_errors_name_their_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let cases: [(&[&str], &str); 4] = [
        (
            &["sweep", "--set", "assets.TOKEN.pricing.m=1,inf"],
            "error: --set assets.TOKEN.pricing.m: \"inf\" is not a finite number",
        ),
        (
            &[
                "sweep",
                "--set",
                "assets.TOKEN.pricing.m=1",
                "--shard",
                "0/3",
            ],
            "error: --shard takes i/n with 1 <= i <= n, found 0/3",
        ),
        (
            &[
                "sweep",
                "--zip",
                "--set",
                "assets.TOKEN.pricing.m=1,2",
                "--set",
                "assets.TOKEN.pricing.b=1",
            ],
            "error: --zip needs lists of equal length",
        ),
        (
            &[
                "optimize",
                "--param",
                "assets.TOKEN.pricing.m=1..x",
                "--objective",
                "assets.TOKEN.volatility",
                "--budget",
                "5",
            ],
            "error: --param assets.TOKEN.pricing.m=1..x: \"x\" is not a number",
        ),
    ];
    for (args, expected) in cases {
        let mut all = args.to_vec();
        all.extend(["--example", "curve-linear", "--out", path_str(&out_dir)]);
        let out = agora(&all);
        assert_status(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(expected), "{err}");
    }
    assert!(!out_dir.exists());
}

/// GOOD with a step change of `m` at step 3.
const SCHEDULED: &str = r#"
[simulation]
steps = 5
seed = 1

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }
schedule = [ { param = "m", at = 3, value = 0.003 } ]

[[agents]]
group = "noise"
count = 50
balance = 100.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
"#;

#[test]
fn sweeping_a_parameter_a_schedule_overrides_warns_and_schedules_sweep_by_index() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(tmp.path(), "s.toml", SCHEDULED);
    let dir = tmp.path().join("out");
    let sweep = |set: &str, quiet: bool| {
        let mut args = vec![
            "sweep",
            path_str(&file),
            "--set",
            set,
            "--out",
            path_str(&dir),
        ];
        if quiet {
            args.push("--quiet");
        }
        agora(&args)
    };
    let out = sweep("assets.TOKEN.pricing.m=0.001,0.002", false);
    assert_status(&out, 0);
    assert_eq!(
        stderr(&out),
        "warning: assets.TOKEN.pricing.m is varied, but assets.TOKEN.schedule[0] sets it to 0.003 at step 3: the varied value holds only until then\n"
    );
    assert_eq!(stderr(&sweep("assets.TOKEN.pricing.m=0.001", true)), "");
    let out = sweep("assets.TOKEN.schedule.0.value=0.002,0.004", false);
    assert_status(&out, 0);
    assert_eq!(stderr(&out), "");
    let csv = read(&dir, "sweep.csv");
    let firsts: Vec<String> = rows(&csv).into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(firsts, ["0.002", "0.004"]);
    // The later value of m gives a steeper curve, so a higher final price.
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let price = header
        .iter()
        .position(|c| *c == "assets.TOKEN.final_price")
        .unwrap();
    let prices: Vec<f64> = rows(&csv)
        .iter()
        .map(|r| r[price].parse().unwrap())
        .collect();
    assert!(prices[1] > prices[0], "{prices:?}");
}

#[test]
fn optimize_says_why_it_stopped_warns_of_a_bound_and_keeps_the_users_file() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!("# my economy: keep this comment\n{GOOD}");
    let file = write_scenario(tmp.path(), "s.toml", &text);
    let dir = tmp.path().join("opt");
    let out = agora(&[
        "optimize",
        path_str(&file),
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
        path_str(&dir),
    ]);
    assert_status(&out, 0);
    assert!(
        stdout(&out).contains("stopped after 5 of 5 evaluations: the grid is complete: 4 points"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        stderr(&out),
        "warning: the best assets.TOKEN.pricing.m = 0.0002 is the lower bound of its range 0.0002..0.002: the optimum may lie beyond it (widen the range if the scenario allows)\n"
    );
    assert_eq!(
        entries(&dir),
        ["best.toml", "optimize.csv", "optimize.json"]
    );
    let json: serde_json::Value = serde_json::from_str(&read(&dir, "optimize.json")).unwrap();
    assert_eq!(json["stop"]["reason"], "grid_complete");
    assert_eq!(json["best"]["on_bounds"][0]["bound"], "lower");
    // best.toml: the user's file, with only the optimised value (and the
    // runs it was optimised over) changed.
    let expected = text
        .replace("m = 0.001,", "m = 0.0002,")
        .replace("seed = 1\n", "seed = 1\nruns = 2\n");
    assert_eq!(read(&dir, "best.toml"), expected);
}

#[test]
fn sweep_report_plots_the_metrics_chosen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let sweep = |metrics: Option<&str>, report: bool| {
        let mut args = vec![
            "sweep",
            "--example",
            "curve-linear",
            "--steps",
            "4",
            "--set",
            "assets.TOKEN.pricing.m=0.001,0.002",
            "--out",
            path_str(&dir),
        ];
        if report {
            args.push("--report");
        }
        if let Some(m) = metrics {
            args.extend(["--metrics", m]);
        }
        agora(&args)
    };
    assert_status(&sweep(Some("assets.TOKEN.volume,groups.*.gini"), true), 0);
    let mut plots = entries(&dir.join("plots"));
    plots.retain(|p| p.ends_with(".svg"));
    assert_eq!(
        plots,
        [
            "sweep_assets_TOKEN_volume.svg",
            "sweep_groups_fundamental_gini.svg",
            "sweep_groups_noise_gini.svg"
        ]
    );
    // `agora report` takes the same choice.
    let out = agora(&[
        "report",
        path_str(&dir),
        "--metrics",
        "assets.TOKEN.nothing",
    ]);
    assert_status(&out, 2);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("assets.TOKEN.nothing"),
        "{}",
        stderr(&out)
    );
    // --metrics chooses what --report draws: alone it is an error.
    assert_status(&sweep(Some("assets.TOKEN.volume"), false), 2);
}

#[test]
fn summary_json_ends_with_the_measured_performance_which_the_report_leaves_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let out = agora(&[
        "run",
        "--example",
        "reference",
        "--steps",
        "4",
        "--runs",
        "2",
        "--threads",
        "1",
        "--out",
        path_str(&dir),
        "--report",
    ]);
    assert_status(&out, 0);
    let s = summary(&dir);
    let keys: Vec<&String> = s.as_object().unwrap().keys().collect();
    assert_eq!(keys.last().map(|k| k.as_str()), Some("performance"));
    let p = &s["performance"];
    assert_eq!(p["threads"], 1);
    // 10,000 agents × 4 steps × 2 runs
    assert_eq!(p["agent_steps"], 80_000.0);
    let wall = p["wall_seconds"].as_f64().unwrap();
    let rate = p["agent_steps_per_second"].as_f64().unwrap();
    assert!(wall > 0.0);
    assert!(
        (rate * wall / 80_000.0 - 1.0).abs() < 1e-9,
        "{rate} × {wall}"
    );
    let report = read(&dir, "report.html");
    assert!(!report.contains("performance"), "the report shows it");
    assert!(!report.contains("wall_seconds"));
}

#[test]
fn output_agent_steps_writes_agent_steps_csv_and_parquet_and_refuses_too_many() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "s.toml",
        &format!("{GOOD}\n[output]\nagent_steps = {{ every = 5, sample = 3 }}\n"),
    );
    let dir = tmp.path().join("out");
    let out = agora(&[
        "run",
        path_str(&file),
        "--format",
        "both",
        "--out",
        path_str(&dir),
    ]);
    assert_status(&out, 0);
    let csv = read(&dir, "agent_steps.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("run,step,group,agent,balance,holdings,wealth,locked_balance,locked_holdings")
    );
    // steps 0, 5 and 10; agents 0, 16 and 33 of the 50
    let keys: Vec<String> = lines
        .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(","))
        .collect();
    let expected: Vec<String> = [0, 5, 10]
        .iter()
        .flat_map(|t| [0, 16, 33].map(|a| format!("0,{t},noise,{a}")))
        .collect();
    assert_eq!(keys, expected);
    assert!(dir.join("agent_steps.parquet").exists());
    // 3 agents at 2,000,001 steps of 10,000,000 is beyond the budget:
    // exit 2, one line naming the table, before anything is written
    let big = tmp.path().join("big");
    let out = agora(&[
        "run",
        path_str(&file),
        "--steps",
        "10000000",
        "--out",
        path_str(&big),
    ]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("s.toml: output.agent_steps: 6000003 per-agent records"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!big.exists());
}

// ---------------------------------------------------------------------
// Output folders: written whole, locked, never mixing runs, never losing
// the user's files or the scenario being read.

/// The manifest of `dir`: `(name, sha256 hex or "dir")`, sorted.
fn manifest(dir: &Path) -> Vec<(String, String)> {
    let text = read(dir, MANIFEST);
    let mut out: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            if let Some(name) = l.strip_prefix("dir ") {
                (name.to_string(), "dir".to_string())
            } else {
                let rest = l.strip_prefix("file sha256:").expect("a file line");
                let (hash, name) = rest.split_once(' ').expect("hash and name");
                (name.to_string(), hash.to_string())
            }
        })
        .collect();
    out.sort();
    out
}

/// The sha256 of a file, in hex.
fn sha256_hex(path: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file under `dir` (recursively, the manifest included) with its
/// content, to tell whether a folder changed.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((name, fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(path).unwrap().ino()
}

/// Regression test: a second run into a folder left the first run's plots,
/// report and (in another format) tables beside its own, so that `agora
/// report` combined two scenarios.
#[test]
fn a_run_into_a_used_folder_leaves_exactly_its_own_results_and_the_users_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let d = path_str(&dir);
    let out = agora(&[
        "run",
        "--example",
        "token-economy",
        "--steps",
        "20",
        "--runs",
        "3",
        "--report",
        "--out",
        d,
    ]);
    assert_status(&out, 0);
    assert!(dir.join("plots").is_dir() && dir.join("report.html").is_file());
    fs::write(dir.join("notes.txt"), "my notes").unwrap();
    #[cfg(unix)]
    let notes = inode(&dir.join("notes.txt"));

    let out = agora(&[
        "run",
        "--example",
        "whale-dump",
        "--steps",
        "60",
        "--format",
        "parquet",
        "--out",
        d,
    ]);
    assert_status(&out, 0);
    assert_eq!(
        entries(&dir),
        [
            "agents.parquet",
            "assets.parquet",
            "notes.txt",
            "scenario.toml",
            "summary.json"
        ]
    );
    assert_eq!(summary(&dir)["scenario"], "<example whale-dump>");
    assert_eq!(read(&dir, "notes.txt"), "my notes");
    #[cfg(unix)]
    assert_eq!(
        inode(&dir.join("notes.txt")),
        notes,
        "the user's file itself"
    );
    // The manifest lists exactly what the run wrote, with its digests.
    let listed = manifest(&dir);
    let names: Vec<&str> = listed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "agents.parquet",
            "assets.parquet",
            "scenario.toml",
            "summary.json"
        ]
    );
    for (name, hash) in &listed {
        assert_eq!(*hash, sha256_hex(&dir.join(name)), "{name}");
    }
    // Nothing is left beside the folder.
    assert_eq!(all_entries(tmp.path()), ["out"]);
    // And its report is whale-dump's alone, from the Parquet tables.
    let out = agora(&["report", d]);
    assert_status(&out, 0);
    let html = read(&dir, "report.html");
    assert!(html.contains("whale-dump") && !html.contains("token-economy"));
    assert_eq!(read(&dir, "notes.txt"), "my notes");
}

/// What `dir` holds besides the manifest and `user` (the user's files),
/// found by walking it: `(path, sha256 hex or "dir")`, sorted, as
/// [`manifest`] lists them.
fn on_disk(dir: &Path, user: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            if name == MANIFEST || user.contains(&name.as_str()) {
                continue;
            }
            if p.is_dir() {
                out.push((name, "dir".to_string()));
                stack.push(p);
            } else {
                out.push((name, sha256_hex(&p)));
            }
        }
    }
    out.sort();
    out
}

/// A sweep that keeps its runs into a folder an earlier run (with per-agent
/// records and a report) wrote leaves exactly its own results: its table
/// and `points/`, every file of which the manifest lists; a later sweep
/// replaces those points with its own, and a run removes them.
#[test]
fn a_sweep_keeping_runs_into_a_used_folder_leaves_exactly_its_own_results() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "s.toml",
        &format!("{GOOD}\n[output]\nagent_steps = {{ every = 5, sample = 3 }}\n"),
    );
    let dir = tmp.path().join("out");
    let d = path_str(&dir);
    let out = agora(&[
        "run",
        path_str(&file),
        "--format",
        "both",
        "--report",
        "--out",
        d,
    ]);
    assert_status(&out, 0);
    assert!(dir.join("agent_steps.parquet").is_file() && dir.join("plots").is_dir());
    fs::write(dir.join("notes.txt"), "my notes").unwrap();
    #[cfg(unix)]
    let notes = inode(&dir.join("notes.txt"));

    let sweep = |values: &str, format: &str| {
        let set = format!("assets.TOKEN.pricing.m={values}");
        agora(&[
            "sweep",
            path_str(&file),
            "--steps",
            "4",
            "--runs",
            "2",
            "--set",
            &set,
            "--keep-runs",
            "--format",
            format,
            "--out",
            d,
        ])
    };
    let out = sweep("0.001,0.002,0.003", "csv");
    assert_status(&out, 0);
    assert_eq!(
        entries(&dir),
        ["notes.txt", "points", "shard.json", "sweep.csv"]
    );
    assert_eq!(entries(&dir.join("points")), ["0", "1", "2"]);
    // Each point as `agora run` writes it in CSV, per-agent records
    // included (the scenario asks for them), and nothing else.
    let mut point_files = OUTPUTS.to_vec();
    point_files.push("agent_steps.csv");
    point_files.sort();
    for i in ["0", "1", "2"] {
        assert_eq!(entries(&dir.join("points").join(i)), point_files, "{i}");
    }
    assert_eq!(manifest(&dir), on_disk(&dir, &["notes.txt"]));
    assert!(manifest(&dir)
        .iter()
        .any(|(n, _)| n == "points/2/agent_steps.csv"));

    // A second sweep: its one point replaces the three, in Parquet.
    let out = sweep("0.004", "parquet");
    assert_status(&out, 0);
    assert_eq!(
        entries(&dir),
        ["notes.txt", "points", "shard.json", "sweep.parquet"]
    );
    assert_eq!(entries(&dir.join("points")), ["0"]);
    assert_eq!(
        entries(&dir.join("points/0")),
        [
            "agent_steps.parquet",
            "agents.parquet",
            "assets.parquet",
            "scenario.toml",
            "summary.json"
        ]
    );
    assert!(read(&dir.join("points/0"), "scenario.toml").contains("m = 0.004"));
    assert_eq!(manifest(&dir), on_disk(&dir, &["notes.txt"]));

    // A run removes the points; the user's file is the same file throughout.
    let out = agora(&[
        "run",
        "--example",
        "curve-linear",
        "--steps",
        "3",
        "--out",
        d,
    ]);
    assert_status(&out, 0);
    let mut want = OUTPUTS.to_vec();
    want.push("notes.txt");
    want.sort();
    assert_eq!(entries(&dir), want);
    assert_eq!(manifest(&dir), on_disk(&dir, &["notes.txt"]));
    assert_eq!(read(&dir, "notes.txt"), "my notes");
    #[cfg(unix)]
    assert_eq!(
        inode(&dir.join("notes.txt")),
        notes,
        "the user's file itself"
    );
    assert_eq!(
        all_entries(tmp.path()),
        ["out", "s.toml"],
        "nothing left beside it"
    );
}

/// `agent_steps.csv` and `.parquet` are results like the others: a run
/// without per-agent records removes an earlier run's, and a file of the
/// user's of that name is kept by such a run but refused by one that
/// would write it.
#[test]
fn a_run_without_agent_steps_removes_an_earlier_runs_agent_steps() {
    let tmp = tempfile::tempdir().unwrap();
    let with = write_scenario(
        tmp.path(),
        "with.toml",
        &format!("{GOOD}\n[output]\nagent_steps = {{ every = 5, sample = 3 }}\n"),
    );
    let without = write_scenario(tmp.path(), "without.toml", GOOD);
    let dir = tmp.path().join("out");
    let d = path_str(&dir);
    let run = |scenario: &Path| agora(&["run", path_str(scenario), "--format", "both", "--out", d]);
    let tables = [
        "agents.csv",
        "agents.parquet",
        "assets.csv",
        "assets.parquet",
        "scenario.toml",
        "summary.json",
    ];
    assert_status(&run(&with), 0);
    let mut both = tables.to_vec();
    both.extend(["agent_steps.csv", "agent_steps.parquet"]);
    both.sort();
    assert_eq!(entries(&dir), both);
    assert_eq!(manifest(&dir), on_disk(&dir, &[]));

    assert_status(&run(&without), 0);
    assert_eq!(entries(&dir), tables);
    assert_eq!(manifest(&dir), on_disk(&dir, &[]));

    // The user's own agent_steps.csv: kept by a run that writes none,
    // refused by one that would replace it, which writes nothing.
    fs::write(dir.join("agent_steps.csv"), "mine").unwrap();
    assert_status(&run(&without), 0);
    assert_eq!(read(&dir, "agent_steps.csv"), "mine");
    let before = snapshot(&dir);
    let out = run(&with);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("agent_steps.csv"), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert_eq!(snapshot(&dir), before);
}

#[test]
fn report_refuses_results_that_do_not_belong_together() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (dir, example) in [(&a, "curve-linear"), (&b, "curve-power")] {
        let out = agora(&[
            "run",
            "--example",
            example,
            "--steps",
            "5",
            "--out",
            path_str(dir),
        ]);
        assert_status(&out, 0);
    }
    let refused = |what: &str, named: &str| {
        let before = snapshot(&a);
        let out = agora(&["report", path_str(&a)]);
        assert_status(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        assert!(err.contains(named), "{what}: {err}");
        assert!(snapshot(&a) == before, "{what}: the folder changed");
    };
    // Another run's file over one of this run's: its digest differs.
    fs::copy(b.join("assets.csv"), a.join("assets.csv")).unwrap();
    refused("another assets.csv", "assets.csv");
    // A results file the run did not write at all.
    fs::copy(b.join("assets.csv"), a.join("assets.csv")).unwrap();
    let out = agora(&[
        "run",
        "--example",
        "curve-linear",
        "--steps",
        "5",
        "--out",
        path_str(&a),
    ]);
    assert_status(&out, 0);
    fs::write(a.join("sweep.csv"), "assets.TOKEN.pricing.m,x\n1,2\n").unwrap();
    refused("a sweep.csv of its own", "sweep.csv");
    fs::remove_file(a.join("sweep.csv")).unwrap();
    // Without a manifest (put together by hand): the summary's
    // scenario_hash must still be that of scenario.toml.
    fs::remove_file(a.join(MANIFEST)).unwrap();
    fs::copy(b.join("summary.json"), a.join("summary.json")).unwrap();
    refused("another summary.json", "scenario_hash");
    // The same files, consistent: the report is written.
    fs::copy(b.join("scenario.toml"), a.join("scenario.toml")).unwrap();
    let out = agora(&["report", path_str(&a)]);
    assert_status(&out, 0);
}

/// Regression test: `agora run D/scenario.toml --out D` replaced the user's
/// own scenario with the resolved one (comments lost, overrides baked in).
#[test]
fn a_command_never_replaces_the_scenario_it_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    fs::create_dir(&dir).unwrap();
    let text = format!("# my scenario, my comments\n{GOOD}");
    let file = write_scenario(&dir, "scenario.toml", &text);
    let d = path_str(&dir);
    let out = agora(&[
        "run",
        path_str(&file),
        "--out",
        d,
        "--steps",
        "3",
        "--seed",
        "99",
    ]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(path_str(&file)) && err.contains("being read"),
        "{err}"
    );
    assert_eq!(read(&dir, "scenario.toml"), text);
    assert_eq!(
        all_entries(&dir),
        ["scenario.toml"],
        "nothing written, no lock left"
    );
    assert_eq!(all_entries(tmp.path()), ["d"]);

    // Under another name it is one of the user's files: kept, unchanged.
    let mine = dir.join("mine.toml");
    fs::rename(&file, &mine).unwrap();
    let out = agora(&["run", path_str(&mine), "--out", d, "--steps", "3"]);
    assert_status(&out, 0);
    assert_eq!(read(&dir, "mine.toml"), text);
    let mut want: Vec<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
    want.push("mine.toml".into());
    want.sort();
    assert_eq!(entries(&dir), want);

    // The scenario.toml the run wrote, read back into the same folder, and
    // an optimisation from its own best.toml: refused too.
    let written = dir.join("scenario.toml");
    let before = snapshot(&dir);
    let out = agora(&["run", path_str(&written), "--out", d, "--steps", "4"]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("being read"), "{}", stderr(&out));
    assert!(snapshot(&dir) == before, "the folder changed");
    let opt = tmp.path().join("opt");
    let optimize = |scenario: &Path| {
        agora(&[
            "optimize",
            path_str(scenario),
            "--param",
            "assets.TOKEN.pricing.m=0.0005..0.002",
            "--objective",
            "assets.TOKEN.volatility",
            "--method",
            "grid",
            "--budget",
            "3",
            "--out",
            path_str(&opt),
        ])
    };
    assert_status(&optimize(&mine), 0);
    let best = opt.join("best.toml");
    let before = snapshot(&opt);
    let out = optimize(&best);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("being read"), "{}", stderr(&out));
    assert!(snapshot(&opt) == before, "the folder changed");
}

#[test]
fn a_folder_that_cannot_be_switched_whole_is_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    let d = path_str(&dir);
    let run = || {
        agora(&[
            "run",
            "--example",
            "curve-linear",
            "--steps",
            "3",
            "--out",
            d,
        ])
    };
    assert_status(&run(), 0);
    let before = snapshot(&dir);

    // A folder of the user's inside: it is never moved or deleted.
    fs::create_dir(dir.join("mine")).unwrap();
    fs::write(dir.join("mine/data.txt"), "x").unwrap();
    let out = run();
    assert_status(&out, 2);
    assert!(stderr(&out).contains("mine"), "{}", stderr(&out));
    fs::remove_dir_all(dir.join("mine")).unwrap();
    assert!(snapshot(&dir) == before);

    // A file of the user's named like a result.
    let out = agora(&[
        "run",
        "--example",
        "curve-linear",
        "--steps",
        "3",
        "--report",
        "--out",
        d,
    ]);
    assert_status(&out, 0);
    fs::write(dir.join("best.toml"), "mine").unwrap();
    let before = snapshot(&dir);
    let out = agora(&[
        "optimize",
        "--example",
        "curve-linear",
        "--param",
        "assets.TOKEN.pricing.m=0.0005..0.002",
        "--objective",
        "assets.TOKEN.volatility",
        "--budget",
        "3",
        "--out",
        d,
    ]);
    assert_status(&out, 2);
    assert!(stderr(&out).contains("best.toml"), "{}", stderr(&out));
    assert!(snapshot(&dir) == before);

    // The folder the command runs in: switching it would leave the
    // command's (and the shell's) working folder deleted.
    let out = Command::new(env!("CARGO_BIN_EXE_agora"))
        .args([
            "run",
            "--example",
            "curve-linear",
            "--steps",
            "3",
            "--out",
            ".",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_status(&out, 2);
    assert!(stderr(&out).contains("working folder"), "{}", stderr(&out));
    assert!(snapshot(&dir) == before);
}

/// A child process killed when the test ends, however it ends: a failed
/// assertion would otherwise leave an endless run behind, using a core.
struct KilledAtTheEnd(std::process::Child);

impl Drop for KilledAtTheEnd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A scenario that runs for hours: one step of 200,000 agents, 100,000 times.
fn endless(dir: &Path) -> PathBuf {
    write_scenario(
        dir,
        "endless.toml",
        &GOOD
            .replace("steps = 10", "steps = 100000")
            .replace("count = 50", "count = 200000"),
    )
}

/// Waits until `agora` has staged its results beside `dir` (it holds the
/// folder's lock from then on).
fn wait_for_staging(dir: &Path, child: &mut std::process::Child) {
    let prefix = format!(".{}.agora-tmp-", dir.file_name().unwrap().to_str().unwrap());
    for _ in 0..6000 {
        if all_entries(dir.parent().unwrap())
            .iter()
            .any(|n| n.starts_with(&prefix))
        {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "agora ended early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("agora never staged its results");
}

/// Regression test: two runs into the same folder mixed their files and
/// both exited 0; a killed run left `.NAME.tmp-PID` files behind.
#[test]
fn a_second_command_into_a_busy_folder_fails_and_a_killed_one_leaves_the_earlier_results() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let d = path_str(&dir);
    let out = agora(&[
        "run",
        "--example",
        "curve-linear",
        "--steps",
        "5",
        "--report",
        "--out",
        d,
    ]);
    assert_status(&out, 0);
    let earlier = snapshot(&dir);

    let scenario = endless(tmp.path());
    let mut long = KilledAtTheEnd(
        Command::new(env!("CARGO_BIN_EXE_agora"))
            .args(["run", path_str(&scenario), "--out", d, "--quiet"])
            .env_remove("RAYON_NUM_THREADS")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_staging(&dir, &mut long.0);

    for args in [
        vec!["run", "--example", "reference", "--steps", "3", "--out", d],
        vec!["report", d],
        vec![
            "sweep",
            "--example",
            "curve-linear",
            "--steps",
            "3",
            "--set",
            "assets.TOKEN.pricing.m=0.001,0.002",
            "--out",
            d,
        ],
    ] {
        let out = agora(&args);
        assert_status(&out, 1);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(d) && err.contains("another agora command"),
            "{args:?}: {err}"
        );
    }
    assert!(
        snapshot(&dir) == earlier,
        "the refused commands changed the folder"
    );

    long.0.kill().unwrap();
    long.0.wait().unwrap();
    assert!(
        snapshot(&dir) == earlier,
        "the killed run changed the folder"
    );
    let beside = all_entries(tmp.path());
    assert_eq!(beside.len(), 3, "{beside:?}");
    assert!(
        beside[0].starts_with(".out.agora-tmp-"),
        "its staging folder is left: {beside:?}"
    );

    // The next command cleans up after it.
    let out = agora(&["run", "--example", "whale-dump", "--steps", "3", "--out", d]);
    assert_status(&out, 0);
    assert_eq!(all_entries(tmp.path()), ["endless.toml", "out"]);
    let mut want: Vec<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(entries(&dir), want);
    assert_eq!(summary(&dir)["scenario"], "<example whale-dump>");
}

/// Regression test: a constant price of 1e300 gave a null volatility (the
/// variance overflowed).
#[test]
fn a_constant_price_of_1e300_has_volatility_0() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "huge.toml",
        r#"
[simulation]
steps = 300
seed = 3

[[assets]]
name = "C"
kind = "resource"
capacity = 5.0
renewal = "renewing"
allocation = "proportional"
pricing = { kind = "fixed", price = 1e300 }

[[agents]]
group = "agents"
count = 3
balance = 1.0
policy = { kind = "consumer", asset = "C", need = { distribution = "uniform", low = 0.5, high = 1.5 }, value = 3.0, demand = "linear" }
"#,
    );
    let dir = tmp.path().join("out");
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir), "--report"]);
    assert_status(&out, 0);
    let s = summary(&dir);
    let c = &s["assets"]["C"];
    assert_eq!(c["volatility"], 0.0, "{c}");
    assert_eq!(c["final_price"], 1e300);
    let mean = c["mean_price"].as_f64().expect("a number, not null");
    assert!((mean / 1e300 - 1.0).abs() < 1e-12, "{mean}");
}

/// Regression tests: steps = 9223372036854775807, a billion runs, a
/// billion-point sweep and 80 million agents under a 2 GB limit aborted
/// with an allocation failure (exit 134). They are refused before anything
/// runs, with the field, the estimate and how to change the limit.
#[test]
fn runs_beyond_memory_are_refused_up_front_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let file = write_scenario(
        tmp.path(),
        "steps.toml",
        &GOOD.replace("steps = 10", "steps = 9223372036854775807"),
    );
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir)]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: {}: simulation.steps: the run needs about ",
            path_str(&file)
        )) && err.contains("set --max-memory or AGORA_MAX_MEMORY"),
        "{err}"
    );

    let out = agora(&[
        "run",
        "--example",
        "reference",
        "--steps",
        "2",
        "--runs",
        "1000000000",
        "--out",
        path_str(&dir),
    ]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("simulation.runs: the run needs about"),
        "{}",
        stderr(&out)
    );

    let thousand: String = (1..=1000)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let out = agora(&[
        "sweep",
        "--example",
        "reference",
        "--steps",
        "2",
        "--set",
        &format!("simulation.seed={thousand}"),
        "--set",
        &format!("agents.noise.count={thousand}"),
        "--set",
        &format!("simulation.steps={thousand}"),
        "--out",
        path_str(&dir),
    ]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("the sweep needs about")
            && stderr(&out).contains("1000000000 grid points"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.exists(), "nothing written");
}

/// The limit is the memory the process may use: under `ulimit -v` (2 GB)
/// 80 million agents (1.3 GB of accounts, 0.6 GB for the summary, 0.3 GB
/// of execution order) are refused, where they fit without the limit.
#[cfg(target_os = "linux")]
#[test]
fn the_address_space_limit_is_the_memory_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "big.toml",
        &GOOD
            .replace("count = 50", "count = 80000000")
            .replace("steps = 10", "steps = 1"),
    );
    let dir = tmp.path().join("out");
    let script = "ulimit -v 2000000 && exec \"$0\" run \"$1\" --out \"$2\"";
    let out = Command::new("sh")
        .args([
            "-c",
            script,
            env!("CARGO_BIN_EXE_agora"),
            path_str(&file),
            path_str(&dir),
        ])
        .output()
        .expect("sh runs");
    assert_status(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("agents.noise.count: the run needs about")
            && err.contains("the state of 80000000 agents")
            && err.contains("address-space limit"),
        "{err}"
    );
    assert!(!dir.exists());
}

#[test]
fn the_memory_limit_can_be_set_and_is_checked_as_given() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let args = ["run", "--example", "reference", "--out", path_str(&dir)];
    let out = agora(&[&args[..], &["--max-memory", "1M"]].concat());
    assert_status(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("more than the 1.0 MB available") && err.contains("(the limit: --max-memory)"),
        "{err}"
    );
    let out = agora_env(&args, &[("AGORA_MAX_MEMORY", "1M")]);
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("(the limit: AGORA_MAX_MEMORY)"),
        "{}",
        stderr(&out)
    );
    // the flag wins over the variable
    let out = agora_env(
        &[&args[..], &["--max-memory", "1G", "--quiet"]].concat(),
        &[("AGORA_MAX_MEMORY", "1M")],
    );
    assert_status(&out, 0);
    let out = agora(&[&args[..], &["--max-memory", "lots"]].concat());
    assert_status(&out, 2);
    assert!(
        stderr(&out).contains("--max-memory \"lots\": expected a size"),
        "{}",
        stderr(&out)
    );
    let out = agora_env(
        &[&args[..], &["--quiet"]].concat(),
        &[("AGORA_MAX_MEMORY", "unlimited")],
    );
    assert_status(&out, 0);
}

/// Regression test: control characters in names reached the terminal and
/// the CSV files raw.
#[test]
fn a_name_with_a_control_character_exits_2_with_it_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "esc.toml",
        &GOOD.replace("group = \"noise\"", "group = \"noise\\u001b[2J\""),
    );
    let dir = tmp.path().join("out");
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir)]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert!(!err.contains('\u{1b}'), "raw ESC on the terminal: {err:?}");
    assert!(
        err.contains("agents[0].group: expected a string without control characters, found \"noise\\u{1b}[2J\""),
        "{err}"
    );
    assert!(!dir.exists());
}

#[cfg(unix)]
#[test]
fn a_scenario_path_to_an_endless_file_stops_at_the_cap() {
    let out = agora(&["validate", "/dev/zero"]);
    assert_status(&out, 2);
    assert_eq!(
        stderr(&out),
        "error: /dev/zero: the file is larger than 64 MiB, the most a scenario file may be; is it the scenario?\n"
    );
}

/// Regression test: an event after the last step validated silently.
#[test]
fn an_event_after_the_last_step_is_a_warning_from_validate_and_run() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "late.toml",
        &format!("{GOOD}\n[[events]]\nat = 11\nkind = \"dump\"\ngroup = \"noise\"\nasset = \"TOKEN\"\nshare = 0.5\n"),
    );
    let warning = format!(
        "warning: {}: events[0].at: step 11 is after the last step (10): the dump event never happens\n",
        path_str(&file)
    );
    let out = agora(&["validate", path_str(&file)]);
    assert_status(&out, 0);
    assert_eq!(stderr(&out), warning);
    let dir = tmp.path().join("out");
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir)]);
    assert_status(&out, 0);
    assert_eq!(stderr(&out), warning);
    let out = agora(&[
        "run",
        path_str(&file),
        "--out",
        path_str(&dir),
        "--steps",
        "11",
    ]);
    assert_status(&out, 0);
    assert_eq!(stderr(&out), "", "reached with --steps 11");
    let out = agora(&["run", path_str(&file), "--out", path_str(&dir), "--quiet"]);
    assert_status(&out, 0);
    assert_eq!(stderr(&out), "", "--quiet prints nothing but errors");
}

#[test]
fn validate_prints_the_memory_and_work_a_run_needs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(tmp.path(), "good.toml", GOOD);
    let out = agora(&["validate", path_str(&file)]);
    assert_status(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!(
            "{}: ok (1 assets, 1 groups, 50 agents, 10 steps, 1 run, seed 1; a run needs about ",
            path_str(&file)
        )) && text.contains(" of memory and 5.00e2 agent-steps"),
        "{text}"
    );
}

/// The line of `text` that starts with `prefix` (after the indent).
fn line<'t>(text: &'t str, prefix: &str) -> &'t str {
    text.lines()
        .map(str::trim_start)
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

/// Regression test: the console left out each example's headline metric
/// and printed a curve's fields (`final_supply 0`, `fees 0`) for markets
/// and resources. Figures are the summary's, rounded for display.
#[test]
fn the_console_shows_what_matters_for_each_kind_of_asset() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |example: &str, extra: &[&str]| {
        let dir = tmp.path().join(example);
        let out = agora(
            &[
                &["run", "--example", example, "--out", path_str(&dir)],
                extra,
            ]
            .concat(),
        );
        assert_status(&out, 0);
        (stdout(&out), summary(&dir))
    };
    let four = |x: &serde_json::Value| format!("{:.4}", x.as_f64().expect("a number"));

    let (text, s) = run("market-clearing", &[]);
    let good = line(&text, "asset GOOD");
    assert!(
        good.starts_with("asset GOOD (order book): final price "),
        "{good}"
    );
    let efficiency = four(&s["assets"]["GOOD"]["allocative_efficiency"]);
    assert!(
        good.contains(&format!("allocative efficiency {efficiency}")),
        "{good}"
    );
    assert!(!good.contains("fees") && !good.contains("supply"), "{good}");

    let (text, s) = run("resource-economy", &[]);
    let compute = line(&text, "asset COMPUTE");
    let a = &s["assets"]["COMPUTE"];
    for (label, key) in [
        ("utilisation", "utilization"),
        ("unmet share", "unmet_share"),
        ("Jain", "jain_index"),
        ("Gini", "gini"),
    ] {
        assert!(
            compute.contains(&format!("{label} {}", four(&a[key]))),
            "{label}: {compute}"
        );
    }
    // the summary holds the noise (1 − 3e-16, 4e-10); the console does not
    assert!(compute.contains("Jain 1.0000, Gini 0.0000"), "{compute}");
    assert!(compute.contains("welfare "), "{compute}");
    assert!(
        !compute.contains("fees") && !compute.contains("supply"),
        "{compute}"
    );
    let shock = line(&text, "shock at step 60");
    let recovery = s["assets"]["COMPUTE"]["recovery_steps"]
        .as_u64()
        .expect("recovered");
    assert!(
        shock.ends_with(&format!("recovered after {recovery} steps")),
        "{shock}"
    );
    let agents = line(&text, "group agents");
    assert!(
        agents.contains("1000 agents") && agents.contains("needs met "),
        "{agents}"
    );

    let (text, _) = run("token-economy", &[]);
    let agt = line(&text, "asset AGT");
    assert!(
        agt.starts_with("asset AGT (bonding curve): ")
            && agt.contains(", supply ")
            && agt.contains(", fees "),
        "{agt}"
    );

    let (text, s) = run("whale-dump", &["--steps", "84", "--runs", "16"]);
    let d = &s["distribution"]["assets"]["TOKEN"]["recovery_steps"];
    let recovered = d["count"].as_u64().expect("count");
    let shock = line(&text, "shock at step 50");
    assert!(
        shock.contains(&format!("recovered in {recovered} of 16 runs")),
        "{shock}"
    );
    // counts stay integers in an ensemble's summary
    assert_eq!(s["groups"]["whales"]["agents"], serde_json::json!(5));
    assert!(
        line(&text, "group whales").contains(": 5 agents,"),
        "{text}"
    );
}

#[test]
fn help_describes_each_command_in_its_own_words() {
    let out = agora(&["run", "--help"]);
    assert_status(&out, 0);
    let run_help = stdout(&out);
    assert!(
        !run_help.contains("grid point") && !run_help.contains("candidate"),
        "{run_help}"
    );
    assert!(run_help.contains("--max-memory"), "{run_help}");
    let out = agora(&["sweep", "--help"]);
    let sweep_help = stdout(&out);
    let format = &sweep_help[sweep_help.find("--format").expect("--format")..];
    assert!(
        !format.contains("assets.csv") && !format.contains("agents"),
        "{format}"
    );
    assert!(format.contains("sweep.parquet"), "{format}");
}

/// One run written as CSV writes its tables as it goes, holding a few
/// steps' records at a time: under a memory limit that the records of
/// every step would exceed, it runs and writes every row; as Parquet,
/// which needs the whole columns, it is refused up front, with the way out
/// named.
#[test]
fn one_run_as_csv_writes_its_tables_as_it_goes_within_a_memory_limit_the_whole_run_exceeds() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "long.toml",
        r#"name = "long"

[simulation]
steps = 60000
seed = 1

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }

[[agents]]
group = "noise"
count = 2
balance = 1000.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.4, p_sell = 0.4, buy_fraction = 0.1, sell_fraction = 0.1 }
"#,
    );
    let csv = tmp.path().join("csv");
    let out = agora(&[
        "run",
        path_str(&file),
        "--out",
        path_str(&csv),
        "--max-memory",
        "40MB",
        "--quiet",
    ]);
    assert_status(&out, 0);
    let assets = std::fs::read_to_string(csv.join("assets.csv")).unwrap();
    let agents = std::fs::read_to_string(csv.join("agents.csv")).unwrap();
    assert_eq!(assets.lines().count(), 1 + 60_001);
    assert_eq!(agents.lines().count(), 1 + 60_001);
    assert!(assets.ends_with('\n') && assets.lines().last().unwrap().starts_with("0,60000,TOKEN,"));

    let both = tmp.path().join("both");
    let out = agora(&[
        "run",
        path_str(&file),
        "--out",
        path_str(&both),
        "--max-memory",
        "40MB",
        "--format",
        "both",
    ]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("simulation.steps: the run needs about")
            && err.contains("as CSV only (--format csv) the tables are written as the run goes"),
        "{err}"
    );
    assert!(!both.exists());
}

#[test]
fn output_trades_writes_trades_csv_as_the_run_goes_and_trades_parquet_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let file = write_scenario(
        tmp.path(),
        "s.toml",
        &format!("{GOOD}\n[output]\ntrades = true\n"),
    );
    let drained = tmp.path().join("csv");
    let out = agora(&["run", path_str(&file), "--out", path_str(&drained)]);
    assert_status(&out, 0);
    let both = tmp.path().join("both");
    let out = agora(&[
        "run",
        path_str(&file),
        "--format",
        "both",
        "--out",
        path_str(&both),
    ]);
    assert_status(&out, 0);
    let csv = read(&drained, "trades.csv");
    // written as the run goes or at the end, the same bytes
    assert_eq!(csv, read(&both, "trades.csv"));
    assert!(both.join("trades.parquet").is_file());
    assert!(!drained.join("trades.parquet").exists());
    assert!(read(&drained, ".agora-manifest").contains(" trades.csv\n"));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("run,step,agent,counterpart,asset,kind,side,quantity,price,money")
    );
    // one row per trade the asset table counts, step by step
    let mut per_step = vec![0u64; 11];
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!((f[0], f[3], f[4]), ("0", "", "TOKEN"), "{l}");
        assert!(
            matches!((f[5], f[6]), ("mint", "buy") | ("burn", "sell")),
            "{l}"
        );
        per_step[f[1].parse::<usize>().unwrap()] += 1;
    }
    let assets = read(&drained, "assets.csv");
    let counted: Vec<u64> = assets
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(7).unwrap().parse().unwrap())
        .collect();
    assert_eq!(per_step, counted);
    assert!(per_step[1..].iter().all(|&n| n > 0));
}

/// The files of a run's folder that must be byte-identical between two
/// runs (all but `summary.json`, whose `performance` is measured time).
fn same_run_outputs(a: &Path, b: &Path) {
    for name in ["assets.csv", "agents.csv", "scenario.toml"] {
        assert_eq!(
            fs::read(a.join(name)).unwrap(),
            fs::read(b.join(name)).unwrap(),
            "{name}"
        );
    }
    let mut sa = summary(a);
    let mut sb = summary(b);
    sa.as_object_mut().unwrap().remove("performance");
    sb.as_object_mut().unwrap().remove("performance");
    assert_eq!(sa, sb, "summary.json");
}

#[test]
fn a_resumed_run_writes_what_the_uninterrupted_run_writes() {
    let tmp = tempfile::tempdir().unwrap();
    for (example, steps, every) in [
        ("token-economy", "40", "15"),
        ("market-clearing", "30", "7"),
        ("call-auction", "20", "6"),
        ("resource-economy", "30", "10"),
        ("whale-dump", "40", "13"),
    ] {
        let whole = tmp.path().join(format!("{example}-whole"));
        let first = tmp.path().join(format!("{example}-first"));
        let resumed = tmp.path().join(format!("{example}-resumed"));
        let run = |out: &Path, extra: &[&str]| {
            let mut args = vec!["run", "--example", example, "--steps", steps, "--quiet"];
            args.extend_from_slice(extra);
            args.extend(["--out", path_str(out)]);
            assert_status(&agora(&args), 0);
        };
        run(&whole, &[]);
        run(&first, &["--checkpoint-every", every, "--threads", "1"]);
        same_run_outputs(&whole, &first);
        // The last checkpoint: the last multiple of `every` before the end.
        let checkpoint = first.join("checkpoint");
        assert!(checkpoint.is_file(), "{example}");
        let out = agora(&[
            "resume",
            path_str(&checkpoint),
            "--threads",
            "3",
            "--quiet",
            "--out",
            path_str(&resumed),
        ]);
        assert_status(&out, 0);
        same_run_outputs(&whole, &resumed);
    }
    // The run's folder names its checkpoint too.
    let first = tmp.path().join("token-economy-first");
    let from_folder = tmp.path().join("from-folder");
    let out = agora(&[
        "resume",
        path_str(&first),
        "--quiet",
        "--out",
        path_str(&from_folder),
    ]);
    assert_status(&out, 0);
    same_run_outputs(&tmp.path().join("token-economy-whole"), &from_folder);
}

#[test]
fn a_run_killed_mid_way_resumes_from_its_last_checkpoint_with_the_same_result() {
    let tmp = tempfile::tempdir().unwrap();
    let (whole, killed, resumed) = (
        tmp.path().join("whole"),
        tmp.path().join("killed"),
        tmp.path().join("resumed"),
    );
    let args = |out: &Path, extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            "run",
            "--example",
            "market-clearing",
            "--steps",
            "4000",
            "--quiet",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v.extend(["--out".to_string(), path_str(out).to_string()]);
        v
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(args(&killed, &["--checkpoint-every", "50"]))
        .spawn()
        .unwrap();
    let checkpoint = killed.join("checkpoint");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !checkpoint.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SIGKILL: no chance to clean up or finish the file being written.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(checkpoint.is_file(), "a checkpoint was written");
    let out = agora(&[
        "resume",
        path_str(&checkpoint),
        "--quiet",
        "--out",
        path_str(&resumed),
    ]);
    assert_status(&out, 0);
    let whole_args = args(&whole, &[]);
    let whole_args: Vec<&str> = whole_args.iter().map(String::as_str).collect();
    assert_status(&agora(&whole_args), 0);
    same_run_outputs(&whole, &resumed);
    // Killed before the end, nothing but the checkpoint (and what an
    // interrupted command leaves to be cleaned) is in its folder.
    if !status.success() {
        assert!(!killed.join("assets.csv").exists());
    }
}

#[test]
fn bad_checkpoints_and_checkpointed_ensembles_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("first");
    assert_status(
        &agora(&[
            "run",
            "--example",
            "curve-linear",
            "--steps",
            "10",
            "--checkpoint-every",
            "4",
            "--quiet",
            "--out",
            path_str(&first),
        ]),
        0,
    );
    let good = fs::read(first.join("checkpoint")).unwrap();
    let out_dir = tmp.path().join("resumed");
    let resume = |bytes: &[u8]| {
        let path = tmp.path().join("cp");
        fs::write(&path, bytes).unwrap();
        agora(&["resume", path_str(&path), "--out", path_str(&out_dir)])
    };
    let refused = |out: Output, message: &str| {
        assert_status(&out, 2);
        let err = stderr(&out);
        assert!(err.contains(message), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!out_dir.exists(), "nothing written");
    };
    refused(resume(&good[..good.len() / 2]), "truncated");
    let mut flipped = good.clone();
    let middle = good.len() / 2;
    flipped[middle] ^= 0x40;
    refused(resume(&flipped), "checksum");
    refused(resume(b"assets.csv"), "not an Agora checkpoint");
    // A missing file and a folder without a checkpoint are bad input too.
    let missing = tmp.path().join("missing");
    let resume_path = |path: &Path| agora(&["resume", path_str(path), "--out", path_str(&out_dir)]);
    refused(resume_path(&missing), "missing: reading the checkpoint: ");
    fs::create_dir(&missing).unwrap();
    refused(
        resume_path(&missing),
        "missing: a folder without a checkpoint",
    );
    let out = agora(&[
        "run",
        "--example",
        "curve-linear",
        "--runs",
        "3",
        "--steps",
        "5",
        "--checkpoint-every",
        "2",
        "--out",
        path_str(&out_dir),
    ]);
    refused(out, "--checkpoint-every");
}

/// An affiliate contract: a bad one exits 2 naming its field; a good one
/// writes `contracts.csv` (rows at the recorded steps) beside the tables,
/// and its summary under `contracts.<name>`.
#[test]
fn a_contract_writes_contracts_csv_and_a_bad_one_exits_2_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let contract = |primary: &str| {
        GOOD.replace("steps = 10", "steps = 10\nrecord_every = 5")
            .to_string()
            + &format!(
                r#"
[[agents]]
group = "promoters"
count = 3
balance = 100.0
policy = {{ kind = "effort", level = 1.0 }}

[[contracts]]
name = "promo"
kind = "affiliate"
primary = "{primary}"
affiliates = "promoters"
goal = {{ kind = "token_adoption", asset = "TOKEN" }}
reward = {{ kind = "linear", k = 0.5 }}
budget = 1000.0
referrals = {{ rate = 0.5, budget = {{ kind = "fixed", value = 10.0 }}, policy = {{ kind = "threshold", asset = "TOKEN", buy_below = 5.0, sell_above = 8.0 }} }}
"#
            )
    };
    let bad = write_scenario(tmp.path(), "bad.toml", &contract("nobody"));
    let dir = tmp.path().join("out");
    let out = agora(&["run", path_str(&bad), "--out", path_str(&dir)]);
    assert_status(&out, 2);
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.contains("contracts.promo.primary"), "{err}");
    assert!(!dir.exists());

    let good = write_scenario(tmp.path(), "good.toml", &contract("noise"));
    let out = agora(&["run", path_str(&good), "--out", path_str(&dir)]);
    assert_status(&out, 0);
    assert!(entries(&dir).contains(&"contracts.csv".to_string()));
    let csv = fs::read_to_string(dir.join("contracts.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("run,step,contract,affiliate,referrals,attributed,effort,reward,vested,clawed_back,budget_left")
    );
    // steps 5 and 10, three affiliates each
    assert_eq!(lines.count(), 2 * 3);
    let summary: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let c = &summary["contracts"]["promo"];
    assert_eq!(c["budget_exhausted_step"], serde_json::Value::Null);
    assert!(c["rewards_paid"].as_f64().unwrap() <= 1000.0);
}

#[test]
fn a_sandwich_on_an_asset_without_a_mempool_exits_2_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let text = r#"
[simulation]
steps = 3
seed = 1

[[assets]]
name = "X"
pricing = { kind = "amm", curve = "constant_product", reserve_money = 1000.0, reserve_token = 1000.0, fee = 0.003 }

[[agents]]
group = "attacker"
count = 1
balance = 10.0
policy = { kind = "sandwich", asset = "X" }
"#;
    for (text, field) in [
        (text.to_string(), "agents.attacker.policy.asset: "),
        (
            text.replace("name = \"X\"\n", "name = \"X\"\nordering = \"fifo\"\n"),
            "assets.X.ordering: ",
        ),
    ] {
        let file = write_scenario(tmp.path(), "bad.toml", &text);
        let out = agora(&["validate", path_str(&file)]);
        assert_status(&out, 2);
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
        assert!(err.contains(field), "names {field}: {err}");
    }
}

/// The seed corpus of the `merge_shards` fuzz target (shared harness:
/// `crates/agora/tests/fuzz/merge.rs`).
#[path = "../../agora/tests/fuzz/merge.rs"]
mod merge_harness;

/// Writes `fuzz/corpus/merge_shards`: the folders of real shards, each set
/// encoded as one input (`merge_harness::encode`). `cargo test -p agora
/// --test main the_merge_seeds_merge` checks that they still merge.
#[test]
#[ignore = "writes fuzz/corpus/merge_shards; run on purpose when the shard folders change"]
fn rebuild_merge_seed_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    // `agora COMMAND --example curve-linear --steps 2` into the folder `name`
    let write = |command: &str, name: &str, grid: &[&str], extra: &[&str]| -> PathBuf {
        let dir = tmp.path().join(name);
        let mut args = vec![
            command,
            "--example",
            "curve-linear",
            "--steps",
            "2",
            "--quiet",
        ];
        args.extend(["--out", path_str(&dir)]);
        for set in grid {
            args.extend(["--set", set]);
        }
        args.extend_from_slice(extra);
        assert_status(&agora(&args), 0);
        dir
    };
    let sweep = |name: &str, grid: &[&str], extra: &[&str]| write("sweep", name, grid, extra);
    let run = |name: &str, extra: &[&str]| write("run", name, &[], extra);
    let m = "assets.TOKEN.pricing.m=0.001,0.002";
    let p = "agents.noise.policy.p_buy=0.3,0.4";
    let mut seeds: Vec<(&str, Vec<PathBuf>)> = Vec::new();
    seeds.push(("sweep-whole", vec![sweep("w", &[m], &["--runs", "2"])]));
    seeds.push((
        "sweep-3-shards",
        (1..=3)
            .map(|i| {
                sweep(
                    &format!("s{i}"),
                    &[m, p],
                    &["--runs", "2", "--shard", &format!("{i}/3")],
                )
            })
            .collect(),
    ));
    seeds.push((
        "sweep-more-shards-than-points",
        (1..=3)
            .map(|i| sweep(&format!("e{i}"), &[m], &["--shard", &format!("{i}/3")]))
            .collect(),
    ));
    let pricing = concat!(
        "assets.TOKEN.pricing=[",
        r#"{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }, "#,
        r#"{ kind = "amm", curve = "constant_product", reserve_money = 1000000.0, reserve_token = 100000.0, fee = 0.003 }]"#
    );
    seeds.push((
        "sweep-other-metrics",
        (1..=2)
            .map(|i| {
                sweep(
                    &format!("o{i}"),
                    &[pricing],
                    &["--shard", &format!("{i}/2")],
                )
            })
            .collect(),
    ));
    seeds.push((
        "sweep-keep-runs",
        (1..=2)
            .map(|i| {
                sweep(
                    &format!("k{i}"),
                    &[m],
                    &["--keep-runs", "--shard", &format!("{i}/2")],
                )
            })
            .collect(),
    ));
    seeds.push((
        "runs-2-shards",
        (1..=2)
            .map(|i| {
                run(
                    &format!("r{i}"),
                    &["--runs", "3", "--shard", &format!("{i}/2")],
                )
            })
            .collect(),
    ));
    seeds.push((
        "runs-1-shard",
        vec![run("q", &["--runs", "2", "--shard", "1/1"])],
    ));
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/merge_shards");
    if corpus.exists() {
        fs::remove_dir_all(&corpus).unwrap();
    }
    fs::create_dir_all(&corpus).unwrap();
    for (name, dirs) in seeds {
        let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
        let input = merge_harness::encode(&refs);
        assert!(
            input.len() <= 65_536,
            "{name}: {} bytes, past the target's -max_len",
            input.len()
        );
        assert_ne!(
            merge_harness::merge_input(&input),
            merge_harness::Outcome::Refused,
            "{name}"
        );
        fs::write(corpus.join(name), input).unwrap();
    }
}
