//! The advisory as the HTML part of an email. Tables and inline styles only,
//! because that is what mail clients render reliably; every piece of text
//! from a rules file or Prometheus is escaped, and only http(s) URLs become
//! links.

use std::fmt::Write;

use crate::domain::Verdict;
use crate::domain::{CheckResult, CheckStatus};
use crate::notify::{Advisory, AdvisoryKind};
use crate::roster::Person;

use super::untrusted::html as esc;

pub fn html(a: &Advisory, recipients: &[Person]) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n\
         <body style=\"font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;\
         font-size:14px;color:#1d1d1f;\">\n",
    );
    let _ = writeln!(
        out,
        "<h2 style=\"margin:0 0 8px;color:{};\">{}</h2>",
        colour(a),
        esc(&a.headline())
    );
    if let Some(kind) = super::kind_text(a) {
        let _ = writeln!(
            out,
            "<p style=\"margin:0 0 8px;\"><b>{}</b></p>",
            esc(&kind)
        );
    }

    out.push_str("<table cellpadding=\"4\" style=\"border-collapse:collapse;\">\n");
    row(&mut out, "Rollout", &esc(&a.rollout));
    row(&mut out, "Stage", &esc(&super::stage_text(a)));
    row(&mut out, "Verdict", &esc(a.verdict.as_str()));
    if !a.reason.is_empty() {
        row(&mut out, "Why", &esc(&super::reason(a)));
    }
    let paged = super::paged_people(a, recipients);
    if !paged.is_empty() {
        let names: Vec<String> = paged.iter().map(|p| esc(&p.name)).collect();
        row(&mut out, "Paged", &names.join(", "));
    }
    if let Some(incident) = &a.incident {
        if let (Some(next), None) = (&incident.next, &incident.acknowledged_by) {
            row(&mut out, "Next", &esc(&super::next_text(a, next)));
        }
        let ack = match super::acknowledged_by(a) {
            Some(by) => esc(&by),
            None => "not yet".to_string(),
        };
        row(&mut out, "Acknowledged", &ack);
        let slot = incident
            .slot
            .as_deref()
            .map(|s| format!(" ({})", esc(s)))
            .unwrap_or_default();
        let opened = format!(
            "#{}{slot}, opened {}",
            incident.id,
            esc(&super::utc(incident.opened_at))
        );
        row(&mut out, "Incident", &opened);
    }
    row(&mut out, "At", &esc(&super::utc(a.at)));
    out.push_str("</table>\n");

    let checks = super::ordered_checks(a);
    if !checks.is_empty() {
        out.push_str(
            "<h3 style=\"margin:16px 0 4px;\">Checks</h3>\n\
             <table cellpadding=\"6\" style=\"border-collapse:collapse;\">\n",
        );
        for check in checks {
            check_row(&mut out, a, check);
        }
        out.push_str("</table>\n");
    }
    out.push_str("<p style=\"color:#6e6e73;font-size:12px;\">Sent by Sena.</p>\n</body></html>\n");
    out
}

fn row(out: &mut String, label: &str, value_html: &str) {
    let _ = writeln!(
        out,
        "<tr><td style=\"color:#6e6e73;vertical-align:top;\">{label}</td><td>{value_html}</td></tr>"
    );
}

fn check_row(out: &mut String, a: &Advisory, check: &CheckResult) {
    let facts = super::check_facts(a, check);
    let status_colour = match check.status {
        CheckStatus::Failing => "#c62828",
        CheckStatus::Error | CheckStatus::NoData => "#e65100",
        CheckStatus::Pending | CheckStatus::Insufficient => "#9e7b00",
        CheckStatus::Passing => "#2e7d32",
    };
    let mut detail = format!("<code>{}</code>", esc(&facts.measurement));
    if let Some(breach) = &facts.breach {
        let _ = write!(detail, ", {}", esc(breach));
    }
    for fact in &facts.evidence {
        let _ = write!(detail, "<br>{}", esc(fact));
    }
    if check.status != CheckStatus::Passing {
        for series in &facts.broken_series {
            let _ = write!(detail, "<br>broke: <code>{}</code>", esc(series));
        }
        if facts.more_series > 0 {
            let _ = write!(detail, "<br>… and {} more series", facts.more_series);
        }
        if let Some(description) = &check.description {
            let _ = write!(detail, "<br><i>{}</i>", esc(description));
        }
        let _ = write!(
            detail,
            "<br><a href=\"{}\">Graph in Prometheus</a>",
            esc(&facts.graph_url)
        );
        match (facts.runbook_url, &check.runbook_url) {
            (Some(url), _) => {
                let _ = write!(detail, " · <a href=\"{}\">Runbook</a>", esc(url));
            }
            // Not a web URL: shown as text, never as a clickable link.
            (None, Some(raw)) => {
                let _ = write!(detail, " · runbook: {}", esc(raw));
            }
            (None, None) => {}
        }
    }
    let _ = writeln!(
        out,
        "<tr style=\"border-top:1px solid #e5e5ea;\"><td style=\"vertical-align:top;\"><b>{}</b></td>\
         <td style=\"vertical-align:top;color:{status_colour};font-weight:bold;\">{}</td>\
         <td>{detail}</td></tr>",
        esc(&check.name),
        super::status_label(check.status)
    );
}

fn colour(a: &Advisory) -> &'static str {
    match (a.kind, a.verdict) {
        (AdvisoryKind::Resolved, _) | (_, Verdict::Continue) => "#2e7d32",
        (_, Verdict::Hold) => "#e65100",
        (_, Verdict::Rollback) => "#c62828",
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn html_has_value_limit_links_and_people() {
        let h = html(&rollback_advisory(), &[person("lubit", "U0LUBIT")]);
        assert!(h.contains(
            "<h2 style=\"margin:0 0 8px;color:#c62828;\">ROLL BACK checkout-api at 5%</h2>"
        ));
        assert!(
            h.contains("<code>0.42% &gt; 0.1%</code>, breaching for 12m"),
            "{h}"
        );
        assert!(h.contains("broke: <code>region=&quot;eu-west&quot; 0.42%</code>"));
        assert!(
            h.contains("<a href=\"https://wiki.example.com/runbooks/canary-errors\">Runbook</a>")
        );
        assert!(h.contains("<a href=\"http://prometheus:9090/graph?g0.expr=sum%28rate%28"));
        assert!(h.contains("&amp;g0.tab=0\">Graph in Prometheus</a>"));
        assert!(h.contains("<td>sena, lubit</td>"));
        assert!(h.contains("copilot (level 1) in 18m"));
        assert!(h.find("error_rate").unwrap() < h.find("latency_p95").unwrap());
    }

    #[test]
    fn rule_text_is_escaped_and_unsafe_links_are_not_links() {
        let mut a = rollback_advisory();
        a.checks[0].description = Some("<script>alert('x')</script> & more".into());
        a.checks[0].runbook_url = Some("javascript:alert(1)".into());
        a.rollout = "<b>evil</b>".into();
        let h = html(&a, &[]);
        assert!(!h.contains("<script>"), "{h}");
        assert!(h.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
        assert!(!h.contains("href=\"javascript:"));
        assert!(h.contains("runbook: javascript:alert(1)"));
        assert!(!h.contains("<b>evil</b>"));
    }

    #[test]
    fn count_checks_show_counts_and_interval_in_the_email() {
        let h = html(&count_rollback_advisory(), &[]);
        assert!(h.contains("<code>1.2% &gt; 0.1%</code>, breaching for 12m<br>90 bad of 20,000 requests since the stage began · 95% interval 0.36%–0.55%<br>recent: 24 bad of 2,000 requests since 2025-10-22 12:05 UTC (1.2%)"), "{h}");
        assert!(h.contains(">insufficient evidence</td>"), "{h}");
        assert!(h.contains("<code>0% so far (limit &lt; 0.1%)</code><br>0 bad of 37 requests since the stage began"), "{h}");
        assert!(h.contains("<br>41 bad of 86,412 requests since the stage began · 95% interval 0.02%–0.062%</td>"), "{h}");
        let shared = html(&count_shared_hold_advisory(), &[]);
        assert!(
            shared.contains("hold, the stable track is failing too"),
            "{shared}"
        );
    }
}
