//! Who a policy message reaches and what it says: the levels of the chain
//! it pages (plus the approver on a rollback, its resolution or closing),
//! the incident view with who is next, and its dedup key.

use crate::domain::{
    Advisory, AdvisoryKind, DedupKey, Incident, IncidentView, NextLevel, Person, Verdict,
};
use crate::roster::OnCall;

use super::{Outgoing, PolicyInput};

pub(super) fn page(
    input: &PolicyInput<'_>,
    inc: &Incident,
    kind: AdvisoryKind,
    on_call: Option<&OnCall>,
    levels: std::ops::RangeInclusive<usize>,
) -> Outgoing {
    let mut recipients: Vec<Person> = on_call
        .map(|o| {
            o.levels
                .iter()
                .enumerate()
                .filter(|(i, _)| levels.contains(i))
                .flat_map(|(_, l)| l.people.iter().cloned())
                .collect()
        })
        .unwrap_or_default();
    let paged = recipients.clone();
    // The approver hears every rollback at once, whatever the slot, and its
    // end; escalations and reminders go to the chain, not again to them.
    let approver_too = match kind {
        AdvisoryKind::Opened => inc.verdict == Verdict::Rollback,
        AdvisoryKind::Resolved | AdvisoryKind::Removed => true,
        _ => false,
    };
    if approver_too {
        if let Some(a) = input.roster.and_then(|r| r.person(&input.rollout.approver)) {
            if !recipients.iter().any(|p| p.name == a.name) {
                recipients.push(a.clone());
            }
        }
    }
    let next = on_call.and_then(|o| {
        let n = inc.level + 1;
        o.levels.get(n).map(|l| NextLevel {
            level: n,
            after_seconds: l.after.as_secs(),
            people: l.people.clone(),
        })
    });
    let view = IncidentView {
        id: inc.id,
        opened_at: inc.opened_at,
        slot: inc.slot.clone(),
        level: *levels.end(),
        paged,
        next: if inc.acked_by.is_some()
            || matches!(kind, AdvisoryKind::Resolved | AdvisoryKind::Removed)
        {
            None
        } else {
            next
        },
        acknowledged_by: inc.acked_by.clone(),
    };
    let key = DedupKey::incident(
        &input.rollout.name,
        inc.id,
        kind_key(kind),
        *levels.end(),
        input.now,
    );
    Outgoing {
        advisory: advisory(input, kind, Some(view)),
        recipients,
        dedup_key: key,
    }
}

fn kind_key(kind: AdvisoryKind) -> &'static str {
    match kind {
        AdvisoryKind::Opened => "opened",
        AdvisoryKind::Reminder => "reminder",
        AdvisoryKind::Escalated => "escalated",
        AdvisoryKind::Resolved => "resolved",
        AdvisoryKind::Removed => "removed",
        AdvisoryKind::ReadyToExpand => "ready",
        AdvisoryKind::Acknowledged => "ack",
        AdvisoryKind::Undeliverable => "lost",
        AdvisoryKind::ChannelStuck => "stuck",
        AdvisoryKind::Decided => "decided",
    }
}

pub(super) fn advisory(
    input: &PolicyInput<'_>,
    kind: AdvisoryKind,
    incident: Option<IncidentView>,
) -> Advisory {
    let mut checks = input.checks.to_vec();
    checks.sort_by_key(|c| c.status.severity_rank());
    Advisory {
        kind,
        at: input.now,
        rollout: input.rollout.name.clone(),
        stage_index: input.stage_index,
        traffic: input
            .rollout
            .stages
            .get(input.stage_index)
            .map(|s| s.traffic.to_string())
            .unwrap_or_default(),
        verdict: input.decision.verdict,
        reason: input.decision.reason.clone(),
        ready_to_expand: input.decision.ready_to_expand.clone(),
        checks,
        approver: input.rollout.approver.clone(),
        incident,
        prometheus_url: input.prometheus_url.to_string(),
        notice: None,
    }
}
