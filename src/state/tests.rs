//! The store against a real SQLite file in a temp dir; reopening it stands
//! in for a restart.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::decide::Verdict;
use crate::domain::{Channel, DedupKey};
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
        dedup_key: DedupKey::literal(key),
        fallback_from: None,
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
                expected_version: 0,
                at: t0,
                journal: Some("{\"x\":1}".into()),
                breaches: Some(&breaches),
                memory: Some(&memory),
                incident: None,
                outbox: &[(Channel::Console, delivery("k1"))],
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
            .enqueue(
                &[
                    (Channel::Email, delivery("k1")),
                    (Channel::Email, delivery("k1")),
                ],
                t0,
            )
            .unwrap();
        store
            .enqueue(&[(Channel::Email, delivery("k2"))], t0)
            .unwrap();
        let due = store.due(Channel::Email, 10).unwrap().items;
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
    let again = store.due(Channel::Email, 10).unwrap().items;
    let keys: Vec<&str> = again
        .iter()
        .map(|i| i.delivery.dedup_key.as_str())
        .collect();
    assert_eq!(keys, ["k1", "k2"]);
    assert_eq!((again[0].id, again[0].attempts), (first, 1));
    assert_eq!(again[0].progress.reached, ["sena@example.com"]);
    assert!(again[1].progress.is_empty());
    assert!(
        store.due(Channel::Slack, 10).unwrap().items.is_empty(),
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
        .enqueue(&[(Channel::Email, delivery("k1"))], t0)
        .unwrap();
    // As written by a Sena before per-recipient progress.
    let conn = rusqlite::Connection::open(dir.path().join("sena.db")).unwrap();
    conn.execute_batch("ALTER TABLE outbox DROP COLUMN progress")
        .unwrap();
    drop(conn);
    let store = Store::open(dir.path()).unwrap();
    let due = store.due(Channel::Email, 10).unwrap();
    assert_eq!(due.items.len(), 1, "{due:?}");
    assert!(due.items[0].progress.is_empty());
}

#[test]
fn unreadable_progress_quarantines_the_row_rather_than_guessing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t0 = ts("2025-10-22T14:00:00Z");
    store
        .enqueue(&[(Channel::Email, delivery("k1"))], t0)
        .unwrap();
    store.execute_for_tests("UPDATE outbox SET progress = '{\"reached\":'");
    let due = store.due(Channel::Email, 10).unwrap();
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
    store
        .enqueue(&[(Channel::Email, delivery("k1"))], t0)
        .unwrap();
    let id = store.due(Channel::Email, 1).unwrap().items[0].id;
    store.mark_failed(id, "550 mailbox unavailable").unwrap();
    let stats = store.outbox_stats().unwrap();
    assert_eq!((stats.depth, stats.failed), (0, 1));
    assert!(store.due(Channel::Email, 1).unwrap().items.is_empty());
}

#[test]
fn a_change_computed_from_an_old_version_is_refused_whole() {
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
    let commit = |expected_version: i64, incident: &Incident| {
        store.commit_evaluation(&EvaluationCommit {
            rollout: "a",
            expected_version,
            at: t0,
            journal: None,
            breaches: None,
            memory: None,
            incident: Some(incident),
            outbox: &[(Channel::Slack, delivery(&format!("k{expected_version}")))],
            stage: None,
        })
    };
    commit(0, &incident).unwrap();
    let state = store.rollout_state("a").unwrap();
    assert_eq!(
        (state.version, state.incident.as_ref().map(|i| i.id)),
        (1, Some(1))
    );
    // Ids are reserved, never handed out twice, and stay above stored ones.
    assert_eq!(store.next_incident_id(0).unwrap(), 2);
    assert_eq!(store.next_incident_id(0).unwrap(), 3);
    assert_eq!(store.next_incident_id(9).unwrap(), 10, "above the floor");

    // An ack computed from version 1 commits and bumps the version...
    let mut acked = incident.clone();
    acked.acked_by = Some("sena".into());
    acked.acked_at = Some(t0);
    commit(1, &acked).unwrap();
    // ...so a change computed from version 1 too (an evaluation that read
    // the incident before the ack) is refused whole: no incident write, no
    // outbox row.
    let mut escalated = incident.clone();
    escalated.level = 1;
    let err = commit(1, &escalated).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    let state = store.rollout_state("a").unwrap();
    assert_eq!(state.version, 2);
    let open = state.incident.unwrap();
    assert_eq!((open.acked_by.as_deref(), open.level), (Some("sena"), 0));
    assert_eq!(store.outbox_stats().unwrap().depth, 2, "k0 and k1 only");
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
                expected_version: store
                    .rollout_state(if i % 2 == 0 { "a" } else { "b" })
                    .unwrap()
                    .version,
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
        .enqueue(
            &[(Channel::Console, delivery("k1"))],
            ts("2025-10-22T14:00:00Z"),
        )
        .unwrap();
    assert_eq!(store.outbox_stats().unwrap().depth, 1);
}

#[test]
fn a_damaged_incident_timestamp_is_corrupt_not_1970() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.execute_for_tests(
        "INSERT INTO incident (id, rollout, opened_at, verdict, slot_since, level)
         VALUES (7, 'a', 9223372036854775807, 'rollback', 0, 0)",
    );
    let err = store.incident(7).unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("incident 7")),
        "{err}"
    );
    assert!(store.rollout_state("a").is_err());
}

#[test]
fn pruning_a_large_journal_goes_in_batches_to_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // 2,500 records a minute apart, more than several batches.
    store.execute_for_tests(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
         INSERT INTO journal (at, rollout, record) SELECT i * 60000, 'a', '{}' FROM n",
    );
    let by_age = store
        .prune_journal(
            Timestamp::from_millisecond(1001 * 60000).unwrap(),
            usize::MAX,
        )
        .unwrap();
    assert_eq!(by_age, 1000, "records before minute 1001");
    let by_count = store.prune_journal(Timestamp::UNIX_EPOCH, 10).unwrap();
    assert_eq!(by_count, 1490);
    let left = store.journal(&JournalQuery::default()).unwrap();
    assert_eq!(left.len(), 10);
}
