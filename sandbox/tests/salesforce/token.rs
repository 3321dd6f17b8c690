//! The token endpoint: what it accepts, and the exact refusal for each broken assertion.

use std::collections::BTreeSet;

use bridge_tests::TestKeys;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::{
    AUDIENCE, CLIENT_ID, USERNAME, good_claims, http, now_seconds, request_token, sign, start,
    start_with,
};

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

#[tokio::test]
async fn a_good_assertion_gets_exactly_the_five_fields() {
    let sf = start().await;
    let answer = request_token(
        &sf,
        &sign(&good_claims(), &TestKeys::primary().private_pkcs8_pem),
    )
    .await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );
    let body = answer.json();
    let fields: BTreeSet<&str> = body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from(["access_token", "scope", "instance_url", "id", "token_type"])
    );
    let token = body["access_token"].as_str().expect("token");
    let org_id = sf.org_id();
    assert_eq!(org_id.len(), 18);
    assert!(org_id.starts_with("00D"));
    assert!(token.starts_with(&format!("{}!", &org_id[..15])), "{token}");
    assert_eq!(token.split('.').count(), 1, "an opaque token, not a JWT");
    assert_eq!(body["scope"], "api");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["instance_url"], sf.url());
    assert_eq!(
        body["id"],
        format!("{}/id/{}/{}", sf.url(), org_id, sf.user_id())
    );
    assert!(sf.user_id().starts_with("005"));
    assert!(sf.is_valid_token(token));
    assert!(!sf.is_valid_token("00D000000000000!AQnope"));
    assert_eq!(sf.tokens_issued(), 1);
    sf.shutdown().await;
}

#[tokio::test]
async fn a_pkcs1_signed_assertion_works_too_and_each_login_is_a_new_token() {
    let sf = start().await;
    let first = request_token(
        &sf,
        &sign(&good_claims(), &TestKeys::primary().private_pkcs1_pem),
    )
    .await;
    let second = request_token(
        &sf,
        &sign(&good_claims(), &TestKeys::primary().private_pkcs8_pem),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_ne!(first.json()["access_token"], second.json()["access_token"]);
    assert_eq!(sf.tokens_issued(), 2);
}

#[tokio::test]
async fn each_broken_assertion_gets_salesforces_refusal() {
    let sf = start().await;
    let primary = &TestKeys::primary().private_pkcs8_pem;
    let stranger = &TestKeys::stranger().private_pkcs8_pem;
    let hs256 = jsonwebtoken::encode(
        &Header::default(),
        &good_claims(),
        &EncodingKey::from_secret(b"a shared secret").expect("a key"),
    )
    .expect("signed");

    let cases: Vec<(&str, String, &str, &str)> = vec![
        (
            "wrong key",
            sign(&good_claims(), stranger),
            "invalid_grant",
            "invalid assertion",
        ),
        ("HS256", hs256, "invalid_grant", "invalid assertion"),
        (
            "not a JWT",
            "not.a.jwt".into(),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            "wrong iss",
            sign(
                &with(good_claims(), "iss", json!("3MVG9_SOMEONE_ELSE")),
                primary,
            ),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            "sandbox aud on production",
            sign(
                &with(good_claims(), "aud", json!("https://test.salesforce.com")),
                primary,
            ),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            "trailing slash aud",
            sign(
                &with(good_claims(), "aud", json!(format!("{AUDIENCE}/"))),
                primary,
            ),
            "invalid_grant",
            "audience is invalid",
        ),
        (
            "expired",
            sign(
                &with(good_claims(), "exp", json!(now_seconds() - 5)),
                primary,
            ),
            "invalid_grant",
            "expired authorization code",
        ),
        (
            "no exp",
            sign(
                &json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": AUDIENCE}),
                primary,
            ),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            "unapproved user",
            sign(
                &with(good_claims(), "sub", json!("someone@acme.example")),
                primary,
            ),
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        // The checks run in order: a bad signature hides everything else, iss comes before aud,
        // exp before the user.
        (
            "wrong key and iss",
            sign(&with(good_claims(), "iss", json!("x")), stranger),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            "wrong iss and aud",
            sign(
                &with(with(good_claims(), "aud", json!("x")), "iss", json!("x")),
                primary,
            ),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            "expired and unapproved",
            sign(
                &with(
                    with(good_claims(), "exp", json!(1)),
                    "sub",
                    json!("someone@acme.example"),
                ),
                primary,
            ),
            "invalid_grant",
            "expired authorization code",
        ),
    ];
    for (case, assertion, error, description) in cases {
        let answer = request_token(&sf, &assertion).await;
        assert_eq!(answer.status, 400, "{case}: {}", answer.body);
        assert_eq!(
            answer.json(),
            json!({"error": error, "error_description": description}),
            "{case}"
        );
    }
    assert_eq!(sf.tokens_issued(), 0);
}

#[tokio::test]
async fn prn_wins_over_sub_and_exp_has_no_upper_bound() {
    let sf = start().await;
    let key = &TestKeys::primary().private_pkcs8_pem;

    let prn = with(
        with(good_claims(), "sub", json!("someone@acme.example")),
        "prn",
        json!(USERNAME),
    );
    assert_eq!(request_token(&sf, &sign(&prn, key)).await.status, 200);
    let prn_wrong = with(good_claims(), "prn", json!("someone@acme.example"));
    assert_eq!(request_token(&sf, &sign(&prn_wrong, key)).await.status, 400);

    let milliseconds = with(good_claims(), "exp", json!(now_seconds() * 1000 + 300));
    assert_eq!(
        request_token(&sf, &sign(&milliseconds, key)).await.status,
        200
    );
}

#[tokio::test]
async fn only_a_form_with_the_literal_grant_type_is_taken() {
    let sf = start().await;
    let assertion = sign(&good_claims(), &TestKeys::primary().private_pkcs8_pem);
    let url = format!("{}/services/oauth2/token", sf.url());
    let refused =
        json!({"error": "unsupported_grant_type", "error_description": "grant type not supported"});

    let as_json = http()
        .post(&url)
        .json(&json!({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}))
        .send()
        .await
        .expect("answer");
    assert_eq!(as_json.status(), 400);
    assert_eq!(as_json.json::<Value>().await.expect("json"), refused);

    for grant_type in [
        "password",
        "urn:ietf:params:oauth:grant-type:JWT-bearer",
        "",
    ] {
        let answer = http()
            .post(&url)
            .form(&[
                ("grant_type", grant_type),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .expect("answer");
        assert_eq!(answer.status(), 400, "{grant_type}");
        assert_eq!(answer.json::<Value>().await.expect("json"), refused);
    }
    assert_eq!(sf.tokens_issued(), 0);
}

#[tokio::test]
async fn a_sandbox_org_wants_the_test_audience() {
    let sf = start_with(|options| options.audience = "https://test.salesforce.com".into()).await;
    let key = &TestKeys::primary().private_pkcs8_pem;
    let production = request_token(&sf, &sign(&good_claims(), key)).await;
    assert_eq!(
        production.json()["error_description"],
        "audience is invalid"
    );
    let sandbox = with(good_claims(), "aud", json!("https://test.salesforce.com"));
    assert_eq!(request_token(&sf, &sign(&sandbox, key)).await.status, 200);
}

#[tokio::test]
async fn a_public_key_that_is_not_rsa_pem_stops_the_start() {
    let options = sandbox::salesforce::SalesforceOptions::new(CLIENT_ID, USERNAME, "not a key");
    let error = sandbox::salesforce::SalesforceEmulator::start(options)
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}
