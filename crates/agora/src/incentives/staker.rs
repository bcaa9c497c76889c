//! The `staker` policy: an agent that stakes a share of its tokens while
//! staking pays enough, and unstakes when it stops paying or the price
//! falls.

use crate::agents::{Action, AgentRng, AgentView, Observation, Policy};
use crate::ledger::{to_base, SCALE};
use crate::scenario::IncentiveKind;

/// `staker`: each step, an agent stakes or unstakes (one action) towards a
/// target stake on `asset`'s staking rule (the first `[[incentives]]` of
/// kind `staking` on the asset whose groups include the agent, seen in
/// [`Observation::incentives`]):
///
/// - `⌊(held + staked) · round(share · 10⁹) / 10⁹⌋` base units while the
///   rule is active and its `rate` is at least `min_rate`;
/// - 0 (unstake everything) once the rule's budget ran out, its rate is
///   below `min_rate`, or, with `exit_drawdown = d`, the price is at or
///   below `(1 − d)` times the highest closing price of the last
///   `lookback` steps (a crash: it leaves, and may stake again once the
///   price recovers).
///
/// Unstaked tokens come back after the rule's `unbonding` steps. It holds
/// where it is already at its target, or the asset has no staking rule
/// for it. It draws no random numbers.
///
/// ```toml
/// policy = { kind = "staker", asset = "AGT", share = 0.5, min_rate = 0.001, exit_drawdown = 0.2, lookback = 10 }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StakerPolicy {
    /// Index of the asset staked.
    pub asset: usize,
    /// The share of its tokens (held and staked) it keeps staked.
    pub share: f64,
    /// The least reward rate (per unit staked per step) it stakes for.
    pub min_rate: f64,
    /// The price drop from the recent peak that makes it unstake, if any.
    pub exit_drawdown: Option<f64>,
    /// Steps of closing prices the peak is taken over (at least 1).
    pub lookback: u64,
}

impl StakerPolicy {
    /// Whether the price has fallen by `exit_drawdown` from its peak over
    /// the last `lookback` closes.
    fn crashed(&self, obs: &Observation<'_>) -> bool {
        let (Some(d), Some(seen)) = (self.exit_drawdown, obs.assets.get(self.asset)) else {
            return false;
        };
        let from = seen.history.len().saturating_sub(self.lookback as usize);
        let peak = seen.history[from..]
            .iter()
            .copied()
            .filter(|p| p.is_finite())
            .fold(f64::NEG_INFINITY, f64::max);
        peak > 0.0 && seen.price <= (1.0 - d) * peak
    }
}

impl Policy for StakerPolicy {
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, _: &mut AgentRng) -> Action {
        let Some(rule) = obs.incentives.iter().find(|r| {
            r.kind == IncentiveKind::Staking && r.asset as usize == self.asset && r.eligible(me.id)
        }) else {
            return Action::Hold;
        };
        let held = me.holdings.get(self.asset).copied().unwrap_or(0);
        let staked = rule.staked(me.id);
        let stays = rule.active && rule.rate >= self.min_rate && !self.crashed(obs);
        let target = if stays {
            let s = u128::from(to_base(self.share).unwrap_or(0));
            ((u128::from(held) + u128::from(staked)) * s / u128::from(SCALE)) as u64
        } else {
            0
        };
        let asset = self.asset as u32;
        match target.cmp(&staked) {
            std::cmp::Ordering::Greater => Action::Stake {
                asset,
                amount: target - staked,
            },
            std::cmp::Ordering::Less => Action::Unstake {
                asset,
                amount: staked - target,
            },
            std::cmp::Ordering::Equal => Action::Hold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::AssetObservation;
    use crate::incentives::IncentiveInfo;
    use rand::SeedableRng;

    fn rule(rate: f64, active: bool, stake: u64) -> IncentiveInfo {
        IncentiveInfo {
            name: "stake".into(),
            kind: IncentiveKind::Staking,
            asset: 0,
            rate,
            steps: 2,
            threshold: 0.0,
            active,
            budget_left: Some(1.0),
            agents: std::iter::once(0..1).collect(),
            stakes: Some(vec![stake].into()),
        }
    }

    fn decide(p: &StakerPolicy, history: &[f64], price: f64, info: IncentiveInfo) -> Action {
        let assets = [AssetObservation {
            supply: 1.0,
            ..AssetObservation::at(price, history)
        }];
        let infos = [info];
        let obs = Observation {
            step: history.len() as u64,
            assets: &assets,
            incentives: &infos,
            mempool: &[],
        };
        let me = AgentView::new(0, 0, 0, &[600], 1);
        p.decide(&obs, &me, &mut AgentRng::seed_from_u64(1))
    }

    #[test]
    fn it_moves_towards_its_share_and_leaves_on_a_low_rate_an_ended_budget_or_a_crash() {
        let p = StakerPolicy {
            asset: 0,
            share: 0.5,
            min_rate: 0.01,
            exit_drawdown: Some(0.2),
            lookback: 2,
        };
        let stake = |amount| Action::Stake { asset: 0, amount };
        let unstake = |amount| Action::Unstake { asset: 0, amount };
        let flat = [1.0, 1.0, 1.0];
        // 600 held + 200 staked: half of 800 is 400, 200 more
        assert_eq!(decide(&p, &flat, 1.0, rule(0.01, true, 200)), stake(200));
        assert_eq!(decide(&p, &flat, 1.0, rule(0.01, true, 600)), Action::Hold);
        assert_eq!(decide(&p, &flat, 1.0, rule(0.01, true, 1000)), unstake(200));
        // a rate below its least, an exhausted rule: everything out
        assert_eq!(decide(&p, &flat, 1.0, rule(0.009, true, 200)), unstake(200));
        assert_eq!(decide(&p, &flat, 1.0, rule(0.02, false, 200)), unstake(200));
        // 20% under the peak of the last 2 closes (1.25): out; above it,
        // in (the peak of 3 closes ago is out of the lookback)
        let fell = [1.5, 1.0, 1.25];
        assert_eq!(decide(&p, &fell, 1.0, rule(0.01, true, 200)), unstake(200));
        assert_eq!(decide(&p, &fell, 1.01, rule(0.01, true, 200)), stake(200));
        // no staking rule for it: it holds
        let mut other = rule(0.01, true, 0);
        other.agents = std::iter::once(1..2).collect();
        assert_eq!(decide(&p, &flat, 1.0, other), Action::Hold);
    }
}
