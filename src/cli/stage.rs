//! `sena stage`: moves a rollout to a stage in the state store (the bake
//! clock restarts).

use std::io::Write;
use std::path::Path;

use crate::state::Store;

pub fn run(
    config_path: &Path,
    rollout: &str,
    index: usize,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let Some(config) = super::load_or_report(config_path, err) else {
        return 1;
    };
    let Some(r) = config.rollout(rollout) else {
        let names: Vec<&str> = config.rollouts.iter().map(|r| r.name.as_str()).collect();
        let _ = writeln!(
            err,
            "no rollout `{rollout}` in {}; known: {}",
            config_path.display(),
            names.join(", ")
        );
        return 1;
    };
    let Some(stage) = r.stages.get(index) else {
        let _ = writeln!(
            err,
            "rollout `{rollout}` has stages 0..={}; {index} is out of range",
            r.stages.len() - 1
        );
        return 1;
    };
    let store = match Store::open(&config.state.path) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(err, "{e}");
            return 1;
        }
    };
    let by = std::env::var("USER").unwrap_or_else(|_| "cli".into());
    match store.set_stage(rollout, index, jiff::Timestamp::now(), &by) {
        Ok(()) => {
            let _ = writeln!(
                out,
                "{rollout}: now at stage {index} ({}); bake time counts from now",
                stage.traffic
            );
            0
        }
        Err(e) => {
            let _ = writeln!(err, "{e}");
            1
        }
    }
}
