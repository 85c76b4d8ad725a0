//! `sena check`: validate the config, every rules file and the roster, and
//! say what each rollout will do — or list every problem as
//! `FILE:LINE:COLUMN: message`. Prints no secret: the summary only names
//! rollouts, stages, approvers and checks.

use std::io::Write;
use std::path::Path;

use crate::config::{self, Check, NoData, OnFail, Rollout};
use crate::domain::format::format_duration;

/// Exit code 0 when the config is valid, 1 otherwise. Diagnostics go to
/// `err` (warnings too, as compilers do), the summary to `out`.
pub fn run(config_path: &Path, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let result = match config::load(config_path) {
        Ok(loaded) => {
            for warning in &loaded.warnings.0 {
                let _ = writeln!(err, "{warning}");
            }
            loaded
                .config
                .rollouts
                .iter()
                .try_for_each(|rollout| write_rollout(out, rollout))
                .map(|()| 0)
        }
        Err(diagnostics) => {
            for diagnostic in &diagnostics.0 {
                let _ = writeln!(err, "{diagnostic}");
            }
            let errors = diagnostics.errors().count();
            writeln!(err, "{errors} error{}", if errors == 1 { "" } else { "s" }).map(|()| 1)
        }
    };
    // A closed pipe (`sena check | head`) is not a config error, but the
    // output was cut short, so do not claim success either.
    result.unwrap_or(1)
}

/// `checkout-api: 3 checks every 30s; stages 5% (bake 24h) → 100%; approver lubit`
/// then one indented line per check.
pub fn write_rollout(out: &mut dyn Write, rollout: &Rollout) -> std::io::Result<()> {
    let count = rollout.checks.len();
    let stages: Vec<String> = rollout
        .stages
        .iter()
        .map(|stage| match stage.bake {
            Some(bake) => format!("{} (bake {})", stage.traffic, format_duration(bake)),
            None => stage.traffic.to_string(),
        })
        .collect();
    writeln!(
        out,
        "{}: {count} check{} every {}; stages {}; approver {}",
        rollout.name,
        if count == 1 { "" } else { "s" },
        format_duration(rollout.interval),
        stages.join(" → "),
        rollout.approver
    )?;
    for check in &rollout.checks {
        writeln!(out, "  {}", describe_check(check))?;
        if let Some(note) = plain_note(check) {
            writeln!(out, "    {note}")?;
        }
    }
    Ok(())
}

/// `error_rate < 0.1% for 2m, on fail rollback, no data hold (rules/canary.yaml:3)`
pub fn describe_check(check: &Check) -> String {
    let for_part = if check.for_duration.is_zero() {
        String::new()
    } else {
        format!(" for {}", format_duration(check.for_duration))
    };
    let on_fail = match check.on_fail {
        OnFail::Rollback => "rollback",
        OnFail::Hold => "hold",
    };
    let no_data = match check.no_data {
        NoData::Hold => "hold",
        NoData::Ignore => "ignore",
    };
    let counts = match &check.counts {
        None => String::new(),
        Some(q) => {
            let mut s = format!(
                " from counts ({}/total, {} confident",
                q.share.noun(),
                crate::domain::format::trim_float((q.confidence * 100.0 * 1e6).round() / 1e6) + "%"
            );
            if let Some(b) = &q.baseline {
                s.push_str(&format!(
                    ", at most {}× the baseline",
                    crate::domain::format::trim_float(b.max_ratio)
                ));
            }
            if q.min_total > 0.0 {
                s.push_str(&format!(", at least {} requests", q.min_total));
            }
            s.push(')');
            s
        }
    };
    format!(
        "{} {}{counts}{for_part}, on fail {on_fail}, no data {no_data} ({})",
        check.name, check.threshold, check.defined_at
    )
}

/// What a plain value check cannot do, said where its author reads: it is
/// judged on its value alone, with no count of the requests behind it, so
/// at low traffic one bad request can breach it.
pub fn plain_note(check: &Check) -> Option<String> {
    if check.counts.is_some() {
        return None;
    }
    Some(match config::quantile_hint(check) {
        Some(hint) => format!("hint: {hint}"),
        None => "note: a plain value, judged without counts: Sena cannot say how many requests stand behind it or how sure it is; if it is a ratio, write it as counts (`bad:` or `good:` with `total:`)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn summary_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("r.yaml"),
            "checks:\n  - name: error_rate\n    query: x{app=\"{{ rollout }}\"}\n    below: 0.1%\n    for: 2m\n    on_fail: rollback\n",
        )
        .unwrap();
        let config = dir.path().join("sena.yaml");
        fs::write(
            &config,
            "prometheus: {url: http://127.0.0.1:9090}\nrollouts:\n  - name: web\n    approver: lubit\n    stages: [{traffic: 5%, bake: 24h}, {traffic: 100%}]\n    rules: [r.yaml]\n",
        )
        .unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(
            run(&config, &mut out, &mut err),
            0,
            "{}",
            String::from_utf8_lossy(&err)
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "web: 1 check every 30s; stages 5% (bake 24h) → 100%; approver lubit\n  error_rate < 0.1% for 2m, on fail rollback, no data hold (r.yaml:2)\n    note: a plain value, judged without counts: Sena cannot say how many requests stand behind it or how sure it is; if it is a ratio, write it as counts (`bad:` or `good:` with `total:`)\n"
        );

        fs::write(
            dir.path().join("r.yaml"),
            "checks:\n  - name: e\n    query: x\n    below: lots\n",
        )
        .unwrap();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert_eq!(run(&config, &mut out, &mut err), 1);
        let err = String::from_utf8(err).unwrap();
        let rules = dir.path().join("r.yaml");
        assert!(
            err.starts_with(&format!(
                "{}:4:12: `lots` is not a threshold",
                rules.display()
            )),
            "{err}"
        );
        assert!(err.ends_with("\n1 error\n"), "{err}");
        assert!(out.is_empty());
    }
}
