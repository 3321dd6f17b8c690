//! The WHMCS API client: one form-encoded `POST` to `includes/api.php` per call, with
//! `responsetype=json`, the configured credentials, no cookies, and a deadline on every call.
//!
//! WHMCS answers business errors with HTTP 200 and authentication errors with 403, and may put
//! a PHP warning or HTML before its JSON; [`parse_answer`] reads the envelope whatever the
//! status and turns everything else into a typed [`WhmcsError`].

use std::time::Duration;

use bridge_runtime::{
    Secret,
    http_client::{TransportFailure, build_client},
};
use md5::{Digest, Md5};
use serde_json::Value;
use url::Url;

use super::WhmcsError;

/// How the client proves who it is.
#[derive(Debug, Clone)]
pub enum WhmcsCredentials {
    /// API credentials (`identifier` and `secret`), the recommended style.
    ApiCredential {
        /// The credential's identifier.
        identifier: Secret<String>,
        /// The credential's secret.
        secret: Secret<String>,
    },
    /// Legacy admin login: `username` and the MD5 of the admin's password.
    AdminLogin {
        /// The admin username.
        username: Secret<String>,
        /// The admin password; only its MD5 is sent.
        password: Secret<String>,
    },
}

impl WhmcsCredentials {
    fn form_fields(&self) -> [(&'static str, String); 2] {
        match self {
            Self::ApiCredential { identifier, secret } => [
                ("identifier", identifier.expose().clone()),
                ("secret", secret.expose().clone()),
            ],
            Self::AdminLogin { username, password } => {
                let digest = Md5::digest(password.expose().as_bytes());
                let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
                [("username", username.expose().clone()), ("password", hex)]
            }
        }
    }
}

/// A WHMCS API endpoint with its credentials.
#[derive(Debug, Clone)]
pub struct WhmcsClient {
    http: reqwest::Client,
    api_url: Url,
    credentials: WhmcsCredentials,
    access_key: Option<Secret<String>>,
}

impl WhmcsClient {
    /// A client for `api_url` (the `includes/api.php` URL). `timeout` bounds any call; each
    /// call passes its own, shorter or longer, deadline.
    pub fn new(
        api_url: Url,
        credentials: WhmcsCredentials,
        access_key: Option<Secret<String>>,
        timeout: Duration,
    ) -> reqwest::Result<Self> {
        Ok(Self {
            http: build_client(timeout)?,
            api_url,
            credentials,
            access_key,
        })
    }

    /// Calls `action` with `params` (already PHP-encoded names such as `pid[0]`) and returns
    /// the success envelope.
    pub async fn call(
        &self,
        action: &'static str,
        params: &[(String, String)],
        deadline: Duration,
    ) -> Result<Value, WhmcsError> {
        let mut form: Vec<(String, String)> = Vec::with_capacity(params.len() + 5);
        form.push(("action".into(), action.into()));
        form.push(("responsetype".into(), "json".into()));
        for (name, value) in self.credentials.form_fields() {
            form.push((name.into(), value));
        }
        if let Some(key) = &self.access_key {
            form.push(("accesskey".into(), key.expose().clone()));
        }
        form.extend(params.iter().cloned());

        let started = std::time::Instant::now();
        let response = self
            .http
            .post(self.api_url.clone())
            .timeout(deadline)
            .form(&form)
            .send()
            .await
            .map_err(|err| WhmcsError::Transport {
                action,
                failure: TransportFailure::classify(&err),
            })?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|err| WhmcsError::Transport {
                action,
                failure: TransportFailure::classify(&err),
            })?;
        metrics::histogram!("whmcs_call_seconds", "action" => action)
            .record(started.elapsed().as_secs_f64());
        let answer = parse_answer(action, status, &body);
        if answer.is_err() {
            metrics::counter!("whmcs_call_errors_total", "action" => action).increment(1);
        }
        answer
    }
}

/// Reads a WHMCS answer: the JSON envelope whatever the HTTP status, tolerating a PHP warning
/// or a byte-order mark before it.
pub fn parse_answer(action: &'static str, status: u16, body: &[u8]) -> Result<Value, WhmcsError> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim_start_matches('\u{feff}').trim();
    let Some(envelope) = find_envelope(text) else {
        return Err(if (200..300).contains(&status) {
            WhmcsError::Protocol {
                action,
                status,
                detail: describe(text),
            }
        } else {
            WhmcsError::Status {
                action,
                status,
                detail: describe(text),
            }
        });
    };

    let result = envelope.get("result").and_then(Value::as_str);
    let error_status = envelope.get("status").and_then(Value::as_str) == Some("error");
    if result == Some("success") && !error_status {
        return Ok(envelope);
    }
    let message = envelope
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| envelope.get("warning").and_then(Value::as_str))
        .unwrap_or("the answer carries no result=success")
        .to_owned();
    Err(WhmcsError::Refused {
        action,
        status,
        message,
    })
}

/// The JSON object in `text`: all of it, or from the first `{"result"` / `{"status"` when
/// something (a PHP notice, HTML) was printed before it.
fn find_envelope(text: &str) -> Option<Value> {
    if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
        return Some(value);
    }
    ["{\"result\"", "{\"status\""].iter().find_map(|marker| {
        let start = text.find(marker)?;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value @ Value::Object(_))) => Some(value),
            _ => None,
        }
    })
}

fn describe(text: &str) -> String {
    if text.is_empty() {
        return "an empty body".into();
    }
    if text.starts_with('<') {
        return "an HTML page".into();
    }
    let short: String = text.chars().take(120).collect();
    format!("{short:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_envelope_is_returned() {
        let value =
            parse_answer("AddOrder", 200, br#"{"result":"success","orderid":"7"}"#).unwrap();
        assert_eq!(value["orderid"], "7");
    }

    #[test]
    fn business_errors_keep_status_and_message() {
        let error = parse_answer(
            "AddOrder",
            200,
            br#"{"result":"error","message":"Client ID Not Found"}"#,
        )
        .unwrap_err();
        assert!(
            matches!(&error, WhmcsError::Refused { status: 200, message, .. } if message == "Client ID Not Found")
        );

        let error = parse_answer(
            "GetOrders",
            403,
            br#"{"result":"error","message":"Authentication Failed"}"#,
        )
        .unwrap_err();
        assert!(matches!(error, WhmcsError::Refused { status: 403, .. }));

        let error = parse_answer(
            "GetInvoice",
            200,
            br#"{"status":"error","message":"Invoice ID Not Found"}"#,
        )
        .unwrap_err();
        assert_eq!(error.whmcs_message(), Some("Invoice ID Not Found"));
    }

    #[test]
    fn a_php_warning_before_the_json_is_skipped() {
        let body = b"<br />\n<b>Warning</b>:  Undefined array key in x.php on line 3<br />\n{\"result\":\"success\",\"orderid\":9}";
        assert_eq!(parse_answer("AddOrder", 200, body).unwrap()["orderid"], 9);
    }

    #[test]
    fn html_is_a_protocol_error_on_200_and_a_status_error_otherwise() {
        let page = b"<html><body>Oops! Something went wrong</body></html>";
        assert!(matches!(
            parse_answer("AddOrder", 200, page),
            Err(WhmcsError::Protocol { .. })
        ));
        assert!(matches!(
            parse_answer("AddOrder", 503, page),
            Err(WhmcsError::Status { status: 503, .. })
        ));
        assert!(matches!(
            parse_answer("AddOrder", 200, b"{\"result\":"),
            Err(WhmcsError::Protocol { .. })
        ));
    }

    #[test]
    fn an_answer_without_success_is_refused_with_its_warning() {
        let error =
            parse_answer("AcceptOrder", 200, br#"{"warning":"Module create failed"}"#).unwrap_err();
        assert_eq!(error.whmcs_message(), Some("Module create failed"));
    }

    #[test]
    fn admin_login_sends_the_md5_of_the_password() {
        let credentials = WhmcsCredentials::AdminLogin {
            username: Secret::new("admin".into()),
            password: Secret::new("password".into()),
        };
        let [_, (name, value)] = credentials.form_fields();
        assert_eq!(name, "password");
        assert_eq!(value, "5f4dcc3b5aa765d61d8327deb882cf99");
    }
}
