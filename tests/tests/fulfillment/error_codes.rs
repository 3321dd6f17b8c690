//! Every error code of the runbook's table, each produced by the fault that causes it.

use std::time::Duration;

use bridge_proto::fulfillment::v1::{Outcome, Trigger};
use sandbox::{
    salesforce::{RestFault, RestTarget},
    whmcs::{Fault, Times},
};
use serde_json::json;

use crate::harness::{Harness, Setup};

/// One fault and the code and step it must produce.
struct Case {
    name: &'static str,
    prepare: fn(&Harness) -> String,
    code: &'static str,
    message: &'static str,
    creates_order: bool,
}

fn no_pay_method(h: &Harness) -> String {
    let (_, account) = h.customer(false);
    let product = h.product("Monthly");
    h.approved_order(&account, &[(&product, 1.0)])
}

fn unmapped_item(h: &Harness) -> String {
    let (_, account) = h.customer(true);
    let mapped = h.product("Monthly");
    let unmapped = h
        .salesforce
        .add_product("Dedicated L", None, Some("Monthly"));
    h.approved_order(&account, &[(&mapped, 1.0), (&unmapped, 1.0)])
}

fn cycle_not_offered(h: &Harness) -> String {
    let (_, account) = h.customer(true);
    let product = h.product("Semi-Annually");
    h.approved_order(&account, &[(&product, 1.0)])
}

fn client_missing(h: &Harness) -> String {
    let account = h.salesforce.add_account("No WHMCS", None);
    let product = h.product("Monthly");
    h.approved_order(&account, &[(&product, 1.0)])
}

fn no_items(h: &Harness) -> String {
    let (_, account) = h.customer(true);
    h.approved_order(&account, &[])
}

fn gateway_missing(h: &Harness) -> String {
    let client_id = h.whmcs.add_client(sandbox::whmcs::NewClient::default());
    h.whmcs.add_pay_method(client_id, "");
    let account = h
        .salesforce
        .add_account("Local card", Some(&client_id.to_string()));
    let product = h.product("Monthly");
    h.approved_order(&account, &[(&product, 1.0)])
}

fn whmcs_unavailable(h: &Harness) -> String {
    h.whmcs.inject("AddOrder", Fault::Status(503), Times::Once);
    h.good_order().1
}

fn whmcs_rate_limited(h: &Harness) -> String {
    h.whmcs
        .inject("GetClientsDetails", Fault::Status(429), Times::Once);
    h.good_order().1
}

fn whmcs_too_slow(h: &Harness) -> String {
    h.whmcs.inject(
        "AddOrder",
        Fault::Delay(Duration::from_secs(4)),
        Times::Once,
    );
    h.good_order().1
}

fn whmcs_refuses(h: &Harness) -> String {
    h.whmcs.inject(
        "AddOrder",
        Fault::Error("Invalid Payment Method. Valid options include banktransfer".into()),
        Times::Once,
    );
    h.good_order().1
}

fn whmcs_html(h: &Harness) -> String {
    h.whmcs
        .inject("GetPayMethods", Fault::PhpWarningNoJson, Times::Once);
    h.good_order().1
}

fn whmcs_oops(h: &Harness) -> String {
    h.whmcs.inject("AcceptOrder", Fault::Oops, Times::Once);
    h.good_order().1
}

fn whmcs_reset(h: &Harness) -> String {
    h.whmcs.inject("GetProducts", Fault::Reset, Times::Once);
    h.good_order().1
}

fn salesforce_locked_row(h: &Harness) -> String {
    let order = h.good_order().1;
    // The Order is Activating with no error fields, so the first write is the success write.
    h.salesforce.inject(
        RestTarget::PatchOrder,
        RestFault::ApiError {
            status: 400,
            error_code: "UNABLE_TO_LOCK_ROW".into(),
            message: "unable to obtain exclusive access to this record".into(),
        },
        sandbox::salesforce::Times::Once,
    );
    order
}

fn salesforce_query_refused(h: &Harness) -> String {
    let order = h.good_order().1;
    // The guard's read succeeds; the details query is the second query of the run.
    h.salesforce.inject(
        RestTarget::Query,
        RestFault::Delay(Duration::ZERO),
        sandbox::salesforce::Times::Once,
    );
    h.salesforce.inject(
        RestTarget::Query,
        RestFault::ApiError {
            status: 400,
            error_code: "INVALID_FIELD".into(),
            message: "No such column".into(),
        },
        sandbox::salesforce::Times::Once,
    );
    order
}

const CASES: &[Case] = &[
    Case {
        name: "no pay method",
        prepare: no_pay_method,
        code: "409",
        message: "Payment method missing",
        creates_order: false,
    },
    Case {
        name: "unmapped item",
        prepare: unmapped_item,
        code: "MAPPING_MISSING",
        message: "WH_Product_ID__c is not set",
        creates_order: false,
    },
    Case {
        name: "cycle not offered",
        prepare: cycle_not_offered,
        code: "MAPPING_MISSING",
        message: "does not offer the Semi-Annually cycle",
        creates_order: false,
    },
    Case {
        name: "client missing",
        prepare: client_missing,
        code: "CLIENT_MISSING",
        message: "WH_Client_ID__c",
        creates_order: false,
    },
    Case {
        name: "no items",
        prepare: no_items,
        code: "NO_ITEMS",
        message: "no items",
        creates_order: false,
    },
    Case {
        name: "gateway missing",
        prepare: gateway_missing,
        code: "GATEWAY_MISSING",
        message: "No gateway",
        creates_order: false,
    },
    Case {
        name: "WHMCS 503",
        prepare: whmcs_unavailable,
        code: "503",
        message: "503",
        creates_order: false,
    },
    Case {
        name: "WHMCS rate limited",
        prepare: whmcs_rate_limited,
        code: "429",
        message: "GetClientsDetails",
        creates_order: false,
    },
    Case {
        name: "WHMCS too slow",
        prepare: whmcs_too_slow,
        code: "ETIMEOUT",
        message: "AddOrder",
        creates_order: true,
    },
    Case {
        name: "WHMCS result=error",
        prepare: whmcs_refuses,
        code: "WHMCS_ERROR",
        message: "Invalid Payment Method",
        creates_order: false,
    },
    Case {
        name: "WHMCS PHP warning without JSON",
        prepare: whmcs_html,
        code: "EPROTO",
        message: "GetPayMethods",
        creates_order: false,
    },
    Case {
        name: "WHMCS Oops page",
        prepare: whmcs_oops,
        code: "500",
        message: "AcceptOrder",
        creates_order: true,
    },
    Case {
        name: "WHMCS connection reset",
        prepare: whmcs_reset,
        code: "ECONNRESET",
        message: "GetProducts",
        creates_order: false,
    },
    Case {
        name: "Salesforce row lock",
        prepare: salesforce_locked_row,
        code: "UNABLE_TO_LOCK_ROW",
        message: "exclusive access",
        creates_order: true,
    },
    Case {
        name: "Salesforce query refused",
        prepare: salesforce_query_refused,
        code: "INVALID_FIELD",
        message: "No such column",
        creates_order: false,
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_produces_its_code_and_the_order_ends_failed() {
    let harness = Harness::start_with(Setup {
        env: vec![("WHMCS_ORDER_TIMEOUT", "1s".to_owned())],
        ..Setup::default()
    })
    .await;

    for case in CASES {
        let adds_before = harness.whmcs.count("AddOrder");
        let orders_before = harness.whmcs.orders().len();
        let order_id = (case.prepare)(&harness);

        let response = harness
            .fulfill(&order_id, Trigger::PlatformEvent)
            .await
            .expect("Fulfill answers OK");

        assert_eq!(
            response.outcome(),
            Outcome::Failed,
            "{}: {response:?}",
            case.name
        );
        let error = response.error.clone().expect("an error");
        assert_eq!(error.code, case.code, "{}: {error:?}", case.name);
        assert!(
            error.message.contains(case.message),
            "{}: {:?} lacks {:?}",
            case.name,
            error.message,
            case.message
        );
        assert!(response.salesforce_updated, "{}", case.name);
        assert_eq!(
            harness.field(&order_id, "Activation_Status__c"),
            json!("Failed"),
            "{}",
            case.name
        );
        assert_eq!(
            harness.field(&order_id, "Activation_Error_Code__c"),
            json!(case.code),
            "{}",
            case.name
        );
        assert_eq!(
            harness.field(&order_id, "Activation_Error_Message__c"),
            json!(error.message),
            "{}",
            case.name
        );
        if !case.creates_order {
            assert_eq!(
                harness.whmcs.orders().len(),
                orders_before,
                "{}: nothing may be created",
                case.name
            );
        }
        if case.code == "MAPPING_MISSING" {
            assert_eq!(
                harness.whmcs.count("AddOrder"),
                adds_before,
                "{}",
                case.name
            );
            let mapping = response.mapping.expect("a mapping report");
            assert!(
                mapping
                    .items
                    .iter()
                    .any(|item| !item.mapped && !item.reason.is_empty())
            );
        }
        harness.whmcs.clear_faults();
        harness.salesforce.clear_faults();
    }
}
