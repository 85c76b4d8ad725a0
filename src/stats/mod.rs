//! Anytime-valid judgement of a ratio from its counts: "3 errors in 1,412
//! requests" against a limit, re-judged every evaluation for as long as a
//! stage runs, with the chance of a false alarm bounded however often Sena
//! looks. Pure arithmetic, no I/O and no clock: `eval` feeds it the counts
//! Prometheus returned, and the seeded simulation (`examples/evidence_sim.rs`)
//! feeds it simulated canaries through the very same functions.
//!
//! - `mixture`: the evidence (an e-value) that a rate is above, or below, a
//!   limit: a likelihood ratio averaged over a fixed grid of alternatives;
//! - `detector`: the same evidence over every recent start point (a CUSUM
//!   per alternative), so a regression that begins days into a stage is
//!   not diluted by the healthy days before it;
//! - `compare`: the canary's rate against its baseline's, from the two
//!   pairs of counts (the share of all errors that fall on the canary);
//! - `judge`: the three combined into one finding per check, with its
//!   interval and how many more requests would settle it.
//!
//! The method and its assumptions, in plain words, are in
//! `docs/evidence.md`.

pub mod compare;
pub mod detector;
pub mod judge;
pub mod mixture;

pub use judge::{judge, Counts, Finding, Judgement, Spec, Track, BUCKETS_PER_DAY, BUCKET_SECONDS};
