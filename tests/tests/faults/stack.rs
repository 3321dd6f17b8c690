//! The product as operators run it: the real `fulfillment` binary (and `ingest`, when a test
//! needs the redelivery path) as child processes, against the emulators running in this test
//! process and a private Redis, with an authenticated gRPC client.

use std::{collections::HashMap, path::Path, time::Duration};

use bridge_proto::fulfillment::v1::{
    FulfillRequest, FulfillResponse, GetFulfillmentRequest, GetFulfillmentResponse, Trigger,
    fulfillment_service_client::FulfillmentServiceClient,
};
use bridge_tests::{RedisServer, ServiceProcess, find_secrets, workspace_binary};
use sandbox::demo::{services, world::World};
use serde_json::Value;
use tonic::{Code, Request, Status, transport::Channel};
use tonic_types::StatusExt;

/// How long a process may take to log a line a test waits for, and how long an Order may stay
/// held (its lock, or an AddOrder that may still be in flight) before a test gives up.
pub(crate) const WAIT: Duration = Duration::from_secs(45);

/// The deadline of every upstream call, in seconds. Short, so the hang cases end quickly; long
/// enough that a loaded two-core machine answers every other call well within it.
pub(crate) const UPSTREAM_TIMEOUT_SECS: u64 = 3;

/// The emulated world, Redis, and the processes.
pub(crate) struct Stack {
    pub(crate) world: World,
    redis: RedisServer,
    /// The fulfillment process every case uses.
    pub(crate) fulfillment: Fulfillment,
    pub(crate) ingest: Option<ServiceProcess>,
}

/// One fulfillment process and an authenticated client for it.
pub(crate) struct Fulfillment {
    pub(crate) process: ServiceProcess,
    http: String,
    client: FulfillmentServiceClient<Channel>,
    token: String,
}

fn start_process(name: &str, env: HashMap<String, String>) -> (ServiceProcess, String, String) {
    let binary = workspace_binary(name);
    assert!(
        binary.exists(),
        "{} is not built; run the tests with scripts/test (cargo test --workspace builds every binary)",
        binary.display()
    );
    let process = ServiceProcess::start(Path::new(&binary), &env).expect("the binary starts");
    let address = |message: &str| {
        let line = tokio::task::block_in_place(|| process.wait_for_log(message, WAIT))
            .unwrap_or_else(|output| panic!("{output}"));
        line["address"]
            .as_str()
            .expect("an address field")
            .to_owned()
    };
    let grpc = address("gRPC server listening");
    let http = address("Admin HTTP server listening");
    (process, grpc, http)
}

fn to_env(parts: Vec<(&'static str, String)>) -> HashMap<String, String> {
    let mut env: HashMap<String, String> =
        parts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let timeout = format!("{UPSTREAM_TIMEOUT_SECS}s");
    for (name, value) in [
        ("SF_HTTP_TIMEOUT", timeout.as_str()),
        ("WHMCS_HTTP_TIMEOUT", timeout.as_str()),
        ("WHMCS_ORDER_TIMEOUT", timeout.as_str()),
        ("WHMCS_ORDER_SETTLE", "5s"),
        ("GRPC_ADDR", "127.0.0.1:0"),
        ("HTTP_ADDR", "127.0.0.1:0"),
        ("LOG_FORMAT", "json"),
        ("SHUTDOWN_GRACE", "5s"),
    ] {
        env.insert(name.to_owned(), value.to_owned());
    }
    env
}

impl Stack {
    /// Starts the emulators, Redis and fulfillment; with `ingest`, ingest too, subscribed.
    pub(crate) async fn start(ingest: bool) -> Self {
        bridge_runtime::http_client::install_crypto_provider();
        let world = World::start().await.expect("the emulators start");
        let redis = RedisServer::start().expect("a private redis-server");
        let (fulfillment, grpc) = Fulfillment::start(&world, &redis, &[]).await;
        let ingest = ingest.then(|| {
            let mut env = services::common_env(&world, &redis.url());
            env.extend(services::ingest_env(&world, &grpc));
            start_process("ingest", to_env(env)).0
        });
        let stack = Self {
            world,
            redis,
            fulfillment,
            ingest,
        };
        if stack.ingest.is_some() {
            eventually("ingest to subscribe", || async {
                (stack.world.pubsub.active_streams() > 0).then_some(())
            })
            .await;
        }
        stack
    }

    /// Another fulfillment process on the same world and Redis, with `overrides` on top of
    /// its environment.
    pub(crate) async fn start_fulfillment(
        &self,
        overrides: &[(&'static str, String)],
    ) -> Fulfillment {
        Fulfillment::start(&self.world, &self.redis, overrides)
            .await
            .0
    }

    /// An Order field, `Null` when unset.
    pub(crate) fn field(&self, order_id: &str, name: &str) -> Value {
        self.world
            .salesforce
            .order(order_id)
            .and_then(|fields| fields.get(name).cloned())
            .unwrap_or(Value::Null)
    }

    /// Fails when any output holds a configured secret or an issued token.
    pub(crate) fn assert_no_secrets(&self) {
        let tokens = std::fs::read_to_string(&self.world.tokens_path).expect("the tokens file");
        let mut secrets: Vec<String> = tokens
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once(':').map(|(_, token)| token.to_owned()))
            .collect();
        secrets.push(self.world.whmcs.secret());
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let mut output = self.fulfillment.process.lines();
        if let Some(ingest) = &self.ingest {
            output.extend(ingest.lines());
        }
        let found = find_secrets(&output.join("\n"), &secrets);
        assert!(
            found.is_empty(),
            "the processes printed {} secret(s)",
            found.len()
        );
    }
}

impl Fulfillment {
    /// Starts fulfillment on `world` and `redis` with `overrides`; returns it and its gRPC
    /// address.
    async fn start(
        world: &World,
        redis: &RedisServer,
        overrides: &[(&'static str, String)],
    ) -> (Self, String) {
        let mut env = services::common_env(world, &redis.url());
        env.extend(services::fulfillment_env(world));
        env.retain(|(name, _)| overrides.iter().all(|(changed, _)| changed != name));
        env.extend(overrides.iter().cloned());
        let (process, grpc, http) = start_process("fulfillment", to_env(env));
        let channel = Channel::from_shared(format!("http://{grpc}"))
            .expect("a valid URI")
            .connect()
            .await
            .expect("fulfillment accepts connections");
        let fulfillment = Self {
            process,
            http,
            client: FulfillmentServiceClient::new(channel),
            token: world.portal_token.clone(),
        };
        (fulfillment, grpc)
    }

    fn authorised<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.token)
                .parse()
                .expect("an ASCII header value"),
        );
        request
    }

    /// `Fulfill` as the portal caller; an empty `event_uuid` sends none.
    pub(crate) async fn fulfill(
        &self,
        order_id: &str,
        trigger: Trigger,
        event_uuid: &str,
    ) -> Result<FulfillResponse, Status> {
        let request = self.authorised(FulfillRequest {
            order_id: order_id.to_owned(),
            trigger: trigger.into(),
            event_uuid: event_uuid.to_owned(),
            ..Default::default()
        });
        self.client
            .clone()
            .fulfill(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// `Fulfill` again whenever the answer is `ABORTED` (the Order's lock is held, or an
    /// earlier AddOrder may still be in flight), as ingest does, until another answer comes;
    /// the last `ABORTED` when the Order is still held after [`WAIT`].
    pub(crate) async fn fulfill_when_free(
        &self,
        order_id: &str,
        trigger: Trigger,
        event_uuid: &str,
    ) -> Result<FulfillResponse, Status> {
        let started = tokio::time::Instant::now();
        loop {
            match self.fulfill(order_id, trigger, event_uuid).await {
                Err(status) if status.code() == Code::Aborted && started.elapsed() < WAIT => {
                    // An AddOrder in flight stays so for seconds: ask a few times a second.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => return other,
            }
        }
    }

    /// `GetFulfillment` as the portal caller.
    pub(crate) async fn journal(&self, order_id: &str) -> Result<GetFulfillmentResponse, Status> {
        let request = self.authorised(GetFulfillmentRequest {
            order_id: order_id.to_owned(),
        });
        self.client
            .clone()
            .get_fulfillment(request)
            .await
            .map(tonic::Response::into_inner)
    }

    /// `/health` JSON.
    pub(crate) fn health(&self) -> Value {
        let (_, body) =
            tokio::task::block_in_place(|| bridge_tests::http_get(&self.http, "/health"))
                .expect("the admin port answers");
        serde_json::from_str(&body).expect("JSON")
    }
}

/// The `ErrorInfo` reason of a gRPC error, or `""`.
pub(crate) fn reason(status: &Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

/// Polls `probe` every 50 ms until it returns `Some`, or panics after [`WAIT`].
pub(crate) async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    bridge_tests::poll_until(what, WAIT, Duration::from_millis(50), probe).await
}
