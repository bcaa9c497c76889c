//! Numbers users found wrong: wealth that left out what is locked in open
//! orders, ensemble means over the runs that have a metric, returns
//! bridged over steps without a price, silent clamps and a trap default.

use agora::engine::RunOutput;
use agora::ledger::SCALE;
use agora::scenario::example;
use agora::{Scenario, Simulation};

fn run(scenario: &Scenario) -> RunOutput {
    Simulation::new(scenario, 0).unwrap().run().unwrap()
}

fn units(base: u128) -> f64 {
    base as f64 / SCALE as f64
}

/// A seller holding one unit that costs it 120 and a buyer to whom a unit
/// is worth 80: the seller asks exactly 120, the buyer bids exactly 80, and
/// they never trade.
fn seller_and_buyer_who_never_trade() -> Scenario {
    Scenario::from_toml_str(
        r#"
        [simulation]
        steps = 1
        seed = 1
        [[assets]]
        name = "G"
        pricing = { kind = "order_book", tick_size = 0.01, lot_size = 1.0, initial_price = 100.0 }
        [[agents]]
        group = "seller"
        count = 1
        balance = 0.0
        holdings = { asset = "G", total = 1.0, distribution = "uniform" }
        policy = { kind = "zi_c", asset = "G", role = "seller", value = { distribution = "constant", value = 120.0 }, max_price = 120.0, ttl = 5 }
        objective = { kind = "holdings", asset = "G" }
        [[agents]]
        group = "buyer"
        count = 1
        balance = 100.0
        policy = { kind = "zi_c", asset = "G", role = "buyer", value = { distribution = "constant", value = 80.0 }, min_price = 80.0, ttl = 5 }
        objective = { kind = "log_wealth" }
        "#,
        "test",
    )
    .unwrap()
}

#[test]
fn money_and_tokens_locked_in_resting_orders_still_count_in_wealth_and_pnl() {
    let out = run(&seller_and_buyer_who_never_trade());
    let book = out.records.assets.last().unwrap();
    // Both orders rest: the book shows them, nothing traded, and the price
    // is their mid, (80 + 120) / 2 = 100, the initial price.
    assert_eq!((book.best_bid, book.best_ask), (Some(80.0), Some(120.0)));
    assert_eq!(book.trades, 0);
    assert_eq!(book.price, 100.0);
    let seller = &out.summary.groups["seller"];
    let buyer = &out.summary.groups["buyer"];
    // The seller still owns its unit (worth 100), the buyer its 100 of
    // money (80 of it locked in the bid): neither gained or lost anything.
    assert_eq!((seller.initial_mean_wealth, seller.mean_wealth), (100.0, 100.0));
    assert_eq!((buyer.initial_mean_wealth, buyer.mean_wealth), (100.0, 100.0));
    assert_eq!((seller.pnl, buyer.pnl), (0.0, 0.0));
    // holdings utility counts the locked unit; log wealth the locked money
    assert_eq!(seller.utility, 1.0);
    assert_eq!(buyer.utility, 100f64.ln());
    // The group records say what is owned and how much of it is locked.
    let rows: Vec<_> = out.records.groups.iter().filter(|r| r.step == 1).collect();
    let (s, b) = (rows[0], rows[1]);
    assert_eq!((units(s.holdings[0]), units(s.locked_holdings[0])), (1.0, 1.0));
    assert_eq!((units(s.balance), units(s.locked_balance)), (0.0, 0.0));
    assert_eq!((units(b.balance), units(b.locked_balance)), (100.0, 80.0));
    assert_eq!(units(b.holdings[0]), 0.0);
    assert_eq!((s.wealth, b.wealth), (100.0, 100.0));
}

#[test]
fn on_an_order_book_group_holdings_sum_to_the_supply_and_pnl_to_the_price_change() {
    let s = example("market-clearing").unwrap();
    let out = run(&s);
    // 100 buyers with 200 each, sellers with nothing: no fee, no reserve and
    // no outside world, so the agents hold all 20,000 of money at every
    // step, and all 100 units.
    let groups = s.groups.len();
    assert_eq!(out.records.groups.len() % groups, 0);
    for (step, rows) in out.records.groups.chunks(groups).enumerate() {
        let money: u128 = rows.iter().map(|r| r.balance).sum();
        let tokens: u128 = rows.iter().map(|r| r.holdings[0]).sum();
        let supply = out.records.assets[step].supply;
        assert_eq!(money, 20_000 * u128::from(SCALE), "step {step}");
        assert_eq!(tokens, u128::from(supply), "step {step}");
        assert_eq!(supply, 100 * SCALE);
    }
    // Total wealth is money + supply × price: with both constant, the
    // agents' P&L sums to supply × (final price − initial price).
    let first = out.records.assets[0].price;
    let last = out.records.assets.last().unwrap().price;
    let pnl: f64 = s
        .groups
        .iter()
        .map(|g| out.summary.groups[&g.name].pnl * f64::from(g.count))
        .sum();
    let expected = 100.0 * (last - first);
    assert!(
        (pnl - expected).abs() < 1e-9 * 20_000.0,
        "Σ pnl {pnl}, supply × Δprice {expected}"
    );
}
