//! Salesforce's REST error answers: an HTTP status and a JSON array of
//! `{"message", "errorCode", "fields"}` objects, plus the HTML page of a maintenance window.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// The content type of every JSON answer.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// One entry of an error array.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorEntry {
    message: String,
    #[serde(rename = "errorCode")]
    error_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<String>>,
}

/// A refused REST call.
#[derive(Debug, Clone)]
pub(crate) struct ApiFailure {
    pub(crate) status: StatusCode,
    pub(crate) errors: Vec<ErrorEntry>,
}

impl ApiFailure {
    /// One error without a `fields` member (what session, query and routing errors look like).
    pub(crate) fn new(status: StatusCode, error_code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: vec![ErrorEntry {
                message: message.into(),
                error_code: error_code.to_owned(),
                fields: None,
            }],
        }
    }

    /// One error about the named fields (what record saves report).
    pub(crate) fn on_fields(
        status: StatusCode,
        error_code: &str,
        message: impl Into<String>,
        fields: &[&str],
    ) -> Self {
        Self {
            status,
            errors: vec![Self::field_entry(error_code, message, fields)],
        }
    }

    /// An entry for [`ApiFailure::many`].
    pub(crate) fn field_entry(
        error_code: &str,
        message: impl Into<String>,
        fields: &[&str],
    ) -> ErrorEntry {
        ErrorEntry {
            message: message.into(),
            error_code: error_code.to_owned(),
            fields: Some(fields.iter().map(|f| (*f).to_owned()).collect()),
        }
    }

    /// Several errors in one answer.
    pub(crate) fn many(status: StatusCode, errors: Vec<ErrorEntry>) -> Self {
        Self { status, errors }
    }

    /// `404 NOT_FOUND`, Salesforce's answer for a path or record that does not exist.
    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    /// `401 INVALID_SESSION_ID`.
    pub(crate) fn invalid_session() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    /// `405 METHOD_NOT_ALLOWED` naming the verbs the resource does take.
    pub(crate) fn method_not_allowed(method: &str, allowed: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
        )
    }

    /// The first `errorCode`.
    #[cfg(test)]
    pub(crate) fn code(&self) -> &str {
        self.errors.first().map_or("", |e| e.error_code.as_str())
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        json_response(self.status, &self.errors)
    }
}

/// A JSON answer with Salesforce's content type.
pub(crate) fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(JSON_CONTENT_TYPE),
            )],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The HTML page a maintenance window or a proxy in front of the org answers with.
pub(crate) fn html_page(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let body = format!(
        "<!DOCTYPE html>\n<html><head><title>{status}</title></head>\n<body><h1>Service \
         unavailable</h1><p>This site is down for maintenance. Please check back \
         later.</p></body></html>\n"
    );
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html;charset=UTF-8"),
        )],
        body,
    )
        .into_response()
}
