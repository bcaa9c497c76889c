//! Population games in a scenario: the `kind = "game"` asset and the
//! `player` policy of the groups that play it (see
//! [`crate::games::population`]).
//!
//! ```toml
//! [[assets]]
//! name = "contest"
//! kind = "game"
//! strategies = ["hawk", "dove"]
//! payoffs = [[-25.0, 50.0], [0.0, 15.0]]  # payoffs[i][j]: strategy i against j
//! # or: game = "hawk-dove.toml"          # a game file (symmetric), relative to the scenario
//! group_size = 2                          # players per match
//! payoff_unit = 0.01                      # money units per payoff point
//! pool = 100000.0                         # money in the pool at step 0
//!
//! [[agents]]
//! group = "birds"
//! count = 10000
//! balance = 100.0
//! policy = { kind = "player", asset = "contest", shares = { hawk = 0.2, dove = 0.8 }, revision = "imitation", rate = 0.1 }
//! ```

use super::fields::{money_in_range, past_range};
use super::{describe, kinds, AssetSpec, Fields, PricingSpec, Range};
use crate::agents::BuiltinPolicy;
use crate::error::Result;
use crate::games::game::read_matrix;
use crate::games::population::{check_shares, GameSpec, PlayerPolicy, Revision};
use crate::games::NormalFormGame;
use crate::ledger::to_base;
use std::path::Path;
use toml::Value;

/// The most strategies a population game may have.
pub const MAX_STRATEGIES: usize = 1024;

/// Reads a game asset's fields (`name` and `kind` already read).
pub(super) fn parse_game_asset(f: &mut Fields<'_>, name: String) -> Result<AssetSpec> {
    let origin = f.origin();
    let labels = match f.has("strategies") {
        true => Some(f.strings("strategies")?),
        false => None,
    };
    let inline = f.raw("payoffs");
    let file = f.opt_string("game")?;
    let (game, file) = match (inline, file) {
        (Some(_), Some(_)) => {
            return Err(f.error(
                "game",
                "give either payoffs (the matrix, inline) or game (a game file), not both",
            ))
        }
        (None, None) => {
            return Err(f.error(
                "payoffs",
                "missing field; expected the payoff matrix, payoffs[i][j] for strategy i \
                 against strategy j (e.g. [[-25.0, 50.0], [0.0, 15.0]]), or game = \"FILE\"",
            ))
        }
        (Some(value), None) => {
            let a = read_matrix(origin, &f.path_of("payoffs"), value)?;
            if a.rows() != a.cols() {
                return Err(f.error(
                    "payoffs",
                    format!(
                        "expected a square matrix (one row and one column per strategy), found {}x{}",
                        a.rows(),
                        a.cols()
                    ),
                ));
            }
            (NormalFormGame::symmetric(name.clone(), a)?, None)
        }
        (None, Some(file)) => {
            let path = resolve(origin, file);
            let game = NormalFormGame::from_path(&path).map_err(|e| {
                f.error(
                    "game",
                    format!("reading the game file {}: {e}", path.display()),
                )
            })?;
            if labels.is_some() {
                return Err(f.error(
                    "strategies",
                    "the game file labels the strategies (its game.strategies); remove strategies here",
                ));
            }
            if !game.is_symmetric() {
                return Err(f.error(
                    "game",
                    format!(
                        "the game in {} is not symmetric: a population game is played by one \
                         population against itself, so the column player's payoffs must be the \
                         transpose of the row player's",
                        path.display()
                    ),
                ));
            }
            (game, Some(file.to_string()))
        }
    };
    if game.rows() > MAX_STRATEGIES {
        return Err(f.error(
            if file.is_some() { "game" } else { "payoffs" },
            format!(
                "expected at most {MAX_STRATEGIES} strategies, found {}",
                game.rows()
            ),
        ));
    }
    let game = match labels {
        None => game,
        Some(l) => {
            let l: Vec<String> = l.into_iter().map(str::to_string).collect();
            check_labels(f, &l, game.rows())?;
            game.with_labels(l.clone(), l)?
        }
    };
    let group_size = f.opt_whole("group_size", 2, 1024)?.unwrap_or(2) as u32;
    let payoff_unit = f.number_or("payoff_unit", Range::Positive, 1.0)?;
    let largest = game
        .row_payoffs()
        .data()
        .iter()
        .fold(0.0f64, |m, x| m.max(x.abs()));
    if to_base(largest * payoff_unit).is_none() {
        return Err(f.error(
            "payoff_unit",
            past_range(largest * payoff_unit, "money") + " (the largest payoff times payoff_unit)",
        ));
    }
    let pool = f.number_or("pool", Range::NonNegative, 0.0)?;
    money_in_range(f, "pool", pool)?;
    for key in ["initial_supply", "pricing", "schedule"] {
        let key: &'static str = key;
        if f.has(key) {
            return Err(f.error(
                key,
                "a game asset has no supply, pricing or schedule: it is played, not traded",
            ));
        }
    }
    Ok(AssetSpec {
        name,
        initial_supply: 0.0,
        pricing: PricingSpec::Game(GameSpec {
            game,
            group_size,
            payoff_unit,
            pool,
            file,
        }),
        schedule: Vec::new(),
    })
}

/// One label per strategy, none empty, none twice.
fn check_labels(f: &Fields<'_>, labels: &[String], n: usize) -> Result<()> {
    if labels.len() != n {
        return Err(f.error(
            "strategies",
            format!(
                "expected {n} labels (one per row of payoffs), found {}",
                labels.len()
            ),
        ));
    }
    for (i, label) in labels.iter().enumerate() {
        if label.trim().is_empty() {
            return Err(f.error(&format!("strategies[{i}]"), "expected a non-empty label"));
        }
        if labels[..i].contains(label) {
            return Err(f.error(
                &format!("strategies[{i}]"),
                format!("the label {label:?} appears twice; labels must be unique"),
            ));
        }
    }
    Ok(())
}

/// A game file's path: relative to the scenario file's folder.
fn resolve(origin: &str, file: &str) -> std::path::PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match Path::new(origin).parent() {
        Some(dir) => dir.join(path),
        None => path.to_path_buf(),
    }
}

kinds! {
    /// A player's `revision` protocol.
    enum RevisionKind {
        Imitation = "imitation",
        BestResponse = "best_response",
        Logit = "logit",
    }
}

/// Reads a `player` policy (`kind` read, `asset` is the game).
pub(super) fn parse_player(p: &mut Fields<'_>, asset: usize) -> Result<BuiltinPolicy> {
    let shares = match p.raw("shares") {
        None => {
            return Err(p.error(
                "shares",
                "missing field; expected the initial share of each strategy, e.g. \
                 { hawk = 0.5, dove = 0.5 }",
            ))
        }
        Some(Value::Table(t)) => {
            let mut shares = Vec::with_capacity(t.len());
            for (label, v) in t {
                let x = match v {
                    Value::Float(x) => *x,
                    Value::Integer(n) => *n as f64,
                    other => {
                        return Err(p.error(
                            &format!("shares.{label}"),
                            format!("expected a number from 0 to 1, found {}", describe(other)),
                        ))
                    }
                };
                shares.push((label.clone(), x));
            }
            shares
        }
        Some(other) => {
            return Err(p.error(
                "shares",
                format!(
                    "expected a table of shares by strategy, e.g. {{ hawk = 0.5, dove = 0.5 }}, found {}",
                    describe(other)
                ),
            ))
        }
    };
    if let Err((at, message)) = check_shares(&shares) {
        let key = match at {
            Some(i) => format!("shares.{}", shares[i].0),
            None => "shares".to_string(),
        };
        return Err(p.error(&key, message));
    }
    let revision = match p.kind("revision")? {
        RevisionKind::Imitation => Revision::Imitation,
        RevisionKind::BestResponse => Revision::BestResponse,
        RevisionKind::Logit => Revision::Logit {
            eta: p.number("eta", Range::Positive)?,
        },
    };
    let rate = p.number("rate", Range::Unit)?;
    Ok(BuiltinPolicy::Player(PlayerPolicy {
        asset,
        shares,
        revision,
        rate,
    }))
}

/// A player's `shares` name strategies of its game (checked once the
/// assets are known).
pub(super) fn check_player(
    f: &Fields<'_>,
    policy: &PlayerPolicy,
    assets: &[AssetSpec],
) -> Result<()> {
    let Some(PricingSpec::Game(spec)) = assets.get(policy.asset).map(|a| &a.pricing) else {
        return Ok(());
    };
    let labels = spec.strategies();
    for (label, _) in &policy.shares {
        if !labels.contains(label) {
            return Err(f.error(
                &format!("policy.shares.{label}"),
                format!(
                    "unknown strategy {label:?}; the game {:?} has: {}",
                    assets[policy.asset].name,
                    labels.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// True if a game asset was read from a game file.
pub(super) fn has_game_file(assets: &[AssetSpec]) -> bool {
    assets
        .iter()
        .any(|a| matches!(&a.pricing, PricingSpec::Game(g) if g.file.is_some()))
}

/// Replaces each `game = "FILE"` of `table`'s assets by the game's
/// `strategies` and `payoffs`, inline.
pub(super) fn inline_game_files(table: &mut toml::Table, assets: &[AssetSpec]) {
    if !has_game_file(assets) {
        return;
    }
    let entries: Vec<&mut toml::Table> = match table.get_mut("assets") {
        Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_table_mut).collect(),
        Some(Value::Table(t)) => vec![t],
        _ => return,
    };
    for (entry, asset) in entries.into_iter().zip(assets) {
        let PricingSpec::Game(g) = &asset.pricing else {
            continue;
        };
        if g.file.is_none() {
            continue;
        }
        entry.remove("game");
        let labels = g.strategies().iter().cloned().map(Value::String).collect();
        entry.insert("strategies".into(), Value::Array(labels));
        let a = g.game.row_payoffs();
        let rows = (0..a.rows())
            .map(|i| Value::Array(a.row(i).iter().copied().map(Value::Float).collect()))
            .collect();
        entry.insert("payoffs".into(), Value::Array(rows));
    }
}
