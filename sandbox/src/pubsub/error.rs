//! Every refusal the emulated Pub/Sub API gives, and the one place they become gRPC statuses.
//!
//! Salesforce's own errors carry a status code, a description ending in ` rpcId: <uuid>`, and
//! the trailer `error-code` with a `sfdc.platform.eventbus.grpc.` code. Errors that real
//! clients see from the transport or from a proxy in front of the service (a stream reset, an
//! oversized request) carry neither the rpc id nor the trailer, because Salesforce never wrote
//! them.

use tonic::{Code, Status, metadata::MetadataMap};

/// The trailer Salesforce puts its own error code in.
pub(crate) const ERROR_CODE_TRAILER: &str = "error-code";

/// `service.auth.error`.
pub(crate) const AUTH_ERROR: &str = "sfdc.platform.eventbus.grpc.service.auth.error";
const TOPIC_NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.topic.not.found";
const TOPIC_BLANK: &str = "sfdc.platform.eventbus.grpc.topic.validation.empty";
const SCHEMA_BLANK: &str = "sfdc.platform.eventbus.grpc.schema.validation.failed";
const SCHEMA_NOT_FOUND: &str = "sfdc.platform.eventbus.grpc.schema.not.found";
const TOPIC_MISMATCH: &str = "sfdc.platform.eventbus.grpc.subscription.fetch.topic.mismatch";
const REPLAY_ID_MISSING: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed";
const REPLAY_ID_CORRUPTED: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
const REQUESTED_EVENTS_INVALID: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.requested.events.invalid";
const FETCH_REQUEST_INVALID: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.request.invalid";
const PUBLISH_COUNT_INVALID: &str = "sfdc.platform.eventbus.grpc.publish.event.count.invalid";
const SERVICE_UNAVAILABLE: &str = "sfdc.platform.eventbus.grpc.service.unavailable";

/// Why the emulator refuses a call or ends a stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PubSubError {
    /// A header is missing or does not match the org.
    #[error(
        "An authentication exception occurred. Provide valid authentication via metadata headers."
    )]
    Unauthenticated,
    /// The topic name is empty.
    #[error("The topic name can't be blank.")]
    TopicBlank,
    /// No such topic in this org.
    #[error(
        "The topic information for org {tenant} and topic {topic} not found. Ensure the topic name is correct and that the topic exists."
    )]
    TopicNotFound {
        /// `CORE/prod/<org id>`.
        tenant: String,
        /// What the client asked for.
        topic: String,
    },
    /// `GetSchema` without an id.
    #[error("Schema validation failed. The schema ID can't be blank.")]
    SchemaBlank,
    /// `GetSchema` with an id the org does not have.
    #[error("The schema with ID {0} wasn't found. Ensure the schema ID is correct.")]
    SchemaNotFound(String),
    /// A later `FetchRequest` names another topic than the first.
    #[error(
        "The topic name in the fetch request, {requested}, doesn't match the topic of this subscription, {subscribed}."
    )]
    TopicMismatch {
        /// The topic of the first request.
        subscribed: String,
        /// The topic of the offending request.
        requested: String,
    },
    /// `CUSTOM` without a replay id.
    #[error("Replay ID validation failed. A replay ID is required with the CUSTOM replay preset.")]
    ReplayIdMissing,
    /// `CUSTOM` with an id that is malformed, unknown, or past retention.
    #[error(
        "The Replay ID validation failed. Ensure that the Replay ID is valid and within the retention window."
    )]
    ReplayIdCorrupted,
    /// `num_requested` was zero or negative.
    #[error("The requested number of events in a fetch request must be greater than zero")]
    RequestedEventsInvalid,
    /// The client ended its side before sending a first request.
    #[error("The subscription ended before a fetch request arrived.")]
    NoFirstRequest,
    /// `Publish` with no events.
    #[error("The publish request must contain at least one event.")]
    PublishEmpty,
    /// A `PublishRequest` over 4 MB: the proxy in front of the service resets it.
    #[error(
        "upstream connect error or disconnect/reset before headers. reset reason: remote reset"
    )]
    RequestTooLarge,
    /// No credit and no `FetchRequest` for too long: the server resets the stream.
    #[error("RST_STREAM closed stream. HTTP/2 error code: NO_ERROR")]
    IdleClosed,
    /// The emulator is shutting down.
    #[error("The service is unavailable. Try again later.")]
    ShuttingDown,
    /// An RPC the emulator does not offer.
    #[error("Method {0} isn't supported by this server.")]
    Unimplemented(&'static str),
    /// A fault a test injected, exactly as given.
    #[error("{message}")]
    Injected {
        /// The status code.
        code: Code,
        /// The `error-code` trailer; empty sends none.
        error_code: String,
        /// The description, before the rpc id.
        message: String,
    },
}

impl PubSubError {
    /// The gRPC status a client sees.
    pub(crate) fn into_status(self) -> Status {
        let (code, error_code, from_salesforce) = match &self {
            Self::Unauthenticated => (Code::Unauthenticated, AUTH_ERROR, true),
            Self::TopicBlank => (Code::InvalidArgument, TOPIC_BLANK, true),
            Self::TopicNotFound { .. } => (Code::NotFound, TOPIC_NOT_FOUND, true),
            Self::SchemaBlank => (Code::InvalidArgument, SCHEMA_BLANK, true),
            Self::SchemaNotFound(_) => (Code::NotFound, SCHEMA_NOT_FOUND, true),
            Self::TopicMismatch { .. } => (Code::InvalidArgument, TOPIC_MISMATCH, true),
            Self::ReplayIdMissing => (Code::InvalidArgument, REPLAY_ID_MISSING, true),
            Self::ReplayIdCorrupted => (Code::InvalidArgument, REPLAY_ID_CORRUPTED, true),
            Self::RequestedEventsInvalid => (Code::InvalidArgument, REQUESTED_EVENTS_INVALID, true),
            Self::NoFirstRequest => (Code::InvalidArgument, FETCH_REQUEST_INVALID, true),
            Self::PublishEmpty => (Code::InvalidArgument, PUBLISH_COUNT_INVALID, true),
            Self::RequestTooLarge | Self::IdleClosed => (Code::Unavailable, "", false),
            Self::ShuttingDown => (Code::Unavailable, SERVICE_UNAVAILABLE, true),
            Self::Unimplemented(_) => (Code::Unimplemented, "", true),
            Self::Injected {
                code, error_code, ..
            } => (*code, error_code.as_str(), true),
        };
        let mut description = self.to_string();
        if from_salesforce {
            description.push_str(" rpcId: ");
            description.push_str(&uuid::Uuid::new_v4().to_string());
        }
        let mut trailers = MetadataMap::new();
        if !error_code.is_empty()
            && let Ok(value) = error_code.parse()
        {
            trailers.insert(ERROR_CODE_TRAILER, value);
        }
        Status::with_metadata(code, description, trailers)
    }
}

/// The description Salesforce gives for an injected `error-code`, for the codes it is known
/// to send; other codes get a generic text.
pub(crate) fn description_for(error_code: &str) -> &'static str {
    match error_code.rsplit("grpc.").next().unwrap_or_default() {
        "service.unavailable" => "The service is unavailable. Try again later.",
        "service.auth.error" => {
            "An authentication exception occurred. Provide valid authentication via metadata headers."
        }
        "subscription.limit.exceeded" => "You have exceeded the event delivery limit for your org.",
        "concurrent.client.limit.exceeded" => {
            "You have exceeded the concurrent client limit for your org."
        }
        _ => "An error occurred while processing the request.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_errors_carry_the_trailer_and_an_rpc_id() {
        let status = PubSubError::Unauthenticated.into_status();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert!(
            status.message().starts_with(
                "An authentication exception occurred. Provide valid authentication via metadata headers. rpcId: "
            ),
            "{}",
            status.message()
        );
        let rpc_id = status.message().rsplit(' ').next().unwrap_or_default();
        assert!(uuid::Uuid::parse_str(rpc_id).is_ok(), "{rpc_id}");
        assert_eq!(
            status
                .metadata()
                .get(ERROR_CODE_TRAILER)
                .map(|v| v.to_str().ok()),
            Some(Some(AUTH_ERROR))
        );
    }

    #[test]
    fn transport_errors_have_neither() {
        let status = PubSubError::IdleClosed.into_status();
        assert_eq!(status.code(), Code::Unavailable);
        assert_eq!(
            status.message(),
            "RST_STREAM closed stream. HTTP/2 error code: NO_ERROR"
        );
        assert!(status.metadata().get(ERROR_CODE_TRAILER).is_none());
    }

    #[test]
    fn an_injected_fault_without_a_code_sends_no_trailer() {
        let status = PubSubError::Injected {
            code: Code::Internal,
            error_code: String::new(),
            message: "boom".into(),
        }
        .into_status();
        assert_eq!(status.code(), Code::Internal);
        assert!(status.message().starts_with("boom rpcId: "));
        assert!(status.metadata().get(ERROR_CODE_TRAILER).is_none());
        assert_eq!(
            description_for("sfdc.platform.eventbus.grpc.service.unavailable"),
            "The service is unavailable. Try again later."
        );
    }
}
