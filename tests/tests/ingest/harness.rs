//! Ingest in this test process against the Salesforce and Pub/Sub emulators, a private Redis,
//! and a fulfillment service of the test's own that records every call.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use bridge_proto::fulfillment::v1::{
    FulfillRequest, FulfillResponse, GetFulfillmentRequest, GetFulfillmentResponse, Outcome,
    fulfillment_service_server::{FulfillmentService, FulfillmentServiceServer},
};
use bridge_runtime::{http_client, salesforce::SalesforceId, serve};
use bridge_tests::{CapturedLogs, RedisServer, TestKeys};
use ingest::config::IngestConfig;
use sandbox::{
    pubsub::{PubSubEmulator, PubSubOptions},
    salesforce::{SalesforceEmulator, SalesforceOptions},
};
use tempfile::TempDir;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

pub(crate) const CLIENT_ID: &str = "3MVG9sandboxConsumerKey";
pub(crate) const USERNAME: &str = "integration@bridge.example";
pub(crate) const CHANNEL: &str = "/event/OrderProvisionRequested__e";
pub(crate) const CURSOR_KEY: &str = "sf:pe:replay:/event/OrderProvisionRequested__e";

/// A fulfillment service that answers at once (or as a test tells it) and records calls.
#[derive(Default)]
pub(crate) struct FakeFulfillment {
    calls: Mutex<Vec<String>>,
    finished: Mutex<Vec<String>>,
    unavailable: Mutex<bool>,
    slow: Mutex<HashMap<String, Duration>>,
    refused: Mutex<HashSet<String>>,
}

impl FakeFulfillment {
    /// Every Fulfill call's order id, in arrival order.
    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    /// The order ids of calls answered with an outcome.
    pub(crate) fn finished(&self) -> HashSet<String> {
        self.finished.lock().unwrap().iter().cloned().collect()
    }

    /// Makes every call answer UNAVAILABLE (or stop doing so).
    pub(crate) fn set_unavailable(&self, unavailable: bool) {
        *self.unavailable.lock().unwrap() = unavailable;
    }

    /// Makes calls for `order_id` answer INVALID_ARGUMENT (or stop doing so).
    pub(crate) fn refuse(&self, order_id: &str, refused: bool) {
        let mut set = self.refused.lock().unwrap();
        if refused {
            set.insert(order_id.to_owned());
        } else {
            set.remove(order_id);
        }
    }

    /// Makes calls for `order_id` take `delay`.
    pub(crate) fn slow_down(&self, order_id: &str, delay: Duration) {
        self.slow.lock().unwrap().insert(order_id.to_owned(), delay);
    }
}

#[derive(Clone)]
struct FakeService(Arc<FakeFulfillment>);

#[tonic::async_trait]
impl FulfillmentService for FakeService {
    async fn fulfill(
        &self,
        request: Request<FulfillRequest>,
    ) -> Result<Response<FulfillResponse>, Status> {
        let request = request.into_inner();
        self.0.calls.lock().unwrap().push(request.order_id.clone());
        if *self.0.unavailable.lock().unwrap() {
            return Err(Status::unavailable("fulfillment is restarting"));
        }
        if self.0.refused.lock().unwrap().contains(&request.order_id) {
            return Err(Status::invalid_argument("order_id is refused by this test"));
        }
        let delay = self.0.slow.lock().unwrap().get(&request.order_id).copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        self.0
            .finished
            .lock()
            .unwrap()
            .push(request.order_id.clone());
        Ok(Response::new(FulfillResponse {
            order_id: request.order_id,
            outcome: Outcome::Activated.into(),
            ..Default::default()
        }))
    }

    async fn get_fulfillment(
        &self,
        _: Request<GetFulfillmentRequest>,
    ) -> Result<Response<GetFulfillmentResponse>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// The world one ingest test runs in.
pub(crate) struct World {
    pub(crate) redis: RedisServer,
    pub(crate) salesforce: SalesforceEmulator,
    pub(crate) pubsub: PubSubEmulator,
    pub(crate) fulfillment: Arc<FakeFulfillment>,
    pub(crate) logs: CapturedLogs,
    fulfillment_addr: SocketAddr,
    key_path: std::path::PathBuf,
    stop_fulfillment: CancellationToken,
    _files: TempDir,
}

/// One running ingest process, in this test process.
pub(crate) struct Ingest {
    pub(crate) grpc_addr: SocketAddr,
    pub(crate) http_addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), serve::ServeError>>,
}

impl Ingest {
    /// SIGTERM: drain, write the cursor, release the lease, stop.
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(20), self.task).await;
    }
}

impl World {
    pub(crate) async fn start(options: PubSubOptions) -> Self {
        http_client::install_crypto_provider();
        let logs = CapturedLogs::install();
        let redis = RedisServer::start().expect("a private redis-server");
        let keys = TestKeys::primary();
        let salesforce = SalesforceEmulator::start(SalesforceOptions::new(
            CLIENT_ID,
            USERNAME,
            &keys.public_pem,
        ))
        .await
        .expect("the Salesforce emulator starts");
        let pubsub = PubSubEmulator::start(&salesforce, options)
            .await
            .expect("the Pub/Sub emulator starts");

        let fulfillment = Arc::new(FakeFulfillment::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let fulfillment_addr = listener.local_addr().expect("bound");
        let stop_fulfillment = CancellationToken::new();
        let service = FulfillmentServiceServer::new(FakeService(fulfillment.clone()));
        let stopped = stop_fulfillment.clone();
        tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(
                    TcpListenerStream::new(listener),
                    stopped.cancelled_owned(),
                )
                .await;
        });

        let files = tempfile::tempdir().expect("a temporary directory");
        let key_path = files.path().join("sf-private.key");
        std::fs::write(&key_path, &keys.private_pkcs1_pem).expect("the key is written");
        Self {
            redis,
            salesforce,
            pubsub,
            fulfillment,
            logs,
            fulfillment_addr,
            key_path,
            stop_fulfillment,
            _files: files,
        }
    }

    /// The environment of an ingest process pointed at this world, with `extra` on top.
    pub(crate) fn env(&self, extra: &[(&str, &str)]) -> HashMap<String, String> {
        let mut env: HashMap<String, String> = [
            ("REDIS_URL", self.redis.url()),
            ("SF_LOGIN_URL", self.salesforce.url()),
            ("SF_CLIENT_ID", CLIENT_ID.to_owned()),
            ("SF_USERNAME", USERNAME.to_owned()),
            ("SF_PRIVATE_KEY_PATH", self.key_path.display().to_string()),
            ("SF_PUBSUB_ENDPOINT", self.pubsub.endpoint()),
            (
                "FULFILLMENT_URL",
                format!("http://{}", self.fulfillment_addr),
            ),
            ("INGEST_AUTH", "disabled".to_owned()),
            ("GRPC_ADDR", "127.0.0.1:0".to_owned()),
            ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
            ("INGEST_LEASE_TTL", "3s".to_owned()),
            ("SHUTDOWN_GRACE", "5s".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (name, value) in extra {
            env.insert((*name).to_owned(), (*value).to_owned());
        }
        env
    }

    /// Starts an ingest process with `extra` environment.
    pub(crate) async fn ingest(&self, extra: &[(&str, &str)]) -> Ingest {
        let config = IngestConfig::from_env(&self.env(extra)).expect("a valid configuration");
        let shutdown = CancellationToken::new();
        let ports = ingest::server::assemble(&config, shutdown.clone())
            .await
            .expect("ingest assembles");
        let grpc_addr = ports.grpc.local_addr().expect("bound");
        let http_addr = ports.admin.local_addr().expect("bound");
        let task = tokio::spawn(serve::run(ports, shutdown.clone(), Duration::from_secs(5)));
        Ingest {
            grpc_addr,
            http_addr,
            shutdown,
            task,
        }
    }

    /// The stored cursor, raw.
    pub(crate) fn stored_cursor(&self) -> Option<Vec<u8>> {
        let reply = self.redis.command(&["GET", CURSOR_KEY]).expect("GET");
        bulk_string(&reply)
    }

    /// Waits until the `stream`-th Subscribe call (refused ones count) sent its first request,
    /// and a stream is open.
    pub(crate) async fn wait_for_stream(&self, stream: usize) {
        eventually("a subscription", Duration::from_secs(20), || async {
            let fetched = self
                .pubsub
                .fetch_requests()
                .iter()
                .any(|fetch| fetch.stream >= stream);
            (self.pubsub.active_streams() >= 1 && fetched).then_some(())
        })
        .await;
    }

    /// The number of the newest Subscribe call.
    pub(crate) fn streams_seen(&self) -> usize {
        self.pubsub
            .fetch_requests()
            .iter()
            .map(|fetch| fetch.stream)
            .max()
            .unwrap_or(0)
    }

    /// Waits until every order in `orders` was answered by fulfillment.
    pub(crate) async fn wait_dispatched(&self, orders: &[String]) {
        eventually(
            "the events to be dispatched",
            Duration::from_secs(60),
            || async {
                let finished = self.fulfillment.finished();
                orders
                    .iter()
                    .all(|order| finished.contains(order))
                    .then_some(())
            },
        )
        .await;
    }

    /// Waits until the stored cursor equals `expected`.
    pub(crate) async fn wait_cursor(&self, expected: &[u8]) {
        eventually("the cursor", Duration::from_secs(20), || async {
            (self.stored_cursor().as_deref() == Some(expected)).then_some(())
        })
        .await;
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.stop_fulfillment.cancel();
    }
}

/// The value of a RESP bulk-string reply, `None` for a nil reply.
fn bulk_string(reply: &[u8]) -> Option<Vec<u8>> {
    if reply.starts_with(b"$-1") {
        return None;
    }
    let header_end = reply.windows(2).position(|pair| pair == b"\r\n")?;
    let length: usize = std::str::from_utf8(&reply[1..header_end])
        .ok()?
        .parse()
        .ok()?;
    Some(reply[header_end + 2..header_end + 2 + length].to_vec())
}

/// A valid 18-character Order id for number `n`.
pub(crate) fn order_id(n: u64) -> String {
    SalesforceId::parse(&format!("801{n:012}"))
        .expect("a valid id")
        .to_string()
}

/// Polls `probe` every 25 ms until it returns `Some`, or panics after `deadline`.
pub(crate) async fn eventually<T, F, Fut>(what: &str, deadline: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    bridge_tests::poll_until(what, deadline, Duration::from_millis(25), probe).await
}
