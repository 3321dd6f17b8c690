//! Why a step failed, as operators see it on the Order: the code for
//! `Activation_Error_Code__c` and a short message for `Activation_Error_Message__c`.
//!
//! The code is chosen from the typed error of the call that failed, never from its text, by the
//! table the operators' runbook is written against (first match wins): a Salesforce
//! `errorCode`; `409` for a client without a payment method; the Order's own problems
//! (`MAPPING_MISSING`, `CLIENT_MISSING`, `GATEWAY_MISSING`, `PRICEBOOK_MISMATCH`, `NO_ITEMS`);
//! `WHMCS_ERROR` for a WHMCS refusal with HTTP 200; the HTTP status of any other error answer;
//! `EPROTO` for a success status with an unreadable body; and the transport codes `ETIMEOUT`,
//! `ECONNREFUSED`, `ECONNRESET`, `ENETWORK`.

use bridge_runtime::salesforce::{AuthError, RestError};

use crate::whmcs::WhmcsError;

/// The most characters `Activation_Error_Message__c` holds.
pub const MESSAGE_LIMIT: usize = 255;

/// The most characters `Activation_Error_Code__c` holds. The product's own codes are far
/// shorter, but a Salesforce `errorCode` passes through as it came, so it is cut to fit rather
/// than making the `Failed` write itself fail.
pub(super) const CODE_LIMIT: usize = 64;

/// The Order cannot be provisioned as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderProblem {
    /// An item has no usable WHMCS product or billing cycle.
    MappingMissing,
    /// The Account has no usable `WH_Client_ID__c`.
    ClientMissing,
    /// No gateway could be chosen for the WHMCS order.
    GatewayMissing,
    /// The Order is on another price book than `PORTAL_PRICEBOOK_ID`.
    PricebookMismatch,
    /// The Order has no items.
    NoItems,
    /// The WHMCS client has no payment method.
    PaymentMethodMissing,
}

impl OrderProblem {
    /// The code written to the Order.
    pub fn code(self) -> &'static str {
        match self {
            Self::MappingMissing => "MAPPING_MISSING",
            Self::ClientMissing => "CLIENT_MISSING",
            Self::GatewayMissing => "GATEWAY_MISSING",
            Self::PricebookMismatch => "PRICEBOOK_MISMATCH",
            Self::NoItems => "NO_ITEMS",
            Self::PaymentMethodMissing => "409",
        }
    }
}

/// A failed step, ready to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    /// `Activation_Error_Code__c`.
    pub code: String,
    /// `Activation_Error_Message__c`, at most [`MESSAGE_LIMIT`] characters.
    pub message: String,
}

impl StepFailure {
    fn new(code: impl Into<String>, message: impl AsRef<str>) -> Self {
        Self {
            code: truncate(&code.into(), CODE_LIMIT),
            message: truncate(message.as_ref(), MESSAGE_LIMIT),
        }
    }

    /// A problem of the Order itself.
    pub fn order(problem: OrderProblem, message: impl AsRef<str>) -> Self {
        Self::new(problem.code(), message)
    }

    /// The Order disappeared between the guard's read and the details query.
    pub fn order_vanished() -> Self {
        Self::new("NOT_FOUND", "The Order no longer exists in Salesforce")
    }

    /// A Salesforce call failed.
    pub fn salesforce(error: &RestError) -> Self {
        match error {
            RestError::Refused { errors, .. } => {
                let first = errors.first();
                Self::new(
                    first.map_or("UNKNOWN_ERROR", |e| e.error_code.as_str()),
                    first.map_or("Salesforce refused the call", |e| e.message.as_str()),
                )
            }
            RestError::Auth(auth) => Self::salesforce_auth(auth),
            RestError::UnexpectedStatus { status, .. } => {
                Self::new(status.to_string(), error.to_string())
            }
            RestError::Protocol { .. } => Self::new("EPROTO", error.to_string()),
            RestError::Transport(failure) => Self::new(failure.kind.code(), error.to_string()),
        }
    }

    fn salesforce_auth(error: &AuthError) -> Self {
        match error {
            AuthError::Rejected { kind, .. } => Self::new(kind.code(), error.to_string()),
            AuthError::UnexpectedResponse { status, .. } if (200..300).contains(status) => {
                Self::new("EPROTO", error.to_string())
            }
            AuthError::UnexpectedResponse { status, .. } => {
                Self::new(status.to_string(), error.to_string())
            }
            AuthError::Transport(failure) => Self::new(failure.kind.code(), error.to_string()),
            AuthError::PrivateKey { .. } => Self::new("AUTH_CONFIG", error.to_string()),
        }
    }

    /// A WHMCS call failed.
    pub fn whmcs(error: &WhmcsError) -> Self {
        match error {
            WhmcsError::Refused {
                status: 200,
                message,
                action,
            } => Self::new("WHMCS_ERROR", format!("WHMCS {action}: {message}")),
            WhmcsError::Refused { status, .. } | WhmcsError::Status { status, .. } => {
                Self::new(status.to_string(), error.to_string())
            }
            WhmcsError::Protocol { .. } => Self::new("EPROTO", error.to_string()),
            WhmcsError::Transport { failure, .. } => {
                Self::new(failure.kind.code(), error.to_string())
            }
        }
    }
}

/// `text` cut to at most `limit` characters, at a character boundary, with an ellipsis when
/// cut.
pub fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use bridge_runtime::{
        http_client::{TransportFailure, TransportKind},
        salesforce::ApiError,
    };

    use super::*;

    #[test]
    fn whmcs_errors_map_to_the_runbook_codes() {
        let refused = WhmcsError::Refused {
            action: "AddOrder",
            status: 200,
            message: "Client ID Not Found".into(),
        };
        let failure = StepFailure::whmcs(&refused);
        assert_eq!(failure.code, "WHMCS_ERROR");
        assert!(failure.message.contains("Client ID Not Found"));

        let forbidden = WhmcsError::Refused {
            action: "AddOrder",
            status: 403,
            message: "Authentication Failed".into(),
        };
        assert_eq!(StepFailure::whmcs(&forbidden).code, "403");
        let unavailable = WhmcsError::Status {
            action: "AddOrder",
            status: 503,
            detail: "an HTML page".into(),
        };
        assert_eq!(StepFailure::whmcs(&unavailable).code, "503");
        let html = WhmcsError::Protocol {
            action: "AddOrder",
            status: 200,
            detail: "an HTML page".into(),
        };
        assert_eq!(StepFailure::whmcs(&html).code, "EPROTO");
        let slow = WhmcsError::Transport {
            action: "AddOrder",
            failure: TransportFailure {
                kind: TransportKind::Timeout,
                detail: "timed out".into(),
            },
        };
        assert_eq!(StepFailure::whmcs(&slow).code, "ETIMEOUT");
    }

    #[test]
    fn salesforce_error_codes_are_kept() {
        let locked = RestError::Refused {
            status: 400,
            errors: vec![ApiError {
                message: "unable to obtain exclusive access to this record".into(),
                error_code: "UNABLE_TO_LOCK_ROW".into(),
                fields: None,
            }],
        };
        let failure = StepFailure::salesforce(&locked);
        assert_eq!(failure.code, "UNABLE_TO_LOCK_ROW");
        assert_eq!(
            failure.message,
            "unable to obtain exclusive access to this record"
        );
        assert_eq!(
            StepFailure::salesforce(&RestError::UnexpectedStatus {
                status: 503,
                detail: "x".into()
            })
            .code,
            "503"
        );
    }

    #[test]
    fn messages_are_cut_at_a_character_boundary() {
        let long = "é".repeat(300);
        let failure = StepFailure::order(OrderProblem::MappingMissing, &long);
        assert_eq!(failure.message.chars().count(), MESSAGE_LIMIT);
        assert!(failure.message.ends_with('…'));
        assert_eq!(truncate("short", 255), "short");
    }

    #[test]
    fn a_salesforce_error_code_too_long_for_the_field_is_cut_to_fit() {
        let refused = RestError::Refused {
            status: 400,
            errors: vec![ApiError {
                error_code: "X".repeat(200),
                message: "m".into(),
                fields: None,
            }],
        };
        let failure = StepFailure::salesforce(&refused);
        assert_eq!(failure.code.chars().count(), CODE_LIMIT);
        assert!(failure.code.starts_with("XXXX"));
    }
}
