//! What the dashboard reads (`server::Api::{board, journal, on_call}`),
//! built from the config, the latest evaluations, the journal and the
//! roster, so the pages never see those modules.

use std::sync::Arc;

use super::Shared;
use crate::roster::{OnCall, Roster};
use crate::server::page::view::{
    Board, BoardRollout, CheckInfo, JournalPoint, LevelView, OnCallView, SlotView,
};
use crate::state::JournalQuery;

pub fn board(shared: &Shared, not_ready: Vec<String>) -> Board {
    let config = shared.config();
    let latest = shared.latest.read().unwrap_or_else(|p| p.into_inner());
    let rollouts = config
        .rollouts
        .iter()
        .map(|r| {
            let evaluated = latest.get(&r.name);
            let report = evaluated.map(|l| l.report.clone());
            // The query as run (`{{ rollout }}` filled in), else as written.
            let query_of = |c: &crate::config::Check| {
                evaluated
                    .and_then(|l| l.checks.iter().find(|e| e.name == c.name))
                    .map_or_else(|| c.query.clone(), |e| e.query.clone())
            };
            let index = report.as_ref().map_or(0, |rep| rep.stage.index);
            BoardRollout {
                name: r.name.clone(),
                ladder: r.stages.iter().map(|s| s.traffic.to_string()).collect(),
                bake: r.stages.get(index).and_then(|s| s.bake),
                interval: r.interval,
                approver: r.approver.clone(),
                report,
                checks: r
                    .checks
                    .iter()
                    .map(|c| CheckInfo {
                        name: c.name.clone(),
                        query: query_of(c),
                        threshold: c.threshold,
                        description: c.description.clone(),
                        runbook_url: c.runbook_url.clone(),
                    })
                    .collect(),
            }
        })
        .collect();
    Board {
        now: shared.clock.now(),
        prometheus_url: config.prometheus.external_url.clone(),
        not_ready,
        rollouts,
    }
}

/// Journal records that cannot be read (written by another version) are
/// skipped: a chart with a gap beats no page.
pub async fn journal(
    shared: &Arc<Shared>,
    rollout: String,
    since: jiff::Timestamp,
    limit: usize,
) -> Result<Vec<JournalPoint>, String> {
    let query = JournalQuery {
        since: Some(since),
        rollout: Some(rollout),
        limit: Some(limit),
    };
    let rows = shared
        .store
        .call(move |s| s.journal(&query))
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows
        .iter()
        .filter_map(|row| serde_json::from_str(row).ok())
        .collect())
}

pub fn on_call(shared: &Shared) -> Option<OnCallView> {
    let config = shared.config();
    let roster: &Roster = config.roster.as_ref()?;
    let now = shared.clock.now();
    let current = roster.on_call(now);
    let week = roster.week(now);
    let position = week
        .iter()
        .position(|row| row.start <= now && now < row.end);
    let next_handover = position.and_then(|i| {
        let next = week.get(i + 1)?;
        Some((next.start, next.on_call.as_ref().map(slot_view)))
    });
    Some(OnCallView {
        timezone: roster.timezone_name().to_string(),
        overrides: current.as_ref().map_or_else(Vec::new, |c| {
            roster
                .overrides_at(now, &c.slot)
                .iter()
                .map(ToString::to_string)
                .collect()
        }),
        now: current.as_ref().map(slot_view),
        next_handover,
        gaps: roster
            .coverage_gaps()
            .iter()
            .map(ToString::to_string)
            .collect(),
    })
}

fn slot_view(on_call: &OnCall) -> SlotView {
    SlotView {
        slot: on_call.slot.clone(),
        levels: on_call
            .levels
            .iter()
            .map(|l| LevelView {
                after: l.after,
                people: l.people.iter().map(|p| p.name.clone()).collect(),
            })
            .collect(),
    }
}
