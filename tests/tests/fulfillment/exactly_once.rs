//! Exactly once: concurrent calls, a run killed part-way, a failed accept, a hung AddOrder.

use std::time::Duration;

use bridge_proto::fulfillment::v1::{
    FulfillRequest, FulfillmentState, Outcome, StepStatus, Trigger,
};
use fulfillment::orchestrator::CrashPoint;
use sandbox::whmcs::{Fault, Times};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;

use crate::{
    harness::{self, Harness, Setup, crash_once, eventually},
    step_status,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_calls_create_exactly_one_whmcs_order() {
    let harness = Harness::start().await;
    let (client_id, order_id) = harness.good_order();

    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let mut client = harness.raw_client();
        let request = FulfillRequest {
            order_id: order_id.clone(),
            trigger: Trigger::PlatformEvent.into(),
            ..Default::default()
        };
        calls.spawn(async move {
            client
                .fulfill(harness::authorised(request))
                .await
                .map(tonic::Response::into_inner)
        });
    }
    let answers = calls.join_all().await;

    let mut activated = 0;
    for answer in &answers {
        match answer {
            Ok(response) => {
                assert!(
                    matches!(
                        response.outcome(),
                        Outcome::Activated | Outcome::AlreadyActivated
                    ),
                    "{response:?}"
                );
                if response.outcome() == Outcome::Activated {
                    activated += 1;
                }
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Aborted, "{status:?}");
                let info = status.get_details_error_info().expect("an ErrorInfo");
                assert_eq!(info.reason, "ALREADY_IN_PROGRESS");
            }
        }
    }
    assert_eq!(activated, 1, "exactly one run activates the Order");
    assert_eq!(harness.whmcs_orders_of(client_id).len(), 1);
    assert_eq!(harness.whmcs.count("AddOrder"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_after_add_order_is_completed_by_the_next_call_without_a_second_order() {
    let harness = Harness::start_with(Setup {
        env: vec![("FULFILLMENT_LOCK_TTL", "3s".to_owned())],
        crash_hook: Some(crash_once(CrashPoint::AfterAddOrder)),
        ..Setup::default()
    })
    .await;
    let (client_id, order_id) = harness.good_order();

    let crashed = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect_err("the run dies");
    assert_eq!(crashed.code(), Code::Aborted);
    assert_eq!(
        harness.whmcs_orders_of(client_id).len(),
        1,
        "AddOrder went through before the crash"
    );
    let journal = harness.journal(&order_id).await.expect("a journal");
    assert_eq!(
        journal.state(),
        FulfillmentState::CreatingWhmcsOrder,
        "the result was never journaled"
    );

    // The dead run's lock expires on its own; until then the Order is in progress.
    let response = eventually("the lock to expire", Duration::from_secs(10), || async {
        match harness.fulfill(&order_id, Trigger::PlatformEvent).await {
            Err(status) if status.code() == Code::Aborted => None,
            other => Some(other),
        }
    })
    .await
    .expect("Fulfill answers");

    assert_eq!(response.outcome(), Outcome::Activated, "{response:?}");
    let orders = harness.whmcs_orders_of(client_id);
    assert_eq!(orders.len(), 1, "the order was adopted, not created again");
    assert_eq!(harness.whmcs.count("AddOrder"), 1);
    assert_eq!(response.whmcs_order_id, orders[0].id.to_string());
    assert_eq!(
        harness.field(&order_id, "WHMCS_Order_ID__c"),
        json!(orders[0].id.to_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_failed_at_accept_resumes_at_accept_on_retry() {
    let harness = Harness::start().await;
    let (client_id, order_id) = harness.good_order();
    harness
        .whmcs
        .inject("AcceptOrder", Fault::Status(503), Times::Once);

    let failed = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");
    assert_eq!(failed.outcome(), Outcome::Failed);
    assert_eq!(
        failed.error.as_ref().map(|e| e.step.as_str()),
        Some("whmcs_accept")
    );
    assert_eq!(
        harness.field(&order_id, "Activation_Status__c"),
        json!("Failed")
    );

    // A replayed platform event does not re-run a Failed Order on its own.
    let refused = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect_err("the guard refuses");
    assert_eq!(refused.code(), Code::FailedPrecondition);

    // The operator's "Provision / Retry" sets Activating again and publishes.
    harness
        .salesforce
        .retry_order(&order_id)
        .expect("the retry action runs");
    let retried = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");

    assert_eq!(retried.outcome(), Outcome::Activated, "{retried:?}");
    assert_eq!(step_status(&retried, "whmcs_create"), StepStatus::Skipped);
    assert_eq!(step_status(&retried, "whmcs_accept"), StepStatus::Succeeded);
    assert_eq!(harness.whmcs.count("AddOrder"), 1);
    assert_eq!(harness.whmcs_orders_of(client_id).len(), 1);
    assert_eq!(
        harness
            .journal(&order_id)
            .await
            .expect("a journal")
            .attempts,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_created_by_a_hung_add_order_is_found_on_a_later_page_and_adopted() {
    let harness = Harness::start_with(Setup {
        env: vec![("WHMCS_ORDER_TIMEOUT", "1s".to_owned())],
        ..Setup::default()
    })
    .await;
    let (client_id, order_id) = harness.good_order();
    harness
        .whmcs
        .inject("AddOrder", Fault::CommitThenHang, Times::Once);

    let failed = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");
    assert_eq!(
        failed.error.as_ref().map(|e| e.code.as_str()),
        Some("ETIMEOUT")
    );
    assert_eq!(
        harness.whmcs_orders_of(client_id).len(),
        1,
        "WHMCS committed the order before hanging"
    );

    // More than a page of newer orders for the same client pushes ours off the first page.
    let client = whmcs_client(&harness);
    let product = harness
        .whmcs
        .add_product(sandbox::whmcs::NewProduct::default());
    for _ in 0..120 {
        client
            .add_order(
                client_id,
                "stripe",
                &[fulfillment::whmcs::OrderLine {
                    pid: product,
                    billing_cycle: "monthly",
                }],
                "other",
                deadlines(),
            )
            .await
            .expect("a filler order");
    }

    let retried = harness
        .fulfill(&order_id, Trigger::Direct)
        .await
        .expect("Fulfill answers");
    assert_eq!(retried.outcome(), Outcome::Activated, "{retried:?}");
    let ours: Vec<_> = harness
        .whmcs_orders_of(client_id)
        .into_iter()
        .filter(|order| order.notes.contains(&order_id))
        .collect();
    assert_eq!(ours.len(), 1, "one WHMCS order carries this Order's marker");
    assert_eq!(retried.whmcs_order_id, ours[0].id.to_string());
    assert!(
        harness.whmcs.count("GetOrders") >= 2,
        "the search went past the first page"
    );
}

fn whmcs_client(harness: &Harness) -> fulfillment::whmcs::WhmcsClient {
    fulfillment::whmcs::WhmcsClient::new(
        harness.whmcs.api_url().parse().expect("a URL"),
        fulfillment::whmcs::WhmcsCredentials::ApiCredential {
            identifier: harness.whmcs.identifier().into(),
            secret: harness.whmcs.secret().into(),
        },
        None,
        Duration::from_secs(5),
    )
    .expect("a client")
}

fn deadlines() -> fulfillment::whmcs::Deadlines {
    fulfillment::whmcs::Deadlines {
        call: Duration::from_secs(5),
        order: Duration::from_secs(5),
    }
}
