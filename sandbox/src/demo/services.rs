//! Both services, run in this process against the emulated world: the same assembly code the
//! binaries use, configured through the same environment variables.

use std::{collections::HashMap, net::SocketAddr, time::Duration};

use bridge_runtime::serve::{self, ServeError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::world::{CLIENT_ID, USERNAME, World};

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The configuration was refused.
    #[error("the {service} configuration was refused: {detail}")]
    Config {
        /// Which service.
        service: &'static str,
        /// The one-line problem.
        detail: String,
    },
    /// Assembly failed.
    #[error("{service} could not start: {detail}")]
    Start {
        /// Which service.
        service: &'static str,
        /// What failed.
        detail: String,
    },
}

/// One service running in this process.
pub struct RunningService {
    /// Its gRPC address.
    pub grpc_addr: SocketAddr,
    /// Its admin HTTP address.
    pub http_addr: SocketAddr,
    task: JoinHandle<Result<(), ServeError>>,
}

/// Both services, and the switch that stops them.
pub struct Services {
    /// fulfillment.
    pub fulfillment: RunningService,
    /// ingest.
    pub ingest: RunningService,
    shutdown: CancellationToken,
}

impl Services {
    /// Stops both (as on SIGTERM) and waits for them.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in [self.ingest.task, self.fulfillment.task] {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

/// The environment both services share in the sandbox.
pub fn common_env(world: &World, redis_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("REDIS_URL", redis_url.to_owned()),
        ("SF_LOGIN_URL", world.salesforce.url()),
        ("SF_CLIENT_ID", CLIENT_ID.to_owned()),
        ("SF_USERNAME", USERNAME.to_owned()),
        ("SF_PRIVATE_KEY_PATH", world.key_path.display().to_string()),
        ("APP_ENV", "sandbox".to_owned()),
    ]
}

/// fulfillment's own variables.
pub fn fulfillment_env(world: &World) -> Vec<(&'static str, String)> {
    vec![
        ("WHMCS_API_URL", world.whmcs.api_url()),
        ("WHMCS_API_IDENTIFIER", world.whmcs.identifier()),
        ("WHMCS_API_SECRET", world.whmcs.secret()),
        (
            "FULFILLMENT_AUTH_TOKENS_FILE",
            world.tokens_path.display().to_string(),
        ),
    ]
}

/// ingest's own variables, pointed at fulfillment's gRPC address.
pub fn ingest_env(world: &World, fulfillment: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SF_PUBSUB_ENDPOINT", world.pubsub.endpoint()),
        ("SF_EVENTS_ENABLED", "true".to_owned()),
        (
            "SF_PROVISION_EVENT_CHANNEL",
            "/event/OrderProvisionRequested__e".to_owned(),
        ),
        ("SF_EVENTS_REPLAY", "LATEST".to_owned()),
        ("FULFILLMENT_URL", format!("http://{fulfillment}")),
        (
            "FULFILLMENT_AUTH_TOKEN_FILE",
            world.ingest_token_path.display().to_string(),
        ),
        ("INGEST_AUTH", "disabled".to_owned()),
    ]
}

fn env(parts: &[Vec<(&'static str, String)>]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = parts
        .iter()
        .flatten()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    env.insert("GRPC_ADDR".to_owned(), "127.0.0.1:0".to_owned());
    env.insert("HTTP_ADDR".to_owned(), "127.0.0.1:0".to_owned());
    env.insert("SHUTDOWN_GRACE".to_owned(), "5s".to_owned());
    env
}

/// Starts fulfillment, then ingest pointed at it.
pub async fn start(world: &World, redis_url: &str) -> Result<Services, ServiceError> {
    let shutdown = CancellationToken::new();

    let config = fulfillment::config::FulfillmentConfig::from_env(&env(&[
        common_env(world, redis_url),
        fulfillment_env(world),
    ]))
    .map_err(|err| ServiceError::Config {
        service: "fulfillment",
        detail: err.to_string(),
    })?;
    let ports = fulfillment::server::assemble(&config)
        .await
        .map_err(|err| ServiceError::Start {
            service: "fulfillment",
            detail: chain(&err),
        })?;
    let fulfillment = spawn(ports, &shutdown)?;

    let config = ingest::config::IngestConfig::from_env(&env(&[
        common_env(world, redis_url),
        ingest_env(world, &fulfillment.grpc_addr.to_string()),
    ]))
    .map_err(|err| ServiceError::Config {
        service: "ingest",
        detail: err.to_string(),
    })?;
    let ports = ingest::server::assemble(&config, shutdown.clone())
        .await
        .map_err(|err| ServiceError::Start {
            service: "ingest",
            detail: chain(&err),
        })?;
    let ingest = spawn(ports, &shutdown)?;

    Ok(Services {
        fulfillment,
        ingest,
        shutdown,
    })
}

fn spawn(
    ports: serve::ServicePorts,
    shutdown: &CancellationToken,
) -> Result<RunningService, ServiceError> {
    let address = |listener: &tokio::net::TcpListener| {
        listener.local_addr().map_err(|err| ServiceError::Start {
            service: "a service",
            detail: err.to_string(),
        })
    };
    let grpc_addr = address(&ports.grpc)?;
    let http_addr = address(&ports.admin)?;
    let task = tokio::spawn(serve::run(ports, shutdown.clone(), Duration::from_secs(5)));
    Ok(RunningService {
        grpc_addr,
        http_addr,
        task,
    })
}

/// An error and its causes, joined by `: `.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
