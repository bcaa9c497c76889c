//! The HTML report: one self-contained page (inline CSS, no scripts, no
//! external fonts, every plot an inline SVG), whole when moved or mailed
//! alone.

use crate::data::Csv;
use crate::plot::fmt_num;
use crate::{PlotEntry, Plots};
use serde_json::Value;
use std::fmt::Write;

/// What a metric without a value (JSON null) shows as.
const NO_VALUE: &str = "–";

/// Rows of a CSV table shown in the page; the file has them all.
const MAX_ROWS: usize = 1000;

/// What the page shows.
pub(crate) struct Inputs<'a> {
    /// Names the results when the summary does not name the scenario.
    pub title: &'a str,
    pub summary: Option<&'a Value>,
    pub scenario: Option<&'a str>,
    pub sweep: Option<&'a Csv>,
    pub optimize: Option<&'a Csv>,
    pub plots: &'a Plots,
}

const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0 auto;max-width:1100px;padding:1.5em;color:#1b1b1b;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.88em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d6d6d6;padding:.25em .6em;text-align:right;white-space:nowrap}
th{background:#f3f3f3}td.k,th.k{text-align:left}tr.best td{background:#e8f5e9;font-weight:600}
figure{margin:1em 0 2em}figure svg{display:block;max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#444}pre{background:#f7f7f7;border:1px solid #e3e3e3;padding:1em;overflow-x:auto;font-size:.85em}
.note{color:#555;font-style:italic}td.na{color:#888;text-align:center}nav a{margin-right:1em}
";

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// What a JSON value shows as: numbers formatted, text escaped, null (a
/// metric without a value, e.g. an efficiency with nothing traded) as a
/// dash.
fn cell(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => fmt_num(n.as_f64().unwrap_or(f64::NAN), 6),
        Value::Number(n) => n.to_string(),
        Value::String(s) => escape(s),
        Value::Bool(b) => b.to_string(),
        Value::Null => NO_VALUE.to_string(),
        other => escape(&other.to_string()),
    }
}

/// A table cell holding `v`: numbers right-aligned, text left-aligned,
/// null as a dash, an absent value (a metric another row has) empty.
fn td(v: Option<&Value>) -> String {
    match v {
        None => "<td></td>".to_string(),
        Some(Value::Null) => format!("<td class=\"na\" title=\"no value\">{NO_VALUE}</td>"),
        Some(v @ Value::String(_)) => format!("<td class=\"k\">{}</td>", cell(v)),
        Some(v) => format!("<td>{}</td>", cell(v)),
    }
}

/// A table with one row per entry of `map` (an object of objects).
fn entity_table(out: &mut String, key: &str, map: &serde_json::Map<String, Value>) {
    if map.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">No {key}s in this run.</p>");
        return;
    }
    let mut columns: Vec<&str> = Vec::new();
    for v in map.values() {
        if let Value::Object(fields) = v {
            for k in fields.keys() {
                if !columns.contains(&k.as_str()) {
                    columns.push(k);
                }
            }
        }
    }
    out.push_str("<table><thead><tr>");
    let _ = write!(out, "<th class=\"k\">{}</th>", escape(key));
    for c in &columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead><tbody>\n");
    for (name, v) in map {
        let _ = write!(out, "<tr><td class=\"k\">{}</td>", escape(name));
        for c in &columns {
            out.push_str(&td(v.get(*c)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// A two-column table of the leaves of `value`, by dotted path.
fn leaf_table(out: &mut String, prefix: &str, value: &Value) {
    let mut rows = Vec::new();
    crate::data::walk(prefix, value, &mut |path, v| {
        if !v.is_object() {
            rows.push((path.to_string(), td(Some(v))));
        }
        v.is_object()
    });
    out.push_str(
        "<table><thead><tr><th class=\"k\">metric</th><th>value</th></tr></thead><tbody>\n",
    );
    for (k, v) in rows {
        let _ = writeln!(out, "<tr><td class=\"k\">{}</td>{v}</tr>", escape(&k));
    }
    out.push_str("</tbody></table>\n");
}

/// The distribution table: every `{mean, std, p5, p50, p95}` object.
fn distribution_table(out: &mut String, value: &Value) {
    const STATS: [&str; 5] = ["mean", "std", "p5", "p50", "p95"];
    let mut rows = Vec::new();
    crate::data::walk("", value, &mut |path, v| {
        let Value::Object(map) = v else {
            return false;
        };
        if map.contains_key("mean") && map.contains_key("p50") {
            rows.push((path.to_string(), v));
            return false;
        }
        true
    });
    out.push_str("<table><thead><tr><th class=\"k\">metric</th>");
    for s in STATS {
        let _ = write!(out, "<th>{s}</th>");
    }
    out.push_str("</tr></thead><tbody>\n");
    for (path, v) in rows {
        let _ = write!(out, "<tr><td class=\"k\">{}</td>", escape(&path));
        for s in STATS {
            out.push_str(&td(v.get(s)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// A CSV file as a table; `best` marks one row.
fn csv_table(out: &mut String, csv: &Csv, best: Option<usize>) {
    out.push_str("<table><thead><tr>");
    for h in &csv.header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for (r, row) in csv.rows.iter().enumerate().take(MAX_ROWS) {
        out.push_str(if best == Some(r) {
            "<tr class=\"best\">"
        } else {
            "<tr>"
        });
        for c in row {
            let shown = c
                .parse::<f64>()
                .ok()
                .filter(|_| c.contains('.') || c.contains('e'))
                .map_or_else(|| escape(c), |x| fmt_num(x, 6));
            let _ = write!(out, "<td>{shown}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    if csv.rows.len() > MAX_ROWS {
        let _ = writeln!(
            out,
            "<p class=\"note\">The first {MAX_ROWS} of {} rows; all are in {}.</p>",
            csv.rows.len(),
            escape(
                &csv.path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            )
        );
    }
}

/// The plots, each embedded as an inline SVG (labelled for screen
/// readers) with its caption.
fn figures(out: &mut String, plots: &[PlotEntry]) {
    for p in plots {
        let title = escape(&p.title);
        // The document as plotters writes it: an `<svg …>` element, after
        // an XML declaration at most (which HTML does not take).
        let svg = p.svg.trim_start();
        let svg = match svg.strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map_or("", |(_, s)| s).trim_start(),
            None => svg,
        };
        let svg = match svg.strip_prefix("<svg") {
            Some(rest) => format!("<svg role=\"img\" aria-label=\"{title}\"{rest}"),
            None => svg.to_string(),
        };
        let _ = writeln!(
            out,
            "<figure>{}<figcaption>{title}</figcaption></figure>",
            svg.trim_end()
        );
    }
}

/// Renders the report page.
pub(crate) fn page(inputs: &Inputs) -> String {
    let summary = inputs.summary;
    let str_field = |k: &str| summary.and_then(|s| s.get(k)).and_then(Value::as_str);
    let title = str_field("scenario").unwrap_or(inputs.title).to_string();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Agora report: {t}</title><style>{CSS}</style></head><body>\n\
         <h1>Agora report: {t}</h1>\n",
        t = escape(&title)
    );

    let mut nav = Vec::new();
    if summary.is_some() {
        nav.extend([("run", "Run"), ("summary", "Summary")]);
    }
    let runs = summary
        .and_then(|s| s.get("runs"))
        .and_then(Value::as_u64)
        .unwrap_or(1);
    if !inputs.plots.ensemble.is_empty() || runs > 1 {
        nav.push(("ensemble", "Ensemble"));
    }
    if inputs.sweep.is_some() {
        nav.push(("sweep", "Sweep"));
    }
    if inputs.optimize.is_some() {
        nav.push(("optimize", "Optimisation"));
    }
    if inputs.scenario.is_some() {
        nav.push(("scenario", "Scenario"));
    }
    out.push_str("<nav>");
    for (id, label) in &nav {
        let _ = write!(out, "<a href=\"#{id}\">{label}</a>");
    }
    out.push_str("</nav>\n");

    if let Some(s) = summary {
        out.push_str("<table><tbody>\n");
        for k in [
            "version",
            "scenario",
            "scenario_hash",
            "seed",
            "steps",
            "runs",
            "agents",
        ] {
            if let Some(v) = s.get(k) {
                let _ = writeln!(
                    out,
                    "<tr><th class=\"k\">{k}</th><td class=\"k\">{}</td></tr>",
                    cell(v)
                );
            }
        }
        out.push_str("</tbody></table>\n");

        out.push_str("<h2 id=\"run\">Run</h2>\n");
        figures(&mut out, &inputs.plots.run);

        out.push_str("<h2 id=\"summary\">Summary</h2>\n");
        if runs > 1 {
            let _ = writeln!(
                out,
                "<p class=\"note\">Each metric is the mean across {runs} runs; see the distribution below.</p>"
            );
        }
        for (key, heading, label) in [("assets", "Assets", "asset"), ("groups", "Groups", "group")]
        {
            if let Some(Value::Object(map)) = s.get(key) {
                let _ = writeln!(out, "<h3>{heading}</h3>");
                entity_table(&mut out, label, map);
            }
        }
        if let Some(ledger) = s.get("ledger") {
            out.push_str("<h3>Ledger</h3>\n");
            leaf_table(&mut out, "", ledger);
        }
        // The scenario's own metrics (`[[metrics]]`), by name.
        if let Some(metrics) = s.get("metrics") {
            out.push_str("<h3>Metrics</h3>\n");
            leaf_table(&mut out, "", metrics);
        }
        // Metrics added after this report was written still show.
        let known = [
            "version",
            "scenario",
            "scenario_hash",
            "seed",
            "steps",
            "runs",
            "agents",
            "assets",
            "groups",
            "ledger",
            "metrics",
            "distribution",
            // measured speed: not a result, and not reproducible
            "performance",
        ];
        if let Value::Object(map) = s {
            for (k, v) in map.iter().filter(|(k, _)| !known.contains(&k.as_str())) {
                let _ = writeln!(out, "<h3>{}</h3>", escape(k));
                leaf_table(&mut out, k, v);
            }
        }
        if nav.iter().any(|(id, _)| *id == "ensemble") {
            out.push_str("<h2 id=\"ensemble\">Ensemble</h2>\n");
            figures(&mut out, &inputs.plots.ensemble);
            if let Some(d) = s.get("distribution").filter(|_| runs > 1) {
                out.push_str("<h3>Distribution across runs</h3>\n");
                distribution_table(&mut out, d);
            }
        }
    }

    if let Some(sweep) = inputs.sweep {
        out.push_str("<h2 id=\"sweep\">Sweep</h2>\n");
        figures(&mut out, &inputs.plots.sweep);
        if let Some(note) = &inputs.plots.sweep_note {
            let _ = writeln!(
                out,
                "<p class=\"note\">No sweep plots: {}</p>",
                escape(note)
            );
        }
        csv_table(&mut out, sweep, None);
    }
    if let Some(opt) = inputs.optimize {
        out.push_str("<h2 id=\"optimize\">Optimisation</h2>\n");
        figures(&mut out, &inputs.plots.optimize);
        let best = opt.find("objective").and_then(|c| {
            (0..opt.rows.len())
                .map(|r| (r, opt.num_lenient(r, c)))
                .filter(|(_, v)| v.is_finite())
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(r, _)| r)
        });
        if best.is_some() {
            out.push_str("<p class=\"note\">The highlighted row has the lowest objective.</p>\n");
        }
        csv_table(&mut out, opt, best);
    }
    if let Some(scenario) = inputs.scenario {
        out.push_str("<h2 id=\"scenario\">Scenario</h2>\n");
        let _ = writeln!(out, "<pre>{}</pre>", escape(scenario));
    }
    out.push_str("</body></html>\n");
    out
}
