//! The order actions: AddOrder, its errors and silent cycle fallback, GetOrders paging,
//! and the status machine.

use super::support::*;

#[tokio::test]
async fn add_order_creates_a_pending_order_services_and_an_unpaid_invoice() {
    let shop = shop(WhmcsOptions::default()).await;
    let answer = shop
        .add_order(&[("notes", "Salesforce Order 801xx & <co>")])
        .await;
    assert_eq!(answer.status, 200);
    assert!(answer.content_type.starts_with("application/json"));
    // WHMCS 8 escapes `&` and `<` inside strings; the raw text shows it.
    let json = answer.json();
    assert_eq!(json["result"], "success", "{}", answer.body);
    let order_id: u64 = json["orderid"]
        .as_str()
        .expect("a string id")
        .parse()
        .expect("numeric");
    let service_ids = json["serviceids"].as_str().expect("a string").to_owned();
    assert_eq!(json["productids"], json["serviceids"]);
    assert_eq!(json["addonids"], "");
    assert_eq!(json["domainids"], "");
    let invoice_id: u64 = json["invoiceid"]
        .as_str()
        .expect("a string")
        .parse()
        .expect("numeric");

    let order = shop.emulator.order(order_id).expect("stored");
    assert_eq!(order.status, "Pending");
    assert_eq!(order.client_id, shop.client);
    assert_eq!(order.payment_method, "stripe");
    assert_eq!(order.notes, "Salesforce Order 801xx &amp; &lt;co&gt;");
    assert_eq!(order.order_num.len(), 10);
    assert_eq!(order.invoice_id, Some(invoice_id));
    assert_eq!(
        service_ids,
        order
            .service_ids
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(
        shop.emulator.invoice_status(invoice_id).as_deref(),
        Some("Unpaid")
    );
    assert_eq!(
        shop.emulator
            .service_status(order.service_ids[0])
            .as_deref(),
        Some("Pending")
    );

    let listed = call(
        &shop.emulator,
        "GetOrders",
        &[("id", &order_id.to_string())],
    )
    .await;
    assert!(
        listed
            .body
            .contains(r#""notes":"Salesforce Order 801xx \u0026amp; \u0026lt;co\u0026gt;""#),
        "{}",
        listed.body
    );
    let found = &listed.json()["orders"]["order"][0];
    assert_eq!(found["status"], "Pending");
    assert_eq!(found["amount"], "9.99");
    assert_eq!(found["paymentstatus"], "Unpaid");
    let line = &found["lineitems"]["lineitem"][0];
    assert_eq!(line["type"], "product");
    assert_eq!(line["billingcycle"], "Monthly");
    assert_eq!(line["amount"], "$9.99 USD");
    assert_eq!(
        line["relid"],
        Value::String(order.service_ids[0].to_string())
    );

    let without_invoice = shop.add_order(&[("noinvoice", "1")]).await.json();
    assert!(without_invoice.get("invoiceid").is_none());
}

#[tokio::test]
async fn add_order_errors_come_with_http_200() {
    let shop = shop(WhmcsOptions::default()).await;
    let message = |answer: Answer| {
        assert_eq!(answer.status, 200, "{}", answer.body);
        let json = answer.json();
        assert_eq!(json["result"], "error");
        json["message"].as_str().unwrap_or_default().to_owned()
    };
    let pid = shop.pid.to_string();
    let client = shop.client.to_string();

    let unknown_client = call(
        &shop.emulator,
        "AddOrder",
        &[
            ("clientid", "999"),
            ("paymentmethod", "stripe"),
            ("pid[0]", &pid),
        ],
    )
    .await;
    assert_eq!(message(unknown_client), "Client ID Not Found");

    let gateway = call(
        &shop.emulator,
        "AddOrder",
        &[
            ("clientid", &client),
            ("paymentmethod", "Stripe"),
            ("pid[0]", &pid),
        ],
    )
    .await;
    assert_eq!(
        message(gateway),
        "Invalid Payment Method. Valid options include banktransfer,paypal,stripe"
    );

    let nothing = call(
        &shop.emulator,
        "AddOrder",
        &[
            ("clientid", &client),
            ("paymentmethod", "stripe"),
            ("pid[0]", "777"),
        ],
    )
    .await;
    assert_eq!(
        message(nothing),
        "No items added to cart so order cannot proceed"
    );

    let unpriced = shop.emulator.add_product(NewProduct {
        pricing: vec![("monthly".into(), "-1.00".into())],
        ..NewProduct::default()
    });
    let dropped = call(
        &shop.emulator,
        "AddOrder",
        &[
            ("clientid", &client),
            ("paymentmethod", "stripe"),
            ("pid[0]", &unpriced.to_string()),
        ],
    )
    .await;
    assert_eq!(
        message(dropped),
        "No items remain in the cart. Order cannot proceed."
    );

    shop.emulator
        .set_client_status(shop.client, ClientStatus::Closed);
    assert_eq!(
        message(shop.add_order(&[]).await),
        "Unable to add order when client status is Closed"
    );
    assert!(shop.emulator.orders().is_empty());
}

#[tokio::test]
async fn an_unavailable_cycle_silently_becomes_the_first_enabled_one() {
    let shop = shop(WhmcsOptions::default()).await;
    let quarterly_up = shop.emulator.add_product(NewProduct {
        pricing: vec![
            ("quarterly".into(), "27.00".into()),
            ("annually".into(), "99.00".into()),
        ],
        ..NewProduct::default()
    });
    let one_time = shop.emulator.add_product(NewProduct {
        paytype: PayType::OneTime,
        pricing: vec![("monthly".into(), "49.00".into())],
        ..NewProduct::default()
    });
    let pid = quarterly_up.to_string();
    let once = one_time.to_string();
    let answer = call(
        &shop.emulator,
        "AddOrder",
        &[
            ("clientid", &shop.client.to_string()),
            ("paymentmethod", "paypal"),
            ("pid[0]", &pid),
            ("billingcycle[0]", "semiannually"),
            ("pid[1]", &pid),
            ("billingcycle[1]", "Annually"),
            ("pid[2]", &pid),
            ("billingcycle[2]", "Semi-Annually"),
            ("pid[3]", &once),
            ("billingcycle[3]", "annually"),
        ],
    )
    .await;
    assert_eq!(answer.json()["result"], "success", "{}", answer.body);
    let order = shop.emulator.orders().pop().expect("an order");
    let cycles: Vec<&str> = order
        .lines
        .iter()
        .map(|(_, cycle)| cycle.as_str())
        .collect();
    assert_eq!(cycles, ["Quarterly", "Annually", "Quarterly", "One Time"]);
}

#[tokio::test]
async fn get_orders_pages_newest_first_and_omits_orders_when_empty() {
    let shop = shop(WhmcsOptions::default()).await;
    let other = shop.emulator.add_client(NewClient {
        email: "other@example.com".into(),
        ..NewClient::default()
    });
    let mut ids = Vec::new();
    for _ in 0..30 {
        let answer = shop.add_order(&[]).await.json();
        ids.push(answer["orderid"].as_str().expect("id").to_owned());
    }
    let client = shop.client.to_string();

    let first = call(&shop.emulator, "GetOrders", &[("userid", &client)])
        .await
        .json();
    assert_eq!(first["totalresults"], "30");
    assert_eq!(first["numreturned"], "25");
    assert_eq!(first["startnumber"], 0);
    let listed: Vec<&str> = first["orders"]["order"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|order| order["id"].as_str().expect("id"))
        .collect();
    let newest: Vec<&str> = ids.iter().rev().take(25).map(String::as_str).collect();
    assert_eq!(listed, newest);

    let second = call(
        &shop.emulator,
        "GetOrders",
        &[
            ("userid", &client),
            ("limitstart", "25"),
            ("limitnum", "25"),
        ],
    )
    .await
    .json();
    assert_eq!(second["startnumber"], "25");
    assert_eq!(second["orders"]["order"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        second["orders"]["order"][4]["id"].as_str(),
        Some(ids[0].as_str())
    );

    let none = call(
        &shop.emulator,
        "GetOrders",
        &[("userid", &other.to_string())],
    )
    .await;
    let none_json = none.json();
    assert_eq!(none_json["result"], "success");
    assert_eq!(none_json["totalresults"], "0");
    assert!(none_json.get("orders").is_none(), "{}", none.body);

    let pending = call(&shop.emulator, "GetOrders", &[("status", "Active")])
        .await
        .json();
    assert!(pending.get("orders").is_none());
}

#[tokio::test]
async fn accept_order_twice_and_the_status_machine() {
    let shop = shop(WhmcsOptions::default()).await;
    let created = shop.add_order(&[]).await.json();
    let order_id = created["orderid"].as_str().expect("id").to_owned();

    let first = call(&shop.emulator, "AcceptOrder", &[("orderid", &order_id)]).await;
    assert_eq!(first.body, r#"{"result":"success"}"#);
    let second = call(&shop.emulator, "AcceptOrder", &[("orderid", &order_id)]).await;
    assert_eq!(second.status, 200);
    assert_eq!(
        second.json()["message"],
        "Order ID not found or Status not Pending"
    );
    let order = shop
        .emulator
        .order(order_id.parse().expect("numeric"))
        .expect("stored");
    assert_eq!(order.status, "Active");
    assert_eq!(
        shop.emulator
            .service_status(order.service_ids[0])
            .as_deref(),
        Some("Active")
    );
    let listed = call(&shop.emulator, "GetOrders", &[("id", &order_id)])
        .await
        .json();
    assert_eq!(listed["orders"]["order"][0]["status"], "Active");
    assert_eq!(
        listed["orders"]["order"][0]["lineitems"]["lineitem"][0]["status"],
        "Active"
    );

    // Cancel only from Pending; PendingOrder brings it back and revives the invoice.
    let cancel = call(&shop.emulator, "CancelOrder", &[("orderid", &order_id)])
        .await
        .json();
    assert_eq!(
        cancel["message"],
        "Order ID not found or Status not Pending"
    );
    let other = shop.add_order(&[]).await.json();
    let other_id = other["orderid"].as_str().expect("id");
    let invoice: u64 = other["invoiceid"]
        .as_str()
        .expect("id")
        .parse()
        .expect("numeric");
    assert_eq!(
        call(&shop.emulator, "CancelOrder", &[("orderid", other_id)])
            .await
            .json()["result"],
        "success"
    );
    assert_eq!(
        shop.emulator.invoice_status(invoice).as_deref(),
        Some("Cancelled")
    );
    assert_eq!(
        call(&shop.emulator, "PendingOrder", &[("orderid", other_id)])
            .await
            .json()["result"],
        "success"
    );
    assert_eq!(
        shop.emulator.invoice_status(invoice).as_deref(),
        Some("Unpaid")
    );
}

#[tokio::test]
async fn a_failed_provisioning_leaves_the_order_pending() {
    let shop = shop(WhmcsOptions::default()).await;
    shop.emulator
        .fail_provisioning(shop.pid, Some("Already provisioned"));
    let order_id = shop.add_order(&[]).await.json()["orderid"]
        .as_str()
        .expect("id")
        .to_owned();
    let failed = call(&shop.emulator, "AcceptOrder", &[("orderid", &order_id)])
        .await
        .json();
    assert_eq!(failed["message"], "Already provisioned");
    let order = shop
        .emulator
        .order(order_id.parse().expect("numeric"))
        .expect("stored");
    assert_eq!(order.status, "Pending");

    // autosetup=0 runs no module, so nothing can fail.
    let accepted = call(
        &shop.emulator,
        "AcceptOrder",
        &[("orderid", &order_id), ("autosetup", "0")],
    )
    .await
    .json();
    assert_eq!(accepted["result"], "success");
}
