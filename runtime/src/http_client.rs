//! Outbound HTTP: one way to build a client (ring as the only TLS provider, deadlines on every
//! call) and one classification of transport failures into the codes operators see on the
//! Order (`ETIMEOUT`, `ECONNREFUSED`, `ECONNRESET`, `ENETWORK`).

use std::{error::Error as StdError, fmt, io, sync::Once, time::Duration};

/// How long to wait for a TCP (and TLS) connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Installs ring as the process's rustls provider. Safe to call any number of times; tonic and
/// reqwest both need it before their first TLS use, so every entry point calls it first.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Fails only when a provider is already installed, which is what we want anyway.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client whose every request ends after `timeout` at the latest.
pub fn build_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .user_agent(concat!("provisioning-bridge/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The call passed its deadline.
    Timeout,
    /// Nothing listened at the address.
    ConnectionRefused,
    /// The peer closed or reset the connection mid-call.
    ConnectionReset,
    /// DNS, TLS or any other transport problem.
    Network,
}

impl TransportKind {
    /// The code written to `Activation_Error_Code__c`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Timeout => "ETIMEOUT",
            Self::ConnectionRefused => "ECONNREFUSED",
            Self::ConnectionReset => "ECONNRESET",
            Self::Network => "ENETWORK",
        }
    }
}

/// A call that got no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportFailure {
    /// The classification.
    pub kind: TransportKind,
    /// The underlying error chain, for logs. Holds no URL query or body.
    pub detail: String,
}

impl fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.detail)
    }
}

impl StdError for TransportFailure {}

impl TransportFailure {
    /// Classifies a reqwest error by walking its source chain for the io or hyper cause.
    pub fn classify(error: &reqwest::Error) -> Self {
        let detail = error_chain(error);
        let kind = if error.is_timeout() {
            TransportKind::Timeout
        } else {
            kind_from_sources(error)
        };
        Self { kind, detail }
    }
}

fn kind_from_sources(error: &(dyn StdError + 'static)) -> TransportKind {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(io_error) = current.downcast_ref::<io::Error>() {
            match io_error.kind() {
                io::ErrorKind::ConnectionRefused => return TransportKind::ConnectionRefused,
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof => return TransportKind::ConnectionReset,
                io::ErrorKind::TimedOut => return TransportKind::Timeout,
                _ => {}
            }
        }
        if let Some(hyper_error) = current.downcast_ref::<hyper::Error>()
            && (hyper_error.is_incomplete_message() || hyper_error.is_canceled())
        {
            return TransportKind::ConnectionReset;
        }
        source = current.source();
    }
    TransportKind::Network
}

/// The error's causes joined by `: `. The top-level message is left out on purpose: reqwest
/// puts the full URL there, query string included.
fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    let mut source: Option<&(dyn StdError + 'static)> = error.source();
    while let Some(current) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&current.to_string());
        source = current.source();
    }
    if text.is_empty() {
        "transport error".to_owned()
    } else {
        text
    }
}
