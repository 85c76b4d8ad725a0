//! The dashboard's overview for 1,000 rollouts × 3 checks, rendered on
//! the server as `sena run` does for `GET /`: time per render and page
//! size (issue 10 targets < 50 ms and < 1 MB). Prints figures; asserts
//! nothing about time, which depends on the machine.
//!
//!   cargo run --release --example dashboard_render [-- ROLLOUTS [RUNS]]
//!   scripts/bench.sh --dashboard

use std::time::{Duration, Instant};

use jiff::Timestamp;
use sena::domain::{CheckStatus, Expansion, OnFail, Verdict};
use sena::report::{CheckReport, RolloutReport, StageReport};
use sena::server::page::render_overview;
use sena::server::page::view::{Board, BoardRollout, CheckInfo};

fn main() {
    let mut args = std::env::args().skip(1);
    let rollouts: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let board = board(rollouts);

    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    let mut bytes = 0;
    let mut copies: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs {
        // What `Api::board` costs on top: a copy of every latest report.
        let started = Instant::now();
        let copy = std::hint::black_box(board.clone());
        copies.push(started.elapsed());
        drop(copy);
        let started = Instant::now();
        let page = render_overview(&board);
        times.push(started.elapsed());
        bytes = page.len();
        std::hint::black_box(page);
    }
    times.sort();
    copies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("overview of {rollouts} rollouts × 3 checks, {runs} renders");
    println!(
        "render time: min {:.2} ms, median {:.2} ms, max {:.2} ms",
        ms(times[0]),
        ms(times[runs / 2]),
        ms(times[runs - 1])
    );
    println!(
        "copying the board (Api::board): median {:.2} ms",
        ms(copies[runs / 2])
    );
    println!(
        "page size: {bytes} bytes ({:.1} KiB, {:.0} bytes per rollout)",
        bytes as f64 / 1024.0,
        bytes as f64 / rollouts.max(1) as f64
    );
}

fn board(n: usize) -> Board {
    let now = Timestamp::from_second(1_800_000_000).unwrap();
    let started = Timestamp::from_second(1_800_000_000 - 18 * 3600).unwrap();
    let rollouts = (0..n)
        .map(|i| {
            let verdict = match i % 20 {
                0 | 1 => Verdict::Rollback,
                2 | 3 => Verdict::Hold,
                _ => Verdict::Continue,
            };
            let status = |c: usize| match (verdict, c) {
                (Verdict::Rollback, 0) => CheckStatus::Failing,
                (Verdict::Hold, 1) => CheckStatus::NoData,
                _ => CheckStatus::Passing,
            };
            let checks: Vec<CheckReport> = ["error_rate", "p95_latency", "satisfaction"]
                .iter()
                .enumerate()
                .map(|(c, name)| CheckReport {
                    name: (*name).into(),
                    status: status(c),
                    value: Some(0.0004),
                    value_text: "0.04%".into(),
                    threshold: "< 0.1%".into(),
                    bound: "below".into(),
                    threshold_value: 0.001,
                    on_fail: OnFail::Rollback,
                    for_duration: "2m".into(),
                    breach_started_at: None,
                    error: None,
                    series: Vec::new(),
                    series_total: 1,
                    evidence: None,
                })
                .collect();
            let name = format!("service-{i:04}");
            BoardRollout {
                name: name.clone(),
                ladder: vec!["5%".into(), "10%".into(), "50%".into(), "100%".into()],
                bake: Some(Duration::from_secs(24 * 3600)),
                interval: Duration::from_secs(30),
                approver: "lubit".into(),
                checks: Vec::<CheckInfo>::new(),
                report: Some(RolloutReport {
                    name,
                    stage: StageReport {
                        index: 0,
                        traffic: "5%".into(),
                        started_at: started,
                        of: 4,
                    },
                    verdict,
                    reason: match verdict {
                        Verdict::Rollback => {
                            "rollback: error_rate 0.42% > 0.1% for 2m (on_fail: rollback)".into()
                        }
                        Verdict::Hold => "hold: p95_latency has no data (blind means hold)".into(),
                        Verdict::Continue => "all 3 checks passing; 5% has baked 18h of 24h".into(),
                    },
                    ready_to_expand: (i % 20 == 4).then(|| Expansion {
                        next_index: 1,
                        next_traffic: "10%".into(),
                        approver: "lubit".into(),
                        stage_started_at: None,
                    }),
                    approver: "lubit".into(),
                    evaluated_at: now,
                    checks,
                }),
            }
        })
        .collect();
    Board {
        now,
        prometheus_url: "http://127.0.0.1:9090".into(),
        not_ready: Vec::new(),
        rollouts,
    }
}
