//! Scarce resources: who gets what when demand exceeds capacity.
//!
//! A resource (compute, bandwidth, an API quota…) has a capacity per step in
//! integer base units ([`SCALE`](crate::ledger::SCALE) per whole unit), and
//! agents request quantities of it. When the requests add up to more than the
//! capacity, an allocation mechanism of [`alloc`] decides what each request
//! receives: proportional rationing, priority by willingness to pay, max-min
//! fairness, first come first served, or a uniform-price auction. The
//! mechanisms are pure, exact integer functions, so the same requests always
//! give the same allocations to the base unit; [`alloc`] also measures how
//! fair an allocation is (Jain's index, Gini coefficient of shares).
//!
//! [`market`] holds a resource's state during a run (capacity, requests,
//! production in transit) and settles it, as a
//! [`Mechanism`](crate::market::mechanism::Mechanism).
pub mod alloc;
pub mod market;
