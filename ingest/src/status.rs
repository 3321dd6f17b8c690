//! The one place where ingest's admin errors become gRPC statuses, each with a
//! `google.rpc.ErrorInfo` in the domain [`ERROR_DOMAIN`].

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo` domain of this service's errors.
pub const ERROR_DOMAIN: &str = "ingest.bridge";

fn status(code: Code, reason: &str, message: impl Into<String>) -> Status {
    let details =
        ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::<String, String>::new());
    Status::with_error_details(code, message, details)
}

/// This replica does not lead the channel.
pub fn not_leader() -> Status {
    status(
        Code::FailedPrecondition,
        "NOT_LEADER",
        "this replica is a standby; ask the leader (see GetStatus)",
    )
}

/// Events are disabled on this replica.
pub fn events_disabled() -> Status {
    status(
        Code::FailedPrecondition,
        "EVENTS_DISABLED",
        "SF_EVENTS_ENABLED=false: this replica dispatches nothing",
    )
}

/// No dead letter with that id.
pub fn dead_letter_not_found(id: &str) -> Status {
    status(
        Code::NotFound,
        "DEAD_LETTER_NOT_FOUND",
        format!("no dead letter {id:?}"),
    )
}

/// A malformed request.
pub fn invalid_request(message: impl Into<String>) -> Status {
    status(Code::InvalidArgument, "INVALID_REQUEST", message)
}

/// Redis did not answer.
pub fn store_unavailable(error: &redis::RedisError) -> Status {
    status(
        Code::Unavailable,
        "STORE_UNAVAILABLE",
        format!("Redis is unavailable: {error}"),
    )
}
