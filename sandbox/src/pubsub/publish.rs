//! The unary `Publish` RPC: one result per event in request order, each with its replay id
//! or a per-event error, the way the real service answers a batch.
//!
//! Events over 1 MB and events whose payload is not a datum of a known schema fail alone; the
//! rest of the batch still goes in. A request over 4 MB is reset before it reaches the
//! service, which clients see as `UNAVAILABLE`.

use bridge_proto::eventbus::v1::{
    Error as EventError, ErrorCode, PublishRequest, PublishResponse, PublishResult,
};
use prost::Message;

use super::{bus::StoredEvent, error::PubSubError, state::Shared};

/// The largest event the bus takes.
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The largest request the proxy in front of the service lets through.
pub(crate) const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Publishes `request`'s events to its (already checked) topic.
pub(crate) fn publish(
    shared: &Shared,
    request: PublishRequest,
) -> Result<PublishResponse, PubSubError> {
    if request.encoded_len() > MAX_REQUEST_BYTES {
        return Err(PubSubError::RequestTooLarge);
    }
    if request.events.is_empty() {
        return Err(PubSubError::PublishEmpty);
    }

    let mut results = Vec::with_capacity(request.events.len());
    for event in request.events {
        let correlation_key = if event.id.is_empty() {
            uuid::Uuid::new_v4().to_string()
        } else {
            event.id
        };
        let refusal = if event.payload.len() > MAX_EVENT_BYTES {
            Some(format!(
                "The event is {} bytes; the maximum event size is {MAX_EVENT_BYTES} bytes.",
                event.payload.len()
            ))
        } else {
            shared
                .lock()
                .schemas
                .check_datum(&event.schema_id, &event.payload)
                .err()
                .map(|err| format!("The event payload can't be decoded: {err}"))
        };
        let result = match refusal {
            Some(msg) => PublishResult {
                replay_id: Vec::new(),
                error: Some(EventError {
                    code: ErrorCode::Publish.into(),
                    msg,
                }),
                correlation_key,
            },
            None => PublishResult {
                replay_id: shared.append(StoredEvent {
                    id: correlation_key.clone(),
                    schema_id: event.schema_id,
                    payload: event.payload,
                }),
                error: None,
                correlation_key,
            },
        };
        results.push(result);
    }

    Ok(PublishResponse {
        results,
        schema_id: shared.lock().schemas.order_schema_id().to_owned(),
        rpc_id: uuid::Uuid::new_v4().to_string(),
    })
}
