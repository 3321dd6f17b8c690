//! The one runner every case goes through: a fresh customer, product and Order; the fault
//! armed; the run that meets it, checked against the case's expected outcome; then the fault
//! gone, the delivery or retry an operator's runbook prescribes, and the Order `Activated` with
//! exactly one WHMCS order.

use bridge_proto::fulfillment::v1::{FulfillResponse, FulfillmentState, Outcome, Trigger};
use serde_json::{Value, json};
use tonic::Code;

use crate::{
    inject::{self, Target},
    matrix::{Call, Case, Reach},
    stack::{Stack, reason},
};

/// A failed expectation: what was expected and what happened.
type Failure = String;

/// Fails with `expected` and `actual` when they differ.
fn expect_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    expected: T,
    actual: T,
) -> Result<(), Failure> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, actual {actual:?}"))
    }
}

/// Runs one case; the code observed (on the Order, or in `/health`) when every expectation
/// held, else what did not.
pub(crate) async fn run(stack: &Stack, index: usize, case: Case) -> Result<String, Failure> {
    let world = &stack.world;
    let name = format!("Case{index}");
    let customer = world.customer(&name, case.call != Call::PatchFailed);
    let offering = world.offering(&format!("{name} VPS"), "Monthly");
    let order_id = world.order(&customer.account_id, &[(&offering.product_id, 1.0)]);
    let target = Target {
        order_id: order_id.clone(),
        client_id: customer.whmcs_client_id,
        pid: offering.whmcs_pid,
    };

    // The Activating write happens only for an Order that is not Activating yet: an Order a
    // script fulfils directly without approving it first.
    let event_uuid = if case.call == Call::PatchActivating {
        String::new()
    } else {
        world
            .salesforce
            .approve_order(&order_id)
            .map_err(|err| format!("the Flow: {err}"))?
            .event_uuid
    };
    let trigger = if event_uuid.is_empty() {
        Trigger::Direct
    } else {
        Trigger::PlatformEvent
    };
    if case.call == Call::Token {
        world.salesforce.expire_sessions();
    }
    let attempts_before = inject::attempts(world, case.call, &target);
    inject::arm(world, case.call, case.fault, &target);

    let first = stack
        .fulfillment
        .fulfill(&order_id, trigger, &event_uuid)
        .await;
    let observed = match case.call.reach() {
        Reach::Order(step) => failed_on_the_order(stack, case, &order_id, step, first).await?,
        Reach::Unavailable(expected_reason) => {
            let status = match first {
                Ok(response) => {
                    return Err(format!("an answer instead of UNAVAILABLE: {response:?}"));
                }
                Err(status) => status,
            };
            expect_eq("gRPC code", Code::Unavailable, status.code())?;
            expect_eq(
                "ErrorInfo reason",
                expected_reason,
                reason(&status).as_str(),
            )?;
            let journal = stack.fulfillment.journal(&order_id).await;
            expect_eq(
                "GetFulfillment (nothing was run)",
                Some(Code::NotFound),
                journal.err().map(|status| status.code()),
            )?;
            expect_eq(
                "Activation_Status__c",
                json!("Activating"),
                stack.field(&order_id, "Activation_Status__c"),
            )?;
            health_code(stack, case)?
        }
        Reach::Unwritten => {
            let response =
                first.map_err(|status| format!("an error instead of an answer: {status:?}"))?;
            expect_eq("outcome", Outcome::Failed, response.outcome())?;
            expect_eq("salesforce_updated", false, response.salesforce_updated)?;
            expect_eq("error code", Some("409"), error_code(&response))?;
            let journal = stack
                .fulfillment
                .journal(&order_id)
                .await
                .map_err(|status| format!("GetFulfillment: {status:?}"))?;
            expect_eq("journal state", FulfillmentState::Failed, journal.state())?;
            expect_eq(
                "journal salesforceUpdated",
                false,
                journal.salesforce_updated,
            )?;
            expect_eq(
                "Activation_Status__c (the write failed)",
                json!("Activating"),
                stack.field(&order_id, "Activation_Status__c"),
            )?;
            health_code(stack, case)?
        }
    };
    expect_eq(
        "attempts of the faulted call (nothing is retried)",
        1,
        inject::attempts(world, case.call, &target) - attempts_before,
    )?;
    if let Some(expected) = case.orders_after_failure() {
        expect_eq(
            "WHMCS orders after the failed run",
            expected,
            orders_of(stack, customer.whmcs_client_id).len(),
        )?;
    }

    // The fault is gone (it was armed once); what the runbook says to do next.
    let finished = match case.call.reach() {
        Reach::Unavailable(_) => {
            // ingest delivers the same event again after UNAVAILABLE.
            stack
                .fulfillment
                .fulfill_when_free(&order_id, Trigger::PlatformEvent, &event_uuid)
                .await
        }
        Reach::Unwritten => {
            // "Salesforce status not updated": one Fulfill without an event writes the
            // recorded outcome; then the customer adds a pay method and the operator retries.
            let written = stack
                .fulfillment
                .fulfill_when_free(&order_id, Trigger::Direct, "")
                .await
                .map_err(|status| format!("the write's retry: {status:?}"))?;
            expect_eq(
                "outcome of the write's retry",
                Outcome::Failed,
                written.outcome(),
            )?;
            expect_eq(
                "salesforce_updated of the write's retry",
                true,
                written.salesforce_updated,
            )?;
            expect_eq(
                "Activation_Error_Code__c after the write's retry",
                json!("409"),
                stack.field(&order_id, "Activation_Error_Code__c"),
            )?;
            world
                .whmcs
                .add_pay_method(customer.whmcs_client_id, "stripe");
            retry(stack, &order_id).await?
        }
        Reach::Order(_) => retry(stack, &order_id).await?,
    };
    let finished = finished.map_err(|status| format!("the retry: {status:?}"))?;
    activated_once(stack, &order_id, customer.whmcs_client_id, &finished)?;
    expect_eq(
        "AddOrder calls (an order WHMCS made is adopted, not made again)",
        case.add_order_calls(),
        inject::attempts(world, Call::AddOrder, &target),
    )?;
    Ok(observed)
}

/// "Provision / Retry" on the Failed Order, and its event delivered.
async fn retry(
    stack: &Stack,
    order_id: &str,
) -> Result<Result<FulfillResponse, tonic::Status>, Failure> {
    let event = stack
        .world
        .salesforce
        .retry_order(order_id)
        .map_err(|err| format!("Provision / Retry: {err}"))?;
    Ok(stack
        .fulfillment
        .fulfill_when_free(order_id, Trigger::PlatformEvent, &event.event_uuid)
        .await)
}

/// The first run failed at `step` with the fault's code, and the Order, the answer and the
/// journal all say so.
async fn failed_on_the_order(
    stack: &Stack,
    case: Case,
    order_id: &str,
    step: &str,
    first: Result<FulfillResponse, tonic::Status>,
) -> Result<String, Failure> {
    let response = first.map_err(|status| format!("an error instead of an answer: {status:?}"))?;
    let on_order = stack.field(order_id, "Activation_Error_Code__c");
    let observed = on_order.as_str().unwrap_or("(none)").to_owned();
    expect_eq(
        "Activation_Error_Code__c",
        json!(case.fault.code()),
        on_order,
    )?;
    expect_eq("outcome", Outcome::Failed, response.outcome())?;
    expect_eq(
        "failed step",
        Some(step),
        response.error.as_ref().map(|error| error.step.as_str()),
    )?;
    expect_eq("salesforce_updated", true, response.salesforce_updated)?;
    expect_eq(
        "Activation_Status__c",
        json!("Failed"),
        stack.field(order_id, "Activation_Status__c"),
    )?;
    let message = stack.field(order_id, "Activation_Error_Message__c");
    if message.as_str().is_none_or(str::is_empty) {
        return Err(format!("Activation_Error_Message__c is empty: {message}"));
    }
    let journal = stack
        .fulfillment
        .journal(order_id)
        .await
        .map_err(|status| format!("GetFulfillment: {status:?}"))?;
    expect_eq("journal state", FulfillmentState::Failed, journal.state())?;
    expect_eq(
        "journal error code",
        Some(case.fault.code()),
        journal.last_error.as_ref().map(|error| error.code.as_str()),
    )?;
    Ok(observed)
}

/// The code `/health` shows for the last Salesforce call, which must be the fault's.
fn health_code(stack: &Stack, case: Case) -> Result<String, Failure> {
    let health = stack.fulfillment.health();
    let salesforce = &health["integrations"]["salesforce"];
    let observed = salesforce["last_error_code"]
        .as_str()
        .unwrap_or("(none)")
        .to_owned();
    expect_eq(
        "/health salesforce status",
        "error",
        salesforce["status"].as_str().unwrap_or(""),
    )?;
    expect_eq(
        "/health last_error_code",
        case.fault.code(),
        observed.as_str(),
    )?;
    Ok(observed)
}

fn error_code(response: &FulfillResponse) -> Option<&str> {
    response.error.as_ref().map(|error| error.code.as_str())
}

fn orders_of(stack: &Stack, client_id: u64) -> Vec<sandbox::whmcs::OrderRecord> {
    stack
        .world
        .whmcs
        .orders()
        .into_iter()
        .filter(|order| order.client_id == client_id)
        .collect()
}

/// The Order is `Activated` with the one WHMCS order its client has, which is Active and
/// carries the Order's marker.
fn activated_once(
    stack: &Stack,
    order_id: &str,
    client_id: u64,
    finished: &FulfillResponse,
) -> Result<(), Failure> {
    expect_eq(
        "outcome after the retry",
        Outcome::Activated,
        finished.outcome(),
    )?;
    let orders = orders_of(stack, client_id);
    let [order] = orders.as_slice() else {
        return Err(format!(
            "exactly one WHMCS order expected, the client has {}: {orders:?}",
            orders.len()
        ));
    };
    expect_eq("WHMCS order status", "Active", order.status.as_str())?;
    if !order
        .notes
        .contains(&format!("Salesforce Order {order_id}"))
    {
        return Err(format!(
            "the WHMCS order lacks the marker: {:?}",
            order.notes
        ));
    }
    expect_eq(
        "Activation_Status__c after the retry",
        json!("Activated"),
        stack.field(order_id, "Activation_Status__c"),
    )?;
    expect_eq(
        "WHMCS_Order_ID__c",
        json!(order.id.to_string()),
        stack.field(order_id, "WHMCS_Order_ID__c"),
    )?;
    expect_eq(
        "whmcs_order_id answered",
        order.id.to_string(),
        finished.whmcs_order_id.clone(),
    )?;
    expect_eq(
        "Activation_Error_Code__c after the retry",
        Value::Null,
        stack.field(order_id, "Activation_Error_Code__c"),
    )
}
