//! What every WHMCS emulator test needs: a client without a TLS provider of its own, form
//! posts with credentials, and a seeded shop.

pub(crate) use std::time::{Duration, Instant};

pub(crate) use bridge_runtime::http_client::{
    TransportFailure, TransportKind, install_crypto_provider,
};
pub(crate) use sandbox::whmcs::{
    ClientStatus, Fault, NewClient, NewProduct, NumberStyle, PayType, Times, WhmcsEmulator,
    WhmcsOptions,
};
pub(crate) use serde_json::Value;

/// One HTTP answer.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: String,
}

impl Answer {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {:?}", self.body))
    }
}

pub(crate) fn http() -> reqwest::Client {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Posts a raw form body.
pub(crate) async fn post_raw(emulator: &WhmcsEmulator, body: String) -> Answer {
    let response = http()
        .post(emulator.api_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("an HTTP answer");
    read(response).await
}

pub(crate) async fn read(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.expect("a body");
    Answer {
        status,
        content_type,
        body,
    }
}

/// The credential fields plus `responsetype=json` and the action.
pub(crate) fn authed(emulator: &WhmcsEmulator, action: &str) -> Vec<(String, String)> {
    vec![
        ("action".into(), action.into()),
        ("identifier".into(), emulator.identifier()),
        ("secret".into(), emulator.secret()),
        ("responsetype".into(), "json".into()),
    ]
}

pub(crate) fn with(
    mut form: Vec<(String, String)>,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    form.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    form
}

pub(crate) async fn post_form(emulator: &WhmcsEmulator, form: &[(String, String)]) -> Answer {
    let response = http()
        .post(emulator.api_url())
        .form(form)
        .send()
        .await
        .expect("an HTTP answer");
    read(response).await
}

/// Calls `action` with JSON and credentials.
pub(crate) async fn call(emulator: &WhmcsEmulator, action: &str, extra: &[(&str, &str)]) -> Answer {
    post_form(emulator, &with(authed(emulator, action), extra)).await
}

/// A client, a product and the AddOrder form for one monthly line.
pub(crate) struct Shop {
    pub(crate) emulator: WhmcsEmulator,
    pub(crate) client: u64,
    pub(crate) pid: u64,
}

pub(crate) async fn shop(options: WhmcsOptions) -> Shop {
    let emulator = WhmcsEmulator::start_with(options).await.expect("started");
    let client = emulator.add_client(NewClient::default());
    let pid = emulator.add_product(NewProduct::default());
    Shop {
        emulator,
        client,
        pid,
    }
}

impl Shop {
    pub(crate) async fn add_order(&self, extra: &[(&str, &str)]) -> Answer {
        let client = self.client.to_string();
        let pid = self.pid.to_string();
        let mut form = vec![
            ("clientid", client.as_str()),
            ("paymentmethod", "stripe"),
            ("pid[0]", pid.as_str()),
            ("billingcycle[0]", "monthly"),
        ];
        form.extend_from_slice(extra);
        call(&self.emulator, "AddOrder", &form).await
    }
}
