//! Seeded random streams, derived from (seed, run, step, stream, index).
//!
//! No stream is ever drawn from a global generator: each agent gets, at each
//! step, its own [`AgentRng`] keyed by the scenario seed, the run index, the
//! step and its id. Streams therefore do not depend on the order in which
//! agents are visited or on the number of threads, which is what makes the
//! output byte-identical at any thread count.

use rand::SeedableRng;
use rand_xoshiro::{SplitMix64, Xoshiro256PlusPlus};

/// The generator an agent draws from while deciding: SplitMix64, one word of
/// state, seeded afresh for every agent and step (it passes BigCrush and its
/// seeding costs nothing, which matters at a million agents).
pub type AgentRng = SplitMix64;

/// The generator for engine-level draws such as the execution order of a
/// step's trades: xoshiro256++.
pub type EngineRng = Xoshiro256PlusPlus;

/// What a stream is for; part of every stream's key so that streams for
/// different purposes never coincide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// An agent's decision at a step.
    Decide = 1,
    /// The execution order of a step's actions.
    Execution = 2,
    /// The shares of an airdrop.
    Airdrop = 3,
    /// An agent's private, fixed characteristics (e.g. a valuation).
    Private = 4,
    /// The order in which a scheduled event's sales (a dump) execute.
    Shock = 5,
    /// A market's own draws (a posted-price market's starting prices).
    Market = 6,
    /// A population game's matching and revisions, and its players'
    /// initial strategies.
    Game = 7,
    /// The selection and mutation of evolving policy parameters.
    Evolution = 8,
    /// An empirical game analysis's random starts and bootstrap.
    Egta = 9,
    /// Affiliate contracts: an affiliate's effort choice and its
    /// referrals' arrivals and budgets (numbered after issue 19).
    Contract = 19,
    /// The order in which agents that watch a mempool claim its pending
    /// orders, and their own draws while they do (numbered after issue 18).
    Mempool = 20,
}

/// The SplitMix64 finaliser: a bijective mix of 64 bits.
#[inline]
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// The hash of (seed, run, step, purpose), from which the keys of a family of
/// streams (one per agent, say) are derived with one more mix each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamFamily(u64);

impl StreamFamily {
    /// The family of streams for `stream` at `step` of run `run`.
    #[inline]
    pub fn new(seed: u64, run: u64, step: u64, stream: Stream) -> Self {
        let mut h = mix64(seed ^ GOLDEN);
        h = mix64(h ^ run.wrapping_mul(GOLDEN).wrapping_add(1));
        h = mix64(h ^ step.wrapping_mul(GOLDEN).wrapping_add(2));
        StreamFamily(mix64(
            h ^ (stream as u64).wrapping_mul(GOLDEN).wrapping_add(3),
        ))
    }

    /// The key of member `index` of the family.
    #[inline]
    pub fn key(self, index: u64) -> u64 {
        mix64(self.0 ^ index.wrapping_mul(GOLDEN).wrapping_add(4))
    }

    /// The generator of member `index` of the family.
    #[inline]
    pub fn rng(self, index: u64) -> AgentRng {
        AgentRng::seed_from_u64(self.key(index))
    }
}

/// Returns the 64-bit key of a stream: a hash of the seed, the run, the
/// step, the stream's purpose and an index (an agent, a group, …).
#[inline]
pub fn stream_key(seed: u64, run: u64, step: u64, stream: Stream, index: u64) -> u64 {
    StreamFamily::new(seed, run, step, stream).key(index)
}

/// Returns an agent's generator for one step.
#[inline]
pub fn agent_rng(seed: u64, run: u64, step: u64, agent: u64) -> AgentRng {
    StreamFamily::new(seed, run, step, Stream::Decide).rng(agent)
}

/// Returns an engine generator for a purpose at a step.
pub fn engine_rng(seed: u64, run: u64, step: u64, stream: Stream, index: u64) -> EngineRng {
    EngineRng::seed_from_u64(stream_key(seed, run, step, stream, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_differ_in_every_coordinate() {
        let base = stream_key(7, 0, 1, Stream::Decide, 5);
        assert_ne!(base, stream_key(8, 0, 1, Stream::Decide, 5));
        assert_ne!(base, stream_key(7, 1, 1, Stream::Decide, 5));
        assert_ne!(base, stream_key(7, 0, 2, Stream::Decide, 5));
        assert_ne!(base, stream_key(7, 0, 1, Stream::Execution, 5));
        assert_ne!(base, stream_key(7, 0, 1, Stream::Decide, 6));
    }

    #[test]
    fn agent_streams_are_uniform_enough() {
        // The mean of one draw per agent over many agents is 1/2 within a few
        // standard errors (sd of U(0,1) is 0.2887).
        let n = 100_000;
        let mean: f64 = (0..n)
            .map(|a| agent_rng(7, 0, 1, a).random::<f64>())
            .sum::<f64>()
            / n as f64;
        assert!(
            (mean - 0.5).abs() < 4.0 * 0.2887 / (n as f64).sqrt(),
            "{mean}"
        );
    }
}
