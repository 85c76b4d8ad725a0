//! The email subject. It leads with the verdict in capitals and the rollout,
//! so an inbox sorted or filtered by subject groups a rollout's mails and a
//! reader sees the worst number without opening the mail:
//! `[sena] ROLLBACK checkout-api 5%: error_rate 0.42% > 0.1%`.

use crate::domain::CheckStatus;
use crate::domain::Verdict;
use crate::notify::{Advisory, AdvisoryKind};

/// Long reasons would push the rollout out of view in a narrow inbox.
const MAX_SUBJECT_CHARS: usize = 140;

pub fn email_subject(a: &Advisory) -> String {
    if matches!(
        a.kind,
        AdvisoryKind::Undeliverable | AdvisoryKind::ChannelStuck
    ) {
        return one_line(&format!("[sena] {}", a.headline()));
    }
    let head = format!("[sena] {} {} {}", verdict_word(a), a.rollout, a.traffic);
    let mut subject = match (a.kind, &a.ready_to_expand, a.verdict) {
        (AdvisoryKind::Resolved | AdvisoryKind::Removed, _, _) => head,
        (_, Some(e), Verdict::Continue) => {
            format!("{head} → {}: needs {}", e.next_traffic, e.approver)
        }
        (_, _, Verdict::Continue) => head,
        _ => format!("{head}: {}", problem_summary(a)),
    };
    match a.kind {
        AdvisoryKind::Reminder => subject.push_str(" (reminder)"),
        AdvisoryKind::Escalated => {
            let level = a.incident.as_ref().map_or(0, |i| i.level);
            subject.push_str(&format!(" (escalated to level {level})"));
        }
        AdvisoryKind::Acknowledged => {
            let by = super::acknowledged_by(a).unwrap_or_else(|| "someone".into());
            subject.push_str(&format!(" (acknowledged by {by})"));
        }
        _ => {}
    }
    one_line(&subject)
}

fn verdict_word(a: &Advisory) -> &'static str {
    match a.kind {
        AdvisoryKind::Resolved => return "RESOLVED",
        AdvisoryKind::Removed => return "CLOSED",
        _ => {}
    }
    match a.verdict {
        Verdict::Rollback => "ROLLBACK",
        Verdict::Hold => "HOLD",
        Verdict::Continue if a.ready_to_expand.is_some() => "READY",
        Verdict::Continue => "OK",
    }
}

/// The deciding check in a few words, plus how many others are in trouble.
fn problem_summary(a: &Advisory) -> String {
    let Some(worst) = super::deciding_check(a) else {
        return super::reason(a);
    };
    let what = match worst.status {
        CheckStatus::NoData => format!("no data for {}", worst.name),
        CheckStatus::Error => format!("query failed for {}", worst.name),
        _ => format!("{} {}", worst.name, super::measurement(worst)),
    };
    let others = a
        .problem_checks()
        .filter(|c| c.status != CheckStatus::Pending && c.name != worst.name)
        .count();
    if others > 0 {
        format!("{what} (+{others} more)")
    } else {
        what
    }
}

/// Subjects are one line; a CR/LF from free text (a reason, who
/// acknowledged) must not fold the header or add one, and a very long one
/// is cut at a character boundary.
fn one_line(s: &str) -> String {
    super::untrusted::bounded(s, MAX_SUBJECT_CHARS, false)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn rollback_subject_names_the_worst_check_against_its_limit() {
        assert_eq!(
            email_subject(&rollback_advisory()),
            "[sena] ROLLBACK checkout-api 5%: error_rate 0.42% > 0.1%"
        );
    }

    #[test]
    fn hold_without_data_says_so() {
        assert_eq!(
            email_subject(&hold_no_data_advisory()),
            "[sena] HOLD checkout-api 5%: no data for satisfaction"
        );
    }

    #[test]
    fn ready_and_resolved() {
        assert_eq!(
            email_subject(&ready_advisory()),
            "[sena] READY checkout-api 5% → 10%: needs lubit"
        );
        assert_eq!(
            email_subject(&resolved_advisory()),
            "[sena] RESOLVED checkout-api 5%"
        );
    }

    #[test]
    fn further_problems_are_counted_and_kinds_marked() {
        let mut a = rollback_advisory();
        a.kind = AdvisoryKind::Escalated;
        a.incident.as_mut().unwrap().level = 1;
        a.checks
            .push(satisfaction(0.93, crate::domain::CheckStatus::Failing));
        assert_eq!(
            email_subject(&a),
            "[sena] ROLLBACK checkout-api 5%: error_rate 0.42% > 0.1% (+1 more) (escalated to level 1)"
        );
    }

    #[test]
    fn error_text_cannot_break_the_header() {
        let mut a = hold_no_data_advisory();
        a.checks.clear();
        a.reason = format!("line one\nline two {}", "x".repeat(300));
        let s = email_subject(&a);
        assert!(!s.contains('\n'));
        assert_eq!(s.chars().count(), MAX_SUBJECT_CHARS);
    }
}
