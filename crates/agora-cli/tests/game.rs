//! `agora game`: the JSON of `solve` and `best-response`, the files of
//! `evolve`, and one-line errors with exit status 2 for bad input.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn agora(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(args)
        .output()
        .expect("the agora binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn assert_status(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Asserts exit status 2 and a one-line error; returns the line.
fn input_error(args: &[&str]) -> String {
    let out = agora(args);
    assert_status(&out, 2);
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
    err.trim_end().to_string()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, body).expect("writing a test file");
    path.to_str().expect("utf-8 path").to_string()
}

#[test]
fn solve_prints_every_equilibrium_as_json() {
    let out = agora(&["game", "solve", "--example", "hawk-dove"]);
    assert_status(&out, 0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["degenerate"], false);
    let eqs = json["equilibria"].as_array().expect("equilibria");
    assert_eq!(eqs.len(), 3);
    assert_eq!(eqs[2]["row"][0].as_f64(), Some(7.0 / 12.0));
    assert_eq!(eqs[2]["payoffs"][1].as_f64(), Some(6.25));
    assert_eq!(eqs[0]["support"]["row"][0], "hawk");
    for method in ["pure", "support", "vertex", "lemke-howson"] {
        let out = agora(&[
            "game",
            "solve",
            "--example",
            "hawk-dove",
            "--method",
            method,
        ]);
        assert_status(&out, 0);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(json["method"], method);
    }
}

#[test]
fn solve_writes_the_file_atomically() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("sub").join("eq.json");
    let game = write(
        dir.path(),
        "g.toml",
        "[game]\nrow = [[1, 2], [3, 0]]\ncolumn = [[0, 2], [3, 1]]\n",
    );
    let out = agora(&[
        "game",
        "solve",
        &game,
        "--out",
        file.to_str().expect("utf-8"),
    ]);
    assert_status(&out, 0);
    assert!(text(&out.stdout).starts_with("game: 3 equilibria (all)"));
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).expect("written")).expect("JSON");
    assert_eq!(json["equilibria"].as_array().map(Vec::len), Some(3));
    // Nothing but the file: the temporary was renamed into place.
    let names: Vec<_> = fs::read_dir(dir.path().join("sub"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["eq.json"]);
}

#[test]
fn bad_game_files_are_one_line_errors_naming_file_and_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ragged = write(dir.path(), "ragged.toml", "[game]\nrow = [[1, 2], [3]]\n");
    assert_eq!(
        input_error(&["game", "solve", &ragged]),
        format!("error: {ragged}: game.row[1]: expected 2 numbers (as in game.row[0]): the matrix must be rectangular, found 1")
    );
    let shapes = write(
        dir.path(),
        "shapes.toml",
        "[game]\nrow = [[1, 2], [3, 4]]\ncolumn = [[1, 2]]\n",
    );
    assert!(input_error(&["game", "solve", &shapes])
        .contains("shapes.toml: game.column: expected a 2x2 matrix"));
    let nan = write(dir.path(), "nan.toml", "[game]\nrow = [[1, nan]]\n");
    assert!(input_error(&["game", "solve", &nan])
        .contains("nan.toml: game.row[0][1]: expected a finite number"));
    let labels = write(
        dir.path(),
        "labels.toml",
        "[game]\nstrategies = [\"a\", \"b\", \"c\"]\nrow = [[1, 2], [3, 4]]\n",
    );
    assert!(input_error(&["game", "solve", &labels])
        .contains("labels.toml: game.strategies: expected 2 labels"));
    let unknown = write(
        dir.path(),
        "unknown.toml",
        "[game]\nrow = [[1]]\ncolums = [[1]]\n",
    );
    assert!(input_error(&["game", "solve", &unknown])
        .contains("unknown.toml: game.colums: unknown field"));
    let missing = dir.path().join("missing.toml");
    assert!(
        input_error(&["game", "solve", missing.to_str().expect("utf-8")])
            .contains("missing.toml: cannot read the game file")
    );
    assert!(input_error(&["game", "solve", "--example", "chess"])
        .contains("unknown example game \"chess\""));
}

#[test]
fn best_response_is_exact_with_fractions() {
    let out = agora(&[
        "game",
        "best-response",
        "--example",
        "hawk-dove",
        "--opponent",
        "7/12,5/12",
    ]);
    assert_status(&out, 0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["best_responses"], serde_json::json!(["hawk", "dove"]));
    assert_eq!(json["best_payoff"].as_f64(), Some(6.25));
    assert_eq!(
        input_error(&[
            "game",
            "best-response",
            "--example",
            "hawk-dove",
            "--opponent",
            "0.5,0.6"
        ]),
        "error: opponent: shares must sum to 1 (within 1e-9), found 1.1"
    );
    assert_eq!(
        input_error(&["game", "best-response", "--example", "hawk-dove", "--opponent", "half,0.5"]),
        "error: opponent: share 1 is \"half\"; expected a number or a fraction p/q, e.g. 0.25 or 1/3"
    );
}

#[test]
fn evolve_writes_the_trajectory_and_the_final_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("hd");
    let out = agora(&[
        "game",
        "evolve",
        "--example",
        "hawk-dove",
        "--dynamics",
        "replicator",
        "--x0",
        "0.1,0.9",
        "--t",
        "20",
        "--samples",
        "40",
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_status(&out, 0);
    let csv = fs::read_to_string(out_dir.join("trajectory.csv")).expect("trajectory.csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("t,x_hawk,x_dove"));
    assert_eq!(lines.next(), Some("0,0.1,0.9"));
    assert_eq!(csv.lines().count(), 42);
    assert!(csv.lines().last().expect("rows").starts_with("20,"));
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out_dir.join("final.json")).expect("final.json"))
            .expect("JSON");
    let x = json["x"][0].as_f64().expect("x");
    assert!((x - 7.0 / 12.0).abs() < 1e-8, "{x}");
    assert_eq!(json["y"], json["x"]);

    // Two populations: y columns follow the x columns.
    let out_dir = dir.path().join("shapley");
    let out = agora(&[
        "game",
        "evolve",
        "--example",
        "shapley",
        "--dynamics",
        "fictitious-play",
        "--x0",
        "1/3,1/3,1/3",
        "--y0",
        "1,0,0",
        "--t",
        "100",
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_status(&out, 0);
    let csv = fs::read_to_string(out_dir.join("trajectory.csv")).expect("trajectory.csv");
    assert_eq!(csv.lines().next(), Some("t,x_1,x_2,x_3,y_1,y_2,y_3"));
    assert_eq!(csv.lines().count(), 102);
}

#[test]
fn evolve_rejects_bad_input_with_exit_status_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("never");
    let out = out_dir.to_str().expect("utf-8");
    let base = [
        "game",
        "evolve",
        "--example",
        "hawk-dove",
        "--dynamics",
        "replicator",
    ];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", out]);
        input_error(&args)
    };
    assert_eq!(
        run(&["--x0", "0.5,0.4", "--t", "1"]),
        "error: x0: shares must sum to 1 (within 1e-9), found 0.9"
    );
    assert_eq!(
        run(&["--x0", "-0.5,1.5", "--t", "1"]),
        "error: x0: share 1 is -0.5; shares must be nonnegative numbers"
    );
    assert_eq!(
        run(&["--x0", "1", "--t", "1"]),
        "error: x0: expected 2 shares (one per row strategy), found 1"
    );
    assert_eq!(
        run(&["--x0", "0.5,0.5", "--t", "0"]),
        "error: t: expected a time > 0, found 0"
    );
    assert_eq!(
        run(&["--x0", "0.5,0.5", "--t", "-2"]),
        "error: t: expected a time > 0, found -2"
    );
    let mutation = write(
        dir.path(),
        "mut.toml",
        "mutation = [[0.5, 0.6], [0.5, 0.5]]\n",
    );
    assert!(
        run(&["--x0", "0.5,0.5", "--t", "1", "--mutation", &mutation])
            .contains("mut.toml: mutation[0]: a row of a mutation matrix must sum to 1")
    );
    assert!(!out_dir.exists(), "nothing is written on bad input");
    let out = agora(&[
        "game",
        "evolve",
        "--example",
        "shapley",
        "--dynamics",
        "replicator",
        "--x0",
        "1,0,0",
        "--t",
        "1",
        "--out",
        out,
    ]);
    assert_status(&out, 2);
    assert!(text(&out.stderr).starts_with("error: y0: the game is not symmetric"));
}

#[test]
fn examples_are_listed_and_printed() {
    let out = agora(&["game", "examples"]);
    assert_status(&out, 0);
    let list = text(&out.stdout);
    for name in [
        "hawk-dove",
        "prisoners-dilemma",
        "matching-pennies",
        "rock-paper-scissors",
        "shapley",
        "coordination-3",
    ] {
        assert!(list.contains(name), "{name}");
        let out = agora(&["game", "examples", name]);
        assert_status(&out, 0);
        assert!(text(&out.stdout).contains("[game]"));
    }
}
