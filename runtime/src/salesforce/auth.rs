//! The OAuth 2.0 JWT bearer flow: an RS256 assertion signed with the integration user's key is
//! exchanged for an access token, the org's `instance_url`, and (from the identity URL) the org
//! id that the Pub/Sub API wants as `tenantid`.
//!
//! There is no refresh token in this flow: when Salesforce refuses a token, the flow runs again.
//! [`JwtBearer::reauthenticate`] makes that single-flight, so a burst of calls that all met the
//! same expired token causes one token request, not one each.

use std::{
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};
use url::Url;

use crate::{
    Secret,
    config::SalesforceSettings,
    http_client::{TransportFailure, build_client},
};

/// How far ahead the assertion's `exp` lies. Salesforce asks for at most three minutes.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(180);

/// The grant type of the JWT bearer flow.
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An authenticated session with one org.
#[derive(Debug)]
pub struct Session {
    /// The bearer token for REST and the `accesstoken` header for Pub/Sub.
    pub access_token: Secret<String>,
    /// The org's own host (My Domain); every REST call goes there, not to the login host.
    pub instance_url: Url,
    /// The 18-character org id (Pub/Sub `tenantid`).
    pub org_id: String,
    /// The 18-character id of the integration user.
    pub user_id: String,
    generation: u64,
}

/// What the token endpoint said when it refused the assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthErrorKind {
    /// `invalid_grant`: bad signature, wrong audience, expired assertion, or the user is not
    /// pre-authorised on the connected app.
    InvalidGrant,
    /// `invalid_client_id`: `SF_CLIENT_ID` is not a consumer key of this org.
    InvalidClientId,
    /// `unsupported_grant_type`: usually an `http://` login URL whose redirect dropped the body.
    UnsupportedGrantType,
    /// `invalid_app_access`: the user is not assigned to the app.
    InvalidAppAccess,
    /// Any other `error` value, as given.
    Other(String),
}

impl OAuthErrorKind {
    fn from_code(code: &str) -> Self {
        match code {
            "invalid_grant" => Self::InvalidGrant,
            "invalid_client_id" => Self::InvalidClientId,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_app_access" => Self::InvalidAppAccess,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The `error` value as Salesforce spells it.
    pub fn code(&self) -> &str {
        match self {
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidClientId => "invalid_client_id",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidAppAccess => "invalid_app_access",
            Self::Other(code) => code,
        }
    }

    fn hint(&self) -> &'static str {
        match self {
            Self::InvalidGrant => {
                "check that SF_PRIVATE_KEY_PATH matches the connected app's certificate, that \
                 SF_AUDIENCE suits the org (test.salesforce.com for sandboxes), that the clock is \
                 right, and that the user is pre-authorised on the app"
            }
            Self::InvalidClientId => "check SF_CLIENT_ID against the connected app's consumer key",
            Self::UnsupportedGrantType => "check that SF_LOGIN_URL uses https://",
            Self::InvalidAppAccess => "assign the integration user to the connected app",
            Self::Other(_) => "see the Salesforce OAuth error reference",
        }
    }
}

/// Why no session could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// The private key file could not be read or is not an RSA PEM key. Never holds key text.
    #[error("the Salesforce private key at {path} cannot be used: {reason}")]
    PrivateKey {
        /// The configured path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The token endpoint refused the assertion.
    #[error("Salesforce refused the JWT assertion: {} ({description}); {}", kind.code(), kind.hint())]
    Rejected {
        /// The `error` field.
        kind: OAuthErrorKind,
        /// The `error_description` field.
        description: String,
        /// The HTTP status.
        status: u16,
    },
    /// The token endpoint answered something that is not a token or an OAuth error.
    #[error(
        "the Salesforce token endpoint answered HTTP {status} with an unexpected body: {detail}"
    )]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// What was wrong with the body.
        detail: String,
    },
    /// The token endpoint could not be reached.
    #[error("the Salesforce token endpoint could not be reached: {0}")]
    Transport(#[from] TransportFailure),
}

/// The outcome of the latest failed token request, shared with every caller that was waiting
/// for it, so a burst of callers causes one request, not one each in turn.
struct LastFailure {
    attempt: u64,
    error: AuthError,
}

/// Fetches and caches sessions with the JWT bearer flow.
pub struct JwtBearer {
    settings: SalesforceSettings,
    http: reqwest::Client,
    current: RwLock<Option<Arc<Session>>>,
    refresh: Mutex<Option<LastFailure>>,
    attempts: AtomicU64,
    generations: AtomicU64,
    tokens_minted: AtomicU64,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    instance_url: String,
    id: String,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl JwtBearer {
    /// A client for the org in `settings`. Builds its own HTTP client with the settings'
    /// timeout.
    pub fn new(settings: SalesforceSettings) -> reqwest::Result<Self> {
        let http = build_client(settings.http_timeout)?;
        Ok(Self::with_http(settings, http))
    }

    /// A client using a given HTTP client.
    pub fn with_http(settings: SalesforceSettings, http: reqwest::Client) -> Self {
        Self {
            settings,
            http,
            current: RwLock::new(None),
            refresh: Mutex::new(None),
            attempts: AtomicU64::new(0),
            generations: AtomicU64::new(0),
            tokens_minted: AtomicU64::new(0),
        }
    }

    /// The cached session, or a new one.
    pub async fn session(&self) -> Result<Arc<Session>, AuthError> {
        if let Some(session) = self.current.read().await.clone() {
            return Ok(session);
        }
        self.refresh(None).await
    }

    /// A session to replace `stale`, which Salesforce refused. When another task already
    /// replaced it, that newer session is returned without a second token request.
    pub async fn reauthenticate(&self, stale: &Session) -> Result<Arc<Session>, AuthError> {
        self.refresh(Some(stale.generation)).await
    }

    /// How many tokens this client has obtained.
    pub fn tokens_minted(&self) -> u64 {
        self.tokens_minted.load(Ordering::Relaxed)
    }

    async fn refresh(&self, stale: Option<u64>) -> Result<Arc<Session>, AuthError> {
        let attempts_before = self.attempts.load(Ordering::SeqCst);
        let mut last_failure = self.refresh.lock().await;
        if let Some(current) = self.current.read().await.clone() {
            let replaced_meanwhile = stale.is_none_or(|stale| current.generation != stale);
            if replaced_meanwhile {
                return Ok(current);
            }
        }
        // A request made while this caller waited failed: that answer is this caller's too.
        if let Some(failure) = last_failure.as_ref()
            && failure.attempt > attempts_before
        {
            return Err(failure.error.clone());
        }

        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        let result = self.mint().await;
        let mut current = self.current.write().await;
        match result {
            Ok(session) => {
                let session = Arc::new(session);
                *current = Some(session.clone());
                *last_failure = None;
                Ok(session)
            }
            Err(err) => {
                *current = None;
                *last_failure = Some(LastFailure {
                    attempt,
                    error: err.clone(),
                });
                Err(err)
            }
        }
    }

    async fn mint(&self) -> Result<Session, AuthError> {
        let assertion = self.assertion().await?;
        let endpoint = self
            .settings
            .login_url
            .join("/services/oauth2/token")
            .map_err(|err| AuthError::UnexpectedResponse {
                status: 0,
                detail: format!("login URL cannot be joined: {err}"),
            })?;
        let response = self
            .http
            .post(endpoint)
            .form(&[
                ("grant_type", GRANT_TYPE),
                ("assertion", assertion.expose()),
            ])
            .send()
            .await
            .map_err(|err| TransportFailure::classify(&err))?;

        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|err| TransportFailure::classify(&err))?;
        let mut session = parse_token_answer(status, &body)?;
        session.generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        self.tokens_minted.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            instance_url = %session.instance_url,
            org_id = %session.org_id,
            "Authenticated with Salesforce"
        );
        Ok(session)
    }

    /// Signs a fresh assertion, reading the key file each time so a rotated key needs no
    /// restart.
    async fn assertion(&self) -> Result<Secret<String>, AuthError> {
        let path = &self.settings.private_key_path;
        let key_error = |reason: String| AuthError::PrivateKey {
            path: path.clone(),
            reason,
        };
        let pem = tokio::fs::read_to_string(path)
            .await
            .map_err(|err| key_error(err.to_string()))?;
        let pem = normalise_pem(&pem);
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|err| {
            key_error(format!(
                "not an unencrypted RSA private key in PKCS#1 or PKCS#8 PEM ({err})"
            ))
        })?;
        let exp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_add(ASSERTION_LIFETIME)
            .as_secs();
        let claims = Claims {
            iss: &self.settings.client_id,
            sub: &self.settings.username,
            aud: &self.settings.audience,
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key)
            .map(Secret::new)
            .map_err(|err| key_error(format!("signing failed ({err})")))
    }
}

/// Reads the token endpoint's answer to the assertion: a session from a 2xx token response,
/// [`AuthError::Rejected`] from an OAuth error body, [`AuthError::UnexpectedResponse`] from
/// anything else. The session's generation is left for the [`JwtBearer`] that asked to assign.
pub fn parse_token_answer(status: u16, body: &[u8]) -> Result<Session, AuthError> {
    if (200..300).contains(&status) {
        return parse_token(body)
            .map_err(|detail| AuthError::UnexpectedResponse { status, detail });
    }
    match serde_json::from_slice::<OAuthErrorBody>(body) {
        Ok(error) => Err(AuthError::Rejected {
            kind: OAuthErrorKind::from_code(&error.error),
            description: error.error_description.unwrap_or_default(),
            status,
        }),
        Err(_) => Err(AuthError::UnexpectedResponse {
            status,
            detail: describe_body(body),
        }),
    }
}

fn parse_token(body: &[u8]) -> Result<Session, String> {
    // The body holds the access token: errors describe it without quoting it.
    let token: TokenResponse = serde_json::from_slice(body).map_err(|err| {
        format!(
            "not a token response (JSON error at line {}, column {})",
            err.line(),
            err.column()
        )
    })?;
    if token.access_token.trim().is_empty() {
        return Err("access_token is empty".to_owned());
    }
    let instance_url = Url::parse(&token.instance_url)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
        .ok_or_else(|| "instance_url is not an http(s) URL".to_owned())?;
    let (org_id, user_id) = ids_from_identity_url(&token.id)
        .ok_or_else(|| format!("id {:?} is not an identity URL", token.id))?;
    Ok(Session {
        access_token: Secret::new(token.access_token),
        instance_url,
        org_id,
        user_id,
        generation: 0,
    })
}

/// The org and user ids from an identity URL `https://login.salesforce.com/id/<org>/<user>`.
fn ids_from_identity_url(id: &str) -> Option<(String, String)> {
    let url = Url::parse(id).ok()?;
    let mut segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let user = segments.pop()?;
    let org = segments.pop()?;
    let is_id =
        |s: &str| matches!(s.len(), 15 | 18) && s.bytes().all(|b| b.is_ascii_alphanumeric());
    (is_id(org) && is_id(user)).then(|| (org.to_owned(), user.to_owned()))
}

/// Keys pasted through environment tooling sometimes arrive with literal `\n` (or `\r\n`)
/// sequences, CRLF line ends, or both. A PEM body never holds a backslash, so every literal
/// sequence is a line break.
fn normalise_pem(pem: &str) -> String {
    pem.replace("\\r\\n", "\n")
        .replace("\\n", "\n")
        .replace("\r\n", "\n")
}

/// A short, safe description of an unexpected body: HTML is named as such, and other text is
/// cut short.
pub(crate) fn describe_body(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        return "an HTML page".to_owned();
    }
    let mut short: String = trimmed.chars().take(200).collect();
    if trimmed.chars().count() > 200 {
        short.push('…');
    }
    if short.is_empty() {
        "an empty body".to_owned()
    } else {
        format!("{short:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_urls_give_org_and_user() {
        assert_eq!(
            ids_from_identity_url(
                "https://login.salesforce.com/id/00DHp000001aBcDMAU/005Hp00000AaBbCIAV"
            ),
            Some(("00DHp000001aBcDMAU".into(), "005Hp00000AaBbCIAV".into()))
        );
        assert_eq!(
            ids_from_identity_url("https://login.salesforce.com/id/"),
            None
        );
        assert_eq!(ids_from_identity_url("not a url"), None);
    }

    #[test]
    fn escaped_newlines_are_restored() {
        assert_eq!(
            normalise_pem("-----BEGIN X-----\\nAAA\\n-----END X-----"),
            "-----BEGIN X-----\nAAA\n-----END X-----"
        );
        assert_eq!(normalise_pem("a\r\nb\r\n"), "a\nb\n");
    }

    #[test]
    fn unexpected_bodies_are_described_briefly() {
        assert_eq!(
            describe_body(b"  <html><body>503</body></html>"),
            "an HTML page"
        );
        assert_eq!(describe_body(b""), "an empty body");
        assert!(describe_body(&[b'x'; 500]).chars().count() < 210);
    }
}
