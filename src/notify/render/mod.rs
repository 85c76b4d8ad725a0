//! Pure rendering of an advisory for people: Slack Block Kit, a terminal
//! text block, an HTML email body and an email subject. No I/O here, so every
//! word a person reads is unit-tested; the channels in `notify::slack` and
//! `notify::email` only carry what these functions produce.
//!
//! Every channel says the same things (verdict, each check's value against its
//! limit, how long it has breached, who is paged and who is next), so the
//! facts are computed once here and each format only lays them out.

mod blocks;
mod html;
mod subject;
mod text;
mod untrusted;

pub use blocks::{slack_fallback, slack_message};
pub use html::html;
pub use subject::email_subject;
pub use text::text;
/// Free text made safe inside Slack mrkdwn (the NO-GO reason the daemon
/// writes back into a message).
pub(crate) use untrusted::mrkdwn;

use crate::domain::evidence::Finding;
use crate::domain::Verdict;
use crate::domain::{Bound, CheckResult, CheckStatus, Threshold};
use crate::notify::{Advisory, AdvisoryKind, NextLevel};
use crate::roster::Person;

/// How many broken series a check lists before saying "and N more": a
/// per-pod query can break in hundreds of series, and a page must stay short.
const MAX_SERIES_SHOWN: usize = 5;

/// Link to the query in Prometheus's graph page, built by
/// `domain::prometheus_url` (never with userinfo or the configured query:
/// an advisory is read, forwarded and logged).
pub fn graph_url(prometheus_url: &str, query: &str) -> String {
    crate::domain::prometheus_url::graph_link(prometheus_url, query).unwrap_or_default()
}

/// One check as every format describes it.
pub(crate) struct CheckFacts<'a> {
    /// `0.42% > 0.1%`, `no data (limit < 0.1%)`, `query failed: timeout`.
    pub measurement: String,
    /// `breaching for 12m`, `breaching for 1m, fails after 2m`.
    pub breach: Option<String>,
    /// The same without the word: `12m`, `1m, fails after 2m`.
    pub breaching_for: Option<String>,
    /// `region="eu-west" 0.42%`, for the series on the wrong side.
    pub broken_series: Vec<String>,
    pub more_series: usize,
    pub graph_url: String,
    /// The runbook link, only when it is http(s): a `javascript:` URL from a
    /// rules file must never become a clickable link in an email.
    pub runbook_url: Option<&'a str>,
    /// A count check's evidence, one fact a line: `41 bad of 86,412
    /// requests since the stage began · 95% interval 0.02%–0.062%`, then
    /// the recent window, what is still needed, the baseline. Empty for a
    /// plain value check.
    pub evidence: Vec<String>,
}

pub(crate) fn check_facts<'a>(a: &Advisory, check: &'a CheckResult) -> CheckFacts<'a> {
    // A series without labels (a single aggregated value) says nothing the
    // value does not already say.
    let broken: Vec<&crate::domain::SeriesValue> = check
        .breaching_series()
        .filter(|s| s.labels.keys().any(|k| k != "__name__"))
        .collect();
    let broken_series = broken
        .iter()
        .take(MAX_SERIES_SHOWN)
        .map(|s| {
            let labels: Vec<String> = s
                .labels
                .iter()
                .filter(|(k, _)| k.as_str() != "__name__")
                .map(|(k, v)| format!("{}=\"{}\"", untrusted::name(k), untrusted::name(v)))
                .collect();
            let labels = labels.join(", ");
            format!("{labels} {}", check.threshold.format_value(s.value))
        })
        .collect();
    CheckFacts {
        measurement: measurement(check),
        breach: breaching_for(a, check).map(|d| format!("breaching for {d}")),
        breaching_for: breaching_for(a, check),
        broken_series,
        // The result keeps only the worst few series; its count of breaching
        // ones says how many the answer really held.
        more_series: if broken.is_empty() {
            0
        } else {
            broken.len().max(check.breaching_total) - MAX_SERIES_SHOWN.min(broken.len())
        },
        graph_url: graph_url(&a.prometheus_url, &check.query),
        runbook_url: check.runbook_url.as_deref().filter(|u| is_web_url(u)),
        evidence: check
            .evidence
            .as_ref()
            .filter(|_| !matches!(check.status, CheckStatus::Error | CheckStatus::NoData))
            .map(|e| {
                e.fact_lines(&check.threshold)
                    .iter()
                    .map(|l| untrusted::line(l))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

pub(crate) fn is_web_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// The check's deciding value against its limit, with the comparison that
/// holds: a breach reads `0.42% > 0.1%`, a healthy value `0.02% < 0.1%`.
pub(crate) fn measurement(c: &CheckResult) -> String {
    match c.status {
        CheckStatus::Error => {
            let why = c.error.as_deref().unwrap_or("unknown error");
            format!("query failed: {}", untrusted::line(why))
        }
        CheckStatus::NoData => format!("no data (limit {})", c.threshold),
        // A count check's value_text is its whole summary; the counts and
        // the interval are facts of their own here, so the measurement is
        // the share that decided against the limit.
        _ if c.evidence.is_some() => count_measurement(c),
        _ => match c.value {
            Some(v) => format!("{} {}", c.value_text, comparison(v, &c.threshold)),
            None => format!("{} (limit {})", c.value_text, c.threshold),
        },
    }
}

/// `0.42% > 0.1%` from the share that decided (the recent window's when the
/// change detector fired); `0% so far (limit < 0.1%)` while the evidence is
/// insufficient (the status says so, the facts say how much is missing);
/// `0.3% vs baseline 0.1%` when the canary is judged against its baseline.
fn count_measurement(c: &CheckResult) -> String {
    let Some(e) = &c.evidence else {
        return c.value_text.clone();
    };
    let t = &c.threshold;
    let value = e.deciding_value();
    match e.finding {
        Finding::Insufficient => format!("{} so far (limit {t})", t.format_value(value)),
        Finding::WorseThanBaseline => match &e.baseline {
            Some(b) => format!(
                "{} vs baseline {}",
                t.format_value(value),
                t.format_value(b.value)
            ),
            None => format!("{} {}", t.format_value(value), comparison(value, t)),
        },
        _ => format!("{} {}", t.format_value(value), comparison(value, t)),
    }
}

/// `> 0.1%` for a breach of `below: 0.1%`; the healthy comparison otherwise.
fn comparison(value: f64, t: &Threshold) -> String {
    use std::cmp::Ordering::{Equal, Greater, Less};
    let op = match (t.bound, value.partial_cmp(&t.value)) {
        (Bound::Below, Some(Greater)) => ">",
        (Bound::Below, Some(Equal)) => "≥",
        (Bound::Below, _) => "<",
        (Bound::Above, Some(Less)) => "<",
        (Bound::Above, Some(Equal)) => "≤",
        (Bound::Above, _) => ">",
    };
    format!("{op} {}", t.format_value(t.value))
}

fn breaching_for(a: &Advisory, c: &CheckResult) -> Option<String> {
    let started = c.breach_started_at?;
    if !matches!(c.status, CheckStatus::Failing | CheckStatus::Pending) {
        return None;
    }
    let lasted = crate::domain::format::format_elapsed(a.at.as_second() - started.as_second());
    Some(match c.status {
        CheckStatus::Pending => format!(
            "{lasted}, fails after {}",
            crate::domain::format::format_elapsed(crate::saturating::seconds(c.for_seconds))
        ),
        _ => lasted,
    })
}

/// `stage 0 · 5% traffic`: the index as `sena stage` and `sena eval` count it.
pub(crate) fn stage_text(a: &Advisory) -> String {
    format!("stage {} · {} traffic", a.stage_index, a.traffic)
}

/// The checks in the order people should read them: worst first (the
/// advisory promises that order, but a stable sort costs nothing and keeps
/// every channel right if a producer forgets).
pub(crate) fn ordered_checks(a: &Advisory) -> Vec<&CheckResult> {
    let mut checks: Vec<&CheckResult> = a.checks.iter().collect();
    checks.sort_by_key(|c| c.status.severity_rank());
    checks
}

/// The check that decided the verdict: a failing check whose `on_fail`
/// matches a rollback verdict, else the most severe problem.
pub(crate) fn deciding_check(a: &Advisory) -> Option<&CheckResult> {
    let problems = ordered_checks(a)
        .into_iter()
        .filter(|c| c.status != CheckStatus::Passing && c.status != CheckStatus::Pending);
    let problems: Vec<&CheckResult> = problems.collect();
    let rollback = problems.iter().find(|c| {
        a.verdict == Verdict::Rollback
            && c.status == CheckStatus::Failing
            && c.on_fail == crate::config::OnFail::Rollback
            && !c.is_shared_failure()
    });
    rollback.or(problems.first()).copied()
}

/// Everyone this advisory pages: the incident's level plus the delivery's
/// recipients (the approver hears about every rollback), without repeats.
pub(crate) fn paged_people<'a>(a: &'a Advisory, recipients: &'a [Person]) -> Vec<&'a Person> {
    let mut people: Vec<&Person> = Vec::new();
    let paged = a.incident.iter().flat_map(|i| i.paged.iter());
    for p in paged.chain(recipients.iter()) {
        if !people.iter().any(|q| q.name == p.name) {
            people.push(p);
        }
    }
    people
}

/// Who is paged next and when, counted from the incident's opening as the
/// roster's `after` is. Names only: mentioning them would notify them now.
pub(crate) fn next_text(a: &Advisory, next: &NextLevel) -> String {
    let names: Vec<&str> = next.people.iter().map(|p| p.name.as_str()).collect();
    let names = if names.is_empty() {
        "nobody".to_string()
    } else {
        names.join(", ")
    };
    let opened = a.incident.as_ref().map_or(a.at, |i| i.opened_at);
    let due = opened
        .as_second()
        .saturating_add(crate::saturating::seconds(next.after_seconds));
    let remaining = due.saturating_sub(a.at.as_second());
    let when = if remaining > 0 {
        format!("in {}", crate::domain::format::format_elapsed(remaining))
    } else {
        "now".to_string()
    };
    format!(
        "{names} (level {}) {when} unless someone acknowledges",
        next.level
    )
}

/// What kind of message this is, when the headline alone does not say,
/// followed by Sena's own trouble when the message carries a notice.
pub(crate) fn kind_text(a: &Advisory) -> Option<String> {
    // The notice quotes store errors and salvaged text: bounded like prose.
    let notice = a.notice.as_deref().map(untrusted::prose);
    match (kind_only(a), notice) {
        (Some(kind), Some(notice)) => Some(format!("{kind}. ⚠ {notice}")),
        (None, Some(notice)) => Some(format!("⚠ {notice}")),
        (kind, None) => kind,
    }
}

fn kind_only(a: &Advisory) -> Option<String> {
    let since_open = a
        .incident
        .as_ref()
        .map(|i| crate::domain::format::format_elapsed(a.at.as_second() - i.opened_at.as_second()));
    match a.kind {
        AdvisoryKind::Opened => None,
        AdvisoryKind::Reminder => Some(match since_open {
            Some(d) => format!("Reminder: still {} after {d}", a.verdict.as_str()),
            None => format!("Reminder: still {}", a.verdict.as_str()),
        }),
        AdvisoryKind::Escalated => {
            let level = a.incident.as_ref().map_or(0, |i| i.level);
            Some(match since_open {
                Some(d) => format!("Escalated to level {level}: nobody acknowledged in {d}"),
                None => format!("Escalated to level {level}"),
            })
        }
        AdvisoryKind::Removed => Some(
            "Closed: the rollout was removed from the configuration; Sena no longer watches it"
                .to_string(),
        ),
        AdvisoryKind::Resolved => Some(match since_open {
            Some(d) => format!("Resolved: back within limits after {d}"),
            None => "Resolved: back within limits".to_string(),
        }),
        // The headline says who may expand to what; this says how to
        // answer, as commands to type (no one-click links: a mail can be
        // forwarded, and a GO must carry the decider's own token).
        AdvisoryKind::ReadyToExpand => Some(answer_text(a)),
        // For a lost message the notice says what was lost; for a decision
        // the reason says who decided what.
        AdvisoryKind::Undeliverable | AdvisoryKind::ChannelStuck | AdvisoryKind::Decided => None,
        AdvisoryKind::Acknowledged => Some(format!(
            "Acknowledged by {}: escalation stopped",
            acknowledged_by(a).unwrap_or_else(|| "someone".into())
        )),
    }
}

/// How the approver or a deputy answers a "ready to expand".
fn answer_text(a: &Advisory) -> String {
    let (r, s) = (&a.rollout, a.stage_index);
    format!(
        "Answer with `sena approve {r} --stage {s}` or `sena reject {r} --stage {s} --comment WHY`, \
         or POST /api/v1/rollouts/{r}/decisions with {{\"decision\": \"go\", \"stage\": {s}}}"
    )
}

/// Who acknowledged, as anyone could type it into the API or `sena ack`:
/// one line, bounded. Every format escapes it further.
pub(crate) fn acknowledged_by(a: &Advisory) -> Option<String> {
    a.incident
        .as_ref()
        .and_then(|i| i.acknowledged_by.as_deref())
        .map(untrusted::name)
}

/// The reason, bounded: it quotes Prometheus's errors and label values.
pub(crate) fn reason(a: &Advisory) -> String {
    untrusted::prose(&a.reason)
}

/// The status as a word people scan for: capitals where action is needed.
pub(crate) fn status_label(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Failing => "FAILING",
        CheckStatus::Error => "ERROR",
        CheckStatus::NoData => "NO DATA",
        CheckStatus::Pending => "pending",
        CheckStatus::Insufficient => "insufficient evidence",
        CheckStatus::Passing => "ok",
    }
}

/// `2025-10-22 12:03 UTC`
pub(crate) fn utc(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn graph_url_encodes_the_query_and_leaves_credentials_out() {
        let url = graph_url("http://prom:9090/", "sum(rate(x{code=~\"5..\"}[5m])) / 2");
        assert_eq!(
            url,
            "http://prom:9090/graph?g0.expr=sum%28rate%28x%7Bcode%3D%7E%225..%22%7D%5B5m%5D%29%29+%2F+2&g0.tab=0"
        );
        let leaky = graph_url("http://sena:hunter2@prom/p?token=SECRET", "up");
        assert_eq!(leaky, "http://prom/p/graph?g0.expr=up&g0.tab=0");
    }

    #[test]
    fn measurement_shows_the_comparison_that_holds() {
        let a = rollback_advisory();
        assert_eq!(measurement(&a.checks[0]), "0.42% > 0.1%");
        assert_eq!(measurement(&a.checks[1]), "1.2s < 2s");
        let mut sat = satisfaction(0.93, CheckStatus::Failing);
        assert_eq!(measurement(&sat), "93% < 95%");
        sat.status = CheckStatus::NoData;
        assert_eq!(measurement(&sat), "no data (limit > 95%)");
    }

    #[test]
    fn breach_duration_runs_from_breach_start_to_the_advisory() {
        let a = rollback_advisory();
        let facts = check_facts(&a, &a.checks[0]);
        assert_eq!(facts.breach.as_deref(), Some("breaching for 12m"));
        assert_eq!(facts.broken_series, vec!["region=\"eu-west\" 0.42%"]);
    }

    #[test]
    fn series_left_out_of_the_result_are_counted_as_more() {
        let mut a = rollback_advisory();
        // The result kept the worst few of 990 breaching series.
        a.checks[0].breaching_total = 990;
        a.checks[0].series_total = 1000;
        let facts = check_facts(&a, &a.checks[0]);
        assert_eq!(facts.broken_series.len(), 1);
        assert_eq!(facts.more_series, 989);
        assert!(text::text(&a, &[]).contains("… and 989 more series"));
    }

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(crate::domain::format::format_elapsed(45), "45s");
        assert_eq!(crate::domain::format::format_elapsed(90), "1m 30s");
        assert_eq!(crate::domain::format::format_elapsed(720), "12m");
        assert_eq!(crate::domain::format::format_elapsed(3900), "1h 5m");
        assert_eq!(
            crate::domain::format::format_elapsed(2 * 86_400 + 3 * 3600 + 60),
            "2d 3h"
        );
        assert_eq!(crate::domain::format::format_elapsed(-5), "0s");
    }

    #[test]
    fn runbook_links_must_be_web_urls() {
        let mut a = rollback_advisory();
        a.checks[0].runbook_url = Some("javascript:alert(1)".into());
        assert_eq!(check_facts(&a, &a.checks[0]).runbook_url, None);
    }

    #[test]
    fn next_level_counts_from_the_incident_opening() {
        let a = rollback_advisory();
        let next = a.incident.as_ref().unwrap().next.as_ref().unwrap();
        // opened 12m before the advisory, next level after 30m
        assert_eq!(
            next_text(&a, next),
            "copilot (level 1) in 18m unless someone acknowledges"
        );
    }
}

#[cfg(test)]
mod count_tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn a_count_check_measures_the_share_that_decided() {
        // The change detector fired on the recent stretch: 24 of 2,000.
        assert_eq!(measurement(&count_exceeds()), "1.2% > 0.1%");
        let within = count_error_rate(crate::domain::evidence::Finding::Within);
        assert_eq!(measurement(&within), "0.0474% < 0.1%");
        assert_eq!(
            measurement(&count_insufficient()),
            "0% so far (limit < 0.1%)"
        );
    }

    #[test]
    fn count_facts_are_counts_interval_recent_and_baseline() {
        let a = count_rollback_advisory();
        let facts = check_facts(&a, &a.checks[0]);
        assert_eq!(
            facts.evidence,
            vec![
                "90 bad of 20,000 requests since the stage began · 95% interval 0.36%–0.55%",
                "recent: 24 bad of 2,000 requests since 2025-10-22 12:05 UTC (1.2%)",
            ]
        );
        let shared = count_shared();
        let facts = check_facts(&a, &shared);
        assert_eq!(
            facts.evidence[1],
            "baseline: 600 bad of 57,000 requests (1.0526%): hold, the stable track is failing too"
        );
        let plain = error_rate();
        let plain = check_facts(&a, &plain);
        assert!(plain.evidence.is_empty());
    }

    #[test]
    fn a_shared_failure_never_decides_a_rollback() {
        let mut a = count_shared_hold_advisory();
        a.verdict = Verdict::Rollback;
        let mut own = error_rate();
        own.name = "latency_errors".into();
        a.checks.push(own);
        assert_eq!(
            deciding_check(&a).map(|c| c.name.as_str()),
            Some("latency_errors")
        );
    }
}
