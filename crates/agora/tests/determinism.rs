//! The same scenario and seed give byte-identical outputs: run twice, and at
//! one thread and at four (the decide phase runs in parallel chunks of 4096
//! agents, so the scenarios here hold more than two chunks' worth of agents,
//! in groups whose boundaries fall inside chunks).

use agora::output::{agents_csv, assets_csv, summary_json};
use agora::scenario::{example, examples};
use agora::{Scenario, Simulation};

/// The rendered outputs of one run.
#[derive(Debug, PartialEq, Eq)]
struct Outputs {
    assets: Vec<u8>,
    agents: Vec<u8>,
    summary: Vec<u8>,
}

fn render(scenario: &Scenario) -> Outputs {
    render_deciding(scenario, false)
}

/// Runs `scenario`, with every agent deciding in a parallel phase first if
/// `parallel`, else at its turn in the execution order.
fn render_deciding(scenario: &Scenario, parallel: bool) -> Outputs {
    let mut sim = Simulation::new(scenario, 0).expect("set up");
    sim.set_parallel_decide(parallel);
    let out = sim.run().expect("run");
    let runs = std::slice::from_ref(&out);
    Outputs {
        assets: assets_csv(scenario, runs).expect("assets.csv"),
        agents: agents_csv(scenario, runs).expect("agents.csv"),
        summary: summary_json(scenario, std::slice::from_ref(&out)).expect("summary.json"),
    }
}

/// Runs `scenario` inside a rayon pool of `threads` threads.
fn render_with_threads(scenario: &Scenario, threads: usize) -> Outputs {
    render_deciding_with_threads(scenario, false, threads)
}

/// [`render_deciding`] inside a rayon pool of `threads` threads.
fn render_deciding_with_threads(scenario: &Scenario, parallel: bool, threads: usize) -> Outputs {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(|| render_deciding(scenario, parallel))
}

/// The `token-economy` example (five groups, a fee, a Pareto airdrop, a
/// ramped slope) scaled up to 9,000 agents: three decide chunks.
fn big_token_economy() -> Scenario {
    let text = examples()
        .iter()
        .find(|e| e.name == "token-economy")
        .expect("token-economy is a built-in example")
        .toml;
    assert!(text.contains("count = 2000"), "the example changed: {text}");
    let scaled = text.replacen("count = 2000", "count = 7000", 1);
    let scenario = Scenario::from_toml_str(&scaled, "<token-economy x9000>").expect("valid");
    assert!(scenario.agent_count() > 2 * 4096);
    assert!(scenario.groups().len() >= 3);
    // the unscaled example still parses and is the same model
    assert_eq!(
        example("token-economy").expect("example").groups().len(),
        scenario.groups().len()
    );
    scenario
}

/// Two assets on different curves (linear with a fee, sigmoid with a step
/// change of its ceiling), four groups trading one or the other, an airdrop.
const TWO_ASSETS: &str = r#"
[simulation]
steps = 60
seed = 11

[[assets]]
name = "LIN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.002, b = 0.5, fee = 0.003 }

[[assets]]
name = "SIG"
initial_supply = 500.0
pricing = { kind = "bonding_curve", curve = "sigmoid", K = 50.0, k = 0.002, S0 = 2000.0 }
schedule = [ { param = "K", at = 30, value = 80.0 } ]

[[agents]]
group = "noise_lin"
count = 5000
balance = 500.0
policy = { kind = "random", asset = "LIN", p_buy = 0.4, p_sell = 0.4, buy_fraction = 0.1, sell_fraction = 0.2 }

[[agents]]
group = "noise_sig"
count = 3000
balance = 800.0
policy = { kind = "random", asset = "SIG", p_buy = 0.3, p_sell = 0.3, buy_fraction = 0.05, sell_fraction = 0.1 }

[[agents]]
group = "fundamental"
count = 1500
balance = 1000.0
policy = { kind = "valuation", asset = "SIG", valuation = { distribution = "normal", mean = 20.0, std = 5.0 }, beta = 0.4, activity = 0.6, buy_fraction = 0.1, sell_fraction = 0.1 }

[[agents]]
group = "trend"
count = 1000
balance = 300.0
holdings = [ { asset = "LIN", total = 5000.0, distribution = "lognormal", sigma = 1.0 } ]
policy = { kind = "momentum", asset = "LIN", lookback = 3, threshold = 0.0, p_trade = 0.7, buy_fraction = 0.2, sell_fraction = 0.3 }
"#;

fn two_assets() -> Scenario {
    let scenario = Scenario::from_toml_str(TWO_ASSETS, "two-assets.toml").expect("valid");
    assert!(scenario.agent_count() > 2 * 4096);
    scenario
}

fn assert_same(a: &Outputs, b: &Outputs, what: &str) {
    // Compare file by file so that a failure says which file differs.
    assert!(a.assets == b.assets, "{what}: assets.csv differs");
    assert!(a.agents == b.agents, "{what}: agents.csv differs");
    assert!(a.summary == b.summary, "{what}: summary.json differs");
}

/// Sanity: the outputs are not trivially equal because nothing happened.
fn assert_trades_happened(out: &Outputs) {
    let text = String::from_utf8(out.summary.clone()).expect("utf-8");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    for (name, asset) in json["assets"].as_object().expect("assets") {
        let trades = asset["trades"].as_u64().expect("trades");
        assert!(trades > 1000, "asset {name} saw only {trades} trades");
    }
}

#[test]
fn token_economy_is_byte_identical_when_run_twice() {
    let scenario = big_token_economy();
    let first = render(&scenario);
    let second = render(&scenario);
    assert_trades_happened(&first);
    assert_same(&first, &second, "token-economy, run twice");
}

#[test]
fn token_economy_is_byte_identical_at_one_and_four_threads() {
    let scenario = big_token_economy();
    let one = render_with_threads(&scenario, 1);
    let four = render_with_threads(&scenario, 4);
    assert_same(&one, &four, "token-economy, 1 vs 4 threads");
}

#[test]
fn two_asset_scenario_is_byte_identical_when_run_twice_and_at_one_and_four_threads() {
    let scenario = two_assets();
    let default_pool = render(&scenario);
    assert_trades_happened(&default_pool);
    let again = render(&scenario);
    let one = render_with_threads(&scenario, 1);
    let four = render_with_threads(&scenario, 4);
    assert_same(&default_pool, &again, "two assets, run twice");
    assert_same(&one, &four, "two assets, 1 vs 4 threads");
    assert_same(&default_pool, &one, "two assets, default pool vs 1 thread");
    // one holdings column per asset follows the common columns, then the
    // locked amounts, likewise
    let header = default_pool.agents.split(|&b| b == b'\n').next().unwrap();
    assert_eq!(
        header,
        &b"run,step,group,agents,balance,holdings,wealth,holdings_LIN,holdings_SIG,\
           locked_balance,locked_holdings,locked_holdings_LIN,locked_holdings_SIG"[..]
    );
}

#[test]
fn deciding_in_a_parallel_phase_or_at_each_turn_gives_the_same_bytes() {
    for scenario in [big_token_economy(), two_assets()] {
        let at_turn = render_deciding(&scenario, false);
        assert_trades_happened(&at_turn);
        for threads in [1, 4] {
            let parallel = render_deciding_with_threads(&scenario, true, threads);
            assert_same(
                &at_turn,
                &parallel,
                "parallel decide phase vs decide at each turn",
            );
        }
    }
}

/// The reference example at 20,000 agents (five blocks of the two-thread
/// pipeline, whose agents decide on a copy of their accounts on another
/// thread while the block before them executes), with a second group that
/// joins at step 3 and leaves at step 6 (its agents hold without drawing
/// outside those steps) and holds the last agents of the last block.
fn pipelined_reference() -> Scenario {
    let text = examples()
        .iter()
        .find(|e| e.name == "reference")
        .expect("reference is a built-in example")
        .toml;
    assert!(
        text.contains("count = 10000"),
        "the example changed: {text}"
    );
    let scaled = text.replacen("count = 10000", "count = 19000", 1).replacen(
        "steps = 100",
        "steps = 8",
        1,
    ) + r#"
[[agents]]
group = "late"
count = 1000
balance = 500.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.7, p_sell = 0.3, buy_fraction = 0.2, sell_fraction = 0.5 }

[[events]]
kind = "join"
group = "late"
at = 3

[[events]]
kind = "leave"
group = "late"
at = 6
"#;
    Scenario::from_toml_str(&scaled, "<reference x20000>").expect("valid")
}

#[test]
fn deciding_a_block_ahead_on_another_thread_gives_the_same_bytes() {
    let scenario = pipelined_reference();
    assert_eq!(scenario.agent_count(), 20_000);
    let one = render_with_threads(&scenario, 1);
    assert_trades_happened(&one);
    for threads in [2, 3] {
        let many = render_with_threads(&scenario, threads);
        assert_same(&one, &many, "decided at each turn vs a block ahead");
    }
    let parallel = render_deciding(&scenario, true);
    assert_same(
        &one,
        &parallel,
        "decided at each turn vs in a parallel phase",
    );
}

/// Two resources at 9,000 consumers (three blocks of the two-thread
/// pipeline): renewing compute shared in proportion to the requests and
/// priced by excess demand, with an outage; a depleting stock sold by a
/// uniform-price auction, replenished by producers whose output arrives
/// the same step (paid at once; their balances, 5 against a step's cost of
/// up to 10, bound what they make) and by others two steps later. Consumers
/// and producers of either decide at their turns, since a resource's
/// requests and production touch only their own accounts until the
/// allocation at the end of the step.
const TWO_RESOURCES: &str = r#"
[simulation]
steps = 40
seed = 5

[[assets]]
name = "COMPUTE"
kind = "resource"
capacity = 3000.0
renewal = "renewing"
allocation = "proportional"
pricing = { kind = "price_adjustment", rule = "proportional", lambda = 0.5, initial_price = 1.0, min_price = 0.01, max_relative_change = 0.2 }

[[assets]]
name = "ENERGY"
kind = "resource"
renewal = "stock"
capacity = 2000.0
decay = 0.01
holding_cost = 0.01
allocation = "auction"
pricing = { kind = "auction", reserve_price = 0.2 }

[[agents]]
group = "compute_users"
count = 6000
balance = 1000.0
policy = { kind = "consumer", asset = "COMPUTE", need = { distribution = "uniform", low = 0.5, high = 1.5 }, value = 3.0, demand = "linear" }

[[agents]]
group = "energy_users"
count = 3000
balance = 200.0
policy = { kind = "consumer", asset = "ENERGY", need = { distribution = "lognormal", mu = 0.0, sigma = 0.5 }, value = 4.0 }

[[agents]]
group = "compute_makers"
count = 60
balance = 1000.0
policy = { kind = "producer", asset = "COMPUTE", cost = 1.0, max_output = 10.0, lead_time = 2 }

[[agents]]
group = "energy_makers"
count = 40
balance = 5.0
policy = { kind = "producer", asset = "ENERGY", cost = 0.5, max_output = 20.0, lead_time = 0 }

[[events]]
kind = "outage"
asset = "COMPUTE"
at = 20
duration = 5
share = 0.5
"#;

#[test]
fn resources_decided_at_each_turn_a_block_ahead_or_in_a_parallel_phase_give_the_same_bytes() {
    let scenario = Scenario::from_toml_str(TWO_RESOURCES, "two-resources.toml").expect("valid");
    assert!(scenario.agent_count() > 2 * 4096);
    let one = render_with_threads(&scenario, 1);
    // the resources were allocated, and the producers produced
    let text = String::from_utf8(one.summary.clone()).expect("utf-8");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    for name in ["COMPUTE", "ENERGY"] {
        let asset = &json["assets"][name];
        let trades = asset["trades"].as_u64().expect("trades");
        assert!(trades > 10_000, "{name} saw only {trades} trades: {asset}");
    }
    for threads in [2, 3] {
        let many = render_with_threads(&scenario, threads);
        assert_same(
            &one,
            &many,
            "resources decided at each turn vs a block ahead",
        );
    }
    for threads in [1, 4] {
        let parallel = render_deciding_with_threads(&scenario, true, threads);
        assert_same(
            &one,
            &parallel,
            "resources decided at each turn vs in a parallel phase",
        );
    }
}

#[test]
fn a_different_seed_gives_different_outputs() {
    let scenario = two_assets();
    let mut reseeded = scenario.clone();
    reseeded.set_seed(12).expect("seed");
    let a = render(&scenario);
    let b = render(&reseeded);
    assert_ne!(
        a.assets, b.assets,
        "assets.csv is the same for seeds 11 and 12"
    );
    assert_ne!(
        a.agents, b.agents,
        "agents.csv is the same for seeds 11 and 12"
    );
    assert_ne!(a.summary, b.summary);

    let mut reseeded = big_token_economy();
    let c = render(&reseeded);
    reseeded.set_seed(43).expect("seed");
    let d = render(&reseeded);
    assert_ne!(c.assets, d.assets, "token-economy: seeds 42 and 43 agree");
}

#[test]
fn the_seed_is_part_of_the_scenario_hash_and_the_summary() {
    let scenario = two_assets();
    let mut reseeded = scenario.clone();
    reseeded.set_seed(12).expect("seed");
    assert_ne!(scenario.hash(), reseeded.hash());
    // the same content gives the same hash whatever its layout
    let relaid = Scenario::from_toml_str(
        &format!("# a comment\n{}", TWO_ASSETS.replace(" = ", "=")),
        "other.toml",
    )
    .expect("valid");
    assert_eq!(scenario.hash(), relaid.hash());
    let out = render(&reseeded);
    let json: serde_json::Value = serde_json::from_slice(&out.summary).expect("json");
    assert_eq!(json["seed"], 12);
    assert_eq!(json["scenario_hash"], reseeded.hash().as_str());
}

/// `assets` curves (a linear one with a fee, then exponential ones), each
/// traded by a group of 4,200 agents (those of the first with dust
/// balances, whose buys and sells are rejected), with whales dumping at
/// step 4, and the trade log on.
fn curves_scenario(assets: usize) -> Scenario {
    let mut toml = String::from("[simulation]\nsteps = 6\nseed = 77\n[output]\ntrades = true\n");
    for j in 0..assets {
        let pricing = if j == 0 {
            r#"{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0, fee = 0.01 }"#
        } else {
            r#"{ kind = "bonding_curve", curve = "exponential", a = 1.0, k = 0.00001 }"#
        };
        toml += &format!("[[assets]]\nname = \"C{j}\"\npricing = {pricing}\n");
        toml += &format!(
            "[[agents]]\ngroup = \"g{j}\"\ncount = 4200\nbalance = {}\n\
             policy = {{ kind = \"random\", asset = \"C{j}\", p_buy = 0.6, p_sell = 0.35, \
             buy_fraction = 1.0, sell_fraction = 1.0 }}\n",
            if j == 0 { "0.00001" } else { "300.0" }
        );
    }
    toml += "[[agents]]\ngroup = \"whales\"\ncount = 7\nbalance = 0.0\n\
             holdings = { asset = \"C0\", total = 5000.0, distribution = \"uniform\" }\n\
             policy = { kind = \"random\", asset = \"C0\", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.0, sell_fraction = 0.0 }\n\
             [[events]]\nat = 4\nkind = \"dump\"\ngroup = \"whales\"\nasset = \"C0\"\nshare = 0.5\n";
    Scenario::from_toml_str(&toml, "<curves>").expect("valid")
}

/// Everything a run leaves that the two-thread curve path could change:
/// the trade log of every step, every account and the operation counts.
fn curve_run(
    scenario: &Scenario,
    threads: usize,
) -> (Vec<agora::ledger::TradeRecord>, Vec<u64>, String) {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(|| {
            let mut sim = Simulation::new(scenario, 0).expect("set up");
            let mut log = Vec::new();
            while sim.step() < scenario.simulation().steps {
                sim.advance().expect("step");
                log.extend_from_slice(sim.trades());
            }
            let ledger = sim.ledger();
            let cells = ledger.account_cells(0..ledger.agents()).to_vec();
            (log, cells, format!("{:?}", ledger.counts()))
        })
}

#[test]
fn curve_trades_settled_on_copies_of_the_accounts_on_two_threads_give_the_same_trades() {
    // 3 cells an account (the copies of a known size) and 5 (any size)
    for assets in [2, 4] {
        let scenario = curves_scenario(assets);
        assert!(scenario.agent_count() > 2 * 4096);
        let (log, cells, counts) = curve_run(&scenario, 1);
        // buys and sells on every curve, and rejected actions
        for j in 0..assets as u32 {
            for buy in [true, false] {
                let n = log.iter().filter(|r| r.asset == j && r.buy == buy).count();
                assert!(
                    n > 1000,
                    "{assets} assets: curve {j}, buy {buy}: only {n} trades"
                );
            }
        }
        assert!(
            log.iter().any(|r| r.agent >= 4200 * assets as u32),
            "the whales dumped"
        );
        let counted = |name: &str| -> u64 {
            let at = counts.find(&format!("{name}: ")).expect(name) + name.len() + 2;
            counts[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert!(counted("rejected") > 100, "{counts}");
        for threads in [2, 3] {
            let (many_log, many_cells, many_counts) = curve_run(&scenario, threads);
            assert!(
                many_log == log,
                "{assets} assets, {threads} threads: the trade log differs"
            );
            assert!(
                many_cells == cells,
                "{assets} assets, {threads} threads: the accounts differ"
            );
            assert_eq!(many_counts, counts, "{assets} assets, {threads} threads");
        }
    }
}

/// A linear curve traded by noise traders (each buy a share of the
/// balance) beside a compute resource with its consumers and producers:
/// the two-thread pipeline's general path.
const CURVE_AND_RESOURCE: &str = r#"
[simulation]
steps = 12
seed = 9

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }

[[assets]]
name = "COMPUTE"
kind = "resource"
capacity = 50.0
renewal = "renewing"
allocation = "proportional"
pricing = { kind = "price_adjustment", rule = "proportional", lambda = 0.5, initial_price = 1.0, min_price = 0.01, max_relative_change = 0.2 }

[[agents]]
group = "noise"
count = 300
balance = 500.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.5, p_sell = 0.4, buy_fraction = 0.3, sell_fraction = 0.5 }

[[agents]]
group = "users"
count = 100
balance = 100.0
policy = { kind = "consumer", asset = "COMPUTE", need = { distribution = "uniform", low = 0.5, high = 1.5 }, value = 3.0, demand = "linear" }

[[agents]]
group = "makers"
count = 10
balance = 50.0
policy = { kind = "producer", asset = "COMPUTE", cost = 1.0, max_output = 10.0, lead_time = 1 }
"#;

/// Every example (each group capped at 150 agents, 10 steps) gives the
/// same bytes at one thread as on two with the two-thread execute
/// pipeline forced in small blocks and pieces, so that a run of a few
/// hundred agents goes through every hand-over a run of a million does:
/// blocks of one agent, pieces smaller than a block, a last block cut
/// short. Where the pipeline does not apply (adaptive policies, contracts,
/// order books) the run is the one-thread run.
/// Runs `scenario` in `pool` with the two-thread pipeline forced in
/// `sizes`: its outputs, and the steps that went through the pipeline.
fn render_pipelined(
    pool: &rayon::ThreadPool,
    scenario: &Scenario,
    sizes: (usize, usize),
) -> (Outputs, u64) {
    pool.install(|| {
        let mut sim = Simulation::new(scenario, 0).expect("set up");
        sim.force_pipeline(Some(sizes));
        while !sim.done() {
            sim.advance().expect("a step");
        }
        let steps = sim.pipelined_steps();
        let out = sim.finish().expect("run");
        let runs = std::slice::from_ref(&out);
        let outputs = Outputs {
            assets: assets_csv(scenario, runs).expect("assets.csv"),
            agents: agents_csv(scenario, runs).expect("agents.csv"),
            summary: summary_json(scenario, runs).expect("summary.json"),
        };
        (outputs, steps)
    })
}

#[test]
fn every_example_gives_the_same_bytes_through_the_two_thread_pipeline_in_small_blocks() {
    let pool = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool")
    };
    let two_threads = pool(2);
    let mut pipelined = Vec::new();
    for e in examples() {
        let scenario = crate::fuzz::checkpoint::capped(e.name, 150, 10);
        let one = render_with_threads(&scenario, 1);
        for sizes in [(1, 1), (16, 5), (97, 32)] {
            let (two, steps) = render_pipelined(&two_threads, &scenario, sizes);
            let what = format!(
                "{}: one thread vs the pipeline in blocks of {sizes:?}",
                e.name
            );
            assert_same(&one, &two, &what);
            if steps > 0 && !pipelined.contains(&e.name) {
                pipelined.push(e.name);
            }
        }
    }
    // The pipeline ran: on curves alone (its own path), and on resources
    // and with a circuit breaker (the general one): 19 of the 37 examples.
    for name in [
        "reference",
        "token-economy",
        "resource-economy",
        "circuit-breaker",
    ] {
        assert!(
            pipelined.contains(&name),
            "{name} never pipelined: {pipelined:?}"
        );
    }
    assert!(pipelined.len() >= 15, "only {pipelined:?} pipelined");
    // A curve beside a resource takes the general path, and its traders'
    // decisions depend on their balances (a share of it spent): the
    // pieces' accounts must be their agents' own.
    let mixed =
        Scenario::from_toml_str(CURVE_AND_RESOURCE, "curve-and-resource.toml").expect("valid");
    let one = render_with_threads(&mixed, 1);
    assert_trades_happened(&one);
    for sizes in [(1, 1), (16, 5), (97, 32), (400, 7)] {
        let (two, steps) = render_pipelined(&two_threads, &mixed, sizes);
        assert_eq!(steps, 12);
        assert_same(
            &one,
            &two,
            &format!("a curve and a resource, blocks of {sizes:?}"),
        );
    }
    // On one thread there is no other thread to decide ahead: not forced.
    let scenario = crate::fuzz::checkpoint::capped("reference", 150, 10);
    let (alone, steps) = render_pipelined(&pool(1), &scenario, (16, 5));
    assert_eq!(steps, 0);
    assert_same(
        &render_with_threads(&scenario, 1),
        &alone,
        "one thread, forced",
    );
}
