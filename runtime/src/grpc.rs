//! What every gRPC server of ours carries besides its own service: standard health checking,
//! server reflection (v1 and v1alpha, since grpcurl 1.8 speaks only v1alpha), and readiness
//! that follows Redis.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::service::RoutesBuilder;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::redis_store::RedisProbe;

/// The health service's own name, listed by reflection.
pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// How often readiness re-checks Redis.
pub const READINESS_INTERVAL: Duration = Duration::from_secs(2);

/// Why the standard services could not be built.
#[derive(Debug, thiserror::Error)]
#[error("server reflection could not be built: {0}")]
pub struct ReflectionError(#[from] tonic_reflection::server::Error);

/// Routes with health and both reflection versions. Reflection lists exactly `services` (the
/// full names this server implements), health, and reflection itself, and can describe every
/// message of our protos and `google.rpc.ErrorInfo`.
pub fn standard_routes(
    services: &[&str],
) -> Result<(RoutesBuilder, HealthReporter), ReflectionError> {
    let (reporter, health) = tonic_health::server::health_reporter();

    let configure = || {
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(bridge_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .with_service_name(HEALTH_SERVICE);
        for service in services {
            builder = builder.with_service_name(*service);
        }
        builder
    };
    let reflection_v1 = configure()
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .build_v1()?;
    let reflection_v1alpha = configure()
        .with_service_name("grpc.reflection.v1alpha.ServerReflection")
        .build_v1alpha()?;

    let mut routes = RoutesBuilder::default();
    routes
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha);
    Ok((routes, reporter))
}

/// Keeps `service`'s health status in step with Redis until `shutdown`, then marks both it and
/// the whole server (`""`) NOT_SERVING so load balancers stop sending work while it drains.
///
/// `""` stays SERVING through a Redis outage: it is the liveness answer, and restarting a pod
/// does not bring Redis back.
pub async fn follow_readiness(
    reporter: HealthReporter,
    service: &'static str,
    redis: RedisProbe,
    shutdown: CancellationToken,
) {
    let mut last: Option<ServingStatus> = None;
    loop {
        let status = match redis.ping().await {
            Ok(_) => ServingStatus::Serving,
            Err(_) => ServingStatus::NotServing,
        };
        if last != Some(status) {
            match status {
                ServingStatus::Serving => tracing::info!(service, "Ready: Redis answers"),
                _ => tracing::warn!(service, "Not ready: Redis does not answer"),
            }
            reporter.set_service_status(service, status).await;
            last = Some(status);
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(READINESS_INTERVAL) => {}
        }
    }
    reporter
        .set_service_status(service, ServingStatus::NotServing)
        .await;
    reporter
        .set_service_status("", ServingStatus::NotServing)
        .await;
}
