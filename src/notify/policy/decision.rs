//! GO / NO-GO as one more pure transition: the rollout's stage, its NO-GO
//! hold, its last accepted decision and Sena's advice, plus the request and
//! `now`, give the record to append and what changes (stage, hold, what the
//! channel hears). The daemon commits the whole output once, guarded by the
//! rollout's version (`daemon/decisions.rs`), so two GOs at once decide once.
//!
//! Order of the rules: who may decide, then a double click (the same
//! decision again returns the first record), then a missing comment, then
//! a stale stage or a request message that is no longer the current one,
//! then Sena's advice (a GO needs `continue` and a stage
//! ready to expand, unless overridden with a comment).

use jiff::Timestamp;

use super::Outgoing;
use crate::config::Rollout;
use crate::domain::{
    Advice, Advisory, AdvisoryKind, CheckResult, Choice, DecisionRecord, DecisionRequest, DedupKey,
    Hold, Outcome, Person, Principal, Refused, StagePosition, Verdict,
};
use crate::roster::Roster;

pub struct DecisionInput<'a> {
    pub rollout: &'a Rollout,
    pub stage: StagePosition,
    pub hold: Option<&'a Hold>,
    /// The rollout's latest accepted decision, to recognise a double click.
    pub last_accepted: Option<&'a DecisionRecord>,
    /// Sena's advice on the current stage, without any NO-GO applied.
    pub advice: &'a Advice,
    /// The checks behind the advice, for the message to the channel.
    pub checks: &'a [CheckResult],
    pub request: &'a DecisionRequest,
    /// The caller holds `Capability::Decide`.
    pub can_decide: bool,
    pub roster: Option<&'a Roster>,
    pub now: Timestamp,
    pub prometheus_url: &'a str,
}

/// What a NO-GO hold becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum HoldChange {
    Keep,
    Set(Hold),
    Clear,
}

#[derive(Clone, Debug)]
pub enum DecisionOutput {
    /// The decision takes effect: append `record`, move to `stage` (a GO),
    /// change the hold, queue `outgoing`.
    Decided {
        record: DecisionRecord,
        stage: Option<StagePosition>,
        hold: HoldChange,
        outgoing: Vec<Outgoing>,
    },
    /// Refused: only the record (with why) is appended.
    Refused(DecisionRecord),
    /// The same decision was already taken: nothing changes or is recorded.
    Duplicate(DecisionRecord),
}

pub fn decide_stage(input: &DecisionInput<'_>) -> DecisionOutput {
    let req = input.request;
    let r = input.rollout;
    let here = input.stage.index;
    let comment = req
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let refuse = |refused: Refused, why: String| {
        DecisionOutput::Refused(record(
            input,
            here,
            Outcome::Refused { refused, why },
            false,
        ))
    };
    let allowed = matches!(&req.by, Principal::Person(name)
        if *name == r.approver || r.deputies.contains(name));
    if !input.can_decide || !allowed {
        let mut who = vec![r.approver.as_str()];
        who.extend(r.deputies.iter().map(String::as_str));
        let verb = match req.choice {
            Choice::Go => "approve",
            Choice::NoGo => "reject",
        };
        let why = format!("only {} can {verb} {}", who.join(" or "), r.name);
        return refuse(Refused::NotAllowed, why);
    }
    if let Some(first) = input.last_accepted {
        if first.same_as(req) && first.at >= input.stage.started_at {
            return DecisionOutput::Duplicate(first.clone());
        }
    }
    if comment.is_none() && (req.choice == Choice::NoGo || req.override_advice) {
        let why = match req.choice {
            Choice::NoGo => "a NO-GO needs a comment saying why",
            Choice::Go => "an override needs a comment saying why",
        };
        return refuse(Refused::Invalid, why.into());
    }
    if req.stage != here {
        // Even an override cannot apply a decision about one stage to
        // another: the decider looked at evidence that is no longer there.
        let why = format!(
            "{} is at stage {here} ({}), not stage {}: decide on what it runs now",
            r.name,
            traffic(r, here),
            req.stage
        );
        return refuse(Refused::Stale, why);
    }
    if let Some(asked) = req.stage_started_at {
        // Same index, another time at it (the rollout moved and came
        // back, or `sena stage` restarted it): the message answered is not
        // the current request, and its evidence is not what runs now.
        if asked.as_millisecond() != input.stage.started_at.as_millisecond() {
            let why = format!(
                "this request is no longer current: {} began stage {here} ({}) again at {} after the message was posted; decide on the newest request",
                r.name,
                traffic(r, here),
                input.stage.started_at
            );
            return refuse(Refused::Stale, why);
        }
    }
    match req.choice {
        Choice::NoGo => {
            let hold = Hold {
                stage: here,
                by: req.by.name().to_string(),
                comment: comment.unwrap_or_default().to_string(),
                at: input.now,
            };
            let rec = record(input, here, Outcome::Accepted, false);
            let reason = hold.reason();
            DecisionOutput::Decided {
                outgoing: vec![tell(input, here, Verdict::Hold, reason)],
                record: rec,
                stage: None,
                hold: HoldChange::Set(hold),
            }
        }
        Choice::Go => {
            let next = here + 1;
            if next >= r.stages.len() {
                let why = format!("{} is already at its last stage", r.name);
                return refuse(Refused::NotReady, why);
            }
            let advised = input.advice.verdict == Some(Verdict::Continue) && input.advice.ready;
            if !advised && !req.override_advice {
                let why = format!(
                    "Sena does not advise expanding {} yet ({}); GO anyway with an override and a comment",
                    r.name,
                    if input.advice.reason.is_empty() { "no evaluation of this stage yet" } else { &input.advice.reason }
                );
                return refuse(Refused::NotReady, why);
            }
            let mut reason = format!("GO by {} → now at {}", req.by.name(), traffic(r, next));
            if !advised {
                reason.push_str(" (against Sena's advice)");
            }
            if let Some(c) = comment {
                reason.push_str(": ");
                reason.push_str(c);
            }
            DecisionOutput::Decided {
                outgoing: vec![tell(input, next, Verdict::Continue, reason)],
                record: record(input, next, Outcome::Accepted, !advised),
                stage: Some(StagePosition {
                    index: next,
                    started_at: input.now,
                }),
                hold: HoldChange::Clear,
            }
        }
    }
}

fn traffic(r: &Rollout, index: usize) -> String {
    r.stages
        .get(index)
        .map(|s| s.traffic.to_string())
        .unwrap_or_default()
}

fn record(
    input: &DecisionInput<'_>,
    to_stage: usize,
    outcome: Outcome,
    against_advice: bool,
) -> DecisionRecord {
    let req = input.request;
    let r = input.rollout;
    DecisionRecord {
        id: 0,
        at: input.now,
        rollout: r.name.clone(),
        from_stage: input.stage.index,
        from_traffic: traffic(r, input.stage.index),
        to_stage,
        to_traffic: traffic(r, to_stage),
        stage_named: req.stage,
        decision: req.choice,
        by: req.by.name().to_string(),
        token: req.token.clone(),
        slack_user: req.slack_user.clone(),
        via: req.via,
        comment: req.comment.clone(),
        override_advice: req.override_advice,
        against_advice,
        outcome,
        advice: input.advice.clone(),
    }
}

/// The channel hears the decision; the approver and deputies are its
/// recipients (mail needs addresses).
fn tell(input: &DecisionInput<'_>, stage: usize, verdict: Verdict, reason: String) -> Outgoing {
    let r = input.rollout;
    let recipients: Vec<Person> = std::iter::once(&r.approver)
        .chain(&r.deputies)
        .filter_map(|n| input.roster.and_then(|ro| ro.person(n)))
        .cloned()
        .collect();
    let mut checks = input.checks.to_vec();
    checks.sort_by_key(|c| c.status.severity_rank());
    Outgoing {
        advisory: Advisory {
            kind: AdvisoryKind::Decided,
            at: input.now,
            rollout: r.name.clone(),
            stage_index: stage,
            traffic: traffic(r, stage),
            verdict,
            reason,
            ready_to_expand: None,
            checks,
            approver: r.approver.clone(),
            incident: None,
            prometheus_url: input.prometheus_url.to_string(),
            notice: None,
        },
        recipients,
        dedup_key: DedupKey::decided(&r.name, input.stage.index, input.now),
    }
}

#[cfg(test)]
mod tests;
