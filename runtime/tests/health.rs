//! `/health`, `/metrics` and gRPC readiness against a private Redis that the test stops and
//! starts again.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

use std::time::{Duration, Instant};

use bridge_runtime::{
    Secret, admin,
    grpc::{follow_readiness, standard_routes},
    redis_store::{self, RedisProbe},
    shutdown::CancellationToken,
};
use bridge_tests::{Persistence, RedisServer};
use serde_json::Value;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const WAIT: Duration = Duration::from_secs(15);

async fn poll_until<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn probe_for(redis: &RedisServer) -> RedisProbe {
    RedisProbe::new(redis_store::connect(&Secret::new(redis.url())).expect("valid URL"))
}

async fn get(url: String) -> reqwest::Response {
    let client = bridge_runtime::http_client::build_client(Duration::from_secs(5)).unwrap();
    client.get(url).send().await.expect("GET")
}

async fn get_health(base: &str) -> (u16, Value) {
    let response = get(format!("{base}/health")).await;
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

#[tokio::test]
async fn health_reports_redis_connected_then_down_then_connected_again() {
    let mut redis = RedisServer::start_with(Persistence::AppendOnly).expect("redis");
    let state = admin::AdminState::new("fulfillment", "test".into(), probe_for(&redis))
        .with_integration(
            "whmcs",
            std::sync::Arc::new(|| serde_json::json!({"status": "unknown"})),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(admin::serve(listener, state, shutdown.clone()));

    let (status, body) = get_health(&base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["service"], "fulfillment");
    assert_eq!(body["environment"], "test");
    assert_eq!(body["integrations"]["redis"]["status"], "connected");
    assert!(body["integrations"]["redis"]["latency_ms"].is_number());
    assert_eq!(body["integrations"]["whmcs"]["status"], "unknown");

    redis.kill();
    let (status, body) = poll_until("503", || async {
        let (status, body) = get_health(&base).await;
        (status == 503).then_some((status, body))
    })
    .await;
    assert_eq!(status, 503);
    assert_eq!(body["status"], "unavailable");
    assert_eq!(body["integrations"]["redis"]["status"], "down");

    redis.restart().expect("restart");
    poll_until("200 again", || async {
        (get_health(&base).await.0 == 200).then_some(())
    })
    .await;

    shutdown.cancel();
    server.await.unwrap().expect("admin server ends cleanly");
}

#[tokio::test]
async fn metrics_are_served_in_prometheus_text() {
    let redis = RedisServer::start().expect("redis");
    let state = admin::AdminState::new("ingest", "test".into(), probe_for(&redis));
    metrics::counter!("test_events_total").increment(3);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(admin::serve(listener, state, CancellationToken::new()));

    let response = get(format!("{base}/metrics")).await;

    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.contains("test_events_total 3"), "{text}");
}

#[tokio::test]
async fn readiness_follows_redis_while_liveness_stays_serving_until_shutdown() {
    const SERVICE: &str = "fulfillment.v1.FulfillmentService";
    let mut redis = RedisServer::start().expect("redis");
    let (routes, reporter) = standard_routes(&[SERVICE]).expect("standard routes");
    let shutdown = CancellationToken::new();
    let readiness = tokio::spawn(follow_readiness(
        reporter,
        SERVICE,
        probe_for(&redis),
        shutdown.clone(),
    ));
    let server_stop = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let stop = server_stop.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                stop.cancelled_owned(),
            )
            .await
    });
    let channel = tonic::transport::Endpoint::from_shared(address)
        .unwrap()
        .connect()
        .await
        .expect("connect");
    let health = HealthClient::new(channel);
    let status_of = move |service: &'static str| {
        let mut client = health.clone();
        async move {
            client
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .map(|r| r.into_inner().status())
        }
    };

    poll_until("SERVING", || async {
        (status_of(SERVICE).await.ok()? == ServingStatus::Serving).then_some(())
    })
    .await;

    redis.kill();
    poll_until("NOT_SERVING", || async {
        (status_of(SERVICE).await.ok()? == ServingStatus::NotServing).then_some(())
    })
    .await;
    assert_eq!(
        status_of("").await.unwrap(),
        ServingStatus::Serving,
        "liveness holds"
    );

    redis.restart().expect("restart");
    poll_until("SERVING again", || async {
        (status_of(SERVICE).await.ok()? == ServingStatus::Serving).then_some(())
    })
    .await;

    // Shutdown marks both names NOT_SERVING while the server still answers.
    shutdown.cancel();
    readiness.await.unwrap();
    assert_eq!(status_of(SERVICE).await.unwrap(), ServingStatus::NotServing);
    assert_eq!(status_of("").await.unwrap(), ServingStatus::NotServing);
    server_stop.cancel();
}
