//! The built-in rule-based policies.

use super::market::{FundamentalPolicy, MarketMakerPolicy, ZiCPolicy};
use super::resource::{ConsumerPolicy, ProducerPolicy};
use super::{
    Action, AgentRng, AgentView, Need, Observation, Policy, PrivateValue, RuleBased, StepRule,
};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// Buys with a constant probability `p_buy`, sells with `p_sell`, holds
/// otherwise (noise traders).
#[derive(Debug, Clone, PartialEq)]
pub struct RandomPolicy {
    /// Asset traded.
    pub asset: usize,
    /// Probability of buying each step.
    pub p_buy: f64,
    /// Probability of selling each step; `p_buy + p_sell ≤ 1`.
    pub p_sell: f64,
    /// Share of the balance spent on a buy.
    pub buy_fraction: f64,
    /// Share of the holdings sold on a sell.
    pub sell_fraction: f64,
}

impl RandomPolicy {
    /// `(h_buy, h_sell)`: the same for every agent and step.
    #[inline]
    fn on(&self, _: &Observation<'_>) -> (f64, f64) {
        (self.p_buy, self.p_sell)
    }
}

impl RuleBased for RandomPolicy {
    fn asset(&self) -> usize {
        self.asset
    }
    #[inline]
    fn probabilities(&self, obs: &Observation<'_>, _: &AgentView<'_>) -> (f64, f64) {
        self.on(obs)
    }
    fn buy_fraction(&self) -> f64 {
        self.buy_fraction
    }
    fn sell_fraction(&self) -> f64 {
        self.sell_fraction
    }
}

/// Buys (with probability `p_trade`) while the price is below `buy_below`,
/// sells while it is above `sell_above`.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdPolicy {
    /// Asset traded.
    pub asset: usize,
    /// Buy while the price is strictly below this.
    pub buy_below: f64,
    /// Sell while the price is strictly above this.
    pub sell_above: f64,
    /// Probability of acting on a signal each step.
    pub p_trade: f64,
    /// Share of the balance spent on a buy.
    pub buy_fraction: f64,
    /// Share of the holdings sold on a sell.
    pub sell_fraction: f64,
}

impl RuleBased for ThresholdPolicy {
    fn asset(&self) -> usize {
        self.asset
    }
    fn probabilities(&self, obs: &Observation<'_>, _: &AgentView<'_>) -> (f64, f64) {
        self.on(obs)
    }
    fn buy_fraction(&self) -> f64 {
        self.buy_fraction
    }
    fn sell_fraction(&self) -> f64 {
        self.sell_fraction
    }
}

impl ThresholdPolicy {
    /// `(h_buy, h_sell)`: the same for every agent at a step.
    fn on(&self, obs: &Observation<'_>) -> (f64, f64) {
        let p = obs.assets[self.asset].price;
        let buy = if p < self.buy_below {
            self.p_trade
        } else {
            0.0
        };
        let sell = if p > self.sell_above {
            self.p_trade
        } else {
            0.0
        };
        // buy_below <= sell_above is validated, so at most one is non-zero.
        (buy, sell)
    }
}

/// Trend following: buys after the price rose by more than `threshold`
/// (relative) over the last `lookback` steps, sells after it fell by more.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentumPolicy {
    /// Asset traded.
    pub asset: usize,
    /// Steps over which the return is measured (≥ 1).
    pub lookback: usize,
    /// Relative return that triggers a trade (≥ 0).
    pub threshold: f64,
    /// Probability of acting on a signal each step.
    pub p_trade: f64,
    /// Share of the balance spent on a buy.
    pub buy_fraction: f64,
    /// Share of the holdings sold on a sell.
    pub sell_fraction: f64,
}

/// The relative return of the current price over the price `lookback` steps
/// before the last recorded one, if the history is long enough.
fn trailing_return(obs: &Observation<'_>, asset: usize, lookback: usize) -> Option<f64> {
    let a = &obs.assets[asset];
    let past = *a
        .history
        .len()
        .checked_sub(lookback + 1)
        .map(|i| &a.history[i])?;
    (past > 0.0).then(|| a.price / past - 1.0)
}

impl MomentumPolicy {
    /// `(h_buy, h_sell)`: the same for every agent at a step.
    fn on(&self, obs: &Observation<'_>) -> (f64, f64) {
        match trailing_return(obs, self.asset, self.lookback) {
            Some(r) if r > self.threshold => (self.p_trade, 0.0),
            Some(r) if r < -self.threshold => (0.0, self.p_trade),
            _ => (0.0, 0.0),
        }
    }
}

impl RuleBased for MomentumPolicy {
    fn asset(&self) -> usize {
        self.asset
    }
    fn probabilities(&self, obs: &Observation<'_>, _: &AgentView<'_>) -> (f64, f64) {
        self.on(obs)
    }
    fn buy_fraction(&self) -> f64 {
        self.buy_fraction
    }
    fn sell_fraction(&self) -> f64 {
        self.sell_fraction
    }
}

/// Mean reversion: buys when the price is more than `threshold` (relative)
/// below its moving average over the last `lookback` recorded prices, sells
/// when it is more than `threshold` above.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanReversionPolicy {
    /// Asset traded.
    pub asset: usize,
    /// Number of recorded prices in the moving average (≥ 1).
    pub lookback: usize,
    /// Relative deviation that triggers a trade (≥ 0).
    pub threshold: f64,
    /// Probability of acting on a signal each step.
    pub p_trade: f64,
    /// Share of the balance spent on a buy.
    pub buy_fraction: f64,
    /// Share of the holdings sold on a sell.
    pub sell_fraction: f64,
}

impl MeanReversionPolicy {
    /// `(h_buy, h_sell)`: the same for every agent at a step.
    fn on(&self, obs: &Observation<'_>) -> (f64, f64) {
        let a = &obs.assets[self.asset];
        if a.history.len() < self.lookback {
            return (0.0, 0.0);
        }
        let window = &a.history[a.history.len() - self.lookback..];
        let mean = window.iter().sum::<f64>() / window.len() as f64;
        if mean <= 0.0 {
            return (0.0, 0.0);
        }
        let deviation = a.price / mean - 1.0;
        if deviation < -self.threshold {
            (self.p_trade, 0.0)
        } else if deviation > self.threshold {
            (0.0, self.p_trade)
        } else {
            (0.0, 0.0)
        }
    }
}

impl RuleBased for MeanReversionPolicy {
    fn asset(&self) -> usize {
        self.asset
    }
    fn probabilities(&self, obs: &Observation<'_>, _: &AgentView<'_>) -> (f64, f64) {
        self.on(obs)
    }
    fn buy_fraction(&self) -> f64 {
        self.buy_fraction
    }
    fn sell_fraction(&self) -> f64 {
        self.sell_fraction
    }
}

/// The distribution agents' private valuations are drawn from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueDistribution {
    /// Every agent values the asset at `value`.
    Constant {
        /// The valuation.
        value: f64,
    },
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// Normal with `mean` and `std`, truncated at 0.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// Log-normal: `exp(N(mu, sigma))`.
    LogNormal {
        /// Mean of the logarithm.
        mu: f64,
        /// Standard deviation of the logarithm.
        sigma: f64,
    },
}

impl ValueDistribution {
    /// Draws a value from the stream keyed by `key` (the same key always
    /// gives the same value).
    #[inline]
    pub fn draw(&self, key: u64) -> f64 {
        match *self {
            ValueDistribution::Constant { value } => value,
            ValueDistribution::Uniform { low, high } => {
                let mut rng = AgentRng::seed_from_u64(key);
                low + (high - low) * rand::RngExt::random::<f64>(&mut rng)
            }
            ValueDistribution::Normal { mean, std } => normal_draw(mean, std, key, false),
            ValueDistribution::LogNormal { mu, sigma } => normal_draw(mu, sigma, key, true),
        }
    }

    /// The top of the values drawn: the upper end of the support (the
    /// constant; `high` of a uniform), or for an unbounded distribution
    /// the value three standard deviations above the mean (of the normal,
    /// or of the logarithm for a log-normal: its 99.87th percentile).
    pub fn upper_end(&self) -> f64 {
        match *self {
            ValueDistribution::Constant { value } => value,
            ValueDistribution::Uniform { high, .. } => high,
            ValueDistribution::Normal { mean, std } => (mean + 3.0 * std).max(0.0),
            ValueDistribution::LogNormal { mu, sigma } => (mu + 3.0 * sigma).exp(),
        }
    }
}

/// [`ValueDistribution::draw`] of a normal (`log`: false; truncated at 0)
/// or a log-normal (`log`: true; `exp` of the normal draw) with parameters
/// `mean` and `std`; for parameters `Normal` refuses, `mean` (or its
/// `exp`: invalid parameters are refused when the scenario is read, the
/// fallback keeps the function total). Out of line: the constant and the
/// uniform draw inline (a consumer's need is drawn for every agent twice a
/// step).
#[inline(never)]
fn normal_draw(mean: f64, std: f64, key: u64, log: bool) -> f64 {
    let mut rng = AgentRng::seed_from_u64(key);
    match Normal::new(mean, std) {
        Ok(d) if log => d.sample(&mut rng).exp(),
        Ok(d) => d.sample(&mut rng).max(0.0),
        Err(_) if log => mean.exp(),
        Err(_) => mean,
    }
}

/// Fundamental traders: each agent holds a private valuation `v` of the
/// asset, drawn once from `valuation`; when active (probability `activity`)
/// it buys with probability `σ(β·(v − P))` and sells otherwise, where σ is
/// the logistic function.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuationPolicy {
    /// Asset traded.
    pub asset: usize,
    /// Distribution of private valuations.
    pub valuation: ValueDistribution,
    /// Steepness β of the logistic response, per unit of price (> 0).
    pub beta: f64,
    /// Probability of trading at all each step.
    pub activity: f64,
    /// Share of the balance spent on a buy.
    pub buy_fraction: f64,
    /// Share of the holdings sold on a sell.
    pub sell_fraction: f64,
}

impl ValuationPolicy {
    /// Returns the private valuation of the agent with this key.
    pub fn valuation_of(&self, me: &AgentView<'_>) -> f64 {
        self.valuation.draw(me.key())
    }
}

impl RuleBased for ValuationPolicy {
    fn asset(&self) -> usize {
        self.asset
    }
    fn probabilities(&self, obs: &Observation<'_>, me: &AgentView<'_>) -> (f64, f64) {
        let v = self.valuation_of(me);
        let p = obs.assets[self.asset].price;
        let buy = 1.0 / (1.0 + (-self.beta * (v - p)).exp());
        (self.activity * buy, self.activity * (1.0 - buy))
    }
    fn buy_fraction(&self) -> f64 {
        self.buy_fraction
    }
    fn sell_fraction(&self) -> f64 {
        self.sell_fraction
    }
}

/// The built-in policies, as one enum so that the engine calls them without
/// a virtual call.
#[derive(Debug, Clone, PartialEq)]
pub enum BuiltinPolicy {
    /// `random`
    Random(RandomPolicy),
    /// `threshold`
    Threshold(ThresholdPolicy),
    /// `momentum`
    Momentum(MomentumPolicy),
    /// `mean_reversion`
    MeanReversion(MeanReversionPolicy),
    /// `valuation`
    Valuation(ValuationPolicy),
    /// `zi_c`
    ZiC(ZiCPolicy),
    /// `market_maker`
    MarketMaker(MarketMakerPolicy),
    /// `fundamental`
    Fundamental(FundamentalPolicy),
    /// `consumer`
    Consumer(ConsumerPolicy),
    /// `producer`
    Producer(ProducerPolicy),
    /// `player` (a population game's players)
    Player(crate::games::population::PlayerPolicy),
    /// `effort` (an affiliate's effort under a contract)
    Effort(crate::contracts::EffortPolicy),
    /// `scripted` (what-if runs and tests)
    Scripted(super::ScriptedPolicy),
    /// `staker` (stakes under a staking rule)
    Staker(crate::incentives::StakerPolicy),
    /// `liquidity_provider` (deposits into an AMM's pool)
    LiquidityProvider(crate::market::amm::liquidity::LiquidityProviderPolicy),
    /// `sandwich` (an attacker on a mempool AMM)
    Sandwich(super::SandwichPolicy),
    /// `wash_trader`, `pump_and_dump`, `spoofer`, `cartel`, `hoarder` (see [`super::attackers`])
    Attacker(super::attackers::AttackerPolicy),
    /// `best_response`: posted-price sellers that each post their static
    /// best response to the others' last prices (the competitive benchmark
    /// of a cartel; see [`super::collusion::PostedCartel`]).
    BestResponse(super::collusion::PostedCartel),
}

impl BuiltinPolicy {
    /// The rule every agent of a group with this policy decides by at a
    /// step with the observation `obs`: `Some` for the rule-based policies
    /// whose probabilities depend on the observation alone (`random`,
    /// `threshold`, `momentum`, `mean_reversion`), so that the engine works
    /// them out once per group and step instead of once per agent; `None`
    /// for the others. Deciding by it gives the same action as
    /// [`Policy::decide`] from the same stream.
    #[inline]
    pub fn step_rule(&self, obs: &Observation<'_>) -> Option<StepRule> {
        Some(match self {
            BuiltinPolicy::Random(p) => StepRule::of(p, p.on(obs)),
            BuiltinPolicy::Threshold(p) => StepRule::of(p, p.on(obs)),
            BuiltinPolicy::Momentum(p) => StepRule::of(p, p.on(obs)),
            BuiltinPolicy::MeanReversion(p) => StepRule::of(p, p.on(obs)),
            _ => return None,
        })
    }
}

impl Policy for BuiltinPolicy {
    #[inline]
    fn decide(&self, obs: &Observation<'_>, me: &AgentView<'_>, rng: &mut AgentRng) -> Action {
        match self {
            BuiltinPolicy::Random(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Threshold(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Momentum(p) => p.decide(obs, me, rng),
            BuiltinPolicy::MeanReversion(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Valuation(p) => p.decide(obs, me, rng),
            BuiltinPolicy::ZiC(p) => p.decide(obs, me, rng),
            BuiltinPolicy::MarketMaker(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Fundamental(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Consumer(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Producer(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Player(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Effort(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Scripted(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Staker(p) => p.decide(obs, me, rng),
            BuiltinPolicy::LiquidityProvider(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Sandwich(p) => p.decide(obs, me, rng),
            BuiltinPolicy::Attacker(p) => p.decide(obs, me, rng),
            BuiltinPolicy::BestResponse(p) => p.decide(obs, me, rng),
        }
    }

    fn assets(&self) -> Vec<usize> {
        match self {
            BuiltinPolicy::Consumer(p) => return p.assets.clone(),
            BuiltinPolicy::Effort(_) => return Vec::new(),
            _ => {}
        }
        if let BuiltinPolicy::Scripted(p) = self {
            return p.assets();
        }
        vec![match self {
            BuiltinPolicy::Random(p) => p.asset,
            BuiltinPolicy::Threshold(p) => p.asset,
            BuiltinPolicy::Momentum(p) => p.asset,
            BuiltinPolicy::MeanReversion(p) => p.asset,
            BuiltinPolicy::Valuation(p) => p.asset,
            BuiltinPolicy::ZiC(p) => p.asset,
            BuiltinPolicy::MarketMaker(p) => p.asset,
            BuiltinPolicy::Fundamental(p) => p.asset,
            BuiltinPolicy::Producer(p) => p.asset,
            BuiltinPolicy::Player(p) => p.asset,
            BuiltinPolicy::Sandwich(p) => p.asset,
            BuiltinPolicy::Staker(p) => p.asset,
            BuiltinPolicy::LiquidityProvider(p) => p.asset,
            BuiltinPolicy::Attacker(p) => p.asset(),
            BuiltinPolicy::BestResponse(p) => p.asset,
            BuiltinPolicy::Consumer(_) | BuiltinPolicy::Effort(_) | BuiltinPolicy::Scripted(_) => {
                unreachable!("returned above")
            }
        }]
    }

    fn need(&self, me: &AgentView<'_>, step: u64) -> Option<Need> {
        match self {
            BuiltinPolicy::Consumer(p) => p.need(me, step),
            _ => None,
        }
    }

    fn private_value(&self, me: &AgentView<'_>) -> Option<PrivateValue> {
        match self {
            BuiltinPolicy::ZiC(p) => p.private_value(me),
            _ => None,
        }
    }

    fn watches_mempool(&self) -> bool {
        matches!(self, BuiltinPolicy::Sandwich(_))
    }

    fn watch(
        &self,
        obs: &Observation<'_>,
        me: &AgentView<'_>,
        rng: &mut AgentRng,
    ) -> Vec<crate::market::mempool::Insertion> {
        match self {
            BuiltinPolicy::Sandwich(p) => p.watch(obs, me, rng),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::AssetObservation;

    /// What `f` gives on the observation of step `step` with one asset at
    /// `price` after `history` (no incentives, an empty mempool).
    fn observed<R>(
        step: u64,
        history: &[f64],
        price: f64,
        f: impl FnOnce(&Observation<'_>) -> R,
    ) -> R {
        let asset = AssetObservation {
            supply: 1.0,
            ..AssetObservation::at(price, history)
        };
        f(&Observation {
            step,
            assets: &[asset],
            incentives: &[],
            mempool: &[],
        })
    }

    const ME: AgentView<'static> = AgentView {
        id: 0,
        member: 0,
        balance: 100,
        holdings: &[100],
        key: super::super::Key::Fixed(42),
    };

    #[test]
    fn momentum_follows_the_trend_over_its_lookback() {
        let p = MomentumPolicy {
            asset: 0,
            lookback: 2,
            threshold: 0.05,
            p_trade: 0.8,
            buy_fraction: 0.1,
            sell_fraction: 0.1,
        };
        let history = [1.0, 2.0, 1.0, 1.04];
        // reference is history[4 - 3] = 2.0: the price fell 40%
        assert_eq!(
            observed(4, &history, 1.2, |obs| p.probabilities(obs, &ME)),
            (0.0, 0.8)
        );
        let short = [1.0, 2.0];
        assert_eq!(
            observed(2, &short, 3.0, |obs| p.probabilities(obs, &ME)),
            (0.0, 0.0),
            "history too short"
        );
    }

    /// A threshold trader buys with probability `p_trade` strictly below
    /// `buy_below`, sells with it strictly above `sell_above`, and holds
    /// between them and at them.
    #[test]
    fn threshold_buys_below_and_sells_above_its_bounds() {
        let p = ThresholdPolicy {
            asset: 0,
            buy_below: 0.9,
            sell_above: 1.1,
            p_trade: 0.25,
            buy_fraction: 0.1,
            sell_fraction: 0.1,
        };
        let history = [1.0];
        for (price, expected) in [
            (0.8, (0.25, 0.0)),
            (0.9, (0.0, 0.0)),
            (1.0, (0.0, 0.0)),
            (1.1, (0.0, 0.0)),
            (1.2, (0.0, 0.25)),
        ] {
            assert_eq!(
                observed(1, &history, price, |obs| p.probabilities(obs, &ME)),
                expected,
                "at {price}"
            );
        }
    }

    /// A momentum trader that acts for sure (`p_trade` = 1) spends its
    /// `buy_fraction` of the balance on a rise and offers its
    /// `sell_fraction` of the holdings on a fall: floor(100 · 0.1) = 10 and
    /// floor(100 · 0.3) = 30 base units of `ME`'s 100.
    #[test]
    fn momentum_trades_its_own_fractions() {
        let p = MomentumPolicy {
            asset: 0,
            lookback: 1,
            threshold: 0.05,
            p_trade: 1.0,
            buy_fraction: 0.1,
            sell_fraction: 0.3,
        };
        let history = [1.0, 1.0];
        for (price, action) in [
            (
                1.1,
                Action::Buy {
                    asset: 0,
                    spend: 10,
                },
            ),
            (
                0.9,
                Action::Sell {
                    asset: 0,
                    amount: 30,
                },
            ),
        ] {
            let mut rng = AgentRng::seed_from_u64(3);
            assert_eq!(
                observed(2, &history, price, |obs| p.decide(obs, &ME, &mut rng)),
                action,
                "at {price}"
            );
        }
    }

    /// A momentum trader of asset 1 of 2 reads asset 1's trend and trades
    /// asset 1, whatever asset 0 does: it buys on asset 1's rise (asset 0
    /// falling), spending 10 of its 100 money, and sells 30 of its 100
    /// tokens of asset 1 on asset 1's fall (asset 0 rising).
    #[test]
    fn momentum_trades_the_asset_it_names() {
        let p = MomentumPolicy {
            asset: 1,
            lookback: 1,
            threshold: 0.05,
            p_trade: 1.0,
            buy_fraction: 0.1,
            sell_fraction: 0.3,
        };
        let holdings = [0, 100];
        let me = AgentView::new(0, 0, 100, &holdings, 0);
        let history = [1.0, 1.0];
        let asset = |price| AssetObservation {
            supply: 1.0,
            ..AssetObservation::at(price, &history)
        };
        let buy = Action::Buy {
            asset: 1,
            spend: 10,
        };
        let sell = Action::Sell {
            asset: 1,
            amount: 30,
        };
        for (p0, p1, action) in [(0.9, 1.1, buy), (1.1, 0.9, sell)] {
            let obs = Observation {
                step: 2,
                assets: &[asset(p0), asset(p1)],
                incentives: &[],
                mempool: &[],
            };
            let mut rng = AgentRng::seed_from_u64(3);
            assert_eq!(p.decide(&obs, &me, &mut rng), action, "at {p0}, {p1}");
        }
    }

    #[test]
    fn mean_reversion_buys_below_its_average() {
        let p = MeanReversionPolicy {
            asset: 0,
            lookback: 3,
            threshold: 0.1,
            p_trade: 1.0,
            buy_fraction: 0.1,
            sell_fraction: 0.1,
        };
        let history = [9.0, 10.0, 11.0, 12.0];
        // mean 11, deviation -10.9%
        assert_eq!(
            observed(4, &history, 9.8, |obs| p.probabilities(obs, &ME)),
            (1.0, 0.0)
        );
    }

    /// A mean-reversion trader over the last 3 of [9, 10, 11, 12] (mean
    /// 11) with threshold 0.1 and `p_trade` 0.7: below 9.9 (a deviation
    /// under −10%) it buys with probability 0.7, above 12.1 it sells with
    /// it, between them it holds; with fewer than 3 prices recorded, or a
    /// mean of 0, it holds whatever the price.
    #[test]
    fn mean_reversion_sells_above_its_average_and_holds_near_it_or_without_one() {
        let p = MeanReversionPolicy {
            asset: 0,
            lookback: 3,
            threshold: 0.1,
            p_trade: 0.7,
            buy_fraction: 0.1,
            sell_fraction: 0.1,
        };
        let probabilities = |history: &[f64], price: f64| {
            observed(history.len() as u64, history, price, |obs| {
                p.probabilities(obs, &ME)
            })
        };
        let history = [9.0, 10.0, 11.0, 12.0];
        for (price, expected) in [
            (9.8, (0.7, 0.0)),
            (10.0, (0.0, 0.0)),
            (11.0, (0.0, 0.0)),
            (12.0, (0.0, 0.0)),
            (12.2, (0.0, 0.7)),
        ] {
            assert_eq!(probabilities(&history, price), expected, "at {price}");
        }
        assert_eq!(probabilities(&[11.0, 11.0], 1.0), (0.0, 0.0), "2 prices");
        assert_eq!(probabilities(&[0.0; 3], 1.0), (0.0, 0.0), "mean 0");
        // It trades on a deviation of more than the threshold, not at it:
        // over [2, 2, 2] the prices 1.5 and 2.5 deviate by exactly ∓25%
        // (all exact in binary), and a threshold of 0.25 holds at both.
        let at_edge = MeanReversionPolicy {
            threshold: 0.25,
            ..p
        };
        for (price, expected) in [
            (1.5, (0.0, 0.0)),
            (1.4999, (0.7, 0.0)),
            (2.5, (0.0, 0.0)),
            (2.5001, (0.0, 0.7)),
        ] {
            assert_eq!(
                observed(3, &[2.0, 2.0, 2.0], price, |obs| at_edge
                    .probabilities(obs, &ME)),
                expected,
                "at {price}"
            );
        }
    }

    /// Threshold and mean-reversion traders that act for sure (`p_trade`
    /// = 1) spend their own `buy_fraction` of `ME`'s 100 base units and
    /// offer their own `sell_fraction` of its 100 tokens: 25 and 50 for
    /// the first (fractions 0.25 and 0.5), 50 and 25 for the second.
    #[test]
    fn threshold_and_mean_reversion_trade_their_own_fractions() {
        let threshold = ThresholdPolicy {
            asset: 0,
            buy_below: 0.9,
            sell_above: 1.1,
            p_trade: 1.0,
            buy_fraction: 0.25,
            sell_fraction: 0.5,
        };
        let reversion = MeanReversionPolicy {
            asset: 0,
            lookback: 1,
            threshold: 0.05,
            p_trade: 1.0,
            buy_fraction: 0.5,
            sell_fraction: 0.25,
        };
        let history = [1.0];
        let decide = |p: &dyn Policy, price: f64| {
            observed(1, &history, price, |obs| {
                p.decide(obs, &ME, &mut AgentRng::seed_from_u64(3))
            })
        };
        let buy = |spend| Action::Buy { asset: 0, spend };
        let sell = |amount| Action::Sell { asset: 0, amount };
        assert_eq!(decide(&threshold, 0.8), buy(25));
        assert_eq!(decide(&threshold, 1.2), sell(50));
        assert_eq!(decide(&reversion, 0.9), buy(50));
        assert_eq!(decide(&reversion, 1.1), sell(25));
    }

    /// A valuation trader's buy and sell probabilities at step 1 with the
    /// market at `price` (a history of one price, 10).
    fn valuation_at(p: &ValuationPolicy, price: f64) -> (f64, f64) {
        observed(1, &[10.0], price, |obs| p.probabilities(obs, &ME))
    }

    #[test]
    fn valuation_is_logistic_in_value_minus_price() {
        let p = ValuationPolicy {
            asset: 0,
            valuation: ValueDistribution::Constant { value: 10.0 },
            beta: 2.0,
            activity: 0.5,
            buy_fraction: 0.1,
            sell_fraction: 0.1,
        };
        // v − P of ±1 alone would not tell β·(v − P) from β/(v − P)
        for price in [9.0, 9.5, 6.0, 12.5] {
            let (b, s) = valuation_at(&p, price);
            let expected = 0.5 / (1.0 + (-2.0 * (10.0 - price)).exp());
            assert!((b - expected).abs() < 1e-15, "P = {price}: {b}");
            assert!((b + s - 0.5).abs() < 1e-15);
        }
    }

    #[test]
    fn private_values_are_fixed_per_key_and_spread_across_keys() {
        let d = ValueDistribution::LogNormal {
            mu: 0.0,
            sigma: 1.0,
        };
        assert_eq!(d.draw(5), d.draw(5));
        let n = 50_000;
        let mean_log = (0..n).map(|k| d.draw(k).ln()).sum::<f64>() / n as f64;
        assert!(mean_log.abs() < 5.0 / (n as f64).sqrt(), "{mean_log}");
    }

    /// The top of the values drawn: the constant, a uniform's `high`, three
    /// standard deviations above a normal's mean (not below 0), e^(μ + 3σ)
    /// for a log-normal.
    #[test]
    fn the_upper_end_is_the_support_top_or_three_sd_above_the_mean() {
        use ValueDistribution::*;
        assert_eq!(Constant { value: 5.0 }.upper_end(), 5.0);
        assert_eq!(
            Uniform {
                low: 2.0,
                high: 7.0
            }
            .upper_end(),
            7.0
        );
        assert_eq!(
            Normal {
                mean: 10.0,
                std: 2.0
            }
            .upper_end(),
            16.0
        );
        assert_eq!(
            Normal {
                mean: -5.0,
                std: 1.0
            }
            .upper_end(),
            0.0
        );
        assert_eq!(
            LogNormal {
                mu: 0.5,
                sigma: 0.5
            }
            .upper_end(),
            2f64.exp()
        );
    }

    /// A uniform value on [2, 7) over 20 000 keys: every draw in range,
    /// the mean within 4 standard errors of 4.5 (sd 5/√12). A normal of
    /// mean 1 and sd 2 truncated at 0: none negative, the share at 0
    /// within 4 sd of Φ(−½) = 0.3085. Invalid parameters give the mean (a
    /// normal) or e^μ (a log-normal).
    #[test]
    fn values_are_drawn_from_their_distribution() {
        use ValueDistribution::*;
        let n = 20_000u64;
        let u = Uniform {
            low: 2.0,
            high: 7.0,
        };
        let draws: Vec<f64> = (0..n).map(|k| u.draw(k)).collect();
        assert!(draws.iter().all(|x| (2.0..7.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / n as f64;
        let se = 5.0 / 12f64.sqrt() / (n as f64).sqrt();
        assert!((mean - 4.5).abs() < 4.0 * se, "{mean}");
        let normal = Normal {
            mean: 1.0,
            std: 2.0,
        };
        let draws: Vec<f64> = (0..n).map(|k| normal.draw(k)).collect();
        assert!(draws.iter().all(|&x| x >= 0.0));
        let zeros = draws.iter().filter(|&&x| x == 0.0).count() as f64;
        let p = 0.308_537_538_725_986_9;
        let sd = (n as f64 * p * (1.0 - p)).sqrt();
        assert!((zeros - n as f64 * p).abs() < 4.0 * sd, "{zeros}");
        assert_eq!(
            Normal {
                mean: 3.0,
                std: f64::NAN
            }
            .draw(1),
            3.0
        );
        assert_eq!(
            LogNormal {
                mu: 0.5,
                sigma: f64::NAN
            }
            .draw(1),
            0.5f64.exp()
        );
    }

    /// A momentum trader buys after a rise above its threshold (2 → 2.2 is
    /// +10 % over 5 %), holds after a move within it (2 → 2.06, +3 %) and
    /// when the past price is not positive.
    #[test]
    fn momentum_buys_after_a_rise_and_holds_within_its_threshold() {
        let p = MomentumPolicy {
            asset: 0,
            lookback: 1,
            threshold: 0.05,
            p_trade: 0.8,
            buy_fraction: 0.1,
            sell_fraction: 0.1,
        };
        let at = |history: &[f64], price: f64| {
            observed(1, history, price, |obs| p.probabilities(obs, &ME))
        };
        assert_eq!(at(&[2.0, 5.0], 2.2), (0.8, 0.0));
        assert_eq!(at(&[2.0, 5.0], 2.06), (0.0, 0.0));
        assert_eq!(at(&[2.0, 5.0], 1.94), (0.0, 0.0));
        assert_eq!(at(&[0.0, 5.0], 2.2), (0.0, 0.0));
    }

    /// A valuation trader of value 10 buys with probability σ(β(v − P)):
    /// at P = 11, β = 2 the buy share is 1/(1 + e²), below one half.
    #[test]
    fn valuation_sells_more_above_its_value() {
        let p = ValuationPolicy {
            asset: 0,
            valuation: ValueDistribution::Constant { value: 10.0 },
            beta: 2.0,
            activity: 1.0,
            buy_fraction: 0.1,
            sell_fraction: 0.1,
        };
        let (b, s) = valuation_at(&p, 11.0);
        let expected = 1.0 / (1.0 + 2f64.exp());
        assert!((b - expected).abs() < 1e-15, "{b}");
        assert!((s - (1.0 - expected)).abs() < 1e-15, "{s}");
        assert_eq!(p.valuation_of(&ME), 10.0);
    }

    /// A built-in policy declares its asset (3 here for each of these
    /// eight kinds); only a ZI-C trader has a private value, none of them a
    /// need or a mempool watch.
    #[test]
    fn each_builtin_policy_declares_its_asset_and_only_zi_c_a_private_value() {
        use crate::agents::Side;
        let value = ValueDistribution::Constant { value: 10.0 };
        let policies = [
            BuiltinPolicy::Random(RandomPolicy {
                asset: 3,
                p_buy: 0.1,
                p_sell: 0.1,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
            }),
            BuiltinPolicy::Threshold(ThresholdPolicy {
                asset: 3,
                buy_below: 1.0,
                sell_above: 2.0,
                p_trade: 0.5,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
            }),
            BuiltinPolicy::Momentum(MomentumPolicy {
                asset: 3,
                lookback: 1,
                threshold: 0.1,
                p_trade: 0.5,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
            }),
            BuiltinPolicy::MeanReversion(MeanReversionPolicy {
                asset: 3,
                lookback: 1,
                threshold: 0.1,
                p_trade: 0.5,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
            }),
            BuiltinPolicy::Valuation(ValuationPolicy {
                asset: 3,
                valuation: value,
                beta: 1.0,
                activity: 0.5,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
            }),
            BuiltinPolicy::MarketMaker(MarketMakerPolicy {
                asset: 3,
                spread: 0.02,
                size: 1,
                max_inventory: 10,
                skew: 0.0,
                ttl: 1,
            }),
            BuiltinPolicy::Fundamental(FundamentalPolicy {
                asset: 3,
                value,
                activity: 0.5,
                buy_fraction: 0.1,
                sell_fraction: 0.1,
                ttl: 1,
            }),
            BuiltinPolicy::ZiC(ZiCPolicy {
                asset: 3,
                side: Side::Buy,
                value,
                units: 7,
                lot: 1,
                min_price: 1.0,
                max_price: 20.0,
                ttl: 1,
                shade: None,
            }),
        ];
        let holdings = [0; 4];
        let me = AgentView::new(0, 0, 100, &holdings, 0);
        let obs = Observation {
            step: 1,
            assets: &[],
            incentives: &[],
            mempool: &[],
        };
        let mut rng = AgentRng::seed_from_u64(1);
        for p in &policies {
            assert_eq!(p.assets(), vec![3], "{p:?}");
            assert!(p.need(&me, 1).is_none() && !p.watches_mempool(), "{p:?}");
            assert!(p.watch(&obs, &me, &mut rng).is_empty(), "{p:?}");
            let zic = matches!(p, BuiltinPolicy::ZiC(_));
            assert_eq!(p.private_value(&me).is_some(), zic, "{p:?}");
            // what the engine asks before it asks the agents
            let group = crate::agents::GroupPolicy::Builtin(p.clone());
            assert!(!group.may_need(), "{p:?}");
            assert_eq!(group.may_have_private_values(), zic, "{p:?}");
        }
        let v = policies[7].private_value(&me).unwrap();
        assert_eq!((v.asset, v.value, v.units), (3, 10.0, 7));
    }

    /// The step rule the engine decides by is the policy's own decision:
    /// for each rule-based policy whose probabilities depend on the
    /// observation alone, at prices and histories that make it buy, sell
    /// and hold, every agent (balances and holdings from 0 to past 2⁶³,
    /// each drawing from its own stream) gets the same action from
    /// `step_rule` as from `decide`. A policy whose probabilities depend on
    /// the agent (a valuation) has no step rule.
    #[test]
    fn the_step_rule_decides_as_the_policy_does() {
        let fractions = (0.25, 0.5);
        let policies = [
            BuiltinPolicy::Random(RandomPolicy {
                asset: 1,
                p_buy: 0.3,
                p_sell: 0.45,
                buy_fraction: fractions.0,
                sell_fraction: fractions.1,
            }),
            BuiltinPolicy::Threshold(ThresholdPolicy {
                asset: 1,
                buy_below: 0.9,
                sell_above: 1.1,
                p_trade: 0.6,
                buy_fraction: fractions.0,
                sell_fraction: fractions.1,
            }),
            BuiltinPolicy::Momentum(MomentumPolicy {
                asset: 1,
                lookback: 1,
                threshold: 0.05,
                p_trade: 0.7,
                buy_fraction: fractions.0,
                sell_fraction: fractions.1,
            }),
            BuiltinPolicy::MeanReversion(MeanReversionPolicy {
                asset: 1,
                lookback: 2,
                threshold: 0.05,
                p_trade: 0.8,
                buy_fraction: fractions.0,
                sell_fraction: fractions.1,
            }),
        ];
        let amounts = [0, 1, 3, 1000, 123_456_789, 1 << 63, u64::MAX];
        let history = [1.0, 1.0];
        let family = crate::rng::StreamFamily::new(5, 0, 3, crate::rng::Stream::Decide);
        let (mut buys, mut sells, mut holds) = (0, 0, 0);
        for price in [0.5, 1.0, 2.0] {
            let other = AssetObservation::at(7.0, &history);
            let asset = AssetObservation::at(price, &history);
            let obs = Observation {
                step: 3,
                assets: &[other, asset],
                incentives: &[],
                mempool: &[],
            };
            for policy in &policies {
                let rule = policy.step_rule(&obs).expect("a rule-based policy");
                for id in 0..50u32 {
                    let balance = amounts[id as usize % amounts.len()];
                    let holdings = [9, amounts[(id as usize / 7) % amounts.len()]];
                    let me = AgentView::new(id, id, balance, &holdings, 17);
                    let by_rule = rule.decide(balance, &holdings, &mut family.rng(id.into()));
                    let by_policy = policy.decide(&obs, &me, &mut family.rng(id.into()));
                    assert_eq!(by_rule, by_policy, "{policy:?} at {price}, agent {id}");
                    match by_rule {
                        Action::Buy { .. } => buys += 1,
                        Action::Sell { .. } => sells += 1,
                        _ => holds += 1,
                    }
                }
            }
        }
        // every branch was taken, many times
        assert!(
            buys > 50 && sells > 50 && holds > 50,
            "{buys} {sells} {holds}"
        );
        let valuation = BuiltinPolicy::Valuation(ValuationPolicy {
            asset: 0,
            valuation: ValueDistribution::Uniform {
                low: 0.5,
                high: 1.5,
            },
            beta: 1.0,
            activity: 1.0,
            buy_fraction: 0.1,
            sell_fraction: 0.1,
        });
        assert_eq!(
            observed(1, &[1.0], 1.0, |obs| valuation.step_rule(obs)),
            None
        );
    }
}
