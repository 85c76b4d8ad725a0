//! The HTTP side of the workload, in the harness process: `/metrics` for
//! Prometheus to scrape (the synthetic apps) and an Alertmanager stand-in
//! that swallows vmalert's notifications, counting them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::workload;

/// Starts serving on a free loopback port; returns its address.
pub async fn serve(
    apps: Arc<Vec<workload::App>>,
    alerts: Arc<AtomicU64>,
    counts: bool,
) -> Result<String, String> {
    use axum::routing::{get, post};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener
        .local_addr()
        .map_err(|e| e.to_string())?
        .to_string();
    let started = Instant::now();
    let sink = move |body: String| {
        let alerts = alerts.clone();
        async move {
            // One JSON array of alerts per POST.
            let n = serde_json::from_str::<Vec<serde_json::Value>>(&body).map_or(0, |v| v.len());
            alerts.fetch_add(n as u64, Ordering::Relaxed);
            ""
        }
    };
    let app =
        axum::Router::new()
            .route(
                "/metrics",
                get(move || {
                    let apps = apps.clone();
                    // Simulated uptime starts at an hour so counters are not near zero.
                    async move {
                        workload::render(&apps, 3600.0 + started.elapsed().as_secs_f64(), counts)
                    }
                }),
            )
            .route("/api/v2/alerts", post(sink.clone()))
            .route("/api/v1/alerts", post(sink));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}
