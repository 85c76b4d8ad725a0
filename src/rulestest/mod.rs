//! `sena test`: unit tests for rules files, offline, in the spirit of
//! `promtool test rules`. A test file names rules files and gives input
//! series in promtool's expanding notation and what Sena must answer at
//! given instants; the series are loaded into a throw-away Prometheus (the
//! real PromQL engine) and judged by the same code as `sena eval`.
//!
//! reader (YAML → model) → scratch (series → Prometheus) → runner
//! (evaluate, decide, compare) → report (text).

pub mod model;
pub mod notation;
pub mod reader;
pub mod report;
pub mod runner;
pub mod scratch;
pub mod selector;
