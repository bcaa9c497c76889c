//! The ledger's operations to the base unit: exact balances after each
//! operation, computed by hand, where a mutation test found the suite
//! blind.

use agora::ledger::{to_base, Conservation, LedgerError, SCALE};
use agora::Ledger;

#[test]
fn to_base_refuses_an_amount_that_rounds_to_two_to_the_64_base_units() {
    // 2⁶⁴ base units do not fit a u64: the largest amount is the f64 just
    // below 2⁶⁴ (2⁶⁴ − 2048), and an amount whose base units round to 2⁶⁴
    // exactly must be refused, not saturated to u64::MAX.
    let two_64 = 18_446_744_073_709_551_616.0_f64;
    let x = two_64 / SCALE as f64;
    assert_eq!((x * SCALE as f64).round(), two_64);
    assert_eq!(to_base(x), None);
    let below = f64::from_bits(two_64.to_bits() - 1);
    assert_eq!(below, two_64 - 2048.0);
    let y = below / SCALE as f64;
    let base = (y * SCALE as f64).round();
    assert!(base < two_64);
    assert_eq!(to_base(y), Some(base as u64));
}

#[test]
fn conservation_errors_are_the_largest_gap_between_the_two_sides() {
    let c = Conservation {
        money_held: Some(7),
        money_in: Some(10),
        tokens_held: vec![5, 9, 4],
        supply: vec![5, 6, 8],
    };
    assert_eq!(c.money_error(), 3);
    // |9 − 6| = 3 and |4 − 8| = 4: the largest
    assert_eq!(c.token_error(), 4);
    let none = Conservation {
        money_held: Some(1 << 100),
        money_in: Some(1 << 100),
        tokens_held: Vec::new(),
        supply: Vec::new(),
    };
    assert_eq!((none.money_error(), none.token_error()), (0, 0));
}

#[test]
fn a_ledger_refusal_says_what_was_short() {
    // the text of an error built from a refusal: it must name what was
    // short
    for (e, text) in [
        (LedgerError::InsufficientBalance, "balance too low"),
        (LedgerError::InsufficientHoldings, "holdings too low"),
        (LedgerError::InsufficientReserve, "reserve too low"),
        (LedgerError::Overflow, "amount exceeds the ledger's range"),
    ] {
        assert_eq!(e.to_string(), text);
    }
}

#[test]
fn every_account_cell_holds_its_own_agent_and_asset() {
    // 3 agents × 3 assets, every cell a different amount: agent i holds
    // 100·i + 10·j + 1 of asset j and has a balance of 1000 + i
    let mut l = Ledger::new(3, 3);
    for i in 0..3u32 {
        l.fund_balance(i, 1000 + u64::from(i)).unwrap();
        for j in 0..3usize {
            l.fund_supply(j, Some(i), 100 * u64::from(i) + 10 * j as u64 + 1, 7)
                .unwrap();
        }
    }
    l.fund_supply(2, None, 5, 0).unwrap();
    for i in 0..3u32 {
        let n = u64::from(i);
        let expected = [100 * n + 1, 100 * n + 11, 100 * n + 21];
        assert_eq!(l.balance(i), 1000 + n);
        for (j, &h) in expected.iter().enumerate() {
            assert_eq!(l.holding(i, j), h, "agent {i}, asset {j}");
        }
        assert_eq!(l.holdings(i), &expected);
    }
    let accounts: Vec<Vec<u64>> = l.accounts().map(<[u64]>::to_vec).collect();
    assert_eq!(
        accounts,
        vec![
            vec![1000, 1, 11, 21],
            vec![1001, 101, 111, 121],
            vec![1002, 201, 211, 221]
        ]
    );
    assert_eq!(
        l.account_cells(1..3),
        &[1001, 101, 111, 121, 1002, 201, 211, 221]
    );
    // supply per asset: Σ_i (100·i + 10·j + 1) = 300 + 30·j + 3, plus the
    // 5 unheld tokens of asset 2
    for (j, supply) in [303, 333, 368].into_iter().enumerate() {
        assert_eq!(l.books(j).supply, supply, "asset {j}");
        assert_eq!(l.books(j).reserve, 21);
    }
    assert_eq!(l.books(2).treasury, 5);
    assert_eq!(l.money_in().initial_balances, 3003);
    assert_eq!(l.money_in().reserve_funding, 63);
    let c = l.conservation();
    assert_eq!((c.money_error(), c.token_error()), (0, 0));
    assert_eq!(c.money_held, Some(3003 + 63));
    assert_eq!(c.tokens_held, vec![303, 333, 368]);
    assert_eq!((l.agents(), l.assets()), (3, 3));
}

#[test]
fn curve_trades_rewards_and_refusals_move_and_count_exactly() {
    let mut l = Ledger::new(2, 1);
    l.fund_balance(0, 1000).unwrap();
    // a buy of 50 tokens for 300, no fee; then 10 for 60 plus a fee of 5
    l.buy(0, 0, 50, 300, 0).unwrap();
    assert_eq!((l.balance(0), l.holding(0, 0)), (700, 50));
    assert_eq!((l.counts().mints, l.counts().fees), (1, 0));
    l.buy(0, 0, 10, 60, 5).unwrap();
    assert_eq!((l.balance(0), l.holding(0, 0)), (635, 60));
    let b = *l.books(0);
    assert_eq!((b.supply, b.reserve, b.fee_pool), (60, 360, 5));
    assert_eq!((l.counts().mints, l.counts().fees), (2, 1));
    // a sell of 20 for a refund of 100, no fee; then 5 for 30 less 3
    l.sell(0, 0, 20, 100, 0).unwrap();
    assert_eq!((l.balance(0), l.holding(0, 0)), (735, 40));
    assert_eq!((l.counts().burns, l.counts().fees), (1, 1));
    l.sell(0, 0, 5, 30, 3).unwrap();
    assert_eq!((l.balance(0), l.holding(0, 0)), (762, 35));
    let b = *l.books(0);
    assert_eq!((b.supply, b.reserve, b.fee_pool), (35, 230, 8));
    assert_eq!((l.counts().burns, l.counts().fees), (2, 2));
    // a reward is paid in from outside
    l.reward(1, 40).unwrap();
    assert_eq!(l.balance(1), 40);
    assert_eq!((l.money_in().rewards, l.counts().rewards), (40, 1));
    assert_eq!(l.money_in().total(), Some(1040));
    // refusals and clips are counted one by one
    l.count_rejected();
    l.count_rejected();
    l.count_clipped();
    l.count_clipped();
    l.count_clipped();
    assert_eq!((l.counts().rejected, l.counts().clipped), (2, 3));
    let c = l.conservation();
    assert_eq!((c.money_error(), c.token_error()), (0, 0));
}

/// Balances and holdings of asset 1 of agents 0, 1 and 2.
fn state(l: &Ledger) -> ([u64; 3], [u64; 3]) {
    (
        [l.balance(0), l.balance(1), l.balance(2)],
        [l.holding(0, 1), l.holding(1, 1), l.holding(2, 1)],
    )
}

#[test]
fn transfers_orders_and_outside_trades_on_a_second_asset_move_exactly_what_they_say() {
    // asset 1 of two, so that an account's cells are found by offset
    let mut l = Ledger::new(3, 2);
    l.fund_balance(0, 1000).unwrap();
    l.fund_balance(1, 500).unwrap();
    l.fund_supply(0, Some(0), 3, 0).unwrap();
    l.fund_supply(1, Some(1), 80, 0).unwrap();
    l.transfer_money(0, 2, 100).unwrap();
    l.transfer_tokens(1, 2, 1, 30).unwrap();
    l.transfer_tokens(2, 2, 1, 10).unwrap(); // to itself: nothing moves
    assert_eq!(state(&l), ([900, 500, 100], [0, 50, 30]));
    assert_eq!((l.holding(0, 0), l.holding(1, 0)), (3, 0));
    assert_eq!(l.counts().transfers, 3);
    // orders: 0 locks 200 to buy, 1 locks 20 tokens to sell; they trade 20
    // for 150 from their locks, and 0 gets the 50 left back
    l.lock(0, 1, 200, 0).unwrap();
    l.lock(1, 1, 0, 20).unwrap();
    assert_eq!(state(&l), ([700, 500, 100], [0, 30, 30]));
    assert_eq!(
        (l.books(1).escrow_money, l.books(1).escrow_tokens),
        (200, 20)
    );
    l.settle(0, 1, 1, 20, 150, true, true).unwrap();
    assert_eq!(state(&l), ([700, 650, 100], [20, 30, 30]));
    assert_eq!((l.books(1).escrow_money, l.books(1).escrow_tokens), (50, 0));
    l.release(0, 1, 50, 0).unwrap();
    assert_eq!(state(&l), ([750, 650, 100], [20, 30, 30]));
    // tokens alone locked and released
    l.lock(1, 1, 0, 4).unwrap();
    assert_eq!(state(&l), ([750, 650, 100], [20, 26, 30]));
    l.release(1, 1, 0, 4).unwrap();
    assert_eq!(state(&l), ([750, 650, 100], [20, 30, 30]));
    assert_eq!(l.books(1).escrow_tokens, 0);
    assert_eq!((l.counts().locks, l.counts().settlements), (5, 1));
    // the outside sells 5 to agent 2 for 40, then buys 10 from it for 70:
    // 40 of that is what it received, 30 is paid in
    l.sell_from_outside(2, 1, 5, 40, false).unwrap();
    assert_eq!(state(&l), ([750, 650, 60], [20, 30, 35]));
    assert_eq!((l.books(1).outside, l.books(1).supply), (40, 85));
    l.buy_from_outside(2, 1, 10, 70, false).unwrap();
    assert_eq!(state(&l), ([750, 650, 130], [20, 30, 25]));
    assert_eq!((l.books(1).outside, l.books(1).supply), (0, 75));
    assert_eq!(l.money_in().outside, 30);
    // agent 1 pays the outside 25, is paid 35: 25 back and 10 paid in
    l.pay_outside(1, 1, 25).unwrap();
    assert_eq!((l.balance(1), l.books(1).outside), (625, 25));
    l.pay_from_outside(1, 1, 35).unwrap();
    assert_eq!((l.balance(1), l.books(1).outside), (660, 0));
    assert_eq!(l.money_in().outside, 40);
    // the treasury: 12 minted, 4 sold to agent 0 for 16, 3 burned; agent 0
    // consumes 4
    l.mint_to_treasury(1, 12).unwrap();
    assert_eq!((l.books(1).treasury, l.books(1).supply), (12, 87));
    l.sell_from_treasury(0, 1, 4, 16, false).unwrap();
    assert_eq!(state(&l), ([734, 660, 130], [24, 30, 25]));
    assert_eq!((l.books(1).treasury, l.books(1).outside), (8, 16));
    l.burn_from_treasury(1, 3).unwrap();
    assert_eq!((l.books(1).treasury, l.books(1).supply), (5, 84));
    l.consume(0, 1, 4).unwrap();
    assert_eq!((l.holding(0, 1), l.books(1).supply), (20, 80));
    l.top_up_reserve(1, 9).unwrap();
    assert_eq!((l.books(1).reserve, l.money_in().reserve_top_ups), (9, 9));
    // outside trades paid from locks: agent 2 locks 30 and pays it for 1
    // token; agent 1 locks 6 tokens and is paid 50 for them (46 of it what
    // the outside holds, 4 paid in)
    l.lock(2, 1, 30, 0).unwrap();
    l.sell_from_outside(2, 1, 1, 30, true).unwrap();
    assert_eq!(state(&l), ([734, 660, 100], [20, 30, 26]));
    assert_eq!((l.books(1).escrow_money, l.books(1).outside), (0, 46));
    l.lock(1, 1, 0, 6).unwrap();
    l.buy_from_outside(1, 1, 6, 50, true).unwrap();
    assert_eq!(state(&l), ([734, 710, 100], [20, 24, 26]));
    assert_eq!((l.books(1).escrow_tokens, l.books(1).outside), (0, 0));
    assert_eq!((l.books(1).supply, l.money_in().outside), (75, 44));
    // a self-trade (a batch pairing may make one) moves only what leaves
    // the locks: agent 2's 10 locked money and 3 locked tokens come back
    l.lock(2, 1, 10, 3).unwrap();
    assert_eq!(state(&l), ([734, 710, 90], [20, 24, 23]));
    l.settle(2, 2, 1, 3, 10, true, true).unwrap();
    assert_eq!(state(&l), ([734, 710, 100], [20, 24, 26]));
    assert_eq!((l.books(1).escrow_money, l.books(1).escrow_tokens), (0, 0));
    let c = l.counts();
    assert_eq!(
        (
            c.outside_trades,
            c.mints,
            c.burns,
            c.top_ups,
            c.locks,
            c.settlements
        ),
        (7, 1, 2, 1, 8, 2)
    );
    // the check from sums computed elsewhere (the engine's, in parallel)
    // is the ledger's own
    assert_eq!(l.conservation_from_sums(1544, &[3, 70]), l.conservation());
    // asset 0 untouched throughout
    assert_eq!((l.holding(0, 0), l.books(0).supply), (3, 3));
    let c = l.conservation();
    assert_eq!((c.money_error(), c.token_error()), (0, 0));
    assert_eq!(c.money_held, Some(734 + 710 + 100 + 9));
    assert_eq!(c.tokens_held, vec![3, 75]);
}

#[test]
fn a_sale_made_to_the_outside_moves_exactly_its_revenue_and_cost() {
    // Agent 1 of 2, asset 1 of 2 (the account's cell is not the first).
    let mut l = Ledger::new(2, 2);
    l.fund_balance(1, 5).unwrap();
    // The first sale: the outside holds nothing, so all 700 are paid in;
    // the cost of 300 goes to the outside.
    l.sell_made_to_outside(1, 1, 700, 300).unwrap();
    assert_eq!(l.balance(1), 5 + 700 - 300);
    assert_eq!(l.balance(0), 0);
    assert_eq!(l.books(1).outside, 300);
    assert_eq!(l.books(0).outside, 0);
    assert_eq!(l.money_in().outside, 700);
    assert_eq!(l.counts().outside_trades, 1);
    // The second: the outside pays all 200 from the 300 it holds, nothing
    // is paid in; it then holds 100 + 100.
    l.sell_made_to_outside(1, 1, 200, 100).unwrap();
    assert_eq!(l.balance(1), 405 + 200 - 100);
    assert_eq!(l.books(1).outside, 200);
    assert_eq!(l.money_in().outside, 700);
    // The third: the outside pays 200 of the 400 (all it holds), 200 are
    // paid in; it then holds the cost, 50.
    l.sell_made_to_outside(1, 1, 400, 50).unwrap();
    assert_eq!(l.balance(1), 505 + 400 - 50);
    assert_eq!(l.books(1).outside, 50);
    assert_eq!(l.money_in().outside, 900);
    assert_eq!(l.counts().outside_trades, 3);
    let c = l.conservation();
    assert_eq!((c.money_error(), c.token_error()), (0, 0));
    assert_eq!(c.money_held, Some(5 + 900));

    // A cost beyond the balance with the revenue: refused, nothing moves.
    let before = (
        l.balance(1),
        *l.books(1),
        *l.money_in(),
        l.counts().outside_trades,
    );
    assert_eq!(
        l.sell_made_to_outside(1, 1, 10, 866),
        Err(LedgerError::InsufficientBalance)
    );
    assert_eq!(
        (
            l.balance(1),
            *l.books(1),
            *l.money_in(),
            l.counts().outside_trades
        ),
        before
    );
    // A cost of exactly the balance with the revenue: taken.
    l.sell_made_to_outside(1, 1, 10, 865).unwrap();
    assert_eq!(l.balance(1), 0);
    assert_eq!(l.books(1).outside, 50 - 10 + 865);

    // A revenue that would take the balance past u64::MAX: refused,
    // nothing moves.
    let mut l = Ledger::new(1, 1);
    l.fund_balance(0, u64::MAX - 1).unwrap();
    let before = (l.balance(0), *l.books(0), *l.money_in());
    assert_eq!(
        l.sell_made_to_outside(0, 0, 2, 0),
        Err(LedgerError::Overflow)
    );
    assert_eq!((l.balance(0), *l.books(0), *l.money_in()), before);
    // One base unit less fits.
    l.sell_made_to_outside(0, 0, 1, 0).unwrap();
    assert_eq!(l.balance(0), u64::MAX);
}
