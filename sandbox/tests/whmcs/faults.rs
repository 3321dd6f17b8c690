//! Every injected fault, and concurrent calls.

use super::support::*;

#[tokio::test]
async fn proxy_oops_error_and_warning_faults_do_not_run_the_action() {
    let shop = shop(WhmcsOptions::default()).await;
    shop.emulator
        .inject("AddOrder", Fault::Status(503), Times::Once);
    shop.emulator.inject("addorder", Fault::Oops, Times::Once);
    shop.emulator.inject(
        "ADD_ORDER",
        Fault::Error("Database busy".into()),
        Times::Once,
    );
    shop.emulator.inject(
        "AddOrder",
        Fault::WarningOnly("Module failed".into()),
        Times::Once,
    );
    shop.emulator
        .inject("AddOrder", Fault::PhpWarningNoJson, Times::Once);

    let proxy = shop.add_order(&[]).await;
    assert_eq!(proxy.status, 503);
    assert!(proxy.content_type.starts_with("text/html"));
    assert!(serde_json::from_str::<Value>(&proxy.body).is_err());
    let oops = shop.add_order(&[]).await;
    assert_eq!(oops.status, 500);
    assert!(oops.body.contains("Oops!"));
    let error = shop.add_order(&[]).await;
    assert_eq!(error.status, 200);
    assert_eq!(
        error.body,
        r#"{"result":"error","message":"Database busy"}"#
    );
    let warning = shop.add_order(&[]).await;
    assert_eq!(warning.body, r#"{"warning":"Module failed"}"#);
    let php = shop.add_order(&[]).await;
    assert_eq!(php.status, 200);
    assert!(php.body.starts_with("<br />\n<b>Warning</b>:"));
    assert!(!php.body.contains('{'));

    assert!(shop.emulator.orders().is_empty());
    let statuses: Vec<u16> = shop.emulator.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [503, 500, 200, 200, 200]);
    // Used up: the next call goes through.
    assert_eq!(shop.add_order(&[]).await.json()["result"], "success");
}

#[tokio::test]
async fn php_warning_and_malformed_json_run_the_action() {
    let shop = shop(WhmcsOptions::default()).await;
    shop.emulator
        .inject("AddOrder", Fault::PhpWarning, Times::Once);
    shop.emulator
        .inject("AddOrder", Fault::MalformedJson, Times::Once);

    let warned = shop.add_order(&[]).await;
    assert!(
        warned.body.starts_with("<br />\n<b>Warning</b>:"),
        "{}",
        warned.body
    );
    let start = warned.body.find("{\"result\"").expect("the JSON follows");
    let json: Value = serde_json::from_str(&warned.body[start..]).expect("JSON after the warning");
    assert_eq!(json["result"], "success");

    let cut = shop.add_order(&[]).await;
    assert_eq!(cut.status, 200);
    assert!(
        cut.body.starts_with("{\"result\":\"success\""),
        "{}",
        cut.body
    );
    assert!(serde_json::from_str::<Value>(&cut.body).is_err());

    assert_eq!(shop.emulator.orders().len(), 2);
}

#[tokio::test]
async fn a_delay_runs_the_action_late() {
    let shop = shop(WhmcsOptions::default()).await;
    shop.emulator.inject(
        "AddOrder",
        Fault::Delay(Duration::from_millis(400)),
        Times::Once,
    );
    let started = Instant::now();
    let answer = shop.add_order(&[]).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(answer.json()["result"], "success");
    assert_eq!(shop.emulator.orders().len(), 1);
}

#[tokio::test]
async fn commit_then_hang_creates_the_order_but_never_answers() {
    let shop = shop(WhmcsOptions::default()).await;
    shop.emulator
        .inject("AddOrder", Fault::CommitThenHang, Times::Once);
    let form = with(
        authed(&shop.emulator, "AddOrder"),
        &[
            ("clientid", &shop.client.to_string()),
            ("paymentmethod", "stripe"),
            ("pid[0]", &shop.pid.to_string()),
        ],
    );
    let outcome = http()
        .post(shop.emulator.api_url())
        .timeout(Duration::from_millis(500))
        .form(&form)
        .send()
        .await;
    let err = outcome.expect_err("no answer");
    assert!(err.is_timeout(), "{err:?}");

    // The order exists, and GetOrders shows it to a reconciling client.
    let orders = shop.emulator.orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].status, "Pending");
    let listed = call(
        &shop.emulator,
        "GetOrders",
        &[("userid", &shop.client.to_string())],
    )
    .await
    .json();
    assert_eq!(
        listed["orders"]["order"][0]["id"],
        Value::String(orders[0].id.to_string())
    );
    assert_eq!(shop.emulator.calls()[0].status, 0);
}

#[tokio::test]
async fn commit_then_hang_is_closed_unanswered_at_shutdown() {
    let shop = shop(WhmcsOptions::default()).await;
    shop.emulator
        .inject("AcceptOrder", Fault::CommitThenHang, Times::Always);
    let order_id = shop.add_order(&[]).await.json()["orderid"]
        .as_str()
        .expect("id")
        .to_owned();
    let form = with(
        authed(&shop.emulator, "AcceptOrder"),
        &[("orderid", &order_id)],
    );
    let url = shop.emulator.api_url();
    let pending = tokio::spawn(async move { http().post(url).form(&form).send().await });

    // Wait (with a deadline) until the hung call has done its work.
    let deadline = Instant::now() + Duration::from_secs(5);
    while shop
        .emulator
        .order(order_id.parse().expect("numeric"))
        .map(|o| o.status)
        != Some("Active".into())
    {
        assert!(Instant::now() < deadline, "AcceptOrder never ran");
        tokio::task::yield_now().await;
    }
    shop.emulator.shutdown().await;
    let outcome = pending.await.expect("joined");
    let err = outcome.expect_err("no answer");
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(
        TransportFailure::classify(&err).kind,
        TransportKind::ConnectionReset
    );
}

#[tokio::test]
async fn reset_closes_the_connection_without_running_the_action() {
    let shop = shop(WhmcsOptions::default()).await;
    shop.emulator.inject("AddOrder", Fault::Reset, Times::Once);
    let form = with(
        authed(&shop.emulator, "AddOrder"),
        &[
            ("clientid", &shop.client.to_string()),
            ("paymentmethod", "stripe"),
            ("pid[0]", &shop.pid.to_string()),
        ],
    );
    let err = http()
        .post(shop.emulator.api_url())
        .form(&form)
        .send()
        .await
        .expect_err("no HTTP answer");
    assert!(!err.is_timeout(), "{err:?}");
    assert_eq!(
        TransportFailure::classify(&err).kind,
        TransportKind::ConnectionReset,
        "{err:?}"
    );
    assert!(shop.emulator.orders().is_empty());
    assert_eq!(shop.emulator.count("AddOrder"), 1);
    assert_eq!(shop.add_order(&[]).await.json()["result"], "success");
}

#[tokio::test]
async fn always_faults_last_until_cleared() {
    let emulator = WhmcsEmulator::start().await.expect("started");
    emulator.inject("GetOrders", Fault::Status(502), Times::Always);
    emulator.inject("GetProducts", Fault::Oops, Times::Times(2));
    for _ in 0..3 {
        assert_eq!(call(&emulator, "GetOrders", &[]).await.status, 502);
    }
    assert_eq!(call(&emulator, "GetProducts", &[]).await.status, 500);
    assert_eq!(call(&emulator, "GetProducts", &[]).await.status, 500);
    assert_eq!(call(&emulator, "GetProducts", &[]).await.status, 200);
    emulator.clear_faults();
    assert_eq!(call(&emulator, "GetOrders", &[]).await.status, 200);
}

#[tokio::test]
async fn concurrent_orders_get_distinct_monotonic_ids() {
    let shop = shop(WhmcsOptions::default()).await;
    let shop = std::sync::Arc::new(shop);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let shop = std::sync::Arc::clone(&shop);
        tasks.push(tokio::spawn(async move {
            shop.add_order(&[]).await.json()["orderid"]
                .as_str()
                .expect("id")
                .parse::<u64>()
                .expect("numeric")
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.expect("joined"));
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20);
    let stored: Vec<u64> = shop
        .emulator
        .orders()
        .iter()
        .map(|order| order.id)
        .collect();
    assert_eq!(stored, ids);
}

#[tokio::test]
async fn a_scoped_fault_hits_only_the_calls_about_its_client() {
    let shop = shop(WhmcsOptions::default()).await;
    let other = shop.emulator.add_client(NewClient::default());
    shop.emulator.inject_scoped(
        "AddOrder",
        sandbox::whmcs::Scope::Client(shop.client),
        Fault::Status(503),
        Times::Once,
    );
    shop.emulator.inject_scoped(
        "AcceptOrder",
        sandbox::whmcs::Scope::Client(shop.client),
        Fault::Status(429),
        Times::Once,
    );

    let pid = shop.pid.to_string();
    let others = call(
        &shop.emulator,
        "AddOrder",
        &[
            ("clientid", &other.to_string()),
            ("paymentmethod", "stripe"),
            ("pid[0]", &pid),
            ("billingcycle[0]", "monthly"),
        ],
    )
    .await;
    assert_eq!(others.json()["result"], "success", "another client's call");
    let others_order = others.json()["orderid"]
        .as_str()
        .expect("an order id")
        .to_owned();
    let accepted = call(&shop.emulator, "AcceptOrder", &[("orderid", &others_order)]).await;
    assert_eq!(accepted.status, 200, "another client's order");

    assert_eq!(shop.add_order(&[]).await.status, 503);
    let mine = shop.add_order(&[]).await.json();
    let my_order = mine["orderid"].as_str().expect("an order id").to_owned();
    assert_eq!(
        call(&shop.emulator, "AcceptOrder", &[("orderid", &my_order)])
            .await
            .status,
        429,
        "the order id stands for its client"
    );
    assert_eq!(
        call(&shop.emulator, "AcceptOrder", &[("orderid", &my_order)])
            .await
            .json()["result"],
        "success",
        "used up"
    );
}

#[tokio::test]
async fn a_late_commit_creates_the_order_after_the_caller_gave_up() {
    let shop = shop(WhmcsOptions::default()).await;
    shop.emulator.inject(
        "AddOrder",
        Fault::LateCommit(Duration::from_millis(600)),
        Times::Once,
    );
    let form = with(
        authed(&shop.emulator, "AddOrder"),
        &[
            ("clientid", &shop.client.to_string()),
            ("paymentmethod", "stripe"),
            ("pid[0]", &shop.pid.to_string()),
            ("billingcycle[0]", "monthly"),
        ],
    );
    let outcome = http()
        .post(shop.emulator.api_url())
        .timeout(Duration::from_millis(200))
        .form(&form)
        .send()
        .await;
    assert!(outcome.is_err_and(|err| err.is_timeout()));
    assert!(shop.emulator.orders().is_empty(), "not yet");

    let deadline = Instant::now() + Duration::from_secs(10);
    while shop.emulator.orders().is_empty() {
        assert!(Instant::now() < deadline, "the late commit never landed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(shop.emulator.orders().len(), 1);
    shop.emulator.shutdown().await;
}
