//! User curves, mechanisms and allocation rules registered by name: the
//! exactness rules of the built-in curves hold for a user curve, and the
//! registry refuses names already taken.

use agora::pricing::BondingCurve;
use agora::resource::alloc::{Allocation, Outcome, Request};
use agora::scenario::{Fields, Range, Registry};
use agora::{Scenario, Simulation};

/// `f(S) = 3·a·S²`, `F(S) = a·S³`.
#[derive(Debug)]
struct Cubic {
    a: f64,
}

impl BondingCurve for Cubic {
    fn spot_price(&self, supply: f64) -> f64 {
        3.0 * self.a * supply * supply
    }

    fn integral(&self, supply: f64) -> f64 {
        self.a * supply * supply * supply
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register_curve("cubic", |f: &mut Fields<'_>| {
        Ok(Cubic {
            a: f.number("a", Range::Positive)?,
        })
    })
    .unwrap();
    r
}

fn scenario(fee: f64) -> String {
    format!(
        r#"
        [simulation]
        steps = 60
        seed = 9
        [[assets]]
        name = "C"
        pricing = {{ kind = "bonding_curve", curve = "cubic", a = 0.001, fee = {fee} }}
        [[agents]]
        group = "g"
        count = 100
        balance = 50.0
        policy = {{ kind = "random", asset = "C", p_buy = 0.5, p_sell = 0.4, buy_fraction = 0.2, sell_fraction = 0.5 }}
        "#
    )
}

/// After every step the reserve is the closed form `⌈a·S³⌉` in base units
/// (exact integers: with a = 1/1000, `B³/10²¹` for B base units of
/// supply), within the one base unit the float integral's rounding allows,
/// with and without a fee; money is conserved.
#[test]
fn a_user_curve_keeps_the_reserve_at_its_closed_form() {
    for fee in [0.0, 0.01] {
        let s = Scenario::from_toml_str_with(&scenario(fee), "test", &registry()).unwrap();
        let mut sim = Simulation::new(&s, 0).unwrap();
        while sim.step() < 60 {
            sim.advance().unwrap();
            let books = *sim.ledger().books(0);
            let b = u128::from(books.supply);
            let exact = b * b * b;
            let d = 10u128.pow(21);
            let ceiling = exact / d + u128::from(exact % d > 0);
            assert!(
                books.reserve + 1 >= ceiling && books.reserve <= ceiling + 1,
                "fee {fee}, step {}: reserve {} vs {ceiling}",
                sim.step(),
                books.reserve
            );
            assert_eq!(sim.ledger().conservation().money_error(), 0);
        }
        assert!(sim.ledger().books(0).supply > 0);
        let out = sim.finish().unwrap();
        assert_eq!(out.summary.ledger.reserve_shortfall, 0.0);
    }
}

#[derive(Debug)]
struct Nobody;

impl Allocation for Nobody {
    fn name(&self) -> &str {
        "nobody"
    }
    fn allocate(&self, requests: &[Request], _: u64, _: &[u32], _: u64) -> Outcome {
        Outcome {
            allocations: vec![0; requests.len()],
            price: None,
        }
    }
}

#[test]
fn the_registry_refuses_taken_names_and_lists_the_registered_ones() {
    let mut r = registry();
    let again = r.register_curve("cubic", |_: &mut Fields<'_>| Ok(Cubic { a: 1.0 }));
    assert!(again.unwrap_err().to_string().contains("already defined"));
    let builtin = r.register_curve("linear", |_: &mut Fields<'_>| Ok(Cubic { a: 1.0 }));
    assert!(builtin.is_err());
    r.register_allocation(Nobody).unwrap();
    assert!(r.register_allocation(Nobody).is_err());
    let typo = scenario(0.0).replace("\"cubic\"", "\"cubik\"");
    let e = Scenario::from_toml_str_with(&typo, "test", &r)
        .unwrap_err()
        .to_string();
    assert!(e.contains("pricing.curve") && e.contains("cubic"), "{e}");
    // without the registry, the name is unknown
    assert!(Scenario::from_toml_str(&scenario(0.0), "test").is_err());
}
