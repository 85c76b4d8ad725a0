//! The domain core: the values every stage of the pipeline passes on, and
//! the one way each is printed. It depends on nothing else in the crate,
//! and every other module may depend on it; `tests/architecture.rs` keeps
//! it so (and keeps the stages pointing one way).
//!
//! - `approval`: GO / NO-GO decisions and the record of each with its evidence;
//! - `access`: who asks (a person, a machine, a local caller) and what it may do;
//! - `threshold`: a check's limit, typed from the YAML to the message;
//! - `check`: what one evaluation of a check found;
//! - `evidence`: the counts behind a count-based check, and how they are said;
//! - `verdict`: continue / hold / rollback, the decision, the stage;
//! - `incident`: an incident and what was last said about a rollout;
//! - `advisory`: what people are told, to whom, on which channel;
//! - `gate`: may the traffic mover go on (Flagger, Argo Rollouts, CI);
//! - `format`, `float`: values as people and Prometheus write them.

pub mod access;
pub mod advisory;
pub mod approval;
pub mod check;
pub mod evidence;
pub mod float;
pub mod format;
pub mod gate;
pub mod incident;
pub mod printable;
pub mod progress;
pub mod prometheus_url;
pub mod request;
pub mod threshold;
pub mod verdict;

pub use access::{Capabilities, Capability, Identity, Principal, TokenDigest, TokenTable};
pub use advisory::{
    Advisory, AdvisoryKind, Channel, DedupKey, Delivery, IncidentView, NextLevel, Person,
};
pub use approval::{
    Advice, CheckEvidence, Choice, DecisionAnswer, DecisionRecord, DecisionRequest, Hold, Outcome,
    Refused, Via,
};
pub use check::{BreachMemory, CheckResult, CheckStatus, SeriesValue, SERIES_KEPT};
pub use evidence::{Evidence, Share};
pub use gate::{judge as judge_gate, Evaluated, GateInput, GatePass, GateView};
pub use incident::{Incident, RolloutMemory};
pub use progress::{RecipientProgress, Refusal};
pub use request::ApprovalRequest;
pub use threshold::{Bound, OnFail, Threshold, Unit};
pub use verdict::{Decision, Expansion, StagePosition, Verdict};
