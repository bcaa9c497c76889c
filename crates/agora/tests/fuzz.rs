//! Bad input never panics: scenario texts mutated at random (numbers
//! replaced by extreme or non-finite values, lines dropped or repeated) are
//! either rejected with an error or, when still valid and small, run a few
//! steps with every invariant holding.

use agora::scenario::examples;
use agora::{Scenario, Simulation};
use proptest::prelude::*;

const EXTREMES: &[&str] = &[
    "0",
    "-1",
    "1",
    "0.5",
    "1e-300",
    "1e300",
    "1.7976931348623157e308",
    "-0.0",
    "inf",
    "-inf",
    "nan",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967295",
    "1e9",
    "2.5",
    "\"x\"",
    "[]",
    "{}",
    "true",
];

/// Replaces the `which`-th number in `text` by `by`.
fn replace_number(text: &str, which: usize, by: &str) -> String {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let after_eq = i > 0 && matches!(bytes[i - 1], b' ' | b'=' | b'[' | b',');
        if c.is_ascii_digit() && after_eq {
            let mut j = i;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || matches!(bytes[j], b'.' | b'-' | b'+'))
            {
                j += 1;
            }
            starts.push((i, j));
            i = j;
        } else {
            i += 1;
        }
    }
    if starts.is_empty() {
        return text.to_string();
    }
    let (a, b) = starts[which % starts.len()];
    format!("{}{}{}", &text[..a], by, &text[b..])
}

fn mutated() -> impl Strategy<Value = String> {
    let texts: Vec<String> = examples()
        .iter()
        .map(|e| {
            // keep the runs small: fewer agents and steps
            e.toml
                .lines()
                .map(|l| {
                    if l.trim_start().starts_with("count") {
                        "count = 7".to_string()
                    } else if l.trim_start().starts_with("steps") {
                        "steps = 4".to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    (
        prop::sample::select(texts),
        prop::collection::vec((0usize..200, prop::sample::select(EXTREMES)), 1..4),
        prop::option::of((0usize..200, any::<bool>())),
    )
        .prop_map(|(text, replacements, line_edit)| {
            let mut t = text;
            for (which, by) in replacements {
                t = replace_number(&t, which, by);
            }
            if let Some((line, repeat)) = line_edit {
                let mut lines: Vec<&str> = t.lines().collect();
                if !lines.is_empty() {
                    let k = line % lines.len();
                    if repeat {
                        lines.insert(k, lines[k]);
                    } else {
                        lines.remove(k);
                    }
                }
                t = lines.join("\n");
            }
            t
        })
}

proptest! {
    #![proptest_config(crate::proptest_config(400))]

    #[test]
    fn mutated_scenarios_are_rejected_or_run_without_panicking(text in mutated()) {
        match Scenario::from_toml_str(&text, "fuzz.toml") {
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("fuzz.toml"), "{msg}");
                prop_assert!(!msg.contains('\n'), "one line: {msg}");
            }
            Ok(scenario) => {
                if scenario.agent_count() <= 10_000 && scenario.simulation().steps <= 50 {
                    if let Ok(sim) = Simulation::new(&scenario, 0) {
                        // A run may end in an error (e.g. amounts beyond the
                        // ledger's range) but never in a panic, and a run
                        // that completes conserves value.
                        if let Ok(out) = sim.run() {
                            prop_assert_eq!(out.summary.ledger.conservation_error, 0.0);
                            prop_assert_eq!(out.summary.ledger.reserve_shortfall, 0.0);
                        }
                    }
                }
            }
        }
    }
}
