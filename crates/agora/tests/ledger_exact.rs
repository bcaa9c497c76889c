//! The ledger's operations to the base unit: exact balances after each
//! operation, computed by hand, where a mutation test found the suite
//! blind.

use agora::ledger::{to_base, Conservation, LedgerError, SCALE};

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
        money_held: 7,
        money_in: 10,
        tokens_held: vec![5, 9, 4],
        supply: vec![5, 6, 8],
    };
    assert_eq!(c.money_error(), 3);
    // |9 − 6| = 3 and |4 − 8| = 4: the largest
    assert_eq!(c.token_error(), 4);
    let none = Conservation {
        money_held: 1 << 100,
        money_in: 1 << 100,
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
