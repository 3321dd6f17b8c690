//! The Kubernetes manifests and the binaries cannot drift apart: each service is started with
//! exactly the environment `k8s/base` gives its container and the Secret files its volume
//! mounts (remapped under a temporary folder, file names kept), with only the outside
//! addresses pointed at the sandbox, and must reach SERVING on the service its readiness probe
//! names, then provision an Order end to end.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

mod manifests;

use std::{
    collections::{BTreeSet, HashMap},
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use bridge_proto::ingest::v1::{
    GetStatusRequest, Role, ingest_service_client::IngestServiceClient,
};
use bridge_tests::{RedisServer, ServiceProcess, workspace_binary};
use manifests::{Base, Container};
use sandbox::demo::{services, world::World};
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// How long a process may take to log a line or to turn SERVING.
const WAIT: Duration = Duration::from_secs(30);

/// The variables whose manifest values name the real Salesforce org, WHMCS or the in-cluster
/// Service: the only ones the test replaces, each with the sandbox's value.
const OUTSIDE_ADDRESSES: &[&str] = &[
    "SF_LOGIN_URL",
    "SF_CLIENT_ID",
    "SF_USERNAME",
    "WHMCS_API_URL",
    "SF_PUBSUB_ENDPOINT",
    "FULFILLMENT_URL",
];

/// The `preStop` pause the Deployments take before SIGTERM.
const PRE_STOP: Duration = Duration::from_secs(5);

/// A container's environment as the test runs it, and what it wrote for the mounted files.
struct Pod {
    env: HashMap<String, String>,
    /// The token written into an `*_AUTH_TOKENS_FILE`, for calling the service's own RPCs.
    caller_token: Option<String>,
    _files: tempfile::TempDir,
}

/// Builds `container`'s environment for a run on loopback: listen addresses on port 0, outside
/// addresses from `sandbox`, and every path under a Secret mount remapped into a fresh folder
/// where the file is written with the sandbox's value. Fails when a file variable names no
/// mounted file, or a mounted file is named by no variable.
fn pod(container: &Container, sandbox: &[(&'static str, String)]) -> Pod {
    let sandbox: HashMap<&str, &str> = sandbox.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let files = tempfile::tempdir().expect("a temporary folder");
    let mut env: HashMap<String, String> = container.env.clone().into_iter().collect();

    for (variable, port_name) in [("GRPC_ADDR", "grpc"), ("HTTP_ADDR", "admin")] {
        let address: SocketAddr = env[variable].parse().expect("a socket address");
        assert_eq!(
            Some(&address.port()),
            container.ports.get(port_name),
            "{variable} and the {port_name} container port"
        );
        env.insert(variable.to_owned(), "127.0.0.1:0".to_owned());
    }

    for name in OUTSIDE_ADDRESSES {
        if env.contains_key(*name) {
            let value = sandbox
                .get(name)
                .unwrap_or_else(|| panic!("the sandbox has no {name}"));
            env.insert((*name).to_owned(), (*value).to_owned());
        }
    }

    let mut used = BTreeSet::new();
    let mut caller_token = None;
    for (name, value) in env.iter_mut() {
        let Some(mount) = container
            .secrets
            .iter()
            .find(|mount| Path::new(value.as_str()).starts_with(&mount.path))
        else {
            assert!(
                !(name.ends_with("_FILE") || name.ends_with("_PATH")),
                "{name}={value} is not in a mounted Secret"
            );
            continue;
        };
        let file_name = Path::new(value.as_str())
            .strip_prefix(&mount.path)
            .expect("under the mount")
            .to_string_lossy()
            .into_owned();
        assert!(
            mount.files.contains(&file_name),
            "{name} names {value}, which no Secret item of {} provides",
            mount.path.display()
        );
        used.insert(Path::new(value.as_str()).to_path_buf());

        let remapped = files.path().join(value.trim_start_matches('/'));
        std::fs::create_dir_all(remapped.parent().expect("a parent")).expect("the mount folder");
        let content = match (sandbox.get(name.as_str()), name.strip_suffix("_FILE")) {
            // The sandbox names a file of its own (the key, a tokens file): same content.
            (Some(path), _) => std::fs::read(path).expect("the sandbox's file"),
            // The sandbox gives the secret itself (`NAME` for `NAME_FILE`).
            (None, Some(plain)) if sandbox.contains_key(plain) => {
                sandbox[plain].as_bytes().to_vec()
            }
            // The sandbox runs without caller tokens; the manifests never do.
            (None, Some(_)) if name.ends_with("_AUTH_TOKENS_FILE") => {
                let token = format!("oncall-{}", std::process::id());
                let lines = format!("# operators\noncall:{token}\n");
                caller_token = Some(token);
                lines.into_bytes()
            }
            _ => panic!("the test has no value for {name}"),
        };
        std::fs::write(&remapped, content).expect("the Secret file");
        *value = remapped.display().to_string();
    }
    for mount in &container.secrets {
        for file in &mount.files {
            assert!(
                used.contains(&mount.path.join(file)),
                "{} is mounted but no variable names it",
                mount.path.join(file).display()
            );
        }
    }
    Pod {
        env,
        caller_token,
        _files: files,
    }
}

/// The probes and the grace period agree with the environment the binary reads.
fn assert_probes_fit(container: &Container, readiness_service: &str) {
    let grpc_port = container.ports["grpc"];
    for (probe, (port, service)) in [
        ("startup", &container.startup),
        ("liveness", &container.liveness),
    ] {
        assert_eq!(*port, grpc_port, "{probe} probe port");
        assert_eq!(
            service, "",
            "{probe} probes liveness, the empty service name"
        );
    }
    assert_eq!(container.readiness.0, grpc_port, "readiness probe port");
    assert_eq!(container.readiness.1, readiness_service);
    let grace = bridge_runtime::config::parse_duration(&container.env["SHUTDOWN_GRACE"])
        .expect("SHUTDOWN_GRACE is a duration");
    assert!(
        Duration::from_secs(container.termination_grace_seconds) > PRE_STOP + grace,
        "terminationGracePeriodSeconds must cover the preStop pause and SHUTDOWN_GRACE"
    );
}

/// Starts a binary with exactly `env`, and returns its gRPC address once it listens.
fn start(name: &str, env: &HashMap<String, String>) -> (ServiceProcess, String) {
    let binary = workspace_binary(name);
    assert!(
        binary.exists(),
        "{} is not built; run the tests with scripts/test",
        binary.display()
    );
    let process = ServiceProcess::start(&binary, env).expect("the binary starts");
    let line = tokio::task::block_in_place(|| process.wait_for_log("gRPC server listening", WAIT))
        .unwrap_or_else(|output| panic!("{output}"));
    let address = line["address"].as_str().expect("an address").to_owned();
    (process, address)
}

async fn channel(address: &str) -> Channel {
    Channel::from_shared(format!("http://{address}"))
        .expect("a URI")
        .connect()
        .await
        .expect("the gRPC port accepts connections")
}

/// Polls `probe` every 50 ms until it returns `Some`, or panics after [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    bridge_tests::poll_until(what, WAIT, Duration::from_millis(50), probe).await
}

/// Waits until the health service reports `service` SERVING, as the kubelet's probe would.
async fn wait_serving(address: &str, service: &str) {
    let health = HealthClient::new(channel(address).await);
    eventually(&format!("{service:?} to be SERVING"), || {
        let mut health = health.clone();
        async move {
            let request = HealthCheckRequest {
                service: service.to_owned(),
            };
            let status = health.check(request).await.ok()?.into_inner().status();
            (status == ServingStatus::Serving).then_some(())
        }
    })
    .await;
}

#[test]
fn every_secret_file_is_mounted_whole_and_named_by_a_variable() {
    let base = Base::load();
    for (name, readiness) in [
        ("fulfillment", "fulfillment.v1.FulfillmentService"),
        ("ingest", "ingest.v1.IngestService"),
    ] {
        let container = base.container(name);
        assert_probes_fit(&container, readiness);
        assert_eq!(
            container.env["SF_PRIVATE_KEY_PATH"], "/app/secrets/sf-private.key",
            "the runbook's path of the key"
        );
        let mounted: Vec<PathBuf> = container
            .secrets
            .iter()
            .flat_map(|mount| mount.files.iter().map(|file| mount.path.join(file)))
            .collect();
        for (variable, value) in &container.env {
            if variable.ends_with("_FILE") || variable.ends_with("_PATH") {
                assert!(
                    mounted.contains(&PathBuf::from(value)),
                    "{name}: {variable}={value} is not a mounted Secret file"
                );
            }
        }
        assert_eq!(
            mounted.len(),
            container
                .env
                .iter()
                .filter(|(variable, _)| variable.ends_with("_FILE") || variable.ends_with("_PATH"))
                .count(),
            "{name}: every mounted file is named by one variable"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_services_run_on_the_base_manifests_and_provision_an_order() {
    bridge_runtime::http_client::install_crypto_provider();
    let base = Base::load();
    let world = World::start().await.expect("the emulators start");
    let redis = RedisServer::start().expect("a private redis-server");

    let container = base.container("fulfillment");
    let mut sandbox = services::common_env(&world, &redis.url());
    sandbox.extend(services::fulfillment_env(&world));
    let fulfillment_pod = pod(&container, &sandbox);
    let (fulfillment, fulfillment_grpc) = start("fulfillment", &fulfillment_pod.env);
    wait_serving(&fulfillment_grpc, &container.liveness.1).await;
    wait_serving(&fulfillment_grpc, &container.readiness.1).await;

    let container = base.container("ingest");
    let mut sandbox = services::common_env(&world, &redis.url());
    sandbox.extend(services::ingest_env(&world, &fulfillment_grpc));
    let ingest_pod = pod(&container, &sandbox);
    let (ingest, ingest_grpc) = start("ingest", &ingest_pod.env);
    wait_serving(&ingest_grpc, &container.liveness.1).await;
    wait_serving(&ingest_grpc, &container.readiness.1).await;

    // The admin RPCs take the token of the mounted tokens file, and nothing else.
    let mut admin = IngestServiceClient::new(channel(&ingest_grpc).await);
    let refused = admin
        .get_status(GetStatusRequest {})
        .await
        .expect_err("no token");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let token = ingest_pod.caller_token.as_deref().expect("a tokens file");
    let mut request = tonic::Request::new(GetStatusRequest {});
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII"),
    );
    let status = admin
        .get_status(request)
        .await
        .expect("GetStatus")
        .into_inner();
    assert_eq!(status.channel, container.env["SF_PROVISION_EVENT_CHANNEL"]);
    assert_eq!(status.role(), Role::Leader);

    // The key, the WHMCS credentials and ingest's token to fulfillment all work from their
    // mounted files: an approved Order ends Activated with a WHMCS order.
    eventually("ingest to subscribe", || async {
        (world.pubsub.active_streams() > 0).then_some(())
    })
    .await;
    let customer = world.customer("Acme", true);
    let vps = world.offering("VPS Small", "Monthly");
    let order_id = world.order(&customer.account_id, &[(&vps.product_id, 1.0)]);
    world
        .salesforce
        .approve_order(&order_id)
        .expect("the Flow runs");
    let field = |name: &str| {
        world
            .salesforce
            .order(&order_id)
            .and_then(|fields| fields.get(name).cloned())
            .unwrap_or_default()
    };
    eventually("the Order to be Activated", || async {
        (field("Activation_Status__c") == "Activated").then_some(())
    })
    .await;
    assert!(
        field("WHMCS_Order_ID__c")
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{}\n{}",
        fulfillment.lines().join("\n"),
        ingest.lines().join("\n")
    );
}
