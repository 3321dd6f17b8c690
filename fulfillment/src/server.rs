//! Assembles the fulfillment process from its configuration: the Redis connection, the gRPC
//! routes and the admin port.

use bridge_runtime::{
    admin::AdminState,
    grpc::{ReflectionError, standard_routes},
    redis_store::{self, RedisProbe},
    serve::{ServeError, ServicePorts, bind},
};

use crate::config::FulfillmentConfig;

/// The full gRPC name of the service; its health status is the readiness answer.
pub const SERVICE_NAME: &str = "fulfillment.v1.FulfillmentService";

/// Why the process could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `REDIS_URL` could not be used.
    #[error("REDIS_URL cannot be used: {0}")]
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
/// The Fulfill RPC itself is not served yet: this process offers health, reflection and the
/// admin port, so deployments and probes can be exercised while the orchestration is built.
pub async fn assemble(config: &FulfillmentConfig) -> Result<ServicePorts, StartError> {
    let redis = RedisProbe::new(redis_store::connect(&config.redis.url)?);
    let (routes, health) = standard_routes(&[])?;
    let admin_state = AdminState::new(
        "fulfillment",
        config.server.environment.clone(),
        redis.clone(),
    );

    Ok(ServicePorts {
        grpc: bind(config.server.grpc_addr).await?,
        admin: bind(config.server.http_addr).await?,
        routes,
        health,
        readiness_service: SERVICE_NAME,
        admin_state,
        redis,
    })
}
