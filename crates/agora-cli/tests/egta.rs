//! `agora egta`: the files it writes for the double-auction example, and
//! one-line errors with exit status 2 for bad input.

use std::fs;
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

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../agora/egta/double-auction.toml"
);
const STRATEGIES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../agora/egta/double-auction-strategies.toml"
);

#[test]
fn egta_writes_the_payoff_table_and_the_equilibria() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("egta");
    let out = agora(&[
        "egta",
        SCENARIO,
        "--group",
        "buyers",
        "--strategies",
        STRATEGIES,
        "--players",
        "3",
        "--samples",
        "3",
        "--bootstrap",
        "5",
        "--steps",
        "10",
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("group buyers, 3 players, 3 strategies: 10 profiles x 3 samples = 30 runs"),
        "{stdout}"
    );
    let csv = fs::read_to_string(out_dir.join("egta.csv")).expect("egta.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("profile,count_shading,payoff_shading,se_shading,count_truthful,payoff_truthful,se_truthful,count_zic,payoff_zic,se_zic,samples")
    );
    assert_eq!(lines.count(), 10, "C(3 + 2, 2) profiles");
    let json: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(out_dir.join("equilibria.json")).expect("equilibria.json"),
    )
    .expect("JSON");
    assert_eq!(json["players"], 3);
    assert_eq!(json["profiles"], 10);
    let equilibria = json["equilibria"].as_array().expect("an array");
    for e in equilibria {
        let mix = e["mix"].as_object().expect("a mix by strategy");
        let total: f64 = mix.values().map(|v| v.as_f64().expect("a share")).sum();
        assert!((total - 1.0).abs() < 1e-9, "{e}");
        assert!(e["regret"].as_f64().expect("a regret") >= 0.0);
        assert_eq!(e["interval"]["zic"].as_array().map(Vec::len), Some(2));
    }
}

#[test]
fn bad_egta_input_is_a_one_line_error_with_exit_status_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("never");
    let out_dir = out_dir.to_str().expect("utf-8");
    let run = |group: &str, strategies: &str, players: &str| {
        let out = agora(&[
            "egta",
            SCENARIO,
            "--group",
            group,
            "--strategies",
            strategies,
            "--players",
            players,
            "--samples",
            "2",
            "--out",
            out_dir,
        ]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    let one_line = |err: String| {
        assert_eq!(err.lines().count(), 1, "{err}");
        err
    };
    assert!(one_line(run("cats", STRATEGIES, "2")).starts_with("error: group: the scenario"));
    assert!(one_line(run("buyers", "/nonexistent/s.toml", "2"))
        .contains("cannot read the strategies file"));
    // clap's own message, with its hint to --help
    assert!(run("buyers", STRATEGIES, "0").starts_with("error: invalid value '0' for '--players"));
    let bad = dir.path().join("bad.toml");
    fs::write(
        &bad,
        "[strategies.a]\nkind = \"zi_c\"\n[strategies.b]\nkind = \"nope\"\n",
    )
    .unwrap();
    let err = one_line(run("buyers", bad.to_str().expect("utf-8"), "2"));
    assert!(
        err.contains("bad.toml: strategies.a.asset: missing field"),
        "{err}"
    );
    assert!(!std::path::Path::new(out_dir).exists());
}
