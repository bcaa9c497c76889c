//! The `q_learning` policy kind on a `posted_price` asset: a Q-learning
//! seller ([`QSeller`]) whose actions are the market's price grid and
//! whose state is the last `memory` price profiles.
//!
//! ```toml
//! policy = { kind = "q_learning", asset = "GOOD", alpha = 0.15, delta = 0.95, beta = 4e-6, memory = 1, q0 = "uniform_opponents" }
//! ```
//!
//! Its fields are read with the group ([`parse_q_seller`]); its tables need
//! the whole market (every seller's cost and quality), so the policy is
//! built once every group is read ([`build`], from
//! [`posted::resolve`](super::posted::resolve)). Until then the group holds
//! a placeholder that declares the asset it sells.

use std::sync::Arc;

use super::fields::describe;
use super::{Fields, Range};
use crate::agents::learners::{Exploration, InitialQ, QParams};
use crate::agents::{Action, AgentRng, AgentView, GroupPolicy, Observation, Policy};
use crate::agents::{QSeller, QSellerSpec};
use crate::error::Result;
use crate::market::posted_market::PostedSetup;

/// Reads a `q_learning` seller of posted-price asset `asset` (`kind` and
/// `asset` read): `alpha` in [0, 1], `delta` in [0, 1), either `beta`
/// (`ε_t = exp(−β t)`, β ≥ 0) or `epsilon` (a constant in [0, 1]),
/// `memory` (default 1) and `q0` (`"uniform_opponents"`, the default, or a
/// number).
pub(super) fn parse_q_seller(p: &mut Fields<'_>, asset: usize) -> Result<QSellerSpec> {
    let alpha = p.number("alpha", Range::Unit)?;
    let delta = p.number("delta", Range::HalfOpen(0.0, 1.0))?;
    let beta = p.opt_number("beta", Range::NonNegative)?;
    let epsilon = p.opt_number("epsilon", Range::Unit)?;
    let exploration = match (beta, epsilon) {
        (Some(beta), None) => Exploration::Decaying { beta },
        (None, Some(e)) => Exploration::Constant(e),
        (Some(_), Some(_)) => {
            return Err(p.error(
                "epsilon",
                "expected either `beta` (ε_t = exp(−β t)) or `epsilon` (a constant), not both",
            ))
        }
        (None, None) => {
            return Err(p.error(
                "beta",
                "missing field; expected `beta` (ε_t = exp(−β t), a number >= 0) or `epsilon` \
                 (a constant from 0 to 1)",
            ))
        }
    };
    let memory = p.opt_whole("memory", 0, 64)?.unwrap_or(1) as usize;
    let q0 = match p.raw("q0") {
        None => InitialQ::UniformOpponents,
        Some(toml::Value::String(s)) if s == "uniform_opponents" => InitialQ::UniformOpponents,
        Some(toml::Value::Float(_) | toml::Value::Integer(_)) => {
            InitialQ::Constant(p.number("q0", Range::Any)?)
        }
        Some(other) => {
            return Err(p.error(
                "q0",
                format!(
                    "expected \"uniform_opponents\" or a number, found {}",
                    describe(other)
                ),
            ))
        }
    };
    Ok(QSellerSpec {
        asset,
        params: QParams {
            alpha,
            delta,
            exploration,
        },
        memory,
        q0,
    })
}

/// What a Q-learning seller group holds until its market is built: a
/// policy that declares the asset it sells and holds.
#[derive(Debug)]
struct Unbuilt {
    asset: usize,
}

impl Policy for Unbuilt {
    fn decide(&self, _: &Observation<'_>, _: &AgentView<'_>, _: &mut AgentRng) -> Action {
        Action::Hold
    }

    fn assets(&self) -> Vec<usize> {
        vec![self.asset]
    }
}

/// The placeholder policy of a Q-learning seller group of `asset`.
pub(super) fn placeholder(asset: usize) -> GroupPolicy {
    GroupPolicy::Custom(Arc::new(Unbuilt { asset }))
}

/// The policy of a group of `count` Q-learning sellers, sellers
/// `first..first + count` of the market of `setup`.
pub(super) fn build(
    spec: QSellerSpec,
    setup: Arc<PostedSetup>,
    first: usize,
    count: usize,
) -> Result<GroupPolicy> {
    Ok(GroupPolicy::adaptive(QSeller::new(
        spec, setup, first, count,
    )?))
}
