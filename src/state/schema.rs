//! Table layout. Times are Unix milliseconds.

use rusqlite::Connection;

pub fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Every hot-path statement is prepared once; keep them all cached.
    conn.set_prepared_statement_cache_capacity(32);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute_batch(
        "
        CREATE TABLE IF NOT EXISTS stage (
            rollout     TEXT PRIMARY KEY,
            idx         INTEGER NOT NULL,
            started_at  INTEGER NOT NULL,
            changed_by  TEXT
        );
        CREATE TABLE IF NOT EXISTS breach (
            rollout     TEXT NOT NULL,
            check_name  TEXT NOT NULL,
            started_at  INTEGER NOT NULL,
            PRIMARY KEY (rollout, check_name)
        );
        -- What was last said about a rollout, so a restart neither re-pages
        -- nor forgets a reminder.
        CREATE TABLE IF NOT EXISTS rollout_memory (
            rollout           TEXT PRIMARY KEY,
            verdict           TEXT NOT NULL,
            since             INTEGER NOT NULL,
            last_notified_at  INTEGER,
            ready_notified_stage INTEGER
        );
        CREATE TABLE IF NOT EXISTS journal (
            id       INTEGER PRIMARY KEY,
            at       INTEGER NOT NULL,
            rollout  TEXT NOT NULL,
            record   TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS journal_at ON journal (at);
        -- `sena dataset` looks up one rollout's journal after a decision.
        CREATE INDEX IF NOT EXISTS journal_rollout_at ON journal (rollout, at);
        CREATE TABLE IF NOT EXISTS incident (
            id            INTEGER PRIMARY KEY,
            rollout       TEXT NOT NULL,
            opened_at     INTEGER NOT NULL,
            verdict       TEXT NOT NULL,
            slot          TEXT,
            slot_since    INTEGER NOT NULL,
            level         INTEGER NOT NULL,
            acked_by      TEXT,
            acked_at      INTEGER,
            calm_since    INTEGER,
            resolved_at   INTEGER,
            thread        TEXT
        );
        CREATE INDEX IF NOT EXISTS incident_open ON incident (rollout, resolved_at);
        -- Bumped by every committed state change of a rollout (evaluation,
        -- acknowledgement): a change computed from an older version is
        -- refused and recomputed, so a concurrent ack and evaluation cannot
        -- both win.
        CREATE TABLE IF NOT EXISTS rollout_version (
            rollout  TEXT PRIMARY KEY,
            version  INTEGER NOT NULL
        );
        -- Every GO / NO-GO and refusal, append-only, with Sena's advice at
        -- that instant (JSON: domain::DecisionRecord).
        CREATE TABLE IF NOT EXISTS decision (
            id       INTEGER PRIMARY KEY,
            at       INTEGER NOT NULL,
            rollout  TEXT NOT NULL,
            accepted INTEGER NOT NULL,
            record   TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS decision_rollout ON decision (rollout, id);
        -- A NO-GO in force, until a GO or `sena stage`.
        CREATE TABLE IF NOT EXISTS rollout_hold (
            rollout  TEXT PRIMARY KEY,
            hold     TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS counter (
            name   TEXT PRIMARY KEY,
            value  INTEGER NOT NULL
        );
        -- Backoff is per channel (the dispatcher's), so a channel's rows go
        -- out by id; next_attempt_at only tells a reader when the channel
        -- tries again. progress: per-recipient outcomes (JSON), see
        -- notify::progress.
        CREATE TABLE IF NOT EXISTS outbox (
            id               INTEGER PRIMARY KEY,
            dedup_key        TEXT NOT NULL UNIQUE,
            channel          TEXT NOT NULL,
            delivery         TEXT NOT NULL,
            created_at       INTEGER NOT NULL,
            attempts         INTEGER NOT NULL DEFAULT 0,
            next_attempt_at  INTEGER NOT NULL,
            last_error       TEXT,
            failed           INTEGER NOT NULL DEFAULT 0,
            progress         TEXT
        );
        -- Signed Slack requests already used (SHA-256 of the signature),
        -- kept while their timestamp is within Slack's 300 s window
        -- (state/replay.rs).
        CREATE TABLE IF NOT EXISTS slack_seen (
            digest     BLOB PRIMARY KEY,
            signed_at  INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS slack_seen_at ON slack_seen (signed_at);
        ",
    )?;
    add_outbox_progress(conn)
}

/// Stores written before per-recipient progress lack the column; added in
/// place (NULL: nobody reached yet), since `CREATE TABLE IF NOT EXISTS`
/// leaves an existing table as it is.
fn add_outbox_progress(conn: &Connection) -> rusqlite::Result<()> {
    let has: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('outbox') WHERE name = 'progress'",
        [],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch("ALTER TABLE outbox ADD COLUMN progress TEXT")?;
    }
    Ok(())
}
