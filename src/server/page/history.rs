//! The rollout page's history: its incidents (opened, level paged, who
//! acknowledged, resolved; Acknowledge for a signed-in person) and its
//! GO / NO-GO records with Sena's advice at the time.

use super::html::{query_value, Html};
use super::layout::csrf_field;
use super::parts::{verdict_badge, when};
use super::rollout::RolloutData;
use super::session::Session;
use crate::domain::Outcome;

pub fn incidents(h: &mut Html, data: &RolloutData<'_>, session: Option<&Session>) {
    h.raw("<h2>Incidents</h2>");
    if data.incidents.is_empty() {
        h.raw("<p class=\"muted\" id=\"incidents\">No incidents.</p>");
        return;
    }
    h.raw("<table id=\"incidents\" class=\"cards\"><thead><tr><th scope=\"col\">Incident</th><th scope=\"col\">Opened</th>")
        .raw("<th scope=\"col\">Verdict</th><th scope=\"col\">Paged up to</th><th scope=\"col\">Acknowledged</th><th scope=\"col\">Resolved</th></tr></thead><tbody>");
    for i in data.incidents {
        h.raw("<tr data-incident=\"")
            .display(i.id)
            .raw("\"><th scope=\"row\">#")
            .display(i.id)
            .raw("</th><td data-label=\"Opened\">");
        when(h, i.opened_at);
        h.raw("</td><td data-label=\"Verdict\">");
        verdict_badge(h, Some(i.verdict));
        h.raw("</td><td data-label=\"Paged up to\">level ")
            .display(i.level);
        if let Some(slot) = &i.slot {
            h.raw(" of ").text(slot);
        }
        h.raw("</td><td data-label=\"Acknowledged\">");
        match (&i.acked_by, i.acked_at) {
            (Some(by), Some(at)) => {
                h.text(by).raw(" at ");
                when(h, at);
            }
            (Some(by), None) => {
                h.text(by);
            }
            _ => match session {
                Some(session) if i.resolved_at.is_none() => {
                    h.raw("<form class=\"inline\" method=\"post\" action=\"/incidents/")
                        .display(i.id)
                        .raw("/ack\">");
                    csrf_field(h, session);
                    h.raw("<input type=\"hidden\" name=\"back\" value=\"/rollouts/")
                        .text(&query_value(&data.rollout.name))
                        .raw("\"><button class=\"ack\" type=\"submit\" data-incident=\"")
                        .display(i.id)
                        .raw("\">Acknowledge</button></form>");
                }
                _ => {
                    h.raw("not yet");
                }
            },
        }
        h.raw("</td><td data-label=\"Resolved\">");
        match i.resolved_at {
            Some(at) => when(h, at),
            None => {
                h.raw("open");
            }
        }
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table>");
}

pub fn decisions(h: &mut Html, data: &RolloutData<'_>) {
    h.raw("<h2>Decisions</h2>");
    if data.decisions.is_empty() {
        h.raw("<p class=\"muted\" id=\"decisions\">No GO or NO-GO yet.</p>");
        return;
    }
    h.raw("<table id=\"decisions\" class=\"cards\"><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Decision</th>")
        .raw("<th scope=\"col\">Who</th><th scope=\"col\">Stage</th><th scope=\"col\">Comment</th><th scope=\"col\">Sena advised</th></tr></thead><tbody>");
    for d in data.decisions {
        h.raw("<tr data-decision=\"")
            .display(d.id)
            .raw("\"><th scope=\"row\">");
        when(h, d.at);
        h.raw("</th><td data-label=\"Decision\">")
            .raw(d.decision.as_str());
        if let Outcome::Refused { why, .. } = &d.outcome {
            h.raw(" <strong>refused</strong>: ").text(why);
        } else if d.against_advice {
            h.raw(" (against advice)");
        }
        h.raw("</td><td data-label=\"Who\">")
            .text(&d.by)
            .raw(" <span class=\"muted\">via ")
            .text(&format!("{:?}", d.via).to_lowercase())
            .raw("</span></td><td data-label=\"Stage\">")
            .text(&d.from_traffic)
            .raw(" → ")
            .text(&d.to_traffic)
            .raw("</td><td data-label=\"Comment\">")
            .text(d.comment.as_deref().unwrap_or(""))
            .raw("</td><td data-label=\"Sena advised\">");
        verdict_badge(h, d.advice.verdict);
        h.raw(" ").text(&d.advice.reason).raw("</td></tr>");
    }
    h.raw("</tbody></table>");
}
