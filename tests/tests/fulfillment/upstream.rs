//! What the operator gets wrong outside the Order: WHMCS credentials, an unreachable WHMCS, a
//! TLS mismatch, the portal's price book; and both WHMCS credential styles working.

use bridge_proto::fulfillment::v1::{Outcome, Trigger};
use sandbox::salesforce::{NewItem, NewOrder};
use serde_json::json;

use crate::harness::{Harness, Setup};

async fn failure_code(setup: Setup) -> String {
    let harness = Harness::start_with(setup).await;
    let (_, order_id) = harness.good_order();
    let response = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");
    assert_eq!(response.outcome(), Outcome::Failed, "{response:?}");
    assert_eq!(
        harness.field(&order_id, "Activation_Status__c"),
        json!("Failed")
    );
    let code = response.error.expect("an error").code;
    assert_eq!(
        harness.field(&order_id, "Activation_Error_Code__c"),
        json!(code)
    );
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_whmcs_credentials_are_403() {
    let setup = Setup {
        env: vec![("WHMCS_API_SECRET", "not-the-secret".to_owned())],
        ..Setup::default()
    };
    assert_eq!(failure_code(setup).await, "403");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whmcs_nobody_listens_on_is_econnrefused() {
    // A port on another loopback address, which no test server binds, so nobody can take it
    // over between the drop and the call.
    let closed = std::net::TcpListener::bind("127.0.0.2:0").expect("a free port");
    let url = format!(
        "http://{}/includes/api.php",
        closed.local_addr().expect("bound")
    );
    drop(closed);
    let setup = Setup {
        env: vec![("WHMCS_API_URL", url)],
        ..Setup::default()
    };
    assert_eq!(failure_code(setup).await, "ECONNREFUSED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_a_plaintext_whmcs_is_enetwork() {
    fn tls_to_plaintext(env: &mut std::collections::HashMap<&'static str, String>) {
        let url = env["WHMCS_API_URL"].replacen("http://", "https://", 1);
        env.insert("WHMCS_API_URL", url);
    }
    let setup = Setup {
        adjust_env: Some(tls_to_plaintext),
        ..Setup::default()
    };
    assert_eq!(failure_code(setup).await, "ENETWORK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_admin_login_works_too() {
    fn admin_login(env: &mut std::collections::HashMap<&'static str, String>) {
        env.remove("WHMCS_API_IDENTIFIER");
        env.remove("WHMCS_API_SECRET");
        env.insert("WHMCS_API_USERNAME", "admin".to_owned());
        env.insert("WHMCS_API_PASSWORD", "sandbox-admin-password".to_owned());
    }
    let harness = Harness::start_with(Setup {
        adjust_env: Some(admin_login),
        ..Setup::default()
    })
    .await;
    let (_, order_id) = harness.good_order();

    let response = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");

    assert_eq!(response.outcome(), Outcome::Activated, "{response:?}");
    let add_order = harness
        .whmcs
        .calls()
        .into_iter()
        .find(|call| call.action == "addorder")
        .expect("AddOrder");
    assert_eq!(
        add_order.params.get("username").map(String::as_str),
        Some("admin")
    );
    assert_ne!(
        add_order.params.get("password").map(String::as_str),
        Some("sandbox-admin-password"),
        "only the MD5 is sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_on_another_price_book_is_pricebook_mismatch() {
    let harness = Harness::start_with(Setup {
        portal_pricebook: true,
        ..Setup::default()
    })
    .await;
    let (_, account) = harness.customer(true);
    let product = harness.product("Monthly");
    let other_book = harness.salesforce.add_pricebook("Partner prices");
    let order_id = harness.salesforce.add_order(NewOrder {
        account_id: account.clone(),
        pricebook_id: other_book,
        items: vec![NewItem {
            product_id: product.clone(),
            quantity: 1.0,
            unit_price: 9.99,
        }],
    });
    harness
        .salesforce
        .approve_order(&order_id)
        .expect("the Flow runs");

    let response = harness
        .fulfill(&order_id, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");

    assert_eq!(
        response.error.map(|error| error.code).as_deref(),
        Some("PRICEBOOK_MISMATCH")
    );
    assert_eq!(harness.whmcs.orders().len(), 0);
    let portal_order = harness.approved_order(&account, &[(&product, 1.0)]);
    let response = harness
        .fulfill(&portal_order, Trigger::PlatformEvent)
        .await
        .expect("Fulfill answers");
    assert_eq!(
        response.outcome(),
        Outcome::Activated,
        "an Order on the portal's price book goes through"
    );
}
