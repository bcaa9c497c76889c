//! What governance may do to a running economy: one typed action for every
//! rule — controllers, circuit breakers, future incentive and contract
//! rules — applied by the engine in the govern phase of a step.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A parameter of a mechanism that governance may set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    /// A bonding curve's parameter, by its name in the scenario (`m`, `b`,
    /// `a`, `k`, `K`, `S0`, `n`, `reserve_ratio`, or a user curve's own).
    /// The mechanism checks the name against its curve's parameters.
    Curve(String),
    /// The fee: the share of each trade paid into the fee pool, in `[0, 1)`.
    Fee,
    /// A posted or fixed price, money units per whole unit (a resource's
    /// fixed price).
    Price,
    /// A resource's capacity per step, units.
    Capacity,
}

impl Param {
    /// The parameter from its name in a scenario: `fee`, `price`,
    /// `capacity`, or any other name as a curve parameter.
    pub fn from_name(name: &str) -> Param {
        match name {
            "fee" => Param::Fee,
            "price" => Param::Price,
            "capacity" => Param::Capacity,
            other => Param::Curve(other.to_string()),
        }
    }

    /// The parameter's name in a scenario.
    pub fn name(&self) -> &str {
        match self {
            Param::Curve(name) => name,
            Param::Fee => "fee",
            Param::Price => "price",
            Param::Capacity => "capacity",
        }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing governance does at the start of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum GovernanceAction {
    /// Sets a parameter of asset `asset`'s mechanism. A change that raises
    /// a bonding curve is backed by a reserve top-up (the curve changes
    /// only with it).
    SetParam {
        /// Index of the asset.
        asset: usize,
        /// The parameter.
        param: Param,
        /// Its new value.
        value: f64,
    },
    /// Halts trading on asset `asset`: its mechanism takes no actions
    /// (they are rejected and counted) until resumed. Open orders stay.
    Halt {
        /// Index of the asset.
        asset: usize,
    },
    /// Resumes trading on a halted asset (nothing when it trades).
    Resume {
        /// Index of the asset.
        asset: usize,
    },
    /// Pays `money` base units to agent `agent` from outside the economy,
    /// recorded as a reward in the ledger's money paid in and in the
    /// trade log (an incentive).
    Pay {
        /// The agent paid.
        agent: u32,
        /// Money, base units.
        money: u64,
    },
}

impl GovernanceAction {
    /// The asset the action is about, if any.
    pub fn asset(&self) -> Option<usize> {
        match *self {
            GovernanceAction::SetParam { asset, .. }
            | GovernanceAction::Halt { asset }
            | GovernanceAction::Resume { asset } => Some(asset),
            GovernanceAction::Pay { .. } => None,
        }
    }
}

/// A circuit breaker: halts an asset's trading for `halt_steps` steps when
/// its price moved by more than `max_move` (a share: 0.1 is 10%) within
/// `window` steps (from any of the last `window` prices seen to the
/// current one; 1: over one step), then resumes it. While halted the price
/// does not move, so it cannot trip again until trading resumes; the window
/// starts afresh from the price at the resumption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitBreaker {
    /// Index of the asset watched and halted.
    pub asset: usize,
    /// The largest relative move of the price over one step that does not
    /// trip the breaker, `> 0`.
    pub max_move: f64,
    /// Steps trading stays halted once tripped, `≥ 1`.
    pub halt_steps: u64,
    /// Steps over which a move is measured, `≥ 1`.
    #[serde(default = "one")]
    pub window: u64,
    /// The price at the last step seen.
    last: Option<f64>,
    /// The prices seen before `last` within the window, oldest first (at
    /// most `window − 1`).
    #[serde(default)]
    earlier: std::collections::VecDeque<f64>,
    /// The step trading resumes at, while halted.
    until: Option<u64>,
    /// Times it tripped.
    trips: u64,
}

/// The default window of a breaker read from an older saved state.
fn one() -> u64 {
    1
}

impl CircuitBreaker {
    /// Whether this breaker, read from a saved state, is `own` as a run
    /// keeps it: the same settings, at most `window − 1` earlier prices,
    /// and a trip count no run passes (`most`).
    pub(crate) fn fits(&self, own: &CircuitBreaker, most: u64) -> bool {
        self.asset == own.asset
            && self.max_move.to_bits() == own.max_move.to_bits()
            && self.halt_steps == own.halt_steps
            && self.window == own.window
            && (self.earlier.len() as u64) < self.window
            && self.trips <= most
    }

    /// A breaker on `asset` measuring one step's move; `None` unless
    /// `max_move > 0` (finite) and `halt_steps ≥ 1`.
    pub fn new(asset: usize, max_move: f64, halt_steps: u64) -> Option<Self> {
        (max_move.is_finite() && max_move > 0.0 && halt_steps >= 1).then_some(CircuitBreaker {
            asset,
            max_move,
            halt_steps,
            window: 1,
            last: None,
            earlier: std::collections::VecDeque::new(),
            until: None,
            trips: 0,
        })
    }

    /// The breaker measuring moves within `window` steps; `None` if
    /// `window` is 0.
    pub fn with_window(mut self, window: u64) -> Option<Self> {
        (window >= 1).then(|| {
            self.window = window;
            self
        })
    }

    /// Whether `price` moved more than the limit from `before`.
    fn moved(&self, before: f64, price: f64) -> bool {
        before > 0.0 && (price / before - 1.0).abs() > self.max_move
    }

    /// Times the breaker tripped so far.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// Whether trading is halted now.
    pub fn halted(&self) -> bool {
        self.until.is_some()
    }

    /// Called at the start of `step` with the asset's price after the last
    /// step; returns the action to take, if any: a halt when the price
    /// moved too far since the step before, a resume when the halt is over.
    pub fn check(&mut self, step: u64, price: f64) -> Option<GovernanceAction> {
        let asset = self.asset;
        if let Some(until) = self.until {
            if step >= until {
                self.until = None;
                self.last = Some(price);
                self.earlier.clear();
                return Some(GovernanceAction::Resume { asset });
            }
            return None;
        }
        let last = self.last.replace(price);
        let tripped = last.is_some_and(|before| self.moved(before, price))
            || self.earlier.iter().any(|&before| self.moved(before, price));
        if self.window > 1 {
            if let Some(before) = last {
                self.earlier.push_back(before);
            }
            // The next step compares with `window` prices: `last` (this
            // one) and the `window − 1` before it.
            let keep = usize::try_from(self.window - 1).unwrap_or(usize::MAX);
            while self.earlier.len() > keep {
                self.earlier.pop_front();
            }
        }
        if tripped {
            self.until = Some(step.saturating_add(self.halt_steps));
            self.trips += 1;
            self.earlier.clear();
            Some(GovernanceAction::Halt { asset })
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A saved breaker fits its own settings with at most `window − 1`
    /// earlier prices and at most `most` trips (cargo-mutants: the first
    /// bound had no test).
    #[test]
    fn a_saved_breaker_holds_fewer_earlier_prices_than_its_window() {
        let own = CircuitBreaker::new(0, 0.5, 2)
            .unwrap()
            .with_window(3)
            .unwrap();
        let mut saved = own.clone();
        saved.earlier.extend([1.0, 2.0]);
        assert!(saved.fits(&own, 10));
        saved.earlier.push_back(3.0);
        assert!(!saved.fits(&own, 10));
        saved.earlier.pop_back();
        saved.trips = 10;
        assert!(saved.fits(&own, 10));
        saved.trips = 11;
        assert!(!saved.fits(&own, 10));
    }

    #[test]
    fn a_parameter_name_maps_to_its_typed_parameter_and_back() {
        for name in ["fee", "price", "capacity", "m", "S0", "reserve_ratio"] {
            assert_eq!(Param::from_name(name).name(), name);
        }
        assert_eq!(Param::from_name("fee"), Param::Fee);
        assert_eq!(Param::from_name("m"), Param::Curve("m".into()));
    }

    #[test]
    fn the_breaker_halts_on_a_move_past_its_limit_for_its_steps_then_resumes() {
        let mut b = CircuitBreaker::new(2, 0.1, 3).unwrap();
        // Step 1 sees the first price: nothing to compare.
        assert_eq!(b.check(1, 100.0), None);
        // A 9% move is not past the 10% limit; 11.5% is.
        assert_eq!(b.check(2, 109.0), None);
        assert_eq!(
            b.check(3, 121.535),
            Some(GovernanceAction::Halt { asset: 2 })
        );
        assert!(b.halted());
        // Halted for steps 3, 4, 5; resumed at 6, from the price then.
        assert_eq!(b.check(4, 121.535), None);
        assert_eq!(b.check(5, 121.535), None);
        assert_eq!(
            b.check(6, 121.535),
            Some(GovernanceAction::Resume { asset: 2 })
        );
        assert!(!b.halted());
        // A fall trips it too.
        assert_eq!(b.check(7, 100.0), Some(GovernanceAction::Halt { asset: 2 }));
        assert_eq!(b.trips(), 2);
    }

    #[test]
    fn a_move_of_exactly_the_limit_does_not_trip_and_a_zero_price_is_no_base() {
        let mut b = CircuitBreaker::new(0, 0.25, 2).unwrap();
        assert_eq!(b.check(1, 100.0), None);
        // 125 / 100 − 1 is exactly 0.25: not more than the limit.
        assert_eq!(b.check(2, 125.0), None);
        // A price of 0 gives no base to measure a move from.
        assert_eq!(b.check(3, 0.0), Some(GovernanceAction::Halt { asset: 0 }));
        let mut z = CircuitBreaker::new(0, 0.25, 2).unwrap();
        assert_eq!(z.check(1, 0.0), None);
        assert_eq!(z.check(2, 5.0), None);
        assert_eq!(z.trips(), 0);
    }

    #[test]
    fn an_action_names_its_asset_and_a_param_displays_its_name() {
        assert_eq!(GovernanceAction::Halt { asset: 3 }.asset(), Some(3));
        assert_eq!(GovernanceAction::Resume { asset: 2 }.asset(), Some(2));
        let set = GovernanceAction::SetParam {
            asset: 4,
            param: Param::Fee,
            value: 0.1,
        };
        assert_eq!(set.asset(), Some(4));
        assert_eq!(GovernanceAction::Pay { agent: 1, money: 5 }.asset(), None);
        assert_eq!(Param::Curve("S0".into()).to_string(), "S0");
        assert_eq!(format!("{}", Param::Capacity), "capacity");
    }

    #[test]
    fn a_window_trips_on_a_slow_move_that_no_single_step_makes() {
        // 4% a step: never past 10% in one step, 12.5% over three.
        let prices = [100.0, 104.0, 108.16, 112.4864, 116.985856];
        let mut one = CircuitBreaker::new(0, 0.1, 2).unwrap();
        let mut three = CircuitBreaker::new(0, 0.1, 2)
            .unwrap()
            .with_window(3)
            .unwrap();
        let mut tripped = Vec::new();
        for (t, &p) in prices.iter().enumerate() {
            assert_eq!(one.check(t as u64 + 1, p), None);
            if three.check(t as u64 + 1, p).is_some() {
                tripped.push(t + 1);
            }
        }
        // Step 4's price is 12.49% above step 1's (three steps back);
        // step 3's only 8.16% above step 1's.
        assert_eq!(tripped, [4]);
        // A window of 2 compares with two steps back: 8.16% at step 3,
        // 8.16% / 1.04 … never past 10% at any step.
        let mut two = CircuitBreaker::new(0, 0.1, 2)
            .unwrap()
            .with_window(2)
            .unwrap();
        assert!(prices
            .iter()
            .enumerate()
            .all(|(t, &p)| two.check(t as u64 + 1, p).is_none()));
        assert!(CircuitBreaker::new(0, 0.1, 2)
            .unwrap()
            .with_window(0)
            .is_none());
    }

    #[test]
    fn a_breaker_needs_a_positive_limit_and_at_least_one_step() {
        assert!(CircuitBreaker::new(0, 0.0, 1).is_none());
        assert!(CircuitBreaker::new(0, f64::NAN, 1).is_none());
        assert!(CircuitBreaker::new(0, 0.1, 0).is_none());
    }
}
