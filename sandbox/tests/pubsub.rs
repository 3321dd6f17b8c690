//! The Pub/Sub API emulator over a real socket with the generated tonic client: headers,
//! topics and schemas, subscriptions with presets and credit, keepalives and the idle close,
//! events the Salesforce Flow publishes, retention, injected faults, Publish, and TLS.
//!
//! Each test starts its own Salesforce org and bus on port 0 and logs in through the org's
//! JWT bearer endpoint to get a real session token.

#[path = "pubsub/auth.rs"]
mod auth;
#[path = "pubsub/faults.rs"]
mod faults;
#[path = "pubsub/flow_control.rs"]
mod flow_control;
#[path = "pubsub/publish.rs"]
mod publish;
#[path = "pubsub/replay.rs"]
mod replay;
#[path = "pubsub/source.rs"]
mod source;
#[path = "pubsub/topics.rs"]
mod topics;
#[path = "pubsub/transport.rs"]
mod transport;

use std::{
    future::Future,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bridge_proto::eventbus::v1::{
    ConsumerEvent, FetchRequest, FetchResponse, ReplayPreset, SchemaRequest,
    pub_sub_client::PubSubClient,
};
use bridge_runtime::http_client::install_crypto_provider;
use bridge_tests::TestKeys;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sandbox::{
    pubsub::{ORDER_CHANNEL, PubSubEmulator, PubSubOptions},
    salesforce::{SalesforceEmulator, SalesforceOptions},
};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::{Code, Request, Status, Streaming, transport::Channel};

const CLIENT_ID: &str = "3MVG9_PUBSUB_TEST_CONSUMER_KEY";
const USERNAME: &str = "integration@acme.example";

/// The longest any single wait in these tests may take.
const DEADLINE: Duration = Duration::from_secs(10);

/// The trailer Salesforce puts its error code in.
const ERROR_CODE: &str = "error-code";

/// An org, its bus, a logged-in session and a client connected to the bus.
struct Bus {
    sf: SalesforceEmulator,
    pubsub: PubSubEmulator,
    token: String,
    client: PubSubClient<Channel>,
}

/// Options that keep keepalives and the idle close out of the way unless a test wants them.
fn quiet_options() -> PubSubOptions {
    PubSubOptions {
        keepalive_interval: Duration::from_secs(30),
        idle_close: Duration::from_secs(30),
        ..PubSubOptions::default()
    }
}

async fn start() -> Bus {
    start_with(|_| {}).await
}

async fn start_with(adjust: impl FnOnce(&mut PubSubOptions)) -> Bus {
    let mut options = quiet_options();
    adjust(&mut options);
    attach(start_org().await, options).await
}

/// A bus on an org that is already running.
async fn attach(sf: SalesforceEmulator, options: PubSubOptions) -> Bus {
    let pubsub = PubSubEmulator::start(&sf, options)
        .await
        .expect("the bus starts");
    let token = login(&sf).await;
    let client = connect(&pubsub.endpoint()).await;
    Bus {
        sf,
        pubsub,
        token,
        client,
    }
}

async fn start_org() -> SalesforceEmulator {
    install_crypto_provider();
    let options = SalesforceOptions::new(CLIENT_ID, USERNAME, &TestKeys::primary().public_pem);
    SalesforceEmulator::start(options)
        .await
        .expect("the org starts")
}

/// A session token from the org's JWT bearer endpoint.
async fn login(sf: &SalesforceEmulator) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 180;
    let claims = json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": "https://login.salesforce.com", "exp": exp});
    let key = EncodingKey::from_rsa_pem(TestKeys::primary().private_pkcs8_pem.as_bytes())
        .expect("an RSA key");
    let assertion =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).expect("signed");
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/services/oauth2/token", sf.url()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ])
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON");
    answer["access_token"].as_str().expect("a token").to_owned()
}

async fn connect(endpoint: &str) -> PubSubClient<Channel> {
    let channel = Channel::from_shared(endpoint.to_owned())
        .expect("a URI")
        .connect()
        .await
        .expect("connects");
    PubSubClient::new(channel).max_decoding_message_size(64 * 1024 * 1024)
}

impl Bus {
    /// `message` with the three headers of this session.
    fn authed<T>(&self, message: T) -> Request<T> {
        with_headers(message, &self.token, &self.sf.url(), &self.sf.org_id())
    }

    /// Opens a stream whose first request is `first`.
    async fn subscribe(&self, first: FetchRequest) -> Result<Subscription, Status> {
        let (requests, outbound) = mpsc::unbounded_channel();
        requests.send(first).expect("queued");
        let responses = self
            .client
            .clone()
            .subscribe(self.authed(UnboundedReceiverStream::new(outbound)))
            .await?
            .into_inner();
        Ok(Subscription {
            requests,
            responses,
        })
    }

    async fn subscribe_ok(&self, first: FetchRequest) -> Subscription {
        self.subscribe(first).await.expect("the stream opens")
    }

    /// The channel's schema, parsed from `GetSchema`.
    async fn order_schema(&self) -> apache_avro::Schema {
        let info = self
            .client
            .clone()
            .get_schema(self.authed(SchemaRequest {
                schema_id: self.pubsub.order_schema_id(),
            }))
            .await
            .expect("the schema")
            .into_inner();
        apache_avro::Schema::parse_str(&info.schema_json).expect("Avro")
    }
}

fn with_headers<T>(message: T, token: &str, instance_url: &str, tenant_id: &str) -> Request<T> {
    let mut request = Request::new(message);
    let metadata = request.metadata_mut();
    for (key, value) in [
        ("accesstoken", token),
        ("instanceurl", instance_url),
        ("tenantid", tenant_id),
    ] {
        if !value.is_empty() {
            metadata.insert(key, value.parse().expect("ASCII"));
        }
    }
    request
}

/// The first request of a stream.
fn fetch(preset: ReplayPreset, replay_id: &[u8], num_requested: i32) -> FetchRequest {
    FetchRequest {
        topic_name: ORDER_CHANNEL.to_owned(),
        replay_preset: preset.into(),
        replay_id: replay_id.to_vec(),
        num_requested,
        auth_refresh: String::new(),
    }
}

/// A later request: more credit only.
fn more(num_requested: i32) -> FetchRequest {
    FetchRequest {
        num_requested,
        ..FetchRequest::default()
    }
}

/// The client's side of one Subscribe stream.
struct Subscription {
    requests: mpsc::UnboundedSender<FetchRequest>,
    responses: Streaming<FetchResponse>,
}

impl Subscription {
    fn request(&self, request: FetchRequest) {
        self.requests.send(request).expect("the stream is open");
    }

    /// The next response, the status that ended the stream, or `None` when it ended OK.
    async fn next_result(&mut self) -> Option<Result<FetchResponse, Status>> {
        within(self.responses.message()).await.transpose()
    }

    async fn next(&mut self) -> FetchResponse {
        match self.next_result().await {
            Some(Ok(response)) => response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    /// The status that ends the stream, skipping any responses before it.
    async fn ending(&mut self) -> Status {
        loop {
            match self.next_result().await {
                Some(Ok(_)) => {}
                Some(Err(status)) => return status,
                None => panic!("the stream ended without a status"),
            }
        }
    }

    /// Reads responses until `count` events came, skipping keepalives.
    async fn events(&mut self, count: usize) -> Vec<ConsumerEvent> {
        let mut events = Vec::new();
        while events.len() < count {
            events.extend(self.next().await.events);
        }
        assert_eq!(events.len(), count, "more events than asked for arrived");
        events
    }

    /// Whether nothing at all arrives for `quiet`.
    async fn stays_quiet(&mut self, quiet: Duration) -> bool {
        tokio::time::timeout(quiet, self.responses.message())
            .await
            .is_err()
    }
}

/// `future`'s output, failing the test when it takes longer than [`DEADLINE`].
async fn within<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(DEADLINE, future)
        .await
        .expect("in time")
}

/// Polls `condition` until it holds or [`DEADLINE`] passes.
async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The trailer `error-code` of `status`.
fn error_code(status: &Status) -> Option<String> {
    status
        .metadata()
        .get(ERROR_CODE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Asserts Salesforce's shape: the code, the description then ` rpcId: <uuid>`, the trailer.
fn assert_salesforce_error(status: &Status, code: Code, description: &str, trailer: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    let (text, rpc_id) = status
        .message()
        .rsplit_once(" rpcId: ")
        .unwrap_or_else(|| panic!("no rpc id in {:?}", status.message()));
    assert_eq!(text, description);
    assert!(uuid::Uuid::parse_str(rpc_id).is_ok(), "{rpc_id}");
    assert_eq!(error_code(status).as_deref(), Some(trailer), "{status:?}");
}

/// The replay id's counter, the way clients read the first 8 bytes.
fn counter(replay_id: &[u8]) -> u64 {
    u64::from_be_bytes(replay_id[..8].try_into().expect("8 bytes"))
}

/// The order id inside an event of the channel's schema.
fn order_id_of(schema: &apache_avro::Schema, event: &ConsumerEvent) -> Option<String> {
    use apache_avro::types::Value;
    let payload = &event.event.as_ref().expect("an event").payload;
    let reader = apache_avro::reader::datum::GenericDatumReader::builder(schema)
        .build()
        .expect("a reader");
    let mut rest = payload.as_slice();
    let value = reader.read_value(&mut rest).expect("a datum");
    assert!(rest.is_empty(), "bytes left over");
    let Value::Record(fields) = value else {
        panic!("not a record: {value:?}");
    };
    match fields.iter().find(|(name, _)| name == "OrderId__c") {
        Some((_, Value::Union(1, inner))) => match inner.as_ref() {
            Value::String(id) => Some(id.clone()),
            other => panic!("OrderId__c is {other:?}"),
        },
        Some((_, Value::Union(0, _))) => None,
        other => panic!("OrderId__c is {other:?}"),
    }
}
