//! The product in miniature, for chaos: the real `fulfillment` and `ingest` binaries as child
//! processes that a test kills (`kill -9`), terminates and starts again; the emulated Salesforce
//! (REST and Pub/Sub API) and WHMCS on a runtime of this process; and a private Redis with AOF.
//!
//! Every incarnation of a process is kept after it ends, so the checks read the logs of all of
//! them: an event dispatched by an ingest that was killed later still counts as processed.
//! A restarted fulfillment listens on the address the first one was given, as a Kubernetes
//! Service keeps its address while pods come and go, so ingest needs no new configuration.

mod observe;

use std::{
    collections::HashMap,
    path::PathBuf,
    process::ExitStatus,
    time::{Duration, Instant},
};

use bridge_tests::{Persistence, RedisServer, ServiceProcess, workspace_binary};
use sandbox::demo::{services, world::World};
use tokio::runtime::Runtime;

/// How long a process may take to log a line a test waits for.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// `SHUTDOWN_GRACE` of both services.
pub(crate) const GRACE: Duration = Duration::from_secs(5);

/// The channel the Flow publishes to, and so the cursor's key.
pub(crate) const CURSOR_KEY: &str = "sf:pe:replay:/event/OrderProvisionRequested__e";

/// The dead-letter stream of the channel.
const DEAD_LETTER_KEY: &str = "sf:pe:dlq:/event/OrderProvisionRequested__e";

/// Timings shortened so that what a kill leaves behind (a held lock, a held lease, an AddOrder
/// that may still be in flight) clears within seconds, not minutes; the behaviour is the same.
const FULFILLMENT_TUNING: [(&str, &str); 4] = [
    ("FULFILLMENT_LOCK_TTL", "3s"),
    // The window in which a new run must not search for an order an earlier AddOrder may still
    // be creating is this deadline plus the settle time. The emulated WHMCS never finishes a
    // request whose caller went away, so a few seconds of settle are plenty here; the default
    // (minutes) would block every Order a kill caught inside AddOrder for that long.
    ("WHMCS_ORDER_TIMEOUT", "2s"),
    ("WHMCS_ORDER_SETTLE", "5s"),
    ("WHMCS_HTTP_TIMEOUT", "5s"),
];

/// ingest's timings; `SF_EVENTS_REPLAY=ALL` because a restart before the first cursor write
/// would otherwise start at LATEST, the gap the runbook documents, and a chaos run that kills
/// ingest in its first second would count that known gap as a loss.
const INGEST_TUNING: [(&str, &str); 3] = [
    ("INGEST_LEASE_TTL", "3s"),
    ("SF_EVENTS_REPLAY", "ALL"),
    ("FULFILL_DEADLINE", "20s"),
];

/// One of the two services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// The Fulfill server.
    Fulfillment,
    /// The Pub/Sub subscriber.
    Ingest,
}

impl Service {
    /// The binary's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Fulfillment => "fulfillment",
            Self::Ingest => "ingest",
        }
    }

    /// The full gRPC name whose health is the readiness answer.
    pub(crate) fn readiness(self) -> &'static str {
        match self {
            Self::Fulfillment => "fulfillment.v1.FulfillmentService",
            Self::Ingest => "ingest.v1.IngestService",
        }
    }
}

/// How a terminated process ended.
#[derive(Debug)]
pub(crate) struct Exit {
    pub(crate) service: Service,
    pub(crate) status: ExitStatus,
    /// `false` when it had to be killed after the limit.
    pub(crate) by_itself: bool,
    /// From SIGTERM to exit (within the 10 ms the wait polls at).
    pub(crate) after: Duration,
}

/// A running service and its addresses.
struct Running {
    process: ServiceProcess,
    grpc: String,
    http: String,
}

/// The processes, the emulators and Redis. Fields drop in order: processes first, the runtime
/// that serves the emulators last.
pub(crate) struct Cluster {
    fulfillment: Option<Running>,
    ingest: Option<Running>,
    retired: Vec<(Service, ServiceProcess)>,
    fulfillment_env: HashMap<String, String>,
    ingest_env: HashMap<String, String>,
    pub(crate) world: World,
    pub(crate) redis: RedisServer,
    runtime: Runtime,
}

impl Cluster {
    /// Starts the emulators, Redis (AOF, `appendfsync always`, as production runs), fulfillment,
    /// then ingest pointed at it.
    pub(crate) fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`start`](Self::start) with `fulfillment_extra` on top of fulfillment's variables.
    pub(crate) fn start_with(fulfillment_extra: &[(&str, &str)]) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the emulators");
        bridge_runtime::http_client::install_crypto_provider();
        let world = runtime
            .block_on(World::start())
            .expect("the emulators start");
        let redis =
            RedisServer::start_with(Persistence::AppendOnly).expect("a private redis-server");

        let mut fulfillment_env = services::common_env(&world, &redis.url());
        fulfillment_env.extend(services::fulfillment_env(&world));
        let mut cluster = Self {
            fulfillment: None,
            ingest: None,
            retired: Vec::new(),
            fulfillment_env: to_env(
                fulfillment_env,
                &[&FULFILLMENT_TUNING[..], fulfillment_extra].concat(),
            ),
            ingest_env: HashMap::new(),
            world,
            redis,
            runtime,
        };
        cluster.start_service(Service::Fulfillment);
        let fulfillment = cluster.grpc_address(Service::Fulfillment);
        cluster
            .fulfillment_env
            .insert("GRPC_ADDR".to_owned(), fulfillment.clone());

        let mut ingest_env = services::common_env(&cluster.world, &cluster.redis.url());
        ingest_env.extend(services::ingest_env(&cluster.world, &fulfillment));
        cluster.ingest_env = to_env(ingest_env, &INGEST_TUNING);
        cluster.start_service(Service::Ingest);
        cluster
    }

    /// Starts `service` (again) and waits until both its ports listen.
    pub(crate) fn start_service(&mut self, service: Service) {
        assert!(self.slot(service).is_none(), "{service:?} is running");
        let env = match service {
            Service::Fulfillment => &self.fulfillment_env,
            Service::Ingest => &self.ingest_env,
        };
        let process =
            ServiceProcess::start(&binary(service.name()), env).expect("the binary starts");
        let address = |message: &str| {
            process
                .wait_for_log(message, WAIT)
                .unwrap_or_else(|output| panic!("{output}"))["address"]
                .as_str()
                .expect("an address field")
                .to_owned()
        };
        let grpc = address("gRPC server listening");
        let http = address("Admin HTTP server listening");
        *self.slot(service) = Some(Running {
            process,
            grpc,
            http,
        });
    }

    /// Kills `service` with SIGKILL, reaps it, and keeps its logs. Does nothing when it is not
    /// running.
    pub(crate) fn kill_9(&mut self, service: Service) {
        if let Some(mut running) = self.slot(service).take() {
            running.process.kill_9();
            running.process.wait(WAIT);
            self.retired.push((service, running.process));
        }
    }

    /// Sends SIGTERM to every running service at once and waits up to `limit` for each to
    /// exit by itself (it is killed after that).
    pub(crate) fn terminate_all(&mut self, limit: Duration) -> Vec<Exit> {
        let mut stopping: Vec<(Service, ServiceProcess)> = [Service::Fulfillment, Service::Ingest]
            .into_iter()
            .filter_map(|service| Some((service, self.slot(service).take()?.process)))
            .collect();
        for (_, process) in &stopping {
            process.terminate();
        }
        let sent = Instant::now();
        let exits = std::thread::scope(|scope| {
            let waiters: Vec<_> = stopping
                .iter_mut()
                .map(|(service, process)| {
                    let service = *service;
                    scope.spawn(move || {
                        let (status, by_itself) = process.wait(limit);
                        Exit {
                            service,
                            status,
                            by_itself,
                            after: sent.elapsed(),
                        }
                    })
                })
                .collect();
            waiters
                .into_iter()
                .map(|waiter| waiter.join().expect("a waiter thread"))
                .collect()
        });
        self.retired.extend(stopping);
        exits
    }

    fn slot(&mut self, service: Service) -> &mut Option<Running> {
        match service {
            Service::Fulfillment => &mut self.fulfillment,
            Service::Ingest => &mut self.ingest,
        }
    }

    fn running(&self, service: Service) -> &Running {
        match service {
            Service::Fulfillment => self.fulfillment.as_ref(),
            Service::Ingest => self.ingest.as_ref(),
        }
        .unwrap_or_else(|| panic!("{service:?} is not running"))
    }

    /// The gRPC address of the running `service`.
    pub(crate) fn grpc_address(&self, service: Service) -> String {
        self.running(service).grpc.clone()
    }
}

impl Drop for Cluster {
    /// After a failure (or always, with `CHAOS_KEEP_LOGS` set), keeps every incarnation's output
    /// in a directory that outlives the test, and says where.
    fn drop(&mut self) {
        if !std::thread::panicking() && std::env::var_os("CHAOS_KEEP_LOGS").is_none() {
            return;
        }
        let Ok(dir) = tempfile::Builder::new().prefix("chaos-logs-").tempdir() else {
            return;
        };
        let dir = dir.keep();
        for service in [Service::Fulfillment, Service::Ingest] {
            let _ = std::fs::write(
                dir.join(format!("{}.log", service.name())),
                self.lines(service).join("\n"),
            );
        }
        eprintln!("chaos: the services' output is in {}", dir.display());
    }
}

fn binary(name: &str) -> PathBuf {
    let path = workspace_binary(name);
    assert!(
        path.exists(),
        "{} is not built; run the tests with scripts/test (cargo test --workspace builds every binary)",
        path.display()
    );
    path
}

fn to_env(parts: Vec<(&'static str, String)>, tuning: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> =
        parts.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let grace = format!("{}s", GRACE.as_secs());
    let common = [
        ("GRPC_ADDR", "127.0.0.1:0"),
        ("HTTP_ADDR", "127.0.0.1:0"),
        ("LOG_FORMAT", "json"),
        ("SHUTDOWN_GRACE", grace.as_str()),
    ];
    for (name, value) in common.iter().chain(tuning) {
        env.insert((*name).to_owned(), (*value).to_owned());
    }
    env
}
