//! The report on real results: every image the page names exists, the
//! plots match the inputs present, and bad inputs give errors naming the file.

use agora::engine::RunOutput;
use agora::{Scenario, Simulation};
use agora_report::{write_report, ReportError};
use std::fs;
use std::path::{Path, PathBuf};

fn scenario() -> Scenario {
    let mut s = agora::scenario::example("token-economy").unwrap();
    s.set_steps(30).unwrap();
    s
}

/// A directory holding one run of token-economy (30 steps).
fn single_run() -> (tempfile::TempDir, Scenario) {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    agora::output::write_run(dir.path(), &s, &out).unwrap();
    (dir, s)
}

/// A directory holding a Monte Carlo ensemble of runs 0, 1 and 2.
fn three_runs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario();
    let outs: Vec<RunOutput> = (0..3)
        .map(|r| Simulation::new(&s, r).unwrap().run().unwrap())
        .collect();
    agora::output::write_runs(dir.path(), &s, &outs).unwrap();
    dir
}

/// Every `src="…"` and `href="…"` of the page that is not an anchor.
fn linked(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').unwrap();
            if !rest.starts_with('#') {
                out.push(rest[..end].to_string());
            }
            rest = &rest[end..];
        }
    }
    out
}

/// Checks that every file the page names exists and is a real image; returns them.
fn check_images(dir: &Path, html: &str) -> Vec<String> {
    let links = linked(html);
    assert!(!links.is_empty(), "the report names no image");
    for link in &links {
        assert!(
            !link.contains("://") && !link.starts_with('/'),
            "{link} is not a relative path"
        );
        let path = dir.join(link);
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!bytes.is_empty(), "{link} is empty");
        if link.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{link} is not a PNG");
        } else if link.ends_with(".svg") {
            let text = String::from_utf8(bytes).unwrap();
            let text = text.trim_start();
            assert!(
                text.starts_with("<svg") || text.starts_with("<?xml"),
                "{link}"
            );
            assert!(
                text.trim_end().ends_with("</svg>"),
                "{link} is not a whole SVG"
            );
        } else {
            panic!("{link}: not an image");
        }
    }
    links
}

fn report(dir: &Path) -> (PathBuf, String) {
    let path = write_report(dir).unwrap();
    let html = fs::read_to_string(&path).unwrap();
    (path, html)
}

#[test]
fn single_run_report_names_existing_images_and_the_run() {
    let (dir, s) = single_run();
    let (path, html) = report(dir.path());
    assert_eq!(path, dir.path().join("report.html"));
    let links = check_images(dir.path(), &html);
    for asset in &s.assets {
        assert!(html.contains(&asset.name));
        assert!(links.contains(&format!("plots/asset_{}.svg", asset.name)));
        assert!(links.contains(&format!("plots/asset_{}.png", asset.name)));
    }
    for group in &s.groups {
        assert!(
            html.contains(&group.name),
            "{} not in the report",
            group.name
        );
    }
    assert!(links.contains(&"plots/wealth.svg".to_string()));
    assert!(
        html.contains(&s.hash()),
        "the scenario hash is not in the report"
    );
    assert!(html.contains("<h3>Ledger</h3>"));
    assert!(
        html.contains("[simulation]"),
        "the scenario TOML is not in the report"
    );
    // Self-contained: no scripts, stylesheets or fonts fetched from anywhere.
    assert!(!html.contains("<script") && !html.contains("<link"));
    // One run: no fan chart, no distribution table.
    assert!(!links.iter().any(|l| l.contains("fan_")));
    assert!(!dir.path().join("plots/fan_AGT.png").exists());
    assert!(!html.contains("Distribution across runs"));
    // Nothing left under a temporary name.
    for dir in [dir.path().to_path_buf(), dir.path().join("plots")] {
        for entry in fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(!name.contains(".tmp-"), "{name} left behind");
        }
    }
}

#[test]
fn ensemble_report_has_a_fan_chart_per_asset_and_the_distribution() {
    let dir = three_runs();
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(links.contains(&"plots/fan_AGT.svg".to_string()));
    assert!(links.contains(&"plots/fan_AGT.png".to_string()));
    assert!(html.contains("Distribution across runs"));
    assert!(html.contains("price across 3 runs"));
    assert!(html.contains("<td>p50</td>") || html.contains("<th>p50</th>"));
}

#[test]
fn writing_the_report_twice_gives_the_same_page() {
    let (dir, _) = single_run();
    let (_, first) = report(dir.path());
    let (_, second) = report(dir.path());
    assert_eq!(first, second);
}

#[test]
fn missing_summary_is_an_error_naming_it() {
    let (dir, _) = single_run();
    fs::remove_file(dir.path().join("summary.json")).unwrap();
    let err = write_report(dir.path()).unwrap_err();
    assert!(matches!(err, ReportError::Missing { .. }), "{err:?}");
    assert!(err.is_input_error());
    assert!(err.to_string().contains("summary.json"), "{err}");
    assert!(!dir.path().join("report.html").exists());
}

#[test]
fn corrupt_inputs_are_errors_naming_the_file_and_line() {
    let (dir, _) = single_run();
    let assets = dir.path().join("assets.csv");
    let mut text = fs::read_to_string(&assets).unwrap();
    text = text.replacen("\n0,1,AGT,", "\n0,1,AGT,not-a-price", 1);
    fs::write(&assets, text).unwrap();
    let err = write_report(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("assets.csv") && err.contains("line 3"),
        "{err}"
    );
    assert!(err.contains("not-a-price"), "{err}");

    let (dir, _) = single_run();
    fs::write(dir.path().join("summary.json"), "{ truncated").unwrap();
    let err = write_report(dir.path()).unwrap_err();
    assert!(err.to_string().contains("summary.json"), "{err}");
    assert!(err.is_input_error());

    let (dir, _) = single_run();
    fs::write(dir.path().join("agents.csv"), "run,step,group\n0,0,a\n").unwrap();
    let err = write_report(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("agents.csv") && err.contains("`wealth`"),
        "{err}"
    );

    let err = write_report(&dir.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nowhere"), "{err}");
}

#[test]
fn sweep_of_one_parameter_is_drawn_as_lines() {
    let (dir, _) = single_run();
    fs::write(
        dir.path().join("sweep.csv"),
        "assets.AGT.pricing.m,assets.AGT.volatility,assets.AGT.final_price,ledger.conservation_error\n\
         0.001,0.5,1.2,0\n0.002,0.7,1.5,0\n0.004,0.9,2.5,0\n",
    )
    .unwrap();
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(links.contains(&"plots/sweep_assets_AGT_volatility.svg".to_string()));
    assert!(links.contains(&"plots/sweep_assets_AGT_final_price.png".to_string()));
    // A metric that does not vary is in the table, not plotted.
    assert!(!links.iter().any(|l| l.contains("conservation_error")));
    assert!(html.contains("<h2 id=\"sweep\">Sweep</h2>"));
    assert!(html.contains("0.004"));
}

#[test]
fn sweep_of_two_parameters_is_drawn_as_heat_maps() {
    let (dir, _) = single_run();
    let mut csv =
        String::from("assets.AGT.pricing.m,agents.noise.policy.p_buy,assets.AGT.volatility\n");
    for (i, m) in [0.001, 0.002, 0.003].iter().enumerate() {
        for (j, p) in [0.1, 0.3].iter().enumerate() {
            csv.push_str(&format!("{m},{p},{}\n", i * 2 + j));
        }
    }
    fs::write(dir.path().join("sweep.csv"), csv).unwrap();
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(links.contains(&"plots/sweep_assets_AGT_volatility.png".to_string()));
    assert!(html
        .contains("assets.AGT.volatility over assets.AGT.pricing.m × agents.noise.policy.p_buy"));
}

#[test]
fn optimisation_convergence_is_drawn_when_optimize_csv_exists() {
    let (dir, _) = single_run();
    fs::write(
        dir.path().join("optimize.csv"),
        "evaluation,assets.AGT.pricing.m,objective\n1,0.001,0.9\n2,0.002,0.5\n3,0.003,0.7\n4,0.0025,0.4\n",
    )
    .unwrap();
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(links.contains(&"plots/convergence.svg".to_string()));
    assert!(links.contains(&"plots/convergence.png".to_string()));
    assert!(
        html.contains("<tr class=\"best\"><td>4</td>"),
        "the best row is not marked"
    );
    // Without the files, no such plots.
    let (dir, _) = single_run();
    let (_, html) = report(dir.path());
    assert!(!html.contains("convergence") && !html.contains("sweep_"));
}

#[test]
fn a_directory_with_only_a_sweep_gets_a_report() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("sweep.csv"),
        "assets.T.pricing.m,assets.T.volatility\n1,2\n2,3\n",
    )
    .unwrap();
    let (_, html) = report(dir.path());
    let mut links = check_images(dir.path(), &html);
    links.sort();
    links.dedup();
    assert_eq!(
        links,
        [
            "plots/sweep_assets_T_volatility.png",
            "plots/sweep_assets_T_volatility.svg"
        ]
    );
}
