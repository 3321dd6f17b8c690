//! The Salesforce emulator over real HTTP: the JWT bearer token endpoint, sessions, SOQL
//! queries, `PATCH` of Orders, platform event publishing, the provisioning Flow, faults, and
//! the product's own Salesforce client against it. Assertions are signed with
//! `jsonwebtoken` and keys made at test time.

#[path = "salesforce/client.rs"]
mod client;
#[path = "salesforce/faults.rs"]
mod faults;
#[path = "salesforce/flow.rs"]
mod flow;
#[path = "salesforce/query.rs"]
mod query;
#[path = "salesforce/records.rs"]
mod records;
#[path = "salesforce/source.rs"]
mod source;
#[path = "salesforce/token.rs"]
mod token;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bridge_runtime::http_client::install_crypto_provider;
use bridge_tests::TestKeys;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sandbox::salesforce::{NewItem, NewOrder, SalesforceEmulator, SalesforceOptions};
use serde_json::{Value, json};

/// The connected app's consumer key.
const CLIENT_ID: &str = "3MVG9_EMULATOR_TEST_CONSUMER_KEY";
/// The pre-approved integration user.
const USERNAME: &str = "integration@acme.example";
/// The production audience.
const AUDIENCE: &str = "https://login.salesforce.com";
/// The data API base path the tests use.
const V: &str = "/services/data/v66.0";

/// An org with the primary test key and default options.
async fn start() -> SalesforceEmulator {
    start_with(|_| {}).await
}

/// An org whose options `adjust` changes first.
async fn start_with(adjust: impl FnOnce(&mut SalesforceOptions)) -> SalesforceEmulator {
    install_crypto_provider();
    let mut options = SalesforceOptions::new(CLIENT_ID, USERNAME, &TestKeys::primary().public_pem);
    adjust(&mut options);
    SalesforceEmulator::start(options)
        .await
        .expect("the emulator starts")
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// Claims that the org accepts.
fn good_claims() -> Value {
    json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": AUDIENCE, "exp": now_seconds() + 180})
}

/// An RS256 assertion of `claims` signed with `private_pem` (PKCS#1 or PKCS#8).
fn sign(claims: &Value, private_pem: &str) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("an RSA key");
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).expect("signed")
}

/// One HTTP answer.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Self {
        Self {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.expect("a body"),
        }
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {:?}", self.body))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    }

    /// The first `errorCode` of a Salesforce error array.
    fn error_code(&self) -> String {
        self.json()[0]["errorCode"]
            .as_str()
            .unwrap_or_else(|| panic!("no error array: {}", self.body))
            .to_owned()
    }

    fn error_message(&self) -> String {
        self.json()[0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

fn http() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client")
}

/// Posts an assertion to the token endpoint as a form.
async fn request_token(sf: &SalesforceEmulator, assertion: &str) -> Answer {
    let response = http()
        .post(format!("{}/services/oauth2/token", sf.url()))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ])
        .send()
        .await
        .expect("an answer");
    Answer::read(response).await
}

/// A REST client holding one session.
struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    /// Logs in with a good assertion.
    async fn login(sf: &SalesforceEmulator) -> Self {
        let answer = request_token(
            sf,
            &sign(&good_claims(), &TestKeys::primary().private_pkcs8_pem),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let token = answer.json()["access_token"]
            .as_str()
            .expect("a token")
            .to_owned();
        Self {
            base: sf.url(),
            token,
            http: http(),
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("an answer");
        Answer::read(response).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    async fn query(&self, soql: &str) -> Answer {
        self.send(
            self.http
                .get(format!("{}{V}/query", self.base))
                .query(&[("q", soql)]),
        )
        .await
    }

    async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.send(self.http.patch(format!("{}{path}", self.base)).json(body))
            .await
    }

    async fn patch_order(&self, id: &str, body: &Value) -> Answer {
        self.patch(&format!("{V}/sobjects/Order/{id}"), body).await
    }

    async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.http.post(format!("{}{path}", self.base)).json(body))
            .await
    }
}

/// A small catalogue and one Order of two items: one mapped product, one without a WHMCS id
/// or billing cycle.
struct Seed {
    account: String,
    mapped: String,
    unmapped: String,
    order: String,
}

fn seed(sf: &SalesforceEmulator) -> Seed {
    let account = sf.add_account("Acme Ltd", Some("1042"));
    let mapped = sf.add_product("VPS Small", Some("7"), Some("Monthly"));
    let unmapped = sf.add_product("Dedicated Large", None, None);
    let order = sf.add_order(NewOrder {
        account_id: account.clone(),
        pricebook_id: sf.standard_pricebook_id(),
        items: vec![
            NewItem {
                product_id: mapped.clone(),
                quantity: 3.0,
                unit_price: 40.0,
            },
            NewItem {
                product_id: unmapped.clone(),
                quantity: 1.0,
                unit_price: 1320.0,
            },
        ],
    });
    Seed {
        account,
        mapped,
        unmapped,
        order,
    }
}

/// The Order's field by API name.
fn order_field(sf: &SalesforceEmulator, id: &str, field: &str) -> Value {
    sf.order(id).expect("the order exists")[field].clone()
}
