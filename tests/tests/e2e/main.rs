//! End to end with the real binaries: the runbook's verification steps, each of its common
//! symptoms, and the manual retry flow. Each test fails if the product stops behaving the way
//! the runbook describes.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

mod fencing;
mod stack;
mod symptoms;

use serde_json::{Value, json};
use stack::Stack;

/// The position of the first line of `logs` whose message starts with `message` and that
/// mentions `order_id`.
fn position(logs: &[Value], message: &str, order_id: &str) -> Option<usize> {
    logs.iter().position(|line| {
        line["message"]
            .as_str()
            .is_some_and(|m| m.starts_with(message))
            && line.to_string().contains(order_id)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runbook_verification_steps_hold() {
    let stack = Stack::start(Some(&[])).await;
    stack.wait_subscribed().await;

    // 1. In Salesforce, an Order with OrderItems.
    let customer = stack.world.customer("Acme", true);
    let vps = stack.world.offering("VPS Small", "Monthly");
    let backup = stack.world.offering("Backup", "Annually");
    let order_id = stack.world.order(
        &customer.account_id,
        &[(&vps.product_id, 2.0), (&backup.product_id, 1.0)],
    );

    // 2. Approval: the Flow sets Activating and publishes OrderProvisionRequested__e.
    let event = stack
        .world
        .salesforce
        .approve_order(&order_id)
        .expect("the Flow runs");
    assert_eq!(
        stack.field(&order_id, "Activation_Status__c"),
        json!("Activating")
    );

    // 3. /health: Redis connected, environment as configured.
    for address in [&stack.fulfillment_http, &stack.ingest_http] {
        let (status, health) = Stack::health(address);
        assert_eq!(status, 200);
        assert_eq!(health["integrations"]["redis"]["status"], "connected");
        assert_eq!(health["environment"], "sandbox");
    }

    // 4. The log trail: enqueued → guard sees Activating → WHMCS add → WHMCS accept → Activated.
    stack.wait_status(&order_id, "Activated").await;
    let ingest_logs = Stack::logs(stack.ingest.as_ref().unwrap());
    let enqueued = ingest_logs
        .iter()
        .find(|line| {
            line["message"] == "Platform Event enqueued for provisioning"
                && line["order_id"] == order_id.as_str()
        })
        .expect("the enqueue line");
    assert_eq!(enqueued["event_uuid"], event.event_uuid.as_str());
    assert!(
        enqueued["replay_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    let logs = Stack::logs(&stack.fulfillment);
    let trail: Vec<usize> = [
        "Starting fulfillment orchestration",
        "Guard sees status=Activating",
        "WHMCS add succeeded",
        "WHMCS accept succeeded",
        "Activated: the Order is fulfilled",
    ]
    .iter()
    .map(|message| {
        position(&logs, message, &order_id).unwrap_or_else(|| panic!("no {message:?} line"))
    })
    .collect();
    assert!(
        trail.windows(2).all(|pair| pair[0] < pair[1]),
        "the trail is in order: {trail:?}"
    );
    for step in [
        "validation",
        "sf_status_update",
        "order_details",
        "mapping",
        "whmcs_create",
        "whmcs_accept",
        "sf_success_update",
    ] {
        assert!(
            logs.iter().any(|line| line["step"] == step),
            "no log line for step {step}"
        );
    }

    // 5. Salesforce fields updated; the WHMCS order and its services exist.
    let whmcs_id = stack.field(&order_id, "WHMCS_Order_ID__c");
    let order = stack
        .world
        .whmcs
        .orders()
        .into_iter()
        .find(|o| whmcs_id == o.id.to_string().as_str())
        .expect("the WHMCS order");
    assert_eq!(order.status, "Active");
    assert_eq!(order.service_ids.len(), 3, "2 x VPS + 1 x Backup");
    assert_eq!(
        stack.field(&order_id, "Activation_Error_Code__c"),
        Value::Null
    );
    stack.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manual_retry_flow_fulfils_a_failed_order_once() {
    let stack = Stack::start(Some(&[])).await;
    stack.wait_subscribed().await;
    let (customer, order_id) = stack.vps_order("Initech", false);
    stack
        .world
        .salesforce
        .approve_order(&order_id)
        .expect("the Flow runs");
    stack.wait_status(&order_id, "Failed").await;
    assert_eq!(
        stack.field(&order_id, "Activation_Error_Code__c"),
        json!("409")
    );

    // "Provision / Retry" while Activating shows "Already in progress" and changes nothing.
    stack
        .world
        .salesforce
        .set_order_field(&order_id, "Activation_Status__c", json!("Activating"));
    let toast = stack
        .world
        .salesforce
        .retry_order(&order_id)
        .expect_err("in progress");
    assert!(toast.to_string().contains("Already in progress"), "{toast}");
    stack
        .world
        .salesforce
        .set_order_field(&order_id, "Activation_Status__c", json!("Failed"));

    // The customer adds a payment method; the operator clicks Retry.
    stack
        .world
        .whmcs
        .add_pay_method(customer.whmcs_client_id, "stripe");
    stack
        .world
        .salesforce
        .retry_order(&order_id)
        .expect("the retry action runs");
    assert_eq!(
        stack.field(&order_id, "Activation_Error_Code__c"),
        Value::Null,
        "error fields cleared"
    );
    stack.wait_status(&order_id, "Activated").await;

    let marker = format!("Salesforce Order {order_id}");
    let created: Vec<_> = stack
        .world
        .whmcs
        .orders()
        .into_iter()
        .filter(|order| order.notes.contains(&marker))
        .collect();
    assert_eq!(created.len(), 1, "fulfilled exactly once");
    assert_eq!(stack.world.whmcs.count("AddOrder"), 1);
    stack.assert_no_secrets();
}
