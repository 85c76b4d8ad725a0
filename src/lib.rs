//! Sena watches canary rollouts through Prometheus and advises roll back,
//! hold or continue. The data path, one folder per stage:
//! config → datasource → eval → decide → notify, with state beside.

pub mod backtest;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod datasource;
pub mod decide;
pub mod deliver;
pub mod domain;
pub mod eval;
pub mod health;
pub mod metrics;
pub mod notify;
pub mod report;
pub mod roster;
pub mod rulestest;
pub mod saturating;
pub mod server;
pub mod state;
pub mod stats;
