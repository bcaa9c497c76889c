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

/// A posted-price seller: sells to every buyer at `price` from the outside
/// world; after each step the price rises by `step_up` per whole token
/// sold in the step.
#[derive(Debug, Clone)]
struct Posted {
    price: f64,
    step_up: f64,
    sold: u64,
}

impl agora::market::Mechanism for Posted {
    fn kind(&self) -> &str {
        "posted"
    }

    fn execute(
        &mut self,
        agent: u32,
        action: agora::Action,
        m: &mut agora::market::mechanism::MarketStep<'_>,
    ) -> Result<(), agora::market::mechanism::Fault> {
        let agora::Action::Buy { spend, .. } = action else {
            m.ledger.count_rejected();
            return Ok(());
        };
        let price = (self.price * 1e9) as u128;
        let budget = u128::from(spend.min(m.ledger.balance(agent)));
        let tokens = (budget * 1_000_000_000 / price) as u64;
        let money = (price * u128::from(tokens) / 1_000_000_000) as u64;
        if tokens == 0 {
            m.ledger.count_rejected();
            return Ok(());
        }
        m.ledger
            .sell_from_outside(agent, m.asset, tokens, money, false)
            .map_err(|e| agora::market::mechanism::Fault::ledger("selling", e))?;
        m.fill(Some(agent), None, tokens, money);
        self.sold += tokens;
        Ok(())
    }

    fn end_step(
        &mut self,
        _m: &mut agora::market::mechanism::MarketStep<'_>,
    ) -> Result<(), agora::market::mechanism::Fault> {
        self.price += self.step_up * self.sold as f64 / 1e9;
        self.sold = 0;
        Ok(())
    }

    fn price(&self, _supply: u64) -> f64 {
        self.price
    }
}

/// A user mechanism named in a scenario file runs like a built-in one: the
/// same results at 1 and 4 threads and after a reset, money conserved, and
/// its kind in the summary.
#[test]
fn a_user_mechanism_runs_from_a_scenario_file_and_is_deterministic() {
    let mut r = Registry::new();
    r.register_mechanism("posted", |f: &mut Fields<'_>| {
        Ok(Posted {
            price: f.number("price", Range::Positive)?,
            step_up: f.number("step_up", Range::NonNegative)?,
            sold: 0,
        })
    })
    .unwrap();
    let text = r#"
        [simulation]
        steps = 30
        seed = 2
        [[assets]]
        name = "P"
        pricing = { kind = "posted", price = 2.0, step_up = 0.001 }
        [[agents]]
        group = "g"
        count = 500
        balance = 100.0
        policy = { kind = "random", asset = "P", p_buy = 0.3, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }
    "#;
    let s = Scenario::from_toml_str_with(text, "test", &r).unwrap();
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| Simulation::new(&s, 0).unwrap().run().unwrap())
    };
    let one = run(1);
    assert_eq!(run(4), one);
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    sim.reset(0).unwrap();
    assert_eq!(sim.run().unwrap(), one);
    let p = &one.summary.assets["P"];
    assert_eq!(p.market.as_ref().unwrap().mechanism, "posted");
    assert!(p.trades > 0);
    // the price rose by step_up per token sold: 2 + 0.001 · volume
    assert!((p.final_price - (2.0 + 0.001 * p.volume)).abs() < 1e-9);
    assert_eq!(one.summary.ledger.conservation_error, 0.0);
    // an unknown field of the mechanism is refused, with its path
    let typo = text.replace("step_up", "stepup");
    let e = Scenario::from_toml_str_with(&typo, "test", &r)
        .unwrap_err()
        .to_string();
    assert!(e.contains("stepup"), "{e}");
}
