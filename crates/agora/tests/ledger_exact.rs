//! The ledger's operations to the base unit: exact balances after each
//! operation, computed by hand, where a mutation test found the suite
//! blind.

use agora::ledger::{to_base, SCALE};

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
