//! The report on real results: every image the page names exists, the
//! plots match the inputs present, and bad inputs give errors naming the file.

use agora::engine::RunOutput;
use agora::{Scenario, Simulation};
use agora_report::{write_report, write_report_with, ReportError, ReportOptions};
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

/// Checks that the page is whole on its own (it names no file, and embeds
/// every plot of `plots/` as the same SVG), and that every plot file is a
/// real image; returns the plot files as `plots/NAME.EXT`.
fn check_images(dir: &Path, html: &str) -> Vec<String> {
    assert_eq!(linked(html), Vec::<String>::new(), "the page names files");
    let mut files: Vec<String> = fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no plot written");
    let mut svgs = 0;
    for name in &files {
        let path = dir.join("plots").join(name);
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!bytes.is_empty(), "{name} is empty");
        if name.ends_with(".png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{name} is not a PNG");
            let svg = name.replace(".png", ".svg");
            assert!(files.contains(&svg), "{name} has no SVG twin");
        } else if name.ends_with(".svg") {
            let text = String::from_utf8(bytes).unwrap();
            let text = text.trim();
            assert!(text.starts_with("<svg"), "{name}");
            assert!(text.ends_with("</svg>"), "{name} is not a whole SVG");
            // The page holds the drawing itself: everything after the
            // root element's attributes, to the end.
            let body = &text[text.find('>').unwrap() + 1..];
            assert!(html.contains(body), "{name} is not embedded in the page");
            svgs += 1;
        } else {
            panic!("{name}: not an image");
        }
    }
    assert_eq!(
        html.matches("<svg role=\"img\"").count(),
        svgs,
        "one inline SVG per plot"
    );
    files.into_iter().map(|f| format!("plots/{f}")).collect()
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
    for asset in s.assets() {
        assert!(html.contains(&asset.name));
        assert!(links.contains(&format!("plots/asset_{}.svg", asset.name)));
        assert!(links.contains(&format!("plots/asset_{}.png", asset.name)));
    }
    for group in s.groups() {
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

/// The page and every plot file of a report of `dir`, by name.
fn report_files(dir: &Path) -> (String, Vec<(String, Vec<u8>)>) {
    let (_, html) = report(dir);
    let mut plots: Vec<(String, Vec<u8>)> = fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    plots.sort();
    (html, plots)
}

/// Regression test: `agora run --format parquet` wrote results that the
/// report could not read (it looked for the CSV files only).
#[test]
fn parquet_only_results_give_the_report_of_the_same_results_in_csv() {
    let s = scenario();
    let outs: Vec<RunOutput> = (0..3)
        .map(|r| Simulation::new(&s, r).unwrap().run().unwrap())
        .collect();
    let csv = tempfile::tempdir().unwrap();
    agora::output::write_runs(csv.path(), &s, &outs).unwrap();
    let parquet = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        (
            "summary.json",
            agora::output::summary_json(&s, &outs).unwrap(),
        ),
        ("scenario.toml", agora::output::scenario_toml(&s).unwrap()),
        (
            "assets.parquet",
            agora_parquet::assets_parquet(&s, &outs).unwrap(),
        ),
        (
            "agents.parquet",
            agora_parquet::agents_parquet(&s, &outs).unwrap(),
        ),
    ] {
        fs::write(parquet.path().join(name), bytes).unwrap();
    }
    let (csv_page, csv_plots) = report_files(csv.path());
    let (parquet_page, parquet_plots) = report_files(parquet.path());
    assert!(csv_plots.len() >= 6, "{} plots", csv_plots.len());
    assert_eq!(
        csv_plots.iter().map(|p| &p.0).collect::<Vec<_>>(),
        parquet_plots.iter().map(|p| &p.0).collect::<Vec<_>>()
    );
    for ((name, a), (_, b)) in csv_plots.iter().zip(&parquet_plots) {
        assert!(
            a == b,
            "{name} differs between the CSV and the Parquet results"
        );
    }
    assert_eq!(csv_page, parquet_page);

    // Neither table: an error naming the CSV file and its Parquet twin.
    fs::remove_file(parquet.path().join("agents.parquet")).unwrap();
    let err = write_report(parquet.path()).unwrap_err();
    assert!(err.is_input_error());
    let text = err.to_string();
    assert!(
        text.contains("agents.csv") && text.contains("agents.parquet"),
        "{text}"
    );
}

#[test]
fn a_sweep_in_parquet_gives_the_report_of_the_same_sweep_in_csv() {
    // Two of the metrics a sweep's report draws by default.
    let columns: Vec<String> = ["assets.T.pricing.m", "assets.T.volatility", "groups.g.pnl"]
        .iter()
        .map(|c| c.to_string())
        .collect();
    let rows = vec![
        vec![0.001, 0.25, 3.0],
        vec![0.002, f64::NAN, 4.0],
        vec![0.004, 1.5e-7, 8.0],
    ];
    let csv = tempfile::tempdir().unwrap();
    let mut text = columns.join(",");
    text.push('\n');
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .map(|x| {
                if x.is_finite() {
                    format!("{x:?}")
                } else {
                    String::new()
                }
            })
            .collect();
        text.push_str(&cells.join(","));
        text.push('\n');
    }
    fs::write(csv.path().join("sweep.csv"), text).unwrap();
    let parquet = tempfile::tempdir().unwrap();
    fs::write(
        parquet.path().join("sweep.parquet"),
        agora_parquet::table_parquet(&columns, &rows).unwrap(),
    )
    .unwrap();
    let (csv_page, csv_plots) = report_files(csv.path());
    let (parquet_page, parquet_plots) = report_files(parquet.path());
    assert_eq!(
        csv_plots.len(),
        4,
        "two metrics vary: a PNG and an SVG each"
    );
    assert!(csv_plots == parquet_plots, "the plots differ");
    // The title names the folder; the rest is the same page.
    let strip = |page: &str, dir: &Path| page.replace(&dir.display().to_string(), "DIR");
    assert_eq!(
        strip(&csv_page, csv.path()),
        strip(&parquet_page, parquet.path())
    );
}

// ---------------------------------------------------------------------
// Sweep plots: the metrics drawn, spreads, categories, labelled heat maps.

/// A sweep over `param` (values `xs`) with the given metrics (name, one
/// value per row), each with the spread columns `agora sweep` writes after
/// all the means: std 0.5, p5 = value − 1, p50 = value, p95 = value + 1.
fn sweep_csv(param: &str, xs: &[&str], metrics: &[(&str, Vec<f64>)]) -> String {
    let mut header = vec![param.to_string()];
    header.extend(metrics.iter().map(|m| m.0.to_string()));
    for (m, _) in metrics {
        header.extend(["std", "p5", "p50", "p95"].map(|s| format!("{m}.{s}")));
    }
    let mut out = header.join(",") + "\n";
    for (r, x) in xs.iter().enumerate() {
        let mut row = vec![x.to_string()];
        row.extend(metrics.iter().map(|m| m.1[r].to_string()));
        for (_, v) in metrics {
            let v = v[r];
            row.extend([0.5, v - 1.0, v, v + 1.0].map(|x| x.to_string()));
        }
        out.push_str(&(row.join(",") + "\n"));
    }
    out
}

/// The metrics plotted: the `plots/sweep_*.svg` files of `dir` whose
/// drawing the page embeds (those of an earlier report of the same folder
/// stay beside them, unembedded).
fn sweep_plots(dir: &Path, html: &str) -> Vec<String> {
    let mut out: Vec<String> = fs::read_dir(dir.join("plots"))
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let metric = name
                .strip_prefix("sweep_")?
                .strip_suffix(".svg")?
                .to_string();
            let text = fs::read_to_string(e.path()).unwrap();
            let body = &text[text.find('>').unwrap() + 1..];
            html.contains(body.trim()).then_some(metric)
        })
        .collect();
    out.sort();
    out
}

fn with_metrics(dir: &Path, metrics: &[&str]) -> Result<String, ReportError> {
    let options = ReportOptions::default()
        .with_sweep_metrics(metrics.iter().map(|m| m.to_string()).collect());
    let path = write_report_with(dir, &options)?;
    Ok(fs::read_to_string(path).unwrap())
}

#[test]
fn a_sweep_draws_a_short_list_by_default_and_the_metrics_chosen_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let rising = |k: f64| vec![k, 2.0 * k, 3.0 * k];
    let csv = sweep_csv(
        "assets.T.pricing.m",
        &["0.001", "0.002", "0.003"],
        &[
            ("assets.T.final_price", rising(1.0)),
            ("assets.T.volume", rising(2.0)),
            ("assets.T.mean_price", rising(3.0)),
            ("groups.g.pnl", rising(4.0)),
            ("groups.g.gini", rising(0.1)),
            ("ledger.mints", vec![7.0, 7.0, 7.0]),
        ],
    );
    fs::write(dir.path().join("sweep.csv"), csv).unwrap();
    // The default list: final price and P&L, drawn as lines (the spread
    // columns are neither metrics nor parameters).
    let (_, html) = report(dir.path());
    assert_eq!(
        sweep_plots(dir.path(), &html),
        ["assets_T_final_price", "groups_g_pnl"]
    );
    let svg = fs::read_to_string(dir.path().join("plots/sweep_assets_T_final_price.svg")).unwrap();
    assert!(svg.contains("5th–95th percentile across runs"), "no band");
    // The page's table shows the means; the spreads stay in sweep.csv.
    assert!(html.contains("assets.T.volume") && !html.contains("assets.T.volume.p95"));
    // Chosen: an exact name (drawn even where flat) and a glob.
    let html = with_metrics(dir.path(), &["ledger.mints", "groups.*"]).unwrap();
    assert_eq!(
        sweep_plots(dir.path(), &html),
        ["groups_g_gini", "groups_g_pnl", "ledger_mints"]
    );
    let html = with_metrics(dir.path(), &["*price"]).unwrap();
    assert_eq!(
        sweep_plots(dir.path(), &html),
        ["assets_T_final_price", "assets_T_mean_price"]
    );
    // A name that matches nothing: an input error naming it and the metrics.
    let e = with_metrics(dir.path(), &["assets.T.volatilty"]).unwrap_err();
    assert!(e.is_input_error());
    let e = e.to_string();
    assert!(
        e.contains("assets.T.volatilty") && e.contains("assets.T.volume"),
        "{e}"
    );
}

#[test]
fn heat_map_cells_are_labelled_with_their_values() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("sweep.csv"),
        "assets.T.pricing.m,agents.g.count,assets.T.volatility\n\
         10,100,11.25\n10,200,12.75\n20,100,13.25\n20,200,14.75\n",
    )
    .unwrap();
    report(dir.path());
    let svg = fs::read_to_string(dir.path().join("plots/sweep_assets_T_volatility.svg")).unwrap();
    // The texts of the SVG, one per line between the tags; the colour
    // bar's ticks fall on whole and half numbers: these are the cells.
    let texts: Vec<&str> = svg.lines().map(str::trim).collect();
    for v in ["11.25", "12.75", "13.25", "14.75"] {
        assert!(texts.contains(&v), "no label {v}");
    }
}

#[test]
fn a_categorical_parameter_is_drawn_by_category() {
    let dir = tempfile::tempdir().unwrap();
    let csv = sweep_csv(
        "assets.C.allocation",
        &["proportional", "max_min", "fcfs"],
        &[("assets.C.jain_index", vec![0.9, 1.0, 0.7])],
    );
    fs::write(dir.path().join("sweep.csv"), csv).unwrap();
    let (_, html) = report(dir.path());
    assert_eq!(sweep_plots(dir.path(), &html), ["assets_C_jain_index"]);
    let svg = fs::read_to_string(dir.path().join("plots/sweep_assets_C_jain_index.svg")).unwrap();
    assert!(
        svg.contains("assets.C.allocation (0 = proportional, 1 = max_min, 2 = fcfs)"),
        "the categories are not named"
    );
}

// ---------------------------------------------------------------------
// Hand-written results: the columns and values of newer market kinds.

/// The header of `assets.csv` with the order-book and resource columns.
const ASSETS_HEADER: &str = "run,step,asset,price,supply,reserve,volume,trades,price_source,\
                             best_bid,best_ask,capacity,requested,allocated";

/// Writes a results directory from its four files' text.
fn fixture(assets: &str, agents: &str, summary: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("assets.csv"), assets).unwrap();
    fs::write(dir.path().join("agents.csv"), agents).unwrap();
    fs::write(dir.path().join("summary.json"), summary).unwrap();
    fs::write(
        dir.path().join("scenario.toml"),
        "name = \"fixture\"\n\n[simulation]\nsteps = 5\n",
    )
    .unwrap();
    dir
}

const AGENTS: &str = "run,step,group,agents,balance,holdings,wealth\n\
                      0,0,traders,2,100.0,0.0,100.0\n\
                      0,1,traders,2,90.0,1.0,101.0\n\
                      0,2,traders,2,80.0,2.0,103.0\n";

const SUMMARY: &str = r#"{"version": "0.1.0", "scenario": "fixture", "seed": 1, "steps": 5, "runs": 1, "agents": 2,
  "assets": {}, "groups": {"traders": {"agents": 2, "mean_wealth": 51.5}},
  "ledger": {"conservation_error": 0.0}}"#;

/// The `<polyline>` elements of `svg` drawn in colour `stroke` (e.g.
/// `#0072B2`), each as its list of points, leaving out the legend's
/// swatches (two points at the same height).
fn polylines(svg: &str, stroke: &str) -> Vec<Vec<String>> {
    svg.split("<polyline")
        .skip(1)
        .filter(|p| p.contains(&format!("stroke=\"{stroke}\"")))
        .map(|p| {
            let points = p.split("points=\"").nth(1).unwrap();
            let points = &points[..points.find('"').unwrap()];
            points
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|p| {
            let y = |q: &String| q.split(',').nth(1).unwrap().to_string();
            !(p.len() == 2 && y(&p[0]) == y(&p[1]))
        })
        .collect()
}

/// Plotters' colours of the price, supply (and best ask) and best bid lines.
const BLUE: &str = "#0072B2";
const GREEN: &str = "#009E73";
const ORANGE: &str = "#D55E00";

fn svg(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join("plots").join(format!("{name}.svg"))).unwrap()
}

#[test]
fn empty_prices_leave_gaps_not_zeros() {
    // GOOD has no price at steps 2 and 3 (no equilibrium); NONE at no step.
    let assets = format!(
        "{ASSETS_HEADER}\n\
         0,0,GOOD,10.0,5.0,0.0,0.0,0,initial,,,,,\n\
         0,0,NONE,,5.0,0.0,0.0,0,no_equilibrium,,,,,\n\
         0,1,GOOD,11.0,5.0,0.0,1.0,1,equilibrium,,,,,\n\
         0,1,NONE,,5.0,0.0,0.0,0,no_equilibrium,,,,,\n\
         0,2,GOOD,,5.0,0.0,0.0,0,no_equilibrium,,,,,\n\
         0,2,NONE,,5.0,0.0,0.0,0,no_equilibrium,,,,,\n\
         0,3,GOOD,,5.0,0.0,0.0,0,no_equilibrium,,,,,\n\
         0,3,NONE,,5.0,0.0,0.0,0,no_equilibrium,,,,,\n\
         0,4,GOOD,13.0,5.0,0.0,2.0,1,equilibrium,,,,,\n\
         0,4,NONE,,5.0,0.0,0.0,0,no_equilibrium,,,,,\n\
         0,5,GOOD,14.0,5.0,0.0,2.0,1,equilibrium,,,,,\n\
         0,5,NONE,,5.0,0.0,0.0,0,no_equilibrium,,,,,\n"
    );
    let dir = fixture(&assets, AGENTS, SUMMARY);
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(links.contains(&"plots/asset_GOOD.svg".to_string()));
    assert!(links.contains(&"plots/asset_NONE.png".to_string()));
    assert!(html.contains("no price at 2 of 6 steps"), "{html}");
    assert!(html.contains("no price at 6 of 6 steps"), "{html}");

    // The price line is two pieces (steps 0–1 and 4–5), nothing at 2 and 3.
    let good = svg(dir.path(), "asset_GOOD");
    let pieces = polylines(&good, BLUE);
    assert_eq!(pieces.len(), 2, "{pieces:?}");
    assert!(pieces.iter().all(|p| p.len() == 2), "{pieces:?}");
    // No price at all: no price line, and the supply line is still drawn.
    let none = svg(dir.path(), "asset_NONE");
    assert!(polylines(&none, BLUE).is_empty());
    assert_eq!(polylines(&none, ORANGE).len(), 1);
}

#[test]
fn empty_prices_across_runs_leave_a_gap_in_the_fan_chart() {
    let mut assets = String::from(ASSETS_HEADER);
    for run in 0..3 {
        for step in 0..6 {
            // Step 3 has no price in any run; step 1 in run 0 only.
            let price = if step == 3 || (step == 1 && run == 0) {
                String::new()
            } else {
                format!("{}", 10.0 + f64::from(step) + f64::from(run))
            };
            assets.push_str(&format!(
                "\n{run},{step},GOOD,{price},5.0,0.0,0.0,0,equilibrium,,,,,"
            ));
        }
    }
    assets.push('\n');
    let summary = SUMMARY.replace("\"runs\": 1", "\"runs\": 3");
    let dir = fixture(&assets, AGENTS, &summary);
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(links.contains(&"plots/fan_GOOD.svg".to_string()));
    let fan = svg(dir.path(), "fan_GOOD");
    // The median and the band break at step 3.
    let median = polylines(&fan, BLUE);
    assert_eq!(median.len(), 2, "{median:?}");
    assert_eq!(median[0].len() + median[1].len(), 5, "{median:?}");
    assert_eq!(fan.matches("<polygon").count(), 2, "the band is not split");
}

#[test]
fn an_order_book_asset_shows_its_best_bid_and_ask() {
    // BOOK's sides are empty at step 0 (both) and step 2 (the ask); PLAIN
    // is not an order book.
    let assets = format!(
        "{ASSETS_HEADER}\n\
         0,0,BOOK,100.0,50.0,0.0,0.0,0,initial,,,,,\n\
         0,0,PLAIN,1.0,10.0,5.0,0.0,0,curve,,,,,\n\
         0,1,BOOK,101.0,50.0,0.0,3.0,2,trade,99.0,102.0,,,\n\
         0,1,PLAIN,1.1,11.0,5.5,1.0,1,curve,,,,,\n\
         0,2,BOOK,,50.0,0.0,0.0,0,last,98.0,,,,\n\
         0,2,PLAIN,1.2,12.0,6.0,1.0,1,curve,,,,,\n\
         0,3,BOOK,100.5,50.0,0.0,1.0,1,mid,99.5,101.5,,,\n\
         0,3,PLAIN,1.3,13.0,6.5,1.0,1,curve,,,,,\n\
         0,4,BOOK,100.0,50.0,0.0,1.0,1,trade,99.0,101.0,,,\n\
         0,4,PLAIN,1.4,14.0,7.0,1.0,1,curve,,,,,\n"
    );
    let dir = fixture(&assets, AGENTS, SUMMARY);
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(links.contains(&"plots/asset_BOOK.svg".to_string()));
    assert!(
        html.contains(
            "BOOK: price, best bid and ask (no price at 1 of 5 steps); supply over steps"
        ),
        "{html}"
    );
    let book = svg(dir.path(), "asset_BOOK");
    assert!(book.contains("best bid") && book.contains("best ask"));
    // Bids at steps 1–4: one line; asks at 1 and 3–4: a dot and a line.
    let bids = polylines(&book, GREEN);
    assert_eq!(bids.len(), 1, "{bids:?}");
    assert_eq!(bids[0].len(), 4);
    // The price, with a gap at step 2: two pieces.
    let prices = polylines(&book, BLUE);
    assert_eq!(prices.len(), 2, "{prices:?}");
    assert!(prices.iter().all(|p| p.len() == 2), "{prices:?}");
    // The asks: a line over steps 3–4 (the lone ask at step 1 is a dot);
    // the other orange line is the supply's, flat in its own panel.
    let asks: Vec<_> = polylines(&book, ORANGE)
        .into_iter()
        .filter(|p| p.len() != 5)
        .collect();
    assert_eq!(asks.len(), 1, "{asks:?}");
    assert_eq!(asks[0].len(), 2);
    assert!(
        book.contains("<circle") && book.contains(&format!("fill=\"{ORANGE}\"")),
        "the lone ask is not drawn"
    );
    let plain = svg(dir.path(), "asset_PLAIN");
    assert!(!plain.contains("best bid") && !plain.contains("best ask"));
    assert!(plain.contains("price (money per token)"), "{plain}");
    assert!(html.contains("PLAIN: price and supply over steps"));
}

#[test]
fn a_resource_asset_gets_a_capacity_panel_beside_its_price() {
    let assets = format!(
        "{ASSETS_HEADER}\n\
         0,0,COMPUTE,1.0,0.0,0.0,0.0,0,initial,,,500.0,0.0,0.0\n\
         0,1,COMPUTE,1.2,0.0,0.0,500.0,9,posted,,,500.0,650.0,500.0\n\
         0,2,COMPUTE,,0.0,0.0,250.0,9,posted,,,250.0,600.0,250.0\n\
         0,3,COMPUTE,1.1,0.0,0.0,480.0,9,posted,,,500.0,480.0,480.0\n"
    );
    let dir = fixture(&assets, AGENTS, SUMMARY);
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(links.contains(&"plots/asset_COMPUTE.svg".to_string()));
    assert!(
        html.contains("COMPUTE: price (no price at 1 of 4 steps) and capacity, requested and allocated units over steps"),
        "{html}"
    );
    let compute = svg(dir.path(), "asset_COMPUTE");
    assert!(compute.contains("COMPUTE: price"));
    assert!(compute.contains("COMPUTE: capacity, requested and allocated"));
    for label in ["capacity", "requested", "allocated"] {
        assert!(
            compute.contains(&format!(">\n{label}\n<")),
            "no {label} legend"
        );
    }
    // A resource's supply (zero throughout) is not drawn.
    assert!(!compute.contains("COMPUTE: supply"));
    // Regression test: a resource's price axis said "money per token".
    assert!(compute.contains("price (money per unit)"), "{compute}");
    assert!(!compute.contains("per token"));
    // Allocated units: one line through the 4 steps (plus the legend's).
    let allocated = polylines(&compute, GREEN);
    assert!(allocated.iter().any(|p| p.len() == 4), "{allocated:?}");
}

#[test]
fn string_and_null_metrics_show_as_text_and_dashes() {
    let assets = format!(
        "{ASSETS_HEADER}\n\
         0,0,GOOD,100.0,50.0,0.0,0.0,0,initial,,,,,\n\
         0,1,GOOD,101.0,50.0,0.0,3.0,2,trade,99.0,102.0,,,\n\
         1,0,GOOD,100.0,50.0,0.0,0.0,0,initial,,,,,\n\
         1,1,GOOD,,50.0,0.0,0.0,0,no_equilibrium,,,,,\n"
    );
    let agents = "run,step,group,agents,balance,holdings,wealth\n\
                  0,0,consumers,2,100.0,0.0,100.0\n0,0,producers,1,50.0,0.0,50.0\n\
                  1,0,consumers,2,100.0,0.0,100.0\n1,0,producers,1,50.0,0.0,50.0\n";
    let summary = r#"{"version": "0.1.0", "scenario": "fixture", "seed": 1, "steps": 1, "runs": 2, "agents": 3,
      "assets": {"GOOD": {"final_price": 101.0, "mechanism": "order_book", "allocation": "proportional",
                          "allocative_efficiency": null, "mean_spread": 3.0, "no_equilibrium_steps": 1}},
      "groups": {"consumers": {"agents": 2, "mean_wealth": 50.0, "objective": "final_wealth",
                               "unmet_need": 1.5, "needs_met_share": 0.75},
                 "producers": {"agents": 1, "mean_wealth": 50.0}},
      "ledger": {"conservation_error": 0.0, "note": null},
      "market": {"kind": "call_auction", "clearing": null},
      "distribution": {"assets": {"GOOD": {
          "final_price": {"count": 1, "mean": 101.0, "std": 0.0, "p5": 101.0, "p50": 101.0, "p95": 101.0},
          "mean_depth": {"count": 0, "mean": null, "std": null, "p5": null, "p50": null, "p95": null}}}}}"#;
    let dir = fixture(&assets, agents, summary);
    let (_, html) = report(dir.path());
    check_images(dir.path(), &html);
    // Strings as text (left-aligned), nulls as a dash, never "null".
    assert!(html.contains("<td class=\"k\">order_book</td>"), "{html}");
    assert!(html.contains("<td class=\"k\">proportional</td>"));
    assert!(html.contains("<td class=\"k\">final_wealth</td>"));
    assert!(html.contains("<td class=\"k\">call_auction</td>"));
    assert!(html.contains(">–</td>"));
    assert!(!html.contains(">null<"), "a null shown as text");
    // The group without needs has empty cells there, not dashes.
    assert!(html.contains("<th>unmet_need</th><th>needs_met_share</th>"));
    assert!(
        html.contains("<td>50</td><td></td><td></td><td></td></tr>"),
        "{html}"
    );
    // The distribution row of a metric with no value in any run.
    let row = html
        .split("<tr>")
        .find(|r| r.contains("assets.GOOD.mean_depth"))
        .expect("no distribution row for mean_depth");
    assert_eq!(row.matches(">–</td>").count(), 5, "{row}");
}

#[test]
fn assets_csv_without_the_new_columns_still_reads() {
    let assets = "run,step,asset,price,supply\n0,0,AGT,1.0,10.0\n0,1,AGT,,11.0\n0,2,AGT,1.2,12.0\n";
    let dir = fixture(assets, AGENTS, SUMMARY);
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(links.contains(&"plots/asset_AGT.svg".to_string()));
    assert!(html.contains("AGT: price (no price at 1 of 3 steps) and supply over steps"));
}

#[test]
fn a_quote_that_is_not_a_number_is_an_error_naming_the_line() {
    let assets = format!(
        "{ASSETS_HEADER}\n\
         0,0,BOOK,100.0,50.0,0.0,0.0,0,initial,,,,,\n\
         0,1,BOOK,101.0,50.0,0.0,3.0,2,trade,ninety,102.0,,,\n"
    );
    let dir = fixture(&assets, AGENTS, SUMMARY);
    let err = write_report(dir.path()).unwrap_err();
    assert!(err.is_input_error());
    let err = err.to_string();
    assert!(
        err.contains("assets.csv") && err.contains("line 3") && err.contains("`best_bid`"),
        "{err}"
    );
}

#[test]
fn a_run_without_agents_has_no_wealth_plot() {
    let assets = format!(
        "{ASSETS_HEADER}\n\
         0,0,GOOD,,0.0,0.0,0.0,0,no_equilibrium,,,,,\n\
         0,1,GOOD,,0.0,0.0,0.0,0,no_equilibrium,,,,,\n"
    );
    let summary = SUMMARY.replace(
        r#""groups": {"traders": {"agents": 2, "mean_wealth": 51.5}}"#,
        r#""groups": {}"#,
    );
    let dir = fixture(
        &assets,
        "run,step,group,agents,balance,holdings,wealth\n",
        &summary,
    );
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(!links.iter().any(|l| l.contains("wealth")), "{links:?}");
    assert!(html.contains("No groups in this run."));
}

/// Runs `write_report(dir)` on another thread and fails the test, rather
/// than hanging it, if no answer comes within a generous bound (drawing
/// these fixtures takes well under a second; the bound only turns an
/// endless loop into a failure, it measures nothing).
fn report_or_fail_if_it_hangs(dir: &Path) -> Result<PathBuf, ReportError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(write_report(&dir));
    });
    rx.recv_timeout(std::time::Duration::from_secs(300))
        .expect("the report did not finish: drawing the axes loops")
}

/// Regression test: a price near the top of the f64 range (~1.76e308) made
/// the plotting library loop for ever computing the axis ticks.
#[test]
fn prices_near_the_top_of_the_f64_range_are_left_out_with_a_note_not_drawn_for_ever() {
    for (price, other, left_out) in [
        ("1.76e308", "1.76e308", true),
        ("1.7976931348623157e308", "1e308", true),
        ("-1e308", "1e308", true),
        // At the bound: drawn, the widest axis there is.
        ("-1e307", "1e307", false),
        ("1e307", "1e307", false),
    ] {
        let assets = format!(
            "{ASSETS_HEADER}\n\
             0,0,BIG,{price},5.0,0.0,0.0,0,initial,,,,,\n\
             0,1,BIG,{other},5.0,0.0,0.0,0,trade,,,,,\n\
             0,2,BIG,2.0,5.0,0.0,0.0,0,trade,,,,,\n"
        );
        let dir = fixture(&assets, AGENTS, SUMMARY);
        let path = report_or_fail_if_it_hangs(dir.path()).unwrap();
        assert!(path.exists());
        let svg = svg(dir.path(), "asset_BIG");
        assert_eq!(
            svg.contains("values beyond ±1e307 not drawn"),
            left_out,
            "{price}, {other}: the panel says what it leaves out"
        );
    }
}

/// The last price of asset 0, as a user metric (`[[metrics]]`).
struct LastPrice(f64);

impl agora::metrics::Metric for LastPrice {
    fn on_step(&mut self, sim: &Simulation) {
        self.0 = sim.price(0);
    }
    fn value(&self) -> f64 {
        self.0
    }
}

#[test]
fn a_scenario_metric_is_in_the_summary_table_and_a_sweep_plots_it() {
    let mut registry = agora::scenario::PolicyRegistry::new();
    registry
        .register_metric(
            "last_price",
            |_: &mut agora::scenario::Fields<'_>, _: &[String]| {
                Ok(Box::new(LastPrice(f64::NAN)) as Box<dyn agora::metrics::Metric>)
            },
        )
        .unwrap();
    let text = String::from_utf8(agora::output::scenario_toml(&scenario()).unwrap()).unwrap()
        + "\n[[metrics]]\nkind = \"last_price\"\nname = \"closing\"\n";
    let s = Scenario::from_toml_str_with(&text, "t", &registry).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let closing = out.summary.metrics["closing"];
    assert_eq!(closing, out.summary.assets["AGT"].final_price);
    agora::output::write_run(dir.path(), &s, &out).unwrap();
    let (_, html) = report(dir.path());
    let section = &html[html.find("<h3>Metrics</h3>").expect("a Metrics section")..];
    let row = &section[..section.find("</table>").unwrap()];
    assert!(row.contains("closing"), "{row}");

    // In a sweep, `metrics.NAME` is a metric (plotted), and a metric's own
    // field `metrics.NAME.level` a parameter.
    let sweep = tempfile::tempdir().unwrap();
    fs::write(
        sweep.path().join("sweep.csv"),
        "metrics.closing.level,metrics.closing\n1,2\n2,3\n",
    )
    .unwrap();
    let (_, html) = report(sweep.path());
    let mut links = check_images(sweep.path(), &html);
    links.sort();
    links.dedup();
    assert_eq!(
        links,
        [
            "plots/sweep_metrics_closing.png",
            "plots/sweep_metrics_closing.svg"
        ]
    );
}

/// A directory holding one run of `example`, cut to `steps`.
fn example_run(example: &str, steps: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut s = agora::scenario::example(example).unwrap();
    s.set_steps(steps).unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    agora::output::write_run(dir.path(), &s, &out).unwrap();
    dir
}

#[test]
fn a_population_game_gets_a_plot_of_its_strategy_shares() {
    let dir = example_run("hawk-dove", 20);
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    for asset in ["few-hawks", "many-hawks"] {
        assert!(
            links.contains(&format!("plots/shares_{asset}.svg")),
            "{links:?}"
        );
    }
    assert!(html.contains("strategies"), "no caption");
    // no evolving parameters: no parameter or volatility plots
    assert!(!links
        .iter()
        .any(|l| l.contains("param_") || l.contains("volatility")));
}

#[test]
fn evolving_parameters_get_their_distribution_and_the_volatility_over_time() {
    let dir = example_run("strategy-arms-race", 60);
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    for plot in [
        "param_policy_threshold",
        "param_policy_buy_fraction",
        "volatility",
    ] {
        assert!(
            links.contains(&format!("plots/{plot}.svg")),
            "{plot}: {links:?}"
        );
    }
    assert!(html.contains("10th–90th percentile"));
    // the token-economy run has neither
    let (dir, _) = single_run();
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(!links
        .iter()
        .any(|l| l.contains("param_") || l.contains("shares_")));
}

/// A group with a `mean_reward` gets a learning curve; one without (empty
/// cells) is left out of it, and a run without learners has no such plot.
#[test]
fn learning_groups_get_their_learning_curves() {
    let assets = format!(
        "{ASSETS_HEADER}\n{}",
        (0..=40)
            .map(|t| format!("0,{t},GOOD,10.0,5.0,0.0,0.0,0,curve,,,,,\n"))
            .collect::<String>()
    );
    let mut agents =
        String::from("run,step,group,agents,balance,holdings,wealth,locked_balance,locked_holdings,mean_reward\n");
    for t in 0..=40 {
        let reward = if t == 0 {
            String::new()
        } else {
            format!("{}", (t % 2) as f64)
        };
        agents += &format!("0,{t},learners,2,100.0,0.0,100.0,0,0,{reward}\n");
        agents += &format!("0,{t},noise,2,100.0,0.0,100.0,0,0,\n");
    }
    let summary = SUMMARY.replace(
        r#""groups": {"traders": {"agents": 2, "mean_wealth": 51.5}}"#,
        r#""groups": {"learners": {"agents": 2}, "noise": {"agents": 2}}"#,
    );
    let dir = fixture(&assets, &agents, &summary);
    let (_, html) = report(dir.path());
    let links = check_images(dir.path(), &html);
    assert!(
        links.contains(&"plots/learning.svg".to_string()),
        "{links:?}"
    );
    assert!(html.contains("Learning curves"));
    let learning = svg(dir.path(), "learning");
    // Text is drawn as glyphs: the groups are told apart by their colour
    // (learners the first, noise the second).
    assert!(polylines(&learning, ORANGE).is_empty(), "noise drawn");
    // One line per panel for the one learning group: the rewards 1, 0,
    // 1, … of steps 1–40 (40 points), and their moving average over 2
    // steps (40 / 20) from the first full window, a flat line at 0.5 (39
    // points).
    let lines = polylines(&learning, BLUE);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!((lines[0].len(), lines[1].len()), (40, 39), "{lines:?}");
    let heights: std::collections::BTreeSet<&str> = lines[1]
        .iter()
        .map(|p| p.split(',').nth(1).unwrap())
        .collect();
    assert_eq!(heights.len(), 1, "{heights:?}");

    let (plain, _) = single_run();
    let (_, html) = report(plain.path());
    let links = check_images(plain.path(), &html);
    assert!(!links.iter().any(|l| l.contains("learning")), "{links:?}");
}
