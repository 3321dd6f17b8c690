//! The one place where fulfillment's errors become gRPC statuses.
//!
//! Every status carries a `google.rpc.ErrorInfo` in the domain [`ERROR_DOMAIN`] whose `reason`
//! a caller can branch on; the proto's service comment lists them all.

use std::collections::HashMap;

use bridge_runtime::salesforce::{IdError, RestError};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::{orchestrator::RunError, store::StoreError};

/// The `ErrorInfo` domain of this service's errors.
pub const ERROR_DOMAIN: &str = "fulfillment.bridge";

fn status(
    code: Code,
    reason: &str,
    message: impl Into<String>,
    metadata: HashMap<String, String>,
) -> Status {
    let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata);
    Status::with_error_details(code, message, details)
}

/// `order_id` is not an Order id.
pub fn invalid_order_id(error: &IdError) -> Status {
    status(
        Code::InvalidArgument,
        "INVALID_ORDER_ID",
        format!(
            "order_id must be a 15 or 18 character Salesforce Order id (key prefix 801): {error}"
        ),
        HashMap::new(),
    )
}

/// Another field of the request is malformed.
pub fn invalid_request(field: &str, problem: &str) -> Status {
    status(
        Code::InvalidArgument,
        "INVALID_REQUEST",
        format!("{field} {problem}"),
        HashMap::from([("field".to_owned(), field.to_owned())]),
    )
}

/// `GetFulfillment` for an Order without a journal.
pub fn journal_not_found() -> Status {
    status(
        Code::NotFound,
        "JOURNAL_NOT_FOUND",
        "no fulfillment has been recorded for this Order",
        HashMap::new(),
    )
}

/// Redis could not be used.
pub fn store_unavailable(error: &StoreError) -> Status {
    status(
        Code::Unavailable,
        "STORE_UNAVAILABLE",
        error.to_string(),
        HashMap::new(),
    )
}

/// A run that ended without an outcome.
pub fn from_run_error(error: &RunError) -> Status {
    let message = error.to_string();
    match error {
        RunError::AlreadyInProgress => status(
            Code::Aborted,
            "ALREADY_IN_PROGRESS",
            message,
            HashMap::new(),
        ),
        RunError::NotActivatable { status: seen } => status(
            Code::FailedPrecondition,
            "ORDER_NOT_ACTIVATABLE",
            message,
            HashMap::from([("status".to_owned(), seen.clone())]),
        ),
        RunError::OrderNotFound => {
            status(Code::NotFound, "ORDER_NOT_FOUND", message, HashMap::new())
        }
        RunError::AddOrderInFlight { wait_ms } => status(
            Code::Aborted,
            "ADD_ORDER_IN_FLIGHT",
            message,
            HashMap::from([("retry_after_ms".to_owned(), wait_ms.to_string())]),
        ),
        RunError::Store(StoreError::Format(_)) => status(
            Code::FailedPrecondition,
            "JOURNAL_UNREADABLE",
            message,
            HashMap::new(),
        ),
        RunError::Store(store) => store_unavailable(store),
        RunError::Salesforce(RestError::Auth(_)) => status(
            Code::Unavailable,
            "SALESFORCE_AUTH_FAILED",
            message,
            HashMap::new(),
        ),
        RunError::Salesforce(_) => status(
            Code::Unavailable,
            "SALESFORCE_UNAVAILABLE",
            message,
            HashMap::new(),
        ),
        RunError::LockLost => status(Code::Aborted, "LOCK_LOST", message, HashMap::new()),
        RunError::Crashed(_) => status(Code::Aborted, "RUN_INTERRUPTED", message, HashMap::new()),
    }
}
