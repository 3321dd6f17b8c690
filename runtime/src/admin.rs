//! The HTTP admin port: `GET /health` (JSON) and `GET /metrics` (Prometheus text).
//!
//! `/health` answers 503 only while Redis is down: Redis holds the cursor, locks and journals,
//! so nothing useful happens without it. A failed call to Salesforce or WHMCS shows up in the
//! JSON but keeps 200, so one bad upstream call does not make every pod flap.

use std::{net::SocketAddr, sync::Arc};

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::redis_store::RedisProbe;

/// A part of `/health` beyond Redis, such as the subscription state or the last upstream call.
pub type IntegrationReport = Arc<dyn Fn() -> Value + Send + Sync>;

/// What the admin port reports.
#[derive(Clone)]
pub struct AdminState {
    service: &'static str,
    environment: String,
    redis: RedisProbe,
    integrations: Vec<(&'static str, IntegrationReport)>,
    metrics: PrometheusHandle,
}

impl AdminState {
    /// The state for `service` (e.g. `fulfillment`) in `environment`.
    pub fn new(service: &'static str, environment: String, redis: RedisProbe) -> Self {
        Self {
            service,
            environment,
            redis,
            integrations: Vec::new(),
            metrics: metrics_handle(),
        }
    }

    /// Adds `integrations.<name>` to `/health`, computed on each request.
    pub fn with_integration(mut self, name: &'static str, report: IntegrationReport) -> Self {
        self.integrations.push((name, report));
        self
    }
}

/// The process-wide Prometheus recorder, installed on first use.
///
/// Several servers in one test process share it, which is why it is global rather than owned
/// by a server.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only when another recorder is already installed; ours then stays unused,
            // and /metrics renders an empty page instead of failing.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The admin routes, for tests that want them without a listener.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(render_metrics))
        .with_state(state)
}

/// Serves the admin routes on `listener` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let address = listener
        .local_addr()
        .map(|address: SocketAddr| address.to_string())
        .unwrap_or_default();
    tracing::info!(address = %address, "Admin HTTP server listening");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn health(State(state): State<AdminState>) -> impl IntoResponse {
    let (redis_up, redis) = match state.redis.ping().await {
        Ok(latency) => (
            true,
            json!({"status": "connected", "latency_ms": latency.as_secs_f64() * 1000.0}),
        ),
        Err(err) => (false, json!({"status": "down", "error": err.to_string()})),
    };

    let mut integrations = Map::new();
    integrations.insert("redis".into(), redis);
    for (name, report) in &state.integrations {
        integrations.insert((*name).into(), report());
    }

    let body = json!({
        "status": if redis_up { "ok" } else { "unavailable" },
        "service": state.service,
        "version": env!("CARGO_PKG_VERSION"),
        "environment": state.environment,
        "integrations": integrations,
    });
    let status = if redis_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

async fn render_metrics(State(state): State<AdminState>) -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
