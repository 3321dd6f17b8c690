//! The WHMCS emulator: `includes/api.php` on loopback, faithful to the real API, quirks included.
//!
//! It follows `reference/whmcs-api.md` rather than what our client sends: PHP's bracket form
//! parsing, the access and login checks with their 403 messages and the ban after three failed
//! logins, NVP or XML when `responsetype` is forgotten, numbers as strings, business errors
//! with HTTP 200, AddOrder's silent billing-cycle fallback, and faults injected per action
//! (proxy pages, "Oops!", PHP warnings, cut-off JSON, delays, resets, "commit then hang", and
//! late commits after the caller gave up), each for every call of an action or only for the
//! calls about one client or product.
//!
//! A test starts one with [`WhmcsEmulator::start`], seeds clients, pay methods and products,
//! points a client at [`WhmcsEmulator::api_url`], and inspects [`WhmcsEmulator::calls`] and
//! [`WhmcsEmulator::orders`] afterwards.

mod accounts;
mod action;
mod auth;
mod catalog;
mod clock;
pub(crate) mod conn;
mod cycle;
mod faults;
mod form;
mod json;
mod options;
mod order_list;
mod orders;
mod reply;
mod server;
mod state;

use std::{
    fmt,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

pub use faults::{Fault, Scope, Times};
pub use options::{ClientStatus, NewClient, NewProduct, NumberStyle, PayType, WhmcsOptions};
pub use state::{OrderRecord, RecordedCall};

use self::{
    action::normalise_action,
    auth::Gatekeeper,
    conn::{HangupListener, Peer},
    faults::FaultBook,
    server::{API_PATH, Shared, lock},
    state::World,
};

/// How long [`WhmcsEmulator::shutdown`] waits for open connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running emulated WHMCS. Cheap to clone; the server stops when the last clone is dropped
/// or on [`shutdown`](Self::shutdown).
#[derive(Clone)]
pub struct WhmcsEmulator {
    inner: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl fmt::Debug for WhmcsEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WhmcsEmulator")
            .field("api_url", &self.api_url())
            .finish_non_exhaustive()
    }
}

impl WhmcsEmulator {
    /// Binds `127.0.0.1:0` with the default options and serves until dropped or shut down.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(WhmcsOptions::default()).await
    }

    /// Binds `127.0.0.1:0` with `options` and serves until dropped or shut down.
    pub async fn start_with(options: WhmcsOptions) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (stop, shutdown) = watch::channel(false);
        let shared = Arc::new(Shared {
            world: Mutex::new(World::new(options.gateways.clone())),
            options,
            calls: Mutex::new(Vec::new()),
            faults: Mutex::new(FaultBook::default()),
            gate: Mutex::new(Gatekeeper::default()),
            role: Mutex::new(None),
            shutdown: shutdown.clone(),
        });

        let app = server::router(Arc::clone(&shared)).into_make_service_with_connect_info::<Peer>();
        let mut signal = shutdown;
        let task = tokio::spawn(async move {
            let serve = axum::serve(HangupListener::new(listener), app).with_graceful_shutdown(
                async move {
                    let _ = signal.wait_for(|stopping| *stopping).await;
                },
            );
            if let Err(error) = serve.await {
                tracing::warn!(%error, "WHMCS emulator stopped with an error");
            }
        });
        tracing::info!(%addr, "WHMCS emulator listening");

        Ok(Self {
            inner: Arc::new(Handle {
                shared,
                addr,
                stop,
                task: Mutex::new(Some(task)),
            }),
        })
    }

    /// The API URL: `http://127.0.0.1:PORT/includes/api.php`.
    pub fn api_url(&self) -> String {
        format!("http://{}{API_PATH}", self.inner.addr)
    }

    /// The API credential's identifier.
    pub fn identifier(&self) -> String {
        self.shared().options.identifier.clone()
    }

    /// The API credential's secret.
    pub fn secret(&self) -> String {
        self.shared().options.secret.clone()
    }

    /// Stops serving: hung and delayed calls are closed unanswered, idle connections closed,
    /// and the server is given a few seconds to finish. Later calls get connection refused.
    pub async fn shutdown(&self) {
        self.inner.stop.send_replace(true);
        let task = lock(&self.inner.task).take();
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Adds a client; returns its id.
    pub fn add_client(&self, client: NewClient) -> u64 {
        lock(&self.shared().world).add_client(client)
    }

    /// Stores a remote card for the client at `gateway_name` (`""` for a locally stored
    /// card); returns the pay method id.
    pub fn add_pay_method(&self, client_id: u64, gateway_name: &str) -> u64 {
        lock(&self.shared().world).add_pay_method(client_id, gateway_name)
    }

    /// Adds a product; returns its pid.
    pub fn add_product(&self, product: NewProduct) -> u64 {
        lock(&self.shared().world).add_product(product)
    }

    /// Activates a payment gateway module.
    pub fn activate_gateway(&self, module: &str) {
        lock(&self.shared().world).activate_gateway(module);
    }

    /// Deactivates a payment gateway module.
    pub fn deactivate_gateway(&self, module: &str) {
        lock(&self.shared().world)
            .gateways
            .retain(|active| active != module);
    }

    /// Changes a client's status (e.g. to `Closed`, which AddOrder refuses).
    pub fn set_client_status(&self, client_id: u64, status: ClientStatus) {
        if let Some(client) = lock(&self.shared().world).clients.get_mut(&client_id) {
            client.seed.status = status;
        }
    }

    /// Makes AcceptOrder's provisioning of product `pid` fail with `message` (or succeed
    /// again with `None`): the service stays Pending and so does its order.
    pub fn fail_provisioning(&self, pid: u64, message: Option<&str>) {
        if let Some(product) = lock(&self.shared().world).products.get_mut(&pid) {
            product.provisioning_failure = message.map(str::to_owned);
        }
    }

    /// The next `times` calls of `action` (any spelling WHMCS accepts) meet `fault`, once
    /// they are authenticated.
    pub fn inject(&self, action: &str, fault: Fault, times: Times) {
        self.inject_scoped(action, Scope::Any, fault, times);
    }

    /// Like [`inject`](Self::inject), for only the calls `scope` covers: other calls of the
    /// action pass untouched and do not use the fault up.
    pub fn inject_scoped(&self, action: &str, scope: Scope, fault: Fault, times: Times) {
        lock(&self.shared().faults).arm_scoped(action, scope, fault, times);
    }

    /// Disarms every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.shared().faults).clear();
    }

    /// Limits the API credential's role to these actions (any spelling WHMCS accepts); others
    /// get `Invalid Permissions`. `None` allows every action again. Admin logins are not
    /// limited by roles.
    pub fn restrict_actions(&self, allowed: Option<&[&str]>) {
        let allowed =
            allowed.map(|names| names.iter().map(|name| normalise_action(name)).collect());
        *lock(&self.shared().role) = allowed;
    }

    /// Lifts every login ban and forgets counted login failures.
    pub fn clear_bans(&self) {
        lock(&self.shared().gate).clear();
    }

    /// Every request received, in arrival order.
    pub fn calls(&self) -> Vec<RecordedCall> {
        lock(&self.shared().calls).clone()
    }

    /// How many requests named `action` arrived, refused ones included.
    pub fn count(&self, action: &str) -> usize {
        let action = normalise_action(action);
        lock(&self.shared().calls)
            .iter()
            .filter(|call| call.action == action)
            .count()
    }

    /// Every order, oldest first.
    pub fn orders(&self) -> Vec<OrderRecord> {
        let world = lock(&self.shared().world);
        world
            .orders
            .values()
            .map(|order| world.order_record(order))
            .collect()
    }

    /// One order.
    pub fn order(&self, id: u64) -> Option<OrderRecord> {
        let world = lock(&self.shared().world);
        world.orders.get(&id).map(|order| world.order_record(order))
    }

    /// The status of a service (`Pending`, `Active`, ...).
    pub fn service_status(&self, service_id: u64) -> Option<String> {
        lock(&self.shared().world)
            .services
            .get(&service_id)
            .map(|service| service.status.clone())
    }

    /// The status of an invoice (`Unpaid`, `Paid`, `Cancelled`).
    pub fn invoice_status(&self, invoice_id: u64) -> Option<String> {
        lock(&self.shared().world)
            .invoices
            .get(&invoice_id)
            .map(|invoice| invoice.status.clone())
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }
}
