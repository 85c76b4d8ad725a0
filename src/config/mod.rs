//! YAML → typed config. `load` reads `sena.yaml`, every rules file it names
//! and the roster, and returns either a `Config` that cannot be invalid or
//! every problem as `FILE:LINE:COLUMN: message`.

pub mod candidate;
mod channels;
pub(crate) mod counts;
pub mod diagnostic;
pub mod limits;
pub mod load;
pub mod model;
pub(crate) mod raw;
pub(crate) mod reader;
pub(crate) mod rollouts;
pub mod roster;
pub(crate) mod rules;
pub mod text_file;
mod tls;
mod tokens;
pub mod value;

pub use candidate::CandidateRules;
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use load::{load, load_str, Loaded};
pub use model::*;
pub use rules::quantile_hint;
