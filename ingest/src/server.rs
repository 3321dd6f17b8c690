//! Assembles the ingest process from its configuration: the Redis connection, the gRPC routes
//! and the admin port.

use std::sync::Arc;

use bridge_runtime::{
    admin::AdminState,
    grpc::{ReflectionError, standard_routes},
    redis_store::{self, RedisProbe},
    serve::{ServeError, ServicePorts, bind},
};
use serde_json::json;

use crate::config::IngestConfig;

/// The full gRPC name of the admin service; its health status is the readiness answer.
pub const SERVICE_NAME: &str = "ingest.v1.IngestService";

/// Why the process could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `REDIS_URL` could not be used.
    #[error("REDIS_URL cannot be used")]
    Redis(#[from] redis::RedisError),
    /// Reflection could not be built.
    #[error(transparent)]
    Reflection(#[from] ReflectionError),
    /// A port could not be bound.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Binds the ports and builds everything the process serves.
///
/// The subscriber is not built yet: this process offers health, reflection and the admin port,
/// and reports the subscription as not running.
pub async fn assemble(config: &IngestConfig) -> Result<ServicePorts, StartError> {
    let redis = RedisProbe::new(redis_store::connect(&config.redis.url)?);
    let (routes, health) = standard_routes(&[])?;
    let enabled = config.subscription.is_some();
    if !enabled {
        tracing::info!(channel = %config.channel, "Platform events are disabled (SF_EVENTS_ENABLED=false); subscribing to nothing");
    }
    let channel = config.channel.clone();
    let admin_state = AdminState::new("ingest", config.server.environment.clone(), redis.clone())
        .with_integration(
            "salesforce",
            Arc::new(move || {
                json!({
                    "status": if enabled { "not_running" } else { "disabled" },
                    "channel": channel,
                })
            }),
        );

    Ok(ServicePorts {
        grpc: bind(config.server.grpc_addr).await?,
        admin: bind(config.server.http_addr).await?,
        routes,
        health,
        readiness_service: SERVICE_NAME,
        admin_state,
        redis,
        background: tokio_util::task::TaskTracker::new(),
    })
}
