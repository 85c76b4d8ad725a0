//! One rollout (`/rollouts/{name}`): every check with its value, limit,
//! status, breach start, description, runbook, chart and Prometheus link;
//! the verdict band of the stage; GO / NO-GO for a signed-in person; the
//! incidents with Acknowledge; the decision history. 404 for a name that
//! is not configured.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::chart::{check_chart, verdict_band};
use super::html::{query_value, safe_link, Html};
use super::layout::{self, csrf_field, Frame, Nav};
use super::parts::{bake, ladder, live_status, status_label, verdict_badge, when};
use super::session::Session;
use super::view::{Board, BoardRollout, JournalPoint, JournalValue};
use super::Pages;
use crate::domain::{DecisionRecord, Incident};

/// Journal records read for one page's charts (a day at a 30 s interval
/// is 2880).
const JOURNAL_POINTS: usize = 5000;
/// Incidents searched for this rollout's, newest first.
const INCIDENTS_SCANNED: usize = 500;
/// Decisions shown, newest first.
const DECISIONS_SHOWN: usize = 50;

/// Everything the page shows, gathered before drawing.
pub struct RolloutData<'a> {
    pub board: &'a Board,
    pub rollout: &'a BoardRollout,
    pub journal: &'a [JournalPoint],
    pub incidents: &'a [Incident],
    pub decisions: &'a [DecisionRecord],
}

pub(super) async fn page(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let board = pages.api.board();
    let session = pages.session(&headers);
    let Some(rollout) = board.rollouts.iter().find(|r| r.name == name) else {
        return super::message_page(
            &pages,
            StatusCode::NOT_FOUND,
            "No such rollout",
            "not-found",
            &format!("Sena watches no rollout named {name}."),
        );
    };
    let journal = journal(&pages, &board, rollout).await;
    let incidents: Vec<Incident> = match pages.api.incidents(INCIDENTS_SCANNED).await {
        Ok(list) => list.into_iter().filter(|i| i.rollout == name).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: cannot read incidents");
            Vec::new()
        }
    };
    let mut decisions = pages
        .api
        .decisions(Some(name.clone()), None, DECISIONS_SHOWN)
        .await
        .unwrap_or_default();
    decisions.reverse();
    let flash = session
        .as_ref()
        .and_then(|(id, _)| pages.sessions.take_flash(id));
    let data = RolloutData {
        board: &board,
        rollout,
        journal: &journal,
        incidents: &incidents,
        decisions: &decisions,
    };
    let session = session.as_ref().map(|(_, s)| s);
    let here = format!("/rollouts/{}", query_value(&name));
    let frame = Frame {
        title: &name,
        nav: Nav::Other,
        session,
        can_sign_in: pages.api.tokens().is_some(),
        here: &here,
        flash: flash.as_deref(),
    };
    layout::respond(StatusCode::OK, layout::page(&frame, &body(&data, session)))
}

pub(super) async fn fragment(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let board = pages.api.board();
    let Some(rollout) = board.rollouts.iter().find(|r| r.name == name) else {
        return layout::respond(StatusCode::NOT_FOUND, String::new());
    };
    let journal = journal(&pages, &board, rollout).await;
    let session = pages.session(&headers);
    let data = RolloutData {
        board: &board,
        rollout,
        journal: &journal,
        incidents: &[],
        decisions: &[],
    };
    let html = live(&data, session.as_ref().map(|(_, s)| s));
    layout::respond(StatusCode::OK, html.into_string())
}

async fn journal(pages: &Pages, board: &Board, rollout: &BoardRollout) -> Vec<JournalPoint> {
    if rollout.report.is_none() {
        return Vec::new();
    }
    let since = stage_start(rollout, board);
    match pages
        .api
        .journal(rollout.name.clone(), since, JOURNAL_POINTS)
        .await
    {
        Ok(points) => points,
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: cannot read the journal");
            Vec::new()
        }
    }
}

pub fn body(data: &RolloutData<'_>, session: Option<&Session>) -> Html {
    let r = data.rollout;
    let mut h = Html::with_capacity(8192);
    h.raw("<h1>").text(&r.name).raw("</h1>");
    h.raw("<div id=\"live\" data-every=\"5\" data-src=\"/fragments/rollouts/")
        .text(&query_value(&r.name))
        .raw("\">");
    h.append(&live(data, session));
    h.raw("</div>");
    super::history::incidents(&mut h, data, session);
    super::history::decisions(&mut h, data);
    h
}

/// The part the script refreshes: status, summary, forms, checks.
pub fn live(data: &RolloutData<'_>, session: Option<&Session>) -> Html {
    let (board, r) = (data.board, data.rollout);
    let mut h = Html::with_capacity(8192);
    live_status(&mut h, board, &[r]);
    h.raw("<p id=\"verdict\">");
    verdict_badge(&mut h, r.report.as_ref().map(|rep| rep.verdict));
    if let Some(rep) = &r.report {
        h.raw(" <span class=\"reason\">")
            .text(&rep.reason)
            .raw("</span>");
    }
    h.raw("</p><p>Stage:</p>");
    ladder(&mut h, r);
    h.raw("<p>");
    bake(&mut h, r, board.now);
    h.raw("</p>");
    decide_forms(&mut h, r, session);
    checks(&mut h, data);
    h.raw("<h2>Verdict over this stage</h2>");
    let band: Vec<_> = data.journal.iter().map(|p| (p.at, p.verdict)).collect();
    let start = stage_start(r, board);
    verdict_band(&mut h, &band, start, board.now);
    h
}

/// The check `name`'s value in one journal record.
fn recorded<'a>(p: &'a JournalPoint, name: &str) -> Option<&'a JournalValue> {
    p.checks.iter().find(|c| c.name == name)
}

/// Where the charts begin: the stage's start, or for a stage longer than
/// [`JOURNAL_POINTS`] evaluations, the most recent stretch that many
/// evaluations cover (the journal is read oldest first, so reading from
/// the stage's start would end the chart long before now).
fn stage_start(r: &BoardRollout, board: &Board) -> jiff::Timestamp {
    let started = r
        .report
        .as_ref()
        .map_or(board.now, |rep| rep.stage.started_at);
    let window_ms = i64::try_from(r.interval.as_millis())
        .unwrap_or(i64::MAX)
        .saturating_mul(JOURNAL_POINTS as i64 * 9 / 10);
    let recent =
        jiff::Timestamp::from_millisecond(board.now.as_millisecond().saturating_sub(window_ms))
            .unwrap_or(started);
    started.max(recent)
}

fn decide_forms(h: &mut Html, r: &BoardRollout, session: Option<&Session>) {
    let (Some(session), Some(rep)) = (session, &r.report) else {
        return;
    };
    if rep.stage.index + 1 >= rep.stage.of {
        return; // the last stage: nothing to expand to or hold back
    }
    let action = |h: &mut Html| {
        h.raw(" method=\"post\" action=\"/rollouts/")
            .text(&query_value(&r.name))
            .raw("/decide\">");
        csrf_field(h, session);
        h.raw("<input type=\"hidden\" name=\"stage\" value=\"")
            .display(rep.stage.index)
            .raw("\">");
    };
    h.raw("<h2>Decide</h2>");
    if let Some(expansion) = &rep.ready_to_expand {
        h.raw("<form id=\"decide-go\" class=\"decide\"");
        action(h);
        h.raw("<input type=\"hidden\" name=\"decision\" value=\"go\">")
            .raw("<button id=\"go\" class=\"go\" type=\"submit\">GO: expand to ")
            .text(&expansion.next_traffic)
            .raw("</button></form>");
    } else {
        h.raw("<p class=\"muted\" id=\"go-unavailable\">GO appears here when the stage has baked with every check passing.</p>");
    }
    h.raw("<form id=\"decide-no-go\" class=\"decide\"");
    action(h);
    h.raw("<input type=\"hidden\" name=\"decision\" value=\"no_go\">")
        .raw("<label for=\"comment\">Why hold (required for NO-GO)</label>")
        .raw("<textarea id=\"comment\" name=\"comment\" rows=\"2\" maxlength=\"2000\" required></textarea>")
        .raw("<p><button id=\"no-go\" class=\"nogo\" type=\"submit\">NO-GO: hold at ")
        .text(&rep.stage.traffic)
        .raw("</button></p></form>");
}

fn checks(h: &mut Html, data: &RolloutData<'_>) {
    let (board, r) = (data.board, data.rollout);
    h.raw("<h2>Checks</h2><table id=\"checks\" class=\"cards\"><thead><tr>")
        .raw("<th scope=\"col\">Check</th><th scope=\"col\">Status</th><th scope=\"col\">Value</th>")
        .raw("<th scope=\"col\">Healthy</th><th scope=\"col\">Breaching since</th><th scope=\"col\">This stage</th></tr></thead><tbody>");
    let start = stage_start(r, board);
    let base = board.prometheus_url.trim_end_matches('/');
    for info in &r.checks {
        let measured = r
            .report
            .as_ref()
            .and_then(|rep| rep.checks.iter().find(|c| c.name == info.name));
        h.raw("<tr data-check=\"")
            .text(&info.name)
            .raw("\" data-status=\"")
            .raw(measured.map_or("none", |c| c.status.as_str()))
            .raw("\"><th scope=\"row\">")
            .text(&info.name);
        if let Some(d) = &info.description {
            h.raw("<br><span class=\"muted\">").text(d).raw("</span>");
        }
        if let Some(url) = info.runbook_url.as_deref().and_then(safe_link) {
            h.raw("<br><a class=\"runbook\" href=\"")
                .text(url)
                .raw("\">Runbook</a>");
        }
        if let Some(link) = crate::domain::prometheus_url::graph_link(base, &info.query) {
            h.raw(" <a class=\"prometheus\" href=\"")
                .text(&link)
                .raw("\">Query in Prometheus</a>");
        }
        h.raw("</th><td data-label=\"Status\">");
        match measured {
            Some(c) => status_label(h, c.status),
            None => {
                h.raw("<span class=\"muted\">not evaluated</span>");
            }
        }
        h.raw("</td><td data-label=\"Value\" class=\"value\">");
        if let Some(c) = measured {
            match &c.evidence {
                // A count check: the share that decided, then its counts,
                // interval, recent window, what is missing and the
                // baseline, a line each.
                Some(e) => {
                    h.text(&info.threshold.format_value(e.deciding_value()))
                        .raw("<ul class=\"evidence\" data-check=\"")
                        .text(&info.name)
                        .raw("\" data-finding=\"")
                        .raw(e.finding.as_str())
                        .raw("\">");
                    for fact in e.fact_lines(&info.threshold) {
                        h.raw("<li>").text(&fact).raw("</li>");
                    }
                    h.raw("</ul>");
                }
                None => {
                    h.text(&c.value_text);
                }
            }
            if let Some(e) = &c.error {
                h.raw("<br><span class=\"muted\">").text(e).raw("</span>");
            }
        }
        h.raw("</td><td data-label=\"Healthy\" class=\"threshold\">")
            .display(info.threshold)
            .raw("</td><td data-label=\"Breaching since\" class=\"since\">");
        if let Some(since) = measured.and_then(|c| c.breach_started_at) {
            when(h, since);
        }
        h.raw("</td><td data-label=\"This stage\">");
        let points: Vec<_> = data
            .journal
            .iter()
            .map(|p| (p.at, recorded(p, &info.name).and_then(|c| c.value)))
            .collect();
        let intervals: Vec<_> = data
            .journal
            .iter()
            .map(|p| {
                let band = recorded(p, &info.name)
                    .and_then(|c| c.evidence.as_ref())
                    .map(|e| (e.lower, e.upper));
                (p.at, band)
            })
            .collect();
        let intervals = if intervals.iter().any(|(_, b)| b.is_some()) {
            intervals
        } else {
            Vec::new()
        };
        check_chart(
            h,
            &info.name,
            &points,
            &intervals,
            &info.threshold,
            start,
            board.now,
        );
        h.raw("</td></tr>");
    }
    h.raw("</tbody></table>");
}
