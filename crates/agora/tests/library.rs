//! What library users build on: the measured performance kept apart from
//! the reproducible results, per-agent records, and scenarios built in code.

use agora::output::{summary_json, summary_json_with, Performance, PERFORMANCE_KEY};
use agora::scenario::example;
use agora::Simulation;
use std::time::Duration;

#[test]
fn the_measured_performance_is_appended_last_and_the_rest_of_the_summary_is_unchanged() {
    let mut s = example("curve-linear").unwrap();
    s.set_steps(3).unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let runs = std::slice::from_ref(&out);
    let agents = s.agent_count() as f64;
    let p = Performance::measured(&s, Duration::from_millis(1500), 2);
    assert_eq!(p.agent_steps, agents * 3.0);
    assert_eq!(p.agent_steps_per_second, agents * 3.0 / 1.5);
    assert_eq!((p.wall_seconds, p.threads), (1.5, 2));
    let plain = summary_json(&s, runs).unwrap();
    let with = summary_json_with(&s, runs, Some(&p)).unwrap();
    // the same document with one more key at the end
    let cut = plain.len() - "\n}\n".len();
    assert_eq!(&with[..cut], &plain[..cut]);
    let tail = std::str::from_utf8(&with[cut..]).unwrap();
    assert!(
        tail.starts_with(&format!(",\n  \"{PERFORMANCE_KEY}\": {{")),
        "{tail}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&with).unwrap();
    assert_eq!(doc[PERFORMANCE_KEY]["agent_steps_per_second"], agents * 2.0);
}

fn with_agent_steps(name: &str, table: &str) -> agora::Scenario {
    let text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == name)
        .unwrap()
        .toml;
    agora::Scenario::from_toml_str(&format!("{text}\n[output]\nagent_steps = {table}\n"), name)
        .unwrap()
}

#[test]
fn per_agent_records_sum_to_the_group_records_locked_amounts_included() {
    // An order book, so that agents have money and tokens locked at the
    // end of a step; every agent at every step.
    let mut s = with_agent_steps("market-clearing", "{}");
    s.set_steps(12).unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let agents = s.agent_count() as usize;
    assert_eq!(out.records.agent_steps.len(), agents * 13);
    let mut locked_seen = false;
    for (rows, groups) in out
        .records
        .agent_steps
        .chunks(agents)
        .zip(out.records.groups.chunks(s.groups().len()))
    {
        for g in groups {
            let mine: Vec<_> = rows.iter().filter(|r| r.group == g.group).collect();
            assert!(mine.iter().all(|r| r.step == g.step));
            let sum = |f: &dyn Fn(&&agora::engine::AgentStepRecord) -> u128| -> u128 {
                mine.iter().map(f).sum()
            };
            assert_eq!(sum(&|r| r.balance), g.balance, "step {}", g.step);
            assert_eq!(sum(&|r| r.holdings[0]), g.holdings[0]);
            assert_eq!(sum(&|r| r.locked_balance), g.locked_balance);
            assert_eq!(sum(&|r| r.locked_holdings[0]), g.locked_holdings[0]);
            let wealth: f64 = mine.iter().map(|r| r.wealth).sum();
            assert!((wealth - g.wealth).abs() <= 1e-9 * g.wealth.max(1.0));
            locked_seen |= g.locked_balance > 0 && g.step > 0;
        }
    }
    assert!(locked_seen, "no step had money locked: not a test of locks");
}

#[test]
fn per_agent_records_take_every_kth_step_and_a_sample_of_each_group() {
    // curve-linear: two groups; every 3rd step of 7 (0, 3, 6 and the last,
    // 7), two agents of each group, the first and the one halfway
    let mut s = with_agent_steps("curve-linear", "{ every = 3, sample = 2 }");
    s.set_steps(7).unwrap();
    let counts: Vec<u32> = s.groups().iter().map(|g| g.count).collect();
    let mut sim = Simulation::new(&s, 0).unwrap();
    let mut expected = Vec::new();
    let starts: Vec<u32> = counts
        .iter()
        .scan(0, |at, c| {
            let start = *at;
            *at += c;
            Some(start)
        })
        .collect();
    let sampled: Vec<u32> = starts
        .iter()
        .zip(&counts)
        .flat_map(|(start, c)| [*start, start + c / 2])
        .collect();
    for step in 0..=7u64 {
        if step > 0 {
            sim.advance().unwrap();
        }
        if [0, 3, 6, 7].contains(&step) {
            for &a in &sampled {
                let l = sim.ledger();
                expected.push((
                    step,
                    a,
                    u128::from(l.balance(a)),
                    u128::from(l.holding(a, 0)),
                ));
            }
        }
    }
    let got: Vec<_> = sim
        .records()
        .agent_steps
        .iter()
        .map(|r| (r.step, r.agent, r.balance, r.holdings[0]))
        .collect();
    assert_eq!(got, expected);
    let out = sim.run().unwrap();
    let csv = agora::output::agent_steps_csv(&s, std::slice::from_ref(&out))
        .unwrap()
        .unwrap();
    let text = String::from_utf8(csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("run,step,group,agent,balance,holdings,wealth,locked_balance,locked_holdings")
    );
    assert_eq!(lines.count(), 4 * 4);
    // without the table, nothing is recorded and no file is written
    let plain = example("curve-linear").unwrap();
    let mut short = plain.clone();
    short.set_steps(2).unwrap();
    let out = Simulation::new(&short, 0).unwrap().run().unwrap();
    assert!(out.records.agent_steps.is_empty());
    assert!(agora::output::agent_steps_csv(&short, &[out])
        .unwrap()
        .is_none());
}

#[test]
fn per_agent_records_beyond_the_memory_budget_are_refused_before_anything_runs() {
    let text = "[simulation]\nsteps = 1000000\nseed = 1\n\
                [[assets]]\nname = \"T\"\n\
                pricing = { kind = \"bonding_curve\", curve = \"linear\", m = 0.001, b = 1.0 }\n\
                [[agents]]\ngroup = \"g\"\ncount = 1000\nbalance = 1.0\n\
                policy = { kind = \"random\", asset = \"T\", p_buy = 0.5, p_sell = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }\n";
    // 1000 agents × 1,000,001 steps: 1e9 records, far beyond 1 GB
    let e = agora::Scenario::from_toml_str(
        &format!("{text}[output]\nagent_steps = {{}}\n"),
        "big.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with("big.toml: output.agent_steps: 1000001000 per-agent records"),
        "{e}"
    );
    assert!(e.contains("`every`") && e.contains("`sample`"), "{e}");
    // every 1000th step of 10 agents fits; --steps or --runs past the
    // budget are refused and leave the scenario as it was
    let mut s = agora::Scenario::from_toml_str(
        &format!("{text}[output]\nagent_steps = {{ every = 1000, sample = 10 }}\n"),
        "big.toml",
    )
    .unwrap();
    assert_eq!(s.agent_step_rows(), 10 * 1001);
    let e = s.set_runs(1_000_000).unwrap_err().to_string();
    assert!(e.contains("output.agent_steps"), "{e}");
    assert_eq!(s.simulation().runs, 1);
    s.set_steps(10).unwrap();
    assert_eq!(s.agent_step_rows(), 10 * 2);
}

/// Rebuilds a scenario from its parts with the builder.
pub(crate) fn rebuilt(s: &agora::Scenario) -> agora::scenario::ScenarioBuilder {
    let mut b = agora::Scenario::builder()
        .origin(s.origin())
        .steps(s.simulation().steps)
        .seed(s.simulation().seed)
        .runs(s.simulation().runs)
        .stop(s.simulation().stop)
        .evaluation_steps(s.simulation().evaluation_steps)
        .record_every(s.simulation().record_every)
        .intelligence(s.simulation().intelligence)
        .stability(*s.stability())
        .output(*s.output());
    for a in s.assets() {
        b = b.asset(a.clone());
    }
    // A learner (a built-in adaptive policy) has no table the builder can
    // write from its spec: it is added with its table, as for a
    // registered kind, taken from the example's text.
    let text: Option<toml::Table> = agora::scenario::examples()
        .iter()
        .find(|e| s.origin() == format!("<example {}>", e.name))
        .and_then(|e| e.toml.parse().ok());
    let policy_table = |group: &str| -> Option<toml::Table> {
        text.as_ref()?
            .get("agents")?
            .as_array()?
            .iter()
            .filter_map(toml::Value::as_table)
            .find(|t| t.get("group").and_then(toml::Value::as_str) == Some(group))?
            .get("policy")?
            .as_table()
            .cloned()
    };
    for g in s.groups() {
        match (g.policy.as_adaptive(), policy_table(&g.name)) {
            (Some(_), Some(table)) => b = b.group_with_policy_table(g.clone(), table),
            _ => b = b.group(g.clone()),
        }
    }
    for e in s.events() {
        b = b.event(e.clone());
    }
    for r in s.incentives() {
        b = b.incentive(r.clone());
    }
    for m in s.monitors() {
        b = b.monitor(m.clone());
    }
    for g in s.governance() {
        b = b.governance(g.clone());
    }
    b
}

#[test]
fn every_example_rebuilt_with_the_builder_is_the_same_scenario() {
    for ex in agora::scenario::examples() {
        let s = example(ex.name).unwrap();
        let b = rebuilt(&s);
        let table = b.to_table().unwrap();
        let built = b.build().unwrap();
        assert_eq!(built.assets(), s.assets(), "{}", ex.name);
        assert_eq!(built.events(), s.events(), "{}", ex.name);
        assert_eq!(built.incentives(), s.incentives(), "{}", ex.name);
        assert_eq!(built.monitors(), s.monitors(), "{}", ex.name);
        assert_eq!(built.governance(), s.governance(), "{}", ex.name);
        assert_eq!(built.simulation(), s.simulation(), "{}", ex.name);
        assert_eq!(built.stability(), s.stability(), "{}", ex.name);
        assert_eq!(built.output(), s.output(), "{}", ex.name);
        assert_eq!(
            format!("{:?}", built.groups()),
            format!("{:?}", s.groups()),
            "{}",
            ex.name
        );
        // hashed and written as the equivalent file: scenario.toml reads
        // back as the same scenario with the same hash
        assert_eq!(built.to_table(), &table);
        let written = String::from_utf8(agora::output::scenario_toml(&built).unwrap()).unwrap();
        let again = agora::Scenario::from_toml_str(&written, "scenario.toml").unwrap();
        assert_eq!(again.hash(), built.hash(), "{}", ex.name);
        // and it runs to the same results
        if ex.name == "market-clearing" || ex.name == "curve-linear" {
            let run = |s: &agora::Scenario| Simulation::new(s, 0).unwrap().run().unwrap();
            assert_eq!(run(&built).summary, run(&s).summary, "{}", ex.name);
        }
    }
}

#[test]
fn the_builder_refuses_what_a_file_refuses_with_the_same_message() {
    let s = example("token-economy").unwrap();
    let mut bad = s.groups()[0].clone();
    bad.name = "broke".into();
    bad.balance = -1.0;
    let b = rebuilt(&s).origin("mine").group(bad);
    let from_builder = b.to_table().unwrap();
    let e = b.build().unwrap_err().to_string();
    assert_eq!(
        e,
        "mine: agents.broke.balance: expected a finite number >= 0, found -1"
    );
    // the same table as a file gives the same message, but for the origin
    let text = toml::to_string(&from_builder).unwrap();
    let file = agora::Scenario::from_toml_str(&text, "mine").unwrap_err();
    assert_eq!(file.to_string(), e);
    // steps and seed are required, as in a file
    let e = agora::Scenario::builder().seed(1).build().unwrap_err();
    assert!(e.to_string().contains("simulation.steps"), "{e}");
}

/// A simulation's `Debug` says which run of which scenario it is and where
/// it stands, and nothing of its (large) state.
#[test]
fn a_simulation_debugs_as_its_scenario_seed_run_and_step() {
    let s = example("token-economy").unwrap();
    let mut sim = agora::Simulation::new(&s, 3).unwrap();
    sim.advance().unwrap();
    sim.advance().unwrap();
    assert_eq!(
        format!("{sim:?}"),
        format!(
            "Simulation {{ origin: \"<example token-economy>\", seed: {}, run: 3, step: 2, .. }}",
            s.simulation().seed
        )
    );
}

/// An event is built with its group by index; one past the last group is
/// refused at `build`, naming the event, so that the engine (which looks
/// groups up by index when it sets up who acts when) never meets one.
#[test]
fn the_builder_refuses_an_event_naming_a_group_past_the_last() {
    use agora::scenario::{EventKind, EventSpec};
    let s = example("token-economy").unwrap();
    let n = s.groups().len();
    let events = s.events().len();
    for kind in [
        EventKind::Join { group: n },
        EventKind::Leave {
            group: n,
            sell_all: false,
        },
    ] {
        let e = rebuilt(&s)
            .origin("mine")
            .event(EventSpec { at: 2, kind })
            .build()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "mine: events[{events}].group: group index {n}, but the builder has {n} groups"
            )
        );
    }
    // the last group itself is named, and kept
    let built = rebuilt(&s)
        .steps(3)
        .event(EventSpec {
            at: 2,
            kind: EventKind::Join { group: n - 1 },
        })
        .event(EventSpec {
            at: 3,
            kind: EventKind::Leave {
                group: n - 1,
                sell_all: false,
            },
        })
        .build()
        .unwrap();
    assert_eq!(built.events().len(), events + 2);
}

/// Buys nothing: a user policy, registered as `idle`.
#[derive(Debug)]
struct Idle;

impl agora::Policy for Idle {
    fn decide(
        &self,
        _: &agora::Observation<'_>,
        _: &agora::AgentView<'_>,
        _: &mut agora::agents::AgentRng,
    ) -> agora::Action {
        agora::Action::Hold
    }
}

#[test]
fn a_group_with_a_custom_policy_is_built_from_its_table_and_its_registered_kind() {
    use agora::scenario::{Fields, PolicyRegistry};
    use std::sync::Arc;
    let mut registry = PolicyRegistry::new();
    registry
        .register("idle", |f: &mut Fields<'_>, _: &[String]| {
            f.has("note");
            Ok(Arc::new(Idle) as Arc<dyn agora::Policy>)
        })
        .unwrap();
    let s = example("curve-linear").unwrap();
    let mut group = s.groups()[0].clone();
    group.name = "idle".into();
    group.policy = agora::agents::GroupPolicy::Custom(Arc::new(Idle));
    // without its table a custom policy cannot be written: an error, not a
    // silently different scenario
    let e = rebuilt(&s).group(group.clone()).build().unwrap_err();
    assert!(
        e.to_string().starts_with(
            "<example curve-linear>: agents.idle.policy: a custom policy has no table"
        ),
        "{e}"
    );
    let mut policy = toml::Table::new();
    policy.insert("kind".into(), "idle".into());
    policy.insert("note".into(), "holds".into());
    let built = rebuilt(&s)
        .registry(&registry)
        .group_with_policy_table(group, policy)
        .build()
        .unwrap();
    assert_eq!(built.groups().last().unwrap().policy_kind, "idle");
    assert!(agora::output::scenario_toml(&built)
        .map(|b| String::from_utf8(b).unwrap().contains("kind = \"idle\""))
        .unwrap());
}

/// Drains the records of a run of `s` every `every` steps into the three
/// tables, as `agora run` does, and returns the tables and the run.
fn drained_run(s: &agora::Scenario, every: u64) -> (Vec<Vec<u8>>, agora::RunOutput) {
    use agora::output::{Table, TableWriter};
    let mut tables: Vec<TableWriter<'_, Vec<u8>>> = Table::of(s)
        .into_iter()
        .map(|t| TableWriter::new(s, t, Vec::new()).unwrap())
        .collect();
    let mut sim = Simulation::new_drained(s, 0).unwrap();
    let mut drained_rows = 0;
    while sim.step() < s.simulation().steps {
        sim.advance().unwrap();
        if sim.step() % every == 0 {
            let records = sim.drain_records();
            drained_rows += records.assets.len();
            assert!(sim.records().assets.is_empty());
            for t in &mut tables {
                t.append(0, &records).unwrap();
            }
        }
    }
    assert!(drained_rows > 0, "drained during the run");
    let rest = sim.drain_records();
    for t in &mut tables {
        t.append(0, &rest).unwrap();
    }
    let out = sim.finish().unwrap();
    assert_eq!(out.records, agora::engine::Records::default());
    let bytes = tables.into_iter().map(|t| t.finish().unwrap()).collect();
    (bytes, out)
}

/// A run whose records are drained as it goes (a curve, an order book with
/// spreads, depths and locked amounts, and per-agent records) writes the
/// same tables and the same summary as the run that holds every step.
#[test]
fn a_run_drained_as_it_goes_writes_the_same_tables_and_summary_as_a_whole_run() {
    for name in [
        "token-economy",
        "market-clearing",
        "equilibrium",
        "whale-dump",
        "learning-traders",
    ] {
        let mut s = with_agent_steps(name, "{ every = 3, sample = 4 }");
        s.set_steps(40).unwrap();
        let whole = Simulation::new(&s, 0).unwrap().run().unwrap();
        let runs = std::slice::from_ref(&whole);
        let expected = [
            agora::output::assets_csv(&s, runs).unwrap(),
            agora::output::agents_csv(&s, runs).unwrap(),
            agora::output::agent_steps_csv(&s, runs).unwrap().unwrap(),
        ];
        for every in [1, 7] {
            let (tables, out) = drained_run(&s, every);
            assert_eq!(tables.len(), 3);
            for (got, want) in tables.iter().zip(&expected) {
                assert!(got == want, "{name}, drained every {every} steps");
            }
            assert_eq!(out.summary, whole.summary, "{name}");
            assert_eq!(
                summary_json(&s, std::slice::from_ref(&out)).unwrap(),
                summary_json(&s, runs).unwrap(),
                "{name}"
            );
        }
    }
}

/// The market metrics that come from every step (mean spread and depth,
/// the distance to the equilibrium, steps without one) are there for a
/// drained run too, not left out for want of records.
#[test]
fn a_drained_run_keeps_the_market_metrics_of_every_step() {
    let mut s = example("market-clearing").unwrap();
    s.set_steps(30).unwrap();
    let (_, out) = drained_run(&s, 1);
    let market = out.summary.assets["GOOD"]
        .market
        .as_ref()
        .expect("an order book's metrics");
    assert!(market.mean_spread.is_some_and(|x| x > 0.0), "{market:?}");
    assert!(market.mean_depth.is_some_and(|x| x >= 1.0), "{market:?}");
    assert!(market.equilibrium_error.is_some(), "{market:?}");
}

/// The mean spread is the mean over the steps after step 0 that quote
/// both sides of the best ask less the best bid, as the asset rows record
/// them (not only some positive number).
#[test]
fn the_mean_spread_is_the_mean_of_ask_less_bid_over_the_steps_quoting_both() {
    let mut s = example("market-clearing").unwrap();
    s.set_steps(30).unwrap();
    let out = Simulation::new(&s, 0).unwrap().run().unwrap();
    let spreads: Vec<f64> = out
        .records
        .assets
        .iter()
        .filter(|r| r.step > 0)
        .filter_map(|r| Some(r.best_ask? - r.best_bid?))
        .collect();
    assert!(
        spreads.len() >= 10,
        "{} steps quote both sides",
        spreads.len()
    );
    let expected = spreads.iter().sum::<f64>() / spreads.len() as f64;
    let market = out.summary.assets["GOOD"].market.as_ref().unwrap();
    let got = market.mean_spread.expect("a mean spread");
    assert!(
        (got - expected).abs() <= 1e-12 * expected.abs(),
        "{got} vs {expected}"
    );
}

/// Every governance kind and option, written by the builder, reads back as
/// the same rules (the examples name only some of them).
#[test]
fn every_governance_rule_round_trips_through_the_builder() {
    let text = agora::scenario::examples()
        .iter()
        .find(|e| e.name == "token-economy")
        .unwrap()
        .toml
        .to_string()
        + r#"
[[governance]]
name = "peg"
kind = "pi_controller"
asset = "AGT"
param = "m"
target = 2.0
kp = -0.0005
ki = -0.00001
leak = 0.9
integral_clamp = 50.0
base = 0.001
min = 0.0001
max = 0.01
period = 3

[[governance]]
name = "breaker"
kind = "circuit_breaker"
asset = "AGT"
max_move = 0.1
halt_steps = 5
window = 4

[[governance]]
name = "band"
kind = "price_band"
asset = "AGT"
max_move = 0.05

[[governance]]
name = "cap"
kind = "position_limit"
asset = "AGT"
max_share = 0.02

[[governance]]
name = "tax"
kind = "transaction_tax"
asset = "AGT"
rate = 0.01
to = "burn"
early_rate = 0.05
within = 10

[[governance]]
name = "flat_tax"
kind = "transaction_tax"
asset = "AGT"
rate = 0.002

[[governance]]
name = "limit"
kind = "rate_limit"
asset = "AGT"
max_orders = 2
per_steps = 3
"#;
    let s = agora::Scenario::from_toml_str(&text, "all-rules.toml").unwrap();
    assert_eq!(s.governance().len(), 7);
    let built = rebuilt(&s).build().unwrap();
    assert_eq!(built.governance(), s.governance());
    // the rules' settings, not only their kinds, came through
    let names: Vec<&str> = built.governance().iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        ["peg", "breaker", "band", "cap", "tax", "flat_tax", "limit"]
    );
}
