//! Typed configuration, read from an injectable source and validated as a whole.
//!
//! Each service builds its own config struct from the sections here plus its own variables,
//! using one [`ConfigReader`]; a bad start reports every bad variable in one line
//! ([`ConfigError`]) and exits with [`EXIT_CONFIG`]. Variable names follow the operators'
//! runbook exactly.

mod duration;
mod reader;
mod source;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

pub use duration::parse_duration;
pub use reader::{ConfigError, ConfigReader, VariableProblem};
pub use source::{EnvSource, ProcessEnv};
use url::Url;

use crate::Secret;

/// The exit status for a configuration error (`EX_CONFIG` of sysexits).
pub const EXIT_CONFIG: i32 = 78;

/// Where a service listens and what it calls its environment.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// The gRPC port (`GRPC_ADDR`).
    pub grpc_addr: SocketAddr,
    /// The HTTP admin port with `/health` and `/metrics` (`HTTP_ADDR`).
    pub http_addr: SocketAddr,
    /// A free-form name such as `prod` or `dev` (`APP_ENV`), reported by `/health`.
    pub environment: String,
    /// How long in-flight work may take to finish after SIGTERM (`SHUTDOWN_GRACE`).
    pub shutdown_grace: Duration,
}

impl ServerSettings {
    /// Reads `GRPC_ADDR`, `HTTP_ADDR`, `APP_ENV` and `SHUTDOWN_GRACE`.
    pub fn read(reader: &mut ConfigReader<'_>) -> Self {
        Self {
            grpc_addr: reader.socket_addr_or("GRPC_ADDR", "0.0.0.0:50051"),
            http_addr: reader.socket_addr_or("HTTP_ADDR", "0.0.0.0:8080"),
            environment: reader.string_or("APP_ENV", "development"),
            shutdown_grace: reader.duration_or("SHUTDOWN_GRACE", Duration::from_secs(25)),
        }
    }
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://`, `rediss://` or `redis+unix://` URL (`REDIS_URL` or `REDIS_URL_FILE`); it may
    /// hold a password, so it is a secret.
    pub url: Secret<String>,
}

impl RedisSettings {
    /// Reads `REDIS_URL` (or `REDIS_URL_FILE`), which is required.
    pub fn read(reader: &mut ConfigReader<'_>) -> Self {
        let url = reader.required_secret("REDIS_URL");
        if let Some(problem) = redis_url_problem(url.expose()) {
            // Neither the URL nor the client's own message is quoted: both may hold a password.
            reader.problem("REDIS_URL", problem);
        }
        Self { url }
    }
}

/// What is wrong with a Redis URL, in words that never quote it. The URL is opened the way
/// the service will open it, so a bad database number or password encoding is caught here.
///
/// `rediss://` is refused: this build's Redis client has no TLS. Reach a TLS-only Redis through
/// a local TLS proxy until the client's TLS support is enabled.
fn redis_url_problem(url: &str) -> Option<&'static str> {
    if url.is_empty() {
        return None;
    }
    if url.starts_with("rediss://") {
        return Some(
            "uses rediss://, but this build has no TLS for Redis; use redis:// or redis+unix://",
        );
    }
    if redis::parse_redis_url(url).is_none() {
        return Some("is not a redis:// or redis+unix:// URL");
    }
    match redis::Client::open(url) {
        Ok(_) => None,
        Err(_) => Some("cannot be used (check the database number and the password's encoding)"),
    }
}

/// The Salesforce org and the integration user's JWT bearer credentials.
#[derive(Debug, Clone)]
pub struct SalesforceSettings {
    /// The token endpoint's host (`SF_LOGIN_URL`), e.g. `https://login.salesforce.com`.
    pub login_url: Url,
    /// The connected app's consumer key (`SF_CLIENT_ID`), the JWT `iss`.
    pub client_id: String,
    /// The integration user (`SF_USERNAME`), the JWT `sub`.
    pub username: String,
    /// The RSA private key, PKCS#1 or PKCS#8 PEM (`SF_PRIVATE_KEY_PATH`). Re-read whenever a
    /// token is minted, so a rotated key needs no restart.
    pub private_key_path: PathBuf,
    /// The JWT `aud` (`SF_AUDIENCE`); defaults from the login host.
    pub audience: String,
    /// The REST API version without the `v` (`SF_API_VERSION`), e.g. `66.0`.
    pub api_version: String,
    /// The deadline of every call to Salesforce (`SF_HTTP_TIMEOUT`).
    pub http_timeout: Duration,
}

impl SalesforceSettings {
    /// Reads the `SF_*` variables both services need.
    pub fn read(reader: &mut ConfigReader<'_>) -> Self {
        let login_url = reader.required_url("SF_LOGIN_URL");
        let client_id = reader.required("SF_CLIENT_ID");
        let username = reader.required("SF_USERNAME");
        let private_key_path = reader.required_file("SF_PRIVATE_KEY_PATH");
        let audience = reader
            .optional("SF_AUDIENCE")
            .unwrap_or_else(|| default_audience(&login_url).to_owned());
        let api_version = reader.string_or("SF_API_VERSION", "66.0");
        if !is_api_version(&api_version) {
            reader.problem(
                "SF_API_VERSION",
                format!("must look like 66.0, not {api_version:?}"),
            );
        }
        let http_timeout = reader.duration_or("SF_HTTP_TIMEOUT", Duration::from_secs(15));
        Self {
            login_url,
            client_id,
            username,
            private_key_path,
            audience,
            api_version,
            http_timeout,
        }
    }
}

/// How callers of a service's RPCs are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerAuth {
    /// Bearer tokens from a file of `name:token` lines (`<PREFIX>_AUTH_TOKENS_FILE`).
    TokensFile(PathBuf),
    /// No authentication, chosen explicitly with `<PREFIX>_AUTH=disabled`.
    Disabled,
}

impl CallerAuth {
    /// Reads `<prefix>_AUTH_TOKENS_FILE` or `<prefix>_AUTH=disabled`; one of them is required,
    /// so a service never runs open by accident.
    pub fn read(reader: &mut ConfigReader<'_>, prefix: &str) -> Self {
        let file_var = format!("{prefix}_AUTH_TOKENS_FILE");
        let switch_var = format!("{prefix}_AUTH");
        let disabled = match reader.optional(&switch_var) {
            None => false,
            Some(value) if value.eq_ignore_ascii_case("disabled") => true,
            Some(value) => {
                reader.problem(
                    &switch_var,
                    format!("may only be \"disabled\", not {value:?}"),
                );
                false
            }
        };
        match (reader.optional(&file_var), disabled) {
            (Some(_), true) => {
                reader.problem(
                    &switch_var,
                    format!("is disabled but {file_var} is set; choose one"),
                );
                Self::Disabled
            }
            (Some(path), false) => {
                let path = reader
                    .readable_file(&file_var, Some(path))
                    .unwrap_or_default();
                if !path.as_os_str().is_empty()
                    && let Err(err) = crate::caller_auth::CallerTokens::load(&path)
                {
                    reader.problem(&file_var, format!("cannot be used: {err}"));
                }
                Self::TokensFile(path)
            }
            (None, true) => Self::Disabled,
            (None, false) => {
                reader.problem(
                    &file_var,
                    format!(
                        "is required (or set {switch_var}=disabled to run without authentication)"
                    ),
                );
                Self::Disabled
            }
        }
    }
}

/// The JWT audience Salesforce expects for a login host: sandboxes and scratch orgs use
/// `test.salesforce.com` whatever host the token is posted to. Hosts this cannot recognise
/// (a sandbox without enhanced domains, an Experience Cloud site) need `SF_AUDIENCE`.
pub fn default_audience(login_url: &Url) -> &'static str {
    let host = login_url.host_str().unwrap_or_default();
    if host == "test.salesforce.com"
        || host.ends_with(".sandbox.my.salesforce.com")
        || host.ends_with(".scratch.my.salesforce.com")
    {
        "https://test.salesforce.com"
    } else {
        "https://login.salesforce.com"
    }
}

fn is_api_version(text: &str) -> bool {
    match text.split_once('.') {
        Some((major, minor)) => {
            !major.is_empty()
                && !minor.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
