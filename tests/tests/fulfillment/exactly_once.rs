//! Exactly once: concurrent calls, a run killed part-way, a failed accept, a hung AddOrder.

use std::time::Duration;

use bridge_proto::fulfillment::v1::{
    FulfillRequest, FulfillmentState, Outcome, StepStatus, Trigger,
};
use fulfillment::orchestrator::CrashPoint;
use sandbox::{
    salesforce::{RestFault, RestTarget},
    whmcs::{Fault, Times},
};
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
        env: vec![
            ("FULFILLMENT_LOCK_TTL", "3s".to_owned()),
            ("WHMCS_ORDER_TIMEOUT", "2s".to_owned()),
        ],
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
    let response = harness
        .fulfill_when_free(&order_id, Trigger::PlatformEvent)
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

    // The hung call's window passes first: until then nobody may search or create.
    let retried = harness
        .fulfill_when_free(&order_id, Trigger::Direct)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_loses_its_lock_during_add_order_never_causes_a_second_order() {
    let harness = Harness::start_with(Setup {
        env: vec![("WHMCS_ORDER_TIMEOUT", "3s".to_owned())],
        ..Setup::default()
    })
    .await;
    let (client_id, order_id) = harness.good_order();
    harness.whmcs.inject(
        "AddOrder",
        Fault::Delay(Duration::from_millis(1500)),
        Times::Once,
    );

    let first = {
        let mut client = harness.raw_client();
        let request = FulfillRequest {
            order_id: order_id.clone(),
            trigger: Trigger::PlatformEvent.into(),
            ..Default::default()
        };
        tokio::spawn(async move { client.fulfill(harness::authorised(request)).await })
    };
    eventually(
        "the AddOrder to be on its way",
        Duration::from_secs(10),
        || async {
            let journal = harness.journal(&order_id).await.ok()?;
            (journal.state() == FulfillmentState::CreatingWhmcsOrder).then_some(())
        },
    )
    .await;
    // The lock vanishes, as after a Redis failover to a replica that never saw it.
    harness
        .redis
        .command(&["DEL", &format!("fulfillment:lock:{order_id}")])
        .expect("DEL");

    let second = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect_err("held off");
    assert_eq!(second.code(), Code::Aborted);
    assert_eq!(
        second.get_details_error_info().expect("ErrorInfo").reason,
        "ADD_ORDER_IN_FLIGHT"
    );

    let first = first
        .await
        .expect("the task ends")
        .expect_err("the first run lost its lock");
    assert_eq!(
        first.get_details_error_info().expect("ErrorInfo").reason,
        "LOCK_LOST"
    );

    let response = harness
        .fulfill_when_free(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");
    assert_eq!(response.outcome(), Outcome::Activated, "{response:?}");
    assert_eq!(
        harness.whmcs_orders_of(client_id).len(),
        1,
        "the first run's order was adopted"
    );
    assert_eq!(harness.whmcs.count("AddOrder"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_cancelled_in_whmcs_is_replaced_on_retry() {
    let harness = Harness::start().await;
    let (client_id, order_id) = harness.good_order();
    harness
        .whmcs
        .inject("AcceptOrder", Fault::Status(503), Times::Once);
    let failed = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("answers");
    assert_eq!(failed.outcome(), Outcome::Failed);
    let cancelled = failed.whmcs_order_id.clone();

    whmcs_client(&harness)
        .call(
            "CancelOrder",
            &[("orderid".to_owned(), cancelled.clone())],
            Duration::from_secs(5),
        )
        .await
        .expect("the operator cancels the WHMCS order");
    harness
        .salesforce
        .retry_order(&order_id)
        .expect("the retry action runs");
    let retried = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("answers");

    assert_eq!(retried.outcome(), Outcome::Activated, "{retried:?}");
    assert_ne!(retried.whmcs_order_id, cancelled, "a new WHMCS order");
    let orders = harness.whmcs_orders_of(client_id);
    assert_eq!(
        orders
            .iter()
            .filter(|order| order.status == "Active")
            .count(),
        1
    );
    assert_eq!(
        orders
            .iter()
            .filter(|order| order.status == "Cancelled")
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_salesforce_refused_twice_is_written_by_the_next_call() {
    let harness = Harness::start().await;
    let (_, order_id) = harness.good_order();
    let locked = || RestFault::ApiError {
        status: 400,
        error_code: "UNABLE_TO_LOCK_ROW".into(),
        message: "unable to obtain exclusive access to this record".into(),
    };
    // The success write and then the Failed write are both refused.
    harness.salesforce.inject(
        RestTarget::PatchOrder,
        locked(),
        sandbox::salesforce::Times::Times(2),
    );

    let response = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("answers");
    assert_eq!(response.outcome(), Outcome::Failed);
    assert!(!response.salesforce_updated);
    assert_eq!(
        harness.field(&order_id, "Activation_Status__c"),
        json!("Activating")
    );
    assert!(
        !harness
            .journal(&order_id)
            .await
            .expect("journal")
            .salesforce_updated
    );

    let settled = harness
        .fulfill(&order_id, Trigger::Direct)
        .await
        .expect("answers");
    assert_eq!(
        settled.outcome(),
        Outcome::Activated,
        "the owed outcome is Activated: {settled:?}"
    );
    assert_eq!(
        harness.field(&order_id, "Activation_Status__c"),
        json!("Activated")
    );
    assert_eq!(
        harness.field(&order_id, "WHMCS_Order_ID__c"),
        json!(response.whmcs_order_id)
    );
    assert_eq!(harness.whmcs.count("AddOrder"), 1);
    assert_eq!(harness.whmcs.count("AcceptOrder"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_event_runs_afresh_instead_of_replaying_an_unwritten_failure() {
    let harness = Harness::start().await;
    let (client_id, order_id) = harness.good_order();
    harness
        .whmcs
        .inject("AddOrder", Fault::Status(503), Times::Once);
    harness.salesforce.inject(
        RestTarget::PatchOrder,
        RestFault::Html(503),
        sandbox::salesforce::Times::Once,
    );

    let failed = harness
        .fulfill_event(&order_id, Trigger::PlatformEvent, "event-1")
        .await
        .expect("answers");
    assert_eq!(failed.error.as_ref().map(|e| e.code.as_str()), Some("503"));
    assert!(!failed.salesforce_updated);

    let retried = harness
        .fulfill_event(&order_id, Trigger::PlatformEvent, "event-2")
        .await
        .expect("answers");
    assert_eq!(retried.outcome(), Outcome::Activated, "{retried:?}");
    assert_eq!(harness.whmcs_orders_of(client_id).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_add_order_that_whmcs_finishes_long_after_its_deadline_is_waited_for_not_doubled() {
    // WHMCS finishes the order 6 s after a 1 s deadline: later than a fixed few seconds'
    // margin would wait, within the configured settle time.
    let harness = Harness::start_with(Setup {
        env: vec![
            ("WHMCS_ORDER_TIMEOUT", "1s".to_owned()),
            ("WHMCS_ORDER_SETTLE", "8s".to_owned()),
        ],
        ..Setup::default()
    })
    .await;
    let (client_id, order_id) = harness.good_order();
    harness.whmcs.inject(
        "AddOrder",
        Fault::LateCommit(Duration::from_secs(6)),
        Times::Once,
    );

    let failed = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");
    assert_eq!(
        failed.error.as_ref().map(|e| e.code.as_str()),
        Some("ETIMEOUT")
    );
    assert!(harness.whmcs_orders_of(client_id).is_empty());

    let held = harness
        .fulfill(&order_id, Trigger::Direct)
        .await
        .expect_err("held off while WHMCS may still be working");
    let info = held.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "ADD_ORDER_IN_FLIGHT");
    let wait_ms: u64 = info.metadata["retry_after_ms"].parse().expect("a number");
    assert!(
        wait_ms > 6_000,
        "the window covers the settle time: {wait_ms} ms"
    );

    let retried = harness
        .fulfill_when_free(&order_id, Trigger::Direct)
        .await
        .expect("Fulfill answers");
    assert_eq!(retried.outcome(), Outcome::Activated, "{retried:?}");
    let orders = harness.whmcs_orders_of(client_id);
    assert_eq!(orders.len(), 1, "the late order was adopted: {orders:?}");
    assert_eq!(retried.whmcs_order_id, orders[0].id.to_string());
    assert_eq!(harness.whmcs.count("AddOrder"), 1);
}
