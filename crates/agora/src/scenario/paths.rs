//! Dotted parameter paths into a scenario's TOML: `assets.TOKEN.pricing.m`,
//! `assets.TOKEN.schedule.0.value`.
//!
//! The first segment is a top-level key. Under `assets` and `agents` (arrays
//! of tables) the next segment names an entry by its `name` or `group`;
//! other arrays (`schedule`, `events`, `holdings`, …) take the index of an
//! entry, from 0, as a segment of its own (`schedule.0`) or in brackets as
//! error messages write it (`schedule[0]`). The rest are keys of nested
//! tables. A path may name a field that is absent but optional (e.g.
//! `assets.TOKEN.pricing.fee`): setting it adds it, and the scenario's
//! strict validation then decides whether it is allowed.
//!
//! A value is a number or any other TOML value: a string (a curve's name,
//! an allocation rule) or an inline table (a whole `pricing` table, for
//! alternatives that need their own keys).

use super::Scenario;
use crate::scenario::{Change, EventKind};
use std::fmt;
use toml::{Table, Value};

/// A value to set at a parameter path.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A number; a whole-number field (a count, a step) takes only whole
    /// values.
    Number(f64),
    /// A string, e.g. a curve's name (`linear`) or an allocation rule.
    Text(String),
    /// Any other TOML value: a boolean, an array or an inline table.
    Toml(Value),
}

impl ParamValue {
    /// Reads one value as given on a command line: a number if it is one
    /// (an error if it is not finite), an inline TOML value if it starts
    /// with `{`, `[` or `"`, else the text itself (trimmed).
    pub fn parse(text: &str) -> Result<ParamValue, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty value".into());
        }
        if let Ok(x) = text.parse::<f64>() {
            return if x.is_finite() {
                Ok(ParamValue::Number(x))
            } else {
                Err(format!("{text:?} is not a finite number"))
            };
        }
        if text.starts_with(['{', '[', '"', '\'']) {
            return toml_value(text).map(ParamValue::from);
        }
        Ok(match text {
            "true" => ParamValue::Toml(Value::Boolean(true)),
            "false" => ParamValue::Toml(Value::Boolean(false)),
            _ => ParamValue::Text(text.to_string()),
        })
    }

    /// Returns the number, if the value is one.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            ParamValue::Number(x) => Some(*x),
            _ => None,
        }
    }

    /// The value as TOML.
    pub fn to_toml(&self) -> Value {
        match self {
            ParamValue::Number(x) => Value::Float(*x),
            ParamValue::Text(s) => Value::String(s.clone()),
            ParamValue::Toml(v) => v.clone(),
        }
    }
}

/// Parses one inline TOML value (`{ curve = "linear", m = 0.001 }`,
/// `"linear"`, `[1, 2]`).
pub(crate) fn toml_value(text: &str) -> Result<Value, String> {
    let doc: Table = format!("v = {text}")
        .parse()
        .map_err(|e: toml::de::Error| {
            let one_line = e.message().split_whitespace().collect::<Vec<_>>();
            format!("{text:?} is not a TOML value: {}", one_line.join(" "))
        })?;
    doc.get("v")
        .cloned()
        .ok_or_else(|| format!("{text:?} is not a TOML value"))
}

impl From<f64> for ParamValue {
    fn from(x: f64) -> Self {
        ParamValue::Number(x)
    }
}

impl From<Value> for ParamValue {
    fn from(v: Value) -> Self {
        match v {
            Value::Float(x) => ParamValue::Number(x),
            Value::Integer(i) => ParamValue::Number(i as f64),
            Value::String(s) => ParamValue::Text(s),
            other => ParamValue::Toml(other),
        }
    }
}

impl fmt::Display for ParamValue {
    /// A number as the shortest text that reads back as the same f64, a
    /// string as itself, anything else as inline TOML.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Number(x) if x.is_finite() => f.write_str(ryu::Buffer::new().format(*x)),
            ParamValue::Number(x) => write!(f, "{x}"),
            ParamValue::Text(s) => f.write_str(s),
            ParamValue::Toml(v) => write!(f, "{v}"),
        }
    }
}

/// The key that names the entries of an array of tables.
fn name_key(array: &str) -> Option<&'static str> {
    match array {
        "assets" => Some("name"),
        "agents" => Some("group"),
        "governance" => Some("name"),
        "incentives" => Some("name"),
        "monitors" => Some("name"),
        _ => None,
    }
}

/// One segment of a path: a key (or an entry's name, or an index written
/// as a segment of its own), or an index written in brackets.
#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Seg::Key(k) => f.write_str(k),
            Seg::Index(i) => write!(f, "{i}"),
        }
    }
}

const EXPECTED: &str = "expected a dotted path such as assets.TOKEN.pricing.m";

/// Splits `a.b[0].c` into `a`, `b`, `[0]`, `c`.
fn segments(path: &str) -> Result<Vec<Seg>, String> {
    let mut out = Vec::new();
    for piece in path.split('.') {
        let (key, mut rest) = match piece.find('[') {
            Some(i) => piece.split_at(i),
            None => (piece, ""),
        };
        if key.is_empty() {
            return Err(EXPECTED.into());
        }
        out.push(Seg::Key(key.to_string()));
        while !rest.is_empty() {
            let close = rest.find(']').ok_or_else(|| EXPECTED.to_string())?;
            let index = rest[1..close]
                .parse::<usize>()
                .map_err(|_| format!("{piece:?}: expected an index from 0 in brackets"))?;
            out.push(Seg::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(EXPECTED.into());
            }
        }
    }
    if out.len() < 2 {
        return Err(EXPECTED.into());
    }
    Ok(out)
}

/// The index of the entry `seg` names in the array `items` (called
/// `array`): by name under `assets` and `agents`, else by index.
fn entry(array: &str, items: &[Value], seg: &Seg) -> Result<usize, String> {
    let by_index = |i: usize| {
        if i < items.len() {
            Ok(i)
        } else {
            Err(format!(
                "{array} has {} entr{}, so no index {i} (indices start at 0)",
                items.len(),
                if items.len() == 1 { "y" } else { "ies" }
            ))
        }
    };
    match (seg, name_key(array)) {
        (Seg::Index(i), _) => by_index(*i),
        (Seg::Key(name), Some(key)) => {
            let named = items
                .iter()
                .position(|v| v.get(key).and_then(Value::as_str) == Some(name));
            match (named, name.parse::<usize>()) {
                (Some(i), _) => Ok(i),
                (None, Ok(i)) if i < items.len() => Ok(i),
                _ => {
                    let known: Vec<String> = items
                        .iter()
                        .filter_map(|v| v.get(key).and_then(Value::as_str).map(str::to_string))
                        .collect();
                    Err(format!(
                        "no {} {name:?} in {array}; expected one of: {}",
                        match array {
                            "assets" => "asset",
                            "agents" => "group",
                            _ => "rule",
                        },
                        super::fields::name_list(&known)
                    ))
                }
            }
        }
        (Seg::Key(text), None) => match text.parse::<usize>() {
            Ok(i) => by_index(i),
            Err(_) => Err(format!(
                "{array} is an array: expected an index from 0 after it, found {text:?}"
            )),
        },
    }
}

/// Where the last segment of a path lives: a key of a table, or an entry of
/// an array.
enum Slot<'t> {
    Key(&'t mut Table, String),
    Index(&'t mut Vec<Value>, usize),
}

/// Walks to the container of the last segment.
fn slot<'t>(table: &'t mut Table, path: &str) -> Result<Slot<'t>, String> {
    let segs = segments(path)?;
    let last = segs.len() - 1;
    let mut table = Some(table);
    let mut array: Option<(&'t mut Vec<Value>, String)> = None;
    for (i, seg) in segs.iter().enumerate() {
        // The child of the current container at `seg`.
        let (child, name): (&'t mut Value, String) = match (table.take(), array.take()) {
            (Some(t), _) => {
                let Seg::Key(key) = seg else {
                    return Err(format!("[{seg}]: there is no array here to index"));
                };
                if i == last {
                    return Ok(Slot::Key(t, key.clone()));
                }
                let child = t
                    .get_mut(key)
                    .ok_or_else(|| format!("no field {key:?} here"))?;
                (child, key.clone())
            }
            (None, Some((items, array_name))) => {
                let at = entry(&array_name, items, seg)?;
                if i == last {
                    if name_key(&array_name).is_some() {
                        return Err(format!("{array_name}.{seg} is a table, not a number"));
                    }
                    return Ok(Slot::Index(items, at));
                }
                (&mut items[at], format!("{array_name}.{seg}"))
            }
            (None, None) => return Err(EXPECTED.into()),
        };
        match child {
            Value::Table(t) => table = Some(t),
            Value::Array(items) => array = Some((items, name)),
            other => {
                return Err(format!(
                    "{name:?} is {}, not a table",
                    crate::scenario::describe(other)
                ))
            }
        }
    }
    Err(EXPECTED.into())
}

/// The number at `path`.
pub(super) fn get(table: &Table, path: &str) -> Result<f64, String> {
    let mut copy = table.clone();
    let found = match slot(&mut copy, path)? {
        Slot::Key(parent, key) => parent.get(&key).cloned(),
        Slot::Index(items, i) => items.get(i).cloned(),
    };
    match found {
        Some(Value::Integer(i)) => Ok(i as f64),
        Some(Value::Float(x)) => Ok(x),
        Some(other) => Err(format!(
            "is {}, not a number",
            crate::scenario::describe(&other)
        )),
        None => Err("no such field".into()),
    }
}

/// Sets the value at `path`: a number replaces a number (an integer field
/// takes only whole values) or fills an absent field; any other value
/// replaces what is there (validation then decides), except a number.
pub(super) fn set(table: &mut Table, path: &str, value: &ParamValue) -> Result<(), String> {
    if let ParamValue::Number(x) = value {
        if !x.is_finite() {
            return Err(format!("expected a finite number, found {x}"));
        }
    }
    let slot = slot(table, path)?;
    let current = match &slot {
        Slot::Key(parent, key) => parent.get(key),
        Slot::Index(items, i) => items.get(*i),
    };
    let new = match (value, current) {
        (ParamValue::Number(x), Some(Value::Integer(_))) => {
            if x.fract() != 0.0 || x.abs() > 9.0e15 {
                return Err(format!("expected a whole number, found {x}"));
            }
            Value::Integer(*x as i64)
        }
        (ParamValue::Number(x), Some(Value::Float(_)) | None) => Value::Float(*x),
        (ParamValue::Number(_), Some(other)) => {
            return Err(format!(
                "is {}, not a number",
                crate::scenario::describe(other)
            ))
        }
        (other, Some(Value::Integer(_) | Value::Float(_))) => {
            return Err(format!("expected a number, found {:?}", other.to_string()))
        }
        (other, _) => other.to_toml(),
    };
    match slot {
        Slot::Key(parent, key) => {
            parent.insert(key, new);
        }
        Slot::Index(items, i) => items[i] = new,
    }
    Ok(())
}

impl Scenario {
    /// Returns a copy of the scenario with the field at `path` set to
    /// `value` (a number, a string such as a curve's name, or an inline
    /// table), validated again in full: an unknown path, a value of the
    /// wrong kind or one that makes the scenario invalid is an error naming
    /// the path.
    pub fn with_value(&self, path: &str, value: &ParamValue) -> crate::Result<Scenario> {
        let mut table = self.to_table().clone();
        set(&mut table, path, value).map_err(|m| crate::Error::scenario(&self.origin, path, m))?;
        self.revalidated(table)
    }

    /// Describes what changes the field at `path` within the scenario's
    /// steps, so that a value set there holds only until then: the asset's
    /// `schedule` entries and `parameter` events for the same curve
    /// parameter that start by the last step. Empty when nothing does.
    pub fn overrides(&self, path: &str) -> Vec<String> {
        let Ok(segs) = segments(path) else {
            return Vec::new();
        };
        let [Seg::Key(top), Seg::Key(asset), Seg::Key(pricing), Seg::Key(param)] = segs.as_slice()
        else {
            return Vec::new();
        };
        if top != "assets" || pricing != "pricing" {
            return Vec::new();
        }
        let Some(index) = self.asset_index(asset) else {
            return Vec::new();
        };
        let spec = &self.assets[index];
        let mut out = Vec::new();
        let steps = self.simulation.steps;
        for (i, s) in spec.schedule.iter().enumerate() {
            if s.param != *param {
                continue;
            }
            let when = match s.change {
                Change::Step { at, value } if at <= steps => {
                    format!("sets it to {value} at step {at}")
                }
                // A ramp leaves the value as it is at `from`.
                Change::Ramp { from, to, value } if from < steps => {
                    format!("ramps it to {value} from step {from} to step {to}")
                }
                _ => continue,
            };
            out.push(format!("assets.{asset}.schedule[{i}] {when}"));
        }
        for (i, e) in self.events.iter().enumerate() {
            if let EventKind::Parameter {
                asset: a,
                param: p,
                value,
            } = &e.kind
            {
                if *a == index && p == param && e.at <= steps {
                    out.push(format!("events[{i}] sets it to {value} at step {}", e.at));
                }
            }
        }
        out
    }
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
        schedule = [ { param = "m", at = 5, value = 0.002 } ]
        [[agents]]
        group = "noise"
        count = 5
        balance = 10.0
        policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
        "#
        .parse()
        .unwrap()
    }

    fn num(x: f64) -> ParamValue {
        ParamValue::Number(x)
    }

    #[test]
    fn paths_reach_named_entries_and_nested_tables() {
        let mut t = table();
        assert_eq!(get(&t, "assets.TOKEN.pricing.m"), Ok(0.001));
        assert_eq!(get(&t, "agents.noise.count"), Ok(5.0));
        assert_eq!(get(&t, "simulation.steps"), Ok(10.0));
        set(&mut t, "agents.noise.policy.p_buy", &num(0.25)).unwrap();
        assert_eq!(get(&t, "agents.noise.policy.p_buy"), Ok(0.25));
        set(&mut t, "agents.noise.count", &num(7.0)).unwrap();
        assert_eq!(t["agents"][0]["count"], Value::Integer(7));
        set(&mut t, "assets.TOKEN.pricing.fee", &num(0.01)).unwrap();
        assert_eq!(get(&t, "assets.TOKEN.pricing.fee"), Ok(0.01));
    }

    #[test]
    fn arrays_without_names_take_an_index_as_a_segment_or_in_brackets() {
        let mut t = table();
        assert_eq!(get(&t, "assets.TOKEN.schedule.0.value"), Ok(0.002));
        assert_eq!(get(&t, "assets.TOKEN.schedule[0].at"), Ok(5.0));
        set(&mut t, "assets.TOKEN.schedule[0].value", &num(0.003)).unwrap();
        assert_eq!(t["assets"][0]["schedule"][0]["value"], Value::Float(0.003));
        set(&mut t, "assets.TOKEN.schedule.0.at", &num(7.0)).unwrap();
        assert_eq!(t["assets"][0]["schedule"][0]["at"], Value::Integer(7));
        let e = get(&t, "assets.TOKEN.schedule.1.value").unwrap_err();
        assert!(e.contains("no index 1") && e.contains("1 entry"), "{e}");
        let e = get(&t, "assets.TOKEN.schedule.m.value").unwrap_err();
        assert!(e.contains("expected an index"), "{e}");
        assert!(get(&t, "assets.TOKEN.schedule[x].value").is_err());
        // Named arrays still name their entries; an index works there too.
        assert_eq!(get(&t, "agents.0.count"), Ok(5.0));
    }

    #[test]
    fn strings_and_tables_replace_what_is_there_but_never_a_number() {
        let mut t = table();
        set(
            &mut t,
            "assets.TOKEN.pricing.curve",
            &ParamValue::Text("sigmoid".into()),
        )
        .unwrap();
        assert_eq!(
            t["assets"][0]["pricing"]["curve"],
            Value::String("sigmoid".into())
        );
        let e = set(
            &mut t,
            "assets.TOKEN.pricing.m",
            &ParamValue::Text("abc".into()),
        )
        .unwrap_err();
        assert_eq!(e, "expected a number, found \"abc\"");
        let table =
            ParamValue::parse(r#"{ kind = "bonding_curve", curve = "power", a = 0.01, n = 1.5 }"#)
                .unwrap();
        set(&mut t, "assets.TOKEN.pricing", &table).unwrap();
        assert_eq!(get(&t, "assets.TOKEN.pricing.n"), Ok(1.5));
    }

    #[test]
    fn values_parse_as_numbers_strings_or_inline_toml() {
        assert_eq!(ParamValue::parse(" 2.5 "), Ok(num(2.5)));
        assert_eq!(ParamValue::parse("1e-3"), Ok(num(0.001)));
        assert_eq!(
            ParamValue::parse("linear"),
            Ok(ParamValue::Text("linear".into()))
        );
        assert_eq!(
            ParamValue::parse("\"max_min\""),
            Ok(ParamValue::Text("max_min".into()))
        );
        assert_eq!(
            ParamValue::parse("true"),
            Ok(ParamValue::Toml(Value::Boolean(true)))
        );
        assert!(ParamValue::parse("inf").is_err());
        assert!(ParamValue::parse("NaN").is_err());
        assert!(ParamValue::parse("").is_err());
        assert!(ParamValue::parse("{ a = ").is_err());
        assert_eq!(num(0.001).to_string(), "0.001");
        assert_eq!(num(5.0).to_string(), "5.0");
        assert_eq!(ParamValue::Text("linear".into()).to_string(), "linear");
    }

    #[test]
    fn unknown_paths_and_wrong_kinds_are_errors_that_say_why() {
        let mut t = table();
        assert_eq!(
            get(&t, "assets.COIN.pricing.m"),
            Err("no asset \"COIN\" in assets; expected one of: TOKEN".into())
        );
        assert_eq!(
            set(&mut t, "agents.noise.count", &num(2.5)),
            Err("expected a whole number, found 2.5".into())
        );
        assert!(get(&t, "assets.TOKEN.prcing.m")
            .unwrap_err()
            .contains("prcing"));
        assert!(get(&t, "m").is_err());
        assert!(set(&mut t, "agents.noise.policy.asset", &num(1.0)).is_err());
        assert!(get(&t, "assets.TOKEN").is_err());
        assert!(get(&t, "assets..m").is_err());
    }
}
