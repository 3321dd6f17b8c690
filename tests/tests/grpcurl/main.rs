//! Both services driven with grpcurl exactly as the runbook tells operators to: no proto files,
//! only server reflection. A fulfillment server runs in this process against the emulators and a
//! private Redis, and an ingest against the Pub/Sub emulator; grpcurl is the binary that
//! `scripts/test` installs (`GRPCURL_BIN`) or the one on `PATH`. The commands are those
//! `docs/runbook.md` gives.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

#[path = "../fulfillment/harness.rs"]
#[allow(dead_code, reason = "this test uses a part of the shared harness")]
mod harness;

#[path = "../ingest/harness.rs"]
#[allow(dead_code, reason = "this test uses a part of the shared harness")]
mod ingest_harness;

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use harness::{CALLER_TOKEN, Harness, eventually};
use ingest_harness::World;
use sandbox::pubsub::PubSubOptions;
use serde_json::Value;

/// grpcurl's exit status for an RPC that ended with gRPC status `code`.
fn exit_status_for(code: tonic::Code) -> i32 {
    64 + code as i32
}

/// The grpcurl binary: `GRPCURL_BIN`, else `grpcurl` on `PATH`. Fails the test (never skips it)
/// when there is neither.
fn grpcurl_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("GRPCURL_BIN").filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            is_executable(&path),
            "GRPCURL_BIN={} is not an executable file; run scripts/test, which installs grpcurl",
            path.display()
        );
        return path;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("grpcurl"))
        .find(|candidate| is_executable(candidate))
        .unwrap_or_else(|| {
            panic!(
                "grpcurl not found: set GRPCURL_BIN or put grpcurl on PATH; \
                 run scripts/test, which installs it into .tools/ and sets GRPCURL_BIN"
            )
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// What one grpcurl run printed, and how it exited.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The response, printed as JSON on stdout.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("grpcurl printed no JSON ({error}): {self}"))
    }

    /// The error status that `-format-error` prints as JSON on stderr.
    fn error_json(&self) -> Value {
        serde_json::from_str(&self.stderr)
            .unwrap_or_else(|error| panic!("grpcurl printed no JSON error ({error}): {self}"))
    }

    /// The reason of the `google.rpc.ErrorInfo` in the `-format-error` status.
    fn error_reason(&self) -> String {
        let status = self.error_json();
        let details = status["details"].as_array().cloned().unwrap_or_default();
        details
            .iter()
            .find(|detail| detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
            .and_then(|info| info["reason"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no ErrorInfo: {self}"))
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}, stdout {:?}, stderr {:?}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs grpcurl in plaintext against `addr` with `args` (flags, then the method and its
/// arguments after the address).
async fn grpcurl(flags: &[&str], addr: SocketAddr, rest: &[&str]) -> Run {
    let output = tokio::process::Command::new(grpcurl_binary())
        .args(["-plaintext", "-max-time", "30"])
        .args(flags)
        .arg(addr.to_string())
        .args(rest)
        .kill_on_drop(true)
        .output()
        .await
        .expect("grpcurl runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn bearer(token: &str) -> String {
    format!("authorization: Bearer {token}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fulfillment_is_listed_described_checked_and_called_without_proto_files() {
    let harness = Harness::start().await;
    let addr = harness.grpc_addr();

    let listed = grpcurl(&[], addr, &["list"]).await;
    assert_eq!(listed.code, 0, "{listed}");
    let services: Vec<&str> = listed.stdout.lines().map(str::trim).collect();
    for service in ["fulfillment.v1.FulfillmentService", "grpc.health.v1.Health"] {
        assert!(
            services.contains(&service),
            "{service} not listed: {listed}"
        );
    }
    assert!(
        !services.contains(&"ingest.v1.IngestService"),
        "fulfillment lists only what it serves: {listed}"
    );

    let described = grpcurl(&[], addr, &["describe", "fulfillment.v1.FulfillRequest"]).await;
    assert_eq!(described.code, 0, "{described}");
    for field in ["string order_id = 1", ".fulfillment.v1.Trigger trigger = 2"] {
        assert!(
            described.stdout.contains(field),
            "no {field:?}: {described}"
        );
    }

    let readiness = eventually("readiness via grpcurl", Duration::from_secs(20), || async {
        let run = grpcurl(
            &["-d", r#"{"service":"fulfillment.v1.FulfillmentService"}"#],
            addr,
            &["grpc.health.v1.Health/Check"],
        )
        .await;
        (run.code == 0 && run.json()["status"] == "SERVING").then_some(run)
    })
    .await;
    assert_eq!(readiness.json()["status"], "SERVING");

    let (client_id, order_id) = harness.good_order();
    let request = format!(r#"{{"order_id":"{order_id}","trigger":"TRIGGER_PLATFORM_EVENT"}}"#);

    let unauthenticated = grpcurl(
        &["-format-error", "-d", &request],
        addr,
        &["fulfillment.v1.FulfillmentService/Fulfill"],
    )
    .await;
    assert_eq!(
        unauthenticated.code,
        exit_status_for(tonic::Code::Unauthenticated),
        "{unauthenticated}"
    );
    assert_eq!(
        unauthenticated.error_json()["code"],
        tonic::Code::Unauthenticated as i32
    );
    assert_eq!(unauthenticated.error_reason(), "MISSING_CREDENTIALS");
    assert_eq!(
        harness.whmcs.calls().len(),
        0,
        "nothing ran without a token"
    );

    let fulfilled = grpcurl(
        &["-H", &bearer(CALLER_TOKEN), "-d", &request],
        addr,
        &["fulfillment.v1.FulfillmentService/Fulfill"],
    )
    .await;
    assert_eq!(fulfilled.code, 0, "{fulfilled}");
    let answer = fulfilled.json();
    assert_eq!(answer["outcome"], "OUTCOME_ACTIVATED", "{fulfilled}");
    let orders = harness.whmcs_orders_of(client_id);
    assert_eq!(orders.len(), 1);
    assert_eq!(answer["whmcsOrderId"], orders[0].id.to_string());
    assert_eq!(answer["orderId"], order_id);

    // The runbook's look at the journal.
    let journal = grpcurl(
        &[
            "-H",
            &bearer(CALLER_TOKEN),
            "-d",
            &format!(r#"{{"order_id":"{order_id}"}}"#),
        ],
        addr,
        &["fulfillment.v1.FulfillmentService/GetFulfillment"],
    )
    .await;
    assert_eq!(journal.code, 0, "{journal}");
    let journal = journal.json();
    assert_eq!(journal["state"], "FULFILLMENT_STATE_ACTIVATED");
    assert_eq!(journal["caller"], "portal");
    assert_eq!(journal["whmcsOrderId"], orders[0].id.to_string());

    let refused = grpcurl(
        &[
            "-H",
            &bearer(CALLER_TOKEN),
            "-format-error",
            "-d",
            r#"{"order_id":"801' OR Name != '"}"#,
        ],
        addr,
        &["fulfillment.v1.FulfillmentService/Fulfill"],
    )
    .await;
    assert_eq!(
        refused.code,
        exit_status_for(tonic::Code::InvalidArgument),
        "{refused}"
    );
    let status = refused.error_json();
    assert_eq!(status["code"], tonic::Code::InvalidArgument as i32);
    assert_eq!(refused.error_reason(), "INVALID_ORDER_ID");
    assert!(
        refused.stderr.contains(r#""domain":"fulfillment.bridge""#),
        "{refused}"
    );
}

const ADMIN_TOKEN: &str = "tok-operator-5d2e8b17";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_is_listed_and_every_admin_rpc_answers_without_proto_files() {
    let world = World::start(PubSubOptions::default()).await;
    let files = tempfile::tempdir().expect("a temporary directory");
    let tokens = files.path().join("ingest-tokens");
    std::fs::write(&tokens, format!("operator:{ADMIN_TOKEN}\n")).expect("the tokens file");
    let tokens = tokens.display().to_string();
    let ingest = world
        .ingest(&[("INGEST_AUTH", ""), ("INGEST_AUTH_TOKENS_FILE", &tokens)])
        .await;
    world.wait_for_stream(1).await;
    let addr = ingest.grpc_addr;
    let auth = bearer(ADMIN_TOKEN);

    let listed = grpcurl(&[], addr, &["list"]).await;
    assert_eq!(listed.code, 0, "{listed}");
    let services: Vec<&str> = listed.stdout.lines().map(str::trim).collect();
    for service in ["ingest.v1.IngestService", "grpc.health.v1.Health"] {
        assert!(
            services.contains(&service),
            "{service} not listed: {listed}"
        );
    }
    let methods = grpcurl(&[], addr, &["list", "ingest.v1.IngestService"]).await;
    assert_eq!(methods.code, 0, "{methods}");
    for method in [
        "GetStatus",
        "ListDeadLetters",
        "RedriveDeadLetter",
        "ResetCursor",
    ] {
        let full = format!("ingest.v1.IngestService.{method}");
        assert!(methods.stdout.contains(&full), "no {full}: {methods}");
    }

    eventually("readiness via grpcurl", Duration::from_secs(20), || async {
        let run = grpcurl(
            &["-d", r#"{"service":"ingest.v1.IngestService"}"#],
            addr,
            &["grpc.health.v1.Health/Check"],
        )
        .await;
        (run.code == 0 && run.json()["status"] == "SERVING").then_some(())
    })
    .await;

    let refused = grpcurl(
        &["-format-error"],
        addr,
        &["ingest.v1.IngestService/GetStatus"],
    )
    .await;
    assert_eq!(
        refused.code,
        exit_status_for(tonic::Code::Unauthenticated),
        "{refused}"
    );
    assert_eq!(refused.error_reason(), "MISSING_CREDENTIALS");

    // A poison event and a good one after it: the cursor passes both, the poison is kept.
    let schema = world.pubsub.order_schema_id();
    let garbage = b"\xff\xfe not an avro datum".to_vec();
    world
        .pubsub
        .publish_raw(&schema, garbage.clone(), "uuid-garbage");
    let good = ingest_harness::order_id(1);
    let last = world.pubsub.publish_order_event(&good);
    world.wait_dispatched(std::slice::from_ref(&good)).await;
    world.wait_cursor(&last).await;

    let status = eventually("GetStatus via grpcurl", Duration::from_secs(20), || async {
        let run = grpcurl(&["-H", &auth], addr, &["ingest.v1.IngestService/GetStatus"]).await;
        let settled = run.code == 0
            && run.json()["role"] == "ROLE_LEADER"
            && run.json()["subscriptionState"] == "SUBSCRIPTION_STATE_SUBSCRIBED"
            && run.json()["deadLettered"] == "1";
        settled.then_some(run)
    })
    .await;
    let status = status.json();
    assert_eq!(status["channel"], ingest_harness::CHANNEL);
    assert_eq!(
        status["storedCursor"],
        base64(&last),
        "bytes print as base64"
    );

    let letters = grpcurl(
        &["-H", &auth, "-d", r#"{"page_size":10}"#],
        addr,
        &["ingest.v1.IngestService/ListDeadLetters"],
    )
    .await;
    assert_eq!(letters.code, 0, "{letters}");
    let letters = letters.json();
    let letter = &letters["deadLetters"][0];
    assert_eq!(letter["eventUuid"], "uuid-garbage", "{letters}");
    assert_eq!(letter["payload"], base64(&garbage));
    assert!(
        letter["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("not a valid Avro datum")),
        "{letters}"
    );
    let id = letter["id"].as_str().expect("an entry id").to_owned();

    let redriven = grpcurl(
        &["-H", &auth, "-d", &format!(r#"{{"id":"{id}"}}"#)],
        addr,
        &["ingest.v1.IngestService/RedriveDeadLetter"],
    )
    .await;
    assert_eq!(redriven.code, 0, "{redriven}");
    let redriven = redriven.json();
    assert_eq!(redriven["id"], id.as_str());
    assert_eq!(redriven.get("removed"), None, "still poison: {redriven}");
    assert!(
        redriven["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("not a valid Avro datum")),
        "{redriven}"
    );

    let reset = grpcurl(
        &["-H", &auth, "-d", r#"{"target":"RESET_TARGET_EARLIEST"}"#],
        addr,
        &["ingest.v1.IngestService/ResetCursor"],
    )
    .await;
    assert_eq!(reset.code, 0, "{reset}");
    assert_eq!(reset.json()["previousCursor"], base64(&last));
    assert_eq!(reset.json()["target"], "RESET_TARGET_EARLIEST");
    world.wait_for_stream(2).await;
    let resubscribed = world
        .pubsub
        .fetch_requests()
        .into_iter()
        .find(|fetch| fetch.stream == 2)
        .expect("a second stream");
    assert_eq!(resubscribed.replay_preset, 1, "EARLIEST");
    ingest.stop().await;
}

/// Standard base64 with padding, as grpcurl prints `bytes` fields.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = String::new();
    for chunk in bytes.chunks(3) {
        let triple = chunk.iter().enumerate().fold(0u32, |acc, (i, byte)| {
            acc | u32::from(*byte) << (16 - 8 * i)
        });
        for i in 0..4 {
            if i <= chunk.len() {
                text.push(char::from(ALPHABET[(triple >> (18 - 6 * i)) as usize & 63]));
            } else {
                text.push('=');
            }
        }
    }
    text
}
