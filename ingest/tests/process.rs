//! The `ingest` binary as operators run it: with `SF_EVENTS_ENABLED=false` it needs no
//! Salesforce settings, says that it subscribes to nothing, and serves health until SIGTERM.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

use std::{collections::HashMap, path::Path, time::Duration};

use bridge_tests::{RedisServer, ServiceProcess, http_get};

const BINARY: &str = env!("CARGO_BIN_EXE_ingest");
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn with_events_disabled_it_serves_health_and_subscribes_to_nothing() {
    let redis = RedisServer::start().expect("redis");
    let env: HashMap<String, String> = [
        ("REDIS_URL", redis.url()),
        ("GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
        ("SF_EVENTS_ENABLED", "false".to_owned()),
        ("INGEST_AUTH", "disabled".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut process = ServiceProcess::start(Path::new(BINARY), &env).expect("start");

    let disabled = process
        .wait_for_log(
            "Platform events are disabled (SF_EVENTS_ENABLED=false); subscribing to nothing",
            WAIT,
        )
        .expect("the disabled state is logged");
    assert_eq!(disabled["level"], "INFO");
    assert_eq!(disabled["channel"], "/event/OrderProvisionRequested__e");
    let admin = process
        .wait_for_log("Admin HTTP server listening", WAIT)
        .expect("admin port");
    let address = admin["address"].as_str().expect("address").to_owned();

    let (status, body) = http_get(&address, "/health").expect("GET /health");
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["service"], "ingest");
    assert_eq!(body["integrations"]["redis"]["status"], "connected");
    assert_eq!(body["integrations"]["salesforce"]["status"], "disabled");

    process.terminate();
    let (status, exited) = process.wait(WAIT);
    assert!(exited && status.success(), "{status}");
}

#[test]
fn with_events_enabled_the_salesforce_settings_are_required() {
    let env = HashMap::from([("REDIS_URL".to_owned(), "redis://127.0.0.1:1".to_owned())]);
    let mut process = ServiceProcess::start(Path::new(BINARY), &env).expect("start");

    let (status, _) = process.wait(WAIT);

    assert_eq!(status.code(), Some(78));
    let line = process.lines().join("\n");
    for name in [
        "SF_LOGIN_URL",
        "SF_CLIENT_ID",
        "SF_USERNAME",
        "SF_PRIVATE_KEY_PATH",
        "FULFILLMENT_URL",
        "INGEST_AUTH_TOKENS_FILE",
    ] {
        assert!(line.contains(name), "{name} missing from {line}");
    }
}
