//! On call (`/oncall`): who is paged now and after how long, the next
//! hand-over, overrides in force, and the roster's coverage gaps, from
//! the same roster code as `sena roster`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::html::Html;
use super::layout::{self, Frame, Nav};
use super::parts::when;
use super::view::{OnCallView, SlotView};
use super::Pages;
use crate::domain::format::format_duration;

pub(super) async fn page(State(pages): State<Pages>, headers: HeaderMap) -> Response {
    let session = pages.session(&headers);
    let body = body(pages.api.on_call().as_ref());
    let frame = Frame {
        title: "On call",
        nav: Nav::OnCall,
        session: session.as_ref().map(|(_, s)| s),
        can_sign_in: pages.api.tokens().is_some(),
        here: "/oncall",
        flash: None,
    };
    layout::respond(StatusCode::OK, layout::page(&frame, &body))
}

pub fn body(view: Option<&OnCallView>) -> Html {
    let mut h = Html::default();
    h.raw("<h1>On call</h1>");
    let Some(view) = view else {
        h.raw("<p id=\"oncall-now\">No roster is configured (<code>roster:</code> in sena.yaml): advisories go to the approver only.</p>");
        return h;
    };
    h.raw("<p class=\"muted\">Times in ")
        .text(&view.timezone)
        .raw(" are the roster's; instants below are UTC.</p>");
    match &view.now {
        Some(slot) => {
            h.raw("<p id=\"oncall-now\">Now: slot <strong>")
                .text(&slot.slot)
                .raw("</strong></p>");
            chain(&mut h, slot);
        }
        None => {
            h.raw("<p id=\"oncall-now\" class=\"banner bad\"><strong>Nobody is on call now</strong> (a coverage gap): an incident opened now pages nobody.</p>");
        }
    }
    if !view.overrides.is_empty() {
        h.raw("<h2>Overrides in force</h2><ul id=\"overrides\">");
        for o in &view.overrides {
            h.raw("<li>").text(o).raw("</li>");
        }
        h.raw("</ul>");
    }
    h.raw("<h2>Next hand-over</h2><p id=\"handover\">");
    match &view.next_handover {
        Some((at, Some(next))) => {
            when(&mut h, *at);
            h.raw(": slot ").text(&next.slot).raw(", level 0: ");
            let first = next.levels.first().map(|l| l.people.join(", "));
            h.text(first.as_deref().unwrap_or("nobody"));
        }
        Some((at, None)) => {
            when(&mut h, *at);
            h.raw(": <strong>a coverage gap begins</strong>, nobody is paged.");
        }
        None => {
            h.raw("No change in the coming week.");
        }
    }
    h.raw("</p><h2>Coverage gaps</h2>");
    if view.gaps.is_empty() {
        h.raw("<p id=\"gaps\">None: some slot holds at every hour of the week.</p>");
    } else {
        h.raw("<ul id=\"gaps\">");
        for g in &view.gaps {
            h.raw("<li>Nobody paged ").text(g).raw("</li>");
        }
        h.raw("</ul>");
    }
    h
}

fn chain(h: &mut Html, slot: &SlotView) {
    h.raw("<table id=\"escalation\"><caption class=\"muted\">Escalation chain: each level is paged when the incident is not acknowledged after its delay</caption><thead><tr><th scope=\"col\">Level</th><th scope=\"col\">Paged</th><th scope=\"col\">People</th></tr></thead><tbody>");
    for (index, level) in slot.levels.iter().enumerate() {
        h.raw("<tr data-level=\"")
            .display(index)
            .raw("\"><th scope=\"row\">")
            .display(index)
            .raw("</th><td>");
        if level.after.is_zero() {
            h.raw("at once");
        } else {
            h.raw("after ").text(&format_duration(level.after));
        }
        h.raw("</td><td>")
            .text(&level.people.join(", "))
            .raw("</td></tr>");
    }
    h.raw("</tbody></table>");
}
