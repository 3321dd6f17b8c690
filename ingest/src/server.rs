//! Assembles the ingest process from its configuration: the Redis connection, the lease,
//! cursor and dead letters, the subscriber (when events are enabled), the authenticated admin
//! service with health and reflection, and the admin HTTP port.

use std::sync::Arc;

use bridge_proto::ingest::v1::ingest_service_server::IngestServiceServer;
use bridge_runtime::{
    admin::AdminState,
    caller_auth::{Authenticator, TokensFileError},
    grpc::{ReflectionError, standard_routes},
    http_client::build_client,
    redis_store::{self, RedisProbe},
    salesforce::JwtBearer,
    serve::{ServeError, ServicePorts, bind},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    admin::IngestAdmin,
    config::IngestConfig,
    cursor::ReplayCursor,
    dead_letters::DeadLetters,
    dispatch::{DispatchSetupError, Dispatcher},
    keys::ChannelKeys,
    lease::LeaderLease,
    pubsub::{PubSub, PubSubError},
    schemas::SchemaCache,
    state::{IngestState, Role},
    status::ERROR_DOMAIN,
    subscriber::{Context, Subscriber, SubscriberSettings},
};

/// The full gRPC name of the admin service; its health status is the readiness answer.
pub const SERVICE_NAME: &str = "ingest.v1.IngestService";

/// Why the process could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `REDIS_URL` could not be used.
    #[error("REDIS_URL cannot be used")]
    Redis(#[from] redis::RedisError),
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built")]
    Http(#[from] reqwest::Error),
    /// The Pub/Sub endpoint could not be used.
    #[error(transparent)]
    PubSub(#[from] PubSubError),
    /// The fulfillment target could not be used.
    #[error(transparent)]
    Dispatch(#[from] DispatchSetupError),
    /// `FULFILLMENT_CA_PATH` could not be read.
    #[error("FULFILLMENT_CA_PATH cannot be read: {0}")]
    Ca(std::io::Error),
    /// The tokens file could not be used.
    #[error(transparent)]
    Tokens(#[from] TokensFileError),
    /// Reflection could not be built.
    #[error(transparent)]
    Reflection(#[from] ReflectionError),
    /// A port could not be bound.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Binds the ports, builds everything, and starts the subscriber, which stops (draining and
/// releasing its lease) when `shutdown` is cancelled.
pub async fn assemble(
    config: &IngestConfig,
    shutdown: CancellationToken,
) -> Result<ServicePorts, StartError> {
    let connection = redis_store::connect(&config.redis.url)?;
    let redis = RedisProbe::new(connection.clone());
    let keys = ChannelKeys::new(&config.channel);
    let cursor = ReplayCursor::new(connection.clone(), keys.clone());
    let dead_letters = DeadLetters::new(connection.clone(), &keys);
    let background = TaskTracker::new();

    let (state, context) = match &config.subscription {
        None => {
            tracing::info!(channel = %config.channel, "Platform events are disabled (SF_EVENTS_ENABLED=false); subscribing to nothing");
            (Arc::new(IngestState::new(Role::Disabled)), None)
        }
        Some(subscription) => {
            let http = build_client(subscription.salesforce.http_timeout)?;
            let auth = Arc::new(JwtBearer::with_http(subscription.salesforce.clone(), http));
            let pubsub = PubSub::new(&subscription.pubsub_endpoint, None, auth)?;
            let ca = match &subscription.fulfillment_ca_path {
                Some(path) => Some(std::fs::read_to_string(path).map_err(StartError::Ca)?),
                None => None,
            };
            let dispatcher = Dispatcher::new(
                &subscription.fulfillment_url,
                ca.as_deref(),
                subscription.fulfillment_token.clone(),
                config.fulfill_deadline,
            )?;
            let context = Arc::new(Context {
                pubsub,
                schemas: SchemaCache::new(),
                dispatcher,
                dead_letters: dead_letters.clone(),
            });
            (Arc::new(IngestState::new(Role::Standby)), Some(context))
        }
    };

    if let Some(context) = &context {
        let instance = uuid::Uuid::new_v4().simple().to_string();
        let lease = LeaderLease::new(connection.clone(), keys.clone(), instance, config.lease_ttl);
        let settings = SubscriberSettings {
            channel: config.channel.clone(),
            replay: config.replay,
            fallback: config.replay_fallback,
            concurrency: usize::try_from(config.concurrency).unwrap_or(16),
            silence_timeout: config.silence_timeout,
            drain: config.server.shutdown_grace.mul_f32(0.8),
        };
        let subscriber = Subscriber::new(
            context.clone(),
            cursor.clone(),
            lease,
            state.clone(),
            settings,
        );
        background.spawn(subscriber.run(shutdown));
    }

    let authenticator = Authenticator::from_config(&config.auth, ERROR_DOMAIN)?;
    let admin = IngestAdmin::new(
        config.channel.clone(),
        state.clone(),
        cursor,
        dead_letters,
        context,
    );
    // Authentication wraps only this service: health and reflection stay open for probes and
    // grpcurl.
    let service =
        IngestServiceServer::with_interceptor(admin, move |request| authenticator.check(request));
    let (mut routes, health) = standard_routes(&[SERVICE_NAME])?;
    routes.add_service(service);

    let channel = config.channel.clone();
    let admin_state = AdminState::new("ingest", config.server.environment.clone(), redis.clone())
        .with_integration("salesforce", Arc::new(move || state.health(&channel)));

    Ok(ServicePorts {
        grpc: bind(config.server.grpc_addr).await?,
        admin: bind(config.server.http_addr).await?,
        routes,
        health,
        readiness_service: SERVICE_NAME,
        admin_state,
        redis,
        background,
    })
}
