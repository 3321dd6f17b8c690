//! The reads: pay methods, client details, products, gateways, and the two number styles.

use super::support::*;

#[tokio::test]
async fn get_pay_methods_is_a_flat_list_with_the_client_id_echoed() {
    let shop = shop(WhmcsOptions::default()).await;
    let none = call(
        &shop.emulator,
        "GetPayMethods",
        &[("clientid", &shop.client.to_string())],
    )
    .await;
    assert_eq!(
        none.body,
        format!(
            r#"{{"result":"success","clientid":"{}","paymethods":[]}}"#,
            shop.client
        )
    );

    let method = shop.emulator.add_pay_method(shop.client, "stripe");
    let some = call(
        &shop.emulator,
        "GetPayMethods",
        &[("clientid", &shop.client.to_string())],
    )
    .await
    .json();
    assert_eq!(some["clientid"], Value::String(shop.client.to_string()));
    assert_eq!(some["paymethods"][0]["id"], Value::from(method));
    assert_eq!(some["paymethods"][0]["type"], "RemoteCreditCard");
    assert_eq!(some["paymethods"][0]["gateway_name"], "stripe");

    let missing = call(&shop.emulator, "GetPayMethods", &[("clientid", "999")])
        .await
        .json();
    assert_eq!(missing["message"], "Client Not Found");
}

#[tokio::test]
async fn clients_products_and_gateways() {
    let emulator = WhmcsEmulator::start().await.expect("started");
    let client = emulator.add_client(NewClient {
        default_gateway: Some("paypal".into()),
        currency_code: "EUR".into(),
        ..NewClient::default()
    });
    let details = call(
        &emulator,
        "GetClientsDetails",
        &[("clientid", &client.to_string())],
    )
    .await
    .json();
    assert_eq!(details["client"]["currency_code"], "EUR");
    assert_eq!(details["client"]["defaultgateway"], "paypal");
    assert_eq!(details["client"]["status"], "Active");
    assert_eq!(details["userid"], Value::String(client.to_string()));
    let missing = call(&emulator, "GetClientsDetails", &[("clientid", "404")])
        .await
        .json();
    assert_eq!(missing["message"], "Client Not Found");

    let pid = emulator.add_product(NewProduct {
        pricing: vec![
            ("monthly".into(), "9.99".into()),
            ("annually".into(), "99".into()),
        ],
        ..NewProduct::default()
    });
    let other = emulator.add_product(NewProduct::default());
    let products = call(
        &emulator,
        "GetProducts",
        &[("pid", &format!("{pid},{other}"))],
    )
    .await
    .json();
    let list = products["products"]["product"].as_array().expect("a list");
    assert_eq!(list.len(), 2);
    let usd = &list[0]["pricing"]["USD"];
    assert_eq!(usd["monthly"], "9.99");
    assert_eq!(usd["annually"], "99.00");
    assert_eq!(usd["quarterly"], "-1.00");
    assert_eq!(usd["triennially"], "-1.00");
    assert_eq!(list[0]["paytype"], "recurring");
    let none = call(&emulator, "GetProducts", &[("pid", "999")])
        .await
        .json();
    assert!(none.get("products").is_none());

    let gateways = call(&emulator, "GetPaymentMethods", &[]).await.json();
    let modules: Vec<&str> = gateways["paymentmethods"]["paymentmethod"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|method| method["module"].as_str().expect("module"))
        .collect();
    assert_eq!(modules, ["banktransfer", "paypal", "stripe"]);
    let version = call(&emulator, "WhmcsDetails", &[]).await.json();
    assert_eq!(version["whmcs"]["version"], "8.7.2");
}

#[tokio::test]
async fn native_ints_and_legacy_strings() {
    let legacy = shop(WhmcsOptions::default()).await;
    let native = shop(WhmcsOptions {
        numbers: NumberStyle::NativeInts,
        ..WhmcsOptions::default()
    })
    .await;
    let legacy_order = legacy.add_order(&[]).await.json();
    let native_order = native.add_order(&[]).await.json();
    assert!(legacy_order["orderid"].is_string());
    assert!(legacy_order["invoiceid"].is_string());
    assert!(native_order["orderid"].is_u64());
    assert!(native_order["invoiceid"].is_u64());
    // Comma lists stay strings in both.
    assert!(native_order["serviceids"].is_string());

    let listed = call(&native.emulator, "GetOrders", &[("limitstart", "0")])
        .await
        .json();
    assert!(listed["totalresults"].is_u64());
    assert_eq!(
        listed["startnumber"], "0",
        "an echoed value keeps its string type"
    );
    assert!(listed["orders"]["order"][0]["id"].is_u64());
    assert_eq!(listed["orders"]["order"][0]["amount"], "9.99");

    let client = native.client.to_string();
    let methods = call(&native.emulator, "GetPayMethods", &[("clientid", &client)])
        .await
        .json();
    assert_eq!(methods["clientid"], Value::String(client));
}
