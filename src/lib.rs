//! Sena watches canary rollouts through Prometheus and advises roll back,
//! hold or continue. The data path, one folder per stage:
//! config → datasource → eval → decide → notify, with state beside.

pub mod clock;
pub mod config;
pub mod decide;
pub mod eval;
pub mod notify;
pub mod roster;
pub mod datasource;
pub mod state;
pub mod metrics;
pub mod report;
pub mod daemon;
pub mod server;
pub mod cli;
