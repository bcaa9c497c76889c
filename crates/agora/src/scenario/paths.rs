//! Dotted parameter paths into a scenario's TOML: `assets.TOKEN.pricing.m`.
//!
//! The first segment is a top-level key. Under `assets` and `agents` (arrays
//! of tables) the next segment names an entry by its `name` or `group`; the
//! rest are keys of nested tables. A path may name a field that is absent
//! but optional (e.g. `assets.TOKEN.pricing.fee`): setting it adds it, and
//! the scenario's strict validation then decides whether it is allowed.

use toml::{Table, Value};

/// The key that names the entries of an array of tables.
fn name_key(array: &str) -> Option<&'static str> {
    match array {
        "assets" => Some("name"),
        "agents" => Some("group"),
        _ => None,
    }
}

/// Walks to the table that holds the last segment; returns it and that key.
fn parent<'t>(table: &'t mut Table, path: &str) -> Result<(&'t mut Table, String), String> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) || segments.len() < 2 {
        return Err("expected a dotted path such as assets.TOKEN.pricing.m".into());
    }
    let mut here = table;
    let mut i = 0;
    while i + 1 < segments.len() {
        let seg = segments[i];
        let next = here
            .get_mut(seg)
            .ok_or_else(|| format!("no field {seg:?} here"))?;
        here = match next {
            Value::Table(t) => t,
            Value::Array(items) => {
                let key =
                    name_key(seg).ok_or_else(|| format!("{seg:?} is an array without names"))?;
                let name = segments[i + 1];
                let known: Vec<String> = items
                    .iter()
                    .filter_map(|v| v.get(key).and_then(Value::as_str).map(str::to_string))
                    .collect();
                let found = items
                    .iter_mut()
                    .find(|v| v.get(key).and_then(Value::as_str) == Some(name));
                match found {
                    Some(Value::Table(t)) => {
                        i += 1;
                        if i + 1 >= segments.len() {
                            return Err(format!("{seg}.{name} is a table, not a number"));
                        }
                        t
                    }
                    _ => {
                        return Err(format!(
                            "no {} {name:?} in {seg}; expected one of: {}",
                            if seg == "assets" { "asset" } else { "group" },
                            super::fields::name_list(&known)
                        ))
                    }
                }
            }
            other => {
                return Err(format!(
                    "{seg:?} is {}, not a table",
                    crate::scenario::describe(other)
                ))
            }
        };
        i += 1;
    }
    Ok((here, segments[segments.len() - 1].to_string()))
}

/// The number at `path`.
pub(super) fn get(table: &Table, path: &str) -> Result<f64, String> {
    let mut copy = table.clone();
    let (parent, key) = parent(&mut copy, path)?;
    match parent.get(&key) {
        Some(Value::Integer(i)) => Ok(*i as f64),
        Some(Value::Float(x)) => Ok(*x),
        Some(other) => Err(format!(
            "is {}, not a number",
            crate::scenario::describe(other)
        )),
        None => Err("no such field".into()),
    }
}

/// Sets the number at `path`: an integer field (a count, a step) takes only
/// whole values.
pub(super) fn set(table: &mut Table, path: &str, value: f64) -> Result<(), String> {
    if !value.is_finite() {
        return Err(format!("expected a finite number, found {value}"));
    }
    let (parent, key) = parent(table, path)?;
    let new = match parent.get(&key) {
        Some(Value::Integer(_)) => {
            if value.fract() != 0.0 || value.abs() > 9.0e15 {
                return Err(format!("expected a whole number, found {value}"));
            }
            Value::Integer(value as i64)
        }
        Some(Value::Float(_)) | None => Value::Float(value),
        Some(other) => {
            return Err(format!(
                "is {}, not a number",
                crate::scenario::describe(other)
            ))
        }
    };
    parent.insert(key, new);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        r#"
        [simulation]
        steps = 10
        seed = 1
        [[assets]]
        name = "TOKEN"
        pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }
        [[agents]]
        group = "noise"
        count = 5
        balance = 10.0
        policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
        "#
        .parse()
        .unwrap()
    }

    #[test]
    fn paths_reach_named_entries_and_nested_tables() {
        let mut t = table();
        assert_eq!(get(&t, "assets.TOKEN.pricing.m"), Ok(0.001));
        assert_eq!(get(&t, "agents.noise.count"), Ok(5.0));
        assert_eq!(get(&t, "simulation.steps"), Ok(10.0));
        set(&mut t, "agents.noise.policy.p_buy", 0.25).unwrap();
        assert_eq!(get(&t, "agents.noise.policy.p_buy"), Ok(0.25));
        set(&mut t, "agents.noise.count", 7.0).unwrap();
        assert_eq!(t["agents"][0]["count"], Value::Integer(7));
        set(&mut t, "assets.TOKEN.pricing.fee", 0.01).unwrap();
        assert_eq!(get(&t, "assets.TOKEN.pricing.fee"), Ok(0.01));
    }

    #[test]
    fn unknown_paths_and_wrong_kinds_are_errors_that_say_why() {
        let mut t = table();
        assert_eq!(
            get(&t, "assets.COIN.pricing.m"),
            Err("no asset \"COIN\" in assets; expected one of: TOKEN".into())
        );
        assert_eq!(
            set(&mut t, "agents.noise.count", 2.5),
            Err("expected a whole number, found 2.5".into())
        );
        assert!(get(&t, "assets.TOKEN.prcing.m")
            .unwrap_err()
            .contains("prcing"));
        assert!(get(&t, "m").is_err());
        assert!(set(&mut t, "agents.noise.policy.asset", 1.0).is_err());
        assert!(get(&t, "assets.TOKEN").is_err());
    }
}
