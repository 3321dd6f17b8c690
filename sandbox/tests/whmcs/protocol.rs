//! The request pipeline: PHP form parsing, access and login checks, response formats, and
//! the server's lifecycle.

use super::support::*;

#[tokio::test]
async fn a_repeated_plain_key_keeps_the_last_value_and_indices_make_lines() {
    let shop = shop(WhmcsOptions::default()).await;
    let second = shop.emulator.add_product(NewProduct {
        name: "Second".into(),
        ..NewProduct::default()
    });
    let base = format!(
        "action=AddOrder&identifier={}&secret={}&responsetype=json&clientid={}&paymentmethod=stripe",
        shop.emulator.identifier(),
        shop.emulator.secret(),
        shop.client
    );

    let repeated = post_raw(
        &shop.emulator,
        format!("{base}&pid={}&pid={second}", shop.pid),
    )
    .await;
    assert_eq!(repeated.json()["result"], "success", "{}", repeated.body);
    let indexed = post_raw(
        &shop.emulator,
        format!("{base}&pid%5B0%5D={}&pid[1]={second}", shop.pid),
    )
    .await;
    assert_eq!(indexed.json()["result"], "success", "{}", indexed.body);

    let orders = shop.emulator.orders();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[0].lines, vec![(second, "Monthly".to_owned())]);
    assert_eq!(
        orders[1].lines,
        vec![
            (shop.pid, "Monthly".to_owned()),
            (second, "Monthly".to_owned())
        ]
    );
    let calls = shop.emulator.calls();
    assert_eq!(calls[0].params.get("pid"), Some(&second.to_string()));
    assert_eq!(calls[1].params.get("pid[1]"), Some(&second.to_string()));
    assert_eq!(calls[1].action, "addorder");
}

#[tokio::test]
async fn pushed_keys_shift_and_a_scalar_cycle_is_read_by_character() {
    let shop = shop(WhmcsOptions::default()).await;
    let annual = shop.emulator.add_product(NewProduct {
        pricing: vec![
            ("monthly".into(), "5.00".into()),
            ("annually".into(), "50.00".into()),
        ],
        ..NewProduct::default()
    });
    // `pid[]` twice with one cycle at index 1: the cycle belongs to the second product.
    let pid = annual.to_string();
    let answer = call(
        &shop.emulator,
        "AddOrder",
        &[
            ("clientid", &shop.client.to_string()),
            ("paymentmethod", "stripe"),
            ("pid[]", &pid),
            ("pid[]", &pid),
            ("billingcycle[1]", "annually"),
        ],
    )
    .await;
    assert_eq!(answer.json()["result"], "success", "{}", answer.body);
    let order = shop.emulator.orders().pop().expect("an order");
    assert_eq!(
        order.lines,
        vec![
            (annual, "Monthly".to_owned()),
            (annual, "Annually".to_owned())
        ]
    );

    // A scalar cycle beside an array pid: PHP reads `$billingcycle[$i]` as the i-th character
    // ("a", "n"), which is no cycle, so both lines fall back to monthly.
    let answer = call(
        &shop.emulator,
        "AddOrder",
        &[
            ("clientid", &shop.client.to_string()),
            ("paymentmethod", "stripe"),
            ("pid[0]", &pid),
            ("pid[1]", &pid),
            ("billingcycle", "annually"),
        ],
    )
    .await;
    assert_eq!(answer.json()["result"], "success", "{}", answer.body);
    let order = shop.emulator.orders().pop().expect("an order");
    assert_eq!(
        order.lines,
        vec![
            (annual, "Monthly".to_owned()),
            (annual, "Monthly".to_owned())
        ]
    );
}

#[tokio::test]
async fn authentication_failures_are_403_json_with_whmcs_messages() {
    let emulator = WhmcsEmulator::start().await.expect("started");
    let refusal = |form: Vec<(String, String)>| {
        let emulator = emulator.clone();
        async move {
            let answer = post_form(&emulator, &form).await;
            assert_eq!(answer.status, 403, "{}", answer.body);
            assert_eq!(answer.json()["result"], "error");
            answer.json()["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        }
    };
    let form = |pairs: &[(&str, &str)]| {
        with(
            vec![
                ("action".into(), "GetOrders".into()),
                ("responsetype".into(), "json".into()),
            ],
            pairs,
        )
    };

    assert_eq!(
        refusal(form(&[("identifier", "nobody"), ("secret", "x")])).await,
        "Invalid or missing credentials"
    );
    assert_eq!(
        refusal(form(&[
            ("username", "admin"),
            ("password", "sandbox-admin-password")
        ]))
        .await,
        "Invalid password provided"
    );
    assert_eq!(
        refusal(form(&[
            ("identifier", "sandbox-identifier"),
            ("secret", "wrong")
        ]))
        .await,
        "Authentication Failed"
    );

    // Both the legacy field pair and the admin login (md5 of the password) get in.
    let legacy = form(&[
        ("username", "sandbox-identifier"),
        ("password", "sandbox-secret"),
    ]);
    assert_eq!(
        post_form(&emulator, &legacy).await.json()["result"],
        "success"
    );
    let md5 = "d9d98130f181348746bd7caefc49c464";
    let login = form(&[("username", "admin"), ("password", md5)]);
    let answer = post_form(&emulator, &login).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["result"], "success");
    assert_eq!(emulator.count("get_orders"), 5);
}

#[tokio::test]
async fn the_third_wrong_secret_bans_the_ip() {
    let emulator = WhmcsEmulator::start().await.expect("started");
    let wrong = with(
        vec![
            ("action".into(), "GetOrders".into()),
            ("responsetype".into(), "json".into()),
        ],
        &[("identifier", "sandbox-identifier"), ("secret", "wrong")],
    );
    for _ in 0..3 {
        let answer = post_form(&emulator, &wrong).await;
        assert_eq!(answer.json()["message"], "Authentication Failed");
    }
    let banned = call(&emulator, "GetOrders", &[]).await;
    assert_eq!(banned.status, 403);
    assert_eq!(banned.json()["message"], "IP Banned");

    emulator.clear_bans();
    assert_eq!(
        call(&emulator, "GetOrders", &[]).await.json()["result"],
        "success"
    );
}

#[tokio::test]
async fn the_ip_allow_list_and_the_access_key() {
    let options = WhmcsOptions {
        allowed_ips: Vec::new(),
        access_key: Some("k3y!".into()),
        ..WhmcsOptions::default()
    };
    let emulator = WhmcsEmulator::start_with(options).await.expect("started");

    let outside = call(&emulator, "GetOrders", &[]).await;
    assert_eq!(outside.status, 403);
    assert_eq!(outside.json()["message"], "Invalid IP 127.0.0.1");
    let wrong_key = call(&emulator, "GetOrders", &[("accesskey", "nope")]).await;
    assert_eq!(wrong_key.json()["message"], "Invalid Access Key");
    let with_key = call(&emulator, "GetOrders", &[("accesskey", "k3y!")]).await;
    assert_eq!(with_key.json()["result"], "success");
}

#[tokio::test]
async fn without_responsetype_the_answer_is_not_json() {
    let shop = shop(WhmcsOptions::default()).await;
    let mut form = authed(&shop.emulator, "AddOrder");
    form.retain(|(key, _)| key != "responsetype");
    let form = with(
        form,
        &[
            ("clientid", &shop.client.to_string()),
            ("paymentmethod", "banktransfer"),
            ("pid[0]", &shop.pid.to_string()),
        ],
    );
    let nvp = post_form(&shop.emulator, &form).await;
    assert!(
        nvp.content_type.starts_with("text/plain"),
        "{}",
        nvp.content_type
    );
    assert!(
        nvp.body.starts_with("result=success;orderid="),
        "{}",
        nvp.body
    );
    assert!(serde_json::from_str::<Value>(&nvp.body).is_err());

    let mut list = authed(&shop.emulator, "GetOrders");
    list.retain(|(key, _)| key != "responsetype");
    let xml = post_form(&shop.emulator, &list).await;
    assert!(xml.content_type.starts_with("application/xml"));
    assert!(xml.body.contains("<whmcsapi version="), "{}", xml.body);
    assert!(xml.body.contains("<orders><order><id>"), "{}", xml.body);

    // Auth errors follow the literal value: no `json`, no JSON.
    let bad = vec![
        ("action".to_owned(), "GetOrders".to_owned()),
        ("identifier".to_owned(), shop.emulator.identifier()),
        ("secret".to_owned(), "wrong".to_owned()),
    ];
    let refused = post_form(&shop.emulator, &bad).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body, "result=error;message=Authentication Failed;");
}

#[tokio::test]
async fn empty_unknown_and_restricted_actions() {
    let emulator = WhmcsEmulator::start().await.expect("started");
    let empty = call(&emulator, "", &[]).await;
    assert_eq!(
        (empty.status, empty.json()["message"].clone()),
        (400, "Empty action request".into())
    );
    let unknown = call(&emulator, "Get-Nothing", &[]).await;
    assert_eq!(unknown.status, 403);
    assert_eq!(
        unknown.json()["message"],
        "Invalid API Action: \"getnothing\" is not a valid API action"
    );
    let restricted = call(&emulator, "SetConfigurationValue", &[]).await;
    assert_eq!(restricted.status, 200);
    assert_eq!(
        restricted.json()["message"],
        "API Command Restricted to Internal API"
    );
    let bad_format = call(&emulator, "GetOrders", &[("responsetype", "yaml")]).await;
    assert!(
        bad_format
            .body
            .contains("Unsupported API response type format")
    );
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let emulator = WhmcsEmulator::start().await.expect("started");
    let url = emulator.api_url();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/includes/api.php"));
    emulator.shutdown().await;
    let err = http().post(&url).send().await.expect_err("refused");
    assert_eq!(
        TransportFailure::classify(&err).kind,
        TransportKind::ConnectionRefused
    );

    let dropped = WhmcsEmulator::start().await.expect("started");
    let url = dropped.api_url();
    let clone = dropped.clone();
    drop(dropped);
    assert_eq!(call(&clone, "WhmcsDetails", &[]).await.status, 200);
    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match http().post(&url).send().await {
            Err(err)
                if TransportFailure::classify(&err).kind == TransportKind::ConnectionRefused =>
            {
                break;
            }
            _ => assert!(
                Instant::now() < deadline,
                "still serving after the last drop"
            ),
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn get_works_and_the_body_wins_over_the_query() {
    let emulator = WhmcsEmulator::start().await.expect("started");
    let query = format!(
        "action=WhmcsDetails&identifier={}&secret={}&responsetype=json",
        emulator.identifier(),
        emulator.secret()
    );
    let got = read(
        http()
            .get(format!("{}?{query}", emulator.api_url()))
            .send()
            .await
            .expect("an answer"),
    )
    .await;
    assert_eq!(got.json()["whmcs"]["version"], "8.7.2");

    // The body's action replaces the query's.
    let merged = read(
        http()
            .post(format!("{}?{query}", emulator.api_url()))
            .form(&[("action", "GetPaymentMethods")])
            .send()
            .await
            .expect("an answer"),
    )
    .await;
    assert_eq!(merged.json()["totalresults"], "3", "{}", merged.body);
    assert_eq!(emulator.calls()[1].action, "getpaymentmethods");
}

#[tokio::test]
async fn an_api_role_limits_the_actions_of_the_credential() {
    let emulator = WhmcsEmulator::start().await.expect("started");
    emulator.restrict_actions(Some(&["GetOrders"]));
    assert_eq!(call(&emulator, "GetOrders", &[]).await.status, 200);
    let refused = call(&emulator, "AddOrder", &[]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.json()["message"],
        "Invalid Permissions: API action \"addorder\" is not allowed"
    );
    assert!(
        refused.body.contains(r#"\u0022addorder\u0022"#),
        "{}",
        refused.body
    );
    emulator.restrict_actions(None);
    assert_eq!(call(&emulator, "AddOrder", &[]).await.status, 200);
}

#[tokio::test]
async fn latency_is_added_to_every_answer() {
    let emulator = WhmcsEmulator::start_with(WhmcsOptions {
        latency: Duration::from_millis(300),
        ..WhmcsOptions::default()
    })
    .await
    .expect("started");
    let started = Instant::now();
    assert_eq!(call(&emulator, "WhmcsDetails", &[]).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}
