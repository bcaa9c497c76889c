//! Writing a changed scenario as the user's own file: the text it was read
//! from, comments, layout and key order kept, with only the values that
//! differ replaced (with `toml_edit`, which keeps a document's formatting).
//!
//! The changes are found by comparing the table the text gives with the
//! scenario's table, so that whatever changed it (an optimised parameter,
//! a new seed, a categorical value) is written the same way. The
//! result is checked to read back as exactly the scenario's table; in the
//! rare case it would not, the table is written plainly instead.

use super::Scenario;
use crate::error::{Error, Result};
use toml::Value;
use toml_edit::{DocumentMut, Item};

/// One step of a path into a TOML document.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// A value to write (or, `None`, a key to remove) at a path.
#[derive(Debug)]
struct Change {
    path: Vec<Step>,
    new: Option<Value>,
}

/// Collects the changes that turn `old` into `new`, leaves first: a table
/// or an array of the same length is compared entry by entry, anything
/// else replaced whole.
fn diff(path: &mut Vec<Step>, old: &Value, new: &Value, out: &mut Vec<Change>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Table(a), Value::Table(b)) => {
            for (key, vb) in b {
                path.push(Step::Key(key.clone()));
                match a.get(key) {
                    Some(va) => diff(path, va, vb, out),
                    None => out.push(Change {
                        path: path.clone(),
                        new: Some(vb.clone()),
                    }),
                }
                path.pop();
            }
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                let mut at = path.clone();
                at.push(Step::Key(key.clone()));
                out.push(Change {
                    path: at,
                    new: None,
                });
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (va, vb)) in a.iter().zip(b).enumerate() {
                path.push(Step::Index(i));
                diff(path, va, vb, out);
                path.pop();
            }
        }
        _ => out.push(Change {
            path: path.clone(),
            new: Some(new.clone()),
        }),
    }
}

/// The value as a `toml_edit` value, by way of its inline TOML text.
fn edit_value(value: &Value) -> Option<toml_edit::Value> {
    value.to_string().parse().ok()
}

/// Applies one change; `None` when the document's shape does not allow it.
fn apply(root: &mut Item, change: &Change) -> Option<()> {
    let (last, parents) = change.path.split_last()?;
    let mut here = root;
    for step in parents {
        here = match step {
            Step::Key(k) => here.get_mut(k.as_str())?,
            Step::Index(i) => here.get_mut(*i)?,
        };
    }
    let slot = match (last, &change.new) {
        (Step::Key(k), None) => {
            here.as_table_like_mut()?.remove(k)?;
            return Some(());
        }
        (Step::Key(k), Some(new)) => {
            let table = here.as_table_like_mut()?;
            if !table.contains_key(k) {
                table.insert(k, Item::Value(edit_value(new)?));
                return Some(());
            }
            table.get_mut(k)?
        }
        (Step::Index(i), new) => {
            let slot = here.get_mut(*i)?;
            if new.is_none() {
                return None;
            }
            slot
        }
    };
    let mut value = edit_value(change.new.as_ref()?)?;
    // Keep the spacing and any comment around the old value.
    if let Item::Value(old) = slot {
        *value.decor_mut() = old.decor().clone();
    }
    *slot = Item::Value(value);
    Some(())
}

impl Scenario {
    /// Returns the scenario as TOML text: the text it was read from, with
    /// its comments, layout and key order, where only the values that
    /// differ from that text are replaced (those set by
    /// [`with_value`](Scenario::with_value), [`set_seed`](Scenario::set_seed)
    /// and the like). A scenario not read from text is written plainly.
    /// Either way the text reads back as this scenario, with the same
    /// [`hash`](Scenario::hash).
    pub fn to_toml_keeping_layout(&self) -> Result<String> {
        let plain = || {
            toml::to_string(&self.source)
                .map_err(|e| Error::writing("scenario.toml", std::io::Error::other(e)))
        };
        let Some(text) = &self.text else {
            return plain();
        };
        let (Ok(original), Ok(mut doc)) =
            (text.parse::<toml::Table>(), text.parse::<DocumentMut>())
        else {
            return plain();
        };
        let mut changes = Vec::new();
        diff(
            &mut Vec::new(),
            &Value::Table(original),
            &Value::Table(self.source.clone()),
            &mut changes,
        );
        let root = doc.as_item_mut();
        if changes.iter().any(|c| apply(root, c).is_none()) {
            return plain();
        }
        let edited = doc.to_string();
        match edited.parse::<toml::Table>() {
            Ok(back) if back == self.source => Ok(edited),
            _ => plain(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::{ParamValue, Scenario};

    const TEXT: &str = r#"# A user's scenario: this comment stays.
[simulation]
seed = 1   # the seed
steps = 10

[[assets]]
name = "TOKEN"
# the curve, tuned by hand
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }

[[agents]]
group = "noise"
count = 5
balance = 10.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }
"#;

    #[test]
    fn only_the_changed_values_change_and_the_rest_of_the_text_stays() {
        let s = Scenario::from_toml_str(TEXT, "s.toml").unwrap();
        assert_eq!(s.to_toml_keeping_layout().unwrap(), TEXT);
        let mut changed = s
            .with_param("assets.TOKEN.pricing.m", 0.0002)
            .unwrap()
            .with_param("agents.noise.count", 7.0)
            .unwrap();
        changed.set_seed(9).unwrap();
        changed.set_runs(4).unwrap();
        let text = changed.to_toml_keeping_layout().unwrap();
        let expected = TEXT
            .replace("m = 0.001,", "m = 0.0002,")
            .replace("count = 5", "count = 7")
            .replace("seed = 1   # the seed", "seed = 9   # the seed")
            .replace("steps = 10\n", "steps = 10\nruns = 4\n");
        assert_eq!(text, expected);
        let back = Scenario::from_toml_str(&text, "back").unwrap();
        assert_eq!(back.hash(), changed.hash());
    }

    #[test]
    fn a_string_or_a_whole_table_is_replaced_in_place() {
        let s = Scenario::from_toml_str(TEXT, "s.toml").unwrap();
        let power =
            ParamValue::parse(r#"{ kind = "bonding_curve", curve = "power", a = 0.01, n = 1.5 }"#)
                .unwrap();
        let changed = s.with_value("assets.TOKEN.pricing", &power).unwrap();
        let text = changed.to_toml_keeping_layout().unwrap();
        assert!(text.starts_with("# A user's scenario: this comment stays.\n"));
        assert!(
            text.contains("# the curve, tuned by hand\npricing = {"),
            "{text}"
        );
        assert!(!text.contains("m = 0.001"), "{text}");
        let back = Scenario::from_toml_str(&text, "back").unwrap();
        assert_eq!(back.hash(), changed.hash());
    }

    #[test]
    fn a_scenario_built_from_a_table_is_written_plainly() {
        let s = Scenario::from_toml_str(TEXT, "s.toml").unwrap();
        let built = Scenario::from_table(
            s.to_table().clone(),
            "built",
            &crate::scenario::PolicyRegistry::new(),
        )
        .unwrap();
        let text = built.to_toml_keeping_layout().unwrap();
        assert!(!text.contains('#'));
        assert_eq!(
            Scenario::from_toml_str(&text, "back").unwrap().hash(),
            s.hash()
        );
    }
}
