//! The product as operators run it: the real `fulfillment` and `ingest` binaries as child
//! processes, against the emulators (in this test process) and a private Redis.

use std::{collections::HashMap, path::Path, time::Duration};

use bridge_tests::{Persistence, RedisServer, ServiceProcess, find_secrets, workspace_binary};
use sandbox::demo::{
    services,
    world::{Customer, World},
};
use serde_json::Value;

/// How long a process may take to log a line a test waits for.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// The world, Redis, and the two processes.
pub(crate) struct Stack {
    pub(crate) world: World,
    pub(crate) redis: RedisServer,
    pub(crate) fulfillment: ServiceProcess,
    pub(crate) fulfillment_grpc: String,
    pub(crate) fulfillment_http: String,
    pub(crate) ingest: Option<ServiceProcess>,
    pub(crate) ingest_http: String,
}

fn binary(name: &str) -> std::path::PathBuf {
    let path = workspace_binary(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with scripts/test (cargo test --workspace builds every binary)",
        path.display()
    );
    path
}

fn start_process(name: &str, env: HashMap<String, String>) -> (ServiceProcess, String, String) {
    let process = ServiceProcess::start(Path::new(&binary(name)), &env).expect("the binary starts");
    let grpc = tokio::task::block_in_place(|| process.wait_for_log("gRPC server listening", WAIT))
        .unwrap_or_else(|output| panic!("{output}"));
    let http =
        tokio::task::block_in_place(|| process.wait_for_log("Admin HTTP server listening", WAIT))
            .unwrap_or_else(|output| panic!("{output}"));
    let address = |line: &Value| {
        line["address"]
            .as_str()
            .expect("an address field")
            .to_owned()
    };
    (process, address(&grpc), address(&http))
}

fn to_env(parts: Vec<(&'static str, String)>) -> HashMap<String, String> {
    let mut env: HashMap<String, String> =
        parts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (name, value) in [
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
    /// Starts everything; `ingest_env` overrides ingest's variables (`None`: no ingest yet).
    pub(crate) async fn start(ingest_env: Option<&[(&'static str, &str)]>) -> Self {
        bridge_runtime::http_client::install_crypto_provider();
        let world = World::start().await.expect("the emulators start");
        let redis =
            RedisServer::start_with(Persistence::AppendOnly).expect("a private redis-server");
        let mut env = services::common_env(&world, &redis.url());
        env.extend(services::fulfillment_env(&world));
        let (fulfillment, fulfillment_grpc, fulfillment_http) =
            start_process("fulfillment", to_env(env));
        let mut stack = Self {
            world,
            redis,
            fulfillment,
            fulfillment_grpc,
            fulfillment_http,
            ingest: None,
            ingest_http: String::new(),
        };
        if let Some(extra) = ingest_env {
            stack.start_ingest(extra).await;
        }
        stack
    }

    /// Starts (or restarts) ingest with `extra` on top of the sandbox's variables, and waits
    /// until it serves.
    pub(crate) async fn start_ingest(&mut self, extra: &[(&'static str, &str)]) {
        if let Some(mut old) = self.ingest.take() {
            old.terminate();
            tokio::task::block_in_place(|| old.wait(WAIT));
        }
        let mut env = services::common_env(&self.world, &self.redis.url());
        env.extend(services::ingest_env(&self.world, &self.fulfillment_grpc));
        for (name, value) in extra {
            env.retain(|(existing, _)| existing != name);
            env.push((name, (*value).to_owned()));
        }
        let (process, _, http) = start_process("ingest", to_env(env));
        self.ingest = Some(process);
        self.ingest_http = http;
    }

    /// A new customer (with or without a payment method) and a draft Order of one monthly VPS.
    pub(crate) fn vps_order(&self, name: &str, pay_method: bool) -> (Customer, String) {
        let customer = self.world.customer(name, pay_method);
        let vps = self.world.offering("VPS Small", "Monthly");
        let order_id = self
            .world
            .order(&customer.account_id, &[(&vps.product_id, 1.0)]);
        (customer, order_id)
    }

    /// Waits until ingest has an open subscription.
    pub(crate) async fn wait_subscribed(&self) {
        eventually("ingest to subscribe", || async {
            (self.world.pubsub.active_streams() > 0).then_some(())
        })
        .await;
    }

    /// An Order field.
    pub(crate) fn field(&self, order_id: &str, name: &str) -> Value {
        self.world
            .salesforce
            .order(order_id)
            .and_then(|fields| fields.get(name).cloned())
            .unwrap_or(Value::Null)
    }

    /// Waits until the Order's `Activation_Status__c` is `status`.
    pub(crate) async fn wait_status(&self, order_id: &str, status: &str) {
        eventually("the Order's status", || async {
            (self.field(order_id, "Activation_Status__c") == status).then_some(())
        })
        .await;
    }

    /// The parsed JSON log lines of a process.
    pub(crate) fn logs(process: &ServiceProcess) -> Vec<Value> {
        process
            .lines()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Every line both processes printed.
    pub(crate) fn all_output(&self) -> String {
        let mut lines = self.fulfillment.lines();
        if let Some(ingest) = &self.ingest {
            lines.extend(ingest.lines());
        }
        lines.join("\n")
    }

    /// Fails when any output holds a configured secret, an issued token or a PEM marker.
    pub(crate) fn assert_no_secrets(&self) {
        let tokens = std::fs::read_to_string(&self.world.tokens_path).expect("the tokens file");
        let mut secrets: Vec<String> = tokens
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once(':').map(|(_, token)| token.to_owned()))
            .collect();
        secrets.push(self.world.whmcs.secret());
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let found = find_secrets(&self.all_output(), &secrets);
        assert!(
            found.is_empty(),
            "the processes printed {} secret(s)",
            found.len()
        );
    }

    /// `GET /health` of an admin address: status and JSON.
    pub(crate) fn health(address: &str) -> (u16, Value) {
        let (status, body) =
            bridge_tests::http_get(address, "/health").expect("the admin port answers");
        (status, serde_json::from_str(&body).expect("JSON"))
    }
}

/// Polls `probe` every 50 ms until it returns `Some`, or panics after [`WAIT`].
pub(crate) async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    bridge_tests::poll_until(what, WAIT, Duration::from_millis(50), probe).await
}
