//! Allocation mechanisms: what each request receives when demand exceeds
//! capacity.
//!
//! Every mechanism takes requested quantities in base units and a capacity,
//! and returns one allocation per request, in input order. All are pure,
//! deterministic and exact (integer arithmetic, `u128` wherever a sum or a
//! product could overflow `u64`), and none panics on any input. Each one
//! guarantees:
//!
//! - every allocation is at most its request;
//! - the allocations add up to at most the capacity;
//! - if the requests add up to at most the capacity, every request is served
//!   in full (for the auction: every bid at or above the reserve price);
//! - no capacity is left idle while a request is unmet (Pareto-completeness),
//!   except what the auction leaves unsold to bids below the reserve price.
//!
//! | mechanism | who is served first | rounding of indivisible base units |
//! |---|---|---|
//! | [`proportional`] | everyone, in proportion to the request | largest remainder, ties in input order |
//! | [`priority`] | highest willingness to pay | — (each is served in full or gets what is left) |
//! | [`max_min`] | the smallest requests (water-filling) | one each, in input order, to the unmet |
//! | [`fcfs`] | the given order | — |
//! | [`uniform_price_auction`] | highest bids, at one clearing price | bids at the clearing price share proportionally |
//!
//! [`jain_index`] and [`gini_of_shares`] measure how evenly an allocation
//! serves its needs.

use std::cmp::Reverse;
use std::fmt;

/// One request for a resource in a step.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub struct Request {
    /// Quantity wanted, in base units of the resource.
    pub quantity: u64,
    /// The most the requester will pay per whole unit of the resource, in
    /// money base units (its willingness to pay).
    pub max_price: u64,
}

impl Request {
    /// A request for `quantity` base units at up to `max_price` money base
    /// units per whole unit.
    pub const fn new(quantity: u64, max_price: u64) -> Self {
        Request {
            quantity,
            max_price,
        }
    }
}

/// Sum of `xs` without overflow.
fn sum(xs: impl IntoIterator<Item = u64>) -> u128 {
    xs.into_iter().map(u128::from).sum()
}

/// Returns allocations proportional to `requests` that add up to exactly
/// `capacity` when the requests exceed it (every request served in full
/// otherwise).
///
/// Request `i` first gets `floor(rᵢ · capacity / Σr)`; the leftover base
/// units (fewer than the number of requests) then go one each to the
/// requests with the largest remainders `rᵢ · capacity mod Σr` (Hamilton's
/// largest-remainder method), ties in input order. Largest remainder keeps
/// every allocation within one base unit of its exact share *and* gives each
/// extra unit to whoever is furthest below its share, instead of always
/// favouring the first requests. A leftover unit never lifts an allocation
/// above its request: when `Σr > capacity` every exact share is strictly
/// below its request, so its floor is at most the request minus one.
///
/// ```
/// use agora::resource::alloc::proportional;
/// assert_eq!(proportional(&[10, 30, 60], 50), vec![5, 15, 30]);
/// // Exact shares 1⅓, 1⅓, 1⅓ … plus one leftover unit, to the first of the tie.
/// assert_eq!(proportional(&[1, 1, 1], 2), vec![1, 1, 0]);
/// ```
pub fn proportional(requests: &[u64], capacity: u64) -> Vec<u64> {
    proportional_by(requests, |&r| r, capacity)
}

/// [`proportional`] of the quantities `quantity` reads from `requests`
/// (without gathering them first).
fn proportional_by<T>(requests: &[T], quantity: impl Fn(&T) -> u64, capacity: u64) -> Vec<u64> {
    let total = sum(requests.iter().map(&quantity));
    if total <= u128::from(capacity) {
        return requests.iter().map(quantity).collect();
    }
    // The remainders are below the total: in a u64 whenever it is (any
    // economy short of 2⁶⁴ base units requested), which halves the pairs
    // the selection moves. The same pairs in the same order either way.
    if u64::try_from(total).is_ok() {
        largest_remainders(requests, quantity, capacity, total, |x| x as u64)
    } else {
        largest_remainders(requests, quantity, capacity, total, |x| x)
    }
}

/// Hamilton's largest-remainder shares of `capacity` (below `total`, the
/// sum of the requests' quantities), the remainders held as `K` by `key`
/// (order-preserving on the remainders, which are below `total`).
fn largest_remainders<T, K: Ord + Copy>(
    requests: &[T],
    quantity: impl Fn(&T) -> u64,
    capacity: u64,
    total: u128,
    key: impl Fn(u128) -> K,
) -> Vec<u64> {
    let cap = u128::from(capacity);
    let mut out = Vec::with_capacity(requests.len());
    let mut remainders = Vec::with_capacity(requests.len());
    let mut given: u128 = 0;
    for (i, r) in requests.iter().enumerate() {
        let exact = u128::from(quantity(r)) * cap;
        // total > capacity ≥ 0, so the division is defined, and the quotient
        // is below r ≤ u64::MAX.
        let share = exact / total;
        given += share;
        out.push(u64::try_from(share).unwrap_or(u64::MAX));
        remainders.push((Reverse(key(exact % total)), i));
    }
    let leftover = usize::try_from(cap - given.min(cap)).unwrap_or(usize::MAX);
    if leftover > 0 {
        // (remainder, index) pairs are distinct, so this order is total and
        // the selection deterministic: the `leftover` smallest pairs (the
        // largest remainders, ties to the lower index) come first, in O(n)
        // instead of a sort's O(n log n).
        if leftover < remainders.len() {
            remainders.select_nth_unstable(leftover - 1);
        }
        for &(_, i) in remainders.iter().take(leftover) {
            out[i] = out[i].saturating_add(1);
        }
    }
    out
}

/// Returns allocations by willingness to pay: the highest `max_price` is
/// served first, ties in input order, and each request gets the smaller of
/// its quantity and what is left.
///
/// ```
/// use agora::resource::alloc::{priority, Request};
/// let requests = [Request::new(5, 1), Request::new(5, 3), Request::new(5, 2)];
/// assert_eq!(priority(&requests, 8), vec![0, 5, 3]);
/// ```
pub fn priority(requests: &[Request], capacity: u64) -> Vec<u64> {
    let mut order: Vec<usize> = (0..requests.len()).collect();
    // Stable: equal prices keep their input order.
    order.sort_by_key(|&i| Reverse(requests[i].max_price));
    serve_in_order(requests, order, capacity)
}

/// Serves `order` (indices into `requests`) one after the other, each the
/// smaller of its quantity and what is left.
fn serve_in_order(
    requests: &[Request],
    order: impl IntoIterator<Item = usize>,
    capacity: u64,
) -> Vec<u64> {
    let mut out = vec![0; requests.len()];
    let mut left = capacity;
    for i in order {
        let give = requests[i].quantity.min(left);
        out[i] = give;
        left -= give;
    }
    out
}

/// Returns the max-min fair allocation, by water-filling: every request gets
/// `min(rᵢ, L)` for the largest integer level `L` with `Σ min(rᵢ, L) ≤
/// capacity`, and the leftover base units (fewer than the number of requests
/// above `L`, or `L + 1` would fit) go one each, in input order, to the
/// requests above `L`.
///
/// No allocation can then be increased without decreasing one that is
/// smaller or equal: an unmet request gets `L` or `L + 1`, and every other
/// allocation is at most `L + 1`. Every request is served in full when the
/// requests add up to at most the capacity.
///
/// ```
/// use agora::resource::alloc::max_min;
/// assert_eq!(max_min(&[2, 8, 10], 12), vec![2, 5, 5]);
/// // Level 4 with 1 unit left over: to the first request above the level.
/// assert_eq!(max_min(&[2, 8, 10], 11), vec![2, 5, 4]);
/// ```
pub fn max_min(requests: &[u64], capacity: u64) -> Vec<u64> {
    let mut sorted = requests.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    // Fill the smallest requests while the water is above them.
    let mut left = capacity;
    let mut level = None;
    for (i, &r) in sorted.iter().enumerate() {
        let above = (n - i) as u64;
        if u128::from(r) * u128::from(above) <= u128::from(left) {
            left -= r;
        } else {
            // r > left / above: this request and every larger one stay unmet.
            level = Some((left / above, left % above));
            break;
        }
    }
    let Some((level, mut leftover)) = level else {
        return requests.to_vec();
    };
    // Every request filled above was at most `level` (the water only rises),
    // so `r > level` picks out exactly the unmet ones.
    let mut out = Vec::with_capacity(n);
    for &r in requests {
        let mut give = r.min(level);
        if r > level && leftover > 0 {
            give += 1;
            leftover -= 1;
        }
        out.push(give);
    }
    out
}

/// Returns allocations first come, first served, in `order`: the request
/// named first gets the smaller of its quantity and the capacity, the next
/// the smaller of its quantity and what is left, and so on.
///
/// `order` should be a permutation of `0..requests.len()` (the engine passes
/// a seeded shuffle). Any other slice is still served without panicking:
/// indices out of range and repeats of an index already served are skipped,
/// and requests that `order` does not name are served after it, in input
/// order, so the allocation stays Pareto-complete.
///
/// ```
/// use agora::resource::alloc::fcfs;
/// assert_eq!(fcfs(&[4, 4, 4], &[2, 0, 1], 6), vec![2, 0, 4]);
/// ```
pub fn fcfs(requests: &[u64], order: &[u32], capacity: u64) -> Vec<u64> {
    let mut named = vec![false; requests.len()];
    let mut sequence = Vec::with_capacity(requests.len());
    for &i in order {
        let i = usize::try_from(i).unwrap_or(usize::MAX);
        if let Some(seen) = named.get_mut(i) {
            if !*seen {
                *seen = true;
                sequence.push(i);
            }
        }
    }
    sequence.extend((0..requests.len()).filter(|&i| !named[i]));
    let mut out = vec![0; requests.len()];
    let mut left = capacity;
    for i in sequence {
        let give = requests[i].min(left);
        out[i] = give;
        left -= give;
    }
    out
}

/// The outcome of a [`uniform_price_auction`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AuctionResult {
    /// The clearing price every served bid pays per whole unit, in money
    /// base units.
    pub price: u64,
    /// Quantity allocated to each bid, in base units, in input order.
    pub allocations: Vec<u64>,
}

/// Clears a uniform-price auction of `capacity` base units: every served
/// bid pays the same price per whole unit.
///
/// Only bids with `max_price ≥ reserve_price` take part. Writing `D(p)` for
/// the demand at price `p`, the total quantity of the bids with `max_price ≥
/// p`:
///
/// - if `D(reserve_price) < capacity` (under-demand), the price is
///   `reserve_price` and every taking part bid is served in full;
/// - otherwise the price is the highest `p` with `D(p) ≥ capacity`, where
///   the demand curve crosses the capacity. That is the `max_price` of the
///   marginal bid, the last one accepted going down the bids. Bids strictly
///   above the price are served in full (they add up to less than the
///   capacity), bids at the price share what is left in proportion to their
///   quantities ([`proportional`], exact, largest remainder, ties in input
///   order), and bids below it get nothing. The whole capacity is sold.
/// - with no capacity nothing is sold and the price is `reserve_price`.
///
/// When demand exactly equals the capacity, everyone taking part is served
/// in full and the price is the lowest `max_price` among the bids with a
/// positive quantity: the crossing rule, not the reserve.
///
/// # Pricing rule
///
/// This is the *lowest accepted bid* (K-th price) convention. The usual
/// alternative is the *highest rejected bid* ((K+1)-th price): the price of
/// the best bid left out. With single-unit bids that alternative makes
/// bidding one's true value a dominant strategy, as in a Vickrey auction;
/// with multi-unit bids, as here, neither rule is truthful (a bidder can
/// gain by shading its demand), so that advantage is gone. The lowest
/// accepted bid is chosen because it is the market-clearing price where
/// the demand curve meets the supply, every served bid pays at most what it
/// offered (and the marginal bid exactly that), it is always defined by a
/// bid that is actually served, and it stays well defined with partial
/// fills: the marginal bid, partly served, is both accepted and partly
/// rejected, which leaves the "highest rejected bid" ambiguous, and when no
/// bid is rejected outright the (K+1)-th price would collapse to the
/// reserve even though the capacity is exhausted.
///
/// ```
/// use agora::resource::alloc::{uniform_price_auction, Request};
/// let bids = [Request::new(4, 10), Request::new(3, 8), Request::new(5, 6), Request::new(2, 5)];
/// let result = uniform_price_auction(&bids, 9, 0);
/// assert_eq!(result.price, 6);
/// assert_eq!(result.allocations, vec![4, 3, 2, 0]);
/// ```
pub fn uniform_price_auction(bids: &[Request], capacity: u64, reserve_price: u64) -> AuctionResult {
    let takes_part = |b: &Request| b.max_price >= reserve_price;
    let demand = sum(bids.iter().filter(|b| takes_part(b)).map(|b| b.quantity));
    if capacity == 0 || demand < u128::from(capacity) {
        let allocations = bids
            .iter()
            .map(|b| {
                if takes_part(b) && capacity > 0 {
                    b.quantity
                } else {
                    0
                }
            })
            .collect();
        return AuctionResult {
            price: reserve_price,
            allocations,
        };
    }
    // Taking part bids, highest price first, ties in input order (stable).
    let mut order: Vec<usize> = (0..bids.len()).filter(|&i| takes_part(&bids[i])).collect();
    order.sort_by_key(|&i| Reverse(bids[i].max_price));
    let mut allocations = vec![0; bids.len()];
    // Walk down the demand curve one price level at a time.
    let mut above: u128 = 0;
    let mut start = 0;
    while start < order.len() {
        let price = bids[order[start]].max_price;
        let end = start
            + order[start..]
                .iter()
                .take_while(|&&i| bids[i].max_price == price)
                .count();
        let level = &order[start..end];
        let at_level = sum(level.iter().map(|&i| bids[i].quantity));
        if above + at_level >= u128::from(capacity) {
            // The crossing: above < capacity, so what is left is positive.
            let rest = u64::try_from(u128::from(capacity) - above).unwrap_or(u64::MAX);
            let quantities: Vec<u64> = level.iter().map(|&i| bids[i].quantity).collect();
            for (&i, q) in level.iter().zip(proportional(&quantities, rest)) {
                allocations[i] = q;
            }
            return AuctionResult { price, allocations };
        }
        for &i in level {
            allocations[i] = bids[i].quantity;
        }
        above += at_level;
        start = end;
    }
    // Unreachable: demand ≥ capacity guarantees a crossing. Serving
    // everyone taking part is the consistent answer if it ever were.
    AuctionResult {
        price: reserve_price,
        allocations,
    }
}

/// The built-in allocation rules, by the names scenarios use (each an
/// [`Allocation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// [`proportional`] rationing, `"proportional"`.
    Proportional,
    /// [`priority`] by willingness to pay, `"priority"`.
    Priority,
    /// [`max_min`] fairness by water-filling, `"max_min"`.
    MaxMin,
    /// First come first served, [`fcfs`], `"fcfs"`.
    Fcfs,
    /// [`uniform_price_auction`], `"auction"`.
    Auction,
}

/// What a [`Rule`] decided.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Outcome {
    /// Quantity allocated to each request, in base units, in input order.
    pub allocations: Vec<u64>,
    /// The uniform price per whole unit, in money base units, for the
    /// auction; `None` for the mechanisms that do not price.
    pub price: Option<u64>,
}

impl Rule {
    /// Every mechanism, in declaration order.
    pub const ALL: [Rule; 5] = [
        Rule::Proportional,
        Rule::Priority,
        Rule::MaxMin,
        Rule::Fcfs,
        Rule::Auction,
    ];

    /// The scenario name of the mechanism.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Proportional => "proportional",
            Rule::Priority => "priority",
            Rule::MaxMin => "max_min",
            Rule::Fcfs => "fcfs",
            Rule::Auction => "auction",
        }
    }

    /// The mechanism with scenario name `name` (exact, lower case), or
    /// `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        Rule::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Returns what this mechanism allocates to `requests` from `capacity`.
    ///
    /// `order` is used by [`Rule::Fcfs`] only and `reserve_price` by
    /// [`Rule::Auction`] only; [`Rule::Proportional`],
    /// [`Rule::MaxMin`] and [`Rule::Fcfs`] look at the quantities
    /// alone.
    pub fn allocate(
        &self,
        requests: &[Request],
        capacity: u64,
        order: &[u32],
        reserve_price: u64,
    ) -> Outcome {
        let quantities = || requests.iter().map(|r| r.quantity).collect::<Vec<u64>>();
        let (allocations, price) = match self {
            Rule::Proportional => (proportional_by(requests, |r| r.quantity, capacity), None),
            Rule::Priority => (priority(requests, capacity), None),
            Rule::MaxMin => (max_min(&quantities(), capacity), None),
            Rule::Fcfs => (fcfs(&quantities(), order, capacity), None),
            Rule::Auction => {
                let r = uniform_price_auction(requests, capacity, reserve_price);
                (r.allocations, Some(r.price))
            }
        };
        Outcome { allocations, price }
    }
}

/// An allocation rule: what each request receives from a capacity. The
/// door for user rules (registered by name with
/// [`Registry::register_allocation`](crate::scenario::Registry::register_allocation)),
/// with the built-in rules ([`Rule`]) implemented on it.
///
/// A rule must be pure (the same requests give the same allocations) and
/// must not allocate more than the capacity in total nor more than a
/// request asked for: the resource market checks both and stops the run
/// with an error naming the rule otherwise.
pub trait Allocation: Send + Sync + fmt::Debug {
    /// The rule's name, as scenario files write it (`allocation = "…"`).
    fn name(&self) -> &str;

    /// What each of `requests` receives from `capacity` base units, in
    /// input order. `order` is the order the requests arrived in (the
    /// step's seeded random order: indices into `requests`);
    /// `reserve_price` is the lowest price the provider accepts, money base
    /// units per whole unit (an auction's).
    fn allocate(
        &self,
        requests: &[Request],
        capacity: u64,
        order: &[u32],
        reserve_price: u64,
    ) -> Outcome;

    /// Whether the rule sets the price ([`Outcome::price`], an auction):
    /// a request then locks its willingness to pay and is charged the
    /// rule's price; otherwise requests pay the posted price.
    fn sets_price(&self) -> bool {
        false
    }
}

impl Allocation for Rule {
    fn name(&self) -> &str {
        Rule::name(self)
    }

    fn allocate(
        &self,
        requests: &[Request],
        capacity: u64,
        order: &[u32],
        reserve_price: u64,
    ) -> Outcome {
        Rule::allocate(self, requests, capacity, order, reserve_price)
    }

    fn sets_price(&self) -> bool {
        *self == Rule::Auction
    }
}

/// A resource's allocation rule: a built-in one, or a user rule.
#[derive(Debug, Clone)]
pub enum AllocationRule {
    /// A built-in rule.
    Builtin(Rule),
    /// A user rule, registered by name.
    Custom(std::sync::Arc<dyn Allocation>),
}

impl AllocationRule {
    /// The rule as the trait.
    pub fn rule(&self) -> &dyn Allocation {
        match self {
            AllocationRule::Builtin(r) => r,
            AllocationRule::Custom(r) => r.as_ref(),
        }
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        self.rule().name()
    }

    /// Whether the rule sets the price (see [`Allocation::sets_price`]).
    pub fn sets_price(&self) -> bool {
        self.rule().sets_price()
    }
}

/// Two user rules are equal when they are the same object.
impl PartialEq for AllocationRule {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (AllocationRule::Builtin(a), AllocationRule::Builtin(b)) => a == b,
            (AllocationRule::Custom(a), AllocationRule::Custom(b)) => {
                std::ptr::addr_eq(std::sync::Arc::as_ptr(a), std::sync::Arc::as_ptr(b))
            }
            _ => false,
        }
    }
}

impl From<Rule> for AllocationRule {
    fn from(rule: Rule) -> Self {
        AllocationRule::Builtin(rule)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The shares `xᵢ = allocatedᵢ / needᵢ` over the pairs with a positive need
/// (pairs beyond the shorter slice are ignored).
fn shares(allocated: &[u64], needs: &[u64]) -> Vec<f64> {
    share_values(allocated, needs).collect()
}

/// The shares of [`shares`], one by one.
fn share_values<'a>(allocated: &'a [u64], needs: &'a [u64]) -> impl Iterator<Item = f64> + 'a {
    allocated
        .iter()
        .zip(needs)
        .filter(|&(_, &need)| need > 0)
        .map(|(&a, &need)| f64::from_bits(share_bits(a, need)))
}

/// The bits of the share `allocated / need` (need > 0), as
/// [`fairness_of_share_bits`] reads them.
pub(crate) fn share_bits(allocated: u64, need: u64) -> u64 {
    (allocated as f64 / need as f64).to_bits()
}

/// The largest value of needs `capacity` base units can meet: units go to
/// the needs of highest value per unit first, `Σ value · met / SCALE` (money
/// units) over `needs` (value per whole unit, units in base units). The
/// denominator of a resource's allocative efficiency (the value of the needs
/// actually met over this). `needs` is reordered (by value, highest first).
///
/// ```
/// use agora::resource::alloc::max_value_met;
/// // 3 units: the 2 worth 5 each, then 1 of the 4 worth 1 each
/// let mut needs = vec![(1.0, 4_000_000_000), (5.0, 2_000_000_000)];
/// assert_eq!(max_value_met(&mut needs, 3_000_000_000), 11.0);
/// // capacity to spare: every need is met
/// assert_eq!(max_value_met(&mut needs, 10_000_000_000), 14.0);
/// ```
pub fn max_value_met(needs: &mut [(f64, u64)], capacity: u64) -> f64 {
    let scale = crate::ledger::SCALE as f64;
    // One value (the common case): no need to sort.
    let same = needs.windows(2).all(|w| w[0].0 == w[1].0);
    if !same {
        needs.sort_by(|a, b| b.0.total_cmp(&a.0));
    }
    let mut left = capacity;
    let mut value = 0.0;
    for &(v, units) in needs.iter() {
        if left == 0 {
            break;
        }
        let met = units.min(left);
        left -= met;
        value += v.max(0.0) * (met as f64 / scale);
    }
    value
}

/// Jain's fairness index of the shares `xᵢ = allocatedᵢ / needᵢ`, over the
/// `n` pairs with a positive need: `(Σx)² / (n · Σx²)`, in `[1/n, 1]`.
///
/// It is 1 when every share is equal and `1/n` when one request gets
/// everything. All-zero shares (nothing allocated) count as equal and give
/// 1; so does an input with no positive need, which keeps summaries free of
/// NaN (as in [`crate::metrics`]). Shares are not capped at 1, pairs beyond
/// the shorter slice are ignored, and the result is clamped to `[1/n, 1]`
/// against floating-point rounding.
///
/// ```
/// use agora::resource::alloc::jain_index;
/// assert_eq!(jain_index(&[5, 5], &[10, 10]), 1.0);
/// assert_eq!(jain_index(&[10, 0], &[10, 10]), 0.5);
/// ```
pub fn jain_index(allocated: &[u64], needs: &[u64]) -> f64 {
    jain_of(&shares(allocated, needs))
}

/// [`jain_index`] of shares already computed.
fn jain_of(xs: &[f64]) -> f64 {
    jain_of_values(xs.len(), xs.iter().copied())
}

/// [`jain_of`] the `len` shares `xs` yields (the same sums in the same
/// order, so the same index bit for bit).
fn jain_of_values(len: usize, xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = len as f64;
    let total: f64 = xs.clone().sum();
    let squares: f64 = xs.map(|x| x * x).sum();
    if len == 0 || squares == 0.0 {
        return 1.0;
    }
    (total * total / (n * squares)).clamp(1.0 / n, 1.0)
}

/// Gini coefficient of the shares `xᵢ = allocatedᵢ / needᵢ` over the pairs
/// with a positive need, by [`crate::metrics::gini`]: 0 when every share is
/// equal (or all are zero, or there is no positive need), towards 1 as one
/// request takes everything. Pairs beyond the shorter slice are ignored.
///
/// ```
/// use agora::resource::alloc::gini_of_shares;
/// assert_eq!(gini_of_shares(&[3, 6], &[6, 12]), 0.0);
/// assert_eq!(gini_of_shares(&[10, 0], &[10, 10]), 0.5);
/// ```
pub fn gini_of_shares(allocated: &[u64], needs: &[u64]) -> f64 {
    crate::metrics::gini(&mut shares(allocated, needs))
}

/// `(jain_index, gini_of_shares)` of the same allocation, the shares
/// computed once (the same values, bit for bit, as the two calls).
///
/// ```
/// use agora::resource::alloc::{fairness, gini_of_shares, jain_index};
/// let (allocated, needs) = ([4, 2, 0], [4, 4, 5]);
/// assert_eq!(
///     fairness(&allocated, &needs),
///     (jain_index(&allocated, &needs), gini_of_shares(&allocated, &needs))
/// );
/// ```
pub fn fairness(allocated: &[u64], needs: &[u64]) -> (f64, f64) {
    let mut keys = Vec::with_capacity(allocated.len().min(needs.len()));
    keys.extend(share_values(allocated, needs).map(f64::to_bits));
    fairness_of_share_bits(&mut keys)
}

/// [`fairness`] of the shares whose bits ([`share_bits`], of the pairs with
/// a positive need, in order) are `keys`, which it sorts.
pub(crate) fn fairness_of_share_bits(keys: &mut Vec<u64>) -> (f64, f64) {
    // The shares' bit patterns: a share a / need with need > 0 is +0.0 or
    // more, and such floats order as their bits do, so a radix sort of the
    // bits gives the ascending order the Gini coefficient needs (the same
    // order as any sort, so the same coefficient bit for bit), in about
    // half the instructions of a comparison sort.
    let jain = jain_of_values(keys.len(), keys.iter().map(|&k| f64::from_bits(k)));
    // Kept as a check, not assumed: a sign bit or a NaN sorts otherwise.
    if keys
        .iter()
        .any(|&k| f64::from_bits(k).is_sign_negative() || f64::from_bits(k).is_nan())
    {
        let mut shares: Vec<f64> = keys.iter().map(|&k| f64::from_bits(k)).collect();
        return (jain, crate::metrics::gini(&mut shares));
    }
    crate::metrics::radix_sort(keys, &mut Vec::new());
    let gini =
        crate::metrics::gini_of_ascending(keys.len(), keys.iter().map(|&k| f64::from_bits(k)));
    (jain, gini)
}

/// Utilisation `Σ allocations / capacity` of an allocation (0 when the
/// capacity is 0).
pub fn utilisation(allocations: &[u64], capacity: u64) -> f64 {
    if capacity == 0 {
        0.0
    } else {
        sum(allocations.iter().copied()) as f64 / capacity as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reqs(pairs: &[(u64, u64)]) -> Vec<Request> {
        pairs.iter().map(|&(q, p)| Request::new(q, p)).collect()
    }

    /// A user rule that gives every request nothing and keeps the trait's
    /// default `sets_price`.
    #[derive(Debug)]
    struct Nothing;

    impl Allocation for Nothing {
        fn name(&self) -> &str {
            "nothing"
        }
        fn allocate(&self, requests: &[Request], _: u64, _: &[u32], _: u64) -> Outcome {
            Outcome {
                allocations: vec![0; requests.len()],
                price: None,
            }
        }
    }

    /// A built-in rule through the `Allocation` trait and `AllocationRule`
    /// is the rule itself: its name, its outcome, whether it prices; a
    /// user rule keeps its own name and does not price unless it says so;
    /// two rules are equal when they are the same built-in or the same
    /// user object.
    #[test]
    fn rules_through_the_trait_are_the_rules_themselves() {
        let requests = reqs(&[(4, 10), (3, 8), (5, 6)]);
        let order = [2, 0, 1];
        for rule in [
            Rule::Proportional,
            Rule::Priority,
            Rule::MaxMin,
            Rule::Fcfs,
            Rule::Auction,
        ] {
            let via: &dyn Allocation = &rule;
            assert_eq!(via.name(), rule.name());
            assert_eq!(via.sets_price(), rule == Rule::Auction, "{rule}");
            assert_eq!(
                via.allocate(&requests, 9, &order, 7),
                rule.allocate(&requests, 9, &order, 7),
                "{rule}"
            );
            let wrapped = AllocationRule::from(rule);
            assert_eq!(wrapped.name(), rule.name());
            assert_eq!(wrapped.sets_price(), rule == Rule::Auction);
            assert_eq!(wrapped, AllocationRule::Builtin(rule));
        }
        // the outcomes differ between rules here, so the above compares
        // something: proportional splits 9 of 12 by size, FCFS serves the
        // arrival order 2, 0 (5 + 4)
        assert_eq!(
            Rule::Fcfs.allocate(&requests, 9, &order, 0).allocations,
            [4, 0, 5]
        );
        assert_ne!(
            AllocationRule::from(Rule::Fcfs),
            AllocationRule::from(Rule::Priority)
        );
        let user: std::sync::Arc<dyn Allocation> = std::sync::Arc::new(Nothing);
        let custom = AllocationRule::Custom(user.clone());
        assert_eq!(custom.name(), "nothing");
        assert!(!custom.sets_price());
        assert_eq!(custom, AllocationRule::Custom(user));
        assert_ne!(custom, AllocationRule::Custom(std::sync::Arc::new(Nothing)));
        assert_ne!(custom, AllocationRule::from(Rule::Fcfs));
    }

    // ---- proportional ----

    #[test]
    fn proportional_shares_follow_requests() {
        assert_eq!(proportional(&[10, 30, 60], 50), vec![5, 15, 30]);
        assert_eq!(proportional(&[10, 30, 60], 100), vec![10, 30, 60]);
        assert_eq!(proportional(&[10, 30, 60], 200), vec![10, 30, 60]);
        assert_eq!(proportional(&[10, 30, 60], 0), vec![0, 0, 0]);
        assert_eq!(proportional(&[], 7), Vec::<u64>::new());
    }

    #[test]
    fn proportional_leftover_goes_to_largest_remainders() {
        // Exact shares 7·10/17 = 4.118, 6·10/17 = 3.529, 4·10/17 = 2.353:
        // floors 4, 3, 2 leave 1 unit, to the largest remainder (the second).
        assert_eq!(proportional(&[7, 6, 4], 10), vec![4, 4, 2]);
        // Equal remainders: input order.
        assert_eq!(proportional(&[1, 1, 1], 2), vec![1, 1, 0]);
        assert_eq!(proportional(&[1, 1, 1], 1), vec![1, 0, 0]);
    }

    #[test]
    fn proportional_is_exact_at_u64_scale() {
        let r = [u64::MAX, u64::MAX, u64::MAX];
        let a = proportional(&r, u64::MAX);
        assert_eq!(a, vec![u64::MAX / 3; 3]);
        let a = proportional(&[u64::MAX, 1], u64::MAX);
        assert_eq!(sum(a.iter().copied()), u128::from(u64::MAX));
    }

    #[test]
    fn proportional_compares_remainders_past_u64() {
        // Σr = 2⁶⁴ + 5 > 2: every exact share is below one unit (2·2⁶³ =
        // 2⁶⁴ < Σr), so the two units go to the two largest remainders,
        // 2⁶⁴ and 2⁶⁴ against 10 — not to the third request, as remainders
        // cut to 64 bits (0, 0, 10) would have it.
        assert_eq!(proportional(&[1 << 63, 1 << 63, 5], 2), vec![1, 1, 0]);
        // Σr below 2⁶⁴, the narrow remainders: 2⁶³ − 2, 2⁶³ and 10.
        assert_eq!(proportional(&[(1 << 62) - 1, 1 << 62, 5], 2), vec![1, 1, 0]);
    }

    // ---- priority ----

    #[test]
    fn priority_serves_highest_willingness_to_pay_first() {
        let r = reqs(&[(5, 1), (5, 3), (5, 2)]);
        assert_eq!(priority(&r, 8), vec![0, 5, 3]);
        assert_eq!(priority(&r, 15), vec![5, 5, 5]);
        assert_eq!(priority(&r, 3), vec![0, 3, 0]);
    }

    #[test]
    fn priority_breaks_ties_in_input_order() {
        let r = reqs(&[(4, 2), (4, 7), (4, 2), (4, 7)]);
        assert_eq!(priority(&r, 10), vec![2, 4, 0, 4]);
    }

    // ---- max-min ----

    #[test]
    fn max_min_is_water_filling() {
        assert_eq!(max_min(&[2, 8, 10], 12), vec![2, 5, 5]);
        assert_eq!(max_min(&[1, 1, 1], 10), vec![1, 1, 1]);
        assert_eq!(max_min(&[10, 2, 8], 12), vec![5, 2, 5]);
        assert_eq!(max_min(&[5, 5, 5], 0), vec![0, 0, 0]);
        assert_eq!(max_min(&[], 3), Vec::<u64>::new());
    }

    #[test]
    fn max_min_leftover_units_go_in_input_order_to_the_unmet() {
        // Level 4 (2 + 4 + 4 = 10), 1 unit left: to the first unmet request.
        assert_eq!(max_min(&[2, 8, 10], 11), vec![2, 5, 4]);
        // [3, 9, 9, 9], capacity 14: 3 in full, 11 left for three → level 3,
        // 2 left over, to the first two unmet (indices 1 and 2).
        assert_eq!(max_min(&[3, 9, 9, 9], 14), vec![3, 4, 4, 3]);
        // Leftover to unmet requests only, in input order, skipping the met.
        assert_eq!(max_min(&[7, 1, 7], 6), vec![3, 1, 2]);
    }

    // ---- fcfs ----

    #[test]
    fn fcfs_follows_the_order() {
        assert_eq!(fcfs(&[4, 4, 4], &[2, 0, 1], 6), vec![2, 0, 4]);
        assert_eq!(fcfs(&[4, 4, 4], &[0, 1, 2], 6), vec![4, 2, 0]);
        assert_eq!(fcfs(&[4, 4, 4], &[1, 2, 0], 100), vec![4, 4, 4]);
    }

    #[test]
    fn fcfs_tolerates_an_order_that_is_not_a_permutation() {
        // 9 is out of range, the second 2 a repeat, 0 missing: served last.
        assert_eq!(fcfs(&[4, 4, 4], &[2, 9, 2, 1], 10), vec![2, 4, 4]);
        assert_eq!(fcfs(&[4, 4], &[], 5), vec![4, 1]);
    }

    // ---- auction ----

    #[test]
    fn auction_clears_where_demand_crosses_capacity() {
        let bids = reqs(&[(4, 10), (3, 8), (5, 6), (2, 5)]);
        // D(10) = 4, D(8) = 7, D(6) = 12 ≥ 9: price 6; the bid at 6 gets 2.
        let r = uniform_price_auction(&bids, 9, 0);
        assert_eq!(r.price, 6);
        assert_eq!(r.allocations, vec![4, 3, 2, 0]);
        // Capacity 7 is met exactly at 8: the marginal bid is (3 @ 8).
        let r = uniform_price_auction(&bids, 7, 0);
        assert_eq!(r.price, 8);
        assert_eq!(r.allocations, vec![4, 3, 0, 0]);
        // Demand equal to capacity: everyone served at the lowest bid.
        let r = uniform_price_auction(&bids, 14, 0);
        assert_eq!(r.price, 5);
        assert_eq!(r.allocations, vec![4, 3, 5, 2]);
    }

    #[test]
    fn auction_under_demand_clears_at_the_reserve() {
        let bids = reqs(&[(4, 10), (3, 8), (5, 6), (2, 5)]);
        let r = uniform_price_auction(&bids, 20, 3);
        assert_eq!(r.price, 3);
        assert_eq!(r.allocations, vec![4, 3, 5, 2]);
        // Reserve 6 excludes (2 @ 5); D(6) = 12 < 13.
        let r = uniform_price_auction(&bids, 13, 6);
        assert_eq!(r.price, 6);
        assert_eq!(r.allocations, vec![4, 3, 5, 0]);
        // Reserve above every bid: nothing sold.
        let r = uniform_price_auction(&bids, 5, 11);
        assert_eq!(r.price, 11);
        assert_eq!(r.allocations, vec![0, 0, 0, 0]);
    }

    #[test]
    fn auction_bids_at_the_clearing_price_share_proportionally() {
        // D(9) = 2; at 4 two bids of 6 and 3 share the remaining 6: 4 and 2.
        let bids = reqs(&[(6, 4), (2, 9), (3, 4), (1, 1)]);
        let r = uniform_price_auction(&bids, 8, 0);
        assert_eq!(r.price, 4);
        assert_eq!(r.allocations, vec![4, 2, 2, 0]);
    }

    #[test]
    fn auction_without_capacity_sells_nothing_at_the_reserve() {
        let bids = reqs(&[(6, 4), (2, 9)]);
        let r = uniform_price_auction(&bids, 0, 2);
        assert_eq!(r.price, 2);
        assert_eq!(r.allocations, vec![0, 0]);
        let r = uniform_price_auction(&[], 5, 2);
        assert_eq!(r.price, 2);
        assert!(r.allocations.is_empty());
    }

    // ---- mechanism names ----

    #[test]
    fn mechanism_names_round_trip() {
        let names: Vec<&str> = Rule::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(
            names,
            ["proportional", "priority", "max_min", "fcfs", "auction"]
        );
        for m in Rule::ALL {
            assert_eq!(Rule::from_name(m.name()), Some(m));
            assert_eq!(m.to_string(), m.name());
        }
        assert_eq!(Rule::from_name("MaxMin"), None);
        assert_eq!(Rule::from_name(""), None);
    }

    #[test]
    fn mechanism_allocate_dispatches() {
        let r = reqs(&[(4, 10), (3, 8), (5, 6), (2, 5)]);
        let out = Rule::Auction.allocate(&r, 9, &[], 0);
        assert_eq!(out.price, Some(6));
        assert_eq!(out.allocations, vec![4, 3, 2, 0]);
        let out = Rule::MaxMin.allocate(&r, 9, &[], 0);
        // Level 2 (2 + 2 + 2 + 2 = 8), 1 unit left: to the first request.
        assert_eq!((out.allocations, out.price), (vec![3, 2, 2, 2], None));
        let out = Rule::Fcfs.allocate(&r, 9, &[3, 2, 1, 0], 0);
        assert_eq!(out.allocations, vec![0, 2, 5, 2]);
        let out = Rule::Priority.allocate(&r, 9, &[], 0);
        assert_eq!(out.allocations, vec![4, 3, 2, 0]);
        let out = Rule::Proportional.allocate(&r, 7, &[], 0);
        // 4·7/14 = 2, 3·7/14 = 1.5, 5·7/14 = 2.5, 2·7/14 = 1: one unit left,
        // remainders equal for the second and third: input order.
        assert_eq!(out.allocations, vec![2, 2, 2, 1]);
    }

    // ---- fairness ----

    #[test]
    fn jain_index_on_known_vectors() {
        assert_eq!(jain_index(&[5, 5], &[10, 10]), 1.0);
        assert_eq!(jain_index(&[10, 0], &[10, 10]), 0.5);
        assert_eq!(jain_index(&[3, 0, 0, 0], &[3, 4, 5, 6]), 0.25);
        // Shares 1, 0.5: (1.5)² / (2 · 1.25) = 0.9.
        assert!((jain_index(&[4, 2], &[4, 4]) - 0.9).abs() < 1e-15);
        // Zero needs are left out; all-zero shares and no needs give 1.
        assert_eq!(jain_index(&[0, 7, 7], &[0, 7, 14]), 0.9);
        assert_eq!(jain_index(&[0, 0], &[3, 4]), 1.0);
        assert_eq!(jain_index(&[], &[]), 1.0);
        assert_eq!(jain_index(&[1], &[0]), 1.0);
    }

    #[test]
    fn gini_of_shares_on_known_vectors() {
        assert_eq!(gini_of_shares(&[3, 6], &[6, 12]), 0.0);
        assert_eq!(gini_of_shares(&[10, 0], &[10, 10]), 0.5);
        // Shares 0, 0, 0, 1: (2·4 − 5)·1 / (4 · 1) = 0.75.
        assert_eq!(gini_of_shares(&[0, 0, 0, 6], &[1, 2, 3, 6]), 0.75);
        assert_eq!(gini_of_shares(&[], &[]), 0.0);
        assert_eq!(gini_of_shares(&[0, 0], &[3, 0]), 0.0);
    }

    proptest! {
        #[test]
        fn fairness_is_jain_and_gini_bit_for_bit(
            pairs in proptest::collection::vec((0u64..1_000_000, 0u64..1_000_000), 0..1_000)
        ) {
            let allocated: Vec<u64> = pairs.iter().map(|p| p.0).collect();
            let needs: Vec<u64> = pairs.iter().map(|p| p.1).collect();
            let (jain, gini) = fairness(&allocated, &needs);
            prop_assert_eq!(jain.to_bits(), jain_index(&allocated, &needs).to_bits());
            prop_assert_eq!(gini.to_bits(), gini_of_shares(&allocated, &needs).to_bits());
        }
    }

    #[test]
    fn fairness_of_share_bits_orders_a_negative_share_by_its_value() {
        // share_bits never gives a sign bit, but the check is kept: a
        // negative share's bits sort after every positive one's, so the
        // radix sort would put it last. Gini by its definition, the mean
        // absolute difference Σᵢ Σⱼ |xᵢ − xⱼ| / (2n²μ), in any order.
        let gini_by_definition = |xs: &[f64]| {
            let n = xs.len() as f64;
            let mean = xs.iter().sum::<f64>() / n;
            let diffs: f64 = xs
                .iter()
                .flat_map(|a| xs.iter().map(move |b| (a - b).abs()))
                .sum();
            diffs / (2.0 * n * n * mean)
        };
        let bits = |xs: &[f64]| -> Vec<u64> { xs.iter().map(|x| x.to_bits()).collect() };
        // Shares 2, −1, 3: Σ|xᵢ − xⱼ| = 2·(3 + 4 + 1) = 16 over 2·9·4/3 = 24;
        // Jain (Σx)² / (n·Σx²) = 16 / (3·14).
        let (jain, gini) = fairness_of_share_bits(&mut bits(&[2.0, -1.0, 3.0]));
        assert!((gini - 2.0 / 3.0).abs() < 1e-15, "gini {gini}");
        assert!((gini - gini_by_definition(&[2.0, -1.0, 3.0])).abs() < 1e-15);
        assert!((jain - 16.0 / 42.0).abs() < 1e-15, "jain {jain}");
        // −0.0 is the share 0: shares 0 and 1 give Gini 1/2, Jain 1/2.
        let (jain, gini) = fairness_of_share_bits(&mut bits(&[1.0, -0.0]));
        assert_eq!((jain, gini), (0.5, 0.5));
        assert_eq!(gini, gini_by_definition(&[1.0, 0.0]));
    }

    #[test]
    fn max_value_met_meets_the_most_valuable_needs_first() {
        let unit = crate::ledger::SCALE;
        // Values 1, 5, 3 per unit for 4, 2, 1 units, in no order. 4 units:
        // the 2 worth 5, the 1 worth 3, then 1 of the 4 worth 1: 10 + 3 + 1.
        let needs = [(1.0, 4 * unit), (5.0, 2 * unit), (3.0, unit)];
        assert_eq!(max_value_met(&mut needs.clone(), 4 * unit), 14.0);
        // Half a unit: half of one worth 5.
        assert_eq!(max_value_met(&mut needs.clone(), unit / 2), 2.5);
        // Room for all: 4 + 10 + 3; none: 0.
        assert_eq!(max_value_met(&mut needs.clone(), 100 * unit), 17.0);
        assert_eq!(max_value_met(&mut needs.clone(), 0), 0.0);
        // One value for all (no sort): 3 units of 2 each; a negative value
        // counts as nothing, and takes no room from the others (it is last).
        let mut same = [(2.0, 2 * unit), (2.0, 2 * unit)];
        assert_eq!(max_value_met(&mut same, 3 * unit), 6.0);
        let mut negative = [(-4.0, unit), (2.0, unit)];
        assert_eq!(max_value_met(&mut negative, unit), 2.0);
    }

    #[test]
    fn utilisation_is_share_of_capacity_used() {
        assert_eq!(utilisation(&[2, 3], 10), 0.5);
        assert_eq!(utilisation(&[], 0), 0.0);
    }

    // ---- properties ----

    /// Small values (where ties and exact fits are common) or any `u64`.
    fn quantity() -> impl Strategy<Value = u64> {
        prop_oneof![0u64..20, 0u64..2_000, any::<u64>()]
    }

    fn requests() -> impl Strategy<Value = Vec<Request>> {
        prop::collection::vec(
            (quantity(), prop_oneof![0u64..5, any::<u64>()]).prop_map(|(q, p)| Request::new(q, p)),
            0..12,
        )
    }

    /// Requests with a random shuffle of their indices.
    fn with_order() -> impl Strategy<Value = (Vec<Request>, Vec<u32>)> {
        requests().prop_flat_map(|r| {
            let order: Vec<u32> = (0..r.len() as u32).collect();
            (Just(r), Just(order).prop_shuffle())
        })
    }

    /// The invariants every mechanism keeps; `served` says which requests
    /// take part (all but the auction's below-reserve bids).
    fn check_common(
        requests: &[u64],
        served: &[bool],
        alloc: &[u64],
        capacity: u64,
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(alloc.len(), requests.len());
        for (a, r) in alloc.iter().zip(requests) {
            prop_assert!(a <= r, "allocation {} above request {}", a, r);
        }
        let total = sum(alloc.iter().copied());
        prop_assert!(
            total <= u128::from(capacity),
            "Σ {} > capacity {}",
            total,
            capacity
        );
        prop_assert!(utilisation(alloc, capacity) <= 1.0);
        let demand = sum(requests.iter().zip(served).filter(|p| *p.1).map(|p| *p.0));
        if demand <= u128::from(capacity) {
            for ((a, r), s) in alloc.iter().zip(requests).zip(served) {
                if *s {
                    prop_assert_eq!(a, r, "not served in full under capacity");
                }
            }
        }
        let unmet = alloc
            .iter()
            .zip(requests)
            .zip(served)
            .any(|((a, r), s)| *s && a < r);
        if unmet {
            prop_assert_eq!(total, u128::from(capacity), "capacity idle while unmet");
        }
        Ok(())
    }

    /// The water level by bisection: the largest `L` with `Σ min(r, L) ≤ c`.
    fn reference_level(requests: &[u64], capacity: u64) -> u64 {
        let fill = |l: u64| sum(requests.iter().map(|&r| r.min(l)));
        let (mut lo, mut hi) = (0u64, u64::MAX);
        if fill(hi) <= u128::from(capacity) {
            return hi;
        }
        // fill(lo) ≤ c < fill(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fill(mid) <= u128::from(capacity) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config(2000))]

        #[test]
        fn every_mechanism_keeps_the_invariants(
            (reqs, order) in with_order(),
            capacity in quantity(),
            reserve in prop_oneof![0u64..5, any::<u64>()],
        ) {
            let q: Vec<u64> = reqs.iter().map(|r| r.quantity).collect();
            let all = vec![true; q.len()];
            for m in Rule::ALL {
                let out = m.allocate(&reqs, capacity, &order, reserve);
                let served: Vec<bool> = if m == Rule::Auction {
                    reqs.iter().map(|r| r.max_price >= reserve).collect()
                } else {
                    all.clone()
                };
                check_common(&q, &served, &out.allocations, capacity)?;
                let n_pos = q.iter().filter(|&&r| r > 0).count();
                let j = jain_index(&out.allocations, &q);
                if n_pos > 0 {
                    prop_assert!(j >= 1.0 / n_pos as f64 && j <= 1.0, "jain {}", j);
                } else {
                    prop_assert_eq!(j, 1.0);
                }
                let g = gini_of_shares(&out.allocations, &q);
                // Equal shares can round a hair below 0.
                prop_assert!((-1e-12..1.0).contains(&g), "gini {}", g);
            }
        }

        #[test]
        fn proportional_is_within_one_unit_of_the_exact_share(
            reqs in requests(),
            capacity in quantity(),
        ) {
            let q: Vec<u64> = reqs.iter().map(|r| r.quantity).collect();
            let a = proportional(&q, capacity);
            let total = sum(q.iter().copied());
            if total > u128::from(capacity) {
                for (&ai, &ri) in a.iter().zip(&q) {
                    let floor = u128::from(ri) * u128::from(capacity) / total;
                    let ai = u128::from(ai);
                    prop_assert!(ai == floor || ai == floor + 1);
                }
            }
        }

        #[test]
        fn max_min_cannot_raise_anyone_without_lowering_a_smaller_one(
            reqs in requests(),
            capacity in quantity(),
        ) {
            let q: Vec<u64> = reqs.iter().map(|r| r.quantity).collect();
            let a = max_min(&q, capacity);
            for i in 0..q.len() {
                if a[i] < q[i] {
                    for &other in &a {
                        prop_assert!(a[i].saturating_add(1) >= other,
                            "unmet {} gets {} but another gets {}", i, a[i], other);
                    }
                }
            }
            // Against a bisection reference: min(r, L), plus leftover units
            // one each in input order to those above L.
            let level = reference_level(&q, capacity);
            let mut leftover = u128::from(capacity) - sum(q.iter().map(|&r| r.min(level)));
            for (&ai, &ri) in a.iter().zip(&q) {
                let mut want = ri.min(level);
                if ri > level && leftover > 0 {
                    want += 1;
                    leftover -= 1;
                }
                prop_assert_eq!(ai, want);
            }
        }

        #[test]
        fn priority_serves_a_lower_price_only_after_every_higher_one(
            reqs in requests(),
            capacity in quantity(),
        ) {
            let a = priority(&reqs, capacity);
            for i in 0..reqs.len() {
                for j in 0..reqs.len() {
                    let before = reqs[i].max_price > reqs[j].max_price
                        || (reqs[i].max_price == reqs[j].max_price && i < j);
                    if before && a[j] > 0 {
                        prop_assert_eq!(a[i], reqs[i].quantity);
                    }
                }
            }
        }

        #[test]
        fn fcfs_serves_a_later_request_only_after_every_earlier_one(
            (reqs, order) in with_order(),
            capacity in quantity(),
        ) {
            let q: Vec<u64> = reqs.iter().map(|r| r.quantity).collect();
            let a = fcfs(&q, &order, capacity);
            for (k, &i) in order.iter().enumerate() {
                for &j in &order[k + 1..] {
                    if a[j as usize] > 0 {
                        prop_assert_eq!(a[i as usize], q[i as usize]);
                    }
                }
            }
        }

        #[test]
        fn fcfs_never_panics_on_any_order(
            reqs in requests(),
            order in prop::collection::vec(0u32..16, 0..20),
            capacity in quantity(),
        ) {
            let q: Vec<u64> = reqs.iter().map(|r| r.quantity).collect();
            let a = fcfs(&q, &order, capacity);
            check_common(&q, &vec![true; q.len()], &a, capacity)?;
        }

        #[test]
        fn auction_price_is_where_demand_crosses_capacity(
            reqs in requests(),
            capacity in quantity(),
            reserve in prop_oneof![0u64..5, any::<u64>()],
        ) {
            let r = uniform_price_auction(&reqs, capacity, reserve);
            let demand = |p: u64| sum(reqs.iter().filter(|b| b.max_price >= p).map(|b| b.quantity));
            let cap = u128::from(capacity);
            prop_assert!(r.price >= reserve);
            if capacity == 0 || demand(reserve) < cap {
                prop_assert_eq!(r.price, reserve);
            } else {
                prop_assert!(demand(r.price) >= cap);
                if r.price < u64::MAX {
                    prop_assert!(demand(r.price + 1) < cap);
                }
                prop_assert_eq!(sum(r.allocations.iter().copied()), cap);
            }
            for (b, &a) in reqs.iter().zip(&r.allocations) {
                if b.max_price < reserve || (b.max_price < r.price && capacity > 0 && demand(reserve) >= cap) {
                    prop_assert_eq!(a, 0);
                }
                if b.max_price > r.price && capacity > 0 {
                    prop_assert_eq!(a, b.quantity);
                }
            }
        }
    }
}
