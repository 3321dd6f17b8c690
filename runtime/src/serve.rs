//! Runs one service process: the gRPC port, the admin HTTP port and readiness, until the
//! shutdown token is cancelled, then drains within the grace period.
//!
//! Both listeners are bound by the caller (tests bind port 0 and connect at once), so this
//! never races for a port.

use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tonic::{service::RoutesBuilder, transport::server::TcpIncoming};
use tonic_health::server::HealthReporter;

use crate::{admin::AdminState, grpc::follow_readiness, redis_store::RedisProbe};

/// How long the admin port may take to close its connections once serving has stopped.
const ADMIN_DRAIN: Duration = Duration::from_secs(1);

/// Why a service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A port could not be bound.
    #[error("cannot listen on {address}")]
    Bind {
        /// The address asked for.
        address: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("the gRPC server failed: {0}")]
    Grpc(#[from] tonic::transport::Error),
    /// The admin server failed.
    #[error("the admin HTTP server failed: {0}")]
    Admin(std::io::Error),
}

/// Binds a TCP listener, naming the address on failure.
pub async fn bind(address: std::net::SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Bind {
            address: address.to_string(),
            source,
        })
}

/// The connections of a bound gRPC listener, each with `TCP_NODELAY` set. tonic sets it only
/// on listeners it binds itself; without it, Nagle's algorithm holds a small reply back until
/// the peer acknowledges the previous one, which a peer that delays its ACKs does for up to
/// 40 ms: a benchmark of ingest saw exactly such stalls.
pub fn grpc_incoming(listener: TcpListener) -> TcpIncoming {
    TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// Everything one process serves.
pub struct ServicePorts {
    /// The bound gRPC listener.
    pub grpc: TcpListener,
    /// The bound admin HTTP listener.
    pub admin: TcpListener,
    /// The gRPC routes: the service itself plus health and reflection.
    pub routes: RoutesBuilder,
    /// The health reporter of those routes.
    pub health: HealthReporter,
    /// The full gRPC name whose health is the readiness answer.
    pub readiness_service: &'static str,
    /// What `/health` reports.
    pub admin_state: AdminState,
    /// The Redis connection readiness follows.
    pub redis: RedisProbe,
    /// Work that outlives the RPC that started it (a Fulfill run whose caller gave up); the
    /// drain waits for it too.
    pub background: TaskTracker,
}

/// Serves `ports` until `shutdown`, then gives in-flight calls up to `grace` to finish.
pub async fn run(
    ports: ServicePorts,
    shutdown: CancellationToken,
    grace: Duration,
) -> Result<(), ServeError> {
    let grpc_address = ports
        .grpc
        .local_addr()
        .map(|address| address.to_string())
        .unwrap_or_default();
    let readiness = tokio::spawn(follow_readiness(
        ports.health,
        ports.readiness_service,
        ports.redis,
        shutdown.clone(),
    ));
    let admin = tokio::spawn(crate::admin::serve(
        ports.admin,
        ports.admin_state,
        shutdown.clone(),
    ));

    tracing::info!(address = %grpc_address, service = ports.readiness_service, "gRPC server listening");
    // Once shutdown begins the server stops accepting and waits for in-flight calls; the grace
    // period bounds that wait so the process always ends before Kubernetes kills it.
    let stopped = shutdown.clone();
    let grpc = tonic::transport::Server::builder()
        .add_routes(ports.routes.routes())
        .serve_with_incoming_shutdown(grpc_incoming(ports.grpc), stopped.cancelled_owned());
    let background = ports.background;
    let served = async {
        let result = grpc.await.map_err(ServeError::from);
        background.close();
        background.wait().await;
        result
    };
    let mut served = std::pin::pin!(served);
    let result = tokio::select! {
        result = &mut served => result,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("In-flight work did not finish within the grace period");
            Ok(())
        }
    };

    let _ = readiness.await;
    // Admin requests are quick; a connection still open now is a stuck or idle client, and it
    // must not keep the process alive past its grace period.
    let mut admin = admin;
    match tokio::time::timeout(ADMIN_DRAIN, &mut admin).await {
        Ok(Ok(Err(err))) => return Err(ServeError::Admin(err)),
        Ok(_) => {}
        Err(_) => admin.abort(),
    }
    tracing::info!("Stopped");
    result
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt;

    use super::*;

    #[tokio::test]
    async fn accepted_grpc_connections_have_nodelay_set() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut incoming = grpc_incoming(listener);

        let _client = tokio::net::TcpStream::connect(address).await.unwrap();
        let accepted = incoming.next().await.unwrap().unwrap();

        assert!(accepted.nodelay().unwrap());
    }
}
