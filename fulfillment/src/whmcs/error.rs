//! Why a WHMCS call failed, kept close to what happened on the wire so that the orchestrator
//! can pick the error code operators see on the Order.

use bridge_runtime::http_client::TransportFailure;

/// A failed WHMCS call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WhmcsError {
    /// WHMCS answered with its error envelope (`result` or `status` = `error`), or a body
    /// without `result=success`; `message` is WHMCS's own text (or its `warning`).
    #[error("WHMCS {action} failed (HTTP {status}): {message}")]
    Refused {
        /// The action called.
        action: &'static str,
        /// The HTTP status: 200 for business errors, 403 for authentication and permission.
        status: u16,
        /// WHMCS's message.
        message: String,
    },
    /// An error status without a WHMCS envelope (a 500 "Oops!" page, a proxy's 503).
    #[error("WHMCS {action} answered HTTP {status} with {detail}")]
    Status {
        /// The action called.
        action: &'static str,
        /// The HTTP status.
        status: u16,
        /// A short description of the body.
        detail: String,
    },
    /// A success status whose body is not the JSON expected (HTML, a PHP warning without
    /// JSON, malformed JSON, a field of the wrong shape).
    #[error("WHMCS {action} answered HTTP {status} with a body that could not be read: {detail}")]
    Protocol {
        /// The action called.
        action: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was wrong.
        detail: String,
    },
    /// No answer at all: refused, reset, timed out.
    #[error("WHMCS {action} could not be completed: {failure}")]
    Transport {
        /// The action called.
        action: &'static str,
        /// The classified failure.
        failure: TransportFailure,
    },
}

impl WhmcsError {
    /// The action the error belongs to.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Refused { action, .. }
            | Self::Status { action, .. }
            | Self::Protocol { action, .. }
            | Self::Transport { action, .. } => action,
        }
    }

    /// WHMCS's own message, when it gave one.
    pub fn whmcs_message(&self) -> Option<&str> {
        match self {
            Self::Refused { message, .. } => Some(message),
            _ => None,
        }
    }
}
