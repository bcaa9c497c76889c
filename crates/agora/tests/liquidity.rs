//! Liquidity provision to an AMM (`Action::AddLiquidity`,
//! `Action::RemoveLiquidity`, the `liquidity_provider` policy) and
//! liquidity mining (`volume_reward` with `basis = "liquidity"`) against
//! their closed forms: the shares minted, the withdrawal, an LP's share of
//! a swap's fee to the base unit, the reward `⌊shares · r / 10⁹⌋` per
//! step; conservation, the same bytes at 1 and 4 threads, a state round
//! trip, bad input.

use agora::ledger::SCALE;
use agora::{Action, Scenario, Simulation};

const U: u64 = SCALE;

/// A pool of 1000 money and 1000 tokens (fee 0.3%) and two idle agents
/// with 2000 money and 1000 tokens each, and `more`.
fn pool(steps: u64, more: &str) -> Scenario {
    let text = format!(
        r#"
[simulation]
steps = {steps}
seed = 9

[[assets]]
name = "AGT"
pricing = {{ kind = "amm", curve = "constant_product", reserve_money = 1000.0, reserve_token = 1000.0, fee = 0.003 }}

[[agents]]
group = "idle"
count = 2
balance = 2000.0
holdings = [ {{ asset = "AGT", total = 2000.0, distribution = "uniform" }} ]
policy = {{ kind = "random", asset = "AGT", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }}

{more}
"#
    );
    Scenario::from_toml_str(&text, "pool.toml").unwrap()
}

fn add(money: u64) -> Action {
    Action::AddLiquidity { asset: 0, money }
}

fn remove(shares: u64) -> Action {
    Action::RemoveLiquidity { asset: 0, shares }
}

#[test]
fn a_withdrawal_of_exactly_the_shares_held_is_not_clipped_and_one_of_a_share_more_is() {
    // After a deposit of 1000 money (and 1000 tokens) agent 0 holds
    // 1000·10⁹ shares, half the pool: asking for them, or for everything
    // (u64::MAX), is no clip; a share more is cut to them and counted.
    let held = 1000 * 1_000_000_000;
    for (shares, clipped) in [(held, 0), (held + 1, 1), (u64::MAX, 0)] {
        let mut sim = Simulation::new(&pool(2, ""), 0).unwrap();
        sim.advance_with(&[(0, add(1000 * U))]).unwrap();
        assert_eq!(sim.amm(0).unwrap().lp().of(0), u128::from(held));
        sim.advance_with(&[(0, remove(shares))]).unwrap();
        let counts = sim.ledger().counts();
        assert_eq!((counts.clipped, counts.rejected), (clipped, 0), "{shares}");
        // every share burned either way, the deposit back to the base unit
        assert_eq!(sim.amm(0).unwrap().lp().of(0), 0, "{shares}");
        assert_eq!(
            (sim.ledger().balance(0), sim.ledger().holding(0, 0)),
            (2000 * U, 1000 * U),
            "{shares}"
        );
    }
}

#[test]
fn a_deposit_mints_its_shares_and_the_lp_earns_exactly_its_share_of_a_swaps_fee() {
    let s = pool(5, "");
    let mut sim = Simulation::new(&s, 0).unwrap();
    // S₀ = √(1000·1000)·10⁹ = 1000·10⁹; 1000 money bring 1000 tokens and
    // mint 1000·10⁹ shares: half the pool
    sim.advance_with(&[(0, add(1000 * U))]).unwrap();
    let lp = sim.amm(0).unwrap().lp().clone();
    assert_eq!(
        (lp.total(), lp.protocol(), lp.of(0)),
        (
            2000 * 1_000_000_000,
            1000 * 1_000_000_000,
            1000 * 1_000_000_000
        )
    );
    assert_eq!(sim.ledger().balance(0), 1000 * U);
    assert_eq!(sim.ledger().holding(0, 0), 0);
    // agent 1 buys with 1000 money: 997 swapped, 3 kept in the pool
    sim.advance_with(&[(
        1,
        Action::Buy {
            asset: 0,
            spend: 1000 * U,
        },
    )])
    .unwrap();
    let amm = sim.amm(0).unwrap();
    let (r_m, r_t) = amm.reserves();
    assert_eq!(r_m, 3000 * u128::from(U));
    // the same buy of 997 without a fee, on the same pool
    let free_out = 997 * 2000 * u128::from(U) / 2997;
    assert_eq!(r_t, 2000 * u128::from(U) - free_out);
    // it withdraws everything: half of each reserve, floored
    sim.advance_with(&[(0, remove(u64::MAX))]).unwrap();
    assert_eq!(
        u128::from(sim.ledger().balance(0)),
        1000 * u128::from(U) + r_m / 2
    );
    assert_eq!(u128::from(sim.ledger().holding(0, 0)), r_t / 2);
    // against the fee-free pool (2997 money), its money is 3/2 more: its
    // half of the fee, to the base unit
    assert_eq!(r_m / 2 - (2997 * u128::from(U)) / 2, 1_500_000_000);
    let amm = sim.amm(0).unwrap();
    assert_eq!(amm.lp().total(), amm.lp().protocol());
    assert_eq!(amm.reserves(), (r_m - r_m / 2, r_t - r_t / 2));
    let out = sim.finish().unwrap();
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
    assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
}

#[test]
fn deposits_are_cut_to_the_balance_and_the_tokens_and_withdrawals_to_the_shares() {
    let s = pool(6, "");
    let mut sim = Simulation::new(&s, 0).unwrap();
    // 5000 money asked, 2000 held; 1000 tokens match 1000 money: cut to it
    sim.advance_with(&[(0, add(5000 * U))]).unwrap();
    assert_eq!(sim.ledger().balance(0), 1000 * U);
    assert_eq!(sim.ledger().holding(0, 0), 0);
    // an odd deposit: 3 base units bring ⌈3·2000/2000⌉ = 3 tokens, mint
    // ⌊2000·10⁹·3/(2000·10⁹)⌋ = 3 shares
    sim.advance_with(&[(1, add(3))]).unwrap();
    let lp = sim.amm(0).unwrap().lp().clone();
    assert_eq!(lp.of(1), 3);
    assert_eq!(sim.ledger().holding(1, 0), 1000 * U - 3);
    // a withdrawal past its shares: cut (clipped); with none left: rejected
    sim.advance_with(&[(1, remove(10))]).unwrap();
    assert_eq!(sim.ledger().holding(1, 0), 1000 * U);
    assert_eq!(sim.ledger().balance(1), 2000 * U);
    sim.advance_with(&[(1, remove(1))]).unwrap();
    // a deposit of nothing: rejected
    sim.advance_with(&[(1, Action::AddLiquidity { asset: 0, money: 0 })])
        .unwrap();
    let out = sim.finish().unwrap();
    assert_eq!(out.summary.ledger.clipped_actions, 2);
    assert_eq!(out.summary.ledger.rejected_actions, 2);
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}

#[test]
fn liquidity_mining_pays_rate_times_shares_each_step() {
    let more = r#"
[[agents]]
group = "lps"
count = 2
balance = 1000.0
holdings = [ { asset = "AGT", total = 2000.0, distribution = "uniform" } ]
policy = { kind = "liquidity_provider", asset = "AGT", share = 0.5, at = 1, withdraw_at = 4 }

[[incentives]]
name = "mining"
kind = "volume_reward"
asset = "AGT"
basis = "liquidity"
rate = 0.01
funding = { kind = "treasury", currency = "money", amount = 100.0 }
"#;
    let s = pool(6, more);
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    // each LP deposits 500 money: the first ⌊1000·500/1000⌋ = 500 shares,
    // the second ⌊1500·500/1500⌋ = 500; paid ⌊500·10⁹·0.01⌋ = 5 each at
    // steps 1, 2, 3 (after the trades; withdrawn at step 4)
    let rewards: Vec<(u64, u128)> = out
        .records
        .incentives
        .iter()
        .map(|r| (r.step, r.amount))
        .collect();
    assert_eq!(
        rewards,
        vec![
            (1, 10 * 1_000_000_000),
            (2, 10 * 1_000_000_000),
            (3, 10 * 1_000_000_000)
        ]
    );
    assert_eq!(out.summary.incentives["mining"].paid, 30.0);
    assert_eq!(out.summary.incentives["mining"].recipients, 2);
    assert_eq!(out.summary.ledger.conservation_error, 0.0);
}

#[test]
fn the_liquidity_mining_example_conserves_resumes_exactly_and_is_the_same_at_one_and_four_threads()
{
    let mut s = agora::scenario::example("liquidity-mining").unwrap();
    s.set_steps(60).unwrap();
    let render = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                let out = Simulation::new(&s, 0).unwrap().run().unwrap();
                assert_eq!(out.summary.ledger.conservation_error, 0.0);
                assert_eq!(out.summary.ledger.token_conservation_error, 0.0);
                assert!(out.summary.incentives["mining"].paid > 0.0);
                agora::output::run_files(&s, &[out]).unwrap()
            })
    };
    let one = render(1);
    assert_eq!(one, render(4));
    // a state taken at step 30, with shares outstanding, continues exactly
    let mut first = Simulation::new(&s, 0).unwrap();
    while first.step() < 30 {
        first.advance().unwrap();
    }
    assert!(first.amm(0).unwrap().lp().holders().count() > 0);
    let bytes = postcard::to_stdvec(&first.state()).unwrap();
    let mut second = Simulation::new(&s, 0).unwrap();
    second
        .restore(postcard::from_bytes(&bytes).unwrap())
        .unwrap();
    while !second.done() {
        second.advance().unwrap();
    }
    let resumed = second.finish().unwrap();
    let mut straight = Simulation::new(&s, 0).unwrap();
    while straight.step() < 30 {
        straight.advance().unwrap();
    }
    while !straight.done() {
        straight.advance().unwrap();
    }
    assert_eq!(
        resumed.summary.incentives["mining"].paid,
        straight.finish().unwrap().summary.incentives["mining"].paid
    );
}

#[test]
fn bad_liquidity_input_is_a_one_line_error_naming_the_field() {
    let err = |text: &str| {
        let e = Scenario::from_toml_str(text, "s.toml")
            .unwrap_err()
            .to_string();
        assert_eq!(e.lines().count(), 1, "{e}");
        e
    };
    let curve = r#"
[simulation]
steps = 5
seed = 1

[[assets]]
name = "C"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }

[[agents]]
group = "g"
count = 1
balance = 1.0
"#;
    let e = err(&format!(
        "{curve}policy = {{ kind = \"liquidity_provider\", asset = \"C\", share = 0.5 }}"
    ));
    assert!(
        e.contains("agents.g.policy") && e.contains("automated market maker"),
        "{e}"
    );
    let e = err(&format!(
        "{curve}policy = {{ kind = \"random\", asset = \"C\", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }}\n\n[[incentives]]\nname = \"m\"\nkind = \"volume_reward\"\nasset = \"C\"\nbasis = \"liquidity\"\nrate = 0.1\nfunding = {{ kind = \"treasury\", currency = \"money\", amount = 1.0 }}"
    ));
    assert!(e.contains("incentives.m.basis") && e.contains("amm"), "{e}");
    let amm = curve.replace(
        r#"{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }"#,
        r#"{ kind = "amm", curve = "constant_product", reserve_money = 10.0, reserve_token = 10.0, fee = 0.0 }"#,
    );
    let e = err(&format!(
        "{amm}policy = {{ kind = \"liquidity_provider\", asset = \"C\", share = 0.5, at = 5, withdraw_at = 5 }}"
    ));
    assert!(e.contains("agents.g.policy.withdraw_at"), "{e}");
    let e = err(&format!(
        "{amm}policy = {{ kind = \"liquidity_provider\", asset = \"C\", share = -0.5 }}"
    ));
    assert!(e.contains("agents.g.policy.share"), "{e}");
}
