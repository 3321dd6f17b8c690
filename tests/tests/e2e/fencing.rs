//! Fencing across processes: two fulfillment servers on one Redis; the one holding an Order's
//! lock is frozen (SIGSTOP) in the middle of AddOrder, past its lock's TTL; the other takes
//! over; when the frozen one resumes, nothing it does reaches WHMCS or Salesforce.

use std::{collections::HashMap, path::Path, time::Duration};

use bridge_proto::fulfillment::v1::{
    FulfillRequest, Outcome, Trigger, fulfillment_service_client::FulfillmentServiceClient,
};
use bridge_tests::{RedisServer, ServiceProcess, workspace_binary};
use sandbox::{
    demo::{services, world::World},
    whmcs::{Fault, Times},
};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt;

use crate::stack::{WAIT, eventually};

fn fulfillment(env: &HashMap<String, String>) -> (ServiceProcess, String) {
    let process =
        ServiceProcess::start(Path::new(&workspace_binary("fulfillment")), env).expect("starts");
    let line = tokio::task::block_in_place(|| process.wait_for_log("gRPC server listening", WAIT))
        .unwrap_or_else(|output| panic!("{output}"));
    let address = line["address"].as_str().expect("an address").to_owned();
    (process, address)
}

async fn call(address: &str, token: &str, order_id: &str) -> Result<Outcome, tonic::Status> {
    let mut client = FulfillmentServiceClient::connect(format!("http://{address}"))
        .await
        .expect("connects");
    let mut request = tonic::Request::new(FulfillRequest {
        order_id: order_id.to_owned(),
        trigger: Trigger::PlatformEvent.into(),
        ..Default::default()
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ASCII"),
    );
    client
        .fulfill(request)
        .await
        .map(|response| response.into_inner().outcome())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_lock_holder_cannot_write_after_another_server_took_over() {
    bridge_runtime::http_client::install_crypto_provider();
    let world = World::start().await.expect("the emulators start");
    let redis = RedisServer::start().expect("a private redis-server");
    let mut env: HashMap<String, String> = services::common_env(&world, &redis.url())
        .into_iter()
        .chain(services::fulfillment_env(&world))
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    for (name, value) in [
        ("GRPC_ADDR", "127.0.0.1:0"),
        ("HTTP_ADDR", "127.0.0.1:0"),
        ("LOG_FORMAT", "json"),
        ("FULFILLMENT_LOCK_TTL", "3s"),
        ("WHMCS_ORDER_TIMEOUT", "2s"),
        ("WHMCS_ORDER_SETTLE", "5s"),
    ] {
        env.insert(name.to_owned(), value.to_owned());
    }
    let (first, first_addr) = fulfillment(&env);
    let (_second, second_addr) = fulfillment(&env);
    let token = std::fs::read_to_string(&world.tokens_path)
        .expect("tokens")
        .lines()
        .find_map(|line| line.strip_prefix("portal:").map(str::to_owned))
        .expect("the portal token");

    let customer = world.customer("Acme", true);
    let vps = world.offering("VPS Small", "Monthly");
    let order_id = world.order(&customer.account_id, &[(&vps.product_id, 1.0)]);
    world
        .salesforce
        .approve_order(&order_id)
        .expect("the Flow runs");
    world.whmcs.inject(
        "AddOrder",
        Fault::Delay(Duration::from_millis(1500)),
        Times::Once,
    );

    let frozen = {
        let (address, token, order_id) = (first_addr.clone(), token.clone(), order_id.clone());
        tokio::spawn(async move { call(&address, &token, &order_id).await })
    };
    let journal = format!("fulfillment:order:{order_id}");
    eventually("the first server to send AddOrder", || async {
        let reply = redis.command(&["HGET", &journal, "progress"]).ok()?;
        String::from_utf8_lossy(&reply)
            .contains("creating")
            .then_some(())
    })
    .await;
    first.pause();

    // The lock expires; once the AddOrder that may be in flight cannot be any more, the second
    // server finds the order the first one's AddOrder created, and finishes the job.
    let outcome = eventually("the second server to take over", || async {
        match call(&second_addr, &token, &order_id).await {
            Err(status) if status.code() == Code::Aborted => None,
            other => Some(other),
        }
    })
    .await
    .expect("Fulfill answers");
    assert_eq!(outcome, Outcome::Activated);
    let activated_with =
        world.salesforce.order(&order_id).expect("the Order")["WHMCS_Order_ID__c"].clone();

    first.resume();
    let late = frozen
        .await
        .expect("the call ends")
        .expect_err("the resumed run is refused");
    assert_eq!(late.code(), Code::Aborted, "{late:?}");
    assert_eq!(
        late.get_details_error_info().expect("ErrorInfo").reason,
        "LOCK_LOST"
    );

    let order = world.salesforce.order(&order_id).expect("the Order");
    assert_eq!(
        order["Activation_Status__c"],
        json!("Activated"),
        "the late run wrote nothing"
    );
    assert_eq!(order["WHMCS_Order_ID__c"], activated_with);
    let marker = format!("Salesforce Order {order_id}");
    assert_eq!(
        world
            .whmcs
            .orders()
            .iter()
            .filter(|o| o.notes.contains(&marker))
            .count(),
        1
    );
    assert_eq!(world.whmcs.count("AddOrder"), 1);
}
