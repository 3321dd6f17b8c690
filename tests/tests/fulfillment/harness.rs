//! A fulfillment server in this test process against the WHMCS and Salesforce emulators and a
//! private Redis, with an authenticated gRPC client and helpers to seed Orders.

use std::{collections::HashMap, net::SocketAddr, sync::Arc, time::Duration};

use bridge_proto::fulfillment::v1::{
    FulfillRequest, FulfillResponse, GetFulfillmentRequest, GetFulfillmentResponse, Trigger,
    fulfillment_service_client::FulfillmentServiceClient,
};
use bridge_runtime::{http_client, serve};
use bridge_tests::{CapturedLogs, RedisServer, TestKeys};
use fulfillment::{config::FulfillmentConfig, orchestrator::CrashHook, server};
use sandbox::{
    salesforce::{NewItem, NewOrder, SalesforceEmulator, SalesforceOptions},
    whmcs::{NewClient, NewProduct, WhmcsEmulator},
};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Status, transport::Channel};

pub(crate) const CLIENT_ID: &str = "3MVG9sandboxConsumerKey";
pub(crate) const USERNAME: &str = "integration@bridge.example";
pub(crate) const CALLER_TOKEN: &str = "tok-portal-6f1c2a9e";
pub(crate) const INGEST_TOKEN: &str = "tok-ingest-0b7d41c3";

/// Everything one test needs.
pub(crate) struct Harness {
    pub(crate) redis: RedisServer,
    pub(crate) salesforce: SalesforceEmulator,
    pub(crate) whmcs: WhmcsEmulator,
    pub(crate) logs: CapturedLogs,
    pub(crate) http_addr: SocketAddr,
    grpc_addr: SocketAddr,
    client: FulfillmentServiceClient<Channel>,
    channel: Channel,
    shutdown: CancellationToken,
    _files: TempDir,
}

/// Knobs a test may turn before the server starts.
#[derive(Default)]
pub(crate) struct Setup {
    /// Extra or overriding environment variables.
    pub(crate) env: Vec<(&'static str, String)>,
    /// A crash hook for the orchestrator.
    pub(crate) crash_hook: Option<CrashHook>,
    /// Sets `PORTAL_PRICEBOOK_ID` to the emulated org's standard price book.
    pub(crate) portal_pricebook: bool,
    /// Changes the environment once the emulators' addresses are in it.
    pub(crate) adjust_env: Option<fn(&mut HashMap<&'static str, String>)>,
}

impl Harness {
    pub(crate) async fn start() -> Self {
        Self::start_with(Setup::default()).await
    }

    pub(crate) async fn start_with(setup: Setup) -> Self {
        http_client::install_crypto_provider();
        let logs = CapturedLogs::install();
        let redis = RedisServer::start().expect("a private redis-server starts");
        let keys = TestKeys::primary();
        let salesforce = SalesforceEmulator::start(SalesforceOptions::new(
            CLIENT_ID,
            USERNAME,
            &keys.public_pem,
        ))
        .await
        .expect("the Salesforce emulator starts");
        let whmcs = WhmcsEmulator::start()
            .await
            .expect("the WHMCS emulator starts");

        let files = tempfile::tempdir().expect("a temporary directory");
        let key_path = files.path().join("sf-private.key");
        std::fs::write(&key_path, &keys.private_pkcs8_pem).expect("the key file is written");
        let tokens_path = files.path().join("tokens");
        std::fs::write(
            &tokens_path,
            format!("# callers\nportal:{CALLER_TOKEN}\ningest:{INGEST_TOKEN}\n"),
        )
        .expect("the tokens file is written");

        let mut env: HashMap<&'static str, String> = HashMap::from([
            ("REDIS_URL", redis.url()),
            ("SF_LOGIN_URL", salesforce.url()),
            ("SF_CLIENT_ID", CLIENT_ID.to_owned()),
            ("SF_USERNAME", USERNAME.to_owned()),
            ("SF_PRIVATE_KEY_PATH", key_path.display().to_string()),
            ("WHMCS_API_URL", whmcs.api_url()),
            ("WHMCS_API_IDENTIFIER", whmcs.identifier()),
            ("WHMCS_API_SECRET", whmcs.secret()),
            (
                "FULFILLMENT_AUTH_TOKENS_FILE",
                tokens_path.display().to_string(),
            ),
            ("GRPC_ADDR", "127.0.0.1:0".to_owned()),
            ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
            ("WHMCS_HTTP_TIMEOUT", "5s".to_owned()),
            ("WHMCS_ORDER_TIMEOUT", "5s".to_owned()),
            // An AddOrder that timed out holds the Order off for its deadline plus this; the
            // emulated WHMCS never finishes work later than that.
            ("WHMCS_ORDER_SETTLE", "5s".to_owned()),
            ("SF_HTTP_TIMEOUT", "5s".to_owned()),
        ]);
        for (name, value) in setup.env {
            env.insert(name, value);
        }
        if setup.portal_pricebook {
            env.insert("PORTAL_PRICEBOOK_ID", salesforce.standard_pricebook_id());
        }
        if let Some(adjust) = setup.adjust_env {
            adjust(&mut env);
        }
        let env: HashMap<String, String> =
            env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let config = FulfillmentConfig::from_env(&env).expect("the test configuration is valid");

        let ports = server::assemble_with(&config, setup.crash_hook)
            .await
            .expect("the server assembles");
        let grpc_addr = ports.grpc.local_addr().expect("bound");
        let http_addr = ports.admin.local_addr().expect("bound");
        let shutdown = CancellationToken::new();
        tokio::spawn(serve::run(ports, shutdown.clone(), Duration::from_secs(5)));

        let channel = Channel::from_shared(format!("http://{grpc_addr}"))
            .expect("a valid URI")
            .connect()
            .await
            .expect("the server accepts connections");
        Self {
            redis,
            salesforce,
            whmcs,
            logs,
            http_addr,
            grpc_addr,
            client: FulfillmentServiceClient::new(channel.clone()),
            channel,
            shutdown,
            _files: files,
        }
    }

    /// The gRPC address, for clients of other kinds (grpcurl).
    #[allow(dead_code, reason = "only the grpcurl tests use it")]
    pub(crate) fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The channel to the server, for health and other services.
    pub(crate) fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A client without credentials, for authentication tests.
    pub(crate) fn raw_client(&self) -> FulfillmentServiceClient<Channel> {
        self.client.clone()
    }

    /// Calls Fulfill as the `portal` caller.
    pub(crate) async fn fulfill(
        &self,
        order_id: &str,
        trigger: Trigger,
    ) -> Result<FulfillResponse, Status> {
        self.fulfill_event(order_id, trigger, "").await
    }

    /// Calls Fulfill as the `portal` caller, for the platform event `event_uuid`.
    pub(crate) async fn fulfill_event(
        &self,
        order_id: &str,
        trigger: Trigger,
        event_uuid: &str,
    ) -> Result<FulfillResponse, Status> {
        let request = FulfillRequest {
            order_id: order_id.to_owned(),
            trigger: trigger.into(),
            event_uuid: event_uuid.to_owned(),
            ..Default::default()
        };
        self.client
            .clone()
            .fulfill(authorised(request))
            .await
            .map(tonic::Response::into_inner)
    }

    /// Calls Fulfill until the Order is no longer held (ABORTED: its lock, or an AddOrder that
    /// may still be in flight), for up to 30 s, and returns the first other answer.
    pub(crate) async fn fulfill_when_free(
        &self,
        order_id: &str,
        trigger: Trigger,
    ) -> Result<FulfillResponse, Status> {
        eventually("the Order to be free", Duration::from_secs(30), || async {
            match self.fulfill(order_id, trigger).await {
                Err(status) if status.code() == tonic::Code::Aborted => None,
                other => Some(other),
            }
        })
        .await
    }

    /// Calls GetFulfillment as the `portal` caller.
    pub(crate) async fn journal(&self, order_id: &str) -> Result<GetFulfillmentResponse, Status> {
        let request = GetFulfillmentRequest {
            order_id: order_id.to_owned(),
        };
        self.client
            .clone()
            .get_fulfillment(authorised(request))
            .await
            .map(tonic::Response::into_inner)
    }

    /// A WHMCS client with a pay method, and a Salesforce Account pointing at it.
    pub(crate) fn customer(&self, with_pay_method: bool) -> (u64, String) {
        let client_id = self.whmcs.add_client(NewClient::default());
        if with_pay_method {
            self.whmcs.add_pay_method(client_id, "stripe");
        }
        let account = self
            .salesforce
            .add_account("Acme Hosting", Some(&client_id.to_string()));
        (client_id, account)
    }

    /// A WHMCS product offered monthly and annually, and a Salesforce Product2 mapped to it.
    pub(crate) fn product(&self, cycle: &str) -> String {
        let pid = self.whmcs.add_product(NewProduct {
            name: "VPS Small".to_owned(),
            pricing: vec![
                ("monthly".to_owned(), "9.99".to_owned()),
                ("annually".to_owned(), "99.00".to_owned()),
            ],
            ..NewProduct::default()
        });
        self.salesforce
            .add_product("VPS Small", Some(&pid.to_string()), Some(cycle))
    }

    /// An Order for `account` with one item per `(product, quantity)`, approved (so
    /// `Activating`, as the Flow leaves it).
    pub(crate) fn approved_order(&self, account: &str, items: &[(&str, f64)]) -> String {
        let order_id = self.salesforce.add_order(NewOrder {
            account_id: account.to_owned(),
            pricebook_id: self.salesforce.standard_pricebook_id(),
            items: items
                .iter()
                .map(|(product, quantity)| NewItem {
                    product_id: (*product).to_owned(),
                    quantity: *quantity,
                    unit_price: 9.99,
                })
                .collect(),
        });
        self.salesforce
            .approve_order(&order_id)
            .expect("the Flow runs");
        order_id
    }

    /// A customer with a pay method and an approved Order of one monthly product.
    pub(crate) fn good_order(&self) -> (u64, String) {
        let (client_id, account) = self.customer(true);
        let product = self.product("Monthly");
        (client_id, self.approved_order(&account, &[(&product, 1.0)]))
    }

    /// An Order field as the emulated org holds it.
    pub(crate) fn field(&self, order_id: &str, field: &str) -> serde_json::Value {
        self.salesforce
            .order(order_id)
            .and_then(|fields| fields.get(field).cloned())
            .unwrap_or(serde_json::Value::Null)
    }

    /// The WHMCS orders of a client.
    pub(crate) fn whmcs_orders_of(&self, client_id: u64) -> Vec<sandbox::whmcs::OrderRecord> {
        self.whmcs
            .orders()
            .into_iter()
            .filter(|order| order.client_id == client_id)
            .collect()
    }

    /// Every secret this harness configured or Salesforce issued, for the log scanner.
    pub(crate) fn secrets(&self) -> Vec<String> {
        vec![
            CALLER_TOKEN.to_owned(),
            INGEST_TOKEN.to_owned(),
            self.whmcs.secret(),
        ]
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// `request` with the `portal` caller's bearer token.
pub(crate) fn authorised<T>(request: T) -> Request<T> {
    with_token(request, CALLER_TOKEN)
}

/// `request` with `token` as its bearer token.
pub(crate) fn with_token<T>(request: T, token: &str) -> Request<T> {
    let mut request = Request::new(request);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .expect("an ASCII header value"),
    );
    request
}

/// Polls `probe` every 50 ms until it returns `Some`, or panics after `deadline`.
pub(crate) async fn eventually<T, F, Fut>(what: &str, deadline: Duration, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    bridge_tests::poll_until(what, deadline, Duration::from_millis(50), probe).await
}

/// A crash hook that stops the first run reaching `point`, and no later one.
pub(crate) fn crash_once(point: fulfillment::orchestrator::CrashPoint) -> CrashHook {
    let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
    Arc::new(move |reached| {
        reached == point && !fired.swap(true, std::sync::atomic::Ordering::SeqCst)
    })
}
