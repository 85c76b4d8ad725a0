//! The overview (`/`): one row per rollout, the ones needing people first,
//! filterable by verdict with a plain link (`?verdict=rollback`), so the
//! filter works without the script.

use super::html::{query_value, Html};
use super::parts::{bake, ladder, live_status, verdict_badge};
use super::view::{Board, BoardRollout};
use crate::domain::{CheckStatus, Verdict};

/// Which rollouts the overview lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Filter {
    #[default]
    All,
    /// Rollback, hold, or waiting for a GO.
    Attention,
    Only(Verdict),
}

impl Filter {
    /// `?verdict=`; anything unknown lists everything rather than nothing.
    pub fn parse(value: Option<&str>) -> Filter {
        match value {
            Some("attention") => Filter::Attention,
            Some(v) => Verdict::parse(v).map_or(Filter::All, Filter::Only),
            None => Filter::All,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Attention => "attention",
            Filter::Only(v) => v.as_str(),
        }
    }

    fn keeps(self, r: &BoardRollout) -> bool {
        match self {
            Filter::All => true,
            Filter::Attention => r.needs_people(),
            Filter::Only(v) => r.report.as_ref().is_some_and(|rep| rep.verdict == v),
        }
    }
}

/// Rollback first, then hold, then a stage waiting for its GO, then the
/// rest; config order within each.
fn rank(r: &BoardRollout) -> u8 {
    match &r.report {
        Some(rep) if rep.verdict == Verdict::Rollback => 0,
        Some(rep) if rep.verdict == Verdict::Hold => 1,
        Some(rep) if rep.ready_to_expand.is_some() => 2,
        Some(_) => 3,
        None => 4,
    }
}

/// The page body: heading, filters, and the live region.
pub fn body(board: &Board, filter: Filter) -> Html {
    let mut h = Html::with_capacity(512 + board.rollouts.len() * 900);
    h.raw("<h1>Rollouts</h1><p class=\"filters\" id=\"filters\">Show: ");
    for (f, label) in [
        (Filter::All, "all"),
        (Filter::Attention, "needs people"),
        (Filter::Only(Verdict::Rollback), "roll back"),
        (Filter::Only(Verdict::Hold), "hold"),
        (Filter::Only(Verdict::Continue), "continue"),
    ] {
        h.raw("<a href=\"/?verdict=").raw(f.as_str()).raw("\"");
        if f == filter {
            h.raw(" aria-current=\"true\"");
        }
        h.raw(" data-filter=\"")
            .raw(f.as_str())
            .raw("\">")
            .raw(label)
            .raw("</a>");
    }
    h.raw("</p><div id=\"live\" data-every=\"5\" data-src=\"/fragments/overview?verdict=")
        .raw(filter.as_str())
        .raw("\">");
    h.append(&live(board, filter));
    h.raw("</div>");
    h
}

/// What the script refreshes: the status line and the table.
pub fn live(board: &Board, filter: Filter) -> Html {
    let mut rows: Vec<&BoardRollout> = board.rollouts.iter().filter(|r| filter.keeps(r)).collect();
    rows.sort_by_key(|r| rank(r));
    let mut h = Html::with_capacity(512 + rows.len() * 900);
    let all: Vec<&BoardRollout> = board.rollouts.iter().collect();
    live_status(&mut h, board, &all);
    if board.rollouts.is_empty() {
        h.raw("<p id=\"no-rollouts\">No rollouts are configured. Add one under <code>rollouts:</code> in sena.yaml and reload.</p>");
        return h;
    }
    if rows.is_empty() {
        h.raw(
            "<p id=\"no-rollouts\">No rollout matches this filter. <a href=\"/\">Show all</a>.</p>",
        );
        return h;
    }
    h.raw("<table id=\"rollouts\" class=\"cards\"><caption class=\"muted\">")
        .display(rows.len())
        .raw(" of ")
        .display(board.rollouts.len())
        .raw(" rollouts, the ones needing people first</caption><thead><tr>")
        .raw("<th scope=\"col\">Rollout</th><th scope=\"col\">Verdict</th><th scope=\"col\">Stage</th>")
        .raw("<th scope=\"col\">Bake</th><th scope=\"col\">Reason</th><th scope=\"col\">Worst check</th></tr></thead><tbody>");
    for r in rows {
        row(&mut h, board, r);
    }
    h.raw("</tbody></table>");
    h
}

fn row(h: &mut Html, board: &Board, r: &BoardRollout) {
    let verdict = r.report.as_ref().map(|rep| rep.verdict);
    h.raw("<tr data-rollout=\"")
        .text(&r.name)
        .raw("\" data-verdict=\"")
        .raw(verdict.map_or("none", Verdict::as_str))
        .raw("\"><th scope=\"row\"><a href=\"/rollouts/")
        .text(&query_value(&r.name))
        .raw("\">")
        .text(&r.name)
        .raw("</a>");
    if r.stale(board.now) {
        h.raw(" <span class=\"muted\" data-stale=\"true\">(stale)</span>");
    }
    h.raw("</th><td data-label=\"Verdict\">");
    verdict_badge(h, verdict);
    h.raw("</td><td data-label=\"Stage\">");
    ladder(h, r);
    h.raw("</td><td data-label=\"Bake\">");
    bake(h, r, board.now);
    h.raw("</td><td data-label=\"Reason\" class=\"reason\">");
    if let Some(rep) = &r.report {
        h.text(&rep.reason);
    }
    h.raw("</td><td data-label=\"Worst check\" class=\"worst\">");
    worst(h, r);
    h.raw("</td></tr>");
}

fn worst(h: &mut Html, r: &BoardRollout) {
    let Some(rep) = &r.report else { return };
    let Some(worst) = rep.checks.iter().min_by_key(|c| c.status.severity_rank()) else {
        h.raw("<span class=\"muted\">no checks</span>");
        return;
    };
    if worst.status == CheckStatus::Passing {
        h.raw("all ").display(rep.checks.len()).raw(" passing");
        return;
    }
    super::parts::status_label(h, worst.status);
    h.raw(" ")
        .text(&worst.name)
        .raw(": ")
        .text(&worst.value_text)
        .raw(" (healthy ")
        .text(&worst.threshold)
        .raw(")");
}
