//! `sena run`: the daemon.

use std::path::Path;
use std::sync::Arc;

use crate::clock::SystemClock;

pub fn run(config_path: &Path) -> i32 {
    let Some(config) = super::load_or_report(config_path, &mut std::io::stderr()) else {
        tracing::error!(config = %config_path.display(), "configuration rejected; not starting");
        return 1;
    };
    let runtime = super::runtime();
    match runtime.block_on(crate::daemon::run(
        config_path.to_path_buf(),
        config,
        Arc::new(SystemClock),
    )) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "sena stopped");
            1
        }
    }
}
