//! The JWT bearer client and the REST client against a local fake of Salesforce's token
//! endpoint and REST API, served over a real socket. The fake verifies each assertion's RS256
//! signature with the public key, as Salesforce does with the connected app's certificate.

#![allow(
    clippy::unwrap_used,
    reason = "a test's helpers fail loudly on broken set-up"
)]

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Form, Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, patch, post},
};
use base64::Engine;
use bridge_runtime::{
    config::SalesforceSettings,
    salesforce::{
        AuthError, JwtBearer, OAuthErrorKind, QueryResult, RestClient, RestError, SalesforceId,
    },
};
use bridge_tests::TestKeys;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

const CLIENT_ID: &str = "3MVG9_TEST_CONSUMER_KEY";
const USERNAME: &str = "integration@example.com";
const AUDIENCE: &str = "https://login.salesforce.com";
const ORG_ID: &str = "00DHp000001aBcDMAU";
const USER_ID: &str = "005Hp00000AaBbCIAV";

/// What the fake org knows and what it was asked.
#[derive(Default)]
struct FakeOrg {
    public_pem: String,
    token_requests: AtomicUsize,
    issued: Mutex<Vec<String>>,
    expired: Mutex<HashSet<String>>,
    token_page: Mutex<Option<(StatusCode, String)>>,
    patch_errors: Mutex<Option<Value>>,
    base: Mutex<String>,
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    assertion: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn unverified_issuer(assertion: &str) -> Value {
    let payload = assertion.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap_or_default();
    serde_json::from_slice::<Value>(&bytes).unwrap_or_default()["iss"].clone()
}

async fn token(State(org): State<Arc<FakeOrg>>, Form(form): Form<TokenForm>) -> Response {
    org.token_requests.fetch_add(1, Ordering::SeqCst);
    if let Some((status, body)) = org.token_page.lock().unwrap().clone() {
        return (status, [("content-type", "text/html")], body).into_response();
    }
    if form.grant_type != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return oauth_error("unsupported_grant_type", "grant type not supported");
    }
    if unverified_issuer(&form.assertion) != CLIENT_ID {
        return oauth_error("invalid_client_id", "client identifier invalid");
    }
    let key = DecodingKey::from_rsa_pem(org.public_pem.as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    validation.leeway = 0;
    validation.set_audience(&[AUDIENCE]);
    let claims = match jsonwebtoken::decode::<Claims>(&form.assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(err) => {
            use jsonwebtoken::errors::ErrorKind;
            return match err.kind() {
                ErrorKind::InvalidAudience => oauth_error("invalid_grant", "audience is invalid"),
                ErrorKind::ExpiredSignature => {
                    oauth_error("invalid_grant", "expired authorization code")
                }
                _ => oauth_error("invalid_grant", "invalid assertion"),
            };
        }
    };
    if claims.sub != USERNAME {
        return oauth_error("invalid_grant", "user hasn't approved this consumer");
    }

    let mut issued = org.issued.lock().unwrap();
    let access_token = format!("00DHp000001aBcD!AQ0token{}", issued.len() + 1);
    issued.push(access_token.clone());
    let base = org.base.lock().unwrap().clone();
    Json(json!({
        "access_token": access_token,
        "scope": "api",
        "instance_url": base,
        "id": format!("https://login.salesforce.com/id/{ORG_ID}/{USER_ID}"),
        "token_type": "Bearer",
    }))
    .into_response()
}

/// The 401 Salesforce gives for an unknown or expired token, if this one is.
fn session_refusal(org: &FakeOrg, headers: &HeaderMap) -> Option<Response> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let known = org.issued.lock().unwrap().contains(&token);
    if !known || org.expired.lock().unwrap().contains(&token) {
        let body =
            json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]);
        return Some((StatusCode::UNAUTHORIZED, Json(body)).into_response());
    }
    None
}

async fn query(State(org): State<Arc<FakeOrg>>, headers: HeaderMap) -> Response {
    if let Some(refusal) = session_refusal(&org, &headers) {
        return refusal;
    }
    (
        [("sforce-limit-info", "api-usage=42/15000")],
        Json(json!({
            "totalSize": 1,
            "done": true,
            "records": [{
                "attributes": {"type": "Order"},
                "Id": "801xx000003GZ0nAAG",
                "Activation_Status__c": "Activating"
            }]
        })),
    )
        .into_response()
}

async fn update_order(
    State(org): State<Arc<FakeOrg>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refusal) = session_refusal(&org, &headers) {
        return refusal;
    }
    assert_eq!(id, "801xx000003GZ0nAAG");
    assert!(body.is_object());
    match org.patch_errors.lock().unwrap().clone() {
        Some(errors) => (StatusCode::BAD_REQUEST, Json(errors)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

struct Harness {
    org: Arc<FakeOrg>,
    base: Url,
    key_path: std::path::PathBuf,
    _key_dir: tempfile::TempDir,
}

impl Harness {
    async fn start() -> Self {
        let org = Arc::new(FakeOrg {
            public_pem: TestKeys::primary().public_pem.clone(),
            ..FakeOrg::default()
        });
        let app = Router::new()
            .route("/services/oauth2/token", post(token))
            .route("/services/data/v66.0/query", get(query))
            .route(
                "/services/data/v66.0/sobjects/Order/{id}",
                patch(update_order),
            )
            .with_state(org.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let base = Url::parse(&format!("http://{addr}")).unwrap();
        *org.base.lock().unwrap() = format!("http://{addr}");

        let key_dir = tempfile::tempdir().unwrap();
        let key_path = key_dir.path().join("sf-private.key");
        std::fs::write(&key_path, &TestKeys::primary().private_pkcs8_pem).unwrap();
        Self {
            org,
            base,
            key_path,
            _key_dir: key_dir,
        }
    }

    fn settings(&self) -> SalesforceSettings {
        SalesforceSettings {
            login_url: self.base.clone(),
            client_id: CLIENT_ID.into(),
            username: USERNAME.into(),
            private_key_path: self.key_path.clone(),
            audience: AUDIENCE.into(),
            api_version: "66.0".into(),
            http_timeout: Duration::from_secs(5),
        }
    }

    fn auth(&self) -> Arc<JwtBearer> {
        Arc::new(JwtBearer::new(self.settings()).unwrap())
    }

    fn use_key(&self, pem: &str) {
        std::fs::write(&self.key_path, pem).unwrap();
    }

    fn token_requests(&self) -> usize {
        self.org.token_requests.load(Ordering::SeqCst)
    }

    fn expire(&self, token: &str) {
        self.org.expired.lock().unwrap().insert(token.to_owned());
    }
}

fn rest(auth: Arc<JwtBearer>) -> RestClient {
    let http = bridge_runtime::http_client::build_client(Duration::from_secs(5)).unwrap();
    RestClient::new(auth, http, "66.0")
}

fn rejection(error: &AuthError) -> (&OAuthErrorKind, &str) {
    match error {
        AuthError::Rejected {
            kind, description, ..
        } => (kind, description.as_str()),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_pkcs8_key_authenticates_and_gives_instance_url_and_org_id() {
    let harness = Harness::start().await;

    let session = harness.auth().session().await.expect("session");

    assert_eq!(session.instance_url, harness.base);
    assert_eq!(session.org_id, ORG_ID);
    assert_eq!(session.user_id, USER_ID);
    assert_eq!(session.access_token.expose(), "00DHp000001aBcD!AQ0token1");
    assert!(
        !format!("{session:?}").contains("token1"),
        "the token is redacted"
    );
}

#[tokio::test]
async fn a_pkcs1_key_authenticates_too() {
    let harness = Harness::start().await;
    harness.use_key(&TestKeys::primary().private_pkcs1_pem);

    let session = harness.auth().session().await.expect("session");

    assert_eq!(session.org_id, ORG_ID);
}

#[tokio::test]
async fn a_key_the_org_does_not_know_is_refused_as_invalid_grant() {
    let harness = Harness::start().await;
    harness.use_key(&TestKeys::stranger().private_pkcs8_pem);

    let error = harness.auth().session().await.expect_err("wrong key");

    assert_eq!(
        rejection(&error),
        (&OAuthErrorKind::InvalidGrant, "invalid assertion")
    );
    assert!(matches!(error, AuthError::Rejected { status: 400, .. }));
    let message = error.to_string();
    assert!(
        message.contains("invalid_grant") && message.contains("SF_PRIVATE_KEY_PATH"),
        "{message}"
    );
    assert!(!message.contains("PRIVATE KEY"), "no key text in {message}");
}

#[tokio::test]
async fn unapproved_users_unknown_clients_and_wrong_audiences_are_told_apart() {
    let harness = Harness::start().await;

    let mut settings = harness.settings();
    settings.username = "someone-else@example.com".into();
    let error = JwtBearer::new(settings)
        .unwrap()
        .session()
        .await
        .unwrap_err();
    assert_eq!(
        rejection(&error),
        (
            &OAuthErrorKind::InvalidGrant,
            "user hasn't approved this consumer"
        )
    );

    let mut settings = harness.settings();
    settings.client_id = "3MVG9_SOMEONE_ELSES_APP".into();
    let error = JwtBearer::new(settings)
        .unwrap()
        .session()
        .await
        .unwrap_err();
    assert_eq!(
        rejection(&error),
        (
            &OAuthErrorKind::InvalidClientId,
            "client identifier invalid"
        )
    );

    let mut settings = harness.settings();
    settings.audience = "https://test.salesforce.com".into();
    let error = JwtBearer::new(settings)
        .unwrap()
        .session()
        .await
        .unwrap_err();
    assert_eq!(
        rejection(&error),
        (&OAuthErrorKind::InvalidGrant, "audience is invalid")
    );
}

#[tokio::test]
async fn a_missing_or_malformed_key_is_named_without_its_content() {
    let harness = Harness::start().await;
    harness.use_key(
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ1dC1icm9rZW4=\n-----END PRIVATE KEY-----\n",
    );

    let error = harness.auth().session().await.expect_err("malformed key");
    assert!(matches!(error, AuthError::PrivateKey { .. }), "{error:?}");
    assert!(!error.to_string().contains("c2VjcmV0"), "{error}");

    std::fs::remove_file(&harness.key_path).unwrap();
    let error = harness.auth().session().await.expect_err("missing key");
    assert!(error.to_string().contains("sf-private.key"), "{error}");
    assert_eq!(
        harness.token_requests(),
        0,
        "nothing was sent without a key"
    );
}

#[tokio::test]
async fn a_rotated_key_is_picked_up_at_the_next_token() {
    let harness = Harness::start().await;
    harness.use_key(&TestKeys::stranger().private_pkcs8_pem);
    let auth = harness.auth();
    auth.session().await.expect_err("the old key is refused");

    harness.use_key(&TestKeys::primary().private_pkcs1_pem);

    auth.session().await.expect("the new key is read from disk");
}

#[tokio::test]
async fn an_html_answer_from_the_token_endpoint_is_reported_as_such() {
    let harness = Harness::start().await;
    *harness.org.token_page.lock().unwrap() = Some((
        StatusCode::SERVICE_UNAVAILABLE,
        "<html><body>Down for maintenance</body></html>".into(),
    ));

    let error = harness.auth().session().await.expect_err("maintenance");

    match error {
        AuthError::UnexpectedResponse { status, detail } => {
            assert_eq!(status, 503);
            assert_eq!(detail, "an HTML page");
        }
        other => panic!("expected an unexpected response, got {other:?}"),
    }
}

#[tokio::test]
async fn a_401_later_is_answered_by_a_single_reauthentication() {
    let harness = Harness::start().await;
    let client = rest(harness.auth());

    let first: QueryResult<Value> = client.query("SELECT Id FROM Order").await.expect("query");
    assert_eq!(first.records[0]["Id"], "801xx000003GZ0nAAG");
    assert_eq!(harness.token_requests(), 1);

    // The session expires, and many calls meet the 401 at once.
    harness.expire("00DHp000001aBcD!AQ0token1");
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.query::<Value>("SELECT Id FROM Order").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().expect("query after re-authentication");
    }

    assert_eq!(harness.token_requests(), 2, "one token for all eight calls");
    assert_eq!(client.api_usage().get(), Some((42, 15000)));
}

#[tokio::test]
async fn a_session_refused_again_after_reauthentication_is_an_error_not_a_loop() {
    let harness = Harness::start().await;
    let client = rest(harness.auth());
    client
        .query::<Value>("SELECT Id FROM Order")
        .await
        .expect("query");

    // Every token is refused from now on.
    for n in 1..=3 {
        harness.expire(&format!("00DHp000001aBcD!AQ0token{n}"));
    }
    let error = client
        .query::<Value>("SELECT Id FROM Order")
        .await
        .expect_err("refused");

    assert_eq!(error.error_code(), Some("INVALID_SESSION_ID"));
    assert_eq!(harness.token_requests(), 2, "exactly one re-authentication");
}

#[tokio::test]
async fn salesforce_error_arrays_become_typed_errors() {
    let harness = Harness::start().await;
    let client = rest(harness.auth());
    let order = SalesforceId::parse("801xx000003GZ0n").unwrap();

    client
        .update(
            "Order",
            &order,
            &json!({"Activation_Status__c": "Activated"}),
        )
        .await
        .expect("204");

    *harness.org.patch_errors.lock().unwrap() = Some(json!([{
        "message": "unable to obtain exclusive access to this record or 1 records: 801xx000003GZ0nAAG",
        "errorCode": "UNABLE_TO_LOCK_ROW",
        "fields": []
    }]));
    let error = client
        .update("Order", &order, &json!({"Activation_Status__c": "Failed"}))
        .await
        .expect_err("locked");

    assert!(
        matches!(&error, RestError::Refused { status: 400, .. }),
        "{error:?}"
    );
    assert_eq!(error.error_code(), Some("UNABLE_TO_LOCK_ROW"));
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_a_transport_error() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let harness = Harness::start().await;
    let mut settings = harness.settings();
    settings.login_url = Url::parse(&format!("http://{addr}")).unwrap();

    let error = JwtBearer::new(settings)
        .unwrap()
        .session()
        .await
        .unwrap_err();

    match error {
        AuthError::Transport(failure) => assert_eq!(failure.kind.code(), "ECONNREFUSED"),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_waiting_on_a_refused_token_request_share_its_answer() {
    let harness = Harness::start().await;
    harness.use_key(&TestKeys::stranger().private_pkcs8_pem);
    let auth = harness.auth();

    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let auth = auth.clone();
        callers.spawn(async move { auth.session().await.map(|_| ()) });
    }
    let answers = callers.join_all().await;

    assert!(answers.iter().all(Result::is_err));
    assert!(
        harness.token_requests() < 20,
        "{} token requests for 20 waiting callers",
        harness.token_requests()
    );

    // A later call, after the burst, asks again: a fixed key is picked up.
    harness.use_key(&TestKeys::primary().private_pkcs8_pem);
    auth.session().await.expect("a fresh attempt succeeds");
}
