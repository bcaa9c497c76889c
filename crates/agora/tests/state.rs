//! Serialisable state: a run stopped after some step, its state taken
//! through postcard (a compact binary serde format) and put back on a new
//! simulation of the same scenario, continues exactly as the run that was
//! never stopped; a state that does not fit is refused with the reason.

use agora::engine::SimState;
use agora::scenario::{example, examples};
use agora::{Scenario, Simulation};

fn scenario(name: &str, steps: u64) -> Scenario {
    let mut s = example(name).unwrap();
    s.set_steps(steps).unwrap();
    s
}

/// Runs `s` to `stop`, saves, restores on a fresh simulation and finishes.
fn stopped_and_resumed(s: &Scenario, run: u64, stop: u64) -> agora::RunOutput {
    let mut first = Simulation::new(s, run).unwrap();
    while first.step() < stop {
        first.advance().unwrap();
    }
    let bytes = postcard::to_stdvec(&first.state()).unwrap();
    drop(first);
    let state: SimState = postcard::from_bytes(&bytes).unwrap();
    let mut second = Simulation::new(s, run).unwrap();
    second.restore(state).unwrap();
    assert_eq!(second.step(), stop);
    while !second.done() {
        second.advance().unwrap();
    }
    second.finish().unwrap()
}

/// Every built-in example — curves with ramps and airdrops, order books
/// with resting orders, batch markets, resource markets with queues and
/// production in flight — continues byte for byte after a round trip of
/// its state in the middle of the run.
#[test]
fn every_example_continues_exactly_after_a_round_trip_of_its_state() {
    for ex in examples() {
        let name = ex.name;
        let s = scenario(name, 40);
        let whole = Simulation::new(&s, 1).unwrap().run().unwrap();
        for stop in [0, 1, 17] {
            let resumed = stopped_and_resumed(&s, 1, stop);
            assert_eq!(resumed, whole, "{name}, stopped after step {stop}");
        }
    }
}

/// A state that does not fit the simulation is refused, naming why, and
/// leaves the simulation as it was.
#[test]
fn a_state_that_does_not_fit_is_refused_with_the_reason() {
    let s = scenario("token-economy", 10);
    let mut sim = Simulation::new(&s, 0).unwrap();
    sim.advance().unwrap();
    let state = sim.state();

    let mut other_seed = s.clone();
    other_seed.set_seed(s.simulation().seed + 1).unwrap();
    let e = Simulation::new(&other_seed, 0)
        .unwrap()
        .restore(state.clone())
        .unwrap_err();
    assert!(e.to_string().contains("seed"), "{e}");

    let e = Simulation::new(&s, 3)
        .unwrap()
        .restore(state.clone())
        .unwrap_err();
    assert!(e.to_string().contains("run 0"), "{e}");

    let mut old = state.clone();
    old.version += 1;
    let e = Simulation::new(&s, 0).unwrap().restore(old).unwrap_err();
    assert!(e.to_string().contains("format version"), "{e}");

    let mut reference = scenario("reference", 10);
    reference.set_seed(s.simulation().seed).unwrap();
    // the same one asset, other agents: refused for the agents, by the
    // first check of the ledger's shape
    let mut other = Simulation::new(&reference, 0).unwrap();
    let (ours, theirs) = (sim.ledger().agents(), other.ledger().agents());
    assert_ne!(ours, theirs);
    let e = other.restore(state.clone()).unwrap_err();
    let why = format!("it has {ours} agents and 1 assets, the scenario {theirs} and 1");
    assert!(e.to_string().contains(&why), "{e}");

    // Truncated or flipped bytes never load as a state that passes.
    let bytes = postcard::to_stdvec(&state).unwrap();
    assert!(postcard::from_bytes::<SimState>(&bytes[..bytes.len() / 2]).is_err());

    // The refused simulation is untouched: it still runs from step 0.
    let mut fresh = Simulation::new(&s, 0).unwrap();
    let _ = fresh.restore({
        let mut bad = state.clone();
        bad.version = 0;
        bad
    });
    assert_eq!(fresh.step(), 0);
    assert_eq!(
        fresh.run().unwrap(),
        Simulation::new(&s, 0).unwrap().run().unwrap()
    );
}

/// Governance's running state travels with the simulation's: a circuit
/// breaker stopped in the middle of a halt, and a PI controller's
/// integral, continue exactly.
#[test]
fn governance_continues_exactly_after_a_round_trip_in_the_middle_of_a_halt() {
    let text = examples()
        .iter()
        .find(|e| e.name == "whale-dump")
        .unwrap()
        .toml
        .replace("steps = 150", "steps = 70")
        + r#"
[[governance]]
name = "breaker"
kind = "circuit_breaker"
asset = "TOKEN"
max_move = 0.2
halt_steps = 3

[[governance]]
name = "peg"
kind = "pi_controller"
asset = "TOKEN"
param = "b"
target = 6.0
kp = 0.05
ki = 0.01
base = 1.0
min = 0.5
max = 2.0
period = 5
"#;
    let s = Scenario::from_toml_str(&text, "governed.toml").unwrap();
    let whole = Simulation::new(&s, 0).unwrap().run().unwrap();
    // Step 50 trips the breaker; 51 is in the halt.
    for stop in [51, 52, 63] {
        assert_eq!(
            stopped_and_resumed(&s, 0, stop),
            whole,
            "stopped after step {stop}"
        );
    }
}

/// A learner whose decisions depend on what it learned: it buys while its
/// rewards so far add up to less than zero, sells otherwise, and counts its
/// fills. Its state saves and loads through postcard when `saves` is set.
#[derive(Debug)]
struct Learner {
    saves: bool,
}

#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
struct Learned {
    fills: u64,
    reward: f64,
}

impl agora::agents::AdaptivePolicy for Learner {
    type State = Learned;

    fn init(&self, _me: &agora::agents::AgentView<'_>) -> Learned {
        Learned::default()
    }

    fn decide(
        &self,
        state: &mut Learned,
        _obs: &agora::agents::Observation<'_>,
        me: &agora::agents::AgentView<'_>,
        _rng: &mut agora::agents::AgentRng,
        out: &mut agora::agents::Actions,
    ) {
        out.push(if state.reward <= 0.0 {
            agora::Action::Buy {
                asset: 0,
                spend: me.balance / 4,
            }
        } else {
            agora::Action::Sell {
                asset: 0,
                amount: me.holdings[0] / 3,
            }
        });
    }

    fn learn(&self, state: &mut Learned, feedback: &agora::agents::Feedback<'_>) {
        state.fills += feedback.fills.len() as u64;
        state.reward += feedback.reward;
    }

    fn save_state(&self, state: &Learned) -> Option<Vec<u8>> {
        self.saves
            .then(|| postcard::to_stdvec(state).ok())
            .flatten()
    }

    fn load_state(&self, bytes: &[u8]) -> Result<Learned, String> {
        postcard::from_bytes(bytes).map_err(|e| e.to_string())
    }
}

/// Learners' states travel with the simulation's: a restored run of
/// learners that save their states continues exactly (records, summary and
/// every agent's state), and one of learners that do not differs — the
/// check can fail.
#[test]
fn learners_continue_exactly_when_their_states_are_saved() {
    let s = scenario("curve-linear", 30);
    let group = s.groups()[0].name.clone();
    let run = |saves: bool, stop: Option<u64>| {
        let mut sim = Simulation::new(&s, 0).unwrap();
        sim.set_policy(
            &group,
            agora::agents::GroupPolicy::adaptive(Learner { saves }),
        )
        .unwrap();
        if let Some(stop) = stop {
            while sim.step() < stop {
                sim.advance().unwrap();
            }
            let bytes = postcard::to_stdvec(&sim.state()).unwrap();
            sim = Simulation::new(&s, 0).unwrap();
            sim.set_policy(
                &group,
                agora::agents::GroupPolicy::adaptive(Learner { saves }),
            )
            .unwrap();
            sim.restore(postcard::from_bytes(&bytes).unwrap()).unwrap();
        }
        while sim.step() < 30 {
            sim.advance().unwrap();
        }
        let states = sim.states::<Learner>(&group).unwrap().to_vec();
        (states, sim.finish().unwrap())
    };
    let whole = run(true, None);
    assert!(whole.0.iter().any(|l| l.fills > 0 && l.reward != 0.0));
    assert_eq!(run(true, Some(11)), whole);
    assert_ne!(run(false, Some(11)).0, whole.0);
}
