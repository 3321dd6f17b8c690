//! A small client for the Salesforce REST API: SOQL queries and `PATCH` of one record.
//!
//! Every call carries the session's bearer token. A 401 re-runs the JWT flow once (single
//! flight, see [`JwtBearer::reauthenticate`]) and repeats that one call; that is
//! authentication, not a retry, and nothing else is ever repeated here. Error arrays become
//! [`RestError::Refused`] with Salesforce's own `errorCode`s, and each answer's
//! `Sforce-Limit-Info` header is recorded ([`ApiUsage`]).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use reqwest::{Method, StatusCode};
use serde::{Deserialize, de::DeserializeOwned};
use url::Url;

use super::{
    SalesforceId,
    auth::{AuthError, JwtBearer, Session, describe_body},
};
use crate::http_client::TransportFailure;

/// The header that reports the org's API usage.
pub const LIMIT_INFO_HEADER: &str = "sforce-limit-info";

/// One page of a SOQL query's result.
#[derive(Debug, Clone, Deserialize)]
pub struct QueryResult<T> {
    /// Rows over all pages.
    #[serde(rename = "totalSize")]
    pub total_size: u64,
    /// Whether this is the last page.
    pub done: bool,
    /// Where the next page is, when `done` is false.
    #[serde(rename = "nextRecordsUrl", default)]
    pub next_records_url: Option<String>,
    /// The rows of this page.
    pub records: Vec<T>,
}

/// One entry of a Salesforce error array.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiError {
    /// Human-readable text.
    pub message: String,
    /// The code, e.g. `UNABLE_TO_LOCK_ROW` or `INVALID_FIELD`.
    #[serde(rename = "errorCode")]
    pub error_code: String,
    /// The fields concerned, when Salesforce says.
    #[serde(default)]
    pub fields: Option<Vec<String>>,
}

/// Why a REST call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// No session could be had.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Salesforce answered with an error array.
    #[error("Salesforce refused the call (HTTP {status}): {}", summarise(errors))]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The error array, never empty.
        errors: Vec<ApiError>,
    },
    /// An error status without an error array (a maintenance page, a proxy error).
    #[error("Salesforce answered HTTP {status} with {detail}")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
        /// A short description of the body.
        detail: String,
    },
    /// A success status whose body is not what the call expects.
    #[error("Salesforce answered HTTP {status} with a body that could not be read: {detail}")]
    Protocol {
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
    /// No answer at all.
    #[error("Salesforce could not be reached: {0}")]
    Transport(#[from] TransportFailure),
}

impl RestError {
    /// The first Salesforce `errorCode`, when Salesforce gave one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Self::Refused { errors, .. } => errors.first().map(|e| e.error_code.as_str()),
            _ => None,
        }
    }

    /// The HTTP status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused { status, .. }
            | Self::UnexpectedStatus { status, .. }
            | Self::Protocol { status, .. } => Some(*status),
            Self::Auth(AuthError::Rejected { status, .. })
            | Self::Auth(AuthError::UnexpectedResponse { status, .. }) => Some(*status),
            _ => None,
        }
    }
}

fn summarise(errors: &[ApiError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The org's API usage as the last `Sforce-Limit-Info` header reported it.
#[derive(Debug, Default)]
pub struct ApiUsage {
    used: AtomicU64,
    limit: AtomicU64,
}

impl ApiUsage {
    /// `(used, limit)` of the rolling 24-hour allowance, once a header was seen.
    pub fn get(&self) -> Option<(u64, u64)> {
        let limit = self.limit.load(Ordering::Relaxed);
        (limit > 0).then(|| (self.used.load(Ordering::Relaxed), limit))
    }

    /// Reads `api-usage=<used>/<limit>` out of a header such as
    /// `api-usage=18/5000; per-app-api-usage=17/250(appName=x)`. Other items are ignored.
    pub fn record(&self, header: &str) {
        let Some((used, limit)) = parse_api_usage(header) else {
            return;
        };
        self.used.store(used, Ordering::Relaxed);
        self.limit.store(limit, Ordering::Relaxed);
        metrics::gauge!("salesforce_api_requests_used").set(used as f64);
        metrics::gauge!("salesforce_api_requests_limit").set(limit as f64);
    }
}

fn parse_api_usage(header: &str) -> Option<(u64, u64)> {
    header.split(';').find_map(|item| {
        let (name, value) = item.trim().split_once('=')?;
        if name != "api-usage" {
            return None;
        }
        let (used, limit) = value.split_once('/')?;
        Some((used.trim().parse().ok()?, limit.trim().parse().ok()?))
    })
}

/// The REST client of one org.
#[derive(Clone)]
pub struct RestClient {
    auth: Arc<JwtBearer>,
    http: reqwest::Client,
    api_version: String,
    usage: Arc<ApiUsage>,
}

impl RestClient {
    /// A client using `auth` for sessions and `api_version` (e.g. `66.0`) for paths.
    pub fn new(
        auth: Arc<JwtBearer>,
        http: reqwest::Client,
        api_version: impl Into<String>,
    ) -> Self {
        Self {
            auth,
            http,
            api_version: api_version.into(),
            usage: Arc::default(),
        }
    }

    /// The API usage last reported.
    pub fn api_usage(&self) -> &ApiUsage {
        &self.usage
    }

    /// The authentication this client uses.
    pub fn auth(&self) -> &Arc<JwtBearer> {
        &self.auth
    }

    /// Runs a SOQL query and returns its first page. The caller builds `soql` only from
    /// validated values (see [`SalesforceId`]).
    pub async fn query<T: DeserializeOwned>(
        &self,
        soql: &str,
    ) -> Result<QueryResult<T>, RestError> {
        let path = format!("/services/data/v{}/query", self.api_version);
        let (status, body) = self.call(Method::GET, &path, Some(soql), None).await?;
        parse_query_page(status.as_u16(), &body)
    }

    /// Fetches the page a `nextRecordsUrl` names.
    pub async fn query_more<T: DeserializeOwned>(
        &self,
        next_records_url: &str,
    ) -> Result<QueryResult<T>, RestError> {
        if !next_records_url.starts_with("/services/data/") {
            return Err(RestError::Protocol {
                status: 200,
                detail: format!("nextRecordsUrl {next_records_url:?} is not a data API path"),
            });
        }
        let (status, body) = self.call(Method::GET, next_records_url, None, None).await?;
        parse_query_page(status.as_u16(), &body)
    }

    /// Sets `fields` (a JSON object; `null` clears a field) on one record with `PATCH`.
    pub async fn update(
        &self,
        sobject: &str,
        id: &SalesforceId,
        fields: &serde_json::Value,
    ) -> Result<(), RestError> {
        debug_assert!(
            sobject
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        );
        let path = format!(
            "/services/data/v{}/sobjects/{sobject}/{id}",
            self.api_version
        );
        let (status, body) = self.call(Method::PATCH, &path, None, Some(fields)).await?;
        check_update_answer(status.as_u16(), &body)
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        soql: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, bytes::Bytes), RestError> {
        let session = self.auth.session().await?;
        let (status, bytes) = self
            .send(&session, method.clone(), path, soql, body)
            .await?;
        let (status, bytes) = if status == StatusCode::UNAUTHORIZED && expiry_can_explain(&bytes) {
            tracing::info!("Salesforce refused the session; authenticating again");
            let fresh = self.auth.reauthenticate(&session).await?;
            self.send(&fresh, method, path, soql, body).await?
        } else {
            (status, bytes)
        };

        if status.is_success() {
            return Ok((status, bytes));
        }
        Err(parse_error_answer(status.as_u16(), &bytes))
    }

    async fn send(
        &self,
        session: &Session,
        method: Method,
        path: &str,
        soql: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<(StatusCode, bytes::Bytes), RestError> {
        let url = endpoint(&session.instance_url, path)?;
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(session.access_token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(soql) = soql {
            request = request.query(&[("q", soql)]);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| TransportFailure::classify(&err))?;
        if let Some(header) = response
            .headers()
            .get(LIMIT_INFO_HEADER)
            .and_then(|value| value.to_str().ok())
        {
            self.usage.record(header);
        }
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| TransportFailure::classify(&err))?;
        if status.is_success() {
            return Ok((status, bytes));
        }
        // Error text ends up in logs and on the Order; a proxy that echoes the request must not
        // carry the access token there.
        let scrubbed = scrub(&bytes, session.access_token.expose());
        Ok((status, scrubbed))
    }
}

/// `body` with every occurrence of `secret` replaced by a mask.
fn scrub(body: &bytes::Bytes, secret: &str) -> bytes::Bytes {
    let text = String::from_utf8_lossy(body);
    if secret.is_empty() || !text.contains(secret) {
        return body.clone();
    }
    bytes::Bytes::from(text.replace(secret, crate::REDACTED))
}

fn endpoint(instance_url: &Url, path: &str) -> Result<Url, RestError> {
    instance_url.join(path).map_err(|err| RestError::Protocol {
        status: 0,
        detail: format!("path {path:?} cannot be joined to the instance URL: {err}"),
    })
}

/// Whether a 2xx answer to a `PATCH` (`status`, `body`) shows the update was made. Salesforce
/// answers 204 with no body, or 200 with a JSON object; a success status with anything else (a
/// proxy's or a captive portal's HTML page, a body cut off) does not come from Salesforce and
/// says nothing about the record, so it is a [`RestError::Protocol`], not a success.
fn check_update_answer(status: u16, body: &[u8]) -> Result<(), RestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(RestError::Protocol {
            status,
            detail: format!(
                "an update must answer 204 or a JSON object, not {}",
                describe_body(body)
            ),
        }),
    }
}

/// Some 401s come from the app's policy, not from an expired session; a new token would be
/// refused the same way, so those are reported at once.
fn expiry_can_explain(body: &[u8]) -> bool {
    const POLICY_REFUSALS: [&str; 2] = [
        "This session is not valid for use with the REST API",
        "BlackTab users cannot perform API operations",
    ];
    let text = String::from_utf8_lossy(body);
    !POLICY_REFUSALS.iter().any(|refusal| text.contains(refusal))
}

/// What an error status `status` (not 2xx) with `body` means: [`RestError::Refused`] when the
/// body is a non-empty Salesforce error array, [`RestError::UnexpectedStatus`] otherwise.
pub fn parse_error_answer(status: u16, body: &[u8]) -> RestError {
    match serde_json::from_slice::<Vec<ApiError>>(body) {
        Ok(errors) if !errors.is_empty() => RestError::Refused { status, errors },
        _ => RestError::UnexpectedStatus {
            status,
            detail: describe_body(body),
        },
    }
}

/// Reads one page of a query's answer (`status` is the 2xx it came with, kept for the error).
pub fn parse_query_page<T: DeserializeOwned>(
    status: u16,
    body: &[u8],
) -> Result<QueryResult<T>, RestError> {
    serde_json::from_slice(body).map_err(|err| RestError::Protocol {
        status,
        detail: format!("{err}; body was {}", describe_body(body)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_answered_by_something_else_than_salesforce_is_not_a_success() {
        assert!(check_update_answer(204, b"").is_ok());
        assert!(check_update_answer(200, br#"{"id":"801x","success":true,"errors":[]}"#).is_ok());
        let page = b"<!DOCTYPE html><html><body>Service unavailable</body></html>";
        assert!(matches!(
            check_update_answer(200, page),
            Err(RestError::Protocol { status: 200, detail }) if detail.contains("an HTML page")
        ));
        assert!(matches!(
            check_update_answer(200, br#"{"totalSize":1,"done":tr"#),
            Err(RestError::Protocol { .. })
        ));
        assert!(matches!(
            check_update_answer(200, b"[]"),
            Err(RestError::Protocol { .. })
        ));
    }

    #[test]
    fn echoed_tokens_are_masked() {
        let body = bytes::Bytes::from_static(
            b"[{\"message\":\"Bearer 00D!tok echoed\",\"errorCode\":\"X\"}]",
        );
        let scrubbed = scrub(&body, "00D!tok");
        assert!(!String::from_utf8_lossy(&scrubbed).contains("00D!tok"));
        assert!(String::from_utf8_lossy(&scrubbed).contains(crate::REDACTED));
        assert_eq!(scrub(&body, "absent"), body);
    }

    #[test]
    fn api_usage_is_read_from_any_position() {
        assert_eq!(parse_api_usage("api-usage=18/5000"), Some((18, 5000)));
        assert_eq!(
            parse_api_usage("per-app-api-usage=17/250(appName=x); api-usage=19/5000"),
            Some((19, 5000))
        );
        assert_eq!(parse_api_usage("api-usage=lots"), None);
        assert_eq!(parse_api_usage(""), None);
    }

    #[test]
    fn error_arrays_give_the_first_code() {
        let errors: Vec<ApiError> = serde_json::from_str(
            r#"[{"message":"unable to obtain exclusive access to this record","errorCode":"UNABLE_TO_LOCK_ROW","fields":[]},
                {"message":"second","errorCode":"OTHER"}]"#,
        )
        .expect("error array");
        let error = RestError::Refused {
            status: 400,
            errors,
        };
        assert_eq!(error.error_code(), Some("UNABLE_TO_LOCK_ROW"));
        assert_eq!(error.status(), Some(400));
        assert!(
            error
                .to_string()
                .contains("UNABLE_TO_LOCK_ROW: unable to obtain")
        );
    }
}
