//! The calls whose failure cannot be written to the Order, with the real `ingest` delivering
//! the events: fulfillment answers `UNAVAILABLE`, ingest delivers the same event again with its
//! backoff, and once Salesforce answers again the Order is fulfilled without anyone acting.

use std::sync::Arc;

use sandbox::salesforce::{RecordedRequest, RestFault, RestTarget, Times};
use serde_json::{Value, json};

use crate::stack::{Stack, eventually};

/// How many times ingest's log says it will deliver the Order's event again.
fn redeliveries(stack: &Stack, order_id: &str) -> usize {
    let Some(ingest) = &stack.ingest else {
        return 0;
    };
    ingest
        .lines()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| {
            line["message"] == "Fulfillment cannot take the event now; delivering again later"
                && line["order_id"] == order_id
        })
        .count()
}

/// Waits until ingest logged the Order's event as dispatched, and returns its `result`.
async fn dispatched(stack: &Stack, order_id: &str) -> String {
    eventually("ingest to dispatch the event", || async {
        stack.ingest.as_ref()?.lines().iter().find_map(|line| {
            let line: Value = serde_json::from_str(line).ok()?;
            (line["message"] == "Event dispatched" && line["order_id"] == order_id)
                .then(|| line["result"].as_str().unwrap_or_default().to_owned())
        })
    })
    .await
}

fn whmcs_orders(stack: &Stack, client_id: u64) -> usize {
    stack
        .world
        .whmcs
        .orders()
        .iter()
        .filter(|order| order.client_id == client_id)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_delivers_again_until_salesforce_answers() {
    let stack = Stack::start(true).await;
    let world = &stack.world;

    // A first Order warms ingest up (schema fetched, session in use), so the faults below
    // meet only fulfillment's calls.
    let warm = world.customer("Warm", true);
    let vps = world.offering("VPS Small", "Monthly");
    let first = world.order(&warm.account_id, &[(&vps.product_id, 1.0)]);
    world.salesforce.approve_order(&first).unwrap();
    assert_eq!(dispatched(&stack, &first).await, "activated");

    // The token endpoint is down while the session expires: nothing can be read or written.
    let customer = world.customer("Tokenless", true);
    let order_id = world.order(&customer.account_id, &[(&vps.product_id, 1.0)]);
    world.salesforce.expire_sessions();
    world
        .salesforce
        .inject(RestTarget::Token, RestFault::Html(503), Times::Always);
    world.salesforce.approve_order(&order_id).unwrap();
    eventually("ingest to deliver the event again", || async {
        (redeliveries(&stack, &order_id) >= 2).then_some(())
    })
    .await;
    assert_eq!(
        stack.field(&order_id, "Activation_Status__c"),
        json!("Activating"),
        "nothing was written"
    );
    assert_eq!(whmcs_orders(&stack, customer.whmcs_client_id), 0);
    let health = stack.fulfillment.health();
    assert_eq!(
        health["integrations"]["salesforce"]["last_error_code"], "503",
        "{health}"
    );
    world.salesforce.clear_faults();
    assert_eq!(dispatched(&stack, &order_id).await, "activated");
    assert_eq!(
        stack.field(&order_id, "Activation_Status__c"),
        json!("Activated")
    );
    assert_eq!(whmcs_orders(&stack, customer.whmcs_client_id), 1);

    // The guard's read is refused twice; ingest's third delivery goes through by itself.
    let customer = world.customer("Guarded", true);
    let order_id = world.order(&customer.account_id, &[(&vps.product_id, 1.0)]);
    let id = order_id.clone();
    world.salesforce.inject_matching(
        RestTarget::Query,
        Arc::new(move |request: &RecordedRequest| {
            request
                .soql
                .as_deref()
                .is_some_and(|soql| soql.contains(&id) && !soql.contains("OrderItems"))
        }),
        RestFault::Reset,
        Times::Times(2),
    );
    world.salesforce.approve_order(&order_id).unwrap();
    assert_eq!(dispatched(&stack, &order_id).await, "activated");
    assert_eq!(redeliveries(&stack, &order_id), 2);
    assert_eq!(whmcs_orders(&stack, customer.whmcs_client_id), 1);
    assert_eq!(
        stack.field(&order_id, "WHMCS_Order_ID__c"),
        json!(
            world
                .whmcs
                .orders()
                .iter()
                .find(|order| order.client_id == customer.whmcs_client_id)
                .map(|order| order.id.to_string())
                .unwrap()
        )
    );
    stack.assert_no_secrets();
    world.shutdown().await;
}
