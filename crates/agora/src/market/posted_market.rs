//! The posted-price market as a [`Mechanism`]: each seller posts a price
//! from a grid, an exogenous population of buyers splits between them by
//! logit demand, and every seller is paid for what it sold and pays its
//! cost, through the ledger, at the end of each step.
//!
//! The economics (demand, the Nash and monopoly benchmarks, the grid, the
//! collusion index) are in [`posted`](super::posted); this module holds
//! what a run needs of them ([`PostedSetup`], computed once from the
//! scenario: the grid, every seller's profit and settlement at every price
//! profile) and the market's state ([`PostedPriceMarket`]).
//!
//! # A step
//!
//! A seller posts with [`Action::Post`] (a grid index); one that does not
//! post keeps its previous price. At the clearing, with `d_i` the index
//! seller `i` posted, the profile is `k = Σ_i d_i m^i` (seller 0 the least
//! significant digit) and seller `i` sells `q_i` units at `p_i = grid[d_i]`
//! ([`PostedMarket::quantities`]), earning `π_i = (p_i − c_i) q_i`.
//!
//! # Exact settlement, and how fractions are handled
//!
//! Quantities are real numbers (a logit share of the market size), money
//! and goods integers of base units (10⁻⁹). For every profile and seller
//! the setup fixes, once:
//!
//! - the quantity, `Q = round(q_i · 10⁹)` base units of the good;
//! - the revenue, `R = round(p_i · Q)` base units of money, which the
//!   buyers (the outside world) pay the seller;
//! - the cost, `C = round(c_i · Q)` base units of money, which the seller
//!   pays the outside world for making the goods.
//!
//! Each is rounded to the nearest base unit, so the money that moves is
//! within 1.5 base units of the model's `π_i` (`|R − C − π_i · 10⁹| ≤ 1.5`,
//! plus the float error of `q_i`). The ledger moves exactly `R` and `C`
//! ([`Ledger::sell_made_to_outside`](crate::ledger::Ledger::sell_made_to_outside)):
//! money conservation holds to the base unit, and no token is created
//! (the goods go from the maker straight to the buyers). A seller whose
//! balance and revenue do not cover its cost (a price below its cost,
//! with no money to pay the loss) sells nothing that step: the sale is
//! rejected (counted) and its profit is 0.
//!
//! The profit every seller is shown afterwards
//! ([`PostedView::profits`](crate::agents::PostedView::profits)), which
//! learners take as their reward, and the profits the summary averages are
//! the model's `π_i` (0 for a rejected sale).

use std::sync::Arc;

use super::mechanism::{Fault, MarketStep, Mechanism, PriceSource, Quotes};
use super::posted::{price_grid, profile_count, GridSpec, Outcome, PostedMarket};
use crate::agents::{Action, PostedView};
use crate::error::{Error, Result};
use crate::ledger::trades::TradeKind;
use crate::ledger::{AgentId, LedgerError, SCALE};

/// The most `profiles × sellers` entries a posted-price market tabulates
/// (4,194,304: some 130 MB with the settlements).
pub const MAX_TABLE: usize = 1 << 22;

/// The number of entries, `m^n · n`, in the tables of a posted-price market
/// of `n` sellers on `m` prices.
///
/// Errors if that is more than [`MAX_TABLE`] (or past `usize`), naming `m`
/// and `n`: the one check that both [`PostedSetup::new`] and the scenario
/// reader (before it allocates anything per seller) make.
pub fn table_entries(m: usize, n: usize) -> Result<usize> {
    profile_count(m, n)
        .ok()
        .and_then(|k| k.checked_mul(n))
        .filter(|&e| e <= MAX_TABLE)
        .ok_or_else(|| {
            Error::usage(format!(
                "{m} prices for each of {n} sellers make {m}^{n} price profiles, more than \
                 the {MAX_TABLE} profile × seller entries a posted-price market tabulates; \
                 use fewer prices or sellers"
            ))
        })
}

/// What one seller's sale at one profile moves, base units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Settlement {
    /// Units of the good sold.
    quantity: u64,
    /// Money the buyers pay.
    revenue: u64,
    /// Money the seller pays to make them.
    cost: u64,
}

/// Everything about a posted-price market that follows from the scenario:
/// the demand and costs, the benchmarks, the price grid, and every
/// seller's profit and settlement at every price profile of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedSetup {
    market: PostedMarket,
    grid: Vec<f64>,
    nash: Outcome,
    monopoly: Outcome,
    /// Seller `i`'s profit at profile `k` at `k · n + i`.
    profits: Vec<f64>,
    /// Seller `i`'s settlement at profile `k` at `k · n + i`.
    settle: Vec<Settlement>,
    /// The sellers' agents, in seller order (ascending).
    sellers: Vec<AgentId>,
}

impl PostedSetup {
    /// The setup of `market` (one quality and cost per seller) with the
    /// grid of `grid`, sold by the agents `sellers` (ascending, one per
    /// seller of `market`).
    ///
    /// Errors (a usage error whose message names the problem) if the
    /// benchmarks cannot be computed, the grid is invalid or has a
    /// negative price, the sellers do not match the market, the tables
    /// would have more than [`MAX_TABLE`] entries, or an amount exceeds the
    /// ledger's range.
    pub fn new(market: PostedMarket, grid: &GridSpec, sellers: Vec<AgentId>) -> Result<Self> {
        let n = market.sellers();
        if sellers.len() != n || sellers.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::usage(format!(
                "a posted-price market of {n} sellers needs {n} distinct agents in order, found {sellers:?}"
            )));
        }
        let nash = market.nash()?;
        let monopoly = market.monopoly()?;
        let grid = price_grid(grid, &nash.prices, &monopoly.prices)?;
        if let Some(p) = grid.iter().find(|p| **p < 0.0) {
            return Err(Error::usage(format!(
                "the price grid holds a negative price ({p}); prices must be at least 0"
            )));
        }
        let m = grid.len();
        let entries = table_entries(m, n)?;
        let profits = market.profit_table(&grid)?;
        let mut settle = Vec::with_capacity(entries);
        let mut q = vec![0.0; n];
        let mut prices = vec![0.0; n];
        let mut digits = vec![0usize; n];
        for _ in 0..entries / n.max(1) {
            for (p, &d) in prices.iter_mut().zip(&digits) {
                *p = grid[d];
            }
            market.quantities(&prices, &mut q)?;
            for ((&q, &p), &c) in q.iter().zip(&prices).zip(market.costs()) {
                settle.push(settlement(q, p, c)?);
            }
            for d in digits.iter_mut() {
                *d += 1;
                if *d < m {
                    break;
                }
                *d = 0;
            }
        }
        Ok(PostedSetup {
            market,
            grid,
            nash,
            monopoly,
            profits,
            settle,
            sellers,
        })
    }

    /// The demand and the sellers' costs.
    pub fn market(&self) -> &PostedMarket {
        &self.market
    }

    /// The price grid.
    pub fn grid(&self) -> &[f64] {
        &self.grid
    }

    /// The one-shot Bertrand–Nash equilibrium of the continuous game.
    pub fn nash(&self) -> &Outcome {
        &self.nash
    }

    /// The prices that maximise joint profit.
    pub fn monopoly(&self) -> &Outcome {
        &self.monopoly
    }

    /// The sellers' agents, in seller order.
    pub fn sellers(&self) -> &[AgentId] {
        &self.sellers
    }

    /// The seller index of `agent`, if it is a seller.
    #[inline]
    pub fn seller_of(&self, agent: AgentId) -> Option<usize> {
        self.sellers.binary_search(&agent).ok()
    }

    /// The number of price profiles, `m^n`.
    pub fn profiles(&self) -> usize {
        self.profits.len() / self.sellers.len()
    }

    /// The index `Σ_i d_i m^i` of the profile where seller `i` posts grid
    /// index `d_i` (seller 0 the least significant digit).
    #[inline]
    pub fn profile_of(&self, posted: &[u32]) -> usize {
        let m = self.grid.len();
        posted.iter().rev().fold(0, |k, &d| k * m + d as usize)
    }

    /// Seller `i`'s profit per step at profile `k` (the model's
    /// `(p_i − c_i) q_i`).
    #[inline]
    pub fn profit(&self, k: usize, i: usize) -> f64 {
        self.profits[k * self.sellers.len() + i]
    }

    /// Every seller's profit at every profile: seller `i` at profile `k` at
    /// `k · n + i` ([`PostedMarket::profit_table`]).
    pub fn profit_table(&self) -> &[f64] {
        &self.profits
    }

    /// Seller `i`'s static best response on the grid to the others' prices
    /// in `posted` (its own entry ignored): the grid index that maximises
    /// its profit this step, the lowest among equals.
    pub fn best_response(&self, i: usize, posted: &[u32]) -> u32 {
        let m = self.grid.len();
        let mut profile = posted.to_vec();
        let mut best = (0u32, f64::NEG_INFINITY);
        for d in 0..m as u32 {
            profile[i] = d;
            let pi = self.profit(self.profile_of(&profile), i);
            if pi > best.1 {
                best = (d, pi);
            }
        }
        best.0
    }
}

/// What a sale of `q` units at `p` by a seller of cost `c` moves: see the
/// module documentation.
fn settlement(q: f64, p: f64, c: f64) -> Result<Settlement> {
    let scale = SCALE as f64;
    let base = |x: f64, what: &str| -> Result<u64> {
        let r = x.round();
        if r.is_finite() && r >= 0.0 && r < u64::MAX as f64 {
            Ok(r as u64)
        } else {
            Err(Error::usage(format!(
                "a sale of the posted-price market moves {} {what} units, beyond {}",
                x / scale,
                crate::ledger::range_advice(what)
            )))
        }
    };
    let quantity = base(q * scale, "token")?;
    Ok(Settlement {
        quantity,
        revenue: base(p * quantity as f64, "money")?,
        cost: base(c * quantity as f64, "money")?,
    })
}

/// Running sums of the step means: `(Σ mean price, Σ mean profit per
/// seller, steps)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PostedSums {
    /// Σ over steps of the mean posted price.
    pub price: f64,
    /// Σ over steps of the mean profit per seller.
    pub profit: f64,
    /// Steps summed.
    pub steps: u64,
}

impl PostedSums {
    /// The mean price over the steps summed (NaN for none).
    pub fn mean_price(&self) -> f64 {
        self.price / self.steps as f64
    }

    /// The mean profit per seller and step (NaN for none).
    pub fn mean_profit(&self) -> f64 {
        self.profit / self.steps as f64
    }
}

/// A posted-price market's state as saved.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    posted: Vec<u32>,
    last: Vec<u32>,
    profits: Vec<f64>,
    price: f64,
    started: bool,
    counting: bool,
    sums: PostedSums,
}

/// A posted-price market: its setup and what changes as a run goes.
#[derive(Debug, Clone)]
pub struct PostedPriceMarket {
    setup: Arc<PostedSetup>,
    /// The grid index each seller posts this step (its last until it posts).
    posted: Vec<u32>,
    /// The profile of the last step (or the initial one).
    last: Vec<u32>,
    /// Each seller's profit in the last step.
    profits: Vec<f64>,
    /// The mean posted price of the last step.
    price: f64,
    /// Whether a step has cleared (the price source is then `posted`).
    started: bool,
    /// Whether this step counts in [`PostedPriceMarket::counted`].
    counting: bool,
    sums: PostedSums,
}

impl PostedPriceMarket {
    /// The market of `setup` before any step, every seller at grid index
    /// 0 (see [`start_at`](Self::start_at)), counting every step.
    pub fn new(setup: Arc<PostedSetup>) -> Self {
        let n = setup.sellers.len();
        let mut market = PostedPriceMarket {
            posted: vec![0; n],
            last: vec![0; n],
            profits: vec![0.0; n],
            price: 0.0,
            started: false,
            counting: true,
            sums: PostedSums::default(),
            setup,
        };
        market.start_at(&vec![0; n]);
        market
    }

    /// Sets the prices before the first step (grid indices, one per seller,
    /// each below the grid's length).
    pub fn start_at(&mut self, posted: &[u32]) {
        self.posted.copy_from_slice(posted);
        self.last.copy_from_slice(posted);
        self.price = self.mean_price(posted);
    }

    /// The setup.
    pub fn setup(&self) -> &Arc<PostedSetup> {
        &self.setup
    }

    /// What agents see of the market: the grid, the last profile and the
    /// profits it earned.
    pub fn view(&self) -> PostedView<'_> {
        PostedView {
            grid: &self.setup.grid,
            prices: &self.last,
            profits: &self.profits,
            sellers: &self.setup.sellers,
        }
    }

    /// Whether the steps from now on count in [`counted`](Self::counted)
    /// (the engine counts the evaluation phase, or every step without one).
    pub fn set_counting(&mut self, counting: bool) {
        self.counting = counting;
    }

    /// The sums of the steps counted so far.
    pub fn counted(&self) -> &PostedSums {
        &self.sums
    }

    /// `agent` posts grid index `price` for this step; false (nothing
    /// changes) if the agent is not a seller of the market or the index is
    /// off the grid: the action is then rejected.
    #[inline]
    pub fn post(&mut self, agent: AgentId, price: u32) -> bool {
        if (price as usize) >= self.setup.grid.len() {
            return false;
        }
        match self.setup.seller_of(agent) {
            Some(i) => {
                self.posted[i] = price;
                true
            }
            None => false,
        }
    }

    /// The clearing of the step (the mechanism's `end_step`): each
    /// seller sells the quantity its price gets at the profile posted, at
    /// that price, to the outside buyers, and pays its cost to make it,
    /// through the ledger; the profile becomes the last one, and the step
    /// counts in the sums. The engine's posted-price session calls it
    /// directly.
    #[inline]
    pub(crate) fn settle(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        let setup = &*self.setup;
        let n = setup.sellers.len();
        let k = setup.profile_of(&self.posted);
        let mut profit_sum = 0.0;
        for i in 0..n {
            let s = setup.settle[k * n + i];
            let agent = setup.sellers[i];
            let pi = match m
                .ledger
                .sell_made_to_outside(agent, m.asset, s.revenue, s.cost)
            {
                Ok(()) => {
                    m.stats.add(s.quantity);
                    if m.trades.is_on() {
                        m.record(agent, None, TradeKind::Fill, false, s.quantity, s.revenue);
                        m.record(agent, None, TradeKind::Fill, true, s.quantity, s.cost);
                    }
                    setup.profits[k * n + i]
                }
                Err(LedgerError::Overflow) => {
                    return Err(Fault::overflow(
                        &format!("the sale of seller {i} (agent {agent})"),
                        "money",
                    ))
                }
                Err(_) => {
                    m.ledger.count_rejected();
                    0.0
                }
            };
            self.profits[i] = pi;
            profit_sum += pi;
        }
        self.last.copy_from_slice(&self.posted);
        self.price = self.mean_price(&self.posted);
        self.started = true;
        if self.counting {
            self.sums.price += self.price;
            self.sums.profit += profit_sum / n as f64;
            self.sums.steps += 1;
        }
        Ok(())
    }

    /// The mean posted price of the last step (the market's price).
    #[inline]
    pub(crate) fn last_price(&self) -> f64 {
        self.price
    }

    fn mean_price(&self, posted: &[u32]) -> f64 {
        let sum: f64 = posted.iter().map(|&d| self.setup.grid[d as usize]).sum();
        sum / posted.len() as f64
    }
}

impl Mechanism for PostedPriceMarket {
    fn kind(&self) -> &str {
        "posted_price"
    }

    fn execute(
        &mut self,
        agent: AgentId,
        action: Action,
        m: &mut MarketStep<'_>,
    ) -> Result<(), Fault> {
        let posted = match action {
            Action::Post { price, .. } => self.post(agent, price),
            _ => false,
        };
        if !posted {
            m.ledger.count_rejected();
        }
        Ok(())
    }

    fn end_step(&mut self, m: &mut MarketStep<'_>) -> Result<(), Fault> {
        self.settle(m)
    }

    fn price(&self, _supply: u64) -> f64 {
        self.price
    }

    fn quotes(&self) -> Quotes {
        Quotes {
            source: if self.started {
                PriceSource::Posted
            } else {
                PriceSource::Initial
            },
            ..Quotes::default()
        }
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        super::mechanism::encode_state(&Saved {
            posted: self.posted.clone(),
            last: self.last.clone(),
            profits: self.profits.clone(),
            price: self.price,
            started: self.started,
            counting: self.counting,
            sums: self.sums,
        })
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), String> {
        let s: Saved = super::mechanism::decode_state(self.kind(), bytes)?;
        let n = self.setup.sellers.len();
        let m = self.setup.grid.len();
        let fits = s.posted.len() == n
            && s.last.len() == n
            && s.profits.len() == n
            && s.posted.iter().chain(&s.last).all(|&d| (d as usize) < m);
        if !fits {
            return Err(format!(
                "the saved posted-price market does not have {n} sellers on a grid of {m} prices"
            ));
        }
        // What follows from the last profile, as a run keeps it: the mean
        // price posted, and each seller's profit at it (0 where its sale
        // was rejected); the sums finite, over at most as many steps as a
        // run makes.
        let mean = self.mean_price(&s.last);
        if s.price.to_bits() != mean.to_bits() {
            return Err(format!(
                "the saved posted-price market's price {} is not the mean of its last prices, {mean}",
                s.price
            ));
        }
        let k = self.setup.profile_of(&s.last);
        if let Some(i) = (0..n).find(|&i| {
            let pi = s.profits[i];
            pi.to_bits() != 0.0f64.to_bits() && pi.to_bits() != self.setup.profit(k, i).to_bits()
        }) {
            return Err(format!(
                "the saved posted-price market's seller {i} made {} in the last step, at a \
                 profile where it makes {} (or 0 if its sale was rejected)",
                s.profits[i],
                self.setup.profit(k, i)
            ));
        }
        let sums = &s.sums;
        if !(sums.price.is_finite() && sums.profit.is_finite())
            || sums.steps > crate::engine::MOST_COUNT
        {
            return Err(format!(
                "the saved posted-price market's sums (price {}, profit {}, over {} steps) are \
                 not a run's",
                sums.price, sums.profit, sums.steps
            ));
        }
        self.posted = s.posted;
        self.last = s.last;
        self.profits = s.profits;
        self.price = s.price;
        self.started = s.started;
        self.counting = s.counting;
        self.sums = s.sums;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calvano() -> PostedSetup {
        let market = PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
        PostedSetup::new(market, &GridSpec::Span { m: 15, xi: 0.1 }, vec![3, 7]).unwrap()
    }

    /// The table bound: `m^n · n` entries up to [`MAX_TABLE`] pass, one
    /// more is refused, and so are counts past `usize`.
    #[test]
    fn tables_up_to_the_bound_pass_and_past_it_are_refused() {
        assert_eq!(table_entries(15, 2).unwrap(), 450);
        assert_eq!(table_entries(MAX_TABLE, 1).unwrap(), MAX_TABLE);
        assert_eq!(table_entries(1448, 2).unwrap(), 4_193_408);
        assert_eq!(table_entries(2, 17).unwrap(), 17 << 17);
        for (m, n) in [
            (MAX_TABLE + 1, 1),
            (1449, 2),
            (2, 18),
            (13, 4_000_000_000),
            (usize::MAX, 2),
        ] {
            assert_eq!(
                table_entries(m, n).unwrap_err().to_string(),
                format!(
                    "{m} prices for each of {n} sellers make {m}^{n} price profiles, more than \
                     the 4194304 profile × seller entries a posted-price market tabulates; \
                     use fewer prices or sellers"
                ),
                "{m}^{n}"
            );
        }
    }

    /// The running sums' means: each sum over the steps counted, NaN for
    /// none.
    #[test]
    fn the_sums_means_are_per_step_counted() {
        let none = PostedSums::default();
        assert!(none.mean_price().is_nan() && none.mean_profit().is_nan());
        let sums = PostedSums {
            price: 7.5,
            profit: 1.5,
            steps: 3,
        };
        assert_eq!((sums.mean_price(), sums.mean_profit()), (2.5, 0.5));
    }

    #[test]
    fn settlements_are_the_rounded_model_amounts() {
        let s = calvano();
        let (n, m) = (2, 15);
        for k in 0..m * m {
            let posted = [(k % m) as u32, (k / m) as u32];
            assert_eq!(s.profile_of(&posted), k);
            let prices: Vec<f64> = posted.iter().map(|&d| s.grid()[d as usize]).collect();
            let mut q = [0.0; 2];
            s.market().quantities(&prices, &mut q).unwrap();
            for i in 0..n {
                let e = s.settle[k * n + i];
                // Each amount to the nearest base unit of the exact one.
                let exact_q = q[i] * 1e9;
                assert!((e.quantity as f64 - exact_q).abs() <= 0.5 + 1e-6);
                assert!((e.revenue as f64 - prices[i] * e.quantity as f64).abs() <= 0.5);
                assert!((e.cost as f64 - 1.0 * e.quantity as f64).abs() <= 0.5);
                // The money that moves is the model's profit within 1.5
                // base units (and the float error of q, far below).
                let pi = s.profit(k, i);
                let moved = e.revenue as f64 - e.cost as f64;
                assert!((moved - pi * 1e9).abs() <= 1.5 + 1e-6, "{moved} vs {pi}");
            }
        }
    }

    #[test]
    fn the_profit_table_is_every_sellers_model_profit_at_every_profile() {
        // Seller i's profit at profile k sits at k·n + i: (p_i − c) q_i of
        // the logit demand at the profile's prices, c = 1.
        let s = calvano();
        let (n, m) = (2, 15);
        let table = s.profit_table();
        assert_eq!(table.len(), m * m * n);
        assert_eq!(s.profiles(), m * m);
        for k in 0..m * m {
            let prices = [s.grid()[k % m], s.grid()[k / m]];
            let mut q = [0.0; 2];
            s.market().quantities(&prices, &mut q).unwrap();
            for i in 0..n {
                let model = (prices[i] - 1.0) * q[i];
                assert_eq!(table[k * n + i], s.profit(k, i));
                assert!((table[k * n + i] - model).abs() <= 1e-12, "{k} {i}");
            }
        }
    }

    #[test]
    fn the_price_before_the_first_step_is_the_mean_of_the_starting_prices() {
        let mut p = PostedPriceMarket::new(Arc::new(calvano()));
        let grid = p.setup().grid().to_vec();
        // new: every seller at grid index 0
        assert_eq!(p.view().prices, [0, 0]);
        assert_eq!(p.price(0), grid[0]);
        p.start_at(&[3, 7]);
        assert_eq!(p.view().prices, [3, 7]);
        assert_eq!(p.price(0), (grid[3] + grid[7]) / 2.0);
        assert!(grid[0] > 1.0 && grid[7] > grid[3]);
    }

    #[test]
    fn the_static_best_response_maximises_the_grid_profit() {
        let s = calvano();
        // Against a rival at the top of the grid the best response is
        // below it (undercutting pays), and it is a maximum over the grid.
        for rival in 0..15u32 {
            let br = s.best_response(0, &[0, rival]);
            let k = s.profile_of(&[br, rival]);
            for d in 0..15u32 {
                assert!(s.profit(s.profile_of(&[d, rival]), 0) <= s.profit(k, 0));
            }
        }
        assert!(s.best_response(1, &[14, 0]) < 14);
        assert_eq!(s.seller_of(7), Some(1));
        assert_eq!(s.seller_of(4), None);
    }

    #[test]
    fn bad_setups_are_refused() {
        let market = || PostedMarket::symmetric(2, 2.0, 1.0, 0.0, 0.25).unwrap();
        let span = GridSpec::Span { m: 15, xi: 0.1 };
        assert!(PostedSetup::new(market(), &span, vec![1]).is_err());
        assert!(PostedSetup::new(market(), &span, vec![2, 2]).is_err());
        assert!(PostedSetup::new(market(), &GridSpec::List(vec![-1.0, 1.0]), vec![0, 1]).is_err());
        let many = PostedMarket::symmetric(8, 2.0, 1.0, 0.0, 0.25).unwrap();
        let e = PostedSetup::new(many, &span, (0..8).collect()).unwrap_err();
        assert!(e.to_string().contains("15^8"), "{e}");
    }

    #[test]
    fn only_a_seller_posts_and_only_a_price_on_the_grid() {
        // sellers: agents 3 and 7; a grid of 15 prices
        let mut m = PostedPriceMarket::new(Arc::new(calvano()));
        assert!(m.post(3, 14));
        assert_eq!(m.posted, [14, 0]);
        assert!(!m.post(7, 15), "off the grid");
        assert!(!m.post(5, 2), "not a seller");
        assert!(!m.post(u32::MAX, 0), "not a seller");
        assert_eq!(m.posted, [14, 0]);
        assert!(m.post(7, 6));
        assert_eq!(m.posted, [14, 6]);
        // the last profile is what agents see until the step clears
        assert_eq!(m.view().prices, &[0, 0]);
    }

    #[test]
    fn a_saved_state_of_another_size_or_off_the_grid_is_refused_and_changes_nothing() {
        let mut m = PostedPriceMarket::new(Arc::new(calvano()));
        m.start_at(&[4, 9]);
        let state = |posted: Vec<u32>, last: Vec<u32>, profits, price, sums| {
            super::super::mechanism::encode_state(&Saved {
                posted,
                last,
                profits,
                price,
                started: true,
                counting: false,
                sums,
            })
            .unwrap()
        };
        let saved =
            |posted, last, profits| state(posted, last, profits, 2.5, PostedSums::default());
        let refusal =
            "the saved posted-price market does not have 2 sellers on a grid of 15 prices";
        // (sizes and indices are checked before the price)
        for bad in [
            saved(vec![1], vec![1, 2], vec![0.0, 0.0]),
            saved(vec![1, 2], vec![1, 2, 3], vec![0.0, 0.0]),
            saved(vec![1, 2], vec![1, 2], vec![0.0]),
            saved(vec![1, 15], vec![1, 2], vec![0.0, 0.0]),
            saved(vec![1, 2], vec![15, 2], vec![0.0, 0.0]),
        ] {
            assert_eq!(m.load_state(&bad).unwrap_err(), refusal);
            assert_eq!((&m.posted[..], &m.last[..]), (&[4, 9][..], &[4, 9][..]));
        }
        let last = [3, 14];
        let price = m.mean_price(&last);
        let k = m.setup.profile_of(&last);
        let profits = vec![m.setup.profit(k, 0), 0.0];
        let good = |price, profits, sums| state(vec![14, 0], last.to_vec(), profits, price, sums);
        let sums = PostedSums {
            price: 30.0,
            profit: 4.0,
            steps: 20,
        };
        // What follows from the last profile, and the sums, as a run keeps them.
        for (bad, says) in [
            (
                good(2.5, profits.clone(), sums),
                "price 2.5 is not the mean of its last prices",
            ),
            (
                good(price, vec![0.5, 0.0], sums),
                "seller 0 made 0.5 in the last step, at a profile where it makes",
            ),
            (
                good(
                    price,
                    profits.clone(),
                    PostedSums {
                        price: f64::NAN,
                        ..sums
                    },
                ),
                "sums (price NaN, profit 4, over 20 steps) are not a run's",
            ),
            (
                good(
                    price,
                    profits.clone(),
                    PostedSums {
                        profit: f64::INFINITY,
                        ..sums
                    },
                ),
                "sums (price 30, profit inf, over 20 steps) are not a run's",
            ),
            (
                good(
                    price,
                    profits.clone(),
                    PostedSums {
                        steps: u64::MAX,
                        ..sums
                    },
                ),
                "are not a run's",
            ),
        ] {
            let e = m.load_state(&bad).unwrap_err();
            assert!(e.contains(says), "{e}");
            assert_eq!((&m.posted[..], &m.last[..]), (&[4, 9][..], &[4, 9][..]));
        }
        // at most as many steps as a run counts
        let most = PostedSums {
            steps: crate::engine::MOST_COUNT,
            ..sums
        };
        m.load_state(&good(price, profits.clone(), most)).unwrap();
        assert_eq!(m.counted(), &most);
        let past = PostedSums {
            steps: crate::engine::MOST_COUNT + 1,
            ..sums
        };
        assert!(m.load_state(&good(price, profits.clone(), past)).is_err());
        m.load_state(&good(price, profits.clone(), sums)).unwrap();
        assert_eq!((&m.posted[..], &m.last[..]), (&[14, 0][..], &last[..]));
        assert_eq!((m.price, m.started, m.counting), (price, true, false));
        assert_eq!(m.view().profits, &profits[..]);
        assert_eq!(m.counted(), &sums);
    }
}
