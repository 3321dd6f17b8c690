//! The runbook's "Common Symptoms and Fixes", each reproduced and fixed as the runbook says.

use std::time::Duration;

use bridge_runtime::{
    config::SalesforceSettings,
    salesforce::{JwtBearer, RestClient, SalesforceId},
};
use sandbox::{
    demo::world::{CLIENT_ID, USERNAME},
    salesforce::{RestFault, RestTarget, Times},
};
use serde_json::{Value, json};

use crate::stack::{Stack, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_events_are_received_while_events_are_disabled() {
    let mut stack = Stack::start(Some(&[("SF_EVENTS_ENABLED", "false")])).await;
    let (_, order_id) = stack.vps_order("Acme", true);
    stack
        .world
        .salesforce
        .approve_order(&order_id)
        .expect("the Flow runs");

    let ingest = stack.ingest.as_ref().unwrap();
    tokio::task::block_in_place(|| {
        ingest.wait_for_log(
            "Platform events are disabled (SF_EVENTS_ENABLED=false); subscribing to nothing",
            stack::WAIT,
        )
    })
    .expect("ingest says so");
    let (_, health) = Stack::health(&stack.ingest_http);
    assert_eq!(health["integrations"]["salesforce"]["status"], "disabled");
    assert_eq!(stack.world.pubsub.streams_opened(), 0);
    assert_eq!(
        stack.field(&order_id, "Activation_Status__c"),
        json!("Activating"),
        "nothing happened"
    );

    // The fix: SF_EVENTS_ENABLED=true; a one-time backfill picks up what was published meanwhile.
    stack
        .start_ingest(&[("SF_EVENTS_ENABLED", "true"), ("SF_EVENTS_REPLAY", "ALL")])
        .await;
    let ingest = stack.ingest.as_ref().unwrap();
    tokio::task::block_in_place(|| {
        ingest.wait_for_log("Subscribed: starting from a replay preset", stack::WAIT)
    })
    .expect("subscribed");
    stack.wait_status(&order_id, "Activated").await;
}

use crate::stack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_do_not_advance_while_redis_is_down_and_recover_after() {
    let mut stack = Stack::start(Some(&[])).await;
    stack.wait_subscribed().await;
    let (_, first) = stack.vps_order("Acme", true);
    stack
        .world
        .salesforce
        .approve_order(&first)
        .expect("the Flow runs");
    stack.wait_status(&first, "Activated").await;
    let cursor_key = "sf:pe:replay:/event/OrderProvisionRequested__e";
    let before = eventually("a stored cursor", || async {
        let reply = stack.redis.command(&["GET", cursor_key]).ok()?;
        (!reply.starts_with(b"$-1")).then_some(reply)
    })
    .await;

    stack.redis.kill();
    let (_, second) = stack.vps_order("Globex", true);
    stack
        .world
        .salesforce
        .approve_order(&second)
        .expect("the Flow runs");
    eventually("/health to report Redis down", || async {
        let (status, health) = Stack::health(&stack.fulfillment_http);
        (status == 503 && health["integrations"]["redis"]["status"] == "down").then_some(())
    })
    .await;
    let (status, _) = Stack::health(&stack.ingest_http);
    assert_eq!(status, 503);
    assert_eq!(
        stack.field(&second, "Activation_Status__c"),
        json!("Activating"),
        "waits, not Failed"
    );

    stack.redis.restart().expect("Redis comes back");
    stack.wait_status(&second, "Activated").await;
    let after = eventually("the cursor to advance", || async {
        let reply = stack.redis.command(&["GET", cursor_key]).ok()?;
        (reply != before).then_some(reply)
    })
    .await;
    assert!(!after.starts_with(b"$-1"));
    let (status, _) = Stack::health(&stack.fulfillment_http);
    assert_eq!(status, 200);
    let _ = &mut stack;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_method_missing_is_409_until_the_customer_adds_one() {
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
    assert_eq!(
        stack.field(&order_id, "Activation_Error_Message__c"),
        json!("Payment method missing")
    );
    assert_eq!(stack.world.whmcs.count("AddOrder"), 0);

    stack
        .world
        .whmcs
        .add_pay_method(customer.whmcs_client_id, "stripe");
    stack
        .world
        .salesforce
        .retry_order(&order_id)
        .expect("retry");
    stack.wait_status(&order_id, "Activated").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_product_mappings_are_reported_and_fixing_them_lets_a_retry_through() {
    let stack = Stack::start(Some(&[])).await;
    stack.wait_subscribed().await;
    let customer = stack.world.customer("Umbrella", true);
    let mapped = stack.world.offering("VPS Small", "Monthly");
    let unmapped = stack.world.unmapped_product("Dedicated Server L");
    let order_id = stack.world.order(
        &customer.account_id,
        &[(&mapped.product_id, 1.0), (&unmapped, 1.0)],
    );
    stack
        .world
        .salesforce
        .approve_order(&order_id)
        .expect("the Flow runs");

    stack.wait_status(&order_id, "Failed").await;
    assert_eq!(
        stack.field(&order_id, "Activation_Error_Code__c"),
        json!("MAPPING_MISSING")
    );
    let report = Stack::logs(&stack.fulfillment)
        .into_iter()
        .find(|line| {
            line["message"] == "Item mapping report" && line.to_string().contains(&order_id)
        })
        .expect("the item mapping report is logged");
    assert!(
        report["report"]
            .as_str()
            .unwrap()
            .contains("Dedicated Server L -> unmapped: Product2.WH_Product_ID__c is not set")
    );
    assert_eq!(
        stack.world.whmcs.count("AddOrder"),
        0,
        "nothing was created"
    );

    // The fix: map the product (as an admin would in Salesforce), then retry.
    let pid = stack
        .world
        .whmcs
        .add_product(sandbox::whmcs::NewProduct::default());
    admin_rest(&stack)
        .update(
            "Product2",
            &SalesforceId::parse(&unmapped).unwrap(),
            &json!({"WH_Product_ID__c": pid.to_string()}),
        )
        .await
        .expect("the mapping is fixed");
    stack
        .world
        .salesforce
        .retry_order(&order_id)
        .expect("retry");
    stack.wait_status(&order_id, "Activated").await;
}

/// A REST client logged in as the integration user, standing in for an admin's edit.
fn admin_rest(stack: &Stack) -> RestClient {
    let settings = SalesforceSettings {
        login_url: stack.world.salesforce.url().parse().unwrap(),
        client_id: CLIENT_ID.to_owned(),
        username: USERNAME.to_owned(),
        private_key_path: stack.world.key_path.clone(),
        audience: "https://login.salesforce.com".to_owned(),
        api_version: "66.0".to_owned(),
        http_timeout: Duration::from_secs(5),
    };
    let http = bridge_runtime::http_client::build_client(Duration::from_secs(5)).unwrap();
    RestClient::new(
        std::sync::Arc::new(JwtBearer::with_http(settings, http.clone())),
        http,
        "66.0",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_salesforce_update_leaves_the_order_to_be_written_once_permissions_are_fixed() {
    let stack = Stack::start(Some(&[])).await;
    stack.wait_subscribed().await;
    let (_, order_id) = stack.vps_order("Acme", true);
    // The API user may not edit the Order: every write is refused.
    stack.world.salesforce.inject(
        RestTarget::PatchOrder,
        RestFault::ApiError {
            status: 400,
            error_code: "INSUFFICIENT_ACCESS_OR_READONLY".into(),
            message: "insufficient access rights on object id".into(),
        },
        Times::Always,
    );
    stack
        .world
        .salesforce
        .approve_order(&order_id)
        .expect("the Flow runs");

    let fulfillment = &stack.fulfillment;
    tokio::task::block_in_place(|| {
        fulfillment.wait_for_log(
            "Could not mark the Order Failed in Salesforce; the next Fulfill retries the write",
            stack::WAIT,
        )
    })
    .expect("the refused write is logged at error level");
    assert_eq!(
        stack.field(&order_id, "Activation_Status__c"),
        json!("Activating"),
        "Salesforce status not updated"
    );
    let marker = format!("Salesforce Order {order_id}");
    assert_eq!(
        stack
            .world
            .whmcs
            .orders()
            .iter()
            .filter(|o| o.notes.contains(&marker))
            .count(),
        1,
        "WHMCS is done"
    );

    // The fix: the permission set grants Order edit; the next Fulfill (here, the operator's
    // direct call) only writes the outcome.
    stack.world.salesforce.clear_faults();
    let client = bridge_proto::fulfillment::v1::fulfillment_service_client::FulfillmentServiceClient::connect(format!(
        "http://{}",
        stack.fulfillment_grpc
    ))
    .await
    .unwrap();
    let token = std::fs::read_to_string(&stack.world.tokens_path)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("portal:").map(str::to_owned))
        .unwrap();
    // The run that logged the refusal may still hold the Order's lock for a moment.
    let response = eventually("the Order's lock to be free", || {
        let mut client = client.clone();
        let token = token.clone();
        let order_id = order_id.clone();
        async move {
            let mut request = tonic::Request::new(bridge_proto::fulfillment::v1::FulfillRequest {
                order_id,
                trigger: bridge_proto::fulfillment::v1::Trigger::Direct.into(),
                ..Default::default()
            });
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
            match client.fulfill(request).await {
                Err(status) if status.code() == tonic::Code::Aborted => None,
                other => Some(other.expect("Fulfill answers").into_inner()),
            }
        }
    })
    .await;
    assert!(response.salesforce_updated);
    assert_eq!(
        stack.field(&order_id, "Activation_Status__c"),
        json!("Activated")
    );
    assert_ne!(stack.field(&order_id, "WHMCS_Order_ID__c"), Value::Null);
    assert_eq!(stack.world.whmcs.count("AddOrder"), 1);
    stack.assert_no_secrets();
}
