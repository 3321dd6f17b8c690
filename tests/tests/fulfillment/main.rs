//! The Fulfill RPC end to end, in process: a real gRPC server and client over a socket, a
//! private Redis, and the Salesforce and WHMCS emulators as the outside world.

mod error_codes;
mod exactly_once;
mod harness;
mod upstream;

use bridge_proto::fulfillment::v1::{
    FulfillRequest, FulfillmentState, Outcome, StepStatus, Trigger,
};
use bridge_tests::assert_no_secrets;
use harness::{Harness, with_token};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;

fn step_status(
    response: &bridge_proto::fulfillment::v1::FulfillResponse,
    name: &str,
) -> StepStatus {
    response
        .steps
        .iter()
        .find(|step| step.name == name)
        .map(|step| step.status())
        .unwrap_or(StepStatus::Unspecified)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activating_order_becomes_activated_once_and_a_second_call_touches_nothing() {
    let harness = Harness::start().await;
    let (client_id, order_id) = harness.good_order();

    let response = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");

    assert_eq!(response.outcome(), Outcome::Activated, "{response:?}");
    let orders = harness.whmcs_orders_of(client_id);
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, "Active");
    assert_eq!(response.whmcs_order_id, orders[0].id.to_string());
    assert_eq!(
        harness.field(&order_id, "Activation_Status__c"),
        json!("Activated")
    );
    assert_eq!(
        harness.field(&order_id, "WHMCS_Order_ID__c"),
        json!(orders[0].id.to_string())
    );
    assert_eq!(
        harness.field(&order_id, "Activation_Error_Code__c"),
        json!(null)
    );
    assert_eq!(harness.whmcs.count("AddOrder"), 1);
    assert_eq!(harness.whmcs.count("AcceptOrder"), 1);
    assert!(response.salesforce_updated);
    assert_eq!(response.steps.len(), 7);
    assert!(
        response
            .steps
            .iter()
            .all(|step| step.status() == StepStatus::Succeeded),
        "{:?}",
        response.steps
    );
    assert!(
        orders[0]
            .notes
            .contains(&format!("Salesforce Order {order_id}"))
    );

    let calls_before = harness.whmcs.calls().len();
    let again = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");
    assert_eq!(again.outcome(), Outcome::AlreadyActivated);
    assert_eq!(again.whmcs_order_id, response.whmcs_order_id);
    assert_eq!(
        harness.whmcs.calls().len(),
        calls_before,
        "no WHMCS call for an activated Order"
    );

    let journal = harness.journal(&order_id).await.expect("a journal");
    assert_eq!(journal.state(), FulfillmentState::Activated);
    assert_eq!(journal.caller, "portal");
    assert_eq!(journal.whmcs_order_id, response.whmcs_order_id);

    for line in [
        "Starting fulfillment orchestration",
        "Guard sees status=Activating",
        "Item mapping report",
    ] {
        assert!(
            !harness.logs.lines_with(&[line, &order_id]).is_empty(),
            "no log line {line:?}"
        );
    }
    for step in fulfillment::orchestrator::STEP_NAMES {
        let needle = format!("\"step\":\"{step}\"");
        assert!(
            !harness.logs.lines_with(&[&needle, &order_id]).is_empty(),
            "no log line for step {step}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_and_missing_tokens_are_refused_before_anything_happens() {
    let harness = Harness::start().await;

    for bad in [
        "801' OR Name != '",
        "",
        "801xx000003GZ0",
        "001xx000003DGb2AAG",
        "801xx000003GZ0nAAX",
    ] {
        let status = harness
            .fulfill(bad, Trigger::Direct)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}: {status:?}");
        let info = status.get_details_error_info().expect("an ErrorInfo");
        assert_eq!(info.reason, "INVALID_ORDER_ID");
        assert_eq!(info.domain, "fulfillment.bridge");
    }
    assert!(
        harness.salesforce.requests().is_empty(),
        "no query reached Salesforce"
    );

    let (_, order_id) = harness.good_order();
    let request = || FulfillRequest {
        order_id: order_id.clone(),
        ..Default::default()
    };
    let missing = harness
        .raw_client()
        .fulfill(request())
        .await
        .expect_err("no token");
    assert_eq!(missing.code(), Code::Unauthenticated);
    let unknown = harness
        .raw_client()
        .fulfill(with_token(request(), "tok-guess"))
        .await
        .expect_err("wrong token");
    assert_eq!(unknown.code(), Code::Unauthenticated);
    assert!(
        harness.salesforce.requests().is_empty(),
        "no call reached Salesforce"
    );
    assert_eq!(harness.whmcs.calls().len(), 0);

    let not_found = harness
        .fulfill("801000000000001", Trigger::Direct)
        .await
        .expect_err("no such Order");
    assert_eq!(not_found.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_salesforce_session_is_renewed_once_and_no_secret_is_logged() {
    let harness = Harness::start().await;
    let (_, first) = harness.good_order();
    let (_, second) = harness.good_order();

    assert_eq!(
        harness
            .fulfill(&first, Trigger::PlatformEvent)
            .await
            .expect("answers")
            .outcome(),
        Outcome::Activated
    );
    assert_eq!(harness.salesforce.tokens_issued(), 1);

    harness.salesforce.expire_sessions();
    let response = harness
        .fulfill(&second, Trigger::PlatformEvent)
        .await
        .expect("answers");

    assert_eq!(response.outcome(), Outcome::Activated, "{response:?}");
    assert_eq!(
        harness.salesforce.tokens_issued(),
        2,
        "one new token, transparently"
    );

    let mut secrets = harness.secrets();
    secrets.push(harness::CALLER_TOKEN.to_owned());
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_no_secrets(&harness.logs.text(), &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_redis_and_the_upstreams() {
    let harness = Harness::start().await;
    let (_, order_id) = harness.good_order();
    harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("answers");

    let (status, body) = bridge_tests::http_get(&harness.http_addr.to_string(), "/health")
        .expect("the admin port answers");
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(health["integrations"]["redis"]["status"], "connected");
    assert_eq!(health["integrations"]["salesforce"]["status"], "ok");
    assert_eq!(health["integrations"]["whmcs"]["status"], "ok");
    assert_eq!(health["service"], "fulfillment");

    let mut probes = tonic_health::pb::health_client::HealthClient::new(harness.channel());
    for service in ["", "fulfillment.v1.FulfillmentService"] {
        let answer = harness::eventually("readiness", std::time::Duration::from_secs(10), || {
            let mut probes = probes.clone();
            async move {
                let request = tonic_health::pb::HealthCheckRequest {
                    service: service.to_owned(),
                };
                let status = probes.check(request).await.ok()?.into_inner().status();
                (status == tonic_health::pb::health_check_response::ServingStatus::Serving)
                    .then_some(status)
            }
        })
        .await;
        assert_eq!(
            answer,
            tonic_health::pb::health_check_response::ServingStatus::Serving,
            "{service:?}"
        );
    }
    let unknown = probes
        .check(tonic_health::pb::HealthCheckRequest {
            service: "other.v1.Service".to_owned(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(unknown.code(), Code::NotFound);
}
