//! Arming one case's fault on the emulators, scoped to that case's Order, WHMCS client or
//! product so that the other cases running at the same time pass untouched, and counting how
//! often the faulted call was made.

use std::{sync::Arc, time::Duration};

use sandbox::{
    demo::world::World,
    salesforce::{RecordedRequest, RequestFilter, RestFault, RestTarget, Times as SfTimes},
    whmcs::{Fault as WhmcsFault, Scope, Times},
};
use serde_json::Value;

use crate::{
    matrix::{Call, Fault},
    stack::UPSTREAM_TIMEOUT_SECS,
};

/// Long enough to outlast any deadline: a held call ends when the emulator shuts down.
const HOLD: Duration = Duration::from_secs(600);

/// When WHMCS does the work of a call whose caller gave up: after the deadline, within the
/// in-flight window (the deadline plus `WHMCS_ORDER_SETTLE`, 5 s here) during which no run may
/// search for or create the order. Work WHMCS finishes after that window is not waited for, so
/// a retry in between would create a second order: in production the settle time is set to
/// outlast the longest WHMCS request. Nothing here finishes that late.
const LATE: Duration = Duration::from_secs(UPSTREAM_TIMEOUT_SECS + 2);

/// What one case's fault is scoped to.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The 18-character Order id.
    pub(crate) order_id: String,
    /// The WHMCS client of the Order's Account.
    pub(crate) client_id: u64,
    /// The WHMCS product of the Order's one item.
    pub(crate) pid: u64,
}

/// The Salesforce request kind and filter a call's fault applies to; `None` for WHMCS calls.
fn salesforce_scope(call: Call, order_id: &str) -> Option<(RestTarget, Option<RequestFilter>)> {
    let id = order_id.to_owned();
    let soql_names_order = move |request: &RecordedRequest, details: bool| {
        request.soql.as_deref().is_some_and(|soql| {
            soql.contains(&format!("'{id}'")) && soql.contains("OrderItems") == details
        })
    };
    let writes = |status: &'static str| -> Option<(RestTarget, Option<RequestFilter>)> {
        let id = order_id.to_owned();
        let filter: RequestFilter = Arc::new(move |request: &RecordedRequest| {
            request.path.ends_with(&format!("/Order/{id}"))
                && request
                    .body
                    .as_ref()
                    .and_then(|body| body.get("Activation_Status__c"))
                    .and_then(Value::as_str)
                    == Some(status)
        });
        Some((RestTarget::PatchOrder, Some(filter)))
    };
    match call {
        // The token request names no Order: its cases run alone.
        Call::Token => Some((RestTarget::Token, None)),
        Call::GuardQuery => {
            let filter: RequestFilter = Arc::new(move |r| soql_names_order(r, false));
            Some((RestTarget::Query, Some(filter)))
        }
        Call::DetailsQuery => {
            let filter: RequestFilter = Arc::new(move |r| soql_names_order(r, true));
            Some((RestTarget::Query, Some(filter)))
        }
        Call::PatchActivating => writes("Activating"),
        Call::PatchActivated => writes("Activated"),
        Call::PatchFailed => writes("Failed"),
        _ => None,
    }
}

fn salesforce_fault(fault: Fault) -> RestFault {
    match fault {
        Fault::Status503 => RestFault::Html(503),
        Fault::Status429 => RestFault::Html(429),
        // Salesforce has no late work: a PATCH is applied or not, here not.
        Fault::Timeout | Fault::TimeoutBeforeWork | Fault::LateWork => RestFault::Hang,
        Fault::Reset => RestFault::Reset,
        Fault::ProxyPage502 => RestFault::Html(502),
        Fault::HtmlPage200 => RestFault::Html(200),
        Fault::MalformedJson => RestFault::MalformedJson,
    }
}

fn whmcs_fault(call: Call, fault: Fault) -> WhmcsFault {
    let writes = matches!(call, Call::AddOrder | Call::AcceptOrder);
    match fault {
        Fault::Status503 => WhmcsFault::Status(503),
        Fault::Status429 => WhmcsFault::Status(429),
        Fault::Timeout if writes => WhmcsFault::CommitThenHang,
        Fault::Timeout | Fault::TimeoutBeforeWork => WhmcsFault::Delay(HOLD),
        Fault::LateWork => WhmcsFault::LateCommit(LATE),
        Fault::Reset => WhmcsFault::Reset,
        Fault::ProxyPage502 => WhmcsFault::Status(502),
        Fault::HtmlPage200 => WhmcsFault::PhpWarningNoJson,
        Fault::MalformedJson => WhmcsFault::MalformedJson,
    }
}

fn whmcs_scope(call: Call, target: &Target) -> Scope {
    if call == Call::Products {
        Scope::Product(target.pid)
    } else {
        Scope::Client(target.client_id)
    }
}

/// Arms `fault` for the next `call` of the case's Order, once.
pub(crate) fn arm(world: &World, call: Call, fault: Fault, target: &Target) {
    if let Some((kind, filter)) = salesforce_scope(call, &target.order_id) {
        let fault = salesforce_fault(fault);
        match filter {
            Some(filter) => world
                .salesforce
                .inject_matching(kind, filter, fault, SfTimes::Once),
            None => world.salesforce.inject(kind, fault, SfTimes::Once),
        }
    } else if let Some(action) = call.whmcs_action() {
        world.whmcs.inject_scoped(
            action,
            whmcs_scope(call, target),
            whmcs_fault(call, fault),
            Times::Once,
        );
    }
}

/// How many times `call` was made for the case so far (for the token: in the whole org).
pub(crate) fn attempts(world: &World, call: Call, target: &Target) -> usize {
    if let Some((kind, filter)) = salesforce_scope(call, &target.order_id) {
        let kind_matches = |request: &RecordedRequest| match kind {
            RestTarget::Token => request.path == "/services/oauth2/token",
            RestTarget::Query => request.method == "GET" && request.soql.is_some(),
            RestTarget::PatchOrder => request.method == "PATCH",
            RestTarget::Any => true,
        };
        return world
            .salesforce
            .requests()
            .iter()
            .filter(|request| kind_matches(request) && filter.as_ref().is_none_or(|f| f(request)))
            .count();
    }
    let Some(action) = call.whmcs_action() else {
        return 0;
    };
    let action = action.to_ascii_lowercase();
    let orders: Vec<String> = world
        .whmcs
        .orders()
        .iter()
        .filter(|order| order.client_id == target.client_id)
        .map(|order| order.id.to_string())
        .collect();
    let client = target.client_id.to_string();
    world
        .whmcs
        .calls()
        .iter()
        .filter(|recorded| recorded.action == action)
        .filter(|recorded| {
            let param = |name: &str| recorded.params.get(name).map(String::as_str);
            match call {
                Call::Products => param("pid").is_some_and(|pids| {
                    pids.split(',')
                        .any(|pid| pid.trim() == target.pid.to_string())
                }),
                Call::AcceptOrder => {
                    param("orderid").is_some_and(|id| orders.iter().any(|order| order == id))
                }
                _ => param("clientid").or(param("userid")) == Some(client.as_str()),
            }
        })
        .count()
}
