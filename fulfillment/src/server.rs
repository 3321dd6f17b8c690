//! Assembles the fulfillment process from its configuration: the Redis connection, the
//! Salesforce and WHMCS clients, the orchestrator, the authenticated gRPC service with health
//! and reflection, and the admin port.

use std::sync::Arc;

use bridge_proto::fulfillment::v1::fulfillment_service_server::FulfillmentServiceServer;
use bridge_runtime::{
    admin::AdminState,
    caller_auth::{Authenticator, TokensFileError},
    grpc::{ReflectionError, standard_routes},
    http_client::build_client,
    redis_store::{self, RedisProbe},
    salesforce::{JwtBearer, RestClient},
    serve::{ServeError, ServicePorts, bind},
};
use tokio_util::task::TaskTracker;

use crate::{
    config::FulfillmentConfig,
    orchestrator::{CrashHook, Orchestrator, OrderRecords, RunSettings},
    service::FulfillmentApi,
    status::ERROR_DOMAIN,
    store::{Journals, OrderLocks},
    upstream::UpstreamHealth,
    whmcs::{Deadlines, WhmcsClient},
};

/// The full gRPC name of the service; its health status is the readiness answer.
pub const SERVICE_NAME: &str = "fulfillment.v1.FulfillmentService";

/// Why the process could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `REDIS_URL` could not be used.
    #[error("REDIS_URL cannot be used")]
    Redis(#[from] redis::RedisError),
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built")]
    Http(#[from] reqwest::Error),
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

/// Binds the ports and builds everything the process serves.
pub async fn assemble(config: &FulfillmentConfig) -> Result<ServicePorts, StartError> {
    assemble_with(config, None).await
}

/// Like [`assemble`], with a crash hook in the orchestrator (for crash-recovery tests).
pub async fn assemble_with(
    config: &FulfillmentConfig,
    crash_hook: Option<CrashHook>,
) -> Result<ServicePorts, StartError> {
    let connection = redis_store::connect(&config.redis.url)?;
    let redis = RedisProbe::new(connection.clone());
    let health = UpstreamHealth::default();

    let salesforce_http = build_client(config.salesforce.http_timeout)?;
    let auth = Arc::new(JwtBearer::with_http(
        config.salesforce.clone(),
        salesforce_http.clone(),
    ));
    let rest = RestClient::new(auth, salesforce_http, config.salesforce.api_version.clone());
    let whmcs_settings = &config.whmcs;
    // The client's own timeout is the longer of the two deadlines; each call sets its own.
    let whmcs = WhmcsClient::new(
        whmcs_settings.api_url.clone(),
        whmcs_settings.credentials.clone(),
        whmcs_settings.access_key.clone(),
        whmcs_settings
            .order_timeout
            .max(whmcs_settings.http_timeout),
    )?;
    let settings = RunSettings {
        pricebook_id: config.pricebook_id.clone(),
        default_payment_method: whmcs_settings.default_payment_method.clone(),
        send_email: whmcs_settings.send_email,
        autosetup: whmcs_settings.autosetup,
        deadlines: Deadlines {
            call: whmcs_settings.http_timeout,
            order: whmcs_settings.order_timeout,
        },
        add_order_settle: whmcs_settings.order_settle,
    };
    let mut orchestrator = Orchestrator::new(
        OrderLocks::new(connection.clone(), config.lock_ttl),
        Journals::new(connection),
        OrderRecords::new(rest),
        whmcs,
        settings,
        health.clone(),
    );
    if let Some(hook) = crash_hook {
        orchestrator = orchestrator.with_crash_hook(hook);
    }

    let runs = TaskTracker::new();
    let authenticator = Authenticator::from_config(&config.auth, ERROR_DOMAIN)?;
    let api = FulfillmentApi::new(orchestrator, runs.clone());
    // Authentication wraps only this service: health and reflection stay open for probes and
    // grpcurl.
    let service = FulfillmentServiceServer::with_interceptor(api, move |request| {
        authenticator.check(request)
    });
    let (mut routes, health_reporter) = standard_routes(&[SERVICE_NAME])?;
    routes.add_service(service);

    let (salesforce, whmcs_health) = (health.salesforce.clone(), health.whmcs.clone());
    let admin_state = AdminState::new(
        "fulfillment",
        config.server.environment.clone(),
        redis.clone(),
    )
    .with_integration("salesforce", Arc::new(move || salesforce.report()))
    .with_integration("whmcs", Arc::new(move || whmcs_health.report()));

    Ok(ServicePorts {
        grpc: bind(config.server.grpc_addr).await?,
        admin: bind(config.server.http_addr).await?,
        routes,
        health: health_reporter,
        readiness_service: SERVICE_NAME,
        admin_state,
        redis,
        background: runs,
    })
}
