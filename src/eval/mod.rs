//! Runs a rollout's checks concurrently against the datasource and turns
//! each answer into a `CheckResult` (value, status, breaching series).
//! `judge` is the pure part; `run` does the querying.

pub mod counts;
pub mod judge;
pub mod run;

pub use crate::domain::{BreachMemory, CheckResult, CheckStatus, SeriesValue, SERIES_KEPT};
pub use run::{evaluate_rollout, evaluate_rollout_stateless};
