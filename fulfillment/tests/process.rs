//! The `fulfillment` binary as operators run it: a bad environment is refused in one line, and
//! a good one serves health and the admin port until SIGTERM.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

use std::{collections::HashMap, path::Path, time::Duration};

use bridge_tests::{RedisServer, ServiceProcess, http_get};

const BINARY: &str = env!("CARGO_BIN_EXE_fulfillment");
const WAIT: Duration = Duration::from_secs(20);

#[test]
fn a_bad_environment_exits_78_naming_every_variable_in_one_line() {
    let env = HashMap::from([
        ("WHMCS_API_SECRET".to_owned(), "whmcs-s3cret".to_owned()),
        ("FULFILL_DEADLINE".to_owned(), "soon".to_owned()),
        ("LOG_FORMAT".to_owned(), "yaml".to_owned()),
    ]);
    let mut process = ServiceProcess::start(Path::new(BINARY), &env).expect("start");

    let (status, exited) = process.wait(WAIT);

    assert!(exited);
    assert_eq!(status.code(), Some(78));
    let lines = process.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    for name in [
        "LOG_FORMAT",
        "REDIS_URL",
        "SF_LOGIN_URL",
        "WHMCS_API_URL",
        "FULFILLMENT_AUTH_TOKENS_FILE",
    ] {
        assert!(lines[0].contains(name), "{name} missing from {}", lines[0]);
    }
    assert!(!lines[0].contains("whmcs-s3cret"));
}

#[test]
fn a_good_environment_serves_health_until_sigterm() {
    let redis = RedisServer::start().expect("redis");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("sf-private.key");
    std::fs::write(&key, "not read until a token is needed").unwrap();
    let env: HashMap<String, String> = [
        ("REDIS_URL", redis.url()),
        ("GRPC_ADDR", "127.0.0.1:0".into()),
        ("HTTP_ADDR", "127.0.0.1:0".into()),
        ("SF_LOGIN_URL", "http://127.0.0.1:9".into()),
        ("SF_CLIENT_ID", "3MVG9".into()),
        ("SF_USERNAME", "integration@example.com".into()),
        ("SF_PRIVATE_KEY_PATH", key.display().to_string()),
        (
            "WHMCS_API_URL",
            "http://127.0.0.1:9/includes/api.php".into(),
        ),
        ("WHMCS_API_IDENTIFIER", "ident".into()),
        ("WHMCS_API_SECRET", "whmcs-s3cret".into()),
        ("FULFILLMENT_AUTH", "disabled".into()),
        ("SHUTDOWN_GRACE", "5s".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut process = ServiceProcess::start(Path::new(BINARY), &env).expect("start");

    let admin = process
        .wait_for_log("Admin HTTP server listening", WAIT)
        .expect("admin port");
    let address = admin["address"].as_str().expect("address field").to_owned();
    process
        .wait_for_log("Ready: Redis answers", WAIT)
        .expect("ready");
    let (status, body) = http_get(&address, "/health").expect("GET /health");
    assert_eq!(status, 200, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["service"], "fulfillment");
    assert_eq!(body["integrations"]["redis"]["status"], "connected");

    process.terminate();
    let (status, exited) = process.wait(WAIT);
    assert!(exited, "exited by itself after SIGTERM");
    assert!(status.success(), "{status}");
    assert!(
        process
            .lines()
            .iter()
            .all(|line| !line.contains("whmcs-s3cret")),
        "the WHMCS secret was logged"
    );
}
