//! `sena test`: unit tests for rules files, offline.
pub mod notation;
pub mod model;
pub mod reader;
pub mod selector;
