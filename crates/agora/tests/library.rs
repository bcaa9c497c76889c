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
