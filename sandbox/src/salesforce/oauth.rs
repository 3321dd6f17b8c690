//! The OAuth 2.0 JWT bearer token endpoint and the sessions it opens.
//!
//! An assertion is checked in this order: a form body carrying the literal grant type, the
//! RS256 signature against the connected app's certificate, `iss`, `aud`, `exp`, and whether
//! the subject (`prn` wins over `sub`) is the pre-approved integration user. Each failure is
//! the 400 `{"error", "error_description"}` Salesforce gives for it. A session lives until it
//! has been idle for two hours or a test expires it.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use axum::{
    http::{HeaderMap, StatusCode, header},
    response::Response,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::{Rng, distr::Alphanumeric};
use serde_json::{Value, json};

use super::{api_error::json_response, clock, ids::to_fifteen};

/// The only grant type this endpoint takes.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Salesforce's default session timeout; each use of a session restarts it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(2 * 60 * 60);

/// The connected app and the user it trusts.
pub(crate) struct ConnectedApp {
    pub(crate) client_id: String,
    pub(crate) username: String,
    pub(crate) audience: String,
    pub(crate) key: DecodingKey,
}

/// An OAuth error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthRefusal {
    pub(crate) error: &'static str,
    pub(crate) description: &'static str,
}

impl OAuthRefusal {
    const fn new(error: &'static str, description: &'static str) -> Self {
        Self { error, description }
    }
}

/// An HTTP 400 `{"error", "error_description"}`.
pub(crate) fn oauth_error(error: &str, description: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": error, "error_description": description}),
    )
}

impl ConnectedApp {
    /// Checks a token request (headers and raw body); the error is the answer to give.
    pub(crate) fn check(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthRefusal> {
        let unsupported = OAuthRefusal::new("unsupported_grant_type", "grant type not supported");
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| {
                value
                    .trim()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(unsupported);
        }
        let form: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|_| unsupported.clone())?;
        let field = |name: &str| {
            form.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        if field("grant_type") != Some(GRANT_TYPE) {
            return Err(unsupported);
        }

        let invalid_assertion = OAuthRefusal::new("invalid_grant", "invalid assertion");
        let assertion = field("assertion").ok_or_else(|| invalid_assertion.clone())?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Value>(assertion, &self.key, &validation)
            .map_err(|_| invalid_assertion.clone())?
            .claims;

        if claims.get("iss").and_then(Value::as_str) != Some(self.client_id.as_str()) {
            return Err(OAuthRefusal::new(
                "invalid_client_id",
                "client identifier invalid",
            ));
        }
        let audience_matches = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == self.audience,
            Some(Value::Array(auds)) => auds.iter().any(|aud| *aud == *self.audience),
            _ => false,
        };
        if !audience_matches {
            return Err(OAuthRefusal::new("invalid_grant", "audience is invalid"));
        }
        // No upper bound: the real endpoint accepts an `exp` written in milliseconds.
        let exp = claims
            .get("exp")
            .and_then(Value::as_f64)
            .ok_or(invalid_assertion)?;
        if exp < clock::now_seconds() {
            return Err(OAuthRefusal::new(
                "invalid_grant",
                "expired authorization code",
            ));
        }
        let subject = claims
            .get("prn")
            .or_else(|| claims.get("sub"))
            .and_then(Value::as_str);
        if subject != Some(self.username.as_str()) {
            return Err(OAuthRefusal::new(
                "invalid_grant",
                "user hasn't approved this consumer",
            ));
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Session {
    last_used: Instant,
    expired: bool,
}

/// Every access token issued, and whether it still works.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    tokens: HashMap<String, Session>,
    issued: usize,
}

impl Sessions {
    /// A new opaque token, `<15-character org id>!<random>`.
    pub(crate) fn issue(&mut self, org_id: &str) -> String {
        let secret: String = rand::rng()
            .sample_iter(Alphanumeric)
            .take(96)
            .map(char::from)
            .collect();
        let token = format!("{}!AQ{secret}", to_fifteen(org_id));
        self.tokens.insert(
            token.clone(),
            Session {
                last_used: Instant::now(),
                expired: false,
            },
        );
        self.issued += 1;
        token
    }

    /// Whether `token` opens a live session; using it restarts the idle timeout.
    pub(crate) fn authenticate(&mut self, token: &str) -> bool {
        let Some(session) = self.tokens.get_mut(token) else {
            return false;
        };
        if session.expired || session.last_used.elapsed() > IDLE_TIMEOUT {
            session.expired = true;
            return false;
        }
        session.last_used = Instant::now();
        true
    }

    /// Whether `token` opens a live session, without counting as a use.
    pub(crate) fn is_valid(&self, token: &str) -> bool {
        self.tokens
            .get(token)
            .is_some_and(|s| !s.expired && s.last_used.elapsed() <= IDLE_TIMEOUT)
    }

    /// Ends every session issued so far.
    pub(crate) fn expire_all(&mut self) {
        for session in self.tokens.values_mut() {
            session.expired = true;
        }
    }

    /// How many tokens were issued.
    pub(crate) fn issued(&self) -> usize {
        self.issued
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_the_org_and_die_when_expired() {
        let mut sessions = Sessions::default();
        let token = sessions.issue("00DHp000001aBcDMAU");
        assert!(token.starts_with("00DHp000001aBcD!"));
        assert!(!token.contains('.'), "an opaque token, not a JWT");
        assert!(sessions.authenticate(&token));
        assert!(!sessions.authenticate("00DHp000001aBcD!AQforged"));

        sessions.expire_all();
        assert!(!sessions.is_valid(&token));
        assert!(!sessions.authenticate(&token));
        let fresh = sessions.issue("00DHp000001aBcDMAU");
        assert_ne!(fresh, token);
        assert!(sessions.is_valid(&fresh));
        assert_eq!(sessions.issued(), 2);
    }
}
