//! Time from process start to gRPC health SERVING, with a local Redis: each service is
//! started `BENCH_STARTS` times on a port chosen beforehand, and its readiness (the service's
//! full name, SERVING only once Redis answers) is asked every millisecond from the moment
//! the process is spawned. The median is held against 500 ms.

use std::time::{Duration, Instant};

use bridge_tests::ServiceProcess;
use tonic::transport::Endpoint;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use crate::{
    binaries::Binaries,
    instant::InstantServer,
    settings::Settings,
    stack::{Ground, WAIT},
    summary::{Section, Spread, ms},
};

/// The readiness target.
const TARGET: Duration = Duration::from_millis(500);

/// Runs the section.
pub(crate) async fn run(binaries: &Binaries, settings: &Settings) -> Section {
    let ground = Ground::start(Duration::ZERO).await;
    let instant = InstantServer::start(Duration::ZERO).await;
    let mut section = Section::new("5. time to gRPC health SERVING");
    for (name, binary, service) in [
        (
            "fulfillment",
            &binaries.fulfillment,
            "fulfillment.v1.FulfillmentService",
        ),
        ("ingest", &binaries.ingest, "ingest.v1.IngestService"),
    ] {
        let mut samples = Vec::new();
        for _ in 0..settings.starts {
            let port = free_port();
            let extra = [("GRPC_ADDR", format!("127.0.0.1:{port}"))];
            let env = if name == "ingest" {
                ground.ingest_env(&instant.address, &extra)
            } else {
                ground.fulfillment_env(&extra)
            };
            let started = Instant::now();
            let mut process = ServiceProcess::start(binary, &env).expect("the binary starts");
            samples.push(until_serving(port, service, started).await);
            process.terminate();
            tokio::task::block_in_place(|| process.wait(Duration::from_secs(10)));
        }
        let spread = Spread::of(samples);
        section.at_most(
            &format!("{name}: median start → SERVING"),
            ms(spread.p50),
            ms(TARGET),
            "ms",
        );
        section.detail(format!("{name}: {}", spread.describe()));
    }
    ground.stop().await;
    section
}

/// A port free a moment ago (the service binds it; another process could take it first,
/// which only a shared machine's bad luck would do).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Asks the readiness of `service` on `port` every millisecond; returns the time since
/// `started` at the first SERVING.
async fn until_serving(port: u16, service: &str, started: Instant) -> Duration {
    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("an address")
        .connect_timeout(Duration::from_millis(100));
    let mut client = None;
    loop {
        assert!(started.elapsed() < WAIT, "{service} never became SERVING");
        if client.is_none() {
            client = endpoint.connect().await.ok().map(HealthClient::new);
        }
        if let Some(health) = client.as_mut() {
            let request = HealthCheckRequest {
                service: service.to_owned(),
            };
            match health.check(request).await {
                Ok(answer) if answer.get_ref().status() == ServingStatus::Serving => {
                    return started.elapsed();
                }
                Ok(_) => {}
                Err(_) => client = None,
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
