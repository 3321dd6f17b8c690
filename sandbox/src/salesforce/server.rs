//! The HTTP side of the emulator: the shared state, and the path every request takes — it is
//! recorded on arrival, meets any injected fault and the configured latency, and is then
//! answered by the token endpoint or the REST API.
//!
//! Each request is handled on its own task, so a client that gives up (a timeout) does not
//! cancel the work: a delayed `PATCH` still lands, as it would on a real org. Connections come
//! through WHMCS's hang-up listener, so a fault can close one without any answer.

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{ConnectInfo, State as Extract},
    http::{HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::Value;
use tokio::sync::watch;

use super::{
    api_error::{ApiFailure, html_page, json_response},
    faults::{FaultPlan, RequestKind, RestFault},
    flow::EventBus,
    oauth::{ConnectedApp, Sessions, oauth_error},
    ordered_json::OrderedJson,
    org::Org,
    paging::Locators,
    rest,
    schema::Catalog,
};
use crate::whmcs::conn::{Hangup, Peer};

/// The token endpoint's path.
const TOKEN_PATH: &str = "/services/oauth2/token";

/// One request as the emulator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `PATCH`, ...
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// The decoded `q` parameter of a query.
    pub soql: Option<String>,
    /// The JSON body, when there was one (never the token request's form).
    pub body: Option<Value>,
    /// The status answered; 0 while the request is still being handled, or when it never got
    /// an answer (a hang or a reset).
    pub status: u16,
}

/// What changes while the emulator runs; one lock, never held across an await.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) org: Org,
    pub(crate) bus: EventBus,
    pub(crate) sessions: Sessions,
    pub(crate) faults: FaultPlan,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) api_used: u64,
    pub(crate) locators: Locators,
}

/// Everything a request handler needs.
pub(crate) struct Shared {
    pub(crate) base_url: String,
    /// The org's objects and fields.
    pub(crate) catalog: &'static Catalog,
    pub(crate) app: ConnectedApp,
    pub(crate) username: String,
    pub(crate) org_id: String,
    pub(crate) user_id: String,
    pub(crate) approver_id: String,
    pub(crate) page_size: usize,
    pub(crate) api_limit: u64,
    pub(crate) latency: Duration,
    pub(crate) state: Mutex<State>,
    /// Turns `true` when the emulator shuts down, which ends hung requests.
    pub(crate) stopping: watch::Sender<bool>,
}

impl Shared {
    /// The state; a panic elsewhere while it was held does not make it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The one handler behind every path.
pub(crate) async fn entry(
    Extract(shared): Extract<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let task = tokio::spawn(serve(shared, peer.hangup, method, uri, headers, body));
    match task.await {
        Ok(response) => response,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn serve(
    shared: Arc<Shared>,
    hangup: Hangup,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let kind = classify(&method, &path);
    let soql = (kind == RequestKind::Query)
        .then(|| query_parameter(uri.query(), "q"))
        .flatten();
    let recorded_body = if kind == RequestKind::Token || body.is_empty() {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };

    let (slot, fault) = {
        let mut guard = shared.lock();
        let state = &mut *guard;
        state.requests.push(RecordedRequest {
            method: method.to_string(),
            path: path.clone(),
            soql,
            body: recorded_body,
            status: 0,
        });
        let slot = state.requests.len() - 1;
        (slot, state.faults.take(kind, &state.requests[slot]))
    };

    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    let response = match fault {
        Some(RestFault::Html(status)) => html_page(status),
        Some(RestFault::ApiError {
            status,
            error_code,
            message,
        }) => ApiFailure::on_fields(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            &error_code,
            message,
            &[],
        )
        .into_response(),
        Some(RestFault::OAuthError { error, description }) => oauth_error(&error, &description),
        Some(RestFault::MalformedJson) => cut_off_json(),
        Some(RestFault::Reset) => return hang_up(&hangup),
        Some(RestFault::Hang) => {
            let mut stopping = shared.stopping.subscribe();
            let _ = stopping.wait_for(|stopping| *stopping).await;
            return hang_up(&hangup);
        }
        Some(RestFault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            answer(&shared, &method, &uri, &headers, &body)
        }
        None => answer(&shared, &method, &uri, &headers, &body),
    };

    if let Some(request) = shared.lock().requests.get_mut(slot) {
        request.status = response.status().as_u16();
    }
    response
}

/// Closes the connection without an answer: the response returned is never written.
fn hang_up(hangup: &Hangup) -> Response {
    hangup.trigger();
    Response::default()
}

/// HTTP 200 with a JSON content type and the first half of a query answer.
fn cut_off_json() -> Response {
    (
        StatusCode::OK,
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static(super::api_error::JSON_CONTENT_TYPE),
        )],
        r#"{"totalSize":1,"done":true,"records":[{"attributes":{"type":"Order","#,
    )
        .into_response()
}

fn answer(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if uri.path() == TOKEN_PATH {
        return token(shared, headers, body);
    }
    rest::handle(shared, method, uri.path(), uri.query(), headers, body)
}

/// `POST /services/oauth2/token`: exactly the five fields of a JWT bearer success.
fn token(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Err(refusal) = shared.app.check(headers, body) {
        return oauth_error(refusal.error, refusal.description);
    }
    let access_token = shared.lock().sessions.issue(&shared.org_id);
    let text = |s: String| OrderedJson::from(Value::from(s));
    json_response(
        StatusCode::OK,
        &OrderedJson::Object(vec![
            ("access_token", text(access_token)),
            ("scope", text("api".into())),
            ("instance_url", text(shared.base_url.clone())),
            (
                "id",
                text(format!(
                    "{}/id/{}/{}",
                    shared.base_url, shared.org_id, shared.user_id
                )),
            ),
            ("token_type", text("Bearer".into())),
        ]),
    )
}

fn classify(method: &Method, path: &str) -> RequestKind {
    if path == TOKEN_PATH {
        return RequestKind::Token;
    }
    let Some(rest) = path.strip_prefix("/services/data/v") else {
        return RequestKind::Other;
    };
    let resource = rest.split_once('/').map_or("", |(_, resource)| resource);
    if *method == Method::GET && (resource == "query" || resource.starts_with("query/")) {
        RequestKind::Query
    } else if *method == Method::PATCH && resource.starts_with("sobjects/Order/") {
        RequestKind::PatchOrder
    } else {
        RequestKind::Other
    }
}

fn query_parameter(query: Option<&str>, name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query?).ok()?;
    pairs
        .into_iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_classified_for_fault_targets() {
        let cases = [
            (Method::POST, "/services/oauth2/token", RequestKind::Token),
            (
                Method::GET,
                "/services/data/v66.0/query",
                RequestKind::Query,
            ),
            (
                Method::GET,
                "/services/data/v66.0/query/01gX-2000",
                RequestKind::Query,
            ),
            (
                Method::PATCH,
                "/services/data/v66.0/sobjects/Order/801x",
                RequestKind::PatchOrder,
            ),
            (
                Method::PATCH,
                "/services/data/v66.0/sobjects/OrderItem/802x",
                RequestKind::Other,
            ),
            (
                Method::POST,
                "/services/data/v66.0/query",
                RequestKind::Other,
            ),
            (Method::GET, "/services/oauth2/userinfo", RequestKind::Other),
        ];
        for (method, path, kind) in cases {
            assert_eq!(classify(&method, path), kind, "{method} {path}");
        }
    }

    #[test]
    fn the_q_parameter_is_decoded() {
        assert_eq!(
            query_parameter(Some("q=SELECT+Id%2C+Name+FROM+Account"), "q").as_deref(),
            Some("SELECT Id, Name FROM Account")
        );
        assert_eq!(query_parameter(None, "q"), None);
    }
}
