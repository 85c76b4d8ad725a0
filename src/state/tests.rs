//! The store against a real SQLite file in a temp dir; reopening it stands
//! in for a restart.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::decide::Verdict;
use crate::eval::BreachMemory;
use crate::notify::{Advisory, AdvisoryKind, Delivery, RecipientProgress};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn delivery(key: &str) -> Delivery {
    Delivery {
        advisory: Advisory {
            kind: AdvisoryKind::Opened,
            at: ts("2025-10-22T14:00:00Z"),
            rollout: "checkout-api".into(),
            stage_index: 0,
            traffic: "5%".into(),
            verdict: Verdict::Rollback,
            reason: "roll back".into(),
            ready_to_expand: None,
            checks: vec![],
            approver: "lubit".into(),
            incident: None,
            prometheus_url: "http://prom".into(),
            notice: None,
        },
        recipients: vec![],
        dedup_key: key.into(),
        thread: None,
    }
}

#[test]
fn stage_breaches_and_memory_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = ts("2025-10-22T14:00:00Z");
    {
        let store = Store::open(dir.path()).unwrap();
        let stage = store.stage_or_start("a", t0).unwrap();
        assert_eq!((stage.index, stage.started_at), (0, t0));
        let mut breaches = BreachMemory::new();
        breaches.insert("error_rate".into(), t0);
        let memory = RolloutMemory {
            verdict: Verdict::Hold,
            since: t0,
            last_notified_at: Some(t0),
            ready_notified_stage: None,
        };
        store
            .commit_evaluation(&EvaluationCommit {
                rollout: "a",
                at: t0,
                journal: Some("{\"x\":1}".into()),
                breaches: Some(&breaches),
                memory: Some(&memory),
                incident: None,
                outbox: &[("console", delivery("k1"))],
                stage: None,
            })
            .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    // A later start does not reset the stage clock.
    let stage = store
        .stage_or_start("a", ts("2025-10-23T00:00:00Z"))
        .unwrap();
    assert_eq!(stage.started_at, t0);
    assert_eq!(store.breaches("a").unwrap().get("error_rate"), Some(&t0));
    assert_eq!(store.memory("a").unwrap().unwrap().verdict, Verdict::Hold);
    assert_eq!(
        store.journal(&JournalQuery::default()).unwrap(),
        vec!["{\"x\":1}"]
    );
    assert_eq!(store.outbox_stats().unwrap().depth, 1);
}

#[test]
fn a_retried_row_keeps_its_place_and_its_progress_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = ts("2025-10-22T14:00:00Z");
    let first = {
        let store = Store::open(dir.path()).unwrap();
        store
            .enqueue(&[("email", delivery("k1")), ("email", delivery("k1"))], t0)
            .unwrap();
        store.enqueue(&[("email", delivery("k2"))], t0).unwrap();
        let due = store.due("email", 10).unwrap().items;
        assert_eq!(due.len(), 2, "the same dedup key is queued once");
        let progress = RecipientProgress {
            reached: vec!["sena@example.com".into()],
            refused: vec![],
        };
        store
            .mark_retry(
                due[0].id,
                t0 + SignedDuration::from_secs(7),
                "451",
                &progress,
            )
            .unwrap();
        due[0].id
    };
    // Reopened, as after a restart: the failed row is still first in line
    // (backoff is the channel's, not the row's) and knows who has it.
    let store = Store::open(dir.path()).unwrap();
    let again = store.due("email", 10).unwrap().items;
    let keys: Vec<&str> = again
        .iter()
        .map(|i| i.delivery.dedup_key.as_str())
        .collect();
    assert_eq!(keys, ["k1", "k2"]);
    assert_eq!((again[0].id, again[0].attempts), (first, 1));
    assert_eq!(again[0].progress.reached, ["sena@example.com"]);
    assert!(again[1].progress.is_empty());
    assert!(
        store.due("slack", 10).unwrap().items.is_empty(),
        "channels do not see each other's items"
    );
    store.mark_sent(again[0].id).unwrap();
    store.mark_sent(again[1].id).unwrap();
    assert_eq!(store.outbox_stats().unwrap(), OutboxStats::default());
}

#[test]
fn a_store_without_the_progress_column_gains_it() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = ts("2025-10-22T14:00:00Z");
    Store::open(dir.path())
        .unwrap()
        .enqueue(&[("email", delivery("k1"))], t0)
        .unwrap();
    // As written by a Sena before per-recipient progress.
    let conn = rusqlite::Connection::open(dir.path().join("sena.db")).unwrap();
    conn.execute_batch("ALTER TABLE outbox DROP COLUMN progress")
        .unwrap();
    drop(conn);
    let store = Store::open(dir.path()).unwrap();
    let due = store.due("email", 10).unwrap();
    assert_eq!(due.items.len(), 1, "{due:?}");
    assert!(due.items[0].progress.is_empty());
}

#[test]
fn unreadable_progress_quarantines_the_row_rather_than_guessing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t0 = ts("2025-10-22T14:00:00Z");
    store.enqueue(&[("email", delivery("k1"))], t0).unwrap();
    store.execute_for_tests("UPDATE outbox SET progress = '{\"reached\":'");
    let due = store.due("email", 10).unwrap();
    assert!(due.items.is_empty());
    assert!(
        due.unreadable[0].reason.contains("progress"),
        "{:?}",
        due.unreadable
    );
}

#[test]
fn permanent_failures_stay_visible() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t0 = ts("2025-10-22T14:00:00Z");
    store.enqueue(&[("email", delivery("k1"))], t0).unwrap();
    let id = store.due("email", 1).unwrap().items[0].id;
    store.mark_failed(id, "550 mailbox unavailable").unwrap();
    let stats = store.outbox_stats().unwrap();
    assert_eq!((stats.depth, stats.failed), (0, 1));
    assert!(store.due("email", 1).unwrap().items.is_empty());
}

#[test]
fn acknowledging_keeps_the_first_acknowledger() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t0 = ts("2025-10-22T14:00:00Z");
    let incident = Incident {
        id: store.next_incident_id(0).unwrap(),
        rollout: "a".into(),
        opened_at: t0,
        verdict: Verdict::Rollback,
        slot: Some("day".into()),
        slot_since: t0,
        level: 0,
        acked_by: None,
        acked_at: None,
        calm_since: None,
        resolved_at: None,
        thread: None,
    };
    store
        .commit_evaluation(&EvaluationCommit {
            rollout: "a",
            at: t0,
            journal: None,
            breaches: None,
            memory: None,
            incident: Some(&incident),
            outbox: &[],
            stage: None,
        })
        .unwrap();
    assert_eq!(store.open_incident("a").unwrap().unwrap().id, 1);
    // Ids are reserved, never handed out twice, and stay above stored ones.
    assert_eq!(store.next_incident_id(0).unwrap(), 2);
    assert_eq!(store.next_incident_id(0).unwrap(), 3);
    let acked = store.ack_incident(1, "sena", t0).unwrap().unwrap();
    assert_eq!(acked.acked_by.as_deref(), Some("sena"));
    let again = store.ack_incident(1, "copilot", t0).unwrap().unwrap();
    assert_eq!(again.acked_by.as_deref(), Some("sena"));
    assert!(store.ack_incident(99, "x", t0).unwrap().is_none());
    store.set_incident_thread(1, "1700000000.000100").unwrap();
    assert_eq!(
        store.incident(1).unwrap().unwrap().thread.as_deref(),
        Some("1700000000.000100")
    );
}

#[test]
fn journal_is_bounded_by_age_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t0 = ts("2025-10-22T14:00:00Z");
    for i in 0..10 {
        let at = t0 + Duration::from_secs(i * 60);
        store
            .commit_evaluation(&EvaluationCommit {
                rollout: if i % 2 == 0 { "a" } else { "b" },
                at,
                journal: Some(format!("{{\"i\":{i}}}")),
                breaches: None,
                memory: None,
                incident: None,
                outbox: &[],
                stage: None,
            })
            .unwrap();
    }
    let only_a = store
        .journal(&JournalQuery {
            rollout: Some("a".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(only_a.len(), 5);
    let since = store
        .journal(&JournalQuery {
            since: Some(t0 + Duration::from_secs(8 * 60)),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(since, vec!["{\"i\":8}", "{\"i\":9}"]);
    // Older than 2 minutes before the last → 7 deleted; then keep at most 2.
    store
        .prune_journal(t0 + Duration::from_secs(7 * 60), 2)
        .unwrap();
    assert_eq!(
        store.journal(&JournalQuery::default()).unwrap(),
        vec!["{\"i\":8}", "{\"i\":9}"]
    );
}

#[test]
fn a_failed_transaction_leaves_nothing_behind_and_the_store_usable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let conn = store.conn();
    let failed: Result<()> = in_transaction(&conn, |tx| {
        tx.execute(
            "INSERT INTO journal (at, rollout, record) VALUES (1, 'a', '{}')",
            [],
        )?;
        Err(StoreError::Corrupt("injected".into()))
    });
    assert!(failed.is_err());
    assert!(conn.is_autocommit(), "the transaction was not closed");
    drop(conn);
    assert!(store.journal(&JournalQuery::default()).unwrap().is_empty());
    store
        .enqueue(&[("console", delivery("k1"))], ts("2025-10-22T14:00:00Z"))
        .unwrap();
    assert_eq!(store.outbox_stats().unwrap().depth, 1);
}
