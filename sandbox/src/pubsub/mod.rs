//! The Salesforce Pub/Sub API emulator: gRPC service `eventbus.v1.PubSub` on loopback,
//! faithful to `reference/pubsub-api.md`, quirks included.
//!
//! One [`PubSubEmulator`] serves one org's event bus next to a [`SalesforceEmulator`]: it
//! checks every call's headers against that org, follows the org's provisioning Flow (each
//! event it publishes lands on [`ORDER_CHANNEL`] as an Avro datum of the channel's schema,
//! which is derived from the platform event in the org's DX project, `salesforce/`), and
//! serves `GetTopic`, `GetSchema`, `Publish` and `Subscribe` with real flow control,
//! replay presets, 10-byte replay ids, keepalives, the idle close, and retention against a
//! clock tests can move. Tests publish well-formed or broken events directly, read back every
//! `FetchRequest` clients sent, and inject faults: ended streams, half-open silence, refused
//! subscriptions. Plaintext h2c by default; TLS with a generated CA on request.

mod auth;
mod bus;
mod error;
mod event_schema;
mod publish;
mod schema;
mod service;
mod state;
mod stream;
mod tls;

use std::{
    collections::HashSet,
    fmt, io,
    sync::{Arc, Mutex, PoisonError, Weak},
    time::Duration,
};

use bridge_proto::eventbus::v1::pub_sub_server::PubSubServer;
use tokio::{
    net::TcpListener,
    sync::{broadcast, oneshot},
    task::JoinHandle,
};
use tonic::transport::{Identity, Server, ServerTlsConfig};

use self::{
    bus::{StoredEvent, encode_replay_id},
    error::{PubSubError, description_for},
    service::PubSubService,
    state::Shared,
};
use crate::salesforce::{PublishedEvent, SalesforceEmulator};

/// The platform event channel the Flow publishes to.
pub const ORDER_CHANNEL: &str = "/event/OrderProvisionRequested__e";

/// How long [`PubSubEmulator::shutdown`] waits for open calls before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The largest message the server reads or writes: above gRPC's 4 MiB default, so that an
/// oversized `PublishRequest` reaches the check that refuses it the way Salesforce does.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How the emulated service behaves.
#[derive(Debug, Clone)]
pub struct PubSubOptions {
    /// How often an empty `FetchResponse` is sent while credit is outstanding and nothing is
    /// to be sent. Salesforce: within 270 s.
    pub keepalive_interval: Duration,
    /// How long a stream with no credit left waits for a `FetchRequest` before it is reset.
    /// Salesforce: 60 s.
    pub idle_close: Duration,
    /// How long events and positions stay replayable. Salesforce: 72 h.
    pub retention: Duration,
    /// `false`: plaintext h2c. `true`: TLS with a generated CA and a separate `localhost` leaf.
    pub tls: bool,
}

impl Default for PubSubOptions {
    fn default() -> Self {
        Self {
            keepalive_interval: Duration::from_secs(270),
            idle_close: Duration::from_secs(60),
            retention: Duration::from_secs(72 * 3600),
            tls: false,
        }
    }
}

/// One `FetchRequest` as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedFetch {
    /// The 1-based number of the Subscribe call it came on; every call gets one, refused
    /// calls included.
    pub stream: usize,
    /// `topic_name` as sent.
    pub topic_name: String,
    /// `replay_preset` as sent (0 LATEST, 1 EARLIEST, 2 CUSTOM).
    pub replay_preset: i32,
    /// `replay_id` as sent.
    pub replay_id: Vec<u8>,
    /// `num_requested` as sent.
    pub num_requested: i32,
}

/// One event on the channel, as the emulator's ledger lists it: what a subscriber that misses
/// nothing must have processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The replay id the event is delivered with (10 bytes).
    pub replay_id: Vec<u8>,
    /// Its `EventUuid`.
    pub event_uuid: String,
}

struct Running {
    stop: oneshot::Sender<()>,
    server: JoinHandle<()>,
    follower: JoinHandle<()>,
}

/// A running emulated Pub/Sub API. Cheap to clone; every clone is the same service.
#[derive(Clone)]
pub struct PubSubEmulator {
    shared: Arc<Shared>,
    endpoint: String,
    ca_pem: Option<String>,
    running: Arc<Mutex<Option<Running>>>,
}

impl fmt::Debug for PubSubEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PubSubEmulator")
            .field("endpoint", &self.endpoint)
            .field("tls", &self.ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl PubSubEmulator {
    /// Binds `127.0.0.1:0` and serves. Follows `salesforce`: every event its Flow publishes
    /// (those before the start included) is appended to [`ORDER_CHANNEL`], encoded with the
    /// channel's schema. Auth headers are checked against it.
    pub async fn start(
        salesforce: &SalesforceEmulator,
        options: PubSubOptions,
    ) -> io::Result<Self> {
        bridge_runtime::http_client::install_crypto_provider();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared =
            Arc::new(Shared::new(salesforce.clone(), options.clone()).map_err(io::Error::other)?);

        let mut builder = Server::builder();
        let (endpoint, ca_pem) = if options.tls {
            let pki = tls::generate().map_err(io::Error::other)?;
            let identity = Identity::from_pem(&pki.leaf_pem, &pki.leaf_key_pem);
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(identity))
                .map_err(io::Error::other)?;
            (format!("https://localhost:{port}"), Some(pki.ca_pem))
        } else {
            (format!("http://127.0.0.1:{port}"), None)
        };

        let service = PubSubServer::new(PubSubService::new(shared.clone()))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let router = builder.add_service(service);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // Replies go out at once: a Nagle stall here would be the emulator's own delay.
            let incoming = bridge_runtime::serve::grpc_incoming(listener);
            let serving = router.serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            });
            if let Err(err) = serving.await {
                tracing::warn!(error = %err, "Pub/Sub API emulator stopped serving");
            }
        });

        // Subscribe before reading the history so nothing falls between the two.
        let events = salesforce.subscribe_events();
        let earlier = salesforce.published_events();
        for event in &earlier {
            shared.append_published(event);
        }
        let seen = earlier.into_iter().map(|event| event.event_uuid).collect();
        let follower = tokio::spawn(follow(Arc::downgrade(&shared), events, seen));

        tracing::debug!(%endpoint, "Pub/Sub API emulator listening");
        Ok(Self {
            shared,
            endpoint,
            ca_pem,
            running: Arc::new(Mutex::new(Some(Running {
                stop,
                server,
                follower,
            }))),
        })
    }

    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The CA certificate (PEM) a TLS client must trust; `None` in plaintext mode.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// Ends every open stream (`UNAVAILABLE`, `service.unavailable`), stops serving, and
    /// stops following the org. Calls still open after a few seconds are cut.
    pub async fn shutdown(&self) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(Running {
            stop,
            mut server,
            follower,
        }) = running
        else {
            return;
        };
        follower.abort();
        let _ = self.shared.endings.send(PubSubError::ShuttingDown);
        let _ = stop.send(());
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut server)
            .await
            .is_err()
        {
            server.abort();
        }
    }

    /// Appends a well-formed event for `order_id`, created now by the integration user;
    /// returns its replay id.
    pub fn publish_order_event(&self, order_id: &str) -> Vec<u8> {
        let payload = self.encode_order_event(Some(order_id));
        let schema_id = self.order_schema_id();
        self.shared.append(StoredEvent {
            id: uuid::Uuid::new_v4().to_string(),
            schema_id,
            payload,
        })
    }

    /// Appends any bytes under any schema id with the given `EventUuid` (broken events
    /// included); returns the replay id.
    pub fn publish_raw(&self, schema_id: &str, payload: Vec<u8>, event_uuid: &str) -> Vec<u8> {
        self.shared.append(StoredEvent {
            id: event_uuid.to_owned(),
            schema_id: schema_id.to_owned(),
            payload,
        })
    }

    /// The schema id the channel uses now.
    pub fn order_schema_id(&self) -> String {
        self.shared.lock().schemas.order_schema_id().to_owned()
    }

    /// Adds a schema `GetSchema` will serve; returns its id (JSON that is not Avro is served
    /// too, under the digest of its text).
    pub fn register_schema(&self, schema_json: &str) -> String {
        self.shared.lock().schemas.register(schema_json)
    }

    /// A payload in the channel's schema, created now by the integration user; `None` writes
    /// `OrderId__c` as null.
    pub fn encode_order_event(&self, order_id: Option<&str>) -> Vec<u8> {
        let user_id = self.shared.salesforce.user_id();
        let state = self.shared.lock();
        let now_ms = self.shared.now_ms(&state);
        match state.schemas.encode_order(now_ms, &user_id, order_id) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::error!(error = %err, "Could not encode an order event");
                Vec::new()
            }
        }
    }

    /// The newest position on the channel: the last event's replay id, or further on when
    /// other orgs' traffic (reported in keepalives) moved the bus.
    pub fn latest_replay_id(&self) -> Vec<u8> {
        encode_replay_id(self.shared.lock().log.tip())
    }

    /// Every event on the channel that retention has not forgotten, in replay order: those the
    /// Flow published and those appended directly alike. Tests compare what a subscriber
    /// processed against it.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared
            .lock()
            .log
            .events()
            .map(|(counter, event)| LedgerEntry {
                replay_id: encode_replay_id(counter),
                event_uuid: event.id.clone(),
            })
            .collect()
    }

    /// Every `FetchRequest` received, in order.
    pub fn fetch_requests(&self) -> Vec<RecordedFetch> {
        self.shared.lock().fetches.clone()
    }

    /// Subscribe calls accepted so far.
    pub fn streams_opened(&self) -> usize {
        self.shared.lock().streams_opened
    }

    /// Subscribe streams open now.
    pub fn active_streams(&self) -> usize {
        self.shared.lock().active_streams
    }

    /// The highest total any stream asked for and had not received yet, before the cap of
    /// 100: what the client asked for.
    pub fn max_outstanding_requested(&self) -> i64 {
        self.shared.lock().max_outstanding
    }

    /// Events sent so far, all streams.
    pub fn delivered(&self) -> usize {
        self.shared.lock().delivered
    }

    /// Ends every open stream with `code`, the description `message` (plus ` rpcId: …`) and
    /// the trailer `error-code: error_code` (none when empty).
    pub fn end_streams(&self, code: tonic::Code, error_code: &str, message: &str) {
        let _ = self.shared.endings.send(PubSubError::Injected {
            code,
            error_code: error_code.to_owned(),
            message: message.to_owned(),
        });
    }

    /// `true`: open streams stop sending anything (no events, no keepalives, no idle close),
    /// a half-open stream. `false`: they carry on.
    pub fn go_silent(&self, silent: bool) {
        self.shared.silent.send_replace(silent);
    }

    /// The next `times` Subscribe calls fail at their first request with `code` and the
    /// trailer `error-code: error_code`, before any other check.
    pub fn reject_subscribes(&self, times: usize, code: tonic::Code, error_code: &str) {
        let mut state = self.shared.lock();
        for _ in 0..times {
            state.rejections.push_back(PubSubError::Injected {
                code,
                error_code: error_code.to_owned(),
                message: description_for(error_code).to_owned(),
            });
        }
    }

    /// Moves the emulator's clock on: events and positions older than the retention are gone.
    pub fn advance_clock(&self, by: Duration) {
        let mut state = self.shared.lock();
        state.clock_offset = state.clock_offset.saturating_add(by);
        let now = self.shared.now(&state);
        state.log.prune(now);
    }
}

/// Appends every event the org publishes from now on, skipping those already appended.
async fn follow(
    shared: Weak<Shared>,
    mut events: broadcast::Receiver<PublishedEvent>,
    mut seen: HashSet<String>,
) {
    loop {
        match events.recv().await {
            Ok(event) => {
                if seen.remove(&event.event_uuid) {
                    continue;
                }
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                shared.append_published(&event);
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "Pub/Sub API emulator missed published events");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
