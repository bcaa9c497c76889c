//! The columns of the per-step tables (`assets`, `agents`, `agent_steps`),
//! defined once: each column's name, the type of its values and how a
//! value is read from a record. The CSV writer ([`super::TableWriter`])
//! and the Parquet writer (crate `agora-parquet`) both write these lists,
//! so the two formats have the same columns in the same order with the same
//! values by construction; a new column is one entry here.

use crate::engine::{AgentStepRecord, AssetRecord, GroupRecord};
use crate::ledger::{to_units, wide_to_units};
use crate::scenario::Scenario;

/// One row of a table being written: the record, its run and the scenario
/// (for names).
#[derive(Debug, Clone, Copy)]
pub struct Row<'s, R> {
    /// The run the record belongs to.
    pub run: u64,
    /// The scenario run.
    pub scenario: &'s Scenario,
    /// The record.
    pub record: &'s R,
}

/// How a column's value is read from a row, by the type of its values.
/// A per-asset column's function gets the asset's index, the others 0.
pub enum Get<R: 'static> {
    /// A count (`run`, `step`, `trades`, `agents`): an integer, `Int64` in
    /// Parquet.
    Count(fn(&Row<'_, R>, usize) -> u64),
    /// A name (`asset`, `group`, `price_source`): text, `Utf8` in Parquet.
    Name(for<'s> fn(&Row<'s, R>, usize) -> &'s str),
    /// A number of units or a price: `Float64`, written as the shortest
    /// text that reads back as the same f64; not finite is an empty cell
    /// (null in Parquet).
    Number(fn(&Row<'_, R>, usize) -> f64),
}

impl<R> Clone for Get<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Get<R> {}

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// An integer ([`Get::Count`]).
    Count,
    /// Text ([`Get::Name`]).
    Name,
    /// A float ([`Get::Number`]).
    Number,
}

/// What a per-strategy or per-parameter column is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Strategy `k` of [`strategy_labels`].
    Strategy(usize),
    /// Parameter `k` of [`evolving_params`].
    Param(usize),
}

/// One column of a per-step table.
pub struct Column<R: 'static> {
    /// The header; for a per-asset column, the stem before `_<ASSET>`; for
    /// a per-strategy column, the stem before `_<STRATEGY>`.
    pub name: &'static str,
    /// The asset of a per-asset column (`holdings_<ASSET>`).
    pub asset: Option<usize>,
    /// The strategy or parameter of a per-strategy column
    /// (`share_<STRATEGY>`) or a per-parameter one (`<PARAM>`,
    /// `<PARAM>_p10`).
    pub key: Option<Key>,
    /// How its value is read.
    pub get: Get<R>,
}

impl<R> Clone for Column<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for Column<R> {}

impl<R> Column<R> {
    const fn fixed(name: &'static str, get: Get<R>) -> Self {
        Column {
            name,
            asset: None,
            key: None,
            get,
        }
    }

    /// The column's header in `scenario`'s table.
    pub fn header(&self, scenario: &Scenario) -> String {
        match (self.asset, self.key) {
            (Some(j), _) => format!("{}_{}", self.name, scenario.assets()[j].name),
            (None, Some(Key::Strategy(k))) => format!(
                "{}_{}",
                self.name,
                nth_strategy(scenario, k).unwrap_or_default()
            ),
            (None, Some(Key::Param(k))) => format!(
                "{}{}",
                evolving_params(scenario)
                    .get(k)
                    .copied()
                    .unwrap_or_default(),
                self.name
            ),
            (None, None) => self.name.to_string(),
        }
    }

    /// What the column's value function is given beside the row: the
    /// asset of a per-asset column, the strategy or parameter of a
    /// per-strategy or per-parameter one, 0 for the others.
    pub fn index(&self) -> usize {
        match (self.asset, self.key) {
            (Some(j), _) => j,
            (None, Some(Key::Strategy(k) | Key::Param(k))) => k,
            (None, None) => 0,
        }
    }

    /// The type of the column's values.
    pub fn column_type(&self) -> ColumnType {
        match self.get {
            Get::Count(_) => ColumnType::Count,
            Get::Name(_) => ColumnType::Name,
            Get::Number(_) => ColumnType::Number,
        }
    }
}

fn asset_name<'s>(row: &Row<'s, AssetRecord>, _: usize) -> &'s str {
    &row.scenario.assets()[row.record.asset as usize].name
}

fn price_source<'s>(row: &Row<'s, AssetRecord>, _: usize) -> &'s str {
    row.record.source.name()
}

/// The columns of `assets.csv` / `assets.parquet`, one row per asset and
/// step. `price_source` says where the price comes from (`curve`,
/// `initial`, `trade`, `mid`, `last`, `equilibrium`, `no_equilibrium` with
/// an empty price, `posted`, `fixed`); `best_bid` and `best_ask` are an
/// order book's quotes after the step; `capacity`, `requested` and
/// `allocated` are a resource's (empty where they do not apply).
pub const ASSET_TABLE: [Column<AssetRecord>; 14] = [
    Column::fixed("run", Get::Count(|r, _| r.run)),
    Column::fixed("step", Get::Count(|r, _| r.record.step)),
    Column::fixed("asset", Get::Name(asset_name)),
    Column::fixed("price", Get::Number(|r, _| r.record.price)),
    Column::fixed("supply", Get::Number(|r, _| to_units(r.record.supply))),
    Column::fixed(
        "reserve",
        Get::Number(|r, _| wide_to_units(r.record.reserve)),
    ),
    Column::fixed("volume", Get::Number(|r, _| wide_to_units(r.record.volume))),
    Column::fixed("trades", Get::Count(|r, _| r.record.trades)),
    Column::fixed("price_source", Get::Name(price_source)),
    Column::fixed(
        "best_bid",
        Get::Number(|r, _| r.record.best_bid.unwrap_or(f64::NAN)),
    ),
    Column::fixed(
        "best_ask",
        Get::Number(|r, _| r.record.best_ask.unwrap_or(f64::NAN)),
    ),
    Column::fixed(
        "capacity",
        Get::Number(|r, _| r.record.capacity.unwrap_or(f64::NAN)),
    ),
    Column::fixed(
        "requested",
        Get::Number(|r, _| r.record.requested.unwrap_or(f64::NAN)),
    ),
    Column::fixed(
        "allocated",
        Get::Number(|r, _| r.record.allocated.unwrap_or(f64::NAN)),
    ),
];

/// The labels of the population games' strategies (`kind = "game"`
/// assets), each once, in the order the games first name them: one
/// `share_<STRATEGY>` column of `assets.csv` each.
pub fn strategy_labels(scenario: &Scenario) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for label in game_labels(scenario) {
        if !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

fn game_labels(scenario: &Scenario) -> impl Iterator<Item = &str> {
    scenario.assets().iter().flat_map(|a| {
        match &a.pricing {
            crate::scenario::PricingSpec::Game(g) => g.strategies(),
            _ => &[],
        }
        .iter()
        .map(String::as_str)
    })
}

/// The `k`-th label of [`strategy_labels`], without collecting them.
fn nth_strategy(scenario: &Scenario, k: usize) -> Option<&str> {
    let mut seen = 0;
    for (i, label) in game_labels(scenario).enumerate() {
        if game_labels(scenario).take(i).any(|l| l == label) {
            continue;
        }
        if seen == k {
            return Some(label);
        }
        seen += 1;
    }
    None
}

/// A game asset's share of strategy `k` of [`strategy_labels`] after the
/// step (empty for other assets and strategies the game does not have).
fn share(r: &Row<'_, AssetRecord>, k: usize) -> f64 {
    let (Some(shares), Some(label)) = (&r.record.shares, nth_strategy(r.scenario, k)) else {
        return f64::NAN;
    };
    let crate::scenario::PricingSpec::Game(g) =
        &r.scenario.assets()[r.record.asset as usize].pricing
    else {
        return f64::NAN;
    };
    g.strategies()
        .iter()
        .position(|l| l == label)
        .and_then(|i| shares.get(i).copied())
        .unwrap_or(f64::NAN)
}

/// The columns of `assets.csv` / `assets.parquet` for `scenario`: those of
/// [`ASSET_TABLE`], then, with population games, one `share_<STRATEGY>`
/// column per strategy ([`strategy_labels`]): the strategy's share among
/// the game's players after the step (empty for other assets).
pub fn asset_table(scenario: &Scenario) -> Vec<Column<AssetRecord>> {
    let mut out = ASSET_TABLE.to_vec();
    out.extend((0..strategy_labels(scenario).len()).map(|k| Column {
        name: "share",
        asset: None,
        key: Some(Key::Strategy(k)),
        get: Get::Number(share),
    }));
    out
}

/// The evolving policy parameters of the scenario's groups (`evolution`'s
/// `params`, e.g. `policy.threshold`), each once, in the order the groups
/// first name them: the per-parameter columns of `agents.csv` and
/// `agent_steps.csv`.
pub fn evolving_params(scenario: &Scenario) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for g in scenario.groups() {
        for p in g.evolution.iter().flat_map(|e| e.params.iter()) {
            if !out.contains(&p.as_str()) {
                out.push(p);
            }
        }
    }
    out
}

/// Where parameter `k` of [`evolving_params`] is in group `g`'s own list.
fn param_position(scenario: &Scenario, g: u32, k: usize) -> Option<usize> {
    let name = *evolving_params(scenario).get(k)?;
    scenario.groups()[g as usize]
        .evolution
        .as_ref()?
        .params
        .iter()
        .position(|p| p == name)
}

/// A group row's statistic `which` (0 mean, 1 p10, 2 p90) of parameter
/// `k`.
fn group_param(r: &Row<'_, GroupRecord>, k: usize, which: usize) -> f64 {
    param_position(r.scenario, r.record.group, k)
        .and_then(|i| r.record.params.get(3 * i + which).copied())
        .unwrap_or(f64::NAN)
}

/// The per-parameter columns of `agents.csv`: for each evolving parameter
/// `P`, `P` (the group's mean), `P_p10` and `P_p90` (its 10th and 90th
/// percentiles over the group's agents); empty for groups where `P` does
/// not evolve.
fn group_param_columns(scenario: &Scenario, out: &mut Vec<Column<GroupRecord>>) {
    for k in 0..evolving_params(scenario).len() {
        out.extend([
            Column {
                name: "",
                asset: None,
                key: Some(Key::Param(k)),
                get: Get::Number(|r, k| group_param(r, k, 0)),
            },
            Column {
                name: "_p10",
                asset: None,
                key: Some(Key::Param(k)),
                get: Get::Number(|r, k| group_param(r, k, 1)),
            },
            Column {
                name: "_p90",
                asset: None,
                key: Some(Key::Param(k)),
                get: Get::Number(|r, k| group_param(r, k, 2)),
            },
        ]);
    }
}

/// The per-parameter columns of `agent_steps.csv`: each agent's own value
/// of every evolving parameter `P`, in a column `P` (empty where `P` does
/// not evolve).
fn agent_param_columns(scenario: &Scenario, out: &mut Vec<Column<AgentStepRecord>>) {
    out.extend((0..evolving_params(scenario).len()).map(|k| Column {
        name: "",
        asset: None,
        key: Some(Key::Param(k)),
        get: Get::Number(agent_param),
    }));
}

/// An agent row's value of parameter `k`.
fn agent_param(r: &Row<'_, AgentStepRecord>, k: usize) -> f64 {
    param_position(r.scenario, r.record.group, k)
        .and_then(|i| r.record.params.get(i).copied())
        .unwrap_or(f64::NAN)
}

/// The names of `columns`, in a const context.
const fn names<R, const N: usize>(columns: &[Column<R>; N]) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = columns[i].name;
        i += 1;
    }
    out
}

/// The header of [`ASSET_TABLE`].
pub(super) const ASSET_NAMES: [&str; 14] = names(&ASSET_TABLE);

/// The amounts of an account (a group's total or one agent's), in base
/// units, as `agents.csv` and `agent_steps.csv` write them.
pub trait Amounts {
    /// Money, locked money included.
    fn balance(&self) -> u128;
    /// Holdings per asset, locked tokens included.
    fn holdings(&self) -> &[u128];
    /// Wealth at the step's prices, money units.
    fn wealth(&self) -> f64;
    /// Money locked in open orders.
    fn locked_balance(&self) -> u128;
    /// Tokens locked in open orders, per asset.
    fn locked_holdings(&self) -> &[u128];
}

macro_rules! amounts {
    ($record:ty) => {
        impl Amounts for $record {
            fn balance(&self) -> u128 {
                self.balance
            }
            fn holdings(&self) -> &[u128] {
                &self.holdings
            }
            fn wealth(&self) -> f64 {
                self.wealth
            }
            fn locked_balance(&self) -> u128 {
                self.locked_balance
            }
            fn locked_holdings(&self) -> &[u128] {
                &self.locked_holdings
            }
        }
    };
}
amounts!(GroupRecord);
amounts!(AgentStepRecord);

fn balance<R: Amounts>(r: &Row<'_, R>, _: usize) -> f64 {
    wide_to_units(r.record.balance())
}

fn holdings<R: Amounts>(r: &Row<'_, R>, _: usize) -> f64 {
    wide_to_units(r.record.holdings().iter().sum())
}

fn wealth<R: Amounts>(r: &Row<'_, R>, _: usize) -> f64 {
    r.record.wealth()
}

fn holding<R: Amounts>(r: &Row<'_, R>, j: usize) -> f64 {
    wide_to_units(r.record.holdings()[j])
}

fn locked_balance<R: Amounts>(r: &Row<'_, R>, _: usize) -> f64 {
    wide_to_units(r.record.locked_balance())
}

fn locked_holdings<R: Amounts>(r: &Row<'_, R>, _: usize) -> f64 {
    wide_to_units(r.record.locked_holdings().iter().sum())
}

fn locked_holding<R: Amounts>(r: &Row<'_, R>, j: usize) -> f64 {
    wide_to_units(r.record.locked_holdings()[j])
}

/// The amount columns `agents` and `agent_steps` share after their first
/// four: `balance,holdings,wealth` (`balance`, `holdings` and `wealth`
/// count what is locked in open orders: it is still the owner's), with more
/// than one asset one `holdings_<ASSET>` column per asset, then
/// `locked_balance,locked_holdings` and, with more than one asset,
/// `locked_holdings_<ASSET>`.
fn amount_columns<R: Amounts>(scenario: &Scenario, out: &mut Vec<Column<R>>) {
    let assets = scenario.assets().len();
    let per_asset = |name, get| {
        (0..assets).map(move |j| Column {
            name,
            asset: Some(j),
            key: None,
            get,
        })
    };
    out.extend([
        Column::fixed("balance", Get::Number(balance::<R>)),
        Column::fixed("holdings", Get::Number(holdings::<R>)),
        Column::fixed("wealth", Get::Number(wealth::<R>)),
    ]);
    if assets > 1 {
        out.extend(per_asset("holdings", Get::Number(holding::<R>)));
    }
    out.extend([
        Column::fixed("locked_balance", Get::Number(locked_balance::<R>)),
        Column::fixed("locked_holdings", Get::Number(locked_holdings::<R>)),
    ]);
    if assets > 1 {
        out.extend(per_asset(
            "locked_holdings",
            Get::Number(locked_holding::<R>),
        ));
    }
}

fn group_name<'s>(r: &Row<'s, GroupRecord>, _: usize) -> &'s str {
    &r.scenario.groups()[r.record.group as usize].name
}

fn agent_group_name<'s>(r: &Row<'s, AgentStepRecord>, _: usize) -> &'s str {
    &r.scenario.groups()[r.record.group as usize].name
}

/// Whether a group of `scenario` learns (has an adaptive policy, such as
/// the built-in learners): `agents.csv` then has a `mean_reward` column.
pub fn has_learners(scenario: &Scenario) -> bool {
    scenario
        .groups()
        .iter()
        .any(|g| g.policy.as_adaptive().is_some())
}

/// The columns of `agents.csv` / `agents.parquet` for `scenario` (group
/// totals, one row per group and step): `run,step,group,agents`, then the
/// amounts; when a group learns ([`has_learners`]) `mean_reward`: the
/// mean over the group's agents of the reward each learned from in the
/// step (empty for a group that does not learn, and at step 0); then with
/// evolving groups each evolving parameter's mean and 10th and 90th
/// percentiles (`policy.threshold`, `policy.threshold_p10`,
/// `policy.threshold_p90`).
pub fn group_table(scenario: &Scenario) -> Vec<Column<GroupRecord>> {
    let mut out: Vec<Column<GroupRecord>> = vec![
        Column::fixed("run", Get::Count(|r, _| r.run)),
        Column::fixed("step", Get::Count(|r, _| r.record.step)),
        Column::fixed("group", Get::Name(group_name)),
        Column::fixed(
            "agents",
            Get::Count(|r, _| u64::from(r.scenario.groups()[r.record.group as usize].count)),
        ),
    ];
    amount_columns(scenario, &mut out);
    if has_learners(scenario) {
        out.push(Column::fixed(
            "mean_reward",
            Get::Number(|r, _| r.record.mean_reward.unwrap_or(f64::NAN)),
        ));
    }
    group_param_columns(scenario, &mut out);
    out
}

/// The columns of `agent_steps.csv` / `agent_steps.parquet` for
/// `scenario` (one row per recorded agent and step):
/// `run,step,group,agent`, then the amounts.
pub fn agent_step_table(scenario: &Scenario) -> Vec<Column<AgentStepRecord>> {
    let mut out: Vec<Column<AgentStepRecord>> = vec![
        Column::fixed("run", Get::Count(|r, _| r.run)),
        Column::fixed("step", Get::Count(|r, _| r.record.step)),
        Column::fixed("group", Get::Name(agent_group_name)),
        Column::fixed("agent", Get::Count(|r, _| u64::from(r.record.agent))),
    ];
    amount_columns(scenario, &mut out);
    agent_param_columns(scenario, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::{
        agent_columns, agent_step_columns, AGENT_COLUMNS, AGENT_LOCKED_COLUMNS, ASSET_COLUMNS,
    };

    fn scenario(assets: &[&str]) -> Scenario {
        let mut text = String::from("[simulation]\nsteps = 1\nseed = 1\n");
        for a in assets {
            text += &format!(
                "[[assets]]\nname = \"{a}\"\npricing = {{ kind = \"bonding_curve\", curve = \"linear\", m = 0.001, b = 1.0 }}\n"
            );
        }
        text += "[[agents]]\ngroup = \"g\"\ncount = 1\nbalance = 1.0\npolicy = { kind = \"random\", asset = \"A\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }\n";
        Scenario::from_toml_str(&text, "t").unwrap()
    }

    /// The headers documented in the README (Outputs), written out.
    #[test]
    fn the_tables_have_the_documented_headers_and_types() {
        assert_eq!(
            ASSET_COLUMNS.join(","),
            "run,step,asset,price,supply,reserve,volume,trades,price_source,best_bid,best_ask,capacity,requested,allocated"
        );
        let one = scenario(&["A"]);
        assert_eq!(
            agent_columns(&one).join(","),
            "run,step,group,agents,balance,holdings,wealth,locked_balance,locked_holdings"
        );
        assert_eq!(
            agent_columns(&one),
            [&AGENT_COLUMNS[..], &AGENT_LOCKED_COLUMNS[..]].concat()
        );
        let two = scenario(&["A", "B"]);
        assert_eq!(
            agent_columns(&two).join(","),
            "run,step,group,agents,balance,holdings,wealth,holdings_A,holdings_B,\
             locked_balance,locked_holdings,locked_holdings_A,locked_holdings_B"
        );
        assert_eq!(
            agent_step_columns(&two).join(","),
            "run,step,group,agent,balance,holdings,wealth,holdings_A,holdings_B,\
             locked_balance,locked_holdings,locked_holdings_A,locked_holdings_B"
        );
        let types = |t: &[ColumnType]| -> String {
            t.iter()
                .map(|t| match t {
                    ColumnType::Count => 'c',
                    ColumnType::Name => 'n',
                    ColumnType::Number => 'x',
                })
                .collect()
        };
        let asset_types: Vec<_> = ASSET_TABLE.iter().map(|c| c.column_type()).collect();
        assert_eq!(types(&asset_types), "ccnxxxxcnxxxxx");
        let group_types: Vec<_> = group_table(&two).iter().map(|c| c.column_type()).collect();
        assert_eq!(types(&group_types), "ccncxxxxxxxxx");
        let agent_types: Vec<_> = agent_step_table(&two)
            .iter()
            .map(|c| c.column_type())
            .collect();
        assert_eq!(types(&agent_types), "ccncxxxxxxxxx");
    }
}
