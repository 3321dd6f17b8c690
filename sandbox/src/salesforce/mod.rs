//! The Salesforce emulator: the OAuth 2.0 JWT bearer token endpoint and the REST API on
//! loopback, faithful to `reference/salesforce-rest.md`, quirks included.
//!
//! One [`SalesforceEmulator`] is one org: it verifies assertions against the connected app's
//! public key, issues opaque session tokens, answers SOQL queries from an in-memory set of
//! Accounts, Products, Price Books, Orders and Order Products, applies `PATCH`es with the
//! platform's validation, and runs the Record-Triggered Flow that publishes
//! `OrderProvisionRequested__e` when a test approves an Order (and resets a clone of one).
//! Tests can inject faults, expire sessions, and read back every request.
//!
//! The org's custom fields (labels, types, lengths, picklist values) and its platform event
//! are read from the Salesforce DX project in `salesforce/` through
//! [`salesforce_source`](crate::salesforce_source), so queries and `PATCH` validation follow
//! what a deploy of that project creates; the standard objects and fields are the platform's
//! and stay in code. A missing or invalid project fails [`SalesforceEmulator::start`] with
//! an error naming the file.

mod api_error;
mod clock;
mod custom_fields;
mod faults;
mod flow;
mod ids;
mod lexer;
mod oauth;
mod ordered_json;
mod org;
mod paging;
mod patch;
mod publish;
mod query;
mod rest;
mod schema;
mod server;
mod soql;
mod standard;

use std::{
    io,
    path::PathBuf,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::Router;
use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value};
use tokio::{
    net::TcpListener,
    sync::{oneshot, watch},
    task::JoinHandle,
};

pub use faults::{RequestFilter, RestFault, RestTarget, Times};
pub use flow::{FlowError, PublishedEvent};
pub use org::{NewItem, NewOrder};
pub use server::RecordedRequest;

use self::{
    faults::FaultPlan,
    flow::EventBus,
    ids::to_eighteen,
    oauth::{ConnectedApp, Sessions},
    org::Org,
    paging::Locators,
    schema::Catalog,
    server::{Shared, State},
};
use crate::salesforce_source::SalesforceSource;
use crate::whmcs::conn::{HangupListener, Peer};

/// How long [`SalesforceEmulator::shutdown`] waits for open connections before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How the emulated org is set up.
#[derive(Debug, Clone)]
pub struct SalesforceOptions {
    /// The connected app's consumer key: the assertion's `iss`.
    pub client_id: String,
    /// The pre-approved integration user: the assertion's `sub`.
    pub username: String,
    /// The certificate's public key (SPKI `BEGIN PUBLIC KEY` or PKCS#1 `BEGIN RSA PUBLIC KEY`)
    /// that verifies the RS256 assertion.
    pub public_key_pem: String,
    /// The `aud` the assertion must carry.
    pub audience: String,
    /// Records per query page before `nextRecordsUrl` is used.
    pub query_page_size: usize,
    /// The daily API allowance reported in `Sforce-Limit-Info`; beyond it calls are refused.
    pub api_limit: u64,
    /// Added to every answer, for benchmarks.
    pub latency: Duration,
    /// The Salesforce DX project whose custom fields and platform event the org has. `None`:
    /// the repository's `salesforce/` (or the directory in `SANDBOX_SALESFORCE_SOURCE`),
    /// loaded once per process. A test can point it at a changed copy.
    pub source_dir: Option<PathBuf>,
}

impl SalesforceOptions {
    /// A production org (`aud` `https://login.salesforce.com`) with Salesforce's defaults:
    /// 2000 records a page, 15000 calls a day, no added latency.
    pub fn new(client_id: &str, username: &str, public_key_pem: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            username: username.to_owned(),
            public_key_pem: public_key_pem.to_owned(),
            audience: "https://login.salesforce.com".to_owned(),
            query_page_size: 2000,
            api_limit: 15_000,
            latency: Duration::ZERO,
            source_dir: None,
        }
    }
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// A running emulated org. Cheap to clone; every clone is the same org.
#[derive(Clone)]
pub struct SalesforceEmulator {
    shared: Arc<Shared>,
    running: Arc<Mutex<Option<Running>>>,
}

impl std::fmt::Debug for SalesforceEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceEmulator")
            .field("url", &self.shared.base_url)
            .field("org_id", &self.shared.org_id)
            .finish_non_exhaustive()
    }
}

impl SalesforceEmulator {
    /// Starts an org on `127.0.0.1` at a free port. Fails when the DX project is missing or
    /// invalid (`InvalidData`, naming the file), the public key is not an RSA PEM key, or no
    /// port can be bound.
    pub async fn start(options: SalesforceOptions) -> io::Result<Self> {
        let invalid_source = |err| io::Error::new(io::ErrorKind::InvalidData, err);
        let catalog = match &options.source_dir {
            None => Catalog::repository().map_err(invalid_source)?,
            Some(dir) => Catalog::load(dir).map_err(|err| invalid_source(Arc::new(err)))?,
        };
        let key = DecodingKey::from_rsa_pem(options.public_key_pem.as_bytes()).map_err(|err| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the connected app's public key is not an RSA PEM key: {err}"),
            )
        })?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);

        let mut org = Org::new(catalog);
        let org_id = org.mint_id("00D");
        let user_id = org.mint_id("005");
        let approver_id = org.mint_id("005");
        let shared = Arc::new(Shared {
            base_url,
            catalog,
            app: ConnectedApp {
                client_id: options.client_id,
                username: options.username.clone(),
                audience: options.audience,
                key,
            },
            username: options.username,
            org_id,
            user_id,
            approver_id,
            page_size: options.query_page_size.max(1),
            api_limit: options.api_limit,
            latency: options.latency,
            state: Mutex::new(State {
                org,
                bus: EventBus::new(),
                sessions: Sessions::default(),
                faults: FaultPlan::default(),
                requests: Vec::new(),
                api_used: 0,
                locators: Locators::default(),
            }),
            stopping: watch::channel(false).0,
        });

        let app = Router::new()
            .fallback(server::entry)
            .with_state(shared.clone())
            .into_make_service_with_connect_info::<Peer>();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serving =
                axum::serve(HangupListener::new(listener), app).with_graceful_shutdown(async {
                    let _ = stopped.await;
                });
            if let Err(err) = serving.await {
                tracing::warn!(error = %err, "Salesforce emulator stopped serving");
            }
        });
        tracing::debug!(url = %shared.base_url, "Salesforce emulator listening");
        Ok(Self {
            shared,
            running: Arc::new(Mutex::new(Some(Running { stop, task }))),
        })
    }

    /// `http://127.0.0.1:PORT`: both the login URL and the `instance_url`.
    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The 18-character org id (`00D…`).
    pub fn org_id(&self) -> String {
        self.shared.org_id.clone()
    }

    /// The 18-character id (`005…`) of the integration user.
    pub fn user_id(&self) -> String {
        self.shared.user_id.clone()
    }

    /// The DX project the org's custom fields and platform event come from.
    pub fn source(&self) -> &SalesforceSource {
        self.shared.catalog.source()
    }

    /// Stops serving; hung requests are closed unanswered, other open connections get a few
    /// seconds to finish.
    pub async fn shutdown(&self) {
        self.shared.stopping.send_replace(true);
        let running = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(Running { stop, mut task }) = running else {
            return;
        };
        let _ = stop.send(());
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }

    /// Adds an Account; returns its 18-character id (`001…`).
    pub fn add_account(&self, name: &str, wh_client_id: Option<&str>) -> String {
        self.shared.lock().org.add_account(name, wh_client_id)
    }

    /// Adds an active Product2; returns its id (`01t…`). The billing cycle is stored as given.
    pub fn add_product(
        &self,
        name: &str,
        wh_product_id: Option<&str>,
        billing_cycle: Option<&str>,
    ) -> String {
        self.shared
            .lock()
            .org
            .add_product(name, wh_product_id, billing_cycle)
    }

    /// The standard price book's id (`01s…`), present from the start.
    pub fn standard_pricebook_id(&self) -> String {
        self.shared.lock().org.standard_pricebook_id().to_owned()
    }

    /// Adds a price book; returns its id (`01s…`).
    pub fn add_pricebook(&self, name: &str) -> String {
        self.shared.lock().org.add_pricebook(name)
    }

    /// Adds a Draft Order with its Order Products; `Activation_Status__c` is "Not Started".
    /// Returns its id (`801…`).
    pub fn add_order(&self, order: NewOrder) -> String {
        self.shared.lock().org.add_order(&order)
    }

    /// Approves the Order as the shipped Flows react to it: `Status` `Activated`,
    /// `Activating` with the error fields cleared, and an `OrderProvisionRequested__e` created
    /// by the approving user. Approving twice publishes twice (a duplicate publication).
    pub fn approve_order(&self, order_id: &str) -> Result<PublishedEvent, FlowError> {
        let mut state = self.shared.lock();
        let state = &mut *state;
        flow::approve(
            &mut state.org,
            &mut state.bus,
            order_id,
            &self.shared.approver_id,
        )
    }

    /// The "Provision / Retry" action: "Already in progress" while `Activating`; otherwise
    /// `Activating`, the error fields cleared, and the event published.
    pub fn retry_order(&self, order_id: &str) -> Result<PublishedEvent, FlowError> {
        let mut state = self.shared.lock();
        let state = &mut *state;
        flow::retry(
            &mut state.org,
            &mut state.bus,
            order_id,
            &self.shared.approver_id,
        )
    }

    /// Clones the Order (15- or 18-character id) as a user does in Salesforce: a new Draft Order
    /// with the original's account, price book, start date and custom fields, and copies of its
    /// order products. The shipped before-save Flow then resets it: `Not Started`, no error, no
    /// `WHMCS_Order_ID__c`, nothing published. Returns the clone's id (`801…`); `None` when no
    /// Order has that id.
    pub fn clone_order(&self, order_id: &str) -> Option<String> {
        let mut state = self.shared.lock();
        let state = &mut *state;
        flow::clone_order(
            &mut state.org,
            &mut state.bus,
            order_id,
            &self.shared.approver_id,
        )
    }

    /// Every event published so far, oldest first.
    pub fn published_events(&self) -> Vec<PublishedEvent> {
        self.shared.lock().bus.published()
    }

    /// Events published from now on.
    pub fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<PublishedEvent> {
        self.shared.lock().bus.subscribe()
    }

    /// Every field of the Order (15- or 18-character id) by API name.
    pub fn order(&self, order_id: &str) -> Option<Map<String, Value>> {
        let id = to_eighteen(order_id)?;
        self.shared.lock().org.get("Order", &id).cloned()
    }

    /// Sets a field of an Order directly, as test set-up: no validation, no Flow. A field the
    /// schema does not know is ignored with a warning.
    pub fn set_order_field(&self, order_id: &str, field: &str, value: Value) {
        let Some(def) = self.shared.catalog.object("Order") else {
            return;
        };
        let Some(field) = def.field(field) else {
            tracing::warn!(field, "Order has no such field; nothing set");
            return;
        };
        let Some(id) = to_eighteen(order_id) else {
            return;
        };
        let mut state = self.shared.lock();
        let Some(row) = state.org.get_mut("Order", &id) else {
            return;
        };
        if field.name == "Status" {
            let code = if value.as_str() == Some("Activated") {
                "Activated"
            } else {
                "Draft"
            };
            row.insert("StatusCode".into(), Value::from(code));
        }
        row.insert(field.name.to_owned(), value);
    }

    /// Ends every session issued so far: their tokens now get `401 INVALID_SESSION_ID`.
    pub fn expire_sessions(&self) {
        self.shared.lock().sessions.expire_all();
    }

    /// How many access tokens the token endpoint has issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared.lock().sessions.issued()
    }

    /// Whether `token` opens a live session (does not count as a use).
    pub fn is_valid_token(&self, token: &str) -> bool {
        self.shared.lock().sessions.is_valid(token)
    }

    /// The next `times` requests matching `target` get `fault`. Faults apply in the order
    /// they were injected, one per request.
    pub fn inject(&self, target: RestTarget, fault: RestFault, times: Times) {
        self.shared
            .lock()
            .faults
            .inject_matching(target, None, fault, times);
    }

    /// Like [`inject`](Self::inject), for only the requests `filter` accepts (say, those whose
    /// path or SOQL names one Order): other requests pass untouched and do not use it up.
    pub fn inject_matching(
        &self,
        target: RestTarget,
        filter: RequestFilter,
        fault: RestFault,
        times: Times,
    ) {
        self.shared
            .lock()
            .faults
            .inject_matching(target, Some(filter), fault, times);
    }

    /// Forgets every injected fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }
}
