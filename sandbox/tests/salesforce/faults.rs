//! Sessions, the API allowance, versions and routing, injected faults, and the request log.

use std::time::{Duration, Instant};

use bridge_tests::TestKeys;
use sandbox::salesforce::{RestFault, RestTarget, Times};
use serde_json::{Value, json};

use super::{Api, V, good_claims, http, order_field, request_token, seed, sign, start, start_with};

const SESSION_REFUSAL: &str =
    r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;

#[tokio::test]
async fn the_authorization_header_is_required_and_checked() {
    let sf = start().await;
    let url = format!("{}{V}/query?q=SELECT+Id+FROM+Order", sf.url());

    let missing = http().get(&url).send().await.expect("answer");
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.expect("json");
    assert_eq!(body[0]["errorCode"], "INVALID_AUTH_HEADER");

    for header in [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer  ",
        "token-without-scheme",
    ] {
        let answer = http()
            .get(&url)
            .header("authorization", header)
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status(), 401, "{header}");
        let body: Value = answer.json().await.expect("json");
        assert_eq!(body[0]["errorCode"], "INVALID_AUTH_HEADER", "{header}");
    }

    let unknown = http()
        .get(&url)
        .bearer_auth("00D000000000000!AQforged")
        .send()
        .await
        .expect("answer");
    assert_eq!(unknown.status(), 401);
    assert!(unknown.headers().get("sforce-limit-info").is_none());
    assert_eq!(unknown.text().await.expect("text"), SESSION_REFUSAL);
}

#[tokio::test]
async fn expired_sessions_get_invalid_session_id_and_a_new_token_works() {
    let sf = start().await;
    let api = Api::login(&sf).await;
    assert_eq!(api.query("SELECT Id FROM Order").await.status, 200);

    sf.expire_sessions();
    assert!(!sf.is_valid_token(&api.token));
    let refused = api.query("SELECT Id FROM Order").await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.body, SESSION_REFUSAL);

    let fresh = Api::login(&sf).await;
    assert_ne!(fresh.token, api.token);
    assert_eq!(fresh.query("SELECT Id FROM Order").await.status, 200);
    assert_eq!(
        api.query("SELECT Id FROM Order").await.status,
        401,
        "the old one stays dead"
    );
    assert_eq!(sf.tokens_issued(), 2);
}

#[tokio::test]
async fn the_limit_info_header_counts_calls_and_the_allowance_is_enforced() {
    let sf = start_with(|options| options.api_limit = 3).await;
    let api = Api::login(&sf).await;

    for used in 1..=3 {
        let answer = api.query("SELECT Id FROM Account").await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("sforce-limit-info"),
            Some(format!("api-usage={used}/3"))
        );
    }
    let over = api.query("SELECT Id FROM Account").await;
    assert_eq!(over.status, 403);
    assert_eq!(over.error_code(), "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(over.error_message(), "TotalRequests Limit exceeded.");
    assert_eq!(
        over.header("sforce-limit-info").as_deref(),
        Some("api-usage=3/3")
    );

    // The token endpoint is not an API call.
    let token = request_token(
        &sf,
        &sign(&good_claims(), &TestKeys::primary().private_pkcs8_pem),
    )
    .await;
    assert!(token.header("sforce-limit-info").is_none());
}

#[tokio::test]
async fn versions_and_unknown_resources() {
    let sf = start().await;
    let api = Api::login(&sf).await;

    let retired = api
        .get("/services/data/v30.0/query?q=SELECT+Id+FROM+Order")
        .await;
    assert_eq!(retired.status, 410);
    let old_but_served = api
        .get("/services/data/v31.0/query?q=SELECT+Id+FROM+Order")
        .await;
    assert_eq!(old_but_served.status, 200);
    let future = api
        .get("/services/data/v99.0/query?q=SELECT+Id+FROM+Order")
        .await;
    assert_eq!(future.status, 404);
    let not_a_version = api.get("/services/data/vlatest/query").await;
    assert_eq!(not_a_version.error_code(), "NOT_FOUND");
    let unknown = api.get(&format!("{V}/limits/everything")).await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), "NOT_FOUND");
    assert_eq!(
        unknown.error_message(),
        "The requested resource does not exist"
    );

    let listing = http()
        .get(format!("{}/services/data/", sf.url()))
        .send()
        .await
        .expect("answer");
    assert_eq!(listing.status(), 200, "the version list needs no session");

    let userinfo = api.get("/services/oauth2/userinfo").await.json();
    assert_eq!(userinfo["organization_id"], sf.org_id());
    assert_eq!(userinfo["user_id"], sf.user_id());
}

#[tokio::test]
async fn an_api_error_once_then_the_call_succeeds() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    sf.inject(
        RestTarget::PatchOrder,
        RestFault::ApiError {
            status: 400,
            error_code: "UNABLE_TO_LOCK_ROW".into(),
            message: "unable to obtain exclusive access to this record".into(),
        },
        Times::Once,
    );
    let body = json!({"Activation_Status__c": "Failed"});

    // Other kinds of request are not affected.
    assert_eq!(api.query("SELECT Id FROM Order").await.status, 200);
    let locked = api.patch_order(&seed.order, &body).await;
    assert_eq!(locked.status, 400);
    assert_eq!(
        locked.json(),
        json!([{"message": "unable to obtain exclusive access to this record", "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}])
    );
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Not Started"
    );

    assert_eq!(api.patch_order(&seed.order, &body).await.status, 204);
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Failed"
    );
}

#[tokio::test]
async fn html_pages_and_oauth_errors_stand_in_for_answers() {
    let sf = start().await;
    let api = Api::login(&sf).await;
    sf.inject(RestTarget::Query, RestFault::Html(503), Times::Times(2));
    sf.inject(
        RestTarget::Token,
        RestFault::OAuthError {
            error: "rate_limit_exceeded".into(),
            description: "too many requests".into(),
        },
        Times::Once,
    );

    for _ in 0..2 {
        let page = api.query("SELECT Id FROM Order").await;
        assert_eq!(page.status, 503);
        assert!(
            page.header("content-type")
                .is_some_and(|t| t.starts_with("text/html"))
        );
        assert!(page.body.contains("<html>"));
    }
    assert_eq!(api.query("SELECT Id FROM Order").await.status, 200);

    let assertion = sign(&good_claims(), &TestKeys::primary().private_pkcs8_pem);
    let limited = request_token(&sf, &assertion).await;
    assert_eq!(limited.status, 400);
    assert_eq!(
        limited.json(),
        json!({"error": "rate_limit_exceeded", "error_description": "too many requests"})
    );
    assert_eq!(request_token(&sf, &assertion).await.status, 200);
}

#[tokio::test]
async fn always_lasts_until_cleared() {
    let sf = start().await;
    let api = Api::login(&sf).await;
    sf.inject(RestTarget::Any, RestFault::Html(502), Times::Always);
    for _ in 0..3 {
        assert_eq!(api.query("SELECT Id FROM Order").await.status, 502);
    }
    sf.clear_faults();
    assert_eq!(api.query("SELECT Id FROM Order").await.status, 200);
}

#[tokio::test]
async fn a_delayed_patch_lands_even_when_the_caller_gave_up() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let delay = Duration::from_millis(400);
    sf.inject(RestTarget::PatchOrder, RestFault::Delay(delay), Times::Once);

    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .expect("client");
    let gave_up = impatient
        .patch(format!("{}{V}/sobjects/Order/{}", sf.url(), seed.order))
        .bearer_auth(&api.token)
        .json(&json!({"Activation_Status__c": "Activated"}))
        .send()
        .await;
    assert!(gave_up.is_err_and(|err| err.is_timeout()));
    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Not Started"
    );

    let deadline = Instant::now() + Duration::from_secs(5);
    while order_field(&sf, &seed.order, "Activation_Status__c") != "Activated" {
        assert!(Instant::now() < deadline, "the delayed PATCH never landed");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    sf.inject(RestTarget::Query, RestFault::Delay(delay), Times::Once);
    let started = Instant::now();
    assert_eq!(api.query("SELECT Id FROM Order").await.status, 200);
    assert!(started.elapsed() >= delay);
}

#[tokio::test]
async fn every_request_is_recorded_in_arrival_order() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let soql = format!("SELECT Id FROM Order WHERE Id = '{}'", seed.order);
    api.query(&soql).await;
    api.patch_order(&seed.order, &json!({"WHMCS_Order_ID__c": "77"}))
        .await;
    api.patch_order(&seed.order, &json!({"Nope__c": 1})).await;

    let requests = sf.requests();
    let summary: Vec<(&str, &str, u16)> = requests
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.status))
        .collect();
    let patch_path = format!("{V}/sobjects/Order/{}", seed.order);
    let query_path = format!("{V}/query");
    assert_eq!(
        summary,
        vec![
            ("POST", "/services/oauth2/token", 200),
            ("GET", query_path.as_str(), 200),
            ("PATCH", patch_path.as_str(), 204),
            ("PATCH", patch_path.as_str(), 400),
        ]
    );
    assert_eq!(requests[0].body, None, "the assertion is not kept");
    assert_eq!(requests[1].soql.as_deref(), Some(soql.as_str()));
    assert_eq!(requests[2].body, Some(json!({"WHMCS_Order_ID__c": "77"})));
    assert_eq!(requests[2].soql, None);
}

#[tokio::test]
async fn latency_is_added_to_every_answer() {
    let latency = Duration::from_millis(150);
    let sf = start_with(|options| options.latency = latency).await;
    let started = Instant::now();
    let api = Api::login(&sf).await;
    assert_eq!(api.query("SELECT Id FROM Order").await.status, 200);
    assert!(started.elapsed() >= latency * 2);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sf = start().await;
    let url = format!("{}/services/data/", sf.url());
    assert!(http().get(&url).send().await.is_ok());
    sf.shutdown().await;
    assert!(http().get(&url).send().await.is_err());
    sf.shutdown().await;
}

#[tokio::test]
async fn hang_reset_and_cut_off_json_answer_nothing_and_apply_nothing() {
    let sf = start().await;
    let seed = seed(&sf);
    let api = Api::login(&sf).await;
    let patch_url = format!("{}{V}/sobjects/Order/{}", sf.url(), seed.order);
    let body = json!({"Activation_Status__c": "Activated"});
    sf.inject(RestTarget::PatchOrder, RestFault::Hang, Times::Once);
    sf.inject(RestTarget::PatchOrder, RestFault::Reset, Times::Once);
    sf.inject(RestTarget::Query, RestFault::MalformedJson, Times::Once);

    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let hung = impatient
        .patch(&patch_url)
        .bearer_auth(&api.token)
        .json(&body)
        .send()
        .await;
    assert!(hung.is_err_and(|err| err.is_timeout()), "no answer came");

    let reset = http()
        .patch(&patch_url)
        .bearer_auth(&api.token)
        .json(&body)
        .send()
        .await;
    let err = reset.expect_err("the connection is closed unanswered");
    assert!(!err.is_timeout(), "{err:?}");

    let cut = api.query("SELECT Id FROM Order").await;
    assert_eq!(cut.status, 200);
    assert!(
        cut.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    assert!(
        serde_json::from_str::<Value>(&cut.body).is_err(),
        "{}",
        cut.body
    );

    assert_eq!(
        order_field(&sf, &seed.order, "Activation_Status__c"),
        "Not Started",
        "neither PATCH was applied"
    );
    let statuses: Vec<u16> = sf.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [200, 0, 0, 200],
        "token, hang, reset, cut-off query"
    );
    assert_eq!(api.patch_order(&seed.order, &body).await.status, 204);
    sf.shutdown().await;
}

#[tokio::test]
async fn a_filtered_fault_breaks_only_the_requests_it_accepts() {
    let sf = start().await;
    let seed = seed(&sf);
    let other = sf.add_order(sandbox::salesforce::NewOrder {
        account_id: seed.account.clone(),
        pricebook_id: sf.standard_pricebook_id(),
        items: Vec::new(),
    });
    let api = Api::login(&sf).await;
    let target = seed.order.clone();
    sf.inject_matching(
        RestTarget::PatchOrder,
        std::sync::Arc::new(move |request| request.path.ends_with(&target)),
        RestFault::Html(503),
        Times::Once,
    );
    let body = json!({"Activation_Status__c": "Failed"});

    assert_eq!(api.patch_order(&other, &body).await.status, 204);
    assert_eq!(api.patch_order(&seed.order, &body).await.status, 503);
    assert_eq!(api.patch_order(&seed.order, &body).await.status, 204);
}
