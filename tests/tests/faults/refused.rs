//! Connection refused, which no emulator can answer with: fulfillment processes pointed at a
//! port nobody listens on, for WHMCS and for the Salesforce token endpoint, beside the one that
//! reaches both; the Order ends as the runbook says, and the working process completes it.

use bridge_proto::fulfillment::v1::{Outcome, Trigger};
use serde_json::json;
use tonic::Code;

use crate::stack::{Stack, reason};

/// A port on another loopback address, which no test server binds, so nobody can take it over
/// between the drop and the calls.
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").expect("a free port");
    let address = listener.local_addr().expect("bound").to_string();
    drop(listener);
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_econnrefused_and_a_retry_completes_the_order() {
    let stack = Stack::start(false).await;
    let world = &stack.world;
    let closed = closed_address();
    let vps = world.offering("VPS Small", "Monthly");

    // WHMCS refuses: the first WHMCS call fails, and the failure is written on the Order.
    let cut_off = stack
        .start_fulfillment(&[("WHMCS_API_URL", format!("http://{closed}/includes/api.php"))])
        .await;
    let customer = world.customer("Refused", true);
    let order_id = world.order(&customer.account_id, &[(&vps.product_id, 1.0)]);
    let event = world.salesforce.approve_order(&order_id).unwrap();
    let failed = cut_off
        .fulfill(&order_id, Trigger::PlatformEvent, &event.event_uuid)
        .await
        .expect("an answer");
    assert_eq!(failed.outcome(), Outcome::Failed);
    let error = failed.error.expect("an error");
    assert_eq!(
        (error.code.as_str(), error.step.as_str()),
        ("ECONNREFUSED", "mapping")
    );
    assert_eq!(
        stack.field(&order_id, "Activation_Error_Code__c"),
        json!("ECONNREFUSED")
    );
    let event = world.salesforce.retry_order(&order_id).unwrap();
    let done = stack
        .fulfillment
        .fulfill_when_free(&order_id, Trigger::PlatformEvent, &event.event_uuid)
        .await
        .expect("an answer");
    assert_eq!(done.outcome(), Outcome::Activated);
    let orders: Vec<_> = world
        .whmcs
        .orders()
        .into_iter()
        .filter(|order| order.client_id == customer.whmcs_client_id)
        .collect();
    assert_eq!(orders.len(), 1);
    assert_eq!(
        stack.field(&order_id, "WHMCS_Order_ID__c"),
        json!(orders[0].id.to_string())
    );

    // The token endpoint refuses: nothing can be read or written, and the answer says so.
    let no_login = stack
        .start_fulfillment(&[("SF_LOGIN_URL", format!("http://{closed}"))])
        .await;
    let customer = world.customer("Loginless", true);
    let order_id = world.order(&customer.account_id, &[(&vps.product_id, 1.0)]);
    let event = world.salesforce.approve_order(&order_id).unwrap();
    let refused = no_login
        .fulfill(&order_id, Trigger::PlatformEvent, &event.event_uuid)
        .await
        .expect_err("no session");
    assert_eq!(refused.code(), Code::Unavailable);
    assert_eq!(reason(&refused), "SALESFORCE_AUTH_FAILED");
    let health = no_login.health();
    assert_eq!(
        health["integrations"]["salesforce"]["last_error_code"], "ECONNREFUSED",
        "{health}"
    );
    assert_eq!(
        stack.field(&order_id, "Activation_Status__c"),
        json!("Activating")
    );
    let done = stack
        .fulfillment
        .fulfill_when_free(&order_id, Trigger::PlatformEvent, &event.event_uuid)
        .await
        .expect("an answer");
    assert_eq!(done.outcome(), Outcome::Activated);
    assert_eq!(
        world
            .whmcs
            .orders()
            .iter()
            .filter(|order| order.client_id == customer.whmcs_client_id)
            .count(),
        1
    );
    world.shutdown().await;
}
