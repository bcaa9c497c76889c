//! A strict reader of TOML tables that knows where it is.
//!
//! [`Fields`] wraps one table with its dotted path and the file it came from.
//! Every getter checks type and range and, on failure, returns an error that
//! names the file, the field path, what was found and what was expected.
//! [`Fields::finish`] then rejects any key no getter asked for, listing the
//! keys that are allowed. User-defined policies read their parameters with it
//! too, so their errors look like the built-ins'.

use super::Kind;
use crate::error::{Error, Result};
use crate::ledger::{range_advice, to_base};
use toml::{Table, Value};

/// A range a number must lie in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// Any finite number.
    Any,
    /// `x ≥ 0`.
    NonNegative,
    /// `x > 0`.
    Positive,
    /// `0 ≤ x ≤ 1` (a probability or a share).
    Unit,
    /// `lo ≤ x ≤ hi`.
    Closed(f64, f64),
    /// `lo ≤ x < hi`.
    HalfOpen(f64, f64),
}

impl Range {
    fn contains(self, x: f64) -> bool {
        match self {
            Range::Any => true,
            Range::NonNegative => x >= 0.0,
            Range::Positive => x > 0.0,
            Range::Unit => (0.0..=1.0).contains(&x),
            Range::Closed(lo, hi) => (lo..=hi).contains(&x),
            Range::HalfOpen(lo, hi) => (lo..hi).contains(&x),
        }
    }

    fn describe(self) -> String {
        match self {
            Range::Any => "a finite number".into(),
            Range::NonNegative => "a finite number >= 0".into(),
            Range::Positive => "a finite number > 0".into(),
            Range::Unit => "a number from 0 to 1".into(),
            Range::Closed(lo, hi) => format!("a number from {lo} to {hi}"),
            Range::HalfOpen(lo, hi) => format!("a number >= {lo} and < {hi}"),
        }
    }
}

/// Describes a TOML value for an error message ("found …").
pub fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string {s:?}"),
        Value::Integer(i) => i.to_string(),
        // As written in TOML: `150.0`, not `150` (which would read as a
        // whole number in a message about one).
        Value::Float(x) => format!("{x:?}"),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => format!("the date {d}"),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}

/// The first character of `s` that would garble a terminal or a CSV file
/// if echoed raw: a control character (ESC, CR, NUL, DEL, …; a line feed or
/// tab too unless `text` allows them, for free text) or a bidirectional
/// override, which reorders what follows it on screen.
pub(crate) fn control_character(s: &str, text: bool) -> Option<char> {
    s.chars().find(|&c| {
        let allowed = text && matches!(c, '\n' | '\t');
        (c.is_control() && !allowed)
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// The error message for a string holding control character `c`: the
/// string and the character escaped, never raw.
pub(crate) fn control_message(what: &str, s: &str, c: char) -> String {
    format!(
        "expected {what} without control characters, found {s:?} (it holds {c:?}, U+{:04X})",
        u32::from(c)
    )
}

/// Names for a message, at most the first 10 of them: a list of 200,000
/// groups is not a one-line error.
pub(crate) fn name_list(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let head = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        format!("{head}, … ({} in all)", names.len())
    } else {
        head
    }
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

/// One TOML table being read, with its place in the scenario.
#[derive(Debug)]
pub struct Fields<'a> {
    origin: &'a str,
    path: String,
    table: &'a Table,
    known: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    /// Starts reading `table`, found at `path` in the scenario from `origin`.
    pub fn new(origin: &'a str, path: impl Into<String>, table: &'a Table) -> Self {
        Fields {
            origin,
            path: path.into(),
            table,
            known: Vec::new(),
        }
    }

    /// The dotted path of this table (empty at the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Where the scenario came from.
    pub fn origin(&self) -> &'a str {
        self.origin
    }

    /// The dotted path of `key` in this table.
    pub fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// An error about `key` of this table (or about the table itself when
    /// `key` is empty).
    pub fn error(&self, key: &str, message: impl Into<String>) -> Error {
        let path = if key.is_empty() {
            self.path.clone()
        } else {
            self.path_of(key)
        };
        Error::scenario(self.origin, path, message)
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        self.table.get(key)
    }

    fn missing(&self, key: &str, what: &str) -> Error {
        // A missing field next to an unknown one is usually a typo: say so.
        let typo = self
            .table
            .keys()
            .filter(|k| !self.known.iter().any(|known| known == k))
            .find(|k| edit_distance(k, key) <= 2);
        match typo {
            Some(t) => self.error(
                key,
                format!("missing field; expected {what} (is `{t}` a misspelling of `{key}`?)"),
            ),
            None => self.error(key, format!("missing field; expected {what}")),
        }
    }

    /// The raw value of `key`, if present (marks it as known), for a
    /// reader of its own (a matrix, a table of names).
    pub fn raw(&mut self, key: &'static str) -> Option<&'a Value> {
        self.get(key)
    }

    /// True if the table has `key` (marks it as known).
    pub fn has(&mut self, key: &'static str) -> bool {
        self.get(key).is_some()
    }

    /// Reads an optional value as TOML holds it, of any type, for a field
    /// whose entries mix types (a learner's `actions`: names and tables);
    /// the caller checks it, and names the field in its errors with
    /// [`Fields::error`].
    pub fn opt_value(&mut self, key: &'static str) -> Option<&'a Value> {
        self.get(key)
    }

    /// Reads an optional number in `range`.
    pub fn opt_number(&mut self, key: &'static str, range: Range) -> Result<Option<f64>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let x = match value {
            Value::Float(x) => *x,
            Value::Integer(i) => *i as f64,
            other => {
                return Err(self.error(
                    key,
                    format!("expected {}, found {}", range.describe(), describe(other)),
                ))
            }
        };
        if !x.is_finite() || !range.contains(x) {
            return Err(self.error(key, format!("expected {}, found {x}", range.describe())));
        }
        Ok(Some(x))
    }

    /// Reads a required number in `range`.
    pub fn number(&mut self, key: &'static str, range: Range) -> Result<f64> {
        self.opt_number(key, range)?
            .ok_or_else(|| self.missing(key, &range.describe()))
    }

    /// Reads a number in `range`, or `default` when absent.
    pub fn number_or(&mut self, key: &'static str, range: Range, default: f64) -> Result<f64> {
        Ok(self.opt_number(key, range)?.unwrap_or(default))
    }

    /// Reads an optional `true` or `false`.
    pub fn opt_bool(&mut self, key: &'static str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b)),
            Some(other) => Err(self.error(
                key,
                format!("expected true or false, found {}", describe(other)),
            )),
        }
    }

    /// Reads an optional whole number `≥ min` (and `≤ max`).
    pub fn opt_whole(&mut self, key: &'static str, min: u64, max: u64) -> Result<Option<u64>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let expected = if max == u64::MAX {
            format!("a whole number >= {min}")
        } else {
            format!("a whole number from {min} to {max}")
        };
        match value {
            Value::Integer(i) if *i >= 0 && (*i as u64) >= min && (*i as u64) <= max => {
                Ok(Some(*i as u64))
            }
            // `150.0` is a float in TOML: say so, and what to write instead.
            Value::Float(x)
                if x.fract() == 0.0 && *x >= min as f64 && *x <= max as f64 && *x < 9.007e15 =>
            {
                Err(self.error(
                    key,
                    format!(
                        "expected {expected}, found {x:?} (a float); write {}",
                        *x as u64
                    ),
                ))
            }
            other => Err(self.error(
                key,
                format!("expected {expected}, found {}", describe(other)),
            )),
        }
    }

    /// Reads a required whole number `≥ min` (and `≤ max`).
    pub fn whole(&mut self, key: &'static str, min: u64, max: u64) -> Result<u64> {
        self.opt_whole(key, min, max)?
            .ok_or_else(|| self.missing(key, &format!("a whole number >= {min}")))
    }

    /// Reads an optional string: a name or label, without control
    /// characters (ESC, CR, NUL, DEL, line feeds, tabs, …) or bidirectional
    /// overrides, which would otherwise be echoed raw to terminals and into
    /// CSV files.
    pub fn opt_string(&mut self, key: &'static str) -> Result<Option<&'a str>> {
        self.opt_str(key, false)
    }

    /// Reads an optional free text (a description): like
    /// [`Fields::opt_string`], but line feeds and tabs are allowed.
    pub fn opt_text(&mut self, key: &'static str) -> Result<Option<&'a str>> {
        self.opt_str(key, true)
    }

    fn opt_str(&mut self, key: &'static str, text: bool) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => match control_character(s, text) {
                None => Ok(Some(s)),
                Some(c) => Err(self.error(key, control_message("a string", s, c))),
            },
            Some(other) => {
                Err(self.error(key, format!("expected a string, found {}", describe(other))))
            }
        }
    }

    /// Reads a required string.
    pub fn string(&mut self, key: &'static str) -> Result<&'a str> {
        self.opt_string(key)?
            .ok_or_else(|| self.missing(key, "a string"))
    }

    /// Reads a required string that must be one of `choices`.
    pub fn choice(&mut self, key: &'static str, choices: &[&str]) -> Result<&'a str> {
        let s = self.string(key)?;
        if choices.contains(&s) {
            Ok(s)
        } else {
            Err(self.error(
                key,
                format!(
                    "unknown value {s:?}; expected one of: {}",
                    choices.join(", ")
                ),
            ))
        }
    }

    /// Reads a required string naming one of the kinds `K` and returns the
    /// kind; any other string is an error listing the kinds' names.
    pub fn kind<K: Kind>(&mut self, key: &'static str) -> Result<K> {
        let s = self.string(key)?;
        K::from_name(s).ok_or_else(|| {
            self.error(
                key,
                format!("unknown value {s:?}; expected one of: {}", K::name_list()),
            )
        })
    }

    /// Reads an optional string naming one of the kinds `K`; any other
    /// string is an error `unknown WHAT "…"; expected one of: …`.
    pub fn opt_kind<K: Kind>(&mut self, key: &'static str, what: &str) -> Result<Option<K>> {
        let Some(s) = self.opt_string(key)? else {
            return Ok(None);
        };
        K::from_name(s).map(Some).ok_or_else(|| {
            self.error(
                key,
                format!("unknown {what} {s:?}; expected one of: {}", K::name_list()),
            )
        })
    }

    /// Reads the name of an asset and returns its index in `assets`.
    pub fn asset(&mut self, key: &'static str, assets: &[String]) -> Result<usize> {
        let name = self.string(key)?;
        assets.iter().position(|a| a == name).ok_or_else(|| {
            self.error(
                key,
                format!(
                    "unknown asset {name:?}; expected one of the scenario's assets: {}",
                    name_list(assets)
                ),
            )
        })
    }

    /// Reads an optional array of numbers, each in `range`.
    pub fn opt_numbers(&mut self, key: &'static str, range: Range) -> Result<Option<Vec<f64>>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(self.error(
                key,
                format!("expected an array of numbers, found {}", describe(value)),
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = match v {
                    Value::Float(x) => *x,
                    Value::Integer(n) => *n as f64,
                    _ => f64::NAN,
                };
                if x.is_finite() && range.contains(x) {
                    Ok(x)
                } else {
                    Err(self.error(
                        &format!("{key}[{i}]"),
                        format!("expected {}, found {}", range.describe(), describe(v)),
                    ))
                }
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// Reads a required array of strings.
    pub fn strings(&mut self, key: &'static str) -> Result<Vec<&'a str>> {
        let Some(value) = self.get(key) else {
            return Err(self.error(key, "missing field; expected an array of names"));
        };
        let Value::Array(items) = value else {
            return Err(self.error(
                key,
                format!("expected an array of names, found {}", describe(value)),
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => match control_character(s, false) {
                    None => Ok(s.as_str()),
                    Some(c) => {
                        Err(self.error(&format!("{key}[{i}]"), control_message("a name", s, c)))
                    }
                },
                other => Err(self.error(
                    &format!("{key}[{i}]"),
                    format!("expected a name, found {}", describe(other)),
                )),
            })
            .collect()
    }

    /// Reads an optional sub-table.
    pub fn opt_table(&mut self, key: &'static str) -> Result<Option<Fields<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(Fields::new(self.origin, self.path_of(key), t))),
            Some(other) => {
                Err(self.error(key, format!("expected a table, found {}", describe(other))))
            }
        }
    }

    /// Reads a required sub-table.
    pub fn table(&mut self, key: &'static str) -> Result<Fields<'a>> {
        self.opt_table(key)?
            .ok_or_else(|| self.missing(key, "a table"))
    }

    /// Reads an optional array of tables (a single table is taken as an array
    /// of one). Each element's path is `key.NAME` when it has a string field
    /// `name_key` without dots, else `key[i]`.
    pub fn tables(&mut self, key: &'static str, name_key: Option<&str>) -> Result<Vec<Fields<'a>>> {
        let items: Vec<&'a Value> = match self.get(key) {
            None => return Ok(Vec::new()),
            Some(v @ Value::Table(_)) => vec![v],
            Some(Value::Array(items)) => items.iter().collect(),
            Some(other) => {
                return Err(self.error(
                    key,
                    format!("expected an array of tables, found {}", describe(other)),
                ))
            }
        };
        let base = self.path_of(key);
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Table(t) => {
                    let name = name_key
                        .and_then(|k| t.get(k))
                        .and_then(Value::as_str)
                        .filter(|n| {
                            !n.is_empty()
                                && !n.contains('.')
                                && control_character(n, false).is_none()
                        });
                    let path = match name {
                        Some(n) => format!("{base}.{n}"),
                        None => format!("{base}[{i}]"),
                    };
                    Ok(Fields::new(self.origin, path, t))
                }
                other => Err(Error::scenario(
                    self.origin,
                    format!("{base}[{i}]"),
                    format!("expected a table, found {}", describe(other)),
                )),
            })
            .collect()
    }

    /// Ends reading: an error if the table has a key that no getter asked for.
    pub fn finish(self) -> Result<()> {
        for key in self.table.keys() {
            if !self.known.iter().any(|k| k == key) {
                let mut known = self.known.clone();
                known.sort_unstable();
                // A key is the user's text: escaped if it would garble the
                // terminal.
                let shown = match control_character(key, false) {
                    Some(_) => format!("{key:?}"),
                    None => key.clone(),
                };
                return Err(Error::scenario(
                    self.origin,
                    self.path_of(&shown),
                    format!("unknown field; expected one of: {}", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

pub(super) fn parse_name(f: &mut Fields<'_>, key: &'static str) -> Result<String> {
    let name = f.string(key)?;
    if name.is_empty() || name.contains(['.', ',', '"', '\n']) || name.trim() != name {
        return Err(f.error(
            key,
            format!("expected a non-empty name without '.', ',', quotes or surrounding spaces, found {name:?}"),
        ));
    }
    Ok(name.to_string())
}

/// What an amount `x` of `what` (`"money"`, `"token"`) past the ledger's
/// range is told.
pub(super) fn past_range(x: f64, what: &str) -> String {
    format!("{x:e} exceeds {}", range_advice(what))
}

/// An amount of money per unit that a run pays (a cost, a reserve price):
/// within the ledger's range, or an error naming the field and the range
/// (past it, the amount would have been charged as 0).
pub(super) fn money_in_range(p: &Fields<'_>, key: &str, x: f64) -> Result<()> {
    match to_base(x) {
        Some(_) => Ok(()),
        None => Err(p.error(key, past_range(x, "money"))),
    }
}

/// A size that must be at least one base unit and fit the ledger.
pub(super) fn check_base(p: &Fields<'_>, key: &str, x: f64, what: &str) -> Result<()> {
    match to_base(x) {
        Some(b) if b > 0 => Ok(()),
        _ => Err(p.error(
            key,
            format!("expected a size between 1e-9 (one base unit of {what}) and 1.8e10, found {x}"),
        )),
    }
}

/// A token amount in base units, at least one base unit.
pub(super) fn token_amount(
    p: &mut Fields<'_>,
    key: &'static str,
    default: Option<f64>,
) -> Result<u64> {
    let x = match default {
        Some(d) => p.number_or(key, Range::Positive, d)?,
        None => p.number(key, Range::Positive)?,
    };
    match to_base(x) {
        Some(b) if b > 0 => Ok(b),
        _ => Err(p.error(
            key,
            format!("expected an amount between 1e-9 and 1.8e10 tokens, found {x}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> Table {
        text.parse::<Table>().unwrap()
    }

    #[test]
    fn errors_name_origin_path_found_and_expected() {
        let t = table("x = -1\ny = inf\nn = 2.5\ns = 3");
        let mut f = Fields::new("s.toml", "assets.T", &t);
        let e = f.number("x", Range::NonNegative).unwrap_err().to_string();
        assert_eq!(
            e,
            "s.toml: assets.T.x: expected a finite number >= 0, found -1"
        );
        let e = f.number("y", Range::Any).unwrap_err().to_string();
        assert_eq!(e, "s.toml: assets.T.y: expected a finite number, found inf");
        let e = f.whole("n", 1, u64::MAX).unwrap_err().to_string();
        assert_eq!(
            e,
            "s.toml: assets.T.n: expected a whole number >= 1, found 2.5"
        );
        let e = f.string("s").unwrap_err().to_string();
        assert_eq!(e, "s.toml: assets.T.s: expected a string, found 3");
        let e = f.number("z", Range::Unit).unwrap_err().to_string();
        assert_eq!(
            e,
            "s.toml: assets.T.z: missing field; expected a number from 0 to 1"
        );
    }

    #[test]
    fn finish_rejects_unknown_keys_and_lists_the_known_ones() {
        let t = table("a = 1\nb = 2\ntypo = 3");
        let mut f = Fields::new("s.toml", "", &t);
        f.number("a", Range::Any).unwrap();
        f.opt_number("b", Range::Any).unwrap();
        f.opt_number("c", Range::Any).unwrap();
        let e = f.finish().unwrap_err().to_string();
        assert_eq!(e, "s.toml: typo: unknown field; expected one of: a, b, c");
    }

    #[test]
    fn a_missing_field_next_to_a_near_miss_suggests_the_typo() {
        let t = table("p_biy = 0.5");
        let mut f = Fields::new("s.toml", "agents.noise.policy", &t);
        let e = f.number("p_buy", Range::Unit).unwrap_err().to_string();
        assert_eq!(
            e,
            "s.toml: agents.noise.policy.p_buy: missing field; expected a number from 0 to 1 \
             (is `p_biy` a misspelling of `p_buy`?)"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
    }

    #[test]
    fn array_elements_are_named_by_their_name_field() {
        let t = table("[[assets]]\nname = \"TOKEN\"\n[[assets]]\nprice = 1\n");
        let mut f = Fields::new("s.toml", "", &t);
        let items = f.tables("assets", Some("name")).unwrap();
        assert_eq!(items[0].path(), "assets.TOKEN");
        assert_eq!(items[1].path(), "assets[1]");
    }
}
