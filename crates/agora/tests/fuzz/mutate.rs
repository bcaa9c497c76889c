//! Structural mutation of scenarios and the properties every run must keep,
//! shared by the `run_scenario` cargo-fuzz target (fuzz/fuzz_targets) and
//! the proptest campaign of `cargo test` (tests/fuzz.rs), so that stable CI
//! runs the same harness as a long nightly campaign.
//!
//! An input is a scenario's TOML text, optionally followed by a NUL byte and
//! mutation bytes. The text is parsed into a table, the mutation bytes are
//! read as a program of structural edits (replace a value by an extreme one,
//! nudge a number past a range edge, delete or insert a key, duplicate,
//! swap or splice entries, swap a string for a keyword), and the result is
//! rendered back to text and checked by [`check`]: it is rejected with a
//! one-line input error, or it runs a few steps with every invariant
//! holding and writes outputs that read back as the same scenario.

// Each user of this file (the test binary, the fuzz target) uses a part.
#![allow(dead_code)]

use agora::engine::Checkpoint;
use agora::scenario::examples;
use agora::{ErrorKind, RunOutput, Scenario, Simulation};
use std::sync::OnceLock;
use toml::{Table, Value};

/// The origin that every error message must start with.
pub const ORIGIN: &str = "fuzz.toml";

/// Runs are capped at this many steps so that each input is fast.
pub const MAX_STEPS: i64 = 8;

/// Each group is capped at this many agents for a run (a few hundred in all).
pub const MAX_GROUP: i64 = 40;

/// A scenario with more agents than this after capping is parsed, not run.
pub const MAX_RUN_AGENTS: u64 = 400;

/// A scenario whose run needs more memory than this by
/// [`agora::limits::run_footprint`] (three firms' Q-tables over 60 prices
/// are 311 MB) is parsed, not run: the harness holds a run, its state and
/// its checkpoint's bytes at once, under the fuzzer's 2 GB limit. A big
/// run, not a bug.
pub const MAX_RUN_BYTES: u128 = 128 << 20;

/// At most this many edits are read from one input.
const MAX_EDITS: usize = 24;

/// Keys, kinds and keywords of the scenario format (a mutation inserts or
/// swaps them in); also the libFuzzer dictionary's words.
pub const WORDS: &[&str] = &[
    "a",
    "amm",
    "scripted",
    "action",
    "spend",
    "amount",
    "step",
    "constant_product",
    "max_slippage",
    "reserve_money",
    "reserve_token",
    "activity",
    "agent_steps",
    "agents",
    "allocation",
    "alpha",
    "asset",
    "assets",
    "at",
    "auction",
    "b",
    "balance",
    "bancor",
    "band",
    "beta",
    "bonding_curve",
    "budget_share",
    "buy_below",
    "buy_fraction",
    "buyer",
    "c",
    "call_auction",
    "capacity",
    "constant",
    "constant_elasticity",
    "consumer",
    "cost",
    "count",
    "curve",
    "d",
    "decay",
    "demand",
    "description",
    "distribution",
    "dump",
    "duration",
    "elastic",
    "elasticity",
    "equilibrium",
    "events",
    "every",
    "exponential",
    "fee",
    "final_wealth",
    "fixed",
    "from",
    "fundamental",
    "group",
    "high",
    "holding_cost",
    "holdings",
    "initial_price",
    "initial_supply",
    "join",
    "k",
    "kind",
    "lambda",
    "lead_time",
    "leave",
    "linear",
    "log_wealth",
    "logarithmic",
    "lognormal",
    "lookback",
    "lot",
    "lot_size",
    "low",
    "m",
    "margin",
    "market_maker",
    "max_change",
    "max_inventory",
    "max_output",
    "max_price",
    "max_relative_change",
    "mean",
    "mean_reversion",
    "min_price",
    "momentum",
    "money",
    "mu",
    "n",
    "name",
    "need",
    "need_schedule",
    "noise",
    "normal",
    "objective",
    "order_book",
    "outage",
    "output",
    "p_buy",
    "p_sell",
    "p_trade",
    "param",
    "parameter",
    "pareto",
    "policy",
    "power",
    "preferences",
    "price",
    "price_adjustment",
    "price_range",
    "pricing",
    "producer",
    "proportional",
    "random",
    "reference_price",
    "renewal",
    "renewing",
    "reserve_price",
    "reserve_ratio",
    "resource",
    "role",
    "rule",
    "runs",
    "sample",
    "scale",
    "schedule",
    "seed",
    "sell_above",
    "sell_all",
    "sell_fraction",
    "seller",
    "shape",
    "share",
    "sigma",
    "sigmoid",
    "simulation",
    "size",
    "skew",
    "spread",
    "stability",
    "std",
    "steps",
    "stock",
    "supply",
    "threshold",
    "tick_size",
    "to",
    "token",
    "total",
    "ttl",
    "uniform",
    "units",
    "valuation",
    "value",
    "weighted",
    "weights",
    "window",
    "zi_c",
    "fcfs",
    "priority",
    "max_min",
    "renewal",
    "q_learning",
    "bandit",
    "policy_gradient",
    "actions",
    "hold",
    "buy",
    "sell",
    "bid",
    "ask",
    "request",
    "delta",
    "epsilon",
    "q0",
    "uniform_opponents",
    "memory",
    "bins",
    "trend",
    "position",
    "algorithm",
    "epsilon_greedy",
    "ucb1",
    "thompson",
    "likelihood",
    "gaussian",
    "bernoulli",
    "learning_rate",
    // Wave 2's keys, kinds and keywords (contracts, incentives, governance,
    // monitors, learners, games), added at stop 51: without them the edits
    // never wrote `attribution = "last_touch"`, `vesting` or `clawback`.
    "a0",
    "adaptive",
    "affiliate",
    "affiliates",
    "arrival",
    "arrivals",
    "attackers",
    "attribution",
    "base",
    "basis",
    "best_response",
    "breaker",
    "budget",
    "burn",
    "buy_until",
    "cap",
    "capped",
    "circuit_breaker",
    "clawback",
    "collusion",
    "concentration",
    "contest",
    "contracts",
    "converged",
    "currency",
    "depth",
    "deterministic",
    "deviation",
    "early_rate",
    "early_sell_penalty",
    "effort",
    "emission",
    "eta",
    "evaluation_steps",
    "evolution",
    "exit_drawdown",
    "firms",
    "first_touch",
    "funding",
    "g",
    "game",
    "gini",
    "goal",
    "governance",
    "group_size",
    "halt_steps",
    "halving",
    "herfindahl",
    "holding_reward",
    "imitation",
    "incentives",
    "integral_clamp",
    "intelligence",
    "ki",
    "kp",
    "last_touch",
    "leak",
    "learners",
    "level",
    "levels",
    "liquidity",
    "liquidity_provider",
    "logit",
    "max",
    "max_move",
    "max_orders",
    "max_share",
    "measure",
    "mempool",
    "metrics",
    "min",
    "min_hold_steps",
    "min_holding",
    "min_profit",
    "min_rate",
    "min_round_trips",
    "min_sell",
    "monitors",
    "mutate",
    "net_tolerance",
    "ordering",
    "p0",
    "params",
    "participation",
    "participation_reward",
    "payoff_unit",
    "payoffs",
    "peg",
    "per",
    "per_affiliate",
    "per_step",
    "per_steps",
    "period",
    "pi_controller",
    "player",
    "poisson",
    "pool",
    "position_limit",
    "posted_price",
    "price_band",
    "prices",
    "primary",
    "priority_fee",
    "pump_and_dump",
    "punish",
    "quantity",
    "rate",
    "rate_limit",
    "record",
    "record_every",
    "reference",
    "referrals",
    "request_served",
    "resource_usage",
    "resting_order",
    "retouch",
    "revision",
    "reward",
    "rise",
    "s0",
    "sandwich",
    "select",
    "sell_from",
    "sell_share",
    "shade",
    "shares",
    "slashing",
    "spoofing",
    "stake",
    "staking",
    "stop",
    "strategies",
    "surplus",
    "sybil",
    "target",
    "targets",
    "task_completed",
    "task_completion",
    "tasks",
    "tiered",
    "tiers",
    "token_adoption",
    "totals",
    "trade",
    "trades",
    "transaction_tax",
    "treasury",
    "unbonding",
    "unstake",
    "utilisation",
    "valuations",
    "vesting",
    "volume",
    "volume_reward",
    "wash",
    "wash_trading",
    "withdraw_at",
    "withhold",
    "within",
    "xi",
];

/// The built-in examples, made small enough to run in a fuzzer's loop:
/// steps, group sizes and event times capped, Monte Carlo runs dropped;
/// every other one also asks for per-agent records (`[output] agent_steps`,
/// which no example uses). These are the seed corpus of the `run_scenario`
/// target.
pub fn seed_texts() -> &'static [(String, String)] {
    static SEEDS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        examples()
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let mut table: Table = e.toml.parse().ok()?;
                shrink(&mut table);
                if i % 2 == 1 && !table.contains_key("output") {
                    let mut records = Table::new();
                    records.insert("every".into(), Value::Integer(3));
                    records.insert("sample".into(), Value::Integer(5));
                    let mut output = Table::new();
                    output.insert("agent_steps".into(), Value::Table(records));
                    table.insert("output".into(), Value::Table(output));
                }
                Some((e.name.to_string(), toml::to_string(&table).ok()?))
            })
            .collect()
    })
}

/// The seed scenarios as tables, the material that splices copy from.
fn seed_tables() -> &'static [Table] {
    static TABLES: OnceLock<Vec<Table>> = OnceLock::new();
    TABLES.get_or_init(|| {
        seed_texts()
            .iter()
            .filter_map(|(_, text)| text.parse().ok())
            .collect()
    })
}

/// Makes an example small: at most [`MAX_STEPS`] steps, [`MAX_GROUP`] agents
/// a group, and events and schedules moved inside the shorter run.
fn shrink(table: &mut Table) {
    if let Some(Value::Table(sim)) = table.get_mut("simulation") {
        sim.remove("runs");
        if let Some(Value::Integer(steps)) = sim.get_mut("steps") {
            *steps = (*steps).min(MAX_STEPS);
        }
    }
    for_each_entry(table, "agents", |agent| {
        if let Some(Value::Integer(count)) = agent.get_mut("count") {
            *count = (*count).min(MAX_GROUP / 2);
        }
    });
    for_each_entry(table, "events", |event| {
        if let Some(Value::Integer(at)) = event.get_mut("at") {
            *at = (*at).min(MAX_STEPS / 2);
        }
        if let Some(Value::Integer(duration)) = event.get_mut("duration") {
            *duration = (*duration).min(2);
        }
    });
    for_each_entry(table, "assets", |asset| {
        if let Some(Value::Array(schedule)) = asset.get_mut("schedule") {
            for change in schedule.iter_mut().filter_map(Value::as_table_mut) {
                let bounds = [("at", 2), ("from", 2), ("to", MAX_STEPS - 2)];
                for (key, to) in bounds {
                    if let Some(Value::Integer(v)) = change.get_mut(key) {
                        *v = (*v).min(to);
                    }
                }
            }
        }
    });
}

/// Caps a scenario for running: steps and group sizes (only where they are
/// integers; anything else has been rejected already).
fn cap(table: &mut Table) {
    if let Some(Value::Table(sim)) = table.get_mut("simulation") {
        sim.remove("runs");
        if let Some(Value::Integer(steps)) = sim.get_mut("steps") {
            *steps = (*steps).min(MAX_STEPS);
        }
    }
    for_each_entry(table, "agents", |agent| {
        if let Some(Value::Integer(count)) = agent.get_mut("count") {
            *count = (*count).min(MAX_GROUP);
        }
    });
}

fn for_each_entry(table: &mut Table, key: &str, mut f: impl FnMut(&mut Table)) {
    if let Some(Value::Array(entries)) = table.get_mut(key) {
        for entry in entries.iter_mut().filter_map(Value::as_table_mut) {
            f(entry);
        }
    }
}

/// Reads the mutation program; runs out gracefully (zeros) at the end.
struct Bytes<'a> {
    data: &'a [u8],
}

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(b)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let hi = usize::from(self.byte().unwrap_or(0));
        let lo = if n > 256 {
            usize::from(self.byte().unwrap_or(0))
        } else {
            0
        };
        ((hi << 8) | lo) % n
    }

    fn raw(&mut self) -> [u8; 8] {
        let mut out = [0u8; 8];
        for b in &mut out {
            *b = self.byte().unwrap_or(0);
        }
        out
    }
}

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Every node's path under `value`, the root (empty path) first.
fn paths(value: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    out.push(prefix.clone());
    match value {
        Value::Table(t) => {
            for (k, v) in t {
                prefix.push(Seg::Key(k.clone()));
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                prefix.push(Seg::Index(i));
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'v>(root: &'v mut Value, path: &[Seg]) -> Option<&'v mut Value> {
    let mut node = root;
    for seg in path {
        node = match (seg, node) {
            (Seg::Key(k), Value::Table(t)) => t.get_mut(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

fn node<'v>(root: &'v Value, path: &[Seg]) -> Option<&'v Value> {
    let mut node = root;
    for seg in path {
        node = match (seg, node) {
            (Seg::Key(k), Value::Table(t)) => t.get(k)?,
            (Seg::Index(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Picks a node whose value satisfies `want`.
fn pick(root: &Value, bytes: &mut Bytes<'_>, want: impl Fn(&Value) -> bool) -> Option<Vec<Seg>> {
    let mut all = Vec::new();
    paths(root, &mut Vec::new(), &mut all);
    let candidates: Vec<Vec<Seg>> = all
        .into_iter()
        .filter(|p| node(root, p).is_some_and(&want))
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let k = bytes.below(candidates.len());
    candidates.into_iter().nth(k)
}

/// An edge value: range edges, non-finite numbers, huge counts, numbers as
/// strings, wrong types.
fn extreme(bytes: &mut Bytes<'_>) -> Value {
    extreme_of(bytes.below(48), bytes)
}

/// A numeric edge value (of [`extreme`]'s).
fn extreme_number(bytes: &mut Bytes<'_>) -> Value {
    let k = bytes.below(38);
    extreme_of(if k < 34 { k } else { k + 9 }, bytes)
}

fn extreme_of(pick: usize, bytes: &mut Bytes<'_>) -> Value {
    match pick {
        0 => Value::Integer(0),
        1 => Value::Integer(1),
        2 => Value::Integer(-1),
        3 => Value::Integer(2),
        4 => Value::Integer(i64::MAX),
        5 => Value::Integer(i64::MIN),
        6 => Value::Integer(i64::from(u32::MAX)),
        7 => Value::Integer(i64::from(u32::MAX) - 1),
        8 => Value::Integer(1_000_000),
        9 => Value::Integer(1_000_000_001),
        10 => Value::Integer(i64::from_le_bytes(bytes.raw())),
        11 => Value::Float(0.0),
        12 => Value::Float(-0.0),
        13 => Value::Float(1.0),
        14 => Value::Float(-1.0),
        15 => Value::Float(0.5),
        16 => Value::Float(1e-300),
        17 => Value::Float(f64::from_bits(1)),
        18 => Value::Float(1e300),
        19 => Value::Float(f64::MAX),
        20 => Value::Float(-f64::MAX),
        21 => Value::Float(f64::INFINITY),
        22 => Value::Float(f64::NEG_INFINITY),
        23 => Value::Float(f64::NAN),
        24 => Value::Float(1e-9),
        25 => Value::Float(1e9),
        26 => Value::Float(1e15),
        27 => Value::Float(1e18),
        28 => Value::Float(9_007_199_254_740_993.0),
        29 => Value::Float(f64::from_le_bytes(bytes.raw())),
        30 => Value::Float(1.0 - f64::EPSILON / 2.0),
        31 => Value::Float(1.0 + f64::EPSILON),
        32 => Value::Float(u64::MAX as f64),
        33 => Value::Float(f64::MIN_POSITIVE),
        34 => Value::String("NaN".into()),
        35 => Value::String("inf".into()),
        36 => Value::String("1e300".into()),
        37 => Value::String(String::new()),
        38 => Value::String("x".into()),
        39 => Value::Boolean(true),
        40 => Value::Array(Vec::new()),
        41 => Value::Table(Table::new()),
        42 => Value::Array(vec![Value::Float(f64::NAN), Value::Integer(-1)]),
        43 => Value::Float(1e12),
        44 => Value::Float(0.999),
        45 => Value::Float(1e-12),
        46 => Value::Integer(3),
        _ => Value::String(word(bytes).to_string()),
    }
}

fn word(bytes: &mut Bytes<'_>) -> &'static str {
    WORDS[bytes.below(WORDS.len())]
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Integer(_) | Value::Float(_))
}

/// A number moved to a near edge: off by one, negated, scaled by a power of
/// ten, or turned into the other numeric type.
fn nudge(v: &Value, bytes: &mut Bytes<'_>) -> Value {
    let how = bytes.below(10);
    match *v {
        Value::Integer(i) => match how {
            0 => Value::Integer(i.wrapping_add(1)),
            1 => Value::Integer(i.wrapping_sub(1)),
            2 => Value::Integer(i.wrapping_neg()),
            3 => Value::Integer(i.saturating_mul(1000)),
            4 => Value::Integer(i / 2),
            5 => Value::Float(i as f64),
            6 => Value::Float(i as f64 + 0.5),
            7 => Value::Integer(i.saturating_mul(i)),
            8 => Value::Integer(0),
            _ => Value::Float(-(i as f64)),
        },
        Value::Float(x) => match how {
            0 => Value::Float(x * 1e6),
            1 => Value::Float(x * 1e-6),
            2 => Value::Float(-x),
            3 => Value::Float(x + 1.0),
            4 => Value::Float(x - 1.0),
            5 => Value::Integer(x as i64),
            6 => Value::Float(x * x),
            7 => Value::Float(1.0 / x),
            8 => Value::Float(f64::from_bits(x.to_bits().wrapping_add(1))),
            _ => Value::Float(f64::from_bits(x.to_bits().wrapping_sub(1))),
        },
        _ => v.clone(),
    }
}

/// Applies the mutation program in `ops` to `table`.
pub fn mutate(table: Table, ops: &[u8]) -> Table {
    let mut root = Value::Table(table);
    let mut bytes = Bytes { data: ops };
    for _ in 0..MAX_EDITS {
        let Some(op) = bytes.byte() else { break };
        edit(&mut root, op, &mut bytes);
    }
    match root {
        Value::Table(t) => t,
        // The root is never replaced: edits address non-empty paths only.
        _ => Table::new(),
    }
}

fn edit(root: &mut Value, op: u8, bytes: &mut Bytes<'_>) {
    match op % 12 {
        // Replace a number by a numeric edge value: the commonest edit, as
        // it keeps a scenario's shape and so often reaches the engine.
        0..=2 => {
            if let Some(p) = pick(root, bytes, is_number) {
                let by = extreme_number(bytes);
                if let Some(n) = node_mut(root, &p) {
                    *n = by;
                }
            }
        }
        // Replace any value (not the root) by an edge value.
        3 => {
            if let Some(p) = pick(root, bytes, |_| true).filter(|p| !p.is_empty()) {
                let by = extreme(bytes);
                if let Some(n) = node_mut(root, &p) {
                    *n = by;
                }
            }
        }
        // Move a number to a near edge.
        4 | 5 => {
            if let Some(p) = pick(root, bytes, is_number) {
                if let Some(n) = node_mut(root, &p) {
                    *n = nudge(n, bytes);
                }
            }
        }
        // Delete a key or an array element.
        6 => {
            if let Some(p) = pick(root, bytes, |_| true).filter(|p| !p.is_empty()) {
                let (last, parent) = p.split_last().expect("non-empty");
                match (node_mut(root, parent), last) {
                    (Some(Value::Table(t)), Seg::Key(k)) => {
                        t.remove(k);
                    }
                    (Some(Value::Array(a)), Seg::Index(i)) if *i < a.len() => {
                        a.remove(*i);
                    }
                    _ => {}
                }
            }
        }
        // Insert a known key with an edge value.
        7 => {
            if let Some(p) = pick(root, bytes, Value::is_table) {
                let key = word(bytes).to_string();
                let value = extreme(bytes);
                if let Some(Value::Table(t)) = node_mut(root, &p) {
                    t.insert(key, value);
                }
            }
        }
        // Duplicate an array element (two assets or groups of one name,
        // a repeated event or schedule entry).
        8 => {
            if let Some(p) = pick(root, bytes, |v| v.as_array().is_some_and(|a| !a.is_empty())) {
                let (from, to) = (bytes.byte().unwrap_or(0), bytes.byte().unwrap_or(0));
                if let Some(Value::Array(a)) = node_mut(root, &p) {
                    let item = a[usize::from(from) % a.len()].clone();
                    let at = usize::from(to) % (a.len() + 1);
                    a.insert(at, item);
                }
            }
        }
        // Swap two array elements (asset and group indices change).
        9 => {
            if let Some(p) = pick(root, bytes, |v| v.as_array().is_some_and(|a| a.len() > 1)) {
                let (i, j) = (bytes.byte().unwrap_or(0), bytes.byte().unwrap_or(1));
                if let Some(Value::Array(a)) = node_mut(root, &p) {
                    let n = a.len();
                    a.swap(usize::from(i) % n, usize::from(j) % n);
                }
            }
        }
        // Splice: a key and its value from another example (a resource's
        // fields into a token, a market maker into a curve economy, another
        // [[assets]] or [[agents]] entry).
        10 => {
            let seeds = seed_tables();
            if seeds.is_empty() {
                return;
            }
            let donor = Value::Table(seeds[bytes.below(seeds.len())].clone());
            let Some(from) = pick(&donor, bytes, |_| true).filter(|p| !p.is_empty()) else {
                return;
            };
            let Some(value) = node(&donor, &from).cloned() else {
                return;
            };
            let into = pick(root, bytes, |v| v.is_table() || v.is_array());
            match (into.and_then(|p| node_mut(root, &p)), from.last()) {
                (Some(Value::Table(t)), Some(Seg::Key(k))) => {
                    t.insert(k.clone(), value);
                }
                (Some(Value::Array(a)), _) => a.push(value),
                _ => {}
            }
        }
        // Swap a string for a keyword or for another string of the scenario
        // (an asset name where a group is expected, a kind for another).
        _ => {
            if let Some(p) = pick(root, bytes, Value::is_str) {
                let by = if bytes.byte().unwrap_or(0) % 2 == 0 {
                    word(bytes).to_string()
                } else {
                    let other = pick(root, bytes, Value::is_str);
                    match other.and_then(|o| node(root, &o)) {
                        Some(Value::String(s)) => s.clone(),
                        _ => String::new(),
                    }
                };
                if let Some(n) = node_mut(root, &p) {
                    *n = Value::String(by);
                }
            }
        }
    }
}

/// How an input ended (every way passes; the property checks panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not a scenario: rejected with an input error.
    Rejected,
    /// A valid scenario too large to run even when capped.
    NotRun,
    /// A run that ended in an error other than a broken invariant.
    RunFailed,
    /// A run that completed.
    Ran,
}

/// The whole-run fuzz target: `data` is scenario text, optionally followed
/// by a NUL byte and a mutation program. Panics on any broken property.
pub fn run_input(data: &[u8]) -> Outcome {
    let (text, ops) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else {
        return Outcome::Rejected;
    };
    if ops.is_empty() {
        return check(text, 0);
    }
    let Ok(table) = text.parse::<Table>() else {
        // Not TOML: the parser must still say so in one line.
        return check(text, 0);
    };
    let run = u64::from(ops[0] % 4);
    let mutated = mutate(table, &ops[1..]);
    match toml::to_string(&mutated) {
        Ok(text) => check(&text, run),
        // A table TOML cannot write (none known): nothing to check.
        Err(_) => Outcome::Rejected,
    }
}

/// Asserts that `err` is a well-formed input error: one line, naming the
/// origin first.
pub fn assert_input_error(err: &agora::Error, text: &str) {
    let msg = err.to_string();
    assert!(
        !msg.contains('\n'),
        "error of more than one line: {msg:?}\n{text}"
    );
    assert!(
        msg.starts_with(ORIGIN),
        "error not naming the origin first: {msg:?}\n{text}"
    );
    assert!(err.is_input_error(), "not an input error: {err:?}\n{text}");
}

/// Parses `text`; if valid, caps it and runs run `run` for a few steps.
/// Panics when a property breaks:
/// - parsing and setting up a run fail only with one-line input errors;
/// - a run fails only with a one-line error that is not a broken invariant
///   (the engine checks conservation after every step);
/// - a run that completes conserves value to the base unit, gives the same
///   outputs whether agents decide lazily, all in a parallel phase or a
///   block ahead on a second thread (the execute pipeline forced in small
///   blocks) and when stopped halfway and resumed from a checkpoint's
///   bytes, writes a
///   `scenario.toml` that reads back as the same scenario, and
///   makes a two-run ensemble with the next run whose outputs are written.
pub fn check(text: &str, run: u64) -> Outcome {
    let scenario = match Scenario::from_toml_str(text, ORIGIN) {
        Err(e) => {
            assert_input_error(&e, text);
            return Outcome::Rejected;
        }
        Ok(s) => s,
    };
    let mut table = scenario.to_table().clone();
    cap(&mut table);
    let capped = match toml::to_string(&table) {
        Ok(capped) => capped,
        Err(e) => panic!("a valid scenario cannot be written as TOML: {e}\n{text}"),
    };
    let scenario = match Scenario::from_toml_str(&capped, ORIGIN) {
        Err(e) => {
            // Fewer steps or agents can make a scenario invalid (an event
            // after the last step): still an input error.
            assert_input_error(&e, &capped);
            return Outcome::NotRun;
        }
        Ok(s) => s,
    };
    if scenario.agent_count() > MAX_RUN_AGENTS
        || agora::limits::run_footprint(&scenario, 2, 1).total() > MAX_RUN_BYTES
    {
        return Outcome::NotRun;
    }
    let Some((out, lazy)) = run_once(&scenario, run, Deciding::AtEachTurn, &capped) else {
        return Outcome::RunFailed;
    };
    let eager = run_once(&scenario, run, Deciding::InParallel, &capped).map(|(_, files)| files);
    assert!(
        eager.as_ref() == Some(&lazy),
        "outputs differ when agents decide in a parallel phase\n{capped}"
    );
    // blocks of a quarter of the agents (down to 1), pieces of a third of
    // a block: every hand-over between the threads on a small run
    let agents = usize::try_from(scenario.agent_count()).unwrap_or(1);
    let block = (agents / (4 + run as usize)).max(1);
    let pipelined = run_once(
        &scenario,
        run,
        Deciding::Pipelined(block, (block / 3).max(1)),
        &capped,
    )
    .map(|(_, files)| files);
    assert!(
        pipelined.as_ref() == Some(&lazy),
        "outputs differ on two threads, decided a block ahead in blocks of {block}\n{capped}"
    );
    check_resume(&scenario, run, &capped, &lazy);
    // A Monte Carlo ensemble of this run and the next (another random
    // draw, which may fail where this one did not) writes its summary too.
    if let Some((next, _)) = run_once(&scenario, run + 1, Deciding::AtEachTurn, &capped) {
        if let Err(e) = agora::output::run_files(&scenario, &[out, next]) {
            panic!("a completed ensemble cannot write its outputs: {e}\n{capped}");
        }
    }
    let (_, written) = lazy
        .iter()
        .find(|(name, _)| *name == "scenario.toml")
        .expect("run_files writes scenario.toml");
    let written = std::str::from_utf8(written).expect("scenario.toml is UTF-8");
    match Scenario::from_toml_str(written, ORIGIN) {
        Ok(again) => assert_eq!(
            again.hash(),
            scenario.hash(),
            "scenario.toml reads back as another scenario\n{written}"
        ),
        Err(e) => panic!("the written scenario.toml is rejected: {e}\n{written}"),
    }
    Outcome::Ran
}

type Files = Vec<(&'static str, Vec<u8>)>;

/// The run stopped halfway, its checkpoint written as a file's bytes, read
/// back and resumed (from the scenario the checkpoint holds), writes the
/// same files as the run that was not stopped.
fn check_resume(scenario: &Scenario, run: u64, text: &str, whole: &Files) {
    let stop = scenario.simulation().steps / 2;
    let mut first = Simulation::new(scenario, run).expect("built once already");
    while first.step() < stop {
        if let Err(e) = first.advance() {
            panic!("a step of a run that completed fails when run again: {e}\n{text}");
        }
    }
    let bytes = Checkpoint::of(scenario, &first, Vec::new())
        .and_then(|c| c.to_bytes())
        .unwrap_or_else(|e| {
            panic!("a checkpoint after step {stop} cannot be written: {e}\n{text}")
        });
    drop(first);
    let (again, mut resumed) = Checkpoint::from_bytes(&bytes, "fuzz checkpoint")
        .and_then(|c| c.resume())
        .unwrap_or_else(|e| panic!("the checkpoint after step {stop} is refused: {e}\n{text}"));
    while !resumed.done() {
        if let Err(e) = resumed.advance() {
            panic!("the run resumed after step {stop} fails: {e}\n{text}");
        }
    }
    let out = resumed
        .finish()
        .unwrap_or_else(|e| panic!("the run resumed after step {stop} cannot finish: {e}\n{text}"));
    let files = agora::output::run_files(&again, std::slice::from_ref(&out))
        .unwrap_or_else(|e| panic!("a resumed run cannot write its outputs: {e}\n{text}"));
    for ((name, a), (_, b)) in whole.iter().zip(&files) {
        assert!(
            a == b,
            "{name} differs when the run is resumed after step {stop}\n{text}"
        );
    }
    assert_eq!(whole.len(), files.len(), "{text}");
}

/// How a run's agents decide.
#[derive(Clone, Copy)]
enum Deciding {
    /// At each agent's turn where that gives the same result, on this
    /// thread (or in a parallel phase first where it would not).
    AtEachTurn,
    /// All in a parallel phase before any trade.
    InParallel,
    /// At each turn, on two threads: a block ahead on the other thread
    /// (blocks and pieces of these sizes) where the engine would at a
    /// million agents.
    Pipelined(usize, usize),
}

/// A pool of two threads, made once, for [`Deciding::Pipelined`] runs.
fn two_threads() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool of two threads")
    })
}

/// Runs once; `None` when the run ends in an (allowed) error.
fn run_once(
    scenario: &Scenario,
    run: u64,
    how: Deciding,
    text: &str,
) -> Option<(RunOutput, Files)> {
    let mut sim = match Simulation::new(scenario, run) {
        Ok(sim) => sim,
        Err(e) => {
            assert_input_error(&e, text);
            return None;
        }
    };
    let result = match how {
        Deciding::AtEachTurn => sim.run(),
        Deciding::InParallel => {
            sim.set_parallel_decide(true);
            sim.run()
        }
        Deciding::Pipelined(block, piece) => {
            sim.force_pipeline(Some((block, piece)));
            two_threads().install(|| sim.run())
        }
    };
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            let msg = e.to_string();
            assert!(
                !matches!(e.kind(), ErrorKind::Invariant { .. }),
                "broken invariant: {msg}\n{text}"
            );
            assert!(
                !msg.contains('\n'),
                "error of more than one line: {msg:?}\n{text}"
            );
            return None;
        }
    };
    let ledger = &out.summary.ledger;
    assert_eq!(
        ledger.conservation_error, 0.0,
        "value not conserved\n{text}"
    );
    assert_eq!(ledger.reserve_shortfall, 0.0, "reserve short\n{text}");
    match agora::output::run_files(scenario, std::slice::from_ref(&out)) {
        Ok(files) => Some((out, files)),
        Err(e) => panic!("a completed run cannot write its outputs: {e}\n{text}"),
    }
}
