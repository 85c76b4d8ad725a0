//! Pieces both the overview and the rollout page draw: the verdict badge
//! (word and shape, never colour alone), the stage ladder, the bake line,
//! the live-status line, times and values.

use jiff::Timestamp;

use super::html::Html;
use super::view::{Board, BoardRollout};
use crate::domain::format::{format_duration, format_elapsed};
use crate::domain::{CheckStatus, Verdict};

/// `● CONTINUE`, `▲ HOLD`, `■ ROLL BACK`: the shape is decoration for
/// sighted readers, the word is the status for everyone.
pub fn verdict_badge(h: &mut Html, verdict: Option<Verdict>) {
    let (class, shape, word) = match verdict {
        Some(Verdict::Continue) => ("continue", "●", "CONTINUE"),
        Some(Verdict::Hold) => ("hold", "▲", "HOLD"),
        Some(Verdict::Rollback) => ("rollback", "■", "ROLL BACK"),
        None => ("pending", "○", "NOT YET EVALUATED"),
    };
    h.raw("<span class=\"verdict ")
        .raw(class)
        .raw("\" data-verdict=\"")
        .raw(verdict.map_or("none", Verdict::as_str))
        .raw("\"><span aria-hidden=\"true\">")
        .raw(shape)
        .raw("</span> ")
        .raw(word)
        .raw("</span>");
}

/// A check's status as a word with a mark: `✗ failing`.
pub fn status_label(h: &mut Html, status: CheckStatus) {
    let mark = match status {
        CheckStatus::Passing => "✓",
        CheckStatus::Pending | CheckStatus::Insufficient => "…",
        CheckStatus::Failing => "✗",
        CheckStatus::NoData => "?",
        CheckStatus::Error => "!",
    };
    h.raw("<span class=\"status ")
        .raw(status.as_str())
        .raw("\" data-status=\"")
        .raw(status.as_str())
        .raw("\"><span aria-hidden=\"true\">")
        .raw(mark)
        .raw("</span> ")
        .text(&match status {
            CheckStatus::Insufficient => "insufficient evidence".to_string(),
            _ => status.as_str().replace('_', " "),
        })
        .raw("</span>");
}

/// 5% → 10% → 50% → 100% with the current stage marked (bold, boxed, `▶`,
/// and `aria-current`).
pub fn ladder(h: &mut Html, rollout: &BoardRollout) {
    let current = rollout.report.as_ref().map(|r| r.stage.index);
    h.raw("<ol class=\"ladder\" aria-label=\"Stages\">");
    for (index, traffic) in rollout.ladder.iter().enumerate() {
        match current {
            Some(c) if c == index => h.raw("<li class=\"current\" aria-current=\"step\">"),
            Some(c) if index < c => h.raw("<li class=\"done\">"),
            _ => h.raw("<li>"),
        };
        h.text(traffic).raw("</li>");
    }
    h.raw("</ol>");
}

/// `baked 18h of 24h, ready in 6h` with a progress bar, or `ready —
/// waiting for lubit`, or `final stage`.
pub fn bake(h: &mut Html, rollout: &BoardRollout, now: Timestamp) {
    let Some(report) = &rollout.report else {
        h.raw("<span class=\"muted\">waiting for the first evaluation</span>");
        return;
    };
    if let Some(expansion) = &report.ready_to_expand {
        h.raw("<span class=\"bake ready\" data-ready=\"true\">ready — waiting for ")
            .text(&expansion.approver)
            .raw(" (GO to ")
            .text(&expansion.next_traffic)
            .raw(")</span>");
        return;
    }
    let Some(bake) = rollout.bake else {
        h.raw("<span class=\"bake\">final stage</span>");
        return;
    };
    let baked = (now.as_second() - report.stage.started_at.as_second()).max(0);
    let total = i64::try_from(bake.as_secs()).unwrap_or(i64::MAX);
    let shown = baked.min(total);
    h.raw("<progress max=\"")
        .display(total.max(1))
        .raw("\" value=\"")
        .display(shown)
        .raw("\"></progress> <span class=\"bake\">baked ")
        .text(&format_elapsed(shown))
        .raw(" of ")
        .text(&format_duration(bake));
    if baked < total {
        h.raw(", ready in ").text(&format_elapsed(total - baked));
    } else {
        h.raw(", baked; not ready while checks are not all passing");
    }
    h.raw("</span>");
}

/// An instant as UTC to the second: `2026-11-29 04:10:05 UTC`.
pub fn when(h: &mut Html, at: Timestamp) {
    h.raw("<time datetime=\"")
        .display(at)
        .raw("\">")
        .text(&at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .raw("</time>");
}

/// The line that says how fresh the data is; the script turns it to
/// stale when it cannot reach Sena. `data-state`: live, stale or blind.
pub fn live_status(h: &mut Html, board: &Board, rollouts: &[&BoardRollout]) {
    let stale: Vec<&str> = rollouts
        .iter()
        .filter(|r| r.stale(board.now))
        .map(|r| r.name.as_str())
        .collect();
    let blind: Vec<&str> = rollouts
        .iter()
        .filter(|r| r.blind())
        .map(|r| r.name.as_str())
        .collect();
    let state = if !board.not_ready.is_empty() || !blind.is_empty() {
        "blind"
    } else if !stale.is_empty() {
        "stale"
    } else {
        "live"
    };
    h.raw("<p id=\"live-status\" role=\"status\" data-state=\"")
        .raw(state)
        .raw("\">");
    for reason in &board.not_ready {
        h.raw("Sena is blind: ").text(reason).raw(". ");
    }
    if !blind.is_empty() {
        h.raw("No data for ")
            .text(&blind.join(", "))
            .raw(" (blind means hold). ");
    }
    if !stale.is_empty() {
        h.raw("Stale: the last evaluation of ")
            .text(&stale.join(", "))
            .raw(" is older than two intervals. ");
    }
    h.raw("Data as of ");
    when(h, board.now);
    h.raw(".</p>");
}
