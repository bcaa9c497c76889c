//! Bring your own bonding curve: a cubic-reserve curve written outside the
//! library as a `BondingCurve`, registered under a name that scenario
//! files use (`curve = "quadratic"`), run, and checked against its closed
//! form: the reserve is the curve's integral in base units, rounded in the
//! reserve's favour, and it pays for selling the whole supply back.
//!
//! Run with `cargo run --example custom_curve`.

use agora::pricing::BondingCurve;
use agora::scenario::{Fields, Range, Registry};
use agora::{Action, Scenario, Simulation};

/// `f(S) = 3·a·S²`, so the reserve is `F(S) = a·S³`.
#[derive(Debug)]
struct Quadratic {
    a: f64,
}

impl BondingCurve for Quadratic {
    fn spot_price(&self, supply: f64) -> f64 {
        3.0 * self.a * supply * supply
    }

    fn integral(&self, supply: f64) -> f64 {
        self.a * supply * supply * supply
    }
}

const SCENARIO: &str = r#"
[simulation]
steps = 100
seed = 5

[[assets]]
name = "CUBE"
initial_supply = 100.0
pricing = { kind = "bonding_curve", curve = "quadratic", a = 0.001, fee = 0.0 }

[[agents]]
group = "traders"
count = 200
balance = 100.0
policy = { kind = "random", asset = "CUBE", p_buy = 0.5, p_sell = 0.3, buy_fraction = 0.1, sell_fraction = 0.3 }
"#;

fn main() -> agora::Result<()> {
    let mut registry = Registry::new();
    registry.register_curve("quadratic", |f: &mut Fields<'_>| {
        Ok(Quadratic {
            a: f.number("a", Range::Positive)?,
        })
    })?;
    let scenario = Scenario::from_toml_str_with(SCENARIO, "custom_curve.rs", &registry)?;
    let mut sim = Simulation::new(&scenario, 0)?;
    while sim.step() < 100 {
        sim.advance()?;
    }
    let books = *sim.ledger().books(0);
    // The closed form, in exact integers: with a = 1/1000 and S = B/10⁹
    // tokens (B base units), F(S)·10⁹ = B³/10²¹ base units of money.
    let b = u128::from(books.supply);
    let exact = b * b * b;
    let (quotient, rest) = (exact / 10u128.pow(21), exact % 10u128.pow(21));
    let ceiling = quotient + u128::from(rest > 0);
    println!(
        "CUBE after 100 steps: supply {} tokens, price {:.4}, reserve {} base units, \
         closed form ⌈a·S³⌉ = {ceiling}",
        books.supply as f64 / 1e9,
        sim.price(0),
        books.reserve
    );
    // The float integral is rounded up to the base unit (within the
    // library's slack for float noise): at most one base unit off the exact
    // ceiling, never below the exact value by more.
    assert!(
        books.reserve + 1 >= ceiling && books.reserve <= ceiling + 1,
        "reserve {} vs closed form {ceiling}",
        books.reserve
    );

    // Everybody sells everything back: the reserve pays every sell, and the
    // supply the agents hold goes to zero.
    let agents = sim.ledger().agents() as u32;
    let sells: Vec<(u32, Action)> = (0..agents)
        .filter(|&a| sim.ledger().holding(a, 0) > 0)
        .map(|a| {
            let amount = sim.ledger().holding(a, 0);
            (a, Action::Sell { asset: 0, amount })
        })
        .collect();
    let rejected_before = sim.ledger().counts().rejected;
    // Hold everyone else (a step of sells only).
    let holds: Vec<(u32, Action)> = (0..agents)
        .filter(|a| !sells.iter().any(|s| s.0 == *a))
        .map(|a| (a, Action::Hold))
        .collect();
    sim.advance_with(&[sells.clone(), holds].concat())?;
    let after = *sim.ledger().books(0);
    let held: u64 = (0..agents).map(|a| sim.ledger().holding(a, 0)).sum();
    println!(
        "after {} holders sold everything: held {held}, supply {} (the unheld initial supply), \
         reserve {} base units",
        sells.len(),
        after.supply as f64 / 1e9,
        after.reserve
    );
    assert_eq!(held, 0);
    assert_eq!(sim.ledger().counts().rejected, rejected_before);
    let out = sim.finish()?;
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert_eq!(out.summary.ledger.reserve_shortfall, 0.0);
    println!("conservation error 0, reserve shortfall 0");
    Ok(())
}
