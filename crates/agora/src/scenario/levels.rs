//! Intelligence levels: one scenario file that holds several economies of
//! rising agent intelligence, one of them run at a time.
//!
//! Any table of an array of tables (`[[agents]]`, `[[assets]]`,
//! `[[governance]]`, `[[monitors]]`, `[[incentives]]`, `[[contracts]]`,
//! `[[events]]`, …) may carry `intelligence = n`: it is part of the economy
//! from level `n` on. `[simulation] intelligence = k` selects the level:
//! the tables with `intelligence ≤ k` (and those without the key) are read,
//! the others are left out as if they were not in the file. Without
//! `[simulation] intelligence` every table is read (the highest level).
//!
//! ```toml
//! [simulation]
//! steps = 500
//! seed = 7
//! intelligence = 1     # 0: rule-based agents, 1: + learners, …
//!
//! [[agents]]
//! group = "learners"
//! intelligence = 1     # present from level 1 on
//! …
//! ```
//!
//! The level is a field like any other, so a sweep varies it:
//! `agora sweep … --param simulation.intelligence=0,1,2,3`. The scenario
//! keeps its whole source, so every variant selects from all the tables.

use crate::error::{Error, Result};
use toml::{Table, Value};

/// The key that marks a table's level, and `[simulation]`'s selection.
const KEY: &str = "intelligence";

/// The tables of the level `[simulation] intelligence` selects, with their
/// `intelligence` keys removed; `None` when no table carries the key (the
/// table is read as it is). An `intelligence` that is not a whole number
/// ≥ 0 is an error naming its path.
pub(super) fn select(table: &Table, origin: &str) -> Result<Option<Table>> {
    let marked = table.iter().any(|(_, v)| {
        v.as_array().is_some_and(|items| {
            items
                .iter()
                .any(|t| t.as_table().is_some_and(|t| t.contains_key(KEY)))
        })
    });
    if !marked {
        return Ok(None);
    }
    let level = match table.get("simulation").and_then(|s| s.get(KEY)) {
        None => u64::MAX,
        Some(v) => whole(v).ok_or_else(|| {
            Error::scenario(
                origin,
                "simulation.intelligence",
                format!(
                    "expected a whole number >= 0 (the level to run), found {}",
                    super::describe(v)
                ),
            )
        })?,
    };
    let mut out = table.clone();
    if level != u64::MAX {
        if let Some(Value::Table(sim)) = out.get_mut("simulation") {
            sim.insert(KEY.into(), Value::Integer(level as i64));
        }
    }
    for (key, value) in out.iter_mut() {
        let Value::Array(items) = value else {
            continue;
        };
        if !items.iter().all(Value::is_table) {
            continue;
        }
        let mut kept = Vec::with_capacity(items.len());
        for (i, mut item) in std::mem::take(items).into_iter().enumerate() {
            let Value::Table(t) = &mut item else {
                unreachable!("every item is a table");
            };
            let Some(v) = t.remove(KEY) else {
                kept.push(item);
                continue;
            };
            let n = whole(&v).ok_or_else(|| {
                Error::scenario(
                    origin,
                    format!("{}.{KEY}", item_path(key, i, t)),
                    format!(
                        "expected a whole number >= 0 (the level from which this table is \
                         part of the economy), found {}",
                        super::describe(&v)
                    ),
                )
            })?;
            if n <= level {
                kept.push(item);
            }
        }
        *items = kept;
    }
    Ok(Some(out))
}

/// A non-negative integer (a float with no fraction too: a sweep sets a
/// field the file leaves out as a float).
fn whole(v: &Value) -> Option<u64> {
    match v {
        Value::Integer(i) => u64::try_from(*i).ok(),
        Value::Float(x) if x.fract() == 0.0 && (0.0..9.0e15).contains(x) => Some(*x as u64),
        _ => None,
    }
}

/// How error messages name the `i`-th table of array `key`: by its `name`
/// or `group`, else by its index.
fn item_path(key: &str, i: usize, t: &Table) -> String {
    match t
        .get("name")
        .or_else(|| t.get("group"))
        .and_then(Value::as_str)
    {
        Some(name) => format!("{key}.{name}"),
        None => format!("{key}[{i}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        toml::from_str(text).unwrap()
    }

    const FILE: &str = r#"
[simulation]
steps = 1
intelligence = 1

[[agents]]
group = "rule"

[[agents]]
group = "learners"
intelligence = 1

[[agents]]
group = "attackers"
intelligence = 2

[[governance]]
name = "breaker"
intelligence = 3
"#;

    fn groups(t: &Table) -> Vec<String> {
        t["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["group"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_level_keeps_the_tables_up_to_it_and_drops_their_keys() {
        let out = select(&table(FILE), "f.toml").unwrap().unwrap();
        assert_eq!(groups(&out), ["rule", "learners"]);
        assert!(out["agents"][1].get(KEY).is_none());
        assert_eq!(out["governance"].as_array().unwrap().len(), 0);
        // the selection itself stays for `[simulation]` to read
        assert_eq!(out["simulation"][KEY].as_integer(), Some(1));
    }

    #[test]
    fn without_a_level_every_table_is_read_and_without_marks_nothing_changes() {
        let all = FILE.replace(
            "intelligence = 1\n\n[[agents]]\ngroup = \"rule\"",
            "\n[[agents]]\ngroup = \"rule\"",
        );
        let out = select(&table(&all), "f.toml").unwrap().unwrap();
        assert_eq!(groups(&out), ["rule", "learners", "attackers"]);
        assert_eq!(out["governance"].as_array().unwrap().len(), 1);
        let plain = table("[simulation]\nsteps = 1\n[[agents]]\ngroup = \"a\"\n");
        assert_eq!(select(&plain, "f.toml").unwrap(), None);
    }

    #[test]
    fn a_level_that_is_not_a_whole_number_is_named() {
        let bad = FILE.replace("intelligence = 2", "intelligence = -2");
        let e = select(&table(&bad), "f.toml").unwrap_err().to_string();
        assert!(
            e.contains("f.toml") && e.contains("agents.attackers.intelligence"),
            "{e}"
        );
        let bad = FILE.replace(
            "intelligence = 1\n\n[[agents]]\ngroup = \"rule\"",
            "intelligence = \"high\"\n\n[[agents]]\ngroup = \"rule\"",
        );
        let e = select(&table(&bad), "f.toml").unwrap_err().to_string();
        assert!(
            e.contains("simulation.intelligence") && e.contains("whole number"),
            "{e}"
        );
    }
}
