//! The advisory as a plain-text block: the console notifier prints it, and it
//! is the text part of every email. Readable in a terminal and in a mail
//! client that shows no HTML: one headline, then indented detail lines.

use std::fmt::Write;

use crate::domain::CheckStatus;
use crate::notify::Advisory;
use crate::roster::Person;

pub fn text(a: &Advisory, recipients: &[Person]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", a.headline());
    let _ = writeln!(
        out,
        "  {} · {} · verdict {}",
        a.rollout,
        super::stage_text(a),
        a.verdict.as_str()
    );
    if !a.reason.is_empty() {
        let _ = writeln!(out, "  why: {}", super::reason(a));
    }
    if let Some(kind) = super::kind_text(a) {
        let _ = writeln!(out, "  {kind}");
    }

    let checks = super::ordered_checks(a);
    if !checks.is_empty() {
        out.push('\n');
    }
    let name_width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for check in checks {
        let facts = super::check_facts(a, check);
        let mut line = format!(
            "  {} {:<name_width$}  {:<7}  {}",
            mark(check.status),
            check.name,
            super::status_label(check.status),
            facts.measurement
        );
        if let Some(breach) = &facts.breach {
            let _ = write!(line, ", {breach}");
        }
        let _ = writeln!(out, "{line}");
        let indent = "      ";
        for fact in &facts.evidence {
            let _ = writeln!(out, "{indent}{fact}");
        }
        if check.status == CheckStatus::Passing {
            continue;
        }
        for series in &facts.broken_series {
            let _ = writeln!(out, "{indent}broke: {series}");
        }
        if facts.more_series > 0 {
            let _ = writeln!(out, "{indent}… and {} more series", facts.more_series);
        }
        if let Some(description) = &check.description {
            let _ = writeln!(out, "{indent}{description}");
        }
        if let Some(runbook) = &check.runbook_url {
            let _ = writeln!(out, "{indent}runbook: {runbook}");
        }
        let _ = writeln!(out, "{indent}graph:   {}", facts.graph_url);
    }

    let paged = super::paged_people(a, recipients);
    let next = a.incident.as_ref().and_then(|i| i.next.as_ref());
    if !paged.is_empty() || next.is_some() {
        out.push('\n');
        let mut line = String::from("  paged: ");
        if paged.is_empty() {
            line.push_str("nobody");
        } else {
            let names: Vec<&str> = paged.iter().map(|p| p.name.as_str()).collect();
            line.push_str(&names.join(", "));
        }
        if let Some(next) = next {
            let _ = write!(line, " · next: {}", super::next_text(a, next));
        }
        let _ = writeln!(out, "{line}");
    }
    if let Some(incident) = &a.incident {
        let slot = incident
            .slot
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let ack = match super::acknowledged_by(a) {
            Some(by) => format!("acknowledged by {by}"),
            None => "not acknowledged".to_string(),
        };
        let _ = writeln!(
            out,
            "  incident #{}{slot} opened {} · {ack}",
            incident.id,
            super::utc(incident.opened_at)
        );
    }
    let _ = writeln!(out, "  at {}", super::utc(a.at));
    out
}

fn mark(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Failing => "✗",
        CheckStatus::Error | CheckStatus::NoData => "!",
        CheckStatus::Pending | CheckStatus::Insufficient => "…",
        CheckStatus::Passing => "✓",
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn terminal_block_reads_top_down() {
        let a = rollback_advisory();
        let t = text(&a, &[person("lubit", "U0LUBIT")]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "ROLL BACK checkout-api at 5%");
        assert_eq!(
            lines[1],
            "  checkout-api · stage 0 · 5% traffic · verdict rollback"
        );
        let failing = t.find("✗ error_rate").expect("failing check listed");
        let passing = t.find("✓ latency_p95").expect("passing check listed");
        assert!(failing < passing, "failing checks come first:\n{t}");
        assert!(
            t.contains("FAILING  0.42% > 0.1%, breaching for 12m"),
            "{t}"
        );
        assert!(t.contains("broke: region=\"eu-west\" 0.42%"), "{t}");
        assert!(
            !t.contains("us-east"),
            "healthy series are not listed:\n{t}"
        );
        assert!(t.contains("Share of canary requests answered 5xx"));
        assert!(t.contains("runbook: https://wiki.example.com/runbooks/canary-errors"));
        assert!(t.contains("graph:   http://prometheus:9090/graph?g0.expr=sum%28"));
        assert!(t.contains(
            "paged: sena, lubit · next: copilot (level 1) in 18m unless someone acknowledges"
        ));
        assert!(t.contains(
            "incident #42 (business-hours) opened 2025-10-22 12:03 UTC · not acknowledged"
        ));
    }

    #[test]
    fn resolved_block_says_who_acknowledged() {
        let t = text(&resolved_advisory(), &[]);
        assert!(t.starts_with("RECOVERED checkout-api at 5%"));
        assert!(t.contains("Resolved: back within limits after 45m"), "{t}");
        assert!(t.contains("acknowledged by sena"), "{t}");
        assert!(t.contains("✓ error_rate"), "{t}");
    }

    #[test]
    fn count_checks_show_counts_interval_and_what_is_missing() {
        let t = text(&count_rollback_advisory(), &[]);
        assert!(t.contains("✗ error_rate"), "{t}");
        assert!(t.contains("FAILING  1.2% > 0.1%, breaching for 12m"), "{t}");
        assert!(t.contains(
            "      90 bad of 20,000 requests since the stage began · 95% interval 0.36%–0.55%\n"
        ), "{t}");
        assert!(
            t.contains("      recent: 24 bad of 2,000 requests since 2025-10-22 12:05 UTC (1.2%)"),
            "{t}"
        );
        assert!(
            t.contains("insufficient evidence  0% so far (limit < 0.1%)"),
            "{t}"
        );
        assert!(t.contains("      needs about 3,771 requests to confirm < 0.1% at 95% (at 1 req/s: in about 1h 2m)"), "{t}");
        // A healthy count check still says what it is confident of.
        assert!(t.contains("✓ error_rate_eu"), "{t}");
        assert!(
            t.contains(
                "41 bad of 86,412 requests since the stage began · 95% interval 0.02%–0.062%"
            ),
            "{t}"
        );
        let insufficient = t.find("error_rate_new_region").unwrap();
        let ok = t.find("error_rate_eu").unwrap();
        assert!(
            t.find("✗ error_rate").unwrap() < insufficient && insufficient < ok,
            "{t}"
        );
    }

    #[test]
    fn a_shared_failure_names_the_baseline_and_holds() {
        let t = text(&count_shared_hold_advisory(), &[]);
        assert!(t.starts_with("HOLD"), "{t}");
        assert!(t.contains("the stable track is failing too"), "{t}");
        assert!(t.contains(
            "baseline: 600 bad of 57,000 requests (1.0526%): hold, the stable track is failing too"
        ), "{t}");
    }
}
