//! `sena backtest` against a real Prometheus holding a known history
//! (backfilled with promtool): the exact instants a breach is confirmed,
//! pages go out (to whom, escalating), incidents resolve and the stage
//! becomes ready, the diff a stricter candidate makes, and the outputs
//! (text, JSON, self-contained HTML). Nothing is sent: the Slack stand-in
//! stays empty and no state store appears.

mod common;

use std::fs;

use common::backfill::{self, OpenMetrics};
use common::backtest::{backtest, setup, stderr, stdout, strict};
use common::slack::SlackStandIn;
use serde_json::Value;

/// 2026-11-02T00:00:00Z (09:00 in Tokyo, the roster's zone).
const T0: i64 = 1_793_577_600;
const MIN: i64 = 60;

/// Error ratio of the canary: 2% from 30 to 40 min, 20% from 40 to 50 min,
/// 2% again from 80 to 90 min, else 0; p95 latency a steady 0.2 s. Samples
/// every 15 s from 10 min before T0 (so the first query has data) to 2h10m.
fn history() -> OpenMetrics {
    let times: Vec<i64> = (-40..=520).map(|k| T0 + 15 * k).collect();
    let ratio = |t: i64| {
        let m = (t - T0) / MIN;
        match m {
            30..=39 | 80..=89 => 0.02,
            40..=49 => 0.2,
            _ => 0.0,
        }
    };
    OpenMetrics::new()
        .gauge(
            "canary_error_ratio",
            "app=\"checkout\"",
            times.iter().map(|&t| (t, ratio(t))).collect(),
        )
        .gauge(
            "canary_p95_seconds",
            "app=\"checkout\"",
            times.iter().map(|&t| (t, 0.2)).collect(),
        )
}

fn pages(timeline: &Value) -> Vec<(i64, String, Option<u64>, Vec<String>)> {
    timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "page")
        .map(|e| {
            (
                minutes(&e["at"]),
                e["page"].as_str().unwrap().to_string(),
                e["level"].as_u64(),
                e["to"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// Minutes after T0 of an RFC 3339 instant in the JSON.
fn minutes(at: &Value) -> i64 {
    let t: jiff::Timestamp = at.as_str().unwrap().parse().unwrap();
    let s = t.as_second() - T0;
    assert_eq!(s % MIN, 0, "{at} is not on a whole minute");
    s / MIN
}

/// Minutes after T0 of every event of `kind` matching `pred`.
fn when(timeline: &Value, pred: impl Fn(&Value) -> bool) -> Vec<i64> {
    timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| pred(e))
        .map(|e| minutes(&e["at"]))
        .collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn replays_the_history_with_exact_breach_page_and_readiness_instants_and_a_candidate_diff() {
    let prometheus = backfill::start(&history());
    let slack = SlackStandIn::start();
    let s = setup(&prometheus.url(), &slack.webhook_url());

    let out = backtest(
        &s,
        &["--format", "json", "--rules", strict(&s).to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).expect("JSON output parses");
    assert_eq!(json["step_seconds"], 30);
    assert_eq!(json["timezone"], "Asia/Tokyo");
    assert_eq!(json["from"], "2026-11-02T00:00:00Z");
    assert_eq!(json["to"], "2026-11-02T02:00:00Z");
    let current = &json["runs"][0]["rollouts"][0];
    let candidate = &json["runs"][1]["rollouts"][0];
    assert_eq!(json["runs"][0]["rules"], "current");
    assert_eq!(json["runs"][1]["rules"], "candidate");

    // Current rules (below 10% for 2m): the 20% burst at 40m is pending,
    // confirmed at 42m; rollback pages sena and the approver, mira after
    // 5m unacknowledged; clean from 50m, resolved 5m later; the stage
    // (bake 1h) is ready at 60m and the approver hears it then.
    let failing =
        |e: &Value| e["kind"] == "check" && e["check"] == "error_rate" && e["status"] == "failing";
    let pending =
        |e: &Value| e["kind"] == "check" && e["check"] == "error_rate" && e["status"] == "pending";
    assert_eq!(when(current, pending), vec![40]);
    assert_eq!(when(current, failing), vec![42]);
    assert_eq!(
        when(current, |e| e["kind"] == "verdict"
            && e["verdict"] == "rollback"),
        vec![42]
    );
    assert_eq!(
        pages(current),
        vec![
            (42, "opened".into(), Some(0), names(&["sena", "lubit"])),
            (47, "escalated".into(), Some(1), names(&["mira"])),
            (
                55,
                "resolved".into(),
                Some(1),
                names(&["sena", "mira", "lubit"])
            ),
            (60, "ready_to_expand".into(), None, names(&["lubit"])),
        ]
    );
    assert_eq!(when(current, |e| e["kind"] == "ready"), vec![60]);
    let page = current["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "page")
        .unwrap();
    assert_eq!(page["incident"], 1);
    assert_eq!(page["channels"], serde_json::json!(["slack"]));
    assert_eq!(page["verdict"], "rollback");

    // The stricter candidate (below 1%) sees the 2% lead-in: confirmed at
    // 32m, 10 minutes earlier, and pages again for the 2% at 80m.
    assert_eq!(when(candidate, failing), vec![32, 82]);
    assert_eq!(
        pages(candidate),
        vec![
            (32, "opened".into(), Some(0), names(&["sena", "lubit"])),
            (37, "escalated".into(), Some(1), names(&["mira"])),
            (
                55,
                "resolved".into(),
                Some(1),
                names(&["sena", "mira", "lubit"])
            ),
            (60, "ready_to_expand".into(), None, names(&["lubit"])),
            (82, "opened".into(), Some(0), names(&["sena", "lubit"])),
            (87, "escalated".into(), Some(1), names(&["mira"])),
            (
                95,
                "resolved".into(),
                Some(1),
                names(&["sena", "mira", "lubit"])
            ),
        ]
    );

    let diff = &json["diff"][0];
    assert_eq!(diff["rollout"], "checkout");
    assert_eq!(diff["pages_current"], 4);
    assert_eq!(diff["pages_candidate"], 7);
    let at = |list: &Value| -> Vec<(i64, String)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| (minutes(&p["at"]), p["page"].as_str().unwrap().to_string()))
            .collect()
    };
    assert_eq!(
        at(&diff["pages_added"]),
        vec![
            (32, "opened".into()),
            (37, "escalated".into()),
            (82, "opened".into()),
            (87, "escalated".into()),
            (95, "resolved".into())
        ]
    );
    assert_eq!(
        at(&diff["pages_removed"]),
        vec![(42, "opened".into()), (47, "escalated".into())]
    );
    assert_eq!(diff["breach"][0]["check"], "error_rate");
    assert_eq!(diff["breach"][0]["shift_seconds"], -600);
    assert_eq!(diff["ready"][0]["stage"], 0);
    assert_eq!(diff["ready"][0]["shift_seconds"], 0);

    // The same as text, instants in the roster's zone, side by side.
    let out = backtest(&s, &["--rules", strict(&s).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("2026-11-02 09:42:00 +09:00  "), "{text}");
    assert!(
        text.contains("page opened rollback L0 → sena, lubit"),
        "{text}"
    );
    assert!(text.contains("error_rate failing: 10m earlier"), "{text}");
    assert!(
        text.contains("stage 0 ready: at the same instant"),
        "{text}"
    );
    assert!(
        text.contains("+ page 2026-11-02 10:22:00 +09:00 opened rollback L0 → sena, lubit"),
        "{text}"
    );

    // One timeline alone, with the reasons.
    let out = backtest(&s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("2026-11-02 09:42:00 +09:00  verdict rollback: roll back: error_rate 20%"),
        "{text}"
    );
    assert!(text.contains("summary: 4 pages; error_rate first failing 2026-11-02 09:42:00 +09:00; stage 0 first ready 2026-11-02 10:00:00 +09:00"), "{text}");

    // A stage entered 30 minutes before --from has baked its hour at 30m,
    // before the burst: ready then, and the approver hears it at once.
    let out = backtest(
        &s,
        &[
            "--format",
            "json",
            "--stage-since",
            "2026-11-02T08:30:00+09:00",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let timeline = &json["runs"][0]["rollouts"][0];
    assert_eq!(timeline["stage_entered_at"], "2026-11-01T23:30:00Z");
    assert_eq!(when(timeline, |e| e["kind"] == "ready"), vec![30, 50]);
    assert_eq!(
        pages(timeline)[0],
        (30, "ready_to_expand".into(), None, names(&["lubit"]))
    );

    // HTML to a file: a chart per check and run, nothing external.
    let html_path = s.dir.path().join("report.html");
    let out = backtest(
        &s,
        &[
            "--format",
            "html",
            "--out",
            html_path.to_str().unwrap(),
            "--rules",
            strict(&s).to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let html = fs::read_to_string(&html_path).unwrap();
    assert_eq!(html.matches("<svg").count(), 4, "2 checks × 2 runs");
    for external in ["http://", "https://", "src=", "href=", "<script", "url("] {
        assert!(!html.contains(external), "found {external}");
    }
    assert!(html.contains("<polyline"));
    // No temporary file left beside it.
    let left: Vec<_> = fs::read_dir(s.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Read-only: nothing was sent and no state store was created.
    assert!(
        slack.all_attempts().is_empty(),
        "{:?}",
        slack.all_attempts()
    );
    assert!(!s.dir.path().join("state").join("sena.db").exists());
}
